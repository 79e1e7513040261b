// CallContext — who is calling, as established by the runtime interceptor.
//
// The interceptor (runtime_interceptor.h) authenticates every call before a
// handler runs: it removes the client's `authorization` header and any
// client-sent tenant header, then records the authenticated tenant and the
// request id in the call's metadata under runtime-private keys. Handlers read
// them only through GetCallContext(), so a client can never choose its
// tenant (the Apache Unomi UNOMI-975 mistake).
//
// Errors: GetCallContext() returns UNAUTHENTICATED, with the reason, when the
// call carried no valid API key.
// Threading: reads the server context; call it from the handler.

#ifndef CXP_COMMON_SERVER_CALL_CONTEXT_H_
#define CXP_COMMON_SERVER_CALL_CONTEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace cxp::server {

struct CallContext {
  std::string tenant;      // authenticated tenant; every stored key is scoped by it
  std::string request_id;  // client's x-request-id, or one the server made up
};

absl::StatusOr<CallContext> GetCallContext(const grpc::ServerContextBase& context);

// Metadata keys the interceptor writes. Runtime-private: clients' values for
// them are discarded before handlers run.
inline constexpr char kTenantKey[] = "x-cxp-authenticated-tenant";
inline constexpr char kAuthErrorKey[] = "x-cxp-auth-error";
// Public: clients may send it to correlate logs; the server echoes it back.
inline constexpr char kRequestIdKey[] = "x-request-id";

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_CALL_CONTEXT_H_
