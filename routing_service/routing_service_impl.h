// RoutingServiceImpl — the gRPC edge of routing_service (cxp.routing.v1.RoutingService).
//
// Handlers stay thin: each validates and translates, then hands off to the
// domain core through cxp::server::HandleUnary. This is the Foundation
// version: it serves health, reflection and the contract; the RPCs answer
// UNIMPLEMENTED until the routing_service issue fills them in.
//
// Ownership: borrows the store, which must outlive the service.
// Threading: gRPC calls handlers concurrently; the impl keeps no mutable state.

#ifndef CXP_ROUTING_SERVICE_ROUTING_SERVICE_IMPL_H_
#define CXP_ROUTING_SERVICE_ROUTING_SERVICE_IMPL_H_

#include "common/server/handler_pool.h"
#include "common/server/server.h"
#include "common/store/rocks_store.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"

namespace cxp::routing {

class RoutingServiceImpl final : public cxp::routing::v1::RoutingService::CallbackService {
 public:
  RoutingServiceImpl(const server::ServerOptions& options, store::RocksStore& store)
      : pool_(options.worker_threads), store_(store) {}

 private:
  server::HandlerPool pool_;
  [[maybe_unused]] store::RocksStore& store_;
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_ROUTING_SERVICE_IMPL_H_
