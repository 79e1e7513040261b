#include "notify_service/core/template_renderer.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::notify {
namespace {

using cxp::notify::v1::EmailContent;
using cxp::notify::v1::PushContent;
using cxp::notify::v1::SmsContent;
using cxp::notify::v1::Template;
using cxp::notify::v1::TemplateLocale;
using cxp::notify::v1::WebhookContent;
using cxp::type::v1::CHANNEL_CHAT;
using cxp::type::v1::CHANNEL_EMAIL;
using cxp::type::v1::CHANNEL_IN_PERSON;
using cxp::type::v1::CHANNEL_PUSH;
using cxp::type::v1::CHANNEL_SMS;
using cxp::type::v1::CHANNEL_VOICE;
using cxp::type::v1::CHANNEL_WEB;
using cxp::validation::testing_util::IsInvalid;
using google::protobuf::Struct;
using ::testing::ElementsAre;

TemplateLocale* AddLocale(Template& tmpl, const std::string& code) {
  TemplateLocale* locale = tmpl.add_locales();
  locale->set_language_code(code);
  return locale;
}

// Default locale: email and SMS; "ko": SMS only; "ko-KR": push only.
Template ReminderTemplate() {
  Template tmpl;
  tmpl.set_name("templates/reminder");
  tmpl.set_version(3);
  TemplateLocale* def = AddLocale(tmpl, "");
  def->mutable_email()->set_subject("Reminder for {{customer.display_name}}");
  def->mutable_email()->set_text_body("See you at {{clinic_name}} at {{appointment_time}}.");
  def->mutable_sms()->set_text("Reminder: {{appointment_time}}");
  TemplateLocale* ko = AddLocale(tmpl, "ko");
  ko->mutable_sms()->set_text("{{clinic_name}} 예약 알림: {{appointment_time}}");
  TemplateLocale* ko_kr = AddLocale(tmpl, "ko-KR");
  ko_kr->mutable_push()->set_title("예약 알림");
  ko_kr->mutable_push()->set_body("{{appointment_time}}");
  return tmpl;
}

TEST(LocaleFallbackChainTest, DropsSubtagsDownToTheDefault) {
  EXPECT_THAT(LocaleFallbackChain("ko-KR"), ElementsAre("ko-KR", "ko", ""));
  EXPECT_THAT(LocaleFallbackChain("zh-Hant-TW"), ElementsAre("zh-Hant-TW", "zh-Hant", "zh", ""));
  EXPECT_THAT(LocaleFallbackChain("en-US-u-ca-buddhist"),
              ElementsAre("en-US-u-ca-buddhist", "en-US-u-ca", "en-US", "en", ""));
  EXPECT_THAT(LocaleFallbackChain("ko"), ElementsAre("ko", ""));
  EXPECT_THAT(LocaleFallbackChain(""), ElementsAre(""));
}

TEST(ChooseTemplateLocaleTest, FallsBackPerChannel) {
  const Template tmpl = ReminderTemplate();
  // ko-KR has push; SMS comes from ko; email from the default (ko has none).
  EXPECT_EQ(ChooseTemplateLocale(tmpl, CHANNEL_PUSH, "ko-KR"), &tmpl.locales(2));
  EXPECT_EQ(ChooseTemplateLocale(tmpl, CHANNEL_SMS, "ko-KR"), &tmpl.locales(1));
  EXPECT_EQ(ChooseTemplateLocale(tmpl, CHANNEL_EMAIL, "ko-KR"), &tmpl.locales(0));
  EXPECT_EQ(ChooseTemplateLocale(tmpl, CHANNEL_SMS, "KO-kr"), &tmpl.locales(1));
  EXPECT_EQ(ChooseTemplateLocale(tmpl, CHANNEL_SMS, "en-US"), &tmpl.locales(0));
  EXPECT_EQ(ChooseTemplateLocale(tmpl, CHANNEL_SMS, ""), &tmpl.locales(0));
  // A more specific locale is never chosen for a less specific language.
  EXPECT_EQ(ChooseTemplateLocale(tmpl, CHANNEL_PUSH, "ko"), nullptr);
  EXPECT_EQ(ChooseTemplateLocale(tmpl, CHANNEL_CHAT, "ko-KR"), nullptr);
  EXPECT_EQ(ChooseTemplateLocale(tmpl, CHANNEL_VOICE, "ko-KR"), nullptr);
}

TEST(RenderTemplateTest, RendersTheChosenLocale) {
  const TemplateVariables variables = {{"clinic_name", "서울 치과"},
                                       {"appointment_time", "3월 5일 14:00"}};
  absl::StatusOr<RenderedContent> sms =
      RenderTemplate(ReminderTemplate(), CHANNEL_SMS, "ko-KR", variables, {});
  ASSERT_TRUE(sms.ok()) << sms.status();
  EXPECT_EQ(sms->channel, CHANNEL_SMS);
  EXPECT_EQ(sms->template_name, "templates/reminder");
  EXPECT_EQ(sms->template_version, 3);
  EXPECT_EQ(sms->language_code, "ko");
  EXPECT_EQ(std::get<SmsContent>(sms->content).text(), "서울 치과 예약 알림: 3월 5일 14:00");

  absl::StatusOr<RenderedContent> email =
      RenderTemplate(ReminderTemplate(), CHANNEL_EMAIL, "ko-KR", variables, {"김민준"});
  ASSERT_TRUE(email.ok()) << email.status();
  EXPECT_EQ(email->language_code, "");
  const EmailContent& content = std::get<EmailContent>(email->content);
  EXPECT_EQ(content.subject(), "Reminder for 김민준");
  EXPECT_EQ(content.text_body(), "See you at 서울 치과 at 3월 5일 14:00.");
  EXPECT_EQ(content.html_body(), "");
}

TEST(RenderTemplateTest, MissingVariablesAreAllNamedSorted) {
  EXPECT_TRUE(IsInvalid(
      RenderTemplate(ReminderTemplate(), CHANNEL_SMS, "ko-KR", {{"unused", "x"}}, {}),
      "variables: missing appointment_time, clinic_name (needed by templates/reminder version 3, "
      "locale ko, channel SMS)"));
  // The built-in counts too when there is no customer record.
  EXPECT_TRUE(IsInvalid(
      RenderTemplate(ReminderTemplate(), CHANNEL_EMAIL, "ko-KR", {{"clinic_name", "c"}}, {}),
      "variables: missing appointment_time, customer.display_name (needed by templates/reminder "
      "version 3, default locale, channel EMAIL)"));
}

TEST(RenderTemplateTest, HtmlEscapingOnlyInHtmlBody) {
  Template tmpl;
  tmpl.set_name("templates/t");
  tmpl.set_version(1);
  TemplateLocale* def = AddLocale(tmpl, "");
  def->mutable_email()->set_subject("S {{v}}");
  def->mutable_email()->set_text_body("T {{v}}");
  def->mutable_email()->set_html_body("<p>H {{v}}</p>");
  def->mutable_sms()->set_text("M {{v}}");
  def->mutable_push()->set_title("P {{v}}");
  def->mutable_push()->set_body("B {{v}}");
  (*def->mutable_push()->mutable_data())["d"] = "D {{v}}";
  const std::string value = "<script>alert(\"x&y\")</script>";
  const TemplateVariables variables = {{"v", value}};

  absl::StatusOr<RenderedContent> email = RenderTemplate(tmpl, CHANNEL_EMAIL, "", variables, {});
  ASSERT_TRUE(email.ok()) << email.status();
  const EmailContent& e = std::get<EmailContent>(email->content);
  EXPECT_EQ(e.subject(), "S " + value);
  EXPECT_EQ(e.text_body(), "T " + value);
  EXPECT_EQ(e.html_body(), "<p>H &lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;</p>");

  absl::StatusOr<RenderedContent> sms = RenderTemplate(tmpl, CHANNEL_SMS, "", variables, {});
  ASSERT_TRUE(sms.ok()) << sms.status();
  EXPECT_EQ(std::get<SmsContent>(sms->content).text(), "M " + value);

  absl::StatusOr<RenderedContent> push = RenderTemplate(tmpl, CHANNEL_PUSH, "", variables, {});
  ASSERT_TRUE(push.ok()) << push.status();
  const PushContent& p = std::get<PushContent>(push->content);
  EXPECT_EQ(p.title(), "P " + value);
  EXPECT_EQ(p.body(), "B " + value);
  EXPECT_EQ(p.data().at("d"), "D " + value);
}

Template WebhookTemplate(const std::string& payload_json) {
  Template tmpl;
  tmpl.set_name("templates/hook");
  tmpl.set_version(2);
  TemplateLocale* def = AddLocale(tmpl, "");
  const auto status = google::protobuf::util::JsonStringToMessage(
      payload_json, def->mutable_webhook()->mutable_payload());
  EXPECT_TRUE(status.ok()) << status.ToString();
  return tmpl;
}

TEST(RenderTemplateTest, WebhookValuesCannotBreakTheJson) {
  const Template tmpl = WebhookTemplate(
      R"({"text": "Hi {{name}}", "meta": {"note": "{{name}}", "tags": ["{{name}}", 1, true]},)"
      R"( "fixed": null, "{{name}}": "keys stay literal"})");
  const std::string evil = R"(x", "admin": true, "y": {"z": "}]})";
  absl::StatusOr<RenderedContent> rendered =
      RenderTemplate(tmpl, CHANNEL_WEB, "en", {{"name", evil}}, {});
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  EXPECT_EQ(rendered->channel, CHANNEL_WEB);
  const Struct& payload = std::get<WebhookContent>(rendered->content).payload();

  // The JSON posted parses back to the same structure, the value inside strings.
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(payload, &json).ok());
  Struct reparsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &reparsed).ok()) << json;
  EXPECT_EQ(reparsed.fields_size(), 4);
  EXPECT_FALSE(reparsed.fields().contains("admin"));
  EXPECT_EQ(reparsed.fields().at("text").string_value(), "Hi " + evil);
  const Struct& meta = reparsed.fields().at("meta").struct_value();
  EXPECT_EQ(meta.fields_size(), 2);
  EXPECT_EQ(meta.fields().at("note").string_value(), evil);
  EXPECT_EQ(meta.fields().at("tags").list_value().values(0).string_value(), evil);
  EXPECT_EQ(meta.fields().at("tags").list_value().values(1).number_value(), 1);
  EXPECT_TRUE(meta.fields().at("tags").list_value().values(2).bool_value());
  EXPECT_EQ(reparsed.fields().at("{{name}}").string_value(), "keys stay literal");
}

