/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/net: header parsing and packet builders over plain bytes.
 * Knows nothing of mbufs, ports or lcores: callers hand in a buffer and its
 * length; every read is bounds-checked against that length first.
 */
#ifndef EQX_NET_H
#define EQX_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_ETH_LEN 14
#define NET_VLAN_LEN 4
#define NET_IP4_LEN 20
#define NET_IP6_LEN 40
#define NET_ARP_LEN 28
#define NET_ETH_MIN_FRAME 60 /* without FCS */

#define NET_ETHERTYPE_IP4 0x0800
#define NET_ETHERTYPE_ARP 0x0806
#define NET_ETHERTYPE_VLAN 0x8100
#define NET_ETHERTYPE_QINQ 0x88a8
#define NET_ETHERTYPE_IP6 0x86dd
#define NET_ETHERTYPE_PTP 0x88f7

#define NET_PROTO_ICMP 1
#define NET_PROTO_IPIP 4
#define NET_PROTO_TCP 6
#define NET_PROTO_UDP 17
#define NET_PROTO_IP6 41
#define NET_PROTO_ICMP6 58

#define NET_TCP_FIN 0x01
#define NET_TCP_SYN 0x02
#define NET_TCP_RST 0x04
#define NET_TCP_PSH 0x08
#define NET_TCP_ACK 0x10

/* Why a frame could not be parsed. Names are the drop-counter names. */
#define foreach_net_parse_err                                   \
	_(ETH_TRUNC, "eth_truncated")                           \
	_(VLAN_TRUNC, "vlan_truncated")                         \
	_(VLAN_TOO_DEEP, "vlan_too_deep")                       \
	_(IP4_TRUNC, "ip4_truncated")                           \
	_(IP4_BAD_VERSION, "ip4_bad_version")                   \
	_(IP4_BAD_IHL, "ip4_bad_header_length")                 \
	_(IP4_BAD_TOTAL_LEN, "ip4_bad_total_length")            \
	_(IP4_BAD_CSUM, "ip4_bad_checksum")                     \
	_(IP6_TRUNC, "ip6_truncated")                           \
	_(IP6_BAD_VERSION, "ip6_bad_version")                   \
	_(IP6_BAD_PAYLOAD_LEN, "ip6_bad_payload_length")        \
	_(IP6_BAD_EXT_HDR, "ip6_bad_extension_header")          \
	_(L4_TRUNC, "l4_truncated")                             \
	_(TCP_BAD_OFFSET, "tcp_bad_data_offset")                \
	_(ARP_TRUNC, "arp_truncated")                           \
	_(ARP_BAD_FORMAT, "arp_bad_format")

enum net_parse_err {
	NET_PARSE_OK = 0,
#define _(sym, str) NET_ERR_##sym,
	foreach_net_parse_err
#undef _
	NET_ERR_MAX,
};

/* Fragment position of an IP packet (IPv4 MF/offset, IPv6 fragment header). */
#define NET_FRAG_NONE 0
#define NET_FRAG_FIRST 1 /* offset 0, more fragments follow: L4 header present */
#define NET_FRAG_LATER 2 /* offset > 0: no L4 header */

/*
 * What the parser learned about one frame. Offsets are from the frame's
 * first byte; addresses are copied in network byte order (IPv4 in the first
 * 4 bytes of the 16); ports are in host byte order.
 */
struct net_hdrs {
	uint16_t l2_len;	/* Ethernet and VLAN tags */
	uint16_t ethertype;	/* after the VLAN tags */
	uint16_t vlan;		/* outer VLAN id, 0 when untagged */
	uint16_t l3_len;	/* IP header incl. options / extension headers */
	uint16_t l3_total;	/* IP total length from the header (v6: 40 + payload) */
	uint16_t l4_off;	/* l2_len + l3_len */
	uint8_t family;		/* 4, 6, or 0 when not IP */
	uint8_t l4_proto;	/* final next header */
	uint8_t frag;		/* NET_FRAG_* */
	uint8_t tcp_flags;	/* TCP only */
	uint8_t ttl;		/* TTL / hop limit */
	uint8_t tos;		/* DSCP+ECN / traffic class */
	uint16_t sport;		/* TCP/UDP ports; ICMP: id in sport, type<<8|code in dport */
	uint16_t dport;
	uint32_t ip4_id;	/* IPv4 id, or IPv6 fragment identification */
	uint8_t src[16];
	uint8_t dst[16];
};

