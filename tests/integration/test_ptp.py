#!/usr/bin/python3
"""PTP interop with linuxptp's ptp4l on veth, software timestamps on both sides.

One L2 segment (eqxtopo: a bridge), ptp4l -S in the client namespace, equinox on
net_af_packet in the lb namespace, UDPv4 transport (224.0.1.129, ports 319/320):

 1. ptp4l is the master (priority1 100), equinox a slave by the BMCA (role auto), its
    clock started 1 ms and +50 ppm off (ptp.clock.initial_offset_ns/initial_freq_ppb):
    equinox selects ptp4l as its master, its port goes SLAVE, the servo locks, and it
    converges to within 10 us (95% of its samples from then on), timed against the
    deadline of 10 s. Figures: equinox's own offset and clock_vs_system_ns (its clock
    minus CLOCK_REALTIME, which the master serves: the true error), mean/sd/p99/max
    after the first 10 s.
    chronyd (with -x: it never touches the host clock) reads equinox's SOCK refclock
    and selects it, when chronyd is installed (or EQX_CHRONY_DIR has sbin/chronyd and
    bin/chronyc); else a socket stands in and checks the samples' format.
 0. Before both, ptp4l against ptp4l on the same segment: the yardstick (below).
 2. equinox is the master (role master) and ptp4l a slave-only clock with free_running 1
    (it never adjusts the host clock): ptp4l reports offsets whose mean is under 2 us.
 3. tshark decodes every PTP frame equinox sent in 1 and 2 without a malformed or
    error-level expert note, and they cover Announce, Sync, Follow_Up, Delay_Req and
    Delay_Resp.
 4. The symmetric paths: with path.vlan, and with an MPLS label path, everything
    equinox sends carries the tag / label (tshark), a Delay_Req over the configured
    path is answered over it, one over another path is dropped, counted, and raises
    the path_mismatch alarm.
 5. Malformed, truncated and foreign-domain PTP messages (scapy) are dropped and
    counted under their names, and equinox keeps running; /equinox/ptp in telemetry.
EQX_PTP_DEVICE="net_pcap0,iface=%s" runs it all on net_pcap (the kernel's RX stamps).

No test steps or slews the host clock: ptp4l runs with free_running 1 everywhere.
The timing bounds (10 us within 10 s, |mean| < 2 us) are what issue 5 asks; each is
measured over a window, with one retry of the run, and printed as MET or MISSED with
the evidence of how busy the machine was (ptp4l against itself, measured first in the
same topology; the load average; the share of Syncs read late by a descheduled
worker), never failed on: tests fail on wrong state, not on a time measured on a
shared machine. Every try's figures are printed.
"""

import math
import os
import re
import signal
import socket
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "ptp"
OCTET = 227
RUN_S = 20  # each direction, in CI
SETTLE_S = 10  # statistics start after this
CONVERGE_NS = 10000
CONVERGE_S = 10.0
MASTER_MEAN_NS = 2000
CONVERGED_SHARE = 0.95
# The machine is too busy to judge a timing bound when ptp4l against itself, in the
# same topology just before, does worse than this (the issue quotes sd 0.45 us and
# |mean| 0.05 us for it), when the load average is above NOISY_LOAD, or when more
# than NOISY_LATE of equinox's Syncs came in one burst with their Follow_Up (the
# worker was not running when they arrived).
NOISY_SD_NS = 1000
NOISY_MEAN_NS = 1000
NOISY_LOAD = 2.5
NOISY_LATE = 0.25
INITIAL_OFFSET_NS = 1000000
INITIAL_FREQ_PPB = 50000.0
LOG_SYNC = -3  # 8 Syncs/s, both implementations
LOG_ANNOUNCE = 0
DOMAIN = 0
CHRONY_MAGIC = 0x534F434B
# equinox's port: af_packet (eqxtopo's default) unless EQX_PTP_DEVICE says otherwise,
# e.g. "net_pcap0,iface=%s", whose RX stamps are the kernel's.
PTP_DEVICE = os.environ.get("EQX_PTP_DEVICE", "")
# ptp.software_stamps: unset (auto: the kernel's stamps on af_packet), or "tsc", "pmd", ...
PTP_STAMPS = os.environ.get("EQX_PTP_STAMPS", "")

