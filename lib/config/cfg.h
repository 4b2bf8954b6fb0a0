/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/config: the equinox config model, its two loaders (JSON with jansson,
 * *.cfg with libconfig) and its validation. Both syntaxes become one tree that
 * one validator walks, so they cannot drift; every error names its path.
 */
#ifndef EQX_CFG_H
#define EQX_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_NAME_MAX 32
#define CFG_DEVICE_MAX 256
#define CFG_PATH_MAX 256
#define CFG_KEY_MAX 64 /* shared secrets, bytes */
#define CFG_MAX_WORKERS 64
#define CFG_MAX_PORTS 16
#define CFG_MAX_VIPS 1024
#define CFG_MAX_BACKENDS 1024 /* per VIP */
#define CFG_MAX_ADDRS 16      /* per port */
#define CFG_MAX_EAL_ARGS 64

/* An IPv4 or IPv6 address in network byte order (IPv4 in bytes 0..3). */
struct cfg_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t bytes[16];
};

struct cfg_prefix {
	struct cfg_addr addr;
	uint8_t len;
};

struct cfg_neighbour {
	struct cfg_addr addr;
	uint8_t mac[6];
};

struct cfg_route {
	struct cfg_prefix prefix;
	struct cfg_addr via;
};

struct cfg_port {
	char name[CFG_NAME_MAX];
	char device[CFG_DEVICE_MAX]; /* devargs: "net_af_packet0,iface=x" or a PCI address */
	uint16_t mtu;                /* 0 (default): the device's own; else 576..9600 */
	struct cfg_prefix addresses[CFG_MAX_ADDRS];
	unsigned int n_addresses;
	struct cfg_neighbour *neighbours;
	unsigned int n_neighbours;
	struct cfg_route *routes;
	unsigned int n_routes;
};

/* enum values and their config strings come from these lists. */
#define foreach_cfg_idle _(ADAPTIVE, "adaptive") _(BUSY, "busy")
#define foreach_cfg_proto _(TCP, "tcp") _(UDP, "udp")
#define foreach_cfg_forwarding _(IPIP, "ipip") _(GUE, "gue") _(L2DSR, "l2dsr")
#define foreach_cfg_backend_state _(ACTIVE, "active") _(DRAINING, "draining") _(DOWN, "down")
#define foreach_cfg_affinity _(NONE, "none") _(CLIENT_IP, "client-ip")
#define foreach_cfg_health _(NONE, "none") _(TCP, "tcp") _(ICMP, "icmp") _(EXTERNAL, "external")
#define foreach_cfg_cluster_mode _(STANDALONE, "standalone") _(DISTRIBUTED, "distributed")
#define foreach_cfg_log_level \
	_(EMERG, "emerg")     \
	_(ALERT, "alert")     \
	_(CRIT, "crit")       \
	_(ERR, "error")       \
	_(WARNING, "warning") \
	_(NOTICE, "notice")   \
	_(INFO, "info")       \
	_(DEBUG, "debug")
#define foreach_cfg_ptp_transport _(UDP4, "udp4") _(L2, "l2")
#define foreach_cfg_ptp_timestamping _(AUTO, "auto") _(HARDWARE, "hardware") _(SOFTWARE, "software")
#define foreach_cfg_ptp_sw_stamps _(AUTO, "auto") _(KERNEL, "kernel") _(PMD, "pmd") _(TSC, "tsc")
#define foreach_cfg_ptp_role _(AUTO, "auto") _(MASTER, "master") _(SLAVE, "slave")
#define foreach_cfg_lisp_alg _(HMAC_SHA1_96, "hmac-sha1-96") _(HMAC_SHA256_128, "hmac-sha256-128")

#define _(sym, str) CFG_IDLE_##sym,
enum cfg_idle { foreach_cfg_idle };
#undef _
#define _(sym, str) CFG_PROTO_##sym,
enum cfg_proto { foreach_cfg_proto };
#undef _
#define _(sym, str) CFG_FWD_##sym,
enum cfg_forwarding { foreach_cfg_forwarding };
#undef _
#define _(sym, str) CFG_BACKEND_##sym,
enum cfg_backend_state { foreach_cfg_backend_state };
#undef _
#define _(sym, str) CFG_AFFINITY_##sym,
enum cfg_affinity { foreach_cfg_affinity };
#undef _
#define _(sym, str) CFG_HEALTH_##sym,
enum cfg_health { foreach_cfg_health };
#undef _
#define _(sym, str) CFG_CLUSTER_##sym,
enum cfg_cluster_mode { foreach_cfg_cluster_mode };
#undef _
#define _(sym, str) CFG_LOG_##sym,
enum cfg_log_level { foreach_cfg_log_level };
#undef _
#define _(sym, str) CFG_PTP_TRANSPORT_##sym,
enum cfg_ptp_transport { foreach_cfg_ptp_transport };
#undef _
#define _(sym, str) CFG_PTP_TS_##sym,
enum cfg_ptp_timestamping { foreach_cfg_ptp_timestamping };
#undef _
#define _(sym, str) CFG_PTP_SW_##sym,
enum cfg_ptp_sw_stamps { foreach_cfg_ptp_sw_stamps };
#undef _
#define _(sym, str) CFG_PTP_ROLE_##sym,
enum cfg_ptp_role { foreach_cfg_ptp_role };
#undef _
#define _(sym, str) CFG_LISP_ALG_##sym,
enum cfg_lisp_alg { foreach_cfg_lisp_alg };
#undef _

