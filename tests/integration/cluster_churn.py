#!/usr/bin/python3
"""Distributed mode under churn: no connection breaks when backends or instances change.

A router spreads the VIP over equinox instances by ECMP (5-tuple hash);
200 long-lived keep-alive connections (tests/tools/conn_keeper.py) each send a
request every 100 ms. Then, one at a time, the scenarios of issue 4; after each
the connections that broke are counted. The same sequence runs twice: with
cluster sync (mode distributed: a change is made on ONE member and propagated)
and without it (mode standalone, plain consistent hashing: the change is made
on every member, as an operator of Maglev/Katran would), which gives the
baseline. The test fails on any broken connection with sync on; the baseline
is printed, not judged.

    cluster_churn.py [--mode sync|baseline|both] [--connections 200]
"""

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402
from clustertopo import ClusterTopology  # noqa: E402

NAME = "churn"
OCTET = 235
KEEPER = eqxtopo.REPO / "tests" / "tools" / "conn_keeper.py"
SETTLE_S = 4.0  # > conn_keeper's reply timeout (3 s): a broken connection shows by then
CLUSTER_KEY = "5a" * 32


class Keeper:
    def __init__(self, topo, n):
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", topo.client.ns, eqxtopo.PYTHON, str(KEEPER),
             "--vip", topo.vip, "-n", str(n), "--interval", "0.1", "--timeout", "3"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            start_new_session=True)
        topo.procs.append(eqxtopo.Proc("keeper", self.p, "/dev/null"))
        self.ready = self._read("ready", 60)

    def _read(self, kind, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if not line:
                raise eqxtopo.TopoError("conn_keeper exited")
            if line.startswith(kind + " "):
                return json.loads(line[len(kind) + 1:])
            print("keeper: " + line.rstrip(), flush=True)
        raise eqxtopo.TopoError("no %s line from conn_keeper" % kind)

    def report(self):
        self.p.stdin.write("report\n")
        self.p.stdin.flush()
        return self._read("report", 15)

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()


def vips_for(t, backends, weights=None, states=None):
    vip = t.vip_config(backends=[t.hosts[b].ip for b in backends])
    for i, b in enumerate(vip["backends"]):
        if weights:
            b["weight"] = weights[i]
        if states:
            b["state"] = states[i]
    return [vip]


def run_mode(checks, mode, n_conns):
    sync = mode == "sync"
    results = []
    with ClusterTopology(NAME, OCTET, instances=3, spare=1, backends=4) as t:
        members = [{"id": i, "address": t.instance(i).host.ip} for i in range(1, 5)]
        cluster = {"mode": "distributed" if sync else "standalone", "sync_port": 7440,
                   "key": CLUSTER_KEY, "members": members}
        backends = ["b1", "b2", "b3"]

        def cfg(idx, vips):
            return t.instance_config(idx, vips, cluster=cluster)

        def everywhere(fn):
            """A change: on one member with sync (it propagates), else on each."""
            targets = [1] if sync else [i.idx for i in t.instances if i.alive()]
            for idx in targets:
                fn(idx)

        def reload_with(vips):
            def one(idx):
                t.write_config(cfg(idx, vips), "lb%d.json" % idx)
                t.ictl(idx, "reload")
            everywhere(one)

        vips = vips_for(t, backends)
        for i in range(1, 5):
            t.start_instance(i, cfg(i, vips))
        t.set_ecmp([1, 2, 3])
        time.sleep(1)
        keeper = Keeper(t, n_conns)
        checks.check(keeper.ready["broken"] == 0,
                     "%s: %d connections open" % (mode, keeper.ready["open"]), keeper.ready)
        print("%s: connections by backend %s" % (mode, keeper.ready["by_backend"]))
        last = keeper.report()

        def scenario(name, action):
            nonlocal last
            action()
            time.sleep(SETTLE_S)
            r = keeper.report()
            broken = r["broken"] - last["broken"]
            results.append((name, broken))
            print("%s: %-44s broken %3d  (open %d, longest reply wait %.0f ms)"
                  % (mode, name, broken, r["open"], r["max_wait_ms"]), flush=True)
            if sync:
                checks.check(broken == 0, "sync: %s: no connection broke" % name,
                             {k: v for k, v in r["broken_ids"].items()})
            last = r

        def add_backend():
            backends.append("b4")
            reload_with(vips_for(t, backends))

        def drain_b1():
            everywhere(lambda idx: t.ictl(idx, "backend", "set", "web", t.hosts["b1"].ip,
                                          "--state", "draining"))

        def kill_lb2():
            t.stop_instance(2, sig=signal.SIGKILL)
            time.sleep(0.3)  # the router withdraws it a moment later (BFD/BGP)
            t.set_ecmp([1, 4])

        def weights_one_member():
            t.ictl(1, "backend", "set", "web", t.hosts["b2"].ip, "--weight", "3")

        def together():
            t.ictl(1, "backend", "set", "web", t.hosts["b3"].ip, "--weight", "2")
            if not sync:
                for idx in (4,):
                    t.ictl(idx, "backend", "set", "web", t.hosts["b3"].ip, "--weight", "2")
            t.start_instance(2, cfg(2, vips_for(t, backends)))
            t.set_ecmp([1, 2, 4])

        scenario("add a backend", add_backend)
        scenario("drain a backend", drain_b1)
        scenario("take lb3 out of ECMP (still running)", lambda: t.set_ecmp([1, 2]))
        scenario("add lb4 to ECMP", lambda: t.set_ecmp([1, 2, 4]))
        scenario("kill -9 lb2", kill_lb2)
        scenario("weights changed on lb1 only", weights_one_member)
        if sync:
            gens = {i.idx: t.ictl_json(i.idx, "ping").get("generation")
                    for i in t.instances if i.alive()}
            checks.check(len(set(gens.values())) == 1,
                         "sync: every member runs the same generation", gens)
        scenario("backend change + lb2 rejoins together", together)
        keeper.close()
    return results


def body(checks, args):
    modes = ["sync", "baseline"] if args.mode == "both" else [args.mode]
    table = {}
    for mode in modes:
        table[mode] = run_mode(checks, mode, args.connections)
    print("\nbroken connections per scenario (%d connections):" % args.connections)
    names = [n for n, _ in next(iter(table.values()))]
    print("  %-44s %s" % ("scenario", "  ".join("%8s" % m for m in modes)))
    for i, n in enumerate(names):
        print("  %-44s %s" % (n, "  ".join("%8d" % table[m][i][1] for m in modes)))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["sync", "baseline", "both"], default="both")
    ap.add_argument("--connections", type=int, default=200)
    a = ap.parse_args()
    eqxtopo.main(NAME, lambda checks: body(checks, a))
