/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster: the wire format of the distributed mode's sync protocol (UDP,
 * port cfg cluster.sync_port): codecs over plain bytes, HMAC-SHA256 sealing,
 * and the stateless receive checks. README.md explains the protocol around it.
 */
#ifndef EQX_CLUSTER_WIRE_H
#define EQX_CLUSTER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/flow.h"

/*
 * One datagram is the payload of one UDP packet between two members. Every
 * field is big-endian; offsets are from the payload's first byte.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Magic 0x4543 "EC"      |    Version    |     Type      |  0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       Sender member id        |      Receiver member id       |  4
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Payload length         |     Count     | Flags (zero)  |  8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Key id                             | 12
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Epoch (64 bits)                           | 16
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Datagram sequence number (64)                 | 24
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   Ack stream id (64 bits)                     | 32
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Cumulative record ack (64)                    | 40
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Payload (Payload length bytes) ...            | 48
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    HMAC-SHA256 over bytes 0 .. 48+len-1, first 16 bytes       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Receiver member id: every datagram is for one member. It is inside the
 *   MAC because sequence numbers are per (sender, receiver): without it, a
 *   datagram from A to B could be replayed to C, whose window for A has not
 *   seen that number.
 * Count: items, keys, ranges or live ids in the payload, by type (below).
 * Key id: the first 4 bytes of HMAC-SHA256(key, "equinox-cluster key id"):
 *   tells a member with another key ("wrong_key") from a forgery ("bad_mac").
 * Epoch: random, chosen at process start, never 0. Datagram numbers are per
 *   (sender epoch, receiver), from 1; the receiver's replay window (lib/auth,
 *   1024 numbers) runs over them. A new epoch resets the window, but only
 *   once the datagram has passed the MAC; the last epochs of each member are
 *   remembered, and a datagram of one of them is dropped as stale_epoch.
 * Ack stream id / cumulative ack: the receiver side of the push stream, on
 *   every datagram: "of your stream Ack stream id, I hold every record up to
 *   Ack". 0 / 0: I hold nothing of yours.
 * MAC: HMAC-SHA256 truncated to 128 bits, as IPsec's HMAC-SHA-256-128
 *   (RFC 4868 2.6): a forgery succeeds with probability 2^-128 per try, and a
 *   guess can only be checked by sending it to a member, which counts it.
 *   It leaves 16 more bytes to the small datagrams (heartbeats, acks,
 *   queries, answers) that make up most of the traffic.
 * Every datagram is at most CLUSTER_WIRE_MAX bytes: it fits a 1500-byte
 *   path with IPv6 and a tunnel header.
 *
 * Payloads by type (Count in brackets):
 *
 * HEARTBEAT [live ids] (56 + 2 per live id), every member to every member
 *   0  interval ms (2)    the sender's heartbeat interval
 *   2  flags (1)          CLUSTER_HB_F_IN_SERVICE, CLUSTER_HB_F_STARTING
 *   3  reserved (1)
 *   4  view (4)           the sender's live-set change counter
 *   8  known gen (4)      newest committed backend-set generation it knows of
 *  12  known digest (16)
 *  28  applied gen (4)    the generation its workers run
 *  32  applied digest (16)
 *  48  store records (4)  records it holds for others (telemetry)
 *  52  reserved (4)
 *  56  live member ids (2 each): the sender's live set, itself included
 *
 * PUSH [items] (24 + items): records of the sender's reliable stream to the
 * receiver, numbered first, first + 1, ...
 *   0  stream id (8)      the sender's stream to this receiver; changes when
 *                         the sender starts it over (the receiver restarted)
 *   8  tx low (8)         lowest record number the sender still holds
 *  16  first (8)          number of the first item
 *  24  items: FLOW, AFFINITY, BULK_BEGIN, BULK_END
 *
 * ACK [ranges] (12 per range): records held beyond the cumulative ack
 *   per range: first (8), count (4); at most CLUSTER_WIRE_SACK_MAX ranges
 *
 * QUERY [keys] (items): "which backend has this flow?"; items: KEY
 * ANSWER [items] (items): items: FLOW or AFFINITY (found), UNKNOWN
 *
 * GEN_PROPOSE [0] (28 + data): one chunk of a backend-set blob
 *   0  gen (4)
 *   4  flags (1)          CLUSTER_GEN_F_COMMITTED: already committed (a
 *                         catch-up): apply and switch at once
 *   5  reserved (1)
 *   6  chunk (2)          index; chunks are CLUSTER_GEN_CHUNK bytes, the last shorter
 *   8  total length (4)   of the blob, 1 .. CLUSTER_GEN_BLOB_MAX
 *  12  digest (16)        first 16 bytes of HMAC-SHA256("equinox-cluster-gen", blob)
 *  28  data
 *
 * GEN_ACK [0] (24 + bitmap)
 *   0  gen (4)
 *   4  status (1)         enum cluster_gen_status
 *   5  reserved (1)
 *   6  chunks (2)         bits in the bitmap (PARTIAL and NEED; 0 otherwise)
 *   8  digest (16)
 *  24  bitmap             chunk i held: bit (i % 8) of byte i / 8
 *
 * GEN_COMMIT [0] (24)
 *   0  gen (4)
 *   4  reserved (4)
 *   8  digest (16)
 *
 * Items: type (1), flags (1), length (1: the whole item), then by type:
 *
 * FLOW / AFFINITY: 32 bytes (IPv4 flow, IPv4 backend) .. 68 (IPv6, IPv6)
 *   0  type | flags | length | proto
 *   4  state (1, enum flow_state; 0 for affinity) | reserved (1) | client port (2)
 *   8  VIP port (2) | reserved (2)
 *  12  lifetime ms (4)    left before the sender would forget it; 0: forget it now
 *  16  generation (4)     the backend-set generation its backend was chosen in
 *  20  client address (4|16) | VIP address (4|16) | backend address (4|16)
 * An AFFINITY entry is keyed by client address and VIP (address, port,
 * proto): its client port is 0.
 *
 * KEY / UNKNOWN: 16 bytes (IPv4) or 40 (IPv6)
 *   0  type | flags (CLUSTER_ITEM_F_AFFINITY: an affinity key) | length | proto
 *   4  client port (2) | VIP port (2)
 *   8  client address (4|16) | VIP address (4|16)
 *
 * BULK_BEGIN / BULK_END: 16 bytes, markers in the push stream around the
 * records sent to a member that (re)joined
 *   0  type | flags | length | reserved
 *   4  bulk id (4)
 *   8  count (8)          BEGIN: 0; END: records sent in this bulk
 *
 * Item flags: CLUSTER_ITEM_F_IP6 (client and VIP addresses are 16 bytes),
 * CLUSTER_ITEM_F_BACKEND6 (the backend address is 16 bytes),
 * CLUSTER_ITEM_F_BULK (sent by a bulk transfer), CLUSTER_ITEM_F_AFFINITY.
 */

