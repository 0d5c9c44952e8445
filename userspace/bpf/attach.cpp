// SPDX-License-Identifier: Apache-2.0
// attach/detach. The order matters: everything that can be checked without changing the host
// is checked first (BadInput, exit 2); then each change is first written to the attach journal
// (bpf/journal.h), so a killed attach can be undone by `apilb detach`, and registers its undo
// on a stack that runs in reverse if a later step throws, so a failed attach leaves the host as
// it was.
#include "bpf/attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>

#include "bpf/datapath.h"
#include "bpf/device.h"
#include "bpf/errno_code.h"
#include "bpf/hooks.h"
#include "bpf/journal.h"
#include "bpf/loader.h"
#include "bpf/netlink.h"
#include "bpf/sock_attach.h"
#include "bpf/sysctl.h"
#include "bpf/system.h"
#include "bpf/unique_fd.h"
#include "bpf/upgrade.h"
#include "lb/maglev.h"

namespace lb {
namespace {

// Runs the registered undo steps in reverse unless commit() was called.
class UndoStack {
 public:
  void push(std::function<void()> f) { steps_.push_back(std::move(f)); }
  void commit() { steps_.clear(); }
  ~UndoStack() {
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
      try {
        (*it)();
      } catch (...) {  // undo is best effort; keep undoing the rest
      }
    }
  }

