/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ha: the wire codecs against bytes written by hand from ha_wire.h's
 * diagram (MACs from Python's hmac module), the receive checks one reason at
 * a time, the role state machine table-driven, the sync stream over a lossy
 * link, and two nodes end to end through the failure scenarios of issue 7.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "ha/ha.h"

#define MS(x) (1000000ULL * (x))

/* The key of every test: bytes 0x00 .. 0x1f. */
static uint8_t test_key[HA_WIRE_KEY_LEN];

static void
init_key(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(test_key); i++)
		test_key[i] = (uint8_t)i;
}

/*
 * The MACs and the key id below come from:
 *   python3 -c 'import hmac, hashlib; k = bytes(range(32)); \
 *     print(hmac.new(k, b"equinox-ha key id", hashlib.sha256).hexdigest()[:8]); \
 *     print(hmac.new(k, bytes.fromhex(DATAGRAM_WITHOUT_MAC), hashlib.sha256).hexdigest())'
 */
/* clang-format off */
#define KEY_ID 0x83, 0x25, 0xc2, 0x0b

static const uint8_t hb_datagram[] = {
	/* magic "EH", version 1, type 1 (heartbeat), flags 0, sender 1 */
	0x45, 0x48, 0x01, 0x01, 0x00, 0x00, 0x00, 0x01,
	/* key id */
	KEY_ID,
	/* body length 24, reserved */
	0x00, 0x18, 0x00, 0x00,
	/* epoch 0x0123456789abcdef */
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	/* datagram 1 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	/* ack epoch 0xfedcba9876543210, ack 42 */
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
	/* state 3 (active), priority 200, flags preempt|synced, rx state 2 (synced) */
	0x03, 0xc8, 0x05, 0x02,
	/* interval 20 ms, reserved */
	0x00, 0x14, 0x00, 0x00,
	/* bulk request 1, backlog 7 */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07,
	/* tx high 0x1122 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x22,
	/* HMAC-SHA256 */
	0xfe, 0xbc, 0x3a, 0x76, 0x0a, 0xd4, 0xe1, 0x47, 0x97, 0xfc, 0xcb, 0xd7, 0xe7, 0x1b, 0xcb,
	0xe3, 0x18, 0x27, 0xfe, 0x3b, 0x0b, 0x6b, 0x5b, 0xeb, 0x48, 0xc3, 0x63, 0xdc, 0x63, 0x5b,
	0xfd, 0x1d,
};

static const uint8_t sync_datagram[] = {
	/* magic, version 1, type 2 (sync), flags 0, sender 2 */
	0x45, 0x48, 0x01, 0x02, 0x00, 0x00, 0x00, 0x02,
	KEY_ID,
	/* body length 189 */
	0x00, 0xbd, 0x00, 0x00,
	/* epoch 7, datagram 5, ack epoch 0, ack 0 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* tx low 3, first record 4, count 6, reserved */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
	0x00, 0x06, 0x00, 0x00,
	/* FLOW_ADD, IPv4, 40 bytes: vip 7, TCP, established, backend 11 */
	0x01, 0x00, 0x00, 0x28, 0x00, 0x07, 0x06, 0x01, 0x00, 0x00, 0x00, 0x0b,
	/* sport 1234, dport 80, age 1000 ms, entry flags 0x80, reserved */
	0x04, 0xd2, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x80, 0x00, 0x00, 0x00,
	/* user 0x0102030405060708 */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	/* 192.0.2.1 -> 198.51.100.1 */
	0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x01,
	/* FLOW_DEL, IPv6|bulk, 64 bytes: vip 9, UDP, state udp, backend 1 */
	0x02, 0x03, 0x00, 0x40, 0x00, 0x09, 0x11, 0x03, 0x00, 0x00, 0x00, 0x01,
	/* sport 5001, dport 53, age 0, flags 0 */
	0x13, 0x89, 0x00, 0x35, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* user 0 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 2001:db8::1 -> 2001:db8::2 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x02,
	/* AFFINITY, IPv4, 20 bytes: vip 7, backend 12, age 60000 ms, client 203.0.113.1 */
	0x03, 0x00, 0x00, 0x14, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
	0x00, 0x00, 0xea, 0x60, 0xcb, 0x00, 0x71, 0x01,
	/* BLOB, 13 bytes: tag 1, "hello" */
	0x04, 0x00, 0x00, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
	/* BULK_START (bulk flag), bulk 3, 1000000 expected */
	0x05, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x42, 0x40,
	/* BULK_END, bulk 3, 2 records */
	0x06, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	/* HMAC-SHA256 */
	0x2a, 0x8a, 0x33, 0xc3, 0x36, 0xfa, 0x8f, 0x19, 0x9e, 0xea, 0x20, 0x8a, 0x36, 0x35, 0x4b,
	0xcb, 0x13, 0xd9, 0xa1, 0x1c, 0xac, 0x90, 0x5f, 0x46, 0x80, 0x74, 0x6b, 0x6b, 0x82, 0x65,
	0x53, 0x97,
};

static const uint8_t ack_datagram[] = {
	/* magic, version 1, type 3 (ack), flags 0, sender 1 */
	0x45, 0x48, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01,
	KEY_ID,
	/* body length 44 */
	0x00, 0x2c, 0x00, 0x00,
	/* epoch 0x0123456789abcdef, datagram 2, ack epoch 7, ack 99 */
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63,
	/* tx low 16, tx high 32, 2 NACK ranges */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
	0x00, 0x02, 0x00, 0x00,
	/* 101..103, 106 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x65, 0x00, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x6a, 0x00, 0x00, 0x00, 0x01,
	/* HMAC-SHA256 */
	0xb1, 0x38, 0xf8, 0x34, 0xa3, 0xa9, 0xc2, 0xbe, 0xa5, 0xdd, 0xcb, 0x36, 0x27, 0x5a, 0x86,
	0xf6, 0x1a, 0x09, 0x1d, 0x4e, 0x56, 0x42, 0xfb, 0x90, 0xfe, 0xc5, 0x87, 0x07, 0x8f, 0xfa,
	0xd3, 0x30,
};

static const uint8_t handoff_datagram[] = {
	/* magic, version 1, type 4 (handoff), flags 0, sender 1 */
	0x45, 0x48, 0x01, 0x04, 0x00, 0x00, 0x00, 0x01,
	KEY_ID,
	/* body length 8 */
	0x00, 0x08, 0x00, 0x00,
	/* epoch 0x0123456789abcdef, datagram 3, ack epoch 7, ack 99 */
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63,
	/* target 2, reserved, switchover 1 */
	0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	/* HMAC-SHA256 */
	0x1c, 0x09, 0x11, 0xe3, 0xae, 0xe7, 0x30, 0xa2, 0xe1, 0x2d, 0x93, 0xd5, 0xfe, 0xa9, 0x16,
	0xa3, 0x4b, 0xb9, 0xec, 0xa7, 0xd8, 0x47, 0x5a, 0xbb, 0x8b, 0x1c, 0x8d, 0xd1, 0xcd, 0x99,
	0x53, 0xbb,
};

/* clang-format on */

static const struct ha_msg_hb hb_msg = {
	.state = HA_STATE_ACTIVE,
	.priority = 200,
	.flags = HA_HB_F_PREEMPT | HA_HB_F_SYNCED,
	.rx_state = HA_RX_SYNCED,
	.interval_ms = 20,
	.bulk_req = 1,
	.backlog = 7,
	.tx_high = 0x1122,
};

START_TEST(wire_heartbeat_bytes)
{
	uint8_t buf[HA_WIRE_MAX];
	struct ha_wire_tx tx;
	struct ha_wire_hdr h;
	struct ha_msg_hb m;

	init_key();
	ck_assert_uint_eq(ha_wire_key_id(test_key), 0x8325c20b);
	ha_wire_tx_init(&tx, test_key, 1, 0x0123456789abcdefULL);
	ck_assert_int_eq(ha_wire_hb_encode(buf + HA_WIRE_HDR_LEN, 24, &hb_msg), 24);
	ck_assert_int_eq(ha_wire_seal(&tx, buf, sizeof(buf), HA_MSG_HEARTBEAT,
				      0xfedcba9876543210ULL, 42, 24),
			 (int)sizeof(hb_datagram));
	ck_assert_mem_eq(buf, hb_datagram, sizeof(hb_datagram));

	ck_assert_int_eq(ha_wire_verify(hb_datagram, sizeof(hb_datagram), test_key,
					ha_wire_key_id(test_key), &h),
			 HA_WIRE_OK);
	ck_assert_uint_eq(h.type, HA_MSG_HEARTBEAT);
	ck_assert_uint_eq(h.sender, 1);
	ck_assert_uint_eq(h.len, 24);
	ck_assert(h.epoch == 0x0123456789abcdefULL && h.seq == 1);
	ck_assert(h.ack_epoch == 0xfedcba9876543210ULL && h.ack == 42);
	/* Compared as bytes: the struct's padding must be zero on both sides. */
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(ha_wire_hb_decode(hb_datagram + HA_WIRE_HDR_LEN, h.len, &m), 0);
	ck_assert_mem_eq(&m, &hb_msg, sizeof(m));
	/* A body of another length, a bad rx state or interval 0 is refused. */
	ck_assert_int_eq(ha_wire_hb_decode(hb_datagram + HA_WIRE_HDR_LEN, 23, &m), -EINVAL);
	memcpy(buf, hb_datagram + HA_WIRE_HDR_LEN, 24);
	buf[3] = HA_RX_MAX;
	ck_assert_int_eq(ha_wire_hb_decode(buf, 24, &m), -EINVAL);
	buf[3] = 0;
	buf[4] = buf[5] = 0;
	ck_assert_int_eq(ha_wire_hb_decode(buf, 24, &m), -EINVAL);
}
END_TEST

static void
sync_records(struct ha_rec r[6])
{
	static const uint8_t v6a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t v6b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
	static const uint8_t hello[] = "hello";

	memset(r, 0, 6 * sizeof(r[0]));
	r[0].type = HA_REC_FLOW_ADD;
	r[0].u.flow.key.family = 4;
	r[0].u.flow.key.proto = 6;
	r[0].u.flow.key.sport = 1234;
	r[0].u.flow.key.dport = 80;
	memcpy(r[0].u.flow.key.src, "\xc0\x00\x02\x01", 4);
	memcpy(r[0].u.flow.key.dst, "\xc6\x33\x64\x01", 4);
	r[0].u.flow.vip = 7;
	r[0].u.flow.state = FLOW_STATE_EST;
	r[0].u.flow.eflags = 0x80;
	r[0].u.flow.backend = 11;
	r[0].u.flow.age_ms = 1000;
	r[0].u.flow.user = 0x0102030405060708ULL;

	r[1].type = HA_REC_FLOW_DEL;
	r[1].flags = HA_REC_F_BULK;
	r[1].u.flow.key.family = 6;
	r[1].u.flow.key.proto = 17;
	r[1].u.flow.key.sport = 5001;
	r[1].u.flow.key.dport = 53;
	memcpy(r[1].u.flow.key.src, v6a, 16);
	memcpy(r[1].u.flow.key.dst, v6b, 16);
	r[1].u.flow.vip = 9;
	r[1].u.flow.state = FLOW_STATE_UDP;
	r[1].u.flow.backend = 1;

	r[2].type = HA_REC_AFFINITY;
	r[2].u.aff.family = 4;
	memcpy(r[2].u.aff.addr, "\xcb\x00\x71\x01", 4);
	r[2].u.aff.vip = 7;
	r[2].u.aff.backend = 12;
	r[2].u.aff.age_ms = 60000;

	r[3].type = HA_REC_BLOB;
	r[3].u.blob.tag = 1;
	r[3].u.blob.len = 5;
	r[3].u.blob.data = hello;

	r[4].type = HA_REC_BULK_START;
	r[4].flags = HA_REC_F_BULK;
	r[4].u.bulk.id = 3;
	r[4].u.bulk.count = 1000000;

	r[5].type = HA_REC_BULK_END;
	r[5].flags = HA_REC_F_BULK;
	r[5].u.bulk.id = 3;
	r[5].u.bulk.count = 2;
}

