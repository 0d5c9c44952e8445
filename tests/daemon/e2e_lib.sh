# SPDX-License-Identifier: Apache-2.0
# Helpers of the daemon's e2e tests (tests/e2e/daemon_*.sh), sourced after tests/e2e/lib.sh and
# e2e_init: start/stop `apilb run` in the lab's node namespace, read health.json, wait for a
# backend state, find which backend serves a connection, millisecond clocks.

STATE_DIR=""

now_ms() { date +%s%3N; }

# daemon_start [EXTRA RUN ARGS] -- SERVER...: `apilb run` on the lab (https probes of /readyz
# verified with the lab CA) in the background; sets E2E_DAEMON_PID (killed by e2e_cleanup) and
# waits until every backend is healthy (10 s at most). No SERVER: the backends come from --config.
daemon_start() {
	local extra=() b=() s
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do extra+=("$1"); shift; done
	shift
	for s in "$@"; do b+=(--backend "$(be4 "$s")"); done
	STATE_DIR="$LAB_DIR/state"
	"$APILB" --netns "$NODE_NS" --pin-dir "$PIN" run --vip "$VIP4" "${b[@]}" --iface eth0 \
		--probe-ca "$LAB_CA" --state-dir "$STATE_DIR" "${extra[@]}" >>"$LAB_DIR/daemon.log" 2>&1 &
	E2E_DAEMON_PID=$!
	local i
	for i in $(seq 100); do
		[ "$(health | jq '.backends | length > 0 and all(.state == "healthy")' 2>/dev/null)" = true ] &&
			return 0
		kill -0 "$E2E_DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/    | /' "$LAB_DIR/daemon.log"
	return 1
}

daemon_stop() {  # daemon_stop [SIGNAL]
	[ -n "${E2E_DAEMON_PID:-}" ] || return 0
	kill "-${1:-TERM}" "$E2E_DAEMON_PID" 2>/dev/null
	wait "$E2E_DAEMON_PID" 2>/dev/null
	E2E_DAEMON_PID=""
}

health() { cat "$STATE_DIR/health.json" 2>/dev/null; }
healthy_count() { health | jq '[.backends[] | select(.state=="healthy")] | length' 2>/dev/null; }
# state_of SERVER: its state in health.json.
state_of() { health | jq -r --arg a "$(be4 "$1")" '.backends[] | select(.address==$a) | .state' 2>/dev/null; }
fail_open() { health | jq -r '.fail_open' 2>/dev/null; }
# wait_fail_open true|false TIMEOUT_S: true once health.json's fail_open says so (the backends do
# not die in the same probe round, so the last one's decision can come a round later).
fail_open_is() { [ "$(fail_open)" = "$1" ]; }
wait_fail_open() { wait_for "$2" fail_open_is "$1"; }

# wait_state SERVER STATE TIMEOUT_S: true once health.json says so.
state_is() { [ "$(state_of "$1")" = "$2" ]; }
wait_state() { wait_for "$3" state_is "$1" "$2"; }

# server_of_port PORT: the api server holding an established connection from node port PORT.
server_of_port() {
	local s
	for s in "${LAB_APIS[@]}"; do
		if in_ns "$s" ss -Htn state established "( dport = :$1 )" | grep -q .; then echo "$s"; return; fi
	done
}

# served_by PORT: the server a connection from local PORT landed on (waits up to 2 s for it).
served_by() {
	local i srv
	for i in $(seq 40); do
		srv=$(server_of_port "$1")
		[ -n "$srv" ] && { echo "$srv"; return; }
		sleep 0.05
	done
}

# download_on SERVER OUT RATE: starts a rate-limited download of rand.bin through the VIP from a
# fixed local port, retrying with other ports until SERVER serves it. Sets DL_PID and DL_PORT;
# OUT.w gets "<curl rc> <bytes> <error>", OUT.end the time curl returned (ms).
download_on() {
	local want=$1 out=$2 rate=$3 port
	for port in $(seq 21000 21040); do
		(
			ncurl --max-time 120 --local-port "$port" --limit-rate "$rate" -o "$out" \
				-w '%{exitcode} %{size_download} %{errormsg}\n' "https://$VIP4/files/rand.bin" \
				>"$out.w" 2>"$out.err"
			now_ms >"$out.end"  # when curl returned
		) &
		DL_PID=$!
		DL_PORT=$port
		[ "$(served_by "$port")" = "$want" ] && return 0
		pkill -P "$DL_PID" 2>/dev/null  # the curl, or it downloads on for up to 120 s
		kill "$DL_PID" 2>/dev/null
		wait "$DL_PID" 2>/dev/null
	done
	return 1
}

