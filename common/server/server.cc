#include "common/server/server.h"

#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/server/api_keys.h"
#include "common/server/grpc_metrics.h"
#include "common/server/json_log.h"
#include "common/server/listen_address.h"
#include "common/server/runtime_interceptor.h"
#include "common/status/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace cxp::server {
namespace {

absl::StatusOr<std::string> ReadFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(flag, ": cannot read ", path));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(const TlsOptions& tls) {
  if (tls.cert_file.empty() && tls.key_file.empty()) {
    if (!tls.client_ca_file.empty()) {
      return absl::InvalidArgumentError("tls_client_ca: requires --tls_cert and --tls_key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError("tls_cert/tls_key: both must be given for TLS");
  }
  if (tls.reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("tls_reload_interval: must be at least 1s");
  }
  // Read once here so a missing file is a clear start-up error; the watcher
  // below then loads them itself, and again whenever they change.
  RETURN_IF_ERROR(ReadFile("tls_cert", tls.cert_file).status());
  RETURN_IF_ERROR(ReadFile("tls_key", tls.key_file).status());
  if (!tls.client_ca_file.empty()) {
    RETURN_IF_ERROR(ReadFile("tls_client_ca", tls.client_ca_file).status());
  }
  auto files = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file, tls.cert_file, tls.client_ca_file,
      static_cast<unsigned int>(absl::ToInt64Seconds(tls.reload_interval)));
  grpc::experimental::TlsServerCredentialsOptions options(files);
  options.watch_identity_key_cert_pairs();
  if (!tls.client_ca_file.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

int ToMillis(absl::Duration d) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX));
}

// Health and reflection are process-wide switches in gRPC; flip them once.
void EnableProcessWidePlugins() {
  static const bool enabled = [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    return true;
  }();
  (void)enabled;
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  std::vector<std::string> service_names;
  std::optional<ApiKeyRegistry> api_keys;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<GrpcServerMetrics> metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::unique_ptr<grpc::Server> server;
  // Serves only health (its own default health service, kept in step).
  std::unique_ptr<grpc::Server> health_server;
  int port = 0;
  int metrics_port = 0;
  int health_port = 0;
  absl::Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      const std::vector<NamedService>& services) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;

  ASSIGN_OR_RETURN(const ListenAddress address,
                   ParseListenAddress("listen", options.listen_address));
  if (options.api_keys_file.empty() && !address.is_loopback) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen: refusing to serve ", options.listen_address,
                     " without authentication; a non-loopback address needs --api_keys_file "
                     "(or listen on 127.0.0.1 for local use)"));
  }
  if (!options.api_keys_file.empty()) {
    ASSIGN_OR_RETURN(impl->api_keys, ApiKeyRegistry::LoadFile(options.api_keys_file));
    if (impl->api_keys->size() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("api_keys_file: ", options.api_keys_file, " lists no keys"));
    }
  }
  ASSIGN_OR_RETURN(const std::shared_ptr<grpc::ServerCredentials> credentials,
                   MakeCredentials(options.tls));
  std::string health_target;
  if (!options.health_address.empty()) {
    ASSIGN_OR_RETURN(const ListenAddress health_address,
                     ParseListenAddress("health_listen", options.health_address));
    health_target = health_address.grpc_target;
  }

  impl->metrics = std::make_unique<GrpcServerMetrics>(*impl->registry);
  if (!options.metrics_address.empty()) {
    RETURN_IF_ERROR(ParseListenAddress("metrics_listen", options.metrics_address));
    try {
      impl->exposer = std::make_unique<prometheus::Exposer>(options.metrics_address);
    } catch (const std::exception& e) {
      return absl::UnavailableError(absl::StrCat("metrics_listen: cannot listen on ",
                                                 options.metrics_address, ": ", e.what()));
    }
    impl->exposer->RegisterCollectable(impl->registry);
    std::vector<int> ports = impl->exposer->GetListeningPorts();
    impl->metrics_port = ports.empty() ? 0 : ports.front();
  }

  EnableProcessWidePlugins();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address.grpc_target, credentials, &impl->port);
  for (const NamedService& named : services) {
    builder.RegisterService(named.service);
    impl->service_names.push_back(named.full_name);
  }
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ToMillis(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ToMillis(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, ToMillis(options.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             ToMillis(options.max_connection_age_grace));
  // Clients may ping idle connections every 10 s (gRPC's default minimum is
  // 5 min, which makes well-behaved keepalive clients get GOAWAY).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);

  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<RuntimeInterceptorFactory>(
      InterceptorConfig{.service_name = options.service_name,
                        .api_keys = impl->api_keys ? &*impl->api_keys : nullptr,
                        .metrics = impl->metrics.get(),
                        .log_requests = options.log_requests}));
  builder.experimental().SetInterceptorCreators(std::move(factories));

  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(absl::StrCat("listen: cannot bind ", options.listen_address));
  }
  if (!options.health_address.empty()) {
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(health_target, grpc::InsecureServerCredentials(),
                                    &impl->health_port);
    impl->health_server = health_builder.BuildAndStart();
    if (impl->health_server == nullptr || impl->health_port == 0) {
      impl->server->Shutdown(absl::ToChronoTime(absl::Now()));
      return absl::UnavailableError(
          absl::StrCat("health_listen: cannot bind ", options.health_address));
    }
  }
  for (grpc::Server* server : {impl->server.get(), impl->health_server.get()}) {
    if (server == nullptr) continue;
    grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
    health->SetServingStatus("", true);
    for (const std::string& name : impl->service_names) health->SetServingStatus(name, true);
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

int Server::port() const { return impl_->port; }
int Server::metrics_port() const { return impl_->metrics_port; }
int Server::health_port() const { return impl_->health_port; }
const ServerOptions& Server::options() const { return impl_->options; }

void Server::Shutdown(absl::Duration drain) {
  absl::MutexLock lock(&impl_->shutdown_mu);
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  // NOT_SERVING first, so load balancers and probes stop sending new calls;
  // then gRPC stops accepting, waits for in-flight calls up to the deadline,
  // and cancels the rest.
  //
  // Idle connections can hold this back too, by up to ~5 s (never past the
  // deadline): gRPC returns only once every connection is closed, and it
  // closes each with a graceful GOAWAY: a first GOAWAY plus a PING, the
  // final GOAWAY once the client ACKs the PING (or after 20 s). A client on
  // gRPC core (C++, Python, ...) with no call open reads its socket only
  // when its channel's backup poller runs, every 5 s by default
  // (GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS), so its ACK comes up to
  // 5 s late; a client that closes its channel, or keeps reading its socket,
  // costs nothing. Not worked around here: the public API can only cut
  // every connection at once (grpc_server_cancel_all_calls), which would
  // also fail calls a client sent before it saw the first GOAWAY, the ones
  // the PING waits for.
  impl_->server->GetHealthCheckService()->Shutdown();
  // The health listener reports NOT_SERVING through the drain and goes last.
  if (impl_->health_server) impl_->health_server->GetHealthCheckService()->Shutdown();
  impl_->server->Shutdown(absl::ToChronoTime(absl::Now() + drain));
  impl_->server->Wait();
  if (impl_->health_server) {
    impl_->health_server->Shutdown(absl::ToChronoTime(absl::Now()));
    impl_->health_server->Wait();
  }
  impl_->exposer.reset();
}

}  // namespace cxp::server
