// cxpctl end to end: real context_service, routing_service and
// notify_service as child processes on loopback ports with an API-key file,
// the cxpctl binary run as a child process, its stdout, stderr and exit code
// checked, in human form and as --json (parsed back into the response).
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/keyed_call.h"
#include "tests/testing/server_process.h"

namespace cxp::cxpctl {
namespace {

using ::cxp::testing::BinaryPath;
using ::cxp::testing::KeyedCall;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
namespace ctx = ::cxp::context::v1;
namespace routing_v1 = ::cxp::routing::v1;
namespace notify_v1 = ::cxp::notify::v1;
namespace type = ::cxp::type::v1;

constexpr char kKey[] = "acme-cxpctl-key-0123456789abcdef";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// A loopback port nothing listens on (bound, then released).
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

struct CxpctlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs build/cxpctl/cxpctl with `args` and, if set, CXP_API_KEY=`env_key`.
CxpctlRun RunCxpctl(const std::vector<std::string>& args, std::optional<std::string> env_key = {}) {
  static const std::string dir = MakeTempDir("cxpctl_run_");
  const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  std::vector<std::string> argv_storage = {BinaryPath("cxpctl/cxpctl")};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    unsetenv("CXP_API_KEY");
    if (env_key) setenv("CXP_API_KEY", env_key->c_str(), 1);
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  CxpctlRun run;
  int status = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "cxpctl did not finish within 60 s";
      return run;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = ReadAll(out_path);
  run.err = ReadAll(err_path);
  return run;
}

template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status << "\n" << json;
  return message;
}

class CxpctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("cxpctl_test_"));
    std::ofstream(*dir_ + "/keys") << "# tenant key\nacme " << kKey << "\n";
    std::ofstream(*dir_ + "/wrong_key") << "acme not-the-key-0123456789abcdef\n";
    const std::string keys = "--api_keys_file=" + *dir_ + "/keys";
    auto context = ServerProcess::Start(
        BinaryPath("context_service/context_service"),
        {"--data_dir=" + *dir_ + "/context", keys, "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(context.ok()) << context.status();
    context_ = new ServerProcess(*std::move(context));
    auto routing = ServerProcess::Start(
        BinaryPath("routing_service/routing_service"),
        {"--data_dir=" + *dir_ + "/routing", keys, "--context_service=" + context_->address(),
         "--context_timeout=2s", "--context_api_keys_file=" + *dir_ + "/keys",
         "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(routing.ok()) << routing.status();
    routing_ = new ServerProcess(*std::move(routing));
    // No mail is read back here: the SMTP port is closed, so deliveries
    // wait for a retry; SendNotification's answer is what cxpctl shows.
    auto notify = ServerProcess::Start(
        BinaryPath("notify_service/notify_service"),
        {"--data_dir=" + *dir_ + "/notify", keys, "--context_service=" + context_->address(),
         "--context_timeout=2s", "--context_api_keys_file=" + *dir_ + "/keys",
         "--smtp_host=127.0.0.1", "--smtp_port=" + std::to_string(UnusedPort()),
         "--smtp_starttls=none", "--smtp_from=Shop <alerts@shop.example>", "--metrics_listen=off",
         "--log_requests=false"});
    ASSERT_TRUE(notify.ok()) << notify.status();
    notify_ = new ServerProcess(*std::move(notify));
    SeedData();
  }

  static void TearDownTestSuite() {
    delete notify_;
    delete routing_;
    delete context_;
    delete dir_;
  }

  // Customer kim (phone 010-1234-5678 in KR, email), queue support, template otp.
  static void SeedData() {
    auto context_stub = ctx::ContextService::NewStub(
        grpc::CreateChannel(context_->address(), grpc::InsecureChannelCredentials()));
    ctx::CreateCustomerRequest customer;
    customer.set_customer_id("kim");
    customer.mutable_customer()->set_display_name("Kim Minji");
    customer.mutable_customer()->set_tier("VIP");
    type::Identity& phone = *customer.mutable_customer()->add_identities()->mutable_identity();
    phone.set_kind(type::IDENTITY_KIND_PHONE);
    phone.set_value("+821012345678");
    type::Identity& email = *customer.mutable_customer()->add_identities()->mutable_identity();
    email.set_kind(type::IDENTITY_KIND_EMAIL);
    email.set_value("kim@example.com");
    auto created =
        KeyedCall(*context_stub, &ctx::ContextService::Stub::CreateCustomer, customer, kKey);
    ASSERT_TRUE(created.ok()) << created.status();

    auto routing_stub = routing_v1::RoutingService::NewStub(
        grpc::CreateChannel(routing_->address(), grpc::InsecureChannelCredentials()));
    routing_v1::CreateQueueRequest queue;
    queue.set_queue_id("support");
    queue.mutable_queue()->set_display_name("Support");
    auto queue_created =
        KeyedCall(*routing_stub, &routing_v1::RoutingService::Stub::CreateQueue, queue, kKey);
    ASSERT_TRUE(queue_created.ok()) << queue_created.status();

    auto notify_stub = notify_v1::NotifyService::NewStub(
        grpc::CreateChannel(notify_->address(), grpc::InsecureChannelCredentials()));
    notify_v1::CreateTemplateRequest template_request;
    template_request.set_template_id("otp");
    notify_v1::Template& tmpl = *template_request.mutable_template_();
    tmpl.set_display_name("One-time password");
    notify_v1::TemplateLocale& locale = *tmpl.add_locales();
    locale.mutable_email()->set_subject("Your code");
    locale.mutable_email()->set_text_body("Your code is {{code}}.");
    auto template_created = KeyedCall(*notify_stub, &notify_v1::NotifyService::Stub::CreateTemplate,
                                      template_request, kKey);
    ASSERT_TRUE(template_created.ok()) << template_created.status();
  }

  // cxpctl pointed at the three servers with the key file, then `args`.
  static std::vector<std::string> Args(std::vector<std::string> args,
                                       const std::string& key_file = "keys") {
    std::vector<std::string> all = {"--context",
                                    context_->address(),
                                    "--routing",
                                    routing_->address(),
                                    "--notify=" + notify_->address(),
                                    "--api_key_file",
                                    *dir_ + "/" + key_file,
                                    "--timeout",
                                    "20s"};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }

  static std::string* dir_;
  static ServerProcess* context_;
  static ServerProcess* routing_;
  static ServerProcess* notify_;
};

std::string* CxpctlTest::dir_ = nullptr;
ServerProcess* CxpctlTest::context_ = nullptr;
ServerProcess* CxpctlTest::routing_ = nullptr;
ServerProcess* CxpctlTest::notify_ = nullptr;

TEST_F(CxpctlTest, ResolvesACustomerByANationalPhoneNumber) {
  CxpctlRun run = RunCxpctl(Args({"customer", "resolve", "phone", "010-1234-5678"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, IsEmpty());
  EXPECT_THAT(
      run.out,
      AllOf(HasSubstr("customer      customers/kim\n"), HasSubstr("display_name  Kim Minji\n"),
            HasSubstr("tier          VIP\n"), HasSubstr("identities    phone +821012345678\n"),
            HasSubstr("              email kim@example.com\n")));

  run = RunCxpctl(Args({"--json", "customer", "resolve", "phone", "010-1234-5678"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(FromJson<ctx::ResolveCustomerResponse>(run.out).customer().name(), "customers/kim");
}

TEST_F(CxpctlTest, AppendsInteractionsAndShowsTheTimelineNewestFirst) {
  CxpctlRun first =
      RunCxpctl(Args({"interaction", "append", "customers/kim", "--channel", "VOICE", "--direction",
                      "INBOUND", "--type", "call", "--summary", "card lost"}));
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, AllOf(HasSubstr("interaction   customers/kim/interactions/"),
                               HasSubstr("VOICE INBOUND call  \"card lost\"")));
  // The second by email identity, as JSON.
  CxpctlRun second = RunCxpctl(
      Args({"interaction", "append", "email:KIM@example.com", "--channel", "email", "--direction",
            "outbound", "--type", "reply", "--summary", "new card sent", "--json"}));
  EXPECT_EQ(second.exit_code, 0) << second.err;
  const auto appended = FromJson<ctx::AppendInteractionResponse>(second.out);
  EXPECT_EQ(appended.interaction().channel(), type::CHANNEL_EMAIL);
  EXPECT_EQ(appended.interaction().summary(), "new card sent");

  CxpctlRun human = RunCxpctl(Args({"customer", "context", "phone:010-1234-5678"}));
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_THAT(human.out, AllOf(StartsWith("customer      customers/kim\n"),
                               HasSubstr("timeline (newest first):\n"),
                               HasSubstr("contacts      2 in 24h, 2 in 7d, 2 in 30d")));
  const size_t newer = human.out.find("EMAIL OUTBOUND reply  \"new card sent\"");
  const size_t older = human.out.find("VOICE INBOUND call  \"card lost\"");
  ASSERT_NE(newer, std::string::npos) << human.out;
  ASSERT_NE(older, std::string::npos) << human.out;
  EXPECT_LT(newer, older) << human.out;

  CxpctlRun json =
      RunCxpctl(Args({"customer", "context", "customers/kim", "--json", "--limit", "1"}));
  EXPECT_EQ(json.exit_code, 0) << json.err;
  const auto context = FromJson<ctx::GetCustomerContextResponse>(json.out).customer_context();
  EXPECT_EQ(context.customer().name(), "customers/kim");
  ASSERT_EQ(context.recent_interactions_size(), 1);
  EXPECT_EQ(context.recent_interactions(0).summary(), "new card sent");
}

TEST_F(CxpctlTest, NotFoundPrintsTheCodeAndExits1) {
  CxpctlRun run = RunCxpctl(Args({"customer", "context", "customers/nobody"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: "));

  run = RunCxpctl(Args({"--json", "customer", "resolve", "email", "nobody@example.com"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: "));
}

TEST_F(CxpctlTest, AWrongKeyIsUnauthenticatedAndTheEnvironmentKeyWorks) {
  CxpctlRun run = RunCxpctl(Args({"customer", "context", "customers/kim"}, "wrong_key"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: UNAUTHENTICATED: "));

  // No --api_key_file: $CXP_API_KEY.
  std::vector<std::string> args = {"--context", context_->address(), "customer", "context",
                                   "customers/kim"};
  run = RunCxpctl(args, std::string(kKey));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, StartsWith("customer      customers/kim\n"));
  run = RunCxpctl(args, std::string("not-the-key-0123456789abcdef"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: UNAUTHENTICATED: "));

  run = RunCxpctl(Args({"customer", "context", "customers/kim"}, "no_such_file"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: FAILED_PRECONDITION: --api_key_file: cannot read "));
}

TEST_F(CxpctlTest, SubmitsTasksAndShowsQueueStats) {
  CxpctlRun run = RunCxpctl(Args({"task", "submit", "--queue", "queues/support", "--customer",
                                  "customers/kim", "--channel", "VOICE"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out,
              AllOf(StartsWith("task          tasks/"), HasSubstr("state         QUEUED\n"),
                    HasSubstr("queue         queues/support\n"),
                    HasSubstr("customer      customers/kim\n")));

  run = RunCxpctl(Args({"--json", "task", "submit", "--queue", "support", "--customer",
                        "phone:010-1234-5678", "--channel", "CHAT"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const auto submitted = FromJson<routing_v1::SubmitTaskResponse>(run.out);
  EXPECT_EQ(submitted.task().state(), routing_v1::Task::STATE_QUEUED);
  EXPECT_EQ(submitted.task().channel(), type::CHANNEL_CHAT);

  run = RunCxpctl(Args({"queue", "stats"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, AllOf(StartsWith("queue         queues/support\n"),
                             HasSubstr("waiting       2 (longest "),
                             HasSubstr("agents        0 available, 0 busy\n")));

  run = RunCxpctl(Args({"queue", "stats", "queues/support", "--json"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const auto stats = FromJson<routing_v1::GetQueueStatsResponse>(run.out).queue_stats();
  EXPECT_EQ(stats.queue(), "queues/support");
  EXPECT_EQ(stats.tasks_waiting(), 2);

  run = RunCxpctl(Args({"queue", "stats", "queues/nowhere"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: "));
}

TEST_F(CxpctlTest, SendsANotificationOnceForAnIdempotencyKey) {
  CxpctlRun run =
      RunCxpctl(Args({"notify", "send", "--customer", "customers/kim", "--template",
                      "templates/otp", "--var", "code=123456", "--idempotency_key", "otp-kim-1"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, AllOf(StartsWith("notification  notifications/"),
                             HasSubstr("customer      customers/kim\n"),
                             HasSubstr("template      templates/otp v1\n"),
                             HasSubstr("purpose       TRANSACTIONAL\n")));
  const std::string name = run.out.substr(14, run.out.find('\n') - 14);

  run = RunCxpctl(
      Args({"--json", "notify", "send", "--customer", "email:kim@example.com", "--template", "otp",
            "--var", "code=654321", "--idempotency_key", "otp-kim-1"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const auto again = FromJson<notify_v1::SendNotificationResponse>(run.out).notification();
  EXPECT_EQ(again.name(), name);
  EXPECT_EQ(again.variables().at("code"), "123456");

  run = RunCxpctl(
      Args({"notify", "send", "--customer", "customers/kim", "--template", "templates/missing"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: "));
}

TEST_F(CxpctlTest, UsageErrorsExit2AndUnreachableServersExit1) {
  CxpctlRun run = RunCxpctl(Args({"customer", "forget", "customers/kim"}));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, StartsWith("cxpctl: unknown command \"customer forget\"\n"));

  run = RunCxpctl({"help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("usage: cxpctl"));

  run = RunCxpctl({"--context", absl::StrCat("127.0.0.1:", UnusedPort()), "--timeout", "2s",
                   "customer", "context", "customers/kim"},
                  std::string(kKey));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: UNAVAILABLE: "));
}

// TLS: a context_service serving a certificate made by the openssl command
// line for this run; cxpctl trusts its CA with --tls_ca_file.
TEST(CxpctlTlsTest, TalksTlsWithTheGivenCa) {
  const std::string dir = MakeTempDir("cxpctl_tls_");
  const std::string script = absl::StrCat(
      "set -e; cd ", dir, "; exec >openssl.log 2>&1;",
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
      "  -subj /CN=cxp-test-ca;",
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost;",
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.ext;",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "  -out server.pem -days 2 -extfile san.ext;");
  ASSERT_EQ(std::system(("/bin/sh -c '" + script + "'").c_str()), 0)
      << ReadAll(dir + "/openssl.log");
  std::ofstream(dir + "/keys") << "acme " << kKey << "\n";
  auto server =
      ServerProcess::Start(BinaryPath("context_service/context_service"),
                           {"--data_dir=" + dir + "/context", "--api_keys_file=" + dir + "/keys",
                            "--tls_cert=" + dir + "/server.pem", "--tls_key=" + dir + "/server.key",
                            "--metrics_listen=off", "--log_requests=false"});
  ASSERT_TRUE(server.ok()) << server.status();

  const std::vector<std::string> common = {"--context", server->address(), "--api_key_file",
                                           dir + "/keys"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  // Over TLS the call reaches the server: the customer does not exist.
  CxpctlRun run =
      RunCxpctl(with({"--timeout", "20s", "--tls_ca_file", dir + "/ca.pem", "--tls_server_name",
                      "localhost", "customer", "context", "customers/kim"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: ")) << run.err;
  // Plaintext to a TLS server never gets an answer.
  run = RunCxpctl(with({"--timeout", "2s", "customer", "context", "customers/kim"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: UNAVAILABLE: ")) << run.err;
  // A CA file that cannot be read is reported before any call.
  run = RunCxpctl(
      with({"--tls_ca_file", dir + "/missing.pem", "customer", "context", "customers/kim"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: FAILED_PRECONDITION: tls_ca_file: cannot read "));
}

}  // namespace
}  // namespace cxp::cxpctl
