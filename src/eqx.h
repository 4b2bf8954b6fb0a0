/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The equinox appliance: what the control lcore, the workers, telemetry and
 * the control socket share. DPDK resources live here, never in lib/.
 */
#ifndef EQX_H
#define EQX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config/cfg.h"
#include "flow/flow.h"
#include "net/net.h"

#define EQX_MAX_PORTS CFG_MAX_PORTS
#define EQX_MAX_WORKERS CFG_MAX_WORKERS
#define EQX_MAX_VIP_IDS CFG_MAX_VIPS
#define EQX_MAX_BACKEND_IDS 16384 /* live (vip, backend) pairs */
#define EQX_MAX_NEXTHOPS 4096
#define EQX_BURST 32
#define EQX_RING_SIZE 1024
#define EQX_FRAG_TABLE_SIZE 8192 /* per worker: datagrams being fragmented */
#define EQX_FRAG_TIMEOUT_S 2
#define EQX_RX_DESC 1024
#define EQX_TX_DESC 1024

extern int eqx_logtype_main;
extern int eqx_logtype_lb;
extern int eqx_logtype_ctl;

#define EQX_LOG(level, type, fmt, ...) \
	rte_log(RTE_LOG_##level, eqx_logtype_##type, "equinox: " fmt "\n", ##__VA_ARGS__)

/*
 * Why a worker dropped a frame. The first entries mirror lib/net's parse
 * errors so that a parse error maps to a counter by offset.
 */
#define foreach_eqx_drop                                  \
	_(L2_OTHER_HOST, "l2_other_host")                 \
	_(UNSUPPORTED_ETHERTYPE, "unsupported_ethertype") \
	_(NOT_LOCAL, "not_local")                         \
	_(VIP_NO_SERVICE, "vip_no_service")               \
	_(FRAGMENT_UNKNOWN, "fragment_unknown")           \
	_(ICMP_ERROR_UNMATCHED, "icmp_error_unmatched")   \
	_(NO_BACKEND, "no_backend")                       \
	_(NEIGHBOUR_UNRESOLVED, "neighbour_unresolved")   \
	_(FLOW_TABLE_FULL, "flow_table_full")             \
	_(NO_HEADROOM, "no_headroom")                     \
	_(MTU_EXCEEDED, "mtu_exceeded")                   \
	_(CONTROL_RING_FULL, "control_ring_full")         \
	_(TX_FULL, "tx_full")                             \
	_(LOCAL_UNSUPPORTED, "local_unsupported")         \
	_(HA_NOT_SERVING, "ha_not_serving")

enum eqx_drop {
#define _(sym, str) EQX_DROP_##sym,
	foreach_eqx_drop
#undef _
		EQX_DROP_PARSE_BASE, /* + enum net_parse_err - 1 */
	EQX_DROP_MAX = EQX_DROP_PARSE_BASE + NET_ERR_MAX - 1,
};

const char *eqx_drop_name(unsigned int reason);

/* Counters of one VIP or one backend, on one worker. */
struct eqx_ctr {
	uint64_t packets;
	uint64_t bytes;
	uint64_t flows; /* new flows */
	int64_t active; /* flows in the table now (this worker's share) */
};

/* What one worker counts besides drops; telemetry shows each under its name. */
#define foreach_eqx_worker_counter \
	_(rx_packets)              \
	_(rx_bytes)                \
	_(tx_packets)              \
	_(tx_bytes)                \
	_(to_control)              \
	_(from_control)            \
	_(affinity_hits)           \
	_(affinity_installs)       \
	_(fragments_forwarded)     \
	_(icmp_errors_forwarded)   \
	_(icmp_too_big_sent)       \
	_(icmp_errors_relayed)     \
	_(events_lost)             \
	_(ha_forwarded)            \
	_(ha_events)               \
	_(ha_events_lost)          \
	_(ha_installs)             \
	_(ha_installs_stale)       \
	_(ha_installs_refused)     \
	_(cluster_queries)         \
	_(cluster_queries_lost)    \
	_(cluster_records)         \
	_(cluster_records_lost)    \
	_(cluster_installs)        \
	_(cluster_installs_stale)  \
	_(cluster_walks)           \
	_(idle_sleeps)             \
	_(loops)

/* The same for the flow table, shown under "flows". */
#define foreach_eqx_flow_counter \
	_(hits)                  \
	_(misses)                \
	_(reassigned) /* backend gone: flow re-balanced */

/* Everything one worker counts; written only by that worker. */
struct eqx_worker_stats {
#define _(n) uint64_t n;
	foreach_eqx_worker_counter
#undef _
#define _(n) uint64_t flow_##n;
		foreach_eqx_flow_counter
#undef _
			uint64_t drops[EQX_DROP_MAX];
	struct eqx_ctr vip[EQX_MAX_VIP_IDS];
	struct eqx_ctr backend[EQX_MAX_BACKEND_IDS];
};

/* ---- published read-mostly state (RCU) ---- */

/* Where a next hop is and what MAC it has; one table generation. */
struct eqx_nh {
	struct rte_ether_addr mac;
	uint16_t port;
	uint8_t valid;
};

struct eqx_nh_table {
	uint32_t n;
	struct eqx_nh nh[];
};

/* A Maglev table, shared by the generations whose VIP has the same backend set. */
struct eqx_maglev {
	uint32_t refs; /* generations holding it; control lcore only */
	uint32_t size;
	uint64_t signature; /* of the (id, weight) set it was built from */
	uint32_t slots[];   /* slot -> backend id, or MAGLEV_EMPTY */
};

struct eqx_backend {
	uint32_t id;     /* stable while the backend exists */
	uint32_t nh;     /* index into the next-hop table */
	uint32_t weight; /* effective: config, or equinoxctl's override */
	uint8_t state;   /* effective enum cfg_backend_state (health folded in) */
	uint8_t family;
	uint16_t vip;  /* stable vip id */
	uint16_t port; /* egress port index */
	uint8_t healthy;
	uint8_t addr[16];
	uint8_t src[16]; /* outer source: the egress port's address of this family */
};

struct eqx_vip {
	uint16_t id; /* stable while the vip exists */
	uint8_t family;
	uint8_t proto;      /* NET_PROTO_TCP / UDP */
	uint16_t port;      /* 0 = every port */
	uint8_t forwarding; /* enum cfg_forwarding */
	uint8_t affinity;   /* enum cfg_affinity */
	uint16_t gue_port;
	uint32_t affinity_timeout; /* seconds */
	uint8_t addr[16];
	struct eqx_maglev *maglev;
	/*
	 * Distributed mode, during a transition window: the table of the
	 * cluster generation before this one when it differs (NULL otherwise).
	 */
	struct eqx_maglev *prev_maglev;
	uint32_t n_backends;
	uint32_t *backends; /* backend ids of this vip, config order */
};

struct eqx_port_state {
	uint16_t mtu;
};

/* A local address: a port address or a VIP, answered by the control lcore. */
struct eqx_local {
	uint8_t family;
	uint8_t is_vip;
	uint16_t port; /* owning port for port addresses */
	uint8_t addr[16];
};

#define EQX_VIP_HASH_SIZE 4096 /* power of two, > 2 * CFG_MAX_VIPS */

/* One immutable generation of what workers read. */
struct eqx_state {
	uint64_t generation;
	const struct cfg *cfg; /* owned by the app; outlives the state */
	uint32_t n_vips;
	struct eqx_vip *vips;
	uint16_t vip_hash[EQX_VIP_HASH_SIZE];   /* index + 1, 0 = empty */
	uint16_t local_hash[EQX_VIP_HASH_SIZE]; /* index + 1, 0 = empty */
	uint16_t vip_by_id[EQX_MAX_VIP_IDS];    /* index + 1, 0 = no such VIP */
	struct eqx_backend *backend_by_id[EQX_MAX_BACKEND_IDS];
	struct eqx_backend *backends; /* storage */
	uint32_t n_backends;
	uint32_t n_locals;
	struct eqx_local *locals;
	struct eqx_port_state port[EQX_MAX_PORTS];
	uint16_t udp_ports[8]; /* the appliance's own UDP services */
	uint8_t n_udp_ports;
	uint8_t l2_ptp; /* pass up PTP over Ethernet (0x88F7) and MPLS frames */
	/*
	 * Distributed mode (cluster.mode): the workers ask the cluster about
	 * mid-connection misses and record flows whose backend differs between
	 * cluster generations. 0 everywhere else: nothing of it runs.
	 */
	uint8_t cluster;
	uint32_t cluster_gen; /* the cluster's backend-set generation this state runs */
};

/* ---- worker <-> control events (fixed-size ring elements) ---- */

enum eqx_event_type {
	EQX_EV_AFFINITY = 1, /* a worker pinned a client to a backend */
	EQX_EV_TX_STAMP,     /* a frame of eqx_agent_send_stamped left: port, stamp */
};

struct eqx_event {
	uint8_t type;
	uint8_t family;
	uint16_t vip; /* EQX_EV_TX_STAMP: the port */
	uint32_t backend;
	union {
		uint8_t client[16];
		struct {
			uint64_t cookie;
			uint64_t tsc;
		} stamp;
	};
};

/*
 * ---- HA flow sync (rings the HA agent creates; NULL without ha.enabled) ----
 *
 * worker -> control: a flow entry was made (or re-balanced), its TCP state
 * moved, or it left the table; control -> worker: put, refresh or remove an
 * entry, or a client pin. A standby cannot know which worker the kernel's
 * fanout (or the NIC's RSS) will hand a connection to after a takeover, so
 * the HA agent installs each synced entry in every worker's table.
 */
enum eqx_flow_ev_type {
	EQX_FEV_CREATED = 1, /* worker -> control */
	EQX_FEV_STATE,
	EQX_FEV_ENDED,
	EQX_FEV_INSTALL, /* control -> worker */
	EQX_FEV_REMOVE,
	EQX_FEV_PIN, /* key.src = client, key.family; vip, backend */
};

struct eqx_flow_event {
	uint8_t type;
	uint8_t state;    /* enum flow_state */
	uint16_t vip;     /* this box's vip id */
	uint32_t backend; /* this box's backend id */
	uint32_t age_s;   /* INSTALL, PIN: seconds since the connection's last packet */
	uint32_t pad;
	struct flow_key key;
};

/*
 * ---- distributed mode (rings the cluster agent creates; NULL without it) ----
 *
 * control -> worker: the answer to a mid-connection miss the worker passed up
 * (EQX_HOPS(m) == EQX_HOPS_CLUSTER): put the flow in the table (backend
 * UINT32_MAX: none to put), then handle the held frame m (NULL: none) again.
 */
struct eqx_cl_install {
	struct rte_mbuf *m;
	uint32_t backend; /* this box's backend id, or UINT32_MAX */
	uint16_t vip;
	uint8_t state; /* enum flow_state */
	uint8_t pad;
	struct flow_key key;
};

/* A frame passed up as a cluster query, not an ICMP error being relayed. */
#define EQX_HOPS_CLUSTER 0xff

/* What the workers do with VIP traffic, set by the HA agent (app->ha_mode). */
enum eqx_ha_mode {
	EQX_HA_SERVE = 0, /* forward it (also every box without HA) */
	EQX_HA_DROP,      /* not ours: a standby drops it (ha_not_serving) */
	EQX_HA_FORWARD,   /* not ours any more: hand it to the peer, at L2 */
};

/* ---- lcores ---- */

struct eqx_worker {
	unsigned int id; /* 0..workers-1; also its queue index */
	unsigned int lcore;
	struct rte_ring *to_ctrl;   /* frames for the control lcore */
	struct rte_ring *from_ctrl; /* frames the control lcore wants sent */
	struct rte_ring *events;    /* struct eqx_event, worker -> control */
	struct rte_ring *installs;  /* struct eqx_event, control -> worker */
	struct rte_ring *relay;     /* frames another worker could not place, via control */
	struct flow_table *flows;
	struct flow_table *affinity;  /* (vip, client) -> backend */
	struct flow_table *frags;     /* (src, dst, proto, ip id) -> backend */
	struct rte_ring *ha_events;   /* struct eqx_flow_event, worker -> control; or NULL */
	struct rte_ring *ha_installs; /* struct eqx_flow_event, control -> worker; or NULL */
	bool ha_quiet;                /* a removal the HA agent asked for: no ENDED event back */
	struct rte_ring *cl_events;   /* struct cluster_rec, worker -> control; or NULL */
	struct rte_ring *cl_installs; /* struct eqx_cl_install, control -> worker; or NULL */
	struct eqx_worker_stats stats;
} __rte_cache_aligned;

struct eqx_port {
	uint16_t port_id;
	struct rte_ether_addr mac;
	char name[CFG_NAME_MAX];
};

/* What equinoxctl changed at run time; a config reload clears it. */
struct eqx_override {
	bool set_weight;
	bool set_state;
	uint32_t weight;
	enum cfg_backend_state state;
};

struct eqx_app {
	const char *config_path;
	struct cfg *cfg; /* the running config, owned here */
	unsigned int n_workers;
	unsigned int n_ports;
	struct eqx_port ports[EQX_MAX_PORTS];
	uint16_t port_mtu[EQX_MAX_PORTS];
	struct rte_mempool *pool;
	struct eqx_worker *workers;
	struct rte_rcu_qsbr *qsbr;

	struct eqx_state *state; /* RCU-published */
	struct eqx_nh_table *nh; /* RCU-published */
	uint64_t generation;

	/* per backend id, control lcore only */
	struct eqx_override override[EQX_MAX_BACKEND_IDS];

	/* held by the control lcore while it swaps or frees a state, and by readers
	 * outside the lcores (telemetry) while they read one */
	pthread_mutex_t state_lock;

	/* counters of an id when it was (re)allocated: reports subtract them */
	struct eqx_ctr vip_base[EQX_MAX_VIP_IDS];
	struct eqx_ctr backend_base[EQX_MAX_BACKEND_IDS];

	/*
	 * HA: enum eqx_ha_mode, read by every worker once a loop; with
	 * EQX_HA_FORWARD, VIP frames go out of port ha_fwd_port to ha_fwd_mac
	 * (its first 6 bytes: one atomic store, since it changes while workers
	 * forward; written before the mode).
	 */
	volatile uint8_t ha_mode;
	uint16_t ha_fwd_port;
	uint64_t ha_fwd_mac;

	/*
	 * Distributed mode, for the next state built (control lcore): the
	 * cluster generation it runs, and what becomes of the previous Maglev
	 * tables (enum eqx_cl_prev).
	 */
	uint32_t cluster_gen;
	uint8_t cluster_prev;

	volatile bool quit;         /* the control loop ends */
	volatile bool workers_quit; /* then, once the agents said goodbye, the workers */
	volatile bool reload;
	uint64_t tsc_hz;
};

enum eqx_cl_prev {
	EQX_CL_PREV_KEEP = 0, /* a rebuild: each VIP keeps the previous table it had */
	EQX_CL_PREV_SHIFT,    /* a new cluster generation: the running tables become previous */
	EQX_CL_PREV_DROP,     /* the transition is over: no previous tables */
};

extern struct eqx_app eqx;

/*
 * How many workers a frame has visited looking for its flow (an ICMP error
 * whose connection lives on another worker): an mbuf dynamic field, 0 for
 * frames that are not being relayed.
 */
extern int eqx_hops_offset;
#define EQX_HOPS(m) RTE_MBUF_DYNFIELD((m), eqx_hops_offset, uint8_t *)
/*
 * A 64-bit field: on a frame passed up, the TSC when its burst was received;
 * on a frame the control lcore sends with eqx_tx_stamp_flag, the cookie its
 * TX time is reported back under (agent.h).
 */
extern int eqx_stamp_offset;
extern uint64_t eqx_tx_stamp_flag;
int eqx_mbuf_fields_init(void);

/* worker.c */
int eqx_worker_main(void *arg);

/* state.c: building and publishing generations */
/* Make cfg the running config (taking it over) and publish its generation. */
int eqx_state_apply(struct eqx_app *app, struct cfg *cfg, struct cfg_errors *errs);
/* Publish a new generation of the running config (health or override changed). */
int eqx_state_rebuild(struct eqx_app *app);
/* The stable backend id of (vip name, address) in the running state, or -ENOENT. */
int eqx_backend_find(struct eqx_app *app, const char *vip, const char *addr);
void eqx_state_fini(struct eqx_app *app);
/* Checks that need more than the config model: every backend has a route. */
int eqx_config_check(const struct cfg *cfg, struct cfg_errors *errs);
int eqx_route_lookup(const struct cfg *cfg, const struct cfg_addr *dst, unsigned int *port,
		     struct cfg_addr *nh);
/* Port p's address of dst's family, preferring one whose prefix holds dst; NULL if none. */
const struct cfg_addr *eqx_port_source(const struct cfg *cfg, unsigned int p,
				       const struct cfg_addr *dst);
/* A VIP's or backend's counters summed over workers, since its id was allocated. */
void eqx_ctr_get(struct eqx_app *app, bool vip, uint32_t id, struct eqx_ctr *out);

/* neigh.c: next hops, ARP resolution */
int eqx_nh_register(struct eqx_app *app, uint16_t port, const struct cfg_addr *addr,
		    const uint8_t *static_mac);
void eqx_nh_publish(struct eqx_app *app);
/* A neighbour told its MAC (ARP, NS source option, NA target option). */
void eqx_nh_learn(struct eqx_app *app, uint16_t port, uint8_t family, const uint8_t *addr,
		  const uint8_t mac[6]);
void eqx_nh_timer(struct eqx_app *app, uint64_t now_tsc);
void eqx_nh_fini(struct eqx_app *app);
unsigned int eqx_nh_count(void);
/* The address of next hop idx; safe from any thread. */
int eqx_nh_addr(uint32_t idx, char *buf, size_t len);

/* control.c */
int eqx_control_loop(struct eqx_app *app);
int eqx_control_send(struct eqx_app *app, struct rte_mbuf *m);
/* A frame buffer of EQX_CTL_FRAME_MAX bytes: *mp reused (reset) or, when NULL, allocated. */
#define EQX_CTL_FRAME_MAX 128
uint8_t *eqx_control_buf(struct eqx_app *app, struct rte_mbuf **mp);
/* Trim the buffer to the len bytes built and send it on port. */
int eqx_control_send_buf(struct eqx_app *app, struct rte_mbuf *m, uint16_t port, uint32_t len);
int eqx_reload(struct eqx_app *app, char **err_text);

/* health.c: backend probes from the control lcore */
void eqx_health_sync(struct eqx_app *app);
void eqx_health_timer(struct eqx_app *app, uint64_t now_tsc);
bool eqx_health_rx(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h);
bool eqx_health_up(uint32_t backend_id);
int eqx_health_set(struct eqx_app *app, uint32_t backend_id, bool up, const char *why);
struct json_t *eqx_health_json(uint32_t backend_id);

/* stats.c */
struct json_t;
struct json_t *eqx_stats_json(struct eqx_app *app);
struct json_t *eqx_vips_json(struct eqx_app *app, const char *only);
struct rte_tel_data;
/* A JSON object as telemetry data: nested objects flattened into one dict each. */
int eqx_tel_from_json(struct rte_tel_data *d, struct json_t *o);
int eqx_telemetry_init(struct eqx_app *app);

/* ctlsock.c */
int eqx_ctlsock_open(const char *path);
void eqx_ctlsock_poll(struct eqx_app *app, int timeout_ms);
void eqx_ctlsock_close(void);

#endif /* EQX_H */
