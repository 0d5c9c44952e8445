// SPDX-License-Identifier: Apache-2.0
// Backoff: doubling, jitter within [d/2, d], the cap, reset.
#include "k8s/backoff.h"

#include <gtest/gtest.h>

namespace lb::k8s {
namespace {

using Ms = Backoff::Ms;

TEST(Backoff, DoublesWithJitterAndNeverExceedsTheCap) {
  for (uint32_t seed = 1; seed <= 50; seed++) {
    Backoff b(Ms(100), Ms(1000), seed);
    int64_t base = 100;
    for (int i = 0; i < 40; i++) {
      Ms d = b.next();
      EXPECT_GE(d.count(), base / 2) << "seed " << seed << " attempt " << i;
      EXPECT_LE(d.count(), base) << "seed " << seed << " attempt " << i;
      base = std::min<int64_t>(base * 2, 1000);
    }
  }
}

TEST(Backoff, JitterSpreadsRetriesAndResetStartsOver) {
  std::set<int64_t> seen;
  for (uint32_t seed = 1; seed <= 20; seed++) {
    Backoff b(Ms(1000), Ms(30000), seed);
    for (int i = 0; i < 5; i++) (void)b.next();
    seen.insert(b.next().count());  // the 6th delay, base capped at 30 s
    b.reset();
    EXPECT_EQ(b.failures(), 0u);
    EXPECT_LE(b.next().count(), 1000);
  }
  EXPECT_GT(seen.size(), 10u) << "20 nodes must not retry in lockstep";
  for (int64_t d : seen) EXPECT_LE(d, 30000);
}

}  // namespace
}  // namespace lb::k8s
