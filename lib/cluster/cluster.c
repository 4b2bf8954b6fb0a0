/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"

#define NS_PER_MS 1000000ULL
/* The largest datagram we must be able to send: a whole chunk of a generation blob. */
#define MIN_MTU                                                                        \
	(CLUSTER_WIRE_HDR_LEN + CLUSTER_WIRE_GEN_PROPOSE_HDR_LEN + CLUSTER_GEN_CHUNK + \
	 CLUSTER_WIRE_MAC_LEN)

struct cluster_peer {
	struct cluster_stream *stream;
	struct cluster_answers answers;
	struct cluster_bucket tx_records;
	struct cluster_bucket tx_datagrams;
	struct cluster_bucket bulk;
	struct cluster_bucket rx_records;
	/* A bulk transfer from this peer to us. */
	bool bulk_open;
	uint32_t bulk_id;
	uint64_t bulk_got;
};

/*
 * The rebalancing scan: after the live set changed from `from` to `to`,
 * walk the store and send each record we are responsible for to the members
 * that hold it under `to` but did not under `from`.
 */
struct scan {
	bool active;
	bool ending; /* walked: BULK_END owed to some joiners */
	uint64_t from, to;
	uint64_t joiners; /* members in to but not from: they get BULK_BEGIN .. BULK_END */
	uint64_t end_owed;
	uint32_t pos;
	uint32_t id;
	uint64_t sent[CLUSTER_MAX_MEMBERS];
};

struct cluster_node {
	struct cluster_conf c;
	struct cluster_wire_key key;
	struct cluster_members ms;
	struct cluster_store *store;
	struct cluster_queries *queries;
	struct cluster_gen *gen;
	struct cluster_peer peer[CLUSTER_MAX_MEMBERS];
	unsigned int rr;
	uint64_t now; /* of the call under way */
	uint64_t start_ns;
	bool started;
	uint64_t commits_seen;
	uint64_t transition_end_ns; /* 0: none */
	uint32_t transition_gen;
	uint64_t placed; /* the live set the records held here were placed by */
	struct scan scan;
	uint32_t bulk_ids;
	void (*deliver)(void *arg, uint16_t from, uint64_t seq, const struct cluster_item *it);
	void *deliver_arg;
	int rx_from;
	struct cluster_node_stats st;
};

static const char *const action_names[CLUSTER_ACT_MAX] = {
#define _(sym, str) [CLUSTER_ACT_##sym] = str,
	foreach_cluster_action
#undef _
};

static const char *const reason_names[CLUSTER_REASON_MAX] = {
#define _(sym, str) [CLUSTER_REASON_##sym] = str,
	foreach_cluster_reason
#undef _
};

const char *
cluster_action_name(int a)
{
	return a >= 0 && a < CLUSTER_ACT_MAX ? action_names[a] : "unknown";
}

const char *
cluster_reason_name(int r)
{
	return r >= 0 && r < CLUSTER_REASON_MAX ? reason_names[r] : "unknown";
}

