/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster: one instance of the distributed mode, as the control lcore's
 * agent drives it: sync datagrams in, datagrams and actions out, the time
 * passed in. It joins membership, flow ownership, the record store, the
 * reliable push stream, owner queries and the backend-set agreement.
 */
#ifndef EQX_CLUSTER_H
#define EQX_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/cluster_action.h"
#include "cluster/cluster_gen.h"
#include "cluster/cluster_members.h"
#include "cluster/cluster_owner.h"
#include "cluster/cluster_store.h"
#include "cluster/cluster_sync.h"
#include "cluster/cluster_wire.h"

/*
 * How the caller drives it (no threads, no I/O here; now is a monotonic ns
 * clock, the same in every call; acts.n = 0 before each call that fills it):
 *
 *   n = cluster_node_create(&conf, now, &acts)
 *   cluster_node_gen_local(n, now, blob, len, &acts)    our config's backend set
 *   loop:
 *     each sync datagram received:    cluster_node_rx(n, now, buf, len, &acts)
 *     each worker event "record":     cluster_node_push(n, now, &rec)
 *     each worker event "query":      cluster_node_query(n, now, rtype, &key, cookie, &acts)
 *     a config reload / equinoxctl:   cluster_node_gen_propose(n, now, blob, len, &acts)
 *     when now >= cluster_node_next_deadline(n): cluster_node_tick(n, now, &acts)
 *     apply acts in order (cluster_action.h): installs to the workers' rings,
 *       gen_prepare -> build, then cluster_node_gen_prepared(n, now, gen, ok, &acts)
 *     while ((len = cluster_node_tx(n, now, buf, sizeof(buf), &to)) > 0):
 *       send buf to member `to` (cluster_node_member_addr) on cluster.sync_port
 */
struct cluster_conf {
	uint16_t self_id;       /* cfg instance.id */
	unsigned int n_members; /* cfg cluster.members, self included */
	struct cluster_member_conf members[CLUSTER_MAX_MEMBERS];
	uint8_t key[CLUSTER_WIRE_KEY_LEN]; /* cfg cluster.key */
	uint64_t epoch;                    /* random and not 0, new at every process start */
	uint32_t heartbeat_ms;             /* default 50 */
	uint32_t dead_count; /* heartbeats missed before a member is dead: default 4 */
	uint32_t mtu; /* largest datagram sent: 1116 (a generation chunk) .. CLUSTER_WIRE_MAX */
	uint32_t store_capacity; /* records held for the cluster, default 1 << 18 (96 B each) */
	uint32_t transition_ms;  /* previous generation kept after a commit, default 60000 */
	uint32_t scan_slots;     /* store positions rebalanced per tick, default 4096 */
	uint32_t expire_slots;   /* store positions aged per tick, default 1024 */
	struct cluster_sync_conf sync;
	struct cluster_gen_conf gen;
};

/* Every default; the caller sets self_id, members, key and epoch. */
void cluster_conf_defaults(struct cluster_conf *c);

struct cluster_node_stats {
	uint64_t rx[CLUSTER_MSG_MAX];     /* accepted datagrams by type */
	uint64_t tx[CLUSTER_MSG_MAX];     /* datagrams sent by type */
	uint64_t drops[CLUSTER_DROP_MAX]; /* [0]: accepted */
	uint64_t pushes;                  /* cluster_node_push calls */
	uint64_t push_copies;             /* copies queued to a peer */
	uint64_t push_local;              /* copies kept here (we own or replicate it) */
	uint64_t push_overflows;          /* copies refused: the peer's queue was full */
	uint64_t records_stored;          /* pushed records received and stored */
	uint64_t store_full;
	uint64_t queries_local;  /* answered from our own store */
	uint64_t queries_served; /* keys asked of us */
	uint64_t answers_found;
	uint64_t answers_unknown;
	uint64_t answers_dropped; /* answer queue full */
	uint64_t installs;
	uint64_t query_failed;
	uint64_t rx_rate_limited; /* records */
	uint64_t tx_rate_limited; /* times a peer had work but no tokens */
	uint64_t scans;           /* rebalancing scans started */
	uint64_t scans_done;
	uint64_t bulk_sent; /* records sent by rebalancing */
	uint64_t bulk_received;
	uint64_t bulks_begun; /* BULK_BEGIN received */
	uint64_t bulks_done;  /* BULK_END received with a matching count */
	uint64_t bulks_short; /* BULK_END whose count did not match */
	uint64_t actions_dropped;
};

struct cluster_node;

