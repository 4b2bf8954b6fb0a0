/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-worker flow table: bucketized cuckoo hashing, 4 entries of one
 * cache line each per bucket, two candidate buckets per key. Lookups read at
 * most two buckets. Inserts move entries between their two buckets to make
 * room (bounded search) before they evict anything, and eviction spares
 * established flows for a new SYN so a SYN flood cannot push them out.
 *
 * Empty entries have hash 0. A key's stored hash, its "signature", is the
 * caller's hash with 0 mapped to 1; both candidate buckets are derived from
 * the signature, so an entry's other bucket can be found from the entry
 * alone when it must be moved.
 */
#include <errno.h>
#include <string.h>

#include "flow/flow.h"

#define FLOW_BUCKET_ENTRIES 4

/*
 * Buckets whose entries the cuckoo search may try to move, per insert: b1 and
 * b2, the 8 and 32 buckets one and two moves away, and half of the 128 three
 * moves away. That fills the table past 93% before anything is evicted, and
 * bounds the cost of one insert.
 */
#define FLOW_CUCKOO_MAX_NODES 106

/* TCP flags as on the wire (lib/flow does not depend on lib/net). */
#define FLOW_TCP_FIN 0x01
#define FLOW_TCP_SYN 0x02
#define FLOW_TCP_RST 0x04
#define FLOW_TCP_ACK 0x10

#define FLOW_PROTO_TCP 6

/*
 * Fixed secrets (wyhash's): the hash must be the same on every instance of a
 * cluster. The low byte of FLOW_P0 is neither 4 nor 6, so word 0 of a valid
 * key never cancels it to a zero operand.
 */
#define FLOW_P0 0xa0761d6478bd642fULL
#define FLOW_P1 0xe7037ed1a0b428dbULL
#define FLOW_P2 0x8ebc6af09c88c6e3ULL
#define FLOW_P3 0x589965cc75374cc3ULL
#define FLOW_P4 0x1d8e4e27c47d124fULL

_Static_assert(sizeof(struct flow_key) == 40, "flow_key is hashed as 5 words");
_Static_assert(sizeof(struct flow_entry) == 64, "flow_entry is one cache line");

struct flow_table {
	struct flow_entry *e;
	uint32_t mask;         /* n_buckets - 1 */
	uint32_t capacity;     /* entries */
	uint32_t count;        /* non-empty entries, expired ones included */
	uint32_t age_cursor;   /* next bucket flow_age looks at */
	uint32_t cuckoo_limit; /* above this count inserts do not search */
	uint32_t timeout[FLOW_STATE_MAX];
	struct flow_stats stats;
	flow_release_fn release; /* NULL: nobody to tell */
	void *release_arg;
} __attribute__((aligned(64)));

/* Explicit little-endian so the hash does not depend on the host. */
static inline uint64_t
flow_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

/*
 * Multiply-fold (wyhash's "mum"): the two halves of the 128-bit product,
 * xored. A key takes three products, the first two independent, so the
 * dependency chain is two multiplies long.
 */
static inline uint64_t
flow_mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint32_t
flow_fold(uint64_t h)
{
	return (uint32_t)(h ^ h >> 32);
}

uint32_t
flow_hash(const struct flow_key *k)
{
	uint64_t w0, a, b;

	/* Fields, not bytes, for word 0: ports are in host order. */
	w0 = (uint64_t)k->family | (uint64_t)k->proto << 8 | (uint64_t)k->pad << 16 |
	     (uint64_t)k->sport << 32 | (uint64_t)k->dport << 48;
	a = flow_mum(w0 ^ FLOW_P0, flow_le64(k->src) ^ FLOW_P1);
	b = flow_mum(flow_le64(k->src + 8) ^ FLOW_P2, flow_le64(k->dst) ^ FLOW_P3);
	return flow_fold(flow_mum(a ^ flow_le64(k->dst + 8) ^ FLOW_P4, b ^ FLOW_P0 ^ sizeof(*k)));
}

