// SPDX-License-Identifier: Apache-2.0
// Datapath: the pinned maps opened with bpf_obj_get() and accessed with the raw bpf(2) map
// calls. Maglev tables are published by creating a complete new inner ARRAY map and swapping it
// into the outer ARRAY_OF_MAPS slot with one update, so a packet sees either the old or the new
// table, never a mix.
#include "bpf/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpf/errno_code.h"
#include "bpf/maglev_map.h"
#include "bpf/netlink.h"
#include "bpf/pin_lock.h"
#include "bpf/sock_attach.h"
#include "bpf/unique_fd.h"
#include "lb/maglev.h"

namespace lb {
namespace {

Endpoint makeEndpoint(const lb_addr& a, __be16 port, uint8_t family) {
  Endpoint ep;
  ep.addr = a;
  ep.port = ntohs(port);
  ep.family = family;
  return ep;
}

}  // namespace

Endpoint BackendInfo::endpoint() const { return makeEndpoint(be.addr, be.port, be.family); }
Endpoint VipInfo::endpoint() const { return makeEndpoint(key.addr, key.port, key.family); }

std::string BackendInfo::nextHop() const {
  const lb_addr& a = be.nh;
  if (!(a.w[0] | a.w[1] | a.w[2] | a.w[3])) return "";
  return makeEndpoint(a, 0, be.family).addrStr();
}

lb_flow_key FlowInfo::revKey() const {
  lb_flow_key rev{};
  rev.src = fwd.backend;
  rev.dst = key.src;
  rev.sport = fwd.backend_port;
  rev.dport = key.sport;
  rev.proto = key.proto;
  rev.family = key.family;
  return rev;
}

struct Datapath::Fds {
  UniqueFd vips, backends, maglev, fwd, rev, stats, attach, bports, bstats;
  UniqueFd signals;  // optional: pins of an apilb without passive detection lack it
};

Datapath::Datapath(std::string pinDir)
    : pinDir_(std::move(pinDir)), fds_(std::make_unique<Fds>()) {}
Datapath::Datapath(Datapath&&) noexcept = default;
Datapath& Datapath::operator=(Datapath&&) noexcept = default;
Datapath::~Datapath() = default;

Datapath Datapath::open(const std::string& pinDir) {
  Datapath dp(pinDir);
  auto get = [&](const char* name, UniqueFd* fd) {
    std::string path = pinDir + "/" + name;
    fd->reset(bpf_obj_get(path.c_str()));
    if (!fd->valid()) sysFail(errnoCode(), "bpf_obj_get " + path);
  };
  get(LB_MAP_VIPS, &dp.fds_->vips);
  get(LB_MAP_BACKENDS, &dp.fds_->backends);
  get(LB_MAP_MAGLEV, &dp.fds_->maglev);
  get(LB_MAP_FWD, &dp.fds_->fwd);
  get(LB_MAP_REV, &dp.fds_->rev);
  get(LB_MAP_STATS, &dp.fds_->stats);
  get(LB_MAP_ATTACH, &dp.fds_->attach);
  get(LB_MAP_BPORTS, &dp.fds_->bports);
  get(LB_MAP_BSTATS, &dp.fds_->bstats);
  std::string signals = pinDir + "/" + LB_MAP_SIGNALS;
  int sigFd = bpf_obj_get(signals.c_str());
  int sigErr = errno;
  if (sigFd < 0 && sigErr != ENOENT)
    throw std::system_error(sigErr, std::generic_category(), "bpf_obj_get " + signals);
  dp.fds_->signals.reset(sigFd);
  return dp;
}

const std::string& Datapath::pinDir() const { return pinDir_; }

std::error_code Datapath::attachRecord(lb_attach_rec* out) const {
  uint32_t key = 0;
  if (bpf_map_lookup_elem(fds_->attach.get(), &key, out) != 0) return errnoCode();
  return {};
}

std::vector<VipInfo> Datapath::vips() const {
  std::vector<VipInfo> out;
  lb_vip_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fds_->vips.get(), prev, &next) == 0) {
    VipInfo vi{next, {}};
    if (bpf_map_lookup_elem(fds_->vips.get(), &next, &vi.vip) == 0) out.push_back(vi);
    key = next;
    prev = &key;
  }
  std::sort(out.begin(), out.end(),
            [](const VipInfo& a, const VipInfo& b) { return a.vip.vip_id < b.vip.vip_id; });
  return out;
}

std::error_code Datapath::addVip(const Endpoint& vip, uint32_t vipId, uint32_t tableSize) {
  lb_vip_key key{};
  key.addr = vip.addr;
  key.port = htons(vip.port);
  key.proto = IPPROTO_TCP;
  key.family = vip.family;
  lb_vip v{};
  v.vip_id = vipId;
  v.table_size = tableSize;
  if (bpf_map_update_elem(fds_->vips.get(), &key, &v, BPF_NOEXIST) != 0) return errnoCode();
  return {};
}

