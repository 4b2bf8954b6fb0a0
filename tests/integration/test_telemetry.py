#!/usr/bin/python3
"""DPDK telemetry agrees with equinoxctl, and every drop is counted by name.

- `dpdk-telemetry.py -f PREFIX` answers /equinox/stats and /equinox/vips; every
  counter it shares with `equinoxctl stats|vips --json` matches (read between two
  equinoxctl reads, so ctl_before <= telemetry <= ctl_after);
- frames sent with scapy from the client to equinox's MAC are dropped under a named
  counter that rises by the number sent:
    * TCP to an address equinox does not own      -> a "no VIP / not local" counter,
    * an Ethernet frame with a truncated IPv4 header -> a "truncated" counter,
    * an IPv4 packet to the VIP with a truncated TCP header -> a "truncated" counter;
  the drops show up by the same name in telemetry.
"""

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "telem"
OCTET = 214
N = 25

UNKNOWN_DST = r"""
mac, src, dst, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = (Ether(src=get_if_hwaddr("veth0"), dst=mac) / IP(src=src, dst=dst) /
     TCP(sport=40001, dport=80, flags="S"))
sendp(p, iface="veth0", count=n, inter=0.01)
"""

TRUNC_IP = r"""
mac, n = sys.argv[1], int(sys.argv[2])
# EtherType IPv4 followed by 10 bytes: not even a minimal IPv4 header. (The source
# MAC must be set: scapy leaves it 00:00:00:00:00:00 without an IP layer, and the
# bridge drops such frames.)
p = (Ether(src=get_if_hwaddr("veth0"), dst=mac, type=0x0800) /
     Raw(b"\x45\x00\x00\x28\x00\x01\x00\x00\x40\x06"))
sendp(p, iface="veth0", count=n, inter=0.01)
"""

TRUNC_TCP = r"""
mac, src, vip, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# A valid IPv4 header (proto TCP, to the VIP) carrying 8 of TCP's 20 header bytes.
tcp8 = bytes(TCP(sport=40002, dport=80, flags="S"))[:8]
p = Ether(src=get_if_hwaddr("veth0"), dst=mac) / IP(src=src, dst=vip, proto=6) / Raw(tcp8)
sendp(p, iface="veth0", count=n, inter=0.01)
"""


def flatten(value, path=""):
    """Numeric leaves of a JSON value as {path: number}; lists of objects are keyed
    by their "address" or "name" field so that order does not matter."""
    out = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, "%s.%s" % (path, k) if path else str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            key = str(i)
            if isinstance(v, dict):
                key = str(v.get("address", v.get("name", i)))
            out.update(flatten(v, "%s[%s]" % (path, key)))
    elif isinstance(value, bool):
        pass
    elif isinstance(value, (int, float)):
        out[path] = value
    return out


ADDR_KEY = re.compile(r"^backends?[_.\[]?(\d+[_.]\d+[_.]\d+[_.]\d+)\]?[_.](\w+)$")


def canon_vips(value):
    """VIP counters as {"<vip name>.<field>": n, "<vip name>.<backend address>.<field>": n}.

    Accepts equinoxctl's shape ({"vips": [{"name", ..., "backends": [...]}]}) and the
    flatter shapes telemetry dictionaries allow: {"<name>": {"packets": n,
    "backends_10_0_0_21_packets": n, ...}} or with a nested backends list/dict."""
    out = {}
    if isinstance(value, dict) and isinstance(value.get("vips"), (list, dict)):
        value = value["vips"]
    if isinstance(value, list):
        value = {str(v.get("name", i)): v for i, v in enumerate(value) if isinstance(v, dict)}
    if not isinstance(value, dict):
        return out
    for name, vip in value.items():
        if not isinstance(vip, dict):
            continue
        for k, v in vip.items():
            if k == "backends" and isinstance(v, (list, dict)):
                items = v if isinstance(v, list) else list(v.values())
                for b in items:
                    if isinstance(b, dict):
                        for bk, bv in b.items():
                            if isinstance(bv, int) and not isinstance(bv, bool):
                                out["%s.%s.%s" % (name, b.get("address"), bk)] = bv
                continue
            if not isinstance(v, int) or isinstance(v, bool):
                continue
            m = ADDR_KEY.match(k)
            if m:
                addr = re.sub(r"[_]", ".", m.group(1))
                out["%s.%s.%s" % (name, addr, m.group(2))] = v
            else:
                out["%s.%s" % (name, k)] = v
    return out


def drops(stats):
    d = stats.get("drops", {})
    return {k: v for k, v in d.items() if isinstance(v, int)}


def rose(before, after, pattern, n, exclude=None):
    """Names of counters matching pattern that rose by at least n."""
    out = []
    for k, v in after.items():
        if re.search(pattern, k) and (exclude is None or not re.search(exclude, k)):
            if v - before.get(k, 0) >= n:
                out.append("%s +%d" % (k, v - before.get(k, 0)))
    return out


