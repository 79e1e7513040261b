#include "routing_service/watch_queue_stats_reactor.h"

#include <cstdint>
#include <utility>

#include "absl/time/clock.h"
#include "common/server/call_context.h"
#include "common/status/grpc_status.h"

namespace cxp::routing {
namespace {

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server is shutting down; reconnect with backoff");
}

}  // namespace

WatchQueueStatsReactor::WatchQueueStatsReactor(RoutingCore& core, server::HandlerPool& pool,
                                               grpc::CallbackServerContext* context,
                                               const v1::WatchQueueStatsRequest& request,
                                               Registry& registry)
    : core_(core), pool_(pool), registry_(registry) {
  const bool added = registry_.Add(this);
  absl::StatusOr<server::CallContext> call = server::GetCallContext(*context);
  absl::StatusOr<validation::QueueStatsWatch> watch = validation::ValidateWatchQueueStats(request);
  absl::MutexLock lock(&mu_);
  if (!added) {
    FinishLocked(ShuttingDown());
    return;
  }
  if (!call.ok() || !watch.ok()) {
    FinishLocked(ToGrpcStatus(!call.ok() ? call.status() : watch.status()));
    return;
  }
  tenant_ = call->tenant;
  watch_ = *std::move(watch);
  next_update_ = absl::Now() + watch_.update_period;
  StartSendInitialMetadata();
  ScheduleComputeLocked();
}

void WatchQueueStatsReactor::ScheduleComputeLocked() {
  ++refs_;
  if (pool_.TrySubmit([this] { Compute(); })) return;
  --refs_;
  FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "server overloaded: handler queue full, retry with backoff"));
}

void WatchQueueStatsReactor::Compute() {
  bool skip = false;
  RoutingCore::MissingQueue missing = RoutingCore::MissingQueue::kSkip;
  {
    absl::MutexLock lock(&mu_);
    skip = finished_;
    if (!sent_first_) missing = RoutingCore::MissingQueue::kNotFound;
  }
  if (!skip) {
    v1::WatchQueueStatsResponse update;
    const absl::Status status = core_.QueueStatsSnapshot(tenant_, watch_, missing, update);
    absl::MutexLock lock(&mu_);
    if (finished_) {
      // Cancelled or shut down meanwhile: nothing to send.
    } else if (!status.ok()) {
      FinishLocked(ToGrpcStatus(status));
    } else {
      sent_first_ = true;
      response_ = std::move(update);
      writing_ = true;
      StartWrite(&response_);
    }
  }
  Unref();
}

void WatchQueueStatsReactor::OnWriteDone(bool ok) {
  grpc::Alarm* alarm = nullptr;
  absl::Time deadline;
  std::unique_ptr<grpc::Alarm> fired;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (finish_after_write_) {
      Finish(*finish_after_write_);
      finish_after_write_.reset();
      return;
    }
    if (finished_) return;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by the client"));
      return;
    }
    // The next grid point still ahead; those the write took are skipped.
    const absl::Time now = absl::Now();
    if (next_update_ <= now) {
      absl::Duration unused;
      const int64_t passed =
          absl::IDivDuration(now - next_update_, watch_.update_period, &unused) + 1;
      next_update_ += passed * watch_.update_period;
    }
    deadline = next_update_;
    fired = std::move(alarm_);  // its callback has run: harmless to destroy
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm = alarm_.get();
    arming_ = true;
    ++refs_;  // the alarm callback's
  }
  fired.reset();
  // Outside mu_, in case gRPC runs the callback before Set() returns.
  alarm->Set(absl::ToChronoTime(deadline), [this](bool expired) { OnAlarm(expired); });
  std::unique_ptr<grpc::Alarm> cancel;
  {
    absl::MutexLock lock(&mu_);
    arming_ = false;
    if (finished_) {
      cancel = std::move(alarm_);
    } else if (fired_while_arming_) {
      fired_while_arming_ = false;
      ScheduleComputeLocked();
    }
  }
  // Destroying a pending alarm cancels it; its callback still runs (not
  // fired) and drops its reference.
  cancel.reset();
}

void WatchQueueStatsReactor::OnAlarm(bool fired) {
  {
    absl::MutexLock lock(&mu_);
    if (fired && !finished_) {
      if (arming_) {
        fired_while_arming_ = true;
      } else {
        ScheduleComputeLocked();
      }
    }
  }
  Unref();
}

void WatchQueueStatsReactor::OnCancel() {
  End(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
}

void WatchQueueStatsReactor::Shutdown() { End(ShuttingDown()); }

void WatchQueueStatsReactor::End(const grpc::Status& status) {
  std::unique_ptr<grpc::Alarm> cancel;
  {
    absl::MutexLock lock(&mu_);
    FinishLocked(status);
    // While Set() runs, the arming thread cancels once it returns.
    if (!arming_) cancel = std::move(alarm_);
  }
  cancel.reset();  // outside mu_: the callback may take it
}

void WatchQueueStatsReactor::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  // One operation at a time on the stream: a write in flight ends first.
  if (writing_) {
    finish_after_write_ = status;
  } else {
    Finish(status);
  }
}

void WatchQueueStatsReactor::OnDone() {
  registry_.Remove(this);
  Unref();
}

void WatchQueueStatsReactor::Ref() {
  absl::MutexLock lock(&mu_);
  ++refs_;
}

void WatchQueueStatsReactor::Unref() {
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    last = --refs_ == 0;
  }
  if (last) delete this;
}

}  // namespace cxp::routing
