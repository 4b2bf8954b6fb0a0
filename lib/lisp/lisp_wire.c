/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "lisp/lisp_wire.h"
#include "net/net.h"

static const char *const wire_err_names[] = { [LISP_WIRE_OK] = "ok",
#define _(sym, str) [LISP_WIRE_##sym] = str,
					      foreach_lisp_wire_err
#undef _
};

static const char *const act_names[] = {
#define _(sym, str) [LISP_ACT_##sym] = str,
	foreach_lisp_act
#undef _
};

const char *
lisp_wire_err_name(int err)
{
	if (err < 0 || err >= LISP_WIRE_ERR_MAX)
		return "unknown";
	return wire_err_names[err];
}

const char *
lisp_act_name(unsigned int act)
{
	if (act >= sizeof(act_names) / sizeof(act_names[0]))
		return "unassigned";
	return act_names[act];
}

const char *
lisp_type_name(int type)
{
	switch (type) {
	case LISP_TYPE_MAP_REQUEST:
		return "map_request";
	case LISP_TYPE_MAP_REPLY:
		return "map_reply";
	case LISP_TYPE_MAP_REGISTER:
		return "map_register";
	case LISP_TYPE_MAP_NOTIFY:
		return "map_notify";
	case LISP_TYPE_MAP_NOTIFY_ACK:
		return "map_notify_ack";
	case LISP_TYPE_ECM:
		return "ecm";
	default:
		return "other";
	}
}

int
lisp_msg_type(const uint8_t *buf, size_t len)
{
	return len == 0 ? -1 : buf[0] >> 4;
}

unsigned int
lisp_addr_bits(uint8_t family)
{
	return family == 4 ? 32 : family == 6 ? 128 : 0;
}

bool
lisp_addr_equal(const struct lisp_addr *a, const struct lisp_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->bytes, b->bytes, lisp_addr_bits(a->family) / 8) == 0;
}

bool
lisp_prefix_equal(const struct lisp_prefix *a, const struct lisp_prefix *b)
{
	return a->len == b->len && lisp_addr_equal(&a->addr, &b->addr);
}

void
lisp_prefix_canon(struct lisp_prefix *p)
{
	unsigned int i;

	/* Whole bytes past the mask, then the partial byte. */
	for (i = (p->len + 7u) / 8; i < 16; i++)
		p->addr.bytes[i] = 0;
	if (p->len % 8 != 0 && p->len < 128)
		p->addr.bytes[p->len / 8] &= (uint8_t)(0xff << (8 - p->len % 8));
}

