/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The agents' common plumbing: start, poll, frame and TX-stamp dispatch on the
 * control lcore; their JSON for telemetry, which runs in a thread of its own
 * and so reads a snapshot the control lcore refreshes, never an agent's state.
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_telemetry.h>

#include "agent.h"
#include "control.h"

static const struct eqx_agent *const agents[] = {
	&eqx_ha_agent, /* first: a takeover installs state before the others act */
	&eqx_lisp_agent,
	&eqx_ptp_agent,
	&eqx_cluster_agent,
};
#define N_AGENTS RTE_DIM(agents)

static bool running[N_AGENTS];

/* Telemetry's copy of each agent's JSON, refreshed every SNAPSHOT_MS. */
#define SNAPSHOT_MS 100
static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static char *snapshot[N_AGENTS];
static uint64_t next_snapshot;

static void
snapshot_take(struct eqx_app *app, unsigned int i)
{
	json_t *o = running[i] && agents[i]->json != NULL ? agents[i]->json(app) : NULL;
	char *s, *old;

	if (o == NULL)
		o = json_pack("{s:b}", "enabled", running[i]);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	pthread_mutex_lock(&snap_lock);
	old = snapshot[i];
	snapshot[i] = s;
	pthread_mutex_unlock(&snap_lock);
	free(old);
}

