/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ha/ha_sync.h"

#define NS_PER_MS 1000000ULL
/* Records up to this size live in their queue slot; larger ones (blobs) in the blob ring. */
#define SLOT_INLINE 64
/* Slots only BULK_START / BULK_END may take: a full queue can still say "resync". */
#define CTRL_RESERVE 8

struct tx_ent {
	uint64_t tx_ns;    /* last sent; 0: never */
	uint32_t blob_off; /* in the blob ring, when len > SLOT_INLINE */
	uint16_t len;
	uint8_t sends; /* times sent, saturating */
	uint8_t retx;  /* to be sent again */
	uint8_t data[SLOT_INLINE];
};

/* A datagram that arrived ahead of a hole, waiting for it to fill. */
struct rx_slot {
	uint64_t first;
	uint16_t count;
	uint16_t len;
	bool used;
	uint8_t recs[HA_WIRE_BODY_MAX - HA_WIRE_SYNC_HDR_LEN];
};

struct ha_sync {
	struct ha_sync_conf c;
	uint64_t epoch;

	/* Our stream: records [base, next) are held, [base, snd_nxt) were sent. */
	struct tx_ent *ent;
	uint64_t emask;
	uint8_t *blob;
	uint32_t blob_head, blob_tail, blob_live;
	uint64_t base, next, snd_nxt;
	uint64_t retx_lo; /* no record below is flagged; 0: none flagged */
	uint32_t n_retx;
	uint64_t srtt, rttvar, rto, rto_at;
	uint64_t last_tx;
	bool overflowed;
	bool bulk_wanted;
	uint8_t bulk_state;
	uint32_t bulk_id;
	uint64_t bulk_added, bulk_expected, bulk_end_seq;
	uint8_t peer_rx_state;

	/* The peer's stream: everything below rcv_nxt was delivered. */
	uint64_t rx_epoch;
	bool rx_based; /* rcv_nxt is known */
	uint64_t rcv_nxt;
	uint64_t peer_tx_high;
	uint64_t last_data_rx;
	struct rx_slot *pool;
	uint32_t pool_used;
	uint64_t *hole_first, *hole_end; /* scratch for the NACK list, rx_pool each */
	uint8_t rx_state;
	uint32_t bulk_req;
	uint32_t rx_bulk_id;
	uint64_t rx_bulk_got, rx_bulk_expected;
	uint64_t ack_at;  /* a standalone ack is due then; 0: none */
	uint64_t nack_at; /* the next NACK may go then */
	uint32_t data_since_ack;
	ha_sync_deliver_fn deliver;
	void *deliver_arg;

	struct ha_sync_stats st;
};

void
ha_sync_conf_defaults(struct ha_sync_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->queue_records = 16384;
	c->blob_bytes = 1 << 20;
	c->window = 4096;
	c->bulk_reserve = 4096;
	c->rx_pool = 256;
	c->in_sync_backlog = 512;
	c->rto_initial_ms = 50;
	c->rto_min_ms = 5;
	c->rto_max_ms = 1000;
	c->ack_delay_ms = 1;
	c->ack_every = 8;
	c->nack_interval_ms = 5;
	c->alive_ms = 100;
}

struct ha_sync *
ha_sync_create(const struct ha_sync_conf *c, uint64_t epoch, uint64_t now)
{
	struct ha_sync *s;

	if (c->queue_records < 2 * CTRL_RESERVE || (c->queue_records & (c->queue_records - 1)) ||
	    c->bulk_reserve + CTRL_RESERVE >= c->queue_records || c->window == 0 ||
	    c->rx_pool == 0 || c->blob_bytes < HA_WIRE_REC_MAX + 1 || c->rto_min_ms == 0 ||
	    c->rto_min_ms > c->rto_max_ms || c->ack_every == 0 || c->alive_ms == 0 || epoch == 0) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto fail;
	s->ent = calloc(c->queue_records, sizeof(*s->ent));
	s->blob = malloc(c->blob_bytes);
	s->pool = calloc(c->rx_pool, sizeof(*s->pool));
	s->hole_first = calloc(c->rx_pool, sizeof(*s->hole_first));
	s->hole_end = calloc(c->rx_pool, sizeof(*s->hole_end));
	if (s->ent == NULL || s->blob == NULL || s->pool == NULL || s->hole_first == NULL ||
	    s->hole_end == NULL)
		goto fail;
	s->c = *c;
	s->epoch = epoch;
	s->emask = c->queue_records - 1;
	s->base = s->next = s->snd_nxt = 1;
	s->rto = (uint64_t)c->rto_initial_ms * NS_PER_MS;
	s->last_tx = now;
	s->rx_state = HA_RX_NEED_BULK;
	s->bulk_req = 1;
	s->peer_rx_state = HA_RX_NEED_BULK;
	return s;
fail:
	ha_sync_free(s);
	errno = ENOMEM;
	return NULL;
}

