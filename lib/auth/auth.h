/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/auth: message authentication shared by the protocols that cross the
 * network (LISP, HA, cluster sync): keyed HMACs computed with OpenSSL, compared
 * in constant time, and a sliding window that rejects replayed sequence numbers.
 */
#ifndef EQX_AUTH_H
#define EQX_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum auth_alg {
	AUTH_HMAC_SHA1,   /* 20-byte digest */
	AUTH_HMAC_SHA256, /* 32-byte digest */
};

#define AUTH_DIGEST_MAX 32

/* Digest length of alg, before any truncation. */
size_t auth_digest_len(enum auth_alg alg);

/*
 * HMAC of the n byte ranges (ptr[i], len[i]) concatenated, written to out (at
 * least AUTH_DIGEST_MAX bytes). Returns the digest length or -EINVAL.
 */
int auth_hmac(enum auth_alg alg, const void *key, size_t key_len, const void *const ptr[],
	      const size_t len[], unsigned int n, uint8_t *out);

/* The same over one buffer. */
int auth_hmac1(enum auth_alg alg, const void *key, size_t key_len, const void *data, size_t len,
	       uint8_t *out);

/*
 * Check a (possibly truncated) MAC: the HMAC of data is computed and its first
 * mac_len bytes compared with mac in constant time. False on any mismatch or
 * when mac_len is 0 or longer than the digest.
 */
bool auth_verify(enum auth_alg alg, const void *key, size_t key_len, const void *data, size_t len,
		 const uint8_t *mac, size_t mac_len);

/* Constant-time equality of two buffers of the same length. */
bool auth_equal(const void *a, const void *b, size_t len);

/* Parse a hex string into at most max bytes; returns the byte count or -EINVAL. */
int auth_hex_decode(const char *hex, uint8_t *out, size_t max);

/*
 * Replay protection for 64-bit sequence numbers (RFC 4303 3.4.3's sliding
 * window): a number is accepted once, if it is newer than the newest seen or
 * within the last AUTH_REPLAY_WINDOW numbers and not seen yet. Check after the
 * MAC: only authenticated numbers may move the window.
 */
#define AUTH_REPLAY_WINDOW 1024

struct auth_replay {
	uint64_t top;                           /* newest accepted; 0 = none yet */
	uint64_t bits[AUTH_REPLAY_WINDOW / 64]; /* bit (top - seq) set = seen */
};

void auth_replay_init(struct auth_replay *r);

/* True (and records seq) when seq is fresh; false for a replay or one too old. seq 0 is invalid. */
bool auth_replay_check(struct auth_replay *r, uint64_t seq);

/*
 * A peer's numbering: datagrams carry (epoch, seq), the epoch a random
 * number per process start, seq from 1 within it. An authenticated datagram
 * of a new epoch means the peer restarted: the epoch becomes its own, the
 * replay window starts over, and the epoch it had is retired (a datagram of
 * a retired epoch is stale, never good again). The last AUTH_RETIRED_EPOCHS
 * are remembered. Check after the MAC, so that only authentic datagrams move
 * anything (ideally after the body parsed too: lib/cluster does that for
 * heartbeats only, lib/ha not at all; see their callers).
 */
#define AUTH_RETIRED_EPOCHS 8

struct auth_epoch {
	uint64_t epoch; /* the peer's current one; 0: never heard */
	uint64_t retired[AUTH_RETIRED_EPOCHS];
	unsigned int n_retired;
	struct auth_replay replay;
};

enum auth_epoch_verdict {
	AUTH_EPOCH_OK = 0,
	AUTH_EPOCH_ZERO,     /* epoch or seq 0: never sent */
	AUTH_EPOCH_STALE,    /* a retired epoch */
	AUTH_EPOCH_REPLAYED, /* seen, or older than the window */
};

void auth_epoch_init(struct auth_epoch *e);

/*
 * Take (epoch, seq); restart forces a new epoch even with the same number
 * (a datagram from another peer id). *new_epoch is set when this datagram
 * started one. Returns an enum auth_epoch_verdict.
 */
int auth_epoch_check(struct auth_epoch *e, uint64_t epoch, uint64_t seq, bool restart,
		     bool *new_epoch);

#endif /* EQX_AUTH_H */
