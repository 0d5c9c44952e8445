/* SPDX-License-Identifier: (Apache-2.0 OR BSD-2-Clause) */
/*
 * apilb map ABI: every key and value struct of every pinned map, the map names and sizes, and
 * the counter-reason vocabulary. Compiled by clang -target bpf (bpf/) and by the C++ userspace
 * (userspace/), so both sides see one layout; each struct's size is asserted by both compilers.
 *
 * Addresses are always 16 bytes (struct lb_addr): an IPv4 address sits in word 0 with words 1-3
 * zero, so one set of maps serves v4 and v6 and a second VIP or family is an addition, not a new
 * map. Everything marked "network order" is stored exactly as on the wire.
 *
 * If a pinned map's layout ever changes, give the map a new name (suffix _v2) so a new binary
 * never reinterprets an old pin.
 */
#ifndef APILB_MAPS_H
#define APILB_MAPS_H

#include <linux/types.h>

#ifdef __cplusplus
#define LB_ABI_SIZE(t, n) static_assert(sizeof(t) == (n), #t " is map ABI")
#else
#define LB_ABI_SIZE(t, n) _Static_assert(sizeof(t) == (n), #t " is map ABI")
#endif

/* ---- sizes ------------------------------------------------------------------------------- */
#define LB_MAX_VIPS 16		 /* VIP slots (vip_id 0..15) */
#define LB_MAX_BACKENDS 256	 /* backend slots across all VIPs */
#define LB_MAX_FLOWS 65536	 /* tracked flows (each uses one fwd and one rev entry) */
#define LB_DEFAULT_TABLE 16381	 /* default Maglev table size (prime) */
#define LB_MAX_TABLE 65537	 /* largest Maglev table size accepted (prime) */
#define LB_MAX_IFACES 8		 /* NICs one attach may cover */
#define LB_NO_BACKEND 0xffffffffu /* Maglev slot / flow value meaning "none" */

/* Address families, as in <sys/socket.h> (not included: BPF C has no libc). */
#define LB_AF_INET 2
#define LB_AF_INET6 10

/* ---- map names (<= 15 chars; the kernel truncates longer names) ---------------------------- */
#define LB_MAP_VIPS "apilb_vips"
#define LB_MAP_BACKENDS "apilb_backends_v2"
#define LB_MAP_MAGLEV "apilb_maglev"
#define LB_MAP_FWD "apilb_fwd_v2"
#define LB_MAP_REV "apilb_rev_v2"
#define LB_MAP_STATS "apilb_stats"
#define LB_MAP_ATTACH "apilb_attach"
#define LB_MAP_BPORTS "apilb_bports"
#define LB_MAP_BSTATS "apilb_bstats"
#define LB_MAP_SIGNALS "apilb_signals"

/* Version of this map ABI (map names, types, key/value layouts, max_entries). Bump it with any
 * such change (a new counter reason changes apilb_stats' max_entries). A binary adopts a pinned
 * datapath, replacing its programs in place, only when the pinned ABI (the attach record's
 * version) is the same; `apilb version` and the metrics print it (docs/architecture.md). */
#define LB_ABI_VERSION 3

/* An IPv4 or IPv6 address. IPv4: w[0] = address (network order), w[1..3] = 0. The datapath
 * compares and copies the 32-bit words; the byte view exists for `bpftool map dump`, which prints
 * it as "b": [10,77,0,11,0,...] (the address's bytes in order) next to the words. */
struct lb_addr {
	union {
		__be32 w[4]; /* network order */
		__u8 b[16];  /* the same bytes, for readable dumps */
	};
};
LB_ABI_SIZE(struct lb_addr, 16);

/* ---- apilb_vips: HASH lb_vip_key -> lb_vip ------------------------------------------------ */
struct lb_vip_key {
	struct lb_addr addr; /* the VIP */
	__be16 port;	     /* VIP port, network order */
	__u8 proto;	     /* IPPROTO_TCP (6) */
	__u8 family;	     /* LB_AF_INET or LB_AF_INET6 */
};
LB_ABI_SIZE(struct lb_vip_key, 20);

struct lb_vip {
	__u32 vip_id;	  /* index into apilb_maglev, 0..LB_MAX_VIPS-1 */
	__u32 table_size; /* Maglev table size M (prime), slots 0..M-1 */
	__u32 flags;	  /* LB_VIP_F_* */
	__u32 pad;	  /* zero */
};
LB_ABI_SIZE(struct lb_vip, 16);

#define LB_VIP_F_FAIL_OPEN (1u << 0) /* daemon: no backend healthy, table holds last good set */

