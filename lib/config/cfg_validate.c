/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one validator: walks the tree that either front end built, fills
 * struct cfg and reports every problem as "path: message". It never stops at
 * the first error (an operator fixes a file in one pass, as with relayd), a
 * missing optional key takes its documented default, and a present key with a
 * bad value is always an error, never quietly replaced by the default.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/cfg.h"
#include "config/cfg_internal.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Room for the deepest path we build (lisp.sites[N].eid_prefixes[N].accept_...). */
#define PATH_BUF 256

#define DEFAULT_INSTANCE_ID 1
#define DEFAULT_FLOW_TABLE_SIZE 1048576
#define DEFAULT_MBUFS 16384
#define DEFAULT_TCP_SYN_S 10
#define DEFAULT_TCP_ESTABLISHED_S 300
#define DEFAULT_TCP_CLOSING_S 10
#define DEFAULT_UDP_S 30
#define DEFAULT_TABLE_SIZE 65537
/* The port of the Linux fou examples ("ip fou add port 5555 gue"). */
#define DEFAULT_GUE_PORT 5555
#define DEFAULT_AFFINITY_TIMEOUT_S 300
#define DEFAULT_HEALTH_INTERVAL_MS 1000
#define DEFAULT_HEALTH_RISE 2
#define DEFAULT_HEALTH_FALL 3
#define DEFAULT_HEALTH_TIMEOUT_MS 1000
#define DEFAULT_SYNC_PORT 7440
#define DEFAULT_HA_PRIORITY 100
#define DEFAULT_HA_HEARTBEAT_MS 20
#define DEFAULT_HA_DEAD_COUNT 3
#define DEFAULT_HA_PREEMPT_DELAY_MS 1000
#define DEFAULT_HA_SYNC_PORT 7441
#define DEFAULT_PTP_PRIORITY 128
#define DEFAULT_LOG_ANNOUNCE_INTERVAL 1
#define DEFAULT_SERVO_KP 0.7
#define DEFAULT_SERVO_KI 0.3
#define DEFAULT_FIRST_STEP_NS 20000
#define DEFAULT_LISP_STATE_FILE "/var/lib/equinox/lisp-ms.state"
#define DEFAULT_LISP_TTL_S 180
#define SECRET_HEX_DIGITS 64
#define MPLS_LABELS_MAX 4

/* What a getter found: the key's value, nothing (default applied), or an error. */
enum {
	BAD = -1,
	ABSENT = 0,
	GOT = 1,
};

struct vctx {
	struct cfg_errors *errs;
	char path[PATH_BUF];
	size_t plen;
};

/* Path building: push returns the old length, pop restores it. */

static void
path_append(struct vctx *v, const char *s)
{
	unsigned char ch;

	for (; *s != '\0' && v->plen + 1 < sizeof(v->path); s++) {
		ch = (unsigned char)*s;
		/* A key comes from the file: keep control bytes out of messages. */
		v->path[v->plen++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	v->path[v->plen] = '\0';
}

static size_t
push_key(struct vctx *v, const char *key)
{
	size_t old = v->plen;

	if (v->plen > 0)
		path_append(v, ".");
	path_append(v, key);
	return old;
}

static size_t
push_index(struct vctx *v, size_t i)
{
	size_t old = v->plen;
	char buf[24];

	snprintf(buf, sizeof(buf), "[%zu]", i);
	path_append(v, buf);
	return old;
}

static void
pop(struct vctx *v, size_t old)
{
	v->plen = old;
	v->path[old] = '\0';
}

static void __attribute__((format(printf, 2, 0)))
verr_ap(struct vctx *v, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	cfg_err(v->errs, "%s: %s", v->plen > 0 ? v->path : "(root)", msg);
}

/* An error at the current path. */
static void __attribute__((format(printf, 2, 3))) verr(struct vctx *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_ap(v, fmt, ap);
	va_end(ap);
}

/* An error at current path + "." + key. */
static void __attribute__((format(printf, 3, 4)))
kerr(struct vctx *v, const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t old;

	old = push_key(v, key);
	va_start(ap, fmt);
	verr_ap(v, fmt, ap);
	va_end(ap);
	pop(v, old);
}

static const char *
type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

/*
 * A value from the file, fit for a message: at most 48 bytes (then "..."),
 * control bytes shown as '?'.
 */
#define SHOWN_MAX 52

static const char *
shown(const char *s, char *buf)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < SHOWN_MAX - 4; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* Edit distance, for "did you mean"; keys are short, so the O(n*m) table is small. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, cur, diag;
	size_t row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			prev = row[j];
			cur = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < cur)
				cur = row[j] + 1;
			if (row[j - 1] + 1 < cur)
				cur = row[j - 1] + 1;
			row[j] = cur;
			diag = prev;
		}
	}
	return row[lb];
}

/* Every key of o must be in the NULL-terminated list. */
static void
check_keys(struct vctx *v, json_t *o, const char *const *keys)
{
	const char *key, *best;
	size_t d, best_d;
	json_t *val;
	unsigned int i;
	bool known;

	if (o == NULL)
		return;
	json_object_foreach (o, key, val) {
		known = false;
		best = NULL;
		best_d = 3;
		for (i = 0; keys[i] != NULL; i++) {
			if (strcmp(key, keys[i]) == 0) {
				known = true;
				break;
			}
			d = edit_distance(key, keys[i]);
			if (d < best_d) {
				best_d = d;
				best = keys[i];
			}
		}
		if (known)
			continue;
		if (best != NULL)
			kerr(v, key, "unknown key (did you mean \"%s\"?)", best);
		else
			kerr(v, key, "unknown key");
	}
}

/* Value getters. o may be NULL (its parent was absent): every key is then absent. */

static json_t *
lookup(json_t *o, const char *key)
{
	return o == NULL ? NULL : json_object_get(o, key);
}

static int
absent(struct vctx *v, const char *key, bool req)
{
	if (!req)
		return ABSENT;
	kerr(v, key, "missing required key");
	return BAD;
}

/*
 * The object at key. *out is NULL when it is absent or not an object; in the
 * second case the caller skips it, so a typo in its type does not also show as
 * every required key inside it missing.
 */
static int
get_object(struct vctx *v, json_t *o, const char *key, json_t **out)
{
	json_t *j = lookup(o, key);

	*out = NULL;
	if (j == NULL)
		return ABSENT;
	if (!json_is_object(j)) {
		kerr(v, key, "expected an object, got %s", type_name(j));
		return BAD;
	}
	*out = j;
	return GOT;
}

/* The array at key; the number of entries to walk (capped at max) or BAD/ABSENT. */
static int
get_array(struct vctx *v, json_t *o, const char *key, bool req, size_t max, json_t **out)
{
	json_t *j = lookup(o, key);
	size_t n;

	*out = NULL;
	if (j == NULL)
		return absent(v, key, req);
	if (!json_is_array(j)) {
		kerr(v, key, "expected an array, got %s", type_name(j));
		return BAD;
	}
	*out = j;
	n = json_array_size(j);
	if (n > max) {
		kerr(v, key, "too many entries (%zu, at most %zu)", n, max);
		n = max;
	}
	return (int)n;
}

static int
get_int(struct vctx *v, json_t *o, const char *key, bool req, int64_t min, int64_t max, int64_t def,
	int64_t *out)
{
	json_t *j = lookup(o, key);
	int64_t x;

	*out = def;
	if (j == NULL)
		return absent(v, key, req);
	if (!json_is_integer(j)) {
		kerr(v, key, "expected an integer, got %s", type_name(j));
		return BAD;
	}
	x = json_integer_value(j);
	if (x < min || x > max) {
		kerr(v, key, "%" PRId64 " is out of range %" PRId64 "..%" PRId64, x, min, max);
		return BAD;
	}
	*out = x;
	return GOT;
}

