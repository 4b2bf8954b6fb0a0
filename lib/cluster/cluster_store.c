/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_owner.h"
#include "cluster/cluster_store.h"

#define NS_PER_MS 1000000ULL
#define NIL UINT32_MAX
#define STORE_MAX (1u << 26)

struct store_ent {
	struct cluster_rec rec;
	uint64_t expire_ns;
	uint32_t hash; /* low bits of the key hash: a cheap first compare */
	uint32_t next; /* bucket chain, or free list */
	bool used;
};

struct cluster_store {
	struct store_ent *ent;
	uint32_t *bucket;
	uint32_t cap;
	uint32_t bmask;
	uint32_t free_head;
	uint32_t count;
	uint32_t age_pos;
	struct cluster_store_stats st;
};

static void
reset(struct cluster_store *s)
{
	uint32_t i;

	for (i = 0; i <= s->bmask; i++)
		s->bucket[i] = NIL;
	for (i = 0; i < s->cap; i++) {
		s->ent[i].used = false;
		s->ent[i].next = i + 1 < s->cap ? i + 1 : NIL;
	}
	s->free_head = 0;
	s->count = 0;
	s->age_pos = 0;
}

struct cluster_store *
cluster_store_create(uint32_t capacity)
{
	struct cluster_store *s;
	uint32_t nb = 1;

	if (capacity == 0 || capacity > STORE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < capacity)
		nb <<= 1;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto fail;
	s->ent = calloc(capacity, sizeof(*s->ent));
	s->bucket = calloc(nb, sizeof(*s->bucket));
	if (s->ent == NULL || s->bucket == NULL)
		goto fail;
	s->cap = capacity;
	s->bmask = nb - 1;
	reset(s);
	return s;
fail:
	cluster_store_free(s);
	errno = ENOMEM;
	return NULL;
}

void
cluster_store_free(struct cluster_store *s)
{
	if (s == NULL)
		return;
	free(s->ent);
	free(s->bucket);
	free(s);
}

void
cluster_store_clear(struct cluster_store *s)
{
	reset(s);
}

static bool
same_key(const struct cluster_rec *r, uint8_t rtype, const struct flow_key *k)
{
	unsigned int al = k->family == 6 ? 16 : 4;

	return r->type == rtype && r->key.family == k->family && r->key.proto == k->proto &&
	       r->key.sport == k->sport && r->key.dport == k->dport &&
	       memcmp(r->key.src, k->src, al) == 0 && memcmp(r->key.dst, k->dst, al) == 0;
}

/* The slot of (rtype, k) and the link that points at it, or NIL. */
static uint32_t
find(const struct cluster_store *s, uint8_t rtype, const struct flow_key *k, uint64_t h,
     uint32_t **link)
{
	uint32_t *l = &s->bucket[h & s->bmask], i;

	for (i = *l; i != NIL; l = &s->ent[i].next, i = *l) {
		const struct store_ent *e = &s->ent[i];

		if (e->hash == (uint32_t)(h >> 32) && same_key(&e->rec, rtype, k)) {
			*link = l;
			return i;
		}
	}
	*link = l;
	return NIL;
}

static void
unlink_free(struct cluster_store *s, uint32_t *link, uint32_t i)
{
	*link = s->ent[i].next;
	s->ent[i].used = false;
	s->ent[i].next = s->free_head;
	s->free_head = i;
	s->count--;
}

static uint64_t
expiry(uint64_t now, uint32_t lifetime_ms)
{
	return now + (uint64_t)lifetime_ms * NS_PER_MS;
}

