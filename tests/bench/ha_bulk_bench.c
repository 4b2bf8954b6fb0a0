/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ha-bulk-bench: how long the bulk sync of issue 7 takes for N flows (1M by
 * default), on one core, without the network: an active node's store of N
 * flows walked into a bulk sync (lib/ha: records, sealing with HMAC-SHA256,
 * the reliable stream's acks and window) and a standby node that opens every
 * datagram, delivers every record and puts it in its own store (as
 * src/ha_agent.c does, which also queues one install per worker: here one
 * 64-byte copy per record stands for it). Both nodes run in one thread on a
 * shared clock, handing datagrams over in memory, so the figure is the CPU
 * cost of the two control lcores added up: a bound on what the wire adds to.
 *
 *   ha-bulk-bench [--flows N] [--quick]
 *
 * Prints the time from the active's start_bulk_sync to the standby's "synced",
 * records/s, datagrams, and checks that both stores hold the same flows (the
 * digest). Exits 1 only when that check fails.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ha/ha.h"
#include "ha/ha_store.h"

#define MAXQ 8192

struct dgram {
	uint16_t len;
	uint8_t b[HA_WIRE_MAX];
};

struct box {
	struct ha_node *n;
	struct ha_store *store;
	struct ha_actions acts;
	bool bulk_running;
	uint32_t bulk_id;
	uint32_t cursor;
	uint64_t delivered;
	struct dgram *q; /* datagrams on their way to this box */
	unsigned int qn;
};

static uint8_t sink[64];

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct flow_key
key_of(uint32_t i)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = 4;
	k.proto = 6;
	k.sport = (uint16_t)(1024 + (i >> 24));
	k.dport = 80;
	k.src[0] = 10;
	k.src[1] = (uint8_t)(i >> 16);
	k.src[2] = (uint8_t)(i >> 8);
	k.src[3] = (uint8_t)i;
	k.dst[0] = 192;
	k.dst[1] = 168;
	k.dst[3] = 100;
	return k;
}

static void
on_record(void *arg, uint64_t seq, const struct ha_rec *r)
{
	struct box *b = arg;
	struct ha_store_ent *e;
	bool created;

	(void)seq;
	b->delivered++;
	if (r->type == HA_REC_BULK_START) {
		ha_store_mark(b->store, 1u << HA_STORE_FLOW);
		return;
	}
	if (r->type == HA_REC_BULK_END) {
		ha_store_sweep(b->store, NULL, NULL);
		return;
	}
	if (r->type != HA_REC_FLOW_ADD)
		return;
	e = ha_store_put(b->store, HA_STORE_FLOW, &r->u.flow.key, &created);
	if (e == NULL)
		return;
	ha_store_set(b->store, e, r->u.flow.vip, r->u.flow.user, r->u.flow.state);
	/* The agent's install event for the workers' rings. */
	memcpy(sink, &r->u.flow.key, sizeof(r->u.flow.key));
}

static struct box *
box_new(uint16_t id, uint8_t prio, uint32_t cap, uint64_t now)
{
	struct box *b = calloc(1, sizeof(*b));
	struct ha_node_conf c;
	unsigned int i;

	ha_node_conf_defaults(&c);
	for (i = 0; i < HA_WIRE_KEY_LEN; i++)
		c.key[i] = (uint8_t)(0xa0 + i);
	c.epoch = 0x1000 + id;
	c.fsm.id = id;
	c.fsm.priority = prio;
	c.fsm.heartbeat_ms = 10;
	b->n = ha_node_create(&c, now, &b->acts);
	b->store = ha_store_create(cap);
	b->q = calloc(MAXQ, sizeof(*b->q));
	if (b->n == NULL || b->store == NULL || b->q == NULL) {
		fprintf(stderr, "ha-bulk-bench: out of memory\n");
		exit(2);
	}
	ha_node_set_deliver(b->n, on_record, b);
	return b;
}

/* What src/ha_agent.c does with the actions, for the ones that matter here. */
static void
apply(struct box *b, uint64_t now, uint64_t *bulk_t0)
{
	unsigned int i;
	int rc;

	for (i = 0; i < b->acts.n; i++) {
		switch (b->acts.a[i].type) {
		case HA_ACT_INSTALL_STATE:
			b->acts.n = 0;
			ha_node_install_done(b->n, now, &b->acts);
			apply(b, now, bulk_t0);
			return;
		case HA_ACT_START_BULK_SYNC:
			rc = ha_node_bulk_begin(b->n, ha_store_count(b->store, 0));
			if (rc > 0) {
				b->bulk_running = true;
				b->bulk_id = (uint32_t)rc;
				b->cursor = 0;
				if (*bulk_t0 == 0)
					*bulk_t0 = now;
			}
			break;
		default:
			break;
		}
	}
	b->acts.n = 0;
}

