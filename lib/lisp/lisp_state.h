/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/lisp: fast recovery. Every registration's routing information in one
 * self-checking snapshot, written crash-safely to the state file and, as the
 * same bytes, sent to the HA standby; loaded whole or not at all.
 */
#ifndef EQX_LISP_STATE_H
#define EQX_LISP_STATE_H

#include <stddef.h>
#include <stdint.h>

struct lisp_ms;

/*
 * Snapshot layout, all integers big-endian:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Magic "EQXLISPS" (8 bytes)                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Version = 1          |      Header Length = 64       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Record Count                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Body Length (bytes)                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |              Written At (wall clock s, 64 bits)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Reserved (0)                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Checksum: HMAC-SHA-256, key LISP_STATE_CHECKSUM_KEY, over    |
 * |                 bytes 0..31 and the body                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Record Count records (body)                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * A record: length (16 bits, of what follows), EID family (4/6), EID mask
 * length, EID (16 bytes), flags (0x01 P, 0x02 M, 0x04 xTR-ID present,
 * 0x08 A), ACT, map version (16), record TTL (32, minutes), expiry,
 * registered-at and refreshed-at (64 each, wall clock s), xTR-ID (16 bytes),
 * site-ID (64), last nonce (64), key ID, algorithm ID, ETR RLOC family
 * (4/6), ETR RLOC (16 bytes), ETR port (16), site name length and name
 * (at most 31 bytes), locator count, and per locator: family, address
 * (16 bytes), priority, weight, M priority, M weight, flags (L/p/R).
 *
 * The checksum is a plain integrity check against truncation and
 * corruption, not authentication: the HA link authenticates its own
 * messages, and the file is only as safe as its directory.
 */
#define LISP_STATE_VERSION 1
#define LISP_STATE_CHECKSUM_KEY "equinox lisp state v1"
#define LISP_STATE_HDR_LEN 64
#define LISP_STATE_MAX_BYTES (256u << 20)

/* Bytes lisp_state_encode needs for the current table. */
size_t lisp_state_size(const struct lisp_ms *ms);

/* The snapshot into buf; its length, or -ENOSPC. */
int lisp_state_encode(const struct lisp_ms *ms, uint64_t now, uint8_t *buf, size_t cap);

/* Apply a snapshot: drop every registration first (an HA standby mirroring its active). */
#define LISP_STATE_REPLACE 0x1

/*
 * Check a whole snapshot (magic, version, lengths, checksum, and every
 * record's framing and values) and only then install its records, each
 * marked restored (lisp_ms_install: those the current config no longer
 * allows or that expired are skipped and counted). Returns the number
 * installed, or -EBADMSG (truncated or corrupt: nothing changed),
 * -EPROTONOSUPPORT (another version: nothing changed), -ENOSPC (more records
 * than room: nothing changed), -ENOMEM (then the table is left empty, never
 * half-loaded).
 */
int lisp_state_decode(struct lisp_ms *ms, const uint8_t *buf, size_t len, uint64_t now,
		      unsigned int flags);

/*
 * Write the snapshot to path crash-safely: "<path>.tmp", fsync, rename over
 * path, fsync the directory. A crash at any point leaves the old file or the
 * new one. 0 or -errno.
 */
int lisp_state_save(const struct lisp_ms *ms, const char *path, uint64_t now);

/*
 * The same crash-safe write for a snapshot already encoded (len bytes at
 * buf), so that a caller can encode on its own thread and leave the
 * blocking write and fsyncs to another. 0 or -errno.
 */
int lisp_state_write(const char *path, const uint8_t *buf, size_t len);

/*
 * Read path and lisp_state_decode it (LISP_STATE_REPLACE). The number of
 * registrations restored, or -ENOENT (no file), -EBADMSG, ... as above.
 */
int lisp_state_load(struct lisp_ms *ms, const char *path, uint64_t now);

#endif /* EQX_LISP_STATE_H */
