// WalSyncer — group commit that does not hold the writer's thread for fsync.
//
// Writers apply their WriteBatch without sync (it reaches the WAL file with
// write(2), and readers see it at once), then ask AfterDurable() to be told
// when it is on disk. One background thread takes every request pending at
// that moment, fsyncs the WAL once (DB::SyncWAL), and calls them all back;
// requests arriving meanwhile wait for the next round, so the number of
// writes sharing one fsync grows with load instead of with the number of
// blocked threads.
//
// Guarantee: `done(OkStatus())` runs only after every write that returned
// before the AfterDurable() call is in the fsynced WAL. A crash loses at
// most a suffix of the WAL (point-in-time recovery), so an unsynced write is
// never kept while an earlier one is lost. Readers may see a write up to one
// fsync before it is durable; its writer has not been acknowledged then.
//
// Threading: AfterDurable() is thread-safe and never blocks on I/O. Callbacks
// run on the syncer thread (or the caller's, once stopped) and must not
// block. Stop() syncs and answers what is pending, then joins; the DB must
// outlive it.

#ifndef CXP_COMMON_STORE_WAL_SYNCER_H_
#define CXP_COMMON_STORE_WAL_SYNCER_H_

#include <cstdint>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"

namespace cxp::store {

class WalSyncer {
 public:
  using Callback = absl::AnyInvocable<void(absl::Status) &&>;

  // Borrows `db`, which must outlive Stop().
  explicit WalSyncer(rocksdb::DB* db);
  WalSyncer(const WalSyncer&) = delete;
  WalSyncer& operator=(const WalSyncer&) = delete;
  ~WalSyncer();  // Stop()

  // Calls `done` once everything written before this call is durable, with
  // the fsync's error if it failed. After Stop(), answers FAILED_PRECONDITION
  // on the calling thread.
  void AfterDurable(Callback done);

  // Syncs once more for what is pending, answers it, joins the thread.
  // Idempotent.
  void Stop();

  // fsyncs done so far (for tests and metrics).
  uint64_t sync_count() const;

 private:
  void Loop();

  rocksdb::DB* const db_;
  mutable absl::Mutex mu_;
  std::vector<Callback> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t sync_count_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace cxp::store

#endif  // CXP_COMMON_STORE_WAL_SYNCER_H_
