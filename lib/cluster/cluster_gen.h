/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster: agreement on the backend set. Maglev gives every member the
 * same backend only if all hold the same VIPs, backends, weights and states,
 * so a change made on one member travels to all as a numbered generation
 * (an opaque blob), is prepared everywhere, and is switched to together.
 */
#ifndef EQX_CLUSTER_GEN_H
#define EQX_CLUSTER_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/cluster_action.h"
#include "cluster/cluster_wire.h"

/*
 * A generation is (number, digest of its blob); generations are ordered by
 * number, then digest bytes, the same order on every member.
 *
 * Proposing (cluster_gen_propose, on the member where the change was made):
 * the number is one more than any seen; the blob goes in chunks to every
 * live member (GEN_PROPOSE) and to ourselves as a gen_prepare action. Each
 * member reassembles it, checks its digest, has its caller prepare it
 * (gen_prepare, then cluster_gen_prepared), and answers GEN_ACK OK or FAIL;
 * missing chunks are asked for (PARTIAL with a bitmap). Once every member that
 * was live has answered, or timeout_ms has passed, the proposer commits
 * (gen_commit here, GEN_COMMIT to all, repeated until each one's heartbeat
 * shows it): members that prepared it switch; the others are behind.
 *
 * Knowing: every heartbeat carries the newest committed generation its
 * sender knows ("known") and the one it runs ("applied"). A member whose
 * applied generation is older than the known one -- it failed to apply it,
 * missed it, (re)started with an older config, or lost a conflict -- is out of
 * service (service_out: it stops answering for the VIPs and withdraws them)
 * and asks a member that has it (GEN_ACK NEED): the blob comes flagged
 * COMMITTED, and once prepared it is switched to at once: back in service.
 *
 * Conflicts: two proposals of the same number (made at the same time, or on
 * both sides of a partition) are ordered by digest: a member takes the
 * greater, answers STALE to the lesser's proposer, which aborts. If both
 * were committed (a partition), the greater wins when the members meet
 * again: the others fall behind it and catch up. This is not consensus: it
 * makes every member converge on one backend set, and keeps a member that has
 * not converged out of service instead of balancing on a stale table.
 *
 * At start a member runs its own config as generation 0 (cluster_gen_local)
 * and is out of service ("starting") until the caller says the start is over
 * (heard every member, or a dead interval passed): by then a newer committed
 * generation, if any, is known.
 */
struct cluster_gen_conf {
	uint32_t timeout_ms; /* a proposal commits without the members silent this long */
	uint32_t resend_ms;  /* chunks, acks, commits and catch-up requests repeat this often */
	uint32_t hold_ms;    /* a prepared but uncommitted generation is dropped after this */
	uint32_t blob_max;   /* largest blob, at most CLUSTER_GEN_BLOB_MAX */
};

void cluster_gen_conf_defaults(struct cluster_gen_conf *c);

struct cluster_gen_id {
	uint32_t gen;
	uint8_t digest[CLUSTER_GEN_DIGEST_LEN];
};

/* <0, 0, >0 as a is older, the same, newer than b. */
int cluster_gen_id_cmp(const struct cluster_gen_id *a, const struct cluster_gen_id *b);

struct cluster_gen_stats {
	uint64_t proposed;
	uint64_t committed; /* generations switched to here */
	uint64_t aborted;
	uint64_t superseded; /* our proposals that lost */
	uint64_t prepare_failed;
	uint64_t apply_failed; /* committed here, but the caller could not switch */
	uint64_t chunks_sent;
	uint64_t chunks_received;
	uint64_t bad_digest; /* reassembled blobs whose digest did not match */
	uint64_t stale;      /* proposals older than what we have */
	uint64_t catch_ups;  /* committed blobs fetched from a peer */
	uint64_t needs_sent;
	uint64_t needs_unserved; /* asked for a generation we do not hold */
	uint64_t conflicts;      /* a known generation of our number with another digest */
};

struct cluster_gen;

