/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Distributed mode on the control lcore: lib/cluster's node (membership,
 * flow owners, the push stream, owner queries, backend-set generations)
 * driven as lib/cluster/README.md says, around the appliance's data plane.
 *
 * Records. The workers (only with cluster.mode distributed: st->cluster)
 * send up a cluster_rec on their cl_events ring for a new flow whose backend
 * the previous generation's table would not give (during a transition) and,
 * after every new generation, for each flow in their table whose backend the
 * new table would not give; the agent pushes them to the flow's owner and
 * replica. Everything else is stateless: every member runs the same Maglev.
 *
 * Queries. A worker that meets a mid-connection TCP segment (no SYN) of a
 * flow it does not know passes the frame itself up (EQX_HOPS_CLUSTER). The
 * agent holds it (bounded table, bounded time), asks the owner, and on the
 * answer (or the failure: the previous generation's choice during a
 * transition, the current one else) has that worker install the flow and
 * then handle the frame again, through its cl_installs ring. Holding the
 * frame a round trip instead of forwarding it by a guess meanwhile keeps a
 * mid-connection segment from reaching a backend that never saw the
 * connection, whose kernel would answer with a reset.
 *
 * Generations. The blob is the canonical JSON of the VIP set
 * (cfg_dump_vips: sorted keys, defaults filled, equinoxctl changes folded
 * in). A reload or `equinoxctl backend set` proposes it; every member
 * validates it as its own config with those VIPs (cfg_with_vips) when asked
 * to prepare, and applies it at the commit, keeping the previous Maglev
 * tables (state.c) until the transition ends. Health verdicts stay local.
 * A member out of service (starting, behind, apply failed) drops VIP traffic
 * and answers no ARP/ND for the VIPs (app->ha_mode), as an HA standby does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_random.h>

#include "agent.h"
#include "cluster/cluster.h"
#include "cluster_agent.h"
#include "control.h"
#include "dataplane.h"
#include "maglev/maglev.h"
#include "udp.h"

RTE_LOG_REGISTER(eqx_logtype_cluster, equinox.cluster, INFO);
#define CL_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, eqx_logtype_cluster, "equinox: cluster: " fmt "\n", ##__VA_ARGS__)

#define NS_PER_MS 1000000ULL

#define CL_RING_SIZE 16384            /* per worker and direction */
#define EVENTS_PER_POLL 4096          /* records taken from each worker's ring a poll */
#define TX_PER_POLL 128               /* datagrams sent per poll */
#define TX_RING_KEEP 64               /* ...leaving this much of worker 0's ring to the others */
#define HELD_MAX 4096                 /* frames waiting for an owner's answer */
#define HELD_MAX_NS (200 * NS_PER_MS) /* the node gives up far sooner: a safety net */

#define foreach_cluster_agent_counter \
	_(records_pushed)             \
	_(records_refused)            \
	_(queries)                    \
	_(queries_refused)            \
	_(held)                       \
	_(held_full)                  \
	_(held_expired)               \
	_(answers_installed)          \
	_(answers_unknown_backend)    \
	_(fallbacks_previous)         \
	_(fallbacks_current)          \
	_(fallbacks_none)             \
	_(installs_lost)              \
	_(tx_datagrams)               \
	_(tx_unresolved)              \
	_(tx_failed)                  \
	_(tx_deferred)                \
	_(gen_prepared)               \
	_(gen_prepare_failed)         \
	_(gen_applied)                \
	_(gen_apply_failed)           \
	_(proposals)                  \
	_(proposals_refused)          \
	_(service_out)                \
	_(service_in)                 \
	_(actions_dropped)

struct held {
	struct rte_mbuf *m; /* NULL: free slot */
	uint64_t since_ns;
	struct flow_key key;
	uint16_t worker;
};

static struct {
	struct cluster_node *node;
	struct cluster_actions acts;
	uint16_t sync_port;
	uint32_t applied_gen;
	struct cfg *prepared; /* validated, waiting for its commit */
	uint32_t prepared_gen;
	bool in_service;
	uint8_t service_reason;
	unsigned int n_held;
	struct held held[HELD_MAX];
	struct {
#define _(n) uint64_t n;
		foreach_cluster_agent_counter
#undef _
	} st;
} cl;

static bool running;

