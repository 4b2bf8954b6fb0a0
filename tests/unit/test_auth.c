/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/auth: HMAC test vectors (RFC 2202, RFC 4231), truncated verify, replay window. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "auth/auth.h"

static void
unhex(const char *h, uint8_t *out)
{
	ck_assert_int_ge(auth_hex_decode(h, out, 256), 0);
}

START_TEST(hmac_sha1_rfc2202)
{
	uint8_t key[20], d[AUTH_DIGEST_MAX], want[20];

	/* RFC 2202 test case 1 */
	memset(key, 0x0b, sizeof(key));
	ck_assert_int_eq(auth_hmac1(AUTH_HMAC_SHA1, key, 20, "Hi There", 8, d), 20);
	unhex("b617318655057264e28bc0b6fb378c8ef146be00", want);
	ck_assert_mem_eq(d, want, 20);
	/* test case 2: a short key */
	ck_assert_int_eq(
		auth_hmac1(AUTH_HMAC_SHA1, "Jefe", 4, "what do ya want for nothing?", 28, d), 20);
	unhex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", want);
	ck_assert_mem_eq(d, want, 20);
}
END_TEST

START_TEST(hmac_sha256_rfc4231)
{
	uint8_t key[131], d[AUTH_DIGEST_MAX], want[32];
	static const char big[] = "Test Using Larger Than Block-Size Key - Hash Key First";

	memset(key, 0x0b, 20);
	ck_assert_int_eq(auth_hmac1(AUTH_HMAC_SHA256, key, 20, "Hi There", 8, d), 32);
	unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want);
	ck_assert_mem_eq(d, want, 32);
	/* test case 6: a key longer than the block */
	memset(key, 0xaa, sizeof(key));
	ck_assert_int_eq(auth_hmac1(AUTH_HMAC_SHA256, key, 131, big, strlen(big), d), 32);
	unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", want);
	ck_assert_mem_eq(d, want, 32);
}
END_TEST

START_TEST(hmac_over_pieces_equals_whole)
{
	const void *ptr[3] = { "what do ", "ya want ", "for nothing?" };
	size_t len[3] = { 8, 8, 12 };
	uint8_t a[AUTH_DIGEST_MAX], b[AUTH_DIGEST_MAX];

	ck_assert_int_eq(auth_hmac(AUTH_HMAC_SHA256, "Jefe", 4, ptr, len, 3, a), 32);
	ck_assert_int_eq(
		auth_hmac1(AUTH_HMAC_SHA256, "Jefe", 4, "what do ya want for nothing?", 28, b), 32);
	ck_assert_mem_eq(a, b, 32);
}
END_TEST

START_TEST(verify_truncated_and_wrong)
{
	uint8_t key[20], mac[20];

	memset(key, 0x0b, sizeof(key));
	unhex("b617318655057264e28bc0b6fb378c8ef146be00", mac);
	/* HMAC-SHA-1-96: the first 12 bytes. */
	ck_assert(auth_verify(AUTH_HMAC_SHA1, key, 20, "Hi There", 8, mac, 12));
	ck_assert(auth_verify(AUTH_HMAC_SHA1, key, 20, "Hi There", 8, mac, 20));
	ck_assert(!auth_verify(AUTH_HMAC_SHA1, key, 20, "Hi There", 8, mac, 0));
	ck_assert(!auth_verify(AUTH_HMAC_SHA1, key, 20, "Hi There", 8, mac, 21));
	mac[11] ^= 1;
	ck_assert(!auth_verify(AUTH_HMAC_SHA1, key, 20, "Hi There", 8, mac, 12));
	mac[11] ^= 1;
	ck_assert(!auth_verify(AUTH_HMAC_SHA1, key, 19, "Hi There", 8, mac, 12));
	ck_assert(!auth_verify(AUTH_HMAC_SHA1, key, 20, "Hi there", 8, mac, 12));
}
END_TEST

START_TEST(hex_decode)
{
	uint8_t out[4];

	ck_assert_int_eq(auth_hex_decode("00aBfF10", out, 4), 4);
	ck_assert_uint_eq(out[1], 0xab);
	ck_assert_int_eq(auth_hex_decode("abc", out, 4), -EINVAL);
	ck_assert_int_eq(auth_hex_decode("zz", out, 4), -EINVAL);
	ck_assert_int_eq(auth_hex_decode("0011223344", out, 4), -EINVAL);
	ck_assert_int_eq(auth_hex_decode("", out, 4), 0);
}
END_TEST

