// SPDX-License-Identifier: Apache-2.0
// `apilb run`: its flags (the key table's run keys, cli/key_flags.h, plus --config and
// --print-default-config), the intent assembled from the file then the flags and validated
// before anything is touched, then the daemon's entry point (daemon/run_command.h). The same
// assembly re-reads the file on SIGHUP.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/key_flags.h"
#include "config/config.h"
#include "daemon/discovery.h"
#include "daemon/run_command.h"

namespace lb {
namespace {

constexpr int kExitBadInput = 2;

struct RunFlags {
  std::string configPath;
  bool printDefault = false;
  KeyFlags keys;
};

// File then flags; validated. Returns false with the errors.
bool buildIntent(const RunFlags& f, DaemonConfig* cfg, std::vector<std::string>* errs) {
  DaemonConfig c;
  if (!f.configPath.empty()) {
    RawSettings file;
    if (!loadConfigFile(f.configPath, &file, errs)) return false;
    applySettings(file, &c, errs);
  }
  applySettings(f.keys.given(), &c, errs);
  // Every malformed value is reported; the cross-field checks only run on well-formed values,
  // so one bad value gives one line (a bad backend is not also "no backend").
  if (errs->empty()) validateConfig(c, false, errs);
  if (errs->empty() && c.discovery()) {  // the kubeconfig or service account must be usable
    k8s::ApiCredentials creds;
    if (std::string e = discoveryCredentials(c, &creds); !e.empty()) errs->push_back(e);
  }
  if (!errs->empty()) return false;
  *cfg = c;
  return true;
}

int runCommand(const GlobalOptions& g, const RunFlags& f) {
  if (f.printDefault) {
    std::cout << defaultConfigYaml();
    return 0;
  }
  DaemonConfig cfg;
  std::vector<std::string> errs;
  if (!buildIntent(f, &cfg, &errs)) {
    for (const auto& e : errs) std::cerr << "apilb run: " << e << "\n";
    return kExitBadInput;
  }
  auto reload = [&f](DaemonConfig* out, std::vector<std::string>* e) {
    return buildIntent(f, out, e);
  };
  return runDaemon(cfg, RunTarget{g.pinDir, g.netns}, reload);
}

}  // namespace

void addRunCommand(CLI::App& app, GlobalOptions& g) {
  auto f = std::make_shared<RunFlags>();
  CLI::App* sub = app.add_subcommand(
      "run", "run the health-checking daemon (attaches the datapath if needed, else adopts it)");
  sub->add_option("--config", f->configPath, "YAML config file (flags win over it)");
  sub->add_flag("--print-default-config", f->printDefault, "print a complete commented config");
  f->keys.add(sub, kUseRun);
  sub->callback([f, &g]() {
    int rc = runCommand(g, *f);
    std::cout.flush();
    std::exit(rc);
  });
}

}  // namespace lb
