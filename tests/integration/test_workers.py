#!/usr/bin/python3
"""Two workers: af_packet fanout spreads flows over them, a flow stays on one.

equinox with dataplane.workers 2, net_af_packet qpairs=2 and EAL lcores
"0@0,1@1,2@1" (three lcores on this 2-CPU machine). VIPs: "web" (IPv4, ipip),
"web6" (IPv6, gue), "sticky" (IPv4, port 8080, client-ip affinity).
1. A long-lived keep-alive connection (GET every 50 ms) runs throughout.
2. 500 new connections to each of web and web6: all succeed, over all backends.
3. The traffic was handled by both workers: DPDK's per-queue counters
   (/ethdev/stats,0 q_ipackets through dpdk-telemetry.py; queue i belongs to worker
   i) and stats --json's per_worker counters show packets on both; they add up to
   the totals; stats says workers 2.
4. Affinity across workers: 10 client addresses x 30 connections each land on one
   backend per client, although their connections hash to both workers
   (affinity_installs > 0: pins learnt from the other worker).
5. ICMP errors follow their flow whichever worker they reach: HOLD idle connections
   are opened; a reload then adds b4 to "web" with weight 1000, so Maglev now sends
   almost every new connection to b4 (checked) while the open connections keep their
   backends. An ICMP frag needed about each open connection (scapy, from the client
   namespace as a router) must reach that connection's backend (captures on every
   backend's TUN device), although the fanout may hand it to the worker that does not
   hold the flow.
6. The keep-alive connection, across all this and the reload, saw no error, one
   backend, one TCP connection.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "workers"
OCTET = 224
WORKERS = 2
NEW = 500
HOLD = 12


def queue_packets(t):
    """Per-RX-queue packet counts of port 0 from DPDK telemetry, or None."""
    try:
        tele = t.telemetry("/ethdev/stats,0")
    except eqxtopo.TopoError as e:
        t.log("telemetry failed: %s" % e)
        return None
    st = tele.get("/ethdev/stats") or {}
    q = st.get("q_ipackets")
    return [int(x) for x in q[:WORKERS]] if isinstance(q, list) else None


def per_worker(stats):
    """stats --json's per_worker list ([{rx_packets, tx_packets, ...}]), or None."""
    pw = stats.get("per_worker")
    return pw if isinstance(pw, list) else None


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=4, http_ports=(80, 8080)) as t:
        three = t.backends[:3]
        vips = [t.vip_config("web", 4, backends=[b.ip for b in three]),
                t.vip_config("web6", 6, forwarding="gue", backends=[b.ip6 for b in three]),
                t.vip_config("sticky", 4, port=8080, backends=[b.ip for b in three],
                             affinity={"mode": "client-ip", "timeout_s": 300})]
        cfg = t.config(vips=vips, workers=WORKERS)
        c.check("--lcores" in cfg["eal"] and "qpairs=%d" % WORKERS in cfg["ports"][0]["device"],
                "config: %s, %s" % (" ".join(cfg["eal"][:2]), cfg["ports"][0]["device"]))
        t.start_equinox(cfg)
        s0 = t.stats()
        c.check(s0.get("workers") == WORKERS, "stats --json: workers %s" % s0.get("workers"))
        q0 = queue_packets(t) or [0] * WORKERS

        ka = t.keepalive("keepalive", interval=0.05, limit=150)
        first = t.keepalive_first(ka)
        c.check(first is not None and first.get("status") == 200,
                "keep-alive connection gets its first response", first)
        on = (first or {}).get("body")

        for vip, host in (("web", t.vip), ("web6", t.vip6)):
            res = t.http_many(NEW, host=host)
            print("%s: %d connections in %.1fs: %s" % (vip, res.get("ok", 0),
                  res.get("elapsed_s", 0), res.get("backends")), flush=True)
            c.check(res.get("ok") == NEW and res.get("failed") == 0,
                    "%s: %d new connections all succeed" % (vip, NEW), res.get("errors"))
            c.check(len(res.get("backends", {})) == 3, "%s: all three backends serve" % vip,
                    res.get("backends"))

        q1 = queue_packets(t)
        c.check(q1 is not None, "dpdk-telemetry.py /ethdev/stats,0 gives q_ipackets", q1)
        if q1 is not None:
            dq = [b - a for a, b in zip(q0, q1)]
            print("RX packets per queue (= per worker): %s" % dq, flush=True)
            c.check(all(d >= 0.1 * sum(dq) for d in dq),
                    "both workers received a fair part of the traffic (%s)" % dq)
        s1 = t.stats()
        pw0, pw = per_worker(s0), per_worker(s1)
        print("stats --json per_worker: %s" % pw, flush=True)
        c.check(pw is not None and pw0 is not None and len(pw) == WORKERS,
                "stats --json has per_worker counters for %d workers" % WORKERS, pw)
        if pw is not None and pw0 is not None and len(pw) == len(pw0) == WORKERS:
            drx = [b.get("rx_packets", 0) - a.get("rx_packets", 0) for a, b in zip(pw0, pw)]
            c.check(all(d >= 0.1 * sum(drx) for d in drx),
                    "stats per_worker: both workers handled a fair part (rx %s)" % drx)
            c.check(sum(b.get("rx_packets", 0) for b in pw) == s1.get("rx_packets"),
                    "per_worker rx_packets add up to rx_packets (%s)" % s1.get("rx_packets"))
        rx = s1.get("rx_packets", 0) - s0.get("rx_packets", 0)
        c.check(rx >= 2 * NEW * 5, "stats: rx_packets +%d for %d connections" % (rx, 2 * NEW))
        vp = sum(v.get("packets", 0) for v in t.vips().get("vips", []))
        c.check(vp >= 2 * NEW * 5, "vips: %d packets over the VIPs" % vp)
        fl = s1.get("flows", {})
        c.check(fl.get("misses", 0) >= 2 * NEW and fl.get("capacity", 0) >= WORKERS * 65536,
                "stats flows: misses %s, capacity %s (%d tables)" % (
                    fl.get("misses"), fl.get("capacity"), WORKERS))

        # 4. affinity across workers
        srcs = [a for a, _ in t.add_client_addresses(10)]
        res = t.http_many(30, host=t.vip, port=8080, sources=srcs)
        by = res.get("by_source", {})
        split = {s: v for s, v in by.items() if len(v) != 1}
        c.check(res.get("ok") == 300 and not split,
                "sticky: 10 clients x 30 connections, each client on one backend", split
                or res.get("errors"))
        s2 = t.stats()
        inst = s2.get("affinity_installs", 0) - s1.get("affinity_installs", 0)
        c.check(inst > 0, "sticky: pins learnt from the other worker (affinity_installs +%d)"
                % inst)

        # 5. ICMP errors across workers, after a reload that moves Maglev to b4
        caps = {}
        for b in t.backend_names():
            pcap = str(Path(t.workdir) / ("%s-icmp.pcap" % b))
            caps[b] = (t.start_capture(b, pcap, "icmp", iface="dtun0"), pcap)
        held = [t.hold_connection("hold%d" % i, 4) for i in range(HOLD)]
        c.check(len({i["backend"] for _, i in held}) >= 2, "%d idle connections open on %s"
                % (HOLD, sorted({i["backend"] for _, i in held})))
        gen = t.generation()
        cfg2 = t.config(vips=vips, workers=WORKERS)
        cfg2["vips"][0]["backends"].append({"address": t.hosts["b4"].ip, "weight": 1000,
                                            "state": "active"})
        t.write_config(cfg2)
        t.sighup()
        t.wait_generation(gen)
        res = t.http_many(100)
        c.check(res.get("ok") == 100 and res.get("backends", {}).get("b4", 0) >= 80,
                "after a reload adding b4 with weight 1000, new connections go to b4 (%s)"
                % res.get("backends"), res.get("errors"))
        s3 = t.stats()
        for _, info in held:
            t.send_icmp_error(4, info["port"], info["seq"], 1400)
        time.sleep(1.0)
        s4 = t.stats()
        for b in caps:
            t.stop_proc(caps[b][0], sig=eqxtopo.signal.SIGINT, timeout=15)
        where = {}
        for b, (_, pcap) in caps.items():
            for r in eqxtopo.icmp_rows(pcap):
                if r["icmp.type"] == "3" and r["icmp.code"] == "4":
                    where.setdefault(r["tcp.dstport"], []).append(b)
        wrong = ["port %s on %s: reached %s" % (i["port"], i["backend"],
                                                 where.get(str(i["port"]), "no backend"))
                 for _, i in held if where.get(str(i["port"])) != [i["backend"]]]
        fwd = s4.get("icmp_errors_forwarded", 0) - s3.get("icmp_errors_forwarded", 0)
        dpw = [b.get("rx_packets", 0) - a.get("rx_packets", 0)
               for a, b in zip(per_worker(s3) or [], per_worker(s4) or [])]
        print("ICMP errors: %d forwarded, rx per worker %s; %d of %d off their flow: %s"
              % (fwd, dpw, len(wrong), HOLD, wrong), flush=True)
        c.check(not wrong, "every ICMP error reached its connection's backend (%d of %d did)"
                % (HOLD - len(wrong), HOLD), wrong)
        for p, _ in held:
            p.stop_file.write_text("stop\n")

        # 6. the keep-alive connection's verdict
        time.sleep(0.5)
        rc, recs = t.stop_keepalive(ka)
        errors = [r for r in recs if "error" in r]
        resp = [r for r in recs if "status" in r]
        c.check(rc == 0 and not errors, "the keep-alive connection saw no error",
                errors[:2] or "exit %s" % rc)
        c.check(len(resp) >= 20 and all(r["body"] == on and r["status"] == 200 for r in resp),
                "the keep-alive connection: %d responses, all from %s" % (len(resp), on))
        c.check(len({r.get("port") for r in resp}) == 1, "one TCP connection throughout")
        drops = {k: v for k, v in t.stats().get("drops", {}).items() if v}
        print("equinox drops: %s" % drops, flush=True)
        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
