#include "common/server/call_context.h"

#include "absl/strings/str_cat.h"

namespace cxp::server {
namespace {

std::string Find(const grpc::ServerContextBase& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

absl::StatusOr<CallContext> GetCallContext(const grpc::ServerContextBase& context) {
  CallContext call;
  call.tenant = Find(context, kTenantKey);
  call.request_id = Find(context, kRequestIdKey);
  if (call.tenant.empty()) {
    std::string reason = Find(context, kAuthErrorKey);
    return absl::UnauthenticatedError(reason.empty() ? "call was not authenticated" : reason);
  }
  return call;
}

}  // namespace cxp::server
