// PagedWriteReactor — the machinery of a server-streaming RPC that reads
// its items a page at a time on the HandlerPool and writes them one by one
// (gRPC callback API), with flow control: the next page is read only after
// the client has taken the last one, so a stream holds at most one page of
// memory however slow its client.
//
// A subclass calls Start() at the end of its constructor (authentication,
// then the first read) and implements ReadPage(), which runs on the pool
// holding one
// reference. It ends by calling, under mu_, DeliverLocked(items, last) with
// what it read, FinishLocked(status) on an error, or — for streams that
// wait for new items, like WatchChanges — by arranging to call
// ScheduleReadLocked() later itself (AddRefLocked() for whatever will call
// it). It then drops its reference with Unref(). When the queue empties
// the base schedules the next ReadPage() unless the last page was
// delivered, in which case it finishes with OK.
//
// Ending: FinishLocked() sends the status once (after a write in flight
// completes); a cancelled call finishes with CANCELLED. OnFinishLocked()
// lets a subclass drop what it waits on.
//
// Ownership: deletes itself once gRPC is done (OnDone) and every reference
// is dropped. Threading: gRPC, pool and subclass callbacks may run
// concurrently; shared state is guarded by mu_.

#ifndef CXP_COMMON_SERVER_PAGED_WRITE_REACTOR_H_
#define CXP_COMMON_SERVER_PAGED_WRITE_REACTOR_H_

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/server/call_context.h"
#include "common/server/handler_pool.h"
#include "common/status/grpc_status.h"
#include "grpcpp/support/server_callback.h"

namespace cxp::server {

template <typename Response>
class PagedWriteReactor : public grpc::ServerWriteReactor<Response> {
 public:
  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    queue_.pop_front();
    if (finish_after_write_) {
      const grpc::Status status = *std::move(finish_after_write_);
      finish_after_write_.reset();
      this->Finish(status);
      return;
    }
    if (finished_) return;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by the client"));
      return;
    }
    WriteOrReadLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
  }

  void OnDone() override { Unref(); }

 protected:
  explicit PagedWriteReactor(HandlerPool& pool) : pool_(pool) {}
  ~PagedWriteReactor() override = default;

  // Authenticates the call (an unauthenticated one finishes here), records
  // the tenant, optionally sends the headers at once (so a client knows the
  // stream is open before the first item), and schedules the first read.
  void Start(grpc::CallbackServerContext* context, bool send_headers_now) {
    absl::StatusOr<CallContext> call = GetCallContext(*context);
    absl::MutexLock lock(&mu_);
    if (!call.ok()) {
      FinishLocked(ToGrpcStatus(call.status()));
      return;
    }
    tenant_ = call->tenant;
    if (send_headers_now) this->StartSendInitialMetadata();
    ScheduleReadLocked();
  }
  // The caller's tenant, once Start() authenticated it.
  const std::string& tenant() const { return tenant_; }

  // Runs on the pool with one reference; see the file comment.
  virtual void ReadPage() = 0;
  // Called once when the stream finishes, under mu_.
  virtual void OnFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {}

  void ScheduleReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    reading_ = true;
    ++refs_;
    if (pool_.TrySubmit([this] { ReadPage(); })) return;
    --refs_;
    reading_ = false;
    FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "server overloaded: handler queue full, retry with backoff"));
  }

  // Queues a page read by ReadPage() and writes it; `last`: nothing follows.
  void DeliverLocked(std::vector<Response> items, bool last) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    reading_ = false;
    if (finished_) return;
    for (Response& item : items) queue_.push_back(std::move(item));
    exhausted_ = last;
    if (!writing_) WriteOrReadLocked();
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    OnFinishLocked();
    // One operation at a time on the stream: a write in flight ends first.
    if (writing_) {
      finish_after_write_ = status;
    } else {
      this->Finish(status);
    }
  }

  void AddRefLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { ++refs_; }
  void ReleaseRefLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { --refs_; }  // never the last
  void Unref() {
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      last = --refs_ == 0;
    }
    if (last) delete this;
  }

  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;  // a read is scheduled, running or waiting

 private:
  void WriteOrReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!queue_.empty()) {
      writing_ = true;
      this->StartWrite(&queue_.front());
    } else if (exhausted_) {
      FinishLocked(grpc::Status::OK);
    } else if (!reading_) {
      ScheduleReadLocked();
    }
  }

  HandlerPool& pool_;
  std::string tenant_;  // set by Start() before any read
  std::deque<Response> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool exhausted_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's, until OnDone
};

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_PAGED_WRITE_REACTOR_H_
