/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for lib/net: every frame a port can receive goes through
 * net_parse, so it must never read past the frame, and what it reports must
 * stay inside the frame. ARP and ICMP echo handling run on what it accepts;
 * the echo reply is built in a private copy of exactly the frame's size, so
 * an out-of-bounds write shows up in ASan.
 *
 * Input: one mode byte, then the frame. Mode bit 0 asks the harness to fix
 * the IPv4 header checksum and bit 1 the ICMP checksum before parsing, so
 * that mutated headers get past the checksum checks to the code behind them.
 */
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

static void
fuzz_echo(const uint8_t *data, uint32_t len, const struct net_hdrs *h)
{
	static const uint8_t my_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };
	struct net_hdrs h2;
	uint8_t *copy;
	uint8_t *icmp;

	copy = malloc(len);
	if (copy == NULL)
		return;
	memcpy(copy, data, len);
	if (net_icmp4_echo_reply(copy, len, h, my_mac) == 0) {
		/* A reply must parse, and carry valid checksums. */
		FUZZ_CHECK(net_parse(copy, len, &h2) == NET_PARSE_OK);
		FUZZ_CHECK(h2.family == 4 && h2.l4_proto == NET_PROTO_ICMP);
		FUZZ_CHECK(h2.dport == 0 && h2.sport == h->sport && h2.ttl == 64);
		FUZZ_CHECK(memcmp(h2.src, h->dst, 4) == 0 && memcmp(h2.dst, h->src, 4) == 0);
		icmp = copy + h2.l4_off;
		FUZZ_CHECK(net_csum_fold(net_csum_partial(icmp, h2.l3_total - h2.l3_len, 0)) == 0);
		FUZZ_CHECK(memcmp(copy + 6, my_mac, 6) == 0);
		FUZZ_CHECK(memcmp(copy, data + 6, 6) == 0);
	} else {
		/* Refused: not one byte changed. */
		FUZZ_CHECK(memcmp(copy, data, len) == 0);
	}
	free(copy);
}

/* Find an IPv4 header the way net_parse would and make its checksums valid. */
static void
fuzz_fix_csums(uint8_t *f, uint32_t len, uint8_t mode)
{
	uint32_t off = NET_ETH_LEN, hl, total;
	uint16_t et;
	uint8_t *ip;
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
	ip = f + off;
	hl = (ip[0] & 0x0fu) * 4;
	total = net_get16(ip + 2);
	if (hl < NET_IP4_LEN || off + hl > len)
		return;
	if ((mode & 2) && ip[9] == NET_PROTO_ICMP && total >= hl + 8 && off + total <= len) {
		net_put16(ip + hl + 2, 0);
		net_put16(ip + hl + 2, net_csum_fold(net_csum_partial(ip + hl, total - hl, 0)));
	}
	if (mode & 1)
		net_put16(ip + 10, net_ip4_hdr_csum(ip, (uint16_t)hl));
}

static void
fuzz_one(const uint8_t *data, uint32_t len)
{
	struct net_hdrs h;
	struct net_arp a;
	int ret;

	ret = net_parse(data, len, &h);
	FUZZ_CHECK(ret >= 0 && ret < NET_ERR_MAX);
	FUZZ_CHECK(net_parse_err_name(ret) != NULL);
	if (ret != NET_PARSE_OK)
		return;

	FUZZ_CHECK(h.l2_len >= NET_ETH_LEN && h.l2_len <= len);
	if (h.family == 0) {
		FUZZ_CHECK(h.ethertype != NET_ETHERTYPE_IP4 && h.ethertype != NET_ETHERTYPE_IP6);
		if (h.ethertype == NET_ETHERTYPE_ARP) {
			ret = net_arp_parse(data, len, &h, &a);
			FUZZ_CHECK(ret == NET_PARSE_OK || ret == NET_ERR_ARP_TRUNC ||
				   ret == NET_ERR_ARP_BAD_FORMAT);
			FUZZ_CHECK((ret == NET_ERR_ARP_TRUNC) == (len < h.l2_len + NET_ARP_LEN));
		}
		return;
	}

	FUZZ_CHECK(h.family == 4 || h.family == 6);
	FUZZ_CHECK((h.ip_flags & ~(NET_IP4_DF | NET_IP4_MF)) == 0);
	FUZZ_CHECK(h.family == 4 || h.ip_flags == 0);
	FUZZ_CHECK(h.l3_len <= h.l3_total);
	FUZZ_CHECK((uint32_t)h.l2_len + h.l3_total <= len);
	FUZZ_CHECK(h.l4_off == h.l2_len + h.l3_len);
	FUZZ_CHECK(h.frag <= NET_FRAG_LATER);
	if (h.frag == NET_FRAG_LATER)
		FUZZ_CHECK(h.sport == 0 && h.dport == 0 && h.tcp_flags == 0);
	if (h.l4_proto != NET_PROTO_TCP)
		FUZZ_CHECK(h.tcp_flags == 0);

	if (h.family == 4 && h.l4_proto == NET_PROTO_ICMP)
		fuzz_echo(data, len, &h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	uint8_t *data;
	uint32_t len;

	/* Past 64 KiB + headers nothing new can happen: lengths are 16 bits. */
	if (size < 1 || size > 70000)
		return 0;
	len = (uint32_t)size - 1;
	/* A copy of exactly the frame's length: ASan sees a read one past it. */
	data = malloc(len > 0 ? len : 1);
	if (data == NULL)
		return 0;
	memcpy(data, input + 1, len);
	fuzz_fix_csums(data, len, input[0]);
	fuzz_one(data, len);
	free(data);
	return 0;
}
