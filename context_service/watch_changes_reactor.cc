#include "context_service/watch_changes_reactor.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/status/grpc_status.h"

namespace cxp::context {
namespace {

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server is shutting down; reconnect and resume with after_sequence set to "
                      "the last sequence you processed");
}

// The responses carrying `events`: one each, or batches of up to
// `max_batch` events and about kMaxBatchBytes.
std::vector<v1::WatchChangesResponse> Frame(std::vector<v1::ChangeEvent> events,
                                            size_t max_batch) {
  std::vector<v1::WatchChangesResponse> page;
  if (max_batch <= 1) {
    page.resize(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      *page[i].mutable_change_event() = std::move(events[i]);
    }
    return page;
  }
  size_t batch_bytes = 0;
  for (v1::ChangeEvent& event : events) {
    const size_t bytes = event.ByteSizeLong();
    if (page.empty() || static_cast<size_t>(page.back().change_events_size()) >= max_batch ||
        (batch_bytes > 0 && batch_bytes + bytes > WatchChangesReactor::kMaxBatchBytes)) {
      page.emplace_back();
      batch_bytes = 0;
    }
    batch_bytes += bytes;
    *page.back().add_change_events() = std::move(event);
  }
  return page;
}

}  // namespace

WatchChangesReactor::WatchChangesReactor(const ChangeFeed& feed, server::HandlerPool& pool,
                                         grpc::CallbackServerContext* context,
                                         const v1::WatchChangesRequest& request)
    : PagedWriteReactor(pool), feed_(feed), request_(request) {
  Start(context, /*send_headers_now=*/true);
}

void WatchChangesReactor::ReadPage() {
  bool stop = false;
  {
    absl::MutexLock lock(&mu_);
    stop = finished_;
  }
  std::vector<v1::ChangeEvent> events;
  absl::Status status = absl::OkStatus();
  if (!stop) {
    if (!watch_) {
      absl::StatusOr<ChangeFeed::Watch> opened = feed_.Open(tenant(), request_);
      if (opened.ok()) {
        watch_ = *std::move(opened);
      } else {
        status = opened.status();
      }
    }
    if (status.ok()) {
      status = feed_.Next(*watch_, std::max(kBatchEvents, watch_->max_batch), kScanRows, events);
    }
  }
  {
    absl::MutexLock lock(&mu_);
    if (finished_) {
      reading_ = false;
    } else if (!status.ok()) {
      reading_ = false;
      FinishLocked(ToGrpcStatus(status));
    } else if (!events.empty()) {
      DeliverLocked(Frame(std::move(events), watch_->max_batch), /*last=*/false);
    } else {
      // Caught up. The waiter gets its own reference; the sequencer never
      // calls it from AwaitAbove, so holding mu_ here is safe.
      AddRefLocked();
      const ChangeSequencer::Await await = feed_.sequencer().AwaitAbove(
          watch_->cursor, [this](bool ready) { OnChangesReady(ready); });
      switch (await.outcome) {
        case ChangeSequencer::Await::kWaiting:
          waiter_ = await.handle;  // reading_ stays set while waiting
          break;
        case ChangeSequencer::Await::kReady:  // more came while reading
          ReleaseRefLocked();
          ScheduleReadLocked();
          break;
        case ChangeSequencer::Await::kStopped:
          ReleaseRefLocked();
          reading_ = false;
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
      ScheduleReadLocked();
    }
  }
  Unref();
}

void WatchChangesReactor::OnFinishLocked() {
  if (waiter_ != 0 && feed_.sequencer().Cancel(waiter_)) {
    waiter_ = 0;
    reading_ = false;
    ReleaseRefLocked();  // the waiter's; gRPC's is still held
  }
}

}  // namespace cxp::context
