/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/flow: the hash (fixed values, spread, avalanche), the table (insert,
 * lookup, delete, load, cuckoo moves), timeouts and aging on a fake clock,
 * and the eviction rules that keep a SYN flood away from established flows.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/flow.h"

#define TCP 6
#define UDP 17
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

static const struct flow_timeouts timeouts = {
	.syn = 5,
	.established = 300,
	.closing = 10,
	.udp = 30,
};

/* Deterministic keys: the test must not depend on the run. */
static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
rand_key(struct flow_key *k, bool v6)
{
	uint64_t r;
	unsigned int i;

	memset(k, 0, sizeof(*k));
	k->family = v6 ? 6 : 4;
	k->proto = TCP;
	r = rng();
	k->sport = (uint16_t)r;
	k->dport = (uint16_t)(r >> 16);
	for (i = 0; i < (v6 ? 16u : 4u); i++) {
		r = rng();
		k->src[i] = (uint8_t)r;
		k->dst[i] = (uint8_t)(r >> 8);
	}
}

/* Client 10.0.0.0/16 with port i to one VIP: keys that differ in few bits. */
static void
seq_key(struct flow_key *k, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	k->family = 4;
	k->proto = TCP;
	k->src[0] = 10;
	k->src[2] = (uint8_t)(i >> 24);
	k->src[3] = (uint8_t)(i >> 16);
	k->sport = (uint16_t)i;
	k->dport = 443;
	k->dst[0] = 192;
	k->dst[1] = 0;
	k->dst[2] = 2;
	k->dst[3] = 1;
}

static struct flow_table *
new_table_to(uint32_t n, void **mem, const struct flow_timeouts *to)
{
	size_t sz = flow_table_memsize(n);
	struct flow_table *t;

	*mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	ck_assert_ptr_nonnull(*mem);
	t = flow_table_init(*mem, sz, n, to);
	ck_assert_ptr_nonnull(t);
	return t;
}

static struct flow_table *
new_table(uint32_t n, void **mem)
{
	return new_table_to(n, mem, &timeouts);
}

static struct flow_entry *
lookup(struct flow_table *t, const struct flow_key *k, uint32_t now)
{
	return flow_lookup(t, k, flow_hash(k), now);
}

