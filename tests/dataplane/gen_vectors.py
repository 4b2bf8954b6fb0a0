#!/usr/bin/python3
"""Writes tests/dataplane/vectors.h: input frames and the frames equinox must
send for them, built with scapy independently of equinox's own builders.

The topology the vectors assume is the config in test_dataplane.c:
  port p0 mac 02:00:00:00:00:0a, 10.200.0.10/24 and fd00:200::10/64, MTU 1500
  client 10.200.0.1 / fd00:200::1 (02:00:00:00:00:01)
  backend 10.200.0.21 / fd00:200::21 (02:00:00:00:00:21), static neighbours
  vip1  10.200.0.100   tcp/80  ipip -> 10.200.0.21
  vip3  10.200.0.102   udp/*   ipip -> 10.200.0.21
  vip4  10.200.0.103   tcp/80  gue  -> 10.200.0.21 (port 5555)
  vip5  10.200.0.104   tcp/80  l2dsr -> 10.200.0.21
  vip6  fd00:200::100  tcp/80  ipip -> fd00:200::21
  vip7  fd00:200::101  tcp/80  gue  -> 10.200.0.21
  vip8  10.200.0.105   tcp/80  ipip -> fd00:200::21
  vip9  fd00:200::102  udp/*   gue  -> fd00:200::21
  vip10 fd00:200::103  tcp/80  l2dsr -> fd00:200::21
The GUE source port and the IPv6 flow label carry the flow hash; flow_hash()
below mirrors lib/flow/flow.c (its unit test pins the same constants).
Run: /usr/bin/python3 tests/dataplane/gen_vectors.py > tests/dataplane/vectors.h
"""
import ipaddress
import struct

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, ICMPv6DestUnreach, ICMPv6EchoReply,
                       ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                       ICMPv6NDOptSrcLLAddr, ICMPv6PacketTooBig, IPv6, IPerror, Raw, TCPerror)

PORT_MAC, PORT_IP, PORT_IP6 = "02:00:00:00:00:0a", "10.200.0.10", "fd00:200::10"
CLI_MAC, CLI_IP, CLI_IP6 = "02:00:00:00:00:01", "10.200.0.1", "fd00:200::1"
B_MAC, B_IP, B_IP6 = "02:00:00:00:00:21", "10.200.0.21", "fd00:200::21"
VIP1, VIP3, VIP4, VIP5, VIP8 = ("10.200.0.100", "10.200.0.102", "10.200.0.103",
                                "10.200.0.104", "10.200.0.105")
VIP6, VIP7, VIP9, VIP10 = "fd00:200::100", "fd00:200::101", "fd00:200::102", "fd00:200::103"
BCAST = "ff:ff:ff:ff:ff:ff"
GUE_PORT = 5555
M64 = (1 << 64) - 1
P = [0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3, 0x589965cc75374cc3,
     0x1d8e4e27c47d124f]


def mum(a, b):
    r = (a & M64) * (b & M64)
    return (r & M64) ^ (r >> 64)


def flow_hash(family, proto, src, dst, sport, dport):
    s = ipaddress.ip_address(src).packed.ljust(16, b"\0")
    d = ipaddress.ip_address(dst).packed.ljust(16, b"\0")
    le = lambda b: struct.unpack("<Q", b)[0]  # noqa: E731
    w0 = family | proto << 8 | sport << 32 | dport << 48
    a = mum(w0 ^ P[0], le(s[:8]) ^ P[1])
    b = mum(le(s[8:]) ^ P[2], le(d[:8]) ^ P[3])
    h = mum(a ^ le(d[8:]) ^ P[4], b ^ P[0] ^ 40)
    return (h ^ (h >> 32)) & 0xffffffff


next_id = [0]


def outer4(inner, proto, df, payload_extra=b""):
    """IPv4 outer header toward the backend; non-DF packets take the worker's id counter."""
    if df:
        ident = 0
    else:
        ident = next_id[0]
        next_id[0] += 1
    return IP(src=PORT_IP, dst=B_IP, ttl=64, proto=proto, id=ident, tos=inner_tos(inner),
              flags="DF" if df else 0)


def inner_tos(inner):
    return inner.tos if inner.haslayer(IP) and isinstance(inner, IP) else inner.tc


