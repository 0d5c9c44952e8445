// SPDX-License-Identifier: Apache-2.0
// SockDiag: SOCK_DESTROY over NETLINK_SOCK_DIAG (see sock_destroy.h for why).
#include "bpf/sock_destroy.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "bpf/errno_code.h"

namespace lb {

SockDiag::SockDiag() : fd_(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) {
  if (!fd_.valid()) throw std::system_error(errnoCode(), "socket(NETLINK_SOCK_DIAG)");
}

std::error_code SockDiag::destroyOne(const lb_flow_key& k) {
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DESTROY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  msg.nlh.nlmsg_seq = ++seq_;
  msg.req.sdiag_family = k.family == LB_AF_INET6 ? AF_INET6 : AF_INET;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = ~0u;
  msg.req.id.idiag_sport = k.sport;
  msg.req.id.idiag_dport = k.dport;
  std::memcpy(msg.req.id.idiag_src, k.src.w, sizeof(k.src.w));
  std::memcpy(msg.req.id.idiag_dst, k.dst.w, sizeof(k.dst.w));
  msg.req.id.idiag_cookie[0] = msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_.get(), &msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof(kernel)) < 0)
    return errnoCode();
  alignas(nlmsghdr) char buf[1024];
  for (;;) {
    ssize_t len = recv(fd_.get(), buf, sizeof(buf), 0);
    if (len < 0 && errno == EINTR) continue;
    if (len < 0) return errnoCode();
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq_ || h->nlmsg_type != NLMSG_ERROR) continue;
      int err = -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
      return err ? std::error_code(err, std::generic_category()) : std::error_code();
    }
  }
}

size_t SockDiag::destroyFlowSockets(const std::vector<lb_flow_key>& flows, std::error_code* err) {
  *err = {};
  size_t n = 0;
  for (const auto& k : flows) {
    auto ec = destroyOne(k);
    if (!ec)
      n++;
    else if (ec.value() != ENOENT && !*err)
      *err = ec;
  }
  return n;
}

}  // namespace lb
