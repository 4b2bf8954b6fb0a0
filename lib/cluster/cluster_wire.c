/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "auth/auth.h"
#include "cluster/cluster_wire.h"
#include "net/net.h"

static inline uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)net_get32(p) << 32 | net_get32(p + 4);
}

static inline void
put64(uint8_t *p, uint64_t v)
{
	net_put32(p, (uint32_t)(v >> 32));
	net_put32(p + 4, (uint32_t)v);
}

static const char *const drop_names[CLUSTER_DROP_MAX] = { [CLUSTER_WIRE_OK] = "ok",
#define _(sym, str) [CLUSTER_DROP_##sym] = str,
							  foreach_cluster_drop
#undef _
};

static const char *const msg_names[CLUSTER_MSG_MAX] = {
#define _(sym, val, str) [val] = str,
	foreach_cluster_msg
#undef _
};

static const char *const item_names[CLUSTER_ITEM_TYPE_MAX] = {
#define _(sym, val, str) [val] = str,
	foreach_cluster_item
#undef _
};

static const char *const gen_status_names[CLUSTER_GEN_ST_MAX] = {
#define _(sym, val, str) [val] = str,
	foreach_cluster_gen_status
#undef _
};

#define NAME_OR(tab, i) \
	((size_t)(i) < sizeof(tab) / sizeof((tab)[0]) && (tab)[i] != NULL ? (tab)[i] : "unknown")

const char *
cluster_drop_name(int d)
{
	return d < 0 ? "unknown" : NAME_OR(drop_names, d);
}

const char *
cluster_msg_name(uint8_t type)
{
	return NAME_OR(msg_names, type);
}

const char *
cluster_item_name(uint8_t type)
{
	return NAME_OR(item_names, type);
}

const char *
cluster_gen_status_name(uint8_t st)
{
	return NAME_OR(gen_status_names, st);
}

void
cluster_wire_key_init(struct cluster_wire_key *k, const uint8_t key[CLUSTER_WIRE_KEY_LEN])
{
	static const char label[] = "equinox-cluster key id";
	uint8_t d[AUTH_DIGEST_MAX];

	memcpy(k->key, key, CLUSTER_WIRE_KEY_LEN);
	k->key_id = 0;
	if (auth_hmac1(AUTH_HMAC_SHA256, key, CLUSTER_WIRE_KEY_LEN, label, sizeof(label) - 1, d) >=
	    4)
		k->key_id = net_get32(d);
}

int
cluster_wire_seal(const struct cluster_wire_key *k, uint8_t *buf, size_t cap,
		  const struct cluster_wire_hdr *h)
{
	size_t total = CLUSTER_WIRE_HDR_LEN + (size_t)h->len + CLUSTER_WIRE_MAC_LEN;
	uint8_t d[AUTH_DIGEST_MAX];

	if (total > CLUSTER_WIRE_MAX || total > cap)
		return -EMSGSIZE;
	net_put16(buf, CLUSTER_WIRE_MAGIC);
	buf[2] = CLUSTER_WIRE_VERSION;
	buf[3] = h->type;
	net_put16(buf + 4, h->sender);
	net_put16(buf + 6, h->receiver);
	net_put16(buf + 8, h->len);
	buf[10] = h->count;
	buf[11] = 0;
	net_put32(buf + 12, k->key_id);
	put64(buf + 16, h->epoch);
	put64(buf + 24, h->seq);
	put64(buf + 32, h->ack_stream);
	put64(buf + 40, h->ack);
	if (auth_hmac1(AUTH_HMAC_SHA256, k->key, CLUSTER_WIRE_KEY_LEN, buf,
		       CLUSTER_WIRE_HDR_LEN + h->len, d) != AUTH_DIGEST_MAX)
		return -EIO;
	memcpy(buf + CLUSTER_WIRE_HDR_LEN + h->len, d, CLUSTER_WIRE_MAC_LEN);
	return (int)total;
}

