// SPDX-License-Identifier: Apache-2.0
// The rtnetlink operations apilb needs, over libnl-route-3: route lookups (egress device and
// preferred source toward a backend, "is this address local"), the VIP device (dummy, or a veth
// pair where the kernel has no dummy driver), the VIP route, and counting tc filters. Every call
// opens its own socket in the calling thread's current network namespace.
// Errors: std::error_code carrying the kernel's errno (EEXIST, ENETUNREACH, ...).
#pragma once

#include <linux/rtnetlink.h>

#include <cstdint>
#include <string>
#include <system_error>

#include "lb/endpoint.h"

namespace lb {

struct RouteInfo {
  uint8_t type = 0;    // RTN_UNICAST, RTN_LOCAL, ...
  uint32_t oif = 0;    // egress ifindex (lo for a local address)
  Endpoint prefsrc;    // preferred source (family 0 if the route has none)
  Endpoint gateway;    // the single next hop's gateway (family 0: on-link, or multipath)
  int nexthops = 0;    // number of next hops of the route (> 1: multipath)
  bool local() const;  // type == RTN_LOCAL: the address is the node's own
  // The next hop to give bpf_redirect_neigh() for dst (lb_backend.nh): the gateway, dst itself
  // when on-link, all-zero for a local address or a multipath route (the kernel then picks).
  lb_addr nextHop(const Endpoint& dst) const;
};

// `ip route get <dst>`. ENETUNREACH / EHOSTUNREACH when there is no route.
[[nodiscard]] std::error_code routeLookup(const Endpoint& dst, RouteInfo* out);

struct VipDevice {
  uint32_t ifindex = 0;
  uint32_t peerIfindex = 0;  // 0 for a dummy device
  bool veth = false;
};

// Creates `name` as a dummy device, or, if the kernel has no dummy driver, as a veth pair
// `name`/`peer`; both up, `name` with IFF_NOARP. EEXIST if `name` exists.
[[nodiscard]] std::error_code createVipDevice(const std::string& name, const std::string& peer,
                                              VipDevice* out);
// Deletes a link (a veth's peer goes with it). ENODEV if gone.
[[nodiscard]] std::error_code deleteLink(uint32_t ifindex);
// `ip route add VIP/32 dev <ifindex> src <src>` (or /128), protocol static, scope link.
[[nodiscard]] std::error_code addVipRoute(const Endpoint& vip, uint32_t ifindex,
                                          const Endpoint& src);
// Number of tc filters under `parent` (e.g. clsact ingress) of ifindex.
[[nodiscard]] std::error_code countTcFilters(uint32_t ifindex, uint32_t parent, int* n);
// The first tc filter that runs under `parent` of ifindex, in the kernel's order (priority,
// then, within one priority, the most recently added first): its priority, handle and kind
// ("bpf"). *handle 0: no filter.
struct TcFilterId {
  uint32_t prio = 0;
  uint32_t handle = 0;
  std::string kind;
};
[[nodiscard]] std::error_code firstTcFilter(uint32_t ifindex, uint32_t parent, TcFilterId* out);
// Whether ifindex has a clsact qdisc (the parent of tc ingress/egress filters).
[[nodiscard]] std::error_code hasClsact(uint32_t ifindex, bool* out);
// Interface name of ifindex ("" if none).
std::string ifName(uint32_t ifindex);

// rtnetlink multicast groups a watch can listen to (legacy RTMGRP_* masks).
// What can change a backend's egress device or next hop: routes, links and addresses (IPv4 does
// not announce the routes it flushes when a link goes down, hence links and addresses too).
inline constexpr uint32_t kRouteChangeGroups =
    RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
// Traffic control: qdiscs and classic filters added or removed (tcx attachments send none).
inline constexpr uint32_t kTcChangeGroups = RTMGRP_TC;

// Notifications of the given rtnetlink groups in the current network namespace: a readable fd
// when something changed, for an epoll.
class RtnlWatch {
 public:
  RtnlWatch() = default;
  RtnlWatch(const RtnlWatch&) = delete;
  RtnlWatch& operator=(const RtnlWatch&) = delete;
  ~RtnlWatch();
  // Opens and binds the socket (non-blocking) to `groups` (kRouteChangeGroups,
  // kTcChangeGroups). The kernel's errno on failure.
  [[nodiscard]] std::error_code open(uint32_t groups);
  // Readable when something changed (for epoll/poll); -1 before open().
  int fd() const { return fd_; }
  // Reads every pending notification; true if there was any (or the socket overflowed, which
  // means some were lost: treat as changed).
  bool drain();

 private:
  int fd_ = -1;
};

}  // namespace lb
