/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Backend health checks, sent by the control lcore through the data ports:
 * TCP (SYN; a SYN-ACK is success and is answered with RST, a RST is failure)
 * or ICMP echo, every interval, with a timeout; `rise` successes in a row
 * bring a backend up, `fall` failures in a row take it down. A change
 * publishes a new generation in which a down backend is out of the Maglev
 * table and its flows are re-balanced. `external` leaves the verdict to an
 * outside checker (equinoxctl backend health). Backends start up: a new
 * backend takes traffic at once and leaves after `fall` failed probes, as
 * keepalived and HAProxy do.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_random.h>

#include "eqx.h"

/* Probe source ports: one per backend id, so a reply names its probe. */
#define HEALTH_SPORT_BASE 0x8000u
#define HEALTH_SPORT_MASK 0x3fffu
#define HEALTH_ICMP_ID_BASE 0x4500u

struct probe {
	bool configured;
	bool up;
	bool outstanding;
	bool unsent;  /* outstanding, but waiting for the neighbour to resolve */
	uint8_t type; /* enum cfg_health */
	uint16_t dport;
	uint32_t rise, fall;
	uint32_t ok_run, fail_run;
	uint64_t interval_tsc, timeout_tsc;
	uint64_t next_tsc, sent_tsc, changed_tsc;
	uint32_t seq;
	uint16_t icmp_seq;
	uint64_t sent, ok, failed, transitions;
	char reason[64];
};

static struct probe probes[EQX_MAX_BACKEND_IDS];
/* The backend ids with a probe, so the timer does not walk every id. */
static uint32_t probed[EQX_MAX_BACKEND_IDS];
static uint32_t n_probed;

_Static_assert(EQX_MAX_BACKEND_IDS - 1 <= HEALTH_SPORT_MASK, "backend ids fit the port range");

bool
eqx_health_up(uint32_t id)
{
	return id >= EQX_MAX_BACKEND_IDS || !probes[id].configured || probes[id].up;
}

static void
transition(struct eqx_app *app, uint32_t id, bool up, const char *why)
{
	struct probe *pr = &probes[id];
	const struct eqx_backend *b = app->state->backend_by_id[id];
	struct cfg_addr a = { .family = b != NULL ? b->family : 4 };
	char buf[64];

	pr->up = up;
	pr->transitions++;
	pr->changed_tsc = rte_rdtsc();
	snprintf(pr->reason, sizeof(pr->reason), "%s", why);
	if (b != NULL)
		memcpy(a.bytes, b->addr, 16);
	cfg_addr_str(&a, buf, sizeof(buf));
	EQX_LOG(NOTICE, ctl, "backend %s is %s: %s", buf, up ? "up" : "down", why);
	eqx_state_rebuild(app);
}

static void
result(struct eqx_app *app, uint32_t id, bool ok, const char *why)
{
	struct probe *pr = &probes[id];

	pr->outstanding = false;
	pr->unsent = false;
	if (ok) {
		pr->ok++;
		pr->fail_run = 0;
		if (++pr->ok_run >= pr->rise && !pr->up)
			transition(app, id, true, why);
	} else {
		pr->failed++;
		pr->ok_run = 0;
		if (++pr->fail_run >= pr->fall && pr->up)
			transition(app, id, false, why);
	}
}

