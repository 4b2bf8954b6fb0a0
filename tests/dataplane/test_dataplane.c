/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dataplane tests: the real worker and control code under EAL (--no-huge
 * --no-pci) on a net_ring port. A table of input frames with the verdict and
 * the bytes equinox must send (vectors.h, built with scapy), then behaviour
 * across generation swaps: flows keep their backend, removed and draining
 * backends get no new flows, and distributed mode's queries and records.
 * EAL starts once per process, so the cases run with CK_FORK=no.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "cluster/cluster_wire.h"
#include "control.h"
#include "dataplane.h"
#include "vectors.h"

#define TEST_FLOWS 600

static struct rte_ring *rx_ring, *tx_ring;
static struct eqx_dp_ctx ctx;

/* Backends have static neighbours so no ARP or ND is needed. */
static const char *config_fmt =
	"{ \"instance\": { \"name\": \"dptest\" },"
	"  \"ports\": [ { \"name\": \"p0\", \"device\": \"net_ring_dp0\","
	"    \"addresses\": [\"10.200.0.10/24\", \"fd00:200::10/64\"],"
	"    \"neighbours\": ["
	"      { \"address\": \"10.200.0.21\", \"mac\": \"02:00:00:00:00:21\" },"
	"      { \"address\": \"fd00:200::21\", \"mac\": \"02:00:00:00:00:21\" },"
	"      { \"address\": \"10.200.0.22\", \"mac\": \"02:00:00:00:00:22\" },"
	"      { \"address\": \"10.200.0.23\", \"mac\": \"02:00:00:00:00:23\" },"
	"      { \"address\": \"10.200.0.24\", \"mac\": \"02:00:00:00:00:24\" } ] } ],"
	"  \"vips\": ["
	"    { \"name\": \"vip1\", \"address\": \"10.200.0.100\", \"protocol\": \"tcp\","
	"      \"port\": 80, \"backends\": [ { \"address\": \"10.200.0.21\" } ] },"
	"    { \"name\": \"vip2\", \"address\": \"10.200.0.101\", \"protocol\": \"tcp\","
	"      \"port\": 80, \"backends\": [ %s ] },"
	"    { \"name\": \"vip3\", \"address\": \"10.200.0.102\", \"protocol\": \"udp\","
	"      \"backends\": [ { \"address\": \"10.200.0.21\" } ] },"
	"    { \"name\": \"vip4\", \"address\": \"10.200.0.103\", \"port\": 80,"
	"      \"forwarding\": \"gue\", \"backends\": [ { \"address\": \"10.200.0.21\" } ] },"
	"    { \"name\": \"vip5\", \"address\": \"10.200.0.104\", \"port\": 80,"
	"      \"forwarding\": \"l2dsr\", \"backends\": [ { \"address\": \"10.200.0.21\" } ] },"
	"    { \"name\": \"vip6\", \"address\": \"fd00:200::100\", \"port\": 80,"
	"      \"backends\": [ { \"address\": \"fd00:200::21\" } ] },"
	"    { \"name\": \"vip7\", \"address\": \"fd00:200::101\", \"port\": 80,"
	"      \"forwarding\": \"gue\", \"backends\": [ { \"address\": \"10.200.0.21\" } ] },"
	"    { \"name\": \"vip8\", \"address\": \"10.200.0.105\", \"port\": 80,"
	"      \"backends\": [ { \"address\": \"fd00:200::21\" } ] },"
	"    { \"name\": \"vip9\", \"address\": \"fd00:200::102\", \"protocol\": \"udp\","
	"      \"forwarding\": \"gue\", \"backends\": [ { \"address\": \"fd00:200::21\" } ] },"
	"    { \"name\": \"vip10\", \"address\": \"fd00:200::103\", \"port\": 80,"
	"      \"forwarding\": \"l2dsr\", \"backends\": [ { \"address\": \"fd00:200::21\" } ] },"
	"    { \"name\": \"vip11\", \"address\": \"10.200.0.106\", \"port\": 80,"
	"      \"affinity\": { \"mode\": \"client-ip\", \"timeout_s\": 300 },"
	"      \"backends\": [ %s ] },"
	"    { \"name\": \"vip12\", \"address\": \"10.200.0.107\", \"protocol\": \"udp\","
	"      \"port\": 53, \"backends\": [ %s ] } ]%s }";

