// notify_service as a partner meets it: the real binary beside a real
// context_service, both child processes on loopback, called only through the
// generated clients. Covers templates and sends judged against the
// customer's contact points and consent in context_service (transactional
// goes, marketing without consent is refused naming the channels, missing
// variables and unknown customers are named), idempotent retries, batches,
// Get/List/Cancel, inbound opt-out keywords landing as DENIED consent in
// context_service (also for an unknown sender) and every inbound message on
// the customer's timeline (once per provider message), WatchNotifications, sends
// accepted unjudged while context_service is down, trigger rules with
// etags, and the one-click unsubscribe link of marketing email (RFC 8058)
// landing as DENIED consent in context_service.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/notify_service/delivery/test_servers.h"
#include "tests/testing/http_get.h"
#include "tests/testing/keyed_call.h"
#include "tests/testing/server_process.h"

namespace cxp::notify {
namespace {

using ::cxp::testing::BinaryPath;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace type = ::cxp::type::v1;
namespace ctx = ::cxp::context::v1;
using ctx::ContextService;
using v1::NotifyService;

constexpr char kNotifyKey[] = "acme-notify-key-0123456789abcdef";
// A notify tenant without a context_service key.
constexpr char kGlobexKey[] = "globex-notify-key-0123456789abcdef";
constexpr char kContextKey[] = "acme-context-key-0123456789abcdef";
constexpr char kPhone[] = "+821012345678";

using ::cxp::testing::KeyedCall;

#define NOTIFY(Method, request) \
  KeyedCall(*notify_, &NotifyService::Stub::Method, (request), std::string(kNotifyKey))
#define CONTEXT(Method, request) \
  KeyedCall(*context_, &ContextService::Stub::Method, (request), std::string(kContextKey))

type::Identity Phone(const std::string& number) {
  type::Identity identity;
  identity.set_kind(type::IDENTITY_KIND_PHONE);
  identity.set_value(number);
  return identity;
}

class NotifyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("notify_service_test_");
    std::ofstream(dir_ + "/context_keys") << "acme " << kContextKey << "\n";
    std::ofstream(dir_ + "/notify_keys")
        << "acme " << kNotifyKey << "\nglobex " << kGlobexKey << "\n";
    auto context_server = ServerProcess::Start(
        BinaryPath("context_service/context_service"),
        {"--data_dir=" + dir_ + "/context", "--api_keys_file=" + dir_ + "/context_keys",
         "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(context_server.ok()) << context_server.status();
    context_server_.emplace(*std::move(context_server));
    // Email goes to a real local SMTP server (aiosmtpd) the test reads back.
    mail_dir_ = dir_ + "/mail";
    std::filesystem::create_directories(mail_dir_);
    auto smtp = cxp::notify::delivery::testing::StartSmtpServer(mail_dir_);
    ASSERT_TRUE(smtp.ok()) << smtp.status();
    smtp_server_.emplace(*std::move(smtp));
    unsubscribe_port_ = cxp::notify::delivery::testing::UnusedLoopbackPort();
    StartNotify();
    context_ = ContextService::NewStub(
        grpc::CreateChannel(context_server_->address(), grpc::InsecureChannelCredentials()));
  }

  // Starts notify_service (again, after a kill: same data directory).
  void StartNotify() {
    notify_server_.reset();
    auto notify_server =
        ServerProcess::Start(BinaryPath("notify_service/notify_service"), NotifyFlags());
    ASSERT_TRUE(notify_server.ok()) << notify_server.status();
    notify_server_.emplace(*std::move(notify_server));
    notify_ = NotifyService::NewStub(
        grpc::CreateChannel(notify_server_->address(), grpc::InsecureChannelCredentials()));
  }

  std::vector<std::string> NotifyFlags() const {
    return {"--data_dir=" + dir_ + "/notify", "--api_keys_file=" + dir_ + "/notify_keys",
            "--context_service=" + context_server_->address(), "--smtp_host=127.0.0.1",
            "--smtp_port=" + std::to_string(smtp_server_->port()), "--smtp_starttls=none",
            "--smtp_from=Shop <alerts@shop.example>",
            "--unsubscribe_listen=127.0.0.1:" + std::to_string(unsubscribe_port_),
            "--unsubscribe_base_url=https://notify.shop.example/unsubscribe",
            // Generous for a loaded 2-core test machine.
            "--context_timeout=2s", "--context_api_keys_file=" + dir_ + "/context_keys",
            "--metrics_listen=off", "--log_requests=false"};
  }

  // Rule "rescheduled": a missed delivery moved to step "rescheduled" sends
  // templates/reminder, {{date}} = the step.
  static v1::CreateTriggerRuleRequest RescheduledRule() {
    v1::CreateTriggerRuleRequest create;
    create.set_trigger_rule_id("rescheduled");
    v1::TriggerRule& rule = *create.mutable_trigger_rule();
    rule.set_display_name("Rescheduled delivery");
    rule.add_change_kinds(ctx::CHANGE_KIND_JOURNEY_ADVANCED);
    rule.set_filter("journey.type = \"missed_delivery\" AND journey.step = \"rescheduled\"");
    rule.set_template_("templates/reminder");
    rule.set_purpose(type::PURPOSE_SERVICE);
    (*rule.mutable_variables())["date"] = "journey.step";
    rule.set_enabled(true);
    return create;
  }

  // Template `id`: email and SMS, both needing {{date}}.
  void CreateTemplate(const std::string& id) {
    v1::CreateTemplateRequest request;
    request.set_template_id(id);
    v1::Template& tmpl = *request.mutable_template_();
    tmpl.set_display_name("Appointment reminder");
    v1::TemplateLocale& locale = *tmpl.add_locales();
    locale.mutable_email()->set_subject("Your appointment");
    locale.mutable_email()->set_text_body("See you on {{date}}.");
    locale.mutable_sms()->set_text("Appointment on {{date}}");
    auto created = NOTIFY(CreateTemplate, request);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(created->template_().name(), "templates/" + id);
  }

  // Customer `id` with an email address and `phone`, nothing consented.
  void CreateCustomer(const std::string& id, const std::string& phone = kPhone) {
    ctx::CreateCustomerRequest request;
    request.set_customer_id(id);
    request.mutable_customer()->set_display_name("Kim");
    ctx::CustomerIdentity& email = *request.mutable_customer()->add_identities();
    email.mutable_identity()->set_kind(type::IDENTITY_KIND_EMAIL);
    email.mutable_identity()->set_value(id + "@example.com");
    *request.mutable_customer()->add_identities()->mutable_identity() = Phone(phone);
    auto created = CONTEXT(CreateCustomer, request);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  static v1::SendNotificationRequest Send(const std::string& customer, type::Purpose purpose) {
    v1::SendNotificationRequest request;
    request.mutable_customer()->set_customer(customer);
    request.set_template_("templates/reminder");
    request.set_purpose(purpose);
    (*request.mutable_variables())["date"] = "Friday";
    return request;
  }
  // A send due in an hour: it stays SCHEDULED (the dispatcher does not take
  // it yet), so it can be cancelled.
  static v1::SendNotificationRequest SendLater(const std::string& customer, type::Purpose purpose) {
    v1::SendNotificationRequest request = Send(customer, purpose);
    *request.mutable_send_time() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
        absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    return request;
  }

  // The effective consent context_service reports for (channel, purpose).
  ctx::ConsentState ConsentOf(const type::CustomerRef& customer, type::Channel channel,
                              type::Purpose purpose) {
    ctx::GetCustomerContextRequest request;
    *request.mutable_customer() = customer;
    auto context = CONTEXT(GetCustomerContext, request);
    EXPECT_TRUE(context.ok()) << context.status();
    if (!context.ok()) return ctx::CONSENT_STATE_UNSPECIFIED;
    for (const ctx::ConsentEntry& entry : context->customer_context().consent().entries()) {
      if (entry.channel() == channel && entry.purpose() == purpose) return entry.state();
    }
    return ctx::CONSENT_STATE_UNSPECIFIED;
  }

  // An open WatchNotifications stream, registered once Open() returns.
  struct Watch {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::WatchNotificationsResponse>> reader;
  };
  std::unique_ptr<Watch> OpenWatch(const std::string& key, const std::string& filter) {
    auto watch = std::make_unique<Watch>();
    watch->context.AddMetadata("authorization", "Bearer " + key);
    watch->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::WatchNotificationsRequest request;
    request.set_filter(filter);
    watch->reader = notify_->WatchNotifications(&watch->context, request);
    watch->reader->WaitForInitialMetadata();
    return watch;
  }

  std::string dir_;
  std::optional<ServerProcess> context_server_;
  std::optional<ServerProcess> notify_server_;
  std::unique_ptr<ContextService::Stub> context_;
  std::unique_ptr<NotifyService::Stub> notify_;
  // The notification `name` once DELIVERED (or its state after 30 s).
  v1::Notification AwaitDelivery(const std::string& name) {
    v1::GetNotificationRequest get;
    get.set_name(name);
    absl::StatusOr<v1::GetNotificationResponse> got;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    do {
      absl::SleepFor(absl::Milliseconds(50));
      got = NOTIFY(GetNotification, get);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) return v1::Notification();
    } while (got->notification().state() != v1::Notification::STATE_DELIVERED &&
             absl::Now() < deadline);
    return got->notification();
  }

  // What aiosmtpd made of its n-th message (headers decoded).
  google::protobuf::Struct ReceivedMail(int n) {
    absl::StatusOr<google::protobuf::Struct> mail = cxp::notify::delivery::testing::ParseJsonObject(
        cxp::notify::delivery::testing::ReadFile(mail_dir_ + "/" + std::to_string(n) + ".json"));
    EXPECT_TRUE(mail.ok()) << mail.status();
    return mail.value_or(google::protobuf::Struct());
  }

  std::string mail_dir_;
  std::optional<ServerProcess> smtp_server_;
  int unsubscribe_port_ = 0;
};

TEST_F(NotifyServiceTest, SendsAreJudgedAgainstTheCustomerInContextService) {
  CreateTemplate("reminder");
  CreateCustomer("kim");

  // Transactional: sent unless denied; the channels come from the template.
  auto sent = NOTIFY(SendNotification, SendLater("customers/kim", type::PURPOSE_TRANSACTIONAL));
  ASSERT_TRUE(sent.ok()) << sent.status();
  const v1::Notification& first = sent->notification();
  EXPECT_THAT(first.name(), HasSubstr("notifications/"));
  EXPECT_EQ(first.state(), v1::Notification::STATE_SCHEDULED);
  EXPECT_EQ(first.resolved_customer(), "customers/kim");
  EXPECT_EQ(first.template_version(), 1);
  EXPECT_THAT(first.channel_order(), ElementsAre(type::CHANNEL_EMAIL, type::CHANNEL_SMS));

  // Marketing needs a grant: refused, naming every channel.
  auto marketing = NOTIFY(SendNotification, Send("customers/kim", type::PURPOSE_MARKETING));
  EXPECT_EQ(marketing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(marketing.status().message(), AllOf(HasSubstr("customer: no channel may be used"),
                                                  HasSubstr("EMAIL"), HasSubstr("SMS")));
  // Granted on SMS in context_service: marketing goes by SMS.
  ctx::UpdateConsentRequest grant;
  grant.set_customer("customers/kim");
  grant.set_channel(type::CHANNEL_SMS);
  grant.set_purpose(type::PURPOSE_MARKETING);
  grant.set_state(ctx::CONSENT_STATE_GRANTED);
  grant.mutable_evidence()->set_source("web_form");
  ASSERT_TRUE(CONTEXT(UpdateConsent, grant).ok());
  marketing = NOTIFY(SendNotification, Send("customers/kim", type::PURPOSE_MARKETING));
  ASSERT_TRUE(marketing.ok()) << marketing.status();

  // A retried send returns the first notification.
  v1::SendNotificationRequest keyed = Send("customers/kim", type::PURPOSE_SERVICE);
  keyed.set_idempotency_key("order-42-shipped");
  auto once = NOTIFY(SendNotification, keyed);
  ASSERT_TRUE(once.ok()) << once.status();
  (*keyed.mutable_variables())["date"] = "Saturday";
  auto twice = NOTIFY(SendNotification, keyed);
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(twice->notification().name(), once->notification().name());
  EXPECT_EQ(twice->notification().variables().at("date"), "Friday");

  // Bad input is named and changes nothing.
  v1::SendNotificationRequest missing = Send("customers/kim", type::PURPOSE_TRANSACTIONAL);
  missing.mutable_variables()->clear();
  auto refused = NOTIFY(SendNotification, missing);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), AllOf(HasSubstr("variables"), HasSubstr("date")));
  auto unknown = NOTIFY(SendNotification, Send("customers/nobody", type::PURPOSE_TRANSACTIONAL));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("customers/nobody"));
  v1::SendNotificationRequest no_template = Send("customers/kim", type::PURPOSE_TRANSACTIONAL);
  no_template.set_template_("templates/none");
  EXPECT_EQ(NOTIFY(SendNotification, no_template).status().code(), absl::StatusCode::kNotFound);
  v1::SendNotificationRequest no_purpose = Send("customers/kim", type::PURPOSE_UNSPECIFIED);
  auto bad_purpose = NOTIFY(SendNotification, no_purpose);
  EXPECT_EQ(bad_purpose.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_purpose.status().message(), HasSubstr("purpose"));

