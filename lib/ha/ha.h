/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ha: one box of an active/standby pair, as the control lcore drives it:
 * datagrams in, datagrams and actions out, the time passed in. It joins the
 * role state machine (ha_fsm.h), the sync stream (ha_sync.h) and the wire (ha_wire.h).
 */
#ifndef EQX_HA_H
#define EQX_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ha/ha_fsm.h"
#include "ha/ha_sync.h"
#include "ha/ha_wire.h"

/*
 * How the caller drives it (no threads, no I/O here; now is a monotonic ns
 * clock, the same in every call):
 *
 *   n = ha_node_create(&conf, now, &acts);           apply acts
 *   loop:
 *     for each HA datagram received:   ha_node_rx(n, now, buf, len, &acts)
 *     for each flow created / ended:   ha_node_push(n, &rec)   (only while serving)
 *     link of the HA port changed:     ha_node_link(n, now, up, &acts)
 *     when now >= ha_node_next_deadline(n): ha_node_tick(n, now, &acts)
 *     apply acts, in order (see ha_fsm.h): install_state -> install, then
 *       ha_node_install_done; announce; serve; stop_serving; forward_to_peer_on/off;
 *       start_bulk_sync -> id = ha_node_bulk_begin, then ha_node_bulk_add
 *       until -EAGAIN (go on next round), ha_node_bulk_end;
 *       send_heartbeat / send_handoff need nothing: ha_node_tx sends them.
 *     while ((len = ha_node_tx(n, now, buf, sizeof(buf))) > 0): send buf to the peer
 * with acts.n = 0 before each call that fills it.
 *
 * Records of the peer arrive through the deliver callback, in order. A
 * standby that installs them in its workers' tables as they come can report
 * install_done at once: a takeover then costs no install time.
 */
struct ha_node_conf {
	struct ha_fsm_conf fsm;
	struct ha_sync_conf sync;
	uint8_t key[HA_WIRE_KEY_LEN]; /* cfg ha.key */
	uint64_t epoch;               /* random and not 0, new at every process start */
};

/* Every default; the caller sets key, epoch and the fsm's id, priority, ... from cfg. */
void ha_node_conf_defaults(struct ha_node_conf *c);

struct ha_node_stats {
	uint64_t rx[8]; /* accepted datagrams by type (enum ha_msg_type) */
	uint64_t tx[8]; /* datagrams sent by type */
	uint64_t handoff_not_for_us;
};

struct ha_node;

/* NULL and errno (EINVAL, ENOMEM) on failure; the first actions go to out. */
struct ha_node *ha_node_create(const struct ha_node_conf *c, uint64_t now, struct ha_actions *out);
void ha_node_free(struct ha_node *n);
void ha_node_set_deliver(struct ha_node *n, ha_sync_deliver_fn fn, void *arg);

/*
 * A datagram from the HA port (the UDP payload). HA_WIRE_OK, or the enum
 * ha_wire_err it was dropped for (counted in ha_node_wire_rx(n)->drops).
 */
int ha_node_rx(struct ha_node *n, uint64_t now, const uint8_t *buf, size_t len,
	       struct ha_actions *out);

/*
 * The next datagram to send to the peer, in buf: its length, or 0 for none
 * now. Heartbeats always; the sync stream only while the peer is alive.
 */
int ha_node_tx(struct ha_node *n, uint64_t now, uint8_t *buf, size_t cap);

void ha_node_tick(struct ha_node *n, uint64_t now, struct ha_actions *out);
void ha_node_link(struct ha_node *n, uint64_t now, bool up, struct ha_actions *out);
void ha_node_install_done(struct ha_node *n, uint64_t now, struct ha_actions *out);
/* Planned switchover (equinoxctl ha switchover): 0 or -errno as ha_fsm_input says. */
int ha_node_switchover(struct ha_node *n, uint64_t now, struct ha_actions *out);
/* Going away: FAULT for good, a priority-0 heartbeat (send it before exiting). */
void ha_node_shutdown(struct ha_node *n, uint64_t now, struct ha_actions *out);

/* The sync stream, as in ha_sync.h. */
int ha_node_push(struct ha_node *n, const struct ha_rec *r);
int ha_node_bulk_begin(struct ha_node *n, uint64_t expected);
int ha_node_bulk_add(struct ha_node *n, uint32_t id, const struct ha_rec *r);
int ha_node_bulk_end(struct ha_node *n, uint32_t id);

/* When to tick next (and drain ha_node_tx). */
uint64_t ha_node_next_deadline(const struct ha_node *n);

/* For telemetry: read only. */
const struct ha_fsm *ha_node_fsm(const struct ha_node *n);
struct ha_sync *ha_node_sync(const struct ha_node *n);
const struct ha_wire_rx *ha_node_wire_rx(const struct ha_node *n);
const struct ha_node_stats *ha_node_stats(const struct ha_node *n);

#endif /* EQX_HA_H */
