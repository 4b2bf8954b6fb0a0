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
int eqx_stamp_offset = -1;
uint64_t eqx_tx_stamp_flag;

int
eqx_mbuf_fields_init(void)
{
	static const struct rte_mbuf_dynfield hops = {
		.name = "equinox_relay_hops",
		.size = sizeof(uint8_t),
		.align = __alignof__(uint8_t),
	};

	static const struct rte_mbuf_dynfield stamp = {
		.name = "equinox_stamp",
		.size = sizeof(uint64_t),
		.align = __alignof__(uint64_t),
	};
	static const struct rte_mbuf_dynflag tx_stamp = { .name = "equinox_tx_stamp" };
	int bit;

	eqx_hops_offset = rte_mbuf_dynfield_register(&hops);
	if (eqx_hops_offset < 0)
		return -rte_errno;
	eqx_stamp_offset = rte_mbuf_dynfield_register(&stamp);
	if (eqx_stamp_offset < 0)
		return -rte_errno;
	bit = rte_mbuf_dynflag_register(&tx_stamp);
	if (bit < 0)
		return -rte_errno;
	eqx_tx_stamp_flag = RTE_BIT64(bit);
	return 0;
}
