/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster: the wire codecs against bytes written by hand from
 * cluster_wire.h's diagram (MACs from Python's hmac module), every drop
 * reason, membership timing, owner determinism and minimal movement, the
 * store, and then whole nodes wired by a simulated network with loss:
 * reliable pushes, queries and their retry bound, rate limits, the bulk
 * transfer to a joiner, re-replication after a death, and the backend-set
 * agreement with a member that lags, fails, restarts or conflicts.
 * A micro benchmark prints figures (never asserted).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "auth/auth.h"
#include "cluster/cluster.h"

#define MS(x) (1000000ULL * (x))
#define US(x) (1000ULL * (x))

static uint8_t test_key[CLUSTER_WIRE_KEY_LEN];

static void
init_key(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(test_key); i++)
		test_key[i] = (uint8_t)i;
}

/*
 * The key id and MACs below come from:
 *   python3 -c 'import hmac, hashlib; k = bytes(range(32)); \
 *     print(hmac.new(k, b"equinox-cluster key id", hashlib.sha256).hexdigest()[:8]); \
 *     print(hmac.new(k, bytes.fromhex(DATAGRAM_WITHOUT_MAC), hashlib.sha256).hexdigest()[:32])'
 */
/* clang-format off */
#define KEY_ID 0x28, 0x72, 0x9d, 0x43
#define DIGEST 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, \
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf

static const uint8_t hb_datagram[] = {
	/* magic "EC", version 1, type 1 (heartbeat), sender 2, receiver 1 */
	0x45, 0x43, 0x01, 0x01, 0x00, 0x02, 0x00, 0x01,
	/* payload 60 bytes, count 2 (live ids), flags 0, key id */
	0x00, 0x3c, 0x02, 0x00, KEY_ID,
	/* epoch 0x0123456789abcdef, datagram 1 */
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	/* ack stream 0, ack 0 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* interval 50 ms, flags in service, reserved, view 3 */
	0x00, 0x32, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03,
	/* known gen 5 and its digest */
	0x00, 0x00, 0x00, 0x05, DIGEST,
	/* applied gen 5 and its digest */
	0x00, 0x00, 0x00, 0x05, DIGEST,
	/* 42 records held, reserved, live ids 1 and 2 */
	0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02,
	/* HMAC-SHA256, first 16 bytes */
	0x7d, 0xd6, 0x4e, 0x56, 0xa8, 0x78, 0x06, 0xfa,
	0xa2, 0x94, 0x2a, 0x79, 0xd5, 0x69, 0x6f, 0x23,
};

#define V6(last) 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, \
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, (last)

static const uint8_t push_datagram[] = {
	/* magic, version 1, type 2 (push), sender 1, receiver 2 */
	0x45, 0x43, 0x01, 0x02, 0x00, 0x01, 0x00, 0x02,
	/* payload 184 bytes, 4 items, flags 0, key id */
	0x00, 0xb8, 0x04, 0x00, KEY_ID,
	/* epoch 0x77, datagram 3 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	/* ack stream 0x1122334455667788, ack 7 */
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
	/* stream 9, tx low 1, first 1 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	/* FLOW, IPv4, 32 bytes, TCP; established, client port 1234; VIP port 80 */
	0x01, 0x00, 0x20, 0x06, 0x01, 0x00, 0x04, 0xd2, 0x00, 0x50, 0x00, 0x00,
	/* lifetime 300000 ms, generation 2 */
	0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0x00, 0x02,
	/* 192.0.2.1 -> VIP 198.51.100.1, backend 10.0.0.21 */
	0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x01, 0x0a, 0x00, 0x00, 0x15,
	/* FLOW, IPv6 + IPv6 backend, 68 bytes, UDP; state udp, port 5001; VIP port 53 */
	0x01, 0x03, 0x44, 0x11, 0x03, 0x00, 0x13, 0x89, 0x00, 0x35, 0x00, 0x00,
	/* lifetime 30000 ms, generation 3 */
	0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x00, 0x03,
	/* 2001:db8::1 -> 2001:db8::2, backend 2001:db8::99 */
	V6(0x01), V6(0x02), V6(0x99),
	/* AFFINITY, IPv4 + IPv6 backend, bulk, 44 bytes, TCP; VIP port 443 */
	0x02, 0x06, 0x2c, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0xbb, 0x00, 0x00,
	/* lifetime 60000 ms, generation 1 */
	0x00, 0x00, 0xea, 0x60, 0x00, 0x00, 0x00, 0x01,
	/* client 203.0.113.1, VIP 198.51.100.2, backend 2001:db8::7 */
	0xcb, 0x00, 0x71, 0x01, 0xc6, 0x33, 0x64, 0x02, V6(0x07),
	/* BULK_BEGIN, bulk 7 */
	0x05, 0x04, 0x10, 0x00, 0x00, 0x00, 0x00, 0x07,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* HMAC-SHA256, first 16 bytes */
	0x64, 0xe1, 0x23, 0x14, 0x83, 0x98, 0xd8, 0x05,
	0x26, 0x27, 0x0b, 0x9a, 0x4c, 0xe3, 0xb6, 0xc2,
};

/* Query keys: an IPv4 flow, an IPv6 affinity key. */
static const uint8_t key_items[] = {
	0x03, 0x00, 0x10, 0x06, 0x04, 0xd2, 0x00, 0x50,
	0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x01,
	0x03, 0x09, 0x28, 0x06, 0x00, 0x00, 0x01, 0xbb, V6(0x01), V6(0x02),
};

/* GEN_PROPOSE gen 4, chunk 0 of "hello"; its digest from Python, key "equinox-cluster-gen". */
#define HELLO_DIGEST 0xdb, 0xbb, 0xaf, 0x72, 0x3e, 0x0d, 0xe5, 0xac, \
	0x35, 0xca, 0x45, 0x12, 0x12, 0xe4, 0x79, 0xe4
static const uint8_t gen_propose_body[] = {
	0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, HELLO_DIGEST,
	'h', 'e', 'l', 'l', 'o',
};
static const uint8_t gen_ack_body[] = {
	/* gen 4, partial, 10 chunks, digest, bitmap: chunks 0, 1, 9 */
	0x00, 0x00, 0x00, 0x04, 0x03, 0x00, 0x00, 0x0a, HELLO_DIGEST, 0x03, 0x02,
};
static const uint8_t gen_commit_body[] = {
	0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, HELLO_DIGEST,
};
/* clang-format on */

static void
v6(uint8_t *a, uint8_t last)
{
	static const uint8_t p[] = { 0x20, 0x01, 0x0d, 0xb8 };

	memset(a, 0, 16);
	memcpy(a, p, sizeof(p));
	a[15] = last;
}

static void
v4(uint8_t *a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	memset(a, 0, 16);
	a[0] = b0;
	a[1] = b1;
	a[2] = b2;
	a[3] = b3;
}

START_TEST(wire_heartbeat_bytes)
{
	struct cluster_wire_key k;
	struct cluster_wire_hdr h;
	struct cluster_msg_hb hb, want;
	uint8_t buf[CLUSTER_WIRE_MAX];
	const uint8_t dig[16] = { DIGEST };
	int len;

	cluster_wire_key_init(&k, test_key);
	ck_assert_uint_eq(k.key_id, 0x28729d43);
	ck_assert_int_eq(cluster_wire_peek(hb_datagram, sizeof(hb_datagram), k.key_id, 1, &h),
			 CLUSTER_WIRE_OK);
	ck_assert_int_eq(cluster_wire_authenticate(&k, hb_datagram, sizeof(hb_datagram), &h),
			 CLUSTER_WIRE_OK);
	ck_assert_uint_eq(h.type, CLUSTER_MSG_HEARTBEAT);
	ck_assert_uint_eq(h.sender, 2);
	ck_assert_uint_eq(h.receiver, 1);
	ck_assert_uint_eq(h.len, 60);
	ck_assert_uint_eq(h.count, 2);
	ck_assert(h.epoch == 0x0123456789abcdefULL && h.seq == 1);
	memset(&hb, 0, sizeof(hb));
	ck_assert_int_eq(
		cluster_wire_hb_decode(hb_datagram + CLUSTER_WIRE_HDR_LEN, h.len, h.count, &hb), 0);
	memset(&want, 0, sizeof(want));
	want.interval_ms = 50;
	want.flags = CLUSTER_HB_F_IN_SERVICE;
	want.view = 3;
	want.known_gen = want.applied_gen = 5;
	memcpy(want.known_digest, dig, 16);
	memcpy(want.applied_digest, dig, 16);
	want.records = 42;
	want.n_live = 2;
	want.live[0] = 1;
	want.live[1] = 2;
	ck_assert_mem_eq(&hb, &want, sizeof(hb));
	/* And back: the same bytes. */
	len = cluster_wire_hb_encode(buf + CLUSTER_WIRE_HDR_LEN, sizeof(buf) - CLUSTER_WIRE_HDR_LEN,
				     &want);
	ck_assert_int_eq(len, 60);
	ck_assert_int_eq(cluster_wire_seal(&k, buf, sizeof(buf), &h), (int)sizeof(hb_datagram));
	ck_assert_mem_eq(buf, hb_datagram, sizeof(hb_datagram));
}
END_TEST

START_TEST(wire_push_bytes)
{
	struct cluster_wire_key k;
	struct cluster_wire_hdr h;
	struct cluster_msg_push m;
	struct cluster_item it[4];
	struct cluster_rec r;
	uint8_t buf[CLUSTER_WIRE_MAX], *p;
	size_t off = 0;
	int i, n;

	cluster_wire_key_init(&k, test_key);
	ck_assert_int_eq(cluster_wire_peek(push_datagram, sizeof(push_datagram), k.key_id, 2, &h),
			 CLUSTER_WIRE_OK);
	ck_assert_int_eq(cluster_wire_authenticate(&k, push_datagram, sizeof(push_datagram), &h),
			 CLUSTER_WIRE_OK);
	ck_assert(h.ack_stream == 0x1122334455667788ULL && h.ack == 7 && h.count == 4);
	ck_assert_int_eq(
		cluster_wire_push_decode(push_datagram + CLUSTER_WIRE_HDR_LEN, h.len, h.count, &m),
		0);
	ck_assert(m.stream == 9 && m.tx_low == 1 && m.first == 1 && m.items_len == 160);
	for (i = 0; i < 4; i++) {
		n = cluster_wire_item_decode(m.items + off, m.items_len - off, &it[i]);
		ck_assert_int_gt(n, 0);
		off += (size_t)n;
	}
	ck_assert_uint_eq(off, m.items_len);

	/* Item 1: the IPv4 flow, 32 bytes (the bound is 40). */
	memset(&r, 0, sizeof(r));
	r.type = CLUSTER_ITEM_FLOW;
	r.state = FLOW_STATE_EST;
	r.be_family = 4;
	r.gen = 2;
	r.lifetime_ms = 300000;
	r.key.family = 4;
	r.key.proto = 6;
	r.key.sport = 1234;
	r.key.dport = 80;
	v4(r.key.src, 192, 0, 2, 1);
	v4(r.key.dst, 198, 51, 100, 1);
	v4(r.backend, 10, 0, 0, 21);
	ck_assert_uint_eq(it[0].type, CLUSTER_ITEM_FLOW);
	ck_assert_uint_eq(it[0].len, 32);
	ck_assert_mem_eq(&it[0].u.rec, &r, sizeof(r));
	ck_assert_uint_eq(cluster_wire_rec_len(&r), CLUSTER_ITEM_REC4_LEN);
	ck_assert_uint_le(CLUSTER_ITEM_REC4_LEN, 40);

	/* Item 2: IPv6 flow, IPv6 backend. */
	memset(&r, 0, sizeof(r));
	r.type = CLUSTER_ITEM_FLOW;
	r.state = FLOW_STATE_UDP;
	r.be_family = 6;
	r.gen = 3;
	r.lifetime_ms = 30000;
	r.key.family = 6;
	r.key.proto = 17;
	r.key.sport = 5001;
	r.key.dport = 53;
	v6(r.key.src, 1);
	v6(r.key.dst, 2);
	v6(r.backend, 0x99);
	ck_assert_uint_eq(it[1].len, 68);
	ck_assert_mem_eq(&it[1].u.rec, &r, sizeof(r));

	/* Item 3: an affinity entry with an IPv6 backend, sent by a bulk transfer. */
	memset(&r, 0, sizeof(r));
	r.type = CLUSTER_ITEM_AFFINITY;
	r.flags = CLUSTER_ITEM_F_BULK;
	r.be_family = 6;
	r.gen = 1;
	r.lifetime_ms = 60000;
	r.key.family = 4;
	r.key.proto = 6;
	r.key.dport = 443;
	v4(r.key.src, 203, 0, 113, 1);
	v4(r.key.dst, 198, 51, 100, 2);
	v6(r.backend, 7);
	ck_assert_uint_eq(it[2].type, CLUSTER_ITEM_AFFINITY);
	ck_assert_mem_eq(&it[2].u.rec, &r, sizeof(r));

	ck_assert_uint_eq(it[3].type, CLUSTER_ITEM_BULK_BEGIN);
	ck_assert(it[3].u.bulk.id == 7 && it[3].u.bulk.count == 0);

	/* Encoding the decoded items gives the same bytes. */
	p = buf + CLUSTER_WIRE_HDR_LEN;
	cluster_wire_push_hdr_encode(p, 9, 1, 1);
	off = CLUSTER_WIRE_PUSH_HDR_LEN;
	for (i = 0; i < 3; i++)
		off += (size_t)cluster_wire_rec_encode(p + off, 200, &it[i].u.rec);
	off += (size_t)cluster_wire_marker_encode(p + off, 200, CLUSTER_ITEM_BULK_BEGIN, 7, 0);
	ck_assert_uint_eq(off, h.len);
	ck_assert_int_eq(cluster_wire_seal(&k, buf, sizeof(buf), &h), (int)sizeof(push_datagram));
	ck_assert_mem_eq(buf, push_datagram, sizeof(push_datagram));
}
END_TEST

