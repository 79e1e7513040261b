#include "routing_service/routing_service_impl.h"

#include "common/server/unary_call.h"
#include "common/server/unary_rpc_macros.h"
#include "common/status/grpc_status.h"

namespace cxp::routing {

// Each RPC: authenticate, hop to the handler pool, let the core decide;
// writes are answered once durable.
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, CreateQueue)
CXP_UNARY_READ_RPC(RoutingServiceImpl, GetQueue)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, UpdateQueue)
CXP_UNARY_READ_RPC(RoutingServiceImpl, ListQueues)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, DeleteQueue)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, CreateAgent)
CXP_UNARY_READ_RPC(RoutingServiceImpl, GetAgent)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, UpdateAgent)
CXP_UNARY_READ_RPC(RoutingServiceImpl, ListAgents)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, DeleteAgent)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, SetAgentState)
CXP_UNARY_READ_RPC(RoutingServiceImpl, GetTask)
CXP_UNARY_READ_RPC(RoutingServiceImpl, ListTasks)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, AcceptTask)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, RejectTask)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, WrapUpTask)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, CompleteTask)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, CancelTask)
CXP_UNARY_WRITE_RPC(RoutingServiceImpl, TransferTask)
CXP_UNARY_READ_RPC(RoutingServiceImpl, GetQueueStats)

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

grpc::ServerWriteReactor<v1::WatchQueueStatsResponse>* RoutingServiceImpl::WatchQueueStats(
    grpc::CallbackServerContext* context, const v1::WatchQueueStatsRequest* request) {
  return new WatchQueueStatsReactor(core_, pool_, context, *request, watches_);
}

}  // namespace cxp::routing
