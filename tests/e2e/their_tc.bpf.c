/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * "Someone else's" tc program for the tests that share a hook with apilb's
 * (tests/ctl/attach_lab.sh, tests/e2e/tc_first.sh): counts the IPv4 TCP packets it sees by the
 * last byte of their source address (map by_src) and returns 0, which is TC_ACT_OK for a classic
 * filter and TCX_PASS in a tcx chain: what a CNI's host program returns for the node's own
 * traffic, ending the hook for whatever comes after it. The tests compile it with clang.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} by_src SEC(".maps");

SEC("tc")
int their_tc(struct __sk_buff *skb)
{
	void *d = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct iphdr *ip = d + sizeof(struct ethhdr);
	__u32 k;
	__u64 *n;

	if ((void *)(ip + 1) > end || skb->protocol != __constant_htons(ETH_P_IP) || ip->protocol != 6)
		return 0;
	k = ip->saddr >> 24;
	n = bpf_map_lookup_elem(&by_src, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
