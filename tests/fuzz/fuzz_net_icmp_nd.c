/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for what lib/net does behind net_parse with ICMP and
 * ICMPv6: neighbour discovery, the quote of an ICMP error, the ICMPv6 echo
 * reply built in place; and for the builders, whose output must parse back
 * to what they were given. Frames are exact-size heap copies so that ASan
 * sees a read or write one byte past the end.
 *
 * Input: one mode byte, then the frame. Mode bit 0 fixes the IPv4 header
 * checksum and bit 1 the ICMP / ICMPv6 checksum (once net_parse has found
 * the transport header), so mutated messages get past the checksum checks
 * to the code behind them. Bit 2 also feeds the frame's bytes to the
 * builders as addresses, ports and lengths.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

/* Broken invariants are bugs as real as a crash: make the fuzzer stop. */
#define FUZZ_CHECK(cond)                  \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t my_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };

static uint8_t *
fuzz_dup(const uint8_t *p, uint32_t len)
{
	uint8_t *c = malloc(len > 0 ? len : 1);

	if (c != NULL)
		memcpy(c, p, len);
	return c;
}

/* A correct transport checksum sums, field included, to all ones. */
static bool
fuzz_l4_csum_ok(const uint8_t *f, const struct net_hdrs *h)
{
	const uint8_t *ip = f + h->l2_len, *l4 = ip + h->l3_len;
	uint32_t l4_len = h->l3_total - h->l3_len;

	if (h->family == 4 && h->l4_proto == NET_PROTO_ICMP)
		return net_csum_fold(net_csum_partial(l4, l4_len, 0)) == 0;
	if (h->family == 4)
		return net_ip4_l4_csum(ip + 12, ip + 16, h->l4_proto, l4, l4_len, l4_len) == 0xffff;
	return net_ip6_l4_csum(ip + 8, ip + 24, h->l4_proto, l4, l4_len, l4_len) == 0xffff;
}

/* The IPv4 header checksum before parsing, the ICMP one after: see the mode byte. */
static void
fuzz_fix_ip4(uint8_t *f, uint32_t len)
{
	uint32_t off = NET_ETH_LEN, hl;
	uint16_t et;
	int tags;

	if (len < NET_ETH_LEN)
		return;
	et = net_get16(f + 12);
	for (tags = 0; tags < 2 && (et == NET_ETHERTYPE_VLAN || et == NET_ETHERTYPE_QINQ); tags++) {
		if (off + NET_VLAN_LEN > len)
			return;
		et = net_get16(f + off + 2);
		off += NET_VLAN_LEN;
	}
	if (et != NET_ETHERTYPE_IP4 || off + NET_IP4_LEN > len)
		return;
	hl = (f[off] & 0x0fu) * 4;
	if (hl >= NET_IP4_LEN && off + hl <= len)
		net_put16(f + off + 10, net_ip4_hdr_csum(f + off, (uint16_t)hl));
}

static void
fuzz_fix_icmp(uint8_t *f, const struct net_hdrs *h)
{
	uint8_t *ip = f + h->l2_len, *l4 = ip + h->l3_len;
	uint32_t l4_len = h->l3_total - h->l3_len;

	if (h->frag == NET_FRAG_LATER || l4_len < 4)
		return;
	if (h->family == 4 && h->l4_proto == NET_PROTO_ICMP) {
		net_put16(l4 + 2, 0);
		net_put16(l4 + 2, net_csum_fold(net_csum_partial(l4, l4_len, 0)));
	} else if (h->family == 6 && h->l4_proto == NET_PROTO_ICMP6) {
		net_put16(l4 + 2, net_ip6_l4_csum(ip + 8, ip + 24, NET_PROTO_ICMP6, l4, l4_len, 2));
	}
}

static void
fuzz_nd(const uint8_t *f, uint32_t len, const struct net_hdrs *h)
{
	const uint8_t *l4 = f + h->l4_off;
	struct net_nd nd;

	if (net_nd_parse(f, len, h, &nd) != 0)
		return;
	FUZZ_CHECK(h->family == 6 && h->l4_proto == NET_PROTO_ICMP6);
	FUZZ_CHECK(h->ttl == 255 && f[h->l2_len + 7] == 255);
	FUZZ_CHECK(h->l3_total - h->l3_len >= NET_ND_LEN);
	FUZZ_CHECK(nd.type == l4[0] && (nd.type == NET_ND_NS || nd.type == NET_ND_NA));
	FUZZ_CHECK(l4[1] == 0 && fuzz_l4_csum_ok(f, h));
	FUZZ_CHECK(memcmp(nd.target, l4 + 8, 16) == 0 && nd.target[0] != 0xff);
	FUZZ_CHECK((nd.flags & 0x1f) == 0 && (nd.type == NET_ND_NA || nd.flags == 0));
}

static void
fuzz_icmp_error(const uint8_t *f, uint32_t len, const struct net_hdrs *h)
{
	struct net_icmp_err e;

	if (net_icmp_error_inner(f, len, h, &e) != 0)
		return;
	FUZZ_CHECK(e.family == h->family);
	FUZZ_CHECK(net_icmp_is_error(h->family, f[h->l4_off]));
	FUZZ_CHECK(h->l3_total - h->l3_len >= 8u + (e.family == 4 ? NET_IP4_LEN : NET_IP6_LEN));
	if (e.proto != NET_PROTO_TCP && e.proto != NET_PROTO_UDP)
		FUZZ_CHECK(e.sport == 0 && e.dport == 0);
	if (e.family == 4)
		FUZZ_CHECK(memcmp(e.src + 4, (const uint8_t[12]){ 0 }, 12) == 0);
}

