/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to lib/config: the loaders (cfg_load.c) turn either syntax into a
 * jansson tree, and the validator (cfg_validate.c) walks that one tree.
 */
#ifndef EQX_CFG_INTERNAL_H
#define EQX_CFG_INTERNAL_H

#include <jansson.h>

#include "config/cfg.h"

/* The words of every enum, indexed by value, from cfg.h's X-macro lists. */
#define _(sym, str) str,
static const char *const idle_names[] = { foreach_cfg_idle };
static const char *const proto_names[] = { foreach_cfg_proto };
static const char *const forwarding_names[] = { foreach_cfg_forwarding };
static const char *const backend_state_names[] = { foreach_cfg_backend_state };
static const char *const affinity_names[] = { foreach_cfg_affinity };
static const char *const health_names[] = { foreach_cfg_health };
static const char *const cluster_mode_names[] = { foreach_cfg_cluster_mode };
static const char *const log_level_names[] = { foreach_cfg_log_level };
static const char *const ptp_transport_names[] = { foreach_cfg_ptp_transport };
static const char *const ptp_timestamping_names[] = { foreach_cfg_ptp_timestamping };
static const char *const ptp_sw_stamps_names[] = { foreach_cfg_ptp_sw_stamps };
static const char *const ptp_role_names[] = { foreach_cfg_ptp_role };
static const char *const lisp_alg_names[] = { foreach_cfg_lisp_alg };
#undef _

/* Record one error; counts past CFG_MAX_ERRORS but keeps only the first. */
void cfg_err(struct cfg_errors *errs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Validate a parsed tree into a new model; NULL when errs->n grew. */
struct cfg *cfg_from_tree(json_t *root, struct cfg_errors *errs);

#endif /* EQX_CFG_INTERNAL_H */
