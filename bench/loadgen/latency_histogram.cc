#include "bench/loadgen/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace cxp::bench {

int LatencyHistogram::NumBuckets() { return BucketIndex(kMaxValue) + 1; }

int64_t LatencyHistogram::BucketLowerBound(int index) {
  if (index < kSubBuckets) return index;
  const int shift = static_cast<int>(index / kSubBuckets) - 1;
  const int64_t sub = index % kSubBuckets + kSubBuckets;
  return sub << shift;
}

int64_t LatencyHistogram::BucketWidth(int index) {
  if (index < kSubBuckets) return 1;
  return int64_t{1} << (index / kSubBuckets - 1);
}

LatencyHistogram::LatencyHistogram() : counts_(NumBuckets(), 0) {}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

int64_t LatencyHistogram::ValueAtQuantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  if (rank == 1) return min();  // the extremes are known exactly
  if (rank == count_) return max_;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int index = static_cast<int>(i);
      const int64_t mid = BucketLowerBound(index) + (BucketWidth(index) - 1) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace cxp::bench
