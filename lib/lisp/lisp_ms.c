/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The map-server's choices, with the RFC 9301 text they rest on:
 *
 * - Site of a Map-Register: the site whose configured EID prefix is the
 *   longest one containing the first record's prefix; its keys authenticate
 *   the message, and every record must then lie in one of that site's
 *   prefixes (exactly, or inside one that accepts more specifics).
 *
 * - Key ID and Algorithm ID (§5.6, 8 bits each) select the site key with
 *   that id and algorithm. RFC 6833 sent one 16-bit Key ID whose value was
 *   the algorithm (1 HMAC-SHA-1-96, 2 HMAC-SHA-256-128): on the wire, key ID
 *   0 and algorithm 1 or 2. So when the key ID byte is 0 and the algorithm
 *   byte is 1 or 2, the site key with id 1 or 2 (and that algorithm) is a
 *   candidate too; if a site has both readings' keys, the message is checked
 *   against the RFC 9301 one first, then the legacy one. A Map-Notify echoes
 *   the two bytes it answers. Algorithm 3 (HKDF per-message keys) and 0 are
 *   rejected as unsupported.
 *
 * - Registration lifetime: RFC 9301 §8.2 has ETRs register every 60 s and
 *   the Map-Server time a registration out after 3 minutes without one; that
 *   is registration_ttl_s (default 180). A record TTL shorter than that
 *   shortens it; a record TTL of 0 withdraws the prefix ("0 = remove now",
 *   §5.4); 0xffffffff means "the receiver decides": registration_ttl_s. The
 *   record TTL itself is kept for the proxy Map-Replies.
 *
 * - Replays (the nonce "is not currently used for any security function",
 *   §5.6): a Map-Register whose non-zero nonce equals one of the last
 *   LISP_REG_NONCE_HISTORY nonces accepted for a prefix it registers is a
 *   replay (ETRs that want a Map-Notify pick a fresh random nonce per
 *   register), rejected and counted; the last nonce survives a restart in
 *   the state file. A nonce of 0 (allowed when no Map-Notify is wanted)
 *   carries no freshness at all, so such registers cannot be told from
 *   replays and are accepted: configure ETRs with want-map-notify.
 *
 * - One registration per EID prefix: the last accepted Map-Register for it
 *   wins (locators, flags, xTR-ID, source RLOC).
 *
 * - Map-Request for a registered EID (§8.2): forwarded in an ECM with the E
 *   (to-ETR) bit to the RLOC the registration came from, port 4342, the
 *   inner header kept (or, for a request not in an ECM, made as an ITR
 *   would: from the request's source address and port to the EID, or to our
 *   address when the EID is of the other family); when the registration had P set, a proxy
 *   Map-Reply with A clear and the L and p bits of its locators cleared
 *   (they describe the ETR's view, not ours), the registered TTL, to the
 *   ITR-RLOC of the request's address family, at the request's UDP source port.
 *
 * - Negative Map-Replies, action Natively-Forward, no locators, A clear,
 *   the request's nonce: TTL 1 minute for an EID inside a configured site
 *   prefix that nothing registered covers, TTL 15 minutes for an EID of no
 *   site. The prefix is the least specific one that contains the EID, stays
 *   inside the site prefix (in the first case), and covers no other site
 *   prefix or registration, so the ITR caches the whole hole at once
 *   without hiding anything registered.
 *
 * - Map-Request with several records: RFC 9301 lets senders send only one;
 *   the first is answered, the others are decoded and ignored.
 *
 * - Solicited Map-Notify goes to the Map-Register's source address and port
 *   (what a NAT passes back); unsolicited ones (after a restore) to the ETR's
 *   address at port 4342, retransmitted until a Map-Notify-Ack with the same
 *   nonce, verified with the site's key, comes back. Acks for solicited
 *   Map-Notifies are not expected (RFC 9301 §5.7) and count as unmatched.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "lisp/lisp_auth.h"
#include "lisp/lisp_ms.h"
#include "lisp/lisp_trie.h"

#define MS_DEFAULT_MAX_REGS 100000u
#define MS_NEG_TTL_UNREGISTERED 1 /* minutes */
#define MS_NEG_TTL_NOT_EID 15
#define MS_PENDING_MAX 16384u
#define MS_PENDING_SLOTS 32768u
#define MS_PENDING_MASK (MS_PENDING_SLOTS - 1)
#define MS_NOTIFY_BUDGET 1400u /* bytes of one restore Map-Notify */
#define MS_RETX_TRIES 6u
#define MS_INNER_TTL 64

struct ms_key {
	uint8_t id;
	uint8_t alg;
	uint8_t secret_len;
	char secret[CFG_KEY_MAX];
};

struct ms_site {
	char name[CFG_NAME_MAX];
	struct ms_key *keys;
	unsigned int n_keys;
	unsigned int eid_first; /* its EID prefixes: eids[eid_first .. +n_eids] */
	unsigned int n_eids;
};

struct ms_eid {
	struct lisp_prefix prefix;
	bool more_specifics;
	uint16_t site;
};

struct ms_config {
	struct ms_site *sites;
	unsigned int n_sites;
	struct ms_eid *eids;
	unsigned int n_eids;
	struct lisp_trie t4, t6; /* site prefixes -> struct ms_eid */
	uint32_t reg_ttl_s;
};

struct ms_pending {
	uint64_t nonce;
	uint64_t next; /* when to retransmit */
	uint16_t site;
	uint8_t tries; /* retransmissions so far */
	uint16_t len;
	uint16_t dport;
	struct lisp_addr dst;
	uint8_t *buf;
};

struct lisp_ms {
	struct ms_config cfg;
	struct lisp_trie reg4, reg6; /* EID prefixes -> struct lisp_reg */
	struct lisp_reg **heap;      /* every registration, by expiry */
	unsigned int n_regs;
	unsigned int max_regs;
	unsigned int n_restored;
	uint64_t generation;
	uint64_t nonce_state;
	struct ms_pending *pend; /* dense */
	unsigned int n_pend;
	uint32_t *pend_slot; /* open addressing by nonce: index into pend + 1, 0 empty */
	struct lisp_ms_stats stats;
	/* Too big for the stack of a control thread's every call. */
	struct lisp_map_register scratch;
	struct lisp_map_reply reply;
};

static const char *const reject_names[] = { [LISP_MS_OK] = "ok",
#define _(sym, str) [LISP_MS_REJ_##sym] = str,
					    foreach_lisp_ms_reject
#undef _
};

static const char *const counter_names[] = {
#define _(sym, str) [LISP_MS_CTR_##sym] = str,
	foreach_lisp_ms_counter
#undef _
};

const char *
lisp_ms_reject_name(int reason)
{
	if (reason < 0 || reason >= LISP_MS_REJ_MAX)
		return "unknown";
	return reject_names[reason];
}

const char *
lisp_ms_counter_name(int ctr)
{
	if (ctr < 0 || ctr >= LISP_MS_CTR_MAX)
		return "unknown";
	return counter_names[ctr];
}

#define CTR(ms, sym) ((ms)->stats.ctr[LISP_MS_CTR_##sym]++)

/* config */

static void
ms_config_free(struct ms_config *c)
{
	unsigned int i;

	lisp_trie_clear(&c->t4);
	lisp_trie_clear(&c->t6);
	if (c->sites != NULL) {
		for (i = 0; i < c->n_sites; i++) {
			if (c->sites[i].keys != NULL)
				memset(c->sites[i].keys, 0,
				       c->sites[i].n_keys * sizeof(c->sites[i].keys[0]));
			free(c->sites[i].keys);
		}
	}
	free(c->sites);
	free(c->eids);
	memset(c, 0, sizeof(*c));
}

static struct lisp_trie *
site_trie(struct ms_config *c, uint8_t family)
{
	return family == 4 ? &c->t4 : &c->t6;
}

static int
ms_config_build(struct ms_config *out, const struct cfg *c)
{
	const struct cfg_lisp_site *cs;
	struct ms_site *s;
	struct ms_eid *e;
	unsigned int i, j, n = 0;
	void *old;
	int rc;

	memset(out, 0, sizeof(*out));
	lisp_trie_init(&out->t4, 32);
	lisp_trie_init(&out->t6, 128);
	out->reg_ttl_s = c->lisp.registration_ttl_s != 0 ? c->lisp.registration_ttl_s : 180;
	if (c->lisp.n_sites > UINT16_MAX)
		return -EINVAL;
	for (i = 0; i < c->lisp.n_sites; i++)
		n += c->lisp.sites[i].n_eids;
	out->sites = calloc(c->lisp.n_sites != 0 ? c->lisp.n_sites : 1, sizeof(*out->sites));
	out->eids = calloc(n != 0 ? n : 1, sizeof(*out->eids));
	if (out->sites == NULL || out->eids == NULL)
		goto nomem;
	out->n_sites = c->lisp.n_sites;
	for (i = 0; i < c->lisp.n_sites; i++) {
		cs = &c->lisp.sites[i];
		s = &out->sites[i];
		memcpy(s->name, cs->name, sizeof(s->name));
		s->name[sizeof(s->name) - 1] = '\0';
		s->keys = calloc(cs->n_keys != 0 ? cs->n_keys : 1, sizeof(*s->keys));
		if (s->keys == NULL)
			goto nomem;
		for (j = 0; j < cs->n_keys; j++) {
			/* RFC 9301's Key ID is 8 bits: a larger id could never match. */
			if (cs->keys[j].id > UINT8_MAX) {
				rc = -EINVAL;
				goto fail;
			}
			s->keys[j].id = (uint8_t)cs->keys[j].id;
			s->keys[j].alg = cs->keys[j].algorithm == CFG_LISP_ALG_HMAC_SHA1_96
						 ? LISP_ALG_HMAC_SHA1_96
						 : LISP_ALG_HMAC_SHA256_128;
			s->keys[j].secret_len = (uint8_t)strnlen(cs->keys[j].secret, CFG_KEY_MAX);
			memcpy(s->keys[j].secret, cs->keys[j].secret, s->keys[j].secret_len);
		}
		s->n_keys = cs->n_keys;
		s->eid_first = out->n_eids;
		for (j = 0; j < cs->n_eids; j++) {
			e = &out->eids[out->n_eids];
			e->prefix.addr.family = cs->eids[j].prefix.addr.family;
			memcpy(e->prefix.addr.bytes, cs->eids[j].prefix.addr.bytes, 16);
			e->prefix.len = cs->eids[j].prefix.len;
			if (e->prefix.len > lisp_addr_bits(e->prefix.addr.family)) {
				rc = -EINVAL;
				goto fail;
			}
			lisp_prefix_canon(&e->prefix);
			e->more_specifics = cs->eids[j].accept_more_specifics;
			e->site = (uint16_t)i;
			rc = lisp_trie_insert(site_trie(out, e->prefix.addr.family),
					      e->prefix.addr.bytes, e->prefix.len, e, &old);
			if (rc == 0 && old != NULL)
				rc = -EEXIST; /* two sites claim one prefix */
			if (rc != 0)
				goto fail;
			out->n_eids++;
		}
		s->n_eids = out->n_eids - s->eid_first;
	}
	return 0;
nomem:
	rc = -ENOMEM;
fail:
	ms_config_free(out);
	return rc;
}

static int
ms_site_by_name(const struct ms_config *c, const char *name)
{
	unsigned int i;

	for (i = 0; i < c->n_sites; i++)
		if (strncmp(c->sites[i].name, name, CFG_NAME_MAX) == 0)
			return (int)i;
	return -1;
}

/* Whether site may register p: LISP_MS_OK, _OUTSIDE_SITE or _MORE_SPECIFIC. */
static int
ms_allowed(const struct ms_config *c, unsigned int site, const struct lisp_prefix *p)
{
	const struct ms_site *s = &c->sites[site];
	const struct ms_eid *e;
	bool inside = false;
	unsigned int i;

	for (i = 0; i < s->n_eids; i++) {
		e = &c->eids[s->eid_first + i];
		if (!lisp_prefix_contains(&e->prefix, p))
			continue;
		if (e->prefix.len == p->len || e->more_specifics)
			return LISP_MS_OK;
		inside = true;
	}
	return inside ? LISP_MS_REJ_MORE_SPECIFIC : LISP_MS_REJ_OUTSIDE_SITE;
}

/* The configured prefix most specific among those containing p, or NULL. */
static const struct ms_eid *
ms_site_of(struct ms_config *c, const struct lisp_prefix *p)
{
	return lisp_trie_lpm(site_trie(c, p->addr.family), p->addr.bytes, p->len, NULL);
}

/*
 * The keys that may have signed a message with these Key ID and Algorithm
 * ID bytes (see the top of this file): up to two candidates.
 */
static int
ms_keys_for(const struct ms_site *s, uint8_t key_id, uint8_t alg_id, uint16_t auth_len,
	    const struct ms_key *cand[2])
{
	const struct ms_key *k1 = NULL, *k2 = NULL, *k;
	bool id_seen = false;
	unsigned int i;

	cand[0] = cand[1] = NULL;
	for (i = 0; i < s->n_keys; i++) {
		k = &s->keys[i];
		if (k->id == key_id) {
			id_seen = true;
			if (k->alg == alg_id)
				k1 = k;
		}
		if (key_id == 0 && k->id == alg_id &&
		    (alg_id == LISP_ALG_HMAC_SHA1_96 || alg_id == LISP_ALG_HMAC_SHA256_128)) {
			id_seen = true;
			if (k->alg == alg_id)
				k2 = k;
		}
	}
	if (lisp_auth_len(alg_id) == 0)
		return id_seen ? LISP_MS_REJ_BAD_ALGORITHM : LISP_MS_REJ_UNKNOWN_KEY;
	if (k1 == NULL && k2 == NULL)
		return id_seen ? LISP_MS_REJ_BAD_ALGORITHM : LISP_MS_REJ_UNKNOWN_KEY;
	if (auth_len != lisp_auth_len(alg_id))
		return LISP_MS_REJ_BAD_AUTH_LENGTH;
	cand[0] = k1 != NULL ? k1 : k2;
	cand[1] = k1 != NULL && k2 != NULL && k1 != k2 ? k2 : NULL;
	return LISP_MS_OK;
}

/* Authenticate a Map-Register/-Notify-Ack of site s; *used gets the key. */
static int
ms_authenticate(const struct ms_site *s, const struct lisp_map_register *m, const uint8_t *msg,
		size_t len, const struct ms_key **used)
{
	const struct ms_key *cand[2];
	unsigned int i;
	int rc;

	rc = ms_keys_for(s, m->key_id, m->alg_id, m->auth_len, cand);
	if (rc != LISP_MS_OK)
		return rc;
	for (i = 0; i < 2 && cand[i] != NULL; i++) {
		if (lisp_auth_verify(msg, len, m->auth_off, m->auth_len, m->alg_id, cand[i]->secret,
				     cand[i]->secret_len)) {
			*used = cand[i];
			return LISP_MS_OK;
		}
	}
	return LISP_MS_REJ_BAD_MAC;
}

/* registrations: tries and the expiry heap */

static struct lisp_trie *
reg_trie(struct lisp_ms *ms, uint8_t family)
{
	return family == 4 ? &ms->reg4 : &ms->reg6;
}

static const struct lisp_trie *
reg_trie_c(const struct lisp_ms *ms, uint8_t family)
{
	return family == 4 ? &ms->reg4 : &ms->reg6;
}

static void
heap_set(struct lisp_ms *ms, unsigned int i, struct lisp_reg *r)
{
	ms->heap[i] = r;
	r->heap_idx = i;
}

static void
heap_up(struct lisp_ms *ms, unsigned int i)
{
	struct lisp_reg *r = ms->heap[i];
	unsigned int p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (ms->heap[p]->expiry <= r->expiry)
			break;
		heap_set(ms, i, ms->heap[p]);
		i = p;
	}
	heap_set(ms, i, r);
}

