// SPDX-License-Identifier: Apache-2.0
// Reading and writing the per-interface IPv4 sysctls the datapath depends on
// (net.ipv4.conf.<dev>.rp_filter, accept_local) through /proc/sys of the current network
// namespace (the task's netns, so this follows setns()).
#pragma once

#include <string>
#include <system_error>

namespace lb {

// Full dotted name, e.g. "net.ipv4.conf.eth0.rp_filter". Thread-safe.
std::string ipv4ConfName(const std::string& dev, const std::string& key);
// Reads an integer sysctl; ENOENT when the device or key does not exist.
[[nodiscard]] std::error_code readSysctl(const std::string& dotted, int* value);
// Writes an integer sysctl.
[[nodiscard]] std::error_code writeSysctl(const std::string& dotted, int value);

}  // namespace lb
