/* SPDX-License-Identifier: BSD-3-Clause */
#include <math.h>
#include <stddef.h>

#include "ptp/ptp_clock.h"

void
ptp_clock_init(struct ptp_clock *c, uint64_t hz, uint64_t tsc, int64_t time_ns)
{
	c->hz = hz > 0 ? hz : 1;
	c->ns_per_tick = 1e9 / (double)c->hz;
	c->base_tsc = tsc;
	c->base_ns = time_ns;
	c->base_frac = 0;
	c->freq_ppb = 0;
}

int64_t
ptp_clock_time(const struct ptp_clock *c, uint64_t tsc, double *frac)
{
	/* Two's complement difference: a stamp just before the anchor is negative. */
	int64_t ticks = (int64_t)(tsc - c->base_tsc);
	double d = (double)ticks * c->ns_per_tick * (1.0 + c->freq_ppb * 1e-9) + c->base_frac;
	double whole = floor(d);
	int64_t t;

	if (frac != NULL)
		*frac = d - whole;
	/* Only a broken master drives base_ns near the ends; then saturate, do not wrap. */
	if (whole >= 9.2e18 || whole <= -9.2e18 ||
	    __builtin_add_overflow(c->base_ns, (int64_t)whole, &t))
		return whole > 0 ? INT64_MAX : INT64_MIN;
	return t;
}

void
ptp_clock_set_freq(struct ptp_clock *c, uint64_t tsc, double freq_ppb)
{
	double frac;

	/* Re-anchor at tsc so the new rate only applies from here on. */
	c->base_ns = ptp_clock_time(c, tsc, &frac);
	c->base_frac = frac;
	c->base_tsc = tsc;
	c->freq_ppb = freq_ppb;
}

void
ptp_clock_step(struct ptp_clock *c, int64_t delta_ns)
{
	/* Saturate: a step past the ends of time is a broken master, not a reason to wrap. */
	if (__builtin_add_overflow(c->base_ns, delta_ns, &c->base_ns))
		c->base_ns = delta_ns > 0 ? INT64_MAX : INT64_MIN;
}

uint64_t
ptp_clock_mono_ns(const struct ptp_clock *c, uint64_t tsc)
{
	/* Split so that tsc * 1e9 cannot overflow: (tsc % hz) * 1e9 < hz * 1e9. */
	return tsc / c->hz * 1000000000ULL + tsc % c->hz * 1000000000ULL / c->hz;
}

uint64_t
ptp_clock_ticks(const struct ptp_clock *c, uint64_t ns)
{
	return ns / 1000000000ULL * c->hz + ns % 1000000000ULL * c->hz / 1000000000ULL;
}

uint64_t
ptp_clock_log_ticks(uint64_t hz, int log2_s)
{
	if (log2_s < -31)
		log2_s = -31;
	if (log2_s > 31)
		log2_s = 31;
	if (log2_s >= 0)
		return hz << log2_s;
	return hz >> -log2_s;
}
