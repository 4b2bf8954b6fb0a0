/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "ptp/ptp_internal.h"
#include "ptp/ptp_port.h"

static const char *const ptp_port_state_names[PTP_PS_MAX] = {
#define _(sym, str) [PTP_PS_##sym] = str,
	foreach_ptp_port_state
#undef _
};

static const char *const ptp_event_names[PTP_EV_MAX] = {
#define _(sym, str) [PTP_EV_##sym] = str,
	foreach_ptp_event
#undef _
};

static const char *const ptp_role_names[PTP_ROLE_MAX] = {
#define _(sym, str) [PTP_ROLE_##sym] = str,
	foreach_ptp_role
#undef _
};

static const char *const ptp_alarm_names[PTP_ALARM_MAX] = {
#define _(sym, str) [PTP_ALARM_##sym] = str,
	foreach_ptp_alarm
#undef _
};

const char *
ptp_port_state_name(enum ptp_port_state s)
{
	return (unsigned int)s < PTP_PS_MAX ? ptp_port_state_names[s] : "unknown";
}

const char *
ptp_event_name(enum ptp_event e)
{
	return (unsigned int)e < PTP_EV_MAX ? ptp_event_names[e] : "unknown";
}

const char *
ptp_role_name(enum ptp_role r)
{
	return (unsigned int)r < PTP_ROLE_MAX ? ptp_role_names[r] : "unknown";
}

const char *
ptp_alarm_name(enum ptp_alarm_kind a)
{
	return (unsigned int)a < PTP_ALARM_MAX ? ptp_alarm_names[a] : "unknown";
}

void
ptp_port_config_init(struct ptp_port_config *pc, enum ptp_transport t)
{
	memset(pc, 0, sizeof(*pc));
	pc->role = PTP_ROLE_AUTO;
	pc->log_sync_interval = -3;
	pc->log_announce_interval = 1;
	pc->log_min_delay_req_interval = 0;
	pc->announce_receipt_timeout = PTP_ANNOUNCE_RECEIPT_TIMEOUT;
	pc->delay_step_ns = PTP_DELAY_STEP_DEFAULT_NS;
	pc->servo_min_delay_samples = 1;
	ptp_path_init(&pc->path, t);
}

/*
 * The port state machine, figure 23 of 9.2.5, one handler per state. Each
 * returns the next state for ev; the events every state shares (9.2.6.2 to
 * 9.2.6.7) are handled before them in ptp_port_fsm.
 */
typedef enum ptp_port_state (*fsm_handler)(enum ptp_event ev, bool new_master);

static enum ptp_port_state
fsm_initializing(enum ptp_event ev, bool new_master)
{
	/* 9.2.5: INITIALIZING ends when the port's data sets and transport are ready. */
	if (ev == PTP_EV_INIT_COMPLETE)
		return PTP_PS_LISTENING;
	return PTP_PS_INITIALIZING;
}

static enum ptp_port_state
fsm_faulty(enum ptp_event ev, bool new_master)
{
	/* 9.2.6.6 FAULT_CLEARED: back through INITIALIZING. */
	if (ev == PTP_EV_FAULT_CLEARED)
		return PTP_PS_INITIALIZING;
	return PTP_PS_FAULTY;
}

static enum ptp_port_state
fsm_disabled(enum ptp_event ev, bool new_master)
{
	/* 9.2.6.4 DESIGNATED_ENABLED. */
	if (ev == PTP_EV_DESIGNATED_ENABLED)
		return PTP_PS_INITIALIZING;
	return PTP_PS_DISABLED;
}

static enum ptp_port_state
fsm_listening(enum ptp_event ev, bool new_master)
{
	switch (ev) {
	case PTP_EV_ANNOUNCE_RECEIPT_TIMEOUT: /* 9.2.6.11: nobody to listen to */
		return PTP_PS_MASTER;
	case PTP_EV_RS_MASTER: /* 9.3.3 M3: qualify first (9.2.6.10) */
		return PTP_PS_PRE_MASTER;
	case PTP_EV_RS_GRAND_MASTER: /* M1, M2: qualification interval 0 */
		return PTP_PS_MASTER;
	case PTP_EV_RS_SLAVE: /* S1 */
		return PTP_PS_UNCALIBRATED;
	case PTP_EV_RS_PASSIVE: /* P1, P2 */
		return PTP_PS_PASSIVE;
	default:
		return PTP_PS_LISTENING;
	}
}

static enum ptp_port_state
fsm_pre_master(enum ptp_event ev, bool new_master)
{
	switch (ev) {
	case PTP_EV_QUALIFICATION_TIMEOUT: /* 9.2.6.10 */
	case PTP_EV_RS_GRAND_MASTER:
		return PTP_PS_MASTER;
	case PTP_EV_RS_SLAVE:
		return PTP_PS_UNCALIBRATED;
	case PTP_EV_RS_PASSIVE:
		return PTP_PS_PASSIVE;
	default:
		return PTP_PS_PRE_MASTER;
	}
}

