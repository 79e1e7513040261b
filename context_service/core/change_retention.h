// ChangeRetention — purges change-log events older than the retention
// period, continuously, in the background.
//
// A thread wakes every `interval`, deletes events committed before
// clock() - retention in batches of `batch_rows` (ContextStore::
// PurgeChangesBefore) until none is left, and sleeps again. Requests never
// wait for it: each batch is one RocksDB write like any other. Watchers
// whose position was purged get OUT_OF_RANGE (ChangeFeed).
//
// Threading: the constructor starts the thread, Stop() (or the destructor)
// ends and joins it. Ownership: borrows the store, which must outlive
// Stop(). Errors are logged through `log` and retried next interval.

#ifndef CXP_CONTEXT_SERVICE_CORE_CHANGE_RETENTION_H_
#define CXP_CONTEXT_SERVICE_CORE_CHANGE_RETENTION_H_

#include <cstddef>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "context_service/core/context_store.h"

namespace cxp::context {

struct ChangeRetentionOptions {
  absl::Duration retention = absl::Hours(24 * 7);
  absl::Duration interval = absl::Minutes(1);
  size_t batch_rows = 10000;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  std::function<void(const std::string&)> log = [](const std::string&) {};
};

class ChangeRetention {
 public:
  ChangeRetention(const ContextStore& store, ChangeRetentionOptions options);
  ChangeRetention(const ChangeRetention&) = delete;
  ChangeRetention& operator=(const ChangeRetention&) = delete;
  ~ChangeRetention();  // Stop()

  // One full pass now, on the caller's thread (tests, and the thread's
  // loop). Returns how many events it purged.
  absl::StatusOr<size_t> PurgeOnce() const;

  void Stop();

 private:
  void Loop();

  const ContextStore& store_;
  const ChangeRetentionOptions options_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_CHANGE_RETENTION_H_
