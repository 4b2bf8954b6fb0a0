/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to lib/config: the loaders (cfg_load.c) turn either syntax into a
 * jansson tree, and the validator (cfg_validate.c) walks that one tree.
 */
#ifndef EQX_CFG_INTERNAL_H
#define EQX_CFG_INTERNAL_H

#include <jansson.h>

#include "config/cfg.h"

/* Record one error; counts past CFG_MAX_ERRORS but keeps only the first. */
void cfg_err(struct cfg_errors *errs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Validate a parsed tree into a new model; NULL when errs->n grew. */
struct cfg *cfg_from_tree(json_t *root, struct cfg_errors *errs);

#endif /* EQX_CFG_INTERNAL_H */
