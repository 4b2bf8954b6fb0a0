/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "ha/ha_wire.h"
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

static const char *const wire_err_names[HA_WIRE_ERR_MAX] = {
#define _(sym, str) [HA_WIRE_ERR_##sym] = str,
	foreach_ha_wire_err
#undef _
		[HA_WIRE_OK] = "ok",
};

static const char *const msg_names[] = {
#define _(sym, val, str) [val] = str,
	foreach_ha_msg
#undef _
};

static const char *const rec_names[] = {
#define _(sym, val, str) [val] = str,
	foreach_ha_rec
#undef _
};

static const char *const rx_state_names[] = {
#define _(sym, str) [HA_RX_##sym] = str,
	foreach_ha_rx_state
#undef _
};

#define NAME_OR_NULL(tab, i) ((size_t)(i) < sizeof(tab) / sizeof((tab)[0]) ? (tab)[i] : NULL)

const char *
ha_wire_err_name(int err)
{
	if (err < 0 || err >= HA_WIRE_ERR_MAX)
		return "unknown";
	return wire_err_names[err];
}

const char *
ha_msg_name(uint8_t type)
{
	const char *n = NAME_OR_NULL(msg_names, type);

	return n != NULL ? n : "unknown";
}

const char *
ha_rec_name(uint8_t type)
{
	const char *n = NAME_OR_NULL(rec_names, type);

	return n != NULL ? n : "unknown";
}

const char *
ha_rx_state_name(uint8_t s)
{
	const char *n = NAME_OR_NULL(rx_state_names, s);

	return n != NULL ? n : "unknown";
}

bool
ha_wire_rec_known(uint8_t type)
{
	return NAME_OR_NULL(rec_names, type) != NULL;
}

static bool
msg_known(uint8_t type)
{
	return NAME_OR_NULL(msg_names, type) != NULL;
}

uint32_t
ha_wire_key_id(const uint8_t key[HA_WIRE_KEY_LEN])
{
	static const char label[] = "equinox-ha key id";
	uint8_t d[AUTH_DIGEST_MAX];

	if (auth_hmac1(AUTH_HMAC_SHA256, key, HA_WIRE_KEY_LEN, label, sizeof(label) - 1, d) < 4)
		return 0;
	return net_get32(d);
}

void
ha_wire_tx_init(struct ha_wire_tx *tx, const uint8_t key[HA_WIRE_KEY_LEN], uint16_t id,
		uint64_t epoch)
{
	memset(tx, 0, sizeof(*tx));
	memcpy(tx->key, key, HA_WIRE_KEY_LEN);
	tx->key_id = ha_wire_key_id(key);
	tx->id = id;
	tx->epoch = epoch;
}

int
ha_wire_seal(struct ha_wire_tx *tx, uint8_t *buf, size_t cap, uint8_t type, uint64_t ack_epoch,
	     uint64_t ack, size_t body_len)
{
	size_t total = HA_WIRE_HDR_LEN + body_len + HA_WIRE_MAC_LEN;

	if (body_len > HA_WIRE_BODY_MAX || total > cap)
		return -EMSGSIZE;
	net_put16(buf, HA_WIRE_MAGIC);
	buf[2] = HA_WIRE_VERSION;
	buf[3] = type;
	net_put16(buf + 4, 0);
	net_put16(buf + 6, tx->id);
	net_put32(buf + 8, tx->key_id);
	net_put16(buf + 12, (uint16_t)body_len);
	net_put16(buf + 14, 0);
	put64(buf + 16, tx->epoch);
	put64(buf + 24, ++tx->seq);
	put64(buf + 32, ack_epoch);
	put64(buf + 40, ack);
	if (auth_hmac1(AUTH_HMAC_SHA256, tx->key, HA_WIRE_KEY_LEN, buf, HA_WIRE_HDR_LEN + body_len,
		       buf + HA_WIRE_HDR_LEN + body_len) != HA_WIRE_MAC_LEN)
		return -EIO;
	return (int)total;
}

