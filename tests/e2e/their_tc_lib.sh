# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers for "someone else's" tc program (their_tc.bpf.c), sourced by the tests that share a hook
# with apilb's (tests/ctl/attach_lab.sh, tests/e2e/tc_first.sh).

# their_build OUT: compiles their_tc.bpf.c to the object OUT.
their_build() {
	clang -O2 -g -target bpf -idirafter /usr/include/"$(uname -m)"-linux-gnu \
		-c "$(dirname "${BASH_SOURCE[0]}")/their_tc.bpf.c" -o "$1"
}

# their_count PROG_ID BYTE: packets the program PROG_ID counted from source addresses ending in
# BYTE (its map by_src; the map lives in the kernel, not in a namespace).
their_count() {
	local map
	map=$(bpftool prog show id "$1" -j | jq '.map_ids[0]')
	bpftool map lookup id "$map" key "$2" 0 0 0 -j | jq '.formatted.value'
}

# their_tcx_build OUT: compiles tcx_attach.c (attach an object's program to a tcx chain, at its
# head or tail) to the binary OUT.
their_tcx_build() {
	gcc -O2 -o "$1" "$(dirname "${BASH_SOURCE[0]}")/tcx_attach.c" -lbpf
}
