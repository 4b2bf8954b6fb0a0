/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "net/net.h"
#include "ptp/ptp_wire.h"

const uint8_t ptp_mac_udp4[6] = { 0x01, 0x00, 0x5e, 0x00, 0x01, 0x81 };
const uint8_t ptp_mac_l2[6] = { 0x01, 0x1b, 0x19, 0x00, 0x00, 0x00 };
const uint8_t ptp_ip4_mcast[4] = { 224, 0, 1, 129 };

static const char *const ptp_drop_names[PTP_DROP_MAX] = { [PTP_OK] = "ok",
#define _(sym, str) [PTP_DROP_##sym] = str,
							  foreach_ptp_drop
#undef _
};

const char *
ptp_drop_name(int reason)
{
	if (reason < 0 || reason >= PTP_DROP_MAX)
		return "unknown";
	return ptp_drop_names[reason];
}

bool
ptp_drop_is_path_mismatch(int reason)
{
	switch (reason) {
	case PTP_DROP_VLAN_MISMATCH:
	case PTP_DROP_MPLS_MISSING:
	case PTP_DROP_MPLS_UNEXPECTED:
	case PTP_DROP_MPLS_DEPTH_MISMATCH:
	case PTP_DROP_MPLS_LABEL_MISMATCH:
		return true;
	default:
		return false;
	}
}

void
ptp_clock_id_from_mac(struct ptp_clock_id *id, const uint8_t mac[6])
{
	id->id[0] = mac[0];
	id->id[1] = mac[1];
	id->id[2] = mac[2];
	id->id[3] = 0xff;
	id->id[4] = 0xfe;
	id->id[5] = mac[3];
	id->id[6] = mac[4];
	id->id[7] = mac[5];
}

int
ptp_port_id_cmp(const struct ptp_port_id *a, const struct ptp_port_id *b)
{
	int d = memcmp(a->clock.id, b->clock.id, sizeof(a->clock.id));

	if (d != 0)
		return d;
	return (int)a->port - (int)b->port;
}

static uint64_t
get48(const uint8_t *p)
{
	return (uint64_t)net_get16(p) << 32 | net_get32(p + 2);
}

static void
put48(uint8_t *p, uint64_t v)
{
	net_put16(p, (uint16_t)(v >> 32));
	net_put32(p + 2, (uint32_t)v);
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)net_get32(p) << 32 | net_get32(p + 4);
}

static void
put64(uint8_t *p, uint64_t v)
{
	net_put32(p, (uint32_t)(v >> 32));
	net_put32(p + 4, (uint32_t)v);
}

/* The caller has checked that 10 bytes are there. */
static int
get_ts(const uint8_t *p, struct ptp_timestamp *t)
{
	t->sec = get48(p);
	t->ns = net_get32(p + 6);
	if (t->ns >= PTP_NS_PER_SEC || t->sec > PTP_TS_MAX_SEC)
		return PTP_DROP_BAD_TIMESTAMP;
	return PTP_OK;
}

static void
put_ts(uint8_t *p, const struct ptp_timestamp *t)
{
	put48(p, t->sec);
	net_put32(p + 6, t->ns);
}

static void
get_port_id(const uint8_t *p, struct ptp_port_id *id)
{
	memcpy(id->clock.id, p, 8);
	id->port = net_get16(p + 8);
}

static void
put_port_id(uint8_t *p, const struct ptp_port_id *id)
{
	memcpy(p, id->clock.id, 8);
	net_put16(p + 8, id->port);
}

/* The fixed size of a type we handle; 0 for the others. */
static uint32_t
msg_body_len(uint8_t type)
{
	switch (type) {
	case PTP_MSG_SYNC:
		return PTP_SYNC_LEN;
	case PTP_MSG_DELAY_REQ:
		return PTP_DELAY_REQ_LEN;
	case PTP_MSG_FOLLOW_UP:
		return PTP_FOLLOW_UP_LEN;
	case PTP_MSG_DELAY_RESP:
		return PTP_DELAY_RESP_LEN;
	case PTP_MSG_ANNOUNCE:
		return PTP_ANNOUNCE_LEN;
	default:
		return 0;
	}
}

