/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ha: the reliable, ordered record stream between the two boxes of a
 * pair (flows, affinity entries, opaque blobs, bulk syncs) over the HA
 * datagrams: a bounded send queue, acks and NACKs, resends, in-order delivery.
 */
#ifndef EQX_HA_SYNC_H
#define EQX_HA_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ha/ha_wire.h"

/*
 * Each box sends one stream and receives the peer's. Records are numbered
 * 1, 2, 3 ... per sender epoch. The receiver acknowledges cumulatively in
 * the header of every datagram it sends, and lists the holes it sees in ACK
 * datagrams (NACK ranges); the sender resends a NACKed record at most once a
 * round trip, and everything unacknowledged when its retransmission timer
 * (RFC 6298 estimate, bounded, doubled on expiry) runs out. The sender keeps
 * at most `window` records unacknowledged, the receiver at most `rx_pool`
 * datagrams out of order. Nothing blocks and nothing grows: a full queue
 * refuses the record, reports the overflow, and asks for a bulk sync.
 *
 * A bulk sync is BULK_START, the caller's tables (records flagged
 * HA_REC_F_BULK), BULK_END with the count, all in the same stream: the
 * receiver's copy is complete ("synced") once it has seen an END whose count
 * matches what came after the START. The records are delivered to the
 * caller too, so it can mark what the bulk refreshed and sweep the rest.
 * A BULK_END of bulk HA_SYNC_RESYNC_ID says "records were lost": the
 * receiver's copy is incomplete until the next bulk, which its heartbeat asks
 * for (a new bulk request number).
 *
 * Mark and sweep, for the caller: on BULK_START, mark every entry learnt from
 * the peer; a record of the bulk unmarks (refreshes) its entry; on the
 * delivery of a BULK_END, if ha_sync_status says rx_state synced, delete the
 * entries still marked. Entries this box created itself are never swept.
 */
#define HA_SYNC_RESYNC_ID 0
struct ha_sync_conf {
	uint32_t queue_records;   /* send queue bound, a power of two */
	uint32_t blob_bytes;      /* room for records of more than 64 bytes (blobs) */
	uint32_t window;          /* records sent and not acknowledged, at most */
	uint32_t bulk_reserve;    /* queue slots a bulk sync leaves to live records */
	uint32_t rx_pool;         /* datagrams held out of order by the receiver */
	uint32_t in_sync_backlog; /* "in sync": at most this many records behind */
	uint32_t rto_initial_ms;
	uint32_t rto_min_ms;
	uint32_t rto_max_ms;
	uint32_t ack_delay_ms;     /* an ack waits at most this long for a datagram to ride */
	uint32_t ack_every;        /* ...or this many data datagrams */
	uint32_t nack_interval_ms; /* the same hole is NACKed at most this often */
	uint32_t alive_ms;         /* an idle stream says where it is this often */
};

void ha_sync_conf_defaults(struct ha_sync_conf *c);

/* Called for every record of the peer's stream, in order, exactly once. */
typedef void (*ha_sync_deliver_fn)(void *arg, uint64_t seq, const struct ha_rec *r);

#define foreach_ha_bulk_state \
	_(IDLE, "idle")       \
	_(RUNNING, "running") \
	_(ENDED, "ended")

enum ha_bulk_state {
#define _(sym, str) HA_BULK_##sym,
	foreach_ha_bulk_state
#undef _
};

struct ha_sync_stats {
	uint64_t pushed;         /* records queued */
	uint64_t overflows;      /* records refused: the queue was full */
	uint64_t sent;           /* records sent for the first time */
	uint64_t resent;         /* records sent again */
	uint64_t data_datagrams; /* SYNC datagrams sent */
	uint64_t ack_datagrams;  /* ACK datagrams sent (acks, NACKs, alive) */
	uint64_t nacked;         /* records the peer NACKed */
	uint64_t rto_expiries;
	uint64_t bad_acks; /* acks past what we sent */
	uint64_t bulks_started;
	uint64_t bulks_done;    /* BULK_END acknowledged */
	uint64_t delivered;     /* records delivered to the caller */
	uint64_t rx_duplicates; /* records received again */
	uint64_t rx_pool_drops; /* out-of-order datagrams not kept */
	uint64_t rx_lost;       /* records the peer gave up on before we had them */
	uint64_t rx_unknown;    /* records of unknown type, skipped */
	uint64_t rx_bulk_mismatch;
	uint64_t rx_resyncs; /* RESYNC markers: the peer lost records for us */
	uint64_t rx_bulks_done;
	uint64_t nacks_sent; /* NACK ranges sent */
	uint64_t malformed;
};