bool
eqx_cluster_active(void)
{
	return running;
}

uint32_t
eqx_cluster_generation(void)
{
	return cl.applied_gen;
}

/* ---- the data plane's side ---- */

static void
key_of(struct flow_key *k, const struct net_hdrs *h)
{
	memset(k, 0, sizeof(*k));
	k->family = h->family;
	k->proto = h->l4_proto;
	k->sport = h->sport;
	k->dport = h->dport;
	memcpy(k->src, h->src, h->family == 4 ? 4 : 16);
	memcpy(k->dst, h->dst, h->family == 4 ? 4 : 16);
}

/* Hand worker w the install (backend UINT32_MAX: none) and the frame m (or NULL). */
static void
install_send(struct eqx_app *app, unsigned int w, const struct flow_key *k, uint16_t vip,
	     uint32_t backend, uint8_t state, struct rte_mbuf *m)
{
	struct eqx_cl_install in = {
		.m = m, .backend = backend, .vip = vip, .state = state, .key = *k
	};

	if (w >= app->n_workers ||
	    rte_ring_mp_enqueue_elem(app->workers[w].cl_installs, &in, sizeof(in)) != 0) {
		cl.st.installs_lost++;
		if (m != NULL)
			rte_pktmbuf_free(m);
	}
}

/* Every held frame of key k for worker w goes back with the install; the first carries it. */
static void
release(struct eqx_app *app, unsigned int w, const struct flow_key *k, uint16_t vip,
	uint32_t backend, uint8_t state)
{
	bool sent = false;
	unsigned int i;

	for (i = 0; i < HELD_MAX && cl.n_held > 0; i++) {
		struct held *h = &cl.held[i];

		if (h->m == NULL || h->worker != w || memcmp(&h->key, k, sizeof(*k)) != 0)
			continue;
		install_send(app, w, k, vip, sent ? UINT32_MAX : backend, state, h->m);
		h->m = NULL;
		cl.n_held--;
		sent = true;
	}
	if (!sent && backend != UINT32_MAX)
		install_send(app, w, k, vip, backend, state, NULL);
}

/*
 * Nobody knows the flow: the previous generation's choice during a
 * transition (the flow may have begun before the last change and never been
 * recorded because that change did not move it), else the current table's.
 */
static void
fallback(struct eqx_app *app, unsigned int w, const struct flow_key *k)
{
	const struct eqx_state *st = app->state;
	const struct eqx_vip *vip = eqx_state_vip(st, k->family, k->dst, k->proto, k->dport);
	const struct eqx_maglev *t;
	uint32_t slot = MAGLEV_EMPTY;

	if (vip == NULL) {
		cl.st.fallbacks_none++;
		release(app, w, k, 0, UINT32_MAX, 0);
		return;
	}
	/*
	 * A TCP segment without SYN that nobody knows began before the change
	 * (its instance's walk had not recorded it yet): the previous table was
	 * the truth then. A UDP datagram nobody knows is a new flow.
	 */
	t = vip->maglev;
	if (k->proto == NET_PROTO_TCP && vip->prev_maglev != NULL &&
	    cluster_node_in_transition(cl.node, eqx_agent_now_ns())) {
		t = vip->prev_maglev;
		cl.st.fallbacks_previous++;
	} else {
		cl.st.fallbacks_current++;
	}
	slot = maglev_lookup(t->slots, t->size, flow_hash(k));
	release(app, w, k, vip->id, slot == MAGLEV_EMPTY ? UINT32_MAX : slot,
		k->proto == NET_PROTO_TCP ? FLOW_STATE_EST : FLOW_STATE_UDP);
}

/* An owner's answer: the backend by address in this box's VIP of the key. */
static void
answer(struct eqx_app *app, const struct cluster_action *a)
{
	const struct cluster_rec *r = &a->rec;
	const struct eqx_state *st = app->state;
	const struct eqx_vip *vip;
	uint32_t backend = UINT32_MAX, i, w;

	vip = eqx_state_vip(st, r->key.family, r->key.dst, r->key.proto, r->key.dport);
	for (i = 0; vip != NULL && i < vip->n_backends; i++) {
		const struct eqx_backend *b = st->backend_by_id[vip->backends[i]];

		if (b != NULL && b->family == r->be_family &&
		    memcmp(b->addr, r->backend, r->be_family == 4 ? 4 : 16) == 0) {
			backend = b->id;
			break;
		}
	}
	for (w = 0; w < app->n_workers && w < 64; w++) {
		if (!(a->cookie & (1ULL << w)))
			continue;
		if (backend == UINT32_MAX) {
			/* That backend is gone here: the flow is lost whatever we do. */
			cl.st.answers_unknown_backend++;
			fallback(app, w, &r->key);
			continue;
		}
		cl.st.answers_installed++;
		release(app, w, &r->key, vip->id, backend, r->state ? r->state : FLOW_STATE_EST);
	}
}

