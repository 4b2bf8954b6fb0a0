#!/usr/bin/python3
"""PTP benchmark: equinox against linuxptp's ptp4l, software timestamps on veth.

Runs on one L2 segment (tests/integration/eqxtopo.py, topology "ptpb", 10.229.0.0/24),
each set-up for --seconds (60), and prints, over what comes after the first --settle
(10) seconds, the mean, standard deviation, p99 and max of the offset, side by side:

  ptp4l -> ptp4l     ptp4l master, ptp4l slave (free_running 1) on equinox's interface
                     with a kernel address: the slave's offsets are its measurement error
                     alone (both ends read the same host clock). The reference.
  ptp4l -> equinox   ptp4l master, equinox slave started 1 ms and +50 ppm off: its clock
                     minus the master's (clock_vs_system_ns: ptp4l serves CLOCK_REALTIME),
                     and the offset equinox itself measures; and how long it took to be
                     within 10 us for good.
  equinox -> ptp4l   equinox master (following the host clock), ptp4l slave with
                     free_running 1: the offsets ptp4l measures.

ptp4l with free_running prints one offset a second (its freq_est_interval cannot go
below 0), equinox keeps every servo sample (8 a second here). ptp4l's own convergence
cannot be measured here: it would have to step the host clock, which no test does.
Never fails on a figure; run as root:

    EQX_BUILD_DIR=build tests/bench/ptp_bench.py [--seconds 60] [--idle auto|busy|adaptive|both]
        [--device af_packet|pcap|both] [--stamps kernel|pmd|tsc|both]

--stamps sets ptp.software_stamps: "both" (the default) runs equinox with the kernel's
stamps of its frames and again with the TSC read at the worker's bursts, side by side.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import eqxtopo  # noqa: E402
import test_ptp as T  # noqa: E402


def ptp4l_pair(t, seconds):
    """ptp4l master in the client namespace, ptp4l slave on eqx-lb0 (kernel address)."""
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
    lines = T.ptp4l_offsets(slave)
    t0 = lines[0][0] if lines else 0
    return {"offset": T.stats([ln[1] for ln in lines if ln[0] - t0 >= T.SETTLE_S - 2]),
            "delay": T.stats([ln[4] for ln in lines if ln[0] - t0 >= T.SETTLE_S - 2])}


def row(name, s, conv=""):
    if s is None:
        return "| %-52s | %6s | %9s | %9s | %9s | %9s | %s |" % (name, 0, "-", "-", "-", "-",
                                                                 conv)
    return "| %-52s | %6d | %+9.2f | %9.2f | %9.2f | %9.2f | %s |" % (
        name, s["n"], s["mean"] / 1e3, s["sd"] / 1e3, s["p99"] / 1e3, s["max"] / 1e3, conv)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--settle", type=int, default=10)
    ap.add_argument("--idle", choices=["auto", "busy", "adaptive", "both"], default="auto",
                    help="equinox's dataplane.idle; auto: adaptive with kernel stamps (a "
                    "busy worker delays the kernel's work for our sends), busy with TSC "
                    "stamps (a worker that sleeps stamps late)")
    ap.add_argument("--device", choices=["af_packet", "pcap", "both"], default="af_packet",
                    help="equinox's port: net_af_packet (the worker's TSC stamps) or "
                    "net_pcap (the kernel's RX stamps)")
    ap.add_argument("--stamps", choices=["kernel", "pmd", "tsc", "both"], default="both",
                    help="ptp.software_stamps: the kernel's stamps of the frames, the "
                    "PMD's (or the TSC), the TSC at the worker's bursts; both = kernel and tsc")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    T.SETTLE_S = args.settle
    def idles(stamp):
        if args.idle == "auto":
            return ["adaptive" if stamp == "kernel" else "busy"]
        return ["busy", "adaptive"] if args.idle == "both" else [args.idle]

    devices = ["af_packet", "pcap"] if args.device == "both" else [args.device]
    stamps = ["kernel", "tsc"] if args.stamps == "both" else [args.stamps]
    runs = [("%s/%s" % (d, s), i) for d in devices for s in stamps for i in idles(s)]
    out = {}
    with T.PtpTopology("ptpb", 229) as t:
        out["ptp4l->ptp4l"] = ptp4l_pair(t, args.seconds)
        for dev, idle in runs:
            key = "%s, %s" % (dev, idle)
            T.PTP_DEVICE = "net_pcap0,iface=%s" if dev.startswith("pcap") else ""
            T.PTP_STAMPS = dev.split("/")[1]
            sres = T.run_slave(t, args.seconds, idle=idle, label="ptp4l -> equinox (%s)" % key)
            mres = T.run_master(t, args.seconds, idle=idle, label="equinox -> ptp4l (%s)" % key)
            out["ptp4l->equinox/%s" % key] = {
                "truth": sres["truth"], "offset": sres["offset"], "delay": sres["delay"],
                "converged_s": sres["t_truth"], "converged_strict_s": sres["t_truth_strict"],
                "first_lock_s": sres["first_lock"], "sync_read_late": sres["late"]}
            out["equinox->ptp4l/%s" % key] = {"offset": mres["offset"]}

    print()
    print("After the first %d s of %d s; in us. Offsets are slave - master." % (
        args.settle, args.seconds))
    print()
    print("| %-52s | %6s | %9s | %9s | %9s | %9s | %s |" % (
        "set-up: figure", "n", "mean", "sd", "p99 |x|", "max |x|", "within 10 us after"))
    print("|%s|%s|%s|%s|%s|%s|%s|" % ("-" * 54, "-" * 8, "-" * 11, "-" * 11, "-" * 11,
                                      "-" * 11, "-" * 20))
    print(row("ptp4l -> ptp4l: ptp4l's offset", out["ptp4l->ptp4l"]["offset"],
              "(not measurable: free_running)"))
    for dev, idle in runs:
        key = "%s, %s" % (dev, idle)
        s = out["ptp4l->equinox/%s" % key]
        conv = "never" if s["converged_s"] is None else "%.1f s (95%%)" % s["converged_s"]
        if s["converged_strict_s"] is not None:
            conv += ", %.1f s (all)" % s["converged_strict_s"]
        print(row("ptp4l -> equinox (%s): clock - master" % key, s["truth"], conv))
        print(row("ptp4l -> equinox (%s): its own offset" % key, s["offset"], ""))
        print(row("equinox (%s) -> ptp4l: ptp4l's offset" % key,
                  out["equinox->ptp4l/%s" % key]["offset"], ""))
    print()
    print("mean path delay: ptp4l -> ptp4l %s" % T.fmt(out["ptp4l->ptp4l"]["delay"]))
    for dev, idle in runs:
        key = "%s, %s" % (dev, idle)
        s = out["ptp4l->equinox/%s" % key]
        print("mean path delay: ptp4l -> equinox (%s) %s; Syncs read late: %.0f%%" % (
            key, T.fmt(s["delay"]), 100 * s["sync_read_late"]))
    print("load average at the end: %.2f" % T.load_average())
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    if eqxtopo.os.geteuid() != 0:
        print("ptp_bench.py needs root (network namespaces)")
        sys.exit(77)
    main()
