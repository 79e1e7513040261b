// Pure parts of the HTTP senders: the Standard Webhooks signature against
// the specification's published test vector, endpoint validation, and the
// dotted-path lookup of a provider's message id.

#include "gtest/gtest.h"
#include "notify_service/delivery/http_provider_sender.h"
#include "notify_service/delivery/webhook_sender.h"

namespace cxp::notify::delivery {
namespace {

TEST(SignStandardWebhookTest, MatchesTheSpecificationTestVector) {
  absl::StatusOr<std::string> signature =
      SignStandardWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                          1614265330, R"({"test": 2432232314})");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(*signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(SignStandardWebhookTest, RejectsSecretsNotInWhsecForm) {
  EXPECT_EQ(SignStandardWebhook("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, "{}").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignStandardWebhook("whsec_!!!", "id", 1, "{}").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateWebhookEndpointTest, ChecksUrlSecretLengthAndTimeouts) {
  WebhookEndpoint endpoint{"https://hooks.example.com/cxp",
                           "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  EXPECT_TRUE(ValidateWebhookEndpoint(endpoint).ok());
  WebhookEndpoint bad = endpoint;
  bad.url = "ftp://hooks.example.com";
  EXPECT_FALSE(ValidateWebhookEndpoint(bad).ok());
  bad = endpoint;
  bad.url = "https://hooks.example.com/a b";
  EXPECT_FALSE(ValidateWebhookEndpoint(bad).ok());
  bad = endpoint;
  bad.secret = "whsec_c2hvcnQ=";  // "short": fewer than 24 bytes
  const absl::Status status = ValidateWebhookEndpoint(bad);
  EXPECT_EQ(status.message(), "webhook.secret: must encode 24 to 64 bytes");
  bad = endpoint;
  bad.total_timeout = absl::ZeroDuration();
  EXPECT_FALSE(ValidateWebhookEndpoint(bad).ok());
}

TEST(FindJsonFieldTest, WalksObjectsAndListIndexes) {
  const std::string json =
      R"({"message":{"id":"SM123","segments":2},"results":[{"message_id":"0:1500"}],
          "big":12345678901,"ok":true,"nothing":null,"frac":1.5})";
  EXPECT_EQ(*FindJsonField(json, "message.id"), "SM123");
  EXPECT_EQ(*FindJsonField(json, "message.segments"), "2");
  EXPECT_EQ(*FindJsonField(json, "results.0.message_id"), "0:1500");
  EXPECT_EQ(*FindJsonField(json, "big"), "12345678901");
  EXPECT_EQ(*FindJsonField(json, "ok"), "true");
  EXPECT_EQ(*FindJsonField(json, "frac"), "1.5");
  EXPECT_EQ(FindJsonField(json, "message.sid").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FindJsonField(json, "results.1.message_id").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(FindJsonField(json, "message").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FindJsonField(json, "nothing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FindJsonField("not json", "id").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FindJsonField("[1,2]", "0").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HttpProviderSenderTest, CreateValidatesTheConfiguration) {
  HttpClient client;
  HttpProviderConfig config{"sms-a", "https://sms.example.com/v1/messages", "Authorization",
                            "Bearer token", "message.id"};
  EXPECT_TRUE(HttpProviderSender::Create(config, client).ok());
  HttpProviderConfig bad = config;
  bad.name.clear();
  EXPECT_FALSE(HttpProviderSender::Create(bad, client).ok());
  bad = config;
  bad.url = "sms.example.com";
  EXPECT_FALSE(HttpProviderSender::Create(bad, client).ok());
  bad = config;
  bad.auth_header_value = "Bearer x\r\nX-Evil: 1";
  absl::Status status = HttpProviderSender::Create(bad, client).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().find("Bearer"), absl::string_view::npos) << "secret in error";
  bad = config;
  bad.auth_header_name = "Bad Name:";
  EXPECT_FALSE(HttpProviderSender::Create(bad, client).ok());
  bad = config;
  bad.message_id_path = "message..id";
  EXPECT_FALSE(HttpProviderSender::Create(bad, client).ok());
}

}  // namespace
}  // namespace cxp::notify::delivery
