#include "routing_service/validation/agent_validation.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::routing::validation {
namespace {

using cxp::routing::v1::Agent;
using cxp::routing::v1::AgentSkill;
using cxp::routing::v1::ChannelCapacity;
using cxp::routing::v1::CreateAgentRequest;
using cxp::routing::v1::UpdateAgentRequest;
using cxp::type::v1::CHANNEL_CHAT;
using cxp::type::v1::CHANNEL_EMAIL;
using cxp::type::v1::CHANNEL_VOICE;
using cxp::validation::testing_util::IsInvalid;
using ::testing::ElementsAre;

constexpr char kQueueNameRule[] =
    "must be \"queues/{queue}\" where {queue} is 1 to 63 characters of [a-z0-9-], starting with "
    "a letter or digit";

void AddSkill(Agent& agent, const std::string& skill, int proficiency) {
  AgentSkill* s = agent.add_skills();
  s->set_skill(skill);
  s->set_proficiency(proficiency);
}

// A valid agent using every configuration field, plus output-only ones.
Agent FullAgent() {
  Agent agent;
  agent.set_name("agents/a1");
  agent.set_display_name("김민준 (Billing)");
  AddSkill(agent, "billing", 3);
  AddSkill(agent, "card_disputes", 5);
  agent.add_language_codes("ko-kr");
  agent.add_language_codes("EN");
  ChannelCapacity* voice = agent.add_channel_capacities();
  voice->set_channel(CHANNEL_VOICE);
  voice->set_max_tasks(1);
  voice->add_blocked_channels(CHANNEL_CHAT);
  voice->add_blocked_channels(CHANNEL_EMAIL);
  voice->mutable_wrap_up_timeout()->set_seconds(30);
  ChannelCapacity* chat = agent.add_channel_capacities();
  chat->set_channel(CHANNEL_CHAT);
  chat->set_max_tasks(3);
  agent.add_queues("queues/billing");
  agent.add_queues("queues/vip");
  agent.mutable_presence()->set_state(cxp::routing::v1::AGENT_STATE_AVAILABLE);
  agent.mutable_create_time()->set_seconds(1714521600);
  agent.mutable_update_time()->set_seconds(1714521600);
  agent.set_etag("4");
  return agent;
}

TEST(NormalizeAgentTest, FullAgentPassesNormalisedWithOutputOnlyCleared) {
  absl::StatusOr<Agent> agent = NormalizeAgent(FullAgent(), "agent");
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_THAT(agent->language_codes(), ElementsAre("ko-KR", "en"));
  EXPECT_FALSE(agent->has_presence());
  EXPECT_FALSE(agent->has_create_time());
  EXPECT_FALSE(agent->has_update_time());
  EXPECT_EQ(agent->name(), "agents/a1");
  EXPECT_EQ(agent->etag(), "4");
  EXPECT_EQ(agent->skills_size(), 2);
  EXPECT_EQ(agent->channel_capacities(0).wrap_up_timeout().seconds(), 30);
  EXPECT_THAT(agent->queues(), ElementsAre("queues/billing", "queues/vip"));
}

TEST(NormalizeAgentTest, MinimalAgentPasses) {
  Agent agent;
  agent.set_display_name("A");
  EXPECT_TRUE(NormalizeAgent(agent, "agent").ok());
}

TEST(NormalizeAgentTest, LimitsAreInclusive) {
  Agent agent = FullAgent();
  agent.set_display_name(std::string(256, 'a'));
  agent.clear_skills();
  for (int i = 0; i < 100; ++i) AddSkill(agent, absl::StrCat("s", i), 1 + i % 5);
  agent.clear_language_codes();
  for (int i = 0; i < 20; ++i) {
    agent.add_language_codes(absl::StrCat(std::string(1, 'a' + i), std::string(1, 'a' + i)));
  }
  agent.clear_queues();
  for (int i = 0; i < 100; ++i) agent.add_queues(absl::StrCat("queues/q", i));
  agent.mutable_channel_capacities(0)->set_max_tasks(20);
  agent.mutable_channel_capacities(0)->mutable_wrap_up_timeout()->set_seconds(3600);
  EXPECT_TRUE(NormalizeAgent(agent, "agent").ok()) << NormalizeAgent(agent, "agent").status();
  agent.mutable_channel_capacities(0)->mutable_wrap_up_timeout()->set_seconds(1);
  EXPECT_TRUE(NormalizeAgent(agent, "agent").ok());
}

struct Case {
  std::string name;
  std::function<void(Agent&)> mutate;
  std::string message;
};

TEST(NormalizeAgentTest, EachRuleNamesTheField) {
  const std::vector<Case> cases = {
      {"display_name empty", [](Agent& a) { a.clear_display_name(); },
       "agent.display_name: must not be empty"},
      {"display_name long", [](Agent& a) { a.set_display_name(std::string(257, 'a')); },
       "agent.display_name: must be at most 256 characters (got 257)"},
      {"display_name control", [](Agent& a) { a.set_display_name("Kim\nLee"); },
       "agent.display_name: must not contain control characters"},
      {"too many skills",
       [](Agent& a) {
         for (int i = 0; i < 99; ++i) AddSkill(a, absl::StrCat("s", i), 1);
       },
       "agent.skills: must have at most 100 entries (got 101)"},
      {"skill id case", [](Agent& a) { a.mutable_skills(1)->set_skill("Billing"); },
       "agent.skills[1].skill: must be 1 to 64 characters of [a-z0-9_.-]"},
      {"skill id empty", [](Agent& a) { a.mutable_skills(0)->clear_skill(); },
       "agent.skills[0].skill: must be 1 to 64 characters of [a-z0-9_.-]"},
      {"skill id long", [](Agent& a) { a.mutable_skills(0)->set_skill(std::string(65, 's')); },
       "agent.skills[0].skill: must be 1 to 64 characters of [a-z0-9_.-]"},
      {"proficiency high", [](Agent& a) { AddSkill(a, "sales", 7); },
       "agent.skills[2].proficiency: must be 1 to 5 (got 7)"},
      {"proficiency zero", [](Agent& a) { a.mutable_skills(0)->set_proficiency(0); },
       "agent.skills[0].proficiency: must be 1 to 5 (got 0)"},
      {"repeated skill", [](Agent& a) { AddSkill(a, "billing", 1); },
       "agent.skills[2].skill: repeats agent.skills[0].skill"},
      {"language malformed", [](Agent& a) { a.set_language_codes(1, "en_US"); },
       "agent.language_codes[1]: must be a BCP-47 language tag such as \"ko-KR\" or \"en\""},
      {"language empty", [](Agent& a) { a.add_language_codes(""); },
       "agent.language_codes[2]: must be a BCP-47 language tag such as \"ko-KR\" or \"en\""},
      {"too many languages",
       [](Agent& a) {
         for (int i = 0; i < 19; ++i)
           a.add_language_codes(absl::StrCat("x", std::string(1, 'a' + i)));
       },
       "agent.language_codes: must have at most 20 entries (got 21)"},
      {"language repeated ignoring case", [](Agent& a) { a.add_language_codes("KO-KR"); },
       "agent.language_codes[2]: repeats agent.language_codes[0]"},
      {"channel unset", [](Agent& a) { a.mutable_channel_capacities(1)->clear_channel(); },
       "agent.channel_capacities[1].channel: must be set"},
      {"channel unknown",
       [](Agent& a) {
         a.mutable_channel_capacities(1)->set_channel(static_cast<cxp::type::v1::Channel>(99));
       },
       "agent.channel_capacities[1].channel: unknown Channel value 99"},
      {"channel twice",
       [](Agent& a) {
         ChannelCapacity* c = a.add_channel_capacities();
         c->set_channel(CHANNEL_VOICE);
         c->set_max_tasks(1);
       },
       "agent.channel_capacities[2].channel: repeats agent.channel_capacities[0].channel"},
      {"max_tasks zero", [](Agent& a) { a.mutable_channel_capacities(1)->set_max_tasks(0); },
       "agent.channel_capacities[1].max_tasks: must be 1 to 20 (got 0)"},
      {"max_tasks high", [](Agent& a) { a.mutable_channel_capacities(1)->set_max_tasks(21); },
       "agent.channel_capacities[1].max_tasks: must be 1 to 20 (got 21)"},
      {"blocked unset",
       [](Agent& a) {
         a.mutable_channel_capacities(0)->add_blocked_channels(cxp::type::v1::CHANNEL_UNSPECIFIED);
       },
       "agent.channel_capacities[0].blocked_channels[2]: must be set"},
      {"blocked unknown",
       [](Agent& a) {
         a.mutable_channel_capacities(0)->add_blocked_channels(
             static_cast<cxp::type::v1::Channel>(42));
       },
       "agent.channel_capacities[0].blocked_channels[2]: unknown Channel value 42"},
      {"blocked own channel",
       [](Agent& a) { a.mutable_channel_capacities(0)->add_blocked_channels(CHANNEL_VOICE); },
       "agent.channel_capacities[0].blocked_channels[2]: must not be the entry's own channel"},
      {"blocked twice",
       [](Agent& a) { a.mutable_channel_capacities(0)->add_blocked_channels(CHANNEL_CHAT); },
       "agent.channel_capacities[0].blocked_channels[2]: repeats "
       "agent.channel_capacities[0].blocked_channels[0]"},
      {"wrap_up_timeout zero",
       [](Agent& a) { a.mutable_channel_capacities(1)->mutable_wrap_up_timeout(); },
       "agent.channel_capacities[1].wrap_up_timeout: must be 1s to 1h (got 0)"},
      {"wrap_up_timeout long",
       [](Agent& a) {
         a.mutable_channel_capacities(0)->mutable_wrap_up_timeout()->set_seconds(3601);
       },
       "agent.channel_capacities[0].wrap_up_timeout: must be 1s to 1h (got 1h1s)"},
      {"wrap_up_timeout invalid",
       [](Agent& a) { a.mutable_channel_capacities(0)->mutable_wrap_up_timeout()->set_nanos(-1); },
       "agent.channel_capacities[0].wrap_up_timeout: must be a valid duration (|seconds| <= "
       "315576000000, |nanos| <= 999999999, same sign)"},
      {"queue name", [](Agent& a) { a.set_queues(1, "vip"); },
       std::string("agent.queues[1]: ") + kQueueNameRule},
      {"queue repeated", [](Agent& a) { a.add_queues("queues/billing"); },
       "agent.queues[2]: repeats agent.queues[0]"},
      {"too many queues",
       [](Agent& a) {
         for (int i = 0; i < 99; ++i) a.add_queues(absl::StrCat("queues/q", i));
       },
       "agent.queues: must have at most 100 entries (got 101)"},
  };
  for (const Case& c : cases) {
    Agent agent = FullAgent();
    c.mutate(agent);
    EXPECT_TRUE(IsInvalid(NormalizeAgent(agent, "agent"), c.message)) << c.name;
  }
}

TEST(ValidateCreateAgentTest, ValidRequest) {
  CreateAgentRequest request;
  *request.mutable_agent() = FullAgent();
  request.set_agent_id("a1");
  request.set_request_id("123e4567-e89b-12d3-a456-426614174000");
  absl::StatusOr<ValidatedCreateAgent> out = ValidateCreateAgent(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->agent_id, "a1");
  EXPECT_EQ(out->agent.name(), "");  // name and output-only fields are ignored
  EXPECT_EQ(out->agent.etag(), "");
  EXPECT_FALSE(out->agent.has_presence());
  EXPECT_THAT(out->agent.language_codes(), ElementsAre("ko-KR", "en"));

  request.clear_agent_id();  // generated by the core
  request.clear_request_id();
  out = ValidateCreateAgent(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->agent_id, "");
}

TEST(ValidateCreateAgentTest, RequestFields) {
  CreateAgentRequest request;
  EXPECT_TRUE(IsInvalid(ValidateCreateAgent(request), "agent: must be set"));
  *request.mutable_agent() = FullAgent();
  request.mutable_agent()->mutable_skills(0)->set_proficiency(9);
  EXPECT_TRUE(IsInvalid(ValidateCreateAgent(request),
                        "agent.skills[0].proficiency: must be 1 to 5 (got 9)"));
  *request.mutable_agent() = FullAgent();
  request.set_agent_id("Agent_1");
  EXPECT_TRUE(IsInvalid(ValidateCreateAgent(request),
                        "agent_id: must be 1 to 63 characters of [a-z0-9-], starting with a "
                        "letter or digit"));
  request.set_agent_id("a1");
  request.set_request_id("retry-1");
  EXPECT_TRUE(IsInvalid(ValidateCreateAgent(request),
                        "request_id: must be a UUID such as "
                        "\"123e4567-e89b-12d3-a456-426614174000\""));
}

UpdateAgentRequest Update(Agent agent, std::vector<std::string> paths) {
  UpdateAgentRequest request;
  *request.mutable_agent() = std::move(agent);
  for (std::string& path : paths) request.mutable_update_mask()->add_paths(std::move(path));
  return request;
}

TEST(ValidateUpdateAgentTest, ExplicitMaskChecksOnlyNamedFields) {
  Agent agent = FullAgent();
  agent.mutable_skills(0)->set_proficiency(9);  // invalid, but not in the mask
  agent.set_language_codes(0, "KO-kr");
  absl::StatusOr<ValidatedAgentUpdate> out =
      ValidateUpdateAgent(Update(agent, {"language_codes", "display_name"}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->agent_id, "a1");
  EXPECT_THAT(out->paths, ElementsAre("language_codes", "display_name"));
  EXPECT_THAT(out->agent.language_codes(), ElementsAre("ko-KR", "en"));
  EXPECT_EQ(out->agent.etag(), "4");
  EXPECT_FALSE(out->agent.has_presence());

  EXPECT_TRUE(IsInvalid(ValidateUpdateAgent(Update(agent, {"skills"})),
                        "agent.skills[0].proficiency: must be 1 to 5 (got 9)"));
  Agent unnamed = FullAgent();
  unnamed.clear_display_name();
  EXPECT_TRUE(IsInvalid(ValidateUpdateAgent(Update(unnamed, {"display_name"})),
                        "agent.display_name: must not be empty"));
}

TEST(ValidateUpdateAgentTest, EmptyMaskSelectsSetFields) {
  Agent agent;
  agent.set_name("agents/a1");
  agent.add_queues("queues/billing");
  agent.set_etag("4");
  agent.mutable_presence()->set_state(cxp::routing::v1::AGENT_STATE_AWAY);  // output only
  absl::StatusOr<ValidatedAgentUpdate> out = ValidateUpdateAgent(Update(agent, {}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->paths, ElementsAre("queues"));
}

TEST(ValidateUpdateAgentTest, RequestErrors) {
  EXPECT_TRUE(IsInvalid(ValidateUpdateAgent(UpdateAgentRequest()), "agent: must be set"));
  Agent agent = FullAgent();
  agent.clear_name();
  EXPECT_TRUE(IsInvalid(ValidateUpdateAgent(Update(agent, {"display_name"})),
                        "agent.name: must be \"agents/{agent}\" where {agent} is 1 to 63 "
                        "characters of [a-z0-9-], starting with a letter or digit"));
  const std::string allowed =
      "(updatable: display_name, skills, language_codes, channel_capacities, queues)";
  EXPECT_TRUE(IsInvalid(ValidateUpdateAgent(Update(FullAgent(), {"skills", "presence"})),
                        "update_mask.paths[1]: \"presence\" cannot be updated " + allowed));
  EXPECT_TRUE(IsInvalid(ValidateUpdateAgent(Update(FullAgent(), {"etag"})),
                        "update_mask.paths[0]: \"etag\" cannot be updated " + allowed));
  EXPECT_TRUE(IsInvalid(ValidateUpdateAgent(Update(FullAgent(), {"skill"})),
                        "update_mask.paths[0]: unknown field \"skill\" " + allowed));
  EXPECT_TRUE(IsInvalid(ValidateUpdateAgent(Update(FullAgent(), {"skills.proficiency"})),
                        "update_mask.paths[0]: \"skills.proficiency\" names part of a field; "
                        "messages and repeated fields are replaced whole (name \"skills\")"));
}

TEST(ApplyAgentUpdateTest, ReplacesOnlyTheMaskedFields) {
  Agent stored = *NormalizeAgent(FullAgent(), "agent");
  stored.mutable_presence()->set_state(cxp::routing::v1::AGENT_STATE_AVAILABLE);
  Agent input;
  input.set_name("agents/a1");
  input.set_display_name("New name");
  input.add_queues("queues/general");
  // skills named but empty: cleared.
  absl::StatusOr<ValidatedAgentUpdate> update =
      ValidateUpdateAgent(Update(input, {"display_name", "skills"}));
  ASSERT_TRUE(update.ok()) << update.status();
  const Agent merged = ApplyAgentUpdate(stored, *update);
  EXPECT_EQ(merged.display_name(), "New name");
  EXPECT_EQ(merged.skills_size(), 0);
  EXPECT_THAT(merged.queues(), ElementsAre("queues/billing", "queues/vip"));  // not named
  EXPECT_EQ(merged.presence().state(), cxp::routing::v1::AGENT_STATE_AVAILABLE);
  EXPECT_THAT(merged.language_codes(), ElementsAre("ko-KR", "en"));
}

}  // namespace
}  // namespace cxp::routing::validation
