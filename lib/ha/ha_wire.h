/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ha: the wire format of the HA pair's UDP protocol (heartbeats, the
 * reliable state-sync stream, acks, switchover handoff): codecs over plain
 * bytes, HMAC-SHA256 sealing and the receive checks (MAC, replay, epoch).
 */
#ifndef EQX_HA_WIRE_H
#define EQX_HA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "flow/flow.h"

/*
 * One datagram is the payload of one UDP packet (port cfg ha.port's peer,
 * ha.peer). Every field is big-endian; offsets are from the payload's first
 * byte.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Magic 0x4548 "EH"      |    Version    |     Type      |  0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Flags (zero)          |       Sender instance id      |  4
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Key id                             |  8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Body length          |        Reserved (zero)        | 12
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Epoch (64 bits)                           | 16
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Datagram sequence number (64)                  | 24
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   Ack epoch (64 bits)                         | 32
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Cumulative record ack (64)                    | 40
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Body (Body length bytes) ...               | 48
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           HMAC-SHA256 over bytes 0 .. 48+len-1 (32 bytes)     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Key id: the first 4 bytes of HMAC-SHA256(key, "equinox-ha key id"); tells a
 *   peer with another key ("wrong_key") from a forgery ("bad_mac") in the
 *   counters, and reveals nothing of the key.
 * Epoch: random, chosen at process start, never 0. Sequence numbers are per
 *   (sender, epoch), so a restarted peer's numbers are not taken for replays.
 * Datagram sequence number: 1, 2, 3, ... for every datagram the sender seals,
 *   retransmissions included; the receiver's replay window runs over it.
 * Ack epoch / cumulative record ack: the receiver side of the sync stream,
 *   carried by every datagram: "of your stream of epoch Ack epoch, I hold
 *   every record up to Ack". Ack epoch 0: I hold nothing of yours yet.
 * Every datagram is HA_WIRE_HDR_LEN + Body length + HA_WIRE_MAC_LEN bytes, at
 * most HA_WIRE_MAX: it fits a 1500-byte path with IPv6 and tunnel headers.
 *
 * Bodies by type:
 *
 * HEARTBEAT (24 bytes)
 *   0  state (1)          the sender's role, enum ha_state
 *   1  priority (1)       1..254; 0 = resigning (RFC 9568 6.4.3 "priority 0")
 *   2  flags (1)          HA_HB_F_PREEMPT, HA_HB_F_HANDOFF, HA_HB_F_SYNCED
 *   3  rx state (1)       the sender's copy of the receiver's state, enum ha_rx_state
 *   4  interval ms (2)    the sender's heartbeat interval, 1..65535
 *   6  reserved (2)
 *   8  bulk request (4)   bumped each time the sender needs a new bulk sync
 *  12  backlog (4)        records queued by the sender for the receiver, not yet acked
 *  16  tx high (8)        highest record number the sender has sent (0: none)
 *
 * SYNC (20 + records; at most HA_WIRE_MAX_RECORDS records)
 *   0  tx low (8)         lowest record number the sender still holds
 *   8  first (8)          record number of the first record; the rest follow, +1 each
 *  16  count (2)          records in this datagram, 1..HA_WIRE_MAX_RECORDS
 *  18  reserved (2)
 *  20  records, each: type (1), flags (1), length (2, whole record), value
 *
 * ACK (20 + 12 per range): also sent as "alive" when the stream is idle
 *   0  tx low (8)         as in SYNC: of the sender's own stream
 *   8  tx high (8)        as in HEARTBEAT
 *  16  nack count (2)     0..HA_WIRE_NACK_MAX
 *  18  reserved (2)
 *  20  per range: first missing record (8), count (4): records of the
 *      receiver's stream (the header's Ack epoch) to send again
 *
 * HANDOFF (8): the active hands the role to its peer (planned switchover)
 *   0  target id (2)      the instance that is to become active
 *   2  reserved (2)
 *   4  switchover (4)     the sender's switchover number, from 1
 *
 * Records (record flags: HA_REC_F_IP6 = addresses are 16 bytes, else 4;
 * HA_REC_F_BULK = part of a bulk sync):
 *
 * FLOW_ADD / FLOW_DEL: 40 bytes (IPv4), 64 (IPv6)
 *   0  type | flags | length (2)
 *   4  vip (2) | proto (1) | state (1, enum flow_state)
 *   8  backend (4)
 *  12  sport (2) | dport (2)
 *  16  age ms (4)         since the flow's last packet when the record was made
 *  20  entry flags (1) | reserved (3)
 *  24  opaque (8)         carried for the caller
 * The library carries vip, backend and opaque as given. equinox's HA agent
 * puts references there that both boxes compute alike from the config
 * (box-local ids differ): vip a 16-bit hash of the VIP's address, protocol
 * and port; opaque the 64-bit hash of VIP and backend address, and backend
 * its low 32 bits (src/ha_agent.c, vip_ref_of and backend_ref_of).
 *  32  src (4|16) | dst (4|16)
 *
 * AFFINITY: 20 bytes (IPv4 client), 32 (IPv6)
 *   0  type | flags | length (2)
 *   4  vip (2) | reserved (2)
 *   8  backend (4)         (the same references as in FLOW_ADD)
 *  12  age ms (4)
 *  16  client address (4|16)
 *
 * BLOB: 8 + n bytes, n <= HA_WIRE_BLOB_MAX (LISP registrations and the like)
 *   0  type | flags | length (2)
 *   4  tag (2) | reserved (2)
 *   8  data (n)
 *
 * BULK_START / BULK_END: 16 bytes. They are records, not datagram types, so
 * that they keep their place in the ordered stream between the records of the
 * bulk and the incremental ones, and are resent by the same machinery.
 *   0  type | flags | length (2)
 *   4  bulk id (4)
 *   8  count (8)          START: records expected (0: unknown); END: records sent
 */

