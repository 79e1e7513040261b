#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace cxp::testing {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

pid_t Spawn(const std::string& binary, const std::vector<std::string>& flags,
            const std::string& stderr_path) {
  std::vector<std::string> args = {binary};
  args.insert(args.end(), flags.begin(), flags.end());
  pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: stdout (request logs) to /dev/null, stderr to the file.
  int devnull = open("/dev/null", O_WRONLY);
  int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(devnull, STDOUT_FILENO);
  dup2(err, STDERR_FILENO);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

std::optional<int> WaitPid(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (absl::Now() > deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

bool HasFlag(const std::vector<std::string>& flags, const std::string& name) {
  for (const std::string& flag : flags) {
    if (absl::StartsWith(flag, "--" + name + "=")) return true;
  }
  return false;
}

}  // namespace

std::string BinaryPath(const std::string& relative) {
  return EnvOr("CXP_BINARY_DIR", ".") + "/" + relative;
}

std::string SourcePath(const std::string& relative) {
  return EnvOr("CXP_SOURCE_DIR", ".") + "/" + relative;
}

namespace {

// Directories MakeTempDir made, removed when the test process exits (a
// suite run leaves nothing behind in /tmp; data dirs of RocksDB stores are
// hundreds of MB). CXP_KEEP_TEST_DIRS=1 keeps them for a post-mortem.
absl::Mutex temp_dirs_mu(absl::kConstInit);
std::vector<std::string>* temp_dirs ABSL_GUARDED_BY(temp_dirs_mu) = nullptr;

void RemoveTempDirs() {
  absl::MutexLock lock(&temp_dirs_mu);
  if (temp_dirs == nullptr) return;
  for (const std::string& dir : *temp_dirs) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  temp_dirs->clear();
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  std::string base = EnvOr("TEST_TMPDIR", "/tmp");
  std::string pattern = base + "/" + prefix + "XXXXXX";
  char* dir = mkdtemp(pattern.data());
  if (dir == nullptr) return "";
  if (EnvOr("CXP_KEEP_TEST_DIRS", "") != "1") {
    absl::MutexLock lock(&temp_dirs_mu);
    if (temp_dirs == nullptr) {
      temp_dirs = new std::vector<std::string>();
      std::atexit(RemoveTempDirs);  // children exec or _exit: only this process runs it
    }
    temp_dirs->push_back(dir);
  }
  return std::string(dir);
}

absl::StatusOr<ServerProcess> ServerProcess::Start(const std::string& binary,
                                                   std::vector<std::string> flags,
                                                   absl::Duration startup_timeout) {
  if (!HasFlag(flags, "listen")) flags.push_back("--listen=127.0.0.1:0");
  if (!HasFlag(flags, "metrics_listen")) flags.push_back("--metrics_listen=127.0.0.1:0");
  ServerProcess process;
  process.stderr_path_ = MakeTempDir("server_stderr_") + "/stderr.log";
  process.pid_ = Spawn(binary, flags, process.stderr_path_);
  const std::regex serving(R"re("msg":"serving".*"port":(\d+),"metrics_port":(\d+))re");
  const absl::Time deadline = absl::Now() + startup_timeout;
  while (absl::Now() < deadline) {
    std::smatch match;
    const std::string output = ReadAll(process.stderr_path_);
    if (std::regex_search(output, match, serving)) {
      process.port_ = std::stoi(match[1]);
      process.metrics_port_ = std::stoi(match[2]);
      const std::regex health(R"re("msg":"serving".*"health_port":(\d+))re");
      if (std::smatch health_match; std::regex_search(output, health_match, health)) {
        process.health_port_ = std::stoi(health_match[1]);
      }
      return process;
    }
    if (std::optional<int> code = WaitPid(process.pid_, absl::ZeroDuration())) {
      process.pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat(binary, " exited with ", *code, " before serving: ", output));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(binary, " did not report serving: ", ReadAll(process.stderr_path_)));
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept { *this = std::move(other); }

ServerProcess& ServerProcess::operator=(ServerProcess&& other) noexcept {
  std::swap(pid_, other.pid_);
  std::swap(port_, other.port_);
  std::swap(metrics_port_, other.metrics_port_);
  std::swap(health_port_, other.health_port_);
  std::swap(stderr_path_, other.stderr_path_);
  return *this;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    WaitPid(pid_, absl::Seconds(10));
  }
}

void ServerProcess::Signal(int signal_number) const {
  if (pid_ > 0) kill(pid_, signal_number);
}

std::optional<int> ServerProcess::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return std::nullopt;
  std::optional<int> code = WaitPid(pid_, timeout);
  if (code) pid_ = -1;
  return code;
}

std::string ServerProcess::Stderr() const { return ReadAll(stderr_path_); }

ProcessResult RunToCompletion(const std::string& binary, const std::vector<std::string>& flags,
                              absl::Duration timeout) {
  const std::string stderr_path = MakeTempDir("run_stderr_") + "/stderr.log";
  pid_t pid = Spawn(binary, flags, stderr_path);
  ProcessResult result;
  std::optional<int> code = WaitPid(pid, timeout);
  if (!code) {
    kill(pid, SIGKILL);
    WaitPid(pid, absl::Seconds(10));
  }
  result.exit_code = code.value_or(-1);
  result.stderr_output = ReadAll(stderr_path);
  return result;
}

}  // namespace cxp::testing
