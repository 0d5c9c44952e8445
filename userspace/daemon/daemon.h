// SPDX-License-Identifier: Apache-2.0
// Daemon: the `apilb run` main loop. One thread: the Prober's curl multi loop also watches a
// signalfd (SIGTERM/SIGINT stop, SIGHUP reloads), rtnetlink's route and tc notifications and,
// with discovery on, the EndpointSlice watcher's eventfd (all through one epoll fd). A changed backend set goes through the same
// path as a SIGHUP's (setMembers: Reconciler::sync, health kept by address, new backends wait
// for rise); a backend that left the EndpointSlice stays a draining member until it has no
// flows (or BackendSet::kLeaveGrace), then is removed. Each probe result goes through the health
// state machine; on any transition the Reconciler makes the datapath match decide(); health.json
// is rewritten on every change and every 2 s; flows to DOWN backends are swept every second.
// With passive_detection, the loop also reads the datapath's signal counters every
// kSignalPollMs and probes a backend they accuse at once (PassiveDetector, passive.h).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <string>
#include <vector>

#include "bpf/unique_fd.h"
#include "config/config.h"
#include "daemon/datapath_port.h"
#include "daemon/discovery.h"
#include "daemon/health.h"
#include "daemon/metrics.h"
#include "daemon/passive.h"
#include "bpf/netlink.h"
#include "daemon/prober.h"
#include "daemon/reconciler.h"

namespace lb {

class Daemon {
 public:
  // Loads a new config on SIGHUP: returns false (and the errors) if it is invalid.
  using Reloader = std::function<bool(DaemonConfig* out, std::vector<std::string>* errs)>;

  Daemon(DaemonConfig cfg, DatapathPort* port, SocketKiller* killer, Reloader reload);
  ~Daemon();

  // Adopts the datapath (Reconciler::sync) and starts the prober. "" or a one-line error.
  std::string start();
  // Runs until SIGTERM/SIGINT (or requestStop()); returns the exit code (0).
  int run();
  void requestStop() { stop_ = true; }
  // Where the loop reports probes and its view (nullptr: no metrics). Set before run().
  void setMetrics(DaemonMetrics* m) { metrics_ = m; }
  // Called when a tc notification arrives (a qdisc or classic filter added or removed: run_command
  // keeps apilb's filters first), once at start, and -- only when notifications are
  // unavailable -- on every 1 s sweep instead.
  void setOnTcChange(std::function<void()> f) { onTcChange_ = std::move(f); }
  // Called on every 1 s sweep tick.
  void setOnSweep(std::function<void()> f) { onSweep_ = std::move(f); }
  // Called when a route, link or address notification arrives (a NIC's MTU change is a link
  // notification), once at start, and -- only when notifications are unavailable -- on every 1 s
  // sweep instead.
  void setOnLinkChange(std::function<void()> f) { onLinkChange_ = std::move(f); }
  // Turns discovery on (before start()): the managed backends come from d->set().
  void setDiscovery(std::unique_ptr<Discovery> d) { disc_ = std::move(d); }

 private:
  bool onProbe(size_t index, const ProbeResult& r);
  void pollSignals();
  void resetPassive();
  void reconcile();
  void reload();
  void handleSignals();
  void writeHealth();
  DaemonView view() const;
  void resetHealth(const std::vector<BackendHealth>& keep,
                   const std::vector<std::string>& keepAddr);
  std::vector<BackendConfig> wantedBackends() const;
  bool setMembers(const std::vector<BackendConfig>& backends, const ProbeConfig& probe,
                  const char* why);
  std::string openWaitFd();
  void pollDiscovery();
  void pollRoutes();
  void pollTc();
  void refreshRoutes(const char* why);
  void finishDrainedLeavers();
  bool isLeaving(size_t index) const;

  DaemonConfig cfg_;
  DatapathPort* port_;
  Reloader reloader_;
  Reconciler rec_;
  std::unique_ptr<Prober> prober_;
  std::vector<BackendHealth> health_;  // index = Reconciler::members() index = prober target
  PassiveDetector passive_{std::chrono::milliseconds(100)};  // same indexes; reset by resetPassive
  bool passiveOn_ = false;                   // passive_detection and the datapath has the counters
  std::map<std::string, uint64_t> synUnanswered_;  // backend name -> syn_unanswered signals
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> passiveProbes_;
  DaemonMetrics* metrics_ = nullptr;
  std::function<void()> onLinkChange_;
  std::function<void()> onTcChange_;
  std::function<void()> onSweep_;
  UniqueFd sigfd_;
  std::unique_ptr<Discovery> disc_;
  RtnlWatch routes_;  // route/link/address notifications: backends' next hops follow them
  RtnlWatch tc_;      // tc notifications, opened only for onTcChange_
  int waitfd_ = -1;   // epoll of sigfd_, routes_, tc_ and the watcher's fd (owned)
  bool stop_ = false;
  bool dirty_ = true;
};

}  // namespace lb
