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
# The archive is reused (steps 2 and 3 skipped) when its inputs -- the stripped binary, the
# Containerfile, the suite and the image name -- are unchanged (a stamp, <archive>.inputs).
# Env: APILB_IMAGE_KEEP=1 keeps the image in podman's store (default: removed after saving);
#      APILB_BIN=PATH packs that binary instead of building one (tests/e2e/image.sh: the binary
#      under test); APILB_IMAGE_NAME (default localhost/apilb:<version>); APILB_IMAGE_OUT (the
#      archive, default build/apilb-<version>.oci.tar).
# Prints the archive path (stdout) and the image size (stderr).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/podman-lib.sh
source scripts/podman-lib.sh

VERSION=$(sed -n 's/^project(apilb VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$VERSION" ] || { echo "image: no project VERSION in CMakeLists.txt" >&2; exit 1; }
TYPE=${APILB_BUILD_TYPE:-Release}
BDIR=${APILB_BUILD_DIR:-build/${TYPE,,}}
SUITE=${APILB_IMAGE_SUITE:-bookworm}
IMAGE=${APILB_IMAGE_NAME:-localhost/apilb:$VERSION}
ARCHIVE=${APILB_IMAGE_OUT:-build/apilb-$VERSION.oci.tar}

if [ -n "${APILB_BIN:-}" ]; then
	BIN=$APILB_BIN
	[ -x "$BIN" ] || { echo "image: APILB_BIN=$BIN is not an executable" >&2; exit 2; }
else
	BUILD_TYPE=$TYPE BUILD_DIR=$BDIR scripts/build.sh apilb >&2
	BIN=$BDIR/userspace/cli/apilb
fi

mkdir -p build "$(dirname "$ARCHIVE")"
ctx=$(mktemp -d build/image-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
strip --strip-unneeded -o "$ctx/apilb" "$BIN"

inputs=$( (sha256sum "$ctx/apilb" deploy/Containerfile | cut -d' ' -f1; echo "$SUITE $IMAGE") | sha256sum | cut -c1-16)
if [ -s "$ARCHIVE" ] && [ "$(cat "$ARCHIVE.inputs" 2>/dev/null)" = "$inputs" ] && [ "${APILB_IMAGE_KEEP:-0}" != 1 ]; then
	echo "image: $ARCHIVE is up to date (inputs $inputs)" >&2
	echo "$ARCHIVE"
	exit 0
fi

# Packages owning the binary's shared libraries (their dependencies come along). One dpkg -S for
# all of them, each by its path and its real path (dpkg's database may list either).
libs=$(ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\//{print $3} $1 ~ /^\//{print $1}')
pkgs=$(for lib in $libs; do echo "$lib"; realpath "$lib"; done | sort -u |
	{ xargs dpkg -S 2>/dev/null || true; } | cut -d: -f1 | sort -u | paste -sd,)
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
rm -f "$ARCHIVE" "$ARCHIVE.inputs"
apilb_podman save --format oci-archive -o "$ARCHIVE" "$IMAGE" >&2
echo "$inputs" >"$ARCHIVE.inputs"
size=$(apilb_podman image inspect --format '{{.Size}}' "$IMAGE")
[ "${APILB_IMAGE_KEEP:-0}" = 1 ] || apilb_podman rmi "$IMAGE" >/dev/null
echo "image: $IMAGE: $((size / 1000000)) MB ($(du -m "$ARCHIVE" | cut -f1) MiB archive $ARCHIVE)" >&2
echo "$ARCHIVE"
