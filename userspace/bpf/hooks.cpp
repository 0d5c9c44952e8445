// SPDX-License-Identifier: Apache-2.0
// tc and XDP attachment through libbpf's netlink-based APIs (not bpf_link): the attachment
// outlives the `apilb attach` process, and `apilb detach` finds it again by handle/priority
// (tc) or by program name (XDP).
#include "bpf/hooks.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>

#include <cerrno>

#include "bpf/errno_code.h"
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

}  // namespace

std::error_code tcAttach(uint32_t ifindex, TcDir dir, int progFd, bool* created) {
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

uint32_t tcProgId(uint32_t ifindex, TcDir dir) {
  // Ask netlink first: bpf_tc_query on a device without clsact makes libbpf print a kernel
  // error ("Parent Qdisc doesn't exists") for what is a normal answer here.
  int n = 0;
  if (countTcFilters(ifindex, clsactParent(dir), &n) || n == 0) return 0;
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point(dir));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  if (bpf_tc_query(&hook, &opts) < 0) return 0;
  return opts.prog_id;
}

std::error_code tcDetach(uint32_t ifindex, TcDir dir, bool removeQdiscIfEmpty) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point(dir));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  // Our filter may already be gone (removed by hand); the qdisc we created is still cleaned up.
  std::error_code ours;
  if (tcProgId(ifindex, dir) == 0)
    ours = std::make_error_code(std::errc::no_such_file_or_directory);
  else if (int rc = bpf_tc_detach(&hook, &opts); rc < 0)
    return errnoCodeOf(rc);
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
  if (tcProgId(ifindex, dir) == 0)
    return std::make_error_code(std::errc::no_such_file_or_directory);
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point(dir));
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = progFd, .flags = BPF_TC_F_REPLACE, .handle = kTcHandle,
              .priority = kTcPriority);
  int rc = bpf_tc_attach(&hook, &opts);
  return rc < 0 ? errnoCodeOf(rc) : std::error_code{};
}

std::error_code xdpReplace(uint32_t ifindex, int oldFd, int progFd, bool generic) {
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = oldFd);
  uint32_t flags = XDP_FLAGS_REPLACE | (generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
  int rc = bpf_xdp_attach(static_cast<int>(ifindex), progFd, flags, &opts);
  return rc < 0 ? errnoCodeOf(rc) : std::error_code{};
}

}  // namespace lb