int
ha_wire_verify(const uint8_t *buf, size_t len, const uint8_t key[HA_WIRE_KEY_LEN], uint32_t key_id,
	       struct ha_wire_hdr *h)
{
	if (len < HA_WIRE_HDR_LEN + HA_WIRE_MAC_LEN)
		return HA_WIRE_ERR_TRUNCATED;
	if (len > HA_WIRE_MAX)
		return HA_WIRE_ERR_OVERSIZED;
	if (net_get16(buf) != HA_WIRE_MAGIC)
		return HA_WIRE_ERR_BAD_MAGIC;
	if (buf[2] != HA_WIRE_VERSION)
		return HA_WIRE_ERR_BAD_VERSION;
	if (net_get32(buf + 8) != key_id)
		return HA_WIRE_ERR_WRONG_KEY;
	if (!auth_verify(AUTH_HMAC_SHA256, key, HA_WIRE_KEY_LEN, buf, len - HA_WIRE_MAC_LEN,
			 buf + len - HA_WIRE_MAC_LEN, HA_WIRE_MAC_LEN))
		return HA_WIRE_ERR_BAD_MAC;
	/* Authentic from here on: the peer's own bug, not an attack, if it fails. */
	if (net_get16(buf + 12) != len - HA_WIRE_HDR_LEN - HA_WIRE_MAC_LEN)
		return HA_WIRE_ERR_BAD_LENGTH;
	h->version = buf[2];
	h->type = buf[3];
	h->flags = net_get16(buf + 4);
	h->sender = net_get16(buf + 6);
	h->key_id = net_get32(buf + 8);
	h->len = net_get16(buf + 12);
	h->epoch = get64(buf + 16);
	h->seq = get64(buf + 24);
	h->ack_epoch = get64(buf + 32);
	h->ack = get64(buf + 40);
	return HA_WIRE_OK;
}

void
ha_wire_rx_init(struct ha_wire_rx *rx, const uint8_t key[HA_WIRE_KEY_LEN], uint16_t own_id,
		uint64_t own_epoch)
{
	memset(rx, 0, sizeof(*rx));
	memcpy(rx->key, key, HA_WIRE_KEY_LEN);
	rx->key_id = ha_wire_key_id(key);
	rx->own_id = own_id;
	rx->own_epoch = own_epoch;
	auth_epoch_init(&rx->peer);
}

static int
rx_check(struct ha_wire_rx *rx, const uint8_t *buf, size_t len, struct ha_wire_hdr *h,
	 bool *new_epoch)
{
	int rc;

	*new_epoch = false;
	rc = ha_wire_verify(buf, len, rx->key, rx->key_id, h);
	if (rc != HA_WIRE_OK)
		return rc;
	if (h->sender == rx->own_id)
		return h->epoch == rx->own_epoch ? HA_WIRE_ERR_OWN_DATAGRAM : HA_WIRE_ERR_SAME_ID;
	/* The datagram authenticates: a new epoch (or a new sender id) is a restarted peer. */
	switch (auth_epoch_check(&rx->peer, h->epoch, h->seq, h->sender != rx->peer_id,
				 new_epoch)) {
	case AUTH_EPOCH_ZERO:
		return HA_WIRE_ERR_MALFORMED;
	case AUTH_EPOCH_STALE:
		return HA_WIRE_ERR_STALE_EPOCH;
	case AUTH_EPOCH_REPLAYED:
		return HA_WIRE_ERR_REPLAY;
	default:
		break;
	}
	if (*new_epoch) {
		if (rx->peer_id != 0 && h->sender != rx->peer_id)
			rx->peer_id_changes++;
		rx->peer_id = h->sender;
		rx->new_epochs++;
	}
	if (!msg_known(h->type))
		return HA_WIRE_ERR_UNKNOWN_TYPE;
	return HA_WIRE_OK;
}

