/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for lib/lisp: every decoder, the map-server's message
 * entry point with a small fixed config, and the state snapshot decoder.
 * A decoded message must re-encode, and its encoding must decode and encode
 * to the same bytes again; whatever the map-server sends must decode.
 *
 * Input: one mode byte, then the bytes. Mode % 4:
 *   0: the decoders;
 *   1: the map-server, as received from an IPv4 or IPv6 peer (mode bit 2);
 *   2: the map-server, after signing the message with the site key its Key
 *      ID and Algorithm ID name, so that mutated registers and acks get past
 *      authentication to the code behind it (an ack gets the nonce of the
 *      last unsolicited Map-Notify sent, so that it can match);
 *   3: a state snapshot body whose header (record count: mode >> 4) and
 *      checksum the harness writes, so that the record parser is reached;
 *      loaded into a map-server of its own, or with mode bit 2 merged into
 *      the main one (restored entries, restore notifies, acks).
 * Mode bit 3 runs the timers (expiry, retransmission, restore notifies).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "config/cfg.h"
#include "lisp/lisp_auth.h"
#include "lisp/lisp_ms.h"
#include "lisp/lisp_state.h"
#include "lisp/lisp_wire.h"

/* Broken invariants are bugs as real as a crash: make the fuzzer stop. */
#define FUZZ_CHECK(cond)                  \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lisp_map_register reg, reg2;
static struct lisp_map_reply rep, rep2;
static uint8_t enc[LISP_OUT_MAX], enc2[LISP_OUT_MAX];

static void
fuzz_decoders(const uint8_t *p, size_t n)
{
	struct lisp_map_request q, q2;
	struct lisp_ecm e;
	int a, b;

	if (lisp_decode_map_register(p, n, &reg) == LISP_WIRE_OK) {
		a = lisp_encode_map_register(enc, sizeof(enc), &reg);
		FUZZ_CHECK(a > 0 && (size_t)a <= n);
		FUZZ_CHECK(lisp_decode_map_register(enc, (size_t)a, &reg2) == LISP_WIRE_OK);
		b = lisp_encode_map_register(enc2, sizeof(enc2), &reg2);
		FUZZ_CHECK(a == b && memcmp(enc, enc2, (size_t)a) == 0);
		FUZZ_CHECK(reg.auth_off + reg.auth_len <= n);
	}
	if (lisp_decode_map_request(p, n, &q) == LISP_WIRE_OK) {
		a = lisp_encode_map_request(enc, sizeof(enc), &q);
		FUZZ_CHECK(a > 0 && (size_t)a == n);
		FUZZ_CHECK(lisp_decode_map_request(enc, (size_t)a, &q2) == LISP_WIRE_OK);
		b = lisp_encode_map_request(enc2, sizeof(enc2), &q2);
		FUZZ_CHECK(a == b && memcmp(enc, enc2, (size_t)a) == 0);
	}
	if (lisp_decode_map_reply(p, n, &rep) == LISP_WIRE_OK) {
		a = lisp_encode_map_reply(enc, sizeof(enc), &rep);
		FUZZ_CHECK(a > 0 && (size_t)a <= n);
		FUZZ_CHECK(lisp_decode_map_reply(enc, (size_t)a, &rep2) == LISP_WIRE_OK);
		b = lisp_encode_map_reply(enc2, sizeof(enc2), &rep2);
		FUZZ_CHECK(a == b && memcmp(enc, enc2, (size_t)a) == 0);
	}
	if (lisp_decode_ecm(p, n, &e) == LISP_WIRE_OK) {
		FUZZ_CHECK(e.msg >= p && e.msg + e.msg_len == p + n);
		a = lisp_encode_ecm(enc, sizeof(enc), &e);
		FUZZ_CHECK(a > 0);
		FUZZ_CHECK(lisp_decode_ecm(enc, (size_t)a, &e) == LISP_WIRE_OK);
	}
}