START_TEST(wire_sync_bytes)
{
	uint8_t buf[HA_WIRE_MAX], *body = buf + HA_WIRE_HDR_LEN;
	size_t off = HA_WIRE_SYNC_HDR_LEN;
	struct ha_msg_sync m;
	struct ha_wire_tx tx;
	struct ha_wire_hdr h;
	struct ha_rec r[6], d;
	unsigned int i;

	init_key();
	sync_records(r);
	ha_wire_tx_init(&tx, test_key, 2, 7);
	tx.seq = 4;
	ha_wire_sync_hdr_encode(body, 3, 4, 6);
	for (i = 0; i < 6; i++) {
		int n = ha_wire_rec_encode(body + off, HA_WIRE_BODY_MAX - off, &r[i]);

		ck_assert_int_eq(n, (int)ha_wire_rec_len(&r[i]));
		off += (size_t)n;
	}
	ck_assert_uint_eq(off, 189);
	ck_assert_int_eq(ha_wire_seal(&tx, buf, sizeof(buf), HA_MSG_SYNC, 0, 0, off),
			 (int)sizeof(sync_datagram));
	ck_assert_mem_eq(buf, sync_datagram, sizeof(sync_datagram));

	/* And back: every record as it went in. */
	ck_assert_int_eq(ha_wire_verify(sync_datagram, sizeof(sync_datagram), test_key,
					ha_wire_key_id(test_key), &h),
			 HA_WIRE_OK);
	ck_assert_int_eq(ha_wire_sync_decode(sync_datagram + HA_WIRE_HDR_LEN, h.len, &m), 0);
	ck_assert(m.tx_low == 3 && m.first == 4 && m.count == 6);
	for (off = 0, i = 0; i < 6; i++) {
		int n = ha_wire_rec_decode(m.recs + off, m.recs_len - off, &d);

		ck_assert_int_eq(n, (int)ha_wire_rec_len(&r[i]));
		off += (size_t)n;
		ck_assert_uint_eq(d.type, r[i].type);
		ck_assert_uint_eq(d.flags, r[i].flags);
		if (d.type == HA_REC_BLOB) {
			ck_assert_uint_eq(d.u.blob.tag, 1);
			ck_assert_uint_eq(d.u.blob.len, 5);
			ck_assert_mem_eq(d.u.blob.data, "hello", 5);
		} else {
			ck_assert_mem_eq(&d.u, &r[i].u, sizeof(d.u));
		}
	}
	ck_assert_uint_eq(off, m.recs_len);
}
END_TEST

START_TEST(wire_ack_handoff_bytes)
{
	struct ha_msg_ack a = { .tx_low = 16, .tx_high = 32, .n_nack = 2 }, a2;
	struct ha_msg_handoff ho = { .target = 2, .switchover = 1 }, ho2;
	uint8_t buf[HA_WIRE_MAX];
	struct ha_wire_tx tx;
	int n;

	init_key();
	a.nack[0].first = 101;
	a.nack[0].count = 3;
	a.nack[1].first = 106;
	a.nack[1].count = 1;
	ha_wire_tx_init(&tx, test_key, 1, 0x0123456789abcdefULL);
	tx.seq = 1;
	n = ha_wire_ack_encode(buf + HA_WIRE_HDR_LEN, HA_WIRE_BODY_MAX, &a);
	ck_assert_int_eq(n, 44);
	ck_assert_int_eq(ha_wire_seal(&tx, buf, sizeof(buf), HA_MSG_ACK, 7, 99, (size_t)n),
			 (int)sizeof(ack_datagram));
	ck_assert_mem_eq(buf, ack_datagram, sizeof(ack_datagram));
	ck_assert_int_eq(ha_wire_ack_decode(ack_datagram + HA_WIRE_HDR_LEN, 44, &a2), 0);
	ck_assert(a2.tx_low == 16 && a2.tx_high == 32 && a2.n_nack == 2);
	ck_assert(a2.nack[0].first == 101 && a2.nack[0].count == 3);
	ck_assert(a2.nack[1].first == 106 && a2.nack[1].count == 1);
	/* A count that disagrees with the length, or an empty range, is refused. */
	ck_assert_int_eq(ha_wire_ack_decode(ack_datagram + HA_WIRE_HDR_LEN, 32, &a2), -EINVAL);
	memcpy(buf, ack_datagram + HA_WIRE_HDR_LEN, 44);
	buf[20 + 8 + 3] = 0;
	ck_assert_int_eq(ha_wire_ack_decode(buf, 44, &a2), -EINVAL);

	n = ha_wire_handoff_encode(buf + HA_WIRE_HDR_LEN, HA_WIRE_BODY_MAX, &ho);
	ck_assert_int_eq(n, 8);
	ck_assert_int_eq(ha_wire_seal(&tx, buf, sizeof(buf), HA_MSG_HANDOFF, 7, 99, (size_t)n),
			 (int)sizeof(handoff_datagram));
	ck_assert_mem_eq(buf, handoff_datagram, sizeof(handoff_datagram));
	ck_assert_int_eq(ha_wire_handoff_decode(handoff_datagram + HA_WIRE_HDR_LEN, 8, &ho2), 0);
	ck_assert(ho2.target == 2 && ho2.switchover == 1);
}
END_TEST

/* Records that do not encode or decode, each for its own reason. */
START_TEST(wire_record_limits)
{
	uint8_t buf[HA_WIRE_REC_MAX + 8], big[HA_WIRE_BLOB_MAX + 1];
	struct ha_rec r, d;
	int n;

	memset(&r, 0, sizeof(r));
	memset(big, 0xab, sizeof(big));
	r.type = HA_REC_FLOW_ADD;
	r.u.flow.key.family = 5;
	ck_assert_int_eq(ha_wire_rec_encode(buf, sizeof(buf), &r), -EINVAL);
	r.u.flow.key.family = 4;
	ck_assert_int_eq(ha_wire_rec_encode(buf, 39, &r), -EMSGSIZE);
	ck_assert_int_eq(ha_wire_rec_encode(buf, sizeof(buf), &r), 40);
	/* A state past FLOW_STATE_MAX, a length that does not match the family. */
	buf[7] = FLOW_STATE_MAX;
	ck_assert_int_eq(ha_wire_rec_decode(buf, 40, &d), -EINVAL);
	buf[7] = 0;
	buf[1] = HA_REC_F_IP6;
	ck_assert_int_eq(ha_wire_rec_decode(buf, 40, &d), -EINVAL);
	buf[1] = 0;
	ck_assert_int_eq(ha_wire_rec_decode(buf, 39, &d), -EINVAL);
	ck_assert_int_eq(ha_wire_rec_decode(buf, 3, &d), -EINVAL);

	r.type = HA_REC_BLOB;
	r.u.blob.data = big;
	r.u.blob.len = HA_WIRE_BLOB_MAX;
	n = ha_wire_rec_encode(buf, sizeof(buf), &r);
	ck_assert_int_eq(n, HA_WIRE_REC_MAX);
	ck_assert_int_eq(ha_wire_rec_decode(buf, (size_t)n, &d), n);
	ck_assert_uint_eq(d.u.blob.len, HA_WIRE_BLOB_MAX);
	r.u.blob.len = HA_WIRE_BLOB_MAX + 1;
	ck_assert_int_eq(ha_wire_rec_encode(buf, sizeof(buf), &r), -EINVAL);

	/* An unknown type decodes by its length only, for the caller to skip. */
	buf[0] = 0x77;
	buf[1] = 0;
	buf[2] = 0;
	buf[3] = 9;
	ck_assert_int_eq(ha_wire_rec_decode(buf, 9, &d), 9);
	ck_assert(!ha_wire_rec_known(d.type));
	buf[3] = 3;
	ck_assert_int_eq(ha_wire_rec_decode(buf, 9, &d), -EINVAL);
}
END_TEST

/* A SYNC body whose count, records and length do not agree is refused whole. */
START_TEST(wire_sync_body_limits)
{
	const uint8_t *body = sync_datagram + HA_WIRE_HDR_LEN;
	uint8_t buf[HA_WIRE_BODY_MAX];
	struct ha_msg_sync m;

	memcpy(buf, body, 189);
	ck_assert_int_eq(ha_wire_sync_decode(buf, 189, &m), 0);
	ck_assert_int_eq(ha_wire_sync_decode(buf, 188, &m), -EINVAL);
	ck_assert_int_eq(ha_wire_sync_decode(buf, 19, &m), -EINVAL);
	buf[17] = 7; /* count 7: one record missing */
	ck_assert_int_eq(ha_wire_sync_decode(buf, 189, &m), -EINVAL);
	buf[17] = 5; /* count 5: bytes left over */
	ck_assert_int_eq(ha_wire_sync_decode(buf, 189, &m), -EINVAL);
	buf[17] = 0;
	ck_assert_int_eq(ha_wire_sync_decode(buf, 189, &m), -EINVAL);
	buf[17] = 6;
	buf[15] = 2; /* first below tx low */
	ck_assert_int_eq(ha_wire_sync_decode(buf, 189, &m), -EINVAL);
}
END_TEST

START_TEST(wire_names)
{
	const char *seen[HA_WIRE_ERR_MAX];
	int i, j;

	/* Distinct names: they are the counters' names. */
	for (i = 0; i < HA_WIRE_ERR_MAX; i++) {
		seen[i] = ha_wire_err_name(i);
		ck_assert_ptr_nonnull(seen[i]);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(seen[i], seen[j]);
	}
	ck_assert_str_eq(ha_wire_err_name(HA_WIRE_ERR_MAX), "unknown");
	ck_assert_str_eq(ha_msg_name(HA_MSG_SYNC), "sync");
	ck_assert_str_eq(ha_rec_name(HA_REC_BULK_END), "bulk_end");
	ck_assert_str_eq(ha_rec_name(99), "unknown");
	for (i = 0; i < HA_STATE_MAX; i++)
		ck_assert_str_ne(ha_state_name(i), "unknown");
	for (i = 0; i < HA_ACT_MAX; i++)
		ck_assert_str_ne(ha_action_name(i), "unknown");
	for (i = 0; i < HA_REASON_MAX; i++)
		ck_assert_str_ne(ha_reason_name(i), "unknown");
	ck_assert_str_eq(ha_rx_state_name(HA_RX_SYNCED), "synced");
}
END_TEST

