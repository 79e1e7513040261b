// WatchChangesReactor — one WatchChanges stream (server streaming, gRPC
// callback API): reads the watcher's next events from the ChangeFeed on the
// handler pool, writes them one at a time, and when caught up waits on the
// ChangeSequencer for the next durable change.
//
// Flow control: at most one batch of events (kBatchEvents) is held per
// stream, and the next batch is read only after the client has taken the
// last one, so a slow consumer costs bounded memory and never blocks
// writers; RocksDB keeps what it has not read yet.
//
// Ending: the client cancels (CANCELLED), the request is bad
// (INVALID_ARGUMENT), events were purged under it (OUT_OF_RANGE), or the
// server shuts down (UNAVAILABLE: reconnect with after_sequence).
//
// Ownership: deletes itself once gRPC is done with it and no pool task or
// sequencer waiter refers to it. Threading: callbacks from gRPC, the pool
// and the sequencer may run concurrently; state is guarded by mu_. Never
// blocks on a gRPC thread: reads run on the pool.

#ifndef CXP_CONTEXT_SERVICE_WATCH_CHANGES_REACTOR_H_
#define CXP_CONTEXT_SERVICE_WATCH_CHANGES_REACTOR_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/server/handler_pool.h"
#include "context_service/core/change_feed.h"
#include "cxp/context/v1/context_service.pb.h"
#include "grpcpp/support/server_callback.h"

namespace cxp::context {

class WatchChangesReactor final : public grpc::ServerWriteReactor<v1::WatchChangesResponse> {
 public:
  static constexpr size_t kBatchEvents = 256;
  static constexpr size_t kScanRows = 4096;

  // Starts the stream (authentication, then the first read on the pool).
  WatchChangesReactor(const ChangeFeed& feed, server::HandlerPool& pool,
                      grpc::CallbackServerContext* context, const v1::WatchChangesRequest& request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  ~WatchChangesReactor() override = default;

  // Runs on the pool: opens the watch if needed, reads the next batch, and
  // writes it or waits. Holds one reference.
  void Pump();
  // The sequencer's answer; holds one reference.
  void OnChangesReady(bool ready);
  // Takes a reference for a Pump on the pool; false (and the stream
  // finished) if the pool refused it.
  bool SchedulePumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unref();

  const ChangeFeed& feed_;
  server::HandlerPool& pool_;
  const v1::WatchChangesRequest request_;
  std::string tenant_;

  absl::Mutex mu_;
  // Touched only by the one Pump that runs at a time (reading_).
  std::optional<ChangeFeed::Watch> watch_;
  std::deque<v1::WatchChangesResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;  // a Pump or a waiter is outstanding
  uint64_t waiter_ ABSL_GUARDED_BY(mu_) = 0;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's, until OnDone
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_WATCH_CHANGES_REACTOR_H_