PTP4L_LINE = re.compile(r"ptp4l\[(\d+\.\d+)\]: master offset\s+(-?\d+) s(\d) freq\s+([+-]?\d+)"
                        r" path delay\s+(-?\d+)")


def clock_id_from_mac(mac):
    """IEEE 1588 clock identity (EUI-64 from a MAC-48), as equinox and ptp4l print it."""
    b = mac.split(":")
    return "%s%s%s.fffe.%s%s%s" % (b[0], b[1], b[2], b[3], b[4], b[5])


class PtpTopology(eqxtopo.Topology):
    """A ptp4l host (the topology's client) and equinox on one bridge, no backends."""

    def __init__(self, name=NAME, octet=OCTET, **kw):
        super().__init__(name, octet, backends=0, ipv6=False, **kw)

    def ptp4l_conf(self, name, master, sync=LOG_SYNC, announce=LOG_ANNOUNCE, domain=DOMAIN):
        """A ptp4l config file: master (priority1 100) or a slave-only clock; every
        ptp4l here has free_running 1 and its own management socket."""
        lines = ["[global]",
                 "domainNumber %d" % domain,
                 "logSyncInterval %d" % sync,
                 "logAnnounceInterval %d" % announce,
                 # Delay_Req as often as Sync: the mean path delay settles in a second.
                 "logMinDelayReqInterval %d" % sync,
                 # Never touch the host clock, whatever the BMCA decides.
                 "free_running 1",
                 "tx_timestamp_timeout 50",
                 "uds_address %s" % (Path(self.workdir) / ("%s.uds" % name)),
                 # A line per offset: with free_running ptp4l prints one per
                 # frequency estimate, at most one a second (its minimum interval).
                 "summary_interval %d" % sync,
                 "freq_est_interval 0"]
        if master:
            lines.append("priority1 100")
        else:
            lines.append("slaveOnly 1")
        path = Path(self.workdir) / ("%s.conf" % name)
        path.write_text("\n".join(lines) + "\n")
        return path

    def start_ptp4l(self, name, role, iface, master):
        conf = self.ptp4l_conf(name, master)
        return self.spawn(name, self.hosts[role].ns,
                          ["ptp4l", "-i", iface, "-S", "-m", "-q", "-f", conf])

    def ptp_config(self, role, initial_offset_ns=0, initial_freq_ppb=0.0, chrony_socket="",
                   idle=None, sync=LOG_SYNC, priority1=128):
        cfg = self.config(vips=[])
        if PTP_DEVICE:
            cfg["ports"][0]["device"] = PTP_DEVICE % eqxtopo.LB_IFACE
        cfg["dataplane"]["idle"] = idle or default_idle()
        cfg["ptp"] = {
            "enabled": True,
            "domain": DOMAIN,
            "transport": "udp4",
            "timestamping": "auto",
            "priority1": priority1,
            "ports": [{"port": "p0", "role": role, "log_sync_interval": sync,
                       "log_announce_interval": LOG_ANNOUNCE}],
            "clock": {"initial_offset_ns": initial_offset_ns,
                      "initial_freq_ppb": initial_freq_ppb},
        }
        if PTP_STAMPS:
            cfg["ptp"]["software_stamps"] = PTP_STAMPS
        if chrony_socket:
            cfg["ptp"]["export"] = {"chrony_socket": chrony_socket}
        return cfg

    def ptp(self):
        return self.ctl_json("ptp")

    def ptp_samples(self, since=0):
        return self.ctl_json("ptp", "samples", str(since))


def ptp4l_offsets(proc):
    """(monotonic s, offset ns, state, freq, path delay) of each ptp4l offset line."""
    out = []
    for line in Path(proc.logpath).read_text(errors="replace").splitlines():
        m = PTP4L_LINE.search(line)
        if m:
            out.append((float(m.group(1)), int(m.group(2)), int(m.group(3)),
                        int(m.group(4)), int(m.group(5))))
    return out


def stats(values):
    """mean, sd, p99 and max of |v|, in ns; None when empty."""
    if not values:
        return None
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    a = sorted(abs(v) for v in values)
    p99 = a[min(n - 1, int(math.ceil(0.99 * n)) - 1)]
    return {"n": n, "mean": mean, "sd": sd, "p99": p99, "max": a[-1]}


def fmt(s):
    if s is None:
        return "no samples"
    return "n=%d mean %+.0f ns, sd %.0f ns, p99 |%.0f| ns, max |%.0f| ns" % (
        s["n"], s["mean"], s["sd"], s["p99"], s["max"])


