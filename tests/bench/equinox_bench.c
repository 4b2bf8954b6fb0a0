/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * equinox-bench: what one worker core costs per packet. It drives the real
 * worker loop (eqx_worker_poll, what a worker lcore runs) over a net_ring
 * port fed with pre-built frames, and in the same run, round for round, the
 * same loop doing io-forwarding only, so the ratio says what equinox adds
 * over moving the packets at all. Refilling the RX ring happens outside the
 * timed section, identically for both. Also the Maglev build time and the
 * memory a flow takes. A timing never fails the run; a wrong packet does.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "cluster/cluster_wire.h"
#include "dataplane.h"
#include "maglev/maglev.h"

/* Frames per timed section: a multiple of EQX_BURST that fits the RX ring. */
#define BENCH_BATCH 1024
#define BENCH_RING_SIZE 2048
#define BENCH_MBUFS 8192
#define BENCH_BACKENDS 10
#define BENCH_BACKEND_FIRST 21                     /* backends are 192.168.100.21 .. .30 */
#define BENCH_FRAME_LEN 60                         /* a 64-byte Ethernet frame without its FCS */
#define BENCH_TX_LEN (RTE_ETHER_HDR_LEN + 20 + 40) /* IPIP around the 40-byte packet */
#define BENCH_VIP_PORT 80
#define BENCH_SPORT_BASE 1024
#define BENCH_ZIPF_S 1.0
#define BENCH_ZIPF_SEQ_MAX (1u << 24) /* longer runs cycle over the sequence */
#define BENCH_MAX_ERRORS 10
#define BENCH_HUGE_PAGE (2u << 20)
#define BENCH_MAGLEV_SIZE 65537
#define BENCH_MiB (1024.0 * 1024.0)

/* Targets printed beside the results; README.md says where they come from. */
#define TARGET_EST_NS 60.0
#define TARGET_NEW_MFPS 3.0
#define TARGET_MAGLEV_MS 1.0
#define TARGET_BYTES_PER_FLOW 64.0
#define TARGET_TRANSITION_NS 20.0

/* Figure 6: the cluster agent's rings, as src/cluster_agent.c sizes them. */
#define BENCH_CL_RING 16384
#define BENCH_TRANSITION_ROUND (64u << 10)