uint32_t
flow_hash_addr(uint8_t family, const uint8_t addr[16])
{
	uint64_t lo, hi;

	if (family == 4) {
		/* Only 4 bytes are the address; the rest may be anything. */
		lo = (uint64_t)addr[0] | (uint64_t)addr[1] << 8 | (uint64_t)addr[2] << 16 |
		     (uint64_t)addr[3] << 24;
		hi = 0;
	} else {
		lo = flow_le64(addr);
		hi = flow_le64(addr + 8);
	}
	return flow_fold(flow_mum(flow_mum(lo ^ FLOW_P1, hi ^ FLOW_P2) ^ FLOW_P3,
				  (uint64_t)family ^ FLOW_P4));
}

static inline uint32_t
flow_sig(uint32_t hash)
{
	return hash != 0 ? hash : 1;
}

static inline uint32_t
flow_bucket1(const struct flow_table *t, uint32_t sig)
{
	return sig & t->mask;
}

/* A different function of the signature than b1, never equal to b1. */
static inline uint32_t
flow_bucket2(const struct flow_table *t, uint32_t sig, uint32_t b1)
{
	uint32_t x = sig;
	uint32_t b2;

	x ^= x >> 16;
	x *= 0x85ebca6bU;
	x ^= x >> 13;
	x *= 0xc2b2ae35U;
	x ^= x >> 16;
	b2 = x & t->mask;
	if (b2 == b1)
		b2 = (b1 + 1) & t->mask;
	return b2;
}

static inline struct flow_entry *
flow_slot(const struct flow_table *t, uint32_t bucket, unsigned int i)
{
	return &t->e[(size_t)bucket * FLOW_BUCKET_ENTRIES + i];
}

/* Signed age so a last_seen slightly ahead of now counts as fresh. */
static inline int32_t
flow_age_of(const struct flow_entry *e, uint32_t now)
{
	return (int32_t)(now - e->last_seen);
}

static inline bool
flow_expired(const struct flow_table *t, const struct flow_entry *e, uint32_t now)
{
	int32_t age = flow_age_of(e, now);
	uint8_t st = e->state < FLOW_STATE_MAX ? e->state : FLOW_STATE_SYN;

	return age > 0 && (uint32_t)age > t->timeout[st];
}

/* Every removal of a live entry comes through here, so the callback sees them all. */
static inline void
flow_free(struct flow_table *t, struct flow_entry *e)
{
	if (t->release != NULL)
		t->release(e, t->release_arg);
	memset(e, 0, sizeof(*e));
	t->count--;
}

/* True when e is empty or was expired (and is now freed). */
static inline bool
flow_reclaim(struct flow_table *t, struct flow_entry *e, uint32_t now)
{
	if (e->hash == 0)
		return true;
	if (!flow_expired(t, e, now))
		return false;
	flow_free(t, e);
	t->stats.expired++;
	return true;
}

static struct flow_entry *
flow_bucket_reclaim(struct flow_table *t, uint32_t bucket, uint32_t now)
{
	unsigned int i;

	for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
		if (flow_reclaim(t, flow_slot(t, bucket, i), now))
			return flow_slot(t, bucket, i);
	}
	return NULL;
}

/*
 * A free slot in the emptier of b1 and b2 (b1 on a tie): filling both evenly
 * is what keeps the cuckoo search rare below high load. Expired entries are
 * reclaimed only when neither bucket has an empty slot. The caller's lookup
 * miss has just read both buckets, so this costs no extra cache miss.
 */
static struct flow_entry *
flow_pick_slot(struct flow_table *t, uint32_t b1, uint32_t b2, uint32_t now)
{
	struct flow_entry *e1 = NULL, *e2 = NULL, *e;
	unsigned int i, n1 = 0, n2 = 0;

	for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
		e = flow_slot(t, b1, i);
		if (e->hash == 0 && n1++ == 0)
			e1 = e;
	}
	if (b2 != b1) {
		for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
			e = flow_slot(t, b2, i);
			if (e->hash == 0 && n2++ == 0)
				e2 = e;
		}
	}
	if (n1 > 0 && n1 >= n2)
		return e1;
	if (n2 > 0)
		return e2;
	e = flow_bucket_reclaim(t, b1, now);
	if (e == NULL && b2 != b1)
		e = flow_bucket_reclaim(t, b2, now);
	return e;
}

