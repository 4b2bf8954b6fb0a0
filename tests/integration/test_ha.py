#!/usr/bin/python3
"""Active/standby HA (issue 7): two real equinox processes, failover that clients do not notice.

Topology "ha" (10.230.0.0/24): a client, equinox "lb" (10.230.0.10, instance 1, priority
200) and equinox "lb2" (10.230.0.11, instance 2, priority 100) on one bridge, both with
two workers, heartbeats every 20 ms, dead after 5; four backends b1..b4 behind eqx-decap,
each running an echo server on the VIP (TCP 7000, UDP 9000, see hatraffic.py).

VIPs on both boxes: "web" TCP 7000 and "probe" UDP 9000 over IPIP to b1..b4, b4 with
weight 0 at first; "sticky" TCP 80 with client-IP affinity; "web6" on the IPv6 VIP, TCP
80, over which an HTTP keep-alive connection (a GET every 50 ms) runs through every
scenario: IPv6 takeovers move the neighbour entry with unsolicited NAs.

1. lb becomes active, lb2 standby; the client opens 100 long-lived TCP connections to
   web (an 8-byte echo every 50 ms each) and runs a 1000/s UDP probe through probe.
2. The backend set changes on both boxes (b4's weight 0 -> 1000): Maglev now sends
   most flows to b4, so the established connections stay on b1..b3 only through
   their flow entries -- on the standby, only through the synced ones.
   `equinoxctl ha flows` counts them (off_maglev) and the test prints how many.
3. The scenarios, each in a window of the probe: kill -9 the active (lb2 takes
   over); restart lb (it syncs, then preempts: fail back with preemption); SIGSTOP
   the active 2 s then SIGCONT (a split brain that lb wins at once); cut the pair's
   link (bridge port isolation: only lb<->lb2 traffic, heartbeats and sync, stops;
   clients and backends still reach both) and restore it; kill -9 and restart the
   standby during traffic; a planned switchover (equinoxctl ha switchover); and
   lb's port link taken down (lb goes to fault, lb2 takes over) and up again (lb
   syncs and preempts).
   For each: the probe gap (longest time without an answer) and the connections
   that broke are printed. After each, both boxes settle: one active, one standby,
   in sync, the same state digest.
   The LISP map-server runs on both boxes: a registration with lb is on lb2 too,
   and lb2 still has it after lb was killed.
4. Forged (bad MAC), replayed (a captured datagram sent again), truncated, bad
   magic and wrong-key datagrams, sent from the client namespace with the peer's
   source address, are dropped and counted by name, and change no role.

Fails on: a broken connection, a split brain that outlives the heal, the two boxes'
state differing after they settle, no flow that only the sync keeps, forged datagrams
not counted. Never on a measured gap (printed only).
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402
import hatraffic  # noqa: E402

NAME = "ha"
OCTET = 230
KEY = "6571756e6f782d68612d746573742d6b65792d30303030303030303030303031"
WORKERS = 2
HEARTBEAT_MS = 20
DEAD_COUNT = 5
CONNS = 100
SETTLE_S = 25
LISP_KEY = "ha-lisp-site-key"
LISP_EID = "10.230.9.0/24"
XTR = eqxtopo.REPO / "tests" / "tools" / "lisp_xtr.py"


def vips(t):
    four = [b.ip for b in t.backends]
    weights = [1, 1, 1, 0]
    return [t.vip_config("web", 4, backends=four, port=hatraffic.ECHO_TCP, weights=weights),
            dict(t.vip_config("probe", 4, backends=four, port=hatraffic.ECHO_UDP,
                              weights=weights), protocol="udp"),
            t.vip_config("sticky", 4, backends=four[:3], port=80,
                         affinity={"mode": "client-ip", "timeout_s": 600}),
            t.vip_config("web6", 6, backends=[b.ip6 for b in t.backends[:3]], port=80)]


def node_config(t, node):
    cfg = t.config(vips=vips(t), workers=WORKERS, node=node)
    cfg["ha"] = hatraffic.ha_section(t, node, KEY, heartbeat_ms=HEARTBEAT_MS,
                                     dead_count=DEAD_COUNT)
    # The LISP map-server runs on both: the active's registrations reach the standby.
    cfg["lisp"] = {"enabled": True, "port": "p0",
                   "state_file": str(Path(t.workdir) / ("lisp-%s.state" % node)),
                   "sites": [{"name": "ha-site",
                              "keys": [{"id": 1, "algorithm": "hmac-sha256-128",
                                        "secret": LISP_KEY}],
                              "eid_prefixes": [{"prefix": LISP_EID}]}]}
    return cfg


def lisp_regs(t, node):
    try:
        return t.ctl_json("lisp", node=node).get("registrations")
    except eqxtopo.TopoError:
        return None


def isolate(t, on):
    """Cut (or restore) the pair's link: bridge port isolation of both equinox ports."""
    for role in ("lb", "lb2"):
        eqxtopo.run(["ip", "netns", "exec", t.ns("sw"), "bridge", "link", "set", "dev",
                     "p-%s" % role, "isolated", "on" if on else "off"])


