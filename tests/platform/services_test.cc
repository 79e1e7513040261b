// Each service binary, as a partner or Kubernetes meets it: it starts on the
// shared runtime, answers health SERVING for its service (also on the
// probes' health-only listener, --health_listen), lists its contract
// through reflection, requires API keys when given a key file, and drains on
// SIGTERM with exit code 0.
#include <signal.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/raw_calls.h"
#include "tests/testing/server_process.h"

namespace cxp {
namespace {

using ::cxp::testing::ServerProcess;
using ::testing::Contains;

struct ServiceBinary {
  const char* binary;
  const char* service;
  const char* method;  // any unary method of the service
};

class ServicesTest : public ::testing::TestWithParam<ServiceBinary> {};

TEST_P(ServicesTest, ServesHealthAndReflectionAndDrains) {
  const ServiceBinary& param = GetParam();
  const std::string data_dir = cxp::testing::MakeTempDir("service_data_");
  auto server = ServerProcess::Start(cxp::testing::BinaryPath(param.binary),
                                     {"--data_dir=" + data_dir, "--health_listen=127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(*cxp::testing::CheckHealth(channel, param.service),
            cxp::testing::HealthStatus::kServing);
  // The probes' health-only listener answers the same.
  ASSERT_NE(server->health_port(), 0) << server->Stderr();
  auto probe = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->health_port()),
                                   grpc::InsecureChannelCredentials());
  EXPECT_EQ(*cxp::testing::CheckHealth(probe, param.service), cxp::testing::HealthStatus::kServing);
  EXPECT_EQ(*cxp::testing::CheckHealth(probe), cxp::testing::HealthStatus::kServing);
  auto services = cxp::testing::ReflectionServices(channel);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, Contains(param.service));

  server->Signal(SIGTERM);
  std::optional<int> exit_code = server->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0) << server->Stderr();
}

TEST_P(ServicesTest, WithAKeyFileCallsNeedAKey) {
  const ServiceBinary& param = GetParam();
  const std::string dir = cxp::testing::MakeTempDir("service_keys_");
  std::ofstream(dir + "/keys") << "acme acme-key-0123456789abcdef\n";
  auto server =
      ServerProcess::Start(cxp::testing::BinaryPath(param.binary),
                           {"--data_dir=" + dir + "/data", "--api_keys_file=" + dir + "/keys"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  const std::string method = absl::StrCat("/", param.service, "/", param.method);
  auto without_key = cxp::testing::CallRaw(channel, method, "");
  EXPECT_EQ(without_key.status().code(), absl::StatusCode::kUnauthenticated);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer acme-key-0123456789abcdef");
  auto with_key = cxp::testing::CallRaw(channel, method, "", &context);
  EXPECT_NE(with_key.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(*cxp::testing::CheckHealth(channel, param.service),
            cxp::testing::HealthStatus::kServing);
}

INSTANTIATE_TEST_SUITE_P(
    AllServices, ServicesTest,
    ::testing::Values(ServiceBinary{"context_service/context_service",
                                    "cxp.context.v1.ContextService", "GetCustomer"},
                      ServiceBinary{"routing_service/routing_service",
                                    "cxp.routing.v1.RoutingService", "GetTask"},
                      ServiceBinary{"notify_service/notify_service", "cxp.notify.v1.NotifyService",
                                    "GetNotification"}),
    [](const ::testing::TestParamInfo<ServiceBinary>& info) {
      std::string name = info.param.binary;
      return name.substr(0, name.find('/'));
    });

}  // namespace
}  // namespace cxp