static uint8_t
msg_control(uint8_t type)
{
	switch (type) {
	case PTP_MSG_SYNC:
		return PTP_CTL_SYNC;
	case PTP_MSG_DELAY_REQ:
		return PTP_CTL_DELAY_REQ;
	case PTP_MSG_FOLLOW_UP:
		return PTP_CTL_FOLLOW_UP;
	case PTP_MSG_DELAY_RESP:
		return PTP_CTL_DELAY_RESP;
	case PTP_MSG_MANAGEMENT:
		return PTP_CTL_MANAGEMENT;
	default:
		return PTP_CTL_OTHER;
	}
}

static void
decode_tlv(const uint8_t *v, uint16_t tlv_type, uint16_t tlv_len, struct ptp_msg *m)
{
	if (m->hdr.type == PTP_MSG_DELAY_RESP && tlv_type == PTP_TLV_ORG_EXTENSION &&
	    tlv_len == PTP_EQX_TLV_LEN - PTP_TLV_HDR_LEN && v[0] == PTP_EQX_OUI0 &&
	    v[1] == PTP_EQX_OUI1 && v[2] == PTP_EQX_OUI2 && v[3] == 0 && v[4] == 0 &&
	    v[5] == PTP_EQX_SUBTYPE_HOPS) {
		m->has_hops = true;
		m->hops_rx_ttl = v[6];
		m->hops_tx_ttl = v[7];
		return;
	}
	if (m->tlvs_skipped < UINT16_MAX)
		m->tlvs_skipped++;
}

int
ptp_msg_decode(const uint8_t *buf, uint32_t len, struct ptp_msg *m)
{
	struct ptp_header *h = &m->hdr;
	uint32_t body, off;
	int ret;

	memset(m, 0, sizeof(*m));
	if (len < PTP_HDR_LEN)
		return PTP_DROP_MSG_TOO_SHORT;

	h->transport_specific = buf[0] >> 4;
	h->type = buf[0] & 0x0f;
	h->version = buf[1] & 0x0f;
	h->length = net_get16(buf + 2);
	h->domain = buf[4];
	h->flags = net_get16(buf + 6);
	h->correction = (int64_t)get64(buf + 8);
	get_port_id(buf + 20, &h->source);
	h->seq = net_get16(buf + 30);
	h->control = buf[32];
	h->log_interval = (int8_t)buf[33];

	if (h->version != PTP_VERSION)
		return PTP_DROP_BAD_VERSION;
	if (h->length < PTP_HDR_LEN || h->length > len)
		return PTP_DROP_BAD_LENGTH;

	switch (h->type) {
	case PTP_MSG_SYNC:
	case PTP_MSG_DELAY_REQ:
	case PTP_MSG_FOLLOW_UP:
	case PTP_MSG_DELAY_RESP:
	case PTP_MSG_ANNOUNCE:
		break;
	case PTP_MSG_PDELAY_REQ:
	case PTP_MSG_PDELAY_RESP:
	case PTP_MSG_PDELAY_RESP_FUP:
	case PTP_MSG_SIGNALING:
	case PTP_MSG_MANAGEMENT:
		return PTP_DROP_UNSUPPORTED_TYPE;
	default:
		return PTP_DROP_UNKNOWN_TYPE;
	}

	body = msg_body_len(h->type);
	if (h->length < body)
		return PTP_DROP_BAD_LENGTH;

	/* Every body starts with a timestamp at 34. */
	ret = get_ts(buf + PTP_HDR_LEN, &m->ts);
	if (ret != PTP_OK)
		return ret;
	if (h->type == PTP_MSG_DELAY_RESP)
		get_port_id(buf + 44, &m->requesting);
	if (h->type == PTP_MSG_ANNOUNCE) {
		struct ptp_announce *a = &m->announce;

		a->origin = m->ts;
		a->utc_offset = (int16_t)net_get16(buf + 44);
		a->gm_priority1 = buf[47];
		a->gm_quality.clock_class = buf[48];
		a->gm_quality.accuracy = buf[49];
		a->gm_quality.variance = net_get16(buf + 50);
		a->gm_priority2 = buf[52];
		memcpy(a->gm_identity.id, buf + 53, 8);
		a->steps_removed = net_get16(buf + 61);
		a->time_source = buf[63];
	}

	/* TLVs up to messageLength; fewer than 4 trailing bytes are padding. */
	for (off = body; off + PTP_TLV_HDR_LEN <= h->length;) {
		uint16_t tlv_type = net_get16(buf + off);
		uint16_t tlv_len = net_get16(buf + off + 2);

		if ((uint32_t)tlv_len > h->length - off - PTP_TLV_HDR_LEN)
			return PTP_DROP_BAD_TLV;
		decode_tlv(buf + off + PTP_TLV_HDR_LEN, tlv_type, tlv_len, m);
		off += PTP_TLV_HDR_LEN + tlv_len;
	}
	return PTP_OK;
}

