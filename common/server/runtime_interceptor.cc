#include "common/server/runtime_interceptor.h"

#include <optional>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/server/call_context.h"
#include "common/server/json_log.h"

namespace cxp::server {
namespace {

using grpc::experimental::InterceptionHookPoints;
using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

constexpr size_t kMaxRequestIdLength = 64;

bool IsAuthExempt(absl::string_view method) {
  return absl::StartsWith(method, "/grpc.health.v1.Health/") ||
         absl::StartsWith(method, "/grpc.reflection.v1alpha.ServerReflection/") ||
         absl::StartsWith(method, "/grpc.reflection.v1.ServerReflection/");
}

bool IsWellFormedRequestId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("%016x%016x", rng(), rng());
}

std::optional<absl::string_view> Header(const Metadata& metadata, absl::string_view key) {
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

// Removes every value of `key`; clients must not be able to set it.
void Erase(Metadata& metadata, absl::string_view key) {
  metadata.erase(grpc::string_ref(key.data(), key.size()));
}

absl::string_view LogLevelFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
      return "error";
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "warn";
    default:
      return "info";
  }
}

class RuntimeInterceptor : public grpc::experimental::Interceptor {
 public:
  RuntimeInterceptor(const InterceptorConfig& config, grpc::experimental::ServerRpcInfo* info)
      : config_(config),
        method_name_(info->method() != nullptr ? info->method() : ""),
        auth_exempt_(IsAuthExempt(method_name_)),
        start_(absl::Now()),
        metrics_(config.metrics->ForMethod(method_name_, info->type())) {
    GrpcServerMetrics::RecordStarted(metrics_);
  }

  ~RuntimeInterceptor() override {
    // No status was sent: the client cancelled or the deadline passed first.
    if (!finished_) Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      OnRequestHeaders(*methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (!auth_error_.empty() && !auth_exempt_) {
        // Defence in depth: whatever the handler did, the caller learns only
        // that it is not authenticated.
        status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, auth_error_);
        methods->ModifySendStatus(status);
      }
      // The request id travels in trailers, not headers: response headers
      // commit a call, and gRPC then no longer retries it (gRFC A6).
      methods->GetSendTrailingMetadata()->emplace(kRequestIdKey, request_id_);
      Finish(status);
    }
    methods->Proceed();
  }

 private:
  void OnRequestHeaders(Metadata& metadata) {
    std::optional<absl::string_view> client_request_id = Header(metadata, kRequestIdKey);
    request_id_ = client_request_id && IsWellFormedRequestId(*client_request_id)
                      ? std::string(*client_request_id)
                      : NewRequestId();
    std::optional<absl::string_view> authorization = Header(metadata, "authorization");
    Authenticate(authorization);
    // Copies are taken above; now drop what handlers must never see or trust.
    Erase(metadata, "authorization");
    Erase(metadata, kTenantKey);
    Erase(metadata, kAuthErrorKey);
    Erase(metadata, kRequestIdKey);
    // string_refs into this interceptor's members, which live as long as the call.
    metadata.emplace(kRequestIdKey, request_id_);
    if (!tenant_.empty()) {
      metadata.emplace(kTenantKey, tenant_);
    } else {
      metadata.emplace(kAuthErrorKey, auth_error_);
    }
  }

  void Authenticate(std::optional<absl::string_view> authorization) {
    if (config_.api_keys == nullptr) {
      tenant_ = std::string(kDefaultTenant);
      return;
    }
    if (!authorization) {
      auth_error_ = "missing 'authorization: Bearer <api key>' header";
      return;
    }
    constexpr absl::string_view kScheme = "bearer ";
    if (authorization->size() <= kScheme.size() ||
        !absl::EqualsIgnoreCase(authorization->substr(0, kScheme.size()), kScheme)) {
      auth_error_ = "authorization header must be 'Bearer <api key>'";
      return;
    }
    std::optional<std::string> tenant = config_.api_keys->TenantForKey(
        absl::StripAsciiWhitespace(authorization->substr(kScheme.size())));
    if (!tenant) {
      auth_error_ = "unknown API key";
      return;
    }
    tenant_ = *std::move(tenant);
  }

  void Finish(const grpc::Status& status) {
    finished_ = true;
    const absl::Time now = absl::Now();
    const absl::Duration elapsed = now - start_;
    GrpcServerMetrics::RecordHandled(metrics_, status.error_code(), elapsed);
    if (!config_.log_requests) return;
    JsonLine line(now, LogLevelFor(status.error_code()));
    line.Add("service", config_.service_name)
        .Add("method", method_name_)
        .Add("grpc_code", GrpcCodeLabel(status.error_code()))
        .Add("latency_ms", absl::ToDoubleMilliseconds(elapsed))
        .Add("tenant", tenant_)
        .Add("request_id", request_id_);
    if (!status.ok()) line.Add("error", status.error_message());
    line.Emit();
  }

  const InterceptorConfig& config_;
  const std::string method_name_;
  const bool auth_exempt_;
  const absl::Time start_;
  GrpcServerMetrics::Method* const metrics_;
  std::string tenant_;
  std::string auth_error_;
  std::string request_id_;
  bool finished_ = false;
};

}  // namespace

grpc::experimental::Interceptor* RuntimeInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new RuntimeInterceptor(config_, info);
}

}  // namespace cxp::server
