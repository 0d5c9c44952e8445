/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP address/port rewrite, two flavours:
 *
 * - TC (lb_tc_nat): bpf_skb_store_bytes + bpf_l3/l4_csum_replace. The helpers look at
 *   skb->ip_summed: with CHECKSUM_PARTIAL (locally generated, e.g. on the VIP device and on lo,
 *   where hairpin replies come from) the TCP check field holds the pseudo-header sum and only
 *   address changes (BPF_F_PSEUDO_HDR) may touch it; with CHECKSUM_COMPLETE they keep skb->csum
 *   right. Getting this wrong "works" on veth with tx offload and breaks on real NICs.
 * - XDP (lb_xdp_nat_src): no skb yet, so direct writes and RFC 1624 incremental updates.
 *
 * Packet pointers are invalid after any store/csum helper, so the TC flavour works on offsets
 * only and never touches data/data_end.
 */
#ifndef APILB_BPF_NAT_H
#define APILB_BPF_NAT_H

#include "lib/common.h"
#include "lib/csum.h"

#define LB_IP4_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define LB_IP4_SADDR_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define LB_IP4_DADDR_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define LB_IP6_SADDR_OFF (ETH_HLEN + offsetof(struct ipv6hdr, saddr))
#define LB_IP6_DADDR_OFF (ETH_HLEN + offsetof(struct ipv6hdr, daddr))

static __always_inline int lb_tc_nat_addr4(struct __sk_buff *skb, __u32 csum_off, __u32 addr_off,
					   __be32 from, __be32 to)
{
	if (bpf_l4_csum_replace(skb, csum_off, from, to, BPF_F_PSEUDO_HDR | sizeof(to)))
		return -1;
	/* The IPv4 header checksum cancels the address change within the header, so the store
	 * must not also adjust skb->csum (no BPF_F_RECOMPUTE_CSUM). */
	if (bpf_l3_csum_replace(skb, LB_IP4_CSUM_OFF, from, to, sizeof(to)))
		return -1;
	return bpf_skb_store_bytes(skb, addr_off, &to, sizeof(to), 0) ? -1 : 0;
}

static __always_inline int lb_tc_nat_addr6(struct __sk_buff *skb, __u32 csum_off, __u32 addr_off,
					   const struct lb_addr *from, const struct lb_addr *to)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (bpf_l4_csum_replace(skb, csum_off, from->w[i], to->w[i],
					BPF_F_PSEUDO_HDR | sizeof(__u32)))
			return -1;
	}
	/* No IPv6 header checksum: for CHECKSUM_COMPLETE the address bytes themselves change the
	 * packet sum, which BPF_F_RECOMPUTE_CSUM accounts for (a no-op otherwise). */
	return bpf_skb_store_bytes(skb, addr_off, to, sizeof(*to), BPF_F_RECOMPUTE_CSUM) ? -1 : 0;
}

/* Rewrites the source (is_src) or destination address and port of a parsed TCP packet. */
static __always_inline int lb_tc_nat(struct __sk_buff *skb, const struct lb_pkt *p, int is_src,
				     const struct lb_addr *to, __be16 to_port)
{
	const struct lb_addr *from = is_src ? &p->key.src : &p->key.dst;
	__be16 from_port = is_src ? p->key.sport : p->key.dport;
	__u32 l4 = p->l4_off & 0xff;
	__u32 csum_off = l4 + offsetof(struct tcphdr, check);
	int err;

	if (p->key.family == LB_AF_INET)
		err = lb_tc_nat_addr4(skb, csum_off, is_src ? LB_IP4_SADDR_OFF : LB_IP4_DADDR_OFF,
				      from->w[0], to->w[0]);
	else
		err = lb_tc_nat_addr6(skb, csum_off, is_src ? LB_IP6_SADDR_OFF : LB_IP6_DADDR_OFF,
				      from, to);
	if (err)
		return err;
	if (from_port == to_port)
		return 0;
	/* Ports are inside the TCP checksum's own coverage: no pseudo-header flag. */
	if (bpf_l4_csum_replace(skb, csum_off, from_port, to_port, sizeof(to_port)))
		return -1;
	return bpf_skb_store_bytes(skb, l4 + (is_src ? 0 : 2), &to_port, sizeof(to_port), 0) ? -1 :
											       0;
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
