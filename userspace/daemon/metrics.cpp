// SPDX-License-Identifier: Apache-2.0
// Metrics families and the /metrics + /healthz server (see metrics.h).
#include "daemon/metrics.h"

#include <httplib.h>
#include <sys/utsname.h>

#include "bpf/attach.h"
#include "bpf/datapath.h"
#include "bpf/sock_attach.h"
#include "daemon/passive.h"
#include "lb/reasons.h"

namespace lb {
namespace {

// Probe latency buckets (seconds): a healthy apiserver answers /readyz in a few ms; the default
// timeout is 1 s.
const std::vector<double> kProbeBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1,   0.25,   0.5,   1,    2.5,   5};

constexpr HealthState kStates[] = {HealthState::kUnknown, HealthState::kHealthy,
                                   HealthState::kDraining, HealthState::kDead};

// The loop is considered stuck when it has not updated for this long (it updates every 200 ms).
constexpr double kStuckSeconds = 5;

void renderDaemon(PromWriter* w, const DaemonView& v,
                  const std::map<std::string, PromHistogram>& probes,
                  const std::map<std::string, std::map<std::string, uint64_t>>& failures) {
  w->family("apilb_backend_state", "gauge",
            "1 for the backend's current health state, 0 for the others");
  for (const auto& b : v.backends)
    for (HealthState s : kStates)
      w->sample("apilb_backend_state",
                {{"vip", v.vip}, {"backend", b.name}, {"state", healthStateName(s)}},
                b.state == s ? 1 : 0);
  w->family("apilb_probe_duration_seconds", "histogram", "Duration of health probes");
  for (const auto& [name, h] : probes) w->histogram("apilb_probe_duration_seconds", {{"backend", name}}, h);
  w->family("apilb_probe_failures_total", "counter", "Failed health probes by reason");
  for (const auto& [name, reasons] : failures)
    for (const auto& [reason, n] : reasons)
      w->sample("apilb_probe_failures_total", {{"backend", name}, {"reason", reason}},
                static_cast<double>(n));
  w->family("apilb_flows_reset_total", "counter",
            "Local sockets destroyed because their backend died");
  for (const auto& [name, n] : v.flowsReset)
    w->sample("apilb_flows_reset_total", {{"backend", name}}, static_cast<double>(n));
  w->family("apilb_table_publishes_total", "counter", "Maglev tables published by this daemon");
  w->sample("apilb_table_publishes_total", {}, static_cast<double>(v.publishes));
  w->family("apilb_fail_open", "gauge", "1 while no backend is healthy and the last table is kept");
  w->sample("apilb_fail_open", {}, v.failOpen ? 1 : 0);
  w->family("apilb_passive_probes_total", "counter",
            "Probes that answered a datapath signal: the signal confirmed (the probe failed and "
            "decided at once) or cleared (the probe succeeded)");
  for (const auto& [key, n] : v.passiveProbes)
    w->sample("apilb_passive_probes_total",
              {{"backend", std::get<0>(key)},
               {"trigger", std::get<1>(key)},
               {"outcome", std::get<2>(key)}},
              static_cast<double>(n));
}

// Datapath signals of each backend (apilb_signals, since the slot was assigned) and the daemon's
// own syn_unanswered (since it started; only with passive detection on).
void renderSignals(PromWriter* w, const DaemonView& v, const Datapath& dp) {
  w->family("apilb_backend_signals_total", "counter",
            "Passive failure signals seen on each backend's flows, by kind");
  for (const auto& b : v.backends) {
    BackendSignals s;
    if (!dp.backendSignals(b.id, &s)) {
      for (size_t k = 0; k < LB_SIG_HANDSHAKE; k++)
        w->sample("apilb_backend_signals_total",
                  {{"vip", v.vip}, {"backend", b.name}, {"kind", signalKindName(SignalKind(k))}},
                  static_cast<double>(s.n[k]));
    }
    auto it = v.synUnanswered.find(b.name);
    if (it != v.synUnanswered.end())
      w->sample("apilb_backend_signals_total",
                {{"vip", v.vip}, {"backend", b.name}, {"kind", "syn_unanswered"}},
                static_cast<double>(it->second));
  }
}

// Socket mode (cgroup connect() hooks): connects translated to each backend (apilb_sconn) and the
// hook's decisions by reason (apilb_sstats). Absent from a datapath attached before socket mode.
void renderSocket(PromWriter* w, const DaemonView& v, const Datapath& dp) {
  auto connects = sockConnects(dp.pinDir());
  auto reasons = sockCounters(dp.pinDir());
  if (!connects.empty()) {
    w->family("apilb_backend_socket_connects_total", "counter",
              "connect() calls socket mode sent to each backend");
    for (const auto& b : v.backends)
      w->sample("apilb_backend_socket_connects_total", {{"vip", v.vip}, {"backend", b.name}},
                static_cast<double>(b.id < connects.size() ? connects[b.id] : 0));
  }
  if (!reasons.empty()) {
    w->family("apilb_socket_connects_total", "counter",
              "connect() calls to the VIP seen by socket mode's hook, by decision");
    for (uint32_t r = 0; r < reasons.size(); r++)
      w->sample("apilb_socket_connects_total", {{"reason", sockReasonName(r)}},
                static_cast<double>(reasons[r]));
  }
}

void renderDatapath(PromWriter* w, const DaemonView& v, const Datapath& dp) {
  auto counters = dp.counters();
  w->family("apilb_datapath_packets_total", "counter", "Packets by the reason they left a program");
  for (uint32_t r = 0; r < LB_R__MAX; r++)
    w->sample("apilb_datapath_packets_total", {{"reason", reasonName(r)}},
              static_cast<double>(counters[r].packets));
  w->family("apilb_datapath_bytes_total", "counter", "Bytes by the reason they left a program");
  for (uint32_t r = 0; r < LB_R__MAX; r++)
    w->sample("apilb_datapath_bytes_total", {{"reason", reasonName(r)}},
              static_cast<double>(counters[r].bytes));
  w->family("apilb_flows_tracked", "gauge", "Flows in the datapath's flow table");
  w->sample("apilb_flows_tracked", {}, static_cast<double>(dp.flows().size()));
  auto newFlows = dp.backendNewFlows();
  w->family("apilb_backend_new_flows_total", "counter",
            "New flows the datapath sent to each backend");
  for (const auto& b : v.backends) {
    uint64_t n = b.id < newFlows.size() ? newFlows[b.id] : 0;
    w->sample("apilb_backend_new_flows_total", {{"vip", v.vip}, {"backend", b.name}},
              static_cast<double>(n));
  }
  renderSignals(w, v, dp);
  renderSocket(w, v, dp);
}

}  // namespace

