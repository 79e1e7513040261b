// TriggerMatcher: which rules a change event fires and the sends they make.
#include "notify_service/core/trigger_matcher.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace cxp::notify {
namespace {

namespace context = ::cxp::context::v1;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

const absl::Time kChangeTime = absl::FromUnixSeconds(1'800'000'000);

v1::TriggerRule Rule(const std::string& id) {
  v1::TriggerRule rule;
  rule.set_name("triggerRules/" + id);
  rule.set_display_name(id);
  rule.add_change_kinds(context::CHANGE_KIND_JOURNEY_ADVANCED);
  rule.set_template_("templates/" + id + "-template");
  rule.set_purpose(cxp::type::v1::PURPOSE_SERVICE);
  rule.set_enabled(true);
  return rule;
}

// The issue's example: journey missed_delivery moved to step rescheduled.
v1::TriggerRule RescheduledRule() {
  v1::TriggerRule rule = Rule("rescheduled");
  rule.set_filter(
      "journey.type = \"missed_delivery\" AND journey.step = \"rescheduled\" AND "
      "journey.previous_step != \"rescheduled\"");
  rule.add_channel_order(cxp::type::v1::CHANNEL_SMS);
  rule.add_channel_order(cxp::type::v1::CHANNEL_EMAIL);
  (*rule.mutable_variables())["step"] = "journey.step";
  (*rule.mutable_variables())["order"] = "journey.attributes.order_id";
  (*rule.mutable_variables())["parcels"] = "journey.attributes.parcels";
  (*rule.mutable_variables())["urgent"] = "journey.attributes.urgent";
  (*rule.mutable_variables())["due"] = "journey.attributes.due";
  (*rule.mutable_variables())["state"] = "journey.state";
  (*rule.mutable_variables())["name"] = "customer.display_name";
  (*rule.mutable_variables())["who"] = "customer.name";
  (*rule.mutable_variables())["missing"] = "journey.attributes.nothing";
  (*rule.mutable_variables())["channel"] = "interaction.channel";
  return rule;
}

// A journey event: the journey moved from `from` to `to`.
context::ChangeEvent JourneyEvent(int64_t sequence, const std::string& type,
                                  const std::string& from, const std::string& to) {
  context::ChangeEvent event;
  event.set_sequence(sequence);
  event.set_kind(context::CHANGE_KIND_JOURNEY_ADVANCED);
  event.set_customer("customers/c1");
  *event.mutable_change_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kChangeTime));
  context::Journey& journey = *event.mutable_journey();
  journey.set_name("customers/c1/journeys/j1");
  journey.set_type(type);
  journey.set_step(to);
  journey.set_state(context::Journey::STATE_WAITING_ON_CUSTOMER);
  context::JourneyTransition& first = *journey.add_transitions();
  first.set_step("created");
  first.set_state(context::Journey::STATE_OPEN);
  if (!from.empty()) {
    context::JourneyTransition& previous = *journey.add_transitions();
    previous.set_step(from);
    previous.set_state(context::Journey::STATE_WAITING_ON_BUSINESS);
  }
  context::JourneyTransition& last = *journey.add_transitions();
  last.set_step(to);
  last.set_state(journey.state());
  (*journey.mutable_attributes())["order_id"].set_string_value("A-42");
  (*journey.mutable_attributes())["parcels"].set_number_value(3);
  (*journey.mutable_attributes())["urgent"].set_bool_value(true);
  *(*journey.mutable_attributes())["due"].mutable_timestamp_value() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kChangeTime + absl::Hours(26)));
  return event;
}

context::Customer Profile() {
  context::Customer customer;
  customer.set_name("customers/c1");
  customer.set_display_name("김민지");
  customer.set_tier("gold");
  (*customer.mutable_attributes())["plan"].set_string_value("premium");
  return customer;
}

std::vector<std::string> RulesOf(const std::vector<TriggeredSend>& sends) {
  std::vector<std::string> rules;
  for (const TriggeredSend& send : sends) rules.push_back(send.trigger_rule);
  return rules;
}

