// SPDX-License-Identifier: Apache-2.0
// Socket mode's pure pieces: the cgroup v2 root found in /proc/mounts (bpf/sock_attach.h) and
// the cookie match of SOCK_DESTROY for socket-mode connections (bpf/sock_destroy.h). No root.
#include "bpf/sock_attach.h"

#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include "bpf/sock_destroy.h"

namespace lb {
namespace {

TEST(CgroupRoot, UnifiedHierarchyAtSysFsCgroup) {
  EXPECT_EQ(cgroupV2RootOf("sysfs /sys sysfs rw 0 0\n"
                           "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n"),
            "/sys/fs/cgroup");
}

TEST(CgroupRoot, HybridHierarchyIsNotSysFsCgroup) {
  EXPECT_EQ(cgroupV2RootOf("tmpfs /sys/fs/cgroup tmpfs ro 0 0\n"
                           "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
                           "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"),
            "/sys/fs/cgroup/unified");
}

TEST(CgroupRoot, PrefersSysFsCgroupOverAnEarlierMount) {
  EXPECT_EQ(cgroupV2RootOf("cgroup2 /run/other cgroup2 rw 0 0\n"
                           "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"),
            "/sys/fs/cgroup");
}

// In a container: the runtime's /sys/fs/cgroup is the cgroup namespace's view, the host's
// hierarchy is bind-mounted elsewhere; the hierarchy's root wins over the preferred path.
TEST(CgroupRoot, TheHierarchysRootBeatsACgroupNamespacesView) {
  const std::string mounts =
      "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
      "cgroup2 /host/sys/fs/cgroup cgroup2 ro 0 0\n";
  auto hostIsRoot = [](const std::string& p) { return p == "/host/sys/fs/cgroup"; };
  EXPECT_EQ(cgroupV2RootOf(mounts, hostIsRoot), "/host/sys/fs/cgroup");
  // No mount of the root at all: the preferred path still, for attach to refuse with a reason.
  EXPECT_EQ(cgroupV2RootOf(mounts, [](const std::string&) { return false; }), "/sys/fs/cgroup");
  EXPECT_EQ(cgroupV2RootOf(mounts, [](const std::string&) { return true; }), "/sys/fs/cgroup");
}

TEST(CgroupRoot, DecodesOctalEscapesAndReportsNone) {
  EXPECT_EQ(cgroupV2RootOf("cgroup2 /mnt/my\\040cg cgroup2 rw 0 0\n"), "/mnt/my cg");
  EXPECT_EQ(cgroupV2RootOf("cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n"), "");
  EXPECT_EQ(cgroupV2RootOf(""), "");
}

DiagSocket withCookie(uint64_t cookie, uint8_t state) {
  DiagSocket s;
  s.state = state;
  s.cookie[0] = static_cast<uint32_t>(cookie);
  s.cookie[1] = static_cast<uint32_t>(cookie >> 32);
  return s;
}

TEST(SockDestroyCookies, CookieWordOrderIsLowHalfFirst) {
  EXPECT_EQ(cookieOf(withCookie(0x0000000500000007ull, TCP_ESTABLISHED)), 0x0000000500000007ull);
}

TEST(SockDestroyCookies, SelectsOnlyListedCookiesInDestroyableStates) {
  std::vector<DiagSocket> dump = {
      withCookie(0x100000001ull, TCP_ESTABLISHED), withCookie(0x100000002ull, TCP_SYN_SENT),
      withCookie(0x100000003ull, TCP_ESTABLISHED), withCookie(0x100000001ull, TCP_LISTEN),
      withCookie(0x100000002ull, TCP_FIN_WAIT1)};
  auto got = socketsWithCookies({0x100000001ull, 0x100000002ull}, dump);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(cookieOf(got[0]), 0x100000001ull);
  EXPECT_EQ(got[0].state, TCP_ESTABLISHED);
  EXPECT_EQ(cookieOf(got[1]), 0x100000002ull);
  EXPECT_EQ(got[1].state, TCP_SYN_SENT);
  EXPECT_TRUE(socketsWithCookies({}, dump).empty());
  // The low half alone must not match (a cookie is 64 bits).
  EXPECT_TRUE(socketsWithCookies({0x1ull}, dump).empty());
}

}  // namespace
}  // namespace lb
