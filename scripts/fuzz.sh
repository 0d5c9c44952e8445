#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The long fuzzing run: builds the libFuzzer harnesses (clang++, ASan/UBSan, LB_FUZZ=ON) in
# $BUILD_DIR/cfg-clang-san (the same tree scripts/test.sh checks) and runs each harness for RUNS
# inputs (default 1000000) from the seed corpus tests/fuzz/corpus/<harness>, through
# tests/fuzz/run.sh (which also fails on kernel warnings in dmesg). New inputs accumulate in
# $BUILD_DIR/fuzz/corpus-<harness>, crash inputs go to $BUILD_DIR/fuzz/. CI runs a short seeded
# run of the same harnesses (ctest label "fuzz", from scripts/test.sh).
# Needs root (BPF_PROG_TEST_RUN): re-runs itself through sudo when not root.
#
# --optimized: build and run the harnesses with -O2 (RelWithDebInfo, same sanitizers) in
# $BUILD_DIR/cfg-clang-san-o2 instead: several times the inputs per second of the Debug build
# (config: 180/s Debug vs the figure in docs/reliability.md on a loaded 2-vCPU VM).
#
# Usage: scripts/fuzz.sh [--runs N] [--no-build] [--optimized] [HARNESS...]   HARNESS: datapath,
#        config (default both); extra libFuzzer flags in FUZZ_FLAGS, e.g. FUZZ_FLAGS=-jobs=2
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
KEEP_ENV="BUILD_DIR FUZZ_FLAGS JOBS"
# shellcheck source=scripts/lib/root.sh
. scripts/lib/root.sh
as_root "$@"
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
dir="$repo/$BUILD_DIR/cfg-clang-san"
build_type=Debug
runs=1000000
build=1
harnesses=()
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?}; shift ;;
	--no-build) build=0 ;;
	--optimized) dir="$repo/$BUILD_DIR/cfg-clang-san-o2" build_type=RelWithDebInfo ;;
	datapath | config) harnesses+=("$1") ;;
	*) echo "usage: $0 [--runs N] [--no-build] [--optimized] [datapath|config...]" >&2; exit 2 ;;
	esac
	shift
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: --runs must be a positive number" >&2; exit 2; }
[ ${#harnesses[@]} -gt 0 ] || harnesses=(datapath config)

if [ $build -eq 1 ]; then
	CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=$build_type -DLB_SANITIZE=ON \
		-DLB_FUZZ=ON >/dev/null
	cmake --build "$dir" -j "$JOBS" --target "${harnesses[@]/%/_fuzz}"
fi
out="$repo/$BUILD_DIR/fuzz"
mkdir -p "$out"
rc=0
for h in "${harnesses[@]}"; do
	echo "fuzz: $h: $runs inputs"
	t0=$SECONDS
	# shellcheck disable=SC2086
	CORPUS_DIR="$out/corpus-$h" ARTIFACT_DIR="$out" tests/fuzz/run.sh "$dir/tests/fuzz/${h}_fuzz" \
		tests/fuzz/corpus/$h "$runs" ${FUZZ_FLAGS:-} 2>"$out/$h.log" || rc=1
	grep -E '^Done|stat::(number_of_executed_units|average_exec_per_sec)|no kernel warning|FAIL' \
		"$out/$h.log" || true
	echo "fuzz: $h: $((SECONDS - t0)) s, log $out/$h.log"
	[ $rc -eq 0 ] || grep -E 'ERROR|SUMMARY|_fuzz:|artifact' "$out/$h.log" | head -20 >&2
done
exit $rc