static void
heap_down(struct lisp_ms *ms, unsigned int i)
{
	struct lisp_reg *r = ms->heap[i];
	unsigned int c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= ms->n_regs)
			break;
		if (c + 1 < ms->n_regs && ms->heap[c + 1]->expiry < ms->heap[c]->expiry)
			c++;
		if (r->expiry <= ms->heap[c]->expiry)
			break;
		heap_set(ms, i, ms->heap[c]);
		i = c;
	}
	heap_set(ms, i, r);
}

static void
reg_remove(struct lisp_ms *ms, struct lisp_reg *r)
{
	unsigned int i = r->heap_idx;
	struct lisp_reg *last;

	lisp_trie_remove(reg_trie(ms, r->eid.addr.family), r->eid.addr.bytes, r->eid.len);
	last = ms->heap[--ms->n_regs];
	if (i != ms->n_regs) {
		heap_set(ms, i, last);
		heap_up(ms, i);
		heap_down(ms, last->heap_idx);
	}
	if (r->restored)
		ms->n_restored--;
	ms->generation++;
	free(r);
}

/* A new registration of p (not in the table), or NULL when out of memory. */
static struct lisp_reg *
reg_add(struct lisp_ms *ms, const struct lisp_prefix *p, uint64_t expiry)
{
	struct lisp_reg *r;
	void *old;

	if (ms->n_regs >= ms->max_regs)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->eid = *p;
	r->expiry = expiry;
	if (lisp_trie_insert(reg_trie(ms, p->addr.family), p->addr.bytes, p->len, r, &old) != 0) {
		free(r);
		return NULL;
	}
	heap_set(ms, ms->n_regs, r);
	ms->n_regs++;
	heap_up(ms, ms->n_regs - 1);
	ms->generation++;
	return r;
}

