// SPDX-License-Identifier: Apache-2.0
// Other network namespaces of the node: finding them and running code inside them.
//
// Socket mode with --pods translates connect() in pods' network namespaces, so the sockets of a
// dead backend may live there; sock_diag only sees the namespace its netlink socket was created
// in. A network namespace is named by an nsfs file: the runtimes' pins (`ip netns`, containerd
// and CRI-O keep pods' namespaces under /run/netns) and /proc/<pid>/ns/net of every process this
// one can see (all of them with hostPID). setns(CLONE_NEWNET) moves only the calling thread, so
// forEachNetns() works on a helper thread and the daemon's own threads never change namespace.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace lb {

// One nsfs path per network namespace found under pinDirs (every entry) and procDir
// (<procDir>/<pid>/ns/net, lowest pid first), deduplicated by device and inode, pins first; the
// calling thread's own namespace (<procDir>/thread-self/ns/net) is left out. Unreadable entries
// and anything but regular files (nsfs files are; a FIFO is not) are skipped.
std::vector<std::string> otherNetns(const std::string& procDir = "/proc",
                                    const std::vector<std::string>& pinDirs = {"/run/netns"});

// Runs fn(path) inside each namespace of `paths`, in order, on one helper thread, and waits for
// it; fn returns false to stop early. A namespace that cannot be entered (gone meanwhile, no
// permission, not a namespace) is skipped. Returns how many namespaces fn ran in. An exception
// from fn (or std::system_error when no thread can be started) reaches the caller.
// Cost: the namespace switch is cheap; what fn does there is not (a sock_diag dump walks the
// kernel's whole TCP hash table, shared by all namespaces: about 1 ms with 262144 buckets).
size_t forEachNetns(const std::vector<std::string>& paths,
                    const std::function<bool(const std::string&)>& fn);

}  // namespace lb
