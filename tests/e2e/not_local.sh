#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: packets routed through the node to the VIP (from a pod-like namespace, no local socket)
# never create flow state: lb_fwd drops them (drop_not_local) before the flow table.
# A SYN flood of at least FLOOD_MIN SYNs with changing source ports (three hping3 --flood, each
# incrementing the source port from a random base) from a pod-like namespace routed through the
# node runs while
#   - a server-paced download (nginx limit_rate) of 16 MiB of random bytes runs through the VIP,
#   - the node opens new connections through the VIP in a loop.
# The download must complete intact and outlast the flood, every node connection must succeed,
# `apilb flows` must never list a pod flow and the flow table must stay at the node's own flows.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init not_local

FLOOD_MIN=${FLOOD_MIN:-300000}
FLOOD_MAX_S=${FLOOD_MAX_S:-38}	# the flood stops after this many seconds at the latest
RATE=${RATE:-400k}	# server pacing of the download: 16 MiB takes ~41 s, longer than the flood
POD_NS="$PREFIX-pod"
flood_pids="" loop_pid="" dl=""
cleanup_pod() {
	local p
	for p in $flood_pids $loop_pid $dl; do kill "$p" 2>/dev/null; done
	pod_ns_down
}
trap 'rc=$?; cleanup_pod; (exit $rc); e2e_cleanup' EXIT
require attach "attach api1..3" attach4 -- api1 api2 api3
require pod "a pod-like namespace routed through the node" pod_ns_up "$LAB_VIP4/32"

drops() { lb status --json | jq '.counters.drop_not_local.packets // 0'; }
tracked() { lb status --json | jq '.flows'; }
pod_flows() { lb flows | grep -c "$POD_ADDR" || true; }

before=$(drops)
# A connect from the pod: its SYN is forwarded by the node to apilb0 and must be dropped.
out=$(ip netns exec "$POD_NS" curl -gsS --cacert "$LAB_CA" --connect-timeout 2 "https://$VIP4/version" 2>&1)
check pod.curl "a connection from the pod through the node's VIP does not complete ($out)" \
	test -n "$out" -a "${out#*\"server\"}" = "$out"
expect_ge pod.drops "the pod's SYNs counted as drop_not_local" "$(($(drops) - before))" 1

# The server-paced download through the VIP.
out_file="$LAB_DIR/download.bin"
ncurl --max-time 120 -o "$out_file" -w '%{size_download} %{remote_ip} %{time_total}\n' \
	"https://$VIP4/paced/rand.bin?rate=$RATE" >"$LAB_DIR/download.w" &
dl=$!
# New node connections through the VIP, one after the other, until the stop file appears.
stop="$LAB_DIR/loop.stop"
(
	while [ ! -e "$stop" ]; do
		who "https://$VIP4/version" --max-time 5
		sleep 0.3
	done
) >"$LAB_DIR/loop.out" &
loop_pid=$!
sleep 1
check download.started "the download is running before the flood" kill -0 "$dl"

# The flood, until apilb has dropped FLOOD_MIN of its SYNs (or FLOOD_MAX_S passed). Three senders:
# more than the 2 vCPUs of a CI machine, so a busy machine still floods at >= 8k SYN/s.
base=$(drops)
t0=$(date +%s%N)
for _ in 1 2 3; do
	ip netns exec "$POD_NS" hping3 -q -S -p "$LAB_PORT" --flood "$LAB_VIP4" >/dev/null 2>&1 &
	flood_pids+=" $!"
done
max_tracked=0 max_pod=0 dropped=0 samples=0
flooding() { local p; for p in $flood_pids; do kill -0 "$p" 2>/dev/null || return 1; done; }
while :; do
	sleep 1
	dropped=$(($(drops) - base))
	n=$(tracked)
	[ "$n" -gt "$max_tracked" ] 2>/dev/null && max_tracked=$n
	if [ $((samples % 2)) -eq 0 ]; then
		n=$(pod_flows)
		[ "$n" -gt "$max_pod" ] && max_pod=$n
	fi
	samples=$((samples + 1))
	[ "$dropped" -ge "$FLOOD_MIN" ] && break
	[ $((($(date +%s%N) - t0) / 1000000000)) -ge "$FLOOD_MAX_S" ] && break
	flooding || break
done
check flood.alive "every hping3 flooded until the end" flooding
# shellcheck disable=SC2086
kill $flood_pids 2>/dev/null
# shellcheck disable=SC2086
wait $flood_pids 2>/dev/null
flood_pids=""
ms=$((($(date +%s%N) - t0) / 1000000))
sleep 0.3
dropped=$(($(drops) - base))
echo "FIGURE not_local.flood_syns=$dropped in ${ms} ms ($((dropped * 1000 / (ms + 1))) SYN/s)"
expect_ge flood.drops "SYNs of the flood dropped as drop_not_local" "$dropped" "$FLOOD_MIN"
check download.during "the download was still running when the flood ended" kill -0 "$dl"
expect_eq flows.pod "most pod flows in apilb flows during the flood (every 2nd sample)" "$max_pod" 0
# The node's own flows only: the download plus at most a /version connection or two.
check flows.max "at most 3 tracked flows during the flood (most seen: $max_tracked)" \
	test "$max_tracked" -le 3
expect_eq flows.pod_after "pod flows in apilb flows after the flood" "$(pod_flows)" 0

wait "$dl"
rc=$?
dl=""
touch "$stop"
wait "$loop_pid"
loop_pid=""
read -r size peer secs <"$LAB_DIR/download.w"
want_size=$(stat -c %s "$LAB_DIR/www/rand.bin")
want_sum=$(awk '$2=="rand.bin"{print $1}' "$LAB_DIR/www/SHA256SUMS")
echo "FIGURE not_local.download=${size} bytes in ${secs} s (server-paced at $RATE)"
expect_eq download.rc "curl exit code" "$rc" 0
expect_eq download.size "bytes received" "$size" "$want_size"
expect_eq download.sha256 "sha256 of the download" "$(sha256sum <"$out_file" | cut -d' ' -f1)" "$want_sum"
expect_eq download.peer "peer of the download" "$peer" "$LAB_VIP4"

total=$(wc -l <"$LAB_DIR/loop.out")
good=$(grep -cE "^api[0-9] $LAB_VIP4\$" "$LAB_DIR/loop.out" || true)
echo "FIGURE not_local.node_connections=$good of $total"
grep -vE "^api[0-9] $LAB_VIP4\$" "$LAB_DIR/loop.out" | sed 's/^/    failed| /'
expect_ge node.count "new node connections through the VIP during the test" "$total" 10
expect_eq node.ok "node connections through the VIP that succeeded" "$good" "$total"
expect_eq table "tracked flows at the end" "$(tracked)" 0
require detach "apilb detach" lb detach
