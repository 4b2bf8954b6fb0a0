/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/lisp: LISP control-plane messages (RFC 9301 §5) over plain bytes:
 * decoders that check the length before every read and reject, never
 * truncate, what exceeds the fixed maximums below; encoders that fail with
 * -ENOSPC rather than write past the buffer. No I/O, no allocation.
 */
#ifndef EQX_LISP_WIRE_H
#define EQX_LISP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LISP_PORT 4342 /* control messages, RFC 9301 §5.1 */

/* Message types (RFC 9301 §5.1, IANA "LISP Packet Types"). */
#define LISP_TYPE_MAP_REQUEST 1
#define LISP_TYPE_MAP_REPLY 2
#define LISP_TYPE_MAP_REGISTER 3
#define LISP_TYPE_MAP_NOTIFY 4
#define LISP_TYPE_MAP_NOTIFY_ACK 5
#define LISP_TYPE_ECM 8

/* Address Family Identifiers (IANA "Address Family Numbers"). */
#define LISP_AFI_NONE 0 /* "no address": only the Map-Request Source-EID */
#define LISP_AFI_IP4 1
#define LISP_AFI_IP6 2
#define LISP_AFI_LCAF 16387 /* RFC 8060; not supported, rejected */

/*
 * Fixed maximums. A message that needs more is rejected whole
 * (LISP_WIRE_TOO_MANY_*), so a decoded message is always all of the message.
 */
#define LISP_MAX_RECORDS 64    /* EID records in a Map-Register/-Notify/-Reply */
#define LISP_MAX_LOCATORS 16   /* locator records per EID record */
#define LISP_MAX_ITR_RLOCS 8   /* ITR-RLOCs in a Map-Request (IRC + 1) */
#define LISP_MAX_REQ_RECORDS 8 /* EID records in a Map-Request */
#define LISP_AUTH_DATA_MAX 64  /* Authentication Data Length we accept */
#define LISP_MSG_MAX 8192      /* largest control message we decode */

/* An address: family 4 or 6, or 0 for AFI 0 (no address). IPv4 in bytes 0..3. */
struct lisp_addr {
	uint8_t family;
	uint8_t bytes[16];
};

struct lisp_prefix {
	struct lisp_addr addr;
	uint8_t len; /* mask length: 0..32 or 0..128 */
};

/*
 * Locator record, inside an EID record (RFC 9301 §5.4):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Priority   |    Weight     |  M Priority   |   M Weight    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Unused Flags     |L|p|R|           Loc-AFI             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                             Locator                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Priority 255 means "do not use for unicast". L: the locator is local to
 * the sender; p: the message is an RLOC-probe reply from this locator; R:
 * reachable. Unused Flags are sent as zero and ignored on receipt.
 */
#define LISP_LOC_L 0x04
#define LISP_LOC_P 0x02
#define LISP_LOC_R 0x01

struct lisp_locator {
	struct lisp_addr addr;
	uint8_t priority;
	uint8_t weight;
	uint8_t mpriority;
	uint8_t mweight;
	uint8_t flags; /* LISP_LOC_L | LISP_LOC_P | LISP_LOC_R */
};

/*
 * EID record, in Map-Reply, Map-Register, Map-Notify and Map-Notify-Ack
 * (RFC 9301 §5.4, §5.6):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Record TTL                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Locator Count | EID mask-len  | ACT |A|      Reserved         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Rsvd  |  Map-Version Number   |       EID-Prefix-AFI          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          EID-Prefix                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Locator Count locator records                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Record TTL: minutes the mapping may be cached; 0 = remove now,
 * 0xffffffff = the receiver decides. ACT: what to do with packets when the
 * locator set is empty (the actions below). A: authoritative, set by the
 * site's own ETR, clear in a Map-Server's proxy reply. The EID prefix is
 * stored as sent (host bits are not cleared by the codec).
 */
