// ContextServiceImpl — the gRPC edge of context_service (cxp.context.v1.ContextService).
//
// Handlers stay thin: each validates and translates, then hands off to the
// domain core through cxp::server::HandleUnary. This is the Foundation
// version: it serves health, reflection and the contract; the RPCs answer
// UNIMPLEMENTED until the context_service issue fills them in.
//
// Ownership: borrows the store, which must outlive the service.
// Threading: gRPC calls handlers concurrently; the impl keeps no mutable state.

#ifndef CXP_CONTEXT_SERVICE_CONTEXT_SERVICE_IMPL_H_
#define CXP_CONTEXT_SERVICE_CONTEXT_SERVICE_IMPL_H_

#include "common/server/handler_pool.h"
#include "common/server/server.h"
#include "common/store/rocks_store.h"
#include "cxp/context/v1/context_service.grpc.pb.h"

namespace cxp::context {

class ContextServiceImpl final : public cxp::context::v1::ContextService::CallbackService {
 public:
  ContextServiceImpl(const server::ServerOptions& options, store::RocksStore& store)
      : pool_(options.worker_threads), store_(store) {}

 private:
  server::HandlerPool pool_;
  [[maybe_unused]] store::RocksStore& store_;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CONTEXT_SERVICE_IMPL_H_
