/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/flow: the flow key, its hash, and the per-worker flow table.
 * One writer (the owning worker), no locks. Memory comes from the caller so
 * the table can live on hugepages of the worker's socket.
 */
#ifndef EQX_FLOW_H
#define EQX_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 5-tuple, 40 bytes. IPv4 addresses sit in the first 4 bytes, rest zero. */
struct flow_key {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	uint16_t pad;   /* always zero */
	uint16_t sport; /* host byte order */
	uint16_t dport;
	uint8_t src[16];
	uint8_t dst[16];
};

/* Deterministic across processes and hosts (no random seed). */
uint32_t flow_hash(const struct flow_key *k);

/* Hash of the client address alone (for client affinity). */
uint32_t flow_hash_addr(uint8_t family, const uint8_t addr[16]);

/* TCP state as far as timeouts care. */
enum flow_state {
	FLOW_STATE_SYN = 0, /* only SYN seen */
	FLOW_STATE_EST,     /* data seen */
	FLOW_STATE_CLOSING, /* FIN or RST seen */
	FLOW_STATE_UDP,
	FLOW_STATE_MAX,
};

/*
 * What the table keeps for a flow besides its key: 12 bytes. The key is
 * stored apart from it (see flow.c for the layout): a lookup finds the entry
 * by the key, and flow_entry_key gives the key of an entry.
 */
struct flow_entry {
	uint32_t backend;   /* backend id */
	uint32_t last_seen; /* caller's clock, in seconds */
	uint16_t vip;       /* vip id */
	uint8_t state;      /* enum flow_state */
	uint8_t flags;
};

/* Bytes of table a slot takes, signature, entry and key included. */
#define FLOW_SLOT_SIZE 64

struct flow_timeouts {
	uint32_t syn;
	uint32_t established;
	uint32_t closing;
	uint32_t udp;
};

struct flow_stats {
	uint64_t inserts;
	uint64_t evictions; /* live entries replaced because both buckets were full */
	uint64_t full;      /* inserts refused */
	uint64_t expired;   /* entries aged out */
};

struct flow_table;

/*
 * Bytes needed for a table of at least n entries (rounded up to a power of
 * two, at least 4): FLOW_SLOT_SIZE a slot plus the header; 0 when n is above
 * 2^31.
 */
size_t flow_table_memsize(uint32_t n);

/* Build a table in mem (memsize bytes, 64-byte aligned). NULL + errno on error. */
struct flow_table *flow_table_init(void *mem, size_t memsize, uint32_t n,
				   const struct flow_timeouts *to);

/*
 * Change the timeouts of a live table (config reload); the next check uses
 * them. Like every call that writes the table, only from its owning worker:
 * a control thread asks the worker (its ring) rather than calling this.
 */
void flow_table_set_timeouts(struct flow_table *t, const struct flow_timeouts *to);

/*
 * Called for every live entry the table removes on its own or on request:
 * expiry (by flow_age, or found expired by a lookup or an insert), eviction,
 * flow_delete, flow_flush. Not called for an insert that takes an empty slot,
 * nor for the cuckoo moves of an insert (the entry lives on elsewhere). The
 * key and the entry are still intact during the call; the callback must not
 * call back into the table. fn NULL turns it off; a fresh table has none.
 */
typedef void (*flow_release_fn)(const struct flow_key *k, const struct flow_entry *e, void *arg);
void flow_table_set_release(struct flow_table *t, flow_release_fn fn, void *arg);

uint32_t flow_table_capacity(const struct flow_table *t);
uint32_t flow_table_count(const struct flow_table *t);
const struct flow_stats *flow_table_stats(const struct flow_table *t);

/*
 * The entry for k, or NULL. hash is flow_hash(k) (any hash works if insert
 * and lookup use the same; 0 is stored as 1). An expired entry is freed,
 * counted in stats.expired, and not returned.
 */
struct flow_entry *flow_lookup(struct flow_table *t, const struct flow_key *k, uint32_t hash,
			       uint32_t now);

