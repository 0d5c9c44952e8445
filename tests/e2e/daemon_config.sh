#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): configuration and probes. Bad configs exit 2 with the field named and attach
# nothing; a YAML file with flags overriding it; SNI/certificate name via --probe-server-name;
# a wrong CA makes backends dead with a "tls:" result; tcp probes; SIGHUP adds a backend and an
# invalid config on SIGHUP is rejected while the old one stays.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init daemon_config

# bad_run TAG FIELD ARGS...: `apilb run ARGS` exits 2, names FIELD, attaches nothing.
bad_run() {
	local tag=$1 field=$2 out rc
	shift 2
	out=$(timeout 10 "$APILB" --netns "$NODE_NS" --pin-dir "$PIN" run --state-dir "$LAB_DIR/st" "$@" 2>&1)
	rc=$?
	expect_eq "$tag.rc" "exit code of run $*" "$rc" 2
	check "$tag.msg" "message names $field ($(head -1 <<<"$out"))" contains "$out" "$field"
	check "$tag.clean" "nothing attached after run $*" not has_link apilb0
}
ca=(--probe-ca "$LAB_CA")
bad_run bad.vip vip --vip 169.254.64.43 --backend "$(be4 api1)" "${ca[@]}"
bad_run bad.backend backend --backend 198.18.0.11 "${ca[@]}"
bad_run bad.nobackend backend "${ca[@]}"
bad_run bad.interval probe_interval --backend "$(be4 api1)" --probe-interval 5 "${ca[@]}"
bad_run bad.ca probe_ca --backend "$(be4 api1)" --probe-ca /nonexistent/ca.crt
bad_run bad.table table_size --backend "$(be4 api1)" --table-size 1000 "${ca[@]}"
bad_run bad.type probe_type --backend "$(be4 api1)" --probe-type icmp "${ca[@]}"
huge="1$(printf '0%.0s' {1..400})s"
bad_run bad.huge probe_interval --backend "$(be4 api1)" --probe-interval "$huge" "${ca[@]}"
printf 'vip: %s\nbackend: [%s]\nprobe_intervall: 1s\n' "$VIP4" "$(be4 api1)" >"$LAB_DIR/bad.yaml"
bad_run bad.key probe_intervall --config "$LAB_DIR/bad.yaml" "${ca[@]}"
bad_run bad.file "$LAB_DIR/none.yaml" --config "$LAB_DIR/none.yaml"
"$APILB" run --print-default-config >"$LAB_DIR/default.yaml"
missing=""
for k in vip backend iface ingress table_size probe_type probe_path probe_interval probe_timeout \
	probe_rise probe_fall probe_ca probe_cert probe_key probe_token_file probe_server_name \
	insecure_skip_verify state_dir cleanup_on_exit log_level; do
	grep -Eq "^(# )?$k:" "$LAB_DIR/default.yaml" || missing+=" $k"
done
expect_eq default.complete "keys missing from --print-default-config" "${missing:-none}" none

# A file + flags: the file says interval 5s and a wrong CA; flags win.
cat >"$LAB_DIR/run.yaml" <<YAML
vip: $VIP4
backend:
  - $(be4 api1)
  - $(be4 api2)
iface: eth0
probe_interval: 5s
probe_ca: /etc/ssl/certs/ca-certificates.crt
probe_server_name: kubernetes.default.svc
YAML
require file "apilb run --config with flag overrides" \
	daemon_start --config "$LAB_DIR/run.yaml" --probe-interval 500ms --probe-timeout 400ms --
check sni "probes verified with server name kubernetes.default.svc" \
	grep -q 'probing https /readyz every 500ms' "$LAB_DIR/daemon.log"
n1=$(access_count api1 'GET /readyz')
sleep 2
n2=$(access_count api1 'GET /readyz')
expect_ge interval "probes of api1 in 2 s at 500ms (flag beat the file's 5s)" $((n2 - n1)) 3
conns=$(awk '/GET \/readyz/{print $2}' "$LAB_DIR/api1/access.log" | sort -u | wc -l)
total=$(access_count api1 'GET /readyz')
echo "FIGURE probe.keepalive=$total probes of api1 over $conns TCP connection(s)"
check keepalive "probes reuse connections ($total probes, $conns connections)" test "$conns" -le 3

# SIGHUP: add api3 to the file -> it is probed, becomes healthy, joins the table.
sed -i "s|  - $(be4 api2)|  - $(be4 api2)\n  - $(be4 api3)|" "$LAB_DIR/run.yaml"
kill -HUP "$E2E_DAEMON_PID"
check hup.add "api3 healthy after SIGHUP" wait_state api3 healthy 5
sleep 0.5
expect_eq hup.table "table after SIGHUP" "$(health | jq -r '.table | length')" 3
# SIGHUP with an invalid file: rejected, old config stays.
echo "probe_rise: zero" >>"$LAB_DIR/run.yaml"
kill -HUP "$E2E_DAEMON_PID"
sleep 1
check hup.bad "invalid config on SIGHUP logged" grep -q 'SIGHUP: invalid config, keeping the old one: probe_rise' "$LAB_DIR/daemon.log"
check hup.alive "daemon still running" kill -0 "$E2E_DAEMON_PID"
expect_eq hup.kept "backends still probed" "$(healthy_count)" 3
# SIGHUP with a duration too large for a double (std::stod threw out_of_range and ended the
# daemon): one log line, the old config stays, the VIP still serves.
sed -i '/^probe_rise: zero$/d; s/^probe_interval: .*/probe_interval: '"$huge"'/' "$LAB_DIR/run.yaml"
kill -HUP "$E2E_DAEMON_PID"
sleep 1
check hup.huge "huge probe_interval on SIGHUP logged" \
	grep -q "SIGHUP: invalid config, keeping the old one: probe_interval: '$huge': too long" "$LAB_DIR/daemon.log"
check hup.huge.alive "daemon still running after the huge value" kill -0 "$E2E_DAEMON_PID"
check hup.huge.vip "the VIP still serves after the huge value" vip_answers
expect_eq hup.huge.kept "backends still probed after the huge value" "$(healthy_count)" 3
daemon_stop TERM

# Wrong CA (the system bundle cannot verify the lab's certificates): backends dead, "tls:".
: >"$LAB_DIR/daemon.log"
"$APILB" --netns "$NODE_NS" --pin-dir "$PIN" run --vip "$VIP4" --backend "$(be4 api1)" \
	--backend "$(be4 api2)" --backend "$(be4 api3)" --probe-ca /etc/ssl/certs/ca-certificates.crt \
	--state-dir "$STATE_DIR" >>"$LAB_DIR/daemon.log" 2>&1 &
E2E_DAEMON_PID=$!
check tls.dead "api1 dead with an untrusted certificate" wait_state api1 dead 6
result=$(health | jq -r --arg a "$(be4 api1)" '.backends[] | select(.address==$a) | .result')
check tls.result "result names TLS ($result)" contains "$result" "tls:"
check tls.failopen "all dead -> fail-open, table kept" wait_fail_open true 6
daemon_stop TERM

# tcp probes: a server that only accepts connections is healthy; a killed one is dead.
: >"$LAB_DIR/daemon.log"
require tcp "apilb run --probe-type tcp" daemon_start --probe-type tcp -- api1 api2 api3
kill_server api3
check tcp.dead "api3 dead with tcp probes" wait_state api3 dead 5
result=$(health | jq -r --arg a "$(be4 api3)" '.backends[] | select(.address==$a) | .result')
expect_eq tcp.result "tcp probe result of the killed server" "$result" refused