int
cluster_wire_peek(const uint8_t *buf, size_t len, uint32_t key_id, uint16_t self_id,
		  struct cluster_wire_hdr *h)
{
	if (len < CLUSTER_WIRE_MIN)
		return CLUSTER_DROP_TRUNCATED;
	if (len > CLUSTER_WIRE_MAX)
		return CLUSTER_DROP_OVERSIZED;
	if (net_get16(buf) != CLUSTER_WIRE_MAGIC)
		return CLUSTER_DROP_BAD_MAGIC;
	if (buf[2] != CLUSTER_WIRE_VERSION)
		return CLUSTER_DROP_BAD_VERSION;
	if (net_get32(buf + 12) != key_id)
		return CLUSTER_DROP_WRONG_KEY;
	h->version = buf[2];
	h->type = buf[3];
	h->sender = net_get16(buf + 4);
	h->receiver = net_get16(buf + 6);
	h->len = net_get16(buf + 8);
	h->count = buf[10];
	h->flags = buf[11];
	h->key_id = net_get32(buf + 12);
	h->epoch = get64(buf + 16);
	h->seq = get64(buf + 24);
	h->ack_stream = get64(buf + 32);
	h->ack = get64(buf + 40);
	if (h->receiver != self_id)
		return CLUSTER_DROP_NOT_FOR_US;
	if (h->sender == self_id)
		return CLUSTER_DROP_OWN_ID;
	return CLUSTER_WIRE_OK;
}

int
cluster_wire_authenticate(const struct cluster_wire_key *k, const uint8_t *buf, size_t len,
			  const struct cluster_wire_hdr *h)
{
	if (len < CLUSTER_WIRE_MIN)
		return CLUSTER_DROP_TRUNCATED;
	if (!auth_verify(AUTH_HMAC_SHA256, k->key, CLUSTER_WIRE_KEY_LEN, buf,
			 len - CLUSTER_WIRE_MAC_LEN, buf + len - CLUSTER_WIRE_MAC_LEN,
			 CLUSTER_WIRE_MAC_LEN))
		return CLUSTER_DROP_BAD_MAC;
	/* Authentic from here on: a failure is the peer's bug, not an attack. */
	if (h->len != len - CLUSTER_WIRE_MIN)
		return CLUSTER_DROP_BAD_LENGTH;
	return CLUSTER_WIRE_OK;
}

static unsigned int
family_len(uint8_t family)
{
	return family == 4 ? 4 : family == 6 ? 16 : 0;
}

size_t
cluster_wire_rec_len(const struct cluster_rec *r)
{
	unsigned int al = family_len(r->key.family), bl = family_len(r->be_family);

	if (al == 0 || bl == 0 ||
	    (r->type != CLUSTER_ITEM_FLOW && r->type != CLUSTER_ITEM_AFFINITY))
		return 0;
	return CLUSTER_ITEM_REC_FIXED + 2 * al + bl;
}

int
cluster_wire_rec_encode(uint8_t *p, size_t cap, const struct cluster_rec *r)
{
	size_t len = cluster_wire_rec_len(r);
	unsigned int al, bl;
	uint8_t *q;

	if (len == 0)
		return -EINVAL;
	if (len > cap)
		return -EMSGSIZE;
	al = family_len(r->key.family);
	bl = family_len(r->be_family);
	p[0] = r->type;
	p[1] = (uint8_t)((al == 16 ? CLUSTER_ITEM_F_IP6 : 0) |
			 (bl == 16 ? CLUSTER_ITEM_F_BACKEND6 : 0) |
			 (r->flags & CLUSTER_ITEM_F_BULK));
	p[2] = (uint8_t)len;
	p[3] = r->key.proto;
	p[4] = r->type == CLUSTER_ITEM_FLOW ? r->state : 0;
	p[5] = 0;
	net_put16(p + 6, r->type == CLUSTER_ITEM_FLOW ? r->key.sport : 0);
	net_put16(p + 8, r->key.dport);
	net_put16(p + 10, 0);
	net_put32(p + 12, r->lifetime_ms);
	net_put32(p + 16, r->gen);
	q = p + CLUSTER_ITEM_REC_FIXED;
	memcpy(q, r->key.src, al);
	memcpy(q + al, r->key.dst, al);
	memcpy(q + 2 * al, r->backend, bl);
	return (int)len;
}

