#!/usr/bin/python3
"""Real TCP through every forwarding method, IPv4 and IPv6, and what goes on the wire.

One topology, three backends with both families; one VIP per case, each on its own
port of the IPv4 VIP or the IPv6 VIP (the backends' HTTP servers listen on all):

    case      VIP    port  forwarding  backends  the backend receives
    ipip4     IPv4   80    ipip        IPv4      4in4  (IP proto 4)
    ipip6     IPv6   80    ipip        IPv6      6in6  (next header 41)
    ipip4o6   IPv4   8080  ipip        IPv6      4in6  (next header 4)
    ipip6o4   IPv6   8080  ipip        IPv4      6in4  (IP proto 41)
    gue4      IPv4   81    gue         IPv4      IPv4 / UDP 5555 / GUE 00 04 00 00 / IPv4
    gue6      IPv6   81    gue         IPv6      IPv6 / UDP 5555 / GUE 00 29 00 00 / IPv6
    gue4o6    IPv4   8081  gue         IPv6      IPv6 / UDP 5555 / GUE 00 04 00 00 / IPv4
    gue6o4    IPv6   8081  gue         IPv4      IPv4 / UDP 5555 / GUE 00 29 00 00 / IPv6
    l2dsr4    IPv4   82    l2dsr       IPv4      the client's packet, dst MAC = backend's
    l2dsr6    IPv6   82    l2dsr       IPv6      the same over IPv6

First: equinox answers ICMPv6 echo on its IPv6 port address, and neighbour
solicitations for it and for the IPv6 VIP (the client's neighbour table shows
equinox's MAC). For each case: 30 new connections (tests/tools/http_client.py) all
answered, by every backend; a 100 KB POST answered "bN 102400" (full-size segments
through the tunnel); the decapsulators count the expected kind of packet (none for
l2dsr); the VIP's counters rose. A capture on b1 (tshark has no GUE dissector) is checked
frame by frame with scapy: outer addresses (equinox's port address of the backend's
family -> b1), protocols, lengths; GUE: UDP destination 5555, source port
0xc000 | (hash & 0x3fff), the same for every packet of a flow, UDP checksum 0
over IPv4 and correct over IPv6, the 4-byte GUE header; l2dsr: the IP packet
unchanged (TTL/hop limit as the client sent it), Ethernet equinox -> b1.
"""

import struct
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "fwd"
OCTET = 216
CONNS = 30
UPLOAD = 100 * 1024
GUE_PORT = eqxtopo.GUE_PORT

# name: (VIP family, port, forwarding, backend family, decap counter that must rise)
CASES = {
    "ipip4": (4, 80, "ipip", 4, "rx_ipip"),
    "ipip6": (6, 80, "ipip", 6, "rx_ip6ip6"),
    "ipip4o6": (4, 8080, "ipip", 6, "rx_ipip6"),
    "ipip6o4": (6, 8080, "ipip", 4, "rx_ip6ip"),
    "gue4": (4, 81, "gue", 4, "rx_gue4"),
    "gue6": (6, 81, "gue", 6, "rx_gue6"),
    "gue4o6": (4, 8081, "gue", 6, "rx_gue6"),
    "gue6o4": (6, 8081, "gue", 4, "rx_gue4"),
    "l2dsr4": (4, 82, "l2dsr", 4, None),
    "l2dsr6": (6, 82, "l2dsr", 6, None),
}
HTTP_PORTS = sorted({c[1] for c in CASES.values()})
DECAP_RX = ["rx_ipip", "rx_ip6ip", "rx_ipip6", "rx_ip6ip6", "rx_gue4", "rx_gue6"]


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def udp6_checksum_ok(src16, dst16, udp):
    pseudo = src16 + dst16 + struct.pack("!IxxxB", len(udp), 17)
    return csum16(pseudo + udp) == 0xffff


def inner_info(data, version):
    """(src, dst, proto, sport, dport, ttl, length) of an inner IP packet."""
    from scapy.all import IP, IPv6
    if version == 4:
        p = IP(data)
        l4 = bytes(p.payload)
        return (p.src, p.dst, p.proto, *struct.unpack("!HH", l4[:4]), p.ttl, p.len)
    p = IPv6(data)
    l4 = bytes(p.payload)
    return (p.src, p.dst, p.nh, *struct.unpack("!HH", l4[:4]), p.hlim, 40 + p.plen)


