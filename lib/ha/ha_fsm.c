/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The role state machine. VRRP (RFC 9568 section 6) is the model: its
 * Initialize/Backup/Active become INIT/STANDBY/ACTIVE, an advertisement is
 * our heartbeat, Active_Down_Interval is dead_count heartbeat intervals.
 * What VRRP does not have comes from keepalived (preempt_delay, fault state,
 * the second set of gratuitous ARPs, re-announcing on a lower-priority
 * advertisement) or from the issue (state sync before preemption, takeover
 * in three steps, planned switchover). Each transition quotes its clause.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ha/ha_fsm.h"

#define NS_PER_MS 1000000ULL

static const char *const state_names[] = {
#define _(sym, str) [HA_STATE_##sym] = str,
	foreach_ha_state
#undef _
};

static const char *const event_names[] = {
#define _(sym, str) [HA_EV_##sym] = str,
	foreach_ha_event
#undef _
};

static const char *const action_names[] = {
#define _(sym, str) [HA_ACT_##sym] = str,
	foreach_ha_action
#undef _
};

static const char *const reason_names[] = {
#define _(sym, str) [HA_REASON_##sym] = str,
	foreach_ha_reason
#undef _
};

const char *
ha_state_name(int s)
{
	return s >= 0 && s < HA_STATE_MAX ? state_names[s] : "unknown";
}

const char *
ha_event_name(int e)
{
	return e >= 0 && e < HA_EV_MAX ? event_names[e] : "unknown";
}

const char *
ha_action_name(int a)
{
	return a >= 0 && a < HA_ACT_MAX ? action_names[a] : "unknown";
}

const char *
ha_reason_name(int r)
{
	return r >= 0 && r < HA_REASON_MAX ? reason_names[r] : "unknown";
}

void
ha_fsm_conf_defaults(struct ha_fsm_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->id = 1;
	c->priority = 100;
	c->preempt = true;
	c->heartbeat_ms = 20;
	c->dead_count = 3;
	c->preempt_delay_ms = 1000;
	c->install_timeout_ms = 1000;
	c->switchover_timeout_ms = 10000;
	c->announce_count = 3;
	/* keepalived's vrrp_garp_master_delay: a second set 5 s after taking over. */
	c->announce_delay_ms = 5000;
}

bool
ha_fsm_better(uint8_t prio_a, uint16_t id_a, uint8_t prio_b, uint16_t id_b)
{
	/*
	 * RFC 9568 6.4.3: the higher priority wins; on equal priorities the
	 * higher primary address. The instance id stands for the address: it
	 * is unique in the pair, known before any packet, and does not change
	 * when the HA port is renumbered.
	 */
	if (prio_a != prio_b)
		return prio_a > prio_b;
	return id_a > id_b;
}

uint64_t
ha_fsm_dead_interval(const struct ha_fsm *f)
{
	/* RFC 9568 6.4.2: Active_Adver_Interval is learnt from the active's advertisement. */
	uint32_t iv = f->peer_known && f->peer.interval_ms != 0 ? f->peer.interval_ms
								: f->conf.heartbeat_ms;

	return (uint64_t)f->conf.dead_count * iv * NS_PER_MS;
}

bool
ha_fsm_peer_alive(const struct ha_fsm *f, uint64_t now)
{
	return f->peer_known && now < f->peer_last_ns + ha_fsm_dead_interval(f);
}

static bool
peer_serving(const struct ha_peer_hb *hb)
{
	return hb->priority != 0 &&
	       (hb->state == HA_STATE_ACTIVE || hb->state == HA_STATE_SWITCHOVER);
}

/* A peer that serves and is not handing the role to us: two actives. */
static bool
peer_contends(const struct ha_peer_hb *hb)
{
	return peer_serving(hb) && !hb->handoff;
}

static bool
peer_beats_us(const struct ha_fsm *f, const struct ha_peer_hb *hb)
{
	return ha_fsm_better(hb->priority, hb->id, f->conf.priority, f->conf.id);
}

