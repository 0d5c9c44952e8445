/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking: the apilb_fwd_v2 / apilb_rev_v2 entry pair of a flow and its TCP state.
 *
 *   fwd key {client, VIP, client port, VIP port}          -> backend, state, syn_seq, gen, cli_ack
 *   rev key {backend, client, backend port, client port}  -> VIP, VIP port, state, syn_seq, srv_isn
 *
 * State machine (both entries mirror it):
 *   client SYN -> SYN_SENT; SYN-ACK acking syn_seq + 1 -> ESTABLISHED; first FIN -> FIN_WAIT;
 *   second FIN -> CLOSING; the next pure ACK (either direction) or any RST -> both entries gone.
 * A non-SYN segment with data and without entry is "adopted" (ESTABLISHED + LB_FLOW_F_ADOPTED);
 * FIN/RST/bare ACK without entry are forwarded by Maglev without creating one.
 *
 * Replies are not trusted (RFC 5961 in spirit; anyone on the NIC's segment can spoof a
 * backend): the rev entry keeps the backend's ISN (srv_isn), the fwd entry the highest ack the
 * client sent (cli_ack, written by the forward path on its own entry: no rev lookup per packet;
 * the reverse path reads it only for RST, FIN and ICMP errors). A backend RST deletes the flow only when its seq is
 * exactly cli_ack (in SYN_SENT: when it acks our SYN); in [cli_ack, cli_ack + LB_SEQ_WINDOW) it
 * is translated and the flow kept (the socket applies RFC 5961 itself); anything else passes
 * untouched. A SYN-ACK is translated only if it acks syn_seq + 1 (and, once ESTABLISHED,
 * repeats srv_isn); a mismatching one never touches a live flow. A backend FIN outside the
 * window is translated without changing state. Client packets come from local sockets: trusted.
 *
 * Entries are written in place (map value pointers). Races between CPUs on the same flow are
 * benign: both write the same state, and LRU eviction of one half is handled by adoption.
 */
#ifndef APILB_BPF_FLOW_H
#define APILB_BPF_FLOW_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/select.h"
#include "lib/signal.h"

#define LB_FIN_BOTH (LB_FLOW_F_FIN_CLIENT | LB_FLOW_F_FIN_SERVER)

/* Backend sequence numbers accepted ahead of the client's last ack: data in flight that the
 * client has not acked yet. 1 MiB: a blind guess hits it with probability 2^-12. */
#define LB_SEQ_WINDOW (1u << 20)

static __always_inline int lb_seq_in_window(__u32 seq, __u32 base)
{
	return seq - base < LB_SEQ_WINDOW;
}

/* Client ack of a forward packet, if it has one (0 otherwise: no window yet). */
static __always_inline __u32 lb_cli_ack(const struct lb_pkt *p)
{
	return (p->tcp_flags & LB_TH_ACK) ? p->ack_seq : 0;
}

/* rev key of a flow: the tuple its replies carry. */
static __always_inline void lb_rev_key_of(struct lb_flow_key *rk, const struct lb_flow_key *fk,
					  const struct lb_addr *backend, __be16 backend_port)
{
	__builtin_memset(rk, 0, sizeof(*rk));
	rk->src = *backend;
	rk->dst = fk->src;
	rk->sport = backend_port;
	rk->dport = fk->sport;
	rk->proto = fk->proto;
	rk->family = fk->family;
}

/* fwd key of a flow, from a reply's tuple and its rev entry. */
static __always_inline void lb_fwd_key_of(struct lb_flow_key *fk, const struct lb_flow_key *rk,
					  const struct lb_rev *r)
{
	__builtin_memset(fk, 0, sizeof(*fk));
	fk->src = rk->dst;
	fk->dst = r->vip;
	fk->sport = rk->dport;
	fk->dport = r->vip_port;
	fk->proto = rk->proto;
	fk->family = rk->family;
}

static __always_inline void lb_flow_delete(const struct lb_flow_key *fk,
					   const struct lb_flow_key *rk)
{
	bpf_map_delete_elem(&apilb_fwd_v2, fk);
	bpf_map_delete_elem(&apilb_rev_v2, rk);
}

/* Sets flags (and the state they imply) in the entries of a flow that exist (NULL: missing);
 * a nonzero ack becomes the fwd entry's cli_ack. The caller passes the entry it holds and looks
 * up only the twin: one hash lookup less per state change. */
