#include "common/store/wal_syncer.h"

#include <pthread.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/store/rocks_status.h"

namespace cxp::store {
namespace {

// Copies the records of the batches it iterates into one batch. WriteBatch
// records name their column family by id; `families` maps it back.
class MergingHandler : public rocksdb::WriteBatch::Handler {
 public:
  MergingHandler(rocksdb::WriteBatch& merged,
                 const absl::flat_hash_map<uint32_t, rocksdb::ColumnFamilyHandle*>& families)
      : merged_(merged), families_(families) {}

  rocksdb::Status PutCF(uint32_t family, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    rocksdb::ColumnFamilyHandle* handle = Family(family);
    return handle == nullptr ? UnknownFamily(family) : merged_.Put(handle, key, value);
  }
  rocksdb::Status DeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    rocksdb::ColumnFamilyHandle* handle = Family(family);
    return handle == nullptr ? UnknownFamily(family) : merged_.Delete(handle, key);
  }
  rocksdb::Status SingleDeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    rocksdb::ColumnFamilyHandle* handle = Family(family);
    return handle == nullptr ? UnknownFamily(family) : merged_.SingleDelete(handle, key);
  }
  rocksdb::Status DeleteRangeCF(uint32_t family, const rocksdb::Slice& begin,
                                const rocksdb::Slice& end) override {
    rocksdb::ColumnFamilyHandle* handle = Family(family);
    return handle == nullptr ? UnknownFamily(family) : merged_.DeleteRange(handle, begin, end);
  }
  rocksdb::Status MergeCF(uint32_t family, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
    rocksdb::ColumnFamilyHandle* handle = Family(family);
    return handle == nullptr ? UnknownFamily(family) : merged_.Merge(handle, key, value);
  }
  void LogData(const rocksdb::Slice& blob) override { (void)merged_.PutLogData(blob); }

 private:
  rocksdb::ColumnFamilyHandle* Family(uint32_t id) const {
    auto it = families_.find(id);
    return it == families_.end() ? nullptr : it->second;
  }
  static rocksdb::Status UnknownFamily(uint32_t id) {
    return rocksdb::Status::InvalidArgument(
        absl::StrCat("batch names column family id ", id, ", which the store did not open"));
  }

  rocksdb::WriteBatch& merged_;
  const absl::flat_hash_map<uint32_t, rocksdb::ColumnFamilyHandle*>& families_;
};

}  // namespace

WalSyncer::WalSyncer(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& families)
    : db_(db) {
  for (rocksdb::ColumnFamilyHandle* family : families) families_[family->GetID()] = family;
  // Started last: the loops read the members above.
  sync_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "cxp-walsync");  // for top -H, perf
    SyncLoop();
  });
  answer_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "cxp-walack");
    AnswerLoop();
  });
}

WalSyncer::~WalSyncer() { Stop(); }

absl::StatusOr<WalSyncer::Ticket> WalSyncer::Enqueue(rocksdb::WriteBatch&& batch) {
  Queued queued{0, std::move(batch)};
  // A moved-from WriteBatch has no header; Clear() makes it a valid empty one.
  batch.Clear();
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::FailedPreconditionError("WalSyncer: store is closing");
  queued.ticket = ++last_enqueued_;
  queued_.push_back(std::move(queued));
  return last_enqueued_;
}

WalSyncer::Ticket WalSyncer::applied() const {
  absl::MutexLock lock(&mu_);
  return applied_;
}

void WalSyncer::WaitApplied(Ticket ticket) const {
  struct Args {
    const WalSyncer* syncer;
    Ticket ticket;
  } args{this, ticket};
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return a->syncer->applied_ >= a->ticket || a->syncer->sync_done_;
      },
      &args));
}

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
    stopping_ = true;
  }
  // The sync thread answers what is pending (through the answer thread),
  // then the answer thread drains and ends.
  if (sync_thread_.joinable()) sync_thread_.join();
  if (answer_thread_.joinable()) answer_thread_.join();
}

uint64_t WalSyncer::sync_count() const {
  absl::MutexLock lock(&mu_);
  return sync_count_;
}

void WalSyncer::SyncLoop() {
  while (true) {
    std::vector<Queued> batches;
    std::vector<Callback> round;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WalSyncer* syncer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(syncer->mu_) {
            return syncer->stopping_ || !syncer->pending_.empty() || !syncer->queued_.empty();
          },
          this));
      if (pending_.empty() && queued_.empty()) {  // stopping, nothing left
        sync_done_ = true;
        return;
      }
      batches.swap(queued_);
      round.swap(pending_);
    }
    absl::Status status = batches.empty() ? absl::OkStatus() : Apply(batches);
    if (!batches.empty()) {
      absl::MutexLock lock(&mu_);
      applied_ = batches.back().ticket;
    }
    // Taken after the swap, so this fsync covers every write that returned
    // before any request of this round was made, and the batches above.
    const rocksdb::Status synced = db_->SyncWAL();
    if (status.ok() && !synced.ok()) status = FromRocksStatus(synced, "WalSyncer::SyncWAL");
    absl::MutexLock lock(&mu_);
    ++sync_count_;
    if (!round.empty()) answers_.push_back(Answers{std::move(round), std::move(status)});
  }
}

absl::Status WalSyncer::Apply(std::vector<Queued>& batches) {
  static const rocksdb::WriteOptions kUnsynced = [] {
    rocksdb::WriteOptions options;
    options.sync = false;  // this thread's SyncWAL follows
    options.disableWAL = false;
    return options;
  }();
  if (batches.size() == 1) {
    return FromRocksStatus(db_->Write(kUnsynced, &batches.front().batch), "WalSyncer::Write");
  }
  size_t bytes = 0;
  for (const Queued& queued : batches) bytes += queued.batch.GetDataSize();
  rocksdb::WriteBatch merged(bytes);
  MergingHandler handler(merged, families_);
  for (Queued& queued : batches) {
    if (rocksdb::Status status = queued.batch.Iterate(&handler); !status.ok()) {
      return FromRocksStatus(status, "WalSyncer: merge enqueued batches");
    }
  }
  return FromRocksStatus(db_->Write(kUnsynced, &merged), "WalSyncer::Write");
}

void WalSyncer::AnswerLoop() {
  while (true) {
    Answers answers;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WalSyncer* syncer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(syncer->mu_) {
            return syncer->sync_done_ || !syncer->answers_.empty();
          },
          this));
      if (answers_.empty()) return;  // the sync thread ended and all is answered
      answers = std::move(answers_.front());
      answers_.pop_front();
    }
    for (Callback& done : answers.callbacks) std::move(done)(answers.status);
  }
}

}  // namespace cxp::store
