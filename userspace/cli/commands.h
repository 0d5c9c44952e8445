// SPDX-License-Identifier: Apache-2.0
// The `apilb` subcommands: each add*Command() registers one CLI11 subcommand whose callback
// does the work (`run`'s callback ends the process with the daemon's exit code). Callbacks throw
// lb::BadInput (exit 2) or std::system_error (exit 1); main() prints them as one `apilb: ...` line
// and maps them to exit codes (0 done, 1 runtime failure, 2 bad input; docs/architecture.md,
// "Errors"). Not thread-safe; build the CLI once.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/global_options.h"

namespace lb {

void addAttachCommand(CLI::App& app, GlobalOptions& g);
void addDetachCommand(CLI::App& app, GlobalOptions& g);
void addBackendCommand(CLI::App& app, GlobalOptions& g);
void addStatusCommand(CLI::App& app, GlobalOptions& g);
void addFlowsCommand(CLI::App& app, GlobalOptions& g);
void addDoctorCommand(CLI::App& app, GlobalOptions& g);
void addRunCommand(CLI::App& app, GlobalOptions& g);
void addManifestCommand(CLI::App& app);  // pure: prints deployment files, touches nothing

// Runs before every subcommand: enters --netns (BadInput if unknown).
void enterGlobalNetns(const GlobalOptions& g);

}  // namespace lb
