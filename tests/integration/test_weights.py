#!/usr/bin/python3
"""Backend weights: the share of new connections follows them.

Three backends with weights 1:2:3 (config). 3000 new connections
(tests/tools/http_client.py, one GET each) must give shares within +-5 points of
16.7 / 33.3 / 50 %, on an IPv4 VIP and on an IPv6 VIP. Then the weights are turned
around at run time with `equinoxctl backend set VIP ADDRESS --weight N` to 3:2:1
(and vips --json shows them), and the next 3000 connections follow the new
weights. Weight 0 (b1) takes no new connection at all. The measured shares are
printed.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "weights"
OCTET = 217
CONNS = 3000
TOLERANCE = 5.0  # percentage points


def shares(t, res):
    total = sum(res.get("backends", {}).values()) or 1
    return {b: 100.0 * res.get("backends", {}).get(b, 0) / total for b in t.backend_names()}


def measure(c, t, what, host, weights):
    res = t.http_many(CONNS, host=host, wait=300)
    got = shares(t, res)
    total_w = float(sum(weights))
    want = {b: 100.0 * w / total_w for b, w in zip(t.backend_names(), weights)}
    print("%s: %d connections in %.1fs; shares %s (expected %s)" % (
        what, res.get("ok", 0), res.get("elapsed_s", 0),
        " ".join("%s %.1f%%" % (b, got[b]) for b in sorted(got)),
        " ".join("%s %.1f%%" % (b, want[b]) for b in sorted(want))), flush=True)
    c.check(res.get("ok") == CONNS and res.get("failed") == 0,
            "%s: %d new connections all answered" % (what, CONNS),
            "%s failed: %s" % (res.get("failed"), res.get("errors")))
    for b in t.backend_names():
        c.check(abs(got[b] - want[b]) <= TOLERANCE,
                "%s: %s share %.1f %% within %.0f points of %.1f %%"
                % (what, b, got[b], TOLERANCE, want[b]))
    return got


def weights_shown(t, vip_name):
    for v in t.vips().get("vips", []):
        if v.get("name") == vip_name:
            return {t.role_of(b.get("address")): b.get("weight") for b in v.get("backends", [])}
    return {}


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=3) as t:
        w = [1, 2, 3]
        vips = [t.vip_config("web4", 4, weights=w), t.vip_config("web6", 6, weights=w)]
        t.start_equinox(t.config(vips=vips))
        c.check(weights_shown(t, "web4") == {"b1": 1, "b2": 2, "b3": 3},
                "vips --json shows weights 1:2:3", weights_shown(t, "web4"))

        measure(c, t, "IPv4 VIP, weights 1:2:3", t.vip, w)
        measure(c, t, "IPv6 VIP, weights 1:2:3", t.vip6, w)

        # Run-time weights through equinoxctl.
        for b, nw in zip(t.backends, [3, 2, 1]):
            t.ctl("backend", "set", "web4", b.ip, "--weight", str(nw))
        shown = weights_shown(t, "web4")
        c.check(shown == {"b1": 3, "b2": 2, "b3": 1},
                "after equinoxctl backend set --weight, vips --json shows 3:2:1", shown)
        measure(c, t, "IPv4 VIP, weights 3:2:1 (equinoxctl)", t.vip, [3, 2, 1])

        # Weight 0: no new connection.
        t.ctl("backend", "set", "web4", t.hosts["b1"].ip, "--weight", "0")
        res = t.http_many(300, host=t.vip)
        served = res.get("backends", {})
        print("IPv4 VIP, weights 0:2:1: %s" % served, flush=True)
        c.check(res.get("ok") == 300 and served.get("b1", 0) == 0,
                "weight 0: none of 300 new connections reaches b1", served)

        cp = t.ctl("backend", "set", "web4", t.hosts["b1"].ip, "--weight", "1001", check=False)
        c.check(cp.returncode != 0, "weight 1001 is refused", cp.stdout + cp.stderr)

        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