bool
lisp_prefix_contains(const struct lisp_prefix *outer, const struct lisp_prefix *inner)
{
	unsigned int full = outer->len / 8, rem = outer->len % 8;

	if (outer->addr.family != inner->addr.family || outer->len > inner->len)
		return false;
	if (memcmp(outer->addr.bytes, inner->addr.bytes, full) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((outer->addr.bytes[full] ^ inner->addr.bytes[full]) & (0xff << (8 - rem)) & 0xff) ==
	       0;
}

/* A bounded reader: every get checks the remaining length first. */
struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static bool
rd_has(const struct rd *r, size_t n)
{
	return r->len - r->off >= n;
}

static uint8_t
rd_u8(struct rd *r)
{
	return r->p[r->off++];
}

static uint16_t
rd_u16(struct rd *r)
{
	uint16_t v = net_get16(r->p + r->off);

	r->off += 2;
	return v;
}

static uint32_t
rd_u32(struct rd *r)
{
	uint32_t v = net_get32(r->p + r->off);

	r->off += 4;
	return v;
}

static uint64_t
rd_u64(struct rd *r)
{
	uint64_t v = (uint64_t)net_get32(r->p + r->off) << 32 | net_get32(r->p + r->off + 4);

	r->off += 8;
	return v;
}

/* The address bytes after an AFI already read into a->family's place. */
static int
rd_addr_body(struct rd *r, struct lisp_addr *a, uint16_t afi)
{
	size_t n;

	if (afi == LISP_AFI_NONE) {
		memset(a, 0, sizeof(*a));
		return LISP_WIRE_OK;
	}
	if (afi != LISP_AFI_IP4 && afi != LISP_AFI_IP6)
		return LISP_WIRE_BAD_AFI;
	n = afi == LISP_AFI_IP4 ? 4 : 16;
	if (!rd_has(r, n))
		return LISP_WIRE_TRUNCATED;
	memset(a, 0, sizeof(*a));
	a->family = afi == LISP_AFI_IP4 ? 4 : 6;
	memcpy(a->bytes, r->p + r->off, n);
	r->off += n;
	return LISP_WIRE_OK;
}

static int
rd_addr(struct rd *r, struct lisp_addr *a, bool allow_none)
{
	uint16_t afi;

	if (!rd_has(r, 2))
		return LISP_WIRE_TRUNCATED;
	afi = rd_u16(r);
	if (afi == LISP_AFI_NONE && !allow_none)
		return LISP_WIRE_BAD_AFI;
	return rd_addr_body(r, a, afi);
}

static int
rd_record(struct rd *r, struct lisp_record *rec)
{
	unsigned int i, n_loc;
	uint8_t b;
	int rc;

	if (!rd_has(r, 12))
		return LISP_WIRE_TRUNCATED;
	rec->ttl = rd_u32(r);
	n_loc = rd_u8(r);
	rec->eid.len = rd_u8(r);
	b = rd_u8(r);
	rec->act = b >> 5;
	rec->authoritative = (b & 0x10) != 0;
	(void)rd_u8(r);
	rec->map_version = rd_u16(r) & 0x0fff;
	rc = rd_addr(r, &rec->eid.addr, false);
	if (rc != LISP_WIRE_OK)
		return rc;
	if (rec->eid.len > lisp_addr_bits(rec->eid.addr.family))
		return LISP_WIRE_BAD_MASK_LEN;
	if (n_loc > LISP_MAX_LOCATORS)
		return LISP_WIRE_TOO_MANY_LOCATORS;
	rec->n_locators = n_loc;
	for (i = 0; i < n_loc; i++) {
		struct lisp_locator *l = &rec->loc[i];

		if (!rd_has(r, 6))
			return LISP_WIRE_TRUNCATED;
		l->priority = rd_u8(r);
		l->weight = rd_u8(r);
		l->mpriority = rd_u8(r);
		l->mweight = rd_u8(r);
		l->flags = (uint8_t)(rd_u16(r) & (LISP_LOC_L | LISP_LOC_P | LISP_LOC_R));
		rc = rd_addr(r, &l->addr, false);
		if (rc != LISP_WIRE_OK)
			return rc;
	}
	return LISP_WIRE_OK;
}

static int
rd_records(struct rd *r, unsigned int n, struct lisp_record *rec)
{
	unsigned int i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = rd_record(r, &rec[i]);
		if (rc != LISP_WIRE_OK)
			return rc;
	}
	return LISP_WIRE_OK;
}

static int
rd_start(struct rd *r, const uint8_t *buf, size_t len)
{
	r->p = buf;
	r->len = len;
	r->off = 0;
	if (len > LISP_MSG_MAX)
		return LISP_WIRE_TOO_BIG;
	return LISP_WIRE_OK;
}

static int
rd_end(const struct rd *r)
{
	return r->off == r->len ? LISP_WIRE_OK : LISP_WIRE_TRAILING;
}