static struct flow_entry *
insert(struct flow_table *t, const struct flow_key *k, uint32_t now, bool syn_only)
{
	return flow_insert(t, k, flow_hash(k), now, syn_only);
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

START_TEST(test_entry_layout)
{
	ck_assert_uint_eq(sizeof(struct flow_key), 40);
	ck_assert_uint_eq(sizeof(struct flow_entry), 12);
	ck_assert_uint_le(FLOW_SLOT_SIZE, 64);
}
END_TEST

START_TEST(test_memsize_init)
{
	size_t hdr = flow_table_memsize(4) - 4 * FLOW_SLOT_SIZE;
	struct flow_table *t;
	uint8_t *mem;

	ck_assert_uint_eq(hdr % 64, 0);
	ck_assert_uint_eq(flow_table_memsize(0), hdr + 4 * 64);
	ck_assert_uint_eq(flow_table_memsize(1), hdr + 4 * 64);
	ck_assert_uint_eq(flow_table_memsize(5), hdr + 8 * 64);
	ck_assert_uint_eq(flow_table_memsize(1000), hdr + 1024 * 64);
	ck_assert_uint_eq(flow_table_memsize(1024), hdr + 1024 * 64);
	ck_assert_uint_eq(flow_table_memsize((1u << 31) + 1), 0);

	mem = aligned_alloc(64, hdr + 1024 * 64 + 64);
	ck_assert_ptr_nonnull(mem);
	memset(mem, 0xa5, hdr + 1024 * 64 + 64);
	errno = 0;
	ck_assert_ptr_null(flow_table_init(mem + 8, hdr + 1024 * 64, 1000, &timeouts));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(flow_table_init(mem, hdr + 1024 * 64 - 1, 1000, &timeouts));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(flow_table_init(mem, hdr + 1024 * 64, 1000, NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(flow_table_init(NULL, hdr + 1024 * 64, 1000, &timeouts));
	ck_assert_int_eq(errno, EINVAL);

	t = flow_table_init(mem, hdr + 1024 * 64, 1000, &timeouts);
	ck_assert_ptr_eq(t, mem);
	ck_assert_uint_eq(flow_table_capacity(t), 1024);
	ck_assert_uint_eq(flow_table_count(t), 0);
	ck_assert_uint_eq(flow_table_stats(t)->inserts, 0);
	/* A bigger area is fine; the table uses what memsize said. */
	t = flow_table_init(mem, hdr + 1024 * 64 + 64, 1000, &timeouts);
	ck_assert_ptr_nonnull(t);
	free(mem);
}
END_TEST

START_TEST(test_insert_lookup_delete)
{
	struct flow_key k4, k6, other;
	struct flow_entry *e4, *e6;
	struct flow_table *t;
	void *mem;

	rng_state = 1;
	t = new_table(1024, &mem);
	rand_key(&k4, false);
	rand_key(&k6, true);
	k6.proto = UDP;
	rand_key(&other, false);

	ck_assert_ptr_null(lookup(t, &k4, 100));
	e4 = insert(t, &k4, 100, true);
	ck_assert_ptr_nonnull(e4);
	ck_assert_mem_eq(flow_entry_key(t, e4), &k4, sizeof(k4));
	ck_assert_uint_eq(e4->last_seen, 100);
	ck_assert_uint_eq(e4->state, FLOW_STATE_SYN);
	ck_assert_uint_eq(e4->backend, 0);
	ck_assert_uint_eq(e4->vip, 0);
	ck_assert_uint_eq(e4->flags, 0);
	e4->backend = 7;
	e4->vip = 3;
	e6 = insert(t, &k6, 100, false);
	ck_assert_ptr_nonnull(e6);
	ck_assert_uint_eq(e6->state, FLOW_STATE_UDP);
	e6->backend = 9;
	ck_assert_uint_eq(flow_table_count(t), 2);
	ck_assert_uint_eq(flow_table_stats(t)->inserts, 2);

	ck_assert_ptr_eq(lookup(t, &k4, 101), e4);
	ck_assert_ptr_eq(lookup(t, &k6, 101), e6);
	ck_assert_uint_eq(lookup(t, &k4, 101)->backend, 7);
	ck_assert_uint_eq(lookup(t, &k6, 101)->backend, 9);
	ck_assert_ptr_null(lookup(t, &other, 101));
	/* The same key with another hash lands elsewhere: not found. */
	ck_assert_ptr_null(flow_lookup(t, &k4, flow_hash(&k4) ^ 0x80000000u, 101));

	flow_delete(t, e4);
	ck_assert_ptr_null(lookup(t, &k4, 101));
	ck_assert_ptr_eq(lookup(t, &k6, 101), e6);
	ck_assert_uint_eq(flow_table_count(t), 1);
	flow_delete(t, e4); /* twice is harmless */
	ck_assert_uint_eq(flow_table_count(t), 1);
	flow_delete(t, e6);
	ck_assert_ptr_null(lookup(t, &k6, 101));
	ck_assert_uint_eq(flow_table_count(t), 0);
	free(mem);
}
END_TEST

START_TEST(test_hash_zero)
{
	struct flow_key a, b;
	struct flow_table *t;
	void *mem;

	/* Any caller hash works, 0 included; 0 and 1 share a signature. */
	rng_state = 2;
	t = new_table(64, &mem);
	rand_key(&a, false);
	rand_key(&b, false);
	ck_assert_ptr_nonnull(flow_insert(t, &a, 0, 1, true));
	ck_assert_ptr_nonnull(flow_insert(t, &b, 1, 1, true));
	ck_assert_ptr_nonnull(flow_lookup(t, &a, 0, 1));
	ck_assert_ptr_nonnull(flow_lookup(t, &b, 1, 1));
	ck_assert_mem_eq(flow_entry_key(t, flow_lookup(t, &b, 1, 1)), &b, sizeof(b));
	ck_assert_uint_eq(flow_table_count(t), 2);
	free(mem);
}
END_TEST

/*
 * The hash is part of the cluster's protocol (instances must agree on flow
 * owners): these values were computed once, agree with a Python model of the
 * same function, and must never change silently.
 */
START_TEST(test_hash_fixed)
{
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = 4;
	k.proto = TCP;
	k.sport = 12345;
	k.dport = 80;
	k.src[0] = 10;
	k.src[3] = 1;
	k.dst[0] = 10;
	k.dst[3] = 2;
	ck_assert_uint_eq(flow_hash(&k), 0x2c424e27);
	k.family = 6;
	memcpy(k.src, a6, 16);
	ck_assert_uint_eq(flow_hash(&k), 0xe85e6b62);
	ck_assert_uint_eq(flow_hash_addr(6, a6), 0x4e34ec5d);
	ck_assert_uint_eq(flow_hash_addr(4, k.dst), 0xccab45cf);
}
END_TEST

START_TEST(test_hash_addr)
{
	uint8_t a[16] = { 192, 0, 2, 1 };
	uint8_t b[16] = { 192, 0, 2, 1, 0xff, 0xff };
	uint32_t h;

	/* Bytes after an IPv4 address do not count. */
	ck_assert_uint_eq(flow_hash_addr(4, a), flow_hash_addr(4, b));
	ck_assert_uint_ne(flow_hash_addr(6, a), flow_hash_addr(6, b));
	ck_assert_uint_ne(flow_hash_addr(4, a), flow_hash_addr(6, a));
	h = flow_hash_addr(4, a);
	a[3] = 2;
	ck_assert_uint_ne(flow_hash_addr(4, a), h);
}
END_TEST

/*
 * Chi-square of hash & (bins - 1) over n keys, divided by its degrees of
 * freedom: about 1 +- sqrt(2 / bins) for a uniform hash.
 */
enum chi2_keys { KEYS_RANDOM, KEYS_SEQUENTIAL, KEYS_ADDR4 };

static double
chi2_per_df(uint32_t n, enum chi2_keys what)
{
	enum { BINS = 1 << 16 };
	static uint32_t bins[BINS];
	struct flow_key k;
	double chi2 = 0, expect = (double)n / BINS, d;
	uint32_t i, h;

	memset(bins, 0, sizeof(bins));
	for (i = 0; i < n; i++) {
		if (what == KEYS_SEQUENTIAL) {
			seq_key(&k, i);
			h = flow_hash(&k);
		} else if (what == KEYS_ADDR4) {
			/* Clients 10.0.0.0/12, one after the other. */
			seq_key(&k, 0);
			k.src[1] = (uint8_t)(i >> 16);
			k.src[2] = (uint8_t)(i >> 8);
			k.src[3] = (uint8_t)i;
			h = flow_hash_addr(4, k.src);
		} else {
			rand_key(&k, i & 1);
			h = flow_hash(&k);
		}
		bins[h & (BINS - 1)]++;
	}
	for (i = 0; i < BINS; i++) {
		d = bins[i] - expect;
		chi2 += d * d / expect;
	}
	return chi2 / (BINS - 1);
}

START_TEST(test_hash_spread)
{
	double r, s, a;

	rng_state = 3;
	r = chi2_per_df(1000000, KEYS_RANDOM);
	s = chi2_per_df(1000000, KEYS_SEQUENTIAL);
	a = chi2_per_df(1000000, KEYS_ADDR4);
	printf("flow_hash chi2/df over 2^16 bins, 1M keys: random %.4f, sequential %.4f, "
	       "addresses %.4f\n",
	       r, s, a);
	/* sqrt(2 / 65535) = 0.0055: these bounds are over 5 sigma. */
	ck_assert_double_ge(r, 0.97);
	ck_assert_double_le(r, 1.03);
	ck_assert_double_ge(s, 0.97);
	ck_assert_double_le(s, 1.03);
	ck_assert_double_ge(a, 0.97);
	ck_assert_double_le(a, 1.03);
}
END_TEST

START_TEST(test_hash_avalanche)
{
	enum { N = 2000 };
	static uint32_t flips[320][32];
	struct flow_key k, k2;
	uint32_t h, d, i, bit, o;
	double p, worst = 0, mean = 0, ns;

	rng_state = 4;
	memset(flips, 0, sizeof(flips));
	for (i = 0; i < N; i++) {
		rand_key(&k, i & 1);
		h = flow_hash(&k);
		for (bit = 0; bit < 320; bit++) {
			k2 = k;
			((uint8_t *)&k2)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			d = h ^ flow_hash(&k2);
			for (o = 0; o < 32; o++)
				flips[bit][o] += d >> o & 1;
		}
	}
	for (bit = 0; bit < 320; bit++) {
		for (o = 0; o < 32; o++) {
			p = (double)flips[bit][o] / N;
			mean += p;
			if (p - 0.5 > worst || 0.5 - p > worst)
				worst = p > 0.5 ? p - 0.5 : 0.5 - p;
		}
	}
	mean /= 320 * 32;
	/* One input bit flips each output bit with probability 1/2 +- 0.011. */
	ck_assert_double_ge(mean, 0.49);
	ck_assert_double_le(mean, 0.51);
	ck_assert_double_le(worst, 0.06);

	ns = now_ns();
	h = 0;
	for (i = 0; i < 10000000; i++) {
		k.sport = (uint16_t)i;
		h += flow_hash(&k);
	}
	ns = (now_ns() - ns) / 1e7;
	printf("flow_hash avalanche: mean flip %.4f, worst bias %.4f; %.2f ns/hash (%u)\n", mean,
	       worst, ns, h & 1);
}
END_TEST

START_TEST(test_fill_90)
{
	enum { N = 1 << 16 };
	uint32_t n = N * 9 / 10, i;
	const struct flow_stats *st;
	struct flow_key *keys;
	struct flow_entry *e;
	struct flow_table *t;
	double ns;
	void *mem;

	rng_state = 5;
	t = new_table(N, &mem);
	st = flow_table_stats(t);
	keys = malloc(sizeof(*keys) * N * 2);
	ck_assert_ptr_nonnull(keys);
	for (i = 0; i < N * 2; i++)
		rand_key(&keys[i], i & 1);

	/* No ck_assert inside the timed loop: check marks each one with I/O. */
	ns = now_ns();
	for (i = 0; i < n; i++) {
		e = insert(t, &keys[i], 1, true);
		if (e == NULL)
			break;
		e->backend = i;
	}
	ns = (now_ns() - ns) / n;
	ck_assert_uint_eq(i, n);
	ck_assert_uint_eq(st->full, 0);
	ck_assert_uint_eq(st->evictions, 0);
	ck_assert_uint_eq(flow_table_count(t), n);
	/* Every entry survived the moves, with what the caller stored in it. */
	for (i = 0; i < n; i++) {
		e = lookup(t, &keys[i], 2);
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(e->backend, i);
		ck_assert_mem_eq(flow_entry_key(t, e), &keys[i], sizeof(keys[i]));
	}
	for (i = n; i < N * 2; i++)
		ck_assert_ptr_null(lookup(t, &keys[i], 2));
	printf("flow table 90%% of %u: %.0f ns/insert", N, ns);

	/* How far it goes before an insert finds no room, for the log. */
	for (i = n; i < N * 2; i++) {
		ck_assert_ptr_nonnull(insert(t, &keys[i], 1, true));
		if (st->evictions > 0)
			break;
	}
	printf(", first eviction at %.2f%% load\n", 100.0 * (flow_table_count(t) + 1) / N);
	free(keys);
	free(mem);
}
END_TEST

START_TEST(test_timeouts)
{
	struct flow_key k;
	struct flow_entry *e;
	struct flow_table *t;
	void *mem;

	rng_state = 6;
	t = new_table(64, &mem);
	rand_key(&k, false);

	/* SYN: 5 s. Not expired at exactly the timeout, expired one later. */
	e = insert(t, &k, 100, true);
	ck_assert_uint_eq(e->state, FLOW_STATE_SYN);
	ck_assert_ptr_eq(lookup(t, &k, 105), e);
	ck_assert_ptr_null(lookup(t, &k, 106));
	ck_assert_uint_eq(flow_table_count(t), 0);
	ck_assert_uint_eq(flow_table_stats(t)->expired, 1);

	/* Established: 300 s, refreshed by each packet. */
	e = insert(t, &k, 200, true);
	flow_touch(e, F_SYN, 203);
	ck_assert_uint_eq(e->state, FLOW_STATE_SYN);
	flow_touch(e, F_SYN | F_ACK, 204);
	ck_assert_uint_eq(e->state, FLOW_STATE_SYN);
	flow_touch(e, F_ACK, 205);
	ck_assert_uint_eq(e->state, FLOW_STATE_EST);
	ck_assert_uint_eq(e->last_seen, 205);
	ck_assert_ptr_eq(lookup(t, &k, 505), e);
	flow_touch(e, F_ACK, 505);
	ck_assert_ptr_eq(lookup(t, &k, 805), e);
	flow_touch(e, F_SYN, 805);
	ck_assert_uint_eq(e->state, FLOW_STATE_EST);
	ck_assert_ptr_null(lookup(t, &k, 1106));

	/* Closing: 10 s after FIN or RST; a new SYN reuses the tuple. */
	e = insert(t, &k, 2000, false);
	ck_assert_uint_eq(e->state, FLOW_STATE_EST);
	flow_touch(e, F_FIN | F_ACK, 2001);
	ck_assert_uint_eq(e->state, FLOW_STATE_CLOSING);
	flow_touch(e, F_ACK, 2002);
	ck_assert_uint_eq(e->state, FLOW_STATE_CLOSING);
	ck_assert_ptr_eq(lookup(t, &k, 2012), e);
	flow_touch(e, F_SYN, 2012);
	ck_assert_uint_eq(e->state, FLOW_STATE_SYN);
	flow_touch(e, F_RST, 2013);
	ck_assert_uint_eq(e->state, FLOW_STATE_CLOSING);
	ck_assert_ptr_null(lookup(t, &k, 2024));

	/* UDP: 30 s, whatever the flags say. */
	k.proto = UDP;
	e = insert(t, &k, 3000, true);
	ck_assert_uint_eq(e->state, FLOW_STATE_UDP);
	flow_touch(e, F_FIN, 3001);
	ck_assert_uint_eq(e->state, FLOW_STATE_UDP);
	ck_assert_ptr_eq(lookup(t, &k, 3031), e);
	ck_assert_ptr_null(lookup(t, &k, 3032));

	/* The caller's clock may wrap. */
	k.proto = TCP;
	e = insert(t, &k, UINT32_MAX - 2, false);
	ck_assert_ptr_eq(lookup(t, &k, 200), e);
	ck_assert_ptr_null(lookup(t, &k, 298));
	/* A last_seen a little ahead of now is fresh, not ancient. */
	e = insert(t, &k, 5000, true);
	ck_assert_ptr_eq(lookup(t, &k, 4990), e);
	ck_assert_uint_eq(flow_table_stats(t)->expired, 5);
	free(mem);
}
END_TEST

START_TEST(test_expired_slot_reused)
{
	struct flow_key k[9];
	struct flow_table *t;
	unsigned int i;
	void *mem;

	/* 8 entries, 2 buckets: every key may use all of the table. */
	rng_state = 7;
	t = new_table(8, &mem);
	for (i = 0; i < 9; i++)
		rand_key(&k[i], false);
	for (i = 0; i < 8; i++)
		ck_assert_ptr_nonnull(insert(t, &k[i], 10, false));
	ck_assert_uint_eq(flow_table_count(t), 8);
	/* k[0..7] are established (300 s); at 311 all have expired. */
	ck_assert_ptr_nonnull(insert(t, &k[8], 311, true));
	ck_assert_uint_eq(flow_table_stats(t)->evictions, 0);
	ck_assert_uint_eq(flow_table_stats(t)->expired, 1);
	ck_assert_uint_eq(flow_table_count(t), 8);
	free(mem);
}
END_TEST

START_TEST(test_age_incremental)
{
	enum { N = 1024, STEP = 16 };
	uint32_t i, freed, total = 0, calls = 0, n_expiring = 0;
	struct flow_key keys[600];
	struct flow_entry *e;
	struct flow_table *t;
	void *mem;

	rng_state = 8;
	t = new_table(N, &mem);
	for (i = 0; i < 600; i++) {
		rand_key(&keys[i], i & 1);
		e = insert(t, &keys[i], 1000, i % 2 == 0);
		ck_assert_ptr_nonnull(e);
		/* Odd ones are established (300 s), even ones SYN (5 s). */
		if (i % 2 == 0)
			n_expiring++;
	}
	ck_assert_uint_eq(flow_age(t, 1005, N), 0);
	/* A quarter of the table at most per call, never all at once. */
	while (total < n_expiring) {
		freed = flow_age(t, 1010, STEP);
		ck_assert_uint_le(freed, STEP * 4);
		total += freed;
		calls++;
		ck_assert_uint_le(calls, N / 4 / STEP);
	}
	ck_assert_uint_eq(total, n_expiring);
	ck_assert_uint_eq(flow_table_count(t), 600 - n_expiring);
	ck_assert_uint_eq(flow_table_stats(t)->expired, n_expiring);
	/* It wraps around and finds nothing more to free. */
	for (i = 0; i < 2 * N / 4 / STEP; i++)
		ck_assert_uint_eq(flow_age(t, 1010, STEP), 0);
	for (i = 1; i < 600; i += 2)
		ck_assert_ptr_nonnull(lookup(t, &keys[i], 1010));
	/* Asking for more buckets than there are looks at each once. */
	ck_assert_uint_eq(flow_age(t, 1400, UINT32_MAX), 300);
	ck_assert_uint_eq(flow_table_count(t), 0);
	free(mem);
}
END_TEST

START_TEST(test_syn_flood_spares_established)
{
	enum { N = 4096, FLOOD = 100000 };
	const struct flow_stats *st;
	struct flow_key *keys, k;
	uint64_t evictions, full;
	uint32_t i, n_live = 0, n_new = 0;
	struct flow_table *t;
	bool *live;
	void *mem;

	rng_state = 9;
	t = new_table(N, &mem);
	st = flow_table_stats(t);
	keys = malloc(sizeof(*keys) * N * 8);
	live = calloc(N * 8, sizeof(*live));
	ck_assert_ptr_nonnull(keys);
	ck_assert_ptr_nonnull(live);
	/* Mid-connection packets fill the table with established flows. */
	for (i = 0; i < N * 8; i++) {
		rand_key(&keys[i], i & 1);
		ck_assert_ptr_nonnull(insert(t, &keys[i], 100 + i / 1024, false));
	}
	for (i = 0; i < N * 8; i++) {
		live[i] = lookup(t, &keys[i], 140) != NULL;
		n_live += live[i];
	}
	ck_assert_uint_eq(n_live, flow_table_count(t));
	ck_assert_uint_eq(n_live, N);

	evictions = st->evictions;
	full = st->full;
	for (i = 0; i < FLOOD; i++) {
		rand_key(&k, i & 1);
		if (insert(t, &k, 150, true) != NULL)
			n_new++;
	}
	ck_assert_uint_eq(st->evictions, evictions);
	ck_assert_uint_eq(st->full - full, FLOOD - n_new);
	ck_assert_uint_gt(st->full - full, FLOOD * 9 / 10);
	for (i = 0; i < N * 8; i++) {
		if (live[i])
			ck_assert_ptr_nonnull(lookup(t, &keys[i], 160));
	}
	printf("SYN flood: %u SYNs, %u took a free slot, %llu refused, 0 evicted\n", FLOOD, n_new,
	       (unsigned long long)(st->full - full));
	free(live);
	free(keys);
	free(mem);
}
END_TEST

START_TEST(test_syn_flood_evicts_oldest_syn)
{
	static const struct flow_timeouts slow = {
		.syn = 1000,
		.established = 1000,
		.closing = 1000,
		.udp = 1000,
	};
	const struct flow_stats *st;
	struct flow_key k[24];
	struct flow_table *t;
	unsigned int i, j;
	void *mem;

	/* 2 buckets: every key's two buckets are the whole table. */
	rng_state = 10;
	t = new_table_to(8, &mem, &slow);
	st = flow_table_stats(t);
	for (i = 0; i < 24; i++)
		rand_key(&k[i], i & 1);
	for (i = 0; i < 8; i++)
		ck_assert_ptr_nonnull(insert(t, &k[i], 1000 + i, true));
	ck_assert_uint_eq(flow_table_count(t), 8);
	/* Each new SYN pushes out the oldest SYN. */
	for (i = 8; i < 16; i++) {
		ck_assert_ptr_nonnull(insert(t, &k[i], 1000 + i, true));
		for (j = 0; j <= i; j++) {
			if (j <= i - 8)
				ck_assert_ptr_null(lookup(t, &k[j], 1000 + i));
			else
				ck_assert_ptr_nonnull(lookup(t, &k[j], 1000 + i));
		}
	}
	ck_assert_uint_eq(st->evictions, 8);
	ck_assert_uint_eq(st->full, 0);

	/* k[8..11] become established; they are now the oldest entries. */
	for (i = 8; i < 12; i++)
		flow_touch(lookup(t, &k[i], 1020), F_ACK, 1020 + i - 8);
	for (i = 12; i < 16; i++)
		flow_touch(lookup(t, &k[i], 1021), F_SYN, 1021 + i);
	/* SYNs evict only the SYN entries, oldest first, then are refused. */
	for (i = 16; i < 20; i++) {
		ck_assert_ptr_nonnull(insert(t, &k[i], 1040, true));
		ck_assert_ptr_null(lookup(t, &k[i - 4], 1040));
	}
	for (i = 16; i < 20; i++)
		flow_touch(lookup(t, &k[i], 1040), F_ACK, 1040);
	ck_assert_ptr_null(insert(t, &k[20], 1041, true));
	ck_assert_uint_eq(st->full, 1);
	ck_assert_uint_eq(st->evictions, 12);
	for (i = 8; i < 12; i++)
		ck_assert_ptr_nonnull(lookup(t, &k[i], 1041));

	/* A mid-connection packet of a new flow takes the least recently seen. */
	ck_assert_ptr_nonnull(insert(t, &k[21], 1042, false));
	ck_assert_uint_eq(st->evictions, 13);
	ck_assert_ptr_null(lookup(t, &k[8], 1042));
	for (i = 9; i < 12; i++)
		ck_assert_ptr_nonnull(lookup(t, &k[i], 1042));
	free(mem);
}
END_TEST

START_TEST(test_flush)
{
	struct flow_key keys[1000];
	struct flow_entry *e;
	struct flow_table *t;
	uint32_t i;
	void *mem;

	rng_state = 11;
	t = new_table(2048, &mem);
	for (i = 0; i < 1000; i++) {
		rand_key(&keys[i], i & 1);
		e = insert(t, &keys[i], 1, false);
		ck_assert_ptr_nonnull(e);
		e->backend = i % 10;
	}
	ck_assert_uint_eq(flow_flush(t, 3), 100);
	ck_assert_uint_eq(flow_table_count(t), 900);
	for (i = 0; i < 1000; i++) {
		e = lookup(t, &keys[i], 2);
		if (i % 10 == 3)
			ck_assert_ptr_null(e);
		else
			ck_assert_ptr_nonnull(e);
	}
	ck_assert_uint_eq(flow_flush(t, 3), 0);
	ck_assert_uint_eq(flow_flush(t, UINT32_MAX), 900);
	ck_assert_uint_eq(flow_table_count(t), 0);
	for (i = 0; i < 1000; i++)
		ck_assert_ptr_null(lookup(t, &keys[i], 2));
	free(mem);
}
END_TEST

/* flow_table_walk: each live entry once, with its own key, over many calls; none expired. */
struct walk_log {
	uint32_t n;
	uint8_t seen[1000];
	uint32_t key_hash[1000];
	bool wrong_key;
};

static void
walk_visit(const struct flow_key *k, struct flow_entry *e, void *arg)
{
	struct walk_log *log = arg;

	log->n++;
	if (e->backend >= 1000 || log->key_hash[e->backend] != flow_hash(k)) {
		log->wrong_key = true;
		return;
	}
	log->seen[e->backend]++;
}

START_TEST(test_walk)
{
	static struct walk_log log;
	struct flow_key k;
	struct flow_entry *e;
	struct flow_table *t;
	uint32_t i, cursor = 0, calls = 0;
	void *mem;

	rng_state = 12;
	memset(&log, 0, sizeof(log));
	t = new_table(2048, &mem);
	for (i = 0; i < 1000; i++) {
		rand_key(&k, i & 1);
		e = insert(t, &k, 1, false);
		ck_assert_ptr_nonnull(e);
		e->backend = i;
		log.key_hash[i] = flow_hash(&k);
	}
	while (!flow_table_walk(t, &cursor, 7, 2, walk_visit, &log))
		calls++;
	ck_assert_uint_gt(calls, 10);
	ck_assert_uint_eq(cursor, 0);
	ck_assert(!log.wrong_key);
	ck_assert_uint_eq(log.n, 1000);
	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(log.seen[i], 1);
	/* Long after every timeout: nothing is live any more. */
	log.n = 0;
	while (!flow_table_walk(t, &cursor, 64, 1u << 30, walk_visit, &log))
		;
	ck_assert_uint_eq(log.n, 0);
	free(mem);
}
END_TEST

/*
 * What the release callback saw. ids are what the test stored in e->backend;
 * key_hash[id], where the test fills it, is flow_hash of the key inserted
 * under that id, so a release that comes with another flow's key is caught.
 */
struct release_log {
	uint32_t calls;
	uint32_t last_backend;
	struct flow_key last_key;
	uint32_t n_ids;
	uint8_t *times;     /* per id, when not NULL */
	uint32_t *key_hash; /* per id, when not NULL */
	bool not_intact;
	bool wrong_key;
};

static void
record_release(const struct flow_key *k, const struct flow_entry *e, void *arg)
{
	struct release_log *log = arg;

	log->calls++;
	/* Still intact: one of the test's keys (family 4 or 6, pad 0), a valid state. */
	if (k == NULL || (k->family != 4 && k->family != 6) || k->pad != 0 ||
	    e->state >= FLOW_STATE_MAX) {
		log->not_intact = true;
		return;
	}
	log->last_backend = e->backend;
	log->last_key = *k;
	if (log->times != NULL && e->backend < log->n_ids)
		log->times[e->backend]++;
	if (log->key_hash != NULL && e->backend < log->n_ids &&
	    log->key_hash[e->backend] != flow_hash(k))
		log->wrong_key = true;
}

START_TEST(test_release_paths)
{
	static const struct flow_timeouts slow = {
		.syn = 1000,
		.established = 1000,
		.closing = 1000,
		.udp = 1000,
	};
	uint8_t times[64] = { 0 };
	uint32_t key_hash[64] = { 0 };
	struct release_log log = { .n_ids = 64, .times = times, .key_hash = key_hash };
	const struct flow_key *kp[2];
	struct flow_entry *e, *out[2];
	struct flow_key k[16];
	struct flow_table *t;
	uint32_t hashes[2], i, freed;
	bool inserted;
	void *mem;

	rng_state = 20;
	for (i = 0; i < 16; i++) {
		rand_key(&k[i], i & 1);
		key_hash[i] = flow_hash(&k[i]);
	}
	t = new_table(1024, &mem);
	flow_table_set_release(t, record_release, &log);

	/* Inserts into empty slots: nothing released. */
	for (i = 0; i < 10; i++) {
		e = insert(t, &k[i], 100, i < 5);
		ck_assert_ptr_nonnull(e);
		e->backend = i;
	}
	ck_assert_uint_eq(log.calls, 0);

	/* flow_delete, once; deleting the emptied slot again tells nobody. */
	e = lookup(t, &k[7], 100);
	flow_delete(t, e);
	ck_assert_uint_eq(log.calls, 1);
	ck_assert_uint_eq(log.last_backend, 7);
	ck_assert_mem_eq(&log.last_key, &k[7], sizeof(k[7]));
	flow_delete(t, e);
	ck_assert_uint_eq(log.calls, 1);

	/* Found expired by lookup (k[0..4] are SYN, 5 s). */
	ck_assert_ptr_null(lookup(t, &k[0], 106));
	ck_assert_uint_eq(log.calls, 2);
	ck_assert_uint_eq(log.last_backend, 0);
	ck_assert_ptr_null(lookup(t, &k[0], 106));
	ck_assert_uint_eq(log.calls, 2);

	/* Found expired by a bulk lookup; a hit beside it releases nothing. */
	kp[0] = &k[1];
	kp[1] = &k[5];
	hashes[0] = flow_hash(&k[1]);
	hashes[1] = flow_hash(&k[5]);
	flow_lookup_bulk(t, kp, hashes, 2, 106, out);
	ck_assert_ptr_null(out[0]);
	ck_assert_ptr_nonnull(out[1]);
	ck_assert_uint_eq(log.calls, 3);
	ck_assert_uint_eq(log.last_backend, 1);
	ck_assert_mem_eq(&log.last_key, &k[1], sizeof(k[1]));

	/* flow_age: k[2..4] are expired. */
	freed = flow_age(t, 106, UINT32_MAX);
	ck_assert_uint_eq(freed, 3);
	ck_assert_uint_eq(log.calls, 6);

	/* flow_flush of one backend, then of all. */
	ck_assert_uint_eq(flow_flush(t, 6), 1);
	ck_assert_uint_eq(log.calls, 7);
	ck_assert_uint_eq(log.last_backend, 6);
	ck_assert_mem_eq(&log.last_key, &k[6], sizeof(k[6]));
	ck_assert_uint_eq(flow_flush(t, UINT32_MAX), 3); /* 5, 8, 9 */
	ck_assert_uint_eq(log.calls, 10);
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(times[i], 1);
	ck_assert(!log.not_intact);
	free(mem);

	/* Found expired by an insert: 2 buckets, all 8 entries established at 10. */
	memset(times, 0, sizeof(times));
	log.calls = 0;
	t = new_table(8, &mem);
	flow_table_set_release(t, record_release, &log);
	for (i = 0; i < 8; i++) {
		e = insert(t, &k[i], 10, false);
		e->backend = i;
	}
	e = insert(t, &k[8], 311, true);
	ck_assert_ptr_nonnull(e);
	e->backend = 8;
	ck_assert_uint_eq(log.calls, 1);
	ck_assert_uint_eq(flow_table_stats(t)->expired, 1);
	ck_assert_uint_eq(flow_table_stats(t)->evictions, 0);
	ck_assert_uint_eq(times[log.last_backend], 1);
	free(mem);

	/* Eviction: the 9th SYN in a full 8-entry table pushes out the oldest SYN. */
	memset(times, 0, sizeof(times));
	log.calls = 0;
	t = new_table_to(8, &mem, &slow);
	flow_table_set_release(t, record_release, &log);
	for (i = 0; i < 8; i++) {
		e = insert(t, &k[i], 1000 + i, true);
		e->backend = i;
	}
	ck_assert_uint_eq(log.calls, 0);
	e = insert(t, &k[8], 1010, true);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(flow_table_stats(t)->evictions, 1);
	ck_assert_uint_eq(log.calls, 1);
	ck_assert_uint_eq(log.last_backend, 0);
	ck_assert_mem_eq(&log.last_key, &k[0], sizeof(k[0]));
	ck_assert(!log.not_intact);

	/* Off again. */
	flow_table_set_release(t, NULL, NULL);
	ck_assert_uint_eq(flow_flush(t, UINT32_MAX), 8);
	ck_assert_uint_eq(log.calls, 1);
	free(mem);

	/* Found expired by flow_lookup_or_insert: released, then a fresh entry for the key. */
	log.calls = 0;
	t = new_table(64, &mem);
	flow_table_set_release(t, record_release, &log);
	e = insert(t, &k[3], 100, true);
	e->backend = 3;
	e = flow_lookup_or_insert(t, &k[3], flow_hash(&k[3]), 105, true, &inserted);
	ck_assert(!inserted);
	ck_assert_uint_eq(e->backend, 3);
	ck_assert_uint_eq(log.calls, 0);
	e = flow_lookup_or_insert(t, &k[3], flow_hash(&k[3]), 106, true, &inserted);
	ck_assert(inserted);
	ck_assert_uint_eq(e->backend, 0);
	ck_assert_uint_eq(e->last_seen, 106);
	ck_assert_uint_eq(log.calls, 1);
	ck_assert_uint_eq(log.last_backend, 3);
	ck_assert_mem_eq(&log.last_key, &k[3], sizeof(k[3]));
	ck_assert_uint_eq(flow_table_count(t), 1);
	ck_assert_uint_eq(flow_table_stats(t)->expired, 1);
	ck_assert_uint_eq(flow_table_stats(t)->inserts, 2);
	ck_assert(!log.not_intact);
	ck_assert(!log.wrong_key);
	free(mem);
}
END_TEST

/* Cuckoo moves are not removals: a table filled to 90% releases nothing. */
START_TEST(test_release_not_on_moves)
{
	enum { N = 1 << 14 };
	struct release_log log = { 0 };
	struct flow_table *t;
	struct flow_key k;
	uint32_t i;
	void *mem;

	rng_state = 21;
	t = new_table(N, &mem);
	flow_table_set_release(t, record_release, &log);
	for (i = 0; i < N * 9 / 10; i++) {
		rand_key(&k, i & 1);
		ck_assert_ptr_nonnull(insert(t, &k, 1, true));
	}
	ck_assert_uint_eq(flow_table_stats(t)->evictions, 0);
	ck_assert_uint_eq(log.calls, 0);
	ck_assert_uint_eq(flow_flush(t, UINT32_MAX), N * 9 / 10);
	ck_assert_uint_eq(log.calls, N * 9 / 10);
	ck_assert(!log.not_intact);
	free(mem);
}
END_TEST

/*
 * Random inserts, lookups (single and bulk), touches, deletes, aging and
 * flushes on a small, crowded table with short timeouts: every path that
 * removes an entry runs, the cuckoo search included. After every step each
 * entry ever inserted is live or released, and released at most once
 * (inserts == live + released); at the end, after a flush, exactly once.
 */
START_TEST(test_release_exactly_once)
{
	enum { POOL = 300, STEPS = 200000, MAX_IDS = STEPS + 1 };
	static const struct flow_timeouts to = {
		.syn = 3,
		.established = 40,
		.closing = 5,
		.udp = 20,
	};
	static struct flow_key pool[POOL];
	const struct flow_key *kp[FLOW_BULK_MAX];
	struct flow_entry *e, *out[FLOW_BULK_MAX];
	uint32_t hashes[FLOW_BULK_MAX];
	struct release_log log = { 0 };
	uint32_t i, j, n, next_id = 0, now = 1000;
	bool inserted;
	struct flow_table *t;
	uint64_t r;
	void *mem;

	rng_state = 22;
	log.times = calloc(MAX_IDS, 1);
	log.key_hash = calloc(MAX_IDS, sizeof(*log.key_hash));
	log.n_ids = MAX_IDS;
	ck_assert_ptr_nonnull(log.times);
	ck_assert_ptr_nonnull(log.key_hash);
	for (i = 0; i < POOL; i++) {
		rand_key(&pool[i], i & 1);
		if (i % 3 == 0)
			pool[i].proto = UDP;
	}
	t = new_table_to(64, &mem, &to);
	flow_table_set_release(t, record_release, &log);
	for (i = 0; i < STEPS; i++) {
		r = rng();
		now += (r & 0xff) == 0 ? 7 : (r >> 8 & 3) == 0;
		j = (uint32_t)(r >> 16) % POOL;
		switch (r >> 40 & 15) {
		case 0:
			(void)flow_age(t, now, 1 + (r >> 48 & 3));
			break;
		case 1:
			e = lookup(t, &pool[j], now);
			if (e != NULL)
				flow_delete(t, e);
			break;
		case 2:
			if ((r >> 48 & 63) == 0)
				(void)flow_flush(t, (uint32_t)(r >> 20) % (next_id + 1));
			break;
		case 3:
			n = 1 + (r >> 48) % FLOW_BULK_MAX;
			for (j = 0; j < n; j++) {
				kp[j] = &pool[(j * 7 + (r >> 16)) % POOL];
				hashes[j] = flow_hash(kp[j]);
			}
			flow_lookup_bulk(t, kp, hashes, n, now, out);
			break;
		case 4:
		case 5:
		case 6:
			/* Half the inserts through flow_lookup_or_insert. */
			e = flow_lookup_or_insert(t, &pool[j], flow_hash(&pool[j]), now,
						  (r >> 52 & 1) != 0, &inserted);
			if (e != NULL && !inserted)
				flow_touch(e, (uint8_t)(r >> 48), now);
			if (e != NULL && inserted) {
				log.key_hash[next_id] = flow_hash(&pool[j]);
				e->backend = next_id++;
			}
			break;
		default:
			e = lookup(t, &pool[j], now);
			if (e != NULL) {
				flow_touch(e, (uint8_t)(r >> 48), now);
				break;
			}
			e = insert(t, &pool[j], now, (r >> 52 & 1) != 0);
			if (e != NULL) {
				log.key_hash[next_id] = flow_hash(&pool[j]);
				e->backend = next_id++;
			}
			break;
		}
		ck_assert_uint_eq(flow_table_stats(t)->inserts,
				  (uint64_t)flow_table_count(t) + log.calls);
	}
	ck_assert_uint_eq(next_id, flow_table_stats(t)->inserts);
	(void)flow_flush(t, UINT32_MAX);
	ck_assert_uint_eq(log.calls, next_id);
	for (i = 0; i < next_id; i++)
		ck_assert_uint_eq(log.times[i], 1);
	ck_assert(!log.not_intact);
	ck_assert(!log.wrong_key);
	printf("release model: %u steps, %u inserts, %llu evictions, %llu expired, all "
	       "released once\n",
	       STEPS, next_id, (unsigned long long)flow_table_stats(t)->evictions,
	       (unsigned long long)flow_table_stats(t)->expired);
	free(log.key_hash);
	free(log.times);
	free(mem);
}
END_TEST

/*
 * Two tables under the same operations, one looked up key by key, the other
 * in bursts: the same entries found (at the same place), the same misses, the
 * same expiries and releases. Bursts mix hits, misses, expired entries and
 * repeated keys, and run from 0 to 150 keys (more than FLOW_BULK_MAX).
 * Tables of one bucket (a single candidate), two, and many.
 */
static void
bulk_vs_single(uint32_t capacity)
{
	enum { POOL = 2000, BATCH = 150 };
	static const struct flow_timeouts to = {
		.syn = 5,
		.established = 200,
		.closing = 10,
		.udp = 50,
	};
	static struct flow_key pool[POOL];
	const struct flow_key *kp[BATCH];
	struct flow_entry *out[BATCH], *e, *ea, *eb;
	struct release_log la = { 0 }, lb = { 0 };
	uint32_t hashes[BATCH], i, j, n, round, now = 100;
	uint32_t n_pool = capacity < 64 ? capacity * 3 : POOL;
	unsigned long long hits = 0, misses = 0, expired;
	struct flow_table *ta, *tb;
	void *ma, *mb;
	uint64_t r;

	rng_state = 23;
	for (i = 0; i < POOL; i++) {
		rand_key(&pool[i], i & 1);
		if (i % 4 == 0)
			pool[i].proto = UDP;
	}
	ta = new_table_to(capacity, &ma, &to);
	tb = new_table_to(capacity, &mb, &to);
	flow_table_set_release(ta, record_release, &la);
	flow_table_set_release(tb, record_release, &lb);

	for (round = 0; round < 400; round++) {
		/* The same inserts and touches on both; few on small tables, to let them expire. */
		for (i = 0; i < (capacity < 64 ? 1u : 20u); i++) {
			r = rng();
			j = (uint32_t)r % n_pool;
			ea = lookup(ta, &pool[j], now);
			eb = lookup(tb, &pool[j], now);
			ck_assert((ea == NULL) == (eb == NULL));
			if (ea == NULL) {
				ea = insert(ta, &pool[j], now, (r >> 32 & 1) != 0);
				eb = insert(tb, &pool[j], now, (r >> 32 & 1) != 0);
			}
			ck_assert((ea == NULL) == (eb == NULL));
			if (ea != NULL) {
				flow_touch(ea, (uint8_t)(r >> 40), now);
				flow_touch(eb, (uint8_t)(r >> 40), now);
			}
		}
		now += (uint32_t)(rng() % 4);
		/* One burst: pool keys, a third never inserted, some repeated. */
		r = rng();
		n = round == 7 ? BATCH : (uint32_t)(r % (FLOW_BULK_MAX + 1));
		for (i = 0; i < n; i++) {
			j = (uint32_t)rng() % n_pool;
			kp[i] = i > 0 && (rng() & 7) == 0 ? kp[i - 1] : &pool[j];
			hashes[i] = flow_hash(kp[i]);
		}
		flow_lookup_bulk(tb, kp, hashes, n, now, out);
		for (i = 0; i < n; i++) {
			e = flow_lookup(ta, kp[i], hashes[i], now);
			ck_assert((e == NULL) == (out[i] == NULL));
			if (e != NULL) {
				ck_assert_uint_eq((uint8_t *)e - (uint8_t *)ta,
						  (uint8_t *)out[i] - (uint8_t *)tb);
				ck_assert_mem_eq(flow_entry_key(tb, out[i]), kp[i], sizeof(*kp[i]));
				hits++;
			} else {
				misses++;
			}
		}
		ck_assert_uint_eq(flow_table_count(ta), flow_table_count(tb));
		ck_assert_mem_eq(flow_table_stats(ta), flow_table_stats(tb),
				 sizeof(struct flow_stats));
		ck_assert_uint_eq(la.calls, lb.calls);
	}
	expired = (unsigned long long)flow_table_stats(ta)->expired;
	ck_assert_uint_gt(hits, capacity < 64 ? 10 : 1000);
	ck_assert_uint_gt(misses, 1000);
	ck_assert_uint_gt(expired, capacity < 64 ? 0 : 100);
	printf("bulk vs single, %u entries: %llu hits, %llu misses, %llu expired, identical\n",
	       capacity, hits, misses, expired);
	free(ma);
	free(mb);
}

START_TEST(test_bulk_equals_single)
{
	bulk_vs_single(4);
	bulk_vs_single(8);
	bulk_vs_single(2048);
}
END_TEST

/*
 * Keys that share a hash share both buckets and the signature: only the
 * full key tells them apart. Each is found as itself, alone and in a burst,
 * and a key with the same hash that was never inserted is not found.
 */
START_TEST(test_signature_collision)
{
	enum { H = 0x9e3779b9 };
	static const uint32_t caps[] = { 8, 1024 };
	const struct flow_key *kp[9];
	struct flow_entry *e[8], *out[9];
	struct flow_key k[9];
	struct flow_table *t;
	uint32_t hashes[9], i, c;
	bool inserted;
	void *mem;

	rng_state = 28;
	for (i = 0; i < 9; i++) {
		rand_key(&k[i], i & 1);
		kp[i] = &k[i];
		hashes[i] = H;
	}
	for (c = 0; c < 2; c++) {
		t = new_table(caps[c], &mem);
		for (i = 0; i < 8; i++)
			ck_assert_ptr_nonnull(flow_insert(t, &k[i], H, 10, false));
		for (i = 0; i < 8; i++) {
			e[i] = flow_lookup(t, &k[i], H, 11);
			ck_assert_ptr_nonnull(e[i]);
			e[i]->backend = i;
		}
		for (i = 0; i < 8; i++) {
			ck_assert_ptr_eq(flow_lookup(t, &k[i], H, 11), e[i]);
			ck_assert_uint_eq(e[i]->backend, i);
			ck_assert_mem_eq(flow_entry_key(t, e[i]), &k[i], sizeof(k[i]));
		}
		ck_assert_ptr_null(flow_lookup(t, &k[8], H, 11));
		flow_lookup_bulk(t, kp, hashes, 9, 11, out);
		for (i = 0; i < 8; i++)
			ck_assert_ptr_eq(out[i], e[i]);
		ck_assert_ptr_null(out[8]);

		/* Room for the ninth once one goes; the rest keep their entries. */
		flow_delete(t, e[5]);
		ck_assert_ptr_null(flow_lookup(t, &k[5], H, 12));
		e[5] = flow_lookup_or_insert(t, &k[8], H, 12, false, &inserted);
		ck_assert_ptr_nonnull(e[5]);
		ck_assert(inserted);
		e[5]->backend = 8;
		flow_lookup_bulk(t, kp, hashes, 9, 12, out);
		for (i = 0; i < 9; i++) {
			if (i == 5) {
				ck_assert_ptr_null(out[i]);
				continue;
			}
			ck_assert_ptr_nonnull(out[i]);
			ck_assert_uint_eq(out[i]->backend, i == 8 ? 8 : i);
			ck_assert_mem_eq(flow_entry_key(t, out[i]), &k[i], sizeof(k[i]));
		}
		ck_assert_uint_eq(flow_table_count(t), 8);
		free(mem);
	}
}
END_TEST

/*
 * flow_lookup_or_insert on one table, flow_lookup then flow_insert on its
 * twin, under the same operations: the same entries (at the same place), the
 * same fresh/found answers, statistics and releases. Small tables make
 * inserts reuse expired slots, move entries, evict and be refused.
 */
static void
lookup_or_insert_vs_two_calls(uint32_t capacity)
{
	enum { POOL = 4000, STEPS = 60000 };
	static const struct flow_timeouts to = {
		.syn = 4,
		.established = 60,
		.closing = 6,
		.udp = 20,
	};
	static struct flow_key pool[POOL];
	struct release_log la = { 0 }, lb = { 0 };
	uint32_t n_pool = capacity * 3 < POOL ? capacity * 3 : POOL;
	unsigned long long fresh = 0, found = 0, none = 0;
	struct flow_entry *ea, *eb;
	struct flow_table *ta, *tb;
	uint32_t i, j, h, now = 50;
	bool syn, inserted, fresh_a;
	void *ma, *mb;
	uint64_t r;

	rng_state = 29;
	for (i = 0; i < POOL; i++) {
		rand_key(&pool[i], i & 1);
		if (i % 5 == 0)
			pool[i].proto = UDP;
	}
	ta = new_table_to(capacity, &ma, &to);
	tb = new_table_to(capacity, &mb, &to);
	flow_table_set_release(ta, record_release, &la);
	flow_table_set_release(tb, record_release, &lb);
	for (i = 0; i < STEPS; i++) {
		r = rng();
		now += (r & 0x3f) == 0;
		j = (uint32_t)(r >> 8) % n_pool;
		h = flow_hash(&pool[j]);
		syn = (r >> 40 & 3) != 0;
		ea = flow_lookup(ta, &pool[j], h, now);
		fresh_a = ea == NULL;
		if (ea == NULL)
			ea = flow_insert(ta, &pool[j], h, now, syn);
		fresh_a = fresh_a && ea != NULL;
		eb = flow_lookup_or_insert(tb, &pool[j], h, now, syn, &inserted);
		ck_assert((ea == NULL) == (eb == NULL));
		ck_assert(inserted == fresh_a);
		if (ea != NULL) {
			ck_assert_uint_eq((uint8_t *)ea - (uint8_t *)ta,
					  (uint8_t *)eb - (uint8_t *)tb);
			ck_assert_mem_eq(flow_entry_key(tb, eb), &pool[j], sizeof(pool[j]));
			if (!inserted) {
				flow_touch(ea, (uint8_t)(r >> 48), now);
				flow_touch(eb, (uint8_t)(r >> 48), now);
			}
		}
		fresh += inserted;
		found += ea != NULL && !inserted;
		none += ea == NULL;
		if ((r >> 56 & 31) == 0) {
			ck_assert_uint_eq(flow_age(ta, now, 2), flow_age(tb, now, 2));
		}
		ck_assert_uint_eq(flow_table_count(ta), flow_table_count(tb));
		ck_assert_uint_eq(la.calls, lb.calls);
	}
	ck_assert_mem_eq(flow_table_stats(ta), flow_table_stats(tb), sizeof(struct flow_stats));
	ck_assert(!la.not_intact && !lb.not_intact);
	ck_assert_uint_gt(fresh, 1000);
	ck_assert_uint_gt(found, 1000);
	printf("lookup_or_insert vs lookup + insert, %u entries: %llu inserted, %llu found, "
	       "%llu refused, %llu evictions, %llu expired, identical\n",
	       capacity, fresh, found, none, (unsigned long long)flow_table_stats(tb)->evictions,
	       (unsigned long long)flow_table_stats(tb)->expired);
	free(ma);
	free(mb);
}

START_TEST(test_lookup_or_insert)
{
	lookup_or_insert_vs_two_calls(8);
	lookup_or_insert_vs_two_calls(64);
	lookup_or_insert_vs_two_calls(4096);
}
END_TEST

START_TEST(test_set_timeouts)
{
	static const struct flow_timeouts longer = {
		.syn = 1000,
		.established = 1000,
		.closing = 1000,
		.udp = 1000,
	};
	static const struct flow_timeouts shorter = {
		.syn = 1,
		.established = 1,
		.closing = 1,
		.udp = 1,
	};
	struct flow_key k[10];
	struct flow_table *t;
	unsigned int i;
	void *mem;

	rng_state = 24;
	t = new_table(64, &mem);
	for (i = 0; i < 10; i++)
		rand_key(&k[i], i & 1);
	/* SYN at 100: 5 s would expire it by 200, 1000 s does not. */
	ck_assert_ptr_nonnull(insert(t, &k[0], 100, true));
	flow_table_set_timeouts(t, &longer);
	ck_assert_ptr_nonnull(lookup(t, &k[0], 200));
	/* Back to 5 s: gone at the next look. */
	flow_table_set_timeouts(t, &timeouts);
	ck_assert_ptr_null(lookup(t, &k[0], 200));

	/* flow_age uses the new values too: established for 300 s, then 1 s. */
	for (i = 1; i < 10; i++)
		ck_assert_ptr_nonnull(insert(t, &k[i], 1000, false));
	ck_assert_uint_eq(flow_age(t, 1010, UINT32_MAX), 0);
	flow_table_set_timeouts(t, &shorter);
	ck_assert_uint_eq(flow_age(t, 1001, UINT32_MAX), 0);
	ck_assert_uint_eq(flow_age(t, 1010, UINT32_MAX), 9);
	ck_assert_uint_eq(flow_table_count(t), 0);
	free(mem);
}
END_TEST

/* The largest table the appliance configures: 4M entries in 256 MiB + header. */
START_TEST(test_table_4m)
{
	enum { N = 4194304 };
	uint32_t n = N / 10 * 9, i;
	size_t hdr = flow_table_memsize(4) - 4 * FLOW_SLOT_SIZE;
	struct flow_key k;
	struct flow_entry *e;
	struct flow_table *t;
	void *mem;

	ck_assert_uint_eq(flow_table_memsize(N), hdr + (size_t)256 * 1024 * 1024);
	ck_assert_uint_eq(flow_table_memsize(N - 1), flow_table_memsize(N));
	ck_assert_uint_eq(flow_table_memsize(N + 1), hdr + (size_t)512 * 1024 * 1024);
	rng_state = 25;
	t = new_table(N, &mem);
	ck_assert_uint_eq(flow_table_capacity(t), N);
	for (i = 0; i < n; i++) {
		rand_key(&k, i & 1);
		e = insert(t, &k, 1, false);
		if (e == NULL)
			break;
		e->backend = i;
	}
	ck_assert_uint_eq(i, n);
	ck_assert_uint_eq(flow_table_count(t), n);
	ck_assert_uint_eq(flow_table_stats(t)->evictions, 0);
	/* The same keys again, from the same seed. */
	rng_state = 25;
	for (i = 0; i < n; i++) {
		rand_key(&k, i & 1);
		e = lookup(t, &k, 2);
		if (e == NULL || e->backend != i)
			break;
	}
	ck_assert_uint_eq(i, n);
	/* The last buckets are reachable: aging walks all of them. */
	ck_assert_uint_eq(flow_age(t, 1000, UINT32_MAX), n);
	ck_assert_uint_eq(flow_table_count(t), 0);
	free(mem);
}
END_TEST

/*
 * ns per lookup on a table four times bigger than this machine's last-level
 * cache is likely to be, one by one against FLOW_BULK_MAX-key bursts. Printed
 * for the record, never asserted: it measures the machine as much as the code.
 */
START_TEST(test_lookup_speed)
{
	enum { N = 1 << 20, BURST = 32 };
	uint32_t n = N / 10 * 8, i, j, found, *hashes;
	const struct flow_key **kp;
	struct flow_entry *out[FLOW_BULK_MAX];
	struct flow_key *keys, tmp;
	struct flow_table *t;
	double ns_single, ns_bulk32, ns_bulk64, ns_miss1, ns_miss64;
	void *mem;

	rng_state = 26;
	t = new_table(N, &mem);
	keys = malloc(sizeof(*keys) * n * 2);
	hashes = malloc(sizeof(*hashes) * n * 2);
	kp = malloc(sizeof(*kp) * n * 2);
	ck_assert_ptr_nonnull(keys);
	ck_assert_ptr_nonnull(hashes);
	ck_assert_ptr_nonnull(kp);
	for (i = 0; i < n * 2; i++)
		rand_key(&keys[i], i & 1);
	for (i = 0; i < n; i++)
		ck_assert_ptr_nonnull(insert(t, &keys[i], 1, false));
	/* Look up in another order than inserted; the key array is read in order. */
	for (i = n - 1; i > 0; i--) {
		j = (uint32_t)(rng() % (i + 1));
		tmp = keys[i];
		keys[i] = keys[j];
		keys[j] = tmp;
	}
	for (i = 0; i < n * 2; i++) {
		hashes[i] = flow_hash(&keys[i]);
		kp[i] = &keys[i];
	}

	found = 0;
	ns_single = now_ns();
	for (i = 0; i < n; i++)
		found += flow_lookup(t, kp[i], hashes[i], 2) != NULL;
	ns_single = (now_ns() - ns_single) / n;
	ck_assert_uint_eq(found, n);

	found = 0;
	ns_bulk32 = now_ns();
	for (i = 0; i + BURST <= n; i += BURST) {
		flow_lookup_bulk(t, kp + i, hashes + i, BURST, 2, out);
		for (j = 0; j < BURST; j++)
			found += out[j] != NULL;
	}
	ns_bulk32 = (now_ns() - ns_bulk32) / i;
	ck_assert_uint_eq(found, i);

	found = 0;
	ns_bulk64 = now_ns();
	for (i = 0; i + FLOW_BULK_MAX <= n; i += FLOW_BULK_MAX) {
		flow_lookup_bulk(t, kp + i, hashes + i, FLOW_BULK_MAX, 2, out);
		for (j = 0; j < FLOW_BULK_MAX; j++)
			found += out[j] != NULL;
	}
	ns_bulk64 = (now_ns() - ns_bulk64) / i;
	ck_assert_uint_eq(found, i);

	/* Misses read both buckets whole. */
	found = 0;
	ns_miss1 = now_ns();
	for (i = n; i < 2 * n; i++)
		found += flow_lookup(t, kp[i], hashes[i], 2) != NULL;
	ns_miss1 = (now_ns() - ns_miss1) / n;
	ck_assert_uint_eq(found, 0);
	ns_miss64 = now_ns();
	for (i = n; i + FLOW_BULK_MAX <= 2 * n; i += FLOW_BULK_MAX) {
		flow_lookup_bulk(t, kp + i, hashes + i, FLOW_BULK_MAX, 2, out);
		for (j = 0; j < FLOW_BULK_MAX; j++)
			found += out[j] != NULL;
	}
	ns_miss64 = (now_ns() - ns_miss64) / (i - n);
	ck_assert_uint_eq(found, 0);

	printf("lookup, %u-entry table (%zu MiB) %u%% full, random keys: hits %.1f ns single, "
	       "%.1f ns bulk %u, %.1f ns bulk %u; misses %.1f ns single, %.1f ns bulk %u\n",
	       N, flow_table_memsize(N) >> 20, 80, ns_single, ns_bulk32, BURST, ns_bulk64,
	       FLOW_BULK_MAX, ns_miss1, ns_miss64, FLOW_BULK_MAX);
	free(kp);
	free(hashes);
	free(keys);
	free(mem);
}
END_TEST

static Suite *
flow_suite(void)
{
	Suite *s = suite_create("flow");
	TCase *tc;

	tc = tcase_create("hash");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hash_fixed);
	tcase_add_test(tc, test_hash_addr);
	tcase_add_test(tc, test_hash_spread);
	tcase_add_test(tc, test_hash_avalanche);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_entry_layout);
	tcase_add_test(tc, test_memsize_init);
	tcase_add_test(tc, test_insert_lookup_delete);
	tcase_add_test(tc, test_hash_zero);
	tcase_add_test(tc, test_fill_90);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_walk);
	suite_add_tcase(s, tc);

	tc = tcase_create("aging");
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_expired_slot_reused);
	tcase_add_test(tc, test_age_incremental);
	suite_add_tcase(s, tc);

	tc = tcase_create("eviction");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_syn_flood_spares_established);
	tcase_add_test(tc, test_syn_flood_evicts_oldest_syn);
	suite_add_tcase(s, tc);

	tc = tcase_create("release");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_release_paths);
	tcase_add_test(tc, test_release_not_on_moves);
	tcase_add_test(tc, test_release_exactly_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("bulk");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bulk_equals_single);
	tcase_add_test(tc, test_signature_collision);
	tcase_add_test(tc, test_lookup_or_insert);
	tcase_add_test(tc, test_set_timeouts);
	tcase_add_test(tc, test_table_4m);
	tcase_add_test(tc, test_lookup_speed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flow_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
