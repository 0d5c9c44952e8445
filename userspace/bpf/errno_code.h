// SPDX-License-Identifier: Apache-2.0
// The errno helpers of the BPF/system layer (userspace/bpf/): the only places that turn the
// result of a failed system, libbpf or netlink call into a std::error_code, and the one way to
// throw one. Conventions of this layer: docs/architecture.md, "Errors".
//   - functions return std::error_code (made here, or std::make_error_code(std::errc::...));
//   - where a failure must abort (load, attach steps, constructors) they throw
//     std::system_error(ec, what) through sysFail; bad user input is lb::BadInput (attach.h).
// Capture errno on the line right after the call (anything else may clobber it).
#pragma once

#include <cerrno>
#include <string>
#include <system_error>

namespace lb {

// rc < 0 from a libbpf int API (-errno) gives -rc; otherwise (rc == -1 from a syscall, a NULL
// pointer from libbpf) the current errno. Never returns success: errno 0 becomes EIO.
[[nodiscard]] inline std::error_code errnoCode(int rc = -1) {
  int e = rc < -1 ? -rc : errno;
  return std::error_code(e ? e : EIO, std::generic_category());
}

// An errno number the caller holds rather than errno itself: -EPERM as libbpf, netlink
// (NLMSG_ERROR) and our own int helpers return it, or a saved positive errno. Unlike
// errnoCode(rc) it never reads errno, so -1 is EPERM. 0 becomes EIO (never success).
[[nodiscard]] inline std::error_code errnoCodeOf(int err) {
  int e = err < 0 ? -err : err;
  return std::error_code(e ? e : EIO, std::generic_category());
}

// Throws std::system_error(ec, what): what() reads "<what>: <strerror>".
[[noreturn]] inline void sysFail(std::error_code ec, const std::string& what) {
  throw std::system_error(ec, what);
}

}  // namespace lb