int
cluster_wire_key_encode(uint8_t *p, size_t cap, uint8_t item_type, uint8_t rtype,
			const struct flow_key *k)
{
	unsigned int al = family_len(k->family);
	size_t len = 8 + 2 * (size_t)al;

	if (al == 0 || (item_type != CLUSTER_ITEM_KEY && item_type != CLUSTER_ITEM_UNKNOWN) ||
	    (rtype != CLUSTER_ITEM_FLOW && rtype != CLUSTER_ITEM_AFFINITY))
		return -EINVAL;
	if (len > cap)
		return -EMSGSIZE;
	p[0] = item_type;
	p[1] = (uint8_t)((al == 16 ? CLUSTER_ITEM_F_IP6 : 0) |
			 (rtype == CLUSTER_ITEM_AFFINITY ? CLUSTER_ITEM_F_AFFINITY : 0));
	p[2] = (uint8_t)len;
	p[3] = k->proto;
	net_put16(p + 4, rtype == CLUSTER_ITEM_FLOW ? k->sport : 0);
	net_put16(p + 6, k->dport);
	memcpy(p + 8, k->src, al);
	memcpy(p + 8 + al, k->dst, al);
	return (int)len;
}

int
cluster_wire_marker_encode(uint8_t *p, size_t cap, uint8_t item_type, uint32_t id, uint64_t count)
{
	if (item_type != CLUSTER_ITEM_BULK_BEGIN && item_type != CLUSTER_ITEM_BULK_END)
		return -EINVAL;
	if (cap < CLUSTER_ITEM_MARKER_LEN)
		return -EMSGSIZE;
	p[0] = item_type;
	p[1] = CLUSTER_ITEM_F_BULK;
	p[2] = CLUSTER_ITEM_MARKER_LEN;
	p[3] = 0;
	net_put32(p + 4, id);
	put64(p + 8, count);
	return CLUSTER_ITEM_MARKER_LEN;
}

static int
rec_decode(const uint8_t *p, unsigned int ilen, struct cluster_item *it)
{
	uint8_t flags = p[1];
	unsigned int al = flags & CLUSTER_ITEM_F_IP6 ? 16 : 4;
	unsigned int bl = flags & CLUSTER_ITEM_F_BACKEND6 ? 16 : 4;
	struct cluster_rec *r = &it->u.rec;
	const uint8_t *q = p + CLUSTER_ITEM_REC_FIXED;

	if (flags & ~(CLUSTER_ITEM_F_IP6 | CLUSTER_ITEM_F_BACKEND6 | CLUSTER_ITEM_F_BULK))
		return -EINVAL;
	if (ilen != CLUSTER_ITEM_REC_FIXED + 2 * al + bl || p[5] != 0 || net_get16(p + 10) != 0)
		return -EINVAL;
	r->type = p[0];
	r->flags = flags & CLUSTER_ITEM_F_BULK;
	r->key.family = al == 16 ? 6 : 4;
	r->key.proto = p[3];
	r->state = p[4];
	r->key.sport = net_get16(p + 6);
	r->key.dport = net_get16(p + 8);
	r->lifetime_ms = net_get32(p + 12);
	r->gen = net_get32(p + 16);
	memcpy(r->key.src, q, al);
	memcpy(r->key.dst, q + al, al);
	r->be_family = bl == 16 ? 6 : 4;
	memcpy(r->backend, q + 2 * al, bl);
	if (r->type == CLUSTER_ITEM_FLOW && r->state >= FLOW_STATE_MAX)
		return -EINVAL;
	if (r->type == CLUSTER_ITEM_AFFINITY && (r->state != 0 || r->key.sport != 0))
		return -EINVAL;
	return (int)ilen;
}

static int
key_decode(const uint8_t *p, unsigned int ilen, struct cluster_item *it)
{
	uint8_t flags = p[1];
	unsigned int al = flags & CLUSTER_ITEM_F_IP6 ? 16 : 4;
	struct flow_key *k = &it->u.key.key;

	if (flags & ~(CLUSTER_ITEM_F_IP6 | CLUSTER_ITEM_F_AFFINITY))
		return -EINVAL;
	if (ilen != 8 + 2 * al)
		return -EINVAL;
	it->u.key.rtype =
		flags & CLUSTER_ITEM_F_AFFINITY ? CLUSTER_ITEM_AFFINITY : CLUSTER_ITEM_FLOW;
	k->family = al == 16 ? 6 : 4;
	k->proto = p[3];
	k->sport = net_get16(p + 4);
	k->dport = net_get16(p + 6);
	memcpy(k->src, p + 8, al);
	memcpy(k->dst, p + 8 + al, al);
	if (it->u.key.rtype == CLUSTER_ITEM_AFFINITY && k->sport != 0)
		return -EINVAL;
	return (int)ilen;
}