std::vector<BackendInfo> Datapath::backends() const {
  std::vector<BackendInfo> out;
  for (uint32_t id = 0; id < LB_MAX_BACKENDS; ++id) {
    lb_backend be{};
    if (bpf_map_lookup_elem(fds_->backends.get(), &id, &be) != 0) break;
    if (be.flags & LB_BE_F_IN_USE) out.push_back({id, be});
  }
  return out;
}

std::optional<BackendInfo> Datapath::findBackend(const Endpoint& ep) const {
  for (const auto& b : backends())
    if (b.endpoint() == ep) return b;
  return std::nullopt;
}

std::string Datapath::ifaceProblem(const Endpoint& ep) const {
  RouteInfo r;
  if (auto ec = routeLookup(ep, &r)) return "no route to backend " + ep.str() + ": " + ec.message();
  if (r.local()) return {};
  lb_attach_rec rec{};
  if (attachRecord(&rec) || rec.magic != LB_ATTACH_MAGIC) return {};
  if (rec.flags & LB_ATTACH_F_NO_PACKET) return {};  // socket mode: no reverse NAT anywhere
  std::string names;
  for (uint32_t i = 0; i < std::min<uint32_t>(rec.n_ifaces, LB_MAX_IFACES); ++i) {
    if (rec.ifaces[i].ifindex == r.oif) return {};
    names += (names.empty() ? "" : ", ") + ifName(rec.ifaces[i].ifindex);
  }
  return "backend " + ep.str() + " is reached via " + ifName(r.oif) +
         ", which apilb is not attached to (attached: " + names + ")";
}

std::error_code Datapath::addBackend(uint32_t vipId, const Endpoint& ep, uint16_t weight,
                                     uint32_t* idOut, bool pinNextHop) {
  auto all = vips();
  auto vip = std::find_if(all.begin(), all.end(), [&](auto& v) { return v.vip.vip_id == vipId; });
  if (vip == all.end()) return std::make_error_code(std::errc::no_such_file_or_directory);
  if (vip->key.family != ep.family)
    return std::make_error_code(std::errc::address_family_not_supported);
  SlotLock lock(pinDir_);  // find-free-slot + claim is one step for every process
  if (!lock.held()) return errnoCode();
  if (findBackend(ep)) return std::make_error_code(std::errc::file_exists);
  RouteInfo route;
  if (auto ec = routeLookup(ep, &route)) return ec;
  if (!ifaceProblem(ep).empty()) return std::make_error_code(std::errc::cross_device_link);
  for (uint32_t id = 0; id < LB_MAX_BACKENDS; ++id) {
    lb_backend be{};
    if (bpf_map_lookup_elem(fds_->backends.get(), &id, &be) != 0) return errnoCode();
    if (be.flags & LB_BE_F_IN_USE) continue;
    lb_backend nb{};
    nb.addr = ep.addr;
    nb.port = htons(ep.port);
    nb.family = ep.family;
    nb.flags = LB_BE_F_IN_USE | (route.local() ? LB_BE_F_LOCAL : 0);
    nb.vip_id = vipId;
    nb.ifindex = route.oif;
    if (pinNextHop) nb.nh = route.nextHop(ep);
    nb.gen = be.gen + 1;
    nb.weight = std::max<uint16_t>(weight, 1);
    // The port first: the reverse path must know it before any flow to this backend exists.
    if (auto ec = setBackendPort(ep.port, true)) return ec;
    if (auto ec = clearBackendStats(id)) return ec;  // the slot's counters start at 0
    if (auto ec = clearSockConnects(pinDir_, id)) return ec;
    if (bpf_map_update_elem(fds_->backends.get(), &id, &nb, BPF_ANY) != 0) return errnoCode();
    if (idOut) *idOut = id;
    return {};
  }
  return std::make_error_code(std::errc::no_space_on_device);
}

