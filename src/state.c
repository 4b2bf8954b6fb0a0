/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building and publishing state generations (control lcore only).
 *
 * VIPs and backends get ids that stay the same across generations while they
 * exist, so a worker's flow entry (which stores ids) keeps meaning the same
 * backend after a reload. A generation is built from the running config plus
 * what changed at run time (equinoxctl overrides, health), published with one
 * pointer store, and the old one is freed only after every worker has passed a
 * quiescent point. A VIP whose backend set did not change keeps its Maglev
 * table: rebuilding 1000 VIPs for one health change would stall the control
 * lcore for a second.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "dataplane.h"
#include "maglev/maglev.h"
#include "udp.h"

struct vip_slot {
	bool used;
	uint8_t family;
	uint8_t proto;
	uint16_t port;
	uint8_t addr[16];
};

struct backend_slot {
	bool used;
	uint16_t vip;
	uint8_t family;
	uint8_t addr[16];
};

static struct vip_slot vip_ids[EQX_MAX_VIP_IDS];
static struct backend_slot backend_ids[EQX_MAX_BACKEND_IDS];

static uint8_t
proto_num(enum cfg_proto p)
{
	return p == CFG_PROTO_UDP ? NET_PROTO_UDP : NET_PROTO_TCP;
}

static void
ctr_sum(struct eqx_app *app, bool vip, uint32_t id, struct eqx_ctr *out)
{
	unsigned int w;

	memset(out, 0, sizeof(*out));
	for (w = 0; w < app->n_workers; w++) {
		const struct eqx_ctr *c =
			vip ? &app->workers[w].stats.vip[id] : &app->workers[w].stats.backend[id];

		out->packets += c->packets;
		out->bytes += c->bytes;
		out->flows += c->flows;
		out->active += c->active;
	}
}

void
eqx_ctr_get(struct eqx_app *app, bool vip, uint32_t id, struct eqx_ctr *out)
{
	const struct eqx_ctr *base = vip ? &app->vip_base[id] : &app->backend_base[id];

	ctr_sum(app, vip, id, out);
	out->packets -= base->packets;
	out->bytes -= base->bytes;
	out->flows -= base->flows;
	out->active -= base->active;
}

/* The id of an existing VIP with this service, or a fresh one; -ENOSPC when full. */
static int
vip_id_get(struct eqx_app *app, const struct cfg_vip *v)
{
	uint8_t proto = proto_num(v->proto);
	int free_id = -1;
	unsigned int i;

	for (i = 0; i < EQX_MAX_VIP_IDS; i++) {
		struct vip_slot *s = &vip_ids[i];

		if (!s->used) {
			if (free_id < 0)
				free_id = (int)i;
			continue;
		}
		if (s->family == v->addr.family && s->proto == proto && s->port == v->port &&
		    memcmp(s->addr, v->addr.bytes, 16) == 0)
			return (int)i;
	}
	if (free_id < 0)
		return -ENOSPC;
	vip_ids[free_id] = (struct vip_slot){
		.used = true, .family = v->addr.family, .proto = proto, .port = v->port
	};
	memcpy(vip_ids[free_id].addr, v->addr.bytes, 16);
	/* A reused id starts its counters from what the workers hold now. */
	ctr_sum(app, true, (uint32_t)free_id, &app->vip_base[free_id]);
	return free_id;
}

static int
backend_id_get(struct eqx_app *app, uint16_t vip, const struct cfg_addr *a)
{
	int free_id = -1;
	unsigned int i;

	for (i = 0; i < EQX_MAX_BACKEND_IDS; i++) {
		struct backend_slot *s = &backend_ids[i];

		if (!s->used) {
			if (free_id < 0)
				free_id = (int)i;
			continue;
		}
		if (s->vip == vip && s->family == a->family && memcmp(s->addr, a->bytes, 16) == 0)
			return (int)i;
	}
	if (free_id < 0)
		return -ENOSPC;
	backend_ids[free_id] =
		(struct backend_slot){ .used = true, .vip = vip, .family = a->family };
	memcpy(backend_ids[free_id].addr, a->bytes, 16);
	ctr_sum(app, false, (uint32_t)free_id, &app->backend_base[free_id]);
	memset(&app->override[free_id], 0, sizeof(app->override[free_id]));
	return free_id;
}

int
eqx_route_lookup(const struct cfg *cfg, const struct cfg_addr *dst, unsigned int *port,
		 struct cfg_addr *nh)
{
	int best_len = -1;
	unsigned int p, i;

