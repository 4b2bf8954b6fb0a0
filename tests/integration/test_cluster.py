#!/usr/bin/python3
"""Distributed mode (cluster.mode "distributed"): no connection breaks under churn.

A router spreads the VIP over equinox instances by ECMP (5-tuple hash);
200 long-lived keep-alive connections (tests/tools/conn_keeper.py) each send a
request every 100 ms. Then, one at a time, the scenarios of issue 4; after each
the connections that broke are counted. The same sequence runs twice: with
cluster sync (mode distributed: a change is made on ONE member and propagated)
and without it (mode standalone, plain consistent hashing: the change is made
on every member, as an operator of Maglev/Katran would), which gives the
baseline. The test fails on any broken connection with sync on; the baseline
is printed, not judged.

With sync it also checks that every member runs the same cluster generation
(telemetry /equinox/cluster, `equinoxctl cluster`, ping's cluster_generation),
that the owners answered queries (the mechanism ran, not luck), and that sync
datagrams sent from the router's namespace -- truncated, oversized, forged (a
byte flipped in a captured one) and replayed (a captured one sent again) --
are dropped and counted under their names while forwarding goes on.

    test_cluster.py [--mode sync|baseline|both] [--connections 200]
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
SYNC_PORT = 7440
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


# Run in the switch's namespace: one sync datagram lb2 sends lb1, as the UDP payload in hex.
CAPTURE = r"""
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # all: the bridge takes IP
s.bind((sys.argv[1], 0))
s.settimeout(5)
src, dst, port = socket.inet_aton(sys.argv[2]), socket.inet_aton(sys.argv[3]), int(sys.argv[4])
while True:
    f = s.recv(2048)
    if len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 17:
        continue
    ihl = (f[14] & 15) * 4
    u = 14 + ihl
    if f[26:30] != src or f[30:34] != dst or int.from_bytes(f[u + 2:u + 4], "big") != port:
        continue
    ulen = int.from_bytes(f[u + 4:u + 6], "big")
    print(f[u + 8:u + ulen].hex())
    break
"""

SEND = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for h in sys.argv[3:]:
    for _ in range(3):
        s.sendto(bytes.fromhex(h), (sys.argv[1], int(sys.argv[2])))
"""


def cluster_state(t, idx):
    return t.ictl_json(idx, "cluster")


def bad_datagrams(checks, t):
    """Truncated, oversized, forged and replayed sync datagrams to lb1: dropped, counted."""
    lb1, lb2 = t.instance(1).host.ip, t.instance(2).host.ip
    cp = eqxtopo.run(["ip", "netns", "exec", t.ns("sw"), eqxtopo.PYTHON, "-c", CAPTURE,
                      "p-lb2", lb2, lb1, str(SYNC_PORT)], timeout=15)
    real = bytes.fromhex(cp.stdout.strip())
    checks.check(len(real) >= 64, "sync: captured a datagram lb2 -> lb1 (%d bytes)" % len(real))
    forged = bytearray(real)
    forged[50] ^= 0x55  # in the payload: the MAC no longer matches
    cases = {"truncated": real[:20], "oversized": real + bytes(1500 - len(real)),
             "bad_mac": bytes(forged), "replayed": real}
    before = cluster_state(t, 1)["drops"]
    eqxtopo.run(["ip", "netns", "exec", t.hosts["rt"].ns, eqxtopo.PYTHON, "-c", SEND, lb1,
                 str(SYNC_PORT)] + [d.hex() for d in cases.values()])
    time.sleep(0.5)
    after = cluster_state(t, 1)
    for name in cases:
        got = after["drops"][name] - before[name]
        checks.check(got >= 3, "sync: %s datagrams dropped and counted" % name,
                     "%s: +%d" % (name, got))
    checks.check(after["in_service"] and all(m["alive"] for m in after["members"]
                                              if m["id"] in (1, 2, 3, 4)),
                 "sync: lb1 still in service, every member still alive", after["members"])


def same_generation(checks, t):
    """Every live member applied the same cluster generation (number and digest) and serves."""
    st = {i.idx: cluster_state(t, i.idx) for i in t.instances if i.alive()}
    gens = {idx: (s["generation"], s["applied"]["digest"], s["in_service"])
            for idx, s in st.items()}
    pings = {i.idx: t.ictl_json(i.idx, "ping").get("cluster_generation")
             for i in t.instances if i.alive()}
    checks.check(len(set(gens.values())) == 1 and all(v[2] for v in gens.values())
                 and set(pings.values()) == {next(iter(gens.values()))[0]},
                 "sync: every member runs the same cluster generation and serves",
                 {"telemetry": gens, "ping": pings})


def run_mode(checks, mode, n_conns):
    sync = mode == "sync"
    results = []
    with ClusterTopology(NAME, OCTET, instances=3, spare=1, backends=4) as t:
        members = [{"id": i, "address": t.instance(i).host.ip} for i in range(1, 5)]
        cluster = {"mode": "distributed" if sync else "standalone", "sync_port": SYNC_PORT,
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

        if sync:
            scenario("forged/replayed/truncated/oversized sync datagrams",
                     lambda: bad_datagrams(checks, t))
        scenario("add a backend", add_backend)
        scenario("drain a backend", drain_b1)
        scenario("take lb3 out of ECMP (still running)", lambda: t.set_ecmp([1, 2]))
        scenario("add lb4 to ECMP", lambda: t.set_ecmp([1, 2, 4]))
        scenario("kill -9 lb2", kill_lb2)
        scenario("weights changed on lb1 only", weights_one_member)
        if sync:
            same_generation(checks, t)
        scenario("backend change + lb2 rejoins together", together)
        if sync:
            same_generation(checks, t)
            st = {i.idx: cluster_state(t, i.idx) for i in t.instances if i.alive()}
            answered = sum(s["agent"]["answers_installed"] for s in st.values())
            stored = sum(s["node"]["records_stored"] + s["node"]["push_local"]
                         for s in st.values())
            print("sync: answers installed %d, records stored %d, fallbacks %s" % (
                answered, stored, {i: (s["agent"]["fallbacks_previous"],
                                       s["agent"]["fallbacks_current"]) for i, s in st.items()}))
            checks.check(answered > 0 and stored > 0,
                         "sync: owners held records and answered queries",
                         "answers installed %d, records stored %d" % (answered, stored))
        keeper.close()
    return results


def body(checks, args):
    modes = ["sync", "baseline"] if args.mode == "both" else [args.mode]
    table = {}
    for mode in modes:
        table[mode] = run_mode(checks, mode, args.connections)
    print("\nbroken connections per scenario (%d connections):" % args.connections)
    names = [n for n, _ in max(table.values(), key=len)]
    print("  %-52s %s" % ("scenario", "  ".join("%8s" % m for m in modes)))
    for n in names:
        row = [dict(table[m]).get(n) for m in modes]
        print("  %-52s %s" % (n, "  ".join("%8s" % ("-" if b is None else b) for b in row)))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["sync", "baseline", "both"], default="both")
    ap.add_argument("--connections", type=int, default=200)
    a = ap.parse_args()
    eqxtopo.main(NAME, lambda checks: body(checks, a))
