/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The two front ends: JSON through jansson, *.cfg through libconfig. Each
 * only turns text into a jansson tree (libconfig groups become objects, arrays
 * and lists become arrays) and reports syntax errors as "NAME:LINE: message";
 * everything about meaning is checked once, on the tree, in cfg_validate.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libconfig.h>

#include "config/cfg.h"
#include "config/cfg_internal.h"

/* A config is a few kilobytes; refuse to slurp something that is clearly not one. */
#define CFG_FILE_MAX (16u << 20)

/* Our deepest key is six levels down; anything much deeper is not a config. */
#define CFG_DEPTH_MAX 32

void
cfg_err(struct cfg_errors *errs, const char *fmt, ...)
{
	va_list ap;

	if (errs->n < CFG_MAX_ERRORS) {
		va_start(ap, fmt);
		vsnprintf(errs->msg[errs->n], sizeof(errs->msg[0]), fmt, ap);
		va_end(ap);
	}
	if (errs->n < UINT_MAX)
		errs->n++;
}

static unsigned int
line_of(const char *text, size_t off)
{
	unsigned int line = 1;
	size_t i;

	for (i = 0; i < off; i++) {
		if (text[i] == '\n')
			line++;
	}
	return line;
}

/*
 * libconfig's scanner acts on "@include" at the start of a line (after blanks)
 * while it parses: a config could make us read any file, or /dev/zero forever,
 * before validation says a word. One file is one config here, so the directive
 * is refused. This matches the scanner's rule or more (also inside a string or
 * a comment), never less.
 */
static int
find_include(const char *text, size_t len, size_t *off)
{
	static const char word[] = "@include";
	size_t i = 0;

	while (i < len) {
		while (i < len && (text[i] == ' ' || text[i] == '\t'))
			i++;
		if (len - i >= sizeof(word) - 1 && memcmp(text + i, word, sizeof(word) - 1) == 0) {
			*off = i;
			return 1;
		}
		while (i < len && text[i] != '\n')
			i++;
		i++;
	}
	return 0;
}

static bool
digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool
alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* libconfig's setting names: [A-Za-z*][-A-Za-z0-9_*]* */
static bool
name_char(char ch)
{
	return alpha(ch) || digit(ch) || ch == '_' || ch == '*' || ch == '-';
}

/*
 * Does this literal need an L to be read as the integer it says? Floats,
 * suffixed literals and anything else are left to libconfig (false).
 * Returns -ERANGE when the value does not fit 64 bits at all.
 */
