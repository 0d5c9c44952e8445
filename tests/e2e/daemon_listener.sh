#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): a backend's death must destroy only the connected sockets of its flows, never a
# listener. A stale SYN_SENT flow entry {node:40005 -> VIP:6443} toward api2 (its socket long gone)
# is planted with bpftool while a host service listens on 0.0.0.0:40005 in the node namespace.
# When api2 dies (kill -9: refused) the daemon terminates its flows; a tuple-only SOCK_DESTROY
# would be looked up like an incoming packet, fall back to the listener and abort it. The
# listener must survive (a connect to it works) and the daemon must report 0 sockets destroyed.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init daemon_listener

LPORT=40005
require daemon "apilb run attaches and sees api1..3 healthy" daemon_start -- api1 api2 api3

# The host service: listens on 0.0.0.0:LPORT, accepts one connection at a time, says "up".
in_node python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(b"up\n"); c.close()
' "$LPORT" >"$LAB_DIR/listener.log" 2>&1 &
LISTENER_PID=$!
# The listener outlives a deleted namespace: stop it before e2e_cleanup, keeping the exit status.
trap 'rc=$?; kill "$LISTENER_PID" 2>/dev/null; (exit $rc); e2e_cleanup' EXIT
# listener_up: a connect to the listener gets its greeting.
listener_up() {
	[ "$(in_node timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; head -1 <&3" 2>/dev/null)" = up ]
}
for _ in $(seq 30); do listener_up "$LPORT" && break; sleep 0.1; done
require listen.before "host listener on 0.0.0.0:$LPORT answers" listener_up "$LPORT"

hex4() { local IFS=.; printf '%02x ' $1; }
hexport() { printf '%02x %02x ' $(($1 >> 8)) $(($1 & 255)); }
hexle32() { printf '%02x %02x %02x %02x ' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $(($1 >> 24)); }
zeros12='00 00 00 00 00 00 00 00 00 00 00 00 '
id2=$(lb backend list | awk -v a="$(be4 api2)" '$2==a{print $1}')
require id "api2's backend id ('$id2')" test -n "$id2"
# lb_fwd key {src=node, dst=VIP, sport=LPORT, dport=6443, TCP, AF_INET}; value: backend api2,
# state SYN_SENT (1), flags 0, backend_id, gen 1, syn_seq, cli_ack/pad 0, created/last/rev_ns 0.
key="$(hex4 "$LAB_NODE4")$zeros12$(hex4 "$LAB_VIP4")$zeros12$(hexport $LPORT)$(hexport $LAB_PORT)06 02 00 00"
val="$(hex4 "$(lab_addr4 api2)")$zeros12$(hexport $LAB_PORT)01 00 $(hexle32 "$id2")$(hexle32 1)04 03 02 01 $(printf '00 %.0s' $(seq 32))"
# shellcheck disable=SC2086
require plant "bpftool plants a stale SYN_SENT apilb_fwd_v2 entry node:$LPORT -> VIP (api2)" \
	bpftool map update pinned "$PIN/apilb_fwd_v2" key hex $key value hex $val

kill_server api2
check dead "api2 marked dead" wait_state api2 dead 5
for _ in $(seq 20); do grep -q "$(be4 api2): terminated" "$LAB_DIR/daemon.log" && break; sleep 0.1; done
term=$(grep -m1 "$(be4 api2): terminated" "$LAB_DIR/daemon.log")
echo "    daemon: $term"
check term "the daemon terminated api2's stale flow" contains "$term" "terminated 1 flows"
check nodestroy "no local socket destroyed for the stale flow" contains "$term" "(0 local sockets destroyed"
check listen.alive "the listener on 0.0.0.0:$LPORT still answers after api2's flows were killed" \
	listener_up "$LPORT"
check listen.ss "ss still shows the listener" \
	test -n "$(in_node ss -Htln "( sport = :$LPORT )")"
check vip "the VIP still answers (api1/api3)" vip_answers
