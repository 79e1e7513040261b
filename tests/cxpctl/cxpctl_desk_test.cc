// cxpctl agent desk, journey and consent end to end: real context_service,
// routing_service and notify_service (one set per suite), cxpctl run as a
// child process, the desk left running in the background while a task is
// submitted, and the results checked through the generated clients.
#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/cxpctl/cxpctl_testing.h"
#include "tests/testing/keyed_call.h"

namespace cxp::cxpctl {
namespace {

using ::cxp::cxpctl::testing::BackgroundCommand;
using ::cxp::cxpctl::testing::CommandRun;
using ::cxp::cxpctl::testing::CreateKimAndSupportQueue;
using ::cxp::cxpctl::testing::FromJson;
using ::cxp::cxpctl::testing::kKey;
using ::cxp::cxpctl::testing::Platform;
using ::cxp::cxpctl::testing::RunCxpctl;
using ::cxp::testing::KeyedCall;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
namespace ctx = ::cxp::context::v1;
namespace routing_v1 = ::cxp::routing::v1;
namespace type = ::cxp::type::v1;

class CxpctlDeskTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto platform = Platform::Start("cxpctl_desk_test_");
    ASSERT_TRUE(platform.ok()) << platform.status();
    platform_ = platform->release();
    SeedData();
  }

  static void TearDownTestSuite() {
    delete platform_;
    platform_ = nullptr;
  }

  // Customer kim (phone 010-1234-5678 in KR, email), queue support, agent
  // ana serving it on VOICE (offline, as every new agent).
  static void SeedData() {
    const absl::Status seeded = CreateKimAndSupportQueue(*platform_);
    ASSERT_TRUE(seeded.ok()) << seeded;

    routing_v1::CreateAgentRequest agent;
    agent.set_agent_id("ana");
    agent.mutable_agent()->set_display_name("Ana");
    agent.mutable_agent()->add_queues("queues/support");
    routing_v1::ChannelCapacity& voice = *agent.mutable_agent()->add_channel_capacities();
    voice.set_channel(type::CHANNEL_VOICE);
    voice.set_max_tasks(1);
    auto agent_created =
        KeyedCall(*Routing(), &routing_v1::RoutingService::Stub::CreateAgent, agent, kKey);
    ASSERT_TRUE(agent_created.ok()) << agent_created.status();
  }

  static std::unique_ptr<ctx::ContextService::Stub> Context() { return platform_->ContextStub(); }
  static std::unique_ptr<routing_v1::RoutingService::Stub> Routing() {
    return platform_->RoutingStub();
  }

  static std::vector<std::string> Args(std::vector<std::string> args) {
    return platform_->Args(std::move(args));
  }

  static routing_v1::AgentState AgentState(const std::string& agent) {
    routing_v1::GetAgentRequest request;
    request.set_name(agent);
    auto response =
        KeyedCall(*Routing(), &routing_v1::RoutingService::Stub::GetAgent, request, kKey);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->agent().presence().state()
                         : routing_v1::AGENT_STATE_UNSPECIFIED;
  }

  static Platform* platform_;
};

Platform* CxpctlDeskTest::platform_ = nullptr;

// The order of `lines` in `text`: each found after the one before.
void ExpectInOrder(const std::string& text, const std::vector<std::string>& lines) {
  size_t from = 0;
  for (const std::string& line : lines) {
    const size_t at = text.find(line, from);
    ASSERT_NE(at, std::string::npos) << "\"" << line << "\" not found in order in:\n" << text;
    from = at + line.size();
  }
}

