// TLS and mTLS through the runtime's flags, with certificates made by the
// openssl command line for this test run; a renewed certificate served
// without a restart; the plaintext health-only listener that probes use
// beside a TLS port.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/client/channel.h"
#include "common/server/server.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/common/server/test_service.h"
#include "tests/testing/raw_calls.h"
#include "tests/testing/server_process.h"

namespace cxp::server {
namespace {

using ::cxp::testing::v1::TestService;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(cxp::testing::MakeTempDir("tls_"));
    const std::string d = *dir_;
    const std::string script = absl::StrCat(
        "set -e; cd ", d, "; exec >openssl.log 2>&1;",
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "  -subj /CN=cxp-test-ca;",
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "
        "/CN=localhost;",
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.ext;",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "  -out server.pem -days 2 -extfile san.ext;",
        // The renewal: another key, signed by another CA.
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca2.key -out ca2.pem -days 2 "
        "  -subj /CN=cxp-test-ca-2;",
        "openssl req -newkey rsa:2048 -nodes -keyout server2.key -out server2.csr "
        "  -subj /CN=localhost;",
        "openssl x509 -req -in server2.csr -CA ca2.pem -CAkey ca2.key -CAcreateserial "
        "  -out server2.pem -days 2 -extfile san.ext;",
        "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=client;",
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "  -out client.pem -days 2;");
    ASSERT_EQ(std::system(("/bin/sh -c '" + script + "'").c_str()), 0);
  }

