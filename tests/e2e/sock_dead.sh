#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): `apilb run --mode socket --pods`. The daemon attaches socket mode to the test
# cgroup, publishes the table (new connections spread), and when a backend hangs (SIGSTOP) and is
# marked dead, destroys the translated sockets to it (found by socket cookie, apilb_scookie) within
# 1 s of its decision: an idle keep-alive client blocked in recv() returns at once, in the node's
# namespace and in a pod-like namespace (found among the node's other namespaces, bpf/netns.h).
# New connections then avoid the dead backend. SIGTERM with --cleanup-on-exit detaches: no link,
# no pin.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init sock_dead
require cgroup "a per-test cgroup under the cgroup v2 root" sock_cg_init
cleanup_pod() { pod_ns_down; }
trap 'rc=$?; cleanup_pod; sock_cg_cleanup; (exit $rc); e2e_cleanup' EXIT
require pod "a pod-like namespace routed through the node" pod_ns_up default
require pod.return "the lab apiservers route the pod network via the node" bash -c "
	for s in ${LAB_APIS[*]}; do ip -n $PREFIX-\$s route add 10.250.0.0/24 via $LAB_NODE4 || exit 1; done"
require daemon "apilb run --mode socket --pods sees api1..3 healthy" \
	daemon_start --mode socket --pods --cgroup "$SOCK_CG" --cleanup-on-exit \
	--probe-timeout-dead-after 1s -- api1 api2 api3
expect_eq links "programs on the test cgroup" "$(cg_links | wc -l)" 5

# idle_on SERVER OUT NETNS: an idle TLS client in the cgroup and NETNS, connected (through socket
# mode) to SERVER; its pid in IDLE_PID.
idle_on() {
	local want=$1 out=$2 ns=$3 i
	for i in $(seq 40); do
		: >"$out"
		in_cg ip netns exec "$ns" python3 - "$LAB_CA" "$LAB_VIP4" "$LAB_PORT" "$out" <<'PY' &
import socket, ssl, sys, time
ca, vip, vport, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
s = socket.create_connection((vip, vport), timeout=5)
t = ctx.wrap_socket(s, server_hostname=vip)
t.sendall(b"GET /version HTTP/1.1\r\nHost: apiserver\r\n\r\n")
body = t.recv(4096).decode(errors="replace")
open(out + ".srv", "w").write(body.split('"server":"')[1].split('"')[0] if '"server":"' in body else "?")
t.settimeout(None)
try:
    t.recv(1)
    err = "eof"
except OSError as e:
    err = type(e).__name__
open(out, "w").write("%d %s\n" % (int(time.time() * 1000), err))
PY
		IDLE_PID=$!
		for _ in $(seq 40); do [ -s "$out.srv" ] && break; sleep 0.05; done
		[ "$(cat "$out.srv" 2>/dev/null)" = "$want" ] && return 0
		kill "$IDLE_PID" 2>/dev/null
		wait "$IDLE_PID" 2>/dev/null
		rm -f "$out.srv"
	done
	return 1
}
require idle "an idle keep-alive client in the cgroup served by api3" \
	idle_on api3 "$LAB_DIR/idle.txt" "$NODE_NS"
NODE_IDLE_PID=$IDLE_PID
require pod.idle "an idle keep-alive client in the pod namespace served by api3" \
	idle_on api3 "$LAB_DIR/pod_idle.txt" "$POD_NS"
POD_IDLE_PID=$IDLE_PID
# `apilb flows` lists both socket-mode connections: the node's and the pod's (its client found in
# the pod's namespace by the socket cookie).
fl=$(lb flows --json)
lb flows | sed 's/^/    /'
expect_eq flows.node "socket-mode connections from the node to api3 in apilb flows" \
	"$(jq --arg b "$(be4 api3)" --arg c "$LAB_NODE4" '[.[] | select(.mode=="socket" and .backend==$b
		and (.client | startswith($c + ":")) and .netns=="" and .state=="established")] | length' <<<"$fl")" 1
expect_eq flows.pod "socket-mode connections from the pod to api3 in apilb flows" \
	"$(jq --arg b "$(be4 api3)" --arg c "$POD_ADDR" --arg v "$VIP4" '[.[] | select(.mode=="socket"
		and .backend==$b and .vip==$v and (.client | startswith($c + ":")) and .netns!="")] | length' <<<"$fl")" 1
# Socket mode on /metrics: the idle client's connect() (and the tries before it) were translated.
expect_ge metrics.backend "apilb_backend_socket_connects_total of api3" \
	"$(metric apilb_backend_socket_connects_total backend="$(be4 api3)")" 1
expect_ge metrics.connect "apilb_socket_connects_total{reason=connect}" \
	"$(metric apilb_socket_connects_total reason=connect)" 1
t_freeze=$(now_ms)
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" freeze api3
for _ in $(seq 150); do
	kill -0 "$NODE_IDLE_PID" 2>/dev/null || kill -0 "$POD_IDLE_PID" 2>/dev/null || break
	sleep 0.1
done
kill "$NODE_IDLE_PID" "$POD_IDLE_PID" 2>/dev/null
dead_line=$(grep -m1 -E '198.18.0.13:6443: [a-z]+ -> dead' "$LAB_DIR/daemon.log")
t_dead=$(log_ms "$dead_line")
grep -E '198.18.0.13:6443' "$LAB_DIR/daemon.log" | tail -3 | sed 's/^/    daemon: /'
# reset_checks TAG WHO FILE: the idle client that wrote FILE ("<ms> <error>") was reset within 1 s
# of the daemon's dead decision.
reset_checks() {
	local tag=$1 who=$2 t err
	read -r t err <"$3" || t=0
	echo "FIGURE sock_dead.${tag}_client_reset_ms=$((t - t_freeze)) (api3 hangs -> $who's recv()" \
		"returns $err); $((t - t_dead)) ms after the dead decision"
	check "$tag.err" "$who's recv() returned ($err)" \
		test "$err" = eof -o "$err" = ConnectionAbortedError
	check "$tag.fast" "$who reset within 1000 ms of the dead decision ($((t - t_dead)) ms)" \
		test "$t" -gt 0 -a $((t - t_dead)) -le 1000
}
reset_checks idle "the node's idle client" "$LAB_DIR/idle.txt"
reset_checks pod "the pod's idle client" "$LAB_DIR/pod_idle.txt"
grep -E 'other namespaces' "$LAB_DIR/daemon.log" | tail -1 | sed 's/^/    daemon: /'
check pod.searched "the daemon found the pod's socket in another namespace" \
	grep -qE 'socket mode: 1 of 1 connections not in this namespace destroyed in other namespaces' "$LAB_DIR/daemon.log"
check destroyed "the daemon logged both destroyed socket-mode connections" \
	grep -qE '198.18.0.13:6443: terminated 0 flows and 2 socket-mode connections \(2 local sockets destroyed' "$LAB_DIR/daemon.log"
out=$(for _ in $(seq 12); do cg_who "https://$VIP4/version"; done)
expect_eq after.api3 "answers from api3 after its death" "$(count_of api3 <<<"$out")" 0
expect_eq after.errors "failed requests after its death" "$(count_of error <<<"$out")" 0
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" thaw api3
daemon_stop TERM
expect_eq stop.links "programs left on the test cgroup" "$(cg_links | wc -l)" 0
check stop.pins "no pins under $PIN" not pins_left
