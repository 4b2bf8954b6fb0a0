/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for lib/ha: every datagram the HA port receives goes
 * through ha_wire_rx_open, the body decoders and the sync receiver. Random
 * bytes never get past the MAC, so the harness can sign them first with the
 * fixed key: then the fuzzer reaches the parsers, the reorder buffer, the
 * NACK logic and the state machine behind the MAC.
 *
 * Input: a sequence of chunks, each a flags byte, a length byte and that many
 * bytes (up to HA_WIRE_MAX + 1 with a second length byte: see below). Flags:
 *   bit 0  sign: fix magic, version, key id and length, append the MAC
 *   bit 1  also renumber: sender 2, datagram numbers 1, 2, 3 ... (fresh)
 *   bit 2  second length byte follows (length = 256 * b1 + b2)
 *   bits 3-7  milliseconds to let pass first (ticks and sends in between)
 * Bit 1 without bit 0 (renumbering unsigned bytes means nothing) instead
 * queues `length` records of our own, so that the acks and NACKs that follow
 * meet a send queue: the sender's side of the stream gets fuzzed too.
 * The body decoders also run on each chunk's bytes as they are. The records
 * delivered go into a store as src/ha_agent.c keeps them (put, delete, mark
 * and sweep on a bulk), so the store meets whatever the stream can deliver.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ha/ha.h"
#include "ha/ha_store.h"

#define FUZZ_CHECK(cond)                  \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_key[HA_WIRE_KEY_LEN] = { 0x42, 0x13, 0x37 };

struct fuzz_state {
	struct ha_node *n;
	struct ha_store *store; /* what the agent keeps of the peer's records */
	uint64_t last_seq;
	uint64_t incarnation; /* the receiver's count of peer epochs (and ids) seen */
};

static void
store_record(struct ha_store *s, const struct ha_rec *r)
{
	struct ha_store_ent *e;
	struct flow_key k;
	bool created;
	uint8_t kind = r->type == HA_REC_AFFINITY ? HA_STORE_AFFINITY : HA_STORE_FLOW;

	memset(&k, 0, sizeof(k));
	switch (r->type) {
	case HA_REC_BULK_START:
		ha_store_mark(s, 1u << HA_STORE_FLOW | 1u << HA_STORE_AFFINITY);
		return;
	case HA_REC_BULK_END:
		ha_store_sweep(s, NULL, NULL);
		return;
	case HA_REC_AFFINITY:
		k.family = r->u.aff.family;
		memcpy(k.src, r->u.aff.addr, 16);
		k.dport = r->u.aff.vip;
		break;
	case HA_REC_FLOW_ADD:
	case HA_REC_FLOW_DEL:
		k = r->u.flow.key;
		break;
	default:
		return;
	}
	if (r->type == HA_REC_FLOW_DEL) {
		e = ha_store_find(s, kind, &k);
		if (e != NULL)
			ha_store_del(s, e);
	} else {
		e = ha_store_put(s, kind, &k, &created);
		if (e != NULL && kind == HA_STORE_FLOW)
			ha_store_set(s, e, r->u.flow.vip, r->u.flow.user, r->u.flow.state);
		else if (e != NULL)
			ha_store_set(s, e, r->u.aff.vip, r->u.aff.backend, 0);
	}
	FUZZ_CHECK(ha_store_count(s, 0) <= 256);
	FUZZ_CHECK(ha_store_count(s, 0) != 0 || ha_store_digest(s) == 0);
}

static void
on_record(void *arg, uint64_t seq, const struct ha_rec *r)
{
	struct fuzz_state *fs = arg;
	uint64_t inc = ha_node_wire_rx(fs->n)->new_epochs;

	if (inc != fs->incarnation) {
		fs->incarnation = inc;
		fs->last_seq = 0;
	}
	/* In order, each once: strictly increasing within one incarnation of the peer. */
	FUZZ_CHECK(seq > fs->last_seq);
	fs->last_seq = seq;
	FUZZ_CHECK(ha_wire_rec_known(r->type));
	if (r->type == HA_REC_BLOB)
		FUZZ_CHECK(r->u.blob.len <= HA_WIRE_BLOB_MAX);
	if (r->type == HA_REC_FLOW_ADD || r->type == HA_REC_FLOW_DEL)
		FUZZ_CHECK(r->u.flow.key.family == 4 || r->u.flow.key.family == 6);
	store_record(fs->store, r);
}