START_TEST(wire_query_gen_bytes)
{
	struct cluster_item a, b;
	struct cluster_msg_gen g;
	struct flow_key k;
	uint8_t buf[256];
	const uint8_t dig[16] = { HELLO_DIGEST };
	uint8_t d[16];
	int n;

	ck_assert_int_eq(
		cluster_wire_items_check(key_items, sizeof(key_items), 2, 1u << CLUSTER_ITEM_KEY),
		0);
	ck_assert_int_eq(cluster_wire_item_decode(key_items, sizeof(key_items), &a), 16);
	ck_assert_int_eq(cluster_wire_item_decode(key_items + 16, sizeof(key_items) - 16, &b), 40);
	ck_assert_uint_eq(a.u.key.rtype, CLUSTER_ITEM_FLOW);
	ck_assert(a.u.key.key.sport == 1234 && a.u.key.key.dport == 80 && a.u.key.key.proto == 6);
	ck_assert_uint_eq(b.u.key.rtype, CLUSTER_ITEM_AFFINITY);
	ck_assert(b.u.key.key.family == 6 && b.u.key.key.dport == 443 && b.u.key.key.sport == 0);
	n = cluster_wire_key_encode(buf, sizeof(buf), CLUSTER_ITEM_KEY, CLUSTER_ITEM_FLOW,
				    &a.u.key.key);
	n += cluster_wire_key_encode(buf + n, sizeof(buf) - (size_t)n, CLUSTER_ITEM_KEY,
				     CLUSTER_ITEM_AFFINITY, &b.u.key.key);
	ck_assert_int_eq(n, (int)sizeof(key_items));
	ck_assert_mem_eq(buf, key_items, sizeof(key_items));
	/* An UNKNOWN answer is the same key with another type. */
	k = a.u.key.key;
	ck_assert_int_eq(cluster_wire_key_encode(buf, sizeof(buf), CLUSTER_ITEM_UNKNOWN,
						 CLUSTER_ITEM_FLOW, &k),
			 16);
	ck_assert_uint_eq(buf[0], CLUSTER_ITEM_UNKNOWN);
	/* Not allowed in a query. */
	ck_assert_int_eq(cluster_wire_items_check(buf, 16, 1, 1u << CLUSTER_ITEM_KEY),
			 CLUSTER_DROP_MALFORMED);

	cluster_gen_digest((const uint8_t *)"hello", 5, d);
	ck_assert_mem_eq(d, dig, 16);
	ck_assert_int_eq(
		cluster_wire_gen_propose_decode(gen_propose_body, sizeof(gen_propose_body), &g), 0);
	ck_assert(g.gen == 4 && g.chunk == 0 && g.total == 5 && g.data_len == 5 && g.flags == 0);
	ck_assert_int_eq(cluster_wire_gen_propose_encode(buf, sizeof(buf), &g),
			 (int)sizeof(gen_propose_body));
	ck_assert_mem_eq(buf, gen_propose_body, sizeof(gen_propose_body));
	ck_assert_int_eq(cluster_wire_gen_ack_decode(gen_ack_body, sizeof(gen_ack_body), &g), 0);
	ck_assert(g.status == CLUSTER_GEN_ST_PARTIAL && g.chunk == 10 && g.data_len == 2);
	ck_assert_int_eq(cluster_wire_gen_ack_encode(buf, sizeof(buf), &g),
			 (int)sizeof(gen_ack_body));
	ck_assert_mem_eq(buf, gen_ack_body, sizeof(gen_ack_body));
	ck_assert_int_eq(
		cluster_wire_gen_commit_decode(gen_commit_body, sizeof(gen_commit_body), &g), 0);
	ck_assert_uint_eq(g.gen, 4);
	ck_assert_int_eq(cluster_wire_gen_commit_encode(buf, sizeof(buf), &g),
			 (int)sizeof(gen_commit_body));
	ck_assert_mem_eq(buf, gen_commit_body, sizeof(gen_commit_body));
	/* A chunk of the wrong size, a chunk past the end, a status with a bitmap. */
	ck_assert_int_ne(
		cluster_wire_gen_propose_decode(gen_propose_body, sizeof(gen_propose_body) - 1, &g),
		0);
	memcpy(buf, gen_propose_body, sizeof(gen_propose_body));
	buf[7] = 1;
	ck_assert_int_ne(cluster_wire_gen_propose_decode(buf, sizeof(gen_propose_body), &g), 0);
	memcpy(buf, gen_ack_body, sizeof(gen_ack_body));
	buf[4] = CLUSTER_GEN_ST_OK;
	ck_assert_int_ne(cluster_wire_gen_ack_decode(buf, sizeof(gen_ack_body), &g), 0);
}
END_TEST

START_TEST(wire_item_limits)
{
	uint8_t item[CLUSTER_ITEM_MAX];
	struct cluster_item it;
	struct cluster_rec r;
	int n;

	memset(&r, 0, sizeof(r));
	r.type = CLUSTER_ITEM_FLOW;
	r.be_family = 4;
	r.lifetime_ms = 1;
	r.key.family = 4;
	r.key.proto = 6;
	n = cluster_wire_rec_encode(item, sizeof(item), &r);
	ck_assert_int_eq(n, 32);
	ck_assert_int_eq(cluster_wire_item_decode(item, (size_t)n, &it), 32);
	/* Every byte that can be wrong is checked. */
	ck_assert_int_lt(cluster_wire_item_decode(item, (size_t)n - 1, &it), 0); /* short */
	item[2] = 31;
	ck_assert_int_lt(cluster_wire_item_decode(item, (size_t)n, &it), 0); /* length vs flags */
	item[2] = 32;
	item[1] = 0x80;
	ck_assert_int_lt(cluster_wire_item_decode(item, (size_t)n, &it), 0); /* unknown flag */
	item[1] = 0;
	item[4] = FLOW_STATE_MAX;
	ck_assert_int_lt(cluster_wire_item_decode(item, (size_t)n, &it), 0); /* state */
	item[4] = 0;
	item[5] = 1;
	ck_assert_int_lt(cluster_wire_item_decode(item, (size_t)n, &it), 0); /* reserved */
	item[5] = 0;
	item[0] = 99;
	ck_assert_int_lt(cluster_wire_item_decode(item, (size_t)n, &it), 0); /* type */
	item[0] = CLUSTER_ITEM_AFFINITY;
	item[7] = 1;
	ck_assert_int_lt(cluster_wire_item_decode(item, (size_t)n, &it), 0); /* affinity port */
	item[7] = 0;
	ck_assert_int_eq(cluster_wire_item_decode(item, (size_t)n, &it), 32);
	/* Records that cannot be encoded. */
	r.key.family = 5;
	ck_assert_int_eq(cluster_wire_rec_encode(item, sizeof(item), &r), -EINVAL);
	r.key.family = 6;
	r.be_family = 6;
	ck_assert_int_eq(cluster_wire_rec_encode(item, 67, &r), -EMSGSIZE);
	ck_assert_int_eq(cluster_wire_rec_encode(item, 68, &r), 68);
	/* Names. */
	ck_assert_str_eq(cluster_drop_name(CLUSTER_DROP_BAD_MAC), "bad_mac");
	ck_assert_str_eq(cluster_drop_name(CLUSTER_DROP_MAX), "unknown");
	ck_assert_str_eq(cluster_msg_name(CLUSTER_MSG_GEN_COMMIT), "gen_commit");
	ck_assert_str_eq(cluster_item_name(CLUSTER_ITEM_UNKNOWN), "unknown");
	ck_assert_str_eq(cluster_action_name(CLUSTER_ACT_SERVICE_OUT), "service_out");
	ck_assert_str_eq(cluster_reason_name(CLUSTER_REASON_BEHIND), "behind");
}
END_TEST

/* A node with members 1..n (addresses 10.200.0.<id>), self id `self`. */
static void
conf_init(struct cluster_conf *c, unsigned int n, uint16_t self, uint64_t epoch)
{
	unsigned int i;

	cluster_conf_defaults(c);
	c->self_id = self;
	c->n_members = n;
	for (i = 0; i < n; i++) {
		c->members[i].id = (uint16_t)(i + 1);
		c->members[i].family = 4;
		v4(c->members[i].addr, 10, 200, 0, (uint8_t)(i + 1));
	}
	memcpy(c->key, test_key, sizeof(c->key));
	c->epoch = epoch;
	c->store_capacity = 1u << 14;
}

/* Seal a datagram as member `from` would to `to`, with the given body. */
static int
forge(uint8_t *buf, uint16_t from, uint16_t to, uint8_t type, uint8_t count, uint64_t epoch,
      uint64_t seq, const uint8_t *body, size_t len)
{
	struct cluster_wire_key k;
	struct cluster_wire_hdr h;

	cluster_wire_key_init(&k, test_key);
	memset(&h, 0, sizeof(h));
	h.type = type;
	h.sender = from;
	h.receiver = to;
	h.len = (uint16_t)len;
	h.count = count;
	h.epoch = epoch;
	h.seq = seq;
	memcpy(buf + CLUSTER_WIRE_HDR_LEN, body, len);
	return cluster_wire_seal(&k, buf, CLUSTER_WIRE_MAX, &h);
}

