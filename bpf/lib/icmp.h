/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors about translated flows (reverse path). A router or the backend reports a problem
 * with a packet the client sent to the *backend*; the client's socket is connected to the VIP,
 * so the quoted packet must be made to look like client -> VIP or the kernel cannot match it
 * (and path-MTU discovery through the VIP would stall on "fragmentation needed" /
 * "packet too big").
 *
 * Translated: ICMPv4 destination unreachable (all codes, incl. frag-needed) and time exceeded;
 * ICMPv6 destination unreachable, packet too big and time exceeded -- when the quoted packet
 * is TCP and its reversed tuple is in apilb_rev_v2. Rewrites: quoted dst address/port -> VIP,
 * quoted IPv4 header checksum, quoted TCP checksum when the quote includes it, outer source
 * -> VIP when it was the backend, outer IPv4 checksum, ICMP checksum (ICMPv6: incl. the
 * pseudo-header).
 *
 * Direct writes for both XDP and TC: every changed byte lies under a checksum that is fixed
 * accordingly (the ICMP checksum covers everything after the ICMP header, and for ICMPv6 the
 * outer addresses), so the packet's total one's complement sum is unchanged and a
 * CHECKSUM_COMPLETE skb->csum stays valid.
 */
#ifndef APILB_BPF_ICMP_H
#define APILB_BPF_ICMP_H

#include "lib/common.h"
#include "lib/csum.h"
#include "lib/maps.h"
#include "lib/flow.h"
#include "lib/signal.h"

struct lb_ports {
	__be16 source;
	__be16 dest;
};

/* Does an ICMP error's quoted TCP header (client -> backend, at least the 8 bytes RFC 792
 * promises) belong to the tracked flow r? In SYN_SENT the quote must be our SYN (its ISN); once
 * established it must ack what the client acked (cli_ack) or up to LB_SEQ_WINDOW less -- the
 * acceptance rule of a backend RST (lib/flow.h), which needs the quote's ack field (Linux quotes
 * the whole header). A blind forger must guess the ISN (2^-32) or the window (2^-12). */
static __always_inline int lb_icmp_quote_matches(const void *qth, void *data_end,
						 const struct lb_rev *r, __u32 cli_ack)
{
	const __be32 *seq = qth + 4, *ack = qth + 8;

	if ((void *)(seq + 1) > data_end)
		return 0;
	if (r->state == LB_TCP_SYN_SENT)
		return bpf_ntohl(*seq) == r->syn_seq;
	if (r->state != LB_TCP_ESTABLISHED || (void *)(ack + 1) > data_end)
		return 0;
	return cli_ack - bpf_ntohl(*ack) < LB_SEQ_WINDOW;
}

/* An ICMP error about tracked flow r (rk: its rev key, from the quote) counts as
 * LB_SIG_ICMP_UNREACH when `unreach` (destination unreachable, not "fragmentation needed" /
 * "packet too big": those are path MTU, not failure) and the quote matches the flow. */
static __always_inline void lb_icmp_signal(int unreach, const struct lb_flow_key *rk,
					   const struct lb_rev *r, const void *qth, void *data_end)
{
	struct lb_flow_key fk;
	struct lb_fwd *f;

	if (!unreach)
		return;
	lb_fwd_key_of(&fk, rk, r);
	f = bpf_map_lookup_elem(&apilb_fwd_v2, &fk);
	if (f && lb_icmp_quote_matches(qth, data_end, r, lb_flow_cli_ack(f, r)))
		lb_signal(f->backend_id, LB_SIG_ICMP_UNREACH);
}


/* Quoted TCP checksum, when the quote is long enough to hold it (RFC 792 only promises 8
 * bytes of the TCP header; Linux quotes more). */
static __always_inline void lb_icmp_fix_l4(struct lb_ports *qp, void *data_end, __u32 diff,
					   __u32 *acc)
{
	struct tcphdr *qth = (void *)qp;

	if ((void *)(qth + 1) <= data_end)
		lb_set16(&qth->check, lb_csum_apply(qth->check, diff), acc);
}

/* Quoted ports -> lookup key fields (the quote is client -> backend; the key is the reply's). */
static __always_inline void lb_icmp_key_ports(struct lb_flow_key *k, const struct lb_ports *qp,
					      __u8 family)
{
	k->sport = qp->dest;
	k->dport = qp->source;
	k->proto = IPPROTO_TCP;
	k->family = family;
}

/* Quoted dst port -> VIP port and the quoted TCP checksum (address diff d + port diff). */
static __always_inline void lb_icmp_quote_l4(struct lb_ports *qp, void *data_end,
					     const struct lb_rev *r, __u32 d, __u32 *acc)
{
	__u32 pd = lb_csum_diff16(qp->dest, r->vip_port);

	*acc = lb_csum_add(*acc, pd);
	qp->dest = r->vip_port;
	lb_icmp_fix_l4(qp, data_end, lb_csum_add(d, pd), acc);
}

/* ICMPv4 error quoting TCP: sets *qipp / *qpp. Returns 0 (with *why) when not ours. */
static __always_inline int lb_icmp4_quote(void *data, void *data_end, struct lb_icmphdr *ic,
					  struct iphdr **qipp, struct lb_ports **qpp, __u32 *why)
{
	struct iphdr *qip;
	struct lb_ports *qp;

	if ((void *)(ic + 1) > data_end)
		return 0;
	if (ic->type != LB_ICMP_DEST_UNREACH && ic->type != LB_ICMP_TIME_EXCEEDED) {
		*why = LB_R_PASS_UNSUPPORTED;
		return 0;
	}
	qip = (void *)(ic + 1);
	if ((void *)(qip + 1) > data_end || qip->ihl < 5 || qip->protocol != IPPROTO_TCP)
		return 0;
	qp = (void *)qip + qip->ihl * 4;
	if ((void *)(qp + 1) > data_end)
		return 0;
	*qipp = qip;
	*qpp = qp;
	return 1;
}

