/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster: the records a member holds for the cluster (those it owns or
 * replicates): a fixed-size hash table from flow key to record with expiry,
 * incremental ageing, and positions that stay put for the rebalancing scan.
 */
#ifndef EQX_CLUSTER_STORE_H
#define EQX_CLUSTER_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/cluster_wire.h"

/*
 * Entries live in a pool of `capacity` slots, chained from a bucket array:
 * an entry never moves once inserted, so a scan by position (the bulk
 * transfer to a joiner walks the whole pool a slice at a time) sees every
 * entry that lives through the scan exactly once, whatever is inserted or
 * deleted meanwhile. The key is (record type, flow key).
 *
 * Merging: a live record (a push) replaces what is there; lifetime 0 deletes
 * it. A bulk record (CLUSTER_ITEM_F_BULK) is older news: it fills a missing
 * entry, or only extends the expiry of a present one.
 */
struct cluster_store_stats {
	uint64_t inserts;
	uint64_t updates;
	uint64_t deletes; /* lifetime-0 records and cluster_store_del */
	uint64_t expired;
	uint64_t full; /* inserts refused: no free slot */
	uint64_t lookups;
	uint64_t hits;
};

struct cluster_store;

/* capacity: 1 .. 2^26 entries. NULL and errno (EINVAL, ENOMEM) on failure. */
struct cluster_store *cluster_store_create(uint32_t capacity);
void cluster_store_free(struct cluster_store *s);

/*
 * Insert, refresh or delete (lifetime_ms 0) the record for r's key; now is a
 * monotonic ns clock. 0, -ENOSPC (full: counted), -EINVAL (not a record).
 */
int cluster_store_put(struct cluster_store *s, uint64_t now, const struct cluster_rec *r);

/*
 * The record for (rtype, k), with lifetime_ms set to what is left of it, in
 * out: true when found. An expired entry is freed and not found.
 */
bool cluster_store_get(struct cluster_store *s, uint64_t now, uint8_t rtype,
		       const struct flow_key *k, struct cluster_rec *out);

/* Remove the entry for (rtype, k): 0 or -ENOENT. */
int cluster_store_del(struct cluster_store *s, uint8_t rtype, const struct flow_key *k);

/*
 * Age max_slots positions from where the last call stopped: frees the expired
 * entries; returns how many. Call it often with a small slice.
 */
uint32_t cluster_store_expire(struct cluster_store *s, uint64_t now, uint32_t max_slots);

uint32_t cluster_store_capacity(const struct cluster_store *s);
uint32_t cluster_store_count(const struct cluster_store *s);
const struct cluster_store_stats *cluster_store_stats(const struct cluster_store *s);

/*
 * The live record at position pos (0 .. capacity - 1), lifetime_ms set to
 * what is left, in out: true when there is one. Expired entries are not
 * returned (nor freed: the ageing does that).
 */
bool cluster_store_at(const struct cluster_store *s, uint32_t pos, uint64_t now,
		      struct cluster_rec *out);

/* Empty it (a member that restarts its view of the cluster). */
void cluster_store_clear(struct cluster_store *s);

#endif /* EQX_CLUSTER_STORE_H */
