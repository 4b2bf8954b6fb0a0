/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The HA pair on the control lcore: lib/ha's node (role state machine,
 * reliable sync stream, authenticated wire) driven as ha.h says, around the
 * appliance's data plane.
 *
 * What is synced. Every flow entry a worker makes, every change of its TCP
 * state and its end come up the worker's ha_events ring (only with HA: the
 * workers of a box without HA emit nothing); pins come through the existing
 * affinity events; LISP registrations are a blob from src/lisp_agent.h.
 * The agent keeps them all in a store (lib/ha/ha_store.h), which is what the
 * bulk sync walks (the control lcore never reads a worker's table) and what
 * the digest that compares the two boxes is taken over.
 *
 * Ids. VIP and backend ids are handed out in allocation order, so the two
 * boxes may number the same backend differently (a reload on one, a restart
 * of the other). On the wire and in the store a backend is a 64-bit
 * reference hashed from its VIP's service and its own address; the receiver
 * turns it back into its own id, the VIP of a flow coming from its key.
 *
 * Where synced state goes. A standby cannot know which of its workers the
 * kernel's fanout (or the NIC's RSS) will give a connection after a
 * takeover, so every synced entry is installed in every worker's table
 * through its ha_installs ring, as it arrives: a takeover then only waits
 * for the rings to drain. The store remembers which workers hold an entry
 * (holders): on a serving box an entry goes, and the peer is told, when the
 * last worker lets it go; a standby refreshes its copies before the flow
 * timeouts would age them (the active's packets keep the real one alive).
 *
 * Takeover, in the order issue 7 asks: install (wait for the rings), then
 * announce (gratuitous ARP and unsolicited NA for every VIP and port address,
 * announce_count rounds ANNOUNCE_GAP_MS apart), then serve (the workers'
 * mode). A box that hands the role over forwards the VIP traffic that still
 * reaches it to the peer at L2 until neighbours have moved.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "agent.h"
#include "control.h"
#include "dataplane.h"
#include "ha/ha.h"
#include "ha/ha_store.h"
#include "ha_agent.h"
#include "lisp/lisp_state.h"
#include "lisp_agent.h"
#include "maglev/maglev.h"
#include "udp.h"

RTE_LOG_REGISTER(eqx_logtype_ha, equinox.ha, INFO);
#define HA_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, eqx_logtype_ha, "equinox: ha: " fmt "\n", ##__VA_ARGS__)

#define NS_PER_MS 1000000ULL

#define HA_RING_SIZE 16384           /* per worker and direction, struct eqx_flow_event */
#define LINK_CHECK_MS 10             /* the issue: a port whose link is down -> fault */
#define ANNOUNCE_GAP_MS 10           /* between the rounds of one announce */
#define EVENTS_PER_POLL 4096         /* per worker */
#define BULK_PER_POLL 4096           /* records added to a bulk sync per poll */
#define TX_PER_POLL 128              /* datagrams sent per poll: a burst the peer's RX ring takes */
#define TX_RING_KEEP 64              /* ...leaving this much of worker 0's ring to the others */
#define REFRESH_PER_MS 512           /* store entries the refresh walk looks at a millisecond */
#define LISP_CHECK_MS 50             /* how often the LISP registrations are looked at */
#define INSTALL_QUEUE_MAX (1u << 22) /* installs waiting for the rings; beyond: refresh */
#define REF_SLOTS 32768              /* power of two, > 2 * EQX_MAX_BACKEND_IDS */
#define BLOB_LISP 1                  /* blob tag: a chunk of a LISP registration snapshot */
#define LISP_CHUNK_HDR 16            /* snapshot id (8), total (4), offset (4) */
#define LISP_CHUNK_MAX (HA_WIRE_BLOB_MAX - LISP_CHUNK_HDR)

#define foreach_ha_agent_counter \
	_(rx_datagrams)          \
	_(rx_not_from_peer)      \
	_(rx_wrong_port)         \
	_(tx_datagrams)          \
	_(tx_unresolved)         \
	_(tx_failed)             \
	_(tx_deferred)           \
	_(flow_events)           \
	_(pin_events)            \
	_(records_pushed)        \
	_(records_refused)       \
	_(records_received)      \
	_(records_unresolved)    \
	_(records_kept_ours)     \
	_(store_full)            \
	_(installs_queued)       \
	_(installs_dropped)      \
	_(refreshes)             \
	_(pins_expired)          \
	_(bulks_sent)            \
	_(bulk_records)          \
	_(bulks_received)        \
	_(swept)                 \
	_(announces)             \
	_(garp_sent)             \
	_(na_sent)               \
	_(link_changes)          \
	_(lisp_snapshots_sent)   \
	_(lisp_restored)         \
	_(lisp_restore_failed)   \
	_(switchovers)

struct ha_agent_stats {
#define _(n) uint64_t n;
	foreach_ha_agent_counter
#undef _
};

struct ref_slot {
	uint64_t ref;
	uint32_t id_plus1;
};

/* The reference of each backend of the running generation, and the way back. */
struct ha_refs {
	uint64_t generation;
	uint64_t by_id[EQX_MAX_BACKEND_IDS];
	uint16_t vip_ref[EQX_MAX_VIP_IDS];
	struct ref_slot map[REF_SLOTS];
};

struct ha_agent {
	bool running;
	struct ha_node *node;
	struct ha_actions acts;
	struct cfg_addr peer;
	uint16_t ha_port; /* port index of ha.port */
	uint16_t sync_port;
	uint16_t id;
	uint8_t priority;
	uint32_t heartbeat_ms;
	uint32_t dead_count;
	unsigned int n_workers;
	uint64_t all_workers; /* holders mask of every worker */

	/* Role, as the actions left it. */
	bool serving;
	bool forwarding;
	bool installing;
	uint64_t install_ns;
	bool peer_mac_known;
	uint8_t peer_mac[6];

	/* Link of every port, polled. */
	uint64_t next_link_ns;
	bool link_up;
	int ifd; /* a socket for SIOCGIFFLAGS, or -1 */
	char ifname[EQX_MAX_PORTS][IF_NAMESIZE];

	/* The replicated state. */
	struct ha_store *store;
	uint32_t refresh_cursor;
	uint64_t refresh_next_ns;

	/* Installs waiting for room in the workers' rings: one queue, a cursor per worker. */
	struct eqx_flow_event *q;
	uint64_t q_mask;
	uint64_t q_head, q_tail;
	uint64_t q_pos[EQX_MAX_WORKERS];

	/* The bulk sync we send. */
	bool bulk_wanted; /* asked for; not begun yet (the queue was full) */
	bool bulk_running;
	uint32_t bulk_id;
	uint32_t bulk_cursor;

	/* Announcements under way. */
	uint32_t announce_left;
	uint64_t announce_next_ns;

	/* LISP registrations: what we sent, what we are receiving. */
	uint64_t lisp_next_ns;
	uint64_t lisp_sent_gen;
	uint8_t *lisp_rx;
	uint64_t lisp_rx_id;
	uint32_t lisp_rx_total, lisp_rx_got;
	bool lisp_restored; /* holds a mirrored snapshot the ETRs were not told of yet */

	/* The last bulk sync received: records, and from its start to its end. */
	uint64_t bulk_rx_start_ns;
	uint64_t bulk_rx_records;
	uint64_t last_bulk_records;
	uint64_t last_bulk_us;

	unsigned int logged; /* transitions logged so far */
	struct ha_agent_stats st;
	struct ha_refs *refs;
};

static struct ha_agent ha = { .ifd = -1 };

/* ---- references: the ids both boxes agree on ---- */

static uint64_t
fnv64(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
vip_hash(const struct eqx_vip *v)
{
	uint8_t id[4] = { v->family, v->proto, (uint8_t)(v->port >> 8), (uint8_t)v->port };
	uint64_t h = fnv64(0xcbf29ce484222325ULL, id, sizeof(id));

	return fnv64(h, v->addr, 16);
}

static uint16_t
vip_ref_of(const struct eqx_vip *v)
{
	uint64_t h = vip_hash(v);

	return (uint16_t)(h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48));
}

static uint64_t
backend_ref_of(const struct eqx_vip *v, const struct eqx_backend *b)
{
	uint64_t h = fnv64(vip_hash(v), &b->family, 1);

	h = fnv64(h, b->addr, 16);
	return h != 0 ? h : 1;
}

static void
refs_update(const struct eqx_state *st)
{
	struct ha_refs *r = ha.refs;
	uint32_t v, j;

	if (st->generation == r->generation)
		return;
	memset(r->map, 0, sizeof(r->map));
	for (v = 0; v < st->n_vips; v++) {
		const struct eqx_vip *vip = &st->vips[v];

		r->vip_ref[vip->id] = vip_ref_of(vip);
		for (j = 0; j < vip->n_backends; j++) {
			const struct eqx_backend *b = st->backend_by_id[vip->backends[j]];
			uint64_t ref = backend_ref_of(vip, b);
			uint32_t i = (uint32_t)ref & (REF_SLOTS - 1);

			r->by_id[b->id] = ref;
			while (r->map[i].id_plus1 != 0)
				i = (i + 1) & (REF_SLOTS - 1);
			r->map[i].ref = ref;
			r->map[i].id_plus1 = b->id + 1;
		}
	}
	r->generation = st->generation;
}

/* This box's backend id of a reference, or -1. */
static int64_t
ref_find(uint64_t ref)
{
	const struct ha_refs *r = ha.refs;
	uint32_t i = (uint32_t)ref & (REF_SLOTS - 1);

	while (r->map[i].id_plus1 != 0) {
		if (r->map[i].ref == ref)
			return (int64_t)r->map[i].id_plus1 - 1;
		i = (i + 1) & (REF_SLOTS - 1);
	}
	return -1;
}

/* A flow entry's VIP and backend in this box's ids; false when this box has no such pair. */
static bool
flow_resolve(const struct eqx_state *st, const struct flow_key *k, uint64_t bref,
	     const struct eqx_vip **vip, uint32_t *backend)
{
	const struct eqx_vip *v = eqx_state_vip(st, k->family, k->dst, k->proto, k->dport);
	int64_t id = ref_find(bref);

	if (v == NULL || id < 0 || st->backend_by_id[id] == NULL ||
	    st->backend_by_id[id]->vip != v->id)
		return false;
	*vip = v;
	*backend = (uint32_t)id;
	return true;
}

/* The same for a pin: a VIP with client affinity and this reference, and its backend. */
static bool
pin_resolve(const struct eqx_state *st, uint16_t vref, uint64_t bref, const struct eqx_vip **vip,
	    uint32_t *backend)
{
	uint32_t v, j;

	for (v = 0; v < st->n_vips; v++) {
		const struct eqx_vip *x = &st->vips[v];

		if (x->affinity != CFG_AFFINITY_CLIENT_IP || ha.refs->vip_ref[x->id] != vref)
			continue;
		for (j = 0; j < x->n_backends; j++) {
			/* A pin record carries the reference's low 32 bits: the VIP narrows it. */
			if ((uint32_t)ha.refs->by_id[x->backends[j]] == (uint32_t)bref) {
				*vip = x;
				*backend = x->backends[j];
				return true;
			}
		}
	}
	return false;
}

/* ---- installs: control -> every worker ---- */

/* Queue one install for every worker; false when it was dropped (the queue is at its bound). */
static bool
install_queue(const struct eqx_flow_event *ev)
{
	uint64_t n = ha.q_tail - ha.q_head, i;

	if (n > ha.q_mask) {
		uint64_t cap = (ha.q_mask + 1) * 2;
		struct eqx_flow_event *q;

		if (cap > INSTALL_QUEUE_MAX || (q = malloc(cap * sizeof(*q))) == NULL) {
			/* The refresh walk puts it in later: its holders stay unset. */
			ha.st.installs_dropped++;
			return false;
		}
		for (i = ha.q_head; i < ha.q_tail; i++)
			q[i & (cap - 1)] = ha.q[i & ha.q_mask];
		free(ha.q);
		ha.q = q;
		ha.q_mask = cap - 1;
	}
	ha.q[ha.q_tail & ha.q_mask] = *ev;
	ha.q_tail++;
	ha.st.installs_queued++;
	return true;
}

/* Move what the rings take now; true when every worker has been given everything. */
static bool
install_pump(struct eqx_app *app)
{
	uint64_t head = ha.q_tail;
	unsigned int w;

	for (w = 0; w < ha.n_workers; w++) {
		struct rte_ring *r = app->workers[w].ha_installs;
		uint64_t pos = ha.q_pos[w];

		while (pos < ha.q_tail) {
			uint64_t at = pos & ha.q_mask;
			unsigned int n = (unsigned int)RTE_MIN(ha.q_tail - pos, ha.q_mask + 1 - at);
			unsigned int sent;

			sent = rte_ring_sp_enqueue_burst_elem(r, &ha.q[at], sizeof(ha.q[0]), n,
							      NULL);
			pos += sent;
			if (sent < n)
				break;
		}
		ha.q_pos[w] = pos;
		head = RTE_MIN(head, pos);
	}
	ha.q_head = head;
	return head == ha.q_tail;
}

static bool
installs_applied(struct eqx_app *app)
{
	unsigned int w;

	if (!install_pump(app))
		return false;
	for (w = 0; w < ha.n_workers; w++)
		if (!rte_ring_empty(app->workers[w].ha_installs))
			return false;
	return true;
}

/* Put a store entry in every worker's table (or refresh it there). */
static void
ent_install(const struct eqx_state *st, struct ha_store_ent *e, uint32_t age_s, uint64_t now)
{
	struct eqx_flow_event ev = { .state = e->state, .age_s = age_s };
	const struct eqx_vip *vip;
	uint32_t backend;
	bool ok;

	if (e->kind == HA_STORE_FLOW) {
		ok = flow_resolve(st, &e->key, e->backend, &vip, &backend);
		ev.type = EQX_FEV_INSTALL;
		ev.key = e->key;
	} else {
		ok = pin_resolve(st, e->vip, e->backend, &vip, &backend);
		ev.type = EQX_FEV_PIN;
		ev.key.family = e->key.family;
		memcpy(ev.key.src, e->key.src, 16);
	}
	/* When the worker's copy was last seen: the refresh walk renews it before it expires. */
	e->stamp = now - RTE_MIN(now, (uint64_t)age_s * NS_PER_SEC);
	if (!ok) {
		ha.st.records_unresolved++;
		return;
	}
	ev.vip = vip->id;
	ev.backend = backend;
	if (install_queue(&ev))
		e->holders = ha.all_workers;
}

static void
ent_uninstall(const struct ha_store_ent *e)
{
	struct eqx_flow_event ev = { .type = EQX_FEV_REMOVE, .key = e->key };

	/* Pins age out in the workers on their own (their VIP's timeout). */
	if (e->kind == HA_STORE_FLOW)
		install_queue(&ev);
}

/* ---- the sync stream: records out ---- */

static void
rec_of(const struct ha_store_ent *e, uint8_t type, uint32_t age_ms, struct ha_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	if (e->kind == HA_STORE_FLOW) {
		r->u.flow.key = e->key;
		r->u.flow.vip = e->vip;
		r->u.flow.state = e->state;
		r->u.flow.backend = (uint32_t)e->backend;
		r->u.flow.age_ms = age_ms;
		/* The whole reference: the receiver finds its own backend id by it. */
		r->u.flow.user = e->backend;
	} else {
		r->type = HA_REC_AFFINITY;
		r->u.aff.family = e->key.family;
		memcpy(r->u.aff.addr, e->key.src, 16);
		r->u.aff.vip = e->vip;
		r->u.aff.backend = (uint32_t)e->backend;
		r->u.aff.age_ms = age_ms;
	}
}

static void
push(const struct ha_store_ent *e, uint8_t type)
{
	struct ha_rec r;

	rec_of(e, type, 0, &r);
	/* A full queue asks for a bulk sync by itself (ha_sync.h): counted, nothing else to do. */
	if (ha_node_push(ha.node, &r) == 0)
		ha.st.records_pushed++;
	else
		ha.st.records_refused++;
}

/* ---- the sync stream: records in ---- */

static void
lisp_chunk_rx(struct eqx_app *app, const struct ha_rec *r)
{
	const uint8_t *d = r->u.blob.data;
	uint32_t n = r->u.blob.len, total, off;
	uint64_t id;
	int rc;

	if (r->u.blob.tag != BLOB_LISP || n <= LISP_CHUNK_HDR)
		return;
	id = (uint64_t)net_get32(d) << 32 | net_get32(d + 4);
	total = net_get32(d + 8);
	off = net_get32(d + 12);
	n -= LISP_CHUNK_HDR;
	if (off == 0) {
		free(ha.lisp_rx);
		ha.lisp_rx = total <= LISP_STATE_MAX_BYTES ? malloc(total) : NULL;
		ha.lisp_rx_id = id;
		ha.lisp_rx_total = total;
		ha.lisp_rx_got = 0;
	}
	/* The stream is ordered: anything else is a snapshot we joined midway. */
	if (ha.lisp_rx == NULL || id != ha.lisp_rx_id || off != ha.lisp_rx_got ||
	    n > ha.lisp_rx_total - off)
		return;
	memcpy(ha.lisp_rx + off, d + LISP_CHUNK_HDR, n);
	ha.lisp_rx_got += n;
	if (ha.lisp_rx_got != ha.lisp_rx_total)
		return;
	rc = eqx_lisp_restore(app, ha.lisp_rx, ha.lisp_rx_total, 0);
	if (rc >= 0) {
		ha.st.lisp_restored++;
		ha.lisp_restored = true;
	} else {
		ha.st.lisp_restore_failed++;
	}
	free(ha.lisp_rx);
	ha.lisp_rx = NULL;
}

static void
sweep_one(void *arg, const struct ha_store_ent *e)
{
	RTE_SET_USED(arg);
	ent_uninstall(e);
	ha.st.swept++;
}

/* A record of the peer's stream, in order (ha_sync_deliver_fn). */
static void
deliver(void *arg, uint64_t seq, const struct ha_rec *r)
{
	struct eqx_app *app = arg;
	const struct eqx_state *st = app->state;
	uint64_t now = eqx_agent_now_ns(), bref;
	struct ha_store_ent *e;
	struct flow_key k;
	uint8_t kind, state;
	uint16_t vref;
	bool created;

	RTE_SET_USED(seq);
	ha.st.records_received++;
	refs_update(st);
	switch (r->type) {
	case HA_REC_BULK_START:
		/* Mark and sweep (ha_sync.h): what the bulk does not bring again goes. */
		ha_store_mark(ha.store, 1u << HA_STORE_FLOW | 1u << HA_STORE_AFFINITY);
		ha.bulk_rx_start_ns = now;
		ha.bulk_rx_records = 0;
		return;
	case HA_REC_BULK_END: {
		struct ha_sync_status ss;
		uint32_t cur = 0;

		ha_sync_status(ha_node_sync(ha.node), &ss);
		if (!ss.rx_synced)
			return;
		ha.st.bulks_received++;
		ha.last_bulk_records = ha.bulk_rx_records;
		ha.last_bulk_us = (now - ha.bulk_rx_start_ns) / 1000;
		/* A box that serves keeps what its own workers hold, bulk or not. */
		if (ha.serving)
			while ((e = ha_store_next(ha.store, &cur)) != NULL)
				if (e->holders != 0)
					e->marked = 0;
		ha_store_sweep(ha.store, sweep_one, NULL);
		return;
	}
	case HA_REC_BLOB:
		/*
		 * A box that serves keeps the registrations its own ETRs made: in a
		 * split brain the two would otherwise replace each other's table
		 * with their own, back and forth, and lose what either learned.
		 */
		if (!ha.serving)
			lisp_chunk_rx(app, r);
		return;
	case HA_REC_FLOW_ADD:
	case HA_REC_FLOW_DEL:
		kind = HA_STORE_FLOW;
		k = r->u.flow.key;
		vref = r->u.flow.vip;
		bref = r->u.flow.user;
		state = r->u.flow.state;
		break;
	case HA_REC_AFFINITY:
		kind = HA_STORE_AFFINITY;
		memset(&k, 0, sizeof(k));
		k.family = r->u.aff.family;
		memcpy(k.src, r->u.aff.addr, 16);
		k.dport = r->u.aff.vip;
		vref = r->u.aff.vip;
		bref = r->u.aff.backend;
		state = 0;
		break;
	default:
		return;
	}
	if (r->flags & HA_REC_F_BULK)
		ha.bulk_rx_records++;

	if (r->type == HA_REC_FLOW_DEL) {
		e = ha_store_find(ha.store, kind, &k);
		if (e == NULL)
			return;
		/* Ours while we serve: our workers say when it ends. */
		if (ha.serving && e->holders != 0) {
			ha.st.records_kept_ours++;
			return;
		}
		ent_uninstall(e);
		ha_store_del(ha.store, e);
		return;
	}
	if (kind == HA_STORE_AFFINITY) {
		const struct eqx_vip *v;
		uint32_t b;

		/* Pins carry 32 bits of the reference: make it whole again from ours. */
		if (!pin_resolve(st, vref, bref, &v, &b)) {
			ha.st.records_unresolved++;
			return;
		}
		bref = ha.refs->by_id[b];
	}
	e = ha_store_put(ha.store, kind, &k, &created);
	if (e == NULL) {
		ha.st.store_full++;
		return;
	}
	if (!created && ha.serving && e->holders != 0 &&
	    (e->backend != bref || e->state != state || e->vip != vref)) {
		/* Two boxes served this flow (a split brain): ours stands, and the peer learns it.
		 */
		ha.st.records_kept_ours++;
		e->marked = 0;
		push(e, kind == HA_STORE_FLOW ? HA_REC_FLOW_ADD : HA_REC_AFFINITY);
		return;
	}
	ha_store_set(ha.store, e, vref, bref, state);
	ent_install(st, e, (kind == HA_STORE_FLOW ? r->u.flow.age_ms : r->u.aff.age_ms) / 1000,
		    now);
}

/* ---- worker events ---- */

static void
flow_event(const struct eqx_flow_event *ev, unsigned int w, uint64_t now)
{
	const struct ha_refs *r = ha.refs;
	uint64_t bit = 1ULL << w, bref;
	struct ha_store_ent *e;
	bool created;
	uint16_t vref;

	ha.st.flow_events++;
	if (ev->type == EQX_FEV_ENDED) {
		e = ha_store_find(ha.store, HA_STORE_FLOW, &ev->key);
		if (e == NULL)
			return;
		e->holders &= ~bit;
		/*
		 * The last worker let it go. A box that serves is the truth: the
		 * flow ended. A standby's copy follows the active's word instead
		 * (its refresh walk puts it back).
		 */
		if (e->holders == 0 && ha.serving) {
			push(e, HA_REC_FLOW_DEL);
			ha_store_del(ha.store, e);
		}
		return;
	}
	if (ev->backend >= EQX_MAX_BACKEND_IDS || ev->vip >= EQX_MAX_VIP_IDS)
		return;
	vref = r->vip_ref[ev->vip];
	bref = r->by_id[ev->backend];
	e = ha_store_put(ha.store, HA_STORE_FLOW, &ev->key, &created);
	if (e == NULL) {
		ha.st.store_full++;
		return;
	}
	e->holders |= bit;
	e->stamp = now;
	if (!created && e->vip == vref && e->backend == bref && e->state == ev->state) {
		e->marked = 0;
		return;
	}
	ha_store_set(ha.store, e, vref, bref, ev->state);
	push(e, HA_REC_FLOW_ADD);
}

static void
drain_events(struct eqx_app *app, uint64_t now)
{
	struct eqx_flow_event ev[64];
	unsigned int w, i, n, total;

	for (w = 0; w < ha.n_workers; w++) {
		for (total = 0; total < EVENTS_PER_POLL; total += n) {
			n = rte_ring_sc_dequeue_burst_elem(app->workers[w].ha_events, ev,
							   sizeof(ev[0]), RTE_DIM(ev), NULL);
			if (n == 0)
				break;
			for (i = 0; i < n; i++)
				flow_event(&ev[i], w, now);
		}
	}
}

void
eqx_ha_pin(struct eqx_app *app, const struct eqx_event *ev)
{
	struct ha_store_ent *e;
	struct flow_key k;
	uint64_t bref;
	uint16_t vref;
	bool created;

	if (!ha.running || ev->backend >= EQX_MAX_BACKEND_IDS || ev->vip >= EQX_MAX_VIP_IDS)
		return;
	refs_update(app->state);
	ha.st.pin_events++;
	vref = ha.refs->vip_ref[ev->vip];
	bref = ha.refs->by_id[ev->backend];
	memset(&k, 0, sizeof(k));
	k.family = ev->family;
	memcpy(k.src, ev->client, 16);
	k.dport = vref;
	e = ha_store_put(ha.store, HA_STORE_AFFINITY, &k, &created);
	if (e == NULL) {
		ha.st.store_full++;
		return;
	}
	e->stamp = eqx_agent_now_ns();
	/* The worker that pinned holds it, and the fan-out gives it to the others. */
	e->holders = ha.all_workers;
	if (!created && e->backend == bref && e->vip == vref)
		return;
	ha_store_set(ha.store, e, vref, bref, 0);
	push(e, HA_REC_AFFINITY);
}

/* ---- announcing: gratuitous ARP, unsolicited NA ---- */

static void
announce_addr(struct eqx_app *app, uint16_t p, uint8_t family, const uint8_t *addr)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	const uint8_t *mac = app->ports[p].mac.addr_bytes;
	struct rte_mbuf *m = NULL;
	uint8_t *d = eqx_control_buf(app, &m);
	uint32_t len;

	if (d == NULL)
		return;
	if (family == 4) {
		/* RFC 5227's ARP announcement: a request whose sender and target are the address.
		 */
		len = net_arp_build(d, NET_ARP_REQUEST, bcast, mac, addr, zero, addr);
		ha.st.garp_sent++;
	} else {
		/* RFC 4861 7.2.6: unsolicited, override set, to all nodes. */
		len = net_nd_build_na(d, all_nodes_mac, mac, addr, all_nodes, addr, 0x20);
		ha.st.na_sent++;
	}
	eqx_control_send_buf(app, m, p, len);
}