static void
act(struct ha_fsm *f, uint64_t now, struct ha_actions *out, enum ha_action_type type,
    enum ha_reason reason, uint32_t arg)
{
	unsigned int i;

	if (type == HA_ACT_SEND_HEARTBEAT) {
		f->hb_requests++;
		/* One heartbeat says it all: the periodic timer restarts from it. */
		f->next_hb_ns = now + (uint64_t)f->conf.heartbeat_ms * NS_PER_MS;
		for (i = 0; i < out->n; i++)
			if (out->a[i].type == HA_ACT_SEND_HEARTBEAT)
				return;
	}
	if (type == HA_ACT_SERVE)
		f->serving = true;
	if (type == HA_ACT_STOP_SERVING)
		f->serving = false;
	if (type == HA_ACT_FORWARD_ON)
		f->forwarding = true;
	if (type == HA_ACT_FORWARD_OFF)
		f->forwarding = false;
	f->stats.actions[type]++;
	if (out->n >= HA_ACTIONS_MAX) {
		f->stats.actions_dropped++;
		return;
	}
	out->a[out->n].type = (uint8_t)type;
	out->a[out->n].reason = (uint8_t)reason;
	out->a[out->n].arg = arg;
	out->n++;
}

static void __attribute__((format(printf, 5, 6)))
record(struct ha_fsm *f, uint64_t now, enum ha_state to, enum ha_reason reason, const char *fmt,
       ...)
{
	struct ha_transition *t = &f->history[f->n_history % HA_FSM_HISTORY];
	va_list ap;

	t->at_ns = now;
	t->from = (uint8_t)f->state;
	t->to = (uint8_t)to;
	t->reason = (uint8_t)reason;
	va_start(ap, fmt);
	vsnprintf(t->detail, sizeof(t->detail), fmt, ap);
	va_end(ap);
	f->n_history++;
	f->stats.reasons[reason]++;
	if (to != f->state)
		f->stats.transitions++;
}

const struct ha_transition *
ha_fsm_last(const struct ha_fsm *f)
{
	if (f->n_history == 0)
		return NULL;
	return &f->history[(f->n_history - 1) % HA_FSM_HISTORY];
}

static void
announce(struct ha_fsm *f, uint64_t now, struct ha_actions *out, enum ha_reason reason)
{
	act(f, now, out, HA_ACT_ANNOUNCE, reason, f->conf.announce_count);
	f->last_announce_ns = now;
}

/* The peer has asked for a bulk sync we have not started yet: start it. */
static void
maybe_bulk(struct ha_fsm *f, uint64_t now, struct ha_actions *out)
{
	if (!f->peer_known || !f->peer.need_bulk)
		return;
	if (f->bulk_epoch == f->peer.epoch && f->bulk_req == f->peer.bulk_req)
		return;
	f->bulk_epoch = f->peer.epoch;
	f->bulk_req = f->peer.bulk_req;
	act(f, now, out, HA_ACT_START_BULK_SYNC, HA_REASON_PEER_NEEDS_BULK, 0);
}

/*
 * Enter a state: what every entry into it does, whatever the way in. The
 * handlers decide the transition and quote its clause; this does the work.
 */