/* The decoders on raw bytes: whatever they accept must stay inside them. */
static void
fuzz_decoders(const uint8_t *p, size_t len)
{
	struct ha_msg_handoff ho;
	struct ha_msg_sync m;
	struct ha_msg_ack a;
	struct ha_msg_hb hb;
	struct ha_rec r;
	size_t off = 0;
	int n;

	(void)ha_wire_hb_decode(p, len, &hb);
	(void)ha_wire_handoff_decode(p, len, &ho);
	if (ha_wire_ack_decode(p, len, &a) == 0)
		FUZZ_CHECK(a.n_nack <= HA_WIRE_NACK_MAX);
	if (ha_wire_sync_decode(p, len, &m) == 0) {
		FUZZ_CHECK(m.count >= 1 && m.count <= HA_WIRE_MAX_RECORDS);
		FUZZ_CHECK(m.recs_len == len - HA_WIRE_SYNC_HDR_LEN);
	}
	while (off < len && (n = ha_wire_rec_decode(p + off, len - off, &r)) > 0) {
		uint8_t re[HA_WIRE_REC_MAX];

		FUZZ_CHECK((size_t)n <= len - off);
		/* A known record encodes back to the same length. */
		if (ha_wire_rec_known(r.type))
			FUZZ_CHECK(ha_wire_rec_encode(re, sizeof(re), &r) == n);
		off += (size_t)n;
	}
}

/* Records of our own for the peer; a full queue refuses some, as it may. */
static void
fuzz_push(struct fuzz_state *fs, uint32_t n)
{
	struct ha_rec r;
	uint32_t i;
	int rc;

	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.type = i % 3 == 2 ? HA_REC_FLOW_DEL : HA_REC_FLOW_ADD;
		r.u.flow.key.family = i % 2 ? 6 : 4;
		r.u.flow.key.sport = (uint16_t)i;
		r.u.flow.user = i;
		rc = ha_node_push(fs->n, &r);
		FUZZ_CHECK(rc == 0 || rc == -ENOBUFS);
	}
}

/* Do what a caller does with the actions that come back to the library. */
static void
fuzz_apply(struct fuzz_state *fs, uint64_t now, const struct ha_actions *a)
{
	struct ha_actions more = { 0 };
	unsigned int i;

	FUZZ_CHECK(a->n <= HA_ACTIONS_MAX);
	for (i = 0; i < a->n; i++) {
		FUZZ_CHECK(a->a[i].type < HA_ACT_MAX && a->a[i].reason < HA_REASON_MAX);
		if (a->a[i].type == HA_ACT_INSTALL_STATE)
			ha_node_install_done(fs->n, now, &more);
	}
	FUZZ_CHECK(more.n <= HA_ACTIONS_MAX);
}

