#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The tour (well under a minute after the build): installs dependencies, builds apilb, starts the
# netns lab "apilbdemo" (a node namespace and three HTTPS "apiservers"), runs the daemon
# `apilb run` on the node with the VIP 169.254.64.43:6443, sends 30 new connections through the
# VIP and shows which apiserver answered each; then kills one apiserver while requests flow and
# shows them rerouted, the backend `dead` in `apilb status` and in /metrics; makes another one
# refuse new connections while a long-lived connection is open on it and shows that connection
# ended by apilb (it destroys the client's socket: the TLS client reads EOF); brings both back. Leaves everything up with instructions to explore.
#
# Usage: scripts/demo.sh          set up and show
#        scripts/demo.sh down     tear the demo down (detach, namespaces, pins, files)
# Environment: N (new connections in the first step, 30), BUILD_DIR (build), APILB (the binary;
# default BUILD_DIR's), DEMO_PREFIX (the lab's name, apilbdemo; tests/e2e/demo_tour.sh sets its own).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
. scripts/lab-lib.sh
. scripts/lib/root.sh
KEEP_ENV="BUILD_DIR APILB N DEMO_PREFIX" as_root "$@"
PREFIX=${DEMO_PREFIX:-apilbdemo}
BUILD_DIR=${BUILD_DIR:-build}
APILB=${APILB:-$repo/$BUILD_DIR/userspace/cli/apilb}
NODE_NS=$PREFIX-node
PIN=$(lab_pin_dir "$PREFIX")
N=${N:-30}

lb() { "$APILB" --netns "$NODE_NS" --pin-dir "$PIN" "$@"; }
status() { lb status --state-dir "$(lab_dir "$PREFIX")/state"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

DAEMON_PID_FILE=$(lab_dir "$PREFIX")/daemon.pid

down() {
	local pid st
	if [ -f "$DAEMON_PID_FILE" ]; then
		pid=$(cat "$DAEMON_PID_FILE")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do # up to 5 s for it to exit (a zombie has exited)
			st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || break
			if [ -z "$st" ] || [ "$st" = Z ]; then break; fi
			sleep 0.1
		done
	fi
	if [ -x "$APILB" ] && [ -e "/run/netns/$NODE_NS" ] && [ -d "$PIN" ]; then
		lb detach || true
	fi
	scripts/lab-down.sh "$PREFIX"
}

case "${1:-up}" in
down) down; exit 0 ;;
up) ;;
*) echo "usage: $0 [down]" >&2; exit 2 ;;
esac

step "Installing dependencies and building (scripts/build.sh)"
scripts/build.sh apilb

step "Starting the lab $PREFIX (scripts/lab-up.sh $PREFIX)"
scripts/lab-up.sh "$PREFIX"
. "$(lab_dir "$PREFIX")/lab.env"
backends=()
for s in "${LAB_APIS[@]}"; do backends+=(--backend "$(lab_addr4 "$s"):$LAB_PORT"); done
vip="$LAB_VIP4:$LAB_PORT"

step "Starting the daemon in $NODE_NS: apilb run (it attaches the datapath, then health-checks)"
echo "+ apilb --netns $NODE_NS --pin-dir $PIN run --vip $vip ${backends[*]} --iface eth0 \\"
echo "      --probe-ca $LAB_CA --state-dir $LAB_DIR/state   (log: $LAB_DIR/daemon.log)"
setsid "$APILB" --netns "$NODE_NS" --pin-dir "$PIN" run --vip "$vip" "${backends[@]}" --iface eth0 \
	--probe-ca "$LAB_CA" --state-dir "$LAB_DIR/state" >"$LAB_DIR/daemon.log" 2>&1 </dev/null &
echo $! >"$DAEMON_PID_FILE"
for _ in $(seq 100); do
	n=$(jq '[.backends[] | select(.state=="healthy")] | length' "$LAB_DIR/state/health.json" 2>/dev/null || echo 0)
	[ "$n" = "${#LAB_APIS[@]}" ] && break
	sleep 0.1
done
sed 's/^/  | /' "$LAB_DIR/daemon.log"

