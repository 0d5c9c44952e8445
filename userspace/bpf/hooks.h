// SPDX-License-Identifier: Apache-2.0
// Attaching and detaching apilb's programs at their hooks: tc (clsact, through libbpf's
// bpf_tc_* so `tc filter show` and bpftool list them) with a fixed handle/priority so detach
// removes exactly our filter, and XDP (native, or generic on request) that never replaces a
// program someone else attached. Errors: std::error_code with the libbpf/kernel errno.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace lb {

inline constexpr uint32_t kTcHandle = 0xa11b;  // our filter's handle on every hook
inline constexpr uint32_t kTcPriority = 1;     // ... and its priority (runs before later prios)

enum class TcDir { kIngress, kEgress };

// Creates clsact on ifindex if missing (*created says whether we did) and attaches progFd at
// (kTcHandle, kTcPriority) in direction dir. EEXIST if a filter already holds that slot.
[[nodiscard]] std::error_code tcAttach(uint32_t ifindex, TcDir dir, int progFd, bool* created);
// Removes our filter; then, if removeQdiscIfEmpty and clsact holds no filter in either
// direction, deletes the clsact qdisc (also when our filter was already gone). ENOENT if our
// filter was not there.
[[nodiscard]] std::error_code tcDetach(uint32_t ifindex, TcDir dir, bool removeQdiscIfEmpty);
// Deletes ifindex's clsact qdisc if it holds no filter in either direction; nothing if it holds
// one (someone else's) or there is none. *removed (optional) says whether it deleted one.
[[nodiscard]] std::error_code clsactRemoveIfEmpty(uint32_t ifindex, bool* removed = nullptr);
// Program id at our tc slot (0 if none).
uint32_t tcProgId(uint32_t ifindex, TcDir dir);

// Program id of any XDP program on ifindex (0 if none), and its name in *name.
uint32_t xdpProgId(uint32_t ifindex, std::string* name);
// Attaches progFd in native mode, or, when the driver refuses and allowGeneric, in generic mode;
// *generic tells which. Fails with EBUSY if any XDP program is already attached, and with the
// driver's refusal (EOPNOTSUPP, EINVAL, ...) when native mode fails and !allowGeneric.
[[nodiscard]] std::error_code xdpAttach(uint32_t ifindex, int progFd, bool allowGeneric,
                                        bool* generic);
// Detaches the XDP program from ifindex only if it is named `expectName`; ENOENT if none,
// EPERM if it is someone else's.
[[nodiscard]] std::error_code xdpDetach(uint32_t ifindex, const std::string& expectName);

// Upgrade in place (bpf/upgrade.h): one program swapped for another, atomically for packets
// (each packet runs the old or the new one, never none).
// tc: a filter replace at our handle/priority (NLM_F_REPLACE); ENOENT if our filter is not there.
[[nodiscard]] std::error_code tcReplace(uint32_t ifindex, TcDir dir, int progFd);
// XDP: XDP_FLAGS_REPLACE in the same mode with the expected old program, which the kernel checks
// (EEXIST if oldFd's program is no longer the one attached).
[[nodiscard]] std::error_code xdpReplace(uint32_t ifindex, int oldFd, int progFd, bool generic);

// Name of the program with id (empty if it does not exist).
std::string progName(uint32_t id);

}  // namespace lb
