/* SPDX-License-Identifier: BSD-3-Clause */
/* the LISP map-server: not wired yet; enabling it stops equinox at start with a message. */
#include <errno.h>

#include "agent.h"

static bool
enabled(const struct cfg *cfg)
{
	return cfg->lisp.enabled;
}

static int
start(struct eqx_app *app)
{
	RTE_SET_USED(app);
	return -ENOTSUP;
}

const struct eqx_agent eqx_lisp_agent = {
	.name = "lisp",
	.help = "the LISP map-server. No parameters",
	.enabled = enabled,
	.start = start,
};
