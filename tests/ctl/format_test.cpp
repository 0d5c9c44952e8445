// SPDX-License-Identifier: Apache-2.0
// Unit tests of the CLI's pure output helpers (cli/format.h): table layout, durations, flag
// names, slot counting and the daemon's health.json contract.
#include "cli/format.h"

#include <gtest/gtest.h>

extern "C" {
#include "apilb_maps.h"
}

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

TEST(Health, ParsesTheDaemonContract) {
  std::string err;
  auto hf = parseHealth(R"({"backends":[{"address":"1.2.3.4:6443","state":"draining",
      "since":"2026-01-01T00:00:00Z","last_probe":"2026-01-01T00:00:01Z","latency_ms":1.5,
      "error":"HTTP 503","successes":0,"failures":3}],"fail_open":true})",
                        &err);
  ASSERT_TRUE(hf) << err;
  EXPECT_TRUE(hf->failOpen);
  ASSERT_EQ(hf->backends.size(), 1u);
  EXPECT_EQ(hf->backends[0].address, "1.2.3.4:6443");
  EXPECT_EQ(hf->backends[0].state, "draining");
  EXPECT_DOUBLE_EQ(hf->backends[0].latencyMs, 1.5);
  EXPECT_EQ(hf->backends[0].error, "HTTP 503");
  EXPECT_EQ(hf->backends[0].failures, 3u);
}

TEST(Health, RejectsMalformedDocuments) {
  std::string err;
  EXPECT_FALSE(parseHealth("{", &err));
  EXPECT_FALSE(err.empty());
  err.clear();
  EXPECT_FALSE(parseHealth(R"({"fail_open":false})", &err)) << "backends is required";
  EXPECT_FALSE(parseHealth(R"({"backends":[{"state":"healthy"}]})", &err)) << "address required";
}

TEST(Health, MissingFileIsNotAnError) {
  std::string err = "x";
  EXPECT_FALSE(readHealthFile("/nonexistent/apilb/health.json", &err));
  EXPECT_TRUE(err.empty());
}

}  // namespace
}  // namespace lb
