#include "context_service/validation/profile_validation.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/context_service/validation/status_matchers.h"

namespace cxp::context::validation {
namespace {

using cxp::type::v1::AttributeValue;
using testing_util::IsInvalid;
using AttributeMap = google::protobuf::Map<std::string, AttributeValue>;

std::string Repeat(absl::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(s.data(), s.size());
  return out;
}

AttributeValue Str(absl::string_view s) {
  AttributeValue v;
  v.set_string_value(std::string(s));
  return v;
}

AttributeValue Num(double d) {
  AttributeValue v;
  v.set_number_value(d);
  return v;
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

// --- attributes -------------------------------------------------------------

TEST(ValidateAttributeKeyTest, AcceptsAndRejects) {
  EXPECT_TRUE(ValidateAttributeKey("plan", "customer.attributes").ok());
  EXPECT_TRUE(ValidateAttributeKey("score_2", "customer.attributes").ok());
  EXPECT_TRUE(ValidateAttributeKey("a" + Repeat("b", 63), "customer.attributes").ok());
  EXPECT_TRUE(IsInvalid(ValidateAttributeKey("Plan", "customer.attributes"),
                        "customer.attributes: invalid key \"Plan\": must be 1 to 64 characters "
                        "of [a-z][a-z0-9_]*"));
  for (absl::string_view bad : {"", "2x", "_x", "a-b", "a.b", "a b"}) {
    EXPECT_FALSE(ValidateAttributeKey(bad, "customer.attributes").ok()) << bad;
  }
  EXPECT_FALSE(ValidateAttributeKey("a" + Repeat("b", 64), "customer.attributes").ok());
}

TEST(ValidateAttributeValueTest, EachKindOfValue) {
  EXPECT_TRUE(ValidateAttributeValue(Str("gold"), "f").ok());
  EXPECT_TRUE(ValidateAttributeValue(Str(""), "f").ok());
  EXPECT_TRUE(ValidateAttributeValue(Str("multi\nline"), "f").ok());
  EXPECT_TRUE(ValidateAttributeValue(Num(-3.5), "f").ok());
  AttributeValue flag;
  flag.set_bool_value(false);
  EXPECT_TRUE(ValidateAttributeValue(flag, "f").ok());
  AttributeValue ts;
  ts.mutable_timestamp_value()->set_seconds(1714521600);
  EXPECT_TRUE(ValidateAttributeValue(ts, "f").ok());
}

TEST(ValidateAttributeValueTest, RejectsEmptyNonFiniteTooLongAndBadTimestamp) {
  EXPECT_TRUE(IsInvalid(ValidateAttributeValue(AttributeValue(), "customer.attributes.plan"),
                        "customer.attributes.plan: must have a value (string_value, "
                        "number_value, bool_value or timestamp_value)"));
  EXPECT_TRUE(IsInvalid(ValidateAttributeValue(Num(std::nan("")), "customer.attributes.score"),
                        "customer.attributes.score: number_value must be finite (not NaN or "
                        "infinity)"));
  EXPECT_FALSE(ValidateAttributeValue(Num(std::numeric_limits<double>::infinity()), "f").ok());
  EXPECT_FALSE(ValidateAttributeValue(Num(-std::numeric_limits<double>::infinity()), "f").ok());
  // 4096 bytes is the limit (bytes, per attribute_value.proto).
  EXPECT_TRUE(ValidateAttributeValue(Str(Repeat("a", 4096)), "f").ok());
  EXPECT_TRUE(IsInvalid(ValidateAttributeValue(Str(Repeat("a", 4097)), "customer.attributes.note"),
                        "customer.attributes.note: string_value must be at most 4096 bytes (got "
                        "4097)"));
  EXPECT_FALSE(ValidateAttributeValue(Str(Repeat("한", 1366)), "f").ok());  // 4098 bytes
  EXPECT_TRUE(ValidateAttributeValue(Str(Repeat("한", 1365)), "f").ok());   // 4095 bytes
  EXPECT_TRUE(IsInvalid(ValidateAttributeValue(Str("\xC3"), "customer.attributes.note"),
                        "customer.attributes.note: must be valid UTF-8"));
  AttributeValue ts;
  ts.mutable_timestamp_value()->set_nanos(-5);
  EXPECT_TRUE(IsInvalid(ValidateAttributeValue(ts, "customer.attributes.seen"),
                        "customer.attributes.seen: must be a valid timestamp between "
                        "0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z"));
}

TEST(ValidateAttributesTest, AcceptsValidMap) {
  AttributeMap map;
  map["plan"] = Str("gold");
  map["score"] = Num(42);
  EXPECT_TRUE(ValidateAttributes(map, kMaxCustomerAttributes, "customer.attributes").ok());
  EXPECT_TRUE(ValidateAttributes(AttributeMap(), kMaxCustomerAttributes, "f").ok());
}

TEST(ValidateAttributesTest, EntryLimit) {
  AttributeMap map;
  for (int i = 0; i < 200; ++i) map[absl::StrCat("k", i)] = Num(i);
  EXPECT_TRUE(ValidateAttributes(map, kMaxCustomerAttributes, "customer.attributes").ok());
  map["k200"] = Num(1);
  EXPECT_TRUE(IsInvalid(ValidateAttributes(map, kMaxCustomerAttributes, "customer.attributes"),
                        "customer.attributes: must have at most 200 entries (got 201)"));
}

TEST(ValidateAttributesTest, ErrorPathsNameTheKey) {
  AttributeMap map;
  map["plan"] = AttributeValue();
  EXPECT_TRUE(IsInvalid(ValidateAttributes(map, 10, "customer.attributes"),
                        "customer.attributes.plan: must have a value (string_value, "
                        "number_value, bool_value or timestamp_value)"));
  AttributeMap bad_key;
  bad_key["Plan"] = Str("gold");
  EXPECT_TRUE(IsInvalid(ValidateAttributes(bad_key, 10, "customer.attributes"),
                        "customer.attributes: invalid key \"Plan\": must be 1 to 64 characters "
                        "of [a-z][a-z0-9_]*"));
}

TEST(ValidateAttributesTest, ReportsFirstErrorInKeyOrder) {
  AttributeMap map;
  map["zeta"] = Num(std::nan(""));
  map["beta"] = AttributeValue();
  map["alpha"] = Num(1);
  EXPECT_TRUE(IsInvalid(ValidateAttributes(map, 10, "a"),
                        "a.beta: must have a value (string_value, number_value, bool_value or "
                        "timestamp_value)"));
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
