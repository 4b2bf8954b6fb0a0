/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ptp port: the PTP port state machine of IEEE 1588-2008 9.2.5 (one
 * handler per state), a port's data (portDS, foreign masters, timers,
 * sequence ids, the E2E delay measurement) and its alarms.
 */
#ifndef EQX_PTP_PORT_H
#define EQX_PTP_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "ptp/ptp_bmc.h"
#include "ptp/ptp_wire.h"

/* portState (8.2.5.3.1, Table 8). */
#define foreach_ptp_port_state          \
	_(INITIALIZING, "initializing") \
	_(FAULTY, "faulty")             \
	_(DISABLED, "disabled")         \
	_(LISTENING, "listening")       \
	_(PRE_MASTER, "pre_master")     \
	_(MASTER, "master")             \
	_(PASSIVE, "passive")           \
	_(UNCALIBRATED, "uncalibrated") \
	_(SLAVE, "slave")

enum ptp_port_state {
#define _(sym, str) PTP_PS_##sym,
	foreach_ptp_port_state
#undef _
		PTP_PS_MAX,
};

/*
 * Events of 9.2.6. RS_GRAND_MASTER is BMC_MASTER from decision M1 or M2,
 * RS_MASTER from M3: the qualification interval is 0 for the first two
 * (9.2.6.10), so they skip PRE_MASTER, as ptp4l's GRAND_MASTER does.
 */
#define foreach_ptp_event                                       \
	_(POWERUP, "powerup")                                   \
	_(INITIALIZE, "initialize")                             \
	_(INIT_COMPLETE, "init_complete")                       \
	_(DESIGNATED_ENABLED, "designated_enabled")             \
	_(DESIGNATED_DISABLED, "designated_disabled")           \
	_(FAULT_CLEARED, "fault_cleared")                       \
	_(FAULT_DETECTED, "fault_detected")                     \
	_(RS_MASTER, "rs_master")                               \
	_(RS_GRAND_MASTER, "rs_grand_master")                   \
	_(RS_SLAVE, "rs_slave")                                 \
	_(RS_PASSIVE, "rs_passive")                             \
	_(QUALIFICATION_TIMEOUT, "qualification_timeout")       \
	_(ANNOUNCE_RECEIPT_TIMEOUT, "announce_receipt_timeout") \
	_(SYNCHRONIZATION_FAULT, "synchronization_fault")       \
	_(MASTER_CLOCK_SELECTED, "master_clock_selected")

enum ptp_event {
#define _(sym, str) PTP_EV_##sym,
	foreach_ptp_event
#undef _
		PTP_EV_MAX,
};

/* Config ptp.ports[].role, same order as enum cfg_ptp_role. */
#define foreach_ptp_role _(AUTO, "auto") _(MASTER, "master") _(SLAVE, "slave")

enum ptp_role {
#define _(sym, str) PTP_ROLE_##sym,
	foreach_ptp_role
#undef _
		PTP_ROLE_MAX,
};

const char *ptp_port_state_name(enum ptp_port_state s);
const char *ptp_event_name(enum ptp_event e);
const char *ptp_role_name(enum ptp_role r);

/*
 * The next state of a port in state s on event ev (figure 23). role AUTO is
 * the full machine. SLAVE is a slave-only port (9.2.2, figure 24): where the
 * full machine would go to MASTER, PRE_MASTER or PASSIVE it goes to
 * LISTENING. MASTER never slaves: it goes from LISTENING straight to MASTER
 * on any recommended state and stays there. new_master: the state decision
 * chose a parent other than the current one (SLAVE then recalibrates).
 * Pure: no side effects, so it is tested as a table.
 */
enum ptp_port_state ptp_port_fsm(enum ptp_port_state s, enum ptp_event ev, enum ptp_role role,
				 bool new_master);

/*
 * Alarms, each a named flag with counters. DELAY_STEP: the mean path delay
 * jumped by more than delay_step_ns (3 samples in a row, so one late packet
 * does not count); value = the step, ns. PATH_MISMATCH: a frame came over
 * another VLAN or label stack than configured; value = the drop reason.
 * HOP_MISMATCH: the hop counts of the two directions differ (needs the
 * master's hop TLV); value = hops down - hops up.
 */
