#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# apilb benchmark: the same client (wrk / curl in the node namespace of a fresh netns lab) against
# several ways to reach three "apiservers" (plain-HTTP nginx in the lab's api namespaces), measured
# one after another in interleaved rounds: a direct connection to one backend (the limit), the same
# with a pass-through XDP program on the node's NIC (direct-xdp: what the NIC's XDP path costs
# alone), haproxy (tcp mode, as kubeadm's HA guide), nginx stream (as kubespray's localhost
# proxy), iptables DNAT (as kube-proxy), apilb packet mode (XDP or TC ingress; apilb-tc-cls-1:
# TC as classic tc filters instead of tcx) and apilb socket mode (cgroup connect()
# hooks on the benchmark's own cgroup, where wrk runs: apilb-sock with 3 backends, apilb-sock-1
# with api1 only). Per target: keep-alive and new-connection req/s, latency
# p50/p99, single-stream bulk throughput, whole-machine CPU per request. Then the BPF per-packet
# cost (scripts/bench-bpf.sh) and the daemon's RSS. Prints a table and writes docs/bench.md and
# docs/bench.png (a --quick run writes them to its state dir instead).
#
# Usage: scripts/bench.sh [--rounds N] [--quick] [--duration S] [--targets a,b,..]
#                              [--out DIR] [--no-deps] [--no-build] [--no-bpf] [--profile]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lab-lib.sh
. "$here/lab-lib.sh"
# shellcheck source=scripts/bench-lib.sh
. "$here/bench-lib.sh"
# shellcheck source=scripts/lib/root.sh
. "$here/lib/root.sh"

usage() {
	sed -n 's/^# Usage: //p; s/^#  \{28\}/                              /p' "$0" | head -2 >&2
	exit 2
}

ROUNDS=3
BENCH_DUR=5
BENCH_BULK_DUR=3
BENCH_THREADS=1
BENCH_CONNS=8
ALL_TARGETS=direct,direct-xdp,haproxy,nginx,iptables,apilb,apilb-tc,apilb-1,apilb-tc-1,apilb-tc-cls-1,apilb-sock,apilb-sock-1
TARGETS=$ALL_TARGETS
OUT=""
DO_DEPS=1
DO_BUILD=1
DO_BPF=1
DO_PROFILE=0
QUICK=0
BUILD_DIR=${BENCH_BUILD_DIR:-$root/build-bench}
ARGV=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=${2:?}; shift ;;
	--quick) QUICK=1; ROUNDS=1; BENCH_DUR=1; BENCH_BULK_DUR=1 ;;
	--duration) BENCH_DUR=${2:?}; shift ;;
	--targets) TARGETS=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	--no-deps) DO_DEPS=0 ;;
	--no-build) DO_BUILD=0 ;;
	--no-bpf) DO_BPF=0 ;;
	--profile) DO_PROFILE=1 ;;
	-h | --help) usage ;;
	*) echo "bench: unknown argument '$1'" >&2; usage ;;
	esac
	shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || { echo "bench: --rounds must be 1..99" >&2; exit 2; }
