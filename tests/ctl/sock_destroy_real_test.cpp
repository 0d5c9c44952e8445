// SPDX-License-Identifier: Apache-2.0
// lb::SockDiag (bpf/sock_destroy.h) on real sockets in a private netns (root): a flow's connected
// socket is destroyed, a listener on a stale flow's port survives; a socket in another netns
// (a pod's) is found by cookie there and destroyed.
#include "bpf/sock_destroy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>
#include <utility>
#include <string>

#include <gtest/gtest.h>

#include "bpf/netns.h"
#include "bpf/unique_fd.h"
#include "netns.h"
#include "privileges.h"

namespace lb {
namespace {

lb_flow_key key4(const char* src, uint16_t sport, const char* dst, uint16_t dport) {
  lb_flow_key k{};
  inet_pton(AF_INET, src, &k.src.w[0]);
  inet_pton(AF_INET, dst, &k.dst.w[0]);
  k.sport = htons(sport);
  k.dport = htons(dport);
  k.proto = IPPROTO_TCP;
  k.family = LB_AF_INET;
  return k;
}

using test::ParkedNetns;
using test::PrivateNetns;

UniqueFd tcpListener(uint16_t* port) {
  UniqueFd l(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) || listen(l.get(), 8) ||
      getsockname(l.get(), reinterpret_cast<sockaddr*>(&a), &len))
    return UniqueFd();
  *port = ntohs(a.sin_port);
  return l;
}

UniqueFd tcpConnect(uint16_t port, uint16_t* localPort) {
  UniqueFd c(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  socklen_t len = sizeof(a);
  if (connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) ||
      getsockname(c.get(), reinterpret_cast<sockaddr*>(&a), &len))
    return UniqueFd();
  if (localPort) *localPort = ntohs(a.sin_port);
  return c;
}

int socketError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

TEST(SockDestroyReal, DestroysTheFlowsSocketButNeverAListenerOnAStaleFlowsPort) {
  LB_SKIP_WITHOUT_BPF();
  PrivateNetns ns;
  ASSERT_TRUE(ns.ok()) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
  uint16_t lport = 0, cport = 0;
  UniqueFd listener = tcpListener(&lport);
  ASSERT_TRUE(listener.valid()) << std::strerror(errno);
  UniqueFd client = tcpConnect(lport, &cport);
  ASSERT_TRUE(client.valid()) << std::strerror(errno);
  UniqueFd accepted(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted.valid());
  // The client's own flow, and a stale flow whose source port is the listener's and whose
  // socket is gone: a tuple-only lookup of the latter falls back to the listener.
  std::vector<lb_flow_key> flows = {key4("127.0.0.1", cport, "127.0.0.1", lport),
                                    key4("127.0.0.1", lport, "127.0.0.2", 6443)};
  SockDiag diag;
  std::error_code ec;
  EXPECT_EQ(diag.destroyFlowSockets(flows, &ec), 1u);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(socketError(client.get()), ECONNABORTED) << "the flow's socket was aborted";
  UniqueFd again = tcpConnect(lport, nullptr);
  EXPECT_TRUE(again.valid()) << "the listener still accepts: " << std::strerror(errno);
  EXPECT_EQ(socketError(listener.get()), 0);
}

// A connected IPv6 loopback pair: the listener's port in *port.
UniqueFd tcp6Pair(UniqueFd* listener, UniqueFd* accepted) {
  *listener = UniqueFd(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  socklen_t len = sizeof(a);
  if (bind(listener->get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) ||
      listen(listener->get(), 8) ||
      getsockname(listener->get(), reinterpret_cast<sockaddr*>(&a), &len))
    return UniqueFd();
  UniqueFd c(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a))) return UniqueFd();
  *accepted = UniqueFd(accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
  return c;
}

std::set<std::pair<uint64_t, uint8_t>> cookiesAndFamilies(const std::vector<DiagSocket>& v) {
  std::set<std::pair<uint64_t, uint8_t>> out;
  for (const auto& s : v) out.insert({cookieOf(s), s.sockFamily});
  return out;
}

// dumpTcpAll: one request (TCPDIAG_GETSOCK) returns the sockets of both families, the same set
// two per-family dumps return.
TEST(SockDestroyReal, OneDumpReturnsBothFamilies) {
  LB_SKIP_WITHOUT_BPF();
  PrivateNetns ns;
  ASSERT_TRUE(ns.ok()) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
  uint16_t lport = 0;
  UniqueFd l4 = tcpListener(&lport);
  UniqueFd c4 = tcpConnect(lport, nullptr);
  UniqueFd a4(accept4(l4.get(), nullptr, nullptr, SOCK_CLOEXEC));
  UniqueFd l6, a6;
  UniqueFd c6 = tcp6Pair(&l6, &a6);
  ASSERT_TRUE(c4.valid() && a4.valid() && c6.valid() && a6.valid()) << std::strerror(errno);
  SockDiag diag;
  std::vector<DiagSocket> all, v4, v6;
  uint32_t established = 1u << TCP_ESTABLISHED;
  ASSERT_FALSE(diag.dumpTcpAll(established, &all));
  ASSERT_FALSE(diag.dumpTcp(AF_INET, established, &v4));
  ASSERT_FALSE(diag.dumpTcp(AF_INET6, established, &v6));
  EXPECT_EQ(v4.size(), 2u);
  EXPECT_EQ(v6.size(), 2u);
  v4.insert(v4.end(), v6.begin(), v6.end());
  EXPECT_EQ(cookiesAndFamilies(all), cookiesAndFamilies(v4));
  EXPECT_EQ(all.size(), 4u);
}

// A pod: a parked namespace (tests/lib/netns.h) holding a connected loopback pair, opened there.
class Pod {
 public:
  Pod()
      : ns_([this] {
          uint16_t lport = 0;
          listener_ = tcpListener(&lport);
          if (listener_.valid()) client_ = tcpConnect(lport, nullptr);
          if (client_.valid()) accepted_ = UniqueFd(accept4(listener_.get(), nullptr, nullptr, 0));
          socklen_t len = sizeof(cookie_);
          if (accepted_.valid()) getsockopt(client_.get(), SOL_SOCKET, SO_COOKIE, &cookie_, &len);
        }) {}
  bool ok() const { return ns_.ok() && cookie_ != 0; }
  const std::string& path() const { return ns_.path(); }
  uint64_t cookie() const { return cookie_; }
  int client() const { return client_.get(); }

