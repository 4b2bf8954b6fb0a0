/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_members.h"

#define NS_PER_MS 1000000ULL

static const char *const reason_names[CLUSTER_MEMBER_REASON_MAX] = {
#define _(sym, str) [CLUSTER_MEMBER_##sym] = str,
	foreach_cluster_member_reason
#undef _
};

const char *
cluster_member_reason_name(int r)
{
	return r >= 0 && r < CLUSTER_MEMBER_REASON_MAX ? reason_names[r] : "unknown";
}

static int
cmp_conf(const void *a, const void *b)
{
	const struct cluster_member_conf *x = a, *y = b;

	return (int)x->id - (int)y->id;
}

int
cluster_members_init(struct cluster_members *ms, const struct cluster_member_conf *c,
		     unsigned int n, uint16_t self_id, uint32_t hb_ms, uint32_t dead_count,
		     uint64_t now)
{
	struct cluster_member_conf sorted[CLUSTER_MAX_MEMBERS];
	unsigned int i;

	if (n == 0 || n > CLUSTER_MAX_MEMBERS || hb_ms == 0 || hb_ms > 65535 || dead_count < 2)
		return -EINVAL;
	memcpy(sorted, c, n * sizeof(*c));
	qsort(sorted, n, sizeof(*sorted), cmp_conf);
	memset(ms, 0, sizeof(*ms));
	ms->self = -1;
	for (i = 0; i < n; i++) {
		struct cluster_member *m = &ms->m[i];

		if (sorted[i].id == 0 || (i > 0 && sorted[i].id == sorted[i - 1].id) ||
		    (sorted[i].family != 4 && sorted[i].family != 6))
			return -EINVAL;
		m->id = sorted[i].id;
		m->family = sorted[i].family;
		memcpy(m->addr, sorted[i].addr, sizeof(m->addr));
		auth_epoch_init(&m->seq);
		m->next_hb_ns = now;
		ms->ids[i] = m->id;
		if (m->id == self_id) {
			m->self = true;
			m->alive = true;
			m->up_since_ns = now;
			ms->self = (int)i;
		}
	}
	if (ms->self < 0)
		return -EINVAL;
	ms->n = n;
	ms->live = 1ULL << ms->self;
	ms->hb_ms = hb_ms;
	ms->dead_count = dead_count;
	return 0;
}

int
cluster_members_find(const struct cluster_members *ms, uint16_t id)
{
	unsigned int lo = 0, hi = ms->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (ms->ids[mid] == id)
			return (int)mid;
		if (ms->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
cluster_members_rx_auth(struct cluster_members *ms, int idx, const struct cluster_wire_hdr *h,
			bool *new_epoch)
{
	/* Authenticated: a new epoch is a restarted member. */
	switch (auth_epoch_check(&ms->m[idx].seq, h->epoch, h->seq, false, new_epoch)) {
	case AUTH_EPOCH_ZERO:
		return CLUSTER_DROP_MALFORMED;
	case AUTH_EPOCH_STALE:
		return CLUSTER_DROP_STALE_EPOCH;
	case AUTH_EPOCH_REPLAYED:
		return CLUSTER_DROP_REPLAYED;
	default:
		return CLUSTER_WIRE_OK;
	}
}

bool
cluster_members_heard(struct cluster_members *ms, int idx, uint64_t now,
		      const struct cluster_msg_hb *hb, bool new_epoch,
		      struct cluster_member_event *ev)
{
	struct cluster_member *m = &ms->m[idx];
	bool restarted = new_epoch && m->alive && m->hb_seen;

	m->last_rx_ns = now;
	if (hb != NULL) {
		m->hb = *hb;
		m->hb_seen = true;
		m->interval_ms = hb->interval_ms;
	}
	ev->idx = idx;
	ev->up = true;
	if (restarted) {
		m->restarts++;
		m->up_since_ns = now;
		ms->view++;
		ev->reason = CLUSTER_MEMBER_RESTARTED;
		return true;
	}
	if (!m->alive && hb != NULL) {
		m->alive = true;
		m->up_since_ns = now;
		m->ups++;
		ms->live |= 1ULL << idx;
		ms->view++;
		/* Answer at once: it learns of us a heartbeat sooner. */
		m->next_hb_ns = now;
		ev->reason = CLUSTER_MEMBER_HEARD;
		return true;
	}
	return false;
}

uint64_t
cluster_members_dead_ns(const struct cluster_members *ms, int idx)
{
	uint32_t iv = ms->m[idx].interval_ms != 0 ? ms->m[idx].interval_ms : ms->hb_ms;

	return (uint64_t)ms->dead_count * iv * NS_PER_MS;
}

unsigned int
cluster_members_tick(struct cluster_members *ms, uint64_t now, struct cluster_member_event *ev,
		     unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < ms->n && n < max; i++) {
		struct cluster_member *m = &ms->m[i];

		if (m->self || !m->alive ||
		    now - m->last_rx_ns < cluster_members_dead_ns(ms, (int)i))
			continue;
		m->alive = false;
		m->downs++;
		ms->live &= ~(1ULL << i);
		ms->view++;
		ev[n].idx = (int)i;
		ev[n].up = false;
		ev[n].reason = CLUSTER_MEMBER_TIMEOUT;
		n++;
	}
	return n;
}

bool
cluster_members_hb_due(struct cluster_members *ms, int idx, uint64_t now)
{
	struct cluster_member *m = &ms->m[idx];

	if (m->self || now < m->next_hb_ns)
		return false;
	/* On the grid of the interval, not drifting by the caller's lateness. */
	m->next_hb_ns += (uint64_t)ms->hb_ms * NS_PER_MS;
	if (m->next_hb_ns <= now)
		m->next_hb_ns = now + (uint64_t)ms->hb_ms * NS_PER_MS;
	return true;
}

uint64_t
cluster_members_next_deadline(const struct cluster_members *ms)
{
	uint64_t d = UINT64_MAX, t;
	unsigned int i;

	for (i = 0; i < ms->n; i++) {
		const struct cluster_member *m = &ms->m[i];

		if (m->self)
			continue;
		if (m->next_hb_ns < d)
			d = m->next_hb_ns;
		if (m->alive) {
			t = m->last_rx_ns + cluster_members_dead_ns(ms, (int)i);
			if (t < d)
				d = t;
		}
	}
	return d;
}
