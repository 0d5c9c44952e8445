#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): GET /metrics and /healthz of `apilb run`, parsed with python3-prometheus-client
# (a real parser, not a regex; Debian's /usr/bin/python3, where python3-prometheus-client lives). Values must move: new flows per backend grow with traffic, a
# backend that refuses connections turns dead with its failed probes counted, and the reset counter grows
# when the sockets of its flows are destroyed. Also: the listener is loopback by default and
# `--metrics-addr off` serves nothing.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init daemon_metrics

require daemon "apilb run with metrics on the default address" daemon_start -- api1 api2 api3

# ---- the families exist and parse --------------------------------------------------------
families=$(scrape | /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
print(" ".join(sorted(f.name for f in text_string_to_metric_families(sys.stdin.read()))))')
for f in apilb_backend_state apilb_probe_duration_seconds apilb_probe_failures apilb_backend_new_flows \
	apilb_datapath_packets apilb_datapath_bytes apilb_flows_tracked apilb_flows_reset \
	apilb_table_publishes apilb_fail_open apilb_build_info apilb_backend_socket_connects \
	apilb_socket_connects apilb_tc_order_moves apilb_tc_order_paused; do
	check families.$f "family $f parsed from /metrics" contains " $families " " $f "
done
expect_eq build.abi "apilb_build_info abi and ingress_mode (the configured one: auto by default) labels" \
	"$(scrape | /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    if f.name == "apilb_build_info": print(f.samples[0].labels.get("abi"), f.samples[0].labels.get("ingress_mode"))')" \
	"3 auto"
expect_eq version "apilb version names the same map ABI" "$("$APILB" version)" "apilb 0.1.0 (map ABI 3)"
for s in api1 api2 api3; do
	expect_eq state.$s "apilb_backend_state{backend=$s,state=healthy}" \
		"$(metric apilb_backend_state backend="$(be4 $s)" state=healthy)" 1
done
expect_eq fail_open.off "apilb_fail_open" "$(metric apilb_fail_open)" 0
pub_before=$(metric apilb_table_publishes_total)
expect_ge publishes.start "apilb_table_publishes_total after start" "$pub_before" 0
expect_ge probes "probe histogram count of api1" \
	"$(metric apilb_probe_duration_seconds_count backend="$(be4 api1)")" 1
expect_eq healthz "GET /healthz" "$(in_node curl -sS --max-time 5 "$MURL/healthz")" ok

# ---- new flows per backend grow with traffic ---------------------------------------------
declare -A before
for s in api1 api2 api3; do before[$s]=$(metric apilb_backend_new_flows_total backend="$(be4 $s)"); done
fwd_before=$(metric apilb_datapath_packets_total reason=fwd_new)
spread 30 "https://$VIP4/version" >"$LAB_DIR/spread.txt"
total=0
for s in api1 api2 api3; do
	after=$(metric apilb_backend_new_flows_total backend="$(be4 $s)")
	served=$(grep -c "^$s " "$LAB_DIR/spread.txt")
	expect_eq newflows.$s "new flows of $s grew by the connections it served" \
		"$((after - before[$s]))" "$served"
	total=$((total + after - before[$s]))
done
expect_eq newflows.total "new flows over all backends" "$total" 30
expect_eq packets.fwd_new "apilb_datapath_packets_total{reason=fwd_new} grew by 30" \
	"$(($(metric apilb_datapath_packets_total reason=fwd_new) - fwd_before))" 30

# ---- a dead backend turns dead in the metrics; its flows' sockets are reset and counted ---
require idle "an idle keep-alive TLS client through the VIP served by api2" \
	idle_client_on api2 "$LAB_DIR/idle.txt"
sleep 0.5
expect_eq reset.before "apilb_flows_reset_total for api2 before its death" \
	"$(metric apilb_flows_reset_total backend="$(be4 api2)")" "none:0"
# api2 refuses every connection but the idle client's (probes get a reset: a hard failure), so
# the idle client's socket is still open when the daemon declares api2 dead and destroys it.
require reject "api2 rejects all but the idle client" in_ns api2 iptables -I INPUT -p tcp \
	--dport "$LAB_PORT" ! --sport "$IDLE_PORT" -j REJECT --reject-with tcp-reset
check dead.state "api2 marked dead" wait_state api2 dead 5
sleep 0.5
expect_eq dead.metric "apilb_backend_state{backend=api2,state=dead}" \
	"$(metric apilb_backend_state backend="$(be4 api2)" state=dead)" 1
expect_eq dead.healthy "apilb_backend_state{backend=api2,state=healthy}" \
	"$(metric apilb_backend_state backend="$(be4 api2)" state=healthy)" 0
fails=$(scrape | /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
print(int(sum(s.value for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples
              if s.name == "apilb_probe_failures_total" and s.labels["backend"] == sys.argv[1]
              and s.labels["reason"] in ("refused", "reset"))))' "$(be4 api2)")
expect_ge dead.failures "apilb_probe_failures_total{backend=api2,reason=refused|reset}" "$fails" 2
expect_ge publishes.dead "tables published for api2's death" \
	"$(($(metric apilb_table_publishes_total) - pub_before))" 1
expect_ge reset.after "apilb_flows_reset_total{backend=api2} after its death" \
	"$(metric apilb_flows_reset_total backend="$(be4 api2)")" 1
wait "$IDLE_PID" 2>/dev/null

# ---- structured logs: key=value by default, JSON on request ------------------------------
check log.kv "the state change is one key=value line with event, backend, from, to" \
	grep -qE "^ts=[0-9T:.-]+Z level=warn msg=\"backend $(be4 api2): healthy -> dead .* event=state backend=$(be4 api2) from=healthy to=dead reason=" "$LAB_DIR/daemon.log"
check log.reset "the reset is logged with event=reset and the backend" \
	grep -qE "event=reset backend=$(be4 api2) flows=[0-9]+ sockets_destroyed=[1-9]" "$LAB_DIR/daemon.log"

# ---- where it listens --------------------------------------------------------------------
listen=$(in_node ss -Htln 'sport = :9810' | awk '{print $4}')
expect_eq listen.loopback "metrics listener address" "$listen" "127.0.0.1:9810"
daemon_stop
lines_before=$(wc -l <"$LAB_DIR/daemon.log")
require daemon.off "apilb run --metrics-addr off --log-format json" \
	daemon_start --metrics-addr off --log-format json -- api1 api3
expect_eq listen.off "listeners on 9810 with --metrics-addr off" \
	"$(in_node ss -Htln 'sport = :9810' | wc -l)" 0
daemon_stop
json_bad=$(tail -n +"$((lines_before + 1))" "$LAB_DIR/daemon.log" | /usr/bin/python3 -c '
import json, sys
n = bad = 0
for line in sys.stdin:
    n += 1
    try:
        j = json.loads(line)
        bad += not all(k in j for k in ("ts", "level", "msg"))
    except ValueError:
        bad += 1
print(bad if n else "no lines")')
expect_eq log.json "daemon log lines with --log-format json that are not JSON objects with ts/level/msg" \
	"$json_bad" 0
out=$(lb run --vip "$VIP4" --backend "$(be4 api1)" --iface eth0 --metrics-addr 127.0.0.1 2>&1)
rc=$?
expect_eq bad.rc "exit code of --metrics-addr without a port" "$rc" 2
check bad.msg "the message names metrics_addr ($out)" contains "$out" "metrics_addr"
