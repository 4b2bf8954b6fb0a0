#!/usr/bin/python3
"""Writes tests/dataplane/vectors.h: input frames and the frames equinox must
send for them, built with scapy independently of equinox's own builders.

Topology the vectors assume (the same as the config in test_dataplane.c):
  port p0 mac 02:00:00:00:00:0a, address 10.200.0.10/24, MTU 1500
  client 10.200.0.1 (02:00:00:00:00:01)
  vip1 10.200.0.100 tcp/80 -> one backend 10.200.0.21 (02:00:00:00:00:21)
  vip3 10.200.0.102 udp, every port -> one backend 10.200.0.21
Run: /usr/bin/python3 tests/dataplane/gen_vectors.py > tests/dataplane/vectors.h
"""
from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, IPv6, Raw

PORT_MAC, PORT_IP = "02:00:00:00:00:0a", "10.200.0.10"
CLI_MAC, CLI_IP = "02:00:00:00:00:01", "10.200.0.1"
B1_MAC, B1_IP = "02:00:00:00:00:21", "10.200.0.21"
VIP1, VIP3 = "10.200.0.100", "10.200.0.102"
BCAST = "ff:ff:ff:ff:ff:ff"


def pad60(b):
    return b + b"\0" * max(0, 60 - len(b))


def ipip(inner_ip, df):
    """What equinox must send toward backend 1 for an inner IPv4 packet."""
    outer = IP(src=PORT_IP, dst=B1_IP, ttl=64, proto=4, id=0, tos=inner_ip.tos,
               flags="DF" if df else 0)
    return bytes(Ether(src=PORT_MAC, dst=B1_MAC) / outer / inner_ip)


cases = []


def case(name, frame, verdict, out=b"", drop=""):
    cases.append((name, bytes(frame), verdict, bytes(out), drop))


syn = IP(src=CLI_IP, dst=VIP1, id=1, flags="DF") / TCP(sport=40000, dport=80, flags="S", seq=1000)
case("vip syn is tunnelled to its backend", Ether(src=CLI_MAC, dst=PORT_MAC) / syn, "TX",
     ipip(IP(bytes(syn)), True))

udp = IP(src=CLI_IP, dst=VIP3, id=7) / UDP(sport=5000, dport=5353) / Raw(b"hi")
case("short vip udp: ethernet padding is not tunnelled", pad60(bytes(Ether(src=CLI_MAC, dst=PORT_MAC) / udp)),
     "TX", ipip(IP(bytes(udp)), False))

arp_req = Ether(src=CLI_MAC, dst=BCAST) / ARP(op=1, hwsrc=CLI_MAC, psrc=CLI_IP, pdst=PORT_IP)
arp_rep = Ether(src=PORT_MAC, dst=CLI_MAC) / ARP(op=2, hwsrc=PORT_MAC, psrc=PORT_IP,
                                                  hwdst=CLI_MAC, pdst=CLI_IP)
case("arp request for the port address is answered", pad60(bytes(arp_req)), "CONTROL",
     pad60(bytes(arp_rep)))

arp_req_vip = Ether(src=CLI_MAC, dst=BCAST) / ARP(op=1, hwsrc=CLI_MAC, psrc=CLI_IP, pdst=VIP1)
arp_rep_vip = Ether(src=PORT_MAC, dst=CLI_MAC) / ARP(op=2, hwsrc=PORT_MAC, psrc=VIP1,
                                                      hwdst=CLI_MAC, pdst=CLI_IP)
case("arp request for a vip is answered", pad60(bytes(arp_req_vip)), "CONTROL", pad60(bytes(arp_rep_vip)))

case("arp request for another host is not answered",
     pad60(bytes(Ether(src=CLI_MAC, dst=BCAST) / ARP(op=1, hwsrc=CLI_MAC, psrc=CLI_IP, pdst="10.200.0.77"))),
     "CONTROL")

echo = IP(src=CLI_IP, dst=VIP1, id=9, ttl=61) / ICMP(type=8, id=0x1234, seq=1) / Raw(b"ping-payload")
reply = IP(src=VIP1, dst=CLI_IP, id=9, ttl=64) / ICMP(type=0, id=0x1234, seq=1) / Raw(b"ping-payload")
case("icmp echo to a vip is answered", Ether(src=CLI_MAC, dst=PORT_MAC) / echo, "CONTROL",
     Ether(src=PORT_MAC, dst=CLI_MAC) / reply)

case("tcp to a vip address on another port is dropped",
     Ether(src=CLI_MAC, dst=PORT_MAC) / IP(src=CLI_IP, dst=VIP1) / TCP(sport=1, dport=81, flags="S"),
     "DROP", drop="vip_no_service")
case("unknown destination is dropped",
     Ether(src=CLI_MAC, dst=PORT_MAC) / IP(src=CLI_IP, dst="10.200.0.99") / TCP(sport=1, dport=80),
     "DROP", drop="not_local")
case("frame for another mac is dropped",
     Ether(src=CLI_MAC, dst="02:00:00:00:00:99") / IP(src=CLI_IP, dst=VIP1) / TCP(dport=80),
     "DROP", drop="l2_other_host")
full = bytes(Ether(src=CLI_MAC, dst=PORT_MAC) / syn)
case("truncated ipv4 header is dropped", full[:14 + 12], "DROP", drop="ip4_truncated")
case("frame shorter than its ipv4 total length is dropped", full[:14 + 20 + 10], "DROP",
     drop="ip4_bad_total_length")
short_tcp = IP(src=CLI_IP, dst=VIP1, proto=6) / Raw(bytes(TCP(sport=4, dport=80))[:10])
case("tcp header cut short inside its ip packet is dropped",
     Ether(src=CLI_MAC, dst=PORT_MAC) / short_tcp, "DROP", drop="l4_truncated")
case("runt ethernet frame is dropped", full[:10], "DROP", drop="eth_truncated")
bad = bytearray(full)
bad[14 + 10] ^= 0xff
case("bad ipv4 header checksum is dropped", bytes(bad), "DROP", drop="ip4_bad_checksum")
case("unsupported ethertype is dropped",
     Ether(src=CLI_MAC, dst="01:80:c2:00:00:0e", type=0x88cc) / Raw(b"\0" * 46), "DROP",
     drop="unsupported_ethertype")
case("ipv6 to an unknown address is dropped",
     Ether(src=CLI_MAC, dst=PORT_MAC) / IPv6(src="fd00:200::1", dst="fd00:200::99") / TCP(dport=80),
     "DROP", drop="not_local")
case("vip fragment is dropped",
     Ether(src=CLI_MAC, dst=PORT_MAC) / IP(src=CLI_IP, dst=VIP1, flags="MF") / TCP(sport=2, dport=80) / Raw(b"x" * 64),
     "DROP", drop="vip_fragment")
big = IP(src=CLI_IP, dst=VIP1, flags="DF") / TCP(sport=3, dport=80, flags="A") / Raw(b"y" * 1460)
case("vip packet that would exceed the mtu once tunnelled is dropped",
     Ether(src=CLI_MAC, dst=PORT_MAC) / big, "DROP", drop="mtu_exceeded")


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
    print('\t{ "%s", v%d_in, %d, "%s", v%d_out, %d, "%s" },' % (name, i, len(frame), verdict, i, len(out), drop))
print("};")