int
cluster_wire_item_decode(const uint8_t *p, size_t len, struct cluster_item *it)
{
	unsigned int ilen;

	if (len < CLUSTER_ITEM_HDR_LEN)
		return -EINVAL;
	ilen = p[2];
	if (ilen < CLUSTER_ITEM_HDR_LEN || ilen > len)
		return -EINVAL;
	memset(it, 0, sizeof(*it));
	it->type = p[0];
	it->flags = p[1];
	it->len = (uint8_t)ilen;
	switch (it->type) {
	case CLUSTER_ITEM_FLOW:
	case CLUSTER_ITEM_AFFINITY:
		if (ilen < CLUSTER_ITEM_REC_FIXED)
			return -EINVAL;
		return rec_decode(p, ilen, it);
	case CLUSTER_ITEM_KEY:
	case CLUSTER_ITEM_UNKNOWN:
		if (ilen < CLUSTER_ITEM_KEY4_LEN)
			return -EINVAL;
		return key_decode(p, ilen, it);
	case CLUSTER_ITEM_BULK_BEGIN:
	case CLUSTER_ITEM_BULK_END:
		if (ilen != CLUSTER_ITEM_MARKER_LEN || p[1] != CLUSTER_ITEM_F_BULK || p[3] != 0)
			return -EINVAL;
		it->u.bulk.id = net_get32(p + 4);
		it->u.bulk.count = get64(p + 8);
		if (it->u.bulk.id == 0 || (it->type == CLUSTER_ITEM_BULK_BEGIN && it->u.bulk.count))
			return -EINVAL;
		return (int)ilen;
	}
	return -EINVAL;
}

int
cluster_wire_hb_encode(uint8_t *p, size_t cap, const struct cluster_msg_hb *m)
{
	size_t need = CLUSTER_WIRE_HB_LEN + 2 * (size_t)m->n_live;
	unsigned int i;

	if (m->n_live > CLUSTER_MAX_MEMBERS || need > cap)
		return -EMSGSIZE;
	net_put16(p, m->interval_ms);
	p[2] = m->flags;
	p[3] = 0;
	net_put32(p + 4, m->view);
	net_put32(p + 8, m->known_gen);
	memcpy(p + 12, m->known_digest, CLUSTER_GEN_DIGEST_LEN);
	net_put32(p + 28, m->applied_gen);
	memcpy(p + 32, m->applied_digest, CLUSTER_GEN_DIGEST_LEN);
	net_put32(p + 48, m->records);
	net_put32(p + 52, 0);
	for (i = 0; i < m->n_live; i++)
		net_put16(p + CLUSTER_WIRE_HB_LEN + 2 * i, m->live[i]);
	return (int)need;
}

int
cluster_wire_hb_decode(const uint8_t *p, size_t len, uint8_t count, struct cluster_msg_hb *m)
{
	unsigned int i;

	if (count == 0 || count > CLUSTER_MAX_MEMBERS)
		return CLUSTER_DROP_BAD_COUNT;
	if (len != CLUSTER_WIRE_HB_LEN + 2 * (size_t)count)
		return CLUSTER_DROP_BAD_COUNT;
	m->interval_ms = net_get16(p);
	m->flags = p[2];
	m->view = net_get32(p + 4);
	m->known_gen = net_get32(p + 8);
	memcpy(m->known_digest, p + 12, CLUSTER_GEN_DIGEST_LEN);
	m->applied_gen = net_get32(p + 28);
	memcpy(m->applied_digest, p + 32, CLUSTER_GEN_DIGEST_LEN);
	m->records = net_get32(p + 48);
	m->n_live = count;
	for (i = 0; i < count; i++) {
		m->live[i] = net_get16(p + CLUSTER_WIRE_HB_LEN + 2 * i);
		if (m->live[i] == 0)
			return CLUSTER_DROP_MALFORMED;
	}
	if (m->interval_ms == 0 || p[3] != 0 || net_get32(p + 52) != 0 ||
	    (m->flags & ~(CLUSTER_HB_F_IN_SERVICE | CLUSTER_HB_F_STARTING)))
		return CLUSTER_DROP_MALFORMED;
	return 0;
}

int
cluster_wire_items_check(const uint8_t *p, size_t len, uint8_t count, uint32_t allowed)
{
	struct cluster_item it;
	size_t off = 0;
	unsigned int i;
	int n;

	if (count == 0)
		return CLUSTER_DROP_BAD_COUNT;
	for (i = 0; i < count; i++) {
		if (off >= len)
			return CLUSTER_DROP_BAD_COUNT;
		n = cluster_wire_item_decode(p + off, len - off, &it);
		if (n < 0 || !(allowed & (1u << it.type)))
			return CLUSTER_DROP_MALFORMED;
		off += (size_t)n;
	}
	return off == len ? 0 : CLUSTER_DROP_BAD_COUNT;
}

