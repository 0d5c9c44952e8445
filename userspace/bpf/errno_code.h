// SPDX-License-Identifier: Apache-2.0
// The one errno helper of apilb: turns the result of a failed system or libbpf call into a
// std::error_code. Capture it on the line right after the call (errno is clobbered by anything).
#pragma once

#include <cerrno>
#include <system_error>

namespace lb {

// rc < 0 from a libbpf int API (-errno) gives -rc; otherwise (rc == -1 from a syscall, a NULL
// pointer from libbpf) the current errno. Never returns success: errno 0 becomes EIO.
[[nodiscard]] inline std::error_code errnoCode(int rc = -1) {
  int e = rc < -1 ? -rc : errno;
  return std::error_code(e ? e : EIO, std::generic_category());
}

}  // namespace lb
