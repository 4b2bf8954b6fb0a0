/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ptp servo: a proportional-integral clock servo after ptp4l's pi.c,
 * with its step_threshold / first_step_threshold semantics and a frequency
 * clamp. It turns offsets from the master into a frequency and, rarely, a step.
 */
#ifndef EQX_PTP_SERVO_H
#define EQX_PTP_SERVO_H

#include <stdbool.h>
#include <stdint.h>

#define foreach_ptp_servo_state \
	_(UNLOCKED, "unlocked") \
	_(JUMP, "jump")         \
	_(LOCKED, "locked")

enum ptp_servo_state {
#define _(sym, str) PTP_SERVO_##sym,
	foreach_ptp_servo_state
#undef _
		PTP_SERVO_STATE_MAX,
};

const char *ptp_servo_state_name(enum ptp_servo_state s);

#define PTP_SERVO_MAX_PPB 500000.0 /* 500 ppm, what adjtimex allows the system clock */

struct ptp_servo_config {
	double kp; /* config ptp.servo.kp: ppb per ns of offset, per sample */
	double ki; /* config ptp.servo.ki */
	/*
	 * As ptp4l's step_threshold: once locked, an offset beyond it resets the
	 * servo, which steps again after two samples; 0 = never step again.
	 */
	int64_t step_threshold_ns;
	/* As ptp4l's first_step_threshold: step at the first lock when beyond it; 0 = never. */
	int64_t first_step_threshold_ns;
	double max_ppb; /* frequency clamp; 0 means PTP_SERVO_MAX_PPB */
	/*
	 * Outliers: once locked, an offset beyond max(outlier_min_ns,
	 * outlier_factor x the running mean of |offset|) is left out, unless
	 * PTP_SERVO_OUTLIER_RUN come in a row (then the clock really moved).
	 * Software timestamps need it: a worker that is preempted between the
	 * frame and its stamp reads a time late by the preemption, milliseconds.
	 * outlier_factor 0 = every offset counts.
	 */
	double outlier_factor;
	int64_t outlier_min_ns;
};

#define PTP_SERVO_OUTLIER_RUN 4
#define PTP_SERVO_OUTLIER_FACTOR_DEFAULT 5.0
#define PTP_SERVO_OUTLIER_MIN_DEFAULT_NS 1000

/*
 * The first frequency estimate spans at least this long (and 0.016/ki s, as
 * ptp4l waits): at 8 Syncs/s two neighbouring samples 125 ms apart turn
 * 10 us of timestamp noise into 80 ppm; over 1 s it is 10 ppm, and the
 * medians of two halves of the window (up to PTP_SERVO_ACQ_HALF samples
 * each) keep a late stamp out of it.
 */
#define PTP_SERVO_ACQ_MIN_S 1.0
#define PTP_SERVO_ACQ_HALF 8

struct ptp_servo {
	struct ptp_servo_config cfg;
	double kp; /* in use: cfg.kp, cfg.ki scaled for the sync interval */
	double ki;
	int count; /* 0: no sample, 1: estimating the frequency, 2: running */
	/* The estimate's window: its first samples, and a ring of its latest. */
	int64_t acq_off[2][PTP_SERVO_ACQ_HALF];
	uint64_t acq_t[2][PTP_SERVO_ACQ_HALF]; /* local time of those samples, ns */
	unsigned int acq_n[2];
	unsigned int acq_pos; /* next slot of the ring */
	int64_t jump_ns;      /* JUMP: the offset to step away (the window's, not one sample's) */
	double integral;      /* ppb: the estimated frequency correction */
	double last_ppb;
	bool first_update; /* no lock yet: first_step_threshold applies */
	double mean_abs;   /* running mean of |offset| while locked, ns */
	unsigned int outliers_in_row;
	uint64_t outliers; /* offsets left out */
};

/*
 * Start a servo whose clock currently runs at freq_ppb (the holdover
 * frequency, or 0). Sync interval assumed 1 s until ptp_servo_set_interval.
 */
void ptp_servo_init(struct ptp_servo *s, const struct ptp_servo_config *cfg, double freq_ppb);

/*
 * The sync interval in seconds. kp and ki are ptp4l's scales (its
 * pi_proportional_scale and pi_integral_scale): the constants in use are
 * kp x interval^-0.3 and ki x interval^0.4, kept at or below 0.7/interval
 * and 0.3/interval (ptp4l's norm_max defaults), so the loop keeps its
 * damping at any Sync rate (0.7 and 0.3 at 1 s, 1.31 and 0.13 at 1/8 s).
 */
void ptp_servo_set_interval(struct ptp_servo *s, double interval_s);

/*
 * One measurement: offset_ns = our time - master time at local_ns (any
 * monotonic local time in ns). Returns the state and in *ppb the frequency
 * correction to run the clock at from now on (positive = faster; it replaces
 * the previous one, it does not add to it):
 *  UNLOCKED: set the frequency (the same as before, unless the servo just
 *            reset, when it drops back to its estimate without the
 *            proportional term);
 *  JUMP: set the frequency, then step the clock by -s->jump_ns (the
 *        offset the estimate's window puts at local_ns);
 *  LOCKED: set the frequency.
 * The first samples estimate the frequency (over PTP_SERVO_ACQ_MIN_S or
 * ptp4l's 0.016/ki, whichever is longer; with one Sync a second that is two
 * samples, as in ptp4l), then the PI loop runs; the integral stops at the clamp.
 */
enum ptp_servo_state ptp_servo_sample(struct ptp_servo *s, int64_t offset_ns, uint64_t local_ns,
				      double *ppb);

/*
 * Start over (master lost or changed). The clock must then run at
 * s->integral, the frequency estimate without the proportional term: that
 * is what holdover keeps, and what the next estimate corrects.
 */
void ptp_servo_reset(struct ptp_servo *s);

#endif /* EQX_PTP_SERVO_H */