static __always_inline int lb_icmp4_xlate(void *data, void *data_end, __u32 l4_off, __u32 *why)
{
	struct lb_icmphdr *ic = data + (l4_off & 0xff);
	struct iphdr *oip = data + ETH_HLEN, *qip;
	struct lb_flow_key k = {};
	struct lb_ports *qp;
	struct lb_rev *r;
	__u32 d, acc;

	/* One register for ic: clang would otherwise re-derive it from data + l4_off after the
	 * bounds check, and the verifier only knows the range of the register it checked. */
	barrier_var(ic);
	if ((void *)(oip + 1) > data_end || !lb_icmp4_quote(data, data_end, ic, &qip, &qp, why))
		return 0;
	k.src.w[0] = qip->daddr;
	k.dst.w[0] = qip->saddr;
	lb_icmp_key_ports(&k, qp, LB_AF_INET);
	r = bpf_map_lookup_elem(&apilb_rev_v2, &k);
	if (!r)
		return 0;
	lb_icmp_signal(ic->type == LB_ICMP_DEST_UNREACH && ic->code != LB_ICMP_FRAG_NEEDED, &k, r,
		       qp, data_end);
	d = lb_csum_diff_addr(&k.src, &r->vip, 1);
	acc = d; /* the quoted address change, inside the ICMP payload */
	lb_set16(&qip->check, lb_csum_apply(qip->check, d), &acc);
	qip->daddr = r->vip.w[0];
	lb_icmp_quote_l4(qp, data_end, r, d, &acc);
	if (oip->saddr == k.src.w[0]) {
		oip->check = lb_csum_apply(oip->check, d);
		oip->saddr = r->vip.w[0];
	}
	ic->checksum = lb_csum_apply(ic->checksum, acc);
	*why = LB_R_ICMP_XLATE;
	return 1;
}

/* ICMPv6 error quoting TCP (no extension headers in the quote). */
static __always_inline int lb_icmp6_quote(void *data, void *data_end, struct icmp6hdr *ic,
					  struct ipv6hdr **qipp, struct lb_ports **qpp, __u32 *why)
{
	struct ipv6hdr *qip;
	struct lb_ports *qp;

	if ((void *)(ic + 1) > data_end)
		return 0;
	if (ic->icmp6_type != ICMPV6_DEST_UNREACH && ic->icmp6_type != ICMPV6_PKT_TOOBIG &&
	    ic->icmp6_type != ICMPV6_TIME_EXCEED) {
		*why = LB_R_PASS_UNSUPPORTED;
		return 0;
	}
	qip = (void *)(ic + 1);
	if ((void *)(qip + 1) > data_end || qip->nexthdr != IPPROTO_TCP)
		return 0;
	qp = (void *)(qip + 1);
	if ((void *)(qp + 1) > data_end)
		return 0;
	*qipp = qip;
	*qpp = qp;
	return 1;
}

static __always_inline int lb_icmp6_xlate(void *data, void *data_end, __u32 l4_off, __u32 *why)
{
	struct ipv6hdr *oip = data + ETH_HLEN, *qip;
	struct icmp6hdr *ic = data + (l4_off & 0xff);
	struct lb_flow_key k = {};
	struct lb_ports *qp;
	struct lb_rev *r;
	__u32 d, acc;

	barrier_var(ic); /* see lb_icmp4_xlate */
	if ((void *)(oip + 1) > data_end || !lb_icmp6_quote(data, data_end, ic, &qip, &qp, why))
		return 0;
	__builtin_memcpy(&k.src, &qip->daddr, sizeof(k.src));
	__builtin_memcpy(&k.dst, &qip->saddr, sizeof(k.dst));
	lb_icmp_key_ports(&k, qp, LB_AF_INET6);
	r = bpf_map_lookup_elem(&apilb_rev_v2, &k);
	if (!r)
		return 0;
	lb_icmp_signal(ic->icmp6_type == ICMPV6_DEST_UNREACH, &k, r, qp, data_end);
	d = lb_csum_diff_addr(&k.src, &r->vip, 4);
	acc = d; /* no quoted IPv6 header checksum: the address change stands */
	__builtin_memcpy(&qip->daddr, &r->vip, sizeof(r->vip));
	lb_icmp_quote_l4(qp, data_end, r, d, &acc);
	if (lb_addr_eq((struct lb_addr *)&oip->saddr, &k.src)) {
		acc = lb_csum_add(acc, d); /* pseudo-header source */
		__builtin_memcpy(&oip->saddr, &r->vip, sizeof(r->vip));
	}
	ic->icmp6_cksum = lb_csum_apply(ic->icmp6_cksum, acc);
	*why = LB_R_ICMP_XLATE;
	return 1;
}

/* Translates an ICMP error about a tracked flow in place. Returns 1 when translated; else
 * the packet is untouched and *why is PASS_UNSUPPORTED (not an error we handle) or
 * PASS_NOT_TRACKED (about a flow we do not know). */
static __always_inline int lb_icmp_xlate(void *data, void *data_end, const struct lb_pkt *p,
					 __u32 *why)
{
	*why = LB_R_PASS_NOT_TRACKED;
	if (p->key.family == LB_AF_INET)
		return lb_icmp4_xlate(data, data_end, p->l4_off, why);
	return lb_icmp6_xlate(data, data_end, p->l4_off, why);
}

#endif /* APILB_BPF_ICMP_H */
