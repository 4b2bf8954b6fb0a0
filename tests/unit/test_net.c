/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/net against known frames. The byte arrays were generated once with
 * scapy 2.5 (tests described beside each one) and pasted here, so the
 * suite needs no Python; the same frames drive the every-prefix test.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

/*
 * Generated with scapy, MACs 02:00:00:00:00:01 (client), :02 (server),
 * :fe (appliance):
 * tcp_syn4: Ether()/IP(src=10.0.0.1, dst=10.0.0.2, id=1, ttl=64, tos=0x10,
 *   flags=DF)/TCP(sport=12345, dport=80, flags=S, seq=1000, window=8192,
 *   options=[MSS 1460]); _vlan adds Dot1Q(vlan=100, prio=3); _qinq adds
 *   Dot1AD(vlan=200)/Dot1Q(vlan=100).
 * tcp6_hbh: IPv6(2001:db8::1 > ::2, hlim=60, tc=0x28)/IPv6ExtHdrHopByHop(
 *   RouterAlert)/TCP(40000 > 443, flags=PA)/"hello".
 * udp6_frag_*: fragment6(IPv6(2001:db8::10 > ::20)/IPv6ExtHdrFragment(
 *   id=0x12345678)/UDP(5000 > 53)/"Q"*120, 96), fragments 0 and 1.
 * arp_req / arp_reply: ARP who-has 10.0.0.254 from 10.0.0.1 and its reply
 *   from :fe, padded to 60 bytes.
 * icmp_echo_req/_rep: IP(10.0.0.1 > 10.0.0.254, ttl=63, id=0x1234)/ICMP(
 *   echo-request, id=0x4242, seq=7)/"ping", padded to 60; the reply is
 *   IP(10.0.0.254 > 10.0.0.1, ttl=64, id=0x1234)/ICMP(echo-reply, ...) from :fe.
 * icmp_echo_req_vlan/_rep_vlan: Dot1Q(vlan=7)/IP(192.0.2.9 > 192.0.2.1,
 *   ttl=5, id=77, DF)/ICMP(id=1, seq=0xbeef)/bytes(range(41)) and its reply.
 * ipip4_outer_df: bytes(IP(192.0.2.1 > 198.51.100.7, ttl=64, tos=0x10,
 *   id=0xabcd, DF, proto=4)/inner)[:20] with a 58-byte inner packet.
 * ipip4_outer_6in4: IP(192.0.2.1 > 198.51.100.8, ttl=3, proto=41) over a
 *   48-byte IPv6/UDP inner packet.
 * icmp6_echo: IPv6(2001:db8::1 > ::2)/ICMPv6EchoRequest(id=0x99, seq=1, "abcd").
 * udp6_chain: IPv6/HopByHop/DestOpt/Routing(2001:db8::99)/Fragment(m=1,
 *   offset=0, id=7)/UDP(1111 > 2222)/"z"*8; l3_len 88.
 */
static const uint8_t tcp_syn4[58] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45,
	0x10, 0x00, 0x2c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x26, 0xb9, 0x0a, 0x00, 0x00, 0x01,
	0x0a, 0x00, 0x00, 0x02, 0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00,
	0x00, 0x60, 0x02, 0x20, 0x00, 0x2f, 0xb3, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
};

static const uint8_t tcp_syn4_vlan[62] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x81,
	0x00, 0x60, 0x64, 0x08, 0x00, 0x45, 0x10, 0x00, 0x2c, 0x00, 0x01, 0x40, 0x00,
	0x40, 0x06, 0x26, 0xb9, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x30,
	0x39, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02,
	0x20, 0x00, 0x2f, 0xb3, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
};

static const uint8_t tcp_syn4_qinq[66] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0xa8,
	0x00, 0xc8, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00, 0x45, 0x10, 0x00, 0x2c, 0x00, 0x01,
	0x40, 0x00, 0x40, 0x06, 0x26, 0xb9, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
	0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02,
	0x20, 0x00, 0x2f, 0xb3, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
};

static const uint8_t tcp6_hbh[87] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x62,
	0x80, 0x00, 0x00, 0x00, 0x21, 0x00, 0x3c, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x06, 0x00, 0x05, 0x02, 0x00, 0x00,
	0x01, 0x00, 0x9c, 0x40, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x06, 0x50,
	0x18, 0x20, 0x00, 0x52, 0x7a, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};

static const uint8_t udp6_frag_first[110] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x38, 0x2c, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x11, 0x00,
	0x00, 0x01, 0x12, 0x34, 0x56, 0x78, 0x13, 0x88, 0x00, 0x35, 0x00, 0x80, 0x80, 0x80,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
};

static const uint8_t udp6_frag_later[110] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x38, 0x2c, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x11, 0x00,
	0x00, 0x31, 0x12, 0x34, 0x56, 0x78, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
};

static const uint8_t arp_req[60] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00,
	0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0xfe, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t arp_reply[60] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x08, 0x06, 0x00,
	0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x0a, 0x00,
	0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icmp_echo_req[60] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45,
	0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00, 0x3f, 0x01, 0x54, 0xab, 0x0a, 0x00, 0x00, 0x01,
	0x0a, 0x00, 0x00, 0xfe, 0x08, 0x00, 0xd6, 0xe5, 0x42, 0x42, 0x00, 0x07, 0x70, 0x69, 0x6e,
	0x67, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icmp_echo_rep[60] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x08, 0x00, 0x45,
	0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00, 0x40, 0x01, 0x53, 0xab, 0x0a, 0x00, 0x00, 0xfe,
	0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0xde, 0xe5, 0x42, 0x42, 0x00, 0x07, 0x70, 0x69, 0x6e,
	0x67, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icmp_echo_req_vlan[87] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x81, 0x00, 0x00,
	0x07, 0x08, 0x00, 0x45, 0x00, 0x00, 0x45, 0x00, 0x4d, 0x40, 0x00, 0x05, 0x01, 0xf1, 0x60,
	0xc0, 0x00, 0x02, 0x09, 0xc0, 0x00, 0x02, 0x01, 0x08, 0x00, 0x93, 0x7d, 0x00, 0x01, 0xbe,
	0xef, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
	0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
	0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
};

static const uint8_t icmp_echo_rep_vlan[87] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x81, 0x00, 0x00,
	0x07, 0x08, 0x00, 0x45, 0x00, 0x00, 0x45, 0x00, 0x4d, 0x40, 0x00, 0x40, 0x01, 0xb6, 0x60,
	0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x09, 0x00, 0x00, 0x9b, 0x7d, 0x00, 0x01, 0xbe,
	0xef, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
	0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
	0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
};

static const uint8_t ipip4_outer_df[20] = {
	0x45, 0x10, 0x00, 0x4e, 0xab, 0xcd, 0x40, 0x00, 0x40, 0x04,
	0xa2, 0x92, 0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x07,
};

static const uint8_t ipip4_outer_6in4[20] = {
	0x45, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00, 0x00, 0x03, 0x29,
	0xcb, 0x54, 0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x08,
};

static const uint8_t icmp6_echo[66] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, 0x00,
	0x5e, 0xe3, 0x00, 0x99, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64,
};

static const uint8_t udp6_chain[118] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
	0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3c, 0x00, 0x01, 0x04, 0x00, 0x00,
	0x00, 0x00, 0x2b, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x02, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x99, 0x11, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x04, 0x57, 0x08,
	0xae, 0x00, 0x10, 0xac, 0xd3, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a,
};

/*
 * Generated with scapy 2.5 (script kept out of the tree; the calls are
 * below), MACs as above plus :02 (server); IPv6 client 2001:db8::1,
 * appliance 2001:db8::fe, backend 2001:db8:1::5:
 * ip6_outer_6in6: bytes(IPv6(2001:db8::fe > 2001:db8:1::5, tc=0x28,
 *   fl=0x12345, hlim=64, nh=41)/inner6)[:40], inner6 = IPv6(2001:db8::1 >
 *   2001:db8::80)/UDP(5000 > 53)/"Q"*10 (58 bytes).
 * ip6_outer_4in6: bytes(IPv6(2001:db8::fe > 2001:db8:1::6, tc=0xb8,
 *   fl=0xfffff, hlim=3, nh=4)/inner4)[:40], inner4 = IP(10.0.0.1 >
 *   192.0.2.80, id=7, ttl=63)/TCP(12345 > 80, S) (40 bytes).
 * gue6_4: Ether(:fe > :02)/IPv6(2001:db8::fe > 2001:db8:1::5)/UDP(40001 >
 *   6080)/Raw("\x00\x04\x00\x00")/inner4: what `ip fou add port 6080 gue -6`
 *   decapsulates. gue4_6: Ether/IP(192.0.2.1 > 198.51.100.7, id=0, DF,
 *   ttl=64)/UDP(40002 > 6080)/Raw("\x00\x29\x00\x00")/inner6.
 * nd_ns: Ether(33:33:ff:00:00:fe)/IPv6(2001:db8::1 > ff02::1:ff00:fe,
 *   hlim=255)/ICMPv6ND_NS(tgt=2001:db8::fe)/ICMPv6NDOptSrcLLAddr(:01).
 * nd_ns_dad: the same from :: (duplicate address detection), no option.
 * nd_na: Ether(:fe > :01)/IPv6(2001:db8::fe > ::1, hlim=255)/ICMPv6ND_NA(
 *   tgt=2001:db8::fe, R=0, S=1, O=1)/ICMPv6NDOptDstLLAddr(:fe).
 * nd_na_unsol: Ether(:02 > 33:33:00:00:00:01)/IPv6(2001:db8::2 > ff02::1,
 *   hlim=255)/ICMPv6ND_NA(tgt=2001:db8::2, R=1, S=0, O=1)/ICMPv6NDOptMTU(
 *   1500)/ICMPv6NDOptDstLLAddr(:02).
 * nd_na_noopt: Ether(:02 > :fe)/IPv6(2001:db8::2 > ::fe, hlim=255)/
 *   ICMPv6ND_NA(tgt=2001:db8::2, R=0, S=1, O=0).
 * nd_ns_build: Ether(:fe > 33:33:ff:12:34:56)/IPv6(2001:db8::fe >
 *   ff02::1:ff12:3456, hlim=255)/ICMPv6ND_NS(tgt=2001:db8:1::12:3456)/
 *   ICMPv6NDOptSrcLLAddr(:fe).
 * icmp6_echo_req/_rep: Ether(:01 > :fe)/IPv6(2001:db8::1 > ::fe, hlim=63,
 *   fl=0x777)/ICMPv6EchoRequest(id=0x1234, seq=9, "equinox-ping6") and
 *   Ether(:fe > :01)/IPv6(::fe > ::1, hlim=64, fl=0x777)/ICMPv6EchoReply(...).
 * icmp4_frag_needed: Ether(:02 > :fe)/IP(203.0.113.1 > 192.0.2.80, ttl=250,
 *   id=9)/ICMP(type=3, code=4, nexthopmtu=1400)/Raw(bytes(orig)[:32]), orig =
 *   IP(192.0.2.80 > 198.51.100.7, ttl=63, id=0x4444, DF, options=[Router
 *   Alert])/TCP(443 > 40000, A, seq=1)/"x"*1400 (IHL 6).
 * icmp6_ptb: Ether(:02 > :fe)/IPv6(2001:db8:3::1 > 2001:db8::80, hlim=60)/
 *   ICMPv6PacketTooBig(mtu=1280)/Raw(bytes(orig6)[:68]), orig6 =
 *   IPv6(2001:db8::80 > 2001:db8:2::7, hlim=63)/TCP(443 > 50000, PA)/"y"*1400.
 * icmp4_time_exceeded: Ether/IP(203.0.113.1 > 10.0.0.1, ttl=250, id=10)/
 *   ICMP(type=11, code=0)/Raw(bytes(trace4)[:28]), trace4 = IP(10.0.0.1 >
 *   192.0.2.80, ttl=1, id=0x99)/UDP(33434 > 33435)/"trace".
 * icmp6_time_exceeded: Ether/IPv6(2001:db8:3::1 > 2001:db8::1, hlim=60)/
 *   ICMPv6TimeExceeded()/Raw(bytes(IPv6(2001:db8::1 > 2001:db8::80, hlim=1)/
 *   IPv6ExtHdrDestOpt()/UDP(33434 > 33435)/"trace")).
 * icmp4_unreach_short: IP(203.0.113.1 > 10.0.0.1, ttl=250, id=11)/
 *   ICMP(type=3, code=3)/Raw(bytes(trace4)[:24]): 4 bytes of UDP only.
 * tcp_probe4: Ether(:fe > :02)/IP(10.0.0.254 > 10.0.0.2, id=0, DF, ttl=64)/
 *   TCP(33333 > 80, seq=0x01020304, S, window=65535).
 * tcp_probe6: Ether(:fe > :02)/IPv6(2001:db8::fe > 2001:db8:1::5, hlim=64)/
 *   TCP(33334 > 8443, seq=0xdeadbeef, ack=0x11223344, RA, window=65535).
 * echo_probe4: Ether(:fe > :02)/IP(10.0.0.254 > 10.0.0.2, id=0, DF, ttl=64)/
 *   ICMP(echo-request, id=0xabcd, seq=3)/bytes(range(56)).
 * echo_probe6: Ether(:fe > :02)/IPv6(2001:db8::fe > 2001:db8:1::5, hlim=64)/
 *   ICMPv6EchoRequest(id=0xabcd, seq=4, bytes(i & 0xff for i in range(300))).
 */
