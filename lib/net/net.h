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
#define NET_UDP_LEN 8
#define NET_TCP_LEN 20       /* without options */
#define NET_ICMP_LEN 8       /* type, code, checksum and the 4-byte rest of header */
#define NET_ETH_MIN_FRAME 60 /* without FCS */

#define NET_ETHERTYPE_IP4 0x0800
#define NET_ETHERTYPE_ARP 0x0806
#define NET_ETHERTYPE_VLAN 0x8100
#define NET_ETHERTYPE_QINQ 0x88a8
#define NET_ETHERTYPE_IP6 0x86dd
#define NET_ETHERTYPE_PTP 0x88f7
#define NET_ETHERTYPE_MPLS 0x8847

#define NET_PROTO_ICMP 1
#define NET_PROTO_IPIP 4
#define NET_PROTO_TCP 6
#define NET_PROTO_UDP 17
#define NET_PROTO_IP6 41
#define NET_PROTO_ICMP6 58

#define NET_IP4_DF 0x40 /* in net_hdrs.ip_flags, as in IPv4 header byte 6 */
#define NET_IP4_MF 0x20

#define NET_TCP_FIN 0x01
#define NET_TCP_SYN 0x02
#define NET_TCP_RST 0x04
#define NET_TCP_PSH 0x08
#define NET_TCP_ACK 0x10

/* Why a frame could not be parsed. Names are the drop-counter names. */
#define foreach_net_parse_err                            \
	_(ETH_TRUNC, "eth_truncated")                    \
	_(VLAN_TRUNC, "vlan_truncated")                  \
	_(VLAN_TOO_DEEP, "vlan_too_deep")                \
	_(IP4_TRUNC, "ip4_truncated")                    \
	_(IP4_BAD_VERSION, "ip4_bad_version")            \
	_(IP4_BAD_IHL, "ip4_bad_header_length")          \
	_(IP4_BAD_TOTAL_LEN, "ip4_bad_total_length")     \
	_(IP4_BAD_CSUM, "ip4_bad_checksum")              \
	_(IP6_TRUNC, "ip6_truncated")                    \
	_(IP6_BAD_VERSION, "ip6_bad_version")            \
	_(IP6_BAD_PAYLOAD_LEN, "ip6_bad_payload_length") \
	_(IP6_BAD_EXT_HDR, "ip6_bad_extension_header")   \
	_(L4_TRUNC, "l4_truncated")                      \
	_(TCP_BAD_OFFSET, "tcp_bad_data_offset")         \
	_(ARP_TRUNC, "arp_truncated")                    \
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
	uint16_t l2_len;    /* Ethernet and VLAN tags */
	uint16_t ethertype; /* after the VLAN tags */
	uint16_t vlan;      /* outer VLAN id, 0 when untagged */
	uint16_t l3_len;    /* IP header incl. options / extension headers */
	uint16_t l3_total;  /* IP total length from the header (v6: 40 + payload) */
	uint16_t l4_off;    /* l2_len + l3_len */
	uint8_t family;     /* 4, 6, or 0 when not IP */
	uint8_t l4_proto;   /* final next header */
	uint8_t frag;       /* NET_FRAG_* */
	uint8_t tcp_flags;  /* TCP only */
	uint8_t ttl;        /* TTL / hop limit */
	uint8_t tos;        /* DSCP+ECN / traffic class */
	uint16_t sport;     /* TCP/UDP ports; ICMP: id in sport, type<<8|code in dport */
	uint16_t dport;
	uint32_t ip4_id; /* IPv4 id, or IPv6 fragment identification */
	uint8_t src[16];
	uint8_t dst[16];
	uint8_t ip_flags; /* IPv4 DF (0x40) and MF (0x20) as in header byte 6; v6: 0 */
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
int net_arp_parse(const uint8_t *frame, uint32_t len, const struct net_hdrs *h, struct net_arp *a);

/*
 * Write an Ethernet ARP frame (no VLAN) of NET_ETH_MIN_FRAME bytes into buf
 * (at least that long). eth_dst is the frame's destination (broadcast for a
 * request). Returns the frame length.
 */
uint32_t net_arp_build(uint8_t *buf, uint16_t op, const uint8_t eth_dst[6], const uint8_t sha[6],
		       const uint8_t spa[4], const uint8_t tha[6], const uint8_t tpa[4]);

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
void net_eth_write(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t ethertype);

/*
 * Write a 20-byte IPv4 outer header for IP-in-IP at p: total length
 * 20 + inner_len, the given protocol (NET_PROTO_IPIP or NET_PROTO_IP6),
 * DF copied from df, TTL, TOS, id, and its checksum.
 */
void net_ipip4_write(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], uint16_t inner_len,
		     uint8_t proto, uint8_t tos, uint8_t ttl, uint16_t id, bool df);

