// The runtime as a real process: startup refusal, SIGTERM drain, exit codes.
#include "common/server/service_main.h"

#include <signal.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/common/server/test_service.grpc.pb.h"
#include "tests/testing/raw_calls.h"
#include "tests/testing/server_process.h"

namespace cxp::server {
namespace {

using ::cxp::testing::ServerProcess;
using ::cxp::testing::v1::TestService;
using ::testing::HasSubstr;

const std::string& TestServerBinary() {
  static const std::string path = cxp::testing::BinaryPath("tests/common/server/cxp_test_server");
  return path;
}

TEST(ServiceMainTest, RefusesNonLoopbackWithoutAuthAndSaysWhy) {
  auto result = cxp::testing::RunToCompletion(TestServerBinary(), {"--listen=0.0.0.0:0"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_output, HasSubstr("api_keys_file"));
  EXPECT_THAT(result.stderr_output, HasSubstr("0.0.0.0:0"));
}

TEST(ServiceMainTest, HelpDocumentsTheSharedFlags) {
  // absl prints --help on stdout; send it where RunToCompletion reads.
  auto help = cxp::testing::RunToCompletion(
      "/bin/sh", {"-c", TestServerBinary() + " --help 1>&2"});
  for (const char* flag : {"--listen", "--metrics_listen", "--data_dir", "--tls_cert", "--tls_key",
                           "--tls_client_ca", "--api_keys_file", "--drain_timeout",
                           "--max_connection_age", "--keepalive_time", "--max_concurrent_streams",
                           "--max_message_bytes", "--sync_writes", "--log_requests"}) {
    EXPECT_THAT(help.stderr_output, HasSubstr(flag)) << flag;
  }
}

TEST(ServiceMainTest, SigtermDrainsASlowCallAndExitsZero) {
  auto server = ServerProcess::Start(TestServerBinary(), {"--drain_timeout=10s"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  auto stub = TestService::NewStub(channel);
  ASSERT_EQ(*cxp::testing::CheckHealth(channel), cxp::testing::HealthStatus::kServing);

  grpc::Status slow_status;
  std::thread slow_call([&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    cxp::testing::v1::SleepRequest request;
    request.set_milliseconds(1500);
    cxp::testing::v1::SleepResponse response;
    slow_status = stub->Sleep(&context, request, &response);
  });
  absl::SleepFor(absl::Milliseconds(400));  // the call is in flight
  const absl::Time signalled = absl::Now();
  server->Signal(SIGTERM);
  std::optional<int> exit_code = server->Wait(absl::Seconds(15));
  slow_call.join();

  EXPECT_TRUE(slow_status.ok()) << slow_status.error_message();
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0);
  EXPECT_GE(absl::Now() - signalled, absl::Milliseconds(900));  // it waited for the call
  EXPECT_THAT(server->Stderr(), HasSubstr("draining"));
  EXPECT_THAT(server->Stderr(), HasSubstr("stopped cleanly"));
}

TEST(ServiceMainTest, DrainDeadlineCancelsCallsThatOutlastIt) {
  auto server = ServerProcess::Start(TestServerBinary(), {"--drain_timeout=200ms"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = TestService::NewStub(
      grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials()));
  grpc::Status slow_status;
  absl::Time finished;
  std::thread slow_call([&] {
    grpc::ClientContext context;
    cxp::testing::v1::SleepRequest request;
    request.set_milliseconds(3000);
    cxp::testing::v1::SleepResponse response;
    slow_status = stub->Sleep(&context, request, &response);
    finished = absl::Now();
  });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time signalled = absl::Now();
  server->Signal(SIGTERM);
  slow_call.join();
  EXPECT_FALSE(slow_status.ok());
  EXPECT_LT(finished - signalled, absl::Seconds(2));
  std::optional<int> exit_code = server->Wait(absl::Seconds(15));
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0);
}

}  // namespace
}  // namespace cxp::server
