#include "common/store/rocks_store.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status/would_block.h"
#include "common/store/key_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "tests/common/store/scoped_temp_dir.h"

namespace cxp::store {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;
using ::testing::Pair;

using Options = RocksStoreOptions;
using KeyValues = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<RocksStore> OpenOrDie(const Options& options) {
  absl::StatusOr<std::unique_ptr<RocksStore>> store = RocksStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(store).value() : nullptr;
}

Options SmallOptions(const std::string& path, std::vector<std::string> families = {}) {
  Options options;
  options.path = path;
  options.column_families = std::move(families);
  options.block_cache_bytes = 1 << 20;
  return options;
}

rocksdb::ColumnFamilyHandle* Family(RocksStore& store, std::string_view name) {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> family = store.ColumnFamily(name);
  EXPECT_TRUE(family.ok()) << family.status();
  return family.value_or(nullptr);
}

std::optional<std::string> GetOrDie(RocksStore& store, rocksdb::ColumnFamilyHandle* family,
                                    std::string_view key,
                                    const RocksStore::Snapshot* snapshot = nullptr) {
  absl::StatusOr<std::optional<std::string>> value = store.Get(family, key, snapshot);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.value_or(std::nullopt);
}

KeyValues Scan(RocksStore& store, rocksdb::ColumnFamilyHandle* family, std::string_view prefix,
               size_t limit = RocksStore::kNoLimit) {
  KeyValues seen;
  absl::Status status = store.ScanPrefix(family, prefix, limit, [&](std::string_view k, std::string_view v) {
    seen.emplace_back(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(status.ok()) << status;
  return seen;
}

TEST(RocksStoreTest, OpenCreatesMissingParentDirectories) {
  testing::ScopedTempDir dir;
  std::string path = dir.Sub("a/b/c/db");
  auto store = OpenOrDie(SmallOptions(path));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists(path + "/CURRENT"));
  EXPECT_EQ(store->path(), path);
}

TEST(RocksStoreTest, OpenRejectsBadOptions) {
  testing::ScopedTempDir dir;
  EXPECT_EQ(RocksStore::Open(SmallOptions("")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RocksStore::Open(SmallOptions(dir.Sub("db"), {"ok", ""})).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::ofstream(dir.Sub("file")) << "not a directory";
  EXPECT_FALSE(RocksStore::Open(SmallOptions(dir.Sub("file"))).ok());
}

TEST(RocksStoreTest, SecondOpenOfSameDirectoryFailsWhileLocked) {
  testing::ScopedTempDir dir;
  auto store = OpenOrDie(SmallOptions(dir.path()));
  absl::StatusOr<std::unique_ptr<RocksStore>> second = RocksStore::Open(SmallOptions(dir.path()));
  EXPECT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("RocksStore::Open"), absl::string_view::npos)
      << second.status();
}

TEST(RocksStoreTest, PutGetDelete) {
  testing::ScopedTempDir dir;
  auto store = OpenOrDie(SmallOptions(dir.path()));
  rocksdb::ColumnFamilyHandle* family = store->DefaultColumnFamily();
  EXPECT_EQ(GetOrDie(*store, family, "k"), std::nullopt);
  ASSERT_TRUE(store->Put(family, "k", "v1").ok());
  EXPECT_THAT(GetOrDie(*store, family, "k"), Optional(std::string("v1")));
  ASSERT_TRUE(store->Put(family, "k", std::string("v\0 2", 4)).ok());
  EXPECT_THAT(GetOrDie(*store, family, "k"), Optional(std::string("v\0 2", 4)));
  ASSERT_TRUE(store->Delete(family, "k").ok());
  EXPECT_EQ(GetOrDie(*store, family, "k"), std::nullopt);
  EXPECT_TRUE(store->Delete(family, "never-written").ok());
}

TEST(RocksStoreTest, NullFamilyIsInvalidArgument) {
  testing::ScopedTempDir dir;
  auto store = OpenOrDie(SmallOptions(dir.path()));
  EXPECT_EQ(store->Put(nullptr, "k", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Get(nullptr, "k").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Write(nullptr).code(), absl::StatusCode::kInvalidArgument);
}

TEST(RocksStoreTest, ColumnFamiliesIsolateValues) {
  testing::ScopedTempDir dir;
  auto store = OpenOrDie(SmallOptions(dir.path(), {"customers", "events"}));
  EXPECT_THAT(store->ColumnFamilyNames(), ElementsAre("customers", "default", "events"));
  rocksdb::ColumnFamilyHandle* customers = Family(*store, "customers");
  rocksdb::ColumnFamilyHandle* events = Family(*store, "events");
  ASSERT_TRUE(store->Put(customers, "k", "customer").ok());
  ASSERT_TRUE(store->Put(events, "k", "event").ok());
  EXPECT_THAT(GetOrDie(*store, customers, "k"), Optional(std::string("customer")));
  EXPECT_THAT(GetOrDie(*store, events, "k"), Optional(std::string("event")));
  EXPECT_EQ(GetOrDie(*store, store->DefaultColumnFamily(), "k"), std::nullopt);
  EXPECT_EQ(store->ColumnFamily("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Family(*store, "default"), store->DefaultColumnFamily());
}

TEST(RocksStoreTest, ReopenKeepsDataAndOpensFamiliesNotListed) {
  testing::ScopedTempDir dir;
  {
    auto store = OpenOrDie(SmallOptions(dir.path(), {"a", "b"}));
    ASSERT_TRUE(store->Put(Family(*store, "a"), "ka", "va").ok());
    ASSERT_TRUE(store->Put(Family(*store, "b"), "kb", "vb").ok());
    ASSERT_TRUE(store->Close().ok());
  }
  {
    // "b" exists on disk but is not listed: still opened and readable.
    auto store = OpenOrDie(SmallOptions(dir.path(), {"a", "c"}));
    ASSERT_NE(store, nullptr);
    EXPECT_THAT(store->ColumnFamilyNames(), ElementsAre("a", "b", "c", "default"));
    EXPECT_THAT(GetOrDie(*store, Family(*store, "a"), "ka"), Optional(std::string("va")));
    EXPECT_THAT(GetOrDie(*store, Family(*store, "b"), "kb"), Optional(std::string("vb")));
  }
  {
    // Listing nothing opens everything on disk (destructor closed the last one).
    auto store = OpenOrDie(SmallOptions(dir.path()));
    EXPECT_THAT(store->ColumnFamilyNames(), ElementsAre("a", "b", "c", "default"));
  }
}

TEST(RocksStoreTest, WriteBatchIsAtomicAcrossFamilies) {
  testing::ScopedTempDir dir;
  auto store = OpenOrDie(SmallOptions(dir.path(), {"customers", "index"}));
  rocksdb::ColumnFamilyHandle* customers = Family(*store, "customers");
  rocksdb::ColumnFamilyHandle* index = Family(*store, "index");
  ASSERT_TRUE(store->Put(index, "old-email", "c1").ok());

  RocksStore::Snapshot before = store->GetSnapshot();
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(customers, "c1", "record-v2").ok());
  ASSERT_TRUE(batch.Delete(index, "old-email").ok());
  ASSERT_TRUE(batch.Put(index, "new-email", "c1").ok());
  ASSERT_TRUE(store->Write(&batch).ok());

  // The snapshot sees none of the batch; the latest view sees all of it.
  EXPECT_EQ(GetOrDie(*store, customers, "c1", &before), std::nullopt);
  EXPECT_THAT(GetOrDie(*store, index, "old-email", &before), Optional(std::string("c1")));
  EXPECT_EQ(GetOrDie(*store, index, "new-email", &before), std::nullopt);
  EXPECT_THAT(GetOrDie(*store, customers, "c1"), Optional(std::string("record-v2")));
  EXPECT_EQ(GetOrDie(*store, index, "old-email"), std::nullopt);
  EXPECT_THAT(GetOrDie(*store, index, "new-email"), Optional(std::string("c1")));
}

TEST(RocksStoreTest, ConcurrentSyncedWritersAllLand) {
  testing::ScopedTempDir dir;
  auto store = OpenOrDie(SmallOptions(dir.path()));
  rocksdb::ColumnFamilyHandle* family = store->DefaultColumnFamily();
  constexpr int kThreads = 8, kWritesPerThread = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        std::string key = KeyBuilder("t").AddUint64(t).AddUint64(i).key();
        if (!store->Put(family, key, std::to_string(t * 1000 + i)).ok()) ++failures;
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Scan(*store, family, TenantPrefix("t")).size(), size_t{kThreads * kWritesPerThread});
}

// Customer timelines keyed (tenant, customer, newest-first timestamp).
class RocksStoreScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(SmallOptions(dir_.path(), {"events"}));
    ASSERT_NE(store_, nullptr);
    events_ = Family(*store_, "events");
    for (const char* tenant : {"a", "ab", "b"}) {
      for (const char* customer : {"c1", "c2"}) {
        for (int64_t ts : {-5, 10, 20}) {
          ASSERT_TRUE(store_->Put(events_, EventKey(tenant, customer, ts),
                                  std::string(tenant) + "/" + customer + "@" + std::to_string(ts))
                          .ok());
        }
      }
    }
  }

  static std::string EventKey(std::string_view tenant, std::string_view customer, int64_t ts) {
    return KeyBuilder(tenant).AddString(customer).AddInt64Descending(ts).key();
  }

  static std::vector<std::string> Values(const KeyValues& key_values) {
    std::vector<std::string> values;
    for (const auto& [key, value] : key_values) values.push_back(value);
    return values;
  }

  testing::ScopedTempDir dir_;
  std::unique_ptr<RocksStore> store_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
};

TEST_F(RocksStoreScanTest, PrefixScanStaysInsideTenantAndIsNewestFirst) {
  EXPECT_THAT(Values(Scan(*store_, events_, TenantPrefix("a"))),
              ElementsAre("a/c1@20", "a/c1@10", "a/c1@-5", "a/c2@20", "a/c2@10", "a/c2@-5"));
  EXPECT_THAT(Values(Scan(*store_, events_, KeyBuilder("ab").AddString("c2").key())),
              ElementsAre("ab/c2@20", "ab/c2@10", "ab/c2@-5"));
  EXPECT_TRUE(Scan(*store_, events_, TenantPrefix("zz")).empty());
}

TEST_F(RocksStoreScanTest, ScanPrefixHonoursLimitAndEarlyStop) {
  std::string prefix = KeyBuilder("b").AddString("c1").key();
  EXPECT_THAT(Values(Scan(*store_, events_, prefix, 2)), ElementsAre("b/c1@20", "b/c1@10"));
  EXPECT_TRUE(Scan(*store_, events_, prefix, 0).empty());
  int visits = 0;
  ASSERT_TRUE(store_->ScanPrefix(events_, prefix, RocksStore::kNoLimit,
                                 [&](std::string_view, std::string_view) { return ++visits < 2; })
                  .ok());
  EXPECT_EQ(visits, 2);
}

TEST_F(RocksStoreScanTest, IteratorBoundsAreOwnedByTheIterator) {
  std::unique_ptr<rocksdb::Iterator> iterator;
  {
    // The options (and their bound strings) die before the iterator is used.
    RocksStore::IterateOptions options;
    options.lower_bound = EventKey("a", "c1", 10);   // inclusive
    options.upper_bound = EventKey("a", "c2", 10);   // exclusive
    iterator = store_->NewIterator(events_, options).value();
  }
  std::vector<std::string> forward, backward;
  for (iterator->SeekToFirst(); iterator->Valid(); iterator->Next()) forward.push_back(iterator->value().ToString());
  for (iterator->SeekToLast(); iterator->Valid(); iterator->Prev()) backward.push_back(iterator->value().ToString());
  ASSERT_TRUE(iterator->status().ok()) << iterator->status().ToString();
  EXPECT_THAT(forward, ElementsAre("a/c1@10", "a/c1@-5", "a/c2@20"));
  EXPECT_THAT(backward, ElementsAre("a/c2@20", "a/c1@-5", "a/c1@10"));
}

TEST_F(RocksStoreScanTest, KeysDecodeBackFromIterator) {
  auto iterator = store_->NewIterator(events_, RocksStore::IterateOptions::Prefix(TenantPrefix("ab"))).value();
  iterator->SeekToFirst();
  ASSERT_TRUE(iterator->Valid());
  KeyReader reader(iterator->key().ToStringView());
  EXPECT_EQ(reader.ReadString().value(), "ab");
  EXPECT_EQ(reader.ReadString().value(), "c1");
  EXPECT_EQ(reader.ReadInt64Descending().value(), 20);
  EXPECT_TRUE(reader.ExpectEnd().ok());
}

TEST_F(RocksStoreScanTest, SnapshotReadsIgnoreLaterWrites) {
  RocksStore::Snapshot snapshot = store_->GetSnapshot();
  std::string prefix = KeyBuilder("a").AddString("c1").key();
  ASSERT_TRUE(store_->Put(events_, EventKey("a", "c1", 30), "a/c1@30").ok());
  ASSERT_TRUE(store_->Delete(events_, EventKey("a", "c1", -5)).ok());
  KeyValues at_snapshot;
  ASSERT_TRUE(store_->ScanPrefix(events_, prefix, RocksStore::kNoLimit,
                                 [&](std::string_view k, std::string_view v) {
                                   at_snapshot.emplace_back(std::string(k), std::string(v));
                                   return true;
                                 },
                                 &snapshot)
                  .ok());
  EXPECT_THAT(Values(at_snapshot), ElementsAre("a/c1@20", "a/c1@10", "a/c1@-5"));
  EXPECT_THAT(Values(Scan(*store_, events_, prefix)), ElementsAre("a/c1@30", "a/c1@20", "a/c1@10"));

  // Moving keeps the view; an empty snapshot reads the latest data.
  RocksStore::Snapshot moved = std::move(snapshot);
  EXPECT_EQ(snapshot.get(), nullptr);
  EXPECT_NE(moved.get(), nullptr);
  EXPECT_THAT(GetOrDie(*store_, events_, EventKey("a", "c1", -5), &moved), Optional(std::string("a/c1@-5")));
  RocksStore::Snapshot empty;
  EXPECT_EQ(GetOrDie(*store_, events_, EventKey("a", "c1", -5), &empty), std::nullopt);
}

TEST(RocksStoreTest, FlushThenReopenReadsFromSstFiles) {
  testing::ScopedTempDir dir;
  {
    auto store = OpenOrDie(SmallOptions(dir.path(), {"x"}));
    ASSERT_TRUE(store->Put(Family(*store, "x"), "k", "v").ok());
    ASSERT_TRUE(store->Flush().ok());
    bool has_sst = false;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      has_sst |= entry.path().extension() == ".sst";
    }
    EXPECT_TRUE(has_sst);
  }
  auto store = OpenOrDie(SmallOptions(dir.path()));
  EXPECT_THAT(GetOrDie(*store, Family(*store, "x"), "k"), Optional(std::string("v")));
}

TEST(RocksStoreTest, CheckpointOpensWithSameData) {
  testing::ScopedTempDir dir;
  std::string checkpoint = dir.Sub("backups/2024-01-01");
  {
    auto store = OpenOrDie(SmallOptions(dir.Sub("db"), {"customers"}));
    rocksdb::ColumnFamilyHandle* customers = Family(*store, "customers");
    ASSERT_TRUE(store->Put(customers, "flushed", "1").ok());
    ASSERT_TRUE(store->Flush().ok());
    ASSERT_TRUE(store->Put(customers, "in-memtable", "2").ok());
    ASSERT_TRUE(store->Checkpoint(checkpoint).ok());
    // Later writes do not leak into the checkpoint.
    ASSERT_TRUE(store->Put(customers, "after", "3").ok());
    // The target must not exist yet.
    EXPECT_FALSE(store->Checkpoint(checkpoint).ok());
  }
  auto copy = OpenOrDie(SmallOptions(checkpoint));
  ASSERT_NE(copy, nullptr);
  rocksdb::ColumnFamilyHandle* customers = Family(*copy, "customers");
  EXPECT_THAT(Scan(*copy, customers, ""), ElementsAre(Pair("flushed", "1"), Pair("in-memtable", "2")));
}

TEST(RocksStoreTest, CloseIsIdempotentAndLaterCallsFail) {
  testing::ScopedTempDir dir;
  auto store = OpenOrDie(SmallOptions(dir.path(), {"x"}));
  rocksdb::ColumnFamilyHandle* family = Family(*store, "x");
  ASSERT_TRUE(store->Put(family, "k", "v").ok());
  EXPECT_TRUE(store->Close().ok());
  EXPECT_TRUE(store->Close().ok());
  EXPECT_EQ(store->db(), nullptr);
  EXPECT_EQ(store->DefaultColumnFamily(), nullptr);
  EXPECT_EQ(store->ColumnFamily("x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Put(family, "k", "v").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Get(family, "k").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->NewIterator(family, {}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Flush().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->GetSnapshot().get(), nullptr);
  rocksdb::WriteBatch batch;
  EXPECT_EQ(store->Write(&batch).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RocksStoreTest, CloseRefusesWhileSnapshotsAreHeld) {
  testing::ScopedTempDir dir;
  auto store = OpenOrDie(SmallOptions(dir.path()));
  {
    RocksStore::Snapshot snapshot = store->GetSnapshot();
    EXPECT_EQ(store->Close().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(store->Put(store->DefaultColumnFamily(), "still", "open").ok());
  }
  EXPECT_TRUE(store->Close().ok());
}

TEST(RocksStoreTest, TuneHookRunsAndUnsyncedWritesWork) {
  testing::ScopedTempDir dir;
  Options options = SmallOptions(dir.path());
  options.sync_writes = false;
  bool tuned = false;
  options.tune_options = [&tuned](rocksdb::Options& rocks_options) {
    tuned = true;
    rocks_options.write_buffer_size = 1 << 20;
    rocks_options.manual_wal_flush = true;  // overridden: never buffer the WAL in user space
  };
  {
    auto store = OpenOrDie(options);
    EXPECT_TRUE(tuned);
    EXPECT_FALSE(store->db()->GetDBOptions().manual_wal_flush);
    EXPECT_EQ(store->db()->GetOptions().write_buffer_size, size_t{1} << 20);
    ASSERT_TRUE(store->Put(store->DefaultColumnFamily(), "k", "v").ok());
  }
  auto store = OpenOrDie(SmallOptions(dir.path()));
  EXPECT_THAT(GetOrDie(*store, store->DefaultColumnFamily(), "k"), Optional(std::string("v")));
}

}  // namespace
}  // namespace cxp::store

namespace cxp::store {
namespace {

TEST(RocksStoreTest, MemoryOnlyReadsAnswerWouldBlockUntilCached) {
  testing::ScopedTempDir dir;
  {
    auto store = OpenOrDie(SmallOptions(dir.path()));
    ASSERT_TRUE(store->Put(store->DefaultColumnFamily(), "k", "v").ok());
    ASSERT_TRUE(store->Flush().ok());
  }
  auto store = OpenOrDie(SmallOptions(dir.path()));  // cold block cache
  rocksdb::ColumnFamilyHandle* family = store->DefaultColumnFamily();
  EXPECT_TRUE(IsWouldBlock(store->Get(family, "k", nullptr, ReadTier::kMemoryOnly).status()));
  rocksdb::PinnableSlice values[1];
  bool found[1] = {};
  EXPECT_TRUE(IsWouldBlock(
      store->MultiGet({family}, {rocksdb::Slice("k")}, values, found, ReadTier::kMemoryOnly)));
  EXPECT_THAT(GetOrDie(*store, family, "k"), Optional(std::string("v")));  // reads the file
  EXPECT_THAT(store->Get(family, "k", nullptr, ReadTier::kMemoryOnly).value(),
              Optional(std::string("v")));
  values[0].Reset();
  ASSERT_TRUE(
      store->MultiGet({family}, {rocksdb::Slice("k")}, values, found, ReadTier::kMemoryOnly).ok());
  EXPECT_TRUE(found[0]);
  EXPECT_EQ(values[0].ToString(), "v");
  // Absent keys are simply absent, also from memory (the bloom filter says so).
  EXPECT_EQ(store->Get(family, "absent", nullptr, ReadTier::kMemoryOnly).value(), std::nullopt);
}

}  // namespace
}  // namespace cxp::store