def tunnel(inner, hash_, outer_family, gue, gue_port=GUE_PORT):
    """The frame equinox sends for an inner IP packet (scapy layer)."""
    inner_bytes = bytes(inner)
    v4 = isinstance(inner, IP)
    df = (not v4) or bool(inner.flags & 2)
    inner_proto = 4 if v4 else 41
    if gue:
        gue_hdr = bytes([0, inner_proto, 0, 0])
        payload = UDP(sport=0xc000 | (hash_ & 0x3fff), dport=gue_port) / Raw(gue_hdr + inner_bytes)
    else:
        payload = Raw(inner_bytes)
    if outer_family == 4:
        ip = outer4(inner, 17 if gue else inner_proto, df)
        if gue:
            payload[UDP].chksum = 0
        eth = Ether(src=PORT_MAC, dst=B_MAC, type=0x0800)
    else:
        ip = IPv6(src=PORT_IP6, dst=B_IP6, hlim=64, nh=17 if gue else inner_proto,
                  tc=inner_tos(inner), fl=hash_ & 0xfffff)
        eth = Ether(src=PORT_MAC, dst=B_MAC, type=0x86dd)
    return bytes(eth / ip / payload)


def pad60(b):
    return b + b"\0" * max(0, 60 - len(b))


cases = []


def case(name, frame, verdict, out=b"", drop=""):
    cases.append((name, bytes(frame), verdict, bytes(out), drop))


def cli(l3):
    return Ether(src=CLI_MAC, dst=PORT_MAC) / l3


def syn4(dst, sport=40000):
    return IP(src=CLI_IP, dst=dst, id=1, flags="DF") / TCP(sport=sport, dport=80, flags="S", seq=1000)


def syn6(dst, sport=40000):
    return IPv6(src=CLI_IP6, dst=dst) / TCP(sport=sport, dport=80, flags="S", seq=1000)


def h4(pkt, proto=6, sport=40000, dport=80):
    return flow_hash(4, proto, pkt.src, pkt.dst, sport, dport)


def h6(pkt, proto=6, sport=40000, dport=80):
    return flow_hash(6, proto, pkt.src, pkt.dst, sport, dport)


# ---- forwarding: every method x family ----
s = syn4(VIP1)
case("ipip: ipv4 in ipv4", cli(s), "TX", tunnel(IP(bytes(s)), h4(s), 4, False))

udp = IP(src=CLI_IP, dst=VIP3, id=7) / UDP(sport=5000, dport=5353) / Raw(b"hi")
case("ipip: short udp, ethernet padding is not tunnelled", pad60(bytes(cli(udp))), "TX",
     tunnel(IP(bytes(udp)), 0, 4, False))

s = syn4(VIP4)
case("gue: ipv4 in udp/ipv4", cli(s), "TX", tunnel(IP(bytes(s)), h4(s), 4, True))

s = syn4(VIP5)
case("l2dsr: ipv4 frame re-addressed to the backend", cli(s), "TX",
     Ether(src=PORT_MAC, dst=B_MAC) / IP(bytes(s)))

s = syn6(VIP6)
case("ipip: ipv6 in ipv6", cli(s), "TX", tunnel(IPv6(bytes(s)), h6(s), 6, False))

s = syn6(VIP7)
case("gue: ipv6 in udp/ipv4", cli(s), "TX", tunnel(IPv6(bytes(s)), h6(s), 4, True))

s = syn4(VIP8)
case("ipip: ipv4 in ipv6", cli(s), "TX", tunnel(IP(bytes(s)), h4(s), 6, False))

u6 = IPv6(src=CLI_IP6, dst=VIP9) / UDP(sport=5001, dport=53) / Raw(b"query")
case("gue: ipv6 udp in udp/ipv6 (with udp checksum)", cli(u6), "TX",
     tunnel(IPv6(bytes(u6)), h6(u6, 17, 5001, 53), 6, True))

s = syn6(VIP10)
case("l2dsr: ipv6 frame re-addressed to the backend", cli(s), "TX",
     Ether(src=PORT_MAC, dst=B_MAC) / IPv6(bytes(s)))

# ---- fragments follow their datagram's first fragment ----
first = IP(src=CLI_IP, dst=VIP3, id=0x4242, flags="MF", frag=0, proto=17) / Raw(
    bytes(UDP(sport=6000, dport=6001, len=8 + 200, chksum=0x1234)) + b"a" * 192)
later = IP(src=CLI_IP, dst=VIP3, id=0x4242, flags=0, frag=25, proto=17) / Raw(b"b" * 8)
case("first fragment is balanced by its ports and tunnelled", cli(first), "TX",
     tunnel(IP(bytes(first)), 0, 4, False))
case("later fragment follows its first fragment", pad60(bytes(cli(later))), "TX",
     tunnel(IP(bytes(later)), 0, 4, False))
orphan = IP(src=CLI_IP, dst=VIP3, id=0x7777, frag=25, proto=17) / Raw(b"c" * 8)
case("later fragment without its first one is dropped", pad60(bytes(cli(orphan))), "DROP",
     drop="fragment_unknown")