void
eqx_health_sync(struct eqx_app *app)
{
	const struct eqx_state *st = app->state;
	bool live[EQX_MAX_BACKEND_IDS] = { false };
	uint64_t hz = app->tsc_hz, now = rte_rdtsc();
	uint32_t i, j;

	for (i = 0; i < st->n_vips; i++) {
		const struct cfg_vip *cv = &st->cfg->vips[i];

		if (cv->health.type == CFG_HEALTH_NONE)
			continue;
		for (j = 0; j < st->vips[i].n_backends; j++) {
			uint32_t id = st->vips[i].backends[j];
			struct probe *pr = &probes[id];

			live[id] = true;
			if (!pr->configured || pr->type != cv->health.type) {
				memset(pr, 0, sizeof(*pr));
				pr->configured = true;
				pr->up = true;
				pr->type = (uint8_t)cv->health.type;
				/* Spread the first probes over one interval. */
				pr->next_tsc =
					now + rte_rand() % (hz * cv->health.interval_ms / 1000 + 1);
				snprintf(pr->reason, sizeof(pr->reason), "initial");
			}
			pr->dport = cv->health.port != 0 ? cv->health.port : cv->port;
			pr->rise = cv->health.rise;
			pr->fall = cv->health.fall;
			pr->interval_tsc = hz * cv->health.interval_ms / 1000;
			pr->timeout_tsc = hz * cv->health.timeout_ms / 1000;
		}
	}
	n_probed = 0;
	for (i = 0; i < EQX_MAX_BACKEND_IDS; i++) {
		if (!live[i] && probes[i].configured)
			memset(&probes[i], 0, sizeof(probes[i]));
		if (probes[i].configured && probes[i].type != CFG_HEALTH_EXTERNAL)
			probed[n_probed++] = i;
	}
}

static void
send_probe(struct eqx_app *app, uint32_t id, const struct eqx_backend *b)
{
	const struct eqx_nh_table *nht = app->nh;
	struct probe *pr = &probes[id];
	const struct eqx_nh *nh;
	struct rte_mbuf *m = NULL;
	uint32_t len;
	uint8_t *d;

	nh = nht != NULL && b->nh < nht->n ? &nht->nh[b->nh] : NULL;
	if (nh == NULL || !nh->valid) {
		/*
		 * Not a failure yet: the neighbour gets the probe's timeout to resolve
		 * (at start, or after its entry expired); the timer retries meanwhile.
		 */
		if (!pr->outstanding) {
			pr->outstanding = true;
			pr->unsent = true;
			pr->sent_tsc = rte_rdtsc();
		}
		return;
	}
	d = eqx_control_buf(app, &m);
	if (d == NULL)
		return;
	if (pr->type == CFG_HEALTH_TCP) {
		pr->seq = (uint32_t)rte_rand();
		len = net_tcp_build(d, b->family, nh->mac.addr_bytes,
				    app->ports[nh->port].mac.addr_bytes, b->src, b->addr,
				    (uint16_t)(HEALTH_SPORT_BASE | id), pr->dport, pr->seq, 0,
				    NET_TCP_SYN);
	} else {
		len = net_icmp_echo_build(d, b->family, nh->mac.addr_bytes,
					  app->ports[nh->port].mac.addr_bytes, b->src, b->addr,
					  (uint16_t)(HEALTH_ICMP_ID_BASE + id), ++pr->icmp_seq, 16);
	}
	pr->outstanding = true;
	pr->unsent = false;
	pr->sent++;
	pr->sent_tsc = rte_rdtsc();
	eqx_control_send_buf(app, m, nh->port, len);
}

void
eqx_health_timer(struct eqx_app *app, uint64_t now)
{
	uint32_t i;

	/* result() may publish a generation (and rebuild probed[]): re-read the state each time. */
	for (i = 0; i < n_probed; i++) {
		uint32_t id = probed[i];
		struct probe *pr = &probes[id];
		const struct eqx_backend *b;

		if (!pr->configured || pr->type == CFG_HEALTH_EXTERNAL)
			continue;
		b = app->state->backend_by_id[id];
		if (b == NULL)
			continue;
		if (pr->outstanding && now - pr->sent_tsc > pr->timeout_tsc)
			result(app, id, false,
			       pr->unsent ? "neighbour unresolved" : "probe timed out");
		else if (pr->unsent)
			send_probe(app, id, b);
		if (!pr->outstanding && now >= pr->next_tsc) {
			pr->next_tsc = now + pr->interval_tsc;
			send_probe(app, id, b);
		}
	}
}