static __always_inline void lb_flow_mark(struct lb_fwd *f, struct lb_rev *r, __u8 set, __u8 state,
					 __u32 ack)
{
	__u8 flags;

	if (f) {
		flags = f->flags | set;
		f->flags = flags;
		f->state = state ? state : ((flags & LB_FIN_BOTH) == LB_FIN_BOTH ?
					    LB_TCP_CLOSING : LB_TCP_FIN_WAIT);
		f->last_ns = bpf_ktime_get_ns();
		if (ack)
			f->cli_ack = ack;
	}
	if (r) {
		flags = r->flags | set;
		r->flags = flags;
		r->state = state ? state : ((flags & LB_FIN_BOTH) == LB_FIN_BOTH ?
					    LB_TCP_CLOSING : LB_TCP_FIN_WAIT);
	}
}

/* Applies one packet's TCP flags to a tracked flow. fin_bit: this direction's FIN flag; flags:
 * the flow's flags before the packet. Read only for a FIN: f, the fwd entry (NULL: there is
 * none), and r, the rev entry (NULL on the forward path, which looks it up only then). Returns
 * LB_R_FLOW_CLOSED when the flow ended, else 0. */
static __always_inline __u32 lb_flow_tcp(__u8 tf, __u8 fin_bit, __u8 flags, struct lb_fwd *f,
					 struct lb_rev *r, const struct lb_flow_key *fk,
					 const struct lb_flow_key *rk)
{
	if (tf & LB_TH_RST) {
		lb_flow_delete(fk, rk);
		return LB_R_FLOW_CLOSED;
	}
	if (tf & LB_TH_FIN) {
		if (flags & fin_bit)
			return 0;
		if (!r)
			r = bpf_map_lookup_elem(&apilb_rev_v2, rk);
		lb_flow_mark(f, r, fin_bit, 0, 0);
		return 0;
	}
	/* Pure ACK after both FINs: the last ACK of the close. */
	if ((tf & (LB_TH_SYN | LB_TH_ACK)) == LB_TH_ACK && (flags & LB_FIN_BOTH) == LB_FIN_BOTH) {
		lb_flow_delete(fk, rk);
		return LB_R_FLOW_CLOSED;
	}
	return 0;
}

/* Creates (or overwrites) both entries of a flow to backend `be` (slot id). */
static __always_inline int lb_flow_create(const struct lb_pkt *p, const struct lb_backend *be,
					  __u32 id, __u8 state, __u8 flags)
{
	struct lb_flow_key rk;
	struct lb_fwd f = {};
	struct lb_rev r = {};

	f.backend = be->addr;
	f.backend_port = be->port;
	f.state = state;
	f.flags = flags;
	f.backend_id = id;
	f.backend_gen = be->gen;
	f.syn_seq = state == LB_TCP_SYN_SENT ? p->seq : 0;
	f.cli_ack = lb_cli_ack(p);
	f.created_ns = bpf_ktime_get_ns();
	f.last_ns = f.created_ns;
	f.rev_ns = f.created_ns;
	r.vip = p->key.dst;
	r.vip_port = p->key.dport;
	r.state = state;
	r.flags = flags;
	r.syn_seq = f.syn_seq;
	r.cli_ack = lb_cli_ack(p);
	lb_rev_key_of(&rk, &p->key, &be->addr, be->port);
	if (bpf_map_update_elem(&apilb_fwd_v2, &p->key, &f, BPF_ANY))
		return -1;
	if (bpf_map_update_elem(&apilb_rev_v2, &rk, &r, BPF_ANY)) {
		bpf_map_delete_elem(&apilb_fwd_v2, &p->key);
		return -1;
	}
	return 0;
}

/* Forward hit: records the client's ack in the fwd entry (cli_ack, the window a backend RST is
 * checked against), and repairs the rev entry. The two LRU maps evict independently: a lost fwd
 * entry heals itself (the next packet is adopted and rewrites both), a lost rev entry would leave
 * every reply untranslated, so the forward path puts it back -- checked at most every
 * lb_rev_check_ns (1 s): a lookup of the other map on every packet is what it saves. */
