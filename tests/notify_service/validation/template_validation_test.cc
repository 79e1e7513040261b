#include "notify_service/validation/template_validation.h"

#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::notify::validation {
namespace {

using cxp::notify::v1::Template;
using cxp::notify::v1::TemplateLocale;
using cxp::validation::testing_util::IsInvalid;
using google::protobuf::Struct;
using google::protobuf::Value;

// A valid template using every channel in the default locale and SMS in "ko".
Template FullTemplate() {
  Template tmpl;
  tmpl.set_name("templates/reminder");
  tmpl.set_display_name("예약 알림 (Appointment reminder)");
  tmpl.set_version(7);
  tmpl.mutable_create_time()->set_seconds(100);
  tmpl.mutable_update_time()->set_seconds(200);
  tmpl.set_etag("e1");
  tmpl.set_allow_quiet_hours_bypass(true);
  TemplateLocale* def = tmpl.add_locales();
  def->set_language_code("");
  def->mutable_email()->set_subject("Reminder: {{appointment_time}}");
  def->mutable_email()->set_text_body("Hi {{customer.display_name}},\nsee you at {{clinic_name}}.");
  def->mutable_email()->set_html_body("<p>Hi {{customer.display_name}}</p>");
  def->mutable_sms()->set_text("Reminder {{appointment_time}}");
  def->mutable_push()->set_title("Reminder");
  def->mutable_push()->set_body("At {{appointment_time}}");
  (*def->mutable_push()->mutable_data())["deep_link"] = "app://appointments/{{appointment_id}}";
  Struct* payload = def->mutable_webhook()->mutable_payload();
  (*payload->mutable_fields())["text"].set_string_value("Reminder {{appointment_time}}");
  (*payload->mutable_fields())["count"].set_number_value(2);
  TemplateLocale* ko = tmpl.add_locales();
  ko->set_language_code("KO");
  ko->mutable_sms()->set_text("{{clinic_name}} 예약 알림: {{appointment_time}}");
  return tmpl;
}

TEST(NormalizeTemplateTest, AcceptsAFullTemplateAndNormalizes) {
  absl::StatusOr<Template> out = NormalizeTemplate(FullTemplate(), "template");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->locales(1).language_code(), "ko");
  EXPECT_EQ(out->version(), 0);
  EXPECT_FALSE(out->has_create_time());
  EXPECT_FALSE(out->has_update_time());
  EXPECT_EQ(out->name(), "templates/reminder");
  EXPECT_EQ(out->etag(), "e1");
  EXPECT_TRUE(out->allow_quiet_hours_bypass());
  EXPECT_EQ(out->locales(0).email().html_body(), "<p>Hi {{customer.display_name}}</p>");
}

TEST(NormalizeTemplateTest, DisplayName) {
  Template tmpl = FullTemplate();
  tmpl.clear_display_name();
  EXPECT_TRUE(
      IsInvalid(NormalizeTemplate(tmpl, "template"), "template.display_name: must not be empty"));
  tmpl.set_display_name(std::string(257, 'x'));
  EXPECT_TRUE(IsInvalid(NormalizeTemplate(tmpl, "template"),
                        "template.display_name: must be at most 256 characters (got 257)"));
}

TEST(NormalizeTemplateLocalesTest, CountAndDefault) {
  Template tmpl = FullTemplate();
  tmpl.clear_locales();
  EXPECT_TRUE(IsInvalid(NormalizeTemplateLocales(tmpl.locales(), "template.locales"),
                        "template.locales: must have at least one locale"));
  for (int i = 0; i < 51; ++i) {
    TemplateLocale* locale = tmpl.add_locales();
    locale->set_language_code(i == 0 ? "" : std::string{char('a' + i / 26), char('a' + i % 26)});
    locale->mutable_sms()->set_text("t");
  }
  EXPECT_TRUE(IsInvalid(NormalizeTemplateLocales(tmpl.locales(), "template.locales"),
                        "template.locales: must have at most 50 locales (got 51)"));

  tmpl = FullTemplate();
  tmpl.mutable_locales(0)->set_language_code("en");
  EXPECT_TRUE(IsInvalid(NormalizeTemplateLocales(tmpl.locales(), "template.locales"),
                        "template.locales: must have exactly one default locale (language_code "
                        "\"\")"));
  tmpl = FullTemplate();
  *tmpl.add_locales() = tmpl.locales(0);
  EXPECT_TRUE(IsInvalid(NormalizeTemplateLocales(tmpl.locales(), "template.locales"),
                        "template.locales[2].language_code: repeats "
                        "template.locales[0].language_code"));
}

