// WebhookSender, HttpProviderSender and ProviderChain against a real HTTP
// receiver (Python http.server, started per test) that records each request,
// verifies Standard Webhooks signatures with its own implementation
// (hmac/hashlib/base64) and fails on demand.

#include <atomic>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notify_service/delivery/http_provider_sender.h"
#include "notify_service/delivery/provider_chain.h"
#include "notify_service/delivery/webhook_sender.h"
#include "tests/notify_service/delivery/test_servers.h"

namespace cxp::notify::delivery {
namespace {

using testing::BoolAt;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::StringAt;

// 32 bytes, base64.
constexpr char kSecret[] = "whsec_Y3hwLXRlc3Qtc2lnbmluZy1zZWNyZXQtMzItYnl0ZXM=";

class HttpSendersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    record_dir_ = cxp::testing::MakeTempDir("http_receiver_");
    ASSERT_FALSE(record_dir_.empty());
    record_file_ = record_dir_ + "/requests.jsonl";
    absl::StatusOr<cxp::testing::ServerProcess> receiver =
        testing::StartHttpReceiver(record_file_, kSecret);
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_.emplace(*std::move(receiver));
  }

  void TearDown() override {
    receiver_.reset();  // SIGKILL before its directory goes
    std::filesystem::remove_all(record_dir_);
  }

  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", receiver_->port(), path);
  }

  WebhookEndpoint Endpoint(const std::string& path) const {
    WebhookEndpoint endpoint;
    endpoint.url = Url(path);
    endpoint.secret = kSecret;
    endpoint.connect_timeout = absl::Seconds(2);
    endpoint.total_timeout = absl::Seconds(5);
    return endpoint;
  }

  HttpProviderSender Provider(const std::string& name, const std::string& url) {
    HttpProviderConfig config;
    config.name = name;
    config.url = url;
    config.auth_header_name = "Authorization";
    config.auth_header_value = "Bearer sms-token";
    config.message_id_path = "message.id";
    config.connect_timeout = absl::Seconds(2);
    config.total_timeout = absl::Seconds(5);
    absl::StatusOr<HttpProviderSender> sender = HttpProviderSender::Create(config, client_);
    EXPECT_TRUE(sender.ok()) << sender.status();
    return *std::move(sender);
  }

  std::vector<google::protobuf::Struct> Requests() const {
    return testing::ReadJsonLines(record_file_);
  }

  HttpClient client_;
  std::string record_dir_;
  std::string record_file_;
  std::optional<cxp::testing::ServerProcess> receiver_;
};

TEST_F(HttpSendersTest, WebhookIsSignedSoAnIndependentVerifierAcceptsIt) {
  WebhookSender sender(client_);
  const WebhookMessage message{"ntf_01HZX3", R"({"type":"delivery.updated","data":{"n":1}})"};
  const DeliveryResult result = sender.Send(Endpoint("/ok"), message);
  ASSERT_TRUE(result.delivered()) << result.DebugString();
  EXPECT_EQ(result.provider_message_id, "ntf_01HZX3");
  EXPECT_EQ(result.detail, "HTTP 200");

  const std::vector<google::protobuf::Struct> requests = Requests();
  ASSERT_EQ(requests.size(), 1u);
  const google::protobuf::Struct& request = requests[0];
  EXPECT_EQ(StringAt(request, "body"), message.json_body);
  EXPECT_EQ(StringAt(request, "headers.webhook-id"), "ntf_01HZX3");
  EXPECT_EQ(StringAt(request, "headers.content-type"), "application/json");
  EXPECT_THAT(StringAt(request, "headers.webhook-signature"), StartsWith("v1,"));
  EXPECT_TRUE(BoolAt(request, "signature_valid"));
  EXPECT_TRUE(BoolAt(request, "timestamp_fresh"));
}

