/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "ptp/ptp_internal.h"

/* A delayAsymmetry beyond this is a typo, and its scaled form would overflow. */
#define PTP_MAX_ASYMMETRY_NS 1000000000000LL

static const char *const ptp_note_names[PTP_NOTE_MAX] = {
#define _(sym, str) [PTP_NOTE_##sym] = str,
	foreach_ptp_note
#undef _
};

const char *
ptp_note_name(enum ptp_note_kind k)
{
	return (unsigned int)k < PTP_NOTE_MAX ? ptp_note_names[k] : "unknown";
}

void
ptp_config_init(struct ptp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->priority1 = 128;
	c->priority2 = 128;
	c->servo.kp = 0.7;
	c->servo.ki = 0.3;
	c->servo.step_threshold_ns = 0;
	c->servo.first_step_threshold_ns = 20000;
	c->servo.outlier_factor = PTP_SERVO_OUTLIER_FACTOR_DEFAULT;
	c->servo.outlier_min_ns = PTP_SERVO_OUTLIER_MIN_DEFAULT_NS;
	c->hz = 1000000000ULL;
	c->alarm_hold_s = PTP_ALARM_HOLD_DEFAULT_S;
}

uint64_t
ptp_log_ticks(const struct ptp *p, int log2_s)
{
	return ptp_clock_log_ticks(p->conf.hz, log2_s);
}

void
ptp_note_add(struct ptp *p, const struct ptp_note *n)
{
	if (p->notes_n == PTP_NOTES_LEN) {
		p->notes_dropped++;
		return;
	}
	p->notes[(p->notes_head + p->notes_n) % PTP_NOTES_LEN] = *n;
	p->notes_n++;
}

bool
ptp_note_pop(struct ptp *p, struct ptp_note *out)
{
	if (p->notes_n == 0)
		return false;
	*out = p->notes[p->notes_head];
	p->notes_head = (p->notes_head + 1) % PTP_NOTES_LEN;
	p->notes_n--;
	return true;
}

bool
ptp_queue_msg(struct ptp *p, struct ptp_port *pt, const struct ptp_msg *m)
{
	uint8_t msg[PTP_FRAME_MAX];
	struct ptp_tx *tx;
	uint32_t mlen, flen;

	if (p->txq_n == PTP_TXQ_LEN) {
		p->txq_dropped++;
		return false;
	}
	tx = &p->txq[(p->txq_head + p->txq_n) % PTP_TXQ_LEN];
	mlen = ptp_msg_encode(m, msg, sizeof(msg));
	flen = mlen == 0 ? 0 : ptp_frame_build(&pt->cfg.path, msg, mlen, tx->frame, PTP_FRAME_MAX);
	if (flen == 0) {
		p->txq_dropped++;
		return false;
	}
	tx->port = (uint16_t)pt->index;
	tx->len = (uint16_t)flen;
	tx->type = m->hdr.type;
	tx->seq = m->hdr.seq;
	tx->event = ptp_msg_is_event(m->hdr.type);
	p->txq_n++;
	pt->tx[m->hdr.type & 0x0f]++;
	return true;
}

bool
ptp_tx_pop(struct ptp *p, struct ptp_tx *out)
{
	if (p->txq_n == 0)
		return false;
	*out = p->txq[p->txq_head];
	p->txq_head = (p->txq_head + 1) % PTP_TXQ_LEN;
	p->txq_n--;
	return true;
}

void
ptp_alarm_raise(struct ptp *p, struct ptp_port *pt, enum ptp_alarm_kind a, int64_t value,
		uint64_t now)
{
	struct ptp_alarm *al = &pt->alarms[a];
	struct ptp_note n;

	al->seen++;
	al->last = now;
	al->value = value;
	if (al->active)
		return;
	al->active = true;
	al->count++;
	memset(&n, 0, sizeof(n));
	n.kind = PTP_NOTE_ALARM_RAISED;
	n.port = (uint16_t)pt->index;
	n.alarm = (uint8_t)a;
	n.value = value;
	ptp_note_add(p, &n);
}

