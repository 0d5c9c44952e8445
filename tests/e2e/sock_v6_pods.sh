#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: socket mode on the IPv6 VIP with a hairpin backend (the node's own nginx): new connections
# from the test cgroup reach api1 and the node itself, getpeername() returns the IPv6 VIP. Then
# pods: a client in a pod-like network namespace (its own veth, routed through the node; the
# backends route the pod subnet via the node) under the same cgroup is left alone without --pods
# (counted other_netns) and is translated with --pods: it reaches the backend address directly,
# routed via the node, and the backend logs the pod's own address.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init sock_v6_pods
require cgroup "a per-test cgroup under the cgroup v2 root" sock_cg_init

# ---- IPv6 + hairpin ------------------------------------------------------------------------
require attach6 "attach --mode socket, IPv6 VIP, api1 + the node itself" \
	lb attach --mode socket --cgroup "$SOCK_CG" --vip "$VIP6" --backend "$(be6 api1)" \
	--backend "$(be6 node)"
N=30
out=$(for _ in $(seq $N); do cg_who "https://$VIP6/version"; done)
for s in api1 node; do
	n=$(count_of "$s" <<<"$out")
	echo "    $s answered $n of $N"
	expect_ge v6.spread "$s share of $N new connections" "$n" 1
done
expect_eq v6.errors "failed requests" "$(count_of error <<<"$out")" 0
p=$(cg_peer "$NODE_NS" "$LAB_VIP6" "$LAB_PORT")
echo "    getpeername / real peer: $p"
read -r pa pp real <<<"$p"
expect_eq v6.peer "getpeername() address" "$pa" "$LAB_VIP6"
expect_eq v6.peer.port "getpeername() port" "$pp" "$LAB_PORT"
check v6.real "the socket's real peer is a backend ($real)" \
	bash -c "[ '$real' = '$(be6 api1)' ] || [ '$real' = '$(be6 node)' ]"
require detach6 "apilb detach" lb detach

# ---- a pod-like namespace -------------------------------------------------------------------
POD_NS="$PREFIX-pod"
POD4=$POD_ADDR
cleanup_pod() { pod_ns_down; }
trap 'rc=$?; cleanup_pod; sock_cg_cleanup; (exit $rc); e2e_cleanup' EXIT
require pod "a pod-like namespace routed through the node" pod_ns_up default
require pod.return "the lab apiservers route the pod network via the node" bash -c "
	for s in ${LAB_APIS[*]}; do ip -n $PREFIX-\$s route add 10.250.0.0/24 via $LAB_NODE4 || exit 1; done"
pod_curl() {
	in_cg ip netns exec "$POD_NS" curl -gsS --cacert "$LAB_CA" --connect-timeout 2 --max-time 5 \
		"https://$VIP4/version" 2>&1
}
other() { lb status --json | jq '.socket.counters.other_netns'; }

require attach "attach --mode socket (node's namespace only)" \
	lb attach --mode socket --cgroup "$SOCK_CG" --vip "$VIP4" --backend "$(be4 api1)" \
	--backend "$(be4 api2)" --backend "$(be4 api3)"
got=$(pod_curl)
check nopods.curl "without --pods the pod's connect() is not translated ($got)" \
	test "${got#*\"server\"}" = "$got"
expect_eq nopods.counter "other_netns counter" "$(other)" 1
got=$(cg_who "https://$VIP4/version")
check nopods.node "the node's own client is translated ($got)" contains "$got" "api"
require detach "apilb detach" lb detach

require attach.pods "attach --mode socket --pods" \
	lb attach --mode socket --pods --cgroup "$SOCK_CG" --vip "$VIP4" --backend "$(be4 api1)" \
	--backend "$(be4 api2)" --backend "$(be4 api3)"
access_reset
ok_n=0
for _ in $(seq 6); do
	got=$(pod_curl)
	contains "$got" '"server":"api' && ok_n=$((ok_n + 1))
done
expect_eq pods.curl "pod requests through the VIP answered by a backend" "$ok_n" 6
logged=0
for s in "${LAB_APIS[@]}"; do logged=$((logged + $(access_count "$s" "^$POD4 "))); done
expect_eq pods.src "backend log lines from the pod's address $POD4" "$logged" 6
p=$(cg_peer "$POD_NS" "$LAB_VIP4" "$LAB_PORT")
echo "    pod getpeername / real peer: $p"
read -r pa pp real <<<"$p"
expect_eq pods.peer "getpeername() in the pod" "$pa" "$LAB_VIP4"
expect_eq pods.counter "other_netns counter with --pods" "$(other)" 0
require detach.pods "apilb detach" lb detach
expect_eq detach.links "programs left on the test cgroup" "$(cg_links | wc -l)" 0
nothing_attached detach
