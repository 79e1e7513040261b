// RocksStore: the one RocksDB wrapper every CXP service stores its data in.
//
// Contract:
//   * Durability: with `sync_writes` (the default) every Put/Delete/Write is
//     in the fsync'ed WAL before it returns OK; concurrent synced writers are
//     group-committed by RocksDB, so throughput scales with writers. The WAL
//     is never disabled and never buffered in user space, so killing the
//     process at any moment (kill -9) loses no acknowledged write and leaves
//     a store that reopens cleanly; a WriteBatch is applied all-or-nothing,
//     across column families, also across crashes. With sync_writes=false a
//     machine crash (not a process crash) may lose the latest writes.
//   * Group commit without parked threads: WriteUnsynced() applies a batch
//     without waiting for the fsync (EnqueueWrite() not even for the
//     write), and AfterDurable() calls back once it is durable (see
//     wal_syncer.h). Acknowledge such a write to a client only from that
//     callback.
//   * Column families: "default" always exists. Families listed in the
//     options are created if missing; families found on disk but not listed
//     are opened too (RocksDB refuses to open otherwise) and reachable through
//     ColumnFamily(name). Handles are owned by the store and valid until
//     Close(); pass only handles obtained from this store.
//   * Absence is not an error: Get returns std::nullopt for a missing key.
//   * Errors: every RocksDB status is converted by FromRocksStatus (see
//     rocks_status.h) with a message naming the operation and column family.
//     Calls on a closed store return FAILED_PRECONDITION.
//   * Threading: all methods except Close() may be called concurrently from
//     any thread. Close() (and the destructor) must not race any other call,
//     and every iterator and Snapshot obtained from the store must be
//     destroyed before it.
#ifndef CXP_COMMON_STORE_ROCKS_STORE_H_
#define CXP_COMMON_STORE_ROCKS_STORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace cxp::store {

class WalSyncer;

// Where a read may look. kMemoryOnly reads memtables and the block cache and
// answers WouldBlock (common/status/would_block.h) instead of reading a file,
// so it may run on a thread that must not block.
enum class ReadTier { kAny, kMemoryOnly };

struct RocksStoreOptions {
  // Database directory; created (with missing parents) if absent.
  std::string path;
  // Column families to open, created if missing. "default" is implied.
  std::vector<std::string> column_families;
  // fsync the WAL before each write returns (see the durability contract).
  bool sync_writes = true;
  // LRU block cache shared by all column families.
  size_t block_cache_bytes = size_t{64} << 20;
  // Runs after CXP's defaults, before opening, for advanced tuning (memtable
  // sizes, compaction, compression, ...). The same Options supply every
  // column family's options. Afterwards the store re-imposes
  // create_if_missing, create_missing_column_families and
  // manual_wal_flush=false; the WAL itself is a per-write option the hook
  // cannot turn off.
  std::function<void(rocksdb::Options&)> tune_options;
};

class RocksStore {
 public:
  // ScanPrefix limit meaning "visit every matching key".
  static constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();

  // A consistent read view, released on destruction. Movable; an empty
  // (default-constructed) Snapshot means "read the latest data".
  class Snapshot {
   public:
    Snapshot() = default;
    Snapshot(Snapshot&& other) noexcept;
    Snapshot& operator=(Snapshot&& other) noexcept;
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;
    ~Snapshot();

    const rocksdb::Snapshot* get() const { return snapshot_; }

   private:
    friend class RocksStore;
    Snapshot(rocksdb::DB* db, const rocksdb::Snapshot* snapshot) : db_(db), snapshot_(snapshot) {}
    void Release();

    rocksdb::DB* db_ = nullptr;
    const rocksdb::Snapshot* snapshot_ = nullptr;
  };

  struct IterateOptions {
    // Inclusive lower / exclusive upper key bound; empty means unbounded.
    // Copied into the iterator, so they need not outlive this struct.
    std::string lower_bound;
    std::string upper_bound;
    // Read view; nullptr reads the latest data. Must outlive the iterator.
    const Snapshot* snapshot = nullptr;

    // Bounds covering exactly the keys that start with `prefix`.
    static IterateOptions Prefix(std::string_view prefix, const Snapshot* snapshot = nullptr);
  };

  static absl::StatusOr<std::unique_ptr<RocksStore>> Open(const RocksStoreOptions& options);

  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;
  ~RocksStore();  // Calls Close(); see the threading contract.

  // NOT_FOUND if no family of that name was opened.
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> ColumnFamily(std::string_view name) const;
  rocksdb::ColumnFamilyHandle* DefaultColumnFamily() const { return default_family_; }
  // Every open family, "default" included, sorted by name.
  std::vector<std::string> ColumnFamilyNames() const;

