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
	const struct maglev_backend *b;
	uint32_t pos; /* next preferred slot: offset + j * skip mod size */
	uint32_t skip;
	uint32_t w;   /* weight over the weights' common divisor */
	uint32_t acc; /* Bresenham accumulator over a round's sub-steps */
};

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

/* Claim the backend's next preferred slot that is still free. */
static void
maglev_claim(struct maglev_state *s, uint32_t *table, uint32_t size)
{
	while (table[s->pos] != MAGLEV_EMPTY) {
		s->pos += s->skip;
		if (s->pos >= size)
			s->pos -= size;
	}
	table[s->pos] = s->b->id;
	s->pos += s->skip;
	if (s->pos >= size)
		s->pos -= size;
}

int
maglev_populate(const struct maglev_backend *b, unsigned int n, uint32_t *table, uint32_t size)
{
	struct maglev_backend *sorted = NULL;
	struct maglev_state *st = NULL;
	uint32_t i, k, m, w, w_max, g, filled, sub;
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
		st[m].b = &sorted[i];
		st[m].pos = (uint32_t)(h1 % size);
		st[m].skip = (uint32_t)(h2 % (size - 1)) + 1;
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
		st[k].w = st[k].b->weight / g;
		st[k].acc = 0;
	}
	filled = 0;
	for (;;) {
		for (sub = 0; sub < w_max; sub++) {
			for (k = 0; k < m; k++) {
				st[k].acc += st[k].w;
				if (st[k].acc < w_max)
					continue;
				st[k].acc -= w_max;
				maglev_claim(&st[k], table, size);
				if (++filled == size)
					goto out;
			}
		}
	}

out:
	free(sorted);
	free(st);
	return ret;
}