/* Answer a SYN-ACK with RST, reusing the frame, so the backend frees the connection. */
static void
send_rst(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h, uint32_t seq)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint8_t eth_dst[6], *o;
	uint8_t src[16], dst[16];
	uint16_t sport = h->dport, dport = h->sport, port = m->port;
	uint32_t len;

	memcpy(eth_dst, d + 6, 6);
	memcpy(src, h->dst, 16);
	memcpy(dst, h->src, 16);
	o = eqx_control_buf(app, &m);
	if (o == NULL)
		return;
	len = net_tcp_build(o, h->family, eth_dst, app->ports[port].mac.addr_bytes, src, dst, sport,
			    dport, seq, 0, NET_TCP_RST);
	eqx_control_send_buf(app, m, port, len);
}

bool
eqx_health_rx(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h)
{
	const struct eqx_backend *b;
	struct probe *pr;
	uint32_t id;

	if (h->l4_proto == NET_PROTO_TCP) {
		if ((h->dport & ~HEALTH_SPORT_MASK) != HEALTH_SPORT_BASE)
			return false;
		id = h->dport & HEALTH_SPORT_MASK;
	} else {
		uint8_t type = (uint8_t)(h->dport >> 8);

		if (!(h->family == 4 && type == 0) && !(h->family == 6 && type == 129))
			return false;
		id = (uint32_t)(uint16_t)(h->sport - HEALTH_ICMP_ID_BASE);
	}
	if (id >= EQX_MAX_BACKEND_IDS)
		return false;
	pr = &probes[id];
	b = app->state->backend_by_id[id];
	if (!pr->configured || !pr->outstanding || pr->unsent || b == NULL ||
	    b->family != h->family || memcmp(b->addr, h->src, h->family == 4 ? 4 : 16) != 0)
		return false;

	if (h->l4_proto == NET_PROTO_TCP) {
		const uint8_t *tcp = rte_pktmbuf_mtod_offset(m, const uint8_t *, h->l4_off);
		uint32_t ack = net_get32(tcp + 8);

		if (h->sport != pr->dport || pr->type != CFG_HEALTH_TCP)
			return false;
		if ((h->tcp_flags & NET_TCP_RST) != 0) {
			result(app, id, false, "connection refused");
			rte_pktmbuf_free(m);
			return true;
		}
		if (ack != pr->seq + 1)
			return false;
		result(app, id, true, "TCP handshake answered");
		send_rst(app, m, h, ack);
		return true;
	}
	/* An answer to an older probe (after its timeout) proves nothing now. */
	if (pr->type != CFG_HEALTH_ICMP ||
	    net_get16(rte_pktmbuf_mtod_offset(m, const uint8_t *, h->l4_off + 6)) != pr->icmp_seq)
		return false;
	result(app, id, true, "echo answered");
	rte_pktmbuf_free(m);
	return true;
}

int
eqx_health_set(struct eqx_app *app, uint32_t id, bool up, const char *why)
{
	struct probe *pr;

	if (id >= EQX_MAX_BACKEND_IDS)
		return -EINVAL;
	pr = &probes[id];
	if (!pr->configured || pr->type != CFG_HEALTH_EXTERNAL)
		return -EPERM;
	if (pr->up != up)
		transition(app, id, up, why);
	return 0;
}

json_t *
eqx_health_json(uint32_t id)
{
	const struct probe *pr = &probes[id];

	if (id >= EQX_MAX_BACKEND_IDS || !pr->configured)
		return json_pack("{s:s}", "type", "none");
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "type", cfg_health_str(pr->type),
			 "state", pr->up ? "up" : "down", "reason", pr->reason, "transitions",
			 (json_int_t)pr->transitions, "probes_sent", (json_int_t)pr->sent,
			 "probes_ok", (json_int_t)pr->ok, "probes_failed", (json_int_t)pr->failed);
}
