/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-frame classification and forwarding. Reads only the published state
 * generation in ctx, writes only the worker's own tables and counters.
 *
 * A burst is handled in two passes: the first parses and classifies every
 * frame (frames for the control lcore, ICMP errors, later fragments and drops
 * are finished there), the second looks up all VIP frames' flows at once so the
 * table's cache misses overlap, then picks backends for the misses and
 * encapsulates.
 *
 * Fragments: a first fragment carries the ports, so it is balanced like any
 * packet and its (source, destination, protocol, IP id) is remembered with the
 * backend; later fragments follow that record. All fragments of a datagram
 * hash alike (RSS and af_packet fanout use L3 alone for fragments), so they
 * meet on one worker. A later fragment that arrives before its first one is
 * dropped and counted (fragment_unknown).
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include "cluster/cluster_wire.h"
#include "dataplane.h"
#include "maglev/maglev.h"

#define EQX_GUE_OVERHEAD (8 + NET_GUE_LEN)
#define EQX_GUE_SPORT_BASE 0xc000 /* source ports 49152..65535 carry the flow hash */
#define EQX_PTB_QUOTE_MAX 548     /* RFC 1812: quote up to 576 bytes in all */
#define EQX_PTB6_QUOTE_MAX 1184   /* the whole ICMPv6 error within 1280 bytes */

/* A VIP frame waiting for the bulk flow lookup. */
struct pending {
	struct rte_mbuf *m;
	const struct eqx_vip *vip;
	struct flow_key key;
	uint32_t hash;
	struct net_hdrs h;
};

static void flow_assign(struct eqx_worker *w, struct flow_entry *e, const struct eqx_vip *vip,
			const struct eqx_backend *b, bool fresh);
static void cluster_record(struct eqx_dp_ctx *c, const struct flow_key *k,
			   const struct flow_entry *e, const struct eqx_backend *b);

void
eqx_dp_ctx_init(struct eqx_dp_ctx *c, struct eqx_app *app, struct eqx_worker *w)
{
	memset(c, 0, sizeof(*c));
	c->app = app;
	c->w = w;
}

/* Constant sizes: the compiler compares inline instead of calling memcmp. */
static inline bool
addr_eq(uint8_t family, const uint8_t *a, const uint8_t *b)
{
	return family == 4 ? memcmp(a, b, 4) == 0 : memcmp(a, b, 16) == 0;
}

const struct eqx_vip *
eqx_state_vip(const struct eqx_state *st, uint8_t family, const uint8_t *addr, uint8_t proto,
	      uint16_t port)
{
	unsigned int pass;

	/* An exact port beats a VIP that takes every port. */
	for (pass = 0; pass < 2; pass++) {
		uint16_t want = pass == 0 ? port : 0;
		uint32_t i = eqx_key_hash(family, addr, proto, want) & (EQX_VIP_HASH_SIZE - 1);
		uint16_t slot;

		while ((slot = st->vip_hash[i]) != 0) {
			const struct eqx_vip *v = &st->vips[slot - 1];

			if (v->family == family && v->proto == proto && v->port == want &&
			    addr_eq(family, v->addr, addr))
				return v;
			i = (i + 1) & (EQX_VIP_HASH_SIZE - 1);
		}
		if (port == 0)
			break;
	}
	return NULL;
}

const struct eqx_local *
eqx_state_local(const struct eqx_state *st, uint8_t family, const uint8_t *addr)
{
	uint32_t i = eqx_key_hash(family, addr, 0, 0) & (EQX_VIP_HASH_SIZE - 1);
	uint16_t slot;

	while ((slot = st->local_hash[i]) != 0) {
		const struct eqx_local *l = &st->locals[slot - 1];

		if (l->family == family && addr_eq(family, l->addr, addr))
			return l;
		i = (i + 1) & (EQX_VIP_HASH_SIZE - 1);
	}
	return NULL;
}

static inline void
drop(struct eqx_dp_ctx *c, unsigned int reason, struct rte_mbuf *m)
{
	c->w->stats.drops[reason]++;
	rte_pktmbuf_free(m);
}

static void
tx_flush_port(struct eqx_dp_ctx *c, unsigned int p)
{
	struct eqx_worker_stats *s = &c->w->stats;
	uint16_t n = c->n_tx[p];
	uint16_t sent, i;

	sent = rte_eth_tx_burst(c->app->ports[p].port_id, (uint16_t)c->w->id, c->tx[p], n);
	for (i = 0; i < sent; i++)
		s->tx_bytes += rte_pktmbuf_pkt_len(c->tx[p][i]);
	s->tx_packets += sent;
	for (i = sent; i < n; i++)
		drop(c, EQX_DROP_TX_FULL, c->tx[p][i]);
	c->n_tx[p] = 0;
}

void
eqx_dp_tx(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf *m)
{
	if (unlikely(p >= c->app->n_ports)) {
		drop(c, EQX_DROP_TX_FULL, m);
		return;
	}
	c->tx[p][c->n_tx[p]++] = m;
	if (c->n_tx[p] == EQX_BURST)
		tx_flush_port(c, p);
}

void
eqx_dp_tx_stamped(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf *m)
{
	struct eqx_event ev = { .type = EQX_EV_TX_STAMP, .vip = (uint16_t)p };
	uint64_t before;
	uint32_t len;
	uint16_t port;

	if (unlikely(p >= c->app->n_ports)) {
		drop(c, EQX_DROP_TX_FULL, m);
		return;
	}
	port = c->app->ports[p].port_id;
	if (c->n_tx[p] != 0)
		tx_flush_port(c, p);
	ev.stamp.cookie = *RTE_MBUF_DYNFIELD(m, eqx_stamp_offset, uint64_t *);
	m->ol_flags &= ~eqx_tx_stamp_flag;
	len = rte_pktmbuf_pkt_len(m); /* the PMD may free m as soon as it is sent */
	before = rte_rdtsc();
	if (rte_eth_tx_burst(port, (uint16_t)c->w->id, &m, 1) != 1) {
		drop(c, EQX_DROP_TX_FULL, m);
		return;
	}
	/*
	 * The stamp is the TSC right before the burst (read after it, the veth
	 * tests showed a negative path delay: later than the kernel's own stamp).
	 */
	ev.stamp.tsc = before;
	c->w->stats.tx_packets++;
	c->w->stats.tx_bytes += len;
	if (rte_ring_sp_enqueue_elem(c->w->events, &ev, sizeof(ev)) != 0)
		c->w->stats.events_lost++;
}

void
eqx_dp_flush(struct eqx_dp_ctx *c)
{
	unsigned int p;

	for (p = 0; p < c->app->n_ports; p++)
		if (c->n_tx[p] != 0)
			tx_flush_port(c, p);
}

