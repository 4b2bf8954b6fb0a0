/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The validator's typed getters and its error paths ("vips[2].backends[0].weight:
 * ..."), with the did-you-mean hint for unknown keys: see cfg_get.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_get.h"
#include "config/cfg_internal.h"

#define SECRET_HEX_DIGITS 64

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

size_t
cv_push_key(struct vctx *v, const char *key)
{
	size_t old = v->plen;

	if (v->plen > 0)
		path_append(v, ".");
	path_append(v, key);
	return old;
}

size_t
cv_push_index(struct vctx *v, size_t i)
{
	size_t old = v->plen;
	char buf[24];

	snprintf(buf, sizeof(buf), "[%zu]", i);
	path_append(v, buf);
	return old;
}

void
cv_pop(struct vctx *v, size_t old)
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
void __attribute__((format(printf, 2, 3))) cv_verr(struct vctx *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_ap(v, fmt, ap);
	va_end(ap);
}

/* An error at current path + "." + key. */
void __attribute__((format(printf, 3, 4)))
cv_kerr(struct vctx *v, const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t old;

	old = cv_push_key(v, key);
	va_start(ap, fmt);
	verr_ap(v, fmt, ap);
	va_end(ap);
	cv_pop(v, old);
}

const char *
cv_type_name(const json_t *j)
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

const char *
cv_shown(const char *s, char *buf)
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
void
cv_check_keys(struct vctx *v, json_t *o, const char *const *keys)
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
			cv_kerr(v, key, "unknown key (did you mean \"%s\"?)", best);
		else
			cv_kerr(v, key, "unknown key");
	}
}

/* Value getters. o may be NULL (its parent was absent): every key is then absent. */

json_t *
cv_lookup(json_t *o, const char *key)
{
	return o == NULL ? NULL : json_object_get(o, key);
}

static int
absent(struct vctx *v, const char *key, bool req)
{
	if (!req)
		return ABSENT;
	cv_kerr(v, key, "missing required key");
	return BAD;
}

/*
 * The object at key. *out is NULL when it is absent or not an object; in the
 * second case the caller skips it, so a typo in its type does not also show as
 * every required key inside it missing.
 */
int
cv_get_object(struct vctx *v, json_t *o, const char *key, json_t **out)
{
	json_t *j = cv_lookup(o, key);

	*out = NULL;
	if (j == NULL)
		return ABSENT;
	if (!json_is_object(j)) {
		cv_kerr(v, key, "expected an object, got %s", cv_type_name(j));
		return BAD;
	}
	*out = j;
	return GOT;
}

/* The array at key; the number of entries to walk (capped at max) or BAD/ABSENT. */
int
cv_get_array(struct vctx *v, json_t *o, const char *key, bool req, size_t max, json_t **out)
{
	json_t *j = cv_lookup(o, key);
	size_t n;

	*out = NULL;
	if (j == NULL)
		return absent(v, key, req);
	if (!json_is_array(j)) {
		cv_kerr(v, key, "expected an array, got %s", cv_type_name(j));
		return BAD;
	}
	*out = j;
	n = json_array_size(j);
	if (n > max) {
		cv_kerr(v, key, "too many entries (%zu, at most %zu)", n, max);
		n = max;
	}
	return (int)n;
}

int
cv_get_int(struct vctx *v, json_t *o, const char *key, bool req, int64_t min, int64_t max,
	   int64_t def, int64_t *out)
{
	json_t *j = cv_lookup(o, key);
	int64_t x;

	*out = def;
	if (j == NULL)
		return absent(v, key, req);
	if (!json_is_integer(j)) {
		cv_kerr(v, key, "expected an integer, got %s", cv_type_name(j));
		return BAD;
	}
	x = json_integer_value(j);
	if (x < min || x > max) {
		cv_kerr(v, key, "%" PRId64 " is out of range %" PRId64 "..%" PRId64, x, min, max);
		return BAD;
	}
	*out = x;
	return GOT;
}

/* Reals also take integers: "kp = 1" is as good as "kp = 1.0". */
int
cv_get_real(struct vctx *v, json_t *o, const char *key, double min, bool min_open, double def,
	    double *out)
{
	json_t *j = cv_lookup(o, key);
	double x;

	*out = def;
	if (j == NULL)
		return ABSENT;
	if (!json_is_number(j)) {
		cv_kerr(v, key, "expected a number, got %s", cv_type_name(j));
		return BAD;
	}
	x = json_number_value(j);
	if (!isfinite(x) || x < min || (min_open && x == min)) {
		cv_kerr(v, key, "%g must be %s %g", x, min_open ? "greater than" : "at least", min);
		return BAD;
	}
	*out = x;
	return GOT;
}

int
cv_get_bool(struct vctx *v, json_t *o, const char *key, bool def, bool *out)
{
	json_t *j = cv_lookup(o, key);

	*out = def;
	if (j == NULL)
		return ABSENT;
	if (!json_is_boolean(j)) {
		cv_kerr(v, key, "expected a boolean (true or false), got %s", cv_type_name(j));
		return BAD;
	}
	*out = json_is_true(j);
	return GOT;
}