int
lisp_decode_map_register(const uint8_t *buf, size_t len, struct lisp_map_register *m)
{
	struct rd r;
	uint8_t b0, b2;
	int rc;

	rc = rd_start(&r, buf, len);
	if (rc != LISP_WIRE_OK)
		return rc;
	if (!rd_has(&r, LISP_REG_AUTH_OFF))
		return LISP_WIRE_TRUNCATED;
	b0 = rd_u8(&r);
	m->type = b0 >> 4;
	if (m->type == LISP_TYPE_MAP_REGISTER) {
		m->proxy_reply = (b0 & 0x08) != 0;
		m->lisp_sec = (b0 & 0x04) != 0;
		m->xtr_id_present = (b0 & 0x02) != 0;
		m->rtr = (b0 & 0x01) != 0;
	} else if (m->type == LISP_TYPE_MAP_NOTIFY || m->type == LISP_TYPE_MAP_NOTIFY_ACK) {
		m->proxy_reply = false;
		m->lisp_sec = false;
		m->xtr_id_present = (b0 & 0x08) != 0;
		m->rtr = (b0 & 0x04) != 0;
		if (m->rtr)
			return LISP_WIRE_UNSUPPORTED;
	} else {
		return LISP_WIRE_BAD_TYPE;
	}
	(void)rd_u8(&r);
	b2 = rd_u8(&r);
	m->want_map_notify = m->type == LISP_TYPE_MAP_REGISTER && (b2 & 0x01) != 0;
	m->n_records = rd_u8(&r);
	m->nonce = rd_u64(&r);
	m->key_id = rd_u8(&r);
	m->alg_id = rd_u8(&r);
	m->auth_len = rd_u16(&r);
	m->auth_off = LISP_REG_AUTH_OFF;
	if (m->auth_len > LISP_AUTH_DATA_MAX)
		return LISP_WIRE_BAD_AUTH_LEN;
	if (!rd_has(&r, m->auth_len))
		return LISP_WIRE_TRUNCATED;
	memcpy(m->auth, buf + r.off, m->auth_len);
	r.off += m->auth_len;
	/* A Map-Notify-Ack may carry no record; the others register something. */
	if (m->n_records == 0 && m->type != LISP_TYPE_MAP_NOTIFY_ACK)
		return LISP_WIRE_NO_RECORDS;
	if (m->n_records > LISP_MAX_RECORDS)
		return LISP_WIRE_TOO_MANY_RECORDS;
	rc = rd_records(&r, m->n_records, m->rec);
	if (rc != LISP_WIRE_OK)
		return rc;
	if (m->xtr_id_present) {
		if (!rd_has(&r, 24))
			return LISP_WIRE_TRUNCATED;
		memcpy(m->xtr_id, buf + r.off, 16);
		r.off += 16;
		m->site_id = rd_u64(&r);
	} else {
		memset(m->xtr_id, 0, sizeof(m->xtr_id));
		m->site_id = 0;
	}
	return rd_end(&r);
}

