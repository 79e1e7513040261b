#include "context_service/core/contact_stats.h"

#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace cxp::context {
namespace {

using google::protobuf::util::TimeUtil;

v1::Interaction Inbound(cxp::type::v1::Channel channel, absl::Time when) {
  v1::Interaction interaction;
  interaction.set_channel(channel);
  interaction.set_direction(v1::Interaction::DIRECTION_INBOUND);
  *interaction.mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(when));
  return interaction;
}

bool SameAttributes(v1::ComputedAttributes a, v1::ComputedAttributes b) {
  a.clear_compute_time();
  b.clear_compute_time();
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// Inside the validity interval the answer never changes; at its ends it may.
TEST(ContactStatsTest, AttributesAreConstantInsideTheirValidity) {
  const absl::Time start = absl::FromUnixSeconds(1'790'000'000) + absl::Minutes(17);
  storage::ContactStats stats;
  RecordContact(Inbound(cxp::type::v1::CHANNEL_VOICE, start - absl::Hours(40)), start, stats);
  RecordContact(Inbound(cxp::type::v1::CHANNEL_CHAT, start - absl::Hours(2)), start, stats);
  for (absl::Time now = start; now < start + absl::Hours(24 * 9); now += absl::Minutes(23)) {
    const AttributesValidity validity = ComputedAttributesValidity(stats, now);
    ASSERT_LE(validity.from, now);
    ASSERT_GT(validity.until, now);
    const v1::ComputedAttributes at_now = ComputeAttributes(stats, now);
    EXPECT_TRUE(SameAttributes(at_now, ComputeAttributes(stats, validity.from)));
    EXPECT_TRUE(SameAttributes(at_now,
                               ComputeAttributes(stats, validity.until - absl::Microseconds(1))));
  }
}

TEST(ContactStatsTest, RepeatContactEndsExactlySevenDaysAfterTheEarlierContact) {
  const absl::Time first = absl::FromUnixSeconds(1'790'000'000);
  storage::ContactStats stats;
  RecordContact(Inbound(cxp::type::v1::CHANNEL_VOICE, first), first, stats);
  RecordContact(Inbound(cxp::type::v1::CHANNEL_CHAT, first + absl::Hours(1)), first, stats);
  const absl::Time last = first + absl::Hours(24 * 7);
  EXPECT_TRUE(ComputeAttributes(stats, last).repeat_contact());
  EXPECT_FALSE(ComputeAttributes(stats, last + absl::Microseconds(1)).repeat_contact());
  EXPECT_EQ(ComputedAttributesValidity(stats, last - absl::Minutes(1)).until, last);
  EXPECT_EQ(ComputedAttributesValidity(stats, last + absl::Minutes(1)).from,
            last + absl::Microseconds(1));
}

}  // namespace
}  // namespace cxp::context
