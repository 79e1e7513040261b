// WalSyncer — group commit that does not hold the writer's thread for the
// write or the fsync.
//
// Two ways in:
//   * Writers apply their WriteBatch without sync (it reaches the WAL file
//     with write(2), and readers see it at once), then ask AfterDurable() to
//     be told when it is on disk.
//   * Or they Enqueue() the batch: the sync thread applies it, after every
//     batch enqueued before it and merged with the others waiting, so a
//     caller that decides under its own lock can enqueue there (keeping the
//     order of its decisions) and never waits for memtable inserts or the
//     WAL append.
// One background thread takes every batch and request pending at that
// moment, applies the batches as one write, fsyncs the WAL once
// (DB::SyncWAL), and hands the requests to the answer thread; what arrives
// meanwhile waits for the next round, so the number of writes sharing one
// fsync grows with load instead of with the number of blocked threads.
//
// Guarantee: `done(OkStatus())` runs only after every write that returned
// before the AfterDurable() call, and every batch enqueued before it, is in
// the fsynced WAL. If a round's merged write fails, every request of that
// round gets the error (the write's callers cannot be told apart). A crash
// loses at most a suffix of the WAL (point-in-time recovery), so an unsynced
// write is never kept while an earlier one is lost. Readers may see a write
// up to one fsync before it is durable; its writer has not been acknowledged
// then. An enqueued batch is visible once applied() reaches its ticket.
//
// Threading: Enqueue() and AfterDurable() are thread-safe and never block on
// I/O. Callbacks run, in the order their requests were made, on the answer
// thread (or the caller's, once stopped) and must not block. The answer
// thread is not the fsync thread, so the next round starts while a round's
// callbacks (which finish RPCs: real work under load) still run. Stop()
// writes and syncs what is pending, answers it, then joins both threads; the
// DB and the column family handles must outlive it.

#ifndef CXP_COMMON_STORE_WAL_SYNCER_H_
#define CXP_COMMON_STORE_WAL_SYNCER_H_

#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace cxp::store {

class WalSyncer {
 public:
  using Callback = absl::AnyInvocable<void(absl::Status) &&>;
  // Enqueued batches count from 1; 0 means none.
  using Ticket = uint64_t;

  // Borrows `db` and `families` (every handle an enqueued batch may name),
  // which must outlive Stop().
  WalSyncer(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& families);
  WalSyncer(const WalSyncer&) = delete;
  WalSyncer& operator=(const WalSyncer&) = delete;
  ~WalSyncer();  // Stop()

  // Takes `batch` (left empty) to be applied in the next round, after every
  // batch enqueued before it. FAILED_PRECONDITION after Stop(), and nothing
  // is written.
  absl::StatusOr<Ticket> Enqueue(rocksdb::WriteBatch&& batch);
  // The last ticket whose batch (and every one before it) was applied,
  // successfully or not.
  Ticket applied() const;
  // Blocks until applied() reaches `ticket` (or Stop() finished). For
  // readers that must see what was enqueued before they read; not for
  // threads that must not block.
  void WaitApplied(Ticket ticket) const;

  // Calls `done` once everything written or enqueued before this call is
  // durable, with the write's or the fsync's error if one failed. After
  // Stop(), answers FAILED_PRECONDITION on the calling thread.
  void AfterDurable(Callback done);

  // Writes and syncs once more for what is pending, answers it, joins the
  // threads. Idempotent.
  void Stop();

  // fsyncs done so far (for tests and metrics).
  uint64_t sync_count() const;

 private:
  struct Queued {
    Ticket ticket;
    rocksdb::WriteBatch batch;
  };
  // A synced round of callbacks waiting to be called with its status.
  struct Answers {
    std::vector<Callback> callbacks;
    absl::Status status;
  };
  void SyncLoop();
  void AnswerLoop();
  // Applies `batches` as one write (merged when there are several).
  absl::Status Apply(std::vector<Queued>& batches);

  rocksdb::DB* const db_;
  // By id: WriteBatch records name their column family by id.
  absl::flat_hash_map<uint32_t, rocksdb::ColumnFamilyHandle*> families_;
  mutable absl::Mutex mu_;
  std::vector<Queued> queued_ ABSL_GUARDED_BY(mu_);
  std::vector<Callback> pending_ ABSL_GUARDED_BY(mu_);
  std::deque<Answers> answers_ ABSL_GUARDED_BY(mu_);
  Ticket last_enqueued_ ABSL_GUARDED_BY(mu_) = 0;
  Ticket applied_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool sync_done_ ABSL_GUARDED_BY(mu_) = false;  // SyncLoop returned
  uint64_t sync_count_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread sync_thread_;
  std::thread answer_thread_;
};

}  // namespace cxp::store

#endif  // CXP_COMMON_STORE_WAL_SYNCER_H_