def convergence_time(samples, start, key, bound, share=CONVERGED_SHARE, tail_s=3.0):
    """Seconds from start to the first sample from which on at least `share` of the
    samples have |key| within bound (and at least tail_s of samples follow), or None.
    share 1.0 is "within the bound for good"; 0.95 lets a preempted worker's stamp
    through now and then without calling the clock unconverged."""
    if not samples:
        return None
    end = samples[-1]["time"]
    good = 0
    first = None
    for i in range(len(samples) - 1, -1, -1):
        if abs(samples[i][key]) <= bound:
            good += 1
        n = len(samples) - i
        if end - samples[i]["time"] >= tail_s and good >= share * n:
            first = i
    return None if first is None else samples[first]["time"] - start


class SockRefclock:
    """A stand-in for chronyd's SOCK refclock: binds the datagram socket and reads the
    samples (struct sock_sample: timeval, double offset, int pulse, leap, pad, magic)."""

    FMT = "qqdiiii"

    def __init__(self, path):
        self.path = str(path)
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.samples = []
        self.bad = []

    def read(self):
        size = struct.calcsize(self.FMT)
        while True:
            try:
                data = self.sock.recv(256)
            except BlockingIOError:
                break
            if len(data) != size:
                self.bad.append(len(data))
                continue
            sec, usec, offset, pulse, leap, _pad, magic = struct.unpack(self.FMT, data)
            self.samples.append({"tv": sec + usec * 1e-6, "offset": offset, "pulse": pulse,
                                 "leap": leap, "magic": magic})
        return self.samples

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def find_chronyd():
    """chronyd and chronyc, when installed (or EQX_CHRONY_DIR/{sbin,bin}); else None."""
    d = os.environ.get("EQX_CHRONY_DIR")
    cands = [(Path(d) / "sbin" / "chronyd", Path(d) / "bin" / "chronyc")] if d else []
    cands.append((Path("/usr/sbin/chronyd"), Path("/usr/bin/chronyc")))
    for daemon, client in cands:
        if daemon.exists() and client.exists():
            return daemon, client
    return None


class Chronyd:
    """The real chronyd, with -x (it never touches the host clock) and a SOCK refclock
    on path; sources() asks it, through its command socket, what it thinks of it."""

    def __init__(self, t, path, daemon, client):
        self.path = str(path)
        self.client = client
        w = Path(t.workdir)
        self.cmd = w / "chronyd.cmd"
        conf = w / "chrony.conf"
        conf.write_text("refclock SOCK %s refid PTP poll 2 filter 16 precision 1e-6\n"
                        "cmdport 0\nbindcmdaddress %s\npidfile %s\n"
                        % (self.path, self.cmd, w / "chronyd.pid"))
        self.proc = t.spawn("chronyd", t.lb.ns, [daemon, "-x", "-d", "-u", "root", "-f", conf])
        deadline = time.monotonic() + 10
        while not Path(self.path).exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def sources(self):
        cp = eqxtopo.run([self.client, "-h", self.cmd, "-n", "sources"], check=False)
        return cp.stdout

    def close(self, t):
        t.stop_proc(self.proc)


