// SPDX-License-Identifier: Apache-2.0
// Socket mode's host side (see sock_attach.h).
#include "bpf/sock_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "bpf/errno_code.h"
#include "bpf/journal.h"
#include "bpf/unique_fd.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace lb {
namespace {

constexpr long kCgroup2Magic = 0x63677270;

// "\040" -> " " (the kernel escapes space, tab, newline and backslash in /proc/mounts).
std::string unescapeMount(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool octal = s[i] == '\\' && i + 3 < s.size();
    for (size_t j = 1; octal && j <= 3; ++j) octal = s[i + j] >= '0' && s[i + j] <= '7';
    if (octal) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The per-CPU values of key in a pinned PERCPU_ARRAY of __u64-sized entries, summed.
bool sumPerCpu(int fd, uint32_t key, uint64_t* out) {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return false;
  std::vector<uint64_t> per(static_cast<size_t>(ncpu));
  if (bpf_map_lookup_elem(fd, &key, per.data()) != 0) return false;
  *out = 0;
  for (uint64_t v : per) *out += v;
  return true;
}

std::vector<uint64_t> sumAll(const std::string& path, uint32_t n) {
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd.valid()) return {};
  std::vector<uint64_t> out(n, 0);
  for (uint32_t i = 0; i < n; ++i) (void)sumPerCpu(fd.get(), i, &out[i]);
  return out;
}

}  // namespace

std::string cgroupV2RootOf(const std::string& mounts,
                           const std::function<bool(const std::string&)>& isRoot) {
  std::istringstream in(mounts);
  std::string best;
  int bestRank = -1;  // 2: hierarchy root; +1: /sys/fs/cgroup
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string dev, dir, type;
    if (!(f >> dev >> dir >> type) || type != "cgroup2") continue;
    dir = unescapeMount(dir);
    int rank = (!isRoot || isRoot(dir) ? 2 : 0) + (dir == "/sys/fs/cgroup" ? 1 : 0);
    if (rank > bestRank) {
      best = dir;
      bestRank = rank;
    }
  }
  return best;
}

std::string cgroupV2Root() {
  std::ifstream in("/proc/mounts");
  std::stringstream ss;
  ss << in.rdbuf();
  return cgroupV2RootOf(ss.str(),
                        [](const std::string& p) { return cgroupId(p) == kCgroupRootId; });
}

std::string cgroupProblem(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "cgroup: '" + path + "': " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return "cgroup: '" + path + "': not a directory";
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0 || fs.f_type != kCgroup2Magic)
    return "cgroup: '" + path + "': not on a cgroup v2 filesystem";
  return {};
}

uint64_t cgroupId(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::error_code currentNetnsCookie(uint64_t* out) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return errnoCode();
  socklen_t len = sizeof(*out);
  if (::getsockopt(s.get(), SOL_SOCKET, SO_NETNS_COOKIE, out, &len) != 0) return errnoCode();
  return {};
}

const std::vector<const char*>& sockProgNames() {
  // The release hook first and connect last: once connect() is translated, every piece that
  // keeps the translation consistent (peer, cookie cleanup) is already in place.
  static const std::vector<const char*> kNames = {
      "lb_sock_release", "lb_sock_peer4", "lb_sock_peer6", "lb_sock_connect4", "lb_sock_connect6"};
  return kNames;
}

std::string sockLinkPin(const std::string& pinDir, const char* prog) {
  return pinDir + "/apilb_link_" + prog;
}

void attachSockLinks(const LbProgram& prog, const std::string& cgroup, const std::string& pinDir,
                     Journal& journal, const std::function<void(std::function<void()>)>& onUndo,
                     std::ostream& log) {
  UniqueFd cg(::open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg.valid()) throw std::system_error(errnoCode(), "open cgroup " + cgroup);
  LbProgram::SockProgs p = prog.sockProgs();
  bpf_program* progs[] = {p.release, p.getpeername4, p.getpeername6, p.connect4, p.connect6};
  for (bpf_program* bp : progs) {
    const char* name = bpf_program__name(bp);
    std::string pin = sockLinkPin(pinDir, name);
    journal.intend("cglink " + pin);
    bpf_link* link = bpf_program__attach_cgroup(bp, cg.get());
    if (!link)
      throw std::system_error(errnoCode(), std::string("attach ") + name + " to " + cgroup);
    int rc = bpf_link__pin(link, pin.c_str());
    bpf_link__destroy(link);  // closes our fd: the pin (if any) keeps the link attached
    if (rc < 0) throw std::system_error(errnoCode(rc), "pin link " + pin);
    onUndo([pin] { ::unlink(pin.c_str()); });
    log << "attached " << name << " to cgroup " << cgroup << " (link " << pin << ")\n";
  }
}