static void
enter(struct ha_fsm *f, uint64_t now, enum ha_state to, enum ha_reason reason,
      struct ha_actions *out)
{
	f->state = to;
	f->entered_ns = now;
	switch (to) {
	case HA_STATE_INIT:
		break;
	case HA_STATE_STANDBY:
		if (f->serving)
			act(f, now, out, HA_ACT_STOP_SERVING, reason, 0);
		f->preempt_since_ns = 0;
		f->handoff_sent = false;
		f->announce_at_ns = 0;
		act(f, now, out, HA_ACT_SEND_HEARTBEAT, reason, 0);
		break;
	case HA_STATE_TAKEOVER:
		f->takeover_reason = (uint8_t)reason;
		f->yielded = false;
		f->preempt_since_ns = 0;
		if (f->forwarding)
			act(f, now, out, HA_ACT_FORWARD_OFF, reason, 0);
		act(f, now, out, HA_ACT_INSTALL_STATE, reason, 0);
		act(f, now, out, HA_ACT_SEND_HEARTBEAT, reason, 0);
		break;
	case HA_STATE_ACTIVE:
		if (f->forwarding)
			act(f, now, out, HA_ACT_FORWARD_OFF, reason, 0);
		/*
		 * RFC 9568 6.4.2 (Active_Down_Timer fires): send an
		 * advertisement, a gratuitous ARP / unsolicited NA per address,
		 * then act as Active. The order: announce, then serve.
		 */
		announce(f, now, out, reason);
		if (!f->serving)
			act(f, now, out, HA_ACT_SERVE, reason, 0);
		act(f, now, out, HA_ACT_SEND_HEARTBEAT, reason, 0);
		f->handoff_sent = false;
		f->announce_at_ns = f->conf.announce_delay_ms != 0
					    ? now + (uint64_t)f->conf.announce_delay_ms * NS_PER_MS
					    : 0;
		maybe_bulk(f, now, out);
		break;
	case HA_STATE_SWITCHOVER:
		f->handoff_sent = false;
		f->switchover_no++;
		act(f, now, out, HA_ACT_SEND_HEARTBEAT, reason, 0);
		break;
	case HA_STATE_FAULT:
		if (f->serving)
			act(f, now, out, HA_ACT_STOP_SERVING, reason, 0);
		if (f->forwarding)
			act(f, now, out, HA_ACT_FORWARD_OFF, reason, 0);
		f->announce_at_ns = 0;
		f->preempt_since_ns = 0;
		/* RFC 9568 6.4.3 (Shutdown): send an advertisement with priority 0. */
		act(f, now, out, HA_ACT_SEND_HEARTBEAT, reason, 0);
		break;
	case HA_STATE_MAX:
		break;
	}
}

#define TRANSITION(f, now, to, reason, out, ...)                 \
	do {                                                     \
		record((f), (now), (to), (reason), __VA_ARGS__); \
		enter((f), (now), (to), (reason), (out));        \
	} while (0)

static unsigned int
ms_since(uint64_t now, uint64_t then)
{
	return now > then ? (unsigned int)((now - then) / NS_PER_MS) : 0;
}

/* LINK_DOWN and SHUTDOWN, the same in every state but FAULT. */
static int
to_fault(struct ha_fsm *f, uint64_t now, const struct ha_event *ev, struct ha_actions *out)
{
	/* keepalived: a tracked interface that goes down puts the instance in FAULT. */
	if (ev->type == HA_EV_SHUTDOWN) {
		f->shutdown = true;
		TRANSITION(f, now, HA_STATE_FAULT, HA_REASON_SHUTDOWN, out, "shutting down");
	} else {
		TRANSITION(f, now, HA_STATE_FAULT, HA_REASON_LINK_DOWN, out, "HA port link down");
	}
	return 0;
}

