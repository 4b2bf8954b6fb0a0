/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PTP agent: lib/ptp's clock on the control lcore. It maps the config's
 * PTP ports to DPDK ports, feeds the library the PTP frames the workers pass
 * up with their RX stamps, sends what the library queues (event messages
 * alone, stamped right before their burst), exports the disciplined time to
 * chronyd and shows the clock in telemetry.
 *
 * Time. The library runs on one free-running counter. With software
 * timestamps it is the TSC: the kernel's stamps of the frames, converted
 * (ptp_kstamp.h, on ports with a kernel interface), or the TSC the worker
 * reads when rte_eth_rx_burst returns the burst a frame came in, and right
 * before the rte_eth_tx_burst that carries an event message alone. With
 * hardware timestamps it is the NIC clock of the first PTP port, read raw in
 * ns (rte_eth_timesync_*; never adjusted), and the TSC only gives "now" for
 * the timers, through an anchor refreshed every second. Either way equinox's
 * PTP time is the library's model over the counter; the host's clock is read
 * (to follow it as a free grandmaster, for clock_vs_system_ns and for
 * chronyd), never written.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "agent.h"
#include "ptp/ptp.h"
#include "ptp_kstamp.h"
#include "udp.h"

RTE_LOG_REGISTER(eqx_logtype_ptp, equinox.ptp, INFO);
#define PTP_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, eqx_logtype_ptp, "equinox: ptp: " fmt "\n", ##__VA_ARGS__)

/* Cookies of our stamped sends carry this tag: other agents' stamps are not ours. */
#define COOKIE_TAG 0x5054500000000000ULL /* "PTP" */
#define COOKIE_TAG_MASK 0xffffff0000000000ULL

/* A free grandmaster samples the host clock this often (2^-3 s). */
#define REF_LOG_INTERVAL -3
/* Hardware mode: the TSC -> NIC time anchor is refreshed this often. */
#define HW_ANCHOR_MS 1000
/* Hardware mode: how long to look for a TX stamp in the NIC's latch. */
#define HW_TX_STAMP_WAIT_MS 10
/* Servo samples kept for `equinoxctl ptp samples` (about 8 minutes at 16 Syncs/s). */
#define SAMPLES_MAX 8192
/* The servo starts once this many path delay samples are in (1 s at 8 Delay_Req/s). */
#define SERVO_MIN_DELAY_SAMPLES 3
/* PTP frames held until the control loop has taken the workers' TX stamps. */
#define RXQ_LEN 64
/*
 * Kernel stamps: how long to wait for the kernel's copy of a frame we sent
 * (it is queued before the worker's send returns on a veth or a NIC without
 * a queueing discipline that holds it) before using the worker's TSC stamp.
 */
#define KSTAMP_TX_WAIT_MS 5
/* How long start() watches the TSC against CLOCK_MONOTONIC_RAW. */
#define TSC_CALIBRATE_US 100000

/* What the agent counts besides the library's per-port counters. */
#define foreach_ptp_agent_counter                                                            \
	_(rx_frames)               /* PTP frames handed to the library */                    \
	_(rx_not_ptp_port)         /* PTP frames on a port PTP does not run on */            \
	_(rx_vlan_restored)        /* frames whose VLAN tag the port had stripped */         \
	_(rx_no_mbuf_room)         /* ... and could not be put back */                       \
	_(rx_hw_stamp_missing)     /* hardware mode: frames without a NIC stamp (general) */ \
	_(rx_pmd_stamps)           /* RX stamps the PMD gave (net_pcap: the kernel's) */     \
	_(rx_pmd_stamp_unusable)   /* ... in a unit that is not the host clock's */          \
	_(rx_kernel_stamps)        /* RX stamps the kernel gave (ptp.software_stamps) */     \
	_(rx_kernel_stamp_missing) /* event messages the kernel had no stamp for */          \
	_(tx_kernel_stamps)        /* TX stamps the kernel gave */                           \
	_(tx_kernel_stamp_missing) /* ... not found in time: the worker's TSC used */        \
	_(tx_frames)               /* frames sent */                                         \
	_(tx_event_frames)         /* ... of which event messages, stamped */                \
	_(tx_no_mbuf)              /* no buffer to send one */                               \
	_(tx_ring_full)            /* worker 0's ring refused it */                          \
	_(tx_stamps)               /* TX stamps given to the library */                      \
	_(tx_stamps_foreign)       /* stamps of other agents' frames (ignored) */            \
	_(tx_hw_stamp_missing)     /* hardware mode: the NIC latched no TX stamp */          \
	_(tx_queue_dropped)        /* the library's queue overflowed */                      \
	_(notes_dropped)           /* the library's note queue overflowed */                 \
	_(chrony_samples)          /* samples sent to chronyd */                             \
	_(chrony_errors)           /* ... that could not be sent (chronyd not there) */      \
	_(reference_samples)       /* host clock samples a free grandmaster followed */      \
	_(reloads_ignored)         /* reloads that changed the ptp section */

struct ptp_agent_counters {
#define _(n) uint64_t n;
	foreach_ptp_agent_counter
#undef _
};

enum ts_mode { TS_SOFTWARE, TS_HARDWARE };

/* One servo sample, for `equinoxctl ptp samples`. */
struct sample {
	uint64_t seq;
	int64_t realtime_ns; /* host CLOCK_REALTIME when it was taken */
	int64_t offset_ns;   /* offsetFromMaster */
	int64_t delay_ns;    /* meanPathDelay */
	int64_t vs_system_ns;
	double freq_ppb;
	uint8_t servo_state;
};

/* An event frame whose TX stamp the NIC (or the kernel) holds. */
struct hw_pending {
	bool busy;
	uint8_t type;
	uint16_t seq;
	uint64_t deadline_tsc;
	uint64_t tsc; /* kernel stamps: the worker's stamp, used if none comes */
};

static struct {
	struct ptp p;
	bool running;
	enum ts_mode ts;
	uint16_t app_port[PTP_MAX_PORTS];  /* PTP port -> equinox port index */
	bool pmd_rx_stamps[PTP_MAX_PORTS]; /* the port fills the mbuf RX timestamp */
	bool kstamps[PTP_MAX_PORTS];       /* the kernel's stamps (ptp_kstamp.h) */
	struct ptp_kstamp ks[PTP_MAX_PORTS];
	struct hw_pending ks_tx[PTP_MAX_PORTS];
	int ts_field; /* the mbuf RX timestamp field, -1 when none */
	uint64_t ts_flag;
	int ptp_of_app[EQX_MAX_PORTS]; /* equinox port index -> PTP port, -1 */
	char port_name[PTP_MAX_PORTS][CFG_NAME_MAX];
	uint64_t tsc_hz;
	struct ptp_agent_counters ctr;
	uint64_t seen_samples; /* p.samples already exported */
	uint64_t next_ref_tsc;
	/* hardware mode */
	uint64_t hw_anchor_tsc; /* the TSC when the reference NIC clock read hw_anchor_ns */
	uint64_t hw_anchor_ns;
	uint64_t hw_next_anchor;
	int64_t hw_port_offset[PTP_MAX_PORTS]; /* port's NIC time - the first port's */
	struct hw_pending hw_tx[PTP_MAX_PORTS];
	/* chronyd's SOCK refclock */
	int chrony_fd;
	struct sockaddr_un chrony_addr;
	/* servo samples */
	struct sample *samples;
	uint64_t n_samples; /* ever taken; the ring holds the last SAMPLES_MAX */
	/* the config the clock was started with, to tell a reload that changes it */
	char *started_ptp_dump;
	/* frames passed up, waiting for poll (see frame()) */
	struct rte_mbuf *rxq[RXQ_LEN];
	unsigned int rxq_n;
} ag = { .chrony_fd = -1, .ts_field = -1 };

