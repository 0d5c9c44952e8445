#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test of apilb: installs dependencies, builds (scripts/build.sh), mounts bpffs on
# /sys/fs/bpf if needed, then runs the ctest labels unit, bpf and e2e. Then checks the other build
# configurations (unless EXTRA_CONFIGS=0): GCC Release (the apilb target, compile only) in
# $BUILD_DIR/cfg-release, and clang++ with ASan/UBSan and the libFuzzer harnesses (whole tree,
# Debug) in $BUILD_DIR/cfg-clang-san, where the labels unit, bpf and fuzz run again (fuzz: a short
# seeded run of each harness). Fails if any build failed, or any test failed, was skipped or did
# not run, or if no test ran at all. Ends with the line "N passed, N failed" (both runs).
# Needs root (BPF, network namespaces): re-runs itself through sudo when not root.
# CI runs it through .ci/run.
#
# Usage: scripts/test.sh [extra ctest args for the main run, e.g. -R e2e_spread]
#        EXTRA_CONFIGS=0 scripts/test.sh    skip the Release and clang/sanitizer configurations
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
KEEP_ENV="BUILD_DIR LABELS EXTRA_CONFIGS JOBS"
# shellcheck source=scripts/lib/root.sh
. scripts/lib/root.sh
as_root "$@"
BUILD_DIR=${BUILD_DIR:-build}
LABELS=${LABELS:-'^(unit|bpf|e2e)$'}
EXTRA_CONFIGS=${EXTRA_CONFIGS:-1}
SAN_LABELS='^(unit|bpf|fuzz)$'
JOBS=${JOBS:-$(nproc)}

scripts/install-deps.sh
# ccache (from install-deps.sh) makes a re-run rebuild only what changed, in all three trees.
if [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ] && command -v ccache >/dev/null; then
	export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
scripts/build.sh

mounted_bpffs=0
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
	mounted_bpffs=1
	echo "test: mounted bpffs on /sys/fs/bpf"
