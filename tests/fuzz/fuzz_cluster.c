/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for lib/cluster: every sync datagram goes through
 * cluster_node_rx (the checks before the MAC, the member table, the epoch
 * and replay window, the body decoders, the stream's reorder buffer, queries,
 * answers and the generation agreement). Random bytes never get past the
 * MAC, so the harness can sign them with the fixed key: then the fuzzer
 * reaches everything behind it.
 *
 * Input: a sequence of chunks, each a flags byte, a length byte and that many
 * bytes (a second length byte with bit 2: length = 256 * b1 + b2). Flags:
 *   bit 0  sign: fix magic, version, key id, receiver (us, 1), the payload
 *          length, and append the MAC
 *   bit 1  with bit 0: renumber (epoch of the chosen sender, datagrams 1, 2, ...);
 *          without bit 0: a local call instead, chosen by the first byte:
 *          push records, ask queries, propose a generation
 *   bit 2  second length byte follows
 *   bit 3  with bit 0: the sender is member 3, else member 2
 *   bits 4-7  milliseconds to let pass first (ticks and sends in between)
 * Signing also gives a one-chunk GEN_PROPOSE the right digest.
 * The body decoders also run on each chunk's bytes as they are.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "cluster/cluster.h"

#define FUZZ_CHECK(cond)                  \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_key[CLUSTER_WIRE_KEY_LEN] = { 0x42, 0x13, 0x37 };

struct fuzz_state {
	struct cluster_node *n;
	struct cluster_conf c;
	uint64_t seq[2];
};

/* The decoders on raw bytes: whatever they accept stays inside them and encodes back. */
static void
fuzz_decoders(const uint8_t *p, size_t len)
{
	struct cluster_sack sack[CLUSTER_WIRE_SACK_MAX];
	uint8_t re[CLUSTER_ITEM_MAX], cnt = len > 0 ? p[0] : 0;
	struct cluster_msg_push push;
	struct cluster_msg_gen g;
	struct cluster_msg_hb hb;
	struct cluster_item it;
	size_t off = 0;
	int n;

	if (cluster_wire_hb_decode(p, len, cnt, &hb) == 0)
		FUZZ_CHECK(hb.n_live == cnt && hb.n_live <= CLUSTER_MAX_MEMBERS);
	if (cluster_wire_ack_decode(p, len, cnt, sack) == 0)
		FUZZ_CHECK(cnt <= CLUSTER_WIRE_SACK_MAX);
	if (cluster_wire_push_decode(p, len, cnt, &push) == 0)
		FUZZ_CHECK(push.items_len + CLUSTER_WIRE_PUSH_HDR_LEN == len);
	if (cluster_wire_gen_propose_decode(p, len, &g) == 0)
		FUZZ_CHECK(g.data_len <= CLUSTER_GEN_CHUNK && g.total <= CLUSTER_GEN_BLOB_MAX &&
			   g.chunk < cluster_gen_chunks(g.total));
	if (cluster_wire_gen_ack_decode(p, len, &g) == 0)
		FUZZ_CHECK(g.data_len == (g.chunk + 7u) / 8u);
	(void)cluster_wire_gen_commit_decode(p, len, &g);
	while (off < len && (n = cluster_wire_item_decode(p + off, len - off, &it)) > 0) {
		FUZZ_CHECK((size_t)n <= len - off && n <= CLUSTER_ITEM_MAX);
		if (it.type == CLUSTER_ITEM_FLOW || it.type == CLUSTER_ITEM_AFFINITY) {
			FUZZ_CHECK(cluster_wire_rec_encode(re, sizeof(re), &it.u.rec) == n);
			FUZZ_CHECK(memcmp(re, p + off, (size_t)n) == 0);
		} else if (it.type == CLUSTER_ITEM_KEY || it.type == CLUSTER_ITEM_UNKNOWN) {
			FUZZ_CHECK(cluster_wire_key_encode(re, sizeof(re), it.type, it.u.key.rtype,
							   &it.u.key.key) == n);
			FUZZ_CHECK(memcmp(re, p + off, (size_t)n) == 0);
		}
		off += (size_t)n;
	}
}

static void
fuzz_apply(struct fuzz_state *fs, uint64_t now, const struct cluster_actions *a, int depth)
{
	struct cluster_actions more;
	unsigned int i;

	FUZZ_CHECK(a->n <= CLUSTER_ACTIONS_MAX && a->dropped == 0);
	for (i = 0; i < a->n; i++) {
		const struct cluster_action *x = &a->a[i];

		FUZZ_CHECK(x->type < CLUSTER_ACT_MAX && x->reason < CLUSTER_REASON_MAX);
		if (x->type == CLUSTER_ACT_GEN_PREPARE) {
			FUZZ_CHECK(x->blob != NULL && x->blob_len > 0 &&
				   x->blob_len <= fs->c.gen.blob_max);
			/* Touch the last byte: ASan sees a blob that is not all there. */
			{
				volatile uint8_t last = x->blob[x->blob_len - 1];

				(void)last;
			}
			if (depth < 4) {
				more.n = more.dropped = 0;
				cluster_node_gen_prepared(fs->n, now, x->gen, x->gen % 3 != 2,
							  &more);
				fuzz_apply(fs, now, &more, depth + 1);
			}
		}
		if (x->type == CLUSTER_ACT_INSTALL)
			FUZZ_CHECK(x->rec.type == CLUSTER_ITEM_FLOW ||
				   x->rec.type == CLUSTER_ITEM_AFFINITY);
	}
}