#define HA_WIRE_MAGIC 0x4548
#define HA_WIRE_VERSION 1
#define HA_WIRE_HDR_LEN 48
#define HA_WIRE_MAC_LEN 32
#define HA_WIRE_KEY_LEN 32
#define HA_WIRE_MAX 1400
#define HA_WIRE_BODY_MAX (HA_WIRE_MAX - HA_WIRE_HDR_LEN - HA_WIRE_MAC_LEN)
#define HA_WIRE_MAX_RECORDS 64
#define HA_WIRE_NACK_MAX 32
#define HA_WIRE_BLOB_MAX 1024

#define HA_WIRE_HB_LEN 24
#define HA_WIRE_SYNC_HDR_LEN 20
#define HA_WIRE_ACK_HDR_LEN 20
#define HA_WIRE_NACK_LEN 12
#define HA_WIRE_HANDOFF_LEN 8

#define HA_WIRE_REC_HDR_LEN 4
#define HA_WIRE_FLOW4_LEN 40
#define HA_WIRE_FLOW6_LEN 64
#define HA_WIRE_AFF4_LEN 20
#define HA_WIRE_AFF6_LEN 32
#define HA_WIRE_BLOB_HDR_LEN 8
#define HA_WIRE_BULK_LEN 16
#define HA_WIRE_REC_MAX (HA_WIRE_BLOB_HDR_LEN + HA_WIRE_BLOB_MAX)

/* Datagram types: symbol, value, name. */
#define foreach_ha_msg               \
	_(HEARTBEAT, 1, "heartbeat") \
	_(SYNC, 2, "sync")           \
	_(ACK, 3, "ack")             \
	_(HANDOFF, 4, "handoff")

enum ha_msg_type {
#define _(sym, val, str) HA_MSG_##sym = val,
	foreach_ha_msg
#undef _
};

/* Record types in a SYNC body. */
#define foreach_ha_rec                 \
	_(FLOW_ADD, 1, "flow_add")     \
	_(FLOW_DEL, 2, "flow_del")     \
	_(AFFINITY, 3, "affinity")     \
	_(BLOB, 4, "blob")             \
	_(BULK_START, 5, "bulk_start") \
	_(BULK_END, 6, "bulk_end")

enum ha_rec_type {
#define _(sym, val, str) HA_REC_##sym = val,
	foreach_ha_rec
#undef _
};

#define HA_REC_F_IP6 0x01
#define HA_REC_F_BULK 0x02

#define HA_HB_F_PREEMPT 0x01 /* the sender preempts a lower priority active */
#define HA_HB_F_HANDOFF 0x02 /* the sender hands the active role to the receiver */
#define HA_HB_F_SYNCED 0x04  /* the sender holds a complete copy of the receiver's state */

/* How complete a receiver's copy of its peer's state is. */
#define foreach_ha_rx_state       \
	_(NEED_BULK, "need_bulk") \
	_(IN_BULK, "in_bulk")     \
	_(SYNCED, "synced")