/* ---- apilb_backends_v2: ARRAY __u32 backend_id -> lb_backend --------------------------------- */
struct lb_backend {
	struct lb_addr addr; /* backend address */
	__be16 port;	     /* backend port, network order */
	__u8 family;	     /* LB_AF_INET or LB_AF_INET6 */
	__u8 pad0;	     /* zero */
	__u32 flags;	     /* LB_BE_F_* */
	__u32 vip_id;	     /* which VIP this backend serves */
	__u32 ifindex;	     /* NIC to bpf_redirect_neigh() to (route to addr); lo for LOCAL */
	__u32 gen;	     /* bumped whenever the slot is (re)assigned; flows remember it */
	__u16 weight;	     /* Maglev weight, >= 1 */
	__u16 pad1;	     /* zero */
	struct lb_addr nh;   /* next hop toward addr on ifindex: the route's gateway, or addr
			      * itself when on-link; given to bpf_redirect_neigh() so the kernel
			      * skips its route lookup. All-zero: no single next hop (multipath,
			      * LOCAL): the kernel's FIB picks it per packet. Kept current by
			      * `apilb run` from route change notifications. */
};
LB_ABI_SIZE(struct lb_backend, 56);

#define LB_BE_F_IN_USE (1u << 0) /* slot holds a configured backend */
#define LB_BE_F_LOCAL (1u << 1)	 /* addr is the node's own: hairpin via lo ingress */
#define LB_BE_F_DRAIN (1u << 2)	 /* not in the Maglev table; existing flows continue */
#define LB_BE_F_DOWN (1u << 3)	 /* dead: existing flows are re-picked / reset */

/* ---- apilb_bports: ARRAY __u32 port (host order, 0..65535) -> __u32 (1 = some backend listens
 * on this port). The reverse path tests a reply's source port here (an inlined array lookup)
 * before it pays for the 40-byte flow-table hash: every unrelated packet on an attached NIC
 * leaves after this check. Written by userspace with each backend add/remove. */
#define LB_PORTS 65536

/* ---- apilb_maglev: ARRAY_OF_MAPS __u32 vip_id -> inner ARRAY __u32 slot -> __u32 backend_id.
 * Userspace builds a complete new inner map and swaps it into the outer slot with one
 * bpf_map_update_elem(): a packet sees either the whole old or the whole new table. */

/* ---- apilb_fwd_v2: LRU_HASH lb_flow_key (client -> VIP) -> lb_fwd -----------------------------
 * apilb_fwd_v2 and apilb_rev_v2 are BPF_F_NO_COMMON_LRU: one LRU list per CPU, no shared lock
 * (max_entries is rounded up to a multiple of the CPU count, each CPU's list holds its share;
 * both entries of a flow are created by the forward path, on the client's CPU). */
struct lb_flow_key {
	struct lb_addr src; /* client address */
	struct lb_addr dst; /* VIP (fwd) / client (rev) -- see below */
	__be16 sport;	    /* network order */
	__be16 dport;	    /* network order */
	__u8 proto;	    /* IPPROTO_TCP */
	__u8 family;	    /* LB_AF_INET or LB_AF_INET6 */
	__u8 pad[2];	    /* zero */
};
LB_ABI_SIZE(struct lb_flow_key, 40);
/* fwd key: {src=client, dst=VIP, sport=client port, dport=VIP port}
 * rev key: {src=backend, dst=client, sport=backend port, dport=client port} (the reply's tuple) */

/* TCP state of a tracked flow, as seen by the datapath. */
#define LB_TCP_SYN_SENT 1     /* client SYN forwarded, no SYN-ACK yet */
#define LB_TCP_ESTABLISHED 2  /* SYN-ACK matching our SYN seen (or flow adopted mid-stream) */
#define LB_TCP_FIN_WAIT 3     /* one side sent FIN */
#define LB_TCP_CLOSING 4      /* both sides sent FIN; entry goes at the last ACK */

#define LB_FLOW_F_FIN_CLIENT (1u << 0) /* client sent FIN */
#define LB_FLOW_F_FIN_SERVER (1u << 1) /* backend sent FIN */
#define LB_FLOW_F_ADOPTED (1u << 2)    /* created by a non-SYN packet (LRU eviction, restart) */
#define LB_FLOW_F_RST_SEEN (1u << 3)   /* rev: an in-window, inexact backend RST was passed on */