void
ha_sync_set_deliver(struct ha_sync *s, ha_sync_deliver_fn fn, void *arg)
{
	s->deliver = fn;
	s->deliver_arg = arg;
}

void
ha_sync_free(struct ha_sync *s)
{
	if (s == NULL)
		return;
	free(s->ent);
	free(s->blob);
	free(s->pool);
	free(s->hole_first);
	free(s->hole_end);
	free(s);
}

static inline struct tx_ent *
ent_of(const struct ha_sync *s, uint64_t seq)
{
	return &s->ent[seq & s->emask];
}

static inline const uint8_t *
ent_bytes(const struct ha_sync *s, const struct tx_ent *e)
{
	return e->len > SLOT_INLINE ? s->blob + e->blob_off : e->data;
}

/*
 * Room for len bytes in the blob ring, or -1. Blobs are freed in the order
 * they were taken; blob_head is the end of the last one freed, which is where
 * the live ones start or (after a wrap) after them: never inside live bytes.
 */
static int64_t
blob_alloc(struct ha_sync *s, uint32_t len)
{
	uint32_t off;

	if (s->blob_live == 0)
		s->blob_head = s->blob_tail = 0;
	if (s->blob_tail >= s->blob_head) {
		if (s->c.blob_bytes - s->blob_tail >= len)
			off = s->blob_tail;
		else if (s->blob_head > len) /* strictly: tail never catches up with head */
			off = 0;
		else
			return -1;
	} else {
		if (s->blob_head - s->blob_tail > len)
			off = s->blob_tail;
		else
			return -1;
	}
	s->blob_tail = off + len;
	s->blob_live++;
	return off;
}

static uint32_t
queue_free(const struct ha_sync *s)
{
	return s->c.queue_records - (uint32_t)(s->next - s->base);
}

/* Queue r if more than `reserve` slots stay free. */
static int
enqueue(struct ha_sync *s, const struct ha_rec *r, uint32_t reserve)
{
	size_t len = ha_wire_rec_len(r);
	struct tx_ent *e;
	uint8_t *dst;
	int64_t off;

	if (len == 0)
		return -EINVAL;
	if (queue_free(s) <= reserve)
		return -ENOBUFS;
	e = ent_of(s, s->next);
	if (len > SLOT_INLINE) {
		off = blob_alloc(s, (uint32_t)len);
		if (off < 0)
			return -ENOBUFS;
		e->blob_off = (uint32_t)off;
		dst = s->blob + off;
	} else {
		dst = e->data;
	}
	e->len = (uint16_t)len;
	if (ha_wire_rec_encode(dst, len, r) != (int)len)
		return -EINVAL; /* cannot happen: len came from ha_wire_rec_len */
	e->sends = 0;
	e->retx = 0;
	e->tx_ns = 0;
	s->next++;
	return 0;
}

static uint32_t
next_bulk_id(struct ha_sync *s)
{
	return s->bulk_id % 0x7fffffff + 1;
}

static int
enqueue_marker(struct ha_sync *s, uint8_t type, uint32_t id, uint64_t count)
{
	struct ha_rec r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.flags = HA_REC_F_BULK;
	r.u.bulk.id = id;
	r.u.bulk.count = count;
	return enqueue(s, &r, 0);
}

/*
 * A record is lost: the peer's copy is no longer complete. Tell it at once (a
 * RESYNC marker in the reserved slots: its copy goes back to "need bulk" and
 * its heartbeat asks for a new bulk sync), and drop the bulk under way.
 */
