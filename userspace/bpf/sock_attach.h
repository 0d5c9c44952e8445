// SPDX-License-Identifier: Apache-2.0
// Socket mode's host side: finding the cgroup v2 root, checking a --cgroup directory, the node's
// netns cookie, attaching the cgroup programs (bpf/sock.bpf.h) as BPF links pinned in the pin
// dir (apilb_link_<program>), the socket-mode record (apilb_sockrec), and reading its counters.
//
// Links, not BPF_F_ALLOW_MULTI program attachments: other tools' programs on the same cgroup keep
// running, and a link lives exactly as long as its pin (or an fd): a killed attach that had not
// pinned a link yet leaves nothing attached, and `apilb detach` (removing the pins) detaches.
// Errors: std::system_error from attachSockLinks (attach undoes it), std::error_code elsewhere.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <system_error>
#include <vector>

#include "apilb_maps.h"
#include "bpf/loader.h"

namespace lb {

class Journal;

// The cgroup id (inode) of the cgroup v2 hierarchy's root. A cgroup2 mount made inside a cgroup
// namespace (a container's /sys/fs/cgroup) is rooted at the namespace's cgroup instead.
constexpr uint64_t kCgroupRootId = 1;

// The cgroup2 mount in `mounts` (/proc/mounts format) socket mode attaches to by default: a mount
// of the hierarchy's root (isRoot(path); every mount when isRoot is empty) before one that is
// not, then /sys/fs/cgroup before others, then the first; "" if none. Octal escapes (\040) in
// mount points are decoded.
std::string cgroupV2RootOf(const std::string& mounts,
                           const std::function<bool(const std::string&)>& isRoot = {});
// cgroupV2RootOf(/proc/mounts, cgroupId(path) == kCgroupRootId).
std::string cgroupV2Root();
// "" if path is a directory on a cgroup v2 filesystem, else the one-line reason.
std::string cgroupProblem(const std::string& path);
// The cgroup id (inode number) of a cgroup v2 directory; 0 if it cannot be read.
uint64_t cgroupId(const std::string& path);
// Netns cookie of the calling thread's network namespace (SO_NETNS_COOKIE).
[[nodiscard]] std::error_code currentNetnsCookie(uint64_t* out);

// Pin path of one socket-mode link: pinDir/apilb_link_<program name>.
std::string sockLinkPin(const std::string& pinDir, const char* prog);
// Names of the socket-mode programs, in attach order.
const std::vector<const char*>& sockProgNames();

// Attaches every socket-mode program to the cgroup as a link and pins it; journals
// "cglink <pin>" before each and registers each pin's removal with onUndo. Logs one line each.
void attachSockLinks(const LbProgram& prog, const std::string& cgroup, const std::string& pinDir,
                     Journal& journal, const std::function<void(std::function<void()>)>& onUndo,
                     std::ostream& log);
// Removes the link pins (detaching the programs); missing pins are warnings on log.
void detachSockLinks(const std::string& pinDir, const std::string& cgroup, std::ostream& log);

[[nodiscard]] std::error_code writeSockRecord(const std::string& pinDir, const lb_sock_rec& rec);
// ENOENT: no socket-mode record (packet mode, or pins from before socket mode).
[[nodiscard]] std::error_code readSockRecord(const std::string& pinDir, lb_sock_rec* out);
std::string cgroupOf(const lb_sock_rec& rec);

// Per-backend translated connect() counts (index = backend id), summed over CPUs; empty if
// the map is not pinned.
std::vector<uint64_t> sockConnects(const std::string& pinDir);
// Socket-mode counters (enum lb_sock_reason), summed over CPUs; empty if not pinned.
std::vector<uint64_t> sockCounters(const std::string& pinDir);
// Name of a socket-mode counter ("connect", "no_backend", ...).
const char* sockReasonName(uint32_t r);
// One open translated socket (apilb_scookie): its cookie and what connect() chose.
struct SockConn {
  uint64_t cookie = 0;
  lb_sock_ent ent{};
};
// The open translated sockets; empty if the map is not pinned (packet mode, older pins).
std::vector<SockConn> sockConnections(const std::string& pinDir);
// Cookies of the open translated sockets whose backend is id (apilb_scookie).
std::vector<uint64_t> sockCookiesTo(const std::string& pinDir, uint32_t id);
// Zeroes backend id's connect counter (when the slot is assigned to a backend).
[[nodiscard]] std::error_code clearSockConnects(const std::string& pinDir, uint32_t id);

}  // namespace lb
