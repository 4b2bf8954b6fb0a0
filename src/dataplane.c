/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-frame classification and forwarding. Reads only the published state
 * generation in ctx, writes only the worker's own flow table and counters.
 */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include "dataplane.h"
#include "maglev/maglev.h"

#define EQX_OUTER_LEN (RTE_ETHER_HDR_LEN + NET_IP4_LEN)

void
eqx_dp_ctx_init(struct eqx_dp_ctx *c, struct eqx_app *app, struct eqx_worker *w)
{
	memset(c, 0, sizeof(*c));
	c->app = app;
	c->w = w;
}

static inline bool
addr_eq(uint8_t family, const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, family == 4 ? 4 : 16) == 0;
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
	if (unlikely(rte_ring_sp_enqueue(c->w->to_ctrl, m) != 0)) {
		drop(c, EQX_DROP_CONTROL_RING_FULL, m);
		return;
	}
	c->w->stats.to_control++;
}

/* Pick the backend for a VIP packet: the flow's own, or Maglev's for a new flow. */
static const struct eqx_backend *
balance(struct eqx_dp_ctx *c, const struct eqx_vip *vip, const struct net_hdrs *h)
{
	const struct eqx_state *st = c->st;
	struct eqx_worker_stats *s = &c->w->stats;
	const struct eqx_backend *b = NULL;
	struct flow_entry *e;
	struct flow_key k;
	uint32_t hash, slot;

	memset(&k, 0, sizeof(k));
	k.family = h->family;
	k.proto = h->l4_proto;
	k.sport = h->sport;
	k.dport = h->dport;
	memcpy(k.src, h->src, h->family == 4 ? 4 : 16);
	memcpy(k.dst, h->dst, h->family == 4 ? 4 : 16);
	hash = flow_hash(&k);

	e = flow_lookup(c->w->flows, &k, hash, c->now);
	if (e != NULL) {
		b = e->backend < EQX_MAX_BACKEND_IDS ? st->backend_by_id[e->backend] : NULL;
		/* A removed backend is gone for its flows too: they are re-balanced. */
		if (likely(b != NULL && b->vip == vip->id && b->state != CFG_BACKEND_DOWN)) {
			s->flow_hits++;
			flow_touch(e, h->tcp_flags, c->now);
			return b;
		}
		s->flow_reassigned++;
		b = NULL;
	} else {
		s->flow_misses++;
	}

	slot = maglev_lookup(vip->table, vip->table_size, hash);
	if (unlikely(slot == MAGLEV_EMPTY || slot >= EQX_MAX_BACKEND_IDS))
		return NULL;
	b = st->backend_by_id[slot];
	if (unlikely(b == NULL))
		return NULL;

	if (e == NULL) {
		bool syn_only = h->l4_proto == NET_PROTO_TCP &&
			(h->tcp_flags & (NET_TCP_SYN | NET_TCP_ACK)) == NET_TCP_SYN;

		e = flow_insert(c->w->flows, &k, hash, c->now, syn_only);
		/* Without an entry the flow still goes where Maglev says: counted, not dropped. */
		if (unlikely(e == NULL))
			s->drops[EQX_DROP_FLOW_TABLE_FULL]++;
	}
	if (e != NULL) {
		e->vip = vip->id;
		e->backend = b->id;
		flow_touch(e, h->tcp_flags, c->now);
	}
	s->vip[vip->id].flows++;
	s->backend[b->id].flows++;
	return b;
}

/* Wrap the IP packet of m in IPv4 toward b and queue it on the next hop's port. */
static void
encap_ipip(struct eqx_dp_ctx *c, const struct net_hdrs *h, const struct eqx_backend *b,
	   const struct eqx_nh *nh, struct rte_mbuf *m)
{
	const struct eqx_port_state *ps = &c->st->port[nh->port];
	uint32_t inner_len = h->l3_total;
	uint8_t *inner = rte_pktmbuf_mtod_offset(m, uint8_t *, h->l2_len);
	bool df = h->family == 6 || (inner[6] & 0x40) != 0;
	uint8_t *o;

	if (unlikely(inner_len + NET_IP4_LEN > ps->mtu)) {
		drop(c, EQX_DROP_MTU_EXCEEDED, m);
		return;
	}
	/* Ethernet padding after the IP packet must not travel inside the tunnel. */
	if (rte_pktmbuf_pkt_len(m) > h->l2_len + inner_len)
		rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - h->l2_len - inner_len);
	rte_pktmbuf_adj(m, h->l2_len);
	o = (uint8_t *)rte_pktmbuf_prepend(m, EQX_OUTER_LEN);
	if (unlikely(o == NULL)) {
		drop(c, EQX_DROP_NO_HEADROOM, m);
		return;
	}
	net_eth_write(o, nh->mac.addr_bytes, c->app->ports[nh->port].mac.addr_bytes,
		      NET_ETHERTYPE_IP4);
	net_ipip4_write(o + RTE_ETHER_HDR_LEN, ps->addr4, b->addr, (uint16_t)inner_len,
			h->family == 4 ? NET_PROTO_IPIP : NET_PROTO_IP6, h->tos, 64,
			df ? 0 : c->ip_id++, df);
	m->ol_flags = 0;
	eqx_dp_tx(c, nh->port, m);
}