static void
overflow(struct ha_sync *s)
{
	s->st.overflows++;
	if (s->overflowed)
		return;
	s->overflowed = true;
	s->bulk_wanted = true;
	s->bulk_state = HA_BULK_IDLE;
	enqueue_marker(s, HA_REC_BULK_END, HA_SYNC_RESYNC_ID, 0);
}

static bool
data_type(uint8_t type)
{
	return type == HA_REC_FLOW_ADD || type == HA_REC_FLOW_DEL || type == HA_REC_AFFINITY ||
	       type == HA_REC_BLOB;
}

int
ha_sync_push(struct ha_sync *s, const struct ha_rec *r)
{
	struct ha_rec c;
	int rc;

	if (!data_type(r->type))
		return -EINVAL;
	c = *r;
	c.flags &= (uint8_t)~HA_REC_F_BULK;
	rc = enqueue(s, &c, CTRL_RESERVE);
	if (rc == -ENOBUFS)
		overflow(s);
	else if (rc == 0)
		s->st.pushed++;
	return rc;
}

int
ha_sync_bulk_begin(struct ha_sync *s, uint64_t expected)
{
	uint32_t id = next_bulk_id(s);

	if (enqueue_marker(s, HA_REC_BULK_START, id, expected) < 0)
		return -ENOBUFS;
	s->bulk_id = id;
	s->bulk_state = HA_BULK_RUNNING;
	s->bulk_added = 0;
	s->bulk_expected = expected;
	s->bulk_wanted = false;
	s->overflowed = false;
	s->st.bulks_started++;
	return (int)id;
}

uint32_t
ha_sync_bulk_room(const struct ha_sync *s)
{
	uint32_t f = queue_free(s), keep = CTRL_RESERVE + s->c.bulk_reserve;

	return f > keep ? f - keep : 0;
}

int
ha_sync_bulk_add(struct ha_sync *s, uint32_t id, const struct ha_rec *r)
{
	struct ha_rec c;
	int rc;

	if (s->bulk_state != HA_BULK_RUNNING || id != s->bulk_id)
		return -ESTALE;
	if (!data_type(r->type))
		return -EINVAL;
	c = *r;
	c.flags |= HA_REC_F_BULK;
	rc = enqueue(s, &c, CTRL_RESERVE + s->c.bulk_reserve);
	if (rc == -ENOBUFS)
		return -EAGAIN;
	if (rc == 0)
		s->bulk_added++;
	return rc;
}

int
ha_sync_bulk_end(struct ha_sync *s, uint32_t id)
{
	if (s->bulk_state != HA_BULK_RUNNING || id != s->bulk_id)
		return -ESTALE;
	if (enqueue_marker(s, HA_REC_BULK_END, id, s->bulk_added) < 0)
		return -ENOBUFS;
	s->bulk_end_seq = s->next - 1;
	s->bulk_state = HA_BULK_ENDED;
	return 0;
}

static void
flag_retx(struct ha_sync *s, uint64_t seq)
{
	struct tx_ent *e = ent_of(s, seq);

	if (e->retx)
		return;
	e->retx = 1;
	s->n_retx++;
	if (s->retx_lo == 0 || seq < s->retx_lo)
		s->retx_lo = seq;
}

/* RFC 6298 2.2 and 2.3, with its bounds (2.4, 2.5) from the conf. */
static void
rtt_sample(struct ha_sync *s, uint64_t r)
{
	uint64_t lo = (uint64_t)s->c.rto_min_ms * NS_PER_MS;
	uint64_t hi = (uint64_t)s->c.rto_max_ms * NS_PER_MS;
	uint64_t d;

	if (s->srtt == 0) {
		s->srtt = r;
		s->rttvar = r / 2;
	} else {
		d = s->srtt > r ? s->srtt - r : r - s->srtt;
		s->rttvar = (3 * s->rttvar + d) / 4;
		s->srtt = (7 * s->srtt + r) / 8;
	}
	s->rto = s->srtt + 4 * s->rttvar;
	s->rto = s->rto < lo ? lo : s->rto > hi ? hi : s->rto;
}

