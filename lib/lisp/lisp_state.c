/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "lisp/lisp_ms.h"
#include "lisp/lisp_state.h"
#include "net/net.h"

static const uint8_t state_magic[8] = { 'E', 'Q', 'X', 'L', 'I', 'S', 'P', 'S' };

#define REC_FIXED 103 /* record bytes after the length field, before name and locators */
#define LOC_LEN 22
#define NAME_MAX_LEN 31

#define F_PROXY 0x01
#define F_WANT_NOTIFY 0x02
#define F_XTR_ID 0x04
#define F_AUTHORITATIVE 0x08
#define F_ALL 0x0f

static void
put64(uint8_t *p, uint64_t v)
{
	net_put32(p, (uint32_t)(v >> 32));
	net_put32(p + 4, (uint32_t)v);
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)net_get32(p) << 32 | net_get32(p + 4);
}

static size_t
rec_len(const struct lisp_ms *ms, const struct lisp_reg *r)
{
	const char *name = lisp_ms_site_name(ms, r->site);

	return 2 + REC_FIXED + 1 + strnlen(name, NAME_MAX_LEN) + 1 + LOC_LEN * r->n_locators;
}

struct size_ctx {
	const struct lisp_ms *ms;
	size_t n;
};

static void
size_one(void *arg, const struct lisp_reg *r)
{
	struct size_ctx *c = arg;

	c->n += rec_len(c->ms, r);
}

size_t
lisp_state_size(const struct lisp_ms *ms)
{
	struct size_ctx c = { ms, LISP_STATE_HDR_LEN };

	lisp_ms_foreach(ms, size_one, &c);
	return c.n;
}

static uint8_t *
put_addr(uint8_t *p, const struct lisp_addr *a)
{
	*p++ = a->family;
	memcpy(p, a->bytes, 16);
	return p + 16;
}

struct enc_ctx {
	const struct lisp_ms *ms;
	uint8_t *buf;
	size_t cap;
	size_t off;
	uint32_t count;
	bool full;
};

static void
encode_one(void *arg, const struct lisp_reg *r)
{
	struct enc_ctx *c = arg;
	const char *name = lisp_ms_site_name(c->ms, r->site);
	size_t n = rec_len(c->ms, r), nl = strnlen(name, NAME_MAX_LEN);
	uint8_t *p;
	unsigned int i;

	if (c->full || c->cap - c->off < n) {
		c->full = true;
		return;
	}
	p = c->buf + c->off;
	net_put16(p, (uint16_t)(n - 2));
	p += 2;
	*p++ = r->eid.addr.family;
	*p++ = r->eid.len;
	memcpy(p, r->eid.addr.bytes, 16);
	p += 16;
	*p++ = (uint8_t)((r->proxy_reply ? F_PROXY : 0) | (r->want_map_notify ? F_WANT_NOTIFY : 0) |
			 (r->xtr_id_present ? F_XTR_ID : 0) |
			 (r->authoritative ? F_AUTHORITATIVE : 0));
	*p++ = r->act;
	net_put16(p, r->map_version);
	p += 2;
	net_put32(p, r->ttl);
	p += 4;
	put64(p, r->expiry);
	put64(p + 8, r->registered_at);
	put64(p + 16, r->refreshed_at);
	p += 24;
	memcpy(p, r->xtr_id, 16);
	p += 16;
	put64(p, r->site_id);
	put64(p + 8, r->last_nonce);
	p += 16;
	*p++ = r->key_id;
	*p++ = r->alg_id;
	p = put_addr(p, &r->etr);
	net_put16(p, r->etr_port);
	p += 2;
	*p++ = (uint8_t)nl;
	memcpy(p, name, nl);
	p += nl;
	*p++ = (uint8_t)r->n_locators;
	for (i = 0; i < r->n_locators; i++) {
		p = put_addr(p, &r->loc[i].addr);
		*p++ = r->loc[i].priority;
		*p++ = r->loc[i].weight;
		*p++ = r->loc[i].mpriority;
		*p++ = r->loc[i].mweight;
		*p++ = r->loc[i].flags;
	}
	c->off += n;
	c->count++;
}

static void
state_checksum(const uint8_t *hdr, const uint8_t *body, size_t body_len, uint8_t out[32])
{
	const void *ptr[2] = { hdr, body };
	size_t len[2] = { 32, body_len };

	auth_hmac(AUTH_HMAC_SHA256, LISP_STATE_CHECKSUM_KEY, sizeof(LISP_STATE_CHECKSUM_KEY) - 1,
		  ptr, len, 2, out);
}