/* Reals also take integers: "kp = 1" is as good as "kp = 1.0". */
static int
get_real(struct vctx *v, json_t *o, const char *key, double min, bool min_open, double def,
	 double *out)
{
	json_t *j = lookup(o, key);
	double x;

	*out = def;
	if (j == NULL)
		return ABSENT;
	if (!json_is_number(j)) {
		kerr(v, key, "expected a number, got %s", type_name(j));
		return BAD;
	}
	x = json_number_value(j);
	if (!isfinite(x) || x < min || (min_open && x == min)) {
		kerr(v, key, "%g must be %s %g", x, min_open ? "greater than" : "at least", min);
		return BAD;
	}
	*out = x;
	return GOT;
}

static int
get_bool(struct vctx *v, json_t *o, const char *key, bool def, bool *out)
{
	json_t *j = lookup(o, key);

	*out = def;
	if (j == NULL)
		return ABSENT;
	if (!json_is_boolean(j)) {
		kerr(v, key, "expected a boolean (true or false), got %s", type_name(j));
		return BAD;
	}
	*out = json_is_true(j);
	return GOT;
}

static int
get_str(struct vctx *v, json_t *o, const char *key, bool req, const char **out)
{
	json_t *j = lookup(o, key);

	*out = NULL;
	if (j == NULL)
		return absent(v, key, req);
	if (!json_is_string(j) || json_string_value(j) == NULL) {
		kerr(v, key, "expected a string, got %s", type_name(j));
		return BAD;
	}
	*out = json_string_value(j);
	return GOT;
}

/* A string copied into a fixed buffer; buf keeps def (or "") unless a good value is found. */
static int
get_strbuf(struct vctx *v, json_t *o, const char *key, bool req, bool nonempty, char *buf,
	   size_t size, const char *def)
{
	const char *s;
	size_t n;
	int rc;

	snprintf(buf, size, "%s", def != NULL ? def : "");
	rc = get_str(v, o, key, req, &s);
	if (rc != GOT || s == NULL)
		return rc;
	n = strlen(s);
	if (nonempty && n == 0) {
		kerr(v, key, "must not be empty");
		return BAD;
	}
	if (n >= size) {
		kerr(v, key, "too long (%zu bytes, at most %zu)", n, size - 1);
		return BAD;
	}
	memcpy(buf, s, n + 1);
	return GOT;
}

static bool
valid_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= CFG_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	}
	return true;
}

/* A name: [A-Za-z0-9_-]{1,31}. buf is left empty unless the name is good. */
static int
get_name(struct vctx *v, json_t *o, const char *key, bool req, char *buf)
{
	char sb[SHOWN_MAX];
	const char *s;
	int rc;

	buf[0] = '\0';
	rc = get_str(v, o, key, req, &s);
	if (rc != GOT || s == NULL)
		return rc;
	if (!valid_name(s)) {
		kerr(v, key, "invalid name \"%s\" (1 to %d characters of A-Z a-z 0-9 _ -)",
		     shown(s, sb), CFG_NAME_MAX - 1);
		return BAD;
	}
	memcpy(buf, s, strlen(s) + 1);
	return GOT;
}

static int
get_enum(struct vctx *v, json_t *o, const char *key, const char *const *names, size_t n, int def,
	 int *out)
{
	char sb[SHOWN_MAX];
	char list[256];
	const char *s;
	size_t i, len = 0;
	int rc;

	*out = def;
	rc = get_str(v, o, key, false, &s);
	if (rc != GOT || s == NULL)
		return rc;
	for (i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return GOT;
		}
	}
	list[0] = '\0';
	for (i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i > 0 ? ", " : "",
					names[i]);
	kerr(v, key, "unknown value \"%s\" (one of: %s)", shown(s, sb), list);
	return BAD;
}

#define GET_ENUM(v, o, key, names, def, out) get_enum(v, o, key, names, NELEMS(names), def, out)

/* out->family stays 0 unless a good address is found: callers use that as "unset". */
static int
get_addr(struct vctx *v, json_t *o, const char *key, bool req, struct cfg_addr *out)
{
	char sb[SHOWN_MAX];
	const char *s;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = get_str(v, o, key, req, &s);
	if (rc != GOT || s == NULL)
		return rc;
	if (cfg_addr_parse(s, out) != 0) {
		kerr(v, key, "not an IP address: \"%s\"", shown(s, sb));
		return BAD;
	}
	return GOT;
}

static bool
host_bits_zero(const struct cfg_prefix *p)
{
	struct cfg_addr a;
	unsigned int i, nbytes = p->addr.family == 4 ? 4 : 16;

	memset(&a, 0, sizeof(a));
	a.family = p->addr.family;
	for (i = 0; i < nbytes; i++) {
		if (i * 8 + 8 <= p->len)
			a.bytes[i] = 0xff;
		else if (i * 8 < p->len)
			a.bytes[i] = (uint8_t)(0xff << (8 - (p->len - i * 8)));
	}
	for (i = 0; i < nbytes; i++) {
		if ((p->addr.bytes[i] & ~a.bytes[i]) != 0)
			return false;
	}
	return true;
}

/*
 * "addr/len". A port address is written with its host bits ("10.0.0.10/24"),
 * a route or an EID prefix is a network, and host bits there are a mistake.
 */
