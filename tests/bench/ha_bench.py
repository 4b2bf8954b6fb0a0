#!/usr/bin/python3
"""ha_bench: the failover figures of issue 7 with two real equinox processes.

    ha_bench.py [--reps 20] [--heartbeats 10,50] [--dead-count 3] [--conns 100]
                [--bulk-flows 1000000] [--skip-failover] [--skip-bulk]

Topology "hab" (10.231.0.0/24, tests/integration/eqxtopo.py with lb2): a client, two
equinox boxes (one worker each) and three backends running hatraffic's echo server.
For each heartbeat setting, with dead_count heartbeats to a dead peer and no
preemption (a restarted box stays standby, so every repetition starts the same way):

  kill -9    the client's 100 echo connections (one 8-byte echo every 50 ms each)
             and its 1000/s UDP probe run; the active is killed with SIGKILL; the
             window ends 0.5 s after the other box is active. Then the killed box
             is restarted and the pair settles (in sync, same state digest).
  switchover equinoxctl ha switchover on the active; the window ends 0.5 s after
             the roles swapped; the pair settles.

Each window gives the probe gap (the longest time without an answer), the probes
lost and the connections broken; printed per repetition, then median and worst.
Five windows of 0.7 s in which nothing happens come first: the floor of the gap that
the client, the kernel and two equinox processes sharing two CPUs give anyway.

Bulk sync: the active gets --bulk-flows flows (TCP ACKs from 60000 ports of as many
client addresses as it takes, sent with a raw socket from the client namespace to a VIP
whose one backend's MAC is the client's, so nothing answers them), then the
standby is killed and restarted: the time from its bulk sync's first record to
its last (as the standby measured it) and from the restart to "in sync".

A timing never fails it; it exits 1 when set-up fails or a connection broke.
Needs root. About 10 minutes with the defaults.
"""

import argparse
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import eqxtopo  # noqa: E402
import hatraffic  # noqa: E402

NAME = "hab"
OCTET = 231
KEY = "6571756e6f782d68612d62656e63682d6b65792d3030303030303030303030aa"
BULK_VIP = "10.231.0.101"
BULK_PORT = 7777
BULK_BACKEND = "10.231.0.99"

# Raw frames from the client namespace: TCP ACKs to BULK_VIP:BULK_PORT from n different
# (source address, port) pairs, paced.
INJECT = r"""
import socket, struct, sys, time
n, dst_mac, src_mac, vip, vport, pps = (int(sys.argv[1]), bytes.fromhex(sys.argv[2]),
    bytes.fromhex(sys.argv[3]), socket.inet_aton(sys.argv[4]), int(sys.argv[5]),
    int(sys.argv[6]))
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("veth0", 0))
eth = dst_mac + src_mac + b"\x08\x00"
sent = 0
t0 = time.monotonic()
for a in range((n + 59999) // 60000):
    src = bytes([10, 233, a >> 8, a & 0xff])
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, 0, src, vip))
    struct.pack_into("!H", ip, 10, csum(bytes(ip)))
    head = eth + bytes(ip)
    for p in range(min(60000, n - sent)):
        tcp = struct.pack("!HHIIBBHHH", 1024 + p, vport, 1, 1, 0x50, 0x10, 65535, 0, 0)
        s.send(head + tcp + b"\0" * 6)
        sent += 1
        if sent % 1000 == 0:
            ahead = sent / pps - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
print(sent, round(time.monotonic() - t0, 2))
"""


def log(msg):
    eqxtopo.log(msg)


def summary(vals):
    if not vals:
        return "-"
    return "median %.1f, worst %.1f" % (statistics.median(vals), max(vals))