static void
to_control(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf *m)
{
	m->port = (uint16_t)p;
	*EQX_HOPS(m) = 0;
	*RTE_MBUF_DYNFIELD(m, eqx_stamp_offset, uint64_t *) = c->rx_tsc;
	if (unlikely(rte_ring_sp_enqueue(c->w->to_ctrl, m) != 0)) {
		drop(c, EQX_DROP_CONTROL_RING_FULL, m);
		return;
	}
	c->w->stats.to_control++;
}

static inline void
key_set(struct flow_key *k, uint8_t family, uint8_t proto, const uint8_t *src, const uint8_t *dst,
	uint16_t sport, uint16_t dport)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = proto;
	k->sport = sport;
	k->dport = dport;
	memcpy(k->src, src, family == 4 ? 4 : 16);
	memcpy(k->dst, dst, family == 4 ? 4 : 16);
}

static inline bool
backend_usable(const struct eqx_backend *b, const struct eqx_vip *vip)
{
	return b != NULL && b->vip == vip->id && b->state != CFG_BACKEND_DOWN;
}

static inline const struct eqx_backend *
backend_get(const struct eqx_state *st, uint32_t id)
{
	return id < EQX_MAX_BACKEND_IDS ? st->backend_by_id[id] : NULL;
}

/*
 * A backend for a connection that has no flow entry: the client's pinned
 * backend under affinity, else Maglev over the 5-tuple (or, under affinity,
 * the client address, so that every worker and instance agrees without asking).
 */
static const struct eqx_backend *
choose(struct eqx_dp_ctx *c, const struct eqx_vip *vip, uint8_t family, const uint8_t *client,
       uint32_t hash, bool pin)
{
	const struct eqx_state *st = c->st;
	struct eqx_worker *w = c->w;
	const struct eqx_backend *b;
	struct flow_entry *ae = NULL;
	struct flow_key ak;
	uint32_t ahash = 0, slot;

	if (vip->affinity == CFG_AFFINITY_CLIENT_IP) {
		key_set(&ak, family, 0, client, vip->addr, 0, vip->port);
		ak.dport = vip->id;
		ahash = flow_hash(&ak);
		ae = flow_lookup(w->affinity, &ak, ahash, c->now);
		if (ae != NULL && (uint32_t)(c->now - ae->last_seen) <= vip->affinity_timeout) {
			b = backend_get(st, ae->backend);
			/* Only an active backend takes a new connection, pinned or not. */
			if (b != NULL && b->vip == vip->id && b->state == CFG_BACKEND_ACTIVE) {
				if (pin)
					ae->last_seen = c->now;
				w->stats.affinity_hits++;
				return b;
			}
		}
		hash = flow_hash_addr(family, client);
	}
	slot = maglev_lookup(vip->maglev->slots, vip->maglev->size, hash);
	if (unlikely(slot == MAGLEV_EMPTY))
		return NULL;
	b = backend_get(st, slot);
	if (unlikely(b == NULL))
		return NULL;

	if (vip->affinity == CFG_AFFINITY_CLIENT_IP && pin) {
		struct eqx_event ev = {
			.type = EQX_EV_AFFINITY, .family = family, .vip = vip->id, .backend = b->id
		};

		if (ae == NULL)
			ae = flow_insert(w->affinity, &ak, ahash, c->now, false);
		if (ae != NULL) {
			ae->backend = b->id;
			ae->vip = vip->id;
			ae->last_seen = c->now;
		}
		/* The other workers learn the pin through the control lcore. */
		memcpy(ev.client, client, 16);
		if (rte_ring_sp_enqueue_elem(w->events, &ev, sizeof(ev)) != 0)
			w->stats.events_lost++;
	}
	return b;
}

/* Install a pin another worker made (arrives through the control lcore). */
/*
 * The affinity entry pinning client to backend on vip, inserted when new
 * (*fresh); NULL when the table is full. The caller sets last_seen.
 */
static struct flow_entry *
affinity_pin(struct eqx_dp_ctx *c, const struct eqx_vip *vip, uint8_t family, const uint8_t *client,
	     uint32_t backend, bool *fresh)
{
	struct flow_entry *ae;
	struct flow_key ak;

	key_set(&ak, family, 0, client, vip->addr, 0, vip->port);
	ak.dport = vip->id;
	ae = flow_lookup_or_insert(c->w->affinity, &ak, flow_hash(&ak), c->now, false, fresh);
	if (ae != NULL) {
		ae->backend = backend;
		ae->vip = vip->id;
	}
	return ae;
}

static void
affinity_install(struct eqx_dp_ctx *c, const struct eqx_event *ev)
{
	const struct eqx_vip *vip = eqx_state_vip_by_id(c->st, ev->vip);
	struct flow_entry *ae;
	bool fresh;

	if (vip == NULL)
		return;
	ae = affinity_pin(c, vip, ev->family, ev->client, ev->backend, &fresh);
	if (ae == NULL)
		return;
	ae->last_seen = c->now;
	c->w->stats.affinity_installs++;
}

/*
 * Tell the HA agent about a flow entry. Only with HA (w->ha_events set). A
 * full ring loses the event, counted in ha_events_lost: the ring holds 16k
 * and the control lcore drains it every iteration.
 */
static __rte_noinline void
ha_flow_event(struct eqx_worker *w, uint8_t type, const struct flow_key *k,
	      const struct flow_entry *e)
{
	struct eqx_flow_event ev = {
		.type = type, .state = e->state, .vip = e->vip, .backend = e->backend, .key = *k
	};

	if (rte_ring_sp_enqueue_elem(w->ha_events, &ev, sizeof(ev)) != 0)
		w->stats.ha_events_lost++;
	else
		w->stats.ha_events++;
}

/* flow_touch, and an event when the TCP state moved (the standby keeps the timeouts right). */
static __rte_noinline void
ha_touch(struct eqx_worker *w, const struct flow_key *k, struct flow_entry *e, uint8_t tcp_flags,
	 uint32_t now)
{
	uint8_t before = e->state;

	flow_touch(e, tcp_flags, now);
	if (e->state != before)
		ha_flow_event(w, EQX_FEV_STATE, k, e);
}

