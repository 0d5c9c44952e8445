/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket-mode programs (included by apilb.bpf.c, so they share its maps):
 *
 *   lb_sock_connect4/6  (cgroup/connect4, connect6): a TCP connect() to a VIP connects to a backend
 *                       instead (lib/sock.h). connect6 also serves an IPv4 VIP dialled as a
 *                       v4-mapped address from an AF_INET6 socket.
 *   lb_sock_peer4/6     (cgroup/getpeername4, getpeername6): a translated socket's peer is the VIP
 *                       as dialled.
 *   lb_sock_release     (cgroup/sock_release): forgets a closed socket's cookie.
 *
 * Every program returns 1 (allow) except a connect() to a VIP without a usable backend (0: EPERM).
 */
#ifndef APILB_BPF_SOCK_PROGS_H
#define APILB_BPF_SOCK_PROGS_H

#include "lib/sock.h"

SEC("cgroup/connect4")
int lb_sock_connect4(struct bpf_sock_addr *ctx)
{
	struct lb_vip_key vk = {};
	struct lb_sock s = {};
	struct lb_backend *be;
	int verdict;

	vk.addr.w[0] = ctx->user_ip4;
	vk.family = LB_AF_INET;
	s.peer = vk.addr;
	s.family = LB_AF_INET;
	be = lb_sock_pick(ctx, &vk, &s, &verdict);
	if (be) {
		ctx->user_ip4 = be->addr.w[0];
		ctx->user_port = be->port;
	}
	return verdict;
}

/* ::ffff:a.b.c.d */
static __always_inline int lb_v4_mapped(const struct lb_addr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == bpf_htonl(0xffff);
}

SEC("cgroup/connect6")
int lb_sock_connect6(struct bpf_sock_addr *ctx)
{
	struct lb_vip_key vk = {};
	struct lb_sock s = {};
	struct lb_backend *be;
	int verdict, mapped;

#pragma unroll
	for (int i = 0; i < 4; i++)
		s.peer.w[i] = ctx->user_ip6[i];
	s.family = LB_AF_INET6;
	mapped = lb_v4_mapped(&s.peer);
	if (mapped) {
		vk.addr.w[0] = s.peer.w[3];
		vk.family = LB_AF_INET;
	} else {
		vk.addr = s.peer;
		vk.family = LB_AF_INET6;
	}
	be = lb_sock_pick(ctx, &vk, &s, &verdict);
	if (be) {
		if (mapped) {
			ctx->user_ip6[3] = be->addr.w[0];
		} else {
#pragma unroll
			for (int i = 0; i < 4; i++)
				ctx->user_ip6[i] = be->addr.w[i];
		}
		ctx->user_port = be->port;
	}
	return verdict;
}

SEC("cgroup/getpeername4")
int lb_sock_peer4(struct bpf_sock_addr *ctx)
{
	struct lb_sock *s = bpf_sk_storage_get(&apilb_sock, ctx->sk, 0, 0);

	if (s && s->family == LB_AF_INET) {
		ctx->user_ip4 = s->peer.w[0];
		ctx->user_port = s->port;
		lb_sock_count(LB_S_PEER_VIP);
	}
	return 1;
}

SEC("cgroup/getpeername6")
int lb_sock_peer6(struct bpf_sock_addr *ctx)
{
	struct lb_sock *s = bpf_sk_storage_get(&apilb_sock, ctx->sk, 0, 0);

	if (s && s->family == LB_AF_INET6) {
#pragma unroll
		for (int i = 0; i < 4; i++)
			ctx->user_ip6[i] = s->peer.w[i];
		ctx->user_port = s->port;
		lb_sock_count(LB_S_PEER_VIP);
	}
	return 1;
}

SEC("cgroup/sock_release")
int lb_sock_release(struct bpf_sock *sk)
{
	__u64 cookie;

	if (sk->type != LB_SOCK_STREAM || sk->protocol != IPPROTO_TCP)
		return 1;
	/* Only a translated socket has storage, and only such a socket a cookie entry
	 * (lb_sock_remember): every other socket under the cgroup -- with the cgroup root, every TCP
	 * socket of the node -- closes without a hash lookup. */
	if (!bpf_sk_storage_get(&apilb_sock, sk, 0, 0))
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	bpf_map_delete_elem(&apilb_scookie, &cookie);
	return 1;
}

#endif /* APILB_BPF_SOCK_PROGS_H */
