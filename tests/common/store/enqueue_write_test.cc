// RocksStore::EnqueueWrite: batches applied by the syncer thread in enqueue
// order, merged, across column families, and acknowledged through
// AfterDurable; and the same contract without a syncer.

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/store/rocks_store.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "tests/common/store/scoped_temp_dir.h"

namespace cxp::store {
namespace {

class EnqueueWriteTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    RocksStoreOptions options;
    options.path = dir_.Sub("db");
    options.column_families = {"a", "b"};
    options.block_cache_bytes = 1 << 20;
    options.sync_writes = GetParam();
    absl::StatusOr<std::unique_ptr<RocksStore>> store = RocksStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    a_ = store_->ColumnFamily("a").value();
    b_ = store_->ColumnFamily("b").value();
  }

  std::optional<std::string> Get(rocksdb::ColumnFamilyHandle* family, const std::string& key) {
    absl::StatusOr<std::optional<std::string>> value = store_->Get(family, key);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.value_or(std::nullopt);
  }

  // AfterDurable's answer, waited for.
  absl::Status Durable() {
    absl::Notification done;
    absl::Status result = absl::UnknownError("not answered");
    store_->AfterDurable([&](absl::Status status) {
      result = std::move(status);
      done.Notify();
    });
    if (!done.WaitForNotificationWithTimeout(absl::Seconds(30))) {
      return absl::DeadlineExceededError("AfterDurable did not answer in 30 s");
    }
    return result;
  }

  uint64_t EnqueueOrDie(rocksdb::WriteBatch&& batch) {
    absl::StatusOr<uint64_t> ticket = store_->EnqueueWrite(std::move(batch));
    EXPECT_TRUE(ticket.ok()) << ticket.status();
    return ticket.value_or(0);
  }

  testing::ScopedTempDir dir_;
  std::unique_ptr<RocksStore> store_;
  rocksdb::ColumnFamilyHandle* a_ = nullptr;
  rocksdb::ColumnFamilyHandle* b_ = nullptr;
};

TEST_P(EnqueueWriteTest, AnEnqueuedBatchIsVisibleAndDurableWhenAfterDurableAnswers) {
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(a_, "k", "v").ok());
  const uint64_t ticket = EnqueueOrDie(std::move(batch));
  EXPECT_EQ(ticket, 1u);
  EXPECT_EQ(batch.Count(), 0) << "EnqueueWrite takes the batch and leaves it valid";
  ASSERT_TRUE(batch.Put(a_, "reuse", "ok").ok());
  ASSERT_TRUE(Durable().ok());
  EXPECT_GE(store_->AppliedTicket(), ticket);
  EXPECT_EQ(Get(a_, "k"), "v");
  EXPECT_EQ(Get(a_, "reuse"), std::nullopt) << "only what was enqueued is written";
}

TEST_P(EnqueueWriteTest, BatchesApplyInEnqueueOrderAcrossFamilies) {
  rocksdb::WriteBatch earlier;
  ASSERT_TRUE(earlier.Put(b_, "r5", "in range").ok());
  EnqueueOrDie(std::move(earlier));
  ASSERT_TRUE(Durable().ok());

  rocksdb::WriteBatch first;
  ASSERT_TRUE(first.Put(a_, "x", "1").ok());
  ASSERT_TRUE(first.Put(b_, "y", "1").ok());
  ASSERT_TRUE(first.Put(a_, "gone", "1").ok());
  rocksdb::WriteBatch second;
  ASSERT_TRUE(second.Put(a_, "x", "2").ok());
  ASSERT_TRUE(second.Delete(a_, "gone").ok());
  ASSERT_TRUE(second.DeleteRange(b_, "r0", "r9").ok());
  rocksdb::WriteBatch third;
  ASSERT_TRUE(third.Put(b_, "y", "3").ok());
  ASSERT_TRUE(third.Put(store_->DefaultColumnFamily(), "d", "3").ok());
  // Enqueued back to back: usually one merged write of the three.
  EnqueueOrDie(std::move(first));
  EnqueueOrDie(std::move(second));
  const uint64_t last = EnqueueOrDie(std::move(third));
  ASSERT_TRUE(Durable().ok());
  EXPECT_EQ(store_->AppliedTicket(), last);
  EXPECT_EQ(Get(a_, "x"), "2");
  EXPECT_EQ(Get(b_, "y"), "3");
  EXPECT_EQ(Get(a_, "gone"), std::nullopt);
  EXPECT_EQ(Get(b_, "r5"), std::nullopt);
  EXPECT_EQ(Get(store_->DefaultColumnFamily(), "d"), "3");
  EXPECT_EQ(Get(b_, "x"), std::nullopt) << "families stay apart";
  EXPECT_EQ(Get(a_, "y"), std::nullopt) << "families stay apart";
}

TEST_P(EnqueueWriteTest, ConcurrentWritersKeepTheOrderOfTheirLock) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  absl::Mutex decide_mu;
  int next = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::MutexLock lock(&decide_mu);
        const int n = next++;
        rocksdb::WriteBatch batch;
        // "last" must end holding the last decision; each leaves a row.
        EXPECT_TRUE(batch.Put(a_, "last", absl::StrCat(n)).ok());
        EXPECT_TRUE(batch.Put(b_, absl::StrCat("n", n), "").ok());
        EXPECT_EQ(EnqueueOrDie(std::move(batch)), static_cast<uint64_t>(n) + 1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(Durable().ok());
  EXPECT_EQ(store_->AppliedTicket(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(Get(a_, "last"), absl::StrCat(kThreads * kPerThread - 1));
  for (int n = 0; n < kThreads * kPerThread; ++n) {
    ASSERT_EQ(Get(b_, absl::StrCat("n", n)), "") << n;
  }
}

TEST_P(EnqueueWriteTest, CloseWritesWhatIsQueuedAndLaterEnqueuesAreRefused) {
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(a_, "k", "v").ok());
  EnqueueOrDie(std::move(batch));
  rocksdb::WriteBatch late;  // built while the family handle lives
  ASSERT_TRUE(late.Put(a_, "late", "v").ok());
  ASSERT_TRUE(store_->Close().ok());
  EXPECT_EQ(store_->EnqueueWrite(std::move(late)).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Reopened, the queued batch is there and the refused one is not.
  SetUp();
  EXPECT_EQ(Get(a_, "k"), "v");
  EXPECT_EQ(Get(a_, "late"), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(SyncedAndNot, EnqueueWriteTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("SyncWrites") : std::string("NoSync");
                         });

}  // namespace
}  // namespace cxp::store
