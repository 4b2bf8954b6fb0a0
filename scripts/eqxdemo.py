#!/usr/bin/python3
"""The equinox demo: a client, equinox and three HTTP backends in network namespaces.

    client 10.210.0.1 --HTTP--> VIP 10.210.0.100:80 (equinox, 10.210.0.10)
                                   --IPIP--> b1 10.210.0.21, b2 .22, b3 .23
    backends answer the client directly from the VIP (direct server return)

Run through scripts/demo (which installs and builds first). Drives curl requests at
the VIP from the client, shows once a second how they spread over the backends and
what equinox counts (`equinoxctl vips --json`), and removes everything it made when
it stops: after --duration seconds, on Ctrl-C, or on error.
"""

import argparse
import json
import sys
import threading
import time
from collections import Counter, deque
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import eqxtopo  # noqa: E402

NAME = "demo"
OCTET = 210
DEMO_SOCKET = "/run/equinox/eqx-demo.sock"


class Driver(threading.Thread):
    """Sends one curl request (one new connection) at a time, at `rate` per second."""

    def __init__(self, topo, rate):
        super().__init__(daemon=True)
        self.topo = topo
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.sent = 0
        self.ok = 0
        self.failed = 0
        self.by_backend = Counter()
        self.recent = deque(maxlen=50)
        self.last_error = ""

    def run(self):
        while not self.stop_event.is_set():
            t0 = time.monotonic()
            try:
                ok, body = self.topo.curl(timeout=3)
            except Exception as e:  # noqa: BLE001 - keep driving, show the error
                ok, body = False, str(e)
            with self.lock:
                self.sent += 1
                if ok:
                    self.ok += 1
                    self.by_backend[body] += 1
                    self.recent.append(body)
                elif body.startswith("curl exit -"):
                    # curl killed by a signal: the user's Ctrl-C, not a failed request.
                    self.sent -= 1
                else:
                    self.failed += 1
                    self.last_error = body
            wait = self.interval - (time.monotonic() - t0)
            if wait > 0:
                self.stop_event.wait(wait)

    def snapshot(self):
        with self.lock:
            return (self.sent, self.ok, self.failed, Counter(self.by_backend),
                    Counter(self.recent), self.last_error)


def bar(fraction, width=30):
    n = int(round(fraction * width))
    return "#" * n + "." * (width - n)


def read_counters(topo):
    try:
        return topo.vips(), topo.stats(), ""
    except Exception as e:  # noqa: BLE001 - show it, keep going
        return None, None, str(e).splitlines()[0]


def render(topo, driver, started, duration, vips, stats, err):
    sent, ok, failed, by_backend, recent, last_error = driver.snapshot()
    elapsed = time.monotonic() - started
    lines = []
    limit = "%ds" % duration if duration > 0 else "until Ctrl-C"
    lines.append("equinox demo   elapsed %3.0fs (%s)   Ctrl-C stops and cleans up"
                 % (elapsed, limit))
    lines.append("client %s --curl--> VIP %s:80 (equinox %s) --IPIP--> backends --DSR--> client"
                 % (topo.client.ip, topo.vip, topo.lb_ip))
    lines.append("")
    lines.append("requests: %d sent, %d ok, %d failed  (%.1f/s)%s"
                 % (sent, ok, failed, sent / elapsed if elapsed > 0 else 0,
                    ("   last error: " + last_error[:60]) if last_error else ""))
    lines.append("")
    counters = {}
    vip = None
    if vips:
        for v in vips.get("vips", []):
            if v.get("address") == topo.vip:
                vip = v
        for b in (vip or {}).get("backends", []):
            counters[b.get("address")] = b
    lines.append("%-16s %7s %6s  %-30s  %-8s %9s %10s %7s" % (
        "backend", "served", "share", "spread of all requests", "state", "packets",
        "bytes", "flows"))
    total_ok = max(ok, 1)
    for h in topo.backends:
        n = by_backend.get(h.role, 0)
        b = counters.get(h.ip, {})
        lines.append("%-3s %-12s %7d %5.1f%%  %-30s  %-8s %9s %10s %7s" % (
            h.role, h.ip, n, 100.0 * n / total_ok, bar(n / total_ok),
            b.get("state", "-"), b.get("packets", "-"), b.get("bytes", "-"),
            b.get("flows", "-")))
    lines.append("last %d requests: %s" % (sum(recent.values()),
                 "  ".join("%s %d" % (k, recent[k]) for k in sorted(recent))))
    lines.append("")
    if vip:
        lines.append("VIP %s %s %s/%s: packets %s  bytes %s  flows %s" % (
            vip.get("name"), vip.get("address"), vip.get("protocol"), vip.get("port"),
            vip.get("packets"), vip.get("bytes"), vip.get("flows")))
    if stats:
        drops = stats.get("drops", {})
        nz = {k: v for k, v in drops.items() if v}
        lines.append("equinox %s generation %s: rx %s  tx %s  drops %s" % (
            stats.get("instance", ""), stats.get("generation"), stats.get("rx_packets"),
            stats.get("tx_packets"), json.dumps(nz) if nz else "none"))
    if err:
        lines.append("equinoxctl: %s" % err)
    return lines


