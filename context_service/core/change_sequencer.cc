#include "context_service/core/change_sequencer.h"

#include <utility>

namespace cxp::context {

ChangeSequencer::ChangeSequencer(int64_t last_used) : last_allocated_(last_used) {}

int64_t ChangeSequencer::Allocate(int count) {
  absl::MutexLock lock(&mu_);
  const int64_t first = last_allocated_ + 1;
  for (int i = 0; i < count; ++i) in_flight_.insert(first + i);
  last_allocated_ += count;
  return first;
}

void ChangeSequencer::Complete(int64_t first, int count) {
  std::map<uint64_t, Waiter> due;
  {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < count; ++i) in_flight_.erase(first + i);
    TakeDue(due);
  }
  for (auto& [handle, waiter] : due) std::move(waiter.ready)(true);
}

int64_t ChangeSequencer::WatermarkLocked() const {
  return in_flight_.empty() ? last_allocated_ : *in_flight_.begin() - 1;
}

int64_t ChangeSequencer::watermark() const {
  absl::MutexLock lock(&mu_);
  return WatermarkLocked();
}

void ChangeSequencer::TakeDue(std::map<uint64_t, Waiter>& due) {
  const int64_t watermark = WatermarkLocked();
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->second.after < watermark) {
      due.insert(waiters_.extract(it++));
    } else {
      ++it;
    }
  }
}

ChangeSequencer::Await ChangeSequencer::AwaitAbove(int64_t after, Callback ready) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return {Await::kStopped};
  if (WatermarkLocked() > after) return {Await::kReady};
  const uint64_t handle = next_handle_++;
  waiters_.emplace(handle, Waiter{after, std::move(ready)});
  return {Await::kWaiting, handle};
}

bool ChangeSequencer::Cancel(uint64_t handle) {
  absl::MutexLock lock(&mu_);
  return waiters_.erase(handle) > 0;
}

void ChangeSequencer::Stop() {
  std::map<uint64_t, Waiter> all;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    all.swap(waiters_);
  }
  for (auto& [handle, waiter] : all) std::move(waiter.ready)(false);
}

}  // namespace cxp::context
