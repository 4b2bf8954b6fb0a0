/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lisp-bench: what the LISP map-server costs on the control lcore, per message,
 * measured on the code the control lcore runs for each datagram:
 * lisp_ms_input() (decode, site lookup, HMAC with OpenSSL, constant-time
 * compare, the EID trie, the answer encoded and, for a Map-Notify, signed),
 * with a table of --regs registrations; and the fast-recovery figures: the
 * snapshot of that table encoded, written crash-safely, loaded back, and the
 * restore Map-Notifies built. Beside each rate its floor: the HMAC alone, the
 * decoder alone.
 *
 * Messages are built before the clock starts (each Map-Register with its own
 * nonce, so none is a replay), checked after it stops (every one accepted,
 * every answer of the expected type); a timing never fails the run.
 *
 * Not in these figures: the worker's receive and the control ring before
 * lisp_ms_input, and the Ethernet/IP/UDP frame built after it (src/udp.c);
 * tests/bench/lisp_recovery.py measures the whole path on the wire.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/cfg.h"
#include "lisp/lisp_auth.h"
#include "lisp/lisp_ms.h"
#include "lisp/lisp_state.h"
#include "lisp/lisp_wire.h"

#define TARGET_RATE 100000.0 /* messages/s, the aim for both */
#define ROUNDS 9
#define NOW 1700000000u

static const char *const key256 = "bench-site-key-sha256";
static const char *const key1 = "bench-site-key-sha1";

