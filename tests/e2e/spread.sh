#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: new connections to the IPv4 VIP spread over all three apiservers, in both reverse-NAT modes
# (native XDP and TC ingress). The client sees the VIP as its peer, and every backend's access log
# shows the node's own address (no SNAT). `apilb status` and `apilb flows` work on the live datapath.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init spread

N=60
for mode in xdp tc; do
	access_reset
	require "$mode.attach" "apilb attach --ingress $mode (3 backends)" \
		attach4 --ingress "$mode" -- api1 api2 api3
	out=$(spread $N "https://$VIP4/version")
	for s in "${LAB_APIS[@]}"; do
		n=$(count_of "$s" <<<"$out")
		echo "    $mode: $s answered $n of $N"
		expect_ge "$mode.spread" "$s share of $N new connections" "$n" 1
	done
	expect_eq "$mode.errors" "failed requests" "$(count_of error <<<"$out")" 0
	expect_eq "$mode.peer" "requests whose peer (curl remote_ip) is the VIP" \
		"$(awk -v v="$LAB_VIP4" '$2==v{n++} END{print n+0}' <<<"$out")" "$N"
	total=0
	for s in "${LAB_APIS[@]}"; do
		total=$((total + $(access_count "$s" '"GET /version')))
		expect_eq "$mode.nosnat" "$s log lines from an address other than $LAB_NODE4" \
			"$(grep -vc "^$LAB_NODE4 " "$LAB_DIR/$s/access.log")" 0
	done
	expect_eq "$mode.nosnat" "/version requests logged by the backends" "$total" "$N"
	# Every connection closed: no entry may linger (a simultaneous close's second last-ACK once
	# re-created one). Give the last FIN/ACK exchange a moment.
	for _ in $(seq 10); do [ "$(flow_count)" = 0 ] && break; sleep 0.1; done
	expect_eq "$mode.closed" "tracked flows left after all $N connections closed" "$(flow_count)" 0
	st=$(lb status 2>&1)
	expect_eq "$mode.status" "apilb status exit code" "$?" 0
	check "$mode.status" "apilb status names the VIP" contains "$st" "$LAB_VIP4"
	printf '%s\n' "$st" | sed 's/^/    status| /'
	check "$mode.flows" "apilb flows exits 0" lb flows >/dev/null
	check "$mode.bpftool" "bpftool dumps the pinned stats map" \
		bash -c "bpftool map dump pinned $PIN/apilb_stats >/dev/null"
	require "$mode.detach" "apilb detach" lb detach
done
