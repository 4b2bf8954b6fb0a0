/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one validator: walks the tree that either front end built, fills
 * struct cfg and reports every problem as "path: message". It never stops at
 * the first error (an operator fixes a file in one pass, as with relayd), a
 * missing optional key takes its documented default, and a present key with a
 * bad value is always an error, never quietly replaced by the default.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/cfg.h"
#include "config/cfg_get.h"
#include "config/cfg_internal.h"

#define DEFAULT_INSTANCE_ID 1
#define DEFAULT_FLOW_TABLE_SIZE 1048576
#define DEFAULT_MBUFS 16384
#define DEFAULT_TCP_SYN_S 10
#define DEFAULT_TCP_ESTABLISHED_S 300
#define DEFAULT_TCP_CLOSING_S 10
#define DEFAULT_UDP_S 30
#define DEFAULT_TABLE_SIZE 65537
/* The port of the Linux fou examples ("ip fou add port 5555 gue"). */
#define DEFAULT_GUE_PORT 5555
#define DEFAULT_AFFINITY_TIMEOUT_S 300
#define DEFAULT_HEALTH_INTERVAL_MS 1000
#define DEFAULT_HEALTH_RISE 2
#define DEFAULT_HEALTH_FALL 3
#define DEFAULT_HEALTH_TIMEOUT_MS 1000
#define DEFAULT_SYNC_PORT 7440
#define DEFAULT_HA_PRIORITY 100
#define DEFAULT_HA_HEARTBEAT_MS 20
#define DEFAULT_HA_DEAD_COUNT 3
#define DEFAULT_HA_PREEMPT_DELAY_MS 1000
#define DEFAULT_HA_SYNC_PORT 7441
#define DEFAULT_PTP_PRIORITY 128
#define DEFAULT_LOG_ANNOUNCE_INTERVAL 1
#define DEFAULT_SERVO_KP 0.7
#define DEFAULT_SERVO_KI 0.3
#define DEFAULT_FIRST_STEP_NS 20000
#define DEFAULT_LISP_STATE_FILE "/var/lib/equinox/lisp-ms.state"
#define DEFAULT_LISP_TTL_S 180
#define MPLS_LABELS_MAX 4

/* instance */

static void
parse_instance(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "name", "id", NULL };
	int64_t x;

	cv_check_keys(v, o, keys);
	cv_get_name(v, o, "name", true, c->instance.name);
	cv_get_int(v, o, "id", false, 1, 65535, DEFAULT_INSTANCE_ID, &x);
	c->instance.id = (uint32_t)x;
}

/* eal */

static void
parse_eal(struct vctx *v, json_t *root, struct cfg *c)
{
	json_t *arr, *e;
	size_t old, i;
	int n;

	n = cv_get_array(v, root, "eal", false, CFG_MAX_EAL_ARGS, &arr);
	if (arr == NULL)
		return;
	c->eal = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(c->eal[0]));
	if (c->eal == NULL) {
		cv_kerr(v, "eal", "out of memory");
		return;
	}
	old = cv_push_key(v, "eal");
	for (i = 0; i < (size_t)n; i++) {
		e = json_array_get(arr, i);
		if (!json_is_string(e)) {
			size_t o2 = cv_push_index(v, i);

			cv_verr(v, "expected a string, got %s", cv_type_name(e));
			cv_pop(v, o2);
			continue;
		}
		c->eal[c->n_eal] = strdup(json_string_value(e));
		if (c->eal[c->n_eal] == NULL) {
			cv_verr(v, "out of memory");
			break;
		}
		c->n_eal++;
	}
	cv_pop(v, old);
}

/* The EAL arguments when the file gives none: the main lcore plus one per worker. */
static void
default_eal(struct vctx *v, struct cfg *c)
{
	char lcores[16];
	const char *args[4];
	unsigned int i;

	snprintf(lcores, sizeof(lcores), "0-%u", c->dataplane.workers);
	args[0] = "-l";
	args[1] = lcores;
	args[2] = "--file-prefix";
	args[3] = c->instance.name;
	c->eal = calloc(NELEMS(args) + 1, sizeof(c->eal[0]));
	if (c->eal == NULL) {
		cv_kerr(v, "eal", "out of memory");
		return;
	}
	for (i = 0; i < NELEMS(args); i++) {
		c->eal[i] = strdup(args[i]);
		if (c->eal[i] == NULL) {
			cv_kerr(v, "eal", "out of memory");
			return;
		}
		c->n_eal++;
	}
}

/* dataplane */

static void
parse_timeouts(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "tcp_syn_s", "tcp_established_s", "tcp_closing_s",
					    "udp_s", NULL };
	int64_t x;

	cv_check_keys(v, o, keys);
	cv_get_int(v, o, "tcp_syn_s", false, 1, 3600, DEFAULT_TCP_SYN_S, &x);
	c->dataplane.timeouts.tcp_syn_s = (uint32_t)x;
	cv_get_int(v, o, "tcp_established_s", false, 1, 86400, DEFAULT_TCP_ESTABLISHED_S, &x);
	c->dataplane.timeouts.tcp_established_s = (uint32_t)x;
	cv_get_int(v, o, "tcp_closing_s", false, 1, 3600, DEFAULT_TCP_CLOSING_S, &x);
	c->dataplane.timeouts.tcp_closing_s = (uint32_t)x;
	cv_get_int(v, o, "udp_s", false, 1, 86400, DEFAULT_UDP_S, &x);
	c->dataplane.timeouts.udp_s = (uint32_t)x;
}