struct ha_sync_status {
	/* Our stream. */
	uint64_t tx_next;   /* next record number */
	uint32_t queued;    /* records held: not yet acknowledged */
	uint32_t in_flight; /* sent, not yet acknowledged */
	uint8_t bulk_state; /* enum ha_bulk_state */
	uint32_t bulk_id;
	uint64_t bulk_added;
	uint64_t bulk_expected;
	bool bulk_wanted;      /* a bulk sync is owed (the queue overflowed) */
	uint8_t peer_rx_state; /* the peer's copy of our state, from its heartbeat */
	bool tx_synced;
	uint64_t rto_ms;
	/* The peer's stream. */
	uint64_t rx_epoch;
	uint64_t rx_next; /* next record number expected */
	uint8_t rx_state; /* enum ha_rx_state */
	uint32_t bulk_req;
	uint64_t rx_bulk_got;
	uint64_t rx_bulk_expected;
	uint64_t rx_backlog; /* records the peer has that we do not */
	bool rx_synced;
};

struct ha_sync;

/* NULL (errno EINVAL or ENOMEM) on failure. epoch: ours, as in struct ha_wire_tx. */
struct ha_sync *ha_sync_create(const struct ha_sync_conf *c, uint64_t epoch, uint64_t now);
void ha_sync_free(struct ha_sync *s);
/* Where the peer's records go: fn(arg, seq, r), in order, each exactly once. */
void ha_sync_set_deliver(struct ha_sync *s, ha_sync_deliver_fn fn, void *arg);

/* Sender. r->flags' HA_REC_F_BULK is ignored: bulk records go through ha_sync_bulk_add. */
int ha_sync_push(struct ha_sync *s, const struct ha_rec *r); /* 0, -ENOBUFS, -EINVAL */

/*
 * Start a bulk sync (a new one replaces one under way): returns its id (> 0)
 * or -ENOBUFS. Feed it with ha_sync_bulk_add until that says -EAGAIN (the
 * queue has no room now: go on later) and end it with ha_sync_bulk_end.
 * -ESTALE from either means the bulk was abandoned (an overflow, a newer
 * bulk): stop feeding it. A new one is asked for by the peer (its heartbeat,
 * hence the state machine's start_bulk_sync), not restarted here.
 */
int ha_sync_bulk_begin(struct ha_sync *s, uint64_t expected);
int ha_sync_bulk_add(struct ha_sync *s, uint32_t id, const struct ha_rec *r);
int ha_sync_bulk_end(struct ha_sync *s, uint32_t id);
/* Free queue slots for ha_sync_bulk_add now. */
uint32_t ha_sync_bulk_room(const struct ha_sync *s);

/*
 * The next datagram to send (acks and NACKs first, then resends, new
 * records, and alive when idle), sealed with w, in buf; its length, or 0 when
 * there is nothing to send now.
 */
int ha_sync_tx(struct ha_sync *s, uint64_t now, struct ha_wire_tx *w, uint8_t *buf, size_t cap);

/*
 * The ack fields for the header of a datagram the caller sends on its own
 * (heartbeat, handoff); counts as an ack sent.
 */
void ha_sync_hdr_ack(struct ha_sync *s, uint64_t now, uint64_t *ack_epoch, uint64_t *ack);

/* Receiver side, for datagrams that ha_wire_rx_open accepted. */
/* The peer started a new epoch (ha_wire_rx_open's new_epoch): its stream starts over. */
void ha_sync_peer_reset(struct ha_sync *s, uint64_t now, uint64_t epoch);
/* Every accepted datagram: the ack it carries for our stream. */
void ha_sync_rx_hdr(struct ha_sync *s, uint64_t now, const struct ha_wire_hdr *h);
/* A SYNC datagram's body: delivers what is now in order. 0, or -EINVAL when malformed. */
int ha_sync_rx_data(struct ha_sync *s, uint64_t now, const struct ha_wire_hdr *h,
		    const uint8_t *body, size_t len);
/* An ACK datagram's body. 0, or -EINVAL when malformed. */
int ha_sync_rx_ack(struct ha_sync *s, uint64_t now, const struct ha_wire_hdr *h,
		   const uint8_t *body, size_t len);
/* What the peer's heartbeat says of the sync. */
void ha_sync_rx_hb(struct ha_sync *s, uint64_t now, const struct ha_msg_hb *hb);

/*
 * Our receiver's view, for our heartbeat: rx state, bulk request, backlog,
 * tx high, and HA_HB_F_SYNCED or'ed into hb->flags.
 */
void ha_sync_hb_fields(const struct ha_sync *s, struct ha_msg_hb *hb);

void ha_sync_status(const struct ha_sync *s, struct ha_sync_status *st);
const struct ha_sync_stats *ha_sync_stats(const struct ha_sync *s);

/* When ha_sync_tx may have something to send that it has not now (timers); 0: nothing. */
uint64_t ha_sync_next_deadline(const struct ha_sync *s);

#endif /* EQX_HA_SYNC_H */
