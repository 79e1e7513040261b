// cxpctl apply and the demo data set end to end: real services (a fresh set
// per suite), the real deploy/demo/demo.json applied twice, malformed files
// rejected before any call, a failing item stopping the run with its name,
// and scripts/load_demo.sh loading the demo and printing commands that work.
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/cxpctl/cxpctl_testing.h"
#include "tests/testing/keyed_call.h"
#include "tests/testing/server_process.h"

namespace cxp::cxpctl {
namespace {

using ::cxp::cxpctl::testing::BackgroundCommand;
using ::cxp::cxpctl::testing::CommandRun;
using ::cxp::cxpctl::testing::FromJson;
using ::cxp::cxpctl::testing::kKey;
using ::cxp::cxpctl::testing::Platform;
using ::cxp::cxpctl::testing::RunCommand;
using ::cxp::cxpctl::testing::RunCxpctl;
using ::cxp::testing::KeyedCall;
using ::cxp::testing::SourcePath;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
namespace ctx = ::cxp::context::v1;
namespace routing_v1 = ::cxp::routing::v1;
namespace notify_v1 = ::cxp::notify::v1;

const std::string& DemoFile() {
  static const auto* path = new std::string(SourcePath("deploy/demo/demo.json"));
  return *path;
}

int CountLinesStartingWith(const std::string& text, const std::string& prefix) {
  int count = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) count += absl::StartsWith(line, prefix);
  return count;
}

class CxpctlApplyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto platform = Platform::Start("cxpctl_apply_test_");
    ASSERT_TRUE(platform.ok()) << platform.status();
    platform_ = platform->release();
  }

  static void TearDownTestSuite() {
    delete platform_;
    platform_ = nullptr;
  }

  // A file in the suite's directory holding `json`.
  static std::string WriteFile(const std::string& name, const std::string& json) {
    const std::string path = platform_->dir() + "/" + name;
    std::ofstream(path) << json;
    return path;
  }

  static CommandRun Apply(const std::string& path, bool json = false) {
    std::vector<std::string> args = {"apply", "--file", path};
    if (json) args.insert(args.begin(), "--json");
    return RunCxpctl(platform_->Args(args));
  }

  static std::unique_ptr<ctx::ContextService::Stub> Context() { return platform_->ContextStub(); }
  static std::unique_ptr<routing_v1::RoutingService::Stub> Routing() {
    return platform_->RoutingStub();
  }
  static std::unique_ptr<notify_v1::NotifyService::Stub> Notify() {
    return platform_->NotifyStub();
  }

  static absl::StatusCode GetCustomerCode(const std::string& name) {
    ctx::GetCustomerRequest request;
    request.set_name(name);
    return KeyedCall(*Context(), &ctx::ContextService::Stub::GetCustomer, request, kKey)
        .status()
        .code();
  }

  static Platform* platform_;
};

Platform* CxpctlApplyTest::platform_ = nullptr;

