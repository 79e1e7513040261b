// cxp::bench::LatencyHistogram — a small HDR-style latency histogram.
//
// Values are non-negative integers (the load generator records nanoseconds).
// Buckets are exact below 128; above that every power of two is split into
// 128 equal sub-buckets, so a bucket is at most 1/128 (0.78%) of its values
// wide and a reported percentile is within ~0.4% of the true value. Values
// above kMaxValue (~18 minutes in ns) are clamped. Min, max and sum are exact.
//
// Threading: not thread-safe. Give every thread its own histogram (Record()
// is a few instructions and takes no lock) and Merge() them at the end.

#ifndef CXP_BENCH_LOADGEN_LATENCY_HISTOGRAM_H_
#define CXP_BENCH_LOADGEN_LATENCY_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace cxp::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr int64_t kSubBuckets = int64_t{1} << kSubBucketBits;
  static constexpr int kMaxValueBits = 40;
  static constexpr int64_t kMaxValue = (int64_t{1} << kMaxValueBits) - 1;

  LatencyHistogram();

  // Negative values count as 0; values above kMaxValue as kMaxValue.
  void Record(int64_t value) {
    if (value < 0) value = 0;
    if (value > kMaxValue) value = kMaxValue;
    ++counts_[BucketIndex(value)];
    ++count_;
    sum_ += static_cast<double>(value);
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }

  // Adds every value recorded in `other` to this histogram.
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  // 0 when empty.
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  double mean() const;

  // The value at quantile q in [0, 1] (0.99 = p99): the midpoint of the bucket
  // holding the ceil(q * count)-th smallest value, clamped to [min, max];
  // exactly min / max for the first / last value. 0 when empty.
  int64_t ValueAtQuantile(double q) const;

  // Bucket layout, exposed for tests.
  static int BucketIndex(int64_t value) {
    if (value < kSubBuckets) return static_cast<int>(value);
    const int msb = 63 - __builtin_clzll(static_cast<uint64_t>(value));
    const int shift = msb - kSubBucketBits;
    return static_cast<int>((shift + 1) * kSubBuckets + ((value >> shift) - kSubBuckets));
  }
  static int64_t BucketLowerBound(int index);
  static int64_t BucketWidth(int index);
  static int NumBuckets();

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
  int64_t min_ = kMaxValue;
  int64_t max_ = 0;
};

}  // namespace cxp::bench

#endif  // CXP_BENCH_LOADGEN_LATENCY_HISTOGRAM_H_
