// SPDX-License-Identifier: Apache-2.0
// Reconciler: makes the pinned datapath match a Decision (health.h). It owns the mapping from
// configured backends to apilb_backends_v2 slots, publishes a new Maglev table only when the usable
// set changes, sets DRAIN/DOWN flags and LB_VIP_F_FAIL_OPEN, and terminates the flows of a
// backend the moment it is marked DOWN (socket destruction + flow entry deletion).
//
// Order for a backend that dies: (1) new table without it (no new flows), (2) DOWN flag,
// (3) destroy the local sockets of its tracked flows and delete their entries.
// Errors are logged and retried on the next apply(); nothing throws. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "config/config.h"
#include "daemon/datapath_port.h"
#include "daemon/health.h"

namespace lb {

struct Member {
  uint32_t id;  // apilb_backends_v2 slot
  BackendConfig cfg;
  bool priorUsable;     // in the table found at sync()
  uint32_t priorFlags;  // flags found at sync()
};

// A configured backend the datapath refused (routed via an interface apilb is not attached to,
// no route): not in any slot, never probed into the table, shown in health.json with `reason`.
struct Refused {
  BackendConfig cfg;
  std::string reason;
};

class Reconciler {
 public:
  Reconciler(DatapathPort* port, SocketKiller* killer) : port_(port), killer_(killer) {}

  // Finds `vip` in the datapath, adopts its published table and flags, adds the configured
  // backends that are missing (not published until healthy) and marks the slots of this VIP
  // that are not configured for removal (done by the next apply(), after a republish).
  // A missing backend whose replies would not come back through apilb (Datapath::ifaceProblem)
  // is not added: it is logged and listed in refused(). On failure logs the one-line reason and
  // returns its code: ENOENT (VIP not attached) or addBackend's (ENOSPC: no free slot, ...).
  [[nodiscard]] std::error_code sync(const Endpoint& vip, const std::vector<BackendConfig>& want);

  // Makes the datapath hold `d`: publish if the set changed, VIP fail-open flag, backend flags,
  // flow termination for newly DOWN backends, removal of unconfigured backends.
  void apply(const Decision& d);
  // Terminates flows still tracked to DOWN backends (e.g. a socket that raced the first pass).
  void sweepDown();

  const std::vector<Member>& members() const { return members_; }
  const std::vector<Refused>& refused() const { return refused_; }
  const std::vector<uint32_t>& lastTable() const { return lastTable_; }
  bool failOpen() const { return failOpen_; }
  uint32_t vipId() const { return vipId_; }
  // Total flows terminated so far (for logs and tests).
  size_t flowsTerminated() const { return flowsTerminated_; }
  // Tables published since construction (apilb_table_publishes_total).
  uint64_t publishes() const { return publishes_; }
  // Local sockets destroyed per backend name ("ip:port") because it died or was removed.
  const std::map<std::string, uint64_t>& socketsDestroyed() const { return destroyed_; }

 private:
  std::string nameOf(uint32_t id) const;
  void publish(const std::vector<uint32_t>& table);
  void setFailOpen(bool on, const std::vector<uint32_t>& table);
  void setFlags(uint32_t id, uint32_t want);
  void killFlows(uint32_t id);
  void removeStale();

  DatapathPort* port_;
  SocketKiller* killer_;
  uint32_t vipId_ = 0;
  std::vector<Member> members_;
  std::vector<Refused> refused_;
  std::vector<uint32_t> stale_;            // slots to remove
  std::map<uint32_t, std::string> names_;  // id -> "ip:port" (members and stale)
  std::vector<uint32_t> lastTable_;        // sorted distinct ids in the published table
  std::map<uint32_t, uint32_t> flags_;     // id -> DRAIN|DOWN bits as in the map
  bool failOpen_ = false;
  size_t flowsTerminated_ = 0;
  uint64_t publishes_ = 0;
  std::map<std::string, uint64_t> destroyed_;
};

}  // namespace lb