void
cluster_wire_push_hdr_encode(uint8_t *p, uint64_t stream, uint64_t tx_low, uint64_t first)
{
	put64(p, stream);
	put64(p + 8, tx_low);
	put64(p + 16, first);
}

int
cluster_wire_push_decode(const uint8_t *p, size_t len, uint8_t count, struct cluster_msg_push *m)
{
	const uint32_t allowed = 1u << CLUSTER_ITEM_FLOW | 1u << CLUSTER_ITEM_AFFINITY |
				 1u << CLUSTER_ITEM_BULK_BEGIN | 1u << CLUSTER_ITEM_BULK_END;
	int rc;

	if (len < CLUSTER_WIRE_PUSH_HDR_LEN)
		return CLUSTER_DROP_MALFORMED;
	m->stream = get64(p);
	m->tx_low = get64(p + 8);
	m->first = get64(p + 16);
	if (m->stream == 0 || m->tx_low == 0 || m->first < m->tx_low || m->first > UINT64_MAX - 256)
		return CLUSTER_DROP_MALFORMED;
	rc = cluster_wire_items_check(p + CLUSTER_WIRE_PUSH_HDR_LEN,
				      len - CLUSTER_WIRE_PUSH_HDR_LEN, count, allowed);
	if (rc != 0)
		return rc;
	m->items = p + CLUSTER_WIRE_PUSH_HDR_LEN;
	m->items_len = len - CLUSTER_WIRE_PUSH_HDR_LEN;
	return 0;
}

int
cluster_wire_ack_encode(uint8_t *p, size_t cap, const struct cluster_sack *r, unsigned int n)
{
	unsigned int i;

	if (n > CLUSTER_WIRE_SACK_MAX || cap < (size_t)n * CLUSTER_WIRE_SACK_LEN)
		return -EMSGSIZE;
	for (i = 0; i < n; i++) {
		put64(p + i * CLUSTER_WIRE_SACK_LEN, r[i].first);
		net_put32(p + i * CLUSTER_WIRE_SACK_LEN + 8, r[i].count);
	}
	return (int)(n * CLUSTER_WIRE_SACK_LEN);
}

int
cluster_wire_ack_decode(const uint8_t *p, size_t len, uint8_t count, struct cluster_sack *r)
{
	unsigned int i;

	if (count > CLUSTER_WIRE_SACK_MAX || len != (size_t)count * CLUSTER_WIRE_SACK_LEN)
		return CLUSTER_DROP_BAD_COUNT;
	for (i = 0; i < count; i++) {
		r[i].first = get64(p + i * CLUSTER_WIRE_SACK_LEN);
		r[i].count = net_get32(p + i * CLUSTER_WIRE_SACK_LEN + 8);
		if (r[i].first == 0 || r[i].count == 0 || r[i].first > UINT64_MAX - r[i].count)
			return CLUSTER_DROP_MALFORMED;
	}
	return 0;
}

int
cluster_wire_gen_propose_encode(uint8_t *p, size_t cap, const struct cluster_msg_gen *m)
{
	size_t need = CLUSTER_WIRE_GEN_PROPOSE_HDR_LEN + m->data_len;

	if (need > cap || m->data_len > CLUSTER_GEN_CHUNK)
		return -EMSGSIZE;
	net_put32(p, m->gen);
	p[4] = m->flags;
	p[5] = 0;
	net_put16(p + 6, m->chunk);
	net_put32(p + 8, m->total);
	memcpy(p + 12, m->digest, CLUSTER_GEN_DIGEST_LEN);
	if (m->data_len != 0)
		memcpy(p + CLUSTER_WIRE_GEN_PROPOSE_HDR_LEN, m->data, m->data_len);
	return (int)need;
}