TEST_F(HttpSendersTest, RetriesKeepTheWebhookIdAndSignEachTimestamp) {
  absl::Time now = absl::Now() - absl::Seconds(100);
  WebhookSender sender(client_, [&now] { return now; });
  const WebhookMessage message{"ntf_retry", R"({"n":2})"};
  EXPECT_TRUE(sender.Send(Endpoint("/status/503"), message).transient());
  now += absl::Seconds(60);
  EXPECT_TRUE(sender.Send(Endpoint("/ok"), message).delivered());
  const std::vector<google::protobuf::Struct> requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const google::protobuf::Struct& request : requests) {
    EXPECT_EQ(StringAt(request, "headers.webhook-id"), "ntf_retry");
    EXPECT_TRUE(BoolAt(request, "signature_valid"));
  }
  EXPECT_NE(StringAt(requests[0], "headers.webhook-timestamp"),
            StringAt(requests[1], "headers.webhook-timestamp"));
}

TEST_F(HttpSendersTest, WrongSecretFailsTheIndependentVerification) {
  WebhookSender sender(client_);
  WebhookEndpoint endpoint = Endpoint("/ok");
  endpoint.secret = "whsec_b3RoZXItc2VjcmV0LW9mLXRoaXJ0eS10d28tYnl0ZXM=";
  ASSERT_TRUE(sender.Send(endpoint, {"ntf_x", "{}"}).delivered());
  ASSERT_EQ(Requests().size(), 1u);
  EXPECT_FALSE(BoolAt(Requests()[0], "signature_valid"));
}