int
lisp_decode_map_request(const uint8_t *buf, size_t len, struct lisp_map_request *m)
{
	struct rd r;
	uint8_t b0, b1, b2;
	unsigned int i, n;
	int rc;

	rc = rd_start(&r, buf, len);
	if (rc != LISP_WIRE_OK)
		return rc;
	if (!rd_has(&r, 12))
		return LISP_WIRE_TRUNCATED;
	b0 = rd_u8(&r);
	if (b0 >> 4 != LISP_TYPE_MAP_REQUEST)
		return LISP_WIRE_BAD_TYPE;
	b1 = rd_u8(&r);
	b2 = rd_u8(&r);
	m->flags = (uint16_t)((b0 & 0x0f) << 8 | (b1 & 0xc0) | ((b2 >> 5) & 0x03));
	m->n_itr_rlocs = (b2 & 0x1fu) + 1;
	m->n_records = rd_u8(&r);
	m->nonce = rd_u64(&r);
	if (m->n_itr_rlocs > LISP_MAX_ITR_RLOCS)
		return LISP_WIRE_TOO_MANY_ITR_RLOCS;
	if (m->n_records == 0)
		return LISP_WIRE_NO_RECORDS;
	if (m->n_records > LISP_MAX_REQ_RECORDS)
		return LISP_WIRE_TOO_MANY_RECORDS;
	rc = rd_addr(&r, &m->source_eid, true);
	if (rc != LISP_WIRE_OK)
		return rc;
	for (i = 0; i < m->n_itr_rlocs; i++) {
		rc = rd_addr(&r, &m->itr_rloc[i], false);
		if (rc != LISP_WIRE_OK)
			return rc;
	}
	n = m->n_records;
	for (i = 0; i < n; i++) {
		if (!rd_has(&r, 2))
			return LISP_WIRE_TRUNCATED;
		(void)rd_u8(&r);
		m->eid[i].len = rd_u8(&r);
		rc = rd_addr(&r, &m->eid[i].addr, false);
		if (rc != LISP_WIRE_OK)
			return rc;
		if (m->eid[i].len > lisp_addr_bits(m->eid[i].addr.family))
			return LISP_WIRE_BAD_MASK_LEN;
	}
	if (m->flags & LISP_MREQ_M) {
		rc = rd_record(&r, &m->map_reply);
		if (rc != LISP_WIRE_OK)
			return rc;
	}
	return rd_end(&r);
}

int
lisp_decode_map_reply(const uint8_t *buf, size_t len, struct lisp_map_reply *m)
{
	struct rd r;
	uint8_t b0;
	int rc;

	rc = rd_start(&r, buf, len);
	if (rc != LISP_WIRE_OK)
		return rc;
	if (!rd_has(&r, 12))
		return LISP_WIRE_TRUNCATED;
	b0 = rd_u8(&r);
	if (b0 >> 4 != LISP_TYPE_MAP_REPLY)
		return LISP_WIRE_BAD_TYPE;
	m->flags = b0 & (LISP_MREP_P | LISP_MREP_E | LISP_MREP_S);
	r.off = 3;
	m->n_records = rd_u8(&r);
	m->nonce = rd_u64(&r);
	if (m->n_records == 0)
		return LISP_WIRE_NO_RECORDS;
	if (m->n_records > LISP_MAX_RECORDS)
		return LISP_WIRE_TOO_MANY_RECORDS;
	rc = rd_records(&r, m->n_records, m->rec);
	if (rc != LISP_WIRE_OK)
		return rc;
	return rd_end(&r);
}