  // A batch: each send its own outcome, in order.
  v1::BatchSendNotificationsRequest batch;
  *batch.add_requests() = Send("customers/kim", type::PURPOSE_SERVICE);
  *batch.add_requests() = Send("customers/nobody", type::PURPOSE_SERVICE);
  *batch.add_requests() = missing;
  v1::SendNotificationRequest by_phone = Send("", type::PURPOSE_SERVICE);
  *by_phone.mutable_customer()->mutable_identity() = Phone(kPhone);
  *batch.add_requests() = by_phone;
  auto outcomes = NOTIFY(BatchSendNotifications, batch);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(outcomes->outcomes_size(), 4);
  EXPECT_EQ(outcomes->outcomes(0).code(), 0);
  EXPECT_EQ(outcomes->outcomes(0).notification().resolved_customer(), "customers/kim");
  EXPECT_EQ(outcomes->outcomes(1).code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_THAT(outcomes->outcomes(1).message(), HasSubstr("customers/nobody"));
  EXPECT_EQ(outcomes->outcomes(2).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(outcomes->outcomes(2).message(), HasSubstr("date"));
  EXPECT_EQ(outcomes->outcomes(3).code(), 0) << outcomes->outcomes(3).message();
  EXPECT_EQ(outcomes->outcomes(3).notification().resolved_customer(), "customers/kim");
  EXPECT_EQ(NOTIFY(BatchSendNotifications, v1::BatchSendNotificationsRequest()).status().code(),
            absl::StatusCode::kInvalidArgument);

  // Get, List, Cancel.
  v1::GetNotificationRequest get;
  get.set_name(first.name());
  auto got = NOTIFY(GetNotification, get);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->notification().name(), first.name());
  v1::ListNotificationsRequest list;
  list.set_filter("resolved_customer = \"customers/kim\" AND purpose = MARKETING");
  auto listed = NOTIFY(ListNotifications, list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->notifications_size(), 1);
  EXPECT_EQ(listed->notifications(0).name(), marketing->notification().name());
  list.set_filter("colour = RED");
  auto bad_filter = NOTIFY(ListNotifications, list);
  EXPECT_EQ(bad_filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_filter.status().message(), HasSubstr("filter"));
  v1::CancelNotificationRequest cancel;
  cancel.set_name(first.name());
  auto cancelled = NOTIFY(CancelNotification, cancel);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->notification().state(), v1::Notification::STATE_CANCELLED);
  EXPECT_EQ(NOTIFY(CancelNotification, cancel).status().code(),
            absl::StatusCode::kFailedPrecondition);
  get.set_name("notifications/missing");
  EXPECT_EQ(NOTIFY(GetNotification, get).status().code(), absl::StatusCode::kNotFound);
  get.set_name("bad name");
  auto bad_name = NOTIFY(GetNotification, get);
  EXPECT_EQ(bad_name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_name.status().message(), HasSubstr("name"));
}

