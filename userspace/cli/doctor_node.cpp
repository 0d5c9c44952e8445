// SPDX-License-Identifier: Apache-2.0
// `apilb doctor`, the node's side (see doctor.h): what the kernel can do (program types,
// bpf_redirect_neigh, SOCK_DESTROY) and the datapath attached on this node (its hooks and who
// runs before them, rp_filter, MTUs, accept_local, socket mode). doctor.cpp has the checks of the
// backends, the daemon and the cluster.
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "bpf/attach.h"
#include "bpf/datapath.h"
#include "bpf/device.h"
#include "bpf/hooks.h"
#include "bpf/loader.h"
#include "bpf/netlink.h"
#include "bpf/sock_attach.h"
#include "bpf/sysctl.h"
#include "bpf/unique_fd.h"
#include "cli/doctor.h"
#include "cli/doctor_check.h"
#include "daemon/datapath_port.h"

namespace lb {
namespace {

// A connected loopback TCP pair in the current netns; the client's tuple for SOCK_DESTROY.
bool loopbackPair(UniqueFd* listener, UniqueFd* client, UniqueFd* server, lb_flow_key* key) {
  listener->reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  client->reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener->valid() || !client->valid()) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(listener->get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(listener->get(), 1) != 0 ||
      getsockname(listener->get(), reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      connect(client->get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    return false;
  server->reset(accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
  sockaddr_in c{};
  len = sizeof(c);
  if (!server->valid() || getsockname(client->get(), reinterpret_cast<sockaddr*>(&c), &len) != 0)
    return false;
  *key = lb_flow_key{};
  key->src.w[0] = c.sin_addr.s_addr;
  key->dst.w[0] = a.sin_addr.s_addr;
  key->sport = c.sin_port;
  key->dport = a.sin_port;
  key->proto = IPPROTO_TCP;
  key->family = LB_AF_INET;
  return true;
}

// apilb's program `prog` at a tc hook, and the tcx programs that run before it there: one that
// ends the hook (TCX_PASS, as a CNI's host program does for the node's own traffic) hides every
// packet from it. A classic filter runs after every tcx program.
Check tcHookCheck(const std::string& name, uint32_t ifindex, TcDir dir, const char* prog,
                  const std::string& what) {
  const std::string where = tcHookWhere(ifindex, dir);
  TcProg p = tcProg(ifindex, dir);
  if (!p.id)
    return fail(name, std::string(prog) + " is not attached at " + where,
                "apilb detach, then apilb attach (or restart apilb run)");
  std::string before;
  if (p.tcx)
    before = tcxAhead(ifindex, dir);
  else  // every tcx program runs before a classic filter
    for (const auto& n : tcxProgNames(ifindex, dir)) before += (before.empty() ? "" : ", ") + n;
  std::string ahead;
  if (!p.tcx && !clsAhead(ifindex, dir, &ahead) && !ahead.empty())
    return warn(name,
                "the tc filter " + ahead + " runs before " + prog + " at " + where +
                    ": if it returns TC_ACT_OK, " + prog + " never sees the packet",
                "keep apilb run running: it moves apilb's filter back to the front at once; or "
                "use --ingress xdp, or a kernel with tcx (6.6+)");
  if (!before.empty())
    return warn(name,
                "tcx program(s) " + before + " run before " + prog + " at " + where +
                    ": one that passes a packet (TCX_PASS) ends the hook, and " + prog +
                    " never sees it",
                p.tcx ? "keep apilb run running: it moves apilb's program back to the front within "
                        "a second"
                      : "apilb detach, then apilb attach: on this kernel apilb attaches with tcx, "
                        "first in the chain");
  return ok(name, what + (p.tcx ? " (tcx, first in the chain)" : " (tc filter)"));
}

Check checkSockDestroy() {
  const std::string name = "kernel SOCK_DESTROY";
  UniqueFd l, c, s;
  lb_flow_key key{};
  if (!loopbackPair(&l, &c, &s, &key))
    return warn(name, "could not make a loopback TCP connection to test it", "check lo is up");
  size_t n = 0;
  try {
    n = makeSockDiagKiller()->destroy({key});
  } catch (const std::exception& e) {
    return fail(name, e.what(), "enable CONFIG_INET_DIAG and CONFIG_INET_DIAG_DESTROY");
  }
  char b;
  bool gone = n == 1 && recv(c.get(), &b, 1, MSG_DONTWAIT) < 0 && errno == ECONNABORTED;
  if (!gone)
    return fail(name, "a loopback socket could not be destroyed through sock_diag",
                "use a kernel with CONFIG_INET_DIAG_DESTROY=y, or flows to dead apiservers hang "
                "until the client's own timeout");
  return ok(name, "a loopback socket was destroyed through sock_diag (CONFIG_INET_DIAG_DESTROY)");
}

Check probeProg(const char* name, bpf_prog_type t) {
  int rc = libbpf_probe_bpf_prog_type(t, nullptr);
  if (rc == 1) return ok(std::string("kernel ") + name, "program type loads");
  return fail(std::string("kernel ") + name,
              rc == 0 ? "program type not supported" : "probe failed: " + std::to_string(rc),
              "apilb needs a kernel with BPF and this program type (docs/kernels.md)");
}

}  // namespace


std::vector<Check> checkKernel() {
  std::vector<Check> out;
  out.push_back(probeProg("XDP", BPF_PROG_TYPE_XDP));
  out.push_back(probeProg("TC (sched_cls)", BPF_PROG_TYPE_SCHED_CLS));
  int rc = libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_neigh, nullptr);
  if (rc == 1)
    out.push_back(ok("kernel bpf_redirect_neigh", "helper available to TC programs"));
  else
    out.push_back(fail("kernel bpf_redirect_neigh", "helper not available (" + std::to_string(rc) + ")",
                       "apilb needs Linux >= 5.10 (docs/kernels.md)"));
  out.push_back(checkSockDestroy());
  return out;
}

// Socket mode: every cgroup link pinned, and how many connect()s were translated.
Check checkSocketMode(const std::string& pinDir) {
  std::string missing;
  for (const char* p : sockProgNames())
    if (::access(sockLinkPin(pinDir, p).c_str(), F_OK) != 0) missing += std::string(" ") + p;
  lb_sock_rec sr{};
  (void)readSockRecord(pinDir, &sr);
  if (!missing.empty())
    return fail("socket mode", "cgroup link pins missing:" + missing,
                "re-attach: apilb detach && apilb attach --mode ...");
  auto c = sockCounters(pinDir);
  uint64_t n = c.empty() ? 0 : c[LB_S_CONNECT];
  std::string where = "cgroup " + cgroupOf(sr);
  if (n == 0)
    return warn("socket mode", "attached to " + where + ", no connect() translated yet",
                "connect to the VIP from a process under " + cgroupOf(sr));
  return ok("socket mode",
            "attached to " + where + ", " + std::to_string(n) + " connect() translated");
}

std::vector<Check> checkDatapath(const DoctorInput& in) {
  std::vector<Check> out;
  if (!isAttached(in.pinDir)) {
    out.push_back(fail("datapath", "nothing attached at " + in.pinDir,
                       "run `apilb run` (it attaches) or `apilb attach`"));
    return out;
  }
  std::optional<Datapath> dp;
  lb_attach_rec rec{};
  try {
    dp.emplace(Datapath::open(in.pinDir));
  } catch (const std::exception& e) {
    out.push_back(fail("datapath", e.what(), "re-attach: apilb detach && apilb attach ..."));
    return out;
  }
  if (auto ec = dp->attachRecord(&rec)) {
    out.push_back(fail("datapath", "attach record: " + ec.message(), "re-attach"));
    return out;
  }
  if (rec.flags & LB_ATTACH_F_SOCKET) out.push_back(checkSocketMode(in.pinDir));
  if (rec.flags & LB_ATTACH_F_NO_PACKET) return out;  // no device, NIC program or sysctl to check
  uint64_t pkts = 0;
  for (const auto& c : dp->counters()) pkts += c.packets;
  out.push_back(pkts > 0 ? ok("datapath", "attached at " + in.pinDir + ", " + std::to_string(pkts) +
                                              " packets counted")
                         : warn("datapath", "attached, but no packet counted yet",
                                "send a request to the VIP; if it stays 0, check the route to the VIP"));
  int all = 0;
  (void)readSysctl(ipv4ConfName("all", "rp_filter"), &all);
  std::string vipDev(rec.vip_dev, strnlen(rec.vip_dev, sizeof(rec.vip_dev)));
  int vipMtu = std::max(ifMtu(vipDev), 0);
  out.push_back(tcHookCheck("attach " + vipDev, rec.vip_dev_ifindex, TcDir::kEgress, kProgFwd,
                            "forward DNAT"));
  out.push_back(tcHookCheck("attach lo", rec.lo_ifindex, TcDir::kIngress, kProgRevTc,
                            "hairpin reverse NAT"));
  for (uint32_t i = 0; i < rec.n_ifaces && i < LB_MAX_IFACES; i++) {
    std::string dev = ifName(rec.ifaces[i].ifindex);
    uint8_t mode = rec.ifaces[i].mode;
    if (mode == LB_MODE_XDP_GENERIC)
      out.push_back(warn("attach " + dev, "generic XDP (the driver refused native XDP): every reply is copied",
                         "use --ingress tc on this NIC, or a driver with native XDP"));
    else if (mode == LB_MODE_XDP_NATIVE && deviceDriver(dev) == "veth")
      out.push_back(warn("attach " + dev,
                         "native XDP on a veth: the device switches to NAPI mode, with a page-pool copy, "
                         "for all of its traffic",
                         "use --ingress tc on this NIC (docs/operations.md)"));
    else if (mode == LB_MODE_TC)
      out.push_back(tcHookCheck("attach " + dev, rec.ifaces[i].ifindex, TcDir::kIngress,
                                kProgRevTc, "reverse NAT in TC"));
    else
      out.push_back(ok("attach " + dev, std::string("reverse NAT in ") + modeName(mode)));
    int own = 0;
    (void)readSysctl(ipv4ConfName(dev, "rp_filter"), &own);
    if (std::max(all, own) == 1)
      out.push_back(fail("rp_filter " + dev, "strict (max(all, " + dev + ") = 1): replies from the VIP are dropped",
                         "sysctl -w net.ipv4.conf." + dev + ".rp_filter=2 (and conf.all.rp_filter <= 2)"));
    else
      out.push_back(ok("rp_filter " + dev, "effective value " + std::to_string(std::max(all, own))));
    int mtu = std::max(ifMtu(dev), 0);
    if (vipMtu > 0 && mtu > 0 && vipMtu > mtu)
      out.push_back(fail("mtu " + dev, vipDev + " MTU " + std::to_string(vipMtu) + " > " + dev + " MTU " + std::to_string(mtu) + ": large segments through the VIP are dropped",
                         "ip link set " + vipDev + " mtu " + std::to_string(mtu)));
    else if (vipMtu > 0 && mtu > 0)
      out.push_back(ok("mtu " + dev, vipDev + " " + std::to_string(vipMtu) + " <= " + std::to_string(mtu)));
  }
  int acceptLocal = 0;
  (void)readSysctl(ipv4ConfName("lo", "accept_local"), &acceptLocal);
  bool hairpin = false;
  for (const auto& b : dp->backends()) hairpin |= (b.be.flags & LB_BE_F_LOCAL) != 0;
  if (hairpin && acceptLocal != 1)
    out.push_back(fail("accept_local lo", "0, but a backend is this node: hairpin replies are dropped",
                       "sysctl -w net.ipv4.conf.lo.accept_local=1"));
  else
    out.push_back(ok("accept_local lo", std::to_string(acceptLocal) + (hairpin ? " (hairpin in use)" : "")));
  return out;
}

}  // namespace lb