static void
reg_set_expiry(struct lisp_ms *ms, struct lisp_reg *r, uint64_t expiry)
{
	r->expiry = expiry;
	heap_up(ms, r->heap_idx);
	heap_down(ms, r->heap_idx);
}

static void
ms_expire(struct lisp_ms *ms, uint64_t now)
{
	struct lisp_reg *r;

	while (ms->n_regs > 0 && ms->heap[0]->expiry <= now) {
		r = ms->heap[0];
		CTR(ms, REG_EXPIRED);
		if (r->restored)
			CTR(ms, RESTORED_EXPIRED);
		reg_remove(ms, r);
	}
}

static bool
reg_nonce_seen(const struct lisp_reg *r, uint64_t nonce)
{
	unsigned int i;

	if (nonce == 0)
		return false;
	for (i = 0; i < r->n_hist; i++)
		if (r->hist[i] == nonce)
			return true;
	return false;
}

static void
reg_nonce_push(struct lisp_reg *r, uint64_t nonce)
{
	r->last_nonce = nonce;
	if (nonce == 0)
		return;
	r->hist[r->hist_pos] = nonce;
	r->hist_pos = (uint8_t)((r->hist_pos + 1) % LISP_REG_NONCE_HISTORY);
	if (r->n_hist < LISP_REG_NONCE_HISTORY)
		r->n_hist++;
}