static void
parse_dataplane(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "workers", "idle",     "flow_table_size",
					    "mbufs",   "timeouts", NULL };
	json_t *sub;
	int64_t x;
	size_t old;
	int e;

	cv_check_keys(v, o, keys);
	cv_get_int(v, o, "workers", false, 1, CFG_MAX_WORKERS, 1, &x);
	c->dataplane.workers = (unsigned int)x;
	GET_ENUM(v, o, "idle", idle_names, CFG_IDLE_ADAPTIVE, &e);
	c->dataplane.idle = (enum cfg_idle)e;
	cv_get_int(v, o, "flow_table_size", false, 1024, 67108864, DEFAULT_FLOW_TABLE_SIZE, &x);
	c->dataplane.flow_table_size = (uint32_t)x;
	cv_get_int(v, o, "mbufs", false, 1024, 16777216, DEFAULT_MBUFS, &x);
	c->dataplane.mbufs = (uint32_t)x;
	c->dataplane.timeouts.tcp_syn_s = DEFAULT_TCP_SYN_S;
	c->dataplane.timeouts.tcp_established_s = DEFAULT_TCP_ESTABLISHED_S;
	c->dataplane.timeouts.tcp_closing_s = DEFAULT_TCP_CLOSING_S;
	c->dataplane.timeouts.udp_s = DEFAULT_UDP_S;
	if (cv_get_object(v, o, "timeouts", &sub) != BAD) {
		old = cv_push_key(v, "timeouts");
		parse_timeouts(v, sub, c);
		cv_pop(v, old);
	}
}

/* ports */

/* Is a the address of an earlier entry: ports before this one, or this port's own? */
static bool
find_port_addr(const struct cfg *c, unsigned int port, unsigned int idx, const struct cfg_addr *a,
	       unsigned int *pj, unsigned int *pk)
{
	unsigned int j, k, n;

	for (j = 0; j <= port; j++) {
		n = j == port ? idx : c->ports[j].n_addresses;
		for (k = 0; k < n; k++) {
			if (c->ports[j].addresses[k].addr.family != 0 &&
			    cfg_addr_equal(&c->ports[j].addresses[k].addr, a)) {
				*pj = j;
				*pk = k;
				return true;
			}
		}
	}
	return false;
}

static void
parse_port_addresses(struct vctx *v, json_t *o, struct cfg *c, unsigned int pi)
{
	char sb[SHOWN_MAX];
	struct cfg_port *p = &c->ports[pi];
	struct cfg_prefix *a;
	char abuf[INET6_ADDRSTRLEN];
	unsigned int j, k;
	json_t *arr, *e;
	size_t i, old, o2;
	int n;

	n = cv_get_array(v, o, "addresses", false, CFG_MAX_ADDRS, &arr);
	if (n == BAD)
		return;
	if (arr == NULL) {
		cv_kerr(v, "addresses", "missing required key (at least one address)");
		return;
	}
	if (n == 0) {
		cv_kerr(v, "addresses", "at least one address is required");
		return;
	}
	old = cv_push_key(v, "addresses");
	for (i = 0; i < (size_t)n; i++) {
		a = &p->addresses[i];
		o2 = cv_push_index(v, i);
		e = json_array_get(arr, i);
		if (!json_is_string(e)) {
			cv_verr(v, "expected a string, got %s", cv_type_name(e));
		} else if (cfg_prefix_parse(json_string_value(e), a) != 0) {
			cv_verr(v, "not an address/length prefix: \"%s\"",
				cv_shown(json_string_value(e), sb));
			memset(a, 0, sizeof(*a));
		} else if (find_port_addr(c, pi, (unsigned int)i, &a->addr, &j, &k)) {
			cfg_addr_str(&a->addr, abuf, sizeof(abuf));
			cv_verr(v, "duplicate address %s (also ports[%u].addresses[%u])", abuf, j,
				k);
		}
		cv_pop(v, o2);
	}
	p->n_addresses = (unsigned int)n;
	cv_pop(v, old);
}

static void
parse_neighbour(struct vctx *v, json_t *o, struct cfg_port *p, size_t idx)
{
	static const char *const keys[] = { "address", "mac", NULL };
	struct cfg_neighbour *nb = &p->neighbours[idx];
	char abuf[INET6_ADDRSTRLEN];
	size_t j;

	cv_check_keys(v, o, keys);
	if (cv_get_addr(v, o, "address", true, &nb->addr) == GOT) {
		for (j = 0; j < idx; j++) {
			if (cfg_addr_equal(&p->neighbours[j].addr, &nb->addr)) {
				cfg_addr_str(&nb->addr, abuf, sizeof(abuf));
				cv_kerr(v, "address",
					"duplicate neighbour %s (also neighbours[%zu])", abuf, j);
				break;
			}
		}
	}
	cv_get_mac(v, o, "mac", nb->mac);
}

static void
parse_route(struct vctx *v, json_t *o, struct cfg_port *p, struct cfg_route *r)
{
	static const char *const keys[] = { "prefix", "via", NULL };
	char abuf[INET6_ADDRSTRLEN];
	unsigned int k;
	bool inside = false;
	int rp, rv;

	cv_check_keys(v, o, keys);
	rp = cv_get_prefix(v, o, "prefix", true, true, &r->prefix);
	rv = cv_get_addr(v, o, "via", true, &r->via);
	if (rv != GOT)
		return;
	cfg_addr_str(&r->via, abuf, sizeof(abuf));
	if (rp == GOT && r->prefix.addr.family != r->via.family) {
		cv_kerr(v, "via", "%s is IPv%u but the prefix is IPv%u", abuf, r->via.family,
			r->prefix.addr.family);
		return;
	}
	for (k = 0; k < p->n_addresses; k++) {
		if (cfg_prefix_contains(&p->addresses[k], &r->via))
			inside = true;
	}
	if (!inside)
		cv_kerr(v, "via", "%s is not inside any address prefix of port \"%s\"", abuf,
			p->name);
}

