/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP address/port rewrite, two flavours:
 *
 * - TC (lb_tc_nat): bpf_l3/l4_csum_replace, then direct writes of the bytes. The helpers look at
 *   skb->ip_summed: with CHECKSUM_PARTIAL (locally generated, e.g. on the VIP device and on lo,
 *   where hairpin replies come from) the TCP check field holds the pseudo-header sum and only
 *   address changes (BPF_F_PSEUDO_HDR) may touch it; with CHECKSUM_COMPLETE they keep skb->csum
 *   right. Getting this wrong "works" on veth with tx offload and breaks on real NICs.
 * - XDP (lb_xdp_nat_src): no skb yet, so direct writes and RFC 1624 incremental updates.
 *
 * Packet pointers are invalid after any csum helper, so the TC flavour reloads data/data_end
 * before its writes.
 */
#ifndef APILB_BPF_NAT_H
#define APILB_BPF_NAT_H

#include "lib/common.h"
#include "lib/csum.h"

#define LB_IP4_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))

/* Checksums of an address change. IPv4: one word, and the header checksum (which cancels the
 * change within the header, so skb->csum is unaffected). IPv6: the four words as one diff
 * (size 0 = "to" is a csum diff), then skb->csum gets the bytes' change (the bytes themselves
 * are written directly, see lb_tc_nat_write); bpf_csum_update only acts on CHECKSUM_COMPLETE. */
static __always_inline int lb_tc_csum_addr(struct __sk_buff *skb, const struct lb_pkt *p,
					   __u32 csum_off, const struct lb_addr *from,
					   const struct lb_addr *to)
{
	__u32 d;

	if (p->key.family == LB_AF_INET) {
		if (bpf_l4_csum_replace(skb, csum_off, from->w[0], to->w[0],
					BPF_F_PSEUDO_HDR | sizeof(__u32)))
			return -1;
		return bpf_l3_csum_replace(skb, LB_IP4_CSUM_OFF, from->w[0], to->w[0],
					   sizeof(__u32)) ? -1 : 0;
	}
	d = lb_csum_diff_addr(from, to, 4);
	if (bpf_l4_csum_replace(skb, csum_off, 0, d, BPF_F_PSEUDO_HDR))
		return -1;
	bpf_csum_update(skb, d);
	return 0;
}

/* Writes the new address and port directly (after the csum helpers, which invalidated every
 * packet pointer: reload and re-check). A direct write changes no skb->csum, which is what the
 * helpers above assume. */
static __always_inline int lb_tc_nat_write(struct __sk_buff *skb, const struct lb_pkt *p,
					   int is_src, const struct lb_addr *to, __be16 to_port)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	__be16 *port = data + (p->l4_off & 0xff) + (is_src ? 0 : 2);
	struct ipv6hdr *ip6h = data + ETH_HLEN;
	struct iphdr *iph = data + ETH_HLEN;

	barrier_var(port);
	if ((void *)(ip6h + 1) > data_end || (void *)(port + 1) > data_end)
		return -1;
	if (p->key.family == LB_AF_INET) {
		if (is_src)
			iph->saddr = to->w[0];
		else
			iph->daddr = to->w[0];
	} else if (is_src) {
		__builtin_memcpy(&ip6h->saddr, to, sizeof(*to));
	} else {
		__builtin_memcpy(&ip6h->daddr, to, sizeof(*to));
	}
	*port = to_port;
	return 0;
}

/* Rewrites the source (is_src) or destination address and port of a parsed TCP packet: three
 * csum helper calls (they know skb->ip_summed), then direct writes of the bytes. */
static __always_inline int lb_tc_nat(struct __sk_buff *skb, const struct lb_pkt *p, int is_src,
				     const struct lb_addr *to, __be16 to_port)
{
	const struct lb_addr *from = is_src ? &p->key.src : &p->key.dst;
	__be16 from_port = is_src ? p->key.sport : p->key.dport;
	__u32 csum_off = (p->l4_off & 0xff) + offsetof(struct tcphdr, check);

	if (lb_tc_csum_addr(skb, p, csum_off, from, to))
		return -1;
	/* Ports are inside the TCP checksum's own coverage: no pseudo-header flag (with
	 * CHECKSUM_PARTIAL the check field must not change for them). */
	if (from_port != to_port &&
	    bpf_l4_csum_replace(skb, csum_off, from_port, to_port, sizeof(to_port)))
		return -1;
	return lb_tc_nat_write(skb, p, is_src, to, to_port);
}

/* XDP reverse NAT: source address -> VIP, source port -> VIP port. */
static __always_inline int lb_xdp_nat_src(void *data, void *data_end, const struct lb_pkt *p,
					  const struct lb_rev *r)
{
	struct tcphdr *th = data + (p->l4_off & 0xff);
	struct ipv6hdr *ip6h = data + ETH_HLEN;
	struct iphdr *iph = data + ETH_HLEN;
	__u32 d;

	if ((void *)(th + 1) > data_end || (void *)(ip6h + 1) > data_end)
		return -1;
	if (p->key.family == LB_AF_INET) {
		d = lb_csum_diff_addr(&p->key.src, &r->vip, 1);
		iph->check = lb_csum_apply(iph->check, d);
		iph->saddr = r->vip.w[0];
	} else {
		d = lb_csum_diff_addr(&p->key.src, &r->vip, 4);
		__builtin_memcpy(&ip6h->saddr, &r->vip, sizeof(r->vip));
	}
	d = lb_csum_add(d, lb_csum_diff16(th->source, r->vip_port));
	th->source = r->vip_port;
	th->check = lb_csum_apply(th->check, d);
	return 0;
}

#endif /* APILB_BPF_NAT_H */
