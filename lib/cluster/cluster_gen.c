/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_gen.h"

#define NS_PER_MS 1000000ULL
#define BITMAP_BYTES (CLUSTER_GEN_BLOB_MAX / CLUSTER_GEN_CHUNK / 8)

/* The generation being received or prepared here (a peer's proposal, ours, or a catch-up). */
enum inc_state {
	INC_NONE,
	INC_RECEIVING,
	INC_PREPARING, /* gen_prepare given, cluster_gen_prepared awaited */
	INC_PREPARED,
	INC_FAILED,
};

enum tx_src {
	SRC_INC, /* our proposal */
	SRC_CUR, /* the applied generation, to a member catching up */
};

struct gen_peer {
	/* Chunks to send it. */
	uint8_t want[BITMAP_BYTES];
	uint32_t n_want;
	uint32_t next_chunk;
	uint8_t src;
	bool committed;
	struct cluster_gen_id tx_id;
	uint64_t probe_at; /* our proposal: chunk 0 again then, while it has not answered */
	/* A GEN_ACK owed to it. */
	bool ack_due;
	uint8_t ack_status;
	struct cluster_gen_id ack_id;
	/* A GEN_COMMIT to repeat until its heartbeat knows it. */
	bool commit_due;
	struct cluster_gen_id commit_id;
	uint64_t commit_at;
	uint64_t commit_until;
	/* Its last heartbeat's known generation. */
	struct cluster_gen_id known;
	bool known_set;
};

struct cluster_gen {
	struct cluster_gen_conf c;
	unsigned int n;
	int self;

	/* Applied: what our workers run (committed, or our config's generation 0). */
	struct cluster_gen_id cur;
	uint8_t *cur_blob;
	uint32_t cur_len;
	bool cur_set;
	/* The newest committed generation we know of, and a member that has it. */
	struct cluster_gen_id known;
	int known_from;
	bool adopted; /* starting: known was taken from a running member */
	uint32_t max_seen;

	struct {
		enum inc_state state;
		struct cluster_gen_id id;
		int from; /* member index; self for our proposal */
		bool committed;
		uint32_t total;
		uint8_t *buf;
		uint8_t have[BITMAP_BYTES];
		uint32_t n_have;
		uint64_t last_ns; /* last progress */
		uint64_t ask_at;  /* next PARTIAL / NEED */
	} inc;

	struct {
		bool active;
		struct cluster_gen_id id;
		uint64_t targets, ok, fail;
		uint64_t deadline;
	} prop;

	uint64_t need_at; /* next NEED while behind */
	bool starting;
	bool in_service;
	bool apply_failed; /* the caller could not switch to cur: out of service until the next */
	uint8_t reason;
	struct gen_peer peer[CLUSTER_MAX_MEMBERS];
	struct cluster_gen_stats st;
};

void
cluster_gen_conf_defaults(struct cluster_gen_conf *c)
{
	c->timeout_ms = 1000;
	c->resend_ms = 20;
	c->hold_ms = 5000;
	c->blob_max = CLUSTER_GEN_BLOB_MAX;
}

int
cluster_gen_id_cmp(const struct cluster_gen_id *a, const struct cluster_gen_id *b)
{
	if (a->gen != b->gen)
		return a->gen < b->gen ? -1 : 1;
	return memcmp(a->digest, b->digest, CLUSTER_GEN_DIGEST_LEN);
}

static bool
id_eq(const struct cluster_gen_id *a, const struct cluster_gen_id *b)
{
	return cluster_gen_id_cmp(a, b) == 0;
}

static void
act(struct cluster_actions *out, uint8_t type, uint8_t reason, uint32_t gen)
{
	struct cluster_action *a = cluster_action_add(out, type, reason);

	if (a != NULL)
		a->gen = gen;
}

struct cluster_gen *
cluster_gen_create(const struct cluster_gen_conf *c, unsigned int n, int self, uint64_t now,
		   struct cluster_actions *out)
{
	struct cluster_gen *g;

