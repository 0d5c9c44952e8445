// SPDX-License-Identifier: Apache-2.0
// discovered.json: round trip, atomic replace, corrupted / foreign files ignored with a reason.
#include "k8s/discovered_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "fake_apiserver.h"

namespace lb::k8s {
namespace {

namespace fs = std::filesystem;

class Store : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::makeTempDir() + "/data/dir"; }  // not created yet
  void TearDown() override { fs::remove_all(fs::path(dir_).parent_path().parent_path()); }
  std::string file() const { return dir_ + "/discovered.json"; }
  std::string load(DiscoveredSet* out) { return loadDiscovered(dir_, out); }
  std::string dir_;
};

DiscoveredSet sample() {
  DiscoveredSet s;
  Endpoint a, b;
  std::string err;
  EXPECT_TRUE(parseEndpoint("10.0.0.1:6443", &a, &err));
  EXPECT_TRUE(parseEndpoint("[fd00::2]:16443", &b, &err));
  s.backends = {a, b};
  s.saved = std::chrono::system_clock::time_point(std::chrono::seconds(1764580000));
  s.server = "https://169.254.64.43:6443";
  return s;
}

TEST_F(Store, RoundTripCreatesTheDirAndLeavesNoTempFile) {
  ASSERT_EQ(saveDiscovered(dir_, sample()), "");
  DiscoveredSet got;
  ASSERT_EQ(load(&got), "");
  EXPECT_EQ(got.backends, sample().backends);
  EXPECT_EQ(got.saved, sample().saved);
  EXPECT_EQ(got.server, "https://169.254.64.43:6443");
  std::string text = test::readText(file());
  EXPECT_NE(text.find("\"version\": 1"), std::string::npos) << text;
  EXPECT_NE(text.find("\"saved\": \"2025-12-01T09:06:40Z\""), std::string::npos) << text;
  // Overwrite with a smaller set: the file is replaced whole, nothing else in the dir.
  DiscoveredSet one = sample();
  one.backends.resize(1);
  ASSERT_EQ(saveDiscovered(dir_, one), "");
  ASSERT_EQ(load(&got), "");
  EXPECT_EQ(got.backends.size(), 1u);
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) entries += e.path().filename() != "" ? 1 : 0;
  EXPECT_EQ(entries, 1u);
  EXPECT_EQ(fs::status(file()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
}

TEST_F(Store, CorruptedOrForeignFilesAreIgnoredWithAReason) {
  DiscoveredSet got = sample();
  EXPECT_EQ(load(&got), file() + ": No such file or directory");
  fs::create_directories(dir_);
  const std::pair<std::string, std::string> cases[] = {
      {"{\"version\": 1, \"backends\": [\"10.0.0.1:64", ": not JSON"},  // torn write
      {"", ": not JSON"},
      {"[1,2]", ": not JSON"},
      {"{\"backends\": []}", ": version: missing"},
      {"{\"version\": 2, \"backends\": []}", ": version 2, expected 1"},
      {"{\"version\": 1}", ": backends: missing"},
      {"{\"version\": 1, \"backends\": [\"10.0.0.1:6443\", \"10.0.0.2\"]}",
       ": backends[1]: missing port (expected 10.0.0.2:port)"},
      {"{\"version\": 1, \"backends\": [7]}", ": backends[0]: not a string"},
  };
  for (const auto& [text, reason] : cases) {
    test::writeText(file(), text);
    DiscoveredSet untouched = sample();
    EXPECT_EQ(load(&untouched), file() + reason) << text;
    EXPECT_EQ(untouched.backends, sample().backends) << "output changed for " << text;
  }
}

TEST_F(Store, UnwritableDirIsAReasonNotACrash) {
  fs::create_directories(fs::path(dir_).parent_path());
  test::writeText(dir_, "a file where the dir should be");
  std::string err = saveDiscovered(dir_, sample());
  EXPECT_EQ(err.rfind("data dir " + dir_ + ": ", 0), 0u) << err;
}

}  // namespace
}  // namespace lb::k8s