  absl::StatusOr<std::optional<std::string>> Get(rocksdb::ColumnFamilyHandle* family,
                                                 std::string_view key,
                                                 const Snapshot* snapshot = nullptr,
                                                 ReadTier tier = ReadTier::kAny) const;
  // Reads several keys, possibly of different families, from one consistent
  // view with batched lookups: values[i] gets keys[i] of families[i] (pinned,
  // no copy) and found[i] whether it exists. The spans have equal sizes.
  absl::Status MultiGet(const std::vector<rocksdb::ColumnFamilyHandle*>& families,
                        const std::vector<rocksdb::Slice>& keys, rocksdb::PinnableSlice* values,
                        bool* found, ReadTier tier = ReadTier::kAny) const;
  absl::Status Put(rocksdb::ColumnFamilyHandle* family, std::string_view key,
                   std::string_view value);
  absl::Status Delete(rocksdb::ColumnFamilyHandle* family, std::string_view key);
  // Applies every change in `batch` atomically (across column families).
  absl::Status Write(rocksdb::WriteBatch* batch);
  // Flushes `family` and compacts all of it down to the bottom level, now
  // (blocking; for maintenance, migrations and benchmarks, not for serving).
  absl::Status CompactFully(rocksdb::ColumnFamilyHandle* family);
  // Like Write, but returns once the batch is applied and in the WAL file,
  // before it is fsynced; readers see it at once. Durable only when an
  // AfterDurable() made after this call reports OK.
  absl::Status WriteUnsynced(rocksdb::WriteBatch* batch);
  // Calls `done` once every write that returned before this call, and every
  // batch enqueued before it, is durable (at once, on this thread, with
  // sync_writes=false). Never blocks; `done` runs on the syncer's answer
  // thread and must not block either.
  void AfterDurable(absl::AnyInvocable<void(absl::Status) &&> done);
  // Group commit for callers that decide under their own lock: takes `batch`
  // (left empty) and returns at once with its ticket; the syncer thread
  // applies it after every batch enqueued before it, merged with the others
  // waiting, before the fsync of its round (see wal_syncer.h). Readers see
  // it once AppliedTicket() reaches the ticket; an AfterDurable() made
  // after this call answers once it is durable, or with its write's error.
  // With sync_writes=false the batch is written at once, on this thread,
  // and a write error is returned here. Enqueue under the lock that orders
  // your decisions.
  absl::StatusOr<uint64_t> EnqueueWrite(rocksdb::WriteBatch&& batch);
  // The last enqueued batch applied (0 before the first).
  uint64_t AppliedTicket() const;
  // Blocks until AppliedTicket() reaches `ticket` (at once without a
  // syncer, or once the store is closing): for a read that must see what
  // was enqueued before it.
  void WaitApplied(uint64_t ticket) const;

  // The iterator starts unpositioned: call Seek/SeekToFirst. Check its
  // status() after iteration; convert it with FromRocksStatus.
  absl::StatusOr<std::unique_ptr<rocksdb::Iterator>> NewIterator(
      rocksdb::ColumnFamilyHandle* family, const IterateOptions& options) const;

  // Calls visit(key, value) in key order for up to `limit` keys starting with
  // `prefix`, stopping early when visit returns false. The views are valid
  // only during the call.
  absl::Status ScanPrefix(
      rocksdb::ColumnFamilyHandle* family, std::string_view prefix, size_t limit,
      absl::FunctionRef<bool(std::string_view key, std::string_view value)> visit,
      const Snapshot* snapshot = nullptr) const;

  // Empty Snapshot if the store is closed.
  Snapshot GetSnapshot() const;

  // Flushes every column family's memtable to SST files and waits.
  absl::Status Flush();

  // Writes a consistent, openable copy of the store to `directory` (hard
  // links where possible), e.g. for backups. `directory` must not exist; its
  // parents are created.
  absl::Status Checkpoint(const std::string& directory);

  // Syncs the WAL, releases the column family handles and closes the DB.
  // Idempotent. FAILED_PRECONDITION (store left open) while Snapshots are
  // outstanding.
  absl::Status Close();

  const std::string& path() const { return path_; }
  // Escape hatch for advanced callers (properties, manual compaction).
  // nullptr once closed.
  rocksdb::DB* db() const { return db_.get(); }

 private:
  RocksStore(std::string path, bool sync_writes, std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles);

  absl::Status CheckUsable(const rocksdb::ColumnFamilyHandle* family) const;
  absl::Status CloseImpl(bool force);

  std::string path_;
  rocksdb::WriteOptions write_options_;
  rocksdb::WriteOptions unsynced_write_options_;
  std::unique_ptr<WalSyncer> syncer_;  // null with sync_writes=false
  // EnqueueWrite tickets without a syncer (written at once).
  std::atomic<uint64_t> unsynced_tickets_{0};
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; destroyed in Close
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> families_;
  rocksdb::ColumnFamilyHandle* default_family_ = nullptr;
};

}  // namespace cxp::store

#endif  // CXP_COMMON_STORE_ROCKS_STORE_H_