TEST_F(HttpSendersTest, WebhookFailureClassification) {
  WebhookSender sender(client_);
  const WebhookMessage message{"ntf_f", "{}"};

  DeliveryResult result = sender.Send(Endpoint("/status/503"), message);
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_THAT(result.detail, StartsWith("HTTP 503"));

  result = sender.Send(Endpoint("/status/429?retry_after=7"), message);
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_EQ(result.retry_after, absl::Seconds(7));

  result = sender.Send(Endpoint("/status/400"), message);
  EXPECT_TRUE(result.permanent()) << result.DebugString();
  EXPECT_EQ(result.detail, R"(HTTP 400: {"error": "status 400 on demand"})");

  result = sender.Send(Endpoint("/status/410"), message);
  EXPECT_TRUE(result.permanent()) << result.DebugString();

  result = sender.Send(Endpoint("/drop"), message);
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_EQ(result.detail, "connection closed without a response");

  WebhookEndpoint slow = Endpoint("/delay/3000");
  slow.total_timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  result = sender.Send(slow, message);
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_THAT(result.detail, StartsWith("timeout after 300ms"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  WebhookEndpoint refused = Endpoint("/ok");
  refused.url = absl::StrCat("http://127.0.0.1:", testing::UnusedLoopbackPort(), "/hook");
  result = sender.Send(refused, message);
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_THAT(result.detail, StartsWith("connection refused"));
}

TEST_F(HttpSendersTest, WebhookRefusesIdsThatWouldBreakTheSignedContent) {
  WebhookSender sender(client_);
  EXPECT_TRUE(sender.Send(Endpoint("/ok"), {"a.b", "{}"}).permanent());
  EXPECT_TRUE(sender.Send(Endpoint("/ok"), {"", "{}"}).permanent());
  EXPECT_TRUE(sender.Send(Endpoint("/ok"), {"id\r\nX: y", "{}"}).permanent());
  EXPECT_TRUE(Requests().empty());
}

TEST_F(HttpSendersTest, ProviderSendsAuthAndBodyAndKeepsTheProvidersMessageId) {
  HttpProviderSender sms = Provider("sms-a", Url("/ok"));
  const std::string body = R"({"to":"+821012345678","text":"택배가 도착했습니다"})";
  const DeliveryResult result = sms.Send(body);
  ASSERT_TRUE(result.delivered()) << result.DebugString();
  EXPECT_EQ(result.provider_message_id, "msg-1");
  EXPECT_EQ(result.detail, "HTTP 200");
  ASSERT_EQ(Requests().size(), 1u);
  EXPECT_EQ(StringAt(Requests()[0], "headers.authorization"), "Bearer sms-token");
  EXPECT_EQ(StringAt(Requests()[0], "body"), body);
}

TEST_F(HttpSendersTest, ProviderIdInAListOrMissing) {
  HttpProviderConfig config;
  config.name = "push";
  config.url = Url("/ok");
  config.message_id_path = "ids.0";
  absl::StatusOr<HttpProviderSender> push = HttpProviderSender::Create(config, client_);
  ASSERT_TRUE(push.ok());
  EXPECT_EQ(
      push->Send(R"({"token":"t","title":"a","body":"b","data":{"k":"v"}})").provider_message_id,
      "a-1");

  // 2xx without the field: delivered all the same, the id unknown.
  HttpProviderSender no_id = Provider("sms", Url("/body/%7B%22queued%22%3Atrue%7D"));
  const DeliveryResult result = no_id.Send("{}");
  EXPECT_TRUE(result.delivered()) << result.DebugString();
  EXPECT_EQ(result.provider_message_id, "");
  EXPECT_THAT(result.detail, HasSubstr("message id unknown"));
}

TEST_F(HttpSendersTest, ProviderFailureClassification) {
  DeliveryResult result = Provider("p", Url("/status/400")).Send("{}");
  EXPECT_TRUE(result.permanent()) << result.DebugString();
  result = Provider("p", Url("/status/503")).Send("{}");
  EXPECT_TRUE(result.transient()) << result.DebugString();
  result = Provider("p", Url("/status/429?retry_after=2")).Send("{}");
  EXPECT_TRUE(result.transient());
  EXPECT_EQ(result.retry_after, absl::Seconds(2));
  result =
      Provider("p", absl::StrCat("http://127.0.0.1:", testing::UnusedLoopbackPort())).Send("{}");
  EXPECT_TRUE(result.transient());
  EXPECT_THAT(result.detail, StartsWith("connection refused"));
  EXPECT_THAT(result.detail, ::testing::Not(HasSubstr("sms-token")));
}

TEST_F(HttpSendersTest, ChainFailsOverToTheSecondProviderWhenTheFirstReturns503) {
  HttpProviderSender first = Provider("sms-a", Url("/status/503"));
  HttpProviderSender second = Provider("sms-b", Url("/ok"));
  ProviderChain<std::string> chain;
  chain.Add(first.name(), [&first](const std::string& body) { return first.Send(body); })
      .Add(second.name(), [&second](const std::string& body) { return second.Send(body); });
  const ChainResult result = chain.Send(R"({"to":"+1555","text":"hi"})");
  ASSERT_TRUE(result.result.delivered()) << result.result.DebugString();
  EXPECT_EQ(result.delivered_by, "sms-b");
  EXPECT_EQ(result.result.provider_message_id, "msg-2");
  ASSERT_EQ(result.attempts.size(), 2u);
  EXPECT_EQ(result.attempts[0].provider, "sms-a");
  EXPECT_TRUE(result.attempts[0].result.transient());
  EXPECT_THAT(result.attempts[0].result.detail, StartsWith("HTTP 503"));
  const std::vector<google::protobuf::Struct> requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(StringAt(requests[0], "path"), "/status/503");
  EXPECT_EQ(StringAt(requests[1], "path"), "/ok");
}

TEST_F(HttpSendersTest, ChainStopsAtAPermanentFailure) {
  HttpProviderSender first = Provider("sms-a", Url("/status/400"));
  HttpProviderSender second = Provider("sms-b", Url("/ok"));
  ProviderChain<std::string> chain;
  chain.Add(first.name(), [&first](const std::string& body) { return first.Send(body); })
      .Add(second.name(), [&second](const std::string& body) { return second.Send(body); });
  const ChainResult result = chain.Send("{}");
  EXPECT_TRUE(result.result.permanent());
  EXPECT_EQ(Requests().size(), 1u);
}

TEST_F(HttpSendersTest, ConcurrentSendsShareTheClient) {
  WebhookSender sender(client_);
  std::vector<std::thread> threads;
  std::atomic<int> delivered{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const WebhookMessage message{absl::StrCat("ntf_", t, "_", i),
                                     absl::StrCat("{\"i\":", i, "}")};
        if (sender.Send(Endpoint("/ok"), message).delivered()) ++delivered;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(delivered.load(), 40);
  const std::vector<google::protobuf::Struct> requests = Requests();
  ASSERT_EQ(requests.size(), 40u);
  for (const google::protobuf::Struct& request : requests) {
    EXPECT_TRUE(BoolAt(request, "signature_valid"));
  }
}

}  // namespace
}  // namespace cxp::notify::delivery
