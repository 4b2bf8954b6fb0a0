/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Maglev table population (Eisenbud et al., NSDI 2016, §3.4) with integer
 * weights. Every instance of the appliance must build the same table from
 * the same backend set, so the hashes have fixed seeds and the backends are
 * sorted before use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev/maglev.h"

/* Fixed seeds: changing one reshuffles every table in a running cluster. */
#define MAGLEV_SEED_OFFSET 0x6a09e667f3bcc908ULL
#define MAGLEV_SEED_SKIP 0xbb67ae8584caa73bULL

struct maglev_state {
	uint32_t pos; /* next preferred slot: offset + j * skip mod size */
	uint32_t skip;
	uint32_t inv; /* skip^-1 mod size, once the tail needs it (0 before) */
	uint32_t id;
	uint32_t w;   /* weight over the weights' common divisor */
	uint32_t acc; /* Bresenham accumulator over a round's sub-steps */
};

/*
 * A backend claims the first free slot of its permutation. Walking the
 * permutation to it takes size / left steps on average with left slots free,
 * so the last slots cost the most: the last 1% took a third of a build. With
 * MAGLEV_TAIL slots left, the claims switch to computing, for each free slot,
 * how many steps away it is in the permutation, and take the nearest: the
 * slot the walk would reach, in MAGLEV_TAIL steps at most.
 */
#define MAGLEV_TAIL 128

bool
maglev_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; d <= n / d; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

/* MurmurHash3's 64-bit finalizer: a bijection with full avalanche. */
static uint64_t
maglev_fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Bytes are read little-endian explicitly so every host gets the same value. */
static uint64_t
maglev_key_hash(const uint8_t *key, unsigned int len, uint64_t seed)
{
	uint64_t h = maglev_fmix64(seed ^ len);
	unsigned int i, j;
	uint64_t w;

	for (i = 0; i < len; i += 8) {
		w = 0;
		for (j = 0; j < 8 && i + j < len; j++)
			w |= (uint64_t)key[i + j] << (8 * j);
		h = maglev_fmix64(h ^ w) + seed;
	}
	return maglev_fmix64(h);
}

static int
maglev_backend_cmp(const void *a, const void *b)
{
	const struct maglev_backend *x = a;
	const struct maglev_backend *y = b;

	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return memcmp(x->key, y->key, x->key_len);
}

