#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prints the probe-load and failure-detection tables of docs/scale.md: builds the
# apilb_probe_sim target (tests/bench/probe_sim.cpp) if needed and runs it. No root, no network.
# Extra arguments go to the simulator, e.g. a custom setting:
#   scripts/scale-sim.sh --report detect --interval 3 --timeout 1 --fall 2 --nodes 100,5000
#
# Usage: scripts/scale-sim.sh [apilb_probe_sim args...]     (BUILD_DIR defaults to build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
	cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
fi
cmake --build "$BUILD_DIR" --target apilb_probe_sim -j "${JOBS:-2}" >/dev/null
exec "$BUILD_DIR/tests/bench/apilb_probe_sim" "$@"
