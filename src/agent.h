/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Agents: the protocols the control lcore runs beside the load balancer (LISP
 * map-server, HA pair, PTP clock). Each is one file src/<name>_agent.c around
 * its library in lib/<name>; this is the one place the control loop, the
 * control socket and telemetry reach them through.
 */
#ifndef EQX_AGENT_H
#define EQX_AGENT_H

#include <jansson.h>

#include <rte_cycles.h>
#include <rte_time.h>

#include "eqx.h"

struct eqx_agent {
	const char *name; /* telemetry /equinox/<name>; equinoxctl <name> ARGS... */
	const char *help; /* one line for the telemetry listing */
	bool (*enabled)(const struct cfg *cfg);
	/*
	 * Before config port `port` is opened: add what the agent needs to its
	 * device string (len bytes); may be NULL.
	 */
	void (*port_device)(const struct cfg *cfg, unsigned int port, char *device, size_t len);
	/* After the ports started, before the workers: -errno stops equinox. */
	int (*start)(struct eqx_app *app);
	/* Every control loop iteration (at least every millisecond). */
	void (*poll)(struct eqx_app *app, uint64_t now_tsc);
	/* A frame the workers passed up; true when the agent took it (and freed it). */
	bool (*frame)(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h);
	/* The TX time of a frame sent with eqx_agent_send_stamped. */
	void (*tx_stamp)(struct eqx_app *app, uint16_t port, uint64_t cookie, uint64_t tsc);
	/* A new generation of the config is running (reload). */
	void (*reload)(struct eqx_app *app);
	/* Its state for telemetry and `equinoxctl <name>` (control lcore). */
	json_t *(*json)(struct eqx_app *app);
	/* `equinoxctl <name> ARGS...`: a reply object, or NULL and *err set. */
	json_t *(*ctl)(struct eqx_app *app, json_t *args, const char **err);
	/* Going away: say goodbye on the wire (the workers are still sending). */
	void (*stop)(struct eqx_app *app);
};

extern const struct eqx_agent eqx_lisp_agent;
extern const struct eqx_agent eqx_ha_agent;
extern const struct eqx_agent eqx_ptp_agent;
extern const struct eqx_agent eqx_cluster_agent;

/*
 * The kernel interface behind a device string ("net_af_packet0,iface=eth1,..."),
 * into out (IF_NAMESIZE bytes); false when the device names none.
 */
bool eqx_device_ifname(const char *device, char *out);
/* Config port `port`'s device string as the enabled agents want it opened. */
void eqx_agents_port_device(const struct cfg *cfg, unsigned int port, char *device, size_t len);
/* Start the enabled agents; their UDP ports reach the workers' state. */
int eqx_agents_start(struct eqx_app *app);
void eqx_agents_poll(struct eqx_app *app, uint64_t now_tsc);
bool eqx_agents_frame(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h);
void eqx_agents_tx_stamp(struct eqx_app *app, uint16_t port, uint64_t cookie, uint64_t tsc);
void eqx_agents_reload(struct eqx_app *app);
void eqx_agents_stop(struct eqx_app *app);
/* {"cmd": "<agent>", "args": [...]} from the control socket; NULL when no agent is named. */
json_t *eqx_agents_ctl(struct eqx_app *app, const char *cmd, json_t *req);
/* Register /equinox/<name> for every agent. */
int eqx_agents_telemetry_init(void);

/*
 * Send a frame and get its TX time back through the agent's tx_stamp: the
 * worker reads the TSC right before the burst that carries it alone.
 */
int eqx_agent_send_stamped(struct eqx_app *app, struct rte_mbuf *m, uint16_t port, uint64_t cookie);

#define NS_PER_SEC 1000000000ULL

/* A TSC reading as monotonic nanoseconds (the clock the lib/ agents are driven with). */
static inline uint64_t
eqx_agent_tsc_ns(uint64_t tsc)
{
	uint64_t hz = eqx.tsc_hz;

	return tsc / hz * NS_PER_SEC + tsc % hz * NS_PER_SEC / hz;
}

static inline uint64_t
eqx_agent_now_ns(void)
{
	return eqx_agent_tsc_ns(rte_rdtsc());
}

/*
 * A ring of count elements of esize bytes between worker w and the control
 * lcore (one producer, one consumer), on w's socket, named "eqx_<what><w>";
 * NULL when it cannot be made.
 */
struct rte_ring *eqx_agent_worker_ring(const struct eqx_worker *w, const char *what, size_t esize,
				       unsigned int count);

/* n bytes as a JSON string of lowercase hex digits (telemetry of digests and IDs). */
json_t *eqx_agent_hex_json(const uint8_t *b, size_t n);

/* The TSC at which the worker received the burst a passed-up frame came in. */
static inline uint64_t
eqx_rx_tsc(const struct rte_mbuf *m)
{
	return *RTE_MBUF_DYNFIELD(m, eqx_stamp_offset, const uint64_t *);
}

#endif /* EQX_AGENT_H */