#define CLUSTER_WIRE_MAGIC 0x4543
#define CLUSTER_WIRE_VERSION 1
#define CLUSTER_WIRE_HDR_LEN 48
#define CLUSTER_WIRE_MAC_LEN 16
#define CLUSTER_WIRE_KEY_LEN 32
#define CLUSTER_WIRE_MAX 1400
#define CLUSTER_WIRE_BODY_MAX (CLUSTER_WIRE_MAX - CLUSTER_WIRE_HDR_LEN - CLUSTER_WIRE_MAC_LEN)
#define CLUSTER_WIRE_MIN (CLUSTER_WIRE_HDR_LEN + CLUSTER_WIRE_MAC_LEN)

#define CLUSTER_MAX_MEMBERS 64 /* a live set is a 64-bit map */

#define CLUSTER_WIRE_HB_LEN 56
#define CLUSTER_WIRE_PUSH_HDR_LEN 24
#define CLUSTER_WIRE_SACK_LEN 12
#define CLUSTER_WIRE_SACK_MAX 16
#define CLUSTER_WIRE_GEN_PROPOSE_HDR_LEN 28
#define CLUSTER_WIRE_GEN_ACK_HDR_LEN 24
#define CLUSTER_WIRE_GEN_COMMIT_LEN 24

#define CLUSTER_ITEM_HDR_LEN 3
#define CLUSTER_ITEM_REC_FIXED 20
#define CLUSTER_ITEM_REC4_LEN 32 /* IPv4 flow, IPv4 backend */
#define CLUSTER_ITEM_KEY4_LEN 16
#define CLUSTER_ITEM_MARKER_LEN 16
#define CLUSTER_ITEM_MAX 68 /* IPv6 flow, IPv6 backend */

