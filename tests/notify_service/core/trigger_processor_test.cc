// TriggerProcessor on a real RocksDB in a temp dir with a fake clock: change
// events through trigger rules into notifications, exactly once across
// replays and restarts, cooldowns kept in the store, history before a rule
// ignored, refused sends passed, profiles looked up only when a rule reads
// them.
#include "notify_service/core/trigger_processor.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/notify_service/core/notify_store_fixture.h"

namespace cxp::notify {
namespace {

namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kTenant[] = "acme";
const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

google::protobuf::Timestamp Ts(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

// A missed-delivery journey of `customer` moved from `from` to `to` at `at`.
ctx::ChangeEvent Advanced(int64_t sequence, const std::string& customer, const std::string& from,
                          const std::string& to, absl::Time at) {
  ctx::ChangeEvent event;
  event.set_sequence(sequence);
  event.set_kind(ctx::CHANGE_KIND_JOURNEY_ADVANCED);
  event.set_customer(customer);
  *event.mutable_change_time() = Ts(at);
  ctx::Journey& journey = *event.mutable_journey();
  journey.set_name(customer + "/journeys/j1");
  journey.set_type("missed_delivery");
  journey.set_step(to);
  journey.set_state(ctx::Journey::STATE_OPEN);
  journey.add_transitions()->set_step(from);
  journey.add_transitions()->set_step(to);
  return event;
}

// A customer with a phone number and nothing consented (service messages go
// unless denied).
TriggerCustomer WithPhone(const std::string& name) {
  ctx::CustomerContext context;
  ctx::Customer& customer = *context.mutable_customer();
  customer.set_name(name);
  customer.set_display_name("Kim");
  customer.set_tier("gold");
  ctx::CustomerIdentity& phone = *customer.add_identities();
  phone.mutable_identity()->set_kind(type::IDENTITY_KIND_PHONE);
  phone.mutable_identity()->set_value("+821012345678");
  TriggerCustomer result;
  result.view = CustomerView::FromContext(context);
  result.profile = customer;
  return result;
}

class TriggerProcessorTest : public testing::NotifyStoreFixture {
 protected:
  void SetUp() override {
    Open();
    v1::CreateTemplateRequest request;
    request.set_template_id("rescheduled");
    request.mutable_template_()->set_display_name("Parcel rescheduled");
    request.mutable_template_()->add_locales()->mutable_sms()->set_text(
        "Your parcel: {{step}}, {{tier}}");
    v1::CreateTemplateResponse response;
    ASSERT_TRUE(config_->CreateTemplate(kTenant, request, response).ok());
  }

  void Open() {
    OpenStore();
    NotifyCoreOptions options;
    options.clock = [this] { return now_; };
    auto core = NotifyCore::Create(*store_, std::move(options));
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
    config_ = std::make_unique<NotifyConfigCore>(
        *store_, NotifyConfigCoreOptions{.clock = [this] { return now_; },
                                         .page_token_key = std::string(32, 'k')});
    processor_ = std::make_unique<TriggerProcessor>(
        *core_, *config_, *store_, [this](absl::string_view level, absl::string_view message) {
          logged_.push_back(absl::StrCat(level, ": ", message));
        });
  }

  // As after a crash: the same data directory, new process state.
  void Restart() {
    processor_.reset();
    config_.reset();
    core_.reset();
    CloseStore();
    Open();
  }

  // Sends template "rescheduled" when a missed delivery moves to
  // "rescheduled"; its tier variable reads the profile.
  void CreateRule(absl::Duration cooldown = absl::ZeroDuration()) {
    v1::CreateTriggerRuleRequest request;
    request.set_trigger_rule_id("rescheduled");
    v1::TriggerRule& rule = *request.mutable_trigger_rule();
    rule.set_display_name("Parcel rescheduled");
    rule.add_change_kinds(ctx::CHANGE_KIND_JOURNEY_ADVANCED);
    rule.set_filter("journey.type = \"missed_delivery\" AND journey.step = \"rescheduled\"");
    rule.set_template_("templates/rescheduled");
    rule.set_purpose(type::PURPOSE_SERVICE);
    (*rule.mutable_variables())["step"] = "journey.step";
    (*rule.mutable_variables())["tier"] = "customer.tier";
    if (cooldown > absl::ZeroDuration()) {
      rule.mutable_cooldown()->set_seconds(absl::ToInt64Seconds(cooldown));
    }
    rule.set_enabled(true);
    v1::CreateTriggerRuleResponse response;
    const absl::Status status = config_->CreateTriggerRule(kTenant, request, response);
    ASSERT_TRUE(status.ok()) << status;
  }

  absl::StatusOr<TriggerOutcome> Process(const std::vector<ctx::ChangeEvent>& events) {
    return processor_->Process(kTenant, events, [this](const std::string& customer) {
      looked_up_.push_back(customer);
      return customers_.count(customer) > 0 ? customers_.at(customer) : TriggerCustomer();
    });
  }

  std::vector<v1::Notification> Notifications() {
    v1::ListNotificationsRequest request;
    request.set_page_size(100);
    v1::ListNotificationsResponse response;
    EXPECT_TRUE(core_->ListNotifications(kTenant, request, response).ok());
    return {response.notifications().begin(), response.notifications().end()};
  }

  int64_t Position() {
    absl::StatusOr<int64_t> after = processor_->ResumeAfter(kTenant);
    EXPECT_TRUE(after.ok()) << after.status();
    return after.value_or(-1);
  }

  absl::Time now_ = kStart;
  std::unique_ptr<NotifyCore> core_;
  std::unique_ptr<NotifyConfigCore> config_;
  std::unique_ptr<TriggerProcessor> processor_;
  std::map<std::string, TriggerCustomer> customers_ = {
      {"customers/kim", WithPhone("customers/kim")}, {"customers/lee", WithPhone("customers/lee")}};
  std::vector<std::string> looked_up_;
  std::vector<std::string> logged_;
};

TEST_F(TriggerProcessorTest, AMatchingChangeSendsOnceAndMovesThePosition) {
  CreateRule();
  EXPECT_EQ(Position(), 0);
  now_ += absl::Minutes(1);
  absl::StatusOr<TriggerOutcome> outcome =
      Process({Advanced(7, "customers/kim", "created", "in_transit", now_),
               Advanced(8, "customers/kim", "in_transit", "rescheduled", now_)});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->sent, 1);
  EXPECT_EQ(outcome->refused, 0);
  EXPECT_EQ(Position(), 8);

  const std::vector<v1::Notification> sent = Notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].trigger_rule(), "triggerRules/rescheduled");
  EXPECT_EQ(sent[0].idempotency_key(), "trigger:rescheduled:8");
  EXPECT_EQ(sent[0].resolved_customer(), "customers/kim");
  EXPECT_EQ(sent[0].variables().at("step"), "rescheduled");
  EXPECT_EQ(sent[0].variables().at("tier"), "gold");  // from the looked-up profile
  EXPECT_EQ(sent[0].state(), v1::Notification::STATE_QUEUED);
  // The profile was needed (customer.tier), and looked up once per event.
  EXPECT_THAT(looked_up_, ElementsAre("customers/kim", "customers/kim"));
}

