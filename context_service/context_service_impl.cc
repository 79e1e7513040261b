#include "context_service/context_service_impl.h"

#include "common/server/unary_call.h"

namespace cxp::context {

// Each RPC: authenticate, hop to the handler pool, let the core decide.
#define CXP_CONTEXT_READ_RPC(Method)                                                         \
  grpc::ServerUnaryReactor* ContextServiceImpl::Method(grpc::CallbackServerContext* context, \
                                                       const v1::Method##Request* request,   \
                                                       v1::Method##Response* response) {     \
    return server::HandleUnary(context, pool_,                                               \
                               [this, request, response](const server::CallContext& call) {  \
                                 return core_.Method(call.tenant, *request, *response);      \
                               });                                                           \
  }

// Writes are answered once durable (the WAL fsync they share with others).
#define CXP_CONTEXT_WRITE_RPC(Method)                                                        \
  grpc::ServerUnaryReactor* ContextServiceImpl::Method(grpc::CallbackServerContext* context, \
                                                       const v1::Method##Request* request,   \
                                                       v1::Method##Response* response) {     \
    return server::HandleUnaryWrite(                                                         \
        context, pool_, core_, [this, request, response](const server::CallContext& call) {  \
          return core_.Method(call.tenant, *request, *response);                             \
        });                                                                                  \
  }

CXP_CONTEXT_WRITE_RPC(CreateCustomer)
CXP_CONTEXT_READ_RPC(GetCustomer)
CXP_CONTEXT_WRITE_RPC(UpdateCustomer)
CXP_CONTEXT_READ_RPC(ListCustomers)
CXP_CONTEXT_WRITE_RPC(DeleteCustomer)
CXP_CONTEXT_WRITE_RPC(AddIdentity)
CXP_CONTEXT_WRITE_RPC(RemoveIdentity)
CXP_CONTEXT_READ_RPC(ResolveCustomer)
CXP_CONTEXT_WRITE_RPC(AppendInteraction)
CXP_CONTEXT_READ_RPC(ListInteractions)
CXP_CONTEXT_READ_RPC(GetConsent)
CXP_CONTEXT_WRITE_RPC(UpdateConsent)
CXP_CONTEXT_READ_RPC(ListConsentHistory)
CXP_CONTEXT_READ_RPC(GetContactPreferences)
CXP_CONTEXT_WRITE_RPC(UpdateContactPreferences)
CXP_CONTEXT_READ_RPC(GetCustomerContext)

#undef CXP_CONTEXT_READ_RPC
#undef CXP_CONTEXT_WRITE_RPC

}  // namespace cxp::context
