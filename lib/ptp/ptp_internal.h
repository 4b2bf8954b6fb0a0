/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/ptp internals shared by ptp.c (the clock: BMC, servo, queues) and
 * ptp_port.c (a port's messages and timers). Not for callers.
 */
#ifndef EQX_PTP_INTERNAL_H
#define EQX_PTP_INTERNAL_H

#include "ptp/ptp.h"

/* ptp.c */
void ptp_note_add(struct ptp *p, const struct ptp_note *n);
bool ptp_queue_msg(struct ptp *p, struct ptp_port *pt, const struct ptp_msg *m);
void ptp_sample_offset(struct ptp *p, struct ptp_port *pt, int64_t offset_ns, uint64_t now);
void ptp_alarm_raise(struct ptp *p, struct ptp_port *pt, enum ptp_alarm_kind a, int64_t value,
		     uint64_t now);
uint64_t ptp_log_ticks(const struct ptp *p, int log2_s);

/* ptp_port.c */
void ptp_port_start(struct ptp *p, struct ptp_port *pt, uint64_t now);
void ptp_port_dispatch(struct ptp *p, struct ptp_port *pt, enum ptp_event ev, uint64_t now,
		       bool new_master);
int ptp_port_rx_msg(struct ptp *p, struct ptp_port *pt, const struct ptp_msg *m,
		    const struct ptp_frame_info *fi, uint64_t rx_stamp, uint64_t now);
void ptp_port_tx_stamp(struct ptp *p, struct ptp_port *pt, uint8_t type, uint16_t seq,
		       uint64_t tx_stamp);
void ptp_port_timers(struct ptp *p, struct ptp_port *pt, uint64_t now);
uint64_t ptp_port_next_deadline(const struct ptp_port *pt);
void ptp_port_flush_exchange(struct ptp_port *pt);

#endif /* EQX_PTP_INTERNAL_H */
