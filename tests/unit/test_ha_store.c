/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ha's store: put, find, set and delete against a plain array model
 * under a random mix; the digest depends on the contents only (two stores
 * filled in different orders agree, and differ after one change); the
 * cursor sees every entry once; mark and sweep removes exactly what was not
 * refreshed; capacity is a hard bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "ha/ha_store.h"

static struct flow_key
key_of(uint32_t i)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = 4;
	k.proto = 6;
	k.sport = (uint16_t)(1024 + (i >> 24));
	k.dport = 80;
	k.src[0] = 10;
	k.src[1] = (uint8_t)(i >> 16);
	k.src[2] = (uint8_t)(i >> 8);
	k.src[3] = (uint8_t)i;
	k.dst[0] = 192;
	k.dst[3] = 100;
	return k;
}

START_TEST(store_model)
{
	enum { N = 5000, OPS = 200000 };
	struct ha_store *s = ha_store_create(N);
	static uint64_t model[N]; /* 0: absent, else backend + 1 */
	uint32_t i, n = 0, cur = 0, seen = 0;
	struct ha_store_ent *e;
	bool created;

	ck_assert_ptr_nonnull(s);
	memset(model, 0, sizeof(model));
	srandom(7);
	for (i = 0; i < OPS; i++) {
		uint32_t k = (uint32_t)random() % N;
		struct flow_key key = key_of(k);

		switch (random() % 3) {
		case 0:
		case 1:
			e = ha_store_put(s, HA_STORE_FLOW, &key, &created);
			ck_assert_ptr_nonnull(e);
			ck_assert(created == (model[k] == 0));
			if (created)
				n++;
			ha_store_set(s, e, 1, k * 3 + i, 1);
			model[k] = k * 3 + i + 1;
			break;
		default:
			e = ha_store_find(s, HA_STORE_FLOW, &key);
			ck_assert(e == NULL ? model[k] == 0 : model[k] == e->backend + 1);
			if (e != NULL) {
				ha_store_del(s, e);
				model[k] = 0;
				n--;
			}
			break;
		}
	}
	ck_assert_uint_eq(ha_store_count(s, HA_STORE_FLOW), n);
	ck_assert_uint_eq(ha_store_count(s, 0), n);
	for (i = 0; i < N; i++) {
		struct flow_key key = key_of(i);

		e = ha_store_find(s, HA_STORE_FLOW, &key);
		ck_assert(model[i] == 0 ? e == NULL : e != NULL && e->backend + 1 == model[i]);
		/* Kinds are apart: the same key as a pin is another entry. */
		ck_assert_ptr_null(ha_store_find(s, HA_STORE_AFFINITY, &key));
	}
	while ((e = ha_store_next(s, &cur)) != NULL) {
		uint32_t k = ((uint32_t)e->key.src[1] << 16) | ((uint32_t)e->key.src[2] << 8) |
			     e->key.src[3];

		ck_assert_uint_ne(model[k], 0);
		seen++;
	}
	ck_assert_uint_eq(seen, n);
	ha_store_free(s);
}
END_TEST

static struct ha_store *
filled(uint32_t n, bool reverse)
{
	struct ha_store *s = ha_store_create(n);
	uint32_t i;
	bool created;

	for (i = 0; i < n; i++) {
		uint32_t k = reverse ? n - 1 - i : i;
		struct flow_key key = key_of(k);
		struct ha_store_ent *e = ha_store_put(s, HA_STORE_FLOW, &key, &created);

		/* A detour through other values on the way must not matter. */
		ha_store_set(s, e, 9, 12345, 2);
		ha_store_set(s, e, (uint16_t)(k & 0xff), k, (uint8_t)(k % 4));
	}
	return s;
}