/*
 * Parse Ethernet, up to two VLAN tags, IPv4 or IPv6 (with extension headers)
 * and the first bytes of TCP/UDP/ICMP. ARP frames stop after L2 (family 0,
 * ethertype ARP). Returns NET_PARSE_OK or an enum net_parse_err.
 * The IPv4 header checksum is verified. Bytes after the IP total length
 * (Ethernet padding) are ignored; a total length above the bytes present is
 * NET_ERR_IP4_BAD_TOTAL_LEN. At most 8 IPv6 extension headers are walked.
 * Later fragments (NET_FRAG_LATER) have no L4 fields (ports and flags 0);
 * other IP protocols parse with ports 0. On error h is partly filled.
 */
int net_parse(const uint8_t *frame, uint32_t len, struct net_hdrs *h);

const char *net_parse_err_name(int err);

/* ARP (RFC 826) for Ethernet/IPv4 only. */
#define NET_ARP_REQUEST 1
#define NET_ARP_REPLY 2

struct net_arp {
	uint16_t op;
	uint8_t sha[6];
	uint8_t spa[4];
	uint8_t tha[6];
	uint8_t tpa[4];
};

/*
 * Parse the ARP body at frame + l2_len; checks htype/ptype/hlen/plen.
 * Returns NET_PARSE_OK, NET_ERR_ARP_TRUNC (fewer than 28 bytes after L2) or
 * NET_ERR_ARP_BAD_FORMAT (not Ethernet/IPv4 ARP, or h is not an ARP frame).
 */
int net_arp_parse(const uint8_t *frame, uint32_t len, const struct net_hdrs *h,
		  struct net_arp *a);

/*
 * Write an Ethernet ARP frame (no VLAN) of NET_ETH_MIN_FRAME bytes into buf
 * (at least that long). eth_dst is the frame's destination (broadcast for a
 * request). Returns the frame length.
 */
uint32_t net_arp_build(uint8_t *buf, uint16_t op, const uint8_t eth_dst[6],
		       const uint8_t sha[6], const uint8_t spa[4],
		       const uint8_t tha[6], const uint8_t tpa[4]);

/*
 * Turn an ICMP echo request (IPv4, already parsed into h) into its reply in
 * place: swap MACs and addresses, set type 0, fix both checksums, TTL 64.
 * my_mac is the new Ethernet source. Returns 0 or -EINVAL when the frame is
 * not a well-formed echo request (ICMP checksum checked).
 */
int net_icmp4_echo_reply(uint8_t *frame, uint32_t len, const struct net_hdrs *h,
			 const uint8_t my_mac[6]);

/*
 * Internet checksum helpers (RFC 1071), in host byte order (store with
 * net_put16). net_csum_partial adds buf, read as big-endian 16-bit words (an
 * odd last byte padded with zero), to sum. net_csum_fold folds a partial sum
 * and complements it: the value for a checksum field, or 0 when the summed
 * bytes already hold a correct checksum. net_ip4_hdr_csum is the checksum of
 * an IPv4 header with its checksum field (bytes 10-11) skipped, so it may be
 * called on a header whose field holds anything; verify a received header by
 * comparing with the stored field, or net_csum_fold(net_csum_partial()) == 0.
 */
uint32_t net_csum_partial(const void *buf, size_t len, uint32_t sum);
uint16_t net_csum_fold(uint32_t sum);
uint16_t net_ip4_hdr_csum(const uint8_t *ip4, uint16_t hdr_len);

/* Write an Ethernet header (dst, src, ethertype) at p. */
void net_eth_write(uint8_t *p, const uint8_t dst[6], const uint8_t src[6],
		   uint16_t ethertype);

/*
 * Write a 20-byte IPv4 outer header for IP-in-IP at p: total length
 * 20 + inner_len, the given protocol (NET_PROTO_IPIP or NET_PROTO_IP6),
 * DF copied from df, TTL, TOS, id, and its checksum.
 */
void net_ipip4_write(uint8_t *p, const uint8_t src[4], const uint8_t dst[4],
		     uint16_t inner_len, uint8_t proto, uint8_t tos, uint8_t ttl,
		     uint16_t id, bool df);

/* Small helpers for big-endian reads and writes at unaligned addresses. */
static inline uint16_t
net_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
net_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
net_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
net_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif /* EQX_NET_H */
