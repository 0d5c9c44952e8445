/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map definitions of the apilb datapath. Layouts come from maps/apilb_maps.h (the ABI shared
 * with userspace); every map declares BTF key/value types so `bpftool map dump` prints field
 * names. No LIBBPF_PIN_BY_NAME: `apilb attach` pins the whole object with bpf_object__pin_maps().
 */
#ifndef APILB_BPF_MAPS_H
#define APILB_BPF_MAPS_H

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_VIPS);
	__type(key, struct lb_vip_key);
	__type(value, struct lb_vip);
} apilb_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_backend);
} apilb_backends_v2 SEC(".maps");

/* Inner Maglev table template. Userspace sets max_entries to the real table size before load
 * (bpf_map__inner_map()); no BPF_F_INNER_MAP, so every inner map userspace creates must have
 * exactly that size and map_flags 0, which lets the verifier inline the array lookup. */
struct lb_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_DEFAULT_TABLE);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, LB_MAX_VIPS);
	__type(key, __u32);
	__array(values, struct lb_maglev_inner);
} apilb_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_MAX_FLOWS);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct lb_flow_key);
	__type(value, struct lb_fwd);
} apilb_fwd_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_MAX_FLOWS);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct lb_flow_key);
	__type(value, struct lb_rev);
} apilb_rev_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} apilb_bports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_R__MAX);
	__type(key, __u32);
	__type(value, struct lb_stat);
} apilb_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_backend_stat);
} apilb_bstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_signal_stat);
} apilb_signals SEC(".maps");

/* Written by `apilb attach` only. BPF never touches it; it lives in this object so that it is
 * created and pinned together with the others (libbpf creates every map of the .maps section,
 * referenced or not, and a non-static global is never dropped by the compiler). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_attach_rec);
} apilb_attach SEC(".maps");

/* Is port (network order) the port of some configured backend? An ARRAY lookup the verifier
 * inlines: far cheaper than a miss in the flow table's 40-byte-key hash. */
static __always_inline int lb_is_backend_port(__be16 port)
{
	__u32 k = bpf_ntohs(port);
	__u32 *on = bpf_map_lookup_elem(&apilb_bports, &k);

	return on && *on;
}

/* Counts one packet under its reason. Per-CPU values: no atomics needed. */
static __always_inline void lb_count(__u32 why, __u64 len)
{
	struct lb_stat *st;

	st = bpf_map_lookup_elem(&apilb_stats, &why);
	if (st) {
		st->packets++;
		st->bytes += len;
	}
}

/* Counts a new connection sent to backend slot id (per-CPU: no atomics). */
static __always_inline void lb_count_new_flow(__u32 id)
{
	struct lb_backend_stat *st = bpf_map_lookup_elem(&apilb_bstats, &id);

	if (st)
		st->new_flows++;
}

#endif /* APILB_BPF_MAPS_H */