void detachSockLinks(const std::string& pinDir, const std::string& cgroup, std::ostream& log) {
  const auto& names = sockProgNames();
  for (auto it = names.rbegin(); it != names.rend(); ++it) {  // connect first
    std::string pin = sockLinkPin(pinDir, *it);
    if (::unlink(pin.c_str()) != 0)
      log << "warning: remove " << pin << ": " << std::strerror(errno) << "\n";
    else
      log << "detached " << *it << " from cgroup " << cgroup << "\n";
  }
}

std::error_code writeSockRecord(const std::string& pinDir, const lb_sock_rec& rec) {
  UniqueFd fd(bpf_obj_get((pinDir + "/" LB_MAP_SOCKREC).c_str()));
  if (!fd.valid()) return errnoCode();
  uint32_t key = 0;
  if (bpf_map_update_elem(fd.get(), &key, &rec, BPF_ANY) != 0) return errnoCode();
  return {};
}

std::error_code readSockRecord(const std::string& pinDir, lb_sock_rec* out) {
  UniqueFd fd(bpf_obj_get((pinDir + "/" LB_MAP_SOCKREC).c_str()));
  if (!fd.valid()) return errnoCode();
  uint32_t key = 0;
  if (bpf_map_lookup_elem(fd.get(), &key, out) != 0) return errnoCode();
  if (out->cgroup_id == 0) return std::make_error_code(std::errc::no_such_file_or_directory);
  return {};
}

std::string cgroupOf(const lb_sock_rec& rec) {
  return std::string(rec.cgroup, strnlen(rec.cgroup, sizeof(rec.cgroup)));
}

std::vector<uint64_t> sockConnects(const std::string& pinDir) {
  return sumAll(pinDir + "/" LB_MAP_SCONN, LB_MAX_BACKENDS);
}

std::vector<uint64_t> sockCounters(const std::string& pinDir) {
  return sumAll(pinDir + "/" LB_MAP_SSTATS, LB_S__MAX);
}

const char* sockReasonName(uint32_t r) {
  static const char* const kNames[LB_S__MAX] = {"connect", "no_backend", "other_netns", "peer_vip",
                                                "untracked"};
  return r < LB_S__MAX ? kNames[r] : "unknown";
}

std::vector<SockConn> sockConnections(const std::string& pinDir) {
  std::vector<SockConn> out;
  UniqueFd fd(bpf_obj_get((pinDir + "/" LB_MAP_SCOOKIE).c_str()));
  if (!fd.valid()) return out;
  uint64_t key = 0, next = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd.get(), prev, &next) == 0) {
    SockConn c{next, {}};
    if (bpf_map_lookup_elem(fd.get(), &next, &c.ent) == 0) out.push_back(c);
    key = next;
    prev = &key;
  }
  return out;
}

std::vector<uint64_t> sockCookiesTo(const std::string& pinDir, uint32_t id) {
  std::vector<uint64_t> out;
  for (const auto& c : sockConnections(pinDir))
    if (c.ent.backend_id == id) out.push_back(c.cookie);
  return out;
}

std::error_code clearSockConnects(const std::string& pinDir, uint32_t id) {
  UniqueFd fd(bpf_obj_get((pinDir + "/" LB_MAP_SCONN).c_str()));
  if (!fd.valid()) return errno == ENOENT ? std::error_code() : errnoCode();  // older pins
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return std::make_error_code(std::errc::io_error);
  std::vector<lb_backend_conn> zero(static_cast<size_t>(ncpu));
  if (bpf_map_update_elem(fd.get(), &id, zero.data(), BPF_ANY) != 0) return errnoCode();
  return {};
}

}  // namespace lb