static const uint8_t ip6_outer_6in6[40] = {
	0x62, 0x81, 0x23, 0x45, 0x00, 0x3a, 0x29, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
};

static const uint8_t ip6_outer_4in6[40] = {
	0x6b, 0x8f, 0xff, 0xff, 0x00, 0x28, 0x04, 0x03, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06,
};

static const uint8_t gue6_4[106] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x34, 0x11, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x9c, 0x41,
	0x17, 0xc0, 0x00, 0x34, 0xbb, 0x76, 0x00, 0x04, 0x00, 0x00, 0x45, 0x00, 0x00, 0x28,
	0x00, 0x07, 0x00, 0x00, 0x3f, 0x06, 0xaf, 0x78, 0x0a, 0x00, 0x00, 0x01, 0xc0, 0x00,
	0x02, 0x50, 0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x50, 0x02, 0x20, 0x00, 0x93, 0x08, 0x00, 0x00,
};

static const uint8_t gue4_6[104] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x08, 0x00, 0x45,
	0x00, 0x00, 0x5a, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x4e, 0x57, 0xc0, 0x00, 0x02, 0x01,
	0xc6, 0x33, 0x64, 0x07, 0x9c, 0x42, 0x17, 0xc0, 0x00, 0x46, 0xed, 0xca, 0x00, 0x29, 0x00,
	0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x12, 0x11, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x13, 0x88, 0x00, 0x35,
	0x00, 0x12, 0xf9, 0x83, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
};

static const uint8_t nd_ns[86] = {
	0x33, 0x33, 0xff, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
	0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0xfe, 0x87, 0x00, 0x1a, 0x2f, 0x00, 0x00,
	0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xfe, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
};

static const uint8_t nd_ns_dad[78] = {
	0x33, 0x33, 0xff, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86,
	0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x3a, 0xff, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00,
	0x00, 0xfe, 0x87, 0x00, 0x4a, 0xf3, 0x00, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d,
	0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe,
};

static const uint8_t nd_na[86] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x86, 0xdd, 0x60,
	0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00, 0x87, 0x7d, 0x60, 0x00,
	0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xfe, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe,
};

static const uint8_t nd_na_unsol[94] = {
	0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x28, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00,
	0x6e, 0x42, 0xa0, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x05, 0xdc, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
};

static const uint8_t nd_na_noopt[78] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86,
	0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20,
	0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0xfe, 0x88, 0x00, 0xad, 0x7f, 0x40, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d,
	0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
};

static const uint8_t nd_ns_build[86] = {
	0x33, 0x33, 0xff, 0x12, 0x34, 0x56, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x86, 0xdd, 0x60,
	0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x12, 0x34, 0x56, 0x87, 0x00, 0xb1, 0x5f, 0x00, 0x00,
	0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x12, 0x34, 0x56, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe,
};

static const uint8_t icmp6_echo_req[75] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
	0x00, 0x07, 0x77, 0x00, 0x15, 0x3a, 0x3f, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x3a, 0xb9, 0x12, 0x34,
	0x00, 0x09, 0x65, 0x71, 0x75, 0x69, 0x6e, 0x6f, 0x78, 0x2d, 0x70, 0x69, 0x6e, 0x67, 0x36,
};

static const uint8_t icmp6_echo_rep[75] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x86, 0xdd, 0x60,
	0x00, 0x07, 0x77, 0x00, 0x15, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x81, 0x00, 0x39, 0xb9, 0x12, 0x34,
	0x00, 0x09, 0x65, 0x71, 0x75, 0x69, 0x6e, 0x6f, 0x78, 0x2d, 0x70, 0x69, 0x6e, 0x67, 0x36,
};

static const uint8_t icmp4_frag_needed[74] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45,
	0x00, 0x00, 0x3c, 0x00, 0x09, 0x00, 0x00, 0xfa, 0x01, 0xc2, 0x65, 0xcb, 0x00, 0x71, 0x01,
	0xc0, 0x00, 0x02, 0x50, 0x03, 0x04, 0x59, 0x87, 0x00, 0x00, 0x05, 0x78, 0x46, 0x00, 0x05,
	0xa4, 0x44, 0x44, 0x40, 0x00, 0x3f, 0x06, 0x70, 0x80, 0xc0, 0x00, 0x02, 0x50, 0xc6, 0x33,
	0x64, 0x07, 0x94, 0x04, 0x00, 0x00, 0x01, 0xbb, 0x9c, 0x40, 0x00, 0x00, 0x00, 0x01,
};

static const uint8_t icmp6_ptb[130] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd, 0x60,
	0x00, 0x00, 0x00, 0x00, 0x4c, 0x3a, 0x3c, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x03, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x02, 0x00, 0x78, 0x8c, 0x00, 0x00,
	0x05, 0x00, 0x60, 0x00, 0x00, 0x00, 0x05, 0x8c, 0x06, 0x3f, 0x20, 0x01, 0x0d, 0xb8, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x01, 0xbb, 0xc3,
	0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x18, 0x20, 0x00, 0x41, 0x26,
	0x00, 0x00, 0x79, 0x79, 0x79, 0x79, 0x79, 0x79, 0x79, 0x79,
};

static const uint8_t icmp4_time_exceeded[70] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x38, 0x00, 0x0a, 0x00, 0x00, 0xfa, 0x01, 0x7a, 0xb8, 0xcb, 0x00,
	0x71, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x0b, 0x00, 0xfc, 0x45, 0x00, 0x00, 0x00, 0x00,
	0x45, 0x00, 0x00, 0x21, 0x00, 0x99, 0x00, 0x00, 0x01, 0x11, 0xec, 0xe2, 0x0a, 0x00,
	0x00, 0x01, 0xc0, 0x00, 0x02, 0x50, 0x82, 0x9a, 0x82, 0x9b, 0x00, 0x0d, 0xf3, 0x76,
};

static const uint8_t icmp6_time_exceeded[123] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x45, 0x3a, 0x3c, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00,
	0xf3, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x15, 0x3c, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x80, 0x11, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x82, 0x9a,
	0x82, 0x9b, 0x00, 0x0d, 0x63, 0xd5, 0x74, 0x72, 0x61, 0x63, 0x65,
};

static const uint8_t icmp4_unreach_short[66] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x34, 0x00, 0x0b, 0x00, 0x00, 0xfa, 0x01, 0x7a, 0xbb, 0xcb, 0x00,
	0x71, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x03, 0x03, 0xf7, 0xc6, 0x00, 0x00, 0x00, 0x00,
	0x45, 0x00, 0x00, 0x21, 0x00, 0x99, 0x00, 0x00, 0x01, 0x11, 0xec, 0xe2, 0x0a, 0x00,
	0x00, 0x01, 0xc0, 0x00, 0x02, 0x50, 0x82, 0x9a, 0x82, 0x9b,
};

static const uint8_t tcp_probe4[54] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x25, 0xd1, 0x0a, 0x00,
	0x00, 0xfe, 0x0a, 0x00, 0x00, 0x02, 0x82, 0x35, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04,
	0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0xff, 0xff, 0x14, 0x58, 0x00, 0x00,
};

static const uint8_t tcp_probe6[74] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x86, 0xdd, 0x60,
	0x00, 0x00, 0x00, 0x00, 0x14, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x82, 0x36, 0x20, 0xfb, 0xde, 0xad,
	0xbe, 0xef, 0x11, 0x22, 0x33, 0x44, 0x50, 0x14, 0xff, 0xff, 0xce, 0x25, 0x00, 0x00,
};

static const uint8_t echo_probe4[98] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0x25, 0xaa, 0x0a, 0x00,
	0x00, 0xfe, 0x0a, 0x00, 0x00, 0x02, 0x08, 0x00, 0x55, 0x1c, 0xab, 0xcd, 0x00, 0x03,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
	0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
	0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
	0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

static const uint8_t echo_probe6[362] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x86, 0xdd, 0x60,
	0x00, 0x00, 0x00, 0x01, 0x34, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x80, 0x00, 0xe6, 0x23, 0xab, 0xcd,
	0x00, 0x04, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
	0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
	0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
	0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
	0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
	0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
	0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75,
	0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84,
	0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93,
	0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
	0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1,
	0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0,
	0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde,
	0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed,
	0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc,
	0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a,
	0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
	0x2a, 0x2b,
};

