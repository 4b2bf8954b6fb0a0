/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/lisp: every codec against bytes built by hand from the RFC 9301
 * diagrams (and read back by Wireshark's LISP dissector without a malformed
 * field), HMAC-SHA-1-96 and HMAC-SHA-256-128 over those messages (MACs from
 * an independent HMAC implementation), the map-server's site, key, prefix,
 * replay and expiry rules, the longest-prefix match against a brute-force
 * model, and the state file: reloaded, cut at every byte, flipped at every
 * byte, and the re-register Map-Notify built from it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "config/cfg.h"
#include "lisp/lisp_auth.h"
#include "lisp/lisp_ms.h"
#include "lisp/lisp_state.h"
#include "lisp/lisp_trie.h"
#include "lisp/lisp_wire.h"

/*
 * Known messages. Each field is commented; the MACs are HMAC over the
 * message with the Authentication Data zeroed, keys "site-a-key" (SHA-1,
 * truncated to 96 bits) and "site-b-key-256" (SHA-256, 128 bits).
 */
/* clang-format off */
static const uint8_t reg_v1[] = {
	/* type 3, flags 0x2, M 1, record count 1 */
	0x32, 0x00, 0x01, 0x01,
	/* nonce */
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	/* key ID 1, algorithm ID 1, auth data length 12 */
	0x01, 0x01, 0x00, 0x0c,
	/* authentication data */
	0x85, 0xf3, 0x87, 0x90, 0x2d, 0x22, 0xa2, 0x70, 0xa1, 0x94, 0xbe, 0xda,
	/* record TTL 1440 min */
	0x00, 0x00, 0x05, 0xa0,
	/* locator count 2, mask-len 24, ACT 0, A 1 */
	0x02, 0x18, 0x10, 0x00,
	/* Rsvd, map-version 0 */
	0x00, 0x00,
	/* EID-Prefix-AFI, EID prefix */
	0x00, 0x01, 0x0a, 0xdc, 0x01, 0x00,
	/* locator 1: priority 1, weight 100, M priority 255, M weight 0 */
	0x01, 0x64, 0xff, 0x00,
	/* unused flags, L/p/R = 0x5 */
	0x00, 0x05,
	/* Loc-AFI 1, locator */
	0x00, 0x01, 0xc0, 0x00, 0x02, 0x01,
	/* locator 2: priority 2, weight 50, M priority 255, M weight 0 */
	0x02, 0x32, 0xff, 0x00,
	/* unused flags, L/p/R = 0x1 */
	0x00, 0x01,
	/* Loc-AFI 2, locator */
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	/* xTR-ID */
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
	0xcc, 0xdd, 0xee, 0xff,
	/* site-ID */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
};

static const uint8_t reg_v2[] = {
	/* type 3, flags 0x8, M 0, record count 1 */
	0x38, 0x00, 0x00, 0x01,
	/* nonce */
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	/* key ID 0, algorithm ID 2, auth data length 16 */
	0x00, 0x02, 0x00, 0x10,
	/* authentication data */
	0x8a, 0x74, 0xd3, 0x73, 0x27, 0xad, 0x3b, 0xfe, 0xfb, 0x33, 0x7b, 0x8b,
	0x70, 0x0e, 0x16, 0x24,
	/* record TTL 60 min */
	0x00, 0x00, 0x00, 0x3c,
	/* locator count 1, mask-len 48, ACT 0, A 1 */
	0x01, 0x30, 0x10, 0x00,
	/* Rsvd, map-version 5 */
	0x00, 0x05,
	/* EID-Prefix-AFI, EID prefix */
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* locator 1: priority 1, weight 100, M priority 255, M weight 0 */
	0x01, 0x64, 0xff, 0x00,
	/* unused flags, L/p/R = 0x1 */
	0x00, 0x01,
	/* Loc-AFI 1, locator */
	0x00, 0x01, 0xc6, 0x33, 0x64, 0x07,
};

static const uint8_t notify_v1[] = {
	/* type 4, flags 0x0, M 0, record count 1 */
	0x40, 0x00, 0x00, 0x01,
	/* nonce */
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	/* key ID 1, algorithm ID 1, auth data length 12 */
	0x01, 0x01, 0x00, 0x0c,
	/* authentication data */
	0xcf, 0xc6, 0x7f, 0xc0, 0x53, 0x1e, 0x33, 0x2d, 0x09, 0xcc, 0x06, 0x7a,
	/* record TTL 1440 min */
	0x00, 0x00, 0x05, 0xa0,
	/* locator count 2, mask-len 24, ACT 0, A 1 */
	0x02, 0x18, 0x10, 0x00,
	/* Rsvd, map-version 0 */
	0x00, 0x00,
	/* EID-Prefix-AFI, EID prefix */
	0x00, 0x01, 0x0a, 0xdc, 0x01, 0x00,
	/* locator 1: priority 1, weight 100, M priority 255, M weight 0 */
	0x01, 0x64, 0xff, 0x00,
	/* unused flags, L/p/R = 0x5 */
	0x00, 0x05,
	/* Loc-AFI 1, locator */
	0x00, 0x01, 0xc0, 0x00, 0x02, 0x01,
	/* locator 2: priority 2, weight 50, M priority 255, M weight 0 */
	0x02, 0x32, 0xff, 0x00,
	/* unused flags, L/p/R = 0x1 */
	0x00, 0x01,
	/* Loc-AFI 2, locator */
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
};

static const uint8_t ack_v4[] = {
	/* type 5, flags 0x0, M 0, record count 0 */
	0x50, 0x00, 0x00, 0x00,
	/* nonce */
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	/* key ID 1, algorithm ID 2, auth data length 16 */
	0x01, 0x02, 0x00, 0x10,
	/* authentication data */
	0x93, 0xa4, 0x6c, 0xa1, 0x08, 0x2c, 0xf7, 0x81, 0xf0, 0x09, 0x91, 0x3b,
	0xa3, 0xb0, 0x10, 0x8a,
};

static const uint8_t req_v5[] = {
	/* type 1, flags none, IRC 1, record count 1 */
	0x10, 0x00, 0x01, 0x01,
	/* nonce */
	0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
	/* source EID AFI 0 */
	0x00, 0x00,
	/* ITR-RLOC 1 */
	0x00, 0x01, 0xc0, 0x00, 0x02, 0x0a,
	/* ITR-RLOC 2 */
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	/* reserved, mask-len 32, EID */
	0x00, 0x20, 0x00, 0x01, 0x0a, 0xdc, 0x01, 0x05,
};

static const uint8_t req_v6[] = {
	/* type 1, M and S, s, IRC 0, record count 1 */
	0x15, 0x40, 0x00, 0x01,
	/* nonce */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	/* source EID */
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	/* ITR-RLOC 1 */
	0x00, 0x01, 0xcb, 0x00, 0x71, 0x09,
	/* reserved, mask-len 128, EID */
	0x00, 0x80, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	/* record TTL 10 min */
	0x00, 0x00, 0x00, 0x0a,
	/* locator count 1, mask-len 64, ACT 0, A 1 */
	0x01, 0x40, 0x10, 0x00,
	/* Rsvd, map-version 0 */
	0x00, 0x00,
	/* EID-Prefix-AFI, EID prefix */
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* locator 1: priority 1, weight 1, M priority 255, M weight 0 */
	0x01, 0x01, 0xff, 0x00,
	/* unused flags, L/p/R = 0x1 */
	0x00, 0x01,
	/* Loc-AFI 1, locator */
	0x00, 0x01, 0xcb, 0x00, 0x71, 0x09,
};

static const uint8_t reply_v7[] = {
	/* type 2, flags none, record count 1 */
	0x20, 0x00, 0x00, 0x01,
	/* nonce */
	0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
	/* record TTL 1440 min */
	0x00, 0x00, 0x05, 0xa0,
	/* locator count 2, mask-len 24, ACT 0, A 0 */
	0x02, 0x18, 0x00, 0x00,
	/* Rsvd, map-version 0 */
	0x00, 0x00,
	/* EID-Prefix-AFI, EID prefix */
	0x00, 0x01, 0x0a, 0xdc, 0x01, 0x00,
	/* locator 1 (L cleared): priority 1, weight 100, M priority 255, M weight 0 */
	0x01, 0x64, 0xff, 0x00,
	/* unused flags, L/p/R = 0x1 */
	0x00, 0x01,
	/* Loc-AFI 1, locator */
	0x00, 0x01, 0xc0, 0x00, 0x02, 0x01,
	/* locator 2: priority 2, weight 50, M priority 255, M weight 0 */
	0x02, 0x32, 0xff, 0x00,
	/* unused flags, L/p/R = 0x1 */
	0x00, 0x01,
	/* Loc-AFI 2, locator */
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
};

static const uint8_t neg_v8[] = {
	/* type 2, flags none, record count 1 */
	0x20, 0x00, 0x00, 0x01,
	/* nonce */
	0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
	/* record TTL 15 min */
	0x00, 0x00, 0x00, 0x0f,
	/* locator count 0, mask-len 1, ACT 1, A 0 */
	0x00, 0x01, 0x20, 0x00,
	/* Rsvd, map-version 0 */
	0x00, 0x00,
	/* EID-Prefix-AFI, EID prefix */
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t ecm_v9[] = {
	/* type 8, E (to-ETR) */
	0x82, 0x00, 0x00, 0x00,
	/* inner IPv4: 45, len, id 0, no frag, TTL 64, UDP, checksum */
	0x45, 0x00, 0x00, 0x4a, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0xac, 0xb8,
	/* inner src 192.0.2.10, dst 10.220.1.5 */
	0xc0, 0x00, 0x02, 0x0a, 0x0a, 0xdc, 0x01, 0x05,
	/* inner UDP 61000 -> 4342, length, checksum */
	0xee, 0x48, 0x10, 0xf6, 0x00, 0x36, 0x92, 0xe7,
	/* Map-Request: type 1, flags none, IRC 1, record count 1 */
	0x10, 0x00, 0x01, 0x01,
	/* Map-Request: nonce */
	0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
	/* Map-Request: source EID AFI 0 */
	0x00, 0x00,
	/* Map-Request: ITR-RLOC 1 */
	0x00, 0x01, 0xc0, 0x00, 0x02, 0x0a,
	/* Map-Request: ITR-RLOC 2 */
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	/* Map-Request: reserved, mask-len 32, EID */
	0x00, 0x20, 0x00, 0x01, 0x0a, 0xdc, 0x01, 0x05,
};

static const uint8_t ecm_v10[] = {
	/* type 8, no flags */
	0x80, 0x00, 0x00, 0x00,
	/* inner IPv6: version 6, payload length, UDP, hop limit 32 */
	0x60, 0x00, 0x00, 0x00, 0x00, 0x68, 0x11, 0x20,
	/* inner src 2001:db8:200::1, dst 2001:db8:100::5 */
	0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	/* inner UDP 4342 -> 4342, length, checksum */
	0x10, 0xf6, 0x10, 0xf6, 0x00, 0x68, 0x41, 0x4a,
	/* Map-Request: type 1, M and S, s, IRC 0, record count 1 */
	0x15, 0x40, 0x00, 0x01,
	/* Map-Request: nonce */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	/* Map-Request: source EID */
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	/* Map-Request: ITR-RLOC 1 */
	0x00, 0x01, 0xcb, 0x00, 0x71, 0x09,
	/* Map-Request: reserved, mask-len 128, EID */
	0x00, 0x80, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	/* Map-Request: record TTL 10 min */
	0x00, 0x00, 0x00, 0x0a,
	/* Map-Request: locator count 1, mask-len 64, ACT 0, A 1 */
	0x01, 0x40, 0x10, 0x00,
	/* Map-Request: Rsvd, map-version 0 */
	0x00, 0x00,
	/* Map-Request: EID-Prefix-AFI, EID prefix */
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* Map-Request: locator 1: priority 1, weight 1, M priority 255, M weight 0 */
	0x01, 0x01, 0xff, 0x00,
	/* Map-Request: unused flags, L/p/R = 0x1 */
	0x00, 0x01,
	/* Map-Request: Loc-AFI 1, locator */
	0x00, 0x01, 0xcb, 0x00, 0x71, 0x09,
};
/* clang-format on */

#define NOW 1000000u

/* config: three sites, one nested in another's prefix */

static struct cfg_lisp_key keys_a[2], keys_b[1], keys_c[1];
static struct cfg_lisp_eid eids_a[2], eids_b[1], eids_c[1];
static struct cfg_lisp_site sites[3];
static struct cfg test_cfg;

static void
set_prefix(struct cfg_prefix *p, const char *s)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = (size_t)(slash - s);

	memcpy(buf, s, n);
	buf[n] = '\0';
	p->len = (uint8_t)atoi(slash + 1);
	memset(&p->addr, 0, sizeof(p->addr));
	p->addr.family = strchr(buf, ':') != NULL ? 6 : 4;
	ck_assert_int_eq(inet_pton(p->addr.family == 4 ? AF_INET : AF_INET6, buf, p->addr.bytes),
			 1);
}