int
cluster_wire_gen_propose_decode(const uint8_t *p, size_t len, struct cluster_msg_gen *m)
{
	uint32_t n, want;

	if (len < CLUSTER_WIRE_GEN_PROPOSE_HDR_LEN)
		return CLUSTER_DROP_MALFORMED;
	memset(m, 0, sizeof(*m));
	m->gen = net_get32(p);
	m->flags = p[4];
	m->chunk = net_get16(p + 6);
	m->total = net_get32(p + 8);
	memcpy(m->digest, p + 12, CLUSTER_GEN_DIGEST_LEN);
	m->data = p + CLUSTER_WIRE_GEN_PROPOSE_HDR_LEN;
	m->data_len = len - CLUSTER_WIRE_GEN_PROPOSE_HDR_LEN;
	if (p[5] != 0 || (m->flags & ~CLUSTER_GEN_F_COMMITTED) || m->total == 0 ||
	    m->total > CLUSTER_GEN_BLOB_MAX)
		return CLUSTER_DROP_MALFORMED;
	n = cluster_gen_chunks(m->total);
	if (m->chunk >= n)
		return CLUSTER_DROP_MALFORMED;
	want = m->chunk + 1u < n ? CLUSTER_GEN_CHUNK : m->total - m->chunk * CLUSTER_GEN_CHUNK;
	return m->data_len == want ? 0 : CLUSTER_DROP_MALFORMED;
}

int
cluster_wire_gen_ack_encode(uint8_t *p, size_t cap, const struct cluster_msg_gen *m)
{
	size_t bm = (m->chunk + 7u) / 8u, need = CLUSTER_WIRE_GEN_ACK_HDR_LEN + bm;

	if (need > cap || m->data_len < bm)
		return -EMSGSIZE;
	net_put32(p, m->gen);
	p[4] = m->status;
	p[5] = 0;
	net_put16(p + 6, m->chunk);
	memcpy(p + 8, m->digest, CLUSTER_GEN_DIGEST_LEN);
	if (bm != 0)
		memcpy(p + CLUSTER_WIRE_GEN_ACK_HDR_LEN, m->data, bm);
	return (int)need;
}

int
cluster_wire_gen_ack_decode(const uint8_t *p, size_t len, struct cluster_msg_gen *m)
{
	if (len < CLUSTER_WIRE_GEN_ACK_HDR_LEN)
		return CLUSTER_DROP_MALFORMED;
	memset(m, 0, sizeof(*m));
	m->gen = net_get32(p);
	m->status = p[4];
	m->chunk = net_get16(p + 6);
	memcpy(m->digest, p + 8, CLUSTER_GEN_DIGEST_LEN);
	m->data = p + CLUSTER_WIRE_GEN_ACK_HDR_LEN;
	m->data_len = len - CLUSTER_WIRE_GEN_ACK_HDR_LEN;
	if (p[5] != 0 || m->status == 0 || m->status >= CLUSTER_GEN_ST_MAX ||
	    m->chunk > cluster_gen_chunks(CLUSTER_GEN_BLOB_MAX) ||
	    m->data_len != (m->chunk + 7u) / 8u)
		return CLUSTER_DROP_MALFORMED;
	if (m->chunk != 0 && m->status != CLUSTER_GEN_ST_PARTIAL &&
	    m->status != CLUSTER_GEN_ST_NEED)
		return CLUSTER_DROP_MALFORMED;
	return 0;
}

int
cluster_wire_gen_commit_encode(uint8_t *p, size_t cap, const struct cluster_msg_gen *m)
{
	if (cap < CLUSTER_WIRE_GEN_COMMIT_LEN)
		return -EMSGSIZE;
	net_put32(p, m->gen);
	net_put32(p + 4, 0);
	memcpy(p + 8, m->digest, CLUSTER_GEN_DIGEST_LEN);
	return CLUSTER_WIRE_GEN_COMMIT_LEN;
}

int
cluster_wire_gen_commit_decode(const uint8_t *p, size_t len, struct cluster_msg_gen *m)
{
	if (len != CLUSTER_WIRE_GEN_COMMIT_LEN || net_get32(p + 4) != 0)
		return CLUSTER_DROP_MALFORMED;
	memset(m, 0, sizeof(*m));
	m->gen = net_get32(p);
	memcpy(m->digest, p + 8, CLUSTER_GEN_DIGEST_LEN);
	return 0;
}

void
cluster_gen_digest(const uint8_t *blob, size_t len, uint8_t out[CLUSTER_GEN_DIGEST_LEN])
{
	static const char label[] = "equinox-cluster-gen";
	uint8_t d[AUTH_DIGEST_MAX];

	memset(d, 0, sizeof(d));
	(void)auth_hmac1(AUTH_HMAC_SHA256, label, sizeof(label) - 1, blob, len, d);
	memcpy(out, d, CLUSTER_GEN_DIGEST_LEN);
}