static enum ptp_port_state
fsm_master(enum ptp_event ev, bool new_master)
{
	switch (ev) {
	case PTP_EV_RS_SLAVE: /* a better master appeared on this port */
		return PTP_PS_UNCALIBRATED;
	case PTP_EV_RS_PASSIVE:
		return PTP_PS_PASSIVE;
	default:
		return PTP_PS_MASTER;
	}
}

static enum ptp_port_state
fsm_passive(enum ptp_event ev, bool new_master)
{
	switch (ev) {
	case PTP_EV_ANNOUNCE_RECEIPT_TIMEOUT: /* 9.2.6.11: the better master went quiet */
		return PTP_PS_MASTER;
	case PTP_EV_RS_MASTER:
		return PTP_PS_PRE_MASTER;
	case PTP_EV_RS_GRAND_MASTER:
		return PTP_PS_MASTER;
	case PTP_EV_RS_SLAVE:
		return PTP_PS_UNCALIBRATED;
	default:
		return PTP_PS_PASSIVE;
	}
}

static enum ptp_port_state
fsm_uncalibrated(enum ptp_event ev, bool new_master)
{
	switch (ev) {
	case PTP_EV_ANNOUNCE_RECEIPT_TIMEOUT:
		return PTP_PS_MASTER;
	case PTP_EV_MASTER_CLOCK_SELECTED: /* 9.2.6.13: the servo locked */
		return PTP_PS_SLAVE;
	case PTP_EV_RS_MASTER:
		return PTP_PS_PRE_MASTER;
	case PTP_EV_RS_GRAND_MASTER:
		return PTP_PS_MASTER;
	case PTP_EV_RS_PASSIVE:
		return PTP_PS_PASSIVE;
	default:
		return PTP_PS_UNCALIBRATED;
	}
}

static enum ptp_port_state
fsm_slave(enum ptp_event ev, bool new_master)
{
	switch (ev) {
	case PTP_EV_ANNOUNCE_RECEIPT_TIMEOUT:
		return PTP_PS_MASTER;
	case PTP_EV_SYNCHRONIZATION_FAULT: /* 9.2.6.12: the servo lost lock or stepped */
		return PTP_PS_UNCALIBRATED;
	case PTP_EV_RS_MASTER:
		return PTP_PS_PRE_MASTER;
	case PTP_EV_RS_GRAND_MASTER:
		return PTP_PS_MASTER;
	case PTP_EV_RS_PASSIVE:
		return PTP_PS_PASSIVE;
	case PTP_EV_RS_SLAVE: /* S1 again; another parent means calibrating anew */
		return new_master ? PTP_PS_UNCALIBRATED : PTP_PS_SLAVE;
	default:
		return PTP_PS_SLAVE;
	}
}

static const fsm_handler fsm_handlers[PTP_PS_MAX] = {
	[PTP_PS_INITIALIZING] = fsm_initializing,
	[PTP_PS_FAULTY] = fsm_faulty,
	[PTP_PS_DISABLED] = fsm_disabled,
	[PTP_PS_LISTENING] = fsm_listening,
	[PTP_PS_PRE_MASTER] = fsm_pre_master,
	[PTP_PS_MASTER] = fsm_master,
	[PTP_PS_PASSIVE] = fsm_passive,
	[PTP_PS_UNCALIBRATED] = fsm_uncalibrated,
	[PTP_PS_SLAVE] = fsm_slave,
};

static bool
event_is_recommendation(enum ptp_event ev)
{
	return ev == PTP_EV_RS_MASTER || ev == PTP_EV_RS_GRAND_MASTER || ev == PTP_EV_RS_SLAVE ||
	       ev == PTP_EV_RS_PASSIVE;
}

enum ptp_port_state
ptp_port_fsm(enum ptp_port_state s, enum ptp_event ev, enum ptp_role role, bool new_master)
{
	enum ptp_port_state next;

	if ((unsigned int)s >= PTP_PS_MAX || (unsigned int)ev >= PTP_EV_MAX)
		return s;
	/* 9.2.6.2, 9.2.6.3: from any state. */
	if (ev == PTP_EV_POWERUP || ev == PTP_EV_INITIALIZE)
		return PTP_PS_INITIALIZING;
	/* 9.2.6.5: from any state. */
	if (ev == PTP_EV_DESIGNATED_DISABLED)
		return PTP_PS_DISABLED;
	/* 9.2.6.7: from any state but DISABLED. */
	if (ev == PTP_EV_FAULT_DETECTED)
		return s == PTP_PS_DISABLED ? s : PTP_PS_FAULTY;

	/* Fixed master: the first recommendation makes it MASTER, nothing unmakes it. */
	if (role == PTP_ROLE_MASTER && (s == PTP_PS_LISTENING || s == PTP_PS_MASTER) &&
	    (event_is_recommendation(ev) || ev == PTP_EV_ANNOUNCE_RECEIPT_TIMEOUT))
		return PTP_PS_MASTER;

	next = fsm_handlers[s](ev, new_master);

	/* Slave only (9.2.2, figure 24): no MASTER, PRE_MASTER or PASSIVE. */
	if (role == PTP_ROLE_SLAVE &&
	    (next == PTP_PS_MASTER || next == PTP_PS_PRE_MASTER || next == PTP_PS_PASSIVE))
		return PTP_PS_LISTENING;
	return next;
}