 private:
  std::vector<std::function<void()>> steps_;
};

// The reverse-NAT hook attach will put on one NIC (kXdp or kTc, never kAuto). `auto` may still
// fall back to TC at attach time if the driver refuses native XDP (tcFallback); `why` is what
// made `auto` choose TC up front ("" otherwise).
struct IngressPlan {
  IngressMode mode = IngressMode::kXdp;
  bool tcFallback = false;
  std::string why;
};

// What resolve() learned from the kernel (read-only) for an attach.
struct Resolved {
  uint32_t loIfindex = 0;
  std::vector<uint32_t> ifindexes;
  std::vector<IngressPlan> ingress;  // one per ifindexes entry
  Endpoint nodeIp;
  std::string cgroup;      // socket mode: where the links go
  uint64_t sockNetns = 0;  // socket mode: the node's netns cookie (0 with --pods)
};

// Socket mode's read-only checks: the cgroup (default: the cgroup v2 root) and our netns.
void resolveSocket(const AttachConfig& cfg, Resolved* r) {
  r->cgroup = cfg.cgroup.empty() ? cgroupV2Root() : cfg.cgroup;
  if (r->cgroup.empty())
    throw BadInput("cgroup: no cgroup v2 filesystem is mounted (/proc/mounts)");
  while (r->cgroup.size() > 1 && r->cgroup.back() == '/') r->cgroup.pop_back();
  if (std::string why = cgroupProblem(r->cgroup); !why.empty()) throw BadInput(why);
  if (cfg.cgroup.empty() && cgroupId(r->cgroup) != kCgroupRootId)
    throw BadInput("cgroup: the cgroup v2 mount '" + r->cgroup +
                   "' is not the hierarchy's root (cgroup id " +
                   std::to_string(cgroupId(r->cgroup)) +
                   "): this process is in a cgroup namespace (a container), and socket mode "
                   "there would translate only the container's own processes; mount the host's "
                   "cgroup v2 (the manifests mount it at /host/sys/fs/cgroup) or name the cgroup "
                   "with --cgroup");
  if (r->cgroup.size() >= sizeof(lb_sock_rec::cgroup))
    throw BadInput("cgroup: '" + r->cgroup + "': path too long");
  if (cfg.pods) return;
  if (auto ec = currentNetnsCookie(&r->sockNetns))
    throw BadInput(
        "cannot read this network namespace's cookie (SO_NETNS_COOKIE, Linux >= 5.14): " +
        ec.message() + "; use --pods to translate every namespace");
}

std::string routeError(const Endpoint& ep, std::error_code ec) {
  return "no route to backend " + ep.str() + ": " + ec.message();
}

// NODE_IP: the backend itself when local, else the route's preferred source.
Endpoint nodeIpFor(const Endpoint& be, const RouteInfo& r) {
  Endpoint ip = r.local() ? be : r.prefsrc;
  ip.port = 0;
  if (ip.family == 0) throw BadInput("no source address on the route to backend " + be.str());
  return ip;
}

std::vector<uint32_t> resolveIfaces(const AttachConfig& cfg, const std::vector<RouteInfo>& routes) {
  std::vector<uint32_t> out;
  for (const auto& name : cfg.ifaces) {
    uint32_t idx = if_nametoindex(name.c_str());
    if (idx == 0) throw BadInput("unknown interface " + name);
    out.push_back(idx);
  }
  for (size_t i = 0; i < routes.size(); ++i) {
    if (routes[i].local()) continue;
    if (std::find(out.begin(), out.end(), routes[i].oif) != out.end()) continue;
    if (!cfg.ifaces.empty())
      throw BadInput("backend " + cfg.backends[i].ep.str() + " is reached via " +
                     ifName(routes[i].oif) + ", which is not an --iface");
    out.push_back(routes[i].oif);
  }
  if (out.size() > LB_MAX_IFACES) throw BadInput("too many interfaces (max 8)");
  return out;
}

IngressPlan planIngress(IngressMode want, uint32_t ifindex) {
  if (want != IngressMode::kAuto) return {want, false, ""};
  std::string name = ifName(ifindex), prog;
  if (deviceDriver(name) == "veth")
    return {IngressMode::kTc, false,
            name + " is a veth, where native XDP puts all of its traffic on NAPI with a copy"};
  if (xdpProgId(ifindex, &prog) != 0)
    return {IngressMode::kTc, false, name + " already has an XDP program (" + prog + ")"};
  return {IngressMode::kXdp, true, ""};
}

void checkHooksFree(const Resolved& r) {
  for (size_t i = 0; i < r.ifindexes.size(); ++i) {
    uint32_t idx = r.ifindexes[i];
    const IngressPlan& plan = r.ingress[i];
    std::string prog;
    if (plan.mode == IngressMode::kXdp && xdpProgId(idx, &prog) != 0)
      throw BadInput(ifName(idx) + " already has an XDP program (" + prog +
                     "); apilb will not replace it (use --ingress tc or auto, or remove it)");
    if ((plan.mode == IngressMode::kTc || plan.tcFallback) && tcProgId(idx, TcDir::kIngress) != 0)
      throw BadInput(ifName(idx) + " already has a tc filter at apilb's handle/priority");
  }
  if (tcProgId(r.loIfindex, TcDir::kIngress) != 0)
    throw BadInput("lo already has a tc filter at apilb's handle/priority (stale attach?)");
}

// The packet path's lb_fwd calls bpf_redirect_neigh() (Linux 5.10): without it the load would
// fail with a verifier log, so say it in one line instead. A probe that cannot tell (an error
// other than "not supported") lets the load decide.
void checkKernelHelpers(const AttachConfig& cfg) {
  if (!hasPacket(cfg.mode)) return;
  if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_neigh, nullptr) == 0)
    throw BadInput(
        "this kernel lacks bpf_redirect_neigh, which packet mode needs (Linux >= 5.10; "
        "docs/kernels.md)");
}

Resolved resolve(const AttachConfig& cfg) {
  checkKernelHelpers(cfg);
  if (journalExists(cfg.pinDir))
    throw BadInput("an earlier attach at " + cfg.pinDir + " was interrupted (journal " +
                   journalPath(cfg.pinDir) + "): run apilb detach first");
  if (isAttached(cfg.pinDir))
    throw BadInput("already attached at " + cfg.pinDir + " (run apilb detach first)");
  if (hasPacket(cfg.mode) && if_nametoindex(cfg.vipDev.c_str()) != 0)
    throw BadInput("device " + cfg.vipDev + " already exists (left over? ip link del " +
                   cfg.vipDev + ")");
  RouteInfo vr;
  if (!routeLookup(cfg.vip, &vr) && vr.local())
    throw BadInput("VIP " + cfg.vip.addrStr() + " is a local address of this node");
  std::vector<RouteInfo> routes;
  for (const auto& b : cfg.backends) {
    RouteInfo ri;
    if (auto ec = routeLookup(b.ep, &ri)) throw BadInput(routeError(b.ep, ec));
    routes.push_back(ri);
  }
  Resolved r;
  r.loIfindex = if_nametoindex("lo");
  if (hasSocket(cfg.mode)) resolveSocket(cfg, &r);
  if (!hasPacket(cfg.mode)) return r;
  r.nodeIp = nodeIpFor(cfg.backends[0].ep, routes[0]);
  r.ifindexes = resolveIfaces(cfg, routes);
  for (uint32_t idx : r.ifindexes) r.ingress.push_back(planIngress(cfg.ingress, idx));
  checkHooksFree(r);
  return r;
}