static void
fuzz_drain(struct fuzz_state *fs, uint64_t now)
{
	struct cluster_wire_key k;
	struct cluster_wire_hdr h;
	uint8_t out[CLUSTER_WIRE_MAX];
	struct cluster_actions a;
	uint16_t to;
	int i, len;

	a.n = a.dropped = 0;
	if (now >= cluster_node_next_deadline(fs->n))
		cluster_node_tick(fs->n, now, &a);
	fuzz_apply(fs, now, &a, 0);
	cluster_wire_key_init(&k, fuzz_key);
	/* What we send is ours, well formed and bounded: the sender never runs away. */
	for (i = 0; i < 4096; i++) {
		len = cluster_node_tx(fs->n, now, out, sizeof(out), &to);
		if (len == 0)
			break;
		FUZZ_CHECK(len > 0 && len <= CLUSTER_WIRE_MAX && (to == 2 || to == 3));
		FUZZ_CHECK(cluster_wire_peek(out, (size_t)len, k.key_id, to, &h) ==
			   CLUSTER_WIRE_OK);
		FUZZ_CHECK(cluster_wire_authenticate(&k, out, (size_t)len, &h) == CLUSTER_WIRE_OK);
		FUZZ_CHECK(h.sender == 1 && h.type > 0 && h.type < CLUSTER_MSG_MAX);
	}
	FUZZ_CHECK(i < 4096);
}

/* Calls of our own caller: pushes, queries, proposals, so that acks and answers meet state. */
static void
fuzz_local(struct fuzz_state *fs, uint64_t now, const uint8_t *p, size_t len)
{
	struct cluster_actions a;
	struct cluster_rec r;
	size_t i;
	int rc;

	a.n = a.dropped = 0;
	if (len == 0)
		return;
	for (i = 1; i < len && i < 64; i++) {
		memset(&r, 0, sizeof(r));
		r.type = p[i] & 1 ? CLUSTER_ITEM_AFFINITY : CLUSTER_ITEM_FLOW;
		r.state = r.type == CLUSTER_ITEM_FLOW ? p[i] % FLOW_STATE_MAX : 0;
		r.be_family = p[i] & 2 ? 6 : 4;
		r.lifetime_ms = (uint32_t)(p[i] & 0x0f) * 100;
		r.key.family = p[i] & 4 ? 6 : 4;
		r.key.proto = 6;
		r.key.sport = r.type == CLUSTER_ITEM_FLOW ? p[i] : 0;
		r.key.dport = 80;
		r.key.src[0] = p[i];
		switch (p[0] % 3) {
		case 0:
			rc = cluster_node_push(fs->n, now, &r);
			FUZZ_CHECK(rc == 0 || rc == -ENOBUFS);
			break;
		case 1:
			rc = cluster_node_query(fs->n, now, r.type, &r.key, 1ULL << (p[i] % 64),
						&a);
			FUZZ_CHECK(rc == 0 || rc == -EALREADY || rc == -ENOBUFS);
			fuzz_apply(fs, now, &a, 0);
			a.n = 0;
			break;
		default:
			(void)cluster_node_gen_propose(fs->n, now, p, (uint32_t)len, &a);
			fuzz_apply(fs, now, &a, 0);
			return;
		}
	}
}