/* A flow synced from the HA peer: put it in this worker's table, or refresh it. */
static void
ha_install_flow(struct eqx_dp_ctx *c, const struct eqx_flow_event *ev)
{
	struct eqx_worker *w = c->w;
	const struct eqx_vip *vip = eqx_state_vip_by_id(c->st, ev->vip);
	const struct eqx_backend *b = backend_get(c->st, ev->backend);
	uint32_t seen = c->now > ev->age_s ? c->now - ev->age_s : 0;
	struct flow_entry *e;
	bool fresh;

	/* The agent resolved the ids with an older generation and the backend went since. */
	if (vip == NULL || !backend_usable(b, vip)) {
		w->stats.ha_installs_stale++;
		return;
	}
	e = flow_lookup_or_insert(w->flows, &ev->key, flow_hash(&ev->key), c->now,
				  ev->state == FLOW_STATE_SYN, &fresh);
	if (e == NULL) {
		w->stats.ha_installs_refused++;
		return;
	}
	if (!fresh) {
		w->stats.vip[e->vip].active--;
		w->stats.backend[e->backend].active--;
	}
	e->vip = vip->id;
	e->backend = b->id;
	w->stats.vip[vip->id].active++;
	w->stats.backend[b->id].active++;
	e->state = ev->state < FLOW_STATE_MAX ? ev->state : FLOW_STATE_EST;
	if (fresh || (int32_t)(seen - e->last_seen) > 0)
		e->last_seen = seen;
	w->stats.ha_installs++;
}

static void
ha_remove_flow(struct eqx_dp_ctx *c, const struct eqx_flow_event *ev)
{
	struct eqx_worker *w = c->w;
	struct flow_entry *e = flow_lookup(w->flows, &ev->key, flow_hash(&ev->key), c->now);

	if (e == NULL)
		return;
	/* The agent asked for it and knows: no ENDED event back. */
	w->ha_quiet = true;
	flow_delete(w->flows, e);
	w->ha_quiet = false;
	w->stats.ha_installs++;
}

static void
ha_install_pin(struct eqx_dp_ctx *c, const struct eqx_flow_event *ev)
{
	const struct eqx_vip *vip = eqx_state_vip_by_id(c->st, ev->vip);
	uint32_t seen = c->now > ev->age_s ? c->now - ev->age_s : 0;
	struct flow_entry *ae;
	bool fresh;

	if (vip == NULL || vip->affinity != CFG_AFFINITY_CLIENT_IP) {
		c->w->stats.ha_installs_stale++;
		return;
	}
	ae = affinity_pin(c, vip, ev->key.family, ev->key.src, ev->backend, &fresh);
	if (ae == NULL) {
		c->w->stats.ha_installs_refused++;
		return;
	}
	if (fresh || (int32_t)(seen - ae->last_seen) > 0)
		ae->last_seen = seen;
	c->w->stats.ha_installs++;
}

void
eqx_dp_process_again(struct eqx_dp_ctx *c, struct rte_mbuf *m)
{
	/* Counted once, when it arrived. */
	c->w->stats.rx_packets--;
	c->w->stats.rx_bytes -= rte_pktmbuf_pkt_len(m);
	eqx_dp_process_burst(c, m->port, &m, 1);
}

/* The cluster's answer to a flow this worker asked about, then the frame that asked. */
static void
cluster_install(struct eqx_dp_ctx *c, const struct eqx_cl_install *in)
{
	struct eqx_worker *w = c->w;
	const struct eqx_vip *vip = eqx_state_vip_by_id(c->st, in->vip);
	const struct eqx_backend *b = backend_get(c->st, in->backend);
	struct flow_entry *e;
	bool fresh;

	if (in->backend == UINT32_MAX) {
		/* Nothing to install: the frame is balanced as any other. */
	} else if (vip == NULL || !backend_usable(b, vip)) {
		w->stats.cluster_installs_stale++;
	} else {
		e = flow_lookup_or_insert(w->flows, &in->key, flow_hash(&in->key), c->now, false,
					  &fresh);
		if (e != NULL && fresh) {
			flow_assign(w, e, vip, b, true);
			e->state = in->state < FLOW_STATE_MAX ? in->state : FLOW_STATE_EST;
			e->last_seen = c->now;
			w->stats.cluster_installs++;
		}
	}
	if (in->m != NULL) {
		*EQX_HOPS(in->m) = 0;
		c->cluster_reinject = true;
		eqx_dp_process_again(c, in->m);
		c->cluster_reinject = false;
	}
}

static unsigned int
cluster_installs(struct eqx_dp_ctx *c)
{
	struct eqx_cl_install in[EQX_BURST];
	unsigned int n, i;

	n = rte_ring_sc_dequeue_burst_elem(c->w->cl_installs, in, sizeof(in[0]), EQX_BURST, NULL);
	for (i = 0; i < n; i++)
		cluster_install(c, &in[i]);
	return n;
}

/* One entry of the walk after a new cluster generation. */
static void
cluster_walk_one(const struct flow_key *k, struct flow_entry *e, void *arg)
{
	struct eqx_dp_ctx *c = arg;
	const struct eqx_vip *vip = eqx_state_vip_by_id(c->st, e->vip);
	const struct eqx_backend *b = backend_get(c->st, e->backend);
	uint32_t slot, hash;

	if (vip == NULL || vip->affinity == CFG_AFFINITY_CLIENT_IP || !backend_usable(b, vip))
		return;
	hash = flow_hash(k);
	slot = maglev_lookup(vip->maglev->slots, vip->maglev->size, hash);
	/* The previous table is what an asker falls back to during a transition. */
	if (slot != e->backend ||
	    (vip->prev_maglev != NULL &&
	     maglev_lookup(vip->prev_maglev->slots, vip->prev_maglev->size, hash) != e->backend))
		cluster_record(c, k, e, b);
}

/* Buckets of the flow table the walk looks at a loop (8 entries each). */
#define EQX_CLUSTER_WALK_BUCKETS 64

void
eqx_dp_cluster_walk(struct eqx_dp_ctx *c)
{
	/*
	 * A new cluster generation: the flows that began before it and whose
	 * backend the new tables would not give are recorded with their owners,
	 * so that another instance the router moves them to can ask. Every half
	 * established timeout the walk runs again, refreshing the records of the
	 * long-lived flows before the owners forget them.
	 */
	if (c->st->cluster_gen != c->cluster_walk_gen ||
	    (!c->cluster_walking && (int32_t)(c->now - c->cluster_walk_next) >= 0)) {
		c->cluster_walk_gen = c->st->cluster_gen;
		c->cluster_walk_cursor = 0;
		c->cluster_walking = true;
		c->w->stats.cluster_walks++;
	}
	if (!c->cluster_walking)
		return;
	/* Leave room on the ring for the queries and the records of new flows. */
	if (rte_ring_free_count(c->w->cl_events) < EQX_CLUSTER_WALK_BUCKETS * 8 + EQX_BURST)
		return;
	if (flow_table_walk(c->w->flows, &c->cluster_walk_cursor, EQX_CLUSTER_WALK_BUCKETS, c->now,
			    cluster_walk_one, c)) {
		c->cluster_walking = false;
		c->cluster_walk_next =
			c->now + RTE_MAX(c->st->cfg->dataplane.timeouts.tcp_established_s / 2, 1u);
	}
}

