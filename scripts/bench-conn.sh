#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What apilb adds to one TCP connection, measured in place and without wrk's noise: a netns lab,
# apilb in one mode, then B batches of N sequential connect()+close() from the node, straight to
# api1 and to the VIP (balanced to api1 alone), in alternating order. Per batch and destination:
#   - BPF ns per connection of each apilb program (run_time_ns / run_cnt deltas from bpftool with
#     kernel.bpf_stats_enabled=1; the stats add a clock read on each side of every run) and the
#     program runs per connection (packets, or socket hooks);
#   - the client's µs per connect()+close() (the loop's wall time / N);
#   - the machine's busy CPU µs per connection (/proc/stat, as bench.sh's "machine" column: the
#     client, the server, softirqs on both vCPUs; other users of the machine count too).
# With --request, each connection also carries wrk's new-connection exchange (bench.sh): an HTTP
# request with "Connection: close" to a plain-HTTP nginx on api1:8080 (the benchmark's server), the
# ~90-byte response read to the server's close, then close(): the same packets as one of wrk's
# new-connection requests, without its eight concurrent connections. With --wrk SECONDS, each
# batch is instead SECONDS of bench.sh's new-connection wrk run (wrk -t1 -c8, "Connection: close";
# implies --request), and every "per connection" figure is per request: the same programs'
# cost with eight connections at once on the machine's vCPUs.
# Then the median over the batches of "VIP minus direct" for the last two. With --profile, the
# last batch runs under `perf record -a -e cpu-clock` and the script prints, per kernel symbol,
# the CPU µs per connection direct and through the VIP and the difference (the helpers of
# scripts/bench.sh --profile). Removes the lab, the cgroup, the daemon and the sysctl it set, even
# on failure.
#
# Modes: socket  (--mode socket on a private cgroup holding the client: lb_sock_connect4,
#                 lb_sock_release)
#        packet  (`apilb run` as deployed, XDP reverse NAT, next hops pinned: lb_fwd, lb_rev_xdp)
#        tc      (the same with --ingress tc: lb_fwd, lb_rev_tc)
#
# Usage: sudo scripts/bench-conn.sh [--mode socket|packet|tc] [--connects N | --wrk SECONDS]
#                                  [--batches B] [--request] [--profile]
#                                  [-- EXTRA APILB ARGS, e.g. --table-size 1021]
#        (defaults socket, 2000, 3)   APILB=path/to/apilb (default build/userspace/cli/apilb)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib/root.sh
. "$here/lib/root.sh"
KEEP_ENV="APILB" as_root "$@"
# shellcheck source=scripts/lab-lib.sh
. "$here/lab-lib.sh" # lab_addr4
# shellcheck source=scripts/bench-lib.sh
. "$here/bench-lib.sh" # bench_cg_*, bench_in_cg, bench_wait_healthy, bench_http_conf, bench_profile_*
BENCH_PERF_PERIOD_US=100
APILB=${APILB:-$root/build/userspace/cli/apilb}
N=2000
B=3
MODE=socket
PROFILE=0
REQUEST=0
WRK=""
EXTRA=()
usage() { echo "usage: $0 [--mode socket|packet|tc] [--connects N | --wrk SECONDS] [--batches B] [--request] [--profile] [-- APILB ARGS]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--mode | --connects | --batches | --wrk) [ $# -ge 2 ] || usage ;;
	esac
	case "$1" in
	--mode) MODE=$2; shift ;;
	--connects) N=$2; shift ;;
	--batches) B=$2; shift ;;
	--profile) PROFILE=1 ;;
	--request) REQUEST=1 ;;
	--wrk) WRK=$2; REQUEST=1; [ -n "$WRK" ] || usage; shift ;;
	--) shift; EXTRA=("$@"); break ;;
	*) usage ;;
	esac
	shift
