#include "common/server/grpc_metrics.h"

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cxp::server {
namespace {

// Seconds. Finer than Prometheus' defaults at the low end: our point reads
// are sub-millisecond and the p99 targets are in single milliseconds.
const prometheus::Histogram::BucketBoundaries& HandlingBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *buckets;
}

}  // namespace

absl::string_view GrpcTypeLabel(grpc::experimental::ServerRpcInfo::Type type) {
  switch (type) {
    case grpc::experimental::ServerRpcInfo::Type::UNARY:
      return "unary";
    case grpc::experimental::ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case grpc::experimental::ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case grpc::experimental::ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

absl::string_view GrpcCodeLabel(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "Canceled";
    case grpc::StatusCode::UNKNOWN:
      return "Unknown";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "InvalidArgument";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DeadlineExceeded";
    case grpc::StatusCode::NOT_FOUND:
      return "NotFound";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "AlreadyExists";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PermissionDenied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "ResourceExhausted";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FailedPrecondition";
    case grpc::StatusCode::ABORTED:
      return "Aborted";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OutOfRange";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "Unimplemented";
    case grpc::StatusCode::INTERNAL:
      return "Internal";
    case grpc::StatusCode::UNAVAILABLE:
      return "Unavailable";
    case grpc::StatusCode::DATA_LOSS:
      return "DataLoss";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "Unauthenticated";
    default:
      return "Unknown";
  }
}

GrpcServerMetrics::GrpcServerMetrics(prometheus::Registry& registry)
    : started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("Total number of RPCs started on the server.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("Total number of RPCs completed on the server, regardless of "
                         "success or failure.")
                   .Register(registry)),
      handling_seconds_(prometheus::BuildHistogram()
                            .Name("grpc_server_handling_seconds")
                            .Help("Histogram of response latency (seconds) of gRPC that had "
                                  "been application-level handled by the server.")
                            .Register(registry)) {}

GrpcServerMetrics::Method::Method(GrpcServerMetrics& owner,
                                  std::map<std::string, std::string> labels)
    : started_(owner.started_.Add(labels)),
      handling_seconds_(owner.handling_seconds_.Add(labels, HandlingBuckets())),
      handled_family_(owner.handled_),
      labels_(std::move(labels)) {}

GrpcServerMetrics::Method* GrpcServerMetrics::ForMethod(
    absl::string_view full_method, grpc::experimental::ServerRpcInfo::Type type) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = methods_.find(full_method);
    if (it != methods_.end()) return it->second.get();
  }
  // "/cxp.context.v1.ContextService/GetCustomer" → service, method.
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(absl::StripPrefix(full_method, "/"), absl::MaxSplits('/', 1));
  std::map<std::string, std::string> labels = {{"grpc_type", std::string(GrpcTypeLabel(type))},
                                               {"grpc_service", std::string(parts.first)},
                                               {"grpc_method", std::string(parts.second)}};
  absl::MutexLock lock(&mu_);
  auto& slot = methods_[full_method];
  if (slot == nullptr) slot = std::make_unique<Method>(*this, std::move(labels));
  return slot.get();
}

void GrpcServerMetrics::RecordStarted(Method* method) { method->started_.Increment(); }

void GrpcServerMetrics::RecordHandled(Method* method, grpc::StatusCode code,
                                      absl::Duration elapsed) {
  const size_t index = static_cast<size_t>(code) < method->handled_by_code_.size()
                           ? static_cast<size_t>(code)
                           : static_cast<size_t>(grpc::StatusCode::UNKNOWN);
  prometheus::Counter* counter = method->handled_by_code_[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    auto labels = method->labels_;
    labels["grpc_code"] = std::string(GrpcCodeLabel(static_cast<grpc::StatusCode>(index)));
    counter = &method->handled_family_.Add(labels);  // same labels → same counter
    method->handled_by_code_[index].store(counter, std::memory_order_release);
  }
  counter->Increment();
  method->handling_seconds_.Observe(absl::ToDoubleSeconds(elapsed));
}

}  // namespace cxp::server