bool dirExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void preparePinDir(const std::string& pinDir, Journal& journal, UndoStack& undo,
                   std::ostream& log) {
  bool existed = dirExists(pinDir);
  std::string mountedAt;
  journal.intend("pindir " + pinDir + (existed ? " existing" : " new"));
  std::error_code ec = ensureBpffs(pinDir, &mountedAt);
  if (!mountedAt.empty()) journal.intend("bpffs " + mountedAt);
  undo.push([pinDir, mountedAt, existed] {
    if (!existed) ::rmdir(pinDir.c_str());
    if (!mountedAt.empty()) ::umount2(mountedAt.c_str(), MNT_DETACH);
  });
  if (ec || !isBpffs(pinDir))
    throw BadInput("pin dir " + pinDir + " is not on a bpf filesystem and one cannot be mounted" +
                   (ec ? ": " + ec.message() : std::string()));
  if (!mountedAt.empty()) log << "mounted bpffs on " << mountedAt << "\n";
}

// bpf_redirect_neigh() skips the output MTU check, so a packet the client sized for the VIP
// device's MTU leaves the NIC as is: the VIP device takes the smallest MTU of the attached NICs,
// and TCP's MSS toward the VIP follows from it.
int lowestMtu(const std::vector<uint32_t>& ifindexes) {
  int lowest = 0;
  for (uint32_t idx : ifindexes) {
    int m = ifMtu(ifName(idx));
    if (m > 0 && (lowest == 0 || m < lowest)) lowest = m;
  }
  return lowest;
}

void matchVipMtu(const std::string& vipDev, const std::vector<uint32_t>& ifindexes,
                 std::ostream& log) {
  int lowest = lowestMtu(ifindexes);
  if (lowest <= 0 || ifMtu(vipDev) == lowest) return;
  if (int rc = ifMtu(vipDev, lowest); rc < 0) sysFail(errnoCodeOf(rc), "set MTU of " + vipDev);
  log << "mtu " << vipDev << " " << lowest << " (smallest of the attached interfaces)\n";
}

VipDevice createDevice(const AttachConfig& cfg, const Resolved& r, Journal& journal,
                       UndoStack& undo, std::ostream& log) {
  VipDevice dev;
  journal.intend("link " + cfg.vipDev);  // its peer, MTU, sysctls and route go with it
  if (auto ec = createVipDevice(cfg.vipDev, cfg.vipDev + "p", &dev))
    sysFail(ec, "create VIP device " + cfg.vipDev);
  undo.push([idx = dev.ifindex] { (void)deleteLink(idx); });
  if (dev.veth) {
    // Packets that leave apilb0 untranslated arrive on the peer: never forward them back.
    (void)writeSysctl(ipv4ConfName(cfg.vipDev + "p", "forwarding"), 0);
    (void)writeSysctl("net.ipv6.conf." + cfg.vipDev + "p.disable_ipv6", 1);
  }
  log << "created "
      << (dev.veth ? "veth " + cfg.vipDev + "/" + cfg.vipDev + "p" : "dummy " + cfg.vipDev)
      << " (ifindex " << dev.ifindex << ", arp off)\n";
  matchVipMtu(cfg.vipDev, r.ifindexes, log);
  if (auto ec = addVipRoute(cfg.vip, dev.ifindex, r.nodeIp))
    sysFail(ec, "add route " + cfg.vip.addrStr() + " dev " + cfg.vipDev);
  log << "route " << cfg.vip.addrStr() << (cfg.vip.family == LB_AF_INET ? "/32" : "/128") << " dev "
      << cfg.vipDev << " src " << r.nodeIp.addrStr() << "\n";
  return dev;
}

