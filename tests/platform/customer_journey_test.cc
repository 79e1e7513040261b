// The platform end to end, as the domain texts tell it: a parcel that did not
// arrive, followed across voice, SMS and chat. The three real services run as
// child processes on loopback, beside a real SMTP server (aiosmtpd) and a real
// HTTP server standing in for the SMS provider's API; the test talks to them
// only through the generated clients, as a voice platform, a chat channel, an
// agent desktop and the business's back office would.
//
//   1. Kim calls from a number written in local format; the voice channel
//      resolves her, starts a missed_delivery journey and routing offers the
//      call to the Korean-speaking delivery agent (not the English-speaking
//      one, not the one who is logged out). The agent accepts, wraps up and
//      completes with a note, and links Kim's KakaoTalk handle.
//   2. That evening the journey moves to "rescheduled"; a trigger rule sends
//      an SMS, which is held in Kim's quiet hours (a window of a minute or
//      two starting now, in her time zone) and goes out through the SMS
//      provider when they end, in Korean, by SMS as she prefers.
//   3. Next morning Kim writes from KakaoTalk: the chat channel finds her by
//      the handle, GetCustomerContext shows the call, the SMS and the open
//      journey, and routing reserves the chat for the agent who took the
//      call although a more skilled agent is free, saying so.
//   4. Kim texts STOP (the message lands on her timeline too): a marketing
//      send is refused for lack of consent, a transactional one still goes
//      by SMS.
// Every step is asserted, and at the end the order of the whole timeline.
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/notify_service/delivery/test_servers.h"
#include "tests/routing_service/routing_client.h"
#include "tests/testing/keyed_call.h"
#include "tests/testing/server_process.h"

namespace cxp {
namespace {

using ::cxp::testing::BinaryPath;
using ::cxp::testing::KeyedCall;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
using ::google::protobuf::util::TimeUtil;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace ctx = ::cxp::context::v1;
namespace routing = ::cxp::routing::v1;
namespace notify = ::cxp::notify::v1;
namespace type = ::cxp::type::v1;
namespace delivery_testing = ::cxp::notify::delivery::testing;
using RoutingClient = ::cxp::routing::testing::Client;

// One tenant, one key for all three services (and for the calls routing and
// notify make to context_service).
constexpr char kKey[] = "parcelco-key-0123456789abcdef0123";
constexpr char kLocalPhone[] = "010-2345-6789";  // Korean national format
constexpr char kPhone[] = "+821023456789";       // the same number, E.164
constexpr char kKakaoHandle[] = "kakao-7f3a91";
constexpr char kTimeZone[] = "Asia/Seoul";

#define CONTEXT(Method, request) \
  KeyedCall(*context_, &ctx::ContextService::Stub::Method, (request), kKey)
#define ROUTING(Method, request) \
  KeyedCall(routing_->stub(), &routing::RoutingService::Stub::Method, (request), kKey)
#define NOTIFY(Method, request) \
  KeyedCall(*notify_, &notify::NotifyService::Stub::Method, (request), kKey)

type::Identity PhoneInLocalFormat() {
  type::Identity identity;
  identity.set_kind(type::IDENTITY_KIND_PHONE);
  identity.set_value(kLocalPhone);
  identity.set_region_code("KR");
  return identity;
}

type::Identity KakaoHandle() {
  type::Identity identity;
  identity.set_kind(type::IDENTITY_KIND_CHAT_HANDLE);
  identity.set_namespace_("kakaotalk");
  identity.set_value(kKakaoHandle);
  return identity;
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
}

// The candidate entry for `agent` in a routing decision.
routing::AgentCandidate CandidateOf(const routing::RoutingDecision& decision,
                                    const std::string& agent) {
  for (const routing::AgentCandidate& candidate : decision.candidates()) {
    if (candidate.agent() == agent) return candidate;
  }
  ADD_FAILURE() << agent << " is not a candidate in " << decision.DebugString();
  return routing::AgentCandidate();
}

class CustomerJourneyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("customer_journey_test_");
    keys_file_ = dir_ + "/api_keys";
    std::ofstream(keys_file_) << "parcelco " << kKey << "\n";
    const std::vector<std::string> common = {"--api_keys_file=" + keys_file_,
                                             "--metrics_listen=off", "--log_requests=false"};
    auto with = [&](std::vector<std::string> flags) {
      flags.insert(flags.end(), common.begin(), common.end());
      return flags;
    };