int
lisp_decode_ecm(const uint8_t *buf, size_t len, struct lisp_ecm *m)
{
	const uint8_t *ip, *udp;
	size_t ip_len, hl, udp_len;
	uint16_t frag;

	if (len > LISP_MSG_MAX + 4 + NET_IP6_LEN + NET_UDP_LEN)
		return LISP_WIRE_TOO_BIG;
	if (len < 4)
		return LISP_WIRE_TRUNCATED;
	if (buf[0] >> 4 != LISP_TYPE_ECM)
		return LISP_WIRE_BAD_TYPE;
	m->flags = buf[0] & 0x0f;
	ip = buf + 4;
	ip_len = len - 4;
	memset(&m->src, 0, sizeof(m->src));
	memset(&m->dst, 0, sizeof(m->dst));
	if (ip_len < 1)
		return LISP_WIRE_TRUNCATED;
	if (ip[0] >> 4 == 4) {
		if (ip_len < NET_IP4_LEN)
			return LISP_WIRE_TRUNCATED;
		hl = (size_t)(ip[0] & 0x0f) * 4;
		if (hl < NET_IP4_LEN || hl > ip_len)
			return LISP_WIRE_ECM_BAD_IP;
		if (net_get16(ip + 2) != ip_len || ip[9] != NET_PROTO_UDP)
			return LISP_WIRE_ECM_BAD_IP;
		frag = net_get16(ip + 6);
		if ((frag & 0x3fff) != 0) /* MF or an offset: a fragment */
			return LISP_WIRE_ECM_BAD_IP;
		m->src.family = m->dst.family = 4;
		memcpy(m->src.bytes, ip + 12, 4);
		memcpy(m->dst.bytes, ip + 16, 4);
		m->ttl = ip[8];
	} else if (ip[0] >> 4 == 6) {
		if (ip_len < NET_IP6_LEN)
			return LISP_WIRE_TRUNCATED;
		hl = NET_IP6_LEN;
		if ((size_t)net_get16(ip + 4) + NET_IP6_LEN != ip_len || ip[6] != NET_PROTO_UDP)
			return LISP_WIRE_ECM_BAD_IP;
		m->src.family = m->dst.family = 6;
		memcpy(m->src.bytes, ip + 8, 16);
		memcpy(m->dst.bytes, ip + 24, 16);
		m->ttl = ip[7];
	} else {
		return LISP_WIRE_ECM_BAD_IP;
	}
	udp = ip + hl;
	if (ip_len - hl < NET_UDP_LEN)
		return LISP_WIRE_TRUNCATED;
	udp_len = net_get16(udp + 4);
	if (udp_len != ip_len - hl)
		return LISP_WIRE_ECM_BAD_UDP;
	m->sport = net_get16(udp);
	m->dport = net_get16(udp + 2);
	m->msg = udp + NET_UDP_LEN;
	m->msg_len = udp_len - NET_UDP_LEN;
	if (m->msg_len == 0)
		return LISP_WIRE_TRUNCATED;
	if (m->msg_len > LISP_MSG_MAX)
		return LISP_WIRE_TOO_BIG;
	return LISP_WIRE_OK;
}

/* A bounded writer: every put checks the room first and latches a failure. */
struct wr {
	uint8_t *p;
	size_t cap;
	size_t off;
	bool full;
};

static uint8_t *
wr_take(struct wr *w, size_t n)
{
	uint8_t *q;

	if (w->full || w->cap - w->off < n) {
		w->full = true;
		return NULL;
	}
	q = w->p + w->off;
	w->off += n;
	return q;
}

static void
wr_u8(struct wr *w, uint8_t v)
{
	uint8_t *q = wr_take(w, 1);

	if (q != NULL)
		q[0] = v;
}

static void
wr_u16(struct wr *w, uint16_t v)
{
	uint8_t *q = wr_take(w, 2);

	if (q != NULL)
		net_put16(q, v);
}

static void
wr_u32(struct wr *w, uint32_t v)
{
	uint8_t *q = wr_take(w, 4);

	if (q != NULL)
		net_put32(q, v);
}

static void
wr_u64(struct wr *w, uint64_t v)
{
	wr_u32(w, (uint32_t)(v >> 32));
	wr_u32(w, (uint32_t)v);
}

static void
wr_bytes(struct wr *w, const void *src, size_t n)
{
	uint8_t *q = wr_take(w, n);

	if (q != NULL && n != 0)
		memcpy(q, src, n);
}