def main():
    ap = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=30,
                    help="seconds to run (0: until Ctrl-C); default 30")
    ap.add_argument("--rate", type=float, default=5, help="requests per second; default 5")
    ap.add_argument("--config", default=str(REPO / "config" / "demo.json"),
                    help="equinox config (default config/demo.json)")
    args = ap.parse_args()

    if not eqxtopo.equinox_bin().exists():
        print("demo: %s is not built; run scripts/build" % eqxtopo.equinox_bin(),
              file=sys.stderr)
        return 1
    tty = sys.stdout.isatty()
    driver = None
    status = 0
    try:
        with eqxtopo.Topology(NAME, OCTET, backends=3) as t:
            cfg_path = Path(args.config)
            if not cfg_path.exists():
                print("demo: %s not found, using the harness's equivalent config" % cfg_path)
                cfg = t.config()
                cfg["control"]["socket"] = DEMO_SOCKET
                cfg_path = t.write_config(cfg)
            t.start_equinox(path=cfg_path)
            driver = Driver(t, args.rate)
            driver.start()
            started = time.monotonic()
            try:
                while args.duration <= 0 or time.monotonic() - started < args.duration:
                    time.sleep(1.0)
                    if not t.equinox_alive():
                        raise eqxtopo.EquinoxDied("equinox exited:\n%s" % t.equinox.tail())
                    vips, stats, err = read_counters(t)
                    lines = render(t, driver, started, args.duration, vips, stats, err)
                    if tty:
                        sys.stdout.write("\x1b[H\x1b[2J" + "\n".join(lines) + "\n")
                        sys.stdout.flush()
                    else:
                        sent, ok, failed, by_backend, _, _ = driver.snapshot()
                        print("[%3.0fs] %d sent, %d ok, %d failed | %s" % (
                            time.monotonic() - started, sent, ok, failed,
                            "  ".join("%s %d" % (h.role, by_backend.get(h.role, 0))
                                      for h in t.backends)), flush=True)
            except (KeyboardInterrupt, SystemExit):
                print("\ndemo: stopping")
            driver.stop_event.set()
            driver.join(timeout=10)
            vips, stats, err = read_counters(t)
            lines = render(t, driver, started, args.duration, vips, stats, err)
            rc = t.stop_equinox()
            sent, ok, failed, by_backend, _, _ = driver.snapshot()
            print("\n=== demo summary ===")
            print("\n".join(lines[3:]))
            print("equinox exited with status %s" % rc)
            if failed or rc != 0:
                status = 1
    except eqxtopo.TopoError as e:
        print("demo failed: %s" % e, file=sys.stderr)
        status = 1
    finally:
        if driver is not None:
            driver.stop_event.set()
    left = [n for n in eqxtopo.netns_list() if n.startswith("eqx-%s-" % NAME)]
    print("cleanup: %s" % ("namespaces left: " + " ".join(left) if left
                           else "all demo namespaces and processes removed"))
    return status


if __name__ == "__main__":
    sys.exit(main())