	/* Connected prefixes first: the destination itself is the next hop. */
	for (p = 0; p < cfg->n_ports; p++) {
		const struct cfg_port *cp = &cfg->ports[p];

		for (i = 0; i < cp->n_addresses; i++) {
			const struct cfg_prefix *pre = &cp->addresses[i];

			if (pre->addr.family == dst->family && cfg_prefix_contains(pre, dst) &&
			    (int)pre->len > best_len) {
				best_len = pre->len;
				*port = p;
				*nh = *dst;
			}
		}
	}
	if (best_len >= 0)
		return 0;
	for (p = 0; p < cfg->n_ports; p++) {
		const struct cfg_port *cp = &cfg->ports[p];

		for (i = 0; i < cp->n_routes; i++) {
			const struct cfg_route *r = &cp->routes[i];

			if (r->prefix.addr.family == dst->family &&
			    cfg_prefix_contains(&r->prefix, dst) && (int)r->prefix.len > best_len) {
				best_len = r->prefix.len;
				*port = p;
				*nh = r->via;
			}
		}
	}
	return best_len >= 0 ? 0 : -ENETUNREACH;
}

/* The address of `family` on port p that is the best source toward dst. */
const struct cfg_addr *
eqx_port_source(const struct cfg *cfg, unsigned int p, const struct cfg_addr *dst)
{
	const struct cfg_port *cp = &cfg->ports[p];
	const struct cfg_addr *first = NULL;
	unsigned int i;

	for (i = 0; i < cp->n_addresses; i++) {
		if (cp->addresses[i].addr.family != dst->family)
			continue;
		if (cfg_prefix_contains(&cp->addresses[i], dst))
			return &cp->addresses[i].addr;
		if (first == NULL)
			first = &cp->addresses[i].addr;
	}
	return first;
}

static void err_add(struct cfg_errors *errs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
err_add(struct cfg_errors *errs, const char *fmt, ...)
{
	va_list ap;

	if (errs == NULL)
		return;
	if (errs->n < CFG_MAX_ERRORS) {
		va_start(ap, fmt);
		vsnprintf(errs->msg[errs->n], sizeof(errs->msg[0]), fmt, ap);
		va_end(ap);
	}
	errs->n++;
}

int
eqx_config_check(const struct cfg *cfg, struct cfg_errors *errs)
{
	unsigned int v, b, port, before = errs->n;
	struct cfg_addr nh;
	char buf[64];

	for (v = 0; v < cfg->n_vips; v++) {
		for (b = 0; b < cfg->vips[v].n_backends; b++) {
			const struct cfg_addr *a = &cfg->vips[v].backends[b].addr;

			cfg_addr_str(a, buf, sizeof(buf));
			if (eqx_route_lookup(cfg, a, &port, &nh) != 0)
				err_add(errs,
					"vips[%u].backends[%u].address: no port address or "
					"route reaches %s",
					v, b, buf);
			else if (eqx_port_source(cfg, port, a) == NULL)
				err_add(errs,
					"vips[%u].backends[%u].address: port %s has no IPv%u "
					"address to send to %s from",
					v, b, cfg->ports[port].name, a->family, buf);
		}
	}
	return errs->n == before ? 0 : -EINVAL;
}

static void
maglev_put(struct eqx_maglev *t)
{
	if (t != NULL && --t->refs == 0)
		rte_free(t);
}

static void
state_free(struct eqx_state *st)
{
	uint32_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->n_vips; i++) {
		maglev_put(st->vips[i].maglev);
		maglev_put(st->vips[i].prev_maglev);
		free(st->vips[i].backends);
	}
	free(st->vips);
	free(st->backends);
	free(st->locals);
	free(st);
}

static void
hash_insert(uint16_t *tab, uint32_t h, uint16_t idx)
{
	uint32_t i = h & (EQX_VIP_HASH_SIZE - 1);

	while (tab[i] != 0)
		i = (i + 1) & (EQX_VIP_HASH_SIZE - 1);
	tab[i] = (uint16_t)(idx + 1);
}

static void
add_local(struct eqx_state *st, uint8_t family, const uint8_t *addr, bool is_vip, uint16_t port)
{
	struct eqx_local *l;

	if (eqx_state_local(st, family, addr) != NULL)
		return;
	l = &st->locals[st->n_locals];
	l->family = family;
	l->is_vip = is_vip;
	l->port = port;
	memcpy(l->addr, addr, 16);
	hash_insert(st->local_hash, eqx_key_hash(family, addr, 0, 0), (uint16_t)st->n_locals);
	st->n_locals++;
}

