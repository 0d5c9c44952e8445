/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket mode: maps and helpers of the cgroup connect/getpeername/sock_release programs
 * (bpf/sock.bpf.h). A connect() to a VIP picks a backend from the VIP's Maglev table with the hash
 * of the socket cookie (there is no source port yet at connect()), rewrites the destination to the
 * backend, and remembers the VIP in the socket's storage for getpeername(). Health comes from the
 * same backend slots as the packet path: a DOWN backend is never chosen.
 */
#ifndef APILB_BPF_SOCK_H
#define APILB_BPF_SOCK_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/select.h"

#define LB_SOCK_STREAM 1 /* SOCK_STREAM (<sys/socket.h> is not available to BPF C) */

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lb_sock);
} apilb_sock SEC(".maps");

/* Cookie -> backend of every open translated socket: what `apilb run` destroys when the backend
 * dies (sock_diag reports the same cookie). Entries go at close (lb_sock_release). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct lb_sock_ent);
} apilb_scookie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_backend_conn);
} apilb_sconn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_S__MAX);
	__type(key, __u32);
	__type(value, __u64);
} apilb_sstats SEC(".maps");

/* Written by `apilb attach` only (like apilb_attach); here so it is created and pinned with the
 * other maps. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_sock_rec);
} apilb_sockrec SEC(".maps");

/* Netns cookie of the node: connects from other network namespaces (pods) are left alone.
 * 0 = every netns under the cgroup (--pods). Set by the loader. */
const volatile __u64 lb_sock_netns = 0;

static __always_inline void lb_sock_count(__u32 why)
{
	__u64 *n = bpf_map_lookup_elem(&apilb_sstats, &why);

	if (n)
		(*n)++;
}

/* Hash of the socket cookie (unique per socket, monotonic): the MurmurHash3 finalizer spreads the
 * consecutive cookies of new sockets over the whole table. Repeated connect() calls on one socket
 * hash alike, so they pick the same backend while the table is unchanged. */
static __always_inline __u32 lb_sock_hash(__u64 cookie)
{
	__u32 h = 0x736f636b;

	h = lb_hash_mix(h, (__u32)cookie);
	h = lb_hash_mix(h, (__u32)(cookie >> 32));
	return lb_hash_final(h ^ sizeof(cookie));
}

/* Last resort when the probed slots all hold unusable backends: the first in-use backend of the
 * VIP, not DOWN and not draining, walking the slots from a point the hash chooses (a bounded loop,
 * run only in this rare case). */
static __always_inline struct lb_backend *lb_sock_any_backend(const struct lb_vip *vip, __u8 family,
							      __u32 hash, __u32 *idp)
{
	struct lb_backend *be;

	for (__u32 i = 0; i < LB_MAX_BACKENDS; i++) {
		*idp = (hash + i) % LB_MAX_BACKENDS;
		be = lb_backend_usable(*idp, family);
		if (be && be->vip_id == vip->vip_id && !(be->flags & LB_BE_F_DRAIN))
			return be;
	}
	return NULL;
}

/* The backend of the socket's Maglev slot. A slot whose backend is DOWN or gone (the moment between
 * a health flag and the next published table) is passed over for the next of up to
 * LB_SOCK_PROBES slots, then for any usable backend: a connect() refused with EPERM is an error the
 * client sees at once, where the packet path's dropped SYN would only be retransmitted. */
#define LB_SOCK_PROBES 4
static __always_inline struct lb_backend *lb_sock_backend(const struct lb_vip *vip, __u8 family,
							  __u32 hash, __u32 *idp)
{
	struct lb_backend *be;

#pragma unroll
	for (int i = 0; i < LB_SOCK_PROBES; i++) {
		*idp = lb_maglev_slot(vip, hash + i * 0x9e3779b9u);
		be = lb_backend_usable(*idp, family);
		if (be)
			return be;
	}
	return lb_sock_any_backend(vip, family, hash, idp);
}

/* Records the translation: the dialled VIP for getpeername() and the cookie for SOCK_DESTROY.
 * A cookie entry exists only for a socket with storage, so lb_sock_release can tell from the
 * storage alone whether there is an entry to delete. A full map does not stop the connect(); it is
 * counted as LB_S_UNTRACKED. */
static __always_inline void lb_sock_remember(struct bpf_sock_addr *ctx, const struct lb_sock *s,
					     const struct lb_backend *be, __u64 cookie)
{
	struct lb_sock_ent ent = {};
	struct lb_sock *st;

	st = bpf_sk_storage_get(&apilb_sock, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st) {
		lb_sock_count(LB_S_UNTRACKED);
		return;
	}
	*st = *s;
	ent.backend_id = s->backend_id;
	ent.backend_gen = be->gen;
	ent.connect_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&apilb_scookie, &cookie, &ent, BPF_ANY))
		lb_sock_count(LB_S_UNTRACKED);
}

/* The backend for a TCP connect() to vk (family-folded destination; s holds the address as dialled,
 * for the socket storage). NULL with *verdict = 1: not ours, leave it; NULL with *verdict = 0: a
 * VIP without a usable backend, refuse (connect() fails with EPERM at once instead of hanging on a
 * VIP nobody routes). */
static __always_inline struct lb_backend *lb_sock_pick(struct bpf_sock_addr *ctx,
						       struct lb_vip_key *vk, struct lb_sock *s,
						       int *verdict)
{
	struct lb_backend *be;
	struct lb_vip *vip;
	__u64 cookie;
	__u32 id, *n;

	*verdict = 1;
	if (ctx->type != LB_SOCK_STREAM || ctx->protocol != IPPROTO_TCP)
		return NULL;
	vk->port = (__be16)ctx->user_port;
	vk->proto = IPPROTO_TCP;
	vip = bpf_map_lookup_elem(&apilb_vips, vk);
	if (!vip)
		return NULL; /* not counted: every connect() under the cgroup lands here */
	if (lb_sock_netns && bpf_get_netns_cookie(ctx) != lb_sock_netns) {
		lb_sock_count(LB_S_OTHER_NETNS);
		return NULL;
	}
	cookie = bpf_get_socket_cookie(ctx);
	be = lb_sock_backend(vip, vk->family, lb_sock_hash(cookie), &id);
	if (!be) {
		lb_sock_count(LB_S_NO_BACKEND);
		*verdict = 0;
		return NULL;
	}
	s->port = vk->port;
	s->backend_id = id;
	lb_sock_remember(ctx, s, be, cookie);
	n = bpf_map_lookup_elem(&apilb_sconn, &id);
	if (n)
		(*n)++;
	lb_sock_count(LB_S_CONNECT);
	return be;
}

#endif /* APILB_BPF_SOCK_H */
