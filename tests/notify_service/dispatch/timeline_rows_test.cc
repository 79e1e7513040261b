// NotifyCore's timeline append rows on a real RocksDB with a fake clock: a
// notification that becomes DELIVERED (an attempt without receipts, a
// receipt, the end of the receipt wait) gets exactly one row, in the same
// commit; claims lease rows, finish deletes them, retry moves them, and the
// rows survive a restart.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "notify_service/core/notify_core.h"
#include "tests/notify_service/core/notify_store_fixture.h"

namespace cxp::notify {
namespace {

namespace v1 = ::cxp::notify::v1;
namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

constexpr char kTenant[] = "acme";

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(timestamp));
}

v1::Template Notice() {
  v1::Template tmpl;
  tmpl.set_name("templates/notice");
  tmpl.set_display_name("Notice");
  tmpl.set_version(1);
  v1::TemplateLocale& locale = *tmpl.add_locales();
  locale.mutable_email()->set_subject("Notice");
  locale.mutable_email()->set_text_body("Parcel {{parcel}} arrives today.");
  locale.mutable_sms()->set_text("Parcel {{parcel}} today");
  return tmpl;
}

CustomerView Lee() {
  ctx::CustomerContext context;
  ctx::Customer& customer = *context.mutable_customer();
  customer.set_name("customers/lee");
  customer.set_display_name("Lee");
  ctx::CustomerIdentity& email = *customer.add_identities();
  email.mutable_identity()->set_kind(type::IDENTITY_KIND_EMAIL);
  email.mutable_identity()->set_value("lee@example.com");
  ctx::CustomerIdentity& phone = *customer.add_identities();
  phone.mutable_identity()->set_kind(type::IDENTITY_KIND_PHONE);
  phone.mutable_identity()->set_value("+821099990000");
  return CustomerView::FromContext(context);
}