def run_slave(t, seconds, chrony=None, idle=None, label="equinox slave"):
    """ptp4l master, equinox slave with the injected error; returns a result dict."""
    lb_ptp4l = t.start_ptp4l("ptp4l-master", "client", t.client.ifname, master=True)
    time.sleep(1.0)
    cfg = t.ptp_config("auto", INITIAL_OFFSET_NS, INITIAL_FREQ_PPB,
                       chrony_socket=chrony.path if chrony else "", idle=idle)
    start = time.time()
    t.start_equinox(cfg)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if isinstance(chrony, SockRefclock):
            chrony.read()
        time.sleep(0.25)
    state = t.ptp()
    samples = t.ptp_samples().get("samples", [])
    if isinstance(chrony, SockRefclock):
        chrony.read()
    elif chrony is not None:
        res_sources = chrony.sources()
    t.stop_equinox()
    t.stop_proc(lb_ptp4l)
    res = {"label": label, "state": state, "samples": samples, "start": start,
           "master_log": lb_ptp4l}
    if chrony is not None and not isinstance(chrony, SockRefclock):
        res["chronyd_sources"] = res_sources
    locked = [s for s in samples if s["servo_state"] == "locked"]
    res["first_lock"] = locked[0]["time"] - start if locked else None
    res["t_offset"] = convergence_time(samples, start, "offset_ns", CONVERGE_NS)
    res["t_truth"] = convergence_time(samples, start, "clock_vs_system_ns", CONVERGE_NS)
    res["t_truth_strict"] = convergence_time(samples, start, "clock_vs_system_ns",
                                             CONVERGE_NS, share=1.0)
    port = state["ports"]["p0"]
    syncs = port["rx"].get("sync", 0)
    res["late"] = port["drops"].get("sync_read_late", 0) / syncs if syncs else 0.0
    res["load"] = load_average()
    later = [s for s in samples if s["time"] - start >= SETTLE_S]
    res["offset"] = stats([s["offset_ns"] for s in later])
    res["truth"] = stats([s["clock_vs_system_ns"] for s in later])
    res["delay"] = stats([s["mean_path_delay_ns"] for s in later])
    print("%s: %d samples, first lock at %s s; 95%% within %d ns after %s s (own offset), "
          "%s s (clock_vs_system; for good after %s s); %.0f%% of Syncs read late, load %.2f"
          % (label, len(samples), _s(res["first_lock"]), CONVERGE_NS, _s(res["t_offset"]),
             _s(res["t_truth"]), _s(res["t_truth_strict"]), 100 * res["late"], res["load"]))
    print("  after %d s, own offset:       %s" % (SETTLE_S, fmt(res["offset"])))
    print("  after %d s, clock_vs_system:  %s" % (SETTLE_S, fmt(res["truth"])))
    print("  after %d s, mean path delay:  %s" % (SETTLE_S, fmt(res["delay"])))
    return res


def run_master(t, seconds, idle=None, label="equinox master"):
    """equinox master, ptp4l slave-only with free_running 1; returns a result dict."""
    cfg = t.ptp_config("master", idle=idle)
    t.start_equinox(cfg)
    slave = t.start_ptp4l("ptp4l-slave", "client", t.client.ifname, master=False)
    time.sleep(seconds)
    state = t.ptp()
    t.stop_proc(slave)
    t.stop_equinox()
    lines = ptp4l_offsets(slave)
    res = {"label": label, "state": state, "lines": lines, "slave_log": slave}
    if lines:
        t0 = lines[0][0]
        later = [ln[1] for ln in lines if ln[0] - t0 >= SETTLE_S - 2]
    else:
        later = []
    res["offset"] = stats(later)
    res["load"] = load_average()
    print("%s: ptp4l printed %d offsets; after %d s: %s; load %.2f" % (
        label, len(lines), SETTLE_S, fmt(res["offset"]), res["load"]))
    return res


def run_ptp4l_pair(t, seconds, label="ptp4l -> ptp4l"):
    """ptp4l master in the client namespace, ptp4l slave (free_running) on equinox's
    interface with a kernel address for the time: both read the host clock, so the
    slave's offsets are its measurement error alone."""
    eqxtopo.run(["ip", "-n", t.lb.ns, "addr", "add", "%s/24" % t.lb_ip, "dev", t.lb.ifname])
    try:
        master = t.start_ptp4l("ptp4l-master", "client", t.client.ifname, master=True)
        time.sleep(1.0)
        slave = t.start_ptp4l("ptp4l-slave", "lb", t.lb.ifname, master=False)
        time.sleep(seconds)
        t.stop_proc(slave)
        t.stop_proc(master)
    finally:
        eqxtopo.run(["ip", "-n", t.lb.ns, "addr", "del", "%s/24" % t.lb_ip, "dev",
                     t.lb.ifname], check=False)
    lines = ptp4l_offsets(slave)
    t0 = lines[0][0] if lines else 0
    later = [ln for ln in lines if ln[0] - t0 >= SETTLE_S - 2]
    res = {"label": label, "offset": stats([ln[1] for ln in later]),
           "delay": stats([ln[4] for ln in later]), "load": load_average()}
    print("%s: after %d s: %s; path delay %s; load %.2f" % (
        label, SETTLE_S, fmt(res["offset"]), fmt(res["delay"]), res["load"]))
    return res


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def too_noisy(baseline, res, late=False):
    """Why this machine cannot judge a timing bound now, or None."""
    why = []
    b = baseline["offset"]
    if b is None or b["sd"] > NOISY_SD_NS or abs(b["mean"]) > NOISY_MEAN_NS:
        why.append("ptp4l -> ptp4l itself: %s" % fmt(b))
    if res["load"] > NOISY_LOAD:
        why.append("load average %.2f" % res["load"])
    if late and res["late"] > NOISY_LATE:
        why.append("%.0f%% of Syncs read late by a descheduled worker" % (100 * res["late"]))
    return "; ".join(why) or None


