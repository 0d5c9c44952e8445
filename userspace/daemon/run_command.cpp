// SPDX-License-Identifier: Apache-2.0
// `apilb run` once its intent is validated (the flags are in userspace/cli/run_cmd.cpp):
// privileges, netns, attach-if-needed or adopt (upgrading the programs in place), then the
// Daemon loop.
#include "daemon/run_command.h"

#include <unistd.h>

#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "bpf/attach.h"
#include "bpf/hooks.h"
#include "bpf/pin_lock.h"
#include "bpf/system.h"
#include "bpf/upgrade.h"
#include "bpf/upkeep.h"
#include "config/config.h"
#include "daemon/datapath_port.h"
#include "daemon/discovery.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/tc_order.h"

namespace lb {
namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitBadInput = 2;

// Logs each line of `out` as "<prefix><line>".
void logLines(const std::string& prefix, const std::string& out) {
  std::istringstream lines(out);
  for (std::string l; std::getline(lines, l);) log::info(prefix + l);
}

// Adopts the datapath attached at pinDir, replacing its programs by this build's when the map
// ABI is the same (bpf/upgrade.h). Returns an exit code, or -1 to continue.
int adopt(const std::string& pinDir) {
  log::info("datapath already attached at " + pinDir + ": adopting it");
  std::ostringstream out;
  try {
    adoptPrograms(pinDir, out);
  } catch (const BadInput& e) {
    logLines("upgrade: ", out.str());
    std::cerr << "apilb run: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    logLines("upgrade: ", out.str());
    std::cerr << "apilb run: upgrade in place failed (programs put back): " << e.what() << "\n";
    return kExitRuntime;
  }
  logLines("upgrade: ", out.str());
  return -1;
}

// Attaches when nothing is attached at pinDir, else adopts. Returns an exit code, or -1 to
// continue.
int attachIfNeeded(const DaemonConfig& cfg, const std::string& pinDir, bool* attachedHere) {
  if (isAttached(pinDir)) return adopt(pinDir);
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
  logLines("attach: ", out.str());
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

}  // namespace

int runDaemon(const DaemonConfig& cfg, const RunTarget& g, Daemon::Reloader reloader) {
  log::Level lvl = log::Level::kInfo;
  (void)log::parseLevel(cfg.logLevel, &lvl);
  log::setLevel(lvl);
  log::Format fmt = log::Format::kText;
  (void)log::parseFormat(cfg.logFormat, &fmt);
  log::setFormat(fmt);
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
  PinLock lock;  // held until the process exits: one daemon per pin dir
  LockHolder holder;
  std::error_code ec = PinLock::tryAcquire(g.pinDir, "run", &lock, &holder);
  if (ec == std::errc::operation_would_block && holder.role == "cli")
    ec = PinLock::acquire(g.pinDir, "run", &lock);  // a one-shot CLI write: wait for it
  if (ec) {
    if (ec == std::errc::operation_would_block)
      std::cerr << "apilb run: " << g.pinDir << " is already managed by apilb " << holder.role
                << " (pid " << holder.pid << "); not starting a second writer\n";
    else
      std::cerr << "apilb run: lock " << pinStateBase(g.pinDir) << ".lock: " << ec.message()
                << "\n";
    return kExitRuntime;
  }
  bool attachedHere = false;
  if (int rc = attachIfNeeded(cfg, g.pinDir, &attachedHere); rc >= 0) return rc;
  std::unique_ptr<DatapathPort> port;
  std::unique_ptr<SocketKiller> killer;
  try {
    port = makeDatapathPort(g.pinDir);
    killer = makeSockDiagKiller(cfg.pods);
  } catch (const std::exception& e) {
    std::cerr << "apilb run: " << e.what() << "\n";
    return kExitRuntime;
  }
  int rc = 0;
  {
    DaemonMetrics metrics;
    MetricsServer server(&metrics, g.pinDir, buildInfoLabels(cfg.ingress));
    Daemon d(cfg, port.get(), killer.get(), reloader);
    if (cfg.discovery()) {
      k8s::ApiCredentials creds;
      if (std::string e = discoveryCredentials(cfg, &creds); !e.empty()) {
        std::cerr << "apilb run: " << e << "\n";
        return kExitBadInput;
      }
      try {
        d.setDiscovery(std::make_unique<Discovery>(cfg, std::move(creds)));
      } catch (const std::exception& e) {
        std::cerr << "apilb run: discovery: " << e.what() << "\n";
        return kExitRuntime;
      }
    }
    d.setOnLinkChange([pinDir = g.pinDir] {  // a NIC's MTU changed after attach
      if (std::string m = followNicMtu(pinDir); !m.empty()) log::info(m);
    });
    if (cfg.mode != "socket") {  // someone may put a tc program before apilb's
      auto keeper = std::make_shared<TcOrderKeeper>(
          [pinDir = g.pinDir] {
            TcOrderReport r = keepTcProgsFirst(pinDir);
            return TcOrderKeeper::Outcome{std::move(r.moves), std::move(r.failures)};
          },
          [](const std::string& m) { log::warn(m); }, TcOrderKeeper::Limits{});
      bool tcx = tcxEnabled();  // tcx sends no notification: its chains are checked every second
      metrics.setTcOrder(0, false);
      auto report = [keeper, m = &metrics] {
        m->setTcOrder(keeper->movesTotal(), keeper->paused());
      };
      if (!tcx)
        d.setOnTcChange([keeper, report] {
          keeper->onChange(TcOrderKeeper::Clock::now());
          report();
        });
      d.setOnSweep([keeper, tcx, report] {
        auto now = TcOrderKeeper::Clock::now();
        keeper->onTick(now);
        if (tcx) keeper->onChange(now);
        report();
      });
    }
    std::string err = d.start();
    if (!err.empty()) {
      std::cerr << "apilb run: " << err << "\n";
      return kExitBadInput;
    }
    if (cfg.metricsAddr != "off") {
      Endpoint addr;
      std::string why;
      (void)parseEndpoint(cfg.metricsAddr, &addr, &why);  // validated with the config
      if (auto ec = server.start(addr.addrStr(), addr.port)) {
        std::cerr << "apilb run: metrics_addr " << cfg.metricsAddr << ": " << ec.message() << "\n";
        return kExitRuntime;
      }
      log::info("serving /metrics and /healthz on " + cfg.metricsAddr);
      d.setMetrics(&metrics);
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

}  // namespace lb
