// Client helper for service-to-service calls (routing → context, notify →
// context) and for tools: one place that builds channels and call contexts.
//
// - Channels use TLS when a CA (or client certificate, for mTLS) is given,
//   plaintext otherwise, and keepalive so dead peers are noticed.
// - Retries: gRPC's own retry policy (service config), applied only to the
//   methods listed as idempotent, on UNAVAILABLE, with exponential backoff.
//   Non-idempotent calls are never retried by this layer.
// - NewCallContext() gives every call a deadline (no call waits forever on a
//   slow dependency) and the API key as `authorization: Bearer <key>`.
//
// Threading: channels and ServiceClient are thread-safe; a ClientContext is
// for one call. Errors: CreateChannel() returns FAILED_PRECONDITION when a
// TLS file cannot be read.

#ifndef CXP_COMMON_CLIENT_CHANNEL_H_
#define CXP_COMMON_CLIENT_CHANNEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace cxp::client {

struct ChannelOptions {
  std::string target;         // "host:port" or any gRPC target URI
  std::string api_key;        // sent as a bearer token; empty = none
  std::string tls_ca_file;    // PEM roots; set = TLS
  std::string tls_cert_file;  // PEM client cert for mTLS (with key)
  std::string tls_key_file;
  std::string tls_server_name;  // override for the certificate's host name
  absl::Duration default_deadline = absl::Seconds(5);
  // Full method names ("/cxp.context.v1.ContextService/GetCustomer") or whole
  // services ("/cxp.context.v1.ContextService/") that are safe to retry.
  std::vector<std::string> idempotent_methods;
  int max_attempts = 4;  // including the first; gRPC caps it at 5
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
};

// The gRPC service config JSON encoding the retry policy above; exposed for tests.
std::string RetryServiceConfig(const ChannelOptions& options);

class ServiceClient {
 public:
  static absl::StatusOr<ServiceClient> Create(ChannelOptions options);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // A context for one call: deadline = now + `deadline` (or the default),
  // the API key attached. Keep it alive until the call completes.
  std::unique_ptr<grpc::ClientContext> NewCallContext(
      absl::Duration deadline = absl::InfiniteDuration()) const;

 private:
  ServiceClient(ChannelOptions options, std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)), channel_(std::move(channel)) {}
  ChannelOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace cxp::client

#endif  // CXP_COMMON_CLIENT_CHANNEL_H_
