// The one entry point every CXP server binary uses.
//
// RunServiceMain() parses the shared command-line flags (see server_flags.h),
// starts a gRPC server with the shared runtime (auth, metrics, request logs,
// health, reflection, TLS, keepalive and connection-age limits), blocks until
// SIGTERM or SIGINT, then drains: health turns NOT_SERVING, in-flight calls get
// up to --drain_timeout to finish, and `on_drained` runs (close stores there).
// It returns the process exit code: 0 after a clean drain, non-zero when the
// server could not start (the reason is logged as a JSON line on stderr).
//
// Threading: call from main() before any other thread starts; it blocks
// SIGTERM/SIGINT in every thread and waits for them with sigwait() on its own
// thread, so nothing runs inside a signal handler.

#ifndef CXP_COMMON_SERVER_SERVICE_MAIN_H_
#define CXP_COMMON_SERVER_SERVICE_MAIN_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/server/server.h"
#include "grpcpp/impl/codegen/service_type.h"

namespace cxp::server {

struct ServiceDefinition {
  // Short name used in logs, metrics and --help, e.g. "context_service".
  std::string name;
  // Used when --listen / --metrics_listen are not given.
  std::string default_listen_address;
  std::string default_metrics_address;
  // Builds the gRPC services once flags are parsed and options are known
  // (data_dir, sync_writes, ...). The returned objects must outlive the
  // server; RunServiceMain keeps `Services::owned` alive until after drain.
  std::function<absl::StatusOr<ServiceSet>(const ServerOptions&)> build;
};

int RunServiceMain(const ServiceDefinition& definition, int argc, char** argv);

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_SERVICE_MAIN_H_
