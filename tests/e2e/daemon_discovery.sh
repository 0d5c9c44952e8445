#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (daemon): `apilb run --kubeconfig` discovers the apiservers from the `kubernetes`
# EndpointSlice served by tests/k8s/fake_apiserver.py (in the node namespace, on 127.0.0.1),
# which lists api1..api3 (ready), the node (ready=false: not used) and, in a second slice,
# 198.18.0.11:6444 where nothing listens (the classic wrong --advertise-address).
#   1. static `backend` = api1 only; the discovered api2/api3 pass rise and take traffic; the
#      unserved address shows as dead with reason refused; discovered.json is written.
#   2. a MODIFIED event drops api3 while a download runs on it: api3 drains (out of the table,
#      the download completes intact), then is removed; discovered.json follows.
#   3. restart with the fake apiserver gone: the persisted set is used (api2 healthy and serving
#      although the static list only names api1), the watch error is logged, nothing blocks.
#   1b. `apilb doctor` (its own LIST gets a slice without api2) names api2 as in use but not
#      in the EndpointSlice, and discovered.json as different.
#   4. /readyz of api2 answers 401: reported as "credentials" in health.json, `apilb status` and
#      /metrics (apilb_probe_failures_total{reason="credentials"}), never as dead.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init daemon_discovery

K8S="$LAB_DIR/k8s"
DATA="$LAB_DIR/data"
mkdir -p "$K8S"
STATE_DIR="$LAB_DIR/state"
BAD="$(lab_addr4 api1):6444"

# A self-signed certificate for 127.0.0.1 (the fake apiserver's, and the kubeconfig's CA).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=fake-apiserver -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$K8S/server.key" -out "$K8S/server.crt" 2>/dev/null
require setup "test certificate" test -s "$K8S/server.crt"

# script.json: LIST (rv 100) then a watch that sends MODIFIED (api3 gone) once $K8S/remove exists.
python3 - "$K8S" "$(lab_addr4 api1)" "$(lab_addr4 api2)" "$(lab_addr4 api3)" \
	"$(lab_addr4 node)" "$LAB_PORT" <<'PY'
import json, sys
d, a1, a2, a3, node, port = sys.argv[1:7]
def ep(addr, ready=True):
    return {"addresses": [addr], "conditions": {"ready": ready, "serving": ready, "terminating": not ready},
            "nodeName": "cp-" + addr}
def sl(name, rv, eps, p):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": "default", "resourceVersion": rv,
                         "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": "https", "port": int(p), "protocol": "TCP"}]}
main = sl("kubernetes", "100", [ep(a1), ep(a2), ep(a3), ep(node, False)], port)
bad = sl("kubernetes-wrong", "100", [ep(a1)], 6444)
after = sl("kubernetes", "101", [ep(a1), ep(a2), ep(node, False)], port)
other = sl("kubernetes", "100", [ep(a1), ep(a3)], port)  # what `apilb doctor` is shown
script = [
    {"expect": "list", "json": {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSliceList",
                                "metadata": {"resourceVersion": "100"}, "items": [main, bad]}},
    {"expect": "watch", "wait_for": d + "/remove", "events": [{"type": "MODIFIED", "object": after}],
     "end": "hold"},
    {"expect": "list", "json": {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSliceList",
                                "metadata": {"resourceVersion": "100"}, "items": [other, bad]}},
]
json.dump(script, open(d + "/script.json", "w"))
PY

fake_start() {
	# ip netns exec execs python3: $! is the server's pid (a function would leave a subshell's).
	ip netns exec "$NODE_NS" python3 "$E2E_REPO/tests/k8s/fake_apiserver.py" --cert "$K8S/server.crt" \
		--key "$K8S/server.key" --script "$K8S/script.json" --log "$K8S/requests.jsonl" \
		>"$K8S/fake.out" 2>"$K8S/fake.err" &
	FAKE_PID=$!
	local i
	for i in $(seq 100); do
		FAKE_PORT=$(sed -n 's/^PORT //p' "$K8S/fake.out")
		[ -n "$FAKE_PORT" ] && return 0
		sleep 0.05
	done
	return 1
}
require fake "fake apiserver up in the node namespace" fake_start

cat >"$K8S/kubeconfig" <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:$FAKE_PORT
    certificate-authority: $K8S/server.crt
