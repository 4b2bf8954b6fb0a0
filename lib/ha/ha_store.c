/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Chained hashing over an index sized for the capacity up front: the control
 * lcore that owns the store also sends heartbeats every few milliseconds, and
 * doubling an index of a million entries would stall it for tens of them.
 * Entries live in chunks of CHUNK entries allocated on first use, so the
 * memory follows the number of flows, not the capacity. Chains and the free
 * list link entries by index + 1 (0 ends a list).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ha/ha_store.h"

#define CHUNK_SHIFT 16
#define CHUNK (1u << CHUNK_SHIFT)
#define MIN_BUCKETS 1024u

struct ha_store {
	uint32_t capacity;
	uint32_t bmask;
	uint32_t *buckets;
	struct ha_store_ent **chunks;
	uint32_t n_chunks;
	uint32_t used; /* indexes handed out so far: [0, used) */
	uint32_t free_head;
	uint32_t count[HA_STORE_KINDS];
	uint64_t digest;
	struct ha_store_stats st;
};

static inline uint64_t
mix64(uint64_t x)
{
	/* The finaliser of SplitMix64: every input bit moves every output bit. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
key_hash64(uint8_t kind, const struct flow_key *k)
{
	uint64_t w[5], h = kind;
	unsigned int i;

	memcpy(w, k, sizeof(w));
	for (i = 0; i < 5; i++)
		h = mix64(h ^ w[i]);
	return h;
}

static uint64_t
digest_term(const struct ha_store_ent *e)
{
	uint64_t h = key_hash64(e->kind, &e->key);

	return mix64(h ^ mix64(e->backend ^ ((uint64_t)e->vip << 48) ^ ((uint64_t)e->state << 40)));
}

static inline struct ha_store_ent *
ent_at(const struct ha_store *s, uint32_t idx)
{
	return &s->chunks[idx >> CHUNK_SHIFT][idx & (CHUNK - 1)];
}

struct ha_store *
ha_store_create(uint32_t capacity)
{
	struct ha_store *s;
	uint32_t nb = MIN_BUCKETS;

	if (capacity == 0 || capacity > (1u << 30)) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < capacity)
		nb <<= 1;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->capacity = capacity;
	s->bmask = nb - 1;
	s->n_chunks = (capacity + CHUNK - 1) / CHUNK;
	s->buckets = calloc(nb, sizeof(*s->buckets));
	s->chunks = calloc(s->n_chunks, sizeof(*s->chunks));
	if (s->buckets == NULL || s->chunks == NULL) {
		ha_store_free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void
ha_store_free(struct ha_store *s)
{
	uint32_t c;

	if (s == NULL)
		return;
	for (c = 0; s->chunks != NULL && c < s->n_chunks; c++)
		free(s->chunks[c]);
	free(s->chunks);
	free(s->buckets);
	free(s);
}

static inline bool
ent_match(const struct ha_store_ent *e, uint8_t kind, uint32_t hash, const struct flow_key *k)
{
	return e->hash == hash && e->kind == kind && memcmp(&e->key, k, sizeof(*k)) == 0;
}

struct ha_store_ent *
ha_store_find(const struct ha_store *s, uint8_t kind, const struct flow_key *key)
{
	uint32_t hash = (uint32_t)key_hash64(kind, key);
	uint32_t i = s->buckets[hash & s->bmask];

	while (i != 0) {
		struct ha_store_ent *e = ent_at(s, i - 1);

		if (ent_match(e, kind, hash, key))
			return e;
		i = e->next;
	}
	return NULL;
}

/* A free index, or UINT32_MAX when the store is full. */
static uint32_t
ent_alloc(struct ha_store *s)
{
	uint32_t idx;

	if (s->free_head != 0) {
		idx = s->free_head - 1;
		s->free_head = ent_at(s, idx)->next;
		return idx;
	}
	if (s->used == s->capacity)
		return UINT32_MAX;
	idx = s->used;
	if (s->chunks[idx >> CHUNK_SHIFT] == NULL) {
		s->chunks[idx >> CHUNK_SHIFT] = calloc(CHUNK, sizeof(struct ha_store_ent));
		if (s->chunks[idx >> CHUNK_SHIFT] == NULL)
			return UINT32_MAX;
	}
	s->used++;
	return idx;
}

struct ha_store_ent *
ha_store_put(struct ha_store *s, uint8_t kind, const struct flow_key *key, bool *created)
{
	uint32_t hash = (uint32_t)key_hash64(kind, key);
	uint32_t *b = &s->buckets[hash & s->bmask];
	struct ha_store_ent *e;
	uint32_t i = *b;

	*created = false;
	if (kind == 0 || kind >= HA_STORE_KINDS)
		return NULL;
	while (i != 0) {
		e = ent_at(s, i - 1);
		if (ent_match(e, kind, hash, key))
			return e;
		i = e->next;
	}
	i = ent_alloc(s);
	if (i == UINT32_MAX) {
		s->st.full++;
		return NULL;
	}
	e = ent_at(s, i);
	memset(e, 0, sizeof(*e));
	e->key = *key;
	e->kind = kind;
	e->hash = hash;
	e->next = *b;
	*b = i + 1;
	s->count[kind]++;
	s->digest += digest_term(e);
	s->st.inserts++;
	*created = true;
	return e;
}

void
ha_store_set(struct ha_store *s, struct ha_store_ent *e, uint16_t vip, uint64_t backend,
	     uint8_t state)
{
	s->digest -= digest_term(e);
	e->vip = vip;
	e->backend = backend;
	e->state = state;
	e->marked = 0;
	s->digest += digest_term(e);
}

void
ha_store_del(struct ha_store *s, struct ha_store_ent *e)
{
	uint32_t idx = UINT32_MAX;
	uint32_t *p;

	if (e->kind == 0)
		return;
	/* Its index is where its bucket's chain names it: unlink it there. */
	for (p = &s->buckets[e->hash & s->bmask]; *p != 0; p = &ent_at(s, *p - 1)->next) {
		if (ent_at(s, *p - 1) == e) {
			idx = *p - 1;
			*p = e->next;
			break;
		}
	}
	if (idx == UINT32_MAX)
		return;
	s->digest -= digest_term(e);
	s->count[e->kind]--;
	s->st.deletes++;
	/* kind 0 marks a free slot for the cursors. */
	e->kind = 0;
	e->next = s->free_head;
	s->free_head = idx + 1;
}

uint32_t
ha_store_count(const struct ha_store *s, uint8_t kind)
{
	uint32_t n = 0, k;

	if (kind != 0)
		return kind < HA_STORE_KINDS ? s->count[kind] : 0;
	for (k = 1; k < HA_STORE_KINDS; k++)
		n += s->count[k];
	return n;
}

uint64_t
ha_store_digest(const struct ha_store *s)
{
	return s->digest;
}

struct ha_store_ent *
ha_store_next(const struct ha_store *s, uint32_t *cursor)
{
	uint32_t i;

	for (i = *cursor; i < s->used; i++) {
		struct ha_store_ent *e = ent_at(s, i);

		if (e->kind != 0) {
			*cursor = i + 1;
			return e;
		}
	}
	*cursor = s->used;
	return NULL;
}

uint32_t
ha_store_mark(struct ha_store *s, unsigned int kind_mask)
{
	uint32_t i, n = 0;

	for (i = 0; i < s->used; i++) {
		struct ha_store_ent *e = ent_at(s, i);

		if (e->kind != 0 && (kind_mask & (1u << e->kind))) {
			e->marked = 1;
			n++;
		}
	}
	return n;
}

uint32_t
ha_store_sweep(struct ha_store *s, ha_store_sweep_fn fn, void *arg)
{
	uint32_t i, n = 0;

	for (i = 0; i < s->used; i++) {
		struct ha_store_ent *e = ent_at(s, i);

		if (e->kind == 0 || !e->marked)
			continue;
		if (fn != NULL)
			fn(arg, e);
		ha_store_del(s, e);
		n++;
	}
	s->st.swept += n;
	return n;
}

const struct ha_store_stats *
ha_store_stats(const struct ha_store *s)
{
	return &s->st;
}
