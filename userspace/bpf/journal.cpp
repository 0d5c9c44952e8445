// SPDX-License-Identifier: Apache-2.0
// Journal and replayJournal (see journal.h).
#include "bpf/journal.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "bpf/errno_code.h"
#include "bpf/hooks.h"
#include "bpf/loader.h"
#include "bpf/netlink.h"
#include "bpf/pin_lock.h"
#include "bpf/sysctl.h"

namespace lb {
namespace {

constexpr const char* kHeader = "apilb-journal 1";

void syncDir(const std::string& file) {
  std::string dir = std::filesystem::path(file).parent_path();
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.valid()) (void)::fsync(d.get());
}

int killAfterStep() {
  const char* v = std::getenv("APILB_TEST_KILL_AFTER_STEP");
  return v && *v ? std::atoi(v) : -1;
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

// Undo of one journal line, in reverse order; silent when the step never happened. A "clsact"
// line removes the qdisc if it holds no filter (its "tc" lines, which follow it, are undone by
// then). In an older apilb's journal the "clsact" line follows its "tc" line: seen first when
// going backwards, it lets that tc undo remove the qdisc too.
void undoLine(const std::vector<std::string>& w, std::set<std::string>* clsact, std::ostream& log) {
  const std::string& op = w[0];
  uint32_t idx = w.size() > 1 ? if_nametoindex(w[1].c_str()) : 0;
  if (op == "sysctl" && w.size() == 3) {
    int cur = 0;
    if (readSysctl(w[1], &cur)) return;
    if (cur != std::atoi(w[2].c_str()) && !writeSysctl(w[1], std::atoi(w[2].c_str())))
      log << "sysctl " << w[1] << " " << cur << " -> " << w[2] << "\n";
  } else if (op == "xdp" && idx) {
    if (!xdpDetach(idx, kProgRevXdp)) log << "detached " << kProgRevXdp << " from " << w[1] << "\n";
  } else if (op == "clsact" && idx) {
    clsact->insert(w[1]);
    bool removed = false;
    if (!clsactRemoveIfEmpty(idx, &removed) && removed)
      log << "deleted the clsact qdisc of " << w[1] << "\n";
  } else if (op == "tc" && idx && w.size() == 3) {
    TcDir dir = w[2] == "egress" ? TcDir::kEgress : TcDir::kIngress;
    if (!tcDetach(idx, dir, clsact->count(w[1]) > 0))
      log << "detached tc " << w[2] << " filter from " << w[1] << "\n";
  } else if (op == "cglink" && w.size() == 2) {
    if (!::unlink(w[1].c_str())) log << "removed cgroup link " << w[1] << "\n";
  } else if (op == "pins" && w.size() == 2) {
    if (::access(w[1].c_str(), F_OK) != 0) return;
    removePinDir(w[1]);
    log << "removed pins under " << w[1] << "\n";
  } else if (op == "link" && idx) {
    if (!deleteLink(idx)) log << "deleted " << w[1] << " (and its route)\n";
  } else if (op == "bpffs" && w.size() == 2) {
    if (!::umount2(w[1].c_str(), MNT_DETACH)) log << "unmounted bpffs at " << w[1] << "\n";
  } else if (op == "pindir" && w.size() == 3 && w[2] == "new") {
    (void)::rmdir(w[1].c_str());
  }
}

}  // namespace

std::string journalPath(const std::string& pinDir) { return pinStateBase(pinDir) + ".journal"; }

bool journalExists(const std::string& pinDir) {
  return ::access(journalPath(pinDir).c_str(), F_OK) == 0;
}

std::error_code Journal::create(const std::string& pinDir) {
  std::string path = journalPath(pinDir);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return ec;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600));
  if (!fd.valid()) return errnoCode();
  std::string head = std::string(kHeader) + "\n";
  if (::write(fd.get(), head.data(), head.size()) != static_cast<ssize_t>(head.size()) ||
      ::fdatasync(fd.get()) != 0) {
    ec = errnoCode();
    ::unlink(path.c_str());
    return ec;
  }
  syncDir(path);
  path_ = path;
  fd_ = std::move(fd);
  return {};
}

Journal::~Journal() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

void Journal::killPoint() const {
  static const int n = killAfterStep();
  if (n >= 0 && steps_ == n) ::raise(SIGKILL);
}

void Journal::intend(const std::string& line) {
  killPoint();
  std::string l = line + "\n";
  if (::write(fd_.get(), l.data(), l.size()) != static_cast<ssize_t>(l.size()) ||
      ::fdatasync(fd_.get()) != 0)
    sysFail(errnoCode(), "write journal " + path_);
  ++steps_;
}

void Journal::finish() {
  killPoint();
  fd_.reset();
  if (::unlink(path_.c_str()) == 0) syncDir(path_);
  path_.clear();
}

void replayJournal(const std::string& pinDir, std::ostream& log) {
  std::string path = journalPath(pinDir);
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && l != kHeader) lines.push_back(l);
  log << "undoing an interrupted attach from its journal " << path << "\n";
  std::set<std::string> clsact;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::vector<std::string> w = words(*it);
    if (!w.empty()) undoLine(w, &clsact, log);
  }
  if (::unlink(path.c_str()) == 0) syncDir(path);
}

}  // namespace lb