	if (n == 0 || n > CLUSTER_MAX_MEMBERS || self < 0 || (unsigned int)self >= n ||
	    c->timeout_ms == 0 || c->resend_ms == 0 || c->hold_ms == 0 || c->blob_max == 0 ||
	    c->blob_max > CLUSTER_GEN_BLOB_MAX) {
		errno = EINVAL;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->cur_blob = malloc(c->blob_max);
	g->inc.buf = malloc(c->blob_max);
	if (g->cur_blob == NULL || g->inc.buf == NULL) {
		cluster_gen_free(g);
		errno = ENOMEM;
		return NULL;
	}
	g->c = *c;
	g->n = n;
	g->self = self;
	g->known_from = -1;
	g->starting = true;
	g->reason = CLUSTER_REASON_STARTING;
	act(out, CLUSTER_ACT_SERVICE_OUT, CLUSTER_REASON_STARTING, 0);
	(void)now;
	return g;
}

void
cluster_gen_free(struct cluster_gen *g)
{
	if (g == NULL)
		return;
	free(g->cur_blob);
	free(g->inc.buf);
	free(g);
}

/* In service when running the newest generation known, the start over. */
static void
evaluate(struct cluster_gen *g, struct cluster_actions *out)
{
	uint8_t reason;
	bool in;

	if (g->starting)
		reason = CLUSTER_REASON_STARTING;
	else if (!g->cur_set)
		reason = CLUSTER_REASON_NO_CONFIG;
	else if (g->apply_failed)
		reason = CLUSTER_REASON_APPLY_FAILED;
	else if (!id_eq(&g->cur, &g->known))
		reason = g->inc.state == INC_FAILED && id_eq(&g->inc.id, &g->known)
				 ? CLUSTER_REASON_APPLY_FAILED
				 : CLUSTER_REASON_BEHIND;
	else
		reason = CLUSTER_REASON_IN_STEP;
	in = reason == CLUSTER_REASON_IN_STEP;
	if (in == g->in_service && (in || reason == g->reason))
		return;
	g->in_service = in;
	g->reason = reason;
	act(out, in ? CLUSTER_ACT_SERVICE_IN : CLUSTER_ACT_SERVICE_OUT, reason, g->cur.gen);
}

static void
see(struct cluster_gen *g, uint32_t gen)
{
	if (gen > g->max_seen)
		g->max_seen = gen;
}

/*
 * A committed generation heard of from a running member idx. While we start,
 * the first one heard replaces our own config's, even if older: a member that
 * joins takes what the cluster runs. After that, only a newer one counts.
 */
static void
learn(struct cluster_gen *g, const struct cluster_gen_id *id, int idx)
{
	see(g, id->gen);
	if (g->starting && !g->adopted) {
		g->adopted = true;
		g->known = *id;
		g->known_from = idx;
		return;
	}
	if (cluster_gen_id_cmp(id, &g->known) > 0) {
		if (id->gen == g->known.gen)
			g->st.conflicts++;
		g->known = *id;
		g->known_from = idx;
	}
}

int
cluster_gen_local(struct cluster_gen *g, uint64_t now, const uint8_t *blob, uint32_t len,
		  struct cluster_actions *out)
{
	struct cluster_gen_id id;