static size_t
hb_for(uint8_t *body, uint16_t from)
{
	struct cluster_msg_hb hb;

	memset(&hb, 0, sizeof(hb));
	hb.interval_ms = 50;
	hb.n_live = 1;
	hb.live[0] = from;
	return (size_t)cluster_wire_hb_encode(body, 256, &hb);
}

START_TEST(wire_rejects)
{
	struct cluster_conf c;
	struct cluster_actions a = { 0 };
	struct cluster_node *n;
	uint8_t buf[CLUSTER_WIRE_MAX + 8], body[256], mac[AUTH_DIGEST_MAX];
	const struct cluster_node_stats *st;
	size_t hl = hb_for(body, 2);
	int len, d;

	conf_init(&c, 3, 1, 0x1111);
	n = cluster_node_create(&c, MS(1), &a);
	ck_assert_ptr_nonnull(n);
	st = cluster_node_stats(n);
	len = forge(buf, 2, 1, CLUSTER_MSG_HEARTBEAT, 1, 0x2222, 1, body, hl);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, CLUSTER_WIRE_MIN - 1, &a),
			 CLUSTER_DROP_TRUNCATED);
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, CLUSTER_WIRE_MAX + 1, &a),
			 CLUSTER_DROP_OVERSIZED);
	buf[0] ^= 1;
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, (size_t)len, &a), CLUSTER_DROP_BAD_MAGIC);
	buf[0] ^= 1;
	buf[2] = 2;
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, (size_t)len, &a), CLUSTER_DROP_BAD_VERSION);
	buf[2] = 1;
	buf[12] ^= 1;
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, (size_t)len, &a), CLUSTER_DROP_WRONG_KEY);
	buf[12] ^= 1;
	/* Sent to member 3, or from one we do not know, or with our own id. */
	len = forge(buf, 2, 3, CLUSTER_MSG_HEARTBEAT, 1, 0x2222, 1, body, hl);
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, (size_t)len, &a), CLUSTER_DROP_NOT_FOR_US);
	len = forge(buf, 9, 1, CLUSTER_MSG_HEARTBEAT, 1, 0x2222, 1, body, hl);
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, (size_t)len, &a),
			 CLUSTER_DROP_UNKNOWN_MEMBER);
	len = forge(buf, 1, 1, CLUSTER_MSG_HEARTBEAT, 1, 0x1111, 1, body, hl);
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, (size_t)len, &a), CLUSTER_DROP_OWN_ID);
	/* Forged: one bit of the payload, or of the MAC. */
	len = forge(buf, 2, 1, CLUSTER_MSG_HEARTBEAT, 1, 0x2222, 1, body, hl);
	buf[CLUSTER_WIRE_HDR_LEN + 3] ^= 0x10;
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, (size_t)len, &a), CLUSTER_DROP_BAD_MAC);
	buf[CLUSTER_WIRE_HDR_LEN + 3] ^= 0x10;
	buf[len - 1] ^= 1;
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, (size_t)len, &a), CLUSTER_DROP_BAD_MAC);
	buf[len - 1] ^= 1;
	/* Authentic, but its payload length disagrees with the datagram. */
	buf[9]++;
	auth_hmac1(AUTH_HMAC_SHA256, test_key, sizeof(test_key), buf,
		   (size_t)len - CLUSTER_WIRE_MAC_LEN, mac);
	memcpy(buf + len - CLUSTER_WIRE_MAC_LEN, mac, CLUSTER_WIRE_MAC_LEN);
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, (size_t)len, &a), CLUSTER_DROP_BAD_LENGTH);
	/* Accepted once, then a replay. */
	len = forge(buf, 2, 1, CLUSTER_MSG_HEARTBEAT, 1, 0x2222, 1, body, hl);
	ck_assert_int_eq(cluster_node_rx(n, MS(2), buf, (size_t)len, &a), CLUSTER_WIRE_OK);
	ck_assert_int_eq(cluster_node_rx(n, MS(3), buf, (size_t)len, &a), CLUSTER_DROP_REPLAYED);
	/* The member restarts (a new epoch); its old epoch is stale from then on. */
	len = forge(buf, 2, 1, CLUSTER_MSG_HEARTBEAT, 1, 0x3333, 1, body, hl);
	ck_assert_int_eq(cluster_node_rx(n, MS(4), buf, (size_t)len, &a), CLUSTER_WIRE_OK);
	len = forge(buf, 2, 1, CLUSTER_MSG_HEARTBEAT, 1, 0x2222, 2, body, hl);
	ck_assert_int_eq(cluster_node_rx(n, MS(4), buf, (size_t)len, &a), CLUSTER_DROP_STALE_EPOCH);
	/* Unknown type, wrong count, bad body. */
	len = forge(buf, 2, 1, 42, 1, 0x3333, 2, body, hl);
	ck_assert_int_eq(cluster_node_rx(n, MS(4), buf, (size_t)len, &a), CLUSTER_DROP_BAD_TYPE);
	len = forge(buf, 2, 1, CLUSTER_MSG_HEARTBEAT, 2, 0x3333, 3, body, hl);
	ck_assert_int_eq(cluster_node_rx(n, MS(4), buf, (size_t)len, &a), CLUSTER_DROP_BAD_COUNT);
	len = forge(buf, 2, 1, CLUSTER_MSG_QUERY, 1, 0x3333, 4, push_datagram + 72, 32);
	ck_assert_int_eq(cluster_node_rx(n, MS(4), buf, (size_t)len, &a), CLUSTER_DROP_MALFORMED);
	len = forge(buf, 2, 1, CLUSTER_MSG_ACK, 1, 0x3333, 5, body, 11);
	ck_assert_int_eq(cluster_node_rx(n, MS(4), buf, (size_t)len, &a), CLUSTER_DROP_BAD_COUNT);
	/* Every verdict was counted by name. */
	for (d = CLUSTER_DROP_TRUNCATED; d <= CLUSTER_DROP_MALFORMED; d++)
		ck_assert_msg(st->drops[d] >= 1, "%s not counted", cluster_drop_name(d));
	ck_assert_uint_eq(st->drops[CLUSTER_WIRE_OK], 2);
	cluster_node_free(n);
}
END_TEST

START_TEST(wire_hand_built_accepted)
{
	struct cluster_conf c;
	struct cluster_actions a = { 0 };
	struct cluster_node *n;
	const struct cluster_member *m;

	conf_init(&c, 2, 1, 0x1111);
	n = cluster_node_create(&c, MS(1), &a);
	ck_assert_int_eq(cluster_node_rx(n, MS(2), hb_datagram, sizeof(hb_datagram), &a),
			 CLUSTER_WIRE_OK);
	m = &cluster_node_members(n)->m[1];
	ck_assert(m->alive && m->hb.view == 3 && m->hb.records == 42 && m->hb.n_live == 2);
	ck_assert_uint_eq(cluster_node_members(n)->live, 3);
	cluster_node_free(n);
}
END_TEST

/* Owners. */

static void
rand_key(struct flow_key *k, uint64_t *rng)
{
	uint64_t x = *rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*rng = x;
	memset(k, 0, sizeof(*k));
	k->family = 4;
	k->proto = 6;
	k->sport = (uint16_t)(1024 + (x & 0xffff) % 60000);
	k->dport = 80;
	v4(k->src, 10, (uint8_t)(x >> 16), (uint8_t)(x >> 24), (uint8_t)(x >> 32));
	v4(k->dst, 198, 51, 100, 1);
}

START_TEST(owner_determinism_and_movement)
{
	const uint16_t ids[5] = { 3, 7, 11, 12, 40 };
	const uint16_t rev[5] = { 40, 12, 11, 7, 3 };
	unsigned int owned[5] = { 0 }, moved = 0, i, n = 20000;
	uint64_t rng = 88172645463325252ULL, h;
	int o, r, o2, r2, o3, r3;
	struct flow_key k, k2;

	for (i = 0; i < n; i++) {
		rand_key(&k, &rng);
		h = cluster_owner_hash(CLUSTER_ITEM_FLOW, &k);
		cluster_owner_pick(ids, 0x1f, h, &o, &r);
		ck_assert(o >= 0 && r >= 0 && o != r);
		/* The order of the member list does not matter: ids do. */
		cluster_owner_pick(rev, 0x1f, h, &o2, &r2);
		ck_assert_uint_eq(ids[o], rev[o2]);
		ck_assert_uint_eq(ids[r], rev[r2]);
		owned[o]++;
		/* Member 11 (index 2) leaves: only its keys move, each to its replica. */
		cluster_owner_pick(ids, 0x1f & ~(1u << 2), h, &o3, &r3);
		if (o == 2) {
			ck_assert_int_eq(o3, r);
			moved++;
		} else {
			ck_assert_int_eq(o3, o);
		}
		/* And a sixth member joining takes keys only for itself. */
		{
			const uint16_t six[6] = { 3, 7, 11, 12, 40, 99 };

			cluster_owner_pick(six, 0x3f, h, &o3, &r3);
			ck_assert(o3 == o || o3 == 5);
		}
	}
	ck_assert_uint_eq(moved, owned[2]);
	/* Balance: every member owns a fifth, give or take 10%. */
	for (i = 0; i < 5; i++)
		ck_assert_msg(owned[i] > n / 5 * 9 / 10 && owned[i] < n / 5 * 11 / 10,
			      "member %u owns %u", ids[i], owned[i]);
	/* Affinity: the client address alone. */
	rand_key(&k, &rng);
	k2 = k;
	k2.sport = 1;
	k2.dport = 443;
	v4(k2.dst, 198, 51, 100, 9);
	ck_assert(cluster_owner_hash(CLUSTER_ITEM_AFFINITY, &k) ==
		  cluster_owner_hash(CLUSTER_ITEM_AFFINITY, &k2));
	ck_assert(cluster_owner_hash(CLUSTER_ITEM_FLOW, &k) !=
		  cluster_owner_hash(CLUSTER_ITEM_FLOW, &k2));
	/* One member: owner, no replica; none: nothing. */
	cluster_owner_pick(ids, 0x4, 12345, &o, &r);
	ck_assert(o == 2 && r == -1);
	cluster_owner_pick(ids, 0, 12345, &o, &r);
	ck_assert(o == -1 && r == -1);
	/* A fixed vector: the hash is the same on every host and build. */
	memset(&k, 0, sizeof(k));
	k.family = 4;
	k.proto = 6;
	k.sport = 1234;
	k.dport = 80;
	v4(k.src, 192, 0, 2, 1);
	v4(k.dst, 198, 51, 100, 1);
	/* Members of different builds must agree: a change of the hash is a protocol change. */
	h = cluster_owner_hash(CLUSTER_ITEM_FLOW, &k);
	ck_assert_msg(h == 0xf3a2f08ab245616cULL, "owner hash %016llx", (unsigned long long)h);
	ck_assert(cluster_owner_score(h, 1) == cluster_owner_score(h, 1));
	ck_assert(cluster_owner_score(h, 1) != cluster_owner_score(h, 2));
}
END_TEST

/* Store. */

static void
rec_init(struct cluster_rec *r, uint32_t i, uint32_t lifetime_ms)
{
	memset(r, 0, sizeof(*r));
	r->type = CLUSTER_ITEM_FLOW;
	r->state = FLOW_STATE_EST;
	r->be_family = 4;
	r->lifetime_ms = lifetime_ms;
	r->gen = 1;
	r->key.family = 4;
	r->key.proto = 6;
	r->key.sport = (uint16_t)(i & 0xffff);
	r->key.dport = 80;
	v4(r->key.src, 10, 1, (uint8_t)(i >> 16), (uint8_t)(i >> 8));
	v4(r->key.dst, 198, 51, 100, 1);
	v4(r->backend, 10, 0, 0, (uint8_t)(i % 7 + 1));
}

