// SPDX-License-Identifier: Apache-2.0
// libnl-route-3 helpers. libnl reports its own NLE_* codes; to give callers the kernel's real
// errno (ENETUNREACH vs EHOSTUNREACH, EEXIST, ...) every socket installs an error callback that
// records the errno of the kernel's NLMSG_ERROR before libnl translates it.
#include "bpf/netlink.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/classifier.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/route.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "bpf/errno_code.h"

namespace lb {
namespace {

struct Sock {
  nl_sock* sk = nullptr;
  int kernelErr = 0;  // -errno from the last NLMSG_ERROR
  ~Sock() {
    if (sk) nl_socket_free(sk);
  }
};

int recordErr(sockaddr_nl*, nlmsgerr* e, void* arg) {
  static_cast<Sock*>(arg)->kernelErr = e->error;
  return NL_STOP;
}

std::error_code openSock(Sock* s) {
  s->sk = nl_socket_alloc();
  if (!s->sk) return std::make_error_code(std::errc::not_enough_memory);
  if (nl_connect(s->sk, NETLINK_ROUTE) < 0) return std::make_error_code(std::errc::protocol_error);
  nl_socket_modify_err_cb(s->sk, NL_CB_CUSTOM, recordErr, s);
  return {};
}

// Turns a libnl return value into an errno-based error code.
std::error_code result(const Sock& s, int rc) {
  if (rc >= 0) return {};
  if (s.kernelErr < 0) return errnoCodeOf(s.kernelErr);
  switch (-rc) {
    case NLE_EXIST:
      return std::make_error_code(std::errc::file_exists);
    case NLE_OBJ_NOTFOUND:
      return std::make_error_code(std::errc::no_such_file_or_directory);
    case NLE_NODEV:
      return std::make_error_code(std::errc::no_such_device);
    case NLE_PERM:
      return std::make_error_code(std::errc::operation_not_permitted);
    case NLE_NOMEM:
      return std::make_error_code(std::errc::not_enough_memory);
    case NLE_OPNOTSUPP:
      return std::make_error_code(std::errc::operation_not_supported);
    case NLE_INVAL:
      return std::make_error_code(std::errc::invalid_argument);
    default:
      return std::make_error_code(std::errc::io_error);
  }
}

struct AddrDeleter {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
using AddrPtr = std::unique_ptr<nl_addr, AddrDeleter>;

AddrPtr toNlAddr(const Endpoint& ep) {
  int af = ep.family == LB_AF_INET6 ? AF_INET6 : AF_INET;
  size_t len = af == AF_INET6 ? 16 : 4;
  AddrPtr a(nl_addr_build(af, ep.addr.w, len));
  if (a) nl_addr_set_prefixlen(a.get(), static_cast<int>(len * 8));
  return a;
}

void fromNlAddr(nl_addr* a, Endpoint* ep) {
  *ep = Endpoint{};
  if (!a) return;
  int af = nl_addr_get_family(a);
  size_t len = nl_addr_get_len(a);
  if ((af == AF_INET && len == 4) || (af == AF_INET6 && len == 16)) {
    std::memcpy(ep->addr.w, nl_addr_get_binary_addr(a), len);
    ep->family = af == AF_INET ? LB_AF_INET : LB_AF_INET6;
  }
}

struct LinkDeleter {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;

std::error_code addLink(rtnl_link* link) {
  Sock s;
  if (auto ec = openSock(&s)) return ec;
  return result(s, rtnl_link_add(s.sk, link, NLM_F_CREATE | NLM_F_EXCL));
}

std::error_code setUp(uint32_t ifindex) {
  Sock s;
  if (auto ec = openSock(&s)) return ec;
  rtnl_link* orig = nullptr;
  int rc = rtnl_link_get_kernel(s.sk, static_cast<int>(ifindex), nullptr, &orig);
  if (rc < 0) return result(s, rc);
  LinkPtr origPtr(orig);
  LinkPtr change(rtnl_link_alloc());
  if (!change) return std::make_error_code(std::errc::not_enough_memory);
  rtnl_link_set_flags(change.get(), IFF_UP);
  return result(s, rtnl_link_change(s.sk, orig, change.get(), 0));
}

std::error_code createDummy(const std::string& name) {
  LinkPtr link(rtnl_link_alloc());
  if (!link) return std::make_error_code(std::errc::not_enough_memory);
  if (rtnl_link_set_type(link.get(), "dummy") < 0)
    return std::make_error_code(std::errc::operation_not_supported);
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link_set_flags(link.get(), IFF_UP | IFF_NOARP);
  return addLink(link.get());
}

std::error_code createVeth(const std::string& name, const std::string& peerName) {
  LinkPtr link(rtnl_link_veth_alloc());
  if (!link) return std::make_error_code(std::errc::not_enough_memory);
  rtnl_link* peer = rtnl_link_veth_get_peer(link.get());  // owned by link
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link_set_flags(link.get(), IFF_NOARP);
  rtnl_link_set_name(peer, peerName.c_str());
  rtnl_link_put(peer);
  // Not up at creation: the kernel brings the peer up before the pair is linked, and veth_open()
  // then fails with ENOTCONN. Both ends go up afterwards.
  if (auto ec = addLink(link.get())) return ec;
  if (auto ec = setUp(if_nametoindex(peerName.c_str()))) return ec;
  return setUp(if_nametoindex(name.c_str()));
}

}  // namespace

bool RouteInfo::local() const { return type == RTN_LOCAL; }

lb_addr RouteInfo::nextHop(const Endpoint& dst) const {
  if (local() || nexthops != 1) return lb_addr{};
  if (gateway.family == dst.family) return gateway.addr;
  if (gateway.family == 0) return dst.addr;                 // on-link
  return lb_addr{};  // RFC 5549 (v4 via an IPv6 gateway): let the kernel's FIB handle it
}

std::error_code routeLookup(const Endpoint& dst, RouteInfo* out) {
  Sock s;
  if (auto ec = openSock(&s)) return ec;
  AddrPtr a = toNlAddr(dst);
  if (!a) return std::make_error_code(std::errc::not_enough_memory);
  rtnl_route* route = nullptr;
  int rc = rtnl_route_lookup(s.sk, a.get(), &route);
  if (rc < 0 || !route) {
    if (auto ec = result(s, rc < 0 ? rc : -NLE_OBJ_NOTFOUND)) return ec;
    return std::make_error_code(std::errc::network_unreachable);
  }
  *out = RouteInfo{};
  out->type = rtnl_route_get_type(route);
  out->nexthops = rtnl_route_get_nnexthops(route);
  if (out->nexthops > 0) {
    rtnl_nexthop* nh = rtnl_route_nexthop_n(route, 0);
    out->oif = static_cast<uint32_t>(rtnl_route_nh_get_ifindex(nh));
    if (out->nexthops == 1) fromNlAddr(rtnl_route_nh_get_gateway(nh), &out->gateway);
  }
  fromNlAddr(rtnl_route_get_pref_src(route), &out->prefsrc);
  rtnl_route_put(route);
  if (out->type == RTN_UNREACHABLE || out->type == RTN_PROHIBIT || out->type == RTN_BLACKHOLE)
    return std::make_error_code(std::errc::network_unreachable);
  return {};
}

std::error_code createVipDevice(const std::string& name, const std::string& peer, VipDevice* out) {
  *out = VipDevice{};
  if (if_nametoindex(name.c_str()) != 0) return std::make_error_code(std::errc::file_exists);
  std::error_code ec = createDummy(name);
  if (ec == std::errc::file_exists) return ec;
  if (ec) {
    if ((ec = createVeth(name, peer))) return ec;
    out->veth = true;
    out->peerIfindex = if_nametoindex(peer.c_str());
  }
  out->ifindex = if_nametoindex(name.c_str());
  if (out->ifindex == 0) return std::make_error_code(std::errc::no_such_device);
  return {};
}

std::error_code deleteLink(uint32_t ifindex) {
  Sock s;
  if (auto ec = openSock(&s)) return ec;
  LinkPtr link(rtnl_link_alloc());
  if (!link) return std::make_error_code(std::errc::not_enough_memory);
  rtnl_link_set_ifindex(link.get(), static_cast<int>(ifindex));
  return result(s, rtnl_link_delete(s.sk, link.get()));
}

std::error_code addVipRoute(const Endpoint& vip, uint32_t ifindex, const Endpoint& src) {
  Sock s;
  if (auto ec = openSock(&s)) return ec;
  rtnl_route* route = rtnl_route_alloc();
  if (!route) return std::make_error_code(std::errc::not_enough_memory);
  std::unique_ptr<rtnl_route, void (*)(rtnl_route*)> guard(route, rtnl_route_put);
  AddrPtr dst = toNlAddr(vip);
  AddrPtr psrc = toNlAddr(src);
  if (!dst || !psrc) return std::make_error_code(std::errc::not_enough_memory);
  rtnl_route_set_family(route, nl_addr_get_family(dst.get()));
  rtnl_route_set_table(route, RT_TABLE_MAIN);
  rtnl_route_set_type(route, RTN_UNICAST);
  rtnl_route_set_protocol(route, RTPROT_STATIC);
  rtnl_route_set_scope(route, RT_SCOPE_LINK);
  rtnl_route_set_dst(route, dst.get());
  rtnl_route_set_pref_src(route, psrc.get());
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!nh) return std::make_error_code(std::errc::not_enough_memory);
  rtnl_route_nh_set_ifindex(nh, static_cast<int>(ifindex));
  rtnl_route_add_nexthop(route, nh);  // route owns nh
  return result(s, rtnl_route_add(s.sk, route, NLM_F_EXCL));
}

namespace {

// Runs fn on a dump of the tc filters under `parent` of ifindex (a libnl cache, in the dump's
// order: each priority's classifier, with handle 0, then its filters in run order).
template <typename Fn>
std::error_code withTcFilters(uint32_t ifindex, uint32_t parent, Fn fn) {
  Sock s;
  if (auto ec = openSock(&s)) return ec;
  nl_cache* cache = nullptr;
  int rc = rtnl_cls_alloc_cache(s.sk, static_cast<int>(ifindex), parent, &cache);
  if (rc < 0) return result(s, rc);
  fn(cache);
  nl_cache_free(cache);
  return {};
}

}  // namespace

std::error_code countTcFilters(uint32_t ifindex, uint32_t parent, int* n) {
  return withTcFilters(ifindex, parent, [n](nl_cache* c) { *n = nl_cache_nitems(c); });
}

std::error_code firstTcFilter(uint32_t ifindex, uint32_t parent, TcFilterId* out) {
  *out = {};
  return withTcFilters(ifindex, parent, [out](nl_cache* c) {
    for (nl_object* o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
      auto* cls = reinterpret_cast<rtnl_cls*>(o);
      uint32_t handle = rtnl_tc_get_handle(TC_CAST(cls));
      if (handle == 0) continue;
      const char* kind = rtnl_tc_get_kind(TC_CAST(cls));
      *out = {rtnl_cls_get_prio(cls), handle, kind ? kind : ""};
      return;
    }
  });
}

std::error_code hasClsact(uint32_t ifindex, bool* out) {
  *out = false;
  Sock s;
  if (auto ec = openSock(&s)) return ec;
  nl_cache* cache = nullptr;
  int rc = rtnl_qdisc_alloc_cache(s.sk, &cache);
  if (rc < 0) return result(s, rc);
  rtnl_qdisc* q = rtnl_qdisc_get_by_parent(cache, static_cast<int>(ifindex), TC_H_CLSACT);
  if (q) {
    const char* kind = rtnl_tc_get_kind(TC_CAST(q));
    *out = kind && std::strcmp(kind, "clsact") == 0;
    rtnl_qdisc_put(q);
  }
  nl_cache_free(cache);
  return {};
}

std::string ifName(uint32_t ifindex) {
  char buf[IF_NAMESIZE] = {};
  return if_indextoname(ifindex, buf) ? std::string(buf) : std::string();
}

RtnlWatch::~RtnlWatch() {
  if (fd_ >= 0) close(fd_);
}

std::error_code RtnlWatch::open(uint32_t groups) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return std::error_code(errno, std::generic_category());
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = groups;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    std::error_code ec(errno, std::generic_category());
    close(fd);
    return ec;
  }
  fd_ = fd;
  return {};
}

bool RtnlWatch::drain() {
  if (fd_ < 0) return false;
  bool any = false;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      any = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {  // overflow: notifications were lost
      any = true;
      continue;
    }
    return any;  // EAGAIN (drained), or an error that the next call sees again
  }
}

}  // namespace lb
