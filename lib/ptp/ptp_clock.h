/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ptp clock model: equinox's own PTP time over a free-running counter
 * (the TSC, or a NIC clock read raw), time = base + (counter - base_counter)
 * x rate. The servo moves the rate and, rarely, the base. Pure arithmetic:
 * the counter value is always passed in; no clock is read, none is set.
 */
#ifndef EQX_PTP_CLOCK_H
#define EQX_PTP_CLOCK_H

#include <stdint.h>

struct ptp_clock {
	uint64_t hz;        /* counter ticks per second, nominal */
	double ns_per_tick; /* 1e9 / hz */
	uint64_t base_tsc;  /* counter value at the last re-anchoring */
	int64_t base_ns;    /* PTP time then, whole ns */
	double base_frac;   /* and its fraction of a ns, 0 <= frac < 1 */
	double freq_ppb;    /* rate correction: + runs faster than the counter says */
};

/* A clock reading time_ns (PTP timescale, ns) when the counter reads tsc. hz > 0. */
void ptp_clock_init(struct ptp_clock *c, uint64_t hz, uint64_t tsc, int64_t time_ns);

/*
 * PTP time at counter value tsc, whole ns (floor); frac, when not NULL, gets
 * the fraction of a ns. A tsc before the anchor (a stamp taken just before a
 * frequency change) is extrapolated backwards.
 */
int64_t ptp_clock_time(const struct ptp_clock *c, uint64_t tsc, double *frac);

/* Run at freq_ppb from counter value tsc on; time before tsc is unchanged. */
void ptp_clock_set_freq(struct ptp_clock *c, uint64_t tsc, double freq_ppb);

/* Jump by delta_ns: every later reading moves by delta_ns. */
void ptp_clock_step(struct ptp_clock *c, int64_t delta_ns);

/* The counter's own monotonic time in ns (no correction), for timers and the servo. */
uint64_t ptp_clock_mono_ns(const struct ptp_clock *c, uint64_t tsc);

/* A duration of ns in counter ticks, and 2^log2_s seconds in ticks (log2_s -31..31). */
uint64_t ptp_clock_ticks(const struct ptp_clock *c, uint64_t ns);
uint64_t ptp_clock_log_ticks(uint64_t hz, int log2_s);

#endif /* EQX_PTP_CLOCK_H */
