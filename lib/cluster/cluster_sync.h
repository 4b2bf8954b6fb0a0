/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster: moving records between members: the reliable push stream of
 * each pair (bounded queue, selective acks, resends, in-order delivery),
 * token buckets, the pending owner queries with bounded retries, and the
 * queue of answers owed to each peer.
 */
#ifndef EQX_CLUSTER_SYNC_H
#define EQX_CLUSTER_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/cluster_wire.h"

struct cluster_sync_conf {
	uint32_t queue;        /* push-stream records held per peer, a power of two */
	uint32_t window;       /* records in flight, and the receiver's reorder window (a power
				* of two, the same on every member) */
	uint32_t bulk_reserve; /* queue slots a bulk transfer leaves to live pushes */
	uint32_t rto_initial_ms;
	uint32_t rto_min_ms;
	uint32_t rto_max_ms;
	uint32_t ack_delay_ms;     /* an ack waits at most this long for a datagram to ride on */
	uint32_t ack_every;        /* ...or this many push datagrams */
	uint32_t query_timeout_ms; /* an unanswered query is sent again after this */
	uint32_t query_tries;      /* sends to one member before asking the next (or failing) */
	uint32_t query_max;        /* pending queries, at most */
	uint32_t answer_queue;     /* answers owed per peer, at most */
	/* Token buckets per peer, 0 = unlimited; the burst is what one bucket holds. */
	uint32_t peer_records_per_s; /* records sent (push, bulk, query, answer) */
	uint32_t peer_records_burst;
	uint32_t peer_datagrams_per_s; /* datagrams sent but heartbeats and acks */
	uint32_t peer_datagrams_burst;
	uint32_t bulk_records_per_s; /* of which bulk (rebalancing) records */
	uint32_t rx_records_per_s;   /* pushed records accepted from one peer */
	uint32_t rx_records_burst;
};

void cluster_sync_conf_defaults(struct cluster_sync_conf *c);
/* 0 or -EINVAL. */
int cluster_sync_conf_check(const struct cluster_sync_conf *c);

/*
 * A token bucket without floating point: tokens are kept in units of 1/10^9
 * so that a refill is elapsed_ns * rate. rate 0: unlimited.
 */
struct cluster_bucket {
	uint64_t rate;  /* per second */
	uint64_t burst; /* tokens, at most */
	uint64_t nano;  /* tokens * 10^9 */
	uint64_t last_ns;
};

void cluster_bucket_init(struct cluster_bucket *b, uint64_t rate, uint64_t burst, uint64_t now);
/* Tokens available now (UINT32_MAX when unlimited). */
uint32_t cluster_bucket_avail(struct cluster_bucket *b, uint64_t now);
void cluster_bucket_take(struct cluster_bucket *b, uint32_t n);
/* When at least n tokens will be there (now when they are). */
uint64_t cluster_bucket_when(const struct cluster_bucket *b, uint64_t now, uint32_t n);

/*
 * The push stream between us and one peer: our records to it (tx) and its
 * records to us (rx). Records are numbered from 1 per stream id; the stream
 * id changes when the sender starts over (its peer restarted: what was
 * queued was for a store that is gone). The receiver holds out-of-order
 * records in a window of `window` numbers and delivers in order, each
 * exactly once; it acknowledges cumulatively in every datagram's header and
 * lists what it holds beyond a hole in ACK datagrams. The sender resends a
 * record when a record sent after it was acknowledged (RACK-like) or when its
 * retransmission timer (RFC 6298, bounded, doubled on expiry) runs out.
 */
struct cluster_stream_stats {
	uint64_t pushed;    /* records queued */
	uint64_t overflows; /* records refused: queue full */
	uint64_t sent;
	uint64_t resent;
	uint64_t datagrams;
	uint64_t acks_sent;
	uint64_t rto_expiries;
	uint64_t bad_acks;
	uint64_t resets; /* tx stream started over */
	uint64_t delivered;
	uint64_t rx_duplicates;
	uint64_t rx_beyond_window;
	uint64_t rx_lost;   /* numbers the sender skipped (tx low moved past them) */
	uint64_t rx_resets; /* a new stream id from the peer */
};

