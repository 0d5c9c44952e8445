#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the OCI image localhost/apilb:<version> (version: CMakeLists.txt's project VERSION) from
# Debian packages and the apilb build, without any registry, and saves it as an OCI archive
# build/apilb-<version>.oci.tar (`podman load -i` accepts it). As root.
#   1. builds apilb (APILB_BUILD_TYPE, default Release; APILB_BUILD_DIR, default
#      build/<type in lower case>) and strips it;
#   2. maps the binary's shared libraries (ldd) to their Debian packages (dpkg -S) and extracts
#      them with mmdebstrap --variant=extract into a rootfs tar, cached under build/image/ by the
#      package list (the first run takes ~35 s to a few minutes depending on the mirror);
#   3. podman build with deploy/Containerfile, podman save.
# Env: APILB_IMAGE_KEEP=1 keeps the image in podman's store (default: removed after saving).
# Prints the archive path and the image size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/podman-lib.sh
source scripts/podman-lib.sh

VERSION=$(sed -n 's/^project(apilb VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$VERSION" ] || { echo "image: no project VERSION in CMakeLists.txt" >&2; exit 1; }
TYPE=${APILB_BUILD_TYPE:-Release}
BDIR=${APILB_BUILD_DIR:-build/${TYPE,,}}
SUITE=${APILB_IMAGE_SUITE:-bookworm}
IMAGE=localhost/apilb:$VERSION
ARCHIVE=build/apilb-$VERSION.oci.tar

BUILD_TYPE=$TYPE BUILD_DIR=$BDIR scripts/build.sh apilb >&2
BIN=$BDIR/userspace/cli/apilb

ctx=$(mktemp -d build/image-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
strip --strip-unneeded -o "$ctx/apilb" "$BIN"

# Packages owning the binary's shared libraries (their dependencies come along).
pkgs=$(ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\//{print $3} $1 ~ /^\//{print $1}' | while read -r lib; do
	dpkg -S "$(realpath "$lib")" 2>/dev/null || dpkg -S "$lib"
done | cut -d: -f1 | sort -u | paste -sd,)
[ -n "$pkgs" ] || { echo "image: no packages found for $BIN's libraries" >&2; exit 1; }
mkdir -p build/image
rootfs=build/image/rootfs-$SUITE-$(echo "$pkgs" | sha256sum | cut -c1-12).tar
if [ ! -s "$rootfs" ]; then
	echo "image: mmdebstrap $SUITE: $pkgs" >&2
	mmdebstrap --quiet --variant=extract --include="$pkgs" \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
		--format=tar "$SUITE" "$rootfs.tmp" >&2
	mv "$rootfs.tmp" "$rootfs"
fi
cp "$rootfs" "$ctx/rootfs.tar"

apilb_podman build --quiet -t "$IMAGE" -f deploy/Containerfile "$ctx" >&2
rm -f "$ARCHIVE"
apilb_podman save --format oci-archive -o "$ARCHIVE" "$IMAGE" >&2
size=$(apilb_podman image inspect --format '{{.Size}}' "$IMAGE")
[ "${APILB_IMAGE_KEEP:-0}" = 1 ] || apilb_podman rmi "$IMAGE" >/dev/null
echo "image: $IMAGE: $((size / 1000000)) MB ($(du -m "$ARCHIVE" | cut -f1) MiB archive $ARCHIVE)" >&2
echo "$ARCHIVE"
