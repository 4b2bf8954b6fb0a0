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

static const char *const net_parse_err_names[NET_ERR_MAX] = { [NET_PARSE_OK] = "ok",
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
	h->ip_flags = p[6] & (NET_IP4_DF | NET_IP4_MF);
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

/* Where the extension-header walk of an IPv6 packet ended. */
struct net_ip6_walk {
	uint32_t off;     /* of the upper-layer header, from the IPv6 header */
	uint32_t frag_id; /* fragment header's identification */
	uint8_t nh;       /* upper-layer protocol */
	uint8_t frag;     /* NET_FRAG_* */
};

/*
 * Walk the extension headers of the IPv6 header at p, of which end bytes may
 * be read (end >= 40). Shared by net_parse and the ICMPv6 error quote, whose
 * end is what the quote holds rather than the payload length. Returns
 * NET_PARSE_OK or NET_ERR_IP6_BAD_EXT_HDR.
 */
static int
net_ip6_walk(const uint8_t *p, uint32_t end, struct net_ip6_walk *w)
{
	uint32_t off = NET_IP6_LEN, n_ext;
	uint16_t fo;
	uint8_t nh = p[6];
	bool seen_frag = false;

	w->frag = NET_FRAG_NONE;
	w->frag_id = 0;
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
			w->frag_id = net_get32(p + off + 4);
			if (fo & 0xfff8)
				w->frag = NET_FRAG_LATER;
			else if (fo & 1)
				w->frag = NET_FRAG_FIRST;
			nh = p[off];
			off += 8;
			/* After a later fragment's header comes data, not headers. */
			if (w->frag == NET_FRAG_LATER)
				break;
			continue;
		}
		if (off + (p[off + 1] + 1u) * 8 > end)
			return NET_ERR_IP6_BAD_EXT_HDR;
		nh = p[off];
		off += (p[off + 1] + 1u) * 8;
	}
	w->nh = nh;
	w->off = off;
	return NET_PARSE_OK;
}

static int
net_parse_ip6(const uint8_t *p, uint32_t len, struct net_hdrs *h)
{
	struct net_ip6_walk w;
	uint16_t plen;
	uint32_t end;
	int ret;

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

	end = NET_IP6_LEN + plen;
	ret = net_ip6_walk(p, end, &w);
	h->frag = w.frag;
	h->ip4_id = w.frag_id;
	if (ret != NET_PARSE_OK)
		return ret;
	h->l4_proto = w.nh;
	h->l3_len = (uint16_t)w.off;
	if (h->frag == NET_FRAG_LATER)
		return NET_PARSE_OK;
	return net_parse_l4(p + w.off, end - w.off, h);
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
net_arp_parse(const uint8_t *frame, uint32_t len, const struct net_hdrs *h, struct net_arp *a)
{
	const uint8_t *p;

	if (h->ethertype != NET_ETHERTYPE_ARP || h->l2_len > len)
		return NET_ERR_ARP_BAD_FORMAT;
	if (len - h->l2_len < NET_ARP_LEN)
		return NET_ERR_ARP_TRUNC;
	p = frame + h->l2_len;
	if (net_get16(p) != 1 || net_get16(p + 2) != NET_ETHERTYPE_IP4 || p[4] != 6 || p[5] != 4)
		return NET_ERR_ARP_BAD_FORMAT;
	a->op = net_get16(p + 6);
	memcpy(a->sha, p + 8, 6);
	memcpy(a->spa, p + 14, 4);
	memcpy(a->tha, p + 18, 6);
	memcpy(a->tpa, p + 24, 4);
	return NET_PARSE_OK;
}

uint32_t
net_arp_build(uint8_t *buf, uint16_t op, const uint8_t eth_dst[6], const uint8_t sha[6],
	      const uint8_t spa[4], const uint8_t tha[6], const uint8_t tpa[4])
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
	if (h->l2_len < NET_ETH_LEN || h->l3_len < NET_IP4_LEN || h->l3_total < h->l3_len + 8u ||
	    (uint32_t)h->l2_len + h->l3_total > len)
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
net_ipip4_write(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], uint16_t inner_len,
		uint8_t proto, uint8_t tos, uint8_t ttl, uint16_t id, bool df)
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

