/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ptp best master clock algorithm: the data sets of IEEE 1588-2008
 * clause 8, the data set comparison (9.3.4), the state decision (9.3.3) and
 * foreign master qualification (9.3.2.5). Pure functions over structs.
 */
#ifndef EQX_PTP_BMC_H
#define EQX_PTP_BMC_H

#include <stdbool.h>
#include <stdint.h>

#include "ptp/ptp_wire.h"

/* defaultDS (8.2.1), the members we use. */
struct ptp_default_ds {
	struct ptp_clock_id identity;
	uint16_t n_ports;
	struct ptp_clock_quality quality;
	uint8_t priority1;
	uint8_t priority2;
	uint8_t domain;
	bool slave_only; /* every port has role slave: clockClass 255 (9.2.2) */
	bool two_step;
};

/* currentDS (8.2.2). */
struct ptp_current_ds {
	uint16_t steps_removed;
	int64_t offset_from_master_ns;
	int64_t mean_path_delay_ns;
};

/* parentDS (8.2.3), without the optional statistics. */
struct ptp_parent_ds {
	struct ptp_port_id parent;
	struct ptp_clock_id gm_identity;
	struct ptp_clock_quality gm_quality;
	uint8_t gm_priority1;
	uint8_t gm_priority2;
};

/* timePropertiesDS (8.2.4); flags holds the PTP_FLAG_TIME_PROPS bits. */
struct ptp_time_props_ds {
	int16_t utc_offset;
	uint16_t flags;
	uint8_t time_source;
};

/* Defaults of a clock with no reference (7.6.2, and what ptp4l sends). */
#define PTP_CLASS_DEFAULT 248
#define PTP_CLASS_SLAVE_ONLY 255
#define PTP_ACCURACY_UNKNOWN 0xfe
#define PTP_VARIANCE_UNKNOWN 0xffff
#define PTP_TIME_SOURCE_INTERNAL_OSC 0xa0
#define PTP_UTC_OFFSET_DEFAULT 37
#define PTP_MAX_STEPS_REMOVED 255 /* 9.3.2.5 (d) */

/*
 * The comparison vector of one Announce (or of D0, the clock itself), as in
 * figures 27 and 28: the grandmaster's attributes, stepsRemoved, and who
 * sent it to which of our ports.
 */
struct ptp_dataset {
	uint8_t priority1;
	struct ptp_clock_id identity; /* grandmasterIdentity */
	struct ptp_clock_quality quality;
	uint8_t priority2;
	uint16_t steps_removed;
	struct ptp_port_id sender;   /* sourcePortIdentity of the Announce */
	struct ptp_port_id receiver; /* portIdentity of the port it came in on */
};

/*
 * Results of the comparison, with their names. ERROR1: the Announce of one
 * of the two was sent and received by the same port (a loop); ERROR2: the
 * two are the same Announce seen twice. Neither error lets either win.
 */
#define foreach_ptp_cmp                   \
	_(A_BETTER, "a_better")           \
	_(A_BETTER_TOPO, "a_better_topo") \
	_(B_BETTER, "b_better")           \
	_(B_BETTER_TOPO, "b_better_topo") \
	_(ERROR1, "error1")               \
	_(ERROR2, "error2")

enum ptp_cmp {
#define _(sym, str) PTP_CMP_##sym,
	foreach_ptp_cmp
#undef _
		PTP_CMP_MAX,
};

const char *ptp_cmp_name(enum ptp_cmp c);

/* True when the result says A is better, by attributes or by topology. */
static inline bool
ptp_cmp_a_wins(enum ptp_cmp c)
{
	return c == PTP_CMP_A_BETTER || c == PTP_CMP_A_BETTER_TOPO;
}

/* The data set comparison algorithm, 9.3.4 figures 27 (part 1) and 28 (part 2). */
enum ptp_cmp ptp_dscmp(const struct ptp_dataset *a, const struct ptp_dataset *b);

/* D0 (9.3.4): the clock's own defaultDS, stepsRemoved 0, sent and received by port 0. */
void ptp_dataset_from_default(const struct ptp_default_ds *d, struct ptp_dataset *out);

