#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: --mode both, the precedence between the two paths. Sockets in the cgroup are translated at
# connect(): they then target the backend address, are routed via eth0 and never reach the VIP
# device, so the packet path does not see them (fwd_new stays 0, no flow entry). Clients outside
# the cgroup dial the VIP through the packet path as before. detach removes both.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init sock_both
require cgroup "a per-test cgroup under the cgroup v2 root" sock_cg_init
require attach "apilb attach --mode both --cgroup $SOCK_CG" \
	attach4 --mode both --cgroup "$SOCK_CG" -- api1 api2 api3
check dev "the VIP device exists (packet path)" has_link apilb0
fwd_new() { lb status --json | jq '.counters.fwd_new.packets // 0'; }
sock_connects() { lb status --json | jq '.socket.counters.connect'; }

N=12
out=$(for _ in $(seq $N); do cg_who "https://$VIP4/version"; done)
expect_eq cg.errors "failed requests from the cgroup" "$(count_of error <<<"$out")" 0
expect_eq cg.sock "socket-mode connects" "$(sock_connects)" "$N"
expect_eq cg.packet "packets the packet path saw as new flows" "$(fwd_new)" 0
p=$(cg_peer "$NODE_NS" "$LAB_VIP4" "$LAB_PORT")
read -r pa _ real <<<"$p"
expect_eq cg.peer "getpeername() in the cgroup" "$pa" "$LAB_VIP4"
check cg.real "the socket's real peer is a backend ($real), not the VIP" \
	bash -c "[[ '$real' =~ ^198\.18\.0\.1[123]:$LAB_PORT$ ]]"

out=$(spread $N "https://$VIP4/version")
expect_eq out.errors "failed requests from outside the cgroup" "$(count_of error <<<"$out")" 0
expect_ge out.packet "new flows on the packet path" "$(fwd_new)" "$N"
expect_eq out.sock "socket-mode connects unchanged" "$(sock_connects)" "$((N + 1))"
st=$(lb status)
check status.mode "status says mode both" contains "$st" "mode:         both"
require detach "apilb detach" lb detach
expect_eq detach.links "programs left on the test cgroup" "$(cg_links | wc -l)" 0
nothing_attached detach