START_TEST(store_basic)
{
	struct cluster_store *s = cluster_store_create(1000);
	struct cluster_rec r, got;
	uint32_t i, n = 0;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < 1000; i++) {
		rec_init(&r, i, 1000 + i);
		ck_assert_int_eq(cluster_store_put(s, MS(10), &r), 0);
	}
	ck_assert_uint_eq(cluster_store_count(s), 1000);
	rec_init(&r, 5000, 1000);
	ck_assert_int_eq(cluster_store_put(s, MS(10), &r), -ENOSPC);
	ck_assert_uint_eq(cluster_store_stats(s)->full, 1);
	/* Lookups, with the lifetime that is left. */
	rec_init(&r, 7, 0);
	ck_assert(cluster_store_get(s, MS(500), CLUSTER_ITEM_FLOW, &r.key, &got));
	ck_assert_uint_eq(got.lifetime_ms, 1007 - 490);
	ck_assert_mem_eq(got.backend, r.backend, 16);
	ck_assert(!cluster_store_get(s, MS(500), CLUSTER_ITEM_AFFINITY, &r.key, &got));
	/* A live record replaces; a bulk record only extends; lifetime 0 deletes. */
	rec_init(&r, 7, 5000);
	v4(r.backend, 10, 0, 0, 99);
	ck_assert_int_eq(cluster_store_put(s, MS(500), &r), 0);
	ck_assert(cluster_store_get(s, MS(500), CLUSTER_ITEM_FLOW, &r.key, &got));
	ck_assert_uint_eq(got.backend[3], 99);
	r.flags = CLUSTER_ITEM_F_BULK;
	r.backend[3] = 98;
	r.lifetime_ms = 9000;
	ck_assert_int_eq(cluster_store_put(s, MS(500), &r), 0);
	ck_assert(cluster_store_get(s, MS(500), CLUSTER_ITEM_FLOW, &r.key, &got));
	ck_assert(got.backend[3] == 99 && got.lifetime_ms == 9000);
	r.flags = 0;
	r.lifetime_ms = 0;
	ck_assert_int_eq(cluster_store_put(s, MS(500), &r), 0);
	ck_assert(!cluster_store_get(s, MS(500), CLUSTER_ITEM_FLOW, &r.key, &got));
	ck_assert_uint_eq(cluster_store_count(s), 999);
	/* Expiry: an entry lives exactly its lifetime. */
	rec_init(&r, 8, 0);
	ck_assert(cluster_store_get(s, MS(10) + MS(1008) - 1, CLUSTER_ITEM_FLOW, &r.key, &got));
	ck_assert(!cluster_store_get(s, MS(10) + MS(1008), CLUSTER_ITEM_FLOW, &r.key, &got));
	/* Ageing in slices frees the rest; positions hold only live entries. */
	for (i = 0; i < 10; i++)
		n += cluster_store_expire(s, MS(1600), 100);
	/* Entries 0 .. 590 expire by 1600 ms (7 deleted and 8 freed by the lookup before). */
	ck_assert_uint_eq(cluster_store_count(s), 1000 - 1 - 1 - n);
	ck_assert_uint_eq(cluster_store_count(s), 1000 - 591);
	for (i = 0, n = 0; i < cluster_store_capacity(s); i++)
		n += cluster_store_at(s, i, MS(1600), &got);
	ck_assert_uint_eq(n, cluster_store_count(s));
	cluster_store_clear(s);
	ck_assert_uint_eq(cluster_store_count(s), 0);
	cluster_store_free(s);
	ck_assert_ptr_null(cluster_store_create(0));
}
END_TEST

START_TEST(bucket_rates)
{
	struct cluster_bucket b;
	uint64_t t = MS(1), got = 0;
	uint32_t a;

	cluster_bucket_init(&b, 10000, 100, t);
	ck_assert_uint_eq(cluster_bucket_avail(&b, t), 100);
	cluster_bucket_take(&b, 100);
	ck_assert_uint_eq(cluster_bucket_avail(&b, t), 0);
	ck_assert(cluster_bucket_when(&b, t, 1) == t + US(100));
	/* Over one second, at most burst + rate. */
	for (; t <= MS(1001); t += US(37)) {
		a = cluster_bucket_avail(&b, t);
		cluster_bucket_take(&b, a);
		got += a;
	}
	ck_assert(got >= 9990 && got <= 10000);
	/* A long pause refills to the burst, no more, without overflow. */
	ck_assert_uint_eq(cluster_bucket_avail(&b, t + 3600ULL * 1000000000ULL), 100);
	cluster_bucket_init(&b, 0, 0, t);
	ck_assert_uint_eq(cluster_bucket_avail(&b, t), UINT32_MAX);
}
END_TEST

/* The stream on its own: reordering, duplicates and loss between two streams. */
struct stream_rx_log {
	uint64_t next;
	uint64_t bad;
};

static void
stream_deliver(void *arg, uint64_t seq, const struct cluster_item *it)
{
	struct stream_rx_log *l = arg;

	if (seq != l->next || it->u.rec.key.sport != (uint16_t)seq)
		l->bad++;
	l->next = seq + 1;
}

START_TEST(stream_reorder_duplicates)
{
	struct cluster_sync_conf c;
	struct cluster_stream *a, *b;
	struct stream_rx_log log = { 1, 0 };
	uint8_t pend[8][1400], item[CLUSTER_ITEM_MAX], cnt[8], count;
	size_t plen[8], len;
	struct cluster_sack sack[CLUSTER_WIRE_SACK_MAX];
	struct cluster_msg_push m;
	struct cluster_rec r;
	uint64_t now = MS(1), rng = 12345, st, ak;
	unsigned int i, np = 0, ns, round;

	cluster_sync_conf_defaults(&c);
	c.queue = 1024;
	c.window = 256;
	c.bulk_reserve = 16;
	a = cluster_stream_create(&c, 1, now);
	b = cluster_stream_create(&c, 2, now);
	for (i = 1; i <= 3000; i++) {
		rec_init(&r, i, 1000);
		r.key.sport = (uint16_t)i;
		len = (size_t)cluster_wire_rec_encode(item, sizeof(item), &r);
		while (cluster_stream_push(a, item, len, 0) < 0) {
			/* Full: let the network run. */
			for (round = 0; round < 4; round++) {
				now += US(100);
				cluster_stream_tick(a, now);
				while (np < 8 &&
				       (plen[np] = cluster_stream_tx(a, now, pend[np], 1336, 41,
								     &cnt[np])) > 0)
					np++;
				/* Deliver in a shuffled order, some twice, some never. */
				while (np > 0) {
					rng ^= rng << 13;
					rng ^= rng >> 7;
					rng ^= rng << 17;
					ns = (unsigned int)(rng % np);
					if (rng % 10 != 0) {
						ck_assert_int_eq(
							cluster_wire_push_decode(pend[ns], plen[ns],
										 cnt[ns], &m),
							0);
						cluster_stream_rx_push(b, now, &m, cnt[ns],
								       stream_deliver, &log);
						if (rng % 7 == 0)
							cluster_stream_rx_push(b, now, &m, cnt[ns],
									       stream_deliver,
									       &log);
					}
					memmove(pend[ns], pend[np - 1], plen[np - 1]);
					plen[ns] = plen[np - 1];
					cnt[ns] = cnt[np - 1];
					np--;
				}
				/* B acks (header fields, and its ranges), lossy too. */
				cluster_stream_ackhdr(b, &st, &ak);
				if (rng % 5 != 0) {
					cluster_stream_rx_ackhdr(a, now, st, ak);
					count = (uint8_t)cluster_stream_sack(b, sack,
									     CLUSTER_WIRE_SACK_MAX);
					cluster_stream_rx_sack(a, now, st, sack, count);
				}
			}
		}
	}
	for (round = 0; round < 20000 && cluster_stream_backlog(a) > 0; round++) {
		now += US(100);
		cluster_stream_tick(a, now);
		while ((len = cluster_stream_tx(a, now, pend[0], 1336, 41, &cnt[0])) > 0) {
			if (round % 3 == 0)
				continue; /* lost */
			ck_assert_int_eq(cluster_wire_push_decode(pend[0], len, cnt[0], &m), 0);
			cluster_stream_rx_push(b, now, &m, cnt[0], stream_deliver, &log);
		}
		cluster_stream_ackhdr(b, &st, &ak);
		cluster_stream_rx_ackhdr(a, now, st, ak);
		count = (uint8_t)cluster_stream_sack(b, sack, CLUSTER_WIRE_SACK_MAX);
		cluster_stream_rx_sack(a, now, st, sack, count);
	}
	ck_assert_uint_eq(cluster_stream_backlog(a), 0);
	ck_assert_uint_eq(log.bad, 0);
	ck_assert_uint_eq(log.next, 3001);
	ck_assert_uint_eq(cluster_stream_stats(b)->delivered, 3000);
	ck_assert_uint_gt(cluster_stream_stats(b)->rx_duplicates, 0);
	ck_assert_uint_gt(cluster_stream_stats(a)->resent, 0);
	/* The sender starts over (its peer restarted): the receiver follows the new id. */
	cluster_stream_reset_tx(a, now);
	rec_init(&r, 1, 1000);
	r.key.sport = 1;
	len = (size_t)cluster_wire_rec_encode(item, sizeof(item), &r);
	ck_assert_int_eq(cluster_stream_push(a, item, len, 0), 0);
	len = cluster_stream_tx(a, now, pend[0], 1336, 41, &cnt[0]);
	ck_assert_int_eq(cluster_wire_push_decode(pend[0], len, cnt[0], &m), 0);
	log.next = 1;
	ck_assert_uint_eq(cluster_stream_rx_push(b, now, &m, cnt[0], stream_deliver, &log), 1);
	ck_assert_uint_eq(log.bad, 0);
	ck_assert_uint_eq(cluster_stream_stats(b)->rx_resets, 1);
	/*
	 * A late SACK of the old stream (st; its numbers start at 1 too) marks
	 * nothing of the new one: the record is sent again when its timer runs out.
	 */
	sack[0].first = 1;
	sack[0].count = 1;
	cluster_stream_rx_sack(a, now, st, sack, 1);
	ck_assert_uint_eq(cluster_stream_backlog(a), 1);
	i = (unsigned int)cluster_stream_stats(a)->resent;
	now += MS(10000);
	cluster_stream_tick(a, now);
	ck_assert_uint_gt(cluster_stream_tx(a, now, pend[0], 1336, 41, &cnt[0]), 0);
	ck_assert_uint_eq(cluster_stream_stats(a)->resent, i + 1);
	cluster_stream_free(a);
	cluster_stream_free(b);
}
END_TEST

/*
 * The simulated network: nodes 1..n, every datagram delayed by `latency`,
 * lost with probability loss_pct, or cut per (from, to). Actions are
 * applied as an agent would: prepares answered (ok unless fail_prepare),
 * the rest logged.
 */
#define SIM_MAX 6
#define SIM_QUEUE 65536

struct sim_pkt {
	uint64_t at;
	int from, to;
	size_t len;
	uint8_t *buf;
};

struct sim_node {
	struct cluster_node *n;
	bool up;
	bool fail_prepare;
	uint64_t epoch;
	uint64_t acts[CLUSTER_ACT_MAX];
	bool in_service;
	uint8_t service_reason;
	uint32_t committed;
	uint32_t aborted;
	uint32_t prepared_reason[CLUSTER_REASON_MAX];
	uint64_t out_of_service_ns;
	struct cluster_action last_install;
	struct cluster_action last_failed;
	uint64_t install_cookies;
	uint64_t ticks;
	uint64_t delivered;
	uint64_t deliver_next; /* stream from member 1: next number expected */
	uint64_t deliver_bad;
};

