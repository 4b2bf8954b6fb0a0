/* SPDX-License-Identifier: BSD-3-Clause */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ptp/ptp_servo.h"

/* ptp4l's defaults: pi_proportional_exponent, pi_integral_exponent, their norm_max. */
#define KP_EXPONENT -0.3
#define KI_EXPONENT 0.4
#define KP_NORM_MAX 0.7
#define KI_NORM_MAX 0.3
/* Weight of a new offset in the running mean of |offset|. */
#define MEAN_ABS_WEIGHT (1.0 / 16)
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
	s->kp = s->cfg.kp * pow(interval_s, KP_EXPONENT);
	s->ki = s->cfg.ki * pow(interval_s, KI_EXPONENT);
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
	s->mean_abs = 0;
	s->outliers_in_row = 0;
}

static double
fabs_i64(int64_t v)
{
	return v < 0 ? -(double)v : (double)v;
}

/* Locked: is this offset too far from what the clock has been doing to be believed? */
static bool
outlier(struct ptp_servo *s, int64_t offset_ns)
{
	double lim = s->cfg.outlier_factor * s->mean_abs;

	if (s->cfg.outlier_factor <= 0 || s->mean_abs == 0)
		return false;
	if (lim < (double)s->cfg.outlier_min_ns)
		lim = (double)s->cfg.outlier_min_ns;
	if (fabs_i64(offset_ns) <= lim) {
		s->outliers_in_row = 0;
		return false;
	}
	if (++s->outliers_in_row >= PTP_SERVO_OUTLIER_RUN) {
		/* Not noise: the clock or the master moved. Believe it from now on. */
		s->outliers_in_row = 0;
		s->mean_abs = fabs_i64(offset_ns) / s->cfg.outlier_factor;
		return false;
	}
	s->outliers++;
	return true;
}

static void
track(struct ptp_servo *s, int64_t offset_ns)
{
	if (s->mean_abs == 0)
		s->mean_abs = fabs_i64(offset_ns) + 1;
	else
		s->mean_abs += (fabs_i64(offset_ns) - s->mean_abs) * MEAN_ABS_WEIGHT;
}

static bool
beyond(int64_t offset, int64_t threshold)
{
	return threshold > 0 && (offset < -threshold || offset > threshold);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * The window's line, robustly (Theil-Sen): the slope is the median of the
 * slopes between every early and every late sample, the offset at now the
 * median of what each sample says it is then. A late stamp moves neither.
 */
static void
acq_fit(const struct ptp_servo *s, uint64_t now, double *slope, double *now_off, double *spread)
{
	double v[PTP_SERVO_ACQ_HALF * PTP_SERVO_ACQ_HALF];
	unsigned int i, j, n = 0;
	int h;

	for (i = 0; i < s->acq_n[0]; i++)
		for (j = 0; j < s->acq_n[1]; j++)
			v[n++] = ((double)s->acq_off[1][j] - (double)s->acq_off[0][i]) /
				 ((double)s->acq_t[1][j] - (double)s->acq_t[0][i]);
	*slope = median(v, n);
	n = 0;
	for (h = 0; h < 2; h++)
		for (i = 0; i < s->acq_n[h]; i++)
			v[n++] = (double)s->acq_off[h][i] +
				 *slope * ((double)now - (double)s->acq_t[h][i]);
	*now_off = median(v, n);
	/* How far samples stray from the line: the noise the outlier test starts from. */
	for (i = 0; i < n; i++)
		v[i] = fabs(v[i] - *now_off);
	*spread = median(v, n);
}

static void
acq_add(struct ptp_servo *s, int h, int64_t offset_ns, uint64_t local_ns)
{
	unsigned int i = h == 0 ? s->acq_n[0] : s->acq_pos;

	s->acq_off[h][i] = offset_ns;
	s->acq_t[h][i] = local_ns;
	if (h == 0) {
		s->acq_n[0]++;
		return;
	}
	s->acq_pos = (s->acq_pos + 1) % PTP_SERVO_ACQ_HALF;
	if (s->acq_n[1] < PTP_SERVO_ACQ_HALF)
		s->acq_n[1]++;
}

enum ptp_servo_state
ptp_servo_sample(struct ptp_servo *s, int64_t offset_ns, uint64_t local_ns, double *ppb)
{
	double dt, wait, p, slope, now_off, spread;
	uint64_t last;

	*ppb = s->last_ppb;
	switch (s->count) {
	case 0:
		s->acq_n[0] = s->acq_n[1] = 0;
		s->acq_pos = 0;
		acq_add(s, 0, offset_ns, local_ns);
		s->count = 1;
		return PTP_SERVO_UNLOCKED;
	case 1:
		last = s->acq_n[1] > 0 ? s->acq_t[1][(s->acq_pos + PTP_SERVO_ACQ_HALF - 1) %
						     PTP_SERVO_ACQ_HALF]
				       : s->acq_t[0][s->acq_n[0] - 1];
		if (local_ns <= last) {
			s->count = 0;
			return PTP_SERVO_UNLOCKED;
		}
		wait = s->ki > 0 ? FREQ_EST_KI / s->ki : FREQ_EST_MAX_S;
		if (wait > FREQ_EST_MAX_S)
			wait = FREQ_EST_MAX_S;
		if (wait < PTP_SERVO_ACQ_MIN_S)
			wait = PTP_SERVO_ACQ_MIN_S;
		dt = (double)(local_ns - s->acq_t[0][0]) / 1e9;
		/* The first half of the window fills its first half; the ring keeps the rest. */
		acq_add(s, s->acq_n[0] < PTP_SERVO_ACQ_HALF && dt * 2 < wait ? 0 : 1, offset_ns,
			local_ns);
		if (s->acq_n[1] == 0 || dt * (1 + FREQ_EST_MARGIN) < wait)
			return PTP_SERVO_UNLOCKED;
		/*
		 * The offset grows by slope ns a ns while the clock runs at integral:
		 * the clock is that much fast, so take it off.
		 */
		acq_fit(s, local_ns, &slope, &now_off, &spread);
		/* The mean of |gaussian noise| is 1.25 times its median. */
		s->mean_abs = spread * 1.25 + 1;
		s->integral -= (1e9 + s->integral) * slope;
		s->integral = clamp(s->integral, servo_max(s));
		s->count = 2;
		s->last_ppb = s->integral;
		*ppb = s->integral;
		s->jump_ns = (int64_t)llround(now_off);
		if ((s->first_update && beyond(s->jump_ns, s->cfg.first_step_threshold_ns)) ||
		    beyond(s->jump_ns, s->cfg.step_threshold_ns)) {
			s->first_update = false;
			return PTP_SERVO_JUMP;
		}
		s->first_update = false;
		/* Not stepped: the offset left is real and the loop will pull it in. */
		if (fabs(now_off) > s->mean_abs)
			s->mean_abs = fabs(now_off);
		return PTP_SERVO_LOCKED;
	default:
		if (outlier(s, offset_ns))
			return PTP_SERVO_LOCKED; /* the frequency stays as it is */
		track(s, offset_ns);
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
