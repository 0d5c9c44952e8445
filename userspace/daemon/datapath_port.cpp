// SPDX-License-Identifier: Apache-2.0
// The real DatapathPort (a thin adapter over lb::Datapath) and SocketKiller (over lb::SockDiag).
#include "daemon/datapath_port.h"

#include <chrono>

#include "bpf/netns.h"
#include "bpf/sock_attach.h"
#include "bpf/sock_destroy.h"
#include "daemon/log.h"

namespace lb {
namespace {

class RealDatapath : public DatapathPort {
 public:
  explicit RealDatapath(Datapath dp) : dp_(std::move(dp)) {}
  std::vector<VipInfo> vips() const override { return dp_.vips(); }
  std::vector<BackendInfo> backends() const override { return dp_.backends(); }
  std::string ifaceProblem(const Endpoint& ep) const override { return dp_.ifaceProblem(ep); }
  std::error_code addBackend(uint32_t vipId, const Endpoint& ep, uint16_t weight,
                             uint32_t* idOut) override {
    return dp_.addBackend(vipId, ep, weight, idOut, pin_);
  }
  std::error_code removeBackend(uint32_t id) override { return dp_.removeBackend(id); }
  std::error_code setBackendFlags(uint32_t id, uint32_t set, uint32_t clear) override {
    return dp_.setBackendFlags(id, set, clear);
  }
  std::error_code publishTable(uint32_t vipId, const std::vector<uint32_t>& ids) override {
    return dp_.publishTable(vipId, ids);
  }
  std::vector<uint32_t> table(uint32_t vipId) const override { return dp_.table(vipId); }
  std::error_code setVipFlags(uint32_t vipId, uint32_t set, uint32_t clear) override {
    return dp_.setVipFlags(vipId, set, clear);
  }
  std::vector<FlowInfo> flows() const override { return dp_.flows(); }
  std::error_code deleteFlowsTo(uint32_t id, size_t* n) override {
    return dp_.deleteFlowsTo(id, n);
  }
  std::error_code backendSignals(uint32_t id, BackendSignals* out) const override {
    return dp_.backendSignals(id, out);
  }
  std::vector<uint64_t> socketCookiesTo(uint32_t id) const override {
    return sockCookiesTo(dp_.pinDir(), id);
  }
  std::error_code refreshRoutes(std::vector<std::string>* changes, bool pin) override {
    return dp_.refreshRoutes(changes, pin);
  }
  void setPinNextHops(bool on) override { pin_ = on; }

 private:
  Datapath dp_;
  bool pin_ = false;  // addBackend stores the next hop (only while route notifications are read)
};

// SocketKiller over lb::SockDiag (bpf/sock_destroy.h). With pods (socket mode, --pods) the
// socket-mode connections not found in the daemon's namespace are looked for in every other
// namespace of the node (bpf/netns.h).
class SockDiagKiller : public SocketKiller {
 public:
  explicit SockDiagKiller(bool pods) : pods_(pods) {}
  size_t destroy(const std::vector<lb_flow_key>& flows) override {
    std::error_code ec;
    size_t n = diag_.destroyFlowSockets(flows, &ec);
    if (ec) log::warn("SOCK_DESTROY failed: " + ec.message());
    return n;
  }
  size_t destroyCookies(const std::vector<uint64_t>& cookies) override {
    std::error_code ec;
    std::vector<uint64_t> missing;
    size_t n = diag_.destroyCookieSockets(cookies, &ec, &missing);
    if (ec) log::warn("SOCK_DESTROY (socket mode) failed: " + ec.message());
    if (pods_ && !missing.empty()) n += destroyInPods(missing);
    return n;
  }

 private:
  size_t destroyInPods(const std::vector<uint64_t>& cookies) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> netns = otherNetns();
    std::error_code ec;
    size_t searched = 0, n = 0;
    try {
      n = destroyCookieSocketsIn(netns, cookies, &ec, &searched);
    } catch (const std::exception& e) {  // no thread, no memory: log it, the daemon goes on
      log::error(std::string("socket mode: searching other namespaces failed: ") + e.what());
    }
    if (ec) log::warn("SOCK_DESTROY (socket mode, other namespaces) failed: " + ec.message());
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - t0);
    log::info("socket mode: " + std::to_string(n) + " of " + std::to_string(cookies.size()) +
                  " connections not in this namespace destroyed in other namespaces (searched " +
                  std::to_string(searched) + " of " + std::to_string(netns.size()) + ") in " +
                  std::to_string(us.count()) + " us",
              {{"event", "reset_pods"},
               {"sockets_destroyed", std::to_string(n)},
               {"netns_searched", std::to_string(searched)},
               {"duration_us", std::to_string(us.count())}});
    return n;
  }

  SockDiag diag_;
  bool pods_;
};

}  // namespace

std::unique_ptr<DatapathPort> makeDatapathPort(const std::string& pinDir) {
  return std::make_unique<RealDatapath>(Datapath::open(pinDir));
}

std::unique_ptr<SocketKiller> makeSockDiagKiller(bool pods) {
  return std::make_unique<SockDiagKiller>(pods);
}

}  // namespace lb