uint32_t
ptp_msg_encode(const struct ptp_msg *m, uint8_t *buf, uint32_t cap)
{
	const struct ptp_header *h = &m->hdr;
	uint32_t len = msg_body_len(h->type);

	if (len == 0)
		return 0;
	if (h->type == PTP_MSG_DELAY_RESP && m->has_hops)
		len += PTP_EQX_TLV_LEN;
	if (cap < len)
		return 0;
	memset(buf, 0, len);

	buf[0] = (uint8_t)((h->transport_specific & 0x0f) << 4 | (h->type & 0x0f));
	buf[1] = PTP_VERSION;
	net_put16(buf + 2, (uint16_t)len);
	buf[4] = h->domain;
	net_put16(buf + 6, h->flags);
	put64(buf + 8, (uint64_t)h->correction);
	put_port_id(buf + 20, &h->source);
	net_put16(buf + 30, h->seq);
	buf[32] = msg_control(h->type);
	buf[33] = (uint8_t)h->log_interval;

	switch (h->type) {
	case PTP_MSG_SYNC:
	case PTP_MSG_DELAY_REQ:
	case PTP_MSG_FOLLOW_UP:
		put_ts(buf + 34, &m->ts);
		break;
	case PTP_MSG_DELAY_RESP:
		put_ts(buf + 34, &m->ts);
		put_port_id(buf + 44, &m->requesting);
		if (m->has_hops) {
			uint8_t *t = buf + PTP_DELAY_RESP_LEN;

			net_put16(t, PTP_TLV_ORG_EXTENSION);
			net_put16(t + 2, PTP_EQX_TLV_LEN - PTP_TLV_HDR_LEN);
			t[4] = PTP_EQX_OUI0;
			t[5] = PTP_EQX_OUI1;
			t[6] = PTP_EQX_OUI2;
			t[9] = PTP_EQX_SUBTYPE_HOPS;
			t[10] = m->hops_rx_ttl;
			t[11] = m->hops_tx_ttl;
		}
		break;
	case PTP_MSG_ANNOUNCE: {
		const struct ptp_announce *a = &m->announce;

		put_ts(buf + 34, &a->origin);
		net_put16(buf + 44, (uint16_t)a->utc_offset);
		buf[47] = a->gm_priority1;
		buf[48] = a->gm_quality.clock_class;
		buf[49] = a->gm_quality.accuracy;
		net_put16(buf + 50, a->gm_quality.variance);
		buf[52] = a->gm_priority2;
		memcpy(buf + 53, a->gm_identity.id, 8);
		net_put16(buf + 61, a->steps_removed);
		buf[63] = a->time_source;
		break;
	}
	}
	return len;
}

void
ptp_path_init(struct ptp_path *path, enum ptp_transport t)
{
	memset(path, 0, sizeof(*path));
	path->transport = t;
	memcpy(path->dst_mac, t == PTP_TRANSPORT_L2 ? ptp_mac_l2 : ptp_mac_udp4, 6);
	memcpy(path->dst_ip, ptp_ip4_mcast, 4);
	path->ip_ttl = 1;
	path->mpls_ttl = 255;
}