static void
set_key(struct cfg_lisp_key *k, uint16_t id, enum cfg_lisp_alg alg, const char *secret)
{
	k->id = id;
	k->algorithm = alg;
	snprintf(k->secret, sizeof(k->secret), "%s", secret);
}

static void
set_site(struct cfg_lisp_site *s, const char *name, struct cfg_lisp_key *k, unsigned int nk,
	 struct cfg_lisp_eid *e, unsigned int ne)
{
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->keys = k;
	s->n_keys = nk;
	s->eids = e;
	s->n_eids = ne;
}

static const struct cfg *
make_cfg(void)
{
	memset(&test_cfg, 0, sizeof(test_cfg));
	set_key(&keys_a[0], 1, CFG_LISP_ALG_HMAC_SHA1_96, "site-a-key");
	set_key(&keys_a[1], 3, CFG_LISP_ALG_HMAC_SHA256_128, "site-a-key-3");
	set_prefix(&eids_a[0].prefix, "10.220.0.0/16");
	eids_a[0].accept_more_specifics = true;
	set_prefix(&eids_a[1].prefix, "10.221.0.0/24");
	eids_a[1].accept_more_specifics = false;
	set_key(&keys_b[0], 2, CFG_LISP_ALG_HMAC_SHA256_128, "site-b-key-256");
	set_prefix(&eids_b[0].prefix, "2001:db8:100::/40");
	eids_b[0].accept_more_specifics = true;
	set_key(&keys_c[0], 1, CFG_LISP_ALG_HMAC_SHA256_128, "site-c-key");
	set_prefix(&eids_c[0].prefix, "10.220.64.0/18");
	eids_c[0].accept_more_specifics = false;
	set_site(&sites[0], "site-a", keys_a, 2, eids_a, 2);
	set_site(&sites[1], "site-b", keys_b, 1, eids_b, 1);
	set_site(&sites[2], "site-c", keys_c, 1, eids_c, 1);
	test_cfg.lisp.registration_ttl_s = 180;
	test_cfg.lisp.sites = sites;
	test_cfg.lisp.n_sites = 3;
	return &test_cfg;
}

static struct lisp_ms *
new_ms(void)
{
	struct lisp_ms_params p = { .max_registrations = 1000, .nonce_seed = 42 };
	struct lisp_ms *ms = lisp_ms_create(make_cfg(), &p);

	ck_assert_ptr_nonnull(ms);
	return ms;
}

/* addresses */

static struct lisp_addr
A(const char *s) {
	struct lisp_addr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(s, ':') != NULL ? 6 : 4;
	ck_assert_int_eq(inet_pton(a.family == 4 ? AF_INET : AF_INET6, s, a.bytes), 1);
	return a;
}

/* "a.b.c.d/len", or an address alone for a host prefix. */
static struct lisp_prefix
P(const char *s) {
	struct lisp_prefix p;
	char buf[64];
	const char *slash = strchr(s, '/');

	snprintf(buf, sizeof(buf), "%.*s", slash != NULL ? (int)(slash - s) : (int)strlen(s), s);
	p.addr = A(buf);
	p.len = slash != NULL ? (uint8_t)atoi(slash + 1) : (uint8_t)lisp_addr_bits(p.addr.family);
	return p;
}

static struct lisp_pkt_info
pkt(const char *src, uint16_t sport)
{
	struct lisp_pkt_info k;

	k.src = A(src);
	k.dst = A(strchr(src, ':') != NULL ? "2001:db8::fe" : "192.0.2.254");
	k.sport = sport;
	k.dport = LISP_PORT;
	return k;
}

static bool
prefix_is(const struct lisp_prefix *p, const char *s)
{
	struct lisp_prefix q = P(s);

	return lisp_prefix_equal(p, &q);
}

/* message builders (the codec is checked against known bytes first) */

static struct lisp_map_register *
reg_new(uint8_t type, uint64_t nonce, uint8_t key_id, uint8_t alg)
{
	struct lisp_map_register *m = calloc(1, sizeof(*m));

	ck_assert_ptr_nonnull(m);
	m->type = type;
	m->nonce = nonce;
	m->key_id = key_id;
	m->alg_id = alg;
	m->auth_len = (uint16_t)lisp_auth_len(alg);
	return m;
}

static struct lisp_record *
reg_rec(struct lisp_map_register *m, const char *prefix, uint32_t ttl)
{
	struct lisp_record *r = &m->rec[m->n_records++];

	memset(r, 0, sizeof(*r));
	r->ttl = ttl;
	r->eid = P(prefix);
	r->authoritative = true;
	return r;
}

static void
rec_loc(struct lisp_record *r, const char *addr, uint8_t prio, uint8_t weight, uint8_t flags)
{
	struct lisp_locator *l = &r->loc[r->n_locators++];

	l->addr = A(addr);
	l->priority = prio;
	l->weight = weight;
	l->mpriority = 255;
	l->mweight = 0;
	l->flags = flags;
}

static size_t
reg_build(uint8_t *buf, const struct lisp_map_register *m, const char *key)
{
	int n = lisp_encode_map_register(buf, LISP_MSG_MAX, m);

	ck_assert_int_gt(n, 0);
	if (key != NULL)
		ck_assert_int_eq(lisp_auth_sign(buf, (size_t)n, LISP_REG_AUTH_OFF, m->auth_len,
						m->alg_id, key, strlen(key)),
				 0);
	return (size_t)n;
}

/* One signed Map-Register of one prefix with one locator. */
static size_t
simple_reg(uint8_t *buf, const char *prefix, uint32_t ttl, uint64_t nonce, uint8_t key_id,
	   uint8_t alg, const char *key, bool want_notify, bool proxy)
{
	struct lisp_map_register *m = reg_new(LISP_TYPE_MAP_REGISTER, nonce, key_id, alg);
	struct lisp_record *r = reg_rec(m, prefix, ttl);
	size_t n;

	rec_loc(r, "192.0.2.1", 1, 100, LISP_LOC_R);
	m->want_map_notify = want_notify;
	m->proxy_reply = proxy;
	n = reg_build(buf, m, key);
	free(m);
	return n;
}

static int
input(struct lisp_ms *ms, const char *src, uint16_t sport, const uint8_t *msg, size_t len,
      uint64_t now, struct lisp_out *out)
{
	struct lisp_pkt_info k = pkt(src, sport);

	return lisp_ms_input(ms, &k, msg, len, now, out);
}

static int
reg_a(struct lisp_ms *ms, const char *prefix, uint32_t ttl, uint64_t nonce, uint64_t now)
{
	uint8_t buf[LISP_MSG_MAX];
	struct lisp_out out;
	size_t n = simple_reg(buf, prefix, ttl, nonce, 1, LISP_ALG_HMAC_SHA1_96, "site-a-key",
			      false, false);

	return input(ms, "192.0.2.1", 4342, buf, n, now, &out);
}

static size_t
request(uint8_t *buf, const char *eid, uint64_t nonce, const char *itr)
{
	struct lisp_map_request q;
	int n;

	memset(&q, 0, sizeof(q));
	q.nonce = nonce;
	q.n_itr_rlocs = 1;
	q.itr_rloc[0] = A(itr);
	q.n_records = 1;
	q.eid[0] = P(eid);
	n = lisp_encode_map_request(buf, LISP_MSG_MAX, &q);
	ck_assert_int_gt(n, 0);
	return (size_t)n;
}

static uint64_t
ctr(const struct lisp_ms *ms, enum lisp_ms_counter c)
{
	return lisp_ms_stats(ms)->ctr[c];
}

static uint64_t
rej(const struct lisp_ms *ms, enum lisp_ms_reject r)
{
	return lisp_ms_stats(ms)->reject[r];
}

/* codecs against known bytes */

