// SPDX-License-Identifier: Apache-2.0
// lb::writeFileAtomic: the one atomic-replace helper of health.json and discovered.json.
#include "lb/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace lb {
namespace {

namespace fs = std::filesystem;

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/apilb-atomic-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string root_;
};

TEST_F(AtomicFile, CreatesDirReplacesAndLeavesNoTemp) {
  std::string dir = root_ + "/a/b";
  ASSERT_FALSE(writeFileAtomic(dir, "x.json", "{}\n"));
  ASSERT_FALSE(writeFileAtomic(dir, "x.json", "{\"a\":1}\n", 0600));
  EXPECT_EQ(read(dir + "/x.json"), "{\"a\":1}\n");
  struct stat st {};
  ASSERT_EQ(stat((dir + "/x.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"x.json"});  // no temp file left behind
}

TEST_F(AtomicFile, FailureIsAnErrorAndTouchesNothing) {
  std::string notDir = root_ + "/file";
  std::ofstream(notDir) << "keep";
  EXPECT_TRUE(writeFileAtomic(notDir, "x.json", "{}"));  // the dir is a file
  EXPECT_EQ(read(notDir), "keep");
  ASSERT_FALSE(writeFileAtomic(root_, "y", "old"));
  ASSERT_EQ(mkdir((root_ + "/z").c_str(), 0755), 0);
  EXPECT_TRUE(writeFileAtomic(root_, "z", "new"));  // rename over a directory fails
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root_)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"file", "y", "z"}));  // temp removed
}

TEST_F(AtomicFile, ConcurrentWritersLeaveOneCompleteFile) {
  std::string a(200000, 'a'), b(300000, 'b');
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; i++)
    ts.emplace_back([&, i] {
      for (int k = 0; k < 10; k++) ASSERT_FALSE(writeFileAtomic(root_, "f", i % 2 ? a : b));
    });
  for (auto& t : ts) t.join();
  std::string got = read(root_ + "/f");
  EXPECT_TRUE(got == a || got == b) << got.size();
}

}  // namespace
}  // namespace lb
