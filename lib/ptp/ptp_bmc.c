/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "ptp/ptp_bmc.h"

static const char *const ptp_cmp_names[PTP_CMP_MAX] = {
#define _(sym, str) [PTP_CMP_##sym] = str,
	foreach_ptp_cmp
#undef _
};

static const char *const ptp_decision_names[PTP_DECISION_MAX] = {
#define _(sym, str) [PTP_DECISION_##sym] = str,
	foreach_ptp_decision
#undef _
};

const char *
ptp_cmp_name(enum ptp_cmp c)
{
	if ((unsigned int)c >= PTP_CMP_MAX)
		return "unknown";
	return ptp_cmp_names[c];
}

const char *
ptp_decision_name(enum ptp_decision d)
{
	if ((unsigned int)d >= PTP_DECISION_MAX)
		return "unknown";
	return ptp_decision_names[d];
}

/*
 * Figure 28: the same grandmaster reached two ways. Fewer steps win by more
 * than one; a difference of one or none is decided by topology so that
 * every clock on a segment reaches the same answer.
 */
static enum ptp_cmp
dscmp_topology(const struct ptp_dataset *a, const struct ptp_dataset *b)
{
	unsigned int sa = a->steps_removed, sb = b->steps_removed;
	int d;

	if (sa > sb + 1)
		return PTP_CMP_B_BETTER;
	if (sa + 1 < sb)
		return PTP_CMP_A_BETTER;
	if (sa > sb) {
		/* A came one step further: is A's Announce our own, echoed back? */
		d = ptp_port_id_cmp(&a->receiver, &a->sender);
		if (d < 0)
			return PTP_CMP_B_BETTER;
		if (d > 0)
			return PTP_CMP_B_BETTER_TOPO;
		return PTP_CMP_ERROR1;
	}
	if (sa < sb) {
		d = ptp_port_id_cmp(&b->receiver, &b->sender);
		if (d < 0)
			return PTP_CMP_A_BETTER;
		if (d > 0)
			return PTP_CMP_A_BETTER_TOPO;
		return PTP_CMP_ERROR1;
	}
	/* Equal steps: the lower sender wins, then the lower receiving port. */
	d = ptp_port_id_cmp(&a->sender, &b->sender);
	if (d < 0)
		return PTP_CMP_A_BETTER_TOPO;
	if (d > 0)
		return PTP_CMP_B_BETTER_TOPO;
	if (a->receiver.port < b->receiver.port)
		return PTP_CMP_A_BETTER_TOPO;
	if (a->receiver.port > b->receiver.port)
		return PTP_CMP_B_BETTER_TOPO;
	return PTP_CMP_ERROR2;
}

#define CMP_FIELD(x, y)                          \
	do {                                     \
		if ((x) < (y))                   \
			return PTP_CMP_A_BETTER; \
		if ((x) > (y))                   \
			return PTP_CMP_B_BETTER; \
	} while (0)

enum ptp_cmp
ptp_dscmp(const struct ptp_dataset *a, const struct ptp_dataset *b)
{
	int d = memcmp(a->identity.id, b->identity.id, sizeof(a->identity.id));

	/* Figure 27: different grandmasters are ranked by their attributes. */
	if (d == 0)
		return dscmp_topology(a, b);
	CMP_FIELD(a->priority1, b->priority1);
	CMP_FIELD(a->quality.clock_class, b->quality.clock_class);
	CMP_FIELD(a->quality.accuracy, b->quality.accuracy);
	CMP_FIELD(a->quality.variance, b->quality.variance);
	CMP_FIELD(a->priority2, b->priority2);
	return d < 0 ? PTP_CMP_A_BETTER : PTP_CMP_B_BETTER;
}

void
ptp_dataset_from_default(const struct ptp_default_ds *dds, struct ptp_dataset *out)
{
	memset(out, 0, sizeof(*out));
	out->priority1 = dds->priority1;
	out->identity = dds->identity;
	out->quality = dds->quality;
	out->priority2 = dds->priority2;
	out->steps_removed = 0;
	out->sender.clock = dds->identity;
	out->sender.port = 0;
	out->receiver = out->sender;
}

void
ptp_dataset_from_announce(const struct ptp_msg *m, const struct ptp_port_id *receiver,
			  struct ptp_dataset *out)
{
	const struct ptp_announce *a = &m->announce;

	memset(out, 0, sizeof(*out));
	out->priority1 = a->gm_priority1;
	out->identity = a->gm_identity;
	out->quality = a->gm_quality;
	out->priority2 = a->gm_priority2;
	out->steps_removed = a->steps_removed;
	out->sender = m->hdr.source;
	out->receiver = *receiver;
}

enum ptp_decision
ptp_state_decision(const struct ptp_dataset *d0, const struct ptp_dataset *ebest,
		   const struct ptp_dataset *erbest, bool listening, bool ebest_here)
{
	/* 9.3.3: nothing heard yet on a listening port: stay and keep listening. */
	if (erbest == NULL && listening)
		return PTP_DECISION_NONE;
	/* Figure 26, clockClass 1..127: a primary reference never slaves. */
	if (d0->quality.clock_class <= 127) {
		if (erbest == NULL || ptp_cmp_a_wins(ptp_dscmp(d0, erbest)))
			return PTP_DECISION_M1;
		return PTP_DECISION_P1;
	}
	if (ebest == NULL || ptp_cmp_a_wins(ptp_dscmp(d0, ebest)))
		return PTP_DECISION_M2;
	if (ebest_here)
		return PTP_DECISION_S1;
	if (erbest != NULL && ptp_dscmp(ebest, erbest) == PTP_CMP_A_BETTER_TOPO)
		return PTP_DECISION_P2;
	return PTP_DECISION_M3;
}

