/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness: arbitrary bytes through the JSON front end and the
 * validator. A good model is also dumped, so cfg_dump sees every shape the
 * validator lets through.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg_errors errs;
	struct cfg *c;
	char *dump;

	c = cfg_load_json((const char *)data, size, &errs);
	if (c != NULL) {
		dump = cfg_dump(c);
		free(dump);
		cfg_free(c);
	}
	return 0;
}