void fillMaps(const AttachConfig& cfg, const std::string& pinDir) {
  Datapath dp = Datapath::open(pinDir);
  if (auto ec = dp.addVip(cfg.vip, 0, cfg.tableSize)) sysFail(ec, "add VIP " + cfg.vip.str());
  for (const auto& b : cfg.backends) {
    uint32_t id = 0;
    if (auto ec = dp.addBackend(0, b.ep, b.weight, &id)) sysFail(ec, "add backend " + b.ep.str());
  }
  if (auto ec = dp.publishTable(0)) sysFail(ec, "publish Maglev table");
}

// The clsact qdisc tcAttach may create (no tcx) is journaled before it exists: a kill right
// after the creation finds it in the journal, and detach removes it once it holds no filter.
void attachTc(uint32_t ifindex, TcDir dir, int progFd, const char* prog, bool* created,
              Journal& journal, UndoStack& undo, std::ostream& log) {
  const bool tcx = tcxEnabled();
  bool had = false;
  if (!tcx) {
    if (auto ec = hasClsact(ifindex, &had)) sysFail(ec, "list the qdiscs of " + ifName(ifindex));
    if (!had) journal.intend("clsact " + ifName(ifindex));
  }
  journal.intend("tc " + ifName(ifindex) + (dir == TcDir::kIngress ? " ingress" : " egress"));
  const std::string where = tcHookWhere(ifindex, dir);
  if (auto ec = tcAttach(ifindex, dir, progFd, created))
    sysFail(ec, std::string("attach ") + prog + " to " + where);
  undo.push([ifindex, dir, c = *created] { (void)tcDetach(ifindex, dir, c); });
  log << "attached " << prog << " to " << where << (tcx ? " (tcx, first in the chain)" : "")
      << "\n";
}

lb_iface_rec attachTcIngress(const LbProgram& prog, uint32_t ifindex, Journal& journal,
                             UndoStack& undo, std::ostream& log) {
  lb_iface_rec rec{};
  rec.ifindex = ifindex;
  rec.old_rp_filter = -1;
  bool created = false;
  attachTc(ifindex, TcDir::kIngress, prog.revTcProg(), kProgRevTc, &created, journal, undo, log);
  rec.mode = LB_MODE_TC;
  rec.flags = created ? LB_IFACE_F_CLSACT : 0;
  return rec;
}

// XDP on one NIC: native, else generic (--ingress xdp). With a TC fallback (`auto`) a driver
// that refuses native XDP leaves the NIC untouched: false, and *refused says why.
bool attachXdp(const IngressPlan& plan, const LbProgram& prog, uint32_t ifindex, Journal& journal,
               UndoStack& undo, std::ostream& log, lb_iface_rec* rec, std::string* refused) {
  bool generic = false;
  journal.intend("xdp " + ifName(ifindex));
  std::error_code ec = xdpAttach(ifindex, prog.revXdpProg(), !plan.tcFallback, &generic);
  if (ec && plan.tcFallback && ec != std::errc::device_or_resource_busy &&
      ec != std::errc::file_exists) {
    *refused = ec.message();
    return false;
  }
  if (ec) sysFail(ec, std::string("attach ") + kProgRevXdp + " (XDP) to " + ifName(ifindex));
  undo.push([ifindex] { (void)xdpDetach(ifindex, kProgRevXdp); });
  *rec = lb_iface_rec{};
  rec->ifindex = ifindex;
  rec->old_rp_filter = -1;
  rec->mode = generic ? LB_MODE_XDP_GENERIC : LB_MODE_XDP_NATIVE;
  log << "attached " << kProgRevXdp << " to " << ifName(ifindex) << " (" << modeName(rec->mode)
      << ")\n";
  if (generic) log << genericXdpWarning(ifName(ifindex)) << "\n";
  return true;
}

