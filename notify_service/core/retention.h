// NotifyRetention — what notify_service forgets on purpose, in the
// background: terminal notifications (DELIVERED, FAILED, DEAD_LETTERED,
// CANCELLED, EXPIRED, REPLACED) last changed more than `retention` ago,
// with every row that finds them (NotifyCore::PurgeTerminalBefore), and
// trigger last-sent rows that no cooldown can need any more: older than
// both the retention and their rule's cooldown (all rows of a deleted
// rule older than the retention).
//
// A thread wakes every `interval` and runs a pass to the end, tenant by
// tenant, in batches of at most `batch_rows` rows examined: each batch is
// one atomic write (a kill -9 leaves every notification whole or gone) and
// holds only the locks of what it deletes, so requests barely wait on it.
// Non-terminal notifications are never deleted, and a DELIVERED one whose
// timeline append is pending stays until it is appended.
//
// The retention should exceed the idempotency-key TTL (a purged key no
// longer deduplicates) and the longest a receipt may come late (a receipt
// for a purged notification is NOT_FOUND).
//
// Threading: the constructor starts the thread, Stop() (or the destructor)
// ends and joins it, a pass in progress stopping after its batch; PurgeOnce
// may also be called from any thread (before Stop()).
// Ownership: borrows the store and the core, which must outlive Stop().
// Errors are logged through `log` and retried next interval.

#ifndef CXP_NOTIFY_SERVICE_CORE_RETENTION_H_
#define CXP_NOTIFY_SERVICE_CORE_RETENTION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/periodic_worker.h"
#include "notify_service/core/notify_core.h"
#include "notify_service/core/notify_store.h"

namespace cxp::notify {

struct NotifyRetentionOptions {
  // Must be positive (zero, "keep forever", is the caller's: start none).
  absl::Duration retention = absl::Hours(24 * 90);
  absl::Duration interval = absl::Hours(1);
  size_t batch_rows = 500;  // rows examined per batch (one write each)
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  std::function<void(const std::string&)> log = [](const std::string&) {};
};

class NotifyRetention {
 public:
  // The first pass runs one interval after start.
  NotifyRetention(const NotifyStore& store, NotifyCore& core, NotifyRetentionOptions options);
  NotifyRetention(const NotifyRetention&) = delete;
  NotifyRetention& operator=(const NotifyRetention&) = delete;
  ~NotifyRetention();  // Stop()

  struct Purged {
    int64_t notifications = 0;
    int64_t last_sent_rows = 0;
  };
  // One full pass over every tenant, now, on the caller's thread.
  absl::StatusOr<Purged> PurgeOnce() const;

  // A pass in progress ends after its current batch.
  void Stop() {
    stopping_ = true;
    worker_.Stop();
  }

 private:
  absl::StatusOr<int64_t> PurgeLastSent(const std::string& tenant, absl::Time now) const;
  void RunOnce();

  const NotifyStore& store_;
  NotifyCore& core_;
  const NotifyRetentionOptions options_;
  std::atomic<bool> stopping_ = false;
  server::PeriodicWorker worker_;  // last: starts once the rest is set
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_RETENTION_H_
