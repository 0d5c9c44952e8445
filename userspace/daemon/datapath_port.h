// SPDX-License-Identifier: Apache-2.0
// DatapathPort: the slice of the pinned-map API (bpf/datapath.h) the daemon uses, as an
// interface so the reconciler runs against a fake in unit tests; SocketKiller: terminates the
// local client sockets of tracked flows. makeDatapathPort()/makeSockDiagKiller() return the real
// implementations (libbpf maps; netlink SOCK_DESTROY).
#pragma once

#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "bpf/datapath.h"

namespace lb {

class DatapathPort {
 public:
  virtual ~DatapathPort() = default;
  virtual std::vector<VipInfo> vips() const = 0;
  virtual std::vector<BackendInfo> backends() const = 0;
  // Datapath::ifaceProblem: "" or why replies from ep would not come back through apilb.
  virtual std::string ifaceProblem(const Endpoint& ep) const = 0;
  [[nodiscard]] virtual std::error_code addBackend(uint32_t vipId, const Endpoint& ep,
                                                   uint16_t weight, uint32_t* idOut) = 0;
  [[nodiscard]] virtual std::error_code removeBackend(uint32_t id) = 0;
  [[nodiscard]] virtual std::error_code setBackendFlags(uint32_t id, uint32_t set,
                                                        uint32_t clear) = 0;
  // Atomic swap of vipId's Maglev table to `ids` (never empty).
  [[nodiscard]] virtual std::error_code publishTable(uint32_t vipId,
                                                     const std::vector<uint32_t>& ids) = 0;
  virtual std::vector<uint32_t> table(uint32_t vipId) const = 0;
  [[nodiscard]] virtual std::error_code setVipFlags(uint32_t vipId, uint32_t set,
                                                    uint32_t clear) = 0;
  virtual std::vector<FlowInfo> flows() const = 0;
  [[nodiscard]] virtual std::error_code deleteFlowsTo(uint32_t id, size_t* n) = 0;
  // Datapath::backendSignals: backend slot id's passive-detection counters. This default is a
  // datapath without them (ENOTSUP: passive detection off).
  [[nodiscard]] virtual std::error_code backendSignals(uint32_t id, BackendSignals* out) const {
    (void)id;
    (void)out;
    return std::make_error_code(std::errc::not_supported);
  }
  // Socket mode: cookies of the open sockets the connect hook sent to backend id (none in
  // packet mode).
  virtual std::vector<uint64_t> socketCookiesTo(uint32_t /*id*/) const { return {}; }
  // Datapath::refreshRoutes: re-resolves every backend's egress device and next hop after a
  // route/link/address change (pin false: clears the next hops). This default changes nothing.
  [[nodiscard]] virtual std::error_code refreshRoutes(std::vector<std::string>* /*changes*/,
                                                      bool /*pin*/) {
    return {};
  }
  // Whether addBackend stores the route's next hop in the slot: only while someone keeps it
  // current (the daemon, reading route notifications). Off by default.
  virtual void setPinNextHops(bool /*on*/) {}
};

class SocketKiller {
 public:
  virtual ~SocketKiller() = default;
  // Destroys the local sockets whose tuple is the flow's {src, sport} -> {dst, dport}. Returns
  // how many were destroyed; sockets not found (not local, already closed) are skipped.
  virtual size_t destroy(const std::vector<lb_flow_key>& flows) = 0;
  // Socket mode: destroys the local sockets with these cookies; returns how many.
  virtual size_t destroyCookies(const std::vector<uint64_t>& /*cookies*/) { return 0; }
};

// Opens the maps pinned under pinDir. Throws std::system_error (ENOENT: nothing attached).
std::unique_ptr<DatapathPort> makeDatapathPort(const std::string& pinDir);

// SOCK_DESTROY over NETLINK_SOCK_DIAG (lb::SockDiag, bpf/sock_destroy.h) in the current netns.
// Throws std::system_error if the netlink socket cannot be opened.
// pods: also search other network namespaces for socket-mode connections (socket mode, --pods).
std::unique_ptr<SocketKiller> makeSockDiagKiller(bool pods = false);

}  // namespace lb
