/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_owner.h"
#include "cluster/cluster_sync.h"

#define NS_PER_MS 1000000ULL
#define NANO 1000000000ULL

void
cluster_sync_conf_defaults(struct cluster_sync_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->queue = 16384;
	c->window = 2048;
	c->bulk_reserve = 4096;
	c->rto_initial_ms = 20;
	c->rto_min_ms = 2;
	c->rto_max_ms = 1000;
	c->ack_delay_ms = 1;
	c->ack_every = 4;
	c->query_timeout_ms = 5;
	c->query_tries = 3;
	c->query_max = 4096;
	c->answer_queue = 2048;
	/*
	 * Per peer: four times the benchmark's aggregate 1M records/s, and
	 * bursts of a few datagrams' worth; bulk rebalancing gets a quarter.
	 */
	c->peer_records_per_s = 4000000;
	c->peer_records_burst = 16384;
	c->peer_datagrams_per_s = 200000;
	c->peer_datagrams_burst = 512;
	c->bulk_records_per_s = 1000000;
	c->rx_records_per_s = 4000000;
	c->rx_records_burst = 65536;
}

static bool
pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

int
cluster_sync_conf_check(const struct cluster_sync_conf *c)
{
	if (!pow2(c->queue) || !pow2(c->window) || c->window > c->queue || c->queue > (1u << 24) ||
	    c->bulk_reserve >= c->queue || c->rto_min_ms == 0 || c->rto_min_ms > c->rto_max_ms ||
	    c->rto_initial_ms == 0 || c->ack_every == 0 || c->query_timeout_ms == 0 ||
	    c->query_tries == 0 || c->query_tries > 255 || c->query_max == 0 ||
	    c->query_max > (1u << 20) || c->answer_queue == 0 || c->answer_queue > (1u << 20))
		return -EINVAL;
	return 0;
}

/* Token buckets. */

void
cluster_bucket_init(struct cluster_bucket *b, uint64_t rate, uint64_t burst, uint64_t now)
{
	b->rate = rate;
	b->burst = burst != 0 ? burst : rate != 0 ? rate : 1;
	if (b->burst > UINT32_MAX)
		b->burst = UINT32_MAX;
	b->nano = b->burst * NANO;
	b->last_ns = now;
}

static void
bucket_refill(struct cluster_bucket *b, uint64_t now)
{
	uint64_t cap = b->burst * NANO, el;

	if (b->rate == 0 || now <= b->last_ns)
		return;
	el = now - b->last_ns;
	b->last_ns = now;
	/* el * rate could overflow: compare with the room left first. */
	if (b->nano >= cap || el >= (cap - b->nano + b->rate - 1) / b->rate)
		b->nano = cap;
	else
		b->nano += el * b->rate;
}

uint32_t
cluster_bucket_avail(struct cluster_bucket *b, uint64_t now)
{
	if (b->rate == 0)
		return UINT32_MAX;
	bucket_refill(b, now);
	return (uint32_t)(b->nano / NANO);
}

void
cluster_bucket_take(struct cluster_bucket *b, uint32_t n)
{
	uint64_t t = (uint64_t)n * NANO;

	if (b->rate == 0)
		return;
	b->nano = b->nano > t ? b->nano - t : 0;
}

uint64_t
cluster_bucket_when(const struct cluster_bucket *b, uint64_t now, uint32_t n)
{
	uint64_t need = (uint64_t)(n > b->burst ? b->burst : n) * NANO, at;

	if (b->rate == 0 || b->nano >= need)
		return now;
	at = b->last_ns + (need - b->nano + b->rate - 1) / b->rate;
	return at > now ? at : now;
}

/* The push stream. */

struct tx_slot {
	uint64_t tx_no;   /* the datagram that last carried it */
	uint64_t sent_ns; /* last sent */
	uint8_t len;
	uint8_t sends;
	uint8_t sacked;
	uint8_t retx;
	uint8_t bytes[CLUSTER_ITEM_MAX];
};

struct rx_slot {
	uint8_t present;
	uint8_t len;
	uint8_t bytes[CLUSTER_ITEM_MAX];
};

struct cluster_stream {
	struct cluster_sync_conf c;
	uint64_t seed;

