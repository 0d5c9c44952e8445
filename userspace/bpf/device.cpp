// SPDX-License-Identifier: Apache-2.0
#include "bpf/device.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bpf/unique_fd.h"

namespace lb {
namespace {

// ioctl `req` about device `name` (*ifr gets the name). -errno on failure, else 0.
int deviceIoctl(const std::string& name, unsigned long req, ifreq* ifr) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return -errno;
  std::snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name.c_str());
  return ::ioctl(s.get(), req, ifr) == 0 ? 0 : -errno;
}

}  // namespace

int ifMtu(const std::string& name, int set) {
  ifreq ifr{};
  ifr.ifr_mtu = set;
  int rc = deviceIoctl(name, set < 0 ? SIOCGIFMTU : SIOCSIFMTU, &ifr);
  return rc < 0 ? rc : ifr.ifr_mtu;
}

std::string deviceDriver(const std::string& name) {
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq ifr{};
  ifr.ifr_data = reinterpret_cast<char*>(&info);
  if (deviceIoctl(name, SIOCETHTOOL, &ifr) < 0) return "";
  return std::string(info.driver, strnlen(info.driver, sizeof(info.driver)));
}

}  // namespace lb