static void
alarms_expire(struct ptp *p, struct ptp_port *pt, uint64_t now)
{
	uint64_t hold = (uint64_t)p->conf.alarm_hold_s * p->conf.hz;
	struct ptp_note n;
	unsigned int a;

	for (a = 0; a < PTP_ALARM_MAX; a++) {
		struct ptp_alarm *al = &pt->alarms[a];

		if (!al->active || now < al->last || now - al->last < hold)
			continue;
		al->active = false;
		memset(&n, 0, sizeof(n));
		n.kind = PTP_NOTE_ALARM_CLEARED;
		n.port = (uint16_t)pt->index;
		n.alarm = (uint8_t)a;
		n.value = al->value;
		ptp_note_add(p, &n);
	}
}

static void
set_freq(struct ptp *p, uint64_t now, double ppb)
{
	if (ppb == p->freq_ppb)
		return;
	ptp_clock_set_freq(&p->clock, now, ppb);
	p->freq_ppb = ppb;
}

static void
note_servo(struct ptp *p, enum ptp_servo_state st, int64_t offset)
{
	struct ptp_note n;

	if (st == p->servo_state)
		return;
	p->servo_state = st;
	memset(&n, 0, sizeof(n));
	n.kind = PTP_NOTE_SERVO_STATE;
	n.to = (uint8_t)st;
	n.value = offset;
	ptp_note_add(p, &n);
}

void
ptp_sample_offset(struct ptp *p, struct ptp_port *pt, int64_t offset_ns, uint64_t now)
{
	enum ptp_servo_state st;
	struct ptp_note n;
	double ppb;

	if ((int)pt->index != p->slave_port)
		return;
	p->cds.offset_from_master_ns = offset_ns;
	p->cds.mean_path_delay_ns = pt->mean_delay_ns;
	p->samples++;
	st = ptp_servo_sample(&p->servo, offset_ns, pt->sd.t2_mono, &ppb);
	note_servo(p, st, offset_ns);
	set_freq(p, now, ppb);
	switch (st) {
	case PTP_SERVO_UNLOCKED:
		ptp_port_dispatch(p, pt, PTP_EV_SYNCHRONIZATION_FAULT, now, false);
		break;
	case PTP_SERVO_JUMP:
		ptp_clock_step(&p->clock, -p->servo.jump_ns);
		p->steps++;
		p->last_step_ns = -p->servo.jump_ns;
		memset(&n, 0, sizeof(n));
		n.kind = PTP_NOTE_CLOCK_STEP;
		n.port = (uint16_t)pt->index;
		n.value = -p->servo.jump_ns;
		ptp_note_add(p, &n);
		/* Times taken before the step are on the old scale: measure afresh. */
		ptp_port_flush_exchange(pt);
		ptp_port_dispatch(p, pt, PTP_EV_SYNCHRONIZATION_FAULT, now, false);
		break;
	case PTP_SERVO_LOCKED:
		p->locked_once = true;
		p->holdover = false;
		ptp_port_dispatch(p, pt, PTP_EV_MASTER_CLOCK_SELECTED, now, false);
		break;
	default:
		break;
	}
}

bool
ptp_follows_reference(const struct ptp *p)
{
	unsigned int i;

	if (p->slave_port >= 0 || p->locked_once)
		return false;
	for (i = 0; i < p->n_ports; i++)
		if (p->ports[i].state == PTP_PS_MASTER)
			return true;
	return false;
}

