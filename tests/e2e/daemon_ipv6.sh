#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): an IPv6 VIP with IPv6 backends. Probes go to [v6]:6443 with the certificate
# name and SNI kubernetes.default.svc (CURLOPT_CONNECT_TO); a download through the v6 VIP from a
# backend that then hangs is aborted by SOCK_DESTROY of the AF_INET6 socket; the table keeps the
# other backend and new requests succeed. A hang is only timeouts: --probe-timeout-dead-after 1s
# turns it into dead at the second one (the default, 10 s, would outlast the test's 6 s wait).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init daemon_ipv6

STATE_DIR="$LAB_DIR/state"
"$APILB" --netns "$NODE_NS" --pin-dir "$PIN" run --vip "$VIP6" --backend "$(be6 api1)" \
	--backend "$(be6 api2)" --probe-ca "$LAB_CA" --probe-server-name kubernetes.default.svc \
	--probe-timeout-dead-after 1s \
	--state-dir "$STATE_DIR" >>"$LAB_DIR/daemon.log" 2>&1 &
E2E_DAEMON_PID=$!
v6_state() { health | jq -r --arg a "$(be6 "$1")" '.backends[] | select(.address==$a) | .state'; }
wait_v6() {
	for _ in $(seq $(($3 * 20))); do [ "$(v6_state "$1")" = "$2" ] && return 0; sleep 0.05; done
	return 1
}
require up1 "api1 healthy over IPv6 + SNI" wait_v6 api1 healthy 10
require up2 "api2 healthy over IPv6 + SNI" wait_v6 api2 healthy 10

# A download through the v6 VIP; find the backend serving it by its local port.
out="$LAB_DIR/dl6.bin"
(
	ncurl --max-time 60 --local-port 21500 --limit-rate 500K -o "$out" \
		-w '%{exitcode} %{size_download} %{errormsg}\n' "https://$VIP6/files/rand.bin" >"$out.w"
) &
dl=$!
srv=""
for _ in $(seq 40); do srv=$(server_of_port 21500); [ -n "$srv" ] && break; sleep 0.05; done
require serving "download served by api1 or api2 (got '$srv')" test -n "$srv"
other=api1
[ "$srv" = api1 ] && other=api2
sleep 1
ip netns pids "$PREFIX-$srv" | xargs -r kill -STOP
check dead "$srv dead after it hangs" wait_v6 "$srv" dead 6
at_dead="$(stat -c %s "$out" 2>/dev/null) bytes written, curl $(kill -0 "$dl" 2>/dev/null && echo running || echo gone)"
for _ in $(seq 30); do kill -0 "$dl" 2>/dev/null || break; sleep 0.1; done
wait "$dl" 2>/dev/null
read -r rc bytes err <"$out.w"
echo "    download: curl rc $rc, $bytes bytes ($err)"
expect_eq abort "v6 download from the hung backend aborted (curl rc)" "$rc" 56
if [ "$rc" != 56 ]; then
	# What to look at when it was not: where the flow went and what the daemon did about it.
	echo "    | when $srv was declared dead: $at_dead"
	grep -E "$(be6 "$srv")|terminated|dead" "$LAB_DIR/daemon.log" | tail -20 | sed 's/^/    | /'
fi
check log "SOCK_DESTROY of the v6 socket logged" \
	grep -qF "$(be6 "$srv"): terminated 1 flows (1 local sockets destroyed" "$LAB_DIR/daemon.log"
new=$(spread 10 "https://$VIP6/version")
expect_eq others "requests answered by $other while $srv hangs" "$(count_of "$other" <<<"$new")" 10
ip netns pids "$PREFIX-$srv" | xargs -r kill -CONT
check back "$srv healthy again once it answers" wait_v6 "$srv" healthy 6