#define CLUSTER_ITEM_F_IP6 0x01
#define CLUSTER_ITEM_F_BACKEND6 0x02
#define CLUSTER_ITEM_F_BULK 0x04
#define CLUSTER_ITEM_F_AFFINITY 0x08

#define CLUSTER_HB_F_IN_SERVICE 0x01
#define CLUSTER_HB_F_STARTING 0x02

#define CLUSTER_GEN_F_COMMITTED 0x01
#define CLUSTER_GEN_CHUNK 1024
#define CLUSTER_GEN_BLOB_MAX (1024 * CLUSTER_GEN_CHUNK)
#define CLUSTER_GEN_DIGEST_LEN 16

/* Datagram types: symbol, value, name. */
#define foreach_cluster_msg              \
	_(HEARTBEAT, 1, "heartbeat")     \
	_(PUSH, 2, "push")               \
	_(ACK, 3, "ack")                 \
	_(QUERY, 4, "query")             \
	_(ANSWER, 5, "answer")           \
	_(GEN_PROPOSE, 6, "gen_propose") \
	_(GEN_ACK, 7, "gen_ack")         \
	_(GEN_COMMIT, 8, "gen_commit")

enum cluster_msg_type {
#define _(sym, val, str) CLUSTER_MSG_##sym = val,
	foreach_cluster_msg
#undef _
		CLUSTER_MSG_MAX,
};

/* Item types. */
#define foreach_cluster_item           \
	_(FLOW, 1, "flow")             \
	_(AFFINITY, 2, "affinity")     \
	_(KEY, 3, "key")               \
	_(UNKNOWN, 4, "unknown")       \
	_(BULK_BEGIN, 5, "bulk_begin") \
	_(BULK_END, 6, "bulk_end")

enum cluster_item_type {
#define _(sym, val, str) CLUSTER_ITEM_##sym = val,
	foreach_cluster_item
#undef _
		CLUSTER_ITEM_TYPE_MAX,
};

/* GEN_ACK status: what the sender has of generation (gen, digest). */
#define foreach_cluster_gen_status \
	_(OK, 1, "prepared")       \
	_(FAIL, 2, "apply_failed") \
	_(PARTIAL, 3, "partial")   \
	_(NEED, 4, "need")         \
	_(STALE, 5, "stale")

enum cluster_gen_status {
#define _(sym, val, str) CLUSTER_GEN_ST_##sym = val,
	foreach_cluster_gen_status
#undef _
		CLUSTER_GEN_ST_MAX,
};

/*
 * Why a received datagram was dropped, in the order the checks run; the names
 * are the drop-counter names. The checks up to own_id read unauthenticated
 * bytes, only to drop early and cheaply; nothing else is acted on before the
 * MAC. rate_limited is the node's: a push beyond the receive budget, dropped
 * unacknowledged (the sender sends it again later).
 */
#define foreach_cluster_drop                \
	_(TRUNCATED, "truncated")           \
	_(OVERSIZED, "oversized")           \
	_(BAD_MAGIC, "bad_magic")           \
	_(BAD_VERSION, "bad_version")       \
	_(WRONG_KEY, "wrong_key")           \
	_(NOT_FOR_US, "not_for_us")         \
	_(UNKNOWN_MEMBER, "unknown_member") \
	_(OWN_ID, "own_id")                 \
	_(BAD_MAC, "bad_mac")               \
	_(BAD_LENGTH, "bad_length")         \
	_(STALE_EPOCH, "stale_epoch")       \
	_(REPLAYED, "replayed")             \
	_(BAD_TYPE, "bad_type")             \
	_(BAD_COUNT, "bad_count")           \
	_(MALFORMED, "malformed")           \
	_(RATE_LIMITED, "rate_limited")

