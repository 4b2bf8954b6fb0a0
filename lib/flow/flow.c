/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-worker flow table: bucketized cuckoo hashing, 4 slots a bucket, two
 * candidate buckets per key. Inserts move entries between their two buckets
 * to make room (bounded search) before they evict anything, and eviction
 * spares established flows for a new SYN so a SYN flood cannot push them out.
 *
 * A bucket is four cache lines, 64 bytes a slot with everything included:
 *
 *   line 0   sig[4] (4 x 4 bytes)   entry[4] (4 x 12 bytes)
 *   line 1   key 0 (40)             key 3, first 24 bytes
 *   line 2   key 3, last 16         key 1 (40)             8 spare
 *   line 3   key 2 (40)             24 spare
 *
 * A lookup reads line 0, compares the four signatures, and then reads only
 * the key whose signature matches, compared whole (a signature collision
 * never returns another flow's entry): a hit touches two lines, a miss one
 * line a bucket. The entry a hit returns is in line 0, already read. Three
 * 40-byte keys fit in three lines without crossing a line boundary and the
 * fourth has to cross one; it is slot 3's, which inserts fill last (they take
 * the lowest free slot): at half load 1% of the entries are in slot 3, at 90%
 * load 19%.
 *
 * Measured (1M flows in 2M slots, random keys, bursts of 32, lookup and
 * touch, median of 5 interleaved runs on the 2-vCPU VM): this layout 39 ns a
 * key; keys at a 48-byte stride 45 ns and packed at 40 bytes 44 ns (two keys
 * of four cross a line); the old layout (a 64-byte line per entry, its hash
 * inside, so a bucket probe read four lines) 72 ns.
 *
 * A slot is empty when its signature is 0. A key's signature is the caller's
 * hash with 0 mapped to 1; both candidate buckets are derived from it, so an
 * entry's other bucket can be found from line 0 alone when it must be moved.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "flow/flow.h"

#define FLOW_BUCKET_ENTRIES 4
#define FLOW_SLOTS_ALL ((1u << FLOW_BUCKET_ENTRIES) - 1)

/*
 * Buckets whose entries the cuckoo search may try to move, per insert: b1 and
 * b2, the 8 and 32 buckets one and two moves away, and half of the 128 three
 * moves away. That fills the table past 93% before anything is evicted, and
 * bounds the cost of one insert.
 */
#define FLOW_CUCKOO_MAX_NODES 106
#define FLOW_CUCKOO_DEPTH 3 /* moves away from b1 or b2 at most, with that many nodes */

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

struct flow_bucket {
	uint32_t sig[FLOW_BUCKET_ENTRIES]; /* 0: empty slot */
	struct flow_entry e[FLOW_BUCKET_ENTRIES];
	struct flow_key key0;
	struct flow_key key3; /* crosses from line 1 into line 2 */
	struct flow_key key1;
	uint8_t spare1[8];
	struct flow_key key2;
	uint8_t spare2[24];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct flow_key) == 40, "flow_key is hashed as 5 words");
_Static_assert(sizeof(struct flow_entry) == 12, "four entries and signatures fill line 0");
_Static_assert(offsetof(struct flow_bucket, key0) == 64, "key 0 in line 1");
_Static_assert(offsetof(struct flow_bucket, key1) == 144, "key 1 in line 2");
_Static_assert(offsetof(struct flow_bucket, key2) == 192, "key 2 in line 3");
_Static_assert(sizeof(struct flow_bucket) == FLOW_BUCKET_ENTRIES * FLOW_SLOT_SIZE,
	       "FLOW_SLOT_SIZE bytes a slot, all included");

static const uint8_t flow_key_off[FLOW_BUCKET_ENTRIES] = {
	offsetof(struct flow_bucket, key0),
	offsetof(struct flow_bucket, key1),
	offsetof(struct flow_bucket, key2),
	offsetof(struct flow_bucket, key3),
};

