// SPDX-License-Identifier: Apache-2.0
// /proc/sys access for integer sysctls. Device names containing '.' are written with '/' in the
// dotted form by sysctl(8); we take the device name separately so no escaping is needed.
#include "bpf/sysctl.h"

#include <cerrno>
#include <fstream>
#include <string>

#include "bpf/errno_code.h"

namespace lb {
namespace {

std::string procPath(const std::string& dotted) {
  // "net.ipv4.conf.<dev>.<key>": the device may contain dots (eth0.100), so only the fixed
  // prefix and the last component are converted.
  const std::string prefix = "net.ipv4.conf.";
  if (dotted.rfind(prefix, 0) == 0) {
    size_t last = dotted.rfind('.');
    std::string dev = dotted.substr(prefix.size(), last - prefix.size());
    return "/proc/sys/net/ipv4/conf/" + dev + "/" + dotted.substr(last + 1);
  }
  std::string p = "/proc/sys/" + dotted;
  for (size_t i = 10; i < p.size(); ++i)
    if (p[i] == '.') p[i] = '/';
  return p;
}

}  // namespace

std::string ipv4ConfName(const std::string& dev, const std::string& key) {
  return "net.ipv4.conf." + dev + "." + key;
}

std::error_code readSysctl(const std::string& dotted, int* value) {
  std::ifstream in(procPath(dotted));
  if (!in) return errnoCode();
  if (!(in >> *value)) return std::make_error_code(std::errc::io_error);
  return {};
}

std::error_code writeSysctl(const std::string& dotted, int value) {
  std::ofstream out(procPath(dotted));
  if (!out) return errnoCode();
  out << value << '\n';
  out.flush();
  if (!out) return errnoCode();
  return {};
}

}  // namespace lb