def node_cfg(t, node, hb, dead, workers=1, bulk=False, table=65536, idle="adaptive"):
    vips = [t.vip_config("web", 4, backends=[b.ip for b in t.backends], port=hatraffic.ECHO_TCP),
            dict(t.vip_config("probe", 4, backends=[b.ip for b in t.backends],
                              port=hatraffic.ECHO_UDP), protocol="udp")]
    if bulk:
        vips.append({"name": "bulk", "address": BULK_VIP, "protocol": "tcp", "port": BULK_PORT,
                     "forwarding": "ipip",
                     "backends": [{"address": BULK_BACKEND, "weight": 1, "state": "active"}]})
    port_extra = {}
    if bulk:
        # The bulk VIP's backend is nobody: its MAC is the client's, whose kernel drops
        # the tunnelled packets (not its address), so a million flows cost no answers.
        port_extra = {"neighbours": [{"address": BULK_BACKEND, "mac": t.client.mac}]}
    cfg = t.config(vips=vips, workers=workers, node=node, port_extra=port_extra)
    if bulk:
        # The bulk's bursts meet a standby whose worker may be asleep: a deeper af_packet
        # ring (DPDK's default is 512 frames) keeps them.
        cfg["ports"][0]["device"] += ",framecnt=4096"
    cfg["dataplane"]["flow_table_size"] = table
    if bulk:
        i = cfg["eal"].index("-m")
        cfg["eal"][i + 1] = "1024"
    cfg["dataplane"]["idle"] = idle
    cfg["ha"] = hatraffic.ha_section(t, node, KEY, heartbeat_ms=hb, dead_count=dead,
                                     preempt=False)
    return cfg


def active_of(t):
    r = hatraffic.roles(t)
    act = [n for n, role in r.items() if role == "active"]
    return act[0] if len(act) == 1 else None


def failover_runs(t, args, hb):
    t.start_equinox(node_cfg(t, "lb", hb, args.dead_count))
    hatraffic.wait_roles(t, {"lb": "active"}, timeout=15)
    t.start_equinox(node_cfg(t, "lb2", hb, args.dead_count), node="lb2")
    ok, _ = hatraffic.wait_settled(t, timeout=30)
    if not ok:
        raise eqxtopo.TopoError("the pair did not settle at start")
    tr = hatraffic.Traffic(t, nconn=args.conns)
    windows = {"no event": [], "kill-9": [], "switchover": []}
    # The floor: windows in which nothing happens, as long as a switchover's.
    for i in range(5):
        name = "idle-%d" % i
        tr.mark(name)
        time.sleep(0.7)
        tr.end(name)
        windows["no event"].append(name)
    for i in range(args.reps):
        act = active_of(t)
        other = "lb2" if act == "lb" else "lb"
        name = "kill-%d" % i
        tr.mark(name)
        t.stop_equinox(signal.SIGKILL, node=act)
        got, ok = hatraffic.wait_roles(t, {other: "active"}, timeout=20)
        time.sleep(0.5)
        tr.end(name)
        windows["kill-9"].append(name)
        t.start_equinox(node_cfg(t, act, hb, args.dead_count), node=act)
        ok, _ = hatraffic.wait_settled(t, timeout=30)
        if not ok:
            log("kill rep %d: the pair did not settle" % i)
    for i in range(args.reps):
        act = active_of(t)
        other = "lb2" if act == "lb" else "lb"
        name = "so-%d" % i
        tr.mark(name)
        t.ctl("ha", "switchover", node=act)
        hatraffic.wait_roles(t, {other: "active", act: "standby"}, timeout=20)
        time.sleep(0.5)
        tr.end(name)
        windows["switchover"].append(name)
        ok, _ = hatraffic.wait_settled(t, timeout=30)
        if not ok:
            log("switchover rep %d: the pair did not settle" % i)
    rep = tr.report()
    tr.stop()
    for node in ("lb", "lb2"):
        t.stop_equinox(node=node)
    out = {}
    for kind, names in windows.items():
        ws = [rep["windows"][n] for n in names]
        print("heartbeat %d ms x %d, %s: gap ms per run: %s" % (
            hb, args.dead_count, kind, " ".join("%.1f" % w["gap_ms"] for w in ws)), flush=True)
        print("    lost probes per run: %s; broken connections per run: %s" % (
            " ".join(str(w["lost"]) for w in ws), " ".join(str(w["broken"]) for w in ws)),
            flush=True)
        out[kind] = ws
    return out, rep