std::string probeFailureReason(const ProbeResult& r) {
  switch (r.outcome) {
    case ProbeOutcome::kOk:
      return "";
    case ProbeOutcome::kNotReady:
      return r.result == kProbeCredentials ? r.result : "http_" + r.result;
    case ProbeOutcome::kTimedOut:
      return "timeout";
    case ProbeOutcome::kFailed:
      break;
  }
  for (const char* known : {"refused", "timeout", "reset"})
    if (r.result == known) return known;
  if (r.result.rfind("tls", 0) == 0) return "tls";
  return "error";
}

DaemonMetrics::DaemonMetrics() : lastUpdate_(std::chrono::steady_clock::now()) {}

void DaemonMetrics::observeProbe(const std::string& backend, const ProbeResult& r) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = probeSeconds_.find(backend);
  if (it == probeSeconds_.end()) it = probeSeconds_.emplace(backend, PromHistogram(kProbeBuckets)).first;
  it->second.observe(r.latencyMs / 1000.0);
  std::string reason = probeFailureReason(r);
  if (!reason.empty()) probeFailures_[backend][reason]++;
}

void DaemonMetrics::update(DaemonView v) {
  std::lock_guard<std::mutex> g(mu_);
  view_ = std::move(v);
  lastUpdate_ = std::chrono::steady_clock::now();
}