# ---- too big once tunnelled: tell the sender (PMTU discovery) ----
big = IP(src=CLI_IP, dst=VIP1, id=3, flags="DF") / TCP(sport=3, dport=80, flags="A") / Raw(b"y" * 1460)
quote = bytes(big)[:548]
ptb = Ether(src=PORT_MAC, dst=CLI_MAC) / IP(src=VIP1, dst=CLI_IP, ttl=64, id=0, flags="DF") / \
    ICMP(type=3, code=4, nexthopmtu=1480) / Raw(quote)
case("ipv4 DF too big for the tunnel gets ICMP fragmentation needed", cli(big), "TX", ptb)
big_nodf = IP(src=CLI_IP, dst=VIP1, id=4) / TCP(sport=4, dport=80, flags="A") / Raw(b"z" * 1460)
case("ipv4 without DF too big for the tunnel is dropped", cli(big_nodf), "DROP",
     drop="mtu_exceeded")
big6 = IPv6(src=CLI_IP6, dst=VIP6) / TCP(sport=5, dport=80, flags="A") / Raw(b"w" * 1440)
ptb6 = Ether(src=PORT_MAC, dst=CLI_MAC) / IPv6(src=VIP6, dst=CLI_IP6, hlim=64) / \
    ICMPv6PacketTooBig(mtu=1460) / Raw(bytes(big6)[:1184])
case("ipv6 too big for the tunnel gets ICMPv6 packet too big", cli(big6), "TX", ptb6)

# ---- ICMP errors about a flow go to the flow's backend ----
err = IP(src="10.200.0.254", dst=VIP1, flags="DF", id=9) / ICMP(type=3, code=4, nexthopmtu=1400) / \
    IPerror(src=VIP1, dst=CLI_IP, flags="DF") / TCPerror(sport=80, dport=40000, flags="SA")
case("icmp fragmentation needed about a flow reaches its backend", cli(err), "TX",
     tunnel(IP(bytes(err)), 0, 4, False))
err6 = IPv6(src="fd00:200::fe", dst=VIP6) / ICMPv6PacketTooBig(mtu=1400) / \
    IPv6(src=VIP6, dst=CLI_IP6) / TCP(sport=80, dport=40000, flags="SA")
case("icmpv6 packet too big about a flow reaches its backend", cli(err6), "TX",
     tunnel(IPv6(bytes(err6)), flow_hash(6, 6, CLI_IP6, VIP6, 40000, 80), 6, False))
stray = IP(src="10.200.0.254", dst=VIP1) / ICMP(type=3, code=1) / \
    IPerror(src="10.200.0.77", dst=CLI_IP) / TCPerror(sport=80, dport=1)
case("icmp error quoting no vip is dropped", cli(stray), "DROP", drop="icmp_error_unmatched")
un6 = IPv6(src="fd00:200::fe", dst=VIP6) / ICMPv6DestUnreach(code=4) / Raw(b"\x60" + b"\0" * 10)
case("icmpv6 error with a truncated quote is dropped", cli(un6), "DROP",
     drop="icmp_error_unmatched")

# ---- the appliance's own addresses ----
arp_req = Ether(src=CLI_MAC, dst=BCAST) / ARP(op=1, hwsrc=CLI_MAC, psrc=CLI_IP, pdst=PORT_IP)
arp_rep = Ether(src=PORT_MAC, dst=CLI_MAC) / ARP(op=2, hwsrc=PORT_MAC, psrc=PORT_IP,
                                                  hwdst=CLI_MAC, pdst=CLI_IP)
case("arp request for the port address is answered", pad60(bytes(arp_req)), "CONTROL",
     pad60(bytes(arp_rep)))
arp_req_vip = Ether(src=CLI_MAC, dst=BCAST) / ARP(op=1, hwsrc=CLI_MAC, psrc=CLI_IP, pdst=VIP1)
arp_rep_vip = Ether(src=PORT_MAC, dst=CLI_MAC) / ARP(op=2, hwsrc=PORT_MAC, psrc=VIP1,
                                                      hwdst=CLI_MAC, pdst=CLI_IP)
case("arp request for a vip is answered", pad60(bytes(arp_req_vip)), "CONTROL",
     pad60(bytes(arp_rep_vip)))
case("arp request for another host is not answered",
     pad60(bytes(Ether(src=CLI_MAC, dst=BCAST) / ARP(op=1, hwsrc=CLI_MAC, psrc=CLI_IP,
                                                      pdst="10.200.0.77"))), "CONTROL")

echo = IP(src=CLI_IP, dst=VIP1, id=9, ttl=61) / ICMP(type=8, id=0x1234, seq=1) / Raw(b"ping-payload")
reply = IP(src=VIP1, dst=CLI_IP, id=9, ttl=64) / ICMP(type=0, id=0x1234, seq=1) / Raw(b"ping-payload")
case("icmp echo to a vip is answered", cli(echo), "CONTROL", Ether(src=PORT_MAC, dst=CLI_MAC) / reply)

