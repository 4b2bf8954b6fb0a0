/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ha: the active/standby role state machine of an HA pair, after VRRP
 * (RFC 9568) and keepalived: pure, with the time passed in; it takes events
 * and gives back the actions the caller must apply, each with its reason.
 */
#ifndef EQX_HA_FSM_H
#define EQX_HA_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Roles. TAKEOVER is "install the synced state, then announce, then serve":
 * the node has decided to become active and waits for the caller to report
 * the install done. SWITCHOVER is an active asked to hand its role to the
 * peer: it serves until the peer is in sync and has taken over.
 * The values travel in heartbeats: append, never renumber.
 */
#define foreach_ha_state            \
	_(INIT, "init")             \
	_(STANDBY, "standby")       \
	_(TAKEOVER, "takeover")     \
	_(ACTIVE, "active")         \
	_(SWITCHOVER, "switchover") \
	_(FAULT, "fault")

enum ha_state {
#define _(sym, str) HA_STATE_##sym,
	foreach_ha_state
#undef _
		HA_STATE_MAX,
};

/* What the state machine is told. */
#define foreach_ha_event                    \
	_(TICK, "tick")                     \
	_(PEER_HB, "peer_heartbeat")        \
	_(LINK_DOWN, "link_down")           \
	_(LINK_UP, "link_up")               \
	_(SYNC, "sync_status")              \
	_(INSTALL_DONE, "install_done")     \
	_(SWITCHOVER, "switchover_request") \
	_(PEER_HANDOFF, "peer_handoff")     \
	_(SHUTDOWN, "shutdown")

enum ha_event_type {
#define _(sym, str) HA_EV_##sym,
	foreach_ha_event
#undef _
		HA_EV_MAX,
};

/*
 * What the caller must do, in the order given:
 *   install_state       take over, step 1: put the synced flows, affinity entries and
 *                       registrations in the workers' tables, then report HA_EV_INSTALL_DONE
 *   announce            step 2 (and again after a split brain is won): gratuitous ARP and
 *                       unsolicited NA for every VIP and port address, arg times each
 *   serve               step 3: answer ARP/ND for the VIPs and forward their traffic
 *   stop_serving        stop both
 *   send_heartbeat      send a heartbeat now
 *   start_bulk_sync     send our tables to the peer, as a bulk sync
 *   send_handoff        send the switchover handoff to the peer
 *   forward_to_peer_on  VIP packets that still reach us go to the peer (now active)
 *   forward_to_peer_off ...and no longer
 */
#define foreach_ha_action                     \
	_(INSTALL_STATE, "install_state")     \
	_(ANNOUNCE, "announce")               \
	_(SERVE, "serve")                     \
	_(STOP_SERVING, "stop_serving")       \
	_(SEND_HEARTBEAT, "send_heartbeat")   \
	_(START_BULK_SYNC, "start_bulk_sync") \
	_(SEND_HANDOFF, "send_handoff")       \
	_(FORWARD_ON, "forward_to_peer_on")   \
	_(FORWARD_OFF, "forward_to_peer_off")

enum ha_action_type {
#define _(sym, str) HA_ACT_##sym,
	foreach_ha_action
#undef _
		HA_ACT_MAX,
};

