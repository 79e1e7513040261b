#include "tests/cxpctl/cxpctl_testing.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/keyed_call.h"

namespace cxp::cxpctl::testing {

using ::cxp::testing::BinaryPath;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

namespace {

// The directory for commands' output files.
const std::string& RunDir() {
  static const auto* dir = new std::string(MakeTempDir("cxpctl_run_"));
  return *dir;
}

// Starts `argv` with its stdout and stderr in the files at those paths.
pid_t Spawn(const std::vector<std::string>& argv, const std::optional<std::string>& env_key,
            const std::map<std::string, std::string>& env, const std::string& out_path,
            const std::string& err_path) {
  std::vector<std::string> argv_storage = argv;
  const pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    unsetenv("CXP_API_KEY");
    if (env_key) setenv("CXP_API_KEY", env_key->c_str(), 1);
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (std::string& arg : argv_storage) args.push_back(arg.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

CommandRun RunCommand(const std::vector<std::string>& argv, std::optional<std::string> env_key,
                      const std::map<std::string, std::string>& env) {
  const std::string out_path = RunDir() + "/stdout", err_path = RunDir() + "/stderr";
  const pid_t pid = Spawn(argv, env_key, env, out_path, err_path);
  CommandRun run;
  int status = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << argv[0] << " did not finish within 60 s";
      return run;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = ReadAll(out_path);
  run.err = ReadAll(err_path);
  return run;
}

CommandRun RunCxpctl(const std::vector<std::string>& args, std::optional<std::string> env_key) {
  std::vector<std::string> argv = {BinaryPath("cxpctl/cxpctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, std::move(env_key));
}

std::unique_ptr<BackgroundCommand> BackgroundCommand::Start(const std::vector<std::string>& argv,
                                                            std::optional<std::string> env_key) {
  static int started = 0;
  auto command = std::unique_ptr<BackgroundCommand>(new BackgroundCommand());
  const std::string prefix = absl::StrCat(RunDir(), "/background_", ++started);
  command->out_path_ = prefix + ".stdout";
  command->err_path_ = prefix + ".stderr";
  command->pid_ = Spawn(argv, env_key, {}, command->out_path_, command->err_path_);
  return command;
}

std::unique_ptr<BackgroundCommand> BackgroundCommand::StartCxpctl(
    const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BinaryPath("cxpctl/cxpctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  return Start(argv);
}

BackgroundCommand::~BackgroundCommand() {
  if (!Reap(/*block=*/false)) {
    kill(pid_, SIGKILL);
    Reap(/*block=*/true);
  }
}

// Records the exit code once the child has ended; true when it has.
bool BackgroundCommand::Reap(bool block) {
  if (exit_code_) return true;
  int status = 0;
  if (waitpid(pid_, &status, block ? 0 : WNOHANG) != pid_) return false;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

std::string BackgroundCommand::Stdout() const { return ReadAll(out_path_); }
std::string BackgroundCommand::Stderr() const { return ReadAll(err_path_); }

bool BackgroundCommand::WaitForStdout(const std::string& text, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (Stdout().find(text) == std::string::npos) {
    // Read once more after the end: the last lines may have come with it.
    if (Reap(/*block=*/false)) return Stdout().find(text) != std::string::npos;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

void BackgroundCommand::Signal(int signal_number) const {
  if (!exit_code_) kill(pid_, signal_number);
}

CommandRun BackgroundCommand::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Reap(/*block=*/false) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  CommandRun run;
  run.exit_code = exit_code_.value_or(-1);
  run.out = Stdout();
  run.err = Stderr();
  return run;
}

absl::StatusOr<std::unique_ptr<Platform>> Platform::Start(const std::string& dir_prefix) {
  auto platform = std::make_unique<Platform>();
  platform->dir_ = MakeTempDir(dir_prefix);
  const std::string& dir = platform->dir_;
  std::ofstream(dir + "/keys") << "# tenant key\nacme " << kKey << "\n";
  std::ofstream(dir + "/wrong_key") << "acme not-the-key-0123456789abcdef\n";
  const std::string keys = "--api_keys_file=" + dir + "/keys";
  auto context = ServerProcess::Start(
      BinaryPath("context_service/context_service"),
      {"--data_dir=" + dir + "/context", keys, "--metrics_listen=off", "--log_requests=false"});
  if (!context.ok()) return context.status();
  platform->context_ = std::make_unique<ServerProcess>(*std::move(context));
  const std::vector<std::string> context_client = {
      "--context_service=" + platform->context_->address(), "--context_timeout=2s",
      "--context_api_keys_file=" + dir + "/keys"};
  std::vector<std::string> flags = {"--data_dir=" + dir + "/routing", keys, "--metrics_listen=off",
                                    "--log_requests=false"};
  flags.insert(flags.end(), context_client.begin(), context_client.end());
  auto routing = ServerProcess::Start(BinaryPath("routing_service/routing_service"), flags);
  if (!routing.ok()) return routing.status();
  platform->routing_ = std::make_unique<ServerProcess>(*std::move(routing));
  flags = {"--data_dir=" + dir + "/notify", keys,
           "--smtp_host=127.0.0.1",         "--smtp_port=" + std::to_string(UnusedPort()),
           "--smtp_starttls=none",          "--smtp_from=Shop <alerts@shop.example>",
           "--metrics_listen=off",          "--log_requests=false"};
  flags.insert(flags.end(), context_client.begin(), context_client.end());
  auto notify = ServerProcess::Start(BinaryPath("notify_service/notify_service"), flags);
  if (!notify.ok()) return notify.status();
  platform->notify_ = std::make_unique<ServerProcess>(*std::move(notify));
  return platform;
}

std::vector<std::string> Platform::Flags(const std::string& key_file) const {
  return {"--context",
          context_->address(),
          "--routing",
          routing_->address(),
          "--notify=" + notify_->address(),
          "--api_key_file",
          dir_ + "/" + key_file,
          "--timeout",
          "20s"};
}

std::unique_ptr<::cxp::context::v1::ContextService::Stub> Platform::ContextStub() const {
  return ::cxp::context::v1::ContextService::NewStub(
      grpc::CreateChannel(context_->address(), grpc::InsecureChannelCredentials()));
}

std::unique_ptr<::cxp::routing::v1::RoutingService::Stub> Platform::RoutingStub() const {
  return ::cxp::routing::v1::RoutingService::NewStub(
      grpc::CreateChannel(routing_->address(), grpc::InsecureChannelCredentials()));
}

std::unique_ptr<::cxp::notify::v1::NotifyService::Stub> Platform::NotifyStub() const {
  return ::cxp::notify::v1::NotifyService::NewStub(
      grpc::CreateChannel(notify_->address(), grpc::InsecureChannelCredentials()));
}

std::vector<std::string> Platform::Args(std::vector<std::string> args,
                                        const std::string& key_file) const {
  std::vector<std::string> all = Flags(key_file);
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

absl::Status CreateKimAndSupportQueue(const Platform& platform, const std::string& tier) {
  namespace ctx = ::cxp::context::v1;
  namespace routing_v1 = ::cxp::routing::v1;
  namespace type = ::cxp::type::v1;
  ctx::CreateCustomerRequest customer;
  customer.set_customer_id("kim");
  customer.mutable_customer()->set_display_name("Kim Minji");
  customer.mutable_customer()->set_tier(tier);
  type::Identity& phone = *customer.mutable_customer()->add_identities()->mutable_identity();
  phone.set_kind(type::IDENTITY_KIND_PHONE);
  phone.set_value("+821012345678");
  type::Identity& email = *customer.mutable_customer()->add_identities()->mutable_identity();
  email.set_kind(type::IDENTITY_KIND_EMAIL);
  email.set_value("kim@example.com");
  absl::Status created =
      ::cxp::testing::KeyedCall(*platform.ContextStub(), &ctx::ContextService::Stub::CreateCustomer,
                                customer, std::string(kKey))
          .status();
  if (!created.ok()) return created;
  routing_v1::CreateQueueRequest queue;
  queue.set_queue_id("support");
  queue.mutable_queue()->set_display_name("Support");
  return ::cxp::testing::KeyedCall(*platform.RoutingStub(),
                                   &routing_v1::RoutingService::Stub::CreateQueue, queue,
                                   std::string(kKey))
      .status();
}

}  // namespace cxp::cxpctl::testing
