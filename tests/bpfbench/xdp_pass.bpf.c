// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A native XDP program that passes every frame: scripts/bench.sh's direct-xdp target attaches it
// to the node's NIC so a direct connection pays what any XDP program costs on that NIC (on veth:
// NAPI mode, the page-pool copy, GRO), and apilb's own share can be told from the NIC's.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
