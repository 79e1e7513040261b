#include "notify_service/validation/template_text.h"

#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::notify::validation {
namespace {

using cxp::validation::testing_util::IsInvalid;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kField[] = "template.locales[1].email.html_body";

TemplateText MustParse(const std::string& text, TextEscaping escaping = TextEscaping::kPlain) {
  absl::StatusOr<TemplateText> parsed = TemplateText::Parse(text, escaping, kField);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return *std::move(parsed);
}

absl::Status ParseStatus(const std::string& text, TextEscaping escaping = TextEscaping::kPlain) {
  return TemplateText::Parse(text, escaping, kField).status();
}

std::string Err(const std::string& problem) { return absl::StrCat(kField, ": ", problem); }

TEST(IsVariableNameTest, FollowsTheProtoRule) {
  EXPECT_TRUE(IsVariableName("a"));
  EXPECT_TRUE(IsVariableName("appointment_time2"));
  EXPECT_TRUE(IsVariableName(std::string(64, 'x')));
  EXPECT_FALSE(IsVariableName(std::string(65, 'x')));
  EXPECT_FALSE(IsVariableName(""));
  EXPECT_FALSE(IsVariableName("Name"));
  EXPECT_FALSE(IsVariableName("1st"));
  EXPECT_FALSE(IsVariableName("_x"));
  EXPECT_FALSE(IsVariableName("a-b"));
  EXPECT_FALSE(IsVariableName("a.b"));
  EXPECT_FALSE(IsVariableName("customer"));  // reserved for built-ins
  EXPECT_TRUE(IsVariableName("customer_id"));
}

TEST(TemplateTextParseTest, AcceptsTheAllowedForms) {
  EXPECT_TRUE(ParseStatus("plain text, no tags").ok());
  EXPECT_TRUE(ParseStatus("").ok());
  EXPECT_TRUE(ParseStatus("Hi {{ name }}, {{customer.display_name}}").ok());
  EXPECT_TRUE(ParseStatus("{{#coupon}}Code: {{coupon}}{{/coupon}}{{^coupon}}none{{/coupon}}").ok());
  EXPECT_TRUE(ParseStatus("{{#customer.display_name}}x{{/customer.display_name}}").ok());
  EXPECT_TRUE(ParseStatus("{{! a comment }}text").ok());
  EXPECT_TRUE(ParseStatus("{{{raw}}} and {{&raw}}").ok());  // plain text: same as {{raw}}
  EXPECT_TRUE(ParseStatus("{ single } braces }} and {").ok());
}

TEST(TemplateTextParseTest, ReportsSyntaxErrorsWithOffsets) {
  // 42 bytes before the section tag.
  const std::string prefix(42, 'x');
  EXPECT_TRUE(IsInvalid(ParseStatus(prefix + "{{#items}}<li>{{name}}</li>"),
                        Err("unclosed section \"items\" at offset 42")));
  EXPECT_TRUE(
      IsInvalid(ParseStatus("ab{{/items}}"), Err("unopened section \"items\" at offset 2")));
  EXPECT_TRUE(IsInvalid(ParseStatus("Hello {{name"), Err("unclosed tag at offset 6")));
  EXPECT_TRUE(IsInvalid(ParseStatus("{{#a}}{{/b}}"), Err("unclosed section \"a\" at offset 0")));
  // Offsets are bytes: "안녕 " is 7 bytes of UTF-8.
  EXPECT_TRUE(IsInvalid(ParseStatus("안녕 {{이름}}"),
                        Err("placeholder \"\\xec\\x9d\\xb4\\xeb\\xa6\\x84\" at offset 7 must be a "
                            "variable name ([a-z][a-z0-9_]*, at most 64 characters) or "
                            "customer.display_name")));
}

TEST(TemplateTextParseTest, RefusesBadNames) {
  EXPECT_TRUE(IsInvalid(ParseStatus("x {{Name}}"),
                        Err("placeholder \"Name\" at offset 2 must be a variable name "
                            "([a-z][a-z0-9_]*, at most 64 characters) or customer.display_name")));
  EXPECT_TRUE(IsInvalid(ParseStatus("{{customer.email}}"),
                        Err("placeholder \"customer.email\" at offset 0 must be a variable name "
                            "([a-z][a-z0-9_]*, at most 64 characters) or customer.display_name")));
  EXPECT_TRUE(IsInvalid(ParseStatus("{{#x}}{{.}}{{/x}}"),
                        Err("placeholder \".\" at offset 6 must be a variable name "
                            "([a-z][a-z0-9_]*, at most 64 characters) or customer.display_name")));
  EXPECT_TRUE(IsInvalid(ParseStatus("a{{}}"), Err("empty placeholder at offset 1")));
  EXPECT_TRUE(IsInvalid(
      ParseStatus("{{customer}}"),
      Err("placeholder \"customer\" at offset 0 is reserved; use {{customer.display_name}}")));
  EXPECT_TRUE(IsInvalid(ParseStatus("{{#Items}}x{{/Items}}"),
                        Err("section \"Items\" at offset 0 must be a variable name "
                            "([a-z][a-z0-9_]*, at most 64 characters) or customer.display_name")));
  EXPECT_TRUE(IsInvalid(ParseStatus(absl::StrCat("{{", std::string(65, 'a'), "}}")),
                        Err(absl::StrCat("placeholder \"", std::string(64, 'a'),
                                         "...\" at offset 0 must be a variable name "
                                         "([a-z][a-z0-9_]*, at most 64 characters) or "
                                         "customer.display_name"))));
}

TEST(TemplateTextParseTest, RefusesPartialsAndSetDelimiters) {
  EXPECT_TRUE(IsInvalid(ParseStatus("Hi {{> footer}}"),
                        Err("partial \"footer\" at offset 3 is not supported")));
  EXPECT_TRUE(IsInvalid(ParseStatus("{{#a}}{{>footer}}{{/a}}"),
                        Err("partial \"footer\" at offset 6 is not supported")));
  EXPECT_TRUE(IsInvalid(ParseStatus("ok {{=<% %>=}} <%name%>"),
                        Err("set-delimiter tag at offset 3 is not supported")));
  EXPECT_TRUE(
      IsInvalid(ParseStatus("{{ =| |= }}"), Err("set-delimiter tag at offset 0 is not supported")));
}

TEST(TemplateTextParseTest, RefusesUnescapedFormsInHtmlOnly) {
  EXPECT_TRUE(IsInvalid(ParseStatus("<p>{{{name}}}</p>", TextEscaping::kHtml),
                        Err("unescaped placeholder \"name\" at offset 3 is not allowed in HTML; "
                            "use {{name}}")));
  EXPECT_TRUE(IsInvalid(ParseStatus("<p>{{& name}}</p>", TextEscaping::kHtml),
                        Err("unescaped placeholder \"name\" at offset 3 is not allowed in HTML; "
                            "use {{name}}")));
  EXPECT_TRUE(ParseStatus("<p>{{{name}}}</p>", TextEscaping::kPlain).ok());
}

TEST(TemplateTextParseTest, LimitsSectionNesting) {
  std::string ok;
  std::string too_deep;
  for (int i = 0; i < kMaxSectionDepth; ++i) ok += "{{#a}}";
  for (int i = 0; i < kMaxSectionDepth; ++i) ok += "{{/a}}";
  EXPECT_TRUE(ParseStatus(ok).ok());
  for (int i = 0; i <= kMaxSectionDepth; ++i) too_deep += "{{^a}}";
  EXPECT_TRUE(IsInvalid(
      ParseStatus(too_deep),
      Err(absl::StrCat("sections nested more than 16 deep at offset ", 6 * kMaxSectionDepth))));
  // Sequential sections are not nested.
  std::string flat;
  for (int i = 0; i < 100; ++i) flat += "{{#a}}x{{/a}}";
  EXPECT_TRUE(ParseStatus(flat).ok());
}

TEST(TemplateTextInspectTest, ListsMissingPlaceholdersSortedOnce) {
  const TemplateText text = MustParse(
      "{{clinic_name}} {{appointment_time}} {{clinic_name}} {{customer.display_name}} {{given}}");
  const TemplateValues values({{"given", "x"}, {"unused", "y"}}, std::nullopt);
  EXPECT_THAT(text.Inspect(values).missing,
              ElementsAre("appointment_time", "clinic_name", "customer.display_name"));
  const TemplateValues all({{"given", "x"}, {"clinic_name", "c"}, {"appointment_time", "t"}},
                           std::string("Kim"));
  EXPECT_THAT(text.Inspect(all).missing, IsEmpty());
}

TEST(TemplateTextInspectTest, SectionsDecideWhatIsNeeded) {
  const TemplateText text = MustParse(
      "{{#coupon}}Use {{coupon}} by {{expiry}}{{/coupon}}{{^coupon}}{{fallback}}{{/coupon}}");
  // No coupon: the section is skipped, the inverted one needs fallback.
  EXPECT_THAT(text.Inspect(TemplateValues({}, std::nullopt)).missing, ElementsAre("fallback"));
  // An empty coupon counts as false.
  EXPECT_THAT(text.Inspect(TemplateValues({{"coupon", ""}}, std::nullopt)).missing,
              ElementsAre("fallback"));
  // A coupon: its section needs expiry.
  EXPECT_THAT(text.Inspect(TemplateValues({{"coupon", "SAVE"}}, std::nullopt)).missing,
              ElementsAre("expiry"));
}

TEST(TemplateTextRenderTest, RendersSectionsAndValues) {
  const TemplateText text =
      MustParse("{{#coupon}}Use {{coupon}}.{{/coupon}}{{^coupon}}No code.{{/coupon}}");
  EXPECT_EQ(text.Render(TemplateValues({{"coupon", "SAVE10"}}, std::nullopt)), "Use SAVE10.");
  EXPECT_EQ(text.Render(TemplateValues({{"coupon", ""}}, std::nullopt)), "No code.");
  EXPECT_EQ(text.Render(TemplateValues({}, std::nullopt)), "No code.");
}

TEST(TemplateTextRenderTest, EscapesOnlyForHtml) {
  const std::string value = "<script>alert('x') & \"y\"</script>";
  const TemplateValues values({{"v", value}}, std::nullopt);
  EXPECT_EQ(MustParse("<p>{{v}}</p>", TextEscaping::kHtml).Render(values),
            "<p>&lt;script&gt;alert(&apos;x&apos;) &amp; &quot;y&quot;&lt;/script&gt;</p>");
  EXPECT_EQ(MustParse("{{v}}").Render(values), value);
  EXPECT_EQ(MustParse("{{{v}}}|{{&v}}").Render(values), value + "|" + value);
}

TEST(TemplateTextRenderTest, ValuesAreNeverRenderedAsTemplates) {
  // No lambdas: a value that looks like a tag comes out as text.
  const TemplateValues values({{"v", "{{secret}} {{> partial}} {{=<% %>=}}"}, {"secret", "s3"}},
                              std::nullopt);
  EXPECT_EQ(MustParse("[{{v}}]").Render(values), "[{{secret}} {{> partial}} {{=<% %>=}}]");
  EXPECT_EQ(MustParse("[{{v}}]", TextEscaping::kHtml).Render(values),
            "[{{secret}} {{&gt; partial}} {{=&lt;% %&gt;=}}]");
}

TEST(TemplateTextRenderTest, CustomerDisplayName) {
  const TemplateText text = MustParse(
      "{{#customer.display_name}}{{customer.display_name}}님{{/customer.display_name}}"
      "{{^customer.display_name}}고객님{{/customer.display_name}}, 안녕하세요");
  EXPECT_EQ(text.Render(TemplateValues({}, std::string("김민준"))), "김민준님, 안녕하세요");
  EXPECT_EQ(text.Render(TemplateValues({}, std::nullopt)), "고객님, 안녕하세요");
  EXPECT_EQ(text.Render(TemplateValues({}, std::string())), "고객님, 안녕하세요");
  // A variable named "customer" cannot shadow the built-ins.
  EXPECT_EQ(MustParse("{{customer.display_name}}")
                .Render(TemplateValues({{"customer", "x"}}, std::string("Lee"))),
            "Lee");
}

TEST(TemplateTextInspectTest, BoundsTheRenderedSize) {
  const TemplateText text = MustParse("ab{{v}}{{v}}", TextEscaping::kHtml);
  const TemplateValues values({{"v", "<&>"}}, std::nullopt);
  const TemplateText::Requirements needs = text.Inspect(values);
  EXPECT_EQ(needs.max_rendered_bytes, 2 + 2 * 13u);  // &lt;&amp;&gt; is 13 bytes
  EXPECT_EQ(text.Render(values).size(), needs.max_rendered_bytes);
}

}  // namespace
}  // namespace cxp::notify::validation
