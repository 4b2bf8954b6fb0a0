/* SPDX-License-Identifier: BSD-3-Clause */
/* The HA agent's hooks for the rest of the control lcore (src/ha_agent.c). */
#ifndef EQX_HA_AGENT_H
#define EQX_HA_AGENT_H

#include "eqx.h"

/*
 * A worker pinned a client to a backend (an EQX_EV_AFFINITY event): the HA
 * peer learns the pin too. Nothing without HA.
 */
void eqx_ha_pin(struct eqx_app *app, const struct eqx_event *ev);

#endif /* EQX_HA_AGENT_H */
