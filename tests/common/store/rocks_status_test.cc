#include "common/store/rocks_status.h"

#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace cxp::store {
namespace {

TEST(FromRocksStatusTest, OkIsOk) { EXPECT_TRUE(FromRocksStatus(rocksdb::Status::OK(), "Put").ok()); }

TEST(FromRocksStatusTest, MapsEveryCode) {
  using rocksdb::Status;
  const std::vector<std::pair<Status, absl::StatusCode>> cases = {
      {Status::NotFound("x"), absl::StatusCode::kNotFound},
      {Status::Corruption("x"), absl::StatusCode::kDataLoss},
      {Status::NotSupported("x"), absl::StatusCode::kUnimplemented},
      {Status::InvalidArgument("x"), absl::StatusCode::kInvalidArgument},
      {Status::IOError("x"), absl::StatusCode::kInternal},
      {Status::NoSpace("x"), absl::StatusCode::kResourceExhausted},
      {Status::SpaceLimit("x"), absl::StatusCode::kResourceExhausted},
      {Status::PathNotFound("x"), absl::StatusCode::kInternal},
      {Status::MergeInProgress("x"), absl::StatusCode::kInternal},
      {Status::Incomplete("x"), absl::StatusCode::kUnavailable},
      {Status::ShutdownInProgress("x"), absl::StatusCode::kUnavailable},
      {Status::TimedOut("x"), absl::StatusCode::kDeadlineExceeded},
      {Status::Aborted("x"), absl::StatusCode::kAborted},
      {Status::Busy("x"), absl::StatusCode::kAborted},
      {Status::Expired("x"), absl::StatusCode::kAborted},
      {Status::TryAgain("x"), absl::StatusCode::kUnavailable},
      {Status::CompactionTooLarge("x"), absl::StatusCode::kResourceExhausted},
      {Status::ColumnFamilyDropped("x"), absl::StatusCode::kFailedPrecondition},
  };
  // One case per rocksdb code (IOError has three subcodes listed).
  EXPECT_EQ(cases.size(), static_cast<size_t>(Status::kMaxCode) - 1 + 3);
  for (const auto& [rocks_status, expected] : cases) {
    absl::Status converted = FromRocksStatus(rocks_status, "RocksStore::Put(customers)");
    EXPECT_EQ(converted.code(), expected) << rocks_status.ToString();
  }
}

TEST(FromRocksStatusTest, MessageNamesOperationAndKeepsRocksMessage) {
  absl::Status converted =
      FromRocksStatus(rocksdb::Status::Corruption("bad block"), "RocksStore::Get(events)");
  EXPECT_EQ(converted.message(), "RocksStore::Get(events): Corruption: bad block");
}

}  // namespace
}  // namespace cxp::store