/* Frames held past HELD_MAX_NS (the node lost track): balanced by the fallback. */
static void
held_expire(struct eqx_app *app, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < HELD_MAX && cl.n_held > 0; i++) {
		struct held *h = &cl.held[i];

		if (h->m != NULL && now - h->since_ns > HELD_MAX_NS) {
			cl.st.held_expired++;
			fallback(app, h->worker, &h->key);
		}
	}
}

/* ---- generations ---- */

static void
prepare(struct eqx_app *app, const struct cluster_action *a)
{
	struct cfg_errors *errs = calloc(1, sizeof(*errs));
	struct cfg *c = NULL;
	unsigned int i;

	if (errs != NULL) {
		c = cfg_with_vips(app->cfg, (const char *)a->blob, a->blob_len, errs);
		if (c != NULL && eqx_config_check(c, errs) != 0) {
			cfg_free(c);
			c = NULL;
		}
		for (i = 0; c == NULL && i < errs->n && i < CFG_MAX_ERRORS; i++)
			CL_LOG(ERR, "generation %u not applicable here: %s", a->gen, errs->msg[i]);
	}
	free(errs);
	cfg_free(cl.prepared);
	cl.prepared = c;
	cl.prepared_gen = a->gen;
	if (c != NULL)
		cl.st.gen_prepared++;
	else
		cl.st.gen_prepare_failed++;
	cluster_node_gen_prepared(cl.node, eqx_agent_now_ns(), a->gen, c != NULL, &cl.acts);
}

static void
commit(struct eqx_app *app, const struct cluster_action *a)
{
	struct cfg_errors *errs;
	struct cfg *c = cl.prepared;
	unsigned int i;

	if (c == NULL || cl.prepared_gen != a->gen) {
		cl.st.gen_apply_failed++;
		CL_LOG(ERR, "generation %u committed but not prepared here", a->gen);
		cluster_node_gen_apply_failed(cl.node, a->gen, &cl.acts);
		return;
	}
	cl.prepared = NULL;
	errs = calloc(1, sizeof(*errs));
	if (errs == NULL) {
		cfg_free(c);
		cl.st.gen_apply_failed++;
		return;
	}
	app->cluster_gen = a->gen;
	app->cluster_prev = EQX_CL_PREV_SHIFT;
	if (eqx_state_apply(app, c, errs) != 0) {
		for (i = 0; i < errs->n && i < CFG_MAX_ERRORS; i++)
			CL_LOG(ERR, "generation %u not applied: %s", a->gen, errs->msg[i]);
		app->cluster_prev = EQX_CL_PREV_KEEP;
		cl.st.gen_apply_failed++;
		/* Not balancing on a table that is not the cluster's: out of service. */
		cluster_node_gen_apply_failed(cl.node, a->gen, &cl.acts);
	} else {
		cl.applied_gen = a->gen;
		cl.st.gen_applied++;
		CL_LOG(NOTICE, "generation %u applied (%s): state %" PRIu64, a->gen,
		       cluster_reason_name(a->reason), app->generation);
	}
	free(errs);
}

static void
transition_end(struct eqx_app *app)
{
	app->cluster_prev = EQX_CL_PREV_DROP;
	if (eqx_state_rebuild(app) != 0)
		app->cluster_prev = EQX_CL_PREV_KEEP;
}

static void
service(struct eqx_app *app, bool in, uint8_t reason)
{
	cl.in_service = in;
	cl.service_reason = reason;
	if (in)
		cl.st.service_in++;
	else
		cl.st.service_out++;
	__atomic_store_n(&app->ha_mode, in ? EQX_HA_SERVE : EQX_HA_DROP, __ATOMIC_RELEASE);
	CL_LOG(NOTICE, "%s service: %s (generation %u)", in ? "in" : "out of",
	       cluster_reason_name(reason), cl.applied_gen);
}