static int
get_prefix(struct vctx *v, json_t *o, const char *key, bool req, bool network,
	   struct cfg_prefix *out)
{
	char sb[SHOWN_MAX];
	const char *s;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = get_str(v, o, key, req, &s);
	if (rc != GOT || s == NULL)
		return rc;
	if (cfg_prefix_parse(s, out) != 0) {
		kerr(v, key, "not an address/length prefix: \"%s\"", shown(s, sb));
		memset(out, 0, sizeof(*out));
		return BAD;
	}
	if (network && !host_bits_zero(out)) {
		kerr(v, key, "\"%s\" has host bits set past the prefix length", shown(s, sb));
		memset(out, 0, sizeof(*out));
		return BAD;
	}
	return GOT;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A 32-byte shared secret as 64 hex digits. Never echo it in a message. */
static int
get_hexkey(struct vctx *v, json_t *o, const char *key, uint8_t *buf, unsigned int *len)
{
	const char *s;
	size_t n, i;
	int rc, hi, lo;

	*len = 0;
	rc = get_str(v, o, key, false, &s);
	if (rc != GOT || s == NULL)
		return rc;
	n = strlen(s);
	if (n != SECRET_HEX_DIGITS) {
		kerr(v, key, "expected %d hex digits (a %d-byte key), got %zu characters",
		     SECRET_HEX_DIGITS, SECRET_HEX_DIGITS / 2, n);
		return BAD;
	}
	for (i = 0; i < n; i += 2) {
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0) {
			kerr(v, key, "not a hex digit at position %zu", hi < 0 ? i + 1 : i + 2);
			explicit_bzero(buf, CFG_KEY_MAX);
			return BAD;
		}
		buf[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*len = SECRET_HEX_DIGITS / 2;
	return GOT;
}

static int
get_mac(struct vctx *v, json_t *o, const char *key, uint8_t *mac)
{
	char sb[SHOWN_MAX];
	const char *s;
	unsigned int i;
	int rc, hi, lo;

	memset(mac, 0, 6);
	rc = get_str(v, o, key, true, &s);
	if (rc != GOT || s == NULL)
		return rc;
	if (strlen(s) != 17)
		goto bad;
	for (i = 0; i < 6; i++) {
		hi = hexval(s[i * 3]);
		lo = hexval(s[i * 3 + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			goto bad;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return GOT;
bad:
	kerr(v, key, "not a MAC address (aa:bb:cc:dd:ee:ff): \"%s\"", shown(s, sb));
	memset(mac, 0, 6);
	return BAD;
}

static bool
is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; d <= n / d; d += 2) {
		if (n % d == 0)
			return false;
	}
	return true;
}

static void *
alloc_array(struct vctx *v, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	p = calloc(n, size);
	if (p == NULL)
		verr(v, "out of memory");
	return p;
}

/*
 * Walk the first n entries of an array with the path at "[i]": body runs with
 * e set to each entry that is an object; any other entry is an error.
 */
#define FOREACH_OBJECT(v, arr, n, i, e, body)                                        \
	do {                                                                         \
		for ((i) = 0; (i) < (size_t)(n); (i)++) {                            \
			size_t old_ = push_index(v, i);                              \
			(e) = json_array_get(arr, i);                                \
			if (!json_is_object(e))                                      \
				verr(v, "expected an object, got %s", type_name(e)); \
			else                                                         \
				body;                                                \
			pop(v, old_);                                                \
		}                                                                    \
	} while (0)

/*
 * An optional array of objects at key: list gets its n elements and count n, and
 * body runs for each object (i, e set) with the error path at key[i].
 */
#define PARSE_OBJECTS(v, o, key, max, list, count, i, e, body)                  \
	do {                                                                    \
		json_t *arr_;                                                   \
		int n_ = get_array(v, o, key, false, max, &arr_);               \
		if (n_ > 0) {                                                   \
			(list) = alloc_array(v, (size_t)n_, sizeof((list)[0])); \
			if ((list) != NULL) {                                   \
				size_t key_old_ = push_key(v, key);             \
				(count) = (unsigned int)n_;                     \
				FOREACH_OBJECT(v, arr_, n_, i, e, body);        \
				pop(v, key_old_);                               \
			}                                                       \
		}                                                               \
	} while (0)

/* instance */

static void
parse_instance(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "name", "id", NULL };
	int64_t x;

	check_keys(v, o, keys);
	get_name(v, o, "name", true, c->instance.name);
	get_int(v, o, "id", false, 1, 65535, DEFAULT_INSTANCE_ID, &x);
	c->instance.id = (uint32_t)x;
}

/* eal */

static void
parse_eal(struct vctx *v, json_t *root, struct cfg *c)
{
	json_t *arr, *e;
	size_t old, i;
	int n;

	n = get_array(v, root, "eal", false, CFG_MAX_EAL_ARGS, &arr);
	if (arr == NULL)
		return;
	c->eal = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(c->eal[0]));
	if (c->eal == NULL) {
		kerr(v, "eal", "out of memory");
		return;
	}
	old = push_key(v, "eal");
	for (i = 0; i < (size_t)n; i++) {
		e = json_array_get(arr, i);
		if (!json_is_string(e)) {
			size_t o2 = push_index(v, i);

			verr(v, "expected a string, got %s", type_name(e));
			pop(v, o2);
			continue;
		}
		c->eal[c->n_eal] = strdup(json_string_value(e));
		if (c->eal[c->n_eal] == NULL) {
			verr(v, "out of memory");
			break;
		}
		c->n_eal++;
	}
	pop(v, old);
}

/* The EAL arguments when the file gives none: the main lcore plus one per worker. */
static void
default_eal(struct vctx *v, struct cfg *c)
{
	char lcores[16];
	const char *args[4];
	unsigned int i;

	snprintf(lcores, sizeof(lcores), "0-%u", c->dataplane.workers);
	args[0] = "-l";
	args[1] = lcores;
	args[2] = "--file-prefix";
	args[3] = c->instance.name;
	c->eal = calloc(NELEMS(args) + 1, sizeof(c->eal[0]));
	if (c->eal == NULL) {
		kerr(v, "eal", "out of memory");
		return;
	}
	for (i = 0; i < NELEMS(args); i++) {
		c->eal[i] = strdup(args[i]);
		if (c->eal[i] == NULL) {
			kerr(v, "eal", "out of memory");
			return;
		}
		c->n_eal++;
	}
}

/* dataplane */

static void
parse_timeouts(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "tcp_syn_s", "tcp_established_s", "tcp_closing_s",
					    "udp_s", NULL };
	int64_t x;

	check_keys(v, o, keys);
	get_int(v, o, "tcp_syn_s", false, 1, 3600, DEFAULT_TCP_SYN_S, &x);
	c->dataplane.timeouts.tcp_syn_s = (uint32_t)x;
	get_int(v, o, "tcp_established_s", false, 1, 86400, DEFAULT_TCP_ESTABLISHED_S, &x);
	c->dataplane.timeouts.tcp_established_s = (uint32_t)x;
	get_int(v, o, "tcp_closing_s", false, 1, 3600, DEFAULT_TCP_CLOSING_S, &x);
	c->dataplane.timeouts.tcp_closing_s = (uint32_t)x;
	get_int(v, o, "udp_s", false, 1, 86400, DEFAULT_UDP_S, &x);
	c->dataplane.timeouts.udp_s = (uint32_t)x;
}

static void
parse_dataplane(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "workers", "idle",     "flow_table_size",
					    "mbufs",   "timeouts", NULL };
	json_t *sub;
	int64_t x;
	size_t old;
	int e;

	check_keys(v, o, keys);
	get_int(v, o, "workers", false, 1, CFG_MAX_WORKERS, 1, &x);
	c->dataplane.workers = (unsigned int)x;
	GET_ENUM(v, o, "idle", idle_names, CFG_IDLE_ADAPTIVE, &e);
	c->dataplane.idle = (enum cfg_idle)e;
	get_int(v, o, "flow_table_size", false, 1024, 67108864, DEFAULT_FLOW_TABLE_SIZE, &x);
	c->dataplane.flow_table_size = (uint32_t)x;
	get_int(v, o, "mbufs", false, 1024, 16777216, DEFAULT_MBUFS, &x);
	c->dataplane.mbufs = (uint32_t)x;
	c->dataplane.timeouts.tcp_syn_s = DEFAULT_TCP_SYN_S;
	c->dataplane.timeouts.tcp_established_s = DEFAULT_TCP_ESTABLISHED_S;
	c->dataplane.timeouts.tcp_closing_s = DEFAULT_TCP_CLOSING_S;
	c->dataplane.timeouts.udp_s = DEFAULT_UDP_S;
	if (get_object(v, o, "timeouts", &sub) != BAD) {
		old = push_key(v, "timeouts");
		parse_timeouts(v, sub, c);
		pop(v, old);
	}
}

/* ports */

/* Is a the address of an earlier entry: ports before this one, or this port's own? */
static bool
find_port_addr(const struct cfg *c, unsigned int port, unsigned int idx, const struct cfg_addr *a,
	       unsigned int *pj, unsigned int *pk)
{
	unsigned int j, k, n;

	for (j = 0; j <= port; j++) {
		n = j == port ? idx : c->ports[j].n_addresses;
		for (k = 0; k < n; k++) {
			if (c->ports[j].addresses[k].addr.family != 0 &&
			    cfg_addr_equal(&c->ports[j].addresses[k].addr, a)) {
				*pj = j;
				*pk = k;
				return true;
			}
		}
	}
	return false;
}

