/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel software timestamps for a PTP port that sits on a kernel interface
 * through net_af_packet or net_pcap (`iface=`). Not net_af_xdp (its frames
 * and sends bypass the kernel's taps) nor net_tap (the kernel sees the PMD's
 * sends as received: the directions are swapped).
 *
 * DPDK 22.11's net_af_packet hands no RX timestamp up, and a TSC read in the
 * worker is 10-20 us away from the time the kernel moved the frame. The
 * kernel knows both times: a packet socket of our own on the interface, with
 * SO_TIMESTAMPNS and a filter that lets only PTP event messages through, gets
 * a copy of every such frame the port receives (stamped where the kernel took
 * it in) and of every one the port sends (stamped where the kernel hands it
 * to the driver, dev_queue_xmit_nit), the same software stamps ptp4l uses.
 * It carries no frame the port needs: the workers still receive and send
 * them; this socket only says when. Its stamps are matched to the frames by
 * the PTP header's message type, sequenceId and sourcePortIdentity.
 *
 * A net_af_packet port must send through the kernel's queueing layer for
 * its frames to reach the taps (PACKET_QDISC_BYPASS skips them):
 * eqx_ptp_port_devargs adds `qdisc_bypass=0` to such a port's device string.
 */
#ifndef EQX_PTP_KSTAMP_H
#define EQX_PTP_KSTAMP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Recent stamps kept per port: a few exchanges' worth at 128 messages/s. */
#define PTP_KSTAMP_KEEP 64

struct ptp_kstamp_entry {
	uint64_t ns; /* CLOCK_REALTIME */
	uint16_t seq;
	uint8_t type;
	bool out; /* sent by this host */
	uint8_t source[10];
};

struct ptp_kstamp {
	int fd;
	char ifname[IF_NAMESIZE];
	unsigned int next; /* where the next entry goes in e[] */
	struct ptp_kstamp_entry e[PTP_KSTAMP_KEEP];
	/* counters */
	uint64_t frames;    /* event messages read off the socket */
	uint64_t unparsed;  /* frames the filter let through that carry no event message */
	uint64_t read_errs; /* recvmsg errors other than "nothing more" */
	uint64_t no_stamp;  /* frames that came without a timestamp */
};

/*
 * Open the socket on ifname (in this process's network namespace); mpls when
 * the port's PTP path carries labels (else labelled frames are not copied).
 * Returns 0, or -errno (the interface does not exist, no CAP_NET_RAW, ...).
 */
int ptp_kstamp_open(struct ptp_kstamp *k, const char *ifname, bool mpls);
void ptp_kstamp_close(struct ptp_kstamp *k);

/* Read everything queued on the socket into the recent entries. */
void ptp_kstamp_drain(struct ptp_kstamp *k);

/*
 * The kernel's time of the event message of this type, sequenceId and
 * sourcePortIdentity (its 10 bytes as on the wire) in the direction out,
 * into *ns; false when none is known.
 */
bool ptp_kstamp_find(const struct ptp_kstamp *k, bool out, uint8_t type, uint16_t seq,
		     const uint8_t source[10], uint64_t *ns);

#endif /* EQX_PTP_KSTAMP_H */
