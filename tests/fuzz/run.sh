#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs one libFuzzer harness for RUNS inputs, starting from SEED_DIR (read only; new inputs go to
# CORPUS_DIR, default a temporary directory), crash inputs to ARTIFACT_DIR (default the current
# directory). Fails if the harness fails, or if the kernel logged a WARNING/BUG/Oops/KASAN/UBSAN
# line while it ran (checked when /dev/kmsg is writable, i.e. as root: a marker line is written
# before the run and dmesg is read after it). Exit 77 = the harness skipped (no privileges).
#
# Usage: run.sh FUZZER SEED_DIR RUNS [libFuzzer flags...]
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 FUZZER SEED_DIR RUNS [libFuzzer flags...]" >&2; exit 2; }
fuzzer=$1 seeds=$2 runs=$3
shift 3
name=$(basename "$fuzzer")
corpus=${CORPUS_DIR:-}
if [ -z "$corpus" ]; then
	corpus=$(mktemp -d)
	trap 'rm -rf "$corpus"' EXIT
fi
mkdir -p "$corpus" "${ARTIFACT_DIR:-.}"

marker=""
if [ -w /dev/kmsg ]; then
	marker="apilb-fuzz $name start $$ $(date +%s%N)"
	echo "$marker" >/dev/kmsg
fi

rc=0
# -error_exitcode: libFuzzer's default (77) would read as "skipped" to ctest.
"$fuzzer" -runs="$runs" -max_len=4096 -timeout=10 -error_exitcode=1 -timeout_exitcode=1 \
	-artifact_prefix="${ARTIFACT_DIR:-.}/$name-" -print_final_stats=1 "$@" "$corpus" "$seeds" ||
	rc=$?
[ $rc -eq 77 ] && { echo "$name: skipped (needs root)"; exit 77; }

if [ -n "$marker" ]; then
	warnings=$(dmesg | sed -n "\|$marker|,\$p" |
		grep -E 'WARNING|BUG|Oops|general protection|KASAN|UBSAN|RCU stall' || true)
	if [ -n "$warnings" ]; then
		echo "$name: FAIL: kernel warnings during the run:" >&2
		echo "$warnings" >&2
		rc=1
	else
		echo "$name: no kernel warning in dmesg during the run"
	fi
else
	echo "$name: dmesg not checked (not root)"
fi
exit $rc