static void
parse_port_addresses(struct vctx *v, json_t *o, struct cfg *c, unsigned int pi)
{
	char sb[SHOWN_MAX];
	struct cfg_port *p = &c->ports[pi];
	struct cfg_prefix *a;
	char abuf[INET6_ADDRSTRLEN];
	unsigned int j, k;
	json_t *arr, *e;
	size_t i, old, o2;
	int n;

	n = get_array(v, o, "addresses", false, CFG_MAX_ADDRS, &arr);
	if (n == BAD)
		return;
	if (arr == NULL) {
		kerr(v, "addresses", "missing required key (at least one address)");
		return;
	}
	if (n == 0) {
		kerr(v, "addresses", "at least one address is required");
		return;
	}
	old = push_key(v, "addresses");
	for (i = 0; i < (size_t)n; i++) {
		a = &p->addresses[i];
		o2 = push_index(v, i);
		e = json_array_get(arr, i);
		if (!json_is_string(e)) {
			verr(v, "expected a string, got %s", type_name(e));
		} else if (cfg_prefix_parse(json_string_value(e), a) != 0) {
			verr(v, "not an address/length prefix: \"%s\"",
			     shown(json_string_value(e), sb));
			memset(a, 0, sizeof(*a));
		} else if (find_port_addr(c, pi, (unsigned int)i, &a->addr, &j, &k)) {
			cfg_addr_str(&a->addr, abuf, sizeof(abuf));
			verr(v, "duplicate address %s (also ports[%u].addresses[%u])", abuf, j, k);
		}
		pop(v, o2);
	}
	p->n_addresses = (unsigned int)n;
	pop(v, old);
}

static void
parse_neighbour(struct vctx *v, json_t *o, struct cfg_port *p, size_t idx)
{
	static const char *const keys[] = { "address", "mac", NULL };
	struct cfg_neighbour *nb = &p->neighbours[idx];
	char abuf[INET6_ADDRSTRLEN];
	size_t j;

	check_keys(v, o, keys);
	if (get_addr(v, o, "address", true, &nb->addr) == GOT) {
		for (j = 0; j < idx; j++) {
			if (cfg_addr_equal(&p->neighbours[j].addr, &nb->addr)) {
				cfg_addr_str(&nb->addr, abuf, sizeof(abuf));
				kerr(v, "address", "duplicate neighbour %s (also neighbours[%zu])",
				     abuf, j);
				break;
			}
		}
	}
	get_mac(v, o, "mac", nb->mac);
}

static void
parse_route(struct vctx *v, json_t *o, struct cfg_port *p, struct cfg_route *r)
{
	static const char *const keys[] = { "prefix", "via", NULL };
	char abuf[INET6_ADDRSTRLEN];
	unsigned int k;
	bool inside = false;
	int rp, rv;

	check_keys(v, o, keys);
	rp = get_prefix(v, o, "prefix", true, true, &r->prefix);
	rv = get_addr(v, o, "via", true, &r->via);
	if (rv != GOT)
		return;
	cfg_addr_str(&r->via, abuf, sizeof(abuf));
	if (rp == GOT && r->prefix.addr.family != r->via.family) {
		kerr(v, "via", "%s is IPv%u but the prefix is IPv%u", abuf, r->via.family,
		     r->prefix.addr.family);
		return;
	}
	for (k = 0; k < p->n_addresses; k++) {
		if (cfg_prefix_contains(&p->addresses[k], &r->via))
			inside = true;
	}
	if (!inside)
		kerr(v, "via", "%s is not inside any address prefix of port \"%s\"", abuf, p->name);
}

static void
parse_port(struct vctx *v, json_t *o, struct cfg *c, unsigned int pi)
{
	static const char *const keys[] = { "name",       "device", "mtu", "addresses",
					    "neighbours", "routes", NULL };
	struct cfg_port *p = &c->ports[pi];
	json_t *e;
	unsigned int j;
	size_t i;

	check_keys(v, o, keys);
	if (get_name(v, o, "name", true, p->name) == GOT) {
		for (j = 0; j < pi; j++) {
			if (strcmp(c->ports[j].name, p->name) == 0) {
				kerr(v, "name", "duplicate name \"%s\" (also ports[%u])", p->name,
				     j);
				break;
			}
		}
	}
	get_strbuf(v, o, "device", true, true, p->device, sizeof(p->device), NULL);
	{
		int64_t mtu;

		/* 0 keeps the device's MTU; IPv4 needs 576 at least, 9600 covers jumbo frames. */
		if (get_int(v, o, "mtu", false, 0, 9600, 0, &mtu) == GOT && mtu != 0 && mtu < 576)
			kerr(v, "mtu", "%" PRId64 " is below 576 (0 keeps the device's MTU)", mtu);
		else
			p->mtu = (uint16_t)mtu;
	}
	parse_port_addresses(v, o, c, pi);

	PARSE_OBJECTS(v, o, "neighbours", SIZE_MAX, p->neighbours, p->n_neighbours, i, e,
		      parse_neighbour(v, e, p, i));

	PARSE_OBJECTS(v, o, "routes", SIZE_MAX, p->routes, p->n_routes, i, e,
		      parse_route(v, e, p, &p->routes[i]));
}

static void
parse_ports(struct vctx *v, json_t *root, struct cfg *c)
{
	json_t *arr, *e;
	size_t i, old;
	int n;

	n = get_array(v, root, "ports", true, CFG_MAX_PORTS, &arr);
	if (n == 0 && arr != NULL)
		kerr(v, "ports", "at least one port is required");
	if (n <= 0)
		return;
	c->ports = alloc_array(v, (size_t)n, sizeof(c->ports[0]));
	if (c->ports == NULL)
		return;
	c->n_ports = (unsigned int)n;
	old = push_key(v, "ports");
	FOREACH_OBJECT(v, arr, n, i, e, parse_port(v, e, c, (unsigned int)i));
	pop(v, old);
}

/* A reference to a configured port by name. */
static void
get_port_ref(struct vctx *v, json_t *o, const char *key, bool req, const struct cfg *c, char *buf)
{
	if (get_name(v, o, key, req, buf) != GOT)
		return;
	if (cfg_port_index(c, buf) < 0) {
		kerr(v, key, "no port named \"%s\" in ports", buf);
		buf[0] = '\0';
	}
}

/* vips */

/* Is a inside the prefix of some port address (on one of our links)? */
static bool
on_port_subnet(const struct cfg *c, const struct cfg_addr *a)
{
	unsigned int i, k;

	for (i = 0; i < c->n_ports; i++) {
		for (k = 0; k < c->ports[i].n_addresses; k++) {
			if (cfg_prefix_contains(&c->ports[i].addresses[k], a))
				return true;
		}
	}
	return false;
}

/* Is a one of the ports' own addresses? Where, in *pj and *pk. */
static bool
is_port_addr(const struct cfg *c, const struct cfg_addr *a, unsigned int *pj, unsigned int *pk)
{
	if (c->n_ports == 0)
		return false;
	return find_port_addr(c, c->n_ports - 1, c->ports[c->n_ports - 1].n_addresses, a, pj, pk);
}

/*
 * ipip and gue encapsulate, and the outer header takes the backend's family:
 * any mix of VIP and backend families works. l2dsr only rewrites the
 * destination MAC, so the backend must have the VIP's family and be on one of
 * our links.
 */
