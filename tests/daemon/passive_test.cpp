// SPDX-License-Identifier: Apache-2.0
// PassiveDetector (userspace/daemon/passive.h): which counter movements are signals, the
// syn_unanswered clock, the per-backend rate limit, and which probe answers a signal.
#include "daemon/passive.h"

#include <gtest/gtest.h>

namespace lb {
namespace {

using Clock = PassiveDetector::Clock;
using std::chrono::milliseconds;

constexpr milliseconds kRecheck{1000};

size_t idx(SignalKind k) { return static_cast<size_t>(k); }

class PassiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    d_.reset(2);
    EXPECT_FALSE(poll(0).any()) << "the first poll only takes the baseline";
  }
  // One poll of backend i after advancing the clock by `step`.
  PassiveDetector::Observation poll(size_t i, milliseconds step = milliseconds(50),
                                    bool watch = true) {
    now_ += step;
    return d_.observe(i, c_[i], now_, watch);
  }
  void syns(size_t i, uint64_t n) { c_[i].newFlows += n; }
  void add(size_t i, unsigned kind, uint64_t n = 1) { c_[i].n[kind] += n; }

  PassiveDetector d_{kRecheck};
  BackendSignals c_[2];
  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1);
};

TEST_F(PassiveTest, EachDatapathCounterIsItsOwnSignalKind) {
  add(0, LB_SIG_RST_SYN, 3);
  add(0, LB_SIG_ICMP_UNREACH);
  add(0, LB_SIG_SYN_RETX, 2);
  add(0, LB_SIG_RST_EST);
  auto o = poll(0);
  EXPECT_EQ(o.signals[idx(SignalKind::kRstSyn)], 3u);
  EXPECT_EQ(o.signals[idx(SignalKind::kIcmpUnreach)], 1u);
  EXPECT_EQ(o.signals[idx(SignalKind::kSynRetx)], 2u);
  EXPECT_EQ(o.signals[idx(SignalKind::kRstEst)], 1u);
  EXPECT_EQ(o.signals[idx(SignalKind::kSynUnanswered)], 0u);
  EXPECT_TRUE(d_.suspect(0));
  EXPECT_FALSE(d_.suspect(1));
  EXPECT_FALSE(poll(0).any()) << "counters that did not move are no signal";
}

TEST_F(PassiveTest, AnsweredHandshakesAreNoSignal) {
  for (int i = 0; i < 20; i++) {
    syns(0, 5);
    add(0, LB_SIG_HANDSHAKE, 5);
    EXPECT_FALSE(poll(0).any());
  }
  EXPECT_FALSE(d_.suspect(0));
}

TEST_F(PassiveTest, SynsWithoutAnswerForTheSilenceTimeAreSynUnanswered) {
  syns(0, 1);
  EXPECT_FALSE(poll(0).any());  // the clock starts here
  EXPECT_FALSE(poll(0, kSynSilence - milliseconds(1)).any());
  auto o = poll(0, milliseconds(1));
  EXPECT_EQ(o.signals[idx(SignalKind::kSynUnanswered)], 1u);
  EXPECT_TRUE(d_.suspect(0));
  // Re-armed only by the next SYN.
  EXPECT_FALSE(poll(0, kSynSilence * 2).any());
  syns(0, 1);
  EXPECT_FALSE(poll(0).any());
  EXPECT_EQ(poll(0, kSynSilence).signals[idx(SignalKind::kSynUnanswered)], 1u);
}

TEST_F(PassiveTest, AnAnswerStopsTheSilenceClock) {
  syns(0, 3);
  poll(0);
  add(0, LB_SIG_HANDSHAKE, 3);
  poll(0, milliseconds(100));
  EXPECT_FALSE(poll(0, kSynSilence).any());
  // More SYNs than answers in one poll restart the clock from that poll.
  syns(0, 4);
  add(0, LB_SIG_HANDSHAKE, 1);
  EXPECT_FALSE(poll(0).any());
  EXPECT_EQ(poll(0, kSynSilence).signals[idx(SignalKind::kSynUnanswered)], 1u);
  // A refusal is an answer too (and a signal of its own).
  syns(0, 1);
  poll(0);
  add(0, LB_SIG_RST_SYN);
  auto o = poll(0, kSynSilence);
  EXPECT_EQ(o.signals[idx(SignalKind::kRstSyn)], 1u);
  EXPECT_EQ(o.signals[idx(SignalKind::kSynUnanswered)], 0u);
}