/* A bulk sync brings a million flows: take more than a burst of them a loop. */
#define EQX_HA_INSTALL_BURST 128

unsigned int
eqx_dp_installs(struct eqx_dp_ctx *c)
{
	struct eqx_event ev[EQX_BURST];
	struct eqx_flow_event fev[EQX_HA_INSTALL_BURST];
	unsigned int n, i, got;

	n = rte_ring_sc_dequeue_burst_elem(c->w->installs, ev, sizeof(ev[0]), EQX_BURST, NULL);
	for (i = 0; i < n; i++)
		if (ev[i].type == EQX_EV_AFFINITY)
			affinity_install(c, &ev[i]);
	got = n;
	if (unlikely(c->w->cl_installs != NULL))
		got += cluster_installs(c);
	if (c->w->ha_installs == NULL)
		return got;
	n = rte_ring_sc_dequeue_burst_elem(c->w->ha_installs, fev, sizeof(fev[0]),
					   EQX_HA_INSTALL_BURST, NULL);
	for (i = 0; i < n; i++) {
		switch (fev[i].type) {
		case EQX_FEV_INSTALL:
			ha_install_flow(c, &fev[i]);
			break;
		case EQX_FEV_REMOVE:
			ha_remove_flow(c, &fev[i]);
			break;
		case EQX_FEV_PIN:
			ha_install_pin(c, &fev[i]);
			break;
		default:
			break;
		}
	}
	return got + n;
}

static void
flow_assign(struct eqx_worker *w, struct flow_entry *e, const struct eqx_vip *vip,
	    const struct eqx_backend *b, bool fresh)
{
	if (!fresh) {
		w->stats.vip[e->vip].active--;
		w->stats.backend[e->backend].active--;
	}
	e->vip = vip->id;
	e->backend = b->id;
	w->stats.vip[vip->id].active++;
	w->stats.backend[b->id].active++;
	w->stats.vip[vip->id].flows++;
	w->stats.backend[b->id].flows++;
}

/*
 * Distributed mode: tell the flow's owner in the cluster which backend it
 * has (cluster_rec, through the control lcore). Lost when the ring is full:
 * counted; the owner then answers "unknown" and the asker falls back.
 */
static __rte_noinline void
cluster_record(struct eqx_dp_ctx *c, const struct flow_key *k, const struct flow_entry *e,
	       const struct eqx_backend *b)
{
	const struct cfg *cfg = c->st->cfg;
	struct cluster_rec r;
	uint32_t life_s;

	memset(&r, 0, sizeof(r));
	r.type = CLUSTER_ITEM_FLOW;
	r.state = e->state;
	r.be_family = b->family;
	r.gen = c->st->cluster_gen;
	life_s = e->state == FLOW_STATE_SYN       ? cfg->dataplane.timeouts.tcp_syn_s
		 : e->state == FLOW_STATE_CLOSING ? cfg->dataplane.timeouts.tcp_closing_s
		 : e->state == FLOW_STATE_UDP     ? cfg->dataplane.timeouts.udp_s
						  : cfg->dataplane.timeouts.tcp_established_s;
	r.lifetime_ms = life_s * 1000u;
	r.key = *k;
	memcpy(r.backend, b->addr, b->family == 4 ? 4 : 16);
	if (rte_ring_sp_enqueue_elem(c->w->cl_events, &r, sizeof(r)) != 0)
		c->w->stats.cluster_records_lost++;
	else
		c->w->stats.cluster_records++;
}

/* The backend the previous cluster generation gives a flow, or NULL (none, or affinity). */
static inline const struct eqx_backend *
cluster_prev_choice(struct eqx_dp_ctx *c, const struct eqx_vip *vip, uint32_t hash)
{
	const struct eqx_maglev *pm = vip->prev_maglev;
	uint32_t slot;

	if (pm == NULL || vip->affinity == CFG_AFFINITY_CLIENT_IP)
		return NULL;
	slot = maglev_lookup(pm->slots, pm->size, hash);
	return slot == MAGLEV_EMPTY ? NULL : backend_get(c->st, slot);
}

/*
 * Distributed mode: a mid-connection TCP segment (no SYN) of a flow this
 * worker does not know began on another instance (the router moved it). It
 * goes up to the cluster agent, which asks the flow's owner and hands it
 * back with the answer installed. A UDP datagram of an unknown flow may
 * equally be new or be a known-active flow's: it is asked about only while a
 * transition keeps the previous table (outside one, every member gives an
 * unrecorded flow the same backend; the agent balances an unknown UDP flow
 * by the current table). True when it went up.
 */
static __rte_noinline bool
cluster_ask(struct eqx_dp_ctx *c, unsigned int p, struct pending *pd)
{
	struct rte_mbuf *m = pd->m;

	if (c->cluster_reinject || pd->vip->affinity == CFG_AFFINITY_CLIENT_IP)
		return false;
	if (pd->h.l4_proto == NET_PROTO_TCP ? (pd->h.tcp_flags & NET_TCP_SYN) != 0
					    : pd->vip->prev_maglev == NULL)
		return false;
	m->port = (uint16_t)p;
	*EQX_HOPS(m) = EQX_HOPS_CLUSTER;
	*RTE_MBUF_DYNFIELD(m, eqx_stamp_offset, uint64_t *) = c->rx_tsc;
	if (unlikely(rte_ring_sp_enqueue(c->w->to_ctrl, m) != 0)) {
		*EQX_HOPS(m) = 0;
		c->w->stats.cluster_queries_lost++;
		return false;
	}
	c->w->stats.cluster_queries++;
	return true;
}