enum cluster_drop {
	CLUSTER_WIRE_OK = 0,
#define _(sym, str) CLUSTER_DROP_##sym,
	foreach_cluster_drop
#undef _
		CLUSTER_DROP_MAX,
};

const char *cluster_drop_name(int d);
const char *cluster_msg_name(uint8_t type);
const char *cluster_item_name(uint8_t type);
const char *cluster_gen_status_name(uint8_t st);

/* The fixed header, decoded. */
struct cluster_wire_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t sender;
	uint16_t receiver;
	uint16_t len; /* payload */
	uint8_t count;
	uint8_t flags;
	uint32_t key_id;
	uint64_t epoch;
	uint64_t seq;
	uint64_t ack_stream;
	uint64_t ack;
};

/*
 * A flow or affinity record: what the owner keeps and what an answer
 * installs. The backend is named by its address, not by an id: ids are
 * positions in each member's own config and may differ between members, the
 * address is what Maglev hashes and is unique within a VIP. The VIP is named
 * by its address, port and protocol (the key's dst, dport, proto) for the
 * same reason.
 */
struct cluster_rec {
	uint8_t type;         /* CLUSTER_ITEM_FLOW or CLUSTER_ITEM_AFFINITY */
	uint8_t state;        /* enum flow_state (FLOW); 0 for AFFINITY */
	uint8_t be_family;    /* 4 or 6 */
	uint8_t flags;        /* CLUSTER_ITEM_F_BULK as received; others are derived */
	uint32_t gen;         /* backend-set generation the backend was chosen in */
	uint32_t lifetime_ms; /* 0: the flow ended, forget it */
	struct flow_key key;  /* AFFINITY: src client, dst VIP, dport VIP port, sport 0 */
	uint8_t backend[16];  /* IPv4 in the first 4 bytes, the rest zero */
};

/* A decoded item: a record, a key (KEY, UNKNOWN) or a marker. */
struct cluster_item {
	uint8_t type;  /* enum cluster_item_type */
	uint8_t flags; /* as on the wire */
	uint8_t len;
	union {
		struct cluster_rec rec;
		struct {
			uint8_t rtype; /* CLUSTER_ITEM_FLOW or CLUSTER_ITEM_AFFINITY */
			struct flow_key key;
		} key;
		struct {
			uint32_t id;
			uint64_t count;
		} bulk;
	} u;
};

/* Sender side: the key, our id, our epoch. */
struct cluster_wire_key {
	uint8_t key[CLUSTER_WIRE_KEY_LEN];
	uint32_t key_id;
};

void cluster_wire_key_init(struct cluster_wire_key *k, const uint8_t key[CLUSTER_WIRE_KEY_LEN]);

/*
 * Seal a datagram whose h->len-byte payload the caller has written at
 * buf + CLUSTER_WIRE_HDR_LEN: write the header from h (magic, version and
 * key id filled in) and append the MAC. Returns the datagram length, or
 * -EMSGSIZE when it would not fit cap or CLUSTER_WIRE_MAX.
 */
int cluster_wire_seal(const struct cluster_wire_key *k, uint8_t *buf, size_t cap,
		      const struct cluster_wire_hdr *h);

/*
 * The checks before the MAC (truncated .. not_for_us, and own_id): decodes
 * the header into h. The caller then checks that h->sender is a member
 * (unknown_member), and calls cluster_wire_authenticate.
 */
int cluster_wire_peek(const uint8_t *buf, size_t len, uint32_t key_id, uint16_t self_id,
		      struct cluster_wire_hdr *h);

/* bad_mac, then bad_length (the header's payload length against the datagram's). */
int cluster_wire_authenticate(const struct cluster_wire_key *k, const uint8_t *buf, size_t len,
			      const struct cluster_wire_hdr *h);

/* Items. Encoders return the bytes written, -EINVAL or -EMSGSIZE. */
size_t cluster_wire_rec_len(const struct cluster_rec *r); /* 0: cannot be encoded */
int cluster_wire_rec_encode(uint8_t *p, size_t cap, const struct cluster_rec *r);
/* A KEY or UNKNOWN item for (rtype, k). */
int cluster_wire_key_encode(uint8_t *p, size_t cap, uint8_t item_type, uint8_t rtype,
			    const struct flow_key *k);
