#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: the short CI run of scripts/bench.sh (`--quick`: one round of 1-second runs of every
# target; the script builds and removes its own lab). Asserts that the report it writes means
# something, not its figures (those are the benchmark's business): a row for every target, each
# with requests served in both runs and no errors; the pass-through XDP program really was on the
# NIC during direct-xdp; the apilb-only comparisons are computed; `apilb status` saw the traffic
# and the daemon's health; the lab is gone afterwards; bad flags exit 2 before anything is built.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init_nolab bench_quick
out_dir=$(mktemp -d /tmp/apilb-bench-quick.XXXXXX)
trap 'rm -rf "$out_dir"; e2e_cleanup' EXIT
labs() { ip netns list | awk '{print $1}' | grep -c '^apilbb-' || true; }

labs_before=$(labs)
# The apilb under test, and the build's xdp_pass.bpf.o for direct-xdp.
out=$(BENCH_BUILD_DIR=$APILB_BUILD_DIR BENCH_APILB=$APILB "$E2E_REPO/scripts/bench.sh" \
	--quick --profile --no-deps --no-build --no-bpf --out "$out_dir" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    | /'
expect_eq run.rc "exit code of bench.sh --quick" "$rc" 0
md="$out_dir/bench.md"
check run.md "bench.md written" test -s "$md"
check run.png "bench.png written" test -s "$out_dir/bench.png"

# The results table: "| target | ka req/s med (min–max) | × | nc req/s med (min–max) | ... | errors |".
rows=$(awk -F' [|] ' '/^[|] target [|]/ {t = 1; next} t && /^[|]---/ {next} t && !/^[|]/ {exit} t' "$md")
expect_eq table.rows "rows of the results table (one per target)" "$(grep -c . <<<"$rows")" 12
while IFS= read -r row; do
	name=$(awk -F' [|] ' '{sub(/^[|] /, "", $1); print $1}' <<<"$row")
	ka=$(awk -F' [|] ' '{split($2, a, " "); print int(a[1])}' <<<"$row")
	nc=$(awk -F' [|] ' '{split($4, a, " "); print int(a[1])}' <<<"$row")
	errs=$(awk -F' [|] ' '{sub(/ [|]$/, "", $NF); print $NF}' <<<"$row")
	expect_ge "row.ka" "$name: keep-alive req/s" "$ka" 1
	expect_ge "row.nc" "$name: new-connection req/s" "$nc" 1
	expect_eq "row.errors" "$name: errors" "$errs" 0
done <<<"$rows"

check xdp.attached "xdp_pass was on the node's eth0 during direct-xdp" \
	grep -qE '^- direct-xdp: prog/xdp id [0-9]+ name xdp_pass on eth0' "$md"
for m in "keep-alive vs direct-xdp" "new-conn vs direct-xdp" "CPU per new conn vs direct-xdp"; do
	check "share.$m" "apilb-1 $m is computed" grep -qE "^[|] apilb-1 $m [|] [0-9.]+× [|]" "$md"
done
for m in "keep-alive vs apilb-tc-cls-1" "new-conn vs apilb-tc-cls-1" "CPU per new conn vs apilb-tc-cls-1"; do
	check "tcx.$m" "apilb-tc-1 $m is computed" grep -qE "^[|] apilb-tc-1 $m [|] [0-9.]+× [|]" "$md"
done

# --profile: each profiled target, both kinds: a section whose wrk served requests, with a finite
# total; a diff against direct for every target but direct; no "profile not taken" remark.
profiled="direct direct-xdp apilb-1 apilb-tc-1 apilb-tc-cls-1 apilb-sock-1 apilb"
for t in $profiled; do
	for kind in keep-alive new-connection; do
		first=$(awk -v h="## Profile: $kind run through $t (" 'index($0, h) == 1 {f = 1; next}
			f && /^wrk: / {print; exit}' "$md")
		rps=$(awk '{print int($2)}' <<<"$first")
		expect_ge "prof.rps" "$t $kind profile: req/s during the profile ($first)" "${rps:-0}" 1
		check "prof.total" "$t $kind profile: a finite CPU µs per request" \
			grep -qE '; total [0-9.]+ CPU µs per request' <<<"$first"
		[ "$t" = direct ] && continue
		check "prof.diff" "$t $kind: diff against direct" \
			grep -qF "## What $t adds over direct, $kind (" "$md"
	done
done
expect_eq prof.notes "profiles left out (\"profile not taken\" remarks)" "$(grep -c 'profile not taken' "$md")" 0
check status.proof "apilb status shows forwarded packets" grep -qE '^  fwd_new +[1-9]' "$md"
check status.health "apilb status reads the health of the run it was started by" \
	grep -qE '^health: +written .* \(apilb run, running\)' "$md"
expect_eq run.labs "bench labs left behind" "$(labs)" "$labs_before"

# Bad input: exit 2, nothing built.
"$E2E_REPO/scripts/bench.sh" --targets nope --no-deps >/dev/null 2>&1
expect_eq bad.target "exit code of bench.sh --targets nope" "$?" 2
"$E2E_REPO/scripts/bench.sh" --rounds 0 --no-deps >/dev/null 2>&1
expect_eq bad.rounds "exit code of bench.sh --rounds 0" "$?" 2
expect_eq bad.labs "bench labs left behind by the refused runs" "$(labs)" "$labs_before"
