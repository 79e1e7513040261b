// GrpcServerMetrics — Prometheus metrics for every call, with the names and
// labels of go-grpc-prometheus so existing dashboards and alerts work:
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (histogram)
// grpc_code uses Go's code names ("OK", "NotFound", ...) for the same reason.
//
// Ownership: registers its families in the given registry, which must
// outlive it. Threading: all methods are thread-safe; the per-call path takes
// a shared lock for the method lookup and touches only atomics otherwise.

#ifndef CXP_COMMON_SERVER_GRPC_METRICS_H_
#define CXP_COMMON_SERVER_GRPC_METRICS_H_

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace cxp::server {

// "unary", "client_stream", "server_stream" or "bidi_stream".
absl::string_view GrpcTypeLabel(grpc::experimental::ServerRpcInfo::Type type);
// Go's name for a status code: "OK", "InvalidArgument", "Unauthenticated"...
absl::string_view GrpcCodeLabel(grpc::StatusCode code);

class GrpcServerMetrics {
 public:
  explicit GrpcServerMetrics(prometheus::Registry& registry);

  // Per-method instruments; the pointer stays valid for the metrics' life.
  class Method;
  Method* ForMethod(absl::string_view full_method, grpc::experimental::ServerRpcInfo::Type type);

  static void RecordStarted(Method* method);
  static void RecordHandled(Method* method, grpc::StatusCode code, absl::Duration elapsed);

 private:
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_seconds_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);
};

class GrpcServerMetrics::Method {
 public:
  Method(GrpcServerMetrics& owner, std::map<std::string, std::string> labels);

 private:
  friend class GrpcServerMetrics;
  prometheus::Counter& started_;
  prometheus::Histogram& handling_seconds_;
  prometheus::Family<prometheus::Counter>& handled_family_;
  const std::map<std::string, std::string> labels_;
  // Created on first use of each code; Family::Add is idempotent for labels.
  std::array<std::atomic<prometheus::Counter*>, 17> handled_by_code_{};
};

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_GRPC_METRICS_H_