	/* Ours: [base, next) held, [base, snd_nxt) sent at least once. */
	struct tx_slot *tx;
	uint32_t tmask;
	uint64_t id;
	uint64_t base, next, snd_nxt;
	uint64_t retx_lo; /* no flagged record below */
	uint32_t n_retx;
	uint64_t tx_no;
	uint64_t srtt, rttvar, rto, rto_at;

	/* The peer's: everything below rcv_nxt was delivered. */
	struct rx_slot *rx;
	uint32_t rmask;
	uint64_t rx_id; /* 0: none yet */
	uint64_t rcv_nxt;
	uint64_t rx_high; /* highest number held out of order; 0: none */
	uint64_t ack_at;  /* an ACK datagram is due then; 0: none */
	uint32_t data_since_ack;

	struct cluster_stream_stats st;
};

static uint64_t
stream_id(const struct cluster_stream *s)
{
	uint64_t id = cluster_mix64(s->seed + s->st.resets * 0x9e3779b97f4a7c15ULL);

	return id != 0 ? id : 1;
}

static void
tx_start(struct cluster_stream *s)
{
	s->id = stream_id(s);
	s->base = s->next = s->snd_nxt = 1;
	s->retx_lo = 0;
	s->n_retx = 0;
	s->rto_at = 0;
	s->rto = (uint64_t)s->c.rto_initial_ms * NS_PER_MS;
	s->srtt = s->rttvar = 0;
}