fi
# sweep_labs: tear down e2e labs (apilbt-<pid>-NAME) whose test process is gone, e.g. killed by
# ctest's timeout before its EXIT trap could run. Labs of live processes are left alone.
sweep_labs() {
	local p pid
	for p in $(ip netns list | awk '{print $1}' |
		sed -n 's/^\(apilbt-[0-9]*-.*\)-\(node\|br\|api[0-9]\)$/\1/p' | sort -u); do
		pid=${p#apilbt-}
		pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null && continue
		echo "test: removing leftover lab $p"
		scripts/lab-down.sh "$p" >/dev/null || true
	done
}
cleanup() {
	sweep_labs
	# Unmount only what this script mounted, and only if nothing was left pinned in it.
	if [ $mounted_bpffs -eq 1 ] && [ -z "$(ls -A /sys/fs/bpf 2>/dev/null)" ]; then
		umount /sys/fs/bpf || true
	fi
}
trap cleanup EXIT

junit="$repo/$BUILD_DIR/ctest-junit.xml"
rm -f "$junit"
others=$(cd "$BUILD_DIR" && ctest -N -LE "$LABELS" | grep -c 'Test *#' || true)
[ "$others" -eq 0 ] || echo "test: note: $others registered tests carry none of the labels $LABELS"

set +e
(cd "$BUILD_DIR" && ctest --output-on-failure -j 2 -L "$LABELS" --output-junit "$junit" "$@")
ctest_rc=$?
set -e

if [ ! -s "$junit" ]; then
	echo "test: ctest wrote no report ($junit); ctest exit code $ctest_rc" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
reports=("main=$junit")

# config_build NAME TARGET CMAKE_ARGS...: configures and builds $BUILD_DIR/cfg-NAME (TARGET "all"
# for the whole tree); on failure prints the log's tail and counts one failure.
build_failures=0
config_build() {
	local name=$1 target=$2 dir="$BUILD_DIR/cfg-$1" t0=$SECONDS
	shift 2
	mkdir -p "$dir"
	if cmake -S . -B "$dir" "$@" >"$dir/test-cmake.log" 2>&1 &&
		cmake --build "$dir" -j "$JOBS" --target "$target" >"$dir/test-build.log" 2>&1; then
		echo "test: config $name: built $target in $((SECONDS - t0)) s"
		return 0
	fi
	tail -30 "$dir/test-cmake.log" "$dir/test-build.log" >&2
	echo "test: FAIL: config $name did not build (logs in $dir)" >&2
	build_failures=$((build_failures + 1))
	return 1
}

if [ "$EXTRA_CONFIGS" != 0 ]; then
	config_build release apilb -DCMAKE_BUILD_TYPE=Release -DLB_BUILD_TESTS=OFF -DLB_BUILD_BENCH=OFF ||
		true
	if CC=clang CXX=clang++ config_build clang-san all -DCMAKE_BUILD_TYPE=Debug -DLB_SANITIZE=ON \
		-DLB_FUZZ=ON; then
		san_junit="$repo/$BUILD_DIR/cfg-clang-san/ctest-junit.xml"
		rm -f "$san_junit"
		set +e
		(cd "$BUILD_DIR/cfg-clang-san" &&
			ctest --output-on-failure -j 2 -L "$SAN_LABELS" --output-junit "$san_junit")
		san_rc=$?
		set -e
		if [ -s "$san_junit" ]; then
			reports+=("clang-san=$san_junit")
		else
			echo "test: FAIL: sanitizer ctest wrote no report; exit code $san_rc" >&2
			build_failures=$((build_failures + 1))
		fi
		[ "$san_rc" -eq 0 ] || ctest_rc=$san_rc
	fi
else
	echo "test: EXTRA_CONFIGS=0: Release, clang++ and sanitizer configurations not checked"
fi

# Tally ctest's JUnit reports (main run, then the sanitizer run). status="run" is a pass unless GoogleTest printed "[  SKIPPED ]"
# (GTEST_SKIP exits 0); "notrun" covers SKIP_RETURN_CODE and missing executables.
read -r passed failed skipped total < <(python3 - "${reports[@]}" <<'PY'
import sys, xml.etree.ElementTree as ET
p = f = s = 0
for arg in sys.argv[1:]:
    run, path = arg.split("=", 1)
    rp = rf = 0
    for c in ET.parse(path).getroot().iter("testcase"):
        st = c.get("status")
        out = "".join(c.itertext())
        if st == "run" and "[  SKIPPED ]" not in out:
            rp += 1
        elif st == "fail":
            rf += 1
            print(f"test: failed ({run}): {c.get('name')}", file=sys.stderr)
        else:
            s += 1
            print(f"test: skipped or not run ({run}): {c.get('name')}", file=sys.stderr)
    print(f"test: {run}: {rp} passed, {rf} failed", file=sys.stderr)
    p += rp
    f += rf
print(p, f, s, p + f + s)
PY
)

rc=0
if [ "$total" -eq 0 ]; then
	echo "test: FAIL: no test ran" >&2
	rc=1
fi
if [ "$skipped" -gt 0 ]; then
	echo "test: FAIL: $skipped tests skipped or not run (every test must run here)" >&2
	rc=1
fi
[ "$failed" -eq 0 ] && [ "$ctest_rc" -eq 0 ] && [ "$build_failures" -eq 0 ] || rc=1
# Kernel matrix: one kernel other than the host's (bookworm's 6.1) under qemu; one more test in
# the tally. Not run when ctest args select a subset; the whole matrix: scripts/kernel-matrix.sh.
if [ $# -eq 0 ]; then
	if KM_NO_BUILD=1 scripts/kernel-matrix.sh ${KERNEL_MATRIX:-bookworm}; then passed=$((passed + 1)); else failed=$((failed + 1)) rc=1; fi
else echo "test: kernel matrix not run (ctest args given: $*)"; fi
echo "$passed passed, $((failed + skipped + build_failures)) failed"
exit $rc
