#include "routing_service/routing_service_impl.h"

#include "common/server/unary_call.h"

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

grpc::ServerUnaryReactor* RoutingServiceImpl::SubmitTask(grpc::CallbackServerContext* context,
                                                         const v1::SubmitTaskRequest* request,
                                                         v1::SubmitTaskResponse* response) {
  return server::HandleUnaryWrite(
      context, pool_, core_, [this, request, response](const server::CallContext& call) {
        // Customer context from context_service comes with the routing
        // issue's enrichment step; until then the task says why none was used.
        const CustomerInfo customer{
            .looked_up = false,
            .skip_reason = request->task().has_customer()
                               ? "context enrichment is not available in this version"
                               : "no customer on task"};
        return core_.SubmitTask(call.tenant, *request, customer, *response);
      });
}

grpc::ServerWriteReactor<v1::AgentSessionResponse>* RoutingServiceImpl::AgentSession(
    grpc::CallbackServerContext* context, const v1::AgentSessionRequest* request) {
  return new AgentSessionReactor(core_, pool_, context, *request, sessions_);
}

#undef CXP_ROUTING_READ_RPC
#undef CXP_ROUTING_WRITE_RPC

}  // namespace cxp::routing