/* What chronyd's SOCK refclock reads (refclock_sock.c): one datagram per sample. */
struct chrony_sock_sample {
	struct timeval tv; /* system time of the measurement */
	double offset;     /* true time - system time at tv, seconds */
	int pulse;         /* 0: the sample carries the seconds too */
	int leap;          /* 0 none, 1 insert, 2 delete a leap second */
	int pad;
	int magic; /* CHRONY_SOCK_MAGIC */
};
#define CHRONY_SOCK_MAGIC 0x534f434b

static bool
enabled(const struct cfg *cfg)
{
	return cfg->ptp.enabled;
}

/*
 * A net_af_packet port that carries PTP with kernel stamps sends through the
 * kernel's queueing layer (qdisc_bypass=0), or its frames would skip the taps
 * that see when they left. An explicit qdisc_bypass in the device is kept.
 */
static void
port_device(const struct cfg *cfg, unsigned int port, char *device, size_t len)
{
	size_t used = strlen(device);
	unsigned int i;

	if (cfg->ptp.timestamping == CFG_PTP_TS_HARDWARE ||
	    (cfg->ptp.software_stamps != CFG_PTP_SW_AUTO &&
	     cfg->ptp.software_stamps != CFG_PTP_SW_KERNEL) ||
	    strncmp(device, "net_af_packet", 13) != 0 || strstr(device, "qdisc_bypass=") != NULL)
		return;
	for (i = 0; i < cfg->ptp.n_ports; i++)
		if (strcmp(cfg->ptp.ports[i].port, cfg->ports[port].name) == 0 &&
		    used + sizeof(",qdisc_bypass=0") <= len) {
			snprintf(device + used, len - used, ",qdisc_bypass=0");
			return;
		}
}

static const char *
ts_mode_name(enum ts_mode m)
{
	return m == TS_HARDWARE ? "hardware" : "software";
}

/* ---- counters: TSC, NIC time ---- */

static uint64_t
ts_to_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

/* Whole-second split so that ticks * 1e9 cannot overflow. */
static uint64_t
tsc_delta_ns(uint64_t ticks)
{
	return ticks / ag.tsc_hz * 1000000000ULL + ticks % ag.tsc_hz * 1000000000ULL / ag.tsc_hz;
}

static uint64_t
raw_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts_to_ns(&ts);
}

/*
 * The TSC's rate, measured: DPDK's figure may be the CPU's nominal one (2.6 GHz
 * for a TSC that runs at 2.596 GHz: 1500 ppm, beyond what the servo may
 * correct). CLOCK_MONOTONIC_RAW is the kernel's unslewed view of the same
 * crystal; 100 ms of it leaves an error of a few ppm, which the servo learns.
 */
static uint64_t
tsc_calibrate(uint64_t dpdk_hz)
{
	uint64_t t0, t1, n0, n1, hz;

	t0 = rte_rdtsc();
	n0 = raw_ns();
	rte_delay_us_sleep(TSC_CALIBRATE_US);
	t1 = rte_rdtsc();
	n1 = raw_ns();
	if (n1 <= n0 || t1 <= t0)
		return dpdk_hz;
	hz = (uint64_t)llround((double)(t1 - t0) * 1e9 / (double)(n1 - n0));
	/* A figure far from DPDK's is a disturbed measurement, not a TSC. */
	if (hz < dpdk_hz / 100 * 95 || hz > dpdk_hz / 100 * 105)
		return dpdk_hz;
	return hz;
}

/* Hardware mode: read the first PTP port's NIC clock with the TSC around it. */
static int
hw_anchor(void)
{
	struct timespec ts;
	uint64_t t0, t1;
	unsigned int i;
	int rc;

	t0 = rte_rdtsc();
	rc = rte_eth_timesync_read_time(ag.app_port[0], &ts);
	t1 = rte_rdtsc();
	if (rc != 0)
		return rc;
	ag.hw_anchor_tsc = t0 + (t1 - t0) / 2;
	ag.hw_anchor_ns = ts_to_ns(&ts);
	/* Ports on other NICs have clocks of their own: keep each one's offset. */
	for (i = 1; i < ag.p.n_ports; i++) {
		uint64_t mid;

		t0 = rte_rdtsc();
		if (rte_eth_timesync_read_time(ag.app_port[i], &ts) != 0)
			continue;
		t1 = rte_rdtsc();
		mid = t0 + (t1 - t0) / 2;
		ag.hw_port_offset[i] =
			(int64_t)(ts_to_ns(&ts) -
				  (ag.hw_anchor_ns + tsc_delta_ns(mid - ag.hw_anchor_tsc)));
	}
	return 0;
}

/*
 * A CLOCK_REALTIME time (a kernel or PMD stamp, at most seconds old) as a TSC
 * value: the host clock and the TSC read at one instant, and the interval
 * since the stamp converted at the calibrated TSC rate (a stamp "ahead" is now).
 */
static uint64_t
realtime_to_tsc(uint64_t ns)
{
	struct timespec rt;
	uint64_t t0, t1, rt_ns, back;

	t0 = rte_rdtsc();
	clock_gettime(CLOCK_REALTIME, &rt);
	t1 = rte_rdtsc();
	rt_ns = ts_to_ns(&rt);
	back = rt_ns > ns ? rt_ns - ns : 0;
	back = back / NS_PER_SEC * ag.tsc_hz + back % NS_PER_SEC * ag.tsc_hz / NS_PER_SEC;
	return t0 + (t1 - t0) / 2 - back;
}

/* The library's counter at TSC value tsc. */
static uint64_t
counter_at(uint64_t tsc)
{
	if (ag.ts == TS_SOFTWARE)
		return tsc;
	if (tsc >= ag.hw_anchor_tsc)
		return ag.hw_anchor_ns + tsc_delta_ns(tsc - ag.hw_anchor_tsc);
	return ag.hw_anchor_ns - tsc_delta_ns(ag.hw_anchor_tsc - tsc);
}

/* PTP time minus the host's CLOCK_REALTIME, both read at one instant; UTC-corrected. */
static int64_t
clock_vs_system(int64_t *realtime_ns)
{
	struct timespec ts;
	uint64_t t0, t1;
	int64_t ptp_ns;

	t0 = rte_rdtsc();
	clock_gettime(CLOCK_REALTIME, &ts);
	t1 = rte_rdtsc();
	ptp_ns = ptp_time(&ag.p, counter_at(t0 + (t1 - t0) / 2), NULL);
	/* On the PTP timescale the time is TAI: UTC is utc_offset seconds behind. */
	if (ag.p.tpds.flags & PTP_FLAG_PTP_TIMESCALE)
		ptp_ns -= (int64_t)ag.p.tpds.utc_offset * PTP_NS_PER_SEC;
	if (realtime_ns != NULL)
		*realtime_ns = (int64_t)ts_to_ns(&ts);
	return ptp_ns - (int64_t)ts_to_ns(&ts);
}

/* ---- sending ---- */

static uint64_t
cookie_make(unsigned int port, uint8_t type, uint16_t seq)
{
	return COOKIE_TAG | (uint64_t)port << 24 | (uint64_t)type << 16 | seq;
}

static void
send_one(struct eqx_app *app, const struct ptp_tx *tx)
{
	uint16_t port = ag.app_port[tx->port];
	struct rte_mbuf *m;
	uint8_t *d;

	m = rte_pktmbuf_alloc(app->pool);
	d = m == NULL ? NULL : (uint8_t *)rte_pktmbuf_append(m, tx->len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		ag.ctr.tx_no_mbuf++;
		return;
	}
	memcpy(d, tx->frame, tx->len);
	m->port = port;
	if (!tx->event) {
		if (eqx_control_send(app, m) == 0)
			ag.ctr.tx_frames++;
		else
			ag.ctr.tx_ring_full++;
		return;
	}
	if (ag.ts == TS_HARDWARE) {
		/* One latch per NIC port: a stamp not read yet is overwritten, or lost. */
		m->ol_flags |= RTE_MBUF_F_TX_IEEE1588_TMST;
	}
	if (eqx_agent_send_stamped(app, m, port, cookie_make(tx->port, tx->type, tx->seq)) == 0) {
		ag.ctr.tx_frames++;
		ag.ctr.tx_event_frames++;
	} else {
		ag.ctr.tx_ring_full++;
	}
}

