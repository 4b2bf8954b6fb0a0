/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/lisp: authentication of Map-Register, Map-Notify and Map-Notify-Ack
 * (RFC 9301 §5.6): an HMAC over the whole message with its Authentication
 * Data field zeroed, computed by lib/auth and compared in constant time.
 */
#ifndef EQX_LISP_AUTH_H
#define EQX_LISP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Algorithm IDs (RFC 9301 §12.5, "LISP Algorithm ID Numbers"). 3 derives a
 * per-message key with HKDF and is not supported; 0 (none) is never accepted.
 */
#define LISP_ALG_NONE 0
#define LISP_ALG_HMAC_SHA1_96 1
#define LISP_ALG_HMAC_SHA256_128 2
#define LISP_ALG_HMAC_SHA256_HKDF 3

/* Authentication Data length of alg: 12, 16, or 0 when alg is not supported. */
size_t lisp_auth_len(uint8_t alg);

/*
 * Sign msg (len bytes) in place: the auth_len bytes at auth_off are zeroed,
 * the HMAC of the whole message computed with key, and its first auth_len
 * bytes written there. -EINVAL for an unsupported alg, an auth_len other
 * than lisp_auth_len(alg), or a field outside the message.
 */
int lisp_auth_sign(uint8_t *msg, size_t len, size_t auth_off, size_t auth_len, uint8_t alg,
		   const void *key, size_t key_len);

/*
 * True when the auth_len bytes at auth_off in msg are the MAC of msg with
 * that field zeroed. msg is not modified (the zeroed field is fed to the
 * HMAC as a separate piece). False for an unsupported alg or an auth_len
 * that is not the algorithm's full truncated length.
 */
bool lisp_auth_verify(const uint8_t *msg, size_t len, size_t auth_off, size_t auth_len, uint8_t alg,
		      const void *key, size_t key_len);

#endif /* EQX_LISP_AUTH_H */
