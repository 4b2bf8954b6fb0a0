/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * eqx-decap: user-space decapsulator (IPIP, IPv6 outer, GUE) for test backends.
 *
 * The test machines' kernels have no ipip, ip6_tunnel, sit or fou module, so a
 * backend cannot terminate the tunnels equinox sends it. This program stands in
 * for them and writes each inner packet to a TUN device. The kernel then
 * receives the inner packet as if it had arrived on that device, and its own TCP
 * stack answers the client directly (direct server return).
 *
 * What it receives, and how:
 *   IPv4 outer, protocol 4 (4in4) or 41 (6in4): raw AF_INET sockets; Linux hands
 *     over the whole outer packet with its IPv4 header.
 *   IPv6 outer, next header 4 (4in6) or 41 (6in6): raw AF_INET6 sockets; Linux
 *     hands over the payload WITHOUT the IPv6 header: the inner packet itself.
 *   GUE (--gue-port N): UDP sockets bound to port N over IPv4 and IPv6; the
 *     payload is a 4-byte GUE variant-0 header (version 0, C 0, Hlen 0, flags 0,
 *     proto 4 or 41) followed by the inner packet.
 * A raw socket that takes a packet also keeps the kernel from answering it with
 * "protocol unreachable" (it has no handler for protocols 4 and 41 here).
 *
 *   ip tuntap add dev dtun0 mode tun && ip link set dtun0 up
 *   eqx-decap --tun dtun0 [--gue-port 5555]
 *
 * SIGUSR1 prints the counters; SIGTERM/SIGINT print them and exit 0.
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
#define GUE_HLEN 4
#define GUE_VERSION_MASK 0xc0
#define GUE_C_BIT 0x20
#define GUE_HLEN_MASK 0x1f

/* One counter per outcome, named once here so the report stays in step. */
/* clang-format off */
#define foreach_decap_counter \
	_(RX_IPIP, "rx_ipip") \
	_(RX_IP6IP, "rx_ip6ip") \
	_(RX_IPIP6, "rx_ipip6") \
	_(RX_IP6IP6, "rx_ip6ip6") \
	_(RX_GUE4, "rx_gue4") \
	_(RX_GUE6, "rx_gue6") \
	_(RX_GUE_INNER4, "rx_gue_inner4") \
	_(RX_GUE_INNER6, "rx_gue_inner6") \
	_(TX_TUN, "tx_tun") \
	_(DROP_SHORT, "drop_short") \
	_(DROP_BAD_OUTER, "drop_bad_outer") \
	_(DROP_FRAGMENT, "drop_fragment") \
	_(DROP_BAD_GUE, "drop_bad_gue") \
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

/* What one socket receives: the outer family, and what its payload starts with. */
enum decap_kind {
	DECAP_KIND_RAW4, /* AF_INET raw: outer IPv4 header + inner packet */
	DECAP_KIND_RAW6, /* AF_INET6 raw: the inner packet itself */
	DECAP_KIND_GUE,  /* UDP: GUE header + inner packet */
};

struct decap_sock {
	const char *what;
	int family;
	int type;
	int proto; /* raw: the IP protocol (= the inner family); GUE: 0 */
	enum decap_kind kind;
	enum decap_counter rx;
	bool optional; /* a failure to open it is reported, not fatal */
};

#define DECAP_MAX_SOCKS 6

static uint64_t decap_counters[DECAP_N_COUNTERS];
static volatile sig_atomic_t decap_stop;
static volatile sig_atomic_t decap_dump;
static bool decap_verbose;

static void
decap_on_signal(int sig)
{
	if (sig == SIGUSR1)
		decap_dump = 1;
	else
		decap_stop = 1;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --tun NAME [--gue-port N] [--no-ipv6] [--verbose]\n"
		"  --tun NAME      existing TUN device (ip tuntap add dev NAME mode tun)\n"
		"  --gue-port N    also take GUE on UDP port N (IPv4 and IPv6)\n"
		"  --no-ipv6       no IPv6 outer headers (raw AF_INET6 sockets)\n"
		"  --verbose       print one line per dropped packet\n"
		"  SIGUSR1 prints the counters\n",
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
sock_open(const struct decap_sock *s, uint16_t udp_port)
{
	int fd, one = 1;

	fd = socket(s->family, s->type | SOCK_CLOEXEC | SOCK_NONBLOCK, s->proto);
	if (fd < 0) {
		fprintf(stderr, "eqx-decap: socket for %s: %s\n", s->what, strerror(errno));
		return -1;
	}
	if (s->kind != DECAP_KIND_GUE)
		return fd;

	if (s->family == AF_INET6) {
		struct sockaddr_in6 a6;

		/* The IPv4 socket takes IPv4: this one only IPv6. */
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
			goto fail;
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons(udp_port);
		a6.sin6_addr = in6addr_any;
		if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) < 0)
			goto fail;
	} else {
		struct sockaddr_in a4;

		memset(&a4, 0, sizeof(a4));
		a4.sin_family = AF_INET;
		a4.sin_port = htons(udp_port);
		a4.sin_addr.s_addr = htonl(INADDR_ANY);
		if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0)
			goto fail;
	}
	return fd;