static const char *
port_state_of(unsigned int i)
{
	return ptp_port_state_name(ag.p.ports[i].state);
}

static void
port_id_str(const struct ptp_port_id *id, char *buf, size_t len)
{
	const uint8_t *c = id->clock.id;

	snprintf(buf, len, "%02x%02x%02x.%02x%02x.%02x%02x%02x-%u", c[0], c[1], c[2], c[3], c[4],
		 c[5], c[6], c[7], id->port);
}

static void
clock_id_str(const struct ptp_clock_id *id, char *buf, size_t len)
{
	const uint8_t *c = id->id;

	snprintf(buf, len, "%02x%02x%02x.%02x%02x.%02x%02x%02x", c[0], c[1], c[2], c[3], c[4], c[5],
		 c[6], c[7]);
}

/* The library's notes as log lines: state changes, master changes, alarms, steps. */
static void
log_notes(void)
{
	struct ptp_note n;
	char id[40];

	while (ptp_note_pop(&ag.p, &n)) {
		const char *pn = n.port < ag.p.n_ports ? ag.port_name[n.port] : "-";

		switch (n.kind) {
		case PTP_NOTE_PORT_STATE:
			PTP_LOG(NOTICE, "port %s: %s -> %s on %s", pn,
				ptp_port_state_name((enum ptp_port_state)n.from),
				ptp_port_state_name((enum ptp_port_state)n.to),
				ptp_event_name((enum ptp_event)n.event));
			break;
		case PTP_NOTE_MASTER_SELECTED:
			port_id_str(&n.id, id, sizeof(id));
			PTP_LOG(NOTICE, "port %s: new master %s", pn, id);
			break;
		case PTP_NOTE_GRANDMASTER:
			PTP_LOG(NOTICE, "this clock is the grandmaster");
			break;
		case PTP_NOTE_ALARM_RAISED:
			PTP_LOG(WARNING, "port %s: alarm %s raised (value %" PRId64 ")", pn,
				ptp_alarm_name((enum ptp_alarm_kind)n.alarm), n.value);
			break;
		case PTP_NOTE_ALARM_CLEARED:
			PTP_LOG(NOTICE, "port %s: alarm %s cleared", pn,
				ptp_alarm_name((enum ptp_alarm_kind)n.alarm));
			break;
		case PTP_NOTE_CLOCK_STEP:
			PTP_LOG(NOTICE, "clock stepped by %" PRId64 " ns (%s)", n.value,
				n.port == PTP_NOTE_PORT_REFERENCE ? "to the host clock"
								  : "to the master");
			break;
		case PTP_NOTE_SERVO_STATE:
			PTP_LOG(INFO, "servo %s (offset %" PRId64 " ns)",
				ptp_servo_state_name((enum ptp_servo_state)n.to), n.value);
			break;
		case PTP_NOTE_HOLDOVER:
			PTP_LOG(WARNING, "master lost: holdover at %+" PRId64 " ppb", n.value);
			break;
		default:
			break;
		}
	}
	if (ag.p.notes_dropped != 0) {
		ag.ctr.notes_dropped += ag.p.notes_dropped;
		ag.p.notes_dropped = 0;
	}
}

/* chronyd's SOCK refclock: true time - system time, one datagram per servo update. */
static void
chrony_export(int64_t vs_system_ns, int64_t realtime_ns)
{
	struct chrony_sock_sample s;

	memset(&s, 0, sizeof(s));
	s.tv.tv_sec = (time_t)(realtime_ns / PTP_NS_PER_SEC);
	s.tv.tv_usec = (suseconds_t)(realtime_ns % PTP_NS_PER_SEC / 1000);
	/* chronyd takes tv + offset as the true time at system time tv. */
	s.offset = (double)vs_system_ns * 1e-9;
	s.leap = ag.p.tpds.flags & PTP_FLAG_LEAP61 ? 1 : ag.p.tpds.flags & PTP_FLAG_LEAP59 ? 2 : 0;
	s.magic = CHRONY_SOCK_MAGIC;
	if (sendto(ag.chrony_fd, &s, sizeof(s), MSG_DONTWAIT, (struct sockaddr *)&ag.chrony_addr,
		   sizeof(ag.chrony_addr)) == (ssize_t)sizeof(s))
		ag.ctr.chrony_samples++;
	else
		ag.ctr.chrony_errors++; /* chronyd not (yet) listening: no log line per sample */
}

/* After the library took an offset: keep it, and hand the time on while locked. */
static void
after_sample(void)
{
	struct sample *s;
	int64_t realtime, vs;

	ag.seen_samples = ag.p.samples;
	vs = clock_vs_system(&realtime);
	s = &ag.samples[ag.n_samples % SAMPLES_MAX];
	s->seq = ag.n_samples++;
	s->realtime_ns = realtime;
	s->offset_ns = ag.p.cds.offset_from_master_ns;
	s->delay_ns = ag.p.cds.mean_path_delay_ns;
	s->vs_system_ns = vs;
	s->freq_ppb = ag.p.freq_ppb;
	s->servo_state = (uint8_t)ag.p.servo_state;
	/* Only a locked clock is a reference worth giving chronyd. */
	if (ag.chrony_fd >= 0 && ag.p.servo_state == PTP_SERVO_LOCKED)
		chrony_export(vs, realtime);
}

/* Everything the library has for us after it ran: frames, notes, samples. */
static void
drain(struct eqx_app *app)
{
	struct ptp_tx tx;

	if (ag.p.samples != ag.seen_samples)
		after_sample();
	while (ptp_tx_pop(&ag.p, &tx))
		send_one(app, &tx);
	if (ag.p.txq_dropped != 0) {
		ag.ctr.tx_queue_dropped += ag.p.txq_dropped;
		ag.p.txq_dropped = 0;
	}
	log_notes();
}

/* ---- start, stop ---- */