static int
fsm_init(struct ha_fsm *f, uint64_t now, const struct ha_event *ev, struct ha_actions *out)
{
	const struct ha_peer_hb *hb = &ev->u.hb;

	switch (ev->type) {
	case HA_EV_TICK:
		/*
		 * RFC 9568 6.4.1: a non-owner starts as Backup with the
		 * Active_Down_Timer set; 6.4.2: when it fires, become Active.
		 * INIT is that first Backup interval, before any peer is heard.
		 */
		if (!ha_fsm_peer_alive(f, now) && now >= f->entered_ns + ha_fsm_dead_interval(f))
			TRANSITION(f, now, HA_STATE_TAKEOVER, HA_REASON_STARTUP_ALONE, out,
				   "no active peer heard for %u ms", ms_since(now, f->entered_ns));
		return 0;
	case HA_EV_PEER_HB:
		if (hb->priority == 0 || hb->state == HA_STATE_FAULT) {
			/* RFC 9568 6.4.2: priority 0 is an active that resigns: do not wait. */
			TRANSITION(f, now, HA_STATE_TAKEOVER, HA_REASON_PEER_RESIGNED, out,
				   "peer %u is in %s", hb->id, ha_state_name(hb->state));
		} else if (peer_serving(hb) || hb->state == HA_STATE_TAKEOVER) {
			/* RFC 9568 6.4.1 -> 6.4.2: Backup while an active advertises. */
			TRANSITION(f, now, HA_STATE_STANDBY, HA_REASON_PEER_ACTIVE, out,
				   "peer %u is %s", hb->id, ha_state_name(hb->state));
		} else if (hb->state == HA_STATE_STANDBY) {
			/*
			 * The peer holds the last active's state and takes over
			 * on hearing us in INIT (see fsm_standby): it must win,
			 * whatever the priorities, or the state is lost.
			 */
			TRANSITION(f, now, HA_STATE_STANDBY, HA_REASON_PEER_HOLDS_STATE, out,
				   "peer %u is standby", hb->id);
		} else if (ha_fsm_better(f->conf.priority, f->conf.id, hb->priority, hb->id)) {
			/* Both starting, neither holds state: the better takes over now. */
			TRANSITION(f, now, HA_STATE_TAKEOVER, HA_REASON_ELECTION_WON, out,
				   "both starting: priority %u id %u beats priority %u id %u",
				   f->conf.priority, f->conf.id, hb->priority, hb->id);
		}
		/* Else wait in INIT for the winner to become active. */
		return 0;
	case HA_EV_LINK_DOWN:
	case HA_EV_SHUTDOWN:
		return to_fault(f, now, ev, out);
	case HA_EV_SWITCHOVER:
		return -EINVAL;
	default:
		return 0;
	}
}

static int
fsm_standby(struct ha_fsm *f, uint64_t now, const struct ha_event *ev, struct ha_actions *out)
{
	const struct ha_peer_hb *hb = &ev->u.hb;

	switch (ev->type) {
	case HA_EV_TICK:
		if (!ha_fsm_peer_alive(f, now)) {
			/* RFC 9568 6.4.2: If the Active_Down_Timer fires: to Active. */
			TRANSITION(f, now, HA_STATE_TAKEOVER, HA_REASON_PEER_DEAD, out,
				   "peer %u silent for %u ms%s", f->peer.id,
				   ms_since(now, f->peer_last_ns),
				   f->sync.rx_synced ? "" : "; our copy of its state is partial");
			return 0;
		}
		break;
	case HA_EV_PEER_HB:
		if (hb->handoff) {
			/* Planned switchover: the active hands over once we are in sync. */
			TRANSITION(f, now, HA_STATE_TAKEOVER, HA_REASON_PEER_HANDOFF, out,
				   "peer %u hands over (heartbeat)", hb->id);
			return 0;
		}
		if (hb->priority == 0 || hb->state == HA_STATE_FAULT) {
			/*
			 * RFC 9568 6.4.2: If the Priority in the ADVERTISEMENT is
			 * zero, set the Active_Down_Timer to Skew_Time. With one
			 * backup there is nobody to skew against: at once.
			 */
			TRANSITION(f, now, HA_STATE_TAKEOVER, HA_REASON_PEER_RESIGNED, out,
				   "peer %u resigns (%s, priority %u)", hb->id,
				   ha_state_name(hb->state), hb->priority);
			return 0;
		}
		if (hb->state == HA_STATE_INIT) {
			/* The active restarted: it holds nothing, we hold its state. */
			TRANSITION(f, now, HA_STATE_TAKEOVER, HA_REASON_PEER_RESTARTED, out,
				   "peer %u restarted", hb->id);
			return 0;
		}
		if (hb->state == HA_STATE_STANDBY) {
			/* Nobody serves: as at startup, the better takes over. */
			if (!ha_fsm_better(f->conf.priority, f->conf.id, hb->priority, hb->id))
				return 0;
			TRANSITION(f, now, HA_STATE_TAKEOVER, HA_REASON_ELECTION_WON, out,
				   "both standby: priority %u id %u beats priority %u id %u",
				   f->conf.priority, f->conf.id, hb->priority, hb->id);
			return 0;
		}
		/*
		 * RFC 9568 6.4.2: with Preempt_Mode and an advertised priority
		 * below ours the advertisement is discarded, so the timer runs
		 * out. keepalived's preempt_delay counts from the first such
		 * advertisement; the issue adds: not before our copy is complete.
		 */
		if (f->conf.preempt && !f->yielded && hb->state == HA_STATE_ACTIVE &&
		    hb->priority < f->conf.priority) {
			if (f->preempt_since_ns == 0)
				f->preempt_since_ns = now;
		} else {
			f->preempt_since_ns = 0;
		}
		break;
	case HA_EV_PEER_HANDOFF:
		TRANSITION(f, now, HA_STATE_TAKEOVER, HA_REASON_PEER_HANDOFF, out,
			   "peer %u hands over", ev->u.handoff_from);
		return 0;
	case HA_EV_SYNC:
		break;
	case HA_EV_LINK_DOWN:
	case HA_EV_SHUTDOWN:
		return to_fault(f, now, ev, out);
	case HA_EV_SWITCHOVER:
		return -EINVAL;
	default:
		return 0;
	}
	if (f->preempt_since_ns != 0 && f->sync.rx_synced && ha_fsm_peer_alive(f, now) &&
	    now >= f->preempt_since_ns + (uint64_t)f->conf.preempt_delay_ms * NS_PER_MS)
		TRANSITION(f, now, HA_STATE_TAKEOVER, HA_REASON_PREEMPT, out,
			   "priority %u preempts peer %u priority %u after %u ms, in sync",
			   f->conf.priority, f->peer.id, f->peer.priority,
			   ms_since(now, f->preempt_since_ns));
	return 0;
}

