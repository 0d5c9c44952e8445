// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * apilb datapath: in-kernel load balancing of TCP connections from a node to a node-local VIP.
 *
 *   lb_fwd     (tc, egress of the VIP device apilb0): client -> VIP packets are DNATed to a
 *              backend chosen by Maglev (connection-tracked), then bpf_redirect_neigh()ed to the
 *              backend's NIC, or bpf_redirect()ed to lo ingress when the backend is the node.
 *   lb_rev_xdp (xdp, multi-buffer aware where the kernel takes it, NIC ingress) and lb_rev_tc
 *              (tc, NIC ingress in --ingress tc mode, and lo ingress for hairpin): replies backend -> client get the VIP back as source;
 *              ICMP errors about tracked flows are translated too.
 *
 * No SNAT: backends see the node's address. Every program has one exit that counts a reason
 * (maps/apilb_maps.h: enum lb_reason) into apilb_stats. Design notes: docs/datapath.md.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/select.h"
#include "lib/flow.h"
#include "lib/nat.h"
#include "lib/icmp.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static const __u8 lb_zero_macs[2 * ETH_ALEN];

/* NEW, HIT and ADOPT become FWD_HAIRPIN; any other reason (REPICK, FLOW_CLOSED, ...) stays.
 * Computed without a branch on the reason: the verifiers of 5.10 and 6.1 wrongly treated the branch
 * `*why == LB_R_FWD_NEW` as never taken here (state pruning over the spilled reason) and removed it,
 * so hairpin packets were counted as fwd_new (found by scripts/kernel-matrix.sh). */
static __always_inline __u32 lb_hairpin_reason(__u32 why)
{
	const __u32 mask = (1u << LB_R_FWD_NEW) | (1u << LB_R_FWD_HIT) | (1u << LB_R_FWD_ADOPT);
	__u32 hit = (mask >> (why & 31)) & 1;

	return why + hit * (LB_R_FWD_HAIRPIN - why);
}

/* bpf_redirect_neigh() to the backend's NIC. With the next hop userspace keeps in the slot (the
 * route's gateway, or the backend itself when on-link), the kernel only resolves the neighbour;
 * without one (all-zero: multipath routes) it does a FIB lookup per packet. */
static __always_inline long lb_redirect_backend(const struct lb_backend *be)
{
	struct bpf_redir_neigh nh = {};

	if (!(be->nh.w[0] | be->nh.w[1] | be->nh.w[2] | be->nh.w[3]))
		return bpf_redirect_neigh(be->ifindex, NULL, 0, 0);
	if (be->family == LB_AF_INET) {
		nh.nh_family = LB_SYS_AF_INET;
		nh.ipv4_nh = be->nh.w[0];
	} else {
		nh.nh_family = LB_SYS_AF_INET6;
		__builtin_memcpy(nh.ipv6_nh, be->nh.w, sizeof(nh.ipv6_nh));
	}
	return bpf_redirect_neigh(be->ifindex, &nh, sizeof(nh), 0);
}

static __always_inline int lb_fwd_redirect(struct __sk_buff *skb, const struct lb_backend *be,
					   __u32 *why)
{
	long ret;

	if (be->flags & LB_BE_F_LOCAL) {
		/* Hairpin: bpf_redirect_neigh() to one of our own addresses is silently dropped.
		 * lo ingress accepts it with all-zero MACs (lo's address, so PACKET_HOST). */
		if (bpf_skb_store_bytes(skb, 0, lb_zero_macs, sizeof(lb_zero_macs), 0)) {
			*why = LB_R_ERR_REWRITE;
			return TC_ACT_SHOT;
		}
		*why = lb_hairpin_reason(*why);
		ret = bpf_redirect(lb_lo_ifindex, BPF_F_INGRESS);
	} else {
		/* Neighbour resolution (and FIB lookup without a next hop) by the kernel; needs
		 * no forwarding sysctl (unlike bpf_fib_lookup). */
		ret = lb_redirect_backend(be);
	}
	if (ret != TC_ACT_REDIRECT) {
		*why = LB_R_ERR_REDIRECT;
		return TC_ACT_SHOT;
	}
	return TC_ACT_REDIRECT;
}

