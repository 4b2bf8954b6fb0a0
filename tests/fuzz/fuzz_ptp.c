/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for lib/ptp: every PTP frame a port receives goes
 * through ptp_frame_parse and ptp_msg_decode, then the port's state machine.
 * They must never read past the frame, what they report must stay inside
 * it, a decoded message must encode back to what was decoded, and whatever
 * the clock sends in answer must parse and decode with our own parser.
 *
 * Input: one mode byte, then the frame. Mode bits 0-1 pick the path (plain,
 * VLAN 100, labels 100/200, both), bit 2 the transport (udp4, l2), bits 3-4
 * the clock's situation (listening, a slave of the master below, a fixed
 * master); bit 5 asks the harness to fix the IPv4 header checksum so that
 * mutated headers get past it to the code behind. Bit 6 makes the rest a
 * conversation instead: frames of (1 length byte, frame), received 100 ms
 * apart, every event frame we send stamped, so that exchanges (Sync, then
 * Delay_Req, then Delay_Resp) reach the arithmetic and the servo. Bit 7
 * sets what equinox's software timestamps set (burst_stamps, three delay
 * samples before the servo) and, in a conversation, gives the clock a
 * reference sample (the host clock a free grandmaster follows) per frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "ptp/ptp.h"

#define FUZZ_CHECK(cond)                  \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_path(struct ptp_path *path, uint8_t mode)
{
	ptp_path_init(path, (mode & 4) ? PTP_TRANSPORT_L2 : PTP_TRANSPORT_UDP4);
	path->src_mac[0] = 0x02;
	path->src_mac[5] = 0x01;
	path->src_ip[0] = 10;
	path->src_ip[3] = 1;
	if (mode & 1)
		path->vlan = 100;
	if (mode & 2) {
		path->n_tx_labels = path->n_rx_labels = 2;
		path->tx_labels[0] = path->rx_labels[0] = 100;
		path->tx_labels[1] = path->rx_labels[1] = 200;
	}
}

/* Decode, check the result, and round-trip it through the encoder. */
static void
fuzz_decode(const uint8_t *msg, uint32_t len)
{
	struct ptp_msg m, m2;
	uint8_t buf[PTP_FRAME_MAX];
	uint32_t n;
	int ret;

	ret = ptp_msg_decode(msg, len, &m);
	FUZZ_CHECK(ret >= 0 && ret < PTP_DROP_MAX);
	FUZZ_CHECK(ptp_drop_name(ret) != NULL);
	if (ret != PTP_OK)
		return;
	FUZZ_CHECK(m.hdr.length <= len && m.hdr.length >= PTP_HDR_LEN);
	FUZZ_CHECK(m.hdr.version == PTP_VERSION);
	FUZZ_CHECK(m.ts.ns < 1000000000u && m.ts.sec <= PTP_TS_MAX_SEC);
	FUZZ_CHECK(ptp_ts_to_ns(&m.ts) >= 0);

	n = ptp_msg_encode(&m, buf, sizeof(buf));
	FUZZ_CHECK(n != 0);
	FUZZ_CHECK(ptp_msg_decode(buf, n, &m2) == PTP_OK);
	FUZZ_CHECK(m2.hdr.type == m.hdr.type && m2.hdr.seq == m.hdr.seq);
	FUZZ_CHECK(m2.hdr.correction == m.hdr.correction && m2.hdr.flags == m.hdr.flags);
	FUZZ_CHECK(ptp_port_id_cmp(&m2.hdr.source, &m.hdr.source) == 0);
	FUZZ_CHECK(m2.ts.sec == m.ts.sec && m2.ts.ns == m.ts.ns);
	FUZZ_CHECK(m2.has_hops == (m.has_hops && m.hdr.type == PTP_MSG_DELAY_RESP));
	if (m.hdr.type == PTP_MSG_ANNOUNCE)
		FUZZ_CHECK(memcmp(&m2.announce, &m.announce, sizeof(m.announce)) == 0);
	if (m.hdr.type == PTP_MSG_DELAY_RESP)
		FUZZ_CHECK(ptp_port_id_cmp(&m2.requesting, &m.requesting) == 0);
}

static void
fuzz_fix_csum(uint8_t *f, uint32_t len, const struct ptp_path *path)
{
	uint32_t off = 14, hl;
	uint16_t et;

	if (len < 14)
		return;
	et = net_get16(f + 12);
	if (et == NET_ETHERTYPE_VLAN && len >= 18) {
		et = net_get16(f + 16);
		off = 18;
	}
	if (et == PTP_ETHERTYPE_MPLS) {
		while (off + 4 <= len) {
			off += 4;
			if (f[off - 2] & 1)
				break;
		}
		if (path->transport != PTP_TRANSPORT_UDP4)
			return;
	} else if (et != NET_ETHERTYPE_IP4) {
		return;
	}
	if (off + NET_IP4_LEN > len)
		return;
	hl = (f[off] & 0x0fu) * 4;
	if (hl >= NET_IP4_LEN && off + hl <= len)
		net_put16(f + off + 10, net_ip4_hdr_csum(f + off, (uint16_t)hl));
}

/* A master that the clock will follow when it is in the "slave" situation. */
static void
fuzz_announce(struct ptp *p, const struct ptp_path *path, uint16_t seq, uint64_t now)
{
	struct ptp_msg m;
	uint8_t msg[128], f[PTP_FRAME_MAX];
	uint32_t n;

	memset(&m, 0, sizeof(m));
	m.hdr.type = PTP_MSG_ANNOUNCE;
	m.hdr.source.clock.id[0] = 0x0e;
	m.hdr.source.port = 1;
	m.hdr.seq = seq;
	m.hdr.log_interval = 1;
	m.announce.gm_priority1 = 1;
	m.announce.gm_quality.clock_class = 6;
	m.announce.gm_identity.id[0] = 0x0e;
	n = ptp_msg_encode(&m, msg, sizeof(msg));
	n = ptp_frame_build(path, msg, n, f, sizeof(f));
	FUZZ_CHECK(ptp_rx(p, 0, f, n, now, now) == PTP_OK);
}

