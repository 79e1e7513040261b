// cxpctl end to end: real context_service, routing_service and
// notify_service as child processes on loopback ports with an API-key file,
// the cxpctl binary run as a child process, its stdout, stderr and exit code
// checked, in human form and as --json (parsed back into the response).
// `apply` and the demo data set are in cxpctl_apply_test.cc.
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/cxpctl/cxpctl_testing.h"
#include "tests/testing/keyed_call.h"
#include "tests/testing/server_process.h"

namespace cxp::cxpctl {
namespace {

using ::cxp::cxpctl::testing::CommandRun;
using ::cxp::cxpctl::testing::CreateKimAndSupportQueue;
using ::cxp::cxpctl::testing::FromJson;
using ::cxp::cxpctl::testing::kKey;
using ::cxp::cxpctl::testing::Platform;
using ::cxp::cxpctl::testing::ReadAll;
using ::cxp::cxpctl::testing::RunCxpctl;
using ::cxp::cxpctl::testing::UnusedPort;
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

class CxpctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto platform = Platform::Start("cxpctl_test_");
    ASSERT_TRUE(platform.ok()) << platform.status();
    platform_ = platform->release();
    SeedData();
  }

  static void TearDownTestSuite() {
    delete platform_;
    platform_ = nullptr;
  }

  // Customer kim (phone 010-1234-5678 in KR, email), queue support, template otp.
  static void SeedData() {
    const absl::Status seeded = CreateKimAndSupportQueue(*platform_, "VIP");
    ASSERT_TRUE(seeded.ok()) << seeded;

    auto notify_stub = platform_->NotifyStub();
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
    return platform_->Args(std::move(args), key_file);
  }

  static Platform* platform_;
};

Platform* CxpctlTest::platform_ = nullptr;

TEST_F(CxpctlTest, ResolvesACustomerByANationalPhoneNumber) {
  CommandRun run = RunCxpctl(Args({"customer", "resolve", "phone", "010-1234-5678"}));
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
  CommandRun first =
      RunCxpctl(Args({"interaction", "append", "customers/kim", "--channel", "VOICE", "--direction",
                      "INBOUND", "--type", "call", "--summary", "card lost"}));
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, AllOf(HasSubstr("interaction   customers/kim/interactions/"),
                               HasSubstr("VOICE INBOUND call  \"card lost\"")));
  // The second by email identity, as JSON.
  CommandRun second = RunCxpctl(
      Args({"interaction", "append", "email:KIM@example.com", "--channel", "email", "--direction",
            "outbound", "--type", "reply", "--summary", "new card sent", "--json"}));
  EXPECT_EQ(second.exit_code, 0) << second.err;
  const auto appended = FromJson<ctx::AppendInteractionResponse>(second.out);
  EXPECT_EQ(appended.interaction().channel(), type::CHANNEL_EMAIL);
  EXPECT_EQ(appended.interaction().summary(), "new card sent");

  CommandRun human = RunCxpctl(Args({"customer", "context", "phone:010-1234-5678"}));
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_THAT(human.out, AllOf(StartsWith("customer      customers/kim\n"),
                               HasSubstr("timeline (newest first):\n"),
                               HasSubstr("contacts      2 in 24h, 2 in 7d, 2 in 30d")));
  const size_t newer = human.out.find("EMAIL OUTBOUND reply  \"new card sent\"");
  const size_t older = human.out.find("VOICE INBOUND call  \"card lost\"");
  ASSERT_NE(newer, std::string::npos) << human.out;
  ASSERT_NE(older, std::string::npos) << human.out;
  EXPECT_LT(newer, older) << human.out;

  CommandRun json =
      RunCxpctl(Args({"customer", "context", "customers/kim", "--json", "--limit", "1"}));
  EXPECT_EQ(json.exit_code, 0) << json.err;
  const auto context = FromJson<ctx::GetCustomerContextResponse>(json.out).customer_context();
  EXPECT_EQ(context.customer().name(), "customers/kim");
  ASSERT_EQ(context.recent_interactions_size(), 1);
  EXPECT_EQ(context.recent_interactions(0).summary(), "new card sent");
}

TEST_F(CxpctlTest, NotFoundPrintsTheCodeAndExits1) {
  CommandRun run = RunCxpctl(Args({"customer", "context", "customers/nobody"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: "));

  run = RunCxpctl(Args({"--json", "customer", "resolve", "email", "nobody@example.com"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: "));
}

TEST_F(CxpctlTest, AWrongKeyIsUnauthenticatedAndTheEnvironmentKeyWorks) {
  CommandRun run = RunCxpctl(Args({"customer", "context", "customers/kim"}, "wrong_key"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: UNAUTHENTICATED: "));

  // No --api_key_file: $CXP_API_KEY.
  std::vector<std::string> args = {"--context", platform_->context().address(), "customer",
                                   "context", "customers/kim"};
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
  CommandRun run = RunCxpctl(Args({"task", "submit", "--queue", "queues/support", "--customer",
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
  CommandRun run =
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
  CommandRun run = RunCxpctl(Args({"customer", "forget", "customers/kim"}));
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

  // --wait gives up after the time given, naming the address.
  const std::string nowhere = absl::StrCat("127.0.0.1:", UnusedPort());
  run = RunCxpctl({"--context", nowhere, "--wait", "1s", "customer", "context", "customers/kim"},
                  std::string(kKey));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, absl::StrCat("cxpctl: UNAVAILABLE: ", nowhere,
                                  " did not accept connections within 1s (--wait)\n"));
  // ... and with a service that is up, just calls it.
  run = RunCxpctl(Args({"--wait", "10s", "customer", "context", "customers/kim"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
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
  CommandRun run =
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