/* The backend for a VIP frame whose flow was not found (or whose backend is gone). */
static const struct eqx_backend *
balance_miss(struct eqx_dp_ctx *c, struct pending *pd, struct flow_entry *e)
{
	struct eqx_worker *w = c->w;
	const struct net_hdrs *h = &pd->h;
	const struct eqx_backend *b;
	bool fresh = e == NULL;

	b = choose(c, pd->vip, h->family, h->src, pd->hash, true);
	if (unlikely(b == NULL))
		return NULL;
	if (e == NULL) {
		bool syn_only = h->l4_proto == NET_PROTO_TCP &&
				(h->tcp_flags & (NET_TCP_SYN | NET_TCP_ACK)) == NET_TCP_SYN;

		/* Two frames of one new flow in a burst: the first one inserted it. */
		e = flow_lookup_or_insert(w->flows, &pd->key, pd->hash, c->now, syn_only, &fresh);
		/* Without an entry the flow still goes where Maglev says: counted, not dropped. */
		if (unlikely(e == NULL)) {
			w->stats.drops[EQX_DROP_FLOW_TABLE_FULL]++;
			w->stats.vip[pd->vip->id].flows++;
			w->stats.backend[b->id].flows++;
			return b;
		}
		if (!fresh) {
			const struct eqx_backend *eb = backend_get(c->st, e->backend);

			if (backend_usable(eb, pd->vip)) {
				if (unlikely(w->ha_events != NULL))
					ha_touch(w, &pd->key, e, h->tcp_flags, c->now);
				else
					flow_touch(e, h->tcp_flags, c->now);
				return eb;
			}
		}
	}
	flow_assign(w, e, pd->vip, b, fresh);
	flow_touch(e, h->tcp_flags, c->now);
	if (unlikely(w->ha_events != NULL))
		ha_flow_event(w, EQX_FEV_CREATED, &pd->key, e);
	/*
	 * During a transition the owner learns a new flow the previous generation
	 * would move. Affinity VIPs are never asked about (cluster_ask): no record.
	 */
	if (unlikely(pd->vip->prev_maglev != NULL) && c->st->cluster &&
	    pd->vip->affinity != CFG_AFFINITY_CLIENT_IP) {
		const struct eqx_backend *pb = cluster_prev_choice(c, pd->vip, pd->hash);

		if (pb != b)
			cluster_record(c, &pd->key, e, b);
	}
	return b;
}

/* Remember where a first fragment went so that the rest of its datagram follows. */
static void
fragment_record(struct eqx_dp_ctx *c, const struct net_hdrs *h, const struct eqx_vip *vip,
		const struct eqx_backend *b)
{
	struct flow_entry *e;
	struct flow_key k;
	uint32_t hash;
	bool fresh;

	key_set(&k, h->family, h->l4_proto, h->src, h->dst, (uint16_t)(h->ip4_id >> 16),
		(uint16_t)h->ip4_id);
	hash = flow_hash(&k);
	e = flow_lookup_or_insert(c->w->frags, &k, hash, c->now, false, &fresh);
	if (e != NULL) {
		e->vip = vip->id;
		e->backend = b->id;
	}
}

/*
 * The frame is too big for the tunnel: tell the client the MTU that fits, as
 * a router would (ICMP fragmentation needed / ICMPv6 packet too big), so path
 * MTU discovery works through equinox. The error goes back out of the port the
 * frame came in on, to the MAC it came from; its source is the VIP.
 */
static void
send_too_big(struct eqx_dp_ctx *c, unsigned int p, const struct net_hdrs *h, struct rte_mbuf *m,
	     uint32_t mtu)
{
	uint8_t peer[6], *d;
	uint32_t quote, hdr;

	memcpy(peer, rte_pktmbuf_mtod_offset(m, uint8_t *, 6), 6);
	hdr = RTE_ETHER_HDR_LEN + (h->family == 4 ? NET_IP4_LEN : NET_IP6_LEN) + 8;
	quote = RTE_MIN((uint32_t)h->l3_total, h->family == 4 ? (uint32_t)EQX_PTB_QUOTE_MAX
							      : (uint32_t)EQX_PTB6_QUOTE_MAX);
	rte_pktmbuf_adj(m, h->l2_len);
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - quote);
	d = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)hdr);
	if (unlikely(d == NULL)) {
		drop(c, EQX_DROP_NO_HEADROOM, m);
		return;
	}
	net_eth_write(d, peer, c->app->ports[p].mac.addr_bytes,
		      h->family == 4 ? NET_ETHERTYPE_IP4 : NET_ETHERTYPE_IP6);
	if (h->family == 4) {
		uint8_t *ip = d + RTE_ETHER_HDR_LEN, *icmp = ip + NET_IP4_LEN;

		net_ipip4_write(ip, h->dst, h->src, (uint16_t)(8 + quote), NET_PROTO_ICMP, 0, 64, 0,
				true);
		icmp[0] = 3;
		icmp[1] = 4;
		net_put16(icmp + 2, 0);
		net_put16(icmp + 4, 0);
		net_put16(icmp + 6, (uint16_t)mtu);
		net_put16(icmp + 2, net_csum_fold(net_csum_partial(icmp, 8 + quote, 0)));
	} else {
		uint8_t *ip = d + RTE_ETHER_HDR_LEN, *icmp = ip + NET_IP6_LEN;

		net_ip6_write(ip, h->dst, h->src, (uint16_t)(8 + quote), NET_PROTO_ICMP6, 0, 0, 64);
		icmp[0] = 2;
		icmp[1] = 0;
		net_put16(icmp + 2, 0);
		net_put32(icmp + 4, mtu);
		net_put16(icmp + 2,
			  net_ip6_l4_csum(h->dst, h->src, NET_PROTO_ICMP6, icmp, 8 + quote, 2));
	}
	m->ol_flags = 0;
	c->w->stats.icmp_too_big_sent++;
	eqx_dp_tx(c, p, m);
}

/*
 * net_ipip4_write with TTL 64, for the outer header of every forwarded
 * packet, with its checksum added up from the field values rather than read
 * back from the header just written (a read that waits for those stores and
 * takes net_csum_partial's 16-bit loop): the same bytes.
 */
static inline void
outer_ip4_write(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], uint16_t inner_len,
		uint8_t proto, uint8_t tos, uint16_t id, bool df)
{
	uint16_t len = (uint16_t)(NET_IP4_LEN + inner_len), frag = df ? 0x4000 : 0;
	uint32_t sum;

	sum = (0x4500u | tos) + len + id + frag + (64u << 8 | proto) + net_get16(src) +
	      net_get16(src + 2) + net_get16(dst) + net_get16(dst + 2);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	p[0] = 0x45;
	p[1] = tos;
	net_put16(p + 2, len);
	net_put16(p + 4, id);
	net_put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	net_put16(p + 10, (uint16_t)~sum);
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
}

