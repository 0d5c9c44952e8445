// SPDX-License-Identifier: Apache-2.0
// One writer per pin dir. Every process that changes a datapath (`apilb run` for its whole
// life; `apilb attach|detach|backend add|del` for one command) holds an exclusive flock(2) on
// the pin dir's lock file, /run/apilb/pins/<key>.lock, which names the holder ("<pid> <role>").
// The lock file lives outside bpffs because the pin dir does not exist before attach and is
// removed by detach; flock releases itself when the holder dies, so a crash never leaves a stale
// lock. pinStateBase() (also the attach journal's home) can be moved with APILB_RUN_DIR.
//
// The slot claim inside Datapath::addBackend/removeBackend is serialised separately, with a
// flock on the pin dir itself (SlotLock): it also holds for two writers in one process.
#pragma once

#include <string>
#include <system_error>

#include "bpf/unique_fd.h"

namespace lb {

// "/run/apilb/pins/<key>": the per-pin-dir path prefix (key: the pin dir with '/' -> '_').
std::string pinStateBase(const std::string& pinDir);

struct LockHolder {
  int pid = 0;
  std::string role;  // "run" or "cli"
};

class PinLock {
 public:
  // Takes the lock without waiting. On EWOULDBLOCK fills *holder from the lock file.
  [[nodiscard]] static std::error_code tryAcquire(const std::string& pinDir, const char* role,
                                                  PinLock* out, LockHolder* holder);
  // Waits for the lock.
  [[nodiscard]] static std::error_code acquire(const std::string& pinDir, const char* role,
                                               PinLock* out);
  bool held() const { return fd_.valid(); }

 private:
  static std::error_code take(const std::string& pinDir, const char* role, bool wait, PinLock* out,
                              LockHolder* holder);
  UniqueFd fd_;
};

// Exclusive flock on the pin dir for the duration of a slot claim or release.
class SlotLock {
 public:
  explicit SlotLock(const std::string& pinDir);
  bool held() const { return fd_.valid(); }

 private:
  UniqueFd fd_;
};

}  // namespace lb