fail:
	fprintf(stderr, "eqx-decap: %s on UDP port %u: %s\n", s->what, udp_port, strerror(errno));
	close(fd);
	return -1;
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
 * Validate an inner packet of IP protocol inner_proto (4: IPv4, 41: IPv6) at in,
 * ilen bytes available. Returns its length without trailing padding, or 0 when
 * it is dropped (counted here).
 */
static size_t
decap_inner(const uint8_t *in, size_t ilen, int inner_proto)
{
	if (inner_proto == IPPROTO_IPIP) {
		size_t ihl, itot;

		if (ilen < IPV4_MIN_HLEN || (in[0] >> 4) != 4) {
			decap_drop(DECAP_DROP_BAD_INNER, ilen);
			return 0;
		}
		ihl = (size_t)(in[0] & 0x0f) * 4;
		itot = read_be16(in + 2);
		if (ihl < IPV4_MIN_HLEN || itot < ihl || itot > ilen) {
			decap_drop(DECAP_DROP_BAD_INNER, ilen);
			return 0;
		}
		/* Trailing bytes after the inner packet are padding: don't pass them on. */
		return itot;
	}
	if (inner_proto == IPPROTO_IPV6) {
		size_t itot;

		if (ilen < IPV6_HLEN || (in[0] >> 4) != 6) {
			decap_drop(DECAP_DROP_BAD_INNER, ilen);
			return 0;
		}
		itot = IPV6_HLEN + read_be16(in + 4);
		if (itot > ilen) {
			decap_drop(DECAP_DROP_BAD_INNER, ilen);
			return 0;
		}
		return itot;
	}
	decap_drop(DECAP_DROP_BAD_INNER, ilen);
	return 0;
}

/*
 * Validate the outer IPv4 header of pkt (len bytes, as a raw AF_INET socket
 * hands it over on Linux: the whole packet with its header, total length in
 * network order) and locate the inner packet. Returns the inner packet's length
 * and sets *inner, or 0 when the packet is dropped (counted here).
 */
static size_t
decap_outer4(const uint8_t *pkt, size_t len, int expect_proto, const uint8_t **inner)
{
	size_t hlen, tot_len;
	uint16_t frag;

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
	*inner = pkt + hlen;
	return decap_inner(pkt + hlen, tot_len - hlen, expect_proto);
}

/*
 * Validate a GUE variant-0 header at the start of a UDP payload: version 0,
 * not a control message, no optional fields (Hlen 0), no flags, and an inner
 * protocol of 4 or 41. Returns the inner packet's length and sets *inner, or 0.
 */
static size_t
decap_gue(const uint8_t *pl, size_t len, const uint8_t **inner, enum decap_counter *kind)
{
	if (len < GUE_HLEN) {
		decap_drop(DECAP_DROP_SHORT, len);
		return 0;
	}
	if ((pl[0] & GUE_VERSION_MASK) != 0 || (pl[0] & GUE_C_BIT) != 0 ||
	    (pl[0] & GUE_HLEN_MASK) != 0 || pl[2] != 0 || pl[3] != 0 ||
	    (pl[1] != IPPROTO_IPIP && pl[1] != IPPROTO_IPV6)) {
		decap_drop(DECAP_DROP_BAD_GUE, len);
		return 0;
	}
	*kind = pl[1] == IPPROTO_IPIP ? DECAP_RX_GUE_INNER4 : DECAP_RX_GUE_INNER6;
	*inner = pl + GUE_HLEN;
	return decap_inner(pl + GUE_HLEN, len - GUE_HLEN, pl[1]);
}