static int
find_app_port(const struct eqx_app *app, const char *name)
{
	unsigned int i;

	for (i = 0; i < app->n_ports; i++)
		if (strcmp(app->ports[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The section of the running config the clock was built from, as text. */
static char *
ptp_section_text(const struct cfg *cfg)
{
	char *buf = NULL, *ptp = cfg_dump_ptp(cfg);
	size_t len = 0;
	FILE *f = ptp != NULL ? open_memstream(&buf, &len) : NULL;
	unsigned int i, j;

	if (f == NULL) {
		free(ptp);
		return NULL;
	}
	/* The section as the config dump shows it, and the port addresses it sends from. */
	fprintf(f, "%s\n", ptp);
	free(ptp);
	for (i = 0; i < cfg->n_ports; i++)
		for (j = 0; j < cfg->ports[i].n_addresses; j++)
			fprintf(f, "%u %u %08x\n", i, cfg->ports[i].addresses[j].addr.family,
				*(const uint32_t *)cfg->ports[i].addresses[j].addr.bytes);
	fclose(f);
	return buf;
}

/* The first IPv4 address of config port i; -ENOENT when it has none. */
static int
port_ip4(const struct cfg *cfg, unsigned int i, uint8_t ip[4])
{
	unsigned int j;

	for (j = 0; j < cfg->ports[i].n_addresses; j++)
		if (cfg->ports[i].addresses[j].addr.family == 4) {
			memcpy(ip, cfg->ports[i].addresses[j].addr.bytes, 4);
			return 0;
		}
	return -ENOENT;
}

/* Hardware timestamps on every PTP port, or on none (one counter for the clock). */
static int
timesync_start(struct eqx_app *app, enum cfg_ptp_timestamping want)
{
	unsigned int i, j;
	int rc = 0;

	ag.ts = TS_SOFTWARE;
	if (want == CFG_PTP_TS_SOFTWARE)
		return 0;
	for (i = 0; i < ag.p.n_ports; i++) {
		rc = rte_eth_timesync_enable(ag.app_port[i]);
		if (rc != 0)
			break;
	}
	if (rc == 0) {
		ag.ts = TS_HARDWARE;
		return 0;
	}
	for (j = 0; j < i; j++)
		rte_eth_timesync_disable(ag.app_port[j]);
	if (want == CFG_PTP_TS_HARDWARE) {
		PTP_LOG(ERR,
			"ptp.timestamping is \"hardware\" but port %s cannot timestamp (%s); "
			"use \"software\" or \"auto\"",
			app->ports[ag.app_port[i]].name, strerror(-rc));
		return rc < 0 ? rc : -ENOTSUP;
	}
	PTP_LOG(INFO, "port %s has no hardware timestamps (%s): software timestamps",
		app->ports[ag.app_port[i]].name, strerror(-rc));
	return 0;
}

/*
 * Ports whose PMD can put an RX timestamp in the mbuf, and has registered
 * the field (it does when the offload is on): their frames are stamped one
 * by one, earlier than the worker could. A frame without the stamp's flag
 * falls back to the TSC of its burst.
 */
static void
pmd_stamps_find(struct eqx_app *app)
{
	struct rte_eth_dev_info info;
	unsigned int i;
	int bit;

	ag.ts_field = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, NULL);
	bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, NULL);
	ag.ts_flag = bit >= 0 ? RTE_BIT64(bit) : 0;
	for (i = 0; i < ag.p.n_ports; i++) {
		ag.pmd_rx_stamps[i] = false;
		if (ag.ts == TS_SOFTWARE && app->cfg->ptp.software_stamps != CFG_PTP_SW_TSC &&
		    ag.ts_field >= 0 && bit >= 0 &&
		    rte_eth_dev_info_get(ag.app_port[i], &info) == 0 &&
		    ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) ||
		     strcmp(info.driver_name, "net_pcap") == 0))
			ag.pmd_rx_stamps[i] = true;
	}
}

/*
 * ptp.software_stamps auto or kernel: a socket on the kernel interface behind
 * each PTP port (ptp_kstamp.h). With kernel, a port without one stops the start.
 */
static int
kstamps_open(struct eqx_app *app)
{
	enum cfg_ptp_sw_stamps want = app->cfg->ptp.software_stamps;
	char ifname[IF_NAMESIZE];
	unsigned int i;
	int rc;

	for (i = 0; i < ag.p.n_ports; i++) {
		const char *dev = app->cfg->ports[ag.app_port[i]].device;
		const struct cfg_ptp_port *pp = &app->cfg->ptp.ports[i];

		ag.kstamps[i] = false;
		ag.ks[i].fd = -1;
		if (ag.ts != TS_SOFTWARE || (want != CFG_PTP_SW_AUTO && want != CFG_PTP_SW_KERNEL))
			continue;
		/* Only where the kernel's taps see both directions as they are (ptp_kstamp.h). */
		if ((strncmp(dev, "net_af_packet", 13) != 0 && strncmp(dev, "net_pcap", 8) != 0) ||
		    !eqx_device_ifname(dev, ifname)) {
			if (want == CFG_PTP_SW_AUTO)
				continue;
			PTP_LOG(ERR,
				"ptp.software_stamps is \"kernel\" but port %s (\"%s\") is not "
				"net_af_packet or net_pcap on a kernel interface (iface=)",
				ag.port_name[i], dev);
			return -EINVAL;
		}
		rc = ptp_kstamp_open(&ag.ks[i], ifname, pp->n_mpls_tx > 0 || pp->n_mpls_rx > 0);
		if (rc != 0) {
			rte_log(want == CFG_PTP_SW_KERNEL ? RTE_LOG_ERR : RTE_LOG_WARNING,
				eqx_logtype_ptp,
				"equinox: ptp: port %s: cannot read the kernel's timestamps on %s: "
				"%s\n",
				ag.port_name[i], ifname, strerror(-rc));
			if (want == CFG_PTP_SW_KERNEL)
				return rc;
			continue;
		}
		ag.kstamps[i] = true;
		if (strstr(dev, "qdisc_bypass=1") != NULL)
			PTP_LOG(WARNING,
				"port %s: qdisc_bypass=1 hides our sends from the kernel's taps: "
				"TX stamps will be the TSC before the burst",
				ag.port_name[i]);
	}
	return 0;
}

static const char *
rx_stamps_name(unsigned int i)
{
	return ag.ts == TS_HARDWARE  ? "nic"
	       : ag.kstamps[i]       ? "kernel"
	       : ag.pmd_rx_stamps[i] ? "pmd"
				     : "tsc_at_burst";
}

static const char *
tx_stamps_name(unsigned int i)
{
	return ag.ts == TS_HARDWARE ? "nic" : ag.kstamps[i] ? "kernel" : "tsc_before_burst";
}

static int
chrony_open(const char *path)
{
	if (path[0] == '\0')
		return 0;
	if (strlen(path) >= sizeof(ag.chrony_addr.sun_path)) {
		PTP_LOG(ERR,
			"ptp.export.chrony_socket: %s is longer than a unix socket path may be",
			path);
		return -ENAMETOOLONG;
	}
	ag.chrony_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ag.chrony_fd < 0)
		return -errno;
	memset(&ag.chrony_addr, 0, sizeof(ag.chrony_addr));
	ag.chrony_addr.sun_family = AF_UNIX;
	memcpy(ag.chrony_addr.sun_path, path, strlen(path));
	return 0;
}

static int
build_config(struct eqx_app *app, struct ptp_config *pc)
{
	const struct cfg *cfg = app->cfg;
	struct timespec rt;
	unsigned int i, j;
	int ap;

	ptp_config_init(pc);
	pc->domain = cfg->ptp.domain;
	pc->priority1 = cfg->ptp.priority1;
	pc->priority2 = cfg->ptp.priority2;
	pc->servo.kp = cfg->ptp.servo.kp;
	pc->servo.ki = cfg->ptp.servo.ki;
	pc->servo.step_threshold_ns = cfg->ptp.servo.step_threshold_ns;
	pc->servo.first_step_threshold_ns = cfg->ptp.servo.first_step_threshold_ns;
	pc->n_ports = cfg->ptp.n_ports;
	if (pc->n_ports > PTP_MAX_PORTS) {
		PTP_LOG(ERR, "ptp.ports: at most %d PTP ports", PTP_MAX_PORTS);
		return -EINVAL;
	}
	for (i = 0; i < pc->n_ports; i++) {
		const struct cfg_ptp_port *pp = &cfg->ptp.ports[i];
		struct ptp_port_config *c = &pc->ports[i];

		ap = find_app_port(app, pp->port);
		if (ap < 0) {
			PTP_LOG(ERR, "ptp.ports[%u].port: no port named %s", i, pp->port);
			return -ENOENT;
		}
		ag.app_port[i] = (uint16_t)ap;
		ag.ptp_of_app[ap] = (int)i;
		snprintf(ag.port_name[i], sizeof(ag.port_name[i]), "%s", pp->port);
		ptp_port_config_init(c, cfg->ptp.transport == CFG_PTP_TRANSPORT_L2
						? PTP_TRANSPORT_L2
						: PTP_TRANSPORT_UDP4);
		c->role = (enum ptp_role)pp->role;
		c->log_sync_interval = pp->log_sync_interval;
		/* What a master tells its slaves: measure the delay as often as Syncs come. */
		c->log_min_delay_req_interval = pp->log_sync_interval;
		c->log_announce_interval = pp->log_announce_interval;
		c->delay_asymmetry_ns = pp->delay_asymmetry_ns;
		c->path.vlan = pp->vlan;
		c->path.n_tx_labels = (uint8_t)pp->n_mpls_tx;
		c->path.n_rx_labels = (uint8_t)pp->n_mpls_rx;
		for (j = 0; j < pp->n_mpls_tx; j++)
			c->path.tx_labels[j] = pp->mpls_tx_labels[j];
		for (j = 0; j < pp->n_mpls_rx; j++)
			c->path.rx_labels[j] = pp->mpls_rx_labels[j];
		memcpy(c->path.src_mac, app->ports[ap].mac.addr_bytes, 6);
		if (c->path.transport == PTP_TRANSPORT_UDP4 &&
		    port_ip4(cfg, (unsigned int)ap, c->path.src_ip) != 0) {
			PTP_LOG(ERR,
				"ptp.ports[%u]: transport udp4 needs an IPv4 address on port %s "
				"(ports[].addresses)",
				i, pp->port);
			return -EINVAL;
		}
		/* Both directions report their hop counts when both ends are equinox. */
		c->hop_report = true;
		/* The worker stamps whole bursts: a Sync read with its Follow_Up was read late. */
		c->burst_stamps = ag.ts == TS_SOFTWARE && !ag.pmd_rx_stamps[i] && !ag.kstamps[i];
		c->servo_min_delay_samples = SERVO_MIN_DELAY_SAMPLES;
	}
	ptp_clock_id_from_mac(&pc->identity, app->ports[ag.app_port[0]].mac.addr_bytes);
	/*
	 * A deliberate frequency error (tests): the counter is taken to run at
	 * hz / (1 + ppb), so the clock runs fast by ppb until the servo learns it,
	 * like an oscillator that is off.
	 */
	pc->hz = (uint64_t)llround((ag.ts == TS_SOFTWARE ? (double)ag.tsc_hz : 1e9) /
				   (1.0 + cfg->ptp.clock.initial_freq_ppb * 1e-9));
	/* Our own time until a master tells us better: the host's, on the PTP timescale (TAI). */
	clock_gettime(CLOCK_REALTIME, &rt);
	pc->time_ns = (int64_t)ts_to_ns(&rt) + (int64_t)PTP_UTC_OFFSET_DEFAULT * PTP_NS_PER_SEC +
		      cfg->ptp.clock.initial_offset_ns;
	return 0;
}

