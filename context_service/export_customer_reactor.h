// ExportCustomerReactor — one ExportCustomer stream (server streaming, gRPC
// callback API): reads the export a page at a time on the handler pool
// (ContextCore::ExportCustomer) and writes the items one by one, reading
// the next page only when the client has taken the last, so a customer of
// any size costs one page of memory. Ends with OK when everything was sent,
// or with the core's error (NOT_FOUND, INVALID_ARGUMENT) or CANCELLED.
//
// Ownership: deletes itself once gRPC is done with it and no pool task
// refers to it. Threading: gRPC and pool callbacks may run concurrently;
// state is guarded by mu_. Never reads storage on a gRPC thread.

#ifndef CXP_CONTEXT_SERVICE_EXPORT_CUSTOMER_REACTOR_H_
#define CXP_CONTEXT_SERVICE_EXPORT_CUSTOMER_REACTOR_H_

#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/server/handler_pool.h"
#include "context_service/core/context_core.h"
#include "cxp/context/v1/context_service.pb.h"
#include "grpcpp/support/server_callback.h"

namespace cxp::context {

class ExportCustomerReactor final
    : public grpc::ServerWriteReactor<v1::ExportCustomerResponse> {
 public:
  static constexpr size_t kPageItems = 256;

  ExportCustomerReactor(ContextCore& core, server::HandlerPool& pool,
                        grpc::CallbackServerContext* context,
                        const v1::ExportCustomerRequest& request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  ~ExportCustomerReactor() override = default;

  void ReadPage();  // on the pool; holds one reference
  void ScheduleReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteOrFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unref();

  ContextCore& core_;
  server::HandlerPool& pool_;
  const v1::ExportCustomerRequest request_;
  std::string tenant_;

  absl::Mutex mu_;
  ContextCore::ExportCursor cursor_;  // touched only by the one ReadPage at a time
  std::deque<v1::ExportCustomerResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool exhausted_ ABSL_GUARDED_BY(mu_) = false;  // the last page is in queue_
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's, until OnDone
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_EXPORT_CUSTOMER_REACTOR_H_
