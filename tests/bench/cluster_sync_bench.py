#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Issue 4's sync throughput and owner-query round trip, in one run with its baselines.

Runs cluster-sync-bench three ways and prints one table:
  inproc   both lib/cluster nodes in one thread, datagrams handed over in memory
  loopback one node per process, UDP over lo, each process pinned to its own CPU
  veth     one node per process, each in its own network namespace, UDP over a
           veth pair (10.239.0.1 <-> 10.239.0.2), each pinned to its own CPU
Both loops busy-poll, as the control lcore does with dataplane.idle busy. Root for veth
(skipped without). A timing never fails it; a lost record or failed query does (exit 1).

  EQX_BUILD_DIR=build python3 tests/bench/cluster_sync_bench.py [--records N]
      [--queries Q] [--cpus A,B] [--quick]
"""
import argparse
import os
import re
import subprocess
import sys

NS = ("eqxcsb1", "eqxcsb2")
ADDR = ("10.239.0.1", "10.239.0.2")
PORT = 7440


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def cleanup():
    for ns in NS:
        sh("ip", "netns", "del", ns, check=False)


def setup_veth():
    cleanup()
    for ns in NS:
        sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", "eqxcsb0", "netns", NS[0], "type", "veth", "peer", "name",
       "eqxcsb0", "netns", NS[1])
    for ns, addr in zip(NS, ADDR):
        sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eqxcsb0")
        sh("ip", "-n", ns, "link", "set", "eqxcsb0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def parse(out):
    fig = {}
    m = re.search(r"push: .*: ([\d.]+) M records/s", out)
    if m:
        fig["push"] = float(m.group(1))
    m = re.search(r"install: .*: ([\d.]+) M records/s", out)
    if m:
        fig["install"] = float(m.group(1))
    m = re.search(r"query: .*median ([\d.]+) us, p99 ([\d.]+) us", out)
    if m:
        fig["median"], fig["p99"] = float(m.group(1)), float(m.group(2))
    return fig


def run_pair(tool, args, label, cpus, ns=(None, None), addrs=("127.0.0.1", "127.0.0.1"),
             ports=(PORT, PORT + 1)):
    def cmd(i, role):
        c = [tool, "--role", role, "--self", "%s:%d" % (addrs[i], ports[i]),
             "--peer", "%s:%d" % (addrs[1 - i], ports[1 - i]), "--cpu", str(cpus[i]),
             "--label", label] + args
        return (["ip", "netns", "exec", ns[i]] if ns[i] else []) + c
    holder = subprocess.Popen(cmd(1, "holder"), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        pusher = subprocess.run(cmd(0, "pusher"), capture_output=True, text=True,
                                timeout=240)
        hout, _ = holder.communicate(timeout=60)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    out = pusher.stdout + pusher.stderr + hout
    sys.stdout.write(out)
    return pusher.returncode == 0 and holder.returncode == 0, parse(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--cpus", default="0,1")
    ap.add_argument("--quick", action="store_true")
    o = ap.parse_args()
    if o.quick:
        o.records, o.queries = 100000, 2000
    build = os.environ.get("EQX_BUILD_DIR", "build")
    tool = os.path.join(build, "tests/bench/cluster-sync-bench")
    cpus = [int(c) for c in o.cpus.split(",")]
    args = ["--records", str(o.records), "--queries", str(o.queries)]
    ok = True
    rows = []
    r = subprocess.run([tool, "--inproc", "--cpu", str(cpus[0])] + args, capture_output=True,
                       text=True, timeout=240)
    sys.stdout.write(r.stdout + r.stderr)
    ok &= r.returncode == 0
    rows.append(("in process (1 core, no socket)", parse(r.stdout)))
    good, fig = run_pair(tool, args, "loopback", cpus)
    ok &= good
    rows.append(("UDP over lo (1 core each)", fig))
    if os.geteuid() == 0:
        try:
            setup_veth()
            good, fig = run_pair(tool, args, "veth", cpus, ns=NS, addrs=ADDR,
                                 ports=(PORT, PORT))
            ok &= good
            rows.append(("UDP over veth, 2 netns (1 core each)", fig))
        finally:
            cleanup()
    else:
        print("veth: skipped (not root)")
    print("\n%-38s %12s %12s %10s %10s" % ("exchange (%d records, %d queries)"
                                         % (o.records, o.queries), "push Mrec/s",
                                         "install Mrec/s", "query p50", "query p99"))
    for name, f in rows:
        print("%-38s %12s %14s %10s %10s" % (
            name, "%.2f" % f["push"] if "push" in f else "-",
            "%.2f" % f["install"] if "install" in f else "-",
            "%.1f us" % f["median"] if "median" in f else "-",
            "%.1f us" % f["p99"] if "p99" in f else "-"))
    print("targets: >= 1.00 M records/s, query round trip <= 100 us")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
