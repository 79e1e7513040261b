#include "notify_service/core/channel_plan.h"

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace cxp::notify {
namespace {

namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void AddConsent(ctx::Consent& consent, Channel channel, Purpose purpose, ctx::ConsentState state,
                int64_t seconds) {
  ctx::ConsentEntry& entry = *consent.add_entries();
  entry.set_channel(channel);
  entry.set_purpose(purpose);
  entry.set_state(state);
  entry.mutable_update_time()->set_seconds(seconds);
}

void AddIdentity(Recipient& recipient, type::IdentityKind kind, const std::string& value,
                 bool verified, int64_t created) {
  ctx::CustomerIdentity& identity = *recipient.customer.add_identities();
  identity.mutable_identity()->set_kind(kind);
  identity.mutable_identity()->set_value(value);
  identity.set_verified(verified);
  identity.mutable_create_time()->set_seconds(created);
}

Recipient Kim() {
  Recipient kim;
  kim.customer.set_name("customers/kim");
  AddIdentity(kim, type::IDENTITY_KIND_EMAIL, "kim@example.com", true, 1);
  AddIdentity(kim, type::IDENTITY_KIND_PHONE, "+821012345678", false, 1);
  AddIdentity(kim, type::IDENTITY_KIND_PHONE, "+821098765432", false, 5);  // newer
  return kim;
}

std::vector<Channel> Channels(const ChannelPlan& plan) {
  std::vector<Channel> channels;
  for (const PlannedChannel& p : plan.usable) channels.push_back(p.channel);
  return channels;
}

TEST(EffectiveConsentTest, TheLatestApplicableEntryDecides) {
  ctx::Consent consent;
  EXPECT_EQ(EffectiveConsent(consent, type::CHANNEL_SMS, type::PURPOSE_MARKETING),
            ctx::CONSENT_STATE_UNSPECIFIED);
  AddConsent(consent, type::CHANNEL_UNSPECIFIED, type::PURPOSE_MARKETING,
             ctx::CONSENT_STATE_GRANTED, 10);
  AddConsent(consent, type::CHANNEL_SMS, type::PURPOSE_UNSPECIFIED, ctx::CONSENT_STATE_DENIED,
             20);  // STOP by SMS, later
  EXPECT_EQ(EffectiveConsent(consent, type::CHANNEL_SMS, type::PURPOSE_MARKETING),
            ctx::CONSENT_STATE_DENIED);
  EXPECT_EQ(EffectiveConsent(consent, type::CHANNEL_EMAIL, type::PURPOSE_MARKETING),
            ctx::CONSENT_STATE_GRANTED);
  EXPECT_EQ(EffectiveConsent(consent, type::CHANNEL_EMAIL, type::PURPOSE_SERVICE),
            ctx::CONSENT_STATE_UNSPECIFIED);
}

TEST(ConsentAllowsTest, MarketingNeedsAGrantOthersGoUnlessDenied) {
  EXPECT_FALSE(ConsentAllows(ctx::CONSENT_STATE_UNSPECIFIED, type::PURPOSE_MARKETING));
  EXPECT_TRUE(ConsentAllows(ctx::CONSENT_STATE_GRANTED, type::PURPOSE_MARKETING));
  EXPECT_TRUE(ConsentAllows(ctx::CONSENT_STATE_UNSPECIFIED, type::PURPOSE_TRANSACTIONAL));
  EXPECT_TRUE(ConsentAllows(ctx::CONSENT_STATE_UNSPECIFIED, type::PURPOSE_SERVICE));
  EXPECT_FALSE(ConsentAllows(ctx::CONSENT_STATE_DENIED, type::PURPOSE_TRANSACTIONAL));
}

TEST(ChannelPlanTest, OrderComesFromTheRequestThenPreferencesThenTheTemplate) {
  Recipient kim = Kim();
  auto email_and_sms = [](Channel c) { return c == type::CHANNEL_EMAIL || c == type::CHANNEL_SMS; };
  EXPECT_THAT(EffectiveChannelOrder({type::CHANNEL_SMS, type::CHANNEL_SMS}, kim, email_and_sms),
              ElementsAre(type::CHANNEL_SMS));
  kim.preferred_order = {type::CHANNEL_PUSH, type::CHANNEL_SMS};
  EXPECT_THAT(EffectiveChannelOrder({}, kim, email_and_sms),
              ElementsAre(type::CHANNEL_PUSH, type::CHANNEL_SMS));
  kim.preferred_order.clear();
  EXPECT_THAT(EffectiveChannelOrder({}, kim, email_and_sms),
              ElementsAre(type::CHANNEL_EMAIL, type::CHANNEL_SMS));
}

TEST(ChannelPlanTest, SkipsWithoutConsentAddressOrContentAndSaysWhy) {
  Recipient kim = Kim();
  AddConsent(kim.consent, type::CHANNEL_SMS, type::PURPOSE_UNSPECIFIED, ctx::CONSENT_STATE_DENIED,
             20);
  auto all = [](Channel) { return true; };
  const std::vector<Channel> order = {type::CHANNEL_VOICE, type::CHANNEL_SMS, type::CHANNEL_PUSH,
                                      type::CHANNEL_EMAIL, type::CHANNEL_WEB};
  ChannelPlan plan = PlanChannels(order, type::PURPOSE_SERVICE, kim, all);
  EXPECT_THAT(Channels(plan), ElementsAre(type::CHANNEL_EMAIL, type::CHANNEL_WEB));
  EXPECT_EQ(plan.usable[0].address, "kim@example.com");
  EXPECT_EQ(plan.usable[1].address, "customers/kim");
  ASSERT_EQ(plan.skipped.size(), 3u);
  EXPECT_EQ(plan.skipped[0].code, "UNSUPPORTED_CHANNEL");
  EXPECT_EQ(plan.skipped[1].code, "NO_CONSENT");
  EXPECT_EQ(plan.skipped[2].code, "NO_ADDRESS");

  // Marketing without any grant: nothing may go, and the message says why.
  plan = PlanChannels({type::CHANNEL_EMAIL, type::CHANNEL_SMS}, type::PURPOSE_MARKETING, kim,
                      [](Channel c) { return c == type::CHANNEL_SMS; });
  EXPECT_TRUE(plan.usable.empty());
  EXPECT_THAT(NoChannelMessage(plan), HasSubstr("EMAIL has no consent for MARKETING"));
  EXPECT_THAT(NoChannelMessage(plan), HasSubstr("SMS has no consent"));
}

TEST(ChannelPlanTest, PrefersVerifiedThenNewestAddresses) {
  Recipient kim = Kim();
  EXPECT_EQ(AddressFor(kim, type::CHANNEL_SMS), "+821098765432");  // newest unverified
  AddIdentity(kim, type::IDENTITY_KIND_PHONE, "+821011112222", true, 2);
  EXPECT_EQ(AddressFor(kim, type::CHANNEL_SMS), "+821011112222");  // verified wins
  EXPECT_EQ(AddressFor(kim, type::CHANNEL_PUSH), "");
}

}  // namespace
}  // namespace cxp::notify