/* The data set of an Announce m received by the port receiver. */
void ptp_dataset_from_announce(const struct ptp_msg *m, const struct ptp_port_id *receiver,
			       struct ptp_dataset *out);

/*
 * State decision codes of figure 26 (9.3.3) and the recommended state each
 * gives; NONE: no Erbest while LISTENING, stay (the first test of figure 26).
 */
#define foreach_ptp_decision \
	_(NONE, "none")      \
	_(M1, "M1")          \
	_(M2, "M2")          \
	_(M3, "M3")          \
	_(P1, "P1")          \
	_(P2, "P2")          \
	_(S1, "S1")

enum ptp_decision {
#define _(sym, str) PTP_DECISION_##sym,
	foreach_ptp_decision
#undef _
		PTP_DECISION_MAX,
};

const char *ptp_decision_name(enum ptp_decision d);

/*
 * The state decision algorithm (9.3.3, figure 26) for one port. d0 is the
 * clock's own data set, ebest the best of all ports' Erbest (NULL when there
 * is none), erbest this port's best (NULL when none), listening whether the
 * port is in LISTENING, ebest_here whether ebest was received on this port.
 */
enum ptp_decision ptp_state_decision(const struct ptp_dataset *d0, const struct ptp_dataset *ebest,
				     const struct ptp_dataset *erbest, bool listening,
				     bool ebest_here);

/*
 * foreignMasterDS (9.3.2.4): one record per foreign master seen on a port.
 * Qualification (9.3.2.5 (d)): FOREIGN_MASTER_THRESHOLD distinct Announce
 * messages (distinct sequenceId) within FOREIGN_MASTER_TIME_WINDOW announce
 * intervals (9.3.2.4.4). The window uses the sender's logMessageInterval,
 * as ptp4l does: it is the sender's rate that spaces its messages.
 */
#define PTP_FOREIGN_MASTER_THRESHOLD 2
#define PTP_FOREIGN_MASTER_TIME_WINDOW 4
#define PTP_MAX_FOREIGN 8

struct ptp_foreign {
	bool used;
	struct ptp_port_id sender;
	struct ptp_msg last; /* the most recent Announce */
	/* Receipt times (caller's time unit) of the most recent distinct Announces. */
	uint64_t rx_time[PTP_FOREIGN_MASTER_THRESHOLD];
	uint16_t rx_seq[PTP_FOREIGN_MASTER_THRESHOLD];
	unsigned int n_rx; /* valid entries in rx_time, newest first */
};

struct ptp_foreign_table {
	struct ptp_foreign fm[PTP_MAX_FOREIGN];
};

/*
 * Record an Announce received at now, a monotonic counter of hz units per
 * second. The first Announce of a new master counts: 9.3.2.5 (d) asks for
 * two distinct ones in the window (ptp4l waits for a third). Returns the
 * record's index, or -1 when the table is full of qualified masters (a
 * record that is not qualified is reused first). *changed is set when the
 * record became qualified or its comparison fields changed (a reason for a
 * state decision event, 9.2.6.8).
 */
int ptp_foreign_add(struct ptp_foreign_table *t, const struct ptp_msg *m, uint64_t now, uint64_t hz,
		    bool *changed);

/* Whether a record is qualified at now (9.3.2.5 (d)); hz: units of now per second. */
bool ptp_foreign_qualified(const struct ptp_foreign *f, uint64_t now, uint64_t hz);

/* Forget record i (its master timed out) or all of them. */
void ptp_foreign_clear(struct ptp_foreign_table *t, int i);
void ptp_foreign_clear_all(struct ptp_foreign_table *t);

/*
 * Erbest (9.3.2.3): the best qualified record as seen by receiver, its index
 * or -1; its data set into out.
 */
int ptp_foreign_best(const struct ptp_foreign_table *t, const struct ptp_port_id *receiver,
		     uint64_t now, uint64_t hz, struct ptp_dataset *out);

/*
 * FOREIGN_MASTER_TIME_WINDOW intervals of 2^log_interval seconds in units of
 * hz; log_interval is clamped to -7..8 (a hostile 0x7f must not overflow).
 */
uint64_t ptp_foreign_window(int8_t log_interval, uint64_t hz);

#endif /* EQX_PTP_BMC_H */