uint64_t
ptp_foreign_window(int8_t log_interval, uint64_t hz)
{
	int l = log_interval;

	if (l < -7)
		l = -7;
	if (l > 8)
		l = 8;
	if (l >= 0)
		return PTP_FOREIGN_MASTER_TIME_WINDOW * (hz << l);
	return PTP_FOREIGN_MASTER_TIME_WINDOW * (hz >> -l);
}

bool
ptp_foreign_qualified(const struct ptp_foreign *f, uint64_t now, uint64_t hz)
{
	uint64_t oldest;

	if (!f->used || f->n_rx < PTP_FOREIGN_MASTER_THRESHOLD)
		return false;
	oldest = f->rx_time[PTP_FOREIGN_MASTER_THRESHOLD - 1];
	return now >= oldest && now - oldest <= ptp_foreign_window(f->last.hdr.log_interval, hz);
}

/* The fields of an Announce that the comparison reads (ptp4l's announce_compare). */
static bool
announce_differs(const struct ptp_msg *a, const struct ptp_msg *b)
{
	const struct ptp_announce *x = &a->announce, *y = &b->announce;

	return x->gm_priority1 != y->gm_priority1 || x->gm_priority2 != y->gm_priority2 ||
	       x->gm_quality.clock_class != y->gm_quality.clock_class ||
	       x->gm_quality.accuracy != y->gm_quality.accuracy ||
	       x->gm_quality.variance != y->gm_quality.variance ||
	       memcmp(x->gm_identity.id, y->gm_identity.id, 8) != 0 ||
	       x->steps_removed != y->steps_removed;
}

int
ptp_foreign_add(struct ptp_foreign_table *t, const struct ptp_msg *m, uint64_t now, uint64_t hz,
		bool *changed)
{
	struct ptp_foreign *f = NULL;
	bool was_qualified;
	int i, free_i = -1, stale_i = -1;

	*changed = false;
	for (i = 0; i < PTP_MAX_FOREIGN; i++) {
		if (!t->fm[i].used) {
			if (free_i < 0)
				free_i = i;
			continue;
		}
		if (ptp_port_id_cmp(&t->fm[i].sender, &m->hdr.source) == 0) {
			f = &t->fm[i];
			break;
		}
		if (stale_i < 0 && !ptp_foreign_qualified(&t->fm[i], now, hz))
			stale_i = i;
	}
	if (f == NULL) {
		i = free_i >= 0 ? free_i : stale_i;
		if (i < 0)
			return -1;
		f = &t->fm[i];
		memset(f, 0, sizeof(*f));
		f->used = true;
		f->sender = m->hdr.source;
		f->last = *m;
	}

	was_qualified = ptp_foreign_qualified(f, now, hz);
	if (announce_differs(&f->last, m))
		*changed = true;
	f->last = *m;
	/* A repeated sequenceId is the same Announce again: it is not distinct. */
	if (f->n_rx == 0 || f->rx_seq[0] != m->hdr.seq) {
		memmove(&f->rx_time[1], &f->rx_time[0],
			(PTP_FOREIGN_MASTER_THRESHOLD - 1) * sizeof(f->rx_time[0]));
		memmove(&f->rx_seq[1], &f->rx_seq[0],
			(PTP_FOREIGN_MASTER_THRESHOLD - 1) * sizeof(f->rx_seq[0]));
		f->rx_time[0] = now;
		f->rx_seq[0] = m->hdr.seq;
		if (f->n_rx < PTP_FOREIGN_MASTER_THRESHOLD)
			f->n_rx++;
	}
	if (!was_qualified && ptp_foreign_qualified(f, now, hz))
		*changed = true;
	return i;
}

void
ptp_foreign_clear(struct ptp_foreign_table *t, int i)
{
	if (i >= 0 && i < PTP_MAX_FOREIGN)
		memset(&t->fm[i], 0, sizeof(t->fm[i]));
}

void
ptp_foreign_clear_all(struct ptp_foreign_table *t)
{
	memset(t, 0, sizeof(*t));
}

int
ptp_foreign_best(const struct ptp_foreign_table *t, const struct ptp_port_id *receiver,
		 uint64_t now, uint64_t hz, struct ptp_dataset *out)
{
	struct ptp_dataset ds;
	int i, best = -1;

	for (i = 0; i < PTP_MAX_FOREIGN; i++) {
		if (!ptp_foreign_qualified(&t->fm[i], now, hz))
			continue;
		ptp_dataset_from_announce(&t->fm[i].last, receiver, &ds);
		if (best < 0 || ptp_cmp_a_wins(ptp_dscmp(&ds, out))) {
			*out = ds;
			best = i;
		}
	}
	return best;
}