done
case "$MODE" in
socket) progs=(lb_sock_connect4 lb_sock_release) ;;
packet) progs=(lb_fwd lb_rev_xdp) ;;
tc) progs=(lb_fwd lb_rev_tc) ;;
*) echo "bench-conn: --mode is socket, packet or tc" >&2; exit 2 ;;
esac
[[ "$N" =~ ^[1-9][0-9]*$ && "$B" =~ ^[1-9][0-9]?$ && "$WRK" =~ ^([1-9][0-9]{0,2})?$ ]] ||
	{ echo "bench-conn: --connects, --batches and --wrk (seconds) must be positive (batches < 100, wrk < 1000)" >&2; exit 2; }
[ -x "$APILB" ] || { echo "bench-conn: $APILB not built (scripts/build.sh)" >&2; exit 2; }
tools=(bpftool jq python3)
[ $PROFILE -eq 0 ] || tools+=(perf)
[ -z "$WRK" ] || tools+=(wrk)
for t in "${tools[@]}"; do command -v "$t" >/dev/null || { echo "bench-conn: needs $t" >&2; exit 2; }; done

PREFIX=apilbc-$$ # the lab's name and the cgroup's (bench_cg_setup)
P=$PREFIX
PIN=/sys/fs/bpf/$P
STATE=$(mktemp -d)
BENCH_CG=""
stats_before=$(sysctl -n kernel.bpf_stats_enabled)
RUN_PID=""
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$stats_before" || true
	if [ -n "$RUN_PID" ]; then kill -TERM "$RUN_PID" 2>/dev/null; wait "$RUN_PID" 2>/dev/null || true; fi
	"$APILB" --netns "$P-node" --pin-dir "$PIN" detach >/dev/null 2>&1 || true
	bench_cg_remove
	"$here/lab-down.sh" "$P" >/dev/null 2>&1 || true
	rm -rf "$STATE"
}
trap cleanup EXIT
"$here/lab-up.sh" "$P" >/dev/null
bench_cg_setup
[ -n "$BENCH_CG" ] || { echo "bench-conn: no cgroup v2 hierarchy to hold the client" >&2; exit 1; }
ip netns exec "$P-node" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000"
API1=$(lab_addr4 api1)
VIP=$LAB_VIP4
PORT=$LAB_PORT # the lab's HTTPS nginx: connect()+close() only
if [ $REQUEST -eq 1 ]; then
	# bench.sh's plain-HTTP server on api1 (in the lab's namespace: lab-down.sh stops it).
	PORT=$BENCH_PORT
	BENCH_DIR=$STATE/http
	bench_http_conf api1
	ip netns exec "$P-api1" nginx -q -c "$BENCH_DIR/api1/nginx.conf" -p "$BENCH_DIR/api1" ||
		{ cat "$BENCH_DIR/api1/error.log" >&2; exit 1; }
fi
apilb=("$APILB" --netns "$P-node" --pin-dir "$PIN")
if [ "$MODE" = socket ]; then
	"${apilb[@]}" attach --mode socket --cgroup "$BENCH_CG" --vip "$VIP:$PORT" --backend "$API1:$PORT" "${EXTRA[@]}" >/dev/null
else
	ingress=xdp
	[ "$MODE" = tc ] && ingress=tc
	# As deployed: the daemon attaches, probes and pins api1's next hop (docs/daemon.md).
	"${apilb[@]}" run --vip "$VIP:$PORT" --backend "$API1:$PORT" --iface eth0 --ingress "$ingress" \
		--probe-type tcp --probe-interval 500ms --state-dir "$STATE" --cleanup-on-exit "${EXTRA[@]}" \
		>"$STATE/run.log" 2>&1 &
	RUN_PID=$!
	bench_wait_healthy "$STATE" "$RUN_PID" ||
		{ echo "bench-conn: apilb run did not report api1 healthy within 10 s" >&2; cat "$STATE/run.log" >&2; exit 1; }
fi

# The loop prints its wall µs per connection and the machine's busy CPU µs per connection, read
# from /proc/stat right around the loop, busy as bench.sh counts it (bench_cpu_busy: every field
# but idle and iowait), then the number of requests (--request) not answered "200".
loop='import os, socket, sys, time
host, port, n, request = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
req = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
def busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]
bad = 0
b, t = busy(), time.perf_counter()
for _ in range(n):
    s = socket.socket(); s.connect((host, port))
    if request:
        s.sendall(req)
        r = c = s.recv(4096)
        while c:
            c = s.recv(4096); r += c
        bad += not r.startswith(b"HTTP/1.1 200 ")
    s.close()