#define foreach_lisp_act                            \
	_(NO_ACTION, "no-action")                   \
	_(NATIVELY_FORWARD, "natively-forward")     \
	_(SEND_MAP_REQUEST, "send-map-request")     \
	_(DROP_NO_REASON, "drop-no-reason")         \
	_(DROP_POLICY_DENIED, "drop-policy-denied") \
	_(DROP_AUTH_FAILURE, "drop-authentication-failure")

enum lisp_act {
#define _(sym, str) LISP_ACT_##sym,
	foreach_lisp_act
#undef _
};

#define LISP_TTL_INFINITE 0xffffffffu

struct lisp_record {
	uint32_t ttl;         /* minutes */
	uint8_t act;          /* enum lisp_act, 3 bits */
	bool authoritative;   /* A */
	uint16_t map_version; /* 12 bits */
	struct lisp_prefix eid;
	unsigned int n_locators;
	struct lisp_locator loc[LISP_MAX_LOCATORS];
};

/*
 * Map-Register (type 3), RFC 9301 §5.6:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Type=3 |P|S|I|R|          Reserved           |M| Record Count  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Nonce . . .                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         . . . Nonce                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Key ID     | Algorithm ID  |  Authentication Data Length   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                     Authentication Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Record Count EID records                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    xTR-ID (128 bits, if I)                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   site-ID (64 bits, if I)                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * P: proxy Map-Reply wanted; S: LISP-SEC capable; I: xTR-ID and site-ID
 * follow the records; R: built for an RTR (the NAT-traversal draft, not in
 * RFC 9301: decoded and kept, never acted on); M: want Map-Notify.
 * Key ID (8 bits) selects the pre-shared key, Algorithm ID (8 bits) the MAC:
 * 1 HMAC-SHA-1-96, 2 HMAC-SHA-256-128 (RFC 9301 §12.5). RFC 6833 had one
 * 16-bit Key ID whose value was the algorithm (1 or 2): the same two bytes
 * read as key ID 0 and algorithm 1 or 2. The codec keeps both bytes;
 * lisp_ms decides which reading applies (see lisp_ms.c).
 *
 * Map-Notify (type 4) and Map-Notify-Ack (type 5), RFC 9301 §5.7, have the
 * same layout with this first word:
 *
 * |Type=4 |I|R|              Reserved                 | Record Count  |
 *
 * I and R are not in RFC 9301's Map-Notify; they come from the NAT-traversal
 * draft as deployed (Wireshark decodes them). We decode I (xTR-ID and site-ID
 * at the end, as in a Map-Register) and never send either; a Map-Notify with
 * R set (an MS-RTR authentication block would follow) is rejected.
 *
 * The messages are authenticated over their whole length with the
 * Authentication Data field zeroed (lisp_auth.h).
 */
struct lisp_map_register {
	uint8_t type;         /* LISP_TYPE_MAP_REGISTER, _NOTIFY or _NOTIFY_ACK */
	bool proxy_reply;     /* P */
	bool lisp_sec;        /* S */
	bool xtr_id_present;  /* I */
	bool rtr;             /* R */
	bool want_map_notify; /* M */
	uint64_t nonce;
	uint8_t key_id;
	uint8_t alg_id;
	uint16_t auth_len;
	uint16_t auth_off; /* decode: offset of the Authentication Data in the message */
	uint8_t auth[LISP_AUTH_DATA_MAX];
	uint8_t xtr_id[16];
	uint64_t site_id;
	unsigned int n_records;
	struct lisp_record rec[LISP_MAX_RECORDS];
};

