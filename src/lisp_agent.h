/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The LISP map-server's registrations as one blob, for the HA agent: the
 * active sends eqx_lisp_snapshot() whenever eqx_lisp_generation() moved; the
 * standby loads it with eqx_lisp_restore() and, at takeover, tells the ETRs.
 */
#ifndef EQX_LISP_AGENT_H
#define EQX_LISP_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "eqx.h"

/* Changes whenever the registration table does; 0 while LISP is not running. */
uint64_t eqx_lisp_generation(void);

/*
 * Every registration as a lisp_state snapshot (lib/lisp/lisp_state.h: the
 * state file's bytes, self-checking), in a buffer the caller frees. Its
 * length, or -ENOTCONN (LISP not running), -ENOMEM.
 */
int eqx_lisp_snapshot(uint8_t **buf, size_t *len);

/* eqx_lisp_restore: tell each ETR at once (a takeover), not later. */
#define EQX_LISP_RESTORE_NOTIFY 0x1

/*
 * Replace the registration table with a snapshot's registrations, each marked
 * restored (answered from at once, expiring at its stored expiry unless its
 * ETR registers again). With EQX_LISP_RESTORE_NOTIFY, every known ETR is sent
 * an authenticated Map-Notify with its records. The number installed, or
 * -ENOTCONN, -EBADMSG (torn or corrupt: the table is unchanged), ... as
 * lisp_state_decode.
 */
int eqx_lisp_restore(struct eqx_app *app, const uint8_t *buf, size_t len, unsigned int flags);

/* The Map-Notifies of EQX_LISP_RESTORE_NOTIFY alone, for a standby that mirrored silently. */
unsigned int eqx_lisp_notify_restored(struct eqx_app *app);

#endif /* EQX_LISP_AGENT_H */