bool
ptp_reference_sample(struct ptp *p, int64_t offset_ns, double interval_s, uint64_t now)
{
	struct ptp_servo_config sc;
	enum ptp_servo_state st;
	struct ptp_note n;
	double ppb;

	if (!ptp_follows_reference(p)) {
		p->ref_active = false;
		return false;
	}
	if (!p->ref_active) {
		/* Start from the rate the clock runs at: only the error is left to learn. */
		sc = p->conf.servo;
		sc.step_threshold_ns = PTP_REF_STEP_NS;
		ptp_servo_init(&p->ref_servo, &sc, p->freq_ppb);
		p->ref_active = true;
	}
	ptp_servo_set_interval(&p->ref_servo, interval_s);
	p->ref_offset_ns = offset_ns;
	p->ref_samples++;
	st = ptp_servo_sample(&p->ref_servo, offset_ns, ptp_clock_mono_ns(&p->clock, now), &ppb);
	set_freq(p, now, ppb);
	if (st == PTP_SERVO_JUMP) {
		ptp_clock_step(&p->clock, -p->ref_servo.jump_ns);
		p->steps++;
		p->last_step_ns = -p->ref_servo.jump_ns;
		memset(&n, 0, sizeof(n));
		n.kind = PTP_NOTE_CLOCK_STEP;
		n.port = PTP_NOTE_PORT_REFERENCE;
		n.value = -p->ref_servo.jump_ns;
		ptp_note_add(p, &n);
	}
	return true;
}

/* 9.3.5 Table 14 (M1, M2): this clock is the grandmaster. */
static void
become_grandmaster(struct ptp *p)
{
	p->cds.steps_removed = 0;
	p->cds.offset_from_master_ns = 0;
	p->cds.mean_path_delay_ns = 0;
	p->pds.parent.clock = p->dds.identity;
	p->pds.parent.port = 0;
	p->pds.gm_identity = p->dds.identity;
	p->pds.gm_quality = p->dds.quality;
	p->pds.gm_priority1 = p->dds.priority1;
	p->pds.gm_priority2 = p->dds.priority2;
	p->tpds.time_source = PTP_TIME_SOURCE_INTERNAL_OSC;
	if (p->locked_once) {
		/*
		 * Holdover: the time is still the lost master's, on its
		 * timescale (PTP or arbitrary); only traceability is gone.
		 */
		p->tpds.flags &= (uint16_t) ~(PTP_FLAG_TIME_TRACEABLE | PTP_FLAG_FREQ_TRACEABLE);
		return;
	}
	/* Never synchronized: our own time, kept on the PTP timescale (TAI). */
	p->tpds.utc_offset = PTP_UTC_OFFSET_DEFAULT;
	p->tpds.flags = PTP_FLAG_PTP_TIMESCALE;
}

/* 9.3.5 Table 16 (S1): the clock follows ebest, received on port. */
static bool
follow(struct ptp *p, const struct ptp_port *pt, const struct ptp_dataset *ebest)
{
	const struct ptp_msg *m = &pt->foreign.fm[pt->erbest].last;
	bool new_master = ptp_port_id_cmp(&p->pds.parent, &ebest->sender) != 0;
	bool ours_ptp = (p->tpds.flags & PTP_FLAG_PTP_TIMESCALE) != 0;
	bool theirs_ptp = (m->hdr.flags & PTP_FLAG_PTP_TIMESCALE) != 0;

	if (!p->locked_once && ours_ptp != theirs_ptp) {
		/*
		 * Never synchronized, our time is the start time on our scale (TAI);
		 * an ARB master is most often UTC (ptp4l serving the system clock).
		 * Say our time on its scale, with the UTC offset, so the servo sees
		 * the clock's real error and not the 37 s between the two scales.
		 */
		ptp_clock_step(&p->clock, (ours_ptp ? -(int64_t)p->tpds.utc_offset
						    : (int64_t)m->announce.utc_offset) *
						  PTP_NS_PER_SEC);
	}
	p->cds.steps_removed = (uint16_t)(ebest->steps_removed + 1);
	p->pds.parent = ebest->sender;
	p->pds.gm_identity = ebest->identity;
	p->pds.gm_quality = ebest->quality;
	p->pds.gm_priority1 = ebest->priority1;
	p->pds.gm_priority2 = ebest->priority2;
	p->tpds.utc_offset = m->announce.utc_offset;
	p->tpds.flags = m->hdr.flags & PTP_FLAG_TIME_PROPS;
	p->tpds.time_source = m->announce.time_source;
	return new_master;
}

