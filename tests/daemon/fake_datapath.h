// SPDX-License-Identifier: Apache-2.0
// In-memory DatapathPort and SocketKiller for the daemon's unit tests: records every publish,
// flag change and socket destruction so tests assert what the reconciler did to the datapath.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <vector>

#include "daemon/datapath_port.h"

namespace lb::test {

inline Endpoint ep(const char* text) {
  Endpoint e;
  std::string err;
  if (!parseEndpoint(text, &e, &err)) throw std::runtime_error(err);
  return e;
}

class FakeDatapath : public DatapathPort {
 public:
  explicit FakeDatapath(const char* vip) {
    VipInfo v{};
    Endpoint e = ep(vip);
    v.key.addr = e.addr;
    v.key.port = htons(e.port);
    v.key.proto = 6;
    v.key.family = e.family;
    v.vip.vip_id = 0;
    v.vip.table_size = 257;
    vips_.push_back(v);
  }

  uint32_t attach(const char* backend, bool inTable = true) {
    uint32_t id = 0;
    std::error_code ec = addBackend(0, ep(backend), 1, &id);
    if (ec) throw std::system_error(ec);
    if (inTable) table_.push_back(id);
    return id;
  }
  void addFlow(uint32_t backendId, uint16_t clientPort) {
    FlowInfo f{};
    f.key.src.w[0] = htonl(0x0a000001);
    f.key.dst = vips_[0].key.addr;
    f.key.sport = htons(clientPort);
    f.key.dport = vips_[0].key.port;
    f.key.family = LB_AF_INET;
    f.fwd.backend_id = backendId;
    flows_.push_back(f);
  }

  std::vector<VipInfo> vips() const override { return vips_; }
  std::vector<BackendInfo> backends() const override {
    std::vector<BackendInfo> v;
    for (const auto& [id, be] : backends_) v.push_back({id, be});
    return v;
  }
  std::string ifaceProblem(const Endpoint& e) const override {
    auto it = problems.find(e.str());
    return it == problems.end() ? "" : it->second;
  }
  std::error_code addBackend(uint32_t vipId, const Endpoint& e, uint16_t weight,
                             uint32_t* idOut) override {
    uint32_t id = 0;
    while (backends_.count(id)) id++;
    lb_backend be{};
    be.addr = e.addr;
    be.port = htons(e.port);
    be.family = e.family;
    be.flags = LB_BE_F_IN_USE;
    be.vip_id = vipId;
    be.weight = weight;
    backends_[id] = be;
    *idOut = id;
    return {};
  }
  std::error_code removeBackend(uint32_t id) override {
    removed.push_back(id);
    backends_.erase(id);
    return {};
  }
  std::error_code setBackendFlags(uint32_t id, uint32_t set, uint32_t clear) override {
    if (!backends_.count(id)) return std::make_error_code(std::errc::no_such_file_or_directory);
    backends_[id].flags = (backends_[id].flags | set) & ~clear;
    flagChanges++;
    return {};
  }
  std::error_code publishTable(uint32_t, const std::vector<uint32_t>& ids) override {
    if (ids.empty()) return std::make_error_code(std::errc::no_such_file_or_directory);
    table_ = ids;
    publishes.push_back(ids);
    return {};
  }
  std::vector<uint32_t> table(uint32_t) const override {
    std::vector<uint32_t> t;  // a "Maglev table": each id several times
    for (int i = 0; i < 3; i++) t.insert(t.end(), table_.begin(), table_.end());
    return t;
  }
  std::error_code setVipFlags(uint32_t, uint32_t set, uint32_t clear) override {
    vips_[0].vip.flags = (vips_[0].vip.flags | set) & ~clear;
    return {};
  }
  std::vector<FlowInfo> flows() const override { return flows_; }
  std::error_code deleteFlowsTo(uint32_t id, size_t* n) override {
    auto it = std::remove_if(flows_.begin(), flows_.end(),
                             [&](const FlowInfo& f) { return f.fwd.backend_id == id; });
    *n = static_cast<size_t>(flows_.end() - it);
    flows_.erase(it, flows_.end());
    return {};
  }

  uint32_t flagsOf(uint32_t id) const { return backends_.at(id).flags; }
  uint32_t vipFlags() const { return vips_[0].vip.flags; }
  size_t flowCount() const { return flows_.size(); }
  // Socket mode: an open translated socket (cookie) to backend id.
  void addSocket(uint32_t backendId, uint64_t cookie) { sockets_[cookie] = backendId; }
  std::vector<uint64_t> socketCookiesTo(uint32_t id) const override {
    std::vector<uint64_t> out;
    for (auto [c, b] : sockets_)
      if (b == id) out.push_back(c);
    return out;
  }
  bool has(uint32_t id) const { return backends_.count(id) > 0; }

  std::vector<std::vector<uint32_t>> publishes;
  std::map<std::string, std::string> problems;  // endpoint -> ifaceProblem reason
  std::vector<uint32_t> removed;
  int flagChanges = 0;

 private:
  std::vector<VipInfo> vips_;
  std::map<uint32_t, lb_backend> backends_;
  std::vector<uint32_t> table_;
  std::vector<FlowInfo> flows_;
  std::map<uint64_t, uint32_t> sockets_;  // cookie -> backend id
};

class FakeKiller : public SocketKiller {
 public:
  size_t destroy(const std::vector<lb_flow_key>& flows) override {
    destroyed.insert(destroyed.end(), flows.begin(), flows.end());
    return flows.size();
  }
  size_t destroyCookies(const std::vector<uint64_t>& cookies) override {
    destroyedCookies.insert(destroyedCookies.end(), cookies.begin(), cookies.end());
    return cookies.size();
  }
  std::vector<lb_flow_key> destroyed;
  std::vector<uint64_t> destroyedCookies;
};

}  // namespace lb::test