START_TEST(wire_map_register)
{
	struct lisp_map_register *m = calloc(1, sizeof(*m));
	uint8_t buf[LISP_MSG_MAX];
	struct lisp_prefix p;
	struct lisp_addr a;
	int n;

	ck_assert_int_eq(lisp_msg_type(reg_v1, sizeof(reg_v1)), LISP_TYPE_MAP_REGISTER);
	ck_assert_int_eq(lisp_decode_map_register(reg_v1, sizeof(reg_v1), m), LISP_WIRE_OK);
	ck_assert_int_eq(m->type, LISP_TYPE_MAP_REGISTER);
	ck_assert(!m->proxy_reply && !m->lisp_sec && m->xtr_id_present && !m->rtr);
	ck_assert(m->want_map_notify);
	ck_assert_uint_eq(m->nonce, 0x0123456789abcdefull);
	ck_assert_uint_eq(m->key_id, 1);
	ck_assert_uint_eq(m->alg_id, LISP_ALG_HMAC_SHA1_96);
	ck_assert_uint_eq(m->auth_len, 12);
	ck_assert_uint_eq(m->auth_off, 16);
	ck_assert_mem_eq(m->auth, reg_v1 + 16, 12);
	ck_assert_uint_eq(m->n_records, 1);
	ck_assert_uint_eq(m->rec[0].ttl, 1440);
	ck_assert_uint_eq(m->rec[0].act, LISP_ACT_NO_ACTION);
	ck_assert(m->rec[0].authoritative);
	ck_assert(prefix_is(&m->rec[0].eid, "10.220.1.0/24"));
	ck_assert_uint_eq(m->rec[0].n_locators, 2);
	a = A("192.0.2.1");
	ck_assert(lisp_addr_equal(&m->rec[0].loc[0].addr, &a));
	ck_assert_uint_eq(m->rec[0].loc[0].priority, 1);
	ck_assert_uint_eq(m->rec[0].loc[0].weight, 100);
	ck_assert_uint_eq(m->rec[0].loc[0].mpriority, 255);
	ck_assert_uint_eq(m->rec[0].loc[0].mweight, 0);
	ck_assert_uint_eq(m->rec[0].loc[0].flags, LISP_LOC_L | LISP_LOC_R);
	a = A("2001:db8::1");
	ck_assert(lisp_addr_equal(&m->rec[0].loc[1].addr, &a));
	ck_assert_uint_eq(m->rec[0].loc[1].priority, 2);
	ck_assert_uint_eq(m->rec[0].loc[1].weight, 50);
	ck_assert_uint_eq(m->rec[0].loc[1].flags, LISP_LOC_R);
	ck_assert_mem_eq(m->xtr_id,
			 "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
	ck_assert_uint_eq(m->site_id, 7);
	/* Encoding the decoded message, then signing it, gives the same bytes. */
	n = lisp_encode_map_register(buf, sizeof(buf), m);
	ck_assert_int_eq(n, sizeof(reg_v1));
	ck_assert_int_eq(lisp_auth_sign(buf, (size_t)n, 16, 12, 1, "site-a-key", 10), 0);
	ck_assert_mem_eq(buf, reg_v1, sizeof(reg_v1));

	/* The older 16-bit Key ID 2: read as key 0, algorithm 2; P set; IPv6 EID. */
	ck_assert_int_eq(lisp_decode_map_register(reg_v2, sizeof(reg_v2), m), LISP_WIRE_OK);
	ck_assert(m->proxy_reply && !m->xtr_id_present && !m->want_map_notify);
	ck_assert_uint_eq(m->key_id, 0);
	ck_assert_uint_eq(m->alg_id, LISP_ALG_HMAC_SHA256_128);
	ck_assert_uint_eq(m->auth_len, 16);
	ck_assert_uint_eq(m->rec[0].ttl, 60);
	ck_assert_uint_eq(m->rec[0].map_version, 5);
	p = P("2001:db8:100::/48");
	ck_assert(lisp_prefix_equal(&m->rec[0].eid, &p));
	a = A("198.51.100.7");
	ck_assert(lisp_addr_equal(&m->rec[0].loc[0].addr, &a));
	n = lisp_encode_map_register(buf, sizeof(buf), m);
	ck_assert_int_eq(n, sizeof(reg_v2));
	ck_assert_int_eq(lisp_auth_sign(buf, (size_t)n, 16, 16, 2, "site-b-key-256", 14), 0);
	ck_assert_mem_eq(buf, reg_v2, sizeof(reg_v2));
	free(m);
}
END_TEST

START_TEST(wire_map_notify_and_ack)
{
	struct lisp_map_register *m = calloc(1, sizeof(*m));
	uint8_t buf[LISP_MSG_MAX];
	int n;

	ck_assert_int_eq(lisp_decode_map_register(notify_v1, sizeof(notify_v1), m), LISP_WIRE_OK);
	ck_assert_int_eq(m->type, LISP_TYPE_MAP_NOTIFY);
	ck_assert(!m->xtr_id_present && !m->want_map_notify && !m->proxy_reply);
	ck_assert_uint_eq(m->nonce, 0x0123456789abcdefull);
	ck_assert_uint_eq(m->n_records, 1);
	n = lisp_encode_map_register(buf, sizeof(buf), m);
	ck_assert_int_eq(n, sizeof(notify_v1));
	ck_assert_int_eq(lisp_auth_sign(buf, (size_t)n, 16, 12, 1, "site-a-key", 10), 0);
	ck_assert_mem_eq(buf, notify_v1, sizeof(notify_v1));

	/* A Map-Notify-Ack may carry no record. */
	ck_assert_int_eq(lisp_decode_map_register(ack_v4, sizeof(ack_v4), m), LISP_WIRE_OK);
	ck_assert_int_eq(m->type, LISP_TYPE_MAP_NOTIFY_ACK);
	ck_assert_uint_eq(m->nonce, 0xfedcba9876543210ull);
	ck_assert_uint_eq(m->n_records, 0);
	ck_assert_uint_eq(m->key_id, 1);
	ck_assert_uint_eq(m->alg_id, 2);
	n = lisp_encode_map_register(buf, sizeof(buf), m);
	ck_assert_int_eq(n, sizeof(ack_v4));
	ck_assert_int_eq(lisp_auth_sign(buf, (size_t)n, 16, 16, 2, "site-b-key-256", 14), 0);
	ck_assert_mem_eq(buf, ack_v4, sizeof(ack_v4));
	free(m);
}
END_TEST

START_TEST(wire_map_request)
{
	struct lisp_map_request q;
	struct lisp_addr a;
	uint8_t buf[LISP_MSG_MAX];

	ck_assert_int_eq(lisp_decode_map_request(req_v5, sizeof(req_v5), &q), LISP_WIRE_OK);
	ck_assert_uint_eq(q.flags, 0);
	ck_assert_uint_eq(q.nonce, 0xa1a2a3a4a5a6a7a8ull);
	ck_assert_uint_eq(q.source_eid.family, 0);
	ck_assert_uint_eq(q.n_itr_rlocs, 2);
	a = A("192.0.2.10");
	ck_assert(lisp_addr_equal(&q.itr_rloc[0], &a));
	a = A("2001:db8::10");
	ck_assert(lisp_addr_equal(&q.itr_rloc[1], &a));
	ck_assert_uint_eq(q.n_records, 1);
	ck_assert(prefix_is(&q.eid[0], "10.220.1.5/32"));
	ck_assert_int_eq(lisp_encode_map_request(buf, sizeof(buf), &q), sizeof(req_v5));
	ck_assert_mem_eq(buf, req_v5, sizeof(req_v5));

	ck_assert_int_eq(lisp_decode_map_request(req_v6, sizeof(req_v6), &q), LISP_WIRE_OK);
	ck_assert_uint_eq(q.flags, LISP_MREQ_M | LISP_MREQ_S | LISP_MREQ_SMRI);
	a = A("2001:db8:200::1");
	ck_assert(lisp_addr_equal(&q.source_eid, &a));
	ck_assert_uint_eq(q.n_itr_rlocs, 1);
	ck_assert(prefix_is(&q.eid[0], "2001:db8:100::5/128"));
	ck_assert(prefix_is(&q.map_reply.eid, "2001:db8:200::/64"));
	ck_assert_uint_eq(q.map_reply.ttl, 10);
	ck_assert_uint_eq(q.map_reply.n_locators, 1);
	ck_assert_int_eq(lisp_encode_map_request(buf, sizeof(buf), &q), sizeof(req_v6));
	ck_assert_mem_eq(buf, req_v6, sizeof(req_v6));
}
END_TEST

START_TEST(wire_map_reply)
{
	struct lisp_map_reply *r = calloc(1, sizeof(*r));
	uint8_t buf[LISP_MSG_MAX];

	ck_assert_int_eq(lisp_decode_map_reply(reply_v7, sizeof(reply_v7), r), LISP_WIRE_OK);
	ck_assert_uint_eq(r->flags, 0);
	ck_assert_uint_eq(r->nonce, 0xa1a2a3a4a5a6a7a8ull);
	ck_assert_uint_eq(r->n_records, 1);
	ck_assert(!r->rec[0].authoritative);
	ck_assert_uint_eq(r->rec[0].n_locators, 2);
	ck_assert_int_eq(lisp_encode_map_reply(buf, sizeof(buf), r), sizeof(reply_v7));
	ck_assert_mem_eq(buf, reply_v7, sizeof(reply_v7));

	ck_assert_int_eq(lisp_decode_map_reply(neg_v8, sizeof(neg_v8), r), LISP_WIRE_OK);
	ck_assert_uint_eq(r->rec[0].ttl, 15);
	ck_assert_uint_eq(r->rec[0].act, LISP_ACT_NATIVELY_FORWARD);
	ck_assert_uint_eq(r->rec[0].n_locators, 0);
	ck_assert(prefix_is(&r->rec[0].eid, "0.0.0.0/1"));
	ck_assert_int_eq(lisp_encode_map_reply(buf, sizeof(buf), r), sizeof(neg_v8));
	ck_assert_mem_eq(buf, neg_v8, sizeof(neg_v8));
	ck_assert_str_eq(lisp_act_name(LISP_ACT_NATIVELY_FORWARD), "natively-forward");
	free(r);
}
END_TEST

START_TEST(wire_ecm)
{
	struct lisp_ecm e;
	struct lisp_addr a;
	uint8_t buf[LISP_OUT_MAX];

	ck_assert_int_eq(lisp_decode_ecm(ecm_v9, sizeof(ecm_v9), &e), LISP_WIRE_OK);
	ck_assert_uint_eq(e.flags, LISP_ECM_E);
	a = A("192.0.2.10");
	ck_assert(lisp_addr_equal(&e.src, &a));
	a = A("10.220.1.5");
	ck_assert(lisp_addr_equal(&e.dst, &a));
	ck_assert_uint_eq(e.sport, 61000);
	ck_assert_uint_eq(e.dport, 4342);
	ck_assert_uint_eq(e.ttl, 64);
	ck_assert_uint_eq(e.msg_len, sizeof(req_v5));
	ck_assert_mem_eq(e.msg, req_v5, sizeof(req_v5));
	/* Re-encoding writes the same headers, checksums included. */
	ck_assert_int_eq(lisp_encode_ecm(buf, sizeof(buf), &e), sizeof(ecm_v9));
	ck_assert_mem_eq(buf, ecm_v9, sizeof(ecm_v9));

	ck_assert_int_eq(lisp_decode_ecm(ecm_v10, sizeof(ecm_v10), &e), LISP_WIRE_OK);
	ck_assert_uint_eq(e.flags, 0);
	a = A("2001:db8:200::1");
	ck_assert(lisp_addr_equal(&e.src, &a));
	ck_assert_uint_eq(e.ttl, 32);
	ck_assert_mem_eq(e.msg, req_v6, sizeof(req_v6));
	ck_assert_int_eq(lisp_encode_ecm(buf, sizeof(buf), &e), sizeof(ecm_v10));
	ck_assert_mem_eq(buf, ecm_v10, sizeof(ecm_v10));
	/* The message may already sit in the output buffer. */
	memcpy(buf, req_v6, sizeof(req_v6));
	e.msg = buf;
	ck_assert_int_eq(lisp_encode_ecm(buf, sizeof(buf), &e), sizeof(ecm_v10));
	ck_assert_mem_eq(buf, ecm_v10, sizeof(ecm_v10));
}
END_TEST

struct vec {
	const uint8_t *p;
	size_t len;
};

static const struct vec vecs[] = {
	{ reg_v1, sizeof(reg_v1) },       { reg_v2, sizeof(reg_v2) },
	{ notify_v1, sizeof(notify_v1) }, { ack_v4, sizeof(ack_v4) },
	{ req_v5, sizeof(req_v5) },       { req_v6, sizeof(req_v6) },
	{ reply_v7, sizeof(reply_v7) },   { neg_v8, sizeof(neg_v8) },
	{ ecm_v9, sizeof(ecm_v9) },       { ecm_v10, sizeof(ecm_v10) },
};

static int
decode_any(const uint8_t *p, size_t len)
{
	static struct lisp_map_register m;
	static struct lisp_map_reply r;
	struct lisp_map_request q;
	struct lisp_ecm e;

	switch (lisp_msg_type(p, len)) {
	case LISP_TYPE_MAP_REGISTER:
	case LISP_TYPE_MAP_NOTIFY:
	case LISP_TYPE_MAP_NOTIFY_ACK:
		return lisp_decode_map_register(p, len, &m);
	case LISP_TYPE_MAP_REQUEST:
		return lisp_decode_map_request(p, len, &q);
	case LISP_TYPE_MAP_REPLY:
		return lisp_decode_map_reply(p, len, &r);
	case LISP_TYPE_ECM:
		return lisp_decode_ecm(p, len, &e);
	default:
		return -1;
	}
}

START_TEST(wire_truncated_and_trailing)
{
	uint8_t buf[512];
	unsigned int i;
	size_t cut;

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		ck_assert_int_eq(decode_any(vecs[i].p, vecs[i].len), LISP_WIRE_OK);
		/* Every shorter message is an error, read from a buffer of exactly its size. */
		for (cut = 1; cut < vecs[i].len; cut++) {
			uint8_t *c = malloc(cut);

			memcpy(c, vecs[i].p, cut);
			ck_assert_int_ne(decode_any(c, cut), LISP_WIRE_OK);
			free(c);
		}
		memcpy(buf, vecs[i].p, vecs[i].len);
		buf[vecs[i].len] = 0;
		ck_assert_int_ne(decode_any(buf, vecs[i].len + 1), LISP_WIRE_OK);
	}
	ck_assert_int_eq(decode_any(reg_v1, sizeof(reg_v1) - 1), LISP_WIRE_TRUNCATED);
	memcpy(buf, reg_v1, sizeof(reg_v1));
	ck_assert_int_eq(decode_any(buf, sizeof(reg_v1) + 1), LISP_WIRE_TRAILING);
	ck_assert_str_eq(lisp_wire_err_name(LISP_WIRE_TRAILING), "trailing_bytes");
}
END_TEST

START_TEST(wire_limits)
{
	struct lisp_map_register *m = calloc(1, sizeof(*m));
	struct lisp_map_request q;
	uint8_t buf[LISP_OUT_MAX];
	struct lisp_ecm e;
	size_t n;
	int i;

	/* 64 records is the most a message may carry: 65 is rejected, not cut. */
	m->type = LISP_TYPE_MAP_REGISTER;
	m->auth_len = 12;
	m->alg_id = 1;
	for (i = 0; i < LISP_MAX_RECORDS; i++)
		reg_rec(m, "10.220.1.0/24", 10);
	n = reg_build(buf, m, NULL);
	ck_assert_int_eq(lisp_decode_map_register(buf, n, m), LISP_WIRE_OK);
	buf[3] = LISP_MAX_RECORDS + 1;
	ck_assert_int_eq(lisp_decode_map_register(buf, n, m), LISP_WIRE_TOO_MANY_RECORDS);
	m->n_records = LISP_MAX_RECORDS + 1;
	ck_assert_int_eq(lisp_encode_map_register(buf, sizeof(buf), m), -EINVAL);
	/* 17 locators in a record. */
	memcpy(buf, reg_v1, sizeof(reg_v1));
	buf[32] = LISP_MAX_LOCATORS + 1;
	ck_assert_int_eq(lisp_decode_map_register(buf, sizeof(reg_v1), m),
			 LISP_WIRE_TOO_MANY_LOCATORS);
	/* An LCAF or unknown AFI, a mask longer than the family's. */
	memcpy(buf, reg_v1, sizeof(reg_v1));
	buf[38] = 0x40;
	buf[39] = 0x03;
	ck_assert_int_eq(lisp_decode_map_register(buf, sizeof(reg_v1), m), LISP_WIRE_BAD_AFI);
	memcpy(buf, reg_v1, sizeof(reg_v1));
	buf[33] = 33;
	ck_assert_int_eq(lisp_decode_map_register(buf, sizeof(reg_v1), m), LISP_WIRE_BAD_MASK_LEN);
	/* Authentication data longer than we accept. */
	memcpy(buf, reg_v1, sizeof(reg_v1));
	buf[14] = 0;
	buf[15] = LISP_AUTH_DATA_MAX + 1;
	ck_assert_int_eq(lisp_decode_map_register(buf, sizeof(reg_v1), m), LISP_WIRE_BAD_AUTH_LEN);
	/* A Map-Notify with R (an MS-RTR block would follow) and a Map-Register without records. */
	memcpy(buf, notify_v1, sizeof(notify_v1));
	buf[0] |= 0x04;
	ck_assert_int_eq(lisp_decode_map_register(buf, sizeof(notify_v1), m),
			 LISP_WIRE_UNSUPPORTED);
	memcpy(buf, reg_v1, 28);
	buf[3] = 0;
	buf[0] &= (uint8_t)~0x02;
	ck_assert_int_eq(lisp_decode_map_register(buf, 28, m), LISP_WIRE_NO_RECORDS);
	ck_assert_int_eq(lisp_decode_map_register(req_v5, sizeof(req_v5), m), LISP_WIRE_BAD_TYPE);
	/* ITR-RLOC count: IRC 7 (8 RLOCs) is the most. */
	memset(&q, 0, sizeof(q));
	q.n_itr_rlocs = LISP_MAX_ITR_RLOCS;
	for (i = 0; i < LISP_MAX_ITR_RLOCS; i++)
		q.itr_rloc[i] = A("192.0.2.10");
	q.n_records = 1;
	q.eid[0] = P("10.0.0.1");
	n = (size_t)lisp_encode_map_request(buf, sizeof(buf), &q);
	ck_assert_int_eq(lisp_decode_map_request(buf, n, &q), LISP_WIRE_OK);
	buf[2] = (uint8_t)(buf[2] + 1);
	ck_assert_int_eq(lisp_decode_map_request(buf, n, &q), LISP_WIRE_TOO_MANY_ITR_RLOCS);
	memcpy(buf, req_v5, sizeof(req_v5));
	buf[3] = 0;
	ck_assert_int_eq(lisp_decode_map_request(buf, sizeof(req_v5), &q), LISP_WIRE_NO_RECORDS);
	buf[3] = LISP_MAX_REQ_RECORDS + 1;
	ck_assert_int_eq(lisp_decode_map_request(buf, sizeof(req_v5), &q),
			 LISP_WIRE_TOO_MANY_RECORDS);
	/* ECM: a fragment, a bad UDP length, a protocol other than UDP, IP version 5. */
	memcpy(buf, ecm_v9, sizeof(ecm_v9));
	buf[4 + 6] = 0x20;
	ck_assert_int_eq(lisp_decode_ecm(buf, sizeof(ecm_v9), &e), LISP_WIRE_ECM_BAD_IP);
	memcpy(buf, ecm_v9, sizeof(ecm_v9));
	buf[4 + 20 + 5]++;
	ck_assert_int_eq(lisp_decode_ecm(buf, sizeof(ecm_v9), &e), LISP_WIRE_ECM_BAD_UDP);
	memcpy(buf, ecm_v9, sizeof(ecm_v9));
	buf[4 + 9] = 6;
	ck_assert_int_eq(lisp_decode_ecm(buf, sizeof(ecm_v9), &e), LISP_WIRE_ECM_BAD_IP);
	memcpy(buf, ecm_v9, sizeof(ecm_v9));
	buf[4] = 0x55;
	ck_assert_int_eq(lisp_decode_ecm(buf, sizeof(ecm_v9), &e), LISP_WIRE_ECM_BAD_IP);
	ck_assert_int_eq(lisp_decode_ecm(buf, LISP_MSG_MAX + 100, &e), LISP_WIRE_TOO_BIG);
	ck_assert_int_eq(lisp_decode_map_register(reg_v1, LISP_MSG_MAX + 1, m), LISP_WIRE_TOO_BIG);
	free(m);
}
END_TEST