/* A heartbeat datagram from instance `id` of epoch `epoch`, datagram number seq. */
static int
make_hb(uint8_t *buf, const uint8_t *key, uint16_t id, uint64_t epoch, uint64_t seq, uint8_t type)
{
	struct ha_wire_tx tx;

	ha_wire_tx_init(&tx, key, id, epoch);
	tx.seq = seq - 1;
	ha_wire_hb_encode(buf + HA_WIRE_HDR_LEN, HA_WIRE_HB_LEN, &hb_msg);
	return ha_wire_seal(&tx, buf, HA_WIRE_MAX, type, 0, 0, HA_WIRE_HB_LEN);
}

static int
open_dg(struct ha_wire_rx *rx, const uint8_t *buf, size_t len, bool *ne)
{
	struct ha_wire_hdr h;

	return ha_wire_rx_open(rx, buf, len, &h, ne);
}

START_TEST(wire_rejects)
{
	uint8_t d[HA_WIRE_MAX + 8], e[HA_WIRE_MAX + 8], key2[HA_WIRE_KEY_LEN];
	struct ha_wire_rx rx;
	bool ne;
	int len, i;

	init_key();
	memset(key2, 0xff, sizeof(key2));
	ha_wire_rx_init(&rx, test_key, 1, 0xaaaa);
	len = make_hb(d, test_key, 2, 0xbbbb, 1, HA_MSG_HEARTBEAT);
	ck_assert_int_gt(len, 0);

	/* Truncated: shorter than header and MAC; one byte short fails the MAC. */
	ck_assert_int_eq(open_dg(&rx, d, HA_WIRE_HDR_LEN + HA_WIRE_MAC_LEN - 1, &ne),
			 HA_WIRE_ERR_TRUNCATED);
	ck_assert_int_eq(open_dg(&rx, d, 0, &ne), HA_WIRE_ERR_TRUNCATED);
	ck_assert_int_eq(open_dg(&rx, d, (size_t)len - 1, &ne), HA_WIRE_ERR_BAD_MAC);
	/* Oversized. */
	memset(e, 0, sizeof(e));
	memcpy(e, d, (size_t)len);
	ck_assert_int_eq(open_dg(&rx, e, HA_WIRE_MAX + 1, &ne), HA_WIRE_ERR_OVERSIZED);
	/* Not ours at all. */
	e[0] = 'X';
	ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_ERR_BAD_MAGIC);
	/* Wrong version. */
	memcpy(e, d, (size_t)len);
	e[2] = 2;
	ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_ERR_BAD_VERSION);
	/* Wrong key: a peer configured with another key. */
	ck_assert_int_gt(make_hb(e, key2, 2, 0xbbbb, 1, HA_MSG_HEARTBEAT), 0);
	ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_ERR_WRONG_KEY);
	/* Forged: right key id, a changed byte (body, header or MAC). */
	for (i = 0; i < len; i += 7) {
		if (i == 0 || i == 2 || (i >= 8 && i < 12))
			continue;
		memcpy(e, d, (size_t)len);
		e[i] ^= 0x10;
		ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_ERR_BAD_MAC);
	}
	/* A forged datagram of a new epoch moves nothing. */
	ck_assert(rx.peer.epoch == 0);
	/* Bad length: authentic, but the length field disagrees with the size. */
	memcpy(e, d, (size_t)len);
	e[13] = 23;
	auth_hmac1(AUTH_HMAC_SHA256, test_key, 32, e, (size_t)len - 32, e + len - 32);
	ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_ERR_BAD_LENGTH);
	/* Our own datagram looped back; a peer that uses our id. */
	ck_assert_int_gt(make_hb(e, test_key, 1, 0xaaaa, 1, HA_MSG_HEARTBEAT), 0);
	ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_ERR_OWN_DATAGRAM);
	ck_assert_int_gt(make_hb(e, test_key, 1, 0xcccc, 1, HA_MSG_HEARTBEAT), 0);
	ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_ERR_SAME_ID);

	/* The real thing, once; then replayed. */
	ck_assert_int_eq(open_dg(&rx, d, (size_t)len, &ne), HA_WIRE_OK);
	ck_assert(ne && rx.peer.epoch == 0xbbbb && rx.peer_id == 2);
	ck_assert_int_eq(open_dg(&rx, d, (size_t)len, &ne), HA_WIRE_ERR_REPLAY);
	ck_assert(!ne);
	/* Datagram 0 is never valid. */
	ck_assert_int_gt(make_hb(e, test_key, 2, 0xbbbb, 1, HA_MSG_HEARTBEAT), 0);
	memset(e + 24, 0, 8);
	auth_hmac1(AUTH_HMAC_SHA256, test_key, 32, e, (size_t)len - 32, e + len - 32);
	ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_ERR_MALFORMED);
	/* The peer restarts: its numbers start over, and are fresh. */
	ck_assert_int_gt(make_hb(e, test_key, 2, 0xdddd, 1, HA_MSG_HEARTBEAT), 0);
	ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_OK);
	ck_assert(ne && rx.peer.epoch == 0xdddd);
	/* The old epoch's datagrams, even unseen numbers, are stale now. */
	ck_assert_int_gt(make_hb(e, test_key, 2, 0xbbbb, 9, HA_MSG_HEARTBEAT), 0);
	ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_ERR_STALE_EPOCH);
	ck_assert(rx.peer.epoch == 0xdddd);
	/* Unknown type: authentic and fresh, counted and dropped. */
	ck_assert_int_gt(make_hb(e, test_key, 2, 0xdddd, 2, 9), 0);
	ck_assert_int_eq(open_dg(&rx, e, (size_t)len, &ne), HA_WIRE_ERR_UNKNOWN_TYPE);

	ck_assert(rx.drops[HA_WIRE_OK] == 2);
	ck_assert(rx.drops[HA_WIRE_ERR_TRUNCATED] == 2);
	ck_assert(rx.drops[HA_WIRE_ERR_OVERSIZED] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_BAD_MAGIC] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_BAD_VERSION] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_WRONG_KEY] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_BAD_LENGTH] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_OWN_DATAGRAM] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_SAME_ID] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_REPLAY] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_STALE_EPOCH] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_UNKNOWN_TYPE] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_MALFORMED] == 1);
	ck_assert(rx.drops[HA_WIRE_ERR_BAD_MAC] >= 10);
}
END_TEST