def analyse(t, pcap, c):
    """Check every frame equinox sent to b1; returns {case: frames}."""
    from scapy.all import Ether, IP, IPv6, rdpcap
    import socket

    b1 = t.hosts["b1"]
    lb = t.lb
    port_case = {}
    for name, (vfam, port, fwd, bfam, _) in CASES.items():
        port_case[(vfam, port)] = name
    seen = Counter()
    bad = []
    gue_sports = defaultdict(set)   # inner 5-tuple -> outer UDP source ports
    gue_flows = set()
    frames = rdpcap(pcap)
    for n, fr in enumerate(frames, 1):
        if Ether not in fr or fr[Ether].src != lb.mac:
            continue
        problems = []
        if fr[Ether].dst != b1.mac:
            problems.append("eth dst %s" % fr[Ether].dst)
        raw = bytes(fr[Ether].payload)
        ver = raw[0] >> 4
        if ver == 4:
            o = IP(raw)
            osrc, odst, oproto, olen = o.src, o.dst, o.proto, o.len
            ohl = o.ihl * 4
            opay = raw[ohl:olen]
        elif ver == 6:
            o = IPv6(raw)
            osrc, odst, oproto, olen = o.src, o.dst, o.nh, 40 + o.plen
            opay = raw[40:olen]
        else:
            continue
        kind = None
        if oproto in (4, 41):
            kind = "ipip"
            iver = 4 if oproto == 4 else 6
            inner = opay
        elif oproto == 17 and struct.unpack("!H", opay[2:4])[0] == GUE_PORT:
            kind = "gue"
            sport, dport, ulen, uck = struct.unpack("!HHHH", opay[:8])
            gue = opay[8:12]
            inner = opay[12:]
            if ulen != len(opay):
                problems.append("UDP length %d != %d" % (ulen, len(opay)))
            if sport & 0xc000 != 0xc000:
                problems.append("UDP source port %#x not 0xc000|hash" % sport)
            if ver == 4 and uck != 0:
                problems.append("UDP checksum %#x over IPv4, expected 0" % uck)
            if ver == 6 and (uck == 0 or not udp6_checksum_ok(
                    socket.inet_pton(socket.AF_INET6, osrc),
                    socket.inet_pton(socket.AF_INET6, odst), opay)):
                problems.append("UDP checksum %#x over IPv6 wrong" % uck)
            iver = inner[0] >> 4 if inner else 0
            want = bytes([0, 4 if iver == 4 else 41, 0, 0])
            if gue != want:
                problems.append("GUE header %s, expected %s" % (gue.hex(), want.hex()))
        elif oproto in (6,) and odst in (t.vip, t.vip6):
            kind = "l2dsr"
            iver = ver
            inner = raw[:olen]
        else:
            continue
        try:
            isrc, idst, iproto, isport, idport, ittl, ilen = inner_info(inner, iver)
        except Exception as e:  # noqa: BLE001 - a frame scapy cannot read is a finding
            bad.append("frame %d: inner packet unreadable: %r" % (n, e))
            continue
        vfam = 4 if iver == 4 else 6
        case = port_case.get((vfam, idport))
        if case is None:
            problems.append("inner dport %d of no case" % idport)
        else:
            cvfam, _, cfwd, cbfam, _ = CASES[case]
            if cfwd != kind:
                problems.append("%s arrived as %s" % (case, kind))
            if kind != "l2dsr" and ver != cbfam:
                problems.append("%s: outer IPv%d, expected IPv%d" % (case, ver, cbfam))
            seen[case] += 1
        if kind in ("ipip", "gue"):
            if osrc != (lb.ip if ver == 4 else lb.ip6):
                problems.append("outer src %s" % osrc)
            if odst != (b1.ip if ver == 4 else b1.ip6):
                problems.append("outer dst %s" % odst)
            if len(inner) != ilen:
                problems.append("inner length %d, its header says %d" % (len(inner), ilen))
        if idst != t.vip_addr(vfam) or isrc != t.client.addr(vfam):
            problems.append("inner %s -> %s" % (isrc, idst))
        if iproto != 6:
            problems.append("inner protocol %d" % iproto)
        if kind == "l2dsr" and ittl != 64:
            problems.append("l2dsr: TTL/hop limit %d, the client sent 64" % ittl)
        if kind == "gue":
            key = (isrc, idst, isport, idport)
            gue_sports[key].add(sport)
            gue_flows.add(key)
        if problems:
            bad.append("frame %d (%s): %s" % (n, case or kind, ", ".join(problems)))
    c.check(not bad, "every frame equinox sent to b1 is well-formed (%d frames)"
            % sum(seen.values()), bad[:8])
    split = {k: v for k, v in gue_sports.items() if len(v) != 1}
    c.check(gue_flows and not split,
            "GUE: one UDP source port per flow (%d flows)" % len(gue_flows), split)
    ports = set().union(*gue_sports.values()) if gue_sports else set()
    c.check(len(ports) > 1, "GUE: source ports vary with the flow (%d distinct: %s)"
            % (len(ports), ", ".join("%#x" % p for p in sorted(ports)[:6])))
    return seen


