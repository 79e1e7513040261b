#include "common/store/rocks_store.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "common/status/status_macros.h"
#include "common/status/would_block.h"
#include "common/store/key_codec.h"
#include "common/store/rocks_status.h"
#include "common/store/wal_syncer.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"

namespace cxp::store {
namespace {

rocksdb::Slice ToSlice(std::string_view bytes) {
  return rocksdb::Slice(bytes.data(), bytes.size());
}

std::string OperationName(std::string_view operation, const rocksdb::ColumnFamilyHandle* family) {
  std::string name = "RocksStore::";
  name.append(operation);
  if (family != nullptr) name.append("(").append(family->GetName()).append(")");
  return name;
}

// Converts only on failure so the success path builds no strings.
absl::Status Convert(const rocksdb::Status& status, std::string_view operation,
                     const rocksdb::ColumnFamilyHandle* family = nullptr) {
  if (status.ok()) return absl::OkStatus();
  return FromRocksStatus(status, OperationName(operation, family));
}

absl::Status FilesystemError(std::string_view operation, const std::string& path,
                             const std::error_code& error) {
  std::string message = OperationName(operation, nullptr);
  message.append(": ").append(path).append(": ").append(error.message());
  return absl::InternalError(message);
}

rocksdb::Options MakeOptions(const RocksStoreOptions& store_options) {
  rocksdb::Options options;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(store_options.block_cache_bytes);
  // Point lookups (Get by id) dominate; a bloom filter skips SSTs without the key.
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  // A column family that receives little data never fills its memtable and
  // would keep every WAL file since its first write alive (hundreds of MB and
  // a slow replay on restart); past this size RocksDB flushes it instead.
  options.max_total_wal_size = uint64_t{256} << 20;
  if (store_options.tune_options) store_options.tune_options(options);
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // A user-space WAL buffer would be lost on kill -9 even for acknowledged writes.
  options.manual_wal_flush = false;
  return options;
}

// "default" first, then the requested families, then any others on disk.
absl::StatusOr<std::vector<std::string>> FamiliesToOpen(const RocksStoreOptions& store_options,
                                                        const rocksdb::Options& options) {
  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName};
  auto add_unique = [&names](const std::string& name) {
    for (const std::string& existing : names) {
      if (existing == name) return;
    }
    names.push_back(name);
  };
  for (const std::string& name : store_options.column_families) {
    if (name.empty())
      return absl::InvalidArgumentError("RocksStore::Open: empty column family name");
    add_unique(name);
  }
  std::error_code error;
  if (std::filesystem::exists(std::filesystem::path(store_options.path) / "CURRENT", error)) {
    std::vector<std::string> on_disk;
    RETURN_IF_ERROR(
        Convert(rocksdb::DB::ListColumnFamilies(options, store_options.path, &on_disk), "Open"));
    for (const std::string& name : on_disk) add_unique(name);
  } else if (error) {
    return FilesystemError("Open", store_options.path, error);
  }
  return names;
}

rocksdb::ReadOptions ReadOptionsFor(ReadTier tier) {
  rocksdb::ReadOptions options;
  if (tier == ReadTier::kMemoryOnly) options.read_tier = rocksdb::kBlockCacheTier;
  return options;
}

// Owns the bound strings an iterator's ReadOptions point to; freed by the
// iterator's cleanup hook so bounds live exactly as long as the iterator.
struct IterateBounds {
  std::string lower;
  std::string upper;
  rocksdb::Slice lower_slice;
  rocksdb::Slice upper_slice;
};

void DeleteIterateBounds(void* bounds, void* /*unused*/) {
  delete static_cast<IterateBounds*>(bounds);
}

}  // namespace

RocksStore::Snapshot::Snapshot(Snapshot&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), snapshot_(std::exchange(other.snapshot_, nullptr)) {}

RocksStore::Snapshot& RocksStore::Snapshot::operator=(Snapshot&& other) noexcept {
  if (this != &other) {
    Release();
    db_ = std::exchange(other.db_, nullptr);
    snapshot_ = std::exchange(other.snapshot_, nullptr);
  }
  return *this;
}

RocksStore::Snapshot::~Snapshot() { Release(); }