struct lb_fwd {
	struct lb_addr backend; /* backend address chosen for this flow */
	__be16 backend_port;	/* network order */
	__u8 state;		/* LB_TCP_* */
	__u8 flags;		/* LB_FLOW_F_* */
	__u32 backend_id;	/* apilb_backends_v2 index */
	__u32 backend_gen;	/* lb_backend.gen at choice time; mismatch = backend replaced */
	__u32 syn_seq;		/* client ISN (host order) of the SYN we forwarded */
	__u32 cli_ack;		/* highest ack the client sent (host order), written by every
				 * forward packet; a backend RST must carry it (lb_rev.cli_ack is
				 * the fallback when this entry is gone) */
	__u32 pad;		/* zero */
	__u64 created_ns;	/* bpf_ktime_get_ns() at creation */
	__u64 last_ns;		/* bpf_ktime_get_ns() at the last state change */
	__u64 rev_ns;		/* bpf_ktime_get_ns() when the forward path last checked that
				 * the rev entry exists (LRU eviction repair, rate-limited) */
};
LB_ABI_SIZE(struct lb_fwd, 64);

/* ---- apilb_rev_v2: LRU_HASH lb_flow_key (backend -> client) -> lb_rev ---------------------- */
struct lb_rev {
	struct lb_addr vip; /* VIP to restore as source */
	__be16 vip_port;    /* network order */
	__u8 state;	    /* LB_TCP_* (mirrors lb_fwd.state) */
	__u8 flags;	    /* LB_FLOW_F_* */
	__u32 syn_seq;	    /* client ISN (host order): a SYN-ACK must ack syn_seq + 1 */
	__u32 srv_isn;	    /* backend ISN (host order) from the SYN-ACK we translated */
	__u32 cli_ack;	    /* the client's ack as of the SYN-ACK or the last rev check of the
			     * forward path; lb_fwd.cli_ack is the current one (see there) */
};
LB_ABI_SIZE(struct lb_rev, 32);

/* ---- apilb_stats: PERCPU_ARRAY __u32 reason -> lb_stat ------------------------------------- */
struct lb_stat {
	__u64 packets; /* packets that ended with this reason */
	__u64 bytes;   /* their length at the hook */
};
LB_ABI_SIZE(struct lb_stat, 16);

/* ---- apilb_bstats: PERCPU_ARRAY __u32 backend_id -> lb_backend_stat ------------------------
 * Per-backend counters (summed over CPUs by userspace). Userspace zeroes a slot's counters when
 * it assigns the slot to a backend, so a counter always belongs to one backend. */
struct lb_backend_stat {
	__u64 new_flows; /* client SYNs Maglev sent to this backend (new connections) */
};
LB_ABI_SIZE(struct lb_backend_stat, 8);

/* ---- apilb_signals: PERCPU_ARRAY __u32 backend_id -> lb_signal_stat ------------------------
 * Passive failure detection: what real traffic showed of a backend's health, counted by the
 * datapath (summed over CPUs by userspace) only for packets that match a tracked flow's state:
 * a reply that does not fit the flow (a forged RST, an ICMP error quoting a segment the client
 * never sent) is no signal. `apilb run` reads its backends' slots every 50 ms and probes a
 * backend whose failure counters moved; a signal never changes a backend's state by itself.
 * Optional in a pin dir (an older apilb attached without it). Userspace zeroes a slot when it
 * assigns the slot to a backend, as apilb_bstats. */
enum lb_signal {
	LB_SIG_RST_SYN = 0,  /* backend RST acking our SYN: connection refused */
	LB_SIG_ICMP_UNREACH, /* ICMP/ICMPv6 destination unreachable quoting a segment of a flow */
	LB_SIG_SYN_RETX,     /* client SYN retransmitted on a flow still in SYN_SENT */
	LB_SIG_RST_EST,	     /* backend RST closing an established flow (seq = the client's ack) */
	LB_SIG_HANDSHAKE,    /* not a failure: SYN-ACK answering our SYN (the daemon's silence clock) */
	LB_SIG__MAX
};

struct lb_signal_stat {
	__u64 n[LB_SIG__MAX]; /* events, indexed by enum lb_signal */
};
LB_ABI_SIZE(struct lb_signal_stat, 40);

/* Why a packet left a program the way it did. One vocabulary for BPF and `apilb status`;
 * the names userspace prints are in userspace/lb/reasons.cpp, in this order. */
