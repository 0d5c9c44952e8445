// SPDX-License-Identifier: Apache-2.0
// The flags of `apilb attach` and `apilb run`, generated from the key table of the node's
// intent (config/config.h): one flag per key the command takes (--key-name), repeatable for
// lists, value-less for booleans. What the user gave comes back as RawSettings for
// lb::applySettings, so flags and the YAML file go through one parser. Not thread-safe.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"

namespace lb {

class KeyFlags {
 public:
  // Registers the flags of every key whose use includes `use` on `sub`.
  void add(CLI::App* sub, KeyUse use);
  // The flags given on the command line (after parsing), key -> values.
  RawSettings given() const;

 private:
  std::map<std::string, std::string> scalars_;
  std::map<std::string, std::vector<std::string>> lists_;
  std::map<std::string, bool> bools_;
  std::map<std::string, CLI::Option*> opts_;
};

// The hidden `apilb keys attach|run`: prints keysMarkdown() (the docs' key tables).
void addKeysCommand(CLI::App& app);

}  // namespace lb