/* The config: two sites, one key of each algorithm, v4 and v6 prefixes. */
static struct cfg_lisp_key keys[2] = {
	{ .id = 1, .algorithm = CFG_LISP_ALG_HMAC_SHA1_96, .secret = "site-a-key" },
	{ .id = 2, .algorithm = CFG_LISP_ALG_HMAC_SHA256_128, .secret = "site-b-key" },
};
static struct cfg_lisp_eid eids[3];
static struct cfg_lisp_site sites[2];
static struct cfg cfg;
static struct lisp_ms *ms;
static uint64_t now = 1000000;

static void
fuzz_setup(void)
{
	static const uint8_t v4a[4] = { 10, 220, 0, 0 }, v4b[4] = { 10, 221, 0, 0 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x01 };
	struct lisp_ms_params p = { .max_registrations = 512, .nonce_seed = 1 };

	eids[0].prefix.addr.family = 4;
	memcpy(eids[0].prefix.addr.bytes, v4a, 4);
	eids[0].prefix.len = 16;
	eids[0].accept_more_specifics = true;
	eids[1].prefix.addr.family = 4;
	memcpy(eids[1].prefix.addr.bytes, v4b, 4);
	eids[1].prefix.len = 24;
	eids[2].prefix.addr.family = 6;
	memcpy(eids[2].prefix.addr.bytes, v6, 16);
	eids[2].prefix.len = 40;
	eids[2].accept_more_specifics = true;
	strcpy(sites[0].name, "site-a");
	sites[0].keys = &keys[0];
	sites[0].n_keys = 1;
	sites[0].eids = &eids[0];
	sites[0].n_eids = 2;
	strcpy(sites[1].name, "site-b");
	sites[1].keys = &keys[1];
	sites[1].n_keys = 1;
	sites[1].eids = &eids[2];
	sites[1].n_eids = 1;
	cfg.lisp.registration_ttl_s = 180;
	cfg.lisp.sites = sites;
	cfg.lisp.n_sites = 2;
	ms = lisp_ms_create(&cfg, &p);
	FUZZ_CHECK(ms != NULL);
}

static void
check_out(const struct lisp_out *o)
{
	struct lisp_map_request q;
	struct lisp_ecm e;

	if (o->len == 0)
		return;
	FUZZ_CHECK(o->len <= sizeof(o->buf) && o->sport == LISP_PORT);
	FUZZ_CHECK(o->dst.family == 4 || o->dst.family == 6);
	switch (lisp_msg_type(o->buf, o->len)) {
	case LISP_TYPE_MAP_NOTIFY:
		FUZZ_CHECK(lisp_decode_map_register(o->buf, o->len, &reg2) == LISP_WIRE_OK);
		break;
	case LISP_TYPE_MAP_REPLY:
		FUZZ_CHECK(lisp_decode_map_reply(o->buf, o->len, &rep2) == LISP_WIRE_OK);
		break;
	case LISP_TYPE_ECM:
		FUZZ_CHECK(lisp_decode_ecm(o->buf, o->len, &e) == LISP_WIRE_OK);
		FUZZ_CHECK(lisp_decode_map_request(e.msg, e.msg_len, &q) == LISP_WIRE_OK);
		break;
	default:
		FUZZ_CHECK(0);
	}
}

static uint64_t last_notify_nonce;

static void
send_check(void *arg, const struct lisp_out *o)
{
	(void)arg;
	check_out(o);
	if (lisp_decode_map_register(o->buf, o->len, &reg2) == LISP_WIRE_OK)
		last_notify_nonce = reg2.nonce;
}

