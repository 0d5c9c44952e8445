// SPDX-License-Identifier: Apache-2.0
// Health state machine tests: rise/fall hysteresis, drain vs dead, transitions reported once
// with their reason, and the datapath decision (usable set, adoption, fail-open).
#include "daemon/health.h"
#include "daemon/metrics.h"

#include <gtest/gtest.h>

extern "C" {
#include "apilb_maps.h"
}

namespace lb {
namespace {

const ProbeResult kOk{ProbeOutcome::kOk, "200", "", 1.0};
const ProbeResult k503{ProbeOutcome::kNotReady, "503", "HTTP 503", 1.0};
const ProbeResult kRefused{ProbeOutcome::kFailed, "refused", "Connection refused", 0.1};
const ProbeResult kReset{ProbeOutcome::kFailed, "reset", "Connection reset by peer", 0.2};
const ProbeResult kTimeout{ProbeOutcome::kTimedOut, "timeout", "Timeout after 1000 ms", 1000};

struct Machine {
  BackendHealth h;
  uint32_t rise = 2, fall = 2;
  std::chrono::milliseconds timeoutDeadAfter{10000};
  WallTime now = WallTime(std::chrono::seconds(100));  // advances 1 s per probe
  int transitions = 0;
  std::string lastReason;
  HealthState feed(const ProbeResult& r) {
    now += std::chrono::seconds(1);
    auto t = recordProbe(&h, r, {rise, fall, timeoutDeadAfter}, now);
    if (t) {
      transitions++;
      lastReason = t->reason;
      EXPECT_NE(t->from, t->to);
    }
    return h.state;
  }
};

TEST(Health, RiseNeedsConsecutiveSuccesses) {
  Machine m;
  EXPECT_EQ(m.feed(kOk), HealthState::kUnknown);
  EXPECT_EQ(m.feed(kOk), HealthState::kHealthy);
  EXPECT_EQ(m.transitions, 1);
  EXPECT_EQ(m.lastReason, "2 consecutive successes, last: 200");
  EXPECT_EQ(m.feed(kOk), HealthState::kHealthy);
  EXPECT_EQ(m.transitions, 1);  // logged once
  EXPECT_EQ(m.h.successes, 3u);
}

TEST(Health, FallIsHysteresis) {
  Machine m;
  m.feed(kOk);
  m.feed(kOk);
  EXPECT_EQ(m.feed(kRefused), HealthState::kHealthy);  // one failure is not enough
  EXPECT_EQ(m.feed(kOk), HealthState::kHealthy);       // success resets the count
  EXPECT_EQ(m.feed(kRefused), HealthState::kHealthy);
  EXPECT_EQ(m.feed(kReset), HealthState::kDead);
  EXPECT_EQ(m.lastReason, "2 consecutive failures, last: reset (Connection reset by peer)");
  EXPECT_EQ(m.h.failures, 2u);
  EXPECT_EQ(m.h.successes, 0u);
}

TEST(Health, NotReadyIsDrainingNotDead) {
  Machine m;
  m.feed(kOk);
  m.feed(kOk);
  m.feed(k503);
  EXPECT_EQ(m.feed(k503), HealthState::kDraining);
  EXPECT_EQ(m.lastReason, "2 consecutive failures, last: 503 (HTTP 503)");
  EXPECT_EQ(m.feed(k503), HealthState::kDraining);
  int before = m.transitions;
  // The apiserver then stops listening: refused twice -> dead.
  EXPECT_EQ(m.feed(kRefused), HealthState::kDraining);
  EXPECT_EQ(m.feed(kRefused), HealthState::kDead);
  EXPECT_EQ(m.transitions, before + 1);
  // It comes back: 503 while starting, then ready.
  m.feed(k503);
  EXPECT_EQ(m.feed(k503), HealthState::kDraining);
  m.feed(kOk);
  EXPECT_EQ(m.feed(kOk), HealthState::kHealthy);
}

TEST(Health, LastResultDecidesTheKindOfFailure) {
  Machine m;
  m.feed(kOk);
  m.feed(kOk);
  m.feed(kRefused);
  EXPECT_EQ(m.feed(k503), HealthState::kDraining);  // it answers now
  Machine n;
  n.feed(kOk);
  n.feed(kOk);
  n.feed(k503);
  EXPECT_EQ(n.feed(kRefused), HealthState::kDead);
}

TEST(Health, UnknownGoesStraightToDead) {
  Machine m;
  m.fall = 3;
  m.feed(kRefused);
  m.feed(kRefused);
  EXPECT_EQ(m.h.state, HealthState::kUnknown);
  EXPECT_EQ(m.feed(kRefused), HealthState::kDead);
}

TEST(Health, RiseOneFallOne) {
  Machine m;
  m.rise = m.fall = 1;
  EXPECT_EQ(m.feed(kOk), HealthState::kHealthy);
  EXPECT_EQ(m.feed(kRefused), HealthState::kDead);
  EXPECT_EQ(m.feed(kOk), HealthState::kHealthy);
  EXPECT_EQ(m.transitions, 3);
}

// Timeouts alone: draining after `fall`, dead once they have lasted timeoutDeadAfter (10 s),
// counted from the first timeout. Probes here complete 1 s apart.
TEST(Health, TimeoutsDrainThenDieAfterTheGrace) {
  Machine m;
  m.feed(kOk);
  m.feed(kOk);
  EXPECT_EQ(m.feed(kTimeout), HealthState::kHealthy);  // first timeout at t0
  EXPECT_EQ(m.feed(kTimeout), HealthState::kDraining);
  EXPECT_EQ(m.lastReason, "2 consecutive failures, last: timeout (Timeout after 1000 ms)");
  for (int i = 2; i < 10; i++) EXPECT_EQ(m.feed(kTimeout), HealthState::kDraining) << i;  // t0+9s
  EXPECT_EQ(m.feed(kTimeout), HealthState::kDead);  // t0 + 10 s
  EXPECT_EQ(m.lastReason,
            "11 consecutive failures, last: timeout (Timeout after 1000 ms); timing out for "
            "10000 ms");
  EXPECT_EQ(m.transitions, 3);
}

TEST(Health, ASuccessRestartsTheTimeoutGrace) {
  Machine m;
  m.feed(kOk);
  m.feed(kOk);
  for (int i = 0; i < 9; i++) m.feed(kTimeout);
  EXPECT_EQ(m.h.state, HealthState::kDraining);
  m.feed(kOk);  // alive after all (rise 2: still draining)
  EXPECT_EQ(m.h.state, HealthState::kDraining);
  for (int i = 0; i < 10; i++) EXPECT_EQ(m.feed(kTimeout), HealthState::kDraining) << i;
  EXPECT_EQ(m.feed(kTimeout), HealthState::kDead);
}

TEST(Health, RefusedWhileDrainingOnTimeoutsIsDeadAtOnce) {
  Machine m;
  m.feed(kOk);
  m.feed(kOk);
  m.feed(kTimeout);
  EXPECT_EQ(m.feed(kTimeout), HealthState::kDraining);
  EXPECT_EQ(m.feed(kRefused), HealthState::kDraining);
  EXPECT_EQ(m.feed(kRefused), HealthState::kDead);
  Machine n;  // refused from healthy: dead after fall, as always
  n.feed(kOk);
  n.feed(kOk);
  n.feed(kRefused);
  EXPECT_EQ(n.feed(kRefused), HealthState::kDead);
}

TEST(Health, ZeroGraceMakesTimeoutsDeadAfterFall) {
  Machine m;
  m.timeoutDeadAfter = std::chrono::milliseconds(0);
  m.feed(kOk);
  m.feed(kOk);
  m.feed(kTimeout);
  EXPECT_EQ(m.feed(kTimeout), HealthState::kDead);
}

TEST(Health, RecordsLastProbe) {
  Machine m;
  m.feed(kTimeout);
  EXPECT_TRUE(m.h.lastProbe.has_value());
  EXPECT_EQ(m.h.result, "timeout");
  EXPECT_EQ(m.h.error, "Timeout after 1000 ms");
  EXPECT_DOUBLE_EQ(m.h.latencyMs, 1000);
}

uint32_t flagOf(const Decision& d, uint32_t id) {
  for (auto [i, f] : d.flags)
    if (i == id) return f;
  ADD_FAILURE() << "no flags for " << id;
  return 0xff;
}

using S = HealthState;

TEST(Decide, HealthyBackendsAreTheTable) {
  auto d = decide({{3, S::kHealthy, false},
                   {1, S::kHealthy, false},
                   {2, S::kDraining, false},
                   {4, S::kDead, false}},
                  {1, 2, 3, 4});
  EXPECT_EQ(d.table, (std::vector<uint32_t>{1, 3}));
  EXPECT_FALSE(d.failOpen);
  EXPECT_EQ(flagOf(d, 1), 0u);
  EXPECT_EQ(flagOf(d, 2), LB_BE_F_DRAIN);
  EXPECT_EQ(flagOf(d, 4), LB_BE_F_DOWN);
}

TEST(Decide, AdoptionKeepsThePublishedSetUntilProbesSpeak) {
  // After a restart every backend is unknown; the ones in the pinned table stay usable.
  auto d =
      decide({{0, S::kUnknown, true}, {1, S::kUnknown, true}, {2, S::kUnknown, false}}, {0, 1});
  EXPECT_EQ(d.table, (std::vector<uint32_t>{0, 1}));
  EXPECT_FALSE(d.failOpen);
  // A new backend (not prior usable) joins only once healthy.
  d = decide({{0, S::kUnknown, true}, {1, S::kDead, true}, {2, S::kHealthy, false}}, {0, 1});
  EXPECT_EQ(d.table, (std::vector<uint32_t>{0, 2}));
}

TEST(Decide, AllDownFailsOpenWithLastGoodSet) {
  auto d = decide({{0, S::kDead, true}, {1, S::kDraining, true}, {2, S::kDead, true}}, {0, 2});
  EXPECT_TRUE(d.failOpen);
  EXPECT_EQ(d.table, (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(flagOf(d, 0), 0u);  // in the fail-open table: flows left alone
  EXPECT_EQ(flagOf(d, 2), 0u);
  EXPECT_EQ(flagOf(d, 1), LB_BE_F_DRAIN);
}

TEST(Decide, FailOpenWithoutHistoryUsesAllConfigured) {
  auto d = decide({{5, S::kDead, false}, {7, S::kDead, false}}, {9});  // 9 not configured
  EXPECT_TRUE(d.failOpen);
  EXPECT_EQ(d.table, (std::vector<uint32_t>{5, 7}));
}

TEST(Decide, RecoveryLeavesFailOpen) {
  auto d = decide({{0, S::kDead, true}, {1, S::kHealthy, true}}, {0, 1});
  EXPECT_FALSE(d.failOpen);
  EXPECT_EQ(d.table, (std::vector<uint32_t>{1}));
  EXPECT_EQ(flagOf(d, 0), LB_BE_F_DOWN);
}

TEST(Decide, NoBackendsNoTable) {
  auto d = decide({}, {1});
  EXPECT_TRUE(d.table.empty());
  EXPECT_FALSE(d.failOpen);
}

}  // namespace
}  // namespace lb

namespace lb {
namespace {

TEST(ProbeFailureReason, BoundedVocabulary) {
  auto r = [](ProbeOutcome o, const char* result) {
    ProbeResult p;
    p.outcome = o;
    p.result = result;
    return probeFailureReason(p);
  };
  EXPECT_EQ(r(ProbeOutcome::kOk, "200"), "");
  EXPECT_EQ(r(ProbeOutcome::kNotReady, "503"), "http_503");
  EXPECT_EQ(r(ProbeOutcome::kNotReady, "credentials"), "credentials");  // 401/403
  EXPECT_EQ(r(ProbeOutcome::kFailed, "refused"), "refused");
  EXPECT_EQ(r(ProbeOutcome::kFailed, "timeout"), "timeout");
  EXPECT_EQ(r(ProbeOutcome::kFailed, "reset"), "reset");
  EXPECT_EQ(r(ProbeOutcome::kFailed, "tls: certificate verify failed"), "tls");
  EXPECT_EQ(r(ProbeOutcome::kFailed, "error: Couldn't resolve"), "error");
}

}  // namespace
}  // namespace lb
