/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ptp wire format: IEEE 1588-2008 (PTPv2) messages and the frames that
 * carry them (Annex D UDP/IPv4, Annex F Ethernet), optionally inside one
 * 802.1Q tag and a static MPLS label stack. Plain bytes in and out.
 */
#ifndef EQX_PTP_WIRE_H
#define EQX_PTP_WIRE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Common header (13.3, Table 18), 34 bytes, every field big-endian:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |transpt|msgType| rsvd  |version|         messageLength         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | domainNumber  |   reserved    |   flagField (2 octets, below) |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     correctionField: signed 64 bits, ns scaled by 2^16        |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        reserved (4)                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     sourcePortIdentity: clockIdentity (8) + portNumber (2)    |
 * |                                                               |
 * |                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |          sequenceId           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | controlField  | logMsgInterval|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The version octet's low nibble is versionPTP (2); its high nibble is
 * reserved in 2008 and minorVersionPTP in 2019 (linuxptp 4 sends 0x12), so
 * it is ignored on receive and sent as 0.
 *
 * flagField (13.3.2.6, Table 20), stored in struct ptp_header.flags as one
 * 16-bit value, octet 0 in the high byte:
 *   octet 0: 0x01 alternateMaster, 0x02 twoStep, 0x04 unicast,
 *            0x20 profile specific 1, 0x40 profile specific 2
 *   octet 1: 0x01 leap61, 0x02 leap59, 0x04 currentUtcOffsetValid,
 *            0x08 ptpTimescale, 0x10 timeTraceable, 0x20 frequencyTraceable
 *
 * Timestamp (5.3.3), 10 bytes: secondsField (48 bits) + nanosecondsField
 * (32 bits, < 10^9). PortIdentity (5.3.5): clockIdentity (8) + portNumber (2).
 *
 * Bodies after the header, offsets from the message start:
 *
 * Sync, Delay_Req (13.6, Table 26), 44 bytes; Follow_Up (13.7, Table 27), 44:
 *   34 originTimestamp / preciseOriginTimestamp (10)
 *
 * Delay_Resp (13.8, Table 28), 54 bytes:
 *   34 receiveTimestamp (10)
 *   44 requestingPortIdentity (10)
 *
 * Announce (13.5, Table 25), 64 bytes:
 *   34 originTimestamp (10)
 *   44 currentUtcOffset (2, signed)
 *   46 reserved (1)
 *   47 grandmasterPriority1 (1)
 *   48 grandmasterClockQuality: clockClass (1), clockAccuracy (1),
 *      offsetScaledLogVariance (2)
 *   52 grandmasterPriority2 (1)
 *   53 grandmasterIdentity (8)
 *   61 stepsRemoved (2)
 *   63 timeSource (1)
 *
 * TLVs (14.1) may follow a body up to messageLength: tlvType (2),
 * lengthField (2, bytes of value), value. Unknown ones are skipped and
 * counted; one that runs past messageLength rejects the message.
 */
#define PTP_HDR_LEN 34
#define PTP_TS_LEN 10
#define PTP_PORT_ID_LEN 10
#define PTP_SYNC_LEN 44
#define PTP_DELAY_REQ_LEN 44
#define PTP_FOLLOW_UP_LEN 44
#define PTP_DELAY_RESP_LEN 54
#define PTP_ANNOUNCE_LEN 64
#define PTP_TLV_HDR_LEN 4
#define PTP_VERSION 2

/* messageType (13.3.2.2, Table 19); 4-7 and 0xE-0xF are reserved. */
#define PTP_MSG_SYNC 0x0
#define PTP_MSG_DELAY_REQ 0x1
#define PTP_MSG_PDELAY_REQ 0x2
#define PTP_MSG_PDELAY_RESP 0x3
#define PTP_MSG_FOLLOW_UP 0x8
#define PTP_MSG_DELAY_RESP 0x9
#define PTP_MSG_PDELAY_RESP_FUP 0xa
#define PTP_MSG_ANNOUNCE 0xb
#define PTP_MSG_SIGNALING 0xc
#define PTP_MSG_MANAGEMENT 0xd
#define PTP_MSG_TYPES 16

/* Event messages are timestamped and travel on UDP port 319 (Annex D.2). */
static inline bool
ptp_msg_is_event(uint8_t type)
{
	return type <= PTP_MSG_PDELAY_RESP;
}

