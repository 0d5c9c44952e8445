// SPDX-License-Identifier: Apache-2.0
// Prometheus text exposition format (version 0.0.4) writer: families with HELP/TYPE, samples
// with escaped label values, and a fixed-bucket histogram. Pure string building, no I/O, so the
// format is unit-tested without a server. Not thread-safe per object.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lb {

using PromLabels = std::vector<std::pair<std::string, std::string>>;

// Cumulative histogram with fixed upper bounds (seconds, ascending). observe() is O(buckets).
class PromHistogram {
 public:
  explicit PromHistogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // counts()[i]: observations <= bounds()[i] (cumulative); count(): all observations.
  const std::vector<uint64_t>& counts() const { return counts_; }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

class PromWriter {
 public:
  // Starts a family: "# HELP name help" and "# TYPE name type" (gauge|counter|histogram).
  void family(const std::string& name, const std::string& type, const std::string& help);
  // One sample line: name{k="v",...} value. Label values are escaped (\\, \", \n).
  void sample(const std::string& name, const PromLabels& labels, double value);
  // The _bucket (with le), _sum and _count lines of one labelled histogram.
  void histogram(const std::string& name, const PromLabels& labels, const PromHistogram& h);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

// Formats a sample value the way Prometheus parses it: integers without exponent, "+Inf",
// "NaN", else shortest round-trip decimal.
std::string promValue(double v);

}  // namespace lb