static int
fsm_takeover(struct ha_fsm *f, uint64_t now, const struct ha_event *ev, struct ha_actions *out)
{
	const struct ha_peer_hb *hb = &ev->u.hb;

	switch (ev->type) {
	case HA_EV_INSTALL_DONE:
		/* The synced state is in the tables: now announce, then serve. */
		TRANSITION(f, now, HA_STATE_ACTIVE, HA_REASON_INSTALLED, out,
			   "state installed in %u ms", ms_since(now, f->entered_ns));
		return 0;
	case HA_EV_TICK:
		if (now >= f->entered_ns + (uint64_t)f->conf.install_timeout_ms * NS_PER_MS)
			TRANSITION(f, now, HA_STATE_ACTIVE, HA_REASON_INSTALL_TIMEOUT, out,
				   "install not done after %u ms: serving anyway",
				   ms_since(now, f->entered_ns));
		return 0;
	case HA_EV_PEER_HB:
		/*
		 * RFC 9568 6.4.3, applied before we serve: an active of
		 * higher priority (or equal priority and higher id) keeps the
		 * role. A heartbeat link that comes back ends here.
		 */
		if (f->takeover_reason != HA_REASON_PEER_HANDOFF && peer_contends(hb) &&
		    peer_beats_us(f, hb))
			TRANSITION(f, now, HA_STATE_STANDBY, HA_REASON_TAKEOVER_ABORTED, out,
				   "peer %u priority %u is active again", hb->id, hb->priority);
		return 0;
	case HA_EV_LINK_DOWN:
	case HA_EV_SHUTDOWN:
		return to_fault(f, now, ev, out);
	case HA_EV_SWITCHOVER:
		return -EINVAL;
	default:
		return 0;
	}
}

/*
 * Two actives that hear each other (ACTIVE, or SWITCHOVER before the
 * handoff). RFC 9568 6.4.3: If the Priority in the ADVERTISEMENT is greater
 * than the local Priority or [equal and the sender's address greater]:
 * transition to Backup; else send an ADVERTISEMENT immediately to assert
 * the Active state. keepalived (vrrp_garp_lower_prio_repeat) also sends its
 * gratuitous ARPs again then: neighbours that followed the loser come back.
 */
