// Opt-out and opt-in keywords of inbound messages: what matches, the
// consent changes the edge is to apply, and the timeline entry every
// message gets.
#include "notify_service/core/inbound_keywords.h"

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace cxp::notify {
namespace {

namespace v1 = ::cxp::notify::v1;
namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::ReceiveInboundMessageRequest Sms(const std::string& text) {
  v1::ReceiveInboundMessageRequest request;
  v1::InboundMessage& message = *request.mutable_inbound_message();
  message.set_channel(type::CHANNEL_SMS);
  message.mutable_sender()->set_kind(type::IDENTITY_KIND_PHONE);
  message.mutable_sender()->set_value("+821012345678");
  message.set_text(text);
  return request;
}

TEST(InboundKeywordsTest, KeywordsMatchTheWholeMessageIgnoringCaseSpacesAndPunctuation) {
  EXPECT_EQ(InboundKeyword("STOP"), "STOP");
  EXPECT_EQ(InboundKeyword("  Stop! "), "STOP");
  EXPECT_EQ(InboundKeyword("unsubscribe."), "UNSUBSCRIBE");
  EXPECT_EQ(InboundKeyword("수신거부"), "수신거부");
  EXPECT_EQ(InboundKeyword("\u3000수신거부。"), "수신거부");
  EXPECT_EQ(InboundKeyword("“거부”"), "거부");
  EXPECT_EQ(InboundKeyword("start"), "START");
  EXPECT_EQ(InboundKeyword("please stop"), "");
  EXPECT_EQ(InboundKeyword("STOPPED"), "");
  EXPECT_EQ(InboundKeyword("!!!"), "");
  EXPECT_EQ(InboundKeyword(""), "");
}

TEST(InboundKeywordsTest, AnOptOutDeniesMarketingAndServiceOnTheChannel) {
  auto decision = DecideInboundMessage(Sms("Stop"), kNow);
  ASSERT_TRUE(decision.ok()) << decision.status();
  EXPECT_EQ(decision->action, v1::ReceiveInboundMessageResponse::ACTION_OPTED_OUT);
  ASSERT_EQ(decision->changes.size(), 2u);
  EXPECT_EQ(decision->changes[0].purpose(), type::PURPOSE_MARKETING);
  EXPECT_EQ(decision->changes[1].purpose(), type::PURPOSE_SERVICE);
  for (const ctx::ConsentEntry& change : decision->changes) {
    EXPECT_EQ(change.channel(), type::CHANNEL_SMS);
    EXPECT_EQ(change.state(), ctx::CONSENT_STATE_DENIED);
    EXPECT_EQ(change.evidence().source(), "inbound_keyword");
    EXPECT_EQ(change.evidence().text(), "Stop");
    EXPECT_EQ(TimeUtil::TimestampToSeconds(change.evidence().capture_time()),
              absl::ToUnixSeconds(kNow));
  }
}

TEST(InboundKeywordsTest, AnOptInGrantsAndOtherTextChangesNothing) {
  v1::ReceiveInboundMessageRequest start = Sms("UNSTOP");
  *start.mutable_inbound_message()->mutable_receive_time() = TimeUtil::SecondsToTimestamp(42);
  auto opted_in = DecideInboundMessage(start, kNow);
  ASSERT_TRUE(opted_in.ok()) << opted_in.status();
  EXPECT_EQ(opted_in->action, v1::ReceiveInboundMessageResponse::ACTION_OPTED_IN);
  ASSERT_EQ(opted_in->changes.size(), 2u);
  EXPECT_EQ(opted_in->changes[0].state(), ctx::CONSENT_STATE_GRANTED);
  EXPECT_EQ(TimeUtil::TimestampToSeconds(opted_in->changes[0].evidence().capture_time()), 42);

  auto other = DecideInboundMessage(Sms("What time is my appointment?"), kNow);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->action, v1::ReceiveInboundMessageResponse::ACTION_NONE);
  EXPECT_TRUE(other->changes.empty());
}

TEST(InboundKeywordsTest, EveryMessageGetsATimelineEntryRecordedOncePerProviderMessage) {
  v1::ReceiveInboundMessageRequest reply = Sms("What time is my appointment?");
  v1::InboundMessage& message = *reply.mutable_inbound_message();
  message.set_recipient("+8215881234");
  message.set_provider("acme-sms");
  message.set_provider_message_id("SM0001");
  *message.mutable_receive_time() = TimeUtil::SecondsToTimestamp(42);
  auto decision = DecideInboundMessage(reply, kNow);
  ASSERT_TRUE(decision.ok()) << decision.status();
  const ctx::AppendInteractionRequest& append = decision->timeline_append;
  EXPECT_EQ(append.request_id(), "inbound:acme-sms:SM0001");
  EXPECT_FALSE(append.has_customer());  // the edge's to fill in
  EXPECT_EQ(append.interaction().channel(), type::CHANNEL_SMS);
  EXPECT_EQ(append.interaction().direction(), ctx::Interaction::DIRECTION_INBOUND);
  EXPECT_EQ(append.interaction().type(), "message");
  EXPECT_EQ(append.interaction().identity().value(), "+821012345678");
  EXPECT_EQ(append.interaction().summary(), "What time is my appointment?");
  EXPECT_EQ(TimeUtil::TimestampToSeconds(append.interaction().occur_time()), 42);
  EXPECT_EQ(append.interaction().attributes().at("recipient").string_value(), "+8215881234");
  EXPECT_EQ(append.interaction().attributes().at("provider").string_value(), "acme-sms");
  EXPECT_EQ(append.interaction().attributes().at("provider_message_id").string_value(), "SM0001");
  EXPECT_FALSE(append.interaction().attributes().contains("keyword"));

  // A keyword is named; without a provider id there is no request_id; a
  // receive_time ahead of this clock counts as now for the consent evidence
  // and is left out of the timeline entry (stored as received, so a
  // redelivery makes the same request).
  v1::ReceiveInboundMessageRequest stop = Sms(" stop ");
  *stop.mutable_inbound_message()->mutable_receive_time() =
      TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow) + 60);
  auto stopped = DecideInboundMessage(stop, kNow);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_TRUE(stopped->timeline_append.request_id().empty());
  EXPECT_EQ(stopped->timeline_append.interaction().attributes().at("keyword").string_value(),
            "STOP");
  EXPECT_FALSE(stopped->timeline_append.interaction().has_occur_time());
  EXPECT_EQ(TimeUtil::TimestampToSeconds(stopped->changes[0].evidence().capture_time()),
            absl::ToUnixSeconds(kNow));
}

