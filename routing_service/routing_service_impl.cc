#include "routing_service/routing_service_impl.h"

#include "common/server/unary_call.h"
#include "common/status/grpc_status.h"

namespace cxp::routing {

// Reads: authenticate, hop to the handler pool, let the core answer.
#define CXP_ROUTING_READ_RPC(Method)                                                         \
  grpc::ServerUnaryReactor* RoutingServiceImpl::Method(grpc::CallbackServerContext* context, \
                                                       const v1::Method##Request* request,   \
                                                       v1::Method##Response* response) {     \
    return server::HandleUnary(context, pool_,                                               \
                               [this, request, response](const server::CallContext& call) {  \
                                 return core_.Method(call.tenant, *request, *response);      \
                               });                                                           \
  }

// Writes are answered once durable (the WAL fsync they share with others).
#define CXP_ROUTING_WRITE_RPC(Method)                                                            \
  grpc::ServerUnaryReactor* RoutingServiceImpl::Method(grpc::CallbackServerContext* context,     \
                                                       const v1::Method##Request* request,       \
                                                       v1::Method##Response* response) {         \
    return server::HandleUnaryWrite(context, pool_, core_,                                       \
                                    [this, request, response](const server::CallContext& call) { \
                                      return core_.Method(call.tenant, *request, *response);     \
                                    });                                                          \
  }

CXP_ROUTING_WRITE_RPC(CreateQueue)
CXP_ROUTING_READ_RPC(GetQueue)
CXP_ROUTING_WRITE_RPC(CreateAgent)
CXP_ROUTING_READ_RPC(GetAgent)
CXP_ROUTING_WRITE_RPC(SetAgentState)
CXP_ROUTING_READ_RPC(GetTask)
CXP_ROUTING_WRITE_RPC(AcceptTask)
CXP_ROUTING_WRITE_RPC(RejectTask)
CXP_ROUTING_WRITE_RPC(WrapUpTask)
CXP_ROUTING_WRITE_RPC(CompleteTask)
CXP_ROUTING_WRITE_RPC(CancelTask)
CXP_ROUTING_WRITE_RPC(TransferTask)
CXP_ROUTING_READ_RPC(GetQueueStats)

// SubmitTask first asks context_service about the customer (no thread waits
// for it), then hands the call to the pool like any write.
grpc::ServerUnaryReactor* RoutingServiceImpl::SubmitTask(grpc::CallbackServerContext* context,
                                                         const v1::SubmitTaskRequest* request,
                                                         v1::SubmitTaskResponse* response) {
  auto [reactor, call] = server::internal::StartCall(context);
  if (!call) return reactor;
  const std::string tenant = call->tenant;
  enricher_.Lookup(
      tenant, request->task().customer(),
      [this, context, reactor = reactor, call = *std::move(call), request,
       response](CustomerInfo customer) mutable {
        server::internal::RunOnPool(
            context, reactor, std::move(call), pool_,
            [this, request, response,
             customer = std::move(customer)](const server::CallContext& call) {
              return core_.SubmitTask(call.tenant, *request, customer, *response);
            },
            [this](grpc::ServerUnaryReactor* finished, absl::Status status) {
              core_.AfterDurable([finished, status = std::move(status)](absl::Status synced) {
                finished->Finish(ToGrpcStatus(synced.ok() ? status : synced));
              });
            });
      });
  return reactor;
}

grpc::ServerWriteReactor<v1::AgentSessionResponse>* RoutingServiceImpl::AgentSession(
    grpc::CallbackServerContext* context, const v1::AgentSessionRequest* request) {
  return new AgentSessionReactor(core_, pool_, context, *request, sessions_);
}

#undef CXP_ROUTING_READ_RPC
#undef CXP_ROUTING_WRITE_RPC

}  // namespace cxp::routing