echo6 = IPv6(src=CLI_IP6, dst=VIP6, hlim=60) / ICMPv6EchoRequest(id=7, seq=2, data=b"ping6")
reply6 = IPv6(src=VIP6, dst=CLI_IP6, hlim=64) / ICMPv6EchoReply(id=7, seq=2, data=b"ping6")
case("icmpv6 echo to a vip is answered", cli(echo6), "CONTROL",
     Ether(src=PORT_MAC, dst=CLI_MAC) / reply6)


def sol_node(addr):
    b = ipaddress.ip_address(addr).packed
    return str(ipaddress.ip_address(bytes.fromhex("ff0200000000000000000001ff") + b[13:]))


def sol_mac(addr):
    b = ipaddress.ip_address(sol_node(addr)).packed
    return "33:33:" + ":".join("%02x" % x for x in b[12:])


for target, what in ((PORT_IP6, "the port address"), (VIP6, "a vip")):
    ns = Ether(src=CLI_MAC, dst=sol_mac(target)) / IPv6(src=CLI_IP6, dst=sol_node(target), hlim=255) / \
        ICMPv6ND_NS(tgt=target) / ICMPv6NDOptSrcLLAddr(lladdr=CLI_MAC)
    na = Ether(src=PORT_MAC, dst=CLI_MAC) / IPv6(src=target, dst=CLI_IP6, hlim=255) / \
        ICMPv6ND_NA(tgt=target, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=PORT_MAC)
    case("neighbour solicitation for %s is answered" % what, ns, "CONTROL", na)

# ---- drops by name ----
case("tcp to a vip address on another port is dropped",
     cli(IP(src=CLI_IP, dst=VIP1) / TCP(sport=1, dport=81, flags="S")), "DROP", drop="vip_no_service")
case("unknown destination is dropped",
     cli(IP(src=CLI_IP, dst="10.200.0.99") / TCP(sport=1, dport=80)), "DROP", drop="not_local")
case("frame for another mac is dropped",
     Ether(src=CLI_MAC, dst="02:00:00:00:00:99") / IP(src=CLI_IP, dst=VIP1) / TCP(dport=80),
     "DROP", drop="l2_other_host")
full = bytes(cli(syn4(VIP1)))
case("truncated ipv4 header is dropped", full[:14 + 12], "DROP", drop="ip4_truncated")
case("frame shorter than its ipv4 total length is dropped", full[:14 + 20 + 10], "DROP",
     drop="ip4_bad_total_length")
short_tcp = IP(src=CLI_IP, dst=VIP1, proto=6) / Raw(bytes(TCP(sport=4, dport=80))[:10])
case("tcp header cut short inside its ip packet is dropped", cli(short_tcp), "DROP",
     drop="l4_truncated")
case("runt ethernet frame is dropped", full[:10], "DROP", drop="eth_truncated")
bad = bytearray(full)
bad[14 + 10] ^= 0xff
case("bad ipv4 header checksum is dropped", bytes(bad), "DROP", drop="ip4_bad_checksum")
case("unsupported ethertype is dropped",
     Ether(src=CLI_MAC, dst="01:80:c2:00:00:0e", type=0x88cc) / Raw(b"\0" * 46), "DROP",
     drop="unsupported_ethertype")
case("ipv6 to an unknown address is dropped",
     cli(IPv6(src=CLI_IP6, dst="fd00:200::99") / TCP(dport=80)), "DROP", drop="not_local")
case("tcp data to the port address is dropped",
     cli(IP(src=CLI_IP, dst=PORT_IP) / TCP(sport=9, dport=22, flags="A")), "DROP",
     drop="local_unsupported")


def c_bytes(b):
    return ", ".join("0x%02x" % x for x in b) if b else "0"


print("/* SPDX-License-Identifier: BSD-3-Clause */")
print("/* Generated by gen_vectors.py with scapy; do not edit. */")
print("#include <stddef.h>\n#include <stdint.h>\n")
for i, (name, frame, verdict, out, drop) in enumerate(cases):
    print("static const uint8_t v%d_in[] = { %s };" % (i, c_bytes(frame)))
    print("static const uint8_t v%d_out[] = { %s };" % (i, c_bytes(out)))
print("\nstatic const struct dp_vector {\n\tconst char *name;\n\tconst uint8_t *in;\n\tsize_t in_len;"
      "\n\tconst char *verdict;\n\tconst uint8_t *out;\n\tsize_t out_len;\n\tconst char *drop;\n} vectors[] = {")
for i, (name, frame, verdict, out, drop) in enumerate(cases):
    print('\t{ "%s", v%d_in, %d, "%s", v%d_out, %d, "%s" },' % (name, i, len(frame), verdict, i,
                                                              len(out), drop))
print("};")
