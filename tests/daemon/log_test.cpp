// SPDX-License-Identifier: Apache-2.0
// The daemon's log line formats: key=value quoting and JSON (parsed back), one line each.
#include "daemon/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace lb::log {
namespace {

constexpr const char* kTs = "2026-12-01T08:00:00.000Z";

TEST(LogTest, TextIsKeyValueWithQuoting) {
  std::string line =
      render(Format::kText, kTs, Level::kWarn, "backend 10.0.0.2:6443: healthy -> dead",
             {{"event", "state"}, {"backend", "10.0.0.2:6443"}, {"reason", "a \"b\" c=d"}});
  EXPECT_EQ(line,
            "ts=2026-12-01T08:00:00.000Z level=warn msg=\"backend 10.0.0.2:6443: healthy -> dead\" "
            "event=state backend=10.0.0.2:6443 reason=\"a \\\"b\\\" c=d\"\n");
}

TEST(LogTest, TextEscapesNewlinesAndEmptyValues) {
  std::string line = render(Format::kText, kTs, Level::kInfo, "two\nlines", {{"e", ""}});
  EXPECT_EQ(line, "ts=2026-12-01T08:00:00.000Z level=info msg=\"two\\nlines\" e=\"\"\n");
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(LogTest, JsonParsesBack) {
  std::string line = render(Format::kJson, kTs, Level::kError, "x \"y\"\n",
                            {{"event", "reset"}, {"backend", "[fd00::1]:6443"}});
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], kTs);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "x \"y\"\n");
  EXPECT_EQ(j["event"], "reset");
  EXPECT_EQ(j["backend"], "[fd00::1]:6443");
}

TEST(LogTest, JsonSurvivesInvalidUtf8) {
  std::string line = render(Format::kJson, kTs, Level::kInfo, std::string("bad \xff byte"), {});
  EXPECT_TRUE(nlohmann::json::accept(line));
}

TEST(LogTest, ParseLevelAndFormat) {
  Level l;
  Format f;
  EXPECT_TRUE(parseLevel("warn", &l));
  EXPECT_EQ(l, Level::kWarn);
  EXPECT_FALSE(parseLevel("WARN", &l));
  EXPECT_TRUE(parseFormat("json", &f));
  EXPECT_EQ(f, Format::kJson);
  EXPECT_FALSE(parseFormat("yaml", &f));
}

}  // namespace
}  // namespace lb::log