size_t
flow_table_memsize(uint32_t n)
{
	uint64_t cap = FLOW_BUCKET_ENTRIES;

	if (n > (UINT32_C(1) << 31))
		return 0;
	while (cap < n)
		cap <<= 1;
	return sizeof(struct flow_table) + (size_t)cap * sizeof(struct flow_entry);
}

struct flow_table *
flow_table_init(void *mem, size_t memsize, uint32_t n, const struct flow_timeouts *to)
{
	size_t need = flow_table_memsize(n);
	struct flow_table *t = mem;

	if (mem == NULL || to == NULL || ((uintptr_t)mem & 63) != 0 || need == 0 ||
	    memsize < need) {
		errno = EINVAL;
		return NULL;
	}
	memset(mem, 0, need);
	t->e = (struct flow_entry *)((uint8_t *)mem + sizeof(*t));
	t->capacity = (uint32_t)((need - sizeof(*t)) / sizeof(struct flow_entry));
	t->mask = t->capacity / FLOW_BUCKET_ENTRIES - 1;
	/*
	 * Near full the search mostly fails, and a SYN flood would make every
	 * packet pay for a failed search: above 15/16, evict or refuse at once.
	 */
	t->cuckoo_limit = t->capacity - t->capacity / 16;
	flow_table_set_timeouts(t, to);
	return t;
}

void
flow_table_set_timeouts(struct flow_table *t, const struct flow_timeouts *to)
{
	t->timeout[FLOW_STATE_SYN] = to->syn;
	t->timeout[FLOW_STATE_EST] = to->established;
	t->timeout[FLOW_STATE_CLOSING] = to->closing;
	t->timeout[FLOW_STATE_UDP] = to->udp;
}

void
flow_table_set_release(struct flow_table *t, flow_release_fn fn, void *arg)
{
	t->release = fn;
	t->release_arg = arg;
}

uint32_t
flow_table_capacity(const struct flow_table *t)
{
	return t->capacity;
}

uint32_t
flow_table_count(const struct flow_table *t)
{
	return t->count;
}

const struct flow_stats *
flow_table_stats(const struct flow_table *t)
{
	return &t->stats;
}

static struct flow_entry *
flow_bucket_find(struct flow_table *t, uint32_t bucket, const struct flow_key *k, uint32_t sig,
		 uint32_t now)
{
	struct flow_entry *e;
	unsigned int i;

	for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
		e = flow_slot(t, bucket, i);
		if (e->hash != sig || memcmp(&e->key, k, sizeof(*k)) != 0)
			continue;
		if (!flow_expired(t, e, now))
			return e;
		/* Free it now so a stale copy never shadows a fresh insert. */
		flow_free(t, e);
		t->stats.expired++;
	}
	return NULL;
}

struct flow_entry *
flow_lookup(struct flow_table *t, const struct flow_key *k, uint32_t hash, uint32_t now)
{
	uint32_t sig = flow_sig(hash);
	uint32_t b1 = flow_bucket1(t, sig);
	struct flow_entry *e;

	e = flow_bucket_find(t, b1, k, sig, now);
	if (e != NULL)
		return e;
	if (t->mask == 0)
		return NULL;
	return flow_bucket_find(t, flow_bucket2(t, sig, b1), k, sig, now);
}

/* All four cache lines of a bucket: a miss compares the hash of each entry. */
static inline void
flow_prefetch_bucket(const struct flow_table *t, uint32_t bucket)
{
	unsigned int i;

	for (i = 0; i < FLOW_BUCKET_ENTRIES; i++)
		__builtin_prefetch(flow_slot(t, bucket, i), 0, 3);
}

/*
 * Two rounds of prefetches: every key's first bucket, then the second bucket
 * of the keys not found in their first. Prefetching both buckets of every key
 * up front (8 lines a key) was measured no faster than one lookup at a time
 * on a cold table: the burst is bound by how many lines the memory system
 * can have in flight, and hits need the second bucket only about half the
 * time. Keys are compared in order within each round; a lookup only ever
 * touches its own key's entry, so the results, expiries and statistics are
 * those of flow_lookup called once per key in order.
 */
