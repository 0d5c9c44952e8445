// SPDX-License-Identifier: Apache-2.0
// `apilb doctor`: reads the same config file and flags as `apilb run` (the key table and parser
// of config/config.h), falls back to what is attached when no backend is given, runs the checks of
// cli/doctor.h and prints one line per check (or --json). Exit 1 if any check failed, 2 on bad
// input, 0 otherwise.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "bpf/attach.h"
#include "bpf/datapath.h"
#include "bpf/system.h"
#include "cli/commands.h"
#include "cli/doctor.h"
#include "cli/key_flags.h"
#include "config/config.h"
#include "daemon/discovery.h"

namespace lb {
namespace {

struct DoctorFlags {
  std::string configPath;
  KeyFlags keys;  // the flags of `apilb run`, from the one key table
  std::string kubelet = "/etc/kubernetes/kubelet.conf";
  bool json = false;
};

DoctorInput buildInput(const DoctorFlags& f, const GlobalOptions& g) {
  std::vector<std::string> errs;
  DaemonConfig cfg;
  if (!f.configPath.empty()) {
    RawSettings file;
    if (!loadConfigFile(f.configPath, &file, &errs)) throw BadInput(errs.front());
    applySettings(file, &cfg, &errs);
  }
  RawSettings flags = f.keys.given();
  applySettings(flags, &cfg, &errs);
  if (!errs.empty()) throw BadInput(errs.front());
  DoctorInput in;
  in.pinDir = g.pinDir;
  in.vip = cfg.vip;
  in.probe = cfg.probe;
  in.stateDir = cfg.stateDir;
  in.kubeletKubeconfig = f.kubelet;
  in.discovery = cfg.discovery();
  in.dataDir = cfg.dataDir;
  if (in.discovery) {
    std::string err = discoveryCredentials(cfg, &in.discoveryCreds);
    if (!err.empty()) throw BadInput(err);
  }
  for (const auto& b : cfg.backends) in.backends.push_back(b.ep);
  if (in.backends.empty() && isAttached(g.pinDir)) {  // nothing given: what is attached
    Datapath dp = Datapath::open(g.pinDir);
    bool vipGiven = flags.count("vip") > 0 || !f.configPath.empty();
    for (const auto& v : dp.vips())
      if (v.vip.vip_id == 0 && !vipGiven) in.vip = v.endpoint();
    for (const auto& b : dp.backends()) in.backends.push_back(b.endpoint());
  }
  return in;
}

int runDoctorCommand(const DoctorFlags& f, const GlobalOptions& g) {
  enterGlobalNetns(g);
  std::string missing;
  if (!havePrivileges(&missing)) throw BadInput("insufficient privileges: need root (" + missing + ")");
  DoctorInput in = buildInput(f, g);
  std::vector<Check> checks = runDoctor(in);
  bool failed = false;
  for (const auto& c : checks) failed |= c.status == CheckStatus::kFail;
  if (f.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& c : checks)
      j.push_back({{"status", checkStatusName(c.status)}, {"check", c.name}, {"detail", c.detail},
                   {"fix", c.fix}});
    std::cout << nlohmann::json{{"ok", !failed}, {"checks", j}}.dump(2) << "\n";
  } else {
    for (const auto& c : checks) {
      std::cout << checkStatusName(c.status) << std::string(6 - std::string(checkStatusName(c.status)).size(), ' ')
                << c.name << ": " << c.detail << "\n";
      if (!c.fix.empty()) std::cout << "      fix: " << c.fix << "\n";
    }
  }
  return failed ? 1 : 0;
}

}  // namespace

void addDoctorCommand(CLI::App& app, GlobalOptions& g) {
  auto f = std::make_shared<DoctorFlags>();
  auto* sub = app.add_subcommand(
      "doctor", "Check this node's apiserver HA setup (certificates, /readyz, kernel, sysctls, "
                "datapath, daemon, kubelet) and say how to fix what is wrong");
  sub->add_option("--config", f->configPath, "the `apilb run` config file (flags win over it)");
  f->keys.add(sub, kUseRun);
  sub->add_option("--kubelet-kubeconfig", f->kubelet, "kubelet's kubeconfig (\"\" to skip)")
      ->capture_default_str();
  sub->add_flag("--json", f->json, "machine-readable output");
  sub->callback([f, &g]() {
    int rc = runDoctorCommand(*f, g);
    std::cout.flush();
    std::exit(rc);
  });
}

}  // namespace lb
