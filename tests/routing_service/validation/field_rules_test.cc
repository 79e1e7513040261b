#include "routing_service/validation/field_rules.h"

#include <string>

#include "cxp/type/v1/channel.pb.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::routing::validation {
namespace {

using cxp::validation::testing_util::IsInvalid;

google::protobuf::Duration Dur(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Duration d;
  d.set_seconds(seconds);
  d.set_nanos(nanos);
  return d;
}

TEST(ValidateRangeTest, InclusiveBounds) {
  EXPECT_TRUE(ValidateRange(1, "f", 1, 5).ok());
  EXPECT_TRUE(ValidateRange(5, "f", 1, 5).ok());
  EXPECT_TRUE(IsInvalid(ValidateRange(7, "agent.skills[2].proficiency", 1, 5),
                        "agent.skills[2].proficiency: must be 1 to 5 (got 7)"));
  EXPECT_TRUE(IsInvalid(ValidateRange(0, "f", 1, 5), "f: must be 1 to 5 (got 0)"));
}

TEST(ValidateMaxEntriesTest, Limit) {
  EXPECT_TRUE(ValidateMaxEntries(20, 20, "f").ok());
  EXPECT_TRUE(
      IsInvalid(ValidateMaxEntries(21, 20, "a.b"), "a.b: must have at most 20 entries (got 21)"));
}

TEST(ValidateDurationTest, ProtobufContract) {
  EXPECT_TRUE(ValidateDuration(Dur(0), "d").ok());
  EXPECT_TRUE(ValidateDuration(Dur(1, 500), "d").ok());
  EXPECT_TRUE(ValidateDuration(Dur(-1, -500), "d").ok());
  EXPECT_TRUE(ValidateDuration(Dur(0, -5), "d").ok());
  EXPECT_TRUE(ValidateDuration(Dur(315576000000, 999999999), "d").ok());
  const std::string message =
      "q.max_wait: must be a valid duration (|seconds| <= 315576000000, |nanos| <= 999999999, "
      "same sign)";
  EXPECT_TRUE(IsInvalid(ValidateDuration(Dur(1, -1), "q.max_wait"), message));
  EXPECT_TRUE(IsInvalid(ValidateDuration(Dur(-1, 1), "q.max_wait"), message));
  EXPECT_TRUE(IsInvalid(ValidateDuration(Dur(0, 1000000000), "q.max_wait"), message));
  EXPECT_TRUE(IsInvalid(ValidateDuration(Dur(315576000001), "q.max_wait"), message));
  EXPECT_TRUE(IsInvalid(ValidateDuration(Dur(-315576000001), "q.max_wait"), message));
}

TEST(ToDurationTest, RoundTrips) {
  EXPECT_EQ(ToAbslDuration(Dur(2, 500000000)), absl::Milliseconds(2500));
  EXPECT_EQ(ToAbslDuration(Dur(-2, -500000000)), absl::Milliseconds(-2500));
  for (const absl::Duration d : {absl::ZeroDuration(), absl::Seconds(20), absl::Milliseconds(1500),
                                 absl::Milliseconds(-1500), absl::Nanoseconds(1)}) {
    const google::protobuf::Duration proto = ToProtoDuration(d);
    EXPECT_TRUE(ValidateDuration(proto, "d").ok()) << d;
    EXPECT_EQ(ToAbslDuration(proto), d);
  }
  EXPECT_EQ(ToProtoDuration(absl::Milliseconds(-1500)).seconds(), -1);
  EXPECT_EQ(ToProtoDuration(absl::Milliseconds(-1500)).nanos(), -500000000);
}

TEST(ValidateDurationRangeTest, MessagesForEachBoundKind) {
  EXPECT_TRUE(ValidateDurationRange(Dur(1), "f", absl::Seconds(1), absl::Hours(1)).ok());
  EXPECT_TRUE(ValidateDurationRange(Dur(3600), "f", absl::Seconds(1), absl::Hours(1)).ok());
  EXPECT_TRUE(IsInvalid(ValidateDurationRange(Dur(7200), "f", absl::Seconds(1), absl::Hours(1)),
                        "f: must be 1s to 1h (got 2h)"));
  EXPECT_TRUE(IsInvalid(ValidateDurationRange(Dur(0), "f", absl::ZeroDuration(), absl::Hours(1),
                                              LowerBound::kExclusive),
                        "f: must be greater than 0 and at most 1h (got 0)"));
  EXPECT_TRUE(IsInvalid(
      ValidateDurationRange(Dur(0, 500000000), "f", absl::Seconds(1), absl::InfiniteDuration()),
      "f: must be at least 1s (got 500ms)"));
  EXPECT_TRUE(IsInvalid(ValidateDurationRange(Dur(-1), "f", absl::ZeroDuration(),
                                              absl::InfiniteDuration(), LowerBound::kExclusive),
                        "f: must be greater than 0 (got -1s)"));
  EXPECT_TRUE(ValidateDurationRange(Dur(0, 1), "f", absl::ZeroDuration(), absl::InfiniteDuration(),
                                    LowerBound::kExclusive)
                  .ok());
  // Invalid protos fail as such, before the range.
  EXPECT_TRUE(IsInvalid(ValidateDurationRange(Dur(5, -1), "f", absl::Seconds(1), absl::Hours(1)),
                        "f: must be a valid duration (|seconds| <= 315576000000, |nanos| <= "
                        "999999999, same sign)"));
}

TEST(ValidateChannelTest, SetAndKnown) {
  EXPECT_TRUE(ValidateChannel(cxp::type::v1::CHANNEL_VOICE, "c").ok());
  EXPECT_TRUE(ValidateChannel(cxp::type::v1::CHANNEL_IN_PERSON, "c").ok());
  EXPECT_TRUE(IsInvalid(ValidateChannel(0, "task.channel"), "task.channel: must be set"));
  EXPECT_TRUE(
      IsInvalid(ValidateChannel(99, "task.channel"), "task.channel: unknown Channel value 99"));
}

TEST(ValidateSkillIdTest, Charset) {
  for (absl::string_view ok : {"billing", "card_disputes", "lang.ko", "tier-1", "9"}) {
    EXPECT_TRUE(ValidateSkillId(ok, "s").ok()) << ok;
  }
  EXPECT_TRUE(ValidateSkillId(std::string(64, 'a'), "s").ok());
  for (const std::string& bad : {std::string(""), std::string("Billing"), std::string("a b"),
                                 std::string("a/b"), std::string(65, 'a')}) {
    EXPECT_TRUE(IsInvalid(ValidateSkillId(bad, "agent.skills[0].skill"),
                          "agent.skills[0].skill: must be 1 to 64 characters of [a-z0-9_.-]"))
        << bad;
  }
}

TEST(NormalizeLanguageTagTest, CanonicalCase) {
  const auto canonical = [](absl::string_view tag) {
    absl::StatusOr<std::string> out = NormalizeLanguageTag(tag, "t");
    EXPECT_TRUE(out.ok()) << tag << ": " << out.status();
    return out.ok() ? *out : "<error>";
  };
  EXPECT_EQ(canonical("ko-kr"), "ko-KR");
  EXPECT_EQ(canonical("KO-KR"), "ko-KR");
  EXPECT_EQ(canonical("ko"), "ko");
  EXPECT_EQ(canonical("EN"), "en");
  EXPECT_EQ(canonical("fil"), "fil");
  EXPECT_EQ(canonical("zh-hant-tw"), "zh-Hant-TW");
  EXPECT_EQ(canonical("sr-LATN"), "sr-Latn");
  EXPECT_EQ(canonical("es-419"), "es-419");
  EXPECT_EQ(canonical("zh-YUE-hk"), "zh-yue-HK");
  EXPECT_EQ(canonical("de-CH-1901"), "de-CH-1901");
  EXPECT_EQ(canonical("th-TH-u-ca-BUDDHIST"), "th-TH-u-ca-buddhist");
  EXPECT_EQ(canonical("EN-us-x-Foo"), "en-US-x-foo");
  EXPECT_EQ(canonical("en-a-bb"), "en-a-bb");
}

TEST(NormalizeLanguageTagTest, RejectsMalformed) {
  const std::string message =
      "agent.language_codes[1]: must be a BCP-47 language tag such as \"ko-KR\" or \"en\"";
  for (absl::string_view bad :
       {"", "k", "korean", "k1", "12", "ko_KR", "ko KR", "ko-", "-ko", "ko--KR", "ko-KR-",
        "ko-123456789", "x-private", "en-US-u", "ko-\xED\x95\x9C"}) {
    EXPECT_TRUE(IsInvalid(NormalizeLanguageTag(bad, "agent.language_codes[1]"), message)) << bad;
  }
  // 35 characters is the limit.
  EXPECT_TRUE(NormalizeLanguageTag("en-abcdefgh-abcdefgh-abcdefgh-abcde", "t").ok());
  EXPECT_TRUE(IsInvalid(NormalizeLanguageTag("en-abcdefgh-abcdefgh-abcdefgh-abcdef", "t"),
                        "t: must be a BCP-47 language tag such as \"ko-KR\" or \"en\""));
}

}  // namespace
}  // namespace cxp::routing::validation
