#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: packets routed through the node to the VIP (from a pod-like namespace, no local socket)
# never create flow state: lb_fwd drops them (drop_not_local) before the flow table. A SYN flood
# from the pod leaves `apilb flows` without a single pod flow, while the node's own connections
# through the VIP keep working.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init not_local

POD_NS="$PREFIX-pod"
cleanup_pod() { ip netns del "$POD_NS" 2>/dev/null; }
trap 'cleanup_pod; e2e_cleanup' EXIT
require attach "attach api1..3" attach4 -- api1 api2 api3
require pod "a pod-like namespace routed through the node" bash -c "
	ip netns add $POD_NS &&
	ip -n $NODE_NS link add podveth type veth peer name eth0 netns $POD_NS &&
	ip -n $NODE_NS addr add 10.250.0.1/24 dev podveth && ip -n $NODE_NS link set podveth up &&
	ip -n $POD_NS addr add 10.250.0.2/24 dev eth0 && ip -n $POD_NS link set eth0 up &&
	ip -n $POD_NS link set lo up &&
	ip -n $POD_NS route add $LAB_VIP4/32 via 10.250.0.1 &&
	ip netns exec $NODE_NS sysctl -qw net.ipv4.ip_forward=1"

drops() { lb status --json | jq '.counters.drop_not_local.packets // 0'; }
before=$(drops)
# A connect from the pod: its SYN is forwarded by the node to apilb0 and must be dropped.
out=$(ip netns exec "$POD_NS" curl -gsS --cacert "$LAB_CA" --connect-timeout 2 "https://$VIP4/version" 2>&1)
check pod.curl "a connection from the pod through the node's VIP does not complete ($out)" \
	test -n "$out" -a "${out#*\"server\"}" = "$out"
# A SYN flood with changing source ports, bounded in count and time.
timeout 30 ip netns exec "$POD_NS" hping3 -q -S -p "$LAB_PORT" -i u50 -c 20000 "$LAB_VIP4" \
	>/dev/null 2>&1
after=$(drops)
expect_ge drops "drop_not_local grew by the flood" "$((after - before))" 10000
pod_flows=$(lb flows | grep -c '10\.250\.0\.2')
expect_eq flows "pod flows in apilb flows" "$pod_flows" 0
expect_eq table "tracked flows after the flood" "$(lb status --json | jq .flows)" 0
got=$(who "https://$VIP4/version")
check node.works "the node's own connection through the VIP still works ($got)" contains "$got" " $LAB_VIP4"
require detach "apilb detach" lb detach
