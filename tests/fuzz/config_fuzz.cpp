// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness (ASan/UBSan) for every parser of user input. Each input is given, whole, to
// the address parsers (lb::parseEndpoint, lb::parseAddr, lb::parseBackend) and
// lb::parseDuration; as a YAML config to lb::parseConfigYaml -> lb::applySettings ->
// lb::validateConfig; and, read as "key=value" lines, as flag values (the same RawSettings
// `apilb run` builds from its flags) to lb::applySettings -> lb::validateConfig. Only crashes,
// sanitizer reports and escaping exceptions are findings: rejecting input is the parsers' job.
// Kept to the public parse functions so it follows the config model when that moves.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "lb/endpoint.h"

namespace {

void parseAddresses(std::string_view text) {
  std::string err;
  lb::Endpoint ep;
  (void)lb::parseEndpoint(text, &ep, &err);
  (void)lb::parseAddr(text, &ep, &err);
  lb::BackendConfig spec;
  (void)lb::parseBackend(text, &spec, &err);
  std::chrono::milliseconds d{};
  (void)lb::parseDuration(text, &d, &err);
}

void applyAndValidate(const lb::RawSettings& raw) {
  lb::DaemonConfig cfg;
  std::vector<std::string> errs;
  lb::applySettings(raw, &cfg, &errs);
  lb::validateConfig(cfg, false, &errs);
}

void parseYaml(const std::string& text) {
  lb::RawSettings raw;
  std::vector<std::string> errs;
  if (lb::parseConfigYaml(text, &raw, &errs)) applyAndValidate(raw);
}

void parseFlags(std::string_view text) {
  lb::RawSettings raw;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    raw[std::string(line.substr(0, eq))].emplace_back(line.substr(eq + 1));
  }
  applyAndValidate(raw);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  parseAddresses(text);
  parseYaml(text);
  parseFlags(text);
  return 0;
}