TEST(RenderTemplateTest, WebhookMissingVariablesAcrossStrings) {
  const Template tmpl = WebhookTemplate(R"({"a": "{{zeta}}", "b": {"c": ["{{alpha}}"]}})");
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_CHAT, "", {}, {}),
                        "variables: missing alpha, zeta (needed by templates/hook version 2, "
                        "default locale, channel CHAT)"));
}

TEST(RenderTemplateTest, KoreanThroughEveryChannel) {
  Template tmpl;
  tmpl.set_name("templates/ko");
  tmpl.set_version(1);
  TemplateLocale* def = AddLocale(tmpl, "");
  def->mutable_sms()->set_text("default");
  TemplateLocale* ko = AddLocale(tmpl, "ko");
  ko->mutable_email()->set_subject("{{customer.display_name}}님, 주문 {{order}} 배송 안내");
  ko->mutable_email()->set_text_body("{{order}} 주문이 출발했습니다.");
  ko->mutable_email()->set_html_body("<p>{{order}} 주문이 출발했습니다.</p>");
  ko->mutable_sms()->set_text("[배송] {{order}} 출발");
  ko->mutable_push()->set_title("배송 시작");
  ko->mutable_push()->set_body("{{order}} 출발");
  (*ko->mutable_push()->mutable_data())["메모"] = "{{order}}";
  (*(*ko->mutable_webhook()->mutable_payload()->mutable_fields())["본문"].mutable_string_value()) =
      "{{customer.display_name}}: {{order}}";
  const TemplateVariables variables = {{"order", "주문-42 <빠른>"}};
  const BuiltinValues builtins{"홍길동"};

  auto email = RenderTemplate(tmpl, CHANNEL_EMAIL, "ko-KR", variables, builtins);
  ASSERT_TRUE(email.ok()) << email.status();
  EXPECT_EQ(std::get<EmailContent>(email->content).subject(),
            "홍길동님, 주문 주문-42 <빠른> 배송 안내");
  EXPECT_EQ(std::get<EmailContent>(email->content).text_body(),
            "주문-42 <빠른> 주문이 출발했습니다.");
  EXPECT_EQ(std::get<EmailContent>(email->content).html_body(),
            "<p>주문-42 &lt;빠른&gt; 주문이 출발했습니다.</p>");
  auto sms = RenderTemplate(tmpl, CHANNEL_SMS, "ko-KR", variables, builtins);
  ASSERT_TRUE(sms.ok()) << sms.status();
  EXPECT_EQ(std::get<SmsContent>(sms->content).text(), "[배송] 주문-42 <빠른> 출발");
  auto push = RenderTemplate(tmpl, CHANNEL_PUSH, "ko-KR", variables, builtins);
  ASSERT_TRUE(push.ok()) << push.status();
  EXPECT_EQ(std::get<PushContent>(push->content).body(), "주문-42 <빠른> 출발");
  EXPECT_EQ(std::get<PushContent>(push->content).data().at("메모"), "주문-42 <빠른>");
  auto chat = RenderTemplate(tmpl, CHANNEL_CHAT, "ko-KR", variables, builtins);
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(std::get<WebhookContent>(chat->content).payload().fields().at("본문").string_value(),
            "홍길동: 주문-42 <빠른>");
  // A Korean SMS of 1600 characters (4800 bytes) fits: limits count characters.
  std::string long_korean;
  for (int i = 0; i < 1592; ++i) long_korean += "가";  // + "[배송] " and " 출발": 1600
  auto long_sms = RenderTemplate(tmpl, CHANNEL_SMS, "ko", {{"order", long_korean}}, builtins);
  ASSERT_TRUE(long_sms.ok()) << long_sms.status();
  EXPECT_EQ(std::get<SmsContent>(long_sms->content).text().size(), 3 * 1592 + 16);
  EXPECT_TRUE(IsInvalid(
      RenderTemplate(tmpl, CHANNEL_SMS, "ko", {{"order", long_korean + "가"}}, builtins),
      "variables: rendered sms.text: must be at most 1600 characters (got 1601) (templates/ko "
      "version 1, locale ko, channel SMS)"));
}

