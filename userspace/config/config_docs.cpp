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
    // The default cell: "required", "none" (lists), "see meaning" (derived) or `value`.
    const char* word = (k.requiredBy & use) ? "required"
                       : k.list             ? "none"
                       : k.derivedDefault   ? "see meaning"
                                            : nullptr;
    std::string def = word ? std::string(word) : std::string(1, '`').append(k.def).append(1, '`');
    std::string help = k.help;
    size_t bar = 0;
    while ((bar = help.find('|', bar)) != std::string::npos) help.replace(bar, 1, "\\|"), bar += 2;
    // append, not operator+: GCC 12 -O3 reports a false -Wrestrict on `"..." + std::string`.
    out.append("| `").append(k.name).append("` | `").append(flagName(k.name)).append("` | ");
    out.append(def).append(" | ").append(help).append(" |\n");
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
