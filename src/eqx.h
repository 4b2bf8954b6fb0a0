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
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config/cfg.h"
#include "flow/flow.h"
#include "net/net.h"

#define EQX_MAX_PORTS CFG_MAX_PORTS
#define EQX_MAX_WORKERS CFG_MAX_WORKERS
#define EQX_MAX_VIP_IDS CFG_MAX_VIPS
#define EQX_MAX_BACKEND_IDS 16384	/* live (vip, backend) pairs */
#define EQX_MAX_NEXTHOPS 4096
#define EQX_BURST 32
#define EQX_RING_SIZE 1024
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
#define foreach_eqx_drop                                                  \
	_(L2_OTHER_HOST, "l2_other_host")                                 \
	_(UNSUPPORTED_ETHERTYPE, "unsupported_ethertype")                 \
	_(NOT_LOCAL, "not_local")                                         \
	_(VIP_NO_SERVICE, "vip_no_service")                               \
	_(VIP_FRAGMENT, "vip_fragment")                                   \
	_(NO_BACKEND, "no_backend")                                       \
	_(NEIGHBOUR_UNRESOLVED, "neighbour_unresolved")                   \
	_(FLOW_TABLE_FULL, "flow_table_full")                             \
	_(NO_HEADROOM, "no_headroom")                                     \
	_(MTU_EXCEEDED, "mtu_exceeded")                                   \
	_(CONTROL_RING_FULL, "control_ring_full")                         \
	_(TX_FULL, "tx_full")                                             \
	_(LOCAL_UNSUPPORTED, "local_unsupported")

enum eqx_drop {
#define _(sym, str) EQX_DROP_##sym,
	foreach_eqx_drop
#undef _
	EQX_DROP_PARSE_BASE,	/* + enum net_parse_err - 1 */
	EQX_DROP_MAX = EQX_DROP_PARSE_BASE + NET_ERR_MAX - 1,
};

const char *eqx_drop_name(unsigned int reason);

/* Counters of one VIP or one backend, on one worker. */
struct eqx_ctr {
	uint64_t packets;
	uint64_t bytes;
	uint64_t flows;		/* new flows */
};

/* Everything one worker counts; written only by that worker. */
struct eqx_worker_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t to_control;
	uint64_t from_control;
	uint64_t flow_hits;
	uint64_t flow_misses;
	uint64_t flow_reassigned;	/* backend gone: flow re-balanced */
	uint64_t idle_sleeps;
	uint64_t loops;
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

struct eqx_backend {
	uint32_t id;		/* stable while the backend exists */
	uint32_t nh;		/* index into the next-hop table */
	uint32_t weight;
	uint8_t state;		/* enum cfg_backend_state */
	uint8_t family;
	uint16_t vip;		/* stable vip id */
	uint8_t addr[16];
};

struct eqx_vip {
	uint16_t id;		/* stable while the vip exists */
	uint8_t family;
	uint8_t proto;		/* NET_PROTO_TCP / UDP */
	uint16_t port;		/* 0 = every port */
	uint8_t forwarding;	/* enum cfg_forwarding */
	uint8_t addr[16];
	uint32_t table_size;
	uint32_t *table;	/* Maglev: slot -> backend id, or MAGLEV_EMPTY */
	uint32_t n_backends;
	uint32_t *backends;	/* backend ids of this vip, config order */
};

struct eqx_port_state {
	uint8_t addr4[4];	/* first IPv4 address: IPIP outer source */
	uint16_t mtu;
};

/* A local address: a port address or a VIP, answered by the control lcore. */
struct eqx_local {
	uint8_t family;
	uint8_t is_vip;
	uint16_t port;		/* owning port for port addresses */
	uint8_t addr[16];
};

#define EQX_VIP_HASH_SIZE 4096	/* power of two, > 2 * CFG_MAX_VIPS */

