#include "common/validation/text_rules.h"

#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::validation {
namespace {

using testing_util::IsInvalid;

std::string Repeat(absl::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(s.data(), s.size());
  return out;
}

TEST(FieldPathTest, JoinsWithDotAndSkipsEmptyPrefix) {
  EXPECT_EQ(FieldPath("customer", "display_name"), "customer.display_name");
  EXPECT_EQ(FieldPath("", "display_name"), "display_name");
  EXPECT_EQ(FieldPath("customer", ""), "customer");
  EXPECT_EQ(IndexedPath("customer.identities", 2), "customer.identities[2]");
}

TEST(InvalidFieldTest, UsesSubjectProblemFormat) {
  EXPECT_TRUE(IsInvalid(InvalidField("a.b", "must be set"), "a.b: must be set"));
}

TEST(QuoteForMessageTest, EscapesAndTruncates) {
  EXPECT_EQ(QuoteForMessage("Plan"), "\"Plan\"");
  EXPECT_EQ(QuoteForMessage("a\"b\n"), "\"a\\\"b\\n\"");
  EXPECT_EQ(QuoteForMessage("abcdef", 3), "\"abc...\"");
}

TEST(Utf8CodePointsTest, CountsCodePointsNotBytes) {
  EXPECT_EQ(Utf8CodePoints(""), 0u);
  EXPECT_EQ(Utf8CodePoints("abc"), 3u);
  EXPECT_EQ(Utf8CodePoints("김민준"), 3u);            // 9 bytes
  EXPECT_EQ(Utf8CodePoints("\xF0\x9F\x98\x80"), 1u);  // U+1F600
  EXPECT_EQ(Utf8CodePoints("\xF4\x8F\xBF\xBF"), 1u);  // U+10FFFF
}

TEST(Utf8CodePointsTest, RejectsInvalidUtf8) {
  EXPECT_EQ(Utf8CodePoints("\x80"), std::nullopt);              // lone continuation
  EXPECT_EQ(Utf8CodePoints("\xC0\xAF"), std::nullopt);          // overlong '/'
  EXPECT_EQ(Utf8CodePoints("\xE0\x80\xAF"), std::nullopt);      // overlong
  EXPECT_EQ(Utf8CodePoints("\xED\xA0\x80"), std::nullopt);      // surrogate
  EXPECT_EQ(Utf8CodePoints("\xF4\x90\x80\x80"), std::nullopt);  // > U+10FFFF
  EXPECT_EQ(Utf8CodePoints("\xE2\x82"), std::nullopt);          // truncated
  EXPECT_EQ(Utf8CodePoints("\xFF"), std::nullopt);
}

TEST(ValidateTextTest, LengthInCodePoints) {
  EXPECT_TRUE(ValidateText(Repeat("가", 10), "f", 1, 10).ok());
  EXPECT_TRUE(IsInvalid(ValidateText(Repeat("가", 11), "f", 1, 10),
                        "f: must be at most 10 characters (got 11)"));
  EXPECT_TRUE(IsInvalid(ValidateText("", "f", 1, 10), "f: must not be empty"));
  EXPECT_TRUE(ValidateText("", "f", 0, 10).ok());
  EXPECT_TRUE(IsInvalid(ValidateText("a", "f", 2, 10), "f: must be at least 2 characters"));
}

TEST(ValidateTextTest, RejectsInvalidUtf8AndControlCharacters) {
  EXPECT_TRUE(IsInvalid(ValidateText("a\xC0\xAF", "f", 0, 10), "f: must be valid UTF-8"));
  EXPECT_TRUE(
      IsInvalid(ValidateText("a\nb", "f", 0, 10), "f: must not contain control characters"));
  EXPECT_TRUE(IsInvalid(ValidateText(std::string("a\0b", 3), "f", 0, 10),
                        "f: must not contain control characters"));
  EXPECT_TRUE(
      IsInvalid(ValidateText("a\x7F", "f", 0, 10), "f: must not contain control characters"));
  EXPECT_TRUE(IsInvalid(ValidateText("a\xC2\x85", "f", 0, 10),  // U+0085 (C1 NEL)
                        "f: must not contain control characters"));
}

TEST(ValidateTextTest, NewlineModeAllowsOnlyTabLfCr) {
  EXPECT_TRUE(
      ValidateText("line 1\r\nline 2\tend", "f", 0, 100, ControlChars::kAllowNewlines).ok());
  EXPECT_TRUE(IsInvalid(ValidateText("bell\x07", "f", 0, 100, ControlChars::kAllowNewlines),
                        "f: must not contain control characters"));
}

TEST(IsLowerAlnumOrTest, ChecksCharset) {
  EXPECT_TRUE(IsLowerAlnumOr("abc-09", "-"));
  EXPECT_TRUE(IsLowerAlnumOr("", "-"));
  EXPECT_FALSE(IsLowerAlnumOr("Abc", "-"));
  EXPECT_FALSE(IsLowerAlnumOr("a_b", "-"));
}

TEST(ValidateTimestampTest, AcceptsProtobufRange) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(1714521600);
  ts.set_nanos(500);
  EXPECT_TRUE(ValidateTimestamp(ts, "t").ok());
  EXPECT_EQ(ToAbslTime(ts), absl::FromUnixSeconds(1714521600) + absl::Nanoseconds(500));
  ts.set_seconds(-62135596800);
  ts.set_nanos(0);
  EXPECT_TRUE(ValidateTimestamp(ts, "t").ok());
  ts.set_seconds(253402300799);
  ts.set_nanos(999999999);
  EXPECT_TRUE(ValidateTimestamp(ts, "t").ok());
}

TEST(ValidateTimestampTest, RejectsOutOfRange) {
  const std::string message =
      "x.t: must be a valid timestamp between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z";
  google::protobuf::Timestamp ts;
  ts.set_seconds(253402300800);
  EXPECT_TRUE(IsInvalid(ValidateTimestamp(ts, "x.t"), message));
  ts.set_seconds(-62135596801);
  EXPECT_TRUE(IsInvalid(ValidateTimestamp(ts, "x.t"), message));
  ts.set_seconds(0);
  ts.set_nanos(-1);
  EXPECT_TRUE(IsInvalid(ValidateTimestamp(ts, "x.t"), message));
  ts.set_nanos(1000000000);
  EXPECT_TRUE(IsInvalid(ValidateTimestamp(ts, "x.t"), message));
}

}  // namespace
}  // namespace cxp::validation