/* One round: every VIP on every port, every port address on its port. */
static void
announce_round(struct eqx_app *app)
{
	const struct eqx_state *st = app->state;
	uint32_t i;

	for (i = 0; i < st->n_locals; i++) {
		const struct eqx_local *l = &st->locals[i];
		uint16_t p;

		if (!l->is_vip) {
			announce_addr(app, l->port, l->family, l->addr);
			continue;
		}
		for (p = 0; p < app->n_ports; p++)
			announce_addr(app, p, l->family, l->addr);
	}
}

static void
announce_timer(struct eqx_app *app, uint64_t now)
{
	if (ha.announce_left == 0 || now < ha.announce_next_ns)
		return;
	announce_round(app);
	ha.announce_left--;
	ha.announce_next_ns = now + ANNOUNCE_GAP_MS * NS_PER_MS;
}

/* ---- actions ---- */

static const char *
mode_name(uint8_t m)
{
	return m == EQX_HA_SERVE ? "serve" : m == EQX_HA_FORWARD ? "forward" : "drop";
}

static void
mode_update(struct eqx_app *app)
{
	uint8_t mode = ha.serving                           ? EQX_HA_SERVE
		       : ha.forwarding && ha.peer_mac_known ? EQX_HA_FORWARD
							    : EQX_HA_DROP;

	if (mode == app->ha_mode)
		return;
	__atomic_store_n(&app->ha_mode, mode, __ATOMIC_RELEASE);
	HA_LOG(INFO, "VIP traffic: %s", mode_name(mode));
}

