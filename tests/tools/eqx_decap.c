/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * eqx-decap: user-space IP-in-IPv4 decapsulator for test backends.
 *
 * The test machines' kernels have no ipip module, so a backend cannot
 * terminate the tunnel equinox sends it. This program stands in for it:
 * raw sockets for IP protocols 4 (IPv4-in-IPv4) and 41 (IPv6-in-IPv4)
 * receive each whole outer packet, the outer header is stripped, and the
 * inner packet is written to a TUN device. The kernel then receives the
 * inner packet as if it had arrived on that device, and its own TCP stack
 * answers the client directly (direct server return).
 *
 *   ip tuntap add dev dtun0 mode tun && ip link set dtun0 up
 *   eqx-decap --tun dtun0
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define DECAP_BUF_SIZE 65536
#define IPV4_MIN_HLEN 20
#define IPV6_HLEN 40
#define IPV4_FLAG_MF 0x2000
#define IPV4_FRAG_OFF_MASK 0x1fff

/* One counter per outcome, named once here so the exit report stays in step. */
/* clang-format off */
#define foreach_decap_counter \
	_(RX_IPIP, "rx_ipip") \
	_(RX_IP6IP, "rx_ip6ip") \
	_(TX_TUN, "tx_tun") \
	_(DROP_SHORT, "drop_short") \
	_(DROP_BAD_OUTER, "drop_bad_outer") \
	_(DROP_FRAGMENT, "drop_fragment") \
	_(DROP_BAD_INNER, "drop_bad_inner") \
	_(DROP_TUN_WRITE, "drop_tun_write")

enum decap_counter {
#define _(sym, str) DECAP_##sym,
	foreach_decap_counter
#undef _
	DECAP_N_COUNTERS,
};

static const char *const decap_counter_names[DECAP_N_COUNTERS] = {
#define _(sym, str) [DECAP_##sym] = str,
	foreach_decap_counter
#undef _
};
/* clang-format on */

static uint64_t decap_counters[DECAP_N_COUNTERS];
static volatile sig_atomic_t decap_stop;
static bool decap_verbose;

static void
decap_on_signal(int sig)
{
	(void)sig;
	decap_stop = 1;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --tun NAME [--verbose]\n"
		"  --tun NAME   existing TUN device (ip tuntap add dev NAME mode tun)\n"
		"  --verbose    print one line per dropped packet\n",
		prog);
}