/* Wrap the IP packet of m in IPv4 or IPv6 (and UDP+GUE) toward b. */
static void
encap_ip(struct eqx_dp_ctx *c, unsigned int in_port, const struct net_hdrs *h,
	 const struct eqx_vip *vip, const struct eqx_backend *b, const struct eqx_nh *nh,
	 uint32_t hash, struct rte_mbuf *m)
{
	bool gue = vip->forwarding == CFG_FWD_GUE;
	uint32_t ip_len = b->family == 4 ? NET_IP4_LEN : NET_IP6_LEN;
	uint32_t extra = ip_len + (gue ? EQX_GUE_OVERHEAD : 0);
	uint32_t inner_len = h->l3_total, payload = inner_len + (gue ? EQX_GUE_OVERHEAD : 0);
	uint32_t mtu = c->st->port[nh->port].mtu;
	uint8_t inner_proto = h->family == 4 ? NET_PROTO_IPIP : NET_PROTO_IP6;
	bool df = h->family == 6 || (h->ip_flags & 0x40) != 0;
	uint8_t *o, *l3, *udp;

	if (unlikely(inner_len + extra > mtu)) {
		/* Without DF an IPv4 sender expects routers to fragment; we do not. */
		if (df && h->frag == NET_FRAG_NONE)
			send_too_big(c, in_port, h, m, mtu - extra);
		else
			drop(c, EQX_DROP_MTU_EXCEEDED, m);
		return;
	}
	/* Ethernet padding after the IP packet must not travel inside the tunnel. */
	if (rte_pktmbuf_pkt_len(m) > h->l2_len + inner_len)
		rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - h->l2_len - inner_len);
	rte_pktmbuf_adj(m, h->l2_len);
	o = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)(RTE_ETHER_HDR_LEN + extra));
	if (unlikely(o == NULL)) {
		drop(c, EQX_DROP_NO_HEADROOM, m);
		return;
	}
	l3 = o + RTE_ETHER_HDR_LEN;
	net_eth_write(o, nh->mac.addr_bytes, c->app->ports[nh->port].mac.addr_bytes,
		      b->family == 4 ? NET_ETHERTYPE_IP4 : NET_ETHERTYPE_IP6);
	if (b->family == 4)
		outer_ip4_write(l3, b->src, b->addr, (uint16_t)payload,
				gue ? NET_PROTO_UDP : inner_proto, h->tos, df ? 0 : c->ip_id++, df);
	else
		net_ip6_write(l3, b->src, b->addr, (uint16_t)payload,
			      gue ? NET_PROTO_UDP : inner_proto, h->tos, hash & 0xfffff, 64);
	if (gue) {
		udp = l3 + ip_len;
		/* The source port carries the flow hash so the backends' RSS spreads flows. */
		net_udp_write(udp, (uint16_t)(EQX_GUE_SPORT_BASE | (hash & 0x3fff)), vip->gue_port,
			      (uint16_t)payload);
		net_gue_write(udp + 8, inner_proto);
		/* UDP over IPv6 must carry a checksum (RFC 8200 8.1). */
		if (b->family == 6)
			net_put16(udp + 6,
				  net_ip6_l4_csum(b->src, b->addr, NET_PROTO_UDP, udp, payload, 6));
	}
	m->ol_flags = 0;
	eqx_dp_tx(c, nh->port, m);
}

/* L2 direct server return: the frame keeps its IP packet, only its MACs change. */
static void
encap_l2(struct eqx_dp_ctx *c, const struct net_hdrs *h, const struct eqx_nh *nh,
	 struct rte_mbuf *m)
{
	uint8_t *o;

	if (rte_pktmbuf_pkt_len(m) > (uint32_t)h->l2_len + h->l3_total)
		rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - h->l2_len - h->l3_total);
	/* Tags of the client's segment mean nothing on the backend's: rebuild L2. */
	rte_pktmbuf_adj(m, h->l2_len);
	o = (uint8_t *)rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN);
	if (unlikely(o == NULL)) {
		drop(c, EQX_DROP_NO_HEADROOM, m);
		return;
	}
	net_eth_write(o, nh->mac.addr_bytes, c->app->ports[nh->port].mac.addr_bytes,
		      h->family == 4 ? NET_ETHERTYPE_IP4 : NET_ETHERTYPE_IP6);
	m->ol_flags = 0;
	eqx_dp_tx(c, nh->port, m);
}

static void
forward(struct eqx_dp_ctx *c, unsigned int in_port, const struct net_hdrs *h,
	const struct eqx_vip *vip, const struct eqx_backend *b, uint32_t hash, struct rte_mbuf *m)
{
	struct eqx_worker_stats *s = &c->w->stats;
	const struct eqx_nh *nh;
	uint32_t len = rte_pktmbuf_pkt_len(m);

	if (unlikely(b == NULL)) {
		drop(c, EQX_DROP_NO_BACKEND, m);
		return;
	}
	nh = b->nh < c->nht->n ? &c->nht->nh[b->nh] : NULL;
	if (unlikely(nh == NULL || !nh->valid)) {
		drop(c, EQX_DROP_NEIGHBOUR_UNRESOLVED, m);
		return;
	}
	s->vip[vip->id].packets++;
	s->vip[vip->id].bytes += len;
	s->backend[b->id].packets++;
	s->backend[b->id].bytes += len;
	if (vip->forwarding == CFG_FWD_L2DSR)
		encap_l2(c, h, nh, m);
	else
		encap_ip(c, in_port, h, vip, b, nh, hash, m);
}

/*
 * An ICMP error about a load-balanced connection (a router on the client's
 * path quoting a packet the backend sent from the VIP) goes to that
 * connection's backend: the quoted packet, reversed, is the flow's key.
 */
static void
icmp_error(struct eqx_dp_ctx *c, unsigned int p, const struct net_hdrs *h, struct rte_mbuf *m)
{
	const struct eqx_backend *b = NULL;
	const struct eqx_vip *vip;
	struct net_icmp_err ie;
	struct flow_entry *e;
	struct flow_key k;
	uint32_t hash;

	if (net_icmp_error_inner(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), h,
				 &ie) != 0) {
		drop(c, EQX_DROP_ICMP_ERROR_UNMATCHED, m);
		return;
	}
	vip = eqx_state_vip(c->st, ie.family, ie.src, ie.proto, ie.sport);
	if (vip == NULL) {
		drop(c, EQX_DROP_ICMP_ERROR_UNMATCHED, m);
		return;
	}
	key_set(&k, ie.family, ie.proto, ie.dst, ie.src, ie.dport, ie.sport);
	hash = flow_hash(&k);
	e = flow_lookup(c->w->flows, &k, hash, c->now);
	if (e != NULL)
		b = backend_get(c->st, e->backend);
	if (!backend_usable(b, vip)) {
		uint8_t hops = c->relay ? *EQX_HOPS(m) : 0;

		/*
		 * Another worker may hold the flow (RSS hashes the error, not the
		 * connection): let each worker look in turn before falling back to
		 * Maglev, which is right only while the backend set has not changed.
		 * A flow found here whose backend went is nobody else's.
		 */
		if (e == NULL && hops + 1u < c->app->n_workers) {
			*EQX_HOPS(m) = (uint8_t)(hops + 1);
			m->port = (uint16_t)p;
			if (rte_ring_sp_enqueue(c->w->to_ctrl, m) != 0)
				drop(c, EQX_DROP_CONTROL_RING_FULL, m);
			else
				c->w->stats.icmp_errors_relayed++;
			return;
		}
		b = choose(c, vip, ie.family, ie.dst, hash, false);
	}
	c->w->stats.icmp_errors_forwarded++;
	forward(c, p, h, vip, b, hash, m);
}