static void
split_brain(struct ha_fsm *f, uint64_t now, const struct ha_peer_hb *hb, struct ha_actions *out)
{
	if (peer_beats_us(f, hb)) {
		f->stats.split_brains++;
		TRANSITION(f, now, HA_STATE_STANDBY, HA_REASON_SPLIT_BRAIN_LOST, out,
			   "peer %u priority %u is active and beats priority %u id %u", hb->id,
			   hb->priority, f->conf.priority, f->conf.id);
		/* Packets that still reach us go to the winner, not to the floor. */
		act(f, now, out, HA_ACT_FORWARD_ON, HA_REASON_SPLIT_BRAIN_LOST, 0);
		return;
	}
	act(f, now, out, HA_ACT_SEND_HEARTBEAT, HA_REASON_SPLIT_BRAIN_WON, 0);
	/* Once per dead interval: the loser steps down on our heartbeat. */
	if (now >= f->last_announce_ns + ha_fsm_dead_interval(f)) {
		f->stats.split_brains++;
		record(f, now, f->state, HA_REASON_SPLIT_BRAIN_WON,
		       "peer %u priority %u also active: we win, announcing again", hb->id,
		       hb->priority);
		announce(f, now, out, HA_REASON_SPLIT_BRAIN_WON);
	}
}

/* The second announce (keepalived vrrp_garp_master_delay), in ACTIVE and SWITCHOVER. */
static void
announce_timer(struct ha_fsm *f, uint64_t now, struct ha_actions *out)
{
	if (f->announce_at_ns != 0 && now >= f->announce_at_ns) {
		f->announce_at_ns = 0;
		announce(f, now, out, HA_REASON_ANNOUNCE_REPEAT);
	}
}

static int
fsm_active(struct ha_fsm *f, uint64_t now, const struct ha_event *ev, struct ha_actions *out)
{
	const struct ha_peer_hb *hb = &ev->u.hb;

	switch (ev->type) {
	case HA_EV_TICK:
		announce_timer(f, now, out);
		return 0;
	case HA_EV_PEER_HB:
		maybe_bulk(f, now, out);
		if (peer_contends(hb))
			split_brain(f, now, hb, out);
		else if (hb->priority == 0)
			/* RFC 9568 6.4.3: priority 0 received: send an ADVERTISEMENT. */
			act(f, now, out, HA_ACT_SEND_HEARTBEAT, HA_REASON_PEER_PRIORITY_0, 0);
		return 0;
	case HA_EV_SWITCHOVER:
		if (!ha_fsm_peer_alive(f, now) || f->peer.state != HA_STATE_STANDBY) {
			f->stats.switchovers_refused++;
			return -ENOTCONN;
		}
		TRANSITION(f, now, HA_STATE_SWITCHOVER, HA_REASON_SWITCHOVER_REQUESTED, out,
			   "switchover to peer %u requested", f->peer.id);
		return 0;
	case HA_EV_LINK_DOWN:
	case HA_EV_SHUTDOWN:
		return to_fault(f, now, ev, out);
	default:
		return 0;
	}
}

