// cxpctl's argument parsing: defaults, global flags anywhere, every command's
// required and optional flags, customer references, and the usage errors.
#include "cxpctl/args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cxp::cxpctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

absl::StatusOr<Invocation> Parse(std::vector<std::string> args) { return ParseArgs(args); }

void ExpectUsageError(std::vector<std::string> args, const std::string& message) {
  auto inv = ParseArgs(args);
  ASSERT_FALSE(inv.ok()) << "accepted: " << ::testing::PrintToString(args);
  EXPECT_EQ(inv.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(inv.status().message(), HasSubstr(message));
}

TEST(ArgsTest, DefaultsAreTheLocalPortsOfRunSh) {
  auto inv = Parse({"queue", "stats"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kQueueStats);
  EXPECT_EQ(inv->global.context_address, "127.0.0.1:50051");
  EXPECT_EQ(inv->global.routing_address, "127.0.0.1:50052");
  EXPECT_EQ(inv->global.notify_address, "127.0.0.1:50053");
  EXPECT_EQ(inv->global.timeout, absl::Seconds(5));
  EXPECT_EQ(inv->global.wait, absl::ZeroDuration());
  EXPECT_FALSE(inv->global.json);
  EXPECT_EQ(inv->queue, "");
}

TEST(ArgsTest, GlobalFlagsBeforeAndAfterTheCommandInBothSpellings) {
  auto inv = Parse({"--context", "10.0.0.1:1", "--routing=10.0.0.2:2", "queue", "stats",
                    "queues/support", "--json", "--timeout", "250ms", "--notify=h:3",
                    "--api_key_file", "/k", "--tls_ca_file=/ca.pem"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->global.context_address, "10.0.0.1:1");
  EXPECT_EQ(inv->global.routing_address, "10.0.0.2:2");
  EXPECT_EQ(inv->global.notify_address, "h:3");
  EXPECT_EQ(inv->global.api_key_file, "/k");
  EXPECT_EQ(inv->global.tls_ca_file, "/ca.pem");
  EXPECT_EQ(inv->global.timeout, absl::Milliseconds(250));
  EXPECT_TRUE(inv->global.json);
  EXPECT_EQ(inv->queue, "queues/support");
}

TEST(ArgsTest, HelpWithNoArgumentsOrTheFlag) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{}, {"help"}, {"--help"}, {"customer", "--help"}}) {
    auto inv = ParseArgs(args);
    ASSERT_TRUE(inv.ok()) << inv.status();
    EXPECT_EQ(inv->command, Command::kHelp);
  }
  EXPECT_THAT(Usage(), HasSubstr("customer resolve <kind> <value>"));
}