/* The Maglev input of a backend set, order-independent (sum of mixed terms). */
static uint64_t
maglev_signature(const struct maglev_backend *mb, unsigned int n, uint32_t size)
{
	uint64_t sig = size;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t x = ((uint64_t)mb[i].id << 32 | mb[i].weight) * 0x9e3779b97f4a7c15ULL;

		sig += x ^ (x >> 29);
	}
	return sig;
}

/* The old generation's table when it was built from the same set, else a new one. */
static struct eqx_maglev *
maglev_get(const struct eqx_state *old, uint16_t vip_id, const struct maglev_backend *mb,
	   unsigned int n, uint32_t size, int *rc)
{
	uint64_t sig = maglev_signature(mb, n, size);
	struct eqx_maglev *t;
	uint32_t i;

	for (i = 0; old != NULL && i < old->n_vips; i++) {
		t = old->vips[i].maglev;
		if (old->vips[i].id == vip_id && t != NULL && t->signature == sig &&
		    t->size == size) {
			t->refs++;
			return t;
		}
	}
	t = rte_malloc("eqx_maglev", sizeof(*t) + sizeof(uint32_t) * size, RTE_CACHE_LINE_SIZE);
	if (t == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	t->refs = 1;
	t->size = size;
	t->signature = sig;
	*rc = maglev_populate(mb, n, t->slots, size);
	if (*rc != 0) {
		rte_free(t);
		return NULL;
	}
	return t;
}

/*
 * Distributed mode: the previous cluster generation's table of VIP v, which
 * the workers compare new flows against during a transition window.
 */
static void
prev_table_set(const struct eqx_app *app, const struct eqx_state *old, struct eqx_vip *v)
{
	const struct eqx_vip *ov = old != NULL ? eqx_state_vip_by_id(old, v->id) : NULL;
	struct eqx_maglev *prev = NULL;

	if (ov == NULL || app->cluster_prev == EQX_CL_PREV_DROP)
		return;
	if (app->cluster_prev == EQX_CL_PREV_SHIFT)
		prev = ov->maglev;
	else
		prev = ov->prev_maglev;
	if (prev == NULL || prev == v->maglev)
		return;
	prev->refs++;
	v->prev_maglev = prev;
}

static int
build_vip(struct eqx_app *app, struct eqx_state *st, const struct eqx_state *old,
	  const struct cfg_vip *cv, struct eqx_vip *v, struct cfg_errors *errs, unsigned int vi)
{
	struct maglev_backend *mb;
	unsigned int b, n_mb = 0;
	int id, rc;

	id = vip_id_get(app, cv);
	if (id < 0) {
		err_add(errs, "vips[%u]: no free VIP id", vi);
		return id;
	}
	v->id = (uint16_t)id;
	v->family = cv->addr.family;
	v->proto = proto_num(cv->proto);
	v->port = cv->port;
	v->forwarding = (uint8_t)cv->forwarding;
	v->affinity = (uint8_t)cv->affinity.mode;
	v->affinity_timeout = cv->affinity.timeout_s;
	v->gue_port = cv->gue_port;
	memcpy(v->addr, cv->addr.bytes, 16);
	v->backends = calloc(cv->n_backends + 1, sizeof(uint32_t));
	mb = calloc(cv->n_backends + 1, sizeof(*mb));
	if (v->backends == NULL || mb == NULL) {
		free(mb);
		err_add(errs, "vips[%u]: out of memory", vi);
		return -ENOMEM;
	}

	for (b = 0; b < cv->n_backends; b++) {
		const struct cfg_backend *cb = &cv->backends[b];
		struct eqx_backend *eb = &st->backends[st->n_backends];
		const struct eqx_override *ov;
		struct cfg_addr nh_addr;
		unsigned int port;

		id = backend_id_get(app, v->id, &cb->addr);
		if (id < 0) {
			err_add(errs, "vips[%u].backends[%u]: no free backend id", vi, b);
			free(mb);
			return id;
		}
		if (eqx_route_lookup(st->cfg, &cb->addr, &port, &nh_addr) != 0) {
			err_add(errs, "vips[%u].backends[%u].address: unreachable", vi, b);
			free(mb);
			return -ENETUNREACH;
		}
		rc = eqx_nh_register(app, (uint16_t)port, &nh_addr, NULL);
		if (rc < 0) {
			err_add(errs, "vips[%u].backends[%u]: no free next-hop entry", vi, b);
			free(mb);
			return rc;
		}
		ov = &app->override[id];
		eb->id = (uint32_t)id;
		eb->nh = (uint32_t)rc;
		eb->port = (uint16_t)port;
		eb->weight = ov->set_weight ? ov->weight : cb->weight;
		eb->state = (uint8_t)(ov->set_state ? ov->state : cb->state);
		eb->healthy = eqx_health_up((uint32_t)id);
		/* A failed backend is treated as removed: its flows move too. */
		if (!eb->healthy)
			eb->state = CFG_BACKEND_DOWN;
		eb->family = cb->addr.family;
		eb->vip = v->id;
		memcpy(eb->addr, cb->addr.bytes, 16);
		memcpy(eb->src, eqx_port_source(st->cfg, port, &cb->addr)->bytes, 16);
		st->backend_by_id[id] = eb;
		st->n_backends++;
		v->backends[v->n_backends++] = (uint32_t)id;

		/* Draining and down backends take no new flows: they stay out of the table. */
		if (eb->state == CFG_BACKEND_ACTIVE && eb->weight > 0) {
			memcpy(mb[n_mb].key, cb->addr.bytes, 16);
			mb[n_mb].key_len = cb->addr.family == 4 ? 4 : 16;
			mb[n_mb].weight = eb->weight;
			mb[n_mb].id = (uint32_t)id;
			n_mb++;
		}
	}
	v->maglev = maglev_get(old, v->id, mb, n_mb, cv->table_size, &rc);
	free(mb);
	if (v->maglev == NULL) {
		err_add(errs, "vips[%u]: Maglev table: %s", vi, strerror(-rc));
		return rc;
	}
	prev_table_set(app, old, v);
	return 0;
}

/* Build a generation from cfg. NULL with errs filled on failure. */
static struct eqx_state *
state_build(struct eqx_app *app, const struct cfg *cfg, struct cfg_errors *errs)
{
	const struct eqx_state *old = app->state;
	struct eqx_state *st;
	unsigned int i, j, n_back = 0, n_local = 0;

	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		err_add(errs, "out of memory");
		return NULL;
	}
	st->cfg = cfg;
	for (i = 0; i < cfg->n_vips; i++)
		n_back += cfg->vips[i].n_backends;
	for (i = 0; i < cfg->n_ports; i++)
		n_local += cfg->ports[i].n_addresses;
	n_local += cfg->n_vips;
	if (n_back > EQX_MAX_BACKEND_IDS || n_local >= EQX_VIP_HASH_SIZE / 2) {
		err_add(errs, "vips: %u backends in all, at most %u", n_back, EQX_MAX_BACKEND_IDS);
		goto fail;
	}
	st->vips = calloc(cfg->n_vips + 1, sizeof(*st->vips));
	st->backends = calloc(n_back + 1, sizeof(*st->backends));
	st->locals = calloc(n_local + 1, sizeof(*st->locals));
	if (st->vips == NULL || st->backends == NULL || st->locals == NULL) {
		err_add(errs, "out of memory");
		goto fail;
	}

	for (i = 0; i < cfg->n_ports; i++) {
		const struct cfg_port *cp = &cfg->ports[i];

		st->port[i].mtu = app->port_mtu[i];
		for (j = 0; j < cp->n_addresses; j++)
			add_local(st, cp->addresses[j].addr.family, cp->addresses[j].addr.bytes,
				  false, (uint16_t)i);
		for (j = 0; j < cp->n_neighbours; j++) {
			const struct cfg_neighbour *n = &cp->neighbours[j];

			if (eqx_nh_register(app, (uint16_t)i, &n->addr, n->mac) < 0) {
				err_add(errs, "ports[%u].neighbours[%u]: no free next-hop entry", i,
					j);
				goto fail;
			}
		}
	}

	st->n_udp_ports = (uint8_t)eqx_udp_ports(st->udp_ports, RTE_DIM(st->udp_ports));
	st->l2_ptp = cfg->ptp.enabled;
	/* Only once the cluster agent made its rings (it starts after the first build). */
	st->cluster = cfg->cluster.mode == CFG_CLUSTER_DISTRIBUTED && app->workers != NULL &&
		      app->workers[0].cl_events != NULL;
	st->cluster_gen = app->cluster_gen;
	for (i = 0; i < cfg->n_vips; i++) {
		struct eqx_vip *v = &st->vips[i];

		st->n_vips++;
		if (build_vip(app, st, old, &cfg->vips[i], v, errs, i) != 0)
			goto fail;
		hash_insert(st->vip_hash, eqx_key_hash(v->family, v->addr, v->proto, v->port),
			    (uint16_t)i);
		st->vip_by_id[v->id] = (uint16_t)(i + 1);
		add_local(st, v->family, v->addr, true, 0);
	}
	return st;

fail:
	state_free(st);
	return NULL;
}

