/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cluster-sync-bench: issue 4's sync throughput and owner-query round trip,
 * lib/cluster nodes driven as src/cluster_agent.c drives them (rx, tick,
 * tx, push, query), exchanging whole sealed datagrams:
 *
 *   --inproc               both nodes in one thread, datagrams handed over in
 *                          memory: the library's cost alone (the baseline)
 *   --role pusher|holder   one node per process over a real UDP socket (the
 *                          wrapper cluster_sync_bench.py runs them over
 *                          loopback and over a veth pair between namespaces)
 *
 * Member 1 (the pusher) pushes N IPv4 flow records (two members: member 2
 * holds a copy of every record, member 1 keeps the other) as fast as its
 * push queue takes them, and counts from the first push until member 2 acked
 * the last; member 2 counts from its first stored record to its Nth. Then
 * member 1 forgets its copies and asks member 2 about Q random keys one after
 * the other: the round trip from cluster_node_query to the install action.
 * Both loops busy-poll (dataplane.idle busy: the control lcore never sleeps).
 * A timing never fails it; a lost record or a failed query does (exit 1).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cluster/cluster.h"

#define SB_BATCH 32
#define SB_QUEUE 8192 /* in-process: datagrams in flight per direction */
#define SB_WAIT_NS (5ull * 1000000000ull)

static const uint8_t sb_key[CLUSTER_WIRE_KEY_LEN] = { 0x42, 0x17, 0x99, 0x01, 0xee };

struct sb_dgram {
	uint16_t len;
	uint8_t b[CLUSTER_WIRE_MAX];
};

/* In-process: one direction's datagrams, a plain FIFO that drops when full. */
struct sb_fifo {
	struct sb_dgram *q;
	uint32_t head, tail;
};

struct sb_node {
	struct cluster_node *n;
	uint16_t self, peer;
	int fd;                   /* -1 in process */
	struct sockaddr_in to;    /* the peer's socket */
	struct sb_fifo *in, *out; /* in process */
	struct cluster_actions acts;
	uint64_t installs, failed, last_cookie;
	uint64_t first_stored_ns, nth_stored_ns, want_stored;
	uint64_t tx_dgrams, rx_dgrams, tx_errors;
	uint64_t polls, ticks;
};

static uint64_t
ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
sb_rec(struct cluster_rec *r, uint32_t i)
{
	memset(r, 0, sizeof(*r));
	r->type = CLUSTER_ITEM_FLOW;
	r->state = FLOW_STATE_EST;
	r->be_family = 4;
	r->lifetime_ms = 600000;
	r->gen = 1;
	r->key.family = 4;
	r->key.proto = 6;
	r->key.sport = (uint16_t)(1024 + (i >> 24));
	r->key.dport = 80;
	r->key.src[0] = 10;
	r->key.src[1] = (uint8_t)(i >> 16);
	r->key.src[2] = (uint8_t)(i >> 8);
	r->key.src[3] = (uint8_t)i;
	r->key.dst[0] = 192;
	r->key.dst[1] = 168;
	r->key.dst[2] = 100;
	r->key.dst[3] = 100;
	r->backend[0] = 192;
	r->backend[1] = 168;
	r->backend[2] = 100;
	r->backend[3] = (uint8_t)(21 + i % 10);
}

static struct cluster_node *
sb_create(uint16_t self, uint32_t store, struct cluster_actions *a)
{
	struct cluster_conf c;
	unsigned int i;

	cluster_conf_defaults(&c);
	c.self_id = self;
	c.n_members = 2;
	for (i = 0; i < 2; i++) {
		c.members[i].id = (uint16_t)(i + 1);
		c.members[i].family = 4;
		c.members[i].addr[0] = 10;
		c.members[i].addr[1] = 239;
		c.members[i].addr[3] = (uint8_t)(i + 1);
	}
	memcpy(c.key, sb_key, sizeof(c.key));
	c.epoch = (ns_now() ^ ((uint64_t)getpid() << 32) ^ self) | 1;
	c.store_capacity = store;
	return cluster_node_create(&c, ns_now(), a);
}