static void
parse_port(struct vctx *v, json_t *o, struct cfg *c, unsigned int pi)
{
	static const char *const keys[] = { "name",       "device", "mtu", "addresses",
					    "neighbours", "routes", NULL };
	struct cfg_port *p = &c->ports[pi];
	json_t *e;
	unsigned int j;
	size_t i;

	cv_check_keys(v, o, keys);
	if (cv_get_name(v, o, "name", true, p->name) == GOT) {
		for (j = 0; j < pi; j++) {
			if (strcmp(c->ports[j].name, p->name) == 0) {
				cv_kerr(v, "name", "duplicate name \"%s\" (also ports[%u])",
					p->name, j);
				break;
			}
		}
	}
	cv_get_strbuf(v, o, "device", true, true, p->device, sizeof(p->device), NULL);
	{
		int64_t mtu;

		/* 0 keeps the device's MTU; IPv4 needs 576 at least, 9600 covers jumbo frames. */
		if (cv_get_int(v, o, "mtu", false, 0, 9600, 0, &mtu) == GOT && mtu != 0 &&
		    mtu < 576)
			cv_kerr(v, "mtu", "%" PRId64 " is below 576 (0 keeps the device's MTU)",
				mtu);
		else
			p->mtu = (uint16_t)mtu;
	}
	parse_port_addresses(v, o, c, pi);

	PARSE_OBJECTS(v, o, "neighbours", SIZE_MAX, p->neighbours, p->n_neighbours, i, e,
		      parse_neighbour(v, e, p, i));

	PARSE_OBJECTS(v, o, "routes", SIZE_MAX, p->routes, p->n_routes, i, e,
		      parse_route(v, e, p, &p->routes[i]));
}

static void
parse_ports(struct vctx *v, json_t *root, struct cfg *c)
{
	json_t *arr, *e;
	size_t i, old;
	int n;

	n = cv_get_array(v, root, "ports", true, CFG_MAX_PORTS, &arr);
	if (n == 0 && arr != NULL)
		cv_kerr(v, "ports", "at least one port is required");
	if (n <= 0)
		return;
	c->ports = cv_alloc_array(v, (size_t)n, sizeof(c->ports[0]));
	if (c->ports == NULL)
		return;
	c->n_ports = (unsigned int)n;
	old = cv_push_key(v, "ports");
	FOREACH_OBJECT(v, arr, n, i, e, parse_port(v, e, c, (unsigned int)i));
	cv_pop(v, old);
}

/* A reference to a configured port by name. */
static void
get_port_ref(struct vctx *v, json_t *o, const char *key, bool req, const struct cfg *c, char *buf)
{
	if (cv_get_name(v, o, key, req, buf) != GOT)
		return;
	if (cfg_port_index(c, buf) < 0) {
		cv_kerr(v, key, "no port named \"%s\" in ports", buf);
		buf[0] = '\0';
	}
}

/* vips */

/* Is a inside the prefix of some port address (on one of our links)? */
static bool
on_port_subnet(const struct cfg *c, const struct cfg_addr *a)
{
	unsigned int i, k;

	for (i = 0; i < c->n_ports; i++) {
		for (k = 0; k < c->ports[i].n_addresses; k++) {
			if (cfg_prefix_contains(&c->ports[i].addresses[k], a))
				return true;
		}
	}
	return false;
}

/* Is a one of the ports' own addresses? Where, in *pj and *pk. */
static bool
is_port_addr(const struct cfg *c, const struct cfg_addr *a, unsigned int *pj, unsigned int *pk)
{
	if (c->n_ports == 0)
		return false;
	return find_port_addr(c, c->n_ports - 1, c->ports[c->n_ports - 1].n_addresses, a, pj, pk);
}

/*
 * ipip and gue encapsulate, and the outer header takes the backend's family:
 * any mix of VIP and backend families works. l2dsr only rewrites the
 * destination MAC, so the backend must have the VIP's family and be on one of
 * our links.
 */
static void
parse_backend(struct vctx *v, json_t *o, const struct cfg *c, struct cfg_vip *vip, size_t idx)
{
	static const char *const keys[] = { "address", "weight", "state", NULL };
	struct cfg_backend *b = &vip->backends[idx];
	char abuf[INET6_ADDRSTRLEN];
	int64_t x;
	size_t j;
	int e;

	cv_check_keys(v, o, keys);
	if (cv_get_addr(v, o, "address", true, &b->addr) == GOT) {
		cfg_addr_str(&b->addr, abuf, sizeof(abuf));
		if (vip->forwarding == CFG_FWD_L2DSR && vip->addr.family != 0 &&
		    b->addr.family != vip->addr.family) {
			cv_kerr(v, "address",
				"%s is IPv%u but the VIP is IPv%u (l2dsr forwards "
				"the client's packet unchanged)",
				abuf, b->addr.family, vip->addr.family);
		} else if (vip->forwarding == CFG_FWD_L2DSR && !on_port_subnet(c, &b->addr)) {
			cv_kerr(v, "address", "l2dsr needs a backend on a port's own subnet");
		} else {
			for (j = 0; j < idx; j++) {
				if (cfg_addr_equal(&vip->backends[j].addr, &b->addr)) {
					cv_kerr(v, "address",
						"duplicate backend %s "
						"(also backends[%zu])",
						abuf, j);
					break;
				}
			}
		}
	}
	cv_get_int(v, o, "weight", false, 0, 1000, 1, &x);
	b->weight = (uint32_t)x;
	GET_ENUM(v, o, "state", backend_state_names, CFG_BACKEND_ACTIVE, &e);
	b->state = (enum cfg_backend_state)e;
}

static void
parse_affinity(struct vctx *v, json_t *o, struct cfg_vip *vip)
{
	static const char *const keys[] = { "mode", "timeout_s", NULL };
	int64_t x;
	int e;

	cv_check_keys(v, o, keys);
	GET_ENUM(v, o, "mode", affinity_names, CFG_AFFINITY_NONE, &e);
	vip->affinity.mode = (enum cfg_affinity)e;
	cv_get_int(v, o, "timeout_s", false, 1, 86400, DEFAULT_AFFINITY_TIMEOUT_S, &x);
	vip->affinity.timeout_s = (uint32_t)x;
}