static void bulk_feed(void);

/* Every flow some worker lacks (its copy aged out or was evicted), installed again. */
static void
install_missing(struct eqx_app *app, uint64_t now)
{
	struct ha_store_ent *e;
	uint32_t cur = 0;

	while ((e = ha_store_next(ha.store, &cur)) != NULL) {
		if (e->kind != HA_STORE_FLOW || e->holders == ha.all_workers)
			continue;
		ent_install(app->state, e, 0, now);
		ha.st.refreshes++;
	}
}

static void
apply(struct eqx_app *app, uint64_t now)
{
	struct ha_actions *a = &ha.acts;
	unsigned int i;

	for (i = 0; i < a->n; i++) {
		const struct ha_action *x = &a->a[i];

		switch (x->type) {
		case HA_ACT_INSTALL_STATE:
			/*
			 * Synced entries went to the workers as they came: put back what
			 * a worker let go of meanwhile, then wait for the rings.
			 */
			install_missing(app, now);
			ha.installing = true;
			ha.install_ns = now;
			break;
		case HA_ACT_ANNOUNCE:
			ha.st.announces++;
			ha.announce_left = x->arg != 0 ? x->arg : 1;
			ha.announce_next_ns = now;
			announce_timer(app, now);
			break;
		case HA_ACT_SERVE:
			ha.serving = true;
			/* The LISP map-server answers from the mirrored registrations: tell the
			 * ETRs. */
			if (ha.lisp_restored) {
				eqx_lisp_notify_restored(app);
				ha.lisp_restored = false;
			}
			break;
		case HA_ACT_STOP_SERVING:
			ha.serving = false;
			ha.installing = false;
			break;
		case HA_ACT_FORWARD_ON:
			ha.forwarding = true;
			break;
		case HA_ACT_FORWARD_OFF:
			ha.forwarding = false;
			break;
		case HA_ACT_START_BULK_SYNC:
			ha.bulk_wanted = true;
			ha.bulk_running = false;
			bulk_feed();
			break;
		default: /* heartbeats and the handoff leave through ha_node_tx */
			break;
		}
	}
	a->n = 0;
	/* One store for the whole list: the workers never see a mode in between. */
	mode_update(app);
}