TEST_F(CxpctlDeskTest, TheDeskAcceptsWrapsUpAndCompletesASubmittedTaskThenEndsOnSigint) {
  auto desk = BackgroundCommand::StartCxpctl(
      Args({"agent", "desk", "agents/ana", "--accept", "--handle_for", "1s", "--wrap_up_notes",
            "card blocked", "--for", "20s"}));
  ASSERT_TRUE(desk->WaitForStdout("state      AVAILABLE\n", absl::Seconds(15)))
      << desk->Stdout() << desk->Stderr();

  CommandRun submit = RunCxpctl(Args({"--json", "task", "submit", "--queue", "queues/support",
                                      "--customer", "phone:010-1234-5678", "--channel", "VOICE"}));
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  const std::string task = FromJson<routing_v1::SubmitTaskResponse>(submit.out).task().name();
  ASSERT_THAT(task, StartsWith("tasks/"));

  // The desk finishes it about a second after accepting it.
  ASSERT_TRUE(desk->WaitForStdout(absl::StrCat("completed  ", task), absl::Seconds(15)))
      << desk->Stdout() << desk->Stderr();
  // ... and the session reports the change.
  ASSERT_TRUE(
      desk->WaitForStdout(absl::StrCat("task       ", task, "  COMPLETED"), absl::Seconds(10)))
      << desk->Stdout() << desk->Stderr();
  routing_v1::GetTaskRequest get;
  get.set_name(task);
  auto completed = KeyedCall(*Routing(), &routing_v1::RoutingService::Stub::GetTask, get, kKey);
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->task().state(), routing_v1::Task::STATE_COMPLETED);
  EXPECT_EQ(completed->task().agent(), "agents/ana");
  EXPECT_EQ(completed->task().wrap_up_notes(), "card blocked");

  // Ctrl-C: the agent logs out and the desk exits 0 long before --for.
  desk->Signal(SIGINT);
  CommandRun run = desk->Wait(absl::Seconds(10));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, IsEmpty());
  ExpectInOrder(run.out,
                {"session    agents/ana open, OFFLINE\n", "set        agents/ana AVAILABLE\n",
                 absl::StrCat("offer      ", task,
                              "  VOICE  customer=customers/kim  queue=queues/support  "
                              "chosen=agents/ana  priority=5  context=APPLIED"),
                 absl::StrCat("accepted   ", task, "\n"), absl::StrCat("wrapped_up ", task, "\n"),
                 absl::StrCat("completed  ", task, "  notes=\"card blocked\"\n"),
                 "set        agents/ana OFFLINE\n"});
  EXPECT_THAT(run.out,
              AllOf(HasSubstr(absl::StrCat("task       ", task, "  ACCEPTED  agent=agents/ana\n")),
                    HasSubstr(absl::StrCat("task       ", task,
                                           "  COMPLETED  agent=agents/ana  notes=\"card "
                                           "blocked\"\n"))));
  EXPECT_EQ(AgentState("agents/ana"), routing_v1::AGENT_STATE_OFFLINE);
}

TEST_F(CxpctlDeskTest, ATaskLeftAcceptedBySigtermIsFinishedByTheNextDesk) {
  auto desk = BackgroundCommand::StartCxpctl(
      Args({"agent", "desk", "agents/ana", "--accept", "--handle_for", "60s", "--for", "20s"}));
  ASSERT_TRUE(desk->WaitForStdout("state      AVAILABLE\n", absl::Seconds(15)))
      << desk->Stdout() << desk->Stderr();
  CommandRun submit = RunCxpctl(Args({"--json", "task", "submit", "--queue", "support",
                                      "--customer", "customers/kim", "--channel", "VOICE"}));
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  const std::string task = FromJson<routing_v1::SubmitTaskResponse>(submit.out).task().name();
  ASSERT_TRUE(desk->WaitForStdout(absl::StrCat("accepted   ", task, "\n"), absl::Seconds(15)))
      << desk->Stdout() << desk->Stderr();

  desk->Signal(SIGTERM);
  CommandRun run = desk->Wait(absl::Seconds(10));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out,
              HasSubstr(absl::StrCat("unfinished ", task, " (the session ended first)\n")));

  // The session resends the held task; the next desk completes it.
  run = RunCxpctl(Args({"agent", "desk", "agents/ana", "--accept", "--handle_for", "0s",
                        "--wrap_up_notes", "done later", "--for", "3s"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out,
              AllOf(HasSubstr(absl::StrCat("task       ", task, "  ACCEPTED")),
                    HasSubstr(absl::StrCat("completed  ", task, "  notes=\"done later\"\n"))));
  routing_v1::GetTaskRequest get;
  get.set_name(task);
  auto completed = KeyedCall(*Routing(), &routing_v1::RoutingService::Stub::GetTask, get, kKey);
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->task().state(), routing_v1::Task::STATE_COMPLETED);
}