TEST_F(NotifyServiceTest, InboundKeywordsSetConsentAndEveryMessageLandsOnTheTimeline) {
  CreateTemplate("reminder");
  CreateCustomer("kim");
  type::CustomerRef kim;
  kim.set_customer("customers/kim");

  v1::ReceiveInboundMessageRequest stop;
  stop.mutable_inbound_message()->set_channel(type::CHANNEL_SMS);
  *stop.mutable_inbound_message()->mutable_sender() = Phone(kPhone);
  stop.mutable_inbound_message()->set_text(" Stop! ");
  auto stopped = NOTIFY(ReceiveInboundMessage, stop);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->action(), v1::ReceiveInboundMessageResponse::ACTION_OPTED_OUT);
  EXPECT_EQ(stopped->customer(), "customers/kim");
  EXPECT_THAT(stopped->purposes(), ElementsAre(type::PURPOSE_MARKETING, type::PURPOSE_SERVICE));
  EXPECT_EQ(ConsentOf(kim, type::CHANNEL_SMS, type::PURPOSE_MARKETING), ctx::CONSENT_STATE_DENIED);
  EXPECT_EQ(ConsentOf(kim, type::CHANNEL_SMS, type::PURPOSE_SERVICE), ctx::CONSENT_STATE_DENIED);
  // The opt-out holds for sends: SERVICE by SMS only is refused now.
  v1::SendNotificationRequest by_sms = Send("customers/kim", type::PURPOSE_SERVICE);
  by_sms.add_channel_order(type::CHANNEL_SMS);
  auto refused = NOTIFY(SendNotification, by_sms);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("SMS"));

  // An unknown sender gets a customer, so the opt-out is kept.
  v1::ReceiveInboundMessageRequest korean = stop;
  *korean.mutable_inbound_message()->mutable_sender() = Phone("+821099998888");
  korean.mutable_inbound_message()->set_text("수신거부");
  auto opted_out = NOTIFY(ReceiveInboundMessage, korean);
  ASSERT_TRUE(opted_out.ok()) << opted_out.status();
  EXPECT_EQ(opted_out->action(), v1::ReceiveInboundMessageResponse::ACTION_OPTED_OUT);
  EXPECT_THAT(opted_out->customer(), HasSubstr("customers/"));
  EXPECT_NE(opted_out->customer(), "customers/kim");
  type::CustomerRef stranger;
  *stranger.mutable_identity() = Phone("+821099998888");
  EXPECT_EQ(ConsentOf(stranger, type::CHANNEL_SMS, type::PURPOSE_MARKETING),
            ctx::CONSENT_STATE_DENIED);

  // START grants again; other text changes nothing.
  v1::ReceiveInboundMessageRequest start = stop;
  start.mutable_inbound_message()->set_text("start");
  auto started = NOTIFY(ReceiveInboundMessage, start);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->action(), v1::ReceiveInboundMessageResponse::ACTION_OPTED_IN);
  EXPECT_EQ(ConsentOf(kim, type::CHANNEL_SMS, type::PURPOSE_MARKETING), ctx::CONSENT_STATE_GRANTED);
  v1::ReceiveInboundMessageRequest chat = stop;
  chat.mutable_inbound_message()->set_text("what time is my appointment?");
  chat.mutable_inbound_message()->set_provider("acme-sms");
  chat.mutable_inbound_message()->set_provider_message_id("SM-0042");
  auto nothing = NOTIFY(ReceiveInboundMessage, chat);
  ASSERT_TRUE(nothing.ok()) << nothing.status();
  EXPECT_EQ(nothing->action(), v1::ReceiveInboundMessageResponse::ACTION_NONE);
  EXPECT_EQ(nothing->customer(), "customers/kim");
  EXPECT_EQ(ConsentOf(kim, type::CHANNEL_SMS, type::PURPOSE_MARKETING), ctx::CONSENT_STATE_GRANTED);
  // The provider delivers the same message again: recorded once.
  auto again = NOTIFY(ReceiveInboundMessage, chat);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->interaction(), nothing->interaction());

  // Every message from kim is on kim's timeline, oldest first: STOP, START,
  // the question; each named in its answer.
  ctx::ListInteractionsRequest timeline;
  timeline.set_parent("customers/kim");
  auto listed = CONTEXT(ListInteractions, timeline);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->interactions_size(), 3);
  const ctx::Interaction& question = listed->interactions(0);  // newest first
  EXPECT_EQ(question.name(), nothing->interaction());
  EXPECT_EQ(question.channel(), type::CHANNEL_SMS);
  EXPECT_EQ(question.direction(), ctx::Interaction::DIRECTION_INBOUND);
  EXPECT_EQ(question.type(), "message");
  EXPECT_EQ(question.summary(), "what time is my appointment?");
  EXPECT_EQ(question.identity().value(), kPhone);
  EXPECT_EQ(question.attributes().at("provider_message_id").string_value(), "SM-0042");
  EXPECT_EQ(listed->interactions(1).name(), started->interaction());
  EXPECT_EQ(listed->interactions(1).attributes().at("keyword").string_value(), "START");
  EXPECT_EQ(listed->interactions(2).name(), stopped->interaction());
  EXPECT_EQ(listed->interactions(2).summary(), " Stop! ");

  // A stranger's message that is no keyword creates no customer.
  v1::ReceiveInboundMessageRequest stranger_chat = chat;
  *stranger_chat.mutable_inbound_message()->mutable_sender() = Phone("+821077776666");
  stranger_chat.mutable_inbound_message()->clear_provider_message_id();
  auto unknown = NOTIFY(ReceiveInboundMessage, stranger_chat);
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ(unknown->customer(), "");
  EXPECT_EQ(unknown->interaction(), "");

  // Bad input is named.
  v1::ReceiveInboundMessageRequest no_sender = stop;
  no_sender.mutable_inbound_message()->clear_sender();
  auto bad = NOTIFY(ReceiveInboundMessage, no_sender);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("inbound_message.sender"));
  v1::ReceiveInboundMessageRequest not_a_phone = stop;
  not_a_phone.mutable_inbound_message()->mutable_sender()->set_value("not a number");
  auto refused_sender = NOTIFY(ReceiveInboundMessage, not_a_phone);
  EXPECT_EQ(refused_sender.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused_sender.status().message(), HasSubstr("inbound_message.sender"));
}