/* A later fragment goes where its first fragment went. */
static void
fragment_later(struct eqx_dp_ctx *c, unsigned int p, const struct net_hdrs *h, struct rte_mbuf *m)
{
	const struct eqx_backend *b;
	const struct eqx_vip *vip = NULL;
	struct flow_entry *e;
	struct flow_key k;
	uint32_t hash;

	key_set(&k, h->family, h->l4_proto, h->src, h->dst, (uint16_t)(h->ip4_id >> 16),
		(uint16_t)h->ip4_id);
	hash = flow_hash(&k);
	e = flow_lookup(c->w->frags, &k, hash, c->now);
	if (e == NULL) {
		drop(c, EQX_DROP_FRAGMENT_UNKNOWN, m);
		return;
	}
	b = backend_get(c->st, e->backend);
	if (b != NULL)
		vip = eqx_state_vip_by_id(c->st, b->vip);
	if (vip == NULL || !backend_usable(b, vip)) {
		drop(c, EQX_DROP_FRAGMENT_UNKNOWN, m);
		return;
	}
	c->w->stats.fragments_forwarded++;
	forward(c, p, h, vip, b, hash, m);
}

static inline bool
mac_for_us(const struct rte_ether_addr *dst, const struct rte_ether_addr *mine)
{
	return rte_is_same_ether_addr(dst, mine) || rte_is_multicast_ether_addr(dst);
}

/*
 * A VIP frame on an HA box that does not serve now: a standby drops it; a box
 * that handed the role over (switchover, a lost split brain) passes it to the
 * peer at L2 while the neighbours still send to it, so nothing is lost. A
 * frame that came from the peer is never sent back (both forwarding for a
 * moment would bounce it).
 */
static __rte_noinline void
ha_not_serving(struct eqx_dp_ctx *c, struct rte_mbuf *m)
{
	const struct eqx_app *app = c->app;
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t p = app->ha_fwd_port;
	uint64_t peer = __atomic_load_n(&app->ha_fwd_mac, __ATOMIC_ACQUIRE);

	if (c->ha_mode != EQX_HA_FORWARD || p >= app->n_ports || memcmp(d + 6, &peer, 6) == 0) {
		drop(c, EQX_DROP_HA_NOT_SERVING, m);
		return;
	}
	memcpy(d, &peer, 6);
	memcpy(d + 6, app->ports[p].mac.addr_bytes, 6);
	m->ol_flags = 0;
	c->w->stats.ha_forwarded++;
	eqx_dp_tx(c, p, m);
}

/* A UDP port of the appliance's own services (LISP, HA, PTP, cluster sync)? */
static inline bool
udp_service(const struct eqx_state *st, const struct net_hdrs *h)
{
	unsigned int i;

	if (h->l4_proto != NET_PROTO_UDP)
		return false;
	for (i = 0; i < st->n_udp_ports; i++)
		if (st->udp_ports[i] == h->dport)
			return true;
	return false;
}

static inline bool
ip_multicast(const struct net_hdrs *h)
{
	return h->family == 4 ? (h->dst[0] & 0xf0) == 0xe0 : h->dst[0] == 0xff;
}

/*
 * Frames the appliance itself must see: neighbour discovery, health-probe
 * answers and its UDP services.
 */
static inline bool
for_control(const struct eqx_state *st, const struct net_hdrs *h)
{
	if (h->l4_proto == NET_PROTO_ICMP || h->l4_proto == NET_PROTO_ICMP6)
		return true;
	if (udp_service(st, h))
		return true;
	return h->l4_proto == NET_PROTO_TCP &&
	       ((h->tcp_flags & (NET_TCP_SYN | NET_TCP_ACK)) == (NET_TCP_SYN | NET_TCP_ACK) ||
		(h->tcp_flags & NET_TCP_RST) != 0);
}

/*
 * The VIP of the burst's last TCP/UDP frame: a burst mostly carries frames
 * for few services, and comparing 20 bytes is cheaper than hashing them and
 * probing the state's table. Only for the burst: the state may change between.
 */
struct vip_memo {
	const struct eqx_vip *vip;
	uint8_t family; /* 0: nothing remembered yet */
	uint8_t proto;
	uint16_t port;
	uint8_t addr[16];
};

static inline const struct eqx_vip *
vip_find(struct eqx_dp_ctx *c, struct vip_memo *vm, const struct net_hdrs *h)
{
	/* classify has zeroed what follows an IPv4 address: 16 bytes compare alike. */
	if (h->family != vm->family || h->l4_proto != vm->proto || h->dport != vm->port ||
	    memcmp(h->dst, vm->addr, 16) != 0) {
		vm->vip = eqx_state_vip(c->st, h->family, h->dst, h->l4_proto, h->dport);
		vm->family = h->family;
		vm->proto = h->l4_proto;
		vm->port = h->dport;
		memcpy(vm->addr, h->dst, 16);
	}
	return vm->vip;
}

/* First pass: 1 when the frame waits in pd for the flow lookup, 0 when it is dealt with. */
static int
classify(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf *m, struct pending *pd,
	 struct vip_memo *vm)
{
	struct net_hdrs *h = &pd->h;
	const struct eqx_local *local;
	const uint8_t *d;
	int err;

	c->w->stats.rx_packets++;
	c->w->stats.rx_bytes += rte_pktmbuf_pkt_len(m);
	if (unlikely(m->nb_segs > 1) && rte_pktmbuf_linearize(m) != 0) {
		drop(c, EQX_DROP_NO_HEADROOM, m);
		return 0;
	}
	d = rte_pktmbuf_mtod(m, const uint8_t *);
	err = net_parse(d, rte_pktmbuf_data_len(m), h);
	if (unlikely(err != NET_PARSE_OK)) {
		drop(c, EQX_DROP_PARSE_BASE + (unsigned int)err - 1, m);
		return 0;
	}
	if (unlikely(!mac_for_us((const struct rte_ether_addr *)d, &c->app->ports[p].mac))) {
		drop(c, EQX_DROP_L2_OTHER_HOST, m);
		return 0;
	}
	if (h->family == 0) {
		/* PTP over Ethernet, bare or in the MPLS path of PTP ports, goes up too. */
		if (h->ethertype == NET_ETHERTYPE_ARP ||
		    (c->st->l2_ptp &&
		     (h->ethertype == NET_ETHERTYPE_PTP || h->ethertype == NET_ETHERTYPE_MPLS)))
			to_control(c, p, m);
		else
			drop(c, EQX_DROP_UNSUPPORTED_ETHERTYPE, m);
		return 0;
	}
	if (h->family == 4) {
		/* The lookups hash all 16 bytes: clear what follows an IPv4 address. */
		memset(h->src + 4, 0, 12);
		memset(h->dst + 4, 0, 12);
	}

