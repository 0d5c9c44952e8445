// SPDX-License-Identifier: Apache-2.0
// The real DatapathPort (a thin adapter over lb::Datapath) and the SOCK_DESTROY socket killer.
//
// Why SOCK_DESTROY: the clients of a node-local VIP are local sockets (kubelet, kube-proxy,
// pods' host-network agents). Destroying them makes the kernel abort the connection at once:
// the application's next (or pending) read/write fails with ECONNABORTED and it reconnects
// through the VIP, which now avoids the dead backend; the kernel also sends a RST to the peer.
// A datapath-generated RST would only act when the client sends its next packet, and a kubelet
// watch may sit idle for minutes. bpf_sock_destroy (>= 6.5) would need an iterator program;
// netlink needs nothing loaded and works on every kernel with CONFIG_INET_DIAG_DESTROY.
#include "daemon/datapath_port.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/log.h"

namespace lb {
namespace {

class RealDatapath : public DatapathPort {
 public:
  explicit RealDatapath(Datapath dp) : dp_(std::move(dp)) {}
  std::vector<VipInfo> vips() const override { return dp_.vips(); }
  std::vector<BackendInfo> backends() const override { return dp_.backends(); }
  std::string ifaceProblem(const Endpoint& ep) const override { return dp_.ifaceProblem(ep); }
  std::error_code addBackend(uint32_t vipId, const Endpoint& ep, uint16_t weight,
                             uint32_t* idOut) override {
    return dp_.addBackend(vipId, ep, weight, idOut);
  }
  std::error_code removeBackend(uint32_t id) override { return dp_.removeBackend(id); }
  std::error_code setBackendFlags(uint32_t id, uint32_t set, uint32_t clear) override {
    return dp_.setBackendFlags(id, set, clear);
  }
  std::error_code publishTable(uint32_t vipId, const std::vector<uint32_t>& ids) override {
    return dp_.publishTable(vipId, ids);
  }
  std::vector<uint32_t> table(uint32_t vipId) const override { return dp_.table(vipId); }
  std::error_code setVipFlags(uint32_t vipId, uint32_t set, uint32_t clear) override {
    return dp_.setVipFlags(vipId, set, clear);
  }
  std::vector<FlowInfo> flows() const override { return dp_.flows(); }
  std::error_code deleteFlowsTo(uint32_t id, size_t* n) override {
    return dp_.deleteFlowsTo(id, n);
  }

 private:
  Datapath dp_;
};

class SockDiagKiller : public SocketKiller {
 public:
  SockDiagKiller() {
    fd_ = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd_ < 0)
      throw std::system_error(errno, std::generic_category(), "socket(NETLINK_SOCK_DIAG)");
  }
  ~SockDiagKiller() override { close(fd_); }

  size_t destroy(const std::vector<lb_flow_key>& flows) override {
    size_t n = 0;
    for (const auto& k : flows) {
      int err = destroyOne(k);
      if (err == 0)
        n++;
      else if (err != ENOENT)
        log::warn(std::string("SOCK_DESTROY failed: ") + std::strerror(err));
    }
    return n;
  }

 private:
  // Sends one SOCK_DESTROY for the local socket {src:sport -> dst:dport} and waits for the ack.
  int destroyOne(const lb_flow_key& k) {
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
    if (sendto(fd_, &msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0)
      return errno;
    return readAck();
  }

  int readAck() {
    alignas(nlmsghdr) char buf[1024];
    for (;;) {
      ssize_t len = recv(fd_, buf, sizeof(buf), 0);
      if (len < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_seq != seq_ || h->nlmsg_type != NLMSG_ERROR) continue;
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        return -e->error;
      }
    }
  }

  int fd_ = -1;
  uint32_t seq_ = 0;
};

}  // namespace

std::unique_ptr<DatapathPort> makeDatapathPort(const std::string& pinDir) {
  return std::make_unique<RealDatapath>(Datapath::open(pinDir));
}

std::unique_ptr<SocketKiller> makeSockDiagKiller() { return std::make_unique<SockDiagKiller>(); }

}  // namespace lb
