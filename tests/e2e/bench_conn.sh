#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: the short CI run of scripts/bench-conn.sh (the per-connection benchmark; it builds and
# removes its own lab), 300 connections per destination in one batch, in packet, tc and socket
# mode. Asserts what makes its figures mean something: every VIP connection ran through apilb
# (packet and tc: exactly 4 lb_fwd runs per connect()+close(), the SYN, the ACK, the FIN and the
# last ACK; socket: one lb_sock_connect4 run), no direct one did (0 lb_fwd runs; socket: the
# connect hook only looks), and the summary line is printed; then the same with --request (an HTTP
# request on each connection) and with --wrk (wrk's concurrent new-connection requests). The figures themselves are a benchmark's business, not a test's.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init_nolab bench_conn

# runs_of OUTPUT KIND: the first program's runs per connection on the row of KIND (direct|VIP).
runs_of() { awk -v k="$2" '$3 == k' <<<"$1" | sed -n 's/^[^(]*( *\([0-9.]*\)).*/\1/p'; }

for mode in packet tc socket; do
	out=$(APILB=$APILB "$E2E_REPO/scripts/bench-conn.sh" --mode "$mode" --connects 300 --batches 1 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/    | /'
	expect_eq "$mode.rc" "exit code of bench-conn.sh --mode $mode" "$rc" 0
	if [ "$mode" = socket ]; then
		expect_eq "$mode.vip" "lb_sock_connect4 runs per VIP connection" "$(runs_of "$out" VIP)" 1.0
		expect_eq "$mode.direct" "lb_sock_connect4 runs per direct connection" "$(runs_of "$out" direct)" 1.0
	else
		expect_eq "$mode.vip" "lb_fwd runs per VIP connection" "$(runs_of "$out" VIP)" 4.0
		expect_eq "$mode.direct" "lb_fwd runs per direct connection" "$(runs_of "$out" direct)" 0.0
	fi
	check "$mode.summary" "the median line is printed" contains "$out" "median over batches, VIP minus direct"
done
# request_run TAG HEADER ARGS...: a tc run whose connections each carry an HTTP request (--request:
# one at a time; --wrk: wrk's eight concurrent new connections). Every VIP connection runs lb_fwd
# for its SYN, ACK, request and FIN at least (its ACKs of the response and of the server's FIN may
# or may not be one segment): 4 to 6 runs; no direct one runs it (direct goes first in a one-batch
# run, so no VIP connection's last packets land in its count). A request not answered 200 makes
# bench-conn.sh fail.
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'; }
request_run() {
	local tag=$1 header=$2 out rc v
	shift 2
	out=$(APILB=$APILB "$E2E_REPO/scripts/bench-conn.sh" --mode tc "$@" --batches 1 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/    | /'
	expect_eq "$tag.rc" "exit code of bench-conn.sh --mode tc $*" "$rc" 0
	check "$tag.shape" "the header says: $header" contains "$out" "$header"
	v=$(runs_of "$out" VIP)
	check "$tag.vip" "lb_fwd runs per VIP connection in 4..6 (got '$v')" in_range "$v" 4 6
	expect_eq "$tag.direct" "lb_fwd runs per direct connection" "$(runs_of "$out" direct)" 0.0
	check "$tag.summary" "the median line is printed" contains "$out" "median over batches, VIP minus direct"
}
request_run request "connect()+HTTP request+close() (:8080)" --request --connects 300
request_run wrk "1 s of wrk -t1 -c8 new-connection requests (:8080; figures per request)" --wrk 1
# Bad input: exit 2, nothing built.
"$E2E_REPO/scripts/bench-conn.sh" --mode nope >/dev/null 2>&1
expect_eq bad.mode "exit code of bench-conn.sh --mode nope" "$?" 2
"$E2E_REPO/scripts/bench-conn.sh" --connects 0 >/dev/null 2>&1
expect_eq bad.connects "exit code of bench-conn.sh --connects 0" "$?" 2
"$E2E_REPO/scripts/bench-conn.sh" --wrk 1s >/dev/null 2>&1
expect_eq bad.wrk "exit code of bench-conn.sh --wrk 1s" "$?" 2
"$E2E_REPO/scripts/bench-conn.sh" --mode tc --wrk >/dev/null 2>&1
expect_eq bad.novalue "exit code of bench-conn.sh --wrk without a value" "$?" 2
