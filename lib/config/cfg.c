/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The model's helpers: enum names, address formats, cfg_free and cfg_dump.
 * Loading and validation live in cfg_load.c and cfg_validate.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/cfg_internal.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Out-of-range values come from memory corruption or a cast; never return NULL to printf. */
#define ENUM_STR(table, v) \
	((unsigned int)(v) < NELEMS(table) ? (table)[(unsigned int)(v)] : "unknown")

const char *
cfg_idle_str(enum cfg_idle v)
{
	return ENUM_STR(idle_names, v);
}

const char *
cfg_proto_str(enum cfg_proto v)
{
	return ENUM_STR(proto_names, v);
}

const char *
cfg_forwarding_str(enum cfg_forwarding v)
{
	return ENUM_STR(forwarding_names, v);
}

const char *
cfg_backend_state_str(enum cfg_backend_state v)
{
	return ENUM_STR(backend_state_names, v);
}

const char *
cfg_affinity_str(enum cfg_affinity v)
{
	return ENUM_STR(affinity_names, v);
}

const char *
cfg_health_str(enum cfg_health v)
{
	return ENUM_STR(health_names, v);
}

const char *
cfg_cluster_mode_str(enum cfg_cluster_mode v)
{
	return ENUM_STR(cluster_mode_names, v);
}

const char *
cfg_log_level_str(enum cfg_log_level v)
{
	return ENUM_STR(log_level_names, v);
}

const char *
cfg_ptp_transport_str(enum cfg_ptp_transport v)
{
	return ENUM_STR(ptp_transport_names, v);
}

const char *
cfg_ptp_timestamping_str(enum cfg_ptp_timestamping v)
{
	return ENUM_STR(ptp_timestamping_names, v);
}

const char *
cfg_ptp_sw_stamps_str(enum cfg_ptp_sw_stamps v)
{
	return ENUM_STR(ptp_sw_stamps_names, v);
}

const char *
cfg_ptp_role_str(enum cfg_ptp_role v)
{
	return ENUM_STR(ptp_role_names, v);
}

const char *
cfg_lisp_alg_str(enum cfg_lisp_alg v)
{
	return ENUM_STR(lisp_alg_names, v);
}

