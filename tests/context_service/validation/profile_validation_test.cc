#include "context_service/validation/profile_validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/context_service/validation/status_matchers.h"

namespace cxp::context::validation {
namespace {

using testing_util::IsInvalid;

std::string Repeat(absl::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(s.data(), s.size());
  return out;
}

// --- display_name -----------------------------------------------------------

TEST(ValidateDisplayNameTest, AcceptsKoreanNamesCountedByCodePoints) {
  EXPECT_TRUE(ValidateDisplayName("김민준", "customer.display_name").ok());
  EXPECT_TRUE(ValidateDisplayName("", "customer.display_name").ok());
  // 256 Hangul syllables are 768 bytes: still within the 256-character limit.
  EXPECT_TRUE(ValidateDisplayName(Repeat("한", 256), "customer.display_name").ok());
}

TEST(ValidateDisplayNameTest, RejectsTooLongInvalidOrControl) {
  EXPECT_TRUE(IsInvalid(ValidateDisplayName(Repeat("한", 257), "customer.display_name"),
                        "customer.display_name: must be at most 256 characters (got 257)"));
  EXPECT_TRUE(IsInvalid(ValidateDisplayName(Repeat("a", 257), "customer.display_name"),
                        "customer.display_name: must be at most 256 characters (got 257)"));
  EXPECT_TRUE(IsInvalid(ValidateDisplayName("Kim\x07", "customer.display_name"),
                        "customer.display_name: must not contain control characters"));
  EXPECT_TRUE(IsInvalid(ValidateDisplayName("Kim\nLee", "customer.display_name"),
                        "customer.display_name: must not contain control characters"));
  EXPECT_TRUE(IsInvalid(ValidateDisplayName("\xED\x95", "customer.display_name"),
                        "customer.display_name: must be valid UTF-8"));
}

// --- language_code ----------------------------------------------------------

TEST(ValidateLanguageCodeTest, ReturnsCanonicalCase) {
  const auto canonical = [](absl::string_view tag) {
    absl::StatusOr<std::string> out = ValidateLanguageCode(tag, "customer.language_code");
    EXPECT_TRUE(out.ok()) << tag << ": " << out.status();
    return out.ok() ? *out : "<error>";
  };
  EXPECT_EQ(canonical("ko-KR"), "ko-KR");
  EXPECT_EQ(canonical("KO-kr"), "ko-KR");
  EXPECT_EQ(canonical("en"), "en");
  EXPECT_EQ(canonical("EN"), "en");
  EXPECT_EQ(canonical("fil"), "fil");
  EXPECT_EQ(canonical("zh-hant-tw"), "zh-Hant-TW");
  EXPECT_EQ(canonical("sr-LATN"), "sr-Latn");
  EXPECT_EQ(canonical("es-419"), "es-419");
  EXPECT_EQ(canonical("de-CH-1901"), "de-CH-1901");
  EXPECT_EQ(canonical("sl-Rozaj"), "sl-rozaj");
  EXPECT_EQ(canonical(""), "");
}

TEST(ValidateLanguageCodeTest, RejectsMalformedTags) {
  EXPECT_TRUE(IsInvalid(ValidateLanguageCode("ko_KR", "customer.language_code"),
                        "customer.language_code: not a well-formed BCP-47 language tag: "
                        "\"ko_KR\" (expected e.g. \"ko-KR\", \"en\", \"zh-Hant-TW\")"));
  for (absl::string_view bad :
       {"k", "korean", "k1", "en-", "-en", "en--US", "en-US-", "en-U", "en-USA1",
        "en-US-u-ca-gregory", "x-private", "en US", "12", "en-1234567890"}) {
    EXPECT_FALSE(ValidateLanguageCode(bad, "f").ok()) << bad;
  }
  EXPECT_FALSE(ValidateLanguageCode("en-" + Repeat("abcde-", 11) + "abcde", "f").ok());
}

// --- time_zone --------------------------------------------------------------

TEST(ValidateTimeZoneTest, AcceptsIanaNamesAndEmpty) {
  for (absl::string_view tz : {"Asia/Seoul", "America/New_York", "UTC", "Etc/GMT+9",
                               "America/Argentina/Buenos_Aires", ""}) {
    EXPECT_TRUE(ValidateTimeZone(tz, "customer.time_zone").ok()) << tz;
  }
}

TEST(ValidateTimeZoneTest, RejectsUnknownNamesAndPaths) {
  EXPECT_TRUE(IsInvalid(ValidateTimeZone("Asia/Seol", "customer.time_zone"),
                        "customer.time_zone: unknown IANA time zone \"Asia/Seol\" (expected e.g. "
                        "\"Asia/Seoul\")"));
  for (absl::string_view bad :
       {"/etc/passwd", "../../etc/passwd", "Asia/../Asia/Seoul", "localtime", "asia/seoul",
        "Asia/Seoul/", "zone.tab", "Fixed/UTC+09:00", "libc:Asia/Seoul", "+09:00", "KST"}) {
    EXPECT_FALSE(ValidateTimeZone(bad, "customer.time_zone").ok()) << bad;
  }
}

// --- tier -------------------------------------------------------------------

TEST(ValidateTierTest, LimitsAndCase) {
  EXPECT_TRUE(ValidateTier("VIP", "customer.tier").ok());
  EXPECT_TRUE(ValidateTier("", "customer.tier").ok());
  EXPECT_TRUE(ValidateTier(Repeat("골", 64), "customer.tier").ok());
  EXPECT_TRUE(IsInvalid(ValidateTier(Repeat("골", 65), "customer.tier"),
                        "customer.tier: must be at most 64 characters (got 65)"));
  EXPECT_TRUE(IsInvalid(ValidateTier("VIP\t", "customer.tier"),
                        "customer.tier: must not contain control characters"));
}

// --- attributes (common/validation/attribute_rules.h, customer limit) ------

TEST(ValidateAttributesTest, CustomerEntryLimit) {
  cxp::type::v1::AttributeValue number;
  number.set_number_value(1);
  google::protobuf::Map<std::string, cxp::type::v1::AttributeValue> map;
  for (int i = 0; i < 200; ++i) map[absl::StrCat("k", i)] = number;
  EXPECT_TRUE(ValidateAttributes(map, kMaxCustomerAttributes, "customer.attributes").ok());
  map["k200"] = number;
  EXPECT_TRUE(IsInvalid(ValidateAttributes(map, kMaxCustomerAttributes, "customer.attributes"),
                        "customer.attributes: must have at most 200 entries (got 201)"));
}

// --- customer_id ------------------------------------------------------------

TEST(ValidateCustomerIdTest, AcceptsAndRejects) {
  for (absl::string_view ok : {"c9", "9abc", "abc-def", "a", "a-"}) {
    EXPECT_TRUE(ValidateCustomerId(ok, "customer_id").ok()) << ok;
  }
  EXPECT_TRUE(ValidateCustomerId(Repeat("a", 63), "customer_id").ok());
  const std::string message =
      "customer_id: must be 1 to 63 characters of [a-z0-9-], starting with a letter or digit";
  EXPECT_TRUE(IsInvalid(ValidateCustomerId("-abc", "customer_id"), message));
  EXPECT_TRUE(IsInvalid(ValidateCustomerId("", "customer_id"), message));
  EXPECT_TRUE(IsInvalid(ValidateCustomerId("ABC", "customer_id"), message));
  EXPECT_TRUE(IsInvalid(ValidateCustomerId("a_b", "customer_id"), message));
  EXPECT_TRUE(IsInvalid(ValidateCustomerId("김", "customer_id"), message));
  EXPECT_TRUE(IsInvalid(ValidateCustomerId(Repeat("a", 64), "customer_id"), message));
}

}  // namespace
}  // namespace cxp::context::validation