TEST_F(PassiveTest, CountersGoingDownAreANewBaseline) {
  add(0, LB_SIG_RST_SYN, 10);
  poll(0);
  ASSERT_TRUE(d_.onProbe(0, now_).answers);
  c_[0] = BackendSignals{};  // slot re-assigned: zeroed
  add(0, LB_SIG_RST_SYN, 2);
  EXPECT_FALSE(poll(0).any());
  EXPECT_FALSE(d_.suspect(0));
  add(0, LB_SIG_RST_SYN, 1);
  EXPECT_EQ(poll(0).signals[idx(SignalKind::kRstSyn)], 1u);
}

TEST_F(PassiveTest, ProbeRequestsAreRateLimitedPerBackend) {
  EXPECT_FALSE(d_.takeProbeRequest(0, now_)) << "no signal, no probe";
  add(0, LB_SIG_RST_EST);
  poll(0);
  EXPECT_TRUE(d_.takeProbeRequest(0, now_));
  EXPECT_FALSE(d_.takeProbeRequest(0, now_)) << "one request per signal";
  // A storm of signals: still pending, but no second probe within the recheck time.
  for (int i = 0; i < 10; i++) {
    add(0, LB_SIG_RST_EST, 100);
    poll(0);
    EXPECT_FALSE(d_.takeProbeRequest(0, now_));
  }
  // Backend 1 has its own budget.
  poll(1);
  add(1, LB_SIG_SYN_RETX);
  poll(1);
  EXPECT_TRUE(d_.takeProbeRequest(1, now_));
  now_ += kRecheck;
  EXPECT_TRUE(d_.takeProbeRequest(0, now_));
}

TEST_F(PassiveTest, OnlyAProbeStartedAfterTheSignalAnswersIt) {
  auto before = now_;
  add(0, LB_SIG_RST_SYN);
  poll(0);
  auto seen = now_;
  EXPECT_FALSE(d_.onProbe(0, before).answers) << "a probe already running proves nothing";
  EXPECT_TRUE(d_.suspect(0));
  auto a = d_.onProbe(0, seen + milliseconds(1));
  EXPECT_TRUE(a.answers);
  EXPECT_EQ(a.trigger, SignalKind::kRstSyn);
  EXPECT_FALSE(d_.suspect(0));
  EXPECT_FALSE(d_.onProbe(0, now_).answers) << "answered once";
}

TEST_F(PassiveTest, TheTriggerIsTheFirstPendingSignal) {
  add(0, LB_SIG_SYN_RETX);
  poll(0);
  add(0, LB_SIG_RST_SYN);
  poll(0);
  auto a = d_.onProbe(0, now_);
  EXPECT_EQ(a.trigger, SignalKind::kSynRetx);
}

TEST_F(PassiveTest, UnwatchedBackendsKeepNoPendingSignal) {
  add(0, LB_SIG_RST_SYN);
  auto o = poll(0, milliseconds(50), /*watch=*/false);
  EXPECT_EQ(o.signals[idx(SignalKind::kRstSyn)], 1u);
  EXPECT_FALSE(d_.suspect(0));
  EXPECT_FALSE(d_.takeProbeRequest(0, now_));
  EXPECT_FALSE(d_.onProbe(0, now_).answers);
}

TEST(PassiveNames, KindsHaveStableNames) {
  EXPECT_STREQ(signalKindName(SignalKind::kRstSyn), "rst_syn");
  EXPECT_STREQ(signalKindName(SignalKind::kIcmpUnreach), "icmp_unreach");
  EXPECT_STREQ(signalKindName(SignalKind::kSynRetx), "syn_retx");
  EXPECT_STREQ(signalKindName(SignalKind::kRstEst), "rst_est");
  EXPECT_STREQ(signalKindName(SignalKind::kSynUnanswered), "syn_unanswered");
}

}  // namespace
}  // namespace lb
