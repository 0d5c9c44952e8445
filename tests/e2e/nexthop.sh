#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): the next hop apilb gives bpf_redirect_neigh() follows route changes.
# api1 is made reachable from the node through a router (api2 forwarding, `ip route add
# api1/32 via api2`): the backend slot's next hop is api2. Then the route moves to api3 as router
# and api2 stops forwarding: `apilb run` must rewrite the slot from the route notification (next
# hop api3) or every forwarded packet would still go to api2's MAC and be lost. Finally the route
# goes away (api1 on-link again: next hop api1 itself). New connections through the VIP must reach
# api1 after each change, and the backend keeps its slot and flows (same gen) throughout.
# Without the daemon (`apilb attach` alone, or after `apilb run` stopped) no next hop is pinned:
# the kernel looks the route up per packet, so nobody has to keep one current.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init nexthop

A1=$(lab_addr4 api1) A2=$(lab_addr4 api2) A3=$(lab_addr4 api3)
router() {  # router NAME on|off: forwarding in that namespace, no ICMP redirects either way
	local v=0
	[ "$2" = on ] && v=1
	in_ns "$1" sysctl -qw net.ipv4.ip_forward=$v net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.eth0.send_redirects=0
}
next_hop() { lb status --json | jq -r '.backends[0].next_hop' 2>/dev/null; }
slot_gen() { bpftool map lookup pinned "$PIN/apilb_backends_v2" key 0 0 0 0 -j 2>/dev/null |
	jq -r '.formatted.value.gen // .value.gen // empty' 2>/dev/null; }
next_hop_is() { [ "$(next_hop)" = "$1" ]; }
wait_next_hop() {  # wait_next_hop ADDR: up to 2 s
	wait_for 2 next_hop_is "$1" && return 0
	echo "    next hop is '$(next_hop)', want '$1'"
	return 1
}
# reach_api1 N: N new connections through the VIP, each answered by api1.
reach_api1() {
	local i s
	for i in $(seq "$1"); do
		s=$(ncurl --max-time 3 "https://$VIP4/version" | jq -r .server 2>/dev/null)
		[ "$s" = api1 ] || { echo "    connection $i answered by '${s:-nobody}'"; return 1; }
	done
}

require route.setup "api2 routes to api1, the node reaches api1 via api2" \
	bash -c "$(declare -f router in_ns); PREFIX=$PREFIX; router api2 on && router api3 off &&
		ip netns exec $NODE_NS sysctl -qw net.ipv4.conf.all.accept_redirects=0 \
			net.ipv4.conf.eth0.accept_redirects=0 &&
		ip -n $NODE_NS route add $A1/32 via $A2 dev eth0"
require cli.attach "apilb attach (CLI only) with api1" attach4 -- api1
expect_eq cli.none "next hop pinned by the CLI (none: the kernel's lookup)" "$(next_hop)" ""
check cli.serve "new connections through the VIP reach api1 via api2" reach_api1 3
require cli.detach "apilb detach" e2e_quiet lb detach
require daemon "apilb run attaches with api1 as the only backend" daemon_start -- api1

check via.api2 "the slot's next hop is the router api2" wait_next_hop "$A2"
gen0=$(slot_gen)
check via.api2.serve "new connections through the VIP reach api1 via api2" reach_api1 5

# Move the route to api3 and stop api2 forwarding: a stale next hop would black-hole the flows.
require route.move "route to api1 now via api3; api2 stops forwarding" \
	bash -c "$(declare -f router in_ns); PREFIX=$PREFIX; router api3 on &&
		ip -n $NODE_NS route replace $A1/32 via $A3 dev eth0 && router api2 off"
t0=$(now_ms)
check via.api3 "the daemon moved the slot's next hop to api3 (route notification)" \
	wait_next_hop "$A3"
echo "FIGURE nexthop.follow_ms=$(($(now_ms) - t0)) (ip route replace -> slot rewritten, read back)"
check via.api3.serve "new connections through the VIP reach api1 via api3" reach_api1 5
check via.api3.log "the daemon logged the change" grep -q "route change: backend $A1:$LAB_PORT: now via eth0 next hop $A3" "$LAB_DIR/daemon.log"

require route.del "route to api1 removed (on-link again)" ip -n "$NODE_NS" route del "$A1/32"
check onlink "the slot's next hop is api1 itself" wait_next_hop "$A1"
check onlink.serve "new connections through the VIP reach api1 on-link" reach_api1 5
expect_eq gen "the slot kept its gen (flows stay with a path change)" "$(slot_gen)" "$gen0"

daemon_stop
expect_eq stopped.none "next hop after apilb run stopped (cleared: nobody keeps it current)" \
	"$(next_hop)" ""
check stopped.serve "new connections through the VIP still reach api1" reach_api1 3
