/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster: which members own a flow: rendezvous (highest random weight)
 * hashing of the flow key over the live members' ids, giving the owner and a
 * second replica, the same answer on every member that sees the same live set.
 */
#ifndef EQX_CLUSTER_OWNER_H
#define EQX_CLUSTER_OWNER_H

#include <stdint.h>

#include "flow/flow.h"

/*
 * Why rendezvous hashing and not Maglev, for the owner: there are a handful
 * of members (at most 64), and an owner is computed only off the fast path
 * (a push, a query, a rebalance), so scoring every live member (a few ns
 * each) costs nothing, needs no table to rebuild when the live set changes,
 * and moves exactly the keys of a member that leaves (to the others, evenly)
 * and, when one joins, only the keys it now wins. Its second-highest score is
 * a natural second replica, and the one that becomes the owner when the owner
 * dies: the replica already holds the record at that moment. Maglev's table
 * gives near-minimal disruption only, and no ordered second choice.
 *
 * The hashes read the key's bytes in a fixed order (little-endian words),
 * never its memory layout: the same on every host.
 */

/*
 * The key hash that picks the owner: the whole 5-tuple for a flow, the
 * client address alone for an affinity entry (so that every flow of a client
 * finds its affinity entry on the same member, whatever the VIP).
 * rtype: CLUSTER_ITEM_FLOW or CLUSTER_ITEM_AFFINITY.
 */
uint64_t cluster_owner_hash(uint8_t rtype, const struct flow_key *k);

/* The score of a member for a key hash: the highest live score owns it. */
uint64_t cluster_owner_score(uint64_t h, uint16_t id);

/*
 * Owner and second replica of key hash h among the members whose bit is set
 * in live (bit i: ids[i]). *owner / *replica get the index in ids, or -1
 * (no live member; a single live member is owner and no replica).
 */
void cluster_owner_pick(const uint16_t *ids, uint64_t live, uint64_t h, int *owner, int *replica);

/* A 64-bit finaliser (murmur3's fmix64): a bijection that mixes every bit. */
static inline uint64_t
cluster_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* The hash of the whole key (type included) for hash tables. */
uint64_t cluster_key_hash(uint8_t rtype, const struct flow_key *k);

#endif /* EQX_CLUSTER_OWNER_H */
