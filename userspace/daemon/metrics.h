// SPDX-License-Identifier: Apache-2.0
// Metrics of `apilb run`: what the daemon knows (backend states, probe latencies and failures,
// publishes, flow resets, fail-open) plus what the datapath counts (per-reason packets/bytes,
// new flows per backend, tracked flows), rendered in the Prometheus text format, and the HTTP
// endpoint that serves it (GET /metrics, GET /healthz) on its own thread with cpp-httplib.
//
// Threads: the daemon's loop thread calls observeProbe() and update(); the server thread calls
// render() and healthy(). DaemonMetrics guards its state with one mutex held only to copy, so a
// scrape never blocks the probe loop for longer than a copy; the maps are read at scrape time
// through the server's own Datapath (own fds). Errors: MetricsServer::start() returns an
// error_code (bind failure); scrapes never throw.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include "daemon/health.h"
#include "lb/prom.h"

namespace lb {

class Datapath;

// The daemon's view, copied in by the loop after each change.
struct DaemonView {
  struct Backend {
    std::string name;  // "ip:port" / "[v6]:port", as in `apilb status`
    uint32_t id;       // apilb_backends_v2 slot
    HealthState state;
  };
  std::string vip;
  std::vector<Backend> backends;
  bool failOpen = false;
  uint64_t publishes = 0;                       // tables published since start
  std::map<std::string, uint64_t> flowsReset;   // backend -> local sockets destroyed (cumulative)
  std::map<std::string, uint64_t> synUnanswered;  // backend -> syn_unanswered signals (passive.h)
  // (backend, trigger signal kind, "confirmed" | "cleared") -> probes that answered a signal
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> passiveProbes;
};

// Failure reason label of a probe result: "" for success, "http_503", "credentials" (401/403),
// "refused", "timeout", "tls", "reset", "error". Bounded vocabulary (no error text in labels).
std::string probeFailureReason(const ProbeResult& r);

class DaemonMetrics {
 public:
  DaemonMetrics();
  // Loop thread: one finished probe of `backend`.
  void observeProbe(const std::string& backend, const ProbeResult& r);
  // Loop thread: the current view; also the liveness heartbeat of the loop.
  void update(DaemonView v);
  // Loop thread: apilb's tc programs moved back in front of another program since start, and
  // whether the moves are paused (daemon/tc_order.h). Never called in socket mode: no families.
  void setTcOrder(uint64_t moves, bool paused);
  // Any thread: the Prometheus text. dp may be null (datapath gone): datapath families omitted.
  std::string render(const Datapath* dp, const PromLabels& build) const;
  // Any thread: seconds since the last update() (the loop's heartbeat).
  double sinceUpdate() const;

 private:
  mutable std::mutex mu_;
  DaemonView view_;
  std::map<std::string, PromHistogram> probeSeconds_;
  std::map<std::string, std::map<std::string, uint64_t>> probeFailures_;
  std::chrono::steady_clock::time_point lastUpdate_;
  struct TcOrder {
    uint64_t moves = 0;
    bool paused = false;
  };
  std::optional<TcOrder> tcOrder_;
};

class MetricsServer {
 public:
  // Serves `m` on host:port. pinDir: where the datapath is pinned (opened per scrape if needed).
  MetricsServer(DaemonMetrics* m, std::string pinDir, PromLabels build);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds and starts the server thread; an error_code (EADDRINUSE, ...) if it cannot bind.
  [[nodiscard]] std::error_code start(const std::string& host, int port);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Labels of apilb_build_info: version, abi (LB_ABI_VERSION), ingress_mode, kernel (uname -r).
PromLabels buildInfoLabels(const std::string& ingressMode);

}  // namespace lb
