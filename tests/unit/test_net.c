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
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x00, 0x45, 0x10, 0x00, 0x2c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06,
	0x26, 0xb9, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x30, 0x39,
	0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02,
	0x20, 0x00, 0x2f, 0xb3, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
};

static const uint8_t tcp_syn4_vlan[62] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x81, 0x00, 0x60, 0x64, 0x08, 0x00, 0x45, 0x10, 0x00, 0x2c, 0x00, 0x01,
	0x40, 0x00, 0x40, 0x06, 0x26, 0xb9, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00,
	0x00, 0x02, 0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00,
	0x00, 0x00, 0x60, 0x02, 0x20, 0x00, 0x2f, 0xb3, 0x00, 0x00, 0x02, 0x04,
	0x05, 0xb4,
};

static const uint8_t tcp_syn4_qinq[66] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00, 0x45, 0x10,
	0x00, 0x2c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x26, 0xb9, 0x0a, 0x00,
	0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x30, 0x39, 0x00, 0x50, 0x00, 0x00,
	0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0x20, 0x00, 0x2f, 0xb3,
	0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
};

static const uint8_t tcp6_hbh[87] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x86, 0xdd, 0x62, 0x80, 0x00, 0x00, 0x00, 0x21, 0x00, 0x3c, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x06, 0x00, 0x05, 0x02, 0x00, 0x00,
	0x01, 0x00, 0x9c, 0x40, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00,
	0x00, 0x06, 0x50, 0x18, 0x20, 0x00, 0x52, 0x7a, 0x00, 0x00, 0x68, 0x65,
	0x6c, 0x6c, 0x6f,
};

static const uint8_t udp6_frag_first[110] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x38, 0x2c, 0x40, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x11, 0x00, 0x00, 0x01, 0x12, 0x34,
	0x56, 0x78, 0x13, 0x88, 0x00, 0x35, 0x00, 0x80, 0x80, 0x80, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51,
};

static const uint8_t udp6_frag_later[110] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x38, 0x2c, 0x40, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x11, 0x00, 0x00, 0x31, 0x12, 0x34,
	0x56, 0x78, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51,
	0x51, 0x51,
};

static const uint8_t arp_req[60] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x0a, 0x00, 0x00, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t arp_reply[60] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe,
	0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00,
	0x00, 0x00, 0x00, 0xfe, 0x0a, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icmp_echo_req[60] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00, 0x3f, 0x01,
	0x54, 0xab, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0xfe, 0x08, 0x00,
	0xd6, 0xe5, 0x42, 0x42, 0x00, 0x07, 0x70, 0x69, 0x6e, 0x67, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icmp_echo_rep[60] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00, 0x40, 0x01,
	0x53, 0xab, 0x0a, 0x00, 0x00, 0xfe, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00,
	0xde, 0xe5, 0x42, 0x42, 0x00, 0x07, 0x70, 0x69, 0x6e, 0x67, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icmp_echo_req_vlan[87] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x81, 0x00, 0x00, 0x07, 0x08, 0x00, 0x45, 0x00, 0x00, 0x45, 0x00, 0x4d,
	0x40, 0x00, 0x05, 0x01, 0xf1, 0x60, 0xc0, 0x00, 0x02, 0x09, 0xc0, 0x00,
	0x02, 0x01, 0x08, 0x00, 0x93, 0x7d, 0x00, 0x01, 0xbe, 0xef, 0x00, 0x01,
	0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
	0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
	0x26, 0x27, 0x28,
};

static const uint8_t icmp_echo_rep_vlan[87] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe,
	0x81, 0x00, 0x00, 0x07, 0x08, 0x00, 0x45, 0x00, 0x00, 0x45, 0x00, 0x4d,
	0x40, 0x00, 0x40, 0x01, 0xb6, 0x60, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
	0x02, 0x09, 0x00, 0x00, 0x9b, 0x7d, 0x00, 0x01, 0xbe, 0xef, 0x00, 0x01,
	0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
	0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
	0x26, 0x27, 0x28,
};

static const uint8_t ipip4_outer_df[20] = {
	0x45, 0x10, 0x00, 0x4e, 0xab, 0xcd, 0x40, 0x00, 0x40, 0x04, 0xa2, 0x92,
	0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x07,
};

static const uint8_t ipip4_outer_6in4[20] = {
	0x45, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00, 0x00, 0x03, 0x29, 0xcb, 0x54,
	0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x08,
};

static const uint8_t icmp6_echo[66] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x3a, 0x40, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, 0x00, 0x5e, 0xe3, 0x00, 0x99,
	0x00, 0x01, 0x61, 0x62, 0x63, 0x64,
};