t, b = time.perf_counter() - t, busy() - b
print("%.2f %.1f %d" % (t / n * 1e6, b * 1e6 / os.sysconf("SC_CLK_TCK") / n, bad))'
# wrk_batch HOST: like the loop, for one wrk run from the benchmark's cgroup (under "${rec[@]}"):
# "µs per request" (wall time / requests), machine CPU µs per request, errors, requests.
wrk_batch() {
	local out=$STATE/wrk.txt b0 b1 reqs errs
	b0=$(bench_cpu_busy)
	bench_in_cg "${rec[@]}" ip netns exec "$P-node" wrk -t1 -c8 -d"${WRK}s" -H 'Connection: close' \
		"http://$1:$PORT/" >"$out" 2>&1
	b1=$(bench_cpu_busy)
	read -r reqs errs < <(bench_wrk_counts "$out")
	[ "$reqs" -gt 0 ] || return 1
	awk -v a="$b0" -v b="$b1" -v s="$WRK" -v n="$reqs" -v e="$errs" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		printf "%.2f %.1f %d %d\n", s * 1e6 / n, (y[1] - x[1]) * 1e6 / hz / n, e, n }'
}
# Programs attached by this run: in the lab's node namespace (packet, tc) or on the benchmark's
# cgroup (socket). Another apilb on the machine, with programs of the same names, is not counted.
if [ "$MODE" = socket ]; then
	own_ids=$(bpftool cgroup show "$BENCH_CG" -j | jq -c '[.[].id]')
else
	# XDP and classic tc filters from bpftool; tcx programs (Linux 6.6+) from lib/tcx.py, since
	# Debian 12's bpftool predates tcx.
	own_ids=$({
		ip netns exec "$P-node" bpftool net show -j | jq -r '.[] | ((.xdp // [])[], (.tc // [])[]) | .id'
		ip netns exec "$P-node" python3 "$here/lib/tcx.py" show apilb0 lo eth0 | cut -d' ' -f3
	} | jq -s -c '.')
fi
# prog_stats: "run_cnt run_time_ns" of each program of $progs (among this run's), in that order.
prog_stats() {
	local all
	all=$(bpftool prog show -j)
	for name in "${progs[@]}"; do
		jq -r --arg n "$name" --argjson ids "$own_ids" '
			[.[] | select(.name == $n and (.id | IN($ids[])))]
			| if length == 1 then "\(.[0].run_cnt // 0) \(.[0].run_time_ns // 0)"
			  else error("\(length) attached programs named \($n)") end' <<<"$all"
	done | paste -sd' '
}
prog_stats >/dev/null || { echo "bench-conn: cannot tell this run's ${progs[*]} among the attached programs" >&2; exit 1; }
sysctl -qw kernel.bpf_stats_enabled=1
what="connect()+close()"
[ $REQUEST -eq 1 ] && what="connect()+HTTP request+close() (:$PORT)"
[ -z "$WRK" ] || what="${WRK} s of wrk -t1 -c8 new-connection requests (:$PORT; figures per request)"
count="$N "
[ -z "$WRK" ] || count=""
echo "bench-conn: mode $MODE${EXTRA[*]:+ (${EXTRA[*]})}, $B batches of $count$what per destination, kernel $(uname -r), $(nproc) CPUs"
printf '%-5s %-22s %16s %16s %12s %14s\n' batch destination "${progs[0]} ns" "${progs[1]} ns" \
	"client µs" "machine CPU µs"
