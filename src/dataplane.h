/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One frame's way through a worker, apart from the poll loop so that the
 * dataplane tests can drive it with constructed mbufs.
 */
#ifndef EQX_DATAPLANE_H
#define EQX_DATAPLANE_H

#include "eqx.h"

/* A worker's view for one loop iteration, plus its TX buffers. */
struct eqx_dp_ctx {
	struct eqx_app *app;
	struct eqx_worker *w;
	const struct eqx_state *st;
	const struct eqx_nh_table *nht;
	uint32_t now;             /* seconds */
	uint64_t seen_generation; /* the last generation whose settings this worker applied */
	uint64_t rx_tsc;          /* when the burst being processed was received */
	bool relay;               /* the frames being processed came from another worker */
	uint8_t ha_mode;          /* enum eqx_ha_mode, read once a loop */
	bool cluster_reinject;    /* a frame the cluster agent answered: no second query */
	bool cluster_walking;     /* the walk after a new cluster generation is under way */
	uint32_t cluster_walk_gen;
	uint32_t cluster_walk_cursor;
	uint32_t cluster_walk_next; /* seconds: when the refresh walk runs again */
	uint16_t ip_id;
	uint16_t n_tx[EQX_MAX_PORTS];
	struct rte_mbuf *tx[EQX_MAX_PORTS][EQX_BURST];
};

void eqx_dp_ctx_init(struct eqx_dp_ctx *c, struct eqx_app *app, struct eqx_worker *w);

/*
 * Send m alone, now, and report the TSC read right before its burst to the
 * control lcore (an EQX_EV_TX_STAMP event with the cookie in its stamp field).
 */
void eqx_dp_tx_stamped(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf *m);

/* Classify and forward, hand to control, or drop one frame received on port index p. */
void eqx_dp_process(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf *m);

/* The same for a burst of frames from one port (the worker's entry point). */
void eqx_dp_process_burst(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf **pkts,
			  unsigned int n);

/*
 * One iteration of a worker's poll loop: every port's RX queue, the control
 * lcore's frames, TX flush, a slice of flow ageing. Returns the frames handled.
 * The benchmark calls exactly this.
 */
unsigned int eqx_worker_poll(struct eqx_dp_ctx *c);

/*
 * What the control lcore asks this worker to put in its tables: pins that
 * other workers made, and (with HA) the flows and pins synced from the peer.
 * Returns how many it applied.
 */
unsigned int eqx_dp_installs(struct eqx_dp_ctx *c);

/* Distributed mode: a slice of the flow-table walk after a new cluster generation. */
void eqx_dp_cluster_walk(struct eqx_dp_ctx *c);

/*
 * The flow table's release hook: keeps the active-flow counters right and,
 * with HA, tells the HA agent the flow ended.
 */
void eqx_dp_flow_released(const struct flow_key *k, const struct flow_entry *e, void *arg);

/*
 * Handle again a frame this worker already counted when it arrived: one
 * another worker relayed here, or one the cluster agent held for its answer.
 */
void eqx_dp_process_again(struct eqx_dp_ctx *c, struct rte_mbuf *m);

/* Queue m for TX on port index p (flushed when the burst is full or by eqx_dp_flush). */
void eqx_dp_tx(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf *m);
void eqx_dp_flush(struct eqx_dp_ctx *c);

/* Open-addressing slot hash for the state's small lookup tables. */
static inline uint32_t
eqx_key_hash(uint8_t family, const uint8_t *addr, uint8_t proto, uint16_t port)
{
	uint32_t h = flow_hash_addr(family, addr);

	h ^= ((uint32_t)proto << 16 | port) * 0x9e3779b1u;
	return h ^ (h >> 15);
}

/* Lookups in a published state; NULL when absent. */
static inline const struct eqx_vip *
eqx_state_vip_by_id(const struct eqx_state *st, uint32_t id)
{
	return id < EQX_MAX_VIP_IDS && st->vip_by_id[id] != 0 ? &st->vips[st->vip_by_id[id] - 1]
							      : NULL;
}

const struct eqx_vip *eqx_state_vip(const struct eqx_state *st, uint8_t family, const uint8_t *addr,
				    uint8_t proto, uint16_t port);
const struct eqx_local *eqx_state_local(const struct eqx_state *st, uint8_t family,
					const uint8_t *addr);

#endif /* EQX_DATAPLANE_H */