enum ha_rx_state {
#define _(sym, str) HA_RX_##sym,
	foreach_ha_rx_state
#undef _
		HA_RX_MAX,
};

/*
 * Why a datagram was dropped, in the order the checks run. Names are the
 * drop-counter names. Only the length, magic, version and key id are looked
 * at before the MAC, and only to pick the reason: nothing unauthenticated is
 * acted on.
 */
#define foreach_ha_wire_err             \
	_(TRUNCATED, "truncated")       \
	_(OVERSIZED, "oversized")       \
	_(BAD_MAGIC, "bad_magic")       \
	_(BAD_VERSION, "bad_version")   \
	_(WRONG_KEY, "wrong_key")       \
	_(BAD_MAC, "bad_mac")           \
	_(BAD_LENGTH, "bad_length")     \
	_(OWN_DATAGRAM, "own_datagram") \
	_(SAME_ID, "peer_uses_our_id")  \
	_(STALE_EPOCH, "stale_epoch")   \
	_(REPLAY, "replayed")           \
	_(UNKNOWN_TYPE, "unknown_type") \
	_(MALFORMED, "malformed")

enum ha_wire_err {
	HA_WIRE_OK = 0,
#define _(sym, str) HA_WIRE_ERR_##sym,
	foreach_ha_wire_err
#undef _
		HA_WIRE_ERR_MAX,
};

const char *ha_wire_err_name(int err);
const char *ha_msg_name(uint8_t type);
const char *ha_rec_name(uint8_t type);
const char *ha_rx_state_name(uint8_t s);

/* The fixed header, decoded. */
struct ha_wire_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint16_t sender;
	uint32_t key_id;
	uint16_t len; /* body length */
	uint64_t epoch;
	uint64_t seq;
	uint64_t ack_epoch;
	uint64_t ack;
};

struct ha_msg_hb {
	uint8_t state;
	uint8_t priority;
	uint8_t flags;
	uint8_t rx_state;
	uint16_t interval_ms;
	uint32_t bulk_req;
	uint32_t backlog;
	uint64_t tx_high;
};

struct ha_nack {
	uint64_t first;
	uint32_t count;
};

struct ha_msg_ack {
	uint64_t tx_low;
	uint64_t tx_high;
	uint16_t n_nack;
	struct ha_nack nack[HA_WIRE_NACK_MAX];
};

struct ha_msg_handoff {
	uint16_t target;
	uint32_t switchover;
};

/*
 * One record, decoded. For a flow, key.family (4 or 6) chooses the address
 * size; for a blob, data points into the buffer it was decoded from (or, to
 * encode, the caller's bytes).
 */
struct ha_rec {
	uint8_t type;  /* enum ha_rec_type */
	uint8_t flags; /* HA_REC_F_BULK; HA_REC_F_IP6 is derived from the family */
	union {
		struct {
			struct flow_key key;
			uint16_t vip;
			uint8_t state;  /* enum flow_state */
			uint8_t eflags; /* struct flow_entry's flags */
			uint32_t backend;
			uint32_t age_ms;
			uint64_t user;
		} flow;
		struct {
			uint8_t family;
			uint8_t addr[16];
			uint16_t vip;
			uint32_t backend;
			uint32_t age_ms;
		} aff;
		struct {
			uint16_t tag;
			uint16_t len;
			const uint8_t *data;
		} blob;
		struct {
			uint32_t id;
			uint64_t count;
		} bulk;
	} u;
};

/* The key id of a key (see above). */
uint32_t ha_wire_key_id(const uint8_t key[HA_WIRE_KEY_LEN]);

/* Sender side: who we are and the next datagram number. */
struct ha_wire_tx {
	uint8_t key[HA_WIRE_KEY_LEN];
	uint32_t key_id;
	uint16_t id;
	uint64_t epoch;
	uint64_t seq; /* last used; the next datagram gets seq + 1 */
};

/* epoch must not be 0. */
void ha_wire_tx_init(struct ha_wire_tx *tx, const uint8_t key[HA_WIRE_KEY_LEN], uint16_t id,
		     uint64_t epoch);

/*
 * Seal a datagram whose body_len-byte body the caller has written at
 * buf + HA_WIRE_HDR_LEN: write the header (next datagram number, the given
 * ack fields) and append the MAC. Returns the datagram length, or -EMSGSIZE
 * when it would not fit cap or HA_WIRE_MAX.
 */
