#include "common/store/commit_queue.h"

#include <string>
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

CommitQueue::CommitQueue(RocksStore& store) : store_(store) {
  for (const std::string& name : store.ColumnFamilyNames()) {
    absl::StatusOr<rocksdb::ColumnFamilyHandle*> handle = store.ColumnFamily(name);
    if (handle.ok()) families_[(*handle)->GetID()] = *handle;
  }
}

CommitQueue::Ticket CommitQueue::Enqueue(rocksdb::WriteBatch&& batch) {
  Pending pending{0, std::move(batch)};
  // A moved-from WriteBatch has no header; Clear() makes it a valid empty one.
  batch.Clear();
  absl::MutexLock lock(&mu_);
  pending.ticket = ++last_enqueued_;
  queued_.push_back(std::move(pending));
  return last_enqueued_;
}

absl::Status CommitQueue::Wait(Ticket ticket) {
  absl::MutexLock lock(&mu_);
  while (applied_ < ticket) {
    if (!writing_) {
      WriteUntil(ticket);
      continue;
    }
    // Woken only when this ticket is written or the leader stepped down
    // (absl::Mutex evaluates the condition for us on unlock).
    struct Args {
      const CommitQueue* queue;
      Ticket ticket;
    } args{this, ticket};
    mu_.Await(absl::Condition(
        +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return a->queue->applied_ >= a->ticket || !a->queue->writing_;
        },
        &args));
  }
  for (const Failure& failure : failures_) {
    if (failure.first <= ticket && ticket <= failure.last) return failure.status;
  }
  return absl::OkStatus();
}

absl::Status CommitQueue::Flush() {
  Ticket first;
  Ticket last;
  {
    absl::MutexLock lock(&mu_);
    first = applied_ + 1;
    last = last_enqueued_;
  }
  absl::Status status = Wait(last);
  absl::MutexLock lock(&mu_);
  for (const Failure& failure : failures_) {
    if (failure.first <= last && first <= failure.last) return failure.status;
  }
  return status;
}

CommitQueue::Ticket CommitQueue::applied() const {
  absl::MutexLock lock(&mu_);
  return applied_;
}

void CommitQueue::WriteUntil(Ticket ticket) {
  writing_ = true;
  while (applied_ < ticket) {
    std::deque<Pending> group;
    size_t bytes = 0;
    while (!queued_.empty() && (group.empty() || bytes < kMaxMergedBytes)) {
      bytes += queued_.front().batch.GetDataSize();
      group.push_back(std::move(queued_.front()));
      queued_.pop_front();
    }
    mu_.Unlock();
    absl::Status status = WriteGroup(group);
    mu_.Lock();
    applied_ = group.back().ticket;
    if (!status.ok()) {
      failures_.push_back(Failure{group.front().ticket, group.back().ticket, std::move(status)});
    }
  }
  writing_ = false;
}

absl::Status CommitQueue::WriteGroup(std::deque<Pending>& group) {
  if (group.size() == 1) return store_.WriteUnsynced(&group.front().batch);
  // The family handles die with the store: do not merge after Close().
  if (store_.db() == nullptr) return absl::FailedPreconditionError("RocksStore: store is closed");
  size_t bytes = 0;
  for (const Pending& pending : group) bytes += pending.batch.GetDataSize();
  rocksdb::WriteBatch merged(bytes);
  MergingHandler handler(merged, families_);
  for (Pending& pending : group) {
    if (rocksdb::Status status = pending.batch.Iterate(&handler); !status.ok()) {
      return FromRocksStatus(status, "merge batches for one write");
    }
  }
  return store_.WriteUnsynced(&merged);
}

}  // namespace cxp::store