int
lisp_state_encode(const struct lisp_ms *ms, uint64_t now, uint8_t *buf, size_t cap)
{
	struct enc_ctx c = { ms, buf, cap, LISP_STATE_HDR_LEN, 0, false };
	uint8_t sum[AUTH_DIGEST_MAX];

	if (cap < LISP_STATE_HDR_LEN)
		return -ENOSPC;
	lisp_ms_foreach(ms, encode_one, &c);
	if (c.full || c.off > INT_MAX || c.off > LISP_STATE_MAX_BYTES)
		return -ENOSPC;
	memset(buf, 0, LISP_STATE_HDR_LEN);
	memcpy(buf, state_magic, sizeof(state_magic));
	net_put16(buf + 8, LISP_STATE_VERSION);
	net_put16(buf + 10, LISP_STATE_HDR_LEN);
	net_put32(buf + 12, c.count);
	net_put32(buf + 16, (uint32_t)(c.off - LISP_STATE_HDR_LEN));
	put64(buf + 20, now);
	state_checksum(buf, buf + LISP_STATE_HDR_LEN, c.off - LISP_STATE_HDR_LEN, sum);
	memcpy(buf + 32, sum, 32);
	return (int)c.off;
}

static bool
get_addr(const uint8_t **pp, struct lisp_addr *a)
{
	const uint8_t *p = *pp;
	unsigned int i, bits;

	a->family = *p++;
	if (a->family != 4 && a->family != 6)
		return false;
	memcpy(a->bytes, p, 16);
	/* Bytes past the family's width are written as zero: anything else is damage. */
	bits = lisp_addr_bits(a->family);
	for (i = bits / 8; i < 16; i++)
		if (a->bytes[i] != 0)
			return false;
	*pp = p + 16;
	return true;
}

/* One record at p (len bytes after its length field) into r and name. */
static bool
decode_one(const uint8_t *p, size_t len, struct lisp_reg *r, char name[NAME_MAX_LEN + 1])
{
	const uint8_t *end = p + len;
	unsigned int i, nl, flags;

	if (len < REC_FIXED + 2)
		return false;
	memset(r, 0, sizeof(*r));
	r->eid.addr.family = *p++;
	r->eid.len = *p++;
	if ((r->eid.addr.family != 4 && r->eid.addr.family != 6) ||
	    r->eid.len > lisp_addr_bits(r->eid.addr.family))
		return false;
	memcpy(r->eid.addr.bytes, p, 16);
	p += 16;
	flags = *p++;
	if (flags & ~F_ALL)
		return false;
	r->proxy_reply = flags & F_PROXY;
	r->want_map_notify = flags & F_WANT_NOTIFY;
	r->xtr_id_present = flags & F_XTR_ID;
	r->authoritative = flags & F_AUTHORITATIVE;
	r->act = *p++;
	r->map_version = net_get16(p);
	p += 2;
	if (r->act > 7 || r->map_version > 0x0fff)
		return false;
	r->ttl = net_get32(p);
	p += 4;
	r->expiry = get64(p);
	r->registered_at = get64(p + 8);
	r->refreshed_at = get64(p + 16);
	p += 24;
	memcpy(r->xtr_id, p, 16);
	p += 16;
	r->site_id = get64(p);
	r->last_nonce = get64(p + 8);
	p += 16;
	r->key_id = *p++;
	r->alg_id = *p++;
	if (!get_addr(&p, &r->etr))
		return false;
	r->etr_port = net_get16(p);
	p += 2;
	nl = *p++;
	if (nl == 0 || nl > NAME_MAX_LEN || (size_t)(end - p) < nl + 1u)
		return false;
	memcpy(name, p, nl);
	name[nl] = '\0';
	if (strlen(name) != nl)
		return false;
	p += nl;
	r->n_locators = *p++;
	if (r->n_locators > LISP_MAX_LOCATORS || (size_t)(end - p) != LOC_LEN * r->n_locators)
		return false;
	for (i = 0; i < r->n_locators; i++) {
		if (!get_addr(&p, &r->loc[i].addr))
			return false;
		r->loc[i].priority = *p++;
		r->loc[i].weight = *p++;
		r->loc[i].mpriority = *p++;
		r->loc[i].mweight = *p++;
		r->loc[i].flags = *p++;
		if (r->loc[i].flags & ~(LISP_LOC_L | LISP_LOC_P | LISP_LOC_R))
			return false;
	}
	return p == end;
}

