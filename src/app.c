/* SPDX-License-Identifier: BSD-3-Clause */
/* The process-wide application state and log types, shared by main and the tests. */
#include "eqx.h"

struct eqx_app eqx = {
	.state_lock = PTHREAD_MUTEX_INITIALIZER,
};

RTE_LOG_REGISTER(eqx_logtype_main, equinox.main, INFO);
RTE_LOG_REGISTER(eqx_logtype_lb, equinox.lb, INFO);
RTE_LOG_REGISTER(eqx_logtype_ctl, equinox.ctl, INFO);