struct sim {
	struct sim_node node[SIM_MAX];
	unsigned int n;
	uint64_t now;
	uint64_t latency;
	uint32_t loss_pct;
	bool cut[SIM_MAX][SIM_MAX];
	struct sim_pkt q[SIM_QUEUE];
	unsigned int qhead, qn;
	uint64_t rng;
	uint64_t sent[SIM_MAX][CLUSTER_MSG_MAX];
	uint64_t dropped;
	struct cluster_conf base;
	const uint8_t *blob0;
	uint32_t blob0_len;
};

static uint64_t
sim_rand(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static void sim_apply(struct sim *s, int i, struct cluster_actions *a);

static void
sim_deliver_cb(void *arg, uint16_t from, uint64_t seq, const struct cluster_item *it)
{
	struct sim_node *sn = arg;

	if (it->type == CLUSTER_ITEM_FLOW || it->type == CLUSTER_ITEM_AFFINITY)
		sn->delivered++;
	if (from != 1)
		return;
	if (seq != sn->deliver_next)
		sn->deliver_bad++;
	sn->deliver_next = seq + 1;
}

static void
sim_apply(struct sim *s, int i, struct cluster_actions *a)
{
	struct sim_node *sn = &s->node[i];
	struct cluster_actions more;
	unsigned int k;

	ck_assert_uint_eq(a->dropped, 0);
	for (k = 0; k < a->n; k++) {
		const struct cluster_action *x = &a->a[k];

		sn->acts[x->type]++;
		switch (x->type) {
		case CLUSTER_ACT_GEN_PREPARE:
			sn->prepared_reason[x->reason]++;
			ck_assert(x->blob != NULL && x->blob_len > 0);
			more.n = more.dropped = 0;
			cluster_node_gen_prepared(sn->n, s->now, x->gen, !sn->fail_prepare, &more);
			sim_apply(s, i, &more);
			break;
		case CLUSTER_ACT_GEN_COMMIT:
			sn->committed = x->gen;
			break;
		case CLUSTER_ACT_GEN_ABORT:
			sn->aborted++;
			break;
		case CLUSTER_ACT_SERVICE_IN:
			sn->in_service = true;
			sn->service_reason = x->reason;
			break;
		case CLUSTER_ACT_SERVICE_OUT:
			if (sn->in_service || sn->out_of_service_ns == 0)
				sn->out_of_service_ns = s->now;
			sn->in_service = false;
			sn->service_reason = x->reason;
			break;
		case CLUSTER_ACT_INSTALL:
			sn->last_install = *x;
			sn->install_cookies |= x->cookie;
			break;
		case CLUSTER_ACT_QUERY_FAILED:
			sn->last_failed = *x;
			break;
		}
	}
}

static const uint8_t default_blob[] = "vips: 198.51.100.1:80 -> 10.0.0.1, 10.0.0.2 (generation 0)";

static void
sim_init(struct sim *s, unsigned int n)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->now = MS(1000);
	s->latency = US(100);
	/* Another seed (CLUSTER_SIM_SEED=n) replays every scenario with other losses. */
	s->rng = 0x9e3779b97f4a7c15ULL;
	if (getenv("CLUSTER_SIM_SEED") != NULL)
		s->rng ^= strtoull(getenv("CLUSTER_SIM_SEED"), NULL, 0) * 0xbf58476d1ce4e5b9ULL;
	if (s->rng == 0)
		s->rng = 1;
	conf_init(&s->base, n, 1, 1);
	s->blob0 = default_blob;
	s->blob0_len = sizeof(default_blob);
}

static void
sim_start(struct sim *s, int i)
{
	struct sim_node *sn = &s->node[i];
	struct cluster_actions a = { 0 };
	struct cluster_conf c = s->base;

	c.self_id = (uint16_t)(i + 1);
	sn->epoch = (sim_rand(s) | 1) ^ (uint64_t)(i + 1) << 56;
	c.epoch = sn->epoch;
	sn->n = cluster_node_create(&c, s->now, &a);
	ck_assert_ptr_nonnull(sn->n);
	sn->up = true;
	sn->deliver_next = 1;
	cluster_node_set_deliver(sn->n, sim_deliver_cb, sn);
	sim_apply(s, i, &a);
	a.n = 0;
	ck_assert_int_eq(cluster_node_gen_local(sn->n, s->now, s->blob0, s->blob0_len, &a), 0);
	sim_apply(s, i, &a);
}

static void
sim_stop(struct sim *s, int i)
{
	struct sim_node *sn = &s->node[i];

	cluster_node_free(sn->n);
	memset(sn, 0, sizeof(*sn));
}

static void
sim_send(struct sim *s, int from, int to, const uint8_t *buf, size_t len)
{
	struct sim_pkt *p;

	s->sent[from][buf[3] < CLUSTER_MSG_MAX ? buf[3] : 0]++;
	if (s->cut[from][to] || (s->loss_pct != 0 && sim_rand(s) % 100 < s->loss_pct) ||
	    s->qn == SIM_QUEUE) {
		s->dropped++;
		return;
	}
	p = &s->q[(s->qhead + s->qn) % SIM_QUEUE];
	p->at = s->now + s->latency;
	p->from = from;
	p->to = to;
	p->len = len;
	p->buf = malloc(len);
	ck_assert_ptr_nonnull(p->buf);
	memcpy(p->buf, buf, len);
	s->qn++;
}

static void
sim_drain(struct sim *s, int i)
{
	uint8_t buf[CLUSTER_WIRE_MAX];
	uint16_t to;
	int len, k;

	for (k = 0; k < 100000; k++) {
		len = cluster_node_tx(s->node[i].n, s->now, buf, sizeof(buf), &to);
		if (len == 0)
			return;
		ck_assert(len > 0 && len <= CLUSTER_WIRE_MAX && to >= 1 && to <= s->n);
		sim_send(s, i, to - 1, buf, (size_t)len);
	}
	ck_abort_msg("node %d never stops sending", i + 1);
}

/* One step of dt: deliveries due, ticks due, sends. */
static void
sim_step(struct sim *s, uint64_t dt)
{
	struct cluster_actions a;
	unsigned int i;

	s->now += dt;
	while (s->qn > 0 && s->q[s->qhead].at <= s->now) {
		struct sim_pkt *p = &s->q[s->qhead];

		if (s->node[p->to].up) {
			a.n = a.dropped = 0;
			cluster_node_rx(s->node[p->to].n, s->now, p->buf, p->len, &a);
			sim_apply(s, p->to, &a);
		}
		free(p->buf);
		s->qhead = (s->qhead + 1) % SIM_QUEUE;
		s->qn--;
	}
	for (i = 0; i < s->n; i++) {
		if (!s->node[i].up)
			continue;
		if (s->now >= cluster_node_next_deadline(s->node[i].n)) {
			a.n = a.dropped = 0;
			s->node[i].ticks++;
			cluster_node_tick(s->node[i].n, s->now, &a);
			sim_apply(s, (int)i, &a);
		}
		sim_drain(s, (int)i);
	}
}

static void
sim_run(struct sim *s, uint64_t dur)
{
	uint64_t end = s->now + dur;

	while (s->now < end)
		sim_step(s, US(100));
}

/*
 * Run dur with nothing happening: the most ticks any node took. A node whose
 * next deadline stays in the past would take one per step.
 */
static uint64_t
sim_quiet_ticks(struct sim *s, uint64_t dur)
{
	uint64_t before[SIM_MAX], most = 0;
	unsigned int i;

	for (i = 0; i < s->n; i++)
		before[i] = s->node[i].ticks;
	sim_run(s, dur);
	for (i = 0; i < s->n; i++)
		if (s->node[i].up && s->node[i].ticks - before[i] > most)
			most = s->node[i].ticks - before[i];
	return most;
}

static void
sim_free(struct sim *s)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (s->node[i].up)
			sim_stop(s, (int)i);
	while (s->qn > 0) {
		free(s->q[s->qhead].buf);
		s->qhead = (s->qhead + 1) % SIM_QUEUE;
		s->qn--;
	}
}

static struct sim *
sim_new(unsigned int n)
{
	struct sim *s = malloc(sizeof(*s));

	ck_assert_ptr_nonnull(s);
	sim_init(s, n);
	return s;
}

static void
sim_cut(struct sim *s, int a, int b, bool cut)
{
	s->cut[a][b] = cut;
	s->cut[b][a] = cut;
}

START_TEST(members_timing)
{
	struct sim *s = sim_new(3);
	const struct cluster_members *ms;
	uint64_t t0, t_down = 0;
	unsigned int i;

	for (i = 0; i < 3; i++)
		sim_start(s, (int)i);
	/* Heartbeats every 50 ms: everyone is up within one interval. */
	sim_run(s, MS(60));
	for (i = 0; i < 3; i++) {
		ms = cluster_node_members(s->node[i].n);
		ck_assert_uint_eq(ms->live, 7);
		ck_assert_uint_eq(s->node[i].acts[CLUSTER_ACT_MEMBER_UP], 2);
		ck_assert(s->node[i].in_service); /* every member heard: the start is over */
	}
	/* Idle: heartbeats and the ageing slices, not a tick every step (10000 steps). */
	ck_assert_uint_lt(sim_quiet_ticks(s, MS(1000)), 400);
	/* Member 3 goes silent: dead after 4 missed heartbeats (200 ms), not before 150. */
	s->cut[2][0] = s->cut[2][1] = true;
	t0 = s->now;
	ms = cluster_node_members(s->node[0].n);
	while (s->now < t0 + MS(400) && t_down == 0) {
		sim_step(s, US(100));
		if (!(ms->live & 4))
			t_down = s->now;
	}
	ck_assert_uint_ne(t_down, 0);
	ck_assert_msg(t_down - t0 >= MS(150) && t_down - t0 <= MS(250), "down after %llu ms",
		      (unsigned long long)((t_down - t0) / MS(1)));
	ck_assert_uint_eq(s->node[0].acts[CLUSTER_ACT_MEMBER_DOWN], 1);
	ck_assert_uint_eq(ms->m[2].downs, 1);
	/* It comes back: up again at its next heartbeat. The view counted every change. */
	s->cut[2][0] = s->cut[2][1] = false;
	sim_run(s, MS(60));
	ck_assert_uint_eq(ms->live, 7);
	ck_assert_uint_eq(ms->view, 4); /* 2 up, 3 up, 3 down, 3 up */
	/* It restarts (a new epoch): reported as such, once. */
	sim_stop(s, 2);
	sim_start(s, 2);
	sim_run(s, MS(60));
	ck_assert_uint_eq(ms->m[2].restarts, 1);
	ck_assert_uint_eq(ms->live, 7);
	ck_assert_uint_eq(ms->view, 5);
	sim_free(s);
	free(s);
}
END_TEST