/*
 * IPv6 header (RFC 8200 §3), 40 bytes:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   Source Address (16 bytes)                   |
 * |                Destination Address (16 bytes)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * net_ip6_write writes one at p, for an outer (tunnel) header or a packet of
 * our own: next_hdr NET_PROTO_IPIP (IPv4 inside), NET_PROTO_IP6 (IPv6
 * inside), NET_PROTO_UDP (GUE) or any other; flow_label keeps its low 20 bits.
 */
void net_ip6_write(uint8_t *p, const uint8_t src[16], const uint8_t dst[16], uint16_t payload_len,
		   uint8_t next_hdr, uint8_t tclass, uint32_t flow_label, uint8_t hop_limit);

/*
 * UDP header (RFC 768): source port, destination port, length (8 + payload),
 * checksum; 16 bits each. Written with checksum 0: fill it in later with
 * net_ip6_l4_csum (mandatory over IPv6, RFC 8200 §8.1) or net_ip4_l4_csum.
 */
void net_udp_write(uint8_t *p, uint16_t sport, uint16_t dport, uint16_t len);

/*
 * GUE (draft-ietf-intarea-gue) variant 0 header without extension fields,
 * right after the UDP header:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver|C|  Hlen   |  Proto/ctype  |             Flags             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Ver 0, C 0 (data), Hlen 0, Proto the inner IP protocol (NET_PROTO_IPIP or
 * NET_PROTO_IP6), Flags 0: what Linux `ip fou add port N gue` decapsulates.
 */
#define NET_GUE_LEN 4
void net_gue_write(uint8_t *p, uint8_t inner_proto);

/*
 * Transport checksums over the pseudo-header: IPv6's (RFC 8200 §8.1: src,
 * dst, 32-bit upper-layer length, next header; ICMPv6 too, next header 58)
 * and IPv4's (RFC 793/768: src, dst, zero, protocol, 16-bit length). l4 is
 * the transport header and payload, l4_len bytes; the 2-byte field at
 * csum_offset (6 for UDP, 16 for TCP, 2 for ICMPv6) is taken as zero whatever
 * it holds, so the result can be stored over it directly (net_put16). A
 * result of 0 is returned as 0xffff, its other one's-complement form: UDP
 * needs that (0 means "no checksum"), the others accept either.
 */
uint16_t net_ip6_l4_csum(const uint8_t src[16], const uint8_t dst[16], uint8_t next_hdr,
			 const uint8_t *l4, uint32_t l4_len, uint32_t csum_offset);
uint16_t net_ip4_l4_csum(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
			 const uint8_t *l4, uint32_t l4_len, uint32_t csum_offset);

/*
 * ICMPv6 (RFC 4443) and neighbour discovery (RFC 4861), Ethernet only.
 *
 * Neighbour solicitation (type 135) and advertisement (type 136), after the
 * 40-byte IPv6 header, hop limit 255:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code 0    |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|S|O|            Reserved (NS: all 32 bits reserved)          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Target Address (16 bytes)                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Options ... each: type (1 byte), length in 8-byte units     |
 * |   (1 byte, never 0), data. Source (type 1) / target (type 2)  |
 * |   link-layer address: 1, 1 or 2, 1, then the 6-byte MAC.      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define NET_ICMP6_ECHO_REQUEST 128
#define NET_ICMP6_ECHO_REPLY 129
#define NET_ND_NS 135
#define NET_ND_NA 136

#define NET_ND_LEN 24 /* NS/NA without options */
#define NET_ND_OPT_SRC_LLADDR 1
#define NET_ND_OPT_TGT_LLADDR 2
#define NET_ND_NA_ROUTER 0x80
#define NET_ND_NA_SOLICITED 0x40
#define NET_ND_NA_OVERRIDE 0x20
/* NS/NA with one link-layer address option: Ethernet + IPv6 + 24 + 8. */
#define NET_ND_FRAME_LEN (NET_ETH_LEN + NET_IP6_LEN + NET_ND_LEN + 8)

struct net_nd {
	uint8_t type;  /* NET_ND_NS or NET_ND_NA */
	uint8_t flags; /* NA: 0x80 router, 0x40 solicited, 0x20 override, as sent */
	uint8_t target[16];
	bool has_lladdr; /* source (NS) or target (NA) link-layer address option present */
	uint8_t lladdr[6];
};

/*
 * Parse an NS or NA that net_parse already parsed into h (family 6, l4_proto
 * 58, not a fragment). Checks RFC 4861 §7.1.1/§7.1.2: hop limit 255, code 0,
 * a valid ICMPv6 checksum, 24 bytes or more, a target that is not multicast,
 * every option's length nonzero and inside the message; an NS from :: goes to
 * a solicited-node address and carries no source link-layer address; an NA
 * to a multicast address has S clear. The link-layer address option must be
 * 8 bytes (Ethernet); the first one counts, options of other types are
 * skipped. flags is the NA's R/S/O byte masked to those bits (NS: 0).
 * Returns 0 or -EINVAL; nd is written only on success.
 */
int net_nd_parse(const uint8_t *frame, uint32_t len, const struct net_hdrs *h, struct net_nd *nd);

