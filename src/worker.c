/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker lcore: rx burst -> parse -> classify -> balance -> encapsulate ->
 * tx burst. No system call, lock, allocation or log line on the packet path;
 * the only sleep is the idle back-off when a whole loop found nothing to do.
 */
#include <sys/prctl.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "eqx.h"
#include "dataplane.h"
#include "maglev/maglev.h"

/* Idle back-off: after this many empty loops start sleeping, doubling up to the cap. */
#define EQX_IDLE_LOOPS 64
#define EQX_IDLE_MAX_US 256
#define EQX_AGE_BUCKETS 16
#define EQX_AGE_EVERY 8 /* loops with work; a power of two */

unsigned int
eqx_worker_poll(struct eqx_dp_ctx *ctx)
{
	struct eqx_app *app = ctx->app;
	struct eqx_worker *w = ctx->w;
	struct rte_mbuf *pkts[EQX_BURST];
	unsigned int work = 0;
	unsigned int p, i, n;

	ctx->st = __atomic_load_n(&app->state, __ATOMIC_ACQUIRE);
	ctx->nht = __atomic_load_n(&app->nh, __ATOMIC_ACQUIRE);
	/* The HA role's say on VIP traffic: a byte, read once a loop (0, serve, without HA). */
	ctx->ha_mode = __atomic_load_n(&app->ha_mode, __ATOMIC_ACQUIRE);
	ctx->now = (uint32_t)(rte_rdtsc() / app->tsc_hz);
	if (unlikely(ctx->st->generation != ctx->seen_generation)) {
		const struct cfg *cfg = ctx->st->cfg;

		/* The table has one writer, its worker: settings reach it with the generation. */
		flow_table_set_timeouts(
			w->flows, &(struct flow_timeouts){
					  .syn = cfg->dataplane.timeouts.tcp_syn_s,
					  .established = cfg->dataplane.timeouts.tcp_established_s,
					  .closing = cfg->dataplane.timeouts.tcp_closing_s,
					  .udp = cfg->dataplane.timeouts.udp_s });
		ctx->seen_generation = ctx->st->generation;
	}

	for (p = 0; p < app->n_ports; p++) {
		n = rte_eth_rx_burst(app->ports[p].port_id, (uint16_t)w->id, pkts, EQX_BURST);
		if (n == 0)
			continue;
		work += n;
		ctx->rx_tsc = rte_rdtsc();
		eqx_dp_process_burst(ctx, p, pkts, n);
	}

	work += eqx_dp_installs(ctx);
	if (unlikely(ctx->st->cluster))
		eqx_dp_cluster_walk(ctx);
	/* Frames another worker could not place (ICMP errors whose flow may be here). */
	n = rte_ring_sc_dequeue_burst(w->relay, (void **)pkts, EQX_BURST, NULL);
	ctx->relay = true;
	for (i = 0; i < n; i++)
		eqx_dp_process_again(ctx, pkts[i]);
	ctx->relay = false;
	work += n;
	n = rte_ring_sc_dequeue_burst(w->from_ctrl, (void **)pkts, EQX_BURST, NULL);
	for (i = 0; i < n; i++) {
		if (unlikely(pkts[i]->ol_flags & eqx_tx_stamp_flag))
			eqx_dp_tx_stamped(ctx, pkts[i]->port, pkts[i]);
		else
			eqx_dp_tx(ctx, pkts[i]->port, pkts[i]);
	}
	w->stats.from_control += n;
	work += n;

	eqx_dp_flush(ctx);
	/*
	 * Ageing only returns what lookups already ignore (an expired entry is
	 * never found) and settles the active counters, so it need not keep pace
	 * with the packets: a slice in every loop that found nothing to do, one
	 * every EQX_AGE_EVERY loops under load (16 buckets every 8 loops of 32
	 * frames sweep 4M slots in a second at 16 Mpps).
	 */
	if (work == 0 || (w->stats.loops & (EQX_AGE_EVERY - 1)) == 0)
		flow_age(w->flows, ctx->now, EQX_AGE_BUCKETS);
	w->stats.loops++;
	return work;
}

int
eqx_worker_main(void *arg)
{
	struct eqx_worker *w = arg;
	struct eqx_app *app = &eqx;
	struct eqx_dp_ctx ctx;
	unsigned int idle_loops = 0;
	unsigned int sleep_us = 0;

	/* The default 50 us timer slack would stretch every back-off sleep. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	rte_rcu_qsbr_thread_register(app->qsbr, w->id);
	rte_rcu_qsbr_thread_online(app->qsbr, w->id);
	eqx_dp_ctx_init(&ctx, app, w);

	EQX_LOG(INFO, lb, "worker %u polling on lcore %u", w->id, w->lcore);
	while (!app->workers_quit) {
		unsigned int work = eqx_worker_poll(&ctx);
		bool busy = ctx.st->cfg->dataplane.idle == CFG_IDLE_BUSY;

		/* Nothing read from ctx.st / ctx.nht after this point. */
		rte_rcu_qsbr_quiescent(app->qsbr, w->id);

		if (work != 0 || busy) {
			idle_loops = 0;
			sleep_us = 0;
			continue;
		}
		if (++idle_loops < EQX_IDLE_LOOPS)
			continue;
		sleep_us = sleep_us == 0 ? 1 : RTE_MIN(sleep_us * 2, (unsigned int)EQX_IDLE_MAX_US);
		w->stats.idle_sleeps++;
		rte_delay_us_sleep(sleep_us);
	}

	eqx_dp_flush(&ctx);
	rte_rcu_qsbr_thread_offline(app->qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(app->qsbr, w->id);
	return 0;
}
