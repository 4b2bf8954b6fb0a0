/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/lisp: the map-server and map-resolver (RFC 9301 §8): sites and their
 * keys, authenticated registrations in a longest-prefix-match table, and the
 * answer to each control message. Pure: the caller passes the clock and sends
 * what comes back; the only I/O of lib/lisp is lisp_state.h's file.
 */
#ifndef EQX_LISP_MS_H
#define EQX_LISP_MS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lisp/lisp_wire.h"

struct cfg;

/*
 * Why a message was not accepted. Names are the counter names. A message is
 * accepted or rejected whole: a Map-Register with one bad record changes
 * nothing.
 */
#define foreach_lisp_ms_reject                          \
	_(MALFORMED, "malformed")                       \
	_(UNKNOWN_TYPE, "unknown_type")                 \
	_(UNEXPECTED_TYPE, "unexpected_type")           \
	_(ECM_NOT_REQUEST, "ecm_inner_not_map_request") \
	_(ECM_TO_ETR, "ecm_for_an_etr")                 \
	_(NO_SITE, "eid_not_in_any_site")               \
	_(OUTSIDE_SITE, "eid_outside_site")             \
	_(MORE_SPECIFIC, "more_specific_not_accepted")  \
	_(UNKNOWN_KEY, "unknown_key_id")                \
	_(BAD_ALGORITHM, "unsupported_algorithm")       \
	_(BAD_AUTH_LENGTH, "bad_auth_length")           \
	_(BAD_MAC, "bad_mac")                           \
	_(REPLAY, "replay")                             \
	_(TABLE_FULL, "table_full")                     \
	_(UNMATCHED_ACK, "unmatched_notify_ack")        \
	_(NO_MEMORY, "no_memory")

enum lisp_ms_reject {
	LISP_MS_OK = 0,
#define _(sym, str) LISP_MS_REJ_##sym,
	foreach_lisp_ms_reject
#undef _
		LISP_MS_REJ_MAX,
};

/* Event counters, by name for telemetry. */
#define foreach_lisp_ms_counter                                     \
	_(RX_MAP_REQUEST, "rx_map_request")                         \
	_(RX_MAP_REPLY, "rx_map_reply")                             \
	_(RX_MAP_REGISTER, "rx_map_register")                       \
	_(RX_MAP_NOTIFY, "rx_map_notify")                           \
	_(RX_MAP_NOTIFY_ACK, "rx_map_notify_ack")                   \
	_(RX_ECM, "rx_ecm")                                         \
	_(RX_OTHER, "rx_other")                                     \
	_(REG_NEW, "registrations_new")                             \
	_(REG_REFRESHED, "registrations_refreshed")                 \
	_(REG_WITHDRAWN, "registrations_withdrawn")                 \
	_(REG_EXPIRED, "registrations_expired")                     \
	_(REG_DROPPED_BY_CONFIG, "registrations_dropped_by_config") \
	_(RESTORED_LOADED, "restored_loaded")                       \
	_(RESTORED_SKIPPED, "restored_skipped")                     \
	_(RESTORED_REFRESHED, "restored_refreshed")                 \
	_(RESTORED_EXPIRED, "restored_expired")                     \
	_(TX_MAP_NOTIFY, "tx_map_notify")                           \
	_(TX_MAP_NOTIFY_RESTORE, "tx_map_notify_restore")           \
	_(TX_MAP_NOTIFY_RETRANSMIT, "tx_map_notify_retransmit")     \
	_(NOTIFY_ACKED, "map_notify_acked")                         \
	_(NOTIFY_UNACKED, "map_notify_unacked")                     \
	_(NOTIFY_UNTRACKED, "map_notify_untracked")                 \
	_(REQ_FORWARDED, "map_request_forwarded")                   \
	_(REQ_PROXY_REPLY, "map_request_proxy_reply")               \
	_(REQ_NEGATIVE_UNREGISTERED, "negative_reply_unregistered") \
	_(REQ_NEGATIVE_NOT_EID, "negative_reply_not_eid")