	if (len == 0 || len > g->c.blob_max)
		return -EINVAL;
	if (!g->starting)
		return -EBUSY;
	memset(&id, 0, sizeof(id));
	cluster_gen_digest(blob, len, id.digest);
	memcpy(g->cur_blob, blob, len);
	g->cur_len = len;
	g->cur = id;
	g->cur_set = true;
	if (!g->adopted) {
		g->known = id;
		g->known_from = g->self;
	}
	evaluate(g, out);
	(void)now;
	return 0;
}

void
cluster_gen_started(struct cluster_gen *g, uint64_t now, struct cluster_actions *out)
{
	if (!g->starting)
		return;
	g->starting = false;
	g->need_at = now;
	evaluate(g, out);
}

static void
peer_stop_chunks(struct gen_peer *p)
{
	memset(p->want, 0, sizeof(p->want));
	p->n_want = 0;
	p->next_chunk = 0;
	p->probe_at = 0;
}

static void
peer_want_missing(struct gen_peer *p, uint32_t chunks, const uint8_t *have, uint32_t have_bits)
{
	uint32_t i;

	peer_stop_chunks(p);
	for (i = 0; i < chunks; i++) {
		if (i < have_bits && (have[i / 8] >> (i % 8) & 1))
			continue;
		p->want[i / 8] |= (uint8_t)(1u << (i % 8));
		p->n_want++;
	}
}

/* Our proposal is over (committed or not): stop sending it. */
static void
prop_end(struct cluster_gen *g)
{
	unsigned int i;

	for (i = 0; i < g->n; i++)
		if (g->peer[i].src == SRC_INC)
			peer_stop_chunks(&g->peer[i]);
	g->prop.active = false;
}

/* Forget the incoming generation; tell the caller to drop it if it was given one. */
static void
inc_drop(struct cluster_gen *g, uint8_t reason, struct cluster_actions *out)
{
	if (g->inc.state == INC_PREPARING || g->inc.state == INC_PREPARED) {
		act(out, CLUSTER_ACT_GEN_ABORT, reason, g->inc.id.gen);
		g->st.aborted++;
	}
	if (g->prop.active && id_eq(&g->prop.id, &g->inc.id)) {
		if (reason == CLUSTER_REASON_SUPERSEDED)
			g->st.superseded++;
		prop_end(g);
	}
	g->inc.state = INC_NONE;
	g->inc.n_have = 0;
}

static void
inc_start(struct cluster_gen *g, uint64_t now, const struct cluster_gen_id *id, int from,
	  bool committed, uint32_t total)
{
	g->inc.state = INC_RECEIVING;
	g->inc.id = *id;
	g->inc.from = from;
	g->inc.committed = committed;
	g->inc.total = total;
	memset(g->inc.have, 0, sizeof(g->inc.have));
	g->inc.n_have = 0;
	g->inc.last_ns = now;
	g->inc.ask_at = now + (uint64_t)g->c.resend_ms * NS_PER_MS;
}

/* Switch to the incoming generation (prepared): the caller switches too. */
static void
commit_inc(struct cluster_gen *g, uint64_t now, uint8_t reason, struct cluster_actions *out)
{
	uint8_t *b = g->cur_blob;

	g->cur_blob = g->inc.buf;
	g->inc.buf = b;
	g->cur_len = g->inc.total;
	g->cur = g->inc.id;
	g->cur_set = true;
	g->apply_failed = false;
	g->inc.state = INC_NONE;
	if (cluster_gen_id_cmp(&g->cur, &g->known) > 0) {
		g->known = g->cur;
		g->known_from = g->self;
	}
	g->st.committed++;
	act(out, CLUSTER_ACT_GEN_COMMIT, reason, g->cur.gen);
	evaluate(g, out);
	(void)now;
}

int64_t
cluster_gen_propose(struct cluster_gen *g, uint64_t now, uint64_t live, const uint8_t *blob,
		    uint32_t len, struct cluster_actions *out)
{
	struct cluster_gen_id id;
	uint32_t chunks = cluster_gen_chunks(len);
	unsigned int i;
	struct cluster_action *a;

	if (len == 0 || len > g->c.blob_max)
		return -EINVAL;
	if (!g->in_service)
		return -EAGAIN;
	memset(&id, 0, sizeof(id));
	see(g, g->cur.gen);
	see(g, g->known.gen);
	see(g, g->inc.state != INC_NONE ? g->inc.id.gen : 0);
	id.gen = g->max_seen + 1;
	cluster_gen_digest(blob, len, id.digest);
	if (g->inc.state != INC_NONE)
		inc_drop(g, CLUSTER_REASON_SUPERSEDED, out);
	g->max_seen = id.gen;
	inc_start(g, now, &id, g->self, false, len);
	memcpy(g->inc.buf, blob, len);
	memset(g->inc.have, 0xff, sizeof(g->inc.have));
	g->inc.n_have = chunks;
	g->inc.state = INC_PREPARING;
	g->prop.active = true;
	g->prop.id = id;
	g->prop.targets = live & ~(1ULL << g->self);
	g->prop.ok = g->prop.fail = 0;
	g->prop.deadline = now + (uint64_t)g->c.timeout_ms * NS_PER_MS;
	for (i = 0; i < g->n; i++) {
		struct gen_peer *p = &g->peer[i];

		if (!(g->prop.targets >> i & 1))
			continue;
		peer_want_missing(p, chunks, NULL, 0);
		p->src = SRC_INC;
		p->committed = false;
		p->tx_id = id;
		p->probe_at = now + 2 * (uint64_t)g->c.resend_ms * NS_PER_MS;
	}
	g->st.proposed++;
	a = cluster_action_add(out, CLUSTER_ACT_GEN_PREPARE, CLUSTER_REASON_PROPOSED);
	if (a != NULL) {
		a->gen = id.gen;
		a->blob = g->inc.buf;
		a->blob_len = len;
	}
	return id.gen;
}

/* Commit our proposal once every target answered (or the time is up), ourselves prepared. */
static void
check_commit(struct cluster_gen *g, uint64_t now, struct cluster_actions *out)
{
	uint64_t answered;
	unsigned int i;

	if (!g->prop.active || g->inc.state != INC_PREPARED || !id_eq(&g->inc.id, &g->prop.id))
		return;
	answered = g->prop.ok | g->prop.fail;
	if ((g->prop.targets & ~answered) != 0 && now < g->prop.deadline)
		return;
	/* To the members that were asked and are still up; the others learn it from heartbeats. */
	for (i = 0; i < g->n; i++) {
		struct gen_peer *p = &g->peer[i];

		if (!(g->prop.targets >> i & 1))
			continue;
		p->commit_due = true;
		p->commit_id = g->prop.id;
		p->commit_at = now;
		p->commit_until = now + (uint64_t)g->c.timeout_ms * NS_PER_MS;
	}
	prop_end(g);
	commit_inc(g, now, CLUSTER_REASON_COMMITTED, out);
}

void
cluster_gen_apply_failed(struct cluster_gen *g, uint32_t gen, struct cluster_actions *out)
{
	if (!g->cur_set || g->cur.gen != gen)
		return;
	g->apply_failed = true;
	g->st.apply_failed++;
	evaluate(g, out);
}

int
cluster_gen_prepared(struct cluster_gen *g, uint64_t now, uint32_t gen, bool ok,
		     struct cluster_actions *out)
{
	struct gen_peer *p;

