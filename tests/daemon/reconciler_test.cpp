// SPDX-License-Identifier: Apache-2.0
// Reconciler tests against the fake datapath: adoption without republish, death (republish,
// DOWN, sockets destroyed, entries deleted), drain (flows untouched), fail-open and recovery,
// membership changes.
#include "daemon/reconciler.h"

#include <gtest/gtest.h>

#include "fake_datapath.h"

namespace lb {
namespace {

using test::ep;
using S = HealthState;

std::vector<BackendConfig> cfgs(std::initializer_list<const char*> eps) {
  std::vector<BackendConfig> v;
  for (const char* e : eps) v.push_back({ep(e), 1});
  return v;
}

struct Rig {
  test::FakeDatapath dp{"169.254.64.43:6443"};
  test::FakeKiller killer;
  Reconciler rec{&dp, &killer};
  std::map<uint32_t, S> states;

  void step() {
    std::vector<BackendView> views;
    for (const auto& m : rec.members())
      views.push_back(
          {m.id, states.count(m.id) ? states[m.id] : S::kUnknown, m.priorUsable, m.priorFlags});
    rec.apply(decide(views, rec.lastTable()));
  }
};

TEST(Reconciler, AdoptsWithoutRepublishing) {
  Rig r;
  r.dp.attach("10.0.0.11:6443");
  r.dp.attach("10.0.0.12:6443");
  r.dp.addFlow(0, 40000);
  ASSERT_EQ(r.rec.sync(ep("169.254.64.43:6443"), cfgs({"10.0.0.11:6443", "10.0.0.12:6443"})),
            std::error_code());
  r.step();
  EXPECT_TRUE(r.dp.publishes.empty());
  EXPECT_EQ(r.dp.flagChanges, 0);
  r.states = {{0, S::kHealthy}, {1, S::kHealthy}};
  r.step();
  EXPECT_TRUE(r.dp.publishes.empty());  // same set: no new table
  EXPECT_EQ(r.dp.flowCount(), 1u);
}

TEST(Reconciler, UnknownVipIsAnError) {
  Rig r;
  r.dp.attach("10.0.0.11:6443");
  EXPECT_EQ(r.rec.sync(ep("169.254.64.44:6443"), cfgs({"10.0.0.11:6443"})),
            std::errc::no_such_file_or_directory);
}

TEST(Reconciler, BackendOnAnUnattachedInterfaceIsRefusedNotAdded) {
  Rig r;
  r.dp.attach("10.0.0.11:6443");
  r.dp.problems["10.0.9.9:6443"] =
      "backend 10.0.9.9:6443 is reached via eth9, which apilb is not "
      "attached to (attached: eth0)";
  ASSERT_EQ(r.rec.sync(ep("169.254.64.43:6443"), cfgs({"10.0.0.11:6443", "10.0.9.9:6443"})),
            std::error_code());
  ASSERT_EQ(r.rec.members().size(), 1u);
  EXPECT_EQ(r.rec.members()[0].cfg.ep.str(), "10.0.0.11:6443");
  ASSERT_EQ(r.rec.refused().size(), 1u);
  EXPECT_EQ(r.rec.refused()[0].cfg.ep.str(), "10.0.9.9:6443");
  EXPECT_NE(r.rec.refused()[0].reason.find("eth9"), std::string::npos);
  EXPECT_EQ(r.dp.backends().size(), 1u) << "no slot for the refused backend";
  r.dp.problems.clear();  // route fixed: the next sync (SIGHUP) adds it
  ASSERT_EQ(r.rec.sync(ep("169.254.64.43:6443"), cfgs({"10.0.0.11:6443", "10.0.9.9:6443"})),
            std::error_code());
  EXPECT_TRUE(r.rec.refused().empty());
  EXPECT_EQ(r.dp.backends().size(), 2u);
}

TEST(Reconciler, DeadBackendLeavesTableAndItsFlowsAreTerminated) {
  Rig r;
  r.dp.attach("10.0.0.11:6443");
  r.dp.attach("10.0.0.12:6443");
  r.dp.addFlow(0, 40000);
  r.dp.addFlow(1, 40001);
  r.dp.addFlow(1, 40002);
  ASSERT_EQ(r.rec.sync(ep("169.254.64.43:6443"), cfgs({"10.0.0.11:6443", "10.0.0.12:6443"})),
            std::error_code());
  r.states = {{0, S::kHealthy}, {1, S::kDead}};
  r.step();
  ASSERT_EQ(r.dp.publishes.size(), 1u);
  EXPECT_EQ(r.dp.publishes[0], std::vector<uint32_t>{0});
  EXPECT_EQ(r.dp.flagsOf(1), LB_BE_F_IN_USE | LB_BE_F_DOWN);
  ASSERT_EQ(r.killer.destroyed.size(), 2u);
  EXPECT_EQ(ntohs(r.killer.destroyed[0].sport), 40001);
  EXPECT_EQ(r.dp.flowCount(), 1u);  // the flow to the healthy backend stays
  r.step();                         // steady: nothing more
  EXPECT_EQ(r.dp.publishes.size(), 1u);
  EXPECT_EQ(r.killer.destroyed.size(), 2u);
}

TEST(Reconciler, DeadBackendsSocketModeConnectionsAreDestroyedByCookie) {
  Rig r;
  r.dp.attach("10.0.0.11:6443");
  r.dp.attach("10.0.0.12:6443");
  r.dp.addSocket(0, 0x100000001ull);
  r.dp.addSocket(1, 0x100000002ull);
  r.dp.addSocket(1, 0x100000003ull);
  ASSERT_EQ(r.rec.sync(ep("169.254.64.43:6443"), cfgs({"10.0.0.11:6443", "10.0.0.12:6443"})), std::error_code());
  r.states = {{0, S::kHealthy}, {1, S::kDraining}};
  r.step();
  EXPECT_TRUE(r.killer.destroyedCookies.empty()) << "draining keeps connections";
  r.states[1] = S::kDead;
  r.step();
  EXPECT_EQ(r.killer.destroyedCookies, (std::vector<uint64_t>{0x100000002ull, 0x100000003ull}));
}

TEST(Reconciler, DrainingKeepsExistingFlows) {
  Rig r;
  r.dp.attach("10.0.0.11:6443");
  r.dp.attach("10.0.0.12:6443");
  r.dp.addFlow(1, 40001);
  ASSERT_EQ(r.rec.sync(ep("169.254.64.43:6443"), cfgs({"10.0.0.11:6443", "10.0.0.12:6443"})),
            std::error_code());
  r.states = {{0, S::kHealthy}, {1, S::kDraining}};
  r.step();
  EXPECT_EQ(r.dp.publishes.back(), std::vector<uint32_t>{0});
  EXPECT_EQ(r.dp.flagsOf(1), LB_BE_F_IN_USE | LB_BE_F_DRAIN);
  EXPECT_TRUE(r.killer.destroyed.empty());
  EXPECT_EQ(r.dp.flowCount(), 1u);
  r.states[1] = S::kHealthy;  // back: flag cleared, table regains it
  r.step();
  EXPECT_EQ(r.dp.flagsOf(1), LB_BE_F_IN_USE);
  EXPECT_EQ(r.dp.publishes.back(), (std::vector<uint32_t>{0, 1}));
}

TEST(Reconciler, AllDownFailsOpenThenRecovers) {
  Rig r;
  r.dp.attach("10.0.0.11:6443");
  r.dp.attach("10.0.0.12:6443");
  r.dp.addFlow(0, 40000);
  ASSERT_EQ(r.rec.sync(ep("169.254.64.43:6443"), cfgs({"10.0.0.11:6443", "10.0.0.12:6443"})),
            std::error_code());
  r.states = {{0, S::kHealthy}, {1, S::kDead}};
  r.step();
  r.states = {{0, S::kDead}, {1, S::kDead}};
  r.step();
  EXPECT_TRUE(r.rec.failOpen());
  EXPECT_EQ(r.dp.vipFlags() & LB_VIP_F_FAIL_OPEN, LB_VIP_F_FAIL_OPEN);
  EXPECT_EQ(r.dp.publishes.back(), std::vector<uint32_t>{0});  // last good set kept
  EXPECT_EQ(r.dp.flagsOf(0), LB_BE_F_IN_USE);                  // no DOWN in the fail-open table
  EXPECT_EQ(r.dp.flowCount(), 1u);                             // and its flow left alone
  r.states = {{0, S::kDead}, {1, S::kHealthy}};
  r.step();
  EXPECT_FALSE(r.rec.failOpen());
  EXPECT_EQ(r.dp.vipFlags() & LB_VIP_F_FAIL_OPEN, 0u);
  EXPECT_EQ(r.dp.publishes.back(), std::vector<uint32_t>{1});
  EXPECT_EQ(r.dp.flagsOf(0), LB_BE_F_IN_USE | LB_BE_F_DOWN);
  EXPECT_EQ(r.dp.flowCount(), 0u);  // now its flow is terminated
}

TEST(Reconciler, MembershipFollowsConfig) {
  Rig r;
  r.dp.attach("10.0.0.11:6443");
  r.dp.attach("10.0.0.12:6443");
  r.dp.addFlow(1, 40001);
  ASSERT_EQ(r.rec.sync(ep("169.254.64.43:6443"), cfgs({"10.0.0.11:6443", "10.0.0.13:6443"})),
            std::error_code());
  ASSERT_EQ(r.rec.members().size(), 2u);
  uint32_t added = r.rec.members()[1].id;
  EXPECT_FALSE(r.rec.members()[1].priorUsable);
  r.step();  // 12 removed after a table without it; 13 not in the table until healthy
  EXPECT_EQ(r.dp.publishes.back(), std::vector<uint32_t>{0});
  EXPECT_EQ(r.dp.removed, std::vector<uint32_t>{1});
  EXPECT_EQ(r.dp.flowCount(), 0u);
  r.states = {{0, S::kHealthy}, {added, S::kHealthy}};
  r.step();
  EXPECT_EQ(r.dp.publishes.back(), (std::vector<uint32_t>{0, added}));
}

TEST(Reconciler, SweepTerminatesLateFlowsToDownBackends) {
  Rig r;
  r.dp.attach("10.0.0.11:6443");
  r.dp.attach("10.0.0.12:6443");
  ASSERT_EQ(r.rec.sync(ep("169.254.64.43:6443"), cfgs({"10.0.0.11:6443", "10.0.0.12:6443"})),
            std::error_code());
  r.states = {{0, S::kHealthy}, {1, S::kDead}};
  r.step();
  r.dp.addFlow(1, 40009);  // e.g. adopted mid-stream after the first pass
  r.rec.sweepDown();
  EXPECT_EQ(r.dp.flowCount(), 0u);
  EXPECT_EQ(r.killer.destroyed.size(), 1u);
}

}  // namespace
}  // namespace lb