enum lisp_ms_counter {
#define _(sym, str) LISP_MS_CTR_##sym,
	foreach_lisp_ms_counter
#undef _
		LISP_MS_CTR_MAX,
};

struct lisp_ms_stats {
	uint64_t ctr[LISP_MS_CTR_MAX];
	uint64_t reject[LISP_MS_REJ_MAX]; /* [0] unused */
};

const char *lisp_ms_reject_name(int reason);
const char *lisp_ms_counter_name(int ctr);

/* Nonces remembered per registration for replay detection. */
#define LISP_REG_NONCE_HISTORY 32

/*
 * One registration: an EID prefix and what its ETR registered. The caller
 * reads these (telemetry, equinoxctl); only lib/lisp writes them.
 */
struct lisp_reg {
	struct lisp_prefix eid; /* host bits cleared */
	uint16_t site;          /* index of the site in the config */
	bool proxy_reply;       /* P: the Map-Server answers Map-Requests itself */
	bool want_map_notify;   /* M of the last Map-Register */
	bool xtr_id_present;    /* I */
	bool restored;          /* loaded from the state file or HA, not refreshed since */
	bool authoritative;     /* A of the registered record */
	uint8_t act;            /* ACT of the registered record */
	uint16_t map_version;
	uint32_t ttl;           /* record TTL in minutes, as registered (used in proxy replies) */
	uint64_t expiry;        /* wall clock, seconds */
	uint64_t registered_at; /* first accepted */
	uint64_t refreshed_at;  /* last accepted */
	uint8_t xtr_id[16];
	uint64_t site_id;
	uint64_t last_nonce;
	uint8_t key_id; /* the two bytes the ETR sent, echoed in our Map-Notify */
	uint8_t alg_id;
	struct lisp_addr etr; /* source RLOC of the last Map-Register */
	uint16_t etr_port;    /* its UDP source port */
	unsigned int n_locators;
	struct lisp_locator loc[LISP_MAX_LOCATORS];
	/* private to lisp_ms.c */
	uint32_t heap_idx;
	uint8_t n_hist;
	uint8_t hist_pos;
	uint64_t hist[LISP_REG_NONCE_HISTORY];
};

/* Where a control message came from and went to (the outer IP/UDP header). */
struct lisp_pkt_info {
	struct lisp_addr src, dst; /* family 4 or 6 */
	uint16_t sport, dport;
};

/* Room for the largest message we send: an ECM around the largest request. */
#define LISP_OUT_MAX (LISP_MSG_MAX + 4 + 40 + 8)

/* A message to send in UDP from port sport to dst:dport. */
struct lisp_out {
	struct lisp_addr dst;
	uint16_t dport;
	uint16_t sport; /* always LISP_PORT */
	uint16_t len;   /* 0: nothing to send */
	uint8_t buf[LISP_OUT_MAX];
};

typedef void lisp_send_fn(void *arg, const struct lisp_out *o);

struct lisp_ms_params {
	uint32_t max_registrations; /* 0: 100000 */
	uint64_t nonce_seed;        /* seeds the nonces of unsolicited Map-Notify (getrandom) */
};

struct lisp_ms;

/*
 * A map-server for c->lisp (sites, keys, EID prefixes, registration_ttl_s);
 * c is copied, not kept. NULL with errno ENOMEM, EINVAL (a key id over
 * 255: RFC 9301's Key ID is 8 bits, so such a key could never be used), or
 * EEXIST (two sites configure the same EID prefix).
 */
struct lisp_ms *lisp_ms_create(const struct cfg *c, const struct lisp_ms_params *p);
void lisp_ms_free(struct lisp_ms *ms);

/*
 * Apply a new config: registrations whose site (by name) is gone, or whose
 * prefix the site no longer allows, are dropped and counted; the rest keep
 * their state. Pending unsolicited Map-Notifies are forgotten. 0 or -errno
 * (then ms is unchanged).
 */