class TimelineRowsTest : public testing::NotifyStoreFixture {
 protected:
  void SetUp() override {
    Open();
    NotifyStore::Batch batch = store_->NewBatch();
    batch.PutTemplate(kTenant, Notice());
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  void Open(bool record_timeline = true) {
    OpenStore();
    NotifyCoreOptions options;
    options.clock = [this] { return now_; };
    options.backoff_random = [] { return 0.5; };
    options.record_timeline = record_timeline;
    auto core = NotifyCore::Create(*store_, std::move(options));
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  void Restart() {
    core_.reset();
    CloseStore();
    Open();
  }

  std::string Send(type::Channel channel = type::CHANNEL_EMAIL) {
    v1::SendNotificationRequest request;
    request.mutable_customer()->set_customer("customers/lee");
    request.set_template_("templates/notice");
    request.set_purpose(type::PURPOSE_SERVICE);
    request.add_channel_order(channel);
    (*request.mutable_variables())["parcel"] = "4711";
    v1::SendNotificationResponse response;
    const absl::Status status = core_->SendNotification(kTenant, request, Lee(), response);
    EXPECT_TRUE(status.ok()) << status;
    return response.notification().name();
  }

  // Claims the one due notification, begins it and records `result`.
  DeliveryOrder Deliver(delivery::DeliveryResult result, bool receipts = false) {
    absl::StatusOr<std::vector<Claim>> claims = core_->ClaimDue(kTenant, 10);
    EXPECT_TRUE(claims.ok() && claims->size() == 1);
    if (!claims.ok() || claims->empty()) return {};
    absl::StatusOr<DeliveryOrder> order = core_->BeginAttempt(kTenant, claims->front(), Lee());
    EXPECT_TRUE(order.ok() && order->send);
    if (!order.ok()) return {};
    absl::StatusOr<DeliveryOrder> next = core_->RecordAttempt(
        kTenant, *order,
        {.provider = "smtp-main", .result = std::move(result), .provider_sends_receipts = receipts},
        Lee());
    EXPECT_TRUE(next.ok()) << next.status();
    return *order;
  }

  std::vector<NotifyStore::TimelineWork> Rows() {
    absl::StatusOr<std::vector<NotifyStore::TimelineWork>> rows =
        store_->ScanTimelineDue(kTenant, absl::InfiniteFuture(), 100);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<NotifyStore::TimelineWork>();
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::unique_ptr<NotifyCore> core_;
};

TEST_F(TimelineRowsTest, DeliveredNotificationGetsOneRowWithItsInteraction) {
  const std::string name = Send();
  EXPECT_TRUE(Rows().empty());  // accepted, not delivered
  now_ += absl::Seconds(1);
  const absl::Time delivered_at = now_;
  Deliver(delivery::DeliveryResult::Delivered("m-1@shop.example", "SMTP 250"));

  const std::vector<NotifyStore::TimelineWork> rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].notification_name, name);
  EXPECT_EQ(rows[0].due, delivered_at);
  const ctx::AppendInteractionRequest& request = rows[0].request;
  EXPECT_EQ(request.customer().customer(), "customers/lee");
  EXPECT_EQ(request.request_id(), name);
  EXPECT_FALSE(request.create_customer_if_missing());
  EXPECT_EQ(request.interaction().channel(), type::CHANNEL_EMAIL);
  EXPECT_EQ(request.interaction().direction(), ctx::Interaction::DIRECTION_OUTBOUND);
  EXPECT_EQ(request.interaction().type(), "notification");
  EXPECT_EQ(ToTime(request.interaction().occur_time()), delivered_at);
  EXPECT_THAT(request.interaction().summary(), HasSubstr("templates/notice"));
  EXPECT_THAT(request.interaction().summary(), HasSubstr("EMAIL through smtp-main"));
  EXPECT_EQ(request.interaction().attributes().at("notification").string_value(), name);
  EXPECT_EQ(request.interaction().attributes().at("purpose").string_value(), "SERVICE");
  EXPECT_EQ(request.interaction().attributes().at("provider").string_value(), "smtp-main");
  // The outbox has nothing for a DELIVERED notification.
  absl::StatusOr<std::optional<absl::Time>> due = core_->NextDue(kTenant);
  ASSERT_TRUE(due.ok());
  EXPECT_FALSE(due->has_value());
  absl::StatusOr<std::optional<absl::Time>> timeline_due = core_->NextTimelineDue(kTenant);
  ASSERT_TRUE(timeline_due.ok());
  EXPECT_EQ(*timeline_due, delivered_at);
}

TEST_F(TimelineRowsTest, NoRowForFailuresOrWhenTurnedOff) {
  Send();
  now_ += absl::Seconds(1);
  Deliver(delivery::DeliveryResult::Transient("SMTP 451"));
  now_ += absl::Minutes(1);  // past the retry time
  Deliver(delivery::DeliveryResult::Permanent("SMTP 550"));
  EXPECT_TRUE(Rows().empty());

  core_.reset();
  CloseStore();
  Open(/*record_timeline=*/false);
  Send();
  now_ += absl::Minutes(5);
  Deliver(delivery::DeliveryResult::Delivered("m-2", "SMTP 250"));
  EXPECT_TRUE(Rows().empty());
}

TEST_F(TimelineRowsTest, ReceiptAndReceiptTimeoutDeliverWithARow) {
  const std::string by_receipt = Send(type::CHANNEL_SMS);
  now_ += absl::Seconds(1);
  Deliver(delivery::DeliveryResult::Delivered("sms-1", "HTTP 200"), /*receipts=*/true);
  EXPECT_TRUE(Rows().empty());  // SENDING, awaiting the receipt
  v1::ReportDeliveryStatusRequest receipt;
  receipt.set_provider("smtp-main");
  receipt.set_provider_message_id("sms-1");
  receipt.set_result(v1::DeliveryAttempt::RESULT_DELIVERED);
  v1::ReportDeliveryStatusResponse response;
  ASSERT_TRUE(core_->ReportDeliveryStatus(kTenant, receipt, response).ok());
  ASSERT_EQ(Rows().size(), 1u);
  EXPECT_EQ(Rows()[0].notification_name, by_receipt);
  // A repeated receipt adds nothing.
  ASSERT_TRUE(core_->ReportDeliveryStatus(kTenant, receipt, response).ok());
  EXPECT_EQ(Rows().size(), 1u);

  const std::string by_timeout = Send(type::CHANNEL_SMS);
  now_ += absl::Seconds(1);
  Deliver(delivery::DeliveryResult::Delivered("sms-2", "HTTP 200"), /*receipts=*/true);
  now_ += absl::Hours(73);  // the receipt wait ends
  absl::StatusOr<std::vector<Claim>> claims = core_->ClaimDue(kTenant, 10);
  ASSERT_TRUE(claims.ok());
  EXPECT_TRUE(claims->empty());  // settled as DELIVERED on the way
  ASSERT_EQ(Rows().size(), 2u);
  EXPECT_EQ(Rows()[1].notification_name, by_timeout);
}

TEST_F(TimelineRowsTest, ClaimLeasesFinishDeletesRetryMovesAndRowsSurviveRestart) {
  const std::string name = Send();
  now_ += absl::Seconds(1);
  Deliver(delivery::DeliveryResult::Delivered("m-1", "SMTP 250"));

  absl::StatusOr<std::vector<TimelineClaim>> claims =
      core_->ClaimTimelineAppends(kTenant, 10, absl::Seconds(30));
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_EQ(claims->size(), 1u);
  const TimelineClaim claim = claims->front();
  EXPECT_EQ(claim.notification_name, name);
  EXPECT_EQ(claim.lease_until, now_ + absl::Seconds(30));
  EXPECT_EQ(claim.request.request_id(), name);
  // Leased in memory: the row stays where it is, and is not claimed again
  // until the lease ends; meanwhile the next time to look is the lease's end.
  ASSERT_EQ(Rows().size(), 1u);
  EXPECT_EQ(Rows()[0].due, claim.due);
  EXPECT_LE(claim.due, now_);
  claims = core_->ClaimTimelineAppends(kTenant, 10, absl::Seconds(30));
  ASSERT_TRUE(claims.ok());
  EXPECT_TRUE(claims->empty());
  absl::StatusOr<std::optional<absl::Time>> leased_next = core_->NextTimelineDue(kTenant);
  ASSERT_TRUE(leased_next.ok());
  EXPECT_EQ(*leased_next, claim.lease_until);

  ASSERT_TRUE(core_->RetryTimelineAppend(kTenant, claim, now_ + absl::Seconds(5)).ok());
  ASSERT_EQ(Rows().size(), 1u);
  EXPECT_EQ(Rows()[0].due, now_ + absl::Seconds(5));

  Restart();
  now_ += absl::Seconds(5);
  claims = core_->ClaimTimelineAppends(kTenant, 10, absl::Seconds(30));
  ASSERT_TRUE(claims.ok());
  ASSERT_EQ(claims->size(), 1u);
  // A stale claim (the row moved on) changes nothing.
  ASSERT_TRUE(core_->RetryTimelineAppend(kTenant, claim, now_ + absl::Hours(1)).ok());
  ASSERT_TRUE(core_->FinishTimelineAppend(kTenant, claim).ok());
  ASSERT_EQ(Rows().size(), 1u);
  EXPECT_EQ(Rows()[0].due, claims->front().due);

  ASSERT_TRUE(core_->FinishTimelineAppend(kTenant, claims->front()).ok());
  EXPECT_TRUE(Rows().empty());
  absl::StatusOr<std::optional<absl::Time>> next = core_->NextTimelineDue(kTenant);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
}

// A lease the dispatcher never ends (it crashed, or lost the answer) runs
// out, and the row is claimed again; a restart forgets every lease.
TEST_F(TimelineRowsTest, LeasesRunOutAndDieWithTheProcess) {
  Send();
  now_ += absl::Seconds(1);
  Deliver(delivery::DeliveryResult::Delivered("m-1", "SMTP 250"));
  absl::StatusOr<std::vector<TimelineClaim>> first =
      core_->ClaimTimelineAppends(kTenant, 10, absl::Seconds(30));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  now_ += absl::Seconds(31);
  absl::StatusOr<std::vector<TimelineClaim>> second =
      core_->ClaimTimelineAppends(kTenant, 10, absl::Seconds(30));
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ(second->front().due, first->front().due);
  // The first claim's late retry moves the row but does not end the second
  // claim's lease.
  ASSERT_TRUE(core_->RetryTimelineAppend(kTenant, first->front(), now_ + absl::Minutes(1)).ok());
  absl::StatusOr<std::optional<absl::Time>> next = core_->NextTimelineDue(kTenant);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, second->front().lease_until);

