/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Header parsing and packet builders over plain bytes. Every read is preceded
 * by a check against the bytes known to be there: the frame length for L2,
 * the IP header's own length fields for what follows.
 */
#include <errno.h>
#include <string.h>

#include "net/net.h"

/* Extension headers walked before giving up (RFC 8200 §4.1 names at most 8). */
#define NET_IP6_MAX_EXT 8

#define NET_IP6_NH_HOPOPTS 0
#define NET_IP6_NH_ROUTING 43
#define NET_IP6_NH_FRAGMENT 44
#define NET_IP6_NH_DSTOPTS 60

#define NET_ICMP4_ECHO_REPLY 0
#define NET_ICMP4_ECHO_REQUEST 8

static const char *const net_parse_err_names[NET_ERR_MAX] = {
	[NET_PARSE_OK] = "ok",
#define _(sym, str) [NET_ERR_##sym] = str,
	foreach_net_parse_err
#undef _
};

const char *
net_parse_err_name(int err)
{
	if (err < 0 || err >= NET_ERR_MAX)
		return "unknown";
	return net_parse_err_names[err];
}

uint32_t
net_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;
	size_t i;

	/* 64-bit accumulator: no carry can be lost below 2^48 bytes. */
	for (i = 0; i + 1 < len; i += 2)
		acc += net_get16(p + i);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t
net_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t
net_ip4_hdr_csum(const uint8_t *ip4, uint16_t hdr_len)
{
	uint32_t sum;

	/* Skip the checksum field so callers need not zero it before writing. */
	sum = net_csum_partial(ip4, 10, 0);
	if (hdr_len > 12)
		sum = net_csum_partial(ip4 + 12, hdr_len - 12u, sum);
	return net_csum_fold(sum);
}

void
net_eth_write(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t ethertype)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	net_put16(p + 12, ethertype);
}

/*
 * L4 ports from the first bytes of the transport header. len is what the IP
 * header says the transport part holds, not what the frame holds, so Ethernet
 * padding is never taken for a header.
 */
static int
net_parse_l4(const uint8_t *l4, uint32_t len, struct net_hdrs *h)
{
	uint8_t doff;

	switch (h->l4_proto) {
	case NET_PROTO_TCP:
		if (len < 20)
			return NET_ERR_L4_TRUNC;
		doff = l4[12] >> 4;
		if (doff < 5 || doff * 4u > len)
			return NET_ERR_TCP_BAD_OFFSET;
		h->sport = net_get16(l4);
		h->dport = net_get16(l4 + 2);
		h->tcp_flags = l4[13];
		return NET_PARSE_OK;
	case NET_PROTO_UDP:
		if (len < 8)
			return NET_ERR_L4_TRUNC;
		h->sport = net_get16(l4);
		h->dport = net_get16(l4 + 2);
		return NET_PARSE_OK;
	case NET_PROTO_ICMP:
	case NET_PROTO_ICMP6:
		/* ICMP over the wrong IP version is just another protocol. */
		if ((h->l4_proto == NET_PROTO_ICMP) != (h->family == 4))
			return NET_PARSE_OK;
		if (len < 8)
			return NET_ERR_L4_TRUNC;
		h->sport = net_get16(l4 + 4);
		h->dport = net_get16(l4);
		return NET_PARSE_OK;
	default:
		return NET_PARSE_OK;
	}
}

static int
net_parse_ip4(const uint8_t *p, uint32_t len, struct net_hdrs *h)
{
	uint16_t hl, total, frag;
	uint32_t sum;

	if (len < NET_IP4_LEN)
		return NET_ERR_IP4_TRUNC;
	if (p[0] >> 4 != 4)
		return NET_ERR_IP4_BAD_VERSION;
	hl = (p[0] & 0x0f) * 4u;
	if (hl < NET_IP4_LEN)
		return NET_ERR_IP4_BAD_IHL;
	if (hl > len)
		return NET_ERR_IP4_TRUNC;
	total = net_get16(p + 2);
	/* Above the bytes present is a lie or a cut frame; below is padding. */
	if (total < hl || total > len)
		return NET_ERR_IP4_BAD_TOTAL_LEN;
	/* Summing the stored checksum too accepts both encodings of zero. */
	sum = net_csum_partial(p, hl, 0);
	if (net_csum_fold(sum) != 0)
		return NET_ERR_IP4_BAD_CSUM;

	h->family = 4;
	h->tos = p[1];
	h->ip4_id = net_get16(p + 4);
	h->ttl = p[8];
	h->l4_proto = p[9];
	memcpy(h->src, p + 12, 4);
	memcpy(h->dst, p + 16, 4);
	h->l3_len = hl;
	h->l3_total = total;

	frag = net_get16(p + 6);
	if (frag & 0x1fff)
		h->frag = NET_FRAG_LATER;
	else if (frag & 0x2000)
		h->frag = NET_FRAG_FIRST;
	else
		h->frag = NET_FRAG_NONE;
	if (h->frag == NET_FRAG_LATER)
		return NET_PARSE_OK;
	return net_parse_l4(p + hl, total - hl, h);
}

