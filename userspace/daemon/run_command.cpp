// SPDX-License-Identifier: Apache-2.0
// `apilb run`: flag definitions (one per config key), config assembly (file, then flags),
// validation before any kernel change, attach-if-needed or adopt, then the Daemon loop.
#include "daemon/run_command.h"

#include <unistd.h>

#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "bpf/attach.h"
#include "bpf/system.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/datapath_port.h"
#include "daemon/log.h"

namespace lb {
namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitBadInput = 2;

struct RunOptions {
  std::string configPath;
  bool printDefault = false;
  std::map<std::string, std::string> scalars;  // key -> flag value
  std::map<std::string, std::vector<std::string>> lists;
  std::map<std::string, bool> bools;
  std::map<std::string, CLI::Option*> opts;  // key -> option (count() = given)
};

std::string flagName(const std::string& key) {
  std::string f = "--" + key;
  for (auto& c : f)
    if (c == '_') c = '-';
  return f;
}

const std::map<std::string, std::string>& helpTexts() {
  static const std::map<std::string, std::string> kHelp = {
      {"vip", "node-local VIP ip:port (default 169.254.64.43:6443)"},
      {"backend", "apiserver ip:port[@weight] (repeatable)"},
      {"iface", "NIC for reverse NAT when attaching (repeatable)"},
      {"ingress", "reverse NAT hook when attaching: xdp|tc"},
      {"table_size", "Maglev table size when attaching (prime)"},
      {"probe_type", "https|tcp"},
      {"probe_path", "HTTP path probed (default /readyz)"},
      {"probe_interval", "time between probes (e.g. 1s)"},
      {"probe_timeout", "probe timeout (e.g. 1s)"},
      {"probe_timeout_dead_after", "timeouts drain; dead after timing out this long (e.g. 10s)"},
      {"probe_rise", "consecutive successes to become healthy"},
      {"probe_fall", "consecutive failures to become draining/dead"},
      {"probe_ca", "CA file verifying apiserver certificates"},
      {"probe_cert", "client certificate file"},
      {"probe_key", "client key file"},
      {"probe_token_file", "bearer token file (re-read on change)"},
      {"probe_server_name", "TLS server name / SNI (default: backend IP)"},
      {"insecure_skip_verify", "do not verify apiserver certificates"},
      {"state_dir", "directory of health.json (default /run/apilb)"},
      {"cleanup_on_exit", "detach the datapath on SIGTERM/SIGINT"},
      {"log_level", "debug|info|warn|error"},
  };
  return kHelp;
}

void addFlags(CLI::App* sub, RunOptions* o) {
  sub->add_option("--config", o->configPath, "YAML config file (flags win over it)");
  sub->add_flag("--print-default-config", o->printDefault, "print a complete commented config");
  for (const auto& key : configKeys()) {
    const std::string& help = helpTexts().at(key);
    if (key == "backend" || key == "iface")
      o->opts[key] = sub->add_option(flagName(key), o->lists[key], help);
    else if (key == "insecure_skip_verify" || key == "cleanup_on_exit")
      o->opts[key] = sub->add_flag(flagName(key), o->bools[key], help);
    else
      o->opts[key] = sub->add_option(flagName(key), o->scalars[key], help);
  }
}

RawSettings flagSettings(const RunOptions& o) {
  RawSettings raw;
  for (const auto& [key, opt] : o.opts) {
    if (opt->count() == 0) continue;
    if (o.lists.count(key))
      raw[key] = o.lists.at(key);
    else if (o.bools.count(key))
      raw[key] = {o.bools.at(key) ? "true" : "false"};
    else
      raw[key] = {o.scalars.at(key)};
  }
  return raw;
}

// File then flags; validated. Returns false with the errors.
bool buildConfig(const RunOptions& o, const RawSettings& flags, DaemonConfig* cfg,
                 std::vector<std::string>* errs) {
  DaemonConfig c;
  if (!o.configPath.empty()) {
    RawSettings file;
    if (!loadConfigFile(o.configPath, &file, errs)) return false;
    applySettings(file, &c, errs);
  }
  applySettings(flags, &c, errs);
  validateConfig(c, false, errs);  // also after bad values: report every problem at once
  if (!errs->empty()) return false;
  *cfg = c;
  return true;
}

AttachConfig attachConfigOf(const DaemonConfig& c, const std::string& pinDir) {
  AttachConfig a;
  a.pinDir = pinDir;
  a.vip = c.vip;
  for (const auto& b : c.backends) a.backends.push_back({b.ep, b.weight});
  a.ifaces = c.ifaces;
  a.ingress = c.ingress == "tc" ? IngressMode::kTc : IngressMode::kXdp;
  a.tableSize = c.tableSize;
  return a;
}

// Attaches when nothing is attached at pinDir. Returns an exit code, or -1 to continue.
int attachIfNeeded(const DaemonConfig& cfg, const std::string& pinDir, bool* attachedHere) {
  if (isAttached(pinDir)) {
    log::info("datapath already attached at " + pinDir + ": adopting it");
    return -1;
  }
  std::ostringstream out;
  try {
    attach(attachConfigOf(cfg, pinDir), out);
  } catch (const BadInput& e) {
    std::cerr << "apilb run: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "apilb run: attach failed: " << e.what() << "\n";
    return kExitRuntime;
  }
  std::istringstream lines(out.str());
  for (std::string l; std::getline(lines, l);) log::info("attach: " + l);
  log::info("nothing was attached at " + pinDir + ": attached the datapath");
  *attachedHere = true;
  return -1;
}

void cleanup(const std::string& pinDir) {
  std::ostringstream out;
  try {
    detach(pinDir, out);
    log::info("--cleanup-on-exit: datapath detached from " + pinDir);
  } catch (const std::exception& e) {
    log::error(std::string("--cleanup-on-exit: detach failed: ") + e.what());
  }
}

int runDaemon(const GlobalOptions& g, const RunOptions& o) {
  if (o.printDefault) {
    std::cout << defaultConfigYaml();
    return 0;
  }
  RawSettings flags = flagSettings(o);
  DaemonConfig cfg;
  std::vector<std::string> errs;
  if (!buildConfig(o, flags, &cfg, &errs)) {
    for (const auto& e : errs) std::cerr << "apilb run: " << e << "\n";
    return kExitBadInput;
  }
  log::Level lvl = log::Level::kInfo;
  (void)log::parseLevel(cfg.logLevel, &lvl);
  log::setLevel(lvl);
  std::string missing;
  if (!havePrivileges(&missing)) {
    std::cerr << "apilb run: missing privileges: " << missing << "\n";
    return kExitBadInput;
  }
  if (!g.netns.empty()) {
    if (auto ec = enterNetns(g.netns)) {
      std::cerr << "apilb run: --netns " << g.netns << ": " << ec.message() << "\n";
      return kExitBadInput;
    }
  }
  bool attachedHere = false;
  if (int rc = attachIfNeeded(cfg, g.pinDir, &attachedHere); rc >= 0) return rc;
  std::unique_ptr<DatapathPort> port;
  std::unique_ptr<SocketKiller> killer;
  try {
    port = makeDatapathPort(g.pinDir);
    killer = makeSockDiagKiller();
  } catch (const std::exception& e) {
    std::cerr << "apilb run: " << e.what() << "\n";
    return kExitRuntime;
  }
  auto reloader = [&o](DaemonConfig* out, std::vector<std::string>* e) {
    return buildConfig(o, flagSettings(o), out, e);
  };
  int rc = 0;
  {
    Daemon d(cfg, port.get(), killer.get(), reloader);
    std::string err = d.start();
    if (!err.empty()) {
      std::cerr << "apilb run: " << err << "\n";
      return kExitBadInput;
    }
    rc = d.run();
  }
  unlink((cfg.stateDir + "/health.json").c_str());
  port.reset();
  if (cfg.cleanupOnExit)
    cleanup(g.pinDir);
  else
    log::info("leaving the datapath in place (forwarding with the last table)");
  return rc;
}

}  // namespace

void addRunCommand(CLI::App& app, GlobalOptions& g) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand(
      "run", "run the health-checking daemon (attaches the datapath if needed, else adopts it)");
  addFlags(sub, o.get());
  sub->callback([o, &g]() {
    int rc = runDaemon(g, *o);
    std::cout.flush();
    std::exit(rc);
  });
}

}  // namespace lb
