// SPDX-License-Identifier: Apache-2.0
// `apilb`: the command-line entry point. Global options --pin-dir and --netns apply to every
// subcommand (attach, detach, backend add|del|list, status, flows, run). Exit codes: 0 success,
// 1 runtime failure (everything already undone), 2 bad input or nothing to do.
#include <CLI/CLI.hpp>
#include <iostream>

#include "bpf/attach.h"
#include "bpf/system.h"
#include "cli/commands.h"
#include "cli/global_options.h"
#include "cli/key_flags.h"
#include "lb/endpoint.h"

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitBadInput = 2;

int runCli(int argc, char** argv) {
  CLI::App app{"apilb: in-kernel load balancer for the Kubernetes apiserver"};
  app.require_subcommand(1);
  lb::GlobalOptions g;
  app.add_option("--pin-dir", g.pinDir, "bpffs directory holding the pinned maps")
      ->capture_default_str();
  app.add_option("--netns", g.netns, "network namespace to work in (/run/netns/NAME)");
  lb::addAttachCommand(app, g);
  lb::addDetachCommand(app, g);
  lb::addBackendCommand(app, g);
  lb::addStatusCommand(app, g);
  lb::addFlowsCommand(app, g);
  lb::addDoctorCommand(app, g);
  app.add_subcommand("version", "Print the version and the map ABI version")->callback([]() {
    std::cout << "apilb " << APILB_VERSION << " (map ABI " << LB_ABI_VERSION << ")\n";
  });
  lb::addRunCommand(app, g);
  lb::addKeysCommand(app);
  lb::addManifestCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "apilb: " << e.what() << "\n";
    return kExitBadInput;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  lb::installLibbpfLogger();
  try {
    return runCli(argc, argv);
  } catch (const lb::BadInput& e) {
    std::cerr << "apilb: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::system_error& e) {
    std::cerr << "apilb: " << e.what() << "\n";
    return kExitRuntime;
  } catch (const std::exception& e) {
    std::cerr << "apilb: " << e.what() << "\n";
    return kExitRuntime;
  }
}