void
ptp_delay_filter_reset(struct ptp_delay_filter *f)
{
	memset(f, 0, sizeof(*f));
}

void
ptp_delay_filter_add(struct ptp_delay_filter *f, int64_t v)
{
	f->s[f->pos] = v;
	f->pos = (f->pos + 1) % PTP_DELAY_FILTER_LEN;
	if (f->n < PTP_DELAY_FILTER_LEN)
		f->n++;
}

int64_t
ptp_delay_filter_median(const struct ptp_delay_filter *f)
{
	int64_t v[PTP_DELAY_FILTER_LEN], t;
	unsigned int i, j;

	if (f->n == 0)
		return 0;
	memcpy(v, f->s, sizeof(v));
	/* The held samples are s[0..n-1] until the ring wraps, then all of them. */
	for (i = 1; i < f->n; i++) {
		t = v[i];
		for (j = i; j > 0 && v[j - 1] > t; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
	if (f->n % 2)
		return v[f->n / 2];
	/* Halve before adding: no overflow near the int64 limits. */
	return v[f->n / 2 - 1] / 2 + v[f->n / 2] / 2 + (v[f->n / 2 - 1] % 2 + v[f->n / 2] % 2) / 2;
}

int
ptp_e2e_mean_delay(int64_t t1, int64_t t2, int64_t t3, int64_t t4, int64_t c_ms, int64_t c_sm,
		   int64_t *delay)
{
	int64_t a, b, s;

	if (__builtin_sub_overflow(t2, t3, &a) || __builtin_sub_overflow(t4, t1, &b) ||
	    __builtin_add_overflow(a, b, &s) || __builtin_sub_overflow(s, c_ms, &s) ||
	    __builtin_sub_overflow(s, c_sm, &s))
		return -ERANGE;
	*delay = s / 2;
	return 0;
}

int
ptp_e2e_offset(int64_t t1, int64_t t2, int64_t c_ms, int64_t delay, int64_t *offset)
{
	int64_t s;

	if (__builtin_sub_overflow(t2, t1, &s) || __builtin_sub_overflow(s, c_ms, &s) ||
	    __builtin_sub_overflow(s, delay, &s))
		return -ERANGE;
	*offset = s;
	return 0;
}

/* xorshift64*: the Delay_Req spacing needs spread, not secrecy. */
static uint64_t
port_random(struct ptp_port *pt)
{
	uint64_t x = pt->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	pt->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* The next firing of a periodic timer: on its grid, unless it fell behind. */
static uint64_t
next_period(uint64_t prev, uint64_t period, uint64_t now)
{
	uint64_t t = prev + period;

	return t > now ? t : now + period;
}

static uint64_t
announce_rx_ticks(const struct ptp *p, const struct ptp_port *pt)
{
	return pt->announce_receipt_timeout * ptp_log_ticks(p, pt->log_announce_interval);
}

static uint8_t
path_tx_ttl(const struct ptp_path *path)
{
	return path->n_tx_labels > 0 ? path->mpls_ttl : path->ip_ttl;
}

void
ptp_port_flush_exchange(struct ptp_port *pt)
{
	pt->sd.sync_valid = false;
	pt->sd.fup_valid = false;
	pt->sd.have_t1t2 = false;
	pt->sd.dreq_sent = false;
	pt->sd.dreq_stamped = false;
}

static void
reset_slave(struct ptp_port *pt)
{
	memset(&pt->sd, 0, sizeof(pt->sd));
	ptp_delay_filter_reset(&pt->dfilt);
	pt->delay_valid = false;
	pt->delay_outliers = 0;
	pt->mean_delay_ns = 0;
	pt->offset_ns = 0;
	pt->sync_ttl_known = false;
	pt->hops_known = false;
	pt->tmo_delay_req = PTP_TMO_OFF;
}

/* What a state does on entry (9.2.5, Table 10's behaviour per state). */
static void
port_enter(struct ptp *p, struct ptp_port *pt, enum ptp_port_state next, uint64_t now,
	   bool new_master)
{
	enum ptp_port_state prev = pt->state;
	bool slave_before = prev == PTP_PS_UNCALIBRATED || prev == PTP_PS_SLAVE;

	pt->state = next;
	pt->transitions++;
	/* Moving between UNCALIBRATED and SLAVE keeps the exchange and its timers. */
	if (slave_before && (next == PTP_PS_UNCALIBRATED || next == PTP_PS_SLAVE) && !new_master)
		return;

	pt->tmo_announce_rx = PTP_TMO_OFF;
	pt->tmo_qualification = PTP_TMO_OFF;
	pt->tmo_announce_tx = PTP_TMO_OFF;
	pt->tmo_sync_tx = PTP_TMO_OFF;
	pt->sync_pending = false;
	reset_slave(pt);

	switch (next) {
	case PTP_PS_INITIALIZING:
	case PTP_PS_FAULTY:
	case PTP_PS_DISABLED:
		/* A port that is not running forgets what it heard. */
		ptp_foreign_clear_all(&pt->foreign);
		pt->erbest = -1;
		break;
	case PTP_PS_LISTENING:
	case PTP_PS_PASSIVE:
	case PTP_PS_UNCALIBRATED:
	case PTP_PS_SLAVE:
		pt->tmo_announce_rx = now + announce_rx_ticks(p, pt);
		break;
	case PTP_PS_PRE_MASTER:
		/* 9.2.6.10: (N + 1) announce intervals, N = currentDS.stepsRemoved. */
		pt->tmo_qualification = now + ((uint64_t)p->cds.steps_removed + 1) *
						      ptp_log_ticks(p, pt->log_announce_interval);
		break;
	case PTP_PS_MASTER:
		/* Our own rates again, not what a former master told us (7.7.2). */
		pt->log_sync_interval = pt->cfg.log_sync_interval;
		pt->log_min_delay_req_interval = pt->cfg.log_min_delay_req_interval;
		/* Announce and Sync at once: slaves qualify us sooner. */
		pt->tmo_announce_tx = now;
		pt->tmo_sync_tx = now;
		break;
	default:
		break;
	}
}

void
ptp_port_dispatch(struct ptp *p, struct ptp_port *pt, enum ptp_event ev, uint64_t now,
		  bool new_master)
{
	enum ptp_port_state prev = pt->state, next;
	struct ptp_note n;

	next = ptp_port_fsm(prev, ev, pt->cfg.role, new_master);
	if (next == prev && !(new_master && next == PTP_PS_UNCALIBRATED))
		return;
	port_enter(p, pt, next, now, new_master);
	memset(&n, 0, sizeof(n));
	n.kind = PTP_NOTE_PORT_STATE;
	n.port = (uint16_t)pt->index;
	n.from = (uint8_t)prev;
	n.to = (uint8_t)next;
	n.event = (uint8_t)ev;
	ptp_note_add(p, &n);
	/* INITIALIZING has nothing to wait for here: the caller's port is up. */
	if (next == PTP_PS_INITIALIZING)
		ptp_port_dispatch(p, pt, PTP_EV_INIT_COMPLETE, now, false);
}

void
ptp_port_start(struct ptp *p, struct ptp_port *pt, uint64_t now)
{
	pt->state = PTP_PS_INITIALIZING;
	pt->erbest = -1;
	reset_slave(pt);
	ptp_port_dispatch(p, pt, PTP_EV_INIT_COMPLETE, now, false);
}

static void
msg_init(const struct ptp *p, const struct ptp_port *pt, struct ptp_msg *m, uint8_t type,
	 uint16_t seq, int8_t log_interval)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = type;
	m->hdr.version = PTP_VERSION;
	m->hdr.domain = p->dds.domain;
	m->hdr.source = pt->identity;
	m->hdr.seq = seq;
	m->hdr.log_interval = log_interval;
}

/* 9.5.8, 13.5: what this clock tells the port's segment about the grandmaster. */
static void
send_announce(struct ptp *p, struct ptp_port *pt, uint64_t now)
{
	struct ptp_msg m;
	struct ptp_announce *a = &m.announce;

	msg_init(p, pt, &m, PTP_MSG_ANNOUNCE, pt->seq_announce++, pt->log_announce_interval);
	m.hdr.flags = p->tpds.flags & PTP_FLAG_TIME_PROPS;
	ptp_ns_to_ts(ptp_time(p, now, NULL), &a->origin);
	a->utc_offset = p->tpds.utc_offset;
	a->gm_priority1 = p->pds.gm_priority1;
	a->gm_quality = p->pds.gm_quality;
	a->gm_priority2 = p->pds.gm_priority2;
	a->gm_identity = p->pds.gm_identity;
	a->steps_removed = p->cds.steps_removed;
	a->time_source = p->tpds.time_source;
	ptp_queue_msg(p, pt, &m);
}

/* 9.5.9: two-step; the origin is an estimate (13.6.2), the Follow_Up has the truth. */
static void
send_sync(struct ptp *p, struct ptp_port *pt, uint64_t now)
{
	struct ptp_msg m;

	msg_init(p, pt, &m, PTP_MSG_SYNC, pt->seq_sync++, pt->log_sync_interval);
	m.hdr.flags = PTP_FLAG_TWO_STEP;
	ptp_ns_to_ts(ptp_time(p, now, NULL), &m.ts);
	if (ptp_queue_msg(p, pt, &m)) {
		pt->sync_pending = true;
		pt->sync_pending_seq = m.hdr.seq;
	}
}

/* 9.5.11: E2E request; delayAsymmetry leaves in its correctionField (11.6.3). */
static void
send_delay_req(struct ptp *p, struct ptp_port *pt, uint64_t now)
{
	struct ptp_msg m;

	msg_init(p, pt, &m, PTP_MSG_DELAY_REQ, pt->seq_delay_req++, PTP_LOG_INTERVAL_NONE);
	m.hdr.correction = -pt->cfg.delay_asymmetry_ns * 65536;
	ptp_ns_to_ts(ptp_time(p, now, NULL), &m.ts);
	if (ptp_queue_msg(p, pt, &m)) {
		pt->sd.dreq_sent = true;
		pt->sd.dreq_stamped = false;
		pt->sd.dreq_seq = m.hdr.seq;
	}
}

/* Scaled ns of the fraction of a ns: what a timestamp field cannot carry. */
static int64_t
frac_scaled(double frac)
{
	return (int64_t)llround(frac * 65536.0);
}

void
ptp_port_tx_stamp(struct ptp *p, struct ptp_port *pt, uint8_t type, uint16_t seq, uint64_t tx_stamp)
{
	struct ptp_msg m;
	double frac;
	int64_t t;

	if (type == PTP_MSG_SYNC && pt->state == PTP_PS_MASTER && pt->sync_pending &&
	    pt->sync_pending_seq == seq) {
		/* 9.5.10: preciseOriginTimestamp, its fraction in correctionField. */
		pt->sync_pending = false;
		t = ptp_time(p, tx_stamp, &frac);
		msg_init(p, pt, &m, PTP_MSG_FOLLOW_UP, seq, pt->log_sync_interval);
		ptp_ns_to_ts(t, &m.ts);
		m.hdr.correction = frac_scaled(frac);
		ptp_queue_msg(p, pt, &m);
		return;
	}
	if (type == PTP_MSG_DELAY_REQ && pt->sd.dreq_sent && pt->sd.dreq_seq == seq &&
	    (pt->state == PTP_PS_UNCALIBRATED || pt->state == PTP_PS_SLAVE)) {
		t = ptp_time(p, tx_stamp, &frac);
		pt->sd.t3 = t + (frac >= 0.5);
		pt->sd.dreq_stamped = true;
	}
}

static bool
port_is_slave(const struct ptp_port *pt)
{
	return pt->state == PTP_PS_UNCALIBRATED || pt->state == PTP_PS_SLAVE;
}

static bool
from_parent(const struct ptp *p, const struct ptp_msg *m)
{
	return ptp_port_id_cmp(&m->hdr.source, &p->pds.parent) == 0;
}

/* 9.5.3: Announce. Qualified ones enter foreignMasterDS; changes call a state decision. */
static int
rx_announce(struct ptp *p, struct ptp_port *pt, const struct ptp_msg *m, uint64_t now)
{
	bool changed;
	int i;

	switch (pt->state) {
	case PTP_PS_INITIALIZING:
	case PTP_PS_FAULTY:
	case PTP_PS_DISABLED:
		return PTP_DROP_WRONG_STATE;
	default:
		break;
	}
	/* 9.3.2.5 (d): too far from the grandmaster to be considered. */
	if (m->announce.steps_removed >= PTP_MAX_STEPS_REMOVED)
		return PTP_DROP_STEPS_REMOVED;
	/* A fixed master heeds no one. */
	if (pt->cfg.role == PTP_ROLE_MASTER)
		return PTP_OK;
	i = ptp_foreign_add(&pt->foreign, m, now, p->conf.hz, &changed);
	if (i < 0)
		return PTP_DROP_FOREIGN_TABLE_FULL;
	if (changed)
		p->decision_needed = true;

	/* 9.2.6.11: Announces from the one we follow (or defer to) keep the port where it is. */
	if ((port_is_slave(pt) && from_parent(p, m)) ||
	    (pt->state == PTP_PS_PASSIVE && i == pt->erbest)) {
		pt->tmo_announce_rx = now + announce_rx_ticks(p, pt);
		if (port_is_slave(pt)) {
			/* 9.3.5 Table 16: timePropertiesDS follows the parent. */
			p->tpds.utc_offset = m->announce.utc_offset;
			p->tpds.flags = m->hdr.flags & PTP_FLAG_TIME_PROPS;
			p->tpds.time_source = m->announce.time_source;
		}
	}
	return PTP_OK;
}

/* t1 and t2 of one Sync are known: measure, and feed the servo when the delay is known. */
static int
sync_complete(struct ptp *p, struct ptp_port *pt, int64_t t1, int64_t t2, uint64_t t2_mono,
	      int64_t c_scaled, uint64_t now)
{
	int64_t offset;

	pt->sd.have_t1t2 = true;
	pt->sd.t1 = t1;
	pt->sd.t2 = t2;
	pt->sd.t2_mono = t2_mono;
	pt->sd.c_ms = c_scaled;
	if (!pt->delay_valid)
		return PTP_OK;
	/* Beyond 2^62 ns (146 years) a master is broken, and a step by it could overflow. */
	if (ptp_e2e_offset(t1, t2, ptp_correction_ns(c_scaled), pt->mean_delay_ns, &offset) != 0 ||
	    offset > PTP_MAX_OFFSET_NS || offset < -PTP_MAX_OFFSET_NS)
		return PTP_DROP_BAD_MEASUREMENT;
	pt->offset_ns = offset;
	/* The servo's first estimate wants a mean path delay that has settled. */
	if (pt->dfilt.n >= pt->cfg.servo_min_delay_samples)
		ptp_sample_offset(p, pt, offset, now);
	return PTP_OK;
}

/* 9.5.4: Sync, one- or two-step; delayAsymmetry joins its correction (11.6.2). */
static int
rx_sync(struct ptp *p, struct ptp_port *pt, const struct ptp_msg *m,
	const struct ptp_frame_info *fi, uint64_t rx_stamp, uint64_t now)
{
	uint64_t t2_mono;
	int64_t t2, c;
	double frac;

	if (!port_is_slave(pt))
		return PTP_DROP_WRONG_STATE;
	if (!from_parent(p, m))
		return PTP_DROP_NOT_FROM_PARENT;
	if (__builtin_add_overflow(m->hdr.correction, pt->cfg.delay_asymmetry_ns * 65536, &c))
		return PTP_DROP_BAD_MEASUREMENT;
	t2 = ptp_time(p, rx_stamp, &frac) + (frac >= 0.5);
	t2_mono = ptp_clock_mono_ns(&p->clock, rx_stamp);
	if (fi->has_ttl) {
		pt->sync_ttl_known = true;
		pt->sync_ttl = fi->ttl;
	}
	if (m->hdr.log_interval >= -7 && m->hdr.log_interval <= 8) {
		/* 7.7.2.3: the master's rate is the one that counts for the servo. */
		pt->log_sync_interval = m->hdr.log_interval;
		if (m->hdr.log_interval != p->servo_log_interval) {
			p->servo_log_interval = m->hdr.log_interval;
			ptp_servo_set_interval(&p->servo, ldexp(1.0, m->hdr.log_interval));
		}
	}
	if (!pt->sd.sync_seen) {
		/* First Sync of this master: measure the delay at once, not after a random wait. */
		pt->sd.sync_seen = true;
		pt->tmo_delay_req = now;
	}

	if (!(m->hdr.flags & PTP_FLAG_TWO_STEP)) {
		pt->sd.sync_valid = false;
		return sync_complete(p, pt, ptp_ts_to_ns(&m->ts), t2, t2_mono, c, now);
	}
	if (pt->sd.fup_valid && pt->sd.fup_seq == m->hdr.seq) {
		/* The Follow_Up overtook its Sync. */
		pt->sd.fup_valid = false;
		if (__builtin_add_overflow(c, pt->sd.fup_c, &c))
			return PTP_DROP_BAD_MEASUREMENT;
		return sync_complete(p, pt, pt->sd.fup_t1, t2, t2_mono, c, now);
	}
	pt->sd.sync_valid = true;
	pt->sd.sync_seq = m->hdr.seq;
	pt->sd.sync_t2 = t2;
	pt->sd.sync_t2_mono = t2_mono;
	pt->sd.sync_rx_stamp = rx_stamp;
	pt->sd.sync_c = c;
	return PTP_OK;
}

/*
 * 9.5.5: Follow_Up of the last two-step Sync, matched by sequenceId.
 * With burst_stamps, a Follow_Up that came with the same RX stamp as its
 * Sync came in the same burst: the master sent it only after the Sync had
 * left, so the worker read both late and the Sync's stamp is late by as
 * much. That sample is not used.
 */
static int
rx_follow_up(struct ptp *p, struct ptp_port *pt, const struct ptp_msg *m, uint64_t rx_stamp,
	     uint64_t now)
{
	int64_t c;

	if (!port_is_slave(pt))
		return PTP_DROP_WRONG_STATE;
	if (!from_parent(p, m))
		return PTP_DROP_NOT_FROM_PARENT;
	if (pt->sd.sync_valid && pt->sd.sync_seq == m->hdr.seq) {
		pt->sd.sync_valid = false;
		if (pt->cfg.burst_stamps && rx_stamp == pt->sd.sync_rx_stamp)
			return PTP_DROP_SYNC_READ_LATE;
		if (__builtin_add_overflow(pt->sd.sync_c, m->hdr.correction, &c))
			return PTP_DROP_BAD_MEASUREMENT;
		return sync_complete(p, pt, ptp_ts_to_ns(&m->ts), pt->sd.sync_t2,
				     pt->sd.sync_t2_mono, c, now);
	}
	/* Keep it for a Sync that may still come; an older Sync is of no use now. */
	pt->sd.fup_valid = true;
	pt->sd.fup_seq = m->hdr.seq;
	pt->sd.fup_t1 = ptp_ts_to_ns(&m->ts);
	pt->sd.fup_c = m->hdr.correction;
	return pt->sd.sync_valid ? PTP_DROP_SEQ_MISMATCH : PTP_OK;
}

/* 9.5.6, 11.3.2: answer a Delay_Req with its receipt time; echo its correction. */
static int
rx_delay_req(struct ptp *p, struct ptp_port *pt, const struct ptp_msg *m,
	     const struct ptp_frame_info *fi, uint64_t rx_stamp)
{
	struct ptp_msg r;
	double frac;
	int64_t t4;

	if (pt->state != PTP_PS_MASTER)
		return PTP_DROP_WRONG_STATE;
	t4 = ptp_time(p, rx_stamp, &frac);
	msg_init(p, pt, &r, PTP_MSG_DELAY_RESP, m->hdr.seq, pt->log_min_delay_req_interval);
	ptp_ns_to_ts(t4, &r.ts);
	r.requesting = m->hdr.source;
	/* The fraction of t4 goes out subtracted: the slave uses t4 - correction. */
	if (__builtin_sub_overflow(m->hdr.correction, frac_scaled(frac), &r.hdr.correction))
		return PTP_DROP_BAD_MEASUREMENT;
	if (pt->cfg.hop_report && fi->has_ttl) {
		r.has_hops = true;
		r.hops_rx_ttl = fi->ttl;
		r.hops_tx_ttl = path_tx_ttl(&pt->cfg.path);
	}
	ptp_queue_msg(p, pt, &r);
	return PTP_OK;
}

/* A new mean path delay sample: filter it, and tell a real step from noise. */
static void
delay_sample(struct ptp *p, struct ptp_port *pt, int64_t raw, uint64_t now)
{
	int64_t median = ptp_delay_filter_median(&pt->dfilt);
	int64_t step =
		pt->cfg.delay_step_ns > 0 ? pt->cfg.delay_step_ns : PTP_DELAY_STEP_DEFAULT_NS;
	int64_t diff;

	pt->raw_delay_ns = raw;
	pt->delay_samples++;
	if (pt->delay_valid && !__builtin_sub_overflow(raw, median, &diff) &&
	    (diff > step || diff < -step)) {
		/* Outliers stay out of the filter unless they persist: then the path changed. */
		if (++pt->delay_outliers < PTP_DELAY_STEP_SAMPLES)
			return;
		ptp_alarm_raise(p, pt, PTP_ALARM_DELAY_STEP, diff, now);
		ptp_delay_filter_reset(&pt->dfilt);
	}
	pt->delay_outliers = 0;
	ptp_delay_filter_add(&pt->dfilt, raw);
	pt->mean_delay_ns = ptp_delay_filter_median(&pt->dfilt);
	pt->delay_valid = true;
}

/* 9.5.7, 11.3.2: the answer to our Delay_Req; t4 and the reverse correction. */
static int
rx_delay_resp(struct ptp *p, struct ptp_port *pt, const struct ptp_msg *m, uint64_t now)
{
	int64_t raw;

	if (!port_is_slave(pt))
		return PTP_DROP_WRONG_STATE;
	if (ptp_port_id_cmp(&m->requesting, &pt->identity) != 0)
		return PTP_DROP_NOT_FOR_US;
	if (!from_parent(p, m))
		return PTP_DROP_NOT_FROM_PARENT;
	if (!pt->sd.dreq_sent || pt->sd.dreq_seq != m->hdr.seq)
		return PTP_DROP_SEQ_MISMATCH;
	if (!pt->sd.dreq_stamped)
		return PTP_DROP_NO_TX_STAMP;
	pt->sd.dreq_sent = false;
	if (!pt->sd.have_t1t2)
		return PTP_DROP_SEQ_MISMATCH;
	if (ptp_e2e_mean_delay(pt->sd.t1, pt->sd.t2, pt->sd.t3, ptp_ts_to_ns(&m->ts),
			       ptp_correction_ns(pt->sd.c_ms), ptp_correction_ns(m->hdr.correction),
			       &raw) != 0 ||
	    raw > PTP_MAX_OFFSET_NS || raw < -PTP_MAX_OFFSET_NS)
		return PTP_DROP_BAD_MEASUREMENT;
	delay_sample(p, pt, raw, now);
	p->cds.mean_path_delay_ns = pt->mean_delay_ns;

	/* 7.7.2.4: the master says how often it wants our Delay_Req. */
	if (m->hdr.log_interval >= -7 && m->hdr.log_interval <= 8)
		pt->log_min_delay_req_interval = m->hdr.log_interval;

	if (m->has_hops && pt->sync_ttl_known) {
		pt->hops_known = true;
		pt->hops_down = (int)m->hops_tx_ttl - pt->sync_ttl;
		pt->hops_up = (int)path_tx_ttl(&pt->cfg.path) - m->hops_rx_ttl;
		if (pt->hops_down != pt->hops_up)
			ptp_alarm_raise(p, pt, PTP_ALARM_HOP_MISMATCH, pt->hops_down - pt->hops_up,
					now);
	}
	return PTP_OK;
}

int
ptp_port_rx_msg(struct ptp *p, struct ptp_port *pt, const struct ptp_msg *m,
		const struct ptp_frame_info *fi, uint64_t rx_stamp, uint64_t now)
{
	switch (m->hdr.type) {
	case PTP_MSG_ANNOUNCE:
		return rx_announce(p, pt, m, now);
	case PTP_MSG_SYNC:
		return rx_sync(p, pt, m, fi, rx_stamp, now);
	case PTP_MSG_FOLLOW_UP:
		return rx_follow_up(p, pt, m, rx_stamp, now);
	case PTP_MSG_DELAY_REQ:
		return rx_delay_req(p, pt, m, fi, rx_stamp);
	case PTP_MSG_DELAY_RESP:
		return rx_delay_resp(p, pt, m, now);
	default:
		return PTP_DROP_UNSUPPORTED_TYPE;
	}
}

void
ptp_port_timers(struct ptp *p, struct ptp_port *pt, uint64_t now)
{
	uint64_t span;
	int lost;

	if (now >= pt->tmo_announce_rx) {
		/* 9.2.6.11: whoever we were following or deferring to has gone. */
		pt->tmo_announce_rx = PTP_TMO_OFF;
		lost = -1;
		if (port_is_slave(pt) || pt->state == PTP_PS_PASSIVE)
			lost = pt->erbest;
		ptp_foreign_clear(&pt->foreign, lost);
		pt->erbest = -1;
		ptp_port_dispatch(p, pt, PTP_EV_ANNOUNCE_RECEIPT_TIMEOUT, now, false);
		/* A slave-only port stays LISTENING: keep timing. */
		if (pt->state == PTP_PS_LISTENING && pt->tmo_announce_rx == PTP_TMO_OFF)
			pt->tmo_announce_rx = now + announce_rx_ticks(p, pt);
		p->decision_needed = true;
	}
	if (now >= pt->tmo_qualification) {
		pt->tmo_qualification = PTP_TMO_OFF;
		ptp_port_dispatch(p, pt, PTP_EV_QUALIFICATION_TIMEOUT, now, false);
	}
	if (pt->state == PTP_PS_MASTER) {
		/*
		 * The Sync goes out before an Announce due at the same time: a frame
		 * sent right behind another one is stamped differently from one sent
		 * alone (on a kernel-backed port the second send is ~35 us quicker),
		 * and every Sync should be sent the same way.
		 */
		if (now >= pt->tmo_sync_tx) {
			send_sync(p, pt, now);
			pt->tmo_sync_tx = next_period(pt->tmo_sync_tx,
						      ptp_log_ticks(p, pt->log_sync_interval), now);
		}
		if (now >= pt->tmo_announce_tx) {
			send_announce(p, pt, now);
			pt->tmo_announce_tx =
				next_period(pt->tmo_announce_tx,
					    ptp_log_ticks(p, pt->log_announce_interval), now);
		}
	}
	if (port_is_slave(pt) && now >= pt->tmo_delay_req) {
		send_delay_req(p, pt, now);
		/* 9.5.11.2: uniformly random in [0, 2^(logMinDelayReqInterval + 1)]. */
		span = 2 * ptp_log_ticks(p, pt->log_min_delay_req_interval);
		pt->tmo_delay_req = now + 1 + (span > 0 ? port_random(pt) % span : 0);
	}
}

uint64_t
ptp_port_next_deadline(const struct ptp_port *pt)
{
	const uint64_t t[] = { pt->tmo_announce_rx, pt->tmo_qualification, pt->tmo_announce_tx,
			       pt->tmo_sync_tx, pt->tmo_delay_req };
	uint64_t best = PTP_TMO_OFF;
	unsigned int i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i] < best)
			best = t[i];
	return best;
}