/* pending unsolicited Map-Notifies, by nonce */

static uint32_t
pend_hash(uint64_t nonce)
{
	return (uint32_t)((nonce * 0x9e3779b97f4a7c15ull) >> 49) & MS_PENDING_MASK;
}

static int
pend_find(const struct lisp_ms *ms, uint64_t nonce)
{
	uint32_t i = pend_hash(nonce), v;

	while ((v = ms->pend_slot[i]) != 0) {
		if (ms->pend[v - 1].nonce == nonce)
			return (int)i;
		i = (i + 1) & MS_PENDING_MASK;
	}
	return -1;
}

/* Empty slot i, shifting back the entries of its cluster that may move. */
static void
pend_slot_clear(struct lisp_ms *ms, uint32_t i)
{
	uint32_t j = i, k, h;

	for (;;) {
		ms->pend_slot[j] = 0;
		k = j;
		for (;;) {
			k = (k + 1) & MS_PENDING_MASK;
			if (ms->pend_slot[k] == 0)
				return;
			h = pend_hash(ms->pend[ms->pend_slot[k] - 1].nonce);
			/* The entry at k may fill j unless its home lies in (j, k]. */
			if (j <= k ? (h <= j || h > k) : (h <= j && h > k))
				break;
		}
		ms->pend_slot[j] = ms->pend_slot[k];
		j = k;
	}
}

static void
pend_remove(struct lisp_ms *ms, uint32_t slot)
{
	unsigned int idx = ms->pend_slot[slot] - 1, last = ms->n_pend - 1;
	int s;

	pend_slot_clear(ms, slot);
	free(ms->pend[idx].buf);
	if (idx != last) {
		ms->pend[idx] = ms->pend[last];
		s = pend_find(ms, ms->pend[idx].nonce);
		if (s >= 0)
			ms->pend_slot[s] = idx + 1;
	}
	ms->n_pend--;
}

static void
pend_clear(struct lisp_ms *ms)
{
	unsigned int i;

	for (i = 0; i < ms->n_pend; i++)
		free(ms->pend[i].buf);
	ms->n_pend = 0;
	memset(ms->pend_slot, 0, MS_PENDING_SLOTS * sizeof(ms->pend_slot[0]));
}

static bool
pend_add(struct lisp_ms *ms, const struct lisp_out *o, uint64_t nonce, uint16_t site, uint64_t now)
{
	struct ms_pending *p;
	uint32_t i;

	if (ms->n_pend >= MS_PENDING_MAX)
		return false;
	p = &ms->pend[ms->n_pend];
	p->buf = malloc(o->len);
	if (p->buf == NULL)
		return false;
	memcpy(p->buf, o->buf, o->len);
	p->len = o->len;
	p->dst = o->dst;
	p->dport = o->dport;
	p->nonce = nonce;
	p->site = site;
	p->tries = 0;
	p->next = now + 3;
	i = pend_hash(nonce);
	while (ms->pend_slot[i] != 0)
		i = (i + 1) & MS_PENDING_MASK;
	ms->pend_slot[i] = ++ms->n_pend;
	return true;
}