int
cluster_store_put(struct cluster_store *s, uint64_t now, const struct cluster_rec *r)
{
	uint64_t h, exp;
	uint32_t *link, i;
	struct store_ent *e;
	bool bulk = r->flags & CLUSTER_ITEM_F_BULK;

	if (r->type != CLUSTER_ITEM_FLOW && r->type != CLUSTER_ITEM_AFFINITY)
		return -EINVAL;
	h = cluster_key_hash(r->type, &r->key);
	i = find(s, r->type, &r->key, h, &link);
	if (i != NIL && s->ent[i].expire_ns <= now) {
		unlink_free(s, link, i);
		s->st.expired++;
		i = find(s, r->type, &r->key, h, &link);
	}
	if (r->lifetime_ms == 0) {
		if (i != NIL && !bulk) {
			unlink_free(s, link, i);
			s->st.deletes++;
		}
		return 0;
	}
	exp = expiry(now, r->lifetime_ms);
	if (i != NIL) {
		e = &s->ent[i];
		if (bulk) {
			if (exp > e->expire_ns)
				e->expire_ns = exp;
		} else {
			e->rec = *r;
			e->rec.flags = 0;
			e->expire_ns = exp;
		}
		s->st.updates++;
		return 0;
	}
	if (s->free_head == NIL) {
		s->st.full++;
		return -ENOSPC;
	}
	i = s->free_head;
	e = &s->ent[i];
	s->free_head = e->next;
	e->rec = *r;
	e->rec.flags = 0;
	e->expire_ns = exp;
	e->hash = (uint32_t)(h >> 32);
	e->used = true;
	e->next = *link;
	*link = i;
	s->count++;
	s->st.inserts++;
	return 0;
}

static void export(const struct store_ent *e, uint64_t now, struct cluster_rec *out)
{
	uint64_t left = (e->expire_ns - now + NS_PER_MS - 1) / NS_PER_MS;

	*out = e->rec;
	out->lifetime_ms = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

bool
cluster_store_get(struct cluster_store *s, uint64_t now, uint8_t rtype, const struct flow_key *k,
		  struct cluster_rec *out)
{
	uint64_t h = cluster_key_hash(rtype, k);
	uint32_t *link, i;

	s->st.lookups++;
	i = find(s, rtype, k, h, &link);
	if (i == NIL)
		return false;
	if (s->ent[i].expire_ns <= now) {
		unlink_free(s, link, i);
		s->st.expired++;
		return false;
	}
	s->st.hits++;
	export(&s->ent[i], now, out);
	return true;
}

int
cluster_store_del(struct cluster_store *s, uint8_t rtype, const struct flow_key *k)
{
	uint64_t h = cluster_key_hash(rtype, k);
	uint32_t *link, i;

	i = find(s, rtype, k, h, &link);
	if (i == NIL)
		return -ENOENT;
	unlink_free(s, link, i);
	s->st.deletes++;
	return 0;
}

uint32_t
cluster_store_expire(struct cluster_store *s, uint64_t now, uint32_t max_slots)
{
	uint32_t n = 0, done, *link, i;
	struct store_ent *e;
	uint64_t h;

	for (done = 0; done < max_slots && done < s->cap; done++) {
		e = &s->ent[s->age_pos];
		if (e->used && e->expire_ns <= now) {
			h = cluster_key_hash(e->rec.type, &e->rec.key);
			i = find(s, e->rec.type, &e->rec.key, h, &link);
			if (i == s->age_pos) {
				unlink_free(s, link, i);
				s->st.expired++;
				n++;
			}
		}
		s->age_pos = s->age_pos + 1 < s->cap ? s->age_pos + 1 : 0;
	}
	return n;
}

uint32_t
cluster_store_capacity(const struct cluster_store *s)
{
	return s->cap;
}

uint32_t
cluster_store_count(const struct cluster_store *s)
{
	return s->count;
}

const struct cluster_store_stats *
cluster_store_stats(const struct cluster_store *s)
{
	return &s->st;
}

bool
cluster_store_at(const struct cluster_store *s, uint32_t pos, uint64_t now, struct cluster_rec *out)
{
	const struct store_ent *e;

	if (pos >= s->cap)
		return false;
	e = &s->ent[pos];
	if (!e->used || e->expire_ns <= now)
		return false;
	export(e, now, out);
	return true;
}
