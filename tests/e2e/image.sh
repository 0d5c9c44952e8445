#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (image): scripts/image.sh packs the binary under test into an OCI archive (FROM scratch,
# Debian runtime libraries, no shell); `podman load -i` accepts it; the image runs `apilb run`
# the way the DaemonSet does (privileged, in the lab node's network namespace, host bpffs
# mounted, /run/apilb from the host side) with its own pin dir, attaches, and the VIP spreads
# new connections over api1..3. The liveness command of the manifests works by exec without a
# shell; there is no /bin/sh in the image. Stopping the container leaves the datapath forwarding
# (as a DaemonSet rollout does); `apilb detach` then removes it. The container and the image are
# removed on exit (a private podman store under the lab dir). Figures: image size, archive size.
# Caches: the rootfs (mmdebstrap of the runtime libraries) under build/image/ (the first run needs
# the Debian mirror, ~35 s more) and the archive under <build dir>/image-e2e/ (rebuilt, ~50 s on
# a loaded 2-core machine, only when the binary changed). Podman's options: scripts/podman-lib.sh.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_REPO/tests/daemon/e2e_lib.sh"
e2e_init image
# shellcheck source=scripts/podman-lib.sh
. "$E2E_REPO/scripts/podman-lib.sh"

NAME="apilbt-$$-image"
IMAGE="localhost/apilb-e2e:latest"
# The archive is kept next to the binary's build tree: scripts/image.sh reuses it while the
# binary, the rootfs and the Containerfile are unchanged (<archive>.inputs).
ARCHIVE="$(cd "$(dirname "$APILB")/../.." && pwd)/image-e2e/apilb-e2e.oci.tar"
# A private podman store under the lab dir: the machine's store is neither used nor needed, and
# the image name cannot clash with another run's.
export APILB_PODMAN_ROOT="$LAB_DIR/containers"
image_cleanup() {
	local rc=$?
	apilb_podman rm -f -t 2 "$NAME" >/dev/null 2>&1
	apilb_podman rmi -f "$IMAGE" >/dev/null 2>&1
	rm -rf "$APILB_PODMAN_ROOT"
	(exit $rc)
	e2e_cleanup
}
trap image_cleanup EXIT
have() { command -v "$1" >/dev/null; }
for t in podman runc mmdebstrap; do
	require setup "$t installed (scripts/install-deps.sh)" have "$t"
done

# ---- build, load --------------------------------------------------------------------------
t0=$(now_ms)
require build "scripts/image.sh builds the archive" e2e_quiet env APILB_BIN="$APILB" \
	APILB_IMAGE_NAME="$IMAGE" APILB_IMAGE_OUT="$ARCHIVE" "$E2E_REPO/scripts/image.sh"
echo "    image built in $(($(now_ms) - t0)) ms"
require load "podman load -i accepts the archive" e2e_quiet apilb_podman load -i "$ARCHIVE"
size=$(apilb_podman image inspect --format '{{.Size}}' "$IMAGE")
echo "FIGURE image.size_mb=$((size / 1000000)) archive_mib=$(du -m "$ARCHIVE" | cut -f1)"
expect_ge image.small "image size under 100 MB (MB left of the limit)" $((100 - size / 1000000)) 0
expect_eq image.entry "entrypoint" "$(apilb_podman image inspect --format '{{json .Config.Entrypoint}}' "$IMAGE")" '["/usr/bin/apilb"]'
check image.noshell "no /bin/sh in the image" \
	not apilb_podman run --rm --entrypoint /bin/sh "$IMAGE" -c true
expect_eq image.version "apilb version in the image" \
	"$(apilb_podman run --rm "$IMAGE" version 2>&1)" "$("$APILB" version)"

# ---- run it as the DaemonSet does -----------------------------------------------------------
mkdir -p "$LAB_DIR/run" "$LAB_DIR/lib"
require run "container started" e2e_quiet apilb_podman run -d --name "$NAME" --privileged \
	--network "ns:/run/netns/$NODE_NS" -v /sys/fs/bpf:/sys/fs/bpf \
	-v "$LAB_DIR/run:/run/apilb" -v "$LAB_DIR/lib:/var/lib/apilb" -v "$LAB_CA:/etc/apilb/ca.crt:ro" \
	"$IMAGE" --pin-dir "$PIN" run --vip "$VIP4" --backend "$(be4 api1)" --backend "$(be4 api2)" \
	--backend "$(be4 api3)" --probe-ca /etc/apilb/ca.crt --metrics-addr 127.0.0.1:9810
healthy() {
	[ "$(jq '.backends | length == 3 and all(.state == "healthy")' "$LAB_DIR/run/health.json" 2>/dev/null)" = true ]
}
for _ in $(seq 100); do healthy && break; sleep 0.1; done
if ! check run.healthy "the container's daemon sees api1..3 healthy" healthy; then
	apilb_podman logs "$NAME" 2>&1 | sed 's/^/    | /'
fi
check run.attached "the datapath is attached in the node namespace (apilb0)" has_link apilb0
check run.iface "interfaces from the routes to the backends (eth0, a veth: lb_rev_tc by --ingress auto)" \
	has_tc_filter eth0
out=$(spread 30 "https://$VIP4/version")
echo "$out" | sort | uniq -c | sed 's/^/    /'
expect_eq traffic.errors "failed requests through the VIP" "$(grep -c '^error' <<<"$out")" 0
for s in api1 api2 api3; do
	expect_ge "traffic.$s" "requests served by $s" "$(count_of "$s" <<<"$out")" 1
done
check liveness "the manifests' liveness command (apilb status), exec without a shell" \
	e2e_quiet apilb_podman exec "$NAME" /usr/bin/apilb --pin-dir "$PIN" status
check metrics "/metrics from the container (node namespace, 127.0.0.1:9810)" \
	in_node curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:9810/metrics

# ---- a rollout stops the pod: the datapath keeps forwarding ----------------------------------
check stop "podman stop (SIGTERM)" e2e_quiet apilb_podman stop -t 10 "$NAME"
expect_eq stop.exit "the daemon's exit code" "$(apilb_podman inspect --format '{{.State.ExitCode}}' "$NAME")" 0
check stop.forwarding "the VIP answers with the container stopped" vip_answers
check detach "apilb detach removes the datapath the container attached" e2e_quiet lb detach
nothing_attached detach