/*
 * Map-Request (type 1), RFC 9301 §5.2:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Type=1 |A|M|P|S|p|s|R|R|  Rsvd   |L|D|   IRC   | Record Count  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Nonce . . .                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         . . . Nonce                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Source-EID-AFI        |   Source EID Address  ...     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         ITR-RLOC-AFI 1        |    ITR-RLOC Address 1  ...    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                              ...                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         ITR-RLOC-AFI n        |    ITR-RLOC Address n  ...    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Reserved    | EID mask-len  |        EID-Prefix-AFI         | \ Record
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  > Count
 * |                       EID-Prefix  ...                         | / times
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   Map-Reply Record  ... (if M)                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * A: authoritative; M: a Map-Reply record (the sender's own mapping for its
 * Source EID) follows; P: RLOC probe; S: solicit Map-Request (SMR);
 * p: sent by a proxy ITR; s: SMR-invoked; L: local xTR; D: don't Map-Reply.
 * IRC: ITR-RLOC count minus one. The Source EID may be AFI 0 (no address).
 */
#define LISP_MREQ_A 0x0800
#define LISP_MREQ_M 0x0400
#define LISP_MREQ_P 0x0200
#define LISP_MREQ_S 0x0100
#define LISP_MREQ_PITR 0x0080 /* p */
#define LISP_MREQ_SMRI 0x0040 /* s */
#define LISP_MREQ_L 0x0002
#define LISP_MREQ_D 0x0001

struct lisp_map_request {
	uint16_t flags; /* LISP_MREQ_* */
	uint64_t nonce;
	struct lisp_addr source_eid; /* family 0 when AFI 0 */
	unsigned int n_itr_rlocs;
	struct lisp_addr itr_rloc[LISP_MAX_ITR_RLOCS];
	unsigned int n_records;
	struct lisp_prefix eid[LISP_MAX_REQ_RECORDS];
	struct lisp_record map_reply; /* when flags & LISP_MREQ_M */
};

/*
 * Map-Reply (type 2), RFC 9301 §5.4:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Type=2 |P|E|S|          Reserved               | Record Count  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Nonce . . .                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         . . . Nonce                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Record Count EID records                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * P: reply to an RLOC probe; E: echo-nonce capable; S: LISP-SEC data follows
 * (not supported: decoded as trailing bytes and rejected). The nonce is the
 * Map-Request's. A negative Map-Reply is a record with no locators whose ACT
 * says what to do.
 */
#define LISP_MREP_P 0x08
#define LISP_MREP_E 0x04
#define LISP_MREP_S 0x02

struct lisp_map_reply {
	uint8_t flags; /* LISP_MREP_* */
	uint64_t nonce;
	unsigned int n_records;
	struct lisp_record rec[LISP_MAX_RECORDS];
};

/*
 * Encapsulated Control Message (type 8), RFC 9301 §5.8: a LISP header and an
 * inner IP/UDP packet carrying the control message, all inside the outer
 * UDP datagram to port 4342 (the outer IP/UDP headers are the caller's):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Type=8 |S|D|E|M|            Reserved                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IPv4 or IPv6 Header                     |  IH
 * |                  (uses RLOC or EID addresses)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Source Port (the ITR)     |     Dest Port (4342)          |  UDP
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           UDP Length          |        UDP Checksum           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      LISP Control Message                     |  LCM
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * S: LISP-SEC; D: DDT-originated; E: to-ETR (a Map-Server forwarding the
 * request to an authoritative ETR); M: to-MS. The inner header must be a
 * plain IPv4 (options allowed) or IPv6 (no extension headers) header with
 * UDP, not fragmented, its lengths consistent with the message; its
 * checksums are not checked (the outer UDP checksum covers it) but are
 * written correctly by the encoder.
 */
#define LISP_ECM_S 0x08
#define LISP_ECM_D 0x04
#define LISP_ECM_E 0x02
#define LISP_ECM_M 0x01

struct lisp_ecm {
	uint8_t flags;             /* LISP_ECM_* */
	struct lisp_addr src, dst; /* inner header, same family */
	uint8_t ttl;               /* inner TTL / hop limit */
	uint16_t sport, dport;     /* inner UDP */
	const uint8_t *msg;        /* decode: the inner control message, inside the buffer */
	size_t msg_len;
};