/* The peer holds every record up to ack: free them. */
static void
acked(struct ha_sync *s, uint64_t now, uint64_t ack)
{
	struct tx_ent *e;
	uint64_t q;

	if (ack < s->base)
		return;
	if (ack >= s->snd_nxt) {
		s->st.bad_acks++;
		return;
	}
	/* Karn: only a record sent once times the round trip. */
	e = ent_of(s, ack);
	if (e->sends == 1 && now > e->tx_ns)
		rtt_sample(s, now - e->tx_ns);
	for (q = s->base; q <= ack; q++) {
		e = ent_of(s, q);
		if (e->retx) {
			e->retx = 0;
			s->n_retx--;
		}
		if (e->len > SLOT_INLINE) {
			s->blob_live--;
			s->blob_head = e->blob_off + e->len;
		}
	}
	s->base = ack + 1;
	if (s->n_retx == 0)
		s->retx_lo = 0;
	else if (s->retx_lo < s->base)
		s->retx_lo = s->base;
	s->rto_at = s->base < s->snd_nxt ? now + s->rto : 0;
	if (s->bulk_state == HA_BULK_ENDED && s->base > s->bulk_end_seq) {
		s->bulk_state = HA_BULK_IDLE;
		s->st.bulks_done++;
	}
}

void
ha_sync_rx_hdr(struct ha_sync *s, uint64_t now, const struct ha_wire_hdr *h)
{
	if (h->ack_epoch == s->epoch && h->ack != 0)
		acked(s, now, h->ack);
}

static void
need_bulk(struct ha_sync *s)
{
	if (s->rx_state == HA_RX_NEED_BULK)
		return;
	s->rx_state = HA_RX_NEED_BULK;
	s->bulk_req++;
}

static void
pool_clear(struct ha_sync *s)
{
	uint32_t i;

	for (i = 0; i < s->c.rx_pool; i++)
		s->pool[i].used = false;
	s->pool_used = 0;
}

void
ha_sync_peer_reset(struct ha_sync *s, uint64_t now, uint64_t epoch)
{
	uint64_t q;

	s->rx_epoch = epoch;
	s->rx_based = false;
	s->rcv_nxt = 0;
	s->peer_tx_high = 0;
	s->ack_at = 0;
	s->nack_at = 0;
	s->data_since_ack = 0;
	pool_clear(s);
	/* A new peer has none of our stream and no complete copy of anything. */
	if (s->rx_state != HA_RX_NEED_BULK) {
		s->rx_state = HA_RX_NEED_BULK;
		s->bulk_req++;
	}
	s->peer_rx_state = HA_RX_NEED_BULK;
	for (q = s->base; q < s->snd_nxt; q++)
		flag_retx(s, q);
	(void)now;
}

/* One record of the peer's stream, in order. */
static void
deliver_one(struct ha_sync *s, const struct ha_rec *r)
{
	uint64_t seq = s->rcv_nxt++;

	if (!ha_wire_rec_known(r->type)) {
		s->st.rx_unknown++;
		return;
	}
	switch (r->type) {
	case HA_REC_BULK_START:
		s->rx_state = HA_RX_IN_BULK;
		s->rx_bulk_id = r->u.bulk.id;
		s->rx_bulk_expected = r->u.bulk.count;
		s->rx_bulk_got = 0;
		break;
	case HA_REC_BULK_END:
		if (r->u.bulk.id == HA_SYNC_RESYNC_ID) {
			/* The sender lost records: ask again even if we were asking already. */
			s->st.rx_resyncs++;
			s->rx_state = HA_RX_NEED_BULK;
			s->bulk_req++;
		} else if (s->rx_state == HA_RX_IN_BULK && r->u.bulk.id == s->rx_bulk_id &&
			   r->u.bulk.count == s->rx_bulk_got) {
			s->rx_state = HA_RX_SYNCED;
			s->st.rx_bulks_done++;
		} else {
			s->st.rx_bulk_mismatch++;
			need_bulk(s);
		}
		break;
	default:
		if ((r->flags & HA_REC_F_BULK) && s->rx_state == HA_RX_IN_BULK)
			s->rx_bulk_got++;
		break;
	}
	s->st.delivered++;
	if (s->deliver != NULL)
		s->deliver(s->deliver_arg, seq, r);
}

