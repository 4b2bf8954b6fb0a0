/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "cluster/cluster_owner.h"
#include "cluster/cluster_wire.h"

#define SEED_ADDR 0x9e3779b97f4a7c15ULL
#define SEED_FLOW 0xbf58476d1ce4e5b9ULL
#define SEED_MEMBER 0x94d049bb133111ebULL

static inline uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

/* Absorb one word: each step a bijection of the state, so no word cancels another. */
static inline uint64_t
absorb(uint64_t h, uint64_t w)
{
	return cluster_mix64(h ^ w) + 0x2545f4914f6cdd1dULL;
}

static uint64_t
addr_hash(uint64_t h, uint8_t family, const uint8_t *a)
{
	if (family == 4)
		return absorb(h, (uint64_t)a[0] | (uint64_t)a[1] << 8 | (uint64_t)a[2] << 16 |
					 (uint64_t)a[3] << 24);
	return absorb(absorb(h, le64(a)), le64(a + 8));
}

uint64_t
cluster_owner_hash(uint8_t rtype, const struct flow_key *k)
{
	uint64_t h;

	if (rtype == CLUSTER_ITEM_AFFINITY)
		return cluster_mix64(addr_hash(absorb(SEED_ADDR, k->family), k->family, k->src));
	/* The fields go in as a word of their own: XORed into an address word they could cancel. */
	h = absorb(SEED_FLOW, (uint64_t)k->family | (uint64_t)k->proto << 8 |
				      (uint64_t)k->sport << 16 | (uint64_t)k->dport << 32);
	h = addr_hash(h, k->family, k->src);
	h = addr_hash(h, k->family, k->dst);
	return cluster_mix64(h);
}

uint64_t
cluster_key_hash(uint8_t rtype, const struct flow_key *k)
{
	uint64_t h;

	h = absorb(SEED_FLOW, (uint64_t)rtype << 56 | (uint64_t)k->family |
				      (uint64_t)k->proto << 8 | (uint64_t)k->sport << 16 |
				      (uint64_t)k->dport << 32);
	h = addr_hash(h, k->family, k->src);
	h = addr_hash(h, k->family, k->dst);
	return cluster_mix64(h);
}

uint64_t
cluster_owner_score(uint64_t h, uint16_t id)
{
	return cluster_mix64(h ^ cluster_mix64(SEED_MEMBER + id));
}

void
cluster_owner_pick(const uint16_t *ids, uint64_t live, uint64_t h, int *owner, int *replica)
{
	uint64_t best = 0, second = 0, s;
	int b = -1, r = -1, i;

	while (live != 0) {
		i = __builtin_ctzll(live);
		live &= live - 1;
		s = cluster_owner_score(h, ids[i]);
		/* Ties (a 2^-64 chance) go to the higher id, so every member agrees. */
		if (b < 0 || s > best || (s == best && ids[i] > ids[b])) {
			r = b;
			second = best;
			b = i;
			best = s;
		} else if (r < 0 || s > second || (s == second && ids[i] > ids[r])) {
			r = i;
			second = s;
		}
	}
	*owner = b;
	*replica = r;
}