static int
needs_l(const char *tok, size_t n)
{
	unsigned long long v = 0, lim;
	unsigned int d, base = 10;
	bool neg = false;
	size_t i = 0;

	if (tok[i] == '-' || tok[i] == '+')
		neg = tok[i++] == '-';
	if (n - i > 2 && tok[i] == '0' && (tok[i + 1] == 'x' || tok[i + 1] == 'X')) {
		base = 16;
		i += 2;
	}
	if (i == n)
		return 0;
	lim = neg ? (unsigned long long)INT64_MAX + 1 : (unsigned long long)INT64_MAX;
	for (; i < n; i++) {
		if (digit(tok[i]))
			d = (unsigned int)(tok[i] - '0');
		else if (base == 16 && tok[i] >= 'a' && tok[i] <= 'f')
			d = (unsigned int)(tok[i] - 'a' + 10);
		else if (base == 16 && tok[i] >= 'A' && tok[i] <= 'F')
			d = (unsigned int)(tok[i] - 'A' + 10);
		else
			return 0;
		if (v > (lim - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	/* A hex literal is read as 32 bits: above INT32_MAX it would turn negative. */
	if (base == 16 || !neg)
		return v > INT32_MAX;
	return v > (unsigned long long)INT32_MAX + 1;
}

static bool
number_start(const char *t, size_t i, size_t len)
{
	if (digit(t[i]))
		return true;
	if (i + 1 >= len)
		return false;
	if (t[i] == '.')
		return digit(t[i + 1]);
	return (t[i] == '-' || t[i] == '+') && (digit(t[i + 1]) || t[i + 1] == '.');
}

/*
 * libconfig 1.5 reads an integer literal that does not fit 32 bits, written
 * without the L suffix, as its low 32 bits: -5000000000 silently becomes
 * -705032704. Give such literals their L before parsing, so that integers are
 * 64-bit in .cfg files as in JSON. Strings and comments are copied untouched
 * and no newline is added, so line numbers stay right. *out is the new text,
 * NUL-terminated, with room for one more byte; on -ERANGE *off is where the
 * literal too large for 64 bits starts.
 */
static int
widen_integers(const char *text, size_t len, char **out, size_t *off)
{
	size_t i = 0, j, o = 0;
	char *buf;
	int rc;

	/* Each added L follows a literal of at least one character. */
	buf = malloc(2 * len + 2);
	if (buf == NULL)
		return -ENOMEM;
	while (i < len) {
		j = i + 1;
		rc = 0;
		if (text[i] == '"') {
			while (j < len && text[j] != '"')
				j += text[j] == '\\' ? 2 : 1;
			j++;
		} else if (text[i] == '#' || (text[i] == '/' && j < len && text[j] == '/')) {
			while (j < len && text[j] != '\n')
				j++;
		} else if (text[i] == '/' && j < len && text[j] == '*') {
			j++;
			while (j < len && !(text[j - 1] == '*' && text[j] == '/' && j - 1 > i + 1))
				j++;
			j++;
		} else if (alpha(text[i]) || text[i] == '*') {
			while (j < len && name_char(text[j]))
				j++;
		} else if (number_start(text, i, len)) {
			/* Digits, letters (0x, L, e), dots, and a sign right after an exponent. */
			while (j < len && (alpha(text[j]) || digit(text[j]) || text[j] == '.' ||
					   ((text[j] == '-' || text[j] == '+') &&
					    (text[j - 1] == 'e' || text[j - 1] == 'E'))))
				j++;
			rc = needs_l(text + i, j - i);
			if (rc < 0) {
				free(buf);
				*off = i;
				return rc;
			}
		}
		if (j > len)
			j = len;
		memcpy(buf + o, text + i, j - i);
		o += j - i;
		if (rc > 0)
			buf[o++] = 'L';
		i = j;
	}
	buf[o] = '\0';
	*out = buf;
	return 0;
}

struct lc_conv {
	const char *name;
	struct cfg_errors *errs;
};

static json_t *lc_to_json(struct lc_conv *cv, const config_setting_t *s, unsigned int depth);

static json_t *
lc_container(struct lc_conv *cv, const config_setting_t *s, unsigned int depth)
{
	const config_setting_t *e;
	json_t *out, *val;
	int i, n;
	bool group = config_setting_type(s) == CONFIG_TYPE_GROUP;

	out = group ? json_object() : json_array();
	if (out == NULL)
		goto nomem;
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		if (e == NULL)
			continue;
		val = lc_to_json(cv, e, depth + 1);
		if (val == NULL) {
			json_decref(out);
			return NULL;
		}
		if (group) {
			/* libconfig refuses duplicate names; a name is never NULL in a group. */
			if (config_setting_name(e) == NULL ||
			    json_object_set_new(out, config_setting_name(e), val) != 0) {
				json_decref(out);
				goto nomem;
			}
		} else if (json_array_append_new(out, val) != 0) {
			json_decref(out);
			goto nomem;
		}
	}
	return out;
nomem:
	cfg_err(cv->errs, "%s: out of memory", cv->name);
	return NULL;
}

static json_t *
lc_to_json(struct lc_conv *cv, const config_setting_t *s, unsigned int depth)
{
	json_t *j;
	unsigned int line = config_setting_source_line(s);

	if (depth > CFG_DEPTH_MAX) {
		cfg_err(cv->errs, "%s:%u: nested deeper than %u levels", cv->name, line,
			CFG_DEPTH_MAX);
		return NULL;
	}
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		return lc_container(cv, s, depth);
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		j = json_integer(config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		j = json_real(config_setting_get_float(s));
		if (j == NULL) {
			cfg_err(cv->errs, "%s:%u: not a finite number", cv->name, line);
			return NULL;
		}
		break;
	case CONFIG_TYPE_BOOL:
		j = json_boolean(config_setting_get_bool(s));
		break;
	case CONFIG_TYPE_STRING:
		j = json_string(config_setting_get_string(s));
		if (j == NULL) {
			/* The JSON front end refuses invalid UTF-8 too: one rule for both. */
			cfg_err(cv->errs, "%s:%u: string is not valid UTF-8", cv->name, line);
			return NULL;
		}
		break;
	default:
		cfg_err(cv->errs, "%s:%u: unsupported setting type", cv->name, line);
		return NULL;
	}
	if (j == NULL)
		cfg_err(cv->errs, "%s: out of memory", cv->name);
	return j;
}

static json_t *
parse_libconfig(const char *name, const char *text, size_t len, struct cfg_errors *errs)
{
	struct lc_conv cv = { .name = name, .errs = errs };
	unsigned int line;
	int ret;
	const char *nul;
	config_t lc;
	json_t *root;
	size_t off;
	char *buf;

	/* libconfig reads C strings: a NUL would silently end the file early. */
	nul = memchr(text, '\0', len);
	if (nul != NULL) {
		cfg_err(errs, "%s:%u: NUL byte in the text", name,
			line_of(text, (size_t)(nul - text)));
		return NULL;
	}
	if (find_include(text, len, &off)) {
		cfg_err(errs, "%s:%u: @include is not supported", name, line_of(text, off));
		return NULL;
	}
	ret = widen_integers(text, len, &buf, &off);
	if (ret == -ERANGE) {
		cfg_err(errs, "%s:%u: integer does not fit 64 bits", name, line_of(text, off));
		return NULL;
	} else if (ret != 0) {
		cfg_err(errs, "%s: out of memory", name);
		return NULL;
	}
	/* libconfig 1.5 takes a comment on the last line without a newline as a syntax error. */
	strcat(buf, "\n");

	config_init(&lc);
	if (config_read_string(&lc, buf) != CONFIG_TRUE) {
		/* At end of text libconfig counts the newline added above: clamp to the text. */
		line = config_error_line(&lc) > 0 ? (unsigned int)config_error_line(&lc) : 1;
		if (line > line_of(text, len))
			line = line_of(text, len);
		cfg_err(errs, "%s:%u: %s", name, line,
			config_error_text(&lc) != NULL ? config_error_text(&lc) : "syntax error");
		config_destroy(&lc);
		free(buf);
		return NULL;
	}
	root = lc_to_json(&cv, config_root_setting(&lc), 0);
	config_destroy(&lc);
	free(buf);
	return root;
}

static json_t *
parse_json(const char *name, const char *text, size_t len, struct cfg_errors *errs)
{
	json_error_t jerr;
	json_t *root;

	/* A key given twice is an error, as in libconfig, not "the last one wins". */
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (jerr.line > 0)
			cfg_err(errs, "%s:%d: %s", name, jerr.line, jerr.text);
		else
			cfg_err(errs, "%s: %s", name, jerr.text);
	}
	return root;
}

struct cfg *
cfg_load_text(const char *name, enum cfg_syntax syntax, const char *text, size_t len,
	      struct cfg_errors *errs)
{
	struct cfg_errors local;
	struct cfg *c;
	json_t *root;

	if (errs == NULL)
		errs = &local;
	errs->n = 0;
	if (name == NULL)
		name = "<string>";
	if (text == NULL) {
		cfg_err(errs, "%s: no text", name);
		return NULL;
	}
	if (syntax == CFG_SYNTAX_LIBCONFIG)
		root = parse_libconfig(name, text, len, errs);
	else
		root = parse_json(name, text, len, errs);
	if (root == NULL)
		return NULL;
	c = cfg_from_tree(root, errs);
	json_decref(root);
	return c;
}

struct cfg *
cfg_load_json(const char *text, size_t len, struct cfg_errors *errs)
{
	return cfg_load_text("<string>", CFG_SYNTAX_JSON, text, len, errs);
}

struct cfg *
cfg_load_libconfig(const char *text, size_t len, struct cfg_errors *errs)
{
	return cfg_load_text("<string>", CFG_SYNTAX_LIBCONFIG, text, len, errs);
}

static int
read_file(const char *path, char **text, size_t *len)
{
	size_t cap = 4096, n = 0, got;
	char *buf, *nbuf;
	FILE *f;
	int ret = 0;

	f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	buf = malloc(cap);
	if (buf == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= CFG_FILE_MAX) {
				ret = -EFBIG;
				goto out;
			}
			cap *= 2;
			nbuf = realloc(buf, cap);
			if (nbuf == NULL) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nbuf;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				ret = -EIO;
			break;
		}
	}
out:
	fclose(f);
	if (ret != 0) {
		free(buf);
		return ret;
	}
	*text = buf;
	*len = n;
	return 0;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

struct cfg *
cfg_load_file(const char *path, struct cfg_errors *errs)
{
	struct cfg_errors local;
	enum cfg_syntax syntax;
	struct cfg *c;
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (errs == NULL)
		errs = &local;
	errs->n = 0;
	if (path == NULL) {
		cfg_err(errs, "no config file given");
		return NULL;
	}
	ret = read_file(path, &text, &len);
	if (ret != 0) {
		cfg_err(errs, "%s: cannot read: %s", path,
			ret == -EFBIG ? "larger than 16 MiB" : strerror(-ret));
		return NULL;
	}
	syntax = ends_with(path, ".cfg") ? CFG_SYNTAX_LIBCONFIG : CFG_SYNTAX_JSON;
	c = cfg_load_text(path, syntax, text, len, errs);
	free(text);
	return c;
}