static void
release(void)
{
	unsigned int i;

	if (ag.ts == TS_HARDWARE)
		for (i = 0; i < ag.p.n_ports; i++)
			rte_eth_timesync_disable(ag.app_port[i]);
	ag.ts = TS_SOFTWARE;
	for (i = 0; i < PTP_MAX_PORTS; i++) {
		if (ag.kstamps[i])
			ptp_kstamp_close(&ag.ks[i]);
		ag.kstamps[i] = false;
		ag.ks_tx[i].busy = false;
	}
	if (ag.chrony_fd >= 0)
		close(ag.chrony_fd);
	ag.chrony_fd = -1;
	free(ag.samples);
	ag.samples = NULL;
	free(ag.started_ptp_dump);
	ag.started_ptp_dump = NULL;
	ag.running = false;
}

static int
start(struct eqx_app *app)
{
	const struct cfg *cfg = app->cfg;
	struct ptp_config pc;
	uint64_t now;
	unsigned int i;
	int rc;

	if (cfg->ptp.clock.system_clock) {
		PTP_LOG(ERR, "ptp.clock.system_clock: equinox does not write the host's clock; "
			     "hand the time to chronyd with ptp.export.chrony_socket instead");
		return -ENOTSUP;
	}
	memset(&ag.ctr, 0, sizeof(ag.ctr));
	for (i = 0; i < EQX_MAX_PORTS; i++)
		ag.ptp_of_app[i] = -1;
	ag.tsc_hz = tsc_calibrate(app->tsc_hz);
	ag.n_samples = 0;
	ag.seen_samples = 0;
	ag.samples = calloc(SAMPLES_MAX, sizeof(*ag.samples));
	if (ag.samples == NULL)
		return -ENOMEM;

	/* Ports first (timestamping needs them), then the clock on the counter chosen. */
	ag.p.n_ports = cfg->ptp.n_ports > PTP_MAX_PORTS ? PTP_MAX_PORTS : cfg->ptp.n_ports;
	rc = build_config(app, &pc);
	if (rc == 0)
		rc = timesync_start(app, cfg->ptp.timestamping);
	if (rc == 0) {
		pmd_stamps_find(app);
		rc = kstamps_open(app);
	}
	for (i = 0; rc == 0 && i < ag.p.n_ports; i++)
		PTP_LOG(INFO, "port %s: RX stamps %s, TX stamps %s", ag.port_name[i],
			rx_stamps_name(i), tx_stamps_name(i));
	if (rc == 0 && ag.ts == TS_HARDWARE) {
		rc = hw_anchor();
		if (rc != 0)
			PTP_LOG(ERR, "cannot read the clock of port %s: %s",
				app->ports[ag.app_port[0]].name, strerror(-rc));
		ag.hw_next_anchor = rte_rdtsc() + ag.tsc_hz / 1000 * HW_ANCHOR_MS;
	}
	if (rc == 0)
		rc = build_config(app, &pc); /* hz depends on the counter chosen */
	if (rc == 0)
		rc = chrony_open(cfg->ptp.chrony_socket);
	if (rc != 0)
		goto fail;

	now = counter_at(rte_rdtsc());
	rc = ptp_init(&ag.p, &pc, now);
	if (rc != 0) {
		PTP_LOG(ERR, "the ptp section does not make a clock: %s", strerror(-rc));
		goto fail;
	}
	if (cfg->ptp.transport == CFG_PTP_TRANSPORT_UDP4) {
		rc = eqx_udp_register(PTP_UDP_EVENT_PORT, NULL, NULL);
		if (rc == 0)
			rc = eqx_udp_register(PTP_UDP_GENERAL_PORT, NULL, NULL);
		if (rc != 0 && rc != -EEXIST) {
			PTP_LOG(ERR, "cannot take UDP ports 319 and 320: %s", strerror(-rc));
			goto fail;
		}
	}
	for (i = 0; i < ag.p.n_ports; i++) {
		/* PTP's multicast MACs must reach the port; a PMD that has no such filter says so.
		 */
		rc = rte_eth_allmulticast_enable(ag.app_port[i]);
		if (rc != 0 && rc != -ENOTSUP)
			PTP_LOG(WARNING, "port %s: cannot receive all multicast: %s",
				ag.port_name[i], strerror(-rc));
	}
	ag.started_ptp_dump = ptp_section_text(cfg);
	ag.next_ref_tsc = rte_rdtsc();
	ag.running = true;
	PTP_LOG(NOTICE,
		"%u port%s, domain %u, %s, %s timestamps, clock "
		"%02x%02x%02x.%02x%02x.%02x%02x%02x, TSC %" PRIu64 " Hz (DPDK: %" PRIu64 ")",
		ag.p.n_ports, ag.p.n_ports == 1 ? "" : "s", pc.domain,
		cfg_ptp_transport_str(cfg->ptp.transport), ts_mode_name(ag.ts), pc.identity.id[0],
		pc.identity.id[1], pc.identity.id[2], pc.identity.id[3], pc.identity.id[4],
		pc.identity.id[5], pc.identity.id[6], pc.identity.id[7], ag.tsc_hz, app->tsc_hz);
	log_notes();
	return 0;
fail:
	release();
	return rc < 0 ? rc : -EINVAL;
}

static void
stop(struct eqx_app *app)
{
	RTE_SET_USED(app);
	if (!ag.running && ag.samples == NULL)
		return;
	while (ag.rxq_n > 0)
		rte_pktmbuf_free(ag.rxq[--ag.rxq_n]);
	log_notes();
	release();
}

static void
reload(struct eqx_app *app)
{
	char *now = ptp_section_text(app->cfg);

	/*
	 * Restarting the clock would lose its lock and the frequency it learned;
	 * the ptp section keeps the values it started with until equinox restarts.
	 */
	if (now != NULL && ag.started_ptp_dump != NULL && strcmp(now, ag.started_ptp_dump) != 0) {
		ag.ctr.reloads_ignored++;
		PTP_LOG(WARNING, "the ptp section changed: it applies when equinox restarts");
	}
	free(now);
}

