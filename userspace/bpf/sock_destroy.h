// SPDX-License-Identifier: Apache-2.0
// Terminating the node's local TCP sockets of tracked flows over NETLINK_SOCK_DIAG.
//
// Why SOCK_DESTROY: the clients of a node-local VIP are local sockets (kubelet, kube-proxy,
// pods' host-network agents). Destroying one makes the kernel abort the connection at once: the
// application's next (or pending) read/write fails with ECONNABORTED and it reconnects through
// the VIP, which now avoids the dead backend; the kernel also sends a RST to the peer. A
// datapath-generated RST would only act when the client sends its next packet, and a kubelet
// watch may sit idle for minutes. bpf_sock_destroy (>= 6.5) would need an iterator program;
// netlink needs nothing loaded and works on every kernel with CONFIG_INET_DIAG_DESTROY.
//
// Errors: the constructor throws std::system_error (startup); everything else returns
// std::error_code (steady state). Not thread-safe: one SockDiag per thread.
#pragma once

#include <cstdint>
#include <system_error>
#include <vector>

#include "apilb_maps.h"
#include "bpf/unique_fd.h"

namespace lb {

class SockDiag {
 public:
  // Opens a NETLINK_SOCK_DIAG socket in the current netns; throws std::system_error.
  SockDiag();

  // Sends one SOCK_DESTROY per flow for the local socket {src:sport -> dst:dport}; returns how
  // many sockets were destroyed. *err gets the first error other than ENOENT (not found).
  size_t destroyFlowSockets(const std::vector<lb_flow_key>& flows, std::error_code* err);

 private:
  [[nodiscard]] std::error_code destroyOne(const lb_flow_key& k);
  UniqueFd fd_;
  uint32_t seq_ = 0;
};

}  // namespace lb
