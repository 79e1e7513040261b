// CommitQueue — applies WriteBatches to a RocksStore in the order they were
// enqueued, merging the batches that wait at a time into one RocksDB write.
//
// Why: a service that decides under a lock (routing_service's tenant lock)
// must apply its decisions' batches in decision order. Writing under that
// lock serialises the memtable inserts and WAL appends with the decisions;
// with a CommitQueue the lock covers only Enqueue() (a move into a vector),
// and the write happens after the lock is released, batched with the other
// waiting decisions (group commit, as RocksDB does among its own writers).
//
// Contract:
//   * Order: batches are applied in Enqueue() order, each completely or not
//     at all (one merged WriteBatch); a batch is never visible before one
//     enqueued earlier. Enqueue under the lock that orders your decisions.
//   * Wait(ticket) returns once the batch with that ticket is applied with
//     RocksStore::WriteUnsynced — readers see it and an AfterDurable() made
//     afterwards covers it — with that write's status. One waiting caller
//     does the write for everything queued (the leader); the others block on
//     a condition variable until it is done, as they would on the lock the
//     write used to hold. Every ticket must be waited for, or a later Wait()
//     or Flush() writes it.
//   * Errors: a failed write fails every batch merged into it (the caller's
//     in-memory state then holds changes the store lacks; fail the process,
//     as a restart recovers from the store). Later batches are still tried.
//   * Threading: all methods are thread-safe. Ownership: borrows the store,
//     which must outlive the queue.

#ifndef CXP_COMMON_STORE_COMMIT_QUEUE_H_
#define CXP_COMMON_STORE_COMMIT_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/store/rocks_store.h"
#include "rocksdb/write_batch.h"

namespace cxp::store {

class CommitQueue {
 public:
  // Tickets count from 1 in Enqueue() order; 0 means "nothing".
  using Ticket = uint64_t;

  // A merged write stops growing at this many bytes of batch data (the
  // batch that crosses it is still included), to bound one write's latency.
  static constexpr size_t kMaxMergedBytes = 4 << 20;

  explicit CommitQueue(RocksStore& store);
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Takes `batch` (left empty) and returns its ticket. Never blocks on I/O.
  Ticket Enqueue(rocksdb::WriteBatch&& batch);
  // Returns once the batch of `ticket` is applied; its write's status.
  absl::Status Wait(Ticket ticket);
  // Waits for every batch enqueued before this call; the first error among
  // them, if any.
  absl::Status Flush();

  // The highest ticket whose batch (and every one before it) is applied.
  Ticket applied() const;

 private:
  struct Pending {
    Ticket ticket;
    rocksdb::WriteBatch batch;
  };
  // Writes the queued batches in groups until `ticket` is applied. Called by
  // the leader with mu_ held; releases it while writing.
  void WriteUntil(Ticket ticket) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One RocksDB write of `group` (merged when it holds several).
  absl::Status WriteGroup(std::deque<Pending>& group);

  RocksStore& store_;
  // Column families by id, for merging batches (WriteBatch records name
  // their family by id).
  absl::flat_hash_map<uint32_t, rocksdb::ColumnFamilyHandle*> families_;

  mutable absl::Mutex mu_;
  std::deque<Pending> queued_ ABSL_GUARDED_BY(mu_);
  Ticket last_enqueued_ ABSL_GUARDED_BY(mu_) = 0;
  Ticket applied_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // Failed writes, by the tickets they held; kept for the queue's life
  // (a failed write should stop the process, so they stay few).
  struct Failure {
    Ticket first;
    Ticket last;
    absl::Status status;
  };
  std::vector<Failure> failures_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cxp::store

#endif  // CXP_COMMON_STORE_COMMIT_QUEUE_H_