static __always_inline void lb_fwd_hit_sync(const struct lb_pkt *p, struct lb_fwd *f,
					    const struct lb_flow_key *rk)
{
	struct lb_rev *cur, r = {};
	__u64 now;

	if ((p->tcp_flags & LB_TH_ACK) && (__s32)(p->ack_seq - f->cli_ack) > 0)
		f->cli_ack = p->ack_seq;
	now = bpf_ktime_get_ns();
	if (now - f->rev_ns < lb_rev_check_ns)
		return;
	f->rev_ns = now;
	cur = bpf_map_lookup_elem(&apilb_rev_v2, rk);
	if (cur) {
		cur->cli_ack = f->cli_ack;
		return;
	}
	r.vip = p->key.dst;
	r.vip_port = p->key.dport;
	r.state = f->state;
	r.flags = f->flags;
	r.syn_seq = f->syn_seq;
	r.cli_ack = f->cli_ack;
	bpf_map_update_elem(&apilb_rev_v2, rk, &r, BPF_NOEXIST);
}

/* The client's latest ack, for checking a reply of a flow: its fwd entry f keeps it; a rev entry
 * r without its fwd twin (f NULL) falls back on its own (the SYN-ACK's, or the last rev check's). */
static __always_inline __u32 lb_flow_cli_ack(const struct lb_fwd *f, const struct lb_rev *r)
{
	return f ? f->cli_ack : r->cli_ack;
}

/* A SYN_SENT entry older than this is an abandoned handshake (a local client's SYN retransmits
 * run 1, 3, 7 s apart; connect() gives up later, but a handshake this slow is re-picked like a
 * new flow, which is harmless). A hit on it counts as a miss and the entry is replaced. */
#define LB_SYN_TTL_NS (5ull * 1000000000ull)

static __always_inline int lb_flow_embryo_stale(const struct lb_fwd *f)
{
	return f->state == LB_TCP_SYN_SENT && bpf_ktime_get_ns() - f->created_ns > LB_SYN_TTL_NS;
}

/* Picks a backend by Maglev for a packet without a usable entry and records the flow.
 * old: the flow's current fwd entry, replaced (its rev entry deleted), or NULL. The caller set
 * *why (NEW / ADOPT / REPICK); it becomes DROP_NO_BACKEND or ERR_FLOW_TABLE on failure. */
static __always_inline struct lb_backend *lb_fwd_pick(const struct lb_pkt *p,
						      const struct lb_vip *vip,
						      const struct lb_fwd *old, __u32 *why)
{
	__u8 tf = p->tcp_flags, syn = (tf & (LB_TH_SYN | LB_TH_ACK)) == LB_TH_SYN;
	struct lb_flow_key rk;
	struct lb_backend *be;
	__u32 id;

	id = lb_maglev_pick(vip, &p->key);
	be = lb_backend_usable(id, p->key.family);
	if (!be) {
		*why = LB_R_DROP_NO_BACKEND;
		return NULL;
	}
	if (syn)
		lb_count_new_flow(id);
	if (old) {
		/* Read old before deleting: LRU elements are recycled at once. */
		lb_rev_key_of(&rk, &p->key, &old->backend, old->backend_port);
		lb_flow_delete(&p->key, &rk);
	}
	/* FIN, RST or a bare ACK without a (usable) entry: forward, but do not create a flow that
	 * would only linger until LRU eviction. These are the stragglers of a closed flow: in a
	 * simultaneous close (common with TLS close_notify) both sides send a last ACK, the first
	 * deletes the entries and the second arrives here. A flow that lost its entry to LRU
	 * eviction is adopted at its next segment with data. */
	if (!syn && ((tf & (LB_TH_FIN | LB_TH_RST)) || !p->has_data))
		return be;
	if (lb_flow_create(p, be, id, syn ? LB_TCP_SYN_SENT : LB_TCP_ESTABLISHED,
			   syn ? 0 : LB_FLOW_F_ADOPTED))
		*why = LB_R_ERR_FLOW_TABLE; /* forwarded untracked */
	return be;
}

/* lb_fwd_pick for a flow whose VIP was not looked up yet (a forward hit skips that lookup: only
 * VIP tuples ever get a fwd entry). A VIP gone since is fail-closed. */