START_TEST(wire_encode_nospace)
{
	struct lisp_map_register *m = calloc(1, sizeof(*m));
	struct lisp_map_reply *r = calloc(1, sizeof(*r));
	struct lisp_map_request q;
	struct lisp_ecm e;
	uint8_t buf[LISP_OUT_MAX];
	size_t cap;

	ck_assert_int_eq(lisp_decode_map_register(reg_v1, sizeof(reg_v1), m), LISP_WIRE_OK);
	ck_assert_int_eq(lisp_decode_map_request(req_v6, sizeof(req_v6), &q), LISP_WIRE_OK);
	ck_assert_int_eq(lisp_decode_map_reply(reply_v7, sizeof(reply_v7), r), LISP_WIRE_OK);
	for (cap = 0; cap < sizeof(reg_v1); cap++)
		ck_assert_int_eq(lisp_encode_map_register(buf, cap, m), -ENOSPC);
	for (cap = 0; cap < sizeof(req_v6); cap++)
		ck_assert_int_eq(lisp_encode_map_request(buf, cap, &q), -ENOSPC);
	for (cap = 0; cap < sizeof(reply_v7); cap++)
		ck_assert_int_eq(lisp_encode_map_reply(buf, cap, r), -ENOSPC);
	ck_assert_int_eq(lisp_decode_ecm(ecm_v9, sizeof(ecm_v9), &e), LISP_WIRE_OK);
	ck_assert_int_eq(lisp_encode_ecm(buf, sizeof(ecm_v9) - 1, &e), -ENOSPC);
	/* What cannot be encoded: no ITR-RLOC, a family-less locator, mixed inner families. */
	q.n_itr_rlocs = 0;
	ck_assert_int_eq(lisp_encode_map_request(buf, sizeof(buf), &q), -EINVAL);
	m->rec[0].loc[0].addr.family = 0;
	ck_assert_int_eq(lisp_encode_map_register(buf, sizeof(buf), m), -EINVAL);
	e.dst = A("2001:db8::1");
	ck_assert_int_eq(lisp_encode_ecm(buf, sizeof(buf), &e), -EINVAL);
	free(m);
	free(r);
}
END_TEST

/* authentication */

START_TEST(auth_vectors)
{
	uint8_t buf[256];
	size_t i;

	/* HMAC-SHA-1-96 and HMAC-SHA-256-128 over the messages, field zeroed. */
	ck_assert(lisp_auth_verify(reg_v1, sizeof(reg_v1), 16, 12, LISP_ALG_HMAC_SHA1_96,
				   "site-a-key", 10));
	ck_assert(lisp_auth_verify(notify_v1, sizeof(notify_v1), 16, 12, LISP_ALG_HMAC_SHA1_96,
				   "site-a-key", 10));
	ck_assert(lisp_auth_verify(reg_v2, sizeof(reg_v2), 16, 16, LISP_ALG_HMAC_SHA256_128,
				   "site-b-key-256", 14));
	ck_assert(lisp_auth_verify(ack_v4, sizeof(ack_v4), 16, 16, LISP_ALG_HMAC_SHA256_128,
				   "site-b-key-256", 14));
	/* Wrong key, wrong algorithm, a length that is not the algorithm's. */
	ck_assert(!lisp_auth_verify(reg_v1, sizeof(reg_v1), 16, 12, 1, "site-a-kez", 10));
	ck_assert(!lisp_auth_verify(reg_v1, sizeof(reg_v1), 16, 12, 2, "site-a-key", 10));
	ck_assert(!lisp_auth_verify(reg_v2, sizeof(reg_v2), 16, 12, 2, "site-b-key-256", 14));
	ck_assert(!lisp_auth_verify(reg_v1, sizeof(reg_v1), 16, 12, 3, "site-a-key", 10));
	ck_assert(!lisp_auth_verify(reg_v1, sizeof(reg_v1), 16, 12, 0, "site-a-key", 10));
	ck_assert(!lisp_auth_verify(reg_v1, 20, 16, 12, 1, "site-a-key", 10));
	/* Any changed bit anywhere, the last MAC byte included (the full length is compared). */
	for (i = 0; i < sizeof(reg_v2); i++) {
		memcpy(buf, reg_v2, sizeof(reg_v2));
		buf[i] ^= 0x01;
		ck_assert(!lisp_auth_verify(buf, sizeof(reg_v2), 16, 16, 2, "site-b-key-256", 14));
	}
	/* Signing writes the known MAC, whatever the field held. */
	memcpy(buf, reg_v2, sizeof(reg_v2));
	memset(buf + 16, 0xa5, 16);
	ck_assert_int_eq(lisp_auth_sign(buf, sizeof(reg_v2), 16, 16, 2, "site-b-key-256", 14), 0);
	ck_assert_mem_eq(buf, reg_v2, sizeof(reg_v2));
	ck_assert_int_eq(lisp_auth_sign(buf, sizeof(reg_v2), 16, 12, 2, "k", 1), -EINVAL);
	ck_assert_int_eq(lisp_auth_sign(buf, 20, 16, 16, 2, "k", 1), -EINVAL);
	ck_assert_uint_eq(lisp_auth_len(LISP_ALG_HMAC_SHA1_96), 12);
	ck_assert_uint_eq(lisp_auth_len(LISP_ALG_HMAC_SHA256_128), 16);
	ck_assert_uint_eq(lisp_auth_len(LISP_ALG_HMAC_SHA256_HKDF), 0);
}
END_TEST

/* map-server: registration */

START_TEST(ms_register_notify)
{
	struct lisp_ms *ms = new_ms();
	struct lisp_prefix p = P("10.220.1.0/24");
	const struct lisp_reg *r;
	struct lisp_out out;
	struct lisp_addr a;

	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, reg_v1, sizeof(reg_v1), NOW, &out),
			 LISP_MS_OK);
	/* The Map-Notify: same nonce and records, signed with the site key. */
	ck_assert_uint_eq(out.len, sizeof(notify_v1));
	ck_assert_mem_eq(out.buf, notify_v1, sizeof(notify_v1));
	a = A("192.0.2.1");
	ck_assert(lisp_addr_equal(&out.dst, &a));
	ck_assert_uint_eq(out.dport, 4342);
	ck_assert_uint_eq(out.sport, LISP_PORT);
	r = lisp_ms_find(ms, &p);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(lisp_ms_site_name(ms, r->site), "site-a");
	ck_assert(!r->proxy_reply && r->want_map_notify && r->xtr_id_present && !r->restored);
	ck_assert_uint_eq(r->n_locators, 2);
	ck_assert_uint_eq(r->loc[0].flags, LISP_LOC_L | LISP_LOC_R);
	ck_assert_mem_eq(r->xtr_id,
			 "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
	ck_assert_uint_eq(r->site_id, 7);
	ck_assert_uint_eq(r->last_nonce, 0x0123456789abcdefull);
	ck_assert_uint_eq(r->ttl, 1440);
	/* 1440 minutes is longer than registration_ttl_s: 180 s it is. */
	ck_assert_uint_eq(r->expiry, NOW + 180);
	ck_assert_uint_eq(r->registered_at, NOW);
	ck_assert(lisp_addr_equal(&r->etr, &a));
	ck_assert_uint_eq(r->key_id, 1);
	ck_assert_uint_eq(r->alg_id, 1);
	ck_assert_uint_eq(lisp_ms_count(ms), 1);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_REG_NEW), 1);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_TX_MAP_NOTIFY), 1);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_RX_MAP_REGISTER), 1);

	/* The older 16-bit Key ID 2 finds site-b's key 2 (HMAC-SHA-256-128); no M, no notify. */
	ck_assert_int_eq(input(ms, "198.51.100.7", 40000, reg_v2, sizeof(reg_v2), NOW, &out),
			 LISP_MS_OK);
	ck_assert_uint_eq(out.len, 0);
	p = P("2001:db8:100::/48");
	r = lisp_ms_find(ms, &p);
	ck_assert_ptr_nonnull(r);
	ck_assert(r->proxy_reply && !r->want_map_notify);
	ck_assert_str_eq(lisp_ms_site_name(ms, r->site), "site-b");
	ck_assert_uint_eq(r->expiry, NOW + 180);
	ck_assert_uint_eq(r->etr_port, 40000);
	lisp_ms_free(ms);
}
END_TEST

START_TEST(ms_register_keys)
{
	struct lisp_ms *ms = new_ms();
	struct lisp_map_register *m;
	uint8_t buf[LISP_MSG_MAX];
	struct lisp_out out;
	size_t n;

	n = simple_reg(buf, "10.220.2.0/24", 10, 1, 9, 1, "site-a-key", false, false);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_REJ_UNKNOWN_KEY);
	n = simple_reg(buf, "10.220.2.0/24", 10, 2, 1, 2, "site-a-key", false, false);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out),
			 LISP_MS_REJ_BAD_ALGORITHM);
	n = simple_reg(buf, "10.220.2.0/24", 10, 3, 1, 1, "site-a-kez", false, false);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_REJ_BAD_MAC);
	n = simple_reg(buf, "10.220.2.0/24", 10, 4, 1, 1, "site-a-key", false, false);
	buf[n - 1] ^= 1;
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_REJ_BAD_MAC);
	/* Algorithm 3 (HKDF) and 0 (none) are not accepted. */
	m = reg_new(LISP_TYPE_MAP_REGISTER, 5, 1, 3);
	m->auth_len = 16;
	rec_loc(reg_rec(m, "10.220.2.0/24", 10), "192.0.2.1", 1, 1, 1);
	n = reg_build(buf, m, NULL);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out),
			 LISP_MS_REJ_BAD_ALGORITHM);
	m->alg_id = 0;
	m->auth_len = 0;
	n = reg_build(buf, m, NULL);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out),
			 LISP_MS_REJ_BAD_ALGORITHM);
	/* SHA-1 with 16 bytes of authentication data. */
	m->alg_id = 1;
	m->auth_len = 16;
	n = reg_build(buf, m, NULL);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out),
			 LISP_MS_REJ_BAD_AUTH_LENGTH);
	free(m);
	ck_assert_uint_eq(lisp_ms_count(ms), 0);
	ck_assert_uint_eq(rej(ms, LISP_MS_REJ_UNKNOWN_KEY), 1);
	ck_assert_uint_eq(rej(ms, LISP_MS_REJ_BAD_ALGORITHM), 3);
	ck_assert_uint_eq(rej(ms, LISP_MS_REJ_BAD_MAC), 2);
	ck_assert_uint_eq(rej(ms, LISP_MS_REJ_BAD_AUTH_LENGTH), 1);

	/* RFC 9301 encoding of key 3, HMAC-SHA-256-128. */
	n = simple_reg(buf, "10.220.2.0/24", 10, 6, 3, 2, "site-a-key-3", true, false);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_OK);
	ck_assert_uint_eq(out.buf[12], 3);
	ck_assert_uint_eq(out.buf[13], 2);
	ck_assert(lisp_auth_verify(out.buf, out.len, 16, 16, 2, "site-a-key-3", 12));
	/* The older encoding of Key ID 1 (bytes 00 01) finds site-a's key 1, and is echoed. */
	n = simple_reg(buf, "10.220.3.0/24", 10, 7, 0, 1, "site-a-key", true, false);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_OK);
	ck_assert_uint_eq(out.buf[12], 0);
	ck_assert_uint_eq(out.buf[13], 1);
	ck_assert(lisp_auth_verify(out.buf, out.len, 16, 12, 1, "site-a-key", 10));
	ck_assert_uint_eq(lisp_ms_count(ms), 2);
	ck_assert_str_eq(lisp_ms_reject_name(LISP_MS_REJ_BAD_MAC), "bad_mac");
	lisp_ms_free(ms);
}
END_TEST