/* controlField (13.3.2.10, Table 23), kept for PTPv1 hardware. */
#define PTP_CTL_SYNC 0
#define PTP_CTL_DELAY_REQ 1
#define PTP_CTL_FOLLOW_UP 2
#define PTP_CTL_DELAY_RESP 3
#define PTP_CTL_MANAGEMENT 4
#define PTP_CTL_OTHER 5

/* flagField bits as in struct ptp_header.flags (octet 0 high). */
#define PTP_FLAG_ALTERNATE_MASTER 0x0100
#define PTP_FLAG_TWO_STEP 0x0200
#define PTP_FLAG_UNICAST 0x0400
#define PTP_FLAG_PROFILE1 0x2000
#define PTP_FLAG_PROFILE2 0x4000
#define PTP_FLAG_LEAP61 0x0001
#define PTP_FLAG_LEAP59 0x0002
#define PTP_FLAG_UTC_OFFSET_VALID 0x0004
#define PTP_FLAG_PTP_TIMESCALE 0x0008
#define PTP_FLAG_TIME_TRACEABLE 0x0010
#define PTP_FLAG_FREQ_TRACEABLE 0x0020
/* The octet-1 flags an Announce carries into timePropertiesDS (8.2.4). */
#define PTP_FLAG_TIME_PROPS 0x003f

/* logMessageInterval of messages that have none (13.3.2.11: Delay_Req). */
#define PTP_LOG_INTERVAL_NONE 0x7f

/* tlvType (14.1.1, Table 34). */
#define PTP_TLV_ORG_EXTENSION 0x0003
#define PTP_TLV_PATH_TRACE 0x0008

/*
 * The one TLV of our own: ORGANIZATION_EXTENSION (14.3) on Delay_Resp,
 * reporting the TTL the Delay_Req arrived with and the TTL the master sends
 * with, so that an equinox slave can compare the hop counts of the two
 * directions. Only ever sent where a port asks for it (hop_report). equinox
 * has no OUI: the organizationId is AC-DE-48, IEEE 802's documentation
 * example, and must be replaced by an assigned one before this leaves a
 * closed network. Others skip it as an unknown organization TLV.
 *
 *   tlvType 0x0003 | lengthField 8 | organizationId AC-DE-48 |
 *   organizationSubType 00-00-01 | rx_ttl (1) | tx_ttl (1)
 */
#define PTP_EQX_TLV_LEN 12
#define PTP_EQX_OUI0 0xac
#define PTP_EQX_OUI1 0xde
#define PTP_EQX_OUI2 0x48
#define PTP_EQX_SUBTYPE_HOPS 1

/*
 * Why a frame or message was not used. The names are the drop-counter names
 * in telemetry; one list for the frame parser, the decoder and the protocol
 * so a port keeps one array of counters.
 */
#define foreach_ptp_drop                                        \
	_(ETH_TRUNC, "eth_truncated")                           \
	_(VLAN_TRUNC, "vlan_truncated")                         \
	_(VLAN_MISMATCH, "vlan_mismatch")                       \
	_(MPLS_TRUNC, "mpls_truncated")                         \
	_(MPLS_MISSING, "mpls_labels_missing")                  \
	_(MPLS_UNEXPECTED, "mpls_labels_unexpected")            \
	_(MPLS_DEPTH_MISMATCH, "mpls_depth_mismatch")           \
	_(MPLS_LABEL_MISMATCH, "mpls_label_mismatch")           \
	_(TRANSPORT_MISMATCH, "transport_mismatch")             \
	_(NOT_PTP, "not_ptp")                                   \
	_(IP4_TRUNC, "ip4_truncated")                           \
	_(IP4_BAD_HEADER, "ip4_bad_header")                     \
	_(IP4_BAD_CSUM, "ip4_bad_checksum")                     \
	_(IP4_FRAGMENT, "ip4_fragment")                         \
	_(IP4_NOT_FOR_US, "ip4_not_for_us")                     \
	_(UDP_TRUNC, "udp_truncated")                           \
	_(UDP_PORT_CLASS, "udp_port_class_mismatch")            \
	_(MSG_TOO_SHORT, "msg_too_short")                       \
	_(BAD_VERSION, "bad_version")                           \
	_(BAD_LENGTH, "bad_message_length")                     \
	_(UNKNOWN_TYPE, "unknown_type")                         \
	_(UNSUPPORTED_TYPE, "unsupported_type")                 \
	_(BAD_TLV, "bad_tlv")                                   \
	_(BAD_TIMESTAMP, "bad_timestamp")                       \
	_(WRONG_DOMAIN, "wrong_domain")                         \
	_(WRONG_TRANSPORT_SPECIFIC, "wrong_transport_specific") \
	_(FROM_SELF, "from_self")                               \
	_(WRONG_STATE, "wrong_state")                           \
	_(NOT_FROM_PARENT, "not_from_parent")                   \
	_(NOT_FOR_US, "not_for_us")                             \
	_(SEQ_MISMATCH, "sequence_mismatch")                    \
	_(NO_TX_STAMP, "no_tx_timestamp")                       \
	_(SYNC_READ_LATE, "sync_read_late")                     \
	_(STEPS_REMOVED, "steps_removed_too_large")             \
	_(FOREIGN_TABLE_FULL, "foreign_table_full")             \
	_(BAD_MEASUREMENT, "bad_measurement")                   \
	_(BAD_PORT, "bad_port")

