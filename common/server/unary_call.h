// HandleUnary — the few lines every unary callback handler is made of.
//
//   grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* ctx,
//       const GetCustomerRequest* request, GetCustomerResponse* response) override {
//     return HandleUnary(ctx, pool_, [=](const CallContext& call) {
//       return frontend_.GetCustomer(call, *request, *response);
//     });
//   }
//
// It authenticates (GetCallContext), moves the work off the reactor thread to
// the HandlerPool, skips work whose deadline already passed or whose client
// went away while queued, and maps the returned absl::Status to gRPC at the
// edge. The handler fills `response` and returns a Status; it runs on a pool
// thread and may block (RocksDB, fsync), never on the reactor.

#ifndef CXP_COMMON_SERVER_UNARY_CALL_H_
#define CXP_COMMON_SERVER_UNARY_CALL_H_

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "common/server/call_context.h"
#include "common/server/handler_pool.h"
#include "common/status/grpc_status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace cxp::server {

template <typename Handler>
grpc::ServerUnaryReactor* HandleUnary(grpc::CallbackServerContext* context, HandlerPool& pool,
                                      Handler handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<CallContext> call = GetCallContext(*context);
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  const bool queued = pool.TrySubmit(
      [context, reactor, call = *std::move(call), handler = std::move(handler)]() mutable {
        if (context->IsCancelled()) {
          reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
          return;
        }
        if (context->deadline() <= std::chrono::system_clock::now()) {
          reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                       "deadline passed before the call was handled"));
          return;
        }
        reactor->Finish(ToGrpcStatus(handler(static_cast<const CallContext&>(call))));
      });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "server overloaded: handler queue full, retry with backoff"));
  }
  return reactor;
}

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_UNARY_CALL_H_
