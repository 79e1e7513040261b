#include "common/server/server_flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, listen, "",
          "gRPC listen address host:port. Default: the service's own "
          "loopback port (context_service 127.0.0.1:50051, routing_service "
          "127.0.0.1:50052, notify_service 127.0.0.1:50053). Listening on a "
          "non-loopback address requires --api_keys_file.");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port serving Prometheus metrics on /metrics. Default: the "
          "service's own (context 127.0.0.1:9101, routing 127.0.0.1:9102, "
          "notify 127.0.0.1:9103); 'off' disables the endpoint.");
ABSL_FLAG(std::string, health_listen, "",
          "host:port of a second, plaintext gRPC listener serving only "
          "grpc.health.v1 (and reflection) with the main port's status, for "
          "probes that cannot speak TLS (the kubelet's gRPC probe) while "
          "--listen serves TLS. Needs no API key. Empty: off.");
ABSL_FLAG(std::string, data_dir, "",
          "Directory for the service's RocksDB data. Default: "
          "./data/<service name>.");
ABSL_FLAG(bool, sync_writes, true,
          "fsync the RocksDB WAL before acknowledging a write. Turning this "
          "off trades durability on power loss for latency.");
ABSL_FLAG(int, block_cache_mb, 64,
          "RocksDB block cache size in MiB (default 64); size it to the hot data. Must be >= 1.");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate chain. With --tls_key, serves TLS.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert.");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Minutes(1),
          "How often the TLS files are checked for changes: a renewed "
          "certificate, key or client CA is used for new connections "
          "without a restart. At least 1s.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle. When set, clients must present a certificate "
          "signed by it (mTLS). Requires --tls_cert/--tls_key.");
ABSL_FLAG(std::string, api_keys_file, "",
          "File mapping API keys to tenants, one '<tenant> <key>' pair per "
          "line ('#' starts a comment). Clients send 'authorization: Bearer "
          "<key>'. Without it the server serves one tenant, 'default', and "
          "only on a loopback address.");
ABSL_FLAG(int, max_concurrent_streams, 1024, "Maximum concurrent calls per HTTP/2 connection.");
ABSL_FLAG(int, max_message_bytes, 4 << 20, "Largest request or response message, in bytes.");
ABSL_FLAG(absl::Duration, keepalive_time, absl::Minutes(2),
          "Interval of server keepalive pings on idle connections.");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(20),
          "How long to wait for a keepalive ping ack before closing.");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(30),
          "Connections are asked to reconnect (GOAWAY) after this age, so "
          "long-lived clients spread over new pods.");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::Minutes(5),
          "Time calls on an aged connection get to finish before it closes.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(20),
          "On SIGTERM/SIGINT: how long in-flight calls get to finish before "
          "they are cancelled. Keep below Kubernetes' "
          "terminationGracePeriodSeconds.");
ABSL_FLAG(bool, log_requests, true, "Write one JSON line per request to stdout.");
ABSL_FLAG(int, worker_threads, 0,
          "Threads running request handlers off the gRPC reactor threads; 0 "
          "picks 4 per hardware thread (writes do not hold a thread while "
          "their WAL fsync runs, so few are needed).");

namespace cxp::server {

ServerOptions ServerOptionsFromFlags(const std::string& service_name,
                                     const std::string& default_listen_address,
                                     const std::string& default_metrics_address) {
  ServerOptions options;
  options.service_name = service_name;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  if (options.listen_address.empty()) options.listen_address = default_listen_address;
  options.metrics_address = absl::GetFlag(FLAGS_metrics_listen);
  if (options.metrics_address.empty()) {
    options.metrics_address = default_metrics_address;
  } else if (options.metrics_address == "off") {
    options.metrics_address.clear();
  }
  options.health_address = absl::GetFlag(FLAGS_health_listen);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  if (options.data_dir.empty()) options.data_dir = "./data/" + service_name;
  options.sync_writes = absl::GetFlag(FLAGS_sync_writes);
  options.block_cache_mb = absl::GetFlag(FLAGS_block_cache_mb);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  options.tls.reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  options.api_keys_file = absl::GetFlag(FLAGS_api_keys_file);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);
  options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  options.log_requests = absl::GetFlag(FLAGS_log_requests);
  options.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  return options;
}

}  // namespace cxp::server