/* n members, self's index, now. NULL and errno (EINVAL, ENOMEM) on failure. */
struct cluster_gen *cluster_gen_create(const struct cluster_gen_conf *c, unsigned int n, int self,
				       uint64_t now, struct cluster_actions *out);
void cluster_gen_free(struct cluster_gen *g);

/* Our config's backend set as generation 0, at start: 0, -EINVAL, -EBUSY (too late). */
int cluster_gen_local(struct cluster_gen *g, uint64_t now, const uint8_t *blob, uint32_t len,
		      struct cluster_actions *out);
/* The start is over (see above). */
void cluster_gen_started(struct cluster_gen *g, uint64_t now, struct cluster_actions *out);

/*
 * Propose blob as the next generation to the members in live (a bit per
 * member index): its number, or -EINVAL (size), -EAGAIN (starting or behind:
 * catch up first).
 */
int64_t cluster_gen_propose(struct cluster_gen *g, uint64_t now, uint64_t live, const uint8_t *blob,
			    uint32_t len, struct cluster_actions *out);
/* The caller prepared (ok) or could not prepare generation gen: 0, -ESTALE. */
int cluster_gen_prepared(struct cluster_gen *g, uint64_t now, uint32_t gen, bool ok,
			 struct cluster_actions *out);

/*
 * The caller could not switch its tables to committed generation gen (the
 * current one): out of service (reason apply_failed) until a later one is
 * committed and switched to; nothing else changes.
 */
void cluster_gen_apply_failed(struct cluster_gen *g, uint32_t gen, struct cluster_actions *out);

/* Received (authenticated, decoded) messages of member idx. */
void cluster_gen_rx_propose(struct cluster_gen *g, uint64_t now, int idx,
			    const struct cluster_msg_gen *m, struct cluster_actions *out);
void cluster_gen_rx_ack(struct cluster_gen *g, uint64_t now, int idx,
			const struct cluster_msg_gen *m, struct cluster_actions *out);
void cluster_gen_rx_commit(struct cluster_gen *g, uint64_t now, int idx,
			   const struct cluster_msg_gen *m, struct cluster_actions *out);
void cluster_gen_rx_hb(struct cluster_gen *g, uint64_t now, int idx,
		       const struct cluster_msg_hb *hb, struct cluster_actions *out);

void cluster_gen_member_down(struct cluster_gen *g, uint64_t now, int idx,
			     struct cluster_actions *out);
/* A member (re)started: what we were sending it is void. */
void cluster_gen_member_reset(struct cluster_gen *g, int idx);

void cluster_gen_tick(struct cluster_gen *g, uint64_t now, struct cluster_actions *out);
uint64_t cluster_gen_next_deadline(const struct cluster_gen *g);

/*
 * The next GEN_* payload for member idx, into p (cap bytes): its length, the
 * datagram type in *type; 0 when nothing is due.
 */
size_t cluster_gen_tx(struct cluster_gen *g, uint64_t now, int idx, uint8_t *p, size_t cap,
		      uint8_t *type);
bool cluster_gen_tx_due(const struct cluster_gen *g, uint64_t now, int idx);

/* For our heartbeat and for telemetry. */
void cluster_gen_hb_fields(const struct cluster_gen *g, struct cluster_msg_hb *hb);
bool cluster_gen_in_service(const struct cluster_gen *g);
uint8_t cluster_gen_service_reason(const struct cluster_gen *g);
const struct cluster_gen_id *cluster_gen_applied(const struct cluster_gen *g);
const struct cluster_gen_id *cluster_gen_known(const struct cluster_gen *g);
/* The blob of the applied generation (NULL before cluster_gen_local). */
const uint8_t *cluster_gen_applied_blob(const struct cluster_gen *g, uint32_t *len);
/* A proposal of ours is under way (its number), or 0. */
uint32_t cluster_gen_proposing(const struct cluster_gen *g);
const struct cluster_gen_stats *cluster_gen_stats(const struct cluster_gen *g);

#endif /* EQX_CLUSTER_GEN_H */
