// SPDX-License-Identifier: Apache-2.0
// Capability check through capget(2) (no libcap dependency).
#include "privileges.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace lb::test {
namespace {

constexpr int kCapBpf = 39;  // CAP_BPF, Linux 5.8; may be missing from older UAPI headers

bool hasCap(const __user_cap_data_struct* d, int cap) {
  return d[cap / 32].effective & (1u << (cap % 32));
}

}  // namespace

std::optional<std::string> missingBpfPrivileges() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return "capget failed";
  bool bpf = hasCap(data, kCapBpf) || hasCap(data, CAP_SYS_ADMIN);
  if (!bpf) return "missing CAP_BPF (and CAP_SYS_ADMIN)";
  if (!hasCap(data, CAP_NET_ADMIN)) return "missing CAP_NET_ADMIN";
  return std::nullopt;
}

}  // namespace lb::test