static const uint8_t mac_client[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_me[6] = { 0x02, 0, 0, 0, 0, 0xfe };
static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_zero[6];

/* A heap copy of exactly len bytes, so ASan sees any read past the end. */
static uint8_t *
dup_frame(const uint8_t *f, uint32_t len)
{
	uint8_t *p = malloc(len > 0 ? len : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, f, len);
	return p;
}

static int
parse_copy(const uint8_t *f, uint32_t len, struct net_hdrs *h)
{
	uint8_t *p = dup_frame(f, len);
	int ret = net_parse(p, len, h);

	free(p);
	return ret;
}

/* Rewrite the IPv4 header checksum after a test edited the header. */
static void
fix_ip4_csum(uint8_t *ip)
{
	net_put16(ip + 10, net_ip4_hdr_csum(ip, (ip[0] & 0x0f) * 4));
}

static void
check_syn4(const struct net_hdrs *h, uint16_t l2_len)
{
	static const uint8_t src[16] = { 10, 0, 0, 1 };
	static const uint8_t dst[16] = { 10, 0, 0, 2 };

	ck_assert_uint_eq(h->l2_len, l2_len);
	ck_assert_uint_eq(h->ethertype, NET_ETHERTYPE_IP4);
	ck_assert_uint_eq(h->family, 4);
	ck_assert_uint_eq(h->l3_len, 20);
	ck_assert_uint_eq(h->l3_total, 44);
	ck_assert_uint_eq(h->l4_off, l2_len + 20);
	ck_assert_uint_eq(h->l4_proto, NET_PROTO_TCP);
	ck_assert_uint_eq(h->frag, NET_FRAG_NONE);
	ck_assert_uint_eq(h->tcp_flags, NET_TCP_SYN);
	ck_assert_uint_eq(h->ttl, 64);
	ck_assert_uint_eq(h->tos, 0x10);
	ck_assert_uint_eq(h->sport, 12345);
	ck_assert_uint_eq(h->dport, 80);
	ck_assert_uint_eq(h->ip4_id, 1);
	ck_assert_mem_eq(h->src, src, 16);
	ck_assert_mem_eq(h->dst, dst, 16);
}

START_TEST(test_tcp_syn4)
{
	struct net_hdrs h;

	ck_assert_int_eq(parse_copy(tcp_syn4, sizeof(tcp_syn4), &h), NET_PARSE_OK);
	check_syn4(&h, 14);
	ck_assert_uint_eq(h.vlan, 0);
}
END_TEST

START_TEST(test_tcp_syn4_vlan)
{
	struct net_hdrs h;

	ck_assert_int_eq(parse_copy(tcp_syn4_vlan, sizeof(tcp_syn4_vlan), &h), NET_PARSE_OK);
	check_syn4(&h, 18);
	ck_assert_uint_eq(h.vlan, 100);
}
END_TEST

START_TEST(test_tcp_syn4_qinq)
{
	struct net_hdrs h;

	ck_assert_int_eq(parse_copy(tcp_syn4_qinq, sizeof(tcp_syn4_qinq), &h), NET_PARSE_OK);
	check_syn4(&h, 22);
	ck_assert_uint_eq(h.vlan, 200);
}
END_TEST

START_TEST(test_vlan_too_deep)
{
	uint8_t f[sizeof(tcp_syn4_qinq) + 4];
	struct net_hdrs h;

	/* A third tag (0x8100, vlan 300) between the two and IPv4. */
	memcpy(f, tcp_syn4_qinq, 20);
	f[20] = 0x81;
	f[21] = 0x00;
	f[22] = 0x01;
	f[23] = 0x2c;
	memcpy(f + 24, tcp_syn4_qinq + 20, sizeof(tcp_syn4_qinq) - 20);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_VLAN_TOO_DEEP);
	ck_assert_int_eq(parse_copy(tcp_syn4_vlan, 16, &h), NET_ERR_VLAN_TRUNC);
}
END_TEST

START_TEST(test_padding_allowed)
{
	uint8_t f[64];
	struct net_hdrs h;

	/* Ethernet pads a 58-byte frame to 60; the IP total length ignores it. */
	memset(f, 0xee, sizeof(f));
	memcpy(f, tcp_syn4, sizeof(tcp_syn4));
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_PARSE_OK);
	check_syn4(&h, 14);
}
END_TEST

START_TEST(test_ip4_fragments)
{
	uint8_t f[sizeof(tcp_syn4)];
	struct net_hdrs h;

	memcpy(f, tcp_syn4, sizeof(f));
	net_put16(f + 14 + 6, 0x2000); /* MF, offset 0 */
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.frag, NET_FRAG_FIRST);
	ck_assert_uint_eq(h.sport, 12345);

	net_put16(f + 14 + 6, 185); /* offset 1480, last fragment */
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.frag, NET_FRAG_LATER);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_TCP);
	ck_assert_uint_eq(h.sport, 0);
	ck_assert_uint_eq(h.dport, 0);
	ck_assert_uint_eq(h.tcp_flags, 0);

	/* A later fragment's first bytes are data: a bad "data offset" is fine. */
	f[14 + 20 + 12] = 0xf0;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_PARSE_OK);
}
END_TEST

START_TEST(test_ip4_other_proto)
{
	uint8_t f[sizeof(tcp_syn4)];
	struct net_hdrs h;

	memcpy(f, tcp_syn4, sizeof(f));
	f[14 + 9] = 47; /* GRE */
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.l4_proto, 47);
	ck_assert_uint_eq(h.sport, 0);
	ck_assert_uint_eq(h.dport, 0);
	ck_assert_uint_eq(h.l4_off, 34);
}
END_TEST

START_TEST(test_ip4_bad_csum)
{
	uint8_t f[sizeof(tcp_syn4)];
	struct net_hdrs h;

	memcpy(f, tcp_syn4, sizeof(f));
	f[14 + 10] ^= 0x01;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_CSUM);
	/* A TTL decrement without a checksum update. */
	memcpy(f, tcp_syn4, sizeof(f));
	f[14 + 8]--;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_CSUM);
	/* 0xffff and 0x0000 are the same one's-complement zero. */
	ck_assert_uint_eq(net_csum_fold(net_csum_partial(tcp_syn4 + 14, 20, 0)), 0);
}
END_TEST

START_TEST(test_ip4_bad_header)
{
	uint8_t f[sizeof(tcp_syn4)];
	struct net_hdrs h;

	memcpy(f, tcp_syn4, sizeof(f));
	f[14] = 0x44; /* IHL 4 */
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_IHL);
	f[14] = 0x40; /* IHL 0 */
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_IHL);
	f[14] = 0x4f; /* IHL 15: 60 bytes, more than the frame holds */
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_TRUNC);
	f[14] = 0x55;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_VERSION);
	f[14] = 0x65;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_VERSION);
	/* IHL 6, checksum fixed: TCP now starts 4 bytes late, its offset is junk. */
	f[14] = 0x46;
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_TCP_BAD_OFFSET);
}
END_TEST

START_TEST(test_ip4_bad_total_len)
{
	uint8_t f[sizeof(tcp_syn4)];
	struct net_hdrs h;

	memcpy(f, tcp_syn4, sizeof(f));
	net_put16(f + 14 + 2, 19); /* below the header length */
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_TOTAL_LEN);
	net_put16(f + 14 + 2, 45); /* one byte more than the frame has */
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_TOTAL_LEN);
	net_put16(f + 14 + 2, 0xffff);
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_TOTAL_LEN);
	/* Shorter than the TCP header: the transport part is cut. */
	net_put16(f + 14 + 2, 20 + 19);
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_L4_TRUNC);
}
END_TEST

START_TEST(test_tcp_bad_offset)
{
	uint8_t f[sizeof(tcp_syn4)];
	struct net_hdrs h;

	memcpy(f, tcp_syn4, sizeof(f));
	f[34 + 12] = 0x70; /* 28 bytes, 24 present */
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_TCP_BAD_OFFSET);
	f[34 + 12] = 0xf0;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_TCP_BAD_OFFSET);
	f[34 + 12] = 0x40;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_TCP_BAD_OFFSET);
	f[34 + 12] = 0x60; /* exactly the 24 bytes present */
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_PARSE_OK);
}
END_TEST

START_TEST(test_tcp6_hbh)
{
	static const uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
	struct net_hdrs h;

	ck_assert_int_eq(parse_copy(tcp6_hbh, sizeof(tcp6_hbh), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.family, 6);
	ck_assert_uint_eq(h.ethertype, NET_ETHERTYPE_IP6);
	ck_assert_uint_eq(h.l2_len, 14);
	ck_assert_uint_eq(h.l3_len, 48);
	ck_assert_uint_eq(h.l3_total, 73);
	ck_assert_uint_eq(h.l4_off, 62);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_TCP);
	ck_assert_uint_eq(h.frag, NET_FRAG_NONE);
	ck_assert_uint_eq(h.tcp_flags, NET_TCP_PSH | NET_TCP_ACK);
	ck_assert_uint_eq(h.ttl, 60);
	ck_assert_uint_eq(h.tos, 0x28);
	ck_assert_uint_eq(h.sport, 40000);
	ck_assert_uint_eq(h.dport, 443);
	ck_assert_mem_eq(h.src, src, 16);
	ck_assert_mem_eq(h.dst, dst, 16);
}
END_TEST

START_TEST(test_udp6_fragments)
{
	struct net_hdrs h;

	ck_assert_int_eq(parse_copy(udp6_frag_first, sizeof(udp6_frag_first), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.family, 6);
	ck_assert_uint_eq(h.frag, NET_FRAG_FIRST);
	ck_assert_uint_eq(h.l3_len, 48);
	ck_assert_uint_eq(h.l3_total, 96);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_UDP);
	ck_assert_uint_eq(h.ip4_id, 0x12345678);
	ck_assert_uint_eq(h.sport, 5000);
	ck_assert_uint_eq(h.dport, 53);

	ck_assert_int_eq(parse_copy(udp6_frag_later, sizeof(udp6_frag_later), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.frag, NET_FRAG_LATER);
	ck_assert_uint_eq(h.l3_len, 48);
	ck_assert_uint_eq(h.l4_off, 62);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_UDP);
	ck_assert_uint_eq(h.ip4_id, 0x12345678);
	ck_assert_uint_eq(h.sport, 0);
	ck_assert_uint_eq(h.dport, 0);
}
END_TEST

START_TEST(test_udp6_chain)
{
	struct net_hdrs h;

	ck_assert_int_eq(parse_copy(udp6_chain, sizeof(udp6_chain), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.l3_len, 88);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_UDP);
	ck_assert_uint_eq(h.frag, NET_FRAG_FIRST);
	ck_assert_uint_eq(h.ip4_id, 7);
	ck_assert_uint_eq(h.sport, 1111);
	ck_assert_uint_eq(h.dport, 2222);
}
END_TEST

/* IPv6 + n destination-options headers + UDP(0x1234 > 0x5678) at f. */
static void
build_dstopts(uint8_t *f, unsigned int n)
{
	unsigned int i;
	uint8_t *p;

	memcpy(f, tcp6_hbh, 54);
	net_put16(f + 18, (uint16_t)(n * 8 + 8));
	f[20] = 60;
	for (i = 0; i < n; i++) {
		p = f + 54 + i * 8;
		memset(p, 0, 8);
		p[0] = i + 1 < n ? 60 : NET_PROTO_UDP;
		p[2] = 1; /* PadN: 4 bytes of padding fill the header */
		p[3] = 4;
	}
	p = f + 54 + n * 8;
	memset(p, 0, 8);
	net_put16(p, 0x1234);
	net_put16(p + 2, 0x5678);
	net_put16(p + 4, 8);
}

START_TEST(test_ip6_bad)
{
	uint8_t f[14 + 40 + 9 * 8 + 8];
	struct net_hdrs h;

	memcpy(f, tcp6_hbh, sizeof(tcp6_hbh));
	f[14] = 0x40;
	ck_assert_int_eq(parse_copy(f, sizeof(tcp6_hbh), &h), NET_ERR_IP6_BAD_VERSION);
	f[14] = 0x62;
	net_put16(f + 18, 34); /* one byte more than present */
	ck_assert_int_eq(parse_copy(f, sizeof(tcp6_hbh), &h), NET_ERR_IP6_BAD_PAYLOAD_LEN);
	net_put16(f + 18, 33);
	f[54 + 1] = 4; /* hop-by-hop of 40 bytes in a 33-byte payload */
	ck_assert_int_eq(parse_copy(f, sizeof(tcp6_hbh), &h), NET_ERR_IP6_BAD_EXT_HDR);
	f[54 + 1] = 0;
	net_put16(f + 18, 7); /* payload ends inside the hop-by-hop header */
	ck_assert_int_eq(parse_copy(f, sizeof(tcp6_hbh), &h), NET_ERR_IP6_BAD_EXT_HDR);

	/* Nine destination-options headers: one more than the walk allows. */
	build_dstopts(f, 9);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP6_BAD_EXT_HDR);
	/* Eight is fine. */
	build_dstopts(f, 8);
	ck_assert_int_eq(parse_copy(f, 14 + 40 + 8 * 8 + 8, &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.l3_len, 40 + 64);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_UDP);
	ck_assert_uint_eq(h.sport, 0x1234);

	/* Hop-by-hop anywhere but first is malformed (RFC 8200 §4.1). */
	f[54 + 7 * 8] = 0;
	ck_assert_int_eq(parse_copy(f, 14 + 40 + 8 * 8 + 8, &h), NET_ERR_IP6_BAD_EXT_HDR);
}
END_TEST

