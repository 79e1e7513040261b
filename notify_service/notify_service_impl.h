// NotifyServiceImpl — the gRPC edge of notify_service (cxp.notify.v1.NotifyService).
//
// Handlers stay thin: each validates and translates, then hands off to the
// domain core through cxp::server::HandleUnary. This is the Foundation
// version: it serves health, reflection and the contract; the RPCs answer
// UNIMPLEMENTED until the notify_service issue fills them in.
//
// Ownership: borrows the store, which must outlive the service.
// Threading: gRPC calls handlers concurrently; the impl keeps no mutable state.

#ifndef CXP_NOTIFY_SERVICE_NOTIFY_SERVICE_IMPL_H_
#define CXP_NOTIFY_SERVICE_NOTIFY_SERVICE_IMPL_H_

#include "common/server/handler_pool.h"
#include "common/server/server.h"
#include "common/store/rocks_store.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"

namespace cxp::notify {

class NotifyServiceImpl final : public cxp::notify::v1::NotifyService::CallbackService {
 public:
  NotifyServiceImpl(const server::ServerOptions& options, store::RocksStore& store)
      : pool_(options.worker_threads), store_(store) {}

 private:
  server::HandlerPool pool_;
  [[maybe_unused]] store::RocksStore& store_;
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_NOTIFY_SERVICE_IMPL_H_