def timing_check(c, ok, what, noisy):
    """A timing bound of issue 5: printed, never a failure. The project's rule is that
    tests fail on wrong state, never on a time measured on a shared machine; the
    figures and whether the bound was met are what the closing note and
    tests/bench/ptp_bench.py report."""
    if ok:
        print("MET: %s" % what, flush=True)
    elif noisy:
        print("MISSED (machine busy: %s): %s" % (noisy, what), flush=True)
    else:
        print("MISSED: %s" % what, flush=True)
    return ok


def _s(x):
    return "never" if x is None else "%.1f" % x


# -- tshark -----------------------------------------------------------------------

PTP_TYPES = {0x0: "Sync", 0x1: "Delay_Req", 0x8: "Follow_Up", 0x9: "Delay_Resp",
             0xb: "Announce"}


def tshark_check(c, pcap, lbmac):
    """Every PTP frame from equinox's MAC decodes without malformed/error notes."""
    fields = ["frame.number", "ptp.v2.messagetype", "_ws.malformed", "_ws.expert.severity"]
    cp = eqxtopo.run(["tshark", "-n", "-r", str(pcap), "-Y", "eth.src == %s" % lbmac,
                      "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
                      "-E", "aggregator=,"] + sum([["-e", f] for f in fields], []),
                     timeout=120, check=False)
    rows = [ln.split("|") for ln in cp.stdout.splitlines() if ln.strip()]
    ptp_rows = [r for r in rows if r[1]]
    # Expert severities: 0x00800000 note... 0x00600000 warn, 0x00800000 error (Wireshark
    # PI_*: chat 0x00200000, note 0x00400000, warn 0x00600000, error 0x00800000).
    bad = [r for r in ptp_rows if r[2] or any(int(x, 0) >= 0x00600000
                                              for x in r[3].split(",") if x)]
    not_ptp = [r for r in rows if not r[1]]
    types = sorted({PTP_TYPES.get(int(r[1], 0), r[1]) for r in ptp_rows})
    c.check(len(ptp_rows) > 100, "tshark decodes %d PTP frames equinox sent (of %d frames "
            "from its MAC)" % (len(ptp_rows), len(rows)), cp.stderr[-500:])
    c.check(not bad, "no PTP frame from equinox is malformed or has a warning/error note",
            bad[:5])
    c.check(set(PTP_TYPES.values()) <= set(types),
            "equinox sent Announce, Sync, Follow_Up, Delay_Req and Delay_Resp (%s)"
            % ", ".join(types))
    return not_ptp


# -- symmetric paths: VLAN and MPLS -----------------------------------------------------

# Delay_Req from a slave, 2002 of them at most, over the path given: "vlan" with a tag,
# "mpls" with one label, "plain" with neither.
PATH_PROBE = r"""
import struct
from scapy.contrib.mpls import MPLS
src, mode, arg, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
me = get_if_hwaddr("veth0")
def delay_req(seq):
    clock = bytes.fromhex(me.replace(":", "")[:6] + "fffe" + me.replace(":", "")[6:])
    return struct.pack("!BBHBBHq4s8sHHBb", 0x1, 2, 44, 0, 0, 0, 0, b"\0" * 4, clock, 1, seq,
                       1, 0x7f) + b"\0" * 10
for i in range(n):
    l3 = IP(src=src, dst="224.0.1.129", ttl=1) / UDP(sport=319, dport=319) / Raw(delay_req(i))
    if mode == "vlan":
        p = Ether(src=me, dst="01:00:5e:00:01:81") / Dot1Q(vlan=arg) / l3
    elif mode == "mpls":
        p = Ether(src=me, dst="01:00:5e:00:01:81", type=0x8847) / MPLS(label=arg, s=1, ttl=64) / l3
    else:
        p = Ether(src=me, dst="01:00:5e:00:01:81") / l3
    sendp(p, iface="veth0")
    time.sleep(0.02)
"""


