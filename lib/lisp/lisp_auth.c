/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "auth/auth.h"
#include "lisp/lisp_auth.h"
#include "lisp/lisp_wire.h"

size_t
lisp_auth_len(uint8_t alg)
{
	switch (alg) {
	case LISP_ALG_HMAC_SHA1_96:
		return 12;
	case LISP_ALG_HMAC_SHA256_128:
		return 16;
	default:
		return 0;
	}
}

static int
lisp_auth_mac(const uint8_t *msg, size_t len, size_t auth_off, size_t auth_len, uint8_t alg,
	      const void *key, size_t key_len, uint8_t out[AUTH_DIGEST_MAX])
{
	static const uint8_t zero[LISP_AUTH_DATA_MAX];
	enum auth_alg a = alg == LISP_ALG_HMAC_SHA1_96 ? AUTH_HMAC_SHA1 : AUTH_HMAC_SHA256;
	const void *ptr[3];
	size_t l[3];

	if (lisp_auth_len(alg) == 0 || auth_len != lisp_auth_len(alg) || auth_off > len ||
	    len - auth_off < auth_len)
		return -EINVAL;
	ptr[0] = msg;
	l[0] = auth_off;
	ptr[1] = zero;
	l[1] = auth_len;
	ptr[2] = msg + auth_off + auth_len;
	l[2] = len - auth_off - auth_len;
	return auth_hmac(a, key, key_len, ptr, l, 3, out) > 0 ? 0 : -EINVAL;
}

int
lisp_auth_sign(uint8_t *msg, size_t len, size_t auth_off, size_t auth_len, uint8_t alg,
	       const void *key, size_t key_len)
{
	uint8_t d[AUTH_DIGEST_MAX];
	int rc;

	rc = lisp_auth_mac(msg, len, auth_off, auth_len, alg, key, key_len, d);
	if (rc != 0)
		return rc;
	memcpy(msg + auth_off, d, auth_len);
	return 0;
}

bool
lisp_auth_verify(const uint8_t *msg, size_t len, size_t auth_off, size_t auth_len, uint8_t alg,
		 const void *key, size_t key_len)
{
	uint8_t d[AUTH_DIGEST_MAX];

	if (lisp_auth_mac(msg, len, auth_off, auth_len, alg, key, key_len, d) != 0)
		return false;
	/* The full truncated length, in constant time. */
	return auth_equal(d, msg + auth_off, auth_len);
}