static __always_inline struct lb_backend *lb_fwd_repick(const struct lb_pkt *p,
							const struct lb_vip_key *vk,
							const struct lb_vip *vip,
							const struct lb_fwd *old, __u32 *why)
{
	if (!vip)
		vip = bpf_map_lookup_elem(&apilb_vips, vk);
	if (!vip) {
		*why = LB_R_DROP_NO_BACKEND;
		return NULL;
	}
	return lb_fwd_pick(p, vip, old, why);
}

/* Forward-path flow decision for a TCP packet to a VIP: f is the tuple's fwd entry (or NULL),
 * vip the VIP (NULL when f was found: looked up only if a backend must be picked), vk its key.
 * Returns the backend to send it to (NULL = drop, *why says why) and updates the entries. */
static __always_inline struct lb_backend *lb_fwd_flow(const struct lb_pkt *p, struct lb_fwd *f,
						      const struct lb_vip_key *vk,
						      const struct lb_vip *vip, __u32 *why)
{
	__u8 tf = p->tcp_flags, syn = (tf & (LB_TH_SYN | LB_TH_ACK)) == LB_TH_SYN;
	struct lb_flow_key rk;
	struct lb_backend *be;
	__u32 closed;

	if (!f || lb_flow_embryo_stale(f)) {
		*why = syn ? LB_R_FWD_NEW : LB_R_FWD_ADOPT;
		return lb_fwd_repick(p, vk, vip, f, why);
	}
	/* A SYN on a tracked tuple is a retransmit only if it repeats the ISN of a flow still in
	 * SYN_SENT; anything else is a new connection reusing the port. */
	if (syn && (f->state != LB_TCP_SYN_SENT || f->syn_seq != p->seq)) {
		*why = LB_R_FWD_NEW;
		return lb_fwd_repick(p, vk, vip, f, why);
	}
	/* Backend removed, dead, or its slot reassigned (gen): move the flow. DRAIN stays. */
	be = lb_backend_usable(f->backend_id, p->key.family);
	if (!be || be->gen != f->backend_gen) {
		*why = LB_R_FWD_REPICK;
		return lb_fwd_repick(p, vk, vip, f, why);
	}
	*why = LB_R_FWD_HIT;
	if (syn) /* the same ISN again, still SYN_SENT: no SYN-ACK came (see above) */
		lb_signal(f->backend_id, LB_SIG_SYN_RETX);
	lb_rev_key_of(&rk, &p->key, &f->backend, f->backend_port);
	lb_fwd_hit_sync(p, f, &rk);
	closed = lb_flow_tcp(tf, LB_FLOW_F_FIN_CLIENT, f->flags, f, NULL, &p->key, &rk);
	if (closed)
		*why = closed;
	return be;
}

/* Is the flow of a mismatching SYN-ACK alive? Established, both entries present (a rev entry
 * alone is a leftover: the forward path always restores its twin) and no RST passed on. Only
 * then can the SYN-ACK be spoofed or a direct flow colliding with a live one (docs/datapath.md);
 * otherwise it is a direct connection reusing the tuple of a finished VIP flow. */
static __always_inline int lb_flow_live(const struct lb_flow_key *fk, const struct lb_rev *r)
{
	if (r->state != LB_TCP_ESTABLISHED || (r->flags & LB_FLOW_F_RST_SEEN))
		return 0;
	return bpf_map_lookup_elem(&apilb_fwd_v2, fk) != NULL;
}

/* SYN-ACK from the backend side: 1 = translate. Ours if it acks the ISN we forwarded (and, once
 * ESTABLISHED, repeats the backend ISN: a retransmit); adopted flows never saw a SYN. */
static __always_inline int lb_rev_synack(const struct lb_pkt *p, struct lb_rev *r,
					 const struct lb_flow_key *fk, __u32 *why)
{
	int ours = !(r->flags & LB_FLOW_F_ADOPTED) && p->ack_seq == r->syn_seq + 1;

	*why = LB_R_REV_HIT;
	if (ours && r->state == LB_TCP_SYN_SENT) {
		struct lb_fwd *f = bpf_map_lookup_elem(&apilb_fwd_v2, fk);

		r->srv_isn = p->seq;
		r->cli_ack = p->seq + 1;
		lb_flow_mark(f, r, 0, LB_TCP_ESTABLISHED, p->seq + 1);
		if (f)
			lb_signal(f->backend_id, LB_SIG_HANDSHAKE);
		return 1;
	}
	if (ours && r->state == LB_TCP_ESTABLISHED && p->seq == r->srv_isn)
		return 1;
	if (lb_flow_live(fk, r)) {
		*why = LB_R_PASS_SYNACK_LIVE;
		return 0;
	}
	/* A direct connection reuses the tuple of a stale VIP flow (docs/datapath.md): drop the stale
	 * entries and let the SYN-ACK through untouched. */
	lb_flow_delete(fk, &p->key);
	*why = LB_R_PASS_SYNACK_MISMATCH;
	return 0;
}

