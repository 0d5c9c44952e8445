#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test of apilb: installs dependencies, builds (scripts/build.sh), mounts bpffs on
# /sys/fs/bpf if needed, then runs the ctest labels unit, bpf and e2e. Fails if any test failed,
# was skipped or did not run, or if no test ran at all. Ends with the line "N passed, N failed".
# Must run as root (BPF, network namespaces). CI runs it through .ci/run.
#
# Usage: sudo scripts/test.sh [extra ctest args, e.g. -R e2e_spread]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
LABELS=${LABELS:-'^(unit|bpf|e2e)$'}

if [ "$(id -u)" -ne 0 ]; then
	echo "test: must run as root (BPF programs, network namespaces): sudo $0" >&2
	exit 2
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
# Tally ctest's JUnit report. status="run" is a pass unless GoogleTest printed "[  SKIPPED ]"
# (GTEST_SKIP exits 0); "notrun" covers SKIP_RETURN_CODE and missing executables.
read -r passed failed skipped total < <(python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
p = f = s = 0
names = []
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
for c in cases:
    st = c.get("status")
    out = "".join(c.itertext())
    if st == "run" and "[  SKIPPED ]" not in out:
        p += 1
    elif st == "fail":
        f += 1
    else:
        s += 1
        names.append(c.get("name"))
for n in names:
    print("test: skipped or not run:", n, file=sys.stderr)
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
[ "$failed" -eq 0 ] && [ "$ctest_rc" -eq 0 ] || rc=1
# Kernel matrix: one kernel other than the host's (bookworm's 6.1) under qemu; one more test in
# the tally. Not run when ctest args select a subset; the whole matrix: scripts/kernel-matrix.sh.
if [ $# -eq 0 ]; then
	if KM_NO_BUILD=1 scripts/kernel-matrix.sh ${KERNEL_MATRIX:-bookworm}; then passed=$((passed + 1)); else failed=$((failed + 1)) rc=1; fi
else echo "test: kernel matrix not run (ctest args given: $*)"; fi
echo "$passed passed, $((failed + skipped)) failed"
exit $rc
