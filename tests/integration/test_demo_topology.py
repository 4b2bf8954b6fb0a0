#!/usr/bin/python3
"""The demo's topology, end to end: client -> equinox (IPIP) -> 3 backends -> client (DSR).

- 300 curl requests to the VIP, one new TCP connection each, all succeed;
- every backend serves 20-45 % of them (Maglev spreads 5-tuples evenly);
- `equinoxctl vips --json` adds up: each backend's flows >= the requests it served,
  the VIP's packets/bytes/flows equal the sums over its backends;
- equinox answers ARP for the VIP and its port address, and ping on the latter;
- equinox stops on SIGTERM with status 0.
"""

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "topo"
OCTET = 211
REQUESTS = 300


def find_vip(vips, address):
    for v in vips.get("vips", []):
        if v.get("address") == address:
            return v
    return None


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=3) as t:
        t.start_equinox(t.config())
        # One request first: it lets equinox resolve the client's and backends' MACs.
        ok, out = t.curl(timeout=10)
        c.check(ok, "first request through the VIP", out)

        neigh = t.run_in("client", ["ip", "neigh", "show", t.vip]).stdout
        c.check(t.lb.mac in neigh.lower(), "equinox answers ARP for the VIP with its port MAC",
                neigh)
        cp = t.run_in("client", ["ping", "-c", "2", "-W", "2", t.lb_ip], timeout=15)
        c.check(cp.returncode == 0, "equinox answers ping on its port address %s" % t.lb_ip,
                cp.stdout[-300:])
        neigh = t.run_in("client", ["ip", "neigh", "show", t.lb_ip]).stdout
        c.check(t.lb.mac in neigh.lower(), "equinox answers ARP for %s" % t.lb_ip, neigh)

        results = t.curl_many(REQUESTS)
        failures = [r for ok, r in results if not ok]
        c.check(not failures, "%d requests to the VIP all succeed" % REQUESTS,
                "%d failed, e.g. %s" % (len(failures), failures[:3]))
        served = Counter(body for ok, body in results if ok)
        names = set(t.backend_names())
        c.check(set(served) <= names, "every answer names a backend", dict(served))
        for b in sorted(names):
            share = served.get(b, 0) / REQUESTS
            c.check(0.20 <= share <= 0.45, "%s serves 20-45 %% (%d = %.0f %%)"
                    % (b, served.get(b, 0), share * 100), dict(served))

        vips = t.vips()
        vip = find_vip(vips, t.vip)
        c.check(vip is not None, "vips --json lists %s" % t.vip, vips)
        if vip is None:
            return
        c.check(vip.get("name") == "web" and vip.get("protocol") == "tcp"
                and vip.get("port") == 80, "VIP name/protocol/port as configured", vip)
        by_addr = {b.get("address"): b for b in vip.get("backends", [])}
        c.check(set(by_addr) == {b.ip for b in t.backends},
                "vips --json lists the 3 backends", list(by_addr))
        for h in t.backends:
            be = by_addr.get(h.ip, {})
            c.check(be.get("state") == "active", "%s is active" % h.role, be)
            c.check(be.get("flows", 0) >= served.get(h.role, 0),
                    "%s flows (%s) >= requests it served (%d)"
                    % (h.role, be.get("flows"), served.get(h.role, 0)))
            c.check(be.get("packets", 0) >= 2 * served.get(h.role, 0),
                    "%s packets (%s) >= 2 per request" % (h.role, be.get("packets")))
        for key in ("packets", "bytes", "flows"):
            total = sum(b.get(key, 0) for b in by_addr.values())
            c.check(vip.get(key) == total, "VIP %s (%s) = sum over backends (%d)"
                    % (key, vip.get(key), total))
        c.check(vip.get("flows", 0) >= REQUESTS, "VIP flows >= %d" % REQUESTS, vip.get("flows"))

        stats = t.stats()
        c.check(stats.get("rx_packets", 0) >= vip.get("packets", 0),
                "stats rx_packets >= VIP packets", stats)
        c.check(isinstance(stats.get("drops"), dict), "stats has a drops object", stats)

        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
