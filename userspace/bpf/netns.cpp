// SPDX-License-Identifier: Apache-2.0
// otherNetns() and forEachNetns() (see netns.h).
#include "bpf/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <set>
#include <thread>
#include <utility>

#include "bpf/unique_fd.h"

namespace lb {
namespace {

using Inode = std::pair<dev_t, ino_t>;

// The entries of dir (not . and ..), or none if it cannot be read.
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  closedir(d);
  return out;
}

bool isPid(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::vector<std::string> otherNetns(const std::string& procDir,
                                    const std::vector<std::string>& pinDirs) {
  std::set<Inode> seen;
  struct stat st{};
  if (stat((procDir + "/thread-self/ns/net").c_str(), &st) == 0) seen.insert({st.st_dev, st.st_ino});
  std::vector<std::string> out;
  auto add = [&](const std::string& path) {
    // nsfs files are regular files; anything else (a FIFO or a device someone left in a pin
    // directory) is never opened: opening it could block or act on the device.
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        seen.insert({st.st_dev, st.st_ino}).second)
      out.push_back(path);
  };
  for (const auto& dir : pinDirs)
    for (const auto& name : entries(dir)) add(dir + "/" + name);
  std::vector<unsigned long> pids;  // in pid order: the lowest pid names its namespace
  for (const auto& name : entries(procDir))
    if (isPid(name) && name.size() < 12) pids.push_back(std::stoul(name));
  std::sort(pids.begin(), pids.end());
  for (unsigned long pid : pids) add(procDir + "/" + std::to_string(pid) + "/ns/net");
  return out;
}

size_t forEachNetns(const std::vector<std::string>& paths,
                    const std::function<bool(const std::string&)>& fn) {
  size_t ran = 0;
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      for (const auto& path : paths) {
        UniqueFd ns(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
        if (!ns.valid() || setns(ns.get(), CLONE_NEWNET) != 0) continue;
        ran++;
        if (!fn(path)) break;
      }
    } catch (...) {
      failure = std::current_exception();  // rethrown on the caller's thread, not terminate()
    }
  });  // the thread ends in the last namespace it entered; nothing else runs on it
  worker.join();
  if (failure) std::rethrow_exception(failure);
  return ran;
}

}  // namespace lb
