// SPDX-License-Identifier: Apache-2.0
// BackendSet (see backend_set.h).
#include "daemon/backend_set.h"

#include <algorithm>
#include <set>

namespace lb {

BackendSet::BackendSet(const Endpoint& vip, std::vector<BackendConfig> bootstrap,
                       const std::vector<Endpoint>& persisted, std::vector<std::string>* notes)
    : vip_(vip), bootstrap_(std::move(bootstrap)), persisted_(persisted) {
  std::vector<Endpoint> start;
  for (const auto& b : bootstrap_) start.push_back(b.ep);
  start.insert(start.end(), persisted_.begin(), persisted_.end());
  wanted_ = usable(start, notes);
}

uint16_t BackendSet::weightOf(const Endpoint& ep) const {
  for (const auto& b : bootstrap_)
    if (b.ep == ep) return b.weight;
  return 1;
}

std::vector<BackendConfig> BackendSet::usable(const std::vector<Endpoint>& eps,
                                              std::vector<std::string>* notes) const {
  std::vector<BackendConfig> out;
  std::set<std::string> seen;
  for (const auto& ep : eps) {
    std::string s = ep.str();
    if (!seen.insert(s).second) continue;
    if (ep.family != vip_.family) {
      notes->push_back(s + ": address family differs from the VIP " + vip_.str() + ": not used");
      continue;
    }
    if (ep == vip_) {
      notes->push_back(s + ": is the VIP itself: not used");
      continue;
    }
    if (out.size() >= LB_MAX_BACKENDS) {
      notes->push_back(s + ": more than " + std::to_string(LB_MAX_BACKENDS) +
                       " backends: not used");
      continue;
    }
    out.push_back({ep, weightOf(ep)});
  }
  return out;
}

std::vector<BackendConfig> BackendSet::managed() const {
  std::vector<BackendConfig> out = wanted_;
  for (const auto& [name, l] : leaving_) out.push_back(l.cfg);
  return out;
}

bool BackendSet::replaceWanted(std::vector<BackendConfig> next, Clock::time_point now,
                               std::vector<std::string>* notes) {
  for (const auto& old : wanted_) {
    bool kept = std::any_of(next.begin(), next.end(),
                            [&](const BackendConfig& n) { return n.ep == old.ep; });
    if (!kept && leaving_.emplace(old.ep.str(), Leaving{old, now}).second)
      notes->push_back(old.ep.str() + ": no longer listed: draining, then removed");
  }
  size_t back = 0;
  for (const auto& n : next) back += leaving_.erase(n.ep.str());
  bool wantedChanged = back > 0 || next != wanted_;
  wanted_ = std::move(next);
  // A backend that starts or stops leaving changes what the daemon does with it (drain / not)
  // even when managed() lists the same addresses.
  return wantedChanged;
}

bool BackendSet::applyDiscovered(const std::vector<Endpoint>& eps, Clock::time_point now,
                                 std::vector<std::string>* notes) {
  std::vector<BackendConfig> next = usable(eps, notes);
  if (next.empty()) {
    notes->push_back("the EndpointSlice lists no usable apiserver: keeping the " +
                     std::to_string(wanted_.size()) + " backends in use");
    return false;
  }
  discovered_ = true;
  lastDiscovered_.clear();
  for (const auto& b : next) lastDiscovered_.push_back(b.ep);
  return replaceWanted(std::move(next), now, notes);
}

bool BackendSet::setBootstrap(std::vector<BackendConfig> bootstrap, Clock::time_point now,
                              std::vector<std::string>* notes) {
  bootstrap_ = std::move(bootstrap);
  std::vector<Endpoint> eps;
  if (discovered_) {
    eps = lastDiscovered_;
  } else {
    for (const auto& b : bootstrap_) eps.push_back(b.ep);
    eps.insert(eps.end(), persisted_.begin(), persisted_.end());
  }
  return replaceWanted(usable(eps, notes), now, notes);
}

std::vector<Endpoint> BackendSet::leavingExpired(Clock::time_point now) const {
  std::vector<Endpoint> out;
  for (const auto& [name, l] : leaving_)
    if (now - l.since >= kLeaveGrace) out.push_back(l.cfg.ep);
  return out;
}

bool BackendSet::finishLeaving(const Endpoint& ep) { return leaving_.erase(ep.str()) > 0; }

}  // namespace lb