START_TEST(ms_register_prefixes)
{
	struct lisp_ms *ms = new_ms();
	struct lisp_map_register *m;
	uint8_t buf[LISP_MSG_MAX];
	struct lisp_out out;
	uint64_t nonce = 100;
	size_t n;

#define REG_A(prefix) simple_reg(buf, prefix, 10, nonce++, 1, 1, "site-a-key", false, false)
	n = REG_A("10.230.0.0/24");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_REJ_NO_SITE);
	n = REG_A("10.220.0.0/15");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_REJ_NO_SITE);
	/* Not accepting more specifics: the exact prefix only. */
	n = REG_A("10.221.0.0/25");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out),
			 LISP_MS_REJ_MORE_SPECIFIC);
	n = REG_A("10.221.0.0/24");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_OK);
	/* Accepting more specifics: the prefix and anything inside. */
	n = REG_A("10.220.0.0/16");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_OK);
	n = REG_A("10.220.5.0/24");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_OK);
	n = REG_A("10.220.5.7/32");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_OK);
	ck_assert_uint_eq(lisp_ms_count(ms), 4);
	/* A second record outside the site: nothing of the message is taken. */
	m = reg_new(LISP_TYPE_MAP_REGISTER, nonce++, 1, 1);
	rec_loc(reg_rec(m, "10.220.6.0/24", 10), "192.0.2.1", 1, 1, 1);
	rec_loc(reg_rec(m, "2001:db8:100::/48", 10), "192.0.2.1", 1, 1, 1);
	n = reg_build(buf, m, "site-a-key");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_REJ_OUTSIDE_SITE);
	ck_assert_uint_eq(lisp_ms_count(ms), 4);
	/* One prefix twice (here once added, once withdrawn): malformed. */
	m->n_records = 1;
	m->nonce = nonce++;
	reg_rec(m, "10.220.6.0/24", 0);
	n = reg_build(buf, m, "site-a-key");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_REJ_MALFORMED);
	ck_assert_uint_eq(lisp_ms_count(ms), 4);
	free(m);
	/*
	 * A prefix inside site-c's 10.220.64.0/18, nested in site-a's /16, belongs
	 * to site-c (the longest configured prefix), which takes no more specifics.
	 */
	n = simple_reg(buf, "10.220.64.0/24", 10, nonce++, 1, 2, "site-c-key", false, false);
	ck_assert_int_eq(input(ms, "192.0.2.9", 4342, buf, n, NOW, &out),
			 LISP_MS_REJ_MORE_SPECIFIC);
	n = simple_reg(buf, "10.220.64.0/18", 10, nonce++, 1, 2, "site-c-key", false, false);
	ck_assert_int_eq(input(ms, "192.0.2.9", 4342, buf, n, NOW, &out), LISP_MS_OK);
	n = REG_A("10.220.65.0/24");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out),
			 LISP_MS_REJ_BAD_ALGORITHM);
#undef REG_A
	ck_assert_uint_eq(rej(ms, LISP_MS_REJ_NO_SITE), 2);
	ck_assert_uint_eq(rej(ms, LISP_MS_REJ_MORE_SPECIFIC), 2);
	ck_assert_uint_eq(rej(ms, LISP_MS_REJ_OUTSIDE_SITE), 1);
	lisp_ms_free(ms);
}
END_TEST

START_TEST(ms_replay)
{
	struct lisp_ms *ms = new_ms();
	uint8_t buf[LISP_MSG_MAX];
	struct lisp_out out;
	size_t n;
	int i;

	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, reg_v1, sizeof(reg_v1), NOW, &out),
			 LISP_MS_OK);
	/* The same register again (same nonce): a replay, nothing refreshed, no notify. */
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, reg_v1, sizeof(reg_v1), NOW + 60, &out),
			 LISP_MS_REJ_REPLAY);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(rej(ms, LISP_MS_REJ_REPLAY), 1);
	ck_assert_uint_eq(lisp_ms_find(ms, &(struct lisp_prefix){ A("10.220.1.0"), 24 })->expiry,
			  NOW + 180);
	/* Fresh nonces are fine; an old one within the history is not. */
	for (i = 1; i <= 5; i++) {
		n = simple_reg(buf, "10.220.1.0/24", 10, 1000 + i, 1, 1, "site-a-key", true, false);
		ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW + i, &out), LISP_MS_OK);
	}
	n = simple_reg(buf, "10.220.1.0/24", 10, 1002, 1, 1, "site-a-key", true, false);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW + 10, &out), LISP_MS_REJ_REPLAY);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, reg_v1, sizeof(reg_v1), NOW + 11, &out),
			 LISP_MS_REJ_REPLAY);
	/* A nonce of 0 (no notify wanted) carries no freshness: accepted as a refresh. */
	n = simple_reg(buf, "10.220.1.0/24", 10, 0, 1, 1, "site-a-key", false, false);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW + 12, &out), LISP_MS_OK);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW + 13, &out), LISP_MS_OK);
	ck_assert_uint_eq(rej(ms, LISP_MS_REJ_REPLAY), 3);
	lisp_ms_free(ms);
}
END_TEST

START_TEST(ms_expiry)
{
	struct lisp_ms *ms = new_ms();
	struct lisp_prefix p7 = P("10.220.7.1"), p8 = P("10.220.8.1"), p9 = P("10.220.9.1");
	uint64_t t = 5000;

	ck_assert_int_eq(reg_a(ms, "10.220.7.0/24", 1440, 1, t), LISP_MS_OK);
	ck_assert_int_eq(reg_a(ms, "10.220.8.0/24", 1, 2, t), LISP_MS_OK);
	ck_assert_int_eq(reg_a(ms, "10.220.9.0/24", LISP_TTL_INFINITE, 3, t), LISP_MS_OK);
	/* A record TTL of 1 minute is shorter than the configured 180 s. */
	ck_assert_ptr_nonnull(lisp_ms_lookup(ms, &p8, t + 59));
	ck_assert_ptr_null(lisp_ms_lookup(ms, &p8, t + 60));
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_REG_EXPIRED), 1);
	ck_assert_ptr_nonnull(lisp_ms_lookup(ms, &p7, t + 179));
	ck_assert_ptr_nonnull(lisp_ms_lookup(ms, &p9, t + 179));
	/* A refresh moves the expiry on. */
	ck_assert_int_eq(reg_a(ms, "10.220.7.0/24", 1440, 4, t + 100), LISP_MS_OK);
	ck_assert_ptr_null(lisp_ms_lookup(ms, &p9, t + 180));
	ck_assert_ptr_nonnull(lisp_ms_lookup(ms, &p7, t + 279));
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_REG_REFRESHED), 1);
	/* The timer tick expires too, without a lookup. */
	lisp_ms_tick(ms, t + 280, NULL, NULL);
	ck_assert_uint_eq(lisp_ms_count(ms), 0);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_REG_EXPIRED), 3);
	/* A record TTL of 0 withdraws. */
	ck_assert_int_eq(reg_a(ms, "10.220.7.0/24", 10, 5, t + 300), LISP_MS_OK);
	ck_assert_uint_eq(lisp_ms_count(ms), 1);
	ck_assert_int_eq(reg_a(ms, "10.220.7.0/24", 0, 6, t + 301), LISP_MS_OK);
	ck_assert_uint_eq(lisp_ms_count(ms), 0);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_REG_WITHDRAWN), 1);
	lisp_ms_free(ms);
}
END_TEST

START_TEST(ms_lpm_overlap)
{
	struct lisp_ms *ms = new_ms();
	struct lisp_map_register *m;
	const struct lisp_reg *r;
	uint8_t buf[LISP_MSG_MAX];
	struct lisp_out out;
	struct lisp_prefix q;
	size_t n;

	m = reg_new(LISP_TYPE_MAP_REGISTER, 1, 1, 1);
	rec_loc(reg_rec(m, "10.220.0.0/16", 10), "192.0.2.1", 1, 1, 1);
	rec_loc(reg_rec(m, "10.220.1.0/24", 10), "192.0.2.2", 1, 1, 1);
	rec_loc(reg_rec(m, "10.220.1.128/25", 10), "192.0.2.3", 1, 1, 1);
	n = reg_build(buf, m, "site-a-key");
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_OK);
	free(m);
	m = reg_new(LISP_TYPE_MAP_REGISTER, 2, 2, 2);
	rec_loc(reg_rec(m, "2001:db8:100::/40", 10), "2001:db8::1", 1, 1, 1);
	rec_loc(reg_rec(m, "2001:db8:100::/48", 10), "2001:db8::2", 1, 1, 1);
	rec_loc(reg_rec(m, "2001:db8:100:1::/64", 10), "2001:db8::3", 1, 1, 1);
	n = reg_build(buf, m, "site-b-key-256");
	ck_assert_int_eq(input(ms, "2001:db8::1", 4342, buf, n, NOW, &out), LISP_MS_OK);
	ck_assert_uint_eq(lisp_ms_count(ms), 6);
#define LOOK(addr, want)                                       \
	do {                                                   \
		q = P(addr);                                   \
		r = lisp_ms_lookup(ms, &q, NOW);               \
		if ((want) == NULL) {                          \
			ck_assert_ptr_null(r);                 \
		} else {                                       \
			ck_assert_ptr_nonnull(r);              \
			ck_assert(prefix_is(&r->eid, (want))); \
		}                                              \
	} while (0)
	LOOK("10.220.1.200", "10.220.1.128/25");
	LOOK("10.220.1.5", "10.220.1.0/24");
	LOOK("10.220.9.9", "10.220.0.0/16");
	LOOK("10.221.0.1", NULL);
	LOOK("2001:db8:100:1::5", "2001:db8:100:1::/64");
	LOOK("2001:db8:100:2::5", "2001:db8:100::/48");
	LOOK("2001:db8:1ff::5", "2001:db8:100::/40");
	LOOK("2001:db8:200::5", NULL);
	/* Withdraw the /24 and the /48: lookups fall back to the covering prefixes. */
	m->n_records = 0;
	m->nonce = 3;
	reg_rec(m, "2001:db8:100::/48", 0);
	n = reg_build(buf, m, "site-b-key-256");
	ck_assert_int_eq(input(ms, "2001:db8::1", 4342, buf, n, NOW, &out), LISP_MS_OK);
	free(m);
	ck_assert_int_eq(reg_a(ms, "10.220.1.0/24", 0, 4, NOW), LISP_MS_OK);
	LOOK("10.220.1.5", "10.220.0.0/16");
	LOOK("10.220.1.129", "10.220.1.128/25");
	LOOK("2001:db8:100:2::5", "2001:db8:100::/40");
	LOOK("2001:db8:100:1::5", "2001:db8:100:1::/64");
#undef LOOK
	ck_assert_uint_eq(lisp_ms_count(ms), 4);
	lisp_ms_free(ms);
}
END_TEST

/* The trie against a brute-force model: random prefixes, lookups, holes, removals. */

struct model {
	uint8_t key[16];
	unsigned int len;
	bool live;
};

static uint64_t rng = 88172645463325252ull;

static uint64_t
xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned int
common(const uint8_t *a, const uint8_t *b, unsigned int max)
{
	unsigned int i;

	for (i = 0; i < max; i++)
		if (((a[i / 8] ^ b[i / 8]) >> (7 - i % 8)) & 1)
			return i;
	return max;
}