static bool
port_running(const struct ptp_port *pt)
{
	return pt->state != PTP_PS_INITIALIZING && pt->state != PTP_PS_FAULTY &&
	       pt->state != PTP_PS_DISABLED;
}

/* The servo follows one port and one master; anything else starts it over. */
static void
set_slave_port(struct ptp *p, int port, bool new_master, uint64_t now)
{
	struct ptp_note n;

	if (port == p->slave_port && !new_master)
		return;
	if (p->ref_active && port >= 0) {
		/* The reference's frequency is the best estimate a first master starts from. */
		p->servo.integral = p->ref_servo.integral;
		p->ref_active = false;
	}
	ptp_servo_reset(&p->servo);
	set_freq(p, now, p->servo.integral);
	note_servo(p, PTP_SERVO_UNLOCKED, 0);
	p->slave_port = port;
	memset(&n, 0, sizeof(n));
	if (port < 0) {
		if (p->locked_once && !p->holdover) {
			/* Keep running on the frequency learned while locked. */
			p->holdover = true;
			n.kind = PTP_NOTE_HOLDOVER;
			n.value = (int64_t)llround(p->freq_ppb);
			ptp_note_add(p, &n);
		}
		return;
	}
	n.kind = PTP_NOTE_MASTER_SELECTED;
	n.port = (uint16_t)port;
	n.id = p->pds.parent;
	ptp_note_add(p, &n);
}

/* The state decision event (9.2.6.8): the BMC over every port, then each port's recommendation. */
static void
state_decision(struct ptp *p, uint64_t now)
{
	struct ptp_dataset d0, ebest;
	enum ptp_decision dec[PTP_MAX_PORTS];
	int ebest_port = -1, slave = -1;
	bool new_master = false, was_gm;
	unsigned int i;

	p->decision_needed = false;
	ptp_dataset_from_default(&p->dds, &d0);
	for (i = 0; i < p->n_ports; i++) {
		struct ptp_port *pt = &p->ports[i];

		pt->erbest = -1;
		if (!port_running(pt) || pt->cfg.role == PTP_ROLE_MASTER)
			continue;
		/* 9.3.2.3 Erbest, then 9.3.2.2 Ebest over the ports. */
		pt->erbest = ptp_foreign_best(&pt->foreign, &pt->identity, now, p->conf.hz,
					      &pt->erbest_ds);
		if (pt->erbest >= 0 &&
		    (ebest_port < 0 || ptp_cmp_a_wins(ptp_dscmp(&pt->erbest_ds, &ebest)))) {
			ebest = pt->erbest_ds;
			ebest_port = (int)i;
		}
	}

	for (i = 0; i < p->n_ports; i++) {
		struct ptp_port *pt = &p->ports[i];

		dec[i] = PTP_DECISION_NONE;
		if (!port_running(pt) || pt->cfg.role == PTP_ROLE_MASTER)
			continue;
		if (pt->cfg.role == PTP_ROLE_SLAVE && ebest_port == (int)i)
			/* Slave only: follow the best master heard here, whatever D0 is. */
			dec[i] = PTP_DECISION_S1;
		else
			dec[i] = ptp_state_decision(&d0, ebest_port >= 0 ? &ebest : NULL,
						    pt->erbest >= 0 ? &pt->erbest_ds : NULL,
						    pt->state == PTP_PS_LISTENING,
						    ebest_port == (int)i);
		pt->decision = dec[i];
		if (dec[i] == PTP_DECISION_S1)
			slave = (int)i;
	}

	/* 9.3.5: the data sets follow the decision before the ports act on it. */
	was_gm = memcmp(p->pds.gm_identity.id, p->dds.identity.id, 8) == 0 &&
		 p->pds.parent.port == 0;
	if (slave >= 0) {
		new_master = follow(p, &p->ports[slave], &ebest);
	} else {
		become_grandmaster(p);
		if (!was_gm) {
			struct ptp_note n;

			memset(&n, 0, sizeof(n));
			n.kind = PTP_NOTE_GRANDMASTER;
			ptp_note_add(p, &n);
		}
	}
	set_slave_port(p, slave, new_master, now);

	for (i = 0; i < p->n_ports; i++) {
		struct ptp_port *pt = &p->ports[i];
		enum ptp_event ev;

		if (!port_running(pt))
			continue;
		if (pt->cfg.role == PTP_ROLE_MASTER) {
			ptp_port_dispatch(p, pt, PTP_EV_RS_GRAND_MASTER, now, false);
			continue;
		}
		switch (dec[i]) {
		case PTP_DECISION_M1:
		case PTP_DECISION_M2:
			ev = PTP_EV_RS_GRAND_MASTER;
			break;
		case PTP_DECISION_M3:
			ev = PTP_EV_RS_MASTER;
			break;
		case PTP_DECISION_P1:
		case PTP_DECISION_P2:
			ev = PTP_EV_RS_PASSIVE;
			break;
		case PTP_DECISION_S1:
			ev = PTP_EV_RS_SLAVE;
			break;
		default:
			continue;
		}
		ptp_port_dispatch(p, pt, ev, now, ev == PTP_EV_RS_SLAVE && new_master);
	}
}

