/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control lcore: frames addressed to the appliance (ARP, ICMP echo),
 * neighbour resolution, config reload and the control socket. It never writes
 * a worker's table; it publishes generations and sends through worker 0's
 * from_ctrl ring (see eqx_control_send for why).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "agent.h"
#include "cluster_agent.h"
#include "control.h"
#include "dataplane.h"
#include "ha_agent.h"
#include "udp.h"

struct eqx_ctl_stats eqx_ctl_stats;

/*
 * Virtual ports expose as many TX queues as RX queues (net_af_packet's
 * qpairs), and an RX queue that no worker polls would swallow the flows
 * hashed to it; so instead of a TX queue of its own, the control lcore hands
 * its frames to worker 0, which sends them on its queue with its next burst.
 */
int
eqx_control_send(struct eqx_app *app, struct rte_mbuf *m)
{
	if (rte_ring_sp_enqueue(app->workers[0].from_ctrl, m) != 0) {
		eqx_ctl_stats.tx_ring_full++;
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	eqx_ctl_stats.tx_packets++;
	return 0;
}

uint8_t *
eqx_control_buf(struct eqx_app *app, struct rte_mbuf **mp)
{
	struct rte_mbuf *m = *mp;
	uint8_t *d;

	if (m == NULL)
		m = rte_pktmbuf_alloc(app->pool);
	else
		rte_pktmbuf_reset(m);
	if (m == NULL)
		return NULL;
	d = (uint8_t *)rte_pktmbuf_append(m, EQX_CTL_FRAME_MAX);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		*mp = NULL;
		return NULL;
	}
	*mp = m;
	return d;
}

int
eqx_control_send_buf(struct eqx_app *app, struct rte_mbuf *m, uint16_t port, uint32_t len)
{
	if (len == 0 || len > EQX_CTL_FRAME_MAX) {
		rte_pktmbuf_free(m);
		return -EINVAL;
	}
	rte_pktmbuf_trim(m, (uint16_t)(EQX_CTL_FRAME_MAX - len));
	m->port = port;
	return eqx_control_send(app, m);
}

static void
handle_arp(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h)
{
	const struct eqx_state *st = app->state;
	const struct eqx_local *l;
	struct net_arp a;
	uint16_t p = m->port;
	uint8_t *d;

	if (net_arp_parse(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), h, &a) !=
	    0) {
		eqx_ctl_stats.arp_malformed++;
		rte_pktmbuf_free(m);
		return;
	}
	eqx_nh_learn(app, p, 4, a.spa, a.sha);
	if (a.op != NET_ARP_REQUEST) {
		eqx_ctl_stats.arp_replies++;
		rte_pktmbuf_free(m);
		return;
	}
	/* Port addresses are answered on their own port, VIPs on every port. */
	l = eqx_state_local(st, 4, (const uint8_t[16]){ a.tpa[0], a.tpa[1], a.tpa[2], a.tpa[3] });
	if (l == NULL || (!l->is_vip && l->port != p)) {
		eqx_ctl_stats.arp_not_ours++;
		rte_pktmbuf_free(m);
		return;
	}
	/* An HA box answers for the VIPs only while it serves them. */
	if (l->is_vip && app->ha_mode != EQX_HA_SERVE) {
		eqx_ctl_stats.arp_not_serving++;
		rte_pktmbuf_free(m);
		return;
	}
	d = eqx_control_buf(app, &m);
	if (d == NULL)
		return;
	eqx_ctl_stats.arp_answered++;
	eqx_control_send_buf(app, m, p,
			     net_arp_build(d, NET_ARP_REPLY, a.sha, app->ports[p].mac.addr_bytes,
					   a.tpa, a.sha, a.spa));
}

