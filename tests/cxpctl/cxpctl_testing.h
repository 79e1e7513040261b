// What the cxpctl end-to-end tests share: the three services as child
// processes on loopback ports with an API-key file (tenant "acme", kKey), and
// cxpctl (or a script) run as a child process with its output captured.
//
// A command can also be left running in the background (BackgroundCommand)
// and read, signalled and waited for.
//
// Threading: one test thread. Errors: Platform::Start returns the first
// server's failure to start; RunCommand reports a command that does not end
// within 60 s as a test failure (and kills it).

#ifndef CXP_TESTS_CXPCTL_CXPCTL_TESTING_H_
#define CXP_TESTS_CXPCTL_CXPCTL_TESTING_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace cxp::cxpctl::testing {

inline constexpr char kKey[] = "acme-cxpctl-key-0123456789abcdef";

std::string ReadAll(const std::string& path);

// `json` (cxpctl's --json output) parsed into a Message; a parse failure is
// a test failure.
template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status << "\n" << json;
  return message;
}

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

// A command left running in the background (e.g. `cxpctl agent desk`) while
// the test goes on; its stdout and stderr go to files read while it runs.
// The environment is set as for RunCommand. The destructor SIGKILLs it if it
// is still running.
class BackgroundCommand {
 public:
  static std::unique_ptr<BackgroundCommand> Start(const std::vector<std::string>& argv,
                                                  std::optional<std::string> env_key = {});
  // build/cxpctl/cxpctl with `args`.
  static std::unique_ptr<BackgroundCommand> StartCxpctl(const std::vector<std::string>& args);
  ~BackgroundCommand();

  std::string Stdout() const;
  std::string Stderr() const;
  // Waits until stdout holds `text`: false when `timeout` passes or the
  // command ends first.
  bool WaitForStdout(const std::string& text, absl::Duration timeout);
  void Signal(int signal_number) const;
  // Waits for the command to end: its exit code (128+signal when killed)
  // and output; exit_code -1 when it is still running after `timeout`.
  CommandRun Wait(absl::Duration timeout);

 private:
  BackgroundCommand() = default;
  bool Reap(bool block);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_path_, err_path_;
};

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

  // Generated clients for the servers (calls need kKey; see KeyedCall).
  std::unique_ptr<::cxp::context::v1::ContextService::Stub> ContextStub() const;
  std::unique_ptr<::cxp::routing::v1::RoutingService::Stub> RoutingStub() const;
  std::unique_ptr<::cxp::notify::v1::NotifyService::Stub> NotifyStub() const;

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

// Seeds what the cxpctl tests share: customer kim ("Kim Minji", tier
// `tier`, phone +821012345678, email kim@example.com) and queue support.
absl::Status CreateKimAndSupportQueue(const Platform& platform, const std::string& tier = "");

}  // namespace cxp::cxpctl::testing

#endif  // CXP_TESTS_CXPCTL_CXPCTL_TESTING_H_