START_TEST(push_lossy_exactly_once)
{
	struct sim *s = sim_new(2);
	struct cluster_rec r, got;
	struct cluster_store *st;
	uint32_t i, next = 0, total = 20000;

	/* This test is about the stream: heartbeats are lost too, so death is made slow. */
	s->base.dead_count = 40;
	s->base.sync.queue = 65536;
	s->base.store_capacity = 65536;
	sim_start(s, 0);
	sim_start(s, 1);
	sim_run(s, MS(60));
	s->loss_pct = 30;
	while (next < total) {
		for (i = 0; i < 100 && next < total; i++, next++) {
			rec_init(&r, next, 600000);
			ck_assert_int_eq(cluster_node_push(s->node[0].n, s->now, &r), 0);
		}
		sim_step(s, US(100));
	}
	sim_run(s, MS(3000));
	ck_assert_uint_eq(s->node[1].deliver_bad, 0);
	ck_assert_uint_eq(s->node[1].delivered, total);
	/* The stream also carried the markers of the bulk at the join: BEGIN, END (0 records). */
	ck_assert_uint_eq(s->node[1].deliver_next, total + 3);
	ck_assert_uint_eq(cluster_stream_backlog(cluster_node_stream(s->node[0].n, 2)), 0);
	ck_assert_uint_gt(cluster_stream_stats(cluster_node_stream(s->node[0].n, 2))->resent, 0);
	/* Both hold every record: two members, so each is owner or replica of all. */
	st = cluster_node_store(s->node[1].n);
	ck_assert_uint_eq(cluster_store_count(st), total);
	ck_assert_uint_eq(cluster_store_count(cluster_node_store(s->node[0].n)), total);
	rec_init(&r, 4242, 0);
	ck_assert(cluster_store_get(st, s->now, CLUSTER_ITEM_FLOW, &r.key, &got));
	ck_assert_mem_eq(got.backend, r.backend, 16);
	printf("lossy push: %u records, %llu resent, %llu datagrams lost\n", total,
	       (unsigned long long)cluster_stream_stats(cluster_node_stream(s->node[0].n, 2))
		       ->resent,
	       (unsigned long long)s->dropped);
	sim_free(s);
	free(s);
}
END_TEST

/* A record whose owner and replica are neither member `not`. */
static void
rec_owned_elsewhere(struct sim *s, int not, struct cluster_rec *r, uint32_t seed)
{
	uint16_t o, rp;
	uint32_t i;

	for (i = seed;; i++) {
		rec_init(r, i, 600000);
		cluster_node_owner(s->node[not ].n, r->type, &r->key, &o, &rp);
		if (o != not +1 && rp != not +1)
			return;
	}
}

START_TEST(query_answer_retry_bound)
{
	struct sim *s = sim_new(4);
	struct cluster_actions a = { 0 };
	struct cluster_rec r;
	struct sim_node *d;
	uint16_t o, rp;
	uint64_t t0, q0;
	unsigned int i;

	s->base.dead_count = 1000; /* cut links must not look like deaths here */
	for (i = 0; i < 4; i++)
		sim_start(s, (int)i);
	sim_run(s, MS(60));
	/* Member 1 records a flow; member 4, which holds no copy, asks for it. */
	rec_owned_elsewhere(s, 3, &r, 100);
	ck_assert_int_eq(cluster_node_push(s->node[0].n, s->now, &r), 0);
	sim_run(s, MS(5));
	d = &s->node[3];
	ck_assert_int_eq(cluster_node_query(d->n, s->now, CLUSTER_ITEM_FLOW, &r.key, 1, &a), 0);
	ck_assert_int_eq(cluster_node_query(d->n, s->now, CLUSTER_ITEM_FLOW, &r.key, 4, &a),
			 -EALREADY);
	ck_assert_uint_eq(a.n, 0);
	t0 = s->now;
	while (d->acts[CLUSTER_ACT_INSTALL] == 0 && s->now < t0 + MS(10))
		sim_step(s, US(100));
	ck_assert_uint_eq(d->acts[CLUSTER_ACT_INSTALL], 1);
	ck_assert_uint_eq(d->last_install.cookie, 5);
	ck_assert_mem_eq(&d->last_install.rec.key, &r.key, sizeof(r.key));
	ck_assert_mem_eq(d->last_install.rec.backend, r.backend, 16);
	ck_assert_uint_eq(d->last_install.rec.state, FLOW_STATE_EST);
	/* One network round trip (2 x 100 us) and a step of the simulation. */
	ck_assert_uint_le(s->now - t0, US(400));

	/* The owner itself answers from its own store at once. */
	cluster_node_owner(d->n, r.type, &r.key, &o, &rp);
	a.n = 0;
	ck_assert_int_eq(
		cluster_node_query(s->node[o - 1].n, s->now, CLUSTER_ITEM_FLOW, &r.key, 2, &a), 0);
	ck_assert_uint_eq(a.n, 1);
	ck_assert(a.a[0].type == CLUSTER_ACT_INSTALL && a.a[0].reason == CLUSTER_REASON_LOCAL);

	/* A key nobody knows: owner says unknown, then the replica: failed, unknown. */
	rec_owned_elsewhere(s, 3, &r, 5000);
	a.n = 0;
	ck_assert_int_eq(cluster_node_query(d->n, s->now, CLUSTER_ITEM_FLOW, &r.key, 8, &a), 0);
	sim_run(s, MS(2));
	ck_assert_uint_eq(d->acts[CLUSTER_ACT_QUERY_FAILED], 1);
	ck_assert_uint_eq(d->last_failed.reason, CLUSTER_REASON_UNKNOWN);
	ck_assert_uint_eq(d->last_failed.cookie, 8);

	/* Owner and replica unreachable: query_tries sends to each, then it fails. */
	rec_owned_elsewhere(s, 3, &r, 9000);
	cluster_node_owner(d->n, r.type, &r.key, &o, &rp);
	sim_cut(s, 3, o - 1, true);
	sim_cut(s, 3, rp - 1, true);
	q0 = s->sent[3][CLUSTER_MSG_QUERY];
	t0 = s->now;
	a.n = 0;
	ck_assert_int_eq(cluster_node_query(d->n, s->now, CLUSTER_ITEM_FLOW, &r.key, 16, &a), 0);
	while (d->acts[CLUSTER_ACT_QUERY_FAILED] == 1 && s->now < t0 + MS(200))
		sim_step(s, US(100));
	ck_assert_uint_eq(d->acts[CLUSTER_ACT_QUERY_FAILED], 2);
	ck_assert_uint_eq(d->last_failed.reason, CLUSTER_REASON_TIMEOUT);
	ck_assert_uint_eq(d->last_failed.cookie, 16);
	ck_assert_uint_eq(s->sent[3][CLUSTER_MSG_QUERY] - q0, 2 * s->base.sync.query_tries);
	/* 2 targets x 3 tries x 5 ms, within a step or two. */
	ck_assert_uint_ge(s->now - t0, MS(30));
	ck_assert_uint_le(s->now - t0, MS(31));
	ck_assert_uint_eq(cluster_queries_count(cluster_node_queries(d->n)), 0);
	sim_free(s);
	free(s);
}
END_TEST

START_TEST(rate_limit)
{
	struct sim *s = sim_new(2);
	struct cluster_rec r;
	uint64_t pushed0, t0;
	const struct cluster_stream_stats *ss;
	uint32_t i;

	s->base.sync.peer_records_per_s = 10000;
	s->base.sync.peer_records_burst = 100;
	s->base.sync.queue = 65536;
	sim_start(s, 0);
	sim_start(s, 1);
	sim_run(s, MS(60));
	for (i = 0; i < 50000; i++) {
		rec_init(&r, i, 600000);
		ck_assert_int_eq(cluster_node_push(s->node[0].n, s->now, &r), 0);
	}
	ss = cluster_stream_stats(cluster_node_stream(s->node[0].n, 2));
	pushed0 = ss->sent;
	t0 = s->now;
	sim_run(s, MS(1000));
	/* One second: the burst and the rate, no more (and no less than the rate). */
	ck_assert_msg(ss->sent - pushed0 >= 10000 && ss->sent - pushed0 <= 10100,
		      "%llu records in 1 s", (unsigned long long)(ss->sent - pushed0));
	ck_assert_uint_gt(cluster_node_stats(s->node[0].n)->tx_rate_limited, 0);
	/* Heartbeats are never held back: nobody died meanwhile. */
	ck_assert_uint_eq(cluster_node_members(s->node[1].n)->live, 3);
	ck_assert_uint_eq(cluster_node_members(s->node[0].n)->live, 3);
	(void)t0;
	sim_free(s);
	free(s);
}
END_TEST

START_TEST(rx_rate_limit)
{
	struct sim *s = sim_new(2);
	struct cluster_rec r;
	uint32_t i;

	/*
	 * Member 2 takes 5000 records a second from member 1, which may send far
	 * more (a misconfigured or flooding peer): a burst that covers a window.
	 */
	s->base.sync.rx_records_per_s = 5000;
	s->base.sync.rx_records_burst = 1000;
	s->base.dead_count = 100;
	sim_start(s, 0);
	sim_start(s, 1);
	sim_run(s, MS(60));
	for (i = 0; i < 2000; i++) {
		rec_init(&r, i, 600000);
		ck_assert_int_eq(cluster_node_push(s->node[0].n, s->now, &r), 0);
	}
	sim_run(s, MS(200));
	/* Too many: records were left unacknowledged, and not all is there yet. */
	ck_assert_uint_gt(cluster_node_stats(s->node[1].n)->rx_rate_limited, 0);
	ck_assert_uint_lt(s->node[1].delivered, 2000);
	ck_assert_uint_ge(s->node[1].delivered, 1000);
	/* The sender's resends bring the rest, each record once, in order. */
	sim_run(s, MS(3000));
	ck_assert_uint_eq(s->node[1].delivered, 2000);
	ck_assert_uint_eq(s->node[1].deliver_bad, 0);
	ck_assert_uint_eq(cluster_node_members(s->node[0].n)->live, 3);
	sim_free(s);
	free(s);
}
END_TEST

/* Every record is held by its owner and replica over the live set of node `at`. */
static unsigned int
check_placement(struct sim *s, int at, uint32_t first, uint32_t n)
{
	struct cluster_rec r, got;
	unsigned int bad = 0;
	uint16_t o, rp;
	uint32_t i;

	for (i = first; i < first + n; i++) {
		rec_init(&r, i, 0);
		cluster_node_owner(s->node[at].n, r.type, &r.key, &o, &rp);
		if (!cluster_store_get(cluster_node_store(s->node[o - 1].n), s->now, r.type, &r.key,
				       &got) ||
		    !cluster_store_get(cluster_node_store(s->node[rp - 1].n), s->now, r.type,
				       &r.key, &got) ||
		    memcmp(got.backend, r.backend, 16) != 0)
			bad++;
	}
	return bad;
}