static void
handle_echo(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h)
{
	uint16_t p = m->port;
	uint32_t want = h->l2_len + h->l3_total;
	int rc;

	if (rte_pktmbuf_pkt_len(m) > want)
		rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - want);
	if (h->family == 4)
		rc = net_icmp4_echo_reply(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
					  h, app->ports[p].mac.addr_bytes);
	else
		rc = net_icmp6_echo_reply(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
					  h, app->ports[p].mac.addr_bytes);
	if (rc != 0) {
		eqx_ctl_stats.icmp_malformed++;
		rte_pktmbuf_free(m);
		return;
	}
	m->ol_flags = 0;
	m->port = p;
	eqx_ctl_stats.icmp_echo_replies++;
	eqx_control_send(app, m);
}

/* Neighbour discovery (RFC 4861): learn from NS and NA, answer NS for our addresses. */
static void
handle_nd(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h)
{
	static const uint8_t unspecified[16];
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct eqx_local *l;
	uint16_t p = m->port;
	uint8_t eth_dst[6], target[16], to[16], *o;
	uint8_t flags = 0x20; /* override */
	struct net_nd nd;

	if (net_nd_parse(d, rte_pktmbuf_data_len(m), h, &nd) != 0) {
		eqx_ctl_stats.nd_malformed++;
		rte_pktmbuf_free(m);
		return;
	}
	if (nd.type == NET_ND_NA) {
		eqx_ctl_stats.nd_advertisements++;
		eqx_nh_learn(app, p, 6, nd.target, nd.has_lladdr ? nd.lladdr : d + 6);
		rte_pktmbuf_free(m);
		return;
	}
	if (nd.has_lladdr && memcmp(h->src, unspecified, 16) != 0)
		eqx_nh_learn(app, p, 6, h->src, nd.lladdr);
	l = eqx_state_local(app->state, 6, nd.target);
	if (l == NULL || (!l->is_vip && l->port != p)) {
		eqx_ctl_stats.nd_not_ours++;
		rte_pktmbuf_free(m);
		return;
	}
	if (l->is_vip && app->ha_mode != EQX_HA_SERVE) {
		eqx_ctl_stats.nd_not_serving++;
		rte_pktmbuf_free(m);
		return;
	}
	/* A duplicate-address probe (from ::) is answered to all nodes, unsolicited. */
	if (memcmp(h->src, unspecified, 16) == 0) {
		memcpy(to, all_nodes, 16);
		memcpy(eth_dst, all_nodes_mac, 6);
	} else {
		memcpy(to, h->src, 16);
		flags |= 0x40; /* solicited */
		memcpy(eth_dst, nd.has_lladdr ? nd.lladdr : d + 6, 6);
	}
	memcpy(target, nd.target, 16);
	o = eqx_control_buf(app, &m);
	if (o == NULL)
		return;
	eqx_ctl_stats.nd_answered++;
	eqx_control_send_buf(app, m, p,
			     net_nd_build_na(o, eth_dst, app->ports[p].mac.addr_bytes, target, to,
					     target, flags));
}

void
eqx_control_frame(struct eqx_app *app, struct rte_mbuf *m)
{
	struct net_hdrs h;
	uint8_t type;

	eqx_ctl_stats.rx_packets++;
	if (net_parse(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), &h) !=
	    NET_PARSE_OK) {
		eqx_ctl_stats.unhandled++;
		rte_pktmbuf_free(m);
		return;
	}
	type = (uint8_t)(h.dport >> 8);
	if (h.family == 0 && h.ethertype == NET_ETHERTYPE_ARP) {
		handle_arp(app, m, &h);
		return;
	}
	if (h.family == 4) {
		memset(h.src + 4, 0, 12);
		memset(h.dst + 4, 0, 12);
	}
	if (eqx_agents_frame(app, m, &h))
		return;
	if (eqx_health_rx(app, m, &h)) {
		eqx_ctl_stats.health_replies++;
		return;
	}
	if (eqx_udp_rx(app, m, &h))
		return;
	if (h.frag != NET_FRAG_NONE) {
		eqx_ctl_stats.unhandled++;
		rte_pktmbuf_free(m);
	} else if (h.l4_proto == NET_PROTO_ICMP6 && (type == NET_ND_NS || type == NET_ND_NA)) {
		handle_nd(app, m, &h);
	} else if ((h.l4_proto == NET_PROTO_ICMP && type == 8) ||
		   (h.l4_proto == NET_PROTO_ICMP6 && type == NET_ICMP6_ECHO_REQUEST)) {
		handle_echo(app, m, &h);
	} else {
		eqx_ctl_stats.unhandled++;
		rte_pktmbuf_free(m);
	}
}