/* ---- the bulk sync we send ---- */

static void
bulk_feed(void)
{
	struct ha_store_ent *e;
	unsigned int n;
	struct ha_rec r;
	int rc;

	if (ha.bulk_wanted) {
		rc = ha_node_bulk_begin(ha.node, ha_store_count(ha.store, 0));
		if (rc < 0)
			return; /* the queue is full now: next poll */
		ha.bulk_wanted = false;
		ha.bulk_running = true;
		ha.bulk_id = (uint32_t)rc;
		ha.bulk_cursor = 0;
		ha.st.bulks_sent++;
		/* The registrations ride the stream after the bulk's records. */
		ha.lisp_sent_gen = 0;
	}
	for (n = 0; ha.bulk_running && n < BULK_PER_POLL; n++) {
		uint32_t at = ha.bulk_cursor;

		e = ha_store_next(ha.store, &ha.bulk_cursor);
		if (e == NULL) {
			rc = ha_node_bulk_end(ha.node, ha.bulk_id);
			if (rc == -ENOBUFS) {
				ha.bulk_cursor = at;
				return;
			}
			ha.bulk_running = false;
			return;
		}
		rec_of(e, e->kind == HA_STORE_FLOW ? HA_REC_FLOW_ADD : HA_REC_AFFINITY, 0, &r);
		rc = ha_node_bulk_add(ha.node, ha.bulk_id, &r);
		if (rc == -EAGAIN) {
			ha.bulk_cursor = at;
			return;
		}
		if (rc == -ESTALE) {
			/* Overtaken (an overflow, a newer bulk): the peer asks again. */
			ha.bulk_running = false;
			return;
		}
		if (rc == 0)
			ha.st.bulk_records++;
	}
}