lb_iface_rec attachIface(const IngressPlan& plan, const LbProgram& prog, uint32_t ifindex,
                         Journal& journal, UndoStack& undo, std::ostream& log) {
  std::string why = plan.why;
  if (plan.mode == IngressMode::kXdp) {
    lb_iface_rec rec{};
    std::string refused;
    if (attachXdp(plan, prog, ifindex, journal, undo, log, &rec, &refused)) return rec;
    why = "the driver of " + ifName(ifindex) + " refused native XDP (" + refused + ")";
  }
  if (!why.empty()) log << "ingress auto: TC on " << ifName(ifindex) << ": " << why << "\n";
  return attachTcIngress(prog, ifindex, journal, undo, log);
}

// Makes rp_filter on `dev` effectively loose. The kernel uses max(all, dev): when that is 1
// (strict), setting dev to 2 is enough, so conf.all is never touched. Returns the old value or -1.
int8_t loosenRpFilter(const std::string& dev, Journal& journal, UndoStack& undo,
                      std::ostream& log) {
  int all = 0, cur = 0;
  std::string name = ipv4ConfName(dev, "rp_filter");
  if (readSysctl(ipv4ConfName("all", "rp_filter"), &all) || readSysctl(name, &cur)) return -1;
  if (std::max(all, cur) != 1) return -1;
  journal.intend("sysctl " + name + " " + std::to_string(cur));
  if (auto ec = writeSysctl(name, 2)) sysFail(ec, "sysctl " + name);
  undo.push([name, cur] { (void)writeSysctl(name, cur); });
  log << "sysctl " << name << " " << cur << " -> 2\n";
  return static_cast<int8_t>(cur);
}

int8_t enableAcceptLocal(Journal& journal, UndoStack& undo, std::ostream& log) {
  std::string name = ipv4ConfName("lo", "accept_local");
  int cur = 0;
  if (readSysctl(name, &cur) || cur == 1) return -1;
  journal.intend("sysctl " + name + " " + std::to_string(cur));
  if (auto ec = writeSysctl(name, 1)) sysFail(ec, "sysctl " + name);
  undo.push([name, cur] { (void)writeSysctl(name, cur); });
  log << "sysctl " << name << " " << cur << " -> 1\n";
  return static_cast<int8_t>(cur);
}

void writeRecord(const std::string& pinDir, lb_attach_rec rec) {
  UniqueFd fd(bpf_obj_get((pinDir + "/" LB_MAP_ATTACH).c_str()));
  if (!fd.valid()) sysFail(errnoCode(), "open " LB_MAP_ATTACH);
  uint32_t key = 0;
  rec.magic = LB_ATTACH_MAGIC;  // written in the same update as the rest: readers see all or none
  if (bpf_map_update_elem(fd.get(), &key, &rec, BPF_ANY) != 0)
    sysFail(errnoCode(), "write " LB_MAP_ATTACH);
}

lb_attach_rec baseRecord(const AttachConfig& cfg, const VipDevice& dev, const Resolved& r) {
  lb_attach_rec rec{};
  rec.version = LB_ABI_VERSION;  // bpf/upgrade.h
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  rec.attached_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
  rec.vip_dev_ifindex = dev.ifindex;
  rec.vip_peer_ifindex = dev.peerIfindex;
  rec.lo_ifindex = r.loIfindex;
  rec.old_lo_accept_local = rec.old_lo_rp_filter = rec.old_all_rp_filter = -1;
  rec.old_vip_dev_rp_filter = -1;
  std::strncpy(rec.vip_dev, cfg.vipDev.c_str(), sizeof(rec.vip_dev) - 1);
  return rec;
}

// Socket mode: the record of what is attached where, then the links (connect last).
void attachSocket(const AttachConfig& cfg, const Resolved& r, const LbProgram& prog,
                  Journal& journal, UndoStack& undo, std::ostream& log) {
  lb_sock_rec sr{};
  sr.cgroup_id = cgroupId(r.cgroup);
  sr.netns_cookie = r.sockNetns;
  sr.flags = cfg.pods ? LB_SOCK_F_PODS : 0;
  std::strncpy(sr.cgroup, r.cgroup.c_str(), sizeof(sr.cgroup) - 1);
  if (auto ec = writeSockRecord(cfg.pinDir, sr)) sysFail(ec, "write " LB_MAP_SOCKREC);
  attachSockLinks(
      prog, r.cgroup, cfg.pinDir, journal,
      [&undo](std::function<void()> f) { undo.push(std::move(f)); }, log);
  log << "socket mode: TCP connect() to " << cfg.vip.str() << " under " << r.cgroup
      << (cfg.pods ? " (every network namespace)" : " (this network namespace)")
      << " goes straight to a backend\n";
}

