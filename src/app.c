/* SPDX-License-Identifier: BSD-3-Clause */
/* The process-wide application state and log types, shared by main and the tests. */
#include <rte_errno.h>
#include <rte_mbuf_dyn.h>

#include "eqx.h"

struct eqx_app eqx = {
	.state_lock = PTHREAD_MUTEX_INITIALIZER,
};

RTE_LOG_REGISTER(eqx_logtype_main, equinox.main, INFO);
RTE_LOG_REGISTER(eqx_logtype_lb, equinox.lb, INFO);
RTE_LOG_REGISTER(eqx_logtype_ctl, equinox.ctl, INFO);

int eqx_hops_offset = -1;

int
eqx_mbuf_fields_init(void)
{
	static const struct rte_mbuf_dynfield hops = {
		.name = "equinox_relay_hops",
		.size = sizeof(uint8_t),
		.align = __alignof__(uint8_t),
	};

	eqx_hops_offset = rte_mbuf_dynfield_register(&hops);
	return eqx_hops_offset < 0 ? -rte_errno : 0;
}
