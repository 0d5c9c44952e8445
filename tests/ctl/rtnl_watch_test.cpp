// SPDX-License-Identifier: Apache-2.0
// RtnlWatch (root): a watch wakes for its own rtnetlink groups and not for the others' -- the
// daemon's tc watch (apilb's classic filters kept first) for qdiscs and filters, its route watch
// (the backends' next hops) for routes, links and addresses.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "bpf/netlink.h"
#include "bpf/system.h"
#include "netns.h"

namespace lb {
namespace {

class RtnlWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing;
    if (!havePrivileges(&missing)) GTEST_SKIP() << "needs " << missing;
    ns_ = std::make_unique<test::PrivateNetns>();  // commands below run in it (forked from here)
    ASSERT_TRUE(ns_->ok()) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    ASSERT_FALSE(tc_.open(kTcChangeGroups));
    ASSERT_FALSE(routes_.open(kRouteChangeGroups));
    ASSERT_FALSE(tc_.drain()) << "a fresh namespace had a tc change pending";
  }
  static int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

  std::unique_ptr<test::PrivateNetns> ns_;
  RtnlWatch tc_, routes_;
};

TEST_F(RtnlWatchTest, TcWatchWakesForAQdiscAddedOrRemovedAndNotForARoute) {
  (void)routes_.drain();  // lo brought up by PrivateNetns
  ASSERT_EQ(run("ip route add 192.0.2.0/24 dev lo"), 0);
  EXPECT_TRUE(routes_.drain());
  EXPECT_FALSE(tc_.drain()) << "a route woke the tc watch";

  ASSERT_EQ(run("tc qdisc add dev lo clsact"), 0);
  EXPECT_TRUE(tc_.drain());
  EXPECT_FALSE(tc_.drain()) << "drain left a notification behind";
  EXPECT_FALSE(routes_.drain()) << "a qdisc woke the route watch";

  ASSERT_EQ(run("tc qdisc del dev lo clsact"), 0);
  EXPECT_TRUE(tc_.drain());
}

TEST_F(RtnlWatchTest, ManyChangesAreOneWakeUp) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(run("tc qdisc add dev lo clsact"), 0);
    ASSERT_EQ(run("tc qdisc del dev lo clsact"), 0);
  }
  EXPECT_TRUE(tc_.drain());
  EXPECT_FALSE(tc_.drain());
}

TEST(RtnlWatch, UnopenedHasNoFdAndNothingToDrain) {
  RtnlWatch w;
  EXPECT_EQ(w.fd(), -1);
  EXPECT_FALSE(w.drain());
}

}  // namespace
}  // namespace lb
