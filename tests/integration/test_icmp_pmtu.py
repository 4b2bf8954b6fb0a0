#!/usr/bin/python3
"""ICMP errors follow their flow, and path MTU discovery works through equinox.

(a) A TCP connection through the VIP stays open (one GET answered, then idle). The
    client namespace, acting as a router on the return path, sends with scapy an
    ICMP destination unreachable / fragmentation needed (type 3 code 4, MTU 1400)
    to the VIP, quoting a packet from VIP:80 to client:port of that connection
    (with the backend's current sequence number). A capture on every backend's TUN
    device must show it on THAT connection's backend only; that backend's kernel
    takes it (its route cache toward the client shows MTU 1400); stats
    icmp_errors_forwarded rises. The same with ICMPv6 packet too big for the IPv6
    VIP, and with two connections on two different backends at once.
(b) equinox's port MTU is 1500 (ports[].mtu), the client's too: a 200 KB POST's
    full-size segments do not fit once tunnelled. equinox answers with ICMP frag
    needed / ICMPv6 packet too big from the VIP, the client lowers its path MTU
    (its route cache shows 1480 for IPIP over IPv4, 1460 over IPv6, 1468 / 1448 for
    GUE) and the upload arrives whole, for ipip and gue over both families;
    icmp_too_big_sent rises, mtu_exceeded does not.
"""

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "pmtu"
OCTET = 223
UPLOAD = 200 * 1024
ICMP_MTU = 1400


def route_mtu(t, role, family, dst):
    cp = t.run_in(role, ["ip", "-%d" % family, "route", "get", dst])
    m = re.search(r"\bmtu (\d+)", cp.stdout)
    return int(m.group(1)) if m else None, cp.stdout.strip().replace("\n", " ")


def part_a(c, t):
    router = {4: "%s.254" % t.net, 6: "%s:254" % t.net6}
    for family in (4, 6):
        caps = {}
        for b in t.backend_names():
            pcap = str(Path(t.workdir) / ("%s-icmp%d.pcap" % (b, family)))
            caps[b] = (t.start_capture(b, pcap, "icmp or icmp6", iface="dtun0"), pcap)
        # Two connections on two different backends; the error is about the first.
        conns = []
        for i in range(12):
            p, info = t.hold_connection("hold%d-%d" % (family, i), family)
            if conns and info["backend"] == conns[0][1]["backend"]:
                p.stop_file.write_text("stop\n")
                continue
            conns.append((p, info))
            if len(conns) == 2:
                break
        c.check(len(conns) == 2, "IPv%d: two open connections on two backends (%s)"
                % (family, [i["backend"] for _, i in conns]))
        target, other = conns[0][1], (conns[1][1] if len(conns) > 1 else None)
        x = target["backend"]
        client = t.client.addr(family)
        mtu0, _ = route_mtu(t, x, family, client)
        s0 = t.stats()
        t.send_icmp_error(family, target["port"], target["seq"], ICMP_MTU,
                          router=router[family])
        time.sleep(1.0)
        s1 = t.stats()
        for b in caps:
            t.stop_proc(caps[b][0], sig=eqxtopo.signal.SIGINT, timeout=15)
        got = {}
        for b, (_, pcap) in caps.items():
            rows = eqxtopo.icmp_rows(pcap)
            if family == 4:
                rows = [r for r in rows if r["icmp.type"] == "3" and r["icmp.code"] == "4"]
            else:
                rows = [r for r in rows if r["icmpv6.type"] == "2"]
            got[b] = rows
        want = "sport 80 -> dport %d" % target["port"]
        c.check(len(got.get(x, [])) == 1,
                "IPv%d: the %s reached %s, the connection's backend (%s)"
                % (family, "ICMP frag needed" if family == 4 else "ICMPv6 packet too big",
                   x, want), {b: len(r) for b, r in got.items()})
        if got.get(x):
            r = got[x][0]
            src = r["ip.src" if family == 4 else "ipv6.src"].split(",")[0]
            c.check(src == router[family] and r["tcp.srcport"] == "80"
                    and r["tcp.dstport"] == str(target["port"]),
                    "IPv%d: %s got it as sent (from %s, quoting %s)" % (family, x, src, want), r)
        strays = {b: len(r) for b, r in got.items() if b != x and r}
        c.check(not strays, "IPv%d: no other backend got it (the other connection is on %s)"
                % (family, other["backend"] if other else "?"), strays)
        fwd = s1.get("icmp_errors_forwarded", 0) - s0.get("icmp_errors_forwarded", 0)
        c.check(fwd == 1, "IPv%d: stats icmp_errors_forwarded +%d" % (family, fwd))
        mtu1, text = route_mtu(t, x, family, client)
        c.check(mtu1 == ICMP_MTU, "IPv%d: %s's kernel took it: route to the client has mtu "
                "%s (before: %s)" % (family, x, mtu1, mtu0), text)
        for p, _ in conns:
            p.stop_file.write_text("stop\n")


def upload(c, t, family, port, fwd, expect_mtu):
    s0 = t.stats()
    cp = t.run_in("client", ["curl", "-sS", "-m", "30", "--noproxy", "*", "--data-binary",
                             "@%s" % (Path(t.workdir) / "upload.bin"), "-H",
                             "Content-Type: application/octet-stream",
                             t.url(family=family, port=port)], timeout=45)
    s1 = t.stats()
    answer = cp.stdout.strip()
    what = "IPv%d %s" % (family, fwd)
    c.check(cp.returncode == 0 and answer.endswith(" %d" % UPLOAD),
            "%s: a %d-byte POST arrives whole (%r)" % (what, UPLOAD, answer),
            cp.stderr.strip())
    ptb = s1.get("icmp_too_big_sent", 0) - s0.get("icmp_too_big_sent", 0)
    exceeded = s1["drops"].get("mtu_exceeded", 0) - s0["drops"].get("mtu_exceeded", 0)
    c.check(ptb >= 1 and exceeded == 0, "%s: equinox sent %d 'too big' errors, dropped %d as "
            "mtu_exceeded" % (what, ptb, exceeded))
    mtu, text = route_mtu(t, "client", family, t.vip_addr(family))
    c.check(mtu == expect_mtu, "%s: the client's path MTU to the VIP is %s (expected %d)"
            % (what, mtu, expect_mtu), text)


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=3, http_ports=(80, 81)) as t:
        vips = [t.vip_config("ipip4", 4), t.vip_config("ipip6", 6),
                t.vip_config("gue4", 4, port=81, forwarding="gue"),
                t.vip_config("gue6", 6, port=81, forwarding="gue")]
        t.start_equinox(t.config(vips=vips, port_extra={"mtu": 1500}))

        # (b) first: (a) lowers a backend's path MTU toward the client, and with it
        # the MSS that backend announces.
        (Path(t.workdir) / "upload.bin").write_bytes(b"u" * UPLOAD)
        upload(c, t, 4, 80, "ipip", 1480)
        upload(c, t, 6, 80, "ipip", 1460)
        upload(c, t, 4, 81, "gue", 1468)
        upload(c, t, 6, 81, "gue", 1448)

        part_a(c, t)

        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