/* The string a value was read from ("adaptive", "ipip", ...). */
const char *cfg_idle_str(enum cfg_idle v);
const char *cfg_proto_str(enum cfg_proto v);
const char *cfg_forwarding_str(enum cfg_forwarding v);
const char *cfg_backend_state_str(enum cfg_backend_state v);
const char *cfg_affinity_str(enum cfg_affinity v);
const char *cfg_health_str(enum cfg_health v);
const char *cfg_cluster_mode_str(enum cfg_cluster_mode v);
const char *cfg_log_level_str(enum cfg_log_level v);
const char *cfg_ptp_transport_str(enum cfg_ptp_transport v);
const char *cfg_ptp_timestamping_str(enum cfg_ptp_timestamping v);
const char *cfg_ptp_sw_stamps_str(enum cfg_ptp_sw_stamps v);
const char *cfg_ptp_role_str(enum cfg_ptp_role v);
const char *cfg_lisp_alg_str(enum cfg_lisp_alg v);
/* Parse a backend state name; -EINVAL when unknown. */
int cfg_backend_state_parse(const char *s, enum cfg_backend_state *out);

struct cfg_backend {
	struct cfg_addr addr;
	uint32_t weight; /* 0..1000, default 1 */
	/*
	 * default active. draining: its existing flows stay, it gets no new
	 * flows; down: removed from the VIP, its flows are re-balanced.
	 */
	enum cfg_backend_state state;
};

struct cfg_vip {
	char name[CFG_NAME_MAX];
	struct cfg_addr addr;
	enum cfg_proto proto;
	uint16_t port;                  /* 0 = every port */
	enum cfg_forwarding forwarding; /* default ipip */
	uint16_t gue_port;   /* key vips[].gue_port, UDP destination port for forwarding "gue",
			      * default 5555, 1..65535; allowed (and ignored) for other methods */
	uint32_t table_size; /* prime, default 65537 */
	struct {
		enum cfg_affinity mode;
		uint32_t timeout_s;
	} affinity;
	struct {
		enum cfg_health type;
		uint32_t interval_ms;
		uint32_t rise;
		uint32_t fall;
		uint16_t port; /* key health.port: TCP port probed; 0 (default) = the VIP's port */
		uint32_t timeout_ms; /* key health.timeout_ms: default 1000, 10..60000, must be <=
				      * interval_ms when interval_ms is given explicitly (if only
				      * interval_ms is given and is smaller than the default
				      * timeout, timeout defaults to interval_ms) */
	} health;
	struct cfg_backend *backends;
	unsigned int n_backends;
};

struct cfg_member {
	uint32_t id;
	struct cfg_addr addr;
};

struct cfg_ptp_port {
	char port[CFG_NAME_MAX];
	enum cfg_ptp_role role;
	int8_t log_sync_interval;
	int8_t log_announce_interval;
	int64_t delay_asymmetry_ns;
	uint16_t vlan;
	uint32_t mpls_tx_labels[4];
	unsigned int n_mpls_tx;
	uint32_t mpls_rx_labels[4];
	unsigned int n_mpls_rx;
};

struct cfg_lisp_key {
	uint16_t id;
	enum cfg_lisp_alg algorithm;
	char secret[CFG_KEY_MAX + 1];
};

struct cfg_lisp_eid {
	struct cfg_prefix prefix;
	bool accept_more_specifics;
};

struct cfg_lisp_site {
	char name[CFG_NAME_MAX];
	struct cfg_lisp_key *keys;
	unsigned int n_keys;
	struct cfg_lisp_eid *eids;
	unsigned int n_eids;
};

struct cfg {
	struct {
		char name[CFG_NAME_MAX];
		uint32_t id;
	} instance;

	char **eal; /* NULL-terminated, n_eal entries */
	unsigned int n_eal;

	struct {
		unsigned int workers;     /* 1..CFG_MAX_WORKERS, default 1 */
		enum cfg_idle idle;       /* default adaptive */
		uint32_t flow_table_size; /* per worker, default 1048576 */
		uint32_t mbufs;           /* default 16384 */
		struct {
			uint32_t tcp_syn_s;         /* default 10, 1..3600 */
			uint32_t tcp_established_s; /* default 300, 1..86400 */
			uint32_t tcp_closing_s;     /* default 10, 1..3600 */
			uint32_t udp_s;             /* default 30, 1..86400 */
		} timeouts;                         /* key: dataplane.timeouts { tcp_syn_s, ... } */
	} dataplane;

	struct cfg_port *ports;
	unsigned int n_ports;

	struct cfg_vip *vips;
	unsigned int n_vips;

	/* The jansson tree this model was validated from (cfg_with_vips rebuilds from it). */
	void *tree;