START_TEST(test_icmp_ports)
{
	struct net_hdrs h;

	ck_assert_int_eq(parse_copy(icmp_echo_req, sizeof(icmp_echo_req), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_ICMP);
	ck_assert_uint_eq(h.l3_total, 32);
	ck_assert_uint_eq(h.sport, 0x4242);
	ck_assert_uint_eq(h.dport, 8 << 8 | 0);

	ck_assert_int_eq(parse_copy(icmp6_echo, sizeof(icmp6_echo), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_ICMP6);
	ck_assert_uint_eq(h.sport, 0x99);
	ck_assert_uint_eq(h.dport, 128 << 8 | 0);
	/* Cut the ICMPv6 header to 7 bytes. */
	ck_assert_int_eq(parse_copy(icmp6_echo, 14 + 40 + 7, &h), NET_ERR_IP6_BAD_PAYLOAD_LEN);
}
END_TEST

START_TEST(test_l4_trunc)
{
	uint8_t f[sizeof(icmp6_echo)];
	struct net_hdrs h;

	memcpy(f, icmp6_echo, sizeof(f));
	net_put16(f + 18, 7);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_L4_TRUNC);
	f[20] = NET_PROTO_UDP;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_L4_TRUNC);
	f[20] = NET_PROTO_TCP;
	net_put16(f + 18, 12);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_L4_TRUNC);
	net_put16(f + 18, 8);
	f[20] = NET_PROTO_UDP;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.sport, 0x8000);
}
END_TEST