#define foreach_ptp_alarm                 \
	_(DELAY_STEP, "delay_step")       \
	_(PATH_MISMATCH, "path_mismatch") \
	_(HOP_MISMATCH, "hop_mismatch")

enum ptp_alarm_kind {
#define _(sym, str) PTP_ALARM_##sym,
	foreach_ptp_alarm
#undef _
		PTP_ALARM_MAX,
};

const char *ptp_alarm_name(enum ptp_alarm_kind a);

struct ptp_alarm {
	bool active;    /* raised, and seen again within the hold time */
	uint64_t count; /* times it went from clear to active */
	uint64_t seen;  /* times the condition was detected */
	uint64_t last;  /* counter value of the last detection */
	int64_t value;  /* what the last detection measured */
};

#define PTP_DELAY_FILTER_LEN 8   /* moving median of the mean path delay */
#define PTP_DELAY_STEP_SAMPLES 3 /* consecutive outliers that make a step */
#define PTP_DELAY_STEP_DEFAULT_NS 50000
#define PTP_ANNOUNCE_RECEIPT_TIMEOUT 3 /* 7.7.3.1 default */
#define PTP_TMO_OFF UINT64_MAX
#define PTP_MAX_OFFSET_NS (1LL << 62) /* a larger offset is a bad measurement */

struct ptp_port_config {
	enum ptp_role role;
	int8_t log_sync_interval;          /* config -7..4, default -3 */
	int8_t log_announce_interval;      /* config -3..4, default 1 */
	int8_t log_min_delay_req_interval; /* what a master tells slaves; default 0 */
	uint8_t announce_receipt_timeout;  /* announce intervals, default 3 */
	/*
	 * delayAsymmetry (7.4.2), exactly ptp4l's delayAsymmetry: the master to
	 * slave delay minus the mean path delay, i.e. HALF the difference of the
	 * two directions: t_ms = meanPathDelay + delayAsymmetry and t_sm =
	 * meanPathDelay - delayAsymmetry. Positive when the way from the master
	 * is the longer one. A path of 1200 ns down and 800 ns up has mean 1000
	 * and delayAsymmetry +200. Applied as 11.6 says, when this port is a
	 * slave: added to the Sync's correction on receipt, subtracted from the
	 * Delay_Req's correction on sending (the master echoes it in Delay_Resp),
	 * so the offset is corrected and the mean path delay is not. Unused as
	 * master.
	 */
	int64_t delay_asymmetry_ns;
	struct ptp_path path;
	int64_t delay_step_ns; /* DELAY_STEP threshold; 0 = the default */
	bool hop_report;       /* as master, add the hop TLV to Delay_Resp */
	/*
	 * RX stamps are per burst (software: the worker reads the counter when
	 * a burst comes in): a Follow_Up with its Sync's very stamp shared its
	 * burst, so both were read late, and that Sync is not used
	 * (sync_read_late).
	 */
	bool burst_stamps;
	/*
	 * Offsets reach the servo once the delay filter holds this many samples
	 * (default 1): a first sample that is off moves the first frequency
	 * estimate by its error over the estimate's window.
	 */
	uint8_t servo_min_delay_samples;
};

/* Defaults as config/README.md's for the given transport: role auto, sync -3, announce 1. */
void ptp_port_config_init(struct ptp_port_config *pc, enum ptp_transport t);

struct ptp_delay_filter {
	int64_t s[PTP_DELAY_FILTER_LEN];
	unsigned int n; /* samples held */
	unsigned int pos;
};

void ptp_delay_filter_reset(struct ptp_delay_filter *f);
void ptp_delay_filter_add(struct ptp_delay_filter *f, int64_t v);
/* Median of what is held (mean of the middle two for an even count); 0 when empty. */
int64_t ptp_delay_filter_median(const struct ptp_delay_filter *f);

