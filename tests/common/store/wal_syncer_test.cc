#include "common/store/wal_syncer.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/store/key_codec.h"
#include "common/store/rocks_store.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "tests/common/store/scoped_temp_dir.h"

namespace cxp::store {
namespace {

std::unique_ptr<RocksStore> OpenStore(const std::string& path, bool sync_writes) {
  RocksStoreOptions options;
  options.path = path;
  options.sync_writes = sync_writes;
  options.block_cache_bytes = 1 << 20;
  absl::StatusOr<std::unique_ptr<RocksStore>> store = RocksStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(store).value() : nullptr;
}

TEST(WalSyncerTest, AnswersEveryRequestAfterASync) {
  testing::ScopedTempDir dir;
  auto store = OpenStore(dir.path(), /*sync_writes=*/true);
  ASSERT_NE(store, nullptr);
  WalSyncer syncer(store->db(), {store->DefaultColumnFamily()});
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put("k", "v").ok());
  ASSERT_TRUE(store->WriteUnsynced(&batch).ok());
  absl::Notification done;
  absl::Status result = absl::UnknownError("not called");
  syncer.AfterDurable([&](absl::Status status) {
    result = status;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_GE(syncer.sync_count(), 1u);
}

// Many concurrent writers share fsyncs instead of paying one each, and
// callbacks come back in the order they were asked for per thread.
TEST(WalSyncerTest, ConcurrentWritersShareFsyncs) {
  testing::ScopedTempDir dir;
  auto store = OpenStore(dir.path(), /*sync_writes=*/true);
  ASSERT_NE(store, nullptr);
  WalSyncer syncer(store->db(), {store->DefaultColumnFamily()});
  constexpr int kThreads = 8, kWritesPerThread = 200;
  std::atomic<int> acknowledged{0}, failures{0}, out_of_order{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      auto last_acked = std::make_shared<std::atomic<int>>(-1);
      for (int i = 0; i < kWritesPerThread; ++i) {
        rocksdb::WriteBatch batch;
        if (!batch.Put(KeyBuilder("t").AddUint64(t).AddUint64(i).key(), "v").ok() ||
            !store->WriteUnsynced(&batch).ok()) {
          ++failures;
          continue;
        }
        syncer.AfterDurable([&, last_acked, i](absl::Status status) {
          if (!status.ok()) ++failures;
          if (last_acked->exchange(i) != i - 1) ++out_of_order;
          ++acknowledged;
        });
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  syncer.Stop();  // answers whatever is still pending
  EXPECT_EQ(acknowledged.load(), kThreads * kWritesPerThread);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(out_of_order.load(), 0);
  EXPECT_LT(syncer.sync_count(), static_cast<uint64_t>(kThreads * kWritesPerThread));
}

// A round's callbacks run beside the next fsync, not before it: callbacks
// finish RPCs, and under load the next round should not wait for them.
TEST(WalSyncerTest, TheNextSyncDoesNotWaitForCallbacks) {
  testing::ScopedTempDir dir;
  auto store = OpenStore(dir.path(), /*sync_writes=*/true);
  ASSERT_NE(store, nullptr);
  WalSyncer syncer(store->db(), {store->DefaultColumnFamily()});
  absl::Notification first_running;
  std::atomic<bool> saw_second_sync{false};
  syncer.AfterDurable([&](absl::Status) {
    first_running.Notify();
    // Held (against the "must not block" rule, to show the overlap) until
    // the next round is synced, or 30 s.
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (syncer.sync_count() < 2 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
    saw_second_sync = syncer.sync_count() >= 2;
  });
  ASSERT_TRUE(first_running.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::Notification second_answered;
  syncer.AfterDurable([&](absl::Status status) {
    EXPECT_TRUE(status.ok()) << status;
    second_answered.Notify();
  });
  ASSERT_TRUE(second_answered.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_TRUE(saw_second_sync.load());
}

TEST(WalSyncerTest, AfterStopAnswersFailedPreconditionOnTheCaller) {
  testing::ScopedTempDir dir;
  auto store = OpenStore(dir.path(), /*sync_writes=*/true);
  ASSERT_NE(store, nullptr);
  WalSyncer syncer(store->db(), {store->DefaultColumnFamily()});
  syncer.Stop();
  syncer.Stop();  // idempotent
  absl::Status result;
  syncer.AfterDurable([&](absl::Status status) { result = status; });
  EXPECT_EQ(result.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RocksStoreDeferredTest, WriteUnsyncedIsVisibleAndAcknowledgedWhenDurable) {
  testing::ScopedTempDir dir;
  auto store = OpenStore(dir.path(), /*sync_writes=*/true);
  ASSERT_NE(store, nullptr);
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put("k", "v").ok());
  ASSERT_TRUE(store->WriteUnsynced(&batch).ok());
  EXPECT_EQ(store->Get(store->DefaultColumnFamily(), "k").value(), std::string("v"));
  absl::Notification done;
  store->AfterDurable([&](absl::Status status) {
    EXPECT_TRUE(status.ok()) << status;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // Close answers requests still pending; later ones fail on the caller.
  std::atomic<bool> answered{false};
  store->AfterDurable([&](absl::Status) { answered = true; });
  ASSERT_TRUE(store->Close().ok());
  EXPECT_TRUE(answered.load());
  absl::Status after_close;
  store->AfterDurable([&](absl::Status status) { after_close = status; });
  EXPECT_EQ(after_close.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RocksStoreDeferredTest, WithoutSyncedWritesAnswersAtOnce) {
  testing::ScopedTempDir dir;
  auto store = OpenStore(dir.path(), /*sync_writes=*/false);
  ASSERT_NE(store, nullptr);
  bool answered = false;
  store->AfterDurable([&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    answered = true;
  });
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace cxp::store