static void
parse_backend(struct vctx *v, json_t *o, const struct cfg *c, struct cfg_vip *vip, size_t idx)
{
	static const char *const keys[] = { "address", "weight", "state", NULL };
	struct cfg_backend *b = &vip->backends[idx];
	char abuf[INET6_ADDRSTRLEN];
	int64_t x;
	size_t j;
	int e;

	check_keys(v, o, keys);
	if (get_addr(v, o, "address", true, &b->addr) == GOT) {
		cfg_addr_str(&b->addr, abuf, sizeof(abuf));
		if (vip->forwarding == CFG_FWD_L2DSR && vip->addr.family != 0 &&
		    b->addr.family != vip->addr.family) {
			kerr(v, "address",
			     "%s is IPv%u but the VIP is IPv%u (l2dsr forwards "
			     "the client's packet unchanged)",
			     abuf, b->addr.family, vip->addr.family);
		} else if (vip->forwarding == CFG_FWD_L2DSR && !on_port_subnet(c, &b->addr)) {
			kerr(v, "address", "l2dsr needs a backend on a port's own subnet");
		} else {
			for (j = 0; j < idx; j++) {
				if (cfg_addr_equal(&vip->backends[j].addr, &b->addr)) {
					kerr(v, "address",
					     "duplicate backend %s "
					     "(also backends[%zu])",
					     abuf, j);
					break;
				}
			}
		}
	}
	get_int(v, o, "weight", false, 0, 1000, 1, &x);
	b->weight = (uint32_t)x;
	GET_ENUM(v, o, "state", backend_state_names, CFG_BACKEND_ACTIVE, &e);
	b->state = (enum cfg_backend_state)e;
}

static void
parse_affinity(struct vctx *v, json_t *o, struct cfg_vip *vip)
{
	static const char *const keys[] = { "mode", "timeout_s", NULL };
	int64_t x;
	int e;

	check_keys(v, o, keys);
	GET_ENUM(v, o, "mode", affinity_names, CFG_AFFINITY_NONE, &e);
	vip->affinity.mode = (enum cfg_affinity)e;
	get_int(v, o, "timeout_s", false, 1, 86400, DEFAULT_AFFINITY_TIMEOUT_S, &x);
	vip->affinity.timeout_s = (uint32_t)x;
}

/* l4_ok: the VIP's protocol and port were read, so the tcp check can rely on them. */
static void
parse_health(struct vctx *v, json_t *o, struct cfg_vip *vip, bool l4_ok)
{
	static const char *const keys[] = { "type", "interval_ms", "rise", "fall",
					    "port", "timeout_ms",  NULL };
	int64_t x;
	int e, irc, prc, trc;

	check_keys(v, o, keys);
	GET_ENUM(v, o, "type", health_names, CFG_HEALTH_NONE, &e);
	vip->health.type = (enum cfg_health)e;
	irc = get_int(v, o, "interval_ms", false, 10, 60000, DEFAULT_HEALTH_INTERVAL_MS, &x);
	vip->health.interval_ms = (uint32_t)x;
	get_int(v, o, "rise", false, 1, 100, DEFAULT_HEALTH_RISE, &x);
	vip->health.rise = (uint32_t)x;
	get_int(v, o, "fall", false, 1, 100, DEFAULT_HEALTH_FALL, &x);
	vip->health.fall = (uint32_t)x;
	prc = get_int(v, o, "port", false, 0, 65535, 0, &x);
	vip->health.port = (uint16_t)x;
	trc = get_int(v, o, "timeout_ms", false, 10, 60000, DEFAULT_HEALTH_TIMEOUT_MS, &x);
	vip->health.timeout_ms = (uint32_t)x;

	/* A probe ends before the next starts: an interval under the default timeout bounds it. */
	if (trc == ABSENT && irc == GOT && vip->health.interval_ms < vip->health.timeout_ms)
		vip->health.timeout_ms = vip->health.interval_ms;
	if (trc == GOT && irc == GOT && vip->health.timeout_ms > vip->health.interval_ms)
		kerr(v, "timeout_ms", "%u must be at most interval_ms (%u)", vip->health.timeout_ms,
		     vip->health.interval_ms);

	/* A TCP probe needs a TCP port: the VIP's own when it has one. */
	if (vip->health.type == CFG_HEALTH_TCP && prc != BAD && vip->health.port == 0 && l4_ok) {
		if (vip->proto == CFG_PROTO_UDP)
			kerr(v, "port",
			     "health type \"tcp\" on a UDP VIP needs an explicit "
			     "port to probe (the VIP's port is a UDP port)");
		else if (vip->port == 0)
			kerr(v, "port",
			     "health type \"tcp\" on a VIP with port 0 (every port) "
			     "needs a port to probe");
	}
}

/* Returns whether (address, protocol, port) were all read, for the uniqueness check. */
static bool
parse_vip(struct vctx *v, json_t *o, struct cfg *c, unsigned int vi)
{
	static const char *const keys[] = { "name",       "address",  "protocol",   "port",
					    "forwarding", "gue_port", "table_size", "affinity",
					    "health",     "backends", NULL };
	struct cfg_vip *vip = &c->vips[vi];
	char abuf[INET6_ADDRSTRLEN];
	json_t *sub, *e;
	bool key_ok = true, l4_ok = true;
	int64_t x;
	size_t i, old;
	unsigned int j, k;
	int n, rc, ts_rc;

	check_keys(v, o, keys);
	if (get_name(v, o, "name", true, vip->name) == GOT) {
		for (j = 0; j < vi; j++) {
			if (strcmp(c->vips[j].name, vip->name) == 0) {
				kerr(v, "name", "duplicate name \"%s\" (also vips[%u])", vip->name,
				     j);
				break;
			}
		}
	}
	if (get_addr(v, o, "address", true, &vip->addr) != GOT) {
		key_ok = false;
	} else if (is_port_addr(c, &vip->addr, &j, &k)) {
		cfg_addr_str(&vip->addr, abuf, sizeof(abuf));
		kerr(v, "address",
		     "%s is the address of ports[%u].addresses[%u]; a VIP must "
		     "not be a port address",
		     abuf, j, k);
	}
	rc = GET_ENUM(v, o, "protocol", proto_names, CFG_PROTO_TCP, &n);
	vip->proto = (enum cfg_proto)n;
	l4_ok = l4_ok && rc != BAD;
	rc = get_int(v, o, "port", false, 0, 65535, 0, &x);
	vip->port = (uint16_t)x;
	l4_ok = l4_ok && rc != BAD;
	key_ok = key_ok && l4_ok;

	GET_ENUM(v, o, "forwarding", forwarding_names, CFG_FWD_IPIP, &n);
	vip->forwarding = (enum cfg_forwarding)n;
	get_int(v, o, "gue_port", false, 1, 65535, DEFAULT_GUE_PORT, &x);
	vip->gue_port = (uint16_t)x;

	ts_rc = get_int(v, o, "table_size", false, 1021, 16777259, DEFAULT_TABLE_SIZE, &x);
	vip->table_size = (uint32_t)x;
	if (ts_rc == GOT && !is_prime(vip->table_size)) {
		kerr(v, "table_size", "%u is not prime (Maglev needs a prime table size)",
		     vip->table_size);
		ts_rc = BAD;
	}

	vip->affinity.mode = CFG_AFFINITY_NONE;
	vip->affinity.timeout_s = DEFAULT_AFFINITY_TIMEOUT_S;
	if (get_object(v, o, "affinity", &sub) != BAD) {
		old = push_key(v, "affinity");
		parse_affinity(v, sub, vip);
		pop(v, old);
	}
	vip->health.type = CFG_HEALTH_NONE;
	vip->health.interval_ms = DEFAULT_HEALTH_INTERVAL_MS;
	vip->health.rise = DEFAULT_HEALTH_RISE;
	vip->health.fall = DEFAULT_HEALTH_FALL;
	vip->health.port = 0;
	vip->health.timeout_ms = DEFAULT_HEALTH_TIMEOUT_MS;
	if (get_object(v, o, "health", &sub) != BAD) {
		old = push_key(v, "health");
		parse_health(v, sub, vip, l4_ok);
		pop(v, old);
	}

	PARSE_OBJECTS(v, o, "backends", CFG_MAX_BACKENDS, vip->backends, vip->n_backends, i, e,
		      parse_backend(v, e, c, vip, i));
	if (ts_rc != BAD && vip->n_backends >= vip->table_size)
		kerr(v, "table_size", "%u must be larger than the number of backends (%u)",
		     vip->table_size, vip->n_backends);
	return key_ok;
}