/* Apply cl.acts in order; the calls it makes may append more, applied too. */
static void
acts_apply(struct eqx_app *app)
{
	unsigned int i;

	for (i = 0; i < cl.acts.n; i++) {
		const struct cluster_action *a = &cl.acts.a[i];

		switch (a->type) {
		case CLUSTER_ACT_INSTALL:
			answer(app, a);
			break;
		case CLUSTER_ACT_QUERY_FAILED: {
			unsigned int w;

			for (w = 0; w < app->n_workers && w < 64; w++)
				if (a->cookie & (1ULL << w))
					fallback(app, w, &a->rec.key);
			break;
		}
		case CLUSTER_ACT_MEMBER_UP:
		case CLUSTER_ACT_MEMBER_DOWN:
			CL_LOG(NOTICE, "member %u %s (%s)", a->member,
			       a->type == CLUSTER_ACT_MEMBER_UP ? "up" : "down",
			       cluster_reason_name(a->reason));
			break;
		case CLUSTER_ACT_VIEW:
			CL_LOG(INFO, "live set changed: view %u", a->gen);
			break;
		case CLUSTER_ACT_GEN_PREPARE:
			prepare(app, a);
			break;
		case CLUSTER_ACT_GEN_COMMIT:
			commit(app, a);
			break;
		case CLUSTER_ACT_GEN_ABORT:
			if (cl.prepared_gen == a->gen) {
				cfg_free(cl.prepared);
				cl.prepared = NULL;
			}
			CL_LOG(NOTICE, "generation %u dropped: %s", a->gen,
			       cluster_reason_name(a->reason));
			break;
		case CLUSTER_ACT_TRANSITION_END:
			transition_end(app);
			break;
		case CLUSTER_ACT_SERVICE_OUT:
			service(app, false, a->reason);
			break;
		case CLUSTER_ACT_SERVICE_IN:
			service(app, true, a->reason);
			break;
		default:
			break;
		}
	}
	cl.st.actions_dropped += cl.acts.dropped;
	cl.acts.n = 0;
	cl.acts.dropped = 0;
}

void
eqx_cluster_held(struct eqx_app *app, unsigned int w, struct rte_mbuf *m)
{
	struct flow_key k;
	struct net_hdrs h;
	unsigned int i;
	int rc;

	if (!running || net_parse(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m),
				  &h) != NET_PARSE_OK) {
		rte_pktmbuf_free(m);
		return;
	}
	key_of(&k, &h); /* zeroes what an IPv4 key leaves unused */
	if (cl.n_held == HELD_MAX) {
		/* No room to wait: the frame is balanced as if nobody knew better. */
		cl.st.held_full++;
		install_send(app, w, &k, 0, UINT32_MAX, 0, m);
		return;
	}
	for (i = 0; cl.held[i].m != NULL; i++)
		;
	cl.held[i] = (struct held){
		.m = m, .since_ns = eqx_agent_now_ns(), .key = k, .worker = (uint16_t)w
	};
	cl.n_held++;
	cl.st.held++;
	rc = cluster_node_query(cl.node, eqx_agent_now_ns(), CLUSTER_ITEM_FLOW, &k,
				1ULL << (w & 63), &cl.acts);
	if (rc == 0 || rc == -EALREADY) {
		cl.st.queries++;
	} else {
		cl.st.queries_refused++;
		fallback(app, w, &k);
	}
	acts_apply(app);
}

/* ---- the wire ---- */

static void
on_datagram(struct eqx_app *app, const struct eqx_udp_dgram *d, void *arg)
{
	RTE_SET_USED(arg);
	cluster_node_rx(cl.node, eqx_agent_tsc_ns(d->rx_tsc), d->data, d->len, &cl.acts);
	acts_apply(app);
}