/* Why: every transition and every action carries one. Names are counter names. */
#define foreach_ha_reason                                 \
	_(NONE, "none")                                   \
	_(STARTUP_ALONE, "no_peer_at_startup")            \
	_(PEER_ACTIVE, "peer_is_active")                  \
	_(PEER_HOLDS_STATE, "peer_is_standby_with_state") \
	_(PEER_DEAD, "peer_dead")                         \
	_(PEER_RESIGNED, "peer_resigned")                 \
	_(PEER_RESTARTED, "peer_restarted")               \
	_(ELECTION_WON, "election_won")                   \
	_(PREEMPT, "preempt")                             \
	_(SPLIT_BRAIN_WON, "split_brain_won")             \
	_(SPLIT_BRAIN_LOST, "split_brain_lost")           \
	_(TAKEOVER_ABORTED, "takeover_aborted")           \
	_(INSTALLED, "state_installed")                   \
	_(INSTALL_TIMEOUT, "install_timeout")             \
	_(ANNOUNCE_REPEAT, "announce_repeat")             \
	_(LINK_DOWN, "link_down")                         \
	_(LINK_UP, "link_up")                             \
	_(SHUTDOWN, "shutdown")                           \
	_(SWITCHOVER_REQUESTED, "switchover_requested")   \
	_(SWITCHOVER_HANDOFF, "switchover_handoff_sent")  \
	_(SWITCHOVER_DONE, "switchover_done")             \
	_(SWITCHOVER_TIMEOUT, "switchover_timeout")       \
	_(SWITCHOVER_PEER_LOST, "switchover_peer_lost")   \
	_(PEER_HANDOFF, "peer_handed_over")               \
	_(PEER_NEEDS_BULK, "peer_needs_bulk_sync")        \
	_(PEER_PRIORITY_0, "peer_sent_priority_0")

enum ha_reason {
#define _(sym, str) HA_REASON_##sym,
	foreach_ha_reason
#undef _
		HA_REASON_MAX,
};

const char *ha_state_name(int s);
const char *ha_event_name(int e);
const char *ha_action_name(int a);
const char *ha_reason_name(int r);

struct ha_fsm_conf {
	uint16_t id;      /* instance id, 1..65535; the pair's ids differ */
	uint8_t priority; /* 1..254, higher wins */
	bool preempt;     /* take the role back from a lower-priority active */
	uint32_t heartbeat_ms;
	uint32_t dead_count; /* heartbeats missed before the peer is dead */
	uint32_t preempt_delay_ms;
	uint32_t install_timeout_ms;    /* TAKEOVER announces anyway after this */
	uint32_t switchover_timeout_ms; /* SWITCHOVER gives up after this */
	uint32_t announce_count;        /* gratuitous ARP / NA per address per announce */
	uint32_t announce_delay_ms;     /* a second announce this long after taking over; 0: none */
};

/* The config contract's defaults (priority 100, preempt, 20 ms, 3) and ours for the rest. */
void ha_fsm_conf_defaults(struct ha_fsm_conf *c);

/* What a heartbeat of the peer says, for the state machine. */
struct ha_peer_hb {
	uint16_t id;
	uint64_t epoch;
	uint8_t state;    /* enum ha_state */
	uint8_t priority; /* 0: resigning */
	bool preempt;
	bool handoff;      /* it hands the active role to us */
	bool synced;       /* it holds a complete, current copy of our state */
	bool need_bulk;    /* it has no complete copy and asks for a bulk sync */
	uint32_t bulk_req; /* its bulk request number: one bulk per (epoch, bulk_req) */
	uint32_t interval_ms;
};

/* Our side of the sync, as the caller's sync layer reports it. */
struct ha_fsm_sync {
	bool rx_synced; /* we hold a complete, current copy of the peer's state */
	bool tx_synced; /* the peer holds a complete, current copy of ours */
};

struct ha_event {
	enum ha_event_type type;
	union {
		struct ha_peer_hb hb;    /* PEER_HB */
		struct ha_fsm_sync sync; /* SYNC */
		uint16_t handoff_from;   /* PEER_HANDOFF: the sender's id */
	} u;
};

struct ha_action {
	uint8_t type;   /* enum ha_action_type */
	uint8_t reason; /* enum ha_reason */
	uint32_t arg;   /* ANNOUNCE: repeat count */
};

#define HA_ACTIONS_MAX 32

struct ha_actions {
	unsigned int n;
	struct ha_action a[HA_ACTIONS_MAX];
};

/* A role change (or a notable event within a role: from == to), for telemetry and the log. */
struct ha_transition {
	uint64_t at_ns;
	uint8_t from; /* enum ha_state */
	uint8_t to;
	uint8_t reason; /* enum ha_reason */
	char detail[96];
};

#define HA_FSM_HISTORY 16

