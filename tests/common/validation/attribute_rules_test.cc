#include "common/validation/attribute_rules.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::validation {
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
  EXPECT_TRUE(ValidateAttributes(map, 200, "customer.attributes").ok());
  EXPECT_TRUE(ValidateAttributes(AttributeMap(), 200, "f").ok());
}

TEST(ValidateAttributesTest, EntryLimit) {
  AttributeMap map;
  for (int i = 0; i < 50; ++i) map[absl::StrCat("k", i)] = Num(i);
  EXPECT_TRUE(ValidateAttributes(map, 50, "task.attributes").ok());
  map["k50"] = Num(1);
  EXPECT_TRUE(IsInvalid(ValidateAttributes(map, 50, "task.attributes"),
                        "task.attributes: must have at most 50 entries (got 51)"));
  EXPECT_TRUE(
      IsInvalid(ValidateAttributes(map, -1, "f"), "f: must have at most -1 entries (got 51)"));
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

}  // namespace
}  // namespace cxp::validation
