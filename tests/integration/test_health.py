#!/usr/bin/python3
"""Health checks: equinox probes the backends through its data port and acts on it.

VIP "web" (IPv4, ipip): health tcp, interval 200 ms, rise 2, fall 2 (SYN to the
backend's own address, port 80: SYN-ACK = up, RST or silence = down).
1. All three backends start up; probes are sent and succeed (vips --json health).
2. b2's HTTP server stops (its kernel answers SYNs with RST): within a few seconds
   vips --json shows b2 health down (with a reason, a transition, failed probes) and
   not serving; 150 new connections all succeed, none on b2.
3. b2's HTTP server starts again: it comes back up and gets new connections.
   b1's kernel cannot answer equinox's probes (a blackhole route to equinox's port
   address; clients still get through): timeouts, b1 goes down too, and a keep-alive
   connection on b1 is moved off it (its new backend resets it); then b1 comes back.
VIP "ext" (IPv6, gue): health external.
4. `equinoxctl backend health ext B down` takes B out at once (150 new connections,
   none on B); `... up` brings it back. `backend health` on the tcp VIP is refused.
VIP "ping" (IPv4, ipip, port 8080): health icmp: b2 and b3 answer every echo and stay
up; b1 goes down and back up with the blackhole route of step 3.
VIP "ping6" (IPv6, port 8080): health icmp over ICMPv6: all up, no failed echo.
The time from stopping the server to "down" and from starting it to "up" is printed.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "health"
OCTET = 221
NEW = 150
TCP_HEALTH = {"type": "tcp", "interval_ms": 200, "timeout_ms": 200, "rise": 2, "fall": 2}


def health(t, vip, address):
    return (t.backend_json(vip, address) or {}).get("health", {})


def wait_health(t, vip, address, state, timeout=10):
    t0 = time.monotonic()
    try:
        t.wait_for("%s %s health %s" % (vip, address, state),
                   lambda: health(t, vip, address).get("state") == state, timeout=timeout)
    except eqxtopo.TopoError:
        return None
    return time.monotonic() - t0


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=3, http_ports=(80, 8080)) as t:
        vips = [
            t.vip_config("web", 4, health=TCP_HEALTH),
            t.vip_config("ext", 6, forwarding="gue", health={"type": "external"}),
            t.vip_config("ping", 4, port=8080,
                         health={"type": "icmp", "interval_ms": 200, "rise": 2, "fall": 2}),
            t.vip_config("ping6", 6, port=8080,
                         health={"type": "icmp", "interval_ms": 200, "rise": 2, "fall": 2}),
        ]
        t.start_equinox(t.config(vips=vips))
        b2 = t.hosts["b2"]

        # 1. all up, probes flowing
        time.sleep(1.5)
        for b in t.backends:
            h = health(t, "web", b.ip)
            c.check(h.get("type") == "tcp" and h.get("state") == "up"
                    and h.get("probes_sent", 0) >= 3 and h.get("probes_ok", 0) >= 3,
                    "web: %s health tcp up, probes sent %s ok %s"
                    % (b.role, h.get("probes_sent"), h.get("probes_ok")), h)
            h = health(t, "ping", b.ip)
            c.check(h.get("type") == "icmp" and h.get("state") == "up"
                    and h.get("probes_ok", 0) >= 3,
                    "ping: %s health icmp up, probes ok %s" % (b.role, h.get("probes_ok")), h)
            h = health(t, "ping6", b.ip6)
            c.check(h.get("type") == "icmp" and h.get("state") == "up"
                    and h.get("probes_ok", 0) >= 3,
                    "ping6: %s health icmp (ICMPv6 echo) up, probes ok %s"
                    % (b.role, h.get("probes_ok")), h)
            h = health(t, "ext", b.ip6)
            c.check(h.get("type") == "external" and h.get("state") == "up"
                    and h.get("probes_sent", 0) == 0,
                    "ext: %s health external, up, no probes sent" % b.role, h)
        res = t.http_many(NEW)
        c.check(res.get("ok") == NEW and len(res.get("backends", {})) == 3,
                "web: %d new connections over all three backends (%s)"
                % (NEW, res.get("backends")), res.get("errors"))

        # 2. b2's server stops
        t.stop_http("b2")
        took = wait_health(t, "web", b2.ip, "down", timeout=10)
        print("b2 down after %s s" % ("%.2f" % took if took is not None else "> 10"),
              flush=True)
        c.check(took is not None and took <= 5.0,
                "web: b2 health down within 5 s of its server stopping (%s)" % took)
        be = t.backend_json("web", b2.ip) or {}
        h = be.get("health", {})
        print("b2 while down: state %s serving %s health %s" % (be.get("state"),
              be.get("serving"), h), flush=True)
        c.check(be.get("serving") is False, "web: b2 not serving", be)
        c.check(h.get("transitions", 0) >= 1 and h.get("probes_failed", 0) >= 2
                and h.get("reason"), "web: b2 health shows a transition, failed probes and "
                "a reason (%r)" % h.get("reason"), h)
        res = t.http_many(NEW)
        served = res.get("backends", {})
        c.check(res.get("ok") == NEW and res.get("failed") == 0,
                "web: %d new connections all succeed with b2 down" % NEW, res.get("errors"))
        c.check(served.get("b2", 0) == 0 and len(served) == 2,
                "web: none reaches b2, both others serve (%s)" % served, served)
        for b in ("b1", "b3"):
            c.check(health(t, "web", t.hosts[b].ip).get("state") == "up",
                    "web: %s stays up" % b)

        # 3. b2's server starts again
        t.start_http("b2")
        took = wait_health(t, "web", b2.ip, "up", timeout=10)
        print("b2 up again after %s s" % ("%.2f" % took if took is not None else "> 10"),
              flush=True)
        c.check(took is not None and took <= 5.0,
                "web: b2 health up again within 5 s of its server starting (%s)" % took)
        h = health(t, "web", b2.ip)
        c.check(h.get("transitions", 0) >= 2, "web: b2 made two transitions (%s)"
                % h.get("transitions"), h)
        res = t.http_many(NEW)
        served = res.get("backends", {})
        c.check(res.get("ok") == NEW and served.get("b2", 0) > 0,
                "web: b2 gets new connections again (%s)" % served, res.get("errors"))

        # 3b. silence instead of RST: b1's kernel cannot answer equinox's port address
        # (a blackhole route), while clients still get through
        # A keep-alive connection on b1 (which stays reachable for clients) shows that
        # b1's flows move away when its health fails.
        b1 = t.hosts["b1"]
        ka = None
        for i in range(12):
            p = t.keepalive("keepalive%d" % i, interval=0.05, limit=60)
            first = t.keepalive_first(p)
            if first and first.get("body") == "b1":
                ka = p
                break
            t.stop_keepalive(p)
        c.check(ka is not None, "a keep-alive connection on b1")
        reassigned0 = t.stats().get("flows", {}).get("reassigned", 0)
        t.run_in("b1", ["ip", "route", "add", "blackhole", "%s/32" % t.lb_ip], check=True)
        took = wait_health(t, "web", b1.ip, "down", timeout=10)
        h = health(t, "web", b1.ip)
        print("b1 (probes dropped) down after %s s: %s" % (
            "%.2f" % took if took is not None else "> 10", h), flush=True)
        c.check(took is not None and took <= 5.0 and h.get("reason"),
                "web: b1 health down within 5 s when its probes go unanswered (reason %r)"
                % h.get("reason"), h)
        if ka is not None:
            deadline = time.monotonic() + 5
            while ka.popen.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            rc, recs = t.stop_keepalive(ka)
            errors = [r for r in recs if "error" in r]
            c.check(errors and all(r.get("body") == "b1" for r in recs if "body" in r),
                    "web: b1's keep-alive connection was moved off b1 (and reset by its new "
                    "backend): %s" % (errors[0]["error"] if errors else "no error"), recs[-2:])
            reassigned = t.stats().get("flows", {}).get("reassigned", 0)
            c.check(reassigned > reassigned0, "flows.reassigned rose (%d -> %d)"
                    % (reassigned0, reassigned))
        res = t.http_many(NEW)
        served = res.get("backends", {})
        c.check(res.get("ok") == NEW and served.get("b1", 0) == 0,
                "web: with b1 down, %d new connections, none on b1 (%s)" % (NEW, served),
                res.get("errors"))
        t.run_in("b1", ["ip", "route", "del", "blackhole", "%s/32" % t.lb_ip], check=True)
        took = wait_health(t, "web", b1.ip, "up", timeout=10)
        c.check(took is not None and took <= 5.0,
                "web: b1 up again within 5 s once probes are answered (%s)" % took)

        # 4. external health through equinoxctl
        b3 = t.hosts["b3"]
        t.ctl("backend", "health", "ext", b3.ip6, "down")
        h = health(t, "ext", b3.ip6)
        c.check(h.get("state") == "down", "ext: `backend health ... down` marks b3 down", h)
        res = t.http_many(NEW, host=t.vip6)
        served = res.get("backends", {})
        c.check(res.get("ok") == NEW and served.get("b3", 0) == 0 and len(served) == 2,
                "ext: %d new connections, none on b3 (%s)" % (NEW, served), res.get("errors"))
        t.ctl("backend", "health", "ext", b3.ip6, "up")
        h = health(t, "ext", b3.ip6)
        c.check(h.get("state") == "up" and h.get("transitions", 0) >= 2,
                "ext: `backend health ... up` brings b3 back (transitions %s)"
                % h.get("transitions"), h)
        res = t.http_many(NEW, host=t.vip6)
        served = res.get("backends", {})
        c.check(res.get("ok") == NEW and served.get("b3", 0) > 0,
                "ext: b3 gets new connections again (%s)" % served, res.get("errors"))
        cp = t.ctl("backend", "health", "web", b3.ip, "down", check=False)
        c.check(cp.returncode != 0 and health(t, "web", b3.ip).get("state") == "up",
                "`backend health` on a tcp-checked VIP is refused",
                (cp.stdout + cp.stderr).strip())

        wait_health(t, "ping", b1.ip, "up", timeout=10)
        for b in t.backends:
            h = health(t, "ping6", b.ip6)
            c.check(h.get("state") == "up" and h.get("probes_failed", 0) == 0,
                    "ping6: %s stayed up, no failed ICMPv6 echo (ok %s)"
                    % (b.role, h.get("probes_ok")), h)
            h = health(t, "ping", b.ip)
            if b.role == "b1":
                # The blackhole route of 3b swallowed b1's echo replies too.
                c.check(h.get("state") == "up" and h.get("transitions") == 2
                        and h.get("probes_failed", 0) >= 2,
                        "ping: b1 went down while its replies were blackholed and came back "
                        "(transitions %s, failed %s)" % (h.get("transitions"),
                                                          h.get("probes_failed")), h)
            else:
                c.check(h.get("state") == "up" and h.get("probes_failed", 0) == 0,
                        "ping: %s stayed up, no failed echo (ok %s)"
                        % (b.role, h.get("probes_ok")), h)
        drops = {k: v for k, v in t.stats().get("drops", {}).items() if v}
        print("equinox drops: %s; control: %s" % (drops, {
            k: v for k, v in t.stats().get("control", {}).items() if v}), flush=True)
        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
