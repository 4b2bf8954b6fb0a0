/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * UDP services of the appliance itself (LISP, HA, cluster sync), on its port
 * addresses, served by the control lcore. Workers pass up only datagrams for
 * the ports registered here (the published state lists them); the agents get
 * them with their addresses and RX time, and send through eqx_udp_send, which
 * routes, resolves the next hop and builds Ethernet/IP/UDP.
 */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "control.h"
#include "udp.h"

#define EQX_UDP_MAX_SERVICES 8

struct service {
	uint16_t port;
	eqx_udp_handler fn;
	void *arg;
};

static struct service services[EQX_UDP_MAX_SERVICES];
static unsigned int n_services;

int
eqx_udp_register(uint16_t port, eqx_udp_handler fn, void *arg)
{
	unsigned int i;

	for (i = 0; i < n_services; i++)
		if (services[i].port == port)
			return -EEXIST;
	if (n_services == EQX_UDP_MAX_SERVICES || port == 0)
		return -ENOSPC;
	services[n_services++] = (struct service){ .port = port, .fn = fn, .arg = arg };
	return 0;
}

unsigned int
eqx_udp_ports(uint16_t *ports, unsigned int max)
{
	unsigned int i;

	for (i = 0; i < n_services && i < max; i++)
		ports[i] = services[i].port;
	return i;
}

bool
eqx_udp_rx(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	struct eqx_udp_dgram dg;
	uint32_t udp_len;
	unsigned int i;

	if (h->l4_proto != NET_PROTO_UDP || h->frag != NET_FRAG_NONE)
		return false;
	for (i = 0; i < n_services; i++)
		if (services[i].port == h->dport)
			break;
	/* A port registered without a handler is taken by an agent's frame hook. */
	if (i == n_services || services[i].fn == NULL)
		return false;
	/* The UDP length must fit the IP packet; the parser checked only the header. */
	udp_len = net_get16(d + h->l4_off + 4);
	if (udp_len < 8 || h->l4_off + udp_len > (uint32_t)h->l2_len + h->l3_total) {
		eqx_ctl_stats.udp_malformed++;
		rte_pktmbuf_free(m);
		return true;
	}
	memset(&dg, 0, sizeof(dg));
	dg.port = m->port;
	dg.family = h->family;
	memcpy(dg.src, h->src, 16);
	memcpy(dg.dst, h->dst, 16);
	if (h->family == 4) {
		memset(dg.src + 4, 0, 12);
		memset(dg.dst + 4, 0, 12);
	}
	dg.sport = h->sport;
	dg.dport = h->dport;
	memcpy(dg.src_mac, d + 6, 6);
	dg.data = d + h->l4_off + 8;
	dg.len = udp_len - 8;
	dg.rx_tsc = eqx_rx_tsc(m);
	eqx_ctl_stats.udp_rx++;
	services[i].fn(app, &dg, services[i].arg);
	rte_pktmbuf_free(m);
	return true;
}

/* Build Ethernet + IP + UDP + payload into m and send it on port p. */
static int
udp_emit(struct eqx_app *app, uint16_t p, const uint8_t mac[6], uint8_t family, const uint8_t *src,
	 const uint8_t *dst, uint16_t sport, uint16_t dport, const void *data, uint32_t len)
{
	uint32_t ip_len = family == 4 ? NET_IP4_LEN : NET_IP6_LEN;
	uint32_t total = RTE_ETHER_HDR_LEN + ip_len + 8 + len;
	struct rte_mbuf *m;
	uint8_t *o, *udp;

	if (total > (uint32_t)RTE_ETHER_HDR_LEN + app->port_mtu[p])
		return -EMSGSIZE;
	m = rte_pktmbuf_alloc(app->pool);
	if (m == NULL)
		return -ENOBUFS;
	o = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)total);
	if (o == NULL) {
		rte_pktmbuf_free(m);
		return -EMSGSIZE;
	}
	net_eth_write(o, mac, app->ports[p].mac.addr_bytes,
		      family == 4 ? NET_ETHERTYPE_IP4 : NET_ETHERTYPE_IP6);
	udp = o + RTE_ETHER_HDR_LEN + ip_len;
	memcpy(udp + 8, data, len);
	net_udp_write(udp, sport, dport, (uint16_t)(8 + len));
	if (family == 4) {
		net_ipip4_write(o + RTE_ETHER_HDR_LEN, src, dst, (uint16_t)(8 + len), NET_PROTO_UDP,
				0, 64, 0, true);
		net_put16(udp + 6, net_ip4_l4_csum(src, dst, NET_PROTO_UDP, udp, 8 + len, 6));
	} else {
		net_ip6_write(o + RTE_ETHER_HDR_LEN, src, dst, (uint16_t)(8 + len), NET_PROTO_UDP,
			      0, 0, 64);
		net_put16(udp + 6, net_ip6_l4_csum(src, dst, NET_PROTO_UDP, udp, 8 + len, 6));
	}
	m->port = p;
	eqx_ctl_stats.udp_tx++;
	return eqx_control_send(app, m);
}

int
eqx_udp_reply(struct eqx_app *app, const struct eqx_udp_dgram *to, const void *data, uint32_t len)
{
	/* Straight back to the MAC it came from: no route or neighbour lookup needed. */
	return udp_emit(app, to->port, to->src_mac, to->family, to->dst, to->src, to->dport,
			to->sport, data, len);
}

int
eqx_udp_send(struct eqx_app *app, const struct cfg_addr *dst, uint16_t sport, uint16_t dport,
	     const void *data, uint32_t len)
{
	const struct eqx_nh_table *nht = app->nh;
	const struct cfg_addr *src;
	struct cfg_addr nh_addr;
	unsigned int port;
	int idx;

	if (eqx_route_lookup(app->cfg, dst, &port, &nh_addr) != 0)
		return -ENETUNREACH;
	src = eqx_port_source(app->cfg, port, dst);
	if (src == NULL)
		return -EADDRNOTAVAIL;
	/* A new next hop is resolved by the neighbour timer; the caller retries. */
	idx = eqx_nh_register(app, (uint16_t)port, &nh_addr, NULL);
	if (idx < 0)
		return idx;
	if (nht == NULL || (uint32_t)idx >= nht->n || !nht->nh[idx].valid) {
		eqx_ctl_stats.udp_unresolved++;
		return -EAGAIN;
	}
	return udp_emit(app, (uint16_t)port, nht->nh[idx].mac.addr_bytes, dst->family, src->bytes,
			dst->bytes, sport, dport, data, len);
}