TEST(ArgsTest, CustomerResolve) {
  auto inv = Parse({"customer", "resolve", "phone", "010-1234-5678"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kCustomerResolve);
  EXPECT_EQ(inv->identity.kind, "PHONE");
  EXPECT_EQ(inv->identity.value, "010-1234-5678");

  inv = Parse({"customer", "resolve", "EXTERNAL_ID", "003X", "--namespace", "salesforce"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->identity.kind, "EXTERNAL_ID");
  EXPECT_EQ(inv->identity.namespace_, "salesforce");

  inv = Parse({"customer", "resolve", "phone", "(212) 555-0100", "--region=us"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->identity.region_code, "US");
}

TEST(ArgsTest, CustomerResolveErrors) {
  ExpectUsageError({"customer", "resolve", "phone"}, "usage: cxpctl customer resolve <kind>");
  ExpectUsageError({"customer", "resolve", "fax", "1"}, "kind: unknown value \"fax\"");
  ExpectUsageError({"customer", "resolve", "social", "kim"}, "kind social needs --namespace");
  ExpectUsageError({"customer", "resolve", "email", "a@b", "--namespace", "x"},
                   "--namespace: not used with kind email");
  ExpectUsageError({"customer", "resolve", "phone", "1", "--limit", "3"},
                   "unknown flag --limit for \"customer resolve\"");
}

TEST(ArgsTest, CustomerRefs) {
  auto ref = ParseCustomerRef("customers/kim");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->name, "customers/kim");
  EXPECT_FALSE(ref->identity);

  ref = ParseCustomerRef("phone:010-1234-5678");
  ASSERT_TRUE(ref.ok());
  ASSERT_TRUE(ref->identity);
  EXPECT_EQ(ref->identity->kind, "PHONE");
  EXPECT_EQ(ref->identity->value, "010-1234-5678");

  // The value keeps any later colons.
  ref = ParseCustomerRef("email:a:b@example.com");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->identity->value, "a:b@example.com");

  ref = ParseCustomerRef("chat_handle:kakaotalk:kim:01");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->identity->kind, "CHAT_HANDLE");
  EXPECT_EQ(ref->identity->namespace_, "kakaotalk");
  EXPECT_EQ(ref->identity->value, "kim:01");

  for (const char* bad : {"kim", "customers/", "phone:", "fax:1", "social:kim", "social::kim"}) {
    EXPECT_EQ(ParseCustomerRef(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ArgsTest, CustomerContext) {
  auto inv = Parse({"customer", "context", "email:Kim@Example.com", "--limit=20"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kCustomerContext);
  EXPECT_EQ(inv->customer.identity->kind, "EMAIL");
  EXPECT_EQ(inv->interaction_limit, 20);
  ExpectUsageError({"customer", "context"}, "usage: cxpctl customer context");
  ExpectUsageError({"customer", "context", "customers/a", "customers/b"}, "usage:");
  ExpectUsageError({"customer", "context", "customers/a", "--limit", "101"},
                   "--limit: expected a whole number from 1 to 100");
}

TEST(ArgsTest, InteractionAppend) {
  auto inv = Parse({"interaction", "append", "customers/kim", "--channel", "voice", "--direction",
                    "DIRECTION_INBOUND", "--type", "call", "--summary", "billing question",
                    "--agent", "kim"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kInteractionAppend);
  EXPECT_EQ(inv->customer.name, "customers/kim");
  EXPECT_EQ(inv->channel, "VOICE");
  EXPECT_EQ(inv->direction, "INBOUND");
  EXPECT_EQ(inv->type, "call");
  EXPECT_EQ(inv->summary, "billing question");
  EXPECT_EQ(inv->agent, "agents/kim");
  EXPECT_FALSE(inv->create_customer);

  inv = Parse({"interaction", "append", "phone:010-1234-5678", "--channel", "VOICE", "--direction",
               "INBOUND", "--type", "call", "--create_customer"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_TRUE(inv->create_customer);
}

TEST(ArgsTest, InteractionAppendErrors) {
  ExpectUsageError(
      {"interaction", "append", "customers/kim", "--direction", "INBOUND", "--type", "call"},
      "\"interaction append\" needs --channel");
  ExpectUsageError({"interaction", "append", "customers/kim", "--channel", "fax", "--direction",
                    "INBOUND", "--type", "call"},
                   "--channel: unknown value \"fax\"");
  ExpectUsageError({"interaction", "append", "customers/kim", "--channel", "VOICE", "--direction",
                    "sideways", "--type", "call"},
                   "--direction: unknown value");
  ExpectUsageError({"interaction", "append", "customers/kim", "--channel", "VOICE", "--channel",
                    "SMS", "--direction", "INBOUND", "--type", "call"},
                   "--channel given more than once");
  ExpectUsageError({"interaction", "append", "customers/kim", "--channel"},
                   "--channel needs a value");
}

TEST(ArgsTest, TaskSubmit) {
  auto inv =
      Parse({"task", "submit", "--queue", "queues/support", "--customer", "customers/kim",
             "--channel", "CHAT", "--skill", "billing", "--skill", "korean:3", "--priority", "7"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kTaskSubmit);
  EXPECT_EQ(inv->queue, "queues/support");
  EXPECT_EQ(inv->customer.name, "customers/kim");
  EXPECT_EQ(inv->channel, "CHAT");
  ASSERT_EQ(inv->skills.size(), 2u);
  EXPECT_EQ(inv->skills[0].skill, "billing");
  EXPECT_EQ(inv->skills[0].min_proficiency, 1);
  EXPECT_EQ(inv->skills[1].skill, "korean");
  EXPECT_EQ(inv->skills[1].min_proficiency, 3);
  EXPECT_EQ(inv->priority, 7);

  // The customer is optional; a bare queue id is shorthand.
  inv = Parse({"task", "submit", "--queue", "support", "--channel", "VOICE"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->queue, "queues/support");
  EXPECT_TRUE(inv->customer.name.empty());
  EXPECT_FALSE(inv->customer.identity);

  ExpectUsageError({"task", "submit", "--channel", "VOICE"}, "needs --queue");
  ExpectUsageError({"task", "submit", "--queue", "agents/x", "--channel", "VOICE"},
                   "--queue: expected queues/ID");
  ExpectUsageError({"task", "submit", "--queue", "q", "--channel", "VOICE", "--skill", "x:9"},
                   "--skill: expected a whole number from 1 to 5");
  ExpectUsageError({"task", "submit", "extra", "--queue", "q", "--channel", "VOICE"},
                   "usage: cxpctl task submit");
}

TEST(ArgsTest, QueueStats) {
  ExpectUsageError({"queue", "stats", "queues/a", "queues/b"}, "usage: cxpctl queue stats");
  ExpectUsageError({"queue", "stats", "--limit", "1"}, "unknown flag --limit");
  ExpectUsageError({"queue"}, "\"queue\" needs a subcommand");
  ExpectUsageError({"queue", "drain"}, "unknown command \"queue drain\"");
}

TEST(ArgsTest, NotifySend) {
  auto inv = Parse({"notify", "send", "--customer", "phone:010-1234-5678", "--template",
                    "templates/otp", "--var", "code=123456", "--var", "note=a=b", "--purpose",
                    "service", "--idempotency_key", "otp-1"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kNotifySend);
  EXPECT_EQ(inv->customer.identity->kind, "PHONE");
  EXPECT_EQ(inv->template_name, "templates/otp");
  EXPECT_THAT(inv->variables, ElementsAre(Pair("code", "123456"), Pair("note", "a=b")));
  EXPECT_EQ(inv->purpose, "SERVICE");
  EXPECT_EQ(inv->idempotency_key, "otp-1");

  inv = Parse({"notify", "send", "--customer", "customers/kim", "--template", "otp"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->purpose, "TRANSACTIONAL");  // the default

  ExpectUsageError({"notify", "send", "--customer", "customers/kim"}, "needs --template");
  ExpectUsageError(
      {"notify", "send", "--customer", "customers/kim", "--template", "t", "--var", "novalue"},
      "--var: expected key=value");
  ExpectUsageError({"notify", "send", "--customer", "customers/kim", "--template", "t", "--var",
                    "a=1", "--var", "a=2"},
                   "--var: \"a\" given more than once");
  ExpectUsageError(
      {"notify", "send", "--customer", "customers/kim", "--template", "t", "--purpose", "spam"},
      "--purpose: unknown value \"spam\"");
}

TEST(ArgsTest, GlobalFlagErrors) {
  ExpectUsageError({"--timeout", "soon", "queue", "stats"}, "--timeout: expected a positive");
  ExpectUsageError({"--timeout", "0s", "queue", "stats"}, "--timeout: expected a positive");
  ExpectUsageError({"--json=maybe", "queue", "stats"}, "--json takes no value");
  ExpectUsageError({"--context=", "queue", "stats"}, "--context: empty address");
  ExpectUsageError({"--wait", "-1s", "queue", "stats"}, "--wait: expected a duration");
  ExpectUsageError({"--wait", "later", "queue", "stats"}, "--wait: expected a duration");
}

TEST(ArgsTest, ApplyTakesAFileAndTheGlobalFlags) {
  auto inv = Parse({"--routing", "h:2", "apply", "--file", "deploy/demo/demo.json", "--json"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kApply);
  EXPECT_EQ(inv->apply_file, "deploy/demo/demo.json");
  EXPECT_EQ(inv->global.routing_address, "h:2");
  EXPECT_TRUE(inv->global.json);
  inv = Parse({"apply", "--file=demo.json", "--wait", "30s"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->apply_file, "demo.json");
  EXPECT_EQ(inv->global.wait, absl::Seconds(30));

  ExpectUsageError({"apply"}, "usage: cxpctl apply --file FILE");
  ExpectUsageError({"apply", "--file="}, "usage: cxpctl apply --file FILE");
  ExpectUsageError({"apply", "demo.json"}, "usage: cxpctl apply --file FILE");
  ExpectUsageError({"apply", "--file", "a.json", "--file", "b.json"},
                   "--file given more than once");
  ExpectUsageError({"apply", "--file", "a.json", "--queue", "q"},
                   "unknown flag --queue for \"apply\"");
}

TEST(ArgsTest, AgentDeskDefaultsToWatchingUntilASignal) {
  auto inv = Parse({"agent", "desk", "agents/minji"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kAgentDesk);
  EXPECT_EQ(inv->agent, "agents/minji");
  EXPECT_FALSE(inv->accept_offers);
  EXPECT_EQ(inv->handle_for, absl::Seconds(2));
  EXPECT_EQ(inv->session_for, absl::InfiniteDuration());
  EXPECT_EQ(inv->wrap_up_notes, "");

  inv = Parse({"agent", "desk", "minji", "--accept", "--wrap_up_notes", "parcel rebooked",
               "--handle-for=500ms", "--for", "1m30s", "--json"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->agent, "agents/minji");  // a bare ID is shorthand
  EXPECT_TRUE(inv->accept_offers);
  EXPECT_EQ(inv->wrap_up_notes, "parcel rebooked");
  EXPECT_EQ(inv->handle_for, absl::Milliseconds(500));
  EXPECT_EQ(inv->session_for, absl::Seconds(90));
  EXPECT_TRUE(inv->global.json);
  // Completing at once is allowed.
  inv = Parse({"agent", "desk", "agents/minji", "--accept", "--handle_for", "0s"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->handle_for, absl::ZeroDuration());
}

TEST(ArgsTest, AgentDeskErrors) {
  ExpectUsageError({"agent", "desk"}, "usage: cxpctl agent desk agents/X");
  ExpectUsageError({"agent", "desk", "agents/a", "agents/b"}, "usage: cxpctl agent desk");
  ExpectUsageError({"agent", "desk", "queues/a"}, "agent: expected agents/ID");
  ExpectUsageError({"agent", "desk", "agents/a", "--for", "0s"},
                   "--for: expected a positive duration");
  ExpectUsageError({"agent", "desk", "agents/a", "--for", "soon"}, "--for: expected a positive");
  ExpectUsageError({"agent", "desk", "agents/a", "--accept", "--handle_for", "-1s"},
                   "--handle_for: expected a duration");
  ExpectUsageError({"agent", "desk", "agents/a", "--accept=yes"}, "--accept takes no value");
  ExpectUsageError({"agent", "desk", "agents/a", "--handle_for", "1s"},
                   "--handle_for is only used with --accept");
  ExpectUsageError({"agent", "desk", "agents/a", "--wrap_up_notes", "x"},
                   "--wrap_up_notes is only used with --accept");
  ExpectUsageError({"agent", "desk", "agents/a", "--queue", "q"},
                   "unknown flag --queue for \"agent desk\"");
}

TEST(ArgsTest, JourneyStart) {
  auto inv = Parse({"journey", "start", "phone:010-1234-5678", "--type", "missed_delivery",
                    "--step", "driver_missed", "--journey_id", "parcel-1"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kJourneyStart);
  EXPECT_EQ(inv->customer.identity->kind, "PHONE");
  EXPECT_EQ(inv->journey_type, "missed_delivery");
  EXPECT_EQ(inv->step, "driver_missed");
  EXPECT_EQ(inv->journey_id, "parcel-1");

  inv = Parse({"journey", "start", "customers/kim", "--type", "card_replacement"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->customer.name, "customers/kim");
  EXPECT_EQ(inv->step, "");
  EXPECT_EQ(inv->journey_id, "");

  ExpectUsageError({"journey", "start", "customers/kim"}, "\"journey start\" needs --type");
  ExpectUsageError({"journey", "start", "--type", "t"}, "usage: cxpctl journey start <customer>");
  ExpectUsageError({"journey", "start", "kim", "--type", "t"}, "customer: expected customers/ID");
  ExpectUsageError({"journey", "start", "customers/kim", "--type", "t", "--state", "OPEN"},
                   "unknown flag --state for \"journey start\"");
}

TEST(ArgsTest, JourneyAdvance) {
  auto inv = Parse({"journey", "advance", "customers/lee/journeys/parcel-1", "--step",
                    "rescheduled", "--state", "waiting_on_business", "--attr",
                    "delivery_date=tomorrow", "--attr", "slot=18-20", "--note", "called back"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kJourneyAdvance);
  EXPECT_EQ(inv->journey, "customers/lee/journeys/parcel-1");
  EXPECT_EQ(inv->step, "rescheduled");
  EXPECT_EQ(inv->journey_state, "WAITING_ON_BUSINESS");
  EXPECT_THAT(inv->attributes,
              ElementsAre(Pair("delivery_date", "tomorrow"), Pair("slot", "18-20")));
  EXPECT_EQ(inv->note, "called back");

  // A state alone, with its proto prefix; the step is kept.
  inv =
      Parse({"journey", "advance", "customers/lee/journeys/parcel-1", "--state", "STATE_RESOLVED"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->journey_state, "RESOLVED");
  EXPECT_EQ(inv->step, "");

  ExpectUsageError({"journey", "advance", "customers/lee/journeys/parcel-1"},
                   "\"journey advance\" needs --step or --state");
  ExpectUsageError({"journey", "advance", "customers/lee/journeys/p", "--state", "done"},
                   "--state: unknown value \"done\" (one of open, waiting_on_customer");
  ExpectUsageError({"journey", "advance", "customers/lee/journeys/p", "--state", "UNSPECIFIED"},
                   "--state: unknown value");
  for (const char* bad : {"customers/lee", "customers/lee/journeys/", "customers//journeys/p",
                          "journeys/p", "customers/lee/journeys/p/x", "parcel-1"}) {
    ExpectUsageError({"journey", "advance", bad, "--step", "s"},
                     "journey: expected customers/ID/journeys/ID");
  }
  ExpectUsageError({"journey", "advance", "customers/lee/journeys/p", "--step", "s", "--attr", "x"},
                   "--attr: expected key=value");
  ExpectUsageError({"journey", "advance", "customers/lee/journeys/p", "--step", "s", "--attr",
                    "a=1", "--attr", "a=2"},
                   "--attr: \"a\" given more than once");
}

TEST(ArgsTest, ConsentSet) {
  auto inv = Parse({"consent", "set", "email:emily@example.com", "--channel", "sms", "--purpose",
                    "marketing", "--state", "granted", "--source", "web_form"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, Command::kConsentSet);
  EXPECT_EQ(inv->customer.identity->kind, "EMAIL");
  EXPECT_EQ(inv->channel, "SMS");
  EXPECT_EQ(inv->purpose, "MARKETING");
  EXPECT_EQ(inv->consent_state, "GRANTED");
  EXPECT_EQ(inv->consent_source, "web_form");

  inv = Parse({"consent", "set", "customers/kim", "--channel", "CHANNEL_EMAIL", "--purpose",
               "PURPOSE_SERVICE", "--state", "CONSENT_STATE_DENIED"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->channel, "EMAIL");
  EXPECT_EQ(inv->purpose, "SERVICE");
  EXPECT_EQ(inv->consent_state, "DENIED");
  EXPECT_EQ(inv->consent_source, "cxpctl");  // the default

  const std::vector<std::string> base = {"consent", "set", "customers/kim"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  ExpectUsageError(with({"--purpose", "marketing", "--state", "granted"}), "needs --channel");
  ExpectUsageError(with({"--channel", "sms", "--state", "granted"}), "needs --purpose");
  ExpectUsageError(with({"--channel", "sms", "--purpose", "marketing"}), "needs --state");
  ExpectUsageError(with({"--channel", "sms", "--purpose", "marketing", "--state", "maybe"}),
                   "--state: unknown value \"maybe\" (one of granted, denied)");
  ExpectUsageError(with({"--channel", "fax", "--purpose", "marketing", "--state", "granted"}),
                   "--channel: unknown value \"fax\"");
  ExpectUsageError(
      with({"--channel", "sms", "--purpose", "marketing", "--state", "granted", "--source="}),
      "--source: empty");
  ExpectUsageError(
      {"consent", "set", "--channel", "sms", "--purpose", "marketing", "--state", "granted"},
      "usage: cxpctl consent set <customer>");
  ExpectUsageError({"consent", "get", "customers/kim"}, "unknown command \"consent get\"");
}

TEST(ArgsTest, UsageListsEveryCommand) {
  for (const char* command : {"customer resolve", "customer context", "interaction append",
                              "task submit", "queue stats", "notify send", "apply --file",
                              "agent desk", "journey start", "journey advance", "consent set"}) {
    EXPECT_THAT(Usage(), HasSubstr(command));
  }
}

TEST(ArgsTest, ApiKeyFromFile) {
  EXPECT_EQ(*ApiKeyFromFile("secret-key\n"), "secret-key");
  EXPECT_EQ(*ApiKeyFromFile("# a comment\n\n  acme   secret-key  \nother k2\n"), "secret-key");
  EXPECT_EQ(ApiKeyFromFile("# only a comment\n").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApiKeyFromFile("a b c\n").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cxp::cxpctl