/* TCP to a VIP: drop what cannot be a sane segment, else pick/track and DNAT. */
static __always_inline int lb_fwd_tcp(struct __sk_buff *skb, struct lb_pkt *p, int kind,
				      __u32 *why)
{
	struct lb_vip *vip = NULL;
	struct lb_fwd *f = NULL;
	struct lb_backend *be;
	struct lb_vip_key vk;

	/* Only VIP-routed traffic reaches this device, so a TCP header too short to even hold
	 * the ports is dropped (fail-closed) instead of sent out untranslated. */
	if (!p->has_ports) {
		*why = LB_R_DROP_MALFORMED;
		return TC_ACT_SHOT;
	}
	__builtin_memset(&vk, 0, sizeof(vk)); /* hash keys compare every byte */
	vk.addr = p->key.dst;
	vk.port = p->key.dport;
	vk.proto = IPPROTO_TCP;
	vk.family = p->key.family;
	/* Only VIP tuples ever get a fwd entry: a tracked flow needs no VIP lookup (one hash lookup
	 * per forward packet less). A read only: nothing changes before the checks below. */
	if (kind == LB_P_TCP)
		f = bpf_map_lookup_elem(&apilb_fwd_v2, &p->key);
	if (!f) {
		vip = bpf_map_lookup_elem(&apilb_vips, &vk);
		if (!vip) {
			*why = LB_R_PASS_NOT_VIP;
			return TC_ACT_OK;
		}
	}
	if (kind != LB_P_TCP) {
		*why = LB_R_DROP_MALFORMED;
		return TC_ACT_SHOT;
	}
	/* Forwarded packets have no socket: they may not create (or touch) flow state. Their
	 * replies would not be translated anyway (pods use socket mode, docs/datapath.md). */
	if (lb_require_local && !skb->sk) {
		*why = LB_R_DROP_NOT_LOCAL;
		return TC_ACT_SHOT;
	}
	be = lb_fwd_flow(p, f, &vk, vip, why);
	if (!be)
		return TC_ACT_SHOT; /* fail-closed: there is nobody to send it to */
	if (lb_tc_nat(skb, p, 0, &be->addr, be->port)) {
		*why = LB_R_ERR_REWRITE;
		return TC_ACT_SHOT;
	}
	return lb_fwd_redirect(skb, be, why);
}

static __lb_noinline int lb_fwd_process(struct __sk_buff *skb, __u32 *why)
{
	struct lb_pkt p;
	int kind;

	__builtin_memset(&p, 0, sizeof(p));
	kind = lb_parse((void *)(long)skb->data, (void *)(long)skb->data_end, &p, why);
	if (kind == LB_P_PASS)
		return TC_ACT_OK;
	if (kind == LB_P_ICMP) {
		*why = LB_R_PASS_UNSUPPORTED; /* e.g. ping to the VIP: not load balanced */
		return TC_ACT_OK;
	}
	return lb_fwd_tcp(skb, &p, kind, why);
}

SEC("tc")
int lb_fwd(struct __sk_buff *skb)
{
	__u32 why = LB_R_PASS_NOT_IP;
	int act;

	lb_build_mark();
	act = lb_fwd_process(skb, &why);

	if (act == TC_ACT_SHOT)
		lb_dbg("apilb: lb_fwd drop, reason %u", why);
	lb_count(why, skb->len);
	return act;
}

/* Reverse path, XDP flavour: direct writes, RFC 1624 checksums. Never drops traffic that is
 * not ours (fail-open); a rewrite that fails half-way is dropped rather than delivered with a
 * broken checksum. */
static __lb_noinline int lb_rev_xdp_process(struct xdp_md *ctx, __u32 *why)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct lb_rev r;
	struct lb_pkt p;
	int kind;

	__builtin_memset(&p, 0, sizeof(p));
	kind = lb_parse(data, data_end, &p, why);
	if (kind == LB_P_ICMP) {
		lb_icmp_xlate(data, data_end, &p, why);
		return XDP_PASS;
	}
	if (kind != LB_P_TCP) {
		if (kind == LB_P_TCP_SHORT)
			*why = LB_R_PASS_UNSUPPORTED;
		return XDP_PASS;
	}
	if (!lb_rev_tcp(&p, &r, why))
		return XDP_PASS;
	if (lb_xdp_nat_src(data, data_end, &p, &r)) {
		*why = LB_R_ERR_REWRITE;
		return XDP_DROP;
	}
	return XDP_PASS;
}