typedef void (*cluster_deliver_fn)(void *arg, uint64_t seq, const struct cluster_item *it);

struct cluster_stream;

/* NULL + errno on failure. id_seed: any value unique to (us, peer, epoch). */
struct cluster_stream *cluster_stream_create(const struct cluster_sync_conf *c, uint64_t id_seed,
					     uint64_t now);
void cluster_stream_free(struct cluster_stream *s);

/* Queue one encoded item (len bytes) if more than `reserve` slots stay free: 0 or -ENOBUFS. */
int cluster_stream_push(struct cluster_stream *s, const uint8_t *item, size_t len,
			uint32_t reserve);
/* Free queue slots. */
uint32_t cluster_stream_room(const struct cluster_stream *s);
/* Records queued and not yet acknowledged. */
uint32_t cluster_stream_backlog(const struct cluster_stream *s);

/* The peer restarted: drop what is queued, start a new stream id. */
void cluster_stream_reset_tx(struct cluster_stream *s, uint64_t now);

/* The ack fields of a datagram from the peer (every type). */
void cluster_stream_rx_ackhdr(struct cluster_stream *s, uint64_t now, uint64_t ack_stream,
			      uint64_t ack);
/*
 * An ACK datagram's ranges (after its header's fields), for stream ack_stream:
 * another stream's (ours before a reset) are ignored, as their numbers are not ours.
 */
void cluster_stream_rx_sack(struct cluster_stream *s, uint64_t now, uint64_t ack_stream,
			    const struct cluster_sack *r, unsigned int n);

/*
 * A PUSH from the peer (decoded, every item checked): records delivered in
 * order through fn. Returns the number delivered.
 */
unsigned int cluster_stream_rx_push(struct cluster_stream *s, uint64_t now,
				    const struct cluster_msg_push *m, uint8_t count,
				    cluster_deliver_fn fn, void *arg);

/* The ack fields for the header of any datagram to the peer (counts as an ack sent). */
void cluster_stream_ackhdr(struct cluster_stream *s, uint64_t *ack_stream, uint64_t *ack);

/* An ACK datagram is due now (a hole to report, or an ack that waited long enough). */
bool cluster_stream_ack_due(const struct cluster_stream *s, uint64_t now);
/* The ranges held beyond the cumulative ack, at most max; returns how many. */
unsigned int cluster_stream_sack(const struct cluster_stream *s, struct cluster_sack *r,
				 unsigned int max);

/*
 * Build a PUSH body into p (cap bytes): resends first, then new records
 * inside the window, at most max_items. Returns the body length (0: nothing
 * to send) and the item count in *count.
 */
size_t cluster_stream_tx(struct cluster_stream *s, uint64_t now, uint8_t *p, size_t cap,
			 uint32_t max_items, uint8_t *count);
/* Something to send (resend or new record in the window)? */
bool cluster_stream_tx_ready(const struct cluster_stream *s);
/* Timers: resends. */
void cluster_stream_tick(struct cluster_stream *s, uint64_t now);
uint64_t cluster_stream_next_deadline(const struct cluster_stream *s);

const struct cluster_stream_stats *cluster_stream_stats(const struct cluster_stream *s);
uint64_t cluster_stream_rto_ns(const struct cluster_stream *s);

/*
 * Pending owner queries, keyed by (rtype, key). A query is sent to its
 * target (the owner); it is sent again every query_timeout_ms, query_tries
 * times, then to the alternate (the second replica) the same way, then it
 * fails. An UNKNOWN answer from the owner also moves it to the alternate.
 * The cookies of every asker are OR'ed and returned with the outcome.
 */
#define foreach_cluster_query_outcome \
	_(ANSWERED, "answered")       \
	_(UNKNOWN, "unknown")         \
	_(TIMEOUT, "timeout")         \
	_(NO_OWNER, "no_owner")

