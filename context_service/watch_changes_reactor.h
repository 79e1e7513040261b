// WatchChangesReactor — one WatchChanges stream: reads the watcher's next
// events from the ChangeFeed on the handler pool, frames them one per
// response or in batches (max_batch_size), and writes them through
// server::PagedWriteReactor (one batch of kBatchEvents held at most, the
// next read only after the client took the last, so a slow consumer costs
// bounded memory and never holds writers back); when caught up it waits on
// the ChangeSequencer for the next durable change instead of polling.
//
// Ending: the client cancels (CANCELLED), the request is bad
// (INVALID_ARGUMENT), events were purged under it (OUT_OF_RANGE), or the
// server shuts down (UNAVAILABLE: reconnect with after_sequence).
//
// Ownership and threading: see PagedWriteReactor; a sequencer waiter holds
// a reference of its own. Never reads storage on a gRPC thread.

#ifndef CXP_CONTEXT_SERVICE_WATCH_CHANGES_REACTOR_H_
#define CXP_CONTEXT_SERVICE_WATCH_CHANGES_REACTOR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "common/server/handler_pool.h"
#include "common/server/paged_write_reactor.h"
#include "context_service/core/change_feed.h"
#include "cxp/context/v1/context_service.pb.h"

namespace cxp::context {

class WatchChangesReactor final : public server::PagedWriteReactor<v1::WatchChangesResponse> {
 public:
  static constexpr size_t kBatchEvents = 256;
  static constexpr size_t kScanRows = 4096;
  // A batched response (max_batch_size > 1) stops taking events at about
  // this size, well below the default 4 MiB message limit.
  static constexpr size_t kMaxBatchBytes = 1 << 20;

  // Starts the stream (authentication, then the first read on the pool).
  WatchChangesReactor(const ChangeFeed& feed, server::HandlerPool& pool,
                      grpc::CallbackServerContext* context, const v1::WatchChangesRequest& request);

 private:
  void ReadPage() override;
  void OnFinishLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The sequencer's answer; holds the waiter's reference.
  void OnChangesReady(bool ready);

  const ChangeFeed& feed_;
  const v1::WatchChangesRequest request_;
  // Touched only by the one ReadPage that runs at a time.
  std::optional<ChangeFeed::Watch> watch_;
  uint64_t waiter_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_WATCH_CHANGES_REACTOR_H_