void
flow_lookup_bulk(struct flow_table *t, const struct flow_key *const keys[], const uint32_t hashes[],
		 unsigned int n, uint32_t now, struct flow_entry *out[])
{
	uint32_t b1[FLOW_BULK_MAX], b2[FLOW_BULK_MAX], sig[FLOW_BULK_MAX];
	unsigned int base, m, i;

	for (base = 0; base < n; base += m) {
		m = n - base < FLOW_BULK_MAX ? n - base : FLOW_BULK_MAX;
		for (i = 0; i < m; i++) {
			sig[i] = flow_sig(hashes[base + i]);
			b1[i] = flow_bucket1(t, sig[i]);
			flow_prefetch_bucket(t, b1[i]);
		}
		for (i = 0; i < m; i++) {
			out[base + i] = flow_bucket_find(t, b1[i], keys[base + i], sig[i], now);
			if (out[base + i] != NULL || t->mask == 0)
				continue;
			b2[i] = flow_bucket2(t, sig[i], b1[i]);
			flow_prefetch_bucket(t, b2[i]);
		}
		for (i = 0; i < m; i++) {
			if (out[base + i] == NULL && t->mask != 0)
				out[base + i] =
					flow_bucket_find(t, b2[i], keys[base + i], sig[i], now);
		}
	}
}

static inline uint32_t
flow_bucket_of(const struct flow_table *t, const struct flow_entry *e)
{
	return (uint32_t)((size_t)(e - t->e) / FLOW_BUCKET_ENTRIES);
}

/* The bucket of e's two that is not `bucket`. */
static inline uint32_t
flow_other_bucket(const struct flow_table *t, const struct flow_entry *e, uint32_t bucket)
{
	uint32_t b1 = flow_bucket1(t, e->hash);

	return b1 != bucket ? b1 : flow_bucket2(t, e->hash, b1);
}

struct flow_cuckoo_node {
	uint32_t bucket;
	int16_t parent; /* index in the queue, -1 for b1 and b2 */
	uint8_t slot;   /* entry of the parent's bucket that may move here */
};

/*
 * Breadth-first search for a chain of moves, each taking an entry to its
 * other bucket, that ends in a free slot; then apply it from the free end
 * back, so every step moves into a slot the previous step emptied. Returns
 * the freed slot in b1 or b2, or NULL.
 */
static struct flow_entry *
flow_cuckoo(struct flow_table *t, uint32_t b1, uint32_t b2, uint32_t now)
{
	struct flow_cuckoo_node q[FLOW_CUCKOO_MAX_NODES];
	struct flow_entry *src, *dst;
	uint32_t alt, bucket;
	unsigned int head, tail, i, slot;
	int j;

	q[0] = (struct flow_cuckoo_node){ .bucket = b1, .parent = -1 };
	q[1] = (struct flow_cuckoo_node){ .bucket = b2, .parent = -1 };
	tail = 2;
	for (head = 0; head < tail; head++) {
		for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
			src = flow_slot(t, q[head].bucket, i);
			alt = flow_other_bucket(t, src, q[head].bucket);
			dst = flow_bucket_reclaim(t, alt, now);
			if (dst != NULL)
				goto found;
			if (tail < FLOW_CUCKOO_MAX_NODES && alt != q[head].bucket) {
				q[tail].bucket = alt;
				q[tail].parent = (int16_t)head;
				q[tail].slot = (uint8_t)i;
				tail++;
			}
		}
	}
	return NULL;

found:
	j = (int)head;
	bucket = q[head].bucket;
	slot = i;
	for (;;) {
		src = flow_slot(t, bucket, slot);
		/*
		 * A path can visit a bucket twice; an entry that no longer
		 * belongs where it would go ends the chain. Every move done so
		 * far is valid on its own, so the table stays consistent.
		 */
		if (flow_other_bucket(t, src, bucket) != flow_bucket_of(t, dst))
			return NULL;
		*dst = *src;
		memset(src, 0, sizeof(*src));
		dst = src;
		if (q[j].parent < 0)
			return dst;
		slot = q[j].slot;
		j = q[j].parent;
		bucket = q[j].bucket;
	}
}

