// Command-line flags shared by every CXP server binary (Abseil flags).
//
// `--help` lists them; README.md documents each. ServerOptionsFromFlags()
// reads them after absl::ParseCommandLine(); service-specific defaults (the
// listen and metrics addresses) come from the caller because each service
// has its own port.

#ifndef CXP_COMMON_SERVER_SERVER_FLAGS_H_
#define CXP_COMMON_SERVER_SERVER_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"
#include "absl/time/time.h"
#include "common/server/server.h"

ABSL_DECLARE_FLAG(std::string, listen);
ABSL_DECLARE_FLAG(std::string, metrics_listen);
ABSL_DECLARE_FLAG(std::string, health_listen);
ABSL_DECLARE_FLAG(std::string, data_dir);
ABSL_DECLARE_FLAG(bool, sync_writes);
ABSL_DECLARE_FLAG(int, block_cache_mb);
ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);
ABSL_DECLARE_FLAG(std::string, tls_client_ca);
ABSL_DECLARE_FLAG(absl::Duration, tls_reload_interval);
ABSL_DECLARE_FLAG(std::string, api_keys_file);
ABSL_DECLARE_FLAG(int, max_concurrent_streams);
ABSL_DECLARE_FLAG(int, max_message_bytes);
ABSL_DECLARE_FLAG(absl::Duration, keepalive_time);
ABSL_DECLARE_FLAG(absl::Duration, keepalive_timeout);
ABSL_DECLARE_FLAG(absl::Duration, max_connection_age);
ABSL_DECLARE_FLAG(absl::Duration, max_connection_age_grace);
ABSL_DECLARE_FLAG(absl::Duration, drain_timeout);
ABSL_DECLARE_FLAG(bool, log_requests);
ABSL_DECLARE_FLAG(int, worker_threads);

namespace cxp::server {

// Builds options from the parsed flags. An empty --listen / --metrics_listen
// / --data_dir falls back to the given defaults; --metrics_listen=off turns
// the metrics endpoint off.
ServerOptions ServerOptionsFromFlags(const std::string& service_name,
                                     const std::string& default_listen_address,
                                     const std::string& default_metrics_address);

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_SERVER_FLAGS_H_