START_TEST(test_arp)
{
	static const uint8_t spa[4] = { 10, 0, 0, 1 };
	static const uint8_t tpa[4] = { 10, 0, 0, 254 };
	struct net_arp a;
	struct net_hdrs h;
	uint8_t f[sizeof(arp_req)];

	memcpy(f, arp_req, sizeof(f));
	ck_assert_int_eq(net_parse(f, sizeof(f), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.family, 0);
	ck_assert_uint_eq(h.ethertype, NET_ETHERTYPE_ARP);
	ck_assert_uint_eq(h.l2_len, 14);
	ck_assert_int_eq(net_arp_parse(f, sizeof(f), &h, &a), NET_PARSE_OK);
	ck_assert_uint_eq(a.op, NET_ARP_REQUEST);
	ck_assert_mem_eq(a.sha, mac_client, 6);
	ck_assert_mem_eq(a.spa, spa, 4);
	ck_assert_mem_eq(a.tha, mac_zero, 6);
	ck_assert_mem_eq(a.tpa, tpa, 4);

	ck_assert_int_eq(net_arp_parse(f, 14 + 27, &h, &a), NET_ERR_ARP_TRUNC);
	ck_assert_int_eq(net_arp_parse(f, 14 + 28, &h, &a), NET_PARSE_OK);
	f[15] = 6; /* htype IEEE 802 */
	ck_assert_int_eq(net_arp_parse(f, sizeof(f), &h, &a), NET_ERR_ARP_BAD_FORMAT);
	memcpy(f, arp_req, sizeof(f));
	f[17] = 0xdd; /* ptype IPv6 */
	ck_assert_int_eq(net_arp_parse(f, sizeof(f), &h, &a), NET_ERR_ARP_BAD_FORMAT);
	memcpy(f, arp_req, sizeof(f));
	f[18] = 8;
	ck_assert_int_eq(net_arp_parse(f, sizeof(f), &h, &a), NET_ERR_ARP_BAD_FORMAT);
	memcpy(f, arp_req, sizeof(f));
	f[19] = 16;
	ck_assert_int_eq(net_arp_parse(f, sizeof(f), &h, &a), NET_ERR_ARP_BAD_FORMAT);

	/* Not an ARP frame at all. */
	ck_assert_int_eq(net_parse(tcp_syn4, sizeof(tcp_syn4), &h), NET_PARSE_OK);
	ck_assert_int_eq(net_arp_parse(tcp_syn4, sizeof(tcp_syn4), &h, &a), NET_ERR_ARP_BAD_FORMAT);
}
END_TEST

START_TEST(test_arp_build)
{
	static const uint8_t me[4] = { 10, 0, 0, 254 };
	static const uint8_t client[4] = { 10, 0, 0, 1 };
	uint8_t buf[NET_ETH_MIN_FRAME];

	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(
		net_arp_build(buf, NET_ARP_REPLY, mac_client, mac_me, me, mac_client, client),
		NET_ETH_MIN_FRAME);
	ck_assert_mem_eq(buf, arp_reply, sizeof(arp_reply));

	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(
		net_arp_build(buf, NET_ARP_REQUEST, mac_bcast, mac_client, client, mac_zero, me),
		NET_ETH_MIN_FRAME);
	ck_assert_mem_eq(buf, arp_req, sizeof(arp_req));
}
END_TEST

static void
check_echo(const uint8_t *req, const uint8_t *rep, uint32_t len)
{
	uint8_t *f = dup_frame(req, len);
	struct net_hdrs h;

	ck_assert_int_eq(net_parse(f, len, &h), NET_PARSE_OK);
	ck_assert_int_eq(net_icmp4_echo_reply(f, len, &h, mac_me), 0);
	ck_assert_mem_eq(f, rep, len);
	/* The reply parses, and is not an echo request any more. */
	ck_assert_int_eq(net_parse(f, len, &h), NET_PARSE_OK);
	ck_assert_int_eq(net_icmp4_echo_reply(f, len, &h, mac_me), -EINVAL);
	ck_assert_mem_eq(f, rep, len);
	free(f);
}

START_TEST(test_icmp_echo_reply)
{
	check_echo(icmp_echo_req, icmp_echo_rep, sizeof(icmp_echo_req));
	check_echo(icmp_echo_req_vlan, icmp_echo_rep_vlan, sizeof(icmp_echo_req_vlan));
}
END_TEST

START_TEST(test_icmp_echo_reply_bad)
{
	uint8_t f[sizeof(icmp_echo_req)];
	struct net_hdrs h;

	/* A wrong ICMP checksum leaves the frame untouched. */
	memcpy(f, icmp_echo_req, sizeof(f));
	f[14 + 20 + 2] ^= 0x40;
	ck_assert_int_eq(net_parse(f, sizeof(f), &h), NET_PARSE_OK);
	ck_assert_int_eq(net_icmp4_echo_reply(f, sizeof(f), &h, mac_me), -EINVAL);
	f[14 + 20 + 2] ^= 0x40;
	ck_assert_mem_eq(f, icmp_echo_req, sizeof(f));

	/* Code 1 is not an echo request. */
	f[14 + 20 + 1] = 1;
	net_put16(f + 14 + 20 + 2, 0);
	net_put16(f + 14 + 20 + 2, net_csum_fold(net_csum_partial(f + 34, 12, 0)));
	ck_assert_int_eq(net_parse(f, sizeof(f), &h), NET_PARSE_OK);
	ck_assert_int_eq(net_icmp4_echo_reply(f, sizeof(f), &h, mac_me), -EINVAL);

	/* An h that claims more than the frame holds is refused. */
	memcpy(f, icmp_echo_req, sizeof(f));
	ck_assert_int_eq(net_parse(f, sizeof(f), &h), NET_PARSE_OK);
	h.l3_total = 100;
	ck_assert_int_eq(net_icmp4_echo_reply(f, sizeof(f), &h, mac_me), -EINVAL);
	/* So is a TCP frame. */
	ck_assert_int_eq(net_parse(tcp_syn4, sizeof(tcp_syn4), &h), NET_PARSE_OK);
	memcpy(f, tcp_syn4, sizeof(tcp_syn4));
	ck_assert_int_eq(net_icmp4_echo_reply(f, sizeof(tcp_syn4), &h, mac_me), -EINVAL);
}
END_TEST

START_TEST(test_ipip4_write)
{
	static const uint8_t src[4] = { 192, 0, 2, 1 };
	static const uint8_t dst1[4] = { 198, 51, 100, 7 };
	static const uint8_t dst2[4] = { 198, 51, 100, 8 };
	uint8_t buf[20];

	memset(buf, 0xaa, sizeof(buf));
	net_ipip4_write(buf, src, dst1, 58, NET_PROTO_IPIP, 0x10, 64, 0xabcd, true);
	ck_assert_mem_eq(buf, ipip4_outer_df, 20);
	ck_assert_uint_eq(net_csum_fold(net_csum_partial(buf, 20, 0)), 0);

	memset(buf, 0x55, sizeof(buf));
	net_ipip4_write(buf, src, dst2, 48, NET_PROTO_IP6, 0, 3, 0, false);
	ck_assert_mem_eq(buf, ipip4_outer_6in4, 20);
}
END_TEST

START_TEST(test_csum_rfc1071)
{
	/* RFC 1071 §3's example: the sum is 0xddf2, its complement 0x220d. */
	static const uint8_t b[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	static const uint8_t odd[3] = { 0x12, 0x34, 0x56 };

	ck_assert_uint_eq(net_csum_fold(net_csum_partial(b, 8, 0)), 0x220d);
	ck_assert_uint_eq(net_csum_fold(net_csum_partial(b + 4, 4, net_csum_partial(b, 4, 0))),
			  0x220d);
	ck_assert_uint_eq(net_csum_partial(odd, 3, 0), 0x1234 + 0x5600);
	ck_assert_uint_eq(net_ip4_hdr_csum(tcp_syn4 + 14, 20), net_get16(tcp_syn4 + 24));
}
END_TEST

START_TEST(test_err_names)
{
	ck_assert_str_eq(net_parse_err_name(NET_PARSE_OK), "ok");
#define _(sym, str) ck_assert_str_eq(net_parse_err_name(NET_ERR_##sym), str);
	foreach_net_parse_err
#undef _
		ck_assert_str_eq(net_parse_err_name(NET_ERR_TCP_BAD_OFFSET), "tcp_bad_data_offset");
	ck_assert_str_eq(net_parse_err_name(NET_ERR_MAX), "unknown");
	ck_assert_str_eq(net_parse_err_name(-1), "unknown");
}
END_TEST

static const uint8_t mac_server[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t ip6_client[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };
static const uint8_t ip6_me[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0xfe };
static const uint8_t ip6_backend[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x01, [15] = 0x05 };
static const uint8_t ip6_unspec[16];

/* The ICMPv6 checksum of an untagged frame without extension headers, after an edit. */
static void
fix_icmp6_csum(uint8_t *f)
{
	net_put16(f + 56,
		  net_ip6_l4_csum(f + 22, f + 38, NET_PROTO_ICMP6, f + 54, net_get16(f + 18), 2));
}

START_TEST(test_ip6_write)
{
	static const uint8_t backend2[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x01, [15] = 0x06 };
	uint8_t buf[40];

	memset(buf, 0xaa, sizeof(buf));
	net_ip6_write(buf, ip6_me, ip6_backend, 58, NET_PROTO_IP6, 0x28, 0x12345, 64);
	ck_assert_mem_eq(buf, ip6_outer_6in6, 40);
	/* Bits of the flow label above the low 20 cannot leak into the class. */
	memset(buf, 0x55, sizeof(buf));
	net_ip6_write(buf, ip6_me, ip6_backend, 58, NET_PROTO_IP6, 0x28, 0xfff12345, 64);
	ck_assert_mem_eq(buf, ip6_outer_6in6, 40);
	memset(buf, 0xaa, sizeof(buf));
	net_ip6_write(buf, ip6_me, backend2, 40, NET_PROTO_IPIP, 0xb8, 0xfffff, 3);
	ck_assert_mem_eq(buf, ip6_outer_4in6, 40);
}
END_TEST

/* Encapsulate what follows the GUE header of a scapy frame again and compare. */
START_TEST(test_gue_frames)
{
	static const uint8_t gue_ip4[NET_GUE_LEN] = { 0x00, 0x04, 0x00, 0x00 };
	static const uint8_t gue_ip6[NET_GUE_LEN] = { 0x00, 0x29, 0x00, 0x00 };
	static const uint8_t src4[4] = { 192, 0, 2, 1 };
	static const uint8_t dst4[4] = { 198, 51, 100, 7 };
	uint8_t buf[128];
	struct net_hdrs h;
	uint16_t udp_len;

	/* IPv4 in GUE in IPv6: the UDP checksum is mandatory over IPv6. */
	udp_len = NET_UDP_LEN + NET_GUE_LEN + 40;
	memset(buf, 0xaa, sizeof(buf));
	net_eth_write(buf, mac_server, mac_me, NET_ETHERTYPE_IP6);
	net_ip6_write(buf + 14, ip6_me, ip6_backend, udp_len, NET_PROTO_UDP, 0, 0, 64);
	net_udp_write(buf + 54, 40001, 6080, udp_len);
	ck_assert_uint_eq(net_get16(buf + 60), 0);
	net_gue_write(buf + 62, NET_PROTO_IPIP);
	ck_assert_mem_eq(buf + 62, gue_ip4, NET_GUE_LEN);
	memcpy(buf + 66, gue6_4 + 66, 40);
	net_put16(buf + 60,
		  net_ip6_l4_csum(buf + 22, buf + 38, NET_PROTO_UDP, buf + 54, udp_len, 6));
	ck_assert_uint_eq(14 + 40 + udp_len, sizeof(gue6_4));
	ck_assert_mem_eq(buf, gue6_4, sizeof(gue6_4));
	ck_assert_int_eq(parse_copy(buf, sizeof(gue6_4), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_UDP);
	ck_assert_uint_eq(h.dport, 6080);

	/* IPv6 in GUE in IPv4 (DF, id 0), with a UDP checksum too. */
	udp_len = NET_UDP_LEN + NET_GUE_LEN + 58;
	memset(buf, 0x55, sizeof(buf));
	net_eth_write(buf, mac_server, mac_me, NET_ETHERTYPE_IP4);
	net_ipip4_write(buf + 14, src4, dst4, udp_len, NET_PROTO_UDP, 0, 64, 0, true);
	net_udp_write(buf + 34, 40002, 6080, udp_len);
	net_gue_write(buf + 42, NET_PROTO_IP6);
	ck_assert_mem_eq(buf + 42, gue_ip6, NET_GUE_LEN);
	memcpy(buf + 46, gue4_6 + 46, 58);
	net_put16(buf + 40,
		  net_ip4_l4_csum(buf + 26, buf + 30, NET_PROTO_UDP, buf + 34, udp_len, 6));
	ck_assert_uint_eq(14 + 20 + udp_len, sizeof(gue4_6));
	ck_assert_mem_eq(buf, gue4_6, sizeof(gue4_6));
}
END_TEST

START_TEST(test_l4_csum)
{
	uint8_t f[sizeof(gue6_4)];
	uint8_t u[10];
	uint16_t c;

	/* Against what scapy stored. */
	ck_assert_uint_eq(
		net_ip4_l4_csum(tcp_syn4 + 26, tcp_syn4 + 30, NET_PROTO_TCP, tcp_syn4 + 34, 24, 16),
		net_get16(tcp_syn4 + 50));
	ck_assert_uint_eq(
		net_ip6_l4_csum(tcp6_hbh + 22, tcp6_hbh + 38, NET_PROTO_TCP, tcp6_hbh + 62, 25, 16),
		net_get16(tcp6_hbh + 78));
	ck_assert_uint_eq(net_ip6_l4_csum(icmp6_echo + 22, icmp6_echo + 38, NET_PROTO_ICMP6,
					  icmp6_echo + 54, 12, 2),
			  0x5ee3);
	ck_assert_uint_eq(
		net_ip6_l4_csum(nd_na + 22, nd_na + 38, NET_PROTO_ICMP6, nd_na + 54, 32, 2),
		net_get16(nd_na + 56));
	ck_assert_uint_eq(
		net_ip6_l4_csum(gue6_4 + 22, gue6_4 + 38, NET_PROTO_UDP, gue6_4 + 54, 52, 6),
		net_get16(gue6_4 + 60));
	ck_assert_uint_eq(
		net_ip4_l4_csum(gue4_6 + 26, gue4_6 + 30, NET_PROTO_UDP, gue4_6 + 34, 70, 6),
		net_get16(gue4_6 + 40));
	ck_assert_uint_eq(net_ip6_l4_csum(echo_probe6 + 22, echo_probe6 + 38, NET_PROTO_ICMP6,
					  echo_probe6 + 54, 308, 2),
			  net_get16(echo_probe6 + 56));

	/* Whatever the field holds is not summed. */
	memcpy(f, gue6_4, sizeof(f));
	net_put16(f + 60, 0x1234);
	ck_assert_uint_eq(net_ip6_l4_csum(f + 22, f + 38, NET_PROTO_UDP, f + 54, 52, 6),
			  net_get16(gue6_4 + 60));
	/* Summed with the field (offset outside l4), a right checksum gives all ones. */
	ck_assert_uint_eq(
		net_ip6_l4_csum(gue6_4 + 22, gue6_4 + 38, NET_PROTO_UDP, gue6_4 + 54, 52, 52),
		0xffff);
	ck_assert_uint_eq(net_ip6_l4_csum(gue6_4 + 22, gue6_4 + 38, NET_PROTO_UDP, gue6_4 + 54, 52,
					  UINT32_MAX),
			  0xffff);

	/* An odd offset: the same as summing with those two bytes zeroed. */
	memcpy(f, gue6_4, sizeof(f));
	f[54 + 9] = 0x12;
	f[54 + 10] = 0x34;
	c = net_ip6_l4_csum(f + 22, f + 38, NET_PROTO_UDP, f + 54, 52, 9);
	f[54 + 9] = 0;
	f[54 + 10] = 0;
	ck_assert_uint_eq(c, net_ip6_l4_csum(f + 22, f + 38, NET_PROTO_UDP, f + 54, 52, 52));
	/* And at the odd last byte of an odd length. */
	f[54 + 50] = 0x77;
	c = net_ip6_l4_csum(f + 22, f + 38, NET_PROTO_UDP, f + 54, 51, 49);
	f[54 + 49] = 0;
	f[54 + 50] = 0;
	ck_assert_uint_eq(c, net_ip6_l4_csum(f + 22, f + 38, NET_PROTO_UDP, f + 54, 51, 51));

	/* A sum that comes out 0 is returned as 0xffff (RFC 768: 0 is "none"). */
	net_udp_write(u, 1, 2, sizeof(u));
	u[8] = 0;
	u[9] = 0;
	c = net_ip6_l4_csum(ip6_client, ip6_me, NET_PROTO_UDP, u, sizeof(u), 6);
	net_put16(u + 8, c); /* payload that cancels the rest */
	ck_assert_uint_eq(net_ip6_l4_csum(ip6_client, ip6_me, NET_PROTO_UDP, u, sizeof(u), 6),
			  0xffff);
	net_put16(u + 8, 0);
	c = net_ip4_l4_csum(tcp_syn4 + 26, tcp_syn4 + 30, NET_PROTO_UDP, u, sizeof(u), 6);
	net_put16(u + 8, c);
	ck_assert_uint_eq(
		net_ip4_l4_csum(tcp_syn4 + 26, tcp_syn4 + 30, NET_PROTO_UDP, u, sizeof(u), 6),
		0xffff);
}
END_TEST

static void
check_nd(const uint8_t *f, uint32_t len, uint8_t type, uint8_t flags, const uint8_t *target,
	 const uint8_t *lladdr)
{
	uint8_t *p = dup_frame(f, len);
	struct net_hdrs h;
	struct net_nd nd;

	ck_assert_int_eq(net_parse(p, len, &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_ICMP6);
	ck_assert_uint_eq(h.dport >> 8, type);
	memset(&nd, 0xaa, sizeof(nd));
	ck_assert_int_eq(net_nd_parse(p, len, &h, &nd), 0);
	ck_assert_uint_eq(nd.type, type);
	ck_assert_uint_eq(nd.flags, flags);
	ck_assert_mem_eq(nd.target, target, 16);
	ck_assert(nd.has_lladdr == (lladdr != NULL));
	if (lladdr != NULL)
		ck_assert_mem_eq(nd.lladdr, lladdr, 6);
	free(p);
}

START_TEST(test_nd_parse)
{
	static const uint8_t ip6_server[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x02 };

	check_nd(nd_ns, sizeof(nd_ns), NET_ND_NS, 0, ip6_me, mac_client);
	check_nd(nd_ns_dad, sizeof(nd_ns_dad), NET_ND_NS, 0, ip6_me, NULL);
	check_nd(nd_ns_build, sizeof(nd_ns_build), NET_ND_NS, 0, nd_ns_build + 62, mac_me);
	check_nd(nd_na, sizeof(nd_na), NET_ND_NA, NET_ND_NA_SOLICITED | NET_ND_NA_OVERRIDE, ip6_me,
		 mac_me);
	/* An MTU option first: skipped. */
	check_nd(nd_na_unsol, sizeof(nd_na_unsol), NET_ND_NA, NET_ND_NA_ROUTER | NET_ND_NA_OVERRIDE,
		 ip6_server, mac_server);
	check_nd(nd_na_noopt, sizeof(nd_na_noopt), NET_ND_NA, NET_ND_NA_SOLICITED, ip6_server,
		 NULL);
}
END_TEST

/* net_parse then net_nd_parse on an exact-size copy of f; nd must stay untouched on error. */
static int
nd_parse_copy(const uint8_t *f, uint32_t len)
{
	uint8_t *p = dup_frame(f, len);
	struct net_nd nd, nd0;
	struct net_hdrs h;
	int ret;

	ck_assert_int_eq(net_parse(p, len, &h), NET_PARSE_OK);
	memset(&nd, 0xaa, sizeof(nd));
	nd0 = nd;
	ret = net_nd_parse(p, len, &h, &nd);
	if (ret != 0)
		ck_assert_mem_eq(&nd, &nd0, sizeof(nd));
	free(p);
	return ret;
}

START_TEST(test_nd_parse_bad)
{
	uint8_t f[sizeof(nd_na_unsol) + 8];
	struct net_hdrs h;
	struct net_nd nd;

	/* Routed from off-link: hop limit 254 (not covered by the checksum). */
	memcpy(f, nd_ns, sizeof(nd_ns));
	f[21] = 254;
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns)), -EINVAL);
	/* Bad checksum. */
	memcpy(f, nd_ns, sizeof(nd_ns));
	f[56] ^= 0x01;
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns)), -EINVAL);
	/* Code 1. */
	memcpy(f, nd_ns, sizeof(nd_ns));
	f[55] = 1;
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns)), -EINVAL);
	/* Option of 16 bytes in the 8 left. */
	memcpy(f, nd_ns, sizeof(nd_ns));
	f[79] = 2;
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns)), -EINVAL);
	/* Zero-length option. */
	f[79] = 0;
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns)), -EINVAL);
	/* The message ends inside the option: 4 bytes, then 1 (no room for a length). */
	memcpy(f, nd_ns, sizeof(nd_ns));
	net_put16(f + 18, 24 + 4);
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, 14 + 40 + 28), -EINVAL);
	net_put16(f + 18, 24 + 1);
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, 14 + 40 + 25), -EINVAL);
	/* Exactly 24 bytes is a valid NS without options; 23 is not one. */
	net_put16(f + 18, 24);
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, 14 + 40 + 24), 0);
	net_put16(f + 18, 23);
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, 14 + 40 + 23), -EINVAL);
	/* A link-layer address option of 16 bytes is not an Ethernet one. */
	memcpy(f, nd_ns, sizeof(nd_ns));
	memset(f + sizeof(nd_ns), 0, 8);
	net_put16(f + 18, 24 + 16);
	f[79] = 2;
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns) + 8), -EINVAL);
	/* An unknown 16-byte option is skipped. */
	f[78] = 14;
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns) + 8), 0);
	/* Multicast target. */
	memcpy(f, nd_ns, sizeof(nd_ns));
	f[62] = 0xff;
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns)), -EINVAL);
	/* From :: with a source link-layer address option (RFC 4861 §7.1.1). */
	memcpy(f, nd_ns, sizeof(nd_ns));
	memset(f + 22, 0, 16);
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns)), -EINVAL);
	/* From :: to a unicast address. */
	memcpy(f, nd_ns_dad, sizeof(nd_ns_dad));
	memcpy(f + 38, ip6_me, 16);
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns_dad)), -EINVAL);
	/* To a multicast address with S set (§7.1.2). */
	memcpy(f, nd_na_unsol, sizeof(nd_na_unsol));
	f[58] |= NET_ND_NA_SOLICITED;
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_na_unsol)), -EINVAL);
	/* Router solicitation, an echo request, TCP, IPv4: not ND. */
	memcpy(f, nd_ns, sizeof(nd_ns));
	f[54] = 133;
	fix_icmp6_csum(f);
	ck_assert_int_eq(nd_parse_copy(f, sizeof(nd_ns)), -EINVAL);
	ck_assert_int_eq(nd_parse_copy(icmp6_echo, sizeof(icmp6_echo)), -EINVAL);
	ck_assert_int_eq(nd_parse_copy(tcp6_hbh, sizeof(tcp6_hbh)), -EINVAL);
	ck_assert_int_eq(nd_parse_copy(icmp_echo_req, sizeof(icmp_echo_req)), -EINVAL);
	/* An h that is a fragment, or claims more than the frame holds. */
	ck_assert_int_eq(net_parse(nd_ns, sizeof(nd_ns), &h), NET_PARSE_OK);
	h.frag = NET_FRAG_FIRST;
	ck_assert_int_eq(net_nd_parse(nd_ns, sizeof(nd_ns), &h, &nd), -EINVAL);
	ck_assert_int_eq(net_parse(nd_ns, sizeof(nd_ns), &h), NET_PARSE_OK);
	ck_assert_int_eq(net_nd_parse(nd_ns, sizeof(nd_ns) - 1, &h, &nd), -EINVAL);
	h.l3_len = 20;
	ck_assert_int_eq(net_nd_parse(nd_ns, sizeof(nd_ns), &h, &nd), -EINVAL);
}
END_TEST