enum cluster_query_outcome {
#define _(sym, str) CLUSTER_QUERY_##sym,
	foreach_cluster_query_outcome
#undef _
		CLUSTER_QUERY_OUTCOME_MAX,
};

const char *cluster_query_outcome_name(int o);

struct cluster_query {
	uint8_t rtype;
	uint8_t tries; /* sends to the current target */
	bool on_alt;   /* the current target is the alternate */
	bool due;      /* to be sent at the next chance */
	int target;    /* member index */
	int alt;       /* member index, or -1 */
	struct flow_key key;
	uint64_t cookie;
	uint64_t started_ns;
	uint64_t sent_ns;
};

struct cluster_query_stats {
	uint64_t started;
	uint64_t coalesced; /* a second ask for a pending key */
	uint64_t full;      /* refused: query_max pending */
	uint64_t sent;
	uint64_t retries;
	uint64_t fallbacks; /* moved to the alternate */
	uint64_t outcomes[CLUSTER_QUERY_OUTCOME_MAX];
	uint64_t late_answers; /* answers for no pending query */
	uint64_t rtt_ns_sum;   /* answered queries: ask to answer, summed */
	uint64_t rtt_ns_max;
};

struct cluster_queries;

struct cluster_queries *cluster_queries_create(const struct cluster_sync_conf *c);
void cluster_queries_free(struct cluster_queries *q);

/* 0 (new), -EALREADY (pending: cookie added), -ENOBUFS. */
int cluster_queries_add(struct cluster_queries *q, uint64_t now, uint8_t rtype,
			const struct flow_key *k, int target, int alt, uint64_t cookie);
/* The pending query for (rtype, k), or NULL. */
struct cluster_query *cluster_queries_find(struct cluster_queries *q, uint8_t rtype,
					   const struct flow_key *k);
/* Remove a pending query (answered, failed); its cookie is returned. */
uint64_t cluster_queries_remove(struct cluster_queries *q, struct cluster_query *e);
/* Send it to its alternate next: false when there is none left. */
bool cluster_queries_fallback(struct cluster_queries *q, struct cluster_query *e, uint64_t now);

/*
 * Up to max queries due to member idx, marked sent at now, into out[].
 * Returns how many.
 */
unsigned int cluster_queries_take(struct cluster_queries *q, int idx, uint64_t now,
				  struct cluster_query **out, unsigned int max);
/* Anything due to member idx? */
bool cluster_queries_due(const struct cluster_queries *q, int idx);

/*
 * Timeouts at now: queries whose last send is query_timeout_ms old are due
 * again, or fall back, or fail: the failed ones (at most max) are copied to
 * out and removed. Returns how many failed.
 */
unsigned int cluster_queries_tick(struct cluster_queries *q, uint64_t now,
				  struct cluster_query *out, unsigned int max);
/* A member went down: its queries move to their alternate (or fail at the next tick). */
void cluster_queries_member_down(struct cluster_queries *q, int idx, uint64_t now);
uint64_t cluster_queries_next_deadline(const struct cluster_queries *q);
uint32_t cluster_queries_count(const struct cluster_queries *q);
struct cluster_query_stats *cluster_queries_stats(struct cluster_queries *q);

/* Answers owed to one peer: encoded items (FLOW, AFFINITY or UNKNOWN) in a ring. */
struct cluster_answers {
	uint8_t (*item)[CLUSTER_ITEM_MAX];
	uint32_t cap;
	uint32_t head, n;
	uint64_t dropped; /* queue full: the asker will ask again */
};

int cluster_answers_init(struct cluster_answers *a, uint32_t cap);
void cluster_answers_fini(struct cluster_answers *a);
/* 0 or -ENOBUFS. */
int cluster_answers_add(struct cluster_answers *a, const uint8_t *item, size_t len);
/* Move whole items into p (cap bytes), at most max: bytes written, *count items. */
size_t cluster_answers_take(struct cluster_answers *a, uint8_t *p, size_t cap, uint32_t max,
			    uint8_t *count);

#endif /* EQX_CLUSTER_SYNC_H */
