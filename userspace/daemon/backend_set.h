// SPDX-License-Identifier: Apache-2.0
// BackendSet: which apiservers `apilb run` manages when discovery is on (daemon/discovery.h).
// Pure logic, no I/O, time passed in; not thread-safe (the daemon's loop owns it).
//
//   before the first successful LIST: the static `backend` list (the bootstrap) ∪ the persisted
//     discovered set (discovered.json), bootstrap first;
//   from the first LIST on: exactly the discovered set (the bootstrap is replaced).
//
// A backend that leaves the wanted set is "leaving": the daemon keeps it as a draining member
// (out of the table, its flows continue) until it has no flows or kLeaveGrace has passed, then
// calls finishLeaving(); one that comes back before that is wanted again. Addresses of another
// family than the VIP, the VIP itself and backends beyond LB_MAX_BACKENDS are left out with a
// note; an empty discovered set (no ready endpoint) never replaces a non-empty one: the daemon
// keeps what it has rather than holding no apiserver. Weights come from the bootstrap entry of
// the same address, else 1.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "lb/endpoint.h"

namespace lb {

class BackendSet {
 public:
  using Clock = std::chrono::steady_clock;
  // How long a backend that left the EndpointSlice may drain before it is removed anyway.
  static constexpr std::chrono::minutes kLeaveGrace{5};

  BackendSet(const Endpoint& vip, std::vector<BackendConfig> bootstrap,
             const std::vector<Endpoint>& persisted, std::vector<std::string>* notes);

  // What the daemon should manage: the wanted backends, then the leaving ones.
  std::vector<BackendConfig> managed() const;
  const std::vector<BackendConfig>& wanted() const { return wanted_; }
  // True once a discovered set has been applied.
  bool discovered() const { return discovered_; }
  // The last applied discovered set (what discovered.json should hold); empty before.
  const std::vector<Endpoint>& lastDiscovered() const { return lastDiscovered_; }

  // A complete discovered set (a LIST, or a watch event's result). Returns true when managed()
  // or which of them are leaving changed; *notes gets one line per address left out and per
  // backend that starts leaving.
  bool applyDiscovered(const std::vector<Endpoint>& eps, Clock::time_point now,
                       std::vector<std::string>* notes);
  // A new static list (SIGHUP). Before discovery it is the bootstrap again (∪ persisted); after,
  // only the weights it names are used. Returns true when managed() or the leavers changed.
  bool setBootstrap(std::vector<BackendConfig> bootstrap, Clock::time_point now,
                    std::vector<std::string>* notes);

  bool isLeaving(const Endpoint& ep) const { return leaving_.count(ep.str()) > 0; }
  // The leaving backends whose grace has run out at `now`.
  std::vector<Endpoint> leavingExpired(Clock::time_point now) const;
  // Drops a leaving backend (drained); returns true if it was leaving.
  bool finishLeaving(const Endpoint& ep);

 private:
  struct Leaving {
    BackendConfig cfg;
    Clock::time_point since;
  };
  // Filters `eps` (family, VIP, duplicates, limit) into weighted configs.
  std::vector<BackendConfig> usable(const std::vector<Endpoint>& eps,
                                    std::vector<std::string>* notes) const;
  bool replaceWanted(std::vector<BackendConfig> next, Clock::time_point now,
                     std::vector<std::string>* notes);
  uint16_t weightOf(const Endpoint& ep) const;

  Endpoint vip_;
  std::vector<BackendConfig> bootstrap_;
  std::vector<Endpoint> persisted_;
  std::vector<Endpoint> lastDiscovered_;
  std::vector<BackendConfig> wanted_;
  std::map<std::string, Leaving> leaving_;  // by "ip:port"
  bool discovered_ = false;
};

}  // namespace lb