static void
sign(struct fuzz_state *fs, uint8_t *d, size_t len, uint8_t flags)
{
	size_t body = len - CLUSTER_WIRE_HDR_LEN - CLUSTER_WIRE_MAC_LEN;
	struct cluster_wire_key k;
	uint8_t mac[AUTH_DIGEST_MAX];
	int s = flags & 8 ? 1 : 0;
	uint64_t seq;

	cluster_wire_key_init(&k, fuzz_key);
	d[0] = 0x45;
	d[1] = 0x43;
	d[2] = CLUSTER_WIRE_VERSION;
	d[4] = 0;
	d[5] = (uint8_t)(2 + s);
	d[6] = 0;
	d[7] = 1;
	d[8] = (uint8_t)(body >> 8);
	d[9] = (uint8_t)body;
	d[12] = (uint8_t)(k.key_id >> 24);
	d[13] = (uint8_t)(k.key_id >> 16);
	d[14] = (uint8_t)(k.key_id >> 8);
	d[15] = (uint8_t)k.key_id;
	if (flags & 2) {
		/* A fixed epoch per sender, fresh datagram numbers. */
		memset(d + 16, 0, 8);
		d[23] = (uint8_t)(0x20 + s);
		seq = ++fs->seq[s];
		memset(d + 24, 0, 8);
		d[30] = (uint8_t)(seq >> 8);
		d[31] = (uint8_t)seq;
	}
	/*
	 * A one-chunk GEN_PROPOSE gets the digest of its data: the fuzzer could
	 * never find it, and without it nothing behind the reassembly is reached.
	 */
	if (d[3] == CLUSTER_MSG_GEN_PROPOSE && body > CLUSTER_WIRE_GEN_PROPOSE_HDR_LEN) {
		uint8_t *b = d + CLUSTER_WIRE_HDR_LEN;
		uint32_t total =
			(uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];

		if (total == body - CLUSTER_WIRE_GEN_PROPOSE_HDR_LEN && b[6] == 0 && b[7] == 0)
			cluster_gen_digest(b + CLUSTER_WIRE_GEN_PROPOSE_HDR_LEN, total, b + 12);
	}
	auth_hmac1(AUTH_HMAC_SHA256, fuzz_key, sizeof(fuzz_key), d, len - CLUSTER_WIRE_MAC_LEN,
		   mac);
	memcpy(d + len - CLUSTER_WIRE_MAC_LEN, mac, CLUSTER_WIRE_MAC_LEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state fs;
	struct cluster_actions a;
	uint64_t now = 1000000000ULL;
	static const uint8_t blob0[] = "fuzz backend set";
	size_t off = 0;
	unsigned int i;

	if (size > 64 * 1024)
		return 0;
	memset(&fs, 0, sizeof(fs));
	cluster_conf_defaults(&fs.c);
	fs.c.self_id = 1;
	fs.c.n_members = 3;
	for (i = 0; i < 3; i++) {
		fs.c.members[i].id = (uint16_t)(i + 1);
		fs.c.members[i].family = 4;
		fs.c.members[i].addr[0] = 10;
		fs.c.members[i].addr[3] = (uint8_t)(i + 1);
	}
	memcpy(fs.c.key, fuzz_key, sizeof(fs.c.key));
	fs.c.epoch = 0x1111;
	/* Small, so that the fuzzer fills them. */
	fs.c.store_capacity = 256;
	fs.c.scan_slots = 64;
	fs.c.sync.queue = 64;
	fs.c.sync.window = 16;
	fs.c.sync.bulk_reserve = 8;
	fs.c.sync.query_max = 32;
	fs.c.sync.answer_queue = 16;
	fs.c.gen.blob_max = 16 * CLUSTER_GEN_CHUNK;
	a.n = a.dropped = 0;
	fs.n = cluster_node_create(&fs.c, now, &a);
	if (fs.n == NULL)
		return 0;
	fuzz_apply(&fs, now, &a, 0);
	a.n = 0;
	cluster_node_gen_local(fs.n, now, blob0, sizeof(blob0), &a);
	fuzz_apply(&fs, now, &a, 0);

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
		if (len > CLUSTER_WIRE_MAX + 1 || off + hdr + len > size)
			break;
		now += (uint64_t)(flags >> 4) * 1000000;
		if ((flags & 3) == 2) {
			fuzz_local(&fs, now, data + off + hdr, len);
			off += hdr + len;
			fuzz_drain(&fs, now);
			continue;
		}
		/* A copy of exactly the datagram's size: ASan sees a read one past it. */
		d = malloc(len > 0 ? len : 1);
		if (d == NULL)
			break;
		memcpy(d, data + off + hdr, len);
		off += hdr + len;
		fuzz_decoders(d, len);
		if ((flags & 1) && len >= CLUSTER_WIRE_MIN)
			sign(&fs, d, len, flags);
		fuzz_drain(&fs, now);
		a.n = a.dropped = 0;
		rc = cluster_node_rx(fs.n, now, d, len, &a);
		FUZZ_CHECK(rc >= CLUSTER_WIRE_OK && rc < CLUSTER_DROP_MAX);
		fuzz_apply(&fs, now, &a, 0);
		/* Bytes that are not ours never get past the MAC. */
		if (!(flags & 1))
			FUZZ_CHECK(rc == CLUSTER_DROP_TRUNCATED || rc == CLUSTER_DROP_OVERSIZED ||
				   rc == CLUSTER_DROP_BAD_MAGIC || rc == CLUSTER_DROP_BAD_VERSION ||
				   rc == CLUSTER_DROP_WRONG_KEY || rc == CLUSTER_DROP_NOT_FOR_US ||
				   rc == CLUSTER_DROP_UNKNOWN_MEMBER || rc == CLUSTER_DROP_OWN_ID ||
				   rc == CLUSTER_DROP_BAD_MAC);
		free(d);
		FUZZ_CHECK(cluster_store_count(cluster_node_store(fs.n)) <= fs.c.store_capacity);
		FUZZ_CHECK(cluster_queries_count(cluster_node_queries(fs.n)) <=
			   fs.c.sync.query_max);
		fuzz_drain(&fs, now);
	}
	cluster_node_free(fs.n);
	return 0;
}
