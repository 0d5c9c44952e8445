// SPDX-License-Identifier: Apache-2.0
// Discovery: the I/O around BackendSet for `apilb run` with `kubeconfig` or `in_cluster` set.
// It owns the k8s::SliceWatcher (its own thread, LIST + WATCH of the `kubernetes`
// EndpointSlices; an eventfd wakes the daemon's loop) and <data_dir>/discovered.json: loaded
// once at construction (a missing or bad file is logged and ignored, never an error), rewritten
// atomically whenever the discovered set changes. The daemon's loop adds fd() to its wait and
// calls poll() when it is readable; poll() applies the events to set() and says whether the
// managed backends changed. Errors of the watch are logged (once per distinct reason) and
// retried by the watcher with backoff; they never stop the daemon.
// Threading: construction, start(), poll() and set() on the daemon's loop thread only.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/backend_set.h"
#include "k8s/credentials.h"

namespace lb {
namespace k8s {
class SliceWatcher;
}

// The API credentials discovery uses for `cfg` (kubeconfig, or the service account with the VIP
// as server; `saDir` is where the service account is mounted). Returns "" or one line in the
// config's error wording ("kubeconfig: '/x': ...", "in_cluster: 'true': ...").
[[nodiscard]] std::string discoveryCredentials(const DaemonConfig& cfg, k8s::ApiCredentials* out,
                                               const std::string& saDir = k8s::kServiceAccountDir);

class Discovery {
 public:
  // Loads the persisted set from cfg.dataDir and builds the BackendSet (bootstrap = cfg.backends).
  Discovery(const DaemonConfig& cfg, k8s::ApiCredentials creds);
  ~Discovery();
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // Starts the watch thread; throws std::system_error if it cannot.
  void start();
  // Readable while watcher events wait for poll().
  int fd() const;
  // Applies the queued events; true when set().managed() changed.
  bool poll(BackendSet::Clock::time_point now);
  BackendSet& set() { return *set_; }
  const std::string& server() const { return creds_.server; }

 private:
  void persist();

  std::string dataDir_;
  k8s::ApiCredentials creds_;
  std::unique_ptr<BackendSet> set_;
  std::unique_ptr<k8s::SliceWatcher> watcher_;
  std::vector<Endpoint> saved_;  // what discovered.json holds
  std::string lastProblem_;      // the last watch error logged
};

}  // namespace lb
