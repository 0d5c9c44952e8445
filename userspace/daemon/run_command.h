// SPDX-License-Identifier: Apache-2.0
// `apilb run`: the health-checking daemon. Probes every configured apiserver over HTTPS /readyz
// (or TCP), keeps the pinned datapath maps true (Maglev table of usable backends, DRAIN/DOWN
// flags, fail-open), destroys local sockets of flows to dead backends and writes
// <state-dir>/health.json for `apilb status`. This header is the only thing the CLI needs.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/global_options.h"

namespace lb {

// Registers the `run` subcommand (all flags of issue 3 plus --print-default-config) on `app`.
// `g` (global --pin-dir / --netns) is read when the subcommand runs, after parsing. The
// subcommand's callback runs the daemon to completion and ends the process with its exit code:
// 0 on SIGTERM/SIGINT, 2 on an invalid configuration (nothing touched), 1 on a runtime failure.
// Not thread-safe; call once while building the CLI.
void addRunCommand(CLI::App& app, GlobalOptions& g);

}  // namespace lb
