/* SPDX-License-Identifier: BSD-3-Clause */
/* The control lcore's own counters and its frame handler. */
#ifndef EQX_CONTROL_H
#define EQX_CONTROL_H

#include "eqx.h"

#define foreach_eqx_ctl_stat \
	_(rx_packets)        \
	_(tx_packets)        \
	_(tx_ring_full)      \
	_(arp_answered)      \
	_(arp_replies)       \
	_(arp_not_ours)      \
	_(arp_not_serving)   \
	_(arp_malformed)     \
	_(icmp_echo_replies) \
	_(icmp_malformed)    \
	_(nd_answered)       \
	_(nd_advertisements) \
	_(nd_not_ours)       \
	_(nd_not_serving)    \
	_(nd_malformed)      \
	_(health_replies)    \
	_(installs_lost)     \
	_(udp_rx)            \
	_(udp_tx)            \
	_(udp_malformed)     \
	_(udp_unresolved)    \
	_(relayed)           \
	_(relay_lost)        \
	_(unhandled)         \
	_(reloads)           \
	_(reloads_rejected)  \
	_(ctl_requests)      \
	_(ctl_bad_requests)

/* Written by the control lcore only. */
struct eqx_ctl_stats {
#define _(n) uint64_t n;
	foreach_eqx_ctl_stat
#undef _
};

extern struct eqx_ctl_stats eqx_ctl_stats;

/* Handle one frame a worker passed up; takes ownership of m. */
void eqx_control_frame(struct eqx_app *app, struct rte_mbuf *m);

#endif /* EQX_CONTROL_H */