struct cluster_action *
cluster_action_add(struct cluster_actions *out, uint8_t type, uint8_t reason)
{
	struct cluster_action *a;

	if (out->n >= CLUSTER_ACTIONS_MAX) {
		out->dropped++;
		return NULL;
	}
	a = &out->a[out->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->reason = reason;
	return a;
}

void
cluster_conf_defaults(struct cluster_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->heartbeat_ms = 50;
	c->dead_count = 4;
	c->mtu = CLUSTER_WIRE_MAX;
	c->store_capacity = 1u << 18;
	c->transition_ms = 60000;
	c->scan_slots = 4096;
	c->expire_slots = 1024;
	cluster_sync_conf_defaults(&c->sync);
	cluster_gen_conf_defaults(&c->gen);
}

static void
peer_buckets(struct cluster_node *n, struct cluster_peer *p, uint64_t now)
{
	const struct cluster_sync_conf *s = &n->c.sync;

	cluster_bucket_init(&p->tx_records, s->peer_records_per_s, s->peer_records_burst, now);
	cluster_bucket_init(&p->tx_datagrams, s->peer_datagrams_per_s, s->peer_datagrams_burst,
			    now);
	cluster_bucket_init(&p->bulk, s->bulk_records_per_s, s->peer_records_burst, now);
	cluster_bucket_init(&p->rx_records, s->rx_records_per_s, s->rx_records_burst, now);
}

struct cluster_node *
cluster_node_create(const struct cluster_conf *c, uint64_t now, struct cluster_actions *out)
{
	struct cluster_node *n;
	unsigned int i;

	if (c->epoch == 0 || c->mtu < MIN_MTU || c->mtu > CLUSTER_WIRE_MAX || c->scan_slots == 0 ||
	    c->expire_slots == 0 || cluster_sync_conf_check(&c->sync) < 0) {
		errno = EINVAL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->c = *c;
	if (cluster_members_init(&n->ms, c->members, c->n_members, c->self_id, c->heartbeat_ms,
				 c->dead_count, now) < 0) {
		errno = EINVAL;
		goto fail;
	}
	cluster_wire_key_init(&n->key, c->key);
	n->store = cluster_store_create(c->store_capacity);
	n->queries = cluster_queries_create(&c->sync);
	n->gen = cluster_gen_create(&c->gen, n->ms.n, n->ms.self, now, out);
	if (n->store == NULL || n->queries == NULL || n->gen == NULL)
		goto fail;
	for (i = 0; i < n->ms.n; i++) {
		struct cluster_peer *p = &n->peer[i];

		if ((int)i == n->ms.self)
			continue;
		/* The stream id depends on both ends and our epoch: unique to this pairing. */
		p->stream = cluster_stream_create(
			&c->sync, c->epoch ^ cluster_mix64(n->ms.ids[i] + 0x10000ULL * c->self_id),
			now);
		if (p->stream == NULL ||
		    cluster_answers_init(&p->answers, c->sync.answer_queue) < 0)
			goto fail;
		peer_buckets(n, p, now);
	}
	n->start_ns = now;
	n->placed = n->ms.live;
	n->rx_from = -1;
	return n;
fail:
	cluster_node_free(n);
	if (errno == 0)
		errno = ENOMEM;
	return NULL;
}

void
cluster_node_free(struct cluster_node *n)
{
	unsigned int i;

	if (n == NULL)
		return;
	for (i = 0; i < CLUSTER_MAX_MEMBERS; i++) {
		cluster_stream_free(n->peer[i].stream);
		cluster_answers_fini(&n->peer[i].answers);
	}
	cluster_store_free(n->store);
	cluster_queries_free(n->queries);
	cluster_gen_free(n->gen);
	memset(n->key.key, 0, sizeof(n->key.key));
	memset(n->c.key, 0, sizeof(n->c.key));
	free(n);
}

void
cluster_node_set_deliver(struct cluster_node *n,
			 void (*fn)(void *arg, uint16_t from, uint64_t seq,
				    const struct cluster_item *it),
			 void *arg)
{
	n->deliver = fn;
	n->deliver_arg = arg;
}

/* A commit starts the transition window. */
static void
note_commits(struct cluster_node *n, uint64_t now)
{
	uint64_t c = cluster_gen_stats(n->gen)->committed;

	if (c == n->commits_seen)
		return;
	n->commits_seen = c;
	if (n->c.transition_ms == 0)
		return;
	n->transition_end_ns = now + (uint64_t)n->c.transition_ms * NS_PER_MS;
	n->transition_gen = cluster_gen_applied(n->gen)->gen;
}

int
cluster_node_gen_local(struct cluster_node *n, uint64_t now, const uint8_t *blob, uint32_t len,
		       struct cluster_actions *out)
{
	return cluster_gen_local(n->gen, now, blob, len, out);
}

int64_t
cluster_node_gen_propose(struct cluster_node *n, uint64_t now, const uint8_t *blob, uint32_t len,
			 struct cluster_actions *out)
{
	int64_t rc = cluster_gen_propose(n->gen, now, n->ms.live, blob, len, out);

	note_commits(n, now);
	return rc;
}

void
cluster_node_gen_apply_failed(struct cluster_node *n, uint32_t gen, struct cluster_actions *out)
{
	cluster_gen_apply_failed(n->gen, gen, out);
}

int
cluster_node_gen_prepared(struct cluster_node *n, uint64_t now, uint32_t gen, bool ok,
			  struct cluster_actions *out)
{
	int rc = cluster_gen_prepared(n->gen, now, gen, ok, out);

	note_commits(n, now);
	return rc;
}

static void
owners(const struct cluster_node *n, uint64_t live, uint8_t rtype, const struct flow_key *k,
       int *owner, int *replica)
{
	cluster_owner_pick(n->ms.ids, live, cluster_owner_hash(rtype, k), owner, replica);
}

void
cluster_node_owner(const struct cluster_node *n, uint8_t rtype, const struct flow_key *k,
		   uint16_t *owner, uint16_t *replica)
{
	int o, r;

	owners(n, n->ms.live, rtype, k, &o, &r);
	*owner = o >= 0 ? n->ms.ids[o] : 0;
	*replica = r >= 0 ? n->ms.ids[r] : 0;
}

/* Queue an encoded item to peer idx: 0 or -ENOBUFS. */
static int
queue_item(struct cluster_node *n, int idx, const uint8_t *item, size_t len, uint32_t reserve)
{
	return cluster_stream_push(n->peer[idx].stream, item, len, reserve);
}

/* The live set changed (or a member restarted): rebalance from what the records were placed by. */
static void
view_changed(struct cluster_node *n, uint64_t now, uint64_t restarted, struct cluster_actions *out)
{
	struct scan *s = &n->scan;
	struct cluster_action *a;
	uint8_t item[CLUSTER_ITEM_MARKER_LEN];
	uint64_t j;
	int i;

	a = cluster_action_add(out, CLUSTER_ACT_VIEW, CLUSTER_REASON_NONE);
	if (a != NULL)
		a->gen = n->ms.view;
	/* A restarted member holds nothing: count it out of the old placement. */
	n->placed &= ~restarted;
	memset(s, 0, sizeof(*s));
	s->from = n->placed;
	s->to = n->ms.live;
	if (s->from == s->to)
		return;
	s->active = true;
	s->id = n->bulk_ids = n->bulk_ids % 0x7fffffff + 1;
	s->joiners = s->to & ~s->from & ~(1ULL << n->ms.self);
	n->st.scans++;
	for (j = s->joiners; j != 0; j &= j - 1) {
		i = __builtin_ctzll(j);
		cluster_wire_marker_encode(item, sizeof(item), CLUSTER_ITEM_BULK_BEGIN, s->id, 0);
		if (queue_item(n, i, item, sizeof(item), 0) < 0)
			s->joiners &= ~(1ULL << i); /* full: it gets the records without markers */
	}
	(void)now;
}

static void
member_event(struct cluster_node *n, uint64_t now, const struct cluster_member_event *ev,
	     struct cluster_actions *out)
{
	struct cluster_peer *p = &n->peer[ev->idx];
	struct cluster_action *a;
	uint8_t reason;

	if (ev->up) {
		reason = ev->reason == CLUSTER_MEMBER_RESTARTED ? CLUSTER_REASON_RESTARTED
								: CLUSTER_REASON_HEARD;
		a = cluster_action_add(out, CLUSTER_ACT_MEMBER_UP, reason);
	} else {
		a = cluster_action_add(out, CLUSTER_ACT_MEMBER_DOWN, CLUSTER_REASON_MISSED);
		cluster_queries_member_down(n->queries, ev->idx, now);
		cluster_gen_member_down(n->gen, now, ev->idx, out);
		p->bulk_open = false;
	}
	if (a != NULL)
		a->member = n->ms.ids[ev->idx];
	view_changed(n, now, ev->reason == CLUSTER_MEMBER_RESTARTED ? 1ULL << ev->idx : 0, out);
}

/* A member's new epoch: whatever we kept for its previous life is void. */
static void
member_restarted(struct cluster_node *n, uint64_t now, int idx)
{
	struct cluster_peer *p = &n->peer[idx];

	cluster_stream_reset_tx(p->stream, now);
	p->answers.head = p->answers.n = 0;
	p->bulk_open = false;
	cluster_gen_member_reset(n->gen, idx);
	/* If it was up, its place in the records goes with it (view_changed). */
	n->placed &= ~(1ULL << idx);
}

/* Records of a peer's push stream, in order. */
static void
on_item(void *arg, uint64_t seq, const struct cluster_item *it)
{
	struct cluster_node *n = arg;
	struct cluster_peer *p = &n->peer[n->rx_from];

	switch (it->type) {
	case CLUSTER_ITEM_FLOW:
	case CLUSTER_ITEM_AFFINITY:
		if (cluster_store_put(n->store, n->now, &it->u.rec) < 0)
			n->st.store_full++;
		else
			n->st.records_stored++;
		if (it->u.rec.flags & CLUSTER_ITEM_F_BULK) {
			n->st.bulk_received++;
			if (p->bulk_open)
				p->bulk_got++;
		}
		break;
	case CLUSTER_ITEM_BULK_BEGIN:
		p->bulk_open = true;
		p->bulk_id = it->u.bulk.id;
		p->bulk_got = 0;
		n->st.bulks_begun++;
		break;
	case CLUSTER_ITEM_BULK_END:
		if (p->bulk_open && p->bulk_id == it->u.bulk.id && p->bulk_got == it->u.bulk.count)
			n->st.bulks_done++;
		else
			n->st.bulks_short++;
		p->bulk_open = false;
		break;
	}
	if (n->deliver != NULL)
		n->deliver(n->deliver_arg, n->ms.ids[n->rx_from], seq, it);
}

static int
rx_query(struct cluster_node *n, int idx, const uint8_t *p, size_t len, uint8_t count)
{
	struct cluster_peer *pe = &n->peer[idx];
	uint8_t item[CLUSTER_ITEM_MAX];
	struct cluster_item it;
	struct cluster_rec r;
	size_t off = 0;
	unsigned int i;
	int rc, l;

	rc = cluster_wire_items_check(p, len, count, 1u << CLUSTER_ITEM_KEY);
	if (rc != 0)
		return rc;
	for (i = 0; i < count; i++) {
		l = cluster_wire_item_decode(p + off, len - off, &it);
		off += (size_t)l;
		n->st.queries_served++;
		if (cluster_store_get(n->store, n->now, it.u.key.rtype, &it.u.key.key, &r)) {
			l = cluster_wire_rec_encode(item, sizeof(item), &r);
			n->st.answers_found++;
		} else {
			l = cluster_wire_key_encode(item, sizeof(item), CLUSTER_ITEM_UNKNOWN,
						    it.u.key.rtype, &it.u.key.key);
			n->st.answers_unknown++;
		}
		if (l > 0 && cluster_answers_add(&pe->answers, item, (size_t)l) < 0)
			n->st.answers_dropped++;
	}
	return 0;
}

static void
install(struct cluster_node *n, const struct cluster_rec *r, uint64_t cookie, uint16_t from,
	uint8_t reason, struct cluster_actions *out)
{
	struct cluster_action *a = cluster_action_add(out, CLUSTER_ACT_INSTALL, reason);

	n->st.installs++;
	if (a == NULL)
		return;
	a->member = from;
	a->cookie = cookie;
	a->rec = *r;
	a->rec.flags = 0;
}

static void
query_failed(struct cluster_node *n, uint8_t rtype, const struct flow_key *k, uint64_t cookie,
	     uint8_t reason, struct cluster_actions *out)
{
	struct cluster_action *a = cluster_action_add(out, CLUSTER_ACT_QUERY_FAILED, reason);

	n->st.query_failed++;
	if (a == NULL)
		return;
	a->cookie = cookie;
	a->rec.type = rtype;
	a->rec.key = *k;
}

static int
rx_answer(struct cluster_node *n, uint64_t now, int idx, const uint8_t *p, size_t len,
	  uint8_t count, struct cluster_actions *out)
{
	const uint32_t allowed =
		1u << CLUSTER_ITEM_FLOW | 1u << CLUSTER_ITEM_AFFINITY | 1u << CLUSTER_ITEM_UNKNOWN;
	struct cluster_query_stats *qs = cluster_queries_stats(n->queries);
	struct cluster_query *q;
	struct cluster_item it;
	size_t off = 0;
	unsigned int i;
	uint64_t cookie, rtt;
	int rc, l;

	rc = cluster_wire_items_check(p, len, count, allowed);
	if (rc != 0)
		return rc;
	for (i = 0; i < count; i++) {
		l = cluster_wire_item_decode(p + off, len - off, &it);
		off += (size_t)l;
		if (it.type == CLUSTER_ITEM_UNKNOWN) {
			q = cluster_queries_find(n->queries, it.u.key.rtype, &it.u.key.key);
			if (q == NULL || q->target != idx) {
				qs->late_answers++;
				continue;
			}
			if (cluster_queries_fallback(n->queries, q, now))
				continue;
			qs->outcomes[CLUSTER_QUERY_UNKNOWN]++;
			cookie = cluster_queries_remove(n->queries, q);
			query_failed(n, it.u.key.rtype, &it.u.key.key, cookie,
				     CLUSTER_REASON_UNKNOWN, out);
			continue;
		}
		q = cluster_queries_find(n->queries, it.u.rec.type, &it.u.rec.key);
		if (q == NULL) {
			qs->late_answers++;
			continue;
		}
		rtt = now - q->started_ns;
		qs->rtt_ns_sum += rtt;
		if (rtt > qs->rtt_ns_max)
			qs->rtt_ns_max = rtt;
		qs->outcomes[CLUSTER_QUERY_ANSWERED]++;
		cookie = cluster_queries_remove(n->queries, q);
		install(n, &it.u.rec, cookie, n->ms.ids[idx], CLUSTER_REASON_ANSWERED, out);
	}
	return 0;
}

static int
rx_body(struct cluster_node *n, uint64_t now, int idx, const struct cluster_wire_hdr *h,
	const uint8_t *body, struct cluster_actions *out)
{
	struct cluster_peer *p = &n->peer[idx];
	struct cluster_sack sack[CLUSTER_WIRE_SACK_MAX];
	struct cluster_msg_push push;
	struct cluster_msg_gen gm;
	struct cluster_msg_hb hb;
	uint32_t tok;
	int rc;

	switch (h->type) {
	case CLUSTER_MSG_HEARTBEAT:
		rc = cluster_wire_hb_decode(body, h->len, h->count, &hb);
		if (rc == 0)
			cluster_gen_rx_hb(n->gen, now, idx, &hb, out);
		return rc;
	case CLUSTER_MSG_PUSH:
		rc = cluster_wire_push_decode(body, h->len, h->count, &push);
		if (rc != 0)
			return rc;
		/*
		 * Beyond the receive budget: take the records we have tokens for (the
		 * first ones: the stream stays in order), leave the rest unacknowledged
		 * for the sender to send again. Members with the same conf never get
		 * here (their send budget is below it): it is the guard against a
		 * member that floods us.
		 */
		tok = cluster_bucket_avail(&p->rx_records, now);
		if (tok < h->count) {
			n->st.rx_rate_limited += h->count - tok;
			if (tok == 0)
				return CLUSTER_DROP_RATE_LIMITED;
		}
		tok = tok < h->count ? tok : h->count;
		cluster_bucket_take(&p->rx_records, tok);
		n->rx_from = idx;
		cluster_stream_rx_push(p->stream, now, &push, (uint8_t)tok, on_item, n);
		return 0;
	case CLUSTER_MSG_ACK:
		rc = cluster_wire_ack_decode(body, h->len, h->count, sack);
		if (rc == 0)
			cluster_stream_rx_sack(p->stream, now, h->ack_stream, sack, h->count);
		return rc;
	case CLUSTER_MSG_QUERY:
		return rx_query(n, idx, body, h->len, h->count);
	case CLUSTER_MSG_ANSWER:
		return rx_answer(n, now, idx, body, h->len, h->count, out);
	case CLUSTER_MSG_GEN_PROPOSE:
		rc = h->count != 0 ? CLUSTER_DROP_BAD_COUNT
				   : cluster_wire_gen_propose_decode(body, h->len, &gm);
		if (rc == 0)
			cluster_gen_rx_propose(n->gen, now, idx, &gm, out);
		return rc;
	case CLUSTER_MSG_GEN_ACK:
		rc = h->count != 0 ? CLUSTER_DROP_BAD_COUNT
				   : cluster_wire_gen_ack_decode(body, h->len, &gm);
		if (rc == 0)
			cluster_gen_rx_ack(n->gen, now, idx, &gm, out);
		return rc;
	case CLUSTER_MSG_GEN_COMMIT:
		rc = h->count != 0 ? CLUSTER_DROP_BAD_COUNT
				   : cluster_wire_gen_commit_decode(body, h->len, &gm);
		if (rc == 0)
			cluster_gen_rx_commit(n->gen, now, idx, &gm, out);
		return rc;
	}
	return CLUSTER_DROP_BAD_TYPE;
}

/* Checks that need the body decoded before anything is acted on. */
static int
precheck(const struct cluster_wire_hdr *h, const uint8_t *body, struct cluster_msg_hb *hb)
{
	if (h->type == 0 || h->type >= CLUSTER_MSG_MAX)
		return CLUSTER_DROP_BAD_TYPE;
	if (h->type == CLUSTER_MSG_HEARTBEAT)
		return cluster_wire_hb_decode(body, h->len, h->count, hb);
	return 0;
}

static int
rx(struct cluster_node *n, uint64_t now, const uint8_t *buf, size_t len,
   struct cluster_actions *out)
{
	const uint8_t *body = buf + CLUSTER_WIRE_HDR_LEN;
	struct cluster_member_event ev;
	struct cluster_wire_hdr h;
	struct cluster_msg_hb hb;
	uint64_t prev_epoch;
	bool new_epoch;
	int idx, rc;

	rc = cluster_wire_peek(buf, len, n->key.key_id, n->c.self_id, &h);
	if (rc != CLUSTER_WIRE_OK)
		return rc;
	idx = cluster_members_find(&n->ms, h.sender);
	if (idx < 0)
		return CLUSTER_DROP_UNKNOWN_MEMBER;
	rc = cluster_wire_authenticate(&n->key, buf, len, &h);
	if (rc != CLUSTER_WIRE_OK)
		return rc;
	/*
	 * The body is checked before the sender's epoch and replay window move:
	 * an authentic but malformed datagram that opens a new epoch must not
	 * record the epoch without the restart it means.
	 */
	rc = precheck(&h, body, &hb);
	if (rc != 0)
		return rc;
	prev_epoch = n->ms.m[idx].seq.epoch;
	rc = cluster_members_rx_auth(&n->ms, idx, &h, &new_epoch);
	if (rc != CLUSTER_WIRE_OK)
		return rc;
	if (new_epoch && prev_epoch != 0)
		member_restarted(n, now, idx);
	if (cluster_members_heard(&n->ms, idx, now, h.type == CLUSTER_MSG_HEARTBEAT ? &hb : NULL,
				  new_epoch && prev_epoch != 0, &ev))
		member_event(n, now, &ev, out);
	cluster_stream_rx_ackhdr(n->peer[idx].stream, now, h.ack_stream, h.ack);
	return rx_body(n, now, idx, &h, body, out);
}

int
cluster_node_rx(struct cluster_node *n, uint64_t now, const uint8_t *buf, size_t len,
		struct cluster_actions *out)
{
	unsigned int dropped = out->dropped;
	int rc;

	n->now = now;
	rc = rx(n, now, buf, len, out);
	if (rc == CLUSTER_DROP_RATE_LIMITED)
		n->st.rx[buf[3]]++; /* authentic and well formed, only too many */
	else if (rc == CLUSTER_WIRE_OK)
		n->st.rx[buf[3]]++;
	n->st.drops[rc >= 0 && rc < CLUSTER_DROP_MAX ? rc : CLUSTER_DROP_MALFORMED]++;
	n->st.actions_dropped += out->dropped - dropped;
	note_commits(n, now);
	return rc;
}

/* Transmit. */

static int
seal(struct cluster_node *n, int idx, uint8_t *buf, size_t cap, uint8_t type, uint8_t count,
     size_t body_len)
{
	struct cluster_member *m = &n->ms.m[idx];
	struct cluster_wire_hdr h;
	int len;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.sender = n->c.self_id;
	h.receiver = m->id;
	h.len = (uint16_t)body_len;
	h.count = count;
	h.epoch = n->c.epoch;
	h.seq = ++m->tx_seq;
	cluster_stream_ackhdr(n->peer[idx].stream, &h.ack_stream, &h.ack);
	len = cluster_wire_seal(&n->key, buf, cap, &h);
	if (len > 0)
		n->st.tx[type]++;
	return len > 0 ? len : 0;
}

static size_t
hb_body(struct cluster_node *n, uint8_t *p, size_t cap, uint8_t *count)
{
	struct cluster_msg_hb hb;
	uint64_t l;
	int len;

	memset(&hb, 0, sizeof(hb));
	hb.interval_ms = (uint16_t)n->c.heartbeat_ms;
	hb.view = n->ms.view;
	hb.records = cluster_store_count(n->store);
	cluster_gen_hb_fields(n->gen, &hb);
	for (l = n->ms.live; l != 0; l &= l - 1)
		hb.live[hb.n_live++] = n->ms.ids[__builtin_ctzll(l)];
	len = cluster_wire_hb_encode(p, cap, &hb);
	*count = hb.n_live;
	return len > 0 ? (size_t)len : 0;
}

/* Room for records now: both buckets, and the per-datagram limit. */
static uint32_t
tokens(struct cluster_node *n, struct cluster_peer *p, uint64_t now)
{
	uint32_t r = cluster_bucket_avail(&p->tx_records, now);

	if (cluster_bucket_avail(&p->tx_datagrams, now) == 0)
		return 0;
	return r > 255 ? 255 : r;
}

static void
spend(struct cluster_peer *p, uint8_t count)
{
	cluster_bucket_take(&p->tx_records, count);
	cluster_bucket_take(&p->tx_datagrams, 1);
}

static int
peer_tx(struct cluster_node *n, uint64_t now, int idx, uint8_t *buf, size_t cap)
{
	struct cluster_peer *p = &n->peer[idx];
	uint8_t *body = buf + CLUSTER_WIRE_HDR_LEN, count = 0, type;
	size_t bcap = cap - CLUSTER_WIRE_HDR_LEN - CLUSTER_WIRE_MAC_LEN, blen;
	struct cluster_sack sack[CLUSTER_WIRE_SACK_MAX];
	struct cluster_query *q[255];
	unsigned int i, nq;
	uint32_t tok;
	int l;

	if (cluster_members_hb_due(&n->ms, idx, now)) {
		blen = hb_body(n, body, bcap, &count);
		return seal(n, idx, buf, cap, CLUSTER_MSG_HEARTBEAT, count, blen);
	}
	if (!n->ms.m[idx].alive)
		return 0;
	if (cluster_gen_tx_due(n->gen, now, idx)) {
		blen = cluster_gen_tx(n->gen, now, idx, body, bcap, &type);
		if (blen > 0)
			return seal(n, idx, buf, cap, type, 0, blen);
	}
	if (cluster_stream_ack_due(p->stream, now)) {
		nq = cluster_stream_sack(p->stream, sack, CLUSTER_WIRE_SACK_MAX);
		l = cluster_wire_ack_encode(body, bcap, sack, nq);
		if (l >= 0)
			return seal(n, idx, buf, cap, CLUSTER_MSG_ACK, (uint8_t)nq, (size_t)l);
	}
	if (p->answers.n == 0 && !cluster_queries_due(n->queries, idx) &&
	    !cluster_stream_tx_ready(p->stream))
		return 0;
	tok = tokens(n, p, now);
	if (tok == 0) {
		n->st.tx_rate_limited++;
		return 0;
	}
	if (p->answers.n > 0) {
		blen = cluster_answers_take(&p->answers, body, bcap, tok, &count);
		if (count > 0) {
			spend(p, count);
			return seal(n, idx, buf, cap, CLUSTER_MSG_ANSWER, count, blen);
		}
	}
	if (cluster_queries_due(n->queries, idx)) {
		/* The smallest key is 16 bytes, the largest 40: take what surely fits. */
		nq = (unsigned int)(bcap / 40);
		if (nq > tok)
			nq = tok;
		nq = cluster_queries_take(n->queries, idx, now, q, nq);
		blen = 0;
		for (i = 0; i < nq; i++) {
			l = cluster_wire_key_encode(body + blen, bcap - blen, CLUSTER_ITEM_KEY,
						    q[i]->rtype, &q[i]->key);
			if (l > 0)
				blen += (size_t)l;
		}
		if (nq > 0) {
			spend(p, (uint8_t)nq);
			return seal(n, idx, buf, cap, CLUSTER_MSG_QUERY, (uint8_t)nq, blen);
		}
	}
	blen = cluster_stream_tx(p->stream, now, body, bcap, tok, &count);
	if (blen > 0) {
		spend(p, count);
		return seal(n, idx, buf, cap, CLUSTER_MSG_PUSH, count, blen);
	}
	return 0;
}

int
cluster_node_tx(struct cluster_node *n, uint64_t now, uint8_t *buf, size_t cap, uint16_t *to)
{
	unsigned int k, idx;
	int len;

	if (cap > n->c.mtu)
		cap = n->c.mtu;
	if (cap < MIN_MTU)
		return 0;
	n->now = now;
	for (k = 0; k < n->ms.n; k++) {
		idx = (n->rr + k) % n->ms.n;
		if ((int)idx == n->ms.self)
			continue;
		len = peer_tx(n, now, (int)idx, buf, cap);
		if (len > 0) {
			n->rr = idx + 1;
			*to = n->ms.ids[idx];
			return len;
		}
	}
	return 0;
}

/* Local API. */

int
cluster_node_push(struct cluster_node *n, uint64_t now, const struct cluster_rec *r)
{
	uint8_t item[CLUSTER_ITEM_MAX];
	struct cluster_rec c = *r;
	int o, rp, i, l, kept = 0;
	int who[2];

	c.flags = 0;
	l = cluster_wire_rec_encode(item, sizeof(item), &c);
	if (l < 0)
		return -EINVAL;
	n->st.pushes++;
	owners(n, n->ms.live, c.type, &c.key, &o, &rp);
	who[0] = o;
	who[1] = rp;
	for (i = 0; i < 2; i++) {
		if (who[i] < 0)
			continue;
		if (who[i] == n->ms.self) {
			if (cluster_store_put(n->store, now, &c) == 0) {
				n->st.push_local++;
				kept++;
			} else {
				n->st.store_full++;
			}
		} else if (queue_item(n, who[i], item, (size_t)l, 0) == 0) {
			n->st.push_copies++;
			kept++;
		} else {
			n->st.push_overflows++;
		}
	}
	return kept > 0 ? 0 : -ENOBUFS;
}

int
cluster_node_query(struct cluster_node *n, uint64_t now, uint8_t rtype, const struct flow_key *k,
		   uint64_t cookie, struct cluster_actions *out)
{
	struct cluster_rec r;
	int o, rp, target, alt;

	if ((rtype != CLUSTER_ITEM_FLOW && rtype != CLUSTER_ITEM_AFFINITY) ||
	    (k->family != 4 && k->family != 6))
		return -EINVAL;
	owners(n, n->ms.live, rtype, k, &o, &rp);
	target = o;
	alt = rp;
	if (o == n->ms.self || rp == n->ms.self) {
		if (cluster_store_get(n->store, now, rtype, k, &r)) {
			n->st.queries_local++;
			install(n, &r, cookie, n->c.self_id, CLUSTER_REASON_LOCAL, out);
			return 0;
		}
		/* We should hold it and do not (we restarted, or it moved): ask the other holder.
		 */
		target = o == n->ms.self ? rp : o;
		alt = -1;
		if (target < 0) {
			cluster_queries_stats(n->queries)->outcomes[CLUSTER_QUERY_NO_OWNER]++;
			query_failed(n, rtype, k, cookie, CLUSTER_REASON_NO_OWNER, out);
			return 0;
		}
	}
	return cluster_queries_add(n->queries, now, rtype, k, target, alt, cookie);
}

/* Ticks. */

static bool
all_heard(const struct cluster_node *n)
{
	return cluster_members_live_count(&n->ms) == n->ms.n;
}

/*
 * One slice of the rebalancing scan. Who sends a record: the first of its
 * old owner and replica that is still live (so one copy goes, not two), or
 * we when neither is and we hold it.
 */
static void
scan_step(struct cluster_node *n, uint64_t now)
{
	struct scan *s = &n->scan;
	uint8_t item[CLUSTER_ITEM_MAX];
	struct cluster_rec r;
	int oo, orp, no, nr, resp, dst[2], i, l;
	uint32_t done;
	uint64_t h, j;

	for (done = 0; !s->ending && done < n->c.scan_slots; done++) {
		if (s->pos >= cluster_store_capacity(n->store)) {
			s->ending = true;
			s->end_owed = s->joiners;
			break;
		}
		if (!cluster_store_at(n->store, s->pos, now, &r)) {
			s->pos++;
			continue;
		}
		h = cluster_owner_hash(r.type, &r.key);
		cluster_owner_pick(n->ms.ids, s->from, h, &oo, &orp);
		cluster_owner_pick(n->ms.ids, s->to, h, &no, &nr);
		resp = oo >= 0 && (s->to >> oo & 1)     ? oo
		       : orp >= 0 && (s->to >> orp & 1) ? orp
							: n->ms.self;
		dst[0] = no;
		dst[1] = nr;
		if (resp == n->ms.self) {
			r.flags = CLUSTER_ITEM_F_BULK;
			l = cluster_wire_rec_encode(item, sizeof(item), &r);
			for (i = 0; i < 2 && l > 0; i++) {
				struct cluster_peer *p;

				if (dst[i] < 0 || dst[i] == n->ms.self || dst[i] == oo ||
				    dst[i] == orp)
					continue;
				p = &n->peer[dst[i]];
				/* No room or no tokens: resume here later (a record may go twice).
				 */
				if (cluster_bucket_avail(&p->bulk, now) == 0 ||
				    cluster_stream_room(p->stream) <= n->c.sync.bulk_reserve)
					return;
			}
			for (i = 0; i < 2 && l > 0; i++) {
				if (dst[i] < 0 || dst[i] == n->ms.self || dst[i] == oo ||
				    dst[i] == orp)
					continue;
				if (i == 1 && dst[1] == dst[0])
					continue;
				queue_item(n, dst[i], item, (size_t)l, n->c.sync.bulk_reserve);
				cluster_bucket_take(&n->peer[dst[i]].bulk, 1);
				s->sent[dst[i]]++;
				n->st.bulk_sent++;
			}
		}
		s->pos++;
	}
	if (!s->ending)
		return;
	for (j = s->end_owed; j != 0; j &= j - 1) {
		i = __builtin_ctzll(j);
		if (!(n->ms.live >> i & 1)) {
			s->end_owed &= ~(1ULL << i);
			continue;
		}
		cluster_wire_marker_encode(item, sizeof(item), CLUSTER_ITEM_BULK_END, s->id,
					   s->sent[i]);
		if (queue_item(n, i, item, CLUSTER_ITEM_MARKER_LEN, 0) == 0)
			s->end_owed &= ~(1ULL << i);
	}
	if (s->end_owed == 0) {
		s->active = false;
		n->placed = s->to;
		n->st.scans_done++;
	}
}

void
cluster_node_tick(struct cluster_node *n, uint64_t now, struct cluster_actions *out)
{
	struct cluster_member_event ev[CLUSTER_MAX_MEMBERS];
	struct cluster_query failed[32];
	unsigned int dropped = out->dropped, k, i, room;

	n->now = now;
	if (!n->started &&
	    (all_heard(n) || now - n->start_ns >= cluster_members_dead_ns(&n->ms, n->ms.self))) {
		n->started = true;
		cluster_gen_started(n->gen, now, out);
	}
	k = cluster_members_tick(&n->ms, now, ev, CLUSTER_MAX_MEMBERS);
	for (i = 0; i < k; i++)
		member_event(n, now, &ev[i], out);
	for (i = 0; i < n->ms.n; i++)
		if ((int)i != n->ms.self && n->ms.m[i].alive)
			cluster_stream_tick(n->peer[i].stream, now);
	room = cluster_actions_room(out);
	if (room > 16) {
		room -= 16; /* leave some for what follows */
		k = cluster_queries_tick(n->queries, now, failed, room < 32 ? room : 32);
		for (i = 0; i < k; i++)
			query_failed(n, failed[i].rtype, &failed[i].key, failed[i].cookie,
				     CLUSTER_REASON_TIMEOUT, out);
	}
	cluster_gen_tick(n->gen, now, out);
	note_commits(n, now);
	if (n->transition_end_ns != 0 && now >= n->transition_end_ns) {
		struct cluster_action *a =
			cluster_action_add(out, CLUSTER_ACT_TRANSITION_END, CLUSTER_REASON_NONE);

		if (a != NULL)
			a->gen = n->transition_gen;
		n->transition_end_ns = 0;
	}
	if (n->scan.active)
		scan_step(n, now);
	cluster_store_expire(n->store, now, n->c.expire_slots);
	n->st.actions_dropped += out->dropped - dropped;
}

static uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t
cluster_node_next_deadline(const struct cluster_node *n)
{
	uint64_t d = cluster_members_next_deadline(&n->ms), now = n->now;
	unsigned int i;

	if (!n->started)
		d = min64(d, n->start_ns + cluster_members_dead_ns(&n->ms, n->ms.self));
	d = min64(d, cluster_queries_next_deadline(n->queries));
	d = min64(d, cluster_gen_next_deadline(n->gen));
	if (n->transition_end_ns != 0)
		d = min64(d, n->transition_end_ns);
	/* The scan goes on at every tick; a blocked one waits for acks or tokens. */
	if (n->scan.active)
		d = min64(d, now + NS_PER_MS / 4);
	for (i = 0; i < n->ms.n; i++) {
		const struct cluster_peer *p = &n->peer[i];

		if ((int)i == n->ms.self || !n->ms.m[i].alive)
			continue;
		d = min64(d, cluster_stream_next_deadline(p->stream));
		/* Work held back by the rate limits is due when the tokens are. */
		if (p->answers.n > 0 || cluster_queries_due(n->queries, (int)i) ||
		    cluster_stream_tx_ready(p->stream))
			d = min64(d, min64(cluster_bucket_when(&p->tx_records, now, 1),
					   cluster_bucket_when(&p->tx_datagrams, now, 1)) +
					     1);
	}
	/* The ageing goes round the store, a slice a tick: at least every 10 ms. */
	d = min64(d, now + 10 * NS_PER_MS);
	return d;
}

bool
cluster_node_in_transition(const struct cluster_node *n, uint64_t now)
{
	return n->transition_end_ns != 0 && now < n->transition_end_ns;
}

bool
cluster_node_in_service(const struct cluster_node *n)
{
	return cluster_gen_in_service(n->gen);
}

int
cluster_node_member_addr(const struct cluster_node *n, uint16_t id, uint8_t *family,
			 uint8_t addr[16])
{
	int i = cluster_members_find(&n->ms, id);

	if (i < 0)
		return -ENOENT;
	*family = n->ms.m[i].family;
	memcpy(addr, n->ms.m[i].addr, 16);
	return 0;
}

const struct cluster_members *
cluster_node_members(const struct cluster_node *n)
{
	return &n->ms;
}

const struct cluster_node_stats *
cluster_node_stats(const struct cluster_node *n)
{
	return &n->st;
}

struct cluster_store *
cluster_node_store(const struct cluster_node *n)
{
	return n->store;
}

struct cluster_gen *
cluster_node_gen(const struct cluster_node *n)
{
	return n->gen;
}

struct cluster_queries *
cluster_node_queries(const struct cluster_node *n)
{
	return n->queries;
}

struct cluster_stream *
cluster_node_stream(const struct cluster_node *n, uint16_t id)
{
	int i = cluster_members_find(&n->ms, id);

	return i >= 0 && i != n->ms.self ? n->peer[i].stream : NULL;
}