TEST_F(CxpctlDeskTest, TheDeskEndsAfterForAndPrintsJsonLines) {
  const absl::Time start = absl::Now();
  CommandRun run = RunCxpctl(Args({"--json", "agent", "desk", "agents/ana", "--for", "1s"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, IsEmpty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));

  std::vector<google::protobuf::Struct> lines;
  for (absl::string_view line : absl::StrSplit(run.out, '\n', absl::SkipEmpty())) {
    lines.push_back(FromJson<google::protobuf::Struct>(std::string(line)));
  }
  ASSERT_GE(lines.size(), 3) << run.out;
  // The session's first event, the agent itself (an AgentSessionResponse);
  // then the call that sets it AVAILABLE; the last call logs it out.
  const std::string first_line = run.out.substr(0, run.out.find('\n'));
  EXPECT_EQ(FromJson<routing_v1::AgentSessionResponse>(first_line).agent().name(), "agents/ana");
  ASSERT_TRUE(lines[1].fields().contains("call")) << run.out;
  EXPECT_EQ(lines[1].fields().at("call").string_value(), "SetAgentState");
  // The last call (the session may still report the change after it).
  auto last_call = std::find_if(lines.rbegin(), lines.rend(),
                                [](const auto& line) { return line.fields().contains("call"); });
  ASSERT_NE(last_call, lines.rend()) << run.out;
  const auto& last = last_call->fields();
  EXPECT_EQ(last.at("call").string_value(), "SetAgentState");
  EXPECT_EQ(last.at("response")
                .struct_value()
                .fields()
                .at("agent")
                .struct_value()
                .fields()
                .at("presence")
                .struct_value()
                .fields()
                .at("state")
                .string_value(),
            "AGENT_STATE_OFFLINE");
}

TEST_F(CxpctlDeskTest, AnUnknownAgentEndsTheDeskWithNotFound) {
  CommandRun run = RunCxpctl(Args({"agent", "desk", "agents/nobody", "--for", "10s"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: "));
}

TEST_F(CxpctlDeskTest, StartsAndAdvancesAJourney) {
  CommandRun run =
      RunCxpctl(Args({"journey", "start", "phone:010-1234-5678", "--type", "card_replacement",
                      "--step", "requested", "--journey_id", "card-1"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out,
              AllOf(StartsWith("journey       customers/kim/journeys/card-1\n"),
                    HasSubstr("type          card_replacement\n"),
                    HasSubstr("state         OPEN\n"), HasSubstr("step          requested\n")));

  run = RunCxpctl(Args({"--json", "journey", "advance", "customers/kim/journeys/card-1", "--step",
                        "shipped", "--state", "waiting_on_customer", "--attr", "carrier=cj",
                        "--note", "sent by courier"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const ctx::Journey advanced = FromJson<ctx::AdvanceJourneyResponse>(run.out).journey();
  EXPECT_EQ(advanced.state(), ctx::Journey::STATE_WAITING_ON_CUSTOMER);
  EXPECT_EQ(advanced.step(), "shipped");
  EXPECT_EQ(advanced.attributes().at("carrier").string_value(), "cj");
  ASSERT_FALSE(advanced.transitions().empty());
  EXPECT_EQ(advanced.transitions().rbegin()->note(), "sent by courier");

  // The customer's context lists it while it is open.
  run = RunCxpctl(Args({"customer", "context", "customers/kim"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("open_journeys customers/kim/journeys/card-1 card_replacement at "
                                 "shipped (WAITING_ON_CUSTOMER)\n"));

  run = RunCxpctl(Args({"journey", "advance", "customers/kim/journeys/card-1", "--state",
                        "RESOLVED", "--note", "received"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out,
              AllOf(HasSubstr("state         RESOLVED\n"), HasSubstr("step          shipped\n"),
                    HasSubstr("attributes    carrier=cj\n"), HasSubstr("\"received\"\n"),
                    HasSubstr("ended         ")));
}

TEST_F(CxpctlDeskTest, JourneyErrors) {
  // A state that does not exist is a usage error, before any call.
  CommandRun run = RunCxpctl(
      Args({"journey", "advance", "customers/kim/journeys/card-1", "--state", "finished"}));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, StartsWith("cxpctl: --state: unknown value \"finished\""));

  run = RunCxpctl(Args({"journey", "advance", "customers/kim/journeys/missing", "--step", "x"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: "));

  // An identity nobody has: nothing to start the journey for.
  run = RunCxpctl(Args({"journey", "start", "email:nobody@example.com", "--type", "t"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: "));
}

TEST_F(CxpctlDeskTest, SetsConsentAndTheContextShowsIt) {
  CommandRun run =
      RunCxpctl(Args({"consent", "set", "email:kim@example.com", "--channel", "sms", "--purpose",
                      "marketing", "--state", "granted", "--source", "web_form"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, AllOf(StartsWith("consent       customers/kim/consent\n"),
                             HasSubstr("entries       SMS MARKETING GRANTED (source web_form, ")));

  run = RunCxpctl(Args({"customer", "context", "phone:010-1234-5678"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("consent       SMS MARKETING GRANTED (source web_form, "));

  // Withdrawn: the same entry, now DENIED, with the default source.
  run = RunCxpctl(Args({"--json", "consent", "set", "customers/kim", "--channel", "SMS",
                        "--purpose", "MARKETING", "--state", "DENIED"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  run = RunCxpctl(Args({"--json", "customer", "context", "customers/kim"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const ctx::Consent consent =
      FromJson<ctx::GetCustomerContextResponse>(run.out).customer_context().consent();
  ASSERT_EQ(consent.entries_size(), 1) << run.out;
  EXPECT_EQ(consent.entries(0).channel(), type::CHANNEL_SMS);
  EXPECT_EQ(consent.entries(0).purpose(), type::PURPOSE_MARKETING);
  EXPECT_EQ(consent.entries(0).state(), ctx::CONSENT_STATE_DENIED);
  EXPECT_EQ(consent.entries(0).evidence().source(), "cxpctl");

  run = RunCxpctl(Args({"consent", "set", "customers/nobody", "--channel", "sms", "--purpose",
                        "marketing", "--state", "granted"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("cxpctl: NOT_FOUND: "));
}

}  // namespace
}  // namespace cxp::cxpctl