/* ---- LISP registrations: a snapshot whenever they change ---- */

static void
lisp_feed(uint64_t now)
{
	uint8_t *buf = NULL, chunk[HA_WIRE_BLOB_MAX];
	uint64_t gen;
	size_t len = 0, off;
	struct ha_rec r;

	if (now < ha.lisp_next_ns)
		return;
	ha.lisp_next_ns = now + LISP_CHECK_MS * NS_PER_MS;
	gen = eqx_lisp_generation();
	if (!ha.serving || gen == 0 || gen == ha.lisp_sent_gen)
		return;
	if (eqx_lisp_snapshot(&buf, &len) < 0)
		return;
	ha.lisp_sent_gen = gen;
	ha.st.lisp_snapshots_sent++;
	for (off = 0; off < len || off == 0; off += LISP_CHUNK_MAX) {
		uint32_t n = (uint32_t)RTE_MIN(len - off, (size_t)LISP_CHUNK_MAX);

		net_put32(chunk, (uint32_t)(gen >> 32));
		net_put32(chunk + 4, (uint32_t)gen);
		net_put32(chunk + 8, (uint32_t)len);
		net_put32(chunk + 12, (uint32_t)off);
		memcpy(chunk + LISP_CHUNK_HDR, buf + off, n);
		memset(&r, 0, sizeof(r));
		r.type = HA_REC_BLOB;
		r.u.blob.tag = BLOB_LISP;
		r.u.blob.len = (uint16_t)(LISP_CHUNK_HDR + n);
		r.u.blob.data = chunk;
		if (ha_node_push(ha.node, &r) != 0) {
			/* Overflowed: a bulk sync follows, and the snapshot again after it. */
			ha.st.records_refused++;
			break;
		}
		ha.st.records_pushed++;
		if (len == 0)
			break;
	}
	free(buf);
}

/* ---- a standby's refresh walk, pins' ageing ---- */

static uint32_t
timeout_s(const struct cfg *cfg, uint8_t state)
{
	switch (state) {
	case FLOW_STATE_SYN:
		return cfg->dataplane.timeouts.tcp_syn_s;
	case FLOW_STATE_EST:
		return cfg->dataplane.timeouts.tcp_established_s;
	case FLOW_STATE_CLOSING:
		return cfg->dataplane.timeouts.tcp_closing_s;
	default:
		return cfg->dataplane.timeouts.udp_s;
	}
}

static void
refresh_walk(struct eqx_app *app, uint64_t now)
{
	const struct eqx_state *st = app->state;
	unsigned int n;

	if (now < ha.refresh_next_ns)
		return;
	ha.refresh_next_ns = now + NS_PER_MS;
	for (n = 0; n < REFRESH_PER_MS; n++) {
		struct ha_store_ent *e = ha_store_next(ha.store, &ha.refresh_cursor);

		if (e == NULL) {
			ha.refresh_cursor = 0;
			return;
		}
		if (e->kind == HA_STORE_AFFINITY) {
			const struct eqx_vip *v;
			uint32_t b;

			/* Both boxes age pins alike: their VIP's timeout after the last pin. */
			if (pin_resolve(st, e->vip, e->backend, &v, &b) &&
			    now - e->stamp < (uint64_t)v->affinity_timeout * NS_PER_SEC)
				continue;
			ha_store_del(ha.store, e);
			ha.st.pins_expired++;
			continue;
		}
		/*
		 * Only a standby's copies need it: the active's packets keep its
		 * entries alive, and its own copies end through the workers. An
		 * entry no worker of a serving box holds (its install found no
		 * such backend any more) ends here.
		 */
		if (ha.serving) {
			if (e->holders == 0) {
				push(e, HA_REC_FLOW_DEL);
				ha_store_del(ha.store, e);
			}
			continue;
		}
		if (e->holders == ha.all_workers &&
		    now - e->stamp < (uint64_t)timeout_s(st->cfg, e->state) * NS_PER_SEC / 2)
			continue;
		ent_install(st, e, 0, now);
		ha.st.refreshes++;
	}
}

/* ---- the link of every port ---- */