int
ha_wire_rx_open(struct ha_wire_rx *rx, const uint8_t *buf, size_t len, struct ha_wire_hdr *h,
		bool *new_epoch)
{
	int rc = rx_check(rx, buf, len, h, new_epoch);

	rx->drops[rc]++;
	return rc;
}

void
ha_wire_rx_recount(struct ha_wire_rx *rx, int err)
{
	if (err <= HA_WIRE_OK || err >= HA_WIRE_ERR_MAX)
		return;
	if (rx->drops[HA_WIRE_OK] > 0)
		rx->drops[HA_WIRE_OK]--;
	rx->drops[err]++;
}

int
ha_wire_hb_encode(uint8_t *p, size_t cap, const struct ha_msg_hb *m)
{
	if (cap < HA_WIRE_HB_LEN)
		return -EMSGSIZE;
	p[0] = m->state;
	p[1] = m->priority;
	p[2] = m->flags;
	p[3] = m->rx_state;
	net_put16(p + 4, m->interval_ms);
	net_put16(p + 6, 0);
	net_put32(p + 8, m->bulk_req);
	net_put32(p + 12, m->backlog);
	put64(p + 16, m->tx_high);
	return HA_WIRE_HB_LEN;
}

int
ha_wire_hb_decode(const uint8_t *p, size_t len, struct ha_msg_hb *m)
{
	if (len != HA_WIRE_HB_LEN)
		return -EINVAL;
	m->state = p[0];
	m->priority = p[1];
	m->flags = p[2];
	m->rx_state = p[3];
	m->interval_ms = net_get16(p + 4);
	m->bulk_req = net_get32(p + 8);
	m->backlog = net_get32(p + 12);
	m->tx_high = get64(p + 16);
	if (m->rx_state >= HA_RX_MAX || m->interval_ms == 0)
		return -EINVAL;
	return 0;
}

int
ha_wire_ack_encode(uint8_t *p, size_t cap, const struct ha_msg_ack *m)
{
	size_t need = HA_WIRE_ACK_HDR_LEN + (size_t)m->n_nack * HA_WIRE_NACK_LEN;
	unsigned int i;

	if (m->n_nack > HA_WIRE_NACK_MAX || cap < need)
		return -EMSGSIZE;
	put64(p, m->tx_low);
	put64(p + 8, m->tx_high);
	net_put16(p + 16, m->n_nack);
	net_put16(p + 18, 0);
	for (i = 0; i < m->n_nack; i++) {
		uint8_t *q = p + HA_WIRE_ACK_HDR_LEN + i * HA_WIRE_NACK_LEN;

		put64(q, m->nack[i].first);
		net_put32(q + 8, m->nack[i].count);
	}
	return (int)need;
}

int
ha_wire_ack_decode(const uint8_t *p, size_t len, struct ha_msg_ack *m)
{
	unsigned int i;

	if (len < HA_WIRE_ACK_HDR_LEN)
		return -EINVAL;
	m->tx_low = get64(p);
	m->tx_high = get64(p + 8);
	m->n_nack = net_get16(p + 16);
	if (m->tx_low == 0 || m->n_nack > HA_WIRE_NACK_MAX ||
	    len != HA_WIRE_ACK_HDR_LEN + (size_t)m->n_nack * HA_WIRE_NACK_LEN)
		return -EINVAL;
	for (i = 0; i < m->n_nack; i++) {
		const uint8_t *q = p + HA_WIRE_ACK_HDR_LEN + i * HA_WIRE_NACK_LEN;

		m->nack[i].first = get64(q);
		m->nack[i].count = net_get32(q + 8);
		if (m->nack[i].first == 0 || m->nack[i].count == 0 ||
		    m->nack[i].first > UINT64_MAX - m->nack[i].count)
			return -EINVAL;
	}
	return 0;
}

int
ha_wire_handoff_encode(uint8_t *p, size_t cap, const struct ha_msg_handoff *m)
{
	if (cap < HA_WIRE_HANDOFF_LEN)
		return -EMSGSIZE;
	net_put16(p, m->target);
	net_put16(p + 2, 0);
	net_put32(p + 4, m->switchover);
	return HA_WIRE_HANDOFF_LEN;
}