	struct {
		enum cfg_cluster_mode mode;
		uint16_t sync_port;
		uint8_t key[CFG_KEY_MAX];
		unsigned int key_len;
		struct cfg_member *members;
		unsigned int n_members;
	} cluster;

	struct {
		bool enabled;
		char port[CFG_NAME_MAX];
		struct cfg_addr peer;
		uint8_t priority;
		bool preempt;
		uint32_t heartbeat_ms;
		uint32_t dead_count;
		uint32_t preempt_delay_ms; /* default 1000 */
		uint16_t sync_port;        /* default 7441 */
		uint8_t key[CFG_KEY_MAX];
		unsigned int key_len;
	} ha;

	struct {
		bool enabled;
		uint8_t domain;
		enum cfg_ptp_transport transport;
		enum cfg_ptp_timestamping timestamping;
		enum cfg_ptp_sw_stamps software_stamps; /* where software stamps come from */
		uint8_t priority1;
		uint8_t priority2;
		struct cfg_ptp_port *ports;
		unsigned int n_ports;
		struct {
			double kp;
			double ki;
			int64_t step_threshold_ns;
			int64_t first_step_threshold_ns;
		} servo;
		char chrony_socket[CFG_PATH_MAX];
		struct {
			bool system_clock; /* discipline CLOCK_REALTIME too; default false */
			int64_t initial_offset_ns; /* error put into the clock at start (tests) */
			double initial_freq_ppb;
		} clock;
	} ptp;

	struct {
		bool enabled;
		char port[CFG_NAME_MAX];
		char state_file[CFG_PATH_MAX];
		uint32_t registration_ttl_s;
		struct cfg_lisp_site *sites;
		unsigned int n_sites;
	} lisp;

	struct {
		char socket[CFG_PATH_MAX]; /* default /run/equinox/<instance.name>.sock */
	} control;

	struct {
		enum cfg_log_level level; /* default info */
	} log;
};

/* Every problem found in one load, each "path: message". */
#define CFG_MAX_ERRORS 64

struct cfg_errors {
	unsigned int n; /* may exceed CFG_MAX_ERRORS; only the first are kept */
	char msg[CFG_MAX_ERRORS][256];
};

/*
 * Load and validate a file; the syntax follows the extension (.cfg is
 * libconfig, anything else JSON). On any error returns NULL with every error
 * in errs (a syntax error is reported with its line). The result is freed with
 * cfg_free.
 */
struct cfg *cfg_load_file(const char *path, struct cfg_errors *errs);

/* The same from memory; name is used in syntax errors. */
struct cfg *cfg_load_json(const char *text, size_t len, struct cfg_errors *errs);
struct cfg *cfg_load_libconfig(const char *text, size_t len, struct cfg_errors *errs);

void cfg_free(struct cfg *c);

enum cfg_syntax {
	CFG_SYNTAX_JSON,
	CFG_SYNTAX_LIBCONFIG,
};

/*
 * The loader behind the three above: name is what syntax errors are reported
 * against ("NAME:LINE: message"); the others use the path, or "<string>".
 */
struct cfg *cfg_load_text(const char *name, enum cfg_syntax syntax, const char *text, size_t len,
			  struct cfg_errors *errs);

/*
 * The whole model as canonical JSON: every key, defaults filled in, keys in
 * the order of the config contract, shared secrets shown as "***" and unset
 * optional values (ha.peer, keys, ...) left out. Two configs that load to the
 * same model give the same text. malloc'd, the caller frees; NULL on ENOMEM.
 */
char *cfg_dump(const struct cfg *c);

/*
 * The VIP set of c alone, as canonical compact JSON: an array of the VIPs as
 * cfg_dump shows them (every default filled in), keys sorted, no spaces; the
 * same set gives the same bytes. malloc'd; NULL on ENOMEM.
 */
char *cfg_dump_vips(const struct cfg *c);

/* The ptp section of c alone, as cfg_dump shows it, compact with sorted keys. */
char *cfg_dump_ptp(const struct cfg *c);

/*
 * A new model: the tree c was loaded from with its "vips" replaced by the
 * JSON array text vips (as cfg_dump_vips writes it), validated as a whole
 * file would be. NULL with errs filled when it does not validate.
 */
struct cfg *cfg_with_vips(const struct cfg *c, const char *vips, size_t len,
			  struct cfg_errors *errs);

/* Index of the port with this name in c->ports, or -ENOENT. */
int cfg_port_index(const struct cfg *c, const char *name);

/* Format helpers used by the app and the tests. */
int cfg_addr_parse(const char *s, struct cfg_addr *out);     /* 0 or -EINVAL */
int cfg_prefix_parse(const char *s, struct cfg_prefix *out); /* "a/len" */
void cfg_addr_str(const struct cfg_addr *a, char *buf, size_t len);
bool cfg_addr_equal(const struct cfg_addr *a, const struct cfg_addr *b);
bool cfg_prefix_contains(const struct cfg_prefix *p, const struct cfg_addr *a);

#endif /* EQX_CFG_H */
