// SPDX-License-Identifier: Apache-2.0
// Datapath: typed access to the maps that `apilb attach` pinned under the pin dir. The one API
// through which the CLI (backend/status/flows) and the daemon (`apilb run`) change and read the
// running datapath. It never loads or attaches programs (see attach.h for that).
//
// Thread-safety: none; one owner. Errors: open() throws std::system_error (startup); every other
// call returns std::error_code (steady state).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "lb/endpoint.h"

namespace lb {

struct BackendInfo {
  uint32_t id;    // apilb_backends_v2 index
  lb_backend be;  // as stored in the map
  Endpoint endpoint() const;
  // The slot's next hop as text, "" when it has none (the kernel looks the route up per packet).
  std::string nextHop() const;
};

struct VipInfo {
  lb_vip_key key;
  lb_vip vip;
  Endpoint endpoint() const;
};

// Passive-detection counters of one backend slot, summed over CPUs.
struct BackendSignals {
  uint64_t newFlows = 0;                  // apilb_bstats: client SYNs sent to it
  std::array<uint64_t, LB_SIG__MAX> n{};  // apilb_signals, by enum lb_signal
};

struct FlowInfo {
  lb_flow_key key;  // fwd key: client -> VIP
  lb_fwd fwd;
  // The flow's apilb_rev_v2 key: the reply's tuple, backend -> client (lib/flow.h lb_rev_key_of).
  lb_flow_key revKey() const;
};

class Datapath {
 public:
  // Opens the maps pinned under pinDir. Throws std::system_error(ENOENT) when nothing is attached
  // there, or another errno from bpf_obj_get.
  static Datapath open(const std::string& pinDir);

  Datapath(Datapath&&) noexcept;
  Datapath& operator=(Datapath&&) noexcept;
  ~Datapath();

  const std::string& pinDir() const;
  // The record `apilb attach` wrote (devices, interfaces, modes, saved sysctls).
  [[nodiscard]] std::error_code attachRecord(lb_attach_rec* out) const;

  std::vector<VipInfo> vips() const;
  // Adds VIP `vip` (TCP) as vip_id with a Maglev table of tableSize slots (no table published
  // yet). EEXIST if the VIP is already there.
  [[nodiscard]] std::error_code addVip(const Endpoint& vip, uint32_t vipId, uint32_t tableSize);
  // Backends in use (IN_USE slots), ordered by id.
  std::vector<BackendInfo> backends() const;
  std::optional<BackendInfo> findBackend(const Endpoint& ep) const;

  // Why replies from `ep` would not come back through apilb: "" when `ep` is a local address or
  // routed via an interface in the attach record, else the one-line reason (naming the
  // interface). Replies are reverse-translated only on the attached interfaces, so a backend
  // routed elsewhere would black-hole every flow hashed to it. No record yet (attach in progress;
  // attach checks its interfaces itself): "". The route lookup's error is in the reason.
  std::string ifaceProblem(const Endpoint& ep) const;
  // Adds a backend to VIP vipId in a free slot (gen bumped); resolves the egress ifindex with a
  // route lookup and sets LB_BE_F_LOCAL if the address is the node's own. Does not publish.
  // EEXIST: already there; ENOSPC: no free slot; EAFNOSUPPORT: family differs from the VIP's;
  // EXDEV: ifaceProblem(ep) is not empty; ENETUNREACH/EHOSTUNREACH: no route.
  // Safe against concurrent addBackend/removeBackend of any process (SlotLock, pin_lock.h).
  // pinNextHop: store the route's next hop in the slot (lb_backend.nh), which only `apilb run`
  // does: it keeps them current from route notifications. Without it (the CLI) the kernel looks
  // the route up per packet, so route changes are followed without a daemon.
  [[nodiscard]] std::error_code addBackend(uint32_t vipId, const Endpoint& ep, uint16_t weight,
                                           uint32_t* idOut, bool pinNextHop = false);
  // Looks up the route to every backend again and rewrites the slots whose path changed (egress
  // ifindex, next hop, LOCAL) in place: same slot, same gen, so their flows stay. One line per
  // changed backend goes to *changes (may be null). A backend without a route keeps its last
  // path. pinNextHops false clears every next hop (the kernel's per-packet lookup takes over).
  [[nodiscard]] std::error_code refreshRoutes(std::vector<std::string>* changes,
                                              bool pinNextHops = true);
  // Clears the slot. Flows to it are re-picked on their next packet. Does not publish.
  [[nodiscard]] std::error_code removeBackend(uint32_t id);
  // Whether apilb_bports marks port as a backend port (the reverse path's first filter).
  bool isBackendPort(uint16_t port) const;
  // flags = (flags | set) & ~clear, for LB_BE_F_DRAIN / LB_BE_F_DOWN.
  [[nodiscard]] std::error_code setBackendFlags(uint32_t id, uint32_t set, uint32_t clear);

  // Builds VIP vipId's Maglev table from `ids` (or, when nullopt, from every IN_USE backend of
  // the VIP without DRAIN/DOWN) and swaps it in atomically (new inner map, one outer update).
  // Refuses an empty set with ENOENT: the datapath never gets an empty table from here.
  [[nodiscard]] std::error_code publishTable(uint32_t vipId,
                                             std::optional<std::vector<uint32_t>> ids = {});
  // The published table of vipId (backend id per slot).
  std::vector<uint32_t> table(uint32_t vipId) const;
  [[nodiscard]] std::error_code setVipFlags(uint32_t vipId, uint32_t set, uint32_t clear);

  std::vector<FlowInfo> flows() const;
  // Deletes the fwd and rev entries of every flow to backend id; returns how many in *n.
  [[nodiscard]] std::error_code deleteFlowsTo(uint32_t id, size_t* n);

  // Per-reason counters summed over CPUs.
  std::array<lb_stat, LB_R__MAX> counters() const;
  // New flows per backend slot (index = backend id), summed over CPUs; zeroed at addBackend().
  std::vector<uint64_t> backendNewFlows() const;
  // Whether the pinned datapath has apilb_signals (an older apilb attached without it).
  bool hasSignals() const;
  // Passive-detection counters of backend slot id (apilb_signals and its new flows), summed over
  // CPUs; zeroed at addBackend(). ENOTSUP without apilb_signals; errno of the map lookup.
  [[nodiscard]] std::error_code backendSignals(uint32_t id, BackendSignals* out) const;

 private:
  [[nodiscard]] std::error_code setBackendPort(uint16_t port, bool on);
  [[nodiscard]] std::error_code clearBackendStats(uint32_t id);
  struct Fds;
  explicit Datapath(std::string pinDir);
  std::string pinDir_;
  std::unique_ptr<Fds> fds_;
};

}  // namespace lb