uint32_t
ptp_frame_build(const struct ptp_path *path, const uint8_t *msg, uint32_t msg_len, uint8_t *buf,
		uint32_t cap)
{
	uint32_t off = NET_ETH_LEN, len, i;
	uint16_t ethertype;
	uint8_t *ip;

	if (msg_len < PTP_HDR_LEN || path->n_tx_labels > PTP_MAX_LABELS)
		return 0;
	len = NET_ETH_LEN + (path->vlan != 0 ? NET_VLAN_LEN : 0) + 4u * path->n_tx_labels + msg_len;
	if (path->transport == PTP_TRANSPORT_UDP4)
		len += NET_IP4_LEN + NET_UDP_LEN;
	else if (path->n_tx_labels > 0)
		len += PTP_PW_CW_LEN + NET_ETH_LEN;
	if (len > UINT16_MAX || cap < len || cap < NET_ETH_MIN_FRAME)
		return 0;

	if (path->n_tx_labels > 0)
		ethertype = PTP_ETHERTYPE_MPLS;
	else if (path->transport == PTP_TRANSPORT_UDP4)
		ethertype = NET_ETHERTYPE_IP4;
	else
		ethertype = PTP_ETHERTYPE;

	if (path->vlan != 0) {
		net_eth_write(buf, path->dst_mac, path->src_mac, NET_ETHERTYPE_VLAN);
		net_put16(buf + off,
			  (uint16_t)((path->vlan_pcp & 7) << 13 | (path->vlan & 0x0fff)));
		net_put16(buf + off + 2, ethertype);
		off += NET_VLAN_LEN;
	} else {
		net_eth_write(buf, path->dst_mac, path->src_mac, ethertype);
	}

	for (i = 0; i < path->n_tx_labels; i++) {
		uint32_t e = (path->tx_labels[i] & 0xfffff) << 12;

		e |= (uint32_t)(path->mpls_tc & 7) << 9;
		if (i + 1 == path->n_tx_labels)
			e |= 1u << 8; /* bottom of stack */
		e |= path->mpls_ttl;
		net_put32(buf + off, e);
		off += 4;
	}

	if (path->transport == PTP_TRANSPORT_UDP4) {
		uint16_t port =
			ptp_msg_is_event(msg[0] & 0x0f) ? PTP_UDP_EVENT_PORT : PTP_UDP_GENERAL_PORT;
		uint16_t udp_len = (uint16_t)(NET_UDP_LEN + msg_len);
		uint8_t *udp;

		ip = buf + off;
		ip[0] = 0x45;
		ip[1] = (uint8_t)(path->ip_dscp << 2);
		net_put16(ip + 2, (uint16_t)(NET_IP4_LEN + udp_len));
		net_put16(ip + 4, 0);
		net_put16(ip + 6, 0x4000); /* DF */
		ip[8] = path->ip_ttl;
		ip[9] = NET_PROTO_UDP;
		memcpy(ip + 12, path->src_ip, 4);
		memcpy(ip + 16, path->dst_ip, 4);
		net_put16(ip + 10, net_ip4_hdr_csum(ip, NET_IP4_LEN));
		udp = ip + NET_IP4_LEN;
		net_udp_write(udp, port, port, udp_len);
		memcpy(udp + NET_UDP_LEN, msg, msg_len);
		net_put16(udp + 6,
			  net_ip4_l4_csum(ip + 12, ip + 16, NET_PROTO_UDP, udp, udp_len, 6));
	} else {
		if (path->n_tx_labels > 0) {
			memset(buf + off, 0, PTP_PW_CW_LEN);
			off += PTP_PW_CW_LEN;
			net_eth_write(buf + off, ptp_mac_l2, path->src_mac, PTP_ETHERTYPE);
			off += NET_ETH_LEN;
		}
		memcpy(buf + off, msg, msg_len);
	}

	if (len < NET_ETH_MIN_FRAME) {
		memset(buf + len, 0, NET_ETH_MIN_FRAME - len);
		len = NET_ETH_MIN_FRAME;
	}
	return len;
}