def set_b4(t, weight):
    for node in ("lb", "lb2"):
        for vip in ("web", "probe"):
            t.ctl("backend", "set", vip, t.backends[3].ip, "--weight", str(weight), node=node)


# A heartbeat datagram of lb, captured on the switch: the raw frame, hex.
CAPTURE = r"""
pkts = sniff(iface=sys.argv[1], filter="udp dst port %s and src host %s" % (sys.argv[2],
             sys.argv[3]), count=1, timeout=10)
print(bytes(pkts[0]).hex() if pkts else "")
"""

# Frames toward lb2 from the client namespace, claiming lb's address: argv = lb2 mac,
# lb ip, lb2 ip, port, then hex payloads.
INJECT = r"""
dst, src, to, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for h in sys.argv[5:]:
    sendp(Ether(dst=dst, src=get_if_hwaddr("veth0")) / IP(src=src, dst=to) /
          UDP(sport=port, dport=port) / Raw(bytes.fromhex(h)), iface="veth0")
"""


def forged_datagrams(c, t):
    """Step 4, against lb2 (lb's peer address as the source)."""
    lb2 = t.hosts["lb2"]
    port = str(hatraffic.ha_section(t, "lb", KEY).get("sync_port", 7441))
    prog = "import sys\nfrom scapy.all import *\nconf.verb = 0\n" + CAPTURE
    cp = eqxtopo.run(["ip", "netns", "exec", t.ns("sw"), eqxtopo.PYTHON, "-c", prog, "p-lb",
                      port, t.lb_ip], timeout=30, check=False)
    raw = bytes.fromhex(cp.stdout.strip()) if cp.stdout.strip() else b""
    if not c.check(len(raw) > 42 + 48, "captured one of lb's HA datagrams on the switch"):
        return
    dgram = raw[42:]  # Ethernet 14 + IPv4 20 + UDP 8
    forged = bytearray(dgram)
    forged[-1] ^= 0xff  # the MAC no longer matches
    wrong_key = bytearray(dgram)
    wrong_key[8] ^= 0xff  # another key id
    bad_magic = bytearray(dgram)
    bad_magic[0] = 0
    before = hatraffic.ha_state(t, "lb2")["counters"]
    payloads = [dgram.hex(), bytes(forged).hex(), bytes(wrong_key).hex(),
                bytes(bad_magic).hex(), dgram[:10].hex()]
    t.scapy("client", INJECT, args=[lb2.mac, t.lb_ip, t.lb2_ip, port] + payloads)
    time.sleep(0.5)
    after = hatraffic.ha_state(t, "lb2")["counters"]
    for name in ("replayed", "bad_mac", "wrong_key", "bad_magic", "truncated"):
        got = after["wire_drops"][name] - before["wire_drops"][name]
        c.check(got >= 1, "lb2 dropped and counted a %s datagram (%d)" % (name, got))
    r = hatraffic.roles(t)
    c.check(r == {"lb": "standby", "lb2": "active"},
            "the forged datagrams changed no role: %s" % r)


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=4, lb2=True, http_ports=(80,)) as t:
        for b in t.backend_names():
            hatraffic.start_echo(t, b)
        t.start_equinox(node_config(t, "lb"))
        got, ok = hatraffic.wait_roles(t, {"lb": "active"}, timeout=15)
        c.check(ok, "lb alone becomes active: %s" % got)
        t.start_equinox(node_config(t, "lb2"), node="lb2")
        ok, st = hatraffic.wait_settled(t, timeout=SETTLE_S)
        c.check(ok, "lb2 joins as standby, in sync",
                {n: s and (s["role"], s["sync"]) for n, s in st.items()})

        # A LISP registration with the active is mirrored by the standby.
        t.run_in("client", [eqxtopo.PYTHON, str(XTR), "register", "--ms", t.lb_ip, "--bind",
                            t.client.ip, "--eid", LISP_EID, "--key", LISP_KEY, "--alg",
                            "sha256", "--key-id", 1], timeout=30)
        got = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = {n: lisp_regs(t, n) for n in ("lb", "lb2")}
            if got == {"lb": 1, "lb2": 1}:
                break
            time.sleep(0.1)
        c.check(got == {"lb": 1, "lb2": 1},
                "a LISP registration with lb is synced to lb2: %s" % got)

        tr = hatraffic.Traffic(t, nconn=CONNS)
        t.log("client: %s" % tr.ready)
        # An IPv6 keep-alive connection (HTTP every 50 ms): a takeover moves the VIP's
        # neighbour entry with an unsolicited NA.
        ka6 = t.keepalive("keepalive6", host=t.vip6, interval=0.05, limit=200)
        first6 = t.keepalive_first(ka6)
        c.check(first6 is not None and first6.get("status") == 200,
                "IPv6 keep-alive connection answered", first6)
        sticky = t.curl_many(5, url="http://%s/" % t.vip)
        c.check(all(ok for ok, _ in sticky) and len(set(b for _, b in sticky)) == 1,
                "client-IP affinity: 5 requests to sticky on one backend: %s" % sticky)

        # 2. The set changes: only flow entries keep the connections where they are.
        set_b4(t, 1000)
        time.sleep(0.5)
        flows = {n: t.ctl_json("ha", "flows", node=n) for n in ("lb", "lb2")}
        off = flows["lb2"]["off_maglev"]
        print("flows that only their synced entry keeps on their backend (standby lb2): "
              "%d of %d" % (off, flows["lb2"]["flows"]), flush=True)
        c.check(off >= CONNS // 2,
                "after b4 weight 1000, most connections are off Maglev (%d): the sync is "
                "what keeps them" % off)
        ok, st = hatraffic.wait_settled(t, timeout=SETTLE_S)
        c.check(ok and st["lb"]["state"]["affinity"] >= 1
                and st["lb2"]["state"]["affinity"] == st["lb"]["state"]["affinity"],
                "the pin is synced: affinity entries %s" %
                {n: s and s["state"]["affinity"] for n, s in st.items()})

        results = []

        def scenario(name, run, want, settle=True):
            tr.mark(name)
            t0 = time.monotonic()
            run()
            got, ok = hatraffic.wait_roles(t, want, timeout=SETTLE_S)
            c.check(ok, "%s: roles %s (want %s)" % (name, got, want))
            time.sleep(1.0)
            tr.end(name)
            if settle:
                ok, st = hatraffic.wait_settled(t, timeout=SETTLE_S)
                c.check(ok, "%s: the pair settles with the same state" % name,
                        {n: s and {"role": s["role"], "state": s["state"],
                                   "sync": s["sync"]} for n, s in st.items()})
            results.append(name)
            t.log("%s done in %.1f s" % (name, time.monotonic() - t0))

        # 3a. kill -9 the active.
        scenario("kill-9-active",
                 lambda: t.stop_equinox(signal.SIGKILL, node="lb"),
                 {"lb2": "active"}, settle=False)

        c.check(lisp_regs(t, "lb2") == 1,
                "lb2, now active, serves the synced LISP registration (%s)" % lisp_regs(t, "lb2"))

        # 3f. It comes back: sync, then preemption (priority 200 over 100).
        scenario("fail-back-preempt",
                 lambda: t.start_equinox(node_config(t, "lb")),
                 {"lb": "active", "lb2": "standby"})

        # 3b. SIGSTOP the active for 2 s.
        def sigstop():
            pid = t.equinox.popen.pid
            os.kill(pid, signal.SIGSTOP)
            time.sleep(2.0)
            both = hatraffic.roles(t, ("lb2",))
            os.kill(pid, signal.SIGCONT)
            c.check(both["lb2"] == "active", "while lb is stopped, lb2 is active")

        scenario("sigstop-2s", sigstop, {"lb": "active", "lb2": "standby"})

        # 3c. Cut the pair's link only, then restore it.
        def cut():
            isolate(t, True)
            got, ok = hatraffic.wait_roles(t, {"lb": "active", "lb2": "active"}, timeout=10)
            c.check(ok, "link cut: both boxes active (%s)" % got)
            time.sleep(1.0)
            isolate(t, False)
            healed = time.monotonic()
            got, ok = hatraffic.wait_roles(t, {"lb": "active", "lb2": "standby"}, timeout=5)
            c.check(ok, "the split brain ends within 5 s of the heal (%.2f s): %s"
                    % (time.monotonic() - healed, got))

        scenario("cut-pair-link", cut, {"lb": "active", "lb2": "standby"})

        # 3g. A port whose link goes down: fault, the peer takes over; back up: preemption.
        def link_down():
            eqxtopo.run(["ip", "-n", t.lb.ns, "link", "set", eqxtopo.LB_IFACE, "down"])
            got, ok = hatraffic.wait_roles(t, {"lb": "fault", "lb2": "active"}, timeout=10)
            c.check(ok, "lb's link down: lb in fault, lb2 active (%s)" % got)
            time.sleep(0.5)
            eqxtopo.run(["ip", "-n", t.lb.ns, "link", "set", eqxtopo.LB_IFACE, "up"])

        scenario("port-link-down-up", link_down, {"lb": "active", "lb2": "standby"})

        # 3e. kill -9 the standby during traffic, and restart it.
        def standby_restart():
            t.stop_equinox(signal.SIGKILL, node="lb2")
            time.sleep(1.0)
            t.start_equinox(node_config(t, "lb2"), node="lb2")

        scenario("kill-restart-standby", standby_restart, {"lb": "active", "lb2": "standby"})

        # 3d. Planned switchover.
        scenario("planned-switchover", lambda: t.ctl("ha", "switchover", node="lb"),
                 {"lb": "standby", "lb2": "active"})

        rep = tr.report()
        print("%-22s %8s %8s %8s %8s %8s" % ("scenario", "gap ms", "sent", "answers", "lost",
                                                "broken"))
        for name in results:
            w = rep["windows"][name]
            print("%-22s %8.1f %8d %8d %8d %8d" % (name, w["gap_ms"], w["sent"], w["replies"],
                                                   w["lost"], w["broken"]), flush=True)
        print("TCP connections %d, broken %d, echoes %d; probes %d sent, %d answered; "
              "backends %s" % (rep["conns"], len(rep["broken"]), rep["echoes"],
                               rep["probes_sent"], rep["probe_replies"], rep["backends"]),
              flush=True)
        c.check(not rep["broken"], "no TCP connection broke in any scenario",
                json.dumps(rep["broken"][:5]))
        c.check(set(rep["backends"]) <= {"b1", "b2", "b3"} and rep["echoes"] > CONNS * 20,
                "the connections stayed on b1..b3 and kept echoing (%d echoes)" % rep["echoes"])

        rc6, recs6 = t.stop_keepalive(ka6)
        bodies6 = set(r.get("body") for r in recs6 if "body" in r)
        c.check(rc6 == 0 and not any("error" in r for r in recs6) and len(bodies6) == 1,
                "the IPv6 keep-alive connection saw every scenario without an error, on one "
                "backend (%d answers, %s)" % (len(recs6), bodies6))

        # 4. Forged, replayed and malformed datagrams.
        forged_datagrams(c, t)
        final = tr.report()
        c.check(not final["broken"], "still no broken connection at the end")
        tr.stop()
        for n in ("lb", "lb2"):
            s = hatraffic.ha_state(t, n)
            print("%s: role %s, transitions %s, counters %s" % (
                n, s["role"], s["counters"]["reasons"],
                {k: s["counters"][k] for k in ("records_pushed", "records_received",
                                               "bulks_sent", "bulks_received",
                                               "garp_sent", "installs_queued")}),
                flush=True)


if __name__ == "__main__":
    eqxtopo.main("test_ha", body)
