// SPDX-License-Identifier: Apache-2.0
// tc and XDP attachment without bpf_link: the attachment outlives the `apilb attach` process,
// and `apilb detach` finds it again by handle/priority (a cls_bpf filter, through libbpf's
// netlink-based bpf_tc_*) or by program name (tcx, through BPF_PROG_ATTACH; XDP).
#include "bpf/hooks.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <vector>

#include "bpf/errno_code.h"
#include "bpf/loader.h"
#include "bpf/netlink.h"
#include "bpf/unique_fd.h"

namespace lb {
namespace {

bpf_tc_attach_point point(TcDir dir) {
  return dir == TcDir::kIngress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

// clsact minor numbers (TC_H_MIN_INGRESS / TC_H_MIN_EGRESS from linux/pkt_sched.h).
uint32_t clsactParent(TcDir dir) {
  return TC_H_MAKE(TC_H_CLSACT, dir == TcDir::kIngress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

// tcx (Linux 6.6) in the uapi: newer than the 6.1 headers this builds against.
constexpr int kTcxIngress = 46;         // BPF_TCX_INGRESS
constexpr int kTcxEgress = 47;          // BPF_TCX_EGRESS
constexpr uint32_t kFBefore = 1U << 3;  // BPF_F_BEFORE: with no relative program, first
constexpr uint32_t kLoopbackIfindex = 1;

bpf_attach_type tcxType(TcDir dir) {
  return static_cast<bpf_attach_type>(dir == TcDir::kIngress ? kTcxIngress : kTcxEgress);
}

// Ids of the programs in ifindex's tcx chain for dir, in run order (none without tcx).
std::vector<uint32_t> tcxProgIds(uint32_t ifindex, TcDir dir) {
  std::vector<uint32_t> ids(64);
  uint32_t n = static_cast<uint32_t>(ids.size());
  int rc = bpf_prog_query(static_cast<int>(ifindex), tcxType(dir), 0, nullptr, ids.data(), &n);
  if (rc < 0 && rc != -ENOSPC) return {};
  ids.resize(std::min<size_t>(n, ids.size()));
  return ids;
}

bool isApilbTcProg(const std::string& name) { return name == kProgFwd || name == kProgRevTc; }

// The handle of our cls_bpf filter (0 if none), and its program id in *id.
uint32_t clsHandle(uint32_t ifindex, TcDir dir, uint32_t* id = nullptr) {
  // Ask netlink first: bpf_tc_query on a device without clsact makes libbpf print a kernel
  // error ("Parent Qdisc doesn't exists") for what is a normal answer here.
  int n = 0;
  if (countTcFilters(ifindex, clsactParent(dir), &n) || n == 0) return 0;
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point(dir));
  for (uint32_t handle : {kTcHandle, kTcHandleAlt}) {
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = kTcPriority);
    if (bpf_tc_query(&hook, &opts) < 0) continue;
    if (id) *id = opts.prog_id;
    return handle;
  }
  return 0;
}

// Our cls_bpf filter's program id (0 if none).
uint32_t clsProgId(uint32_t ifindex, TcDir dir) {
  uint32_t id = 0;
  return clsHandle(ifindex, dir, &id) ? id : 0;
}

std::error_code clsAttachAt(uint32_t ifindex, TcDir dir, uint32_t handle, int progFd,
                            uint32_t flags) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point(dir));
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = progFd, .flags = flags, .handle = handle,
              .priority = kTcPriority);
  int rc = bpf_tc_attach(&hook, &opts);
  return rc < 0 ? errnoCodeOf(rc) : std::error_code{};
}

std::error_code clsDetachAt(uint32_t ifindex, TcDir dir, uint32_t handle) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point(dir));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = kTcPriority);
  int rc = bpf_tc_detach(&hook, &opts);
  return rc < 0 ? errnoCodeOf(rc) : std::error_code{};
}

}  // namespace

bool tcxEnabled() {
  static const bool enabled = [] {
    const char* env = std::getenv("APILB_TCX");
    if (env && std::strcmp(env, "0") == 0) return false;
    uint32_t n = 0;  // lo is ifindex 1 in every network namespace
    return bpf_prog_query(kLoopbackIfindex, tcxType(TcDir::kIngress), 0, nullptr, nullptr, &n) == 0;
  }();
  return enabled;
}

uint32_t tcxProgId(uint32_t ifindex, TcDir dir) {
  for (uint32_t id : tcxProgIds(ifindex, dir))
    if (isApilbTcProg(progName(id))) return id;
  return 0;
}

TcProg tcProg(uint32_t ifindex, TcDir dir) {
  if (uint32_t id = clsProgId(ifindex, dir)) return {id, false};
  if (uint32_t id = tcxProgId(ifindex, dir)) return {id, true};
  return {};
}

const char* tcHookName(const TcProg& p) { return p.tcx ? "tcx" : "tc"; }