int cluster_wire_marker_encode(uint8_t *p, size_t cap, uint8_t item_type, uint32_t id,
			       uint64_t count);
/*
 * Decode one item at p (len bytes available): its length, or -EINVAL. Every
 * byte is checked: the length against the flags, the family, the state, the
 * reserved bytes; an unknown type is -EINVAL (a peer of the same version
 * sends none). Keys come out canonical (as lib/flow wants them).
 */
int cluster_wire_item_decode(const uint8_t *p, size_t len, struct cluster_item *it);

/* Bodies. Decoders: 0, CLUSTER_DROP_BAD_COUNT or CLUSTER_DROP_MALFORMED. */
struct cluster_msg_hb {
	uint16_t interval_ms;
	uint8_t flags;
	uint32_t view;
	uint32_t known_gen;
	uint8_t known_digest[CLUSTER_GEN_DIGEST_LEN];
	uint32_t applied_gen;
	uint8_t applied_digest[CLUSTER_GEN_DIGEST_LEN];
	uint32_t records;
	uint8_t n_live;
	uint16_t live[CLUSTER_MAX_MEMBERS];
};

int cluster_wire_hb_encode(uint8_t *p, size_t cap, const struct cluster_msg_hb *m);
int cluster_wire_hb_decode(const uint8_t *p, size_t len, uint8_t count, struct cluster_msg_hb *m);

/*
 * A body of items (PUSH after its 24-byte head, QUERY, ANSWER): every item
 * decoded and checked against the types allowed (a bit mask of 1 << type),
 * count items filling len exactly.
 */
int cluster_wire_items_check(const uint8_t *p, size_t len, uint8_t count, uint32_t allowed);

struct cluster_msg_push {
	uint64_t stream;
	uint64_t tx_low;
	uint64_t first;
	const uint8_t *items; /* count items, items_len bytes */
	size_t items_len;
};

void cluster_wire_push_hdr_encode(uint8_t *p, uint64_t stream, uint64_t tx_low, uint64_t first);
int cluster_wire_push_decode(const uint8_t *p, size_t len, uint8_t count,
			     struct cluster_msg_push *m);

struct cluster_sack {
	uint64_t first;
	uint32_t count;
};

int cluster_wire_ack_encode(uint8_t *p, size_t cap, const struct cluster_sack *r, unsigned int n);
int cluster_wire_ack_decode(const uint8_t *p, size_t len, uint8_t count, struct cluster_sack *r);

struct cluster_msg_gen {
	uint32_t gen;
	uint8_t digest[CLUSTER_GEN_DIGEST_LEN];
	uint8_t flags;       /* PROPOSE */
	uint8_t status;      /* ACK */
	uint16_t chunk;      /* PROPOSE: index; ACK: bits in the bitmap */
	uint32_t total;      /* PROPOSE */
	const uint8_t *data; /* PROPOSE: the chunk; ACK: the bitmap */
	size_t data_len;
};

/* Chunks of a blob of total bytes. */
static inline uint32_t
cluster_gen_chunks(uint32_t total)
{
	return (total + CLUSTER_GEN_CHUNK - 1) / CLUSTER_GEN_CHUNK;
}

int cluster_wire_gen_propose_encode(uint8_t *p, size_t cap, const struct cluster_msg_gen *m);
int cluster_wire_gen_propose_decode(const uint8_t *p, size_t len, struct cluster_msg_gen *m);
int cluster_wire_gen_ack_encode(uint8_t *p, size_t cap, const struct cluster_msg_gen *m);
int cluster_wire_gen_ack_decode(const uint8_t *p, size_t len, struct cluster_msg_gen *m);
int cluster_wire_gen_commit_encode(uint8_t *p, size_t cap, const struct cluster_msg_gen *m);
int cluster_wire_gen_commit_decode(const uint8_t *p, size_t len, struct cluster_msg_gen *m);

/* The digest of a backend-set blob (see GEN_PROPOSE). */
void cluster_gen_digest(const uint8_t *blob, size_t len, uint8_t out[CLUSTER_GEN_DIGEST_LEN]);

#endif /* EQX_CLUSTER_WIRE_H */
