#!/usr/bin/python3
"""Config reload keeps connections and applies atomically.

1. A long-lived HTTP/1.1 keep-alive connection (http.client in the client
   namespace, one GET every 50 ms, never reconnecting) runs while a SIGHUP reload
   removes ANOTHER backend: no error, every response from the same backend.
2. After the reload, 60 new connections never reach the removed backend.
3. An invalid config written and SIGHUP'd is rejected: generation unchanged,
   equinox alive, the old config keeps serving (the removed backend stays out).
4. `equinoxctl reload` on the invalid file reports the error; on a valid file
   (all backends back) it answers {"result": "ok", "generation": N} and applies it.
"""

import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "reload"
OCTET = 212

KEEPALIVE = r"""
import http.client, json, os, sys, time
vip, stop_file, interval, limit = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
conn = http.client.HTTPConnection(vip, 80, timeout=5)
conn.connect()
conn.auto_open = 0          # never reconnect silently: one TCP connection or an error
port = conn.sock.getsockname()[1]
end = time.monotonic() + limit
i = 0
while not os.path.exists(stop_file) and time.monotonic() < end:
    try:
        conn.request("GET", "/")
        r = conn.getresponse()
        body = r.read().decode().strip()
        print(json.dumps({"i": i, "status": r.status, "body": body,
                          "port": conn.sock.getsockname()[1] if conn.sock else None}), flush=True)
    except Exception as e:
        print(json.dumps({"i": i, "error": repr(e)}), flush=True)
        sys.exit(1)
    i += 1
    time.sleep(interval)
print(json.dumps({"done": i, "port": port}), flush=True)
"""


def read_lines(path):
    out = []
    for line in Path(path).read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def wait_first_response(proc, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for rec in read_lines(proc.logpath):
            return rec
        if proc.popen.poll() is not None:
            break
        time.sleep(0.05)
    return None


def listed_active(vips, vip_addr, backend_addr):
    for v in vips.get("vips", []):
        if v.get("address") != vip_addr:
            continue
        for b in v.get("backends", []):
            if b.get("address") == backend_addr and b.get("state", "active") == "active":
                return True
    return False


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=3) as t:
        t.start_equinox(t.config())
        ok, out = t.curl(timeout=10)
        c.check(ok, "first request through the VIP", out)
        gen0 = t.generation()

        # 1. keep-alive connection across a reload that removes another backend
        stop_file = Path(t.workdir) / "keepalive.stop"
        ka = t.spawn("keepalive", t.client.ns, [eqxtopo.PYTHON, "-c", KEEPALIVE, t.vip,
                                                stop_file, "0.05", "60"])
        first = wait_first_response(ka)
        c.check(first is not None and first.get("status") == 200,
                "keep-alive connection gets its first response", first)
        if first is None or "body" not in first:
            return
        on = first["body"]
        removed = sorted(n for n in t.backend_names() if n != on)[0]
        removed_ip = t.hosts[removed].ip
        t.log("keep-alive connection is on %s; removing %s" % (on, removed))
        time.sleep(0.5)

        keep = [b.ip for b in t.backends if b.role != removed]
        t.write_config(t.config(backends=keep))
        t.sighup()
        gen1 = t.wait_generation(gen0)
        c.check(gen1 > gen0, "SIGHUP reload applied (generation %d -> %d)" % (gen0, gen1))
        c.check(not listed_active(t.vips(), t.vip, removed_ip),
                "vips --json no longer lists %s as active" % removed)

        # 2. new connections avoid the removed backend
        results = t.curl_many(60)
        served = Counter(b for ok, b in results if ok)
        c.check(all(ok for ok, _ in results), "60 new connections after reload succeed",
                [r for ok, r in results if not ok][:3])
        c.check(served.get(removed, 0) == 0, "none reaches removed backend %s" % removed,
                dict(served))
        c.check(len(served) == 2, "both remaining backends serve", dict(served))

        time.sleep(1.0)
        stop_file.write_text("stop\n")
        try:
            rc = ka.popen.wait(timeout=15)
        except Exception:  # noqa: BLE001
            rc = None
        recs = read_lines(ka.logpath)
        errors = [r for r in recs if "error" in r]
        responses = [r for r in recs if "status" in r]
        c.check(rc == 0 and not errors, "keep-alive connection saw no error",
                errors or "exit %s" % rc)
        c.check(len(responses) >= 40, "keep-alive connection exchanged %d requests"
                % len(responses))
        c.check(all(r["status"] == 200 and r["body"] == on for r in responses),
                "every keep-alive response is 200 from %s" % on,
                [r for r in responses if r["status"] != 200 or r["body"] != on][:3])
        c.check(len({r.get("port") for r in responses}) == 1,
                "one TCP connection throughout (same local port)")

        # 3. an invalid config is rejected; the old one keeps serving
        bad = t.config(backends=keep)
        bad["vips"][0]["backends"][0]["address"] = "not-an-ip"
        t.write_config(bad)
        t.sighup()
        time.sleep(2.0)
        c.check(t.equinox_alive(), "equinox survives an invalid config on SIGHUP")
        gen2 = t.generation()
        c.check(gen2 == gen1, "invalid config not applied (generation stays %d)" % gen1, gen2)
        log_text = Path(t.equinox.logpath).read_text(errors="replace")
        c.check("vips[0].backends[0].address" in log_text,
                "the rejection names vips[0].backends[0].address in equinox's log",
                log_text[-800:])
        results = t.curl_many(30)
        served = Counter(b for ok, b in results if ok)
        c.check(all(ok for ok, _ in results) and served.get(removed, 0) == 0,
                "old config keeps serving (30 requests, none to %s)" % removed, dict(served))

        # 4. equinoxctl reload: error on the invalid file, ok on a valid one
        cp = t.ctl("reload", "--json", check=False)
        try:
            reply = json.loads(cp.stdout)
        except ValueError:
            reply = {}
        c.check(cp.returncode != 0 or reply.get("result") != "ok",
                "equinoxctl reload reports the invalid config", cp.stdout + cp.stderr)
        c.check("vips[0].backends[0].address" in cp.stdout + cp.stderr,
                "equinoxctl reload names the bad key", cp.stdout + cp.stderr)
        c.check(t.generation() == gen1, "generation still %d" % gen1)

        t.write_config(t.config())
        cp = t.ctl("reload", "--json", check=False)
        try:
            reply = json.loads(cp.stdout)
        except ValueError:
            reply = {}
        c.check(cp.returncode == 0 and reply.get("result") == "ok",
                "equinoxctl reload --json answers result ok", cp.stdout + cp.stderr)
        gen3 = reply.get("generation")
        c.check(isinstance(gen3, int) and gen3 > gen1,
                "reload reports a new generation (%s > %d)" % (gen3, gen1))
        c.check(t.generation() == gen3, "stats shows generation %s" % gen3, t.generation())
        c.check(listed_active(t.vips(), t.vip, removed_ip), "%s is back in vips" % removed)
        results = t.curl_many(60)
        served = Counter(b for ok, b in results if ok)
        c.check(all(ok for ok, _ in results) and served.get(removed, 0) > 0,
                "after re-adding, 60 requests succeed and %s serves again" % removed,
                dict(served))

        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