static void
fuzz_drain(struct fuzz_state *fs, uint64_t now)
{
	uint8_t out[HA_WIRE_MAX];
	struct ha_wire_hdr h;
	struct ha_actions a;
	int i, len;

	a.n = 0;
	if (now >= ha_node_next_deadline(fs->n))
		ha_node_tick(fs->n, now, &a);
	fuzz_apply(fs, now, &a);
	/* What we send is ours, well formed and bounded: the sender never runs away. */
	for (i = 0; i < 512; i++) {
		len = ha_node_tx(fs->n, now, out, sizeof(out));
		if (len == 0)
			break;
		FUZZ_CHECK(len > 0 && len <= HA_WIRE_MAX);
		FUZZ_CHECK(ha_wire_verify(out, (size_t)len, fuzz_key, ha_wire_key_id(fuzz_key),
					  &h) == HA_WIRE_OK);
		FUZZ_CHECK(h.sender == 1);
	}
	FUZZ_CHECK(i < 512);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ha_node_conf c;
	struct ha_actions a;
	struct fuzz_state fs;
	struct ha_sync_status st;
	uint64_t now = 1000000, seq = 0;
	size_t off = 0;

	if (size > 64 * 1024)
		return 0;
	ha_node_conf_defaults(&c);
	memcpy(c.key, fuzz_key, sizeof(c.key));
	c.epoch = 0x1111;
	c.fsm.id = 1;
	/* Small, so that the fuzzer fills them. */
	c.sync.queue_records = 64;
	c.sync.bulk_reserve = 16;
	c.sync.window = 32;
	c.sync.rx_pool = 8;
	c.sync.blob_bytes = 4096;
	memset(&fs, 0, sizeof(fs));
	a.n = 0;
	fs.n = ha_node_create(&c, now, &a);
	if (fs.n == NULL)
		return 0;
	fs.store = ha_store_create(256);
	if (fs.store == NULL) {
		ha_node_free(fs.n);
		return 0;
	}
	ha_node_set_deliver(fs.n, on_record, &fs);

	while (off + 2 <= size) {
		uint8_t flags = data[off];
		size_t len = data[off + 1], hdr = 2;
		uint8_t *d;
		int rc;

		if (flags & 4) {
			if (off + 3 > size)
				break;
			len = len * 256 + data[off + 2];
			hdr = 3;
		}
		if (len > HA_WIRE_MAX + 1 || off + hdr + len > size)
			break;
		if ((flags & 3) == 2) {
			fuzz_push(&fs, (uint32_t)len);
			off += hdr + len;
			continue;
		}
		/* A copy of exactly the datagram's size: ASan sees a read one past it. */
		d = malloc(len > 0 ? len : 1);
		if (d == NULL)
			break;
		memcpy(d, data + off + hdr, len);
		off += hdr + len;
		fuzz_decoders(d, len);
		if ((flags & 1) && len >= HA_WIRE_HDR_LEN + HA_WIRE_MAC_LEN) {
			size_t body = len - HA_WIRE_HDR_LEN - HA_WIRE_MAC_LEN;
			struct ha_wire_tx tx;

			d[0] = 0x45;
			d[1] = 0x48;
			d[2] = HA_WIRE_VERSION;
			if (flags & 2) {
				d[6] = 0;
				d[7] = 2;
				memset(d + 24, 0, 8);
				d[31] = (uint8_t)++seq;
				d[30] = (uint8_t)(seq >> 8);
			}
			ha_wire_tx_init(&tx, fuzz_key, 0, 1);
			d[8] = (uint8_t)(tx.key_id >> 24);
			d[9] = (uint8_t)(tx.key_id >> 16);
			d[10] = (uint8_t)(tx.key_id >> 8);
			d[11] = (uint8_t)tx.key_id;
			d[12] = (uint8_t)(body >> 8);
			d[13] = (uint8_t)body;
			auth_hmac1(AUTH_HMAC_SHA256, fuzz_key, sizeof(fuzz_key), d,
				   len - HA_WIRE_MAC_LEN, d + len - HA_WIRE_MAC_LEN);
		}
		now += (uint64_t)(flags >> 3) * 1000000;
		fuzz_drain(&fs, now);
		a.n = 0;
		rc = ha_node_rx(fs.n, now, d, len, &a);
		FUZZ_CHECK(rc >= HA_WIRE_OK && rc < HA_WIRE_ERR_MAX);
		fuzz_apply(&fs, now, &a);
		/* Bytes that are not ours never get past the MAC. */
		if (!(flags & 1))
			FUZZ_CHECK(rc != HA_WIRE_OK || len < HA_WIRE_HDR_LEN + HA_WIRE_MAC_LEN);
		free(d);
		FUZZ_CHECK(ha_node_fsm(fs.n)->state < HA_STATE_MAX);
		ha_sync_status(ha_node_sync(fs.n), &st);
		FUZZ_CHECK(st.queued <= c.sync.queue_records);
		FUZZ_CHECK(st.rx_state < HA_RX_MAX);
		fuzz_drain(&fs, now);
	}
	ha_node_free(fs.n);
	ha_store_free(fs.store);
	return 0;
}