static int
fsm_switchover(struct ha_fsm *f, uint64_t now, const struct ha_event *ev, struct ha_actions *out)
{
	const struct ha_peer_hb *hb = &ev->u.hb;

	switch (ev->type) {
	case HA_EV_TICK:
		if (!ha_fsm_peer_alive(f, now)) {
			TRANSITION(f, now, HA_STATE_ACTIVE, HA_REASON_SWITCHOVER_PEER_LOST, out,
				   "peer %u silent for %u ms: switchover abandoned", f->peer.id,
				   ms_since(now, f->peer_last_ns));
			return 0;
		}
		if (now >= f->entered_ns + (uint64_t)f->conf.switchover_timeout_ms * NS_PER_MS) {
			TRANSITION(f, now, HA_STATE_ACTIVE, HA_REASON_SWITCHOVER_TIMEOUT, out,
				   "peer %u not %s after %u ms: switchover abandoned", f->peer.id,
				   f->handoff_sent ? "active" : "in sync",
				   ms_since(now, f->entered_ns));
			return 0;
		}
		announce_timer(f, now, out);
		break;
	case HA_EV_PEER_HB:
		maybe_bulk(f, now, out);
		if (f->handoff_sent && hb->state == HA_STATE_ACTIVE && hb->priority != 0) {
			/*
			 * The peer serves: only now do we stop, so that one of
			 * the two always does; what still reaches us goes to it.
			 */
			TRANSITION(f, now, HA_STATE_STANDBY, HA_REASON_SWITCHOVER_DONE, out,
				   "peer %u is active after %u ms", hb->id,
				   ms_since(now, f->entered_ns));
			act(f, now, out, HA_ACT_FORWARD_ON, HA_REASON_SWITCHOVER_DONE, 0);
			/* The operator moved the role: preempting it back would undo that. */
			f->yielded = true;
			return 0;
		}
		if (!f->handoff_sent && peer_contends(hb)) {
			split_brain(f, now, hb, out);
			if (f->state != HA_STATE_SWITCHOVER)
				return 0;
		}
		if (hb->priority == 0 || hb->state == HA_STATE_FAULT) {
			TRANSITION(f, now, HA_STATE_ACTIVE, HA_REASON_SWITCHOVER_PEER_LOST, out,
				   "peer %u is in %s: switchover abandoned", hb->id,
				   ha_state_name(hb->state));
			return 0;
		}
		break;
	case HA_EV_SYNC:
		break;
	case HA_EV_SWITCHOVER:
		return -EALREADY;
	case HA_EV_LINK_DOWN:
	case HA_EV_SHUTDOWN:
		return to_fault(f, now, ev, out);
	default:
		return 0;
	}
	/*
	 * Hand over once the peer says its copy is complete and current, and
	 * our side agrees (our records acked, no bulk owed): the peer then
	 * serves every connection we serve.
	 */
	if (!f->handoff_sent && ha_fsm_peer_alive(f, now) && f->peer.state == HA_STATE_STANDBY &&
	    f->peer.synced && f->sync.tx_synced) {
		f->handoff_sent = true;
		record(f, now, f->state, HA_REASON_SWITCHOVER_HANDOFF,
		       "peer %u in sync after %u ms: handing over", f->peer.id,
		       ms_since(now, f->entered_ns));
		act(f, now, out, HA_ACT_SEND_HANDOFF, HA_REASON_SWITCHOVER_HANDOFF,
		    f->switchover_no);
		act(f, now, out, HA_ACT_SEND_HEARTBEAT, HA_REASON_SWITCHOVER_HANDOFF, 0);
	}
	return 0;
}

static int
fsm_fault(struct ha_fsm *f, uint64_t now, const struct ha_event *ev, struct ha_actions *out)
{
	switch (ev->type) {
	case HA_EV_LINK_UP:
		/* keepalived: out of FAULT, the instance starts over (here: INIT, listening). */
		if (!f->shutdown)
			TRANSITION(f, now, HA_STATE_INIT, HA_REASON_LINK_UP, out,
				   "HA port link up after %u ms", ms_since(now, f->entered_ns));
		return 0;
	case HA_EV_SHUTDOWN:
		f->shutdown = true;
		record(f, now, f->state, HA_REASON_SHUTDOWN, "shutting down");
		return 0;
	case HA_EV_SWITCHOVER:
		return -EINVAL;
	default:
		return 0;
	}
}

typedef int (*fsm_handler)(struct ha_fsm *f, uint64_t now, const struct ha_event *ev,
			   struct ha_actions *out);

static const fsm_handler handlers[HA_STATE_MAX] = {
	[HA_STATE_INIT] = fsm_init,
	[HA_STATE_STANDBY] = fsm_standby,
	[HA_STATE_TAKEOVER] = fsm_takeover,
	[HA_STATE_ACTIVE] = fsm_active,
	[HA_STATE_SWITCHOVER] = fsm_switchover,
	[HA_STATE_FAULT] = fsm_fault,
};