START_TEST(store_digest)
{
	struct ha_store *a = filled(3000, false), *b = filled(3000, true);
	struct flow_key key = key_of(77);
	struct ha_store_ent *e;
	uint64_t d;
	bool created;

	ck_assert_uint_eq(ha_store_digest(a), ha_store_digest(b));
	ck_assert_uint_ne(ha_store_digest(a), 0);
	d = ha_store_digest(a);
	e = ha_store_find(a, HA_STORE_FLOW, &key);
	ha_store_set(a, e, e->vip, e->backend + 1, e->state);
	ck_assert_uint_ne(ha_store_digest(a), d);
	ha_store_set(a, e, e->vip, e->backend - 1, e->state);
	ck_assert_uint_eq(ha_store_digest(a), d);
	/* The state is covered too; the caller's holders and stamp are not. */
	e->holders = 3;
	e->stamp = 99;
	ck_assert_uint_eq(ha_store_digest(a), d);
	ha_store_set(a, e, e->vip, e->backend, (uint8_t)(e->state + 1));
	ck_assert_uint_ne(ha_store_digest(a), d);
	ha_store_del(a, e);
	e = ha_store_find(b, HA_STORE_FLOW, &key);
	ha_store_del(b, e);
	ck_assert_uint_eq(ha_store_digest(a), ha_store_digest(b));
	/* Emptied, the digest is 0 again. */
	ha_store_free(a);
	a = ha_store_create(10);
	e = ha_store_put(a, HA_STORE_AFFINITY, &key, &created);
	ha_store_set(a, e, 1, 2, 0);
	ha_store_del(a, e);
	ck_assert_uint_eq(ha_store_digest(a), 0);
	ha_store_free(a);
	ha_store_free(b);
}
END_TEST

static uint32_t swept_seen;

static void
on_sweep(void *arg, const struct ha_store_ent *e)
{
	ck_assert_ptr_eq(arg, &swept_seen);
	ck_assert_uint_eq(e->backend % 2, 1);
	swept_seen++;
}

START_TEST(store_mark_sweep_capacity)
{
	struct ha_store *s = filled(1000, false);
	struct ha_store_ent *e;
	struct flow_key key;
	uint32_t i, cur = 0;
	bool created;

	ck_assert_uint_eq(ha_store_mark(s, 1u << HA_STORE_FLOW), 1000);
	/* The "bulk" brings the even ones again: ha_store_set refreshes them. */
	for (i = 0; i < 1000; i += 2) {
		key = key_of(i);
		e = ha_store_find(s, HA_STORE_FLOW, &key);
		ha_store_set(s, e, e->vip, e->backend, e->state);
	}
	swept_seen = 0;
	ck_assert_uint_eq(ha_store_sweep(s, on_sweep, &swept_seen), 500);
	ck_assert_uint_eq(swept_seen, 500);
	ck_assert_uint_eq(ha_store_count(s, HA_STORE_FLOW), 500);
	while ((e = ha_store_next(s, &cur)) != NULL)
		ck_assert_uint_eq(e->backend % 2, 0);
	ck_assert_uint_eq(ha_store_stats(s)->swept, 500);

	/* Full: 1000 is the bound; freed slots are used again. */
	for (i = 1000; i < 1500; i++) {
		key = key_of(i);
		ck_assert_ptr_nonnull(ha_store_put(s, HA_STORE_FLOW, &key, &created));
	}
	key = key_of(5000);
	ck_assert_ptr_null(ha_store_put(s, HA_STORE_FLOW, &key, &created));
	ck_assert_uint_eq(ha_store_stats(s)->full, 1);
	/* A bad kind is refused, not stored. */
	key = key_of(1);
	ck_assert_ptr_null(ha_store_put(s, 0, &key, &created));
	ck_assert_ptr_null(ha_store_put(s, HA_STORE_KINDS, &key, &created));
	ha_store_free(s);

	ck_assert_ptr_null(ha_store_create(0));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ha_store");
	TCase *tc = tcase_create("store");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, store_model);
	tcase_add_test(tc, store_digest);
	tcase_add_test(tc, store_mark_sweep_capacity);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