/* Deliver the records of a checked body from rcv_nxt on; first <= rcv_nxt. */
static void
deliver_body(struct ha_sync *s, const uint8_t *recs, size_t len, uint64_t first, uint16_t count)
{
	size_t off = 0;
	struct ha_rec r;
	uint16_t i;

	for (i = 0; i < count && off < len; i++) {
		int n = ha_wire_rec_decode(recs + off, len - off, &r);

		if (n < 0)
			return; /* checked before: cannot happen */
		off += (size_t)n;
		if (first + i < s->rcv_nxt) {
			s->st.rx_duplicates++;
			continue;
		}
		deliver_one(s, &r);
	}
}

/* Deliver what the pool holds that now follows on, and free what is behind. */
static void
pool_drain(struct ha_sync *s)
{
	bool progress = true;
	uint32_t i;

	while (progress && s->pool_used != 0) {
		progress = false;
		for (i = 0; i < s->c.rx_pool; i++) {
			struct rx_slot *p = &s->pool[i];

			if (!p->used)
				continue;
			if (p->first + p->count <= s->rcv_nxt) {
				s->st.rx_duplicates += p->count;
			} else if (p->first <= s->rcv_nxt) {
				deliver_body(s, p->recs, p->len, p->first, p->count);
				progress = true;
			} else {
				continue;
			}
			p->used = false;
			s->pool_used--;
		}
	}
}

/* Where the peer's stream stands, from any datagram of the peer. */
static void
peer_position(struct ha_sync *s, uint64_t tx_low, uint64_t tx_high)
{
	if (!s->rx_based) {
		/* We join the stream where the sender's queue starts: nothing held is missed. */
		s->rx_based = true;
		s->rcv_nxt = tx_low;
	} else if (tx_low > s->rcv_nxt) {
		/* The sender dropped records we never had (an older us acked them). */
		s->st.rx_lost += tx_low - s->rcv_nxt;
		s->rcv_nxt = tx_low;
		need_bulk(s);
		pool_drain(s);
	}
	if (tx_high > s->peer_tx_high)
		s->peer_tx_high = tx_high;
}

static void
ack_soon(struct ha_sync *s, uint64_t now)
{
	if (++s->data_since_ack >= s->c.ack_every)
		s->ack_at = now;
	else if (s->ack_at == 0)
		s->ack_at = now + (uint64_t)s->c.ack_delay_ms * NS_PER_MS;
}

int
ha_sync_rx_data(struct ha_sync *s, uint64_t now, const struct ha_wire_hdr *h, const uint8_t *body,
		size_t len)
{
	struct ha_msg_sync m;
	uint64_t end;
	uint32_t i;

	if (ha_wire_sync_decode(body, len, &m) < 0) {
		s->st.malformed++;
		return -EINVAL;
	}
	if (h->epoch != s->rx_epoch)
		ha_sync_peer_reset(s, now, h->epoch);
	s->last_data_rx = now;
	end = m.first + m.count;
	peer_position(s, m.tx_low, end - 1);
	ack_soon(s, now);
	if (end <= s->rcv_nxt) {
		/* All seen: our ack got lost or is late. Say it again now. */
		s->st.rx_duplicates += m.count;
		s->ack_at = now;
		return 0;
	}
	if (m.first <= s->rcv_nxt) {
		deliver_body(s, m.recs, m.recs_len, m.first, m.count);
		pool_drain(s);
		return 0;
	}
	/* Ahead of a hole: keep it if it is near enough and there is room. */
	if (m.first - s->rcv_nxt >= (uint64_t)s->c.rx_pool * HA_WIRE_MAX_RECORDS) {
		s->st.rx_pool_drops++;
		return 0;
	}
	for (i = 0; i < s->c.rx_pool; i++)
		if (s->pool[i].used && s->pool[i].first == m.first && s->pool[i].count == m.count) {
			s->st.rx_duplicates += m.count;
			return 0;
		}
	for (i = 0; i < s->c.rx_pool; i++) {
		struct rx_slot *p = &s->pool[i];

		if (p->used)
			continue;
		p->used = true;
		p->first = m.first;
		p->count = m.count;
		p->len = (uint16_t)m.recs_len;
		memcpy(p->recs, m.recs, m.recs_len);
		s->pool_used++;
		return 0;
	}
	s->st.rx_pool_drops++;
	return 0;
}

