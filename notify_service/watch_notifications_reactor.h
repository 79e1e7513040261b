// WatchNotificationsReactor — one WatchNotifications stream: every
// notification of the caller's tenant that matches the request's filter,
// as it is after each committed change, until the client cancels or the
// server shuts down (UNAVAILABLE: reconnect with backoff). Live only: what
// changed before the stream opened is ListNotifications' to tell. A stream
// opened once shutdown has started ends at once with UNAVAILABLE.
//
// NotificationWatchers is NotifyCore's change sink (Publish): it hands each
// change to the tenant's open streams. Each stream queues what it has not
// written yet, one write in flight at a time; a client that falls more than
// kMaxQueued changes behind is ended with UNAVAILABLE (catch up with
// ListNotifications filtered on update_time, then watch again), so a slow
// client costs bounded memory and never slows the core.
//
// Nothing blocks: the constructor authenticates and parses the filter
// (INVALID_ARGUMENT naming `filter`; UNAUTHENTICATED without a valid key),
// Publish filters and queues under the stream's mutex, writes are gRPC's.
// The client knows its stream is registered once it has the initial
// metadata.
//
// Ownership: a reactor deletes itself once gRPC is done with it (OnDone)
// and no Publish or ShutdownAll holds a reference. NotificationWatchers
// borrows the reactors and must outlive every one. Threading: gRPC
// callbacks and Publish (on any thread that commits a change, under the
// core's lock for that notification) run concurrently; state is guarded by
// mutexes. Lock order: the watchers' mutex, then a reactor's.

#ifndef CXP_NOTIFY_SERVICE_WATCH_NOTIFICATIONS_REACTOR_H_
#define CXP_NOTIFY_SERVICE_WATCH_NOTIFICATIONS_REACTOR_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "common/filter/filter.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "grpcpp/support/server_callback.h"

namespace cxp::notify {

class WatchNotificationsReactor;

// The open WatchNotifications streams by tenant (see the file comment).
// Thread-safe. After ShutdownAll() no stream is added again.
class NotificationWatchers {
 public:
  NotificationWatchers() = default;
  NotificationWatchers(const NotificationWatchers&) = delete;
  NotificationWatchers& operator=(const NotificationWatchers&) = delete;

  // Registers `reactor` for `tenant`'s changes; false (nothing registered)
  // once ShutdownAll() has begun.
  [[nodiscard]] bool Add(const std::string& tenant, WatchNotificationsReactor* reactor);
  // A no-op when it is not registered.
  void Remove(const std::string& tenant, WatchNotificationsReactor* reactor);
  // NotifyCore's change sink: offers `notification` to `tenant`'s streams.
  // Does not block and does not call back into the core.
  void Publish(const std::string& tenant, const cxp::notify::v1::Notification& notification);
  // Ends every stream with UNAVAILABLE and refuses new ones. Returns once
  // each has been told, not once they are done.
  void ShutdownAll();

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::flat_hash_set<WatchNotificationsReactor*>> live_
      ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

class WatchNotificationsReactor final
    : public grpc::ServerWriteReactor<cxp::notify::v1::WatchNotificationsResponse> {
 public:
  // Changes a stream may hold unwritten before it is ended.
  static constexpr size_t kMaxQueued = 1024;

  // Authenticates, parses the filter and registers (finishing the call on
  // an error). Borrows `watchers`, which must outlive the stream.
  WatchNotificationsReactor(grpc::CallbackServerContext* context,
                            const cxp::notify::v1::WatchNotificationsRequest& request,
                            NotificationWatchers& watchers);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  friend NotificationWatchers;  // Offer, Shutdown, Ref, Unref

  // Queues `notification` if it matches the filter; never blocks.
  void Offer(const cxp::notify::v1::Notification& notification);
  // Ends the stream with UNAVAILABLE (server shutdown).
  void Shutdown();
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Ref();
  void Unref();

  NotificationWatchers& watchers_;
  std::string tenant_;     // set before registering
  filter::Filter filter_;  // likewise
  bool registered_ = false;
  absl::Mutex mu_;
  std::deque<cxp::notify::v1::WatchNotificationsResponse> queue_ ABSL_GUARDED_BY(mu_);
  // Initial metadata started: writes may begin.
  bool opened_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's, until OnDone
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_WATCH_NOTIFICATIONS_REACTOR_H_