TEST_F(NotifyServiceTest, WatchSeesChangesAndSendsGoOnWithoutContextService) {
  CreateTemplate("reminder");
  CreateCustomer("kim");

  // A bad filter is refused when the stream opens.
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", std::string("Bearer ") + kNotifyKey);
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::WatchNotificationsRequest request;
    request.set_filter("colour = RED");
    auto reader = notify_->WatchNotifications(&context, request);
    v1::WatchNotificationsResponse update;
    EXPECT_FALSE(reader->Read(&update));
    const grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("filter"));
  }

  std::unique_ptr<Watch> watch = OpenWatch(kNotifyKey, "state = CANCELLED");
  // Another tenant's watcher sees none of acme's changes.
  std::unique_ptr<Watch> globex = OpenWatch(kGlobexKey, "");

  auto sent = NOTIFY(SendNotification, SendLater("customers/kim", type::PURPOSE_TRANSACTIONAL));
  ASSERT_TRUE(sent.ok()) << sent.status();
  v1::CancelNotificationRequest cancel;
  cancel.set_name(sent->notification().name());
  ASSERT_TRUE(NOTIFY(CancelNotification, cancel).ok());
  // The SCHEDULED send did not pass the filter; the cancellation did.
  v1::WatchNotificationsResponse update;
  ASSERT_TRUE(watch->reader->Read(&update));
  EXPECT_EQ(update.notification().name(), sent->notification().name());
  EXPECT_EQ(update.notification().state(), v1::Notification::STATE_CANCELLED);
  watch->context.TryCancel();
  while (watch->reader->Read(&update)) {
  }
  EXPECT_EQ(watch->reader->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // globex has no context_service key: its sends are refused at once (they
  // could never be delivered), naming the flag to fix, and its watcher saw
  // none of acme's changes.
  v1::CreateTemplateRequest globex_template;
  globex_template.set_template_id("globex");
  globex_template.mutable_template_()->set_display_name("Globex");
  globex_template.mutable_template_()->add_locales()->mutable_sms()->set_text("Hi {{date}}");
  auto globex_created = KeyedCall(*notify_, &NotifyService::Stub::CreateTemplate, globex_template,
                                  std::string(kGlobexKey));
  ASSERT_TRUE(globex_created.ok()) << globex_created.status();
  v1::SendNotificationRequest globex_send = Send("customers/kim", type::PURPOSE_SERVICE);
  globex_send.set_template_("templates/globex");
  auto globex_sent = KeyedCall(*notify_, &NotifyService::Stub::SendNotification, globex_send,
                               std::string(kGlobexKey));
  EXPECT_EQ(globex_sent.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(globex_sent.status().message(), HasSubstr("--context_api_keys_file"));
  globex->context.TryCancel();
  EXPECT_FALSE(globex->reader->Read(&update));
  EXPECT_EQ(globex->reader->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // Redrive, receipts and dead letters reach the core and say what is wrong.
  v1::RedriveNotificationRequest redrive;
  redrive.set_name(sent->notification().name());
  auto not_failed = NOTIFY(RedriveNotification, redrive);
  EXPECT_EQ(not_failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(not_failed.status().message(), HasSubstr(sent->notification().name()));
  v1::ReportDeliveryStatusRequest receipt;
  receipt.set_provider("twilio");
  receipt.set_provider_message_id("SM123");
  receipt.set_result(v1::DeliveryAttempt::RESULT_DELIVERED);
  EXPECT_EQ(NOTIFY(ReportDeliveryStatus, receipt).status().code(), absl::StatusCode::kNotFound);
  receipt.set_result(v1::DeliveryAttempt::RESULT_SENT);
  auto bad_result = NOTIFY(ReportDeliveryStatus, receipt);
  EXPECT_EQ(bad_result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_result.status().message(), HasSubstr("result"));
  auto dead = NOTIFY(ListDeadLetters, v1::ListDeadLettersRequest());
  ASSERT_TRUE(dead.ok()) << dead.status();
  EXPECT_EQ(dead->notifications_size(), 0);

  // context_service gone: the send is accepted, to be judged at delivery.
  context_server_->Signal(SIGKILL);
  ASSERT_TRUE(context_server_->Wait(absl::Seconds(10)).has_value());
  const absl::Time start = absl::Now();
  auto unjudged = NOTIFY(SendNotification, Send("customers/kim", type::PURPOSE_MARKETING));
  ASSERT_TRUE(unjudged.ok()) << unjudged.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(unjudged->notification().state(), v1::Notification::STATE_QUEUED);
  EXPECT_EQ(unjudged->notification().resolved_customer(), "customers/kim");
  EXPECT_TRUE(unjudged->notification().channel_order().empty());
  // Inbound messages, keywords or not, cannot be recorded: the caller is
  // told to retry.
  v1::ReceiveInboundMessageRequest stop;
  stop.mutable_inbound_message()->set_channel(type::CHANNEL_SMS);
  *stop.mutable_inbound_message()->mutable_sender() = Phone(kPhone);
  stop.mutable_inbound_message()->set_text("STOP");
  EXPECT_EQ(NOTIFY(ReceiveInboundMessage, stop).status().code(), absl::StatusCode::kUnavailable);
  v1::ReceiveInboundMessageRequest question = stop;
  question.mutable_inbound_message()->set_text("Where is my parcel?");
  EXPECT_EQ(NOTIFY(ReceiveInboundMessage, question).status().code(),
            absl::StatusCode::kUnavailable);

  // SIGTERM ends open watches at once (UNAVAILABLE: reconnect elsewhere),
  // so the drain does not wait for them.
  watch = OpenWatch(kNotifyKey, "");
  const absl::Time term = absl::Now();
  notify_server_->Signal(SIGTERM);
  while (watch->reader->Read(&update)) {
  }
  const grpc::Status ended = watch->reader->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE) << ended.error_message();
  EXPECT_EQ(notify_server_->Wait(absl::Seconds(15)), 0);
  EXPECT_LT(absl::Now() - term, absl::Seconds(15));
}

TEST_F(NotifyServiceTest, TriggerRulesAndTemplatesWithEtags) {
  CreateTemplate("reminder");
  v1::CreateTriggerRuleRequest create = RescheduledRule();
  auto created = NOTIFY(CreateTriggerRule, create);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->trigger_rule().name(), "triggerRules/rescheduled");
  EXPECT_EQ(NOTIFY(CreateTriggerRule, create).status().code(), absl::StatusCode::kAlreadyExists);
  v1::CreateTriggerRuleRequest bad = create;
  bad.set_trigger_rule_id("bad");
  bad.mutable_trigger_rule()->set_filter("journey.stepp = \"x\"");
  auto refused = NOTIFY(CreateTriggerRule, bad);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("filter"));
  bad = create;
  bad.set_trigger_rule_id("other");
  bad.mutable_trigger_rule()->set_template_("templates/none");
  EXPECT_EQ(NOTIFY(CreateTriggerRule, bad).status().code(), absl::StatusCode::kNotFound);

  v1::GetTriggerRuleRequest get;
  get.set_name("triggerRules/rescheduled");
  auto got = NOTIFY(GetTriggerRule, get);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->trigger_rule().etag(), created->trigger_rule().etag());

  v1::UpdateTriggerRuleRequest update;
  update.mutable_trigger_rule()->set_name("triggerRules/rescheduled");
  update.mutable_trigger_rule()->set_enabled(false);
  update.mutable_trigger_rule()->set_etag("99");
  update.mutable_update_mask()->add_paths("enabled");
  EXPECT_EQ(NOTIFY(UpdateTriggerRule, update).status().code(), absl::StatusCode::kAborted);
  update.mutable_trigger_rule()->set_etag(created->trigger_rule().etag());
  auto updated = NOTIFY(UpdateTriggerRule, update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_FALSE(updated->trigger_rule().enabled());
  EXPECT_NE(updated->trigger_rule().etag(), created->trigger_rule().etag());
  EXPECT_EQ(NOTIFY(UpdateTriggerRule, update).status().code(), absl::StatusCode::kAborted);

  v1::ListTriggerRulesRequest list;
  list.set_filter("enabled = false AND change_kinds:JOURNEY_ADVANCED");
  auto listed = NOTIFY(ListTriggerRules, list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->trigger_rules_size(), 1);
  list.set_filter("enabled = true");
  listed = NOTIFY(ListTriggerRules, list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->trigger_rules_size(), 0);

  // The rule keeps its template.
  v1::DeleteTemplateRequest delete_template;
  delete_template.set_name("templates/reminder");
  auto in_use = NOTIFY(DeleteTemplate, delete_template);
  EXPECT_EQ(in_use.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(in_use.status().message(), HasSubstr("triggerRules/rescheduled"));

  v1::DeleteTriggerRuleRequest remove;
  remove.set_name("triggerRules/rescheduled");
  remove.set_etag(created->trigger_rule().etag());
  EXPECT_EQ(NOTIFY(DeleteTriggerRule, remove).status().code(), absl::StatusCode::kAborted);
  remove.set_etag(updated->trigger_rule().etag());
  ASSERT_TRUE(NOTIFY(DeleteTriggerRule, remove).ok());
  EXPECT_EQ(NOTIFY(GetTriggerRule, get).status().code(), absl::StatusCode::kNotFound);

  // Templates: a content update adds a version; a stale etag is refused.
  v1::GetTemplateRequest get_template;
  get_template.set_name("templates/reminder");
  auto tmpl = NOTIFY(GetTemplate, get_template);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  v1::UpdateTemplateRequest change;
  *change.mutable_template_() = tmpl->template_();
  change.mutable_template_()->mutable_locales(0)->mutable_sms()->set_text("See you {{date}}");
  change.mutable_update_mask()->add_paths("locales");
  auto changed = NOTIFY(UpdateTemplate, change);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->template_().version(), 2);
  EXPECT_EQ(NOTIFY(UpdateTemplate, change).status().code(), absl::StatusCode::kAborted);
  get_template.set_version(1);
  auto old = NOTIFY(GetTemplate, get_template);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->template_().locales(0).sms().text(), "Appointment on {{date}}");
  auto templates = NOTIFY(ListTemplates, v1::ListTemplatesRequest());
  ASSERT_TRUE(templates.ok()) << templates.status();
  ASSERT_EQ(templates->templates_size(), 1);
  delete_template.set_etag(changed->template_().etag());
  ASSERT_TRUE(NOTIFY(DeleteTemplate, delete_template).ok());
  get_template.set_version(0);
  EXPECT_EQ(NOTIFY(GetTemplate, get_template).status().code(), absl::StatusCode::kNotFound);

  // Without a key nothing is answered.
  EXPECT_EQ(
      KeyedCall(*notify_, &NotifyService::Stub::GetTemplate, get_template, std::string("wrong"))
          .status()
          .code(),
      absl::StatusCode::kUnauthenticated);
}