/* l4_ok: the VIP's protocol and port were read, so the tcp check can rely on them. */
static void
parse_health(struct vctx *v, json_t *o, struct cfg_vip *vip, bool l4_ok)
{
	static const char *const keys[] = { "type", "interval_ms", "rise", "fall",
					    "port", "timeout_ms",  NULL };
	int64_t x;
	int e, irc, prc, trc;

	cv_check_keys(v, o, keys);
	GET_ENUM(v, o, "type", health_names, CFG_HEALTH_NONE, &e);
	vip->health.type = (enum cfg_health)e;
	irc = cv_get_int(v, o, "interval_ms", false, 10, 60000, DEFAULT_HEALTH_INTERVAL_MS, &x);
	vip->health.interval_ms = (uint32_t)x;
	cv_get_int(v, o, "rise", false, 1, 100, DEFAULT_HEALTH_RISE, &x);
	vip->health.rise = (uint32_t)x;
	cv_get_int(v, o, "fall", false, 1, 100, DEFAULT_HEALTH_FALL, &x);
	vip->health.fall = (uint32_t)x;
	prc = cv_get_int(v, o, "port", false, 0, 65535, 0, &x);
	vip->health.port = (uint16_t)x;
	trc = cv_get_int(v, o, "timeout_ms", false, 10, 60000, DEFAULT_HEALTH_TIMEOUT_MS, &x);
	vip->health.timeout_ms = (uint32_t)x;

	/* A probe ends before the next starts: an interval under the default timeout bounds it. */
	if (trc == ABSENT && irc == GOT && vip->health.interval_ms < vip->health.timeout_ms)
		vip->health.timeout_ms = vip->health.interval_ms;
	if (trc == GOT && irc == GOT && vip->health.timeout_ms > vip->health.interval_ms)
		cv_kerr(v, "timeout_ms", "%u must be at most interval_ms (%u)",
			vip->health.timeout_ms, vip->health.interval_ms);

	/* A TCP probe needs a TCP port: the VIP's own when it has one. */
	if (vip->health.type == CFG_HEALTH_TCP && prc != BAD && vip->health.port == 0 && l4_ok) {
		if (vip->proto == CFG_PROTO_UDP)
			cv_kerr(v, "port",
				"health type \"tcp\" on a UDP VIP needs an explicit "
				"port to probe (the VIP's port is a UDP port)");
		else if (vip->port == 0)
			cv_kerr(v, "port",
				"health type \"tcp\" on a VIP with port 0 (every port) "
				"needs a port to probe");
	}
}

/* Returns whether (address, protocol, port) were all read, for the uniqueness check. */
static bool
parse_vip(struct vctx *v, json_t *o, struct cfg *c, unsigned int vi)
{
	static const char *const keys[] = { "name",       "address",  "protocol",   "port",
					    "forwarding", "gue_port", "table_size", "affinity",
					    "health",     "backends", NULL };
	struct cfg_vip *vip = &c->vips[vi];
	char abuf[INET6_ADDRSTRLEN];
	json_t *sub, *e;
	bool key_ok = true, l4_ok = true;
	int64_t x;
	size_t i, old;
	unsigned int j, k;
	int n, rc, ts_rc;

	cv_check_keys(v, o, keys);
	if (cv_get_name(v, o, "name", true, vip->name) == GOT) {
		for (j = 0; j < vi; j++) {
			if (strcmp(c->vips[j].name, vip->name) == 0) {
				cv_kerr(v, "name", "duplicate name \"%s\" (also vips[%u])",
					vip->name, j);
				break;
			}
		}
	}
	if (cv_get_addr(v, o, "address", true, &vip->addr) != GOT) {
		key_ok = false;
	} else if (is_port_addr(c, &vip->addr, &j, &k)) {
		cfg_addr_str(&vip->addr, abuf, sizeof(abuf));
		cv_kerr(v, "address",
			"%s is the address of ports[%u].addresses[%u]; a VIP must "
			"not be a port address",
			abuf, j, k);
	}
	rc = GET_ENUM(v, o, "protocol", proto_names, CFG_PROTO_TCP, &n);
	vip->proto = (enum cfg_proto)n;
	l4_ok = l4_ok && rc != BAD;
	rc = cv_get_int(v, o, "port", false, 0, 65535, 0, &x);
	vip->port = (uint16_t)x;
	l4_ok = l4_ok && rc != BAD;
	key_ok = key_ok && l4_ok;

	GET_ENUM(v, o, "forwarding", forwarding_names, CFG_FWD_IPIP, &n);
	vip->forwarding = (enum cfg_forwarding)n;
	cv_get_int(v, o, "gue_port", false, 1, 65535, DEFAULT_GUE_PORT, &x);
	vip->gue_port = (uint16_t)x;

	ts_rc = cv_get_int(v, o, "table_size", false, 1021, 16777259, DEFAULT_TABLE_SIZE, &x);
	vip->table_size = (uint32_t)x;
	if (ts_rc == GOT && !cv_is_prime(vip->table_size)) {
		cv_kerr(v, "table_size", "%u is not prime (Maglev needs a prime table size)",
			vip->table_size);
		ts_rc = BAD;
	}

	vip->affinity.mode = CFG_AFFINITY_NONE;
	vip->affinity.timeout_s = DEFAULT_AFFINITY_TIMEOUT_S;
	if (cv_get_object(v, o, "affinity", &sub) != BAD) {
		old = cv_push_key(v, "affinity");
		parse_affinity(v, sub, vip);
		cv_pop(v, old);
	}
	vip->health.type = CFG_HEALTH_NONE;
	vip->health.interval_ms = DEFAULT_HEALTH_INTERVAL_MS;
	vip->health.rise = DEFAULT_HEALTH_RISE;
	vip->health.fall = DEFAULT_HEALTH_FALL;
	vip->health.port = 0;
	vip->health.timeout_ms = DEFAULT_HEALTH_TIMEOUT_MS;
	if (cv_get_object(v, o, "health", &sub) != BAD) {
		old = cv_push_key(v, "health");
		parse_health(v, sub, vip, l4_ok);
		cv_pop(v, old);
	}

	PARSE_OBJECTS(v, o, "backends", CFG_MAX_BACKENDS, vip->backends, vip->n_backends, i, e,
		      parse_backend(v, e, c, vip, i));
	if (ts_rc != BAD && vip->n_backends >= vip->table_size)
		cv_kerr(v, "table_size", "%u must be larger than the number of backends (%u)",
			vip->table_size, vip->n_backends);
	return key_ok;
}

