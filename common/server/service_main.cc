#include "common/server/service_main.h"

#include <pthread.h>
#include <signal.h>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/server/json_log.h"
#include "common/server/server_flags.h"

namespace cxp::server {
namespace {

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

}  // namespace

int RunServiceMain(const ServiceDefinition& definition, int argc, char** argv) {
  // Blocked before any thread exists, so every thread gRPC or RocksDB starts
  // inherits the mask and the signals queue up for sigwait() below.
  const sigset_t signals = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Debian's Abseil is built with mutex deadlock detection on: a lock-order
  // graph updated on every Mutex lock, measured at 5-8 % of a server's CPU.
  // It is a debugging aid; the unit tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // --help lists the shared runtime flags (and any the binary's own files
  // define), not only flags from a file named like the binary.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) {
    return absl::StrContains(path, "common/server/") || absl::StrContains(path, "_service/") ||
           absl::StrContains(path, "main.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(absl::StrCat(
      "CXP ", definition.name,
      " gRPC server. Runs until SIGTERM or SIGINT, then drains.\n\nUsage: ", argv[0], " [flags]"));
  absl::ParseCommandLine(argc, argv);

  const ServerOptions options = ServerOptionsFromFlags(
      definition.name, definition.default_listen_address, definition.default_metrics_address);

  absl::StatusOr<ServiceSet> services = definition.build(options);
  if (!services.ok()) {
    LogEvent("error", definition.name,
             absl::StrCat("cannot start: ", services.status().ToString()));
    return 1;
  }
  std::vector<NamedService> named;
  for (const auto& [full_name, service] : services->services) {
    named.push_back({full_name, service.get()});
  }
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, named);
  if (!server.ok()) {
    LogEvent("error", definition.name, absl::StrCat("cannot start: ", server.status().ToString()));
    if (services->on_drained) services->on_drained();
    return 1;
  }
  JsonLine(absl::Now(), "info")
      .Add("service", definition.name)
      .Add("msg", "serving")
      .Add("listen", options.listen_address)
      .Add("port", static_cast<int64_t>((*server)->port()))
      .Add("metrics_port", static_cast<int64_t>((*server)->metrics_port()))
      .Add("health_port", static_cast<int64_t>((*server)->health_port()))
      .Add("data_dir", options.data_dir)
      .Add("auth", options.api_keys_file.empty() ? "none (single tenant 'default')" : "api keys")
      .Add("tls", options.tls.cert_file.empty()
                      ? "off"
                      : (options.tls.client_ca_file.empty() ? "tls" : "mtls"))
      .Emit(LogStream::kStderr);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogEvent("info", definition.name,
           absl::StrCat("received ", strsignal(signal_number), "; draining for up to ",
                        absl::FormatDuration(options.drain_timeout)));
  const absl::Time drain_start = absl::Now();
  if (services->on_shutdown) services->on_shutdown();
  (*server)->Shutdown(options.drain_timeout);
  server->reset();
  if (services->on_drained) services->on_drained();
  services->services.clear();
  LogEvent("info", definition.name,
           absl::StrCat("stopped cleanly after ", absl::FormatDuration(absl::Now() - drain_start)));
  return 0;
}

}  // namespace cxp::server