std::vector<uint32_t> ifindexesOf(const lb_attach_rec& rec) {
  std::vector<uint32_t> v;
  for (uint32_t i = 0; i < std::min<uint32_t>(rec.n_ifaces, LB_MAX_IFACES); ++i)
    v.push_back(rec.ifaces[i].ifindex);
  return v;
}

}  // namespace

VipMtu vipMtuOf(const lb_attach_rec& rec) {
  VipMtu m;
  std::string dev = ifName(rec.vip_dev_ifindex);
  m.vip = dev.empty() ? 0 : std::max(0, ifMtu(dev));
  m.nic = lowestMtu(ifindexesOf(rec));
  return m;
}

bool readAttachRecord(const std::string& pinDir, lb_attach_rec* rec) {
  UniqueFd fd(bpf_obj_get((pinDir + "/" LB_MAP_ATTACH).c_str()));
  uint32_t key = 0;
  return fd.valid() && bpf_map_lookup_elem(fd.get(), &key, rec) == 0 &&
         rec->magic == LB_ATTACH_MAGIC;
}

std::vector<TcHook> tcHooksOf(const lb_attach_rec& rec) {
  std::vector<TcHook> out = {{rec.vip_dev_ifindex, TcDir::kEgress, kProgFwd},
                             {rec.lo_ifindex, TcDir::kIngress, kProgRevTc}};
  for (uint32_t i = 0; i < std::min<uint32_t>(rec.n_ifaces, LB_MAX_IFACES); ++i)
    if (rec.ifaces[i].mode == LB_MODE_TC)
      out.push_back({rec.ifaces[i].ifindex, TcDir::kIngress, kProgRevTc});
  return out;
}

AttachConfig attachConfigOf(const DaemonConfig& intent, const std::string& pinDir) {
  AttachConfig a;
  a.pinDir = pinDir;
  a.vip = intent.vip;
  a.backends = intent.backends;
  a.ifaces = intent.ifaces;
  a.ingress = intent.ingress == "tc"    ? IngressMode::kTc
              : intent.ingress == "xdp" ? IngressMode::kXdp
                                        : IngressMode::kAuto;
  a.tableSize = intent.tableSize;
  a.mode = intent.mode == "socket" ? AttachMode::kSocket
           : intent.mode == "both" ? AttachMode::kBoth
                                   : AttachMode::kPacket;
  a.cgroup = intent.cgroup;
  a.pods = intent.pods;
  return a;
}

std::string validateStatic(const AttachConfig& cfg) {
  if (cfg.pinDir.empty() || cfg.pinDir[0] != '/')
    return "pin_dir: '" + cfg.pinDir + "': must be an absolute path";
  std::string pd = cfg.pinDir;
  while (pd.size() > 1 && pd.back() == '/') pd.pop_back();
  if (pd == "/" || pd == "/sys/fs/bpf")
    return "pin_dir: '" + cfg.pinDir + "': must be a dedicated directory, not a bpffs root";
  if (cfg.vipDev.empty() || cfg.vipDev.size() > IFNAMSIZ - 2) return "VIP device name too long";
  for (const auto& i : cfg.ifaces)
    if (i == cfg.vipDev || i == cfg.vipDev + "p") return "iface: '" + i + "': is the VIP device";
  DaemonConfig intent;
  intent.vip = cfg.vip;
  intent.backends = cfg.backends;
  intent.ifaces = cfg.ifaces;
  intent.tableSize = cfg.tableSize;
  std::vector<std::string> errs;
  validateDatapath(intent, &errs);
  for (const auto& i : cfg.ifaces) {  // names the flags/YAML reader already checked
    RawSettings raw{{"iface", {i}}};
    DaemonConfig scratch;
    applySettings(raw, &scratch, &errs);
  }
  return errs.empty() ? std::string() : errs.front();
}