TEST_F(CxpctlApplyTest, AppliesTheDemoFileOnceAndThenReportsEverythingUnchanged) {
  CommandRun first = Apply(DemoFile());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.err, IsEmpty());
  EXPECT_THAT(
      first.out,
      AllOf(StartsWith("created customers/park-jiwoo\n"),
            HasSubstr("created customers/lee-seoyeon/journeys/parcel-551233810042\n"),
            HasSubstr("created queues/delivery\n"), HasSubstr("created agents/minji\n"),
            HasSubstr("created templates/delivery-update\n"),
            EndsWith("created triggerRules/delivery-rescheduled\n14 created, 0 unchanged\n")));
  EXPECT_EQ(CountLinesStartingWith(first.out, "created "), 14) << first.out;
  // What an item refers to is created before it.
  EXPECT_LT(first.out.find("queues/billing"), first.out.find("agents/minji"));
  EXPECT_LT(first.out.find("customers/lee-seoyeon\n"), first.out.find("journeys/"));
  EXPECT_LT(first.out.find("templates/delivery-update"), first.out.find("triggerRules/"));

  CommandRun second = Apply(DemoFile());
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(CountLinesStartingWith(second.out, "unchanged "), 14) << second.out;
  EXPECT_THAT(second.out, AllOf(HasSubstr("unchanged agents/minji\n"),
                                EndsWith("\n0 created, 14 unchanged\n")));

  CommandRun json = Apply(DemoFile(), /*json=*/true);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const google::protobuf::Struct summary = FromJson<google::protobuf::Struct>(json.out);
  EXPECT_EQ(summary.fields().at("created").number_value(), 0);
  EXPECT_EQ(summary.fields().at("unchanged").number_value(), 14);
  const auto& items = summary.fields().at("items").list_value().values();
  ASSERT_EQ(items.size(), 14);
  const auto& first_item = items[0].struct_value().fields();
  EXPECT_EQ(first_item.at("item").string_value(), "customers[0]");
  EXPECT_EQ(first_item.at("name").string_value(), "customers/park-jiwoo");
  EXPECT_EQ(first_item.at("result").string_value(), "unchanged");

  // What was created, through the generated clients.
  ctx::ResolveCustomerRequest resolve;
  resolve.mutable_identity()->set_kind(::cxp::type::v1::IDENTITY_KIND_PHONE);
  resolve.mutable_identity()->set_value("010-2345-6789");  // national format
  auto resolved = KeyedCall(*Context(), &ctx::ContextService::Stub::ResolveCustomer, resolve, kKey);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->customer().name(), "customers/park-jiwoo");
  EXPECT_EQ(resolved->customer().tier(), "VIP");
  EXPECT_EQ(resolved->customer().time_zone(), "Asia/Seoul");
  EXPECT_EQ(resolved->customer().identities_size(), 3);

  ctx::GetJourneyRequest journey;
  journey.set_name("customers/lee-seoyeon/journeys/parcel-551233810042");
  auto got_journey = KeyedCall(*Context(), &ctx::ContextService::Stub::GetJourney, journey, kKey);
  ASSERT_TRUE(got_journey.ok()) << got_journey.status();
  EXPECT_EQ(got_journey->journey().type(), "missed_delivery");
  EXPECT_EQ(got_journey->journey().step(), "driver_missed");

  routing_v1::GetQueueRequest queue;
  queue.set_name("queues/delivery");
  auto got_queue = KeyedCall(*Routing(), &routing_v1::RoutingService::Stub::GetQueue, queue, kKey);
  ASSERT_TRUE(got_queue.ok()) << got_queue.status();
  EXPECT_EQ(got_queue->queue().last_agent_window().seconds(), 300);
  EXPECT_THAT(got_queue->queue().intents(), ::testing::Contains("missed_delivery"));

  routing_v1::GetAgentRequest agent;
  agent.set_name("agents/minji");
  auto got_agent = KeyedCall(*Routing(), &routing_v1::RoutingService::Stub::GetAgent, agent, kKey);
  ASSERT_TRUE(got_agent.ok()) << got_agent.status();
  EXPECT_THAT(got_agent->agent().language_codes(), ElementsAre("ko", "en"));
  EXPECT_THAT(got_agent->agent().queues(), ElementsAre("queues/delivery", "queues/billing"));
  EXPECT_EQ(got_agent->agent().channel_capacities_size(), 3);

  notify_v1::GetTemplateRequest tmpl;
  tmpl.set_name("templates/delivery-update");
  auto got_template =
      KeyedCall(*Notify(), &notify_v1::NotifyService::Stub::GetTemplate, tmpl, kKey);
  ASSERT_TRUE(got_template.ok()) << got_template.status();
  ASSERT_EQ(got_template->template_().locales_size(), 2);
  EXPECT_EQ(got_template->template_().locales(1).language_code(), "ko");
  EXPECT_EQ(got_template->template_().version(), 1);  // the second apply changed nothing

  notify_v1::GetTriggerRuleRequest rule;
  rule.set_name("triggerRules/delivery-rescheduled");
  auto got_rule = KeyedCall(*Notify(), &notify_v1::NotifyService::Stub::GetTriggerRule, rule, kKey);
  ASSERT_TRUE(got_rule.ok()) << got_rule.status();
  EXPECT_TRUE(got_rule->trigger_rule().enabled());
  EXPECT_EQ(got_rule->trigger_rule().template_(), "templates/delivery-update");
}