struct ha_fsm_stats {
	uint64_t events[HA_EV_MAX];
	uint64_t actions[HA_ACT_MAX];
	uint64_t reasons[HA_REASON_MAX]; /* transitions and notable events by reason */
	uint64_t transitions;
	uint64_t split_brains;
	uint64_t switchovers_refused;
	uint64_t actions_dropped; /* the caller's list was full: a bug of the caller's */
};

struct ha_fsm {
	struct ha_fsm_conf conf;
	enum ha_state state;
	uint64_t entered_ns; /* when state was entered */
	uint64_t next_hb_ns;
	uint64_t hb_requests; /* SEND_HEARTBEAT asked for, duplicates in one list included */
	bool link_up;
	bool serving;
	bool forwarding;
	/* The peer, from its last heartbeat. */
	bool peer_known;
	uint64_t peer_last_ns;
	struct ha_peer_hb peer;
	/* Bulk syncs we started for the peer: (epoch, bulk_req) of the last. */
	uint64_t bulk_epoch;
	uint32_t bulk_req;
	struct ha_fsm_sync sync;
	uint64_t preempt_since_ns; /* 0: no lower-priority active seen */
	bool yielded;              /* we handed the role over: no preemption back */
	bool shutdown;             /* HA_EV_SHUTDOWN seen: FAULT for good */
	bool handoff_sent;
	uint32_t switchover_no;
	uint8_t takeover_reason;
	uint64_t announce_at_ns; /* second announce due; 0: none */
	uint64_t last_announce_ns;
	struct ha_fsm_stats stats;
	struct ha_transition history[HA_FSM_HISTORY];
	unsigned int n_history; /* total recorded; the last HA_FSM_HISTORY kept */
};

/*
 * Start in INIT at now (ns, any monotonic clock, the same for every call).
 * The conf is checked: -EINVAL when a value is out of its range. Actions for
 * the start (a first heartbeat) go to out.
 */
int ha_fsm_init(struct ha_fsm *f, const struct ha_fsm_conf *c, uint64_t now,
		struct ha_actions *out);

/*
 * Feed one event at now; the actions it causes are appended to out. Empty
 * out (n = 0) before the call, or at least between rounds: one event gives at
 * most 6 actions, and what does not fit HA_ACTIONS_MAX is lost (counted in
 * stats.actions_dropped). Returns 0, or for
 * HA_EV_SWITCHOVER: -EINVAL when not active, -ENOTCONN when the peer is not
 * alive, -EALREADY when a switchover is under way.
 */
int ha_fsm_input(struct ha_fsm *f, uint64_t now, const struct ha_event *ev, struct ha_actions *out);

/* ha_fsm_input for the events without a payload. */
int ha_fsm_event(struct ha_fsm *f, uint64_t now, enum ha_event_type type, struct ha_actions *out);

/* Next time something is due (heartbeat, dead peer, preemption, timeouts): tick then. */
uint64_t ha_fsm_next_deadline(const struct ha_fsm *f);

/* The peer sent a heartbeat less than the dead interval ago. */
bool ha_fsm_peer_alive(const struct ha_fsm *f, uint64_t now);

/* dead_count x the peer's advertised interval (ours until it has spoken), in ns. */
uint64_t ha_fsm_dead_interval(const struct ha_fsm *f);

/* What our heartbeat says of our role. */
struct ha_fsm_hb {
	uint8_t state;
	uint8_t priority; /* 0 in FAULT: we resign */
	bool preempt;
	bool handoff; /* we hand the role to the peer */
	uint32_t interval_ms;
};

void ha_fsm_hb_fields(const struct ha_fsm *f, struct ha_fsm_hb *hb);

/* The last transition, or NULL before the first. */
const struct ha_transition *ha_fsm_last(const struct ha_fsm *f);

/*
 * True when a beats b: higher priority, then (RFC 9568 6.4.3's tie-break on
 * the higher primary address, with the instance id for the address) the
 * higher id.
 */
bool ha_fsm_better(uint8_t prio_a, uint16_t id_a, uint8_t prio_b, uint16_t id_b);

#endif /* EQX_HA_FSM_H */