static bool
port_up(struct eqx_app *app, unsigned int p)
{
	struct rte_eth_link link;
	struct ifreq ifr;

	if (rte_eth_link_get_nowait(app->ports[p].port_id, &link) == 0 &&
	    link.link_status == RTE_ETH_LINK_DOWN)
		return false;
	/* net_af_packet says "up" from start to stop: ask the kernel about its interface. */
	if (ha.ifname[p][0] == '\0' || ha.ifd < 0)
		return true;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ha.ifname[p], IF_NAMESIZE);
	if (ioctl(ha.ifd, SIOCGIFFLAGS, &ifr) != 0)
		return true;
	return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}

static void
link_check(struct eqx_app *app, uint64_t now)
{
	bool up = true;
	unsigned int p;

	if (now < ha.next_link_ns)
		return;
	ha.next_link_ns = now + LINK_CHECK_MS * NS_PER_MS;
	for (p = 0; p < app->n_ports && up; p++)
		up = port_up(app, p);
	if (up == ha.link_up)
		return;
	ha.link_up = up;
	ha.st.link_changes++;
	HA_LOG(NOTICE, "link of %s %s", up ? "every port" : app->ports[p - 1].name,
	       up ? "up" : "down");
	ha_node_link(ha.node, now, up, &ha.acts);
}

/* ---- the wire ---- */

static void
tx_drain(struct eqx_app *app, uint64_t now)
{
	uint8_t buf[HA_WIRE_MAX];
	unsigned int n;
	int len, rc;

	for (n = 0; n < TX_PER_POLL; n++) {
		/* A sealed datagram that finds worker 0's ring full is lost: keep room. */
		if (rte_ring_free_count(app->workers[0].from_ctrl) < TX_RING_KEEP) {
			ha.st.tx_deferred++;
			return;
		}
		len = ha_node_tx(ha.node, now, buf, sizeof(buf));
		if (len <= 0)
			return;
		rc = eqx_udp_send(app, &ha.peer, ha.sync_port, ha.sync_port, buf, (uint32_t)len);
		if (rc == 0)
			ha.st.tx_datagrams++;
		else if (rc == -EAGAIN)
			ha.st.tx_unresolved++; /* heartbeats repeat, the stream resends */
		else
			ha.st.tx_failed++;
	}
}

static void
on_datagram(struct eqx_app *app, const struct eqx_udp_dgram *d, void *arg)
{
	uint64_t now = eqx_agent_now_ns();

	RTE_SET_USED(arg);
	if (d->port != ha.ha_port) {
		ha.st.rx_wrong_port++;
		return;
	}
	if (d->family != ha.peer.family ||
	    memcmp(d->src, ha.peer.bytes, d->family == 4 ? 4 : 16) != 0) {
		ha.st.rx_not_from_peer++;
		return;
	}
	ha.st.rx_datagrams++;
	if (ha_node_rx(ha.node, now, d->data, d->len, &ha.acts) == HA_WIRE_OK &&
	    (!ha.peer_mac_known || memcmp(ha.peer_mac, d->src_mac, 6) != 0)) {
		/* Only an authenticated datagram says where the peer is. */
		uint64_t mac = 0;

		memcpy(ha.peer_mac, d->src_mac, 6);
		memcpy(&mac, d->src_mac, 6);
		__atomic_store_n(&app->ha_fwd_mac, mac, __ATOMIC_RELEASE);
		ha.peer_mac_known = true;
	}
	apply(app, now);
}

/* Log every transition the state machine recorded since the last call. */
static void
log_transitions(void)
{
	const struct ha_fsm *f = ha_node_fsm(ha.node);

	if (f->n_history - ha.logged > HA_FSM_HISTORY)
		ha.logged = f->n_history - HA_FSM_HISTORY;
	for (; ha.logged < f->n_history; ha.logged++) {
		const struct ha_transition *t = &f->history[ha.logged % HA_FSM_HISTORY];

		HA_LOG(NOTICE, "%s -> %s (%s): %s", ha_state_name(t->from), ha_state_name(t->to),
		       ha_reason_name(t->reason), t->detail);
	}
}

/* ---- the agent ---- */

static bool
enabled(const struct cfg *cfg)
{
	return cfg->ha.enabled;
}

/* The interface behind an af_packet port ("...,iface=NAME,..."), for the link check. */
static void
port_ifname(const char *device, char *out)
{
	if (strncmp(device, "net_af_packet", 13) != 0 || !eqx_device_ifname(device, out))
		out[0] = '\0';
}

static int
rings_create(struct eqx_app *app)
{
	unsigned int w;

	for (w = 0; w < app->n_workers; w++) {
		struct eqx_worker *wk = &app->workers[w];

		wk->ha_events = eqx_agent_worker_ring(wk, "haev", sizeof(struct eqx_flow_event),
						      HA_RING_SIZE);
		wk->ha_installs = eqx_agent_worker_ring(wk, "hains", sizeof(struct eqx_flow_event),
							HA_RING_SIZE);
		if (wk->ha_events == NULL || wk->ha_installs == NULL)
			return -ENOMEM;
	}
	return 0;
}

static int
start(struct eqx_app *app)
{
	const struct cfg *cfg = app->cfg;
	struct ha_node_conf c;
	struct cfg_addr nh;
	unsigned int p, route_port;
	uint64_t now = eqx_agent_now_ns(), cap;
	char peer[64];
	int idx, rc;

	idx = cfg_port_index(cfg, cfg->ha.port);
	if (idx < 0) {
		HA_LOG(ERR, "ha.port %s: no such port", cfg->ha.port);
		return -EINVAL;
	}
	cfg_addr_str(&cfg->ha.peer, peer, sizeof(peer));
	if (eqx_route_lookup(cfg, &cfg->ha.peer, &route_port, &nh) != 0 ||
	    route_port != (unsigned int)idx) {
		HA_LOG(ERR, "ha.peer %s is not reached through ha.port %s", peer, cfg->ha.port);
		return -EINVAL;
	}
	if (cfg->ha.key_len != HA_WIRE_KEY_LEN) {
		HA_LOG(ERR, "ha.key: %u bytes, HA needs %u", cfg->ha.key_len, HA_WIRE_KEY_LEN);
		return -EINVAL;
	}
	if (cfg->instance.id == 0 || cfg->instance.id > 65535) {
		HA_LOG(ERR, "instance.id %u: HA needs 1..65535", cfg->instance.id);
		return -EINVAL;
	}

	ha.peer = cfg->ha.peer;
	ha.ha_port = (uint16_t)idx;
	ha.sync_port = cfg->ha.sync_port;
	ha.id = (uint16_t)cfg->instance.id;
	ha.priority = cfg->ha.priority;
	ha.heartbeat_ms = cfg->ha.heartbeat_ms;
	ha.dead_count = cfg->ha.dead_count;
	ha.n_workers = app->n_workers;
	ha.all_workers = app->n_workers >= 64 ? ~0ULL : (1ULL << app->n_workers) - 1;
	ha.link_up = true;
	for (p = 0; p < app->n_ports; p++)
		port_ifname(cfg->ports[p].device, ha.ifname[p]);
	ha.ifd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ha.refs = calloc(1, sizeof(*ha.refs));
	/* Every flow of every worker of the peer, and its pins. */
	cap = (uint64_t)app->n_workers * cfg->dataplane.flow_table_size * 5 / 4 + 1024;
	ha.store = ha_store_create((uint32_t)RTE_MIN(cap, (uint64_t)1 << 30));
	ha.q_mask = (1u << 16) - 1;
	ha.q = malloc((ha.q_mask + 1) * sizeof(*ha.q));
	if (ha.refs == NULL || ha.store == NULL || ha.q == NULL)
		return -ENOMEM;
	rc = rings_create(app);
	if (rc != 0)
		return rc;

	ha_node_conf_defaults(&c);
	c.fsm.id = ha.id;
	c.fsm.priority = cfg->ha.priority;
	c.fsm.preempt = cfg->ha.preempt;
	c.fsm.heartbeat_ms = cfg->ha.heartbeat_ms;
	c.fsm.dead_count = cfg->ha.dead_count;
	c.fsm.preempt_delay_ms = cfg->ha.preempt_delay_ms;
	/*
	 * A deeper stream than lib/ha's defaults: the control lcore sleeps up to a
	 * millisecond when idle, so a round trip costs one or two of them, and a
	 * million flows in 2 s need more than 4096 records a round trip.
	 */
	c.sync.queue_records = 65536;
	c.sync.window = 16384;
	c.sync.bulk_reserve = 8192;
	memcpy(c.key, cfg->ha.key, HA_WIRE_KEY_LEN);
	/* New at every start, never 0: the peer tells our restart from a replay by it. */
	do
		c.epoch = rte_rand() ^ rte_rdtsc();
	while (c.epoch == 0);
	ha.node = ha_node_create(&c, now, &ha.acts);
	memset(c.key, 0, sizeof(c.key));
	if (ha.node == NULL)
		return -errno;
	ha_node_set_deliver(ha.node, deliver, app);

	rc = eqx_udp_register(ha.sync_port, on_datagram, NULL);
	if (rc != 0) {
		HA_LOG(ERR, "ha.sync_port %u: %s", ha.sync_port, strerror(-rc));
		return rc;
	}
	/* Until the role is decided, the VIPs are not ours: no answer, no forwarding. */
	app->ha_fwd_port = ha.ha_port;
	app->ha_mode = EQX_HA_DROP;
	refs_update(app->state);
	ha.running = true;
	HA_LOG(NOTICE,
	       "instance %u priority %u%s, peer %s on port %s (UDP %u), heartbeat %u ms, "
	       "dead after %u",
	       ha.id, ha.priority, cfg->ha.preempt ? " preempt" : "", peer, cfg->ha.port,
	       ha.sync_port, ha.heartbeat_ms, ha.dead_count);
	apply(app, now);
	return 0;
}