/* Give back the ids that the live generation does not use. */
static void
ids_release_unused(const struct eqx_state *st)
{
	bool vip_live[EQX_MAX_VIP_IDS] = { false };
	uint32_t i;

	for (i = 0; st != NULL && i < st->n_vips; i++)
		vip_live[st->vips[i].id] = true;
	for (i = 0; i < EQX_MAX_VIP_IDS; i++)
		if (!vip_live[i])
			vip_ids[i].used = false;
	for (i = 0; i < EQX_MAX_BACKEND_IDS; i++)
		if (st == NULL || st->backend_by_id[i] == NULL)
			backend_ids[i].used = false;
}

/* Publish st; free the generation it replaces once no worker can read it. */
static void
publish(struct eqx_app *app, struct eqx_state *st, struct cfg *old_cfg)
{
	struct eqx_state *old;

	st->generation = ++app->generation;
	/* A shift or drop of the previous tables happens once, in the state it was asked for. */
	app->cluster_prev = EQX_CL_PREV_KEEP;
	/* Next hops the new generation refers to must be visible first. */
	eqx_nh_publish(app);

	pthread_mutex_lock(&app->state_lock);
	old = app->state;
	__atomic_store_n(&app->state, st, __ATOMIC_RELEASE);
	app->cfg = (struct cfg *)(uintptr_t)st->cfg;
	pthread_mutex_unlock(&app->state_lock);

	if (old != NULL) {
		rte_rcu_qsbr_synchronize(app->qsbr, RTE_QSBR_THRID_INVALID);
		pthread_mutex_lock(&app->state_lock);
		state_free(old);
		if (old_cfg != NULL && old_cfg != app->cfg)
			cfg_free(old_cfg);
		pthread_mutex_unlock(&app->state_lock);
	}
	ids_release_unused(st);
	eqx_health_sync(app);
}

