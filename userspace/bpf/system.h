// SPDX-License-Identifier: Apache-2.0
// Process-level set-up shared by every `apilb` subcommand and `apilb run`: entering a named
// network namespace while keeping the host's mounts, making sure the pin dir lives on a bpffs,
// and checking privileges. Errors: std::error_code with the failing errno.
#pragma once

#include <string>
#include <system_error>

namespace lb {

// setns(open("/run/netns/<name>"), CLONE_NEWNET) for the calling thread. Only the network
// namespace changes, so /sys/fs/bpf of the host stays visible. ENOENT: no such netns.
[[nodiscard]] std::error_code enterNetns(const std::string& name);

// True if path (which must exist) is on a bpf filesystem.
bool isBpffs(const std::string& path);

// Makes sure `pinDir` exists on a bpffs: if it is under /sys/fs/bpf and that is not bpffs,
// mounts bpffs on /sys/fs/bpf; otherwise mounts bpffs on pinDir itself; then mkdir -p.
// *mountedAt receives the mount point created ("" if none), so a failed attach can undo it.
[[nodiscard]] std::error_code ensureBpffs(const std::string& pinDir, std::string* mountedAt);

// Creates the directory and its parents (mode 0700). Existing directories are fine.
[[nodiscard]] std::error_code mkdirs(const std::string& dir);

// True if the process may load BPF programs and change the network config: euid 0 with the
// capabilities, or CAP_BPF (or CAP_SYS_ADMIN) plus CAP_NET_ADMIN in the effective set.
// *missing names what is missing ("CAP_NET_ADMIN").
bool havePrivileges(std::string* missing);

// Routes libbpf's log to stderr with "libbpf: " kept, dropping debug/info output and the kernel
// extack lines libbpf prints for answers apilb expects ("Parent Qdisc doesn't exists" when a
// device has no clsact). APILB_LIBBPF_DEBUG=1 in the environment prints everything.
void installLibbpfLogger();

}  // namespace lb