static void
forward_vip(struct eqx_dp_ctx *c, const struct eqx_vip *vip, const struct net_hdrs *h,
	    struct rte_mbuf *m)
{
	struct eqx_worker_stats *s = &c->w->stats;
	const struct eqx_backend *b;
	const struct eqx_nh *nh;
	uint32_t len = rte_pktmbuf_pkt_len(m);

	/* Later fragments carry no ports, so they cannot follow their flow yet. */
	if (unlikely(h->frag != NET_FRAG_NONE)) {
		drop(c, EQX_DROP_VIP_FRAGMENT, m);
		return;
	}
	b = balance(c, vip, h);
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
	encap_ipip(c, h, b, nh, m);
}

static inline bool
mac_for_us(const struct rte_ether_addr *dst, const struct rte_ether_addr *mine)
{
	return rte_is_same_ether_addr(dst, mine) || rte_is_multicast_ether_addr(dst);
}

void
eqx_dp_process(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf *m)
{
	struct eqx_worker_stats *s = &c->w->stats;
	const struct eqx_vip *vip;
	const struct eqx_local *local;
	struct net_hdrs h;
	const uint8_t *d;
	int err;

	s->rx_packets++;
	s->rx_bytes += rte_pktmbuf_pkt_len(m);
	if (unlikely(m->nb_segs > 1) && rte_pktmbuf_linearize(m) != 0) {
		drop(c, EQX_DROP_NO_HEADROOM, m);
		return;
	}
	d = rte_pktmbuf_mtod(m, const uint8_t *);
	err = net_parse(d, rte_pktmbuf_data_len(m), &h);
	if (unlikely(err != NET_PARSE_OK)) {
		drop(c, EQX_DROP_PARSE_BASE + (unsigned int)err - 1, m);
		return;
	}
	if (unlikely(!mac_for_us((const struct rte_ether_addr *)d, &c->app->ports[p].mac))) {
		drop(c, EQX_DROP_L2_OTHER_HOST, m);
		return;
	}
	if (h.family == 0) {
		if (h.ethertype == NET_ETHERTYPE_ARP)
			to_control(c, p, m);
		else
			drop(c, EQX_DROP_UNSUPPORTED_ETHERTYPE, m);
		return;
	}
	if (h.family == 4) {
		/* The lookups hash all 16 bytes: clear what follows an IPv4 address. */
		memset(h.src + 4, 0, 12);
		memset(h.dst + 4, 0, 12);
	}

	if (h.l4_proto == NET_PROTO_TCP || h.l4_proto == NET_PROTO_UDP) {
		vip = eqx_state_vip(c->st, h.family, h.dst, h.l4_proto, h.dport);
		if (likely(vip != NULL)) {
			forward_vip(c, vip, &h, m);
			return;
		}
	}
	local = eqx_state_local(c->st, h.family, h.dst);
	if (local == NULL) {
		drop(c, EQX_DROP_NOT_LOCAL, m);
		return;
	}
	if (h.l4_proto == NET_PROTO_ICMP || h.l4_proto == NET_PROTO_ICMP6) {
		to_control(c, p, m);
		return;
	}
	drop(c, local->is_vip ? EQX_DROP_VIP_NO_SERVICE : EQX_DROP_LOCAL_UNSUPPORTED, m);
}

void
eqx_dp_process_burst(struct eqx_dp_ctx *c, unsigned int p, struct rte_mbuf **pkts,
		     unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		eqx_dp_process(c, p, pkts[i]);
	}
}
