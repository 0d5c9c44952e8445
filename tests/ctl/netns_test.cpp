// SPDX-License-Identifier: Apache-2.0
// lb::otherNetns (bpf/netns.h) over a fake /proc and pin directory (no root): one path per
// namespace (same device and inode = same namespace), pins first, the caller's own left out,
// non-pid entries, FIFOs, directories and missing directories ignored.
#include "bpf/netns.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace lb {
namespace {

namespace fs = std::filesystem;

class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("apilb-netns-" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "ns");
    for (const char* n : {"self", "b", "c"}) std::ofstream(root_ / "ns" / n) << n;
  }
  void TearDown() override { fs::remove_all(root_); }
  // <proc>/<entry>/ns/net -> ns/<target>, like the kernel's magic link.
  void proc(const std::string& entry, const std::string& target) {
    fs::create_directories(root_ / "proc" / entry / "ns");
    fs::create_symlink(root_ / "ns" / target, root_ / "proc" / entry / "ns" / "net");
  }
  std::string p(const std::string& rel) const { return (root_ / rel).string(); }
  fs::path root_;
};

TEST_F(FakeProc, OnePathPerNamespacePinsFirstWithoutTheCallersOwn) {
  proc("thread-self", "self");
  proc("1", "self");  // a process in our namespace
  proc("20", "b");
  proc("21", "b");    // same namespace as 20
  proc("net", "c");   // not a pid
  fs::create_directories(root_ / "pins");
  fs::create_symlink(root_ / "ns" / "c", root_ / "pins" / "cni-1");
  std::vector<std::string> got = otherNetns(p("proc"), {p("pins"), p("missing")});
  EXPECT_EQ(got, (std::vector<std::string>{p("pins/cni-1"), p("proc/20/ns/net")}));
}

TEST_F(FakeProc, APinnedNamespaceOfAProcessIsListedOnce) {
  proc("thread-self", "self");
  proc("7", "b");
  fs::create_directories(root_ / "pins");
  fs::create_symlink(root_ / "ns" / "b", root_ / "pins" / "pod");
  EXPECT_EQ(otherNetns(p("proc"), {p("pins")}), (std::vector<std::string>{p("pins/pod")}));
}

TEST_F(FakeProc, AFifoOrADirectoryInThePinDirectoryIsNeverListed) {
  proc("thread-self", "self");
  fs::create_directories(root_ / "pins" / "dir");
  ASSERT_EQ(mkfifo(p("pins/fifo").c_str(), 0600), 0);  // opening it for reading would block
  std::ofstream(root_ / "pins" / "file") << "x";
  EXPECT_EQ(otherNetns(p("proc"), {p("pins")}), (std::vector<std::string>{p("pins/file")}));
}

TEST(OtherNetns, NothingToReadIsAnEmptyList) {
  EXPECT_TRUE(otherNetns("/nonexistent-proc", {"/nonexistent-pins"}).empty());
}

TEST(ForEachNetns, UnenterableNamespacesAreSkippedAndNotCounted) {
  size_t calls = 0;
  size_t ran = forEachNetns({"/nonexistent/ns/net"}, [&](const std::string&) {
    calls++;
    return true;
  });
  EXPECT_EQ(ran, 0u);
  EXPECT_EQ(calls, 0u);
}

}  // namespace
}  // namespace lb