static uint32_t
maglev_gcd(uint32_t a, uint32_t b)
{
	uint32_t t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static inline uint32_t
maglev_next(uint32_t pos, uint32_t skip, uint32_t size)
{
	pos += skip;
	return pos >= size ? pos - size : pos;
}

/* Whether backend s claims a slot at this sub-step of the round. */
static inline bool
maglev_turn(struct maglev_state *s, uint32_t w_max)
{
	s->acc += s->w;
	if (s->acc < w_max)
		return false;
	s->acc -= w_max;
	return true;
}

/* Claim the backend's next preferred slot that is still free. */
static inline void
maglev_claim(struct maglev_state *s, uint32_t *table, uint32_t size)
{
	uint32_t pos = s->pos;

	while (table[pos] != MAGLEV_EMPTY)
		pos = maglev_next(pos, s->skip, size);
	table[pos] = s->id;
	s->pos = maglev_next(pos, s->skip, size);
}

/* a^-1 mod the prime p (Fermat's little theorem), for 0 < a < p. */
static uint32_t
maglev_inverse(uint32_t a, uint32_t p)
{
	uint64_t r = 1, x = a;
	uint32_t e;

	for (e = p - 2; e != 0; e >>= 1) {
		if (e & 1)
			r = r * x % p;
		x = x * x % p;
	}
	return (uint32_t)r;
}

/*
 * x mod size for x < 2^53, without a division: the quotient taken in double
 * precision is exact to within one, and the remainder is corrected into
 * [0, size). (x and size are exact as doubles; the rounding of 1 / size and
 * of the product is far below one unit of a quotient under 2^30.)
 */
static inline uint64_t
maglev_mod(uint64_t x, uint32_t size, double rcp)
{
	int64_t r = (int64_t)(x - (uint64_t)((double)x * rcp) * size);

	if (r < 0)
		r += size;
	else if (r >= (int64_t)size)
		r -= size;
	return (uint64_t)r;
}

/* The same claim, among the free slots listed in free_slots[0..left-1]. */
static void
maglev_claim_tail(struct maglev_state *s, uint32_t *table, uint32_t size, uint32_t *free_slots,
		  uint32_t left)
{
	double rcp = 1.0 / size;
	uint32_t i, best = 0, q;
	uint64_t d, best_d = UINT64_MAX;

	if (s->inv == 0)
		s->inv = maglev_inverse(s->skip, size);
	/* Slot q is (q - pos) * skip^-1 mod size steps ahead of pos. */
	for (i = 0; i < left; i++) {
		d = maglev_mod((uint64_t)(free_slots[i] + size - s->pos) * s->inv, size, rcp);
		if (d < best_d) {
			best_d = d;
			best = i;
		}
	}
	q = free_slots[best];
	free_slots[best] = free_slots[left - 1];
	table[q] = s->id;
	s->pos = maglev_next(q, s->skip, size);
}

int
maglev_populate(const struct maglev_backend *b, unsigned int n, uint32_t *table, uint32_t size)
{
	struct maglev_backend *sorted = NULL;
	struct maglev_state *st = NULL;
	uint32_t i, k, m, w, w_max, g, filled, left, free_slots[MAGLEV_TAIL];
	uint64_t h1, h2;
	int ret = 0;

	if (table == NULL || (b == NULL && n > 0))
		return -EINVAL;
	if (size > MAGLEV_MAX_SIZE || size <= n || !maglev_is_prime(size))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (b[i].key_len == 0 || b[i].key_len > sizeof(b[i].key) ||
		    b[i].weight > MAGLEV_MAX_WEIGHT || b[i].id == MAGLEV_EMPTY)
			return -EINVAL;
	}

	if (n > 0) {
		sorted = malloc(n * sizeof(*sorted));
		st = malloc(n * sizeof(*st));
		if (sorted == NULL || st == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(sorted, b, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), maglev_backend_cmp);
	}

	/* Weight-0 backends are dropped here; duplicates are checked on all. */
	g = 0;
	w_max = 0;
	for (i = 0, m = 0; i < n; i++) {
		if (i > 0 && maglev_backend_cmp(&sorted[i - 1], &sorted[i]) == 0) {
			ret = -EINVAL;
			goto out;
		}
		w = sorted[i].weight;
		if (w == 0)
			continue;
		g = maglev_gcd(w, g);
		w_max = w > w_max ? w : w_max;
		h1 = maglev_key_hash(sorted[i].key, sorted[i].key_len, MAGLEV_SEED_OFFSET);
		h2 = maglev_key_hash(sorted[i].key, sorted[i].key_len, MAGLEV_SEED_SKIP);
		st[m].pos = (uint32_t)(h1 % size);
		st[m].skip = (uint32_t)(h2 % (size - 1)) + 1;
		st[m].inv = 0;
		st[m].id = sorted[i].id;
		st[m].w = w;
		m++;
	}

	for (i = 0; i < size; i++)
		table[i] = MAGLEV_EMPTY;
	if (m == 0)
		goto out;

	/*
	 * A round is w_max sub-steps; backend k claims a slot in sub-step s when
	 * floor((s + 1) * w_k / w_max) grows (the accumulator wraps), i.e.
	 * exactly w_k times a round, spread evenly. The last round is cut short
	 * when the table fills, so spreading the claims (and dividing out the
	 * common factor) keeps every backend within about one slot of its share
	 * there; with equal weights a round is one claim each, as in the paper.
	 */
	w_max /= g;
	for (k = 0; k < m; k++) {
		st[k].w /= g;
		st[k].acc = 0;
	}
	k = 0;
	for (filled = 0; filled + MAGLEV_TAIL < size; k = k + 1 < m ? k + 1 : 0) {
		if (maglev_turn(&st[k], w_max)) {
			maglev_claim(&st[k], table, size);
			filled++;
		}
	}
	for (i = 0, left = 0; i < size; i++)
		if (table[i] == MAGLEV_EMPTY)
			free_slots[left++] = i;
	for (; left > 0; k = k + 1 < m ? k + 1 : 0) {
		if (maglev_turn(&st[k], w_max)) {
			maglev_claim_tail(&st[k], table, size, free_slots, left);
			left--;
		}
	}

out:
	free(sorted);
	free(st);
	return ret;
}
