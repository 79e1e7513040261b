#include "context_service/export_customer_reactor.h"

#include <utility>
#include <vector>

#include "common/status/grpc_status.h"

namespace cxp::context {

ExportCustomerReactor::ExportCustomerReactor(ContextCore& core, server::HandlerPool& pool,
                                             grpc::CallbackServerContext* context,
                                             const v1::ExportCustomerRequest& request)
    : PagedWriteReactor(pool), core_(core), request_(request) {
  Start(context, /*send_headers_now=*/false);
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
  if (!stop) status = core_.ExportCustomer(tenant(), request_, cursor_, kPageItems, page, done);
  {
    absl::MutexLock lock(&mu_);
    if (!status.ok()) {
      reading_ = false;
      FinishLocked(ToGrpcStatus(status));
    } else {
      DeliverLocked(std::move(page), done);
    }
  }
  Unref();
}

}  // namespace cxp::context
