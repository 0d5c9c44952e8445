# SPDX-License-Identifier: Apache-2.0
# apilb_podman: podman with the options these machines need (vfs storage, cgroupfs, runc; the
# default crun fails on setrlimit) and a containers.conf without default ulimits. Sourced by
# scripts/image.sh and tests/e2e/image.sh.
APILB_CONTAINERS_CONF=${APILB_CONTAINERS_CONF:-/run/apilb-containers.conf}
if [ ! -s "$APILB_CONTAINERS_CONF" ]; then
	printf '[containers]\ndefault_ulimits = []\n' >"$APILB_CONTAINERS_CONF"
fi
apilb_podman() {
	CONTAINERS_CONF=$APILB_CONTAINERS_CONF podman --storage-driver vfs --cgroup-manager cgroupfs \
		--runtime runc "$@"
}