static void
parse_vips(struct vctx *v, json_t *root, struct cfg *c)
{
	char abuf[INET6_ADDRSTRLEN];
	struct cfg_vip *a, *b;
	json_t *arr, *e;
	bool *key_ok;
	size_t i, old, o2;
	unsigned int j;
	int n;

	n = cv_get_array(v, root, "vips", false, CFG_MAX_VIPS, &arr);
	if (n <= 0)
		return;
	c->vips = cv_alloc_array(v, (size_t)n, sizeof(c->vips[0]));
	key_ok = cv_alloc_array(v, (size_t)n, sizeof(key_ok[0]));
	if (c->vips == NULL || key_ok == NULL) {
		free(key_ok);
		return;
	}
	c->n_vips = (unsigned int)n;
	old = cv_push_key(v, "vips");
	FOREACH_OBJECT(v, arr, n, i, e, key_ok[i] = parse_vip(v, e, c, (unsigned int)i));
	for (i = 0; i < (size_t)n; i++) {
		a = &c->vips[i];
		for (j = 0; key_ok[i] && j < i; j++) {
			b = &c->vips[j];
			if (key_ok[j] && cfg_addr_equal(&a->addr, &b->addr) &&
			    a->proto == b->proto && a->port == b->port) {
				cfg_addr_str(&a->addr, abuf, sizeof(abuf));
				o2 = cv_push_index(v, i);
				cv_verr(v,
					"duplicate (address, protocol, port) (%s, %s, %u) "
					"(also vips[%u])",
					abuf, cfg_proto_str(a->proto), a->port, j);
				cv_pop(v, o2);
				break;
			}
		}
	}
	cv_pop(v, old);
	free(key_ok);
}

/* cluster */

static void
parse_member(struct vctx *v, json_t *o, struct cfg *c, size_t idx)
{
	static const char *const keys[] = { "id", "address", NULL };
	struct cfg_member *m = &c->cluster.members[idx];
	char abuf[INET6_ADDRSTRLEN];
	int64_t x;
	size_t j;

	cv_check_keys(v, o, keys);
	/* id 0 is out of range, so it marks a member whose id was bad. */
	if (cv_get_int(v, o, "id", true, 1, 65535, 0, &x) == GOT) {
		m->id = (uint32_t)x;
		for (j = 0; j < idx; j++) {
			if (c->cluster.members[j].id == m->id) {
				cv_kerr(v, "id", "duplicate id %u (also members[%zu])", m->id, j);
				break;
			}
		}
	}
	if (cv_get_addr(v, o, "address", true, &m->addr) == GOT) {
		for (j = 0; j < idx; j++) {
			if (cfg_addr_equal(&c->cluster.members[j].addr, &m->addr)) {
				cfg_addr_str(&m->addr, abuf, sizeof(abuf));
				cv_kerr(v, "address", "duplicate address %s (also members[%zu])",
					abuf, j);
				break;
			}
		}
	}
}

static void
parse_cluster(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "mode", "sync_port", "key", "members", NULL };
	json_t *e;
	int64_t x;
	size_t i;
	int n;

	cv_check_keys(v, o, keys);
	GET_ENUM(v, o, "mode", cluster_mode_names, CFG_CLUSTER_STANDALONE, &n);
	c->cluster.mode = (enum cfg_cluster_mode)n;
	cv_get_int(v, o, "sync_port", false, 1, 65535, DEFAULT_SYNC_PORT, &x);
	c->cluster.sync_port = (uint16_t)x;
	cv_get_hexkey(v, o, "key", c->cluster.key, &c->cluster.key_len);
	PARSE_OBJECTS(v, o, "members", SIZE_MAX, c->cluster.members, c->cluster.n_members, i, e,
		      parse_member(v, e, c, i));
}

/* Distributed mode needs the sync key and this instance among the members. */
static void
cluster_distributed_check(struct vctx *v, const struct cfg *c)
{
	unsigned int i;

	if (c->cluster.key_len == 0)
		cv_verr(v, "cluster.key: required with mode \"distributed\"");
	for (i = 0; i < c->cluster.n_members; i++)
		if (c->cluster.members[i].id == c->instance.id)
			return;
	cv_verr(v, "cluster.members: no member has instance.id %u (mode \"distributed\")",
		c->instance.id);
}

/* ha */