static void
trie_model_run(unsigned int bits, unsigned int n, unsigned int lookups)
{
	struct model *mo = calloc(n, sizeof(*mo));
	struct lisp_trie t;
	unsigned int i, j, best_len, l, c, got_len, want_hole;
	uint8_t key[16];
	void *old, *got;
	int best;

	lisp_trie_init(&t, bits);
	for (i = 0; i < n; i++) {
		for (j = 0; j < 16; j++)
			mo[i].key[j] = j < bits / 8 ? (uint8_t)xorshift() : 0;
		/* Few leading bits vary, so prefixes overlap and nest. */
		mo[i].key[0] = (uint8_t)(mo[i].key[0] & 0x8f);
		mo[i].len = (unsigned int)(xorshift() % (bits + 1));
		for (j = mo[i].len; j < bits; j++)
			mo[i].key[j / 8] &= (uint8_t) ~(0x80 >> (j % 8));
		mo[i].live = true;
		for (j = 0; j < i; j++)
			if (mo[j].live && mo[j].len == mo[i].len &&
			    memcmp(mo[j].key, mo[i].key, 16) == 0)
				mo[i].live = false;
		if (mo[i].live) {
			ck_assert_int_eq(lisp_trie_insert(&t, mo[i].key, mo[i].len, &mo[i], &old),
					 0);
			ck_assert_ptr_null(old);
		}
	}
	for (int round = 0; round < 2; round++) {
		for (i = 0; i < lookups; i++) {
			/* Half the keys near a stored prefix, half anywhere. */
			memcpy(key, mo[xorshift() % n].key, 16);
			for (j = 0; j < bits / 8; j++)
				if (i % 2 == 0 || xorshift() % 4 == 0)
					key[j] ^= (uint8_t)(xorshift() % 3 == 0 ? xorshift() : 0);
			best = -1;
			best_len = 0;
			want_hole = 0;
			for (j = 0; j < n; j++) {
				if (!mo[j].live)
					continue;
				c = common(mo[j].key, key, mo[j].len);
				if (c == mo[j].len) {
					if (best < 0 || mo[j].len >= best_len) {
						best = (int)j;
						best_len = mo[j].len;
					}
				} else if (c + 1 > want_hole) {
					want_hole = c + 1;
				}
			}
			got = lisp_trie_lpm(&t, key, bits, &got_len);
			if (best < 0) {
				ck_assert_ptr_null(got);
			} else {
				ck_assert_ptr_eq(got, &mo[best]);
				ck_assert_uint_eq(got_len, best_len);
			}
			l = lisp_trie_hole(&t, key);
			ck_assert_uint_eq(l, want_hole);
		}
		/* Remove about half, then check again. */
		for (i = 0; i < n; i++) {
			if (mo[i].live && xorshift() % 2 == 0) {
				ck_assert_ptr_eq(lisp_trie_remove(&t, mo[i].key, mo[i].len),
						 &mo[i]);
				ck_assert_ptr_null(lisp_trie_remove(&t, mo[i].key, mo[i].len));
				mo[i].live = false;
			}
		}
		for (i = 0, j = 0; i < n; i++)
			j += mo[i].live;
		ck_assert_uint_eq(t.n, j);
		for (i = 0; i < n; i++) {
			struct model *want = NULL;

			/* A dead entry may share its prefix with a live one. */
			for (j = 0; j < n; j++)
				if (mo[j].live && mo[j].len == mo[i].len &&
				    memcmp(mo[j].key, mo[i].key, 16) == 0)
					want = &mo[j];
			ck_assert_ptr_eq(lisp_trie_exact(&t, mo[i].key, mo[i].len), want);
		}
	}
	lisp_trie_clear(&t);
	free(mo);
}

START_TEST(trie_model)
{
	trie_model_run(32, 1500, 6000);
	trie_model_run(128, 800, 3000);
}
END_TEST

/* map-resolver */

START_TEST(ms_request_forward)
{
	struct lisp_ms *ms = new_ms();
	uint8_t buf[LISP_OUT_MAX];
	struct lisp_out out;
	struct lisp_addr a;
	struct lisp_ecm e;
	int n;

	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, reg_v1, sizeof(reg_v1), NOW, &out),
			 LISP_MS_OK);
	/* A direct Map-Request: into an ECM (E bit) to the ETR, its inner header the ITR's. */
	ck_assert_int_eq(input(ms, "192.0.2.10", 61000, req_v5, sizeof(req_v5), NOW, &out),
			 LISP_MS_OK);
	ck_assert_uint_eq(out.len, sizeof(ecm_v9));
	ck_assert_mem_eq(out.buf, ecm_v9, sizeof(ecm_v9));
	a = A("192.0.2.1");
	ck_assert(lisp_addr_equal(&out.dst, &a));
	ck_assert_uint_eq(out.dport, LISP_PORT);
	/* The same request in an ECM from a map-resolver: forwarded with its inner header. */
	ck_assert_int_eq(lisp_decode_ecm(ecm_v9, sizeof(ecm_v9), &e), LISP_WIRE_OK);
	e.flags = LISP_ECM_M;
	n = lisp_encode_ecm(buf, sizeof(buf), &e);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(input(ms, "198.51.100.1", 4342, buf, (size_t)n, NOW, &out), LISP_MS_OK);
	ck_assert_uint_eq(out.len, sizeof(ecm_v9));
	ck_assert_mem_eq(out.buf, ecm_v9, sizeof(ecm_v9));
	ck_assert(lisp_addr_equal(&out.dst, &a));
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_REQ_FORWARDED), 2);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_RX_ECM), 1);
	lisp_ms_free(ms);
}
END_TEST

START_TEST(ms_request_proxy_reply)
{
	struct lisp_ms *ms = new_ms();
	struct lisp_map_register *m;
	struct lisp_record *r;
	uint8_t buf[LISP_OUT_MAX];
	struct lisp_out out;
	struct lisp_addr a;
	struct lisp_ecm e;
	size_t n;
	int k;

	/* V1's records with P set: answered by the map-server itself. */
	m = reg_new(LISP_TYPE_MAP_REGISTER, 77, 1, 1);
	m->proxy_reply = true;
	r = reg_rec(m, "10.220.1.0/24", 1440);
	rec_loc(r, "192.0.2.1", 1, 100, LISP_LOC_L | LISP_LOC_R);
	rec_loc(r, "2001:db8::1", 2, 50, LISP_LOC_R);
	n = reg_build(buf, m, "site-a-key");
	free(m);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, n, NOW, &out), LISP_MS_OK);
	ck_assert_int_eq(input(ms, "192.0.2.10", 61000, req_v5, sizeof(req_v5), NOW, &out),
			 LISP_MS_OK);
	/* A clear, L cleared, the registered TTL, to the ITR-RLOC at the request's port. */
	ck_assert_uint_eq(out.len, sizeof(reply_v7));
	ck_assert_mem_eq(out.buf, reply_v7, sizeof(reply_v7));
	a = A("192.0.2.10");
	ck_assert(lisp_addr_equal(&out.dst, &a));
	ck_assert_uint_eq(out.dport, 61000);
	ck_assert_uint_eq(out.sport, LISP_PORT);
	/* In an ECM whose inner header is IPv6: the IPv6 ITR-RLOC, the inner source port. */
	memset(&e, 0, sizeof(e));
	e.src = A("2001:db8::10");
	e.dst = A("2001:db8::fe");
	e.sport = 5000;
	e.dport = 4342;
	e.ttl = 64;
	e.msg = req_v5;
	e.msg_len = sizeof(req_v5);
	k = lisp_encode_ecm(buf, sizeof(buf), &e);
	ck_assert_int_eq(input(ms, "198.51.100.1", 4342, buf, (size_t)k, NOW, &out), LISP_MS_OK);
	ck_assert_mem_eq(out.buf, reply_v7, sizeof(reply_v7));
	a = A("2001:db8::10");
	ck_assert(lisp_addr_equal(&out.dst, &a));
	ck_assert_uint_eq(out.dport, 5000);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_REQ_PROXY_REPLY), 2);
	lisp_ms_free(ms);
}
END_TEST

static void
expect_negative(struct lisp_ms *ms, const char *eid, const char *want, uint32_t ttl)
{
	struct lisp_map_reply *r = calloc(1, sizeof(*r));
	uint8_t buf[LISP_MSG_MAX];
	struct lisp_out out;
	struct lisp_addr a = A("192.0.2.10");
	size_t n = request(buf, eid, 0x55, "192.0.2.10");

	ck_assert_int_eq(input(ms, "192.0.2.10", 4342, buf, n, NOW, &out), LISP_MS_OK);
	ck_assert_int_eq(lisp_decode_map_reply(out.buf, out.len, r), LISP_WIRE_OK);
	ck_assert_uint_eq(r->nonce, 0x55);
	ck_assert_uint_eq(r->n_records, 1);
	ck_assert_uint_eq(r->rec[0].n_locators, 0);
	ck_assert_uint_eq(r->rec[0].act, LISP_ACT_NATIVELY_FORWARD);
	ck_assert(!r->rec[0].authoritative);
	ck_assert_uint_eq(r->rec[0].ttl, ttl);
	ck_assert_msg(prefix_is(&r->rec[0].eid, want), "%s: wanted %s", eid, want);
	ck_assert(lisp_addr_equal(&out.dst, &a));
	free(r);
}

START_TEST(ms_request_negative)
{
	struct lisp_ms *ms = new_ms();

	ck_assert_int_eq(reg_a(ms, "10.220.1.0/24", 10, 1, NOW), LISP_MS_OK);
	/* In a site, not registered: 1 minute, the widest hole inside the site prefix. */
	expect_negative(ms, "10.220.200.1", "10.220.128.0/17", 1);
	expect_negative(ms, "10.220.2.1", "10.220.2.0/23", 1);
	expect_negative(ms, "10.221.0.77", "10.221.0.0/24", 1);
	expect_negative(ms, "2001:db8:1ff::1", "2001:db8:100::/40", 1);
	/* In no site: 15 minutes, the widest prefix that covers no site prefix. */
	expect_negative(ms, "192.168.1.1", "128.0.0.0/1", 15);
	expect_negative(ms, "10.222.0.1", "10.222.0.0/15", 15);
	expect_negative(ms, "2001:db9::1", "2001:db9::/32", 15);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_REQ_NEGATIVE_UNREGISTERED), 4);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_REQ_NEGATIVE_NOT_EID), 3);
	lisp_ms_free(ms);
}
END_TEST

START_TEST(ms_unexpected)
{
	struct lisp_ms *ms = new_ms();
	static const uint8_t other[] = { 0x90, 0, 0, 0 };
	uint8_t buf[LISP_OUT_MAX];
	struct lisp_out out;
	struct lisp_ecm e;
	int n;

	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, reply_v7, sizeof(reply_v7), NOW, &out),
			 LISP_MS_REJ_UNEXPECTED_TYPE);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, notify_v1, sizeof(notify_v1), NOW, &out),
			 LISP_MS_REJ_UNEXPECTED_TYPE);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, other, sizeof(other), NOW, &out),
			 LISP_MS_REJ_UNKNOWN_TYPE);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, other, 0, NOW, &out), LISP_MS_REJ_MALFORMED);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, reg_v1, 20, NOW, &out),
			 LISP_MS_REJ_MALFORMED);
	/* An ECM meant for an ETR, an ECM around something other than a Map-Request. */
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, ecm_v9, sizeof(ecm_v9), NOW, &out),
			 LISP_MS_REJ_ECM_TO_ETR);
	ck_assert_int_eq(lisp_decode_ecm(ecm_v9, sizeof(ecm_v9), &e), LISP_WIRE_OK);
	e.flags = 0;
	e.msg = reg_v1;
	e.msg_len = sizeof(reg_v1);
	n = lisp_encode_ecm(buf, sizeof(buf), &e);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, (size_t)n, NOW, &out),
			 LISP_MS_REJ_ECM_NOT_REQUEST);
	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, buf, 30, NOW, &out), LISP_MS_REJ_MALFORMED);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_RX_MAP_REPLY), 1);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_RX_MAP_NOTIFY), 1);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_RX_OTHER), 2);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_RX_ECM), 3);
	ck_assert_uint_eq(rej(ms, LISP_MS_REJ_UNEXPECTED_TYPE), 2);
	ck_assert_str_eq(lisp_ms_counter_name(LISP_MS_CTR_RX_ECM), "rx_ecm");
	lisp_ms_free(ms);
}
END_TEST

START_TEST(ms_create_and_reconfigure)
{
	struct lisp_ms *ms;
	struct lisp_prefix p;
	struct lisp_out out;

	/* Key ids over 255 cannot be sent in RFC 9301's 8-bit field. */
	make_cfg();
	keys_b[0].id = 300;
	ck_assert_ptr_null(lisp_ms_create(&test_cfg, NULL));
	ck_assert_int_eq(errno, EINVAL);
	/* Two sites claiming one prefix. */
	make_cfg();
	set_prefix(&eids_c[0].prefix, "10.221.0.0/24");
	ck_assert_ptr_null(lisp_ms_create(&test_cfg, NULL));
	ck_assert_int_eq(errno, EEXIST);

	ms = new_ms();
	ck_assert_uint_eq(lisp_ms_site_count(ms), 3);
	ck_assert_int_eq(reg_a(ms, "10.221.0.0/24", 10, 1, NOW), LISP_MS_OK);
	ck_assert_int_eq(reg_a(ms, "10.220.1.0/24", 10, 2, NOW), LISP_MS_OK);
	ck_assert_int_eq(input(ms, "198.51.100.7", 4342, reg_v2, sizeof(reg_v2), NOW, &out),
			 LISP_MS_OK);
	/* site-a loses 10.221.0.0/24, site-b goes away, site-c moves to index 1. */
	make_cfg();
	sites[0].n_eids = 1;
	sites[1] = sites[2];
	test_cfg.lisp.n_sites = 2;
	ck_assert_int_eq(lisp_ms_reconfigure(ms, &test_cfg), 0);
	ck_assert_uint_eq(lisp_ms_count(ms), 1);
	ck_assert_uint_eq(ctr(ms, LISP_MS_CTR_REG_DROPPED_BY_CONFIG), 2);
	p = P("10.220.1.0/24");
	ck_assert_str_eq(lisp_ms_site_name(ms, lisp_ms_find(ms, &p)->site), "site-a");
	ck_assert_int_eq(reg_a(ms, "10.221.0.0/24", 10, 3, NOW), LISP_MS_REJ_NO_SITE);
	lisp_ms_free(ms);
}
END_TEST

