/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/maglev: Maglev consistent-hashing lookup tables (Eisenbud et al., NSDI 2016)
 * with integer weights. The table depends only on the set of (key, weight,
 * id) backends, never on their order, so every instance builds the same one.
 */
#ifndef EQX_MAGLEV_H
#define EQX_MAGLEV_H

#include <stdbool.h>
#include <stdint.h>

#define MAGLEV_EMPTY UINT32_MAX /* slot value when no backend can take it */
#define MAGLEV_DEFAULT_SIZE 65537
#define MAGLEV_MAX_SIZE 16777259 /* a prime above 2^24 */
#define MAGLEV_MAX_WEIGHT 1000

struct maglev_backend {
	uint8_t key[16]; /* identity hashed into the permutation (address) */
	uint8_t key_len; /* 4 or 16 */
	uint32_t weight; /* 0 = takes no slot */
	uint32_t id;     /* written into the table's slots */
};

bool maglev_is_prime(uint32_t n);

/*
 * Fill table[0..size-1] with backend ids. size must be prime and larger than
 * the number of backends; weights are 0..MAGLEV_MAX_WEIGHT. Two backends with
 * the same key are rejected. With no backend of non-zero weight every slot is
 * MAGLEV_EMPTY. Returns 0 or -EINVAL / -ENOMEM (the table is left untouched
 * on error). key_len must be 1..16 and no id may be MAGLEV_EMPTY. Equal
 * weights give every backend floor(size/n) or ceil(size/n) slots.
 * Control-plane only (it allocates): about 1 ms for 65537 slots and 100
 * backends, but seconds near MAGLEV_MAX_SIZE (the work grows as size*ln(size)).
 */
int maglev_populate(const struct maglev_backend *b, unsigned int n, uint32_t *table, uint32_t size);

static inline uint32_t
maglev_lookup(const uint32_t *table, uint32_t size, uint32_t hash)
{
	return table[hash % size];
}

#endif /* EQX_MAGLEV_H */