static void
fuzz_ms(const uint8_t *p, size_t n, bool v6, bool sign)
{
	static struct lisp_out out;
	struct lisp_pkt_info pkt;
	const struct cfg_lisp_key *k;
	uint8_t *copy;

	memset(&pkt, 0, sizeof(pkt));
	pkt.src.family = pkt.dst.family = v6 ? 6 : 4;
	pkt.src.bytes[0] = 192;
	pkt.src.bytes[3] = (uint8_t)(n & 7);
	pkt.dst.bytes[0] = 192;
	pkt.dst.bytes[3] = 254;
	pkt.sport = 4342;
	pkt.dport = 4342;
	copy = malloc(n != 0 ? n : 1);
	if (copy == NULL)
		return;
	if (n != 0)
		memcpy(copy, p, n);
	if (sign && lisp_decode_map_register(copy, n, &reg) == LISP_WIRE_OK) {
		/* The key the message names (either Key ID reading), if the lengths fit. */
		k = reg.key_id == 1 || (reg.key_id == 0 && reg.alg_id == 1) ? &keys[0] : &keys[1];
		if (reg.type == LISP_TYPE_MAP_NOTIFY_ACK)
			for (int i = 0; i < 8; i++)
				copy[4 + i] = (uint8_t)(last_notify_nonce >> (56 - 8 * i));
		if (reg.auth_len == lisp_auth_len(reg.alg_id))
			lisp_auth_sign(copy, n, reg.auth_off, reg.auth_len, reg.alg_id, k->secret,
				       strlen(k->secret));
	}
	lisp_ms_input(ms, &pkt, copy, n, now, &out);
	check_out(&out);
	free(copy);
	now += n & 3;
}

static void
fuzz_state(const uint8_t *body, size_t n, uint8_t count, bool merge)
{
	static struct lisp_ms *ms2;
	uint8_t sum[AUTH_DIGEST_MAX], *buf;
	const void *ptr[2];
	size_t len, l[2] = { 32, 0 };
	int rc;

	if (ms2 == NULL) {
		ms2 = lisp_ms_create(&cfg, &(struct lisp_ms_params){ .max_registrations = 512 });
		FUZZ_CHECK(ms2 != NULL);
	}
	/* A valid header for this body: take the checksum from a real snapshot of it. */
	len = LISP_STATE_HDR_LEN + n;
	buf = calloc(1, len);
	if (buf == NULL)
		return;
	memcpy(buf + LISP_STATE_HDR_LEN, body, n);
	memcpy(buf, "EQXLISPS\x00\x01\x00\x40", 12);
	buf[15] = count;
	buf[16] = (uint8_t)(n >> 24);
	buf[17] = (uint8_t)(n >> 16);
	buf[18] = (uint8_t)(n >> 8);
	buf[19] = (uint8_t)n;
	ptr[0] = buf;
	ptr[1] = buf + LISP_STATE_HDR_LEN;
	l[1] = n;
	auth_hmac(AUTH_HMAC_SHA256, LISP_STATE_CHECKSUM_KEY, strlen(LISP_STATE_CHECKSUM_KEY), ptr,
		  l, 2, sum);
	memcpy(buf + 32, sum, 32);
	if (merge) {
		lisp_state_decode(ms, buf, len, now, 0);
		free(buf);
		return;
	}
	rc = lisp_state_decode(ms2, buf, len, now, LISP_STATE_REPLACE);
	if (rc >= 0) {
		/* What loaded must encode and load again to the same table. */
		size_t cap = lisp_state_size(ms2);
		uint8_t *snap = malloc(cap);

		if (snap != NULL) {
			FUZZ_CHECK(lisp_state_encode(ms2, now, snap, cap) == (int)cap);
			FUZZ_CHECK(lisp_state_decode(ms2, snap, cap, now, LISP_STATE_REPLACE) ==
				   (int)lisp_ms_count(ms2));
			free(snap);
		}
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;

	if (size < 1)
		return 0;
	if (ms == NULL)
		fuzz_setup();
	mode = data[0];
	data++;
	size--;
	switch (mode % 4) {
	case 0:
		fuzz_decoders(data, size);
		break;
	case 1:
		fuzz_ms(data, size, (mode & 4) != 0, false);
		break;
	case 2:
		fuzz_ms(data, size, (mode & 4) != 0, true);
		break;
	default:
		fuzz_state(data, size, mode >> 4, (mode & 4) != 0);
		break;
	}
	if (mode & 8) {
		lisp_ms_tick(ms, now, send_check, NULL);
		lisp_ms_notify_restored(ms, now, send_check, NULL);
		now += 2;
	}
	return 0;
}
