// SPDX-License-Identifier: Apache-2.0
// `apilb run`: the health-checking daemon. Probes every configured apiserver over HTTPS /readyz
// (or TCP), keeps the pinned datapath maps true (Maglev table of usable backends, DRAIN/DOWN
// flags, fail-open), destroys local sockets of flows to dead backends and writes
// <state-dir>/health.json for `apilb status`. The flags and the config file are read by the CLI
// (userspace/cli/run_cmd.cpp); this is the plain entry point that takes the validated intent.
// Errors in the daemon layer: operations return std::error_code and log the detail where it is
// known; only constructors throw; runDaemon turns failures into one stderr line and an exit code
// (docs/architecture.md, "Errors").
#pragma once

#include <string>

#include "config/config.h"
#include "daemon/daemon.h"

namespace lb {

// Where the daemon works: the pin dir and the network namespace ("" = current).
struct RunTarget {
  std::string pinDir;
  std::string netns;
};

// Runs the daemon to completion with a validated `cfg`; `reload` re-reads the config on
// SIGHUP. Returns the exit code: 0 on SIGTERM/SIGINT, 2 on bad input found on the host (missing
// privileges, unknown netns, attach refused; nothing touched), 1 on a runtime failure.
int runDaemon(const DaemonConfig& cfg, const RunTarget& target, Daemon::Reloader reload);

}  // namespace lb