/*
 * E2E arithmetic (11.3.2, 11.6), every time in ns. c_ms: the corrections of
 * the master-to-slave direction (Sync + Follow_Up correctionFields +
 * delayAsymmetry); c_sm: the Delay_Resp's correctionField (which carries the
 * Delay_Req's, so -delayAsymmetry). Return 0, or -ERANGE when an
 * intermediate result does not fit 64 bits (a corrupt timestamp).
 *   meanPathDelay = ((t2 - t3) + (t4 - t1) - c_ms - c_sm) / 2
 *   offsetFromMaster = t2 - t1 - c_ms - meanPathDelay
 */
int ptp_e2e_mean_delay(int64_t t1, int64_t t2, int64_t t3, int64_t t4, int64_t c_ms, int64_t c_sm,
		       int64_t *delay);
int ptp_e2e_offset(int64_t t1, int64_t t2, int64_t c_ms, int64_t delay, int64_t *offset);

/* What a slave has of the last Sync / Follow_Up / Delay_Req exchange. */
struct ptp_slave_data {
	bool sync_valid; /* a two-step Sync waiting for its Follow_Up */
	uint16_t sync_seq;
	int64_t sync_t2;
	uint64_t sync_t2_mono;
	uint64_t sync_rx_stamp; /* the counter value it came with */
	int64_t sync_c;         /* scaled ns: its correction + delayAsymmetry */
	bool fup_valid;         /* a Follow_Up that came before its Sync */
	uint16_t fup_seq;
	int64_t fup_t1;
	int64_t fup_c;
	bool have_t1t2; /* the last complete pair */
	int64_t t1, t2;
	int64_t c_ms;     /* scaled ns */
	uint64_t t2_mono; /* local monotonic ns of t2, for the servo */
	bool dreq_sent;   /* a Delay_Req is out */
	bool dreq_stamped;
	uint16_t dreq_seq;
	int64_t t3;
	bool sync_seen; /* a Sync came since this master was chosen */
};

struct ptp_port {
	struct ptp_port_config cfg;
	unsigned int index;
	/* portDS (8.2.5) */
	struct ptp_port_id identity;
	enum ptp_port_state state;
	int8_t log_min_delay_req_interval;
	int8_t log_announce_interval;
	int8_t log_sync_interval;
	uint8_t announce_receipt_timeout;
	/* BMC */
	struct ptp_foreign_table foreign;
	int erbest; /* foreign record index, -1 when none */
	struct ptp_dataset erbest_ds;
	enum ptp_decision decision;
	/* Timers: counter values when they fire, PTP_TMO_OFF when not running. */
	uint64_t tmo_announce_rx;
	uint64_t tmo_qualification;
	uint64_t tmo_announce_tx;
	uint64_t tmo_sync_tx;
	uint64_t tmo_delay_req;
	uint16_t seq_announce, seq_sync, seq_delay_req;
	/* Master: the Sync whose TX stamp makes its Follow_Up. */
	bool sync_pending;
	uint16_t sync_pending_seq;
	/* Slave */
	struct ptp_slave_data sd;
	struct ptp_delay_filter dfilt;
	unsigned int delay_outliers;
	bool delay_valid;
	int64_t mean_delay_ns; /* filtered */
	int64_t raw_delay_ns;  /* last measured */
	int64_t offset_ns;     /* last offsetFromMaster */
	bool sync_ttl_known;   /* hops: TTL of the last Sync */
	uint8_t sync_ttl;
	bool hops_known;
	int hops_down, hops_up;
	uint64_t rng;
	struct ptp_alarm alarms[PTP_ALARM_MAX];
	/* Counters: messages by type, drops by reason. */
	uint64_t rx[PTP_MSG_TYPES];
	uint64_t tx[PTP_MSG_TYPES];
	uint64_t drops[PTP_DROP_MAX];
	uint64_t tlvs_skipped;
	uint64_t delay_samples;
	uint64_t transitions;
};

#endif /* EQX_PTP_PORT_H */