int
ha_sync_rx_ack(struct ha_sync *s, uint64_t now, const struct ha_wire_hdr *h, const uint8_t *body,
	       size_t len)
{
	uint64_t guard = s->srtt != 0 ? s->srtt : (uint64_t)s->c.rto_min_ms * NS_PER_MS;
	struct ha_msg_ack m;
	unsigned int i;

	if (ha_wire_ack_decode(body, len, &m) < 0) {
		s->st.malformed++;
		return -EINVAL;
	}
	if (h->epoch != s->rx_epoch)
		ha_sync_peer_reset(s, now, h->epoch);
	peer_position(s, m.tx_low, m.tx_high);
	if (h->ack_epoch != s->epoch)
		return 0; /* NACKs of a stream of ours from before a restart */
	for (i = 0; i < m.n_nack; i++) {
		uint64_t lo = m.nack[i].first, hi = m.nack[i].first + m.nack[i].count, q;

		lo = lo < s->base ? s->base : lo;
		hi = hi > s->snd_nxt ? s->snd_nxt : hi;
		for (q = lo; q < hi; q++) {
			struct tx_ent *e = ent_of(s, q);

			s->st.nacked++;
			/* Once a round trip: a NACK repeated before the resend is old news. */
			if (!e->retx && now >= e->tx_ns + guard)
				flag_retx(s, q);
		}
	}
	return 0;
}

void
ha_sync_rx_hb(struct ha_sync *s, uint64_t now, const struct ha_msg_hb *hb)
{
	(void)now;
	s->peer_rx_state = hb->rx_state;
	if (s->rx_based && hb->tx_high > s->peer_tx_high)
		s->peer_tx_high = hb->tx_high;
}

static uint64_t
rx_backlog(const struct ha_sync *s)
{
	if (!s->rx_based || s->peer_tx_high < s->rcv_nxt)
		return 0;
	return s->peer_tx_high - s->rcv_nxt + 1;
}

void
ha_sync_hb_fields(const struct ha_sync *s, struct ha_msg_hb *hb)
{
	hb->rx_state = s->rx_state;
	hb->bulk_req = s->bulk_req;
	hb->backlog = (uint32_t)(s->next - s->base);
	hb->tx_high = s->snd_nxt - 1;
	if (s->rx_state == HA_RX_SYNCED && rx_backlog(s) <= s->c.in_sync_backlog)
		hb->flags |= HA_HB_F_SYNCED;
}

void
ha_sync_hdr_ack(struct ha_sync *s, uint64_t now, uint64_t *ack_epoch, uint64_t *ack)
{
	(void)now;
	if (!s->rx_based) {
		*ack_epoch = 0;
		*ack = 0;
		return;
	}
	*ack_epoch = s->rx_epoch;
	*ack = s->rcv_nxt - 1;
	s->ack_at = 0;
	s->data_since_ack = 0;
}

/* A hole the peer should fill: records out of order, or a tail that stopped coming. */
static bool
nack_wanted(const struct ha_sync *s, uint64_t now)
{
	if (!s->rx_based)
		return false;
	if (s->pool_used != 0)
		return true;
	return s->peer_tx_high >= s->rcv_nxt &&
	       now >= s->last_data_rx + (uint64_t)s->c.nack_interval_ms * NS_PER_MS;
}

