// SPDX-License-Identifier: Apache-2.0
// netns entry, bpffs mount and capability checks. Capabilities are read with the raw capget(2)
// syscall (v3 layout, two 32-bit words) so no libcap dependency is needed.
#include "bpf/system.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bpf/errno_code.h"
#include "bpf/unique_fd.h"

namespace lb {
namespace {

constexpr long kBpffsMagic = 0xcafe4a11;
constexpr int kCapBpf = 39;  // CAP_BPF, newer than some UAPI headers

bool pathExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

bool underSysFsBpf(const std::string& p) {
  const std::string root = "/sys/fs/bpf";
  return p == root || p.rfind(root + "/", 0) == 0;
}

std::error_code mountBpffs(const std::string& at) {
  if (::mount("bpf", at.c_str(), "bpf", 0, "mode=0700") != 0) return errnoCode();
  return {};
}

}  // namespace

std::error_code enterNetns(const std::string& name) {
  std::string path = name.find('/') == std::string::npos ? "/run/netns/" + name : name;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoCode();
  if (::setns(fd.get(), CLONE_NEWNET) != 0) return errnoCode();
  return {};
}

bool isBpffs(const std::string& path) {
  struct statfs st;
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == kBpffsMagic;
}

std::error_code mkdirs(const std::string& dir) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (part.empty()) continue;
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return errnoCode();
  }
  return {};
}

std::error_code ensureBpffs(const std::string& pinDir, std::string* mountedAt) {
  mountedAt->clear();
  if (pinDir.empty() || pinDir[0] != '/') return std::make_error_code(std::errc::invalid_argument);
  // Nearest existing ancestor decides whether we are already on bpffs.
  std::string probe = pinDir;
  while (!pathExists(probe)) probe = probe.substr(0, std::max<size_t>(1, probe.rfind('/')));
  if (isBpffs(probe)) return mkdirs(pinDir);
  std::string at = underSysFsBpf(pinDir) ? std::string("/sys/fs/bpf") : pinDir;
  if (auto ec = mkdirs(at)) return ec;
  if (auto ec = mountBpffs(at)) return ec;
  *mountedAt = at;
  if (!isBpffs(pinDir)) {
    if (auto ec = mkdirs(pinDir)) return ec;
  }
  return {};
}

namespace {

int libbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  static const bool all = std::getenv("APILB_LIBBPF_DEBUG") != nullptr;
  if (!all) {
    if (level != LIBBPF_WARN) return 0;
    if (std::strstr(fmt, "Kernel error message") || std::strstr(fmt, "extended error")) return 0;
  }
  return std::vfprintf(stderr, fmt, args);
}

}  // namespace

void installLibbpfLogger() { libbpf_set_print(libbpfPrint); }

bool havePrivileges(std::string* missing) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &hdr, data) != 0) {
    *missing = "capabilities unreadable";
    return false;
  }
  auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1u; };
  bool bpf = has(kCapBpf) || has(CAP_SYS_ADMIN);
  bool net = has(CAP_NET_ADMIN);
  missing->clear();
  if (!bpf) *missing = "CAP_BPF";
  if (!net) *missing += missing->empty() ? "CAP_NET_ADMIN" : " and CAP_NET_ADMIN";
  return bpf && net;
}

}  // namespace lb
