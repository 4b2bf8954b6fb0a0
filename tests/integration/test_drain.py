#!/usr/bin/python3
"""Backend lifecycle: draining keeps established flows, takes no new ones; down ends them.

1. A long-lived keep-alive connection (one GET every 50 ms on one TCP connection,
   tests/tools/http_client.py --keepalive) lands on backend X.
2. `equinoxctl backend set web X --state draining`: vips --json shows X draining and
   not serving; 200 new connections never reach X; the keep-alive connection goes
   on, still answered by X.
   A new connection that reuses the 4-tuple of a connection that X served and that
   has just ended (its flow entry is still in the table, closing) is a new flow
   too: it must not reach X either.
3. A reload with X active clears the override (X serves new connections again);
   a reload with X "draining" in the file drains it again: 200 new connections, none
   on X, the keep-alive connection unharmed.
4. `equinoxctl backend set web X --state down`: X's flows are re-balanced: the
   keep-alive connection's next packets go to another backend, whose kernel knows
   no such connection and resets it (so the client sees an error), flows.reassigned
   rises, X's active flows drop to 0 and new connections avoid X.
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "drain"
OCTET = 220
NEW = 200

# Connections with a chosen source port that the SERVER closes first (Connection:
# close, then the client waits for the FIN), so the client keeps no TIME_WAIT and
# may use the same 4-tuple again at once.
# find WANT FIRST: the first source port from FIRST whose connection lands on WANT.
# get PORT: one connection from that port; prints the backend's name.
PORT_REUSE = r"""
import json, socket, sys
vip, client, mode, arg1, arg2 = sys.argv[1:6]