    auto context_server = ServerProcess::Start(BinaryPath("context_service/context_service"),
                                               with({"--data_dir=" + dir_ + "/context"}));
    ASSERT_TRUE(context_server.ok()) << context_server.status();
    context_server_.emplace(*std::move(context_server));
    // Generous context deadlines: the test machine is small and shared.
    const std::vector<std::string> to_context = {"--context_service=" + context_server_->address(),
                                                 "--context_api_keys_file=" + keys_file_,
                                                 "--context_timeout=2s"};

    auto routing_server = ServerProcess::Start(
        BinaryPath("routing_service/routing_service"),
        with({"--data_dir=" + dir_ + "/routing", to_context[0], to_context[1], to_context[2]}));
    ASSERT_TRUE(routing_server.ok()) << routing_server.status();
    routing_server_.emplace(*std::move(routing_server));

    // The outside world of notify_service: an SMTP server for email and an
    // HTTP server as the SMS provider's API, both recording what they get.
    mail_dir_ = dir_ + "/mail";
    std::filesystem::create_directories(mail_dir_);
    auto smtp = delivery_testing::StartSmtpServer(mail_dir_);
    ASSERT_TRUE(smtp.ok()) << smtp.status();
    smtp_server_.emplace(*std::move(smtp));
    sms_record_ = dir_ + "/sms_provider.jsonl";
    auto sms_provider = delivery_testing::StartHttpReceiver(sms_record_);
    ASSERT_TRUE(sms_provider.ok()) << sms_provider.status();
    sms_provider_.emplace(*std::move(sms_provider));

    auto notify_server = ServerProcess::Start(
        BinaryPath("notify_service/notify_service"),
        with(
            {"--data_dir=" + dir_ + "/notify", to_context[0], to_context[1], to_context[2],
             "--smtp_host=127.0.0.1", "--smtp_port=" + std::to_string(smtp_server_->port()),
             "--smtp_starttls=none", "--smtp_from=ParcelCo <notify@parcelco.example>",
             "--sms_provider_url=http://127.0.0.1:" + std::to_string(sms_provider_->port()) + "/ok",
             "--sms_provider_message_id_path=message.id", "--sms_provider_from=ParcelCo"}));
    ASSERT_TRUE(notify_server.ok()) << notify_server.status();
    notify_server_.emplace(*std::move(notify_server));

    context_ = ctx::ContextService::NewStub(
        grpc::CreateChannel(context_server_->address(), grpc::InsecureChannelCredentials()));
    routing_ = std::make_unique<RoutingClient>(routing_server_->address());
    notify_ = notify::NotifyService::NewStub(
        grpc::CreateChannel(notify_server_->address(), grpc::InsecureChannelCredentials()));
  }

  // --- the business's set-up, through the same APIs -----------------------

  // Kim: phone and email, Korean, in Seoul, SMS preferred, marketing by SMS
  // granted on the web shop's sign-up form.
  std::string CreateKim() {
    ctx::CreateCustomerRequest create;
    create.set_customer_id("kim-jiwoo");
    ctx::Customer& kim = *create.mutable_customer();
    kim.set_display_name("김지우");
    kim.set_language_code("ko-KR");
    kim.set_time_zone(kTimeZone);
    type::Identity& phone = *kim.add_identities()->mutable_identity();
    phone.set_kind(type::IDENTITY_KIND_PHONE);
    phone.set_value(kPhone);
    type::Identity& email = *kim.add_identities()->mutable_identity();
    email.set_kind(type::IDENTITY_KIND_EMAIL);
    email.set_value("jiwoo.kim@example.com");
    auto created = CONTEXT(CreateCustomer, create);
    EXPECT_TRUE(created.ok()) << created.status();

    ctx::UpdateConsentRequest grant;
    grant.set_customer("customers/kim-jiwoo");
    grant.set_channel(type::CHANNEL_SMS);
    grant.set_purpose(type::PURPOSE_MARKETING);
    grant.set_state(ctx::CONSENT_STATE_GRANTED);
    grant.mutable_evidence()->set_source("web_signup_form");
    auto granted = CONTEXT(UpdateConsent, grant);
    EXPECT_TRUE(granted.ok()) << granted.status();

    ctx::UpdateContactPreferencesRequest prefer_sms;
    prefer_sms.mutable_contact_preferences()->set_name("customers/kim-jiwoo/contactPreferences");
    prefer_sms.mutable_contact_preferences()->add_channel_order(type::CHANNEL_SMS);
    prefer_sms.mutable_contact_preferences()->add_channel_order(type::CHANNEL_EMAIL);
    prefer_sms.mutable_update_mask()->add_paths("channel_order");
    auto preferred = CONTEXT(UpdateContactPreferences, prefer_sms);
    EXPECT_TRUE(preferred.ok()) << preferred.status();
    return created.ok() ? created->customer().name() : "";
  }

