/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster: what a cluster node asks its caller (the control lcore's
 * agent) to do: install an answered record, give up on a query, react to a
 * member or view change, prepare / switch / drop a backend-set generation,
 * take this instance out of service or back.
 */
#ifndef EQX_CLUSTER_ACTION_H
#define EQX_CLUSTER_ACTION_H

#include <stdint.h>

#include "cluster/cluster_wire.h"

/*
 *   install         rec answers a query (ours: cookie is the OR of the askers'
 *                   cookies): put it in the flow table of the workers the cookie
 *                   names. member: who answered (our own id: our own store).
 *   query_failed    nobody could answer for rec's key (type and key only): keep
 *                   forwarding by the previous generation (reason says why)
 *   member_up       member (id) is alive (reason: first heartbeat, restarted)
 *   member_down     member (id) is dead (heartbeats missed)
 *   view            the live set changed; gen holds the view number
 *   gen_prepare     check that backend-set blob (blob, blob_len) makes a valid
 *                   config here as generation gen, without switching to it,
 *                   then call cluster_node_gen_prepared(gen, ok). The blob
 *                   stays valid until that call or a gen_abort of gen.
 *   gen_commit      switch the workers to generation gen (prepared before); keep
 *                   the previous one for the transition window. When the
 *                   switch fails, call cluster_node_gen_apply_failed(gen): the
 *                   node goes out of service until a later generation
 *   gen_abort       drop the prepared tables of gen (reason says why)
 *   transition_end  the window after generation gen's commit is over: drop
 *                   every older generation
 *   service_out     stop answering for the VIPs and withdraw their announcements
 *                   (reason: starting, behind, apply_failed, no_config)
 *   service_in      serve again
 */
#define foreach_cluster_action              \
	_(INSTALL, "install")               \
	_(QUERY_FAILED, "query_failed")     \
	_(MEMBER_UP, "member_up")           \
	_(MEMBER_DOWN, "member_down")       \
	_(VIEW, "view")                     \
	_(GEN_PREPARE, "gen_prepare")       \
	_(GEN_COMMIT, "gen_commit")         \
	_(GEN_ABORT, "gen_abort")           \
	_(TRANSITION_END, "transition_end") \
	_(SERVICE_OUT, "service_out")       \
	_(SERVICE_IN, "service_in")

enum cluster_action_type {
#define _(sym, str) CLUSTER_ACT_##sym,
	foreach_cluster_action
#undef _
		CLUSTER_ACT_MAX,
};

/* Why; the names are counter and log words. */
#define foreach_cluster_reason                  \
	_(NONE, "none")                         \
	_(HEARD, "heartbeat_heard")             \
	_(MISSED, "heartbeats_missed")          \
	_(RESTARTED, "restarted")               \
	_(ANSWERED, "answered")                 \
	_(LOCAL, "local_store")                 \
	_(UNKNOWN, "unknown_to_owners")         \
	_(TIMEOUT, "no_answer")                 \
	_(NO_OWNER, "no_live_owner")            \
	_(PROPOSED, "proposed_here")            \
	_(PROPOSAL, "proposed_by_peer")         \
	_(CATCH_UP, "catch_up")                 \
	_(COMMITTED, "committed")               \
	_(SUPERSEDED, "superseded")             \
	_(GEN_TIMEOUT, "not_committed_in_time") \
	_(APPLY_FAILED, "apply_failed")         \
	_(STARTING, "starting")                 \
	_(BEHIND, "behind")                     \
	_(NO_CONFIG, "no_backend_set")          \
	_(IN_STEP, "in_step")

enum cluster_reason {
#define _(sym, str) CLUSTER_REASON_##sym,
	foreach_cluster_reason
#undef _
		CLUSTER_REASON_MAX,
};

const char *cluster_action_name(int a);
const char *cluster_reason_name(int r);

struct cluster_action {
	uint8_t type;        /* enum cluster_action_type */
	uint8_t reason;      /* enum cluster_reason */
	uint16_t member;     /* MEMBER_*: the member; INSTALL: who answered */
	uint32_t gen;        /* GEN_*, TRANSITION_END: the generation; VIEW: the view */
	uint64_t cookie;     /* INSTALL, QUERY_FAILED */
	const uint8_t *blob; /* GEN_PREPARE */
	uint32_t blob_len;
	struct cluster_rec rec; /* INSTALL: the record; QUERY_FAILED: its type and key */
};

/*
 * Room for what one call can give: a datagram's answers (at most 83 items)
 * and the rest. Empty it (n = 0) before each call that fills it; what does
 * not fit is counted in dropped, a bug of the caller's or ours.
 */
#define CLUSTER_ACTIONS_MAX 128

struct cluster_actions {
	unsigned int n;
	unsigned int dropped;
	struct cluster_action a[CLUSTER_ACTIONS_MAX];
};

/* A zeroed action appended to out, or NULL (counted) when full. */
struct cluster_action *cluster_action_add(struct cluster_actions *out, uint8_t type,
					  uint8_t reason);

static inline unsigned int
cluster_actions_room(const struct cluster_actions *out)
{
	return out->n < CLUSTER_ACTIONS_MAX ? CLUSTER_ACTIONS_MAX - out->n : 0;
}

#endif /* EQX_CLUSTER_ACTION_H */
