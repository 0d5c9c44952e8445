// SPDX-License-Identifier: Apache-2.0
// SockDiag: sock_diag dump and SOCK_DESTROY by cookie (see sock_destroy.h for why).
#include "bpf/sock_destroy.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <set>

#include "bpf/errno_code.h"
#include "bpf/netns.h"

namespace lb {
namespace {

static_assert(kDestroyableTcpStates == ((1u << TCP_ESTABLISHED) | (1u << TCP_SYN_SENT)));

struct DiagRequest {
  nlmsghdr nlh;
  inet_diag_req_v2 req;
};

bool isV4Mapped(const uint32_t a[4]) {
  return a[0] == 0 && a[1] == 0 && a[2] == htonl(0xffff);
}

// Copies an address of the socket's family into flow-key form (v4 and v4-mapped v6 in w[0]).
void toFlowAddr(uint8_t family, const uint32_t a[4], lb_addr* out, uint8_t* keyFamily) {
  *out = lb_addr{};
  if (family == AF_INET || isV4Mapped(a)) {
    out->w[0] = family == AF_INET ? a[0] : a[3];
    *keyFamily = LB_AF_INET;
  } else {
    std::memcpy(out->w, a, sizeof(out->w));
    *keyFamily = LB_AF_INET6;
  }
}

DiagSocket fromMessage(uint8_t family, const inet_diag_msg& m) {
  DiagSocket s;
  s.sockFamily = family;
  s.state = m.idiag_state;
  s.ifindex = m.id.idiag_if;
  std::memcpy(s.cookie, m.id.idiag_cookie, sizeof(s.cookie));
  std::memcpy(s.rawSrc, m.id.idiag_src, sizeof(s.rawSrc));
  std::memcpy(s.rawDst, m.id.idiag_dst, sizeof(s.rawDst));
  uint8_t f1 = 0, f2 = 0;
  toFlowAddr(family, s.rawSrc, &s.tuple.src, &f1);
  toFlowAddr(family, s.rawDst, &s.tuple.dst, &f2);
  s.tuple.family = f1 == f2 ? f1 : 0;  // mixed (v4-mapped to v6) never matches a flow
  s.tuple.sport = m.id.idiag_sport;
  s.tuple.dport = m.id.idiag_dport;
  s.tuple.proto = IPPROTO_TCP;
  return s;
}

bool sameTuple(const lb_flow_key& a, const lb_flow_key& b) {
  return a.family == b.family && a.sport == b.sport && a.dport == b.dport &&
         std::memcmp(&a.src, &b.src, sizeof(a.src)) == 0 &&
         std::memcmp(&a.dst, &b.dst, sizeof(a.dst)) == 0;
}

bool alreadyGone(const std::error_code& ec) {
  return ec.value() == ENOENT || ec.value() == ESTALE;
}

}  // namespace

std::vector<DiagSocket> socketsOfFlows(const std::vector<lb_flow_key>& flows,
                                       const std::vector<DiagSocket>& sockets) {
  std::vector<DiagSocket> out;
  for (const auto& s : sockets) {
    if (s.state >= 32 || !(kDestroyableTcpStates & (1u << s.state))) continue;
    for (const auto& f : flows) {
      if (f.proto == IPPROTO_TCP && sameTuple(f, s.tuple)) {
        out.push_back(s);
        break;
      }
    }
  }
  return out;
}

std::vector<DiagSocket> socketsWithCookies(const std::vector<uint64_t>& cookies,
                                           const std::vector<DiagSocket>& sockets) {
  std::set<uint64_t> want(cookies.begin(), cookies.end());
  std::vector<DiagSocket> out;
  for (const auto& s : sockets)
    if (s.state < 32 && (kDestroyableTcpStates & (1u << s.state)) && want.count(cookieOf(s)))
      out.push_back(s);
  return out;
}

SockDiag::SockDiag() : fd_(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) {
  if (!fd_.valid()) sysFail(errnoCode(), "socket(NETLINK_SOCK_DIAG)");
}

std::error_code SockDiag::send(const void* msg, size_t len) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_.get(), msg, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0)
    return errnoCode();
  return {};
}

