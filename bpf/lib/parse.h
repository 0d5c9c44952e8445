/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing shared by the TC and XDP programs: Ethernet, IPv4 (any IHL, options are just
 * skipped), IPv6 without extension headers, then TCP or ICMP/ICMPv6. Works on a plain
 * [data, data_end) window so the same code serves struct __sk_buff and struct xdp_md.
 *
 * Contract (as xdp-tools' hdr_cursor helpers): every read is preceded by a bounds check
 * against data_end; anything we do not handle returns LB_P_PASS with *why set.
 */
#ifndef APILB_BPF_PARSE_H
#define APILB_BPF_PARSE_H

#include "lib/common.h"

/* Returns the L4 protocol, or -1 (pass) with *why set. */
static __always_inline int lb_parse_ip4(void *data, void *data_end, struct lb_pkt *p, __u32 *why)
{
	struct iphdr *iph = data + ETH_HLEN;
	__u32 hl;

	if ((void *)(iph + 1) > data_end)
		return -1; /* IP header cut: not a packet we can reason about */
	hl = iph->ihl * 4;
	if (hl < sizeof(*iph) || data + ETH_HLEN + hl > data_end)
		return -1;
	/* Any fragment (first one included): only the first has ports, and rewriting one
	 * fragment of a datagram would corrupt it. The VIP path never fragments (TCP + PMTU). */
	if (iph->frag_off & bpf_htons(LB_IP_MF | LB_IP_OFFSET)) {
		*why = LB_R_PASS_FRAGMENT;
		return -1;
	}
	p->key.family = LB_AF_INET;
	p->key.src.w[0] = iph->saddr;
	p->key.dst.w[0] = iph->daddr;
	p->l4_off = ETH_HLEN + hl;
	p->l3_len = bpf_ntohs(iph->tot_len);
	return iph->protocol;
}

static __always_inline int lb_parse_ip6(void *data, void *data_end, struct lb_pkt *p, __u32 *why)
{
	struct ipv6hdr *ip6h = data + ETH_HLEN;

	if ((void *)(ip6h + 1) > data_end)
		return -1;
	if (ip6h->nexthdr == LB_IPV6_NEXTHDR_FRAGMENT) {
		*why = LB_R_PASS_FRAGMENT;
		return -1;
	}
	p->key.family = LB_AF_INET6;
	__builtin_memcpy(&p->key.src, &ip6h->saddr, sizeof(p->key.src));
	__builtin_memcpy(&p->key.dst, &ip6h->daddr, sizeof(p->key.dst));
	p->l4_off = ETH_HLEN + sizeof(*ip6h);
	p->l3_len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	return ip6h->nexthdr;
}

static __always_inline int lb_parse_tcp(void *data, void *data_end, struct lb_pkt *p)
{
	__u32 off = p->l4_off & 0xff; /* re-bound for the verifier: at most 14 + 60 */
	struct tcphdr *th = data + off;
	__be16 *ports = data + off;

	p->key.proto = IPPROTO_TCP;
	if ((void *)(ports + 2) > data_end)
		return LB_P_TCP_SHORT;
	p->has_ports = 1;
	p->key.sport = ports[0];
	p->key.dport = ports[1];
	if ((void *)(th + 1) > data_end || th->doff < 5)
		return LB_P_TCP_SHORT;
	if (data + off + th->doff * 4 > data_end)
		return LB_P_TCP_SHORT; /* options cut */
	p->seq = bpf_ntohl(th->seq);
	p->ack_seq = bpf_ntohl(th->ack_seq);
	p->tcp_flags = ((__u8 *)th)[13];
	/* From the IP length: data_end may include Ethernet padding of short frames. */
	p->has_data = p->l3_len > off - ETH_HLEN + th->doff * 4;
	return LB_P_TCP;
}

/* Parses one frame into *p (which must be zeroed: its key is used as a hash key as is). */
static __always_inline int lb_parse(void *data, void *data_end, struct lb_pkt *p, __u32 *why)
{
	struct ethhdr *eth = data;
	int proto;

	*why = LB_R_PASS_NOT_IP;
	if ((void *)(eth + 1) > data_end)
		return LB_P_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		proto = lb_parse_ip4(data, data_end, p, why);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		proto = lb_parse_ip6(data, data_end, p, why);
	else
		return LB_P_PASS; /* ARP, VLAN (802.1Q/AD), anything else */
	if (proto < 0)
		return LB_P_PASS;
	if (proto == IPPROTO_TCP)
		return lb_parse_tcp(data, data_end, p);
	if ((proto == IPPROTO_ICMP && p->key.family == LB_AF_INET) ||
	    (proto == IPPROTO_ICMPV6 && p->key.family == LB_AF_INET6))
		return LB_P_ICMP;
	*why = LB_R_PASS_UNSUPPORTED;
	return LB_P_PASS;
}

#endif /* APILB_BPF_PARSE_H */