/*
 * A neighbour advertisement (Ethernet + IPv6 + NA + target link-layer address
 * option my_mac, hop limit 255, checksum) written into buf, which holds at
 * least NET_ND_FRAME_LEN (86) bytes. flags is masked to R/S/O. Returns its
 * length, 86.
 */
uint32_t net_nd_build_na(uint8_t *buf, const uint8_t eth_dst[6], const uint8_t my_mac[6],
			 const uint8_t src[16], const uint8_t dst[16], const uint8_t target[16],
			 uint8_t flags);

/*
 * A neighbour solicitation for target from src, sent to the target's
 * solicited-node address and its 33:33:ff:xx:xx:xx MAC, into buf (at least
 * NET_ND_FRAME_LEN bytes). It carries my_mac as source link-layer address,
 * except from :: (duplicate address detection, where RFC 4861 §4.3 forbids
 * the option). Returns its length: 86, or 78 from ::.
 */
uint32_t net_nd_build_ns(uint8_t *buf, const uint8_t my_mac[6], const uint8_t src[16],
			 const uint8_t target[16]);

/* The solicited-node multicast address ff02::1:ffXX:XXXX of target (RFC 4291 §2.7.1). */
void net_ip6_solicited_node(const uint8_t target[16], uint8_t out[16]);

/*
 * Turn an ICMPv6 echo request into its reply in place, like
 * net_icmp4_echo_reply: MACs swapped with my_mac as the new source, addresses
 * swapped, type 129, hop limit 64, checksum recomputed. -EINVAL, the frame
 * untouched, when it is not a well-formed echo request (checksum verified),
 * has extension headers (a reply would have to rewrite them), or has a
 * multicast or unspecified address that cannot become the reply's source or
 * destination (RFC 4443 §4.2: a reply to a multicast request comes from a
 * unicast address, which the caller must choose itself).
 */
int net_icmp6_echo_reply(uint8_t *frame, uint32_t len, const struct net_hdrs *h,
			 const uint8_t my_mac[6]);

/* ICMP errors, so that an error about a load-balanced flow can follow the flow. */
struct net_icmp_err {
	uint8_t family;  /* of the embedded packet (same as the outer) */
	uint8_t proto;   /* embedded L4 protocol */
	uint8_t src[16]; /* embedded packet's source (zero-padded for IPv4) */
	uint8_t dst[16];
	uint16_t sport; /* embedded ports, host order (0 when not TCP/UDP) */
	uint16_t dport;
};

/* True for ICMPv4 types 3, 4, 5, 11, 12 and ICMPv6 types 1..4 (RFC 792 / 4443 errors). */
bool net_icmp_is_error(uint8_t family, uint8_t type);

/*
 * For a frame net_parse parsed as ICMP/ICMPv6 (not a fragment): when it is
 * an error quoting at least the embedded IP header (v4: IHL * 4, options
 * allowed; v6: 40 bytes and its extension headers, walked like net_parse
 * does) and, for TCP/UDP, the first 8 bytes of the transport header, fill
 * out and return 0; else -EINVAL, out untouched. The quote is what the IP
 * length of the error says follows the 8-byte ICMP header: usually a
 * truncated packet, whose own total length is not checked, nor its IPv4
 * header checksum. The embedded packet must be of the outer's family, and
 * not a later fragment (its first bytes would not be a transport header).
 */
int net_icmp_error_inner(const uint8_t *frame, uint32_t len, const struct net_hdrs *h,
			 struct net_icmp_err *out);

/*
 * Builders for health probes, Ethernet untagged, into buf. src and dst are
 * 4 or 16 bytes as family says; IPv4 packets have DF set, TTL 64, id 0; IPv6
 * ones traffic class 0, flow label 0, hop limit 64. Both return the frame
 * length (below the Ethernet minimum is left to the NIC to pad), or 0 for a
 * family other than 4 and 6.
 *
 * net_tcp_build: a 20-byte TCP header without options, window 65535, valid
 * checksum, no payload: 54 bytes (v4) or 74 (v6).
 *
 * net_icmp_echo_build: an ICMP echo request (v4 type 8) or ICMPv6 one (type
 * 128) with payload_len bytes, byte i being (uint8_t)i: 42 + payload_len
 * bytes (v4) or 62 + payload_len (v6). 0 too when the payload cannot fit the
 * IP length field (above 65507 bytes for v4, 65527 for v6).
 */
uint32_t net_tcp_build(uint8_t *buf, uint8_t family, const uint8_t eth_dst[6],
		       const uint8_t eth_src[6], const uint8_t *src, const uint8_t *dst,
		       uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags);
uint32_t net_icmp_echo_build(uint8_t *buf, uint8_t family, const uint8_t eth_dst[6],
			     const uint8_t eth_src[6], const uint8_t *src, const uint8_t *dst,
			     uint16_t id, uint16_t seq, uint16_t payload_len);

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