TEST(RenderTemplateTest, SizeLimitsAfterRendering) {
  Template tmpl;
  tmpl.set_name("templates/t");
  tmpl.set_version(4);
  TemplateLocale* def = AddLocale(tmpl, "");
  def->mutable_email()->set_subject("Hi {{v}}");
  def->mutable_email()->set_text_body("x");
  def->mutable_email()->set_html_body(std::string(200, '.') + "{{v}}{{v}}{{v}}{{v}}{{v}}");
  def->mutable_sms()->set_text("SMS: {{v}}{{v}}");
  def->mutable_push()->set_title("{{v}}");
  def->mutable_push()->set_body("b");

  // SMS: 5 + 2 * 800 characters = 1605 > 1600.
  std::string hangul;
  for (int i = 0; i < 800; ++i) hangul += "한";
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_SMS, "", {{"v", hangul}}, {}),
                        "variables: rendered sms.text: must be at most 1600 characters (got "
                        "1605) (templates/t version 4, default locale, channel SMS)"));
  // Subject: 3 + 253 = 256 characters.
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_EMAIL, "", {{"v", std::string(253, 'a')}}, {}),
                        "variables: rendered email.subject: must be at most 255 characters (got "
                        "256) (templates/t version 4, default locale, channel EMAIL)"));
  EXPECT_TRUE(RenderTemplate(tmpl, CHANNEL_EMAIL, "", {{"v", std::string(252, 'a')}}, {}).ok());
  // A value cannot add header lines to the subject or break the push title.
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_EMAIL, "", {{"v", "x\r\nBcc: a@b.c"}}, {}),
                        "variables: rendered email.subject: must not contain control characters "
                        "(templates/t version 4, default locale, channel EMAIL)"));
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_PUSH, "", {{"v", "a\nb"}}, {}),
                        "variables: rendered push.title: must not contain control characters "
                        "(templates/t version 4, default locale, channel PUSH)"));
  // A required text cannot render empty.
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_PUSH, "", {{"v", ""}}, {}),
                        "variables: rendered push.title: must not be empty (templates/t version "
                        "4, default locale, channel PUSH)"));
}

