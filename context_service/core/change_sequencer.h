// ChangeSequencer — hands out change-log sequence numbers and says up to
// which one every event is durable, so watchers never skip an event.
//
// Writers take numbers with Allocate() before they commit and report them
// with Complete() once the commit is durable (or has failed: the numbers
// are then gaps, which the change log allows). Numbers are strictly
// increasing in allocation order, but commits finish out of order; the
// watermark is the highest number below which every allocated number is
// complete, so a watcher that reads up to the watermark and then resumes
// above it cannot miss a slower, smaller-numbered commit. One sequence
// serves all tenants: per tenant it is then strictly increasing, with gaps.
//
// Waiters: AwaitAbove(n, callback) registers `callback` for when the
// watermark passes n, unless it already has (kReady) or the sequencer is
// stopped (kStopped); it never calls the callback itself, so the caller may
// hold its own lock. Callbacks run on the thread that advanced the
// watermark (a WAL syncer thread), outside the sequencer's lock, and must
// not block; Stop() answers every waiter with false.
//
// Threading: thread-safe.

#ifndef CXP_CONTEXT_SERVICE_CORE_CHANGE_SEQUENCER_H_
#define CXP_CONTEXT_SERVICE_CORE_CHANGE_SEQUENCER_H_

#include <cstdint>
#include <map>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace cxp::context {

class ChangeSequencer {
 public:
  // `last_used` is the highest number already in the log (or purged).
  explicit ChangeSequencer(int64_t last_used);
  ChangeSequencer(const ChangeSequencer&) = delete;
  ChangeSequencer& operator=(const ChangeSequencer&) = delete;

  // Reserves `count` >= 1 consecutive numbers; returns the first.
  int64_t Allocate(int count);
  // Reports the numbers [first, first + count) committed durably or failed.
  void Complete(int64_t first, int count);

  // Every number <= watermark() is complete.
  int64_t watermark() const;

  // `ready(true)` once watermark() > after; `ready(false)` if stopped first.
  using Callback = absl::AnyInvocable<void(bool ready) &&>;
  struct Await {
    enum Outcome { kWaiting, kReady, kStopped } outcome;
    uint64_t handle = 0;  // for Cancel(), when kWaiting
  };
  Await AwaitAbove(int64_t after, Callback ready);
  // Drops a waiter that has not been called; false if it already was.
  bool Cancel(uint64_t handle);
  // Answers every waiter with false; later AwaitAbove calls too.
  void Stop();

 private:
  struct Waiter {
    int64_t after;
    Callback ready;
  };
  // Moves the waiters the watermark now satisfies into `due`.
  void TakeDue(std::map<uint64_t, Waiter>& due) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t WatermarkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  int64_t last_allocated_ ABSL_GUARDED_BY(mu_);
  std::set<int64_t> in_flight_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  uint64_t next_handle_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_CHANGE_SEQUENCER_H_