static void
bulk_feed(struct box *b)
{
	struct ha_store_ent *e;
	struct ha_rec r;
	unsigned int n;

	for (n = 0; b->bulk_running && n < 4096; n++) {
		uint32_t at = b->cursor;

		e = ha_store_next(b->store, &b->cursor);
		if (e == NULL) {
			if (ha_node_bulk_end(b->n, b->bulk_id) == -ENOBUFS)
				b->cursor = at;
			else
				b->bulk_running = false;
			return;
		}
		memset(&r, 0, sizeof(r));
		r.type = HA_REC_FLOW_ADD;
		r.u.flow.key = e->key;
		r.u.flow.vip = e->vip;
		r.u.flow.state = e->state;
		r.u.flow.backend = (uint32_t)e->backend;
		r.u.flow.user = e->backend;
		if (ha_node_bulk_add(b->n, b->bulk_id, &r) == -EAGAIN) {
			b->cursor = at;
			return;
		}
	}
}

/* Send what b has for its peer (into the peer's queue); returns datagrams sent. */
static unsigned int
send_all(struct box *b, struct box *to, uint64_t now)
{
	unsigned int n = 0;
	int len;

	while (to->qn < MAXQ) {
		len = ha_node_tx(b->n, now, to->q[to->qn].b, HA_WIRE_MAX);
		if (len <= 0)
			break;
		to->q[to->qn++].len = (uint16_t)len;
		n++;
	}
	return n;
}

static void
receive_all(struct box *b, uint64_t now, uint64_t *bulk_t0)
{
	unsigned int i;

	for (i = 0; i < b->qn; i++) {
		ha_node_rx(b->n, now, b->q[i].b, b->q[i].len, &b->acts);
		apply(b, now, bulk_t0);
	}
	b->qn = 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { { "flows", required_argument, NULL, 'f' },
					      { "quick", no_argument, NULL, 'q' },
					      { NULL, 0, NULL, 0 } };
	uint32_t flows = 1u << 20, i;
	uint64_t t0 = 0, t_end = 0, now, start, dgrams = 0, deadline;
	struct ha_sync_status ss;
	struct box *a, *s;
	bool created;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'f')
			flows = (uint32_t)strtoul(optarg, NULL, 0);
		else if (opt == 'q')
			flows = 1u << 16;
		else
			return 2;
	}
	now = mono_ns();
	a = box_new(1, 200, flows + 16, now);
	for (i = 0; i < flows; i++) {
		struct flow_key k = key_of(i);
		struct ha_store_ent *e = ha_store_put(a->store, HA_STORE_FLOW, &k, &created);

		ha_store_set(a->store, e, 7, 0x1234567800000000ULL | (i % 10), 1);
	}
	/* The active alone first: it takes over after the dead interval, then the standby joins. */
	apply(a, now, &t0);
	t0 = 0;
	deadline = now + 2000000000ULL;
	while (ha_node_fsm(a->n)->state != HA_STATE_ACTIVE && mono_ns() < deadline) {
		now = mono_ns();
		ha_node_tick(a->n, now, &a->acts);
		apply(a, now, &t0);
		while (ha_node_tx(a->n, now, a->q[0].b, HA_WIRE_MAX) > 0)
			;
	}
	s = box_new(2, 100, flows + 16, mono_ns());
	start = mono_ns();
	deadline = start + 120000000000ULL;
	for (;;) {
		now = mono_ns();
		ha_node_tick(a->n, now, &a->acts);
		apply(a, now, &t0);
		ha_node_tick(s->n, now, &s->acts);
		apply(s, now, &t0);
		bulk_feed(a);
		dgrams += send_all(a, s, now);
		receive_all(s, now, &t0);
		dgrams += send_all(s, a, now);
		receive_all(a, now, &t0);
		ha_sync_status(ha_node_sync(s->n), &ss);
		if (t0 != 0 && ss.rx_synced && !a->bulk_running) {
			t_end = mono_ns();
			break;
		}
		if (now > deadline) {
			fprintf(stderr, "ha-bulk-bench: no sync after 120 s\n");
			return 1;
		}
	}
	printf("ha-bulk-bench: bulk sync of %u IPv4 flows, active -> standby, lib/ha + store, one "
	       "core, in memory (HMAC-SHA256 on every datagram)\n",
	       flows);
	printf("  time      %.3f s from start_bulk_sync to the standby in sync (target <= 2 s)\n",
	       (double)(t_end - t0) / 1e9);
	printf("  rate      %.2f M records/s, %.1f us/datagram, %" PRIu64 " datagrams in all\n",
	       flows / ((double)(t_end - t0) / 1e3), (double)(t_end - t0) / 1e3 / (double)dgrams,
	       dgrams);
	printf("  standby   %u flows, delivered %" PRIu64 " records\n",
	       ha_store_count(s->store, HA_STORE_FLOW), s->delivered);
	if (ha_store_digest(a->store) != ha_store_digest(s->store) ||
	    ha_store_count(s->store, HA_STORE_FLOW) != flows) {
		printf("  FAIL: the standby's store differs from the active's\n");
		return 1;
	}
	printf("  checked   the two stores hold the same %u flows (digest %016" PRIx64 ")\n", flows,
	       ha_store_digest(s->store));
	return 0;
}