int
ha_fsm_input(struct ha_fsm *f, uint64_t now, const struct ha_event *ev, struct ha_actions *out)
{
	int rc;

	if (ev->type >= HA_EV_MAX)
		return -EINVAL;
	f->stats.events[ev->type]++;
	switch (ev->type) {
	case HA_EV_PEER_HB:
		/* Nonsense from an authenticated peer is its bug: ignore it, never trust it. */
		if (ev->u.hb.state >= HA_STATE_MAX || ev->u.hb.id == f->conf.id)
			return -EINVAL;
		f->peer_known = true;
		f->peer_last_ns = now;
		f->peer = ev->u.hb;
		break;
	case HA_EV_SYNC:
		f->sync = ev->u.sync;
		break;
	case HA_EV_LINK_DOWN:
		f->link_up = false;
		break;
	case HA_EV_LINK_UP:
		f->link_up = true;
		break;
	default:
		break;
	}
	rc = handlers[f->state](f, now, ev, out);
	if (now >= f->next_hb_ns)
		act(f, now, out, HA_ACT_SEND_HEARTBEAT, HA_REASON_NONE, 0);
	return rc;
}

int
ha_fsm_event(struct ha_fsm *f, uint64_t now, enum ha_event_type type, struct ha_actions *out)
{
	struct ha_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	return ha_fsm_input(f, now, &ev, out);
}

int
ha_fsm_init(struct ha_fsm *f, const struct ha_fsm_conf *c, uint64_t now, struct ha_actions *out)
{
	if (c->id == 0 || c->priority == 0 || c->priority == 255 || c->heartbeat_ms == 0 ||
	    c->heartbeat_ms > 65535 || c->dead_count == 0)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->conf = *c;
	f->state = HA_STATE_INIT;
	f->entered_ns = now;
	f->link_up = true;
	/* Speak at once: a peer that is already active answers, and we learn it sooner. */
	act(f, now, out, HA_ACT_SEND_HEARTBEAT, HA_REASON_NONE, 0);
	return 0;
}

static uint64_t
min_nz(uint64_t a, uint64_t b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

uint64_t
ha_fsm_next_deadline(const struct ha_fsm *f)
{
	uint64_t d = f->next_hb_ns;
	uint64_t dead = ha_fsm_dead_interval(f);

	switch (f->state) {
	case HA_STATE_INIT:
		d = min_nz(d, f->entered_ns + dead);
		if (f->peer_known)
			d = min_nz(d, f->peer_last_ns + dead);
		break;
	case HA_STATE_STANDBY:
		if (f->peer_known)
			d = min_nz(d, f->peer_last_ns + dead);
		if (f->preempt_since_ns != 0)
			d = min_nz(d, f->preempt_since_ns +
					      (uint64_t)f->conf.preempt_delay_ms * NS_PER_MS);
		break;
	case HA_STATE_TAKEOVER:
		d = min_nz(d, f->entered_ns + (uint64_t)f->conf.install_timeout_ms * NS_PER_MS);
		break;
	case HA_STATE_SWITCHOVER:
		d = min_nz(d, f->entered_ns + (uint64_t)f->conf.switchover_timeout_ms * NS_PER_MS);
		if (f->peer_known)
			d = min_nz(d, f->peer_last_ns + dead);
		d = min_nz(d, f->announce_at_ns);
		break;
	case HA_STATE_ACTIVE:
		d = min_nz(d, f->announce_at_ns);
		break;
	default:
		break;
	}
	return d;
}

void
ha_fsm_hb_fields(const struct ha_fsm *f, struct ha_fsm_hb *hb)
{
	hb->state = (uint8_t)f->state;
	/* RFC 9568 6.4.3 (Shutdown): a router that gives up advertises priority 0. */
	hb->priority = f->state == HA_STATE_FAULT ? 0 : f->conf.priority;
	hb->preempt = f->conf.preempt && !f->yielded;
	hb->handoff = f->state == HA_STATE_SWITCHOVER && f->handoff_sent;
	hb->interval_ms = f->conf.heartbeat_ms;
}