static void
nack_ranges(const struct ha_sync *s, uint64_t now, struct ha_msg_ack *m)
{
	uint64_t *first = s->hole_first, *end = s->hole_end;
	uint32_t n = 0, i, j;
	uint64_t cur = s->rcv_nxt;

	/* The held datagrams, sorted by first record (few: insertion sort). */
	for (i = 0; i < s->c.rx_pool; i++) {
		if (!s->pool[i].used)
			continue;
		for (j = n; j > 0 && first[j - 1] > s->pool[i].first; j--) {
			first[j] = first[j - 1];
			end[j] = end[j - 1];
		}
		first[j] = s->pool[i].first;
		end[j] = s->pool[i].first + s->pool[i].count;
		n++;
	}
	m->n_nack = 0;
	for (i = 0; i < n && m->n_nack < HA_WIRE_NACK_MAX; i++) {
		if (first[i] > cur) {
			m->nack[m->n_nack].first = cur;
			m->nack[m->n_nack].count = (uint32_t)(first[i] - cur);
			m->n_nack++;
		}
		if (end[i] > cur)
			cur = end[i];
	}
	if (m->n_nack < HA_WIRE_NACK_MAX && s->peer_tx_high >= cur &&
	    now >= s->last_data_rx + (uint64_t)s->c.nack_interval_ms * NS_PER_MS) {
		uint64_t c = s->peer_tx_high - cur + 1;

		m->nack[m->n_nack].first = cur;
		m->nack[m->n_nack].count = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
		m->n_nack++;
	}
}

static int
send_ack(struct ha_sync *s, uint64_t now, struct ha_wire_tx *w, uint8_t *buf, size_t cap,
	 bool with_nacks)
{
	uint64_t ack_epoch, ack;
	struct ha_msg_ack m;
	int n;

	memset(&m, 0, sizeof(m));
	m.tx_low = s->base;
	m.tx_high = s->snd_nxt - 1;
	if (with_nacks) {
		nack_ranges(s, now, &m);
		s->nack_at = now + (uint64_t)s->c.nack_interval_ms * NS_PER_MS;
		s->st.nacks_sent += m.n_nack;
	}
	if (cap < HA_WIRE_HDR_LEN + HA_WIRE_MAC_LEN)
		return 0;
	n = ha_wire_ack_encode(buf + HA_WIRE_HDR_LEN, cap - HA_WIRE_HDR_LEN - HA_WIRE_MAC_LEN, &m);
	if (n < 0)
		return 0;
	ha_sync_hdr_ack(s, now, &ack_epoch, &ack);
	n = ha_wire_seal(w, buf, cap, HA_MSG_ACK, ack_epoch, ack, (size_t)n);
	if (n <= 0)
		return 0;
	s->last_tx = now;
	s->st.ack_datagrams++;
	return n;
}

/* A SYNC datagram of the records from `first` on: resends (flagged ones) or new ones. */
static int
send_data(struct ha_sync *s, uint64_t now, struct ha_wire_tx *w, uint8_t *buf, size_t cap,
	  uint64_t first, uint64_t limit, bool resend)
{
	size_t room = cap - HA_WIRE_HDR_LEN - HA_WIRE_MAC_LEN, off = HA_WIRE_SYNC_HDR_LEN;
	uint8_t *body = buf + HA_WIRE_HDR_LEN;
	uint64_t ack_epoch, ack, q = first;
	uint16_t count = 0;
	int n;

	if (room > HA_WIRE_BODY_MAX)
		room = HA_WIRE_BODY_MAX;
	while (q < limit && count < HA_WIRE_MAX_RECORDS) {
		struct tx_ent *e = ent_of(s, q);

		if ((resend && !e->retx) || off + e->len > room)
			break;
		memcpy(body + off, ent_bytes(s, e), e->len);
		off += e->len;
		if (e->retx) {
			e->retx = 0;
			s->n_retx--;
			s->st.resent++;
		} else {
			s->st.sent++;
		}
		if (e->sends < UINT8_MAX)
			e->sends++;
		e->tx_ns = now;
		count++;
		q++;
	}
	if (count == 0)
		return 0;
	if (resend)
		s->retx_lo = s->n_retx != 0 ? q : 0;
	else
		s->snd_nxt = q;
	ha_wire_sync_hdr_encode(body, s->base, first, count);
	ha_sync_hdr_ack(s, now, &ack_epoch, &ack);
	n = ha_wire_seal(w, buf, cap, HA_MSG_SYNC, ack_epoch, ack, off);
	if (n <= 0)
		return 0;
	if (s->rto_at == 0)
		s->rto_at = now + s->rto;
	s->last_tx = now;
	s->st.data_datagrams++;
	return n;
}