  // Queue "delivery" (skill delivery, intent missed_delivery, most skilled
  // agent first, a returning customer's last agent waited for 2 minutes) and
  // three agents serving it.
  void CreateContactCentre() {
    routing::CreateQueueRequest queue;
    queue.set_queue_id("delivery");
    routing::Queue& delivery = *queue.mutable_queue();
    delivery.set_display_name("Delivery problems");
    routing::SkillRequirement& skill = *delivery.add_required_skills();
    skill.set_skill("delivery");
    skill.set_min_proficiency(2);
    delivery.set_distribution_strategy(routing::DISTRIBUTION_STRATEGY_MOST_SKILLED);
    delivery.add_intents("missed_delivery");
    delivery.mutable_last_agent_window()->set_seconds(120);
    auto created = ROUTING(CreateQueue, queue);
    ASSERT_TRUE(created.ok()) << created.status();

    CreateAgent("minji", "박민지", /*proficiency=*/3, "ko");
    CreateAgent("junho", "이준호", /*proficiency=*/5, "ko");  // the most skilled
    CreateAgent("emma", "Emma Stone", /*proficiency=*/5, "en");
  }

  // An agent serving queues/delivery: one call at a time (blocking chat),
  // three chats.
  void CreateAgent(const std::string& id, const std::string& display_name, int proficiency,
                   const std::string& language) {
    routing::CreateAgentRequest request;
    request.set_agent_id(id);
    routing::Agent& agent = *request.mutable_agent();
    agent.set_display_name(display_name);
    routing::AgentSkill& skill = *agent.add_skills();
    skill.set_skill("delivery");
    skill.set_proficiency(proficiency);
    agent.add_language_codes(language);
    routing::ChannelCapacity& voice = *agent.add_channel_capacities();
    voice.set_channel(type::CHANNEL_VOICE);
    voice.set_max_tasks(1);
    voice.add_blocked_channels(type::CHANNEL_CHAT);
    routing::ChannelCapacity& chat = *agent.add_channel_capacities();
    chat.set_channel(type::CHANNEL_CHAT);
    chat.set_max_tasks(3);
    agent.add_queues("queues/delivery");
    auto created = ROUTING(CreateAgent, request);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  // An agent at their desk: desktop open, AVAILABLE.
  std::unique_ptr<RoutingClient::Desktop> LogIn(const std::string& agent) {
    // Long enough for the whole story, quiet hours included.
    auto desktop = routing_->OpenDesktop(kKey, agent, absl::Minutes(5));
    routing::SetAgentStateRequest available;
    available.set_name(agent);
    available.set_state(routing::AGENT_STATE_AVAILABLE);
    auto set = ROUTING(SetAgentState, available);
    EXPECT_TRUE(set.ok()) << set.status();
    return desktop;
  }

  // Templates: the trigger's redelivery SMS (Korean and default locales, and
  // an email), a marketing promotion and a transactional delivery receipt.
  void CreateTemplates() {
    notify::CreateTemplateRequest redelivery;
    redelivery.set_template_id("parcel-rescheduled");
    redelivery.mutable_template_()->set_display_name("Parcel redelivery booked");
    notify::TemplateLocale& korean = *redelivery.mutable_template_()->add_locales();
    korean.set_language_code("ko");
    korean.mutable_sms()->set_text("{{name}}님, 택배가 {{slot}}에 다시 배송됩니다.");
    korean.mutable_email()->set_subject("택배 재배송 안내");
    korean.mutable_email()->set_text_body("{{name}}님, 택배가 {{slot}}에 다시 배송됩니다.");
    notify::TemplateLocale& fallback = *redelivery.mutable_template_()->add_locales();
    fallback.mutable_sms()->set_text("{{name}}, your parcel comes again {{slot}}.");
    auto created = NOTIFY(CreateTemplate, redelivery);
    ASSERT_TRUE(created.ok()) << created.status();

    notify::CreateTemplateRequest promo;
    promo.set_template_id("spring-promo");
    promo.mutable_template_()->set_display_name("Spring promotion");
    promo.mutable_template_()->add_locales()->mutable_sms()->set_text(
        "Spring sale: 20% off express shipping this week.");
    created = NOTIFY(CreateTemplate, promo);
    ASSERT_TRUE(created.ok()) << created.status();

    notify::CreateTemplateRequest receipt;
    receipt.set_template_id("delivery-receipt");
    receipt.mutable_template_()->set_display_name("Delivered");
    receipt.mutable_template_()->add_locales()->mutable_sms()->set_text(
        "Parcel {{parcel}} was delivered.");
    created = NOTIFY(CreateTemplate, receipt);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  // A missed delivery moved to "rescheduled" sends templates/parcel-rescheduled.
  void CreateRescheduledTrigger() {
    notify::CreateTriggerRuleRequest create;
    create.set_trigger_rule_id("parcel-rescheduled");
    notify::TriggerRule& rule = *create.mutable_trigger_rule();
    rule.set_display_name("Tell the customer when a missed delivery is rescheduled");
    rule.add_change_kinds(ctx::CHANGE_KIND_JOURNEY_ADVANCED);
    rule.set_filter("journey.type = \"missed_delivery\" AND journey.step = \"rescheduled\"");
    rule.set_template_("templates/parcel-rescheduled");
    rule.set_purpose(type::PURPOSE_SERVICE);
    (*rule.mutable_variables())["name"] = "customer.display_name";
    (*rule.mutable_variables())["slot"] = "journey.attributes.redelivery_slot";
    rule.set_enabled(true);
    auto created = NOTIFY(CreateTriggerRule, create);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  // --- what the channels and the desktop do --------------------------------

  // The agent takes the offered task through to COMPLETED with `notes`.
  routing::Task AcceptWrapUpAndComplete(const std::string& task, const std::string& agent,
                                        const std::string& notes) {
    routing::AcceptTaskRequest accept;
    accept.set_name(task);
    accept.set_agent(agent);
    auto accepted = ROUTING(AcceptTask, accept);
    EXPECT_TRUE(accepted.ok()) << accepted.status();
    routing::WrapUpTaskRequest wrap_up;
    wrap_up.set_name(task);
    wrap_up.set_agent(agent);
    auto wrapping = ROUTING(WrapUpTask, wrap_up);
    EXPECT_TRUE(wrapping.ok()) << wrapping.status();
    if (wrapping.ok()) {
      EXPECT_EQ(wrapping->task().state(), routing::Task::STATE_WRAP_UP);
    }
    routing::CompleteTaskRequest complete;
    complete.set_name(task);
    complete.set_agent(agent);
    complete.set_wrap_up_notes(notes);
    auto completed = ROUTING(CompleteTask, complete);
    EXPECT_TRUE(completed.ok()) << completed.status();
    return completed.ok() ? completed->task() : routing::Task();
  }

  // What a channel records on the timeline once a contact is over.
  std::string Append(const std::string& customer, type::Channel channel,
                     ctx::Interaction::Direction direction, const std::string& interaction_type,
                     const type::Identity& identity, const std::string& agent,
                     const std::string& journey, const std::string& summary) {
    ctx::AppendInteractionRequest request;
    request.mutable_customer()->set_customer(customer);
    ctx::Interaction& interaction = *request.mutable_interaction();
    interaction.set_channel(channel);
    interaction.set_direction(direction);
    interaction.set_type(interaction_type);
    *interaction.mutable_identity() = identity;
    interaction.set_agent(agent);
    if (!agent.empty()) interaction.set_queue("queues/delivery");
    interaction.set_journey(journey);
    interaction.set_summary(summary);
    auto appended = CONTEXT(AppendInteraction, request);
    EXPECT_TRUE(appended.ok()) << appended.status();
    return appended.ok() ? appended->interaction().name() : "";
  }

  // The notifications made by trigger rule `rule`, once there is one (or
  // none after 30 s).
  std::optional<notify::Notification> TriggeredBy(const std::string& rule) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    do {
      notify::ListNotificationsRequest list;
      list.set_filter("trigger_rule = \"" + rule + "\"");
      auto listed = NOTIFY(ListNotifications, list);
      EXPECT_TRUE(listed.ok()) << listed.status();
      if (listed.ok() && listed->notifications_size() > 0) return listed->notifications(0);
      absl::SleepFor(absl::Milliseconds(100));
    } while (absl::Now() < deadline);
    return std::nullopt;
  }

  // The notification once it is DELIVERED (or as it is at `deadline`).
  notify::Notification AwaitDelivered(const std::string& name, absl::Time deadline) {
    notify::GetNotificationRequest get;
    get.set_name(name);
    absl::StatusOr<notify::GetNotificationResponse> got;
    while (true) {
      got = NOTIFY(GetNotification, get);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) return notify::Notification();
      if (got->notification().state() == notify::Notification::STATE_DELIVERED ||
          absl::Now() > deadline) {
        return got->notification();
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  // The customer's timeline, oldest first, once it holds `count`
  // interactions (or as it is after 30 s: notify_service appends its
  // deliveries shortly after they are made).
  std::vector<ctx::Interaction> Timeline(const std::string& customer, int count) {
    std::vector<ctx::Interaction> oldest_first;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    do {
      ctx::ListInteractionsRequest list;
      list.set_parent(customer);
      list.set_page_size(100);
      auto listed = CONTEXT(ListInteractions, list);
      EXPECT_TRUE(listed.ok()) << listed.status();
      if (!listed.ok()) break;
      oldest_first.assign(listed->interactions().rbegin(), listed->interactions().rend());
      if (static_cast<int>(oldest_first.size()) >= count) break;
      absl::SleepFor(absl::Milliseconds(100));
    } while (absl::Now() < deadline);
    return oldest_first;
  }

  std::string dir_;
  std::string keys_file_;
  std::string mail_dir_;
  std::string sms_record_;
  std::optional<ServerProcess> context_server_;
  std::optional<ServerProcess> routing_server_;
  std::optional<ServerProcess> notify_server_;
  std::optional<ServerProcess> smtp_server_;
  std::optional<ServerProcess> sms_provider_;
  std::unique_ptr<ctx::ContextService::Stub> context_;
  std::unique_ptr<RoutingClient> routing_;
  std::unique_ptr<notify::NotifyService::Stub> notify_;
};

TEST_F(CustomerJourneyTest, AMissedDeliveryFollowsTheCustomerAcrossVoiceSmsAndChat) {
  const std::string kim = CreateKim();
  ASSERT_EQ(kim, "customers/kim-jiwoo");
  ASSERT_NO_FATAL_FAILURE(CreateContactCentre());
  ASSERT_NO_FATAL_FAILURE(CreateTemplates());
  ASSERT_NO_FATAL_FAILURE(CreateRescheduledTrigger());
  // Minji and Emma are at their desks; Junho's shift starts tomorrow.
  auto minji = LogIn("agents/minji");
  auto emma = LogIn("agents/emma");

  // --- 1. The call -----------------------------------------------------------
  // The voice platform has the caller's number as dialled in Korea.
  ctx::ResolveCustomerRequest resolve;
  *resolve.mutable_identity() = PhoneInLocalFormat();
  auto caller = CONTEXT(ResolveCustomer, resolve);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->customer().name(), kim);

  ctx::StartJourneyRequest start;
  start.set_parent(kim);
  start.mutable_journey()->set_type("missed_delivery");
  (*start.mutable_journey()->mutable_attributes())["parcel"].set_string_value("KR123456789");
  start.set_step("reported");
  start.set_channel(type::CHANNEL_VOICE);
  start.set_request_id("5d0c7a52-2b1e-4f0a-9a61-3c8e0f1b7a01");
  auto journey = CONTEXT(StartJourney, start);
  ASSERT_TRUE(journey.ok()) << journey.status();
  const std::string journey_name = journey->journey().name();

  routing::SubmitTaskRequest call;
  call.mutable_task()->set_channel(type::CHANNEL_VOICE);
  call.mutable_task()->set_intent("missed_delivery");
  call.mutable_task()->set_language_code("ko-KR");
  *call.mutable_task()->mutable_customer()->mutable_identity() = PhoneInLocalFormat();
  call.set_request_id("5d0c7a52-2b1e-4f0a-9a61-3c8e0f1b7a02");
  auto call_task = ROUTING(SubmitTask, call);
  ASSERT_TRUE(call_task.ok()) << call_task.status();
  const routing::RoutingDecision& first_decision = call_task->task().routing_decision();
  EXPECT_EQ(call_task->task().queue(), "queues/delivery");
  EXPECT_EQ(first_decision.chosen_agent(), "agents/minji") << first_decision.DebugString();
  EXPECT_EQ(first_decision.context_enrichment().status(),
            routing::ContextEnrichment::STATUS_APPLIED);
  EXPECT_EQ(first_decision.context_enrichment().customer(), kim);
  EXPECT_TRUE(CandidateOf(first_decision, "agents/minji").eligible());
  EXPECT_EQ(CandidateOf(first_decision, "agents/emma").ineligible_reason(), "language");
  EXPECT_EQ(CandidateOf(first_decision, "agents/junho").ineligible_reason(), "not_available");
  std::optional<routing::TaskOffer> offer = minji->NextOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->task().name(), call_task->task().name());

  const std::string call_notes =
      "Parcel KR123456789 not delivered (nobody home). Redelivery to be booked; customer will "
      "follow up on KakaoTalk.";
  const routing::Task completed_call =
      AcceptWrapUpAndComplete(call_task->task().name(), "agents/minji", call_notes);
  EXPECT_EQ(completed_call.state(), routing::Task::STATE_COMPLETED);
  EXPECT_EQ(completed_call.agent(), "agents/minji");
  EXPECT_EQ(completed_call.wrap_up_notes(), call_notes);
  // The voice platform records the call; the agent links Kim's KakaoTalk.
  const std::string call_interaction =
      Append(kim, type::CHANNEL_VOICE, ctx::Interaction::DIRECTION_INBOUND, "call",
             PhoneInLocalFormat(), "agents/minji", journey_name, call_notes);
  ctx::AddIdentityRequest link;
  link.set_customer(kim);
  *link.mutable_identity() = KakaoHandle();
  auto linked = CONTEXT(AddIdentity, link);
  ASSERT_TRUE(linked.ok()) << linked.status();

  // --- 2. That evening: rescheduled, into quiet hours -------------------------
  // Kim's quiet hours: from this minute in Seoul to the next (or the one
  // after, so at least 20 s remain), so the trigger's SMS lands inside them.
  const absl::TimeZone seoul = [] {
    absl::TimeZone zone;
    EXPECT_TRUE(absl::LoadTimeZone(kTimeZone, &zone));
    return zone;
  }();
  const absl::Time now = absl::Now();
  const absl::CivilMinute this_minute = absl::ToCivilMinute(now, seoul);
  const absl::CivilMinute quiet_end =
      this_minute + (absl::FromCivil(this_minute + 1, seoul) - now < absl::Seconds(20) ? 2 : 1);
  ctx::UpdateContactPreferencesRequest quiet;
  quiet.mutable_contact_preferences()->set_name(kim + "/contactPreferences");
  type::WeeklyTimeWindow& window = *quiet.mutable_contact_preferences()->add_quiet_hours();
  window.add_days(static_cast<type::DayOfWeek>(
      (static_cast<int>(absl::GetWeekday(this_minute)) + 1)));  // absl: Monday = 0
  window.mutable_start_time()->set_hours(this_minute.hour());
  window.mutable_start_time()->set_minutes(this_minute.minute());
  window.mutable_end_time()->set_hours(quiet_end.hour());
  window.mutable_end_time()->set_minutes(quiet_end.minute());
  quiet.mutable_update_mask()->add_paths("quiet_hours");
  auto quieted = CONTEXT(UpdateContactPreferences, quiet);
  ASSERT_TRUE(quieted.ok()) << quieted.status();

  ctx::AdvanceJourneyRequest reschedule;
  reschedule.set_name(journey_name);
  reschedule.set_step("rescheduled");
  reschedule.set_state(ctx::Journey::STATE_WAITING_ON_BUSINESS);
  (*reschedule.mutable_attributes())["redelivery_slot"].set_string_value("내일 10-12시");
  reschedule.set_channel(type::CHANNEL_WEB);
  reschedule.set_note("Redelivery booked by the depot");
  auto rescheduled = CONTEXT(AdvanceJourney, reschedule);
  ASSERT_TRUE(rescheduled.ok()) << rescheduled.status();

  std::optional<notify::Notification> update = TriggeredBy("triggerRules/parcel-rescheduled");
  ASSERT_TRUE(update.has_value()) << notify_server_->Stderr();
  EXPECT_EQ(update->resolved_customer(), kim);
  EXPECT_EQ(update->purpose(), type::PURPOSE_SERVICE);
  EXPECT_EQ(update->state(), notify::Notification::STATE_HELD_QUIET_HOURS) << update->DebugString();
  const absl::Time quiet_until = absl::FromCivil(quiet_end, seoul);
  EXPECT_EQ(FromProto(update->send_time()), quiet_until) << update->DebugString();
  EXPECT_THAT(update->channel_order(), ElementsAre(type::CHANNEL_SMS, type::CHANNEL_EMAIL));
  EXPECT_TRUE(delivery_testing::ReadJsonLines(sms_record_).empty()) << "sent in quiet hours";

  const notify::Notification sent_update =
      AwaitDelivered(update->name(), quiet_until + absl::Seconds(30));
  ASSERT_EQ(sent_update.state(), notify::Notification::STATE_DELIVERED)
      << sent_update.DebugString();
  ASSERT_GE(sent_update.attempts_size(), 1);
  EXPECT_GE(FromProto(sent_update.attempts(0).attempt_time()), quiet_until);
  EXPECT_EQ(sent_update.channel(), type::CHANNEL_SMS);
  EXPECT_EQ(sent_update.language_code(), "ko");
  std::vector<google::protobuf::Struct> sms = delivery_testing::ReadJsonLines(sms_record_);
  ASSERT_EQ(sms.size(), 1u);
  EXPECT_EQ(delivery_testing::StringAt(sms[0], "method"), "POST");
  const std::string first_sms = delivery_testing::StringAt(sms[0], "body");
  EXPECT_THAT(first_sms, HasSubstr(kPhone));
  EXPECT_THAT(first_sms, HasSubstr("김지우님, 택배가 내일 10-12시에 다시 배송됩니다."));
  EXPECT_EQ(sent_update.attempts(0).provider_message_id(), "msg-1");
  // SMS as Kim prefers, not email.
  EXPECT_FALSE(std::filesystem::exists(mail_dir_ + "/1.eml"));
  // notify_service puts the SMS on Kim's timeline.
  ASSERT_EQ(Timeline(kim, 2).size(), 2u);

  // --- 3. Next morning, on KakaoTalk ------------------------------------------
  auto junho = LogIn("agents/junho");
  ctx::ResolveCustomerRequest by_handle;
  *by_handle.mutable_identity() = KakaoHandle();
  auto writer = CONTEXT(ResolveCustomer, by_handle);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ(writer->customer().name(), kim);
  const std::string chat_text = "택배 내일 몇 시에 오나요?";
  const std::string chat_interaction =
      Append(kim, type::CHANNEL_CHAT, ctx::Interaction::DIRECTION_INBOUND, "message", KakaoHandle(),
             "", journey_name, chat_text);

  // The chat channel shows the agent everything so far, by the handle alone.
  ctx::GetCustomerContextRequest get_context;
  *get_context.mutable_customer()->mutable_identity() = KakaoHandle();
  get_context.set_interaction_limit(10);
  auto context = CONTEXT(GetCustomerContext, get_context);
  ASSERT_TRUE(context.ok()) << context.status();
  const ctx::CustomerContext& seen = context->customer_context();
  EXPECT_EQ(seen.customer().name(), kim);
  ASSERT_EQ(seen.recent_interactions_size(), 3);  // newest first
  EXPECT_EQ(seen.recent_interactions(0).name(), chat_interaction);
  EXPECT_EQ(seen.recent_interactions(1).channel(), type::CHANNEL_SMS);
  EXPECT_EQ(seen.recent_interactions(1).direction(), ctx::Interaction::DIRECTION_OUTBOUND);
  EXPECT_THAT(seen.recent_interactions(1).summary(), HasSubstr("templates/parcel-rescheduled"));
  EXPECT_EQ(seen.recent_interactions(2).name(), call_interaction);
  EXPECT_EQ(seen.recent_interactions(2).summary(), call_notes);
  EXPECT_EQ(seen.recent_interactions(2).agent(), "agents/minji");
  ASSERT_EQ(seen.open_journeys_size(), 1);
  EXPECT_EQ(seen.open_journeys(0).name(), journey_name);
  EXPECT_EQ(seen.open_journeys(0).type(), "missed_delivery");
  EXPECT_EQ(seen.open_journeys(0).step(), "rescheduled");
  EXPECT_EQ(seen.computed_attributes().last_agent(), "agents/minji");

  // Junho is free and the more skilled, but the chat is held for Minji.
  routing::SubmitTaskRequest chat;
  chat.mutable_task()->set_channel(type::CHANNEL_CHAT);
  chat.mutable_task()->set_intent("missed_delivery");
  chat.mutable_task()->set_language_code("ko");
  *chat.mutable_task()->mutable_customer()->mutable_identity() = KakaoHandle();
  chat.set_request_id("5d0c7a52-2b1e-4f0a-9a61-3c8e0f1b7a03");
  auto chat_task = ROUTING(SubmitTask, chat);
  ASSERT_TRUE(chat_task.ok()) << chat_task.status();
  const routing::RoutingDecision& chat_decision = chat_task->task().routing_decision();
  EXPECT_EQ(chat_decision.chosen_agent(), "agents/minji") << chat_decision.DebugString();
  EXPECT_EQ(chat_decision.context_enrichment().status(),
            routing::ContextEnrichment::STATUS_APPLIED);
  EXPECT_EQ(chat_decision.context_enrichment().customer(), kim);
  EXPECT_THAT(chat_decision.context_enrichment().effects(),
              Contains("last agent agents/minji preferred for 2m"));
  EXPECT_EQ(CandidateOf(chat_decision, "agents/junho").ineligible_reason(),
            "reserved_for_last_agent");
  EXPECT_EQ(CandidateOf(chat_decision, "agents/emma").ineligible_reason(), "language");
  offer = minji->NextOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->task().name(), chat_task->task().name());
  const routing::Task completed_chat = AcceptWrapUpAndComplete(
      chat_task->task().name(), "agents/minji", "Told her the 10-12 slot tomorrow.");
  EXPECT_EQ(completed_chat.state(), routing::Task::STATE_COMPLETED);
  const std::string reply_interaction =
      Append(kim, type::CHANNEL_CHAT, ctx::Interaction::DIRECTION_OUTBOUND, "message",
             KakaoHandle(), "agents/minji", journey_name, "내일 10시에서 12시 사이에 도착합니다.");

  // --- 4. STOP -------------------------------------------------------------------
  notify::ReceiveInboundMessageRequest stop;
  stop.mutable_inbound_message()->set_channel(type::CHANNEL_SMS);
  type::Identity& sender = *stop.mutable_inbound_message()->mutable_sender();
  sender.set_kind(type::IDENTITY_KIND_PHONE);
  sender.set_value(kPhone);
  stop.mutable_inbound_message()->set_text("STOP");
  stop.mutable_inbound_message()->set_recipient("ParcelCo");
  stop.mutable_inbound_message()->set_provider("sms-provider");
  stop.mutable_inbound_message()->set_provider_message_id("MO-20261203-0001");
  auto stopped = NOTIFY(ReceiveInboundMessage, stop);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->action(), notify::ReceiveInboundMessageResponse::ACTION_OPTED_OUT);
  EXPECT_EQ(stopped->customer(), kim);
  const std::string stop_interaction = stopped->interaction();
  EXPECT_THAT(stop_interaction, ::testing::StartsWith(kim + "/interactions/"));

