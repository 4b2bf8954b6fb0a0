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
};

struct ptp_servo {
	struct ptp_servo_config cfg;
	double kp; /* in use: cfg.kp, cfg.ki clamped for the sync interval */
	double ki;
	int count; /* samples taken towards a lock: 0, 1, then 2 = running */
	int64_t offset[2];
	uint64_t local[2]; /* local time of those samples, ns */
	double integral;   /* ppb: the estimated frequency correction */
	double last_ppb;
	bool first_update; /* no lock yet: first_step_threshold applies */
};

/*
 * Start a servo whose clock currently runs at freq_ppb (the holdover
 * frequency, or 0). Sync interval assumed 1 s until ptp_servo_set_interval.
 */
void ptp_servo_init(struct ptp_servo *s, const struct ptp_servo_config *cfg, double freq_ppb);

/*
 * The sync interval in seconds. As ptp4l does for configured constants, kp
 * and ki are used as given unless they would make the loop unstable at this
 * rate: kp is kept at or below 1/interval and ki at or below 2/interval.
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
 *  JUMP: set the frequency, then step the clock by -offset_ns;
 *  LOCKED: set the frequency.
 * First two samples estimate the frequency (after enough time for ki, as
 * ptp4l's 0.016/ki), then the PI loop runs; the integral stops at the clamp.
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