TEST(RenderTemplateTest, HugeRendersAreRefusedBeforeRendering) {
  Template tmpl;
  tmpl.set_name("templates/t");
  tmpl.set_version(1);
  TemplateLocale* def = AddLocale(tmpl, "");
  def->mutable_email()->set_subject("s");
  def->mutable_email()->set_text_body("t");
  std::string html;
  for (int i = 0; i < 20000; ++i) html += "{{v}}";  // 100 KB of placeholders
  def->mutable_email()->set_html_body(html);
  // 20000 * 4096 * 4 bytes (each '<' escapes to "&lt;") would be 312 MiB.
  EXPECT_TRUE(IsInvalid(
      RenderTemplate(tmpl, CHANNEL_EMAIL, "", {{"v", std::string(4096, '<')}}, {}),
      "variables: rendered email.html_body: must be at most 512000 bytes (got more than 512000 "
      "bytes) (templates/t version 1, default locale, channel EMAIL)"));
}

TEST(RenderTemplateTest, WebhookPayloadLimitAfterRendering) {
  std::string json = "{";
  for (int i = 0; i < 20; ++i) json += absl::StrCat(i ? "," : "", "\"k", i, "\": \"{{v}}\"");
  json += "}";
  const Template tmpl = WebhookTemplate(json);
  // 20 strings of 4000 bytes: refused before rendering.
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_WEB, "", {{"v", std::string(4000, 'a')}}, {}),
                        "variables: rendered webhook.payload: must be at most 65536 bytes as JSON "
                        "(got more than 65536 bytes of text) (templates/hook version 2, default "
                        "locale, channel WEB)"));
  // 20 strings of 3000 quotes: 60000 bytes of text, twice that as JSON.
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_WEB, "", {{"v", std::string(3000, '"')}}, {}),
                        "variables: rendered webhook.payload: must be at most 65536 bytes as JSON "
                        "(got 120171) (templates/hook version 2, default locale, channel WEB)"));
  EXPECT_TRUE(RenderTemplate(tmpl, CHANNEL_WEB, "", {{"v", std::string(3000, 'a')}}, {}).ok());
}