 private:
  UniqueFd listener_, client_, accepted_;  // closed after ns_ is gone: sockets outlive the thread
  uint64_t cookie_ = 0;
  ParkedNetns ns_;
};

TEST(SockDestroyReal, ASocketInAnotherNamespaceIsFoundByCookieAndDestroyed) {
  LB_SKIP_WITHOUT_BPF();
  Pod pod;
  ASSERT_TRUE(pod.ok()) << "a connected pair in a fresh netns: " << std::strerror(errno);
  SockDiag here;
  std::error_code ec;
  std::vector<uint64_t> missing;
  EXPECT_EQ(here.destroyCookieSockets({pod.cookie()}, &ec, &missing), 0u)
      << "sock_diag sees only its own namespace";
  EXPECT_EQ(missing, std::vector<uint64_t>{pod.cookie()});
  EXPECT_EQ(socketError(pod.client()), 0);
  size_t searched = 0;
  uint64_t gone = pod.cookie() + 1000000;  // no such socket: every namespace is searched
  size_t n = destroyCookieSocketsIn({"/nonexistent/ns/net", pod.path()}, {gone, pod.cookie()},
                                    &ec, &searched);
  EXPECT_EQ(n, 1u);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(searched, 1u) << "the missing namespace is skipped, the pod's searched";
  EXPECT_EQ(socketError(pod.client()), ECONNABORTED) << "the pod's socket was aborted";
}

// An exception thrown inside a namespace reaches the caller instead of terminating the process
// from the helper thread.
TEST(SockDestroyReal, AnExceptionInsideANamespaceReachesTheCaller) {
  LB_SKIP_WITHOUT_BPF();
  size_t calls = 0;
  EXPECT_THROW(forEachNetns({"/proc/self/ns/net", "/proc/self/ns/net"},
                            [&](const std::string&) -> bool {
                              calls++;
                              throw std::runtime_error("boom");
                            }),
               std::runtime_error);
  EXPECT_EQ(calls, 1u);
}

TEST(SockDestroyReal, ThePinnedNamespaceOfAPodIsListed) {
  LB_SKIP_WITHOUT_BPF();
  Pod pod;
  ASSERT_TRUE(pod.ok());
  char dir[] = "/tmp/apilb-pins-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string pin = std::string(dir) + "/cni-test";
  UniqueFd(open(pin.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  ASSERT_EQ(mount(pod.path().c_str(), pin.c_str(), nullptr, MS_BIND, nullptr), 0)
      << std::strerror(errno);
  std::vector<std::string> all = otherNetns("/proc", {dir});
  umount2(pin.c_str(), MNT_DETACH);
  unlink(pin.c_str());
  rmdir(dir);
  EXPECT_NE(std::find(all.begin(), all.end(), pin), all.end()) << "the bind-mounted pin";
  std::string self = "/proc/" + std::to_string(getpid()) + "/ns/net";
  EXPECT_EQ(std::find(all.begin(), all.end(), self), all.end()) << "not our own namespace";
}

}  // namespace
}  // namespace lb