int
cfg_backend_state_parse(const char *s, enum cfg_backend_state *out)
{
	unsigned int i;

	if (s == NULL)
		return -EINVAL;
	for (i = 0; i < NELEMS(backend_state_names); i++) {
		if (strcmp(s, backend_state_names[i]) == 0) {
			*out = (enum cfg_backend_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

int
cfg_addr_parse(const char *s, struct cfg_addr *out)
{
	struct cfg_addr a;

	if (s == NULL)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = 6;
	else
		return -EINVAL;
	*out = a;
	return 0;
}

int
cfg_prefix_parse(const char *s, struct cfg_prefix *out)
{
	char buf[INET6_ADDRSTRLEN];
	struct cfg_prefix p;
	const char *slash, *d;
	unsigned int len = 0;
	size_t alen;

	if (s == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	if (slash == NULL)
		return -EINVAL;
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';

	memset(&p, 0, sizeof(p));
	if (cfg_addr_parse(buf, &p.addr) != 0)
		return -EINVAL;

	/* Plain decimal only: no sign, no spaces, at most three digits. */
	d = slash + 1;
	if (*d == '\0' || strlen(d) > 3)
		return -EINVAL;
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		len = len * 10 + (unsigned int)(*d - '0');
	}
	if (len > (p.addr.family == 4 ? 32u : 128u))
		return -EINVAL;
	p.len = (uint8_t)len;
	*out = p;
	return 0;
}

void
cfg_addr_str(const struct cfg_addr *a, char *buf, size_t len)
{
	int af;

	if (buf == NULL || len == 0)
		return;
	if (a == NULL || (a->family != 4 && a->family != 6)) {
		snprintf(buf, len, "unset");
		return;
	}
	af = a->family == 4 ? AF_INET : AF_INET6;
	if (inet_ntop(af, a->bytes, buf, (socklen_t)len) == NULL)
		buf[0] = '\0';
}

bool
cfg_addr_equal(const struct cfg_addr *a, const struct cfg_addr *b)
{
	if (a->family != b->family)
		return false;
	return memcmp(a->bytes, b->bytes, a->family == 4 ? 4 : 16) == 0;
}

bool
cfg_prefix_contains(const struct cfg_prefix *p, const struct cfg_addr *a)
{
	unsigned int full, rest;
	uint8_t mask;

	if (p->addr.family != a->family || (a->family != 4 && a->family != 6))
		return false;
	if (p->len > (a->family == 4 ? 32 : 128))
		return false;
	full = p->len / 8;
	rest = p->len % 8;
	if (memcmp(p->addr.bytes, a->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (p->addr.bytes[full] & mask) == (a->bytes[full] & mask);
}

int
cfg_port_index(const struct cfg *c, const char *name)
{
	unsigned int i;

	if (c == NULL || name == NULL)
		return -ENOENT;
	for (i = 0; i < c->n_ports; i++) {
		if (strcmp(c->ports[i].name, name) == 0)
			return (int)i;
	}
	return -ENOENT;
}

void
cfg_free(struct cfg *c)
{
	struct cfg_lisp_site *site;
	unsigned int i;

	if (c == NULL)
		return;
	if (c->eal != NULL) {
		for (i = 0; i < c->n_eal; i++)
			free(c->eal[i]);
		free(c->eal);
	}
	if (c->ports != NULL) {
		for (i = 0; i < c->n_ports; i++) {
			free(c->ports[i].neighbours);
			free(c->ports[i].routes);
		}
		free(c->ports);
	}
	if (c->vips != NULL) {
		for (i = 0; i < c->n_vips; i++)
			free(c->vips[i].backends);
		free(c->vips);
	}
	free(c->cluster.members);
	json_decref(c->tree);
	free(c->ptp.ports);
	if (c->lisp.sites != NULL) {
		for (i = 0; i < c->lisp.n_sites; i++) {
			site = &c->lisp.sites[i];
			if (site->keys != NULL)
				explicit_bzero(site->keys, site->n_keys * sizeof(site->keys[0]));
			free(site->keys);
			free(site->eids);
		}
		free(c->lisp.sites);
	}
	/* Shared secrets should not outlive the model in freed heap memory. */
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/*
 * cfg_dump builds a jansson tree in contract order and prints it. Every
 * builder returns NULL on ENOMEM; set() takes ownership of the value and
 * remembers the failure so that one check at the end covers them all.
 */
struct dump {
	bool nomem;
};

static void
set(struct dump *d, json_t *obj, const char *key, json_t *val)
{
	if (obj == NULL) {
		json_decref(val);
		d->nomem = true;
	} else if (val == NULL || json_object_set_new(obj, key, val) != 0) {
		d->nomem = true;
	}
}

static void
append(struct dump *d, json_t *arr, json_t *val)
{
	if (arr == NULL) {
		json_decref(val);
		d->nomem = true;
	} else if (val == NULL || json_array_append_new(arr, val) != 0) {
		d->nomem = true;
	}
}

static json_t *
addr_json(const struct cfg_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	cfg_addr_str(a, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
prefix_json(const struct cfg_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n;

	cfg_addr_str(&p->addr, buf, sizeof(buf));
	n = strlen(buf);
	snprintf(buf + n, sizeof(buf) - n, "/%u", p->len);
	return json_string(buf);
}

static json_t *
mac_json(const uint8_t *m)
{
	char buf[18];

	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	return json_string(buf);
}

static json_t *
secret_json(void)
{
	return json_string("***");
}

static json_t *
dump_port(struct dump *d, const struct cfg_port *p)
{
	json_t *o, *arr, *e;
	unsigned int i;

	o = json_object();
	set(d, o, "name", json_string(p->name));
	set(d, o, "device", json_string(p->device));
	set(d, o, "mtu", json_integer(p->mtu));
	arr = json_array();
	for (i = 0; i < p->n_addresses; i++)
		append(d, arr, prefix_json(&p->addresses[i]));
	set(d, o, "addresses", arr);
	arr = json_array();
	for (i = 0; i < p->n_neighbours; i++) {
		e = json_object();
		set(d, e, "address", addr_json(&p->neighbours[i].addr));
		set(d, e, "mac", mac_json(p->neighbours[i].mac));
		append(d, arr, e);
	}
	set(d, o, "neighbours", arr);
	arr = json_array();
	for (i = 0; i < p->n_routes; i++) {
		e = json_object();
		set(d, e, "prefix", prefix_json(&p->routes[i].prefix));
		set(d, e, "via", addr_json(&p->routes[i].via));
		append(d, arr, e);
	}
	set(d, o, "routes", arr);
	return o;
}

static json_t *
dump_vip(struct dump *d, const struct cfg_vip *v)
{
	json_t *o, *sub, *arr, *e;
	unsigned int i;

	o = json_object();
	set(d, o, "name", json_string(v->name));
	set(d, o, "address", addr_json(&v->addr));
	set(d, o, "protocol", json_string(cfg_proto_str(v->proto)));
	set(d, o, "port", json_integer(v->port));
	set(d, o, "forwarding", json_string(cfg_forwarding_str(v->forwarding)));
	set(d, o, "gue_port", json_integer(v->gue_port));
	set(d, o, "table_size", json_integer(v->table_size));
	sub = json_object();
	set(d, sub, "mode", json_string(cfg_affinity_str(v->affinity.mode)));
	set(d, sub, "timeout_s", json_integer(v->affinity.timeout_s));
	set(d, o, "affinity", sub);
	sub = json_object();
	set(d, sub, "type", json_string(cfg_health_str(v->health.type)));
	set(d, sub, "interval_ms", json_integer(v->health.interval_ms));
	set(d, sub, "rise", json_integer(v->health.rise));
	set(d, sub, "fall", json_integer(v->health.fall));
	set(d, sub, "port", json_integer(v->health.port));
	set(d, sub, "timeout_ms", json_integer(v->health.timeout_ms));
	set(d, o, "health", sub);
	arr = json_array();
	for (i = 0; i < v->n_backends; i++) {
		e = json_object();
		set(d, e, "address", addr_json(&v->backends[i].addr));
		set(d, e, "weight", json_integer(v->backends[i].weight));
		set(d, e, "state", json_string(cfg_backend_state_str(v->backends[i].state)));
		append(d, arr, e);
	}
	set(d, o, "backends", arr);
	return o;
}

static json_t *
dump_labels(struct dump *d, const uint32_t *labels, unsigned int n)
{
	json_t *arr;
	unsigned int i;

	arr = json_array();
	for (i = 0; i < n; i++)
		append(d, arr, json_integer(labels[i]));
	return arr;
}

static json_t *
dump_ptp(struct dump *d, const struct cfg *c)
{
	const struct cfg_ptp_port *pp;
	json_t *o, *sub, *arr, *e, *path, *mpls;
	unsigned int i;

	o = json_object();
	set(d, o, "enabled", json_boolean(c->ptp.enabled));
	set(d, o, "domain", json_integer(c->ptp.domain));
	set(d, o, "transport", json_string(cfg_ptp_transport_str(c->ptp.transport)));
	set(d, o, "timestamping", json_string(cfg_ptp_timestamping_str(c->ptp.timestamping)));
	set(d, o, "software_stamps", json_string(cfg_ptp_sw_stamps_str(c->ptp.software_stamps)));
	set(d, o, "priority1", json_integer(c->ptp.priority1));
	set(d, o, "priority2", json_integer(c->ptp.priority2));
	arr = json_array();
	for (i = 0; i < c->ptp.n_ports; i++) {
		pp = &c->ptp.ports[i];
		e = json_object();
		set(d, e, "port", json_string(pp->port));
		set(d, e, "role", json_string(cfg_ptp_role_str(pp->role)));
		set(d, e, "log_sync_interval", json_integer(pp->log_sync_interval));
		set(d, e, "log_announce_interval", json_integer(pp->log_announce_interval));
		set(d, e, "delay_asymmetry_ns", json_integer(pp->delay_asymmetry_ns));
		path = json_object();
		set(d, path, "vlan", json_integer(pp->vlan));
		mpls = json_object();
		set(d, mpls, "tx_labels", dump_labels(d, pp->mpls_tx_labels, pp->n_mpls_tx));
		set(d, mpls, "rx_labels", dump_labels(d, pp->mpls_rx_labels, pp->n_mpls_rx));
		set(d, path, "mpls", mpls);
		set(d, e, "path", path);
		append(d, arr, e);
	}
	set(d, o, "ports", arr);
	sub = json_object();
	set(d, sub, "kp", json_real(c->ptp.servo.kp));
	set(d, sub, "ki", json_real(c->ptp.servo.ki));
	set(d, sub, "step_threshold_ns", json_integer(c->ptp.servo.step_threshold_ns));
	set(d, sub, "first_step_threshold_ns", json_integer(c->ptp.servo.first_step_threshold_ns));
	set(d, o, "servo", sub);
	sub = json_object();
	set(d, sub, "chrony_socket", json_string(c->ptp.chrony_socket));
	set(d, o, "export", sub);
	sub = json_object();
	set(d, sub, "system_clock", json_boolean(c->ptp.clock.system_clock));
	set(d, sub, "initial_offset_ns", json_integer(c->ptp.clock.initial_offset_ns));
	set(d, sub, "initial_freq_ppb", json_real(c->ptp.clock.initial_freq_ppb));
	set(d, o, "clock", sub);
	return o;
}

static json_t *
dump_lisp(struct dump *d, const struct cfg *c)
{
	const struct cfg_lisp_site *s;
	json_t *o, *arr, *site, *sub, *e;
	unsigned int i, j;

	o = json_object();
	set(d, o, "enabled", json_boolean(c->lisp.enabled));
	if (c->lisp.port[0] != '\0')
		set(d, o, "port", json_string(c->lisp.port));
	set(d, o, "state_file", json_string(c->lisp.state_file));
	set(d, o, "registration_ttl_s", json_integer(c->lisp.registration_ttl_s));
	arr = json_array();
	for (i = 0; i < c->lisp.n_sites; i++) {
		s = &c->lisp.sites[i];
		site = json_object();
		set(d, site, "name", json_string(s->name));
		sub = json_array();
		for (j = 0; j < s->n_keys; j++) {
			e = json_object();
			set(d, e, "id", json_integer(s->keys[j].id));
			set(d, e, "algorithm", json_string(cfg_lisp_alg_str(s->keys[j].algorithm)));
			set(d, e, "secret", secret_json());
			append(d, sub, e);
		}
		set(d, site, "keys", sub);
		sub = json_array();
		for (j = 0; j < s->n_eids; j++) {
			e = json_object();
			set(d, e, "prefix", prefix_json(&s->eids[j].prefix));
			set(d, e, "accept_more_specifics",
			    json_boolean(s->eids[j].accept_more_specifics));
			append(d, sub, e);
		}
		set(d, site, "eid_prefixes", sub);
		append(d, arr, site);
	}
	set(d, o, "sites", arr);
	return o;
}

static json_t *
dump_tree(struct dump *d, const struct cfg *c)
{
	json_t *root, *o, *sub, *arr, *e;
	unsigned int i;

	root = json_object();

	o = json_object();
	set(d, o, "name", json_string(c->instance.name));
	set(d, o, "id", json_integer(c->instance.id));
	set(d, root, "instance", o);

	arr = json_array();
	for (i = 0; i < c->n_eal; i++)
		append(d, arr, json_string(c->eal[i]));
	set(d, root, "eal", arr);

	o = json_object();
	set(d, o, "workers", json_integer(c->dataplane.workers));
	set(d, o, "idle", json_string(cfg_idle_str(c->dataplane.idle)));
	set(d, o, "flow_table_size", json_integer(c->dataplane.flow_table_size));
	set(d, o, "mbufs", json_integer(c->dataplane.mbufs));
	sub = json_object();
	set(d, sub, "tcp_syn_s", json_integer(c->dataplane.timeouts.tcp_syn_s));
	set(d, sub, "tcp_established_s", json_integer(c->dataplane.timeouts.tcp_established_s));
	set(d, sub, "tcp_closing_s", json_integer(c->dataplane.timeouts.tcp_closing_s));
	set(d, sub, "udp_s", json_integer(c->dataplane.timeouts.udp_s));
	set(d, o, "timeouts", sub);
	set(d, root, "dataplane", o);

	arr = json_array();
	for (i = 0; i < c->n_ports; i++)
		append(d, arr, dump_port(d, &c->ports[i]));
	set(d, root, "ports", arr);

	arr = json_array();
	for (i = 0; i < c->n_vips; i++)
		append(d, arr, dump_vip(d, &c->vips[i]));
	set(d, root, "vips", arr);

	o = json_object();
	set(d, o, "mode", json_string(cfg_cluster_mode_str(c->cluster.mode)));
	set(d, o, "sync_port", json_integer(c->cluster.sync_port));
	if (c->cluster.key_len > 0)
		set(d, o, "key", secret_json());
	arr = json_array();
	for (i = 0; i < c->cluster.n_members; i++) {
		e = json_object();
		set(d, e, "id", json_integer(c->cluster.members[i].id));
		set(d, e, "address", addr_json(&c->cluster.members[i].addr));
		append(d, arr, e);
	}
	set(d, o, "members", arr);
	set(d, root, "cluster", o);

	o = json_object();
	set(d, o, "enabled", json_boolean(c->ha.enabled));
	if (c->ha.port[0] != '\0')
		set(d, o, "port", json_string(c->ha.port));
	if (c->ha.peer.family != 0)
		set(d, o, "peer", addr_json(&c->ha.peer));
	set(d, o, "priority", json_integer(c->ha.priority));
	set(d, o, "preempt", json_boolean(c->ha.preempt));
	set(d, o, "heartbeat_ms", json_integer(c->ha.heartbeat_ms));
	set(d, o, "dead_count", json_integer(c->ha.dead_count));
	set(d, o, "preempt_delay_ms", json_integer(c->ha.preempt_delay_ms));
	set(d, o, "sync_port", json_integer(c->ha.sync_port));
	if (c->ha.key_len > 0)
		set(d, o, "key", secret_json());
	set(d, root, "ha", o);

	set(d, root, "ptp", dump_ptp(d, c));
	set(d, root, "lisp", dump_lisp(d, c));

	o = json_object();
	set(d, o, "socket", json_string(c->control.socket));
	set(d, root, "control", o);

	o = json_object();
	set(d, o, "level", json_string(cfg_log_level_str(c->log.level)));
	set(d, root, "log", o);

	return root;
}

char *
cfg_dump(const struct cfg *c)
{
	struct dump d = { .nomem = false };
	json_t *root;
	char *text;

	if (c == NULL) {
		errno = EINVAL;
		return NULL;
	}
	root = dump_tree(&d, c);
	if (root == NULL || d.nomem) {
		json_decref(root);
		errno = ENOMEM;
		return NULL;
	}
	/* 15 digits print 0.7 as 0.7; the reals here are operator-written constants. */
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	json_decref(root);
	if (text == NULL)
		errno = ENOMEM;
	return text;
}

char *
cfg_dump_vips(const struct cfg *c)
{
	struct dump d = { .nomem = false };
	json_t *arr = json_array();
	unsigned int i;
	char *text;

	for (i = 0; i < c->n_vips; i++)
		append(&d, arr, dump_vip(&d, &c->vips[i]));
	if (arr == NULL || d.nomem) {
		json_decref(arr);
		return NULL;
	}
	/* Sorted keys: members compare digests of these bytes. */
	text = json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	json_decref(arr);
	return text;
}

char *
cfg_dump_ptp(const struct cfg *c)
{
	struct dump d = { .nomem = false };
	json_t *o = dump_ptp(&d, c);
	char *text = NULL;

	if (o != NULL && !d.nomem)
		text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
	json_decref(o);
	return text;
}

struct cfg *
cfg_with_vips(const struct cfg *c, const char *vips, size_t len, struct cfg_errors *errs)
{
	json_error_t jerr;
	json_t *root, *arr;
	struct cfg *n;

	errs->n = 0;
	if (c->tree == NULL) {
		cfg_err(errs, "(root): the running config has no tree to rebuild from");
		return NULL;
	}
	arr = json_loadb(vips, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_array(arr)) {
		cfg_err(errs, "vips: not a JSON array: %s", arr == NULL ? jerr.text : "other type");
		json_decref(arr);
		return NULL;
	}
	root = json_deep_copy((json_t *)c->tree);
	if (root == NULL || json_object_set_new(root, "vips", arr) != 0) {
		json_decref(root);
		cfg_err(errs, "(root): out of memory");
		return NULL;
	}
	n = cfg_from_tree(root, errs);
	json_decref(root);
	return n;
}