struct flow_table {
	struct flow_bucket *b;
	uint32_t mask;         /* n_buckets - 1 */
	uint32_t capacity;     /* slots */
	uint32_t count;        /* non-empty slots, expired ones included */
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

/* The bucket of sig's two that is not `bucket`. */
static inline uint32_t
flow_other_bucket(const struct flow_table *t, uint32_t sig, uint32_t bucket)
{
	uint32_t b1 = flow_bucket1(t, sig);

	return b1 != bucket ? b1 : flow_bucket2(t, sig, b1);
}

static inline struct flow_key *
flow_bkey(struct flow_bucket *b, unsigned int i)
{
	return (struct flow_key *)((uint8_t *)b + flow_key_off[i]);
}

/* Bit i set when slot i's signature is sig (sig 0: the empty slots). */
static inline unsigned int
flow_match(const struct flow_bucket *b, uint32_t sig)
{
#ifdef __SSE2__
	__m128i v = _mm_load_si128((const __m128i *)b->sig);

	v = _mm_cmpeq_epi32(v, _mm_set1_epi32((int)sig));
	return (unsigned int)_mm_movemask_ps(_mm_castsi128_ps(v));
#else
	return (unsigned int)(b->sig[0] == sig) | (unsigned int)(b->sig[1] == sig) << 1 |
	       (unsigned int)(b->sig[2] == sig) << 2 | (unsigned int)(b->sig[3] == sig) << 3;
#endif
}

static inline uint64_t
flow_ld64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Five word compares, no call. */
static inline bool
flow_key_eq(const struct flow_key *a, const struct flow_key *b)
{
	const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;

	return ((flow_ld64(x) ^ flow_ld64(y)) | (flow_ld64(x + 8) ^ flow_ld64(y + 8)) |
		(flow_ld64(x + 16) ^ flow_ld64(y + 16)) | (flow_ld64(x + 24) ^ flow_ld64(y + 24)) |
		(flow_ld64(x + 32) ^ flow_ld64(y + 32))) == 0;
}

/*
 * The line(s) of slot i's key when m has a candidate in b (i its lowest), else
 * line 0 of next: one branch-free pair of prefetches whatever the outcome.
 */
static inline void
flow_prefetch_next(const struct flow_bucket *b, unsigned int m, const struct flow_bucket *next)
{
	const uint8_t *p = (const uint8_t *)next;

	if (m != 0)
		p = (const uint8_t *)b + flow_key_off[__builtin_ctz(m)];
	__builtin_prefetch(p, 0, 3);
	__builtin_prefetch(p + sizeof(struct flow_key) - 1, 0, 3);
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

/*
 * The slot an insert into the full buckets b1 and b2 would most likely take,
 * without changing anything: the first expired entry, else the least
 * recently seen in SYN state (the SYN flood case), else -1.
 */
static int
flow_victim(const struct flow_table *t, const struct flow_bucket *b1, const struct flow_bucket *b2,
	    uint32_t now, const struct flow_bucket **bo)
{
	const struct flow_bucket *buckets[2] = { b1, b2 };
	const struct flow_entry *e, *victim = NULL;
	unsigned int b, i;
	int slot = -1;

	for (b = 0; b < 2; b++) {
		for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
			if (flow_expired(t, &buckets[b]->e[i], now)) {
				*bo = buckets[b];
				return (int)i;
			}
		}
	}
	for (b = 0; b < 2; b++) {
		for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
			e = &buckets[b]->e[i];
			if (e->state != FLOW_STATE_SYN)
				continue;
			if (victim == NULL || flow_age_of(e, now) > flow_age_of(victim, now)) {
				victim = e;
				*bo = buckets[b];
				slot = (int)i;
			}
		}
	}
	return slot;
}

/*
 * Most misses are followed by an insert of the key: fetch, for writing, the
 * key line that insert will most likely write (flow_pick_slot's choice, or
 * flow_victim's when both buckets are full), so that writing the key does not
 * wait for it. Both line 0s have been read already. Measured on the bench's
 * new-flow figure: 239 ns a packet with it, 318 without (and 192 with the key
 * not written at all: that line is the price of a new flow in this layout).
 */