/* fast recovery */

/* A table with both families, xTR-IDs, both key encodings, P and M. */
static struct lisp_ms *
populated(uint64_t now)
{
	struct lisp_ms *ms = new_ms();
	struct lisp_out out;

	ck_assert_int_eq(input(ms, "192.0.2.1", 4342, reg_v1, sizeof(reg_v1), now, &out),
			 LISP_MS_OK);
	ck_assert_int_eq(input(ms, "198.51.100.7", 4342, reg_v2, sizeof(reg_v2), now, &out),
			 LISP_MS_OK);
	ck_assert_int_eq(reg_a(ms, "10.220.2.0/24", 10, 11, now), LISP_MS_OK);
	ck_assert_int_eq(reg_a(ms, "10.221.0.0/24", 10, 12, now + 1), LISP_MS_OK);
	return ms;
}

static void
same_reg(const struct lisp_reg *a, const struct lisp_reg *b)
{
	ck_assert(lisp_prefix_equal(&a->eid, &b->eid));
	ck_assert_uint_eq(a->site, b->site);
	ck_assert(a->proxy_reply == b->proxy_reply && a->want_map_notify == b->want_map_notify);
	ck_assert(a->xtr_id_present == b->xtr_id_present && a->authoritative == b->authoritative);
	ck_assert_uint_eq(a->act, b->act);
	ck_assert_uint_eq(a->map_version, b->map_version);
	ck_assert_uint_eq(a->ttl, b->ttl);
	ck_assert_uint_eq(a->expiry, b->expiry);
	ck_assert_uint_eq(a->registered_at, b->registered_at);
	ck_assert_uint_eq(a->refreshed_at, b->refreshed_at);
	ck_assert_mem_eq(a->xtr_id, b->xtr_id, 16);
	ck_assert_uint_eq(a->site_id, b->site_id);
	ck_assert_uint_eq(a->last_nonce, b->last_nonce);
	ck_assert_uint_eq(a->key_id, b->key_id);
	ck_assert_uint_eq(a->alg_id, b->alg_id);
	ck_assert(lisp_addr_equal(&a->etr, &b->etr));
	ck_assert_uint_eq(a->etr_port, b->etr_port);
	ck_assert_uint_eq(a->n_locators, b->n_locators);
	for (unsigned int i = 0; i < a->n_locators; i++) {
		ck_assert(lisp_addr_equal(&a->loc[i].addr, &b->loc[i].addr));
		ck_assert_uint_eq(a->loc[i].priority, b->loc[i].priority);
		ck_assert_uint_eq(a->loc[i].weight, b->loc[i].weight);
		ck_assert_uint_eq(a->loc[i].mpriority, b->loc[i].mpriority);
		ck_assert_uint_eq(a->loc[i].mweight, b->loc[i].mweight);
		ck_assert_uint_eq(a->loc[i].flags, b->loc[i].flags);
	}
}

struct cmp_ctx {
	const struct lisp_ms *other;
	unsigned int n;
};

static void
cmp_one(void *arg, const struct lisp_reg *r)
{
	struct cmp_ctx *c = arg;
	const struct lisp_reg *o = lisp_ms_find(c->other, &r->eid);

	ck_assert_ptr_nonnull(o);
	same_reg(r, o);
	ck_assert(o->restored);
	c->n++;
}

static uint8_t *
snapshot(const struct lisp_ms *ms, uint64_t now, size_t *len)
{
	size_t cap = lisp_state_size(ms);
	uint8_t *buf = malloc(cap);
	int n = lisp_state_encode(ms, now, buf, cap);

	ck_assert_int_eq(n, (int)cap);
	ck_assert_int_eq(lisp_state_encode(ms, now, buf, cap - 1), -ENOSPC);
	*len = (size_t)n;
	return buf;
}

START_TEST(state_roundtrip)
{
	struct lisp_ms *ms1 = populated(NOW), *ms2 = new_ms();
	struct cmp_ctx c = { ms2, 0 };
	struct lisp_out out;
	uint8_t *buf;
	size_t len;

	buf = snapshot(ms1, NOW + 5, &len);
	ck_assert_int_eq(lisp_state_decode(ms2, buf, len, NOW + 10, 0), 4);
	ck_assert_uint_eq(lisp_ms_count(ms2), 4);
	ck_assert_uint_eq(lisp_ms_restored_count(ms2), 4);
	ck_assert_uint_eq(ctr(ms2, LISP_MS_CTR_RESTORED_LOADED), 4);
	lisp_ms_foreach(ms1, cmp_one, &c);
	ck_assert_uint_eq(c.n, 4);
	/* Restored entries answer at once. */
	ck_assert_int_eq(input(ms2, "192.0.2.10", 61000, req_v5, sizeof(req_v5), NOW + 10, &out),
			 LISP_MS_OK);
	ck_assert_mem_eq(out.buf, ecm_v9, sizeof(ecm_v9));
	/* The last nonce came along: the old register is still a replay. */
	ck_assert_int_eq(input(ms2, "192.0.2.1", 4342, reg_v1, sizeof(reg_v1), NOW + 11, &out),
			 LISP_MS_REJ_REPLAY);
	/* Expired records, and records the config no longer allows, are skipped. */
	lisp_ms_free(ms2);
	ms2 = new_ms();
	ck_assert_int_eq(lisp_state_decode(ms2, buf, len, NOW + 180, 0), 1);
	ck_assert_uint_eq(ctr(ms2, LISP_MS_CTR_RESTORED_SKIPPED), 3);
	lisp_ms_free(ms2);
	make_cfg();
	test_cfg.lisp.n_sites = 1;
	ms2 = lisp_ms_create(&test_cfg, NULL);
	ck_assert_int_eq(lisp_state_decode(ms2, buf, len, NOW + 10, 0), 3);
	lisp_ms_free(ms2);
	/* A registration always has the RLOC it came from. */
	{
		struct lisp_reg r =
			*lisp_ms_find(ms1, &(struct lisp_prefix){ A("10.220.2.0"), 24 });

		r.etr.family = 0;
		ms2 = new_ms();
		ck_assert_int_eq(lisp_ms_install(ms2, &r, "site-a", true, NOW), -EINVAL);
		r.etr.family = 4;
		ck_assert_int_eq(lisp_ms_install(ms2, &r, "site-x", true, NOW), -ENOENT);
		ck_assert_int_eq(lisp_ms_install(ms2, &r, "site-b", true, NOW), -EPERM);
		ck_assert_int_eq(lisp_ms_install(ms2, &r, "site-a", true, r.expiry), -ETIME);
		ck_assert_int_eq(lisp_ms_install(ms2, &r, "site-a", true, NOW), 0);
		r.refreshed_at--;
		ck_assert_int_eq(lisp_ms_install(ms2, &r, "site-a", true, NOW), -EALREADY);
		lisp_ms_free(ms2);
	}
	/* An HA standby applying a newer snapshot replaces what it had. */
	ms2 = new_ms();
	ck_assert_int_eq(reg_a(ms2, "10.220.199.0/24", 10, 99, NOW), LISP_MS_OK);
	ck_assert_int_eq(lisp_state_decode(ms2, buf, len, NOW + 10, LISP_STATE_REPLACE), 4);
	ck_assert_uint_eq(lisp_ms_count(ms2), 4);
	free(buf);
	lisp_ms_free(ms1);
	lisp_ms_free(ms2);
}
END_TEST

START_TEST(state_cut_and_flipped)
{
	struct lisp_ms *ms1 = populated(NOW), *ms2 = new_ms();
	uint8_t *buf, *c;
	size_t len, cut, i;
	int rc;

	buf = snapshot(ms1, NOW, &len);
	c = malloc(len);
	/* Truncated at every offset: detected, and nothing loaded. */
	for (cut = 0; cut < len; cut++) {
		memcpy(c, buf, cut);
		ck_assert_int_eq(lisp_state_decode(ms2, c, cut, NOW, LISP_STATE_REPLACE), -EBADMSG);
		ck_assert_uint_eq(lisp_ms_count(ms2), 0);
	}
	/* One bit flipped at every byte (low and high bit): detected, nothing loaded. */
	for (i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			memcpy(c, buf, len);
			c[i] ^= (uint8_t)(1u << bit);
			rc = lisp_state_decode(ms2, c, len, NOW, 0);
			ck_assert_msg(rc == -EBADMSG || rc == -EPROTONOSUPPORT,
				      "byte %zu bit %d: %d", i, bit, rc);
			ck_assert_uint_eq(lisp_ms_count(ms2), 0);
		}
	}
	/* A rejected snapshot leaves the table that was there, REPLACE or not. */
	ck_assert_int_eq(lisp_state_decode(ms2, buf, len, NOW, 0), 4);
	for (cut = 0; cut < len; cut += 7)
		ck_assert_int_eq(lisp_state_decode(ms2, buf, cut, NOW, LISP_STATE_REPLACE),
				 -EBADMSG);
	ck_assert_uint_eq(lisp_ms_count(ms2), 4);
	/* More records than room: refused whole. */
	lisp_ms_free(ms2);
	ms2 = lisp_ms_create(make_cfg(), &(struct lisp_ms_params){ .max_registrations = 3 });
	ck_assert_int_eq(lisp_state_decode(ms2, buf, len, NOW, 0), -ENOSPC);
	ck_assert_uint_eq(lisp_ms_count(ms2), 0);
	/* With REPLACE too, and the table that was there survives the refusal. */
	ck_assert_int_eq(lisp_state_decode(ms2, buf, len, NOW + 180, LISP_STATE_REPLACE), -ENOSPC);
	{
		struct lisp_ms *big = new_ms();
		uint8_t *one;
		size_t one_len;

		ck_assert_int_eq(lisp_state_decode(big, buf, len, NOW + 180, 0), 1);
		one = snapshot(big, NOW + 180, &one_len);
		ck_assert_int_eq(lisp_state_decode(ms2, one, one_len, NOW + 180, 0), 1);
		ck_assert_int_eq(lisp_state_decode(ms2, buf, len, NOW + 180, LISP_STATE_REPLACE),
				 -ENOSPC);
		ck_assert_uint_eq(lisp_ms_count(ms2), 1);
		free(one);
		lisp_ms_free(big);
	}
	free(c);
	free(buf);
	lisp_ms_free(ms1);
	lisp_ms_free(ms2);
}
END_TEST

static char state_dir[64];
static char state_path[128];

static void
rm_state(void)
{
	char tmp[160];

	snprintf(tmp, sizeof(tmp), "%s.tmp", state_path);
	unlink(tmp);
	unlink(state_path);
	rmdir(state_dir);
}

static void
write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