enum ptp_drop {
	PTP_OK = 0,
#define _(sym, str) PTP_DROP_##sym,
	foreach_ptp_drop
#undef _
		PTP_DROP_MAX,
};

/* The counter name of a drop reason; "ok" for PTP_OK, "unknown" when out of range. */
const char *ptp_drop_name(int reason);

struct ptp_clock_id {
	uint8_t id[8];
};

struct ptp_port_id {
	struct ptp_clock_id clock;
	uint16_t port;
};

struct ptp_timestamp {
	uint64_t sec; /* 48 bits on the wire */
	uint32_t ns;  /* < 10^9 */
};

struct ptp_clock_quality {
	uint8_t clock_class;
	uint8_t accuracy;
	uint16_t variance; /* offsetScaledLogVariance */
};

struct ptp_header {
	uint8_t transport_specific; /* 0..15, the high nibble of octet 0 */
	uint8_t type;               /* PTP_MSG_* */
	uint8_t version;            /* versionPTP, the low nibble */
	uint16_t length;            /* messageLength */
	uint8_t domain;
	uint16_t flags;     /* PTP_FLAG_* */
	int64_t correction; /* ns * 2^16 */
	struct ptp_port_id source;
	uint16_t seq;
	uint8_t control;
	int8_t log_interval;
};

struct ptp_announce {
	struct ptp_timestamp origin;
	int16_t utc_offset;
	uint8_t gm_priority1;
	struct ptp_clock_quality gm_quality;
	uint8_t gm_priority2;
	struct ptp_clock_id gm_identity;
	uint16_t steps_removed;
	uint8_t time_source;
};

/* One decoded message: the header and the body of its type. */
struct ptp_msg {
	struct ptp_header hdr;
	/* Sync, Delay_Req: originTimestamp; Follow_Up: preciseOriginTimestamp;
	 * Delay_Resp: receiveTimestamp; Announce: originTimestamp. */
	struct ptp_timestamp ts;
	struct ptp_port_id requesting; /* Delay_Resp */
	struct ptp_announce announce;  /* Announce */
	uint16_t tlvs_skipped;         /* TLVs seen and not understood */
	bool has_hops;                 /* the equinox hop TLV was present (Delay_Resp) */
	uint8_t hops_rx_ttl;
	uint8_t hops_tx_ttl;
};

/*
 * Decode one PTP message of len bytes (the UDP payload or what follows the
 * Ethertype / label stack; trailing Ethernet padding beyond messageLength is
 * ignored). Returns PTP_OK or a drop reason: MSG_TOO_SHORT (< 34 bytes),
 * BAD_VERSION (versionPTP != 2), BAD_LENGTH (messageLength above len or below
 * the fixed size of its type), UNKNOWN_TYPE (reserved messageType),
 * UNSUPPORTED_TYPE (peer delay, signaling, management: valid, not used here),
 * BAD_TLV (a TLV runs past messageLength), BAD_TIMESTAMP (nanoseconds >= 10^9
 * or seconds beyond PTP_TS_MAX_SEC). m is written only in part on error;
 * m->hdr is valid whenever the result is not MSG_TOO_SHORT.
 */
int ptp_msg_decode(const uint8_t *buf, uint32_t len, struct ptp_msg *m);

/*
 * Encode m (Announce, Sync, Follow_Up, Delay_Req or Delay_Resp) into buf.
 * messageLength, versionPTP (2) and controlField come from the type; the
 * hop TLV is appended to a Delay_Resp when m->has_hops. Returns the length,
 * or 0 when the type is not one of those or cap is too small.
 */
