// SPDX-License-Identifier: Apache-2.0
// Discovery (see discovery.h).
#include "daemon/discovery.h"

#include <chrono>

#include "daemon/log.h"
#include "k8s/discovered_store.h"
#include "k8s/slice_watcher.h"

namespace lb {
namespace {

std::string joined(const std::vector<Endpoint>& eps) {
  std::string s;
  for (const auto& e : eps) s += (s.empty() ? "" : ", ") + e.str();
  return s.empty() ? "none" : s;
}

std::string joined(const std::vector<BackendConfig>& bs) {
  std::vector<Endpoint> eps;
  for (const auto& b : bs) eps.push_back(b.ep);
  return joined(eps);
}

void logNotes(const std::vector<std::string>& notes) {
  for (const auto& n : notes) log::warn("discovery: " + n, {{"event", "discovery"}});
}

// "kubeconfig /x: field: why" -> "field: why" (the key and path are said once, by the caller).
std::string withoutPrefix(const std::string& what, const std::string& prefix) {
  return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
}

}  // namespace

std::string discoveryCredentials(const DaemonConfig& cfg, k8s::ApiCredentials* out,
                                 const std::string& saDir) {
  try {
    if (!cfg.kubeconfig.empty())
      *out = k8s::loadKubeconfig(cfg.kubeconfig);
    else
      *out = k8s::inClusterCredentials("https://" + cfg.vip.str(), saDir);
  } catch (const std::exception& e) {
    if (!cfg.kubeconfig.empty())
      return "kubeconfig: '" + cfg.kubeconfig +
             "': " + withoutPrefix(e.what(), "kubeconfig " + cfg.kubeconfig + ": ");
    return std::string("in_cluster: 'true': ") + withoutPrefix(e.what(), "in-cluster: ");
  }
  return "";
}

Discovery::Discovery(const DaemonConfig& cfg, k8s::ApiCredentials creds)
    : dataDir_(cfg.dataDir), creds_(std::move(creds)) {
  k8s::DiscoveredSet persisted;
  std::string why = k8s::loadDiscovered(dataDir_, &persisted);
  if (why.empty()) {
    saved_ = persisted.backends;
    log::info("discovery: starting with the " + std::to_string(persisted.backends.size()) +
                  " apiservers persisted from " + persisted.server + ": " +
                  joined(persisted.backends) + " (probed like the rest)",
              {{"event", "discovery"}, {"persisted", joined(persisted.backends)}});
  } else {
    log::info("discovery: no persisted set used (" + why + ")", {{"event", "discovery"}});
  }
  std::vector<std::string> notes;
  set_ = std::make_unique<BackendSet>(cfg.vip, cfg.backends, persisted.backends, &notes);
  logNotes(notes);
  k8s::WatchOptions o;
  o.creds = creds_;
  watcher_ = std::make_unique<k8s::SliceWatcher>(std::move(o));
}

Discovery::~Discovery() = default;

void Discovery::start() {
  watcher_->start();
  log::info("discovery: watching EndpointSlices of service default/kubernetes at " + creds_.server,
            {{"event", "discovery"}, {"server", creds_.server}});
}

int Discovery::fd() const { return watcher_->fd(); }

bool Discovery::poll(BackendSet::Clock::time_point now) {
  using Kind = k8s::DiscoveryEvent::Kind;
  bool changed = false;
  for (auto& ev : watcher_->take()) {
    if (ev.kind == Kind::kWatchError) {
      std::string line = std::string("discovery: ") + k8s::problemName(ev.problem) + ": " +
                         ev.reason + " (retrying; the current backends stay)";
      log::Fields f = {
          {"event", "discovery"}, {"problem", k8s::problemName(ev.problem)}, {"error", ev.reason}};
      if (ev.reason != lastProblem_)
        log::warn(line, f);
      else
        log::debug(line, f);
      lastProblem_ = ev.reason;
      continue;
    }
    if (!lastProblem_.empty() || !set_->discovered())
      log::info(std::string("discovery: ") + (ev.kind == Kind::kListOk ? "LIST" : "watch") +
                    " ok at resourceVersion " + ev.resourceVersion + ": " + joined(ev.backends),
                {{"event", "discovery"}, {"backends", joined(ev.backends)}});
    lastProblem_.clear();
    std::vector<std::string> notes;
    bool was = set_->discovered();
    bool c = set_->applyDiscovered(ev.backends, now, &notes);
    logNotes(notes);
    if (c)
      log::info(std::string("discovery: ") +
                    (was ? "" : "the discovered set replaces the bootstrap: ") + "managing " +
                    joined(set_->managed()),
                {{"event", "discovery"}, {"managed", joined(set_->managed())}});
    changed |= c;
    persist();
  }
  return changed;
}

void Discovery::persist() {
  const auto& now = set_->lastDiscovered();
  if (now.empty() || now == saved_) return;
  k8s::DiscoveredSet s{now, std::chrono::system_clock::now(), creds_.server};
  std::string err = k8s::saveDiscovered(dataDir_, s);
  if (!err.empty()) {
    log::error("discovery: persisting the discovered set failed: " + err + " (kept in memory)",
               {{"event", "discovery"}, {"error", err}});
    return;
  }
  saved_ = now;
  log::info("discovery: saved " + joined(now) + " to " + dataDir_ + "/" + k8s::kDiscoveredFile,
            {{"event", "discovery"}});
}

}  // namespace lb