printf '%-5s %-22s %16s %16s %12s %14s\n' "" "" "(runs/conn)" "(runs/conn)" "per conn" "per conn"
results=$STATE/results
for b in $(seq "$B"); do
	# Every connection leaves a TIME_WAIT socket to api1 that the next connect()s' port search
	# walks past, so the order alternates: neither destination always goes second.
	order=("$API1 direct" "$VIP VIP")
	[ $((b % 2)) -eq 0 ] && order=("${order[1]}" "${order[0]}")
	for dst in "${order[@]}"; do
		host=${dst%% *}
		ip netns exec "$P-node" ss -K state time-wait >/dev/null 2>&1 || true
		before=$(prog_stats)
		rec=()
		[ $PROFILE -eq 1 ] && [ "$b" -eq "$B" ] &&
			rec=(perf record -a -q -e cpu-clock -c $((BENCH_PERF_PERIOD_US * 1000)) -o "$STATE/perf-${dst##* }.data" --)
		ip netns exec "$P-api1" ss -K state time-wait >/dev/null 2>&1 || true # --request: the server closes first
		if [ -z "$WRK" ]; then
			read -r us cpu bad < <(bench_in_cg "${rec[@]}" ip netns exec "$P-node" python3 -c "$loop" "$host" "$PORT" "$N" "$REQUEST") ||
				{ echo "bench-conn: the connection loop to $host:$PORT failed" >&2; exit 1; }
		else
			read -r us cpu bad N < <(wrk_batch "$host") ||
				{ echo "bench-conn: wrk to $host:$PORT gave no result:" >&2; cat "$STATE/wrk.txt" >&2; exit 1; }
		fi
		[ "$bad" = 0 ] || { echo "bench-conn: $bad of $N requests to $host:$PORT were not answered 200" >&2; exit 1; }
		after=$(prog_stats)
		read -r c0 r0 c1 r1 < <(paste -d' ' <(echo "$before") <(echo "$after") | awk -v n="$N" '{
			for (i = 0; i < 2; i++) {
				runs = $(5 + 2 * i) - $(1 + 2 * i); ns = $(6 + 2 * i) - $(2 + 2 * i)
				printf "%.0f %.1f ", ns / n, runs / n
			}
			printf "\n"}')
		printf '%-5s %-22s %9s (%4s) %9s (%4s) %12s %14s\n' "$b" "$dst" "$c0" "$r0" "$c1" "$r1" "$us" "$cpu"
		echo "$b ${dst##* } $us $cpu $c0 $c1" >>"$results"
		echo "$N" >"$STATE/n-${dst##* }" # --profile: the last batch's count (wrk's varies)
	done
done
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    b, dst, us, cpu, p0, p1 = line.split()
    rows.setdefault(int(b), {})[dst] = (float(us), float(cpu), float(p0) + float(p1))
d_us = [r["VIP"][0] - r["direct"][0] for r in rows.values()]
d_cpu = [r["VIP"][1] - r["direct"][1] for r in rows.values()]
r_cpu = [r["VIP"][1] / r["direct"][1] for r in rows.values() if r["direct"][1] > 0]
bpf = [r["VIP"][2] for r in rows.values()]
d_bpf = [r["VIP"][2] - r["direct"][2] for r in rows.values()]
# /proc/stat counts in ticks (10 ms): a short batch can show 0 for direct, and then no ratio.
ratio = "%.2fx direct" % statistics.median(r_cpu) if r_cpu else "no ratio: batches too short"
print("median over batches, VIP minus direct: client %+.1f µs per connection, machine CPU %+.1f µs "
      "per connection (%s); BPF %.0f ns per VIP connection, %+.0f ns over a direct one"
      % (statistics.median(d_us), statistics.median(d_cpu), ratio, statistics.median(bpf),
         statistics.median(d_bpf)))
PY
if [ $PROFILE -eq 1 ]; then
	for d in direct VIP; do bench_profile_costs "$STATE/perf-$d.data" "$(cat "$STATE/n-$d")" 1 >"$STATE/costs-$d.txt"; done
	echo "profile of batch $B (perf record -a -e cpu-clock, every ${BENCH_PERF_PERIOD_US} µs of CPU):"
	echo "CPU µs per connection: direct, VIP, difference; largest extra first"
	bench_profile_diff "$STATE/costs-direct.txt" "$STATE/costs-VIP.txt"
fi