static int
tun_attach(const char *name)
{
	struct ifreq ifr;
	int fd;

	if (strlen(name) >= IFNAMSIZ) {
		fprintf(stderr, "eqx-decap: device name too long: %s\n", name);
		return -1;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "eqx-decap: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "eqx-decap: TUNSETIFF %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
raw_open(int proto)
{
	int fd;

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (fd < 0)
		fprintf(stderr, "eqx-decap: raw socket for protocol %d: %s\n", proto,
			strerror(errno));
	return fd;
}

static void
decap_drop(enum decap_counter c, size_t len)
{
	decap_counters[c]++;
	if (decap_verbose)
		fprintf(stderr, "eqx-decap: %s (%zu bytes)\n", decap_counter_names[c], len);
}

static uint16_t
read_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/*
 * Validate the outer IPv4 header of pkt (len bytes, as a raw socket hands it
 * over on Linux: the whole packet with its header, total length in network
 * order) and locate the inner packet. Returns the inner packet's length and
 * sets *inner, or 0 when the packet is dropped (counted here).
 */
static size_t
decap_outer(const uint8_t *pkt, size_t len, int expect_proto, const uint8_t **inner)
{
	size_t hlen, tot_len, ilen;
	uint16_t frag;
	const uint8_t *in;

	if (len < IPV4_MIN_HLEN) {
		decap_drop(DECAP_DROP_SHORT, len);
		return 0;
	}
	if ((pkt[0] >> 4) != 4 || pkt[9] != expect_proto) {
		decap_drop(DECAP_DROP_BAD_OUTER, len);
		return 0;
	}
	hlen = (size_t)(pkt[0] & 0x0f) * 4;
	tot_len = read_be16(pkt + 2);
	if (hlen < IPV4_MIN_HLEN || tot_len < hlen || tot_len > len) {
		decap_drop(DECAP_DROP_BAD_OUTER, len);
		return 0;
	}
	/* The kernel reassembles before raw delivery; a fragment here is a bug upstream. */
	frag = read_be16(pkt + 6);
	if ((frag & IPV4_FLAG_MF) != 0 || (frag & IPV4_FRAG_OFF_MASK) != 0) {
		decap_drop(DECAP_DROP_FRAGMENT, len);
		return 0;
	}

	in = pkt + hlen;
	ilen = tot_len - hlen;
	if (expect_proto == IPPROTO_IPIP) {
		size_t ihl, itot;

		if (ilen < IPV4_MIN_HLEN || (in[0] >> 4) != 4) {
			decap_drop(DECAP_DROP_BAD_INNER, len);
			return 0;
		}
		ihl = (size_t)(in[0] & 0x0f) * 4;
		itot = read_be16(in + 2);
		if (ihl < IPV4_MIN_HLEN || itot < ihl || itot > ilen) {
			decap_drop(DECAP_DROP_BAD_INNER, len);
			return 0;
		}
		/* Trailing bytes after the inner packet are padding: don't pass them on. */
		ilen = itot;
	} else {
		size_t itot;

		if (ilen < IPV6_HLEN || (in[0] >> 4) != 6) {
			decap_drop(DECAP_DROP_BAD_INNER, len);
			return 0;
		}
		itot = IPV6_HLEN + read_be16(in + 4);
		if (itot > ilen) {
			decap_drop(DECAP_DROP_BAD_INNER, len);
			return 0;
		}
		ilen = itot;
	}
	*inner = in;
	return ilen;
}

/* Drain one raw socket; returns -1 on a fatal socket error. */
static int
decap_drain(int rawfd, int proto, int tunfd, uint8_t *buf)
{
	const uint8_t *inner;
	ssize_t n;
	size_t ilen;

	for (;;) {
		n = recv(rawfd, buf, DECAP_BUF_SIZE, MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			fprintf(stderr, "eqx-decap: recv: %s\n", strerror(errno));
			return -1;
		}
		decap_counters[proto == IPPROTO_IPIP ? DECAP_RX_IPIP : DECAP_RX_IP6IP]++;
		if ((size_t)n > DECAP_BUF_SIZE) {
			decap_drop(DECAP_DROP_SHORT, (size_t)n);
			continue;
		}
		ilen = decap_outer(buf, (size_t)n, proto, &inner);
		if (ilen == 0)
			continue;
		if (write(tunfd, inner, ilen) != (ssize_t)ilen) {
			decap_drop(DECAP_DROP_TUN_WRITE, ilen);
			continue;
		}
		decap_counters[DECAP_TX_TUN]++;
	}
}

static void
decap_report(FILE *f)
{
	int i;

	fprintf(f, "eqx-decap:");
	for (i = 0; i < DECAP_N_COUNTERS; i++)
		fprintf(f, " %s=%llu", decap_counter_names[i],
			(unsigned long long)decap_counters[i]);
	fprintf(f, "\n");
	fflush(f);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"tun", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *tun_name = NULL;
	struct sigaction sa;
	struct pollfd pfd[2];
	uint8_t *buf = NULL;
	int tunfd = -1;
	int ret = 1;
	int opt, i;

	while ((opt = getopt_long(argc, argv, "t:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			tun_name = optarg;
			break;
		case 'v':
			decap_verbose = true;
			break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 64;
		}
	}
	if (tun_name == NULL || optind != argc) {
		usage(argv[0]);
		return 64;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = decap_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	pfd[0].fd = -1;
	pfd[1].fd = -1;
	buf = malloc(DECAP_BUF_SIZE);
	if (buf == NULL) {
		fprintf(stderr, "eqx-decap: out of memory\n");
		goto fail;
	}
	tunfd = tun_attach(tun_name);
	if (tunfd < 0)
		goto fail;
	pfd[0].fd = raw_open(IPPROTO_IPIP);
	pfd[1].fd = raw_open(IPPROTO_IPV6);
	if (pfd[0].fd < 0 || pfd[1].fd < 0)
		goto fail;
	pfd[0].events = POLLIN;
	pfd[1].events = POLLIN;

	printf("eqx-decap: decapsulating IPIP and IPv6-in-IPv4 to %s\n", tun_name);
	fflush(stdout);

	while (!decap_stop) {
		int n = poll(pfd, 2, 1000);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "eqx-decap: poll: %s\n", strerror(errno));
			goto fail;
		}
		if (pfd[0].revents & POLLIN && decap_drain(pfd[0].fd, IPPROTO_IPIP, tunfd, buf) < 0)
			goto fail;
		if (pfd[1].revents & POLLIN && decap_drain(pfd[1].fd, IPPROTO_IPV6, tunfd, buf) < 0)
			goto fail;
	}
	ret = 0;

fail:
	decap_report(stdout);
	for (i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	if (tunfd >= 0)
		close(tunfd);
	free(buf);
	return ret;
}