/* Why a message could not be decoded. Names are the counter names. */
#define foreach_lisp_wire_err                       \
	_(TRUNCATED, "truncated")                   \
	_(TOO_BIG, "too_big")                       \
	_(BAD_TYPE, "wrong_type")                   \
	_(BAD_AFI, "unsupported_afi")               \
	_(BAD_MASK_LEN, "bad_mask_length")          \
	_(NO_RECORDS, "no_records")                 \
	_(TOO_MANY_RECORDS, "too_many_records")     \
	_(TOO_MANY_LOCATORS, "too_many_locators")   \
	_(TOO_MANY_ITR_RLOCS, "too_many_itr_rlocs") \
	_(BAD_AUTH_LEN, "bad_auth_length")          \
	_(TRAILING, "trailing_bytes")               \
	_(UNSUPPORTED, "unsupported_flag")          \
	_(ECM_BAD_IP, "ecm_bad_inner_ip")           \
	_(ECM_BAD_UDP, "ecm_bad_inner_udp")

enum lisp_wire_err {
	LISP_WIRE_OK = 0,
#define _(sym, str) LISP_WIRE_##sym,
	foreach_lisp_wire_err
#undef _
		LISP_WIRE_ERR_MAX,
};

const char *lisp_wire_err_name(int err);
const char *lisp_act_name(unsigned int act);
const char *lisp_type_name(int type);

/* The type of the message in buf (its first 4 bits), or -1 when len is 0. */
int lisp_msg_type(const uint8_t *buf, size_t len);

/*
 * Decoders: fill *m from the len bytes at buf, which must hold exactly one
 * message (bytes left over are LISP_WIRE_TRAILING). Return LISP_WIRE_OK or
 * an enum lisp_wire_err. On error *m is partly written and meaningless.
 * lisp_decode_map_register takes types 3, 4 and 5.
 */
int lisp_decode_map_register(const uint8_t *buf, size_t len, struct lisp_map_register *m);
int lisp_decode_map_request(const uint8_t *buf, size_t len, struct lisp_map_request *m);
int lisp_decode_map_reply(const uint8_t *buf, size_t len, struct lisp_map_reply *m);
int lisp_decode_ecm(const uint8_t *buf, size_t len, struct lisp_ecm *m);

/*
 * Encoders: write the message to buf (cap bytes) and return its length, or
 * -ENOSPC when it does not fit, -EINVAL when *m cannot be encoded (an
 * address family other than 4/6, a count over the maximums, a mask longer
 * than the family's). lisp_encode_map_register writes m->type (3, 4 or 5)
 * with m->auth_len zero bytes of Authentication Data at offset 16, ready for
 * lisp_auth_sign; m->auth and m->auth_off are not read. lisp_encode_ecm
 * writes the LISP header, the inner IP and UDP headers with their checksums,
 * and m->msg_len bytes of m->msg.
 */
int lisp_encode_map_register(uint8_t *buf, size_t cap, const struct lisp_map_register *m);
int lisp_encode_map_request(uint8_t *buf, size_t cap, const struct lisp_map_request *m);
int lisp_encode_map_reply(uint8_t *buf, size_t cap, const struct lisp_map_reply *m);
int lisp_encode_ecm(uint8_t *buf, size_t cap, const struct lisp_ecm *m);

/* Offset of the Authentication Data in a Map-Register/-Notify/-Notify-Ack. */
#define LISP_REG_AUTH_OFF 16

/* Address helpers. */
unsigned int lisp_addr_bits(uint8_t family); /* 32, 128, or 0 */
bool lisp_addr_equal(const struct lisp_addr *a, const struct lisp_addr *b);
bool lisp_prefix_equal(const struct lisp_prefix *a, const struct lisp_prefix *b);
/* Clear the bits of p->addr past p->len. */
void lisp_prefix_canon(struct lisp_prefix *p);
/* True when outer (canonical or not) contains inner: same family, shorter or equal mask. */
bool lisp_prefix_contains(const struct lisp_prefix *outer, const struct lisp_prefix *inner);

#endif /* EQX_LISP_WIRE_H */