// The trigger consumer follows context_service's change stream: a journey
// moved to "rescheduled" sends the rule's template to that customer, once,
// and a change made while notify_service is down (killed) is sent after the
// restart, without sending the first one again.
TEST_F(NotifyServiceTest, ATriggerRuleFiresExactlyOnceAcrossARestart) {
  CreateTemplate("reminder");
  CreateCustomer("kim");
  CreateCustomer("lee", "+821087654321");
  v1::CreateTriggerRuleRequest create = RescheduledRule();
  ASSERT_TRUE(NOTIFY(CreateTriggerRule, create).ok());

  auto start_journey = [&](const std::string& customer) {
    ctx::StartJourneyRequest request;
    request.set_parent("customers/" + customer);
    request.mutable_journey()->set_type("missed_delivery");
    request.set_step("missed");
    auto started = CONTEXT(StartJourney, request);
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? started->journey().name() : std::string();
  };
  auto advance = [&](const std::string& journey, const std::string& step) {
    ctx::AdvanceJourneyRequest request;
    request.set_name(journey);
    request.set_step(step);
    auto advanced = CONTEXT(AdvanceJourney, request);
    EXPECT_TRUE(advanced.ok()) << advanced.status();
  };
  // The rule's notifications, oldest first, once there are `count` (or
  // whatever there is after 30 s).
  auto triggered = [&](size_t count) {
    std::vector<v1::Notification> found;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    do {
      v1::ListNotificationsRequest request;
      request.set_filter("trigger_rule = \"triggerRules/rescheduled\"");
      auto listed = NOTIFY(ListNotifications, request);
      if (listed.ok()) {
        found.assign(listed->notifications().rbegin(), listed->notifications().rend());
      }
      if (found.size() >= count) break;
      absl::SleepFor(absl::Milliseconds(100));
    } while (absl::Now() < deadline);
    return found;
  };

  const std::string kim_journey = start_journey("kim");
  const std::string lee_journey = start_journey("lee");
  advance(kim_journey, "rescheduled");
  const std::vector<v1::Notification> first = triggered(1);
  ASSERT_EQ(first.size(), 1u) << notify_server_->Stderr();
  EXPECT_EQ(first[0].resolved_customer(), "customers/kim");
  EXPECT_EQ(first[0].variables().at("date"), "rescheduled");
  EXPECT_EQ(first[0].purpose(), type::PURPOSE_SERVICE);
  EXPECT_THAT(first[0].idempotency_key(), ::testing::StartsWith("trigger:rescheduled:"));

  // Killed at once: the consumer's position may not be on disk yet, so the
  // restart may see kim's change again; it must not send it twice.
  notify_server_->Signal(SIGKILL);
  ASSERT_TRUE(notify_server_->Wait(absl::Seconds(10)).has_value());
  advance(lee_journey, "rescheduled");  // while notify_service is down
  advance(kim_journey, "delivered");    // matches no rule
  StartNotify();

  const std::vector<v1::Notification> after = triggered(2);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].name(), first[0].name());
  EXPECT_EQ(after[1].resolved_customer(), "customers/lee");
  EXPECT_NE(after[1].idempotency_key(), first[0].idempotency_key());
  // Nothing else comes: give the consumer time to (wrongly) send more.
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(triggered(0).size(), 2u);
}