users:
- name: apilb
  user:
    token: e2e-token
contexts:
- name: lab
  context: {cluster: lab, user: apilb}
current-context: lab
EOF2

# run_disc: `apilb run` with discovery, static backend api1 only, in the background.
run_disc() {
	"$APILB" --netns "$NODE_NS" --pin-dir "$PIN" run --vip "$VIP4" --backend "$(be4 api1)" \
		--iface eth0 --probe-ca "$LAB_CA" --state-dir "$STATE_DIR" --kubeconfig "$K8S/kubeconfig" \
		--data-dir "$DATA" >>"$LAB_DIR/daemon.log" 2>&1 &
	E2E_DAEMON_PID=$!
}
# state_addr ADDR: its state in health.json ("" when not listed).
state_addr() { health | jq -r --arg a "$1" '.backends[] | select(.address==$a) | .state' 2>/dev/null; }
wait_addr() {  # wait_addr ADDR STATE TIMEOUT_S
	local i
	for i in $(seq $(($3 * 20))); do
		[ "$(state_addr "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	echo "    $1: '$(state_addr "$1")', wanted '$2'"
	return 1
}
listed() { health | jq -r '.backends[].address' 2>/dev/null | grep -qxF "$1"; }
persisted() { jq -r '.backends[]' "$DATA/discovered.json" 2>/dev/null | sort | tr '\n' ' '; }
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }
show_log() { sed 's/^/    | /' "$LAB_DIR/daemon.log" | tail -40; }

# ---- 1. discovery replaces the bootstrap; discovered backends pass rise, then take flows ----
run_disc
require disc.api2 "api2 (only in the slice) becomes healthy" wait_addr "$(be4 api2)" healthy 15 ||
	show_log
require disc.api3 "api3 (only in the slice) becomes healthy" wait_addr "$(be4 api3)" healthy 10
check disc.rise "api2 became healthy after rise (2) successes, not at once" \
	grep -q "backend $(be4 api2): unknown -> healthy (2 consecutive successes" "$LAB_DIR/daemon.log"
check disc.notready "the ready=false endpoint (the node) is not used" not listed "$(be4 node)"
check disc.bad "the address that does not serve is a dead backend" wait_addr "$BAD" dead 10
expect_eq disc.bad.reason "its reason" "$(health | jq -r --arg a "$BAD" '.backends[] | select(.address==$a) | .result')" refused
out=$(spread 30 "https://$VIP4/version")
expect_ge disc.traffic.api2 "new connections to the discovered api2 (of 30)" "$(count_of api2 <<<"$out")" 1
expect_ge disc.traffic.api3 "new connections to the discovered api3 (of 30)" "$(count_of api3 <<<"$out")" 1
expect_eq disc.traffic.errors "failed requests (of 30)" "$(grep -c '^error' <<<"$out")" 0
expect_eq disc.persist "discovered.json" "$(persisted)" "$(sorted "$BAD" "$(be4 api1)" "$(be4 api2)" "$(be4 api3)")"
check disc.auth "LIST/WATCH sent the kubeconfig's token" \
	grep -q '"authorization": "Bearer e2e-token"' "$K8S/requests.jsonl"

# ---- 1b. apilb doctor compares the EndpointSlice with what is in use --------------------------
doc=$(lb doctor --vip "$VIP4" --backend "$(be4 api1)" --probe-ca "$LAB_CA" --state-dir "$STATE_DIR" \
	--kubeconfig "$K8S/kubeconfig" --data-dir "$DATA" --kubelet-kubeconfig "" 2>&1)
check doctor.list "doctor LISTs the slice" \
	contains "$doc" "discovery: the kubernetes EndpointSlice lists 3 ready apiservers"
check doctor.inuse "doctor names api2: in use, not in the slice" \
	contains "$doc" "in use by apilb run (health.json) but not in the EndpointSlice: $(be4 api2)"
check doctor.persisted "doctor: discovered.json differs from the slice" \
	contains "$doc" "discovered.json differs: not saved none; saved but gone $(be4 api2)"
contains "$doc" "discovery in use:" || printf '%s\n' "$doc" | sed 's/^/    | /'