std::error_code SockDiag::dumpTcp(uint8_t family, uint32_t states, std::vector<DiagSocket>* out) {
  DiagRequest msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = ++seq_;
  msg.req.sdiag_family = family;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = states;
  if (auto ec = send(&msg, sizeof(msg))) return ec;
  return readDump(SOCK_DIAG_BY_FAMILY, out);
}

std::error_code SockDiag::dumpTcpAll(uint32_t states, std::vector<DiagSocket>* out) {
  struct {
    nlmsghdr nlh;
    inet_diag_req req;  // the original request: the kernel dumps it as family AF_UNSPEC
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = TCPDIAG_GETSOCK;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = ++seq_;
  msg.req.idiag_family = AF_INET;  // ignored for a dump: both families come back
  msg.req.idiag_states = states;
  size_t before = out->size();
  std::error_code ec = send(&msg, sizeof(msg));
  if (!ec) ec = readDump(TCPDIAG_GETSOCK, out);
  if (!ec) return {};
  out->resize(before);  // no compat interface (or it failed): one dump per family
  std::error_code first;
  for (uint8_t family : {uint8_t(AF_INET), uint8_t(AF_INET6)})
    if (auto e = dumpTcp(family, states, out); e && !first) first = e;
  return first;
}

std::error_code SockDiag::readDump(uint16_t type, std::vector<DiagSocket>* out) {
  alignas(nlmsghdr) static thread_local char buf[32768];
  for (;;) {
    ssize_t len = recv(fd_.get(), buf, sizeof(buf), 0);
    if (len < 0 && errno == EINTR) continue;
    if (len < 0) return errnoCode();
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq_) continue;
      if (h->nlmsg_type == NLMSG_DONE) return {};
      if (h->nlmsg_type == NLMSG_ERROR)
        return errnoCodeOf(static_cast<nlmsgerr*>(NLMSG_DATA(h))->error);
      if (h->nlmsg_type != type || h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
      const auto& m = *static_cast<inet_diag_msg*>(NLMSG_DATA(h));
      if (m.idiag_family == AF_INET || m.idiag_family == AF_INET6)
        out->push_back(fromMessage(m.idiag_family, m));
    }
  }
}

std::error_code SockDiag::destroy(const DiagSocket& s) {
  DiagRequest msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DESTROY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  msg.nlh.nlmsg_seq = ++seq_;
  msg.req.sdiag_family = s.sockFamily;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = kDestroyableTcpStates;
  msg.req.id.idiag_sport = s.tuple.sport;
  msg.req.id.idiag_dport = s.tuple.dport;
  msg.req.id.idiag_if = s.ifindex;
  std::memcpy(msg.req.id.idiag_src, s.rawSrc, sizeof(s.rawSrc));
  std::memcpy(msg.req.id.idiag_dst, s.rawDst, sizeof(s.rawDst));
  // The cookie makes the kernel reject (ESTALE) any other socket its tuple lookup finds.
  std::memcpy(msg.req.id.idiag_cookie, s.cookie, sizeof(s.cookie));
  if (auto ec = send(&msg, sizeof(msg))) return ec;
  alignas(nlmsghdr) char buf[1024];
  for (;;) {
    ssize_t len = recv(fd_.get(), buf, sizeof(buf), 0);
    if (len < 0 && errno == EINTR) continue;
    if (len < 0) return errnoCode();
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq_ || h->nlmsg_type != NLMSG_ERROR) continue;
      int err = -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
      return err ? errnoCodeOf(err) : std::error_code();
    }
  }
}

std::vector<DiagSocket> SockDiag::dumpBoth(std::error_code* err) {
  // v4 flows may belong to dual-stack AF_INET6 sockets (v4-mapped), so both families are dumped.
  std::vector<DiagSocket> sockets;
  if (auto ec = dumpTcpAll(kDestroyableTcpStates, &sockets); ec && !*err) *err = ec;
  return sockets;
}

size_t SockDiag::destroyAll(const std::vector<DiagSocket>& victims, std::error_code* err) {
  size_t n = 0;
  for (const auto& s : victims) {
    auto ec = destroy(s);
    if (!ec)
      n++;
    else if (!alreadyGone(ec) && !*err)
      *err = ec;
  }
  return n;
}

