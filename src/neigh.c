/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Next hops and their MAC addresses (control lcore only). Backends and route
 * gateways are registered when a generation is built; unresolved ones are
 * asked for by ARP once a second, resolved ones are refreshed before they go
 * stale. Workers read a copy of the table published by RCU.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "eqx.h"

#define NH_PROBE_INTERVAL_S 1 /* while unresolved */
#define NH_REFRESH_S 30       /* re-ask a resolved neighbour after this long */
#define NH_STALE_S 90         /* forget its MAC when nothing was heard for this long */

struct nh_entry {
	struct cfg_addr addr;
	uint16_t port;
	bool is_static;
	bool valid;
	uint8_t mac[6];
	uint64_t generation; /* last generation that refers to it */
	uint64_t heard_tsc;
	uint64_t next_probe_tsc;
};

static struct nh_entry nhs[EQX_MAX_NEXTHOPS];
static unsigned int n_nh;
static bool nh_dirty;

unsigned int
eqx_nh_count(void)
{
	return n_nh;
}

int
eqx_nh_register(struct eqx_app *app, uint16_t port, const struct cfg_addr *addr,
		const uint8_t *static_mac)
{
	struct nh_entry *e = NULL;
	unsigned int i;

	for (i = 0; i < n_nh; i++) {
		if (nhs[i].port == port && cfg_addr_equal(&nhs[i].addr, addr)) {
			e = &nhs[i];
			break;
		}
	}
	if (e == NULL) {
		if (n_nh == EQX_MAX_NEXTHOPS)
			return -ENOSPC;
		e = &nhs[n_nh];
		memset(e, 0, sizeof(*e));
		e->addr = *addr;
		e->port = port;
		__atomic_store_n(&n_nh, n_nh + 1, __ATOMIC_RELEASE);
		nh_dirty = true;
	}
	e->generation = app->generation + 1;
	if (static_mac != NULL) {
		if (!e->is_static || !e->valid || memcmp(e->mac, static_mac, 6) != 0)
			nh_dirty = true;
		e->is_static = true;
		e->valid = true;
		memcpy(e->mac, static_mac, 6);
	}
	return (int)(e - nhs);
}

void
eqx_nh_publish(struct eqx_app *app)
{
	struct eqx_nh_table *t, *old;
	unsigned int i;

	if (!nh_dirty)
		return;
	t = rte_zmalloc("eqx_nh", sizeof(*t) + sizeof(t->nh[0]) * (n_nh + 1), 64);
	if (t == NULL) {
		EQX_LOG(ERR, ctl, "no memory for the next-hop table; keeping the old one");
		return;
	}
	t->n = n_nh;
	for (i = 0; i < n_nh; i++) {
		memcpy(t->nh[i].mac.addr_bytes, nhs[i].mac, 6);
		t->nh[i].port = nhs[i].port;
		t->nh[i].valid = nhs[i].valid;
	}
	pthread_mutex_lock(&app->state_lock);
	old = app->nh;
	__atomic_store_n(&app->nh, t, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&app->state_lock);
	nh_dirty = false;
	if (old != NULL) {
		rte_rcu_qsbr_synchronize(app->qsbr, RTE_QSBR_THRID_INVALID);
		pthread_mutex_lock(&app->state_lock);
		rte_free(old);
		pthread_mutex_unlock(&app->state_lock);
	}
}

void
eqx_nh_learn(struct eqx_app *app, uint16_t port, uint8_t family, const uint8_t *addr,
	     const uint8_t mac[6])
{
	uint64_t now = rte_rdtsc();
	unsigned int i;

	/* Any ARP or ND from a next hop (reply, request, unsolicited) tells its MAC. */
	for (i = 0; i < n_nh; i++) {
		struct nh_entry *e = &nhs[i];

		if (e->is_static || e->port != port || e->addr.family != family ||
		    memcmp(e->addr.bytes, addr, family == 4 ? 4 : 16) != 0)
			continue;
		if (!e->valid || memcmp(e->mac, mac, 6) != 0) {
			char buf[64];

			cfg_addr_str(&e->addr, buf, sizeof(buf));
			EQX_LOG(INFO, ctl, "neighbour %s is %02x:%02x:%02x:%02x:%02x:%02x", buf,
				mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
			memcpy(e->mac, mac, 6);
			e->valid = true;
			nh_dirty = true;
		}
		e->heard_tsc = now;
	}
	eqx_nh_publish(app);
}

/* Ask for a next hop's MAC: ARP for IPv4, a neighbour solicitation for IPv6. */
static void
probe(struct eqx_app *app, const struct nh_entry *e)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	const struct cfg_addr *src = eqx_port_source(app->cfg, e->port, &e->addr);
	const uint8_t *mac = app->ports[e->port].mac.addr_bytes;
	struct rte_mbuf *m = NULL;
	uint8_t *d;
	uint32_t len;

	if (src == NULL)
		return;
	d = eqx_control_buf(app, &m);
	if (d == NULL)
		return;
	if (e->addr.family == 4)
		len = net_arp_build(d, NET_ARP_REQUEST, bcast, mac, src->bytes, zero,
				    e->addr.bytes);
	else
		len = net_nd_build_ns(d, mac, src->bytes, e->addr.bytes);
	eqx_control_send_buf(app, m, e->port, len);
}

void
eqx_nh_timer(struct eqx_app *app, uint64_t now)
{
	uint64_t hz = app->tsc_hz;
	unsigned int i;

	for (i = 0; i < n_nh; i++) {
		struct nh_entry *e = &nhs[i];

		/* Only what the running generation uses is worth asking for. */
		if (e->is_static || e->generation < app->generation)
			continue;
		if (e->valid && now - e->heard_tsc > NH_STALE_S * hz) {
			e->valid = false;
			nh_dirty = true;
		}
		if (now < e->next_probe_tsc)
			continue;
		if (e->valid && now - e->heard_tsc < NH_REFRESH_S * hz)
			continue;
		probe(app, e);
		e->next_probe_tsc = now + NH_PROBE_INTERVAL_S * hz;
	}
	eqx_nh_publish(app);
}

int
eqx_nh_addr(uint32_t idx, char *buf, size_t len)
{
	/* An entry's address and port never change once registered. */
	if (idx >= __atomic_load_n(&n_nh, __ATOMIC_ACQUIRE))
		return -ENOENT;
	cfg_addr_str(&nhs[idx].addr, buf, len);
	return 0;
}

void
eqx_nh_fini(struct eqx_app *app)
{
	rte_free(app->nh);
	app->nh = NULL;
	n_nh = 0;
}