	if (g->inc.state != INC_PREPARING || g->inc.id.gen != gen)
		return -ESTALE;
	g->inc.state = ok ? INC_PREPARED : INC_FAILED;
	g->inc.last_ns = now;
	if (!ok)
		g->st.prepare_failed++;
	if (g->inc.from == g->self) {
		if (!ok) {
			/* We cannot run our own proposal: nobody switches to it. */
			act(out, CLUSTER_ACT_GEN_ABORT, CLUSTER_REASON_APPLY_FAILED, gen);
			g->st.aborted++;
			prop_end(g);
			g->inc.state = INC_NONE;
		} else {
			check_commit(g, now, out);
		}
	} else if (g->inc.committed || id_eq(&g->inc.id, &g->known)) {
		/* Already committed elsewhere (a catch-up, or we heard of the commit). */
		if (ok)
			commit_inc(g, now, CLUSTER_REASON_CATCH_UP, out);
	} else if (cluster_gen_id_cmp(&g->inc.id, &g->known) < 0) {
		/* A newer one was committed meanwhile: this one will never be. */
		inc_drop(g, CLUSTER_REASON_SUPERSEDED, out);
	} else {
		p = &g->peer[g->inc.from];
		p->ack_due = true;
		p->ack_status = ok ? CLUSTER_GEN_ST_OK : CLUSTER_GEN_ST_FAIL;
		p->ack_id = g->inc.id;
	}
	evaluate(g, out);
	return 0;
}

static void
ack(struct cluster_gen *g, int idx, uint8_t status, const struct cluster_gen_id *id)
{
	struct gen_peer *p = &g->peer[idx];

	p->ack_due = true;
	p->ack_status = status;
	p->ack_id = *id;
}

/* Re-answer a proposer that sends chunks of what we already have. */
static void
reack(struct cluster_gen *g, int idx)
{
	if (g->inc.committed || g->inc.from != idx)
		return;
	if (g->inc.state == INC_PREPARED)
		ack(g, idx, CLUSTER_GEN_ST_OK, &g->inc.id);
	else if (g->inc.state == INC_FAILED)
		ack(g, idx, CLUSTER_GEN_ST_FAIL, &g->inc.id);
}

static void
store_chunk(struct cluster_gen *g, uint64_t now, int idx, const struct cluster_msg_gen *m,
	    struct cluster_actions *out)
{
	uint32_t chunks = cluster_gen_chunks(g->inc.total);
	struct cluster_action *a;
	uint8_t d[CLUSTER_GEN_DIGEST_LEN];