static int
parse_udp4(const struct ptp_path *path, const uint8_t *frame, uint32_t len, uint32_t off,
	   struct ptp_frame_info *fi)
{
	const uint8_t *ip = frame + off;
	uint32_t hl, total, udp_len;
	uint16_t dport;
	const uint8_t *udp;

	if (len - off < NET_IP4_LEN)
		return PTP_DROP_IP4_TRUNC;
	if ((ip[0] >> 4) != 4)
		return PTP_DROP_NOT_PTP;
	hl = (ip[0] & 0x0fu) * 4;
	total = net_get16(ip + 2);
	if (hl < NET_IP4_LEN || total < hl)
		return PTP_DROP_IP4_BAD_HEADER;
	if (total > len - off)
		return PTP_DROP_IP4_TRUNC;
	if (net_csum_fold(net_csum_partial(ip, hl, 0)) != 0)
		return PTP_DROP_IP4_BAD_CSUM;
	if (ip[9] != NET_PROTO_UDP)
		return PTP_DROP_NOT_PTP;
	if ((net_get16(ip + 6) & 0x3fff) != 0)
		return PTP_DROP_IP4_FRAGMENT;
	if (!fi->has_ttl) {
		fi->has_ttl = true;
		fi->ttl = ip[8];
	}
	memcpy(fi->src_ip, ip + 12, 4);
	if (total - hl < NET_UDP_LEN)
		return PTP_DROP_UDP_TRUNC;
	udp = ip + hl;
	dport = net_get16(udp + 2);
	if (dport != PTP_UDP_EVENT_PORT && dport != PTP_UDP_GENERAL_PORT)
		return PTP_DROP_NOT_PTP;
	if (memcmp(ip + 16, ptp_ip4_mcast, 4) != 0 && memcmp(ip + 16, path->src_ip, 4) != 0)
		return PTP_DROP_IP4_NOT_FOR_US;
	udp_len = net_get16(udp + 4);
	if (udp_len < NET_UDP_LEN || udp_len > total - hl)
		return PTP_DROP_UDP_TRUNC;
	fi->event_port = dport == PTP_UDP_EVENT_PORT;
	fi->msg_off = off + hl + NET_UDP_LEN;
	fi->msg_len = udp_len - NET_UDP_LEN;
	return PTP_OK;
}

int
ptp_frame_parse(const struct ptp_path *path, const uint8_t *frame, uint32_t len,
		struct ptp_frame_info *fi)
{
	uint32_t off = NET_ETH_LEN;
	uint16_t et;

	memset(fi, 0, sizeof(*fi));
	if (len < NET_ETH_LEN)
		return PTP_DROP_ETH_TRUNC;
	memcpy(fi->src_mac, frame + 6, 6);
	et = net_get16(frame + 12);

	/* The tag: exactly the configured one, or none. */
	if (et == NET_ETHERTYPE_VLAN || et == NET_ETHERTYPE_QINQ) {
		if (len - off < NET_VLAN_LEN)
			return PTP_DROP_VLAN_TRUNC;
		fi->vlan = net_get16(frame + off) & 0x0fff;
		if (et == NET_ETHERTYPE_QINQ || path->vlan == 0 || fi->vlan != path->vlan)
			return PTP_DROP_VLAN_MISMATCH;
		et = net_get16(frame + off + 2);
		off += NET_VLAN_LEN;
	} else if (path->vlan != 0) {
		return PTP_DROP_VLAN_MISMATCH;
	}