def compare(c, what, ctl_before, tele, ctl_after):
    a, t, b = flatten(ctl_before), flatten(tele), flatten(ctl_after)
    common = sorted(set(a) & set(t) & set(b))
    c.check(len(common) >= 3, "%s: telemetry shares counters with equinoxctl (%d: %s)"
            % (what, len(common), ", ".join(common[:8])),
            "telemetry keys %s" % sorted(t)[:20])
    bad = ["%s: ctl %s..%s telemetry %s" % (k, a[k], b[k], t[k]) for k in common
           if not (min(a[k], b[k]) <= t[k] <= max(a[k], b[k]))]
    c.check(common and not bad, "%s: telemetry counters match equinoxctl" % what, bad[:6])
    return common


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=2) as t:
        t.start_equinox(t.config())
        results = t.curl_many(20, per_request_timeout=10)
        c.check(all(ok for ok, _ in results), "20 requests through the VIP succeed",
                [r for ok, r in results if not ok][:3])
        time.sleep(0.5)

        # telemetry vs equinoxctl
        s1 = t.stats()
        v1 = t.vips()
        tele = t.telemetry("/equinox/stats", "/equinox/vips")
        s2 = t.stats()
        v2 = t.vips()
        c.check("/equinox/stats" in tele and "/equinox/vips" in tele,
                "dpdk-telemetry.py answers /equinox/stats and /equinox/vips", list(tele))
        ts = tele.get("/equinox/stats") or {}
        tv = tele.get("/equinox/vips") or {}
        common = compare(c, "/equinox/stats", s1, ts, s2)
        c.check("rx_packets" in common and "tx_packets" in common,
                "/equinox/stats has rx_packets and tx_packets", common)
        # vips: ctl says {"vips": [...]}; telemetry may key VIPs by name and flatten.
        fv1, fv2, ftv = canon_vips(v1), canon_vips(v2), canon_vips(tv)
        common = sorted(set(fv1) & set(ftv) & set(fv2))
        pk = [k for k in common if k.endswith(".packets")]
        c.check(len(pk) >= 1 + len(t.backends),
                "/equinox/vips has the VIP's and every backend's packet counter (%s)"
                % ", ".join(pk), sorted(ftv)[:12])
        bad = ["%s: ctl %s..%s telemetry %s" % (k, fv1[k], fv2[k], ftv[k]) for k in common
               if not (min(fv1[k], fv2[k]) <= ftv[k] <= max(fv1[k], fv2[k]))]
        c.check(common and not bad, "/equinox/vips counters match equinoxctl (%d)"
                % len(common), bad[:6])

        lbmac = t.lb.mac
        # 1. to an address equinox does not own
        d0 = drops(t.stats())
        t.scapy("client", UNKNOWN_DST, args=[lbmac, t.client.ip, "%s.77" % t.net, N])
        time.sleep(1.0)
        d1 = drops(t.stats())
        hits = rose(d0, d1, r"vip|local|unknown|route|dst|addr|host", N, exclude=r"trunc")
        c.check(hits, "TCP to an unowned address counted as a named drop (%s)" % ", ".join(hits),
                "before %s after %s" % (d0, d1))

        # 2. truncated IPv4 header
        t.scapy("client", TRUNC_IP, args=[lbmac, N])
        time.sleep(1.0)
        d2 = drops(t.stats())
        hits = rose(d1, d2, r"trunc|short|runt|malformed|len|bad_ip|ipv4", N)
        c.check(hits, "truncated IPv4 header counted as a named drop (%s)" % ", ".join(hits),
                "before %s after %s" % (d1, d2))

        # 3. truncated TCP header to the VIP
        t.scapy("client", TRUNC_TCP, args=[lbmac, t.client.ip, t.vip, N])
        time.sleep(1.0)
        d3 = drops(t.stats())
        hits = rose(d2, d3, r"trunc|short|runt|malformed|len|l4|tcp", N)
        c.check(hits, "truncated TCP header counted as a named drop (%s)" % ", ".join(hits),
                "before %s after %s" % (d2, d3))
        c.check(sum(d3.values()) - sum(d0.values()) >= 3 * N,
                "drop counters rose by at least the %d frames sent" % (3 * N),
                sum(d3.values()) - sum(d0.values()))

        # the same names in telemetry
        tele = t.telemetry("/equinox/stats")
        tdrops = (tele.get("/equinox/stats") or {}).get("drops", {})
        missing = [k for k, v in d3.items() if v > d0.get(k, 0) and k not in tdrops]
        c.check(isinstance(tdrops, dict) and not missing,
                "telemetry shows the drops by the same names", missing or tdrops)
        wrong = [k for k in tdrops if k in d3 and tdrops[k] < d3[k]]
        c.check(not wrong, "telemetry drop counts are current", wrong)

        c.check(t.equinox_alive(), "equinox survives malformed input")
        ok, out = t.curl(timeout=10)
        c.check(ok, "VIP still serves after malformed input", out)
        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
