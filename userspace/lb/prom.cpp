// SPDX-License-Identifier: Apache-2.0
// Prometheus text writer (see prom.h).
#include "lb/prom.h"

#include <charconv>
#include <cmath>

namespace lb {
namespace {

std::string escapeLabel(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escapeHelp(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string labelText(const PromLabels& labels) {
  if (labels.empty()) return "";
  std::string s = "{";
  for (size_t i = 0; i < labels.size(); i++) {
    if (i) s += ",";
    s += labels[i].first + "=\"" + escapeLabel(labels[i].second) + "\"";
  }
  return s + "}";
}

}  // namespace

PromHistogram::PromHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}

void PromHistogram::observe(double v) {
  for (size_t i = 0; i < bounds_.size(); i++)
    if (v <= bounds_[i]) counts_[i]++;
  count_++;
  sum_ += v;
}

std::string promValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 9e15) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<long long>(v));
    return std::string(buf, r.ptr);
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

void PromWriter::family(const std::string& name, const std::string& type,
                        const std::string& help) {
  out_ += "# HELP " + name + " " + escapeHelp(help) + "\n";
  out_ += "# TYPE " + name + " " + type + "\n";
}

void PromWriter::sample(const std::string& name, const PromLabels& labels, double value) {
  out_ += name + labelText(labels) + " " + promValue(value) + "\n";
}

void PromWriter::histogram(const std::string& name, const PromLabels& labels,
                           const PromHistogram& h) {
  for (size_t i = 0; i < h.bounds().size(); i++) {
    PromLabels l = labels;
    l.emplace_back("le", promValue(h.bounds()[i]));
    sample(name + "_bucket", l, static_cast<double>(h.counts()[i]));
  }
  PromLabels inf = labels;
  inf.emplace_back("le", "+Inf");
  sample(name + "_bucket", inf, static_cast<double>(h.count()));
  sample(name + "_sum", labels, h.sum());
  sample(name + "_count", labels, static_cast<double>(h.count()));
}

}  // namespace lb
