// WatchQueueStatsReactor — one WatchQueueStats stream: the statistics of
// the watched queues (RoutingCore::QueueStatsSnapshot) at once, then every
// update_period, until the client cancels or the server shuts down
// (UNAVAILABLE: reconnect with backoff). A stream opened once shutdown has
// started ends at once with UNAVAILABLE.
//
// Timing: updates fall on a fixed grid (open time + k * update_period),
// timed by a callback grpc::Alarm, so no thread waits for them. One update
// is in flight at a time: the next is computed only after the client took
// the last, and grid points that passed meanwhile are skipped, not queued —
// a slow client gets fewer, current updates and costs one response of
// memory.
//
// Errors: the request is checked when the stream opens (INVALID_ARGUMENT);
// a named queue that does not exist then ends it with NOT_FOUND, while one
// deleted later just drops out of the updates (see QueueStatsSnapshot).
// UNAUTHENTICATED without a valid key; RESOURCE_EXHAUSTED when the handler
// pool's queue is full.
//
// Ownership: deletes itself once gRPC is done with it (OnDone) and neither
// a pool task nor an alarm callback still holds a reference. Threading:
// gRPC callbacks, the pool task and the alarm callback run concurrently;
// state is guarded by mu_. Stats are computed on the handler pool, never on
// a gRPC thread; the alarm is set and cancelled outside mu_.

#ifndef CXP_ROUTING_SERVICE_WATCH_QUEUE_STATS_REACTOR_H_
#define CXP_ROUTING_SERVICE_WATCH_QUEUE_STATS_REACTOR_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/server/handler_pool.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "grpcpp/alarm.h"
#include "grpcpp/support/server_callback.h"
#include "routing_service/core/routing_core.h"
#include "routing_service/stream_registry.h"
#include "routing_service/validation/request_validation.h"

namespace cxp::routing {

class WatchQueueStatsReactor final : public grpc::ServerWriteReactor<v1::WatchQueueStatsResponse> {
 public:
  // The live streams, so a shutting-down server can end them (and refuse
  // new ones); see stream_registry.h.
  using Registry = StreamRegistry<WatchQueueStatsReactor>;

  // Authenticates and validates the call (finishing it on an error), then
  // computes the first update on the pool. Borrows everything; all must
  // outlive the stream.
  WatchQueueStatsReactor(RoutingCore& core, server::HandlerPool& pool,
                         grpc::CallbackServerContext* context,
                         const v1::WatchQueueStatsRequest& request, Registry& registry);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Ends the stream with UNAVAILABLE (server shutdown).
  void Shutdown();

 private:
  friend Registry;  // Ref/Unref

  // Runs on the pool with a reference: one update, then writes it.
  void Compute();
  // The alarm's callback, holding its reference; `fired` is false when
  // the alarm was cancelled.
  void OnAlarm(bool fired);
  void ScheduleComputeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends the stream with `status` and cancels a pending alarm.
  void End(const grpc::Status& status);
  void Ref();
  void Unref();

  RoutingCore& core_;
  server::HandlerPool& pool_;
  Registry& registry_;
  std::string tenant_;                 // set before the first Compute()
  validation::QueueStatsWatch watch_;  // likewise
  absl::Mutex mu_;
  v1::WatchQueueStatsResponse response_ ABSL_GUARDED_BY(mu_);  // being written
  bool sent_first_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
  // The next grid point an update is due at.
  absl::Time next_update_ ABSL_GUARDED_BY(mu_);
  // The latest alarm (fired or pending); one per wait, so a callback never
  // races a Set() of the same object.
  std::unique_ptr<grpc::Alarm> alarm_ ABSL_GUARDED_BY(mu_);
  // Set() is running outside mu_: nobody else touches alarm_, and a
  // callback that comes first leaves the next step to the arming thread.
  bool arming_ ABSL_GUARDED_BY(mu_) = false;
  bool fired_while_arming_ ABSL_GUARDED_BY(mu_) = false;
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's, until OnDone
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_WATCH_QUEUE_STATS_REACTOR_H_