step "$N new connections to https://$vip/version from the node"
declare -A count=()
for i in $(seq "$N"); do
	out=$(ip netns exec "$NODE_NS" curl -sS --max-time 5 --cacert "$LAB_CA" \
		-w ' %{remote_ip} %{local_port}' "https://$vip/version" 2>&1) || out="error $out"
	srv=$(sed -n 's/.*"server":"\([^"]*\)".*/\1/p' <<<"$out")
	srv=${srv:-error}
	count[$srv]=$((${count[$srv]:-0} + 1))
	# shellcheck disable=SC2206
	w=(${out##*\}})	# after the JSON body: remote_ip local_port
	peer=${w[0]:-?} lport=${w[1]:-?}
	printf '  request %2d from %s:%-5s -> answered by %-5s (client saw peer %s)\n' \
		"$i" "$LAB_NODE4" "$lport" "$srv" "$peer"
done
echo
for s in "${!count[@]}"; do printf '  %-5s answered %2d of %d\n' "$s" "${count[$s]}" "$N"; done | sort
echo "  backends logged the client as: $(cat "$LAB_DIR"/api*/access.log | awk '/GET \/version/{print $1}' | sort | uniq -c | xargs)"

step "apilb status --state-dir $LAB_DIR/state   (the daemon's health file is there)"
status

ncurl() { ip netns exec "$NODE_NS" curl -sS --cacert "$LAB_CA" "$@"; }
metric() { ip netns exec "$NODE_NS" curl -sS http://127.0.0.1:9810/metrics | grep -E "$1" | sed 's/^/  /'; }
since() { echo $(( $(date +%s%3N) - $1 )); }

step "Killing api2 (kill -9 of its server) while the node sends a request every 50 ms"
loop=$LAB_DIR/demo-loop.txt
(
	while :; do
		t=$(date +%s%3N)
		out=$(ncurl --max-time 2 "https://$vip/version" 2>/dev/null) && rc=0 || rc=$?
		srv=$(sed -n 's/.*"server":"\([^"]*\)".*/\1/p' <<<"$out")
		echo "$t $rc ${srv:-refused}"
		sleep 0.05
	done
) >"$loop" &
loop_pid=$!
sleep 1
t_kill=$(date +%s%3N)
scripts/lab-ctl.sh "$PREFIX" stop api2
sleep 3
kill "$loop_pid"; wait "$loop_pid" 2>/dev/null || true
before=$(awk -v k="$t_kill" '$1 < k' "$loop" | wc -l)
echo "  before the kill: $before requests, spread: $(awk -v k="$t_kill" '$1 < k {print $3}' "$loop" | sort | uniq -c | xargs)"
awk -v k="$t_kill" '$1 >= k { n++; printf "  t%+6d ms  %s\n", $1 - k, ($2 == 0 ? "answered by " $3 : "FAILED (connection refused: api2 is dead, the table still has it)") }
	n >= 14 { exit }' "$loop"
echo "  ..."
last_fail=$(awk -v k="$t_kill" '$1 >= k && $2 != 0 {t = $1 - k} END {print t + 0}' "$loop")
after=$(awk -v k="$t_kill" -v f="$last_fail" '$1 - k > f' "$loop")
echo "  -> last failed request started ${last_fail} ms after the kill; the $(wc -l <<<"$after") after it were" 	"all served: $(awk '{print $3}' <<<"$after" | sort | uniq -c | xargs)"
echo
grep -E "198\.18\.0\.12:6443: healthy -> dead|published Maglev table" "$LAB_DIR/daemon.log" | tail -2 | sed 's/^/  | /'
echo; status | sed -n '/^backends:/,/^counters:/p' | sed '$d'
echo; metric 'apilb_backend_state\{.*(api2|198\.18\.0\.12).*state="(healthy|dead)"'

step "api3 stops accepting connections while a long-lived connection (like a kubelet watch) is open on it"
hold_port=""
for p in $(seq 24000 24040); do
	ip netns exec "$NODE_NS" python3 - "$LAB_CA" "$LAB_VIP4" "$LAB_PORT" "$p" "$LAB_DIR/demo-hold.txt" <<'PY' &
import socket, ssl, sys, time
ca, vip, vport, lport, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
s = socket.create_connection((vip, vport), timeout=5, source_address=("", lport))
t = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname=vip)
t.sendall(b"GET /version HTTP/1.1\r\nHost: apiserver\r\n\r\n")
t.recv(4096)
t.settimeout(None)
try:
    t.recv(1); err = "EOF"
except OSError as e:
    err = "%s (%s)" % (type(e).__name__, e.strerror)
open(out, "w").write("%d %s\n" % (int(time.time() * 1000), err))
PY
	hold_pid=$!
	for _ in $(seq 40); do  # which server holds it? (up to 2 s)
		srv=$(for a in "${LAB_APIS[@]}"; do
			if ip netns exec "$PREFIX-$a" ss -Htn state established "( dport = :$p )" | grep -q .; then
				echo "$a"
			fi
		done)
		[ -n "$srv" ] && break
		sleep 0.05
	done
	[ "$srv" = api3 ] && { hold_port=$p; break; }
	kill "$hold_pid" 2>/dev/null; wait "$hold_pid" 2>/dev/null || true
done
echo "  a TLS connection from node port $hold_port through the VIP is served by api3 and idle"
t_rej=$(date +%s%3N)
ip netns exec "$PREFIX-api3" iptables -I INPUT -p tcp --dport "$LAB_PORT" ! --sport "$hold_port" 	-j REJECT --reject-with tcp-reset
echo "  api3 now resets every new connection (its probes fail); the idle connection is untouched by it"
wait "$hold_pid" 2>/dev/null || true
read -r t_end why <"$LAB_DIR/demo-hold.txt"
echo "  -> the idle client's connection ended $((t_end - t_rej)) ms later ($why): apilb destroyed its socket when api3 was declared dead"
grep -E "198\.18\.0\.13:6443: (healthy -> dead|terminated)" "$LAB_DIR/daemon.log" | tail -2 | sed 's/^/  | /'
echo; metric 'apilb_flows_reset_total'

step "Both come back"
scripts/lab-ctl.sh "$PREFIX" start api2
ip netns exec "$PREFIX-api3" iptables -D INPUT -p tcp --dport "$LAB_PORT" ! --sport "$hold_port" 	-j REJECT --reject-with tcp-reset
for _ in $(seq 100); do
	n=$(jq '[.backends[] | select(.state=="healthy")] | length' "$LAB_DIR/state/health.json" 2>/dev/null || echo 0)
	[ "$n" = "${#LAB_APIS[@]}" ] && break
	sleep 0.1
done
status | sed -n '/^backends:/,/^counters:/p' | sed '$d'

cat <<EOF2

== The lab is up. Explore:
  Shortcut:         alias apilb='$APILB --netns $NODE_NS --pin-dir $PIN'
  Status / flows:   apilb status --state-dir $LAB_DIR/state;  apilb flows;  apilb backend list;  apilb doctor --probe-ca $LAB_CA --state-dir $LAB_DIR/state
  Metrics:          ip netns exec $NODE_NS curl -s http://127.0.0.1:9810/metrics
  Daemon log:       tail -f $LAB_DIR/daemon.log
  Change backends:  (the daemon owns the backend list; stop it first: kill \$(cat $DAEMON_PID_FILE))
                    apilb backend del $(lab_addr4 api2):$LAB_PORT;  apilb backend add $(lab_addr4 api2):$LAB_PORT
  A request:        ip netns exec $NODE_NS curl --cacert $LAB_CA https://$vip/version
  Hairpin backend:  apilb backend add $LAB_NODE4:$LAB_PORT   (nginx "node" runs on the node itself)
  Maps (BTF-typed): bpftool map dump pinned $PIN/apilb_backends_v2   (also apilb_vips, apilb_fwd_v2,
                    apilb_rev_v2, apilb_stats, apilb_maglev, apilb_attach)
  Programs:         apilb status   (the hook of each: eth0 is a veth, so --ingress auto chose TC, in
                    the tcx chain on Linux 6.6+; older kernels: tc filter show dev eth0 ingress)
  Backend logs:     tail $LAB_DIR/api1/access.log
  Make api2 unready / dead / hung:  scripts/lab-ctl.sh $PREFIX readyz api2 503 | stop api2 | freeze api2
  Shell on the node: ip netns exec $NODE_NS bash
  Tear down:        scripts/demo.sh down
EOF2
