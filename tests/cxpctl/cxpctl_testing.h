// What the cxpctl end-to-end tests share: the three services as child
// processes on loopback ports with an API-key file (tenant "acme", kKey), and
// cxpctl (or a script) run as a child process with its output captured.
//
// Threading: one test thread. Errors: Platform::Start returns the first
// server's failure to start; RunCommand reports a command that does not end
// within 60 s as a test failure (and kills it).

#ifndef CXP_TESTS_CXPCTL_CXPCTL_TESTING_H_
#define CXP_TESTS_CXPCTL_CXPCTL_TESTING_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/server_process.h"

namespace cxp::cxpctl::testing {

inline constexpr char kKey[] = "acme-cxpctl-key-0123456789abcdef";

std::string ReadAll(const std::string& path);

// A loopback port nothing listens on (bound, then released).
int UnusedPort();

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] a path) with CXP_API_KEY unset, then set to
// `env_key` if given, and `env` added to the environment.
CommandRun RunCommand(const std::vector<std::string>& argv, std::optional<std::string> env_key = {},
                      const std::map<std::string, std::string>& env = {});

// build/cxpctl/cxpctl with `args`.
CommandRun RunCxpctl(const std::vector<std::string>& args, std::optional<std::string> env_key = {});

// context_service, routing_service and notify_service in a fresh directory,
// with the key files dir()/keys (acme, kKey) and dir()/wrong_key. Email goes
// to a closed SMTP port, so deliveries wait for a retry.
class Platform {
 public:
  static absl::StatusOr<std::unique_ptr<Platform>> Start(const std::string& dir_prefix);

  const std::string& dir() const { return dir_; }
  const ::cxp::testing::ServerProcess& context() const { return *context_; }
  const ::cxp::testing::ServerProcess& routing() const { return *routing_; }
  const ::cxp::testing::ServerProcess& notify() const { return *notify_; }

  // cxpctl's global flags for these servers, the key file dir()/`key_file`
  // and a 20 s deadline.
  std::vector<std::string> Flags(const std::string& key_file = "keys") const;
  // Flags() followed by `args`.
  std::vector<std::string> Args(std::vector<std::string> args,
                                const std::string& key_file = "keys") const;

 private:
  std::string dir_;
  std::unique_ptr<::cxp::testing::ServerProcess> context_, routing_, notify_;
};

}  // namespace cxp::cxpctl::testing

#endif  // CXP_TESTS_CXPCTL_CXPCTL_TESTING_H_
