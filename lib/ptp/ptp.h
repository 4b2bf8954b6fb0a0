/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ptp: an IEEE 1588-2008 ordinary or boundary clock (several ports, one
 * clock) for the control lcore. No I/O, no threads, no allocation, no clock
 * reads: frames and timestamps go in, frames to send and notes come out.
 *
 * Time. Every time argument is a value of one free-running counter with
 * conf.hz ticks per second: the TSC for software timestamps (the kernel's
 * stamps of the frames converted to it, or RX stamped by the worker when it
 * pulls the burst and TX right before the burst is sent), or the NIC clock
 * read raw for hardware timestamps. The same counter
 * gives "now" for the timers. equinox's PTP time is a model over it
 * (ptp_clock.h): ptp_time() reads it; the servo moves it; nothing else does.
 *
 * The caller's loop (the control lcore):
 *   ptp_init(&p, &conf, now);
 *   for each PTP frame the workers pass up for port i, with its RX stamp:
 *       ptp_rx(&p, i, frame, len, rx_stamp, now);
 *   when now >= ptp_next_deadline(&p): ptp_tick(&p, now);
 *   after either, while (ptp_tx_pop(&p, &tx)): send tx.frame on port tx.port
 *       on the PTP TX path; when tx.event, stamp it right before the burst
 *       and give the stamp back: ptp_tx_stamp(&p, tx.port, tx.type, tx.seq, stamp)
 *       (a Sync's makes its Follow_Up, ready at the next ptp_tx_pop; a stamp
 *       read from a NIC later is fine, as long as it comes before the answer
 *       to that Delay_Req or the next Sync);
 *   while (ptp_note_pop(&p, &note)): log it (state changes, alarms, steps).
 * Telemetry reads struct ptp and struct ptp_port directly (read-only).
 * The time's scale is in tpds: with PTP_FLAG_PTP_TIMESCALE it is TAI (UTC =
 * PTP time - tpds.utc_offset s), without it the master's arbitrary one
 * (ptp4l with software timestamps serves CLOCK_REALTIME that way).
 */
#ifndef EQX_PTP_H
#define EQX_PTP_H

#include <stdbool.h>
#include <stdint.h>

#include "ptp/ptp_bmc.h"
#include "ptp/ptp_clock.h"
#include "ptp/ptp_port.h"
#include "ptp/ptp_servo.h"
#include "ptp/ptp_wire.h"

#define PTP_MAX_PORTS 16
#define PTP_TXQ_LEN 64
#define PTP_NOTES_LEN 64
#define PTP_ALARM_HOLD_DEFAULT_S 60

/*
 * Config. Mapping from struct cfg (config/README.md `ptp`):
 *   ptp.domain -> domain; ptp.priority1/2 -> priority1/2;
 *   ptp.transport -> ptp_port_config_init(pc, transport) for every port;
 *   ptp.servo.kp/ki/step_threshold_ns/first_step_threshold_ns -> servo.*;
 *   ptp.ports[i].role, log_sync_interval, log_announce_interval,
 *   delay_asymmetry_ns -> ports[i].*; path.vlan -> ports[i].path.vlan;
 *   path.mpls.tx_labels/rx_labels -> ports[i].path.tx_labels/rx_labels.
 * The caller adds what only it knows: ports[i].path.src_mac and src_ip
 * (the port's MAC and first IPv4 address), path.dst_mac for an MPLS path
 * (the next hop's MAC), identity (ptp_clock_id_from_mac of the first PTP
 * port's MAC), hz, and time_ns.
 */
struct ptp_config {
	struct ptp_clock_id identity;
	uint8_t domain;
	uint8_t priority1;
	uint8_t priority2;
	struct ptp_servo_config servo;
	uint64_t hz;           /* counter ticks per second */
	int64_t time_ns;       /* PTP time (TAI: CLOCK_REALTIME + UTC offset) at ptp_init's now */
	uint64_t seed;         /* for the Delay_Req intervals; 0 = from the identity */
	uint32_t alarm_hold_s; /* an alarm stays active this long after it was last seen */
	unsigned int n_ports;
	struct ptp_port_config ports[PTP_MAX_PORTS];
};

/* config/README.md's defaults, no port, hz 1e9; the caller fills the rest. */
void ptp_config_init(struct ptp_config *c);

/* A frame to send, in order. */
struct ptp_tx {
	uint16_t port;
	uint16_t len;
	uint8_t type; /* PTP_MSG_* */
	uint16_t seq;
	bool event; /* wants its TX stamp back through ptp_tx_stamp */
	uint8_t frame[PTP_FRAME_MAX];
};

/* What happened, for the log. */
#define foreach_ptp_note                      \
	_(PORT_STATE, "port_state")           \
	_(MASTER_SELECTED, "master_selected") \
	_(GRANDMASTER, "grandmaster")         \
	_(ALARM_RAISED, "alarm_raised")       \
	_(ALARM_CLEARED, "alarm_cleared")     \
	_(CLOCK_STEP, "clock_step")           \
	_(SERVO_STATE, "servo_state")         \
	_(HOLDOVER, "holdover")

enum ptp_note_kind {
#define _(sym, str) PTP_NOTE_##sym,
	foreach_ptp_note
#undef _
		PTP_NOTE_MAX,
};

/*
 * kind PORT_STATE: port, from, to (enum ptp_port_state), event (enum ptp_event);
 * MASTER_SELECTED: port (the slave port), id (the parent);
 * GRANDMASTER: this clock became its own grandmaster, no parent;
 * ALARM_RAISED / ALARM_CLEARED: port, alarm (enum ptp_alarm_kind), value;
 * CLOCK_STEP: value (ns stepped), port PTP_NOTE_PORT_REFERENCE when the
 *   reference servo stepped (ptp_reference_sample); SERVO_STATE: to (enum ptp_servo_state), value
 * (offset); HOLDOVER: value (the frequency kept, ppb).
 */
