/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ha/ha.h"

struct ha_node {
	struct ha_fsm fsm;
	struct ha_sync *sync;
	struct ha_wire_tx wtx;
	struct ha_wire_rx wrx;
	bool hb_due;
	bool handoff_due;
	uint32_t handoff_no;
	struct ha_node_stats st;
};

void
ha_node_conf_defaults(struct ha_node_conf *c)
{
	memset(c, 0, sizeof(*c));
	ha_fsm_conf_defaults(&c->fsm);
	ha_sync_conf_defaults(&c->sync);
}

/* Feed the state machine; note the heartbeat and handoff it wants sent. */
static int
fsm_call(struct ha_node *n, uint64_t now, const struct ha_event *ev, struct ha_actions *out)
{
	uint64_t hb = n->fsm.hb_requests, ho = n->fsm.stats.actions[HA_ACT_SEND_HANDOFF];
	int rc = ha_fsm_input(&n->fsm, now, ev, out);

	if (n->fsm.hb_requests != hb)
		n->hb_due = true;
	if (n->fsm.stats.actions[HA_ACT_SEND_HANDOFF] != ho) {
		n->handoff_due = true;
		n->handoff_no = n->fsm.switchover_no;
	}
	return rc;
}

static int
fsm_simple(struct ha_node *n, uint64_t now, enum ha_event_type type, struct ha_actions *out)
{
	struct ha_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	return fsm_call(n, now, &ev, out);
}

/* Tell the state machine when the sync status it decides on changes. */
static void
sync_update(struct ha_node *n, uint64_t now, struct ha_actions *out)
{
	struct ha_sync_status st;
	struct ha_event ev;

	ha_sync_status(n->sync, &st);
	if (st.rx_synced == n->fsm.sync.rx_synced && st.tx_synced == n->fsm.sync.tx_synced)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = HA_EV_SYNC;
	ev.u.sync.rx_synced = st.rx_synced;
	ev.u.sync.tx_synced = st.tx_synced;
	fsm_call(n, now, &ev, out);
}

