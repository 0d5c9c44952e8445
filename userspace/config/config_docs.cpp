// SPDX-License-Identifier: Apache-2.0
// The key table rendered for people: the Markdown tables of docs/cli.md and docs/daemon.md and
// the commented default config (`apilb run --print-default-config`). Parsing and validation of
// the same keys are config.cpp's.
#include <string>

#include "config/config.h"

namespace lb {

std::string keysMarkdown(KeyUse use) {
  std::string out = "| key | flag | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : keyTable()) {
    if ((k.use & use) == 0) continue;
    std::string def = "`" + std::string(k.def) + "`";
    if (k.derivedDefault) def = "see meaning";
    if (k.list) def = "none";
    if (k.requiredBy & use) def = "required";
    std::string help = k.help;
    size_t bar = 0;
    while ((bar = help.find('|', bar)) != std::string::npos) help.replace(bar, 1, "\\|"), bar += 2;
    out += "| `" + std::string(k.name) + "` | `" + flagName(k.name) + "` | " + def + " | " + help +
           " |\n";
  }
  return out;
}

std::string defaultConfigYaml() {
  std::string out =
      "# apilb run configuration. Every key is also a flag: key_name -> --key-name (flags win).\n"
      "# Durations: 500ms, 1s, 1.5s, 2m. Unknown keys are errors. Generated from the key table\n"
      "# (userspace/config/config.cpp).\n";
  for (const auto& k : keyTable()) {
    out += "\n# " + std::string(k.help) + "\n";
    out += std::string(k.derivedDefault ? "# " : "") + k.name + ": " + k.def + "\n";
  }
  return out;
}

}  // namespace lb