	if (likely((h->l4_proto == NET_PROTO_TCP || h->l4_proto == NET_PROTO_UDP) &&
		   h->frag != NET_FRAG_LATER)) {
		pd->vip = vip_find(c, vm, h);
		if (likely(pd->vip != NULL)) {
			pd->m = m;
			key_set(&pd->key, h->family, h->l4_proto, h->src, h->dst, h->sport,
				h->dport);
			pd->hash = flow_hash(&pd->key);
			return 1;
		}
	}
	/* Neighbour discovery is addressed to multicast groups as often as to us. */
	if (h->family == 6 && h->l4_proto == NET_PROTO_ICMP6 && (h->dport >> 8) >= 133 &&
	    (h->dport >> 8) <= 137) {
		to_control(c, p, m);
		return 0;
	}
	local = eqx_state_local(c->st, h->family, h->dst);
	if (local == NULL) {
		/* PTP's multicast groups (224.0.1.129, ff0e::181) to a service port. */
		if (ip_multicast(h) && h->frag == NET_FRAG_NONE && udp_service(c->st, h))
			to_control(c, p, m);
		else
			drop(c, EQX_DROP_NOT_LOCAL, m);
		return 0;
	}
	if (local->is_vip) {
		if (unlikely(c->ha_mode != EQX_HA_SERVE))
			ha_not_serving(c, m);
		else if (h->frag == NET_FRAG_LATER)
			fragment_later(c, p, h, m);
		else if ((h->l4_proto == NET_PROTO_ICMP || h->l4_proto == NET_PROTO_ICMP6) &&
			 net_icmp_is_error(h->family, (uint8_t)(h->dport >> 8)))
			icmp_error(c, p, h, m);
		else if (h->l4_proto == NET_PROTO_ICMP || h->l4_proto == NET_PROTO_ICMP6)
			to_control(c, p, m);
		else
			drop(c, EQX_DROP_VIP_NO_SERVICE, m);
		return 0;
	}
	if (for_control(c->st, h) && h->frag == NET_FRAG_NONE)
		to_control(c, p, m);
	else
		drop(c, EQX_DROP_LOCAL_UNSUPPORTED, m);
	return 0;
}

/*
 * balance_miss reads the VIP's Maglev slot for the flow, a line of a table
 * too big to stay in cache beside the flow table: fetch the slots of all the
 * burst's misses at once. (Under client affinity the slot depends on the
 * client's pin; it is left to be read then.)
 */
static inline void
prefetch_maglev_slot(const struct pending *pd)
{
	const struct eqx_maglev *mg = pd->vip->maglev;

	if (pd->vip->affinity != CFG_AFFINITY_CLIENT_IP)
		rte_prefetch0(&mg->slots[pd->hash % mg->size]);
}

void
eqx_dp_process_burst(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf **pkts, unsigned int n)
{
	struct pending pend[EQX_BURST];
	const struct flow_key *keys[EQX_BURST];
	uint32_t hashes[EQX_BURST];
	struct flow_entry *hit[EQX_BURST];
	const struct eqx_backend *b[EQX_BURST];
	struct vip_memo vm = { .family = 0 };
	struct eqx_worker *w = c->w;
	const bool ha = w->ha_events != NULL;
	unsigned int i, nv = 0;

	for (i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		if (classify(c, p, pkts[i], &pend[nv], &vm) != 0) {
			keys[nv] = &pend[nv].key;
			hashes[nv] = pend[nv].hash;
			nv++;
		}
	}
	if (nv == 0)
		return;
	if (unlikely(c->ha_mode != EQX_HA_SERVE)) {
		for (i = 0; i < nv; i++)
			ha_not_serving(c, pend[i].m);
		return;
	}

	flow_lookup_bulk(w->flows, keys, hashes, nv, c->now, hit);
	/* Hits first: an insert may move entries, so no entry pointer outlives this loop. */
	for (i = 0; i < nv; i++) {
		b[i] = hit[i] != NULL ? backend_get(c->st, hit[i]->backend) : NULL;
		/*
		 * A bare SYN on a closing entry is a new connection reusing the 4-tuple: it
		 * is balanced afresh, so a draining or re-weighted backend gets no new flow.
		 */
		if (unlikely(hit[i] != NULL && hit[i]->state == FLOW_STATE_CLOSING &&
			     (pend[i].h.tcp_flags & (NET_TCP_SYN | NET_TCP_ACK)) == NET_TCP_SYN))
			b[i] = NULL;
		if (likely(backend_usable(b[i], pend[i].vip))) {
			w->stats.flow_hits++;
			if (unlikely(ha))
				ha_touch(w, keys[i], hit[i], pend[i].h.tcp_flags, c->now);
			else
				flow_touch(hit[i], pend[i].h.tcp_flags, c->now);
		} else {
			b[i] = NULL;
			if (hit[i] != NULL)
				w->stats.flow_reassigned++;
			else
				w->stats.flow_misses++;
			prefetch_maglev_slot(&pend[i]);
		}
	}
	for (i = 0; i < nv; i++) {
		if (b[i] == NULL) {
			if (unlikely(c->st->cluster) && hit[i] == NULL &&
			    cluster_ask(c, p, &pend[i]))
				continue;
			/* The entry of a reassigned flow is found again: the pointer may be stale.
			 */
			struct flow_entry *e = hit[i] != NULL ? flow_lookup(w->flows, &pend[i].key,
									    pend[i].hash, c->now)
							      : NULL;

			b[i] = balance_miss(c, &pend[i], e);
		}
		if (unlikely(pend[i].h.frag == NET_FRAG_FIRST) && b[i] != NULL)
			fragment_record(c, &pend[i].h, pend[i].vip, b[i]);
		forward(c, p, &pend[i].h, pend[i].vip, b[i], pend[i].hash, pend[i].m);
	}
}

void
eqx_dp_process(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf *m)
{
	eqx_dp_process_burst(c, p, &m, 1);
}

void
eqx_dp_flow_released(const struct flow_key *k, const struct flow_entry *e, void *arg)
{
	struct eqx_worker *w = arg;

	w->stats.vip[e->vip].active--;
	w->stats.backend[e->backend].active--;
	if (unlikely(w->ha_events != NULL) && !w->ha_quiet)
		ha_flow_event(w, EQX_FEV_ENDED, k, e);
}