static void
parse_vips(struct vctx *v, json_t *root, struct cfg *c)
{
	char abuf[INET6_ADDRSTRLEN];
	struct cfg_vip *a, *b;
	json_t *arr, *e;
	bool *key_ok;
	size_t i, old, o2;
	unsigned int j;
	int n;

	n = get_array(v, root, "vips", false, CFG_MAX_VIPS, &arr);
	if (n <= 0)
		return;
	c->vips = alloc_array(v, (size_t)n, sizeof(c->vips[0]));
	key_ok = alloc_array(v, (size_t)n, sizeof(key_ok[0]));
	if (c->vips == NULL || key_ok == NULL) {
		free(key_ok);
		return;
	}
	c->n_vips = (unsigned int)n;
	old = push_key(v, "vips");
	FOREACH_OBJECT(v, arr, n, i, e, key_ok[i] = parse_vip(v, e, c, (unsigned int)i));
	for (i = 0; i < (size_t)n; i++) {
		a = &c->vips[i];
		for (j = 0; key_ok[i] && j < i; j++) {
			b = &c->vips[j];
			if (key_ok[j] && cfg_addr_equal(&a->addr, &b->addr) &&
			    a->proto == b->proto && a->port == b->port) {
				cfg_addr_str(&a->addr, abuf, sizeof(abuf));
				o2 = push_index(v, i);
				verr(v,
				     "duplicate (address, protocol, port) (%s, %s, %u) "
				     "(also vips[%u])",
				     abuf, cfg_proto_str(a->proto), a->port, j);
				pop(v, o2);
				break;
			}
		}
	}
	pop(v, old);
	free(key_ok);
}

/* cluster */

static void
parse_member(struct vctx *v, json_t *o, struct cfg *c, size_t idx)
{
	static const char *const keys[] = { "id", "address", NULL };
	struct cfg_member *m = &c->cluster.members[idx];
	char abuf[INET6_ADDRSTRLEN];
	int64_t x;
	size_t j;

	check_keys(v, o, keys);
	/* id 0 is out of range, so it marks a member whose id was bad. */
	if (get_int(v, o, "id", true, 1, 65535, 0, &x) == GOT) {
		m->id = (uint32_t)x;
		for (j = 0; j < idx; j++) {
			if (c->cluster.members[j].id == m->id) {
				kerr(v, "id", "duplicate id %u (also members[%zu])", m->id, j);
				break;
			}
		}
	}
	if (get_addr(v, o, "address", true, &m->addr) == GOT) {
		for (j = 0; j < idx; j++) {
			if (cfg_addr_equal(&c->cluster.members[j].addr, &m->addr)) {
				cfg_addr_str(&m->addr, abuf, sizeof(abuf));
				kerr(v, "address", "duplicate address %s (also members[%zu])", abuf,
				     j);
				break;
			}
		}
	}
}

static void
parse_cluster(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "mode", "sync_port", "key", "members", NULL };
	json_t *e;
	int64_t x;
	size_t i;
	int n;

	check_keys(v, o, keys);
	GET_ENUM(v, o, "mode", cluster_mode_names, CFG_CLUSTER_STANDALONE, &n);
	c->cluster.mode = (enum cfg_cluster_mode)n;
	get_int(v, o, "sync_port", false, 1, 65535, DEFAULT_SYNC_PORT, &x);
	c->cluster.sync_port = (uint16_t)x;
	get_hexkey(v, o, "key", c->cluster.key, &c->cluster.key_len);
	PARSE_OBJECTS(v, o, "members", SIZE_MAX, c->cluster.members, c->cluster.n_members, i, e,
		      parse_member(v, e, c, i));
}

/* Distributed mode needs the sync key and this instance among the members. */
static void
cluster_distributed_check(struct vctx *v, const struct cfg *c)
{
	unsigned int i;

	if (c->cluster.key_len == 0)
		verr(v, "cluster.key: required with mode \"distributed\"");
	for (i = 0; i < c->cluster.n_members; i++)
		if (c->cluster.members[i].id == c->instance.id)
			return;
	verr(v, "cluster.members: no member has instance.id %u (mode \"distributed\")",
	     c->instance.id);
}

/* ha */

static void
parse_ha(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "enabled",      "port",       "peer",
					    "priority",     "preempt",    "preempt_delay_ms",
					    "heartbeat_ms", "dead_count", "sync_port",
					    "key",          NULL };
	int64_t x;

	check_keys(v, o, keys);
	get_bool(v, o, "enabled", false, &c->ha.enabled);
	get_port_ref(v, o, "port", false, c, c->ha.port);
	get_addr(v, o, "peer", false, &c->ha.peer);
	get_int(v, o, "priority", false, 1, 254, DEFAULT_HA_PRIORITY, &x);
	c->ha.priority = (uint8_t)x;
	get_bool(v, o, "preempt", true, &c->ha.preempt);
	get_int(v, o, "heartbeat_ms", false, 5, 10000, DEFAULT_HA_HEARTBEAT_MS, &x);
	c->ha.heartbeat_ms = (uint32_t)x;
	get_int(v, o, "dead_count", false, 2, 100, DEFAULT_HA_DEAD_COUNT, &x);
	c->ha.dead_count = (uint32_t)x;
	get_int(v, o, "preempt_delay_ms", false, 0, 3600000, DEFAULT_HA_PREEMPT_DELAY_MS, &x);
	c->ha.preempt_delay_ms = (uint32_t)x;
	get_int(v, o, "sync_port", false, 1, 65535, DEFAULT_HA_SYNC_PORT, &x);
	c->ha.sync_port = (uint16_t)x;
	get_hexkey(v, o, "key", c->ha.key, &c->ha.key_len);
	if (c->ha.enabled) {
		if (c->ha.port[0] == '\0')
			kerr(v, "port", "required when ha.enabled is true");
		if (c->ha.peer.family == 0)
			kerr(v, "peer", "required when ha.enabled is true");
		if (c->ha.key_len == 0)
			kerr(v, "key", "required when ha.enabled is true");
	}
}

/* ptp */

static void
parse_labels(struct vctx *v, json_t *o, const char *key, uint32_t *labels, unsigned int *nl)
{
	json_t *arr, *e;
	size_t i, old, o2;
	int64_t x;
	int n;

	n = get_array(v, o, key, false, MPLS_LABELS_MAX, &arr);
	if (n <= 0)
		return;
	old = push_key(v, key);
	for (i = 0; i < (size_t)n; i++) {
		o2 = push_index(v, i);
		e = json_array_get(arr, i);
		if (!json_is_integer(e)) {
			verr(v, "expected an integer, got %s", type_name(e));
		} else {
			x = json_integer_value(e);
			/* 0..15 are reserved labels (RFC 3032 section 2.1). */
			if (x < 16 || x > 1048575)
				verr(v, "%" PRId64 " is out of range 16..1048575", x);
			else
				labels[i] = (uint32_t)x;
		}
		pop(v, o2);
	}
	*nl = (unsigned int)n;
	pop(v, old);
}