/* Drain one socket; returns -1 on a fatal socket error. */
static int
decap_drain(const struct decap_sock *s, int fd, int tunfd, uint8_t *buf)
{
	enum decap_counter gue_kind;
	const uint8_t *inner;
	ssize_t n;
	size_t ilen;

	for (;;) {
		n = recv(fd, buf, DECAP_BUF_SIZE, MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			fprintf(stderr, "eqx-decap: recv (%s): %s\n", s->what, strerror(errno));
			return -1;
		}
		decap_counters[s->rx]++;
		if ((size_t)n > DECAP_BUF_SIZE) {
			decap_drop(DECAP_DROP_SHORT, (size_t)n);
			continue;
		}
		switch (s->kind) {
		case DECAP_KIND_RAW4:
			ilen = decap_outer4(buf, (size_t)n, s->proto, &inner);
			break;
		case DECAP_KIND_RAW6:
			inner = buf;
			ilen = decap_inner(buf, (size_t)n, s->proto);
			break;
		case DECAP_KIND_GUE:
		default:
			ilen = decap_gue(buf, (size_t)n, &inner, &gue_kind);
			if (ilen != 0)
				decap_counters[gue_kind]++;
			break;
		}
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
	/* clang-format off */
	static const struct option longopts[] = {
		{ "tun", required_argument, NULL, 't' },
		{ "gue-port", required_argument, NULL, 'g' },
		{ "no-ipv6", no_argument, NULL, '4' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* clang-format on */
	static const struct decap_sock raw_socks[] = {
		{ "IPv4-in-IPv4", AF_INET, SOCK_RAW, IPPROTO_IPIP, DECAP_KIND_RAW4, DECAP_RX_IPIP,
		  false },
		{ "IPv6-in-IPv4", AF_INET, SOCK_RAW, IPPROTO_IPV6, DECAP_KIND_RAW4, DECAP_RX_IP6IP,
		  false },
		{ "IPv4-in-IPv6", AF_INET6, SOCK_RAW, IPPROTO_IPIP, DECAP_KIND_RAW6, DECAP_RX_IPIP6,
		  true },
		{ "IPv6-in-IPv6", AF_INET6, SOCK_RAW, IPPROTO_IPV6, DECAP_KIND_RAW6,
		  DECAP_RX_IP6IP6, true },
	};
	static const struct decap_sock gue_socks[] = {
		{ "GUE over IPv4", AF_INET, SOCK_DGRAM, 0, DECAP_KIND_GUE, DECAP_RX_GUE4, false },
		{ "GUE over IPv6", AF_INET6, SOCK_DGRAM, 0, DECAP_KIND_GUE, DECAP_RX_GUE6, true },
	};
	const struct decap_sock *socks[DECAP_MAX_SOCKS];
	struct pollfd pfd[DECAP_MAX_SOCKS];
	const char *tun_name = NULL;
	struct sigaction sa;
	uint8_t *buf = NULL;
	bool ipv6 = true;
	long gue_port = 0;
	int n_socks = 0;
	int tunfd = -1;
	int ret = 1;
	int opt, i;
	size_t k;
	char *end;

	while ((opt = getopt_long(argc, argv, "t:g:4vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			tun_name = optarg;
			break;
		case 'g':
			errno = 0;
			gue_port = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || gue_port < 1 || gue_port > 65535) {
				fprintf(stderr, "eqx-decap: --gue-port: expected 1..65535: %s\n",
					optarg);
				return 64;
			}
			break;
		case '4':
			ipv6 = false;
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
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < DECAP_MAX_SOCKS; i++)
		pfd[i].fd = -1;
	buf = malloc(DECAP_BUF_SIZE);
	if (buf == NULL) {
		fprintf(stderr, "eqx-decap: out of memory\n");
		goto fail;
	}
	tunfd = tun_attach(tun_name);
	if (tunfd < 0)
		goto fail;

	for (k = 0; k < sizeof(raw_socks) / sizeof(raw_socks[0]); k++)
		if (ipv6 || raw_socks[k].family == AF_INET)
			socks[n_socks++] = &raw_socks[k];
	if (gue_port != 0)
		for (k = 0; k < sizeof(gue_socks) / sizeof(gue_socks[0]); k++)
			if (ipv6 || gue_socks[k].family == AF_INET)
				socks[n_socks++] = &gue_socks[k];
	for (i = 0; i < n_socks; i++) {
		pfd[i].fd = sock_open(socks[i], (uint16_t)gue_port);
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0 && !socks[i]->optional)
			goto fail;
		/* A kernel without IPv6: carry on with IPv4 (poll ignores fd -1). */
	}

	printf("eqx-decap: decapsulating to %s:", tun_name);
	for (i = 0; i < n_socks; i++)
		if (pfd[i].fd >= 0)
			printf(" [%s]", socks[i]->what);
	if (gue_port != 0)
		printf(" (GUE port %ld)", gue_port);
	printf("\n");
	fflush(stdout);

	while (!decap_stop) {
		int n = poll(pfd, (nfds_t)n_socks, 1000);

		if (decap_dump) {
			decap_dump = 0;
			decap_report(stdout);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "eqx-decap: poll: %s\n", strerror(errno));
			goto fail;
		}
		for (i = 0; i < n_socks; i++)
			if ((pfd[i].revents & POLLIN) != 0 &&
			    decap_drain(socks[i], pfd[i].fd, tunfd, buf) < 0)
				goto fail;
	}
	ret = 0;

fail:
	decap_report(stdout);
	for (i = 0; i < DECAP_MAX_SOCKS; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	if (tunfd >= 0)
		close(tunfd);
	free(buf);
	return ret;
}