/* NULL and errno (EINVAL, ENOMEM) on failure; the first actions go to out. */
struct cluster_node *cluster_node_create(const struct cluster_conf *c, uint64_t now,
					 struct cluster_actions *out);
void cluster_node_free(struct cluster_node *n);

/* Every record delivered by a peer's push stream, in order (tests, telemetry): optional. */
void cluster_node_set_deliver(struct cluster_node *n,
			      void (*fn)(void *arg, uint16_t from, uint64_t seq,
					 const struct cluster_item *it),
			      void *arg);

/* Our config's backend set, as generation 0 (see cluster_gen.h): 0 or -errno. */
int cluster_node_gen_local(struct cluster_node *n, uint64_t now, const uint8_t *blob, uint32_t len,
			   struct cluster_actions *out);
/* The tables of committed generation gen could not be switched to (cluster_gen_apply_failed). */
void cluster_node_gen_apply_failed(struct cluster_node *n, uint32_t gen,
				   struct cluster_actions *out);
/* A change of the backend set: its generation number, or -errno (cluster_gen_propose). */
int64_t cluster_node_gen_propose(struct cluster_node *n, uint64_t now, const uint8_t *blob,
				 uint32_t len, struct cluster_actions *out);
/* The answer to a gen_prepare action: 0 or -ESTALE. */
int cluster_node_gen_prepared(struct cluster_node *n, uint64_t now, uint32_t gen, bool ok,
			      struct cluster_actions *out);

/*
 * A sync datagram (the UDP payload): CLUSTER_WIRE_OK, or the enum
 * cluster_drop it was dropped for (counted in stats.drops).
 */
int cluster_node_rx(struct cluster_node *n, uint64_t now, const uint8_t *buf, size_t len,
		    struct cluster_actions *out);

/*
 * The next datagram to send, in buf (cap: CLUSTER_WIRE_MAX, or at least the
 * mtu): its length and its destination member id in *to, or 0 when there is
 * nothing to send now.
 */
int cluster_node_tx(struct cluster_node *n, uint64_t now, uint8_t *buf, size_t cap, uint16_t *to);

void cluster_node_tick(struct cluster_node *n, uint64_t now, struct cluster_actions *out);
/* When to tick next (and drain cluster_node_tx). */
uint64_t cluster_node_next_deadline(const struct cluster_node *n);

/*
 * Record a flow or affinity entry with its owner and second replica (kept
 * here when that is us, queued to the peer otherwise). lifetime_ms 0 says
 * the flow ended. 0 when at least one copy was kept or queued, -ENOBUFS
 * when none, -EINVAL for a record that cannot be encoded.
 */
int cluster_node_push(struct cluster_node *n, uint64_t now, const struct cluster_rec *r);

/*
 * Ask the owners which backend (rtype, k) has: answered at once from our
 * own store when we own or replicate it (an install action in out), else
 * sent to the owner, then the second replica. cookie is the caller's (say,
 * the bit of the asking worker): askers of one key share one query, and the
 * outcome carries the OR of their cookies. 0 (answered or asked), -EALREADY
 * (already asked: cookie added), -ENOBUFS (too many pending), -EINVAL.
 */
int cluster_node_query(struct cluster_node *n, uint64_t now, uint8_t rtype,
		       const struct flow_key *k, uint64_t cookie, struct cluster_actions *out);

/* Owner and second replica member ids of (rtype, k) over the live set (0: none). */
void cluster_node_owner(const struct cluster_node *n, uint8_t rtype, const struct flow_key *k,
			uint16_t *owner, uint16_t *replica);

/* A backend-set generation was committed less than transition_ms ago. */
bool cluster_node_in_transition(const struct cluster_node *n, uint64_t now);
bool cluster_node_in_service(const struct cluster_node *n);

/* Where member id listens: its family (4, 6) and address; 0 or -ENOENT. */
int cluster_node_member_addr(const struct cluster_node *n, uint16_t id, uint8_t *family,
			     uint8_t addr[16]);

/* For telemetry: read only. */
const struct cluster_members *cluster_node_members(const struct cluster_node *n);
const struct cluster_node_stats *cluster_node_stats(const struct cluster_node *n);
struct cluster_store *cluster_node_store(const struct cluster_node *n);
struct cluster_gen *cluster_node_gen(const struct cluster_node *n);
struct cluster_queries *cluster_node_queries(const struct cluster_node *n);
/* The push stream with member id, or NULL. */
struct cluster_stream *cluster_node_stream(const struct cluster_node *n, uint16_t id);

#endif /* EQX_CLUSTER_H */
