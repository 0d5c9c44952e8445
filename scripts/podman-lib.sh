# SPDX-License-Identifier: Apache-2.0
# apilb_podman: podman with the options these machines need (vfs storage, cgroupfs, runc; the
# default crun fails on setrlimit) and a containers.conf without default ulimits. Sourced by
# scripts/image.sh and tests/e2e/image.sh.
# APILB_PODMAN_ROOT=DIR: a private store (DIR/storage, DIR/run) instead of podman's default one;
# the e2e test uses it so it never touches (or depends on) the machine's store. Note: the first
# podman command on a store fixes its driver; a default store created without
# `--storage-driver vfs` (e.g. a plain `podman images`) must be removed before this works.
APILB_CONTAINERS_CONF=${APILB_CONTAINERS_CONF:-/run/apilb-containers.conf}
if [ ! -s "$APILB_CONTAINERS_CONF" ]; then
	printf '[containers]\ndefault_ulimits = []\n' >"$APILB_CONTAINERS_CONF"
fi
apilb_podman() {
	local store=()
	[ -z "${APILB_PODMAN_ROOT:-}" ] ||
		store=(--root "$APILB_PODMAN_ROOT/storage" --runroot "$APILB_PODMAN_ROOT/run")
	CONTAINERS_CONF=$APILB_CONTAINERS_CONF podman "${store[@]}" --storage-driver vfs \
		--cgroup-manager cgroupfs --runtime runc "$@"
}
