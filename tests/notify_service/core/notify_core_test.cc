// NotifyCore on a real RocksDB in a temp dir with a fake clock and a fixed
// jitter: sending (idempotency, replace keys, schedules, expiry, quiet
// hours, frequency caps, channel choice), reads, cancel, redrive, the
// dispatcher's steps (lease, attempts, backoff, fallback, dead letters) and
// delivery receipts.
#include "notify_service/core/notify_core.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/notify_service/core/notify_store_fixture.h"

namespace cxp::notify {
namespace {

namespace v1 = ::cxp::notify::v1;
namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Attempt = v1::DeliveryAttempt;
using State = v1::Notification;

constexpr char kTenant[] = "acme";

absl::Time Seoul(int day, int hour, int minute = 0) {
  absl::TimeZone seoul;
  EXPECT_TRUE(absl::LoadTimeZone("Asia/Seoul", &seoul));
  return absl::FromCivil(absl::CivilMinute(2026, 12, day, hour, minute), seoul);
}

google::protobuf::Timestamp Ts(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(timestamp));
}

// Email and SMS in the default locale, SMS in Korean; version 1 differs.
v1::Template Reminder(int64_t version) {
  v1::Template tmpl;
  tmpl.set_name("templates/reminder");
  tmpl.set_display_name("Reminder");
  tmpl.set_version(version);
  v1::TemplateLocale& fallback = *tmpl.add_locales();
  fallback.mutable_email()->set_subject("Reminder for {{customer.display_name}}");
  fallback.mutable_email()->set_text_body("Your appointment is on {{date}}.");
  fallback.mutable_sms()->set_text(version == 1 ? "Old {{date}}" : "Appointment {{date}}");
  v1::TemplateLocale& korean = *tmpl.add_locales();
  korean.set_language_code("ko");
  korean.mutable_sms()->set_text("{{date}} 예약 알림");
  return tmpl;
}

ctx::ConsentEntry Consent(type::Channel channel, type::Purpose purpose, ctx::ConsentState state,
                          absl::Time at) {
  ctx::ConsentEntry entry;
  entry.set_channel(channel);
  entry.set_purpose(purpose);
  entry.set_state(state);
  *entry.mutable_update_time() = Ts(at);
  return entry;
}

// customers/kim: email and phone, Korean, in Seoul, no consent entries.
CustomerView Kim() {
  ctx::CustomerContext context;
  ctx::Customer& customer = *context.mutable_customer();
  customer.set_name("customers/kim");
  customer.set_display_name("Kim");
  customer.set_language_code("ko-KR");
  customer.set_time_zone("Asia/Seoul");
  ctx::CustomerIdentity& email = *customer.add_identities();
  email.mutable_identity()->set_kind(type::IDENTITY_KIND_EMAIL);
  email.mutable_identity()->set_value("kim@example.com");
  ctx::CustomerIdentity& phone = *customer.add_identities();
  phone.mutable_identity()->set_kind(type::IDENTITY_KIND_PHONE);
  phone.mutable_identity()->set_value("+821012345678");
  return CustomerView::FromContext(context);
}

// Quiet 22:00-07:00 every day.
void AddNightQuietHours(CustomerView& view) {
  type::WeeklyTimeWindow& window = *view.preferences.add_quiet_hours();
  for (int day = type::DAY_OF_WEEK_MONDAY; day <= type::DAY_OF_WEEK_SUNDAY; ++day) {
    window.add_days(static_cast<type::DayOfWeek>(day));
  }
  window.mutable_start_time()->set_hours(22);
  window.mutable_end_time()->set_hours(7);
}

v1::SendNotificationRequest ReminderTo(const std::string& customer,
                                       type::Purpose purpose = type::PURPOSE_SERVICE) {
  v1::SendNotificationRequest request;
  request.mutable_customer()->set_customer(customer);
  request.set_template_("templates/reminder");
  request.set_purpose(purpose);
  (*request.mutable_variables())["date"] = "12-24";
  return request;
}

class NotifyCoreTest : public testing::NotifyStoreFixture {
 protected:
  void SetUp() override {
    Open();
    NotifyStore::Batch batch = store_->NewBatch();
    batch.PutTemplate(kTenant, Reminder(1));
    batch.PutTemplate(kTenant, Reminder(2));
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  void Open() {
    OpenStore();
    NotifyCoreOptions options = options_;
    options.clock = [this] { return now_; };
    // Half of the full-jitter range: retries after 1s, 2s, 4s, ...
    options.backoff_random = [] { return 0.5; };
    auto core = NotifyCore::Create(*store_, std::move(options));
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  // As after a crash: the same data directory, new process state.
  void Restart() {
    core_.reset();
    CloseStore();
    Open();
  }

  absl::StatusOr<v1::Notification> Send(const v1::SendNotificationRequest& request,
                                        const CustomerView& view = Kim()) {
    v1::SendNotificationResponse response;
    absl::Status status = core_->SendNotification(kTenant, request, view, response);
    if (!status.ok()) return status;
    return response.notification();
  }

  v1::Notification MustSend(const v1::SendNotificationRequest& request,
                            const CustomerView& view = Kim()) {
    absl::StatusOr<v1::Notification> sent = Send(request, view);
    EXPECT_TRUE(sent.ok()) << sent.status();
    return sent.ok() ? *sent : v1::Notification();
  }

  v1::Notification Get(const std::string& name) {
    v1::GetNotificationRequest request;
    request.set_name(name);
    v1::GetNotificationResponse response;
    absl::Status status = core_->GetNotification(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    return response.notification();
  }

  std::vector<Claim> ClaimAll() {
    absl::StatusOr<std::vector<Claim>> claims = core_->ClaimDue(kTenant, 100);
    EXPECT_TRUE(claims.ok()) << claims.status();
    return claims.ok() ? *claims : std::vector<Claim>();
  }

  Claim ClaimOne() {
    std::vector<Claim> claims = ClaimAll();
    EXPECT_EQ(claims.size(), 1u);
    return claims.empty() ? Claim() : claims.front();
  }

  DeliveryOrder Begin(const Claim& claim, const CustomerView& view = Kim()) {
    absl::StatusOr<DeliveryOrder> order = core_->BeginAttempt(kTenant, claim, view);
    EXPECT_TRUE(order.ok()) << order.status();
    return order.ok() ? *order : DeliveryOrder();
  }

  DeliveryOrder Record(const DeliveryOrder& order, delivery::DeliveryResult result,
                       bool receipts = false, const CustomerView& view = Kim()) {
    absl::StatusOr<DeliveryOrder> next = core_->RecordAttempt(
        kTenant, order,
        {.provider = order.target.channel == type::CHANNEL_EMAIL ? "smtp" : "sms-a",
         .result = std::move(result),
         .provider_sends_receipts = receipts},
        view);
    EXPECT_TRUE(next.ok()) << next.status();
    return next.ok() ? *next : DeliveryOrder();
  }

  std::vector<std::string> ListNames(const std::string& filter) {
    v1::ListNotificationsRequest request;
    request.set_filter(filter);
    v1::ListNotificationsResponse response;
    absl::Status status = core_->ListNotifications(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    std::vector<std::string> names;
    for (const v1::Notification& n : response.notifications()) names.push_back(n.name());
    return names;
  }

  std::optional<absl::Time> NextDue() {
    auto due = core_->NextDue(kTenant);
    EXPECT_TRUE(due.ok()) << due.status();
    return due.ok() ? *due : std::nullopt;
  }

  absl::Time now_ = Seoul(2, 12);  // Wednesday noon in Seoul
  NotifyCoreOptions options_;
  std::unique_ptr<NotifyCore> core_;
};

// ---- sending ----

TEST_F(NotifyCoreTest, SendQueuesWithTheTemplateVersionAndADurableOutboxRow) {
  const v1::Notification sent = MustSend(ReminderTo("customers/kim"));
  EXPECT_THAT(sent.name(), HasSubstr("notifications/"));
  EXPECT_EQ(sent.state(), State::STATE_QUEUED);
  EXPECT_EQ(sent.template_version(), 2);
  EXPECT_EQ(sent.resolved_customer(), "customers/kim");
  // No request order, no preference: the template's channels.
  EXPECT_THAT(sent.channel_order(), ElementsAre(type::CHANNEL_EMAIL, type::CHANNEL_SMS));
  EXPECT_EQ(ToTime(sent.send_time()), now_);
  EXPECT_EQ(ToTime(sent.expire_time()), now_ + absl::Hours(24 * 7));
  EXPECT_EQ(NextDue(), now_);

  // A pinned version is recorded as asked.
  v1::SendNotificationRequest pinned = ReminderTo("customers/kim");
  pinned.set_template_version(1);
  EXPECT_EQ(MustSend(pinned).template_version(), 1);

  Restart();
  const v1::Notification stored = Get(sent.name());
  EXPECT_EQ(stored.state(), State::STATE_QUEUED);
  EXPECT_EQ(NextDue(), now_);
}

TEST_F(NotifyCoreTest, BadRequestsAreRefusedNamingTheFieldAndWriteNothing) {
  v1::SendNotificationRequest no_customer = ReminderTo("customers/kim");
  no_customer.clear_customer();
  EXPECT_THAT(Send(no_customer).status().message(), HasSubstr("customer: must be set"));

  v1::SendNotificationRequest bad_template = ReminderTo("customers/kim");
  bad_template.set_template_("reminder");
  EXPECT_THAT(Send(bad_template).status().message(), HasSubstr("template: must be"));

  v1::SendNotificationRequest no_purpose = ReminderTo("customers/kim");
  no_purpose.clear_purpose();
  EXPECT_THAT(Send(no_purpose).status().message(), HasSubstr("purpose:"));

  v1::SendNotificationRequest repeated = ReminderTo("customers/kim");
  repeated.add_channel_order(type::CHANNEL_SMS);
  repeated.add_channel_order(type::CHANNEL_SMS);
  EXPECT_THAT(Send(repeated).status().message(), HasSubstr("channel_order[1]: repeats"));

  v1::SendNotificationRequest far = ReminderTo("customers/kim");
  *far.mutable_send_time() = Ts(now_ + absl::Hours(24 * 31));
  EXPECT_THAT(Send(far).status().message(), HasSubstr("send_time: must be at most"));

  v1::SendNotificationRequest backwards = ReminderTo("customers/kim");
  *backwards.mutable_send_time() = Ts(now_ + absl::Hours(2));
  *backwards.mutable_expire_time() = Ts(now_ + absl::Hours(1));
  EXPECT_THAT(Send(backwards).status().message(), HasSubstr("expire_time: must be after"));

  for (const auto* request :
       {&no_customer, &bad_template, &no_purpose, &repeated, &far, &backwards}) {
    EXPECT_EQ(Send(*request).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ListNames("").empty());
  EXPECT_EQ(NextDue(), std::nullopt);
}

TEST_F(NotifyCoreTest, MissingVariablesAreNamed) {
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  request.clear_variables();
  const absl::Status status = Send(request).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("variables: missing date"));
  EXPECT_TRUE(ListNames("").empty());
}

TEST_F(NotifyCoreTest, UnknownTemplateOrVersionIsNotFound) {
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  request.set_template_("templates/nope");
  EXPECT_EQ(Send(request).status(), absl::NotFoundError("template: templates/nope does not exist"));
  request = ReminderTo("customers/kim");
  request.set_template_version(7);
  EXPECT_EQ(Send(request).status(),
            absl::NotFoundError("template_version: templates/reminder has no version 7"));
}

TEST_F(NotifyCoreTest, ChannelOrderIsTheRequestsElseThePreferenceElseTheTemplates) {
  v1::SendNotificationRequest ordered = ReminderTo("customers/kim");
  ordered.add_channel_order(type::CHANNEL_SMS);
  EXPECT_THAT(MustSend(ordered).channel_order(), ElementsAre(type::CHANNEL_SMS));

  CustomerView prefers_sms = Kim();
  prefers_sms.recipient.preferred_order = {type::CHANNEL_SMS, type::CHANNEL_EMAIL};
  EXPECT_THAT(MustSend(ReminderTo("customers/kim"), prefers_sms).channel_order(),
              ElementsAre(type::CHANNEL_SMS, type::CHANNEL_EMAIL));

  EXPECT_THAT(MustSend(ReminderTo("customers/kim")).channel_order(),
              ElementsAre(type::CHANNEL_EMAIL, type::CHANNEL_SMS));
}

TEST_F(NotifyCoreTest, NoAllowedChannelIsAFailedPreconditionSayingWhyForEach) {
  // Marketing needs a grant; there is none for email, and push has one
  // but no device.
  CustomerView view = Kim();
  view.recipient.consent.add_entries()->CopyFrom(
      Consent(type::CHANNEL_PUSH, type::PURPOSE_MARKETING, ctx::CONSENT_STATE_GRANTED, now_));
  v1::SendNotificationRequest request = ReminderTo("customers/kim", type::PURPOSE_MARKETING);
  request.add_channel_order(type::CHANNEL_EMAIL);
  request.add_channel_order(type::CHANNEL_PUSH);
  const absl::Status status = Send(request, view).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("customer: no channel may be used"));
  EXPECT_THAT(status.message(), HasSubstr("EMAIL has no consent for MARKETING"));
  EXPECT_THAT(status.message(), HasSubstr("PUSH: the customer has no registered device"));
  EXPECT_TRUE(ListNames("").empty());

  // With a grant, it goes.
  view.recipient.consent.add_entries()->CopyFrom(
      Consent(type::CHANNEL_EMAIL, type::PURPOSE_MARKETING, ctx::CONSENT_STATE_GRANTED, now_));
  EXPECT_EQ(MustSend(request, view).state(), State::STATE_QUEUED);
}

TEST_F(NotifyCoreTest, AnUnansweredContextIsAcceptedAndJudgedAtDelivery) {
  const v1::Notification sent = MustSend(ReminderTo("customers/kim"), CustomerView::Unanswered());
  EXPECT_EQ(sent.state(), State::STATE_QUEUED);
  EXPECT_EQ(sent.resolved_customer(), "customers/kim");
  EXPECT_TRUE(sent.channel_order().empty());  // settled with the preferences at delivery

  // Still no answer at delivery: it waits, no attempt counted.
  const DeliveryOrder waiting = Begin(ClaimOne(), CustomerView::Unanswered());
  EXPECT_FALSE(waiting.send);
  EXPECT_EQ(waiting.notification.state(), State::STATE_QUEUED);
  EXPECT_EQ(waiting.notification.attempts_size(), 0);
  EXPECT_TRUE(ClaimAll().empty());
  now_ += absl::Minutes(1);

  CustomerView prefers_sms = Kim();
  prefers_sms.recipient.preferred_order = {type::CHANNEL_SMS};
  const DeliveryOrder order = Begin(ClaimOne(), prefers_sms);
  ASSERT_TRUE(order.send);
  EXPECT_EQ(order.target.channel, type::CHANNEL_SMS);
  EXPECT_EQ(order.target.address, "+821012345678");
  const DeliveryOrder done = Record(order, delivery::DeliveryResult::Delivered("SM1", "HTTP 201"));
  EXPECT_EQ(done.notification.state(), State::STATE_DELIVERED);
  EXPECT_THAT(Get(sent.name()).channel_order(), ElementsAre(type::CHANNEL_SMS));
}

TEST_F(NotifyCoreTest, AnIdentityThatMatchedNoCustomerIsStillARecipient) {
  type::Identity phone;
  phone.set_kind(type::IDENTITY_KIND_PHONE);
  phone.set_value("+821099998888");
  v1::SendNotificationRequest request = ReminderTo("");
  *request.mutable_customer()->mutable_identity() = phone;
  const CustomerView unknown = CustomerView::ForUnmatchedIdentity(phone);
  // Only SMS can reach it; the email's {{customer.display_name}} is not
  // asked for.
  const v1::Notification sent = MustSend(request, unknown);
  EXPECT_EQ(sent.resolved_customer(), "");
  EXPECT_THAT(sent.channel_order(), ElementsAre(type::CHANNEL_EMAIL, type::CHANNEL_SMS));
  const DeliveryOrder order = Begin(ClaimOne(), unknown);
  ASSERT_TRUE(order.send);
  EXPECT_EQ(order.target.address, "+821099998888");
  EXPECT_EQ(std::get<v1::SmsContent>(order.content.content).text(), "Appointment 12-24");
  ASSERT_EQ(order.skipped.size(), 1u);
  EXPECT_EQ(order.skipped[0].error_code(), "NO_ADDRESS");
  // Consent counts as unset: marketing has no grant.
  request.set_purpose(type::PURPOSE_MARKETING);
  EXPECT_EQ(Send(request, unknown).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(NotifyCoreTest, AnIdempotencyKeyReturnsTheFirstNotificationAndWritesNothing) {
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  request.set_idempotency_key("order-42-shipped");
  const v1::Notification first = MustSend(request);
  now_ += absl::Hours(1);
  (*request.mutable_variables())["date"] = "12-25";  // other fields may differ
  const v1::Notification again = MustSend(request);
  EXPECT_EQ(again.name(), first.name());
  EXPECT_EQ(again.variables().at("date"), "12-24");
  EXPECT_EQ(ListNames("").size(), 1u);

  // After 24 hours the key is free again.
  now_ += absl::Hours(24);
  EXPECT_NE(MustSend(request).name(), first.name());
  EXPECT_EQ(ListNames("").size(), 2u);
}

TEST_F(NotifyCoreTest, AReplaceKeyReplacesThePendingNotification) {
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  request.set_replace_key("appointment:123");
  *request.mutable_send_time() = Ts(now_ + absl::Hours(1));
  const v1::Notification older = MustSend(request);
  now_ += absl::Minutes(5);
  const v1::Notification newer = MustSend(request);

  const v1::Notification replaced = Get(older.name());
  EXPECT_EQ(replaced.state(), State::STATE_REPLACED);
  EXPECT_EQ(replaced.state_reason(), "REPLACED_BY:" + newer.name());
  EXPECT_EQ(Get(newer.name()).state(), State::STATE_SCHEDULED);
  // Only the newer one is ever sent.
  now_ += absl::Hours(1);
  EXPECT_EQ(ClaimOne().notification.name(), newer.name());

  // Another customer's key of the same text is another key.
  v1::SendNotificationRequest lee = ReminderTo("customers/lee");
  lee.set_replace_key("appointment:123");
  CustomerView lee_view = Kim();
  lee_view.recipient.customer.set_name("customers/lee");
  MustSend(lee, lee_view);
  EXPECT_EQ(Get(newer.name()).state(), State::STATE_SENDING);
}

TEST_F(NotifyCoreTest, ASentNotificationIsNotReplaced) {
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  request.set_replace_key("eta:order-7");
  const v1::Notification first = MustSend(request);
  const DeliveryOrder order = Begin(ClaimOne());
  Record(order, delivery::DeliveryResult::Delivered("", "250 OK"));
  const v1::Notification second = MustSend(request);
  EXPECT_EQ(Get(first.name()).state(), State::STATE_DELIVERED);
  EXPECT_EQ(second.state(), State::STATE_QUEUED);
}

TEST_F(NotifyCoreTest, ScheduledNotificationsWaitAndExpireWhenTheirTimePasses) {
  v1::SendNotificationRequest later = ReminderTo("customers/kim");
  *later.mutable_send_time() = Ts(now_ + absl::Hours(2));
  const v1::Notification scheduled = MustSend(later);
  EXPECT_EQ(scheduled.state(), State::STATE_SCHEDULED);
  EXPECT_EQ(NextDue(), now_ + absl::Hours(2));
  EXPECT_TRUE(ClaimAll().empty());
  now_ += absl::Hours(2);
  const Claim claim = ClaimOne();
  EXPECT_EQ(claim.notification.name(), scheduled.name());
  Record(Begin(claim), delivery::DeliveryResult::Delivered("m1", "250 OK"));

  // Held past its expiry (quiet hours end after expire_time): EXPIRED.
  CustomerView quiet = Kim();
  AddNightQuietHours(quiet);
  now_ = Seoul(2, 23);
  v1::SendNotificationRequest brief = ReminderTo("customers/kim");
  *brief.mutable_expire_time() = Ts(now_ + absl::Hours(1));
  const v1::Notification held = MustSend(brief, quiet);
  EXPECT_EQ(held.state(), State::STATE_HELD_QUIET_HOURS);
  EXPECT_EQ(NextDue(), now_ + absl::Hours(1));  // the expiry comes first
  now_ += absl::Hours(1);
  EXPECT_TRUE(ClaimAll().empty());
  EXPECT_EQ(Get(held.name()).state(), State::STATE_EXPIRED);
}

TEST_F(NotifyCoreTest, QuietHoursHoldUntilTheWindowOpensUnlessATransactionalBypass) {
  CustomerView quiet = Kim();
  AddNightQuietHours(quiet);
  now_ = Seoul(2, 23);
  const v1::Notification held = MustSend(ReminderTo("customers/kim"), quiet);
  EXPECT_EQ(held.state(), State::STATE_HELD_QUIET_HOURS);
  EXPECT_EQ(ToTime(held.send_time()), Seoul(3, 7));

  now_ = Seoul(3, 6, 59);
  EXPECT_TRUE(ClaimAll().empty());
  now_ = Seoul(3, 7);
  EXPECT_EQ(ClaimOne().notification.name(), held.name());

  // A template that allows the bypass: transactional goes at once, service
  // still waits.
  v1::Template urgent = Reminder(3);
  urgent.set_allow_quiet_hours_bypass(true);
  NotifyStore::Batch batch = store_->NewBatch();
  batch.PutTemplate(kTenant, urgent);
  ASSERT_TRUE(store_->Commit(batch).ok());
  now_ = Seoul(3, 1);
  EXPECT_EQ(MustSend(ReminderTo("customers/kim", type::PURPOSE_TRANSACTIONAL), quiet).state(),
            State::STATE_QUEUED);
  EXPECT_EQ(MustSend(ReminderTo("customers/kim", type::PURPOSE_SERVICE), quiet).state(),
            State::STATE_HELD_QUIET_HOURS);
}

TEST_F(NotifyCoreTest, QuietHoursAreCheckedAgainAtDelivery) {
  const v1::Notification sent = MustSend(ReminderTo("customers/kim"));
  const Claim claim = ClaimOne();
  // The customer set quiet hours meanwhile, and it is night now.
  CustomerView quiet = Kim();
  AddNightQuietHours(quiet);
  now_ = Seoul(2, 22, 30);
  const DeliveryOrder order = Begin(claim, quiet);
  EXPECT_FALSE(order.send);
  EXPECT_EQ(order.notification.state(), State::STATE_HELD_QUIET_HOURS);
  EXPECT_EQ(NextDue(), Seoul(3, 7));
  EXPECT_EQ(Get(sent.name()).state(), State::STATE_HELD_QUIET_HOURS);
}

TEST_F(NotifyCoreTest, FrequencyCapsDeferOrDropByPolicy) {
  options_.default_frequency_policy[type::PURPOSE_SERVICE] = {
      .max_sends = 2, .window = absl::Hours(24), .action = FrequencyCap::Action::kDefer};
  options_.frequency_policies["globex"][type::PURPOSE_SERVICE] = {
      .max_sends = 1, .window = absl::Hours(24), .action = FrequencyCap::Action::kDrop};
  Restart();
  const absl::Time first = now_;
  MustSend(ReminderTo("customers/kim"));
  now_ += absl::Hours(1);
  MustSend(ReminderTo("customers/kim"));
  now_ += absl::Hours(1);
  const v1::Notification third = MustSend(ReminderTo("customers/kim"));
  EXPECT_EQ(third.state(), State::STATE_SCHEDULED);
  EXPECT_EQ(ToTime(third.send_time()), first + absl::Hours(24));
  // Other purposes and other customers are not capped.
  EXPECT_EQ(MustSend(ReminderTo("customers/kim", type::PURPOSE_TRANSACTIONAL)).state(),
            State::STATE_QUEUED);

  // globex drops what is over its cap.
  NotifyStore::Batch batch = store_->NewBatch();
  batch.PutTemplate("globex", Reminder(1));
  ASSERT_TRUE(store_->Commit(batch).ok());
  std::vector<v1::Notification> globex;
  for (int i = 0; i < 2; ++i) {
    v1::SendNotificationResponse response;
    absl::Status status =
        core_->SendNotification("globex", ReminderTo("customers/kim"), Kim(), response);
    ASSERT_TRUE(status.ok()) << status;
    globex.push_back(response.notification());
  }
  EXPECT_EQ(globex[0].state(), State::STATE_QUEUED);
  EXPECT_EQ(globex[1].state(), State::STATE_FAILED);
  EXPECT_EQ(globex[1].state_reason(), "FREQUENCY_CAPPED");
  auto claims = core_->ClaimDue("globex", 10);
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_EQ(claims->size(), 1u);
  EXPECT_EQ(claims->front().notification.name(), globex[0].name());
}

TEST_F(NotifyCoreTest, BatchSendGivesEachRequestItsOwnOutcome) {
  v1::BatchSendNotificationsRequest request;
  *request.add_requests() = ReminderTo("customers/kim");
  *request.add_requests() = ReminderTo("customers/kim");
  request.mutable_requests(1)->clear_variables();
  *request.add_requests() = ReminderTo("customers/lee");
  CustomerView lee = Kim();
  lee.recipient.customer.set_name("customers/lee");
  lee.recipient.customer.clear_identities();  // no address at all
  v1::BatchSendNotificationsResponse response;
  absl::Status status =
      core_->BatchSendNotifications(kTenant, request, {Kim(), Kim(), lee}, response);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(response.outcomes_size(), 3);
  EXPECT_EQ(response.outcomes(0).code(), 0);
  EXPECT_EQ(response.outcomes(0).notification().state(), State::STATE_QUEUED);
  EXPECT_EQ(response.outcomes(1).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(response.outcomes(1).message(), HasSubstr("variables: missing date"));
  EXPECT_FALSE(response.outcomes(1).has_notification());
  EXPECT_EQ(response.outcomes(2).code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ListNames("").size(), 1u);

  v1::BatchSendNotificationsResponse empty;
  EXPECT_THAT(core_->BatchSendNotifications(kTenant, {}, {}, empty).message(),
              HasSubstr("requests: must not be empty"));
  v1::BatchSendNotificationsRequest too_many;
  for (int i = 0; i <= NotifyCore::kMaxBatchSends; ++i)
    *too_many.add_requests() = ReminderTo("customers/kim");
  EXPECT_THAT(core_
                  ->BatchSendNotifications(
                      kTenant, too_many,
                      std::vector<CustomerView>(NotifyCore::kMaxBatchSends + 1, Kim()), empty)
                  .message(),
              HasSubstr("requests: must be at most 100"));
}

TEST_F(NotifyCoreTest, ConcurrentSendsKeepOneNotificationPerKey) {
  constexpr int kThreads = 8;
  std::vector<std::string> idempotent(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      v1::SendNotificationRequest request = ReminderTo("customers/kim");
      request.set_idempotency_key("same-key");
      idempotent[i] = MustSend(request).name();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& name : idempotent) EXPECT_EQ(name, idempotent[0]);

  threads.clear();
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      v1::SendNotificationRequest request = ReminderTo("customers/kim");
      request.set_replace_key("eta");
      *request.mutable_send_time() = Ts(now_ + absl::Hours(1));
      MustSend(request);
    });
  }
  for (std::thread& thread : threads) thread.join();
  // Each newer one replaced the one before: one is left to send.
  EXPECT_EQ(ListNames("state = SCHEDULED").size(), 1u);
  EXPECT_EQ(ListNames("state = REPLACED").size(), static_cast<size_t>(kThreads - 1));
}

// ---- reading and cancelling ----

TEST_F(NotifyCoreTest, ListsFilterByCustomerStateAndTimeAndPage) {
  CustomerView lee = Kim();
  lee.recipient.customer.set_name("customers/lee");
  std::vector<std::string> kims;
  for (int i = 0; i < 5; ++i) {
    kims.push_back(MustSend(ReminderTo("customers/kim")).name());
    now_ += absl::Minutes(1);
    MustSend(ReminderTo("customers/lee"), lee);
    now_ += absl::Minutes(1);
  }
  EXPECT_EQ(ListNames("").size(), 10u);
  EXPECT_THAT(ListNames("resolved_customer = \"customers/kim\""),
              ElementsAre(kims[4], kims[3], kims[2], kims[1], kims[0]));
  const absl::Time third = Seoul(2, 12, 4);
  EXPECT_THAT(ListNames(absl::StrCat(
                  "resolved_customer = \"customers/kim\" AND create_time >= \"",
                  absl::FormatTime(absl::RFC3339_full, third, absl::UTCTimeZone()), "\"")),
              ElementsAre(kims[4], kims[3], kims[2]));

  v1::CancelNotificationRequest cancel;
  cancel.set_name(kims[1]);
  v1::CancelNotificationResponse cancelled;
  ASSERT_TRUE(core_->CancelNotification(kTenant, cancel, cancelled).ok());
  EXPECT_THAT(ListNames("state = CANCELLED"), ElementsAre(kims[1]));

  // Pages of 3 over kim's 5, with the filter bound into the token.
  v1::ListNotificationsRequest request;
  request.set_filter("resolved_customer = \"customers/kim\"");
  request.set_page_size(3);
  v1::ListNotificationsResponse page1;
  ASSERT_TRUE(core_->ListNotifications(kTenant, request, page1).ok());
  ASSERT_EQ(page1.notifications_size(), 3);
  ASSERT_FALSE(page1.next_page_token().empty());
  request.set_page_token(page1.next_page_token());
  v1::ListNotificationsResponse page2;
  ASSERT_TRUE(core_->ListNotifications(kTenant, request, page2).ok());
  ASSERT_EQ(page2.notifications_size(), 2);
  EXPECT_EQ(page2.notifications(1).name(), kims[0]);
  EXPECT_TRUE(page2.next_page_token().empty());
  request.set_filter("state = QUEUED");
  v1::ListNotificationsResponse refused;
  EXPECT_EQ(core_->ListNotifications(kTenant, request, refused).code(),
            absl::StatusCode::kInvalidArgument);
  request.set_page_token("");
  request.set_filter("colour = \"red\"");
  EXPECT_THAT(core_->ListNotifications(kTenant, request, refused).message(),
              HasSubstr("filter: unknown field"));
}

TEST_F(NotifyCoreTest, OnlyPendingNotificationsCanBeCancelled) {
  const v1::Notification sent = MustSend(ReminderTo("customers/kim"));
  v1::CancelNotificationRequest request;
  request.set_name(sent.name());
  v1::CancelNotificationResponse response;
  ASSERT_TRUE(core_->CancelNotification(kTenant, request, response).ok());
  EXPECT_EQ(response.notification().state(), State::STATE_CANCELLED);
  EXPECT_EQ(response.notification().state_reason(), "CANCELLED_BY_CALLER");
  EXPECT_EQ(NextDue(), std::nullopt);  // its outbox row went with it
  EXPECT_TRUE(ClaimAll().empty());

  const absl::Status again = core_->CancelNotification(kTenant, request, response);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.message(), HasSubstr("is CANCELLED"));

  const v1::Notification sending = MustSend(ReminderTo("customers/kim"));
  ClaimOne();
  request.set_name(sending.name());
  EXPECT_THAT(core_->CancelNotification(kTenant, request, response).message(),
              HasSubstr("is SENDING"));
  request.set_name("notifications/nope");
  EXPECT_EQ(core_->CancelNotification(kTenant, request, response).code(),
            absl::StatusCode::kNotFound);
  request.set_name("tasks/x");
  EXPECT_THAT(core_->CancelNotification(kTenant, request, response).message(),
              HasSubstr("name: must be \"notifications/{id}\""));
}

// ---- dispatch ----

TEST_F(NotifyCoreTest, AClaimLeasesRendersAndADeliveryEndsIt) {
  const v1::Notification sent = MustSend(ReminderTo("customers/kim"));
  const Claim claim = ClaimOne();
  EXPECT_EQ(claim.notification.state(), State::STATE_SENDING);
  EXPECT_EQ(claim.lease_until, now_ + absl::Minutes(2));
  EXPECT_EQ(NextDue(), now_ + absl::Minutes(2));  // the lease is the outbox row
  EXPECT_TRUE(ClaimAll().empty());

  const DeliveryOrder order = Begin(claim);
  ASSERT_TRUE(order.send);
  EXPECT_EQ(order.target.channel, type::CHANNEL_EMAIL);
  EXPECT_EQ(order.target.address, "kim@example.com");
  const auto& email = std::get<v1::EmailContent>(order.content.content);
  EXPECT_EQ(email.subject(), "Reminder for Kim");
  EXPECT_EQ(email.text_body(), "Your appointment is on 12-24.");

  now_ += absl::Seconds(3);
  const DeliveryOrder done =
      Record(order, delivery::DeliveryResult::Delivered("<id@mx>", "250 OK"));
  EXPECT_FALSE(done.send);
  const v1::Notification delivered = Get(sent.name());
  EXPECT_EQ(delivered.state(), State::STATE_DELIVERED);
  EXPECT_EQ(delivered.channel(), type::CHANNEL_EMAIL);
  ASSERT_EQ(delivered.attempts_size(), 1);
  const Attempt& attempt = delivered.attempts(0);
  EXPECT_EQ(attempt.channel(), type::CHANNEL_EMAIL);
  EXPECT_EQ(attempt.provider(), "smtp");
  EXPECT_EQ(attempt.provider_message_id(), "<id@mx>");
  EXPECT_EQ(attempt.result(), Attempt::RESULT_SENT);
  EXPECT_EQ(ToTime(attempt.attempt_time()), now_);
  EXPECT_EQ(NextDue(), std::nullopt);

  // A second report of the same claim finds it settled.
  EXPECT_EQ(core_
                ->RecordAttempt(kTenant, order,
                                {.result = delivery::DeliveryResult::Permanent("x")}, Kim())
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(NotifyCoreTest, AnExpiredLeaseIsClaimedAgainAfterACrash) {
  const v1::Notification sent = MustSend(ReminderTo("customers/kim"));
  const Claim first = ClaimOne();
  const DeliveryOrder lost = Begin(first);
  Restart();  // the dispatcher died mid-send
  now_ += absl::Minutes(1);
  EXPECT_TRUE(ClaimAll().empty());  // still leased
  now_ += absl::Minutes(1);
  const Claim second = ClaimOne();
  EXPECT_EQ(second.notification.name(), sent.name());
  // The old worker's report is refused; the new one's counts.
  EXPECT_EQ(core_
                ->RecordAttempt(kTenant, lost,
                                {.result = delivery::DeliveryResult::Delivered("a", "ok")}, Kim())
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  Record(Begin(second), delivery::DeliveryResult::Delivered("b", "ok"));
  const v1::Notification delivered = Get(sent.name());
  EXPECT_EQ(delivered.state(), State::STATE_DELIVERED);
  EXPECT_EQ(delivered.attempts_size(), 1);
}

TEST_F(NotifyCoreTest, TemporaryFailuresBackOffThenFallBackThenDeadLetter) {
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  const v1::Notification sent = MustSend(request);
  // EMAIL fails 5 times: retries after 1s, 2s, 4s, 8s (half the full-jitter
  // range), then SMS at once.
  const absl::Time start = now_;
  std::vector<absl::Time> retries;
  DeliveryOrder order = Begin(ClaimOne());
  for (int attempt = 1; attempt <= 4; ++attempt) {
    ASSERT_EQ(order.target.channel, type::CHANNEL_EMAIL);
    const DeliveryOrder after = Record(order, delivery::DeliveryResult::Transient("SMTP 451"));
    ASSERT_FALSE(after.send);
    ASSERT_EQ(after.notification.state(), State::STATE_QUEUED);
    retries.push_back(ToTime(after.notification.send_time()));
    EXPECT_TRUE(ClaimAll().empty());  // not before its time
    now_ = retries.back();
    order = Begin(ClaimOne());
  }
  EXPECT_EQ(retries[0] - start, absl::Seconds(1));
  EXPECT_EQ(retries[1] - retries[0], absl::Seconds(2));
  EXPECT_EQ(retries[2] - retries[1], absl::Seconds(4));
  EXPECT_EQ(retries[3] - retries[2], absl::Seconds(8));
  ASSERT_EQ(order.target.channel, type::CHANNEL_EMAIL);
  const DeliveryOrder sms = Record(order, delivery::DeliveryResult::Transient("SMTP 451"));
  ASSERT_TRUE(sms.send);  // the same claim moves on
  EXPECT_EQ(sms.target.channel, type::CHANNEL_SMS);
  EXPECT_EQ(sms.content.language_code, "ko");
  EXPECT_EQ(std::get<v1::SmsContent>(sms.content.content).text(), "12-24 예약 알림");

  // SMS refuses for good: no channel left, and EMAIL ran out of retries.
  const DeliveryOrder end = Record(sms, delivery::DeliveryResult::Permanent("HTTP 400"));
  EXPECT_FALSE(end.send);
  EXPECT_EQ(end.notification.state(), State::STATE_DEAD_LETTERED);
  EXPECT_EQ(end.notification.state_reason(), "RETRIES_EXHAUSTED");
  EXPECT_EQ(end.notification.attempts_size(), 6);
  EXPECT_EQ(end.notification.attempts(4).error_message(),
            "SMTP 451; gave up after 5 attempts (max 5)");
  EXPECT_EQ(NextDue(), std::nullopt);

  v1::ListDeadLettersResponse dead;
  ASSERT_TRUE(core_->ListDeadLetters(kTenant, {}, dead).ok());
  ASSERT_EQ(dead.notifications_size(), 1);
  EXPECT_EQ(dead.notifications(0).name(), sent.name());

  // Redriven: QUEUED, history kept, EMAIL gets fresh retries.
  v1::RedriveNotificationRequest redrive;
  redrive.set_name(sent.name());
  v1::RedriveNotificationResponse redriven;
  ASSERT_TRUE(core_->RedriveNotification(kTenant, redrive, redriven).ok());
  EXPECT_EQ(redriven.notification().state(), State::STATE_QUEUED);
  EXPECT_EQ(redriven.notification().state_reason(), "");
  EXPECT_EQ(redriven.notification().attempts_size(), 7);
  dead.Clear();
  ASSERT_TRUE(core_->ListDeadLetters(kTenant, {}, dead).ok());
  EXPECT_EQ(dead.notifications_size(), 0);
  order = Begin(ClaimOne());
  EXPECT_EQ(order.target.channel, type::CHANNEL_EMAIL);
  const DeliveryOrder retry = Record(order, delivery::DeliveryResult::Transient("SMTP 451"));
  EXPECT_EQ(ToTime(retry.notification.send_time()), now_ + absl::Seconds(1));  // the first retry

  // Only DEAD_LETTERED or FAILED can be redriven.
  EXPECT_THAT(core_->RedriveNotification(kTenant, redrive, redriven).message(),
              HasSubstr("is QUEUED"));
}

TEST_F(NotifyCoreTest, DeadLettersListOldestFirstInPages) {
  options_.backoff.max_attempts = 1;  // the first temporary failure gives up
  Restart();
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  request.add_channel_order(type::CHANNEL_EMAIL);
  std::vector<std::string> dead;
  for (int i = 0; i < 3; ++i) {
    dead.push_back(MustSend(request).name());
    const DeliveryOrder end =
        Record(Begin(ClaimOne()), delivery::DeliveryResult::Transient("SMTP 421"));
    ASSERT_EQ(end.notification.state(), State::STATE_DEAD_LETTERED);
    now_ += absl::Minutes(1);
  }
  v1::ListDeadLettersRequest list;
  list.set_page_size(2);
  v1::ListDeadLettersResponse page1;
  ASSERT_TRUE(core_->ListDeadLetters(kTenant, list, page1).ok());
  ASSERT_EQ(page1.notifications_size(), 2);
  EXPECT_EQ(page1.notifications(0).name(), dead[0]);
  EXPECT_EQ(page1.notifications(1).name(), dead[1]);
  list.set_page_token(page1.next_page_token());
  v1::ListDeadLettersResponse page2;
  ASSERT_TRUE(core_->ListDeadLetters(kTenant, list, page2).ok());
  ASSERT_EQ(page2.notifications_size(), 1);
  EXPECT_EQ(page2.notifications(0).name(), dead[2]);
  EXPECT_TRUE(page2.next_page_token().empty());
  // A token of one list does not fit the other.
  v1::ListNotificationsRequest other;
  other.set_page_token(page1.next_page_token());
  v1::ListNotificationsResponse refused;
  EXPECT_EQ(core_->ListNotifications(kTenant, other, refused).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(NotifyCoreTest, RetriesStopAtTheMaximumAgeAndHonourRetryAfter) {
  options_.backoff.max_age = absl::Minutes(10);
  Restart();
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  request.add_channel_order(type::CHANNEL_EMAIL);
  const v1::Notification sent = MustSend(request);
  const DeliveryOrder order = Begin(ClaimOne());
  // Retry-After 5 minutes is a floor for the wait.
  const DeliveryOrder wait =
      Record(order, delivery::DeliveryResult::Transient("HTTP 429", absl::Minutes(5)));
  EXPECT_EQ(ToTime(wait.notification.send_time()), now_ + absl::Minutes(5));
  now_ += absl::Minutes(5);
  // Another 6 minutes would pass the maximum age: dead letter.
  const DeliveryOrder end =
      Record(Begin(ClaimOne()), delivery::DeliveryResult::Transient("HTTP 429", absl::Minutes(6)));
  EXPECT_EQ(end.notification.state(), State::STATE_DEAD_LETTERED);
}

TEST_F(NotifyCoreTest, APermanentFailureFallsBackToTheNextChannelAtOnce) {
  const v1::Notification sent = MustSend(ReminderTo("customers/kim"));
  const DeliveryOrder email = Begin(ClaimOne());
  ASSERT_EQ(email.target.channel, type::CHANNEL_EMAIL);
  const DeliveryOrder sms = Record(email, delivery::DeliveryResult::Permanent("SMTP 550"));
  ASSERT_TRUE(sms.send);
  EXPECT_EQ(sms.target.channel, type::CHANNEL_SMS);
  Record(sms, delivery::DeliveryResult::Delivered("SM9", "HTTP 201"));
  const v1::Notification delivered = Get(sent.name());
  EXPECT_EQ(delivered.state(), State::STATE_DELIVERED);
  ASSERT_EQ(delivered.attempts_size(), 2);
  EXPECT_EQ(delivered.attempts(0).result(), Attempt::RESULT_PERMANENT_FAILURE);
  EXPECT_EQ(delivered.attempts(0).error_message(), "SMTP 550");
  EXPECT_EQ(delivered.attempts(1).channel(), type::CHANNEL_SMS);
  EXPECT_EQ(delivered.channel(), type::CHANNEL_SMS);

  // Permanent failures everywhere: FAILED, not dead-lettered.
  const v1::Notification other = MustSend(ReminderTo("customers/kim"));
  const DeliveryOrder next =
      Record(Begin(ClaimOne()), delivery::DeliveryResult::Permanent("SMTP 550"));
  const DeliveryOrder end = Record(next, delivery::DeliveryResult::Permanent("HTTP 400"));
  EXPECT_EQ(end.notification.name(), other.name());
  EXPECT_EQ(end.notification.state(), State::STATE_FAILED);
  EXPECT_EQ(end.notification.state_reason(), "ALL_CHANNELS_FAILED");
}

TEST_F(NotifyCoreTest, ConsentIsCheckedAgainAtDelivery) {
  const v1::Notification sent = MustSend(ReminderTo("customers/kim"));
  // Email service messages were denied while it waited.
  CustomerView denied_email = Kim();
  denied_email.recipient.consent.add_entries()->CopyFrom(
      Consent(type::CHANNEL_EMAIL, type::PURPOSE_SERVICE, ctx::CONSENT_STATE_DENIED, now_));
  const DeliveryOrder order = Begin(ClaimOne(), denied_email);
  ASSERT_TRUE(order.send);
  EXPECT_EQ(order.target.channel, type::CHANNEL_SMS);
  Record(order, delivery::DeliveryResult::Delivered("SM1", "HTTP 201"), false, denied_email);
  const v1::Notification delivered = Get(sent.name());
  ASSERT_EQ(delivered.attempts_size(), 2);
  EXPECT_EQ(delivered.attempts(0).result(), Attempt::RESULT_SKIPPED);
  EXPECT_EQ(delivered.attempts(0).error_code(), "NO_CONSENT");
  EXPECT_EQ(delivered.attempts(1).result(), Attempt::RESULT_SENT);

  // Everything denied: FAILED with the reason, no attempt made.
  const v1::Notification blocked = MustSend(ReminderTo("customers/kim"));
  CustomerView denied_all = Kim();
  denied_all.recipient.consent.add_entries()->CopyFrom(
      Consent(type::CHANNEL_UNSPECIFIED, type::PURPOSE_SERVICE, ctx::CONSENT_STATE_DENIED, now_));
  const DeliveryOrder none = Begin(ClaimOne(), denied_all);
  EXPECT_FALSE(none.send);
  EXPECT_EQ(none.notification.state(), State::STATE_FAILED);
  EXPECT_EQ(none.notification.state_reason(), "NO_PERMITTED_CHANNEL");
  const v1::Notification failed = Get(blocked.name());
  EXPECT_EQ(failed.state(), State::STATE_FAILED);
  ASSERT_EQ(failed.attempts_size(), 2);
  EXPECT_EQ(failed.attempts(1).error_code(), "NO_CONSENT");
}

// ---- receipts ----

TEST_F(NotifyCoreTest, ReceiptsSettleTheAttemptTheyName) {
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  request.add_channel_order(type::CHANNEL_SMS);
  request.add_channel_order(type::CHANNEL_EMAIL);
  const v1::Notification sent = MustSend(request);
  const DeliveryOrder order = Begin(ClaimOne());
  const DeliveryOrder waiting =
      Record(order, delivery::DeliveryResult::Delivered("SM42", "HTTP 201"), /*receipts=*/true);
  EXPECT_EQ(waiting.notification.state(), State::STATE_SENDING);
  EXPECT_TRUE(ClaimAll().empty());

  v1::ReportDeliveryStatusRequest receipt;
  receipt.set_provider("sms-a");
  receipt.set_provider_message_id("SM42");
  receipt.set_result(Attempt::RESULT_DELIVERED);
  v1::ReportDeliveryStatusResponse response;
  now_ += absl::Seconds(5);
  ASSERT_TRUE(core_->ReportDeliveryStatus(kTenant, receipt, response).ok());
  EXPECT_EQ(response.notification().state(), State::STATE_DELIVERED);
  EXPECT_EQ(response.notification().attempts(0).result(), Attempt::RESULT_DELIVERED);
  EXPECT_EQ(ToTime(response.notification().attempts(0).result_time()), now_);
  // Again, or older: acknowledged, nothing changes.
  receipt.set_result(Attempt::RESULT_PERMANENT_FAILURE);
  *receipt.mutable_event_time() = Ts(now_ - absl::Seconds(1));
  ASSERT_TRUE(core_->ReportDeliveryStatus(kTenant, receipt, response).ok());
  EXPECT_EQ(response.notification().attempts(0).result(), Attempt::RESULT_DELIVERED);

  receipt.set_provider_message_id("SM43");
  EXPECT_EQ(core_->ReportDeliveryStatus(kTenant, receipt, response).code(),
            absl::StatusCode::kNotFound);
  // Named by the reporter: the notification must hold an attempt with that id.
  receipt.set_notification(sent.name());
  EXPECT_EQ(core_->ReportDeliveryStatus(kTenant, receipt, response).code(),
            absl::StatusCode::kNotFound);
  receipt.set_provider_message_id("SM42");
  receipt.set_result(Attempt::RESULT_TEMPORARY_FAILURE);
  receipt.clear_event_time();
  now_ += absl::Seconds(1);
  ASSERT_TRUE(core_->ReportDeliveryStatus(kTenant, receipt, response).ok());
  // A late failure of a delivered message is history, not a retry.
  EXPECT_EQ(response.notification().attempts(0).result(), Attempt::RESULT_TEMPORARY_FAILURE);
  EXPECT_EQ(response.notification().state(), State::STATE_DELIVERED);
  receipt.set_notification("sent");
  EXPECT_THAT(core_->ReportDeliveryStatus(kTenant, receipt, response).message(),
              HasSubstr("notification: must be"));
  receipt.clear_notification();
  receipt.set_result(Attempt::RESULT_SENT);
  EXPECT_THAT(core_->ReportDeliveryStatus(kTenant, receipt, response).message(),
              HasSubstr("result: must be"));
}

TEST_F(NotifyCoreTest, AFailureReceiptRetriesOrFallsBack) {
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  request.add_channel_order(type::CHANNEL_SMS);
  request.add_channel_order(type::CHANNEL_EMAIL);
  const v1::Notification sent = MustSend(request);
  Record(Begin(ClaimOne()), delivery::DeliveryResult::Delivered("SM1", "HTTP 201"), true);
  v1::ReportDeliveryStatusRequest receipt;
  receipt.set_provider("sms-a");
  receipt.set_provider_message_id("SM1");
  receipt.set_result(Attempt::RESULT_TEMPORARY_FAILURE);
  v1::ReportDeliveryStatusResponse response;
  ASSERT_TRUE(core_->ReportDeliveryStatus(kTenant, receipt, response).ok());
  EXPECT_EQ(response.notification().state(), State::STATE_QUEUED);
  EXPECT_EQ(ToTime(response.notification().send_time()), now_ + absl::Seconds(1));
  now_ += absl::Seconds(1);
  const DeliveryOrder again = Begin(ClaimOne());
  EXPECT_EQ(again.target.channel, type::CHANNEL_SMS);  // retried on the same channel
  // A late receipt for the first attempt while the retry is in flight:
  // history only, and the retry's claim still holds.
  receipt.set_result(Attempt::RESULT_DELIVERED);
  now_ += absl::Seconds(1);
  ASSERT_TRUE(core_->ReportDeliveryStatus(kTenant, receipt, response).ok());
  EXPECT_EQ(response.notification().state(), State::STATE_SENDING);
  EXPECT_EQ(response.notification().attempts(0).result(), Attempt::RESULT_DELIVERED);
  Record(again, delivery::DeliveryResult::Delivered("SM2", "HTTP 201"), true);

  // A bounce: the next channel, chosen by the dispatcher.
  receipt.set_provider_message_id("SM2");
  receipt.set_result(Attempt::RESULT_PERMANENT_FAILURE);
  ASSERT_TRUE(core_->ReportDeliveryStatus(kTenant, receipt, response).ok());
  EXPECT_EQ(response.notification().state(), State::STATE_QUEUED);
  EXPECT_EQ(Begin(ClaimOne()).target.channel, type::CHANNEL_EMAIL);
}

TEST_F(NotifyCoreTest, ASentMessageWithoutReceiptCountsAsDeliveredAfterTheWait) {
  const v1::Notification sent = MustSend(ReminderTo("customers/kim"));
  Record(Begin(ClaimOne()), delivery::DeliveryResult::Delivered("m1", "ok"), true);
  now_ += absl::Hours(72);
  EXPECT_TRUE(ClaimAll().empty());
  EXPECT_EQ(Get(sent.name()).state(), State::STATE_DELIVERED);
}

// ---- changes ----

TEST_F(NotifyCoreTest, PendingNotificationsFromBeforeTheTemplateUseRowsGetThemOnce) {
  v1::SendNotificationRequest later = ReminderTo("customers/kim");
  *later.mutable_send_time() = Ts(now_ + absl::Hours(1));
  const v1::Notification scheduled = MustSend(later);
  const v1::Notification queued = MustSend(ReminderTo("customers/kim"));
  const v1::Notification cancelled = MustSend(later);
  v1::CancelNotificationRequest cancel;
  cancel.set_name(cancelled.name());
  v1::CancelNotificationResponse response;
  ASSERT_TRUE(core_->CancelNotification(kTenant, cancel, response).ok());
  auto users = [&] {
    absl::StatusOr<std::vector<std::string>> names =
        store_->TemplateUsers(kTenant, "templates/reminder", 10);
    EXPECT_TRUE(names.ok()) << names.status();
    std::vector<std::string> sorted = names.ok() ? *names : std::vector<std::string>();
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  };
  std::vector<std::string> pending = {scheduled.name(), queued.name()};
  std::sort(pending.begin(), pending.end());
  ASSERT_EQ(users(), pending);

  // As stored by a version without template-use rows.
  NotifyStore::Batch batch = store_->NewBatch();
  batch.DeleteTemplateUse(kTenant, scheduled);
  batch.DeleteTemplateUse(kTenant, queued);
  ASSERT_TRUE(store_->Commit(batch).ok());
  ASSERT_TRUE(users().empty());

  Restart();
  absl::StatusOr<size_t> indexed = core_->IndexTemplateUses();
  ASSERT_TRUE(indexed.ok()) << indexed.status();
  EXPECT_EQ(*indexed, 2u);
  EXPECT_EQ(users(), pending);
  // Once: the tenant is marked.
  Restart();
  indexed = core_->IndexTemplateUses();
  ASSERT_TRUE(indexed.ok()) << indexed.status();
  EXPECT_EQ(*indexed, 0u);
}

TEST_F(NotifyCoreTest, TheChangeSinkSeesEveryCommittedChange) {
  std::vector<std::pair<std::string, State::State>> seen;
  core_->SetChangeSink([&](const std::string& tenant, const v1::Notification& n) {
    EXPECT_EQ(tenant, kTenant);
    seen.emplace_back(n.name(), n.state());
  });
  v1::SendNotificationRequest request = ReminderTo("customers/kim");
  request.set_replace_key("k");
  *request.mutable_send_time() = Ts(now_ + absl::Hours(1));
  const v1::Notification first = MustSend(request);
  const v1::Notification second = MustSend(request);
  EXPECT_THAT(seen, ElementsAre(std::pair{first.name(), State::STATE_SCHEDULED},
                                std::pair{first.name(), State::STATE_REPLACED},
                                std::pair{second.name(), State::STATE_SCHEDULED}));
  // A refused send changes nothing, so nothing is told; without a sink
  // nobody is.
  v1::SendNotificationRequest refused = ReminderTo("customers/kim");
  refused.clear_variables();
  EXPECT_FALSE(Send(refused).ok());
  core_->SetChangeSink(nullptr);
  MustSend(ReminderTo("customers/kim"));
  EXPECT_EQ(seen.size(), 3u);
}

}  // namespace
}  // namespace cxp::notify