bool isAttached(const std::string& pinDir) {
  return pinnedAbi(pinDir) != 0;  // reads the record of any ABI, whatever its size
}

std::string genericXdpWarning(const std::string& ifname) {
  return "WARNING: " + ifname +
         ": generic XDP (the driver refused native XDP): every reply is copied; use --ingress tc";
}

const char* attachModeName(uint32_t recFlags) {
  if (!(recFlags & LB_ATTACH_F_SOCKET)) return "packet";
  return (recFlags & LB_ATTACH_F_NO_PACKET) ? "socket" : "both";
}

const char* modeName(uint8_t mode) {
  switch (mode) {
    case LB_MODE_XDP_NATIVE:
      return "native XDP";
    case LB_MODE_XDP_GENERIC:
      return "generic XDP";
    case LB_MODE_TC:
      return "TC";
    default:
      return "none";
  }
}

void attach(const AttachConfig& cfg, std::ostream& log) {
  if (std::string m = validateStatic(cfg); !m.empty()) throw BadInput(m);
  std::string missing;
  if (!havePrivileges(&missing))
    throw BadInput("insufficient privileges: need root (" + missing + ")");
  Resolved r = resolve(cfg);
  Journal journal;  // before the undo stack: removed after a failed attach is undone
  if (auto ec = journal.create(cfg.pinDir)) sysFail(ec, "create " + journalPath(cfg.pinDir));
  UndoStack undo;
  preparePinDir(cfg.pinDir, journal, undo, log);
  VipDevice dev{};
  if (hasPacket(cfg.mode)) dev = createDevice(cfg, r, journal, undo, log);
  LbProgram prog = LbProgram::load(cfg.tableSize, r.loIfindex, r.sockNetns, hasSocket(cfg.mode));
  if (std::any_of(r.ingress.begin(), r.ingress.end(),
                  [](const IngressPlan& p) { return p.mode == IngressMode::kXdp; }))
    log << "loaded " << kProgRevXdp
        << (prog.xdpFrags() ? " as xdp.frags (multi-buffer)\n"
                            : " as plain xdp (xdp.frags refused or disabled): a NIC with an MTU "
                              "above one page may refuse native XDP\n");
  journal.intend("pins " + cfg.pinDir);
  undo.push([p = cfg.pinDir] { removePinDir(p); });
  prog.pinMaps(cfg.pinDir);
  fillMaps(cfg, cfg.pinDir);
  lb_attach_rec rec = baseRecord(cfg, dev, r);
  if (hasPacket(cfg.mode)) {
    bool created = false;
    attachTc(dev.ifindex, TcDir::kEgress, prog.fwdProg(), kProgFwd, &created, journal, undo, log);
    attachTc(r.loIfindex, TcDir::kIngress, prog.revTcProg(), kProgRevTc, &created, journal, undo,
             log);
    rec.flags = created ? LB_ATTACH_F_LO_CLSACT : 0;
    for (size_t i = 0; i < r.ifindexes.size(); ++i)
      rec.ifaces[rec.n_ifaces++] =
          attachIface(r.ingress[i], prog, r.ifindexes[i], journal, undo, log);
    if (cfg.vip.family == LB_AF_INET) {
      for (uint32_t i = 0; i < rec.n_ifaces; ++i)
        rec.ifaces[i].old_rp_filter =
            loosenRpFilter(ifName(rec.ifaces[i].ifindex), journal, undo, log);
      rec.old_lo_rp_filter = loosenRpFilter("lo", journal, undo, log);
      rec.old_lo_accept_local = enableAcceptLocal(journal, undo, log);
    }
  } else {
    rec.flags |= LB_ATTACH_F_NO_PACKET;
    rec.vip_dev[0] = '\0';
  }
  if (hasSocket(cfg.mode)) {
    attachSocket(cfg, r, prog, journal, undo, log);
    rec.flags |= LB_ATTACH_F_SOCKET;
  }
  journal.intend("record");
  writeRecord(cfg.pinDir, rec);
  undo.commit();
  journal.finish();  // from here on `apilb detach` works from the attach record
}

}  // namespace lb