START_TEST(test_nd_build)
{
	static const uint8_t target[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0x01, [13] = 0x12, 0x34, 0x56,
	};
	static const uint8_t sn[16] = {
		0xff, 0x02, [11] = 0x01, 0xff, 0x12, 0x34, 0x56,
	};
	uint8_t buf[NET_ND_FRAME_LEN + 8], out[16];

	net_ip6_solicited_node(target, out);
	ck_assert_mem_eq(out, sn, 16);

	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(net_nd_build_na(buf, mac_client, mac_me, ip6_me, ip6_client, ip6_me,
					  NET_ND_NA_SOLICITED | NET_ND_NA_OVERRIDE),
			  sizeof(nd_na));
	ck_assert_mem_eq(buf, nd_na, sizeof(nd_na));
	ck_assert_uint_eq(buf[sizeof(nd_na)], 0xaa);
	/* Reserved bits in flags are not sent. */
	memset(buf, 0x55, sizeof(buf));
	ck_assert_uint_eq(net_nd_build_na(buf, mac_client, mac_me, ip6_me, ip6_client, ip6_me,
					  NET_ND_NA_SOLICITED | NET_ND_NA_OVERRIDE | 0x1f),
			  NET_ND_FRAME_LEN);
	ck_assert_mem_eq(buf, nd_na, sizeof(nd_na));

	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(net_nd_build_ns(buf, mac_me, ip6_me, target), sizeof(nd_ns_build));
	ck_assert_mem_eq(buf, nd_ns_build, sizeof(nd_ns_build));
	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(net_nd_build_ns(buf, mac_client, ip6_client, ip6_me), sizeof(nd_ns));
	ck_assert_mem_eq(buf, nd_ns, sizeof(nd_ns));
	/* From :: (duplicate address detection): no option. */
	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(net_nd_build_ns(buf, mac_client, ip6_unspec, ip6_me), sizeof(nd_ns_dad));
	ck_assert_mem_eq(buf, nd_ns_dad, sizeof(nd_ns_dad));
	ck_assert_uint_eq(buf[sizeof(nd_ns_dad)], 0xaa);
}
END_TEST

START_TEST(test_icmp6_echo_reply)
{
	uint8_t *f = dup_frame(icmp6_echo_req, sizeof(icmp6_echo_req));
	uint32_t len = sizeof(icmp6_echo_req);
	struct net_hdrs h;

	ck_assert_int_eq(net_parse(f, len, &h), NET_PARSE_OK);
	ck_assert_int_eq(net_icmp6_echo_reply(f, len, &h, mac_me), 0);
	ck_assert_mem_eq(f, icmp6_echo_rep, len);
	/* The reply parses, and is not an echo request any more. */
	ck_assert_int_eq(net_parse(f, len, &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.dport, NET_ICMP6_ECHO_REPLY << 8);
	ck_assert_int_eq(net_icmp6_echo_reply(f, len, &h, mac_me), -EINVAL);
	ck_assert_mem_eq(f, icmp6_echo_rep, len);
	free(f);
}
END_TEST

/* A refused echo request leaves the frame as it was. */
static void
check_echo6_refused(const uint8_t *frame, uint32_t len, struct net_hdrs *h_or_null)
{
	uint8_t *f = dup_frame(frame, len);
	struct net_hdrs h;

	if (h_or_null == NULL) {
		ck_assert_int_eq(net_parse(f, len, &h), NET_PARSE_OK);
		h_or_null = &h;
	}
	ck_assert_int_eq(net_icmp6_echo_reply(f, len, h_or_null, mac_me), -EINVAL);
	ck_assert_mem_eq(f, frame, len);
	free(f);
}

START_TEST(test_icmp6_echo_reply_bad)
{
	uint8_t f[sizeof(icmp6_echo_req)];
	struct net_hdrs h;

	memcpy(f, icmp6_echo_req, sizeof(f));
	f[56] ^= 0x10;
	check_echo6_refused(f, sizeof(f), NULL);
	/* To a multicast address (ping ff02::1): the caller picks the source. */
	memcpy(f, icmp6_echo_req, sizeof(f));
	f[38] = 0xff;
	f[39] = 0x02;
	fix_icmp6_csum(f);
	check_echo6_refused(f, sizeof(f), NULL);
	/* From ::, or to it. */
	memcpy(f, icmp6_echo_req, sizeof(f));
	memset(f + 22, 0, 16);
	fix_icmp6_csum(f);
	check_echo6_refused(f, sizeof(f), NULL);
	memcpy(f, icmp6_echo_req, sizeof(f));
	memset(f + 38, 0, 16);
	fix_icmp6_csum(f);
	check_echo6_refused(f, sizeof(f), NULL);
	/* Code 1. */
	memcpy(f, icmp6_echo_req, sizeof(f));
	f[55] = 1;
	fix_icmp6_csum(f);
	check_echo6_refused(f, sizeof(f), NULL);
	/* Not a request: ND, TCP, ICMPv4. */
	check_echo6_refused(nd_ns, sizeof(nd_ns), NULL);
	check_echo6_refused(tcp6_hbh, sizeof(tcp6_hbh), NULL);
	check_echo6_refused(icmp_echo_req, sizeof(icmp_echo_req), NULL);
	/* Extension headers, a fragment, or an h claiming more than the frame. */
	ck_assert_int_eq(net_parse(icmp6_echo_req, sizeof(f), &h), NET_PARSE_OK);
	h.l3_len = 48;
	check_echo6_refused(icmp6_echo_req, sizeof(f), &h);
	ck_assert_int_eq(net_parse(icmp6_echo_req, sizeof(f), &h), NET_PARSE_OK);
	h.frag = NET_FRAG_FIRST;
	check_echo6_refused(icmp6_echo_req, sizeof(f), &h);
	ck_assert_int_eq(net_parse(icmp6_echo_req, sizeof(f), &h), NET_PARSE_OK);
	h.l3_total++;
	check_echo6_refused(icmp6_echo_req, sizeof(f), &h);
}
END_TEST

/* net_icmp_error_inner on an exact-size copy; out must stay untouched on error. */
static int
icmp_err_copy(const uint8_t *f, uint32_t len, struct net_icmp_err *out)
{
	uint8_t *p = dup_frame(f, len);
	struct net_icmp_err e0;
	struct net_hdrs h;
	int ret;

	ck_assert_int_eq(net_parse(p, len, &h), NET_PARSE_OK);
	memset(out, 0xaa, sizeof(*out));
	e0 = *out;
	ret = net_icmp_error_inner(p, len, &h, out);
	if (ret != 0)
		ck_assert_mem_eq(out, &e0, sizeof(e0));
	free(p);
	return ret;
}

START_TEST(test_icmp_error_inner)
{
	static const uint8_t vip4[16] = { 192, 0, 2, 80 };
	static const uint8_t client4[16] = { 198, 51, 100, 7 };
	static const uint8_t c4[16] = { 10, 0, 0, 1 };
	static const uint8_t vip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x80 };
	static const uint8_t client6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x02, [15] = 0x07 };
	struct net_icmp_err e;
	struct net_hdrs h;

	/* Fragmentation needed, quoting TCP under IP options (IHL 6). */
	ck_assert_int_eq(parse_copy(icmp4_frag_needed, sizeof(icmp4_frag_needed), &h),
			 NET_PARSE_OK);
	ck_assert_uint_eq(h.dport, 3 << 8 | 4);
	ck_assert_int_eq(icmp_err_copy(icmp4_frag_needed, sizeof(icmp4_frag_needed), &e), 0);
	ck_assert_uint_eq(e.family, 4);
	ck_assert_uint_eq(e.proto, NET_PROTO_TCP);
	ck_assert_mem_eq(e.src, vip4, 16);
	ck_assert_mem_eq(e.dst, client4, 16);
	ck_assert_uint_eq(e.sport, 443);
	ck_assert_uint_eq(e.dport, 40000);

	/* Packet too big, quoting TCP/IPv6. */
	ck_assert_int_eq(icmp_err_copy(icmp6_ptb, sizeof(icmp6_ptb), &e), 0);
	ck_assert_uint_eq(e.family, 6);
	ck_assert_uint_eq(e.proto, NET_PROTO_TCP);
	ck_assert_mem_eq(e.src, vip6, 16);
	ck_assert_mem_eq(e.dst, client6, 16);
	ck_assert_uint_eq(e.sport, 443);
	ck_assert_uint_eq(e.dport, 50000);

	/* Time exceeded, both families; v6 quotes a destination-options header. */
	ck_assert_int_eq(icmp_err_copy(icmp4_time_exceeded, sizeof(icmp4_time_exceeded), &e), 0);
	ck_assert_uint_eq(e.family, 4);
	ck_assert_uint_eq(e.proto, NET_PROTO_UDP);
	ck_assert_mem_eq(e.src, c4, 16);
	ck_assert_mem_eq(e.dst, vip4, 16);
	ck_assert_uint_eq(e.sport, 33434);
	ck_assert_uint_eq(e.dport, 33435);
	ck_assert_int_eq(icmp_err_copy(icmp6_time_exceeded, sizeof(icmp6_time_exceeded), &e), 0);
	ck_assert_uint_eq(e.family, 6);
	ck_assert_uint_eq(e.proto, NET_PROTO_UDP);
	ck_assert_mem_eq(e.src, ip6_client, 16);
	ck_assert_mem_eq(e.dst, vip6, 16);
	ck_assert_uint_eq(e.sport, 33434);
	ck_assert_uint_eq(e.dport, 33435);

	/* A quote with 4 bytes of UDP. */
	ck_assert_int_eq(icmp_err_copy(icmp4_unreach_short, sizeof(icmp4_unreach_short), &e),
			 -EINVAL);
	/* Not errors. */
	ck_assert_int_eq(icmp_err_copy(icmp_echo_req, sizeof(icmp_echo_req), &e), -EINVAL);
	ck_assert_int_eq(icmp_err_copy(icmp_echo_rep, sizeof(icmp_echo_rep), &e), -EINVAL);
	ck_assert_int_eq(icmp_err_copy(icmp6_echo, sizeof(icmp6_echo), &e), -EINVAL);
	ck_assert_int_eq(icmp_err_copy(nd_na, sizeof(nd_na), &e), -EINVAL);
	ck_assert_int_eq(icmp_err_copy(tcp_syn4, sizeof(tcp_syn4), &e), -EINVAL);
	ck_assert_int_eq(icmp_err_copy(udp6_chain, sizeof(udp6_chain), &e), -EINVAL);
}
END_TEST