TEST(NormalizeTemplateLocalesTest, LanguageCodesAreCanonicalAndUnique) {
  Template tmpl = FullTemplate();
  TemplateLocale* locale = tmpl.add_locales();
  locale->set_language_code("zh-hant-tw");
  locale->mutable_sms()->set_text("t");
  absl::StatusOr<google::protobuf::RepeatedPtrField<TemplateLocale>> out =
      NormalizeTemplateLocales(tmpl.locales(), "template.locales");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[2].language_code(), "zh-Hant-TW");

  locale->set_language_code("ko");  // "KO" at index 1 is the same tag
  EXPECT_TRUE(IsInvalid(NormalizeTemplateLocales(tmpl.locales(), "template.locales"),
                        "template.locales[2].language_code: repeats "
                        "template.locales[1].language_code"));
  locale->set_language_code("ko_KR");
  const absl::Status status = NormalizeTemplateLocales(tmpl.locales(), "template.locales").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              ::testing::StartsWith("template.locales[2].language_code: "));
}

TEST(NormalizeTemplateLocalesTest, LocaleNeedsSomeContent) {
  Template tmpl = FullTemplate();
  tmpl.mutable_locales(1)->clear_sms();
  EXPECT_TRUE(IsInvalid(NormalizeTemplateLocales(tmpl.locales(), "template.locales"),
                        "template.locales[1]: must have content for at least one channel (email, "
                        "sms, push or webhook)"));
}

TEST(NormalizeTemplateLocalesTest, RequiredTexts) {
  const auto check = [](auto mutate, const std::string& message) {
    Template tmpl = FullTemplate();
    mutate(*tmpl.mutable_locales(0));
    EXPECT_TRUE(IsInvalid(NormalizeTemplateLocales(tmpl.locales(), "template.locales"), message));
  };
  check([](TemplateLocale& l) { l.mutable_email()->clear_subject(); },
        "template.locales[0].email.subject: must not be empty");
  check([](TemplateLocale& l) { l.mutable_email()->clear_text_body(); },
        "template.locales[0].email.text_body: must not be empty");
  check([](TemplateLocale& l) { l.mutable_sms()->clear_text(); },
        "template.locales[0].sms.text: must not be empty");
  check([](TemplateLocale& l) { l.mutable_push()->clear_title(); },
        "template.locales[0].push.title: must not be empty");
  check([](TemplateLocale& l) { l.mutable_push()->clear_body(); },
        "template.locales[0].push.body: must not be empty");
  check([](TemplateLocale& l) { l.mutable_webhook()->clear_payload(); },
        "template.locales[0].webhook.payload: must be set");
  // html_body is optional.
  Template tmpl = FullTemplate();
  tmpl.mutable_locales(0)->mutable_email()->clear_html_body();
  EXPECT_TRUE(NormalizeTemplateLocales(tmpl.locales(), "template.locales").ok());
}

