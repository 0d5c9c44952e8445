// SPDX-License-Identifier: Apache-2.0
// What apilb asks a network device of the current network namespace through ioctl: its MTU
// (read or set) and its driver's name. Shared by attach (the VIP device's MTU, the ingress hook
// `auto` picks) and `apilb doctor`.
#pragma once

#include <string>

namespace lb {

// Interface MTU via SIOCGIFMTU/SIOCSIFMTU (`set` < 0: read only). Returns the MTU or -errno.
int ifMtu(const std::string& name, int set = -1);

// The driver of a device ("veth", "mlx5_core", ...; ETHTOOL_GDRVINFO), "" if unknown.
std::string deviceDriver(const std::string& name);

}  // namespace lb
