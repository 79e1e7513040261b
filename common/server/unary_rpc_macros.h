// Definitions of unary RPC handlers that are one hand-off each: the
// service class keeps a HandlerPool `pool_` and a core `core_` whose method
// of the same name takes (tenant, request, response) and returns
// absl::Status. Used inside a service's .cc file, e.g.
//
//   CXP_UNARY_READ_RPC(ContextServiceImpl, GetCustomer)
//   CXP_UNARY_WRITE_RPC(ContextServiceImpl, CreateCustomer)
//
// READ runs the core on the pool (HandleUnary); WRITE also answers only once
// what the core wrote is durable (HandleUnaryWrite, `core_` being the
// Durability). Generated types come from the namespace alias `v1`.

#ifndef CXP_COMMON_SERVER_UNARY_RPC_MACROS_H_
#define CXP_COMMON_SERVER_UNARY_RPC_MACROS_H_

#include "common/server/unary_call.h"

#define CXP_UNARY_READ_RPC(Class, Method)                                                   \
  grpc::ServerUnaryReactor* Class::Method(grpc::CallbackServerContext* context,             \
                                          const v1::Method##Request* request,               \
                                          v1::Method##Response* response) {                 \
    return ::cxp::server::HandleUnary(                                                      \
        context, pool_, [this, request, response](const ::cxp::server::CallContext& call) { \
          return core_.Method(call.tenant, *request, *response);                            \
        });                                                                                 \
  }

#define CXP_UNARY_WRITE_RPC(Class, Method)                                                         \
  grpc::ServerUnaryReactor* Class::Method(grpc::CallbackServerContext* context,                    \
                                          const v1::Method##Request* request,                      \
                                          v1::Method##Response* response) {                        \
    return ::cxp::server::HandleUnaryWrite(                                                        \
        context, pool_, core_, [this, request, response](const ::cxp::server::CallContext& call) { \
          return core_.Method(call.tenant, *request, *response);                                   \
        });                                                                                        \
  }

#endif  // CXP_COMMON_SERVER_UNARY_RPC_MACROS_H_