def tshark_count(pcap, display_filter):
    cp = eqxtopo.run(["tshark", "-n", "-r", str(pcap), "-Y", display_filter, "-T", "fields",
                      "-e", "frame.number"], timeout=120, check=False)
    return len([ln for ln in cp.stdout.splitlines() if ln.strip()])


def default_idle():
    """The kernel's stamps do not depend on when a worker runs, and a worker that sleeps
    when idle leaves the CPU to the kernel's softirq work that carries our sends (busy
    polling on a 2-CPU machine delays it: ptp4l's offsets from an equinox master had an
    sd of 10 us with busy workers, 2 us with adaptive). TSC stamps are taken when the
    worker pulls the burst: a worker that sleeps would stamp late by up to its sleep."""
    return "adaptive" if kernel_stamps() else "busy"


def kernel_stamps():
    """True when equinox should take the kernel's stamps (software_stamps auto or kernel:
    every port here sits on a veth)."""
    return PTP_STAMPS in ("", "auto", "kernel")


def stamps_check(c, st, direction, label, at_least):
    """The stamps equinox used in one direction were the kernel's, not its fall-back."""
    if not kernel_stamps():
        return
    port, ctr = st["ports"]["p0"], st["counters"]
    got, missing = ctr["%s_kernel_stamps" % direction], ctr["%s_kernel_stamp_missing" % direction]
    c.check(port["%s_stamps" % direction] == "kernel" and got >= at_least and missing <= got // 10,
            "%s: %s stamps are the kernel's (%d, %d not found)" % (label, direction.upper(),
                                                                  got, missing),
            {k: v for k, v in ctr.items() if "stamp" in k})


def path_check(c, t, kind, n=10):
    """equinox as master on a VLAN-pinned or MPLS path: what it sends carries the tag or
    label, a Delay_Req over the configured path is answered over it, one over another
    path is dropped, counted and raises path_mismatch."""
    cfg = t.ptp_config("master")
    if kind == "vlan":
        cfg["ptp"]["ports"][0]["path"] = {"vlan": 100}
        good, bad, expect = ("vlan", 100), ("plain", 0), "vlan_mismatch"
        on_wire = "vlan.id == 100"
    else:
        cfg["ptp"]["ports"][0]["path"] = {"mpls": {"tx_labels": [1001], "rx_labels": [2002]}}
        good, bad, expect = ("mpls", 2002), ("mpls", 2003), "mpls_label_mismatch"
        on_wire = "mpls.label == 1001 && mpls.bottom == 1"
    pcap = Path(t.workdir) / ("path-%s.pcapng" % kind)
    cap = t.start_capture("client", str(pcap), "ether src %s" % t.lb.mac)
    t.start_equinox(cfg)
    time.sleep(1.5)
    before = t.ptp()["ports"]["p0"]
    t.scapy("client", PATH_PROBE, args=[t.client.ip, good[0], good[1], n])
    t.scapy("client", PATH_PROBE, args=[t.client.ip, bad[0], bad[1], n])
    time.sleep(1.0)
    after = t.ptp()
    stamps_check(c, after, "tx", "%s path" % kind, 5)
    stamps_check(c, after, "rx", "%s path" % kind, n)
    t.stop_equinox()
    time.sleep(0.5)
    t.stop_proc(cap, sig=signal.SIGINT)
    port = after["ports"]["p0"]
    answered = port["tx"].get("delay_resp", 0) - before["tx"].get("delay_resp", 0)
    dropped = port["drops"].get(expect, 0) - before["drops"].get(expect, 0)
    ptp_frames = tshark_count(pcap, "ptp")
    pinned = tshark_count(pcap, "ptp && %s" % on_wire)
    resp = tshark_count(pcap, "ptp.v2.messagetype == 0x09 && %s" % on_wire)
    c.check(ptp_frames > 10 and pinned == ptp_frames,
            "%s path: all %d PTP frames equinox sent carry %s (%d do)" % (kind, ptp_frames,
                                                                          on_wire, pinned))
    c.check(answered == n and resp == n,
            "%s path: %d Delay_Req over the configured path answered over it (%d, %d seen)"
            % (kind, n, answered, resp))
    c.check(dropped == n, "%s path: %d Delay_Req over another path dropped as %s (%d)"
            % (kind, n, expect, dropped), port["drops"])
    c.check(port["alarms"]["path_mismatch"]["active"] and "p0:path_mismatch" in after["alarms"],
            "%s path: the path_mismatch alarm is raised" % kind, port["alarms"])


