// SPDX-License-Identifier: Apache-2.0
// Prometheus text writer: sample lines, label escaping, cumulative histogram buckets, values.
#include "lb/prom.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lb {
namespace {

TEST(PromTest, FamilyAndSamples) {
  PromWriter w;
  w.family("apilb_x_total", "counter", "Things\nand more");
  w.sample("apilb_x_total", {{"backend", "10.0.0.1:6443"}, {"reason", "refused"}}, 3);
  w.sample("apilb_x_total", {}, 0);
  EXPECT_EQ(w.text(),
            "# HELP apilb_x_total Things\\nand more\n"
            "# TYPE apilb_x_total counter\n"
            "apilb_x_total{backend=\"10.0.0.1:6443\",reason=\"refused\"} 3\n"
            "apilb_x_total 0\n");
}

TEST(PromTest, LabelValuesAreEscaped) {
  PromWriter w;
  w.sample("m", {{"v", "a\"b\\c\nd"}}, 1);
  EXPECT_EQ(w.text(), "m{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(PromTest, HistogramIsCumulative) {
  PromHistogram h({0.01, 0.1, 1});
  for (double v : {0.0078125, 0.0078125, 0.0625, 0.5, 7.0}) h.observe(v);  // exact binary sums
  PromWriter w;
  w.histogram("d_seconds", {{"backend", "b"}}, h);
  EXPECT_EQ(w.text(),
            "d_seconds_bucket{backend=\"b\",le=\"0.01\"} 2\n"
            "d_seconds_bucket{backend=\"b\",le=\"0.1\"} 3\n"
            "d_seconds_bucket{backend=\"b\",le=\"1\"} 4\n"
            "d_seconds_bucket{backend=\"b\",le=\"+Inf\"} 5\n"
            "d_seconds_sum{backend=\"b\"} 7.578125\n"
            "d_seconds_count{backend=\"b\"} 5\n");
}

TEST(PromTest, Values) {
  EXPECT_EQ(promValue(0), "0");
  EXPECT_EQ(promValue(18446744073709.0), "18446744073709");
  EXPECT_EQ(promValue(0.25), "0.25");
  EXPECT_EQ(promValue(INFINITY), "+Inf");
  EXPECT_EQ(promValue(NAN), "NaN");
}

}  // namespace
}  // namespace lb
