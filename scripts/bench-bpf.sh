#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# BPF cost per packet of the apilb programs (lb_fwd, lb_rev_xdp, lb_rev_tc) through
# BPF_PROG_TEST_RUN: forward hit, reverse hit (XDP and TC), misses. Builds and runs
# tests/bpfbench (apilb_bpfbench), which loads its own copy of the programs (nothing attached,
# nothing pinned) and checks through the per-reason counters that every run took the path it
# is reported under. Method and caveats: tests/bpfbench/bpf_bench.cpp and docs/bench.md.
# --fill PCT first fills the flow maps to PCT % of their size (a node with many flows; at 90 %
# the new flows of the "new flow" case run into LRU eviction).
#
# Usage: scripts/bench-bpf.sh [--quick] [--no-build] [--build-dir DIR] [--cpu N] [--fill PCT]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# shellcheck source=scripts/lib/root.sh
. "$here/lib/root.sh"
KEEP_ENV="BENCH_BUILD_DIR" as_root "$@"

build_dir=${BENCH_BUILD_DIR:-$root/build-bench}
argv="$*"
do_build=1
cpu=""
fill=""
args=(--loops 200000 --batches 15 --fresh 20000)
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) args=(--loops 50000 --batches 3 --fresh 2000) ;;
	--no-build) do_build=0 ;;
	--build-dir) build_dir=${2:?}; shift ;;
	--cpu) cpu=${2:?}; shift ;;
	--fill) fill=${2:?}; shift ;;
	*) echo "usage: $0 [--quick] [--no-build] [--build-dir DIR] [--cpu N] [--fill PCT]" >&2; exit 2 ;;
	esac
	shift
done

if [ $do_build -eq 1 ]; then
	mkdir -p "$build_dir"
	cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build_dir/bench-cmake.log" 2>&1 ||
		{ tail -20 "$build_dir/bench-cmake.log" >&2; exit 1; }
	make -C "$build_dir" -j2 apilb_bpfbench >"$build_dir/bench-bpfbench.log" 2>&1 ||
		{ tail -20 "$build_dir/bench-bpfbench.log" >&2; exit 1; }
fi
[ -z "$fill" ] || [[ "$fill" =~ ^([1-9][0-9]?|100)$ ]] ||
	{ echo "bench-bpf: --fill is a percentage, 1..100" >&2; exit 2; }
[ -n "$fill" ] && args+=(--fill "$fill")
bin="$build_dir/tests/bpfbench/apilb_bpfbench"
[ -x "$bin" ] || { echo "bench-bpf: $bin not built" >&2; exit 1; }

jit=$(cat /proc/sys/net/core/bpf_jit_enable 2>/dev/null || echo "?")
echo "kernel $(uname -r), bpf_jit_enable=$jit, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: scripts/bench-bpf.sh${argv:+ $argv}"
# Pinning to one CPU keeps the per-CPU caches and counters in one place (optional).
if [ -n "$cpu" ]; then
	taskset -c "$cpu" "$bin" "${args[@]}"
else
	"$bin" "${args[@]}"
fi
