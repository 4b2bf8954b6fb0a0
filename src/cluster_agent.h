/* SPDX-License-Identifier: BSD-3-Clause */
/* Distributed mode (cluster.mode "distributed"): what the rest of src/ asks of the cluster agent.
 */
#ifndef EQX_CLUSTER_AGENT_H
#define EQX_CLUSTER_AGENT_H

#include <jansson.h>

#include "eqx.h"

/* The agent runs: reloads and equinoxctl changes are proposed to the cluster. */
bool eqx_cluster_active(void);

/*
 * A reload in distributed mode: cfg (taken over) runs here at once with the
 * cluster's VIP set; its own VIP set, when it differs, is proposed as the
 * next generation (*gen, or 0 when nothing changed). 0 or -errno (errs).
 */
int eqx_cluster_reload(struct eqx_app *app, struct cfg *cfg, struct cfg_errors *errs, int64_t *gen);

/*
 * `equinoxctl backend set` in distributed mode: the running VIP set with
 * backend (vip, addr) changed as ov says, proposed. The proposed generation,
 * or -errno (*err says why).
 */
int64_t eqx_cluster_backend_set(struct eqx_app *app, const char *vip, const char *addr,
				const struct eqx_override *ov, const char **err);

/* A frame worker w passed up as a cluster query (EQX_HOPS_CLUSTER): held until answered. */
void eqx_cluster_held(struct eqx_app *app, unsigned int w, struct rte_mbuf *m);

/* The cluster generation this instance runs (applied), for ping. */
uint32_t eqx_cluster_generation(void);

#endif /* EQX_CLUSTER_AGENT_H */
