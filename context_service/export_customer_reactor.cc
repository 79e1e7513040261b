#include "context_service/export_customer_reactor.h"

#include <utility>
#include <vector>

#include "common/server/call_context.h"
#include "common/status/grpc_status.h"

namespace cxp::context {

ExportCustomerReactor::ExportCustomerReactor(ContextCore& core, server::HandlerPool& pool,
                                             grpc::CallbackServerContext* context,
                                             const v1::ExportCustomerRequest& request)
    : core_(core), pool_(pool), request_(request) {
  absl::StatusOr<server::CallContext> call = server::GetCallContext(*context);
  absl::MutexLock lock(&mu_);
  if (!call.ok()) {
    FinishLocked(ToGrpcStatus(call.status()));
    return;
  }
  tenant_ = call->tenant;
  ScheduleReadLocked();
}

void ExportCustomerReactor::ScheduleReadLocked() {
  reading_ = true;
  ++refs_;
  if (pool_.TrySubmit([this] { ReadPage(); })) return;
  --refs_;
  reading_ = false;
  FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "server overloaded: handler queue full, retry with backoff"));
}

void ExportCustomerReactor::ReadPage() {
  bool stop = false;
  {
    absl::MutexLock lock(&mu_);
    stop = finished_;
  }
  std::vector<v1::ExportCustomerResponse> page;
  bool done = false;
  absl::Status status = absl::OkStatus();
  if (!stop) status = core_.ExportCustomer(tenant_, request_, cursor_, kPageItems, page, done);
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (!finished_) {
      if (!status.ok()) {
        FinishLocked(ToGrpcStatus(status));
      } else {
        for (v1::ExportCustomerResponse& item : page) queue_.push_back(std::move(item));
        exhausted_ = done;
        if (!writing_) WriteOrFinishLocked();
      }
    }
  }
  Unref();
}

void ExportCustomerReactor::WriteOrFinishLocked() {
  if (!queue_.empty()) {
    writing_ = true;
    StartWrite(&queue_.front());
  } else if (exhausted_) {
    FinishLocked(grpc::Status::OK);
  } else if (!reading_) {
    ScheduleReadLocked();
  }
}

void ExportCustomerReactor::OnWriteDone(bool ok) {
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
  WriteOrFinishLocked();
}

void ExportCustomerReactor::OnCancel() {
  absl::MutexLock lock(&mu_);
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
}

void ExportCustomerReactor::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  if (writing_) {
    finish_after_write_ = status;
  } else {
    Finish(status);
  }
}

void ExportCustomerReactor::OnDone() { Unref(); }

void ExportCustomerReactor::Unref() {
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    last = --refs_ == 0;
  }
  if (last) delete this;
}

}  // namespace cxp::context