/* Distributed mode, member 1 of two (no agent runs here: the test plays its part). */
static const char *cluster_section =
	", \"cluster\": { \"mode\": \"distributed\", \"key\": "
	"\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\","
	"  \"members\": [ { \"id\": 1, \"address\": \"10.200.0.10\" },"
	"                { \"id\": 2, \"address\": \"10.200.0.11\" } ] }";

/* Outside a running test (set-up) a failed check cannot unwind: exit instead. */
#define REQUIRE(cond)                                                  \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr, "set-up failed: %s\n", #cond); \
			exit(1);                                       \
		}                                                      \
	} while (0)

static bool distributed; /* the next configs are in distributed mode */

static int
try_apply(const char *vip2_backends, struct cfg_errors *errs)
{
	char text[8192];
	struct cfg *c;

	snprintf(text, sizeof(text), config_fmt, vip2_backends, vip2_backends, vip2_backends,
		 distributed ? cluster_section : "");
	c = cfg_load_json(text, strlen(text), errs);
	if (c == NULL)
		return -1;
	if (eqx_state_apply(&eqx, c, errs) != 0)
		return -1;
	ctx.st = eqx.state;
	ctx.nht = eqx.nh;
	return 0;
}

static void
apply(const char *vip2_backends)
{
	struct cfg_errors errs = { 0 };

	ck_assert_msg(try_apply(vip2_backends, &errs) == 0, "config: %s", errs.msg[0]);
}

static const char *three_backends =
	"{ \"address\": \"10.200.0.22\" }, { \"address\": \"10.200.0.23\" },"
	"{ \"address\": \"10.200.0.24\" }";

static struct flow_table *
table(uint32_t n, uint32_t timeout)
{
	size_t sz = flow_table_memsize(n);
	struct flow_table *t;

	t = flow_table_init(rte_zmalloc(NULL, sz, RTE_CACHE_LINE_SIZE), sz, n,
			    &(struct flow_timeouts){ timeout, timeout, timeout, timeout });
	REQUIRE(NULL != t);
	return t;
}