# -- malformed input -------------------------------------------------------------------

BAD_PTP = r"""
lbmac, src, domain = sys.argv[1], sys.argv[2], int(sys.argv[3])
import struct
def hdr(mtype, length, version=2, dom=domain, seq=1):
    return struct.pack("!BBHBBHq4s8sHHBb", mtype, version, length, dom, 0, 0, 0, b"\0" * 4,
                       bytes.fromhex("02000afffee30099"), 1, seq, 5, 1)
def announce(dom):
    body = b"\0" * 10 + struct.pack("!hBBBBHB8sHB", 37, 0, 100, 248, 0xfe, 0xffff, 100,
                                    bytes.fromhex("02000afffee30099"), 0, 0xa0)
    return hdr(0xb, 64, dom=dom) + body
cases = {
    "truncated": hdr(0xb, 64)[:20],
    "bad_version": hdr(0xb, 64, version=1) + b"\0" * 30,
    "bad_length": hdr(0x0, 200) + b"\0" * 10,
    "foreign_domain": announce(domain + 7),
}
eth = Ether(src=get_if_hwaddr("veth0"), dst="01:00:5e:00:01:81")
for name, payload in cases.items():
    port = 319 if payload[0] & 0xf == 0 else 320
    p = eth / IP(src=src, dst="224.0.1.129", ttl=1) / UDP(sport=port, dport=port) / Raw(payload)
    sendp(p, iface="veth0", count=int(sys.argv[4]), inter=0.02)
"""


def malformed_check(c, t, n=10):
    cfg = t.ptp_config("master")
    t.start_equinox(cfg)
    before = t.ptp()["ports"]["p0"]["drops"]
    t.scapy("client", BAD_PTP, args=[t.lb.mac, t.client.ip, DOMAIN, n])
    time.sleep(1.0)
    after = t.ptp()["ports"]["p0"]["drops"]
    for name in ("msg_too_short", "bad_version", "bad_message_length", "wrong_domain"):
        got = after.get(name, 0) - before.get(name, 0)
        c.check(got == n, "%d %s PTP messages dropped and counted under %s" % (n, name, name),
                "%d counted; drops %s" % (got, after))
    c.check(t.equinox_alive(), "equinox keeps running after malformed PTP input")
    tele = t.telemetry("/equinox/ptp")
    tp = tele.get("/equinox/ptp") or {}
    c.check(tp.get("enabled") == 1 and "ports" in tp and "clock_vs_system_ns" in tp,
            "telemetry /equinox/ptp shows the clock and its ports", sorted(tp)[:20])
    t.stop_equinox()


