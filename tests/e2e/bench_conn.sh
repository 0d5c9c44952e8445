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
# --request: an HTTP request per connection (wrk's new-connection exchange), one at a time. Every
# VIP connection runs lb_fwd for its SYN, ACK, request and FIN at least (its ACKs of the response
# and of the server's FIN may or may not be one segment): 4 to 6 runs; no direct one runs it. A
# request not answered 200 makes bench-conn.sh fail.
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'; }
out=$(APILB=$APILB "$E2E_REPO/scripts/bench-conn.sh" --mode tc --request --connects 300 --batches 1 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    | /'
expect_eq request.rc "exit code of bench-conn.sh --mode tc --request" "$rc" 0
check request.shape "the header names the request" contains "$out" "connect()+HTTP request+close() (:8080)"
v=$(runs_of "$out" VIP)
check request.vip "lb_fwd runs per VIP connection with a request in 4..6 (got '$v')" in_range "$v" 4 6
expect_eq request.direct "lb_fwd runs per direct connection with a request" "$(runs_of "$out" direct)" 0.0
check request.summary "the median line is printed" contains "$out" "median over batches, VIP minus direct"
# --wrk: the same programs under wrk's eight concurrent new connections (1 s per destination).
# Direct runs first in a one-batch run, so no VIP connection's last packets can land in its count.
out=$(APILB=$APILB "$E2E_REPO/scripts/bench-conn.sh" --mode tc --wrk 1 --batches 1 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    | /'
expect_eq wrk.rc "exit code of bench-conn.sh --mode tc --wrk 1" "$rc" 0
check wrk.shape "the header names the wrk run" contains "$out" "1 s of wrk -t1 -c8 new-connection requests (:8080; figures per request)"
v=$(runs_of "$out" VIP)
check wrk.vip "lb_fwd runs per VIP request under wrk in 4..6 (got '$v')" in_range "$v" 4 6
expect_eq wrk.direct "lb_fwd runs per direct request under wrk" "$(runs_of "$out" direct)" 0.0
check wrk.summary "the median line is printed" contains "$out" "median over batches, VIP minus direct"
# Bad input: exit 2, nothing built.
"$E2E_REPO/scripts/bench-conn.sh" --mode nope >/dev/null 2>&1
expect_eq bad.mode "exit code of bench-conn.sh --mode nope" "$?" 2
"$E2E_REPO/scripts/bench-conn.sh" --connects 0 >/dev/null 2>&1
expect_eq bad.connects "exit code of bench-conn.sh --connects 0" "$?" 2
"$E2E_REPO/scripts/bench-conn.sh" --wrk 1s >/dev/null 2>&1
expect_eq bad.wrk "exit code of bench-conn.sh --wrk 1s" "$?" 2
"$E2E_REPO/scripts/bench-conn.sh" --mode tc --wrk >/dev/null 2>&1
expect_eq bad.novalue "exit code of bench-conn.sh --wrk without a value" "$?" 2