/* RFC 6298 5.4-5.6: on expiry resend what is outstanding and back off (bounded). */
static void
check_rto(struct ha_sync *s, uint64_t now)
{
	uint64_t q, hi = (uint64_t)s->c.rto_max_ms * NS_PER_MS;

	if (s->rto_at == 0 || now < s->rto_at)
		return;
	if (s->base >= s->snd_nxt) {
		s->rto_at = 0;
		return;
	}
	for (q = s->base; q < s->snd_nxt; q++)
		flag_retx(s, q);
	s->rto = 2 * s->rto > hi ? hi : 2 * s->rto;
	s->rto_at = now + s->rto;
	s->st.rto_expiries++;
}

int
ha_sync_tx(struct ha_sync *s, uint64_t now, struct ha_wire_tx *w, uint8_t *buf, size_t cap)
{
	bool nack;
	uint64_t q, limit;
	int n;

	if (cap < HA_WIRE_HDR_LEN + HA_WIRE_SYNC_HDR_LEN + HA_WIRE_MAC_LEN)
		return 0;
	check_rto(s, now);
	nack = nack_wanted(s, now) && now >= s->nack_at;
	if (nack || (s->ack_at != 0 && now >= s->ack_at))
		return send_ack(s, now, w, buf, cap, nack);
	if (s->n_retx != 0) {
		q = s->retx_lo > s->base ? s->retx_lo : s->base;
		while (q < s->snd_nxt && !ent_of(s, q)->retx)
			q++;
		if (q < s->snd_nxt) {
			n = send_data(s, now, w, buf, cap, q, s->snd_nxt, true);
			if (n > 0)
				return n;
		}
	}
	limit = s->base + s->c.window;
	limit = limit < s->next ? limit : s->next;
	if (s->snd_nxt < limit) {
		n = send_data(s, now, w, buf, cap, s->snd_nxt, limit, false);
		if (n > 0)
			return n;
	}
	if (now >= s->last_tx + (uint64_t)s->c.alive_ms * NS_PER_MS)
		return send_ack(s, now, w, buf, cap, false);
	return 0;
}

uint64_t
ha_sync_next_deadline(const struct ha_sync *s)
{
	uint64_t d = s->last_tx + (uint64_t)s->c.alive_ms * NS_PER_MS;

	if (s->rto_at != 0 && s->rto_at < d)
		d = s->rto_at;
	if (s->ack_at != 0 && s->ack_at < d)
		d = s->ack_at;
	if (s->rx_based && s->pool_used != 0) {
		if (s->nack_at < d)
			d = s->nack_at;
	} else if (s->rx_based && s->peer_tx_high >= s->rcv_nxt) {
		uint64_t t = s->last_data_rx + (uint64_t)s->c.nack_interval_ms * NS_PER_MS;

		t = t > s->nack_at ? t : s->nack_at;
		if (t < d)
			d = t;
	}
	return d;
}

void
ha_sync_status(const struct ha_sync *s, struct ha_sync_status *st)
{
	memset(st, 0, sizeof(*st));
	st->tx_next = s->next;
	st->queued = (uint32_t)(s->next - s->base);
	st->in_flight = (uint32_t)(s->snd_nxt - s->base);
	st->bulk_state = s->bulk_state;
	st->bulk_id = s->bulk_id;
	st->bulk_added = s->bulk_added;
	st->bulk_expected = s->bulk_expected;
	st->bulk_wanted = s->bulk_wanted;
	st->peer_rx_state = s->peer_rx_state;
	st->tx_synced = !s->bulk_wanted && s->bulk_state == HA_BULK_IDLE &&
			s->peer_rx_state == HA_RX_SYNCED &&
			s->next - s->base <= s->c.in_sync_backlog;
	st->rto_ms = s->rto / NS_PER_MS;
	st->rx_epoch = s->rx_epoch;
	st->rx_next = s->rcv_nxt;
	st->rx_state = s->rx_state;
	st->bulk_req = s->bulk_req;
	st->rx_bulk_got = s->rx_bulk_got;
	st->rx_bulk_expected = s->rx_bulk_expected;
	st->rx_backlog = rx_backlog(s);
	st->rx_synced = s->rx_state == HA_RX_SYNCED && st->rx_backlog <= s->c.in_sync_backlog;
}

const struct ha_sync_stats *
ha_sync_stats(const struct ha_sync *s)
{
	return &s->st;
}