  Restart();
  now_ += absl::Minutes(1);
  absl::StatusOr<std::vector<TimelineClaim>> after_restart =
      core_->ClaimTimelineAppends(kTenant, 10, absl::Seconds(30));
  ASSERT_TRUE(after_restart.ok());
  ASSERT_EQ(after_restart->size(), 1u);
  ASSERT_TRUE(core_->FinishTimelineAppend(kTenant, after_restart->front()).ok());
  EXPECT_TRUE(Rows().empty());
}

TEST_F(TimelineRowsTest, TenantsIncludeATenantWithOnlyTimelineRows) {
  Send();
  now_ += absl::Seconds(1);
  Deliver(delivery::DeliveryResult::Delivered("m-1", "SMTP 250"));
  NotifyStore::Batch batch = store_->NewBatch();
  batch.DeleteTemplate(kTenant, "templates/notice", 1);
  ASSERT_TRUE(store_->Commit(batch).ok());
  absl::StatusOr<std::vector<std::string>> tenants = core_->Tenants();
  ASSERT_TRUE(tenants.ok());
  EXPECT_THAT(*tenants, ::testing::ElementsAre(kTenant));
}

TEST(TimelineAppendForTest, IdentityRecipientAndDeliveringAttempt) {
  v1::Notification notification;
  notification.set_name("notifications/n1");
  notification.mutable_customer()->mutable_identity()->set_kind(type::IDENTITY_KIND_PHONE);
  notification.mutable_customer()->mutable_identity()->set_value("+821011112222");
  notification.set_template_("templates/notice");
  notification.set_template_version(4);
  notification.set_language_code("ko");
  notification.set_purpose(type::PURPOSE_TRANSACTIONAL);
  notification.set_channel(type::CHANNEL_SMS);
  v1::DeliveryAttempt& failed = *notification.add_attempts();
  failed.set_channel(type::CHANNEL_EMAIL);
  failed.set_result(v1::DeliveryAttempt::RESULT_PERMANENT_FAILURE);
  v1::DeliveryAttempt& sent = *notification.add_attempts();
  sent.set_channel(type::CHANNEL_SMS);
  sent.set_provider("sms-b");
  sent.set_result(v1::DeliveryAttempt::RESULT_DELIVERED);
  *sent.mutable_attempt_time() = TimeUtil::SecondsToTimestamp(1'800'000'100);

  const ctx::AppendInteractionRequest request = TimelineAppendFor(notification);
  EXPECT_EQ(request.customer().identity().value(), "+821011112222");
  EXPECT_EQ(request.interaction().channel(), type::CHANNEL_SMS);
  EXPECT_EQ(TimeUtil::TimestampToSeconds(request.interaction().occur_time()), 1'800'000'100);
  EXPECT_EQ(request.interaction().summary(),
            "Notification templates/notice (version 4, locale ko) delivered by SMS through sms-b");
  EXPECT_EQ(request.interaction().attributes().at("template_version").number_value(), 4);
  EXPECT_EQ(request.interaction().attributes().at("purpose").string_value(), "TRANSACTIONAL");
  // Deterministic: the same bytes every time (the request id's fingerprint).
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(TimelineAppendFor(notification), request));
}

}  // namespace
}  // namespace cxp::notify
