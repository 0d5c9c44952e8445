/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Backend selection: a hash of the flow's 5-tuple indexes the VIP's Maglev table (an inner
 * ARRAY of apilb_maglev, built and swapped atomically by userspace).
 *
 * The hash is computed here from the tuple, never taken from skb->hash: at TC egress that is
 * the socket's random sk_txhash, which TCP re-rolls after a retransmission timeout, so a flow
 * that lost its entry would be re-picked onto another backend. The mixing steps follow the
 * public-domain MurmurHash3 32-bit block and finalizer constants.
 */
#ifndef APILB_BPF_SELECT_H
#define APILB_BPF_SELECT_H

#include "lib/common.h"
#include "lib/maps.h"

static __always_inline __u32 lb_rol32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 lb_hash_mix(__u32 h, __u32 w)
{
	w *= 0xcc9e2d51;
	w = lb_rol32(w, 15);
	w *= 0x1b873593;
	h ^= w;
	h = lb_rol32(h, 13);
	return h * 5 + 0xe6546b64;
}

static __always_inline __u32 lb_hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* Hash of the client -> VIP tuple. Clients on a node share src and dst address, so all the
 * entropy is in the source port: the finalizer spreads it over every bit. */
static __always_inline __u32 lb_flow_hash(const struct lb_flow_key *k)
{
	__u32 h = 0x61706c62;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		h = lb_hash_mix(h, k->src.w[i]);
		h = lb_hash_mix(h, k->dst.w[i]);
	}
	h = lb_hash_mix(h, ((__u32)k->sport << 16) | k->dport);
	h = lb_hash_mix(h, ((__u32)k->family << 8) | k->proto);
	return lb_hash_final(h ^ sizeof(*k));
}

/* A backend that may carry traffic of this family: configured and not dead. DRAIN is fine
 * here: draining backends are not in the table, and existing flows must keep them. */
static __always_inline struct lb_backend *lb_backend_usable(__u32 id, __u8 family)
{
	struct lb_backend *be;

	if (id >= LB_MAX_BACKENDS)
		return NULL;
	be = bpf_map_lookup_elem(&apilb_backends_v2, &id);
	if (!be || !(be->flags & LB_BE_F_IN_USE) || (be->flags & LB_BE_F_DOWN))
		return NULL;
	if (be->family != family)
		return NULL;
	return be;
}

/* Maglev lookup: the backend id in slot hash % M of the VIP's table, or LB_NO_BACKEND. Shared by
 * the packet path (hash of the 5-tuple) and socket mode (hash of the socket cookie). */
static __always_inline __u32 lb_maglev_slot(const struct lb_vip *vip, __u32 hash)
{
	__u32 vip_id = vip->vip_id, size = vip->table_size, slot;
	__u32 *id;
	void *table;

	if (!size)
		return LB_NO_BACKEND;
	table = bpf_map_lookup_elem(&apilb_maglev, &vip_id);
	if (!table)
		return LB_NO_BACKEND; /* no table published for this VIP yet */
	slot = hash % size;
	id = bpf_map_lookup_elem(table, &slot);
	return id ? *id : LB_NO_BACKEND;
}

static __always_inline __u32 lb_maglev_pick(const struct lb_vip *vip, const struct lb_flow_key *k)
{
	return lb_maglev_slot(vip, lb_flow_hash(k));
}

#endif /* APILB_BPF_SELECT_H */