int lisp_ms_reconfigure(struct lisp_ms *ms, const struct cfg *c);

/*
 * Handle one control message received on UDP port 4342 (msg: the UDP
 * payload; pkt: its addresses). Returns LISP_MS_OK when it was accepted, or
 * the enum lisp_ms_reject that rejected it (already counted). out->len is
 * non-zero when there is a message to send:
 * - Map-Register with M: the Map-Notify (same nonce, signed with the key
 *   that authenticated the register) to the register's source address and port;
 * - Map-Request (direct or in an ECM) for a registered EID: the request in an
 *   ECM (E bit) to the registering ETR's RLOC, port 4342; or, when the
 *   registration asked for proxy replies, a Map-Reply to an ITR-RLOC at the
 *   request's UDP source port;
 * - Map-Request for any other EID: a negative Map-Reply (see lisp_ms.c).
 * now is the wall clock in seconds, the same clock as the state file's.
 */
int lisp_ms_input(struct lisp_ms *ms, const struct lisp_pkt_info *pkt, const uint8_t *msg,
		  size_t len, uint64_t now, struct lisp_out *out);

/*
 * Timers: expire registrations and retransmit unacknowledged unsolicited
 * Map-Notifies (3 s apart three times, then backing off, RFC 9301 §5.7).
 * Call about once a second.
 */
void lisp_ms_tick(struct lisp_ms *ms, uint64_t now, lisp_send_fn *send, void *arg);

/*
 * For every registration still marked restored, an authenticated Map-Notify
 * carrying its stored records to its ETR (port 4342), records grouped per
 * ETR and site; tracked until a Map-Notify-Ack comes (lisp_ms_tick
 * retransmits). Returns the number of messages sent.
 */
unsigned int lisp_ms_notify_restored(struct lisp_ms *ms, uint64_t now, lisp_send_fn *send,
				     void *arg);

/* Longest-prefix match of an EID (an address, or a prefix it must contain). */
const struct lisp_reg *lisp_ms_lookup(struct lisp_ms *ms, const struct lisp_prefix *eid,
				      uint64_t now);
/* The registration of exactly this prefix, or NULL. */
const struct lisp_reg *lisp_ms_find(const struct lisp_ms *ms, const struct lisp_prefix *eid);

void lisp_ms_foreach(const struct lisp_ms *ms, void (*fn)(void *arg, const struct lisp_reg *r),
		     void *arg);
unsigned int lisp_ms_count(const struct lisp_ms *ms);
unsigned int lisp_ms_restored_count(const struct lisp_ms *ms);
const char *lisp_ms_site_name(const struct lisp_ms *ms, unsigned int site);
unsigned int lisp_ms_site_count(const struct lisp_ms *ms);
const struct lisp_ms_stats *lisp_ms_stats(const struct lisp_ms *ms);
/* Changes whenever the registration table does: save/sync when it moved. */
uint64_t lisp_ms_generation(const struct lisp_ms *ms);

/*
 * For lisp_state: check r against the config (site by name, prefix allowed)
 * and the clock (expiry in the future) and install it, marked restored when
 * restored is set. An existing registration of the same prefix is replaced
 * unless it was refreshed later than r. 0, or -ENOENT (no such site),
 * -EPERM (prefix not allowed), -ETIME (expired), -EALREADY (ours is newer),
 * -ENOSPC (table full), -ENOMEM, -EINVAL (malformed r).
 */
int lisp_ms_install(struct lisp_ms *ms, const struct lisp_reg *r, const char *site_name,
		    bool restored, uint64_t now);
/* Room left in the table. */
unsigned int lisp_ms_room(const struct lisp_ms *ms);
/* Remove every registration (HA: before applying a full snapshot). */
void lisp_ms_clear(struct lisp_ms *ms);

#endif /* EQX_LISP_MS_H */
