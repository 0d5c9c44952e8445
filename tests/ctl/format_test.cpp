// SPDX-License-Identifier: Apache-2.0
// Unit tests of the CLI's pure output helpers (cli/format.h): table layout, durations, flag
// names, slot counting and the daemon's health.json contract.
#include "cli/format.h"

#include <gtest/gtest.h>
#include <unistd.h>

extern "C" {
#include "apilb_maps.h"
}

#include "lb/health_doc.h"

namespace lb {
namespace {

TEST(RenderTable, AlignsColumnsAndTrimsTrailingSpace) {
  std::string out = renderTable({{"ID", "ADDRESS", "X"}, {"10", "1.2.3.4:6443", ""}}, "  ");
  EXPECT_EQ(out,
            "  ID  ADDRESS       X\n"
            "  10  1.2.3.4:6443\n");
}

TEST(RenderTable, EmptyInputIsEmpty) { EXPECT_EQ(renderTable({}), ""); }

TEST(FormatDuration, PicksUnitByMagnitude) {
  EXPECT_EQ(formatDuration(850'000'000ull), "850ms");
  EXPECT_EQ(formatDuration(12'000'000'000ull), "12s");
  EXPECT_EQ(formatDuration(184'000'000'000ull), "3m04s");
  EXPECT_EQ(formatDuration((2 * 3600 + 5 * 60) * 1'000'000'000ull), "2h05m");
  EXPECT_EQ(formatDuration((3 * 86400 + 4 * 3600) * 1'000'000'000ull), "3d04h");
}

TEST(BackendFlags, NamesEveryFlagButInUse) {
  EXPECT_EQ(backendFlagsStr(LB_BE_F_IN_USE), "-");
  EXPECT_EQ(backendFlagsStr(LB_BE_F_IN_USE | LB_BE_F_LOCAL | LB_BE_F_DOWN), "local,down");
  EXPECT_EQ(backendFlagNames(LB_BE_F_DRAIN), std::vector<std::string>{"drain"});
}

TEST(SlotCounts, CountsPerIdAndSkipsEmptySlots) {
  auto c = slotCounts({0, 1, 1, LB_NO_BACKEND, 2, 1});
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], 1u);
  EXPECT_EQ(c[1], 3u);
  EXPECT_EQ(c[2], 1u);
}

HealthDoc sampleDoc() {
  HealthDoc d;
  d.vip = "169.254.64.43:6443";
  d.pid = 4242;
  d.pidStart = 987654;
  d.updated = "2026-11-26T18:33:31.000Z";
  d.updatedMs = 1795718011000;
  d.failOpen = true;
  d.table = {"1.2.3.4:6443"};
  d.backends = {{"1.2.3.4:6443", 3, "draining", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z",
                 "503", 1.5, "HTTP 503", 0, 3, true},
                {"[fd00::1]:6443", 4, "unknown", "", "", "", 0, "", 0, 0, false}};
  return d;
}

// The writer (daemon) and the reader (status) share one definition: what is rendered parses back.
TEST(HealthDoc, RoundTrips) {
  HealthDoc d = sampleDoc();
  std::string text = renderHealthDoc(d);
  EXPECT_NE(text.find("\"version\": 1"), std::string::npos) << text;
  std::string err;
  auto back = parseHealthDoc(text, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_TRUE(*back == d);
}

TEST(HealthDoc, RejectsMalformedAndNewerDocuments) {
  std::string err;
  EXPECT_FALSE(parseHealthDoc("{", &err));
  EXPECT_FALSE(err.empty());
  EXPECT_FALSE(parseHealthDoc(R"({"fail_open":false})", &err)) << "backends is required";
  EXPECT_FALSE(parseHealthDoc(R"({"backends":[{"state":"healthy"}]})", &err)) << "address";
  EXPECT_FALSE(parseHealthDoc(R"({"version":2,"backends":[]})", &err));
  EXPECT_EQ(err, "version 2 is newer than this apilb's (1)");
}

TEST(HealthDoc, MissingFileIsNotAnError) {
  std::string err = "x";
  EXPECT_FALSE(readHealthDoc("/nonexistent/apilb/health.json", &err));
  EXPECT_TRUE(err.empty());
}

// Current within 3 write periods of a live writer; stale after; a dead writer wins over age.
TEST(HealthDoc, StalenessAndWriter) {
  HealthDoc d = sampleDoc();
  const int64_t t = d.updatedMs;
  EXPECT_EQ(healthDocState(d, t + 100, true), HealthDocState::kCurrent);
  EXPECT_EQ(healthDocState(d, t + 3 * kHealthWritePeriodMs, true), HealthDocState::kCurrent);
  EXPECT_EQ(healthDocState(d, t + 3 * kHealthWritePeriodMs + 1, true), HealthDocState::kStale);
  EXPECT_EQ(healthDocState(d, t + 100, false), HealthDocState::kWriterGone);
  d.updatedMs = 0;  // a document without a time is never current
  EXPECT_EQ(healthDocState(d, t, true), HealthDocState::kStale);
}

// The pid check: this process has a start time, a recycled pid would have another one.
TEST(HealthDoc, ProcessStartTimeIdentifiesAProcess) {
  uint64_t self = processStartTime(getpid());
  EXPECT_NE(self, 0u);
  EXPECT_EQ(processStartTime(getpid()), self);
  EXPECT_EQ(processStartTime(0), 0u);
  EXPECT_EQ(processStartTime(-1), 0u);
  EXPECT_EQ(processStartTime(1 << 30), 0u);  // above pid_max
}

}  // namespace
}  // namespace lb