static int
check_config(const struct ptp_config *c)
{
	unsigned int i, j;

	if (c->n_ports == 0 || c->n_ports > PTP_MAX_PORTS || c->hz == 0 || c->hz > 10000000000ULL ||
	    !(c->servo.kp > 0) || !(c->servo.ki >= 0) || c->servo.step_threshold_ns < 0 ||
	    c->servo.first_step_threshold_ns < 0 || c->servo.max_ppb < 0 || c->time_ns < 0)
		return -EINVAL;
	for (i = 0; i < c->n_ports; i++) {
		const struct ptp_port_config *pc = &c->ports[i];
		const struct ptp_path *path = &pc->path;

		if ((unsigned int)pc->role >= PTP_ROLE_MAX || pc->log_sync_interval < -7 ||
		    pc->log_sync_interval > 8 || pc->log_announce_interval < -7 ||
		    pc->log_announce_interval > 8 || pc->log_min_delay_req_interval < -7 ||
		    pc->log_min_delay_req_interval > 8 || pc->announce_receipt_timeout < 2 ||
		    pc->delay_asymmetry_ns > PTP_MAX_ASYMMETRY_NS ||
		    pc->delay_asymmetry_ns < -PTP_MAX_ASYMMETRY_NS || pc->delay_step_ns < 0)
			return -EINVAL;
		if ((path->transport != PTP_TRANSPORT_UDP4 &&
		     path->transport != PTP_TRANSPORT_L2) ||
		    path->vlan > 4094 || path->vlan_pcp > 7 || path->mpls_tc > 7 ||
		    path->n_tx_labels > PTP_MAX_LABELS || path->n_rx_labels > PTP_MAX_LABELS ||
		    path->transport != c->ports[0].path.transport)
			return -EINVAL;
		for (j = 0; j < path->n_tx_labels; j++)
			if (path->tx_labels[j] < PTP_MPLS_LABEL_MIN ||
			    path->tx_labels[j] > PTP_MPLS_LABEL_MAX)
				return -EINVAL;
		for (j = 0; j < path->n_rx_labels; j++)
			if (path->rx_labels[j] < PTP_MPLS_LABEL_MIN ||
			    path->rx_labels[j] > PTP_MPLS_LABEL_MAX)
				return -EINVAL;
	}
	return 0;
}

