/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The LISP map-server and map-resolver (RFC 9301) on the control lcore:
 * lib/lisp's lisp_ms fed with the UDP 4342 datagrams the workers pass up,
 * its answers sent through src/udp.c, its registrations kept in
 * lisp.state_file so that a restarted equinox answers from them at once.
 *
 * - Answers to the sender of a datagram (Map-Notify, a Map-Reply to an ITR
 *   whose ITR-RLOC is the request's source) go straight back to the MAC the
 *   datagram came from: no route or neighbour lookup, so the first request
 *   after a restart is answered as soon as it arrives. Everything else
 *   (a request forwarded to an ETR, a restore Map-Notify) is routed; while
 *   its next hop is being resolved it waits in a queue, up to
 *   LISP_TXQ_WAIT_MS, and is retried a few at a time on every poll.
 *
 * - Persistence: at most every LISP_SAVE_INTERVAL_MS, when the table changed,
 *   the control lcore encodes a snapshot (lisp_state_encode, memory only)
 *   and hands it to a writer thread, which writes "<state_file>.tmp",
 *   fsyncs it, renames it over state_file and fsyncs the directory
 *   (lisp_state_write). The fsyncs take milliseconds to tens of them, which
 *   the control lcore (PTP, ARP, HA heartbeats) must not wait for; the thread
 *   touches nothing but the buffer it was given. With a big table under
 *   constant churn the interval grows to LISP_SAVE_SHARE times the encoding
 *   time (10k registrations: about 2 ms). A crash at any point leaves
 *   the previous file or the new one, never a torn one (the loader checks a
 *   checksum and loads whole or not at all). What a crash can lose: the
 *   changes of the last interval plus those of the write in flight; a lost new
 *   registration comes back with its ETR's next Map-Register (60 s), a lost
 *   refresh only leaves the older expiry. A clean stop writes the last state.
 *
 * - Start: the state file is loaded before the workers run; its entries are
 *   answered from at once, marked restored, and each known ETR is sent an
 *   authenticated Map-Notify with its stored records (retransmitted until
 *   acknowledged), so that an ETR that supports it re-registers at once.
 *   A file that fails its checks is renamed "<state_file>.bad" and equinox
 *   starts empty.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_lcore.h>

#include "agent.h"
#include "lisp/lisp_ms.h"
#include "lisp/lisp_state.h"
#include "lisp/lisp_wire.h"
#include "lisp_agent.h"
#include "udp.h"

RTE_LOG_REGISTER(eqx_logtype_lisp, equinox.lisp, INFO);

#define LISP_SAVE_INTERVAL_MS 200 /* at most one state file write per interval */
#define LISP_SAVE_SHARE 20        /* and no more often than 20 times its encoding time */
#define LISP_TXQ_SIZE 32768       /* messages waiting for a next hop (power of 2) */
#define LISP_TXQ_PER_POLL 64      /* of them retried per poll */
#define LISP_TXQ_WAIT_MS 3000     /* then dropped; restore notifies are retransmitted */
#define LISP_LIST_MAX 1000        /* registrations `equinoxctl lisp registrations` lists */
#define LISP_LOG_INTERVAL_S 1     /* rejects logged at most this often */

/* What the agent counts besides lib/lisp's counters. Names are the counter names. */
#define foreach_lisp_agent_ctr                    \
	_(RX_DATAGRAMS, "rx_datagrams")           \
	_(RX_WRONG_PORT, "rx_dropped_wrong_port") \
	_(TX_SENT, "tx_sent")                     \
	_(TX_WAITED, "tx_waited_for_neighbour")   \
	_(TX_UNRESOLVED, "tx_dropped_unresolved") \
	_(TX_NO_ROUTE, "tx_dropped_no_route")     \
	_(TX_NO_BUFFER, "tx_dropped_no_buffer")   \
	_(TX_TOO_BIG, "tx_dropped_too_big")       \
	_(TX_QUEUE_FULL, "tx_dropped_queue_full") \
	_(TX_OTHER, "tx_dropped_other")           \
	_(STATE_ENCODE_ERRORS, "state_encode_errors")

enum lisp_agent_ctr {
#define _(sym, str) LA_##sym,
	foreach_lisp_agent_ctr
#undef _
		LA_CTR_MAX,
};

static const char *const agent_ctr_names[] = {
#define _(sym, str) [LA_##sym] = str,
	foreach_lisp_agent_ctr
#undef _
};

/* A message waiting for its next hop. */
struct txq_ent {
	uint64_t deadline; /* TSC */
	struct cfg_addr dst;
	uint16_t sport, dport;
	uint16_t len;
	uint8_t data[];
};

/* The writer thread and what the control lcore hands it; all under lock. */
struct saver {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running;
	bool quit;
	bool busy;
	uint8_t *buf; /* a snapshot to write, NULL when none is waiting */
	size_t len;
	uint64_t generation; /* of buf */
	char path[CFG_PATH_MAX];
	/* results */
	uint64_t saves;
	uint64_t errors;
	int last_error;
	uint64_t saved_generation;
	uint64_t last_bytes;
	uint64_t last_write_us;
	uint64_t errors_logged;
};

static struct {
	struct lisp_ms *ms;
	bool running;
	int port; /* index of lisp.port in app->ports, -1: every port */
	uint64_t ctr[LA_CTR_MAX];
	struct lisp_out out; /* the answer to the datagram being handled */

	struct txq_ent **txq;
	unsigned int txq_head;
	unsigned int txq_n;

	uint64_t next_tick;  /* TSC: lisp_ms_tick once a second */
	uint64_t next_save;  /* TSC: earliest next snapshot */
	uint64_t handed_gen; /* generation of the last snapshot handed to the writer */
	uint64_t encode_us;  /* how long the last snapshot took to encode */
	uint64_t next_log;   /* TSC: rate limit of reject logs */
	uint64_t logs_suppressed;

	/* recovery, for telemetry and the benchmark */
	int load_rc;
	uint64_t load_us;
	uint64_t start_to_loaded_us;
	uint64_t start_to_first_answer_us;
	bool answered;
	unsigned int restore_notifies;
} la = { .port = -1 };

static struct saver saver = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static uint64_t proc_start_ns;

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* When the process was loaded: the origin of the recovery times it reports. */
RTE_INIT(lisp_note_start)
{
	proc_start_ns = mono_ns();
}

/* The state file and expiries are in wall-clock seconds: they must survive a restart. */
static uint64_t
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static bool
enabled(const struct cfg *cfg)
{
	return cfg->lisp.enabled;
}

/* ---- sending ---- */

static void
tx_count(int rc)
{
	switch (rc) {
	case 0:
		la.ctr[LA_TX_SENT]++;
		break;
	case -EAGAIN:
		la.ctr[LA_TX_UNRESOLVED]++;
		break;
	case -ENETUNREACH:
	case -EADDRNOTAVAIL:
		la.ctr[LA_TX_NO_ROUTE]++;
		break;
	case -ENOBUFS:
		la.ctr[LA_TX_NO_BUFFER]++;
		break;
	case -EMSGSIZE:
		la.ctr[LA_TX_TOO_BIG]++;
		break;
	default:
		la.ctr[LA_TX_OTHER]++;
		break;
	}
}

static void
txq_push(struct eqx_app *app, const struct cfg_addr *dst, uint16_t sport, uint16_t dport,
	 const uint8_t *data, uint16_t len)
{
	struct txq_ent *e;

	if (la.txq_n == LISP_TXQ_SIZE) {
		la.ctr[LA_TX_QUEUE_FULL]++;
		return;
	}
	e = malloc(sizeof(*e) + len);
	if (e == NULL) {
		la.ctr[LA_TX_NO_BUFFER]++;
		return;
	}
	e->deadline = rte_rdtsc() + app->tsc_hz / 1000 * LISP_TXQ_WAIT_MS;
	e->dst = *dst;
	e->sport = sport;
	e->dport = dport;
	e->len = len;
	memcpy(e->data, data, len);
	la.txq[(la.txq_head + la.txq_n++) & (LISP_TXQ_SIZE - 1)] = e;
	la.ctr[LA_TX_WAITED]++;
}

/* Retry a few waiting messages; those whose next hop is still unknown go to the back. */
static void
txq_drain(struct eqx_app *app, uint64_t now_tsc)
{
	unsigned int n = RTE_MIN(la.txq_n, (unsigned int)LISP_TXQ_PER_POLL);
	struct txq_ent *e;
	int rc;

	while (n-- > 0) {
		e = la.txq[la.txq_head];
		la.txq_head = (la.txq_head + 1) & (LISP_TXQ_SIZE - 1);
		la.txq_n--;
		rc = eqx_udp_send(app, &e->dst, e->sport, e->dport, e->data, e->len);
		if (rc == -EAGAIN && now_tsc < e->deadline) {
			la.txq[(la.txq_head + la.txq_n++) & (LISP_TXQ_SIZE - 1)] = e;
			continue;
		}
		tx_count(rc);
		free(e);
	}
}

static void
txq_free(void)
{
	while (la.txq_n > 0) {
		free(la.txq[la.txq_head]);
		la.txq_head = (la.txq_head + 1) & (LISP_TXQ_SIZE - 1);
		la.txq_n--;
	}
	free(la.txq);
	la.txq = NULL;
}

static bool
addr_is(const struct lisp_addr *a, uint8_t family, const uint8_t *bytes)
{
	return a->family == family && memcmp(a->bytes, bytes, lisp_addr_bits(family) / 8) == 0;
}

/*
 * Send one message of lib/lisp. `in` is the datagram it answers, or NULL: an
 * answer to that datagram's source goes back the way the datagram came.
 */
static void
tx_out(struct eqx_app *app, const struct lisp_out *o, const struct eqx_udp_dgram *in)
{
	struct eqx_udp_dgram back;
	struct cfg_addr dst;
	int rc;

	if (in != NULL && addr_is(&o->dst, in->family, in->src)) {
		back = *in;
		back.sport = o->dport; /* the reply's destination port */
		back.dport = o->sport;
		tx_count(eqx_udp_reply(app, &back, o->buf, o->len));
		return;
	}
	memset(&dst, 0, sizeof(dst));
	dst.family = o->dst.family;
	memcpy(dst.bytes, o->dst.bytes, lisp_addr_bits(o->dst.family) / 8);
	rc = eqx_udp_send(app, &dst, o->sport, o->dport, o->buf, o->len);
	if (rc == -EAGAIN)
		txq_push(app, &dst, o->sport, o->dport, o->buf, o->len);
	else
		tx_count(rc);
}

/* lisp_send_fn for the timers and restore notifies. */
static void
send_cb(void *arg, const struct lisp_out *o)
{
	tx_out(arg, o, NULL);
}

/* ---- the state file ---- */

static void *
saver_main(void *arg)
{
	char path[CFG_PATH_MAX];
	uint64_t gen, t0;
	uint8_t *buf;
	size_t len;
	int rc;

	RTE_SET_USED(arg);
	pthread_mutex_lock(&saver.lock);
	for (;;) {
		while (!saver.quit && saver.buf == NULL)
			pthread_cond_wait(&saver.cond, &saver.lock);
		if (saver.buf == NULL)
			break; /* quit, nothing left to write */
		buf = saver.buf;
		len = saver.len;
		gen = saver.generation;
		memcpy(path, saver.path, sizeof(path));
		saver.buf = NULL;
		saver.busy = true;
		pthread_mutex_unlock(&saver.lock);

		t0 = mono_ns();
		rc = lisp_state_write(path, buf, len);
		free(buf);

		pthread_mutex_lock(&saver.lock);
		saver.busy = false;
		saver.last_write_us = (mono_ns() - t0) / 1000;
		if (rc == 0) {
			saver.saves++;
			saver.saved_generation = gen;
			saver.last_bytes = len;
		} else {
			saver.errors++;
			saver.last_error = rc;
		}
		pthread_cond_broadcast(&saver.cond);
	}
	pthread_mutex_unlock(&saver.lock);
	return NULL;
}

static bool
saver_idle_locked(void)
{
	return saver.buf == NULL && !saver.busy;
}

/*
 * Hand the writer a snapshot of the table if it changed since the last one,
 * the interval has passed (or force) and the writer is idle; otherwise try
 * again on a later poll.
 */
static void
save_maybe(struct eqx_app *app, uint64_t now_tsc, bool force)
{
	uint64_t gen = lisp_ms_generation(la.ms), t0, spent;
	size_t cap;
	uint8_t *buf;
	bool idle;
	int len;

	if (!saver.running || gen == la.handed_gen || (!force && now_tsc < la.next_save))
		return;
	pthread_mutex_lock(&saver.lock);
	idle = saver_idle_locked();
	pthread_mutex_unlock(&saver.lock);
	if (!idle)
		return;
	t0 = rte_rdtsc();
	cap = lisp_state_size(la.ms);
	buf = malloc(cap);
	len = buf != NULL ? lisp_state_encode(la.ms, wall_now(), buf, cap) : -ENOMEM;
	spent = rte_rdtsc() - t0;
	la.encode_us = spent * 1000000 / app->tsc_hz;
	/* A big table under constant churn takes at most 1/LISP_SAVE_SHARE of the lcore. */
	la.next_save =
		t0 + RTE_MAX(app->tsc_hz / 1000 * LISP_SAVE_INTERVAL_MS, spent * LISP_SAVE_SHARE);
	if (len < 0) {
		free(buf);
		la.ctr[LA_STATE_ENCODE_ERRORS]++;
		return;
	}
	pthread_mutex_lock(&saver.lock);
	saver.buf = buf;
	saver.len = (size_t)len;
	saver.generation = gen;
	pthread_cond_signal(&saver.cond);
	pthread_mutex_unlock(&saver.lock);
	la.handed_gen = gen;
}

/* Log the writer's new failures, once each. */
static void
save_report(void)
{
	uint64_t errors;
	int err;

	pthread_mutex_lock(&saver.lock);
	errors = saver.errors;
	err = saver.last_error;
	pthread_mutex_unlock(&saver.lock);
	if (errors == saver.errors_logged)
		return;
	/* Only the control lcore writes errors_logged. */
	if (saver.errors_logged == 0 || errors - saver.errors_logged >= 100)
		EQX_LOG(ERR, lisp, "cannot write the state file %s: %s (%" PRIu64 " failures)",
			saver.path, strerror(-err), errors);
	saver.errors_logged = errors;
}

static int
saver_start(const char *path)
{
	int rc;

	pthread_mutex_lock(&saver.lock);
	snprintf(saver.path, sizeof(saver.path), "%s", path);
	saver.quit = false;
	pthread_mutex_unlock(&saver.lock);
	rc = rte_ctrl_thread_create(&saver.thread, "eqx-lisp-save", NULL, saver_main, NULL);
	if (rc != 0)
		return rc; /* -errno */
	saver.running = true;
	return 0;
}

/* Write what is not written yet, then end the thread. */
static void
saver_stop(struct eqx_app *app)
{
	if (!saver.running)
		return;
	pthread_mutex_lock(&saver.lock);
	while (!saver_idle_locked())
		pthread_cond_wait(&saver.cond, &saver.lock);
	pthread_mutex_unlock(&saver.lock);
	save_maybe(app, rte_rdtsc(), true);
	pthread_mutex_lock(&saver.lock);
	saver.quit = true;
	pthread_cond_signal(&saver.cond);
	pthread_mutex_unlock(&saver.lock);
	pthread_join(saver.thread, NULL);
	saver.running = false;
	save_report();
}

static const char *
load_result(int rc)
{
	if (rc >= 0)
		return "loaded";
	switch (rc) {
	case -ENOENT:
		return "no_file";
	case -EBADMSG:
		return "corrupt";
	case -EPROTONOSUPPORT:
		return "other_version";
	case -ENOSPC:
		return "too_many_registrations";
	default:
		return strerror(-rc);
	}
}

/* Load the state file into the new map-server and keep a bad one aside. */
static void
state_load(const char *path)
{
	char bad[CFG_PATH_MAX + 8];
	uint64_t t0 = rte_rdtsc();

	la.load_rc = lisp_state_load(la.ms, path, wall_now());
	la.load_us = (rte_rdtsc() - t0) * 1000000 / rte_get_tsc_hz();
	la.start_to_loaded_us = (mono_ns() - proc_start_ns) / 1000;
	if (la.load_rc >= 0) {
		EQX_LOG(NOTICE, lisp,
			"restored %d registrations from %s in %" PRIu64 " us (%" PRIu64
			" us after process start)",
			la.load_rc, path, la.load_us, la.start_to_loaded_us);
	} else if (la.load_rc == -ENOENT) {
		EQX_LOG(NOTICE, lisp, "no state file %s: starting with no registrations", path);
	} else if (la.load_rc == -EBADMSG || la.load_rc == -EPROTONOSUPPORT) {
		/* Kept for a look, out of the way of the next save. */
		snprintf(bad, sizeof(bad), "%s.bad", path);
		EQX_LOG(WARNING, lisp, "state file %s not loaded (%s); kept as %s, starting empty",
			path, load_result(la.load_rc), bad);
		if (rename(path, bad) != 0)
			EQX_LOG(WARNING, lisp, "cannot rename %s: %s", path, strerror(errno));
	} else {
		EQX_LOG(WARNING, lisp, "state file %s not loaded (%s); starting empty", path,
			load_result(la.load_rc));
	}
}

/* The state file's directory, made when missing (one level, like /var/lib/equinox). */
static void
state_dir_make(const char *path)
{
	char dir[CFG_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		EQX_LOG(WARNING, lisp, "cannot create %s: %s", dir, strerror(errno));
}

/* ---- receiving ---- */

static void
log_reject(int rc, const struct eqx_udp_dgram *d, uint64_t now_tsc)
{
	char src[INET6_ADDRSTRLEN];

	if (now_tsc < la.next_log) {
		la.logs_suppressed++;
		return;
	}
	la.next_log = now_tsc + rte_get_tsc_hz() * LISP_LOG_INTERVAL_S;
	inet_ntop(d->family == 4 ? AF_INET : AF_INET6, d->src, src, sizeof(src));
	EQX_LOG(INFO, lisp, "rejected a %s from %s port %u: %s (%" PRIu64 " more not logged)",
		lisp_type_name(lisp_msg_type(d->data, d->len)), src, d->sport,
		lisp_ms_reject_name(rc), la.logs_suppressed);
	la.logs_suppressed = 0;
}

static void
lisp_rx(struct eqx_app *app, const struct eqx_udp_dgram *d, void *arg)
{
	struct lisp_pkt_info pkt;
	int rc, type;

	RTE_SET_USED(arg);
	la.ctr[LA_RX_DATAGRAMS]++;
	if (la.port >= 0 && d->port != app->ports[la.port].port_id) {
		la.ctr[LA_RX_WRONG_PORT]++;
		return;
	}
	memset(&pkt, 0, sizeof(pkt));
	pkt.src.family = pkt.dst.family = d->family;
	memcpy(pkt.src.bytes, d->src, 16);
	memcpy(pkt.dst.bytes, d->dst, 16);
	pkt.sport = d->sport;
	pkt.dport = d->dport;
	rc = lisp_ms_input(la.ms, &pkt, d->data, d->len, wall_now(), &la.out);
	if (rc != LISP_MS_OK)
		log_reject(rc, d, rte_rdtsc());
	if (la.out.len == 0)
		return;
	tx_out(app, &la.out, d);
	type = lisp_msg_type(la.out.buf, la.out.len);
	if (!la.answered && (type == LISP_TYPE_MAP_REPLY || type == LISP_TYPE_ECM)) {
		la.answered = true;
		la.start_to_first_answer_us = (mono_ns() - proc_start_ns) / 1000;
	}
}

/* ---- the agent ---- */

static void
lisp_teardown(void)
{
	if (la.txq != NULL)
		txq_free();
	lisp_ms_free(la.ms);
	la.ms = NULL;
	la.running = false;
}

static int
resolve_port(const struct cfg *cfg)
{
	if (cfg->lisp.port[0] == '\0')
		return -1;
	return cfg_port_index(cfg, cfg->lisp.port);
}

static int
start(struct eqx_app *app)
{
	struct lisp_ms_params p;
	uint64_t now;
	int rc;

	memset(&p, 0, sizeof(p));
	/* Unsolicited Map-Notify nonces must not repeat across restarts. */
	if (getrandom(&p.nonce_seed, sizeof(p.nonce_seed), 0) != sizeof(p.nonce_seed))
		p.nonce_seed = rte_rdtsc() ^ mono_ns();
	la.ms = lisp_ms_create(app->cfg, &p);
	if (la.ms == NULL) {
		rc = -errno;
		EQX_LOG(ERR, lisp, "cannot create the map-server: %s", strerror(errno));
		return rc;
	}
	la.port = resolve_port(app->cfg);
	la.txq = calloc(LISP_TXQ_SIZE, sizeof(la.txq[0]));
	if (la.txq == NULL) {
		lisp_teardown();
		return -ENOMEM;
	}
	state_load(app->cfg->lisp.state_file);
	state_dir_make(app->cfg->lisp.state_file);
	/* What was loaded is the file's content: nothing to write back yet. */
	la.handed_gen = lisp_ms_generation(la.ms);
	saver.saved_generation = la.handed_gen;
	rc = saver_start(app->cfg->lisp.state_file);
	if (rc == 0)
		rc = eqx_udp_register(LISP_PORT, lisp_rx, NULL);
	if (rc != 0) {
		EQX_LOG(ERR, lisp, "cannot start: %s", strerror(-rc));
		saver_stop(app);
		lisp_teardown();
		return rc;
	}
	la.running = true;
	now = wall_now();
	/* Queued until the workers run and the ETRs' next hops resolve. */
	la.restore_notifies = lisp_ms_notify_restored(la.ms, now, send_cb, app);
	if (la.restore_notifies > 0)
		EQX_LOG(NOTICE, lisp,
			"asked the ETRs of %u restored registrations to re-register "
			"(%u Map-Notify)",
			lisp_ms_restored_count(la.ms), la.restore_notifies);
	la.next_tick = rte_rdtsc() + app->tsc_hz;
	return 0;
}

static void
poll_fn(struct eqx_app *app, uint64_t now_tsc)
{
	if (now_tsc >= la.next_tick) {
		lisp_ms_tick(la.ms, wall_now(), send_cb, app);
		la.next_tick = now_tsc + app->tsc_hz;
		save_report();
	}
	if (la.txq_n > 0)
		txq_drain(app, now_tsc);
	save_maybe(app, now_tsc, false);
}

static void
reload(struct eqx_app *app)
{
	bool moved;
	int rc;

	rc = lisp_ms_reconfigure(la.ms, app->cfg);
	if (rc != 0) {
		EQX_LOG(ERR, lisp, "the new sites were not applied: %s; the old ones stay",
			strerror(-rc));
		return;
	}
	la.port = resolve_port(app->cfg);
	pthread_mutex_lock(&saver.lock);
	moved = strcmp(saver.path, app->cfg->lisp.state_file) != 0;
	snprintf(saver.path, sizeof(saver.path), "%s", app->cfg->lisp.state_file);
	pthread_mutex_unlock(&saver.lock);
	if (moved) {
		state_dir_make(app->cfg->lisp.state_file);
		la.handed_gen = lisp_ms_generation(la.ms) - 1; /* write the new file soon */
	}
}

static void
stop(struct eqx_app *app)
{
	saver_stop(app);
	lisp_teardown();
}

/* ---- telemetry and equinoxctl ---- */

static void
addr_str(const struct lisp_addr *a, char *buf, size_t len)
{
	if (a->family != 4 && a->family != 6) {
		snprintf(buf, len, "none");
		return;
	}
	inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->bytes, buf, (socklen_t)len);
}

static json_t *
counters_json(void)
{
	const struct lisp_ms_stats *st = lisp_ms_stats(la.ms);
	json_t *o = json_object();
	unsigned int i;

	for (i = 0; i < LISP_MS_CTR_MAX; i++)
		json_object_set_new(o, lisp_ms_counter_name((int)i), json_integer(st->ctr[i]));
	for (i = 0; i < LA_CTR_MAX; i++)
		json_object_set_new(o, agent_ctr_names[i], json_integer(la.ctr[i]));
	return o;
}

static json_t *
rejects_json(void)
{
	const struct lisp_ms_stats *st = lisp_ms_stats(la.ms);
	json_t *o = json_object();
	unsigned int i;

	for (i = 1; i < LISP_MS_REJ_MAX; i++)
		json_object_set_new(o, lisp_ms_reject_name((int)i), json_integer(st->reject[i]));
	return o;
}

static json_t *
state_json(void)
{
	json_t *o;

	pthread_mutex_lock(&saver.lock);
	o = json_pack("{s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:b, s:i, s:I}", "path", saver.path,
		      "saves", (json_int_t)saver.saves, "errors", (json_int_t)saver.errors,
		      "last_error", saver.errors != 0 ? strerror(-saver.last_error) : "",
		      "last_bytes", (json_int_t)saver.last_bytes, "last_write_us",
		      (json_int_t)saver.last_write_us, "saved_generation",
		      (json_int_t)saver.saved_generation, "dirty",
		      saver.saved_generation != lisp_ms_generation(la.ms), "interval_ms",
		      LISP_SAVE_INTERVAL_MS, "last_encode_us", (json_int_t)la.encode_us);
	pthread_mutex_unlock(&saver.lock);
	return o;
}

static json_t *
json_fn(struct eqx_app *app)
{
	json_t *rec;

	if (!la.running)
		return NULL;
	rec = json_pack("{s:s, s:i, s:I, s:I, s:I, s:i}", "state_file", load_result(la.load_rc),
			"loaded", la.load_rc > 0 ? la.load_rc : 0, "load_us",
			(json_int_t)la.load_us, "process_start_to_loaded_us",
			(json_int_t)la.start_to_loaded_us, "process_start_to_first_answer_us",
			la.answered ? (json_int_t)la.start_to_first_answer_us : (json_int_t)-1,
			"restore_map_notifies", (int)la.restore_notifies);
	return json_pack(
		"{s:b, s:s, s:i, s:i, s:i, s:I, s:i, s:o, s:o, s:o, s:o}", "enabled", true, "port",
		la.port >= 0 ? app->cfg->ports[la.port].name : "any", "registrations",
		(int)lisp_ms_count(la.ms), "restored", (int)lisp_ms_restored_count(la.ms), "sites",
		(int)lisp_ms_site_count(la.ms), "generation", (json_int_t)lisp_ms_generation(la.ms),
		"tx_waiting", (int)la.txq_n, "recovery", rec, "persistence", state_json(),
		"counters", counters_json(), "rejects", rejects_json());
}

static json_t *
reg_json(const struct lisp_reg *r, uint64_t now)
{
	char a[INET6_ADDRSTRLEN], eid[INET6_ADDRSTRLEN + 4];
	json_t *locs = json_array(), *o;
	unsigned int i;

	for (i = 0; i < r->n_locators; i++) {
		const struct lisp_locator *l = &r->loc[i];

		addr_str(&l->addr, a, sizeof(a));
		json_array_append_new(locs,
				      json_pack("{s:s, s:i, s:i, s:i, s:i, s:b, s:b}", "address", a,
						"priority", l->priority, "weight", l->weight,
						"m_priority", l->mpriority, "m_weight", l->mweight,
						"reachable", (l->flags & LISP_LOC_R) != 0, "local",
						(l->flags & LISP_LOC_L) != 0));
	}
	addr_str(&r->eid.addr, a, sizeof(a));
	snprintf(eid, sizeof(eid), "%s/%u", a, r->eid.len);
	addr_str(&r->etr, a, sizeof(a));
	o = json_pack("{s:s, s:s, s:s, s:i, s:b, s:b, s:b, s:b, s:s, s:i, s:i, s:I, s:I, s:I, "
		      "s:I, s:I, s:i, s:i, s:o}",
		      "eid", eid, "site", lisp_ms_site_name(la.ms, r->site), "etr", a, "etr_port",
		      r->etr_port, "proxy_reply", r->proxy_reply, "want_map_notify",
		      r->want_map_notify, "restored", r->restored, "authoritative",
		      r->authoritative, "action", lisp_act_name(r->act), "ttl_min", (int)r->ttl,
		      "map_version", r->map_version, "expires_in_s",
		      (json_int_t)r->expiry - (json_int_t)now, "expiry", (json_int_t)r->expiry,
		      "registered_at", (json_int_t)r->registered_at, "refreshed_at",
		      (json_int_t)r->refreshed_at, "last_nonce", (json_int_t)r->last_nonce,
		      "key_id", r->key_id, "algorithm_id", r->alg_id, "locators", locs);
	if (r->xtr_id_present) {
		json_object_set_new(o, "xtr_id", eqx_agent_hex_json(r->xtr_id, sizeof(r->xtr_id)));
		json_object_set_new(o, "site_id", json_integer((json_int_t)r->site_id));
	}
	return o;
}

struct list_ctx {
	json_t *arr;
	uint64_t now;
	unsigned int n;
};

static void
list_one(void *arg, const struct lisp_reg *r)
{
	struct list_ctx *c = arg;

	if (c->n++ < LISP_LIST_MAX)
		json_array_append_new(c->arr, reg_json(r, c->now));
}

/* `equinoxctl lisp registrations [EID]`: all (up to LISP_LIST_MAX), or the one covering EID. */
static json_t *
ctl_registrations(json_t *args, const char **err)
{
	struct list_ctx c = { json_array(), wall_now(), 0 };
	const char *eid = json_string_value(json_array_get(args, 1));
	const struct lisp_reg *r;
	struct cfg_prefix cp;
	struct cfg_addr ca;
	struct lisp_prefix p;

	if (eid != NULL) {
		memset(&p, 0, sizeof(p));
		if (strchr(eid, '/') != NULL && cfg_prefix_parse(eid, &cp) == 0) {
			p.addr.family = cp.addr.family;
			memcpy(p.addr.bytes, cp.addr.bytes, 16);
			p.len = cp.len;
		} else if (cfg_addr_parse(eid, &ca) == 0) {
			p.addr.family = ca.family;
			memcpy(p.addr.bytes, ca.bytes, 16);
			p.len = (uint8_t)lisp_addr_bits(ca.family);
		} else {
			json_decref(c.arr);
			*err = "not an EID address or prefix";
			return NULL;
		}
		r = lisp_ms_lookup(la.ms, &p, c.now);
		if (r != NULL)
			json_array_append_new(c.arr, reg_json(r, c.now));
		c.n = lisp_ms_count(la.ms);
	} else {
		lisp_ms_foreach(la.ms, list_one, &c);
	}
	return json_pack("{s:i, s:i, s:o}", "total", (int)lisp_ms_count(la.ms), "shown",
			 (int)json_array_size(c.arr), "registrations", c.arr);
}

static json_t *
ctl_fn(struct eqx_app *app, json_t *args, const char **err)
{
	const char *cmd = json_string_value(json_array_get(args, 0));

	if (cmd != NULL && strcmp(cmd, "registrations") == 0)
		return ctl_registrations(args, err);
	if (cmd != NULL && strcmp(cmd, "save") == 0) {
		/* Written by the writer thread right after; "persistence" shows when. */
		la.handed_gen = lisp_ms_generation(la.ms) - 1;
		save_maybe(app, rte_rdtsc(), true);
		return json_pack("{s:I}", "generation", (json_int_t)lisp_ms_generation(la.ms));
	}
	*err = "unknown lisp command (registrations [EID], save)";
	return NULL;
}

/* ---- for the HA agent (lisp_agent.h) ---- */

uint64_t
eqx_lisp_generation(void)
{
	return la.running ? lisp_ms_generation(la.ms) : 0;
}

int
eqx_lisp_snapshot(uint8_t **buf, size_t *len)
{
	size_t cap;
	int n;

	if (!la.running)
		return -ENOTCONN;
	cap = lisp_state_size(la.ms);
	*buf = malloc(cap);
	if (*buf == NULL)
		return -ENOMEM;
	n = lisp_state_encode(la.ms, wall_now(), *buf, cap);
	if (n < 0) {
		free(*buf);
		*buf = NULL;
		return n;
	}
	*len = (size_t)n;
	return n;
}

unsigned int
eqx_lisp_notify_restored(struct eqx_app *app)
{
	unsigned int n;

	if (!la.running)
		return 0;
	n = lisp_ms_notify_restored(la.ms, wall_now(), send_cb, app);
	la.restore_notifies += n;
	return n;
}

int
eqx_lisp_restore(struct eqx_app *app, const uint8_t *buf, size_t len, unsigned int flags)
{
	int rc;

	if (!la.running)
		return -ENOTCONN;
	rc = lisp_state_decode(la.ms, buf, len, wall_now(), LISP_STATE_REPLACE);
	if (rc >= 0 && (flags & EQX_LISP_RESTORE_NOTIFY))
		eqx_lisp_notify_restored(app);
	return rc;
}

const struct eqx_agent eqx_lisp_agent = {
	.name = "lisp",
	.help = "the LISP map-server: registrations, recovery, counters by message and reject "
		"reason. No parameters",
	.enabled = enabled,
	.start = start,
	.poll = poll_fn,
	.reload = reload,
	.json = json_fn,
	.ctl = ctl_fn,
	.stop = stop,
};