static const uint8_t port_mac[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t client_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t port_ip[4] = { 192, 168, 100, 10 };
static const uint8_t vip_ip[4] = { 192, 168, 100, 100 };
static const struct flow_timeouts bench_timeouts = {
	.syn = 10, .established = 300, .closing = 10, .udp = 30 /* the fill test never ages */
};

enum bench_pattern {
	PATTERN_SEQ,     /* flows 0, 1, 2, ... (the insertion passes) */
	PATTERN_UNIFORM, /* uniformly random over the flows */
	PATTERN_ZIPF,    /* the precomputed Zipf sequence */
	PATTERN_NEW,     /* a never-seen flow every packet */
};

enum bench_verify {
	VERIFY_NONE,
	VERIFY_ALL,    /* check every frame, remember each flow's backend */
	VERIFY_SAMPLE, /* check one frame a batch */
};

/* Which flows the next frames belong to; pipeline and io-fwd get equal copies. */
struct bench_gen {
	enum bench_pattern pattern;
	uint64_t rng;
	uint64_t next; /* SEQ / NEW: next flow index; ZIPF: sequence cursor */
	uint8_t tcp_flags;
};

struct bench_opts {
	uint32_t flows;
	uint64_t packets;
	uint64_t round; /* packets per round; pipeline and io-fwd alternate */
	unsigned int maglev_runs;
	unsigned int core;
	bool quick;
	bool csv;
	bool eal_flow_mem;
	bool fill_4m;
};

/* What the worker and the TX ring showed over one measurement. */
struct bench_delta {
	uint64_t rx, tx, drops, hits, misses, to_control;
	uint64_t inserts, evictions, full;
	uint64_t pipe_out; /* frames the pipeline put in the TX ring */
	uint64_t base_out; /* frames io-fwd put there */
	uint64_t sampled;
};

/* One measured figure: per round, TSC cycles per packet of each loop. */
struct bench_result {
	const char *key; /* CSV name */
	unsigned int n_rounds;
	uint64_t round;
	double *pipe;
	double *base;
	struct bench_delta d;
};

struct bench_mem {
	void *base; /* what to munmap / rte_free */
	size_t len;
	bool eal;
};

struct bench {
	struct bench_opts o;
	struct rte_mempool *pool;
	uint16_t port_id;
	struct rte_ring *rx_ring;
	struct rte_ring *tx_ring;
	struct eqx_worker *w;
	struct eqx_dp_ctx ctx;
	uint64_t tsc_hz;
	uint32_t flow_cap; /* flow table slots */
	struct bench_mem flow_mem;
	size_t flow_mem_size;
	size_t flow_mem_huge; /* bytes of it on 2 MiB pages */
	uint8_t *backend_of;  /* flow index -> backend's last octet, 0 unseen */
	uint32_t *zipf_seq;
	uint32_t n_zipf;
	double zipf_top1;    /* share of packets on the most popular flow */
	double zipf_top1pct; /* share on the top 1% of flows */
	uint64_t new_next;   /* the next never-seen flow index */
	struct rte_mbuf *stash[BENCH_RING_SIZE];
	unsigned int n_stash;
	uint8_t tmpl[BENCH_FRAME_LEN];
	uint64_t errors;
	uint64_t sample_pos;
	struct bench_delta d; /* what collect() counts over one measurement */
};

static void bench_error(struct bench *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
bench_error(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (b->errors++ >= BENCH_MAX_ERRORS)
		return;
	fprintf(stderr, "equinox-bench: check failed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* splitmix64: fast, and the same sequence on every run. */
static inline uint64_t
bench_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint32_t
bench_rand_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((unsigned __int128)bench_rand(s) * n) >> 64);
}

static inline uint32_t
gen_next(struct bench *b, struct bench_gen *g)
{
	uint32_t idx;

	switch (g->pattern) {
	case PATTERN_UNIFORM:
		return bench_rand_below(&g->rng, b->o.flows);
	case PATTERN_ZIPF:
		idx = b->zipf_seq[g->next];
		if (++g->next == b->n_zipf)
			g->next = 0;
		return idx;
	case PATTERN_SEQ:
	case PATTERN_NEW:
	default:
		return (uint32_t)g->next++;
	}
}

/*
 * Flow i is client 10.(i>>16).(i>>8).i, port 1024 + (i>>24), to the VIP:
 * 16M flows differ by address alone and the new-flow runs never repeat one.
 */
static inline void
flow_tuple(uint32_t idx, uint8_t src[4], uint16_t *sport)
{
	src[0] = 10;
	src[1] = (uint8_t)(idx >> 16);
	src[2] = (uint8_t)(idx >> 8);
	src[3] = (uint8_t)idx;
	*sport = (uint16_t)(BENCH_SPORT_BASE + (idx >> 24));
}

static void
template_build(uint8_t *f)
{
	uint8_t *ip = f + RTE_ETHER_HDR_LEN, *tcp = ip + 20;

	memset(f, 0, BENCH_FRAME_LEN);
	net_eth_write(f, port_mac, client_mac, NET_ETHERTYPE_IP4);
	ip[0] = 0x45;
	net_put16(ip + 2, 40);
	ip[6] = 0x40; /* DF, as TCP stacks send */
	ip[8] = 64;
	ip[9] = NET_PROTO_TCP;
	memcpy(ip + 16, vip_ip, 4);
	net_put16(tcp + 2, BENCH_VIP_PORT);
	net_put32(tcp + 4, 1);
	tcp[12] = 0x50;
	net_put16(tcp + 14, 65535);
}

/* Make m a fresh 60-byte frame of flow idx, as if the NIC had just received it. */
static inline void
frame_write(struct bench *b, struct rte_mbuf *m, uint32_t idx, uint8_t tcp_flags)
{
	uint8_t *d, *ip, *tcp;
	uint16_t sport;

	rte_pktmbuf_reset(m);
	m->data_len = BENCH_FRAME_LEN;
	m->pkt_len = BENCH_FRAME_LEN;
	d = rte_pktmbuf_mtod(m, uint8_t *);
	memcpy(d, b->tmpl, BENCH_FRAME_LEN);
	ip = d + RTE_ETHER_HDR_LEN;
	tcp = ip + 20;
	flow_tuple(idx, ip + 12, &sport);
	net_put16(tcp, sport);
	tcp[13] = tcp_flags;
	net_put16(ip + 10, net_ip4_hdr_csum(ip, 20));
}

/* Untimed: give the RX ring n frames, reusing what came out of the TX ring. */
static int
refill(struct bench *b, struct bench_gen *g, unsigned int n)
{
	struct rte_mbuf **m = b->stash;
	unsigned int i;

	if (b->n_stash < n) {
		if (rte_pktmbuf_alloc_bulk(b->pool, m + b->n_stash, n - b->n_stash) != 0)
			return -ENOMEM;
		b->n_stash = n;
	}
	for (i = 0; i < n; i++)
		frame_write(b, m[i], gen_next(b, g), g->tcp_flags);
	if (rte_ring_sp_enqueue_bulk(b->rx_ring, (void **)m, n, NULL) != n)
		return -ENOBUFS;
	memmove(m, m + n, (b->n_stash - n) * sizeof(*m));
	b->n_stash -= n;
	return 0;
}

/* The backend (last octet) Maglev gives flow idx in the published state. */
static uint8_t
maglev_expect(uint32_t idx)
{
	const struct eqx_state *st = eqx.state;
	const struct eqx_vip *v = &st->vips[0];
	const struct eqx_backend *be;
	struct flow_key k;
	uint16_t sport;
	uint32_t id;

	memset(&k, 0, sizeof(k));
	k.family = 4;
	k.proto = NET_PROTO_TCP;
	flow_tuple(idx, k.src, &sport);
	k.sport = sport;
	k.dport = BENCH_VIP_PORT;
	memcpy(k.dst, vip_ip, 4);
	id = maglev_lookup(v->maglev->slots, v->maglev->size, flow_hash(&k));
	be = id < EQX_MAX_BACKEND_IDS ? st->backend_by_id[id] : NULL;
	return be != NULL ? be->addr[3] : 0;
}

/*
 * A frame equinox sent must be IPIP from the port address to the backend
 * Maglev picks for its flow, to that backend's MAC, with the inner packet
 * unchanged. Returns 0 and the flow index and backend octet, or -1.
 */
static int
check_frame(struct bench *b, const struct rte_mbuf *m, uint32_t *idx, uint8_t *backend)
{
	const uint8_t *o = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *ip = o + RTE_ETHER_HDR_LEN, *in = ip + 20, *tcp = in + 20;
	const char *why = NULL;
	uint8_t last = ip[19];
	uint32_t i;

	if (rte_pktmbuf_pkt_len(m) != BENCH_TX_LEN || m->data_len != BENCH_TX_LEN)
		why = "length";
	else if (net_get16(o + 12) != NET_ETHERTYPE_IP4 || memcmp(o + 6, port_mac, 6) != 0)
		why = "Ethernet header";
	else if (ip[0] != 0x45 || ip[9] != NET_PROTO_IPIP || net_get16(ip + 2) != 60)
		why = "outer header is not IPIP of 60 bytes";
	else if (net_csum_fold(net_csum_partial(ip, 20, 0)) != 0)
		why = "outer IPv4 checksum";
	else if (memcmp(ip + 12, port_ip, 4) != 0 || memcmp(ip + 16, port_ip, 3) != 0 ||
		 last < BENCH_BACKEND_FIRST || last >= BENCH_BACKEND_FIRST + BENCH_BACKENDS)
		why = "outer addresses are not port -> one of the 10 backends";
	else if (o[5] != last || memcmp(o, client_mac, 5) != 0)
		why = "destination MAC is not the backend's neighbour entry";
	else if (in[0] != 0x45 || in[9] != NET_PROTO_TCP || memcmp(in + 16, vip_ip, 4) != 0 ||
		 net_get16(tcp + 2) != BENCH_VIP_PORT || in[12] != 10)
		why = "inner packet changed";
	if (why != NULL) {
		bench_error(b, "TX frame: %s", why);
		return -1;
	}
	i = (uint32_t)in[13] << 16 | (uint32_t)in[14] << 8 | in[15] |
	    (uint32_t)(net_get16(tcp) - BENCH_SPORT_BASE) << 24;
	if (maglev_expect(i) != last) {
		bench_error(b, "flow %u went to .%u, Maglev says .%u", i, last, maglev_expect(i));
		return -1;
	}
	if (i < b->o.flows && b->backend_of[i] != 0 && b->backend_of[i] != last) {
		bench_error(b, "flow %u went to .%u, before to .%u", i, last, b->backend_of[i]);
		return -1;
	}
	*idx = i;
	*backend = last;
	return 0;
}

/* Untimed: take back what was sent, checking as asked. */
static void
collect(struct bench *b, enum bench_verify v, bool pipeline)
{
	struct rte_mbuf **m = b->stash + b->n_stash;
	unsigned int n, i;
	uint32_t idx;
	uint8_t be;

	n = rte_ring_sc_dequeue_burst(b->tx_ring, (void **)m, BENCH_RING_SIZE - b->n_stash, NULL);
	b->n_stash += n;
	if (!pipeline) {
		b->d.base_out += n;
		return;
	}
	b->d.pipe_out += n;
	if (n == 0 || v == VERIFY_NONE)
		return;
	if (v == VERIFY_ALL) {
		for (i = 0; i < n; i++) {
			if (check_frame(b, m[i], &idx, &be) == 0 && idx < b->o.flows)
				b->backend_of[idx] = be;
		}
		b->d.sampled += n;
		return;
	}
	if (check_frame(b, m[b->sample_pos++ % n], &idx, &be) == 0)
		b->d.sampled++;
}

/* io-forwarding: what any DPDK application pays to move the frames at all. */
static void
io_fwd(struct bench *b, unsigned int bursts)
{
	struct rte_mbuf *pkts[EQX_BURST];
	uint16_t n, sent;
	unsigned int i;

	for (i = 0; i < bursts; i++) {
		n = rte_eth_rx_burst(b->port_id, 0, pkts, EQX_BURST);
		sent = rte_eth_tx_burst(b->port_id, 0, pkts, n);
		if (unlikely(sent < n))
			rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}

/* One batch: refill (untimed), run (timed), take back (untimed). TSC cycles. */
static uint64_t
run_batch(struct bench *b, struct bench_gen *g, unsigned int n, bool pipeline, enum bench_verify v)
{
	unsigned int bursts = (n + EQX_BURST - 1) / EQX_BURST, i;
	uint64_t t0, t1;

	if (refill(b, g, n) != 0) {
		bench_error(b, "could not refill the RX ring");
		return 0;
	}
	t0 = rte_rdtsc_precise();
	if (pipeline) {
		for (i = 0; i < bursts; i++)
			eqx_worker_poll(&b->ctx);
	} else {
		io_fwd(b, bursts);
	}
	t1 = rte_rdtsc_precise();
	collect(b, v, pipeline);
	return t1 - t0;
}

static void
stats_snap(const struct bench *b, struct bench_delta *s)
{
	const struct eqx_worker_stats *ws = &b->w->stats;
	const struct flow_stats *fs = flow_table_stats(b->w->flows);
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->rx = ws->rx_packets;
	s->tx = ws->tx_packets;
	/* A full flow table is counted there too, but its frame is forwarded all the same. */
	for (i = 0; i < EQX_DROP_MAX; i++)
		if (i != EQX_DROP_FLOW_TABLE_FULL)
			s->drops += ws->drops[i];
	s->hits = ws->flow_hits;
	s->misses = ws->flow_misses;
	s->to_control = ws->to_control;
	s->inserts = fs->inserts;
	s->evictions = fs->evictions;
	s->full = fs->full;
}

/* The worker's counters since `before`, with collect()'s own counts. */
static void
stats_since(const struct bench *b, const struct bench_delta *before, struct bench_delta *d)
{
	struct bench_delta now;

	stats_snap(b, &now);
	d->rx = now.rx - before->rx;
	d->tx = now.tx - before->tx;
	d->drops = now.drops - before->drops;
	d->hits = now.hits - before->hits;
	d->misses = now.misses - before->misses;
	d->to_control = now.to_control - before->to_control;
	d->inserts = now.inserts - before->inserts;
	d->evictions = now.evictions - before->evictions;
	d->full = now.full - before->full;
	d->pipe_out = b->d.pipe_out;
	d->base_out = b->d.base_out;
	d->sampled = b->d.sampled;
}

/* The names of the drop counters that are not zero, for a failure message. */
static const char *
drop_reasons(const struct bench *b)
{
	static char buf[256];
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < EQX_DROP_MAX && len < sizeof(buf); i++)
		if (b->w->stats.drops[i] != 0)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
						len ? " " : "", eqx_drop_name(i));
	return buf;
}

/* Every frame received was sent, nothing dropped, nothing went to control. */
static void
check_conservation(struct bench *b, const char *what, const struct bench_delta *d, uint64_t sent)
{
	if (d->rx != sent || d->tx != sent || d->pipe_out != sent)
		bench_error(b,
			    "%s: %" PRIu64 " frames in, worker counted %" PRIu64 " rx and %" PRIu64
			    " tx, %" PRIu64 " came out",
			    what, sent, d->rx, d->tx, d->pipe_out);
	if (d->drops != 0 || d->to_control != 0)
		bench_error(b, "%s: %" PRIu64 " drops (%s), %" PRIu64 " frames to control", what,
			    d->drops, drop_reasons(b), d->to_control);
}

/* Untimed pass of n frames through the pipeline; returns its counters. */
static void
warm_pass(struct bench *b, struct bench_gen *g, uint64_t n, enum bench_verify v,
	  struct bench_delta *d)
{
	struct bench_delta before;
	uint64_t done;

	memset(&b->d, 0, sizeof(b->d));
	stats_snap(b, &before);
	for (done = 0; done < n; done += BENCH_BATCH)
		run_batch(b, g, (unsigned int)RTE_MIN((uint64_t)BENCH_BATCH, n - done), true, v);
	stats_since(b, &before, d);
}

/* Untimed: open every flow (SYN), then complete it (ACK), checking every frame. */
static void
insert_established(struct bench *b)
{
	struct bench_gen g = { .pattern = PATTERN_SEQ, .tcp_flags = NET_TCP_SYN };
	struct bench_delta d;

	warm_pass(b, &g, b->o.flows, VERIFY_ALL, &d);
	check_conservation(b, "insertion (SYN)", &d, b->o.flows);
	g = (struct bench_gen){ .pattern = PATTERN_SEQ, .tcp_flags = NET_TCP_ACK };
	warm_pass(b, &g, b->o.flows, VERIFY_ALL, &d);
	check_conservation(b, "insertion (ACK)", &d, b->o.flows);
	if (d.hits != b->o.flows)
		bench_error(b, "insertion: %" PRIu64 " of %u flows found again", d.hits,
			    b->o.flows);
}

/* How many of the established flows are still in the table (direct lookups). */
static uint32_t
established_left(struct bench *b)
{
	struct flow_entry *e;
	struct flow_key k;
	uint32_t i, n = 0;
	uint16_t sport;

	memset(&k, 0, sizeof(k));
	k.family = 4;
	k.proto = NET_PROTO_TCP;
	k.dport = BENCH_VIP_PORT;
	memcpy(k.dst, vip_ip, 4);
	for (i = 0; i < b->o.flows; i++) {
		flow_tuple(i, k.src, &sport);
		k.sport = sport;
		e = flow_lookup(b->w->flows, &k, flow_hash(&k), b->ctx.now);
		n += e != NULL && e->state == FLOW_STATE_EST;
	}
	return n;
}

/* Room for the per-round figures of a measurement of packets in rounds of `round`. */
static int
result_rounds(struct bench_result *r, uint64_t round, uint64_t packets)
{
	r->round = round;
	r->n_rounds = (unsigned int)((packets + round - 1) / round);
	r->pipe = calloc(r->n_rounds, sizeof(*r->pipe));
	r->base = calloc(r->n_rounds, sizeof(*r->base));
	return r->pipe == NULL || r->base == NULL ? -ENOMEM : 0;
}

/*
 * Alternate rounds of the pipeline and of io-fwd over the same frames, so a
 * noisy neighbour hits both alike. With keep_room the flow table is emptied
 * (untimed) before it passes 7/8 full, so every insert finds room.
 */
static int
measure(struct bench *b, const struct bench_gen *start, enum bench_verify v, bool keep_room,
	struct bench_result *r)
{
	struct bench_gen gp = *start, gb = *start;
	uint32_t room = b->flow_cap / 8 * 7;
	struct bench_delta before;
	uint64_t done, cp, cb;
	unsigned int k;

	if (result_rounds(r, b->o.round, b->o.packets) != 0)
		return -ENOMEM;
	memset(&b->d, 0, sizeof(b->d));
	stats_snap(b, &before);
	for (k = 0; k < r->n_rounds; k++) {
		cp = 0;
		cb = 0;
		for (done = 0; done < r->round; done += BENCH_BATCH) {
			if (keep_room && flow_table_count(b->w->flows) + BENCH_BATCH > room)
				flow_flush(b->w->flows, UINT32_MAX);
			cp += run_batch(b, &gp, BENCH_BATCH, true, v);
		}
		for (done = 0; done < r->round; done += BENCH_BATCH)
			cb += run_batch(b, &gb, BENCH_BATCH, false, VERIFY_NONE);
		r->pipe[k] = (double)cp / (double)r->round;
		r->base[k] = (double)cb / (double)r->round;
	}
	stats_since(b, &before, &r->d);
	if (start->pattern == PATTERN_NEW)
		b->new_next = gp.next;
	check_conservation(b, r->key, &r->d, (uint64_t)r->n_rounds * r->round);
	if (r->d.base_out != (uint64_t)r->n_rounds * r->round)
		bench_error(b, "%s: io-fwd lost frames", r->key);
	return 0;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(const double *v, unsigned int n)
{
	double *s;
	double m;

	if (n == 0)
		return 0;
	s = malloc(n * sizeof(*s));
	if (s == NULL)
		return v[0];
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), dbl_cmp);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

static double
vmin(const double *v, unsigned int n)
{
	double m = v[0];
	unsigned int i;

	for (i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double
vmax(const double *v, unsigned int n)
{
	double m = v[0];
	unsigned int i;

	for (i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* ---- output ---- */

static double
cyc_to_ns(const struct bench *b, double cycles)
{
	return cycles * 1e9 / (double)b->tsc_hz;
}

static void
csv_row(const char *figure, const char *metric, double value, const char *unit, const char *target)
{
	if (fabs(value) >= 1e5)
		printf("%s,%s,%.0f,%s,%s\n", figure, metric, value, unit, target);
	else
		printf("%s,%s,%.4g,%s,%s\n", figure, metric, value, unit, target);
}

/* Lines of one figure; new_flows reports flows/s where the others report Mpps. */
static void
print_result(const struct bench *b, const char *title, const struct bench_result *r, bool new_flows,
	     bool targeted)
{
	double pc = median(r->pipe, r->n_rounds), bc = median(r->base, r->n_rounds);
	double pns = cyc_to_ns(b, pc), bns = cyc_to_ns(b, bc);
	const struct bench_delta *d = &r->d;
	char target[160] = "";
	bool met;

	if (targeted && new_flows) {
		met = 1e3 / pns >= TARGET_NEW_MFPS;
		snprintf(target, sizeof(target), "target >= %.0fM flows/s per core: %s",
			 TARGET_NEW_MFPS, met ? "met" : "missed");
	} else if (targeted) {
		met = pns <= TARGET_EST_NS;
		snprintf(target, sizeof(target),
			 "target <= %.0f ns/packet per core (Katran XDP "
			 "101-119 ns, Maglev ~350 ns): %s",
			 TARGET_EST_NS, met ? "met" : "missed");
	}
	if (b->o.csv) {
		char t[32] = "";

		if (targeted && new_flows)
			snprintf(t, sizeof(t), ">=%.0f", TARGET_NEW_MFPS * 1e6);
		else if (targeted)
			snprintf(t, sizeof(t), "<=%.0f", TARGET_EST_NS);
		if (new_flows)
			csv_row(r->key, "pipeline_flows_per_s", 1e9 / pns, "flows/s", t);
		else
			csv_row(r->key, "pipeline_mpps", 1e3 / pns, "Mpps", "");
		csv_row(r->key, "pipeline_ns_per_packet", pns, "ns", new_flows ? "" : t);
		csv_row(r->key, "pipeline_cycles_per_packet", pc, "cycles", "");
		csv_row(r->key, "iofwd_mpps", 1e3 / bns, "Mpps", "");
		csv_row(r->key, "iofwd_ns_per_packet", bns, "ns", "");
		csv_row(r->key, "iofwd_cycles_per_packet", bc, "cycles", "");
		csv_row(r->key, "ratio_pipeline_to_iofwd_throughput", bns / pns, "", "");
		return;
	}
	if (title[0] != '\0')
		printf("%s\n", title);
	if (new_flows)
		printf("   pipeline  %7.2fM flows/s  %7.1f ns/packet  %7.1f cycles/packet%s%s\n",
		       1e3 / pns, pns, pc, targeted ? "   " : "", target);
	else
		printf("   pipeline  %7.2f Mpps      %7.1f ns/packet  %7.1f cycles/packet%s%s\n",
		       1e3 / pns, pns, pc, targeted ? "   " : "", target);
	printf("   io-fwd    %7.2f Mpps      %7.1f ns/packet  %7.1f cycles/packet\n", 1e3 / bns,
	       bns, bc);
	printf("   ratio     pipeline/io-fwd throughput %.3f (%.2fx the time per packet; "
	       "%.1f ns/packet above io-fwd)\n",
	       bns / pns, pns / bns, pns - bns);
	printf("   rounds    %u x %" PRIu64 " packets, median shown; pipeline %.1f..%.1f ns, "
	       "io-fwd %.1f..%.1f ns\n",
	       r->n_rounds, r->round, cyc_to_ns(b, vmin(r->pipe, r->n_rounds)),
	       cyc_to_ns(b, vmax(r->pipe, r->n_rounds)), cyc_to_ns(b, vmin(r->base, r->n_rounds)),
	       cyc_to_ns(b, vmax(r->base, r->n_rounds)));
	printf("   checked   %" PRIu64 " rx = %" PRIu64 " tx, %" PRIu64 " drops; flow hits %" PRIu64
	       ", misses %" PRIu64 ", inserts %" PRIu64 ", evictions %" PRIu64 ", refused %" PRIu64
	       "; %" PRIu64 " TX frames checked against Maglev\n",
	       d->rx, d->tx, d->drops, d->hits, d->misses, d->inserts, d->evictions, d->full,
	       d->sampled);
}

/* ---- 6. distributed mode: what an active transition adds per packet ---- */

static struct cfg *config_load_as(struct bench *b, bool distributed, unsigned int n_backends);

/* Untimed: take the records the worker sent up, as the cluster agent does. */
static uint64_t
cluster_drain(struct bench *b)
{
	struct cluster_rec r[64];
	uint64_t n = 0;
	unsigned int got;

	while ((got = rte_ring_sc_dequeue_burst_elem(b->w->cl_events, r, sizeof(r[0]), RTE_DIM(r),
						     NULL)) > 0)
		n += got;
	return n;
}

/*
 * The state a member of a two-member cluster runs during a transition: the
 * agent's rings, cluster generation 1 with nine of the backends, then
 * generation 2 with all ten (a backend added, the everyday change), whose
 * VIP keeps generation 1's Maglev table as its previous one. *prev: that
 * table, which the measurement takes away and puts back round by round.
 */
static int
cluster_setup(struct bench *b, struct eqx_maglev **prev)
{
	int socket = (int)rte_socket_id();
	struct cfg_errors errs = { 0 };
	const struct eqx_state *st;
	struct cfg *cfg;
	unsigned int n, i;

	b->w->cl_events =
		rte_ring_create_elem("bench_clev", sizeof(struct cluster_rec), BENCH_CL_RING,
				     socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	b->w->cl_installs =
		rte_ring_create_elem("bench_clins", sizeof(struct eqx_cl_install), BENCH_CL_RING,
				     socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (b->w->cl_events == NULL || b->w->cl_installs == NULL)
		return -ENOMEM;
	for (n = BENCH_BACKENDS - 1; n <= BENCH_BACKENDS; n++) {
		cfg = config_load_as(b, true, n);
		if (cfg == NULL)
			return -EINVAL;
		eqx.cluster_gen = n - (BENCH_BACKENDS - 2);
		eqx.cluster_prev = n == BENCH_BACKENDS ? EQX_CL_PREV_SHIFT : EQX_CL_PREV_DROP;
		if (eqx_state_apply(&eqx, cfg, &errs) != 0) {
			for (i = 0; i < errs.n && i < CFG_MAX_ERRORS; i++)
				fprintf(stderr, "equinox-bench: cluster config: %s\n", errs.msg[i]);
			return -EINVAL;
		}
	}
	st = eqx.state;
	if (!st->cluster || st->vips[0].prev_maglev == NULL) {
		fprintf(stderr, "equinox-bench: the cluster state has no transition\n");
		return -EINVAL;
	}
	*prev = st->vips[0].prev_maglev;
	return 0;
}

/*
 * Untimed: the walk a worker makes after a new cluster generation (every
 * flow compared with the new and the previous table), from its start to its
 * end; only the polls are timed. TSC cycles; *recs: the records it sent up.
 */
static uint64_t
cluster_walk_time(struct bench *b, uint64_t *recs)
{
	uint64_t cyc = 0, t0;

	cluster_drain(b);
	*recs = 0;
	b->ctx.cluster_walk_gen = 0; /* as if the generation had just changed */
	do {
		t0 = rte_rdtsc_precise();
		eqx_worker_poll(&b->ctx);
		cyc += rte_rdtsc_precise() - t0;
		*recs += cluster_drain(b);
	} while (b->ctx.cluster_walking);
	return cyc;
}

/*
 * Each round runs the cluster state without its previous table (a member
 * between transitions: the baseline) and with it (transition active), on
 * the same frame sequence (new flows: the next never-seen ones). r->pipe
 * holds the baseline's cycles per packet, r->base the transition's.
 */
static int
transition_measure(struct bench *b, const struct bench_gen *start, bool keep_room,
		   struct eqx_maglev *prev, struct bench_result *r, uint64_t *recs)
{
	struct bench_gen g0 = *start, g1 = *start;
	struct bench_gen *gt = start->pattern == PATTERN_NEW ? &g0 : &g1;
	struct eqx_vip *v = &eqx.state->vips[0];
	uint32_t room = b->flow_cap / 8 * 7;
	struct bench_delta before;
	uint64_t done, c0, c1;
	unsigned int k, t, i;

	/*
	 * Short rounds, many pairs: the difference sought is a few ns under a
	 * round-to-round spread of tens (memory latency on a shared host), and the
	 * median of many paired differences holds still where two medians do not.
	 */
	if (result_rounds(r, RTE_MIN(b->o.round, (uint64_t)BENCH_TRANSITION_ROUND), b->o.packets) !=
	    0)
		return -ENOMEM;
	*recs = 0;
	memset(&b->d, 0, sizeof(b->d));
	stats_snap(b, &before);
	for (k = 0; k < r->n_rounds; k++) {
		/* Which goes first alternates too, so neither always finds the caches warm. */
		for (i = 0; i < 2; i++) {
			t = i ^ (k & 1);
			v->prev_maglev = t == 0 ? NULL : prev;
			c0 = 0;
			for (done = 0; done < r->round; done += BENCH_BATCH) {
				if (keep_room && flow_table_count(b->w->flows) + BENCH_BATCH > room)
					flow_flush(b->w->flows, UINT32_MAX);
				c0 += run_batch(b, t == 0 ? &g0 : gt, BENCH_BATCH, true,
						VERIFY_SAMPLE);
				c1 = cluster_drain(b);
				if (t == 1)
					*recs += c1;
				else if (c1 != 0)
					bench_error(b, "%s: records sent up without a transition",
						    r->key);
			}
			if (t == 0)
				r->pipe[k] = (double)c0 / (double)r->round;
			else
				r->base[k] = (double)c0 / (double)r->round;
		}
	}
	v->prev_maglev = prev;
	stats_since(b, &before, &r->d);
	if (start->pattern == PATTERN_NEW)
		b->new_next = g0.next;
	check_conservation(b, r->key, &r->d, (uint64_t)r->n_rounds * r->round * 2);
	return 0;
}

static void
print_transition(const struct bench *b, const char *title, const struct bench_result *r,
		 uint64_t recs)
{
	double *diff = calloc(r->n_rounds, sizeof(*diff));
	double bns = cyc_to_ns(b, median(r->pipe, r->n_rounds));
	double tns = cyc_to_ns(b, median(r->base, r->n_rounds));
	double dns, dmin, dmax;
	uint64_t pkts = (uint64_t)r->n_rounds * r->round;
	unsigned int k;

	if (diff == NULL)
		return;
	for (k = 0; k < r->n_rounds; k++)
		diff[k] = r->base[k] - r->pipe[k];
	dmin = cyc_to_ns(b, vmin(diff, r->n_rounds));
	dmax = cyc_to_ns(b, vmax(diff, r->n_rounds));
	/* The median of the rounds' differences: each pair ran back to back. */
	dns = cyc_to_ns(b, median(diff, r->n_rounds));
	free(diff);
	if (b->o.csv) {
		char t[32];

		snprintf(t, sizeof(t), "<=%.0f", TARGET_TRANSITION_NS);
		csv_row(r->key, "baseline_ns_per_packet", bns, "ns", "");
		csv_row(r->key, "transition_ns_per_packet", tns, "ns", "");
		csv_row(r->key, "transition_extra_ns_per_packet", dns, "ns", t);
		csv_row(r->key, "records_per_packet", (double)recs / (double)pkts, "", "");
		return;
	}
	printf("%s\n", title);
	printf("   baseline    %7.1f ns/packet (%.2f Mpps)   transition %7.1f ns/packet "
	       "(%.2f Mpps)\n",
	       bns, 1e3 / bns, tns, 1e3 / tns);
	printf("   extra       %+7.1f ns/packet (median of the rounds' differences; %.1f..%.1f)"
	       "   target <= %.0f ns/packet: %s\n",
	       dns, dmin, dmax, TARGET_TRANSITION_NS,
	       dns <= TARGET_TRANSITION_NS ? "met" : "missed");
	printf("   checked     %u x 2 x %" PRIu64 " packets, %" PRIu64 " drops, %" PRIu64
	       " TX frames checked against Maglev; %" PRIu64 " records sent up in the "
	       "transition rounds (%.1f%% of its packets)\n",
	       r->n_rounds, r->round, r->d.drops, r->d.sampled, recs,
	       100.0 * (double)recs / (double)pkts);
}

/* ---- set-up ---- */

static void
read_cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");
	char *p;

	snprintf(buf, len, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "model name", 10) != 0 || (p = strchr(line, ':')) == NULL)
			continue;
		p += strspn(p + 1, " \t") + 1;
		p[strcspn(p, "\n")] = '\0';
		snprintf(buf, len, "%s", p);
		break;
	}
	fclose(f);
}

static void
read_loadavg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(buf, len, "?");
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	/* Keep the three averages only. */
	{
		char *p = buf;
		int spaces = 0;

		for (; *p != '\0'; p++)
			if (*p == ' ' && ++spaces == 3) {
				*p = '\0';
				break;
			}
	}
}

/* CPU time the machine, our core and this process used: how noisy a run was. */
struct bench_cpu {
	double busy_all; /* seconds, all CPUs */
	double steal_all;
	double busy_core;
	double self;
	double wall;
};

static bool
stat_line(const char *want, double *busy, double *steal)
{
	unsigned long long v[8] = { 0 };
	double tick = (double)sysconf(_SC_CLK_TCK);
	char line[512], name[32];
	bool found = false;
	FILE *f = fopen("/proc/stat", "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%31s %llu %llu %llu %llu %llu %llu %llu %llu", name, &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) >= 8 &&
		    strcmp(name, want) == 0)
			found = true;
	}
	fclose(f);
	/* user + nice + system + irq + softirq; steal apart */
	*busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / tick;
	*steal = (double)v[7] / tick;
	return found;
}

static void
cpu_snap(unsigned int core, struct bench_cpu *c)
{
	struct timespec ts;
	struct rusage ru;
	char name[16];
	double steal;

	memset(c, 0, sizeof(*c));
	stat_line("cpu", &c->busy_all, &c->steal_all);
	snprintf(name, sizeof(name), "cpu%u", core);
	stat_line(name, &c->busy_core, &steal);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		c->self = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->wall = (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Bytes of the mapping holding addr that are on transparent huge pages. */
static size_t
anon_huge_bytes(const void *addr)
{
	uintptr_t a = (uintptr_t)addr, lo, hi;
	bool in = false;
	char line[512];
	size_t kb, huge = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %zu kB", &kb) == 1)
			huge += kb * 1024;
	}
	fclose(f);
	return huge;
}

/*
 * Flow table memory. The appliance takes it from EAL hugepages; under
 * --no-huge EAL memory is 4 KiB pages, which would make every flow lookup a
 * TLB miss as well, so by default it comes from anonymous memory on
 * transparent 2 MiB pages instead.
 */
static void *
flow_mem_alloc(struct bench_mem *mem, size_t sz, bool eal)
{
	uint8_t *p;

	memset(mem, 0, sizeof(*mem));
	mem->eal = eal;
	if (eal) {
		mem->base = rte_zmalloc("bench_flows", sz, RTE_CACHE_LINE_SIZE);
		return mem->base;
	}
	mem->len = sz + BENCH_HUGE_PAGE;
	p = mmap(NULL, mem->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	mem->base = p;
	p = RTE_PTR_ALIGN_CEIL(p, BENCH_HUGE_PAGE);
	/* Without THP this fails and the table is on 4 KiB pages, as reported. */
	(void)madvise(p, sz, MADV_HUGEPAGE);
	return p;
}

static void
flow_mem_free(struct bench_mem *mem)
{
	if (mem->base == NULL)
		return;
	if (mem->eal)
		rte_free(mem->base);
	else
		munmap(mem->base, mem->len);
	mem->base = NULL;
}

/* Flow table slots that hold n flows below the 15/16 load where cuckoo moves stop. */
static uint32_t
slots_for(uint32_t n)
{
	uint64_t need = (uint64_t)n + n / 15 + 1, cap = 4096;

	while (cap < need)
		cap <<= 1;
	return (uint32_t)cap;
}

/*
 * The benchmark's config: one port, one TCP VIP, ten IPIP backends with static MACs.
 * distributed: the same as member 1 of a two-member cluster (figure 6), with the
 * VIP's first n_backends backends only.
 */
static struct cfg *
config_load_as(struct bench *b, bool distributed, unsigned int n_backends)
{
	char neigh[1024], backends[1024], text[4096], cluster[512] = "";
	struct cfg_errors errs = { 0 };
	size_t nl = 0, bl = 0;
	struct cfg *c;
	unsigned int i;

	for (i = 0; i < BENCH_BACKENDS; i++) {
		unsigned int o = BENCH_BACKEND_FIRST + i;

		nl += (size_t)snprintf(neigh + nl, sizeof(neigh) - nl,
				       "%s{ \"address\": \"192.168.100.%u\", "
				       "\"mac\": \"02:00:00:00:00:%02x\" }",
				       i ? ", " : "", o, o);
		if (i < n_backends)
			bl += (size_t)snprintf(backends + bl, sizeof(backends) - bl,
					       "%s{ \"address\": \"192.168.100.%u\" }",
					       i ? ", " : "", o);
	}
	if (distributed)
		snprintf(cluster, sizeof(cluster),
			 "  \"cluster\": { \"mode\": \"distributed\", \"key\": \"%s\","
			 "    \"members\": [ { \"id\": 1, \"address\": \"192.168.100.10\" },"
			 "                   { \"id\": 2, \"address\": \"192.168.100.11\" } ] },",
			 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	snprintf(text, sizeof(text),
		 "{ \"instance\": { \"name\": \"bench\"%s }, %s"
		 "  \"dataplane\": { \"workers\": 1, \"idle\": \"busy\","
		 "    \"flow_table_size\": %u, \"mbufs\": %u },"
		 "  \"ports\": [ { \"name\": \"p0\", \"device\": \"net_ring_bench0\","
		 "    \"addresses\": [\"192.168.100.10/24\"], \"neighbours\": [ %s ] } ],"
		 "  \"vips\": [ { \"name\": \"web\", \"address\": \"192.168.100.100\","
		 "    \"protocol\": \"tcp\", \"port\": %u, \"forwarding\": \"ipip\","
		 "    \"table_size\": %u, \"backends\": [ %s ] } ] }",
		 distributed ? ", \"id\": 1" : "", cluster, b->flow_cap, BENCH_MBUFS, neigh,
		 BENCH_VIP_PORT, BENCH_MAGLEV_SIZE, backends);
	c = cfg_load_json(text, strlen(text), &errs);
	if (c == NULL)
		for (i = 0; i < errs.n && i < CFG_MAX_ERRORS; i++)
			fprintf(stderr, "equinox-bench: config: %s\n", errs.msg[i]);
	return c;
}

static struct cfg *
config_load(struct bench *b)
{
	return config_load_as(b, false, BENCH_BACKENDS);
}

/* A flow table in EAL memory, as src/main.c makes them. */
static struct flow_table *
table_create(uint32_t n, const struct flow_timeouts *to)
{
	size_t sz = flow_table_memsize(n);
	void *mem = rte_zmalloc("bench_table", sz, RTE_CACHE_LINE_SIZE);

	return mem != NULL ? flow_table_init(mem, sz, n, to) : NULL;
}

/*
 * The worker as src/main.c's workers_init builds it (keep the two in step),
 * except that the flow table may sit on transparent huge pages.
 */
static int
worker_init(struct bench *b, const struct cfg *cfg)
{
	const struct flow_timeouts to = {
		.syn = cfg->dataplane.timeouts.tcp_syn_s,
		.established = cfg->dataplane.timeouts.tcp_established_s,
		.closing = cfg->dataplane.timeouts.tcp_closing_s,
		.udp = cfg->dataplane.timeouts.udp_s,
	};
	const struct flow_timeouts pin_to = { 86400, 86400, 86400, 86400 };
	const struct flow_timeouts frag_to = { EQX_FRAG_TIMEOUT_S, EQX_FRAG_TIMEOUT_S,
					       EQX_FRAG_TIMEOUT_S, EQX_FRAG_TIMEOUT_S };
	int socket = (int)rte_socket_id();
	struct eqx_worker *w;
	size_t sz;
	void *mem;

	eqx.workers = rte_zmalloc("bench_workers", sizeof(*eqx.workers), RTE_CACHE_LINE_SIZE);
	sz = rte_rcu_qsbr_get_memsize(1);
	eqx.qsbr = rte_zmalloc("bench_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (eqx.workers == NULL || eqx.qsbr == NULL || rte_rcu_qsbr_init(eqx.qsbr, 1) != 0)
		return -ENOMEM;
	w = &eqx.workers[0];
	w->id = 0;
	w->lcore = rte_lcore_id();
	w->to_ctrl =
		rte_ring_create("bench_up", EQX_RING_SIZE, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->from_ctrl =
		rte_ring_create("bench_down", EQX_RING_SIZE, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->events = rte_ring_create_elem("bench_ev", sizeof(struct eqx_event), EQX_RING_SIZE,
					 socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->installs = rte_ring_create_elem("bench_inst", sizeof(struct eqx_event), EQX_RING_SIZE,
					   socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->relay = rte_ring_create("bench_relay", EQX_RING_SIZE, socket,
				   RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->relay == NULL || eqx_mbuf_fields_init() != 0)
		return -ENOMEM;
	w->affinity = table_create(RTE_MAX(cfg->dataplane.flow_table_size / 4, 1024u), &pin_to);
	w->frags = table_create(EQX_FRAG_TABLE_SIZE, &frag_to);
	if (w->to_ctrl == NULL || w->from_ctrl == NULL || w->events == NULL ||
	    w->installs == NULL || w->affinity == NULL || w->frags == NULL)
		return -ENOMEM;

	b->flow_mem_size = flow_table_memsize(b->flow_cap);
	mem = flow_mem_alloc(&b->flow_mem, b->flow_mem_size, b->o.eal_flow_mem);
	if (mem == NULL)
		return -ENOMEM;
	w->flows = flow_table_init(mem, b->flow_mem_size, b->flow_cap, &to);
	if (w->flows == NULL)
		return -errno;
	flow_table_set_release(w->flows, eqx_dp_flow_released, w);
	b->flow_mem_huge = b->o.eal_flow_mem ? 0 : anon_huge_bytes(mem);
	b->w = w;
	return 0;
}

/* The app as src/main.c builds it, on one net_ring port, without lcores. */
static int
setup_app(struct bench *b)
{
	struct rte_eth_conf conf = { 0 };
	struct cfg_errors errs = { 0 };
	struct cfg *cfg;
	unsigned int i;
	int port, rc;

	b->tsc_hz = rte_get_tsc_hz();
	b->flow_cap = slots_for(b->o.flows);
	cfg = config_load(b);
	if (cfg == NULL)
		return -EINVAL;
	eqx.n_workers = 1;
	eqx.n_ports = 1;
	eqx.cfg = cfg;
	eqx.tsc_hz = b->tsc_hz;
	eqx.pool = rte_pktmbuf_pool_create("bench_pool", BENCH_MBUFS, 256, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (eqx.pool == NULL)
		goto fail;
	b->pool = eqx.pool;
	rc = worker_init(b, cfg);
	if (rc != 0) {
		fprintf(stderr, "equinox-bench: worker set-up failed: %s\n", strerror(-rc));
		goto fail_quiet;
	}

	b->rx_ring = rte_ring_create("bench_rx", BENCH_RING_SIZE, (int)rte_socket_id(),
				     RING_F_SP_ENQ | RING_F_SC_DEQ);
	b->tx_ring = rte_ring_create("bench_tx", BENCH_RING_SIZE, (int)rte_socket_id(),
				     RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (b->rx_ring == NULL || b->tx_ring == NULL)
		goto fail;
	port = rte_eth_from_rings("net_ring_bench0", &b->rx_ring, 1, &b->tx_ring, 1,
				  rte_socket_id());
	if (port < 0)
		goto fail;
	b->port_id = (uint16_t)port;
	if (rte_eth_dev_configure(b->port_id, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(b->port_id, 0, 64, 0, NULL, eqx.pool) != 0 ||
	    rte_eth_tx_queue_setup(b->port_id, 0, 64, 0, NULL) != 0 ||
	    rte_eth_dev_start(b->port_id) != 0)
		goto fail;
	eqx.ports[0].port_id = b->port_id;
	snprintf(eqx.ports[0].name, sizeof(eqx.ports[0].name), "p0");
	memcpy(eqx.ports[0].mac.addr_bytes, port_mac, 6);
	eqx.port_mtu[0] = 1500;

	/* The state takes the config over, or frees it on failure. */
	if (eqx_state_apply(&eqx, cfg, &errs) != 0) {
		eqx.cfg = NULL;
		for (i = 0; i < errs.n && i < CFG_MAX_ERRORS; i++)
			fprintf(stderr, "equinox-bench: config: %s\n", errs.msg[i]);
		return -EINVAL;
	}
	eqx_dp_ctx_init(&b->ctx, &eqx, b->w);
	template_build(b->tmpl);
	return 0;

fail:
	fprintf(stderr, "equinox-bench: set-up failed: %s\n", rte_strerror(rte_errno));
fail_quiet:
	eqx.cfg = NULL;
	cfg_free(cfg);
	return -ENODEV;
}

/*
 * Zipf(s) ranks by inverse transform with a guide table (O(1) a draw); rank
 * r is flow r, whose hash scatters it over the table like any other.
 */
static int
zipf_build(struct bench *b)
{
	uint32_t n = b->o.flows, i, k, *guide;
	uint64_t rng = 0x5eed2, top1 = 0, top1pct = 0;
	double *cdf, sum = 0, u;

	b->n_zipf = (uint32_t)RTE_MIN(b->o.packets, (uint64_t)BENCH_ZIPF_SEQ_MAX);
	b->zipf_seq = malloc((size_t)b->n_zipf * sizeof(*b->zipf_seq));
	cdf = malloc((size_t)n * sizeof(*cdf));
	guide = malloc((size_t)n * sizeof(*guide));
	if (b->zipf_seq == NULL || cdf == NULL || guide == NULL) {
		free(cdf);
		free(guide);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		sum += pow((double)i + 1, -BENCH_ZIPF_S);
		cdf[i] = sum;
	}
	for (i = 0, k = 0; i < n; i++) {
		cdf[i] /= sum;
		/* guide[j]: the first rank whose cdf reaches j / n */
		while (k < n && (double)k / n <= cdf[i])
			guide[k++] = i;
	}
	while (k < n)
		guide[k++] = n - 1;
	cdf[n - 1] = 1.0;
	for (i = 0; i < b->n_zipf; i++) {
		u = (double)(bench_rand(&rng) >> 11) * 0x1.0p-53;
		k = guide[(uint32_t)(u * n)];
		while (cdf[k] < u)
			k++;
		b->zipf_seq[i] = k;
		top1 += k == 0;
		top1pct += k < RTE_MAX(n / 100, 1u);
	}
	b->zipf_top1 = (double)top1 / b->n_zipf;
	b->zipf_top1pct = (double)top1pct / b->n_zipf;
	free(cdf);
	free(guide);
	return 0;
}

/* ---- Maglev and memory ---- */

struct maglev_figure {
	unsigned int n;
	double ms; /* median */
	double min_ms, max_ms;
};

static int
maglev_measure(struct bench *b, struct maglev_figure *f, unsigned int runs)
{
	struct maglev_backend *mb = calloc(f->n, sizeof(*mb));
	uint32_t *table = malloc(BENCH_MAGLEV_SIZE * sizeof(*table));
	uint32_t *slots = calloc(f->n, sizeof(*slots));
	double *ms = calloc(runs, sizeof(*ms));
	uint32_t lo = BENCH_MAGLEV_SIZE / f->n, hi = lo + 1;
	unsigned int i, r;
	uint64_t t0;
	int rc = -ENOMEM;

	if (mb == NULL || table == NULL || slots == NULL || ms == NULL)
		goto out;
	for (i = 0; i < f->n; i++) {
		mb[i].key[0] = 10;
		mb[i].key[1] = 1;
		mb[i].key[2] = (uint8_t)(i >> 8);
		mb[i].key[3] = (uint8_t)i;
		mb[i].key_len = 4;
		mb[i].weight = 1;
		mb[i].id = i;
	}
	for (r = 0; r < runs; r++) {
		t0 = rte_rdtsc_precise();
		rc = maglev_populate(mb, f->n, table, BENCH_MAGLEV_SIZE);
		ms[r] = (double)(rte_rdtsc_precise() - t0) * 1e3 / (double)b->tsc_hz;
		if (rc != 0) {
			bench_error(b, "maglev_populate(%u backends): %s", f->n, strerror(-rc));
			goto out;
		}
	}
	/* The paper's guarantee with equal weights: floor or ceil of size/n slots each. */
	for (i = 0; i < BENCH_MAGLEV_SIZE; i++) {
		if (table[i] >= f->n) {
			bench_error(b, "Maglev slot %u holds %u", i, table[i]);
			break;
		}
		slots[table[i]]++;
	}
	for (i = 0; i < f->n; i++) {
		if (slots[i] < lo || slots[i] > hi) {
			bench_error(b, "Maglev, %u backends: backend %u has %u slots", f->n, i,
				    slots[i]);
			break;
		}
	}
	f->ms = median(ms, runs);
	f->min_ms = vmin(ms, runs);
	f->max_ms = vmax(ms, runs);
	rc = 0;
out:
	free(mb);
	free(table);
	free(slots);
	free(ms);
	return rc;
}

/* Load (0..1) of an n-slot table when an insert first evicts or is refused. */
static double
fill_until_eviction(uint32_t n)
{
	size_t sz = flow_table_memsize(n);
	const struct flow_stats *fs;
	struct bench_mem mem;
	struct flow_table *t;
	struct flow_key k;
	double load = -1;
	uint16_t sport;
	uint32_t i, cap;
	void *p;

	p = flow_mem_alloc(&mem, sz, false);
	if (p == NULL)
		return -1;
	t = flow_table_init(p, sz, n, &bench_timeouts);
	if (t == NULL)
		goto out;
	cap = flow_table_capacity(t);
	fs = flow_table_stats(t);
	memset(&k, 0, sizeof(k));
	k.family = 4;
	k.proto = NET_PROTO_TCP;
	k.dport = BENCH_VIP_PORT;
	memcpy(k.dst, vip_ip, 4);
	for (i = 0; i < cap; i++) {
		flow_tuple(i, k.src, &sport);
		k.sport = sport;
		if (flow_insert(t, &k, flow_hash(&k), 1, false) == NULL || fs->evictions != 0)
			break;
	}
	load = (double)flow_table_count(t) / cap;
out:
	flow_mem_free(&mem);
	return load;
}

/*
 * Bytes a flow costs: the table's own figure (flow_table_memsize(n) / n,
 * FLOW_SLOT_SIZE a slot), and what n live flows really take, since inserts
 * evict once the table passes the measured load and sizes are powers of two.
 */
static void
print_memory(const struct bench *b, uint32_t n, double fill)
{
	size_t table = flow_table_memsize(n), sized;
	double bpf = (double)table / n;
	double max_load = fill > 0 ? fill : 15.0 / 16;
	uint32_t cap;
	char name[32], t[16];
	bool met;

	for (cap = 4096; (double)cap * max_load < n; cap <<= 1)
		;
	sized = flow_table_memsize(cap);
	/* The 128-byte table header is not a per-flow cost. */
	met = round(bpf * 10) / 10 <= TARGET_BYTES_PER_FLOW;
	snprintf(name, sizeof(name), "memory_%uk_flows", n / 1024);
	if (b->o.csv) {
		snprintf(t, sizeof(t), "<=%.0f", TARGET_BYTES_PER_FLOW);
		csv_row(name, "bytes_per_flow_slot", bpf, "bytes", t);
		csv_row(name, "load_at_first_eviction", max_load * 100, "%", "");
		csv_row(name, "bytes_per_live_flow_best", bpf / max_load, "bytes", "");
		csv_row(name, "bytes_per_live_flow", (double)sized / n, "bytes", "");
		csv_row(name, "worker_flow_memory", (double)sized / BENCH_MiB, "MiB", "");
		return;
	}
	printf("   %4uK flows  %5.1f bytes/flow = flow_table_memsize(%u)/%u, %.1f MiB   "
	       "target <= %.0f bytes/flow: %s\n",
	       n / 1024, bpf, n, n, table / BENCH_MiB, TARGET_BYTES_PER_FLOW,
	       met ? "met" : "missed");
	printf("               live flows: the first eviction comes at %.1f%% load%s, so at "
	       "best %.1f bytes/live flow;\n",
	       max_load * 100,
	       fill > 0 ? " (measured)" : " (the cuckoo limit; not measured with --quick)",
	       bpf / max_load);
	printf("               %u live flows need a %u-slot table: %.1f bytes/live flow, "
	       "%.1f MiB of flow table per worker%s\n",
	       n, cap, (double)sized / n, sized / BENCH_MiB,
	       (double)sized / n > TARGET_BYTES_PER_FLOW ? " (over the target)" : "");
}

/* ---- main ---- */

/* With --no-shconf the runtime directory stays empty: leave nothing behind. */
static void
eal_done(void)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	(void)rmdir(dir);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: equinox-bench [--flows N] [--packets N] [--round N] [--quick] [--csv]\n"
		   "                     [--core N] [--eal-flow-mem]\n"
		   "  --flows N        established flows in the table (default 1048576)\n"
		   "  --packets N      packets per measurement (default 20971520)\n"
		   "  --round N        packets per round; pipeline and io-fwd alternate (1048576)\n"
		   "  --quick          small numbers, a few seconds (CI smoke)\n"
		   "  --csv            figure,metric,value,unit,target rows only\n"
		   "  --core N         the CPU to run on (default 0)\n"
		   "  --eal-flow-mem   flow table in EAL memory (4 KiB pages under --no-huge)\n"
		   "                   instead of transparent 2 MiB pages\n"
		   "N takes a K, M or G suffix (powers of 1024).\n");
}

static int
parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -EINVAL;
	switch (*end) {
	case 'K':
	case 'k':
		v <<= 10;
		end++;
		break;
	case 'M':
	case 'm':
		v <<= 20;
		end++;
		break;
	case 'G':
	case 'g':
		v <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "flows", required_argument, NULL, 'f' },
		{ "packets", required_argument, NULL, 'p' },
		{ "round", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "csv", no_argument, NULL, 'c' },
		{ "core", required_argument, NULL, 'l' },
		{ "eal-flow-mem", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t flows = 0, packets = 0, round = 0, core = 0;
	int c, li = -1;

	while ((c = getopt_long(argc, argv, "", longopts, &li)) != -1) {
		switch (c) {
		case 'f':
			if (parse_count(optarg, 1, 1u << 24, &flows) != 0)
				goto bad;
			break;
		case 'p':
			if (parse_count(optarg, BENCH_BATCH, UINT64_C(1) << 36, &packets) != 0)
				goto bad;
			break;
		case 'r':
			if (parse_count(optarg, BENCH_BATCH, UINT64_C(1) << 32, &round) != 0)
				goto bad;
			break;
		case 'l':
			if (parse_count(optarg, 0, RTE_MAX_LCORE - 1, &core) != 0)
				goto bad;
			break;
		case 'q':
			o->quick = true;
			break;
		case 'c':
			o->csv = true;
			break;
		case 'e':
			o->eal_flow_mem = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	o->flows = o->quick ? 65536 : 1048576;
	o->packets = o->quick ? (1u << 20) : (20u << 20);
	o->round = o->quick ? (128u << 10) : (1u << 20);
	o->maglev_runs = o->quick ? 3 : 11;
	o->fill_4m = !o->quick;
	o->core = (unsigned int)core;
	if (flows != 0)
		o->flows = (uint32_t)flows;
	if (packets != 0)
		o->packets = packets;
	if (round != 0)
		o->round = round;
	o->round = RTE_ALIGN_CEIL(RTE_MIN(o->round, o->packets), (uint64_t)BENCH_BATCH);
	return 0;
bad:
	if (c != -1 && c != '?' && li >= 0 && optarg != NULL)
		fprintf(stderr, "equinox-bench: --%s: bad value '%s'\n", longopts[li].name, optarg);
	usage(stderr);
	return -EINVAL;
}

int
main(int argc, char **argv)
{
	static struct bench b;
	struct bench_result est, zipf, fresh, flood, tr_est = { .key = "transition_established" },
						     tr_new = { .key = "transition_new_flows" };
	struct eqx_maglev *prev = NULL;
	uint64_t walk, walk_recs, tr_est_recs, tr_new_recs;
	struct maglev_figure mg[3] = { { .n = 10 }, { .n = 100 }, { .n = 1000 } };
	struct bench_gen g;
	struct bench_delta d;
	char prefix[64], mem_mb[16], lcores[16], cpu[128], load0[64], load1[64];
	char *eal_argv[20];
	struct bench_cpu cpu0, cpu1;
	double wall, others, others_core, steal;
	double fill1m = -1, fill4m = -1;
	uint32_t left;
	unsigned int i, min_b = UINT32_MAX, max_b = 0, per_b[256] = { 0 };
	int eal_argc = 0;

	if (parse_opts(argc, argv, &b.o) != 0)
		return 1;

	read_cpu_model(cpu, sizeof(cpu));
	read_loadavg(load0, sizeof(load0));
	cpu_snap(b.o.core, &cpu0);
	snprintf(prefix, sizeof(prefix), "eqx-bench-%d", (int)getpid());
	/* EAL memory holds mbufs, rings and state; the flow table too when asked. */
	snprintf(mem_mb, sizeof(mem_mb), "%zu",
		 RTE_MAX((size_t)2048,
			 512 + (b.o.eal_flow_mem ? flow_table_memsize(slots_for(b.o.flows)) >> 20
						 : 0)));
	snprintf(lcores, sizeof(lcores), "%u", b.o.core);
	eal_argv[eal_argc++] = argv[0];
	eal_argv[eal_argc++] = "--no-huge";
	eal_argv[eal_argc++] = "--no-pci";
	eal_argv[eal_argc++] = "-m";
	eal_argv[eal_argc++] = mem_mb;
	eal_argv[eal_argc++] = "-l";
	eal_argv[eal_argc++] = lcores;
	eal_argv[eal_argc++] = "--file-prefix";
	eal_argv[eal_argc++] = prefix;
	/* No shared config or telemetry socket in /var/run/dpdk (rmdir'd at the end). */
	eal_argv[eal_argc++] = "--no-shconf";
	eal_argv[eal_argc++] = "--no-telemetry";
	eal_argv[eal_argc++] = "--log-level";
	eal_argv[eal_argc++] = "*:warning";
	eal_argv[eal_argc] = NULL;
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "equinox-bench: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (setup_app(&b) != 0)
		goto fail;
	b.backend_of = calloc(b.o.flows, 1);
	if (b.backend_of == NULL || zipf_build(&b) != 0) {
		fprintf(stderr, "equinox-bench: out of memory\n");
		goto fail;
	}
	est.key = "established_uniform";
	zipf.key = "established_zipf";
	fresh.key = "new_flows";
	flood.key = "syn_flood_table_full";

	insert_established(&b);
	if (flow_table_count(b.w->flows) != b.o.flows)
		bench_error(&b, "after insertion: %u flows in the table, %u expected",
			    flow_table_count(b.w->flows), b.o.flows);
	for (i = 0; i < b.o.flows; i++)
		per_b[b.backend_of[i]]++;
	for (i = BENCH_BACKEND_FIRST; i < BENCH_BACKEND_FIRST + BENCH_BACKENDS; i++) {
		min_b = RTE_MIN(min_b, per_b[i]);
		max_b = RTE_MAX(max_b, per_b[i]);
	}
	if (per_b[0] != 0)
		bench_error(&b, "%u flows never came back", per_b[0]);

	if (b.o.csv) {
		printf("figure,metric,value,unit,target\n");
		printf("system,cpu_model,\"%s\",,\n", cpu);
		csv_row("system", "tsc_hz", (double)b.tsc_hz, "Hz", "");
	} else {
		printf("equinox-bench: the worker pipeline (eqx_worker_poll) on one core vs "
		       "io-forwarding, net_ring, 60-byte TCP frames\n");
		printf("cpu       %s, TSC %.3f GHz (cycles below are TSC cycles), lcore %u, "
		       "load average %s\n",
		       cpu, (double)b.tsc_hz / 1e9, b.o.core, load0);
		printf("set-up    1 TCP VIP, %u IPIP backends, %u flows in a %u-slot flow table "
		       "(%.1f MiB, %.1f MiB of it on 2 MiB pages%s); %" PRIu64 " packets a "
		       "measurement, batches of %u\n",
		       BENCH_BACKENDS, b.o.flows, b.flow_cap, b.flow_mem_size / BENCH_MiB,
		       b.flow_mem_huge / BENCH_MiB, b.o.eal_flow_mem ? ", EAL memory" : "",
		       (uint64_t)((b.o.packets + b.o.round - 1) / b.o.round) * b.o.round,
		       BENCH_BATCH);
		printf("          Maglev spread the flows %u..%u per backend (ideal %u)\n", min_b,
		       max_b, b.o.flows / BENCH_BACKENDS);
	}

	g = (struct bench_gen){ .pattern = PATTERN_UNIFORM, .rng = 1, .tcp_flags = NET_TCP_ACK };
	if (measure(&b, &g, VERIFY_SAMPLE, false, &est) != 0)
		goto fail;
	if (est.d.misses != 0)
		bench_error(&b, "established run: %" PRIu64 " packets missed their flow",
			    est.d.misses);
	print_result(&b, "1. established flows, uniform popularity", &est, false, true);

	g = (struct bench_gen){ .pattern = PATTERN_ZIPF, .tcp_flags = NET_TCP_ACK };
	if (measure(&b, &g, VERIFY_SAMPLE, false, &zipf) != 0)
		goto fail;
	if (!b.o.csv)
		printf("2. established flows, Zipf popularity (s = %.1f over %u flows: the top "
		       "flow "
		       "takes %.1f%% of packets, the top 1%% of flows %.1f%%)\n",
		       BENCH_ZIPF_S, b.o.flows, b.zipf_top1 * 100, b.zipf_top1pct * 100);
	print_result(&b, "", &zipf, false, true);

	b.new_next = b.o.flows;
	g = (struct bench_gen){ .pattern = PATTERN_NEW,
				.next = b.new_next,
				.tcp_flags = NET_TCP_SYN };
	if (measure(&b, &g, VERIFY_SAMPLE, true, &fresh) != 0)
		goto fail;
	print_result(&b,
		     "3. new flows: every packet the SYN of a never-seen flow (flow table "
		     "kept below 7/8 full)",
		     &fresh, true, true);

	/*
	 * Untimed: the established flows again, SYN flows until the table is
	 * full; then a SYN flood, which may evict SYN-only flows and nothing else.
	 */
	flow_flush(b.w->flows, UINT32_MAX);
	insert_established(&b);
	g = (struct bench_gen){ .pattern = PATTERN_NEW,
				.next = b.new_next,
				.tcp_flags = NET_TCP_SYN };
	warm_pass(&b, &g, b.flow_cap, VERIFY_NONE, &d);
	if (measure(&b, &g, VERIFY_SAMPLE, false, &flood) != 0)
		goto fail;
	left = established_left(&b);
	if (left != b.o.flows)
		bench_error(&b, "SYN flood: %u of %u established flows left", left, b.o.flows);
	print_result(&b,
		     "3b. SYN flood against a full table that holds the established flows "
		     "(a new flow evicts an older SYN-only one, or is refused)",
		     &flood, true, false);
	if (!b.o.csv)
		printf("   survived  %u of %u established flows\n", left, b.o.flows);

	for (i = 0; i < RTE_DIM(mg); i++)
		if (maglev_measure(&b, &mg[i], b.o.maglev_runs) != 0)
			goto fail;
	if (b.o.csv) {
		for (i = 0; i < RTE_DIM(mg); i++) {
			char m[32];

			snprintf(m, sizeof(m), "backends_%u_ms", mg[i].n);
			csv_row("maglev_build_65537", m, mg[i].ms, "ms",
				mg[i].n == 1000 ? "<=1" : "");
		}
	} else {
		printf("4. Maglev table build, M = %u, equal weights (median of %u runs)\n",
		       BENCH_MAGLEV_SIZE, b.o.maglev_runs);
		for (i = 0; i < RTE_DIM(mg); i++) {
			printf("   %4u backends  %7.3f ms  (%.3f..%.3f)", mg[i].n, mg[i].ms,
			       mg[i].min_ms, mg[i].max_ms);
			if (mg[i].n == 1000)
				printf("   target <= %.0f ms for 1000 backends (paper: 1.8 ms): %s",
				       TARGET_MAGLEV_MS,
				       mg[i].ms <= TARGET_MAGLEV_MS ? "met" : "missed");
			printf("\n");
		}
	}

	fill1m = fill_until_eviction(1u << 20);
	if (b.o.fill_4m)
		fill4m = fill_until_eviction(4u << 20);
	if (!b.o.csv)
		printf("5. memory per flow (%d bytes a slot, key, entry and signature, in 4-way "
		       "cuckoo buckets; struct eqx_worker adds %.1f MiB of counters)\n",
		       FLOW_SLOT_SIZE, sizeof(struct eqx_worker) / BENCH_MiB);
	print_memory(&b, 1u << 20, fill1m);
	print_memory(&b, 4u << 20, fill4m);

	/* 6. Distributed mode: the same worker, in a cluster state during a transition. */
	flow_flush(b.w->flows, UINT32_MAX);
	memset(b.backend_of, 0, b.o.flows);
	if (cluster_setup(&b, &prev) != 0)
		goto fail;
	insert_established(&b);
	walk = cluster_walk_time(&b, &walk_recs);
	g = (struct bench_gen){ .pattern = PATTERN_UNIFORM, .rng = 1, .tcp_flags = NET_TCP_ACK };
	if (transition_measure(&b, &g, false, prev, &tr_est, &tr_est_recs) != 0)
		goto fail;
	if (tr_est.d.misses != 0)
		bench_error(&b, "transition, established: %" PRIu64 " packets missed their flow",
			    tr_est.d.misses);
	g = (struct bench_gen){ .pattern = PATTERN_NEW,
				.next = b.new_next,
				.tcp_flags = NET_TCP_SYN };
	flow_flush(b.w->flows, UINT32_MAX);
	if (transition_measure(&b, &g, true, prev, &tr_new, &tr_new_recs) != 0)
		goto fail;
	if (!b.o.csv)
		printf("6. distributed mode: the worker during a transition (cluster.mode "
		       "distributed, generation 2 added a tenth backend and keeps generation 1's "
		       "Maglev table) against the same state without the previous table, rounds "
		       "alternating\n");
	print_transition(&b, "   a. established flows, uniform popularity", &tr_est, tr_est_recs);
	print_transition(&b,
			 "   b. new flows (SYN): the previous table's choice too, a record "
			 "for the owner when it differs",
			 &tr_new, tr_new_recs);
	if (b.o.csv) {
		csv_row("transition_walk", "ms", cyc_to_ns(&b, (double)walk) / 1e6, "ms", "");
		csv_row("transition_walk", "records", (double)walk_recs, "", "");
	} else {
		printf("   c. the walk after a new generation (once per generation and every half "
		       "tcp_established_s): %.1f ms for %u flows, %.1f ns a flow, %" PRIu64
		       " records sent up\n",
		       cyc_to_ns(&b, (double)walk) / 1e6, b.o.flows,
		       cyc_to_ns(&b, (double)walk) / b.o.flows, walk_recs);
	}

	read_loadavg(load1, sizeof(load1));
	cpu_snap(b.o.core, &cpu1);
	wall = cpu1.wall - cpu0.wall;
	others = RTE_MAX(0.0, (cpu1.busy_all - cpu0.busy_all) - (cpu1.self - cpu0.self)) / wall;
	others_core =
		RTE_MAX(0.0, (cpu1.busy_core - cpu0.busy_core) - (cpu1.self - cpu0.self)) / wall;
	steal = (cpu1.steal_all - cpu0.steal_all) / wall;
	if (b.o.csv) {
		csv_row("system", "other_processes_cpus", others, "CPUs", "");
		csv_row("system", "other_processes_on_our_core", others_core * 100, "%", "");
		csv_row("system", "steal_cpus", steal, "CPUs", "");
		csv_row("system", "wall_s", wall, "s", "");
	} else {
		printf("noise     during the %.0f s run other processes kept %.2f of the %ld CPUs "
		       "busy, %.0f%% of core %u (the measured one); steal %.2f CPUs; load average "
		       "after %s\n",
		       wall, others, sysconf(_SC_NPROCESSORS_ONLN), others_core * 100, b.o.core,
		       steal, load1);
		printf("%s\n", b.errors == 0 ? "all checks passed" : "CHECKS FAILED");
	}
	flow_mem_free(&b.flow_mem);
	eal_done();
	if (b.errors != 0) {
		fprintf(stderr, "equinox-bench: %" PRIu64 " check(s) failed\n", b.errors);
		return 1;
	}
	return 0;

fail:
	eal_done();
	return 1;
}