static int
net_parse_ip6(const uint8_t *p, uint32_t len, struct net_hdrs *h)
{
	uint32_t off, end, n_ext;
	uint16_t plen, fo;
	uint8_t nh;
	bool seen_frag = false;

	if (len < NET_IP6_LEN)
		return NET_ERR_IP6_TRUNC;
	if (p[0] >> 4 != 6)
		return NET_ERR_IP6_BAD_VERSION;
	plen = net_get16(p + 4);
	/*
	 * l3_total is 16 bits wide; a payload that cannot fit it cannot come
	 * in an Ethernet frame either (jumbograms are not supported).
	 */
	if (plen > UINT16_MAX - NET_IP6_LEN || NET_IP6_LEN + (uint32_t)plen > len)
		return NET_ERR_IP6_BAD_PAYLOAD_LEN;

	h->family = 6;
	h->tos = (uint8_t)(net_get16(p) >> 4);
	h->ttl = p[7];
	memcpy(h->src, p + 8, 16);
	memcpy(h->dst, p + 24, 16);
	h->l3_total = (uint16_t)(NET_IP6_LEN + plen);

	nh = p[6];
	off = NET_IP6_LEN;
	end = NET_IP6_LEN + plen;
	for (n_ext = 0;; n_ext++) {
		if (nh != NET_IP6_NH_HOPOPTS && nh != NET_IP6_NH_ROUTING &&
		    nh != NET_IP6_NH_DSTOPTS && nh != NET_IP6_NH_FRAGMENT)
			break;
		/* Bounded so a chain of empty options cannot cost a whole frame. */
		if (n_ext == NET_IP6_MAX_EXT)
			return NET_ERR_IP6_BAD_EXT_HDR;
		/* RFC 8200 §4.1: hop-by-hop only ever follows the IPv6 header. */
		if (nh == NET_IP6_NH_HOPOPTS && n_ext != 0)
			return NET_ERR_IP6_BAD_EXT_HDR;
		if (off + 8 > end)
			return NET_ERR_IP6_BAD_EXT_HDR;
		if (nh == NET_IP6_NH_FRAGMENT) {
			if (seen_frag)
				return NET_ERR_IP6_BAD_EXT_HDR;
			seen_frag = true;
			fo = net_get16(p + off + 2);
			h->ip4_id = net_get32(p + off + 4);
			if (fo & 0xfff8)
				h->frag = NET_FRAG_LATER;
			else if (fo & 1)
				h->frag = NET_FRAG_FIRST;
			nh = p[off];
			off += 8;
			/* After a later fragment's header comes data, not headers. */
			if (h->frag == NET_FRAG_LATER)
				break;
			continue;
		}
		if (off + (p[off + 1] + 1u) * 8 > end)
			return NET_ERR_IP6_BAD_EXT_HDR;
		nh = p[off];
		off += (p[off + 1] + 1u) * 8;
	}
	h->l4_proto = nh;
	h->l3_len = (uint16_t)off;
	if (h->frag == NET_FRAG_LATER)
		return NET_PARSE_OK;
	return net_parse_l4(p + off, end - off, h);
}

int
net_parse(const uint8_t *frame, uint32_t len, struct net_hdrs *h)
{
	uint32_t off = NET_ETH_LEN;
	uint16_t et;
	unsigned int tags = 0;
	int ret;

	memset(h, 0, sizeof(*h));
	if (len < NET_ETH_LEN)
		return NET_ERR_ETH_TRUNC;
	et = net_get16(frame + 12);
	while (et == NET_ETHERTYPE_VLAN || et == NET_ETHERTYPE_QINQ) {
		if (tags == 2)
			return NET_ERR_VLAN_TOO_DEEP;
		if (off + NET_VLAN_LEN > len)
			return NET_ERR_VLAN_TRUNC;
		if (tags == 0)
			h->vlan = net_get16(frame + off) & 0x0fff;
		et = net_get16(frame + off + 2);
		off += NET_VLAN_LEN;
		tags++;
	}
	h->l2_len = (uint16_t)off;
	h->ethertype = et;

	switch (et) {
	case NET_ETHERTYPE_IP4:
		ret = net_parse_ip4(frame + off, len - off, h);
		break;
	case NET_ETHERTYPE_IP6:
		ret = net_parse_ip6(frame + off, len - off, h);
		break;
	default:
		/* ARP, PTP and the rest: the caller decides from the ethertype. */
		return NET_PARSE_OK;
	}
	h->l4_off = (uint16_t)(h->l2_len + h->l3_len);
	return ret;
}

