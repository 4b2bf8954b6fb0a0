/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster: the configured members and which of them are alive: per-member
 * receive authentication state (epoch, replay window), heartbeat timing,
 * death after missed heartbeats, and the live set with its change counter.
 */
#ifndef EQX_CLUSTER_MEMBERS_H
#define EQX_CLUSTER_MEMBERS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "cluster/cluster_wire.h"

/*
 * Members are kept sorted by id: index i is the same member on every
 * instance configured with the same list, but nothing on the wire depends
 * on that (live sets travel as id lists, owners are chosen by id).
 *
 * A member is up from its first heartbeat, and down when no authenticated
 * datagram of it has arrived for dead_count of its advertised heartbeat
 * intervals. A new epoch (the member restarted) while up is reported as a
 * restart: it stays up but lost everything it held. The view counter moves
 * at every up, down and restart: the caller reacts to a new view (owners
 * move, records are rebalanced).
 */

#define foreach_cluster_member_reason   \
	_(NONE, "none")                 \
	_(HEARD, "heartbeat_heard")     \
	_(TIMEOUT, "heartbeats_missed") \
	_(RESTARTED, "restarted")

enum cluster_member_reason {
#define _(sym, str) CLUSTER_MEMBER_##sym,
	foreach_cluster_member_reason
#undef _
		CLUSTER_MEMBER_REASON_MAX,
};

const char *cluster_member_reason_name(int r);

struct cluster_member {
	uint16_t id;
	uint8_t family; /* 4 or 6: where it listens for sync */
	uint8_t addr[16];
	bool self;
	bool alive;
	uint64_t last_rx_ns; /* last authenticated datagram */
	uint64_t up_since_ns;
	struct auth_epoch seq; /* its epoch (0: never heard), retired ones, replay window */
	uint64_t tx_seq;       /* last datagram number we used toward it */
	uint64_t next_hb_ns;   /* our next heartbeat to it */
	uint32_t interval_ms;  /* its advertised heartbeat interval; 0: unknown */
	bool hb_seen;
	struct cluster_msg_hb hb; /* its last heartbeat */
	uint64_t ups, downs, restarts;
};

struct cluster_members {
	struct cluster_member m[CLUSTER_MAX_MEMBERS];
	uint16_t ids[CLUSTER_MAX_MEMBERS];
	unsigned int n;
	int self;
	uint64_t live; /* bit i: m[i] is alive (self always) */
	uint32_t view; /* bumped at every live-set change and restart */
	uint32_t hb_ms;
	uint32_t dead_count;
};

/* A change the caller must react to. */
struct cluster_member_event {
	int idx;
	bool up;        /* false: down */
	uint8_t reason; /* enum cluster_member_reason */
};

struct cluster_member_conf {
	uint16_t id; /* 1 .. 65535 */
	uint8_t family;
	uint8_t addr[16];
};

/*
 * n members (self among them), ids unique and non-zero, n <= CLUSTER_MAX_MEMBERS;
 * hb_ms 1..65535, dead_count >= 2. 0 or -EINVAL.
 */
int cluster_members_init(struct cluster_members *ms, const struct cluster_member_conf *c,
			 unsigned int n, uint16_t self_id, uint32_t hb_ms, uint32_t dead_count,
			 uint64_t now);

/* Index of member id, or -1. */
int cluster_members_find(const struct cluster_members *ms, uint16_t id);

/*
 * After the MAC: the epoch (a retired one is stale; a new one resets the
 * replay window and sets *new_epoch), then the replay window. CLUSTER_WIRE_OK,
 * CLUSTER_DROP_STALE_EPOCH, CLUSTER_DROP_REPLAYED or CLUSTER_DROP_MALFORMED
 * (epoch or number 0).
 */
int cluster_members_rx_auth(struct cluster_members *ms, int idx, const struct cluster_wire_hdr *h,
			    bool *new_epoch);

/*
 * An accepted datagram of member idx (hb: its heartbeat, else NULL; new_epoch
 * from cluster_members_rx_auth). Returns true and fills ev when the member
 * came up or restarted.
 */
bool cluster_members_heard(struct cluster_members *ms, int idx, uint64_t now,
			   const struct cluster_msg_hb *hb, bool new_epoch,
			   struct cluster_member_event *ev);

/* Members found dead at now: up to max events in ev; returns how many. */
unsigned int cluster_members_tick(struct cluster_members *ms, uint64_t now,
				  struct cluster_member_event *ev, unsigned int max);

/* Heartbeat to idx due at now? Then it is taken as sent. */
bool cluster_members_hb_due(struct cluster_members *ms, int idx, uint64_t now);

/* The dead interval of member idx in ns. */
uint64_t cluster_members_dead_ns(const struct cluster_members *ms, int idx);

/* Earliest heartbeat or death due. */
uint64_t cluster_members_next_deadline(const struct cluster_members *ms);

/* Number of live members, self included. */
static inline unsigned int
cluster_members_live_count(const struct cluster_members *ms)
{
	return (unsigned int)__builtin_popcountll(ms->live);
}

#endif /* EQX_CLUSTER_MEMBERS_H */
