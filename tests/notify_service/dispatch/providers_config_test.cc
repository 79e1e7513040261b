// ProvidersConfig from JSON and from flags: what each setting becomes, which
// webhook applies, errors that name the setting without quoting secrets, and
// what the channel senders put in bodies and email headers.
#include "notify_service/dispatch/providers_config.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notify_service/dispatch/channel_senders.h"
#include "notify_service/dispatch/dispatch_flags.h"
#include "tests/notify_service/delivery/test_servers.h"
#include "tests/testing/server_process.h"

namespace cxp::notify::dispatch {
namespace {

namespace type = ::cxp::type::v1;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/b+TpiDWi0k=";

absl::StatusOr<ProvidersConfig> Parse(const std::string& json) {
  return ParseProvidersConfig(json, "providers_config", absl::Seconds(5), absl::Seconds(30));
}

std::string WriteFile(const std::string& dir, const std::string& name,
                      const std::string& contents) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << contents;
  return path;
}

TEST(ProvidersConfigTest, ParsesEveryChannelInOrder) {
  const std::string dir = cxp::testing::MakeTempDir("providers_");
  const std::string password = WriteFile(dir, "smtp_password", "s3cret\n");
  const std::string auth = WriteFile(dir, "sms_auth", "Authorization: Bearer abc\n");
  absl::StatusOr<ProvidersConfig> config = Parse(R"({
    "email": [{"name": "smtp-main", "host": "smtp.shop.example", "port": 2525,
               "starttls": "opportunistic", "username": "cxp",
               "password_file": ")" + password + R"(",
               "from": "Shop <alerts@shop.example>", "total_timeout": "45s"}],
    "sms": [{"name": "sms-a", "url": "https://a.example/send", "auth_header_file": ")" +
                                                 auth + R"(",
             "message_id_path": "message.id", "sends_receipts": true, "from": "SHOP"},
            {"name": "sms-b", "url": "https://b.example/send", "auth_header": "X-Key: k"}],
    "push": [{"url": "https://push.example/v1"}],
    "webhooks": [{"url": "https://hooks.example/all", "secret": ")" +
                                                 std::string(kSecret) + R"("},
                 {"tenant": "acme", "url": "https://hooks.example/acme", "secret": ")" +
                                                 kSecret + R"("},
                 {"tenant": "acme", "channel": "chat", "url": "https://hooks.example/acme-chat",
                  "secret": ")" + kSecret + R"(", "connect_timeout": "1s"}]
  })");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->email.size(), 1u);
  const EmailProvider& email = config->email[0];
  EXPECT_EQ(email.name, "smtp-main");
  EXPECT_EQ(email.smtp.port, 2525);
  EXPECT_EQ(email.smtp.starttls, delivery::StartTls::kOpportunistic);
  EXPECT_EQ(email.smtp.password, "s3cret");
  EXPECT_EQ(email.smtp.from.address, "alerts@shop.example");
  EXPECT_EQ(email.smtp.from.display_name, "Shop");
  EXPECT_EQ(email.smtp.connect_timeout, absl::Seconds(5));  // the default
  EXPECT_EQ(email.smtp.total_timeout, absl::Seconds(45));
  ASSERT_EQ(config->sms.size(), 2u);
  EXPECT_EQ(config->sms[0].http.name, "sms-a");
  EXPECT_EQ(config->sms[0].http.auth_header_name, "Authorization");
  EXPECT_EQ(config->sms[0].http.auth_header_value, "Bearer abc");
  EXPECT_TRUE(config->sms[0].sends_receipts);
  EXPECT_EQ(config->sms[0].from, "SHOP");
  EXPECT_EQ(config->sms[1].http.auth_header_name, "X-Key");
  ASSERT_EQ(config->push.size(), 1u);
  EXPECT_EQ(config->push[0].http.name, "push");
  EXPECT_EQ(config->LongestAttempt(), absl::Seconds(60));  // two SMS providers of 30 s
  EXPECT_EQ(config->Summary(), "email: smtp-main; sms: sms-a, sms-b; push: push; webhooks: 3");

  EXPECT_EQ(config->WebhookFor("acme", type::CHANNEL_CHAT)->endpoint.url,
            "https://hooks.example/acme-chat");
  EXPECT_EQ(config->WebhookFor("acme", type::CHANNEL_CHAT)->endpoint.connect_timeout,
            absl::Seconds(1));
  EXPECT_EQ(config->WebhookFor("acme", type::CHANNEL_WEB)->endpoint.url,
            "https://hooks.example/acme");
  EXPECT_EQ(config->WebhookFor("globex", type::CHANNEL_SOCIAL)->endpoint.url,
            "https://hooks.example/all");
}