bool
eqx_device_ifname(const char *device, char *out)
{
	const char *p = strstr(device, "iface=");
	size_t n;

	out[0] = '\0';
	/* "iface=" as an argument, not the end of another one's name. */
	if (p == NULL || (p != device && p[-1] != ','))
		return false;
	p += 6;
	n = strcspn(p, ",");
	if (n == 0 || n >= IF_NAMESIZE)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

void
eqx_agents_port_device(const struct cfg *cfg, unsigned int port, char *device, size_t len)
{
	unsigned int i;

	snprintf(device, len, "%s", cfg->ports[port].device);
	for (i = 0; i < N_AGENTS; i++)
		if (agents[i]->port_device != NULL && agents[i]->enabled(cfg))
			agents[i]->port_device(cfg, port, device, len);
}

int
eqx_agents_start(struct eqx_app *app)
{
	unsigned int i;
	int rc;

	for (i = 0; i < N_AGENTS; i++) {
		if (!agents[i]->enabled(app->cfg)) {
			snapshot_take(app, i);
			continue;
		}
		rc = agents[i]->start(app);
		if (rc != 0) {
			EQX_LOG(ERR, ctl, "%s: cannot start: %s", agents[i]->name, strerror(-rc));
			return rc;
		}
		running[i] = true;
		EQX_LOG(NOTICE, ctl, "%s: started", agents[i]->name);
		snapshot_take(app, i);
	}
	/* The workers pass up only the UDP ports listed in the state they read. */
	return eqx_state_rebuild(app);
}

void
eqx_agents_poll(struct eqx_app *app, uint64_t now_tsc)
{
	bool snap = now_tsc >= next_snapshot;
	unsigned int i;

	for (i = 0; i < N_AGENTS; i++) {
		if (!running[i])
			continue;
		if (agents[i]->poll != NULL)
			agents[i]->poll(app, now_tsc);
		if (snap)
			snapshot_take(app, i);
	}
	if (snap)
		next_snapshot = now_tsc + app->tsc_hz / (1000 / SNAPSHOT_MS);
}

bool
eqx_agents_frame(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h)
{
	unsigned int i;

	for (i = 0; i < N_AGENTS; i++)
		if (running[i] && agents[i]->frame != NULL && agents[i]->frame(app, m, h))
			return true;
	return false;
}

void
eqx_agents_tx_stamp(struct eqx_app *app, uint16_t port, uint64_t cookie, uint64_t tsc)
{
	unsigned int i;

	for (i = 0; i < N_AGENTS; i++)
		if (running[i] && agents[i]->tx_stamp != NULL)
			agents[i]->tx_stamp(app, port, cookie, tsc);
}

void
eqx_agents_reload(struct eqx_app *app)
{
	unsigned int i;

	for (i = 0; i < N_AGENTS; i++)
		if (running[i] && agents[i]->reload != NULL)
			agents[i]->reload(app);
}

void
eqx_agents_stop(struct eqx_app *app)
{
	unsigned int i;

	for (i = 0; i < N_AGENTS; i++) {
		if (running[i] && agents[i]->stop != NULL)
			agents[i]->stop(app);
		running[i] = false;
	}
	pthread_mutex_lock(&snap_lock);
	for (i = 0; i < N_AGENTS; i++) {
		free(snapshot[i]);
		snapshot[i] = NULL;
	}
	pthread_mutex_unlock(&snap_lock);
}

json_t *
eqx_agents_ctl(struct eqx_app *app, const char *cmd, json_t *req)
{
	const char *err = NULL;
	json_t *args, *r;
	unsigned int i;

	for (i = 0; i < N_AGENTS; i++)
		if (strcmp(cmd, agents[i]->name) == 0)
			break;
	if (i == N_AGENTS)
		return NULL;
	if (!running[i])
		return json_pack("{s:s, s:s+}", "result", "error", "error", agents[i]->name,
				 " is not enabled in the config");
	args = json_object_get(req, "args");
	if (args == NULL || json_array_size(args) == 0) {
		r = agents[i]->json(app);
	} else if (agents[i]->ctl == NULL) {
		r = NULL;
		err = "no such command";
	} else {
		r = agents[i]->ctl(app, args, &err);
	}
	if (r == NULL)
		return json_pack("{s:s, s:s}", "result", "error", "error",
				 err != NULL ? err : "failed");
	snapshot_take(app, i);
	return json_pack("{s:s, s:o}", "result", "ok", "data", r);
}

static int
tel_agent(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const char *name = strrchr(cmd, '/') + 1;
	json_t *o = NULL;
	char *text = NULL;
	unsigned int i;
	int rc;

	RTE_SET_USED(params);
	/* Copy under the lock, parse outside it: the control lcore takes it to refresh. */
	pthread_mutex_lock(&snap_lock);
	for (i = 0; i < N_AGENTS; i++)
		if (strcmp(name, agents[i]->name) == 0) {
			if (snapshot[i] != NULL)
				text = strdup(snapshot[i]);
			break;
		}
	pthread_mutex_unlock(&snap_lock);
	if (text != NULL)
		o = json_loads(text, 0, NULL);
	free(text);
	if (o == NULL)
		o = json_pack("{s:b}", "enabled", false);
	rc = eqx_tel_from_json(d, o);
	json_decref(o);
	return rc;
}

int
eqx_agents_telemetry_init(void)
{
	char path[64];
	unsigned int i;
	int rc;

	for (i = 0; i < N_AGENTS; i++) {
		snprintf(path, sizeof(path), "/equinox/%s", agents[i]->name);
		rc = rte_telemetry_register_cmd(path, tel_agent, agents[i]->help);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
eqx_agent_send_stamped(struct eqx_app *app, struct rte_mbuf *m, uint16_t port, uint64_t cookie)
{
	m->port = port;
	m->ol_flags |= eqx_tx_stamp_flag;
	*RTE_MBUF_DYNFIELD(m, eqx_stamp_offset, uint64_t *) = cookie;
	return eqx_control_send(app, m);
}

struct rte_ring *
eqx_agent_worker_ring(const struct eqx_worker *w, const char *what, size_t esize,
		      unsigned int count)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "eqx_%s%u", what, w->id);
	return rte_ring_create_elem(name, (unsigned int)esize, count,
				    (int)rte_lcore_to_socket_id(w->lcore),
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
}

json_t *
eqx_agent_hex_json(const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * 64 + 1];
	size_t i;

	n = RTE_MIN(n, (size_t)64);
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[2 * n] = '\0';
	return json_string(hex);
}