TEST(NormalizeTemplateLocalesTest, SizesAndCharacters) {
  const auto check = [](auto mutate, const std::string& message) {
    Template tmpl = FullTemplate();
    mutate(*tmpl.mutable_locales(0));
    EXPECT_TRUE(IsInvalid(NormalizeTemplateLocales(tmpl.locales(), "template.locales"), message));
  };
  // Characters, not bytes: 255 Hangul syllables are fine, 256 are not.
  {
    Template tmpl = FullTemplate();
    std::string subject;
    for (int i = 0; i < 255; ++i) subject += "가";
    tmpl.mutable_locales(0)->mutable_email()->set_subject(subject);
    EXPECT_TRUE(NormalizeTemplateLocales(tmpl.locales(), "template.locales").ok());
  }
  check(
      [](TemplateLocale& l) {
        std::string subject;
        for (int i = 0; i < 256; ++i) subject += "가";
        l.mutable_email()->set_subject(subject);
      },
      "template.locales[0].email.subject: must be at most 255 characters (got 256)");
  check([](TemplateLocale& l) { l.mutable_email()->set_subject("a\r\nBcc: x@example.com"); },
        "template.locales[0].email.subject: must not contain control characters");
  check(
      [](TemplateLocale& l) { l.mutable_email()->set_text_body(std::string(100 * 1024 + 1, 'a')); },
      "template.locales[0].email.text_body: must be at most 102400 bytes (got 102401)");
  check(
      [](TemplateLocale& l) { l.mutable_email()->set_html_body(std::string(500 * 1024 + 1, 'a')); },
      "template.locales[0].email.html_body: must be at most 512000 bytes (got 512001)");
  check([](TemplateLocale& l) { l.mutable_sms()->set_text(std::string(1601, 'a')); },
        "template.locales[0].sms.text: must be at most 1600 characters (got 1601)");
  check([](TemplateLocale& l) { l.mutable_sms()->set_text("bad \xff byte"); },
        "template.locales[0].sms.text: must be valid UTF-8");
  check([](TemplateLocale& l) { l.mutable_push()->set_title(std::string(101, 'a')); },
        "template.locales[0].push.title: must be at most 100 characters (got 101)");
  check([](TemplateLocale& l) { l.mutable_push()->set_body(std::string(1001, 'a')); },
        "template.locales[0].push.body: must be at most 1000 characters (got 1001)");
  check(
      [](TemplateLocale& l) {
        for (int i = 0; i < 20; ++i) (*l.mutable_push()->mutable_data())[absl::StrCat("k", i)] = "";
      },
      "template.locales[0].push.data: must have at most 20 entries (got 21)");
  check([](TemplateLocale& l) { (*l.mutable_push()->mutable_data())[""] = "v"; },
        "template.locales[0].push.data: key \"\" must be 1 to 64 characters without control "
        "characters");
  check(
      [](TemplateLocale& l) { (*l.mutable_push()->mutable_data())["k"] = std::string(1001, 'a'); },
      "template.locales[0].push.data[\"k\"]: must be at most 1000 characters (got 1001)");
}

TEST(NormalizeTemplateLocalesTest, SyntaxErrorsNameTheFieldAndOffset) {
  Template tmpl = FullTemplate();
  TemplateLocale* en = tmpl.add_locales();
  en->set_language_code("en");
  en->mutable_email()->set_subject("s");
  en->mutable_email()->set_text_body("t");
  en->mutable_email()->set_html_body(std::string(42, ' ') + "{{#items}}<li>{{name}}</li>");
  EXPECT_TRUE(IsInvalid(NormalizeTemplate(tmpl, "template"),
                        "template.locales[2].email.html_body: unclosed section \"items\" at "
                        "offset 42"));
  en->mutable_email()->set_html_body("<b>{{{name}}}</b>");
  EXPECT_TRUE(IsInvalid(NormalizeTemplate(tmpl, "template"),
                        "template.locales[2].email.html_body: unescaped placeholder \"name\" at "
                        "offset 3 is not allowed in HTML; use {{name}}"));
  en->mutable_email()->set_html_body("{{> footer}}");
  EXPECT_TRUE(IsInvalid(NormalizeTemplate(tmpl, "template"),
                        "template.locales[2].email.html_body: partial \"footer\" at offset 0 is "
                        "not supported"));
  en->mutable_email()->set_html_body("");
  en->mutable_email()->set_text_body("{{{name}}}");  // plain text: allowed
  EXPECT_TRUE(NormalizeTemplate(tmpl, "template").ok());
  (*en->mutable_push()->mutable_data())["link"] = "x{{Bad}}";
  en->mutable_push()->set_title("t");
  en->mutable_push()->set_body("b");
  EXPECT_TRUE(IsInvalid(NormalizeTemplate(tmpl, "template"),
                        "template.locales[2].push.data[\"link\"]: placeholder \"Bad\" at offset 1 "
                        "must be a variable name ([a-z][a-z0-9_]*, at most 64 characters) or "
                        "customer.display_name"));
}