TEST_F(NotifyServiceTest, DeliversEmailAndRecordsItOnTheCustomersTimeline) {
  CreateTemplate("reminder");
  CreateCustomer("kim");
  auto sent = NOTIFY(SendNotification, Send("customers/kim", type::PURPOSE_TRANSACTIONAL));
  ASSERT_TRUE(sent.ok()) << sent.status();
  const std::string name = sent->notification().name();

  // The dispatcher delivers by email (first in the template's order).
  const v1::Notification delivered = AwaitDelivery(name);
  ASSERT_EQ(delivered.state(), v1::Notification::STATE_DELIVERED) << delivered.DebugString();
  ASSERT_GE(delivered.attempts_size(), 1);
  EXPECT_EQ(delivered.attempts(0).channel(), type::CHANNEL_EMAIL);

  // What the SMTP server received.
  const std::string eml = cxp::notify::delivery::testing::ReadFile(mail_dir_ + "/1.eml");
  EXPECT_THAT(eml, HasSubstr("kim@example.com"));
  EXPECT_THAT(eml, HasSubstr("Your appointment"));
  EXPECT_THAT(eml, HasSubstr("See you on Friday."));

  // And the customer's timeline in context_service shows it.
  bool on_timeline = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!on_timeline && absl::Now() < deadline) {
    ctx::ListInteractionsRequest list;
    list.set_parent("customers/kim");
    auto interactions = CONTEXT(ListInteractions, list);
    ASSERT_TRUE(interactions.ok()) << interactions.status();
    for (const ctx::Interaction& interaction : interactions->interactions()) {
      on_timeline |= interaction.channel() == type::CHANNEL_EMAIL &&
                     interaction.direction() == ctx::Interaction::DIRECTION_OUTBOUND;
    }
    if (!on_timeline) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(on_timeline);
}