TEST(RenderTemplateTest, ChannelsWithoutContent) {
  const Template tmpl = ReminderTemplate();
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_VOICE, "ko", {}, {}),
                        "channel: VOICE is not supported for notifications"));
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_IN_PERSON, "ko", {}, {}),
                        "channel: IN_PERSON is not supported for notifications"));
  const absl::StatusOr<RenderedContent> push = RenderTemplate(tmpl, CHANNEL_PUSH, "ko", {}, {});
  EXPECT_EQ(push.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(push.status().message(),
            "templates/reminder version 3: no content for channel PUSH in locale \"ko\" or the "
            "default locale");
  const absl::StatusOr<RenderedContent> chat = RenderTemplate(tmpl, CHANNEL_CHAT, "", {}, {});
  EXPECT_EQ(chat.status().message(),
            "templates/reminder version 3: no content for channel CHAT in the default locale");
}

TEST(RenderTemplateTest, InvalidStoredContentIsReported) {
  Template tmpl;
  tmpl.set_name("templates/t");
  tmpl.set_version(1);
  AddLocale(tmpl, "")->mutable_sms()->set_text("{{#open}}");
  const absl::StatusOr<RenderedContent> sms = RenderTemplate(tmpl, CHANNEL_SMS, "", {}, {});
  EXPECT_EQ(sms.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sms.status().message(),
            "templates/t version 1: stored content is invalid: sms.text: unclosed section "
            "\"open\" at offset 0");
}

