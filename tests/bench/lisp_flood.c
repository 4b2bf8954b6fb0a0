/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lisp-flood: the map-server's message rate on the wire. From one UDP socket,
 * ECM Map-Requests (or signed Map-Registers with M set) for --count EID
 * prefixes, each with its own nonce, at most --window unanswered at a time;
 * answers (Map-Replies, Map-Notifies) are matched by nonce. Prints one JSON
 * line: sent, answered, lost, seconds from the first send to the last answer,
 * answers per second. Messages are built before the clock starts, with
 * lib/lisp's encoders (tests/tools/lisp_xtr.py checks those against an
 * independent implementation); run by tests/bench/lisp_recovery.py.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lisp/lisp_auth.h"
#include "lisp/lisp_wire.h"

#define STALL_S 0.2 /* unanswered this long: lost */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: lisp-flood --ms ADDR --bind ADDR --eid-base A.B.C.D/LEN "
			"[--register --key SECRET --key-id N [--proxy]] [--count N] "
			"[--messages N] [--window N]\n");
	exit(2);
}

static struct lisp_map_register reg;

/* Message k: for prefix k % count of base/plen (IPv4), nonce k + 1. */
static int
build(uint8_t *buf, size_t cap, unsigned int k, bool is_reg, const struct lisp_addr *me,
      uint16_t port, uint32_t base, unsigned int plen, unsigned int count, const char *key,
      unsigned int key_id, bool proxy)
{
	uint32_t a = base + (k % count) * (plen >= 32 ? 1u : 1u << (32 - plen));
	struct lisp_map_request q;
	struct lisp_record *r;
	struct lisp_ecm e;
	uint8_t inner[256];
	int n;

	if (is_reg) {
		memset(&reg, 0, offsetof(struct lisp_map_register, rec));
		reg.type = LISP_TYPE_MAP_REGISTER;
		reg.proxy_reply = proxy;
		reg.want_map_notify = true;
		reg.nonce = k + 1;
		reg.key_id = (uint8_t)key_id;
		reg.alg_id = LISP_ALG_HMAC_SHA256_128;
		reg.auth_len = 16;
		reg.n_records = 1;
		r = &reg.rec[0];
		memset(r, 0, sizeof(*r));
		r->ttl = 1440;
		r->authoritative = true;
		r->eid.addr.family = 4;
		a = htonl(a);
		memcpy(r->eid.addr.bytes, &a, 4);
		r->eid.len = (uint8_t)plen;
		r->n_locators = 1;
		r->loc[0].addr = *me;
		r->loc[0].priority = 1;
		r->loc[0].weight = 100;
		r->loc[0].mpriority = 255;
		r->loc[0].flags = LISP_LOC_R | LISP_LOC_L;
		n = lisp_encode_map_register(buf, cap, &reg);
		if (n > 0 && lisp_auth_sign(buf, (size_t)n, LISP_REG_AUTH_OFF, 16,
					    LISP_ALG_HMAC_SHA256_128, key, strlen(key)) != 0)
			return -EINVAL;
		return n;
	}
	memset(&q, 0, sizeof(q));
	q.nonce = k + 1;
	q.n_itr_rlocs = 1;
	q.itr_rloc[0] = *me;
	q.n_records = 1;
	q.eid[0].addr.family = 4;
	a = htonl(a + 1);
	memcpy(q.eid[0].addr.bytes, &a, 4);
	q.eid[0].len = 32;
	n = lisp_encode_map_request(inner, sizeof(inner), &q);
	if (n < 0)
		return n;
	memset(&e, 0, sizeof(e));
	e.src = *me;
	e.dst = q.eid[0].addr;
	e.sport = port;
	e.dport = LISP_PORT;
	e.ttl = 64;
	e.msg = inner;
	e.msg_len = (size_t)n;
	return lisp_encode_ecm(buf, cap, &e);
}

