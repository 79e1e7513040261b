#include "common/idempotency/expired_response_filter.h"

#include "common/idempotency/stored_response.pb.h"
#include "common/store/rocks_store.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/testing/server_process.h"

namespace cxp::idempotency {
namespace {

TEST(ExpiredResponseFilterTest, CompactionDropsOnlyExpiredRecordsOfItsFamily) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  auto factory = std::make_shared<ExpiredResponseFilterFactory>([now] { return now; });
  store::RocksStoreOptions options;
  options.path = cxp::testing::MakeTempDir("expiry_") + "/db";
  options.column_families = {"requests", "other"};
  options.tune_options = [factory](rocksdb::Options& o) { o.compaction_filter_factory = factory; };
  auto rocks = store::RocksStore::Open(options);
  ASSERT_TRUE(rocks.ok()) << rocks.status();
  rocksdb::ColumnFamilyHandle* requests = *(*rocks)->ColumnFamily("requests");
  rocksdb::ColumnFamilyHandle* other = *(*rocks)->ColumnFamily("other");
  factory->set_column_family_id(requests->GetID());

  auto record = [](absl::Time expire) {
    StoredResponse response;
    response.set_expire_micros(absl::ToUnixMicros(expire));
    return response.SerializeAsString();
  };
  ASSERT_TRUE((*rocks)->Put(requests, "expired", record(now - absl::Seconds(1))).ok());
  ASSERT_TRUE((*rocks)->Put(requests, "fresh", record(now + absl::Hours(1))).ok());
  ASSERT_TRUE((*rocks)->Put(requests, "unparseable", std::string("\xff\xff\xff", 3)).ok());
  ASSERT_TRUE((*rocks)->Put(other, "expired", record(now - absl::Seconds(1))).ok());
  for (auto* family : {requests, other}) {
    ASSERT_TRUE((*rocks)
                    ->db()
                    ->CompactRange(rocksdb::CompactRangeOptions(), family, nullptr, nullptr)
                    .ok());
  }
  EXPECT_FALSE((*(*rocks)->Get(requests, "expired")).has_value());
  EXPECT_TRUE((*(*rocks)->Get(requests, "fresh")).has_value());
  EXPECT_TRUE((*(*rocks)->Get(requests, "unparseable")).has_value());
  EXPECT_TRUE((*(*rocks)->Get(other, "expired")).has_value());  // not its family
}

}  // namespace
}  // namespace cxp::idempotency
