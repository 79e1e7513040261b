// The unsubscribe listener in process, over real HTTP, against a real
// context_service child process: links for a recipient without a customer
// (one is created, so the opt-out is kept), a customer that is gone,
// methods and paths that are not links, and the evidence recorded.
// notify_service_test covers the link of a delivered email end to end.
#include "notify_service/unsubscribe/unsubscribe_server.h"

#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/http_get.h"
#include "tests/testing/keyed_call.h"
#include "tests/testing/server_process.h"

namespace cxp::notify {
namespace {

namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using ::cxp::testing::BinaryPath;
using ::cxp::testing::HttpFetch;
using ::cxp::testing::KeyedCall;
using ::cxp::testing::ServerProcess;
using ::testing::HasSubstr;

constexpr char kContextKey[] = "acme-context-key-0123456789abcdef";
const std::string kOneClick = "List-Unsubscribe=One-Click";
const std::string kForm = "application/x-www-form-urlencoded";

class UnsubscribeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cxp::testing::MakeTempDir("unsubscribe_server_test_");
    std::ofstream(dir_ + "/context_keys") << "acme " << kContextKey << "\n";
    auto context_server = ServerProcess::Start(
        BinaryPath("context_service/context_service"),
        {"--data_dir=" + dir_ + "/context", "--api_keys_file=" + dir_ + "/context_keys",
         "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(context_server.ok()) << context_server.status();
    context_server_.emplace(*std::move(context_server));
    context_ = ctx::ContextService::NewStub(
        grpc::CreateChannel(context_server_->address(), grpc::InsecureChannelCredentials()));
    auto gateway = ContextGateway::Create({.target = context_server_->address(),
                                           .lookup_timeout = absl::Seconds(2),
                                           .write_timeout = absl::Seconds(5),
                                           .keys = {{"acme", kContextKey}}});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    auto links =
        UnsubscribeLinks::Create(std::string(32, 'k'), "https://notify.shop.example/unsubscribe");
    ASSERT_TRUE(links.ok()) << links.status();
    links_ = std::make_unique<UnsubscribeLinks>(*std::move(links));
    auto server = UnsubscribeServer::Start({.listen_address = "127.0.0.1:0"}, *links_, *gateway_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->port(), 0);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
  }

  // The listener's address for the link of `claim`.
  std::string LocalLink(const UnsubscribeClaim& claim) const {
    const std::string url = links_->UrlFor(claim);
    return "http://127.0.0.1:" + std::to_string(server_->port()) +
           url.substr(url.find("/unsubscribe?"));
  }

  static UnsubscribeClaim Claim() {
    return {.tenant = "acme",
            .customer = "",
            .email = "",
            .channel = type::CHANNEL_EMAIL,
            .purpose = type::PURPOSE_MARKETING,
            .notification = "notifications/n1",
            .issue_time = absl::Now()};
  }

  std::string dir_;
  std::optional<ServerProcess> context_server_;
  std::unique_ptr<ctx::ContextService::Stub> context_;
  std::unique_ptr<ContextGateway> gateway_;
  std::unique_ptr<UnsubscribeLinks> links_;
  std::unique_ptr<UnsubscribeServer> server_;
};

TEST_F(UnsubscribeServerTest, AnAddressWithoutACustomerGetsOneThatKeepsTheOptOut) {
  UnsubscribeClaim claim = Claim();
  claim.email = "lee@example.com";
  const std::string link = LocalLink(claim);

  // GET: a page, nobody created or changed.
  auto page = HttpFetch("GET", link);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->status, 200);
  ctx::ResolveCustomerRequest resolve;
  resolve.mutable_identity()->set_kind(type::IDENTITY_KIND_EMAIL);
  resolve.mutable_identity()->set_value("lee@example.com");
  EXPECT_EQ(KeyedCall(*context_, &ctx::ContextService::Stub::ResolveCustomer, resolve,
                      std::string(kContextKey))
                .status()
                .code(),
            absl::StatusCode::kNotFound);

  for (int attempt = 0; attempt < 2; ++attempt) {
    auto done = HttpFetch("POST", link, kOneClick, kForm);
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(done->status, 200) << done->body;
  }
  auto resolved = KeyedCall(*context_, &ctx::ContextService::Stub::ResolveCustomer, resolve,
                            std::string(kContextKey));
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  ctx::GetCustomerContextRequest get;
  get.mutable_customer()->set_customer(resolved->customer().name());
  auto context = KeyedCall(*context_, &ctx::ContextService::Stub::GetCustomerContext, get,
                           std::string(kContextKey));
  ASSERT_TRUE(context.ok()) << context.status();
  bool denied = false;
  for (const ctx::ConsentEntry& entry : context->customer_context().consent().entries()) {
    if (entry.channel() == type::CHANNEL_EMAIL && entry.purpose() == type::PURPOSE_MARKETING) {
      denied = entry.state() == ctx::CONSENT_STATE_DENIED;
      EXPECT_EQ(entry.evidence().source(), "unsubscribe_link");
      EXPECT_THAT(entry.evidence().text(), HasSubstr("notifications/n1"));
    }
  }
  EXPECT_TRUE(denied) << context->DebugString();
}

TEST_F(UnsubscribeServerTest, ACustomerThatIsGoneIs410) {
  UnsubscribeClaim claim = Claim();
  claim.customer = "customers/gone";
  auto answer = HttpFetch("POST", LocalLink(claim), kOneClick, kForm);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 410) << answer->body;
}

TEST_F(UnsubscribeServerTest, OnlyGetAndPostOfTheLinkPathAreAnswered) {
  UnsubscribeClaim claim = Claim();
  claim.customer = "customers/kim";
  const std::string link = LocalLink(claim);
  auto put = HttpFetch("PUT", link);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->status, 405);
  auto other_path =
      HttpFetch("POST", "http://127.0.0.1:" + std::to_string(server_->port()) + "/unsubscribe/x",
                kOneClick, kForm);
  ASSERT_TRUE(other_path.ok()) << other_path.status();
  EXPECT_EQ(other_path->status, 404);
  // Another tenant's key signs nothing here: a foreign link is a bad link.
  auto foreign = UnsubscribeLinks::Create(std::string(32, 'x'), links_->base_url());
  ASSERT_TRUE(foreign.ok());
  const std::string foreign_url = foreign->UrlFor(claim);
  auto refused = HttpFetch("POST",
                           "http://127.0.0.1:" + std::to_string(server_->port()) +
                               foreign_url.substr(foreign_url.find("/unsubscribe?")),
                           kOneClick, kForm);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->status, 400);
}

}  // namespace
}  // namespace cxp::notify