/* Bytes of the whole frame: with frags, data..data_end is only its first buffer. */
static __always_inline __u64 lb_xdp_len(struct xdp_md *ctx)
{
	if (lb_xdp_frags)
		return bpf_xdp_get_buff_len(ctx);
	return ctx->data_end - ctx->data;
}

/* Multi-buffer aware (what SEC("xdp.frags") declares), so native XDP attaches on NICs with a jumbo
 * MTU (the headers it reads and rewrites are always in the first buffer; a frame whose headers are
 * not passes as unparsable). Declared SEC("xdp") on purpose: libbpf adds BPF_F_XDP_HAS_FRAGS for an
 * "xdp.frags" section at load time whatever bpf_program__set_flags() said, and kernels < 5.18
 * refuse the unknown flag (EINVAL, no verifier log). The loader sets the flag when the kernel
 * takes it (chooseXdpFrags, userspace/bpf/loader.cpp) and loads plain xdp otherwise. */
SEC("xdp")
int lb_rev_xdp(struct xdp_md *ctx)
{
	__u32 why = LB_R_PASS_NOT_IP;
	int act;

	lb_build_mark();
	act = lb_rev_xdp_process(ctx, &why);

	lb_count(why, lb_xdp_len(ctx));
	return act;
}

/* Enough of an ICMP error to reach the quoted TCP checksum (IPv6: 14 + 40 + 8 + 40 + 18). */
#define LB_ICMP_PULL 120

/* ICMP error on the TC path: the drivers' header split / GRO leave only the headers they know
 * (up to the ICMP header) in the linear area, out of reach of direct access; pull the quote
 * in first. Only ICMP pays for this. */
static __always_inline int lb_rev_tc_icmp(struct __sk_buff *skb, const struct lb_pkt *p,
					  __u32 *why)
{
	__u32 want = skb->len < LB_ICMP_PULL ? skb->len : LB_ICMP_PULL;
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;

	if (data + want > data_end) {
		if (bpf_skb_pull_data(skb, want)) {
			*why = LB_R_PASS_NOT_TRACKED; /* untranslated, like an unknown flow */
			return TC_ACT_OK;
		}
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	lb_icmp_xlate(data, data_end, p, why);
	return TC_ACT_OK;
}

/* Reverse path, TC flavour: same decisions, TCP rewritten through the csum helpers (required
 * on lo, where hairpin replies are CHECKSUM_PARTIAL). */
static __lb_noinline int lb_rev_tc_process(struct __sk_buff *skb, __u32 *why)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct lb_rev r;
	struct lb_pkt p;
	int kind;

	__builtin_memset(&p, 0, sizeof(p));
	kind = lb_parse(data, data_end, &p, why);
	if (kind == LB_P_ICMP)
		return lb_rev_tc_icmp(skb, &p, why);
	if (kind != LB_P_TCP) {
		if (kind == LB_P_TCP_SHORT)
			*why = LB_R_PASS_UNSUPPORTED;
		return TC_ACT_OK;
	}
	if (!lb_rev_tcp(&p, &r, why))
		return TC_ACT_OK;
	if (lb_tc_nat(skb, &p, 1, &r.vip, r.vip_port)) {
		*why = LB_R_ERR_REWRITE;
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

/* Every packet lb_rev_tc lets through, translated or not, goes on to the hook's next program
 * (TC_ACT_UNSPEC, which tcx calls TCX_NEXT): the NIC's ingress is shared, and TC_ACT_OK would
 * end it there, so that no tc filter of a later priority (a CNI's, a policer) would see any
 * packet of the NIC while apilb is attached. */
SEC("tc")
int lb_rev_tc(struct __sk_buff *skb)
{
	__u32 why = LB_R_PASS_NOT_IP;
	int act;

	lb_build_mark();
	act = lb_rev_tc_process(skb, &why);

	lb_count(why, skb->len);
	return act == TC_ACT_OK ? TC_ACT_UNSPEC : act;
}

/* Socket mode (cgroup hooks), on the same VIP, Maglev and backend maps. */
#include "sock.bpf.h"