TEST_F(CxpctlApplyTest, AMalformedFileIsAUsageErrorAndCreatesNothing) {
  const std::string solo = R"({"customer_id": "solo", "customer": {"display_name": "Solo"}})";
  struct Case {
    std::string json;
    std::string error;
  };
  const std::vector<Case> cases = {
      {absl::StrCat(
           R"({"customers": [)", solo,
           R"(], "queues": [{"queue_id": "q", "queue": {"display_name": "Q", "bogus": 1}}]})"),
       "queues[0]: not a valid cxp.routing.v1.CreateQueueRequest: (queue) bogus"},
      {absl::StrCat(R"({"customers": [)", solo, R"(], "widgets": []})"),
       "unknown key widgets (expected customers, journeys, queues, agents, templates, "
       "trigger_rules)"},
      {absl::StrCat(R"({"customers": [)", solo,
                    R"(], "agents": [{"agent_id": "a", "agent": {"display_name": "A",)"
                    R"( "skills": [{"skill": "x", "proficiency": "high"}]}}]})"),
       "agents[0]: not a valid cxp.routing.v1.CreateAgentRequest: "},
      {absl::StrCat(R"({"customers": [)", solo, R"(, {"customer": {"display_name": "No id"}}]})"),
       "customers[1]: customer_id is required"},
      {absl::StrCat(R"({"customers": [)", solo, ", ", solo, "]}"),
       "customers[1]: customers/solo is listed twice"},
      {absl::StrCat(R"({"customers": [)", solo,
                    R"(], "journeys": [{"journey_id": "j", "journey": {"type": "t"}}]})"),
       "journeys[0]: parent: expected customers/ID"},
      {absl::StrCat(R"({"customers": [)", solo,
                    R"(], "templates": [{"template_id": "t", "template": {"locales": [{"sms":)"
                    R"( {"text": "x"}, "channel": "CHANNEL_SMS"}]}}]})"),
       "templates[0]: not a valid cxp.notify.v1.CreateTemplateRequest: "},
      {absl::StrCat(R"({"customers": )", solo, "}"), "customers: expected an array"},
      {R"({"customers": [)", "not a JSON object: "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    const std::string path = WriteFile("malformed.json", c.json);
    CommandRun run = Apply(path);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_THAT(run.out, IsEmpty());
    EXPECT_THAT(run.err, StartsWith(absl::StrCat("cxpctl: ", path, ": ", c.error)));
    EXPECT_EQ(GetCustomerCode("customers/solo"), absl::StatusCode::kNotFound);
  }

  CommandRun missing = Apply(platform_->dir() + "/no-such-file.json");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, StartsWith("cxpctl: apply: cannot read "));
}

TEST_F(CxpctlApplyTest, AFailedItemStopsTheRunNamingItAndItsCode) {
  const std::string path = WriteFile("ghost.json", R"({
    "queues": [{"queue_id": "returns", "queue": {"display_name": "Returns"}}],
    "agents": [{"agent_id": "ghost", "agent": {"display_name": "Ghost",
                "queues": ["queues/returns", "queues/nowhere"]}}],
    "templates": [{"template_id": "after-ghost", "template": {"display_name": "After",
                   "locales": [{"language_code": "", "sms": {"text": "hi"}}]}}]
  })");
  CommandRun run = Apply(path);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "created queues/returns\n");
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: agents[0] agents/ghost: "));
  EXPECT_THAT(run.err, HasSubstr("queues/nowhere"));
  // Nothing after the failed item was applied.
  notify_v1::GetTemplateRequest tmpl;
  tmpl.set_name("templates/after-ghost");
  EXPECT_EQ(KeyedCall(*Notify(), &notify_v1::NotifyService::Stub::GetTemplate, tmpl, kKey)
                .status()
                .code(),
            absl::StatusCode::kNotFound);

  // --json: the summary up to and including the failed item, the error on stderr too.
  run = Apply(path, /*json=*/true);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: agents[0] agents/ghost: "));
  const google::protobuf::Struct summary = FromJson<google::protobuf::Struct>(run.out);
  const auto& items = summary.fields().at("items").list_value().values();
  ASSERT_EQ(items.size(), 2);
  EXPECT_EQ(items[0].struct_value().fields().at("result").string_value(), "unchanged");
  const auto& failed = items[1].struct_value().fields();
  EXPECT_EQ(failed.at("item").string_value(), "agents[0]");
  EXPECT_EQ(failed.at("result").string_value(), "failed");
  EXPECT_THAT(failed.at("error").string_value(), StartsWith("NOT_FOUND: agents[0] agents/ghost: "));
}

