/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters as JSON, for the control socket and for DPDK telemetry. One builder
 * per view; telemetry converts the same JSON, so both always agree.
 * Workers' counters are plain uint64_t read without locks: a reader may see a
 * value one packet old, never a torn one on 64-bit targets.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "control.h"
#include "dataplane.h"

static const char *const drop_names[EQX_DROP_MAX] = {
#define _(sym, str) [EQX_DROP_##sym] = str,
	foreach_eqx_drop
#undef _
};

const char *
eqx_drop_name(unsigned int reason)
{
	if (reason >= EQX_DROP_MAX)
		return "unknown";
	if (reason >= EQX_DROP_PARSE_BASE)
		return net_parse_err_name((int)(reason - EQX_DROP_PARSE_BASE + 1));
	return drop_names[reason];
}

#define SUM_FIELD(app, field)                                          \
	({                                                             \
		uint64_t _s = 0;                                       \
		for (unsigned int _w = 0; _w < (app)->n_workers; _w++) \
			_s += (app)->workers[_w].stats.field;          \
		_s;                                                    \
	})

json_t *
eqx_stats_json(struct eqx_app *app)
{
	json_t *o = json_object(), *drops = json_object(), *ports = json_object();
	json_t *ctl = json_object(), *flows = json_object(), *per;
	uint64_t flow_count = 0, flow_cap = 0, evictions = 0, expired = 0;
	unsigned int i, w;

	json_object_set_new(o, "instance", json_string(app->cfg->instance.name));
	json_object_set_new(o, "generation", json_integer((json_int_t)app->generation));
	json_object_set_new(o, "workers", json_integer(app->n_workers));
#define _(n) json_object_set_new(o, #n, json_integer((json_int_t)SUM_FIELD(app, n)));
	foreach_eqx_worker_counter
#undef _

		for (w = 0; w < app->n_workers; w++)
	{
		const struct flow_stats *fs = flow_table_stats(app->workers[w].flows);

		flow_count += flow_table_count(app->workers[w].flows);
		flow_cap += flow_table_capacity(app->workers[w].flows);
		evictions += fs->evictions;
		expired += fs->expired;
	}
	json_object_set_new(flows, "active", json_integer((json_int_t)flow_count));
	json_object_set_new(flows, "capacity", json_integer((json_int_t)flow_cap));
#define _(n) json_object_set_new(flows, #n, json_integer((json_int_t)SUM_FIELD(app, flow_##n)));
	foreach_eqx_flow_counter
#undef _
		json_object_set_new(flows, "evictions", json_integer((json_int_t)evictions));
	json_object_set_new(flows, "expired", json_integer((json_int_t)expired));
	json_object_set_new(o, "flows", flows);

	/* How RSS (or af_packet's fanout) spreads the load over the workers. */
	per = json_array();
	for (w = 0; w < app->n_workers; w++) {
		const struct eqx_worker *wk = &app->workers[w];

		json_array_append_new(per,
				      json_pack("{s:I, s:I, s:I, s:I}", "rx_packets",
						(json_int_t)wk->stats.rx_packets, "tx_packets",
						(json_int_t)wk->stats.tx_packets, "flows_active",
						(json_int_t)flow_table_count(wk->flows),
						"idle_sleeps", (json_int_t)wk->stats.idle_sleeps));
	}
	json_object_set_new(o, "per_worker", per);

	for (i = 0; i < EQX_DROP_MAX; i++)
		json_object_set_new(drops, eqx_drop_name(i),
				    json_integer((json_int_t)SUM_FIELD(app, drops[i])));
	json_object_set_new(o, "drops", drops);

	for (i = 0; i < app->n_ports; i++) {
		struct rte_eth_stats es;
		json_t *p = json_object();

		if (rte_eth_stats_get(app->ports[i].port_id, &es) == 0) {
			json_object_set_new(p, "rx_packets", json_integer((json_int_t)es.ipackets));
			json_object_set_new(p, "tx_packets", json_integer((json_int_t)es.opackets));
			json_object_set_new(p, "rx_bytes", json_integer((json_int_t)es.ibytes));
			json_object_set_new(p, "tx_bytes", json_integer((json_int_t)es.obytes));
			json_object_set_new(p, "rx_missed", json_integer((json_int_t)es.imissed));
			json_object_set_new(p, "rx_errors", json_integer((json_int_t)es.ierrors));
			json_object_set_new(p, "tx_errors", json_integer((json_int_t)es.oerrors));
		}
		json_object_set_new(ports, app->ports[i].name, p);
	}
	json_object_set_new(o, "ports", ports);

#define _(n) json_object_set_new(ctl, #n, json_integer((json_int_t)eqx_ctl_stats.n));
	foreach_eqx_ctl_stat
#undef _
		json_object_set_new(o, "control", ctl);
	return o;
}

