# SPDX-License-Identifier: Apache-2.0
# Sourced by the scripts that need root (test.sh, demo.sh, bench.sh, bench-bpf.sh, fuzz.sh, lab-up.sh):
# they work as written both as root (no sudo needed, e.g. a fresh container) and as a user with sudo.
#
#   KEEP_ENV="BUILD_DIR LABELS"   # the environment knobs the script reads (optional)
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/root.sh"
#   as_root "$@"

# as_root ARGS...: returns when already root; otherwise re-executes the calling script through
# sudo with the same arguments and the variables named in $KEEP_ENV (sudo resets the environment).
# Without root and without sudo: a one-line message and exit 2.
as_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	local name self v
	name=$(basename "$0" .sh)
	self=$(readlink -f "$0")
	if ! command -v sudo >/dev/null 2>&1; then
		echo "$name: must run as root (BPF, network namespaces) and sudo is not installed" >&2
		exit 2
	fi
	local vars=()
	for v in ${KEEP_ENV:-}; do
		[ -n "${!v+x}" ] && vars+=("$v=${!v}")
	done
	echo "$name: not root, re-running through sudo" >&2
	exec sudo -- env "${vars[@]}" "$self" "$@"
}
