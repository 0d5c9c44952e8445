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
// Why dump first, then destroy by cookie: a SOCK_DESTROY request that only names a tuple
// (INET_DIAG_NOCOOKIE) is looked up like an incoming packet, so when the connected socket is gone
// the kernel falls back to a *listening* socket on that port and aborts the listener. So
// destroyFlowSockets() dumps the ESTABLISHED and SYN_SENT sockets (never TCP_LISTEN), keeps those
// whose tuple is a flow's {src:sport -> dst:dport}, and destroys each by its idiag_cookie: if the
// socket closed meanwhile, the kernel answers ESTALE/ENOENT instead of picking another socket.
//
// Errors: the constructor throws std::system_error (startup); everything else returns
// std::error_code (steady state). Not thread-safe: one SockDiag per thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "apilb_maps.h"
#include "bpf/unique_fd.h"

namespace lb {

// One socket from a sock_diag dump, with its tuple in flow-key form (local = src).
struct DiagSocket {
  lb_flow_key tuple{};     // {src=local, sport, dst=remote, dport}; v4-mapped v6 folded to v4
  uint8_t sockFamily = 0;  // AF_INET or AF_INET6: the family of the socket itself
  uint8_t state = 0;       // TCP_ESTABLISHED, TCP_SYN_SENT, ...
  uint32_t ifindex = 0;    // idiag_if (bound device, usually 0)
  uint32_t cookie[2] = {};  // idiag_cookie
  uint32_t rawSrc[4] = {}, rawDst[4] = {};  // addresses as the socket's family has them
};

// TCP states whose sockets may be destroyed: connections, never listeners.
constexpr uint32_t kDestroyableTcpStates = (1u << 1) | (1u << 2);  // ESTABLISHED, SYN_SENT

// The sockets among `sockets` that are the local end of one of `flows` (same family, addresses,
// ports) and are in a destroyable state. Pure; no syscalls.
std::vector<DiagSocket> socketsOfFlows(const std::vector<lb_flow_key>& flows,
                                       const std::vector<DiagSocket>& sockets);
// The sockets among `sockets` whose 64-bit cookie is in `cookies`, in a destroyable state. Pure.
std::vector<DiagSocket> socketsWithCookies(const std::vector<uint64_t>& cookies,
                                           const std::vector<DiagSocket>& sockets);
// idiag_cookie as the 64-bit socket cookie (word 0 holds the low half).
inline uint64_t cookieOf(const DiagSocket& s) {
  return static_cast<uint64_t>(s.cookie[1]) << 32 | s.cookie[0];
}

class SockDiag {
 public:
  // Opens a NETLINK_SOCK_DIAG socket in the current netns; throws std::system_error.
  SockDiag();

  // Appends the TCP sockets of `family` (AF_INET/AF_INET6) in the states of the bit mask
  // `states` (1 << TCP_*) to *out.
  [[nodiscard]] std::error_code dumpTcp(uint8_t family, uint32_t states,
                                        std::vector<DiagSocket>* out);
  // The same for both families in one request: the original TCPDIAG_GETSOCK dump, which the
  // kernel runs as family AF_UNSPEC, walks the TCP hash table (shared by all namespaces and both
  // families) once instead of twice. Falls back to one dumpTcp() per family if it fails.
  [[nodiscard]] std::error_code dumpTcpAll(uint32_t states, std::vector<DiagSocket>* out);
  // SOCK_DESTROY of exactly this socket (tuple + cookie). ENOENT/ESTALE: it closed meanwhile.
  [[nodiscard]] std::error_code destroy(const DiagSocket& s);
  // Dumps, matches (socketsOfFlows) and destroys; returns how many sockets were destroyed.
  // *err gets the first error other than "already gone".
  size_t destroyFlowSockets(const std::vector<lb_flow_key>& flows, std::error_code* err);
  // Socket mode: destroys the sockets (ESTABLISHED, SYN_SENT) whose cookie is in `cookies` (the
  // cookies the connect hook recorded, bpf_get_socket_cookie() = idiag_cookie); returns how many.
  // *missing (optional) gets the cookies of no such socket in this namespace.
  size_t destroyCookieSockets(const std::vector<uint64_t>& cookies, std::error_code* err,
                              std::vector<uint64_t>* missing = nullptr);

 private:
  [[nodiscard]] std::error_code send(const void* msg, size_t len);
  // Reads the answer to the last dump request (messages of `type`) into *out.
  [[nodiscard]] std::error_code readDump(uint16_t type, std::vector<DiagSocket>* out);
  std::vector<DiagSocket> dumpBoth(std::error_code* err);
  size_t destroyAll(const std::vector<DiagSocket>& victims, std::error_code* err);
  UniqueFd fd_;
  uint32_t seq_ = 0;
};

// A socket found by cookie, and the namespace it is in ("" = the caller's).
struct FoundSocket {
  DiagSocket sock;
  std::string netns;
};
// The TCP sockets (every state but LISTEN) whose cookie is in `cookies`: looked up in the calling
// thread's namespace, then in the namespaces `otherNetnsPaths` until all were found (for
// `apilb flows`: the client of each socket-mode connection). Dump errors leave sockets unfound.
std::map<uint64_t, FoundSocket> findCookieSockets(const std::vector<uint64_t>& cookies,
                                                  const std::vector<std::string>& otherNetnsPaths);

// Socket mode with --pods: the translated sockets of pods live in the pods' network namespaces.
// Destroys the sockets whose cookie is in `cookies` in the namespaces `netnsPaths` (otherNetns(),
// bpf/netns.h), one after the other on a helper thread, stopping once every cookie was found
// (socket cookies are unique across namespaces). Returns how many were destroyed; *searched gets
// how many namespaces were looked at, *err the first error other than "already gone".
size_t destroyCookieSocketsIn(const std::vector<std::string>& netnsPaths,
                              const std::vector<uint64_t>& cookies, std::error_code* err,
                              size_t* searched);

}  // namespace lb