struct ptp_note {
	enum ptp_note_kind kind;
	uint16_t port;
	uint8_t from, to, event, alarm;
	int64_t value;
	struct ptp_port_id id;
};

#define PTP_NOTE_PORT_REFERENCE 0xffff

const char *ptp_note_name(enum ptp_note_kind k);

struct ptp {
	struct ptp_config conf;
	struct ptp_clock clock;
	struct ptp_servo servo;
	enum ptp_servo_state servo_state;
	uint64_t samples;           /* offsets the servo took from a master */
	struct ptp_servo ref_servo; /* steers a free grandmaster to the reference */
	bool ref_active;            /* following the reference now */
	int64_t ref_offset_ns;      /* our time - the reference's, last sample */
	uint64_t ref_samples;
	int8_t servo_log_interval; /* the Sync interval the servo is tuned for */
	double freq_ppb;           /* applied to clock */
	struct ptp_default_ds dds;
	struct ptp_current_ds cds;
	struct ptp_parent_ds pds;
	struct ptp_time_props_ds tpds;
	int slave_port;   /* the port in UNCALIBRATED/SLAVE, -1 when none */
	bool locked_once; /* the servo has locked since start */
	bool holdover;    /* lost the master after a lock: running on the kept frequency */
	uint64_t steps;   /* clock steps taken */
	int64_t last_step_ns;
	uint64_t tmo_decision; /* periodic state decision event (9.2.6.8) */
	bool decision_needed;
	unsigned int n_ports;
	struct ptp_port ports[PTP_MAX_PORTS];
	struct ptp_tx txq[PTP_TXQ_LEN];
	unsigned int txq_head, txq_n;
	uint64_t txq_dropped;
	struct ptp_note notes[PTP_NOTES_LEN];
	unsigned int notes_head, notes_n;
	uint64_t notes_dropped;
};

/*
 * Start the clock at now: every port INITIALIZING then LISTENING. Returns 0,
 * or -EINVAL for a config out of range (no port or more than PTP_MAX_PORTS,
 * hz 0, an interval outside -7..8, more than 4 labels, a label outside
 * 16..1048575, a VLAN above 4094, kp <= 0, ki < 0, negative thresholds).
 */
int ptp_init(struct ptp *p, const struct ptp_config *conf, uint64_t now);

/*
 * A frame received on port (0-based index into conf.ports) with its RX
 * stamp, processed at now (>= rx_stamp). Returns PTP_OK or the drop reason,
 * which is also counted in ports[port].drops (BAD_PORT is counted nowhere).
 */
int ptp_rx(struct ptp *p, unsigned int port, const uint8_t *frame, uint32_t len, uint64_t rx_stamp,
	   uint64_t now);

/*
 * The TX stamp of an event frame ptp_tx_pop returned (tx.event): a Sync
 * makes its Follow_Up, a Delay_Req gets its t3. A stamp that matches nothing
 * current is ignored. When an event frame could not be sent or stamped,
 * simply do not call this: the exchange is skipped.
 */
void ptp_tx_stamp(struct ptp *p, unsigned int port, uint8_t type, uint16_t seq, uint64_t tx_stamp);

/* Run what is due at now: timers, timeouts, state decisions, alarm expiry. */
void ptp_tick(struct ptp *p, uint64_t now);

/* The earliest counter value at which ptp_tick has something to do. */
uint64_t ptp_next_deadline(const struct ptp *p);

/* Take the next frame to send; false when there is none. */
bool ptp_tx_pop(struct ptp *p, struct ptp_tx *out);

/* Take the next note; false when there is none. */
bool ptp_note_pop(struct ptp *p, struct ptp_note *out);

/* A port's link went down (fault) or came back (9.2.6.6, 9.2.6.7). */
void ptp_port_fault(struct ptp *p, unsigned int port, bool fault, uint64_t now);

/* Designated enabled / disabled (9.2.6.4, 9.2.6.5). */
void ptp_port_enable(struct ptp *p, unsigned int port, bool enable, uint64_t now);

/*
 * The reference: a time read outside PTP (for equinox, the host's
 * CLOCK_REALTIME, read, never written) that a clock with no master follows,
 * as ptp4l with software timestamps serves the system clock. It is used
 * only while the clock is its own grandmaster, has never locked to a master
 * (a clock that lost its master keeps that master's time and frequency:
 * holdover) and some port is MASTER (someone is served; a lone slave keeps
 * its own time, errors included, until a master appears).
 */
bool ptp_follows_reference(const struct ptp *p);

/*
 * One reference sample: offset_ns = our PTP time - the reference's, both on
 * the PTP timescale (the caller adds the UTC offset to a UTC reference), at
 * counter value now. Its own PI servo (ptp.servo's kp and ki, its
 * first_step_threshold, then a step when beyond PTP_REF_STEP_NS: the
 * reference was set) moves the clock. interval_s: how often the caller
 * samples. Returns false, and does nothing, when the clock does not follow
 * the reference now.
 */
#define PTP_REF_STEP_NS 1000000
bool ptp_reference_sample(struct ptp *p, int64_t offset_ns, double interval_s, uint64_t now);

/* equinox's PTP time at counter value ts (ns since the PTP epoch); frac as ptp_clock_time. */
static inline int64_t
ptp_time(const struct ptp *p, uint64_t ts, double *frac)
{
	return ptp_clock_time(&p->clock, ts, frac);
}

#endif /* EQX_PTP_H */
