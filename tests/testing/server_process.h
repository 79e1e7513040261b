// ServerProcess — runs a CXP server binary as a child process for tests that
// need a real process: signals (SIGTERM drain, SIGKILL crash tests), restarts
// on the same data directory, and partner clients in other languages.
//
// Start() execs the binary with the given flags (plus --listen=127.0.0.1:0
// and --metrics_listen=127.0.0.1:0 unless given), sends its stderr to a file
// and waits for the runtime's {"msg":"serving",...} line to learn the ports.
// The destructor SIGKILLs a child that is still running.
//
// Threading: not thread-safe; one test thread owns it.

#ifndef CXP_TESTS_TESTING_SERVER_PROCESS_H_
#define CXP_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cxp::testing {

// $CXP_BINARY_DIR (set by cxp_cc_test) joined with `relative`.
std::string BinaryPath(const std::string& relative);
// $CXP_SOURCE_DIR joined with `relative`.
std::string SourcePath(const std::string& relative);
// A fresh empty directory under the test's temp dir ($TEST_TMPDIR, else
// /tmp), removed with its contents when the test process exits normally
// (kept when CXP_KEEP_TEST_DIRS=1, for a post-mortem).
std::string MakeTempDir(const std::string& prefix);

class ServerProcess {
 public:
  static absl::StatusOr<ServerProcess> Start(const std::string& binary,
                                             std::vector<std::string> flags,
                                             absl::Duration startup_timeout = absl::Seconds(30));
  ServerProcess(ServerProcess&& other) noexcept;
  ServerProcess& operator=(ServerProcess&& other) noexcept;
  ~ServerProcess();

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  int health_port() const { return health_port_; }  // 0: no --health_listen
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

  void Signal(int signal_number) const;
  // Waits for the child to exit; its exit code, or 128+signal when killed;
  // nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);
  // Everything the child wrote to stderr so far.
  std::string Stderr() const;

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  int health_port_ = 0;
  std::string stderr_path_;
};

// Runs `binary` with `flags` to completion; returns exit code and stderr.
struct ProcessResult {
  int exit_code = -1;
  std::string stderr_output;
};
ProcessResult RunToCompletion(const std::string& binary, const std::vector<std::string>& flags,
                              absl::Duration timeout = absl::Seconds(30));

}  // namespace cxp::testing

#endif  // CXP_TESTS_TESTING_SERVER_PROCESS_H_
