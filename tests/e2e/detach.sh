#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: `apilb detach` leaves nothing behind, in both reverse-NAT modes: no apilb0/apilb0p, no XDP,
# no tc filters on eth0 or lo, no VIP route, every sysctl back to its value before attach (the
# node starts with strict rp_filter so attach has to change it), no pins. A second detach exits 2.
# After detach the node still reaches the backends directly.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init detach

# Strict rp_filter drops reverse-NATed replies (docs/architecture.md, reverse path): attach must
# loosen it and detach must put it back.
in_node sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1 \
	net.ipv4.conf.lo.rp_filter=1
before=$(sysctl_snapshot)

for mode in xdp tc; do
	require "$mode.attach" "apilb attach --ingress $mode" attach4 --ingress "$mode" -- api1 api2 api3
	check "$mode.attached" "apilb0 exists" has_link apilb0
	check "$mode.attached" "apilb0 has a tc filter" has_tc_filter apilb0
	if [ "$mode" = xdp ]; then
		check "$mode.attached" "eth0 has an XDP program" has_xdp eth0
	else
		check "$mode.attached" "eth0 has a tc ingress filter" has_tc_filter eth0
	fi
	check "$mode.attached" "a route to the VIP" has_vip_route
	check "$mode.attached" "pins under $PIN" pins_left
	now=$(sysctl_snapshot)
	check "$mode.sysctl" "attach changed a sysctl (rp_filter was strict)" test "$now" != "$before"
	got=$(who "https://$VIP4/version")
	check "$mode.works" "a request through the VIP ($got)" contains "$got" " $LAB_VIP4"

	require "$mode.detach" "apilb detach" lb detach
	nothing_attached "$mode.clean"
	after=$(sysctl_snapshot)
	expect_eq "$mode.sysctl" "sysctls restored" "$after" "$before"
	[ "$after" = "$before" ] || diff <(echo "$before") <(echo "$after") | sed 's/^/    /'
	check "$mode.pindir" "pin dir $PIN removed" test ! -e "$PIN"
	got=$(who "https://$(be4 api2)/version")
	expect_eq "$mode.direct" "direct request to api2 after detach" "$got" "api2 $(lab_addr4 api2)"
done

lb detach >/dev/null 2>&1
expect_eq again "exit code of detach with nothing attached" "$?" 2
