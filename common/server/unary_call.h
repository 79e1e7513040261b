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
// thread and may block (RocksDB, disk reads), never on the reactor.
//
// HandleUnaryWrite is the same for handlers whose writes are applied without
// waiting for the fsync (RocksStore::WriteUnsynced): it answers only once
// `durability.AfterDurable` reports everything the handler wrote durable, so
// no pool thread is parked on an fsync and concurrent writes share one.
//
// HandleUnaryInlineFirst is for reads usually answered from memory: the
// handler runs first on the reactor thread with may_block=false and must then
// do no I/O — it answers WouldBlock (common/status/would_block.h) when it
// would need the disk, and only then is the call moved to the pool and run
// again with may_block=true. Saves the thread hop on the hottest reads.

#ifndef CXP_COMMON_SERVER_UNARY_CALL_H_
#define CXP_COMMON_SERVER_UNARY_CALL_H_

#include <chrono>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "common/server/call_context.h"
#include "common/server/handler_pool.h"
#include "common/status/grpc_status.h"
#include "common/status/would_block.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace cxp::server {

namespace internal {

// Runs `handler` on the pool, then passes its result to `finish(reactor,
// status)`.
template <typename Handler, typename Finish>
void RunOnPool(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
               CallContext call, HandlerPool& pool, Handler handler, Finish finish) {
  const bool queued =
      pool.TrySubmit([context, reactor, call = std::move(call), handler = std::move(handler),
                      finish = std::move(finish)]() mutable {
        if (context->IsCancelled()) {
          reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
          return;
        }
        if (context->deadline() <= std::chrono::system_clock::now()) {
          reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                       "deadline passed before the call was handled"));
          return;
        }
        finish(reactor, handler(static_cast<const CallContext&>(call)));
      });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "server overloaded: handler queue full, retry with backoff"));
  }
}

// The call's reactor and, if it authenticated, its CallContext; an
// unauthenticated call is already finished.
inline std::pair<grpc::ServerUnaryReactor*, std::optional<CallContext>> StartCall(
    grpc::CallbackServerContext* context) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<CallContext> call = GetCallContext(*context);
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return {reactor, std::nullopt};
  }
  return {reactor, *std::move(call)};
}

template <typename Handler, typename Finish>
grpc::ServerUnaryReactor* HandleOnPool(grpc::CallbackServerContext* context, HandlerPool& pool,
                                       Handler handler, Finish finish) {
  auto [reactor, call] = StartCall(context);
  if (call)
    RunOnPool(context, reactor, *std::move(call), pool, std::move(handler), std::move(finish));
  return reactor;
}

inline void FinishWith(grpc::ServerUnaryReactor* reactor, const absl::Status& status) {
  reactor->Finish(ToGrpcStatus(status));
}

}  // namespace internal

template <typename Handler>
grpc::ServerUnaryReactor* HandleUnary(grpc::CallbackServerContext* context, HandlerPool& pool,
                                      Handler handler) {
  return internal::HandleOnPool(context, pool, std::move(handler), &internal::FinishWith);
}

// `handler(const CallContext&, bool may_block)`; see the file comment.
template <typename Handler>
grpc::ServerUnaryReactor* HandleUnaryInlineFirst(grpc::CallbackServerContext* context,
                                                 HandlerPool& pool, Handler handler) {
  auto [reactor, call] = internal::StartCall(context);
  if (!call) return reactor;
  const absl::Status status = handler(*call, /*may_block=*/false);
  if (!IsWouldBlock(status)) {
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  internal::RunOnPool(
      context, reactor, *std::move(call), pool,
      [handler = std::move(handler)](const CallContext& call) mutable {
        return handler(call, /*may_block=*/true);
      },
      &internal::FinishWith);
  return reactor;
}

// `Durability` has `void AfterDurable(absl::AnyInvocable<void(absl::Status) &&>)`
// (RocksStore, or a core that forwards to it) and outlives the call.
template <typename Durability, typename Handler>
grpc::ServerUnaryReactor* HandleUnaryWrite(grpc::CallbackServerContext* context, HandlerPool& pool,
                                           Durability& durability, Handler handler) {
  return internal::HandleOnPool(
      context, pool, std::move(handler),
      [&durability](grpc::ServerUnaryReactor* reactor, absl::Status status) {
        // Errors wait too: a handler may have written before failing.
        durability.AfterDurable([reactor, status = std::move(status)](absl::Status synced) {
          reactor->Finish(ToGrpcStatus(synced.ok() ? status : synced));
        });
      });
}

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_UNARY_CALL_H_