def decap_totals(t):
    tot = Counter()
    for b in t.backend_names():
        tot.update(t.decap_counters(b))
    return tot


def vip_by_name(t):
    return {v["name"]: v for v in t.vips().get("vips", [])}


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=3, http_ports=HTTP_PORTS) as t:
        vips = []
        for name, (vfam, port, fwd, bfam, _) in CASES.items():
            vips.append(t.vip_config(name, vfam, forwarding=fwd, port=port,
                                     backends=[b.addr(bfam) for b in t.backends]))
        t.start_equinox(t.config(vips=vips))

        # IPv6 basics: ND for the port address and the VIP, ICMPv6 echo.
        cp = t.run_in("client", ["ping", "-6", "-c", "2", "-W", "2", t.lb_ip6], timeout=15)
        c.check(cp.returncode == 0, "equinox answers ICMPv6 echo on %s" % t.lb_ip6,
                cp.stdout[-300:])
        ok, out = t.curl(url=t.url(family=6), timeout=10)
        c.check(ok and out in t.backend_names(), "first request to the IPv6 VIP", out)
        for addr in (t.lb_ip6, t.vip6):
            neigh = t.run_in("client", ["ip", "-6", "neigh", "show", addr]).stdout
            c.check(t.lb.mac in neigh.lower(),
                    "neighbour discovery: %s is equinox's MAC %s" % (addr, t.lb.mac), neigh)

        pcap = str(Path(t.workdir) / "b1.pcap")
        cap = t.start_capture("b1", pcap, "ip or ip6")
        upload = Path(t.workdir) / "upload.bin"
        upload.write_bytes(b"u" * UPLOAD)
        names = set(t.backend_names())

        for name, (vfam, port, fwd, bfam, counter) in CASES.items():
            host = t.vip_addr(vfam)
            before = decap_totals(t)
            res = t.http_many(CONNS, host=host, port=port)
            served = res.get("backends", {})
            c.check(res.get("ok") == CONNS and res.get("failed") == 0,
                    "%s: %d new connections to [%s]:%d all answered (%.2fs)"
                    % (name, CONNS, host, port, res.get("elapsed_s", 0)), res.get("errors"))
            c.check(set(served) == names, "%s: every backend serves (%s)"
                    % (name, dict(sorted(served.items()))), served)
            cp = t.run_in("client", ["curl", "-sS", "-m", "20", "--noproxy", "*",
                                     "--data-binary", "@%s" % upload, "-H",
                                     "Content-Type: application/octet-stream",
                                     t.url(family=vfam, port=port)], timeout=40)
            answer = cp.stdout.strip()
            parts = answer.split()
            c.check(cp.returncode == 0 and len(parts) == 2 and parts[0] in names
                    and parts[1] == str(UPLOAD),
                    "%s: a %d-byte POST arrives whole (%r)" % (name, UPLOAD, answer),
                    cp.stderr.strip())
            after = decap_totals(t)
            rose = {k: after[k] - before[k] for k in DECAP_RX if after[k] != before[k]}
            if counter is None:
                c.check(not rose, "%s: no decapsulator sees its packets" % name, rose)
            else:
                c.check(set(rose) == {counter} and rose[counter] >= 4 * CONNS,
                        "%s: the backends decapsulate it as %s (+%d)"
                        % (name, counter, rose.get(counter, 0)), rose)
            drops = {k: after[k] - before[k] for k in after
                     if k.startswith("drop_") and after[k] != before[k]}
            c.check(not drops, "%s: the decapsulators drop nothing" % name, drops)
            v = vip_by_name(t).get(name, {})
            c.check(v.get("flows", 0) >= CONNS + 1 and v.get("packets", 0) >= 5 * CONNS,
                    "%s: VIP counters rose (flows %s, packets %s)"
                    % (name, v.get("flows"), v.get("packets")))

        time.sleep(0.5)
        t.stop_proc(cap, sig=eqxtopo.signal.SIGINT, timeout=15)
        seen = analyse(t, pcap, c)
        missing = [n for n in CASES if seen.get(n, 0) == 0]
        c.check(not missing, "b1's capture has frames of every case (%s)"
                % ", ".join("%s %d" % (n, seen.get(n, 0)) for n in CASES), missing)

        stats = t.stats()
        nonzero = {k: v for k, v in stats.get("drops", {}).items() if v}
        print("equinox drops: %s" % nonzero, flush=True)
        c.check(not nonzero.get("neighbour_unresolved") and not nonzero.get("mtu_exceeded"),
                "no neighbour_unresolved or mtu_exceeded drop", nonzero)
        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