int
main(int argc, char **argv)
{
	const char *ms = NULL, *bind_to = NULL, *eid = NULL, *key = "";
	unsigned int count = 1000, messages = 100000, window = 64, key_id = 1, plen = 32, k;
	unsigned int sent = 0, got = 0, lost = 0;
	bool is_reg = false, proxy = false;
	struct sockaddr_in to, me;
	struct lisp_addr my_addr;
	socklen_t slen = sizeof(me);
	uint8_t *bufs, rx[2048], *seen;
	uint16_t *lens;
	double t_first, t_last, last_progress;
	char *slash;
	uint32_t base;
	int i, fd, n;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--register") == 0)
			is_reg = true;
		else if (strcmp(argv[i], "--proxy") == 0)
			proxy = true;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(argv[i], "--ms") == 0)
			ms = argv[++i];
		else if (strcmp(argv[i], "--bind") == 0)
			bind_to = argv[++i];
		else if (strcmp(argv[i], "--eid-base") == 0)
			eid = argv[++i];
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[++i];
		else if (strcmp(argv[i], "--key-id") == 0)
			key_id = (unsigned int)atoi(argv[++i]);
		else if (strcmp(argv[i], "--count") == 0)
			count = (unsigned int)atoi(argv[++i]);
		else if (strcmp(argv[i], "--messages") == 0)
			messages = (unsigned int)atoi(argv[++i]);
		else if (strcmp(argv[i], "--window") == 0)
			window = (unsigned int)atoi(argv[++i]);
		else
			usage();
	}
	if (ms == NULL || bind_to == NULL || eid == NULL || count == 0 || messages == 0 ||
	    window == 0)
		usage();
	slash = strchr(eid, '/');
	if (slash != NULL) {
		*slash = '\0';
		plen = (unsigned int)atoi(slash + 1);
	}
	memset(&to, 0, sizeof(to));
	memset(&me, 0, sizeof(me));
	to.sin_family = me.sin_family = AF_INET;
	to.sin_port = htons(LISP_PORT);
	if (inet_pton(AF_INET, ms, &to.sin_addr) != 1 ||
	    inet_pton(AF_INET, bind_to, &me.sin_addr) != 1 || inet_pton(AF_INET, eid, &base) != 1 ||
	    plen > 32)
		usage();
	base = ntohl(base);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &slen) != 0) {
		perror("lisp-flood: socket");
		return 1;
	}
	memset(&my_addr, 0, sizeof(my_addr));
	my_addr.family = 4;
	memcpy(my_addr.bytes, &me.sin_addr, 4);
	bufs = malloc((size_t)messages * 256);
	lens = malloc(messages * sizeof(lens[0]));
	seen = calloc(messages + 1, 1);
	if (bufs == NULL || lens == NULL || seen == NULL)
		return 1;
	for (k = 0; k < messages; k++) {
		n = build(bufs + (size_t)k * 256, 256, k, is_reg, &my_addr, ntohs(me.sin_port),
			  base, plen, count, key, key_id, proxy);
		if (n <= 0) {
			fprintf(stderr, "lisp-flood: cannot build message %u\n", k);
			return 1;
		}
		lens[k] = (uint16_t)n;
	}

	t_first = t_last = last_progress = now_s();
	while (got + lost < messages && now_s() - last_progress < 2.0) {
		/* Late answers to messages already counted lost may push got + lost past sent. */
		while (sent < messages && (sent > got + lost ? sent - got - lost : 0) < window) {
			if (sendto(fd, bufs + (size_t)sent * 256, lens[sent], 0,
				   (struct sockaddr *)&to, sizeof(to)) < 0)
				break;
			sent++;
		}
		poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 1);
		while ((n = (int)recv(fd, rx, sizeof(rx), 0)) >= 12) {
			uint64_t nonce = 0;

			for (i = 4; i < 12; i++)
				nonce = nonce << 8 | rx[i];
			if ((rx[0] >> 4) != (is_reg ? LISP_TYPE_MAP_NOTIFY : LISP_TYPE_MAP_REPLY) ||
			    nonce == 0 || nonce > messages || seen[nonce])
				continue;
			seen[nonce] = 1;
			got++;
			t_last = last_progress = now_s();
		}
		if (now_s() - last_progress > STALL_S && sent > got + lost) {
			lost = sent - got;
			last_progress = now_s();
		}
	}
	printf("{\"mode\": \"%s\", \"sent\": %u, \"answered\": %u, \"lost\": %u, "
	       "\"elapsed_s\": %.6f, \"per_s\": %.0f}\n",
	       is_reg ? "register" : "request", sent, got, lost, t_last - t_first,
	       t_last > t_first ? got / (t_last - t_first) : 0.0);
	close(fd);
	free(bufs);
	free(lens);
	free(seen);
	return got > 0 ? 0 : 1;
}