static void
parse_ha(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "enabled",      "port",       "peer",
					    "priority",     "preempt",    "preempt_delay_ms",
					    "heartbeat_ms", "dead_count", "sync_port",
					    "key",          NULL };
	int64_t x;

	cv_check_keys(v, o, keys);
	cv_get_bool(v, o, "enabled", false, &c->ha.enabled);
	get_port_ref(v, o, "port", false, c, c->ha.port);
	cv_get_addr(v, o, "peer", false, &c->ha.peer);
	cv_get_int(v, o, "priority", false, 1, 254, DEFAULT_HA_PRIORITY, &x);
	c->ha.priority = (uint8_t)x;
	cv_get_bool(v, o, "preempt", true, &c->ha.preempt);
	cv_get_int(v, o, "heartbeat_ms", false, 5, 10000, DEFAULT_HA_HEARTBEAT_MS, &x);
	c->ha.heartbeat_ms = (uint32_t)x;
	cv_get_int(v, o, "dead_count", false, 2, 100, DEFAULT_HA_DEAD_COUNT, &x);
	c->ha.dead_count = (uint32_t)x;
	cv_get_int(v, o, "preempt_delay_ms", false, 0, 3600000, DEFAULT_HA_PREEMPT_DELAY_MS, &x);
	c->ha.preempt_delay_ms = (uint32_t)x;
	cv_get_int(v, o, "sync_port", false, 1, 65535, DEFAULT_HA_SYNC_PORT, &x);
	c->ha.sync_port = (uint16_t)x;
	cv_get_hexkey(v, o, "key", c->ha.key, &c->ha.key_len);
	if (c->ha.enabled) {
		if (c->ha.port[0] == '\0')
			cv_kerr(v, "port", "required when ha.enabled is true");
		if (c->ha.peer.family == 0)
			cv_kerr(v, "peer", "required when ha.enabled is true");
		if (c->ha.key_len == 0)
			cv_kerr(v, "key", "required when ha.enabled is true");
	}
}

/* ptp */

static void
parse_labels(struct vctx *v, json_t *o, const char *key, uint32_t *labels, unsigned int *nl)
{
	json_t *arr, *e;
	size_t i, old, o2;
	int64_t x;
	int n;

	n = cv_get_array(v, o, key, false, MPLS_LABELS_MAX, &arr);
	if (n <= 0)
		return;
	old = cv_push_key(v, key);
	for (i = 0; i < (size_t)n; i++) {
		o2 = cv_push_index(v, i);
		e = json_array_get(arr, i);
		if (!json_is_integer(e)) {
			cv_verr(v, "expected an integer, got %s", cv_type_name(e));
		} else {
			x = json_integer_value(e);
			/* 0..15 are reserved labels (RFC 3032 section 2.1). */
			if (x < 16 || x > 1048575)
				cv_verr(v, "%" PRId64 " is out of range 16..1048575", x);
			else
				labels[i] = (uint32_t)x;
		}
		cv_pop(v, o2);
	}
	*nl = (unsigned int)n;
	cv_pop(v, old);
}

static void
parse_ptp_path(struct vctx *v, json_t *o, struct cfg_ptp_port *pp)
{
	static const char *const keys[] = { "vlan", "mpls", NULL };
	static const char *const mpls_keys[] = { "tx_labels", "rx_labels", NULL };
	json_t *mpls;
	int64_t x;
	size_t old;

	cv_check_keys(v, o, keys);
	cv_get_int(v, o, "vlan", false, 0, 4094, 0, &x);
	pp->vlan = (uint16_t)x;
	if (cv_get_object(v, o, "mpls", &mpls) == GOT) {
		old = cv_push_key(v, "mpls");
		cv_check_keys(v, mpls, mpls_keys);
		parse_labels(v, mpls, "tx_labels", pp->mpls_tx_labels, &pp->n_mpls_tx);
		parse_labels(v, mpls, "rx_labels", pp->mpls_rx_labels, &pp->n_mpls_rx);
		cv_pop(v, old);
	}
}

static void
parse_ptp_port(struct vctx *v, json_t *o, struct cfg *c, size_t idx)
{
	static const char *const keys[] = {
		"port", "role", "log_sync_interval", "log_announce_interval", "delay_asymmetry_ns",
		"path", NULL
	};
	struct cfg_ptp_port *pp = &c->ptp.ports[idx];
	json_t *path;
	int64_t x;
	size_t j, old;
	int e;

	cv_check_keys(v, o, keys);
	get_port_ref(v, o, "port", true, c, pp->port);
	for (j = 0; pp->port[0] != '\0' && j < idx; j++) {
		if (strcmp(c->ptp.ports[j].port, pp->port) == 0) {
			cv_kerr(v, "port", "duplicate port \"%s\" (also ptp.ports[%zu])", pp->port,
				j);
			break;
		}
	}
	GET_ENUM(v, o, "role", ptp_role_names, CFG_PTP_ROLE_AUTO, &e);
	pp->role = (enum cfg_ptp_role)e;
	cv_get_int(v, o, "log_sync_interval", false, -7, 4, 0, &x);
	pp->log_sync_interval = (int8_t)x;
	cv_get_int(v, o, "log_announce_interval", false, -3, 4, DEFAULT_LOG_ANNOUNCE_INTERVAL, &x);
	pp->log_announce_interval = (int8_t)x;
	cv_get_int(v, o, "delay_asymmetry_ns", false, INT64_MIN, INT64_MAX, 0, &x);
	pp->delay_asymmetry_ns = x;
	if (cv_get_object(v, o, "path", &path) != BAD) {
		old = cv_push_key(v, "path");
		parse_ptp_path(v, path, pp);
		cv_pop(v, old);
	}
}

static void
parse_servo(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "kp", "ki", "step_threshold_ns",
					    "first_step_threshold_ns", NULL };

	cv_check_keys(v, o, keys);
	cv_get_real(v, o, "kp", 0.0, true, DEFAULT_SERVO_KP, &c->ptp.servo.kp);
	cv_get_real(v, o, "ki", 0.0, false, DEFAULT_SERVO_KI, &c->ptp.servo.ki);
	cv_get_int(v, o, "step_threshold_ns", false, 0, INT64_MAX, 0,
		   &c->ptp.servo.step_threshold_ns);
	cv_get_int(v, o, "first_step_threshold_ns", false, 0, INT64_MAX, DEFAULT_FIRST_STEP_NS,
		   &c->ptp.servo.first_step_threshold_ns);
}