TEST_F(TriggerProcessorTest, EventsDeliveredAgainAfterACrashSendNothingNew) {
  CreateRule();
  now_ += absl::Minutes(1);
  const std::vector<ctx::ChangeEvent> events = {
      Advanced(3, "customers/kim", "in_transit", "rescheduled", now_),
      Advanced(4, "customers/lee", "in_transit", "rescheduled", now_)};
  ASSERT_TRUE(Process(events).ok());
  ASSERT_EQ(Notifications().size(), 2u);

  // The sends were written but the position was not (a crash in between):
  // the stream delivers the same events again after the restart.
  Restart();
  EXPECT_EQ(Position(), 4);
  absl::StatusOr<TriggerOutcome> again = Process(events);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->sent, 2);  // found by their idempotency keys
  EXPECT_EQ(Notifications().size(), 2u);
}

TEST_F(TriggerProcessorTest, CooldownsHoldAcrossResponsesAndRestarts) {
  CreateRule(absl::Hours(1));
  now_ += absl::Minutes(1);
  const absl::Time first = now_;
  // Two changes in one response: the second is within the cooldown.
  ASSERT_TRUE(Process({Advanced(1, "customers/kim", "a", "rescheduled", first),
                       Advanced(2, "customers/kim", "b", "rescheduled", first + absl::Minutes(5)),
                       Advanced(3, "customers/lee", "a", "rescheduled", first)})
                  .ok());
  EXPECT_EQ(Notifications().size(), 2u);  // kim once, lee once

  Restart();
  ASSERT_TRUE(
      Process({Advanced(4, "customers/kim", "c", "rescheduled", first + absl::Minutes(30))}).ok());
  EXPECT_EQ(Notifications().size(), 2u);
  ASSERT_TRUE(
      Process({Advanced(5, "customers/kim", "d", "rescheduled", first + absl::Minutes(61))}).ok());
  std::vector<std::string> keys;
  for (const v1::Notification& sent : Notifications()) keys.push_back(sent.idempotency_key());
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre(
                        "trigger:rescheduled:1", "trigger:rescheduled:3", "trigger:rescheduled:5"));
}