int
net_arp_parse(const uint8_t *frame, uint32_t len, const struct net_hdrs *h,
	      struct net_arp *a)
{
	const uint8_t *p;

	if (h->ethertype != NET_ETHERTYPE_ARP || h->l2_len > len)
		return NET_ERR_ARP_BAD_FORMAT;
	if (len - h->l2_len < NET_ARP_LEN)
		return NET_ERR_ARP_TRUNC;
	p = frame + h->l2_len;
	if (net_get16(p) != 1 || net_get16(p + 2) != NET_ETHERTYPE_IP4 ||
	    p[4] != 6 || p[5] != 4)
		return NET_ERR_ARP_BAD_FORMAT;
	a->op = net_get16(p + 6);
	memcpy(a->sha, p + 8, 6);
	memcpy(a->spa, p + 14, 4);
	memcpy(a->tha, p + 18, 6);
	memcpy(a->tpa, p + 24, 4);
	return NET_PARSE_OK;
}

uint32_t
net_arp_build(uint8_t *buf, uint16_t op, const uint8_t eth_dst[6],
	      const uint8_t sha[6], const uint8_t spa[4],
	      const uint8_t tha[6], const uint8_t tpa[4])
{
	uint8_t *p = buf + NET_ETH_LEN;

	net_eth_write(buf, eth_dst, sha, NET_ETHERTYPE_ARP);
	net_put16(p, 1);
	net_put16(p + 2, NET_ETHERTYPE_IP4);
	p[4] = 6;
	p[5] = 4;
	net_put16(p + 6, op);
	memcpy(p + 8, sha, 6);
	memcpy(p + 14, spa, 4);
	memcpy(p + 18, tha, 6);
	memcpy(p + 24, tpa, 4);
	memset(p + NET_ARP_LEN, 0, NET_ETH_MIN_FRAME - NET_ETH_LEN - NET_ARP_LEN);
	return NET_ETH_MIN_FRAME;
}

int
net_icmp4_echo_reply(uint8_t *frame, uint32_t len, const struct net_hdrs *h,
		     const uint8_t my_mac[6])
{
	uint8_t *ip, *icmp;
	uint32_t icmp_len;
	uint8_t tmp[6];

	/*
	 * h comes from net_parse on this frame, but the bounds are checked
	 * again so a stale or foreign h can never make us write out of bounds.
	 */
	if (h->family != 4 || h->l4_proto != NET_PROTO_ICMP || h->frag != NET_FRAG_NONE)
		return -EINVAL;
	if (h->l2_len < NET_ETH_LEN || h->l3_len < NET_IP4_LEN ||
	    h->l3_total < h->l3_len + 8u || (uint32_t)h->l2_len + h->l3_total > len)
		return -EINVAL;
	ip = frame + h->l2_len;
	icmp = ip + h->l3_len;
	icmp_len = h->l3_total - h->l3_len;
	if (icmp[0] != NET_ICMP4_ECHO_REQUEST || icmp[1] != 0)
		return -EINVAL;
	if (net_csum_fold(net_csum_partial(icmp, icmp_len, 0)) != 0)
		return -EINVAL;

	icmp[0] = NET_ICMP4_ECHO_REPLY;
	net_put16(icmp + 2, 0);
	net_put16(icmp + 2, net_csum_fold(net_csum_partial(icmp, icmp_len, 0)));

	memcpy(tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, tmp, 4);
	ip[8] = 64;
	net_put16(ip + 10, net_ip4_hdr_csum(ip, h->l3_len));

	memcpy(frame, frame + 6, 6);
	memcpy(frame + 6, my_mac, 6);
	return 0;
}

void
net_ipip4_write(uint8_t *p, const uint8_t src[4], const uint8_t dst[4],
		uint16_t inner_len, uint8_t proto, uint8_t tos, uint8_t ttl,
		uint16_t id, bool df)
{
	p[0] = 0x45;
	p[1] = tos;
	net_put16(p + 2, (uint16_t)(NET_IP4_LEN + inner_len));
	net_put16(p + 4, id);
	net_put16(p + 6, df ? 0x4000 : 0);
	p[8] = ttl;
	p[9] = proto;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	net_put16(p + 10, net_ip4_hdr_csum(p, NET_IP4_LEN));
}