static void
fuzz_echo6(const uint8_t *data, uint32_t len, const struct net_hdrs *h)
{
	struct net_hdrs h2;
	uint8_t *c = fuzz_dup(data, len);

	if (c == NULL)
		return;
	if (net_icmp6_echo_reply(c, len, h, my_mac) == 0) {
		FUZZ_CHECK(net_parse(c, len, &h2) == NET_PARSE_OK);
		FUZZ_CHECK(h2.family == 6 && h2.l4_proto == NET_PROTO_ICMP6);
		FUZZ_CHECK(h2.dport == NET_ICMP6_ECHO_REPLY << 8 && h2.sport == h->sport);
		FUZZ_CHECK(h2.ttl == 64 && h2.l3_len == NET_IP6_LEN);
		FUZZ_CHECK(memcmp(h2.src, h->dst, 16) == 0 && memcmp(h2.dst, h->src, 16) == 0);
		FUZZ_CHECK(fuzz_l4_csum_ok(c, &h2));
		FUZZ_CHECK(memcmp(c + 6, my_mac, 6) == 0 && memcmp(c, data + 6, 6) == 0);
	} else {
		FUZZ_CHECK(memcmp(c, data, len) == 0);
	}
	free(c);
}

/* Build into a buffer of exactly the returned size, then parse it back. */
static void
fuzz_builders(const uint8_t *in, uint32_t len)
{
	const uint8_t *mac = in, *a = in + 6, *b = in + 22, *t = in + 38;
	uint16_t sport, dport, plen;
	uint8_t flags, fam;
	struct net_hdrs h;
	struct net_nd nd;
	uint32_t n;
	uint8_t *f;

	if (len < 62)
		return;
	flags = in[54];
	fam = (in[55] & 1) ? 6 : 4;
	sport = net_get16(in + 56);
	dport = net_get16(in + 58);
	plen = net_get16(in + 60) % 2048;
	f = malloc(NET_ND_FRAME_LEN);
	if (f == NULL)
		return;
	n = net_nd_build_na(f, mac, my_mac, a, b, t, flags);
	FUZZ_CHECK(n == NET_ND_FRAME_LEN);
	FUZZ_CHECK(net_parse(f, n, &h) == NET_PARSE_OK);
	if (t[0] == 0xff || (b[0] == 0xff && (flags & NET_ND_NA_SOLICITED))) {
		FUZZ_CHECK(net_nd_parse(f, n, &h, &nd) == -EINVAL);
	} else {
		FUZZ_CHECK(net_nd_parse(f, n, &h, &nd) == 0);
		FUZZ_CHECK(nd.type == NET_ND_NA && nd.flags == (flags & 0xe0));
		FUZZ_CHECK(nd.has_lladdr && memcmp(nd.lladdr, my_mac, 6) == 0);
		FUZZ_CHECK(memcmp(nd.target, t, 16) == 0);
	}
	n = net_nd_build_ns(f, my_mac, a, t);
	FUZZ_CHECK(n == NET_ND_FRAME_LEN || n == NET_ND_FRAME_LEN - 8);
	FUZZ_CHECK(net_parse(f, n, &h) == NET_PARSE_OK);
	FUZZ_CHECK(net_nd_parse(f, n, &h, &nd) == (t[0] == 0xff ? -EINVAL : 0));
	free(f);

	f = malloc(NET_ETH_LEN + NET_IP6_LEN + NET_TCP_LEN);
	if (f == NULL)
		return;
	n = net_tcp_build(f, fam, mac, my_mac, a, b, sport, dport, net_get32(t), net_get32(t + 4),
			  flags);
	FUZZ_CHECK(n == (fam == 4 ? 54u : 74u));
	FUZZ_CHECK(net_parse(f, n, &h) == NET_PARSE_OK);
	FUZZ_CHECK(h.l4_proto == NET_PROTO_TCP && h.sport == sport && h.dport == dport);
	FUZZ_CHECK(h.tcp_flags == flags && fuzz_l4_csum_ok(f, &h));
	free(f);

	f = malloc(NET_ETH_LEN + NET_IP6_LEN + NET_ICMP_LEN + plen);
	if (f == NULL)
		return;
	n = net_icmp_echo_build(f, fam, mac, my_mac, a, b, sport, dport, plen);
	FUZZ_CHECK(n == (fam == 4 ? 42u : 62u) + plen);
	FUZZ_CHECK(net_parse(f, n, &h) == NET_PARSE_OK && fuzz_l4_csum_ok(f, &h));
	FUZZ_CHECK(h.sport == sport);
	if (fam == 4)
		FUZZ_CHECK(net_icmp4_echo_reply(f, n, &h, my_mac) == 0);
	else if (a[0] != 0xff && b[0] != 0xff && memcmp(a, (const uint8_t[16]){ 0 }, 16) != 0 &&
		 memcmp(b, (const uint8_t[16]){ 0 }, 16) != 0)
		FUZZ_CHECK(net_icmp6_echo_reply(f, n, &h, my_mac) == 0);
	free(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	struct net_hdrs h;
	uint8_t *data;
	uint32_t len;

	if (size < 1 || size > 70000)
		return 0;
	len = (uint32_t)size - 1;
	data = fuzz_dup(input + 1, len);
	if (data == NULL)
		return 0;
	if (input[0] & 4)
		fuzz_builders(data, len);
	if (input[0] & 1)
		fuzz_fix_ip4(data, len);
	if (net_parse(data, len, &h) != NET_PARSE_OK || h.family == 0)
		goto out;
	if (input[0] & 2) {
		fuzz_fix_icmp(data, &h);
		FUZZ_CHECK(net_parse(data, len, &h) == NET_PARSE_OK);
	}
	fuzz_nd(data, len, &h);
	fuzz_icmp_error(data, len, &h);
	fuzz_echo6(data, len, &h);
out:
	free(data);
	return 0;
}
