// The shared runtime, in process: a real gRPC server on 127.0.0.1:0 with the
// test service, called through generated stubs.
#include "common/server/server.h"

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/client/channel.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/common/server/test_service.h"
#include "tests/testing/http_get.h"
#include "tests/testing/raw_calls.h"
#include "tests/testing/server_process.h"

namespace cxp::server {
namespace {

using ::cxp::testing::v1::TestService;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kAcmeKey[] = "acme-key-0123456789abcdef";
constexpr char kGlobexKey[] = "globex-key-0123456789abcdef";

std::string WriteKeysFile() {
  const std::string path = cxp::testing::MakeTempDir("keys_") + "/api_keys";
  std::ofstream(path) << "# tenant key\nacme " << kAcmeKey << "\nglobex " << kGlobexKey << "\n";
  return path;
}

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options) {
    options.service_name = "test_service";
    if (options.listen_address.empty()) options.listen_address = "127.0.0.1:0";
    // Only where a test reads /metrics: civetweb takes ~2 s to stop.
    if (options.metrics_address == "on") options.metrics_address = "127.0.0.1:0";
    options.log_requests = false;
    auto server = Server::Start(options, {{TestService::service_full_name(), &service_}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = TestService::NewStub(channel_);
  }

  void StartWithKeys() {
    ServerOptions options;
    options.api_keys_file = WriteKeysFile();
    StartServer(options);
  }

  static void Authorize(grpc::ClientContext& context, const std::string& key) {
    context.AddMetadata("authorization", "Bearer " + key);
  }

  cxp::testing::TestServiceImpl service_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<TestService::Stub> stub_;
};

TEST_F(ServerTest, HealthIsServingForServerAndService) {
  StartServer({});
  EXPECT_EQ(*cxp::testing::CheckHealth(channel_), cxp::testing::HealthStatus::kServing);
  EXPECT_EQ(*cxp::testing::CheckHealth(channel_, TestService::service_full_name()),
            cxp::testing::HealthStatus::kServing);
  EXPECT_EQ(cxp::testing::CheckHealth(channel_, "no.such.Service").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ServerTest, HealthTurnsNotServingOnShutdown) {
  StartServer({});
  // Keep a connection open across shutdown; new calls must not be served.
  server_->Shutdown(absl::ZeroDuration());
  EXPECT_FALSE(cxp::testing::CheckHealth(channel_).ok());
}

TEST_F(ServerTest, ReflectionListsServices) {
  StartServer({});
  auto services = cxp::testing::ReflectionServices(channel_);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, Contains(TestService::service_full_name()));
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));
}

TEST_F(ServerTest, WithoutKeysFileEveryCallIsTheDefaultTenant) {
  StartServer({});
  grpc::ClientContext context;
  cxp::testing::v1::WhoAmIResponse response;
  ASSERT_TRUE(stub_->WhoAmI(&context, {}, &response).ok());
  EXPECT_EQ(response.tenant(), "default");
  EXPECT_FALSE(response.request_id().empty());
}

TEST_F(ServerTest, MissingKeyIsUnauthenticated) {
  StartWithKeys();
  grpc::ClientContext context;
  cxp::testing::v1::WhoAmIResponse response;
  grpc::Status status = stub_->WhoAmI(&context, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("authorization"));
}

