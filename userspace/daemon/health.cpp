// SPDX-License-Identifier: Apache-2.0
// Health state machine and datapath decision (see health.h for the rules).
#include "daemon/health.h"

#include <algorithm>
#include <set>

extern "C" {
#include "apilb_maps.h"
}

namespace lb {
namespace {

std::string describe(const ProbeResult& r) {
  if (r.error.empty() || r.error == r.result) return r.result;
  return r.result + " (" + r.error + ")";
}

std::string countText(uint32_t n, const char* one, const char* many) {
  return std::to_string(n) + " consecutive " + (n == 1 ? one : many);
}

// The state the counters call for, or nullopt to stay.
std::optional<HealthState> target(const BackendHealth& h, const ProbeResult& r,
                                  const HealthRules& rules, WallTime now) {
  const uint32_t rise = rules.rise, fall = rules.fall;
  switch (r.outcome) {
    case ProbeOutcome::kOk:
      if (h.state != HealthState::kHealthy && h.successes >= rise) return HealthState::kHealthy;
      return std::nullopt;
    case ProbeOutcome::kNotReady:
      if (h.state == HealthState::kDraining) return std::nullopt;
      if (h.state == HealthState::kDead)
        return h.notReadyRun >= fall ? std::optional(HealthState::kDraining) : std::nullopt;
      return h.failures >= fall ? std::optional(HealthState::kDraining) : std::nullopt;
    case ProbeOutcome::kFailed:
      if (h.state == HealthState::kDead) return std::nullopt;
      if (h.state == HealthState::kDraining)
        return h.failedRun >= fall ? std::optional(HealthState::kDead) : std::nullopt;
      return h.failures >= fall ? std::optional(HealthState::kDead) : std::nullopt;
    case ProbeOutcome::kTimedOut:
      if (h.state == HealthState::kDead) return std::nullopt;
      if (h.timedOutRun >= fall && now - h.timeoutsSince >= rules.timeoutDeadAfter)
        return HealthState::kDead;
      if (h.state == HealthState::kDraining) return std::nullopt;
      return h.failures >= fall ? std::optional(HealthState::kDraining) : std::nullopt;
  }
  return std::nullopt;
}

void count(BackendHealth* h, ProbeOutcome o, WallTime now) {
  if (o == ProbeOutcome::kTimedOut) {
    if (h->timedOutRun++ == 0) h->timeoutsSince = now;
  } else {
    h->timedOutRun = 0;
  }
  if (o == ProbeOutcome::kOk) {
    h->successes++;
    h->failures = h->notReadyRun = h->failedRun = 0;
    return;
  }
  h->successes = 0;
  h->failures++;
  h->notReadyRun = o == ProbeOutcome::kNotReady ? h->notReadyRun + 1 : 0;
  h->failedRun = o == ProbeOutcome::kFailed ? h->failedRun + 1 : 0;
}

}  // namespace

const char* healthStateName(HealthState s) {
  switch (s) {
    case HealthState::kUnknown:
      return "unknown";
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kDraining:
      return "draining";
    case HealthState::kDead:
      return "dead";
  }
  return "?";
}

std::optional<Transition> recordProbe(BackendHealth* h, const ProbeResult& r,
                                      const HealthRules& rules, WallTime now) {
  count(h, r.outcome, now);
  h->lastProbe = now;
  h->result = r.result;
  h->error = r.error;
  h->latencyMs = r.latencyMs;
  auto to = target(*h, r, rules, now);
  if (!to) return std::nullopt;
  Transition t{h->state, *to, ""};
  if (r.outcome == ProbeOutcome::kOk) {
    t.reason = countText(h->successes, "success", "successes") + ", last: " + r.result;
  } else {
    uint32_t n = (t.from == HealthState::kDraining || t.from == HealthState::kDead)
                     ? std::max({h->notReadyRun, h->failedRun, h->timedOutRun})
                     : h->failures;
    t.reason = countText(n, "failure", "failures") + ", last: " + describe(r);
    if (r.outcome == ProbeOutcome::kTimedOut && *to == HealthState::kDead)
      t.reason += "; timing out for " +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     now - h->timeoutsSince)
                                     .count()) +
                  " ms";
  }
  h->state = *to;
  h->since = now;
  return t;
}

Decision decide(const std::vector<BackendView>& backends, const std::vector<uint32_t>& lastTable) {
  Decision d;
  std::set<uint32_t> usable, configured;
  for (const auto& b : backends) {
    configured.insert(b.id);
    bool ok =
        b.state == HealthState::kHealthy || (b.state == HealthState::kUnknown && b.priorUsable);
    if (ok) usable.insert(b.id);
  }
  if (!usable.empty()) {
    d.table.assign(usable.begin(), usable.end());
  } else {
    d.failOpen = !configured.empty();
    for (uint32_t id : lastTable)
      if (configured.count(id)) d.table.push_back(id);
    if (d.table.empty()) d.table.assign(configured.begin(), configured.end());
    std::sort(d.table.begin(), d.table.end());
    d.table.erase(std::unique(d.table.begin(), d.table.end()), d.table.end());
  }
  for (const auto& b : backends) {
    uint32_t f = b.priorFlags & (LB_BE_F_DRAIN | LB_BE_F_DOWN);
    if (b.state == HealthState::kHealthy) f = 0;
    if (b.state == HealthState::kDraining) f = LB_BE_F_DRAIN;
    if (b.state == HealthState::kDead) f = LB_BE_F_DOWN;
    if (d.failOpen && std::binary_search(d.table.begin(), d.table.end(), b.id)) f = 0;
    d.flags.emplace_back(b.id, f);
  }
  return d;
}

}  // namespace lb