static const uint8_t udp6_chain[118] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x40, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3c, 0x00, 0x01, 0x04, 0x00, 0x00,
	0x00, 0x00, 0x2b, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x02,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x99, 0x11, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x04, 0x57, 0x08, 0xae, 0x00, 0x10,
	0xac, 0xd3, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a,
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
	net_put16(f + 14 + 6, 0x2000);	/* MF, offset 0 */
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_PARSE_OK);
	ck_assert_uint_eq(h.frag, NET_FRAG_FIRST);
	ck_assert_uint_eq(h.sport, 12345);

	net_put16(f + 14 + 6, 185);	/* offset 1480, last fragment */
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
	f[14 + 9] = 47;	/* GRE */
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
	f[14] = 0x44;	/* IHL 4 */
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_IHL);
	f[14] = 0x40;	/* IHL 0 */
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_IHL);
	f[14] = 0x4f;	/* IHL 15: 60 bytes, more than the frame holds */
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
	net_put16(f + 14 + 2, 19);	/* below the header length */
	fix_ip4_csum(f + 14);
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_IP4_BAD_TOTAL_LEN);
	net_put16(f + 14 + 2, 45);	/* one byte more than the frame has */
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
	f[34 + 12] = 0x70;	/* 28 bytes, 24 present */
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_TCP_BAD_OFFSET);
	f[34 + 12] = 0xf0;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_TCP_BAD_OFFSET);
	f[34 + 12] = 0x40;
	ck_assert_int_eq(parse_copy(f, sizeof(f), &h), NET_ERR_TCP_BAD_OFFSET);
	f[34 + 12] = 0x60;	/* exactly the 24 bytes present */
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

	ck_assert_int_eq(parse_copy(udp6_frag_first, sizeof(udp6_frag_first), &h),
			 NET_PARSE_OK);
	ck_assert_uint_eq(h.family, 6);
	ck_assert_uint_eq(h.frag, NET_FRAG_FIRST);
	ck_assert_uint_eq(h.l3_len, 48);
	ck_assert_uint_eq(h.l3_total, 96);
	ck_assert_uint_eq(h.l4_proto, NET_PROTO_UDP);
	ck_assert_uint_eq(h.ip4_id, 0x12345678);
	ck_assert_uint_eq(h.sport, 5000);
	ck_assert_uint_eq(h.dport, 53);

	ck_assert_int_eq(parse_copy(udp6_frag_later, sizeof(udp6_frag_later), &h),
			 NET_PARSE_OK);
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
		p[2] = 1;	/* PadN: 4 bytes of padding fill the header */
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
	net_put16(f + 18, 34);	/* one byte more than present */
	ck_assert_int_eq(parse_copy(f, sizeof(tcp6_hbh), &h), NET_ERR_IP6_BAD_PAYLOAD_LEN);
	net_put16(f + 18, 33);
	f[54 + 1] = 4;		/* hop-by-hop of 40 bytes in a 33-byte payload */
	ck_assert_int_eq(parse_copy(f, sizeof(tcp6_hbh), &h), NET_ERR_IP6_BAD_EXT_HDR);
	f[54 + 1] = 0;
	net_put16(f + 18, 7);	/* payload ends inside the hop-by-hop header */
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
	f[15] = 6;	/* htype IEEE 802 */
	ck_assert_int_eq(net_arp_parse(f, sizeof(f), &h, &a), NET_ERR_ARP_BAD_FORMAT);
	memcpy(f, arp_req, sizeof(f));
	f[17] = 0xdd;	/* ptype IPv6 */
	ck_assert_int_eq(net_arp_parse(f, sizeof(f), &h, &a), NET_ERR_ARP_BAD_FORMAT);
	memcpy(f, arp_req, sizeof(f));
	f[18] = 8;
	ck_assert_int_eq(net_arp_parse(f, sizeof(f), &h, &a), NET_ERR_ARP_BAD_FORMAT);
	memcpy(f, arp_req, sizeof(f));
	f[19] = 16;
	ck_assert_int_eq(net_arp_parse(f, sizeof(f), &h, &a), NET_ERR_ARP_BAD_FORMAT);

	/* Not an ARP frame at all. */
	ck_assert_int_eq(net_parse(tcp_syn4, sizeof(tcp_syn4), &h), NET_PARSE_OK);
	ck_assert_int_eq(net_arp_parse(tcp_syn4, sizeof(tcp_syn4), &h, &a),
			 NET_ERR_ARP_BAD_FORMAT);
}
END_TEST

START_TEST(test_arp_build)
{
	static const uint8_t me[4] = { 10, 0, 0, 254 };
	static const uint8_t client[4] = { 10, 0, 0, 1 };
	uint8_t buf[NET_ETH_MIN_FRAME];

	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(net_arp_build(buf, NET_ARP_REPLY, mac_client, mac_me, me,
					mac_client, client), NET_ETH_MIN_FRAME);
	ck_assert_mem_eq(buf, arp_reply, sizeof(arp_reply));

	memset(buf, 0xaa, sizeof(buf));
	ck_assert_uint_eq(net_arp_build(buf, NET_ARP_REQUEST, mac_bcast, mac_client, client,
					mac_zero, me), NET_ETH_MIN_FRAME);
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
	ck_assert_uint_eq(net_csum_fold(net_csum_partial(b + 4, 4,
							 net_csum_partial(b, 4, 0))), 0x220d);
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

static const struct {
	const uint8_t *f;
	uint32_t len;
} valid_frames[] = {
#define F(a) { a, sizeof(a) }
	F(tcp_syn4), F(tcp_syn4_vlan), F(tcp_syn4_qinq), F(tcp6_hbh),
	F(udp6_frag_first), F(udp6_frag_later), F(arp_req), F(arp_reply),
	F(icmp_echo_req), F(icmp_echo_rep), F(icmp_echo_req_vlan), F(icmp6_echo),
	F(udp6_chain),
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
	struct net_hdrs h;
	struct net_arp a;
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
				ck_assert_int_eq(ret, len < 14 + NET_ARP_LEN ?
						 NET_ERR_ARP_TRUNC : NET_PARSE_OK);
			}
			if (h.family == 4 && h.l4_proto == NET_PROTO_ICMP)
				(void)net_icmp4_echo_reply(f, len, &h, mac_me);
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