def body(c):
    with PtpTopology() as t:
        pcap = Path(t.workdir) / "ptp.pcapng"
        cap = t.start_capture("client", str(pcap), "udp port 319 or udp port 320")
        # chronyd itself when it is installed, else a socket that reads what it would.
        found = find_chronyd()
        sock = Path(t.workdir) / "chrony.sock"
        chrony = Chronyd(t, sock, *found) if found else SockRefclock(sock)
        print("SOCK refclock: %s" % ("chronyd %s" % found[0] if found else
                                     "a stand-in socket (chronyd is not installed)"))

        # 0. what ptp4l does against itself here, now: the yardstick for "too busy"
        baseline = run_ptp4l_pair(t, RUN_S)

        # 1. ptp4l master -> equinox slave
        for attempt in (1, 2):
            res = run_slave(t, RUN_S, chrony=chrony, label="equinox slave (try %d)" % attempt)
            if res["t_truth"] is not None and res["t_truth"] < CONVERGE_S:
                break
        noisy = too_noisy(baseline, res, late=True)
        st = res["state"]
        port = st["ports"]["p0"]
        ptp4l_id = clock_id_from_mac(t.client.mac)
        c.check(port["state"] == "slave", "equinox's port is SLAVE under ptp4l", port["state"])
        c.check(st["master"]["grandmaster"] == ptp4l_id,
                "equinox's grandmaster is ptp4l (%s)" % ptp4l_id, st["master"])
        c.check(st["servo_state"] == "locked", "equinox's servo is locked", st["servo_state"])
        c.check(res["first_lock"] is not None, "the servo locked (%s s after start)"
                % _s(res["first_lock"]))
        stamps_check(c, st, "rx", "equinox slave", 20)
        stamps_check(c, st, "tx", "equinox slave", 5)
        c.check(st["clock"]["steps"] >= 1,
                "the servo stepped the 1 ms away (%d steps)" % st["clock"]["steps"])
        # The clock's error is what converges; the offsets it measures carry every
        # late stamp (the servo leaves those out) and are printed above.
        timing_check(c, res["t_truth"] is not None and res["t_truth"] < CONVERGE_S,
                     "1 ms / +50 ppm off at start, equinox's clock is within %d ns of the "
                     "master's (CLOCK_REALTIME; 95%% of samples) after %s s (< %.0f s; for "
                     "good after %s s)" % (CONVERGE_NS, _s(res["t_truth"]), CONVERGE_S,
                                          _s(res["t_truth_strict"])), noisy)

        # chronyd's SOCK refclock got the locked samples
        sent = st["chrony"]["sent"]
        c.check(sent > 10 and st["chrony"]["errors"] == 0,
                "equinox sent %d samples to the SOCK refclock, none failed" % sent, st["chrony"])
        if isinstance(chrony, SockRefclock):
            cs = chrony.samples
            c.check(len(cs) > 10 and all(s["magic"] == CHRONY_MAGIC for s in cs),
                    "%d SOCK refclock samples with chrony's magic reached the socket" % len(cs),
                    chrony.bad[:3])
            late = [s for s in cs if s["tv"] - res["start"] >= SETTLE_S]
            c.check(late and all(s["pulse"] == 0 and s["leap"] == 0 for s in late),
                    "SOCK samples are full time samples (no pulse, no leap)")
            c.check(late and max(abs(s["offset"]) for s in late) < 1e-3,
                    "SOCK samples after %d s: the host clock within 1 ms of equinox's "
                    "(max |%.0f| ns)" % (SETTLE_S, max((abs(s["offset"]) for s in late),
                                                       default=0) * 1e9))
            chrony.close()
        else:
            srcs = res.get("chronyd_sources", "")
            print(srcs)
            c.check(re.search(r"^#\* PTP ", srcs, re.M),
                    "chronyd (-x) selected equinox's SOCK refclock as its source", srcs)
            chrony.close(t)

        # 2. equinox master -> ptp4l slave (free_running)
        for attempt in (1, 2):
            mres = run_master(t, RUN_S, label="equinox master (try %d)" % attempt)
            if mres["offset"] is not None and abs(mres["offset"]["mean"]) < MASTER_MEAN_NS:
                break
        mnoisy = too_noisy(baseline, mres)
        mst = mres["state"]
        c.check(mst["ports"]["p0"]["state"] == "master", "equinox's port is MASTER",
                mst["ports"]["p0"]["state"])
        c.check(mst["ports"]["p0"]["rx"].get("delay_req", 0) > 5,
                "equinox answered ptp4l's Delay_Req (%d)" % mst["ports"]["p0"]["rx"].get(
                    "delay_req", 0))
        stamps_check(c, mst, "tx", "equinox master", 20)
        stamps_check(c, mst, "rx", "equinox master", 5)
        c.check(mst["clock"]["follows_host_clock"],
                "as grandmaster equinox follows the host clock (last %d ns off)"
                % mst["clock"]["host_clock_offset_ns"])
        c.check(mres["offset"] is not None and mres["offset"]["n"] >= 5,
                "ptp4l slaved to equinox and reported offsets",
                Path(mres["slave_log"].logpath).read_text()[-800:])
        timing_check(c, mres["offset"] is not None and
                     abs(mres["offset"]["mean"]) < MASTER_MEAN_NS,
                     "ptp4l's offsets from equinox: |mean| < %d ns (%s)"
                     % (MASTER_MEAN_NS, fmt(mres["offset"])), mnoisy)

        # 3. tshark decodes what equinox sent
        t.stop_proc(cap, sig=signal.SIGINT)
        tshark_check(c, pcap, t.lb.mac)

        # 4. symmetric paths
        path_check(c, t, "vlan")
        path_check(c, t, "mpls")

        # 5. malformed input
        malformed_check(c, t)


if __name__ == "__main__":
    eqxtopo.main("test_ptp", body)