uint32_t ptp_msg_encode(const struct ptp_msg *m, uint8_t *buf, uint32_t cap);

/*
 * Timestamps as signed nanoseconds since the PTP epoch. Seconds beyond
 * PTP_TS_MAX_SEC (year 2255) do not fit and are refused by the decoder.
 */
#define PTP_TS_MAX_SEC 9000000000ULL
#define PTP_NS_PER_SEC 1000000000LL

static inline int64_t
ptp_ts_to_ns(const struct ptp_timestamp *t)
{
	return (int64_t)t->sec * PTP_NS_PER_SEC + t->ns;
}

/* Negative times (before the epoch) are written as 0. */
static inline void
ptp_ns_to_ts(int64_t ns, struct ptp_timestamp *t)
{
	if (ns < 0)
		ns = 0;
	t->sec = (uint64_t)(ns / PTP_NS_PER_SEC);
	t->ns = (uint32_t)(ns % PTP_NS_PER_SEC);
}

/* Whole nanoseconds of a correctionField, rounded half away from zero; any value is safe. */
static inline int64_t
ptp_correction_ns(int64_t scaled)
{
	int64_t q = scaled / 65536, r = scaled % 65536;

	if (r >= 32768)
		q++;
	else if (r <= -32768)
		q--;
	return q;
}

/* Clock identity from a MAC-48: insert FF-FE in the middle (7.5.2.2.2). */
void ptp_clock_id_from_mac(struct ptp_clock_id *id, const uint8_t mac[6]);

/* 0 when equal, <0 / >0 in octet order then port number (as 9.3.4 compares). */
int ptp_port_id_cmp(const struct ptp_port_id *a, const struct ptp_port_id *b);

/*
 * Frames. The transport is chosen once per instance (config ptp.transport):
 *
 * udp4 (Annex D): Ethernet [802.1Q] [MPLS...] IPv4 UDP PTP. Event messages
 *   to UDP port 319, general ones to 320, source port the same; destination
 *   224.0.1.129, whose MAC is 01:00:5e:00:01:81.
 * l2 (Annex F): Ethernet [802.1Q] PTP, Ethertype 0x88F7, destination
 *   01:1b:19:00:00:00. Over MPLS it is an Ethernet pseudowire (RFC 4448):
 *   Ethernet [802.1Q] MPLS... control word (4 bytes of 0: no sequencing),
 *   then the inner Ethernet header (01:1b:19:00:00:00, our MAC, 0x88F7) and
 *   PTP. The control word's first nibble 0 tells it from IP (RFC 4385), and
 *   it is what tshark expects, so it decodes the frames.
 *
 * 802.1Q tag (path.vlan != 0): TPID 0x8100, TCI = PCP (3) | DEI (1) | VID (12).
 *
 * MPLS label stack entry (RFC 3032), Ethertype 0x8847, outermost first:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Label                  |  TC |S|      TTL      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * S (bottom of stack) is set on the last entry only. We push tx_labels with
 * TC path.mpls_tc and TTL path.mpls_ttl; on receive the stack must equal
 * rx_labels exactly (same depth, same labels, S on the last); TC and TTL
 * are not checked, the bottom entry's TTL is reported for hop counting.
 */
#define PTP_MAX_LABELS 4
#define PTP_UDP_EVENT_PORT 319
#define PTP_UDP_GENERAL_PORT 320
#define PTP_ETHERTYPE 0x88f7
#define PTP_ETHERTYPE_MPLS 0x8847
#define PTP_MPLS_LABEL_MIN 16 /* 0..15 are reserved (RFC 3032 2.1) */
#define PTP_MPLS_LABEL_MAX 1048575
#define PTP_PW_CW_LEN 4   /* pseudowire control word */
#define PTP_FRAME_MAX 256 /* the largest frame we build, with room to spare */

enum ptp_transport {
	PTP_TRANSPORT_UDP4 = 0, /* same order as enum cfg_ptp_transport */
	PTP_TRANSPORT_L2,
};

extern const uint8_t ptp_mac_udp4[6]; /* 01:00:5e:00:01:81 */
extern const uint8_t ptp_mac_l2[6];   /* 01:1b:19:00:00:00 */
extern const uint8_t ptp_ip4_mcast[4];