struct cluster_stream *
cluster_stream_create(const struct cluster_sync_conf *c, uint64_t id_seed, uint64_t now)
{
	struct cluster_stream *s;

	if (cluster_sync_conf_check(c) < 0) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->tx = calloc(c->queue, sizeof(*s->tx));
	s->rx = calloc(c->window, sizeof(*s->rx));
	if (s->tx == NULL || s->rx == NULL) {
		cluster_stream_free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->c = *c;
	s->seed = id_seed;
	s->tmask = c->queue - 1;
	s->rmask = c->window - 1;
	tx_start(s);
	return s;
}

void
cluster_stream_free(struct cluster_stream *s)
{
	if (s == NULL)
		return;
	free(s->tx);
	free(s->rx);
	free(s);
}

static inline struct tx_slot *
tslot(const struct cluster_stream *s, uint64_t seq)
{
	return &s->tx[seq & s->tmask];
}

uint32_t
cluster_stream_room(const struct cluster_stream *s)
{
	return s->c.queue - (uint32_t)(s->next - s->base);
}

uint32_t
cluster_stream_backlog(const struct cluster_stream *s)
{
	return (uint32_t)(s->next - s->base);
}

int
cluster_stream_push(struct cluster_stream *s, const uint8_t *item, size_t len, uint32_t reserve)
{
	struct tx_slot *t;

	if (len == 0 || len > CLUSTER_ITEM_MAX)
		return -EINVAL;
	if (cluster_stream_room(s) <= reserve) {
		s->st.overflows++;
		return -ENOBUFS;
	}
	t = tslot(s, s->next);
	memcpy(t->bytes, item, len);
	t->len = (uint8_t)len;
	t->sends = 0;
	t->sacked = 0;
	t->retx = 0;
	t->sent_ns = 0;
	t->tx_no = 0;
	s->next++;
	s->st.pushed++;
	return 0;
}

void
cluster_stream_reset_tx(struct cluster_stream *s, uint64_t now)
{
	s->st.resets++;
	tx_start(s);
}

/* RFC 6298 2.2 and 2.3, bounded as its 2.4 and 2.5 allow. */
static void
rtt_sample(struct cluster_stream *s, uint64_t r)
{
	uint64_t lo = (uint64_t)s->c.rto_min_ms * NS_PER_MS;
	uint64_t hi = (uint64_t)s->c.rto_max_ms * NS_PER_MS;
	uint64_t d;

	if (s->srtt == 0) {
		s->srtt = r != 0 ? r : 1;
		s->rttvar = r / 2;
	} else {
		d = s->srtt > r ? s->srtt - r : r - s->srtt;
		s->rttvar = (3 * s->rttvar + d) / 4;
		s->srtt = (7 * s->srtt + r) / 8;
	}
	s->rto = s->srtt + 4 * s->rttvar;
	s->rto = s->rto < lo ? lo : s->rto > hi ? hi : s->rto;
}

static void
unflag(struct cluster_stream *s, struct tx_slot *t)
{
	if (t->retx) {
		t->retx = 0;
		s->n_retx--;
	}
}

void
cluster_stream_rx_ackhdr(struct cluster_stream *s, uint64_t now, uint64_t ack_stream, uint64_t ack)
{
	struct tx_slot *t;
	uint64_t q;

	if (ack_stream != s->id || ack < s->base)
		return; /* another stream's, or old news */
	if (ack >= s->snd_nxt) {
		s->st.bad_acks++;
		return;
	}
	/* Karn: only a record sent once times the round trip. */
	t = tslot(s, ack);
	if (t->sends == 1 && now >= t->sent_ns)
		rtt_sample(s, now - t->sent_ns);
	for (q = s->base; q <= ack; q++)
		unflag(s, tslot(s, q));
	s->base = ack + 1;
	if (s->retx_lo < s->base)
		s->retx_lo = s->base;
	s->rto_at = s->base < s->snd_nxt ? now + s->rto : 0;
}

static void
flag(struct cluster_stream *s, uint64_t seq)
{
	struct tx_slot *t = tslot(s, seq);

	if (t->retx || t->sacked || t->sends == 0)
		return;
	t->retx = 1;
	s->n_retx++;
	if (seq < s->retx_lo || s->retx_lo < s->base)
		s->retx_lo = seq;
}

void
cluster_stream_rx_sack(struct cluster_stream *s, uint64_t now, uint64_t ack_stream,
		       const struct cluster_sack *r, unsigned int n)
{
	uint64_t top_tx = 0, top_seq = 0, q, lo, hi;
	unsigned int i;

	if (ack_stream != s->id)
		return;

	for (i = 0; i < n; i++) {
		lo = r[i].first > s->base ? r[i].first : s->base;
		hi = r[i].first + r[i].count; /* checked by the decoder: no overflow */
		if (hi > s->snd_nxt)
			hi = s->snd_nxt;
		for (q = lo; q < hi; q++) {
			struct tx_slot *t = tslot(s, q);

			if (!t->sacked) {
				t->sacked = 1;
				unflag(s, t);
			}
			if (t->tx_no > top_tx)
				top_tx = t->tx_no;
			if (q > top_seq)
				top_seq = q;
		}
	}
	/*
	 * A record sent in an earlier datagram than one that arrived is lost
	 * (RACK, RFC 8985, with datagram numbers for times): send it again.
	 */
	for (q = s->base; q < top_seq; q++)
		if (tslot(s, q)->tx_no < top_tx)
			flag(s, q);
}

void
cluster_stream_tick(struct cluster_stream *s, uint64_t now)
{
	uint64_t q, hi = (uint64_t)s->c.rto_max_ms * NS_PER_MS;

	if (s->rto_at == 0 || now < s->rto_at || s->base >= s->snd_nxt)
		return;
	s->st.rto_expiries++;
	for (q = s->base; q < s->snd_nxt; q++)
		flag(s, q);
	s->rto = s->rto * 2 > hi ? hi : s->rto * 2;
	s->rto_at = now + s->rto;
}

bool
cluster_stream_tx_ready(const struct cluster_stream *s)
{
	return s->n_retx > 0 || (s->snd_nxt < s->next && s->snd_nxt < s->base + s->c.window);
}

/* Append the record seq to the body being built: false when it does not fit. */
static bool
append(struct cluster_stream *s, uint64_t seq, uint64_t now, uint8_t *p, size_t cap, size_t *off)
{
	struct tx_slot *t = tslot(s, seq);

	if (*off + t->len > cap)
		return false;
	memcpy(p + *off, t->bytes, t->len);
	*off += t->len;
	t->tx_no = s->tx_no;
	t->sent_ns = now;
	if (t->sends < 255)
		t->sends++;
	return true;
}

size_t
cluster_stream_tx(struct cluster_stream *s, uint64_t now, uint8_t *p, size_t cap,
		  uint32_t max_items, uint8_t *count)
{
	size_t off = CLUSTER_WIRE_PUSH_HDR_LEN;
	uint64_t first = 0, q;
	uint32_t n = 0;

	*count = 0;
	if (cap < CLUSTER_WIRE_PUSH_HDR_LEN + CLUSTER_ITEM_MAX || max_items == 0)
		return 0;
	if (max_items > 255)
		max_items = 255;
	s->tx_no++;
	if (s->n_retx > 0) {
		/* The lowest flagged record and the flagged run after it: one lost datagram. */
		for (q = s->retx_lo > s->base ? s->retx_lo : s->base; q < s->snd_nxt; q++)
			if (tslot(s, q)->retx)
				break;
		if (q == s->snd_nxt)
			s->n_retx = 0; /* cannot happen: flags live in [base, snd_nxt) */
		s->retx_lo = q;
		first = q;
		while (q < s->snd_nxt && n < max_items && tslot(s, q)->retx &&
		       append(s, q, now, p, cap, &off)) {
			unflag(s, tslot(s, q));
			s->st.resent++;
			n++;
			q++;
		}
	}
	if (n == 0) {
		first = s->snd_nxt;
		while (s->snd_nxt < s->next && s->snd_nxt < s->base + s->c.window &&
		       n < max_items && append(s, s->snd_nxt, now, p, cap, &off)) {
			s->st.sent++;
			s->snd_nxt++;
			n++;
		}
	}
	if (n == 0)
		return 0;
	cluster_wire_push_hdr_encode(p, s->id, s->base, first);
	if (s->rto_at == 0)
		s->rto_at = now + s->rto;
	s->st.datagrams++;
	*count = (uint8_t)n;
	return off;
}

uint64_t
cluster_stream_next_deadline(const struct cluster_stream *s)
{
	uint64_t d = UINT64_MAX;

	if (s->rto_at != 0 && s->base < s->snd_nxt)
		d = s->rto_at;
	if (s->ack_at != 0 && s->ack_at < d)
		d = s->ack_at;
	return d;
}

uint64_t
cluster_stream_rto_ns(const struct cluster_stream *s)
{
	return s->rto;
}

static inline struct rx_slot *
rslot(const struct cluster_stream *s, uint64_t seq)
{
	return &s->rx[seq & s->rmask];
}

static void
rx_clear(struct cluster_stream *s)
{
	uint32_t i;

	for (i = 0; i <= s->rmask; i++)
		s->rx[i].present = 0;
	s->rx_high = 0;
}

/* Deliver what is in order from rcv_nxt on. */
static unsigned int
rx_deliver(struct cluster_stream *s, cluster_deliver_fn fn, void *arg)
{
	struct cluster_item it;
	unsigned int n = 0;
	struct rx_slot *r;

	while ((r = rslot(s, s->rcv_nxt))->present) {
		r->present = 0;
		if (cluster_wire_item_decode(r->bytes, r->len, &it) > 0 && fn != NULL)
			fn(arg, s->rcv_nxt, &it);
		s->rcv_nxt++;
		s->st.delivered++;
		n++;
	}
	if (s->rx_high < s->rcv_nxt)
		s->rx_high = 0;
	return n;
}

unsigned int
cluster_stream_rx_push(struct cluster_stream *s, uint64_t now, const struct cluster_msg_push *m,
		       uint8_t count, cluster_deliver_fn fn, void *arg)
{
	uint64_t seq, w = s->rmask + 1ULL;
	unsigned int i, n = 0;
	bool dup = false;
	size_t off = 0;
	int len;

	if (m->stream != s->rx_id) {
		if (s->rx_id != 0)
			s->st.rx_resets++;
		s->rx_id = m->stream;
		s->rcv_nxt = m->tx_low;
		rx_clear(s);
	}
	if (m->tx_low > s->rcv_nxt) {
		/* The sender no longer holds these: take what we have of them, skip the rest. */
		if (m->tx_low - s->rcv_nxt > w) {
			s->st.rx_lost += m->tx_low - s->rcv_nxt;
			rx_clear(s);
			s->rcv_nxt = m->tx_low;
		}
		while (s->rcv_nxt < m->tx_low) {
			if (!rslot(s, s->rcv_nxt)->present) {
				s->st.rx_lost++;
				s->rcv_nxt++;
			}
			n += rx_deliver(s, fn, arg);
		}
	}
	for (i = 0; i < count; i++) {
		struct rx_slot *r;

		seq = m->first + i;
		len = m->items[off + 2]; /* the decoder checked every item */
		if (seq < s->rcv_nxt) {
			s->st.rx_duplicates++;
			dup = true;
		} else if (seq - s->rcv_nxt >= w) {
			s->st.rx_beyond_window++;
		} else if ((r = rslot(s, seq))->present) {
			s->st.rx_duplicates++;
			dup = true;
		} else {
			r->present = 1;
			r->len = (uint8_t)len;
			memcpy(r->bytes, m->items + off, (size_t)len);
			if (seq > s->rx_high)
				s->rx_high = seq;
		}
		off += (size_t)len;
	}
	n += rx_deliver(s, fn, arg);
	s->data_since_ack++;
	/* A hole or a duplicate (our ack was lost) is reported at once. */
	if (s->rx_high >= s->rcv_nxt || dup || s->data_since_ack >= s->c.ack_every)
		s->ack_at = now;
	else if (s->ack_at == 0)
		s->ack_at = now + (uint64_t)s->c.ack_delay_ms * NS_PER_MS;
	return n;
}

void
cluster_stream_ackhdr(struct cluster_stream *s, uint64_t *ack_stream, uint64_t *ack)
{
	*ack_stream = s->rx_id;
	*ack = s->rx_id != 0 ? s->rcv_nxt - 1 : 0;
	/* A hole still needs an ACK datagram to list it. */
	if (s->rx_high < s->rcv_nxt) {
		s->ack_at = 0;
		s->data_since_ack = 0;
	}
}

bool
cluster_stream_ack_due(const struct cluster_stream *s, uint64_t now)
{
	return s->ack_at != 0 && now >= s->ack_at;
}

unsigned int
cluster_stream_sack(const struct cluster_stream *s, struct cluster_sack *r, unsigned int max)
{
	struct cluster_stream *w = (struct cluster_stream *)(uintptr_t)s;
	unsigned int n = 0;
	uint64_t q;

	w->ack_at = 0;
	w->data_since_ack = 0;
	w->st.acks_sent++;
	if (s->rx_high < s->rcv_nxt)
		return 0;
	for (q = s->rcv_nxt; q <= s->rx_high && n < max; q++) {
		if (!rslot(s, q)->present)
			continue;
		if (n > 0 && r[n - 1].first + r[n - 1].count == q) {
			r[n - 1].count++;
		} else {
			r[n].first = q;
			r[n].count = 1;
			n++;
		}
	}
	return n;
}

const struct cluster_stream_stats *
cluster_stream_stats(const struct cluster_stream *s)
{
	return &s->st;
}

/* Pending queries: a dense array, and an open-addressing index into it. */

static const char *const outcome_names[CLUSTER_QUERY_OUTCOME_MAX] = {
#define _(sym, str) [CLUSTER_QUERY_##sym] = str,
	foreach_cluster_query_outcome
#undef _
};

const char *
cluster_query_outcome_name(int o)
{
	return o >= 0 && o < CLUSTER_QUERY_OUTCOME_MAX ? outcome_names[o] : "unknown";
}

struct qent {
	struct cluster_query q;
	uint64_t hash;
};

struct cluster_queries {
	struct cluster_sync_conf c;
	struct qent *e;
	uint32_t n, cap;
	uint32_t *index; /* dense position + 1; 0: empty */
	uint32_t imask;
	uint32_t due[CLUSTER_MAX_MEMBERS];
	struct cluster_query_stats st;
};

struct cluster_queries *
cluster_queries_create(const struct cluster_sync_conf *c)
{
	struct cluster_queries *q;
	uint32_t ni = 4;

	if (cluster_sync_conf_check(c) < 0) {
		errno = EINVAL;
		return NULL;
	}
	while (ni < 2 * c->query_max)
		ni <<= 1;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->e = calloc(c->query_max, sizeof(*q->e));
	q->index = calloc(ni, sizeof(*q->index));
	if (q->e == NULL || q->index == NULL) {
		cluster_queries_free(q);
		errno = ENOMEM;
		return NULL;
	}
	q->c = *c;
	q->cap = c->query_max;
	q->imask = ni - 1;
	return q;
}

void
cluster_queries_free(struct cluster_queries *q)
{
	if (q == NULL)
		return;
	free(q->e);
	free(q->index);
	free(q);
}

static bool
key_eq(const struct cluster_query *a, uint8_t rtype, const struct flow_key *k)
{
	return a->rtype == rtype && memcmp(&a->key, k, sizeof(*k)) == 0;
}

/* The index slot of (rtype, k), or of the empty slot where it would go. */
static uint32_t
islot(const struct cluster_queries *q, uint8_t rtype, const struct flow_key *k, uint64_t h)
{
	uint32_t i = (uint32_t)h & q->imask, v;

	while ((v = q->index[i]) != 0) {
		if (q->e[v - 1].hash == h && key_eq(&q->e[v - 1].q, rtype, k))
			break;
		i = (i + 1) & q->imask;
	}
	return i;
}

struct cluster_query *
cluster_queries_find(struct cluster_queries *q, uint8_t rtype, const struct flow_key *k)
{
	uint64_t h = cluster_key_hash(rtype, k);
	uint32_t v = q->index[islot(q, rtype, k, h)];

	return v != 0 ? &q->e[v - 1].q : NULL;
}

static void
set_due(struct cluster_queries *q, struct cluster_query *e, bool due)
{
	if (e->due == due)
		return;
	e->due = due;
	if (e->target >= 0 && e->target < CLUSTER_MAX_MEMBERS) {
		if (due)
			q->due[e->target]++;
		else
			q->due[e->target]--;
	}
}

int
cluster_queries_add(struct cluster_queries *q, uint64_t now, uint8_t rtype,
		    const struct flow_key *k, int target, int alt, uint64_t cookie)
{
	uint64_t h = cluster_key_hash(rtype, k);
	uint32_t i = islot(q, rtype, k, h);
	struct qent *e;

	if (q->index[i] != 0) {
		q->e[q->index[i] - 1].q.cookie |= cookie;
		q->st.coalesced++;
		return -EALREADY;
	}
	if (q->n == q->cap || target < 0 || target >= CLUSTER_MAX_MEMBERS) {
		q->st.full++;
		return -ENOBUFS;
	}
	e = &q->e[q->n];
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->q.rtype = rtype;
	e->q.key = *k;
	e->q.target = target;
	e->q.alt = alt != target ? alt : -1;
	e->q.cookie = cookie;
	e->q.started_ns = now;
	e->q.sent_ns = now;
	set_due(q, &e->q, true);
	q->index[i] = ++q->n;
	q->st.started++;
	return 0;
}

static uint32_t
home(const struct cluster_queries *q, uint32_t v)
{
	return (uint32_t)q->e[v - 1].hash & q->imask;
}

/* Linear probing's deletion by backward shift: no tombstones. */
static void
index_delete(struct cluster_queries *q, uint32_t i)
{
	uint32_t j = i, k;

	for (;;) {
		j = (j + 1) & q->imask;
		if (q->index[j] == 0)
			break;
		k = home(q, q->index[j]);
		/* Move j into the hole i unless its home lies cyclically in (i, j]. */
		if ((i <= j) ? (k <= i || k > j) : (k <= i && k > j)) {
			q->index[i] = q->index[j];
			i = j;
		}
	}
	q->index[i] = 0;
}

uint64_t
cluster_queries_remove(struct cluster_queries *q, struct cluster_query *eq)
{
	struct qent *e = (struct qent *)(void *)eq;
	uint32_t pos = (uint32_t)(e - q->e), last = q->n - 1, i;
	uint64_t cookie = eq->cookie;

	set_due(q, eq, false);
	index_delete(q, islot(q, eq->rtype, &eq->key, e->hash));
	if (pos != last) {
		/* The last entry fills the gap: repoint its index slot. */
		i = islot(q, q->e[last].q.rtype, &q->e[last].q.key, q->e[last].hash);
		q->e[pos] = q->e[last];
		q->index[i] = pos + 1;
	}
	q->n--;
	return cookie;
}

bool
cluster_queries_fallback(struct cluster_queries *q, struct cluster_query *e, uint64_t now)
{
	if (e->on_alt || e->alt < 0)
		return false;
	set_due(q, e, false);
	e->target = e->alt;
	e->on_alt = true;
	e->tries = 0;
	e->sent_ns = now;
	set_due(q, e, true);
	q->st.fallbacks++;
	return true;
}

bool
cluster_queries_due(const struct cluster_queries *q, int idx)
{
	return idx >= 0 && idx < CLUSTER_MAX_MEMBERS && q->due[idx] != 0;
}

unsigned int
cluster_queries_take(struct cluster_queries *q, int idx, uint64_t now, struct cluster_query **out,
		     unsigned int max)
{
	unsigned int n = 0;
	uint32_t i;

	for (i = 0; i < q->n && n < max && cluster_queries_due(q, idx); i++) {
		struct cluster_query *e = &q->e[i].q;

		if (!e->due || e->target != idx)
			continue;
		set_due(q, e, false);
		if (e->tries < 255)
			e->tries++;
		e->sent_ns = now;
		q->st.sent++;
		out[n++] = e;
	}
	return n;
}

unsigned int
cluster_queries_tick(struct cluster_queries *q, uint64_t now, struct cluster_query *out,
		     unsigned int max)
{
	uint64_t to = (uint64_t)q->c.query_timeout_ms * NS_PER_MS;
	unsigned int n = 0;
	uint32_t i;

	/* Backwards: a removal moves the last entry, which was already seen, into i. */
	for (i = q->n; i-- > 0;) {
		struct cluster_query *e = &q->e[i].q;

		if (e->due || now < e->sent_ns + to)
			continue;
		if (e->tries < q->c.query_tries) {
			set_due(q, e, true);
			q->st.retries++;
		} else if (!cluster_queries_fallback(q, e, now)) {
			if (n == max)
				continue;
			out[n] = *e;
			q->st.outcomes[CLUSTER_QUERY_TIMEOUT]++;
			cluster_queries_remove(q, e);
			n++;
		}
	}
	return n;
}

void
cluster_queries_member_down(struct cluster_queries *q, int idx, uint64_t now)
{
	uint64_t to = (uint64_t)q->c.query_timeout_ms * NS_PER_MS;
	uint32_t i;

	for (i = 0; i < q->n; i++) {
		struct cluster_query *e = &q->e[i].q;

		if (e->target != idx || cluster_queries_fallback(q, e, now))
			continue;
		/* Nobody left to ask: the next tick fails it. */
		set_due(q, e, false);
		e->tries = (uint8_t)q->c.query_tries;
		e->sent_ns = now >= to ? now - to : 0;
	}
}

uint64_t
cluster_queries_next_deadline(const struct cluster_queries *q)
{
	uint64_t to = (uint64_t)q->c.query_timeout_ms * NS_PER_MS, d = UINT64_MAX;
	uint32_t i;

	for (i = 0; i < q->n; i++)
		if (!q->e[i].q.due && q->e[i].q.sent_ns + to < d)
			d = q->e[i].q.sent_ns + to;
	return d;
}

uint32_t
cluster_queries_count(const struct cluster_queries *q)
{
	return q->n;
}

struct cluster_query_stats *
cluster_queries_stats(struct cluster_queries *q)
{
	return &q->st;
}

/* Answers owed to a peer. */

int
cluster_answers_init(struct cluster_answers *a, uint32_t cap)
{
	memset(a, 0, sizeof(*a));
	a->item = calloc(cap, sizeof(*a->item));
	if (a->item == NULL)
		return -ENOMEM;
	a->cap = cap;
	return 0;
}

void
cluster_answers_fini(struct cluster_answers *a)
{
	free(a->item);
	a->item = NULL;
	a->cap = a->n = 0;
}

int
cluster_answers_add(struct cluster_answers *a, const uint8_t *item, size_t len)
{
	if (len < CLUSTER_ITEM_HDR_LEN || len > CLUSTER_ITEM_MAX || item[2] != len)
		return -EINVAL;
	if (a->n == a->cap) {
		a->dropped++;
		return -ENOBUFS;
	}
	memcpy(a->item[(a->head + a->n) % a->cap], item, len);
	a->n++;
	return 0;
}

size_t
cluster_answers_take(struct cluster_answers *a, uint8_t *p, size_t cap, uint32_t max,
		     uint8_t *count)
{
	size_t off = 0, len;
	uint32_t n = 0;

	if (max > 255)
		max = 255;
	while (a->n > 0 && n < max) {
		len = a->item[a->head][2];
		if (off + len > cap)
			break;
		memcpy(p + off, a->item[a->head], len);
		off += len;
		a->head = (a->head + 1) % a->cap;
		a->n--;
		n++;
	}
	*count = (uint8_t)n;
	return off;
}
