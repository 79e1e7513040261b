// ExpiredResponseFilterFactory — drops idempotency records (StoredResponse
// rows of a service's `requests` column family) whose retention has passed, during
// RocksDB compactions, so the table does not grow forever and no request
// path ever scans for expired rows. Reads already ignore expired records, so
// when a row is physically removed does not matter for correctness.
//
// Install it through RocksStoreOptions::tune_options before opening, then
// call set_column_family_id() with the id of `requests` once the store is
// open; until then it filters nothing. Threading: thread-safe (RocksDB calls
// it from compaction threads).

#ifndef CXP_COMMON_IDEMPOTENCY_EXPIRED_RESPONSE_FILTER_H_
#define CXP_COMMON_IDEMPOTENCY_EXPIRED_RESPONSE_FILTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>

#include "absl/time/time.h"
#include "rocksdb/compaction_filter.h"

namespace cxp::idempotency {

class ExpiredResponseFilterFactory : public rocksdb::CompactionFilterFactory {
 public:
  explicit ExpiredResponseFilterFactory(std::function<absl::Time()> clock)
      : clock_(std::move(clock)) {}

  void set_column_family_id(uint32_t id) { column_family_id_.store(id); }

  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override;
  const char* Name() const override { return "cxp.ExpiredResponseFilterFactory"; }

 private:
  std::function<absl::Time()> clock_;
  std::atomic<uint32_t> column_family_id_{std::numeric_limits<uint32_t>::max()};
};

}  // namespace cxp::idempotency

#endif  // CXP_COMMON_IDEMPOTENCY_EXPIRED_RESPONSE_FILTER_H_