[[ "$BENCH_DUR" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --duration must be whole seconds" >&2; exit 2; }
IFS=, read -r -a TARGET_LIST <<<"$TARGETS"
for t in "${TARGET_LIST[@]}"; do
	[[ ",$ALL_TARGETS," == *",$t,"* ]] || { echo "bench: unknown target '$t' ($ALL_TARGETS)" >&2; exit 2; }
done
KEEP_ENV="BENCH_BUILD_DIR" as_root "${ARGV[@]}"

PREFIX="apilbb-$$"
NS="$PREFIX-node"
PIN_DIR=$(lab_pin_dir "$PREFIX")
APILB=${BENCH_APILB:-$BUILD_DIR/userspace/cli/apilb}
BENCH_XDP_PASS_OBJ="$BUILD_DIR/tests/bpfbench/xdp_pass.bpf.o"

cleanup() {
	local rc=$?
	[ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null
	[ -n "${BENCH_RUN_PID:-}" ] && { kill "$BENCH_RUN_PID" 2>/dev/null; wait "$BENCH_RUN_PID" 2>/dev/null; } || true
	[ -x "$APILB" ] && [ -e "$PIN_DIR" ] && bench_apilb detach >/dev/null 2>&1
	"$here/lab-down.sh" "$PREFIX" >/dev/null 2>&1 || echo "bench: lab-down $PREFIX failed" >&2
	bench_cg_remove
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- dependencies and build --------------------------------------------------------------
[ $DO_DEPS -eq 1 ] && "$here/install-deps.sh"
if [ $DO_BUILD -eq 1 ]; then
	echo "bench: building apilb and apilb_bpfbench in $BUILD_DIR"
	mkdir -p "$BUILD_DIR"
	cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD_DIR/bench-cmake.log" 2>&1 ||
		{ tail -20 "$BUILD_DIR/bench-cmake.log" >&2; echo "bench: cmake failed" >&2; exit 1; }
	for tgt in apilb apilb_bpfbench apilb_xdp_pass; do
		make -C "$BUILD_DIR" -j2 "$tgt" >"$BUILD_DIR/bench-$tgt.log" 2>&1 ||
			{ tail -20 "$BUILD_DIR/bench-$tgt.log" >&2; echo "bench: building $tgt failed" >&2; exit 1; }
	done
fi

# ---- lab ---------------------------------------------------------------------------------
echo "bench: lab $PREFIX"
"$here/lab-up.sh" "$PREFIX" >/dev/null
BENCH_DIR="$(lab_dir "$PREFIX")/bench"
mkdir -p "$BENCH_DIR"
: >"$BENCH_DIR/results.tsv"
: >"$BENCH_DIR/notes.txt"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_bridge_plain
bench_servers_start
for t in "${TARGET_LIST[@]}"; do
	case "$t" in
	haproxy) bench_haproxy_start ;;
	nginx) bench_nginx_stream_start ;;
	esac
done

bench_cg_setup
bench_cg_adopt

# The apilb targets are measured only if `apilb attach` works here; else the report says so.
apilb_ok=1
if [[ ",$TARGETS," == *,apilb* ]]; then
	if [ ! -x "$APILB" ]; then
		echo "apilb: not measured: $APILB was not built" | tee -a "$BENCH_DIR/notes.txt"
		apilb_ok=0
	elif ! bench_apilb_up; then
		echo "apilb: not measured: \`apilb attach\` failed: $(tail -1 "$BENCH_DIR/apilb-attach.log")" |
			tee -a "$BENCH_DIR/notes.txt"
		apilb_ok=0
	else
		bench_wait_url "http://$LAB_VIP4:$BENCH_PORT/" || { bench_apilb status >&2 || true; exit 1; }
		bench_maps_memory >"$BENCH_DIR/maps-memory.txt" || : >"$BENCH_DIR/maps-memory.txt"
		bench_apilb_down
	fi
fi

target_url() {
	case "$1" in
	direct | direct-xdp) echo "http://$(lab_addr4 api1):$BENCH_PORT" ;;
	haproxy) echo "http://127.0.0.1:$BENCH_HAPROXY_PORT" ;;
	nginx) echo "http://127.0.0.1:$BENCH_NGINX_PORT" ;;
	iptables) echo "http://$BENCH_CLUSTER_IP:$BENCH_PORT" ;;
	apilb*) echo "http://$LAB_VIP4:$BENCH_PORT" ;;
	esac
}
target_up() {
	case "$1" in
	iptables) bench_iptables_up || return 1 ;;
	direct-xdp) bench_xdp_pass_up || return 1 ;;
	apilb) bench_apilb_up --ingress xdp || return 1 ;;
	apilb-tc) bench_apilb_up --ingress tc || return 1 ;;
	apilb-1) BENCH_APILB_ONE=1 bench_apilb_up --ingress xdp || return 1 ;;
	apilb-tc-1) BENCH_APILB_ONE=1 bench_apilb_up --ingress tc || return 1 ;;
	apilb-tc-cls-1) APILB_TCX=0 BENCH_APILB_ONE=1 bench_apilb_up --ingress tc || return 1 ;;
	apilb-sock) bench_apilb_up --mode socket --cgroup "$BENCH_CG" || return 1 ;;
	apilb-sock-1) BENCH_APILB_ONE=1 bench_apilb_up --mode socket --cgroup "$BENCH_CG" || return 1 ;;
	esac
	bench_wait_url "$(target_url "$1")/"
}
target_down() {
	case "$1" in
	iptables) bench_iptables_down ;;
	direct-xdp)
		# Evidence that the pass-through program really was on the NIC during the runs.
		[ "$2" = 1 ] && echo "direct-xdp: $(ip -n "$NS" -d link show dev eth0 |
			grep -o 'prog/xdp id [0-9]* name [a-z_]*' || echo 'no XDP program') on eth0 during round 1's runs" \
			>>"$BENCH_DIR/notes.txt"
		bench_xdp_pass_down
		;;
	apilb*)
		# Evidence that the traffic really went through the datapath (counters by reason).
		[ "$2" = 1 ] && [ "$1" = apilb ] &&
			bench_apilb status --state-dir "$BENCH_DIR/run-state" >"$BENCH_DIR/apilb-status.txt" 2>&1
		# Flows still tracked after the runs: closed connections must not linger in the maps.
		[ "$2" = 1 ] && [[ "$1" != apilb-sock* ]] &&
			echo "$1: $(bench_apilb flows 2>/dev/null | grep -c . || true) lines of \`apilb flows\` after round 1's runs" >>"$BENCH_DIR/notes.txt"
		bench_apilb_down
		;;
	esac
}