/*
 * Pins made by one worker are installed on every other one (and, with HA,
 * synced to the peer); TX stamps go to the agents.
 */
static unsigned int
fan_out_events(struct eqx_app *app)
{
	struct eqx_event ev[EQX_BURST];
	unsigned int w, o, i, j, n, got = 0;

	for (w = 0; w < app->n_workers; w++) {
		n = rte_ring_sc_dequeue_burst_elem(app->workers[w].events, ev, sizeof(ev[0]),
						   EQX_BURST, NULL);
		got += n;
		for (i = j = 0; i < n; i++) {
			if (ev[i].type == EQX_EV_TX_STAMP) {
				eqx_agents_tx_stamp(app, ev[i].vip, ev[i].stamp.cookie,
						    ev[i].stamp.tsc);
				continue;
			}
			if (ev[i].type == EQX_EV_AFFINITY)
				eqx_ha_pin(app, &ev[i]);
			ev[j++] = ev[i];
		}
		n = j;
		for (o = 0; o < app->n_workers; o++) {
			if (o == w)
				continue;
			i = rte_ring_sp_enqueue_burst_elem(app->workers[o].installs, ev,
							   sizeof(ev[0]), n, NULL);
			eqx_ctl_stats.installs_lost += n - i;
		}
	}
	return got;
}

/* What a reload cannot change without a restart: ports, lcores, memory, socket. */
static int
restart_only_changed(const struct cfg *old, const struct cfg *new, struct cfg_errors *errs)
{
	unsigned int i;

#define CHANGED(cond, path)                                                        \
	do {                                                                       \
		if (cond) {                                                        \
			if (errs->n < CFG_MAX_ERRORS)                              \
				snprintf(errs->msg[errs->n], sizeof(errs->msg[0]), \
					 "%s: changing it needs a restart", path); \
			errs->n++;                                                 \
		}                                                                  \
	} while (0)

	CHANGED(strcmp(old->instance.name, new->instance.name) != 0, "instance.name");
	CHANGED(old->n_eal != new->n_eal, "eal");
	for (i = 0; i < old->n_eal && i < new->n_eal; i++)
		CHANGED(strcmp(old->eal[i], new->eal[i]) != 0, "eal");
	CHANGED(old->dataplane.workers != new->dataplane.workers, "dataplane.workers");
	CHANGED(old->dataplane.flow_table_size != new->dataplane.flow_table_size,
		"dataplane.flow_table_size");
	CHANGED(old->dataplane.mbufs != new->dataplane.mbufs, "dataplane.mbufs");
	CHANGED(strcmp(old->control.socket, new->control.socket) != 0, "control.socket");
	CHANGED(old->ha.enabled != new->ha.enabled, "ha.enabled");
	CHANGED(old->cluster.mode != new->cluster.mode, "cluster.mode");
	CHANGED(old->ptp.enabled != new->ptp.enabled, "ptp.enabled");
	CHANGED(old->lisp.enabled != new->lisp.enabled, "lisp.enabled");
	CHANGED(old->n_ports != new->n_ports, "ports");
	for (i = 0; i < old->n_ports && i < new->n_ports; i++) {
		CHANGED(strcmp(old->ports[i].name, new->ports[i].name) != 0, "ports[].name");
		CHANGED(strcmp(old->ports[i].device, new->ports[i].device) != 0, "ports[].device");
		CHANGED(old->ports[i].mtu != new->ports[i].mtu, "ports[].mtu");
	}
#undef CHANGED
	return errs->n == 0 ? 0 : -EINVAL;
}