enum lb_reason {
	LB_R_PASS_NOT_IP = 0,	 /* ARP, VLAN, other ethertypes: untouched */
	LB_R_PASS_NOT_VIP,	 /* fwd: IP packet not for a VIP: untouched */
	LB_R_PASS_NOT_TRACKED,	 /* rev: not a reply of a tracked flow: untouched */
	LB_R_PASS_FRAGMENT,	 /* IP fragment: untouched */
	LB_R_PASS_UNSUPPORTED,	 /* other L4 protocol, IPv6 extension headers: untouched */
	LB_R_PASS_SYNACK_MISMATCH, /* rev: SYN-ACK not acking our SYN (a direct flow): untouched */
	LB_R_FWD_NEW,		 /* fwd: new flow, backend chosen by Maglev */
	LB_R_FWD_HIT,		 /* fwd: tracked flow, translated */
	LB_R_FWD_ADOPT,		 /* fwd: non-SYN without entry, backend from Maglev */
	LB_R_FWD_REPICK,	 /* fwd: flow's backend gone, re-picked by Maglev */
	LB_R_FWD_HAIRPIN,	 /* fwd: backend is local, redirected to lo ingress */
	LB_R_REV_HIT,		 /* rev: reply translated back to the VIP */
	LB_R_ICMP_XLATE,	 /* rev: ICMP error about a tracked flow translated */
	LB_R_FLOW_CLOSED,	 /* fwd/rev: flow closed (RST / last ACK), entries removed */
	LB_R_DROP_NO_BACKEND,	 /* fwd: VIP has no usable backend: dropped */
	LB_R_DROP_MALFORMED,	 /* fwd: truncated/malformed packet to the VIP: dropped */
	LB_R_ERR_REWRITE,	 /* a store/csum helper failed: dropped */
	LB_R_ERR_FLOW_TABLE,	 /* flow entry could not be created: forwarded untracked */
	LB_R_ERR_REDIRECT,	 /* bpf_redirect_neigh/bpf_redirect failed */
	LB_R_PASS_SYNACK_LIVE,	 /* rev: SYN-ACK not matching a live flow: untouched, flow kept */
	LB_R_PASS_RST_INVALID,	 /* rev: backend RST outside the flow's window: untouched, kept */
	LB_R_REV_RST_IN_WINDOW,	 /* rev: backend RST in window, not exact: translated, kept */
	LB_R_DROP_NOT_LOCAL,	 /* fwd: forwarded (not locally sent) packet to the VIP: dropped */
	LB_R__MAX
};

/* ---- apilb_attach: ARRAY (1 entry) __u32 0 -> lb_attach_rec ---------------------------------
 * What `apilb attach` created and changed, so that `apilb detach` undoes exactly that and
 * `apilb status` can describe it. Written by the CLI only; BPF never reads it. */
#define LB_ATTACH_MAGIC 0x61706c62u /* "aplb" */

#define LB_MODE_NONE 0
#define LB_MODE_XDP_NATIVE 1
#define LB_MODE_XDP_GENERIC 2
#define LB_MODE_TC 3

#define LB_IFACE_F_CLSACT (1u << 0)	/* attach created the NIC's clsact qdisc (TC mode) */
#define LB_ATTACH_F_LO_CLSACT (1u << 0) /* attach created lo's clsact qdisc */

struct lb_iface_rec {
	__u32 ifindex;	      /* attached NIC */
	__u8 mode;	      /* LB_MODE_* used for reverse NAT on it */
	__s8 old_rp_filter;   /* rp_filter before attach, -1 = not changed */
	__u8 flags;	      /* LB_IFACE_F_* */
	__u8 pad;	      /* zero */
};
LB_ABI_SIZE(struct lb_iface_rec, 8);

struct lb_attach_rec {
	__u32 magic;		/* LB_ATTACH_MAGIC when attached */
	__u32 version;		/* LB_ABI_VERSION of the apilb that attached; these first 8
				 * bytes keep this layout in every ABI (userspace/bpf/upgrade.h) */
	__u64 attached_ns;	/* CLOCK_REALTIME ns of the attach */
	__u32 vip_dev_ifindex;	/* apilb0 */
	__u32 vip_peer_ifindex; /* its veth peer (0 if a dummy device) */
	__u32 lo_ifindex;	/* lo, reverse NAT for hairpin */
	__s8 old_lo_accept_local; /* before attach, -1 = not changed */
	__s8 old_lo_rp_filter;	  /* before attach, -1 = not changed */
	__s8 old_all_rp_filter;	  /* before attach, -1 = not changed */
	__s8 old_vip_dev_rp_filter; /* reserved, -1 */
	__u32 n_ifaces;		/* entries used in ifaces[] */
	__u32 flags;		/* LB_ATTACH_F_* */
	struct lb_iface_rec ifaces[LB_MAX_IFACES];
	char vip_dev[16];	/* VIP device name, NUL-terminated */
};
LB_ABI_SIZE(struct lb_attach_rec, 120);

