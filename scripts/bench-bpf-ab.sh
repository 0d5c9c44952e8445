#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A/B of a datapath change through apilb_bpfbench (scripts/bench-bpf.sh): builds the bench from
# the checkout (A) and from a temporary git worktree of HEAD with PATCH applied (B), then runs A
# and B alternately ROUNDS times on the same machine and prints each run's table, labelled. The
# patches under tests/bpfbench/experiments/ price ideas that were measured and not adopted
# (docs/datapath.md, "Ways to go lower"). Removes the worktree and its build, even on failure.
# With --in-place, A and B are the apilb CLI instead and each run is scripts/bench-conn.sh (the
# programs' cost per connection in a lab, caches as cold as real traffic leaves them), e.g.
#   sudo scripts/bench-bpf-ab.sh PATCH --in-place -- --mode tc --request --connects 5000 --batches 4
#
# Usage: sudo scripts/bench-bpf-ab.sh PATCH [--rounds R] [--build-dir DIR] [--in-place]
#                                     [-- bench-bpf.sh or, with --in-place, bench-conn.sh ARGS]
#        (defaults: 3 rounds; A built in build-bench, as bench-bpf.sh does)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib/root.sh
. "$here/lib/root.sh"
as_root "$@"
usage() { echo "usage: $0 PATCH [--rounds R] [--build-dir DIR] [--in-place] [-- bench-bpf.sh|bench-conn.sh ARGS]" >&2; exit 2; }
[ $# -ge 1 ] || usage
patch=$(readlink -f "$1") || usage
shift
[ -f "$patch" ] || { echo "bench-bpf-ab: no such patch: $patch" >&2; exit 2; }
rounds=3
build_a=$root/build-bench
inplace=0
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=${2:-}; shift ;;
	--build-dir) build_a=${2:-}; shift ;;
	--in-place) inplace=1 ;;
	--) shift; args=("$@"); break ;;
	*) usage ;;
	esac
	shift
done
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || { echo "bench-bpf-ab: --rounds is 1..99" >&2; exit 2; }

tree=$(mktemp -d /tmp/apilb-ab.XXXXXX)
cleanup() {
	git -C "$root" worktree remove --force "$tree/src" >/dev/null 2>&1 || true
	rm -rf "$tree"
}
trap cleanup EXIT
git -C "$root" worktree add -q --detach "$tree/src" HEAD
git -C "$tree/src" apply "$patch" ||
	{ echo "bench-bpf-ab: $patch does not apply to HEAD" >&2; exit 2; }
echo "bench-bpf-ab: A = $(git -C "$root" describe --always --dirty), B = A + $(basename "$patch"); building both"
# build_cli SRC DIR: the apilb CLI (skeleton included) of checkout SRC in DIR.
build_cli() {
	mkdir -p "$2"
	if ! cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$2/ab-cmake.log" 2>&1; then
		tail -20 "$2/ab-cmake.log" >&2
		exit 1
	fi
	if ! cmake --build "$2" --target apilb -j2 >"$2/ab-build.log" 2>&1; then
		tail -20 "$2/ab-build.log" >&2
		exit 1
	fi
}
if [ $inplace -eq 1 ]; then
	build_cli "$root" "$build_a"
	build_cli "$tree/src" "$tree/build"
else
	BENCH_BUILD_DIR=$build_a "$here/bench-bpf.sh" --quick >/dev/null
	BENCH_BUILD_DIR=$tree/build "$tree/src/scripts/bench-bpf.sh" --quick >/dev/null
fi
for r in $(seq "$rounds"); do
	for side in A B; do
		dir=$build_a
		[ $side = B ] && dir=$tree/build
		echo "== round $r, $side"
		if [ $inplace -eq 1 ]; then
			APILB=$dir/userspace/cli/apilb "$here/bench-conn.sh" "${args[@]}" | sed -n '/^batch/,$p'
		else
			BENCH_BUILD_DIR=$dir "$here/bench-bpf.sh" --no-build "${args[@]}" | sed -n '/^case/,/^flow maps after/p'
		fi
	done
done
