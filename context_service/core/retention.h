// Retention — what context_service forgets on purpose, continuously, in the
// background: change-log events older than the change retention (WatchChanges
// can replay that far), and each tenant's interactions older than its
// interaction retention (a per-tenant policy; tenants without one keep
// everything).
//
// A thread wakes every `interval` and runs both passes to the end, in
// batches: events through ContextStore::PurgeChangesBefore, interactions
// customer by customer through ContextCore::PurgeInteractionsBefore (one
// batch and one customer lock at a time, so requests never wait on it).
// Watchers whose position was purged get OUT_OF_RANGE (ChangeFeed).
//
// Threading: the constructor starts the thread, Stop() (or the destructor)
// ends and joins it. Ownership: borrows the store and the core, which must
// outlive Stop(). Errors are logged through `log` and retried next interval.

#ifndef CXP_CONTEXT_SERVICE_CORE_RETENTION_H_
#define CXP_CONTEXT_SERVICE_CORE_RETENTION_H_

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/periodic_worker.h"
#include "context_service/core/context_core.h"
#include "context_service/core/context_store.h"

namespace cxp::context {

// How long each tenant keeps interactions.
struct InteractionRetentionPolicy {
  std::map<std::string, absl::Duration> per_tenant;
  std::optional<absl::Duration> others;  // every other tenant; unset: forever

  std::optional<absl::Duration> For(const std::string& tenant) const;
};

// "acme=365d,globex=90d,*=730d" (durations as absl::ParseDuration takes
// them, plus days: "365d"); empty keeps everything. INVALID_ARGUMENT names
// the bad entry.
absl::StatusOr<InteractionRetentionPolicy> ParseInteractionRetention(const std::string& text);

struct RetentionOptions {
  absl::Duration change_retention = absl::Hours(24 * 7);
  InteractionRetentionPolicy interactions;
  absl::Duration interval = absl::Minutes(1);
  size_t batch_rows = 10000;      // change events per batch
  size_t batch_customers = 1000;  // customers examined per interaction batch
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  std::function<void(const std::string&)> log = [](const std::string&) {};
};

class Retention {
 public:
  Retention(const ContextStore& store, ContextCore& core, RetentionOptions options);
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;
  ~Retention();  // Stop()

  // One full pass of each, now, on the caller's thread (tests; the thread's
  // loop). Return how many events / interactions they purged.
  absl::StatusOr<size_t> PurgeChangesOnce() const;
  absl::StatusOr<int64_t> PurgeInteractionsOnce() const;

  void Stop() { worker_.Stop(); }

 private:
  // Both passes, logging what they did.
  void RunOnce();

  const ContextStore& store_;
  ContextCore& core_;
  const RetentionOptions options_;
  server::PeriodicWorker worker_;  // last: starts once the rest is set
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_RETENTION_H_