START_TEST(replay_window)
{
	struct auth_replay r;

	auth_replay_init(&r);
	ck_assert(!auth_replay_check(&r, 0));
	ck_assert(auth_replay_check(&r, 5));
	ck_assert(!auth_replay_check(&r, 5));
	ck_assert(auth_replay_check(&r, 3)); /* late but fresh */
	ck_assert(!auth_replay_check(&r, 3));
	ck_assert(auth_replay_check(&r, 100));
	ck_assert(auth_replay_check(&r, 4));
	ck_assert(!auth_replay_check(&r, 5));
	/* Slides by whole words and by odd amounts keep what was seen. */
	ck_assert(auth_replay_check(&r, 100 + 64));
	ck_assert(!auth_replay_check(&r, 100));
	ck_assert(auth_replay_check(&r, 100 + 64 + 7));
	ck_assert(!auth_replay_check(&r, 164));
	ck_assert(!auth_replay_check(&r, 100));
	ck_assert(auth_replay_check(&r, 101));
	/* Older than the window: refused even if never seen. */
	ck_assert(auth_replay_check(&r, 10000));
	ck_assert(!auth_replay_check(&r, 10000 - AUTH_REPLAY_WINDOW));
	ck_assert(auth_replay_check(&r, 10000 - AUTH_REPLAY_WINDOW + 1));
}
END_TEST

/* Against a model: a set of every number seen, over a random walk. */
START_TEST(replay_window_model)
{
	static uint8_t seen[1 << 16];
	struct auth_replay r;
	uint64_t top = 0;
	unsigned int i;

	memset(seen, 0, sizeof(seen));
	auth_replay_init(&r);
	srand(7);
	for (i = 0; i < 200000; i++) {
		uint64_t s = (uint64_t)(rand() % 60000) + 1;
		bool want = !seen[s] && (top == 0 || s > top || top - s < AUTH_REPLAY_WINDOW);

		ck_assert_msg(auth_replay_check(&r, s) == want, "step %u seq %lu top %lu", i,
			      (unsigned long)s, (unsigned long)top);
		if (want) {
			seen[s] = 1;
			if (s > top)
				top = s;
		}
	}
}
END_TEST

/* A peer's epochs: a restart resets the window, a retired epoch never comes back. */
START_TEST(epoch_restart_and_retired)
{
	struct auth_epoch e;
	bool ne;
	unsigned int i;

	auth_epoch_init(&e);
	ck_assert_int_eq(auth_epoch_check(&e, 0, 1, false, &ne), AUTH_EPOCH_ZERO);
	ck_assert_int_eq(auth_epoch_check(&e, 7, 0, false, &ne), AUTH_EPOCH_ZERO);
	ck_assert_uint_eq(e.epoch, 0);
	ck_assert_int_eq(auth_epoch_check(&e, 7, 1, false, &ne), AUTH_EPOCH_OK);
	ck_assert(ne && e.epoch == 7);
	ck_assert_int_eq(auth_epoch_check(&e, 7, 2, false, &ne), AUTH_EPOCH_OK);
	ck_assert(!ne);
	ck_assert_int_eq(auth_epoch_check(&e, 7, 2, false, &ne), AUTH_EPOCH_REPLAYED);
	/* A restart: numbers start over, 7 is retired. */
	ck_assert_int_eq(auth_epoch_check(&e, 9, 1, false, &ne), AUTH_EPOCH_OK);
	ck_assert(ne && e.epoch == 9);
	ck_assert_int_eq(auth_epoch_check(&e, 7, 3, false, &ne), AUTH_EPOCH_STALE);
	ck_assert(!ne && e.epoch == 9);
	/* Forced (another sender): the same number starts over too. */
	ck_assert_int_eq(auth_epoch_check(&e, 9, 5, false, &ne), AUTH_EPOCH_OK);
	ck_assert_int_eq(auth_epoch_check(&e, 9, 1, true, &ne), AUTH_EPOCH_OK);
	ck_assert(ne && e.epoch == 9);
	/* Only the last AUTH_RETIRED_EPOCHS are remembered. */
	for (i = 0; i < AUTH_RETIRED_EPOCHS + 1; i++)
		ck_assert_int_eq(auth_epoch_check(&e, 100 + i, 1, false, &ne), AUTH_EPOCH_OK);
	ck_assert_int_eq(auth_epoch_check(&e, 9, 1, false, &ne), AUTH_EPOCH_OK);
	ck_assert_int_eq(auth_epoch_check(&e, 100 + AUTH_RETIRED_EPOCHS, 2, false, &ne),
			 AUTH_EPOCH_STALE);
}
END_TEST

int
main(void)
{

	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, hmac_sha1_rfc2202);
	tcase_add_test(tc, hmac_sha256_rfc4231);
	tcase_add_test(tc, hmac_over_pieces_equals_whole);
	tcase_add_test(tc, verify_truncated_and_wrong);
	tcase_add_test(tc, hex_decode);
	tcase_add_test(tc, replay_window);
	tcase_add_test(tc, replay_window_model);
	tcase_add_test(tc, epoch_restart_and_retired);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