	/* The label stack: exactly rx_labels. */
	if (et == PTP_ETHERTYPE_MPLS) {
		bool bos = false;
		uint32_t e = 0;

		while (!bos) {
			if (len - off < 4)
				return PTP_DROP_MPLS_TRUNC;
			e = net_get32(frame + off);
			off += 4;
			bos = (e >> 8) & 1;
			if (fi->n_labels == PTP_MAX_LABELS)
				return path->n_rx_labels == 0 ? PTP_DROP_MPLS_UNEXPECTED
							      : PTP_DROP_MPLS_DEPTH_MISMATCH;
			fi->labels[fi->n_labels++] = e >> 12;
		}
		fi->has_ttl = true;
		fi->ttl = (uint8_t)e;
		if (path->n_rx_labels == 0)
			return PTP_DROP_MPLS_UNEXPECTED;
		if (fi->n_labels != path->n_rx_labels)
			return PTP_DROP_MPLS_DEPTH_MISMATCH;
		if (memcmp(fi->labels, path->rx_labels, fi->n_labels * sizeof(uint32_t)) != 0)
			return PTP_DROP_MPLS_LABEL_MISMATCH;
		/* What follows a label stack says nothing of its type: the transport does. */
		if (path->transport == PTP_TRANSPORT_UDP4)
			return parse_udp4(path, frame, len, off, fi);
		/* An Ethernet pseudowire: control word, then the inner frame. */
		if (len - off < PTP_PW_CW_LEN + NET_ETH_LEN)
			return PTP_DROP_MPLS_TRUNC;
		if ((frame[off] >> 4) != 0 ||
		    net_get16(frame + off + PTP_PW_CW_LEN + 12) != PTP_ETHERTYPE)
			return PTP_DROP_NOT_PTP;
		off += PTP_PW_CW_LEN + NET_ETH_LEN;
		fi->msg_off = off;
		fi->msg_len = len - off;
		return PTP_OK;
	}
	if (path->n_rx_labels != 0)
		return PTP_DROP_MPLS_MISSING;

	if (et == PTP_ETHERTYPE) {
		if (path->transport != PTP_TRANSPORT_L2)
			return PTP_DROP_TRANSPORT_MISMATCH;
		fi->msg_off = off;
		fi->msg_len = len - off;
		return PTP_OK;
	}
	if (et == NET_ETHERTYPE_IP4) {
		int ret = parse_udp4(path, frame, len, off, fi);

		if (ret == PTP_OK && path->transport != PTP_TRANSPORT_UDP4)
			return PTP_DROP_TRANSPORT_MISMATCH;
		return ret;
	}
	return PTP_DROP_NOT_PTP;
}

int
ptp_event_locate(const uint8_t *f, uint32_t len)
{
	uint32_t off = 12, ihl, n;
	uint16_t et;

	if (len < 14)
		return -1;
	et = net_get16(f + off);
	while ((et == NET_ETHERTYPE_VLAN || et == NET_ETHERTYPE_QINQ) && off + 6 <= len) {
		off += 4;
		et = net_get16(f + off);
	}
	off += 2;
	if (et == NET_ETHERTYPE_MPLS) {
		/* Down to the bottom of the stack, then IPv4, or a control word + Ethernet. */
		for (n = 0; n < 2 * PTP_MAX_LABELS; n++) {
			if (off + 4 > len)
				return -1;
			off += 4;
			if (f[off - 2] & 0x01)
				break;
		}
		if (n == 2 * PTP_MAX_LABELS || off >= len)
			return -1;
		if ((f[off] >> 4) == 4) {
			et = NET_ETHERTYPE_IP4;
		} else if ((f[off] >> 4) == 0 && off + 4 + 14 <= len) {
			et = net_get16(f + off + 4 + 12);
			off += 4 + 14;
		} else {
			return -1;
		}
	}
	if (et == NET_ETHERTYPE_IP4) {
		if (off + 20 > len || (f[off] >> 4) != 4 || f[off + 9] != NET_PROTO_UDP ||
		    (net_get16(f + off + 6) & 0x3fff) != 0)
			return -1;
		ihl = (uint32_t)(f[off] & 0x0f) * 4;
		if (ihl < 20 || off + ihl + 8 > len ||
		    net_get16(f + off + ihl + 2) != PTP_UDP_EVENT_PORT)
			return -1;
		off += ihl + 8;
	} else if (et != NET_ETHERTYPE_PTP) {
		return -1;
	}
	if (off + PTP_HDR_LEN > len || !ptp_msg_is_event(f[off] & 0x0f))
		return -1;
	return (int)off;
}