/* How one PTP port's frames look on the wire, both directions. */
struct ptp_path {
	enum ptp_transport transport;
	uint8_t src_mac[6];  /* ours */
	uint8_t dst_mac[6];  /* ptp_path_init: the transport's multicast MAC; with
			      * MPLS the caller sets the next hop's */
	uint8_t src_ip[4];   /* udp4: our address on the port */
	uint8_t dst_ip[4];   /* udp4: 224.0.1.129 */
	uint16_t vlan;       /* 0 = untagged; 1..4094 */
	uint8_t vlan_pcp;    /* priority of the tag we push, 0..7 */
	uint8_t ip_ttl;      /* TTL of the IPv4 packets we send; default 1 (on link) */
	uint8_t ip_dscp;     /* DSCP of the IPv4 packets we send; default 0 */
	uint8_t mpls_ttl;    /* TTL of every label we push; default 255 */
	uint8_t mpls_tc;     /* traffic class of every label we push, 0..7 */
	uint8_t n_tx_labels; /* 0..PTP_MAX_LABELS, outermost first */
	uint8_t n_rx_labels;
	uint32_t tx_labels[PTP_MAX_LABELS];
	uint32_t rx_labels[PTP_MAX_LABELS];
};

/* Defaults for a transport: multicast destinations, untagged, no labels, TTLs 1 / 255. */
void ptp_path_init(struct ptp_path *path, enum ptp_transport t);

/*
 * Write the whole frame for a PTP message of msg_len bytes into buf (cap
 * bytes): Ethernet, the tag, the labels, then IPv4/UDP (event or general
 * port by the message type, header and UDP checksums filled in, DF set,
 * IPv4 id 0 as RFC 6864 allows for atomic datagrams), or for l2 the message
 * itself (behind the control word and inner Ethernet header when there are
 * labels); padded with zeros to the Ethernet minimum of 60 bytes. Returns the frame
 * length, or 0 when it does not fit in cap or msg_len is below 34.
 */
uint32_t ptp_frame_build(const struct ptp_path *path, const uint8_t *msg, uint32_t msg_len,
			 uint8_t *buf, uint32_t cap);

/* What the frame parser saw: where the message is and how it came. */
struct ptp_frame_info {
	uint32_t msg_off; /* the PTP message, in the frame */
	uint32_t msg_len; /* UDP payload length, or the rest of the frame for l2 */
	bool event_port;  /* udp4: sent to 319 */
	bool has_ttl;     /* a TTL was seen: the bottom label's, else IPv4's */
	uint8_t ttl;
	uint8_t src_mac[6];
	uint8_t src_ip[4]; /* udp4 */
	/* What the path looked like, also on a mismatch (as far as it was read). */
	uint16_t vlan; /* 0 untagged */
	uint8_t n_labels;
	uint32_t labels[PTP_MAX_LABELS];
};

/*
 * Parse a received frame against the port's configured path. Accepts exactly
 * the configured path: the tag when path.vlan is set and none otherwise, the
 * label stack rx_labels and nothing else, then the configured transport. For
 * udp4: IPv4 with a valid header checksum (options are skipped), not a
 * fragment, addressed to 224.0.1.129 or to src_ip, UDP to port 319 or 320
 * with a length that fits. The UDP checksum is not verified: the Ethernet
 * FCS has covered the frame, and frames from a veth or virtio peer arrive
 * with checksum offload's partial sum in that field (ptp4l's own frames on a
 * veth do), which a check would drop. Returns PTP_OK or a drop reason (the
 * VLAN_* and MPLS_* ones are path mismatches; fi says what was seen).
 */
int ptp_frame_parse(const struct ptp_path *path, const uint8_t *frame, uint32_t len,
		    struct ptp_frame_info *fi);

/*
 * Where an event message (Sync, Delay_Req, Pdelay_Req, Pdelay_Resp) starts
 * in a frame of any framing equinox or a peer may use: behind VLAN tags, an
 * MPLS label stack (then IPv4, or a control word and an Ethernet header), as
 * Ethernet type 0x88F7 or IPv4/UDP to port 319 (not a fragment). Checks no
 * configured path: it finds the header a kernel timestamp is matched on.
 * Returns the offset of a whole 34-byte header, or -1.
 */
int ptp_event_locate(const uint8_t *frame, uint32_t len);

/* True for the drop reasons that mean "arrived over another path". */
bool ptp_drop_is_path_mismatch(int reason);

#endif /* EQX_PTP_WIRE_H */
