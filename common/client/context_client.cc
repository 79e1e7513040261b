#include "common/client/context_client.h"

#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/client/channel.h"

namespace cxp::client {

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ReadTenantKeys(
    const std::string& path, const std::string& flag) {
  absl::flat_hash_map<std::string, std::string> keys;
  if (path.empty()) return keys;
  std::ifstream file(path);
  if (!file) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::string line;
  while (std::getline(file, line)) {
    const absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(trimmed, ' ', absl::SkipEmpty());
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": want '<tenant> <key>' lines in ", path));
    }
    keys[parts[0]] = parts[1];
  }
  return keys;
}

absl::StatusOr<std::unique_ptr<ContextClient>> ContextClient::Create(ContextClientOptions options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError("context_service: an address is required");
  }
  ChannelOptions channel;
  channel.target = options.target;
  channel.tls_ca_file = options.tls_ca_file;
  channel.default_deadline = options.timeout;
  // Reads are safe to retry within their deadline; writes are not retried
  // here (their callers retry with a request_id).
  channel.idempotent_methods = {"/cxp.context.v1.ContextService/GetCustomerContext",
                                "/cxp.context.v1.ContextService/BatchGetCustomerContexts",
                                "/cxp.context.v1.ContextService/GetCustomer",
                                "/cxp.context.v1.ContextService/GetConsent",
                                "/cxp.context.v1.ContextService/GetContactPreferences"};
  absl::StatusOr<ServiceClient> service = ServiceClient::Create(channel);
  if (!service.ok()) return service.status();
  return std::unique_ptr<ContextClient>(new ContextClient(std::move(options), service->channel()));
}

ContextClient::ContextClient(ContextClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(Service::NewStub(channel_)) {}

absl::StatusOr<std::string> ContextClient::KeyFor(const std::string& tenant) const {
  if (options_.keys.empty()) return std::string();
  auto it = options_.keys.find(tenant);
  if (it == options_.keys.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no context_service API key for tenant \"", tenant, "\""));
  }
  return it->second;
}

absl::StatusOr<std::unique_ptr<grpc::ClientReaderInterface<cxp::context::v1::WatchChangesResponse>>>
ContextClient::WatchChanges(const std::string& tenant, grpc::ClientContext& context,
                            const cxp::context::v1::WatchChangesRequest& request) const {
  absl::StatusOr<std::string> key = KeyFor(tenant);
  if (!key.ok()) return key.status();
  if (!key->empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", *key));
  return stub_->WatchChanges(&context, request);
}

absl::Status ContextClient::FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("context_service: ", status.error_message()));
}

}  // namespace cxp::client
