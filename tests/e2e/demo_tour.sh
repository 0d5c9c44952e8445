#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: the README's first command, `scripts/demo.sh`, as a user runs it (dependencies and the
# build step included, a no-op on a built tree), on a lab of its own name (DEMO_PREFIX). Checks
# that what the tour shows is true, not its wording: every request through the VIP answered, by
# all three apiservers, the client seeing the VIP and the backends the node's address (no SNAT);
# the kill of api2 rerouted within 2 s and api2 absent afterwards; the idle connection on api3
# ended by apilb (its socket destroyed); `apilb status` showing the health; everything healthy at
# the end; TcpInCsumErrors 0; `scripts/demo.sh down`
# leaves no namespace, pin, lab file or daemon behind; a bad argument exits 2.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init_nolab demo_tour
export DEMO_PREFIX="apilbt-$$-demo" BUILD_DIR=$APILB_BUILD_DIR APILB
demo() { "$E2E_REPO/scripts/demo.sh" "$@"; }
# The demo leaves its lab up on purpose: take it down whatever happens (idempotent), then the tally.
trap 'rc=$?; demo down >/dev/null 2>&1; (exit $rc); e2e_cleanup' EXIT
lab_gone() {
	! ip netns list | awk '{print $1}' | grep -q "^$DEMO_PREFIX-" &&
		[ ! -e "$(lab_pin_dir "$DEMO_PREFIX")" ] && [ ! -e "$(lab_dir "$DEMO_PREFIX")" ]
}

demo bogus >/dev/null 2>&1
expect_eq bad.arg "exit code of demo.sh bogus" "$?" 2
check bad.nothing "a refused demo set nothing up" lab_gone

out=$(demo 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    | /'
expect_eq run.rc "exit code of scripts/demo.sh" "$rc" 0
require run.lab "the demo's lab is up" test -s "$(lab_dir "$DEMO_PREFIX")/lab.env"
# shellcheck disable=SC1090
. "$(lab_dir "$DEMO_PREFIX")/lab.env"
NODE_NS=$LAB_NODE_NS

# Step 1: "request  N from NODE:PORT -> answered by apiX  (client saw peer VIP)".
reqs=$(grep -E '^  request +[0-9]+ from ' <<<"$out")
expect_eq spread.count "requests shown" "$(grep -c . <<<"$reqs")" 30
expect_eq spread.errors "requests that failed" "$(grep -c 'answered by error' <<<"$reqs")" 0
expect_eq spread.peer "requests whose client saw another peer than the VIP $LAB_VIP4" \
	"$(grep -vc "client saw peer $LAB_VIP4)\$" <<<"$reqs")" 0
for s in "${LAB_APIS[@]}"; do
	expect_ge "spread.$s" "requests answered by $s" "$(grep -c "answered by $s " <<<"$reqs")" 1
done
expect_eq spread.nosnat "the backends' view of the client (access logs)" \
	"$(sed -n 's/^  backends logged the client as: //p' <<<"$out")" "30 $LAB_NODE4"

# Step 2: api2 killed while requests flow.
last_fail=$(sed -n 's/^  -> last failed request started \([0-9]*\) ms after the kill.*/\1/p' <<<"$out")
expect_ge kill.shown "the kill's summary line is there (last failed request, ms)" "${last_fail:--1}" 0
check kill.rerouted "the last failed request started within 2000 ms of the kill ($last_fail ms)" \
	test "${last_fail:-99999}" -le 2000
served=$(sed -n 's/^  -> last failed request .* were\s*all served: //p' <<<"$out")
check kill.after "requests after the last failure served by api1 and api3 only ($served)" \
	bash -c '[[ "$0" =~ api1|api3 ]] && [[ ! "$0" =~ api2|refused ]]' "$served"
check kill.dead "api2 shown dead in the metrics" \
	grep -qE 'apilb_backend_state\{.*state="dead"\} 1' <<<"$out"

# Step 3: the idle connection on api3 ends when api3 is declared dead: apilb destroys its socket
# (the TLS client reads that as EOF or a reset).
idle=$(grep -E '^  -> the idle client.s connection ended' <<<"$out")
idle_ms=$(sed -n 's/.* ended \([0-9]*\) ms later.*/\1/p' <<<"$idle")
check reset.ended "the idle connection ended within 5000 ms of api3's refusals ($idle)" \
	test "${idle_ms:-99999}" -le 5000
check reset.how "it ended by EOF or a reset" grep -qE 'later \((EOF|Connection(Reset|Aborted)Error)' <<<"$idle"
check reset.destroyed "the daemon destroyed that socket (log)" \
	grep -qE '198\.18\.0\.13:6443: terminated 1 flows \(1 local sockets destroyed' <<<"$out"
check reset.metric "apilb_flows_reset_total counted it" \
	grep -qE '^  apilb_flows_reset_total\{backend="198\.18\.0\.13:6443"\} 1$' <<<"$out"

# The status steps read the daemon's health file: api2 dead after the kill.
check status.health "the status step shows the health (HEALTH column)" grep -qE '^  ID +ADDRESS .* HEALTH' <<<"$out"
check status.dead "api2 shown dead in apilb status after the kill" \
	grep -qE '^  1 +198\.18\.0\.12:6443 .* dead' <<<"$out"

# Step 4: both back; the daemon still runs and says so.
st=$("$APILB" --netns "$NODE_NS" --pin-dir "$(lab_pin_dir "$DEMO_PREFIX")" status --json \
	--state-dir "$(lab_dir "$DEMO_PREFIX")/state" 2>&1)
expect_eq back.healthy "backends healthy in apilb status --json after the tour" \
	"$(jq '[.backends[] | select(.health.state == "healthy")] | length' <<<"$st" 2>&1)" 3
check back.request "a request through the VIP after the tour" \
	ip netns exec "$NODE_NS" curl -sf --max-time 5 --cacert "$LAB_CA" "https://$LAB_VIP4:$LAB_PORT/version" -o /dev/null
PREFIX=$DEMO_PREFIX e2e_csum_check

daemon_pid=$(cat "$(lab_dir "$DEMO_PREFIX")/daemon.pid")
demo down >/dev/null 2>&1
expect_eq down.rc "exit code of demo.sh down" "$?" 0
check down.gone "demo.sh down removed the namespaces, pins and lab files" lab_gone
st=$(awk '{print $3}' "/proc/$daemon_pid/stat" 2>/dev/null)
check down.daemon "demo.sh down waited for the daemon (pid $daemon_pid) to exit (state '${st:-gone}')" \
	test "${st:-Z}" = Z
