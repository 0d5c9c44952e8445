// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A native XDP program that passes every frame: scripts/bench.sh's direct-xdp target attaches it
// to the node's NIC so a direct connection pays what any XDP program costs on that NIC (on veth:
// NAPI mode, the page-pool copy, GRO), and apilb's own share can be told from the NIC's.
#include <linux/bpf.h>

__attribute__((section("xdp"), used)) int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] __attribute__((section("license"), used)) = "Dual BSD/GPL";
