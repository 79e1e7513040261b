#include "context_service/validation/interaction_validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/context_service/validation/status_matchers.h"

namespace cxp::context::validation {
namespace {

using cxp::context::v1::Interaction;
using testing_util::IsInvalid;

const absl::Time kNow = absl::FromUnixSeconds(1714521600) + absl::Milliseconds(250);

std::string Repeat(absl::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(s.data(), s.size());
  return out;
}

void SetTime(google::protobuf::Timestamp* ts, absl::Time t) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

Interaction Valid() {
  Interaction interaction;
  interaction.set_channel(cxp::type::v1::CHANNEL_VOICE);
  interaction.set_direction(Interaction::DIRECTION_INBOUND);
  interaction.set_type("call");
  return interaction;
}

absl::Status Check(const Interaction& interaction) {
  return ValidateInteraction(interaction, kNow, "interaction");
}

TEST(ValidateInteractionTest, AcceptsMinimalAndFullInteractions) {
  EXPECT_TRUE(Check(Valid()).ok());
  Interaction full = Valid();
  full.set_type("page_view.v2-beta");
  SetTime(full.mutable_occur_time(), kNow - absl::Hours(24));
  full.set_agent("agents/kim");
  full.set_queue("queues/billing");
  full.set_case_id("CASE-1234");
  full.set_journey("customers/c1/journeys/j1");
  full.set_summary("고객이 카드 재발급을 요청함.\n주소 변경 포함.\t완료");
  (*full.mutable_attributes())["duration_s"].set_number_value(73);
  full.mutable_identity()->set_kind(cxp::type::v1::IDENTITY_KIND_PHONE);
  full.mutable_identity()->set_value("not checked here");
  EXPECT_TRUE(Check(full).ok());
}

TEST(ValidateInteractionTest, ChannelMustBeSetAndKnown) {
  Interaction interaction = Valid();
  interaction.set_channel(cxp::type::v1::CHANNEL_UNSPECIFIED);
  EXPECT_TRUE(IsInvalid(Check(interaction), "interaction.channel: must be set"));
  interaction.set_channel(static_cast<cxp::type::v1::Channel>(42));
  EXPECT_TRUE(IsInvalid(Check(interaction), "interaction.channel: unknown Channel value 42"));
}

TEST(ValidateInteractionTest, DirectionMustBeSetAndKnown) {
  Interaction interaction = Valid();
  interaction.set_direction(Interaction::DIRECTION_UNSPECIFIED);
  EXPECT_TRUE(IsInvalid(Check(interaction), "interaction.direction: must be set"));
  interaction.set_direction(static_cast<Interaction::Direction>(7));
  EXPECT_TRUE(IsInvalid(Check(interaction), "interaction.direction: unknown Direction value 7"));
}

TEST(ValidateInteractionTest, TypeCharsetAndLength) {
  const std::string message = "interaction.type: must be 1 to 64 characters of [a-z0-9_.-]";
  Interaction interaction = Valid();
  interaction.set_type(Repeat("a", 64));
  EXPECT_TRUE(Check(interaction).ok());
  for (const std::string& bad : {std::string(""), std::string("Call"), std::string("page view"),
                                 std::string("통화"), Repeat("a", 65)}) {
    interaction.set_type(bad);
    EXPECT_TRUE(IsInvalid(Check(interaction), message)) << bad;
  }
}

TEST(ValidateInteractionTest, OccurTimeAtMostFiveMinutesAhead) {
  Interaction interaction = Valid();
  SetTime(interaction.mutable_occur_time(), kNow + absl::Minutes(5));
  EXPECT_TRUE(Check(interaction).ok());
  SetTime(interaction.mutable_occur_time(), kNow + absl::Minutes(5) + absl::Nanoseconds(1));
  EXPECT_TRUE(IsInvalid(Check(interaction),
                        "interaction.occur_time: must not be more than 5 minutes in the future"));
  SetTime(interaction.mutable_occur_time(), kNow - absl::Hours(24 * 365));
  EXPECT_TRUE(Check(interaction).ok());
  interaction.mutable_occur_time()->set_nanos(1000000000);
  EXPECT_TRUE(IsInvalid(Check(interaction),
                        "interaction.occur_time: must be a valid timestamp between "
                        "0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z"));
}

TEST(ValidateInteractionTest, ReferenceFieldsAtMost256Characters) {
  Interaction interaction = Valid();
  interaction.set_agent(Repeat("가", 256));
  interaction.set_queue(Repeat("q", 256));
  interaction.set_case_id(Repeat("c", 256));
  EXPECT_TRUE(Check(interaction).ok());

  Interaction agent = interaction;
  agent.set_agent(Repeat("가", 257));
  EXPECT_TRUE(
      IsInvalid(Check(agent), "interaction.agent: must be at most 256 characters (got 257)"));
  Interaction queue = interaction;
  queue.set_queue(Repeat("q", 257));
  EXPECT_TRUE(
      IsInvalid(Check(queue), "interaction.queue: must be at most 256 characters (got 257)"));
  Interaction case_id = interaction;
  case_id.set_case_id("CASE\n1");
  EXPECT_TRUE(
      IsInvalid(Check(case_id), "interaction.case_id: must not contain control characters"));
}

TEST(ValidateInteractionTest, SummaryAtMost4096Characters) {
  Interaction interaction = Valid();
  interaction.set_summary(Repeat("요", 4096));
  EXPECT_TRUE(Check(interaction).ok());
  interaction.set_summary(Repeat("요", 4097));
  EXPECT_TRUE(IsInvalid(Check(interaction),
                        "interaction.summary: must be at most 4096 characters (got 4097)"));
  interaction.set_summary("beep\x07");
  EXPECT_TRUE(
      IsInvalid(Check(interaction), "interaction.summary: must not contain control characters"));
  interaction.set_summary("\xFF");
  EXPECT_TRUE(IsInvalid(Check(interaction), "interaction.summary: must be valid UTF-8"));
}

TEST(ValidateInteractionTest, AttributesAtMost50) {
  Interaction interaction = Valid();
  for (int i = 0; i < 50; ++i) {
    (*interaction.mutable_attributes())[absl::StrCat("k", i)].set_bool_value(true);
  }
  EXPECT_TRUE(Check(interaction).ok());
  (*interaction.mutable_attributes())["k50"].set_bool_value(true);
  EXPECT_TRUE(IsInvalid(Check(interaction),
                        "interaction.attributes: must have at most 50 entries (got 51)"));
}

TEST(ValidateInteractionTest, AttributeErrorsNameTheKey) {
  Interaction interaction = Valid();
  (*interaction.mutable_attributes())["wait_s"];  // no value set
  EXPECT_TRUE(IsInvalid(Check(interaction),
                        "interaction.attributes.wait_s: must have a value (string_value, "
                        "number_value, bool_value or timestamp_value)"));
  Interaction bad_key = Valid();
  (*bad_key.mutable_attributes())["Wait"].set_bool_value(true);
  EXPECT_TRUE(IsInvalid(Check(bad_key),
                        "interaction.attributes: invalid key \"Wait\": must be 1 to 64 "
                        "characters of [a-z][a-z0-9_]*"));
}

class NormalizeInteractionTest : public ::testing::Test {
 protected:
  IdentityNormalizer normalizer_ = *IdentityNormalizer::Create("KR");
};

TEST_F(NormalizeInteractionTest, NormalisesIdentityFillsOccurTimeClearsOutputOnly) {
  Interaction in = Valid();
  in.set_name("customers/x/interactions/y");
  in.mutable_create_time()->set_seconds(5);
  in.mutable_identity()->set_kind(cxp::type::v1::IDENTITY_KIND_PHONE);
  in.mutable_identity()->set_value("010-1234-5678");
  absl::StatusOr<Interaction> out = NormalizeInteraction(in, normalizer_, kNow, "interaction");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->identity().value(), "+821012345678");
  EXPECT_EQ(out->occur_time().seconds(), 1714521600);
  EXPECT_EQ(out->occur_time().nanos(), 250000000);
  EXPECT_EQ(out->name(), "");
  EXPECT_FALSE(out->has_create_time());
  EXPECT_EQ(out->type(), "call");
}

TEST_F(NormalizeInteractionTest, KeepsGivenOccurTimeAndAbsentIdentity) {
  Interaction in = Valid();
  in.mutable_occur_time()->set_seconds(1700000000);
  absl::StatusOr<Interaction> out = NormalizeInteraction(in, normalizer_, kNow, "interaction");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->occur_time().seconds(), 1700000000);
  EXPECT_FALSE(out->has_identity());
}

TEST_F(NormalizeInteractionTest, ReportsIdentityAndValidationErrors) {
  Interaction in = Valid();
  in.mutable_identity()->set_kind(cxp::type::v1::IDENTITY_KIND_PHONE);
  in.mutable_identity()->set_value("010-12");
  EXPECT_TRUE(IsInvalid(NormalizeInteraction(in, normalizer_, kNow, "interaction"),
                        "interaction.identity.value: not a valid phone number for region KR"));
  in.set_type("");
  EXPECT_TRUE(IsInvalid(NormalizeInteraction(in, normalizer_, kNow, "interaction"),
                        "interaction.type: must be 1 to 64 characters of [a-z0-9_.-]"));
}

}  // namespace
}  // namespace cxp::context::validation
