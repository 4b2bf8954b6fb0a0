#!/usr/bin/python3
"""Client-IP affinity: every connection of one client address goes to one backend.

VIPs "web4" (IPv4) and "web6" (IPv6), ipip, affinity {mode client-ip, timeout_s 300},
backends b1..b3 (b4 runs but is not configured yet). The client namespace gets
CLIENTS more addresses of each family.
1. 50 new connections from each client address: each address lands on exactly one
   backend; the addresses spread over more than one backend; stats affinity_hits
   counts every connection after a client's first.
2. A reload adds b4. 50 more connections from each address: every address keeps the
   backend it had (Maglev alone would move about a quarter of them).
3. New client addresses after the reload may get b4: NEW_CLIENTS fresh addresses,
   5 connections each, each on one backend, and b4 gets some of them.
"""

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "affinity"
OCTET = 222
CLIENTS = 10
NEW_CLIENTS = 30
PER_CLIENT = 50
AFFINITY = {"mode": "client-ip", "timeout_s": 300}


def run_clients(c, t, what, family, sources, n):
    """n connections per source; returns {source: backend} (None where split)."""
    res = t.http_many(n, host=t.vip_addr(family), sources=sources)
    c.check(res.get("ok") == n * len(sources) and res.get("failed") == 0,
            "%s: %d connections from %d addresses all answered (%.1fs)"
            % (what, n * len(sources), len(sources), res.get("elapsed_s", 0)),
            res.get("errors"))
    by = res.get("by_source", {})
    split = {s: v for s, v in by.items() if len(v) != 1}
    c.check(not split, "%s: each client address lands on one backend" % what, split)
    return {s: (list(v)[0] if len(v) == 1 else None) for s, v in by.items()}


def vips_cfg(t, n_backends):
    bs = t.backends[:n_backends]
    return [t.vip_config("web4", 4, backends=[b.ip for b in bs], affinity=AFFINITY),
            t.vip_config("web6", 6, backends=[b.ip6 for b in bs], affinity=AFFINITY)]


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=4) as t:
        t.start_equinox(t.config(vips=vips_cfg(t, 3)))
        addrs = t.add_client_addresses(CLIENTS + NEW_CLIENTS)
        old, new = addrs[:CLIENTS], addrs[CLIENTS:]
        s0 = t.stats()

        before = {}
        for fam in (4, 6):
            srcs = [a[0] if fam == 4 else a[1] for a in old]
            m = run_clients(c, t, "IPv%d, 3 backends" % fam, fam, srcs, PER_CLIENT)
            spread = Counter(m.values())
            print("IPv%d: client -> backend: %s" % (fam, " ".join(
                "%s:%s" % (s.rsplit(".", 1)[-1].rsplit(":", 1)[-1], b)
                for s, b in sorted(m.items()))), flush=True)
            c.check(len(spread) > 1, "IPv%d: the %d clients spread over backends (%s)"
                    % (fam, CLIENTS, dict(spread)))
            c.check("b4" not in spread, "IPv%d: nobody on b4 (not configured yet)" % fam)
            before[fam] = m
        s1 = t.stats()
        installs = s1.get("affinity_installs", 0) - s0.get("affinity_installs", 0)
        hits = s1.get("affinity_hits", 0) - s0.get("affinity_hits", 0)
        print("affinity_installs +%d, affinity_hits +%d" % (installs, hits), flush=True)
        # affinity_installs counts pins learnt from OTHER workers: 0 with one worker.
        c.check(hits >= 2 * CLIENTS * (PER_CLIENT - 1),
                "stats: affinity_hits +%d (>= %d: every connection after a client's first)"
                % (hits, 2 * CLIENTS * (PER_CLIENT - 1)))

        # 2. add b4 by reload
        gen = t.generation()
        t.write_config(t.config(vips=vips_cfg(t, 4)))
        t.sighup()
        t.wait_generation(gen)
        c.check(len(t.backend_json("web4", t.hosts["b4"].ip) or {}) > 0,
                "reload added b4 to web4")
        for fam in (4, 6):
            srcs = [a[0] if fam == 4 else a[1] for a in old]
            m = run_clients(c, t, "IPv%d after adding b4" % fam, fam, srcs, PER_CLIENT)
            moved = {s: "%s -> %s" % (before[fam].get(s), b) for s, b in m.items()
                     if b != before[fam].get(s)}
            c.check(not moved, "IPv%d: every client keeps its backend after b4 is added"
                    % fam, moved)

        # 3. new clients may land on b4
        for fam in (4, 6):
            srcs = [a[0] if fam == 4 else a[1] for a in new]
            m = run_clients(c, t, "IPv%d, %d new clients" % (fam, NEW_CLIENTS), fam, srcs, 5)
            spread = Counter(m.values())
            print("IPv%d new clients: %s" % (fam, dict(spread)), flush=True)
            c.check(spread.get("b4", 0) > 0, "IPv%d: new clients reach b4 (%s)"
                    % (fam, dict(spread)))

        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