TEST(TriggerMatcherTest, TheIssueExampleBuildsTheSend) {
  const TriggerMatcher matcher({RescheduledRule()});
  const context::Customer profile = Profile();
  const std::vector<TriggeredSend> sends =
      matcher.Match(JourneyEvent(1234, "missed_delivery", "attempted", "rescheduled"), &profile);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].trigger_rule, "triggerRules/rescheduled");
  const v1::SendNotificationRequest& request = sends[0].request;
  EXPECT_EQ(request.customer().customer(), "customers/c1");
  EXPECT_EQ(request.template_(), "templates/rescheduled-template");
  EXPECT_EQ(request.template_version(), 0);  // the current version at send time
  EXPECT_EQ(request.purpose(), cxp::type::v1::PURPOSE_SERVICE);
  EXPECT_THAT(request.channel_order(),
              ElementsAre(cxp::type::v1::CHANNEL_SMS, cxp::type::v1::CHANNEL_EMAIL));
  EXPECT_EQ(request.idempotency_key(), "trigger:rescheduled:1234");
  EXPECT_EQ(request.replace_key(), "");
  EXPECT_FALSE(request.has_send_time());
  const std::map<std::string, std::string> variables(request.variables().begin(),
                                                     request.variables().end());
  EXPECT_THAT(
      variables,
      UnorderedElementsAre(Pair("step", "rescheduled"), Pair("order", "A-42"), Pair("parcels", "3"),
                           Pair("urgent", "true"), Pair("due", "2027-01-16T10:00:00Z"),
                           Pair("state", "STATE_WAITING_ON_CUSTOMER"), Pair("name", "김민지"),
                           Pair("who", "customers/c1"), Pair("missing", ""), Pair("channel", "")));
}

TEST(TriggerMatcherTest, MovedToStepIsNotAdvancedWhileAtStep) {
  const TriggerMatcher matcher({RescheduledRule()});
  // Already at "rescheduled" (e.g. a state change there): not "moved to".
  EXPECT_THAT(
      matcher.Match(JourneyEvent(7, "missed_delivery", "rescheduled", "rescheduled"), nullptr),
      IsEmpty());
  // Another journey type or step.
  EXPECT_THAT(
      matcher.Match(JourneyEvent(8, "card_replacement", "attempted", "rescheduled"), nullptr),
      IsEmpty());
  EXPECT_THAT(matcher.Match(JourneyEvent(9, "missed_delivery", "attempted", "delivered"), nullptr),
              IsEmpty());
  // Straight from the first step: previous_step is that step.
  EXPECT_THAT(
      RulesOf(matcher.Match(JourneyEvent(10, "missed_delivery", "", "rescheduled"), nullptr)),
      ElementsAre("triggerRules/rescheduled"));
}

TEST(TriggerMatcherTest, KindEnabledAndCustomerDecide) {
  v1::TriggerRule disabled = Rule("disabled");
  disabled.set_enabled(false);
  v1::TriggerRule started = Rule("started");
  started.set_change_kinds(0, context::CHANGE_KIND_JOURNEY_STARTED);
  v1::TriggerRule any_advance = Rule("any-advance");
  const TriggerMatcher matcher({started, disabled, any_advance});
  EXPECT_EQ(matcher.size(), 2u);
  context::ChangeEvent event = JourneyEvent(5, "missed_delivery", "", "created");
  EXPECT_THAT(RulesOf(matcher.Match(event, nullptr)), ElementsAre("triggerRules/any-advance"));
  event.set_kind(context::CHANGE_KIND_JOURNEY_STARTED);
  EXPECT_THAT(RulesOf(matcher.Match(event, nullptr)), ElementsAre("triggerRules/started"));
  event.set_kind(context::CHANGE_KIND_INTERACTION_APPENDED);
  EXPECT_THAT(matcher.Match(event, nullptr), IsEmpty());
  // An event without a customer sends to nobody.
  event.set_kind(context::CHANGE_KIND_JOURNEY_ADVANCED);
  event.clear_customer();
  EXPECT_THAT(matcher.Match(event, nullptr), IsEmpty());
}

TEST(TriggerMatcherTest, SeveralRulesFireInNameOrderEachWithItsOwnKey) {
  const TriggerMatcher matcher({Rule("b-second"), Rule("a-first")});
  const std::vector<TriggeredSend> sends =
      matcher.Match(JourneyEvent(99, "missed_delivery", "x", "y"), nullptr);
  ASSERT_THAT(RulesOf(sends), ElementsAre("triggerRules/a-first", "triggerRules/b-second"));
  EXPECT_EQ(sends[0].request.idempotency_key(), "trigger:a-first:99");
  EXPECT_EQ(sends[1].request.idempotency_key(), "trigger:b-second:99");
  EXPECT_EQ(TriggerMatcher::IdempotencyKey("triggerRules/r", 3), "trigger:r:3");
}