std::error_code Datapath::refreshRoutes(std::vector<std::string>* changes, bool pinNextHops) {
  SlotLock lock(pinDir_);
  if (!lock.held()) return errnoCode();
  for (const auto& b : backends()) {
    Endpoint ep = b.endpoint();
    RouteInfo route;
    if (routeLookup(ep, &route)) continue;  // no route now: keep the last path (and say nothing)
    lb_backend nb = b.be;
    nb.ifindex = route.oif;
    nb.nh = pinNextHops ? route.nextHop(ep) : lb_addr{};
    nb.flags = (nb.flags & ~LB_BE_F_LOCAL) | (route.local() ? LB_BE_F_LOCAL : 0);
    if (nb.ifindex == b.be.ifindex && nb.flags == b.be.flags &&
        std::memcmp(&nb.nh, &b.be.nh, sizeof(nb.nh)) == 0)
      continue;
    // Same slot, same gen: the backend's flows stay; only the path to it changed.
    if (bpf_map_update_elem(fds_->backends.get(), &b.id, &nb, BPF_EXIST) != 0) return errnoCode();
    if (changes) {
      std::string nh = BackendInfo{b.id, nb}.nextHop();
      changes->push_back(ep.str() + ": now via " + ifName(nb.ifindex) +
                         (route.local() ? " (local)"
                          : nh.empty()  ? " (next hop: the kernel's route lookup per packet)"
                                        : " next hop " + nh));
    }
  }
  return {};
}

std::error_code Datapath::removeBackend(uint32_t id) {
  SlotLock lock(pinDir_);
  if (!lock.held()) return errnoCode();
  lb_backend be{};
  if (bpf_map_lookup_elem(fds_->backends.get(), &id, &be) != 0) return errnoCode();
  if (!(be.flags & LB_BE_F_IN_USE))
    return std::make_error_code(std::errc::no_such_file_or_directory);
  lb_backend cleared{};
  cleared.gen = be.gen + 1;  // flows remembering the old gen see a replaced backend
  if (bpf_map_update_elem(fds_->backends.get(), &id, &cleared, BPF_ANY) != 0) return errnoCode();
  uint16_t port = ntohs(be.port);
  for (const auto& b : backends())
    if (b.endpoint().port == port) return {};  // another backend still listens there
  return setBackendPort(port, false);
}

std::error_code Datapath::setBackendPort(uint16_t port, bool on) {
  uint32_t key = port, val = on ? 1 : 0;
  if (bpf_map_update_elem(fds_->bports.get(), &key, &val, BPF_ANY) != 0) return errnoCode();
  return {};
}

bool Datapath::isBackendPort(uint16_t port) const {
  uint32_t key = port, val = 0;
  return bpf_map_lookup_elem(fds_->bports.get(), &key, &val) == 0 && val != 0;
}

std::error_code Datapath::setBackendFlags(uint32_t id, uint32_t set, uint32_t clear) {
  lb_backend be{};
  if (bpf_map_lookup_elem(fds_->backends.get(), &id, &be) != 0) return errnoCode();
  if (!(be.flags & LB_BE_F_IN_USE))
    return std::make_error_code(std::errc::no_such_file_or_directory);
  be.flags = (be.flags | set) & ~clear;
  be.flags |= LB_BE_F_IN_USE;
  if (bpf_map_update_elem(fds_->backends.get(), &id, &be, BPF_EXIST) != 0) return errnoCode();
  return {};
}

namespace {

// Map flags of the inner template, taken from any published inner map (all share one template).
// 0 when none is published yet (libbpf's template has no flags unless the BPF C sets them).
uint32_t innerFlags(int outerFd) {
  for (uint32_t k = 0; k < LB_MAX_VIPS; ++k) {
    uint32_t id = 0;
    if (bpf_map_lookup_elem(outerFd, &k, &id) != 0 || id == 0) continue;
    UniqueFd fd(bpf_map_get_fd_by_id(id));
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (fd.valid() && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0) return info.map_flags;
  }
  return 0;
}

}  // namespace

std::error_code Datapath::publishTable(uint32_t vipId, std::optional<std::vector<uint32_t>> ids) {
  auto all = vips();
  auto vip = std::find_if(all.begin(), all.end(), [&](auto& v) { return v.vip.vip_id == vipId; });
  if (vip == all.end()) return std::make_error_code(std::errc::no_such_file_or_directory);
  std::vector<MaglevBackend> set;
  for (const auto& b : backends()) {
    if (b.be.vip_id != vipId) continue;
    bool wanted = ids ? std::find(ids->begin(), ids->end(), b.id) != ids->end()
                      : !(b.be.flags & (LB_BE_F_DRAIN | LB_BE_F_DOWN));
    if (wanted) set.push_back({b.id, b.endpoint().str(), std::max<uint32_t>(b.be.weight, 1)});
  }
  if (set.empty()) return std::make_error_code(std::errc::no_such_file_or_directory);
  std::vector<uint32_t> table = buildMaglevTable(set, vip->vip.table_size);
  return installMaglevTable(fds_->maglev.get(), vipId, table, innerFlags(fds_->maglev.get()));
}