void DaemonMetrics::setTcOrder(uint64_t moves, bool paused) {
  std::lock_guard<std::mutex> g(mu_);
  tcOrder_ = TcOrder{moves, paused};
}

double DaemonMetrics::sinceUpdate() const {
  std::lock_guard<std::mutex> g(mu_);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - lastUpdate_).count();
}

std::string DaemonMetrics::render(const Datapath* dp, const PromLabels& build) const {
  DaemonView v;
  std::map<std::string, PromHistogram> probes;
  std::map<std::string, std::map<std::string, uint64_t>> failures;
  std::optional<TcOrder> tc;
  {
    std::lock_guard<std::mutex> g(mu_);
    v = view_;
    probes = probeSeconds_;
    failures = probeFailures_;
    tc = tcOrder_;
  }
  PromWriter w;
  w.family("apilb_build_info", "gauge", "Version, map ABI, ingress mode and kernel of this apilb");
  w.sample("apilb_build_info", build, 1);
  renderDaemon(&w, v, probes, failures);
  if (tc) {
    w.family("apilb_tc_order_moves_total", "counter",
             "apilb's tc programs moved back in front of a program put before them");
    w.sample("apilb_tc_order_moves_total", {}, static_cast<double>(tc->moves));
    w.family("apilb_tc_order_paused", "gauge",
             "1 while apilb leaves its tc programs behind one that keeps putting itself first");
    w.sample("apilb_tc_order_paused", {}, tc->paused ? 1 : 0);
  }
  if (dp) renderDatapath(&w, v, *dp);
  return w.text();
}

PromLabels buildInfoLabels(const std::string& ingressMode) {
  utsname u{};
  uname(&u);
  return {{"version", APILB_VERSION},
          {"abi", std::to_string(LB_ABI_VERSION)},
          {"ingress_mode", ingressMode},
          {"kernel", u.release}};
}

struct MetricsServer::Impl {
  DaemonMetrics* metrics;
  std::string pinDir;
  PromLabels build;
  httplib::Server server;
  std::thread thread;
  std::unique_ptr<Datapath> dp;  // server thread only
  std::mutex dpMu;

  const Datapath* datapath() {
    if (!dp) {
      try {
        dp = std::make_unique<Datapath>(Datapath::open(pinDir));
      } catch (const std::exception&) {
        return nullptr;  // detached: datapath families are omitted
      }
    }
    return dp.get();
  }
};

MetricsServer::MetricsServer(DaemonMetrics* m, std::string pinDir, PromLabels build)
    : impl_(std::make_unique<Impl>()) {
  impl_->metrics = m;
  impl_->pinDir = std::move(pinDir);
  impl_->build = std::move(build);
}

MetricsServer::~MetricsServer() { stop(); }

std::error_code MetricsServer::start(const std::string& host, int port) {
  Impl* im = impl_.get();
  // One worker: scrapes are rare and short, and they serialise on the datapath fds anyway.
  im->server.new_task_queue = [] { return new httplib::ThreadPool(1); };
  im->server.Get("/metrics", [im](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> g(im->dpMu);
    res.set_content(im->metrics->render(im->datapath(), im->build),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  im->server.Get("/healthz", [im](const httplib::Request&, httplib::Response& res) {
    double age = im->metrics->sinceUpdate();
    bool attached;
    {
      std::lock_guard<std::mutex> g(im->dpMu);
      attached = im->datapath() != nullptr && isAttached(im->pinDir);
    }
    if (age > kStuckSeconds) {
      res.status = 503;
      res.set_content("event loop stuck for " + std::to_string(static_cast<int>(age)) + " s\n",
                      "text/plain");
    } else if (!attached) {
      res.status = 503;
      res.set_content("datapath not attached at " + im->pinDir + "\n", "text/plain");
    } else {
      res.set_content("ok\n", "text/plain");
    }
  });
  if (!im->server.bind_to_port(host.c_str(), port))
    return std::error_code(errno ? errno : EADDRINUSE, std::generic_category());
  im->thread = std::thread([im] { im->server.listen_after_bind(); });
  return {};
}

void MetricsServer::stop() {
  if (!impl_) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace lb