START_TEST(bulk_to_joiner_and_rereplication)
{
	struct sim *s = sim_new(4);
	const struct cluster_node_stats *st;
	struct cluster_actions a = { 0 };
	struct cluster_rec r;
	uint32_t i, n = 3000, joined_holds = 0;
	uint16_t o, rp;

	s->loss_pct = 5;
	s->base.dead_count = 10;
	for (i = 0; i < 3; i++)
		sim_start(s, (int)i);
	sim_run(s, MS(600));
	for (i = 0; i < n; i++) {
		rec_init(&r, i, 600000);
		ck_assert_int_eq(cluster_node_push(s->node[i % 3].n, s->now, &r), 0);
	}
	sim_run(s, MS(500));
	ck_assert_uint_eq(check_placement(s, 0, 0, n), 0);
	/* Member 4 joins: it gets the records it now owns or replicates, in a bulk. */
	sim_start(s, 3);
	sim_run(s, MS(1500));
	ck_assert_uint_eq(cluster_node_members(s->node[0].n)->live, 15);
	ck_assert_uint_eq(check_placement(s, 0, 0, n), 0);
	for (i = 0; i < n; i++) {
		rec_init(&r, i, 0);
		cluster_node_owner(s->node[0].n, r.type, &r.key, &o, &rp);
		joined_holds += o == 4 || rp == 4;
	}
	st = cluster_node_stats(s->node[3].n);
	ck_assert_uint_eq(cluster_store_count(cluster_node_store(s->node[3].n)), joined_holds);
	ck_assert_uint_ge(st->bulk_received, joined_holds);
	ck_assert_uint_ge(st->bulks_done, 1);
	/* Half the records, about: it holds 2 of 4 copies. */
	ck_assert(joined_holds > n / 2 * 8 / 10 && joined_holds < n / 2 * 12 / 10);
	/* A query of member 1 for a record member 4 now owns is answered (by member 4). */
	for (i = 0;; i++) {
		rec_init(&r, i, 0);
		cluster_node_owner(s->node[0].n, r.type, &r.key, &o, &rp);
		if (o == 4 && rp != 1)
			break;
	}
	ck_assert_int_eq(cluster_node_query(s->node[0].n, s->now, r.type, &r.key, 1, &a), 0);
	sim_run(s, MS(20));
	ck_assert_uint_eq(s->node[0].last_install.member, 4);
	ck_assert_mem_eq(s->node[0].last_install.rec.backend, r.backend, 16);
	/* Member 2 dies: its records get a new second copy from the survivors. */
	sim_stop(s, 1);
	sim_run(s, MS(1500));
	ck_assert_uint_eq(cluster_node_members(s->node[0].n)->live, 13);
	ck_assert_uint_eq(check_placement(s, 0, 0, n), 0);
	/* It restarts empty: a rejoin, a bulk again, and placement holds. */
	sim_start(s, 1);
	sim_run(s, MS(1500));
	ck_assert_uint_eq(cluster_node_members(s->node[0].n)->live, 15);
	ck_assert_uint_eq(check_placement(s, 0, 0, n), 0);
	sim_free(s);
	free(s);
}
END_TEST

/*
 * The instance-set change: the owner of recorded flows dies, and a
 * member that never saw them is asked about them: the second replica answers,
 * before the death is noticed (the query falls back after its tries) and after
 * (the replica is the new owner).
 */
START_TEST(owner_death_replica_answers)
{
	struct sim *s = sim_new(4);
	struct cluster_actions a = { 0 };
	struct cluster_rec r1, r2;
	uint16_t o, rp, o2, rp2;
	uint32_t i;
	int asker = -1;
	uint64_t t0;

	for (i = 0; i < 4; i++)
		sim_start(s, (int)i);
	sim_run(s, MS(60));
	/* Two records with the same owner and replica, none of them member 1 (the pusher). */
	rec_owned_elsewhere(s, 0, &r1, 1);
	cluster_node_owner(s->node[0].n, r1.type, &r1.key, &o, &rp);
	for (i = 100;; i++) {
		rec_init(&r2, i, 600000);
		cluster_node_owner(s->node[0].n, r2.type, &r2.key, &o2, &rp2);
		if (o2 == o && rp2 == rp)
			break;
	}
	ck_assert_int_eq(cluster_node_push(s->node[0].n, s->now, &r1), 0);
	ck_assert_int_eq(cluster_node_push(s->node[0].n, s->now, &r2), 0);
	sim_run(s, MS(10));
	/* The asker holds neither: member 1 did not keep them (it is not a holder). */
	for (i = 0; i < 4; i++)
		if (i + 1 != o && i + 1 != rp)
			asker = (int)i;
	ck_assert_int_ge(asker, 0);
	sim_stop(s, o - 1);
	t0 = s->now;
	ck_assert_int_eq(cluster_node_query(s->node[asker].n, s->now, r1.type, &r1.key, 1, &a), 0);
	ck_assert_uint_eq(a.n, 0);
	while (s->node[asker].acts[CLUSTER_ACT_INSTALL] == 0 && s->now < t0 + MS(100))
		sim_step(s, US(100));
	ck_assert_uint_eq(s->node[asker].last_install.member, rp);
	ck_assert_mem_eq(s->node[asker].last_install.rec.backend, r1.backend, 16);
	/* Three unanswered tries at the dead owner, 5 ms apart, then the replica. */
	ck_assert_uint_ge(s->now - t0, MS(15));
	ck_assert_uint_lt(s->now - t0, MS(17));
	/* The death is noticed: the replica is the owner now, asked first (by a non-holder). */
	sim_run(s, MS(300));
	cluster_node_owner(s->node[rp - 1].n, r2.type, &r2.key, &o2, &rp2);
	ck_assert_uint_eq(o2, rp);
	for (i = 0; i < 4; i++)
		if (i + 1 != o && i + 1 != o2 && i + 1 != rp2)
			asker = (int)i;
	t0 = s->now;
	a.n = 0;
	ck_assert_int_eq(cluster_node_query(s->node[asker].n, s->now, r2.type, &r2.key, 2, &a), 0);
	ck_assert_uint_eq(a.n, 0);
	while (s->node[asker].last_install.cookie != 2 && s->now < t0 + MS(100))
		sim_step(s, US(100));
	ck_assert_uint_eq(s->node[asker].last_install.member, rp);
	ck_assert_mem_eq(s->node[asker].last_install.rec.backend, r2.backend, 16);
	ck_assert_uint_le(s->now - t0, US(400)); /* one round trip: no time lost on the dead */
	ck_assert_uint_le(s->now - t0, US(400));
	sim_free(s);
	free(s);
}
END_TEST

static uint8_t big_blob[5000];

static void
fill_blob(uint8_t *b, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

static void
gen_check_all(struct sim *s, uint32_t gen, const uint8_t *blob, uint32_t len)
{
	const struct cluster_gen_id *id;
	uint8_t d[CLUSTER_GEN_DIGEST_LEN];
	const uint8_t *b;
	unsigned int i;
	uint32_t bl;

	cluster_gen_digest(blob, len, d);
	for (i = 0; i < s->n; i++) {
		if (!s->node[i].up)
			continue;
		id = cluster_gen_applied(cluster_node_gen(s->node[i].n));
		ck_assert_msg(id->gen == gen, "member %u runs gen %u", i + 1, id->gen);
		ck_assert_mem_eq(id->digest, d, sizeof(d));
		b = cluster_gen_applied_blob(cluster_node_gen(s->node[i].n), &bl);
		ck_assert(bl == len && memcmp(b, blob, len) == 0);
		ck_assert_msg(s->node[i].in_service, "member %u out: %s", i + 1,
			      cluster_reason_name(s->node[i].service_reason));
		ck_assert(cluster_node_in_service(s->node[i].n));
	}
}

START_TEST(gen_agreement_with_a_laggard)
{
	struct sim *s = sim_new(3);
	struct cluster_actions a = { 0 };
	static uint8_t blob2[3000];
	int64_t g;
	unsigned int i;

	s->loss_pct = 10;
	s->base.dead_count = 10;
	for (i = 0; i < 3; i++)
		sim_start(s, (int)i);
	sim_run(s, MS(600));
	gen_check_all(s, 0, default_blob, sizeof(default_blob));

	/* Member 1 proposes a 5-chunk blob: everyone prepares it and switches to generation 1. */
	fill_blob(big_blob, sizeof(big_blob), 1);
	g = cluster_node_gen_propose(s->node[0].n, s->now, big_blob, sizeof(big_blob), &a);
	ck_assert_int_eq(g, 1);
	sim_apply(s, 0, &a);
	sim_run(s, MS(500));
	gen_check_all(s, 1, big_blob, sizeof(big_blob));
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(s->node[i].committed, 1);
		ck_assert_uint_eq(s->node[i].acts[CLUSTER_ACT_GEN_COMMIT], 1);
		ck_assert(cluster_node_in_transition(s->node[i].n, s->now));
	}
	ck_assert_uint_eq(s->node[1].prepared_reason[CLUSTER_REASON_PROPOSAL], 1);
	ck_assert_uint_eq(s->node[0].prepared_reason[CLUSTER_REASON_PROPOSED], 1);

	/* Member 3 lags: nothing reaches it while member 2 proposes generation 2. */
	s->cut[0][2] = s->cut[1][2] = true;
	fill_blob(blob2, sizeof(blob2), 2);
	a.n = 0;
	g = cluster_node_gen_propose(s->node[1].n, s->now, blob2, sizeof(blob2), &a);
	ck_assert_int_eq(g, 2);
	sim_apply(s, 1, &a);
	/* Not committed before the timeout: member 3 has not answered. */
	sim_run(s, MS(500));
	ck_assert_uint_eq(s->node[0].committed, 1);
	sim_run(s, MS(600));
	ck_assert_uint_eq(s->node[0].committed, 2);
	ck_assert_uint_eq(s->node[1].committed, 2);
	ck_assert_uint_eq(s->node[2].committed, 1);
	/* The link heals: member 3 hears it is behind, goes out of service, catches up, comes back.
	 */
	s->cut[0][2] = s->cut[1][2] = false;
	sim_run(s, MS(1000));
	ck_assert_uint_ge(s->node[2].acts[CLUSTER_ACT_SERVICE_OUT], 2); /* start, behind */
	ck_assert_uint_eq(s->node[2].prepared_reason[CLUSTER_REASON_CATCH_UP], 1);
	gen_check_all(s, 2, blob2, sizeof(blob2));

	/* Member 2 cannot apply generation 3: the others switch, it stays out until gen 4. */
	s->node[1].fail_prepare = true;
	fill_blob(big_blob, sizeof(big_blob), 3);
	a.n = 0;
	ck_assert_int_eq(cluster_node_gen_propose(s->node[0].n, s->now, big_blob, 1500, &a), 3);
	sim_apply(s, 0, &a);
	sim_run(s, MS(300));
	ck_assert_uint_eq(s->node[0].committed, 3);
	ck_assert_uint_eq(s->node[2].committed, 3);
	ck_assert(!s->node[1].in_service);
	ck_assert_uint_eq(s->node[1].service_reason, CLUSTER_REASON_APPLY_FAILED);
	ck_assert(!cluster_node_in_service(s->node[1].n));
	/* And it must not propose while it is behind. */
	a.n = 0;
	ck_assert_int_eq(cluster_node_gen_propose(s->node[1].n, s->now, blob2, 10, &a), -EAGAIN);
	s->node[1].fail_prepare = false;
	a.n = 0;
	ck_assert_int_eq(cluster_node_gen_propose(s->node[2].n, s->now, blob2, 2000, &a), 4);
	sim_apply(s, 2, &a);
	sim_run(s, MS(500));
	gen_check_all(s, 4, blob2, 2000);
	ck_assert_uint_eq(cluster_gen_stats(cluster_node_gen(s->node[1].n))->prepare_failed, 1);
	/* Prepared and committed, but its tables could not be switched: out until the next. */
	a.n = 0;
	cluster_node_gen_apply_failed(s->node[1].n, 4, &a);
	sim_apply(s, 1, &a);
	ck_assert(!cluster_node_in_service(s->node[1].n));
	ck_assert_uint_eq(s->node[1].service_reason, CLUSTER_REASON_APPLY_FAILED);
	a.n = 0;
	ck_assert_int_eq(cluster_node_gen_propose(s->node[0].n, s->now, big_blob, 1500, &a), 5);
	sim_apply(s, 0, &a);
	sim_run(s, MS(500));
	gen_check_all(s, 5, big_blob, 1500);
	ck_assert(cluster_node_in_service(s->node[1].n));
	ck_assert_uint_eq(cluster_gen_stats(cluster_node_gen(s->node[1].n))->apply_failed, 1);
	/* Settled: nothing keeps a node ticking (commit resends, holds, catch-up requests). */
	s->loss_pct = 0;
	ck_assert_uint_lt(sim_quiet_ticks(s, MS(1000)), 400);
	sim_free(s);
	free(s);
}
END_TEST