  notify::SendNotificationRequest promo;
  promo.mutable_customer()->set_customer(kim);
  promo.set_template_("templates/spring-promo");
  promo.set_purpose(type::PURPOSE_MARKETING);
  auto refused = NOTIFY(SendNotification, promo);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("SMS"));

  notify::SendNotificationRequest receipt;
  *receipt.mutable_customer()->mutable_identity() = PhoneInLocalFormat();
  receipt.set_template_("templates/delivery-receipt");
  receipt.set_purpose(type::PURPOSE_TRANSACTIONAL);
  (*receipt.mutable_variables())["parcel"] = "KR123456789";
  receipt.set_idempotency_key("delivered:KR123456789");
  auto accepted = NOTIFY(SendNotification, receipt);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->notification().resolved_customer(), kim);
  const notify::Notification sent_receipt =
      AwaitDelivered(accepted->notification().name(), absl::Now() + absl::Seconds(30));
  ASSERT_EQ(sent_receipt.state(), notify::Notification::STATE_DELIVERED)
      << sent_receipt.DebugString();
  EXPECT_EQ(sent_receipt.channel(), type::CHANNEL_SMS);
  sms = delivery_testing::ReadJsonLines(sms_record_);
  ASSERT_EQ(sms.size(), 2u);
  EXPECT_THAT(delivery_testing::StringAt(sms[1], "body"),
              HasSubstr("Parcel KR123456789 was delivered."));

  // --- The whole story on one timeline, oldest first ----------------------------
  const std::vector<ctx::Interaction> timeline = Timeline(kim, 6);
  std::vector<std::string> story;
  for (const ctx::Interaction& interaction : timeline) {
    story.push_back(absl::StrCat(type::Channel_Name(interaction.channel()), " ",
                                 ctx::Interaction::Direction_Name(interaction.direction()), " ",
                                 interaction.type(), " ", interaction.agent()));
  }
  EXPECT_THAT(story, ElementsAre("CHANNEL_VOICE DIRECTION_INBOUND call agents/minji",
                                 "CHANNEL_SMS DIRECTION_OUTBOUND notification ",
                                 "CHANNEL_CHAT DIRECTION_INBOUND message ",
                                 "CHANNEL_CHAT DIRECTION_OUTBOUND message agents/minji",
                                 "CHANNEL_SMS DIRECTION_INBOUND message ",
                                 "CHANNEL_SMS DIRECTION_OUTBOUND notification "));
  if (timeline.size() == 6) {
    EXPECT_EQ(timeline[0].name(), call_interaction);
    EXPECT_EQ(timeline[0].identity().value(), kPhone);  // stored normalised
    EXPECT_EQ(timeline[1].attributes().at("notification").string_value(), update->name());
    EXPECT_EQ(timeline[2].name(), chat_interaction);
    EXPECT_EQ(timeline[3].name(), reply_interaction);
    EXPECT_EQ(timeline[4].name(), stop_interaction);
    EXPECT_EQ(timeline[4].summary(), "STOP");
    EXPECT_EQ(timeline[4].attributes().at("keyword").string_value(), "STOP");
    EXPECT_EQ(timeline[5].attributes().at("notification").string_value(), sent_receipt.name());
    EXPECT_EQ(timeline[5].attributes().at("purpose").string_value(), "TRANSACTIONAL");
    for (size_t i = 1; i < timeline.size(); ++i) {
      EXPECT_LE(FromProto(timeline[i - 1].occur_time()), FromProto(timeline[i].occur_time()));
    }
  }
}

}  // namespace
}  // namespace cxp