static void
parse_ptp_path(struct vctx *v, json_t *o, struct cfg_ptp_port *pp)
{
	static const char *const keys[] = { "vlan", "mpls", NULL };
	static const char *const mpls_keys[] = { "tx_labels", "rx_labels", NULL };
	json_t *mpls;
	int64_t x;
	size_t old;

	check_keys(v, o, keys);
	get_int(v, o, "vlan", false, 0, 4094, 0, &x);
	pp->vlan = (uint16_t)x;
	if (get_object(v, o, "mpls", &mpls) == GOT) {
		old = push_key(v, "mpls");
		check_keys(v, mpls, mpls_keys);
		parse_labels(v, mpls, "tx_labels", pp->mpls_tx_labels, &pp->n_mpls_tx);
		parse_labels(v, mpls, "rx_labels", pp->mpls_rx_labels, &pp->n_mpls_rx);
		pop(v, old);
	}
}

static void
parse_ptp_port(struct vctx *v, json_t *o, struct cfg *c, size_t idx)
{
	static const char *const keys[] = {
		"port", "role", "log_sync_interval", "log_announce_interval", "delay_asymmetry_ns",
		"path", NULL
	};
	struct cfg_ptp_port *pp = &c->ptp.ports[idx];
	json_t *path;
	int64_t x;
	size_t j, old;
	int e;

	check_keys(v, o, keys);
	get_port_ref(v, o, "port", true, c, pp->port);
	for (j = 0; pp->port[0] != '\0' && j < idx; j++) {
		if (strcmp(c->ptp.ports[j].port, pp->port) == 0) {
			kerr(v, "port", "duplicate port \"%s\" (also ptp.ports[%zu])", pp->port, j);
			break;
		}
	}
	GET_ENUM(v, o, "role", ptp_role_names, CFG_PTP_ROLE_AUTO, &e);
	pp->role = (enum cfg_ptp_role)e;
	get_int(v, o, "log_sync_interval", false, -7, 4, 0, &x);
	pp->log_sync_interval = (int8_t)x;
	get_int(v, o, "log_announce_interval", false, -3, 4, DEFAULT_LOG_ANNOUNCE_INTERVAL, &x);
	pp->log_announce_interval = (int8_t)x;
	get_int(v, o, "delay_asymmetry_ns", false, INT64_MIN, INT64_MAX, 0, &x);
	pp->delay_asymmetry_ns = x;
	if (get_object(v, o, "path", &path) != BAD) {
		old = push_key(v, "path");
		parse_ptp_path(v, path, pp);
		pop(v, old);
	}
}

static void
parse_servo(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "kp", "ki", "step_threshold_ns",
					    "first_step_threshold_ns", NULL };

	check_keys(v, o, keys);
	get_real(v, o, "kp", 0.0, true, DEFAULT_SERVO_KP, &c->ptp.servo.kp);
	get_real(v, o, "ki", 0.0, false, DEFAULT_SERVO_KI, &c->ptp.servo.ki);
	get_int(v, o, "step_threshold_ns", false, 0, INT64_MAX, 0, &c->ptp.servo.step_threshold_ns);
	get_int(v, o, "first_step_threshold_ns", false, 0, INT64_MAX, DEFAULT_FIRST_STEP_NS,
		&c->ptp.servo.first_step_threshold_ns);
}

static void
parse_ptp(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "enabled",   "domain",    "transport", "timestamping",
					    "priority1", "priority2", "ports",     "servo",
					    "export",    "clock",     NULL };
	static const char *const clock_keys[] = { "system_clock", "initial_offset_ns",
						  "initial_freq_ppb", NULL };
	static const char *const export_keys[] = { "chrony_socket", NULL };
	json_t *e, *sub;
	int64_t x;
	size_t i, old;
	int n;

	check_keys(v, o, keys);
	get_bool(v, o, "enabled", false, &c->ptp.enabled);
	get_int(v, o, "domain", false, 0, 127, 0, &x);
	c->ptp.domain = (uint8_t)x;
	GET_ENUM(v, o, "transport", ptp_transport_names, CFG_PTP_TRANSPORT_UDP4, &n);
	c->ptp.transport = (enum cfg_ptp_transport)n;
	GET_ENUM(v, o, "timestamping", ptp_timestamping_names, CFG_PTP_TS_AUTO, &n);
	c->ptp.timestamping = (enum cfg_ptp_timestamping)n;
	get_int(v, o, "priority1", false, 0, 255, DEFAULT_PTP_PRIORITY, &x);
	c->ptp.priority1 = (uint8_t)x;
	get_int(v, o, "priority2", false, 0, 255, DEFAULT_PTP_PRIORITY, &x);
	c->ptp.priority2 = (uint8_t)x;

	PARSE_OBJECTS(v, o, "ports", SIZE_MAX, c->ptp.ports, c->ptp.n_ports, i, e,
		      parse_ptp_port(v, e, c, i));

	c->ptp.servo.kp = DEFAULT_SERVO_KP;
	c->ptp.servo.ki = DEFAULT_SERVO_KI;
	c->ptp.servo.step_threshold_ns = 0;
	c->ptp.servo.first_step_threshold_ns = DEFAULT_FIRST_STEP_NS;
	if (get_object(v, o, "servo", &sub) != BAD) {
		old = push_key(v, "servo");
		parse_servo(v, sub, c);
		pop(v, old);
	}
	if (get_object(v, o, "export", &sub) == GOT) {
		old = push_key(v, "export");
		check_keys(v, sub, export_keys);
		get_strbuf(v, sub, "chrony_socket", false, false, c->ptp.chrony_socket,
			   sizeof(c->ptp.chrony_socket), "");
		pop(v, old);
	}
	if (get_object(v, o, "clock", &sub) == GOT) {
		old = push_key(v, "clock");
		check_keys(v, sub, clock_keys);
		get_bool(v, sub, "system_clock", false, &c->ptp.clock.system_clock);
		/* A deliberate error at start, for tests of the servo against a real master. */
		get_int(v, sub, "initial_offset_ns", false, -1000000000000LL, 1000000000000LL, 0,
			&c->ptp.clock.initial_offset_ns);
		if (get_real(v, sub, "initial_freq_ppb", -1e6, false, 0.0,
			     &c->ptp.clock.initial_freq_ppb) == GOT &&
		    c->ptp.clock.initial_freq_ppb > 1e6)
			kerr(v, "initial_freq_ppb", "%g is out of range -1e6..1e6",
			     c->ptp.clock.initial_freq_ppb);
		pop(v, old);
	}
	if (c->ptp.enabled && c->ptp.n_ports == 0)
		kerr(v, "ports", "at least one PTP port is required when ptp.enabled is true");
}

/* lisp */