	if (g->inc.state != INC_RECEIVING) {
		reack(g, idx);
		return;
	}
	if (m->total != g->inc.total || m->total > g->c.blob_max)
		return;
	g->st.chunks_received++;
	g->inc.last_ns = now;
	if (g->inc.have[m->chunk / 8] >> (m->chunk % 8) & 1)
		return;
	memcpy(g->inc.buf + (size_t)m->chunk * CLUSTER_GEN_CHUNK, m->data, m->data_len);
	g->inc.have[m->chunk / 8] |= (uint8_t)(1u << (m->chunk % 8));
	if (++g->inc.n_have < chunks)
		return;
	cluster_gen_digest(g->inc.buf, g->inc.total, d);
	if (memcmp(d, g->inc.id.digest, sizeof(d)) != 0) {
		/* Authenticated, so a sender's bug: start over rather than apply it. */
		g->st.bad_digest++;
		memset(g->inc.have, 0, sizeof(g->inc.have));
		g->inc.n_have = 0;
		return;
	}
	g->inc.state = INC_PREPARING;
	a = cluster_action_add(out, CLUSTER_ACT_GEN_PREPARE,
			       g->inc.committed ? CLUSTER_REASON_CATCH_UP
						: CLUSTER_REASON_PROPOSAL);
	if (a != NULL) {
		a->gen = g->inc.id.gen;
		a->blob = g->inc.buf;
		a->blob_len = g->inc.total;
	}
}

void
cluster_gen_rx_propose(struct cluster_gen *g, uint64_t now, int idx,
		       const struct cluster_msg_gen *m, struct cluster_actions *out)
{
	struct cluster_gen_id id;
	bool committed = m->flags & CLUSTER_GEN_F_COMMITTED;
	int c;

	if (m->total > g->c.blob_max)
		return;
	id.gen = m->gen;
	memcpy(id.digest, m->digest, sizeof(id.digest));
	see(g, id.gen);
	if (committed) {
		learn(g, &id, idx);
		/* A catch-up: wanted only if it is what we should run and do not. */
		if (!id_eq(&id, &g->known) || id_eq(&id, &g->cur)) {
			g->st.stale++;
			return;
		}
	} else if (cluster_gen_id_cmp(&id, &g->cur) <= 0 ||
		   cluster_gen_id_cmp(&id, &g->known) < 0) {
		g->st.stale++;
		ack(g, idx, CLUSTER_GEN_ST_STALE, &id);
		return;
	}
	if (g->inc.state != INC_NONE) {
		c = cluster_gen_id_cmp(&id, &g->inc.id);
		if (c < 0) {
			if (!committed) {
				g->st.stale++;
				ack(g, idx, CLUSTER_GEN_ST_STALE, &id);
			}
			return;
		}
		if (c > 0)
			inc_drop(g, CLUSTER_REASON_SUPERSEDED, out);
	}
	if (g->inc.state == INC_NONE)
		inc_start(g, now, &id, idx, committed, m->total);
	else if (committed && !g->inc.committed)
		g->inc.committed = true; /* the proposal we hold was committed meanwhile */
	store_chunk(g, now, idx, m, out);
	evaluate(g, out);
}

static void
serve(struct cluster_gen *g, uint64_t now, int idx, const struct cluster_gen_id *id,
      const struct cluster_msg_gen *m)
{
	struct gen_peer *p = &g->peer[idx];
	bool mine = g->prop.active && id_eq(id, &g->prop.id) && g->inc.from == g->self;
	uint32_t total;

	if (mine) {
		total = g->inc.total;
		p->src = SRC_INC;
		p->committed = false;
	} else if (g->cur_set && id_eq(id, &g->cur)) {
		total = g->cur_len;
		p->src = SRC_CUR;
		p->committed = true;
		g->st.catch_ups++;
	} else {
		g->st.needs_unserved++;
		return;
	}
	p->tx_id = *id;
	peer_want_missing(p, cluster_gen_chunks(total), m->data, m->chunk);
	if (mine)
		p->probe_at = now + 2 * (uint64_t)g->c.resend_ms * NS_PER_MS;
}

void
cluster_gen_rx_ack(struct cluster_gen *g, uint64_t now, int idx, const struct cluster_msg_gen *m,
		   struct cluster_actions *out)
{
	struct cluster_gen_id id;
	bool mine;