int
ptp_init(struct ptp *p, const struct ptp_config *conf, uint64_t now)
{
	bool slave_only = true;
	unsigned int i;
	uint64_t seed;
	int ret;

	ret = check_config(conf);
	if (ret != 0)
		return ret;
	memset(p, 0, sizeof(*p));
	p->conf = *conf;
	p->n_ports = conf->n_ports;
	p->slave_port = -1;
	ptp_clock_init(&p->clock, conf->hz, now, conf->time_ns);
	ptp_servo_init(&p->servo, &conf->servo, 0);
	p->servo_state = PTP_SERVO_UNLOCKED;

	/* defaultDS (8.2.1); a clock with every port slave-only is slave-only (9.2.2). */
	for (i = 0; i < p->n_ports; i++)
		if (conf->ports[i].role != PTP_ROLE_SLAVE)
			slave_only = false;
	p->dds.identity = conf->identity;
	p->dds.n_ports = (uint16_t)p->n_ports;
	p->dds.quality.clock_class = slave_only ? PTP_CLASS_SLAVE_ONLY : PTP_CLASS_DEFAULT;
	p->dds.quality.accuracy = PTP_ACCURACY_UNKNOWN;
	p->dds.quality.variance = PTP_VARIANCE_UNKNOWN;
	p->dds.priority1 = conf->priority1;
	p->dds.priority2 = conf->priority2;
	p->dds.domain = conf->domain;
	p->dds.slave_only = slave_only;
	p->dds.two_step = true;
	become_grandmaster(p);

	seed = conf->seed;
	if (seed == 0)
		memcpy(&seed, conf->identity.id, sizeof(seed));
	for (i = 0; i < p->n_ports; i++) {
		struct ptp_port *pt = &p->ports[i];

		pt->cfg = conf->ports[i];
		pt->index = i;
		/* 7.5.2.3: port numbers start at 1. */
		pt->identity.clock = conf->identity;
		pt->identity.port = (uint16_t)(i + 1);
		pt->log_announce_interval = pt->cfg.log_announce_interval;
		pt->log_sync_interval = pt->cfg.log_sync_interval;
		pt->log_min_delay_req_interval = pt->cfg.log_min_delay_req_interval;
		pt->announce_receipt_timeout = pt->cfg.announce_receipt_timeout;
		pt->rng = (seed ^ (0x9e3779b97f4a7c15ULL * (i + 1))) | 1;
		ptp_port_start(p, pt, now);
	}
	p->servo_log_interval = conf->ports[0].log_sync_interval;
	ptp_servo_set_interval(&p->servo, ldexp(1.0, p->servo_log_interval));
	/* A first state decision at the first tick: fixed masters start at once. */
	p->tmo_decision = now;
	return 0;
}