/* The replay window follows the datagram numbers: reordered ones pass, repeats do not. */
START_TEST(wire_replay_window)
{
	uint8_t d[HA_WIRE_MAX];
	struct ha_wire_rx rx;
	bool ne;
	int len;

	init_key();
	ha_wire_rx_init(&rx, test_key, 1, 0xaaaa);
	len = make_hb(d, test_key, 2, 0xbbbb, 10, HA_MSG_HEARTBEAT);
	ck_assert_int_eq(open_dg(&rx, d, (size_t)len, &ne), HA_WIRE_OK);
	make_hb(d, test_key, 2, 0xbbbb, 8, HA_MSG_HEARTBEAT);
	ck_assert_int_eq(open_dg(&rx, d, (size_t)len, &ne), HA_WIRE_OK);
	ck_assert_int_eq(open_dg(&rx, d, (size_t)len, &ne), HA_WIRE_ERR_REPLAY);
	make_hb(d, test_key, 2, 0xbbbb, 10 + AUTH_REPLAY_WINDOW, HA_MSG_HEARTBEAT);
	ck_assert_int_eq(open_dg(&rx, d, (size_t)len, &ne), HA_WIRE_OK);
	/* Now 10 is out of the window: refused though never seen twice. */
	make_hb(d, test_key, 2, 0xbbbb, 9, HA_MSG_HEARTBEAT);
	ck_assert_int_eq(open_dg(&rx, d, (size_t)len, &ne), HA_WIRE_ERR_REPLAY);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The role state machine, table-driven. */

enum step_kind {
	S_RUN,    /* let time pass to t: ticks every ms, the peer's heartbeats every 20 ms */
	S_PEER,   /* ...then the peer's heartbeats say p from now on (one at t) */
	S_SILENT, /* ...then the peer stops speaking (kill -9, SIGSTOP, a cut link) */
	S_JUMP,   /* we were stopped: time moves to t without a call */
	S_EV,     /* ...then the event ev */
	S_SYNC,   /* ...then our sync status changes */
};

#define PF_HANDOFF 1
#define PF_SYNCED 2
#define PF_NEED_BULK 4

struct peer_spec {
	uint8_t state;
	uint8_t prio;
	uint8_t flags;
	uint32_t epoch; /* 0: 100 */
	uint32_t req;   /* 0: 1 */
};

struct step {
	uint32_t t;
	uint8_t kind;
	uint8_t ev;
	struct peer_spec p;
	bool rx, tx;
	int rc;
	uint8_t want;     /* our state after the step */
	const char *acts; /* the actions of the step, periodic heartbeats left out */
	const char *why;  /* the last transition's reason, or NULL */
};

struct scenario {
	const char *name;
	uint16_t id;
	uint8_t prio;
	bool preempt;
	uint32_t announce_delay_ms;
	const struct step *steps;
	unsigned int n_steps;
};

#define PEER_ID 2
#define ST(x) HA_STATE_##x

/* clang-format off */
#define RUN(t, st, a) { t, S_RUN, .want = ST(st), .acts = a }
#define RUNW(t, st, a, w) { t, S_RUN, .want = ST(st), .acts = a, .why = w }
#define PEER(t, ps, pp, pf, st, a, w) \
	{ t, S_PEER, .p = { ST(ps), pp, pf }, .want = ST(st), .acts = a, .why = w }
#define PEERE(t, ps, pp, pf, ep, rq, st, a, w) \
	{ t, S_PEER, .p = { ST(ps), pp, pf, ep, rq }, .want = ST(st), .acts = a, .why = w }
#define SILENT(t, st) { t, S_SILENT, .want = ST(st), .acts = "" }
#define JUMP(t, st) { t, S_JUMP, .want = ST(st), .acts = "" }
#define EV(t, e, r, st, a, w) \
	{ t, S_EV, .ev = HA_EV_##e, .rc = r, .want = ST(st), .acts = a, .why = w }
#define SYNC(t, r, x, st, a, w) { t, S_SYNC, .rx = r, .tx = x, .want = ST(st), .acts = a, .why = w }

#define TAKE "install_state,send_heartbeat"
#define SERVE "announce,serve,send_heartbeat"
#define STEP_DOWN "stop_serving,send_heartbeat,forward_to_peer_on"

/* Alone, the node waits one dead interval (3 x 20 ms), then takes over. */
static const struct step sc_startup_alone[] = {
	RUN(59, INIT, ""),
	RUNW(60, TAKEOVER, TAKE, "no_peer_at_startup"),
	EV(61, INSTALL_DONE, 0, ACTIVE, SERVE, "state_installed"),
	RUN(2000, ACTIVE, ""),
};

/* We (100) join an active of priority 200: standby, and stay so. */
static const struct step sc_lower_joins[] = {
	PEER(5, ACTIVE, 200, 0, STANDBY, "send_heartbeat", "peer_is_active"),
	RUN(3000, STANDBY, ""),
};

/* Both start (INIT): the higher priority takes over at once, the other waits. */
static const struct step sc_both_start_we_lose[] = {
	PEER(5, INIT, 200, 0, INIT, "", NULL),
	RUN(200, INIT, ""),
	PEER(210, ACTIVE, 200, 0, STANDBY, "send_heartbeat", "peer_is_active"),
};

static const struct step sc_both_start_we_win[] = {
	PEER(5, INIT, 100, 0, TAKEOVER, TAKE, "election_won"),
};

/* Equal priorities: the higher id wins (we are 1, the peer 2). */
static const struct step sc_tie_lower_id[] = {
	PEER(5, INIT, 100, 0, INIT, "", NULL),
	RUN(100, INIT, ""),
	PEER(105, ACTIVE, 100, 0, STANDBY, "send_heartbeat", "peer_is_active"),
	RUN(1000, STANDBY, ""),
};

/* ...and as id 3 against 2, we win. */
static const struct step sc_tie_higher_id[] = {
	PEER(5, INIT, 100, 0, TAKEOVER, TAKE, "election_won"),
	EV(6, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	/* A split brain at equal priority: we win on the id, and re-announce. */
	PEER(500, ACTIVE, 100, 0, ACTIVE, "send_heartbeat,announce", "split_brain_won"),
};

/* Split brain at equal priority, as id 1 against 2: we step down. */
static const struct step sc_tie_split_lose[] = {
	RUN(60, TAKEOVER, TAKE),
	EV(61, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	PEER(500, ACTIVE, 100, 0, STANDBY, STEP_DOWN, "split_brain_lost"),
};

/*
 * We (200, preempt) join an active of 100. The preempt delay (200 ms) counts
 * from its first heartbeat heard as standby (t 25), but we preempt only once
 * our copy of its state is complete.
 */
static const struct step sc_preempt_after_sync[] = {
	PEER(5, ACTIVE, 100, PF_NEED_BULK, STANDBY, "send_heartbeat", "peer_is_active"),
	RUN(500, STANDBY, ""),
	SYNC(500, true, false, TAKEOVER, TAKE, "preempt"),
	RUN(505, TAKEOVER, ""), /* its heartbeat (lower priority) does not stop us */
	/* It has no copy of our state (it said so): a bulk sync, now that we serve. */
	EV(510, INSTALL_DONE, 0, ACTIVE, SERVE ",start_bulk_sync", "state_installed"),
	/* It still says active: we assert ourselves (announced 15 ms ago: not again). */
	RUN(530, ACTIVE, "send_heartbeat"),
	PEER(540, STANDBY, 100, 0, ACTIVE, "", NULL),
	RUN(3000, ACTIVE, ""),
};

static const struct step sc_preempt_waits_delay[] = {
	PEER(5, ACTIVE, 100, 0, STANDBY, "send_heartbeat", NULL),
	SYNC(10, true, false, STANDBY, "", NULL),
	RUN(224, STANDBY, ""),
	RUNW(225, TAKEOVER, TAKE, "preempt"),
};

/* A copy that stops being complete stops the preemption until it is again. */
static const struct step sc_preempt_sync_lost[] = {
	PEER(5, ACTIVE, 100, 0, STANDBY, "send_heartbeat", NULL),
	SYNC(50, true, false, STANDBY, "", NULL),
	SYNC(100, false, false, STANDBY, "", NULL),
	RUN(400, STANDBY, ""),
	SYNC(400, true, false, TAKEOVER, TAKE, "preempt"),
};

static const struct step sc_no_preempt[] = {
	PEER(5, ACTIVE, 100, 0, STANDBY, "send_heartbeat", NULL),
	SYNC(10, true, true, STANDBY, "", NULL),
	RUN(3000, STANDBY, ""),
};

/* kill -9 of the active: its last heartbeat at 1005, dead at 1005 + 3 x 20. */
static const struct step sc_peer_death[] = {
	PEER(5, ACTIVE, 200, 0, STANDBY, "send_heartbeat", NULL),
	SILENT(1005, STANDBY),
	RUN(1064, STANDBY, ""),
	RUNW(1065, TAKEOVER, TAKE, "peer_dead"),
	EV(1066, INSTALL_DONE, 0, ACTIVE, SERVE, "state_installed"),
	RUN(3000, ACTIVE, ""),
};

/* SIGSTOP of the active (200) for 2 s: we take over; it resumes, still active: it wins. */
static const struct step sc_sigstop_peer[] = {
	PEER(5, ACTIVE, 200, 0, STANDBY, "send_heartbeat", NULL),
	SILENT(105, STANDBY),
	RUNW(165, TAKEOVER, TAKE, "peer_dead"),
	EV(166, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	PEER(2105, ACTIVE, 200, 0, STANDBY, STEP_DOWN, "split_brain_lost"),
	RUN(4000, STANDBY, ""),
};

/* The same from the stopped one (200): it resumes, hears the other active, wins at once. */
static const struct step sc_sigstop_self[] = {
	RUN(60, TAKEOVER, TAKE),
	EV(61, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	PEER(70, STANDBY, 100, 0, ACTIVE, "", NULL),
	JUMP(2070, ACTIVE),
	PEER(2070, ACTIVE, 100, 0, ACTIVE, "send_heartbeat,announce", "split_brain_won"),
	PEER(2075, STANDBY, 100, 0, ACTIVE, "", NULL),
	RUN(4000, ACTIVE, ""),
};

/* The heartbeat link is cut, then restored: the better active keeps the role. */
static const struct step sc_link_cut_restored[] = {
	PEER(5, ACTIVE, 200, 0, STANDBY, "send_heartbeat", NULL),
	SILENT(505, STANDBY),
	RUNW(565, TAKEOVER, TAKE, "peer_dead"),
	EV(566, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	PEER(1500, ACTIVE, 200, 0, STANDBY, STEP_DOWN, "split_brain_lost"),
	RUN(3000, STANDBY, ""),
};

/* ...restored before our takeover finished: we give it up before serving. */
static const struct step sc_link_restored_in_takeover[] = {
	PEER(5, ACTIVE, 200, 0, STANDBY, "send_heartbeat", NULL),
	SILENT(505, STANDBY),
	RUN(565, TAKEOVER, TAKE),
	PEER(580, ACTIVE, 200, 0, STANDBY, "send_heartbeat", "takeover_aborted"),
	RUN(3000, STANDBY, ""),
};

/* Our HA port goes down: fault, priority 0 heartbeat; up again: listen first. */
static const struct step sc_link_down[] = {
	RUN(60, TAKEOVER, TAKE),
	EV(61, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	PEER(70, STANDBY, 100, 0, ACTIVE, "", NULL),
	EV(100, LINK_DOWN, 0, FAULT, "stop_serving,send_heartbeat", "link_down"),
	SILENT(100, FAULT),
	RUN(500, FAULT, ""),
	EV(500, LINK_UP, 0, INIT, "", "link_up"),
	PEER(510, ACTIVE, 100, 0, STANDBY, "send_heartbeat", "peer_is_active"),
};

/* The peer's port goes down: its priority 0 heartbeat hands over at once. */
static const struct step sc_peer_fault[] = {
	PEER(5, ACTIVE, 200, 0, STANDBY, "send_heartbeat", NULL),
	PEER(300, FAULT, 0, 0, TAKEOVER, TAKE, "peer_resigned"),
	EV(301, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	/* RFC 9568 6.4.3: an active that hears priority 0 answers at once. */
	RUN(320, ACTIVE, "send_heartbeat"),
};

/* Planned switchover, the active's side (we are 200, the peer 100). */
static const struct step sc_switchover_active[] = {
	RUN(60, TAKEOVER, TAKE),
	EV(61, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	PEER(70, STANDBY, 100, PF_NEED_BULK, ACTIVE, "start_bulk_sync", NULL),
	PEER(90, STANDBY, 100, PF_NEED_BULK, ACTIVE, "", NULL),
	SYNC(100, false, true, ACTIVE, "", NULL),
	EV(110, SWITCHOVER, 0, SWITCHOVER, "send_heartbeat", "switchover_requested"),
	PEER(120, STANDBY, 100, 0, SWITCHOVER, "", NULL), /* in bulk */
	PEER(140, STANDBY, 100, PF_SYNCED, SWITCHOVER, "send_handoff,send_heartbeat",
	     "switchover_handoff_sent"),
	PEER(150, TAKEOVER, 100, 0, SWITCHOVER, "", NULL),
	/* Only when it serves do we stop; what still reaches us goes to it. */
	PEER(160, ACTIVE, 100, 0, STANDBY, STEP_DOWN, "switchover_done"),
	SYNC(170, true, true, STANDBY, "", NULL),
	/* The operator moved the role: no preemption back, though we are 200. */
	RUN(3000, STANDBY, ""),
	SILENT(3000, STANDBY),
	RUNW(3060, TAKEOVER, "forward_to_peer_off,install_state,send_heartbeat", "peer_dead"),
};

/* ...the standby's side. */
static const struct step sc_switchover_standby[] = {
	PEER(5, ACTIVE, 200, 0, STANDBY, "send_heartbeat", NULL),
	PEER(100, SWITCHOVER, 200, PF_HANDOFF, TAKEOVER, TAKE, "peer_handed_over"),
	EV(101, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	/* It still serves until it hears us active: that is no split brain. */
	PEER(105, SWITCHOVER, 200, PF_HANDOFF, ACTIVE, "", NULL),
	PEER(110, STANDBY, 200, 0, ACTIVE, "", NULL),
	RUN(3000, ACTIVE, ""),
};

/* What a switchover request gets in the other cases. */
static const struct step sc_switchover_refused[] = {
	EV(10, SWITCHOVER, -EINVAL, INIT, "", NULL),
	RUN(60, TAKEOVER, TAKE),
	EV(60, SWITCHOVER, -EINVAL, TAKEOVER, "", NULL),
	EV(61, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	EV(62, SWITCHOVER, -ENOTCONN, ACTIVE, "", NULL),
	PEER(70, STANDBY, 100, 0, ACTIVE, "", NULL),
	EV(80, SWITCHOVER, 0, SWITCHOVER, "send_heartbeat", NULL),
	EV(81, SWITCHOVER, -EALREADY, SWITCHOVER, "", NULL),
	/* The peer never gets in sync: given up after 1 s, and announced again. */
	RUN(1079, SWITCHOVER, ""),
	RUNW(1080, ACTIVE, "announce,send_heartbeat", "switchover_timeout"),
};

/* The active's view of a standby that restarts: a new bulk sync for the new epoch. */
static const struct step sc_standby_restart_active[] = {
	RUN(60, TAKEOVER, TAKE),
	EV(61, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	PEERE(70, STANDBY, 200, PF_NEED_BULK, 100, 1, ACTIVE, "start_bulk_sync", NULL),
	PEERE(90, STANDBY, 200, PF_SYNCED, 100, 1, ACTIVE, "", NULL),
	PEERE(200, INIT, 200, PF_NEED_BULK, 101, 1, ACTIVE, "start_bulk_sync", NULL),
	PEERE(220, STANDBY, 200, PF_NEED_BULK, 101, 1, ACTIVE, "", NULL),
	/* It lost records later and asks again (request 2). */
	PEERE(240, STANDBY, 200, PF_NEED_BULK, 101, 2, ACTIVE, "start_bulk_sync", NULL),
	RUN(1000, ACTIVE, ""),
};

/* We restarted (INIT) and the peer is a standby: it holds the state, it takes over. */
static const struct step sc_restart_peer_holds_state[] = {
	PEER(5, STANDBY, 100, 0, STANDBY, "send_heartbeat", "peer_is_standby_with_state"),
	PEER(10, TAKEOVER, 100, 0, STANDBY, "", NULL),
	PEER(20, ACTIVE, 100, 0, STANDBY, "", NULL),
};

/* The active restarted: it holds nothing, we take over at once. */
static const struct step sc_active_restarts[] = {
	PEER(5, ACTIVE, 200, 0, STANDBY, "send_heartbeat", NULL),
	PEERE(100, INIT, 200, PF_NEED_BULK, 101, 1, TAKEOVER, TAKE, "peer_restarted"),
	/* It needs our state: a bulk sync as soon as we serve, once. */
	EV(101, INSTALL_DONE, 0, ACTIVE, SERVE ",start_bulk_sync", NULL),
	PEERE(120, STANDBY, 200, PF_NEED_BULK, 101, 1, ACTIVE, "", NULL),
};

/* The install does not finish: we serve anyway after install_timeout (100 ms). */
static const struct step sc_install_timeout[] = {
	RUN(60, TAKEOVER, TAKE),
	RUN(159, TAKEOVER, ""),
	RUNW(160, ACTIVE, SERVE, "install_timeout"),
};

/* keepalived's vrrp_garp_master_delay: a second announce 500 ms after taking over. */
static const struct step sc_second_announce[] = {
	RUN(60, TAKEOVER, TAKE),
	EV(61, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	RUN(560, ACTIVE, ""),
	RUN(561, ACTIVE, "announce"),
	RUN(3000, ACTIVE, ""),
};

static const struct step sc_shutdown[] = {
	RUN(60, TAKEOVER, TAKE),
	EV(61, INSTALL_DONE, 0, ACTIVE, SERVE, NULL),
	EV(100, SHUTDOWN, 0, FAULT, "stop_serving,send_heartbeat", "shutdown"),
	EV(200, LINK_UP, 0, FAULT, "", "shutdown"),
};

#define SC(n, i, p, pre, ad) { #n, i, p, pre, ad, n, sizeof(n) / sizeof(n[0]) }

static const struct scenario scenarios[] = {
	SC(sc_startup_alone, 1, 100, true, 0),
	SC(sc_lower_joins, 1, 100, true, 0),
	SC(sc_both_start_we_lose, 1, 100, true, 0),
	SC(sc_both_start_we_win, 1, 200, true, 0),
	SC(sc_tie_lower_id, 1, 100, true, 0),
	SC(sc_tie_higher_id, 3, 100, true, 0),
	SC(sc_tie_split_lose, 1, 100, true, 0),
	SC(sc_preempt_after_sync, 1, 200, true, 0),
	SC(sc_preempt_waits_delay, 1, 200, true, 0),
	SC(sc_preempt_sync_lost, 1, 200, true, 0),
	SC(sc_no_preempt, 1, 200, false, 0),
	SC(sc_peer_death, 1, 100, true, 0),
	SC(sc_sigstop_peer, 1, 100, true, 0),
	SC(sc_sigstop_self, 1, 200, true, 0),
	SC(sc_link_cut_restored, 1, 100, true, 0),
	SC(sc_link_restored_in_takeover, 1, 100, true, 0),
	SC(sc_link_down, 1, 200, true, 0),
	SC(sc_peer_fault, 1, 100, true, 0),
	SC(sc_switchover_active, 1, 200, true, 0),
	SC(sc_switchover_standby, 1, 100, true, 0),
	SC(sc_switchover_refused, 1, 200, true, 0),
	SC(sc_standby_restart_active, 1, 100, true, 0),
	SC(sc_restart_peer_holds_state, 1, 200, true, 0),
	SC(sc_active_restarts, 1, 100, true, 0),
	SC(sc_install_timeout, 1, 100, true, 0),
	SC(sc_second_announce, 1, 100, true, 500),
	SC(sc_shutdown, 1, 100, true, 0),
};

/* clang-format on */

struct fsm_sim {
	struct ha_fsm f;
	uint32_t now; /* ms */
	bool peer_speaks;
	struct peer_spec peer;
	uint32_t next_peer_hb;
	char acts[512];
	const char *name;
	unsigned int step;
};

static void
collect(struct fsm_sim *s, const struct ha_actions *a)
{
	unsigned int i;

	for (i = 0; i < a->n; i++) {
		/* Periodic heartbeats are left out: they come every 20 ms in every state. */
		if (a->a[i].type == HA_ACT_SEND_HEARTBEAT && a->a[i].reason == HA_REASON_NONE)
			continue;
		if (s->acts[0] != '\0')
			strncat(s->acts, ",", sizeof(s->acts) - strlen(s->acts) - 1);
		strncat(s->acts, ha_action_name(a->a[i].type),
			sizeof(s->acts) - strlen(s->acts) - 1);
	}
}

static void
feed(struct fsm_sim *s, const struct ha_event *ev, int want_rc)
{
	struct ha_actions a = { 0 };
	int rc = ha_fsm_input(&s->f, MS(s->now), ev, &a);

	ck_assert_msg(rc == want_rc, "%s step %u: rc %d, want %d", s->name, s->step, rc, want_rc);
	collect(s, &a);
}

static void
peer_hb(struct fsm_sim *s)
{
	struct ha_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = HA_EV_PEER_HB;
	ev.u.hb.id = PEER_ID;
	ev.u.hb.epoch = s->peer.epoch != 0 ? s->peer.epoch : 100;
	ev.u.hb.state = s->peer.state;
	ev.u.hb.priority = s->peer.prio;
	ev.u.hb.handoff = s->peer.flags & PF_HANDOFF;
	ev.u.hb.synced = s->peer.flags & PF_SYNCED;
	ev.u.hb.need_bulk = s->peer.flags & PF_NEED_BULK;
	ev.u.hb.bulk_req = s->peer.req != 0 ? s->peer.req : 1;
	ev.u.hb.interval_ms = 20;
	feed(s, &ev, 0);
}

/* Time passes to t: the peer's heartbeats every 20 ms, a tick every ms. */
static void
run_to(struct fsm_sim *s, uint32_t t)
{
	struct ha_event tick = { .type = HA_EV_TICK };

	while (s->now < t) {
		uint64_t due = ha_fsm_next_deadline(&s->f);
		uint8_t before = s->f.state;
		uint64_t n_hb = s->f.hb_requests;

		s->now++;
		if (s->peer_speaks && s->now >= s->next_peer_hb) {
			peer_hb(s);
			s->next_peer_hb = s->now + 20;
			continue;
		}
		feed(s, &tick, 0);
		/* Whatever a tick changes was announced by ha_fsm_next_deadline. */
		if (s->f.state != before || s->f.hb_requests != n_hb)
			ck_assert_msg(due <= MS(s->now), "%s step %u: deadline %llu after %u ms",
				      s->name, s->step, (unsigned long long)due, s->now);
	}
}

START_TEST(fsm_scenarios)
{
	const struct scenario *sc = &scenarios[_i];
	struct ha_fsm_conf c;
	struct ha_actions a = { 0 };
	struct fsm_sim *s = calloc(1, sizeof(*s));
	unsigned int i;

	ha_fsm_conf_defaults(&c);
	c.id = sc->id;
	c.priority = sc->prio;
	c.preempt = sc->preempt;
	c.preempt_delay_ms = 200;
	c.install_timeout_ms = 100;
	c.switchover_timeout_ms = 1000;
	c.announce_delay_ms = sc->announce_delay_ms;
	ck_assert_int_eq(ha_fsm_init(&s->f, &c, 0, &a), 0);
	s->name = sc->name;
	for (i = 0; i < sc->n_steps; i++) {
		const struct step *st = &sc->steps[i];
		const struct ha_transition *last;
		struct ha_event ev;

		s->step = i;
		s->acts[0] = '\0';
		if (st->kind == S_JUMP)
			s->now = st->t;
		else
			run_to(s, st->t);
		memset(&ev, 0, sizeof(ev));
		switch (st->kind) {
		case S_PEER:
			s->peer = st->p;
			s->peer_speaks = true;
			peer_hb(s);
			s->next_peer_hb = s->now + 20;
			break;
		case S_SILENT:
			s->peer_speaks = false;
			break;
		case S_EV:
			ev.type = st->ev;
			feed(s, &ev, st->rc);
			break;
		case S_SYNC:
			ev.type = HA_EV_SYNC;
			ev.u.sync.rx_synced = st->rx;
			ev.u.sync.tx_synced = st->tx;
			feed(s, &ev, 0);
			break;
		default:
			break;
		}
		ck_assert_msg(s->f.state == st->want, "%s step %u (t %u): state %s, want %s",
			      sc->name, i, st->t, ha_state_name(s->f.state),
			      ha_state_name(st->want));
		ck_assert_msg(strcmp(s->acts, st->acts) == 0,
			      "%s step %u (t %u): actions \"%s\", want \"%s\"", sc->name, i, st->t,
			      s->acts, st->acts);
		last = ha_fsm_last(&s->f);
		if (st->why != NULL)
			ck_assert_msg(last != NULL &&
					      strcmp(ha_reason_name(last->reason), st->why) == 0,
				      "%s step %u: reason %s, want %s", sc->name, i,
				      last ? ha_reason_name(last->reason) : "none", st->why);
	}
	free(s);
}
END_TEST

/* What our heartbeat says in FAULT and during a handoff; the history keeps the last 16. */
START_TEST(fsm_heartbeat_fields_and_history)
{
	struct ha_actions a = { 0 };
	struct ha_fsm_conf c;
	struct ha_fsm f;
	struct ha_fsm_hb hb;
	struct ha_event ev;
	uint32_t t;

	ha_fsm_conf_defaults(&c);
	c.priority = 150;
	ck_assert_int_eq(ha_fsm_init(&f, &c, 0, &a), 0);
	ha_fsm_hb_fields(&f, &hb);
	ck_assert(hb.state == HA_STATE_INIT && hb.priority == 150 && hb.preempt && !hb.handoff);
	ck_assert_uint_eq(hb.interval_ms, 20);
	ha_fsm_event(&f, MS(1), HA_EV_LINK_DOWN, &a);
	ha_fsm_hb_fields(&f, &hb);
	ck_assert(hb.state == HA_STATE_FAULT && hb.priority == 0);
	/* Flap the link 20 times: 40 transitions, the last 16 kept, in order. */
	for (t = 2; t < 42; t += 2) {
		ha_fsm_event(&f, MS(t), HA_EV_LINK_UP, &a);
		a.n = 0;
		ha_fsm_event(&f, MS(t + 1), HA_EV_LINK_DOWN, &a);
		a.n = 0;
	}
	ck_assert_uint_eq(f.n_history, 41);
	ck_assert_uint_eq(ha_fsm_last(&f)->reason, HA_REASON_LINK_DOWN);
	ck_assert_uint_eq(ha_fsm_last(&f)->at_ns, MS(41));
	ck_assert_str_eq(ha_fsm_last(&f)->detail, "HA port link down");
	ck_assert_uint_eq(f.stats.transitions, 41);
	ck_assert_uint_eq(f.stats.reasons[HA_REASON_LINK_UP], 20);

	/* Conf out of range. */
	c.priority = 255;
	ck_assert_int_eq(ha_fsm_init(&f, &c, 0, &a), -EINVAL);
	c.priority = 0;
	ck_assert_int_eq(ha_fsm_init(&f, &c, 0, &a), -EINVAL);
	c.priority = 100;
	c.id = 0;
	ck_assert_int_eq(ha_fsm_init(&f, &c, 0, &a), -EINVAL);

	/* A heartbeat claiming our id is ignored. */
	c.id = 1;
	ck_assert_int_eq(ha_fsm_init(&f, &c, 0, &a), 0);
	memset(&ev, 0, sizeof(ev));
	ev.type = HA_EV_PEER_HB;
	ev.u.hb.id = 1;
	ev.u.hb.state = HA_STATE_ACTIVE;
	ev.u.hb.priority = 200;
	ck_assert_int_eq(ha_fsm_input(&f, MS(5), &ev, &a), -EINVAL);
	ck_assert(!f.peer_known && f.state == HA_STATE_INIT);
	/* Ties: priority first, then the higher id. */
	ck_assert(ha_fsm_better(200, 1, 100, 2));
	ck_assert(ha_fsm_better(100, 2, 100, 1));
	ck_assert(!ha_fsm_better(100, 1, 100, 2));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Two nodes over a simulated link: loss, duplication, reordering, cuts, stops. */

#define SIM_STEP_US 100
#define SIM_MAXPKT 4096
#define SIM_FLOWS 60000

struct sim;

struct box {
	struct sim *sim;
	int idx;
	struct ha_node *n;
	struct ha_node_conf conf;
	bool up;     /* the process exists */
	bool frozen; /* SIGSTOP: its datagrams wait, it runs nothing */
	bool serving, forwarding;
	unsigned int n_install, n_announce;
	uint64_t install_us, announce_us, serve_us;
	/* Flows this box created: 0 .. n_own-1 (by the record's user word). */
	uint32_t n_own;
	/* Learnt from the peer: 0 absent, 1 present, 2 marked by a bulk start. */
	uint8_t *learnt;
	uint64_t last_seq, order_errors, delivered;
	bool check_order;
	uint64_t expect_user;
	/* A bulk sync being fed. */
	bool bulk_on;
	uint32_t bulk_id, bulk_pos;
};

struct pkt {
	uint64_t at_us;
	int to;
	uint16_t len;
	uint8_t buf[HA_WIRE_MAX];
};

struct sim {
	uint64_t now_us;
	uint64_t rng;
	unsigned int drop_pct, dup_pct, reorder_pct;
	uint32_t delay_us;
	bool cut;
	struct pkt *q;
	unsigned int nq;
	uint64_t lost_full;
	struct box b[2];
};

static uint64_t
sim_rand(struct sim *s)
{
	/* xorshift64*: seeded, so a failure replays. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ULL;
}

static void
sim_enqueue(struct sim *s, int to, const uint8_t *buf, int len)
{
	struct pkt *p;

	if (s->nq >= SIM_MAXPKT) {
		s->lost_full++;
		return;
	}
	p = &s->q[s->nq++];
	p->to = to;
	p->len = (uint16_t)len;
	memcpy(p->buf, buf, (size_t)len);
	p->at_us = s->now_us + s->delay_us;
	if (sim_rand(s) % 100 < s->reorder_pct)
		p->at_us += sim_rand(s) % 2000;
}

static void
sim_send(struct sim *s, int from, const uint8_t *buf, int len)
{
	if (s->cut || sim_rand(s) % 100 < s->drop_pct)
		return;
	sim_enqueue(s, 1 - from, buf, len);
	if (sim_rand(s) % 100 < s->dup_pct)
		sim_enqueue(s, 1 - from, buf, len);
}

static void
flow_rec(struct ha_rec *r, uint32_t i, uint8_t type)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->u.flow.key.family = 4;
	r->u.flow.key.proto = 6;
	r->u.flow.key.sport = (uint16_t)(i & 0xffff);
	r->u.flow.key.dport = 80;
	r->u.flow.key.src[0] = 10;
	r->u.flow.key.src[1] = (uint8_t)(i >> 16);
	r->u.flow.key.src[2] = (uint8_t)(i >> 8);
	r->u.flow.key.src[3] = (uint8_t)i;
	memcpy(r->u.flow.key.dst, "\xc0\x00\x02\x0a", 4);
	r->u.flow.vip = 1;
	r->u.flow.backend = i % 7;
	r->u.flow.state = FLOW_STATE_EST;
	r->u.flow.user = i;
}

static void
box_deliver(void *arg, uint64_t seq, const struct ha_rec *r)
{
	struct box *b = arg;
	struct ha_sync_status st;
	uint32_t i;

	if (b->last_seq != 0 && seq != b->last_seq + 1)
		b->order_errors++;
	b->last_seq = seq;
	b->delivered++;
	switch (r->type) {
	case HA_REC_FLOW_ADD:
		ck_assert(r->u.flow.user < SIM_FLOWS);
		if (b->check_order && r->u.flow.user != b->expect_user++)
			b->order_errors++;
		b->learnt[r->u.flow.user] = 1;
		break;
	case HA_REC_FLOW_DEL:
		ck_assert(r->u.flow.user < SIM_FLOWS);
		b->learnt[r->u.flow.user] = 0;
		break;
	case HA_REC_BULK_START:
		for (i = 0; i < SIM_FLOWS; i++)
			if (b->learnt[i] == 1)
				b->learnt[i] = 2;
		break;
	case HA_REC_BULK_END:
		ha_sync_status(ha_node_sync(b->n), &st);
		if (st.rx_state == HA_RX_SYNCED)
			for (i = 0; i < SIM_FLOWS; i++)
				if (b->learnt[i] == 2)
					b->learnt[i] = 0;
		break;
	default:
		break;
	}
}

static void
box_apply(struct box *b, struct ha_actions *a)
{
	uint64_t now = b->sim->now_us;
	struct ha_actions more;
	unsigned int i;
	int id;

	while (a->n != 0) {
		more.n = 0;
		for (i = 0; i < a->n; i++) {
			switch (a->a[i].type) {
			case HA_ACT_INSTALL_STATE:
				b->n_install++;
				b->install_us = now;
				ha_node_install_done(b->n, now * 1000, &more);
				break;
			case HA_ACT_ANNOUNCE:
				b->n_announce++;
				b->announce_us = now;
				break;
			case HA_ACT_SERVE:
				b->serving = true;
				b->serve_us = now;
				break;
			case HA_ACT_STOP_SERVING:
				b->serving = false;
				break;
			case HA_ACT_FORWARD_ON:
				b->forwarding = true;
				break;
			case HA_ACT_FORWARD_OFF:
				b->forwarding = false;
				break;
			case HA_ACT_START_BULK_SYNC:
				id = ha_node_bulk_begin(b->n, b->n_own);
				if (id > 0) {
					b->bulk_on = true;
					b->bulk_id = (uint32_t)id;
					b->bulk_pos = 0;
				}
				break;
			default:
				break;
			}
		}
		*a = more;
	}
}

/* The defaults of a box; box_boot starts it (the test may change the conf between). */
static void
box_conf(struct sim *s, int idx, uint16_t id, uint8_t prio, uint64_t epoch)
{
	struct box *b = &s->b[idx];

	b->sim = s;
	b->idx = idx;
	ha_node_conf_defaults(&b->conf);
	memcpy(b->conf.key, test_key, sizeof(test_key));
	b->conf.epoch = epoch;
	b->conf.fsm.id = id;
	b->conf.fsm.priority = prio;
	b->conf.fsm.preempt_delay_ms = 300;
	b->conf.fsm.install_timeout_ms = 100;
	b->conf.fsm.announce_delay_ms = 0;
	b->conf.fsm.switchover_timeout_ms = 5000;
}

static void
box_boot(struct sim *s, int idx)
{
	struct box *b = &s->b[idx];
	struct ha_actions a = { 0 };

	if (b->n != NULL)
		ha_node_free(b->n);
	if (b->learnt == NULL)
		b->learnt = calloc(SIM_FLOWS, 1);
	memset(b->learnt, 0, SIM_FLOWS);
	b->up = true;
	b->frozen = false;
	b->serving = b->forwarding = false;
	b->bulk_on = false;
	b->last_seq = 0;
	b->n = ha_node_create(&b->conf, s->now_us * 1000, &a);
	ck_assert_ptr_nonnull(b->n);
	ha_node_set_deliver(b->n, box_deliver, b);
	box_apply(b, &a);
}

static void
box_start(struct sim *s, int idx, uint16_t id, uint8_t prio, uint64_t epoch)
{
	box_conf(s, idx, id, prio, epoch);
	box_boot(s, idx);
}

static void
box_feed_bulk(struct box *b)
{
	struct ha_rec r;

	while (b->bulk_on && b->bulk_pos < b->n_own) {
		flow_rec(&r, b->bulk_pos, HA_REC_FLOW_ADD);
		int rc = ha_node_bulk_add(b->n, b->bulk_id, &r);

		if (rc == -EAGAIN)
			return;
		if (rc < 0) {
			b->bulk_on = false;
			return;
		}
		b->bulk_pos++;
	}
	if (b->bulk_on && ha_node_bulk_end(b->n, b->bulk_id) == 0)
		b->bulk_on = false;
}

static void
sim_step(struct sim *s)
{
	uint8_t buf[HA_WIRE_MAX];
	struct ha_actions a;
	unsigned int i;
	int k, len;

	s->now_us += SIM_STEP_US;
	for (i = 0; i < s->nq;) {
		struct pkt *p = &s->q[i];
		struct box *b = &s->b[p->to];

		if (p->at_us > s->now_us || (b->up && b->frozen)) {
			i++;
			continue;
		}
		if (b->up) {
			a.n = 0;
			ha_node_rx(b->n, s->now_us * 1000, p->buf, p->len, &a);
			box_apply(b, &a);
		}
		s->q[i] = s->q[--s->nq];
	}
	for (k = 0; k < 2; k++) {
		struct box *b = &s->b[k];

		if (!b->up || b->frozen)
			continue;
		if (s->now_us * 1000 >= ha_node_next_deadline(b->n)) {
			a.n = 0;
			ha_node_tick(b->n, s->now_us * 1000, &a);
			box_apply(b, &a);
		}
		box_feed_bulk(b);
		while ((len = ha_node_tx(b->n, s->now_us * 1000, buf, sizeof(buf))) > 0)
			sim_send(s, k, buf, len);
	}
}

static struct sim *
sim_new(uint64_t seed)
{
	struct sim *s = calloc(1, sizeof(*s));

	init_key();
	s->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	s->delay_us = 200;
	s->q = calloc(SIM_MAXPKT, sizeof(*s->q));
	return s;
}

static void
sim_free(struct sim *s)
{
	int k;

	for (k = 0; k < 2; k++) {
		ha_node_free(s->b[k].n);
		free(s->b[k].learnt);
	}
	free(s->q);
	free(s);
}

static void
sim_run_ms(struct sim *s, uint32_t ms)
{
	uint64_t end = s->now_us + (uint64_t)ms * 1000;

	while (s->now_us < end)
		sim_step(s);
}

static uint8_t
state_of(const struct box *b)
{
	return (uint8_t)ha_node_fsm(b->n)->state;
}

/* A (200) and B (100) settle: A active, B standby with a complete copy. */
static void
sim_pair(struct sim *s, uint32_t flows)
{
	box_start(s, 0, 1, 200, 0x1111);
	s->b[0].n_own = flows;
	sim_run_ms(s, 100);
	ck_assert_uint_eq(state_of(&s->b[0]), HA_STATE_ACTIVE);
	box_start(s, 1, 2, 100, 0x2222);
	sim_run_ms(s, 200);
	ck_assert_uint_eq(state_of(&s->b[1]), HA_STATE_STANDBY);
}

static uint32_t
learnt_count(const struct box *b)
{
	uint32_t i, n = 0;

	for (i = 0; i < SIM_FLOWS; i++)
		n += b->learnt[i] != 0;
	return n;
}

static bool
rx_synced(const struct box *b)
{
	struct ha_sync_status st;

	ha_sync_status(ha_node_sync(b->n), &st);
	return st.rx_synced;
}

/* Every record delivered exactly once and in order, over loss, duplicates, reordering. */
START_TEST(sync_lossy_exactly_once)
{
	struct sim *s = sim_new((uint64_t)_i + 1);
	struct box *a = &s->b[0], *b = &s->b[1];
	const struct ha_sync_stats *st;
	uint32_t pushed = 0, i;
	struct ha_rec r;

	s->drop_pct = 10;
	s->dup_pct = 5;
	s->reorder_pct = 20;
	box_conf(s, 0, 1, 200, 0x1111);
	box_conf(s, 1, 2, 100, 0x2222);
	/* With 10 % loss, 3 heartbeats in a row go missing now and then: not the point here. */
	a->conf.fsm.dead_count = 50;
	b->conf.fsm.dead_count = 50;
	box_boot(s, 0);
	box_boot(s, 1);
	sim_run_ms(s, 300);
	b->check_order = true;
	b->expect_user = 0;
	b->last_seq = 0;
	/* 30000 records, 30 every 100 us, pushed only while the queue has room. */
	while (pushed < 30000 && s->now_us < 60 * 1000000ULL) {
		for (i = 0; i < 30 && pushed < 30000; i++) {
			flow_rec(&r, pushed, HA_REC_FLOW_ADD);
			if (ha_sync_bulk_room(ha_node_sync(a->n)) == 0 ||
			    ha_node_push(a->n, &r) != 0)
				break;
			pushed++;
		}
		sim_step(s);
	}
	for (i = 0; i < 20000 && b->expect_user < 30000; i++)
		sim_step(s);
	ck_assert_uint_eq(pushed, 30000);
	ck_assert_msg(b->expect_user == 30000, "seed %d: %llu of 30000 delivered", _i,
		      (unsigned long long)b->expect_user);
	ck_assert_uint_eq(b->order_errors, 0);
	ck_assert_uint_eq(learnt_count(b), 30000);
	st = ha_sync_stats(ha_node_sync(a->n));
	ck_assert_uint_eq(st->overflows, 0);
	ck_assert_uint_gt(st->resent, 0);
	/* Duplicated datagrams die in the replay window; resent records in the receiver. */
	ck_assert_uint_gt(ha_node_wire_rx(b->n)->drops[HA_WIRE_ERR_REPLAY], 0);
	/* Everything acknowledged in the end. */
	sim_run_ms(s, 500);
	ck_assert_uint_eq(b->expect_user, 30000);
	{
		struct ha_sync_status ss;

		ha_sync_status(ha_node_sync(a->n), &ss);
		ck_assert_uint_eq(ss.queued, 0);
	}
	sim_free(s);
}
END_TEST

/* A standby that joins gets a bulk sync over a lossy link, and ends with the same table. */
START_TEST(sync_bulk_lossy)
{
	struct sim *s = sim_new(42);
	struct box *a = &s->b[0], *b = &s->b[1];
	struct ha_sync_status st;
	uint32_t i;

	s->drop_pct = 5;
	s->reorder_pct = 10;
	s->dup_pct = 2;
	box_conf(s, 0, 1, 200, 0x1111);
	a->conf.fsm.dead_count = 50;
	box_boot(s, 0);
	a->n_own = 50000;
	sim_run_ms(s, 1100);
	ck_assert_uint_eq(state_of(a), HA_STATE_ACTIVE);
	box_conf(s, 1, 2, 100, 0x2222);
	b->conf.fsm.dead_count = 50;
	box_boot(s, 1);
	for (i = 0; i < 200000 && !rx_synced(b); i++)
		sim_step(s);
	ck_assert_msg(rx_synced(b), "not in sync after %u steps", i);
	ck_assert_uint_eq(learnt_count(b), 50000);
	ck_assert_uint_eq(b->order_errors, 0);
	sim_run_ms(s, 200);
	ha_sync_status(ha_node_sync(a->n), &st);
	ck_assert(st.tx_synced && st.bulk_state == HA_BULK_IDLE);
	ck_assert_uint_eq(ha_sync_stats(ha_node_sync(a->n))->bulks_done, 1);
	sim_free(s);
}
END_TEST

/*
 * A full queue refuses records and says so; the peer learns its copy is
 * incomplete, asks for a bulk, gets it, and is in sync again.
 */
START_TEST(sync_overflow_then_bulk)
{
	struct sim *s = sim_new(7);
	struct box *a = &s->b[0], *b = &s->b[1];
	uint32_t i, refused = 0;
	struct ha_rec r;

	init_key();
	box_conf(s, 0, 1, 200, 0x1111);
	a->conf.sync.queue_records = 256;
	a->conf.sync.bulk_reserve = 64;
	a->conf.sync.window = 64;
	a->conf.fsm.dead_count = 100;
	box_boot(s, 0);
	box_conf(s, 1, 2, 100, 0x2222);
	b->conf.fsm.dead_count = 100;
	box_boot(s, 1);
	sim_run_ms(s, 300);
	ck_assert(rx_synced(b));
	/* The link goes away for 300 ms while 1000 flows are created. */
	s->cut = true;
	for (i = 0; i < 1000; i++) {
		flow_rec(&r, i, HA_REC_FLOW_ADD);
		if (ha_node_push(a->n, &r) == -ENOBUFS)
			refused++;
		a->n_own = i + 1;
		if (i % 10 == 0)
			sim_step(s);
	}
	ck_assert_uint_gt(refused, 0);
	ck_assert_uint_ge(ha_sync_stats(ha_node_sync(a->n))->overflows, refused);
	sim_run_ms(s, 200);
	s->cut = false;
	for (i = 0; i < 100000 && !(rx_synced(b) && learnt_count(b) == 1000); i++)
		sim_step(s);
	sim_run_ms(s, 50);
	ck_assert_uint_eq(learnt_count(b), 1000);
	ck_assert(rx_synced(b));
	ck_assert_uint_ge(ha_sync_stats(ha_node_sync(b->n))->rx_resyncs, 1);
	ck_assert_uint_ge(ha_sync_stats(ha_node_sync(a->n))->bulks_done, 2);
	ck_assert_uint_eq(state_of(a), HA_STATE_ACTIVE);
	sim_free(s);
}
END_TEST

/* Planned switchover: at every instant one of the two serves; the flows follow. */
START_TEST(node_switchover_hitless)
{
	struct sim *s = sim_new(3);
	struct box *a = &s->b[0], *b = &s->b[1];
	struct ha_actions acts = { 0 };
	uint32_t i, gaps = 0, overlap = 0;
	struct ha_rec r;

	sim_pair(s, 5000);
	for (i = 0; i < 200000 && !rx_synced(b); i++)
		sim_step(s);
	ck_assert(rx_synced(b));
	sim_run_ms(s, 50);
	ck_assert_int_eq(ha_node_switchover(a->n, s->now_us * 1000, &acts), 0);
	box_apply(a, &acts);
	for (i = 0; i < 5000; i++) {
		/* New flows keep coming on whoever serves. */
		if (i % 10 == 0 && a->serving) {
			flow_rec(&r, a->n_own, HA_REC_FLOW_ADD);
			if (ha_node_push(a->n, &r) == 0)
				a->n_own++;
		}
		sim_step(s);
		gaps += !a->serving && !b->serving;
		overlap += a->serving && b->serving;
	}
	ck_assert_uint_eq(state_of(b), HA_STATE_ACTIVE);
	ck_assert_uint_eq(state_of(a), HA_STATE_STANDBY);
	ck_assert_uint_eq(gaps, 0);
	ck_assert(a->forwarding && !b->forwarding);
	ck_assert_uint_lt(overlap, 50); /* a few round trips of 200 us */
	ck_assert_uint_eq(learnt_count(b), a->n_own);
	ck_assert_uint_eq(b->n_install, 1);
	ck_assert_uint_le(b->install_us, b->announce_us);
	ck_assert_uint_le(b->announce_us, b->serve_us);
	/* A (200) does not preempt back: the operator moved the role. */
	sim_run_ms(s, 3000);
	ck_assert_uint_eq(state_of(b), HA_STATE_ACTIVE);
	/* And back again on request to B. */
	acts.n = 0;
	ck_assert_int_eq(ha_node_switchover(b->n, s->now_us * 1000, &acts), 0);
	box_apply(b, &acts);
	gaps = 0;
	for (i = 0; i < 20000 && state_of(a) != HA_STATE_ACTIVE; i++) {
		sim_step(s);
		gaps += !a->serving && !b->serving;
	}
	sim_run_ms(s, 50);
	ck_assert_uint_eq(state_of(a), HA_STATE_ACTIVE);
	ck_assert_uint_eq(state_of(b), HA_STATE_STANDBY);
	ck_assert_uint_eq(gaps, 0);
	sim_free(s);
}
END_TEST

/* kill -9 of the active: the standby serves within the dead interval (+ a step). */
START_TEST(node_kill_active)
{
	struct sim *s = sim_new(5);
	struct box *a = &s->b[0], *b = &s->b[1];
	uint64_t t0;

	sim_pair(s, 1000);
	sim_run_ms(s, 500);
	ck_assert(rx_synced(b));
	t0 = s->now_us;
	a->up = false;
	sim_run_ms(s, 200);
	ck_assert_uint_eq(state_of(b), HA_STATE_ACTIVE);
	ck_assert(b->serving);
	/* 3 x 20 ms after the last heartbeat, which left at most 20 ms before the kill. */
	ck_assert_uint_le(b->serve_us - t0, 60000 + 2 * SIM_STEP_US);
	ck_assert_uint_ge(b->serve_us - t0, 40000);
	ck_assert_uint_le(b->install_us, b->announce_us);
	ck_assert_uint_eq(learnt_count(b), 1000);
	ck_assert_uint_eq(ha_node_fsm(b->n)
				  ->history[(ha_node_fsm(b->n)->n_history - 2) % HA_FSM_HISTORY]
				  .reason,
			  HA_REASON_PEER_DEAD);
	sim_free(s);
}
END_TEST

/* SIGSTOP the active for 2 s, SIGCONT: one active again at once, the winner re-announces. */
START_TEST(node_sigstop_split_brain)
{
	struct sim *s = sim_new(9);
	struct box *a = &s->b[0], *b = &s->b[1];
	unsigned int ann;
	uint64_t t;
	uint32_t i, both = 0;

	sim_pair(s, 100);
	sim_run_ms(s, 200);
	a->frozen = true;
	sim_run_ms(s, 2000);
	ck_assert_uint_eq(state_of(b), HA_STATE_ACTIVE);
	ck_assert(b->serving && a->serving); /* a does not know yet */
	ann = a->n_announce;
	a->frozen = false;
	t = s->now_us;
	for (i = 0; i < 1000; i++) {
		sim_step(s);
		if (a->serving && b->serving)
			both = i + 1;
	}
	/* a (200) wins: b steps down, forwards; a announces again. */
	ck_assert_uint_eq(state_of(a), HA_STATE_ACTIVE);
	ck_assert_uint_eq(state_of(b), HA_STATE_STANDBY);
	ck_assert(b->forwarding && !b->serving);
	ck_assert_uint_gt(a->n_announce, ann);
	ck_assert_uint_le((uint64_t)both * SIM_STEP_US, 2000); /* a round trip or so */
	(void)t;
	sim_free(s);
}
END_TEST

/* The heartbeat link is cut then restored: both active meanwhile, one at once after. */
START_TEST(node_link_cut_restored)
{
	struct sim *s = sim_new(11);
	struct box *a = &s->b[0], *b = &s->b[1];
	uint32_t i, both = 0;

	sim_pair(s, 100);
	s->cut = true;
	sim_run_ms(s, 500);
	ck_assert_uint_eq(state_of(a), HA_STATE_ACTIVE);
	ck_assert_uint_eq(state_of(b), HA_STATE_ACTIVE);
	s->cut = false;
	for (i = 0; i < 1000; i++) {
		sim_step(s);
		if (a->serving && b->serving)
			both = i + 1;
	}
	ck_assert_uint_eq(state_of(a), HA_STATE_ACTIVE);
	ck_assert_uint_eq(state_of(b), HA_STATE_STANDBY);
	ck_assert_uint_le((uint64_t)both * SIM_STEP_US, 30000); /* within a heartbeat or so */
	sim_free(s);
}
END_TEST

/*
 * The standby (here the higher priority, with preemption) restarts: a new
 * epoch, an empty table. The active syncs it in bulk again, and it preempts
 * only once that is complete.
 */
START_TEST(node_standby_restart_bulk_before_preempt)
{
	struct sim *s = sim_new(13);
	struct box *a = &s->b[0], *b = &s->b[1];
	uint32_t i;

	box_start(s, 0, 1, 100, 0x1111);
	a->n_own = 20000;
	sim_run_ms(s, 100);
	ck_assert_uint_eq(state_of(a), HA_STATE_ACTIVE);
	box_start(s, 1, 2, 200, 0x2222);
	for (i = 0; i < 100000 && state_of(b) != HA_STATE_ACTIVE; i++) {
		sim_step(s);
		if (state_of(b) == HA_STATE_TAKEOVER)
			ck_assert_uint_eq(learnt_count(b), 20000);
	}
	ck_assert_uint_eq(state_of(b), HA_STATE_ACTIVE);
	sim_run_ms(s, 100);
	ck_assert_uint_eq(state_of(a), HA_STATE_STANDBY);
	ck_assert(a->forwarding);
	/* b restarts: a takes over at once (b holds nothing), then b syncs and preempts again. */
	b->n_own = 0;
	box_start(s, 1, 2, 200, 0x3333);
	for (i = 0; i < 200; i++)
		sim_step(s);
	ck_assert_uint_eq(state_of(a), HA_STATE_ACTIVE);
	for (i = 0; i < 100000 && state_of(b) != HA_STATE_ACTIVE; i++) {
		sim_step(s);
		if (state_of(b) == HA_STATE_TAKEOVER)
			ck_assert_msg(learnt_count(b) == 20000, "preempting with %u of 20000",
				      learnt_count(b));
	}
	ck_assert_uint_eq(state_of(b), HA_STATE_ACTIVE);
	ck_assert_uint_eq(learnt_count(b), 20000);
	sim_free(s);
}
END_TEST

/* Garbage on the HA port: counted by reason, nothing moves. */
START_TEST(node_rejects_garbage)
{
	struct sim *s = sim_new(17);
	struct box *a;
	uint8_t buf[HA_WIRE_MAX], d[HA_WIRE_MAX];
	struct ha_actions acts = { 0 };
	struct ha_wire_tx tx;
	int len;

	box_start(s, 0, 1, 100, 0x1111);
	a = &s->b[0];
	memset(buf, 0xa5, sizeof(buf));
	ck_assert_int_eq(ha_node_rx(a->n, 1000, buf, 10, &acts), HA_WIRE_ERR_TRUNCATED);
	ck_assert_int_eq(ha_node_rx(a->n, 1000, buf, 200, &acts), HA_WIRE_ERR_BAD_MAGIC);
	/* Authentic, but a heartbeat body of the wrong length / an unknown state. */
	ha_wire_tx_init(&tx, test_key, 2, 0x9999);
	ha_wire_hb_encode(d + HA_WIRE_HDR_LEN, HA_WIRE_HB_LEN, &hb_msg);
	len = ha_wire_seal(&tx, d, sizeof(d), HA_MSG_HEARTBEAT, 0, 0, HA_WIRE_HB_LEN - 1);
	ck_assert_int_eq(ha_node_rx(a->n, 1000, d, (size_t)len, &acts), HA_WIRE_ERR_MALFORMED);
	d[HA_WIRE_HDR_LEN] = HA_STATE_MAX;
	len = ha_wire_seal(&tx, d, sizeof(d), HA_MSG_HEARTBEAT, 0, 0, HA_WIRE_HB_LEN);
	ck_assert_int_eq(ha_node_rx(a->n, 1000, d, (size_t)len, &acts), HA_WIRE_ERR_MALFORMED);
	/* A SYNC body that does not parse. */
	memset(d + HA_WIRE_HDR_LEN, 0, 30);
	len = ha_wire_seal(&tx, d, sizeof(d), HA_MSG_SYNC, 0, 0, 30);
	ck_assert_int_eq(ha_node_rx(a->n, 1000, d, (size_t)len, &acts), HA_WIRE_ERR_MALFORMED);
	ck_assert_uint_eq(ha_node_wire_rx(a->n)->drops[HA_WIRE_ERR_MALFORMED], 3);
	ck_assert_uint_eq(ha_node_wire_rx(a->n)->drops[HA_WIRE_OK], 0);
	ck_assert(!ha_node_fsm(a->n)->peer_known);
	ck_assert_uint_eq(acts.n, 0);
	sim_free(s);
}
END_TEST

/* The sender's bulk API: ids, stale ids, room. */
START_TEST(sync_bulk_api)
{
	struct ha_sync_conf c;
	struct ha_sync_status st;
	struct ha_sync *s;
	struct ha_rec r;
	int id, id2, n = 0;

	ha_sync_conf_defaults(&c);
	c.queue_records = 64;
	c.bulk_reserve = 16;
	ck_assert_ptr_null(ha_sync_create(&c, 0, 0));
	c.queue_records = 100;
	ck_assert_ptr_null(ha_sync_create(&c, 1, 0));
	c.queue_records = 64;
	s = ha_sync_create(&c, 1, 0);
	ck_assert_ptr_nonnull(s);
	flow_rec(&r, 1, HA_REC_FLOW_ADD);
	ck_assert_int_eq(ha_sync_bulk_add(s, 1, &r), -ESTALE);
	id = ha_sync_bulk_begin(s, 100);
	ck_assert_int_gt(id, 0);
	while (ha_sync_bulk_add(s, (uint32_t)id, &r) == 0)
		n++;
	/* 64 slots, 8 kept for markers, 16 for live records, 1 taken by the start. */
	ck_assert_int_eq(n, 64 - 8 - 16 - 1);
	ck_assert_uint_eq(ha_sync_bulk_room(s), 0);
	ck_assert_int_eq(ha_sync_push(s, &r), 0);
	id2 = ha_sync_bulk_begin(s, 0);
	ck_assert_int_gt(id2, id);
	ck_assert_int_eq(ha_sync_bulk_add(s, (uint32_t)id, &r), -ESTALE);
	ck_assert_int_eq(ha_sync_bulk_end(s, (uint32_t)id), -ESTALE);
	ck_assert_int_eq(ha_sync_bulk_end(s, (uint32_t)id2), 0);
	ha_sync_status(s, &st);
	ck_assert_uint_eq(st.bulk_state, HA_BULK_ENDED);
	ck_assert_uint_eq(st.queued, 1 + 39 + 1 + 1 + 1);
	/* Markers are not for push. */
	r.type = HA_REC_BULK_START;
	ck_assert_int_eq(ha_sync_push(s, &r), -EINVAL);
	ha_sync_free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ha");
	TCase *wire = tcase_create("wire");
	TCase *fsm = tcase_create("fsm");
	TCase *sync = tcase_create("sync");
	SRunner *sr;
	int failed;

	tcase_add_test(wire, wire_heartbeat_bytes);
	tcase_add_test(wire, wire_sync_bytes);
	tcase_add_test(wire, wire_ack_handoff_bytes);
	tcase_add_test(wire, wire_record_limits);
	tcase_add_test(wire, wire_sync_body_limits);
	tcase_add_test(wire, wire_names);
	tcase_add_test(wire, wire_rejects);
	tcase_add_test(wire, wire_replay_window);
	suite_add_tcase(s, wire);

	tcase_add_loop_test(fsm, fsm_scenarios, 0, sizeof(scenarios) / sizeof(scenarios[0]));
	tcase_add_test(fsm, fsm_heartbeat_fields_and_history);
	suite_add_tcase(s, fsm);

	tcase_set_timeout(sync, 120);
	tcase_add_loop_test(sync, sync_lossy_exactly_once, 0, 4);
	tcase_add_test(sync, sync_bulk_lossy);
	tcase_add_test(sync, sync_overflow_then_bulk);
	tcase_add_test(sync, sync_bulk_api);
	tcase_add_test(sync, node_switchover_hitless);
	tcase_add_test(sync, node_kill_active);
	tcase_add_test(sync, node_sigstop_split_brain);
	tcase_add_test(sync, node_link_cut_restored);
	tcase_add_test(sync, node_standby_restart_bulk_before_preempt);
	tcase_add_test(sync, node_rejects_garbage);
	suite_add_tcase(s, sync);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