/* ---- socket mode: cgroup connect4/6, getpeername4/6 and sock_release hooks ------------------
 * The connect hooks translate a TCP connect() to a VIP into a connect() to a backend picked from
 * the same VIP table, Maglev table and backend slots as the packet path; the socket then talks to
 * the backend directly and no packet program ever sees it (docs/architecture.md, "Modes"). */
#define LB_MAP_SOCK "apilb_sock"	 /* SK_STORAGE socket -> lb_sock (what getpeername shows) */
#define LB_MAP_SCOOKIE "apilb_scookie" /* HASH socket cookie -> lb_sock_ent (for SOCK_DESTROY) */
#define LB_MAP_SCONN "apilb_sconn"	 /* PERCPU_ARRAY backend id -> lb_backend_conn */
#define LB_MAP_SSTATS "apilb_sstats"	 /* PERCPU_ARRAY lb_sock_reason -> __u64 */
#define LB_MAP_SOCKREC "apilb_sockrec" /* ARRAY 1: lb_sock_rec, written by `apilb attach` */
#define LB_MAX_SOCKS 65536		 /* translated sockets open at once that can be destroyed */

/* apilb_sock: per-socket storage of a translated socket. peer is the destination exactly as the
 * application passed it to connect() (v4: w[0]; v6: all words, also a v4-mapped ::ffff:a.b.c.d),
 * so getpeername() gives back what was dialled. */
struct lb_sock {
	struct lb_addr peer; /* the VIP as dialled, network order */
	__be16 port;	     /* the VIP port, network order */
	__u8 family;	     /* the socket's family: LB_AF_INET or LB_AF_INET6 */
	__u8 pad;	     /* zero */
	__u32 backend_id;    /* apilb_backends_v2 index chosen at connect() */
};
LB_ABI_SIZE(struct lb_sock, 24);

/* apilb_scookie: key __u64 bpf_get_socket_cookie() (= sock_diag's idiag_cookie), value: */
struct lb_sock_ent {
	__u32 backend_id;  /* apilb_backends_v2 index chosen at connect() */
	__u32 backend_gen; /* lb_backend.gen at connect() */
	__u64 connect_ns;  /* bpf_ktime_get_ns() at connect() */
};
LB_ABI_SIZE(struct lb_sock_ent, 16);

/* apilb_sconn: per-backend connect() counters (summed over CPUs; zeroed with the slot). */
struct lb_backend_conn {
	__u64 connects; /* connect() calls to a VIP translated to this backend */
};
LB_ABI_SIZE(struct lb_backend_conn, 8);

/* apilb_sstats: socket-mode counters; names in userspace/bpf/sock_attach.cpp, in this order. */
enum lb_sock_reason {
	LB_S_CONNECT = 0,  /* connect() to a VIP translated to a backend */
	LB_S_NO_BACKEND,   /* connect() to a VIP without a usable backend: refused (EPERM) */
	LB_S_OTHER_NETNS,  /* connect() to a VIP from another netns without --pods: untouched */
	LB_S_PEER_VIP,	   /* getpeername() answered with the VIP */
	LB_S_UNTRACKED,	   /* translated, but apilb_sock/apilb_scookie had no room for it */
	LB_S__MAX
};

/* apilb_sockrec: what the socket-mode attach attached (ARRAY, 1 entry, key 0). */
#define LB_SOCK_F_PODS (1u << 0) /* every netns under the cgroup, not only the node's */
struct lb_sock_rec {
	__u64 cgroup_id;    /* inode number of the cgroup the links are attached to */
	__u64 netns_cookie; /* the node's netns (SO_NETNS_COOKIE); 0 with LB_SOCK_F_PODS */
	__u32 flags;	    /* LB_SOCK_F_* */
	__u32 pad;	    /* zero */
	char cgroup[240];   /* cgroup v2 directory, NUL-terminated */
};
LB_ABI_SIZE(struct lb_sock_rec, 264);

/* lb_attach_rec.flags for the attach mode (0 = packet only, as before socket mode existed). */
#define LB_ATTACH_F_NO_PACKET (1u << 1) /* no VIP device, tc or XDP programs (--mode socket) */
#define LB_ATTACH_F_SOCKET (1u << 2)	/* cgroup links pinned as apilb_link_* (--mode socket|both) */

#endif /* APILB_MAPS_H */
