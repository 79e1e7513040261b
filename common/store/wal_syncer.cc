#include "common/store/wal_syncer.h"

#include <pthread.h>

#include <utility>

#include "common/store/rocks_status.h"

namespace cxp::store {

WalSyncer::WalSyncer(rocksdb::DB* db)
    : db_(db), thread_([this] {
        pthread_setname_np(pthread_self(), "cxp-walsync");  // for top -H, perf
        Loop();
      }) {}

WalSyncer::~WalSyncer() { Stop(); }

void WalSyncer::AfterDurable(Callback done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      pending_.push_back(std::move(done));
      return;
    }
  }
  std::move(done)(absl::FailedPreconditionError("WalSyncer: store is closing"));
}

void WalSyncer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t WalSyncer::sync_count() const {
  absl::MutexLock lock(&mu_);
  return sync_count_;
}

void WalSyncer::Loop() {
  while (true) {
    std::vector<Callback> round;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WalSyncer* syncer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(syncer->mu_) {
            return syncer->stopping_ || !syncer->pending_.empty();
          },
          this));
      if (pending_.empty()) return;  // stopping, nothing left to answer
      round.swap(pending_);
    }
    // Taken after the swap, so this fsync covers every write that returned
    // before any request of this round was made.
    const rocksdb::Status synced = db_->SyncWAL();
    const absl::Status status =
        synced.ok() ? absl::OkStatus() : FromRocksStatus(synced, "WalSyncer::SyncWAL");
    {
      absl::MutexLock lock(&mu_);
      ++sync_count_;
    }
    for (Callback& done : round) std::move(done)(status);
  }
}

}  // namespace cxp::store