static inline void
flow_prefetch_insert(const struct flow_table *t, const struct flow_bucket *b1,
		     const struct flow_bucket *b2, uint32_t now)
{
	unsigned int e1 = flow_match(b1, 0), e2 = flow_match(b2, 0);
	const struct flow_bucket *b = b1;
	const uint8_t *k;
	int i;

	if (__builtin_popcount(e1) < __builtin_popcount(e2)) {
		b = b2;
		i = __builtin_ctz(e2);
	} else if (e1 != 0) {
		i = __builtin_ctz(e1);
	} else {
		i = flow_victim(t, b1, b2, now, &b);
		if (i < 0)
			return;
	}
	k = (const uint8_t *)b + flow_key_off[i];
	__builtin_prefetch(k, 1, 3);
	__builtin_prefetch(k + sizeof(struct flow_key) - 1, 1, 3);
}

/*
 * Every removal of a live entry comes through here, so the callback sees them
 * all. The key is left as it is: a slot is empty by its signature alone, and
 * not writing the key saves a line when flow_age frees it.
 */
static inline void
flow_free(struct flow_table *t, struct flow_bucket *b, unsigned int i)
{
	if (t->release != NULL)
		t->release(flow_bkey(b, i), &b->e[i], t->release_arg);
	b->sig[i] = 0;
	memset(&b->e[i], 0, sizeof(b->e[i]));
	t->count--;
}

/* True when slot i is empty or was expired (and is now freed). */
static inline bool
flow_reclaim(struct flow_table *t, struct flow_bucket *b, unsigned int i, uint32_t now)
{
	if (b->sig[i] == 0)
		return true;
	if (!flow_expired(t, &b->e[i], now))
		return false;
	flow_free(t, b, i);
	t->stats.expired++;
	return true;
}

/* The first slot of b that is empty or expired (freeing it), or -1. */
static int
flow_bucket_reclaim(struct flow_table *t, struct flow_bucket *b, uint32_t now)
{
	unsigned int i;

	for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
		if (flow_reclaim(t, b, i, now))
			return (int)i;
	}
	return -1;
}

/*
 * A free slot in the emptier of b1 and b2 (b1 on a tie): filling both evenly
 * is what keeps the cuckoo search rare below high load. Expired entries are
 * reclaimed only when neither bucket has an empty slot. Only line 0 of each
 * bucket is read, which the caller's lookup miss has just read.
 */
static int
flow_pick_slot(struct flow_table *t, struct flow_bucket *b1, struct flow_bucket *b2, uint32_t now,
	       struct flow_bucket **bo)
{
	unsigned int m1 = flow_match(b1, 0);
	unsigned int m2 = b2 != b1 ? flow_match(b2, 0) : 0;
	int i;

	if (m1 != 0 && __builtin_popcount(m1) >= __builtin_popcount(m2)) {
		*bo = b1;
		return __builtin_ctz(m1);
	}
	if (m2 != 0) {
		*bo = b2;
		return __builtin_ctz(m2);
	}
	*bo = b1;
	i = flow_bucket_reclaim(t, b1, now);
	if (i < 0 && b2 != b1) {
		*bo = b2;
		i = flow_bucket_reclaim(t, b2, now);
	}
	return i;
}