static void
tx_drain(struct eqx_app *app, uint64_t now)
{
	uint8_t buf[CLUSTER_WIRE_MAX];
	struct cfg_addr dst;
	unsigned int n;
	uint16_t to;
	int len, rc;

	for (n = 0; n < TX_PER_POLL; n++) {
		if (rte_ring_free_count(app->workers[0].from_ctrl) < TX_RING_KEEP) {
			cl.st.tx_deferred++;
			return;
		}
		len = cluster_node_tx(cl.node, now, buf, sizeof(buf), &to);
		if (len <= 0)
			return;
		if (cluster_node_member_addr(cl.node, to, &dst.family, dst.bytes) != 0) {
			cl.st.tx_failed++;
			continue;
		}
		rc = eqx_udp_send(app, &dst, cl.sync_port, cl.sync_port, buf, (uint32_t)len);
		if (rc == 0)
			cl.st.tx_datagrams++;
		else if (rc == -EAGAIN)
			cl.st.tx_unresolved++; /* heartbeats repeat, the stream resends */
		else
			cl.st.tx_failed++;
	}
}

static void
drain_events(struct eqx_app *app, uint64_t now)
{
	struct cluster_rec r[EQX_BURST];
	unsigned int w, i, n, got;

	for (w = 0; w < app->n_workers; w++) {
		for (got = 0; got < EVENTS_PER_POLL; got += n) {
			n = rte_ring_sc_dequeue_burst_elem(app->workers[w].cl_events, r,
							   sizeof(r[0]), EQX_BURST, NULL);
			if (n == 0)
				break;
			for (i = 0; i < n; i++) {
				if (cluster_node_push(cl.node, now, &r[i]) == 0)
					cl.st.records_pushed++;
				else
					cl.st.records_refused++;
			}
		}
	}
}

static void
cluster_poll(struct eqx_app *app, uint64_t now_tsc)
{
	uint64_t now = eqx_agent_tsc_ns(now_tsc);

	drain_events(app, now);
	if (now >= cluster_node_next_deadline(cl.node))
		cluster_node_tick(cl.node, now, &cl.acts);
	acts_apply(app);
	if (cl.n_held > 0)
		held_expire(app, now);
	tx_drain(app, now);
}

/* ---- proposals ---- */

static int64_t
propose(const char *blob)
{
	int64_t gen = cluster_node_gen_propose(cl.node, eqx_agent_now_ns(), (const uint8_t *)blob,
					       (uint32_t)strlen(blob), &cl.acts);

	if (gen < 0)
		cl.st.proposals_refused++;
	else
		cl.st.proposals++;
	acts_apply(&eqx);
	return gen;
}

int
eqx_cluster_reload(struct eqx_app *app, struct cfg *cfg, struct cfg_errors *errs, int64_t *gen)
{
	char *want = cfg_dump_vips(cfg), *have = cfg_dump_vips(app->cfg);
	struct cfg *local = NULL;
	int rc = -ENOMEM;

	*gen = 0;
	if (want == NULL || have == NULL)
		goto out;
	/* What is not the VIP set changes here at once; the VIP set only by agreement. */
	local = cfg_with_vips(cfg, have, strlen(have), errs);
	if (local == NULL) {
		rc = -EINVAL;
		goto out;
	}
	rc = eqx_state_apply(app, local, errs);
	if (rc != 0)
		goto out;
	if (strcmp(want, have) != 0) {
		/* Validated as a whole file already (cfg); every member checks it again. */
		*gen = propose(want);
		if (*gen < 0) {
			if (errs->n < CFG_MAX_ERRORS)
				snprintf(errs->msg[errs->n], sizeof(errs->msg[0]),
					 "cluster: the new VIP set cannot be proposed now: %s",
					 strerror((int)-*gen));
			errs->n++;
			rc = (int)*gen;
		} else {
			CL_LOG(NOTICE, "reload: VIP set proposed as generation %" PRId64, *gen);
		}
	}
out:
	cfg_free(cfg);
	free(want);
	free(have);
	return rc;
}

/* The same address, whichever way it is written. */
static bool
addr_same(const char *a, const char *b)
{
	struct cfg_addr x, y;

	return cfg_addr_parse(a, &x) == 0 && cfg_addr_parse(b, &y) == 0 && cfg_addr_equal(&x, &y);
}