  void Start(bool require_client_cert, const std::string& health_address = "",
             const std::string& cert_dir = "") {
    ServerOptions options;
    options.service_name = "test_service";
    options.listen_address = "127.0.0.1:0";
    options.health_address = health_address;
    options.log_requests = false;
    options.tls = {.cert_file = *dir_ + "/server.pem", .key_file = *dir_ + "/server.key"};
    if (!cert_dir.empty()) {
      options.tls = {.cert_file = cert_dir + "/tls.crt",
                     .key_file = cert_dir + "/tls.key",
                     .reload_interval = absl::Seconds(1)};
    }
    if (require_client_cert) options.tls.client_ca_file = *dir_ + "/ca.pem";
    auto server = Server::Start(options, {{TestService::service_full_name(), &service_}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  grpc::Status WhoAmI(cxp::client::ChannelOptions options) {
    options.target = absl::StrCat("127.0.0.1:", server_->port());
    options.tls_server_name = "localhost";
    options.default_deadline = absl::Seconds(5);
    auto client = cxp::client::ServiceClient::Create(options);
    if (!client.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "client");
    auto context = client->NewCallContext();
    cxp::testing::v1::WhoAmIResponse response;
    return TestService::NewStub(client->channel())->WhoAmI(context.get(), {}, &response);
  }

  static std::string* dir_;
  cxp::testing::TestServiceImpl service_;
  std::unique_ptr<Server> server_;
};

std::string* TlsTest::dir_ = nullptr;

TEST_F(TlsTest, ServesTls) {
  Start(/*require_client_cert=*/false);
  EXPECT_TRUE(WhoAmI({.tls_ca_file = *dir_ + "/ca.pem"}).ok());
  // A plaintext client cannot talk to a TLS server.
  EXPECT_FALSE(WhoAmI({}).ok());
}

TEST_F(TlsTest, APlaintextHealthListenerServesOnlyHealthInStepWithTheTlsPort) {
  Start(/*require_client_cert=*/false, /*health_address=*/"127.0.0.1:0");
  ASSERT_NE(server_->health_port(), 0);
  ASSERT_NE(server_->health_port(), server_->port());
  const auto plaintext = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->health_port()),
                                             grpc::InsecureChannelCredentials());
  using cxp::testing::CheckHealth;
  using cxp::testing::HealthStatus;
  EXPECT_EQ(CheckHealth(plaintext).value_or(HealthStatus::kUnknown), HealthStatus::kServing);
  EXPECT_EQ(
      CheckHealth(plaintext, TestService::service_full_name()).value_or(HealthStatus::kUnknown),
      HealthStatus::kServing);
  // The API is not served there: only over TLS on the main port.
  grpc::ClientContext context;
  cxp::testing::v1::WhoAmIResponse response;
  EXPECT_EQ(TestService::NewStub(plaintext)->WhoAmI(&context, {}, &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(WhoAmI({.tls_ca_file = *dir_ + "/ca.pem"}).ok());

  // Draining (a call in flight holds the drain open): NOT_SERVING at once.
  cxp::client::ChannelOptions tls{.target = absl::StrCat("127.0.0.1:", server_->port()),
                                  .tls_ca_file = *dir_ + "/ca.pem",
                                  .tls_server_name = "localhost",
                                  .default_deadline = absl::Seconds(10)};
  auto client = cxp::client::ServiceClient::Create(tls);
  ASSERT_TRUE(client.ok()) << client.status();
  std::thread slow_call([&] {
    auto call = client->NewCallContext();
    cxp::testing::v1::SleepRequest sleep;
    sleep.set_milliseconds(1500);
    cxp::testing::v1::SleepResponse slept;
    EXPECT_TRUE(TestService::NewStub(client->channel())->Sleep(call.get(), sleep, &slept).ok());
  });
  absl::SleepFor(absl::Milliseconds(300));  // the call is in its handler
  std::thread drain([&] { server_->Shutdown(absl::Seconds(5)); });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(CheckHealth(plaintext).value_or(HealthStatus::kUnknown), HealthStatus::kNotServing);
  slow_call.join();
  drain.join();
}

TEST_F(TlsTest, ARenewedCertificateIsServedWithoutARestart) {
  // As Kubernetes updates a mounted Secret: the files are reached through a
  // symlink that is swapped atomically to a directory with the new ones.
  const std::string d = *dir_;
  const std::string script =
      absl::StrCat("set -e; cd ", d, "; rm -rf v1 v2 live live.new; mkdir v1 v2;",
                   "cp server.pem v1/tls.crt; cp server.key v1/tls.key;",
                   "cp server2.pem v2/tls.crt; cp server2.key v2/tls.key; ln -s v1 live");
  ASSERT_EQ(std::system(("/bin/sh -c '" + script + "'").c_str()), 0);
  Start(/*require_client_cert=*/false, /*health_address=*/"", d + "/live");
  EXPECT_TRUE(WhoAmI({.tls_ca_file = d + "/ca.pem"}).ok());
  EXPECT_FALSE(WhoAmI({.tls_ca_file = d + "/ca2.pem"}).ok());

  const std::string swap =
      absl::StrCat("set -e; cd ", d, "; ln -s v2 live.new; mv -T live.new live");
  ASSERT_EQ(std::system(("/bin/sh -c '" + swap + "'").c_str()), 0);
  // New connections get the renewed certificate within the reload interval
  // (1 s here).
  bool renewed = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (!renewed && absl::Now() < deadline) {
    renewed = WhoAmI({.tls_ca_file = d + "/ca2.pem"}).ok();
    if (!renewed) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(renewed);
  EXPECT_FALSE(WhoAmI({.tls_ca_file = d + "/ca.pem"}).ok());
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificate) {
  Start(/*require_client_cert=*/true);
  EXPECT_TRUE(WhoAmI({.tls_ca_file = *dir_ + "/ca.pem",
                      .tls_cert_file = *dir_ + "/client.pem",
                      .tls_key_file = *dir_ + "/client.key"})
                  .ok());
  EXPECT_EQ(WhoAmI({.tls_ca_file = *dir_ + "/ca.pem"}).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, UnreadableCertificateIsAClearStartupError) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.tls = {.cert_file = "/nonexistent/server.pem", .key_file = "/nonexistent/server.key"};
  auto server = Server::Start(options, {{TestService::service_full_name(), &service_}});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(server.status().message().substr(0, 9), "tls_cert:");
}

}  // namespace
}  // namespace cxp::server