/* One immutable generation of what workers read. */
struct eqx_state {
	uint64_t generation;
	struct cfg *cfg;			/* the config it was built from */
	uint32_t n_vips;
	struct eqx_vip *vips;
	uint16_t vip_hash[EQX_VIP_HASH_SIZE];	/* index + 1, 0 = empty */
	uint16_t local_hash[EQX_VIP_HASH_SIZE];	/* index + 1, 0 = empty */
	struct eqx_backend *backend_by_id[EQX_MAX_BACKEND_IDS];
	struct eqx_backend *backends;		/* storage */
	uint32_t n_backends;
	uint32_t n_locals;
	struct eqx_local *locals;
	struct eqx_port_state port[EQX_MAX_PORTS];
};

/* ---- lcores ---- */

struct eqx_worker {
	unsigned int id;		/* 0..workers-1; also its queue index */
	unsigned int lcore;
	struct rte_ring *to_ctrl;	/* frames for the control lcore */
	struct rte_ring *from_ctrl;	/* frames the control lcore wants sent */
	struct flow_table *flows;
	struct eqx_worker_stats stats;
} __rte_cache_aligned;

struct eqx_port {
	uint16_t port_id;
	struct rte_ether_addr mac;
	char name[CFG_NAME_MAX];
};

struct eqx_app {
	const char *config_path;
	struct cfg *cfg;			/* the running config (owned by the state) */
	unsigned int n_workers;
	unsigned int n_ports;
	struct eqx_port ports[EQX_MAX_PORTS];
	uint16_t port_mtu[EQX_MAX_PORTS];
	struct rte_mempool *pool;
	struct eqx_worker *workers;
	struct rte_rcu_qsbr *qsbr;

	struct eqx_state *state;		/* RCU-published */
	struct eqx_nh_table *nh;		/* RCU-published */
	uint64_t generation;

	/* held by the control lcore while it swaps or frees a state, and by readers
	 * outside the lcores (telemetry) while they read one */
	pthread_mutex_t state_lock;

	/* counters of an id when it was (re)allocated: reports subtract them */
	struct eqx_ctr vip_base[EQX_MAX_VIP_IDS];
	struct eqx_ctr backend_base[EQX_MAX_BACKEND_IDS];

	volatile bool quit;
	volatile bool reload;
	uint64_t tsc_hz;
};

extern struct eqx_app eqx;

/* worker.c */
int eqx_worker_main(void *arg);

/* state.c: building and publishing generations */
int eqx_state_apply(struct eqx_app *app, struct cfg *cfg, struct cfg_errors *errs);
void eqx_state_fini(struct eqx_app *app);
/* Checks that need more than the config model: every backend has a route. */
int eqx_config_check(const struct cfg *cfg, struct cfg_errors *errs);
int eqx_route_lookup(const struct cfg *cfg, const struct cfg_addr *dst, unsigned int *port,
		     struct cfg_addr *nh);
/* A VIP's or backend's counters summed over workers, since its id was allocated. */
void eqx_ctr_get(struct eqx_app *app, bool vip, uint32_t id, struct eqx_ctr *out);

/* neigh.c: next hops, ARP resolution */
int eqx_nh_register(struct eqx_app *app, uint16_t port, const struct cfg_addr *addr,
		    const uint8_t *static_mac);
void eqx_nh_publish(struct eqx_app *app);
void eqx_nh_rx_arp(struct eqx_app *app, uint16_t port, const struct net_arp *a);
void eqx_nh_timer(struct eqx_app *app, uint64_t now_tsc);
void eqx_nh_fini(struct eqx_app *app);
unsigned int eqx_nh_count(void);
/* The address of next hop idx; safe from any thread. */
int eqx_nh_addr(uint32_t idx, char *buf, size_t len);

/* control.c */
int eqx_control_loop(struct eqx_app *app);
int eqx_control_send(struct eqx_app *app, struct rte_mbuf *m);
int eqx_reload(struct eqx_app *app, char **err_text);

/* stats.c */
struct json_t;
struct json_t *eqx_stats_json(struct eqx_app *app);
struct json_t *eqx_vips_json(struct eqx_app *app, const char *only);
int eqx_telemetry_init(struct eqx_app *app);

/* ctlsock.c */
int eqx_ctlsock_open(const char *path);
void eqx_ctlsock_poll(struct eqx_app *app, int timeout_ms);
void eqx_ctlsock_close(void);

#endif /* EQX_H */