/*
 * Look up n keys (FLOW_BULK_MAX at a time: a larger n is done in rounds),
 * in stages over the whole burst so that its cache misses overlap (see
 * flow.c). out[i] is the live entry for keys[i] or NULL, exactly as n calls
 * of flow_lookup in order would give (expired entries freed, counted and
 * released; the same key twice finds the same entry). Results stay valid
 * until the next insert, delete, age or flush.
 */
#define FLOW_BULK_MAX 64
void flow_lookup_bulk(struct flow_table *t, const struct flow_key *const keys[],
		      const uint32_t hashes[], unsigned int n, uint32_t now,
		      struct flow_entry *out[]);

/*
 * A fresh entry for k (k stored with it, the entry zeroed but for last_seen =
 * now and its state), or NULL when the table is full. Expired entries are
 * reused first; when both candidate buckets hold only live entries, entries
 * are moved to their other bucket to make room (bounded search) and, failing
 * that, an entry in SYN state is evicted before an established one;
 * established ones are never evicted for a new SYN-only flow (returns NULL
 * and counts full). The caller must have checked that k is not present.
 * The new entry's state: FLOW_STATE_UDP when k is not TCP (UDP, ICMP, ...),
 * else FLOW_STATE_SYN when syn_only, else FLOW_STATE_EST.
 *
 * Entry pointers (from any lookup or insert) stay valid only until the next
 * flow_insert, flow_lookup_or_insert that inserts, flow_delete, flow_age or
 * flow_flush on the table: an insert may move an entry to its other bucket or
 * evict it.
 */
struct flow_entry *flow_insert(struct flow_table *t, const struct flow_key *k, uint32_t hash,
			       uint32_t now, bool syn_only);

/*
 * flow_lookup, then flow_insert when k is absent, in one pass over the two
 * buckets: the same result, statistics and releases as the two calls.
 * *inserted tells a fresh entry from a live one; NULL (and *inserted false)
 * when k is absent and the table has no room for it.
 */
struct flow_entry *flow_lookup_or_insert(struct flow_table *t, const struct flow_key *k,
					 uint32_t hash, uint32_t now, bool syn_only,
					 bool *inserted);

/* The key of a live entry (valid as long as the entry pointer is). */
const struct flow_key *flow_entry_key(const struct flow_table *t, const struct flow_entry *e);

/* Remove a live entry (releasing it); an entry already removed is left alone. */
void flow_delete(struct flow_table *t, struct flow_entry *e);

/*
 * Advance the state machine for one packet's TCP flags and refresh last_seen:
 * SYN-only keeps SYN, ACK without SYN moves SYN to EST, FIN or RST moves to
 * CLOSING, a bare SYN on a CLOSING flow (port reuse) back to SYN. Flows that
 * are not TCP are FLOW_STATE_UDP from their insert on and stay so.
 */
void flow_touch(struct flow_entry *e, uint8_t tcp_flags, uint32_t now);

/* Age up to n_buckets buckets from where the last call stopped; returns entries freed. */
uint32_t flow_age(struct flow_table *t, uint32_t now, uint32_t n_buckets);

/*
 * Drop every entry whose backend is `backend` (or all when backend == UINT32_MAX);
 * returns entries freed. Walks the whole table in one call.
 */
uint32_t flow_flush(struct flow_table *t, uint32_t backend);

/*
 * Visit the live (not expired) entries of up to n_buckets buckets from
 * *cursor on, advancing it, so that a whole-table walk can be spread over
 * many calls. fn must not insert or delete. Returns true when this call
 * reached the table's end (*cursor is back to 0).
 */
typedef void (*flow_walk_fn)(const struct flow_key *k, struct flow_entry *e, void *arg);
bool flow_table_walk(struct flow_table *t, uint32_t *cursor, uint32_t n_buckets, uint32_t now,
		     flow_walk_fn fn, void *arg);

#endif /* EQX_FLOW_H */
