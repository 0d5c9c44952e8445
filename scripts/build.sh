#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian build dependencies (as root; skipped otherwise), configures CMake into
# build/ (or $BUILD_DIR) and builds everything, or only the targets given as arguments.
#
# Usage: scripts/build.sh [TARGET...]      e.g. scripts/build.sh apilb
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

if [ "$(id -u)" -eq 0 ]; then
	scripts/install-deps.sh
else
	echo "build: not root, skipping scripts/install-deps.sh"
fi
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j "$JOBS" "${targets[@]}"
echo "build: done in $BUILD_DIR"
