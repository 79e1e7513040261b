#include "context_service/watch_changes_reactor.h"

#include <utility>
#include <vector>

#include "common/server/call_context.h"
#include "common/status/grpc_status.h"

namespace cxp::context {
namespace {

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server is shutting down; reconnect and resume with after_sequence set to "
                      "the last sequence you processed");
}

}  // namespace

WatchChangesReactor::WatchChangesReactor(const ChangeFeed& feed, server::HandlerPool& pool,
                                         grpc::CallbackServerContext* context,
                                         const v1::WatchChangesRequest& request)
    : feed_(feed), pool_(pool), request_(request) {
  absl::StatusOr<server::CallContext> call = server::GetCallContext(*context);
  absl::MutexLock lock(&mu_);
  if (!call.ok()) {
    FinishLocked(ToGrpcStatus(call.status()));
    return;
  }
  tenant_ = call->tenant;
  // Headers now, so the client knows the watch is open before any event.
  StartSendInitialMetadata();
  reading_ = true;
  SchedulePumpLocked();
}

bool WatchChangesReactor::SchedulePumpLocked() {
  ++refs_;
  if (pool_.TrySubmit([this] { Pump(); })) return true;
  --refs_;
  reading_ = false;
  FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "server overloaded: handler queue full, retry with backoff"));
  return false;
}

void WatchChangesReactor::Pump() {
  bool stop = false;
  {
    absl::MutexLock lock(&mu_);
    stop = finished_;
  }
  std::vector<v1::ChangeEvent> events;
  absl::Status status = absl::OkStatus();
  if (!stop) {
    if (!watch_) {
      absl::StatusOr<ChangeFeed::Watch> opened = feed_.Open(tenant_, request_);
      if (opened.ok()) {
        watch_ = *std::move(opened);
      } else {
        status = opened.status();
      }
    }
    if (status.ok()) status = feed_.Next(*watch_, kBatchEvents, kScanRows, events);
  }
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (finished_) {
      // nothing: the stream is over
    } else if (!status.ok()) {
      FinishLocked(ToGrpcStatus(status));
    } else if (!events.empty()) {
      for (v1::ChangeEvent& event : events) {
        *queue_.emplace_back().mutable_change_event() = std::move(event);
      }
      if (!writing_) WriteNextLocked();
    } else {
      // Caught up. The waiter gets its own reference; the sequencer never
      // calls it from AwaitAbove, so holding mu_ here is safe.
      ++refs_;
      const ChangeSequencer::Await await = feed_.sequencer().AwaitAbove(
          watch_->cursor, [this](bool ready) { OnChangesReady(ready); });
      switch (await.outcome) {
        case ChangeSequencer::Await::kWaiting:
          reading_ = true;
          waiter_ = await.handle;
          break;
        case ChangeSequencer::Await::kReady:  // more came while reading
          --refs_;
          reading_ = true;
          SchedulePumpLocked();
          break;
        case ChangeSequencer::Await::kStopped:
          --refs_;
          FinishLocked(ShuttingDown());
          break;
      }
    }
  }
  Unref();
}

void WatchChangesReactor::OnChangesReady(bool ready) {
  {
    absl::MutexLock lock(&mu_);
    waiter_ = 0;
    if (finished_) {
      reading_ = false;
    } else if (!ready) {
      reading_ = false;
      FinishLocked(ShuttingDown());
    } else {
      SchedulePumpLocked();  // reading_ stays set
    }
  }
  Unref();
}

void WatchChangesReactor::WriteNextLocked() {
  writing_ = true;
  StartWrite(&queue_.front());
}

void WatchChangesReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  queue_.pop_front();
  if (finish_after_write_) {
    const grpc::Status status = *finish_after_write_;
    finish_after_write_.reset();
    Finish(status);
    return;
  }
  if (finished_) return;
  if (!ok) {
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by the client"));
    return;
  }
  if (!queue_.empty()) {
    WriteNextLocked();
  } else if (!reading_) {
    reading_ = true;
    SchedulePumpLocked();
  }
}

void WatchChangesReactor::OnCancel() {
  absl::MutexLock lock(&mu_);
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
}

void WatchChangesReactor::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  if (waiter_ != 0 && feed_.sequencer().Cancel(waiter_)) {
    waiter_ = 0;
    reading_ = false;
    --refs_;  // the waiter's reference; refs_ stays >= 1 (gRPC's)
  }
  // One operation at a time on the stream: a write in flight finishes first.
  if (writing_) {
    finish_after_write_ = status;
  } else {
    Finish(status);
  }
}

void WatchChangesReactor::OnDone() { Unref(); }

void WatchChangesReactor::Unref() {
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    last = --refs_ == 0;
  }
  if (last) delete this;
}

}  // namespace cxp::context