size_t
flow_table_memsize(uint32_t n)
{
	uint64_t cap = FLOW_BUCKET_ENTRIES;

	if (n > (UINT32_C(1) << 31))
		return 0;
	while (cap < n)
		cap <<= 1;
	return sizeof(struct flow_table) + (size_t)cap * FLOW_SLOT_SIZE;
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
	t->b = (struct flow_bucket *)((uint8_t *)mem + sizeof(*t));
	t->capacity = (uint32_t)((need - sizeof(*t)) / FLOW_SLOT_SIZE);
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

static void __attribute__((noinline))
flow_free_expired(struct flow_table *t, struct flow_bucket *b, unsigned int i)
{
	flow_free(t, b, i);
	t->stats.expired++;
}

/*
 * The slot of b that holds k among the candidates m (signature matches), or
 * -1. Each candidate's signature is read again: m may have been computed
 * before an entry of the same burst was freed. An expired match is freed now,
 * so a stale copy never shadows a fresh insert.
 */
static inline int
flow_bucket_find(struct flow_table *t, struct flow_bucket *b, unsigned int m,
		 const struct flow_key *k, uint32_t sig, uint32_t now)
{
	unsigned int i;

	for (; m != 0; m &= m - 1) {
		i = (unsigned int)__builtin_ctz(m);
		if (b->sig[i] != sig || !flow_key_eq(flow_bkey(b, i), k))
			continue;
		if (!flow_expired(t, &b->e[i], now))
			return (int)i;
		flow_free_expired(t, b, i);
	}
	return -1;
}

static inline struct flow_entry *
flow_find(struct flow_table *t, struct flow_bucket *b, const struct flow_key *k, uint32_t sig,
	  uint32_t now)
{
	int i = flow_bucket_find(t, b, flow_match(b, sig), k, sig, now);

	return i >= 0 ? &b->e[i] : NULL;
}

/*
 * Alone, a lookup has nothing to overlap its misses with but its own: line 0
 * of the second bucket is fetched with the first's, so a key found there or
 * missing waits for memory once before its key line, not twice.
 */
struct flow_entry *
flow_lookup(struct flow_table *t, const struct flow_key *k, uint32_t hash, uint32_t now)
{
	uint32_t sig = flow_sig(hash);
	uint32_t b1 = flow_bucket1(t, sig);
	uint32_t b2 = t->mask != 0 ? flow_bucket2(t, sig, b1) : b1;
	struct flow_entry *e;

	__builtin_prefetch(&t->b[b2], 0, 3);
	e = flow_find(t, &t->b[b1], k, sig, now);
	if (e != NULL || b2 == b1)
		return e;
	return flow_find(t, &t->b[b2], k, sig, now);
}

/*
 * Four passes over the burst, each issuing the prefetches the next one needs,
 * so that a burst waits for memory two or three times, not once per key:
 *  1. line 0 of every key's first bucket;
 *  2. signatures: the line of the matching key, or, when nothing matches,
 *     line 0 of the second bucket;
 *  3. keys of the first buckets; signatures of the second buckets, and their
 *     key line (or, for a miss, the key line an insert would write);
 *  4. keys of the second buckets.
 * A hit in its first bucket reads two lines, in its second three, a miss two.
 * Inserts fill the emptier of the two buckets, which at half load leaves 28%
 * of the entries in their second bucket. Fetching both line 0s in pass 1 (a
 * second-bucket hit one round earlier, a line more for every key) measured
 * 45 ns a key against 39; inserting into the first bucket while it has room
 * (4% in second buckets at half load, twice the cuckoo moves) 40 ns.
 *
 * A lookup only ever frees its own key's entry, and candidates are checked
 * again in the pass that uses them, so the results, expiries and statistics
 * are those of flow_lookup called once per key in order. The rare key whose
 * first-bucket candidate turns out to be another flow's (a signature
 * collision) or freed by an earlier copy of it in the burst reads its second
 * bucket at once.
 */
void
flow_lookup_bulk(struct flow_table *t, const struct flow_key *const keys[], const uint32_t hashes[],
		 unsigned int n, uint32_t now, struct flow_entry *out[])
{
	struct flow_bucket *b1[FLOW_BULK_MAX], *b2[FLOW_BULK_MAX];
	uint32_t sig[FLOW_BULK_MAX];
	uint8_t m1[FLOW_BULK_MAX], m2[FLOW_BULK_MAX];
	const struct flow_key *const *k;
	struct flow_entry **o;
	unsigned int base, m, i;
	uint32_t x;
	int s;

	for (base = 0; base < n; base += m) {
		m = n - base < FLOW_BULK_MAX ? n - base : FLOW_BULK_MAX;
		k = keys + base;
		o = out + base;
		for (i = 0; i < m; i++) {
			sig[i] = flow_sig(hashes[base + i]);
			x = flow_bucket1(t, sig[i]);
			b1[i] = &t->b[x];
			__builtin_prefetch(b1[i], 0, 3);
			b2[i] = t->mask != 0 ? &t->b[flow_bucket2(t, sig[i], x)] : b1[i];
		}
		for (i = 0; i < m; i++) {
			m1[i] = (uint8_t)flow_match(b1[i], sig[i]);
			flow_prefetch_next(b1[i], m1[i], b2[i]);
		}
		for (i = 0; i < m; i++) {
			o[i] = NULL;
			m2[i] = 0;
			if (m1[i] != 0) {
				s = flow_bucket_find(t, b1[i], m1[i], k[i], sig[i], now);
				if (s >= 0)
					o[i] = &b1[i]->e[s];
				else if (b2[i] != b1[i])
					o[i] = flow_find(t, b2[i], k[i], sig[i], now);
				continue;
			}
			if (b2[i] == b1[i])
				continue;
			m2[i] = (uint8_t)flow_match(b2[i], sig[i]);
			if (m2[i] != 0)
				flow_prefetch_next(b2[i], m2[i], b2[i]);
			else
				flow_prefetch_insert(t, b1[i], b2[i], now);
		}
		for (i = 0; i < m; i++) {
			if (m2[i] == 0)
				continue;
			s = flow_bucket_find(t, b2[i], m2[i], k[i], sig[i], now);
			if (s >= 0)
				o[i] = &b2[i]->e[s];
		}
	}
}

struct flow_cuckoo_node {
	uint32_t bucket;
	int16_t parent; /* index in the queue, -1 for b1 and b2 */
	uint8_t slot;   /* slot of the parent's bucket whose entry may move here */
};

/* Move slot si of sb to the empty slot di of db. */
static inline void
flow_move(struct flow_bucket *db, unsigned int di, struct flow_bucket *sb, unsigned int si)
{
	db->sig[di] = sb->sig[si];
	db->e[di] = sb->e[si];
	*flow_bkey(db, di) = *flow_bkey(sb, si);
	sb->sig[si] = 0;
	memset(&sb->e[si], 0, sizeof(sb->e[si]));
}

/*
 * Breadth-first search for a chain of moves, each taking an entry to its
 * other bucket, that ends in a free slot; then apply it from the free end
 * back, so every step moves into a slot the previous step emptied. Returns
 * the freed slot in b1 or b2 (its bucket in *bo), or -1. The search reads
 * only line 0 of the buckets it visits; the moves copy keys.
 */
static int
flow_cuckoo(struct flow_table *t, uint32_t b1, uint32_t b2, uint32_t now, struct flow_bucket **bo)
{
	struct flow_cuckoo_node q[FLOW_CUCKOO_MAX_NODES];
	struct {
		uint32_t bucket;
		unsigned int slot;
	} path[FLOW_CUCKOO_DEPTH + 2];
	struct flow_bucket *src;
	uint32_t alt, bucket, dst_bucket;
	unsigned int head, tail, i, slot, dst_slot, n, x;
	const uint8_t *key;
	int j, d;

	q[0] = (struct flow_cuckoo_node){ .bucket = b1, .parent = -1 };
	q[1] = (struct flow_cuckoo_node){ .bucket = b2, .parent = -1 };
	tail = 2;
	for (head = 0; head < tail; head++) {
		src = &t->b[q[head].bucket];
		for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
			alt = flow_other_bucket(t, src->sig[i], q[head].bucket);
			d = flow_bucket_reclaim(t, &t->b[alt], now);
			if (d >= 0) {
				dst_bucket = alt;
				dst_slot = (unsigned int)d;
				goto found;
			}
			if (tail < FLOW_CUCKOO_MAX_NODES && alt != q[head].bucket) {
				q[tail].bucket = alt;
				q[tail].parent = (int16_t)head;
				q[tail].slot = (uint8_t)i;
				tail++;
			}
		}
	}
	return -1;

found:
	/* The chain, from the free slot back to the slot in b1 or b2 it frees. */
	path[0].bucket = dst_bucket;
	path[0].slot = dst_slot;
	n = 1;
	j = (int)head;
	bucket = q[head].bucket;
	slot = i;
	for (;;) {
		if (n == sizeof(path) / sizeof(path[0]))
			return -1; /* deeper than FLOW_CUCKOO_MAX_NODES allows: never */
		path[n].bucket = bucket;
		path[n].slot = slot;
		n++;
		if (q[j].parent < 0)
			break;
		slot = q[j].slot;
		j = q[j].parent;
		bucket = q[j].bucket;
	}
	/* The moves copy keys, which the search did not read: fetch them all at once. */
	for (x = 0; x < n; x++) {
		key = (const uint8_t *)flow_bkey(&t->b[path[x].bucket], path[x].slot);
		__builtin_prefetch(key, 1, 3);
		__builtin_prefetch(key + sizeof(struct flow_key) - 1, 1, 3);
	}
	for (x = 1; x < n; x++) {
		src = &t->b[path[x].bucket];
		/*
		 * A path can visit a bucket twice; an entry that no longer
		 * belongs where it would go ends the chain. Every move done so
		 * far is valid on its own, so the table stays consistent.
		 */
		if (flow_other_bucket(t, src->sig[path[x].slot], path[x].bucket) !=
		    path[x - 1].bucket)
			return -1;
		flow_move(&t->b[path[x - 1].bucket], path[x - 1].slot, src, path[x].slot);
	}
	*bo = &t->b[path[n - 1].bucket];
	return (int)path[n - 1].slot;
}

