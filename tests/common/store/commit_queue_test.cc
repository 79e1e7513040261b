#include "common/store/commit_queue.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "tests/common/store/scoped_temp_dir.h"

namespace cxp::store {
namespace {

class CommitQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RocksStoreOptions options;
    options.path = dir_.Sub("db");
    options.column_families = {"a", "b"};
    options.block_cache_bytes = 1 << 20;
    absl::StatusOr<std::unique_ptr<RocksStore>> store = RocksStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    a_ = store_->ColumnFamily("a").value();
    b_ = store_->ColumnFamily("b").value();
    queue_ = std::make_unique<CommitQueue>(*store_);
  }

  std::optional<std::string> Get(rocksdb::ColumnFamilyHandle* family, const std::string& key) {
    absl::StatusOr<std::optional<std::string>> value = store_->Get(family, key);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.value_or(std::nullopt);
  }

  testing::ScopedTempDir dir_;
  std::unique_ptr<RocksStore> store_;
  rocksdb::ColumnFamilyHandle* a_ = nullptr;
  rocksdb::ColumnFamilyHandle* b_ = nullptr;
  std::unique_ptr<CommitQueue> queue_;
};

TEST_F(CommitQueueTest, NothingIsWrittenBeforeItsTicketIsWaitedFor) {
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(a_, "k", "v").ok());
  const CommitQueue::Ticket ticket = queue_->Enqueue(std::move(batch));
  EXPECT_EQ(ticket, 1u);
  EXPECT_EQ(batch.Count(), 0) << "Enqueue takes the batch";
  EXPECT_EQ(Get(a_, "k"), std::nullopt);
  EXPECT_EQ(queue_->applied(), 0u);

  ASSERT_TRUE(queue_->Wait(ticket).ok());
  EXPECT_EQ(Get(a_, "k"), "v");
  EXPECT_EQ(queue_->applied(), 1u);
  // Waiting again for an applied ticket answers at once.
  EXPECT_TRUE(queue_->Wait(ticket).ok());
}

TEST_F(CommitQueueTest, MergedBatchesApplyInEnqueueOrderAcrossFamilies) {
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
  rocksdb::WriteBatch earlier;
  ASSERT_TRUE(earlier.Put(b_, "r5", "in range").ok());
  ASSERT_TRUE(queue_->Wait(queue_->Enqueue(std::move(earlier))).ok());

  queue_->Enqueue(std::move(first));
  queue_->Enqueue(std::move(second));
  const CommitQueue::Ticket last = queue_->Enqueue(std::move(third));
  // One Wait writes all three (they were queued together: one merged write).
  ASSERT_TRUE(queue_->Wait(last).ok());
  EXPECT_EQ(queue_->applied(), last);
  EXPECT_EQ(Get(a_, "x"), "2");
  EXPECT_EQ(Get(b_, "y"), "3");
  EXPECT_EQ(Get(a_, "gone"), std::nullopt);
  EXPECT_EQ(Get(b_, "r5"), std::nullopt);
  EXPECT_EQ(Get(store_->DefaultColumnFamily(), "d"), "3");
  // Families stay apart.
  EXPECT_EQ(Get(b_, "x"), std::nullopt);
  EXPECT_EQ(Get(a_, "y"), std::nullopt);
}

TEST_F(CommitQueueTest, ConcurrentWritersKeepTheOrderOfTheirLock) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  absl::Mutex decide_mu;
  int next = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        CommitQueue::Ticket ticket;
        {
          absl::MutexLock lock(&decide_mu);
          const int n = next++;
          rocksdb::WriteBatch batch;
          // "last" must end holding the last decision; every decision
          // leaves its own row.
          EXPECT_TRUE(batch.Put(a_, "last", absl::StrCat(n)).ok());
          EXPECT_TRUE(batch.Put(b_, absl::StrCat("n", n), "").ok());
          ticket = queue_->Enqueue(std::move(batch));
        }
        EXPECT_TRUE(queue_->Wait(ticket).ok());
        // Written by now, whoever wrote it.
        EXPECT_LE(ticket, queue_->applied());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(Get(a_, "last"), absl::StrCat(kThreads * kPerThread - 1));
  for (int n = 0; n < kThreads * kPerThread; ++n) {
    ASSERT_EQ(Get(b_, absl::StrCat("n", n)), "") << n;
  }
  EXPECT_TRUE(queue_->Flush().ok());
}

TEST_F(CommitQueueTest, AFailedWriteFailsEveryBatchInItAndFlushReportsIt) {
  rocksdb::WriteBatch before;
  ASSERT_TRUE(before.Put(a_, "k", "v").ok());
  ASSERT_TRUE(queue_->Wait(queue_->Enqueue(std::move(before))).ok());
  rocksdb::WriteBatch first;
  ASSERT_TRUE(first.Put(a_, "k1", "v").ok());
  rocksdb::WriteBatch second;
  ASSERT_TRUE(second.Put(a_, "k2", "v").ok());
  const CommitQueue::Ticket one = queue_->Enqueue(std::move(first));
  const CommitQueue::Ticket two = queue_->Enqueue(std::move(second));
  ASSERT_TRUE(store_->Close().ok());

  EXPECT_EQ(queue_->Flush().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(queue_->Wait(one).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(queue_->Wait(two).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(queue_->applied(), two) << "failed tickets are done, not retried";
  // The batch written before the failure is still reported OK.
  EXPECT_TRUE(queue_->Wait(1).ok());
}

}  // namespace
}  // namespace cxp::store