# ---- rounds ------------------------------------------------------------------------------
active=()
for t in "${TARGET_LIST[@]}"; do
	[[ "$t" == apilb* ]] && [ $apilb_ok -eq 0 ] && continue
	active+=("$t")
done
n=${#active[@]}
t_start=$(date +%s)
for r in $(seq "$ROUNDS"); do
	echo "bench: round $r/$ROUNDS"
	# Rotate the order each round so no target always runs first (or last) on a warm machine.
	for i in $(seq 0 $((n - 1))); do
		t=${active[$(((i + r - 1) % n))]}
		if ! target_up "$t"; then
			echo "$t: round $r skipped: set-up failed" | tee -a "$BENCH_DIR/notes.txt"
			target_down "$t" 0 || true
			continue
		fi
		url=$(target_url "$t")
		bench_wrk "$r" "$t" ka "$url/" || true
		bench_wrk "$r" "$t" nc "$url/" || true
		bench_bulk "$r" "$t" "$url/big" || true
		target_down "$t" "$r"
	done
done
t_rounds=$(($(date +%s) - t_start))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- profile (optional): where a request spends CPU, each apilb target vs direct ----------
# perf samples cpu-clock every BENCH_PERF_PERIOD_US of CPU time on every CPU (idle excluded), so
# samples x period / requests is CPU microseconds per request, per symbol: a cost, comparable
# between targets, not a share. The diff lists what a target pays per request beyond direct.
BENCH_PERF_PERIOD_US=${BENCH_PERF_PERIOD_US:-100}
PROF_SECS=4 # perf records this long, in the middle of a wrk run 2 s longer
[ $QUICK -eq 1 ] && PROF_SECS=1
if [ $DO_PROFILE -eq 1 ] && ! command -v perf >/dev/null; then
	echo "profile: not taken: perf is not installed (apt-get install linux-perf)" | tee -a "$BENCH_DIR/notes.txt"
elif [ $DO_PROFILE -eq 1 ]; then
	echo "$PROF_SECS" >"$BENCH_DIR/profile-secs.txt"
	prof_targets=()
	for t in direct direct-xdp apilb-1 apilb-tc-1 apilb-tc-cls-1 apilb-sock-1 apilb; do
		[[ " ${active[*]} " == *" $t "* ]] && prof_targets+=("$t")
	done
	for t in "${prof_targets[@]}"; do
		target_up "$t" || continue
		for kind in ka nc; do
			hdr=()
			[ $kind = nc ] && hdr=(-H 'Connection: close')
			bench_flush
			# From the benchmark's cgroup, as the rounds' wrk: socket mode serves only that one.
			bench_in_cg ip netns exec "$NS" wrk -t"$BENCH_THREADS" -c"$BENCH_CONNS" -d$((PROF_SECS + 2))s "${hdr[@]}" \
				"$(target_url "$t")/" >"$BENCH_DIR/perf-wrk-$t-$kind.txt" 2>&1 &
			wrk_pid=$!
			sleep 1
			perf record -a -g -q -e cpu-clock -c $((BENCH_PERF_PERIOD_US * 1000)) \
				-o "$BENCH_DIR/perf-$t-$kind.data" -- sleep "$PROF_SECS" >/dev/null 2>&1 || true
			wait $wrk_pid || true
			rps=$(awk '/^Requests\/sec:/{print $2}' "$BENCH_DIR/perf-wrk-$t-$kind.txt")
			read -r reqs errs < <(bench_wrk_counts "$BENCH_DIR/perf-wrk-$t-$kind.txt")
			if [ "${reqs:-0}" -eq 0 ] || [ "${errs:-0}" -ne 0 ]; then
				# No per-request figure from a run that served nothing (or failed some).
				echo "$t: $kind profile not taken: wrk served ${reqs:-0} requests with ${errs:-0} errors" \
					"($(grep -v '^ ' "$BENCH_DIR/perf-wrk-$t-$kind.txt" | tail -1))" | tee -a "$BENCH_DIR/notes.txt"
				continue
			fi
			bench_profile_costs "$BENCH_DIR/perf-$t-$kind.data" "$rps" "$PROF_SECS" \
				>"$BENCH_DIR/costs-$t-$kind.tsv"
			bench_profile_summary "$BENCH_DIR/costs-$t-$kind.tsv" "$rps" \
				>"$BENCH_DIR/profile-$t-$kind.txt"
			# BENCH_KEEP_PERF=DIR keeps the raw data (perf report -i DIR/perf-T-K.data -G).
			if [ -n "${BENCH_KEEP_PERF:-}" ]; then
				mkdir -p "$BENCH_KEEP_PERF"
				cp "$BENCH_DIR/perf-$t-$kind.data" "$BENCH_DIR/costs-$t-$kind.tsv" "$BENCH_KEEP_PERF/"
			fi
		done
		target_down "$t" 0
	done
	for t in "${prof_targets[@]}"; do
		[ "$t" = direct ] && continue
		for kind in ka nc; do
			[ -s "$BENCH_DIR/costs-direct-$kind.tsv" ] && [ -s "$BENCH_DIR/costs-$t-$kind.tsv" ] ||
				continue
			bench_profile_diff "$BENCH_DIR/costs-direct-$kind.tsv" "$BENCH_DIR/costs-$t-$kind.tsv" \
				>"$BENCH_DIR/profile-diff-$t-$kind.txt"
			# apilb-1 against the same NIC receive path: apilb's own share, the NIC's XDP cost removed.
			if [ "$t" = apilb-1 ] && [ -s "$BENCH_DIR/costs-direct-xdp-$kind.tsv" ]; then
				bench_profile_diff "$BENCH_DIR/costs-direct-xdp-$kind.tsv" "$BENCH_DIR/costs-$t-$kind.tsv" \
					>"$BENCH_DIR/profile-diff-$t-vs-direct-xdp-$kind.txt"
			fi
		done
	done
fi

# ---- daemon RSS --------------------------------------------------------------------------
if [ -x "$APILB" ] && "$APILB" run --help >/dev/null 2>&1; then
	# `apilb run` with the lab's three HTTPS apiservers, probing /readyz with the lab CA.
	run_args=(run --vip "$LAB_VIP4:$LAB_PORT" --iface eth0 --probe-ca "$(lab_dir "$PREFIX")/ca.crt"
		--state-dir "$BENCH_DIR/state" --cleanup-on-exit)
	for a in "${LAB_APIS[@]}"; do run_args+=(--backend "$(lab_addr4 "$a"):$LAB_PORT"); done
	"$APILB" --netns "$NS" --pin-dir "$PIN_DIR" "${run_args[@]}" >"$BENCH_DIR/daemon.log" 2>&1 &
	daemon_pid=$!
	sleep 6
	if kill -0 "$daemon_pid" 2>/dev/null; then
		rss=$(awk '/^VmRSS/{print $2}' "/proc/$daemon_pid/status")
		hwm=$(awk '/^VmHWM/{print $2}' "/proc/$daemon_pid/status")
		curl_ok=$(ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			--cacert "$(lab_dir "$PREFIX")/ca.crt" "https://$LAB_VIP4:$LAB_PORT/version" || true)
		echo "daemon: VmRSS ${rss} kB, VmHWM ${hwm} kB after 6 s with 3 backends" \
			"(curl through the VIP: HTTP ${curl_ok:-none})" | tee -a "$BENCH_DIR/notes.txt"
		printf '0\tdaemon\trss_kb\t%s\n0\tdaemon\thwm_kb\t%s\n' "$rss" "$hwm" \
			>>"$BENCH_DIR/results.tsv"
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" 2>/dev/null || true
	else
		wait "$daemon_pid" 2>/dev/null || true
		echo "daemon: not measured: \`apilb run\` exited: $(tail -1 "$BENCH_DIR/daemon.log")" |
			tee -a "$BENCH_DIR/notes.txt"
	fi
	daemon_pid=""
else
	echo "daemon: not measured: \`apilb run\` is not available in this build" |
		tee -a "$BENCH_DIR/notes.txt"
fi

# ---- BPF per-packet cost -----------------------------------------------------------------
if [ $DO_BPF -eq 1 ]; then
	if "$here/bench-bpf.sh" --no-build --build-dir "$BUILD_DIR" >"$BENCH_DIR/bpf.txt" 2>&1; then
		cat "$BENCH_DIR/bpf.txt"
	else
		echo "bpf: not measured: $(tail -1 "$BENCH_DIR/bpf.txt")" | tee -a "$BENCH_DIR/notes.txt"
		: >"$BENCH_DIR/bpf.txt"
	fi
	# A node with many flows: the flow maps 10 % and 90 % full (LRU pressure).
	for pct in 10 90; do
		if "$here/bench-bpf.sh" --no-build --build-dir "$BUILD_DIR" --fill "$pct" \
			>"$BENCH_DIR/bpf-fill$pct.txt" 2>&1; then
			grep -E '^(flow maps|new flow|forward hit|reverse hit \(xdp)' "$BENCH_DIR/bpf-fill$pct.txt"
		else
			echo "bpf --fill $pct: not measured: $(tail -1 "$BENCH_DIR/bpf-fill$pct.txt")" |
				tee -a "$BENCH_DIR/notes.txt"
			: >"$BENCH_DIR/bpf-fill$pct.txt"
		fi
	done
fi

# ---- report ------------------------------------------------------------------------------
if [ -z "$OUT" ]; then
	if [ $QUICK -eq 1 ]; then OUT="$BUILD_DIR/bench-out"; else OUT="$root/docs"; fi
fi
mkdir -p "$OUT"
cmdline="scripts/bench.sh${ARGV[*]:+ ${ARGV[*]}}"
BENCH_CMD="$cmdline" BENCH_ROUNDS="$ROUNDS" BENCH_LOAD="$load_before -> $load_after" \
	BENCH_SECONDS="$t_rounds" BENCH_QUICK="$QUICK" \
	bench_report "$BENCH_DIR" "$OUT/bench.md" "$OUT/bench.png"
echo "bench: wrote $OUT/bench.md and $OUT/bench.png"