int
ptp_rx(struct ptp *p, unsigned int port, const uint8_t *frame, uint32_t len, uint64_t rx_stamp,
       uint64_t now)
{
	struct ptp_frame_info fi;
	struct ptp_port *pt;
	struct ptp_msg m;
	int ret;

	if (port >= p->n_ports)
		return PTP_DROP_BAD_PORT;
	pt = &p->ports[port];
	ret = ptp_frame_parse(&pt->cfg.path, frame, len, &fi);
	if (ret != PTP_OK) {
		if (ptp_drop_is_path_mismatch(ret))
			ptp_alarm_raise(p, pt, PTP_ALARM_PATH_MISMATCH, ret, now);
		goto drop;
	}
	ret = ptp_msg_decode(frame + fi.msg_off, fi.msg_len, &m);
	if (ret != PTP_OK)
		goto drop;
	pt->tlvs_skipped += m.tlvs_skipped;
	if (pt->cfg.path.transport == PTP_TRANSPORT_UDP4 &&
	    ptp_msg_is_event(m.hdr.type) != fi.event_port) {
		ret = PTP_DROP_UDP_PORT_CLASS;
		goto drop;
	}
	/* 7.1 domains, 13.3.2.1 transportSpecific 0 for 1588 (1 is 802.1AS). */
	if (m.hdr.domain != p->dds.domain) {
		ret = PTP_DROP_WRONG_DOMAIN;
		goto drop;
	}
	if (m.hdr.transport_specific != 0) {
		ret = PTP_DROP_WRONG_TRANSPORT_SPECIFIC;
		goto drop;
	}
	/* 9.5.2.2: our own messages, looped back or from another of our ports. */
	if (memcmp(m.hdr.source.clock.id, p->dds.identity.id, 8) == 0) {
		ret = PTP_DROP_FROM_SELF;
		goto drop;
	}
	if (!port_running(pt)) {
		ret = PTP_DROP_WRONG_STATE;
		goto drop;
	}
	pt->rx[m.hdr.type]++;
	ret = ptp_port_rx_msg(p, pt, &m, &fi, rx_stamp, now);
	if (p->decision_needed)
		state_decision(p, now);
	if (ret != PTP_OK)
		goto drop;
	return PTP_OK;
drop:
	pt->drops[ret]++;
	return ret;
}

void
ptp_tx_stamp(struct ptp *p, unsigned int port, uint8_t type, uint16_t seq, uint64_t tx_stamp)
{
	if (port < p->n_ports)
		ptp_port_tx_stamp(p, &p->ports[port], type, seq, tx_stamp);
}

void
ptp_tick(struct ptp *p, uint64_t now)
{
	unsigned int i;
	int min_log = 127;

	for (i = 0; i < p->n_ports; i++) {
		ptp_port_timers(p, &p->ports[i], now);
		alarms_expire(p, &p->ports[i], now);
		if (p->ports[i].log_announce_interval < min_log)
			min_log = p->ports[i].log_announce_interval;
	}
	/* 9.2.6.8: a state decision at least once per announce interval. */
	if (now >= p->tmo_decision) {
		p->decision_needed = true;
		p->tmo_decision = now + ptp_log_ticks(p, min_log);
	}
	if (p->decision_needed)
		state_decision(p, now);
	/* A decision can start timers due at once (a new MASTER's first Announce). */
	for (i = 0; i < p->n_ports; i++)
		if (ptp_port_next_deadline(&p->ports[i]) <= now)
			ptp_port_timers(p, &p->ports[i], now);
}

uint64_t
ptp_next_deadline(const struct ptp *p)
{
	uint64_t best = p->tmo_decision, hold, t;
	unsigned int i, a;

	hold = (uint64_t)p->conf.alarm_hold_s * p->conf.hz;
	for (i = 0; i < p->n_ports; i++) {
		t = ptp_port_next_deadline(&p->ports[i]);
		if (t < best)
			best = t;
		for (a = 0; a < PTP_ALARM_MAX; a++)
			if (p->ports[i].alarms[a].active &&
			    p->ports[i].alarms[a].last + hold < best)
				best = p->ports[i].alarms[a].last + hold;
	}
	return best;
}

void
ptp_port_fault(struct ptp *p, unsigned int port, bool fault, uint64_t now)
{
	if (port >= p->n_ports)
		return;
	ptp_port_dispatch(p, &p->ports[port], fault ? PTP_EV_FAULT_DETECTED : PTP_EV_FAULT_CLEARED,
			  now, false);
	state_decision(p, now);
}

void
ptp_port_enable(struct ptp *p, unsigned int port, bool enable, uint64_t now)
{
	if (port >= p->n_ports)
		return;
	ptp_port_dispatch(p, &p->ports[port],
			  enable ? PTP_EV_DESIGNATED_ENABLED : PTP_EV_DESIGNATED_DISABLED, now,
			  false);
	state_decision(p, now);
}
