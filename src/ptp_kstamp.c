/* SPDX-License-Identifier: BSD-3-Clause */
/* Kernel software timestamps for PTP ports on kernel interfaces: see ptp_kstamp.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "ptp/ptp_wire.h"
#include "ptp_kstamp.h"

/* Bytes of each frame the filter passes: enough for the deepest header stack we read. */
#define SNAP_LEN 256
/* The socket's receive buffer: PTP comes at most a few hundred frames a second. */
#define RCVBUF_BYTES (256 * 1024)

/*
 * Classic BPF: pass PTP over Ethernet (event or not: the type is checked
 * after), labelled frames (MPLS: the stack is walked after; only on a port
 * whose PTP path has labels, see ptp_kstamp_open), and IPv4/UDP to port 319
 * that is not a fragment, untagged or behind one inline tag (a tag the
 * kernel took off into the frame's metadata is not in the data the filter
 * sees). Everything else never reaches the socket.
 */
enum {
	F_ET,
	F_IS_VLAN,
	F_IS_PTP,
	F_IS_MPLS,
	F_IS_IP,
	F_PROTO,
	F_IS_UDP,
	F_FRAG,
	F_IS_FRAG,
	F_IHL,
	F_DPORT,
	F_IS_319,
	F_V_ET,
	F_V_IS_PTP,
	F_V_IS_MPLS,
	F_V_IS_IP,
	F_V_PROTO,
	F_V_IS_UDP,
	F_V_FRAG,
	F_V_IS_FRAG,
	F_V_IHL,
	F_V_DPORT,
	F_V_IS_319,
	F_ACCEPT,
	F_DROP,
	F_LEN
};
#define TO(from, to) ((uint8_t)((to) - (from)-1))

static const struct sock_filter ptp_event_filter[F_LEN] = {
	[F_ET] = BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	[F_IS_VLAN] =
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NET_ETHERTYPE_VLAN, TO(F_IS_VLAN, F_V_ET), 0),
	[F_IS_PTP] =
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NET_ETHERTYPE_PTP, TO(F_IS_PTP, F_ACCEPT), 0),
	[F_IS_MPLS] =
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NET_ETHERTYPE_MPLS, TO(F_IS_MPLS, F_ACCEPT), 0),
	[F_IS_IP] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NET_ETHERTYPE_IP4, 0, TO(F_IS_IP, F_DROP)),
	[F_PROTO] = BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 9),
	[F_IS_UDP] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, TO(F_IS_UDP, F_DROP)),
	[F_FRAG] = BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 14 + 6),
	[F_IS_FRAG] = BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, TO(F_IS_FRAG, F_DROP), 0),
	[F_IHL] = BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
	[F_DPORT] = BPF_STMT(BPF_LD | BPF_H | BPF_IND, 14 + 2),
	[F_IS_319] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PTP_UDP_EVENT_PORT, TO(F_IS_319, F_ACCEPT),
			      TO(F_IS_319, F_DROP)),
	[F_V_ET] = BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 16),
	[F_V_IS_PTP] =
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NET_ETHERTYPE_PTP, TO(F_V_IS_PTP, F_ACCEPT), 0),
	[F_V_IS_MPLS] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NET_ETHERTYPE_MPLS,
				 TO(F_V_IS_MPLS, F_ACCEPT), 0),
	[F_V_IS_IP] =
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NET_ETHERTYPE_IP4, 0, TO(F_V_IS_IP, F_DROP)),
	[F_V_PROTO] = BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 18 + 9),
	[F_V_IS_UDP] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, TO(F_V_IS_UDP, F_DROP)),
	[F_V_FRAG] = BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 18 + 6),
	[F_V_IS_FRAG] = BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, TO(F_V_IS_FRAG, F_DROP), 0),
	[F_V_IHL] = BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 18),
	[F_V_DPORT] = BPF_STMT(BPF_LD | BPF_H | BPF_IND, 18 + 2),
	[F_V_IS_319] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PTP_UDP_EVENT_PORT,
				TO(F_V_IS_319, F_ACCEPT), TO(F_V_IS_319, F_DROP)),
	[F_ACCEPT] = BPF_STMT(BPF_RET | BPF_K, SNAP_LEN),
	[F_DROP] = BPF_STMT(BPF_RET | BPF_K, 0),
};

int
ptp_kstamp_open(struct ptp_kstamp *k, const char *ifname, bool mpls)
{
	struct sock_filter filter[F_LEN];
	struct sock_fprog prog = { .len = F_LEN, .filter = filter };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int one = 1, rcvbuf = RCVBUF_BYTES, fd, rc;
	unsigned int ifindex;

	memset(k, 0, sizeof(*k));
	k->fd = -1;
	memcpy(filter, ptp_event_filter, sizeof(filter));
	if (!mpls) {
		/* Without labels on the path, a labelled frame is not ours: its test falls through.
		 */
		filter[F_IS_MPLS].jt = 0;
		filter[F_V_IS_MPLS].jt = 0;
	}
	snprintf(k->ifname, sizeof(k->ifname), "%s", ifname);
	ifindex = if_nametoindex(ifname);
	if (ifindex == 0)
		return -errno;
	/* Protocol 0 receives nothing until bound: the filter is in place before the first frame.
	 */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0)
		goto fail;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
		goto fail;
	k->fd = fd;
	return 0;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

void
ptp_kstamp_close(struct ptp_kstamp *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

void
ptp_kstamp_drain(struct ptp_kstamp *k)
{
	uint8_t buf[SNAP_LEN];
	char ctl[CMSG_SPACE(sizeof(struct timespec)) * 2];
	struct sockaddr_ll from;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;
	int off;

	if (k->fd < 0)
		return;
	for (;;) {
		const struct timespec *ts = NULL;
		struct ptp_kstamp_entry *e;

		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &from;
		mh.msg_namelen = sizeof(from);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		n = recvmsg(k->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				k->read_errs++;
			if (errno == EINTR)
				continue;
			return;
		}
		off = ptp_event_locate(buf, (uint32_t)n);
		if (off < 0) {
			k->unparsed++;
			continue;
		}
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
			    c->cmsg_len >= CMSG_LEN(sizeof(struct timespec)))
				ts = (const struct timespec *)CMSG_DATA(c);
		if (ts == NULL || (ts->tv_sec == 0 && ts->tv_nsec == 0)) {
			k->no_stamp++;
			continue;
		}
		k->frames++;
		e = &k->e[k->next];
		k->next = (k->next + 1) % PTP_KSTAMP_KEEP;
		e->ns = (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
		e->type = buf[off] & 0x0f;
		e->seq = net_get16(buf + off + 30);
		e->out = from.sll_pkttype == PACKET_OUTGOING;
		memcpy(e->source, buf + off + 20, sizeof(e->source));
	}
}

bool
ptp_kstamp_find(const struct ptp_kstamp *k, bool out, uint8_t type, uint16_t seq,
		const uint8_t source[10], uint64_t *ns)
{
	unsigned int i;

	/* Newest first: a sequenceId repeats only after 65536 messages. */
	for (i = 0; i < PTP_KSTAMP_KEEP; i++) {
		const struct ptp_kstamp_entry *e =
			&k->e[(k->next + PTP_KSTAMP_KEEP - 1 - i) % PTP_KSTAMP_KEEP];

		if (e->ns != 0 && e->out == out && e->type == type && e->seq == seq &&
		    memcmp(e->source, source, sizeof(e->source)) == 0) {
			*ns = e->ns;
			return true;
		}
	}
	return false;
}
