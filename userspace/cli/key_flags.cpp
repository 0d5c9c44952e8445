// SPDX-License-Identifier: Apache-2.0
// KeyFlags: CLI11 options generated from lb::keyTable().
#include "cli/key_flags.h"

#include <iostream>
#include <memory>

namespace lb {

void KeyFlags::add(CLI::App* sub, KeyUse use) {
  for (const auto& k : keyTable()) {
    if ((k.use & use) == 0) continue;
    std::string help = k.help;
    if (k.requiredBy & use)
      help += " (required)";
    else if (!k.derivedDefault && !k.list && std::string_view(k.def) != R"("")")
      help += " (default " + std::string(k.def) + ")";
    if (k.list)
      opts_[k.name] = sub->add_option(flagName(k.name), lists_[k.name], help);
    else if (k.boolean)
      opts_[k.name] = sub->add_flag(flagName(k.name), bools_[k.name], help);
    else
      opts_[k.name] = sub->add_option(flagName(k.name), scalars_[k.name], help);
  }
}

RawSettings KeyFlags::given() const {
  RawSettings raw;
  for (const auto& [key, opt] : opts_) {
    if (opt->count() == 0) continue;
    if (lists_.count(key))
      raw[key] = lists_.at(key);
    else if (bools_.count(key))
      raw[key] = {bools_.at(key) ? "true" : "false"};
    else
      raw[key] = {scalars_.at(key)};
  }
  return raw;
}

}  // namespace lb

namespace lb {

void addKeysCommand(CLI::App& app) {
  auto cmd = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("keys", "print the key table of attach or run as Markdown");
  sub->group("");  // hidden: regenerates the tables in docs/cli.md and docs/daemon.md
  sub->add_option("command", *cmd, "attach or run")
      ->required()
      ->check(CLI::IsMember({"attach", "run"}));
  sub->callback([cmd] { std::cout << keysMarkdown(*cmd == "attach" ? kUseAttach : kUseRun); });
}

}  // namespace lb