START_TEST(test_icmp_error_inner_bad)
{
	uint8_t f[sizeof(icmp6_time_exceeded)];
	struct net_icmp_err e;
	struct net_hdrs h;
	uint8_t *q;

	/* ICMPv4: the quote starts at 14 + 20 + 8. */
	q = f + 42;
	memcpy(f, icmp4_frag_needed, sizeof(icmp4_frag_needed));
	net_put16(q + 6, 0x4000 | 185); /* a later fragment */
	ck_assert_int_eq(icmp_err_copy(f, sizeof(icmp4_frag_needed), &e), -EINVAL);
	memcpy(f, icmp4_frag_needed, sizeof(icmp4_frag_needed));
	net_put16(q + 6, 0x2000); /* the first one is fine */
	ck_assert_int_eq(icmp_err_copy(f, sizeof(icmp4_frag_needed), &e), 0);
	q[0] = 0x66; /* IPv6 under ICMPv4 */
	ck_assert_int_eq(icmp_err_copy(f, sizeof(icmp4_frag_needed), &e), -EINVAL);
	q[0] = 0x44; /* IHL 4 */
	ck_assert_int_eq(icmp_err_copy(f, sizeof(icmp4_frag_needed), &e), -EINVAL);
	q[0] = 0x4f; /* 60 bytes of header in a 32-byte quote */
	ck_assert_int_eq(icmp_err_copy(f, sizeof(icmp4_frag_needed), &e), -EINVAL);
	q[0] = 0x47; /* 28 bytes: 4 left for TCP */
	ck_assert_int_eq(icmp_err_copy(f, sizeof(icmp4_frag_needed), &e), -EINVAL);
	q[0] = 0x46;
	q[9] = NET_PROTO_ICMP; /* quoting ICMP: no ports */
	ck_assert_int_eq(icmp_err_copy(f, sizeof(icmp4_frag_needed), &e), 0);
	ck_assert_uint_eq(e.proto, NET_PROTO_ICMP);
	ck_assert_uint_eq(e.sport, 0);
	ck_assert_uint_eq(e.dport, 0);
	q[0] = 0x47; /* and then only the header is needed */
	ck_assert_int_eq(icmp_err_copy(f, sizeof(icmp4_frag_needed), &e), 0);
	/* The IP length bounds the quote, not the frame: padding is not quoted. */
	memcpy(f, icmp4_time_exceeded, sizeof(icmp4_time_exceeded));
	net_put16(f + 16, 20 + 8 + 27);
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(icmp_err_copy(f, sizeof(icmp4_time_exceeded), &e), -EINVAL);
	/* A fragmented error. */
	ck_assert_int_eq(net_parse(icmp4_frag_needed, sizeof(icmp4_frag_needed), &h), NET_PARSE_OK);
	h.frag = NET_FRAG_FIRST;
	ck_assert_int_eq(net_icmp_error_inner(icmp4_frag_needed, sizeof(icmp4_frag_needed), &h, &e),
			 -EINVAL);

	/* ICMPv6: the quote starts at 14 + 40 + 8; destination options then UDP. */
	q = f + 62;
	memcpy(f, icmp6_time_exceeded, sizeof(f));
	/* Cut inside the options header, right after it, and after 8 bytes of UDP. */
	net_put16(f + 18, 8 + 40 + 4);
	ck_assert_int_eq(icmp_err_copy(f, 14 + 40 + 8 + 44, &e), -EINVAL);
	net_put16(f + 18, 8 + 40 + 8);
	ck_assert_int_eq(icmp_err_copy(f, 14 + 40 + 8 + 48, &e), -EINVAL);
	net_put16(f + 18, 8 + 40 + 8 + 7);
	ck_assert_int_eq(icmp_err_copy(f, 14 + 40 + 8 + 55, &e), -EINVAL);
	net_put16(f + 18, 8 + 40 + 8 + 8);
	ck_assert_int_eq(icmp_err_copy(f, 14 + 40 + 8 + 56, &e), 0);
	ck_assert_uint_eq(e.dport, 33435);
	/* The options header turned into a fragment header: first, then later. */
	memcpy(f, icmp6_time_exceeded, sizeof(f));
	q[6] = 44;
	memset(q + 40, 0, 8);
	q[40] = NET_PROTO_UDP;
	q[43] = 1;
	ck_assert_int_eq(icmp_err_copy(f, sizeof(f), &e), 0);
	ck_assert_uint_eq(e.proto, NET_PROTO_UDP);
	ck_assert_uint_eq(e.sport, 33434);
	net_put16(q + 42, 8 << 3);
	ck_assert_int_eq(icmp_err_copy(f, sizeof(f), &e), -EINVAL);
	/* IPv4 under ICMPv6. */
	memcpy(f, icmp6_time_exceeded, sizeof(f));
	q[0] = 0x45;
	ck_assert_int_eq(icmp_err_copy(f, sizeof(f), &e), -EINVAL);
	/* Error types other than time exceeded: 1..4 are, 0 and 5.. are not. */
	memcpy(f, icmp6_time_exceeded, sizeof(f));
	f[54] = 4;
	ck_assert_int_eq(icmp_err_copy(f, sizeof(f), &e), 0);
	f[54] = 5;
	ck_assert_int_eq(icmp_err_copy(f, sizeof(f), &e), -EINVAL);
	f[54] = 0;
	ck_assert_int_eq(icmp_err_copy(f, sizeof(f), &e), -EINVAL);
}
END_TEST

START_TEST(test_icmp_is_error)
{
	unsigned int t;
	bool v4, v6;

	for (t = 0; t < 256; t++) {
		v4 = t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
		v6 = t >= 1 && t <= 4;
		ck_assert(net_icmp_is_error(4, (uint8_t)t) == v4);
		ck_assert(net_icmp_is_error(6, (uint8_t)t) == v6);
		ck_assert(!net_icmp_is_error(0, (uint8_t)t));
	}
}
END_TEST

START_TEST(test_probe_build)
{
	static const uint8_t me4[4] = { 10, 0, 0, 254 };
	static const uint8_t srv4[4] = { 10, 0, 0, 2 };
	uint8_t buf[400];
	struct net_hdrs h;
	uint8_t *big;

	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(net_tcp_build(buf, 4, mac_server, mac_me, me4, srv4, 33333, 80,
					0x01020304, 0, NET_TCP_SYN),
			  sizeof(tcp_probe4));
	ck_assert_mem_eq(buf, tcp_probe4, sizeof(tcp_probe4));
	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(net_tcp_build(buf, 6, mac_server, mac_me, ip6_me, ip6_backend, 33334,
					8443, 0xdeadbeef, 0x11223344, NET_TCP_RST | NET_TCP_ACK),
			  sizeof(tcp_probe6));
	ck_assert_mem_eq(buf, tcp_probe6, sizeof(tcp_probe6));

	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(net_icmp_echo_build(buf, 4, mac_server, mac_me, me4, srv4, 0xabcd, 3, 56),
			  sizeof(echo_probe4));
	ck_assert_mem_eq(buf, echo_probe4, sizeof(echo_probe4));
	/* The request gets the reply the appliance itself would give. */
	ck_assert_int_eq(net_parse(buf, sizeof(echo_probe4), &h), NET_PARSE_OK);
	ck_assert_int_eq(net_icmp4_echo_reply(buf, sizeof(echo_probe4), &h, mac_server), 0);

	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(net_icmp_echo_build(buf, 6, mac_server, mac_me, ip6_me, ip6_backend,
					      0xabcd, 4, 300),
			  sizeof(echo_probe6));
	ck_assert_mem_eq(buf, echo_probe6, sizeof(echo_probe6));
	ck_assert_int_eq(net_parse(buf, sizeof(echo_probe6), &h), NET_PARSE_OK);
	ck_assert_int_eq(net_icmp6_echo_reply(buf, sizeof(echo_probe6), &h, mac_server), 0);
	ck_assert_uint_eq(buf[54], NET_ICMP6_ECHO_REPLY);

	/* No payload; then the most each IP length field can say; then one more. */
	ck_assert_uint_eq(net_icmp_echo_build(buf, 4, mac_server, mac_me, me4, srv4, 1, 1, 0), 42);
	ck_assert_int_eq(parse_copy(buf, 42, &h), NET_PARSE_OK);
	big = malloc(14 + 40 + 8 + 65527);
	ck_assert_ptr_nonnull(big);
	ck_assert_uint_eq(net_icmp_echo_build(big, 4, mac_server, mac_me, me4, srv4, 1, 1, 65507),
			  14 + 65535);
	ck_assert_uint_eq(net_get16(big + 16), 65535);
	ck_assert_int_eq(net_parse(big, 14 + 65535, &h), NET_PARSE_OK);
	/* (net_parse stops at 65495: its l3_total is 16 bits.) */
	ck_assert_uint_eq(
		net_icmp_echo_build(big, 6, mac_server, mac_me, ip6_me, ip6_backend, 1, 1, 65527),
		14 + 40 + 65535);
	ck_assert_uint_eq(net_get16(big + 18), 65535);
	ck_assert_uint_eq(
		net_ip6_l4_csum(big + 22, big + 38, NET_PROTO_ICMP6, big + 54, 65535, 65535),
		0xffff);
	memset(big, 0xaa, 16);
	ck_assert_uint_eq(net_icmp_echo_build(big, 4, mac_server, mac_me, me4, srv4, 1, 1, 65508),
			  0);
	ck_assert_uint_eq(
		net_icmp_echo_build(big, 6, mac_server, mac_me, ip6_me, ip6_backend, 1, 1, 65528),
		0);
	ck_assert_uint_eq(big[0], 0xaa);
	free(big);
	/* A family that is neither. */
	ck_assert_uint_eq(net_tcp_build(buf, 5, mac_server, mac_me, me4, srv4, 1, 2, 0, 0, 0), 0);
	ck_assert_uint_eq(net_icmp_echo_build(buf, 0, mac_server, mac_me, me4, srv4, 1, 2, 0), 0);
}
END_TEST