/* Least recently seen live entry of b1 and b2, SYN-state ones only if asked. */
static int
flow_lru(struct flow_bucket *b1, struct flow_bucket *b2, uint32_t now, bool syn_state_only,
	 struct flow_bucket **bo)
{
	struct flow_bucket *buckets[2] = { b1, b2 };
	const struct flow_entry *e, *victim = NULL;
	unsigned int b, i;
	int slot = -1;

	for (b = 0; b < 2; b++) {
		for (i = 0; i < FLOW_BUCKET_ENTRIES; i++) {
			e = &buckets[b]->e[i];
			if (syn_state_only && e->state != FLOW_STATE_SYN)
				continue;
			if (victim == NULL || flow_age_of(e, now) > flow_age_of(victim, now)) {
				victim = e;
				*bo = buckets[b];
				slot = (int)i;
			}
		}
	}
	return slot;
}

/* flow_insert once the caller knows k is not in b1 or b2. */
static struct flow_entry *
flow_insert_new(struct flow_table *t, const struct flow_key *k, uint32_t sig, uint32_t b1,
		uint32_t b2, uint32_t now, bool syn_only)
{
	struct flow_bucket *b;
	struct flow_entry *e;
	int i;

	i = flow_pick_slot(t, &t->b[b1], &t->b[b2], now, &b);
	if (i < 0 && t->count < t->cuckoo_limit)
		i = flow_cuckoo(t, b1, b2, now, &b);
	if (i < 0) {
		/* Both buckets hold only live entries now. */
		i = flow_lru(&t->b[b1], &t->b[b2], now, true, &b);
		if (i < 0 && !syn_only)
			i = flow_lru(&t->b[b1], &t->b[b2], now, false, &b);
		if (i < 0) {
			t->stats.full++;
			return NULL;
		}
		flow_free(t, b, (unsigned int)i);
		t->stats.evictions++;
	}

	b->sig[i] = sig;
	*flow_bkey(b, (unsigned int)i) = *k;
	e = &b->e[i];
	memset(e, 0, sizeof(*e));
	e->last_seen = now;
	if (k->proto != FLOW_PROTO_TCP)
		e->state = FLOW_STATE_UDP;
	else
		e->state = syn_only ? FLOW_STATE_SYN : FLOW_STATE_EST;
	t->count++;
	t->stats.inserts++;
	return e;
}

