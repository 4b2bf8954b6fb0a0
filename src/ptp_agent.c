/* SPDX-License-Identifier: BSD-3-Clause */
/* the PTP clock: not wired yet; enabling it stops equinox at start with a message. */
#include <errno.h>

#include "agent.h"

static bool
enabled(const struct cfg *cfg)
{
	return cfg->ptp.enabled;
}

static int
start(struct eqx_app *app)
{
	RTE_SET_USED(app);
	return -ENOTSUP;
}

const struct eqx_agent eqx_ptp_agent = {
	.name = "ptp",
	.help = "the PTP clock. No parameters",
	.enabled = enabled,
	.start = start,
};