static void
sb_send(struct sb_node *s, const uint8_t *buf, int len)
{
	if (s->fd < 0) {
		struct sb_fifo *f = s->out;

		if (f->tail - f->head < SB_QUEUE) {
			struct sb_dgram *d = &f->q[f->tail++ % SB_QUEUE];

			d->len = (uint16_t)len;
			memcpy(d->b, buf, (size_t)len);
		} else {
			s->tx_errors++; /* lost: the stream resends */
		}
	} else if (sendto(s->fd, buf, (size_t)len, 0, (const struct sockaddr *)&s->to,
			  sizeof(s->to)) != len) {
		s->tx_errors++;
	}
	s->tx_dgrams++;
}

static void
sb_actions(struct sb_node *s, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < s->acts.n; i++) {
		const struct cluster_action *a = &s->acts.a[i];

		if (a->type == CLUSTER_ACT_INSTALL) {
			s->installs++;
			s->last_cookie = a->cookie;
		} else if (a->type == CLUSTER_ACT_QUERY_FAILED) {
			s->failed++;
		}
	}
	s->acts.n = 0;
	if (s->want_stored != 0) {
		uint64_t got = cluster_node_stats(s->n)->records_stored;

		if (got > 0 && s->first_stored_ns == 0)
			s->first_stored_ns = now;
		if (got >= s->want_stored && s->nth_stored_ns == 0)
			s->nth_stored_ns = now;
	}
}