void
net_ip6_write(uint8_t *p, const uint8_t src[16], const uint8_t dst[16], uint16_t payload_len,
	      uint8_t next_hdr, uint8_t tclass, uint32_t flow_label, uint8_t hop_limit)
{
	net_put32(p, UINT32_C(6) << 28 | (uint32_t)tclass << 20 | (flow_label & 0xfffff));
	net_put16(p + 4, payload_len);
	p[6] = next_hdr;
	p[7] = hop_limit;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
}

void
net_udp_write(uint8_t *p, uint16_t sport, uint16_t dport, uint16_t len)
{
	net_put16(p, sport);
	net_put16(p + 2, dport);
	net_put16(p + 4, len);
	net_put16(p + 6, 0);
}

void
net_gue_write(uint8_t *p, uint8_t inner_proto)
{
	p[0] = 0; /* version 0, C 0 (data message), Hlen 0 */
	p[1] = inner_proto;
	net_put16(p + 2, 0);
}

/* RFC 8200 §8.1: src, dst, 32-bit upper-layer length, 3 zero bytes, next header. */
static uint32_t
net_ip6_pseudo_sum(const uint8_t src[16], const uint8_t dst[16], uint8_t next_hdr, uint32_t l4_len)
{
	uint8_t tail[8];
	uint32_t sum;

	net_put32(tail, l4_len);
	tail[4] = 0;
	tail[5] = 0;
	tail[6] = 0;
	tail[7] = next_hdr;
	sum = net_csum_partial(src, 16, 0);
	sum = net_csum_partial(dst, 16, sum);
	return net_csum_partial(tail, sizeof(tail), sum);
}

/* RFC 793 §3.1 / RFC 768: src, dst, zero, protocol, 16-bit length. */
static uint32_t
net_ip4_pseudo_sum(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, uint32_t l4_len)
{
	uint8_t ph[12];

	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = proto;
	net_put16(ph + 10, (uint16_t)l4_len);
	return net_csum_partial(ph, sizeof(ph), 0);
}

/*
 * The checksum of l4 on top of a pseudo-header sum, with the field at
 * csum_offset counted as zero. Rather than summing around the field, the whole
 * buffer is summed and the field subtracted (one's complement: added
 * complemented), which is exact at an odd offset too; a field that is not
 * inside l4 is not subtracted.
 */
static uint16_t
net_l4_csum(uint32_t sum, const uint8_t *l4, uint32_t l4_len, uint32_t csum_offset)
{
	uint16_t field, c;

	sum = net_csum_partial(l4, l4_len, sum);
	if (l4_len >= 2 && csum_offset <= l4_len - 2) {
		/* A byte at an even offset is the high half of its word. */
		if (csum_offset & 1)
			field = (uint16_t)(l4[csum_offset] | l4[csum_offset + 1] << 8);
		else
			field = net_get16(l4 + csum_offset);
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		sum += (uint16_t)~field;
	}
	c = net_csum_fold(sum);
	return c != 0 ? c : 0xffff;
}

uint16_t
net_ip6_l4_csum(const uint8_t src[16], const uint8_t dst[16], uint8_t next_hdr, const uint8_t *l4,
		uint32_t l4_len, uint32_t csum_offset)
{
	return net_l4_csum(net_ip6_pseudo_sum(src, dst, next_hdr, l4_len), l4, l4_len, csum_offset);
}

uint16_t
net_ip4_l4_csum(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, const uint8_t *l4,
		uint32_t l4_len, uint32_t csum_offset)
{
	return net_l4_csum(net_ip4_pseudo_sum(src, dst, proto, l4_len), l4, l4_len, csum_offset);
}

/*
 * The stored checksum of an ICMPv6 message is right: the sum over pseudo-header
 * and message, field included, is all ones (either stored zero form passes).
 */
static bool
net_icmp6_csum_ok(const uint8_t *ip6, const uint8_t *icmp, uint32_t icmp_len)
{
	uint32_t sum = net_ip6_pseudo_sum(ip6 + 8, ip6 + 24, NET_PROTO_ICMP6, icmp_len);

	return net_csum_fold(net_csum_partial(icmp, icmp_len, sum)) == 0;
}

/*
 * Whether a frame net_parse accepted into h has a transport part of at least
 * min bytes (then in *l4_len, at frame + l2_len + l3_len). h is checked again
 * against len so that a stale or foreign h can never take a read or write
 * outside the frame.
 */
