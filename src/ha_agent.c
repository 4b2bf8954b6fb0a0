/* SPDX-License-Identifier: BSD-3-Clause */
/* the HA pair: not wired yet; enabling it stops equinox at start with a message. */
#include <errno.h>

#include "agent.h"

static bool
enabled(const struct cfg *cfg)
{
	return cfg->ha.enabled;
}

static int
start(struct eqx_app *app)
{
	RTE_SET_USED(app);
	return -ENOTSUP;
}

const struct eqx_agent eqx_ha_agent = {
	.name = "ha",
	.help = "the HA pair. No parameters",
	.enabled = enabled,
	.start = start,
};