# ---- 2. a MODIFIED event without api3: it drains (download intact), then is removed ----------
require drain.dl "a download through the VIP on api3" download_on api3 "$LAB_DIR/dl.bin" 2M
t0=$(now_ms)
touch "$K8S/remove"
check drain.state "api3 is draining after the MODIFIED event" wait_addr "$(be4 api3)" draining 5
drain_ms=$(($(now_ms) - t0))
echo "FIGURE discovery.modified_to_draining_ms=$drain_ms"
check drain.flowkept "api3 still listed while its download runs" listed "$(be4 api3)"
check drain.table "api3 is out of the published table" \
	not bash -c "jq -e --arg a '$(be4 api3)' '.table | index(\$a)' '$STATE_DIR/health.json' >/dev/null"
out=$(spread 15 "https://$VIP4/version")
expect_eq drain.nonew "new connections to api3 while it drains (of 15)" "$(count_of api3 <<<"$out")" 0
wait "$DL_PID" 2>/dev/null
read -r dl_rc dl_size _ <"$LAB_DIR/dl.bin.w"
expect_eq drain.download "download from the leaving api3 (curl rc)" "$dl_rc" 0
expect_eq drain.bytes "downloaded bytes" "$dl_size" "$(stat -c %s "$LAB_DIR/www/rand.bin")"
t1=$(now_ms)
check drain.removed "api3 removed once its flows ended" wait_addr "$(be4 api3)" "" 5
echo "FIGURE discovery.download_end_to_removed_ms=$(($(now_ms) - t1))"
check drain.log "the removal is logged" grep -q "backend $(be4 api3): left the EndpointSlice and has no flows left: removing" "$LAB_DIR/daemon.log"
in_datapath() { lb backend list 2>/dev/null | grep -qF "$1"; }
gone_from_datapath() {
	local i
	for i in $(seq 20); do
		in_datapath "$1" || return 0
		sleep 0.1
	done
	return 1
}
check drain.backends "api3 gone from the datapath" gone_from_datapath "$(be4 api3)"
expect_eq drain.persist "discovered.json after the event" "$(persisted)" "$(sorted "$BAD" "$(be4 api1)" "$(be4 api2)")"

# ---- 3. restart with the apiserver of the watch gone: the persisted set is the start ---------
daemon_stop TERM
kill "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID" 2>/dev/null
mv "$LAB_DIR/daemon.log" "$LAB_DIR/daemon.1.log"
run_disc
check restart.api2 "api2 (persisted only) healthy after the restart" wait_addr "$(be4 api2)" healthy 10
check restart.api1 "api1 (static) healthy" wait_addr "$(be4 api1)" healthy 5
check restart.log "the persisted set was loaded" grep -q "discovery: starting with the 3 apiservers persisted" "$LAB_DIR/daemon.log"
check restart.watcherr "the unreachable apiserver is logged as a watch problem" \
	grep -q "discovery: network: connect" "$LAB_DIR/daemon.log"
out=$(spread 20 "https://$VIP4/version")
expect_ge restart.traffic "new connections to api2 (of 20)" "$(count_of api2 <<<"$out")" 1
expect_eq restart.errors "failed requests (of 20)" "$(grep -c '^error' <<<"$out")" 0

# ---- 4. /readyz answers 401: "credentials", not dead -----------------------------------------
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" readyz api2 401
check cred.state "api2 answering 401 drains (not dead)" wait_addr "$(be4 api2)" draining 6
expect_eq cred.result "health.json result" \
	"$(health | jq -r --arg a "$(be4 api2)" '.backends[] | select(.address==$a) | .result')" credentials
st=$(lb status --state-dir "$STATE_DIR" 2>&1)
check cred.status "apilb status shows the credentials reason" contains "$st" "HTTP 401 credentials:"
m=$(in_node curl -sS --max-time 5 http://127.0.0.1:9810/metrics)
check cred.metrics "metrics count it under reason=credentials" \
	contains "$m" "apilb_probe_failures_total{backend=\"$(be4 api2)\",reason=\"credentials\"}"
check cred.log "the transition names credentials" \
	grep -q "backend $(be4 api2): healthy -> draining (2 consecutive failures, last: credentials" "$LAB_DIR/daemon.log"
"$E2E_REPO/scripts/lab-ctl.sh" "$PREFIX" readyz api2 200
daemon_stop TERM
