/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * equinox: load the config, start EAL with the config's arguments, bring up
 * ports, rings and worker lcores, then run the control loop on the main lcore.
 * Nothing touches a port until the whole config is valid.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "agent.h"
#include "control.h"
#include "dataplane.h"

#define EXIT_CONFIG 2

static void
usage(FILE *f)
{
	fprintf(f, "usage: equinox -c FILE [--check-config [--dump]]\n"
		   "  -c, --config FILE   config file (*.json: JSON, *.cfg: libconfig)\n"
		   "      --check-config  validate the config and exit (0 valid, 2 invalid)\n"
		   "      --dump          with --check-config: print the model with defaults\n"
		   "  -h, --help          this text\n"
		   "  -V, --version       print the version\n"
		   "EAL arguments come from the config's \"eal\" list.\n");
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		eqx.reload = true;
	else
		eqx.quit = true;
}

static void
print_errors(const char *path, const struct cfg_errors *errs)
{
	unsigned int i;

	for (i = 0; i < errs->n && i < CFG_MAX_ERRORS; i++)
		fprintf(stderr, "equinox: %s: %s\n", path, errs->msg[i]);
	if (errs->n > CFG_MAX_ERRORS)
		fprintf(stderr, "equinox: %s: %u more errors\n", path, errs->n - CFG_MAX_ERRORS);
	fprintf(stderr, "equinox: %s: %u error%s, nothing started\n", path, errs->n,
		errs->n == 1 ? "" : "s");
}

/* Probe a virtual device or find an already probed one; returns the port id. */
static int
port_attach(const struct cfg *cfg, unsigned int idx, uint16_t *port_id)
{
	char name[CFG_DEVICE_MAX], device[CFG_DEVICE_MAX + 64];
	char *comma;
	int rc;

	snprintf(name, sizeof(name), "%s", cfg->ports[idx].device);
	comma = strchr(name, ',');
	if (comma != NULL)
		*comma = '\0';
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;
	eqx_agents_port_device(cfg, idx, device, sizeof(device));
	if (strcmp(device, cfg->ports[idx].device) != 0)
		EQX_LOG(INFO, main, "ports[%u]: opening \"%s\"", idx, device);
	rc = rte_dev_probe(device);
	if (rc != 0)
		return rc;
	return rte_eth_dev_get_port_by_name(name, port_id);
}

static int
port_init(struct eqx_app *app, unsigned int idx, const struct cfg_port *cp)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	struct eqx_port *p = &app->ports[idx];
	uint16_t q, nq = (uint16_t)app->n_workers;
	int socket, rc;

	rc = port_attach(app->cfg, idx, &p->port_id);
	if (rc != 0) {
		EQX_LOG(ERR, main, "ports[%u]: cannot open device \"%s\": %s", idx, cp->device,
			strerror(-rc));
		return rc;
	}
	snprintf(p->name, sizeof(p->name), "%s", cp->name);
	rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc != 0)
		return rc;
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		EQX_LOG(ERR, main, "ports[%u]: %s has %u queues, dataplane.workers needs %u", idx,
			cp->device, info.max_rx_queues, nq);
		return -EINVAL;
	}
	/* af_packet fans flows out to every queue pair it has, polled or not. */
	if (strcmp(info.driver_name, "net_af_packet") == 0 && info.max_rx_queues != nq) {
		EQX_LOG(ERR, main,
			"ports[%u].device: qpairs=%u but dataplane.workers=%u; with "
			"net_af_packet they must be equal",
			idx, info.max_rx_queues, nq);
		return -EINVAL;
	}
	if (nq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			info.flow_type_rss_offloads;
	}
	rc = rte_eth_dev_configure(p->port_id, nq, nq, &conf);
	if (rc != 0)
		goto fail;
	socket = rte_eth_dev_socket_id(p->port_id);
	for (q = 0; q < nq; q++) {
		rc = rte_eth_rx_queue_setup(p->port_id, q, EQX_RX_DESC, (unsigned int)socket, NULL,
					    app->pool);
		if (rc != 0)
			goto fail;
		rc = rte_eth_tx_queue_setup(p->port_id, q, EQX_TX_DESC, (unsigned int)socket, NULL);
		if (rc != 0)
			goto fail;
	}
	rc = rte_eth_macaddr_get(p->port_id, &p->mac);
	if (rc != 0)
		goto fail;
	if (cp->mtu != 0) {
		rc = rte_eth_dev_set_mtu(p->port_id, cp->mtu);
		if (rc != 0) {
			EQX_LOG(ERR, main, "ports[%u].mtu: %s refuses MTU %u: %s", idx, cp->device,
				cp->mtu, strerror(-rc));
			goto fail;
		}
	}
	if (rte_eth_dev_get_mtu(p->port_id, &app->port_mtu[idx]) != 0)
		app->port_mtu[idx] = RTE_ETHER_MTU;
	rc = rte_eth_dev_start(p->port_id);
	if (rc != 0)
		goto fail;
	EQX_LOG(INFO, main, "port %s: %s, %u queue pair%s, mac " RTE_ETHER_ADDR_PRT_FMT ", mtu %u",
		cp->name, info.driver_name, nq, nq == 1 ? "" : "s", RTE_ETHER_ADDR_BYTES(&p->mac),
		app->port_mtu[idx]);
	return 0;