/* Header and checksum; *count and *body_len on success. */
static int
check_header(const uint8_t *buf, size_t len, uint32_t *count, size_t *body_len)
{
	uint8_t sum[AUTH_DIGEST_MAX];

	if (len < LISP_STATE_HDR_LEN || len > LISP_STATE_MAX_BYTES ||
	    memcmp(buf, state_magic, sizeof(state_magic)) != 0)
		return -EBADMSG;
	if (net_get16(buf + 8) != LISP_STATE_VERSION)
		return -EPROTONOSUPPORT;
	if (net_get16(buf + 10) != LISP_STATE_HDR_LEN ||
	    net_get32(buf + 16) != len - LISP_STATE_HDR_LEN || net_get32(buf + 28) != 0)
		return -EBADMSG;
	state_checksum(buf, buf + LISP_STATE_HDR_LEN, len - LISP_STATE_HDR_LEN, sum);
	if (!auth_equal(sum, buf + 32, 32))
		return -EBADMSG;
	*count = net_get32(buf + 12);
	*body_len = len - LISP_STATE_HDR_LEN;
	return 0;
}

int
lisp_state_decode(struct lisp_ms *ms, const uint8_t *buf, size_t len, uint64_t now,
		  unsigned int flags)
{
	char name[NAME_MAX_LEN + 1];
	struct lisp_reg *r;
	const uint8_t *p, *end;
	uint32_t count, i;
	size_t body, n;
	int rc, installed = 0;

	rc = check_header(buf, len, &count, &body);
	if (rc != 0)
		return rc;
	r = malloc(sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	/* Pass 1: every record must be whole and sane before anything changes. */
	p = buf + LISP_STATE_HDR_LEN;
	end = p + body;
	for (i = 0; i < count; i++) {
		if (end - p < 2)
			goto bad;
		n = net_get16(p);
		if ((size_t)(end - p) - 2 < n || !decode_one(p + 2, n, r, name))
			goto bad;
		p += 2 + n;
	}
	if (p != end)
		goto bad;
	/* Refused before REPLACE clears anything: a snapshot too big leaves the table. */
	if (count > lisp_ms_room(ms) + (flags & LISP_STATE_REPLACE ? lisp_ms_count(ms) : 0)) {
		free(r);
		return -ENOSPC;
	}
	if (flags & LISP_STATE_REPLACE)
		lisp_ms_clear(ms);
	/* Pass 2: install. */
	p = buf + LISP_STATE_HDR_LEN;
	for (i = 0; i < count; i++) {
		n = net_get16(p);
		decode_one(p + 2, n, r, name);
		p += 2 + n;
		rc = lisp_ms_install(ms, r, name, true, now);
		if (rc == 0)
			installed++;
		else if (rc == -ENOMEM || rc == -ENOSPC) {
			lisp_ms_clear(ms);
			free(r);
			return -ENOMEM;
		}
	}
	free(r);
	return installed;
bad:
	free(r);
	return -EBADMSG;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, rc = 0;

	if (slash == NULL) {
		strcpy(dir, ".");
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
lisp_state_write(const char *path, const uint8_t *buf, size_t len)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, buf, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	/* The rename itself is durable only once the directory is. */
	return fsync_dir(path);
}

int
lisp_state_save(const struct lisp_ms *ms, const char *path, uint64_t now)
{
	size_t cap = lisp_state_size(ms);
	uint8_t *buf;
	int len, rc;

	buf = malloc(cap);
	if (buf == NULL)
		return -ENOMEM;
	len = lisp_state_encode(ms, now, buf, cap);
	rc = len < 0 ? len : lisp_state_write(path, buf, (size_t)len);
	free(buf);
	return rc;
}

int
lisp_state_load(struct lisp_ms *ms, const char *path, uint64_t now)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < LISP_STATE_HDR_LEN ||
	    (uint64_t)st.st_size > LISP_STATE_MAX_BYTES) {
		close(fd);
		return -EBADMSG;
	}
	buf = malloc((size_t)st.st_size);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	rc = off == (size_t)st.st_size ? lisp_state_decode(ms, buf, off, now, LISP_STATE_REPLACE)
				       : -EBADMSG;
	free(buf);
	return rc;
}