	id.gen = m->gen;
	memcpy(id.digest, m->digest, sizeof(id.digest));
	see(g, id.gen);
	mine = g->prop.active && id_eq(&id, &g->prop.id);
	switch (m->status) {
	case CLUSTER_GEN_ST_STALE:
		if (mine)
			inc_drop(g, CLUSTER_REASON_SUPERSEDED, out);
		break;
	case CLUSTER_GEN_ST_OK:
	case CLUSTER_GEN_ST_FAIL:
		if (!mine)
			break;
		if (m->status == CLUSTER_GEN_ST_OK)
			g->prop.ok |= 1ULL << idx;
		else
			g->prop.fail |= 1ULL << idx;
		peer_stop_chunks(&g->peer[idx]);
		check_commit(g, now, out);
		break;
	case CLUSTER_GEN_ST_PARTIAL:
	case CLUSTER_GEN_ST_NEED:
		serve(g, now, idx, &id, m);
		break;
	}
	evaluate(g, out);
}

void
cluster_gen_rx_commit(struct cluster_gen *g, uint64_t now, int idx, const struct cluster_msg_gen *m,
		      struct cluster_actions *out)
{
	struct cluster_gen_id id;

	id.gen = m->gen;
	memcpy(id.digest, m->digest, sizeof(id.digest));
	learn(g, &id, idx);
	if (g->inc.state != INC_NONE && id_eq(&g->inc.id, &id)) {
		if (g->inc.state == INC_PREPARED)
			commit_inc(g, now, CLUSTER_REASON_COMMITTED, out);
		else
			g->inc.committed = true; /* commit as soon as it is prepared */
	}
	evaluate(g, out);
}

void
cluster_gen_rx_hb(struct cluster_gen *g, uint64_t now, int idx, const struct cluster_msg_hb *hb,
		  struct cluster_actions *out)
{
	struct gen_peer *p = &g->peer[idx];
	struct cluster_gen_id k;