static bool
net_l4_span(uint32_t len, const struct net_hdrs *h, uint32_t min, uint32_t *l4_len)
{
	uint32_t ip_min = h->family == 4 ? NET_IP4_LEN : NET_IP6_LEN;

	if (h->l2_len < NET_ETH_LEN || h->l3_len < ip_min ||
	    h->l3_total < (uint32_t)h->l3_len + min || (uint32_t)h->l2_len + h->l3_total > len)
		return false;
	*l4_len = h->l3_total - h->l3_len;
	return true;
}

static inline bool
net_ip6_is_multicast(const uint8_t a[16])
{
	return a[0] == 0xff;
}

static bool
net_ip6_is_unspecified(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

void
net_ip6_solicited_node(const uint8_t target[16], uint8_t out[16])
{
	static const uint8_t prefix[13] = {
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff,
	};

	memcpy(out, prefix, sizeof(prefix));
	memcpy(out + 13, target + 13, 3);
}

/* Solicited-node addresses are ff02::1:ff00:0/104 (RFC 4291 §2.7.1). */
static bool
net_ip6_is_solicited_node(const uint8_t a[16])
{
	uint8_t sn[16];

	net_ip6_solicited_node(a, sn);
	return memcmp(a, sn, 13) == 0;
}

int
net_nd_parse(const uint8_t *frame, uint32_t len, const struct net_hdrs *h, struct net_nd *nd)
{
	const uint8_t *ip, *icmp;
	uint32_t icmp_len, off, olen;
	struct net_nd r;
	uint8_t want_opt;
	bool unspec_src;

	if (h->family != 6 || h->l4_proto != NET_PROTO_ICMP6 || h->frag != NET_FRAG_NONE)
		return -EINVAL;
	/* RFC 4861 §7.1.1/§7.1.2: "ICMP length ... is 24 or more octets". */
	if (!net_l4_span(len, h, NET_ND_LEN, &icmp_len))
		return -EINVAL;
	ip = frame + h->l2_len;
	icmp = ip + h->l3_len;
	/* "The IP Hop Limit field has a value of 255": it came from on-link. */
	if (ip[7] != 255 || (icmp[0] != NET_ND_NS && icmp[0] != NET_ND_NA) || icmp[1] != 0)
		return -EINVAL;
	if (!net_icmp6_csum_ok(ip, icmp, icmp_len))
		return -EINVAL;
	/* "Target Address is not a multicast address." */
	if (net_ip6_is_multicast(icmp + 8))
		return -EINVAL;

	memset(&r, 0, sizeof(r));
	r.type = icmp[0];
	memcpy(r.target, icmp + 8, 16);
	unspec_src = net_ip6_is_unspecified(ip + 8);
	if (r.type == NET_ND_NS) {
		/* "If the IP source address is the unspecified address, the IP
		 * destination address is a solicited-node multicast address." */
		if (unspec_src && !net_ip6_is_solicited_node(ip + 24))
			return -EINVAL;
		want_opt = NET_ND_OPT_SRC_LLADDR;
	} else {
		r.flags = icmp[4] & (NET_ND_NA_ROUTER | NET_ND_NA_SOLICITED | NET_ND_NA_OVERRIDE);
		/* "If the IP Destination Address is a multicast address the
		 * Solicited flag is zero." */
		if (net_ip6_is_multicast(ip + 24) && (r.flags & NET_ND_NA_SOLICITED))
			return -EINVAL;
		want_opt = NET_ND_OPT_TGT_LLADDR;
	}

	/* "All included options have a length that is greater than zero." */
	for (off = NET_ND_LEN; off < icmp_len; off += olen) {
		if (icmp_len - off < 2)
			return -EINVAL;
		olen = icmp[off + 1] * 8u;
		if (olen == 0 || olen > icmp_len - off)
			return -EINVAL;
		if (icmp[off] != want_opt || r.has_lladdr)
			continue;
		/* An Ethernet address takes exactly one 8-byte unit. */
		if (olen != 8)
			return -EINVAL;
		r.has_lladdr = true;
		memcpy(r.lladdr, icmp + off + 2, 6);
	}
	/* "If the IP source address is the unspecified address, there is no
	 * source link-layer address option in the message." */
	if (r.type == NET_ND_NS && unspec_src && r.has_lladdr)
		return -EINVAL;
	*nd = r;
	return 0;
}

/* Ethernet + IPv6 (hop limit 255) + the 24 bytes every NS and NA starts with. */
static uint8_t *
net_nd_write(uint8_t *buf, const uint8_t eth_dst[6], const uint8_t my_mac[6], const uint8_t src[16],
	     const uint8_t dst[16], uint8_t type, const uint8_t target[16], uint8_t flags,
	     uint16_t icmp_len)
{
	uint8_t *icmp = buf + NET_ETH_LEN + NET_IP6_LEN;

	net_eth_write(buf, eth_dst, my_mac, NET_ETHERTYPE_IP6);
	net_ip6_write(buf + NET_ETH_LEN, src, dst, icmp_len, NET_PROTO_ICMP6, 0, 0, 255);
	icmp[0] = type;
	icmp[1] = 0;
	net_put16(icmp + 2, 0);
	net_put32(icmp + 4, (uint32_t)flags << 24);
	memcpy(icmp + 8, target, 16);
	return icmp;
}

static void
net_nd_write_lladdr(uint8_t *opt, uint8_t type, const uint8_t mac[6])
{
	opt[0] = type;
	opt[1] = 1;
	memcpy(opt + 2, mac, 6);
}

uint32_t
net_nd_build_na(uint8_t *buf, const uint8_t eth_dst[6], const uint8_t my_mac[6],
		const uint8_t src[16], const uint8_t dst[16], const uint8_t target[16],
		uint8_t flags)
{
	uint16_t icmp_len = NET_ND_LEN + 8;
	uint8_t *icmp;

	flags &= NET_ND_NA_ROUTER | NET_ND_NA_SOLICITED | NET_ND_NA_OVERRIDE;
	icmp = net_nd_write(buf, eth_dst, my_mac, src, dst, NET_ND_NA, target, flags, icmp_len);
	net_nd_write_lladdr(icmp + NET_ND_LEN, NET_ND_OPT_TGT_LLADDR, my_mac);
	net_put16(icmp + 2, net_ip6_l4_csum(src, dst, NET_PROTO_ICMP6, icmp, icmp_len, 2));
	return NET_ETH_LEN + NET_IP6_LEN + icmp_len;
}

uint32_t
net_nd_build_ns(uint8_t *buf, const uint8_t my_mac[6], const uint8_t src[16],
		const uint8_t target[16])
{
	bool dad = net_ip6_is_unspecified(src);
	uint16_t icmp_len = NET_ND_LEN + (dad ? 0 : 8);
	uint8_t dst[16], eth_dst[6];
	uint8_t *icmp;

	/* RFC 2464 §7: 33:33 and the last four bytes of the IPv6 destination. */
	net_ip6_solicited_node(target, dst);
	eth_dst[0] = 0x33;
	eth_dst[1] = 0x33;
	memcpy(eth_dst + 2, dst + 12, 4);
	icmp = net_nd_write(buf, eth_dst, my_mac, src, dst, NET_ND_NS, target, 0, icmp_len);
	if (!dad)
		net_nd_write_lladdr(icmp + NET_ND_LEN, NET_ND_OPT_SRC_LLADDR, my_mac);
	net_put16(icmp + 2, net_ip6_l4_csum(src, dst, NET_PROTO_ICMP6, icmp, icmp_len, 2));
	return NET_ETH_LEN + NET_IP6_LEN + icmp_len;
}

int
net_icmp6_echo_reply(uint8_t *frame, uint32_t len, const struct net_hdrs *h,
		     const uint8_t my_mac[6])
{
	uint8_t *ip, *icmp;
	uint32_t icmp_len;
	uint8_t tmp[16];

	if (h->family != 6 || h->l4_proto != NET_PROTO_ICMP6 || h->frag != NET_FRAG_NONE ||
	    h->l3_len != NET_IP6_LEN)
		return -EINVAL;
	if (!net_l4_span(len, h, NET_ICMP_LEN, &icmp_len))
		return -EINVAL;
	ip = frame + h->l2_len;
	icmp = ip + h->l3_len;
	if (icmp[0] != NET_ICMP6_ECHO_REQUEST || icmp[1] != 0)
		return -EINVAL;
	if (net_ip6_is_multicast(ip + 8) || net_ip6_is_multicast(ip + 24) ||
	    net_ip6_is_unspecified(ip + 8) || net_ip6_is_unspecified(ip + 24))
		return -EINVAL;
	if (!net_icmp6_csum_ok(ip, icmp, icmp_len))
		return -EINVAL;

	memcpy(tmp, ip + 8, 16);
	memcpy(ip + 8, ip + 24, 16);
	memcpy(ip + 24, tmp, 16);
	ip[7] = 64;
	icmp[0] = NET_ICMP6_ECHO_REPLY;
	net_put16(icmp + 2, net_ip6_l4_csum(ip + 8, ip + 24, NET_PROTO_ICMP6, icmp, icmp_len, 2));

	memcpy(frame, frame + 6, 6);
	memcpy(frame + 6, my_mac, 6);
	return 0;
}

bool
net_icmp_is_error(uint8_t family, uint8_t type)
{
	if (family == 4)
		/* Unreachable, source quench, redirect, time exceeded, parameter problem. */
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	if (family == 6)
		/* Unreachable, packet too big, time exceeded, parameter problem. */
		return type >= 1 && type <= 4;
	return false;
}

/* The ports of a quoted TCP/UDP header, l4_len bytes of it present. */
static int
net_quote_ports(const uint8_t *l4, uint32_t l4_len, struct net_icmp_err *out)
{
	if (out->proto != NET_PROTO_TCP && out->proto != NET_PROTO_UDP)
		return 0;
	/* RFC 792 quotes "the first 64 bits of the original datagram's data". */
	if (l4_len < 8)
		return -EINVAL;
	out->sport = net_get16(l4);
	out->dport = net_get16(l4 + 2);
	return 0;
}

static int
net_quote_ip4(const uint8_t *q, uint32_t qlen, struct net_icmp_err *out)
{
	uint32_t hl;

	if (qlen < NET_IP4_LEN || q[0] >> 4 != 4)
		return -EINVAL;
	hl = (q[0] & 0x0fu) * 4;
	if (hl < NET_IP4_LEN || hl > qlen)
		return -EINVAL;
	if (net_get16(q + 6) & 0x1fff)
		return -EINVAL;
	out->family = 4;
	out->proto = q[9];
	memcpy(out->src, q + 12, 4);
	memcpy(out->dst, q + 16, 4);
	return net_quote_ports(q + hl, qlen - hl, out);
}

static int
net_quote_ip6(const uint8_t *q, uint32_t qlen, struct net_icmp_err *out)
{
	struct net_ip6_walk w;

	if (qlen < NET_IP6_LEN || q[0] >> 4 != 6)
		return -EINVAL;
	/* The quote, not the quoted payload length, bounds the walk. */
	if (net_ip6_walk(q, qlen, &w) != NET_PARSE_OK || w.frag == NET_FRAG_LATER)
		return -EINVAL;
	out->family = 6;
	out->proto = w.nh;
	memcpy(out->src, q + 8, 16);
	memcpy(out->dst, q + 24, 16);
	return net_quote_ports(q + w.off, qlen - w.off, out);
}

int
net_icmp_error_inner(const uint8_t *frame, uint32_t len, const struct net_hdrs *h,
		     struct net_icmp_err *out)
{
	const uint8_t *icmp;
	uint32_t icmp_len;
	struct net_icmp_err r;
	int ret;

	if (h->frag != NET_FRAG_NONE)
		return -EINVAL;
	if (!(h->family == 4 && h->l4_proto == NET_PROTO_ICMP) &&
	    !(h->family == 6 && h->l4_proto == NET_PROTO_ICMP6))
		return -EINVAL;
	if (!net_l4_span(len, h, NET_ICMP_LEN, &icmp_len))
		return -EINVAL;
	icmp = frame + h->l2_len + h->l3_len;
	if (!net_icmp_is_error(h->family, icmp[0]))
		return -EINVAL;
	/* The quote follows the 4 bytes of unused / MTU / pointer. */
	memset(&r, 0, sizeof(r));
	if (h->family == 4)
		ret = net_quote_ip4(icmp + NET_ICMP_LEN, icmp_len - NET_ICMP_LEN, &r);
	else
		ret = net_quote_ip6(icmp + NET_ICMP_LEN, icmp_len - NET_ICMP_LEN, &r);
	if (ret != 0)
		return ret;
	*out = r;
	return 0;
}

/* Ethernet and an IP header for a probe; returns where the transport header goes. */
static uint8_t *
net_probe_write(uint8_t *buf, uint8_t family, const uint8_t eth_dst[6], const uint8_t eth_src[6],
		const uint8_t *src, const uint8_t *dst, uint8_t proto, uint16_t l4_len)
{
	uint8_t *ip = buf + NET_ETH_LEN;

	if (family == 4) {
		net_eth_write(buf, eth_dst, eth_src, NET_ETHERTYPE_IP4);
		/* The IP-in-IP outer writer is a plain 20-byte header writer. */
		net_ipip4_write(ip, src, dst, l4_len, proto, 0, 64, 0, true);
		return ip + NET_IP4_LEN;
	}
	net_eth_write(buf, eth_dst, eth_src, NET_ETHERTYPE_IP6);
	net_ip6_write(ip, src, dst, l4_len, proto, 0, 0, 64);
	return ip + NET_IP6_LEN;
}

uint32_t
net_tcp_build(uint8_t *buf, uint8_t family, const uint8_t eth_dst[6], const uint8_t eth_src[6],
	      const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport, uint32_t seq,
	      uint32_t ack, uint8_t flags)
{
	uint8_t *tcp;
	uint16_t csum;

	if (family != 4 && family != 6)
		return 0;
	tcp = net_probe_write(buf, family, eth_dst, eth_src, src, dst, NET_PROTO_TCP, NET_TCP_LEN);
	net_put16(tcp, sport);
	net_put16(tcp + 2, dport);
	net_put32(tcp + 4, seq);
	net_put32(tcp + 8, ack);
	tcp[12] = (NET_TCP_LEN / 4) << 4;
	tcp[13] = flags;
	net_put16(tcp + 14, 65535);
	net_put16(tcp + 16, 0);
	net_put16(tcp + 18, 0);
	if (family == 4)
		csum = net_ip4_l4_csum(src, dst, NET_PROTO_TCP, tcp, NET_TCP_LEN, 16);
	else
		csum = net_ip6_l4_csum(src, dst, NET_PROTO_TCP, tcp, NET_TCP_LEN, 16);
	net_put16(tcp + 16, csum);
	return (uint32_t)(tcp - buf) + NET_TCP_LEN;
}

uint32_t
net_icmp_echo_build(uint8_t *buf, uint8_t family, const uint8_t eth_dst[6],
		    const uint8_t eth_src[6], const uint8_t *src, const uint8_t *dst, uint16_t id,
		    uint16_t seq, uint16_t payload_len)
{
	uint32_t icmp_len = NET_ICMP_LEN + (uint32_t)payload_len;
	uint8_t *icmp;
	uint16_t csum;
	uint32_t i;

	if (family == 4 && icmp_len > UINT16_MAX - NET_IP4_LEN)
		return 0;
	if ((family == 6 && icmp_len > UINT16_MAX) || (family != 4 && family != 6))
		return 0;
	icmp = net_probe_write(buf, family, eth_dst, eth_src, src, dst,
			       family == 4 ? NET_PROTO_ICMP : NET_PROTO_ICMP6, (uint16_t)icmp_len);
	icmp[0] = family == 4 ? NET_ICMP4_ECHO_REQUEST : NET_ICMP6_ECHO_REQUEST;
	icmp[1] = 0;
	net_put16(icmp + 2, 0);
	net_put16(icmp + 4, id);
	net_put16(icmp + 6, seq);
	for (i = 0; i < payload_len; i++)
		icmp[NET_ICMP_LEN + i] = (uint8_t)i;
	/* ICMPv4 has no pseudo-header (RFC 792); ICMPv6 has (RFC 4443 §2.3). */
	if (family == 4)
		csum = net_csum_fold(net_csum_partial(icmp, icmp_len, 0));
	else
		csum = net_ip6_l4_csum(src, dst, NET_PROTO_ICMP6, icmp, icmp_len, 2);
	net_put16(icmp + 2, csum);
	return (uint32_t)(icmp - buf) + icmp_len;
}