std::string tcHookWhere(uint32_t ifindex, TcDir dir) {
  return std::string("tc ") + (dir == TcDir::kIngress ? "ingress" : "egress") + " of " +
         ifName(ifindex);
}

std::vector<std::string> tcxProgNames(uint32_t ifindex, TcDir dir) {
  std::vector<std::string> names;
  for (uint32_t id : tcxProgIds(ifindex, dir)) names.push_back(progName(id));
  return names;
}

std::string tcxAhead(uint32_t ifindex, TcDir dir) {
  std::string ahead;
  for (uint32_t id : tcxProgIds(ifindex, dir)) {
    std::string name = progName(id);
    if (isApilbTcProg(name)) return ahead;
    ahead += (ahead.empty() ? "" : ", ") + name;
  }
  return "";  // no program of apilb's in the chain
}

std::error_code tcxKeepFirst(uint32_t ifindex, TcDir dir, int freshFd, bool* moved) {
  *moved = false;
  uint32_t old = tcxProgId(ifindex, dir);
  if (auto ec = tcxAttach(ifindex, dir, freshFd)) return ec;
  *moved = true;
  return old ? tcxDetach(ifindex, dir, old) : std::error_code{};
}

std::error_code tcxAttach(uint32_t ifindex, TcDir dir, int progFd) {
  LIBBPF_OPTS(bpf_prog_attach_opts, opts, .flags = kFBefore);
  int rc = bpf_prog_attach_opts(progFd, static_cast<int>(ifindex), tcxType(dir), &opts);
  return rc < 0 ? errnoCodeOf(rc) : std::error_code{};
}

std::error_code tcxDetach(uint32_t ifindex, TcDir dir, uint32_t progId) {
  UniqueFd fd(bpf_prog_get_fd_by_id(progId));
  if (!fd.valid()) return errnoCode();
  int rc = bpf_prog_detach2(fd.get(), static_cast<int>(ifindex), tcxType(dir));
  return rc < 0 ? errnoCodeOf(rc) : std::error_code{};
}

std::error_code clsDetach(uint32_t ifindex, TcDir dir) {
  // Both handles: a move to the front killed halfway leaves both.
  for (int left = 2; left > 0; --left) {
    uint32_t handle = clsHandle(ifindex, dir);
    if (!handle) return {};
    if (auto ec = clsDetachAt(ifindex, dir, handle)) return ec;
  }
  return {};
}

std::error_code clsAhead(uint32_t ifindex, TcDir dir, std::string* ahead) {
  ahead->clear();
  uint32_t handle = clsHandle(ifindex, dir);
  if (!handle) return {};
  TcFilterId first;
  if (auto ec = firstTcFilter(ifindex, clsactParent(dir), &first)) return ec;
  if (first.handle == 0 || (first.prio == kTcPriority && first.handle == handle)) return {};
  char what[64];
  std::snprintf(what, sizeof(what), "pref %u handle 0x%x %s", first.prio, first.handle,
                first.kind.c_str());
  *ahead = what;
  return {};
}

std::error_code clsKeepFirst(uint32_t ifindex, TcDir dir, bool* moved, std::string* before) {
  *moved = false;
  if (auto ec = clsAhead(ifindex, dir, before); ec || before->empty()) return ec;
  uint32_t id = 0, handle = clsHandle(ifindex, dir, &id);
  if (!handle) return {};
  UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd.valid()) return errnoCode();
  uint32_t other = handle == kTcHandle ? kTcHandleAlt : kTcHandle;
  if (auto ec = clsAttachAt(ifindex, dir, other, fd.get(), 0)) return ec;
  *moved = true;
  return clsDetachAt(ifindex, dir, handle);
}

std::error_code tcAttach(uint32_t ifindex, TcDir dir, int progFd, bool* created) {
  *created = false;
  if (tcProg(ifindex, dir).id) return std::make_error_code(std::errc::file_exists);
  if (tcxEnabled()) return tcxAttach(ifindex, dir, progFd);
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point(dir));
  int rc = bpf_tc_hook_create(&hook);
  if (rc < 0 && rc != -EEXIST) return errnoCodeOf(rc);
  *created = rc == 0;
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = progFd, .handle = kTcHandle, .priority = kTcPriority);
  rc = bpf_tc_attach(&hook, &opts);
  if (rc < 0) {
    if (*created) {
      hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
      bpf_tc_hook_destroy(&hook);
      *created = false;
    }
    return errnoCodeOf(rc);
  }
  return {};
}

uint32_t tcProgId(uint32_t ifindex, TcDir dir) { return tcProg(ifindex, dir).id; }

