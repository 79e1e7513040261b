// cxp::server::Server — a started gRPC server with the shared CXP runtime.
//
// Every CXP service runs on this: callback-API services, grpc.health.v1
// (SERVING once started, NOT_SERVING while draining), server reflection,
// API-key authentication with tenants (auth.h), Prometheus metrics on
// /metrics (metrics.h), one JSON log line per request (request_log.h), TLS or
// mTLS (with an optional plaintext health-only listener for probes), and the
// channel limits Kubernetes needs (max concurrent streams,
// message size, keepalive, max connection age so load spreads over pods).
//
// Ownership: Server does not own the services handed to Start(); they must
// outlive it. Threading: all methods are thread-safe; Shutdown() may be
// called from any thread but not from inside a handler (it waits for them).
// Errors: Start() returns INVALID_ARGUMENT for bad options (e.g. a
// non-loopback listen address without an API-key file), FAILED_PRECONDITION
// when TLS files cannot be read, UNAVAILABLE when the port cannot be bound.

#ifndef CXP_COMMON_SERVER_SERVER_H_
#define CXP_COMMON_SERVER_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/impl/codegen/service_type.h"

namespace cxp::server {

// TLS files are read at start (unreadable: FAILED_PRECONDITION) and then
// watched: a renewed certificate, key or CA (e.g. a Kubernetes Secret that
// cert-manager rewrote) is used for new connections within
// `reload_interval`, without a restart. A file that cannot be read later
// keeps the last good one in use.
struct TlsOptions {
  std::string cert_file;       // PEM server certificate chain; empty = no TLS
  std::string key_file;        // PEM private key for cert_file
  std::string client_ca_file;  // PEM CA bundle; set = mTLS, client cert required
  absl::Duration reload_interval = absl::Minutes(1);  // >= 1 s
};

struct ServerOptions {
  std::string service_name;     // e.g. "context_service"; logs, metrics
  std::string listen_address;   // host:port; port 0 picks a free one
  std::string metrics_address;  // host:port for /metrics; empty = off
  // host:port of a plaintext listener with only grpc.health.v1 (and
  // reflection), in step with the main port's health; empty = off. For
  // probes that cannot speak TLS while listen_address serves it.
  std::string health_address;
  std::string data_dir;     // where the service keeps its stores
  bool sync_writes = true;  // fsync the WAL before acknowledging
  int block_cache_mb = 64;  // RocksDB block cache in MiB; >= 1 (OpenServiceStore checks)
  TlsOptions tls;
  std::string api_keys_file;          // empty = single default tenant (loopback only)
  int max_concurrent_streams = 1024;  // per HTTP/2 connection
  int max_message_bytes = 4 << 20;    // receive and send limit
  absl::Duration keepalive_time = absl::Minutes(2);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration max_connection_age = absl::Minutes(30);
  absl::Duration max_connection_age_grace = absl::Minutes(5);
  absl::Duration drain_timeout = absl::Seconds(20);
  bool log_requests = true;  // one JSON line per request on stdout
  int worker_threads = 0;    // handler pool; 0 = hardware threads * 4
};

// A service to serve and its full proto name (e.g.
// cxp.context.v1.ContextService::service_full_name()); health checks answer
// for that name.
struct NamedService {
  std::string full_name;
  grpc::Service* service = nullptr;  // not owned
};

// The services a binary serves, with what must happen after they drained.
struct ServiceSet {
  void Add(std::string full_name, std::unique_ptr<grpc::Service> service) {
    services.emplace_back(std::move(full_name), std::move(service));
  }
  // Full proto name → the service (owned).
  std::vector<std::pair<std::string, std::unique_ptr<grpc::Service>>> services;
  // Runs when shutdown starts, before draining: end long-lived streams here.
  std::function<void()> on_shutdown;
  // Runs once the server has drained and stopped: close stores here.
  std::function<void()> on_drained;
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       const std::vector<NamedService>& services);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();  // Shutdown(absl::ZeroDuration()) if not yet shut down.

  // The port bound for gRPC, for /metrics and for the health listener (0
  // when that is off).
  int port() const;
  int metrics_port() const;
  int health_port() const;
  const ServerOptions& options() const;

  // Health NOT_SERVING, stop accepting calls, let in-flight calls finish for
  // up to `drain`, then cancel what remains and wait for handlers to return.
  // Returns once every connection is closed: an idle client connection may
  // add up to ~5 s (within `drain`; see server.cc).
  void Shutdown(absl::Duration drain);

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_SERVER_H_