TEST_F(CxpctlApplyTest, AnIdentityOfAnotherCustomerIsAConflictNotUnchanged) {
  const std::string path = WriteFile("twins.json", R"({"customers": [
    {"customer_id": "han", "customer": {"identities": [
      {"identity": {"kind": "IDENTITY_KIND_PHONE", "value": "+821099990000"}}]}},
    {"customer_id": "han-again", "customer": {"identities": [
      {"identity": {"kind": "IDENTITY_KIND_PHONE", "value": "010-9999-0000"}}]}}
  ]})");
  CommandRun run = Apply(path);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "created customers/han\n");
  EXPECT_THAT(run.err, StartsWith("cxpctl: ALREADY_EXISTS: customers[1] customers/han-again: "));
  EXPECT_EQ(GetCustomerCode("customers/han-again"), absl::StatusCode::kNotFound);
}

// scripts/load_demo.sh (what `scripts/run.sh --demo` runs) against a fresh
// platform: it loads the demo, and every command it suggests works, in the
// order printed. The agent desk runs until Ctrl-C, so it is started in the
// background, given the next command's task, and then sent SIGINT.
TEST(LoadDemoScriptTest, LoadsTheDemoAndPrintsCommandsThatWork) {
  auto platform = Platform::Start("cxpctl_load_demo_test_");
  ASSERT_TRUE(platform.ok()) << platform.status();
  std::vector<std::string> argv = {"/bin/bash", SourcePath("scripts/load_demo.sh")};
  for (const std::string& flag : (*platform)->Flags()) argv.push_back(flag);
  const std::map<std::string, std::string> env = {{"CXP_BUILD_DIR", std::getenv("CXP_BINARY_DIR")}};
  CommandRun run = RunCommand(argv, {}, env);
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  EXPECT_THAT(run.out, HasSubstr("\n14 created, 0 unchanged\n\nDemo data loaded. Try:\n"));

  // Every line after "Try:" is a command, or a comment saying what comes next.
  std::vector<std::string> commands;
  const std::string tries = run.out.substr(run.out.find("Try:\n") + 5);
  for (absl::string_view line : absl::StrSplit(tries, '\n', absl::SkipEmpty())) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::StartsWith(line, "#")) commands.emplace_back(line);
  }
  ASSERT_EQ(commands.size(), 9) << tries;
  enum {
    kResolve,
    kContext,
    kQueueStats,
    kDesk,
    kSubmit,
    kAdvanceJourney,
    kSendUpdate,
    kGrantConsent,
    kSendPromo
  };
  ASSERT_THAT(commands[kDesk], HasSubstr(" agent desk agents/minji --accept "));
  auto try_command = [](const std::string& command) {
    CommandRun tried = RunCommand({"/bin/bash", "-c", command});
    EXPECT_EQ(tried.exit_code, 0) << command << "\n" << tried.err;
    EXPECT_THAT(tried.err, IsEmpty()) << command;
    return tried.out;
  };

  EXPECT_THAT(
      try_command(commands[kResolve]),
      AllOf(StartsWith("customer      customers/park-jiwoo\n"), HasSubstr("tier          VIP\n")));
  EXPECT_THAT(try_command(commands[kContext]),
              AllOf(StartsWith("customer      customers/lee-seoyeon\n"),
                    HasSubstr("open_journeys customers/lee-seoyeon/journeys/parcel-551233810042 "
                              "missed_delivery at driver_missed (WAITING_ON_CUSTOMER)\n")));
  EXPECT_THAT(try_command(commands[kQueueStats]),
              AllOf(HasSubstr("queue         queues/delivery\n"),
                    HasSubstr("queue         queues/billing\n")));

  // The desk in the background (exec: the signal goes to cxpctl itself).
  auto desk = BackgroundCommand::Start({"/bin/bash", "-c", "exec " + commands[kDesk]});
  ASSERT_TRUE(desk->WaitForStdout("state      AVAILABLE\n", absl::Seconds(15)))
      << desk->Stdout() << desk->Stderr();
  const std::string submitted = try_command(commands[kSubmit]);
  EXPECT_THAT(submitted,
              AllOf(StartsWith("task          tasks/"),
                    HasSubstr("queue         queues/delivery\n"), HasSubstr("priority      8\n")));
  const std::string task = submitted.substr(14, submitted.find('\n') - 14);
  // Offered to minji, accepted, and completed after the default 2 s.
  EXPECT_TRUE(desk->WaitForStdout(absl::StrCat("completed  ", task), absl::Seconds(15)))
      << desk->Stdout() << desk->Stderr();
  desk->Signal(SIGINT);
  CommandRun desk_run = desk->Wait(absl::Seconds(10));
  EXPECT_EQ(desk_run.exit_code, 0) << desk_run.err;
  EXPECT_THAT(desk_run.err, IsEmpty());
  EXPECT_THAT(desk_run.out,
              AllOf(HasSubstr(absl::StrCat("offer      ", task,
                                           "  VOICE  customer=customers/park-jiwoo  "
                                           "queue=queues/delivery  chosen=agents/minji  "
                                           "priority=8  context=APPLIED: priority 5 -> 8 (tier "
                                           "VIP)")),
                    HasSubstr(absl::StrCat("accepted   ", task, "\n")),
                    HasSubstr(absl::StrCat("completed  ", task, "  notes=\"redelivery booked\"\n")),
                    HasSubstr("set        agents/minji OFFLINE\n")));

  // Rescheduling fires the trigger rule: a notification to Lee Seoyeon.
  EXPECT_THAT(
      try_command(commands[kAdvanceJourney]),
      AllOf(StartsWith("journey       customers/lee-seoyeon/journeys/parcel-551233810042\n"),
            HasSubstr("step          rescheduled\n"),
            HasSubstr("attributes    delivery_date=tomorrow\n")));
  auto notify = (*platform)->NotifyStub();
  notify_v1::ListNotificationsRequest triggered;
  triggered.set_filter("trigger_rule = \"triggerRules/delivery-rescheduled\"");
  std::vector<notify_v1::Notification> notifications;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(15);
       notifications.empty() && absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(100))) {
    auto listed =
        KeyedCall(*notify, &notify_v1::NotifyService::Stub::ListNotifications, triggered, kKey);
    ASSERT_TRUE(listed.ok()) << listed.status();
    notifications.assign(listed->notifications().begin(), listed->notifications().end());
  }
  ASSERT_EQ(notifications.size(), 1);
  EXPECT_EQ(notifications[0].resolved_customer(), "customers/lee-seoyeon");
  EXPECT_EQ(notifications[0].template_(), "templates/delivery-update");
  EXPECT_EQ(notifications[0].variables().at("delivery_date"), "tomorrow");

  EXPECT_THAT(try_command(commands[kSendUpdate]),
              AllOf(StartsWith("notification  notifications/"),
                    HasSubstr("customer      customers/emily-clark\n")));
  // Marketing without consent is refused; the printed order grants it first.
  CommandRun refused = RunCommand({"/bin/bash", "-c", commands[kSendPromo]});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, AllOf(StartsWith("cxpctl: FAILED_PRECONDITION: "),
                                 HasSubstr("EMAIL has no consent for MARKETING")));
  EXPECT_THAT(try_command(commands[kGrantConsent]),
              HasSubstr("entries       EMAIL MARKETING GRANTED (source demo, "));
  EXPECT_THAT(try_command(commands[kSendPromo]),
              AllOf(StartsWith("notification  notifications/"),
                    HasSubstr("template      templates/spring-promo v1\n"),
                    HasSubstr("purpose       MARKETING\n")));

  // Loading again changes nothing.
  run = RunCommand(argv, {}, env);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\n0 created, 14 unchanged\n"));
  EXPECT_THAT(run.out, Not(HasSubstr("created customers/")));
}

}  // namespace
}  // namespace cxp::cxpctl