static int
wr_addr(struct wr *w, const struct lisp_addr *a, bool allow_none)
{
	if (a->family == 4) {
		wr_u16(w, LISP_AFI_IP4);
		wr_bytes(w, a->bytes, 4);
	} else if (a->family == 6) {
		wr_u16(w, LISP_AFI_IP6);
		wr_bytes(w, a->bytes, 16);
	} else if (a->family == 0 && allow_none) {
		wr_u16(w, LISP_AFI_NONE);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int
wr_record(struct wr *w, const struct lisp_record *rec)
{
	unsigned int i;

	if (rec->n_locators > LISP_MAX_LOCATORS || rec->act > 7 ||
	    rec->eid.len > lisp_addr_bits(rec->eid.addr.family))
		return -EINVAL;
	wr_u32(w, rec->ttl);
	wr_u8(w, (uint8_t)rec->n_locators);
	wr_u8(w, rec->eid.len);
	wr_u8(w, (uint8_t)(rec->act << 5 | (rec->authoritative ? 0x10 : 0)));
	wr_u8(w, 0);
	wr_u16(w, rec->map_version & 0x0fff);
	if (wr_addr(w, &rec->eid.addr, false) != 0)
		return -EINVAL;
	for (i = 0; i < rec->n_locators; i++) {
		const struct lisp_locator *l = &rec->loc[i];

		wr_u8(w, l->priority);
		wr_u8(w, l->weight);
		wr_u8(w, l->mpriority);
		wr_u8(w, l->mweight);
		wr_u16(w, l->flags & (LISP_LOC_L | LISP_LOC_P | LISP_LOC_R));
		if (wr_addr(w, &l->addr, false) != 0)
			return -EINVAL;
	}
	return 0;
}

static int
wr_finish(const struct wr *w)
{
	return w->full ? -ENOSPC : (int)w->off;
}

int
lisp_encode_map_register(uint8_t *buf, size_t cap, const struct lisp_map_register *m)
{
	struct wr w = { buf, cap, 0, false };
	unsigned int i;
	uint8_t b0;
	uint8_t *auth;

	if (m->n_records > LISP_MAX_RECORDS || m->auth_len > LISP_AUTH_DATA_MAX)
		return -EINVAL;
	if (m->type == LISP_TYPE_MAP_REGISTER)
		b0 = (uint8_t)(m->type << 4 | (m->proxy_reply ? 0x08 : 0) |
			       (m->lisp_sec ? 0x04 : 0) | (m->xtr_id_present ? 0x02 : 0) |
			       (m->rtr ? 0x01 : 0));
	else if (m->type == LISP_TYPE_MAP_NOTIFY || m->type == LISP_TYPE_MAP_NOTIFY_ACK)
		b0 = (uint8_t)(m->type << 4 | (m->xtr_id_present ? 0x08 : 0));
	else
		return -EINVAL;
	wr_u8(&w, b0);
	wr_u8(&w, 0);
	wr_u8(&w, m->type == LISP_TYPE_MAP_REGISTER && m->want_map_notify ? 0x01 : 0);
	wr_u8(&w, (uint8_t)m->n_records);
	wr_u64(&w, m->nonce);
	wr_u8(&w, m->key_id);
	wr_u8(&w, m->alg_id);
	wr_u16(&w, m->auth_len);
	auth = wr_take(&w, m->auth_len);
	if (auth != NULL && m->auth_len != 0)
		memset(auth, 0, m->auth_len);
	for (i = 0; i < m->n_records; i++)
		if (wr_record(&w, &m->rec[i]) != 0)
			return -EINVAL;
	if (m->xtr_id_present) {
		wr_bytes(&w, m->xtr_id, 16);
		wr_u64(&w, m->site_id);
	}
	return wr_finish(&w);
}

int
lisp_encode_map_request(uint8_t *buf, size_t cap, const struct lisp_map_request *m)
{
	struct wr w = { buf, cap, 0, false };
	unsigned int i;

	if (m->n_itr_rlocs == 0 || m->n_itr_rlocs > LISP_MAX_ITR_RLOCS || m->n_records == 0 ||
	    m->n_records > LISP_MAX_REQ_RECORDS)
		return -EINVAL;
	wr_u8(&w, (uint8_t)(LISP_TYPE_MAP_REQUEST << 4 | ((m->flags >> 8) & 0x0f)));
	wr_u8(&w, (uint8_t)(m->flags & 0xc0));
	wr_u8(&w, (uint8_t)((m->flags & 0x03) << 5 | (m->n_itr_rlocs - 1)));
	wr_u8(&w, (uint8_t)m->n_records);
	wr_u64(&w, m->nonce);
	if (wr_addr(&w, &m->source_eid, true) != 0)
		return -EINVAL;
	for (i = 0; i < m->n_itr_rlocs; i++)
		if (wr_addr(&w, &m->itr_rloc[i], false) != 0)
			return -EINVAL;
	for (i = 0; i < m->n_records; i++) {
		if (m->eid[i].len > lisp_addr_bits(m->eid[i].addr.family))
			return -EINVAL;
		wr_u8(&w, 0);
		wr_u8(&w, m->eid[i].len);
		if (wr_addr(&w, &m->eid[i].addr, false) != 0)
			return -EINVAL;
	}
	if ((m->flags & LISP_MREQ_M) && wr_record(&w, &m->map_reply) != 0)
		return -EINVAL;
	return wr_finish(&w);
}

int
lisp_encode_map_reply(uint8_t *buf, size_t cap, const struct lisp_map_reply *m)
{
	struct wr w = { buf, cap, 0, false };
	unsigned int i;

	if (m->n_records == 0 || m->n_records > LISP_MAX_RECORDS)
		return -EINVAL;
	wr_u8(&w, (uint8_t)(LISP_TYPE_MAP_REPLY << 4 | (m->flags & (LISP_MREP_P | LISP_MREP_E))));
	wr_u8(&w, 0);
	wr_u8(&w, 0);
	wr_u8(&w, (uint8_t)m->n_records);
	wr_u64(&w, m->nonce);
	for (i = 0; i < m->n_records; i++)
		if (wr_record(&w, &m->rec[i]) != 0)
			return -EINVAL;
	return wr_finish(&w);
}

int
lisp_encode_ecm(uint8_t *buf, size_t cap, const struct lisp_ecm *m)
{
	size_t hl, total;
	uint8_t *ip, *udp;
	uint16_t csum;

	if (m->src.family != m->dst.family || (m->src.family != 4 && m->src.family != 6) ||
	    m->msg_len > LISP_MSG_MAX)
		return -EINVAL;
	hl = m->src.family == 4 ? NET_IP4_LEN : NET_IP6_LEN;
	total = 4 + hl + NET_UDP_LEN + m->msg_len;
	if (total > cap)
		return -ENOSPC;
	ip = buf + 4;
	udp = ip + hl;
	/* The message first: it may already sit in buf (memmove copes with that). */
	if (m->msg_len != 0)
		memmove(udp + NET_UDP_LEN, m->msg, m->msg_len);
	buf[0] = (uint8_t)(LISP_TYPE_ECM << 4 | (m->flags & 0x0f));
	buf[1] = buf[2] = buf[3] = 0;
	if (m->src.family == 4) {
		memset(ip, 0, NET_IP4_LEN);
		ip[0] = 0x45;
		net_put16(ip + 2, (uint16_t)(hl + NET_UDP_LEN + m->msg_len));
		ip[8] = m->ttl;
		ip[9] = NET_PROTO_UDP;
		memcpy(ip + 12, m->src.bytes, 4);
		memcpy(ip + 16, m->dst.bytes, 4);
		net_put16(ip + 10, net_ip4_hdr_csum(ip, NET_IP4_LEN));
	} else {
		net_ip6_write(ip, m->src.bytes, m->dst.bytes, (uint16_t)(NET_UDP_LEN + m->msg_len),
			      NET_PROTO_UDP, 0, 0, m->ttl);
	}
	net_udp_write(udp, m->sport, m->dport, (uint16_t)(NET_UDP_LEN + m->msg_len));
	if (m->src.family == 4)
		csum = net_ip4_l4_csum(m->src.bytes, m->dst.bytes, NET_PROTO_UDP, udp,
				       (uint32_t)(NET_UDP_LEN + m->msg_len), 6);
	else
		csum = net_ip6_l4_csum(m->src.bytes, m->dst.bytes, NET_PROTO_UDP, udp,
				       (uint32_t)(NET_UDP_LEN + m->msg_len), 6);
	net_put16(udp + 6, csum);
	return (int)total;
}