size_t SockDiag::destroyCookieSockets(const std::vector<uint64_t>& cookies, std::error_code* err,
                                      std::vector<uint64_t>* missing) {
  *err = {};
  if (missing) missing->clear();
  if (cookies.empty()) return 0;
  std::vector<DiagSocket> victims = socketsWithCookies(cookies, dumpBoth(err));
  if (missing) {
    std::set<uint64_t> found;
    for (const auto& s : victims) found.insert(cookieOf(s));
    for (uint64_t c : cookies)
      if (!found.count(c)) missing->push_back(c);
  }
  return destroyAll(victims, err);
}

namespace {

constexpr uint32_t kAllButListen = 0x1ffeu & ~(1u << TCP_LISTEN);  // TCP_ESTABLISHED..TCP_CLOSING

using OnFound = std::function<void(SockDiag&, const std::vector<DiagSocket>&, const std::string&)>;

// Dumps this thread's namespace (named `path`, "" = the caller's own) and hands the sockets
// whose cookie is in *want, in `states`, to onFound with a SockDiag of this namespace; they leave
// *want. No sock_diag here (socket() failed): *err, nothing found.
void searchHere(std::set<uint64_t>* want, uint32_t states, const std::string& path,
                const OnFound& onFound, std::error_code* err) {
  try {
    SockDiag diag;  // its netlink socket belongs to the namespace this thread is in now
    std::vector<DiagSocket> sockets, hits;
    if (auto ec = diag.dumpTcpAll(states, &sockets); ec && !*err) *err = ec;
    for (const auto& s : sockets)
      if (want->erase(cookieOf(s))) hits.push_back(s);
    if (!hits.empty()) onFound(diag, hits, path);
  } catch (const std::system_error& e) {
    if (!*err) *err = e.code();
  }
}

// searchHere in each namespace of `paths` in turn until *want is empty; returns how many were
// searched. Socket cookies are unique across namespaces, so a found cookie is never looked for
// again.
size_t searchNetns(std::set<uint64_t>* want, uint32_t states, const std::vector<std::string>& paths,
                   const OnFound& onFound, std::error_code* err) {
  if (want->empty()) return 0;
  return forEachNetns(paths, [&](const std::string& path) {
    searchHere(want, states, path, onFound, err);
    return !want->empty();
  });
}

}  // namespace

std::map<uint64_t, FoundSocket> findCookieSockets(const std::vector<uint64_t>& cookies,
                                                  const std::vector<std::string>& otherNetnsPaths) {
  std::set<uint64_t> want(cookies.begin(), cookies.end());
  std::map<uint64_t, FoundSocket> found;
  std::error_code ignored;  // an unreadable namespace leaves its sockets unfound
  auto keep = [&](SockDiag&, const std::vector<DiagSocket>& hits, const std::string& path) {
    for (const auto& s : hits) found[cookieOf(s)] = {s, path};
  };
  if (!want.empty()) searchHere(&want, kAllButListen, "", keep, &ignored);
  searchNetns(&want, kAllButListen, otherNetnsPaths, keep, &ignored);
  return found;
}

size_t destroyCookieSocketsIn(const std::vector<std::string>& netnsPaths,
                              const std::vector<uint64_t>& cookies, std::error_code* err,
                              size_t* searched) {
  *err = {};
  std::set<uint64_t> want(cookies.begin(), cookies.end());
  size_t n = 0;
  *searched = searchNetns(
      &want, kDestroyableTcpStates, netnsPaths,
      [&](SockDiag& diag, const std::vector<DiagSocket>& hits, const std::string&) {
        for (const auto& s : hits) {
          auto ec = diag.destroy(s);
          if (!ec)
            n++;
          else if (!alreadyGone(ec) && !*err)
            *err = ec;
        }
      },
      err);
  return n;
}

size_t SockDiag::destroyFlowSockets(const std::vector<lb_flow_key>& flows, std::error_code* err) {
  *err = {};
  if (flows.empty()) return 0;
  std::vector<DiagSocket> sockets = dumpBoth(err);
  return destroyAll(socketsOfFlows(flows, sockets), err);
}

}  // namespace lb