int
cv_get_str(struct vctx *v, json_t *o, const char *key, bool req, const char **out)
{
	json_t *j = cv_lookup(o, key);

	*out = NULL;
	if (j == NULL)
		return absent(v, key, req);
	if (!json_is_string(j) || json_string_value(j) == NULL) {
		cv_kerr(v, key, "expected a string, got %s", cv_type_name(j));
		return BAD;
	}
	*out = json_string_value(j);
	return GOT;
}

/* A string copied into a fixed buffer; buf keeps def (or "") unless a good value is found. */
int
cv_get_strbuf(struct vctx *v, json_t *o, const char *key, bool req, bool nonempty, char *buf,
	      size_t size, const char *def)
{
	const char *s;
	size_t n;
	int rc;

	snprintf(buf, size, "%s", def != NULL ? def : "");
	rc = cv_get_str(v, o, key, req, &s);
	if (rc != GOT || s == NULL)
		return rc;
	n = strlen(s);
	if (nonempty && n == 0) {
		cv_kerr(v, key, "must not be empty");
		return BAD;
	}
	if (n >= size) {
		cv_kerr(v, key, "too long (%zu bytes, at most %zu)", n, size - 1);
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
int
cv_get_name(struct vctx *v, json_t *o, const char *key, bool req, char *buf)
{
	char sb[SHOWN_MAX];
	const char *s;
	int rc;

	buf[0] = '\0';
	rc = cv_get_str(v, o, key, req, &s);
	if (rc != GOT || s == NULL)
		return rc;
	if (!valid_name(s)) {
		cv_kerr(v, key, "invalid name \"%s\" (1 to %d characters of A-Z a-z 0-9 _ -)",
			cv_shown(s, sb), CFG_NAME_MAX - 1);
		return BAD;
	}
	memcpy(buf, s, strlen(s) + 1);
	return GOT;
}

int
cv_get_enum(struct vctx *v, json_t *o, const char *key, const char *const *names, size_t n, int def,
	    int *out)
{
	char sb[SHOWN_MAX];
	char list[256];
	const char *s;
	size_t i, len = 0;
	int rc;

	*out = def;
	rc = cv_get_str(v, o, key, false, &s);
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
	cv_kerr(v, key, "unknown value \"%s\" (one of: %s)", cv_shown(s, sb), list);
	return BAD;
}

/* out->family stays 0 unless a good address is found: callers use that as "unset". */
int
cv_get_addr(struct vctx *v, json_t *o, const char *key, bool req, struct cfg_addr *out)
{
	char sb[SHOWN_MAX];
	const char *s;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = cv_get_str(v, o, key, req, &s);
	if (rc != GOT || s == NULL)
		return rc;
	if (cfg_addr_parse(s, out) != 0) {
		cv_kerr(v, key, "not an IP address: \"%s\"", cv_shown(s, sb));
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
int
cv_get_prefix(struct vctx *v, json_t *o, const char *key, bool req, bool network,
	      struct cfg_prefix *out)
{
	char sb[SHOWN_MAX];
	const char *s;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = cv_get_str(v, o, key, req, &s);
	if (rc != GOT || s == NULL)
		return rc;
	if (cfg_prefix_parse(s, out) != 0) {
		cv_kerr(v, key, "not an address/length prefix: \"%s\"", cv_shown(s, sb));
		memset(out, 0, sizeof(*out));
		return BAD;
	}
	if (network && !host_bits_zero(out)) {
		cv_kerr(v, key, "\"%s\" has host bits set past the prefix length", cv_shown(s, sb));
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
int
cv_get_hexkey(struct vctx *v, json_t *o, const char *key, uint8_t *buf, unsigned int *len)
{
	const char *s;
	size_t n, i;
	int rc, hi, lo;

	*len = 0;
	rc = cv_get_str(v, o, key, false, &s);
	if (rc != GOT || s == NULL)
		return rc;
	n = strlen(s);
	if (n != SECRET_HEX_DIGITS) {
		cv_kerr(v, key, "expected %d hex digits (a %d-byte key), got %zu characters",
			SECRET_HEX_DIGITS, SECRET_HEX_DIGITS / 2, n);
		return BAD;
	}
	for (i = 0; i < n; i += 2) {
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0) {
			cv_kerr(v, key, "not a hex digit at position %zu", hi < 0 ? i + 1 : i + 2);
			explicit_bzero(buf, CFG_KEY_MAX);
			return BAD;
		}
		buf[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*len = SECRET_HEX_DIGITS / 2;
	return GOT;
}

int
cv_get_mac(struct vctx *v, json_t *o, const char *key, uint8_t *mac)
{
	char sb[SHOWN_MAX];
	const char *s;
	unsigned int i;
	int rc, hi, lo;

	memset(mac, 0, 6);
	rc = cv_get_str(v, o, key, true, &s);
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
	cv_kerr(v, key, "not a MAC address (aa:bb:cc:dd:ee:ff): \"%s\"", cv_shown(s, sb));
	memset(mac, 0, 6);
	return BAD;
}

bool
cv_is_prime(uint32_t n)
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

void *
cv_alloc_array(struct vctx *v, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	p = calloc(n, size);
	if (p == NULL)
		cv_verr(v, "out of memory");
	return p;
}