def bulk_run(t, args):
    hb = 20
    table = 1 << (max(args.bulk_flows * 2, 65536) - 1).bit_length()
    # A sleeping worker lets the kernel's af_packet ring overflow while the flows come.
    t.start_equinox(node_cfg(t, "lb", hb, 5, bulk=True, table=table, idle="busy"), wait=120)
    hatraffic.wait_roles(t, {"lb": "active"}, timeout=15)
    t.start_equinox(node_cfg(t, "lb2", hb, 5, bulk=True, table=table), node="lb2", wait=120)
    hatraffic.wait_settled(t, timeout=30)
    lb_mac = t.lb.mac.replace(":", "")
    cli_mac = t.client.mac.replace(":", "")
    t0 = time.monotonic()
    cp = t.run_in("client", [eqxtopo.PYTHON, "-c", INJECT, args.bulk_flows, lb_mac, cli_mac,
                             BULK_VIP, BULK_PORT, args.bulk_pps], timeout=600)
    log("injected %s in %.1f s" % (cp.stdout.strip(), time.monotonic() - t0))
    time.sleep(2.0)
    # Both boxes share two CPUs: the active's worker stops spinning for the bulk (a reload).
    gen = t.generation()
    t.write_config(node_cfg(t, "lb", hb, 5, bulk=True, table=table))
    t.sighup()
    t.wait_generation(gen)
    # The standby follows along as the flows come; the figure is its bulk after a restart.
    have = hatraffic.ha_state(t, "lb")["state"]["flows"]
    st = t.stats(node="lb")
    log("active: rx %s, flows %s, drops %s, ha_events %s lost %s" % (
        st.get("rx_packets"), st.get("flows"),
        {k: v for k, v in st.get("drops", {}).items() if v},
        st.get("ha_events"), st.get("ha_events_lost")))
    t.stop_equinox(signal.SIGKILL, node="lb2")
    t0 = time.monotonic()
    t.start_equinox(node_cfg(t, "lb2", hb, 5, bulk=True, table=table), node="lb2", wait=120)
    started = time.monotonic() - t0
    deadline = time.monotonic() + 300
    st = None
    while time.monotonic() < deadline:
        st = hatraffic.ha_state(t, "lb2")
        if st and st["sync"]["rx_synced"] and st["state"]["flows"] >= have:
            break
        time.sleep(0.05)
    wall = time.monotonic() - t0
    a = hatraffic.ha_state(t, "lb")
    print("bulk sync: the active holds %d flows (of %d sent); the restarted standby (up in "
          "%.1f s) was in sync %.2f s after its restart; its bulk: %d records in %.3f s; "
          "digests %s / %s" % (have, args.bulk_flows, started, wall,
                               st["last_bulk_received"]["records"],
                               st["last_bulk_received"]["us"] / 1e6, a["state"]["digest"],
                               st["state"]["digest"]), flush=True)
    for node in ("lb", "lb2"):
        c = hatraffic.ha_state(t, node)["counters"]
        log("%s: sync %s; agent %s" % (node, c["sync"], {
            k: c[k] for k in ("tx_datagrams", "tx_deferred", "tx_failed", "tx_unresolved",
                              "rx_datagrams", "installs_queued", "installs_dropped")}))
        s = t.stats(node=node)
        log("%s: ctl %s, drops %s" % (node, s.get("control"), {k: v for k, v in
                                                               s.get("drops", {}).items() if v}))
    for node in ("lb", "lb2"):
        t.stop_equinox(node=node)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--heartbeats", default="10,50")
    ap.add_argument("--dead-count", type=int, default=3)
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--bulk-flows", type=int, default=1000000)
    ap.add_argument("--bulk-pps", type=int, default=60000)
    ap.add_argument("--skip-failover", action="store_true")
    ap.add_argument("--skip-bulk", action="store_true")
    args = ap.parse_args()
    broken = 0
    results = {}
    with eqxtopo.Topology(NAME, OCTET, backends=3, lb2=True, http_ports=(80,)) as t:
        for b in t.backend_names():
            hatraffic.start_echo(t, b)
        if not args.skip_failover:
            for hb in [int(x) for x in args.heartbeats.split(",")]:
                out, rep = failover_runs(t, args, hb)
                results[hb] = out
                broken += len(rep["broken"])
        if not args.skip_bulk:
            bulk_run(t, args)
    for hb, out in results.items():
        for kind, ws in out.items():
            print("SUMMARY heartbeat %3d ms x %d  %-10s gap ms %-28s lost %-26s broken %d" % (
                hb, args.dead_count, kind, summary([w["gap_ms"] for w in ws]),
                summary([w["lost"] for w in ws]), sum(w["broken"] for w in ws)), flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
