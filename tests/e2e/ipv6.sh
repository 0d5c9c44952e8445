#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: an IPv6 VIP with IPv6 backends, in both reverse-NAT modes: new connections spread over the
# three apiservers, the client sees the v6 VIP, backends log the node's v6 address.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init ipv6

N=45
for mode in xdp tc; do
	access_reset
	require "$mode.attach" "apilb attach v6 VIP --ingress $mode" lb attach --vip "$VIP6" \
		--backend "$(be6 api1)" --backend "$(be6 api2)" --backend "$(be6 api3)" \
		--iface eth0 --ingress "$mode"
	out=$(spread $N "https://$VIP6/version")
	for s in "${LAB_APIS[@]}"; do
		n=$(count_of "$s" <<<"$out")
		echo "    $mode: $s answered $n of $N"
		expect_ge "$mode.spread" "$s share of $N new v6 connections" "$n" 1
		expect_eq "$mode.nosnat" "$s log lines from an address other than $LAB_NODE6" \
			"$(grep -vc "^$LAB_NODE6 " "$LAB_DIR/$s/access.log")" 0
	done
	expect_eq "$mode.errors" "failed requests" "$(count_of error <<<"$out")" 0
	expect_eq "$mode.peer" "requests whose peer is the v6 VIP" \
		"$(awk -v v="$LAB_VIP6" '$2==v{n++} END{print n+0}' <<<"$out")" "$N"
	require "$mode.detach" "apilb detach" lb detach
done