TEST_F(NotifyServiceTest, OneClickUnsubscribeLinkInMarketingEmailDeniesMarketingByEmail) {
  using ::cxp::notify::delivery::testing::StringAt;
  using ::cxp::testing::HttpFetch;
  CreateTemplate("reminder");
  CreateCustomer("kim");
  type::CustomerRef kim;
  kim.set_customer("customers/kim");
  ctx::UpdateConsentRequest grant;
  grant.set_customer("customers/kim");
  grant.set_channel(type::CHANNEL_EMAIL);
  grant.set_purpose(type::PURPOSE_MARKETING);
  grant.set_state(ctx::CONSENT_STATE_GRANTED);
  grant.mutable_evidence()->set_source("web_form");
  ASSERT_TRUE(CONTEXT(UpdateConsent, grant).ok());

  auto sent = NOTIFY(SendNotification, Send("customers/kim", type::PURPOSE_MARKETING));
  ASSERT_TRUE(sent.ok()) << sent.status();
  const v1::Notification delivered = AwaitDelivery(sent->notification().name());
  ASSERT_EQ(delivered.state(), v1::Notification::STATE_DELIVERED) << delivered.DebugString();
  ASSERT_EQ(delivered.channel(), type::CHANNEL_EMAIL);

  // The delivered mail carries the RFC 8058 pair with the public URL.
  const google::protobuf::Struct mail = ReceivedMail(1);
  EXPECT_EQ(StringAt(mail, "headers.List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
  const std::string header = StringAt(mail, "headers.List-Unsubscribe");
  const std::string public_prefix = "<https://notify.shop.example/unsubscribe?t=";
  ASSERT_TRUE(absl::StartsWith(header, public_prefix) && absl::EndsWith(header, ">")) << header;
  const std::string token =
      header.substr(public_prefix.size(), header.size() - public_prefix.size() - 1);
  // The ingress in front would map the public URL to the listener.
  const std::string base =
      "http://127.0.0.1:" + std::to_string(unsubscribe_port_) + "/unsubscribe?t=";
  const std::string link = base + token;
  const std::string one_click = "List-Unsubscribe=One-Click";
  const std::string form = "application/x-www-form-urlencoded";

  // GET (a mail scanner, or the customer's browser) shows a form and
  // changes nothing.
  auto page = HttpFetch("GET", link);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("<form method=\"post\">"));
  EXPECT_EQ(ConsentOf(kim, type::CHANNEL_EMAIL, type::PURPOSE_MARKETING),
            ctx::CONSENT_STATE_GRANTED);

  // An edited token, a foreign one or none: 400, nothing changes.
  std::string edited = token;
  edited[0] = edited[0] == 'A' ? 'B' : 'A';
  for (const std::string& bad_link :
       {base + edited, base + "abc.def", base,
        "http://127.0.0.1:" + std::to_string(unsubscribe_port_) + "/unsubscribe"}) {
    auto refused = HttpFetch("POST", bad_link, one_click, form);
    ASSERT_TRUE(refused.ok()) << refused.status();
    EXPECT_EQ(refused->status, 400) << bad_link;
  }
  EXPECT_EQ(ConsentOf(kim, type::CHANNEL_EMAIL, type::PURPOSE_MARKETING),
            ctx::CONSENT_STATE_GRANTED);

  // The one-click POST unsubscribes; a repeated one answers the same.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto done = HttpFetch("POST", link, one_click, form);
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(done->status, 200) << done->body;
    EXPECT_THAT(done->body, HasSubstr("unsubscribed"));
    EXPECT_EQ(ConsentOf(kim, type::CHANNEL_EMAIL, type::PURPOSE_MARKETING),
              ctx::CONSENT_STATE_DENIED);
  }
  auto wrong_method = HttpFetch("PUT", link);
  ASSERT_TRUE(wrong_method.ok()) << wrong_method.status();
  EXPECT_EQ(wrong_method->status, 405);

  // Marketing is refused now (EMAIL denied, SMS never granted); a
  // transactional email still goes, without the unsubscribe headers.
  auto marketing = NOTIFY(SendNotification, Send("customers/kim", type::PURPOSE_MARKETING));
  EXPECT_EQ(marketing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(marketing.status().message(), HasSubstr("EMAIL"));
  auto transactional = NOTIFY(SendNotification, Send("customers/kim", type::PURPOSE_TRANSACTIONAL));
  ASSERT_TRUE(transactional.ok()) << transactional.status();
  const v1::Notification receipt = AwaitDelivery(transactional->notification().name());
  ASSERT_EQ(receipt.state(), v1::Notification::STATE_DELIVERED) << receipt.DebugString();
  EXPECT_EQ(receipt.channel(), type::CHANNEL_EMAIL);
  EXPECT_EQ(StringAt(ReceivedMail(2), "headers.List-Unsubscribe"), "");

  // The link outlives a restart (its key is in the store), and the
  // listener stops with the service.
  notify_server_->Signal(SIGTERM);
  EXPECT_EQ(notify_server_->Wait(absl::Seconds(15)), 0);
  notify_server_.reset();
  EXPECT_FALSE(HttpFetch("POST", link, one_click, form).ok());  // nobody listens
  StartNotify();
  auto again = HttpFetch("POST", link, one_click, form);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->status, 200) << again->body;

  // context_service down: 503, so the mail client tries again later.
  context_server_->Signal(SIGKILL);
  ASSERT_TRUE(context_server_->Wait(absl::Seconds(10)).has_value());
  auto unavailable = HttpFetch("POST", link, one_click, form);
  ASSERT_TRUE(unavailable.ok()) << unavailable.status();
  EXPECT_EQ(unavailable->status, 503) << unavailable->body;
}

TEST_F(NotifyServiceTest, UnsubscribeFlagsComeTogetherAndTheLinkIsHttps) {
  notify_server_.reset();
  std::vector<std::string> flags = NotifyFlags();
  std::erase_if(
      flags, [](const std::string& flag) { return flag.starts_with("--unsubscribe_base_url="); });
  auto refused = ServerProcess::Start(BinaryPath("notify_service/notify_service"), flags);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("--unsubscribe_listen and --unsubscribe_base_url: set both or neither"));
  flags.push_back("--unsubscribe_base_url=http://notify.shop.example/unsubscribe");
  refused = ServerProcess::Start(BinaryPath("notify_service/notify_service"), flags);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("unsubscribe_base_url: must be an https URL"));
}

}  // namespace
}  // namespace cxp::notify