int64_t
eqx_cluster_backend_set(struct eqx_app *app, const char *vip, const char *addr,
			const struct eqx_override *ov, const char **err)
{
	char *have = cfg_dump_vips(app->cfg), *want = NULL;
	json_t *vips = NULL, *v, *bs, *b;
	size_t i, j;
	int64_t gen = -ENOENT;

	*err = "no such backend in that VIP";
	if (have == NULL || (vips = json_loads(have, 0, NULL)) == NULL) {
		*err = "out of memory";
		gen = -ENOMEM;
		goto out;
	}
	json_array_foreach (vips, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")) ?: "", vip) != 0)
			continue;
		bs = json_object_get(v, "backends");
		json_array_foreach (bs, j, b) {
			if (!addr_same(json_string_value(json_object_get(b, "address")) ?: "",
				       addr))
				continue;
			if (ov->set_weight)
				json_object_set_new(b, "weight", json_integer(ov->weight));
			if (ov->set_state)
				json_object_set_new(b, "state",
						    json_string(cfg_backend_state_str(ov->state)));
			gen = 0;
		}
	}
	if (gen != 0)
		goto out;
	want = json_dumps(vips, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	if (want == NULL) {
		*err = "out of memory";
		gen = -ENOMEM;
		goto out;
	}
	if (strcmp(want, have) == 0) {
		gen = cl.applied_gen;
		goto out;
	}
	gen = propose(want);
	if (gen < 0)
		*err = gen == -EAGAIN ? "this member is catching up with the cluster: try again"
				      : "the change cannot be proposed";
	else
		CL_LOG(NOTICE, "backend %s of %s: proposed as generation %" PRId64, addr, vip, gen);
out:
	json_decref(vips);
	free(have);
	free(want);
	return gen;
}

/* ---- the agent ---- */

static bool
enabled(const struct cfg *cfg)
{
	return cfg->cluster.mode == CFG_CLUSTER_DISTRIBUTED;
}

static int
rings_create(struct eqx_app *app)
{
	unsigned int w;

	for (w = 0; w < app->n_workers; w++) {
		struct eqx_worker *wk = &app->workers[w];

		wk->cl_events =
			eqx_agent_worker_ring(wk, "clev", sizeof(struct cluster_rec), CL_RING_SIZE);
		wk->cl_installs = eqx_agent_worker_ring(wk, "clins", sizeof(struct eqx_cl_install),
							CL_RING_SIZE);
		if (wk->cl_events == NULL || wk->cl_installs == NULL)
			return -ENOMEM;
	}
	return 0;
}

static int
start(struct eqx_app *app)
{
	const struct cfg *cfg = app->cfg;
	struct cluster_conf *c;
	uint64_t now = eqx_agent_now_ns();
	char *blob;
	unsigned int i;
	int rc;

	if (cfg->ha.enabled) {
		CL_LOG(ERR, "distributed mode and HA cannot run together");
		return -EINVAL;
	}
	if (cfg->cluster.key_len != CLUSTER_WIRE_KEY_LEN ||
	    cfg->cluster.n_members > CLUSTER_MAX_MEMBERS)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	cluster_conf_defaults(c);
	c->self_id = (uint16_t)cfg->instance.id;
	c->n_members = cfg->cluster.n_members;
	for (i = 0; i < cfg->cluster.n_members; i++) {
		c->members[i].id = (uint16_t)cfg->cluster.members[i].id;
		c->members[i].family = cfg->cluster.members[i].addr.family;
		memcpy(c->members[i].addr, cfg->cluster.members[i].addr.bytes, 16);
	}
	memcpy(c->key, cfg->cluster.key, CLUSTER_WIRE_KEY_LEN);
	do
		c->epoch = rte_rand();
	while (c->epoch == 0);
	cl.sync_port = cfg->cluster.sync_port;
	cl.acts.n = 0;
	cl.node = cluster_node_create(c, now, &cl.acts);
	free(c);
	if (cl.node == NULL)
		return -errno;
	rc = rings_create(app);
	if (rc != 0)
		return rc;
	running = true;
	acts_apply(app);
	blob = cfg_dump_vips(cfg);
	if (blob == NULL)
		return -ENOMEM;
	rc = cluster_node_gen_local(cl.node, now, (const uint8_t *)blob, (uint32_t)strlen(blob),
				    &cl.acts);
	free(blob);
	if (rc != 0)
		return rc;
	acts_apply(app);
	rc = eqx_udp_register(cl.sync_port, on_datagram, NULL);
	if (rc != 0)
		return rc;
	CL_LOG(NOTICE, "member %u of %u, sync on UDP %u", cfg->instance.id, cfg->cluster.n_members,
	       cl.sync_port);
	return 0;
}

static void
stop(struct eqx_app *app)
{
	unsigned int i;

	RTE_SET_USED(app);
	for (i = 0; i < HELD_MAX; i++) {
		if (cl.held[i].m != NULL)
			rte_pktmbuf_free(cl.held[i].m);
		cl.held[i].m = NULL;
	}
	cl.n_held = 0;
	cfg_free(cl.prepared);
	cl.prepared = NULL;
	running = false;
}

static json_t *
gen_id_json(const struct cluster_gen_id *id)
{
	return json_pack("{s:I, s:o}", "gen", (json_int_t)id->gen, "digest",
			 eqx_agent_hex_json(id->digest, CLUSTER_GEN_DIGEST_LEN));
}

static json_t *
agent_counters(void)
{
	json_t *o = json_object();

#define _(n) json_object_set_new(o, #n, json_integer((json_int_t)cl.st.n));
	foreach_cluster_agent_counter
#undef _
		return o;
}

static json_t *
agent_json(struct eqx_app *app)
{
	const struct cluster_members *ms = cluster_node_members(cl.node);
	const struct cluster_node_stats *ns = cluster_node_stats(cl.node);
	struct cluster_gen *g = cluster_node_gen(cl.node);
	json_t *o, *members = json_array(), *drops = json_object(), *node = json_object();
	json_t *rx = json_object(), *tx = json_object();
	uint64_t dropped = 0, now = eqx_agent_now_ns();
	unsigned int i;

	RTE_SET_USED(app);
	for (i = 0; i < ms->n; i++)
		json_array_append_new(members,
				      json_pack("{s:i, s:b, s:b}", "id", ms->ids[i], "self",
						ms->m[i].self, "alive", ms->m[i].alive));
	for (i = 1; i < CLUSTER_DROP_MAX; i++) {
		json_object_set_new(drops, cluster_drop_name((int)i),
				    json_integer((json_int_t)ns->drops[i]));
		dropped += ns->drops[i];
	}
	for (i = 1; i < CLUSTER_MSG_MAX; i++) {
		json_object_set_new(rx, cluster_msg_name((uint8_t)i),
				    json_integer((json_int_t)ns->rx[i]));
		json_object_set_new(tx, cluster_msg_name((uint8_t)i),
				    json_integer((json_int_t)ns->tx[i]));
	}
#define N(f) json_object_set_new(node, #f, json_integer((json_int_t)ns->f))
	N(pushes);
	N(push_copies);
	N(push_local);
	N(push_overflows);
	N(records_stored);
	N(store_full);
	N(queries_local);
	N(queries_served);
	N(answers_found);
	N(answers_unknown);
	N(answers_dropped);
	N(installs);
	N(query_failed);
	N(rx_rate_limited);
	N(tx_rate_limited);
	N(scans);
	N(scans_done);
	N(bulk_sent);
	N(bulk_received);
	N(actions_dropped);
#undef N
	o = json_pack(
		"{s:b, s:i, s:b, s:s, s:I, s:o, s:o, s:b, s:I, s:I, s:o, s:I, s:o, s:o, s:o, "
		"s:o, s:o}",
		"enabled", true, "self", (int)app->cfg->instance.id, "in_service", cl.in_service,
		"service_reason", cluster_reason_name(cl.service_reason), "generation",
		(json_int_t)cl.applied_gen, "applied", gen_id_json(cluster_gen_applied(g)), "known",
		gen_id_json(cluster_gen_known(g)), "in_transition",
		cluster_node_in_transition(cl.node, now), "view", (json_int_t)ms->view, "held",
		(json_int_t)cl.n_held, "members", members, "dropped", (json_int_t)dropped, "drops",
		drops, "agent", agent_counters(), "node", node, "rx", rx, "tx", tx);
	return o;
}

const struct eqx_agent eqx_cluster_agent = {
	.name = "cluster",
	.help = "Distributed mode: members, generations, sync counters. Takes no parameters",
	.enabled = enabled,
	.start = start,
	.poll = cluster_poll,
	.json = agent_json,
	.stop = stop,
};