std::error_code tcDetach(uint32_t ifindex, TcDir dir, bool removeQdiscIfEmpty) {
  // Our program may already be gone (removed by hand); the qdisc we created is still cleaned up.
  // Both kinds go: an upgrade killed while moving a hook to tcx leaves both.
  uint32_t cls = clsProgId(ifindex, dir), tcx = tcxProgId(ifindex, dir);
  std::error_code ours;
  if (!cls && !tcx) ours = std::make_error_code(std::errc::no_such_file_or_directory);
  if (cls)
    if (auto ec = clsDetach(ifindex, dir)) return ec;
  for (int left = 8; tcx && left > 0; --left, tcx = tcxProgId(ifindex, dir))
    if (auto ec = tcxDetach(ifindex, dir, tcx)) return ec;
  if (!removeQdiscIfEmpty) return ours;
  std::error_code ec = clsactRemoveIfEmpty(ifindex);
  return ec ? ec : ours;
}

std::error_code clsactRemoveIfEmpty(uint32_t ifindex, bool* removed) {
  if (removed) *removed = false;
  int in = 0, eg = 0;
  if (countTcFilters(ifindex, clsactParent(TcDir::kIngress), &in) ||
      countTcFilters(ifindex, clsactParent(TcDir::kEgress), &eg) || in + eg > 0)
    return {};  // no clsact, or someone else uses it now: leave it
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex),
              .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  int rc = bpf_tc_hook_destroy(&hook);
  if (removed) *removed = rc == 0;
  return rc < 0 && rc != -ENOENT ? errnoCodeOf(rc) : std::error_code{};
}

std::string progName(uint32_t id) {
  UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd.valid()) return {};
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return {};
  return info.name;
}

uint32_t xdpProgId(uint32_t ifindex, std::string* name) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(static_cast<int>(ifindex), 0, &q) < 0) return 0;
  uint32_t id = q.prog_id ? q.prog_id : (q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id);
  if (!id) id = q.hw_prog_id;
  if (name) *name = id ? progName(id) : std::string();
  return id;
}

std::error_code xdpAttach(uint32_t ifindex, int progFd, bool allowGeneric, bool* generic) {
  if (xdpProgId(ifindex, nullptr) != 0)
    return std::make_error_code(std::errc::device_or_resource_busy);
  const uint32_t base = XDP_FLAGS_UPDATE_IF_NOEXIST;
  int rc = bpf_xdp_attach(static_cast<int>(ifindex), progFd, base | XDP_FLAGS_DRV_MODE, nullptr);
  *generic = false;
  if (rc == 0) return {};
  if (rc == -EBUSY || rc == -EEXIST || !allowGeneric) return errnoCodeOf(rc);
  rc = bpf_xdp_attach(static_cast<int>(ifindex), progFd, base | XDP_FLAGS_SKB_MODE, nullptr);
  if (rc < 0) return errnoCodeOf(rc);
  *generic = true;
  return {};
}

std::error_code xdpDetach(uint32_t ifindex, const std::string& expectName) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  int rc = bpf_xdp_query(static_cast<int>(ifindex), 0, &q);
  if (rc < 0) return errnoCodeOf(rc);
  uint32_t id = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
  uint32_t mode = q.drv_prog_id ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  if (!id) return std::make_error_code(std::errc::no_such_file_or_directory);
  if (progName(id) != expectName) return std::make_error_code(std::errc::operation_not_permitted);
  UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd.valid()) return errnoCode();
  // XDP_FLAGS_REPLACE + old_prog_fd: the kernel removes it only if it is still that program.
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = fd.get());
  rc = bpf_xdp_detach(static_cast<int>(ifindex), mode | XDP_FLAGS_REPLACE, &opts);
  return rc < 0 ? errnoCodeOf(rc) : std::error_code{};
}

std::error_code tcReplace(uint32_t ifindex, TcDir dir, int progFd) {
  TcProg p = tcProg(ifindex, dir);
  if (p.id == 0) return std::make_error_code(std::errc::no_such_file_or_directory);
  if (p.tcx) {
    UniqueFd old(bpf_prog_get_fd_by_id(p.id));
    if (!old.valid()) return errnoCode();
    LIBBPF_OPTS(bpf_prog_attach_opts, o, .flags = BPF_F_REPLACE, .replace_prog_fd = old.get());
    int rc = bpf_prog_attach_opts(progFd, static_cast<int>(ifindex), tcxType(dir), &o);
    return rc < 0 ? errnoCodeOf(rc) : std::error_code{};
  }
  return clsAttachAt(ifindex, dir, clsHandle(ifindex, dir), progFd, BPF_TC_F_REPLACE);
}

std::error_code xdpReplace(uint32_t ifindex, int oldFd, int progFd, bool generic) {
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = oldFd);
  uint32_t flags = XDP_FLAGS_REPLACE | (generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
  int rc = bpf_xdp_attach(static_cast<int>(ifindex), progFd, flags, &opts);
  return rc < 0 ? errnoCodeOf(rc) : std::error_code{};
}

}  // namespace lb