TEST(InboundKeywordsTest, MalformedMessagesAreRefusedNamingTheField) {
  EXPECT_THAT(DecideInboundMessage({}, kNow).status().message(),
              HasSubstr("inbound_message: must be set"));
  v1::ReceiveInboundMessageRequest no_channel = Sms("STOP");
  no_channel.mutable_inbound_message()->clear_channel();
  EXPECT_THAT(DecideInboundMessage(no_channel, kNow).status().message(),
              HasSubstr("inbound_message.channel:"));
  v1::ReceiveInboundMessageRequest no_sender = Sms("STOP");
  no_sender.mutable_inbound_message()->mutable_sender()->clear_value();
  EXPECT_THAT(DecideInboundMessage(no_sender, kNow).status().message(),
              HasSubstr("inbound_message.sender.value: must not be empty"));
  EXPECT_THAT(DecideInboundMessage(Sms(""), kNow).status().message(),
              HasSubstr("inbound_message.text: must not be empty"));
  v1::ReceiveInboundMessageRequest long_id = Sms("STOP");
  long_id.mutable_inbound_message()->set_provider_message_id(std::string(65, 'x'));
  EXPECT_THAT(DecideInboundMessage(long_id, kNow).status().message(),
              HasSubstr("inbound_message.provider_message_id:"));
  v1::ReceiveInboundMessageRequest long_provider = Sms("STOP");
  long_provider.mutable_inbound_message()->set_provider(std::string(65, 'x'));
  EXPECT_THAT(DecideInboundMessage(long_provider, kNow).status().message(),
              HasSubstr("inbound_message.provider:"));
}

}  // namespace
}  // namespace cxp::notify