std::vector<uint32_t> Datapath::table(uint32_t vipId) const {
  uint32_t id = 0;
  if (bpf_map_lookup_elem(fds_->maglev.get(), &vipId, &id) != 0 || id == 0) return {};
  UniqueFd fd(bpf_map_get_fd_by_id(id));
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (!fd.valid() || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return {};
  std::vector<uint32_t> out(info.max_entries, LB_NO_BACKEND);
  for (uint32_t i = 0; i < info.max_entries; ++i)
    if (bpf_map_lookup_elem(fd.get(), &i, &out[i]) != 0) return {};
  return out;
}

std::error_code Datapath::setVipFlags(uint32_t vipId, uint32_t set, uint32_t clear) {
  for (auto& v : vips()) {
    if (v.vip.vip_id != vipId) continue;
    v.vip.flags = (v.vip.flags | set) & ~clear;
    if (bpf_map_update_elem(fds_->vips.get(), &v.key, &v.vip, BPF_EXIST) != 0) return errnoCode();
    return {};
  }
  return std::make_error_code(std::errc::no_such_file_or_directory);
}

std::vector<FlowInfo> Datapath::flows() const {
  std::vector<FlowInfo> out;
  lb_flow_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fds_->fwd.get(), prev, &next) == 0) {
    FlowInfo fi{next, {}};
    if (bpf_map_lookup_elem(fds_->fwd.get(), &next, &fi.fwd) == 0) out.push_back(fi);
    key = next;
    prev = &key;
  }
  return out;
}

std::error_code Datapath::deleteFlowsTo(uint32_t id, size_t* n) {
  size_t count = 0;
  for (const auto& f : flows()) {
    if (f.fwd.backend_id != id) continue;
    lb_flow_key rev = f.revKey();
    bpf_map_delete_elem(fds_->rev.get(), &rev);  // may already be gone (LRU)
    if (bpf_map_delete_elem(fds_->fwd.get(), &f.key) == 0) ++count;
  }
  if (n) *n = count;
  return {};
}

std::error_code Datapath::clearBackendStats(uint32_t id) {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return errnoCodeOf(ncpu);
  std::vector<lb_backend_stat> zero(static_cast<size_t>(ncpu));  // 8 bytes: already 8-aligned
  if (bpf_map_update_elem(fds_->bstats.get(), &id, zero.data(), BPF_ANY) != 0) return errnoCode();
  if (!fds_->signals.valid()) return {};
  std::vector<lb_signal_stat> zeroSig(static_cast<size_t>(ncpu));  // 40 bytes: 8-aligned
  if (bpf_map_update_elem(fds_->signals.get(), &id, zeroSig.data(), BPF_ANY) != 0)
    return errnoCode();
  return {};
}

std::vector<uint64_t> Datapath::backendNewFlows() const {
  std::vector<uint64_t> out(LB_MAX_BACKENDS, 0);
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  std::vector<lb_backend_stat> per(static_cast<size_t>(ncpu));
  for (uint32_t id = 0; id < LB_MAX_BACKENDS; ++id) {
    if (bpf_map_lookup_elem(fds_->bstats.get(), &id, per.data()) != 0) continue;
    for (const auto& s : per) out[id] += s.new_flows;
  }
  return out;
}

bool Datapath::hasSignals() const { return fds_->signals.valid(); }

std::error_code Datapath::backendSignals(uint32_t id, BackendSignals* out) const {
  if (!fds_->signals.valid()) return std::make_error_code(std::errc::not_supported);
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return std::error_code(-ncpu, std::generic_category());
  std::vector<lb_signal_stat> per(static_cast<size_t>(ncpu));
  std::vector<lb_backend_stat> flows(static_cast<size_t>(ncpu));
  if (bpf_map_lookup_elem(fds_->signals.get(), &id, per.data()) != 0) return errnoCode();
  if (bpf_map_lookup_elem(fds_->bstats.get(), &id, flows.data()) != 0) return errnoCode();
  *out = BackendSignals{};
  for (const auto& s : per)
    for (size_t k = 0; k < LB_SIG__MAX; k++) out->n[k] += s.n[k];
  for (const auto& f : flows) out->newFlows += f.new_flows;
  return {};
}

std::array<lb_stat, LB_R__MAX> Datapath::counters() const {
  std::array<lb_stat, LB_R__MAX> out{};
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  std::vector<lb_stat> per(static_cast<size_t>(ncpu));  // lb_stat is 16 bytes: already 8-aligned
  for (uint32_t r = 0; r < LB_R__MAX; ++r) {
    if (bpf_map_lookup_elem(fds_->stats.get(), &r, per.data()) != 0) continue;
    for (const auto& s : per) {
      out[r].packets += s.packets;
      out[r].bytes += s.bytes;
    }
  }
  return out;
}

}  // namespace lb
