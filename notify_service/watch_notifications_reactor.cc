#include "notify_service/watch_notifications_reactor.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/server/call_context.h"
#include "common/status/grpc_status.h"
#include "notify_service/core/notification_filters.h"

namespace cxp::notify {
namespace {

namespace v1 = ::cxp::notify::v1;

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server is shutting down; reconnect with backoff");
}

}  // namespace

bool NotificationWatchers::Add(const std::string& tenant, WatchNotificationsReactor* reactor) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  live_[tenant].insert(reactor);
  return true;
}

void NotificationWatchers::Remove(const std::string& tenant, WatchNotificationsReactor* reactor) {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(tenant);
  if (it == live_.end()) return;
  it->second.erase(reactor);
  if (it->second.empty()) live_.erase(it);
}

void NotificationWatchers::Publish(const std::string& tenant,
                                   const v1::Notification& notification) {
  // References keep the streams alive outside the lock, where Offer may
  // finish one (and gRPC may then run its OnDone, which calls Remove).
  std::vector<WatchNotificationsReactor*> watching;
  {
    absl::MutexLock lock(&mu_);
    auto it = live_.find(tenant);
    if (it == live_.end()) return;
    watching.reserve(it->second.size());
    for (WatchNotificationsReactor* reactor : it->second) {
      reactor->Ref();
      watching.push_back(reactor);
    }
  }
  for (WatchNotificationsReactor* reactor : watching) {
    reactor->Offer(notification);
    reactor->Unref();
  }
}

void NotificationWatchers::ShutdownAll() {
  std::vector<WatchNotificationsReactor*> live;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (const auto& [tenant, reactors] : live_) {
      for (WatchNotificationsReactor* reactor : reactors) {
        reactor->Ref();
        live.push_back(reactor);
      }
    }
  }
  for (WatchNotificationsReactor* reactor : live) {
    reactor->Shutdown();
    reactor->Unref();
  }
}

WatchNotificationsReactor::WatchNotificationsReactor(grpc::CallbackServerContext* context,
                                                     const v1::WatchNotificationsRequest& request,
                                                     NotificationWatchers& watchers)
    : watchers_(watchers) {
  absl::StatusOr<server::CallContext> call = server::GetCallContext(*context);
  absl::StatusOr<filter::Filter> parsed =
      call.ok() ? filter::ParseFilter(request.filter(), NotificationFilterSchema())
                : absl::StatusOr<filter::Filter>(call.status());
  if (call.ok() && parsed.ok()) {
    tenant_ = call->tenant;
    filter_ = *std::move(parsed);
    registered_ = watchers_.Add(tenant_, this);
  }
  absl::MutexLock lock(&mu_);
  if (!parsed.ok()) {
    FinishLocked(ToGrpcStatus(parsed.status()));
    return;
  }
  if (!registered_) {
    // Shutdown has started: no wait for the drain.
    FinishLocked(ShuttingDown());
    return;
  }
  // Registered before the metadata goes out: a client holding the
  // metadata sees every later change.
  StartSendInitialMetadata();
  opened_ = true;
  if (!finished_) WriteNextLocked();
}

void WatchNotificationsReactor::Offer(const v1::Notification& notification) {
  if (!filter_.Matches(NotificationFieldResolver(notification))) return;
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  if (queue_.size() >= kMaxQueued) {
    FinishLocked(grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("watcher fell behind by more than ", kMaxQueued,
                     " changes; catch up with ListNotifications filtered on update_time, then "
                     "watch again")));
    return;
  }
  *queue_.emplace_back().mutable_notification() = notification;
  if (opened_ && !writing_) WriteNextLocked();
}

void WatchNotificationsReactor::WriteNextLocked() {
  if (queue_.empty() || writing_) return;
  writing_ = true;
  StartWrite(&queue_.front());
}

void WatchNotificationsReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  queue_.pop_front();
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
  WriteNextLocked();
}

void WatchNotificationsReactor::OnCancel() {
  absl::MutexLock lock(&mu_);
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
}

void WatchNotificationsReactor::Shutdown() {
  absl::MutexLock lock(&mu_);
  FinishLocked(ShuttingDown());
}

void WatchNotificationsReactor::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  // One operation at a time on the stream: a write in flight ends first.
  if (writing_) {
    finish_after_write_ = status;
  } else {
    Finish(status);
  }
}

void WatchNotificationsReactor::OnDone() {
  if (registered_) watchers_.Remove(tenant_, this);
  Unref();
}

void WatchNotificationsReactor::Ref() {
  absl::MutexLock lock(&mu_);
  ++refs_;
}

void WatchNotificationsReactor::Unref() {
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    last = --refs_ == 0;
  }
  if (last) delete this;
}

}  // namespace cxp::notify