TEST(CheckTemplateVariablesTest, ChecksEveryChannelWithContent) {
  const Template tmpl = ReminderTemplate();
  const std::vector<cxp::type::v1::Channel> channels = {CHANNEL_PUSH, CHANNEL_SMS, CHANNEL_EMAIL,
                                                        CHANNEL_CHAT, CHANNEL_VOICE};
  EXPECT_TRUE(IsInvalid(
      CheckTemplateVariables(tmpl, channels, "ko-KR", {}, {}),
      "variables: missing appointment_time, clinic_name, customer.display_name (needed by "
      "templates/reminder version 3, locale ko-KR, channel PUSH: appointment_time; locale ko, "
      "channel SMS: appointment_time, clinic_name; default locale, channel EMAIL: "
      "appointment_time, clinic_name, customer.display_name)"));
  EXPECT_TRUE(
      IsInvalid(CheckTemplateVariables(tmpl, {CHANNEL_SMS}, "ko", {{"clinic_name", "c"}}, {}),
                "variables: missing appointment_time (needed by templates/reminder version "
                "3, locale ko, channel SMS)"));
  EXPECT_TRUE(CheckTemplateVariables(tmpl, channels, "ko-KR",
                                     {{"clinic_name", "c"}, {"appointment_time", "t"}}, {"Kim"})
                  .ok());
  // Only the channels asked for count.
  EXPECT_TRUE(
      CheckTemplateVariables(tmpl, {CHANNEL_PUSH}, "ko-KR", {{"appointment_time", "t"}}, {}).ok());
}

// Texts are parsed once per content and reused: each render still gets its
// own values, and another template under the same name and version (another
// tenant's) renders its own content.
TEST(RenderTemplateTest, ReusedParsesRenderEachSendsOwnValuesAndContent) {
  const Template tmpl = ReminderTemplate();
  for (const std::string time : {"10:00", "11:30", "14:15"}) {
    absl::StatusOr<RenderedContent> sms =
        RenderTemplate(tmpl, CHANNEL_SMS, "", {{"appointment_time", time}}, {});
    ASSERT_TRUE(sms.ok()) << sms.status();
    EXPECT_EQ(std::get<SmsContent>(sms->content).text(), "Reminder: " + time);
  }
  Template other = ReminderTemplate();
  other.mutable_locales(0)->mutable_sms()->set_text("Other tenant: {{appointment_time}}");
  absl::StatusOr<RenderedContent> sms =
      RenderTemplate(other, CHANNEL_SMS, "", {{"appointment_time", "09:00"}}, {});
  ASSERT_TRUE(sms.ok()) << sms.status();
  EXPECT_EQ(std::get<SmsContent>(sms->content).text(), "Other tenant: 09:00");
  // A missing variable is still reported on a reused parse.
  EXPECT_TRUE(IsInvalid(RenderTemplate(tmpl, CHANNEL_SMS, "", {}, {}),
                        "variables: missing appointment_time (needed by templates/reminder "
                        "version 3, default locale, channel SMS)"));
}

}  // namespace
}  // namespace cxp::notify