/* ---- the control loop ---- */

static void rx_flush(void);

/* Hardware mode: TX stamps latched by the NIC, for frames worker 0 has sent. */
static void
hw_tx_poll(uint64_t now_tsc)
{
	struct timespec ts;
	unsigned int i;

	for (i = 0; i < ag.p.n_ports; i++) {
		struct hw_pending *h = &ag.hw_tx[i];

		if (!h->busy)
			continue;
		if (rte_eth_timesync_read_tx_timestamp(ag.app_port[i], &ts) == 0) {
			h->busy = false;
			ag.ctr.tx_stamps++;
			ptp_tx_stamp(&ag.p, i, h->type, h->seq,
				     ts_to_ns(&ts) - (uint64_t)ag.hw_port_offset[i]);
		} else if (now_tsc >= h->deadline_tsc) {
			h->busy = false;
			ag.ctr.tx_hw_stamp_missing++;
		}
	}
}

static void
ks_tx_give(unsigned int i, uint64_t tsc)
{
	ag.ks_tx[i].busy = false;
	ag.ctr.tx_stamps++;
	ptp_tx_stamp(&ag.p, i, ag.ks_tx[i].type, ag.ks_tx[i].seq, tsc);
}

/* Kernel stamps: the kernel's time of the event frames worker 0 has sent. */
static void
ks_tx_poll(uint64_t now_tsc)
{
	uint8_t source[10];
	unsigned int i;
	uint64_t ns;

	for (i = 0; i < ag.p.n_ports; i++) {
		struct hw_pending *h = &ag.ks_tx[i];
		const struct ptp_port_id *id = &ag.p.ports[i].identity;

		if (!h->busy)
			continue;
		/* Our sourcePortIdentity, as on the wire. */
		memcpy(source, id->clock.id, 8);
		source[8] = (uint8_t)(id->port >> 8);
		source[9] = (uint8_t)id->port;
		ptp_kstamp_drain(&ag.ks[i]);
		if (ptp_kstamp_find(&ag.ks[i], true, h->type, h->seq, source, &ns)) {
			ag.ctr.tx_kernel_stamps++;
			ks_tx_give(i, realtime_to_tsc(ns));
		} else if (now_tsc >= h->deadline_tsc) {
			ag.ctr.tx_kernel_stamp_missing++;
			ks_tx_give(i, h->tsc);
		}
	}
}

/* A free grandmaster follows the host's clock (read only), as ptp4l -S serves it. */
static void
reference_poll(uint64_t now_tsc)
{
	int64_t vs;

	if (now_tsc < ag.next_ref_tsc)
		return;
	ag.next_ref_tsc = now_tsc + ptp_clock_log_ticks(ag.tsc_hz, REF_LOG_INTERVAL);
	if (!ptp_follows_reference(&ag.p)) {
		ag.p.ref_active = false;
		return;
	}
	/* The reference is UTC: on the PTP timescale it is utc_offset ahead. */
	vs = clock_vs_system(NULL);
	if (ptp_reference_sample(&ag.p, vs, ldexp(1.0, REF_LOG_INTERVAL), counter_at(now_tsc)))
		ag.ctr.reference_samples++;
}

/* A TX stamp of ours not in yet (NIC latch or kernel copy, each bounded by its deadline)? */
static bool
tx_stamp_pending(void)
{
	unsigned int i;

	for (i = 0; i < ag.p.n_ports; i++)
		if (ag.hw_tx[i].busy || ag.ks_tx[i].busy)
			return true;
	return false;
}

static void
agent_poll(struct eqx_app *app, uint64_t now_tsc)
{
	uint64_t now;

	if (!ag.running)
		return;
	if (ag.ts == TS_HARDWARE) {
		if (now_tsc >= ag.hw_next_anchor) {
			hw_anchor();
			ag.hw_next_anchor = now_tsc + ag.tsc_hz / 1000 * HW_ANCHOR_MS;
		}
		hw_tx_poll(now_tsc);
	} else {
		ks_tx_poll(now_tsc);
	}
	/* The answer to a Delay_Req of ours waits for that Delay_Req's TX stamp. */
	if (!tx_stamp_pending())
		rx_flush();
	now = counter_at(now_tsc);
	if (now >= ptp_next_deadline(&ag.p))
		ptp_tick(&ag.p, now);
	reference_poll(now_tsc);
	drain(app);
}

static bool
is_ptp_frame(const struct net_hdrs *h)
{
	if (h->family == 0)
		return h->ethertype == NET_ETHERTYPE_PTP || h->ethertype == NET_ETHERTYPE_MPLS;
	return h->family == 4 && h->l4_proto == NET_PROTO_UDP &&
	       (h->dport == PTP_UDP_EVENT_PORT || h->dport == PTP_UDP_GENERAL_PORT);
}

/*
 * The PMD's own RX timestamp as a TSC value, or 0. Ports that take it from
 * the kernel (net_pcap: libpcap's header, the time the kernel received the
 * frame) give the host clock in us or ns, whichever their magnitude says;
 * a NIC clock's raw ticks would say neither, and are not used.
 */
static uint64_t
pmd_rx_tsc(const struct rte_mbuf *m)
{
	struct timespec rt;
	uint64_t v, rt_ns;

	if (ag.ts_field < 0 || !(m->ol_flags & ag.ts_flag))
		return 0;
	v = *RTE_MBUF_DYNFIELD(m, ag.ts_field, const rte_mbuf_timestamp_t *);
	clock_gettime(CLOCK_REALTIME, &rt);
	rt_ns = ts_to_ns(&rt);
	if (v > rt_ns / 1000 - 60000000ULL && v <= rt_ns / 1000 + 1000000ULL)
		return realtime_to_tsc(v * 1000); /* us, as libpcap's default precision */
	if (v > rt_ns - 60000000000ULL && v <= rt_ns + 1000000000ULL)
		return realtime_to_tsc(v);
	return 0;
}

/*
 * The kernel's RX stamp of m as a TSC value, or 0. Only event messages are
 * stamped (the filter passes no other); the frame is parsed against the
 * port's path to find its PTP header.
 */
static uint64_t
kernel_rx_tsc(const struct rte_mbuf *m, unsigned int i)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct ptp_frame_info fi;
	uint64_t ns;

	if (ptp_frame_parse(&ag.p.ports[i].cfg.path, f, rte_pktmbuf_data_len(m), &fi) != PTP_OK ||
	    fi.msg_len < PTP_HDR_LEN || !ptp_msg_is_event(f[fi.msg_off] & 0x0f))
		return 0;
	ptp_kstamp_drain(&ag.ks[i]);
	if (!ptp_kstamp_find(&ag.ks[i], false, f[fi.msg_off] & 0x0f, net_get16(f + fi.msg_off + 30),
			     f + fi.msg_off + 20, &ns)) {
		ag.ctr.rx_kernel_stamp_missing++;
		return 0;
	}
	ag.ctr.rx_kernel_stamps++;
	return realtime_to_tsc(ns);
}

/* The RX stamp of m on PTP port i, on the library's counter. */
static uint64_t
rx_stamp(struct rte_mbuf *m, unsigned int i, uint64_t now)
{
	struct timespec ts;
	uint64_t t;

	if (ag.ts == TS_SOFTWARE) {
		if (ag.kstamps[i]) {
			t = kernel_rx_tsc(m, i);
			if (t != 0)
				return t;
		}
		if (ag.pmd_rx_stamps[i]) {
			t = pmd_rx_tsc(m);
			if (t != 0) {
				ag.ctr.rx_pmd_stamps++;
				return t;
			}
			ag.ctr.rx_pmd_stamp_unusable++;
		}
		return eqx_rx_tsc(m);
	}
	if ((m->ol_flags & RTE_MBUF_F_RX_IEEE1588_TMST) &&
	    rte_eth_timesync_read_rx_timestamp(ag.app_port[i], &ts, m->timesync) == 0)
		return ts_to_ns(&ts) - (uint64_t)ag.hw_port_offset[i];
	/* General messages are not stamped; an event message without one is counted. */
	ag.ctr.rx_hw_stamp_missing++;
	return now;
}

