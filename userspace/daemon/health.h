// SPDX-License-Identifier: Apache-2.0
// Health state machine of one backend and the decision of what the datapath should hold. Pure
// logic (no I/O, time passed in) so rise/fall, drain vs dead and fail-open are unit-tested.
//
//   unknown  --rise successes-->  healthy   (new flows may go there)
//   any      --fall failures, last "answers but not 200" (503, 401, ...)-->  draining
//   any      --fall failures, last refused / reset / TLS error-->  dead
//   any      --fall failures, last a timeout-->  draining  (overloaded is not dead)
//   draining --fall consecutive refused/reset/TLS-->  dead
//   draining --consecutive timeouts for timeoutDeadAfter (from the first one)-->  dead
//   dead     --fall "not 200" answers--> draining;   draining/dead --rise successes--> healthy
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lb {

using WallTime = std::chrono::system_clock::time_point;

enum class HealthState { kUnknown, kHealthy, kDraining, kDead };
const char* healthStateName(HealthState s);  // "unknown" | "healthy" | "draining" | "dead"

enum class ProbeOutcome {
  kOk,        // 200 (https) / connected (tcp)
  kNotReady,  // answered, but not 200: draining
  kFailed,    // refused, TLS failure, reset: dead
  kTimedOut,  // no answer within probe_timeout: draining, dead after timeoutDeadAfter
};

// ProbeResult::result of an HTTP 401/403: the apiserver answers but refuses the probe's identity
// (kNotReady: draining, never dead); reason "credentials" in health.json, status and metrics.
inline constexpr const char* kProbeCredentials = "credentials";

struct ProbeResult {
  ProbeOutcome outcome = ProbeOutcome::kFailed;
  std::string result;  // "200", "503", "credentials", "connected", "refused", "timeout", "tls: ..."
  std::string error;     // human-readable error, "" on success
  double latencyMs = 0;  // time the probe took
  std::chrono::steady_clock::time_point started{};  // when it started (set by the Prober)
};

struct BackendHealth {
  HealthState state = HealthState::kUnknown;
  WallTime since{};                   // when `state` was entered
  std::optional<WallTime> lastProbe;  // completion time of the last probe
  std::string result;                 // last ProbeResult::result
  std::string error;                  // last ProbeResult::error
  double latencyMs = 0;
  uint32_t successes = 0;    // consecutive
  uint32_t failures = 0;     // consecutive, any kind
  uint32_t notReadyRun = 0;  // consecutive "answers but not 200"
  uint32_t failedRun = 0;    // consecutive refused/reset/TLS
  uint32_t timedOutRun = 0;  // consecutive timeouts
  WallTime timeoutsSince{};  // completion of the first of the current timedOutRun
};

struct HealthRules {
  uint32_t rise = 2;  // >= 1
  uint32_t fall = 2;  // >= 1
  // How long consecutive timeouts (counted from the first one) keep a backend draining before
  // it is declared dead.
  std::chrono::milliseconds timeoutDeadAfter{10000};
};

struct Transition {
  HealthState from;
  HealthState to;
  std::string reason;  // e.g. "2 consecutive failures, last: refused (Connection refused)"
};

// Records `r` (completed at `now`) in *h and returns the state change it causes, if any.
// Pure; not thread-safe per BackendHealth.
std::optional<Transition> recordProbe(BackendHealth* h, const ProbeResult& r,
                                      const HealthRules& rules, WallTime now);

// Input to decide(): one configured backend.
struct BackendView {
  uint32_t id;  // apilb_backends_v2 slot
  HealthState state;
  bool priorUsable;         // in the published table before the daemon knew its health (adopted)
  uint32_t priorFlags = 0;  // LB_BE_F_DRAIN/DOWN found in the map; kept while unknown
};

struct Decision {
  std::vector<uint32_t> table;  // ids to publish (sorted, never empty unless no backends)
  bool failOpen = false;        // no backend usable: table is the last good set
  std::vector<std::pair<uint32_t, uint32_t>> flags;  // id -> LB_BE_F_DRAIN/LB_BE_F_DOWN bits
};

// What the datapath should hold. Usable = healthy, or unknown and priorUsable (so adopting a
// running datapath does not change it before the probes have spoken). No usable backend ->
// fail open: keep `lastTable` (restricted to configured ids; all configured ids if that is
// empty); backends in a fail-open table get no DRAIN/DOWN flag so their flows are left alone.
// An unknown backend keeps the DRAIN/DOWN flags it had (priorFlags).
Decision decide(const std::vector<BackendView>& backends, const std::vector<uint32_t>& lastTable);

}  // namespace lb
