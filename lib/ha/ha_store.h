/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ha: one box's copy of the pair's replicated state (flows and affinity
 * pins), keyed, with what the sync needs around it: an order-independent
 * digest that compares two boxes in one number, mark-and-sweep for bulk
 * syncs, and cursors that walk it a slice at a time.
 */
#ifndef EQX_HA_STORE_H
#define EQX_HA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/flow.h"

/*
 * What an entry is. A flow is keyed by its 5-tuple; an affinity pin by
 * (client, VIP): the caller writes the client into key.src, the VIP's
 * reference into key.dport, and leaves proto 0.
 */
#define HA_STORE_FLOW 1
#define HA_STORE_AFFINITY 2
#define HA_STORE_KINDS 3 /* kinds are 1..HA_STORE_KINDS-1 */

struct ha_store_ent {
	struct flow_key key;
	/* Compared between boxes (the digest): change only through ha_store_set. */
	uint64_t backend; /* the caller's backend reference */
	uint16_t vip;     /* the caller's VIP reference */
	uint8_t state;    /* enum flow_state for flows */
	uint8_t kind;
	/* The caller's own, free to write. */
	uint8_t marked; /* set by ha_store_mark, cleared by ha_store_set */
	uint8_t pad[3];
	uint64_t holders; /* e.g. the workers whose table holds it */
	uint64_t stamp;   /* e.g. when it last changed, or was refreshed */
	/* The store's. */
	uint32_t hash;
	uint32_t next; /* hash chain, or the free list */
};

struct ha_store_stats {
	uint64_t inserts;
	uint64_t deletes;
	uint64_t full; /* puts refused: capacity reached */
	uint64_t swept;
};

struct ha_store;

/*
 * A store of at most capacity entries (1..2^30). Its index is sized for the
 * capacity at once, so that an insert never stalls on a rehash; entries are
 * allocated in chunks as they come. NULL and errno (EINVAL, ENOMEM).
 */
struct ha_store *ha_store_create(uint32_t capacity);
void ha_store_free(struct ha_store *s);

/* The entry of (kind, key), or NULL. */
struct ha_store_ent *ha_store_find(const struct ha_store *s, uint8_t kind,
				   const struct flow_key *key);

/*
 * The entry of (kind, key), made when absent (*created true; backend, vip,
 * state 0; holders, stamp, marked 0), or NULL when the store is full.
 */
struct ha_store_ent *ha_store_put(struct ha_store *s, uint8_t kind, const struct flow_key *key,
				  bool *created);

/* Change what the digest covers, and clear the mark: the entry is current. */
void ha_store_set(struct ha_store *s, struct ha_store_ent *e, uint16_t vip, uint64_t backend,
		  uint8_t state);

/* Remove an entry (pointers to it are dead after). */
void ha_store_del(struct ha_store *s, struct ha_store_ent *e);

/* Entries of a kind (0: all). */
uint32_t ha_store_count(const struct ha_store *s, uint8_t kind);

/*
 * The sum of a 64-bit mix of (kind, key, vip, backend, state) over every
 * entry: two stores with the same entries have the same digest, whatever the
 * order things happened in, and it costs nothing to keep.
 */
uint64_t ha_store_digest(const struct ha_store *s);

/*
 * The next entry at or after *cursor (start at 0), or NULL at the end;
 * *cursor moves past it. Entries put or deleted meanwhile may or may not be
 * seen; every entry present throughout is seen once.
 */
struct ha_store_ent *ha_store_next(const struct ha_store *s, uint32_t *cursor);

/* Mark every entry of the kinds in kind_mask (bit 1 << kind). Returns how many. */
uint32_t ha_store_mark(struct ha_store *s, unsigned int kind_mask);

/* Remove every marked entry, calling fn(arg, e) before each goes. Returns how many. */
typedef void (*ha_store_sweep_fn)(void *arg, const struct ha_store_ent *e);
uint32_t ha_store_sweep(struct ha_store *s, ha_store_sweep_fn fn, void *arg);

const struct ha_store_stats *ha_store_stats(const struct ha_store *s);

#endif /* EQX_HA_STORE_H */