/* One PTP frame into the library; m->port is already its PTP port. */
static void
rx_one(struct rte_mbuf *m)
{
	unsigned int i = m->port;
	uint64_t now, stamp;

	/* A port that took the tag off (af_packet does) gets it back: the path is checked whole. */
	if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) {
		if (rte_vlan_insert(&m) != 0) {
			ag.ctr.rx_no_mbuf_room++;
			rte_pktmbuf_free(m);
			return;
		}
		m->ol_flags &= ~(RTE_MBUF_F_RX_VLAN_STRIPPED | RTE_MBUF_F_RX_VLAN);
		ag.ctr.rx_vlan_restored++;
	}
	now = counter_at(rte_rdtsc());
	stamp = rx_stamp(m, i, now);
	if (now < stamp)
		now = stamp;
	ag.ctr.rx_frames++;
	ptp_rx(&ag.p, i, rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), stamp, now);
	rte_pktmbuf_free(m);
}

static void
rx_flush(void)
{
	unsigned int k;

	for (k = 0; k < ag.rxq_n; k++)
		rx_one(ag.rxq[k]);
	ag.rxq_n = 0;
}

/*
 * The control loop takes the workers' frames before their events, so the
 * Delay_Resp to our Delay_Req can come in here before the TX stamp of that
 * Delay_Req, which worker 0 queued first: hold PTP frames until poll, which
 * runs after the events of the same round. The RX stamp is in the frame.
 */
static bool
frame(struct eqx_app *app, struct rte_mbuf *m, const struct net_hdrs *h)
{
	int i;

	if (!ag.running || !is_ptp_frame(h))
		return false;
	i = m->port < EQX_MAX_PORTS ? ag.ptp_of_app[m->port] : -1;
	if (i < 0) {
		ag.ctr.rx_not_ptp_port++;
		rte_pktmbuf_free(m);
		return true;
	}
	if (ag.rxq_n == RXQ_LEN) {
		rx_flush();
		drain(app);
	}
	m->port = (uint16_t)i;
	ag.rxq[ag.rxq_n++] = m;
	return true;
}

static void
tx_stamp(struct eqx_app *app, uint16_t port, uint64_t cookie, uint64_t tsc)
{
	unsigned int i = (unsigned int)(cookie >> 24) & 0xffff;
	uint8_t type = (uint8_t)(cookie >> 16);
	uint16_t seq = (uint16_t)cookie;

	RTE_SET_USED(port);
	if (!ag.running)
		return;
	if ((cookie & COOKIE_TAG_MASK) != COOKIE_TAG || i >= ag.p.n_ports) {
		ag.ctr.tx_stamps_foreign++;
		return;
	}
	if (ag.ts == TS_HARDWARE) {
		/* The frame has left: its stamp is in the NIC's latch, read it from poll. */
		ag.hw_tx[i] =
			(struct hw_pending){ .busy = true,
					     .type = type,
					     .seq = seq,
					     .deadline_tsc =
						     tsc + ag.tsc_hz / 1000 * HW_TX_STAMP_WAIT_MS };
		hw_tx_poll(rte_rdtsc());
	} else if (ag.kstamps[i]) {
		/* The kernel's copy of the frame says when it went; the worker's stamp if none. */
		if (ag.ks_tx[i].busy)
			ks_tx_give(i, ag.ks_tx[i].tsc);
		ag.ks_tx[i] =
			(struct hw_pending){ .busy = true,
					     .type = type,
					     .seq = seq,
					     .tsc = tsc,
					     .deadline_tsc =
						     tsc + ag.tsc_hz / 1000 * KSTAMP_TX_WAIT_MS };
		ks_tx_poll(rte_rdtsc());
	} else {
		ag.ctr.tx_stamps++;
		ptp_tx_stamp(&ag.p, i, type, seq, tsc);
	}
	drain(app);
}

/* ---- telemetry ---- */

static json_t *
named_counts(const uint64_t *v, unsigned int n, const char *(*name)(int))
{
	json_t *o = json_object();
	unsigned int k;

	for (k = 0; k < n; k++)
		if (v[k] != 0)
			json_object_set_new(o, name((int)k), json_integer((json_int_t)v[k]));
	return o;
}

static const char *
msg_name(int type)
{
	switch (type) {
	case PTP_MSG_SYNC:
		return "sync";
	case PTP_MSG_DELAY_REQ:
		return "delay_req";
	case PTP_MSG_PDELAY_REQ:
		return "pdelay_req";
	case PTP_MSG_PDELAY_RESP:
		return "pdelay_resp";
	case PTP_MSG_FOLLOW_UP:
		return "follow_up";
	case PTP_MSG_DELAY_RESP:
		return "delay_resp";
	case PTP_MSG_PDELAY_RESP_FUP:
		return "pdelay_resp_follow_up";
	case PTP_MSG_ANNOUNCE:
		return "announce";
	case PTP_MSG_SIGNALING:
		return "signaling";
	case PTP_MSG_MANAGEMENT:
		return "management";
	default:
		return "reserved";
	}
}

static json_t *
port_json(unsigned int i, char *active, size_t active_len)
{
	const struct ptp_port *pt = &ag.p.ports[i];
	json_t *o, *alarms = json_object();
	uint64_t drops = 0;
	char id[40];
	unsigned int k;

	for (k = 0; k < PTP_ALARM_MAX; k++) {
		const struct ptp_alarm *a = &pt->alarms[k];
		size_t used = strlen(active);

		json_object_set_new(alarms, ptp_alarm_name((enum ptp_alarm_kind)k),
				    json_pack("{s:b, s:I, s:I, s:I}", "active", a->active, "count",
					      (json_int_t)a->count, "seen", (json_int_t)a->seen,
					      "value", (json_int_t)a->value));
		if (a->active)
			snprintf(active + used, active_len - used, "%s%s:%s", used ? "," : "",
				 ag.port_name[i], ptp_alarm_name((enum ptp_alarm_kind)k));
	}
	for (k = 0; k < PTP_DROP_MAX; k++)
		drops += pt->drops[k];
	port_id_str(&pt->identity, id, sizeof(id));
	o = json_pack(
		"{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:b, s:I, s:I}", "port",
		ag.port_name[i], "identity", id, "state", port_state_of(i), "role",
		ptp_role_name(pt->cfg.role), "log_sync_interval", pt->log_sync_interval,
		"log_announce_interval", pt->log_announce_interval, "log_min_delay_req_interval",
		pt->log_min_delay_req_interval, "offset_ns", (json_int_t)pt->offset_ns,
		"mean_path_delay_ns", (json_int_t)pt->mean_delay_ns, "raw_path_delay_ns",
		(json_int_t)pt->raw_delay_ns, "delay_asymmetry_ns",
		(json_int_t)pt->cfg.delay_asymmetry_ns, "hops_known", pt->hops_known,
		"delay_samples", (json_int_t)pt->delay_samples, "drops_total", (json_int_t)drops);
	json_object_set_new(o, "rx_stamps", json_string(rx_stamps_name(i)));
	json_object_set_new(o, "tx_stamps", json_string(tx_stamps_name(i)));
	if (ag.kstamps[i])
		json_object_set_new(o, "kernel_stamps",
				    json_pack("{s:s, s:I, s:I, s:I, s:I}", "interface",
					      ag.ks[i].ifname, "frames",
					      (json_int_t)ag.ks[i].frames, "unparsed",
					      (json_int_t)ag.ks[i].unparsed, "read_errors",
					      (json_int_t)ag.ks[i].read_errs, "no_stamp",
					      (json_int_t)ag.ks[i].no_stamp));
	json_object_set_new(o, "path",
			    json_pack("{s:i, s:i, s:i}", "vlan", pt->cfg.path.vlan, "tx_labels",
				      pt->cfg.path.n_tx_labels, "rx_labels",
				      pt->cfg.path.n_rx_labels));
	if (pt->hops_known) {
		json_object_set_new(o, "hops_down", json_integer(pt->hops_down));
		json_object_set_new(o, "hops_up", json_integer(pt->hops_up));
	}
	json_object_set_new(o, "rx", named_counts(pt->rx, PTP_MSG_TYPES, msg_name));
	json_object_set_new(o, "tx", named_counts(pt->tx, PTP_MSG_TYPES, msg_name));
	json_object_set_new(o, "drops", named_counts(pt->drops, PTP_DROP_MAX, ptp_drop_name));
	json_object_set_new(o, "alarms", alarms);
	return o;
}