TEST(ProvidersConfigTest, ErrorsNameTheSettingAndNeverQuoteSecrets) {
  auto error = [](const std::string& json) {
    absl::StatusOr<ProvidersConfig> config = Parse(json);
    EXPECT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(config.status().message());
  };
  EXPECT_THAT(error("[1]"), HasSubstr("providers_config: not a JSON object"));
  EXPECT_THAT(error(R"({"emails": []})"), HasSubstr("unknown setting emails"));
  EXPECT_THAT(error(R"({"sms": {}})"), HasSubstr("providers_config: sms: must be a list"));
  EXPECT_THAT(error(R"({"sms": [{"url": "ftp://x"}]})"), HasSubstr("providers_config: sms[0]"));
  EXPECT_THAT(error(R"({"sms": [{"name": "a"}]})"), HasSubstr("sms[0].url: required"));
  EXPECT_THAT(error(R"({"sms": [{"url": "https://a", "retries": 3}]})"),
              HasSubstr("sms[0]: unknown setting retries"));
  EXPECT_THAT(error(R"({"sms": [{"url": "https://a"}, {"url": "https://b"}]})"),
              HasSubstr("two providers are named \"sms\""));
  EXPECT_THAT(error(R"({"email": [{"host": "h", "from": "a@b.example", "port": 70000}]})"),
              HasSubstr("email[0].port: must be from 1 to 65535"));
  EXPECT_THAT(error(R"({"email": [{"host": "h", "from": "not an address"}]})"),
              HasSubstr("email[0].from"));
  EXPECT_THAT(error(R"({"email": [{"host": "h", "from": "a@b.example", "starttls": "yes"}]})"),
              HasSubstr("email[0].starttls: must be none, opportunistic or required"));
  EXPECT_THAT(error(R"({"email": [{"host": "h", "from": "a@b.example",
                                   "total_timeout": "soon"}]})"),
              HasSubstr("email[0].total_timeout: must be a positive duration"));
  EXPECT_THAT(error(R"({"sms": [{"url": "https://a", "auth_header": "Bearer top-secret"}]})"),
              AllOf(HasSubstr("sms[0].auth_header: must be \"<header name>: <value>\""),
                    Not(HasSubstr("top-secret"))));
  EXPECT_THAT(error(R"({"webhooks": [{"url": "https://h", "secret": "whsec_c2hvcnQ="}]})"),
              AllOf(HasSubstr("webhooks[0]"), Not(HasSubstr("c2hvcnQ"))));
  EXPECT_THAT(error(R"({"webhooks": [{"url": "https://h"}]})"),
              HasSubstr("webhooks[0].secret: required (or secret_file)"));
  EXPECT_THAT(error(R"({"webhooks": [{"url": "https://h", "channel": "EMAIL", "secret": "x"}]})"),
              HasSubstr("webhooks[0].channel: must be CHAT, SOCIAL or WEB"));
  EXPECT_THAT(error(R"({"sms": [{"url": "https://a", "auth_header_file": "/nonexistent/x"}]})"),
              HasSubstr("sms[0].auth_header_file: cannot read /nonexistent/x"));
}

TEST(ProvidersConfigTest, FlagsMakeOneProviderPerChannelAndRefuseDoubleConfiguration) {
  absl::FlagSaver saver;
  const std::string dir = cxp::testing::MakeTempDir("provider_flags_");
  absl::SetFlag(&FLAGS_smtp_host, "127.0.0.1");
  absl::SetFlag(&FLAGS_smtp_port, 2525);
  absl::SetFlag(&FLAGS_smtp_starttls, "none");
  absl::SetFlag(&FLAGS_smtp_from, "alerts@shop.example");
  absl::SetFlag(&FLAGS_webhook_url, "https://hooks.example/all");
  absl::SetFlag(&FLAGS_webhook_secret_file, WriteFile(dir, "secret", std::string(kSecret) + "\n"));
  absl::SetFlag(&FLAGS_sms_provider_url, "https://sms.example/send");
  absl::SetFlag(&FLAGS_sms_provider_auth_header_file, WriteFile(dir, "auth", "X-Key: k1"));
  absl::SetFlag(&FLAGS_sms_provider_message_id_path, "sid");
  absl::SetFlag(&FLAGS_delivery_timeout, absl::Seconds(7));
  absl::StatusOr<ProvidersConfig> config = ProvidersConfigFromFlags();
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->email.size(), 1u);
  EXPECT_EQ(config->email[0].smtp.port, 2525);
  EXPECT_EQ(config->email[0].smtp.starttls, delivery::StartTls::kNone);
  EXPECT_EQ(config->email[0].smtp.total_timeout, absl::Seconds(7));
  ASSERT_EQ(config->webhooks.size(), 1u);
  EXPECT_EQ(config->webhooks[0].endpoint.secret, kSecret);
  ASSERT_EQ(config->sms.size(), 1u);
  EXPECT_EQ(config->sms[0].http.auth_header_value, "k1");
  EXPECT_TRUE(config->push.empty());
  // The senders accept what the flags made.
  EXPECT_TRUE(ChannelSenders::Create(*config).ok());

  absl::SetFlag(&FLAGS_providers_config,
                WriteFile(dir, "providers.json", R"({"sms": [{"url": "https://b.example"}]})"));
  EXPECT_THAT(ProvidersConfigFromFlags().status().message(),
              HasSubstr("--sms_provider_url: sms providers are set in --providers_config too"));
  absl::SetFlag(&FLAGS_providers_config, "");
  absl::SetFlag(&FLAGS_smtp_port, 0);
  EXPECT_THAT(ProvidersConfigFromFlags().status().message(),
              HasSubstr("--smtp_port: must be from 1 to 65535"));
  absl::SetFlag(&FLAGS_smtp_port, 25);
  absl::SetFlag(&FLAGS_webhook_secret_file, "");
  EXPECT_THAT(ProvidersConfigFromFlags().status().message(),
              HasSubstr("--webhook_secret_file: required with --webhook_url"));
  absl::SetFlag(&FLAGS_dispatch_workers, 0);
  EXPECT_THAT(DispatcherOptionsFromFlags().status().message(),
              HasSubstr("--dispatch_workers: must be from 1 to 1024"));
}

TEST(DispatchFlagsTest, LeaseAndRetryBackoffReachTheCoreOptions) {
  absl::FlagSaver saver;
  NotifyCoreOptions defaults;
  NotifyCoreOptions options;
  ASSERT_TRUE(ApplyCoreFlags(options).ok());
  EXPECT_EQ(options.lease, defaults.lease);
  EXPECT_EQ(options.backoff.base, defaults.backoff.base);
  EXPECT_EQ(options.backoff.cap, defaults.backoff.cap);
  EXPECT_EQ(options.backoff.max_attempts, defaults.backoff.max_attempts);

  absl::SetFlag(&FLAGS_dispatch_lease, absl::Seconds(8));
  absl::SetFlag(&FLAGS_dispatch_retry_base, absl::Milliseconds(100));
  absl::SetFlag(&FLAGS_dispatch_retry_cap, absl::Seconds(1));
  ASSERT_TRUE(ApplyCoreFlags(options).ok());
  EXPECT_EQ(options.lease, absl::Seconds(8));
  EXPECT_EQ(options.backoff.base, absl::Milliseconds(100));
  EXPECT_EQ(options.backoff.cap, absl::Seconds(1));
  EXPECT_EQ(options.backoff.max_attempts, defaults.backoff.max_attempts);

  absl::SetFlag(&FLAGS_dispatch_retry_cap, absl::Milliseconds(50));
  EXPECT_THAT(ApplyCoreFlags(options).message(),
              HasSubstr("--dispatch_retry_cap: must not be below --dispatch_retry_base"));
  absl::SetFlag(&FLAGS_dispatch_lease, absl::ZeroDuration());
  EXPECT_THAT(ApplyCoreFlags(options).message(), HasSubstr("--dispatch_lease: must be positive"));
}

TEST(ChannelSendersTest, BodiesCarryTheAddressContentAndReference) {
  DeliveryOrder order;
  order.send = true;
  order.notification.set_name("notifications/n42");
  order.notification.set_resolved_customer("customers/ana");
  order.target = {type::CHANNEL_SMS, "+821012345678"};
  cxp::notify::v1::SmsContent sms;
  sms.set_text("Parcel \"4711\" today");
  order.content.content = sms;
  HttpProvider provider;
  provider.from = "SHOP";
  EXPECT_THAT(ChannelSenders::SmsBody(order, provider),
              AllOf(HasSubstr(R"("to":"+821012345678")"), HasSubstr(R"("reference":"n42")"),
                    HasSubstr(R"("text":"Parcel \"4711\" today")"), HasSubstr(R"("from":"SHOP")")));
  cxp::notify::v1::PushContent push;
  push.set_title("Parcel");
  push.set_body("Today");
  (*push.mutable_data())["parcel"] = "4711";
  order.target = {type::CHANNEL_PUSH, "device-token-1"};
  order.content.content = push;
  EXPECT_THAT(ChannelSenders::PushBody(order),
              AllOf(HasSubstr(R"("token":"device-token-1")"), HasSubstr(R"("title":"Parcel")"),
                    HasSubstr(R"("data":{"parcel":"4711"})")));
}

// Marketing email carries a signed one-click unsubscribe link for its
// notification (RFC 8058), other purposes none; read back from aiosmtpd.
TEST(ChannelSendersTest, OnlyMarketingEmailCarriesTheOneClickUnsubscribeHeaders) {
  namespace servers = ::cxp::notify::delivery::testing;
  const std::string mail_dir = cxp::testing::MakeTempDir("channel_senders_mail_");
  absl::StatusOr<cxp::testing::ServerProcess> smtp = servers::StartSmtpServer(mail_dir);
  ASSERT_TRUE(smtp.ok()) << smtp.status();
  ProvidersConfig config;
  EmailProvider& email = config.email.emplace_back();
  email.name = "smtp";
  email.smtp.host = "127.0.0.1";
  email.smtp.port = smtp->port();
  email.smtp.starttls = delivery::StartTls::kNone;
  email.smtp.from = {"alerts@shop.example", "Shop"};
  email.smtp.connect_timeout = absl::Seconds(2);
  email.smtp.total_timeout = absl::Seconds(10);
  auto links = UnsubscribeLinks::Create(std::string(32, 'k'), "https://notify.shop.example/u");
  ASSERT_TRUE(links.ok()) << links.status();
  auto shared_links = std::make_shared<const UnsubscribeLinks>(*std::move(links));
  auto senders = ChannelSenders::Create(config, nullptr, shared_links);
  ASSERT_TRUE(senders.ok()) << senders.status();

  DeliveryOrder order;
  order.send = true;
  order.notification.set_name("notifications/n7");
  order.notification.set_resolved_customer("customers/ana");
  order.notification.set_purpose(type::PURPOSE_MARKETING);
  order.target = {type::CHANNEL_EMAIL, "ana@example.com"};
  cxp::notify::v1::EmailContent content;
  content.set_subject("Spring sale");
  content.set_text_body("20% off");
  order.content.content = content;
  AttemptReport report = (*senders)->Send("acme", order);
  ASSERT_TRUE(report.result.delivered()) << report.result.DebugString();
  order.notification.set_name("notifications/n8");
  order.notification.set_purpose(type::PURPOSE_TRANSACTIONAL);
  report = (*senders)->Send("acme", order);
  ASSERT_TRUE(report.result.delivered()) << report.result.DebugString();

  absl::StatusOr<google::protobuf::Struct> marketing =
      servers::ParseJsonObject(servers::ReadFile(mail_dir + "/1.json"));
  ASSERT_TRUE(marketing.ok()) << marketing.status();
  const std::string header = servers::StringAt(*marketing, "headers.List-Unsubscribe");
  const std::string prefix = "<https://notify.shop.example/u?t=";
  ASSERT_TRUE(absl::StartsWith(header, prefix) && absl::EndsWith(header, ">")) << header;
  EXPECT_EQ(servers::StringAt(*marketing, "headers.List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click");
  absl::StatusOr<UnsubscribeClaim> claim = shared_links->Verify(
      absl::string_view(header).substr(prefix.size(), header.size() - prefix.size() - 1));
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(claim->tenant, "acme");
  EXPECT_EQ(claim->customer, "customers/ana");
  EXPECT_EQ(claim->channel, type::CHANNEL_EMAIL);
  EXPECT_EQ(claim->purpose, type::PURPOSE_MARKETING);
  EXPECT_EQ(claim->notification, "notifications/n7");

  absl::StatusOr<google::protobuf::Struct> transactional =
      servers::ParseJsonObject(servers::ReadFile(mail_dir + "/2.json"));
  ASSERT_TRUE(transactional.ok()) << transactional.status();
  EXPECT_EQ(servers::StringAt(*transactional, "headers.Subject"), "Spring sale");
  EXPECT_EQ(servers::StringAt(*transactional, "headers.List-Unsubscribe"), "");
  EXPECT_EQ(servers::StringAt(*transactional, "headers.List-Unsubscribe-Post"), "");
  smtp = absl::CancelledError("stopped");  // kills the server before its directory goes
  std::filesystem::remove_all(mail_dir);
}

}  // namespace
}  // namespace cxp::notify::dispatch
