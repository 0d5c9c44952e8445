// SPDX-License-Identifier: Apache-2.0
// PassiveDetector: turns the datapath's per-backend signal counters (apilb_signals, read every
// kSignalPollMs by the daemon loop) into "probe this backend now" requests, and tells the loop
// which probe answers a signal. Pure logic, time passed in, so the rules are unit-tested:
//
//   * A signal is a counter that moved since the last poll: the datapath's rst_syn,
//     icmp_unreach, syn_retx, rst_est (maps/apilb_maps.h, enum lb_signal), or syn_unanswered,
//     derived here: SYNs went to the backend (apilb_bstats new_flows) and no SYN-ACK (handshake
//     counter) came back for kSynSilence.
//   * A signal never changes a backend's state. It makes the backend a suspect and asks for a
//     probe now; a probe that *started after* the signal answers it: a success clears the
//     suspicion, a failure confirms it (the daemon then decides at once instead of waiting for
//     probe_fall failures: the datapath already saw the failure on real traffic, the probe shows
//     it is current and not an artefact of that traffic).
//   * Rate limit: at most one signal-triggered probe per backend per `recheck` (the daemon's
//     interval/5); a flood of signals costs no more probes than a backend in flux already gets.
//
// Not thread-safe: the daemon loop owns it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bpf/datapath.h"

namespace lb {

// What made the daemon suspect a backend. The first four are the datapath's (enum lb_signal).
enum class SignalKind : uint8_t { kRstSyn, kIcmpUnreach, kSynRetx, kRstEst, kSynUnanswered };
inline constexpr size_t kSignalKinds = 5;
// "rst_syn", "icmp_unreach", "syn_retx", "rst_est", "syn_unanswered" (metrics labels, logs).
const char* signalKindName(SignalKind k);

// How often the daemon loop reads the counters while passive detection is on.
inline constexpr int kSignalPollMs = 50;
// SYNs without any SYN-ACK for this long make syn_unanswered. A healthy backend on the node's
// network answers within milliseconds; this only asks for a probe, so a slow link costs a probe.
inline constexpr std::chrono::milliseconds kSynSilence{200};

class PassiveDetector {
 public:
  using Clock = std::chrono::steady_clock;

  // What one poll found for one backend.
  struct Observation {
    std::array<uint64_t, kSignalKinds> signals{};  // new events by SignalKind
    bool any() const;
  };

  // A finished probe's relation to the backend's signals.
  struct Answer {
    bool answers = false;  // the probe started after a pending signal was seen
    SignalKind trigger{};  // the first pending signal's kind (valid when answers)
  };

  // recheck: the minimum time between two signal-triggered probes of one backend.
  explicit PassiveDetector(Clock::duration recheck) : recheck_(recheck) {}

  // Forgets everything and tracks n backends (indexes 0..n-1); the next observe() of each only
  // takes its baseline.
  void reset(size_t n);
  // One poll of backend i's counters at `now`. A counter that went down (slot re-assigned,
  // datapath re-attached) is a new baseline, not a signal. watch = false (a backend whose state
  // signals cannot change: unknown, dead): the signals are returned but none becomes pending.
  Observation observe(size_t i, const BackendSignals& c, Clock::time_point now, bool watch);
  // Whether backend i should be probed now: a signal is pending and no signal-triggered probe
  // was requested within `recheck`. Records the request when true.
  bool takeProbeRequest(size_t i, Clock::time_point now);
  // A probe of backend i that started at `started` finished, with whatever outcome (the daemon
  // acts on it). Clears the pending signals it answers.
  Answer onProbe(size_t i, Clock::time_point started);
  // A signal of backend i is waiting for a probe that answers it.
  bool suspect(size_t i) const;

 private:
  struct Backend {
    bool baseline = false;
    BackendSignals last;
    std::optional<Clock::time_point> pendingSince;  // first unanswered signal
    SignalKind trigger{};
    std::optional<Clock::time_point> lastRequest;
    std::optional<Clock::time_point> synWaitSince;  // SYNs sent, no SYN-ACK since
  };
  void synClock(Backend* b, uint64_t newSyns, uint64_t answers, Clock::time_point now,
                Observation* o);

  Clock::duration recheck_;
  std::vector<Backend> backends_;
};

}  // namespace lb
