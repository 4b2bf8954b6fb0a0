/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to lib/config: the validator's typed getters. Each reads one key of
 * a JSON object, checks its type and range, applies the documented default
 * when it is absent, and records an error under the key's path otherwise;
 * the section parsers in cfg_validate.c are written in terms of these.
 */
#ifndef EQX_CFG_GET_H
#define EQX_CFG_GET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/cfg.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Room for the deepest path we build (lisp.sites[N].eid_prefixes[N].accept_...). */
#define PATH_BUF 256

/*
 * A value from the file, fit for a message: at most 48 bytes (then "..."),
 * control bytes shown as '?'.
 */
#define SHOWN_MAX 52

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

size_t cv_push_key(struct vctx *v, const char *key);
size_t cv_push_index(struct vctx *v, size_t i);
void cv_pop(struct vctx *v, size_t old);
void __attribute__((format(printf, 2, 3))) cv_verr(struct vctx *v, const char *fmt, ...);
void __attribute__((format(printf, 3, 4)))
cv_kerr(struct vctx *v, const char *key, const char *fmt, ...);
const char *cv_type_name(const json_t *j);
const char *cv_shown(const char *s, char *buf);
void cv_check_keys(struct vctx *v, json_t *o, const char *const *keys);
json_t *cv_lookup(json_t *o, const char *key);
int cv_get_object(struct vctx *v, json_t *o, const char *key, json_t **out);
int cv_get_array(struct vctx *v, json_t *o, const char *key, bool req, size_t max, json_t **out);
int cv_get_int(struct vctx *v, json_t *o, const char *key, bool req, int64_t min, int64_t max,
	       int64_t def, int64_t *out);
int cv_get_real(struct vctx *v, json_t *o, const char *key, double min, bool min_open, double def,
		double *out);
int cv_get_bool(struct vctx *v, json_t *o, const char *key, bool def, bool *out);
int cv_get_str(struct vctx *v, json_t *o, const char *key, bool req, const char **out);
int cv_get_strbuf(struct vctx *v, json_t *o, const char *key, bool req, bool nonempty, char *buf,
		  size_t size, const char *def);
int cv_get_name(struct vctx *v, json_t *o, const char *key, bool req, char *buf);
int cv_get_enum(struct vctx *v, json_t *o, const char *key, const char *const *names, size_t n,
		int def, int *out);
int cv_get_addr(struct vctx *v, json_t *o, const char *key, bool req, struct cfg_addr *out);
int cv_get_prefix(struct vctx *v, json_t *o, const char *key, bool req, bool network,
		  struct cfg_prefix *out);
int cv_get_hexkey(struct vctx *v, json_t *o, const char *key, uint8_t *buf, unsigned int *len);
int cv_get_mac(struct vctx *v, json_t *o, const char *key, uint8_t *mac);
bool cv_is_prime(uint32_t n);
void *cv_alloc_array(struct vctx *v, size_t n, size_t size);

#define GET_ENUM(v, o, key, names, def, out) cv_get_enum(v, o, key, names, NELEMS(names), def, out)

/*
 * Walk the first n entries of an array with the path at "[i]": body runs with
 * e set to each entry that is an object; any other entry is an error.
 */
#define FOREACH_OBJECT(v, arr, n, i, e, body)                                              \
	do {                                                                               \
		for ((i) = 0; (i) < (size_t)(n); (i)++) {                                  \
			size_t old_ = cv_push_index(v, i);                                 \
			(e) = json_array_get(arr, i);                                      \
			if (!json_is_object(e))                                            \
				cv_verr(v, "expected an object, got %s", cv_type_name(e)); \
			else                                                               \
				body;                                                      \
			cv_pop(v, old_);                                                   \
		}                                                                          \
	} while (0)

/*
 * An optional array of objects at key: list gets its n elements and count n, and
 * body runs for each object (i, e set) with the error path at key[i].
 */
#define PARSE_OBJECTS(v, o, key, max, list, count, i, e, body)                     \
	do {                                                                       \
		json_t *arr_;                                                      \
		int n_ = cv_get_array(v, o, key, false, max, &arr_);               \
		if (n_ > 0) {                                                      \
			(list) = cv_alloc_array(v, (size_t)n_, sizeof((list)[0])); \
			if ((list) != NULL) {                                      \
				size_t key_old_ = cv_push_key(v, key);             \
				(count) = (unsigned int)n_;                        \
				FOREACH_OBJECT(v, arr_, n_, i, e, body);           \
				cv_pop(v, key_old_);                               \
			}                                                          \
		}                                                                  \
	} while (0)

#endif /* EQX_CFG_GET_H */
