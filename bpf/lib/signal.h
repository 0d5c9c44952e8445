/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Passive failure detection: per-backend counters (apilb_signals, maps/apilb_maps.h) of what
 * real traffic shows about a backend -- a RST answering our SYN, an ICMP destination
 * unreachable about one of its flows, a client SYN retransmitted because no SYN-ACK came, a RST
 * closing an established flow -- and of the SYN-ACKs that answered (the daemon's clock for
 * "SYNs go unanswered"). `apilb run` polls the counters and probes a backend at once when they
 * move; the probe decides, never the counter.
 *
 * Only packets that already passed the flow-state checks of lib/flow.h count (an exact RST, a
 * SYN-ACK acking our SYN), and an ICMP error must quote a segment the client really sent
 * (lb_icmp_quote_matches, lib/icmp.h): traffic that does not match a tracked flow can never move
 * a counter.
 *
 * Cost: nothing on the hit path. Each count is one per-CPU array update (no atomics) on a
 * packet that already changes flow state; the reverse path takes the backend slot from the fwd
 * entry it looks up for that state change anyway (the rev entry does not hold it).
 */
#ifndef APILB_BPF_SIGNAL_H
#define APILB_BPF_SIGNAL_H

#include "lib/common.h"
#include "lib/maps.h"

/* Counts one `kind` event (enum lb_signal) of backend slot id. An id outside the array
 * (LB_NO_BACKEND) finds no element and counts nothing. */
static __always_inline void lb_signal(__u32 id, __u32 kind)
{
	struct lb_signal_stat *st = bpf_map_lookup_elem(&apilb_signals, &id);

	if (st && kind < LB_SIG__MAX)
		st->n[kind]++;
}

#endif /* APILB_BPF_SIGNAL_H */
