#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: the NAT-without-SNAT collision (docs/architecture.md). A VIP flow node:P -> VIP:6443 goes to
# backend B; after it ends, a *direct* connection node:P -> B:6443 from the same source port P has
# replies that look exactly like the VIP flow's (B:6443 -> node:P). The datapath must not rewrite
# them to the VIP: the direct connection must succeed and see B as its peer. Covered for a VIP flow
# that ended with FIN (the server closes first: /close), one that ended with RST (client killed),
# and a stale reverse entry (as if the VIP flow's close was never seen) planted with bpftool.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init collision

require attach "apilb attach (3 backends)" attach4 --ingress xdp -- api1 api2 api3

# port_free P: no socket of the node uses local port P (waits up to 3 s).
port_free() {
	local i
	for i in $(seq 30); do
		[ -z "$(in_node ss -Htan "( sport = :$1 )")" ] && return 0
		sleep 0.1
	done
	in_node ss -tan "( sport = :$1 )" | sed 's/^/    ss| /'
	return 1
}

# direct_from P B: a direct request to backend B from local port P; checks it reached B.
direct_from() {
	local p=$1 b=$2 got
	check "$3.free" "port $p free again after the VIP flow" port_free "$p"
	got=$(who "https://$(be4 "$b")/version" --local-port "$p" --max-time 5)
	expect_eq "$3.direct" "direct request from port $p to $b (server, peer)" "$got" "$b $(lab_addr4 "$b")"
}

# FIN: the backend closes first, so the client port has no TIME_WAIT and can be reused at once.
for p in 41001 41002 41003 41004 41005 41006; do
	out=$(ncurl --local-port "$p" -w ' %{remote_ip}' "https://$VIP4/close" 2>&1)
	# shellcheck disable=SC2206
	w=($out)	# body "<server>\n", then " <remote_ip>"
	b=${w[0]:-} peer=${w[1]:-}
	expect_eq fin.vip "VIP request from port $p answered with the VIP as peer ($b)" "$peer" "$LAB_VIP4"
	[[ " ${LAB_APIS[*]} " == *" $b "* ]] || continue
	direct_from "$p" "$b" fin
done

# RST: a slow download through the VIP, the client killed mid-stream (unread data -> RST).
p=41020
ncurl --local-port "$p" --limit-rate 200K -o /dev/null "https://$VIP4/files/big.bin" &
dl=$!
b=""
for _ in $(seq 30); do
	for s in "${LAB_APIS[@]}"; do
		in_ns "$s" ss -Htn state established "( sport = :$LAB_PORT and dport = :$p )" |
			grep -q . && b=$s
	done
	[ -n "$b" ] && break
	sleep 0.1
done
require rst.vip "slow VIP download from port $p is established (backend '$b')" test -n "$b"
sleep 0.5
# Kill the curl process itself (found by its socket), not the shell that started it.
cpid=$(in_node ss -Htnp "( sport = :$p )" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
require rst.kill "curl of the slow download found (pid '$cpid')" test -n "$cpid"
kill -KILL "$cpid"
wait "$dl" 2>/dev/null
direct_from "$p" "$b" rst

# Stale: plant an ESTABLISHED reverse entry {api2:6443 -> node:P} whose SYN we never forwarded.
hex4() { local IFS=.; printf '%02x ' $1; }
hexport() { printf '%02x %02x ' $(($1 >> 8)) $(($1 & 255)); }
zeros12='00 00 00 00 00 00 00 00 00 00 00 00 '
p=41030
b=api2
key="$(hex4 "$(lab_addr4 $b)")$zeros12$(hex4 "$LAB_NODE4")$zeros12$(hexport $LAB_PORT)$(hexport $p)06 02 00 00"
# lb_rev: VIP, VIP port, state ESTABLISHED (2), flags 0, syn_seq 0x01020304 (host order),
# srv_isn 0, cli_ack 0
val="$(hex4 "$LAB_VIP4")$zeros12$(hexport $LAB_PORT)02 00 04 03 02 01 00 00 00 00 00 00 00 00"
# shellcheck disable=SC2086
require stale.plant "bpftool plants a stale apilb_rev_v2 entry for $b:$LAB_PORT -> node:$p" \
	bpftool map update pinned "$PIN/apilb_rev_v2" key hex $key value hex $val
got=$(who "https://$(be4 "$b")/version" --local-port "$p" --max-time 5)
expect_eq stale.direct "direct request from port $p to $b despite the stale entry" "$got" "$b $(lab_addr4 "$b")"
# shellcheck disable=SC2086
check stale.gone "the stale entry was dropped" \
	not bpftool map lookup pinned "$PIN/apilb_rev_v2" key hex $key

expect_eq flows "tracked flows left after everything closed (apilb flows)" "$(flow_count)" 0
require detach "apilb detach" lb detach