# client_loop OUT: new HTTPS connections through the VIP back to back from local ports
# 22000-29999; one line per request: "<start_ms> <end_ms> <curl rc> <server>". Sets LOOP_PID.
client_loop() {
	(
		while :; do
			local t0 t1 out rc srv
			t0=$(now_ms)
			out=$(in_node curl -gsS --cacert "$LAB_CA" --max-time 5 --local-port 22000-29999 \
				"https://$VIP4/version" 2>/dev/null)
			rc=$?
			t1=$(now_ms)
			srv=$(printf '%s' "$out" | sed -n 's/.*"server":"\([^"]*\)".*/\1/p')
			echo "$t0 $t1 $rc ${srv:-none}"
		done
	) >"$1" 2>/dev/null &
	LOOP_PID=$!
}
loop_stop() { kill "$LOOP_PID" 2>/dev/null; wait "$LOOP_PID" 2>/dev/null; }

# kill_server SERVER: kill -9 every process of SERVER's namespace at once (master and workers
# together, so no worker gets respawned), i.e. the apiserver crashes: connections are refused.
kill_server() {
	local pids
	pids=$(ip netns pids "$PREFIX-$1")
	[ -z "$pids" ] || kill -9 $pids 2>/dev/null
	for _ in $(seq 50); do
		[ -z "$(ip netns pids "$PREFIX-$1")" ] && return 0
		sleep 0.02
	done
	return 1
}

# log_ms LOGLINE: the daemon log line's timestamp (its ts= field) in ms since the epoch (0 if none).
log_ms() { local l=${1#ts=}; date -d "${l%% *}" +%s%3N 2>/dev/null || echo 0; }

# vip_answers: one HTTPS request through the VIP succeeds.
vip_answers() { ncurl "https://$VIP4/version" >/dev/null; }
# backend_flags SERVER: the FLAGS column of `apilb backend list` for SERVER.
backend_flags() { lb backend list | awk -v a="$(be4 "$1")" '$2==a{print $4}'; }

# idle_client_on SERVER OUT: a TLS connection through the VIP that made one keep-alive request
# and now blocks in recv() like an idle kubelet watch, from a fixed local port, retried until
# SERVER serves it. OUT gets "<ms when recv returned> <error>". Sets IDLE_PID and IDLE_PORT.
idle_client_on() {
	local want=$1 out=$2 port
	for port in $(seq 23000 23040); do
		: >"$out"
		in_node python3 - "$LAB_CA" "$LAB_VIP4" "$LAB_PORT" "$port" "$out" <<'PY' &
import socket, ssl, sys, time
ca, vip, vport, lport, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
s = socket.create_connection((vip, vport), timeout=5, source_address=("", lport))
t = ctx.wrap_socket(s, server_hostname=vip)
t.sendall(b"GET /version HTTP/1.1\r\nHost: apiserver\r\n\r\n")
t.recv(4096)
t.settimeout(None)
try:
    t.recv(1)
    err = "eof"
except OSError as e:
    err = type(e).__name__
open(out, "w").write("%d %s\n" % (int(time.time() * 1000), err))
PY
		IDLE_PID=$!
		IDLE_PORT=$port
		[ "$(served_by "$port")" = "$want" ] && return 0
		kill "$IDLE_PID" 2>/dev/null
		wait "$IDLE_PID" 2>/dev/null
	done
	return 1
}

# /metrics of the daemon (default listener, in the node namespace).
MURL=http://127.0.0.1:9810
scrape() { in_node curl -sS --max-time 5 "$MURL/metrics"; }
# metric NAME [LABEL=VALUE...]: the value of the one sample matching, parsed by prometheus_client.
metric() {
	scrape | /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
name, want = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
hits = [s.value for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in want.items())]
print(int(hits[0]) if len(hits) == 1 and hits[0] == int(hits[0]) else (hits[0] if len(hits) == 1 else "none:%d" % len(hits)))
' "$@"
}