START_TEST(state_file)
{
	struct lisp_ms *ms1 = populated(NOW), *ms2 = new_ms();
	struct cmp_ctx c = { ms2, 0 };
	char tmp[160];
	struct stat st;
	uint8_t *buf;
	size_t len, cut;

	snprintf(state_dir, sizeof(state_dir), "/tmp/eqx-lisp-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(state_dir));
	snprintf(state_path, sizeof(state_path), "%s/lisp-ms.state", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", state_path);
	ck_assert_int_eq(lisp_state_load(ms2, state_path, NOW), -ENOENT);
	ck_assert_int_eq(lisp_state_save(ms1, state_path, NOW), 0);
	ck_assert_int_eq(stat(tmp, &st), -1);
	ck_assert_int_eq(stat(state_path, &st), 0);
	ck_assert_uint_eq((size_t)st.st_size, lisp_state_size(ms1));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	/* A stale temporary file from a crash in the middle of a save is harmless. */
	write_file(tmp, (const uint8_t *)"junk", 4);
	ck_assert_int_eq(lisp_state_load(ms2, state_path, NOW + 1), 4);
	lisp_ms_foreach(ms1, cmp_one, &c);
	ck_assert_uint_eq(c.n, 4);
	/* A truncated file is ignored whole and the table stays as it was. */
	buf = snapshot(ms1, NOW, &len);
	for (cut = 0; cut < len; cut++) {
		write_file(state_path, buf, cut);
		ck_assert_int_eq(lisp_state_load(ms2, state_path, NOW + 1), -EBADMSG);
		ck_assert_uint_eq(lisp_ms_count(ms2), 4);
	}
	/* Saving again replaces the file whole. */
	ck_assert_int_eq(reg_a(ms1, "10.220.3.0/24", 10, 13, NOW + 2), LISP_MS_OK);
	ck_assert_int_eq(lisp_state_save(ms1, state_path, NOW + 2), 0);
	ck_assert_int_eq(lisp_state_load(ms2, state_path, NOW + 3), 5);
	free(buf);
	rm_state();
	lisp_ms_free(ms1);
	lisp_ms_free(ms2);
}
END_TEST

/*
 * lisp_state_write, step by step: what a crash leaves at each point of the
 * sequence (temporary file half written, written but not renamed, renamed)
 * loads as the old state or the new one, never anything else.
 */
START_TEST(state_write_crash_points)
{
	struct lisp_ms *ms1 = populated(NOW), *ms2 = new_ms();
	uint8_t *old_buf, *new_buf;
	size_t old_len, new_len, cut;
	char tmp[160], missing[200];
	struct stat st;

	snprintf(state_dir, sizeof(state_dir), "/tmp/eqx-lisp-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(state_dir));
	snprintf(state_path, sizeof(state_path), "%s/lisp-ms.state", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", state_path);
	old_buf = snapshot(ms1, NOW, &old_len);
	ck_assert_int_eq(lisp_state_write(state_path, old_buf, old_len), 0);
	ck_assert_int_eq(stat(tmp, &st), -1);
	ck_assert_int_eq(reg_a(ms1, "10.220.3.0/24", 10, 21, NOW + 1), LISP_MS_OK);
	new_buf = snapshot(ms1, NOW + 1, &new_len);
	/* Crash while writing the temporary file: the old state. */
	for (cut = 0; cut <= new_len; cut += 7) {
		write_file(tmp, new_buf, cut);
		ck_assert_int_eq(lisp_state_load(ms2, state_path, NOW + 2), 4);
	}
	/* Crash after the temporary file is whole, before the rename: still the old one. */
	write_file(tmp, new_buf, new_len);
	ck_assert_int_eq(lisp_state_load(ms2, state_path, NOW + 2), 4);
	/* The rename: the new one, and the write leaves no temporary file behind. */
	ck_assert_int_eq(lisp_state_write(state_path, new_buf, new_len), 0);
	ck_assert_int_eq(lisp_state_load(ms2, state_path, NOW + 2), 5);
	ck_assert_int_eq(stat(tmp, &st), -1);
	/* A write that cannot happen (no such directory) fails and changes nothing. */
	snprintf(missing, sizeof(missing), "%s/none/lisp-ms.state", state_dir);
	ck_assert_int_eq(lisp_state_write(missing, old_buf, old_len), -ENOENT);
	ck_assert_int_eq(lisp_state_load(ms2, state_path, NOW + 2), 5);
	free(old_buf);
	free(new_buf);
	rm_state();
	lisp_ms_free(ms1);
	lisp_ms_free(ms2);
}
END_TEST

START_TEST(state_restored_expire_and_refresh)
{
	struct lisp_ms *ms1 = new_ms(), *ms2 = new_ms();
	struct lisp_prefix pa = P("10.220.7.1"), pb = P("10.220.8.1");
	const struct lisp_reg *r;
	uint8_t *buf;
	size_t len;

	ck_assert_int_eq(reg_a(ms1, "10.220.7.0/24", 10, 1, 1000), LISP_MS_OK);
	ck_assert_int_eq(reg_a(ms1, "10.220.8.0/24", 10, 2, 1100), LISP_MS_OK);
	buf = snapshot(ms1, 1100, &len);
	ck_assert_int_eq(lisp_state_decode(ms2, buf, len, 1150, LISP_STATE_REPLACE), 2);
	/* Old expiry kept: the first goes at 1180 unless refreshed. */
	ck_assert_ptr_nonnull(lisp_ms_lookup(ms2, &pa, 1179));
	ck_assert_ptr_null(lisp_ms_lookup(ms2, &pa, 1180));
	ck_assert_uint_eq(ctr(ms2, LISP_MS_CTR_RESTORED_EXPIRED), 1);
	/* A fresh register of the second: no longer restored, a new expiry. */
	ck_assert_int_eq(reg_a(ms2, "10.220.8.0/24", 10, 3, 1200), LISP_MS_OK);
	r = lisp_ms_lookup(ms2, &pb, 1200);
	ck_assert(!r->restored);
	ck_assert_uint_eq(r->expiry, 1380);
	ck_assert_uint_eq(r->registered_at, 1100);
	ck_assert_uint_eq(lisp_ms_restored_count(ms2), 0);
	ck_assert_uint_eq(ctr(ms2, LISP_MS_CTR_RESTORED_REFRESHED), 1);
	free(buf);
	lisp_ms_free(ms1);
	lisp_ms_free(ms2);
}
END_TEST

#define MAX_SENT 64

struct sent {
	unsigned int n;
	struct lisp_out o[MAX_SENT];
};

static void
capture(void *arg, const struct lisp_out *o)
{
	struct sent *s = arg;

	ck_assert_uint_lt(s->n, MAX_SENT);
	s->o[s->n++] = *o;
}

START_TEST(state_notify_restored)
{
	struct lisp_ms *ms1 = new_ms(), *ms2 = new_ms();
	struct lisp_map_register *m = calloc(1, sizeof(*m)), *ack;
	struct sent *s = calloc(1, sizeof(*s)), *rs = calloc(1, sizeof(*rs));
	const char *key;
	uint8_t buf[LISP_MSG_MAX];
	struct lisp_out out;
	struct lisp_addr a;
	unsigned int i, records = 0;
	uint64_t t;
	uint8_t *snap;
	size_t len, n;

	/* ETR 192.0.2.1: two prefixes; ETR 192.0.2.2: one; site-b's ETR: one (older key encoding).
	 */
	ck_assert_int_eq(input(ms1, "192.0.2.1", 4342, reg_v1, sizeof(reg_v1), NOW, &out),
			 LISP_MS_OK);
	ck_assert_int_eq(reg_a(ms1, "10.220.2.0/24", 10, 11, NOW), LISP_MS_OK);
	n = simple_reg(buf, "10.220.3.0/24", 10, 12, 1, 1, "site-a-key", false, false);
	ck_assert_int_eq(input(ms1, "192.0.2.2", 4342, buf, n, NOW, &out), LISP_MS_OK);
	ck_assert_int_eq(input(ms1, "198.51.100.7", 4342, reg_v2, sizeof(reg_v2), NOW, &out),
			 LISP_MS_OK);
	snap = snapshot(ms1, NOW, &len);
	ck_assert_int_eq(lisp_state_decode(ms2, snap, len, NOW + 5, LISP_STATE_REPLACE), 4);
	t = NOW + 5;
	ck_assert_uint_eq(lisp_ms_notify_restored(ms2, t, capture, s), 3);
	ck_assert_uint_eq(s->n, 3);
	ck_assert_uint_eq(ctr(ms2, LISP_MS_CTR_TX_MAP_NOTIFY_RESTORE), 3);
	for (i = 0; i < s->n; i++) {
		const struct lisp_out *o = &s->o[i];

		ck_assert_int_eq(lisp_decode_map_register(o->buf, o->len, m), LISP_WIRE_OK);
		ck_assert_int_eq(m->type, LISP_TYPE_MAP_NOTIFY);
		ck_assert_uint_eq(o->dport, LISP_PORT);
		key = m->alg_id == LISP_ALG_HMAC_SHA1_96 ? "site-a-key" : "site-b-key-256";
		/* Authenticated with the site key, as the ETR registered with it. */
		ck_assert(lisp_auth_verify(o->buf, o->len, 16, m->auth_len, m->alg_id, key,
					   strlen(key)));
		for (unsigned int j = 0; j < m->n_records; j++) {
			const struct lisp_reg *r = lisp_ms_find(ms1, &m->rec[j].eid);

			/* The stored records, as the ETR registered them. */
			ck_assert_ptr_nonnull(r);
			ck_assert(lisp_addr_equal(&o->dst, &r->etr));
			ck_assert_uint_eq(m->rec[j].ttl, r->ttl);
			ck_assert_uint_eq(m->rec[j].n_locators, r->n_locators);
			ck_assert_uint_eq(m->rec[j].loc[0].flags, r->loc[0].flags);
			ck_assert(m->rec[j].authoritative);
			records++;
		}
		a = A("198.51.100.7");
		if (lisp_addr_equal(&o->dst, &a)) {
			ck_assert_uint_eq(m->key_id, 0);
			ck_assert_uint_eq(m->alg_id, 2);
		}
		a = A("192.0.2.1");
		if (lisp_addr_equal(&o->dst, &a))
			ck_assert_uint_eq(m->n_records, 2);
	}
	ck_assert_uint_eq(records, 4);

	/* The Map-Notify-Ack from the first ETR: matched by nonce, authenticated. */
	ck_assert_int_eq(lisp_decode_map_register(s->o[0].buf, s->o[0].len, m), LISP_WIRE_OK);
	key = m->alg_id == LISP_ALG_HMAC_SHA1_96 ? "site-a-key" : "site-b-key-256";
	ack = reg_new(LISP_TYPE_MAP_NOTIFY_ACK, m->nonce, m->key_id, m->alg_id);
	n = reg_build(buf, ack, "wrong-key");
	ck_assert_int_eq(input(ms2, "192.0.2.1", 4342, buf, n, t + 1, &out), LISP_MS_REJ_BAD_MAC);
	n = reg_build(buf, ack, key);
	ck_assert_int_eq(input(ms2, "192.0.2.1", 4342, buf, n, t + 1, &out), LISP_MS_OK);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(ctr(ms2, LISP_MS_CTR_NOTIFY_ACKED), 1);
	/* A replayed ack matches nothing any more. */
	ck_assert_int_eq(input(ms2, "192.0.2.1", 4342, buf, n, t + 1, &out),
			 LISP_MS_REJ_UNMATCHED_ACK);
	free(ack);

	/* The two others: 3 s apart three times, then 6, 12, 24 s, then given up. */
	for (uint64_t x = t; x <= t + 120; x++)
		lisp_ms_tick(ms2, x, capture, rs);
	ck_assert_uint_eq(rs->n, 12);
	ck_assert_uint_eq(ctr(ms2, LISP_MS_CTR_TX_MAP_NOTIFY_RETRANSMIT), 12);
	ck_assert_uint_eq(ctr(ms2, LISP_MS_CTR_NOTIFY_UNACKED), 2);
	for (i = 0; i < rs->n; i++) {
		bool same = false;

		for (unsigned int j = 1; j < s->n; j++)
			same |= rs->o[i].len == s->o[j].len &&
				memcmp(rs->o[i].buf, s->o[j].buf, s->o[j].len) == 0;
		ck_assert(same);
	}
	/* Only entries still restored are notified again. */
	n = simple_reg(buf, "10.220.3.0/24", 10, 13, 1, 1, "site-a-key", false, false);
	ck_assert_int_eq(input(ms2, "192.0.2.2", 4342, buf, n, t + 121, &out), LISP_MS_OK);
	s->n = 0;
	ck_assert_uint_eq(lisp_ms_notify_restored(ms2, t + 122, capture, s), 2);
	free(snap);
	free(m);
	free(s);
	free(rs);
	lisp_ms_free(ms1);
	lisp_ms_free(ms2);
}
END_TEST

static Suite *
lisp_suite(void)
{
	Suite *s = suite_create("lisp");
	TCase *wire = tcase_create("wire");
	TCase *ms = tcase_create("map-server");
	TCase *state = tcase_create("state");

	tcase_add_test(wire, wire_map_register);
	tcase_add_test(wire, wire_map_notify_and_ack);
	tcase_add_test(wire, wire_map_request);
	tcase_add_test(wire, wire_map_reply);
	tcase_add_test(wire, wire_ecm);
	tcase_add_test(wire, wire_truncated_and_trailing);
	tcase_add_test(wire, wire_limits);
	tcase_add_test(wire, wire_encode_nospace);
	tcase_add_test(wire, auth_vectors);
	suite_add_tcase(s, wire);
	tcase_add_test(ms, ms_register_notify);
	tcase_add_test(ms, ms_register_keys);
	tcase_add_test(ms, ms_register_prefixes);
	tcase_add_test(ms, ms_replay);
	tcase_add_test(ms, ms_expiry);
	tcase_add_test(ms, ms_lpm_overlap);
	tcase_add_test(ms, trie_model);
	tcase_add_test(ms, ms_request_forward);
	tcase_add_test(ms, ms_request_proxy_reply);
	tcase_add_test(ms, ms_request_negative);
	tcase_add_test(ms, ms_unexpected);
	tcase_add_test(ms, ms_create_and_reconfigure);
	tcase_set_timeout(ms, 60);
	suite_add_tcase(s, ms);
	tcase_add_test(state, state_roundtrip);
	tcase_add_test(state, state_cut_and_flipped);
	tcase_add_test(state, state_file);
	tcase_add_test(state, state_write_crash_points);
	tcase_add_test(state, state_restored_expire_and_refresh);
	tcase_add_test(state, state_notify_restored);
	tcase_set_timeout(state, 60);
	suite_add_tcase(s, state);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lisp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