struct ha_node *
ha_node_create(const struct ha_node_conf *c, uint64_t now, struct ha_actions *out)
{
	struct ha_node *n;

	if (c->epoch == 0) {
		errno = EINVAL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	if (ha_fsm_init(&n->fsm, &c->fsm, now, out) < 0) {
		free(n);
		errno = EINVAL;
		return NULL;
	}
	n->hb_due = true;
	n->sync = ha_sync_create(&c->sync, c->epoch, now);
	if (n->sync == NULL) {
		free(n);
		return NULL;
	}
	ha_wire_tx_init(&n->wtx, c->key, c->fsm.id, c->epoch);
	ha_wire_rx_init(&n->wrx, c->key, c->fsm.id, c->epoch);
	return n;
}

void
ha_node_free(struct ha_node *n)
{
	if (n == NULL)
		return;
	ha_sync_free(n->sync);
	memset(n->wtx.key, 0, sizeof(n->wtx.key));
	memset(n->wrx.key, 0, sizeof(n->wrx.key));
	free(n);
}

void
ha_node_set_deliver(struct ha_node *n, ha_sync_deliver_fn fn, void *arg)
{
	ha_sync_set_deliver(n->sync, fn, arg);
}

static int
rx_heartbeat(struct ha_node *n, uint64_t now, const struct ha_wire_hdr *h, const uint8_t *body,
	     struct ha_actions *out)
{
	struct ha_msg_hb hb;
	struct ha_event ev;

	if (ha_wire_hb_decode(body, h->len, &hb) < 0 || hb.state >= HA_STATE_MAX ||
	    hb.priority == 255)
		return -EINVAL;
	ha_sync_rx_hb(n->sync, now, &hb);
	sync_update(n, now, out);
	memset(&ev, 0, sizeof(ev));
	ev.type = HA_EV_PEER_HB;
	ev.u.hb.id = h->sender;
	ev.u.hb.epoch = h->epoch;
	ev.u.hb.state = hb.state;
	ev.u.hb.priority = hb.priority;
	ev.u.hb.preempt = hb.flags & HA_HB_F_PREEMPT;
	ev.u.hb.handoff = hb.flags & HA_HB_F_HANDOFF;
	ev.u.hb.synced = hb.flags & HA_HB_F_SYNCED;
	ev.u.hb.need_bulk = hb.rx_state == HA_RX_NEED_BULK;
	ev.u.hb.bulk_req = hb.bulk_req;
	ev.u.hb.interval_ms = hb.interval_ms;
	fsm_call(n, now, &ev, out);
	return 0;
}

static int
rx_handoff(struct ha_node *n, uint64_t now, const struct ha_wire_hdr *h, const uint8_t *body,
	   struct ha_actions *out)
{
	struct ha_msg_handoff m;
	struct ha_event ev;

	if (ha_wire_handoff_decode(body, h->len, &m) < 0)
		return -EINVAL;
	if (m.target != n->fsm.conf.id) {
		n->st.handoff_not_for_us++;
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = HA_EV_PEER_HANDOFF;
	ev.u.handoff_from = h->sender;
	fsm_call(n, now, &ev, out);
	return 0;
}

int
ha_node_rx(struct ha_node *n, uint64_t now, const uint8_t *buf, size_t len, struct ha_actions *out)
{
	const uint8_t *body = buf + HA_WIRE_HDR_LEN;
	struct ha_wire_hdr h;
	bool new_epoch;
	int rc;

	rc = ha_wire_rx_open(&n->wrx, buf, len, &h, &new_epoch);
	if (rc != HA_WIRE_OK)
		return rc;
	if (new_epoch)
		ha_sync_peer_reset(n->sync, now, h.epoch);
	ha_sync_rx_hdr(n->sync, now, &h);
	switch (h.type) {
	case HA_MSG_HEARTBEAT:
		rc = rx_heartbeat(n, now, &h, body, out);
		break;
	case HA_MSG_SYNC:
		rc = ha_sync_rx_data(n->sync, now, &h, body, h.len);
		break;
	case HA_MSG_ACK:
		rc = ha_sync_rx_ack(n->sync, now, &h, body, h.len);
		break;
	case HA_MSG_HANDOFF:
		rc = rx_handoff(n, now, &h, body, out);
		break;
	default: /* ha_wire_rx_open lets no other type through */
		rc = -EINVAL;
		break;
	}
	if (rc < 0) {
		ha_wire_rx_recount(&n->wrx, HA_WIRE_ERR_MALFORMED);
		return HA_WIRE_ERR_MALFORMED;
	}
	n->st.rx[h.type & 7]++;
	sync_update(n, now, out);
	return HA_WIRE_OK;
}

static int
tx_heartbeat(struct ha_node *n, uint8_t *buf, size_t cap, uint64_t now)
{
	uint64_t ack_epoch, ack;
	struct ha_msg_hb m;
	struct ha_fsm_hb f;
	int len;

	memset(&m, 0, sizeof(m));
	ha_fsm_hb_fields(&n->fsm, &f);
	m.state = f.state;
	m.priority = f.priority;
	m.flags = (f.preempt ? HA_HB_F_PREEMPT : 0) | (f.handoff ? HA_HB_F_HANDOFF : 0);
	m.interval_ms = (uint16_t)f.interval_ms;
	ha_sync_hb_fields(n->sync, &m);
	len = ha_wire_hb_encode(buf + HA_WIRE_HDR_LEN, cap - HA_WIRE_HDR_LEN, &m);
	if (len < 0)
		return 0;
	ha_sync_hdr_ack(n->sync, now, &ack_epoch, &ack);
	return ha_wire_seal(&n->wtx, buf, cap, HA_MSG_HEARTBEAT, ack_epoch, ack, (size_t)len);
}

static int
tx_handoff(struct ha_node *n, uint8_t *buf, size_t cap, uint64_t now)
{
	struct ha_msg_handoff m = { .target = n->fsm.peer.id, .switchover = n->handoff_no };
	uint64_t ack_epoch, ack;
	int len;

	len = ha_wire_handoff_encode(buf + HA_WIRE_HDR_LEN, cap - HA_WIRE_HDR_LEN, &m);
	if (len < 0)
		return 0;
	ha_sync_hdr_ack(n->sync, now, &ack_epoch, &ack);
	return ha_wire_seal(&n->wtx, buf, cap, HA_MSG_HANDOFF, ack_epoch, ack, (size_t)len);
}

int
ha_node_tx(struct ha_node *n, uint64_t now, uint8_t *buf, size_t cap)
{
	int len = 0;

	if (cap < HA_WIRE_HDR_LEN + HA_WIRE_HB_LEN + HA_WIRE_MAC_LEN)
		return 0;
	if (n->hb_due) {
		n->hb_due = false;
		len = tx_heartbeat(n, buf, cap, now);
	} else if (n->handoff_due) {
		n->handoff_due = false;
		len = tx_handoff(n, buf, cap, now);
	} else if (ha_fsm_peer_alive(&n->fsm, now)) {
		/* Nobody listens to a dead peer's stream: the queue waits (or overflows). */
		len = ha_sync_tx(n->sync, now, &n->wtx, buf, cap);
	}
	if (len <= 0)
		return 0;
	n->st.tx[buf[3] & 7]++;
	return len;
}

void
ha_node_tick(struct ha_node *n, uint64_t now, struct ha_actions *out)
{
	sync_update(n, now, out);
	fsm_simple(n, now, HA_EV_TICK, out);
}

void
ha_node_link(struct ha_node *n, uint64_t now, bool up, struct ha_actions *out)
{
	fsm_simple(n, now, up ? HA_EV_LINK_UP : HA_EV_LINK_DOWN, out);
}

void
ha_node_install_done(struct ha_node *n, uint64_t now, struct ha_actions *out)
{
	fsm_simple(n, now, HA_EV_INSTALL_DONE, out);
}

int
ha_node_switchover(struct ha_node *n, uint64_t now, struct ha_actions *out)
{
	return fsm_simple(n, now, HA_EV_SWITCHOVER, out);
}

void
ha_node_shutdown(struct ha_node *n, uint64_t now, struct ha_actions *out)
{
	fsm_simple(n, now, HA_EV_SHUTDOWN, out);
}

int
ha_node_push(struct ha_node *n, const struct ha_rec *r)
{
	return ha_sync_push(n->sync, r);
}

int
ha_node_bulk_begin(struct ha_node *n, uint64_t expected)
{
	return ha_sync_bulk_begin(n->sync, expected);
}

int
ha_node_bulk_add(struct ha_node *n, uint32_t id, const struct ha_rec *r)
{
	return ha_sync_bulk_add(n->sync, id, r);
}

int
ha_node_bulk_end(struct ha_node *n, uint32_t id)
{
	return ha_sync_bulk_end(n->sync, id);
}

uint64_t
ha_node_next_deadline(const struct ha_node *n)
{
	uint64_t a = ha_fsm_next_deadline(&n->fsm), b = ha_sync_next_deadline(n->sync);

	if (n->hb_due || n->handoff_due)
		return 0;
	return a < b ? a : b;
}

const struct ha_fsm *
ha_node_fsm(const struct ha_node *n)
{
	return &n->fsm;
}

struct ha_sync *
ha_node_sync(const struct ha_node *n)
{
	return n->sync;
}

const struct ha_wire_rx *
ha_node_wire_rx(const struct ha_node *n)
{
	return &n->wrx;
}

const struct ha_node_stats *
ha_node_stats(const struct ha_node *n)
{
	return &n->st;
}
