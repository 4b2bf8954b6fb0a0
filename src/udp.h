/* SPDX-License-Identifier: BSD-3-Clause */
/* UDP services on the appliance's own addresses (LISP, HA, cluster sync). */
#ifndef EQX_UDP_H
#define EQX_UDP_H

#include "eqx.h"

/* One datagram for a service; data points into the frame, valid during the call. */
struct eqx_udp_dgram {
	uint16_t port; /* port index it arrived on */
	uint8_t family;
	uint8_t src[16]; /* zero-padded for IPv4 */
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t src_mac[6];
	uint64_t rx_tsc; /* when the worker received it */
	const uint8_t *data;
	uint32_t len;
};

typedef void (*eqx_udp_handler)(struct eqx_app *app, const struct eqx_udp_dgram *d, void *arg);

/*
 * Serve UDP port `port` on every port address; -EEXIST, -ENOSPC. With fn NULL
 * the workers pass the port's datagrams up (also to multicast groups) and an
 * agent's frame hook takes them whole.
 */
int eqx_udp_register(uint16_t port, eqx_udp_handler fn, void *arg);

/* The registered ports (for the state the workers classify with). */
unsigned int eqx_udp_ports(uint16_t *ports, unsigned int max);

/* Deliver a frame the workers passed up if a service owns it; true when consumed. */
bool eqx_udp_rx(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h);

/* Answer a datagram: from its destination to its source, back to the MAC it came from. */
int eqx_udp_reply(struct eqx_app *app, const struct eqx_udp_dgram *to, const void *data,
		  uint32_t len);

/*
 * Send a datagram to dst from the address of the port that routes to it.
 * -EAGAIN while the next hop is being resolved (ask again later), -ENETUNREACH
 * without a route, -EMSGSIZE above the port MTU.
 */
int eqx_udp_send(struct eqx_app *app, const struct cfg_addr *dst, uint16_t sport, uint16_t dport,
		 const void *data, uint32_t len);

#endif /* EQX_UDP_H */