/* Least recently seen live entry of b1 and b2, SYN-state ones only if asked. */
static struct flow_entry *
flow_lru(struct flow_table *t, uint32_t b1, uint32_t b2, uint32_t now, bool syn_state_only)
{
	struct flow_entry *e, *victim = NULL;
	uint32_t buckets[2] = { b1, b2 };
	unsigned int b, i;

	for (b = 0; b < 2; b++) {
		for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
			e = flow_slot(t, buckets[b], i);
			if (syn_state_only && e->state != FLOW_STATE_SYN)
				continue;
			if (victim == NULL || flow_age_of(e, now) > flow_age_of(victim, now))
				victim = e;
		}
	}
	return victim;
}

struct flow_entry *
flow_insert(struct flow_table *t, const struct flow_key *k, uint32_t hash, uint32_t now,
	    bool syn_only)
{
	uint32_t sig = flow_sig(hash);
	uint32_t b1 = flow_bucket1(t, sig);
	uint32_t b2 = t->mask == 0 ? b1 : flow_bucket2(t, sig, b1);
	struct flow_entry *e;

	e = flow_pick_slot(t, b1, b2, now);
	if (e == NULL && t->count < t->cuckoo_limit)
		e = flow_cuckoo(t, b1, b2, now);
	if (e == NULL) {
		/* Both buckets hold only live entries now. */
		e = flow_lru(t, b1, b2, now, true);
		if (e == NULL && !syn_only)
			e = flow_lru(t, b1, b2, now, false);
		if (e == NULL) {
			t->stats.full++;
			return NULL;
		}
		flow_free(t, e);
		t->stats.evictions++;
	}

	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->hash = sig;
	e->last_seen = now;
	if (k->proto != FLOW_PROTO_TCP)
		e->state = FLOW_STATE_UDP;
	else
		e->state = syn_only ? FLOW_STATE_SYN : FLOW_STATE_EST;
	t->count++;
	t->stats.inserts++;
	return e;
}

void
flow_delete(struct flow_table *t, struct flow_entry *e)
{
	if (e->hash != 0)
		flow_free(t, e);
}

void
flow_touch(struct flow_entry *e, uint8_t tcp_flags, uint32_t now)
{
	uint8_t sa = tcp_flags & (FLOW_TCP_SYN | FLOW_TCP_ACK);

	e->last_seen = now;
	if (e->key.proto != FLOW_PROTO_TCP) {
		e->state = FLOW_STATE_UDP;
		return;
	}
	/*
	 * A bare SYN after FIN/RST is the client reusing its port for a new
	 * connection; an established flow never goes back to SYN, where a
	 * flood could evict it.
	 */
	if (tcp_flags & (FLOW_TCP_FIN | FLOW_TCP_RST))
		e->state = FLOW_STATE_CLOSING;
	else if (e->state == FLOW_STATE_SYN && sa == FLOW_TCP_ACK)
		e->state = FLOW_STATE_EST;
	else if (e->state == FLOW_STATE_CLOSING && sa == FLOW_TCP_SYN)
		e->state = FLOW_STATE_SYN;
}

uint32_t
flow_age(struct flow_table *t, uint32_t now, uint32_t n_buckets)
{
	uint32_t freed = 0;
	uint32_t b, i;
	struct flow_entry *e;

	if (n_buckets > t->mask + 1)
		n_buckets = t->mask + 1;
	for (b = 0; b < n_buckets; b++) {
		for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
			e = flow_slot(t, t->age_cursor, i);
			if (e->hash != 0 && flow_expired(t, e, now)) {
				flow_free(t, e);
				freed++;
			}
		}
		t->age_cursor = (t->age_cursor + 1) & t->mask;
	}
	t->stats.expired += freed;
	return freed;
}

uint32_t
flow_flush(struct flow_table *t, uint32_t backend)
{
	uint32_t freed = 0;
	uint32_t i;
	struct flow_entry *e;

	for (i = 0; i < t->capacity; i++) {
		e = &t->e[i];
		if (e->hash != 0 && (backend == UINT32_MAX || e->backend == backend)) {
			flow_free(t, e);
			freed++;
		}
	}
	return freed;
}