static json_t *
agent_json(struct eqx_app *app)
{
	char active[512] = "", gm[32], parent[40], self[32];
	json_t *o, *ports, *ctr;
	unsigned int i;
	int64_t vs;

	RTE_SET_USED(app);
	if (!ag.running)
		return json_pack("{s:b}", "enabled", false);
	vs = clock_vs_system(NULL);
	clock_id_str(&ag.p.dds.identity, self, sizeof(self));
	clock_id_str(&ag.p.pds.gm_identity, gm, sizeof(gm));
	port_id_str(&ag.p.pds.parent, parent, sizeof(parent));
	ports = json_object();
	for (i = 0; i < ag.p.n_ports; i++)
		json_object_set_new(ports, ag.port_name[i], port_json(i, active, sizeof(active)));
	ctr = json_object();
#define _(n) json_object_set_new(ctr, #n, json_integer((json_int_t)ag.ctr.n));
	foreach_ptp_agent_counter
#undef _
		o = json_pack("{s:b, s:s, s:s, s:i, s:s, s:i, s:b, s:s, s:I, s:I, s:I, s:f, s:I}",
			      "enabled", true, "timestamping", ts_mode_name(ag.ts), "transport",
			      ag.p.conf.ports[0].path.transport == PTP_TRANSPORT_L2 ? "l2" : "udp4",
			      "domain", ag.p.dds.domain, "clock_identity", self, "clock_class",
			      ag.p.dds.quality.clock_class, "slave_only", ag.p.dds.slave_only,
			      "servo_state", ptp_servo_state_name(ag.p.servo_state), "offset_ns",
			      (json_int_t)ag.p.cds.offset_from_master_ns, "mean_path_delay_ns",
			      (json_int_t)ag.p.cds.mean_path_delay_ns, "freq_ppb",
			      (json_int_t)llround(ag.p.freq_ppb), "freq_ppb_exact", ag.p.freq_ppb,
			      "clock_vs_system_ns", (json_int_t)vs);
	json_object_set_new(
		o, "master",
		json_pack("{s:s, s:s, s:i, s:s, s:i, s:i, s:i, s:i}", "parent", parent,
			  "grandmaster", gm, "steps_removed", ag.p.cds.steps_removed, "slave_port",
			  ag.p.slave_port >= 0 ? ag.port_name[ag.p.slave_port] : "", "gm_priority1",
			  ag.p.pds.gm_priority1, "gm_priority2", ag.p.pds.gm_priority2,
			  "gm_clock_class", ag.p.pds.gm_quality.clock_class, "is_grandmaster",
			  strcmp(gm, self) == 0 && ag.p.slave_port < 0));
	json_object_set_new(
		o, "clock",
		json_pack("{s:b, s:b, s:b, s:I, s:I, s:b, s:I, s:I}", "locked_once",
			  ag.p.locked_once, "holdover", ag.p.holdover, "follows_host_clock",
			  ag.p.ref_active, "host_clock_offset_ns", (json_int_t)ag.p.ref_offset_ns,
			  "steps", (json_int_t)ag.p.steps, "servo_locked",
			  ag.p.servo_state == PTP_SERVO_LOCKED, "servo_samples",
			  (json_int_t)ag.p.samples, "last_step_ns", (json_int_t)ag.p.last_step_ns));
	json_object_set_new(
		o, "time_properties",
		json_pack("{s:i, s:b, s:b, s:b, s:b, s:b, s:b, s:i}", "utc_offset",
			  ag.p.tpds.utc_offset, "ptp_timescale",
			  (ag.p.tpds.flags & PTP_FLAG_PTP_TIMESCALE) != 0, "utc_offset_valid",
			  (ag.p.tpds.flags & PTP_FLAG_UTC_OFFSET_VALID) != 0, "time_traceable",
			  (ag.p.tpds.flags & PTP_FLAG_TIME_TRACEABLE) != 0, "frequency_traceable",
			  (ag.p.tpds.flags & PTP_FLAG_FREQ_TRACEABLE) != 0, "leap61",
			  (ag.p.tpds.flags & PTP_FLAG_LEAP61) != 0, "leap59",
			  (ag.p.tpds.flags & PTP_FLAG_LEAP59) != 0, "time_source",
			  ag.p.tpds.time_source));
	json_object_set_new(o, "alarms", json_string(active));
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "counters", ctr);
	json_object_set_new(o, "chrony",
			    json_pack("{s:s, s:I, s:I}", "socket",
				      ag.chrony_fd >= 0 ? ag.chrony_addr.sun_path : "", "sent",
				      (json_int_t)ag.ctr.chrony_samples, "errors",
				      (json_int_t)ag.ctr.chrony_errors));
	return o;
}

/* `equinoxctl ptp samples [SINCE]`: the servo's samples, oldest first. */
static json_t *
samples_json(json_t *args, const char **err)
{
	uint64_t since = 0, first, k;
	const char *s;
	json_t *a;
	char *end;

	if (json_array_size(args) > 1) {
		s = json_string_value(json_array_get(args, 1));
		since = s != NULL ? strtoull(s, &end, 10) : 0;
		if (s == NULL || *end != '\0') {
			*err = "samples SINCE: SINCE is a sample number";
			return NULL;
		}
	}
	first = ag.n_samples > SAMPLES_MAX ? ag.n_samples - SAMPLES_MAX : 0;
	if (since > first)
		first = since;
	a = json_array();
	for (k = first; k < ag.n_samples; k++) {
		const struct sample *x = &ag.samples[k % SAMPLES_MAX];

		json_array_append_new(
			a, json_pack("{s:I, s:f, s:I, s:I, s:I, s:f, s:s}", "seq",
				     (json_int_t)x->seq, "time", (double)x->realtime_ns * 1e-9,
				     "offset_ns", (json_int_t)x->offset_ns, "mean_path_delay_ns",
				     (json_int_t)x->delay_ns, "clock_vs_system_ns",
				     (json_int_t)x->vs_system_ns, "freq_ppb", x->freq_ppb,
				     "servo_state",
				     ptp_servo_state_name((enum ptp_servo_state)x->servo_state)));
	}
	return json_pack("{s:I, s:o}", "next", (json_int_t)ag.n_samples, "samples", a);
}

static json_t *
ctl(struct eqx_app *app, json_t *args, const char **err)
{
	const char *cmd = json_string_value(json_array_get(args, 0));

	RTE_SET_USED(app);
	if (cmd != NULL && strcmp(cmd, "samples") == 0)
		return samples_json(args, err);
	*err = "unknown ptp command (ptp, ptp samples [SINCE])";
	return NULL;
}

const struct eqx_agent eqx_ptp_agent = {
	.name = "ptp",
	.help = "the PTP clock: port states, master, offset, path delay, alarms. No parameters",
	.enabled = enabled,
	.port_device = port_device,
	.start = start,
	.poll = agent_poll,
	.frame = frame,
	.tx_stamp = tx_stamp,
	.reload = reload,
	.json = agent_json,
	.ctl = ctl,
	.stop = stop,
};