TEST(TriggerMatcherTest, ProfileFieldsComeFromTheSnapshotOrTheLookedUpProfile) {
  v1::TriggerRule gold = Rule("gold");
  gold.add_change_kinds(context::CHANGE_KIND_CUSTOMER_UPDATED);
  gold.add_change_kinds(context::CHANGE_KIND_INTERACTION_APPENDED);
  gold.set_filter("customer.tier = \"gold\" AND customer.attributes.plan = \"premium\"");
  v1::TriggerRule plain = Rule("plain");
  plain.add_change_kinds(context::CHANGE_KIND_INTERACTION_APPENDED);
  (*plain.mutable_variables())["who"] = "customer.name";  // the event's: no lookup needed
  const TriggerMatcher matcher({gold, plain});

  context::ChangeEvent journey = JourneyEvent(1, "missed_delivery", "a", "b");
  EXPECT_TRUE(matcher.NeedsCustomerProfile(journey));
  // Without the profile, profile comparisons do not match.
  EXPECT_THAT(RulesOf(matcher.Match(journey, nullptr)), ElementsAre("triggerRules/plain"));
  context::Customer profile = Profile();
  EXPECT_THAT(RulesOf(matcher.Match(journey, &profile)),
              ElementsAre("triggerRules/gold", "triggerRules/plain"));
  profile.set_tier("silver");
  EXPECT_THAT(RulesOf(matcher.Match(journey, &profile)), ElementsAre("triggerRules/plain"));

  // A customer event carries the snapshot: it wins over a stale profile.
  context::ChangeEvent updated;
  updated.set_sequence(2);
  updated.set_kind(context::CHANGE_KIND_CUSTOMER_UPDATED);
  updated.set_customer("customers/c1");
  *updated.mutable_customer_snapshot() = Profile();
  EXPECT_FALSE(matcher.NeedsCustomerProfile(updated));
  EXPECT_THAT(RulesOf(matcher.Match(updated, &profile)), ElementsAre("triggerRules/gold"));

  // Only "plain" reads nothing of the profile but the name.
  const TriggerMatcher plain_only({plain});
  context::ChangeEvent interaction;
  interaction.set_kind(context::CHANGE_KIND_INTERACTION_APPENDED);
  interaction.set_customer("customers/c1");
  interaction.mutable_interaction()->set_channel(cxp::type::v1::CHANNEL_CHAT);
  EXPECT_FALSE(plain_only.NeedsCustomerProfile(interaction));
  EXPECT_TRUE(matcher.NeedsCustomerProfile(interaction));
}

TEST(TriggerMatcherTest, PayloadOfAnotherKindIsAbsentEvenForNotEqual) {
  v1::TriggerRule rule = Rule("voice");
  rule.add_change_kinds(context::CHANGE_KIND_INTERACTION_APPENDED);
  rule.set_filter("interaction.channel != CHAT");
  const TriggerMatcher matcher({rule});
  // A journey event has no interaction: `!=` does not match an absent value.
  EXPECT_THAT(matcher.Match(JourneyEvent(1, "t", "a", "b"), nullptr), IsEmpty());
  context::ChangeEvent event;
  event.set_kind(context::CHANGE_KIND_INTERACTION_APPENDED);
  event.set_customer("customers/c1");
  event.mutable_interaction()->set_channel(cxp::type::v1::CHANNEL_VOICE);
  EXPECT_THAT(RulesOf(matcher.Match(event, nullptr)), ElementsAre("triggerRules/voice"));
  event.mutable_interaction()->set_channel(cxp::type::v1::CHANNEL_CHAT);
  EXPECT_THAT(matcher.Match(event, nullptr), IsEmpty());
}

TEST(TriggerMatcherTest, CooldownCountsFromTheEventsChangeTime) {
  v1::TriggerRule rule = Rule("cool");
  rule.mutable_cooldown()->set_seconds(3600);
  const TriggerMatcher matcher({rule, Rule("hot")});
  const context::ChangeEvent event = JourneyEvent(3, "t", "a", "b");
  std::optional<absl::Time> last;
  std::vector<std::string> asked;
  auto last_sent = [&](const std::string& rule, const std::string& customer) {
    asked.push_back(rule + " " + customer);
    return last;
  };
  // Never sent: fires.
  EXPECT_THAT(RulesOf(matcher.Match(event, nullptr, last_sent)),
              ElementsAre("triggerRules/cool", "triggerRules/hot"));
  EXPECT_THAT(asked, ElementsAre("triggerRules/cool customers/c1"));  // only rules with one
  last = kChangeTime - absl::Minutes(59);
  EXPECT_THAT(RulesOf(matcher.Match(event, nullptr, last_sent)), ElementsAre("triggerRules/hot"));
  last = kChangeTime - absl::Minutes(60);
  EXPECT_THAT(RulesOf(matcher.Match(event, nullptr, last_sent)),
              ElementsAre("triggerRules/cool", "triggerRules/hot"));
  // Without a lookup, no cooldown holds a rule back.
  last = kChangeTime;
  EXPECT_THAT(RulesOf(matcher.Match(event, nullptr)),
              ElementsAre("triggerRules/cool", "triggerRules/hot"));
}