int
ha_wire_handoff_decode(const uint8_t *p, size_t len, struct ha_msg_handoff *m)
{
	if (len != HA_WIRE_HANDOFF_LEN)
		return -EINVAL;
	m->target = net_get16(p);
	m->switchover = net_get32(p + 4);
	return m->target != 0 && m->switchover != 0 ? 0 : -EINVAL;
}

static unsigned int
addr_len(uint8_t family)
{
	return family == 4 ? 4 : family == 6 ? 16 : 0;
}

size_t
ha_wire_rec_len(const struct ha_rec *r)
{
	switch (r->type) {
	case HA_REC_FLOW_ADD:
	case HA_REC_FLOW_DEL:
		if (addr_len(r->u.flow.key.family) == 0)
			return 0;
		return r->u.flow.key.family == 6 ? HA_WIRE_FLOW6_LEN : HA_WIRE_FLOW4_LEN;
	case HA_REC_AFFINITY:
		if (addr_len(r->u.aff.family) == 0)
			return 0;
		return r->u.aff.family == 6 ? HA_WIRE_AFF6_LEN : HA_WIRE_AFF4_LEN;
	case HA_REC_BLOB:
		if (r->u.blob.len > HA_WIRE_BLOB_MAX ||
		    (r->u.blob.len != 0 && r->u.blob.data == NULL))
			return 0;
		return HA_WIRE_BLOB_HDR_LEN + r->u.blob.len;
	case HA_REC_BULK_START:
	case HA_REC_BULK_END:
		return HA_WIRE_BULK_LEN;
	}
	return 0;
}

int
ha_wire_rec_encode(uint8_t *p, size_t cap, const struct ha_rec *r)
{
	size_t len = ha_wire_rec_len(r);
	uint8_t flags = r->flags & HA_REC_F_BULK;
	unsigned int al;

	if (len == 0)
		return -EINVAL;
	if (len > cap)
		return -EMSGSIZE;
	memset(p, 0, len);
	p[0] = r->type;
	net_put16(p + 2, (uint16_t)len);
	switch (r->type) {
	case HA_REC_FLOW_ADD:
	case HA_REC_FLOW_DEL:
		al = addr_len(r->u.flow.key.family);
		if (al == 16)
			flags |= HA_REC_F_IP6;
		net_put16(p + 4, r->u.flow.vip);
		p[6] = r->u.flow.key.proto;
		p[7] = r->u.flow.state;
		net_put32(p + 8, r->u.flow.backend);
		net_put16(p + 12, r->u.flow.key.sport);
		net_put16(p + 14, r->u.flow.key.dport);
		net_put32(p + 16, r->u.flow.age_ms);
		p[20] = r->u.flow.eflags;
		put64(p + 24, r->u.flow.user);
		memcpy(p + 32, r->u.flow.key.src, al);
		memcpy(p + 32 + al, r->u.flow.key.dst, al);
		break;
	case HA_REC_AFFINITY:
		al = addr_len(r->u.aff.family);
		if (al == 16)
			flags |= HA_REC_F_IP6;
		net_put16(p + 4, r->u.aff.vip);
		net_put32(p + 8, r->u.aff.backend);
		net_put32(p + 12, r->u.aff.age_ms);
		memcpy(p + 16, r->u.aff.addr, al);
		break;
	case HA_REC_BLOB:
		net_put16(p + 4, r->u.blob.tag);
		if (r->u.blob.len != 0)
			memcpy(p + 8, r->u.blob.data, r->u.blob.len);
		break;
	default: /* BULK_START, BULK_END */
		net_put32(p + 4, r->u.bulk.id);
		put64(p + 8, r->u.bulk.count);
		break;
	}
	p[1] = flags;
	return (int)len;
}

