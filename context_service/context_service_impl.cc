#include "context_service/context_service_impl.h"

#include "common/server/unary_call.h"

namespace cxp::context {

// Each RPC: authenticate, hop to the handler pool, let the core decide.
#define CXP_CONTEXT_RPC(Method)                                                              \
  grpc::ServerUnaryReactor* ContextServiceImpl::Method(grpc::CallbackServerContext* context, \
                                                       const v1::Method##Request* request,   \
                                                       v1::Method##Response* response) {     \
    return server::HandleUnary(context, pool_,                                               \
                               [this, request, response](const server::CallContext& call) {  \
                                 return core_.Method(call.tenant, *request, *response);      \
                               });                                                           \
  }

CXP_CONTEXT_RPC(CreateCustomer)
CXP_CONTEXT_RPC(GetCustomer)
CXP_CONTEXT_RPC(UpdateCustomer)
CXP_CONTEXT_RPC(ListCustomers)
CXP_CONTEXT_RPC(DeleteCustomer)
CXP_CONTEXT_RPC(AddIdentity)
CXP_CONTEXT_RPC(RemoveIdentity)
CXP_CONTEXT_RPC(ResolveCustomer)
CXP_CONTEXT_RPC(AppendInteraction)
CXP_CONTEXT_RPC(ListInteractions)
CXP_CONTEXT_RPC(GetConsent)
CXP_CONTEXT_RPC(UpdateConsent)
CXP_CONTEXT_RPC(ListConsentHistory)
CXP_CONTEXT_RPC(GetContactPreferences)
CXP_CONTEXT_RPC(UpdateContactPreferences)
CXP_CONTEXT_RPC(GetCustomerContext)

#undef CXP_CONTEXT_RPC

}  // namespace cxp::context
