/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "auth/auth.h"

size_t
auth_digest_len(enum auth_alg alg)
{
	return alg == AUTH_HMAC_SHA1 ? 20 : alg == AUTH_HMAC_SHA256 ? 32 : 0;
}

static const char *
auth_md_name(enum auth_alg alg)
{
	return alg == AUTH_HMAC_SHA1 ? "SHA1" : alg == AUTH_HMAC_SHA256 ? "SHA256" : NULL;
}

/* Fetching the algorithm is the costly part of an HMAC: done once per process. */
static EVP_MAC *
auth_mac(void)
{
	static EVP_MAC *mac;

	if (mac == NULL)
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	return mac;
}

int
auth_hmac(enum auth_alg alg, const void *key, size_t key_len, const void *const ptr[],
	  const size_t len[], unsigned int n, uint8_t *out)
{
	const char *md = auth_md_name(alg);
	EVP_MAC *mac = auth_mac();
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	size_t out_len = 0;
	unsigned int i;
	int rc = -EINVAL;

	if (md == NULL)
		return -EINVAL;
	if (mac == NULL)
		return -ENOSYS;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)(uintptr_t)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* An empty key is valid HMAC; OpenSSL wants a non-NULL pointer for it. */
	if (EVP_MAC_init(ctx, key_len != 0 ? key : (const void *)"", key_len, params) != 1)
		goto out;
	for (i = 0; i < n; i++)
		if (len[i] != 0 && EVP_MAC_update(ctx, ptr[i], len[i]) != 1)
			goto out;
	if (EVP_MAC_final(ctx, out, &out_len, AUTH_DIGEST_MAX) != 1)
		goto out;
	rc = (int)out_len;
out:
	EVP_MAC_CTX_free(ctx);
	return rc;
}

int
auth_hmac1(enum auth_alg alg, const void *key, size_t key_len, const void *data, size_t len,
	   uint8_t *out)
{
	const void *ptr[1] = { data };
	size_t l[1] = { len };

	return auth_hmac(alg, key, key_len, ptr, l, 1, out);
}

bool
auth_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

bool
auth_verify(enum auth_alg alg, const void *key, size_t key_len, const void *data, size_t len,
	    const uint8_t *mac, size_t mac_len)
{
	uint8_t d[AUTH_DIGEST_MAX];
	int n = auth_hmac1(alg, key, key_len, data, len, d);
	bool ok;

	if (n <= 0 || mac_len == 0 || mac_len > (size_t)n)
		return false;
	ok = auth_equal(d, mac, mac_len);
	OPENSSL_cleanse(d, sizeof(d));
	return ok;
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
auth_hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex), i;

	if (n % 2 != 0 || n / 2 > max)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		int hi = hex_val(hex[2 * i]), lo = hex_val(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

void
auth_replay_init(struct auth_replay *r)
{
	memset(r, 0, sizeof(*r));
}

static inline bool
bit_get(const struct auth_replay *r, uint64_t off)
{
	return (r->bits[off / 64] >> (off % 64)) & 1;
}

static inline void
bit_set(struct auth_replay *r, uint64_t off)
{
	r->bits[off / 64] |= 1ULL << (off % 64);
}

/* Every recorded offset grows by shift (< AUTH_REPLAY_WINDOW); those past the end fall out. */
static void
window_shift(struct auth_replay *r, uint64_t shift)
{
	const int words = AUTH_REPLAY_WINDOW / 64;
	const int ws = (int)(shift / 64), bs = (int)(shift % 64);
	int k;

	for (k = words - 1; k >= 0; k--) {
		uint64_t v = 0;

		if (k >= ws) {
			v = r->bits[k - ws] << bs;
			if (bs != 0 && k >= ws + 1)
				v |= r->bits[k - ws - 1] >> (64 - bs);
		}
		r->bits[k] = v;
	}
}

bool
auth_replay_check(struct auth_replay *r, uint64_t seq)
{
	if (seq == 0)
		return false;
	if (seq > r->top) {
		if (r->top == 0 || seq - r->top >= AUTH_REPLAY_WINDOW)
			memset(r->bits, 0, sizeof(r->bits));
		else
			window_shift(r, seq - r->top);
		r->top = seq;
		bit_set(r, 0);
		return true;
	}
	if (r->top - seq >= AUTH_REPLAY_WINDOW || bit_get(r, r->top - seq))
		return false;
	bit_set(r, r->top - seq);
	return true;
}

void
auth_epoch_init(struct auth_epoch *e)
{
	memset(e, 0, sizeof(*e));
	auth_replay_init(&e->replay);
}

static bool
epoch_retired(const struct auth_epoch *e, uint64_t epoch)
{
	unsigned int i;

	for (i = 0; i < e->n_retired && i < AUTH_RETIRED_EPOCHS; i++)
		if (e->retired[i] == epoch)
			return true;
	return false;
}

int
auth_epoch_check(struct auth_epoch *e, uint64_t epoch, uint64_t seq, bool restart, bool *new_epoch)
{
	*new_epoch = false;
	if (epoch == 0 || seq == 0)
		return AUTH_EPOCH_ZERO;
	if (epoch != e->epoch || restart) {
		if (epoch_retired(e, epoch))
			return AUTH_EPOCH_STALE;
		if (e->epoch != 0)
			e->retired[e->n_retired++ % AUTH_RETIRED_EPOCHS] = e->epoch;
		e->epoch = epoch;
		auth_replay_init(&e->replay);
		*new_epoch = true;
	}
	return auth_replay_check(&e->replay, seq) ? AUTH_EPOCH_OK : AUTH_EPOCH_REPLAYED;
}