static unsigned int n_regs = 10000;
static unsigned int n_msgs = 200000;
static bool csv;
static int failed;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
fail(const char *what, long a, long b)
{
	fprintf(stderr, "lisp-bench: check failed: %s (%ld, expected %ld)\n", what, a, b);
	failed = 1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of the rounds' rates, and their spread. */
static void
report(const char *figure, const char *what, double *rate, unsigned int n, double target)
{
	char t[64] = "";
	bool floor;

	qsort(rate, n, sizeof(rate[0]), cmp_double);
	if (target > 0)
		snprintf(t, sizeof(t), "target >= %.0fk/s: %s", target / 1e3,
			 rate[n / 2] >= target ? "met" : "NOT met");
	if (csv) {
		/* "  floor: x" lines are "floor_x" rows. */
		while (*figure == ' ')
			figure++;
		floor = strncmp(figure, "floor: ", 7) == 0;
		printf("%s%s,rate,%.0f,msgs/s,%s\n", floor ? "floor_" : "",
		       figure + (floor ? 7 : 0), rate[n / 2], target > 0 ? ">=100000" : "");
		return;
	}
	printf("%-28s %9.0f/s  %6.2f us/msg  (rounds %.0f..%.0f/s)  %s\n   %s\n", figure,
	       rate[n / 2], 1e6 / rate[n / 2], rate[0], rate[n - 1], t, what);
}

static void
report_value(const char *figure, const char *metric, double v, const char *unit, const char *what)
{
	if (csv)
		printf("%s,%s,%.4g,%s,\n", figure, metric, v, unit);
	else
		printf("%-28s %9.3f %s  %s\n", figure, v, unit, what);
}

/* One site, 10.226.0.0/16 with more specifics, a key of each algorithm. */
static struct cfg_lisp_key keys[2];
static struct cfg_lisp_eid eid;
static struct cfg_lisp_site site;
static struct cfg cfg;

static void
config_init(void)
{
	keys[0].id = 1;
	keys[0].algorithm = CFG_LISP_ALG_HMAC_SHA256_128;
	strcpy(keys[0].secret, key256);
	keys[1].id = 2;
	keys[1].algorithm = CFG_LISP_ALG_HMAC_SHA1_96;
	strcpy(keys[1].secret, key1);
	eid.prefix.addr.family = 4;
	eid.prefix.addr.bytes[0] = 10;
	eid.prefix.addr.bytes[1] = 226;
	eid.prefix.len = 16;
	eid.accept_more_specifics = true;
	strcpy(site.name, "bench");
	site.keys = keys;
	site.n_keys = 2;
	site.eids = &eid;
	site.n_eids = 1;
	cfg.lisp.registration_ttl_s = 180;
	cfg.lisp.sites = &site;
	cfg.lisp.n_sites = 1;
}

/* Registration i: 10.226.x.y/30; ETR 192.0.2.(i % 200 + 1), two locators. */
static void
eid_of(unsigned int i, struct lisp_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->addr.family = 4;
	p->addr.bytes[0] = 10;
	p->addr.bytes[1] = 226;
	p->addr.bytes[2] = (uint8_t)(i >> 6);
	p->addr.bytes[3] = (uint8_t)((i & 63) << 2);
	p->len = 30;
}

static void
pkt_of(unsigned int i, struct lisp_pkt_info *pkt)
{
	memset(pkt, 0, sizeof(*pkt));
	pkt->src.family = pkt->dst.family = 4;
	pkt->src.bytes[0] = 192;
	pkt->src.bytes[2] = 2;
	pkt->src.bytes[3] = (uint8_t)(i % 200 + 1);
	pkt->dst.bytes[0] = 192;
	pkt->dst.bytes[2] = 2;
	pkt->dst.bytes[3] = 254;
	pkt->sport = pkt->dport = LISP_PORT;
}

/* A set of messages in one buffer. */
struct msgs {
	uint8_t *buf;
	uint32_t *off;
	uint16_t *len;
	unsigned int n;
	size_t used, cap;
};

static int
msgs_init(struct msgs *m, unsigned int n, size_t per)
{
	memset(m, 0, sizeof(*m));
	m->cap = (size_t)n * per;
	m->buf = malloc(m->cap);
	m->off = malloc(n * sizeof(m->off[0]));
	m->len = malloc(n * sizeof(m->len[0]));
	return m->buf != NULL && m->off != NULL && m->len != NULL ? 0 : -ENOMEM;
}

static void
msgs_free(struct msgs *m)
{
	free(m->buf);
	free(m->off);
	free(m->len);
}

static struct lisp_map_register reg;

/* Map-Register k of registration i: its own nonce, signed. */
static void
build_register(struct msgs *m, unsigned int i, uint64_t nonce, uint8_t key_id, bool notify,
	       bool proxy)
{
	uint8_t alg = key_id == 1 ? LISP_ALG_HMAC_SHA256_128 : LISP_ALG_HMAC_SHA1_96;
	const char *key = key_id == 1 ? key256 : key1;
	struct lisp_record *r = &reg.rec[0];
	int n;

	memset(&reg, 0, offsetof(struct lisp_map_register, rec));
	reg.type = LISP_TYPE_MAP_REGISTER;
	reg.proxy_reply = proxy;
	reg.want_map_notify = notify;
	reg.nonce = nonce;
	reg.key_id = key_id;
	reg.alg_id = alg;
	reg.auth_len = (uint16_t)lisp_auth_len(alg);
	reg.n_records = 1;
	memset(r, 0, sizeof(*r));
	r->ttl = 1440;
	r->authoritative = true;
	eid_of(i, &r->eid);
	r->n_locators = 2;
	r->loc[0].addr.family = 4;
	r->loc[0].addr.bytes[0] = 192;
	r->loc[0].addr.bytes[2] = 2;
	r->loc[0].addr.bytes[3] = (uint8_t)(i % 200 + 1);
	r->loc[0].priority = 1;
	r->loc[0].weight = 100;
	r->loc[0].flags = LISP_LOC_R | LISP_LOC_L;
	r->loc[1].addr.family = 6;
	r->loc[1].addr.bytes[0] = 0xfd;
	r->loc[1].addr.bytes[2] = 0x02;
	r->loc[1].addr.bytes[3] = 0x26;
	r->loc[1].addr.bytes[15] = (uint8_t)(i % 200 + 1);
	r->loc[1].priority = 2;
	r->loc[1].weight = 50;
	r->loc[1].flags = LISP_LOC_R;
	n = lisp_encode_map_register(m->buf + m->used, m->cap - m->used, &reg);
	if (n < 0 || lisp_auth_sign(m->buf + m->used, (size_t)n, LISP_REG_AUTH_OFF, reg.auth_len,
				    alg, key, strlen(key)) != 0) {
		fail("build a Map-Register", n, 0);
		return;
	}
	m->off[m->n] = (uint32_t)m->used;
	m->len[m->n++] = (uint16_t)n;
	m->used += (size_t)n;
}

/* An ECM'd Map-Request for address `a` (an ITR at 192.0.2.250 asking). */
static void
build_request(struct msgs *m, const uint8_t a[4], uint64_t nonce)
{
	struct lisp_map_request q;
	struct lisp_ecm e;
	uint8_t inner[256];
	int n;

	memset(&q, 0, sizeof(q));
	q.nonce = nonce;
	q.n_itr_rlocs = 1;
	q.itr_rloc[0].family = 4;
	q.itr_rloc[0].bytes[0] = 192;
	q.itr_rloc[0].bytes[2] = 2;
	q.itr_rloc[0].bytes[3] = 250;
	q.n_records = 1;
	q.eid[0].addr.family = 4;
	memcpy(q.eid[0].addr.bytes, a, 4);
	q.eid[0].len = 32;
	n = lisp_encode_map_request(inner, sizeof(inner), &q);
	memset(&e, 0, sizeof(e));
	e.src = q.itr_rloc[0];
	e.dst = q.eid[0].addr;
	e.sport = 61000;
	e.dport = LISP_PORT;
	e.ttl = 64;
	e.msg = inner;
	e.msg_len = (size_t)n;
	n = n < 0 ? n : lisp_encode_ecm(m->buf + m->used, m->cap - m->used, &e);
	if (n < 0) {
		fail("build a Map-Request", n, 0);
		return;
	}
	m->off[m->n] = (uint32_t)m->used;
	m->len[m->n++] = (uint16_t)n;
	m->used += (size_t)n;
}

static struct lisp_out out;

/*
 * Feed messages [0, n) to ms in ROUNDS chunks, timing each; every answer must
 * be accepted and of type want (0: no answer expected).
 */
static void
run_input(struct lisp_ms *ms, const struct msgs *m, unsigned int n, int want, double *rate,
	  const char *what)
{
	struct lisp_pkt_info pkt;
	unsigned int r, i, lo, hi, bad = 0, wrong = 0;
	double t0;
	int rc;

	for (r = 0; r < ROUNDS; r++) {
		lo = n * r / ROUNDS;
		hi = n * (r + 1) / ROUNDS;
		t0 = now_s();
		for (i = lo; i < hi; i++) {
			pkt_of(i, &pkt);
			rc = lisp_ms_input(ms, &pkt, m->buf + m->off[i % m->n], m->len[i % m->n],
					   NOW, &out);
			bad += rc != LISP_MS_OK;
			wrong += want == 0 ? out.len != 0 : lisp_msg_type(out.buf, out.len) != want;
		}
		rate[r] = (hi - lo) / (now_s() - t0);
	}
	if (bad != 0)
		fail(what, (long)bad, 0);
	if (wrong != 0)
		fail(what, (long)wrong, 0);
}

static struct lisp_ms *
ms_new(void)
{
	struct lisp_ms_params p = { .max_registrations = 0, .nonce_seed = 42 };
	struct lisp_ms *ms = lisp_ms_create(&cfg, &p);

	if (ms == NULL) {
		fprintf(stderr, "lisp-bench: lisp_ms_create: %s\n", strerror(errno));
		exit(1);
	}
	return ms;
}

/* Registrations 0..n_regs-1 (even ones with proxy reply), untimed. */
static void
populate(struct lisp_ms *ms)
{
	struct lisp_pkt_info pkt;
	struct msgs m;
	unsigned int i;

	msgs_init(&m, n_regs, 128);
	for (i = 0; i < n_regs; i++)
		build_register(&m, i, (1ull << 62) + i, 1, false, i % 2 == 0);
	for (i = 0; i < n_regs; i++) {
		pkt_of(i, &pkt);
		if (lisp_ms_input(ms, &pkt, m.buf + m.off[i], m.len[i], NOW, &out) != LISP_MS_OK)
			fail("populate", (long)i, -1);
	}
	if (lisp_ms_count(ms) != n_regs)
		fail("registrations after populate", (long)lisp_ms_count(ms), (long)n_regs);
	msgs_free(&m);
}

static void
bench_registers(struct lisp_ms *ms)
{
	double rate[ROUNDS], t0;
	struct msgs m;
	unsigned int i, ok;
	uint8_t key_id;
	bool notify;
	int v;

	for (v = 0; v < 3; v++) {
		key_id = v == 2 ? 2 : 1;
		notify = v != 1;
		msgs_init(&m, n_msgs, 128);
		/* Each a refresh of registration i % n_regs, with a nonce never used. */
		for (i = 0; i < n_msgs; i++)
			build_register(&m, i % n_regs, ((uint64_t)(v + 1) << 56) + i + 1, key_id,
				       notify, (i % n_regs) % 2 == 0);
		run_input(ms, &m, m.n, notify ? LISP_TYPE_MAP_NOTIFY : 0, rate, "map-register");
		report(v == 0   ? "map_register_sha256_notify"
		       : v == 1 ? "map_register_sha256"
				: "map_register_sha1_notify",
		       v == 0 ? "Map-Register, SHA-256, M set: decode, verify, refresh, Map-Notify "
				"signed"
		       : v == 1 ? "Map-Register, SHA-256, M clear: decode, verify, refresh"
				: "Map-Register, SHA-1, M set",
		       rate, ROUNDS, v == 0 ? TARGET_RATE : 0);
		if (v == 0) {
			/* The floor: the one HMAC verify alone (a notify signs a second). */
			for (i = 0; i < ROUNDS; i++) {
				t0 = now_s();
				ok = 0;
				for (unsigned int k = 0; k < m.n / ROUNDS; k++)
					ok += lisp_auth_verify(
						m.buf + m.off[k], m.len[k], LISP_REG_AUTH_OFF, 16,
						LISP_ALG_HMAC_SHA256_128, key256, strlen(key256));
				rate[i] = (m.n / ROUNDS) / (now_s() - t0);
				if (ok != m.n / ROUNDS)
					fail("HMAC verify", (long)ok, (long)(m.n / ROUNDS));
			}
			report("  floor: hmac_sha256_verify",
			       "lisp_auth_verify alone (OpenSSL "
			       "EVP_MAC), same messages",
			       rate, ROUNDS, 0);
			for (i = 0; i < ROUNDS; i++) {
				t0 = now_s();
				ok = 0;
				for (unsigned int k = 0; k < m.n / ROUNDS; k++)
					ok += lisp_decode_map_register(m.buf + m.off[k], m.len[k],
								       &reg) == LISP_WIRE_OK;
				rate[i] = (m.n / ROUNDS) / (now_s() - t0);
			}
			report("  floor: decode_only", "lisp_decode_map_register alone", rate,
			       ROUNDS, 0);
		}
		msgs_free(&m);
	}
}

static void
bench_requests(struct lisp_ms *ms)
{
	static const char *const names[] = { "map_request_proxy_reply", "map_request_forward",
					     "map_request_negative" };
	static const char *const whats[] = {
		"ECM Map-Request for a registered EID, proxy: Map-Reply encoded",
		"ECM Map-Request for a registered EID: re-encapsulated to the ETR",
		"ECM Map-Request for an unregistered EID: negative Map-Reply",
	};
	static const int want[] = { LISP_TYPE_MAP_REPLY, LISP_TYPE_ECM, LISP_TYPE_MAP_REPLY };
	struct lisp_map_request q;
	struct lisp_prefix p;
	double rate[ROUNDS], t0;
	unsigned int i, k, n = n_regs / 2;
	struct lisp_ecm e;
	struct msgs m;
	uint8_t a[4];
	int v;

	for (v = 0; v < 3; v++) {
		msgs_init(&m, n, 128);
		for (i = 0; i < n; i++) {
			eid_of(v == 1 ? 2 * i + 1 : 2 * i, &p);
			memcpy(a, p.addr.bytes, 4);
			a[3] |= 1;
			if (v == 2)
				a[1] = 227; /* outside every site */
			build_request(&m, a, i + 1);
		}
		run_input(ms, &m, n_msgs, want[v], rate, names[v]);
		report(names[v], whats[v], rate, ROUNDS, v == 0 ? TARGET_RATE : 0);
		if (v == 0) {
			for (i = 0; i < ROUNDS; i++) {
				t0 = now_s();
				for (k = 0; k < n_msgs / ROUNDS; k++) {
					lisp_decode_ecm(m.buf + m.off[k % n], m.len[k % n], &e);
					lisp_decode_map_request(e.msg, e.msg_len, &q);
				}
				rate[i] = (n_msgs / ROUNDS) / (now_s() - t0);
			}
			report("  floor: decode_only", "lisp_decode_ecm + lisp_decode_map_request",
			       rate, ROUNDS, 0);
		}
		msgs_free(&m);
	}
}

static unsigned int notifies;

static void
count_send(void *arg, const struct lisp_out *o)
{
	(void)arg;
	notifies += o->len != 0 && lisp_msg_type(o->buf, o->len) == LISP_TYPE_MAP_NOTIFY;
}

static void
bench_state(struct lisp_ms *ms)
{
	char path[] = "/tmp/lisp-bench-XXXXXX";
	char file[64], line[96];
	struct lisp_ms *ms2;
	size_t cap = lisp_state_size(ms);
	uint8_t *buf = malloc(cap);
	double t0, t_enc, t_write, t_load, t_notify;
	int len, rc, fd;

	fd = mkstemp(path);
	if (fd < 0 || buf == NULL) {
		fail("temporary state file", fd, 0);
		free(buf);
		return;
	}
	close(fd);
	unlink(path);
	snprintf(file, sizeof(file), "%s", path);

	t0 = now_s();
	len = lisp_state_encode(ms, NOW, buf, cap);
	t_enc = now_s() - t0;
	t0 = now_s();
	rc = lisp_state_write(file, buf, (size_t)(len > 0 ? len : 0));
	t_write = now_s() - t0;
	if (len < 0 || rc != 0)
		fail("state encode and write", rc, 0);
	ms2 = ms_new();
	t0 = now_s();
	rc = lisp_state_load(ms2, file, NOW + 1);
	t_load = now_s() - t0;
	if (rc != (int)n_regs)
		fail("registrations loaded", rc, (long)n_regs);
	t0 = now_s();
	lisp_ms_notify_restored(ms2, NOW + 1, count_send, NULL);
	t_notify = now_s() - t0;
	if (notifies == 0)
		fail("restore Map-Notifies", 0, 1);

	snprintf(line, sizeof(line), "%u registrations, %d bytes (%.0f bytes each)", n_regs, len,
		 (double)len / n_regs);
	report_value("state_encode", "ms", t_enc * 1e3, "ms", line);
	report_value("state_write_fsync", "ms", t_write * 1e3, "ms",
		     "write .tmp, fsync, rename, fsync dir (the writer thread's part)");
	report_value("state_load", "ms", t_load * 1e3, "ms",
		     "read, verify checksum, decode and install every registration");
	snprintf(line, sizeof(line), "%u authenticated Map-Notifies built and signed", notifies);
	report_value("restore_notifies", "ms", t_notify * 1e3, "ms", line);
	unlink(file);
	lisp_ms_free(ms2);
	free(buf);
}

static void
usage(void)
{
	fprintf(stderr, "usage: lisp-bench [--quick] [--regs N] [--messages N] [--csv]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct lisp_ms *ms;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			n_msgs = 27000;
		} else if (strcmp(argv[i], "--csv") == 0) {
			csv = true;
		} else if (strcmp(argv[i], "--regs") == 0 && i + 1 < argc) {
			n_regs = (unsigned int)strtoul(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc) {
			n_msgs = (unsigned int)strtoul(argv[++i], NULL, 0);
		} else {
			usage();
		}
	}
	if (n_regs < 2 || n_regs > 16384 || n_msgs < ROUNDS)
		usage();
	config_init();
	ms = ms_new();
	populate(ms);
	if (!csv)
		printf("lisp-bench: %u registrations in the table, %u messages per figure, "
		       "one core, median of %d rounds\n",
		       n_regs, n_msgs, ROUNDS);
	bench_registers(ms);
	bench_requests(ms);
	bench_state(ms);
	if (!csv)
		printf("without fast recovery a restarted map-server answers negatively until "
		       "each ETR's next Map-Register: up to 60 s (RFC 9301 8.2)\n");
	lisp_ms_free(ms);
	return failed;
}