int ha_wire_seal(struct ha_wire_tx *tx, uint8_t *buf, size_t cap, uint8_t type, uint64_t ack_epoch,
		 uint64_t ack, size_t body_len);

/*
 * Stateless checks of a received datagram, in the order of foreach_ha_wire_err
 * up to BAD_LENGTH; on HA_WIRE_OK the header is decoded into h and the body
 * is at buf + HA_WIRE_HDR_LEN, h->len bytes.
 */
int ha_wire_verify(const uint8_t *buf, size_t len, const uint8_t key[HA_WIRE_KEY_LEN],
		   uint32_t key_id, struct ha_wire_hdr *h);

/* Receiver side: the peer's identity, epoch and replay window. */
struct ha_wire_rx {
	uint8_t key[HA_WIRE_KEY_LEN];
	uint32_t key_id;
	uint16_t own_id;
	uint64_t own_epoch;
	uint16_t peer_id;       /* 0: no peer heard yet */
	struct auth_epoch peer; /* its epoch (0: none heard yet), retired ones, replay window */
	uint64_t drops[HA_WIRE_ERR_MAX]; /* [0]: datagrams accepted */
	uint64_t new_epochs;             /* peer restarts (a new epoch or a new id) */
	uint64_t peer_id_changes;        /* ...of which a new id: another box, or a misconfig */
};

void ha_wire_rx_init(struct ha_wire_rx *rx, const uint8_t key[HA_WIRE_KEY_LEN], uint16_t own_id,
		     uint64_t own_epoch);

/*
 * Every check of a received datagram: ha_wire_verify, then the sender (not
 * us, not our id), the epoch (a retired one is stale; a new one, once
 * authenticated, becomes the peer's and resets the replay window; a new
 * sender id is a new peer, the same way), and the
 * replay window; then the type. Counts the verdict in rx->drops. *new_epoch
 * is set when this datagram started a new peer epoch (the peer restarted: its
 * sync stream starts over). HA_WIRE_OK or an enum ha_wire_err.
 */
int ha_wire_rx_open(struct ha_wire_rx *rx, const uint8_t *buf, size_t len, struct ha_wire_hdr *h,
		    bool *new_epoch);

/* An accepted datagram turned out bad (its body): count it under err instead. */
void ha_wire_rx_recount(struct ha_wire_rx *rx, int err);

/* Body codecs. Encoders return the bytes written or -EMSGSIZE; decoders 0 or -EINVAL. */
int ha_wire_hb_encode(uint8_t *p, size_t cap, const struct ha_msg_hb *m);
int ha_wire_hb_decode(const uint8_t *p, size_t len, struct ha_msg_hb *m);
int ha_wire_ack_encode(uint8_t *p, size_t cap, const struct ha_msg_ack *m);
int ha_wire_ack_decode(const uint8_t *p, size_t len, struct ha_msg_ack *m);
int ha_wire_handoff_encode(uint8_t *p, size_t cap, const struct ha_msg_handoff *m);
int ha_wire_handoff_decode(const uint8_t *p, size_t len, struct ha_msg_handoff *m);

/* Encoded length of a record, or 0 when it cannot be encoded (bad family, blob too long...). */
size_t ha_wire_rec_len(const struct ha_rec *r);
/* Encode one record; returns its length, -EINVAL or -EMSGSIZE. */
int ha_wire_rec_encode(uint8_t *p, size_t cap, const struct ha_rec *r);
/*
 * Decode one record at p (len bytes available); returns its length or -EINVAL.
 * A record of an unknown type decodes with only type, flags and length
 * checked (r->type holds it): the caller skips it and counts it.
 */
int ha_wire_rec_decode(const uint8_t *p, size_t len, struct ha_rec *r);
bool ha_wire_rec_known(uint8_t type);

/* The SYNC body's fixed part. */
struct ha_msg_sync {
	uint64_t tx_low;
	uint64_t first;
	uint16_t count;
	const uint8_t *recs; /* count records, recs_len bytes */
	size_t recs_len;
};

void ha_wire_sync_hdr_encode(uint8_t *p, uint64_t tx_low, uint64_t first, uint16_t count);
/*
 * Check a SYNC body whole: the fixed part, then every record's length and
 * (for known types) value, and that exactly count records fill it. -EINVAL
 * on any fault: an authenticated but malformed datagram is dropped whole.
 */
int ha_wire_sync_decode(const uint8_t *p, size_t len, struct ha_msg_sync *m);

#endif /* EQX_HA_WIRE_H */
