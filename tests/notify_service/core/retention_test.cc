// NotifyRetention and NotifyCore::PurgeTerminalBefore on a real RocksDB in
// a temp dir with a fake clock: old terminal notifications go with every
// row that finds them (checked through the public API and the store's
// lookups), young and non-terminal ones stay, batches are bounded, and
// trigger last-sent rows go once neither the retention nor their rule's
// cooldown needs them.
#include "notify_service/core/retention.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using State = v1::Notification;

constexpr char kTenant[] = "acme";
constexpr absl::Duration kRetention = absl::Hours(24 * 90);
const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

google::protobuf::Timestamp Ts(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

v1::Template Reminder() {
  v1::Template tmpl;
  tmpl.set_name("templates/reminder");
  tmpl.set_version(1);
  tmpl.add_locales()->mutable_email()->set_subject("Reminder {{date}}");
  tmpl.mutable_locales(0)->mutable_email()->set_text_body("On {{date}}.");
  return tmpl;
}

CustomerView Kim() {
  ctx::CustomerContext context;
  ctx::Customer& customer = *context.mutable_customer();
  customer.set_name("customers/kim");
  customer.set_display_name("Kim");
  ctx::CustomerIdentity& email = *customer.add_identities();
  email.mutable_identity()->set_kind(type::IDENTITY_KIND_EMAIL);
  email.mutable_identity()->set_value("kim@example.com");
  return CustomerView::FromContext(context);
}

v1::SendNotificationRequest ReminderToKim() {
  v1::SendNotificationRequest request;
  request.mutable_customer()->set_customer("customers/kim");
  request.set_template_("templates/reminder");
  request.set_purpose(type::PURPOSE_SERVICE);
  (*request.mutable_variables())["date"] = "12-24";
  return request;
}

class RetentionTest : public testing::NotifyStoreFixture {
 protected:
  void SetUp() override {
    options_.record_timeline = false;
    options_.backoff.max_attempts = 1;  // the first temporary failure dead-letters
    Open();
    NotifyStore::Batch batch = store_->NewBatch();
    batch.PutTemplate(kTenant, Reminder());
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  void TearDown() override { Close(); }

  void Open() {
    OpenStore();
    NotifyCoreOptions options = options_;
    options.clock = [this] { return now_; };
    options.backoff_random = [] { return 0.5; };
    auto core = NotifyCore::Create(*store_, std::move(options));
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
    // The thread's first pass would come after a day: the tests call
    // PurgeOnce themselves.
    retention_ =
        std::make_unique<NotifyRetention>(*store_, *core_,
                                          NotifyRetentionOptions{.retention = kRetention,
                                                                 .interval = absl::Hours(24),
                                                                 .batch_rows = batch_rows_,
                                                                 .clock = [this] { return now_; }});
  }

  void Close() {
    retention_.reset();
    core_.reset();
    CloseStore();
  }

  void Restart() {
    Close();
    Open();
  }

  v1::Notification Send(v1::SendNotificationRequest request = ReminderToKim()) {
    v1::SendNotificationResponse response;
    const absl::Status status = core_->SendNotification(kTenant, request, Kim(), response);
    EXPECT_TRUE(status.ok()) << status;
    return response.notification();
  }

  // Claims, and sends with `result` through provider "smtp": the
  // notification as it ends.
  v1::Notification Deliver(const v1::Notification& sent, delivery::DeliveryResult result) {
    absl::StatusOr<std::vector<Claim>> claims = core_->ClaimDue(kTenant, 100);
    EXPECT_TRUE(claims.ok()) << claims.status();
    for (const Claim& claim : *claims) {
      if (claim.notification.name() != sent.name()) continue;
      absl::StatusOr<DeliveryOrder> order = core_->BeginAttempt(kTenant, claim, Kim());
      EXPECT_TRUE(order.ok() && order->send) << order.status();
      absl::StatusOr<DeliveryOrder> next = core_->RecordAttempt(
          kTenant, *order, {.provider = "smtp", .result = std::move(result)}, Kim());
      EXPECT_TRUE(next.ok()) << next.status();
      return next->notification;
    }
    ADD_FAILURE() << sent.name() << " was not due";
    return v1::Notification();
  }

  v1::Notification Cancel(const v1::Notification& sent) {
    v1::CancelNotificationRequest request;
    request.set_name(sent.name());
    v1::CancelNotificationResponse response;
    const absl::Status status = core_->CancelNotification(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    return response.notification();
  }

  absl::StatusCode GetCode(const std::string& name) {
    v1::GetNotificationRequest request;
    request.set_name(name);
    v1::GetNotificationResponse response;
    return core_->GetNotification(kTenant, request, response).code();
  }

  std::vector<std::string> ListNames(const std::string& filter = "") {
    v1::ListNotificationsRequest request;
    request.set_filter(filter);
    request.set_page_size(1000);
    v1::ListNotificationsResponse response;
    const absl::Status status = core_->ListNotifications(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    std::vector<std::string> names;
    for (const v1::Notification& notification : response.notifications()) {
      names.push_back(notification.name());
    }
    return names;
  }

  std::vector<std::string> DeadLetterNames() {
    v1::ListDeadLettersResponse response;
    const absl::Status status = core_->ListDeadLetters(kTenant, {}, response);
    EXPECT_TRUE(status.ok()) << status;
    std::vector<std::string> names;
    for (const v1::Notification& notification : response.notifications()) {
      names.push_back(notification.name());
    }
    return names;
  }

  NotifyRetention::Purged PurgeOnce() {
    absl::StatusOr<NotifyRetention::Purged> purged = retention_->PurgeOnce();
    EXPECT_TRUE(purged.ok()) << purged.status();
    return purged.ok() ? *purged : NotifyRetention::Purged{-1, -1};
  }

  absl::Time now_ = kStart;
  NotifyCoreOptions options_;
  size_t batch_rows_ = 500;
  std::unique_ptr<NotifyCore> core_;
  std::unique_ptr<NotifyRetention> retention_;
};

TEST_F(RetentionTest, OldTerminalNotificationsGoWithEveryRowThatFindsThem) {
  // Delivered, with an idempotency key and a provider message id.
  v1::SendNotificationRequest keyed = ReminderToKim();
  keyed.set_idempotency_key("order-42-shipped");
  const v1::Notification delivered = Send(keyed);
  ASSERT_EQ(Deliver(delivered, delivery::DeliveryResult::Delivered("m-1", "250 OK")).state(),
            State::STATE_DELIVERED);
  // Replaced by a newer one under the same replace key, which is cancelled.
  v1::SendNotificationRequest replaceable = ReminderToKim();
  replaceable.set_replace_key("appointment:7");
  *replaceable.mutable_send_time() = Ts(now_ + absl::Hours(1));
  const v1::Notification replaced = Send(replaceable);
  const v1::Notification cancelled = Send(replaceable);
  Cancel(cancelled);
  // Dead-lettered.
  const v1::Notification dead = Send();
  ASSERT_EQ(Deliver(dead, delivery::DeliveryResult::Transient("SMTP 451")).state(),
            State::STATE_DEAD_LETTERED);
  // Still scheduled, as far ahead as a send may be: never purged.
  v1::SendNotificationRequest later = ReminderToKim();
  *later.mutable_send_time() = Ts(now_ + absl::Hours(24 * 30));
  const v1::Notification scheduled = Send(later);
  ASSERT_EQ(scheduled.state(), State::STATE_SCHEDULED);

  const std::string replace_key = "customers/kim\nappointment:7";
  ASSERT_EQ(store_->FindByReplaceKey(kTenant, replace_key).value(), cancelled.name());
  ASSERT_EQ(store_->FindByIdempotencyKey(kTenant, "order-42-shipped").value(), delivered.name());
  ASSERT_EQ(store_->FindByProviderMessageId(kTenant, "smtp", "m-1").value(), delivered.name());
  ASSERT_THAT(DeadLetterNames(), ElementsAre(dead.name()));

  // Nothing is old enough yet.
  now_ += kRetention - absl::Hours(1);
  EXPECT_EQ(PurgeOnce().notifications, 0);
  const v1::Notification young = Send();
  Cancel(young);
  ASSERT_EQ(ListNames().size(), 6u);

  now_ += absl::Hours(2);
  EXPECT_EQ(PurgeOnce().notifications, 4);
  for (const v1::Notification* gone : {&delivered, &replaced, &cancelled, &dead}) {
    EXPECT_EQ(GetCode(gone->name()), absl::StatusCode::kNotFound) << gone->name();
  }
  EXPECT_THAT(ListNames(), UnorderedElementsAre(scheduled.name(), young.name()));
  EXPECT_THAT(ListNames("resolved_customer = \"customers/kim\""),
              UnorderedElementsAre(scheduled.name(), young.name()));
  EXPECT_THAT(DeadLetterNames(), IsEmpty());
  EXPECT_EQ(store_->FindByReplaceKey(kTenant, replace_key).value(), std::nullopt);
  EXPECT_EQ(store_->FindByIdempotencyKey(kTenant, "order-42-shipped").value(), std::nullopt);
  EXPECT_EQ(store_->FindByProviderMessageId(kTenant, "smtp", "m-1").value(), std::nullopt);

  // A receipt for the purged attempt finds nothing.
  v1::ReportDeliveryStatusRequest receipt;
  receipt.set_provider("smtp");
  receipt.set_provider_message_id("m-1");
  receipt.set_result(v1::DeliveryAttempt::RESULT_DELIVERED);
  v1::ReportDeliveryStatusResponse answer;
  EXPECT_EQ(core_->ReportDeliveryStatus(kTenant, receipt, answer).code(),
            absl::StatusCode::kNotFound);
  // The old idempotency key makes a new notification.
  const v1::Notification again = Send(keyed);
  EXPECT_NE(again.name(), delivered.name());
  EXPECT_EQ(store_->FindByIdempotencyKey(kTenant, "order-42-shipped").value(), again.name());

  // Durable, and a second pass finds nothing more.
  Restart();
  EXPECT_EQ(GetCode(delivered.name()), absl::StatusCode::kNotFound);
  EXPECT_THAT(ListNames(), UnorderedElementsAre(scheduled.name(), young.name(), again.name()));
  EXPECT_EQ(PurgeOnce().notifications, 0);
  // The scheduled one is still sent when its time comes.
  EXPECT_EQ(store_->NextDue(kTenant).value(), kStart + absl::Hours(24 * 30));
}

TEST_F(RetentionTest, TheLastChangeCountsNotTheCreation) {
  const v1::Notification dead = Send();
  ASSERT_EQ(Deliver(dead, delivery::DeliveryResult::Transient("SMTP 451")).state(),
            State::STATE_DEAD_LETTERED);
  // Redriven late in its life, dead-lettered again: young as a dead letter.
  now_ += kRetention - absl::Hours(24);
  v1::RedriveNotificationRequest redrive;
  redrive.set_name(dead.name());
  *redrive.mutable_expire_time() = Ts(now_ + absl::Hours(24));
  v1::RedriveNotificationResponse redriven;
  ASSERT_TRUE(core_->RedriveNotification(kTenant, redrive, redriven).ok());
  ASSERT_EQ(Deliver(dead, delivery::DeliveryResult::Transient("SMTP 451")).state(),
            State::STATE_DEAD_LETTERED);
  now_ += absl::Hours(48);
  EXPECT_EQ(PurgeOnce().notifications, 0);
  EXPECT_THAT(DeadLetterNames(), ElementsAre(dead.name()));
  now_ += kRetention;
  EXPECT_EQ(PurgeOnce().notifications, 1);
  EXPECT_THAT(DeadLetterNames(), IsEmpty());
}

TEST_F(RetentionTest, ADeliveredNotificationWaitsForItsTimelineAppend) {
  options_.record_timeline = true;
  Restart();
  const v1::Notification delivered = Send();
  ASSERT_EQ(Deliver(delivered, delivery::DeliveryResult::Delivered("m-2", "250 OK")).state(),
            State::STATE_DELIVERED);
  now_ += kRetention + absl::Hours(1);
  EXPECT_EQ(PurgeOnce().notifications, 0);
  EXPECT_EQ(GetCode(delivered.name()), absl::StatusCode::kOk);

  absl::StatusOr<std::vector<TimelineClaim>> claims =
      core_->ClaimTimelineAppends(kTenant, 10, absl::Minutes(1));
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_EQ(claims->size(), 1u);
  ASSERT_TRUE(core_->FinishTimelineAppend(kTenant, claims->front()).ok());
  EXPECT_EQ(PurgeOnce().notifications, 1);
  EXPECT_EQ(GetCode(delivered.name()), absl::StatusCode::kNotFound);
}

TEST_F(RetentionTest, PurgesInBoundedBatches) {
  batch_rows_ = 3;
  Restart();
  const v1::Notification pending = Send();
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) {
    now_ += absl::Seconds(1);
    names.push_back(Cancel(Send()).name());
  }
  now_ += kRetention + absl::Seconds(1);

  // One call examines at most 3 and says where to go on.
  std::string resume;
  absl::StatusOr<size_t> first = core_->PurgeTerminalBefore(kTenant, now_ - kRetention, 3, resume);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 3u);
  EXPECT_FALSE(resume.empty());
  EXPECT_EQ(ListNames().size(), 8u);

  // A whole pass goes on until the end, batch by batch.
  EXPECT_EQ(PurgeOnce().notifications, 7);
  EXPECT_THAT(ListNames(), ElementsAre(pending.name()));
  for (const std::string& name : names) EXPECT_EQ(GetCode(name), absl::StatusCode::kNotFound);
}

// Sends that take old idempotency keys over while the purge deletes the old
// notifications: the purge never deletes a key row once it names the new
// notification.
TEST_F(RetentionTest, KeysTakenOverDuringThePurgeStay) {
  batch_rows_ = 5;
  Restart();
  constexpr int kKeys = 100;
  for (int i = 0; i < kKeys; ++i) {
    v1::SendNotificationRequest keyed = ReminderToKim();
    keyed.set_idempotency_key("key-" + std::to_string(i));
    Cancel(Send(keyed));
  }
  now_ += kRetention + absl::Hours(1);
  std::vector<std::string> resent(kKeys);
  std::thread sender([&] {
    for (int i = kKeys - 1; i >= 0; --i) {
      v1::SendNotificationRequest keyed = ReminderToKim();
      keyed.set_idempotency_key("key-" + std::to_string(i));
      resent[i] = Send(keyed).name();
    }
  });
  int64_t purged = 0;
  while (purged < kKeys) {
    const NotifyRetention::Purged pass = PurgeOnce();
    ASSERT_GE(pass.notifications, 0);
    purged += pass.notifications;
  }
  sender.join();
  for (int i = 0; i < kKeys; ++i) {
    EXPECT_EQ(store_->FindByIdempotencyKey(kTenant, "key-" + std::to_string(i)).value(), resent[i])
        << i;
  }
  EXPECT_EQ(ListNames().size(), static_cast<size_t>(kKeys));
}

TEST_F(RetentionTest, LastSentRowsGoOnceNeitherRetentionNorCooldownNeedsThem) {
  v1::TriggerRule patient;
  patient.set_name("triggerRules/patient");
  patient.mutable_cooldown()->set_seconds(absl::ToInt64Seconds(absl::Hours(24 * 200)));
  v1::TriggerRule quick;
  quick.set_name("triggerRules/quick");
  quick.mutable_cooldown()->set_seconds(3600);
  NotifyStore::Batch batch = store_->NewBatch();
  batch.PutTriggerRule(kTenant, patient);
  batch.PutTriggerRule(kTenant, quick);
  for (const char* rule : {"triggerRules/patient", "triggerRules/quick", "triggerRules/deleted"}) {
    batch.PutTriggerLastSent(kTenant, rule, "customers/kim", now_);
    batch.PutTriggerLastSent(kTenant, rule, "customers/lee", now_ + kRetention);
  }
  ASSERT_TRUE(store_->Commit(batch).ok());
  auto last_sent = [&](const char* rule, const char* customer) {
    return store_->GetTriggerLastSent(kTenant, rule, customer).value();
  };

  now_ += kRetention + absl::Hours(1);
  EXPECT_EQ(PurgeOnce().last_sent_rows, 2);
  EXPECT_EQ(last_sent("triggerRules/quick", "customers/kim"), std::nullopt);
  EXPECT_EQ(last_sent("triggerRules/deleted", "customers/kim"), std::nullopt);
  // The 200-day cooldown still needs its row; the young rows stay.
  EXPECT_EQ(last_sent("triggerRules/patient", "customers/kim"), kStart);
  for (const char* rule : {"triggerRules/patient", "triggerRules/quick", "triggerRules/deleted"}) {
    EXPECT_EQ(last_sent(rule, "customers/lee"), kStart + kRetention) << rule;
  }

  now_ = kStart + absl::Hours(24 * 200) + absl::Hours(1);
  EXPECT_EQ(PurgeOnce().last_sent_rows, 3);
  EXPECT_EQ(last_sent("triggerRules/patient", "customers/kim"), std::nullopt);
  EXPECT_EQ(last_sent("triggerRules/quick", "customers/lee"), std::nullopt);
  EXPECT_EQ(last_sent("triggerRules/patient", "customers/lee"), kStart + kRetention);
}

}  // namespace
}  // namespace cxp::notify