static char *
errors_text(const struct cfg_errors *errs)
{
	size_t len = 0, off = 0;
	unsigned int i, n = RTE_MIN(errs->n, (unsigned int)CFG_MAX_ERRORS);
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(errs->msg[i]) + 1;
	s = malloc(len + 64);
	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < n; i++)
		off += (size_t)sprintf(s + off, "%s%s", i ? "\n" : "", errs->msg[i]);
	if (errs->n > n)
		sprintf(s + off, "\n(%u more errors)", errs->n - n);
	return s;
}

int
eqx_reload(struct eqx_app *app, char **err_text)
{
	struct cfg_errors *errs;
	int64_t cluster_gen = 0;
	struct cfg *cfg;
	int rc = -EINVAL;
	unsigned int i;

	errs = calloc(1, sizeof(*errs));
	if (errs == NULL)
		return -ENOMEM;
	cfg = cfg_load_file(app->config_path, errs);
	if (cfg != NULL && restart_only_changed(app->cfg, cfg, errs) == 0) {
		/* Distributed mode: the VIP set changes by the cluster's agreement only. */
		if (eqx_cluster_active())
			rc = eqx_cluster_reload(app, cfg, errs, &cluster_gen);
		else
			rc = eqx_state_apply(app, cfg, errs);
	} else {
		cfg_free(cfg);
	}

	if (rc == 0) {
		rte_log_set_level_pattern("equinox.*", (uint32_t)app->cfg->log.level + 1);
		EQX_LOG(NOTICE, ctl, "reloaded %s: generation %" PRIu64, app->config_path,
			app->generation);
		eqx_agents_reload(app);
		eqx_ctl_stats.reloads++;
	} else {
		for (i = 0; i < errs->n && i < CFG_MAX_ERRORS; i++)
			EQX_LOG(ERR, ctl, "reload rejected: %s", errs->msg[i]);
		EQX_LOG(ERR, ctl, "reload of %s rejected; generation %" PRIu64 " keeps running",
			app->config_path, app->generation);
		eqx_ctl_stats.reloads_rejected++;
		if (err_text != NULL)
			*err_text = errors_text(errs);
	}
	free(errs);
	return rc;
}

/* A frame worker w could not place goes on to the next worker. */
static void
relay(struct eqx_app *app, unsigned int w, struct rte_mbuf *m)
{
	struct eqx_worker *next = &app->workers[(w + 1) % app->n_workers];

	if (rte_ring_sp_enqueue(next->relay, m) != 0) {
		eqx_ctl_stats.relay_lost++;
		rte_pktmbuf_free(m);
		return;
	}
	eqx_ctl_stats.relayed++;
}

int
eqx_control_loop(struct eqx_app *app)
{
	struct rte_mbuf *pkts[EQX_BURST];
	uint64_t next_timer = 0;
	unsigned int w, i, n;

	while (!app->quit) {
		unsigned int got = 0;
		uint64_t now;

		for (w = 0; w < app->n_workers; w++) {
			n = rte_ring_sc_dequeue_burst(app->workers[w].to_ctrl, (void **)pkts,
						      EQX_BURST, NULL);
			for (i = 0; i < n; i++) {
				if (*EQX_HOPS(pkts[i]) == EQX_HOPS_CLUSTER)
					eqx_cluster_held(app, w, pkts[i]);
				else if (*EQX_HOPS(pkts[i]) != 0)
					relay(app, w, pkts[i]);
				else
					eqx_control_frame(app, pkts[i]);
			}
			got += n;
		}
		got += fan_out_events(app);
		now = rte_rdtsc();
		eqx_agents_poll(app, now);
		if (now >= next_timer) {
			eqx_nh_timer(app, now);
			eqx_health_timer(app, now);
			next_timer = now + app->tsc_hz / 100;
		}
		if (app->reload) {
			app->reload = false;
			eqx_reload(app, NULL);
		}
		/* Sleep in poll() unless frames are waiting. */
		eqx_ctlsock_poll(app, got != 0 ? 0 : 1);
	}
	return 0;
}
