// SPDX-License-Identifier: Apache-2.0
// Global options of the `apilb` CLI (--pin-dir, --netns), shared by every subcommand.
// The values are filled by CLI11 parsing before any subcommand callback runs.
#pragma once

#include <string>

namespace lb {

struct GlobalOptions {
  std::string pinDir = "/sys/fs/bpf/apilb";  // where `apilb attach` pins the maps
  std::string netns;  // network namespace name (/run/netns/NAME), "" = current
};

}  // namespace lb
