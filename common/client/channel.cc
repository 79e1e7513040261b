#include "common/client/channel.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace cxp::client {
namespace {

absl::StatusOr<std::string> ReadFile(absl::string_view what, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::FailedPreconditionError(absl::StrCat(what, ": cannot read ", path));
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string Seconds(absl::Duration d) { return absl::StrCat(absl::ToDoubleSeconds(d), "s"); }

}  // namespace

std::string RetryServiceConfig(const ChannelOptions& options) {
  if (options.idempotent_methods.empty()) return "";
  std::vector<std::string> names;
  for (const std::string& method : options.idempotent_methods) {
    // "/pkg.Service/Method" → {"service":"pkg.Service","method":"Method"};
    // "/pkg.Service/" → the whole service.
    std::vector<std::string> parts =
        absl::StrSplit(absl::StripPrefix(method, "/"), absl::MaxSplits('/', 1));
    std::string name = absl::StrCat("{\"service\":\"", parts[0], "\"");
    if (parts.size() > 1 && !parts[1].empty())
      absl::StrAppend(&name, ",\"method\":\"", parts[1], "\"");
    names.push_back(name + "}");
  }
  return absl::StrCat("{\"methodConfig\":[{\"name\":[", absl::StrJoin(names, ","),
                      "],\"retryPolicy\":{\"maxAttempts\":", std::min(options.max_attempts, 5),
                      ",\"initialBackoff\":\"", Seconds(options.initial_backoff),
                      "\",\"maxBackoff\":\"", Seconds(options.max_backoff),
                      "\",\"backoffMultiplier\":2,\"retryableStatusCodes\":[\"UNAVAILABLE\"]}}]}");
}

absl::StatusOr<ServiceClient> ServiceClient::Create(ChannelOptions options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca_file.empty() && options.tls_cert_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca_file.empty()) {
      auto ca = ReadFile("tls_ca_file", options.tls_ca_file);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *std::move(ca);
    }
    if (!options.tls_cert_file.empty()) {
      auto cert = ReadFile("tls_cert_file", options.tls_cert_file);
      if (!cert.ok()) return cert.status();
      auto key = ReadFile("tls_key_file", options.tls_key_file);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *std::move(cert);
      ssl.pem_private_key = *std::move(key);
    }
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  const std::string service_config = RetryServiceConfig(options);
  if (!service_config.empty()) args.SetServiceConfigJSON(service_config);
  auto channel = grpc::CreateCustomChannel(options.target, credentials, args);
  return ServiceClient(std::move(options), std::move(channel));
}

std::unique_ptr<grpc::ClientContext> ServiceClient::NewCallContext(absl::Duration deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (deadline == absl::InfiniteDuration()) deadline = options_.default_deadline;
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (!options_.api_key.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.api_key));
  }
  return context;
}

}  // namespace cxp::client