void RocksStore::Snapshot::Release() {
  if (db_ != nullptr && snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
  db_ = nullptr;
  snapshot_ = nullptr;
}

RocksStore::IterateOptions RocksStore::IterateOptions::Prefix(std::string_view prefix,
                                                              const Snapshot* snapshot) {
  IterateOptions options;
  options.lower_bound = std::string(prefix);
  options.upper_bound = PrefixSuccessor(prefix);
  options.snapshot = snapshot;
  return options;
}

absl::StatusOr<std::unique_ptr<RocksStore>> RocksStore::Open(
    const RocksStoreOptions& store_options) {
  if (store_options.path.empty()) return absl::InvalidArgumentError("RocksStore::Open: empty path");
  std::error_code error;
  std::filesystem::create_directories(store_options.path, error);
  if (error) return FilesystemError("Open", store_options.path, error);

  rocksdb::Options options = MakeOptions(store_options);
  ASSIGN_OR_RETURN(std::vector<std::string> names, FamiliesToOpen(store_options, options));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.reserve(names.size());
  for (const std::string& name : names) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  RETURN_IF_ERROR(Convert(rocksdb::DB::Open(rocksdb::DBOptions(options), store_options.path,
                                            descriptors, &handles, &raw_db),
                          "Open"));
  return std::unique_ptr<RocksStore>(new RocksStore(store_options.path, store_options.sync_writes,
                                                    std::unique_ptr<rocksdb::DB>(raw_db),
                                                    std::move(handles)));
}

RocksStore::RocksStore(std::string path, bool sync_writes, std::unique_ptr<rocksdb::DB> db,
                       std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : path_(std::move(path)), db_(std::move(db)), handles_(std::move(handles)) {
  write_options_.sync = sync_writes;
  write_options_.disableWAL = false;
  unsynced_write_options_.sync = false;
  unsynced_write_options_.disableWAL = false;
  if (sync_writes) syncer_ = std::make_unique<WalSyncer>(db_.get(), handles_);
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    families_.emplace(handle->GetName(), handle);
    if (handle->GetName() == rocksdb::kDefaultColumnFamilyName) default_family_ = handle;
  }
}

RocksStore::~RocksStore() { CloseImpl(/*force=*/true).IgnoreError(); }

absl::StatusOr<rocksdb::ColumnFamilyHandle*> RocksStore::ColumnFamily(std::string_view name) const {
  auto it = families_.find(name);
  if (it == families_.end()) {
    std::string message = "RocksStore::ColumnFamily: no open column family named \"";
    message.append(name).append("\"");
    return absl::NotFoundError(message);
  }
  return it->second;
}

std::vector<std::string> RocksStore::ColumnFamilyNames() const {
  std::vector<std::string> names;
  names.reserve(families_.size());
  for (const auto& [name, handle] : families_) names.push_back(name);
  return names;
}

absl::Status RocksStore::CheckUsable(const rocksdb::ColumnFamilyHandle* family) const {
  if (db_ == nullptr) return absl::FailedPreconditionError("RocksStore: store is closed");
  if (family == nullptr) return absl::InvalidArgumentError("RocksStore: null column family");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> RocksStore::Get(rocksdb::ColumnFamilyHandle* family,
                                                           std::string_view key,
                                                           const Snapshot* snapshot,
                                                           ReadTier tier) const {
  RETURN_IF_ERROR(CheckUsable(family));
  rocksdb::ReadOptions read_options = ReadOptionsFor(tier);
  if (snapshot != nullptr) read_options.snapshot = snapshot->get();
  std::string value;
  rocksdb::Status status = db_->Get(read_options, family, ToSlice(key), &value);
  if (status.IsNotFound()) return std::nullopt;
  if (status.IsIncomplete() && tier == ReadTier::kMemoryOnly) {
    return WouldBlock(OperationName("Get", family));
  }
  RETURN_IF_ERROR(Convert(status, "Get", family));
  return value;
}

absl::Status RocksStore::MultiGet(const std::vector<rocksdb::ColumnFamilyHandle*>& families,
                                  const std::vector<rocksdb::Slice>& keys,
                                  rocksdb::PinnableSlice* values, bool* found,
                                  ReadTier tier) const {
  if (families.size() != keys.size()) {
    return absl::InvalidArgumentError("RocksStore::MultiGet: families and keys differ in number");
  }
  if (tier == ReadTier::kMemoryOnly) {
    // RocksDB 7.8's MultiGet reads data blocks from files despite
    // kBlockCacheTier (and skips caching them); Get honours it.
    for (size_t i = 0; i < keys.size(); ++i) {
      RETURN_IF_ERROR(CheckUsable(families[i]));
      const rocksdb::Status status =
          db_->Get(ReadOptionsFor(tier), families[i], keys[i], &values[i]);
      found[i] = status.ok();
      if (status.IsIncomplete()) return WouldBlock(OperationName("MultiGet", families[i]));
      if (!status.ok() && !status.IsNotFound()) return Convert(status, "MultiGet", families[i]);
    }
    return absl::OkStatus();
  }
  for (const rocksdb::ColumnFamilyHandle* family : families) RETURN_IF_ERROR(CheckUsable(family));
  std::vector<rocksdb::Status> statuses(keys.size());
  // MultiGet takes non-const handle and key arrays but does not change them.
  db_->MultiGet(rocksdb::ReadOptions(), keys.size(),
                const_cast<rocksdb::ColumnFamilyHandle**>(families.data()), keys.data(), values,
                statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    found[i] = statuses[i].ok();
    if (!statuses[i].ok() && !statuses[i].IsNotFound()) {
      return Convert(statuses[i], "MultiGet", families[i]);
    }
  }
  return absl::OkStatus();
}

absl::Status RocksStore::Put(rocksdb::ColumnFamilyHandle* family, std::string_view key,
                             std::string_view value) {
  RETURN_IF_ERROR(CheckUsable(family));
  return Convert(db_->Put(write_options_, family, ToSlice(key), ToSlice(value)), "Put", family);
}

absl::Status RocksStore::Delete(rocksdb::ColumnFamilyHandle* family, std::string_view key) {
  RETURN_IF_ERROR(CheckUsable(family));
  return Convert(db_->Delete(write_options_, family, ToSlice(key)), "Delete", family);
}

absl::Status RocksStore::Write(rocksdb::WriteBatch* batch) {
  RETURN_IF_ERROR(CheckUsable(default_family_));
  if (batch == nullptr) return absl::InvalidArgumentError("RocksStore::Write: null batch");
  return Convert(db_->Write(write_options_, batch), "Write");
}

absl::Status RocksStore::CompactFully(rocksdb::ColumnFamilyHandle* family) {
  RETURN_IF_ERROR(CheckUsable(family));
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return Convert(db_->CompactRange(options, family, nullptr, nullptr), "CompactFully", family);
}

absl::Status RocksStore::WriteUnsynced(rocksdb::WriteBatch* batch) {
  RETURN_IF_ERROR(CheckUsable(default_family_));
  if (batch == nullptr) return absl::InvalidArgumentError("RocksStore::WriteUnsynced: null batch");
  return Convert(db_->Write(unsynced_write_options_, batch), "WriteUnsynced");
}

absl::StatusOr<uint64_t> RocksStore::EnqueueWrite(rocksdb::WriteBatch&& batch) {
  RETURN_IF_ERROR(CheckUsable(default_family_));
  if (syncer_ != nullptr) return syncer_->Enqueue(std::move(batch));
  rocksdb::WriteBatch taken(std::move(batch));
  batch.Clear();  // a moved-from batch has no header
  RETURN_IF_ERROR(Convert(db_->Write(unsynced_write_options_, &taken), "EnqueueWrite"));
  return unsynced_tickets_.fetch_add(1) + 1;
}

uint64_t RocksStore::AppliedTicket() const {
  return syncer_ != nullptr ? syncer_->applied() : unsynced_tickets_.load();
}

void RocksStore::WaitApplied(uint64_t ticket) const {
  if (syncer_ != nullptr) syncer_->WaitApplied(ticket);
}

void RocksStore::AfterDurable(absl::AnyInvocable<void(absl::Status) &&> done) {
  if (syncer_ != nullptr) {
    syncer_->AfterDurable(std::move(done));
    return;
  }
  std::move(done)(db_ != nullptr ? absl::OkStatus()
                                 : absl::FailedPreconditionError("RocksStore: store is closed"));
}

absl::StatusOr<std::unique_ptr<rocksdb::Iterator>> RocksStore::NewIterator(
    rocksdb::ColumnFamilyHandle* family, const IterateOptions& options) const {
  RETURN_IF_ERROR(CheckUsable(family));
  auto bounds = std::make_unique<IterateBounds>();
  bounds->lower = options.lower_bound;
  bounds->upper = options.upper_bound;
  bounds->lower_slice = rocksdb::Slice(bounds->lower);
  bounds->upper_slice = rocksdb::Slice(bounds->upper);
  rocksdb::ReadOptions read_options;
  if (!bounds->lower.empty()) read_options.iterate_lower_bound = &bounds->lower_slice;
  if (!bounds->upper.empty()) read_options.iterate_upper_bound = &bounds->upper_slice;
  if (options.snapshot != nullptr) read_options.snapshot = options.snapshot->get();
  std::unique_ptr<rocksdb::Iterator> iterator(db_->NewIterator(read_options, family));
  iterator->RegisterCleanup(&DeleteIterateBounds, bounds.release(), nullptr);
  return iterator;
}

absl::Status RocksStore::ScanPrefix(
    rocksdb::ColumnFamilyHandle* family, std::string_view prefix, size_t limit,
    absl::FunctionRef<bool(std::string_view key, std::string_view value)> visit,
    const Snapshot* snapshot) const {
  if (limit == 0) return CheckUsable(family);
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> iterator,
                   NewIterator(family, IterateOptions::Prefix(prefix, snapshot)));
  size_t visited = 0;
  for (iterator->Seek(ToSlice(prefix)); iterator->Valid(); iterator->Next()) {
    if (!visit(iterator->key().ToStringView(), iterator->value().ToStringView())) break;
    if (++visited == limit) break;
  }
  return Convert(iterator->status(), "ScanPrefix", family);
}

RocksStore::Snapshot RocksStore::GetSnapshot() const {
  if (db_ == nullptr) return Snapshot();
  return Snapshot(db_.get(), db_->GetSnapshot());
}

absl::Status RocksStore::Flush() {
  RETURN_IF_ERROR(CheckUsable(default_family_));
  rocksdb::FlushOptions flush_options;
  flush_options.wait = true;
  return Convert(db_->Flush(flush_options, handles_), "Flush");
}

absl::Status RocksStore::Checkpoint(const std::string& directory) {
  RETURN_IF_ERROR(CheckUsable(default_family_));
  std::filesystem::path target(directory);
  std::error_code error;
  if (target.has_parent_path()) {
    std::filesystem::create_directories(target.parent_path(), error);
    if (error) return FilesystemError("Checkpoint", directory, error);
  }
  rocksdb::Checkpoint* raw_checkpoint = nullptr;
  RETURN_IF_ERROR(Convert(rocksdb::Checkpoint::Create(db_.get(), &raw_checkpoint), "Checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
  return Convert(checkpoint->CreateCheckpoint(directory), "Checkpoint");
}

absl::Status RocksStore::Close() { return CloseImpl(/*force=*/false); }

absl::Status RocksStore::CloseImpl(bool force) {
  if (db_ == nullptr) return absl::OkStatus();
  uint64_t live_snapshots = 0;
  if (!force && db_->GetIntProperty(rocksdb::DB::Properties::kNumSnapshots, &live_snapshots) &&
      live_snapshots > 0) {
    return absl::FailedPreconditionError("RocksStore::Close: " + std::to_string(live_snapshots) +
                                         " snapshot(s) still held; destroy them before closing");
  }
  // Answer every write still waiting for its fsync before the DB goes away.
  if (syncer_ != nullptr) syncer_->Stop();
  // Keep the first failure but finish closing: a half-closed store is worse.
  absl::Status result = Convert(db_->SyncWAL(), "Close");
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    absl::Status destroyed = Convert(db_->DestroyColumnFamilyHandle(handle), "Close");
    if (result.ok()) result = destroyed;
  }
  handles_.clear();
  families_.clear();
  default_family_ = nullptr;
  absl::Status closed = Convert(db_->Close(), "Close");
  if (result.ok()) result = closed;
  db_.reset();
  return result;
}

}  // namespace cxp::store