START_TEST(test_ip_flags)
{
	uint8_t f[sizeof(tcp_syn4)];
	struct net_hdrs h;

	ck_assert_int_eq(parse_copy(tcp_syn4, sizeof(tcp_syn4), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.ip_flags, NET_IP4_DF);
	ck_assert_int_eq(parse_copy(icmp_echo_req, sizeof(icmp_echo_req), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.ip_flags, 0);
	memcpy(f, tcp_syn4, sizeof(f));
	net_put16(f + 14 + 6, 0x2000); /* MF */
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.ip_flags, NET_IP4_MF);
	net_put16(f + 14 + 6, 0xe000 | 185); /* reserved bit too; offset not included */
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.ip_flags, NET_IP4_DF | NET_IP4_MF);
	ck_assert_int_eq(parse_copy(udp6_frag_first, sizeof(udp6_frag_first), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.ip_flags, 0);
}
END_TEST

/*
 * An exact-size copy of the IP packet in f cut to l4_len transport bytes, its
 * lengths and checksums (IPv4 header, ICMP, ICMPv6) made right again, so the
 * cut reaches the parsers behind net_parse. Returns the new frame length.
 */
static uint8_t *
cut_l4(const uint8_t *f, const struct net_hdrs *h, uint32_t l4_len, uint32_t *len)
{
	uint8_t *p, *ip, *l4;

	*len = h->l4_off + l4_len;
	p = dup_frame(f, *len);
	ip = p + h->l2_len;
	l4 = p + h->l4_off;
	if (h->family == 4) {
		net_put16(ip + 2, (uint16_t)(h->l3_len + l4_len));
		fix_ip4_csum(ip);
		if (h->l4_proto == NET_PROTO_ICMP && l4_len >= 4) {
			net_put16(l4 + 2, 0);
			net_put16(l4 + 2, net_csum_fold(net_csum_partial(l4, l4_len, 0)));
		}
	} else {
		net_put16(ip + 4, (uint16_t)(h->l3_len - NET_IP6_LEN + l4_len));
		if (h->l4_proto == NET_PROTO_ICMP6 && l4_len >= 4)
			net_put16(l4 + 2,
				  net_ip6_l4_csum(ip + 8, ip + 24, NET_PROTO_ICMP6, l4, l4_len, 2));
	}
	return p;
}

/*
 * Every transport length of every ICMP frame, under ASan: each parser either
 * refuses or accepts only what the cut still holds.
 */
START_TEST(test_every_l4_len)
{
	static const struct {
		const uint8_t *f;
		uint32_t len;
	} frames[] = {
#define F(a) { a, sizeof(a) }
		F(nd_ns),
		F(nd_ns_dad),
		F(nd_na),
		F(nd_na_unsol),
		F(nd_na_noopt),
		F(nd_ns_build),
		F(icmp6_echo_req),
		F(icmp6_echo),
		F(icmp4_frag_needed),
		F(icmp6_ptb),
		F(icmp4_time_exceeded),
		F(icmp6_time_exceeded),
		F(icmp4_unreach_short),
		F(echo_probe4),
		F(echo_probe6),
		F(icmp_echo_req),
#undef F
	};
	unsigned int i, n_nd = 0, n_err = 0, n_echo = 0, n_cuts = 0;
	struct net_icmp_err e;
	struct net_hdrs h, h0;
	struct net_nd nd;
	uint32_t l, len;
	uint8_t *p;

	for (i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		ck_assert_int_eq(net_parse(frames[i].f, frames[i].len, &h0), NET_PARSE_OK);
		for (l = 0; l <= (uint32_t)h0.l3_total - h0.l3_len; l++) {
			p = cut_l4(frames[i].f, &h0, l, &len);
			n_cuts++;
			if (net_parse(p, len, &h) != NET_PARSE_OK) {
				ck_assert_uint_lt(l, 8);
				free(p);
				continue;
			}
			if (net_nd_parse(p, len, &h, &nd) == 0) {
				ck_assert_uint_ge(l, NET_ND_LEN);
				ck_assert_uint_eq(l % 8, 0);
				n_nd++;
			}
			if (net_icmp_error_inner(p, len, &h, &e) == 0) {
				ck_assert_uint_ge(l, 8u + (e.family == 4 ? 20 : 40));
				n_err++;
			}
			if (net_icmp6_echo_reply(p, len, &h, mac_me) == 0) {
				ck_assert_uint_ge(l, 8);
				n_echo++;
			}
			if (h.family == 4)
				(void)net_icmp4_echo_reply(p, len, &h, mac_me);
			free(p);
		}
	}
	printf("every-l4-length: %u cuts; accepted %u ND, %u ICMP errors, %u ICMPv6 echoes\n",
	       n_cuts, n_nd, n_err, n_echo);
}
END_TEST

static const struct {
	const uint8_t *f;
	uint32_t len;
} valid_frames[] = {
#define F(a)                 \
	{                    \
		a, sizeof(a) \
	}
	F(tcp_syn4),
	F(tcp_syn4_vlan),
	F(tcp_syn4_qinq),
	F(tcp6_hbh),
	F(udp6_frag_first),
	F(udp6_frag_later),
	F(arp_req),
	F(arp_reply),
	F(icmp_echo_req),
	F(icmp_echo_rep),
	F(icmp_echo_req_vlan),
	F(icmp6_echo),
	F(udp6_chain),
	F(gue6_4),
	F(gue4_6),
	F(nd_ns),
	F(nd_ns_dad),
	F(nd_na),
	F(nd_na_unsol),
	F(nd_na_noopt),
	F(nd_ns_build),
	F(icmp6_echo_req),
	F(icmp6_echo_rep),
	F(icmp4_frag_needed),
	F(icmp6_ptb),
	F(icmp4_time_exceeded),
	F(icmp6_time_exceeded),
	F(icmp4_unreach_short),
	F(tcp_probe4),
	F(tcp_probe6),
	F(echo_probe4),
	F(echo_probe6),
#undef F
};

/*
 * Every prefix of every valid frame: an error, or a parse that only claims
 * bytes inside the prefix (frames with Ethernet padding stay valid when cut
 * into the padding). Exact-size heap copies let ASan catch any overread.
 */
START_TEST(test_every_prefix)
{
	unsigned int i, n_err = 0, n_ok = 0;
	struct net_icmp_err e;
	struct net_hdrs h;
	struct net_arp a;
	struct net_nd nd;
	uint32_t len;
	uint8_t *f;
	int ret;

	for (i = 0; i < sizeof(valid_frames) / sizeof(valid_frames[0]); i++) {
		ck_assert_int_eq(parse_copy(valid_frames[i].f, valid_frames[i].len, &h),
				 NET_PARSE_OK);
		for (len = 0; len < valid_frames[i].len; len++) {
			f = dup_frame(valid_frames[i].f, len);
			ret = net_parse(f, len, &h);
			ck_assert_int_ge(ret, 0);
			ck_assert_int_lt(ret, NET_ERR_MAX);
			if (ret != NET_PARSE_OK) {
				n_err++;
				free(f);
				continue;
			}
			n_ok++;
			ck_assert_uint_le(h.l2_len, len);
			if (h.family != 0) {
				ck_assert_uint_le(h.l4_off, len);
				ck_assert_uint_le(h.l2_len + h.l3_total, len);
				ck_assert_uint_le(h.l3_len, h.l3_total);
			}
			if (h.ethertype == NET_ETHERTYPE_ARP) {
				ret = net_arp_parse(f, len, &h, &a);
				ck_assert_int_eq(ret, len < 14 + NET_ARP_LEN ? NET_ERR_ARP_TRUNC
									     : NET_PARSE_OK);
			}
			if (h.family == 4 && h.l4_proto == NET_PROTO_ICMP)
				(void)net_icmp4_echo_reply(f, len, &h, mac_me);
			(void)net_nd_parse(f, len, &h, &nd);
			(void)net_icmp_error_inner(f, len, &h, &e);
			(void)net_icmp6_echo_reply(f, len, &h, mac_me);
			free(f);
		}
	}
	printf("every-prefix: %u errors, %u shorter valid parses\n", n_err, n_ok);
}
END_TEST

static Suite *
net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_tcp_syn4);
	tcase_add_test(tc, test_tcp_syn4_vlan);
	tcase_add_test(tc, test_tcp_syn4_qinq);
	tcase_add_test(tc, test_vlan_too_deep);
	tcase_add_test(tc, test_padding_allowed);
	tcase_add_test(tc, test_ip4_fragments);
	tcase_add_test(tc, test_ip4_other_proto);
	tcase_add_test(tc, test_tcp6_hbh);
	tcase_add_test(tc, test_udp6_fragments);
	tcase_add_test(tc, test_udp6_chain);
	tcase_add_test(tc, test_icmp_ports);
	tcase_add_test(tc, test_ip_flags);
	tcase_add_test(tc, test_err_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_test(tc, test_ip4_bad_csum);
	tcase_add_test(tc, test_ip4_bad_header);
	tcase_add_test(tc, test_ip4_bad_total_len);
	tcase_add_test(tc, test_tcp_bad_offset);
	tcase_add_test(tc, test_ip6_bad);
	tcase_add_test(tc, test_l4_trunc);
	tcase_add_test(tc, test_every_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("arp");
	tcase_add_test(tc, test_arp);
	tcase_add_test(tc, test_arp_build);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, test_icmp_echo_reply);
	tcase_add_test(tc, test_icmp_echo_reply_bad);
	tcase_add_test(tc, test_ipip4_write);
	tcase_add_test(tc, test_csum_rfc1071);
	tcase_add_test(tc, test_ip6_write);
	tcase_add_test(tc, test_gue_frames);
	tcase_add_test(tc, test_l4_csum);
	tcase_add_test(tc, test_probe_build);
	suite_add_tcase(s, tc);

	tc = tcase_create("icmp6_nd");
	tcase_add_test(tc, test_nd_parse);
	tcase_add_test(tc, test_nd_parse_bad);
	tcase_add_test(tc, test_nd_build);
	tcase_add_test(tc, test_icmp6_echo_reply);
	tcase_add_test(tc, test_icmp6_echo_reply_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("icmp_error");
	tcase_add_test(tc, test_icmp_error_inner);
	tcase_add_test(tc, test_icmp_error_inner_bad);
	tcase_add_test(tc, test_icmp_is_error);
	tcase_add_test(tc, test_every_l4_len);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(net_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