fail:
	EQX_LOG(ERR, main, "ports[%u] (%s): set-up failed: %s", idx, cp->device, strerror(-rc));
	return rc;
}

/* A flow table on the lcore's socket, sized for n entries. */
static struct flow_table *
table_create(unsigned int lcore, uint32_t n, const struct flow_timeouts *to)
{
	size_t sz = flow_table_memsize(n);
	void *mem;

	mem = rte_zmalloc_socket("eqx_flows", sz, RTE_CACHE_LINE_SIZE,
				 (int)rte_lcore_to_socket_id(lcore));
	if (mem == NULL)
		return NULL;
	return flow_table_init(mem, sz, n, to);
}

static int
workers_init(struct eqx_app *app)
{
	const struct cfg *cfg = app->cfg;
	const struct flow_timeouts to = {
		.syn = cfg->dataplane.timeouts.tcp_syn_s,
		.established = cfg->dataplane.timeouts.tcp_established_s,
		.closing = cfg->dataplane.timeouts.tcp_closing_s,
		.udp = cfg->dataplane.timeouts.udp_s,
	};
	/* Pins live as long as the longest affinity timeout; the VIP's own is checked on use. */
	const struct flow_timeouts pin_to = { 86400, 86400, 86400, 86400 };
	const struct flow_timeouts frag_to = { EQX_FRAG_TIMEOUT_S, EQX_FRAG_TIMEOUT_S,
					       EQX_FRAG_TIMEOUT_S, EQX_FRAG_TIMEOUT_S };
	uint32_t pins = RTE_MAX(cfg->dataplane.flow_table_size / 4, 1024u);
	unsigned int i, lcore, socket;
	char name[RTE_RING_NAMESIZE];
	size_t sz;

	app->workers = rte_zmalloc("eqx_workers", sizeof(*app->workers) * app->n_workers,
				   RTE_CACHE_LINE_SIZE);
	sz = rte_rcu_qsbr_get_memsize(app->n_workers);
	app->qsbr = rte_zmalloc("eqx_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (app->workers == NULL || app->qsbr == NULL)
		return -ENOMEM;
	if (rte_rcu_qsbr_init(app->qsbr, app->n_workers) != 0)
		return -rte_errno;

	i = 0;
	RTE_LCORE_FOREACH_WORKER (lcore) {
		struct eqx_worker *w = &app->workers[i];

		if (i == app->n_workers)
			break;
		socket = rte_lcore_to_socket_id(lcore);
		w->id = i;
		w->lcore = lcore;
		snprintf(name, sizeof(name), "eqx_up%u", i);
		w->to_ctrl = rte_ring_create(name, EQX_RING_SIZE, (int)socket,
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "eqx_down%u", i);
		w->from_ctrl = rte_ring_create(name, EQX_RING_SIZE, (int)socket,
					       RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "eqx_ev%u", i);
		w->events = rte_ring_create_elem(name, sizeof(struct eqx_event), EQX_RING_SIZE,
						 (int)socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "eqx_inst%u", i);
		w->installs = rte_ring_create_elem(name, sizeof(struct eqx_event), EQX_RING_SIZE,
						   (int)socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "eqx_relay%u", i);
		w->relay = rte_ring_create(name, EQX_RING_SIZE, (int)socket,
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
		w->flows = table_create(lcore, cfg->dataplane.flow_table_size, &to);
		w->affinity = table_create(lcore, pins, &pin_to);
		w->frags = table_create(lcore, EQX_FRAG_TABLE_SIZE, &frag_to);
		if (w->to_ctrl == NULL || w->from_ctrl == NULL || w->events == NULL ||
		    w->installs == NULL || w->relay == NULL || w->flows == NULL ||
		    w->affinity == NULL || w->frags == NULL)
			return -ENOMEM;
		flow_table_set_release(w->flows, eqx_dp_flow_released, w);
		i++;
	}
	return 0;
}

static void
teardown(struct eqx_app *app)
{
	unsigned int i;

	eqx_ctlsock_close();
	for (i = 0; i < app->n_ports; i++) {
		rte_eth_dev_stop(app->ports[i].port_id);
		rte_eth_dev_close(app->ports[i].port_id);
	}
	eqx_state_fini(app);
	eqx_nh_fini(app);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "dump", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg_errors *errs;
	bool check_only = false, dump = false, cfg_owned = true;
	struct eqx_app *app = &eqx;
	struct sigaction sa;
	struct cfg *cfg;
	char **eal_argv;
	unsigned int i;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			app->config_path = optarg;
			break;
		case 'k':
			check_only = true;
			break;
		case 'd':
			dump = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("equinox %s\n", EQX_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (app->config_path == NULL || optind != argc) {
		usage(stderr);
		return EXIT_CONFIG;
	}

	errs = calloc(1, sizeof(*errs));
	if (errs == NULL)
		return 1;
	cfg = cfg_load_file(app->config_path, errs);
	if (cfg != NULL)
		eqx_config_check(cfg, errs);
	if (errs->n != 0) {
		print_errors(app->config_path, errs);
		cfg_free(cfg);
		return EXIT_CONFIG;
	}
	if (check_only) {
		if (dump) {
			char *s = cfg_dump(cfg);

			printf("%s\n", s != NULL ? s : "{}");
			free(s);
		}
		printf("equinox: %s: configuration is valid\n", app->config_path);
		cfg_free(cfg);
		return 0;
	}

	/* EAL takes its own argv: program name, then the config's list. */
	eal_argv = calloc(cfg->n_eal + 2, sizeof(char *));
	if (eal_argv == NULL)
		return 1;
	eal_argv[0] = argv[0];
	for (i = 0; i < cfg->n_eal; i++)
		eal_argv[i + 1] = cfg->eal[i];
	rc = rte_eal_init((int)cfg->n_eal + 1, eal_argv);
	if (rc < 0) {
		fprintf(stderr, "equinox: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	rte_log_set_level_pattern("equinox.*", (uint32_t)cfg->log.level + 1);

	app->n_workers = cfg->dataplane.workers;
	app->n_ports = cfg->n_ports;
	app->cfg = cfg;
	app->tsc_hz = rte_get_tsc_hz();
	if (rte_lcore_count() < app->n_workers + 1) {
		fprintf(stderr,
			"equinox: %s: dataplane.workers: %u workers need %u lcores, the "
			"eal list gives %u\n",
			app->config_path, app->n_workers, app->n_workers + 1, rte_lcore_count());
		rte_eal_cleanup();
		return EXIT_CONFIG;
	}

	if (eqx_mbuf_fields_init() != 0) {
		EQX_LOG(ERR, main, "cannot register the mbuf fields: %s", rte_strerror(rte_errno));
		goto fail;
	}
	app->pool = rte_pktmbuf_pool_create("eqx_mbufs", cfg->dataplane.mbufs, 256, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (app->pool == NULL) {
		EQX_LOG(ERR, main, "cannot allocate %u mbufs: %s", cfg->dataplane.mbufs,
			rte_strerror(rte_errno));
		goto fail;
	}
	rc = workers_init(app);
	if (rc != 0) {
		EQX_LOG(ERR, main, "worker set-up failed: %s", strerror(-rc));
		goto fail;
	}
	for (i = 0; i < app->n_ports; i++)
		if (port_init(app, i, &cfg->ports[i]) != 0)
			goto fail;

	memset(errs, 0, sizeof(*errs));
	cfg_owned = false; /* the state takes it, or frees it on failure */
	if (eqx_state_apply(app, cfg, errs) != 0) {
		app->cfg = NULL;
		print_errors(app->config_path, errs);
		goto fail;
	}
	if (eqx_telemetry_init(app) != 0 || eqx_agents_telemetry_init() != 0)
		EQX_LOG(WARNING, main, "telemetry commands not registered");
	if (eqx_agents_start(app) != 0)
		goto fail;
	rc = eqx_ctlsock_open(app->cfg->control.socket);
	if (rc != 0) {
		EQX_LOG(ERR, main, "control.socket %s: %s", app->cfg->control.socket,
			strerror(-rc));
		goto fail;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < app->n_workers; i++) {
		rc = rte_eal_remote_launch(eqx_worker_main, &app->workers[i],
					   app->workers[i].lcore);
		if (rc != 0) {
			EQX_LOG(ERR, main, "cannot launch worker %u: %s", i, strerror(-rc));
			app->quit = true;
			break;
		}
	}
	if (!app->quit)
		EQX_LOG(NOTICE, main,
			"%s ready: %u worker%s, %u port%s, %u VIP%s, generation %" PRIu64,
			app->cfg->instance.name, app->n_workers, app->n_workers == 1 ? "" : "s",
			app->n_ports, app->n_ports == 1 ? "" : "s", app->cfg->n_vips,
			app->cfg->n_vips == 1 ? "" : "s", app->generation);
	eqx_control_loop(app);

	EQX_LOG(NOTICE, main, "stopping");
	/* The agents' last words (an HA goodbye) still need worker 0 to send them. */
	eqx_agents_stop(app);
	for (i = 0; i < 100 && !rte_ring_empty(app->workers[0].from_ctrl); i++)
		rte_delay_us_sleep(1000);
	app->workers_quit = true;
	rte_eal_mp_wait_lcore();
	teardown(app);
	free(errs);
	free(eal_argv);
	rte_eal_cleanup();
	return 0;

fail:
	app->quit = true;
	app->workers_quit = true;
	rte_eal_mp_wait_lcore();
	eqx_agents_stop(app);
	teardown(app);
	if (cfg_owned)
		cfg_free(cfg);
	free(errs);
	free(eal_argv);
	rte_eal_cleanup();
	return 1;
}