static void
setup_app(void)
{
	struct rte_eth_conf conf = { 0 };
	struct eqx_worker *w;
	size_t sz;
	int port;

	eqx.n_workers = 1;
	eqx.n_ports = 1;
	eqx.tsc_hz = rte_get_tsc_hz();
	eqx.pool = rte_pktmbuf_pool_create("dp_pool", 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	REQUIRE(NULL != eqx.pool);

	rx_ring = rte_ring_create("dp_rx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	tx_ring = rte_ring_create("dp_tx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	port = rte_eth_from_rings("net_ring_dp0", &rx_ring, 1, &tx_ring, 1, 0);
	REQUIRE(port >= 0);
	REQUIRE(rte_eth_dev_configure((uint16_t)port, 1, 1, &conf) == 0);
	REQUIRE(rte_eth_rx_queue_setup((uint16_t)port, 0, 64, 0, NULL, eqx.pool) == 0);
	REQUIRE(rte_eth_tx_queue_setup((uint16_t)port, 0, 64, 0, NULL) == 0);
	REQUIRE(rte_eth_dev_start((uint16_t)port) == 0);
	eqx.ports[0].port_id = (uint16_t)port;
	snprintf(eqx.ports[0].name, sizeof(eqx.ports[0].name), "p0");
	/* The vectors were built for this MAC. */
	memcpy(eqx.ports[0].mac.addr_bytes, (uint8_t[]){ 2, 0, 0, 0, 0, 0x0a }, 6);
	eqx.port_mtu[0] = 1500;

	eqx.workers = rte_zmalloc(NULL, sizeof(*eqx.workers), RTE_CACHE_LINE_SIZE);
	sz = rte_rcu_qsbr_get_memsize(1);
	eqx.qsbr = rte_zmalloc(NULL, sz, RTE_CACHE_LINE_SIZE);
	REQUIRE(NULL != eqx.workers);
	REQUIRE(NULL != eqx.qsbr);
	REQUIRE(rte_rcu_qsbr_init(eqx.qsbr, 1) == 0);
	w = &eqx.workers[0];
	w->to_ctrl = rte_ring_create("dp_up", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->from_ctrl = rte_ring_create("dp_down", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->events = rte_ring_create_elem("dp_ev", sizeof(struct eqx_event), 1024, 0,
					 RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->installs = rte_ring_create_elem("dp_inst", sizeof(struct eqx_event), 1024, 0,
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->relay = rte_ring_create("dp_relay", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	REQUIRE(NULL != w->events);
	REQUIRE(NULL != w->installs);
	REQUIRE(NULL != w->relay);
	REQUIRE(eqx_mbuf_fields_init() == 0);
	w->flows = table(65536, 300);
	w->affinity = table(8192, 86400);
	w->frags = table(1024, 2);
	flow_table_set_release(w->flows, eqx_dp_flow_released, w);
	eqx_dp_ctx_init(&ctx, &eqx, w);
	ctx.now = 1000;
	{
		struct cfg_errors errs = { 0 };

		REQUIRE(try_apply(three_backends, &errs) == 0);
	}
}

static uint64_t
drop_count(const char *name)
{
	unsigned int i;

	for (i = 0; i < EQX_DROP_MAX; i++)
		if (strcmp(eqx_drop_name(i), name) == 0)
			return eqx.workers[0].stats.drops[i];
	ck_abort_msg("no drop counter named %s", name);
	return 0;
}

static struct rte_mbuf *
frame(const uint8_t *bytes, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(eqx.pool);
	uint8_t *d;

	ck_assert_ptr_nonnull(m);
	d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	ck_assert_ptr_nonnull(d);
	memcpy(d, bytes, len);
	return m;
}

/* Send one frame through the worker; return what it transmitted (or NULL). */
static struct rte_mbuf *
through_worker(struct rte_mbuf *m)
{
	struct rte_mbuf *out = NULL;

	eqx_dp_process(&ctx, 0, m);
	eqx_dp_flush(&ctx);
	if (rte_ring_dequeue(tx_ring, (void **)&out) != 0)
		return NULL;
	ck_assert_uint_eq(rte_ring_count(tx_ring), 0);
	return out;
}

static void
assert_bytes(const char *what, struct rte_mbuf *m, const uint8_t *want, size_t len)
{
	const uint8_t *got = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t i;

	ck_assert_msg(rte_pktmbuf_pkt_len(m) == len, "%s: %u bytes sent, %zu expected", what,
		      rte_pktmbuf_pkt_len(m), len);
	for (i = 0; i < len; i++)
		ck_assert_msg(got[i] == want[i], "%s: byte %zu is %02x, expected %02x", what, i,
			      got[i], want[i]);
}

START_TEST(vector_case)
{
	const struct dp_vector *v = &vectors[_i];
	struct rte_mbuf *out, *up = NULL;
	uint64_t before = v->drop[0] ? drop_count(v->drop) : 0;

	out = through_worker(frame(v->in, v->in_len));
	if (strcmp(v->verdict, "TX") == 0) {
		ck_assert_msg(out != NULL, "%s: nothing sent", v->name);
		assert_bytes(v->name, out, v->out, v->out_len);
		rte_pktmbuf_free(out);
	} else if (strcmp(v->verdict, "CONTROL") == 0) {
		ck_assert_msg(out == NULL, "%s: worker sent a frame itself", v->name);
		ck_assert_msg(rte_ring_dequeue(eqx.workers[0].to_ctrl, (void **)&up) == 0,
			      "%s: not passed to the control lcore", v->name);
		eqx_control_frame(&eqx, up);
		/* The control lcore's answer goes out through worker 0's ring. */
		if (v->out_len == 0) {
			ck_assert_msg(rte_ring_count(eqx.workers[0].from_ctrl) == 0,
				      "%s: control answered", v->name);
		} else {
			ck_assert_msg(rte_ring_dequeue(eqx.workers[0].from_ctrl, (void **)&out) ==
					      0,
				      "%s: control sent nothing", v->name);
			assert_bytes(v->name, out, v->out, v->out_len);
			rte_pktmbuf_free(out);
		}
	} else {
		ck_assert_msg(out == NULL, "%s: a dropped frame was sent", v->name);
		ck_assert_msg(drop_count(v->drop) == before + 1, "%s: counter %s not raised",
			      v->name, v->drop);
	}
	ck_assert_uint_eq(rte_ring_count(eqx.workers[0].to_ctrl), 0);
}
END_TEST

/* A TCP packet from client c, source port sp, to 10.200.0.<vip>:80; the backend's last octet. */
static int
tcp_packet(unsigned int c, uint16_t sp, uint8_t vip, bool syn)
{
	uint8_t f[54] = { 2, 0, 0, 0, 0, 0x0a, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };
	uint8_t *ip = f + 14, *tcp = f + 34;
	struct rte_mbuf *out;
	const uint8_t *o;
	int octet;

	ip[0] = 0x45;
	net_put16(ip + 2, 40);
	ip[8] = 64;
	ip[9] = NET_PROTO_TCP;
	memcpy(ip + 12, (uint8_t[]){ 10, 200, (uint8_t)(1 + c / 250), (uint8_t)(c % 250 + 1) }, 4);
	memcpy(ip + 16, (uint8_t[]){ 10, 200, 0, vip }, 4);
	net_put16(ip + 10, net_ip4_hdr_csum(ip, 20));
	net_put16(tcp, sp);
	net_put16(tcp + 2, 80);
	tcp[12] = 0x50;
	tcp[13] = syn ? NET_TCP_SYN : NET_TCP_ACK;

	out = through_worker(frame(f, sizeof(f)));
	if (out == NULL)
		return -1;
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	ck_assert_uint_eq(o[14 + 9], NET_PROTO_IPIP);
	octet = o[14 + 19];
	/* The MAC must be the chosen backend's own: .22 has 02:00:00:00:00:22. */
	ck_assert_uint_eq(o[5], (octet / 10) << 4 | octet % 10);
	rte_pktmbuf_free(out);
	return octet;
}

static int
vip2_packet(unsigned int i, bool syn)
{
	return tcp_packet(i, (uint16_t)(10000 + i), 101, syn);
}

START_TEST(flows_keep_backend_across_reload)
{
	int first[TEST_FLOWS];
	unsigned int i, per[256] = { 0 }, moved = 0;

	apply(three_backends);
	flow_flush(eqx.workers[0].flows, UINT32_MAX);
	for (i = 0; i < TEST_FLOWS; i++) {
		first[i] = vip2_packet(i, true);
		ck_assert_int_ge(first[i], 22);
		ck_assert_int_le(first[i], 24);
		per[first[i]]++;
		/* Every later packet of the flow goes the same way. */
		ck_assert_int_eq(vip2_packet(i, false), first[i]);
	}
	for (i = 22; i <= 24; i++)
		ck_assert_msg(per[i] > TEST_FLOWS / 6, "backend .%u got only %u flows", i, per[i]);

	/* Generation swap that removes .24: flows on .22/.23 stay, .24's are re-balanced. */
	apply("{ \"address\": \"10.200.0.22\" }, { \"address\": \"10.200.0.23\" }");
	for (i = 0; i < TEST_FLOWS; i++) {
		int now = vip2_packet(i, false);

		if (first[i] != 24)
			ck_assert_msg(now == first[i], "flow %u moved from .%d to .%d", i, first[i],
				      now);
		else
			moved += now != 24;
	}
	ck_assert_uint_eq(moved, per[24]);
	for (i = TEST_FLOWS; i < 2 * TEST_FLOWS; i++)
		ck_assert_int_ne(vip2_packet(i, true), 24);
}
END_TEST

START_TEST(draining_backend_keeps_flows_takes_no_new_ones)
{
	int first[TEST_FLOWS];
	unsigned int i, on23 = 0;

	apply(three_backends);
	flow_flush(eqx.workers[0].flows, UINT32_MAX);
	for (i = 0; i < TEST_FLOWS; i++)
		first[i] = vip2_packet(i, true);
	apply("{ \"address\": \"10.200.0.22\" },"
	      "{ \"address\": \"10.200.0.23\", \"state\": \"draining\" },"
	      "{ \"address\": \"10.200.0.24\" }");
	for (i = 0; i < TEST_FLOWS; i++) {
		ck_assert_int_eq(vip2_packet(i, false), first[i]);
		on23 += first[i] == 23;
	}
	ck_assert_uint_gt(on23, 0);
	for (i = TEST_FLOWS; i < 2 * TEST_FLOWS; i++)
		ck_assert_int_ne(vip2_packet(i, true), 23);
}
END_TEST

START_TEST(invalid_generation_is_rejected_and_old_one_kept)
{
	struct cfg_errors errs = { 0 };
	const struct eqx_state *before;
	struct cfg *c;
	const char *bad =
		"{ \"instance\": { \"name\": \"dptest\" }, \"ports\": [ { \"name\": \"p0\","
		" \"device\": \"x\", \"addresses\": [\"10.200.0.10/24\"] } ],"
		" \"vips\": [ { \"name\": \"v\", \"address\": \"10.201.0.1\","
		" \"backends\": [ { \"address\": \"192.0.2.1\" } ] } ] }";

	apply(three_backends);
	before = eqx.state;
	c = cfg_load_json(bad, strlen(bad), &errs);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_ne(eqx_state_apply(&eqx, c, &errs), 0);
	ck_assert_msg(strstr(errs.msg[0], "vips[0].backends[0].address") != NULL, "%s",
		      errs.msg[0]);
	ck_assert_ptr_eq(eqx.state, before);
	ck_assert_int_ge(vip2_packet(1, true), 22);
}
END_TEST

/* Every connection of a client goes to one backend, and keeps going there after an addition. */
START_TEST(affinity_pins_clients_across_additions)
{
	int pinned[200];
	unsigned int c, sp, per[256] = { 0 };

	apply("{ \"address\": \"10.200.0.22\" }, { \"address\": \"10.200.0.23\" }");
	for (c = 0; c < 200; c++) {
		pinned[c] = tcp_packet(c, 20000, 106, true);
		per[pinned[c]]++;
		for (sp = 20001; sp < 20006; sp++)
			ck_assert_int_eq(tcp_packet(c, (uint16_t)sp, 106, true), pinned[c]);
	}
	ck_assert_uint_gt(per[22], 40);
	ck_assert_uint_gt(per[23], 40);
	/* A third backend would take a third of the clients by Maglev; the pins hold them. */
	apply(three_backends);
	for (c = 0; c < 200; c++)
		ck_assert_int_eq(tcp_packet(c, 30000, 106, true), pinned[c]);
	/* A draining backend takes no new connection, even a pinned one. */
	apply("{ \"address\": \"10.200.0.22\", \"state\": \"draining\" },"
	      "{ \"address\": \"10.200.0.23\" }, { \"address\": \"10.200.0.24\" }");
	for (c = 0; c < 200; c++)
		ck_assert_int_ne(tcp_packet(c, 31000, 106, true), 22);
}
END_TEST

/* Active flows are counted per backend, and leave the count when they leave the table. */
START_TEST(active_flows_counted)
{
	struct eqx_ctr total = { 0 };
	unsigned int i;
	uint32_t j;

	apply(three_backends);
	flow_flush(eqx.workers[0].flows, UINT32_MAX);
	for (i = 0; i < 300; i++)
		ck_assert_int_ge(vip2_packet(i, true), 22);
	for (j = 0; j < eqx.state->n_vips; j++) {
		const struct eqx_vip *v = &eqx.state->vips[j];
		uint32_t k;

		if (strcmp(eqx.state->cfg->vips[j].name, "vip2") != 0)
			continue;
		for (k = 0; k < v->n_backends; k++)
			total.active += eqx.workers[0].stats.backend[v->backends[k]].active;
		ck_assert_int_eq(eqx.workers[0].stats.vip[v->id].active, 300);
	}
	ck_assert_int_eq(total.active, 300);
	flow_flush(eqx.workers[0].flows, UINT32_MAX);
	for (j = 0; j < eqx.state->n_vips; j++)
		ck_assert_int_eq(eqx.workers[0].stats.vip[eqx.state->vips[j].id].active, 0);
}
END_TEST

/* A frame to 10.200.0.<vip> from client c, port sp: TCP (syn or ack) to 80 or UDP to 53. */
static struct rte_mbuf *
l4_frame(unsigned int c, uint16_t sp, uint8_t vip, uint8_t proto, bool syn)
{
	uint8_t f[54] = { 2, 0, 0, 0, 0, 0x0a, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };
	uint8_t *ip = f + 14, *l4 = f + 34;
	size_t len = proto == NET_PROTO_TCP ? 54 : 42;

	ip[0] = 0x45;
	net_put16(ip + 2, (uint16_t)(len - 14));
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, (uint8_t[]){ 10, 200, (uint8_t)(1 + c / 250), (uint8_t)(c % 250 + 1) }, 4);
	memcpy(ip + 16, (uint8_t[]){ 10, 200, 0, vip }, 4);
	net_put16(ip + 10, net_ip4_hdr_csum(ip, 20));
	net_put16(l4, sp);
	if (proto == NET_PROTO_TCP) {
		net_put16(l4 + 2, 80);
		l4[12] = 0x50;
		l4[13] = syn ? NET_TCP_SYN : NET_TCP_ACK;
	} else {
		net_put16(l4 + 2, 53);
		net_put16(l4 + 4, 8);
	}
	return frame(f, len);
}

/* The last octet of the backend a transmitted IPIP frame went to; frees it. */
static int
sent_to(struct rte_mbuf *out)
{
	int octet;

	ck_assert_ptr_nonnull(out);
	octet = rte_pktmbuf_mtod(out, const uint8_t *)[14 + 19];
	rte_pktmbuf_free(out);
	return octet;
}

/*
 * Distributed mode during a transition (.24 removed from vip2 and vip12): a
 * TCP segment without SYN and a UDP datagram of unknown flows go up to the
 * control lcore as held cluster queries instead of being balanced; the
 * agent's install puts the flow in the table and re-injects the frame, which
 * then leaves for the installed backend; a new flow whose backend differs
 * between the two tables is recorded for its owner. Outside a transition a
 * UDP datagram is balanced at once.
 */
START_TEST(cluster_queries_and_records_during_a_transition)
{
	struct eqx_worker *w = &eqx.workers[0];
	const char *two = "{ \"address\": \"10.200.0.22\" }, { \"address\": \"10.200.0.23\" }";
	struct rte_mbuf *up;
	struct cluster_rec rec;
	uint64_t queries, records;
	unsigned int i, recorded = 0;
	int octet;

	if (w->cl_events == NULL) {
		w->cl_events = rte_ring_create_elem("dp_clev", sizeof(struct cluster_rec), 4096, 0,
						    RING_F_SP_ENQ | RING_F_SC_DEQ);
		w->cl_installs = rte_ring_create_elem("dp_clins", sizeof(struct eqx_cl_install),
						      1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		ck_assert_ptr_nonnull(w->cl_events);
		ck_assert_ptr_nonnull(w->cl_installs);
	}
	distributed = true;
	eqx.cluster_gen = 1;
	eqx.cluster_prev = EQX_CL_PREV_DROP;
	apply(three_backends);
	flow_flush(w->flows, UINT32_MAX);
	ck_assert(eqx.state->cluster);

	/* No transition: a UDP datagram of a new flow is balanced at once. */
	octet = sent_to(through_worker(l4_frame(1, 4000, 107, NET_PROTO_UDP, false)));
	ck_assert_int_ge(octet, 22);

	eqx.cluster_gen = 2;
	eqx.cluster_prev = EQX_CL_PREV_SHIFT;
	apply(two);
	ck_assert_ptr_nonnull(eqx.state->vips[1].prev_maglev);

	/* An ACK of a flow this worker never saw: held, asked about, nothing sent. */
	queries = w->stats.cluster_queries;
	ck_assert_ptr_null(through_worker(l4_frame(2, 5000, 101, NET_PROTO_TCP, false)));
	ck_assert_uint_eq(w->stats.cluster_queries, queries + 1);
	ck_assert_int_eq(rte_ring_dequeue(w->to_ctrl, (void **)&up), 0);
	ck_assert_uint_eq(*EQX_HOPS(up), EQX_HOPS_CLUSTER);

	/* The agent installs the owner's answer (.23) and hands the segment back. */
	{
		struct eqx_cl_install in = { .m = up, .state = FLOW_STATE_EST };
		const struct eqx_vip *v = &eqx.state->vips[1];
		struct net_hdrs h;

		for (i = 0; i < v->n_backends; i++)
			if (eqx.state->backend_by_id[v->backends[i]]->addr[3] == 23)
				in.backend = v->backends[i];
		ck_assert_int_eq(net_parse(rte_pktmbuf_mtod(up, const uint8_t *),
					   rte_pktmbuf_data_len(up), &h),
				 NET_PARSE_OK);
		memset(&in.key, 0, sizeof(in.key));
		in.key.family = 4;
		in.key.proto = NET_PROTO_TCP;
		memcpy(in.key.src, h.src, 4);
		memcpy(in.key.dst, h.dst, 4);
		in.key.sport = h.sport;
		in.key.dport = h.dport;
		in.vip = v->id;
		ck_assert_int_eq(rte_ring_enqueue_elem(w->cl_installs, &in, sizeof(in)), 0);
	}
	eqx_dp_installs(&ctx);
	eqx_dp_flush(&ctx);
	ck_assert_int_eq(rte_ring_dequeue(tx_ring, (void **)&up), 0);
	ck_assert_int_eq(sent_to(up), 23);
	/* The next segment of that flow finds the installed entry. */
	ck_assert_int_eq(sent_to(through_worker(l4_frame(2, 5000, 101, NET_PROTO_TCP, false))), 23);

	/* A UDP datagram of an unknown flow during the transition is asked about too. */
	queries = w->stats.cluster_queries;
	ck_assert_ptr_null(through_worker(l4_frame(3, 6000, 107, NET_PROTO_UDP, false)));
	ck_assert_uint_eq(w->stats.cluster_queries, queries + 1);
	ck_assert_int_eq(rte_ring_dequeue(w->to_ctrl, (void **)&up), 0);
	rte_pktmbuf_free(up);

	/* New flows: those the previous table sent to .24 are recorded for their owner. */
	records = w->stats.cluster_records;
	for (i = 0; i < 200; i++)
		ck_assert_int_ne(
			sent_to(through_worker(l4_frame(10 + i, 7000, 101, NET_PROTO_TCP, true))),
			24);
	while (rte_ring_dequeue_elem(w->cl_events, &rec, sizeof(rec)) == 0)
		recorded++;
	ck_assert_uint_gt(recorded, 0);
	ck_assert_uint_eq(w->stats.cluster_records, records + recorded);

	/* Back to standalone for the other cases. */
	distributed = false;
	eqx.cluster_prev = EQX_CL_PREV_DROP;
	apply(three_backends);
	flow_flush(w->flows, UINT32_MAX);
}
END_TEST

static Suite *
dataplane_suite(void)
{
	Suite *s = suite_create("dataplane");
	TCase *tc = tcase_create("vectors");

	tcase_add_loop_test(tc, vector_case, 0, (int)RTE_DIM(vectors));
	suite_add_tcase(s, tc);
	tc = tcase_create("generations");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, flows_keep_backend_across_reload);
	tcase_add_test(tc, draining_backend_keeps_flows_takes_no_new_ones);
	tcase_add_test(tc, invalid_generation_is_rejected_and_old_one_kept);
	tcase_add_test(tc, affinity_pins_clients_across_additions);
	tcase_add_test(tc, active_flows_counted);
	tcase_add_test(tc, cluster_queries_and_records_during_a_transition);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	char *eal_argv[] = { "test_dataplane",
			     "--no-huge",
			     "--no-pci",
			     "-m",
			     "256",
			     "-l",
			     "0",
			     "--no-shconf",
			     "--no-telemetry",
			     "--file-prefix",
			     "eqx-dptest",
			     "--log-level",
			     "*:warning",
			     NULL };
	SRunner *sr;
	int failed;

	if (rte_eal_init((int)RTE_DIM(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	/* The EAL cannot start twice in one process: no forking. */
	setenv("CK_FORK", "no", 1);
	sr = srunner_create(dataplane_suite());
	srunner_set_fork_status(sr, CK_NOFORK);
	/* set_up needs EAL, which needs this process: build the app once here. */
	setup_app();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rte_eal_cleanup();
	/* EAL leaves its (empty, with --no-shconf) runtime directory behind. */
	rmdir("/var/run/dpdk/eqx-dptest");
	return failed == 0 ? 0 : 1;
}