TEST(TriggerMatcherTest, ABrokenStoredRuleIsLeftOutAndReported) {
  v1::TriggerRule broken = Rule("broken");
  broken.set_filter("journey.no_such_field = 1");
  const TriggerMatcher matcher({broken, Rule("fine")});
  EXPECT_EQ(matcher.size(), 1u);
  ASSERT_EQ(matcher.broken_rules().size(), 1u);
  EXPECT_EQ(matcher.broken_rules()[0].first, "triggerRules/broken");
  EXPECT_EQ(matcher.broken_rules()[0].second.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(RulesOf(matcher.Match(JourneyEvent(1, "t", "a", "b"), nullptr)),
              ElementsAre("triggerRules/fine"));
  EXPECT_THAT(TriggerMatcher().Match(JourneyEvent(1, "t", "a", "b"), nullptr), IsEmpty());
}

TEST(TriggerMatcherTest, FiltersOnNumbersTimesAndNestedFields) {
  v1::TriggerRule rule = Rule("big");
  rule.set_filter(
      "journey.attributes.parcels >= 3 AND journey.attributes.due > \"2027-01-16T00:00:00Z\" AND "
      "journey.state = WAITING_ON_CUSTOMER AND journey.previous_state = WAITING_ON_BUSINESS");
  const TriggerMatcher matcher({rule});
  context::ChangeEvent event = JourneyEvent(1, "t", "a", "b");
  EXPECT_THAT(RulesOf(matcher.Match(event, nullptr)), ElementsAre("triggerRules/big"));
  (*event.mutable_journey()->mutable_attributes())["parcels"].set_number_value(2);
  EXPECT_THAT(matcher.Match(event, nullptr), IsEmpty());

  v1::TriggerRule nested = Rule("nested");
  nested.set_change_kinds(0, context::CHANGE_KIND_INTERACTION_APPENDED);
  nested.set_filter("interaction.identity.kind = PHONE");
  (*nested.mutable_variables())["region"] = "interaction.identity.region_code";
  const TriggerMatcher nested_matcher({nested});
  context::ChangeEvent interaction;
  interaction.set_kind(context::CHANGE_KIND_INTERACTION_APPENDED);
  interaction.set_customer("customers/c1");
  interaction.mutable_interaction()->mutable_identity()->set_kind(
      cxp::type::v1::IDENTITY_KIND_PHONE);
  interaction.mutable_interaction()->mutable_identity()->set_region_code("KR");
  const std::vector<TriggeredSend> sends = nested_matcher.Match(interaction, nullptr);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].request.variables().at("region"), "KR");
}

TEST(TriggerMatcherTest, RepeatedFieldsMatchAnyElement) {
  v1::TriggerRule rule = Rule("sms-first");
  rule.set_change_kinds(0, context::CHANGE_KIND_CONTACT_PREFERENCES_UPDATED);
  rule.set_filter("contact_preferences.channel_order:SMS");
  v1::TriggerRule merged = Rule("merged-c9");
  merged.set_change_kinds(0, context::CHANGE_KIND_CUSTOMERS_MERGED);
  merged.set_filter("merge_record.merged_customers:\"customers/c9\"");
  const TriggerMatcher matcher({rule, merged});
  context::ChangeEvent event;
  event.set_kind(context::CHANGE_KIND_CONTACT_PREFERENCES_UPDATED);
  event.set_customer("customers/c1");
  event.mutable_contact_preferences()->add_channel_order(cxp::type::v1::CHANNEL_EMAIL);
  EXPECT_THAT(matcher.Match(event, nullptr), IsEmpty());
  event.mutable_contact_preferences()->add_channel_order(cxp::type::v1::CHANNEL_SMS);
  EXPECT_THAT(RulesOf(matcher.Match(event, nullptr)), ElementsAre("triggerRules/sms-first"));

  event.set_kind(context::CHANGE_KIND_CUSTOMERS_MERGED);
  event.mutable_merge_record()->add_merged_customers("customers/c8");
  EXPECT_THAT(matcher.Match(event, nullptr), IsEmpty());
  event.mutable_merge_record()->add_merged_customers("customers/c9");
  EXPECT_THAT(RulesOf(matcher.Match(event, nullptr)), ElementsAre("triggerRules/merged-c9"));
}

}  // namespace
}  // namespace cxp::notify