/* splitmix64: distinct, unpredictable enough for matching acks; never 0. */
static uint64_t
ms_nonce(struct lisp_ms *ms)
{
	uint64_t z;

	do {
		z = (ms->nonce_state += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
	} while (z == 0 || pend_find(ms, z) >= 0);
	return z;
}

/* create, free, reconfigure */

struct lisp_ms *
lisp_ms_create(const struct cfg *c, const struct lisp_ms_params *p)
{
	struct lisp_ms *ms;
	int rc;

	ms = calloc(1, sizeof(*ms));
	if (ms == NULL)
		return NULL;
	rc = ms_config_build(&ms->cfg, c);
	if (rc != 0) {
		free(ms);
		errno = -rc;
		return NULL;
	}
	ms->max_regs =
		p != NULL && p->max_registrations != 0 ? p->max_registrations : MS_DEFAULT_MAX_REGS;
	ms->nonce_state = p != NULL ? p->nonce_seed : 0;
	lisp_trie_init(&ms->reg4, 32);
	lisp_trie_init(&ms->reg6, 128);
	ms->heap = calloc(ms->max_regs, sizeof(ms->heap[0]));
	ms->pend = calloc(MS_PENDING_MAX, sizeof(ms->pend[0]));
	ms->pend_slot = calloc(MS_PENDING_SLOTS, sizeof(ms->pend_slot[0]));
	if (ms->heap == NULL || ms->pend == NULL || ms->pend_slot == NULL) {
		lisp_ms_free(ms);
		errno = ENOMEM;
		return NULL;
	}
	return ms;
}

void
lisp_ms_clear(struct lisp_ms *ms)
{
	while (ms->n_regs > 0)
		reg_remove(ms, ms->heap[ms->n_regs - 1]);
}

void
lisp_ms_free(struct lisp_ms *ms)
{
	if (ms == NULL)
		return;
	if (ms->heap != NULL)
		lisp_ms_clear(ms);
	lisp_trie_clear(&ms->reg4);
	lisp_trie_clear(&ms->reg6);
	if (ms->pend != NULL && ms->pend_slot != NULL)
		pend_clear(ms);
	free(ms->pend);
	free(ms->pend_slot);
	free(ms->heap);
	ms_config_free(&ms->cfg);
	free(ms);
}

int
lisp_ms_reconfigure(struct lisp_ms *ms, const struct cfg *c)
{
	struct lisp_reg **drop = NULL, *r;
	struct ms_config nc;
	unsigned int i, n = 0;
	int rc, site;

	rc = ms_config_build(&nc, c);
	if (rc != 0)
		return rc;
	if (ms->n_regs > 0) {
		drop = malloc(ms->n_regs * sizeof(*drop));
		if (drop == NULL) {
			ms_config_free(&nc);
			return -ENOMEM;
		}
	}
	/* Decide first, remove after: removals reorder the heap being walked. */
	for (i = 0; i < ms->n_regs; i++) {
		r = ms->heap[i];
		site = ms_site_by_name(&nc, ms->cfg.sites[r->site].name);
		if (site < 0 || ms_allowed(&nc, (unsigned int)site, &r->eid) != LISP_MS_OK)
			drop[n++] = r;
		else
			r->site = (uint16_t)site;
	}
	for (i = 0; i < n; i++) {
		CTR(ms, REG_DROPPED_BY_CONFIG);
		reg_remove(ms, drop[i]);
	}
	free(drop);
	pend_clear(ms);
	ms_config_free(&ms->cfg);
	ms->cfg = nc;
	ms->generation++;
	return 0;
}

/* Map-Register */

static uint64_t
reg_lifetime(const struct lisp_ms *ms, uint32_t ttl_min)
{
	uint64_t life = ms->cfg.reg_ttl_s;

	if (ttl_min != LISP_TTL_INFINITE && (uint64_t)ttl_min * 60 < life)
		life = (uint64_t)ttl_min * 60;
	return life;
}

static void
reg_fill(struct lisp_reg *r, const struct lisp_record *rec)
{
	r->ttl = rec->ttl;
	r->act = rec->act;
	r->authoritative = rec->authoritative;
	r->map_version = rec->map_version;
	r->n_locators = rec->n_locators;
	memcpy(r->loc, rec->loc, rec->n_locators * sizeof(rec->loc[0]));
}

static int
ms_register(struct lisp_ms *ms, const struct lisp_pkt_info *pkt, const uint8_t *msg, size_t len,
	    uint64_t now, struct lisp_out *out)
{
	struct lisp_map_register *m = &ms->scratch;
	struct lisp_prefix p[LISP_MAX_RECORDS];
	const struct ms_key *key = NULL;
	const struct ms_eid *home;
	struct lisp_reg *r;
	unsigned int i, j, fresh = 0, site;
	int rc, n;

	if (lisp_decode_map_register(msg, len, m) != LISP_WIRE_OK ||
	    (pkt->src.family != 4 && pkt->src.family != 6))
		return LISP_MS_REJ_MALFORMED;
	for (i = 0; i < m->n_records; i++) {
		p[i] = m->rec[i].eid;
		lisp_prefix_canon(&p[i]);
		/* One prefix twice would make "all or nothing" depend on record order. */
		for (j = 0; j < i; j++)
			if (lisp_prefix_equal(&p[i], &p[j]))
				return LISP_MS_REJ_MALFORMED;
	}
	home = ms_site_of(&ms->cfg, &p[0]);
	if (home == NULL)
		return LISP_MS_REJ_NO_SITE;
	site = home->site;
	rc = ms_authenticate(&ms->cfg.sites[site], m, msg, len, &key);
	if (rc != LISP_MS_OK)
		return rc;
	/* Every check before any change: the message is taken whole or not at all. */
	for (i = 0; i < m->n_records; i++) {
		rc = ms_allowed(&ms->cfg, site, &p[i]);
		if (rc != LISP_MS_OK)
			return rc;
		r = lisp_trie_exact(reg_trie(ms, p[i].addr.family), p[i].addr.bytes, p[i].len);
		if (r != NULL && reg_nonce_seen(r, m->nonce))
			return LISP_MS_REJ_REPLAY;
		if (r == NULL && m->rec[i].ttl != 0)
			fresh++;
	}
	if (fresh > ms->max_regs - ms->n_regs)
		return LISP_MS_REJ_TABLE_FULL;
	for (i = 0; i < m->n_records; i++) {
		r = lisp_trie_exact(reg_trie(ms, p[i].addr.family), p[i].addr.bytes, p[i].len);
		if (m->rec[i].ttl == 0) {
			if (r != NULL) {
				CTR(ms, REG_WITHDRAWN);
				reg_remove(ms, r);
			}
			continue;
		}
		if (r == NULL) {
			r = reg_add(ms, &p[i], now);
			if (r == NULL)
				return LISP_MS_REJ_NO_MEMORY;
			r->registered_at = now;
			CTR(ms, REG_NEW);
		} else if (r->restored) {
			r->restored = false;
			ms->n_restored--;
			CTR(ms, RESTORED_REFRESHED);
		} else {
			CTR(ms, REG_REFRESHED);
		}
		reg_fill(r, &m->rec[i]);
		r->site = (uint16_t)site;
		r->proxy_reply = m->proxy_reply;
		r->want_map_notify = m->want_map_notify;
		r->xtr_id_present = m->xtr_id_present;
		memcpy(r->xtr_id, m->xtr_id, sizeof(r->xtr_id));
		r->site_id = m->site_id;
		reg_nonce_push(r, m->nonce);
		r->key_id = m->key_id;
		r->alg_id = m->alg_id;
		r->etr = pkt->src;
		r->etr_port = pkt->sport;
		r->refreshed_at = now;
		reg_set_expiry(ms, r, now + reg_lifetime(ms, m->rec[i].ttl));
		ms->generation++;
	}
	if (!m->want_map_notify)
		return LISP_MS_OK;
	/* RFC 9301 §5.7: the Map-Notify carries the register's nonce and records. */
	m->type = LISP_TYPE_MAP_NOTIFY;
	m->proxy_reply = m->lisp_sec = m->rtr = m->want_map_notify = false;
	m->xtr_id_present = false;
	n = lisp_encode_map_register(out->buf, sizeof(out->buf), m);
	if (n < 0 || lisp_auth_sign(out->buf, (size_t)n, LISP_REG_AUTH_OFF, m->auth_len, m->alg_id,
				    key->secret, key->secret_len) != 0)
		return LISP_MS_OK; /* cannot happen: the notify is no bigger than the register */
	out->len = (uint16_t)n;
	out->dst = pkt->src;
	out->dport = pkt->sport;
	out->sport = LISP_PORT;
	CTR(ms, TX_MAP_NOTIFY);
	return LISP_MS_OK;
}

static int
ms_notify_ack(struct lisp_ms *ms, const uint8_t *msg, size_t len)
{
	struct lisp_map_register *m = &ms->scratch;
	const struct ms_key *key;
	int slot, rc;

	if (lisp_decode_map_register(msg, len, m) != LISP_WIRE_OK)
		return LISP_MS_REJ_MALFORMED;
	slot = pend_find(ms, m->nonce);
	if (slot < 0)
		return LISP_MS_REJ_UNMATCHED_ACK;
	rc = ms_authenticate(&ms->cfg.sites[ms->pend[ms->pend_slot[slot] - 1].site], m, msg, len,
			     &key);
	if (rc != LISP_MS_OK)
		return rc;
	pend_remove(ms, (uint32_t)slot);
	CTR(ms, NOTIFY_ACKED);
	return LISP_MS_OK;
}

/* Map-Request */

static const struct lisp_addr *
pick_itr_rloc(const struct lisp_map_request *q, uint8_t family)
{
	unsigned int i;

	for (i = 0; i < q->n_itr_rlocs; i++)
		if (q->itr_rloc[i].family == family)
			return &q->itr_rloc[i];
	return &q->itr_rloc[0];
}

static void
reg_to_record(const struct lisp_reg *r, struct lisp_record *rec)
{
	unsigned int i;

	rec->ttl = r->ttl;
	rec->act = r->act;
	rec->authoritative = false; /* §5.4: clear in a Map-Server's proxy reply */
	rec->map_version = r->map_version;
	rec->eid = r->eid;
	rec->n_locators = r->n_locators;
	memcpy(rec->loc, r->loc, r->n_locators * sizeof(r->loc[0]));
	for (i = 0; i < rec->n_locators; i++)
		rec->loc[i].flags &= (uint8_t) ~(LISP_LOC_L | LISP_LOC_P);
}

static int
ms_reply(struct lisp_ms *ms, const struct lisp_map_request *q, uint8_t family, uint16_t dport,
	 struct lisp_out *out)
{
	int n;

	ms->reply.flags = 0;
	ms->reply.nonce = q->nonce;
	ms->reply.n_records = 1;
	n = lisp_encode_map_reply(out->buf, sizeof(out->buf), &ms->reply);
	if (n < 0)
		return LISP_MS_REJ_MALFORMED;
	out->len = (uint16_t)n;
	out->dst = *pick_itr_rloc(q, family);
	out->dport = dport;
	out->sport = LISP_PORT;
	return LISP_MS_OK;
}

static int
ms_request(struct lisp_ms *ms, const struct lisp_pkt_info *pkt, const struct lisp_ecm *ecm,
	   const uint8_t *msg, size_t len, struct lisp_out *out)
{
	struct lisp_map_request q;
	struct lisp_record *rec = &ms->reply.rec[0];
	const struct lisp_prefix *eid;
	const struct ms_eid *home;
	const struct lisp_reg *r;
	struct lisp_ecm fwd;
	uint8_t family = ecm != NULL ? ecm->src.family : pkt->src.family;
	uint16_t dport = ecm != NULL ? ecm->sport : pkt->sport;
	unsigned int l, h;
	int n, rc;

	if (lisp_decode_map_request(msg, len, &q) != LISP_WIRE_OK ||
	    (ecm == NULL && (pkt->src.family != pkt->dst.family ||
			     (pkt->src.family != 4 && pkt->src.family != 6))))
		return LISP_MS_REJ_MALFORMED;
	eid = &q.eid[0];
	r = lisp_trie_lpm(reg_trie(ms, eid->addr.family), eid->addr.bytes, eid->len, NULL);
	if (r != NULL && r->proxy_reply) {
		reg_to_record(r, rec);
		rc = ms_reply(ms, &q, family, dport, out);
		if (rc == LISP_MS_OK)
			CTR(ms, REQ_PROXY_REPLY);
		return rc;
	}
	if (r != NULL) {
		memset(&fwd, 0, sizeof(fwd));
		fwd.flags = LISP_ECM_E;
		if (ecm != NULL) {
			fwd.src = ecm->src;
			fwd.dst = ecm->dst;
			fwd.sport = ecm->sport;
			fwd.dport = ecm->dport;
			fwd.ttl = ecm->ttl;
		} else {
			/* What the ITR would have put there: itself to the EID. */
			fwd.src = pkt->src;
			fwd.dst = eid->addr.family == pkt->src.family ? eid->addr : pkt->dst;
			fwd.sport = pkt->sport;
			fwd.dport = pkt->dport;
			fwd.ttl = MS_INNER_TTL;
		}
		fwd.msg = msg;
		fwd.msg_len = len;
		n = lisp_encode_ecm(out->buf, sizeof(out->buf), &fwd);
		if (n < 0)
			return LISP_MS_REJ_MALFORMED;
		out->len = (uint16_t)n;
		out->dst = r->etr;
		out->dport = LISP_PORT;
		out->sport = LISP_PORT;
		CTR(ms, REQ_FORWARDED);
		return LISP_MS_OK;
	}
	/* Negative: the widest hole around the EID that hides nothing configured or registered. */
	home = ms_site_of(&ms->cfg, eid);
	l = lisp_trie_hole(site_trie(&ms->cfg, eid->addr.family), eid->addr.bytes);
	h = lisp_trie_hole(reg_trie(ms, eid->addr.family), eid->addr.bytes);
	if (h > l)
		l = h;
	if (home != NULL && home->prefix.len > l)
		l = home->prefix.len;
	rec->authoritative = false;
	rec->map_version = 0;
	rec->n_locators = 0;
	rec->ttl = home != NULL ? MS_NEG_TTL_UNREGISTERED : MS_NEG_TTL_NOT_EID;
	rec->act = LISP_ACT_NATIVELY_FORWARD;
	rec->eid.addr = eid->addr;
	rec->eid.len = (uint8_t)l;
	lisp_prefix_canon(&rec->eid);
	rc = ms_reply(ms, &q, family, dport, out);
	if (rc != LISP_MS_OK)
		return rc;
	if (home != NULL)
		CTR(ms, REQ_NEGATIVE_UNREGISTERED);
	else
		CTR(ms, REQ_NEGATIVE_NOT_EID);
	return LISP_MS_OK;
}

static int
ms_input(struct lisp_ms *ms, const struct lisp_pkt_info *pkt, const uint8_t *msg, size_t len,
	 uint64_t now, struct lisp_out *out)
{
	struct lisp_ecm ecm;

	switch (lisp_msg_type(msg, len)) {
	case LISP_TYPE_MAP_REQUEST:
		CTR(ms, RX_MAP_REQUEST);
		return ms_request(ms, pkt, NULL, msg, len, out);
	case LISP_TYPE_ECM:
		CTR(ms, RX_ECM);
		if (lisp_decode_ecm(msg, len, &ecm) != LISP_WIRE_OK)
			return LISP_MS_REJ_MALFORMED;
		if (ecm.flags & LISP_ECM_E)
			return LISP_MS_REJ_ECM_TO_ETR;
		if (lisp_msg_type(ecm.msg, ecm.msg_len) != LISP_TYPE_MAP_REQUEST)
			return LISP_MS_REJ_ECM_NOT_REQUEST;
		return ms_request(ms, pkt, &ecm, ecm.msg, ecm.msg_len, out);
	case LISP_TYPE_MAP_REGISTER:
		CTR(ms, RX_MAP_REGISTER);
		return ms_register(ms, pkt, msg, len, now, out);
	case LISP_TYPE_MAP_NOTIFY_ACK:
		CTR(ms, RX_MAP_NOTIFY_ACK);
		return ms_notify_ack(ms, msg, len);
	case LISP_TYPE_MAP_REPLY:
		CTR(ms, RX_MAP_REPLY);
		return LISP_MS_REJ_UNEXPECTED_TYPE;
	case LISP_TYPE_MAP_NOTIFY:
		CTR(ms, RX_MAP_NOTIFY);
		return LISP_MS_REJ_UNEXPECTED_TYPE;
	default:
		CTR(ms, RX_OTHER);
		return len == 0 ? LISP_MS_REJ_MALFORMED : LISP_MS_REJ_UNKNOWN_TYPE;
	}
}

int
lisp_ms_input(struct lisp_ms *ms, const struct lisp_pkt_info *pkt, const uint8_t *msg, size_t len,
	      uint64_t now, struct lisp_out *out)
{
	int rc;

	out->len = 0;
	ms_expire(ms, now);
	rc = ms_input(ms, pkt, msg, len, now, out);
	if (rc != LISP_MS_OK) {
		out->len = 0;
		ms->stats.reject[rc]++;
	}
	return rc;
}

/* timers and unsolicited Map-Notify */

void
lisp_ms_tick(struct lisp_ms *ms, uint64_t now, lisp_send_fn *send, void *arg)
{
	struct lisp_out *o = NULL;
	struct ms_pending *p;
	unsigned int i;
	int slot;

	ms_expire(ms, now);
	/* Downwards: removing i moves the last entry, already visited, into i. */
	for (i = ms->n_pend; i-- > 0;) {
		p = &ms->pend[i];
		if (now < p->next)
			continue;
		if (p->tries >= MS_RETX_TRIES) {
			CTR(ms, NOTIFY_UNACKED);
			slot = pend_find(ms, p->nonce);
			if (slot >= 0)
				pend_remove(ms, (uint32_t)slot);
			continue;
		}
		if (o == NULL) {
			o = malloc(sizeof(*o));
			if (o == NULL)
				return;
		}
		memcpy(o->buf, p->buf, p->len);
		o->len = p->len;
		o->dst = p->dst;
		o->dport = p->dport;
		o->sport = LISP_PORT;
		p->tries++;
		/* RFC 9301 §5.7: three times 3 s apart, then backing off three more times. */
		p->next = now + (p->tries < 3 ? 3u : 3u << (p->tries - 2));
		CTR(ms, TX_MAP_NOTIFY_RETRANSMIT);
		send(arg, o);
	}
	free(o);
}

static int
reg_group_cmp(const void *a, const void *b)
{
	const struct lisp_reg *x = *(const struct lisp_reg *const *)a;
	const struct lisp_reg *y = *(const struct lisp_reg *const *)b;
	int c;

	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	if (x->etr.family != y->etr.family)
		return x->etr.family < y->etr.family ? -1 : 1;
	c = memcmp(x->etr.bytes, y->etr.bytes, 16);
	if (c != 0)
		return c;
	if (x->key_id != y->key_id)
		return x->key_id < y->key_id ? -1 : 1;
	if (x->alg_id != y->alg_id)
		return x->alg_id < y->alg_id ? -1 : 1;
	return 0;
}

static bool
same_group(const struct lisp_reg *x, const struct lisp_reg *y)
{
	return reg_group_cmp(&x, &y) == 0;
}

static size_t
record_size(const struct lisp_reg *r)
{
	size_t n = 12 + lisp_addr_bits(r->eid.addr.family) / 8;
	unsigned int i;

	for (i = 0; i < r->n_locators; i++)
		n += 8 + lisp_addr_bits(r->loc[i].addr.family) / 8;
	return n;
}

/* The key to sign an unsolicited Map-Notify for regs of site s that used key_id/alg_id. */
static const struct ms_key *
notify_key(const struct ms_site *s, uint8_t *key_id, uint8_t *alg_id)
{
	const struct ms_key *cand[2];

	if (ms_keys_for(s, *key_id, *alg_id, (uint16_t)lisp_auth_len(*alg_id), cand) == LISP_MS_OK)
		return cand[0];
	if (s->n_keys == 0)
		return NULL;
	/* The key it used is gone (config changed): sign with the site's first. */
	*key_id = s->keys[0].id;
	*alg_id = s->keys[0].alg;
	return &s->keys[0];
}

static bool
ms_send_notify(struct lisp_ms *ms, struct lisp_reg **g, unsigned int n, uint64_t now,
	       struct lisp_out *o, lisp_send_fn *send, void *arg)
{
	struct lisp_map_register *m = &ms->scratch;
	const struct ms_key *k;
	unsigned int i;
	int len;

	memset(m, 0, offsetof(struct lisp_map_register, rec));
	m->type = LISP_TYPE_MAP_NOTIFY;
	m->key_id = g[0]->key_id;
	m->alg_id = g[0]->alg_id;
	k = notify_key(&ms->cfg.sites[g[0]->site], &m->key_id, &m->alg_id);
	if (k == NULL)
		return false;
	m->auth_len = (uint16_t)lisp_auth_len(m->alg_id);
	m->nonce = ms_nonce(ms);
	m->n_records = n;
	for (i = 0; i < n; i++) {
		reg_to_record(g[i], &m->rec[i]);
		/* The ETR's own records, as it registered them. */
		m->rec[i].authoritative = g[i]->authoritative;
		memcpy(m->rec[i].loc, g[i]->loc, g[i]->n_locators * sizeof(g[i]->loc[0]));
	}
	len = lisp_encode_map_register(o->buf, sizeof(o->buf), m);
	if (len < 0 || lisp_auth_sign(o->buf, (size_t)len, LISP_REG_AUTH_OFF, m->auth_len,
				      m->alg_id, k->secret, k->secret_len) != 0)
		return false;
	o->len = (uint16_t)len;
	o->dst = g[0]->etr;
	o->dport = LISP_PORT;
	o->sport = LISP_PORT;
	if (!pend_add(ms, o, m->nonce, g[0]->site, now))
		CTR(ms, NOTIFY_UNTRACKED);
	CTR(ms, TX_MAP_NOTIFY_RESTORE);
	send(arg, o);
	return true;
}

unsigned int
lisp_ms_notify_restored(struct lisp_ms *ms, uint64_t now, lisp_send_fn *send, void *arg)
{
	struct lisp_reg **v;
	struct lisp_out *o;
	unsigned int i, j, n = 0, sent = 0;
	size_t size;

	ms_expire(ms, now);
	if (ms->n_restored == 0)
		return 0;
	v = malloc(ms->n_restored * sizeof(*v));
	o = malloc(sizeof(*o));
	if (v == NULL || o == NULL)
		goto out;
	for (i = 0; i < ms->n_regs; i++)
		if (ms->heap[i]->restored &&
		    (ms->heap[i]->etr.family == 4 || ms->heap[i]->etr.family == 6))
			v[n++] = ms->heap[i];
	qsort(v, n, sizeof(*v), reg_group_cmp);
	for (i = 0; i < n; i = j) {
		size = LISP_REG_AUTH_OFF + lisp_auth_len(v[i]->alg_id) + record_size(v[i]);
		for (j = i + 1; j < n && j - i < LISP_MAX_RECORDS && same_group(v[i], v[j]); j++) {
			size += record_size(v[j]);
			if (size > MS_NOTIFY_BUDGET)
				break;
		}
		if (ms_send_notify(ms, v + i, j - i, now, o, send, arg))
			sent++;
	}
out:
	free(v);
	free(o);
	return sent;
}

/* queries */

const struct lisp_reg *
lisp_ms_lookup(struct lisp_ms *ms, const struct lisp_prefix *eid, uint64_t now)
{
	if (eid->addr.family != 4 && eid->addr.family != 6)
		return NULL;
	ms_expire(ms, now);
	return lisp_trie_lpm(reg_trie(ms, eid->addr.family), eid->addr.bytes, eid->len, NULL);
}

const struct lisp_reg *
lisp_ms_find(const struct lisp_ms *ms, const struct lisp_prefix *eid)
{
	struct lisp_prefix p = *eid;

	if (p.addr.family != 4 && p.addr.family != 6)
		return NULL;
	lisp_prefix_canon(&p);
	return lisp_trie_exact(reg_trie_c(ms, p.addr.family), p.addr.bytes, p.len);
}

void
lisp_ms_foreach(const struct lisp_ms *ms, void (*fn)(void *arg, const struct lisp_reg *r),
		void *arg)
{
	unsigned int i;

	for (i = 0; i < ms->n_regs; i++)
		fn(arg, ms->heap[i]);
}

unsigned int
lisp_ms_count(const struct lisp_ms *ms)
{
	return ms->n_regs;
}

unsigned int
lisp_ms_restored_count(const struct lisp_ms *ms)
{
	return ms->n_restored;
}

unsigned int
lisp_ms_room(const struct lisp_ms *ms)
{
	return ms->max_regs - ms->n_regs;
}

const char *
lisp_ms_site_name(const struct lisp_ms *ms, unsigned int site)
{
	return site < ms->cfg.n_sites ? ms->cfg.sites[site].name : NULL;
}

unsigned int
lisp_ms_site_count(const struct lisp_ms *ms)
{
	return ms->cfg.n_sites;
}

const struct lisp_ms_stats *
lisp_ms_stats(const struct lisp_ms *ms)
{
	return &ms->stats;
}

uint64_t
lisp_ms_generation(const struct lisp_ms *ms)
{
	return ms->generation;
}

static bool
locators_ok(const struct lisp_reg *r)
{
	unsigned int i;

	if (r->n_locators > LISP_MAX_LOCATORS)
		return false;
	for (i = 0; i < r->n_locators; i++)
		if (r->loc[i].addr.family != 4 && r->loc[i].addr.family != 6)
			return false;
	return true;
}

static int
ms_install(struct lisp_ms *ms, const struct lisp_reg *in, const char *site_name, bool restored,
	   uint64_t now)
{
	struct lisp_prefix p = in->eid;
	struct lisp_reg *r;
	int site;

	if ((p.addr.family != 4 && p.addr.family != 6) || p.len > lisp_addr_bits(p.addr.family) ||
	    !locators_ok(in) || in->act > 7 || (in->etr.family != 4 && in->etr.family != 6))
		return -EINVAL;
	lisp_prefix_canon(&p);
	site = ms_site_by_name(&ms->cfg, site_name);
	if (site < 0)
		return -ENOENT;
	if (ms_allowed(&ms->cfg, (unsigned int)site, &p) != LISP_MS_OK)
		return -EPERM;
	if (in->expiry <= now)
		return -ETIME;
	r = lisp_trie_exact(reg_trie(ms, p.addr.family), p.addr.bytes, p.len);
	if (r != NULL && r->refreshed_at > in->refreshed_at)
		return -EALREADY;
	if (r == NULL) {
		if (ms->n_regs >= ms->max_regs)
			return -ENOSPC;
		r = reg_add(ms, &p, in->expiry);
		if (r == NULL)
			return -ENOMEM;
	} else if (r->restored) {
		ms->n_restored--;
	}
	r->site = (uint16_t)site;
	r->proxy_reply = in->proxy_reply;
	r->want_map_notify = in->want_map_notify;
	r->xtr_id_present = in->xtr_id_present;
	r->authoritative = in->authoritative;
	r->act = in->act;
	r->map_version = in->map_version & 0x0fff;
	r->ttl = in->ttl;
	r->registered_at = in->registered_at;
	r->refreshed_at = in->refreshed_at;
	memcpy(r->xtr_id, in->xtr_id, sizeof(r->xtr_id));
	r->site_id = in->site_id;
	r->n_hist = 0;
	r->hist_pos = 0;
	reg_nonce_push(r, in->last_nonce);
	r->key_id = in->key_id;
	r->alg_id = in->alg_id;
	r->etr = in->etr;
	r->etr_port = in->etr_port;
	r->n_locators = in->n_locators;
	memcpy(r->loc, in->loc, in->n_locators * sizeof(in->loc[0]));
	r->restored = restored;
	if (restored)
		ms->n_restored++;
	reg_set_expiry(ms, r, in->expiry);
	ms->generation++;
	return 0;
}

int
lisp_ms_install(struct lisp_ms *ms, const struct lisp_reg *r, const char *site_name, bool restored,
		uint64_t now)
{
	int rc = ms_install(ms, r, site_name, restored, now);

	if (restored && rc == 0)
		CTR(ms, RESTORED_LOADED);
	else if (restored)
		CTR(ms, RESTORED_SKIPPED);
	return rc;
}