static void
ha_poll(struct eqx_app *app, uint64_t now_tsc)
{
	uint64_t now = eqx_agent_tsc_ns(now_tsc);

	refs_update(app->state);
	link_check(app, now);
	drain_events(app, now);
	ha_node_tick(ha.node, now, &ha.acts);
	apply(app, now);
	if (ha.bulk_wanted || ha.bulk_running)
		bulk_feed();
	lisp_feed(now);
	if (ha.installing) {
		if (installs_applied(app)) {
			ha.installing = false;
			HA_LOG(INFO, "synced state installed in %" PRIu64 " us",
			       (now - ha.install_ns) / 1000);
			ha_node_install_done(ha.node, now, &ha.acts);
			apply(app, now);
		}
	} else {
		install_pump(app);
	}
	announce_timer(app, now);
	refresh_walk(app, now);
	tx_drain(app, now);
	log_transitions();
}

static void
reload(struct eqx_app *app)
{
	/* The role's settings are read at start; the VIPs and backends follow the generation. */
	refs_update(app->state);
	if (app->cfg->ha.priority != ha.priority || app->cfg->ha.heartbeat_ms != ha.heartbeat_ms ||
	    app->cfg->ha.dead_count != ha.dead_count)
		HA_LOG(WARNING, "ha priority, heartbeat_ms and dead_count take effect at restart");
}

static void
stop(struct eqx_app *app)
{
	uint64_t now = eqx_agent_now_ns();

	/* FAULT for good and a priority-0 heartbeat: the peer takes over without waiting. */
	ha_node_shutdown(ha.node, now, &ha.acts);
	apply(app, now);
	tx_drain(app, now);
	log_transitions();
	app->ha_mode = EQX_HA_DROP;
	ha.running = false;
	if (ha.ifd >= 0)
		close(ha.ifd);
	ha.ifd = -1;
}

/* ---- telemetry and equinoxctl ha ---- */

static json_t *
counters_json(void)
{
	const struct ha_wire_rx *wrx = ha_node_wire_rx(ha.node);
	const struct ha_sync_stats *ss = ha_sync_stats(ha_node_sync(ha.node));
	const struct ha_node_stats *ns = ha_node_stats(ha.node);
	const struct ha_fsm *f = ha_node_fsm(ha.node);
	json_t *o = json_object(), *drops = json_object(), *reasons = json_object();
	json_t *sync = json_object(), *rx = json_object(), *tx = json_object();
	unsigned int i;

#define _(n) json_object_set_new(o, #n, json_integer((json_int_t)ha.st.n));
	foreach_ha_agent_counter
#undef _
		for (i = 1; i < HA_WIRE_ERR_MAX; i++) json_object_set_new(
			drops, ha_wire_err_name((int)i), json_integer((json_int_t)wrx->drops[i]));
	json_object_set_new(o, "accepted", json_integer((json_int_t)wrx->drops[0]));
	json_object_set_new(o, "wire_drops", drops);
	json_object_set_new(o, "peer_restarts", json_integer((json_int_t)wrx->new_epochs));
	for (i = 1; i < HA_REASON_MAX; i++)
		if (f->stats.reasons[i] != 0)
			json_object_set_new(reasons, ha_reason_name((int)i),
					    json_integer((json_int_t)f->stats.reasons[i]));
	json_object_set_new(o, "reasons", reasons);
	json_object_set_new(o, "transitions", json_integer((json_int_t)f->stats.transitions));
	json_object_set_new(o, "split_brains", json_integer((json_int_t)f->stats.split_brains));
#define S(n) json_object_set_new(sync, #n, json_integer((json_int_t)ss->n))
	S(pushed);
	S(overflows);
	S(sent);
	S(resent);
	S(data_datagrams);
	S(ack_datagrams);
	S(nacked);
	S(rto_expiries);
	S(bulks_started);
	S(bulks_done);
	S(delivered);
	S(rx_duplicates);
	S(rx_pool_drops);
	S(rx_lost);
	S(rx_resyncs);
	S(rx_bulks_done);
	S(nacks_sent);
	S(malformed);
#undef S
	json_object_set_new(o, "sync", sync);
	for (i = HA_MSG_HEARTBEAT; i <= HA_MSG_HANDOFF; i++) {
		json_object_set_new(rx, ha_msg_name((uint8_t)i),
				    json_integer((json_int_t)ns->rx[i]));
		json_object_set_new(tx, ha_msg_name((uint8_t)i),
				    json_integer((json_int_t)ns->tx[i]));
	}
	json_object_set_new(o, "rx", rx);
	json_object_set_new(o, "tx", tx);
	return o;
}

static json_t *
transition_json(const struct ha_transition *t, uint64_t now)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I}", "from", ha_state_name(t->from), "to",
			 ha_state_name(t->to), "reason", ha_reason_name(t->reason), "detail",
			 t->detail, "ago_ms", (json_int_t)((now - t->at_ns) / NS_PER_MS));
}