int
ha_wire_rec_decode(const uint8_t *p, size_t len, struct ha_rec *r)
{
	unsigned int rlen, al;

	if (len < HA_WIRE_REC_HDR_LEN)
		return -EINVAL;
	rlen = net_get16(p + 2);
	if (rlen < HA_WIRE_REC_HDR_LEN || rlen > len)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->type = p[0];
	r->flags = p[1];
	al = (p[1] & HA_REC_F_IP6) ? 16 : 4;
	switch (r->type) {
	case HA_REC_FLOW_ADD:
	case HA_REC_FLOW_DEL:
		if (rlen != 32 + 2 * al || p[7] >= FLOW_STATE_MAX)
			return -EINVAL;
		r->u.flow.key.family = al == 16 ? 6 : 4;
		r->u.flow.vip = net_get16(p + 4);
		r->u.flow.key.proto = p[6];
		r->u.flow.state = p[7];
		r->u.flow.backend = net_get32(p + 8);
		r->u.flow.key.sport = net_get16(p + 12);
		r->u.flow.key.dport = net_get16(p + 14);
		r->u.flow.age_ms = net_get32(p + 16);
		r->u.flow.eflags = p[20];
		r->u.flow.user = get64(p + 24);
		memcpy(r->u.flow.key.src, p + 32, al);
		memcpy(r->u.flow.key.dst, p + 32 + al, al);
		break;
	case HA_REC_AFFINITY:
		if (rlen != 16 + al)
			return -EINVAL;
		r->u.aff.family = al == 16 ? 6 : 4;
		r->u.aff.vip = net_get16(p + 4);
		r->u.aff.backend = net_get32(p + 8);
		r->u.aff.age_ms = net_get32(p + 12);
		memcpy(r->u.aff.addr, p + 16, al);
		break;
	case HA_REC_BLOB:
		if (rlen < HA_WIRE_BLOB_HDR_LEN || rlen > HA_WIRE_REC_MAX)
			return -EINVAL;
		r->u.blob.tag = net_get16(p + 4);
		r->u.blob.len = (uint16_t)(rlen - HA_WIRE_BLOB_HDR_LEN);
		r->u.blob.data = p + HA_WIRE_BLOB_HDR_LEN;
		break;
	case HA_REC_BULK_START:
	case HA_REC_BULK_END:
		if (rlen != HA_WIRE_BULK_LEN)
			return -EINVAL;
		r->u.bulk.id = net_get32(p + 4);
		r->u.bulk.count = get64(p + 8);
		break;
	default:
		/* Unknown: its length is all we trust; the caller skips it. */
		break;
	}
	r->flags &= (uint8_t)~HA_REC_F_IP6;
	return (int)rlen;
}

void
ha_wire_sync_hdr_encode(uint8_t *p, uint64_t tx_low, uint64_t first, uint16_t count)
{
	put64(p, tx_low);
	put64(p + 8, first);
	net_put16(p + 16, count);
	net_put16(p + 18, 0);
}

int
ha_wire_sync_decode(const uint8_t *p, size_t len, struct ha_msg_sync *m)
{
	size_t off = HA_WIRE_SYNC_HDR_LEN;
	struct ha_rec r;
	unsigned int i;

	if (len < HA_WIRE_SYNC_HDR_LEN)
		return -EINVAL;
	m->tx_low = get64(p);
	m->first = get64(p + 8);
	m->count = net_get16(p + 16);
	if (m->count == 0 || m->count > HA_WIRE_MAX_RECORDS || m->tx_low == 0 ||
	    m->first < m->tx_low || m->first > UINT64_MAX - m->count)
		return -EINVAL;
	for (i = 0; i < m->count; i++) {
		int n = ha_wire_rec_decode(p + off, len - off, &r);

		if (n < 0)
			return -EINVAL;
		off += (size_t)n;
	}
	if (off != len)
		return -EINVAL;
	m->recs = p + HA_WIRE_SYNC_HDR_LEN;
	m->recs_len = len - HA_WIRE_SYNC_HDR_LEN;
	return 0;
}
