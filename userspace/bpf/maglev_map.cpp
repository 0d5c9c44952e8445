// SPDX-License-Identifier: Apache-2.0
// apilb_maglev setup (see maglev_map.h).
#include "bpf/maglev_map.h"

#include <bpf/bpf.h>

#include "apilb_maps.h"
#include "bpf/errno_code.h"

namespace lb {
namespace {

std::error_code fillArray(int fd, const std::vector<uint32_t>& values) {
  std::vector<uint32_t> keys(values.size());
  for (uint32_t i = 0; i < keys.size(); ++i) keys[i] = i;
  uint32_t count = static_cast<uint32_t>(values.size());
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, &opts) == 0) return {};
  for (uint32_t i = 0; i < values.size(); ++i)  // kernels without batch ops for arrays
    if (bpf_map_update_elem(fd, &i, &values[i], BPF_ANY) != 0) return errnoCode();
  return {};
}

}  // namespace

UniqueFd sizeMaglevInner(bpf_map* outer, uint32_t tableSize) {
  LIBBPF_OPTS(bpf_map_create_opts, copts);
  UniqueFd tmpl(bpf_map_create(BPF_MAP_TYPE_ARRAY, "apilb_mag_tmpl", sizeof(uint32_t),
                               sizeof(uint32_t), tableSize, &copts));
  if (!tmpl.valid()) sysFail(errnoCode(), "bpf_map_create(" LB_MAP_MAGLEV " inner template)");
  if (int rc = bpf_map__set_inner_map_fd(outer, tmpl.get()); rc < 0)
    sysFail(errnoCodeOf(rc), "bpf_map__set_inner_map_fd(" LB_MAP_MAGLEV ")");
  return tmpl;
}

std::error_code installMaglevTable(int outerFd, uint32_t vipId, const std::vector<uint32_t>& slots,
                                   uint32_t mapFlags) {
  LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = mapFlags);
  UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, "apilb_mag_inner", sizeof(uint32_t),
                                sizeof(uint32_t), static_cast<uint32_t>(slots.size()), &copts));
  if (!inner.valid()) return errnoCode();
  if (auto ec = fillArray(inner.get(), slots)) return ec;
  uint32_t fd = static_cast<uint32_t>(inner.get());
  if (bpf_map_update_elem(outerFd, &vipId, &fd, BPF_ANY) != 0) return errnoCode();
  return {};  // the outer map holds its own reference to the inner map
}

}  // namespace lb
