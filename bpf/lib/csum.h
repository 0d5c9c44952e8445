/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksum update (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')) for the
 * rewrites done with direct packet writes: XDP reverse NAT and ICMP error translation.
 * The TC programs use bpf_l3/l4_csum_replace for TCP instead, because only those helpers know
 * skb->ip_summed (CHECKSUM_PARTIAL on lo / veth, CHECKSUM_COMPLETE on some NICs).
 *
 * Sums are kept as 32-bit one's complement values: 2^32 - 1 is a multiple of 2^16 - 1, so a
 * 32-bit end-around-carry sum folds to the same 16-bit sum, and a 32-bit word can be added
 * whole. All values stay in network order; one's complement sums are byte-order independent.
 */
#ifndef APILB_BPF_CSUM_H
#define APILB_BPF_CSUM_H

#include "lib/common.h"

static __always_inline __u32 lb_csum_add(__u32 s, __u32 v)
{
	s += v;
	return s + (s < v); /* end-around carry */
}

static __always_inline __u16 lb_csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* The sum that turns a checksum over `from` into one over `to` (n 32-bit words, n <= 4). */
static __always_inline __u32 lb_csum_diff_addr(const struct lb_addr *from, const struct lb_addr *to,
					       int n)
{
	__u32 s = 0;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (i >= n)
			break;
		s = lb_csum_add(s, ~from->w[i]);
		s = lb_csum_add(s, to->w[i]);
	}
	return s;
}

static __always_inline __u32 lb_csum_diff16(__u16 from, __u16 to)
{
	return lb_csum_add((__u16)~from, to);
}

/* Applies a difference sum to a stored checksum field (network order). */
static __always_inline __u16 lb_csum_apply(__u16 check, __u32 diff)
{
	return (__u16)~lb_csum_fold(lb_csum_add((__u16)~check, diff));
}

/* Writes a 16-bit field and adds its change to the sum of an enclosing checksum. */
static __always_inline void lb_set16(__u16 *field, __u16 v, __u32 *acc)
{
	*acc = lb_csum_add(*acc, lb_csum_diff16(*field, v));
	*field = v;
}

#endif /* APILB_BPF_CSUM_H */