def get(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(5)
    s.bind((client, port))
    s.connect((vip, 80))
    s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.split(b"\r\n\r\n", 1)[1].decode().strip()

if mode == "find":
    want, first = arg1, int(arg2)
    for port in range(first, first + 300):
        name = get(port)
        if name == want:
            print(json.dumps({"port": port, "backend": name}))
            break
    else:
        print(json.dumps({"port": None}))
else:
    print(json.dumps({"port": int(arg1), "backend": get(int(arg1))}))
"""


def backend(t, x_ip):
    return t.backend_json("web", x_ip) or {}


def new_conns(c, t, what, x, expect_x):
    res = t.http_many(NEW)
    served = res.get("backends", {})
    c.check(res.get("ok") == NEW and res.get("failed") == 0,
            "%s: %d new connections all answered" % (what, NEW), res.get("errors"))
    if expect_x:
        c.check(served.get(x, 0) > 0, "%s: %s serves new connections again (%s)"
                % (what, x, served), served)
    else:
        c.check(served.get(x, 0) == 0, "%s: none reaches %s (%s)" % (what, x, served), served)
    return served


def keepalive_ok(c, t, ka, x, what):
    recs = t.keepalive_records(ka)
    errors = [r for r in recs if "error" in r]
    resp = [r for r in recs if "status" in r]
    others = [r for r in resp if r["status"] != 200 or r["body"] != x]
    c.check(not errors and ka.popen.poll() is None and not others,
            "%s: the keep-alive connection goes on, answered by %s (%d responses)"
            % (what, x, len(resp)), errors[:2] or others[:2] or "exited")
    return len(resp)


def reuse(t, mode, a1, a2="0"):
    cp = t.run_in("client", [eqxtopo.PYTHON, "-c", PORT_REUSE, t.vip, t.client.ip, mode,
                             a1, a2], timeout=120)
    try:
        return json.loads(cp.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": cp.stdout[-300:] + cp.stderr[-500:]}


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=3) as t:
        cfg = t.config()
        t.start_equinox(cfg)
        ka = t.keepalive("keepalive", interval=0.05, limit=150)
        first = t.keepalive_first(ka)
        c.check(first is not None and first.get("status") == 200,
                "keep-alive connection gets its first response", first)
        if not first or "body" not in first:
            return
        x = first["body"]
        x_ip = t.hosts[x].ip
        t.log("keep-alive connection is on %s" % x)

        # 2. draining by equinoxctl, and a reused 4-tuple
        found = reuse(t, "find", x, "41000")
        c.check(found.get("port"), "a connection from a chosen port lands on %s" % x, found)
        gen = t.generation()
        t.ctl("backend", "set", "web", x_ip, "--state", "draining")
        t.wait_generation(gen)
        be = backend(t, x_ip)
        c.check(be.get("state") == "draining" and be.get("serving") is False,
                "vips --json: %s draining, not serving" % x, be)
        if found.get("port"):
            again = reuse(t, "get", str(found["port"]))
            c.check(again.get("backend") not in (None, x),
                    "a new connection reusing the 4-tuple of %s's just-closed connection "
                    "(port %s) does not reach draining %s" % (x, found["port"], x), again)
        new_conns(c, t, "draining by equinoxctl", x, expect_x=False)
        time.sleep(0.5)
        keepalive_ok(c, t, ka, x, "draining by equinoxctl")

        # 3. reloads: active (clears the override), then draining from the file
        gen = t.generation()
        t.write_config(cfg)
        t.sighup()
        gen = t.wait_generation(gen)
        be = backend(t, x_ip)
        c.check(be.get("state") == "active" and be.get("serving") is True,
                "a reload clears equinoxctl's override (%s active again)" % x, be)
        new_conns(c, t, "after a reload with %s active" % x, x, expect_x=True)
        drained = json.loads(json.dumps(cfg))
        for b in drained["vips"][0]["backends"]:
            if b["address"] == x_ip:
                b["state"] = "draining"
        t.write_config(drained)
        t.sighup()
        t.wait_generation(gen)
        be = backend(t, x_ip)
        c.check(be.get("state") == "draining" and be.get("serving") is False,
                "reload with %s draining: vips --json shows it draining" % x, be)
        new_conns(c, t, "draining by reload", x, expect_x=False)
        time.sleep(0.5)
        n_before_down = keepalive_ok(c, t, ka, x, "draining by reload")
        c.check(n_before_down >= 20, "the keep-alive connection exchanged %d requests"
                % n_before_down)
        c.check(be.get("active_flows", 0) >= 1, "%s still has active flows (%s)"
                % (x, be.get("active_flows")), be)

        # 4. down: flows re-balanced
        reassigned0 = t.stats().get("flows", {}).get("reassigned", 0)
        t.ctl("backend", "set", "web", x_ip, "--state", "down")
        deadline = time.monotonic() + 10
        while ka.popen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        recs = t.keepalive_records(ka)
        errors = [r for r in recs if "error" in r]
        c.check(errors, "down: the keep-alive connection is ended (re-balanced to a backend "
                "that resets it)", recs[-2:])
        if errors:
            t.log("keep-alive connection ended: %s" % errors[0]["error"])
        stats = t.stats()
        c.check(stats.get("flows", {}).get("reassigned", 0) > reassigned0,
                "flows.reassigned rose (%d -> %d)"
                % (reassigned0, stats.get("flows", {}).get("reassigned", 0)))
        be = backend(t, x_ip)
        c.check(be.get("state") == "down" and be.get("serving") is False,
                "vips --json: %s down" % x, be)
        pk0 = be.get("packets", 0)
        new_conns(c, t, "%s down" % x, x, expect_x=False)
        be = backend(t, x_ip)
        c.check(be.get("packets", 0) == pk0, "no packet reaches %s once down (%d -> %d)"
                % (x, pk0, be.get("packets", 0)))
        # Entries of X's finished connections leave when they expire (tcp_closing_s).
        try:
            t.wait_for("X's active flows gone",
                       lambda: backend(t, x_ip).get("active_flows", 0) == 0, timeout=20)
            gone = True
        except eqxtopo.TopoError:
            gone = False
        c.check(gone, "%s has no active flow left (%s)"
                % (x, backend(t, x_ip).get("active_flows")))
        if ka.popen.poll() is None:
            t.stop_keepalive(ka)

        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