TEST_F(TriggerProcessorTest, ChangesMadeBeforeTheRuleExistedDoNotFire) {
  const absl::Time before_rule = now_;
  now_ += absl::Minutes(1);
  CreateRule();
  ASSERT_TRUE(Process({Advanced(10, "customers/kim", "a", "rescheduled", before_rule),
                       Advanced(11, "customers/lee", "a", "rescheduled", now_)})
                  .ok());
  const std::vector<v1::Notification> sent = Notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].resolved_customer(), "customers/lee");
  EXPECT_EQ(Position(), 11);
}

TEST_F(TriggerProcessorTest, RefusedSendsAreLoggedAndPassed) {
  CreateRule();
  now_ += absl::Minutes(1);
  // No phone number: no channel may be used for the SMS template.
  TriggerCustomer no_phone = WithPhone("customers/kim");
  no_phone.view.recipient.customer.clear_identities();
  customers_["customers/kim"] = no_phone;
  absl::StatusOr<TriggerOutcome> outcome =
      Process({Advanced(20, "customers/kim", "a", "rescheduled", now_)});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->sent, 0);
  EXPECT_EQ(outcome->refused, 1);
  EXPECT_THAT(Notifications(), IsEmpty());
  EXPECT_EQ(Position(), 20);
  ASSERT_EQ(logged_.size(), 1u);
  EXPECT_THAT(logged_[0], HasSubstr("triggerRules/rescheduled did not send for change 20"));
  EXPECT_THAT(logged_[0], HasSubstr("FAILED_PRECONDITION"));
}

TEST_F(TriggerProcessorTest, WithoutAnAnswerTheSendIsAcceptedAndJudgedAtDelivery) {
  CreateRule();
  now_ += absl::Minutes(1);
  customers_.erase("customers/kim");  // lookups give no answer
  absl::StatusOr<TriggerOutcome> outcome =
      Process({Advanced(30, "customers/kim", "a", "rescheduled", now_)});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->sent, 1);
  const std::vector<v1::Notification> sent = Notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].variables().at("tier"), "");  // profile unknown
  EXPECT_EQ(sent[0].state(), v1::Notification::STATE_QUEUED);
}

TEST_F(TriggerProcessorTest, WithoutRulesThePositionStillMoves) {
  ASSERT_TRUE(Process({Advanced(40, "customers/kim", "a", "rescheduled", now_)}).ok());
  EXPECT_EQ(Position(), 40);
  EXPECT_THAT(looked_up_, IsEmpty());
}

}  // namespace
}  // namespace cxp::notify
