/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "ptp/ptp_servo.h"

/* ptp4l's bounds on configured constants (pi.c MAX_KP_NORM_MAX, MAX_KI_NORM_MAX). */
#define KP_NORM_MAX 1.0
#define KI_NORM_MAX 2.0
/* Wait at least this/ki seconds between the two frequency-estimate samples, at most 1000 s. */
#define FREQ_EST_KI 0.016
#define FREQ_EST_MAX_S 1000.0
#define FREQ_EST_MARGIN 0.001

static const char *const ptp_servo_state_names[PTP_SERVO_STATE_MAX] = {
#define _(sym, str) [PTP_SERVO_##sym] = str,
	foreach_ptp_servo_state
#undef _
};

const char *
ptp_servo_state_name(enum ptp_servo_state s)
{
	if ((unsigned int)s >= PTP_SERVO_STATE_MAX)
		return "unknown";
	return ptp_servo_state_names[s];
}

static double
servo_max(const struct ptp_servo *s)
{
	return s->cfg.max_ppb > 0 ? s->cfg.max_ppb : PTP_SERVO_MAX_PPB;
}

static double
clamp(double v, double lim)
{
	if (v > lim)
		return lim;
	if (v < -lim)
		return -lim;
	return v;
}

void
ptp_servo_init(struct ptp_servo *s, const struct ptp_servo_config *cfg, double freq_ppb)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->integral = clamp(freq_ppb, servo_max(s));
	s->last_ppb = s->integral;
	s->first_update = true;
	ptp_servo_set_interval(s, 1.0);
}

void
ptp_servo_set_interval(struct ptp_servo *s, double interval_s)
{
	if (!(interval_s > 0))
		return;
	s->kp = s->cfg.kp;
	s->ki = s->cfg.ki;
	if (s->kp > KP_NORM_MAX / interval_s)
		s->kp = KP_NORM_MAX / interval_s;
	if (s->ki > KI_NORM_MAX / interval_s)
		s->ki = KI_NORM_MAX / interval_s;
}

void
ptp_servo_reset(struct ptp_servo *s)
{
	/*
	 * The next frequency estimate corrects the rate the clock runs at, so
	 * it must run at the integral: drop the proportional part of the output.
	 */
	s->count = 0;
	s->last_ppb = s->integral;
}

static bool
beyond(int64_t offset, int64_t threshold)
{
	return threshold > 0 && (offset < -threshold || offset > threshold);
}

enum ptp_servo_state
ptp_servo_sample(struct ptp_servo *s, int64_t offset_ns, uint64_t local_ns, double *ppb)
{
	double dt, wait, p;

	*ppb = s->last_ppb;
	switch (s->count) {
	case 0:
		s->offset[0] = offset_ns;
		s->local[0] = local_ns;
		s->count = 1;
		return PTP_SERVO_UNLOCKED;
	case 1:
		s->offset[1] = offset_ns;
		s->local[1] = local_ns;
		if (s->local[0] >= s->local[1]) {
			s->count = 0;
			return PTP_SERVO_UNLOCKED;
		}
		dt = (double)(s->local[1] - s->local[0]) / 1e9;
		wait = s->ki > 0 ? FREQ_EST_KI / s->ki : FREQ_EST_MAX_S;
		if (wait > FREQ_EST_MAX_S)
			wait = FREQ_EST_MAX_S;
		if (dt * (1 + FREQ_EST_MARGIN) < wait)
			return PTP_SERVO_UNLOCKED;
		/*
		 * The offset grew by (o1 - o0) over dt while the clock ran at
		 * integral: the clock is that much fast, so take it off.
		 */
		s->integral -= (1e9 + s->integral) * ((double)s->offset[1] - (double)s->offset[0]) /
			       (double)(s->local[1] - s->local[0]);
		s->integral = clamp(s->integral, servo_max(s));
		s->count = 2;
		s->last_ppb = s->integral;
		*ppb = s->integral;
		if ((s->first_update && beyond(offset_ns, s->cfg.first_step_threshold_ns)) ||
		    beyond(offset_ns, s->cfg.step_threshold_ns)) {
			s->first_update = false;
			return PTP_SERVO_JUMP;
		}
		s->first_update = false;
		return PTP_SERVO_LOCKED;
	default:
		/* Too far off to slew: start over, which steps after two samples. */
		if (beyond(offset_ns, s->cfg.step_threshold_ns)) {
			ptp_servo_reset(s);
			*ppb = s->last_ppb;
			return PTP_SERVO_UNLOCKED;
		}
		p = s->integral - (s->kp + s->ki) * (double)offset_ns;
		if (p > servo_max(s) || p < -servo_max(s)) {
			/* Clamped: do not wind the integral up. */
			p = clamp(p, servo_max(s));
		} else {
			s->integral -= s->ki * (double)offset_ns;
		}
		s->last_ppb = p;
		*ppb = p;
		return PTP_SERVO_LOCKED;
	}
}
