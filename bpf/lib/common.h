/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Common definitions for the apilb datapath: UAPI includes, the parsed-packet descriptor that
 * every step passes around, TCP flag bits and the per-reason counter. Header-only; included
 * once by bpf/apilb.bpf.c (which also pulls in maps.h before the other lib headers).
 */
#ifndef APILB_BPF_COMMON_H
#define APILB_BPF_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/icmpv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "apilb_maps.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __lb_noinline __attribute__((noinline))

/* TCP flag byte (offset 13 of the TCP header). Read as a byte: the bitfields of struct tcphdr
 * are endian-dependent and cost a shift per flag. */
#define LB_TH_FIN 0x01
#define LB_TH_SYN 0x02
#define LB_TH_RST 0x04
#define LB_TH_ACK 0x10

/* The kernel's address families (linux/socket.h is not usable from BPF C): struct
 * bpf_redir_neigh.nh_family takes these, not LB_AF_*. */
#define LB_SYS_AF_INET 2
#define LB_SYS_AF_INET6 10

/* IPv4 frag_off bits (host order); include/net/ip.h is not UAPI. */
#define LB_IP_MF 0x2000
#define LB_IP_OFFSET 0x1fff

#define LB_IPV6_NEXTHDR_FRAGMENT 44

/* ICMPv4 header and the error types we translate. <linux/icmp.h> is not used: it drags in
 * <linux/if.h> -> <sys/socket.h>, which needs a libc that BPF C does not have. */
struct lb_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest; /* unused / next-hop MTU */
};
#define LB_ICMP_DEST_UNREACH 3
#define LB_ICMP_FRAG_NEEDED 4 /* code of DEST_UNREACH: path MTU, not a failure */
#define LB_ICMP_TIME_EXCEEDED 11

/* What lb_parse() found. */
enum lb_parse_kind {
	LB_P_PASS = 0,	   /* not ours: *why says why */
	LB_P_TCP,	   /* complete TCP header */
	LB_P_TCP_SHORT,	   /* TCP header truncated (ports readable iff has_ports) */
	LB_P_ICMP,	   /* ICMP (v4) or ICMPv6 header follows the IP header */
};

/* One packet as the datapath sees it. Offsets are from the start of the Ethernet header;
 * the IP header is always at ETH_HLEN (VLAN-tagged frames are passed, not parsed). */
struct lb_pkt {
	struct lb_flow_key key; /* the packet's own tuple, addresses/ports as on the wire */
	__u32 l4_off;		/* offset of the TCP / ICMP header */
	__u32 seq;		/* TCP sequence number, host order */
	__u32 ack_seq;		/* TCP acknowledgment number, host order */
	__u8 tcp_flags;		/* LB_TH_* */
	__u8 has_ports;		/* TCP ports were inside the packet */
	__u8 has_data;		/* TCP segment carries payload (from the IP length, not data_end) */
	__u8 pad;
	__u32 l3_len;		/* IP header + payload: IPv4 tot_len, IPv6 40 + payload_len */
};

/* Ifindex of lo, set by the loader before load: hairpin packets go to its ingress. */
const volatile __u32 lb_lo_ifindex = 1;

/* 1: only packets of local sockets (skb->sk set at TC egress) may use the VIP; forwarded ones
 * (pods, routed hosts) are dropped with LB_R_DROP_NOT_LOCAL and never create flow state. The
 * loader sets 1; BPF_PROG_TEST_RUN has no socket, so the unit fixtures run with 0. */
const volatile __u32 lb_require_local = 0;

/* 1 when lb_rev_xdp was loaded as xdp.frags (multi-buffer, BPF_F_XDP_HAS_FRAGS): its byte counts
 * then take the whole frame from bpf_xdp_get_buff_len() (5.18+). The loader sets it; with 0 (a
 * kernel that refused xdp.frags, loaded as plain xdp) that helper is dead code the verifier
 * never sees, so older kernels still load the program. */
const volatile __u32 lb_xdp_frags = 0;

/* How often (at most) a forward hit checks that the flow's rev entry still exists, repairing one
 * lost to LRU eviction (lib/flow.h lb_fwd_hit_sync). Checking on every packet costs a hash
 * lookup per packet. The fixtures age lb_fwd.rev_ns to make a check due. */
const volatile __u64 lb_rev_check_ns = 1000000000ull;

/* A build with a different program image (other instructions, same maps, same behaviour): the
 * "previous version" that tests/e2e/upgrade.sh upgrades from (apilb_prev, bpf/CMakeLists.txt).
 * Every entry program starts with it; in normal builds it is empty. */
#ifdef LB_BUILD_MARK
#define lb_mark_str(x) #x
#define lb_mark_xstr(x) lb_mark_str(x)
#define lb_build_mark() asm volatile("r0 = " lb_mark_xstr(LB_BUILD_MARK) ::: "r0")
#else
#define lb_build_mark() do { } while (0)
#endif

#ifdef LB_DEBUG
#define lb_dbg(fmt, ...) bpf_printk(fmt, ##__VA_ARGS__)
#else
#define lb_dbg(fmt, ...) do { } while (0)
#endif

static __always_inline int lb_addr_eq(const struct lb_addr *a, const struct lb_addr *b)
{
	return a->w[0] == b->w[0] && a->w[1] == b->w[1] && a->w[2] == b->w[2] &&
	       a->w[3] == b->w[3];
}

#endif /* APILB_BPF_COMMON_H */