static void
parse_lisp_key(struct vctx *v, json_t *o, struct cfg_lisp_site *s, size_t idx, bool *id_ok)
{
	static const char *const keys[] = { "id", "algorithm", "secret", NULL };
	struct cfg_lisp_key *k = &s->keys[idx];
	const char *secret;
	int64_t x;
	size_t j, n;
	int e;

	check_keys(v, o, keys);
	/* RFC 9301 5.6: an 8-bit Key ID beside the 8-bit Algorithm ID. */
	if (get_int(v, o, "id", true, 0, 255, 0, &x) == GOT) {
		k->id = (uint16_t)x;
		id_ok[idx] = true;
		for (j = 0; j < idx; j++) {
			if (id_ok[j] && s->keys[j].id == k->id) {
				kerr(v, "id", "duplicate key id %u (also keys[%zu])", k->id, j);
				break;
			}
		}
	}
	if (lookup(o, "algorithm") == NULL)
		kerr(v, "algorithm", "missing required key");
	GET_ENUM(v, o, "algorithm", lisp_alg_names, CFG_LISP_ALG_HMAC_SHA256_128, &e);
	k->algorithm = (enum cfg_lisp_alg)e;
	if (get_str(v, o, "secret", true, &secret) == GOT) {
		n = strlen(secret);
		if (n < 1 || n > CFG_KEY_MAX)
			kerr(v, "secret", "must be 1 to %d characters, got %zu", CFG_KEY_MAX, n);
		else
			memcpy(k->secret, secret, n + 1);
	}
}

static void
parse_lisp_eid(struct vctx *v, json_t *o, struct cfg_lisp_site *s, size_t idx)
{
	static const char *const keys[] = { "prefix", "accept_more_specifics", NULL };
	struct cfg_lisp_eid *eid = &s->eids[idx];
	char abuf[INET6_ADDRSTRLEN];
	size_t j;

	check_keys(v, o, keys);
	if (get_prefix(v, o, "prefix", true, true, &eid->prefix) == GOT) {
		for (j = 0; j < idx; j++) {
			if (s->eids[j].prefix.len == eid->prefix.len &&
			    cfg_addr_equal(&s->eids[j].prefix.addr, &eid->prefix.addr)) {
				cfg_addr_str(&eid->prefix.addr, abuf, sizeof(abuf));
				kerr(v, "prefix", "duplicate prefix %s/%u (also eid_prefixes[%zu])",
				     abuf, eid->prefix.len, j);
				break;
			}
		}
	}
	get_bool(v, o, "accept_more_specifics", false, &eid->accept_more_specifics);
}

static void
parse_lisp_site(struct vctx *v, json_t *o, struct cfg *c, size_t idx)
{
	static const char *const keys[] = { "name", "keys", "eid_prefixes", NULL };
	struct cfg_lisp_site *s = &c->lisp.sites[idx];
	json_t *arr, *e;
	bool *id_ok;
	size_t i, j, old;
	int n;

	check_keys(v, o, keys);
	if (get_name(v, o, "name", true, s->name) == GOT) {
		for (j = 0; j < idx; j++) {
			if (strcmp(c->lisp.sites[j].name, s->name) == 0) {
				kerr(v, "name", "duplicate name \"%s\" (also sites[%zu])", s->name,
				     j);
				break;
			}
		}
	}
	n = get_array(v, o, "keys", false, SIZE_MAX, &arr);
	if (n > 0) {
		s->keys = alloc_array(v, (size_t)n, sizeof(s->keys[0]));
		id_ok = alloc_array(v, (size_t)n, sizeof(id_ok[0]));
		if (s->keys != NULL && id_ok != NULL) {
			s->n_keys = (unsigned int)n;
			old = push_key(v, "keys");
			FOREACH_OBJECT(v, arr, n, i, e, parse_lisp_key(v, e, s, i, id_ok));
			pop(v, old);
		}
		free(id_ok);
	}
	PARSE_OBJECTS(v, o, "eid_prefixes", SIZE_MAX, s->eids, s->n_eids, i, e,
		      parse_lisp_eid(v, e, s, i));
}

static void
parse_lisp(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "enabled", "port", "state_file", "registration_ttl_s",
					    "sites",   NULL };
	json_t *e;
	int64_t x;
	size_t i;

	check_keys(v, o, keys);
	get_bool(v, o, "enabled", false, &c->lisp.enabled);
	get_port_ref(v, o, "port", false, c, c->lisp.port);
	get_strbuf(v, o, "state_file", false, true, c->lisp.state_file, sizeof(c->lisp.state_file),
		   DEFAULT_LISP_STATE_FILE);
	get_int(v, o, "registration_ttl_s", false, 1, 86400, DEFAULT_LISP_TTL_S, &x);
	c->lisp.registration_ttl_s = (uint32_t)x;
	PARSE_OBJECTS(v, o, "sites", SIZE_MAX, c->lisp.sites, c->lisp.n_sites, i, e,
		      parse_lisp_site(v, e, c, i));
}

/* control, log */

static void
parse_control(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "socket", NULL };
	char def[CFG_PATH_MAX];

	check_keys(v, o, keys);
	snprintf(def, sizeof(def), "/run/equinox/%s.sock", c->instance.name);
	get_strbuf(v, o, "socket", false, true, c->control.socket, sizeof(c->control.socket), def);
}

static void
parse_log(struct vctx *v, json_t *o, struct cfg *c)
{
	static const char *const keys[] = { "level", NULL };
	int e;

	check_keys(v, o, keys);
	GET_ENUM(v, o, "level", log_level_names, CFG_LOG_INFO, &e);
	c->log.level = (enum cfg_log_level)e;
}

/*
 * A top-level section: absent means every default, a non-object is reported
 * by get_object and its defaults still filled so later sections can read them.
 */
static void
section(struct vctx *v, json_t *root, const char *key, struct cfg *c,
	void (*fn)(struct vctx *, json_t *, struct cfg *))
{
	json_t *o;
	size_t old;
	int rc;

	rc = get_object(v, root, key, &o);
	old = push_key(v, key);
	if (rc == BAD) {
		/* Run on no object: the defaults, and no "missing" noise from inside. */
		struct cfg_errors quiet = { .n = 0 };
		struct cfg_errors *saved = v->errs;

		v->errs = &quiet;
		fn(v, NULL, c);
		v->errs = saved;
	} else {
		fn(v, o, c);
	}
	pop(v, old);
}

struct cfg *
cfg_from_tree(json_t *root, struct cfg_errors *errs)
{
	static const char *const keys[] = { "instance", "eal",     "dataplane", "ports",
					    "vips",     "cluster", "ha",        "ptp",
					    "lisp",     "control", "log",       NULL };
	struct vctx *v;
	struct cfg *c;
	unsigned int n0 = errs->n;

	if (!json_is_object(root)) {
		cfg_err(errs, "(root): expected an object, got %s", type_name(root));
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	c = calloc(1, sizeof(*c));
	if (v == NULL || c == NULL) {
		cfg_err(errs, "(root): out of memory");
		free(v);
		free(c);
		return NULL;
	}
	v->errs = errs;

	check_keys(v, root, keys);
	section(v, root, "instance", c, parse_instance);
	parse_eal(v, root, c);
	section(v, root, "dataplane", c, parse_dataplane);
	parse_ports(v, root, c);
	parse_vips(v, root, c);
	section(v, root, "cluster", c, parse_cluster);
	section(v, root, "ha", c, parse_ha);
	section(v, root, "ptp", c, parse_ptp);
	section(v, root, "lisp", c, parse_lisp);
	section(v, root, "control", c, parse_control);
	section(v, root, "log", c, parse_log);
	if (c->eal == NULL && lookup(root, "eal") == NULL)
		default_eal(v, c);

	if (c->cluster.mode == CFG_CLUSTER_DISTRIBUTED)
		cluster_distributed_check(v, c);
	free(v);
	if (errs->n != n0) {
		cfg_free(c);
		return NULL;
	}
	c->tree = json_incref(root);
	return c;
}
