// SPDX-License-Identifier: Apache-2.0
// Private network namespaces for root tests and benchmarks: the calling thread in a fresh one
// (PrivateNetns), or a helper thread parked in one that other code can name (ParkedNetns).
#pragma once

#include <functional>
#include <future>
#include <string>
#include <thread>

#include "bpf/unique_fd.h"

namespace lb::test {

// Moves the calling thread into a fresh network namespace with lo up; the destructor moves it
// back. ok() is false when unshare or bringing lo up failed (not root).
class PrivateNetns {
 public:
  PrivateNetns();
  ~PrivateNetns();
  PrivateNetns(const PrivateNetns&) = delete;
  PrivateNetns& operator=(const PrivateNetns&) = delete;
  bool ok() const { return ok_; }

 private:
  UniqueFd orig_;
  bool ok_ = false;
};

// A helper thread parked in a fresh network namespace (PrivateNetns) until destruction -- a
// pod's namespace, named by path() (/proc/self/task/<tid>/ns/net) while it lives. setup runs on
// that thread inside the namespace before the constructor returns (e.g. to open sockets there).
class ParkedNetns {
 public:
  explicit ParkedNetns(std::function<void()> setup = {});
  ~ParkedNetns();
  ParkedNetns(const ParkedNetns&) = delete;
  ParkedNetns& operator=(const ParkedNetns&) = delete;
  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }

 private:
  std::promise<void> leave_;
  std::thread thread_;
  bool ok_ = false;
  std::string path_;
};

}  // namespace lb::test
