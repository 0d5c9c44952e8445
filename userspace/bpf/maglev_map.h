// SPDX-License-Identifier: Apache-2.0
// The Maglev map-in-map apilb_maglev (VIP id -> inner ARRAY of backend ids), set up in one place
// for `apilb attach`, the daemon and the BPF fixtures: the inner template's size before load, and
// the publication of a complete table as a new inner map swapped in with one update.
// Errors: sizeMaglevInner() throws std::system_error (startup); installMaglevTable() returns
// std::error_code (steady state).
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <system_error>
#include <vector>

#include "bpf/unique_fd.h"

namespace lb {

// Gives `outer` (skel->maps.apilb_maglev, before load) an inner template of tableSize u32 slots.
// Returns the template's fd; keep it open until the object is loaded (the kernel copies its shape
// into the outer map at creation). Not bpf_map__set_max_entries(bpf_map__inner_map()): libbpf
// 1.1 dereferences the inner map's unset obj there (segfault).
[[nodiscard]] UniqueFd sizeMaglevInner(bpf_map* outer, uint32_t tableSize);

// Creates an inner ARRAY of slots.size() entries holding `slots` (with mapFlags, which must equal
// the template's) and installs it for vipId in the outer map outerFd with one update, so the
// datapath sees the old table or the new one, never a mix.
[[nodiscard]] std::error_code installMaglevTable(int outerFd, uint32_t vipId,
                                                 const std::vector<uint32_t>& slots,
                                                 uint32_t mapFlags = 0);

}  // namespace lb
