// Unit test for LatencyHistogram. Built as cxp_latency_histogram_test but not
// registered with ctest from bench/ (nothing under bench/ runs in the suite).

#include "bench/loadgen/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace cxp::bench {
namespace {

TEST(LatencyHistogramTest, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.ValueAtQuantile(0.99), 0);
}

TEST(LatencyHistogramTest, BucketsAreContiguousAndNarrow) {
  for (int i = 0; i + 1 < LatencyHistogram::NumBuckets(); ++i) {
    ASSERT_EQ(LatencyHistogram::BucketLowerBound(i) + LatencyHistogram::BucketWidth(i),
              LatencyHistogram::BucketLowerBound(i + 1))
        << i;
    ASSERT_EQ(LatencyHistogram::BucketIndex(LatencyHistogram::BucketLowerBound(i)), i);
    if (i >= LatencyHistogram::kSubBuckets) {
      ASSERT_LE(static_cast<double>(LatencyHistogram::BucketWidth(i)) /
                    static_cast<double>(LatencyHistogram::BucketLowerBound(i)),
                1.0 / 128 + 1e-12);
    }
  }
  EXPECT_EQ(LatencyHistogram::BucketIndex(LatencyHistogram::kMaxValue),
            LatencyHistogram::NumBuckets() - 1);
}

TEST(LatencyHistogramTest, QuantilesWithinOnePercent) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(13.0, 1.0);  // ~0.5 ms median, in ns
  std::vector<int64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<int64_t>(dist(rng));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto rank = static_cast<size_t>(std::ceil(q * values.size()));
    const double exact = static_cast<double>(values[rank - 1]);
    EXPECT_NEAR(static_cast<double>(h.ValueAtQuantile(q)), exact, exact * 0.01) << q;
  }
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.ValueAtQuantile(1.0), values.back());
  EXPECT_EQ(h.ValueAtQuantile(0.0), values.front());
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, all;
  for (int64_t v = 0; v < 100000; v += 7) {
    (v % 2 ? a : b).Record(v * 13);
    all.Record(v * 13);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double q : {0.1, 0.5, 0.99}) EXPECT_EQ(a.ValueAtQuantile(q), all.ValueAtQuantile(q));
}

TEST(LatencyHistogramTest, ClampsOutOfRange) {
  LatencyHistogram h;
  h.Record(-5);
  h.Record(LatencyHistogram::kMaxValue + 100);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), LatencyHistogram::kMaxValue);
}

}  // namespace
}  // namespace cxp::bench