static json_t *
ctr_json(json_t *o, const struct eqx_ctr *c)
{
	json_object_set_new(o, "packets", json_integer((json_int_t)c->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)c->bytes));
	json_object_set_new(o, "flows", json_integer((json_int_t)c->flows));
	json_object_set_new(o, "active_flows", json_integer((json_int_t)c->active));
	return o;
}

json_t *
eqx_vips_json(struct eqx_app *app, const char *only)
{
	const struct eqx_state *st = app->state;
	const struct eqx_nh_table *nht = app->nh;
	json_t *o = json_object(), *arr = json_array();
	char buf[64];
	uint32_t i, j;

	for (i = 0; i < st->n_vips; i++) {
		const struct cfg_vip *cv = &st->cfg->vips[i];
		const struct eqx_vip *v = &st->vips[i];
		json_t *jv = json_object(), *jb = json_array();
		struct eqx_ctr c;

		if (only != NULL && strcmp(only, cv->name) != 0)
			continue;
		cfg_addr_str(&cv->addr, buf, sizeof(buf));
		json_object_set_new(jv, "name", json_string(cv->name));
		json_object_set_new(jv, "address", json_string(buf));
		json_object_set_new(jv, "protocol", json_string(cfg_proto_str(cv->proto)));
		json_object_set_new(jv, "port", json_integer(cv->port));
		json_object_set_new(jv, "forwarding",
				    json_string(cfg_forwarding_str(cv->forwarding)));
		json_object_set_new(jv, "table_size", json_integer(cv->table_size));
		json_object_set_new(jv, "affinity",
				    json_string(cfg_affinity_str(cv->affinity.mode)));
		eqx_ctr_get(app, true, v->id, &c);
		ctr_json(jv, &c);

		for (j = 0; j < v->n_backends; j++) {
			const struct eqx_backend *b = st->backend_by_id[v->backends[j]];
			const struct cfg_backend *cb = &cv->backends[j];
			json_t *o2 = json_object();
			bool resolved = nht != NULL && b->nh < nht->n && nht->nh[b->nh].valid;

			cfg_addr_str(&cb->addr, buf, sizeof(buf));
			json_object_set_new(o2, "address", json_string(buf));
			/* state: what applies now, health folded in; admin_state: the config's or
			 * equinoxctl's; serving: whether it takes new flows now. */
			json_object_set_new(o2, "weight", json_integer(b->weight));
			json_object_set_new(o2, "state",
					    json_string(cfg_backend_state_str(
						    (enum cfg_backend_state)b->state)));
			json_object_set_new(
				o2, "admin_state",
				json_string(cfg_backend_state_str(
					app->override[b->id].set_state ? app->override[b->id].state
								       : cb->state)));
			json_object_set_new(
				o2, "serving",
				json_boolean(b->state == CFG_BACKEND_ACTIVE && b->weight > 0));
			json_object_set_new(o2, "health", eqx_health_json(b->id));
			json_object_set_new(o2, "neighbour",
					    json_string(resolved ? "resolved" : "incomplete"));
			if (eqx_nh_addr(b->nh, buf, sizeof(buf)) == 0)
				json_object_set_new(o2, "next_hop", json_string(buf));
			eqx_ctr_get(app, false, b->id, &c);
			ctr_json(o2, &c);
			json_array_append_new(jb, o2);
		}
		json_object_set_new(jv, "backends", jb);
		json_array_append_new(arr, jv);
	}
	json_object_set_new(o, "generation", json_integer((json_int_t)st->generation));
	json_object_set_new(o, "vips", arr);
	return o;
}