struct flow_entry *
flow_insert(struct flow_table *t, const struct flow_key *k, uint32_t hash, uint32_t now,
	    bool syn_only)
{
	uint32_t sig = flow_sig(hash);
	uint32_t b1 = flow_bucket1(t, sig);
	uint32_t b2 = t->mask == 0 ? b1 : flow_bucket2(t, sig, b1);

	return flow_insert_new(t, k, sig, b1, b2, now, syn_only);
}

struct flow_entry *
flow_lookup_or_insert(struct flow_table *t, const struct flow_key *k, uint32_t hash, uint32_t now,
		      bool syn_only, bool *inserted)
{
	uint32_t sig = flow_sig(hash);
	uint32_t b1 = flow_bucket1(t, sig);
	uint32_t b2 = b1;
	struct flow_entry *e;

	*inserted = false;
	e = flow_find(t, &t->b[b1], k, sig, now);
	if (e != NULL)
		return e;
	if (t->mask != 0) {
		b2 = flow_bucket2(t, sig, b1);
		e = flow_find(t, &t->b[b2], k, sig, now);
		if (e != NULL)
			return e;
	}
	e = flow_insert_new(t, k, sig, b1, b2, now, syn_only);
	*inserted = e != NULL;
	return e;
}

/* The bucket and slot of an entry pointer. */
static inline struct flow_bucket *
flow_bucket_of(const struct flow_table *t, const struct flow_entry *e, unsigned int *slot)
{
	size_t off = (size_t)((const uint8_t *)e - (const uint8_t *)t->b);
	struct flow_bucket *b = &t->b[off / sizeof(*b)];

	*slot = (unsigned int)((off % sizeof(*b) - offsetof(struct flow_bucket, e)) /
			       sizeof(struct flow_entry));
	return b;
}