TEST_F(ServerTest, WrongKeyIsUnauthenticated) {
  StartWithKeys();
  for (const std::string header : {"Bearer not-a-real-key-000000000", "Basic abc", "Bearer "}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", header);
    cxp::testing::v1::WhoAmIResponse response;
    EXPECT_EQ(stub_->WhoAmI(&context, {}, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << header;
  }
}

TEST_F(ServerTest, UnauthenticatedCallChangesNothing) {
  StartWithKeys();
  grpc::ClientContext put_context;
  cxp::testing::v1::PutValueRequest put;
  put.set_key("k");
  put.set_value("v");
  cxp::testing::v1::PutValueResponse put_response;
  EXPECT_EQ(stub_->PutValue(&put_context, put, &put_response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext get_context;
  Authorize(get_context, kAcmeKey);
  cxp::testing::v1::GetValueRequest get;
  get.set_key("k");
  cxp::testing::v1::GetValueResponse get_response;
  EXPECT_EQ(stub_->GetValue(&get_context, get, &get_response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, KeyOfTenantSeesOnlyThatTenant) {
  StartWithKeys();
  {
    grpc::ClientContext context;
    Authorize(context, kAcmeKey);
    cxp::testing::v1::WhoAmIResponse response;
    ASSERT_TRUE(stub_->WhoAmI(&context, {}, &response).ok());
    EXPECT_EQ(response.tenant(), "acme");
  }
  {
    grpc::ClientContext context;
    Authorize(context, kAcmeKey);
    cxp::testing::v1::PutValueRequest request;
    request.set_key("customer-1");
    request.set_value("acme's data");
    cxp::testing::v1::PutValueResponse response;
    ASSERT_TRUE(stub_->PutValue(&context, request, &response).ok());
  }
  cxp::testing::v1::GetValueRequest get;
  get.set_key("customer-1");
  {
    grpc::ClientContext context;
    Authorize(context, kGlobexKey);
    // A client cannot pick its tenant by sending the runtime's header.
    context.AddMetadata("x-cxp-authenticated-tenant", "acme");
    cxp::testing::v1::GetValueResponse response;
    EXPECT_EQ(stub_->GetValue(&context, get, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    Authorize(context, kAcmeKey);
    cxp::testing::v1::GetValueResponse response;
    ASSERT_TRUE(stub_->GetValue(&context, get, &response).ok());
    EXPECT_EQ(response.value(), "acme's data");
  }
}

TEST_F(ServerTest, HealthAndReflectionNeedNoKey) {
  StartWithKeys();  // Kubernetes probes carry no credentials.
  EXPECT_EQ(*cxp::testing::CheckHealth(channel_), cxp::testing::HealthStatus::kServing);
  EXPECT_TRUE(cxp::testing::ReflectionServices(channel_).ok());
}

TEST_F(ServerTest, RequestIdIsKeptAndEchoed) {
  StartServer({});
  grpc::ClientContext context;
  context.AddMetadata("x-request-id", "req-42.a_b");
  cxp::testing::v1::WhoAmIResponse response;
  ASSERT_TRUE(stub_->WhoAmI(&context, {}, &response).ok());
  EXPECT_EQ(response.request_id(), "req-42.a_b");
  auto echoed = context.GetServerTrailingMetadata().find("x-request-id");
  ASSERT_NE(echoed, context.GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(echoed->second.data(), echoed->second.size()), "req-42.a_b");
}

TEST_F(ServerTest, MalformedRequestIdIsReplaced) {
  StartServer({});
  grpc::ClientContext context;
  context.AddMetadata("x-request-id", "has spaces and \"quotes\"");
  cxp::testing::v1::WhoAmIResponse response;
  ASSERT_TRUE(stub_->WhoAmI(&context, {}, &response).ok());
  EXPECT_EQ(response.request_id().size(), 32u);
}

TEST_F(ServerTest, MetricsShowTheCallJustMade) {
  ServerOptions options;
  options.api_keys_file = WriteKeysFile();
  options.metrics_address = "on";
  StartServer(options);
  {
    grpc::ClientContext context;
    Authorize(context, kAcmeKey);
    cxp::testing::v1::WhoAmIResponse response;
    ASSERT_TRUE(stub_->WhoAmI(&context, {}, &response).ok());
  }
  {
    grpc::ClientContext context;  // no key
    cxp::testing::v1::WhoAmIResponse response;
    ASSERT_FALSE(stub_->WhoAmI(&context, {}, &response).ok());
  }
  auto body = cxp::testing::HttpGet(absl::StrCat("http://127.0.0.1:", server_->metrics_port(), "/metrics"));
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body, HasSubstr("grpc_server_started_total{grpc_method=\"WhoAmI\","
                               "grpc_service=\"cxp.testing.v1.TestService\",grpc_type=\"unary\"} 2"));
  EXPECT_THAT(*body, HasSubstr("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"WhoAmI\","
                               "grpc_service=\"cxp.testing.v1.TestService\",grpc_type=\"unary\"} 1"));
  EXPECT_THAT(*body, HasSubstr("grpc_server_handled_total{grpc_code=\"Unauthenticated\","
                               "grpc_method=\"WhoAmI\",grpc_service=\"cxp.testing.v1.TestService\","
                               "grpc_type=\"unary\"} 1"));
  EXPECT_THAT(*body, HasSubstr("grpc_server_handling_seconds_count{grpc_method=\"WhoAmI\","
                               "grpc_service=\"cxp.testing.v1.TestService\",grpc_type=\"unary\"} 2"));
}

TEST_F(ServerTest, RefusesNonLoopbackWithoutKeys) {
  ServerOptions options;
  options.service_name = "test_service";
  options.listen_address = "0.0.0.0:0";
  auto server = Server::Start(options, {{TestService::service_full_name(), &service_}});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("api_keys_file"));
}

TEST_F(ServerTest, NonLoopbackIsAllowedWithKeys) {
  ServerOptions options;
  options.service_name = "test_service";
  options.listen_address = "0.0.0.0:0";
  options.api_keys_file = WriteKeysFile();
  auto server = Server::Start(options, {{TestService::service_full_name(), &service_}});
  ASSERT_TRUE(server.ok()) << server.status();
}

TEST_F(ServerTest, ClientRetriesOnlyIdempotentMethods) {
  StartServer({});
  const std::string target = absl::StrCat("127.0.0.1:", server_->port());
  cxp::testing::v1::FlakyRequest request;
  request.set_failures(2);
  {
    auto client = cxp::client::ServiceClient::Create(
        {.target = target, .idempotent_methods = {"/cxp.testing.v1.TestService/Flaky"}});
    ASSERT_TRUE(client.ok());
    auto stub = TestService::NewStub(client->channel());
    request.set_key("idempotent");
    cxp::testing::v1::FlakyResponse response;
    auto context = client->NewCallContext();
    ASSERT_TRUE(stub->Flaky(context.get(), request, &response).ok());
    EXPECT_EQ(response.attempts(), 3);
  }
  {
    auto client = cxp::client::ServiceClient::Create({.target = target});
    ASSERT_TRUE(client.ok());
    auto stub = TestService::NewStub(client->channel());
    request.set_key("not-idempotent");
    cxp::testing::v1::FlakyResponse response;
    auto context = client->NewCallContext();
    EXPECT_EQ(stub->Flaky(context.get(), request, &response).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
}

TEST_F(ServerTest, ClientCallsHaveADefaultDeadlineAndTheApiKey) {
  StartWithKeys();
  auto client = cxp::client::ServiceClient::Create(
      {.target = absl::StrCat("127.0.0.1:", server_->port()),
       .api_key = kGlobexKey,
       .default_deadline = absl::Milliseconds(300)});
  ASSERT_TRUE(client.ok());
  auto stub = TestService::NewStub(client->channel());
  {
    auto context = client->NewCallContext();
    cxp::testing::v1::WhoAmIResponse response;
    ASSERT_TRUE(stub->WhoAmI(context.get(), {}, &response).ok());
    EXPECT_EQ(response.tenant(), "globex");
  }
  {
    auto context = client->NewCallContext();
    cxp::testing::v1::SleepRequest request;
    request.set_milliseconds(2000);
    cxp::testing::v1::SleepResponse response;
    const absl::Time start = absl::Now();
    EXPECT_EQ(stub->Sleep(context.get(), request, &response).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_LT(absl::Now() - start, absl::Seconds(1.5));
  }
}

}  // namespace
}  // namespace cxp::server