	k.gen = hb->known_gen;
	memcpy(k.digest, hb->known_digest, sizeof(k.digest));
	see(g, hb->applied_gen);
	see(g, hb->known_gen);
	/* A member that is starting runs its own config: it has nothing to teach yet. */
	if (!(hb->flags & CLUSTER_HB_F_STARTING))
		learn(g, &k, idx);
	p->known = k;
	p->known_set = true;
	if (p->commit_due && cluster_gen_id_cmp(&k, &p->commit_id) >= 0)
		p->commit_due = false;
	/* We prepared what the cluster committed, but missed the commit. */
	if (g->inc.state != INC_NONE && id_eq(&g->inc.id, &g->known)) {
		if (g->inc.state == INC_PREPARED)
			commit_inc(g, now, CLUSTER_REASON_COMMITTED, out);
		else
			g->inc.committed = true;
	}
	evaluate(g, out);
}

void
cluster_gen_member_down(struct cluster_gen *g, uint64_t now, int idx, struct cluster_actions *out)
{
	g->prop.targets &= ~(1ULL << idx);
	cluster_gen_member_reset(g, idx);
	check_commit(g, now, out);
}

void
cluster_gen_member_reset(struct cluster_gen *g, int idx)
{
	struct gen_peer *p = &g->peer[idx];

	peer_stop_chunks(p);
	p->ack_due = false;
	p->commit_due = false;
	p->known_set = false;
	if (g->known_from == idx)
		g->known_from = -1;
}

static bool
behind(const struct cluster_gen *g)
{
	return !g->starting && g->cur_set && !id_eq(&g->cur, &g->known);
}

/* A live member that runs what we lack: the one we heard it from, or any that says so. */
static int
source(const struct cluster_gen *g)
{
	unsigned int i;

	if (g->known_from >= 0 && g->known_from != g->self)
		return g->known_from;
	for (i = 0; i < g->n; i++)
		if ((int)i != g->self && g->peer[i].known_set &&
		    id_eq(&g->peer[i].known, &g->known))
			return (int)i;
	return -1;
}

void
cluster_gen_tick(struct cluster_gen *g, uint64_t now, struct cluster_actions *out)
{
	uint64_t rs = (uint64_t)g->c.resend_ms * NS_PER_MS;
	unsigned int i;

	if (g->prop.active)
		check_commit(g, now, out);
	switch (g->inc.state) {
	case INC_RECEIVING:
		if (now - g->inc.last_ns >= (uint64_t)g->c.timeout_ms * NS_PER_MS) {
			inc_drop(g, CLUSTER_REASON_GEN_TIMEOUT, out);
			break;
		}
		if (now >= g->inc.ask_at) {
			/* Ask for the chunks we lack (the sender cannot know which). */
			ack(g, g->inc.from,
			    g->inc.committed ? CLUSTER_GEN_ST_NEED : CLUSTER_GEN_ST_PARTIAL,
			    &g->inc.id);
			g->inc.ask_at = now + rs;
		}
		break;
	case INC_PREPARED:
		if (!g->inc.committed && g->inc.from != g->self &&
		    now - g->inc.last_ns >= (uint64_t)g->c.hold_ms * NS_PER_MS)
			inc_drop(g, CLUSTER_REASON_GEN_TIMEOUT, out);
		break;
	case INC_FAILED:
		/* Try again later: a failure to apply may pass (memory, a reload in progress). */
		if (now - g->inc.last_ns >= (uint64_t)g->c.hold_ms * NS_PER_MS)
			g->inc.state = INC_NONE;
		break;
	default:
		break;
	}
	/* Behind, and not fetching it: ask a member that has it. */
	if (behind(g) && (g->inc.state == INC_NONE || !id_eq(&g->inc.id, &g->known)) &&
	    now >= g->need_at) {
		int src = source(g);

		if (src >= 0) {
			ack(g, src, CLUSTER_GEN_ST_NEED, &g->known);
			g->st.needs_sent++;
		}
		g->need_at = now + rs;
	}
	for (i = 0; i < g->n; i++) {
		struct gen_peer *p = &g->peer[i];

		if (p->commit_due && now >= p->commit_until)
			p->commit_due = false;
		/* A target that has not answered may have lost every chunk: probe with chunk 0. */
		if (g->prop.active && p->src == SRC_INC && (g->prop.targets >> i & 1) &&
		    !((g->prop.ok | g->prop.fail) >> i & 1) && p->n_want == 0 && p->probe_at != 0 &&
		    now >= p->probe_at) {
			p->want[0] |= 1;
			p->n_want = 1;
			p->next_chunk = 0;
			p->probe_at = now + 2 * rs;
		}
	}
	evaluate(g, out);
}

uint64_t
cluster_gen_next_deadline(const struct cluster_gen *g)
{
	uint64_t d = UINT64_MAX;
	unsigned int i;

	if (g->prop.active && g->prop.deadline < d)
		d = g->prop.deadline;
	switch (g->inc.state) {
	case INC_RECEIVING:
		d = d < g->inc.ask_at ? d : g->inc.ask_at;
		break;
	case INC_PREPARED:
	case INC_FAILED:
		/* Dropped (or tried again) hold_ms after the last progress. */
		if (g->inc.from != g->self || g->inc.state == INC_FAILED) {
			uint64_t t = g->inc.last_ns + (uint64_t)g->c.hold_ms * NS_PER_MS;

			d = d < t ? d : t;
		}
		break;
	default:
		break;
	}
	if (behind(g) && (g->inc.state == INC_NONE || !id_eq(&g->inc.id, &g->known)) &&
	    g->need_at < d)
		d = g->need_at;
	for (i = 0; i < g->n; i++) {
		const struct gen_peer *p = &g->peer[i];

		if (p->commit_due && p->commit_at < d)
			d = p->commit_at;
		if (g->prop.active && p->probe_at != 0 && p->n_want == 0 && p->probe_at < d)
			d = p->probe_at;
	}
	return d;
}

bool
cluster_gen_tx_due(const struct cluster_gen *g, uint64_t now, int idx)
{
	const struct gen_peer *p = &g->peer[idx];

	return p->ack_due || (p->commit_due && now >= p->commit_at) || p->n_want != 0;
}

static uint32_t
next_wanted(const struct gen_peer *p, uint32_t from, uint32_t chunks)
{
	uint32_t i, c;

	for (i = 0; i < chunks; i++) {
		c = (from + i) % chunks;
		if (p->want[c / 8] >> (c % 8) & 1)
			return c;
	}
	return UINT32_MAX;
}

size_t
cluster_gen_tx(struct cluster_gen *g, uint64_t now, int idx, uint8_t *p, size_t cap, uint8_t *type)
{
	struct gen_peer *pe = &g->peer[idx];
	struct cluster_msg_gen m;
	const uint8_t *blob;
	uint32_t total, chunks, c;
	int len;

	memset(&m, 0, sizeof(m));
	if (pe->ack_due) {
		pe->ack_due = false;
		m.gen = pe->ack_id.gen;
		memcpy(m.digest, pe->ack_id.digest, sizeof(m.digest));
		m.status = pe->ack_status;
		if ((m.status == CLUSTER_GEN_ST_PARTIAL || m.status == CLUSTER_GEN_ST_NEED) &&
		    g->inc.state == INC_RECEIVING && id_eq(&g->inc.id, &pe->ack_id)) {
			m.chunk = (uint16_t)cluster_gen_chunks(g->inc.total);
			m.data = g->inc.have;
			m.data_len = (m.chunk + 7u) / 8u;
		}
		*type = CLUSTER_MSG_GEN_ACK;
		len = cluster_wire_gen_ack_encode(p, cap, &m);
		return len > 0 ? (size_t)len : 0;
	}
	if (pe->commit_due && now >= pe->commit_at) {
		pe->commit_at = now + (uint64_t)g->c.resend_ms * NS_PER_MS;
		m.gen = pe->commit_id.gen;
		memcpy(m.digest, pe->commit_id.digest, sizeof(m.digest));
		*type = CLUSTER_MSG_GEN_COMMIT;
		len = cluster_wire_gen_commit_encode(p, cap, &m);
		return len > 0 ? (size_t)len : 0;
	}
	if (pe->n_want == 0)
		return 0;
	if (pe->src == SRC_INC) {
		if (!g->prop.active || g->inc.from != g->self || !id_eq(&g->inc.id, &pe->tx_id)) {
			peer_stop_chunks(pe);
			return 0;
		}
		blob = g->inc.buf;
		total = g->inc.total;
	} else {
		if (!g->cur_set || !id_eq(&g->cur, &pe->tx_id)) {
			peer_stop_chunks(pe);
			return 0;
		}
		blob = g->cur_blob;
		total = g->cur_len;
	}
	chunks = cluster_gen_chunks(total);
	c = next_wanted(pe, pe->next_chunk, chunks);
	if (c == UINT32_MAX) {
		peer_stop_chunks(pe);
		return 0;
	}
	pe->want[c / 8] &= (uint8_t) ~(1u << (c % 8));
	pe->n_want--;
	pe->next_chunk = c + 1;
	m.gen = pe->tx_id.gen;
	memcpy(m.digest, pe->tx_id.digest, sizeof(m.digest));
	m.flags = pe->committed ? CLUSTER_GEN_F_COMMITTED : 0;
	m.chunk = (uint16_t)c;
	m.total = total;
	m.data = blob + (size_t)c * CLUSTER_GEN_CHUNK;
	m.data_len = c + 1 < chunks ? CLUSTER_GEN_CHUNK : total - c * CLUSTER_GEN_CHUNK;
	*type = CLUSTER_MSG_GEN_PROPOSE;
	len = cluster_wire_gen_propose_encode(p, cap, &m);
	if (len <= 0)
		return 0;
	g->st.chunks_sent++;
	return (size_t)len;
}

void
cluster_gen_hb_fields(const struct cluster_gen *g, struct cluster_msg_hb *hb)
{
	hb->known_gen = g->known.gen;
	memcpy(hb->known_digest, g->known.digest, sizeof(hb->known_digest));
	hb->applied_gen = g->cur.gen;
	memcpy(hb->applied_digest, g->cur.digest, sizeof(hb->applied_digest));
	if (g->in_service)
		hb->flags |= CLUSTER_HB_F_IN_SERVICE;
	if (g->starting)
		hb->flags |= CLUSTER_HB_F_STARTING;
}

bool
cluster_gen_in_service(const struct cluster_gen *g)
{
	return g->in_service;
}

uint8_t
cluster_gen_service_reason(const struct cluster_gen *g)
{
	return g->reason;
}

const struct cluster_gen_id *
cluster_gen_applied(const struct cluster_gen *g)
{
	return &g->cur;
}

const struct cluster_gen_id *
cluster_gen_known(const struct cluster_gen *g)
{
	return &g->known;
}

const uint8_t *
cluster_gen_applied_blob(const struct cluster_gen *g, uint32_t *len)
{
	*len = g->cur_set ? g->cur_len : 0;
	return g->cur_set ? g->cur_blob : NULL;
}

uint32_t
cluster_gen_proposing(const struct cluster_gen *g)
{
	return g->prop.active ? g->prop.id.gen : 0;
}

const struct cluster_gen_stats *
cluster_gen_stats(const struct cluster_gen *g)
{
	return &g->st;
}
