// The server interceptor every CXP call passes through. In this order it:
//  1. authenticates: `authorization: Bearer <key>` → tenant (api_keys.h), or
//     the default tenant when the server runs without keys. It strips the
//     key and any client-sent runtime header, and records the tenant for
//     GetCallContext(). A call without a valid key ends UNAUTHENTICATED
//     whatever its handler returned (health checks and reflection are
//     exempt: Kubernetes probes carry no credentials and the protos are
//     public).
//  2. assigns the request id (x-request-id from the client if well-formed,
//     else a random one) and echoes it in the response trailers;
//  3. records go-grpc-prometheus metrics (grpc_metrics.h);
//  4. writes one JSON line per call to stdout: ts, level, service, method,
//     grpc_code, latency_ms, tenant, request_id (and error for failures).
//
// Ownership: the factory borrows the registry and metrics, which must
// outlive the server. Threading: one interceptor per call; the factory is
// shared and immutable.

#ifndef CXP_COMMON_SERVER_RUNTIME_INTERCEPTOR_H_
#define CXP_COMMON_SERVER_RUNTIME_INTERCEPTOR_H_

#include <string>

#include "common/server/api_keys.h"
#include "common/server/grpc_metrics.h"
#include "grpcpp/support/server_interceptor.h"

namespace cxp::server {

struct InterceptorConfig {
  std::string service_name;
  const ApiKeyRegistry* api_keys = nullptr;  // null: single default tenant
  GrpcServerMetrics* metrics = nullptr;      // required
  bool log_requests = true;
};

class RuntimeInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RuntimeInterceptorFactory(InterceptorConfig config) : config_(std::move(config)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const InterceptorConfig config_;
};

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_RUNTIME_INTERCEPTOR_H_