static json_t *
agent_json(struct eqx_app *app)
{
	const struct ha_fsm *f = ha_node_fsm(ha.node);
	const struct ha_transition *last = ha_fsm_last(f);
	struct ha_sync_status ss;
	uint64_t now = eqx_agent_now_ns();
	json_t *o, *peer, *sync, *hist = json_array();
	char addr[64], digest[24], mac[24];
	unsigned int i, first;

	ha_sync_status(ha_node_sync(ha.node), &ss);
	cfg_addr_str(&ha.peer, addr, sizeof(addr));
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", ha.peer_mac[0], ha.peer_mac[1],
		 ha.peer_mac[2], ha.peer_mac[3], ha.peer_mac[4], ha.peer_mac[5]);
	peer = json_pack("{s:s, s:b, s:b}", "address", addr, "alive", ha_fsm_peer_alive(f, now),
			 "known", f->peer_known);
	if (f->peer_known) {
		json_object_set_new(peer, "id", json_integer(f->peer.id));
		json_object_set_new(peer, "state", json_string(ha_state_name(f->peer.state)));
		json_object_set_new(peer, "priority", json_integer(f->peer.priority));
		json_object_set_new(peer, "synced", json_boolean(f->peer.synced));
		json_object_set_new(
			peer, "last_heard_ms",
			json_integer((json_int_t)((now - f->peer_last_ns) / NS_PER_MS)));
	}
	if (ha.peer_mac_known)
		json_object_set_new(peer, "mac", json_string(mac));
	sync = json_pack("{s:I, s:I, s:s, s:b, s:s, s:I, s:I, s:b, s:s, s:I, s:b, s:I}", "backlog",
			 (json_int_t)ss.queued, "in_flight", (json_int_t)ss.in_flight, "bulk_state",
			 ss.bulk_state == HA_BULK_RUNNING ? "running"
			 : ss.bulk_state == HA_BULK_ENDED ? "ended"
							  : "idle",
			 "tx_synced", ss.tx_synced, "peer_rx_state",
			 ha_rx_state_name(ss.peer_rx_state), "bulk_added",
			 (json_int_t)ss.bulk_added, "bulk_expected", (json_int_t)ss.bulk_expected,
			 "rx_synced", ss.rx_synced, "rx_state", ha_rx_state_name(ss.rx_state),
			 "rx_backlog", (json_int_t)ss.rx_backlog, "bulk_wanted", ss.bulk_wanted,
			 "rto_ms", (json_int_t)ss.rto_ms);
	snprintf(digest, sizeof(digest), "%016" PRIx64, ha_store_digest(ha.store));
	first = f->n_history > HA_FSM_HISTORY ? f->n_history - HA_FSM_HISTORY : 0;
	for (i = first; i < f->n_history; i++)
		json_array_append_new(hist, transition_json(&f->history[i % HA_FSM_HISTORY], now));
	o = json_pack("{s:b, s:I, s:s, s:b, s:b, s:s, s:I, s:b, s:I, s:I, s:b}", "enabled", true,
		      "instance", (json_int_t)ha.id, "role", ha_state_name(f->state), "serving",
		      ha.serving, "forwarding", ha.forwarding, "vip_traffic",
		      mode_name(app->ha_mode), "priority", (json_int_t)ha.priority, "preempt",
		      f->conf.preempt && !f->yielded, "heartbeat_ms", (json_int_t)ha.heartbeat_ms,
		      "dead_count", (json_int_t)ha.dead_count, "link_up", ha.link_up);
	json_object_set_new(o, "peer", peer);
	json_object_set_new(o, "last_transition",
			    last != NULL ? transition_json(last, now) : json_null());
	json_object_set_new(o, "history", hist);
	json_object_set_new(o, "sync", sync);
	json_object_set_new(
		o, "state",
		json_pack("{s:I, s:I, s:s, s:I, s:b}", "flows",
			  (json_int_t)ha_store_count(ha.store, HA_STORE_FLOW), "affinity",
			  (json_int_t)ha_store_count(ha.store, HA_STORE_AFFINITY), "digest", digest,
			  "installs_waiting", (json_int_t)(ha.q_tail - ha.q_head), "installing",
			  ha.installing));
	json_object_set_new(o, "last_bulk_received",
			    json_pack("{s:I, s:I}", "records", (json_int_t)ha.last_bulk_records,
				      "us", (json_int_t)ha.last_bulk_us));
	json_object_set_new(o, "counters", counters_json());
	return o;
}

/*
 * The synced flows against today's Maglev tables: how many sit on a backend
 * Maglev would not pick for them now. Those connections survive a takeover
 * only because their entry was synced.
 */
static json_t *
flows_json(struct eqx_app *app)
{
	const struct eqx_state *st = app->state;
	uint32_t cur = 0, off = 0, unresolved = 0;
	struct ha_store_ent *e;
	char digest[24];

	refs_update(st);
	while ((e = ha_store_next(ha.store, &cur)) != NULL) {
		const struct eqx_vip *v;
		uint32_t b, slot;

		if (e->kind != HA_STORE_FLOW)
			continue;
		if (!flow_resolve(st, &e->key, e->backend, &v, &b)) {
			unresolved++;
			continue;
		}
		if (v->affinity == CFG_AFFINITY_CLIENT_IP)
			continue;
		slot = maglev_lookup(v->maglev->slots, v->maglev->size, flow_hash(&e->key));
		if (slot != b)
			off++;
	}
	snprintf(digest, sizeof(digest), "%016" PRIx64, ha_store_digest(ha.store));
	return json_pack("{s:I, s:I, s:I, s:I, s:s}", "flows",
			 (json_int_t)ha_store_count(ha.store, HA_STORE_FLOW), "affinity",
			 (json_int_t)ha_store_count(ha.store, HA_STORE_AFFINITY), "off_maglev",
			 (json_int_t)off, "unresolved", (json_int_t)unresolved, "digest", digest);
}

static json_t *
ctl(struct eqx_app *app, json_t *args, const char **err)
{
	const char *cmd = json_string_value(json_array_get(args, 0));
	uint64_t now = eqx_agent_now_ns();
	int rc;

	if (cmd == NULL) {
		*err = "usage: ha [switchover|flows]";
		return NULL;
	}
	if (strcmp(cmd, "flows") == 0)
		return flows_json(app);
	if (strcmp(cmd, "switchover") != 0) {
		*err = "usage: ha [switchover|flows]";
		return NULL;
	}
	rc = ha_node_switchover(ha.node, now, &ha.acts);
	apply(app, now);
	tx_drain(app, now);
	log_transitions();
	switch (rc) {
	case 0:
		ha.st.switchovers++;
		return json_pack("{s:s}", "switchover", "started");
	case -EINVAL:
		*err = "this box is not active";
		return NULL;
	case -ENOTCONN:
		*err = "the peer is not a live standby";
		return NULL;
	case -EALREADY:
		*err = "a switchover is under way";
		return NULL;
	default:
		*err = "switchover refused";
		return NULL;
	}
}

const struct eqx_agent eqx_ha_agent = {
	.name = "ha",
	.help = "the HA pair: role, peer, sync, state, counters. No parameters",
	.enabled = enabled,
	.start = start,
	.poll = ha_poll,
	.reload = reload,
	.json = agent_json,
	.ctl = ctl,
	.stop = stop,
};