const struct flow_key *
flow_entry_key(const struct flow_table *t, const struct flow_entry *e)
{
	unsigned int i;
	struct flow_bucket *b = flow_bucket_of(t, e, &i);

	return flow_bkey(b, i);
}

void
flow_delete(struct flow_table *t, struct flow_entry *e)
{
	unsigned int i;
	struct flow_bucket *b = flow_bucket_of(t, e, &i);

	if (b->sig[i] != 0)
		flow_free(t, b, i);
}

void
flow_touch(struct flow_entry *e, uint8_t tcp_flags, uint32_t now)
{
	uint8_t sa = tcp_flags & (FLOW_TCP_SYN | FLOW_TCP_ACK);

	e->last_seen = now;
	/* Set at insert from the key's protocol, and never changed to or from. */
	if (e->state == FLOW_STATE_UDP)
		return;
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

/* Line 0 of each bucket only: signatures, last_seen and state are all there. */
uint32_t
flow_age(struct flow_table *t, uint32_t now, uint32_t n_buckets)
{
	uint32_t freed = 0;
	uint32_t i;
	unsigned int live, s;
	struct flow_bucket *b;

	if (t->count == 0)
		return 0;
	if (n_buckets > t->mask + 1)
		n_buckets = t->mask + 1;
	for (i = 0; i < n_buckets; i++) {
		b = &t->b[t->age_cursor];
		live = ~flow_match(b, 0) & FLOW_SLOTS_ALL;
		for (; live != 0; live &= live - 1) {
			s = (unsigned int)__builtin_ctz(live);
			if (flow_expired(t, &b->e[s], now)) {
				flow_free(t, b, s);
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
	unsigned int live, s;
	struct flow_bucket *b;

	for (i = 0; i <= t->mask; i++) {
		b = &t->b[i];
		live = ~flow_match(b, 0) & FLOW_SLOTS_ALL;
		for (; live != 0; live &= live - 1) {
			s = (unsigned int)__builtin_ctz(live);
			if (backend == UINT32_MAX || b->e[s].backend == backend) {
				flow_free(t, b, s);
				freed++;
			}
		}
	}
	return freed;
}

bool
flow_table_walk(struct flow_table *t, uint32_t *cursor, uint32_t n_buckets, uint32_t now,
		flow_walk_fn fn, void *arg)
{
	unsigned int live, s;
	struct flow_bucket *b;
	uint32_t i;

	for (i = 0; i < n_buckets; i++) {
		if (*cursor > t->mask) {
			*cursor = 0;
			return true;
		}
		b = &t->b[*cursor];
		live = ~flow_match(b, 0) & FLOW_SLOTS_ALL;
		for (; live != 0; live &= live - 1) {
			s = (unsigned int)__builtin_ctz(live);
			if (!flow_expired(t, &b->e[s], now))
				fn(flow_bkey(b, s), &b->e[s], arg);
		}
		(*cursor)++;
	}
	if (*cursor > t->mask) {
		*cursor = 0;
		return true;
	}
	return false;
}