int
eqx_state_apply(struct eqx_app *app, struct cfg *cfg, struct cfg_errors *errs)
{
	struct cfg *old_cfg = app->state != NULL ? app->cfg : NULL;
	struct eqx_state *st;
	uint32_t i;

	if (eqx_config_check(cfg, errs) != 0) {
		cfg_free(cfg);
		return -EINVAL;
	}
	/* A new config file is the whole truth: run-time overrides end with it. */
	for (i = 0; i < EQX_MAX_BACKEND_IDS; i++)
		app->override[i] = (struct eqx_override){ 0 };
	st = state_build(app, cfg, errs);
	if (st == NULL) {
		/* Ids taken by the failed build are still marked; the live state frees them. */
		if (app->state != NULL)
			ids_release_unused(app->state);
		cfg_free(cfg);
		return -EINVAL;
	}
	/* Each worker applies the new timeouts to its own table when it sees the generation. */
	publish(app, st, old_cfg);
	return 0;
}

int
eqx_state_rebuild(struct eqx_app *app)
{
	struct cfg_errors *errs = calloc(1, sizeof(*errs));
	struct eqx_state *st;
	unsigned int i;

	if (errs == NULL)
		return -ENOMEM;
	st = state_build(app, app->cfg, errs);
	if (st == NULL) {
		for (i = 0; i < errs->n && i < CFG_MAX_ERRORS; i++)
			EQX_LOG(ERR, ctl, "new generation not built: %s", errs->msg[i]);
		ids_release_unused(app->state);
		free(errs);
		return -EINVAL;
	}
	free(errs);
	publish(app, st, NULL);
	return 0;
}

int
eqx_backend_find(struct eqx_app *app, const char *vip, const char *addr)
{
	const struct eqx_state *st = app->state;
	struct cfg_addr a;
	uint32_t i, j;

	if (cfg_addr_parse(addr, &a) != 0)
		return -EINVAL;
	for (i = 0; i < st->n_vips; i++) {
		if (strcmp(st->cfg->vips[i].name, vip) != 0)
			continue;
		for (j = 0; j < st->vips[i].n_backends; j++) {
			const struct eqx_backend *b = st->backend_by_id[st->vips[i].backends[j]];

			if (b->family == a.family && memcmp(b->addr, a.bytes, 16) == 0)
				return (int)b->id;
		}
	}
	return -ENOENT;
}

void
eqx_state_fini(struct eqx_app *app)
{
	pthread_mutex_lock(&app->state_lock);
	state_free(app->state);
	app->state = NULL;
	cfg_free(app->cfg);
	app->cfg = NULL;
	pthread_mutex_unlock(&app->state_lock);
}
