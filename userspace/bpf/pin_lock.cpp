// SPDX-License-Identifier: Apache-2.0
// PinLock and SlotLock (see pin_lock.h).
#include "bpf/pin_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "bpf/errno_code.h"

namespace lb {
namespace {

LockHolder readHolder(int fd) {
  char buf[64] = {};
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  LockHolder h;
  if (n <= 0) return h;
  char role[16] = {};
  if (sscanf(buf, "%d %15s", &h.pid, role) >= 1) h.role = role;
  return h;
}

}  // namespace

std::string pinStateBase(const std::string& pinDir) {
  const char* env = std::getenv("APILB_RUN_DIR");
  std::string key = pinDir;
  while (key.size() > 1 && key.back() == '/') key.pop_back();
  for (auto& c : key)
    if (c == '/') c = '_';
  return std::string(env && *env ? env : "/run/apilb") + "/pins/" + key;
}

std::error_code PinLock::take(const std::string& pinDir, const char* role, bool wait, PinLock* out,
                              LockHolder* holder) {
  std::string path = pinStateBase(pinDir) + ".lock";
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return ec;
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errnoCode();
  if (flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    std::error_code err = errnoCode();
    if (holder && err == std::errc::operation_would_block) *holder = readHolder(fd.get());
    return err;
  }
  std::string text = std::to_string(getpid()) + " " + role + "\n";
  if (ftruncate(fd.get(), 0) != 0 || pwrite(fd.get(), text.data(), text.size(), 0) < 0)
    return errnoCode();
  out->fd_ = std::move(fd);
  return {};
}

std::error_code PinLock::tryAcquire(const std::string& pinDir, const char* role, PinLock* out,
                                    LockHolder* holder) {
  return take(pinDir, role, false, out, holder);
}

std::error_code PinLock::acquire(const std::string& pinDir, const char* role, PinLock* out) {
  return take(pinDir, role, true, out, nullptr);
}

SlotLock::SlotLock(const std::string& pinDir)
    : fd_(open(pinDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  if (fd_.valid() && flock(fd_.get(), LOCK_EX) != 0) fd_.reset();
}

}  // namespace lb
