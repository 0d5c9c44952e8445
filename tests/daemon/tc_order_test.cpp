// SPDX-License-Identifier: Apache-2.0
// TcOrderKeeper: apilb's classic tc filters are moved back in front on each change, until another
// program keeps putting its own first; then the keeper pauses instead of fighting, and resumes.
#include "daemon/tc_order.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lb {
namespace {

using std::chrono::seconds;
using Clock = TcOrderKeeper::Clock;

class TcOrderTest : public ::testing::Test {
 protected:
  TcOrderTest()
      : keeper_(
            [this] {
              ++checks_;
              TcOrderKeeper::Outcome o;
              for (int i = 0; i < nextMoved_; ++i) o.moves.push_back("moved");
              if (nextFails_) o.failures.push_back("cannot check");
              return o;
            },
            [this](const std::string& m) { log_.push_back(m); },
            TcOrderKeeper::Limits{5, seconds(60), seconds(30)}) {}

  int countLog(const std::string& part) const {
    int n = 0;
    for (const auto& l : log_) n += l.find(part) != std::string::npos;
    return n;
  }

  Clock::time_point t0_ = Clock::now();
  int checks_ = 0;
  int nextMoved_ = 1;
  bool nextFails_ = false;
  std::vector<std::string> log_;
  TcOrderKeeper keeper_;
};

TEST_F(TcOrderTest, EveryChangeIsCheckedAndItsLinesLogged) {
  nextMoved_ = 0;
  for (int i = 0; i < 20; ++i) keeper_.onChange(t0_ + seconds(i));
  EXPECT_EQ(checks_, 20);
  EXPECT_FALSE(keeper_.paused());
  nextFails_ = true;
  keeper_.onChange(t0_ + seconds(21));
  EXPECT_EQ(countLog("cannot check"), 1);
}

TEST_F(TcOrderTest, ARepeatedFailureIsLoggedOncePerWindow) {
  nextMoved_ = 0;
  nextFails_ = true;
  for (int i = 0; i < 59; ++i) keeper_.onChange(t0_ + seconds(i));  // every second, as on tcx
  EXPECT_EQ(checks_, 59);
  EXPECT_EQ(countLog("cannot check"), 1);
  keeper_.onChange(t0_ + seconds(60));
  EXPECT_EQ(countLog("cannot check"), 2) << "not said again after the window";
  EXPECT_FALSE(keeper_.paused()) << "failures are no moves";
}

TEST_F(TcOrderTest, MovesSpreadOverTheWindowNeverPause) {
  for (int i = 0; i < 30; ++i) keeper_.onChange(t0_ + seconds(13 * i));  // at most 5 per 60 s
  EXPECT_FALSE(keeper_.paused());
  EXPECT_EQ(checks_, 30);
  EXPECT_EQ(countLog("moved"), 30);
}

TEST_F(TcOrderTest, AFightPausesOnceThenChangesAreIgnored) {
  for (int i = 0; i < 6; ++i) keeper_.onChange(t0_ + std::chrono::milliseconds(100 * i));
  EXPECT_TRUE(keeper_.paused());
  EXPECT_EQ(countLog("moved back in front 6 times within 60 s"), 1);
  EXPECT_EQ(countLog("for 30 s"), 1);
  for (int i = 0; i < 50; ++i) keeper_.onChange(t0_ + seconds(1 + i / 10));
  EXPECT_EQ(checks_, 6) << "checked while paused";
  keeper_.onTick(t0_ + seconds(29));
  EXPECT_TRUE(keeper_.paused()) << "resumed before the pause was over";
  EXPECT_EQ(checks_, 6);
}

TEST_F(TcOrderTest, ATickAfterThePauseResumesWithACheck) {
  for (int i = 0; i < 6; ++i) keeper_.onChange(t0_);
  ASSERT_TRUE(keeper_.paused());
  nextMoved_ = 1;
  keeper_.onTick(t0_ + seconds(30));
  EXPECT_FALSE(keeper_.paused());
  EXPECT_EQ(checks_, 7);
  EXPECT_EQ(countLog("again after a 30 s pause"), 1);
  // The count starts afresh: five more moves are allowed, the sixth pauses again.
  for (int i = 0; i < 4; ++i) keeper_.onChange(t0_ + seconds(31 + i));
  EXPECT_FALSE(keeper_.paused());
  keeper_.onChange(t0_ + seconds(36));
  EXPECT_TRUE(keeper_.paused());
}

TEST_F(TcOrderTest, SeveralHooksMovedInOneCheckCountEach) {
  nextMoved_ = 3;  // apilb0, lo, eth0 at once
  keeper_.onChange(t0_);
  EXPECT_FALSE(keeper_.paused());
  EXPECT_EQ(keeper_.movesTotal(), 3u);
  keeper_.onChange(t0_ + seconds(1));
  EXPECT_TRUE(keeper_.paused());
  EXPECT_EQ(keeper_.movesTotal(), 6u) << "the total (a metric) counts every move";
}

TEST_F(TcOrderTest, TicksWithoutAPauseDoNothing) {
  for (int i = 0; i < 10; ++i) keeper_.onTick(t0_ + seconds(i));
  EXPECT_EQ(checks_, 0);
  EXPECT_TRUE(log_.empty());
}

}  // namespace
}  // namespace lb