START_TEST(gen_concurrent_proposals)
{
	struct sim *s = sim_new(3);
	struct cluster_actions a = { 0 };
	static uint8_t b1[1200], b2[1200];
	uint8_t d1[16], d2[16];
	const uint8_t *win;
	unsigned int i, aborted = 0;

	for (i = 0; i < 3; i++)
		sim_start(s, (int)i);
	sim_run(s, MS(100));
	/* Two members propose generation 1 at the same instant: the greater digest wins. */
	fill_blob(b1, sizeof(b1), 11);
	fill_blob(b2, sizeof(b2), 12);
	ck_assert_int_eq(cluster_node_gen_propose(s->node[0].n, s->now, b1, sizeof(b1), &a), 1);
	sim_apply(s, 0, &a);
	a.n = 0;
	ck_assert_int_eq(cluster_node_gen_propose(s->node[1].n, s->now, b2, sizeof(b2), &a), 1);
	sim_apply(s, 1, &a);
	sim_run(s, MS(1500));
	cluster_gen_digest(b1, sizeof(b1), d1);
	cluster_gen_digest(b2, sizeof(b2), d2);
	win = memcmp(d1, d2, 16) > 0 ? b1 : b2;
	gen_check_all(s, 1, win, sizeof(b1));
	for (i = 0; i < 3; i++)
		aborted += s->node[i].aborted;
	ck_assert_uint_ge(aborted, 1);
	ck_assert_uint_eq(
		cluster_gen_stats(cluster_node_gen(s->node[win == b1 ? 1 : 0].n))->superseded, 1);
	sim_free(s);
	free(s);
}
END_TEST

START_TEST(gen_join_adopts_cluster)
{
	struct sim *s = sim_new(3);
	struct cluster_actions a = { 0 };
	static const uint8_t other[] = "a stale config file on member 3";
	static const uint8_t cold2[] = "member 2's own config at a cold start";

	sim_start(s, 0);
	sim_start(s, 1);
	sim_run(s, MS(300));
	fill_blob(big_blob, sizeof(big_blob), 5);
	ck_assert_int_eq(cluster_node_gen_propose(s->node[0].n, s->now, big_blob, 4000, &a), 1);
	sim_apply(s, 0, &a);
	sim_run(s, MS(200));
	/* Member 3 starts with another config: it adopts the cluster's before serving. */
	s->blob0 = other;
	s->blob0_len = sizeof(other);
	sim_start(s, 2);
	ck_assert(!s->node[2].in_service);
	ck_assert_uint_eq(s->node[2].service_reason, CLUSTER_REASON_STARTING);
	sim_run(s, MS(500));
	gen_check_all(s, 1, big_blob, 4000);
	ck_assert_uint_eq(s->node[2].prepared_reason[CLUSTER_REASON_CATCH_UP], 1);
	/* Nobody took the newcomer's config. */
	ck_assert_uint_eq(s->node[0].acts[CLUSTER_ACT_GEN_PREPARE], 1);
	sim_free(s);

	/* A cold start with different configs: all converge on one (the greatest digest). */
	sim_init(s, 3);
	sim_start(s, 0);
	s->blob0 = cold2;
	s->blob0_len = sizeof(cold2);
	sim_start(s, 1);
	s->blob0 = default_blob;
	s->blob0_len = sizeof(default_blob);
	sim_start(s, 2);
	sim_run(s, MS(800));
	{
		uint8_t d1[16], d2[16];

		cluster_gen_digest(default_blob, sizeof(default_blob), d1);
		cluster_gen_digest(cold2, sizeof(cold2), d2);
		if (memcmp(d1, d2, 16) > 0)
			gen_check_all(s, 0, default_blob, sizeof(default_blob));
		else
			gen_check_all(s, 0, cold2, sizeof(cold2));
	}
	sim_free(s);
	free(s);
}
END_TEST

START_TEST(transition_window)
{
	struct sim *s = sim_new(2);
	struct cluster_actions a = { 0 };

	s->base.transition_ms = 200;
	sim_start(s, 0);
	sim_start(s, 1);
	sim_run(s, MS(100));
	ck_assert(!cluster_node_in_transition(s->node[0].n, s->now));
	ck_assert_int_eq(cluster_node_gen_propose(s->node[0].n, s->now, big_blob, 100, &a), 1);
	sim_apply(s, 0, &a);
	sim_run(s, MS(20));
	ck_assert(cluster_node_in_transition(s->node[1].n, s->now));
	ck_assert_uint_eq(s->node[1].acts[CLUSTER_ACT_TRANSITION_END], 0);
	sim_run(s, MS(200));
	ck_assert(!cluster_node_in_transition(s->node[1].n, s->now));
	ck_assert_uint_eq(s->node[1].acts[CLUSTER_ACT_TRANSITION_END], 1);
	sim_free(s);
	free(s);
}
END_TEST

START_TEST(node_rejects_garbage)
{
	struct sim *s = sim_new(2);
	struct cluster_actions a;
	uint8_t buf[CLUSTER_WIRE_MAX];
	uint64_t rng = 7;
	unsigned int i, k;
	int rc;

	sim_start(s, 0);
	sim_start(s, 1);
	sim_run(s, MS(100));
	for (i = 0; i < 20000; i++) {
		size_t len = (size_t)(rng % sizeof(buf)) + 1;

		for (k = 0; k < len; k++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			buf[k] = (uint8_t)rng;
		}
		/* Half of them look right up to the MAC. */
		if (i % 2 && len >= CLUSTER_WIRE_MIN)
			memcpy(buf, hb_datagram, 16);
		a.n = a.dropped = 0;
		rc = cluster_node_rx(s->node[0].n, s->now, buf, len, &a);
		ck_assert_int_ne(rc, CLUSTER_WIRE_OK);
		ck_assert_uint_eq(a.n, 0);
	}
	sim_run(s, MS(100));
	ck_assert_uint_eq(cluster_node_members(s->node[0].n)->live, 3);
	sim_free(s);
	free(s);
}
END_TEST

static double
secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Figures, never asserted: encode + decode of IPv4 records, and records
 * pushed from one node to another through whole sealed datagrams (HMAC both
 * ways), and in-process owner-query round trips.
 */
START_TEST(bench_figures)
{
	uint8_t buf[CLUSTER_WIRE_MAX];
	struct cluster_actions a = { 0 };
	struct cluster_conf c1, c2;
	struct cluster_node *n1, *n2;
	struct cluster_item it;
	struct cluster_rec r;
	uint64_t now = MS(1000), sink = 0;
	unsigned int i, j, reps = 2000000, nrec = 400000;
	double t;
	uint16_t to;
	int len;

	rec_init(&r, 1, 1000);
	t = secs();
	for (i = 0; i < reps; i++) {
		r.key.sport = (uint16_t)i;
		len = cluster_wire_rec_encode(buf, sizeof(buf), &r);
		cluster_wire_item_decode(buf, (size_t)len, &it);
		sink += it.u.rec.key.sport;
	}
	t = secs() - t;
	printf("bench: record encode+decode: %.1f M records/s\n", reps / t / 1e6);

	conf_init(&c1, 2, 1, 0x1111);
	c1.sync.queue = 1u << 20;
	c1.sync.peer_records_per_s = 0;
	c1.sync.peer_datagrams_per_s = 0;
	c1.sync.rx_records_per_s = 0;
	c1.store_capacity = 1u << 20;
	c2 = c1;
	c2.self_id = 2;
	c2.epoch = 0x2222;
	n1 = cluster_node_create(&c1, now, &a);
	n2 = cluster_node_create(&c2, now, &a);
	for (j = 0; j < 4; j++) {
		while ((len = cluster_node_tx(n1, now, buf, sizeof(buf), &to)) > 0)
			cluster_node_rx(n2, now, buf, (size_t)len, &a);
		while ((len = cluster_node_tx(n2, now, buf, sizeof(buf), &to)) > 0)
			cluster_node_rx(n1, now, buf, (size_t)len, &a);
		a.n = 0;
		now += MS(1);
	}
	t = secs();
	for (i = 0; i < nrec; i++) {
		rec_init(&r, i, 600000);
		cluster_node_push(n1, now, &r);
		if (i % 4096 == 4095 || i == nrec - 1) {
			do {
				j = 0;
				while ((len = cluster_node_tx(n1, now, buf, sizeof(buf), &to)) >
				       0) {
					a.n = 0;
					cluster_node_rx(n2, now, buf, (size_t)len, &a);
					j++;
				}
				now += US(10);
				while ((len = cluster_node_tx(n2, now, buf, sizeof(buf), &to)) >
				       0) {
					a.n = 0;
					cluster_node_rx(n1, now, buf, (size_t)len, &a);
				}
			} while (j > 0);
		}
	}
	t = secs() - t;
	printf("bench: sync push (seal, HMAC, store on both ends): %.2f M records/s, %llu stored\n",
	       nrec / t / 1e6, (unsigned long long)cluster_store_count(cluster_node_store(n2)));

	/* Owner queries: member 1 lost its copies, so it asks member 2, the other holder. */
	cluster_store_clear(cluster_node_store(n1));
	t = secs();
	for (i = 0; i < 20000; i++) {
		rec_init(&r, i, 0);
		a.n = 0;
		cluster_node_query(n1, now, CLUSTER_ITEM_FLOW, &r.key, 1, &a);
		while ((len = cluster_node_tx(n1, now, buf, sizeof(buf), &to)) > 0) {
			a.n = 0;
			cluster_node_rx(n2, now, buf, (size_t)len, &a);
		}
		while ((len = cluster_node_tx(n2, now, buf, sizeof(buf), &to)) > 0) {
			a.n = 0;
			cluster_node_rx(n1, now, buf, (size_t)len, &a);
			sink += a.n;
		}
	}
	t = secs() - t;
	printf("bench: owner query round trip in process (no network): %.2f us\n", t / 20000 * 1e6);
	cluster_node_free(n1);
	cluster_node_free(n2);
	ck_assert_uint_ne(sink, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cluster");
	TCase *wire = tcase_create("wire");
	TCase *parts = tcase_create("parts");
	TCase *sim = tcase_create("sim");
	TCase *bench = tcase_create("bench");
	SRunner *sr;
	int failed;

	init_key();
	tcase_add_test(wire, wire_heartbeat_bytes);
	tcase_add_test(wire, wire_push_bytes);
	tcase_add_test(wire, wire_query_gen_bytes);
	tcase_add_test(wire, wire_item_limits);
	tcase_add_test(wire, wire_rejects);
	tcase_add_test(wire, wire_hand_built_accepted);
	suite_add_tcase(s, wire);
	tcase_add_test(parts, owner_determinism_and_movement);
	tcase_add_test(parts, store_basic);
	tcase_add_test(parts, bucket_rates);
	tcase_add_test(parts, stream_reorder_duplicates);
	suite_add_tcase(s, parts);
	tcase_set_timeout(sim, 60);
	tcase_add_test(sim, members_timing);
	tcase_add_test(sim, push_lossy_exactly_once);
	tcase_add_test(sim, query_answer_retry_bound);
	tcase_add_test(sim, rate_limit);
	tcase_add_test(sim, rx_rate_limit);
	tcase_add_test(sim, bulk_to_joiner_and_rereplication);
	tcase_add_test(sim, owner_death_replica_answers);
	tcase_add_test(sim, gen_agreement_with_a_laggard);
	tcase_add_test(sim, gen_concurrent_proposals);
	tcase_add_test(sim, gen_join_adopts_cluster);
	tcase_add_test(sim, transition_window);
	tcase_add_test(sim, node_rejects_garbage);
	suite_add_tcase(s, sim);
	tcase_set_timeout(bench, 120);
	tcase_add_test(bench, bench_figures);
	suite_add_tcase(s, bench);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
