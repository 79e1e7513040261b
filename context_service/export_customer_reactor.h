// ExportCustomerReactor — one ExportCustomer stream: reads the export a page
// at a time on the handler pool (ContextCore::ExportCustomer) through
// server::PagedWriteReactor, so a customer of any size costs one page of
// memory. Ends with OK when everything was sent, or with the core's error
// (NOT_FOUND, INVALID_ARGUMENT) or CANCELLED.
//
// Ownership and threading: see PagedWriteReactor; never reads storage on a
// gRPC thread.

#ifndef CXP_CONTEXT_SERVICE_EXPORT_CUSTOMER_REACTOR_H_
#define CXP_CONTEXT_SERVICE_EXPORT_CUSTOMER_REACTOR_H_

#include <string>

#include "common/server/handler_pool.h"
#include "common/server/paged_write_reactor.h"
#include "context_service/core/context_core.h"
#include "cxp/context/v1/context_service.pb.h"

namespace cxp::context {

class ExportCustomerReactor final : public server::PagedWriteReactor<v1::ExportCustomerResponse> {
 public:
  static constexpr size_t kPageItems = 256;

  ExportCustomerReactor(ContextCore& core, server::HandlerPool& pool,
                        grpc::CallbackServerContext* context,
                        const v1::ExportCustomerRequest& request);

 private:
  void ReadPage() override;

  ContextCore& core_;
  const v1::ExportCustomerRequest request_;
  ContextCore::ExportCursor cursor_;  // touched only by the one ReadPage at a time
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_EXPORT_CUSTOMER_REACTOR_H_