TEST(NormalizeTemplateLocalesTest, WebhookPayload) {
  const auto check = [](auto mutate, const std::string& message) {
    Template tmpl = FullTemplate();
    mutate(*tmpl.mutable_locales(0)->mutable_webhook()->mutable_payload()->mutable_fields());
    EXPECT_TRUE(IsInvalid(NormalizeTemplateLocales(tmpl.locales(), "template.locales"), message));
  };
  using Fields = google::protobuf::Map<std::string, Value>;
  check(
      [](Fields& f) {
        f["order"].mutable_struct_value();
        (*f["order"].mutable_struct_value()->mutable_fields())["id"];
      },
      "template.locales[0].webhook.payload.order.id: must be set to a JSON value");
  check([](Fields& f) { f["n"].set_number_value(std::numeric_limits<double>::infinity()); },
        "template.locales[0].webhook.payload.n: must be a finite number");
  check(
      [](Fields& f) {
        Value* items = &f["items"];
        items->mutable_list_value()->add_values()->set_string_value("ok");
        items->mutable_list_value()->add_values()->set_string_value("{{#x}}");
      },
      "template.locales[0].webhook.payload.items[1]: unclosed section \"x\" at offset 0");
  check([](Fields& f) { f["a key"].set_string_value("{{Bad}}"); },
        "template.locales[0].webhook.payload[\"a key\"]: placeholder \"Bad\" at offset 0 must be "
        "a variable name ([a-z][a-z0-9_]*, at most 64 characters) or customer.display_name");
  check([](Fields& f) { f["big"].set_string_value(std::string(64 * 1024, 'a')); },
        "template.locales[0].webhook.payload: must be at most 65536 bytes as JSON (got 65595)");
  check(
      [](Fields& f) {
        Value* value = &f["deep"];
        for (int i = 0; i < 40; ++i) {
          value = &(*value->mutable_struct_value()->mutable_fields())["d"];
        }
        value->set_bool_value(true);
      },
      absl::StrCat(
          "template.locales[0].webhook.payload.deep",
          [] {
            std::string path;
            for (int i = 0; i < 31; ++i) path += ".d";
            return path;
          }(),
          ": must not be nested more than 32 levels deep"));
  // Keys are literal: placeholders in keys are not parsed.
  Template tmpl = FullTemplate();
  (*tmpl.mutable_locales(0)->mutable_webhook()->mutable_payload()->mutable_fields())["{{x"]
      .set_null_value(google::protobuf::NULL_VALUE);
  EXPECT_TRUE(NormalizeTemplateLocales(tmpl.locales(), "template.locales").ok());
}

TEST(ValidateTemplateVariablesTest, NamesAndValues) {
  google::protobuf::Map<std::string, std::string> variables;
  variables["clinic_name"] = "서울 치과\n2층";
  variables["empty"] = "";
  EXPECT_TRUE(ValidateTemplateVariables(variables, "variables").ok());
  variables["Name"] = "x";
  EXPECT_TRUE(IsInvalid(ValidateTemplateVariables(variables, "variables"),
                        "variables[\"Name\"]: must be a variable name ([a-z][a-z0-9_]*, at most 64 "
                        "characters, not \"customer\")"));
  variables.erase("Name");
  variables["customer"] = "x";
  EXPECT_TRUE(IsInvalid(ValidateTemplateVariables(variables, "variables"),
                        "variables[\"customer\"]: must be a variable name ([a-z][a-z0-9_]*, at "
                        "most 64 characters, not \"customer\")"));
  variables.erase("customer");
  variables["long"] = std::string(4097, 'a');
  EXPECT_TRUE(IsInvalid(ValidateTemplateVariables(variables, "variables"),
                        "variables[\"long\"]: must be at most 4096 characters (got 4097)"));
  variables.erase("long");
  for (int i = 0; i < 99; ++i) variables[absl::StrCat("v", i)] = "";
  EXPECT_TRUE(IsInvalid(ValidateTemplateVariables(variables, "variables"),
                        "variables: must have at most 100 entries (got 101)"));
}

TEST(PayloadJsonTest, CompactSortedEscapedAndExactNumbers) {
  Struct payload;
  auto& fields = *payload.mutable_fields();
  fields["z"].set_number_value(3);
  fields["a"].set_string_value("say \"hi\"\\\n\t\x01 \xed\x95\x9c");
  fields["m"].set_number_value(0.1);
  fields["b"].set_bool_value(false);
  fields["n"].set_null_value(google::protobuf::NULL_VALUE);
  Value& list = fields["l"];
  list.mutable_list_value()->add_values()->set_number_value(-2);
  (*list.mutable_list_value()->add_values()->mutable_struct_value()->mutable_fields())["k"]
      .set_string_value("v");
  absl::StatusOr<std::string> json = PayloadJson(payload);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json,
            "{\"a\":\"say \\\"hi\\\"\\\\\\n\\t\\u0001 \xed\x95\x9c\",\"b\":false,"
            "\"l\":[-2,{\"k\":\"v\"}],\"m\":0.10000000000000001,\"n\":null,\"z\":3}");

  fields["bad"].set_number_value(std::numeric_limits<double>::infinity());
  EXPECT_EQ(PayloadJson(payload).status().code(), absl::StatusCode::kInternal);
  fields["bad"].Clear();
  EXPECT_EQ(PayloadJson(payload).status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace cxp::notify::validation