/* ---- DPDK telemetry ---- */

/* Telemetry names allow only [A-Za-z0-9_/]. */
static void
tel_name(char *out, size_t len, const char *prefix, const char *key)
{
	size_t i;

	snprintf(out, len, "%s%s%s", prefix, *prefix ? "_" : "", key);
	for (i = 0; out[i] != '\0'; i++)
		if (!isalnum((unsigned char)out[i]) && out[i] != '_' && out[i] != '/')
			out[i] = '_';
}

static void tel_add_flat(struct rte_tel_data *d, const char *prefix, json_t *v);

static void
tel_add_scalar(struct rte_tel_data *d, const char *name, json_t *v)
{
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);

		if (x >= 0)
			rte_tel_data_add_dict_u64(d, name, (uint64_t)x);
		else
			rte_tel_data_add_dict_int(d, name, (int)x);
	} else if (json_is_string(v)) {
		rte_tel_data_add_dict_string(d, name, json_string_value(v));
	} else if (json_is_boolean(v)) {
		rte_tel_data_add_dict_int(d, name, json_is_true(v));
	}
}

/* Everything below one container is flattened into name_subname keys. */
static void
tel_add_flat(struct rte_tel_data *d, const char *prefix, json_t *v)
{
	char name[RTE_TEL_MAX_STRING_LEN];
	const char *k;
	json_t *sub;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach (v, k, sub) {
			tel_name(name, sizeof(name), prefix, k);
			tel_add_flat(d, name, sub);
		}
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, sub) {
			json_t *key = json_object_get(sub, "address");
			char idx[24];

			if (!json_is_string(key))
				snprintf(idx, sizeof(idx), "%zu", i);
			tel_name(name, sizeof(name), prefix,
				 json_is_string(key) ? json_string_value(key) : idx);
			tel_add_flat(d, name, sub);
		}
	} else {
		tel_add_scalar(d, prefix, v);
	}
}

/* Top-level scalars stay scalars; each top-level object becomes one flat container. */
int
eqx_tel_from_json(struct rte_tel_data *d, json_t *o)
{
	const char *k;
	json_t *v;

	rte_tel_data_start_dict(d);
	json_object_foreach (o, k, v) {
		char name[RTE_TEL_MAX_STRING_LEN];

		tel_name(name, sizeof(name), "", k);
		if (json_is_object(v)) {
			struct rte_tel_data *c = rte_tel_data_alloc();

			if (c == NULL)
				return -ENOMEM;
			rte_tel_data_start_dict(c);
			tel_add_flat(c, "", v);
			rte_tel_data_add_dict_container(d, name, c, 0);
		} else {
			tel_add_scalar(d, name, v);
		}
	}
	return 0;
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *o;
	int rc;

	pthread_mutex_lock(&eqx.state_lock);
	o = eqx_stats_json(&eqx);
	pthread_mutex_unlock(&eqx.state_lock);
	rc = eqx_tel_from_json(d, o);
	json_decref(o);
	return rc;
}

/* /equinox/vips: one container per VIP, keyed by its name. */
static int
tel_vips(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *o, *byname = json_object(), *v;
	size_t i;
	int rc;

	pthread_mutex_lock(&eqx.state_lock);
	o = eqx_vips_json(&eqx, params != NULL && *params ? params : NULL);
	pthread_mutex_unlock(&eqx.state_lock);
	json_array_foreach (json_object_get(o, "vips"), i, v)
		json_object_set(byname, json_string_value(json_object_get(v, "name")), v);
	rc = eqx_tel_from_json(d, byname);
	json_decref(byname);
	json_decref(o);
	return rc;
}

int
eqx_telemetry_init(struct eqx_app *app)
{
	int rc;

	rc = rte_telemetry_register_cmd(
		"/equinox/stats", tel_stats,
		"Packet, drop-by-reason, flow-table and port counters. No parameters");
	if (rc == 0)
		rc = rte_telemetry_register_cmd(
			"/equinox/vips", tel_vips,
			"Per-VIP and per-backend packets, bytes, flows. Parameter: VIP name");
	return rc;
}