/* Send what the clock has to send, checking each frame, stamping event ones. */
static void
fuzz_drain(struct ptp *p, const struct ptp_path *path, uint64_t now)
{
	struct ptp_frame_info fi;
	struct ptp_tx tx;

	while (ptp_tx_pop(p, &tx)) {
		FUZZ_CHECK(tx.len >= 60 && tx.len <= PTP_FRAME_MAX && tx.port == 0);
		FUZZ_CHECK(ptp_frame_parse(path, tx.frame, tx.len, &fi) == PTP_OK);
		FUZZ_CHECK(fi.msg_off + fi.msg_len <= tx.len);
		fuzz_decode(tx.frame + fi.msg_off, fi.msg_len);
		if (tx.event)
			ptp_tx_stamp(p, tx.port, tx.type, tx.seq, now);
	}
}

static void
fuzz_rx(struct ptp *p, const struct ptp_path *path, const uint8_t *frame, uint32_t len,
	uint64_t now)
{
	int ret;

	ret = ptp_rx(p, 0, frame, len, now - 1000, now);
	FUZZ_CHECK(ret >= 0 && ret < PTP_DROP_MAX);
	ptp_tick(p, now + 1);
	fuzz_drain(p, path, now + 2);
	if (ptp_next_deadline(p) <= now + 100000000ULL)
		ptp_tick(p, ptp_next_deadline(p));
	fuzz_drain(p, path, now + 3);
}

static void
fuzz_clock(const uint8_t *frame, uint32_t len, uint8_t mode, const struct ptp_path *path)
{
	static struct ptp p;
	struct ptp_config c;
	struct ptp_note note;
	uint64_t now = 1000000000ULL;
	int situation = (mode >> 3) & 3;
	uint32_t off, n;

	ptp_config_init(&c);
	c.identity.id[0] = 0x02;
	c.identity.id[7] = 0x01;
	c.time_ns = 1700000000000000000LL;
	c.n_ports = 1;
	ptp_port_config_init(&c.ports[0], path->transport);
	c.ports[0].path = *path;
	c.ports[0].hop_report = true;
	if (mode & 0x80) {
		c.ports[0].burst_stamps = true;
		c.ports[0].servo_min_delay_samples = 3;
	}
	if (situation == 2)
		c.ports[0].role = PTP_ROLE_MASTER;
	FUZZ_CHECK(ptp_init(&p, &c, now) == 0);
	ptp_tick(&p, now);
	if (situation == 1) {
		fuzz_announce(&p, path, 0, now + 1);
		fuzz_announce(&p, path, 1, now + 2);
		FUZZ_CHECK(p.ports[0].state == PTP_PS_UNCALIBRATED);
	}

	fuzz_drain(&p, path, now);

	if (!(mode & 0x40)) {
		fuzz_rx(&p, path, frame, len, now + 100000);
	} else {
		/* A conversation: each frame copied out, so ASan sees its end. */
		for (off = 0; off < len; off += n) {
			uint8_t *f;

			n = frame[off++];
			if (n > len - off)
				n = len - off;
			f = malloc(n ? n : 1);
			if (f == NULL)
				return;
			memcpy(f, frame + off, n);
			if (mode & 0x20)
				fuzz_fix_csum(f, n, path);
			now += 100000000ULL;
			fuzz_rx(&p, path, f, n, now);
			if ((mode & 0x80) && n >= 2)
				ptp_reference_sample(&p, (int64_t)(int8_t)f[0] * 1000 + f[1], 0.125,
						     now);
			free(f);
		}
	}
	while (ptp_note_pop(&p, &note))
		FUZZ_CHECK(note.kind < PTP_NOTE_MAX);
	FUZZ_CHECK(p.ports[0].state < PTP_PS_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	struct ptp_frame_info fi;
	struct ptp_path path;
	uint8_t *data, mode;
	uint32_t len;
	int ret;

	if (size < 1 || size > 4096)
		return 0;
	mode = input[0];
	len = (uint32_t)size - 1;
	/* A copy of exactly the frame's length: ASan sees a read one past it. */
	data = malloc(len > 0 ? len : 1);
	if (data == NULL)
		return 0;
	memcpy(data, input + 1, len);
	fuzz_path(&path, mode);
	if (mode & 0x20)
		fuzz_fix_csum(data, len, &path);

	/* The bytes as a bare message, and as a frame. */
	fuzz_decode(data, len);
	/* The kernel-stamp locator: a whole event header inside the frame, or nothing. */
	ret = ptp_event_locate(data, len);
	FUZZ_CHECK(ret == -1 || (ret >= 14 && (uint32_t)ret + PTP_HDR_LEN <= len &&
				 ptp_msg_is_event(data[ret] & 0x0f)));
	ret = ptp_frame_parse(&path, data, len, &fi);
	FUZZ_CHECK(ret >= 0 && ret < PTP_DROP_MAX);
	if (ret == PTP_OK) {
		FUZZ_CHECK(fi.msg_off <= len && fi.msg_len <= len - fi.msg_off);
		FUZZ_CHECK(fi.n_labels == path.n_rx_labels);
		FUZZ_CHECK(fi.vlan == path.vlan);
		fuzz_decode(data + fi.msg_off, fi.msg_len);
	} else {
		FUZZ_CHECK(fi.n_labels <= PTP_MAX_LABELS);
	}
	fuzz_clock(data, len, mode, &path);
	free(data);
	return 0;
}