/* One iteration of the agent's loop: datagrams in, timers, datagrams out. */
static void
sb_poll(struct sb_node *s)
{
	static uint8_t buf[SB_BATCH][CLUSTER_WIRE_MAX];
	uint64_t now = ns_now();
	unsigned int i;
	uint16_t to;
	int len;

	if (s->fd < 0) {
		struct sb_fifo *f = s->in;

		for (i = 0; i < SB_BATCH && f->head != f->tail; i++) {
			struct sb_dgram *d = &f->q[f->head++ % SB_QUEUE];

			cluster_node_rx(s->n, now, d->b, d->len, &s->acts);
			s->rx_dgrams++;
			sb_actions(s, now);
		}
	} else {
		struct mmsghdr mm[SB_BATCH];
		struct iovec iov[SB_BATCH];
		int got;

		memset(mm, 0, sizeof(mm));
		for (i = 0; i < SB_BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		got = recvmmsg(s->fd, mm, SB_BATCH, MSG_DONTWAIT, NULL);
		for (i = 0; got > 0 && i < (unsigned int)got; i++) {
			cluster_node_rx(s->n, now, buf[i], mm[i].msg_len, &s->acts);
			s->rx_dgrams++;
			sb_actions(s, now);
		}
	}
	s->polls++;
	if (now >= cluster_node_next_deadline(s->n)) {
		s->ticks++;
		cluster_node_tick(s->n, now, &s->acts);
		sb_actions(s, now);
	}
	while ((len = cluster_node_tx(s->n, now, buf[0], sizeof(buf[0]), &to)) > 0)
		sb_send(s, buf[0], len);
}

static int
sb_socket(struct sb_node *s, const char *self, const char *peer)
{
	struct sockaddr_in a;
	char host[64];
	const char *colon;
	int one = 1 << 22;

	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (s->fd < 0)
		return -1;
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	for (int k = 0; k < 2; k++) {
		const char *spec = k == 0 ? self : peer;
		struct sockaddr_in *sa = k == 0 ? &a : &s->to;

		colon = strchr(spec, ':');
		if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
			return -1;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
		memset(sa, 0, sizeof(*sa));
		sa->sin_family = AF_INET;
		sa->sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			return -1;
	}
	return bind(s->fd, (struct sockaddr *)&a, sizeof(a));
}

/* Poll (both nodes in process) until both see each other. */
static int
sb_wait_up(struct sb_node *s, struct sb_node *other)
{
	uint64_t end = ns_now() + SB_WAIT_NS;

	while (ns_now() < end) {
		sb_poll(s);
		if (other != NULL)
			sb_poll(other);
		if (cluster_members_live_count(cluster_node_members(s->n)) == 2 &&
		    (other == NULL ||
		     cluster_members_live_count(cluster_node_members(other->n)) == 2))
			return 0;
	}
	return -1;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
sb_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("cluster-sync-bench: sched_setaffinity");
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = { { "inproc", no_argument, NULL, 'i' },
					    { "role", required_argument, NULL, 'r' },
					    { "self", required_argument, NULL, 's' },
					    { "peer", required_argument, NULL, 'p' },
					    { "records", required_argument, NULL, 'n' },
					    { "queries", required_argument, NULL, 'q' },
					    { "cpu", required_argument, NULL, 'c' },
					    { "label", required_argument, NULL, 'l' },
					    { NULL, 0, NULL, 0 } };
	const char *role = NULL, *self = NULL, *peer = NULL, *label = "inproc";
	uint32_t nrec = 1000000, nq = 10000, store, i;
	struct sb_node *a = NULL, *b = NULL, *me;
	struct sb_fifo f12 = { 0 }, f21 = { 0 };
	bool inproc = false;
	int opt, cpu = -1, rc = 0;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'i':
			inproc = true;
			break;
		case 'r':
			role = optarg;
			break;
		case 's':
			self = optarg;
			break;
		case 'p':
			peer = optarg;
			break;
		case 'n':
			nrec = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'q':
			nq = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'l':
			label = optarg;
			break;
		default:
			return 2;
		}
	}
	if (nrec == 0 || nq == 0 || nq > nrec ||
	    (!inproc && (role == NULL || self == NULL || peer == NULL))) {
		fprintf(stderr, "usage: cluster-sync-bench --inproc | --role pusher|holder "
				"--self IP:PORT --peer IP:PORT [--records N] [--queries Q] "
				"[--cpu C] [--label L]\n");
		return 2;
	}
	sb_pin(cpu);
	/* Room for every record with the store's load factor to spare. */
	for (store = 1u << 18; store < 2 * nrec; store <<= 1)
		;
	a = calloc(1, sizeof(*a));
	b = calloc(1, sizeof(*b));
	if (a == NULL || b == NULL)
		return 1;
	a->self = 1, a->peer = 2, b->self = 2, b->peer = 1;
	a->fd = b->fd = -1;
	if (inproc) {
		f12.q = calloc(SB_QUEUE, sizeof(*f12.q));
		f21.q = calloc(SB_QUEUE, sizeof(*f21.q));
		a->out = b->in = &f12;
		b->out = a->in = &f21;
		a->n = sb_create(1, store, &a->acts);
		b->n = sb_create(2, store, &b->acts);
		me = a;
	} else {
		me = strcmp(role, "pusher") == 0 ? a : b;
		me->n = sb_create(me->self, store, &me->acts);
		if (me->n != NULL && sb_socket(me, self, peer) != 0) {
			perror("cluster-sync-bench: socket");
			return 1;
		}
		if (me == a)
			b = NULL;
		else
			a = NULL;
	}
	if (me->n == NULL || (inproc && b->n == NULL))
		return 1;
	me->acts.n = 0;
	if (b != NULL)
		b->want_stored = nrec, b->acts.n = 0;
	if (sb_wait_up(me, inproc ? b : NULL) != 0) {
		fprintf(stderr, "cluster-sync-bench: %s: the peer never came up\n", label);
		return 1;
	}

	if (a == NULL) {
		/* The holder: serve until the pusher is gone (dead after 4 heartbeats). */
		uint64_t last = ns_now();

		while (ns_now() - last < 30ull * 1000000000ull) {
			sb_poll(b);
			if (cluster_members_live_count(cluster_node_members(b->n)) == 2)
				last = ns_now();
			else if (b->rx_dgrams > 0)
				break;
		}
	} else {
		struct cluster_stream *st;
		struct cluster_rec r;
		uint64_t t0, t1, *rtt, seed = 0x1234567;
		uint64_t end;

		/* The holder may see us a heartbeat later than we see it. */
		end = ns_now() + 200000000ull;
		while (ns_now() < end) {
			sb_poll(a);
			if (inproc)
				sb_poll(b);
		}
		st = cluster_node_stream(a->n, 2);
		t0 = ns_now();
		for (i = 0; i < nrec; i++) {
			while (cluster_stream_room(st) == 0) {
				sb_poll(a);
				if (inproc)
					sb_poll(b);
			}
			sb_rec(&r, i);
			cluster_node_push(a->n, ns_now(), &r);
			if ((i & 63) == 63) {
				sb_poll(a);
				if (inproc)
					sb_poll(b);
			}
		}
		end = ns_now() + 10 * SB_WAIT_NS;
		while (cluster_stream_backlog(st) > 0 && ns_now() < end) {
			sb_poll(a);
			if (inproc)
				sb_poll(b);
		}
		t1 = ns_now();
		if (cluster_stream_backlog(st) > 0 || cluster_node_stats(a->n)->push_overflows) {
			fprintf(stderr,
				"cluster-sync-bench: %s: %u records not acknowledged, %" PRIu64
				" overflows\n",
				label, cluster_stream_backlog(st),
				cluster_node_stats(a->n)->push_overflows);
			rc = 1;
		}
		printf("%s push: %u records in %.3f s: %.3f M records/s pushed and acknowledged "
		       "(%" PRIu64 " datagrams out, %" PRIu64 " send errors)\n",
		       label, nrec, (t1 - t0) / 1e9, nrec / ((t1 - t0) / 1e3), a->tx_dgrams,
		       a->tx_errors);
		if (inproc)
			printf("%s install: %u records stored by the holder in %.3f s: %.3f M "
			       "records/s\n",
			       label, nrec, (b->nth_stored_ns - b->first_stored_ns) / 1e9,
			       nrec / ((b->nth_stored_ns - b->first_stored_ns) / 1e3));

		/* Queries: we forgot our copies, so the holder answers each one. */
		cluster_store_clear(cluster_node_store(a->n));
		rtt = calloc(nq, sizeof(*rtt));
		a->polls = a->ticks = 0;
		for (i = 0; i < nq && rtt != NULL; i++) {
			uint64_t before = a->installs + a->failed, q0;

			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			sb_rec(&r, (uint32_t)((seed >> 33) % nrec));
			q0 = ns_now();
			a->acts.n = 0;
			cluster_node_query(a->n, q0, CLUSTER_ITEM_FLOW, &r.key, 1, &a->acts);
			sb_actions(a, q0);
			while (a->installs + a->failed == before) {
				sb_poll(a);
				if (inproc)
					sb_poll(b);
			}
			rtt[i] = ns_now() - q0;
		}
		if (a->failed != 0) {
			fprintf(stderr, "cluster-sync-bench: %s: %" PRIu64 " queries failed\n",
				label, a->failed);
			rc = 1;
		}
		if (rtt != NULL) {
			qsort(rtt, nq, sizeof(*rtt), cmp_u64);
			printf("%s query: %u round trips: median %.1f us, p99 %.1f us, max %.1f us "
			       "(%.1f polls a query, %.1f of them ticked)\n",
			       label, nq, rtt[nq / 2] / 1e3, rtt[(uint64_t)nq * 99 / 100] / 1e3,
			       rtt[nq - 1] / 1e3, (double)a->polls / nq, (double)a->ticks / nq);
		}
		free(rtt);
	}
	if (b != NULL && !inproc) {
		uint64_t stored = cluster_node_stats(b->n)->records_stored;

		if (b->nth_stored_ns == 0) {
			fprintf(stderr, "cluster-sync-bench: %s: holder stored %" PRIu64 " of %u\n",
				label, stored, nrec);
			rc = 1;
		} else {
			printf("%s install: %u records stored by the holder in %.3f s: %.3f M "
			       "records/s (%" PRIu64 " datagrams in)\n",
			       label, nrec, (b->nth_stored_ns - b->first_stored_ns) / 1e9,
			       nrec / ((b->nth_stored_ns - b->first_stored_ns) / 1e3),
			       b->rx_dgrams);
		}
	}
	fflush(stdout);
	return rc;
}
