#include "common/idempotency/expired_response_filter.h"

#include "common/idempotency/stored_response.pb.h"

namespace cxp::idempotency {
namespace {

class ExpiredResponseFilter : public rocksdb::CompactionFilter {
 public:
  explicit ExpiredResponseFilter(int64_t now_micros) : now_micros_(now_micros) {}

  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    StoredResponse response;
    // Keep what cannot be parsed: never drop data we do not understand.
    if (!response.ParseFromArray(value.data(), static_cast<int>(value.size()))) return false;
    return response.expire_micros() <= now_micros_;
  }
  const char* Name() const override { return "cxp.ExpiredResponseFilter"; }

 private:
  const int64_t now_micros_;
};

}  // namespace

std::unique_ptr<rocksdb::CompactionFilter> ExpiredResponseFilterFactory::CreateCompactionFilter(
    const rocksdb::CompactionFilter::Context& context) {
  if (context.column_family_id != column_family_id_.load()) return nullptr;
  return std::make_unique<ExpiredResponseFilter>(absl::ToUnixMicros(clock_()));
}

}  // namespace cxp::idempotency