/* RST from the backend side: 1 = translate. Deletes the flow only when acceptable. */
static __always_inline int lb_rev_rst(const struct lb_pkt *p, struct lb_rev *r,
				      const struct lb_flow_key *fk, __u32 *why)
{
	struct lb_fwd *f = bpf_map_lookup_elem(&apilb_fwd_v2, fk);
	__u32 ack = lb_flow_cli_ack(f, r);
	int exact;

	if (r->state == LB_TCP_SYN_SENT) /* RFC 793: acceptable iff it acks our SYN */
		exact = (p->tcp_flags & LB_TH_ACK) && p->ack_seq == r->syn_seq + 1;
	else
		exact = p->seq == ack;
	if (exact) {
		/* Refused, or an established connection reset: the backend's word, exact. A RST
		 * while closing (after a FIN) is an ordinary way to end and no signal. */
		if (f && r->state == LB_TCP_SYN_SENT)
			lb_signal(f->backend_id, LB_SIG_RST_SYN);
		else if (f && r->state == LB_TCP_ESTABLISHED)
			lb_signal(f->backend_id, LB_SIG_RST_EST);
		lb_flow_delete(fk, &p->key);
		*why = LB_R_FLOW_CLOSED;
		return 1;
	}
	if (r->state != LB_TCP_SYN_SENT && lb_seq_in_window(p->seq, ack)) {
		r->flags |= LB_FLOW_F_RST_SEEN;
		*why = LB_R_REV_RST_IN_WINDOW;
		return 1;
	}
	*why = LB_R_PASS_RST_INVALID;
	return 0;
}

/* Reply-path decision shared by XDP and TC: returns 1 with *out filled when the packet is a
 * reply of a tracked flow to translate, 0 to pass it untouched. */
static __always_inline int lb_rev_tcp(const struct lb_pkt *p, struct lb_rev *out, __u32 *why)
{
	__u8 tf = p->tcp_flags;
	struct lb_fwd *f = NULL;
	struct lb_flow_key fk;
	struct lb_rev *r;
	__u32 closed;

	*why = LB_R_PASS_NOT_TRACKED;
	/* Most packets on a NIC are not from an apiserver port: leave before the flow lookup. */
	if (!lb_is_backend_port(p->key.sport))
		return 0;
	r = bpf_map_lookup_elem(&apilb_rev_v2, &p->key);
	/* A bare SYN from the backend side opens a connection; it is never a reply. */
	if (!r || (tf & (LB_TH_SYN | LB_TH_ACK)) == LB_TH_SYN)
		return 0;
	*out = *r;
	/* Fast path, most replies: a plain segment of a flow that is not closing changes no
	 * state, so skip building the fwd key. */
	if (!(tf & (LB_TH_SYN | LB_TH_FIN | LB_TH_RST)) &&
	    (out->flags & LB_FIN_BOTH) != LB_FIN_BOTH) {
		*why = LB_R_REV_HIT;
		return 1;
	}
	lb_fwd_key_of(&fk, &p->key, out);
	if (tf & LB_TH_SYN)
		return lb_rev_synack(p, r, &fk, why);
	if (tf & LB_TH_RST)
		return lb_rev_rst(p, r, &fk, why);
	*why = LB_R_REV_HIT;
	if (tf & LB_TH_FIN) {
		f = bpf_map_lookup_elem(&apilb_fwd_v2, &fk);
		/* A FIN the client could not accept (outside the window) changes no state. */
		if (!lb_seq_in_window(p->seq, lb_flow_cli_ack(f, out)))
			return 1;
	}
	closed = lb_flow_tcp(tf, LB_FLOW_F_FIN_SERVER, out->flags, f, r, &fk, &p->key);
	if (closed)
		*why = closed;
	return 1;
}

#endif /* APILB_BPF_FLOW_H */