static void
parse_ptp(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "enabled",      "domain",          "transport",
					    "timestamping", "software_stamps", "priority1",
					    "priority2",    "ports",           "servo",
					    "export",       "clock",           NULL };
	static const char *const clock_keys[] = { "system_clock", "initial_offset_ns",
						  "initial_freq_ppb", NULL };
	static const char *const export_keys[] = { "chrony_socket", NULL };
	json_t *e, *sub;
	int64_t x;
	size_t i, old;
	int n;

	cv_check_keys(v, o, keys);
	cv_get_bool(v, o, "enabled", false, &c->ptp.enabled);
	cv_get_int(v, o, "domain", false, 0, 127, 0, &x);
	c->ptp.domain = (uint8_t)x;
	GET_ENUM(v, o, "transport", ptp_transport_names, CFG_PTP_TRANSPORT_UDP4, &n);
	c->ptp.transport = (enum cfg_ptp_transport)n;
	GET_ENUM(v, o, "timestamping", ptp_timestamping_names, CFG_PTP_TS_AUTO, &n);
	c->ptp.timestamping = (enum cfg_ptp_timestamping)n;
	GET_ENUM(v, o, "software_stamps", ptp_sw_stamps_names, CFG_PTP_SW_AUTO, &n);
	c->ptp.software_stamps = (enum cfg_ptp_sw_stamps)n;
	cv_get_int(v, o, "priority1", false, 0, 255, DEFAULT_PTP_PRIORITY, &x);
	c->ptp.priority1 = (uint8_t)x;
	cv_get_int(v, o, "priority2", false, 0, 255, DEFAULT_PTP_PRIORITY, &x);
	c->ptp.priority2 = (uint8_t)x;

	PARSE_OBJECTS(v, o, "ports", SIZE_MAX, c->ptp.ports, c->ptp.n_ports, i, e,
		      parse_ptp_port(v, e, c, i));

	c->ptp.servo.kp = DEFAULT_SERVO_KP;
	c->ptp.servo.ki = DEFAULT_SERVO_KI;
	c->ptp.servo.step_threshold_ns = 0;
	c->ptp.servo.first_step_threshold_ns = DEFAULT_FIRST_STEP_NS;
	if (cv_get_object(v, o, "servo", &sub) != BAD) {
		old = cv_push_key(v, "servo");
		parse_servo(v, sub, c);
		cv_pop(v, old);
	}
	if (cv_get_object(v, o, "export", &sub) == GOT) {
		old = cv_push_key(v, "export");
		cv_check_keys(v, sub, export_keys);
		cv_get_strbuf(v, sub, "chrony_socket", false, false, c->ptp.chrony_socket,
			      sizeof(c->ptp.chrony_socket), "");
		cv_pop(v, old);
	}
	if (cv_get_object(v, o, "clock", &sub) == GOT) {
		old = cv_push_key(v, "clock");
		cv_check_keys(v, sub, clock_keys);
		cv_get_bool(v, sub, "system_clock", false, &c->ptp.clock.system_clock);
		/* A deliberate error at start, for tests of the servo against a real master. */
		cv_get_int(v, sub, "initial_offset_ns", false, -1000000000000LL, 1000000000000LL, 0,
			   &c->ptp.clock.initial_offset_ns);
		if (cv_get_real(v, sub, "initial_freq_ppb", -1e6, false, 0.0,
				&c->ptp.clock.initial_freq_ppb) == GOT &&
		    c->ptp.clock.initial_freq_ppb > 1e6)
			cv_kerr(v, "initial_freq_ppb", "%g is out of range -1e6..1e6",
				c->ptp.clock.initial_freq_ppb);
		cv_pop(v, old);
	}
	if (c->ptp.enabled && c->ptp.n_ports == 0)
		cv_kerr(v, "ports", "at least one PTP port is required when ptp.enabled is true");
}

/* lisp */

static void
parse_lisp_key(struct vctx *v, json_t *o, struct cfg_lisp_site *s, size_t idx, bool *id_ok)
{
	static const char *const keys[] = { "id", "algorithm", "secret", NULL };
	struct cfg_lisp_key *k = &s->keys[idx];
	const char *secret;
	int64_t x;
	size_t j, n;
	int e;

	cv_check_keys(v, o, keys);
	/* RFC 9301 5.6: an 8-bit Key ID beside the 8-bit Algorithm ID. */
	if (cv_get_int(v, o, "id", true, 0, 255, 0, &x) == GOT) {
		k->id = (uint16_t)x;
		id_ok[idx] = true;
		for (j = 0; j < idx; j++) {
			if (id_ok[j] && s->keys[j].id == k->id) {
				cv_kerr(v, "id", "duplicate key id %u (also keys[%zu])", k->id, j);
				break;
			}
		}
	}
	if (cv_lookup(o, "algorithm") == NULL)
		cv_kerr(v, "algorithm", "missing required key");
	GET_ENUM(v, o, "algorithm", lisp_alg_names, CFG_LISP_ALG_HMAC_SHA256_128, &e);
	k->algorithm = (enum cfg_lisp_alg)e;
	if (cv_get_str(v, o, "secret", true, &secret) == GOT) {
		n = strlen(secret);
		if (n < 1 || n > CFG_KEY_MAX)
			cv_kerr(v, "secret", "must be 1 to %d characters, got %zu", CFG_KEY_MAX, n);
		else
			memcpy(k->secret, secret, n + 1);
	}
}

static void
parse_lisp_eid(struct vctx *v, json_t *o, struct cfg_lisp_site *s, size_t idx)
{
	static const char *const keys[] = { "prefix", "accept_more_specifics", NULL };
	struct cfg_lisp_eid *eid = &s->eids[idx];
	char abuf[INET6_ADDRSTRLEN];
	size_t j;

	cv_check_keys(v, o, keys);
	if (cv_get_prefix(v, o, "prefix", true, true, &eid->prefix) == GOT) {
		for (j = 0; j < idx; j++) {
			if (s->eids[j].prefix.len == eid->prefix.len &&
			    cfg_addr_equal(&s->eids[j].prefix.addr, &eid->prefix.addr)) {
				cfg_addr_str(&eid->prefix.addr, abuf, sizeof(abuf));
				cv_kerr(v, "prefix",
					"duplicate prefix %s/%u (also eid_prefixes[%zu])", abuf,
					eid->prefix.len, j);
				break;
			}
		}
	}
	cv_get_bool(v, o, "accept_more_specifics", false, &eid->accept_more_specifics);
}

static void
parse_lisp_site(struct vctx *v, json_t *o, struct cfg *c, size_t idx)
{
	static const char *const keys[] = { "name", "keys", "eid_prefixes", NULL };
	struct cfg_lisp_site *s = &c->lisp.sites[idx];
	json_t *arr, *e;
	bool *id_ok;
	size_t i, j, old;
	int n;

	cv_check_keys(v, o, keys);
	if (cv_get_name(v, o, "name", true, s->name) == GOT) {
		for (j = 0; j < idx; j++) {
			if (strcmp(c->lisp.sites[j].name, s->name) == 0) {
				cv_kerr(v, "name", "duplicate name \"%s\" (also sites[%zu])",
					s->name, j);
				break;
			}
		}
	}
	n = cv_get_array(v, o, "keys", false, SIZE_MAX, &arr);
	if (n > 0) {
		s->keys = cv_alloc_array(v, (size_t)n, sizeof(s->keys[0]));
		id_ok = cv_alloc_array(v, (size_t)n, sizeof(id_ok[0]));
		if (s->keys != NULL && id_ok != NULL) {
			s->n_keys = (unsigned int)n;
			old = cv_push_key(v, "keys");
			FOREACH_OBJECT(v, arr, n, i, e, parse_lisp_key(v, e, s, i, id_ok));
			cv_pop(v, old);
		}
		free(id_ok);
	}
	PARSE_OBJECTS(v, o, "eid_prefixes", SIZE_MAX, s->eids, s->n_eids, i, e,
		      parse_lisp_eid(v, e, s, i));
}

static void
parse_lisp(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "enabled", "port", "state_file", "registration_ttl_s",
					    "sites",   NULL };
	json_t *e;
	int64_t x;
	size_t i;

	cv_check_keys(v, o, keys);
	cv_get_bool(v, o, "enabled", false, &c->lisp.enabled);
	get_port_ref(v, o, "port", false, c, c->lisp.port);
	cv_get_strbuf(v, o, "state_file", false, true, c->lisp.state_file,
		      sizeof(c->lisp.state_file), DEFAULT_LISP_STATE_FILE);
	cv_get_int(v, o, "registration_ttl_s", false, 1, 86400, DEFAULT_LISP_TTL_S, &x);
	c->lisp.registration_ttl_s = (uint32_t)x;
	PARSE_OBJECTS(v, o, "sites", SIZE_MAX, c->lisp.sites, c->lisp.n_sites, i, e,
		      parse_lisp_site(v, e, c, i));
}

/* control, log */

static void
parse_control(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "socket", NULL };
	char def[CFG_PATH_MAX];

	cv_check_keys(v, o, keys);
	snprintf(def, sizeof(def), "/run/equinox/%s.sock", c->instance.name);
	cv_get_strbuf(v, o, "socket", false, true, c->control.socket, sizeof(c->control.socket),
		      def);
}

static void
parse_log(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "level", NULL };
	int e;

	cv_check_keys(v, o, keys);
	GET_ENUM(v, o, "level", log_level_names, CFG_LOG_INFO, &e);
	c->log.level = (enum cfg_log_level)e;
}

/*
 * A top-level section: absent means every default, a non-object is reported
 * by get_object and its defaults still filled so later sections can read them.
 */
static void
section(struct vctx *v, json_t *root, const char *key, struct cfg *c,
	void (*fn)(struct vctx *, json_t *, struct cfg *))
{
	json_t *o;
	size_t old;
	int rc;

	rc = cv_get_object(v, root, key, &o);
	old = cv_push_key(v, key);
	if (rc == BAD) {
		/* Run on no object: the defaults, and no "missing" noise from inside. */
		struct cfg_errors quiet = { .n = 0 };
		struct cfg_errors *saved = v->errs;

		v->errs = &quiet;
		fn(v, NULL, c);
		v->errs = saved;
	} else {
		fn(v, o, c);
	}
	cv_pop(v, old);
}

struct cfg *
cfg_from_tree(json_t *root, struct cfg_errors *errs)
{
	static const char *const keys[] = { "instance", "eal",     "dataplane", "ports",
					    "vips",     "cluster", "ha",        "ptp",
					    "lisp",     "control", "log",       NULL };
	struct vctx *v;
	struct cfg *c;
	unsigned int n0 = errs->n;

	if (!json_is_object(root)) {
		cfg_err(errs, "(root): expected an object, got %s", cv_type_name(root));
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	c = calloc(1, sizeof(*c));
	if (v == NULL || c == NULL) {
		cfg_err(errs, "(root): out of memory");
		free(v);
		free(c);
		return NULL;
	}
	v->errs = errs;

	cv_check_keys(v, root, keys);
	section(v, root, "instance", c, parse_instance);
	parse_eal(v, root, c);
	section(v, root, "dataplane", c, parse_dataplane);
	parse_ports(v, root, c);
	parse_vips(v, root, c);
	section(v, root, "cluster", c, parse_cluster);
	section(v, root, "ha", c, parse_ha);
	section(v, root, "ptp", c, parse_ptp);
	section(v, root, "lisp", c, parse_lisp);
	section(v, root, "control", c, parse_control);
	section(v, root, "log", c, parse_log);
	if (c->eal == NULL && cv_lookup(root, "eal") == NULL)
		default_eal(v, c);

	if (c->cluster.mode == CFG_CLUSTER_DISTRIBUTED)
		cluster_distributed_check(v, c);
	free(v);
	if (errs->n != n0) {
		cfg_free(c);
		return NULL;
	}
	c->tree = json_incref(root);
	return c;
}
