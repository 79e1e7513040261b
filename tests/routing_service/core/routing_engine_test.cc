// RoutingEngine without a server: time is a variable the tests move.
#include "routing_service/core/routing_engine.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace cxp::routing {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace type = ::cxp::type::v1;

google::protobuf::Duration Dur(absl::Duration d) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

v1::SkillRequirement Need(const std::string& skill, int min) {
  v1::SkillRequirement need;
  need.set_skill(skill);
  need.set_min_proficiency(min);
  return need;
}

struct AgentSpec {
  std::vector<std::string> queues;
  std::vector<std::pair<type::Channel, int>> capacity = {{type::CHANNEL_VOICE, 1},
                                                         {type::CHANNEL_CHAT, 3}};
  std::vector<std::pair<std::string, int>> skills;
  std::vector<std::string> languages = {"ko-KR"};
  bool voice_blocks_chat = true;
};

class RoutingEngineTest : public ::testing::Test {
 protected:
  v1::Queue Queue(const std::string& id,
                  v1::DistributionStrategy strategy = v1::DISTRIBUTION_STRATEGY_LONGEST_IDLE,
                  int priority = 5) {
    v1::Queue queue;
    queue.set_name("queues/" + id);
    queue.set_display_name(id);
    queue.set_priority(priority);
    queue.set_distribution_strategy(strategy);
    return queue;
  }

  void PutQueue(const v1::Queue& queue) {
    auto put = engine_.PutQueue(queue, now_);
    ASSERT_TRUE(put.ok()) << put.status();
  }

  // Creates the agent, opens a desktop session and sets it AVAILABLE.
  void Login(const std::string& id, const AgentSpec& spec) {
    v1::Agent agent;
    agent.set_name("agents/" + id);
    agent.set_display_name(id);
    for (const std::string& q : spec.queues) agent.add_queues("queues/" + q);
    for (const auto& [channel, max] : spec.capacity) {
      v1::ChannelCapacity& cap = *agent.add_channel_capacities();
      cap.set_channel(channel);
      cap.set_max_tasks(max);
      if (channel == type::CHANNEL_VOICE && spec.voice_blocks_chat) {
        cap.add_blocked_channels(type::CHANNEL_CHAT);
      }
    }
    for (const auto& [skill, level] : spec.skills) {
      v1::AgentSkill& s = *agent.add_skills();
      s.set_skill(skill);
      s.set_proficiency(level);
    }
    for (const std::string& tag : spec.languages) agent.add_language_codes(tag);
    ASSERT_TRUE(engine_.PutAgent(agent, now_).ok());
    ASSERT_TRUE(engine_.OpenSession(agent.name(), now_).ok());
    ASSERT_TRUE(engine_.SetAgentState(agent.name(), v1::AGENT_STATE_AVAILABLE, "", now_).ok());
  }

  v1::Task NewTask(const std::string& id, const std::string& queue,
                   type::Channel channel = type::CHANNEL_VOICE, int priority = 0,
                   const std::string& language = "ko-KR") {
    v1::Task task;
    task.set_name("tasks/" + id);
    task.set_queue("queues/" + queue);
    task.set_channel(channel);
    task.set_priority(priority);
    task.set_language_code(language);
    return task;
  }

  v1::Task Submit(const v1::Task& task, const CustomerInfo& customer = {}) {
    auto submitted = engine_.Submit(task, customer, now_);
    EXPECT_TRUE(submitted.ok()) << submitted.status();
    return submitted.ok() ? *submitted : v1::Task();
  }

  v1::Task Task(const std::string& id) {
    auto task = engine_.GetTask("tasks/" + id);
    EXPECT_TRUE(task.ok()) << task.status();
    return task.ok() ? *task : v1::Task();
  }

  v1::AgentState State(const std::string& agent) {
    return engine_.GetAgent("agents/" + agent)->presence().state();
  }

  void Advance(absl::Duration d) {
    now_ += d;
    engine_.AdvanceTo(now_);
  }

  // Accepts and completes a task the agent was offered.
  void Finish(const std::string& task, const std::string& agent) {
    ASSERT_TRUE(engine_.Accept("tasks/" + task, "agents/" + agent, now_).ok());
    ASSERT_TRUE(engine_.Complete("tasks/" + task, "agents/" + agent, "", now_).ok());
  }

  static std::string ReasonFor(const v1::Task& task, const std::string& agent) {
    for (const v1::AgentCandidate& candidate : task.routing_decision().candidates()) {
      if (candidate.agent() == agent) return candidate.ineligible_reason();
    }
    return "(not a candidate)";
  }

  absl::Time now_ = absl::FromCivil(absl::CivilSecond(2026, 12, 2, 10, 0, 0), absl::UTCTimeZone());
  RoutingEngine engine_;
};

// ---------------------------------------------------------------- strategies

TEST_F(RoutingEngineTest, LongestIdleAgentGetsTheTask) {
  PutQueue(Queue("support"));
  Login("a1", {.queues = {"support"}});
  Advance(absl::Seconds(30));
  Login("a2", {.queues = {"support"}});
  Advance(absl::Seconds(30));
  const v1::Task task = Submit(NewTask("t1", "support"));
  EXPECT_EQ(task.state(), v1::Task::STATE_OFFERED);
  EXPECT_EQ(task.agent(), "agents/a1");  // available 60 s against 30 s
  const v1::RoutingDecision& decision = task.routing_decision();
  EXPECT_EQ(decision.chosen_agent(), "agents/a1");
  EXPECT_EQ(decision.strategy(), v1::DISTRIBUTION_STRATEGY_LONGEST_IDLE);
  ASSERT_EQ(decision.candidates_size(), 2);
  EXPECT_EQ(decision.candidates(0).agent(), "agents/a1");
  EXPECT_DOUBLE_EQ(decision.candidates(0).score(), 60);
  EXPECT_DOUBLE_EQ(decision.candidates(1).score(), 30);

  // a1 finishes: idle from now, so the next one goes to a2.
  Finish("t1", "a1");
  Advance(absl::Seconds(5));
  EXPECT_EQ(Submit(NewTask("t2", "support")).agent(), "agents/a2");
}

TEST_F(RoutingEngineTest, LeastOccupiedAgentGetsTheChat) {
  PutQueue(Queue("chat", v1::DISTRIBUTION_STRATEGY_LEAST_OCCUPIED));
  Login("a1", {.queues = {"chat"}, .capacity = {{type::CHANNEL_CHAT, 4}}});
  Login("a2", {.queues = {"chat"}, .capacity = {{type::CHANNEL_CHAT, 2}}});
  // Both free: equal share (1.0); a tie goes to the longer idle, then name.
  EXPECT_EQ(Submit(NewTask("c1", "chat", type::CHANNEL_CHAT)).agent(), "agents/a1");
  // a1 at 1/4 used (0.75 free) against a2 at 0/2 (1.0 free).
  EXPECT_EQ(Submit(NewTask("c2", "chat", type::CHANNEL_CHAT)).agent(), "agents/a2");
  // a1 0.75 against a2 0.5.
  EXPECT_EQ(Submit(NewTask("c3", "chat", type::CHANNEL_CHAT)).agent(), "agents/a1");
  const v1::Task fourth = Submit(NewTask("c4", "chat", type::CHANNEL_CHAT));
  EXPECT_EQ(fourth.agent(), "agents/a1");  // 0.5 each; a1 idle longer (never released)
}

TEST_F(RoutingEngineTest, MostSkilledAgentGetsTheTask) {
  v1::Queue queue = Queue("billing", v1::DISTRIBUTION_STRATEGY_MOST_SKILLED);
  *queue.add_required_skills() = Need("billing", 2);
  PutQueue(queue);
  Login("novice", {.queues = {"billing"}, .skills = {{"billing", 2}}});
  Login("expert", {.queues = {"billing"}, .skills = {{"billing", 5}, {"refunds", 4}}});
  Login("none", {.queues = {"billing"}, .skills = {}});
  v1::Task task = NewTask("t1", "billing");
  *task.add_required_skills() = Need("refunds", 1);
  const v1::Task offered = Submit(task);
  EXPECT_EQ(offered.agent(), "agents/expert");
  const auto& candidates = offered.routing_decision().candidates();
  ASSERT_EQ(candidates.size(), 3);
  EXPECT_DOUBLE_EQ(candidates[0].score(), 9);  // 5 + 4
  EXPECT_EQ(candidates[1].agent(), "agents/none");
  EXPECT_EQ(candidates[1].ineligible_reason(), "missing_skill:billing");
  EXPECT_EQ(candidates[2].ineligible_reason(), "missing_skill:refunds");
}

TEST_F(RoutingEngineTest, RoundRobinTakesTurns) {
  PutQueue(Queue("rr", v1::DISTRIBUTION_STRATEGY_ROUND_ROBIN));
  for (const char* id : {"a1", "a2", "a3"}) {
    Login(id, {.queues = {"rr"}, .capacity = {{type::CHANNEL_EMAIL, 5}}});
  }
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    order.push_back(Submit(NewTask(absl::StrCat("e", i), "rr", type::CHANNEL_EMAIL)).agent());
  }
  EXPECT_THAT(order, ElementsAre("agents/a1", "agents/a2", "agents/a3", "agents/a1", "agents/a2",
                                 "agents/a3"));
}

// -------------------------------------------------------- skills and bullseye

TEST_F(RoutingEngineTest, BullseyeWidensLanguageThenProficiencyThenQueues) {
  PutQueue(Queue("backup"));
  v1::Queue queue = Queue("cards");
  *queue.add_required_skills() = Need("cards", 4);
  v1::BullseyeStep& language = *queue.add_bullseye_steps();
  *language.mutable_after() = Dur(absl::Seconds(30));
  language.set_relax_language(true);
  v1::BullseyeStep& proficiency = *queue.add_bullseye_steps();
  *proficiency.mutable_after() = Dur(absl::Seconds(60));
  proficiency.set_lower_min_proficiency_by(2);
  v1::BullseyeStep& wider = *queue.add_bullseye_steps();
  *wider.mutable_after() = Dur(absl::Seconds(90));
  wider.add_extra_queues("queues/backup");
  PutQueue(queue);
  // An English speaker with the skill, a Korean speaker with little skill,
  // and a backup agent with some skill who does not serve "cards".
  Login("english", {.queues = {"cards"},
                    .capacity = {{type::CHANNEL_CHAT, 1}},
                    .skills = {{"cards", 5}},
                    .languages = {"en-US"}});
  Login("junior",
        {.queues = {"cards"}, .capacity = {{type::CHANNEL_CHAT, 1}}, .skills = {{"cards", 1}}});
  Login("backup",
        {.queues = {"backup"}, .capacity = {{type::CHANNEL_CHAT, 1}}, .skills = {{"cards", 2}}});
  // Keep the English speaker busy with something else until later.
  v1::Task first = Submit(NewTask("t0", "cards", type::CHANNEL_CHAT, 0, "en"));
  ASSERT_EQ(first.agent(), "agents/english");
  ASSERT_TRUE(engine_.Accept("tasks/t0", "agents/english", now_).ok());

  const v1::Task waiting = Submit(NewTask("t1", "cards", type::CHANNEL_CHAT));
  EXPECT_EQ(waiting.state(), v1::Task::STATE_QUEUED);
  EXPECT_EQ(waiting.routing_decision().bullseye_step(), 0);
  Advance(absl::Seconds(30));  // language relaxed: the only speaker is busy
  EXPECT_EQ(Task("t1").state(), v1::Task::STATE_QUEUED);
  EXPECT_EQ(Task("t1").routing_decision().bullseye_step(), 1);
  Advance(absl::Seconds(30));  // cards >= 2: junior (1) still short
  EXPECT_EQ(Task("t1").state(), v1::Task::STATE_QUEUED);
  Advance(absl::Seconds(30));  // backup queue joins: backup has cards 2
  EXPECT_EQ(Task("t1").state(), v1::Task::STATE_OFFERED);
  EXPECT_EQ(Task("t1").agent(), "agents/backup");
  EXPECT_EQ(Task("t1").routing_decision().bullseye_step(), 3);
}

// ------------------------------------------------------- capacity and blocks

TEST_F(RoutingEngineTest, ChannelCapacityAndBlocking) {
  PutQueue(Queue("mixed"));
  Login("a1", {.queues = {"mixed"}});  // voice 1 (blocks chat), chat 3
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Submit(NewTask(absl::StrCat("chat", i), "mixed", type::CHANNEL_CHAT)).agent(),
              "agents/a1");
  }
  EXPECT_EQ(State("a1"), v1::AGENT_STATE_AVAILABLE);  // voice still free
  const v1::Task fourth = Submit(NewTask("chat3", "mixed", type::CHANNEL_CHAT));
  EXPECT_EQ(fourth.state(), v1::Task::STATE_QUEUED);
  EXPECT_EQ(fourth.routing_decision().candidates(0).ineligible_reason(), "no_capacity");
  const v1::Task call = Submit(NewTask("call", "mixed", type::CHANNEL_VOICE));
  EXPECT_EQ(call.agent(), "agents/a1");
  EXPECT_EQ(State("a1"), v1::AGENT_STATE_BUSY);
  // Chats end; the waiting chat still cannot come: the call blocks chat.
  for (int i = 0; i < 3; ++i) Finish(absl::StrCat("chat", i), "a1");
  EXPECT_EQ(Task("chat3").state(), v1::Task::STATE_QUEUED);
  ASSERT_TRUE(engine_.Accept("tasks/call", "agents/a1", now_).ok());
  const v1::Task blocked = Submit(NewTask("chat4", "mixed", type::CHANNEL_CHAT));
  EXPECT_EQ(blocked.routing_decision().candidates(0).ineligible_reason(),
            "blocked_by_channel:VOICE");
  // The call ends: the chats that waited come, oldest first.
  ASSERT_TRUE(engine_.Complete("tasks/call", "agents/a1", "", now_).ok());
  EXPECT_EQ(Task("chat3").agent(), "agents/a1");
  EXPECT_EQ(Task("chat4").agent(), "agents/a1");
}

// --------------------------------------------------- priority across queues

TEST_F(RoutingEngineTest, PriorityThenWaitAcrossEveryQueueAnAgentServes) {
  PutQueue(Queue("general", v1::DISTRIBUTION_STRATEGY_LONGEST_IDLE, 5));
  PutQueue(Queue("sales", v1::DISTRIBUTION_STRATEGY_LONGEST_IDLE, 5));
  PutQueue(Queue("vip", v1::DISTRIBUTION_STRATEGY_LONGEST_IDLE, 8));
  Submit(NewTask("old-general", "general"));
  Advance(absl::Seconds(10));
  Submit(NewTask("new-sales", "sales"));
  Advance(absl::Seconds(10));
  Submit(NewTask("urgent-sales", "sales", type::CHANNEL_VOICE, 9));
  Advance(absl::Seconds(10));
  Submit(NewTask("vip-call", "vip"));
  // One agent serving all three comes in: the queue priority first, then
  // the task priority, then the earliest submission.
  Login("a1", {.queues = {"general", "sales", "vip"}});
  EXPECT_EQ(Task("vip-call").agent(), "agents/a1");
  std::vector<std::string> order = {"vip-call"};
  for (const char* next : {"urgent-sales", "old-general", "new-sales"}) {
    Finish(order.back(), "a1");
    EXPECT_EQ(Task(next).state(), v1::Task::STATE_OFFERED) << next;
    order.push_back(next);
  }
}

// ---------------------------------------------------------------- offers

TEST_F(RoutingEngineTest, MissedOfferRequeuesAndSetsTheAgentNotResponding) {
  v1::Queue queue = Queue("support");
  *queue.mutable_offer_timeout() = Dur(absl::Seconds(15));
  PutQueue(queue);
  Login("a1", {.queues = {"support"}});
  Advance(absl::Seconds(1));
  Login("a2", {.queues = {"support"}});
  const v1::Task offered = Submit(NewTask("t1", "support"));
  ASSERT_EQ(offered.agent(), "agents/a1");
  EXPECT_EQ(engine_.NextDeadline(), now_ + absl::Seconds(15));
  Advance(absl::Seconds(15));
  EXPECT_EQ(State("a1"), v1::AGENT_STATE_NOT_RESPONDING);
  EXPECT_THAT(engine_.GetAgent("agents/a1")->presence().reason(), HasSubstr("tasks/t1"));
  EXPECT_EQ(Task("t1").agent(), "agents/a2");  // straight to the next agent
  // Accepting the withdrawn offer is refused.
  EXPECT_EQ(engine_.Accept("tasks/t1", "agents/a1", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Back at the desk.
  ASSERT_TRUE(engine_.SetAgentState("agents/a1", v1::AGENT_STATE_AVAILABLE, "", now_).ok());
  EXPECT_EQ(State("a1"), v1::AGENT_STATE_AVAILABLE);
}

TEST_F(RoutingEngineTest, MissedOfferCanKeepTheAgentAvailable) {
  v1::Queue queue = Queue("support");
  queue.set_keep_agent_available_on_missed_offer(true);
  PutQueue(queue);
  Login("a1", {.queues = {"support"}});
  Submit(NewTask("t1", "support"));
  Advance(absl::Seconds(20));  // default offer timeout
  EXPECT_EQ(State("a1"), v1::AGENT_STATE_AVAILABLE);
  // Not offered the same task again, but the next one.
  const v1::Task again = Task("t1");
  EXPECT_EQ(again.state(), v1::Task::STATE_QUEUED);
  EXPECT_EQ(again.routing_decision().candidates(0).ineligible_reason(), "offer_timed_out");
  EXPECT_EQ(Submit(NewTask("t2", "support")).agent(), "agents/a1");
}

TEST_F(RoutingEngineTest, RejectedTaskKeepsItsPlaceAndSkipsThatAgent) {
  PutQueue(Queue("support"));
  Login("a1", {.queues = {"support"}});
  const v1::Task first = Submit(NewTask("t1", "support"));
  Advance(absl::Seconds(5));
  Submit(NewTask("t2", "support"));
  ASSERT_EQ(first.agent(), "agents/a1");
  auto rejected = engine_.Reject("tasks/t1", "agents/a1", "wrong language", now_);
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(rejected->state(), v1::Task::STATE_QUEUED);
  // a1 gets the next task instead; t1 waits for someone else at the front.
  EXPECT_EQ(Task("t2").agent(), "agents/a1");
  EXPECT_EQ(Task("t1").routing_decision().candidates(0).ineligible_reason(),
            "rejected: wrong language");
  Login("a2", {.queues = {"support"}});
  EXPECT_EQ(Task("t1").agent(), "agents/a2");
  EXPECT_EQ(engine_.Reject("tasks/t1", "agents/a1", "", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RoutingEngineTest, WrapUpEndsByItselfAfterTheChannelsTime) {
  v1::Queue queue = Queue("support");
  *queue.mutable_wrap_up_timeout() = Dur(absl::Minutes(2));
  PutQueue(queue);
  Login("a1", {.queues = {"support"}});
  v1::Agent agent = *engine_.GetAgent("agents/a1");
  *agent.mutable_channel_capacities(0)->mutable_wrap_up_timeout() = Dur(absl::Seconds(45));
  ASSERT_TRUE(engine_.PutAgent(agent, now_).ok());
  Submit(NewTask("call", "support"));
  ASSERT_TRUE(engine_.Accept("tasks/call", "agents/a1", now_).ok());
  ASSERT_TRUE(engine_.WrapUp("tasks/call", "agents/a1", now_).ok());
  EXPECT_EQ(State("a1"), v1::AGENT_STATE_WRAP_UP);
  Submit(NewTask("next", "support"));
  EXPECT_EQ(Task("next").state(), v1::Task::STATE_QUEUED);
  Advance(absl::Seconds(44));
  EXPECT_EQ(State("a1"), v1::AGENT_STATE_WRAP_UP);
  Advance(absl::Seconds(1));
  EXPECT_EQ(engine_.GetTask("tasks/call").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Task("next").agent(), "agents/a1");
  std::vector<RoutingChange> changes = engine_.TakeChanges();
  bool completed = false;
  for (const RoutingChange& change : changes) {
    completed |= change.kind == RoutingChange::kTask && change.task.name() == "tasks/call" &&
                 change.task.state() == v1::Task::STATE_COMPLETED;
  }
  EXPECT_TRUE(completed);
}

// ------------------------------------------------------ overflow and hours

TEST_F(RoutingEngineTest, OverflowMovesWaitingTasksAndMaxWaitExpiresThem) {
  PutQueue(Queue("tier2"));
  v1::Queue tier1 = Queue("tier1");
  tier1.mutable_overflow()->set_target_queue("queues/tier2");
  *tier1.mutable_overflow()->mutable_after() = Dur(absl::Seconds(60));
  PutQueue(tier1);
  v1::Queue loop = Queue("tier2");
  loop.mutable_overflow()->set_target_queue("queues/tier1");
  *loop.mutable_overflow()->mutable_after() = Dur(absl::Seconds(60));
  EXPECT_EQ(engine_.PutQueue(loop, now_).status().code(), absl::StatusCode::kInvalidArgument);
  v1::Queue expiring = Queue("tier2");
  *expiring.mutable_max_wait() = Dur(absl::Minutes(5));
  PutQueue(expiring);

  Submit(NewTask("t1", "tier1"));
  Advance(absl::Seconds(59));
  EXPECT_EQ(Task("t1").queue(), "queues/tier1");
  Advance(absl::Seconds(1));
  EXPECT_EQ(Task("t1").queue(), "queues/tier2");
  EXPECT_EQ(TimeUtil::TimestampToSeconds(Task("t1").enqueue_time()), absl::ToUnixSeconds(now_));
  Advance(absl::Minutes(5));
  EXPECT_EQ(engine_.GetTask("tasks/t1").status().code(), absl::StatusCode::kNotFound);
  const std::vector<RoutingChange> changes = engine_.TakeChanges();
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes.back().task.state(), v1::Task::STATE_EXPIRED);
  EXPECT_THAT(changes.back().task.end_reason(), HasSubstr("max_wait"));
}

TEST_F(RoutingEngineTest, ClosedQueueRefusesTasksAndSaysWhenItOpens) {
  v1::Queue queue = Queue("office");
  v1::BusinessHours& hours = *queue.mutable_business_hours();
  hours.set_time_zone("Asia/Seoul");
  type::WeeklyTimeWindow& window = *hours.add_open_windows();
  for (auto day : {type::DAY_OF_WEEK_MONDAY, type::DAY_OF_WEEK_TUESDAY, type::DAY_OF_WEEK_WEDNESDAY,
                   type::DAY_OF_WEEK_THURSDAY, type::DAY_OF_WEEK_FRIDAY}) {
    window.add_days(day);
  }
  window.mutable_start_time()->set_hours(9);
  window.mutable_end_time()->set_hours(18);
  PutQueue(queue);
  // 2026-12-02 10:00 UTC is Wednesday 19:00 in Seoul: closed.
  auto refused = engine_.Submit(NewTask("late", "office"), {}, now_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("opens at 2026-12-03T09:00:00+09:00"));  // Thursday morning
  now_ = absl::FromCivil(absl::CivilSecond(2026, 12, 3, 0, 30, 0), absl::UTCTimeZone());
  EXPECT_EQ(Submit(NewTask("morning", "office")).state(), v1::Task::STATE_QUEUED);
}

// ------------------------------------------------------ customer context

TEST_F(RoutingEngineTest, VipTierJumpsTheQueue) {
  v1::Queue queue = Queue("support");
  v1::TierPriority& vip = *queue.add_tier_priorities();
  vip.set_tier("VIP");
  vip.set_priority_boost(3);
  PutQueue(queue);
  Submit(NewTask("regular", "support"));
  Advance(absl::Seconds(30));
  const v1::Task vip_task = Submit(NewTask("vip", "support"),
                                   {.looked_up = true, .customer = "customers/c1", .tier = "VIP"});
  EXPECT_EQ(vip_task.routing_decision().effective_priority(), 8);
  EXPECT_EQ(vip_task.routing_decision().context_enrichment().status(),
            v1::ContextEnrichment::STATUS_APPLIED);
  EXPECT_THAT(vip_task.routing_decision().context_enrichment().effects(),
              ElementsAre("priority 5 -> 8 (tier VIP)"));
  Login("a1", {.queues = {"support"}});
  EXPECT_EQ(Task("vip").agent(), "agents/a1");
  EXPECT_EQ(Task("regular").state(), v1::Task::STATE_QUEUED);
  // Without context the task still routes, and says why.
  const v1::Task skipped =
      Submit(NewTask("unknown", "support"),
             {.looked_up = false, .skip_reason = "context service unavailable"});
  EXPECT_EQ(skipped.routing_decision().context_enrichment().status(),
            v1::ContextEnrichment::STATUS_SKIPPED);
  EXPECT_EQ(skipped.routing_decision().context_enrichment().reason(),
            "context service unavailable");
}

TEST_F(RoutingEngineTest, ReturningCustomerWaitsForTheirLastAgentThenAnyone) {
  v1::Queue queue = Queue("support");
  *queue.mutable_last_agent_window() = Dur(absl::Seconds(30));
  PutQueue(queue);
  Login("kim", {.queues = {"support"}});
  Login("lee", {.queues = {"support"}});
  Login("emma", {.queues = {"support"}, .languages = {"en"}});
  // kim is busy on a call; lee is free, but the customer's last agent was kim.
  Submit(NewTask("busy", "support"));
  ASSERT_EQ(Task("busy").agent(), "agents/kim");
  ASSERT_TRUE(engine_.Accept("tasks/busy", "agents/kim", now_).ok());
  const CustomerInfo returning{
      .looked_up = true, .customer = "customers/c9", .last_agent = "agents/kim"};
  const v1::Task task = Submit(NewTask("again", "support"), returning);
  EXPECT_EQ(task.state(), v1::Task::STATE_QUEUED);
  EXPECT_THAT(task.routing_decision().context_enrichment().effects(),
              ElementsAre("last agent agents/kim preferred for 30s"));
  // kim frees up within the window: the task goes to kim.
  Advance(absl::Seconds(10));
  ASSERT_TRUE(engine_.Complete("tasks/busy", "agents/kim", "", now_).ok());
  EXPECT_EQ(Task("again").agent(), "agents/kim");

  // Next time kim stays busy: after the window anyone eligible gets it.
  ASSERT_TRUE(engine_.Accept("tasks/again", "agents/kim", now_).ok());
  Submit(NewTask("third", "support"), returning);
  EXPECT_EQ(ReasonFor(Task("third"), "agents/lee"), "reserved_for_last_agent");
  EXPECT_EQ(ReasonFor(Task("third"), "agents/kim"), "no_capacity");
  // The reservation is named only for agents who could take the task
  // otherwise; emma cannot anyway.
  EXPECT_EQ(ReasonFor(Task("third"), "agents/emma"), "language");
  Advance(absl::Seconds(29));
  EXPECT_EQ(Task("third").state(), v1::Task::STATE_QUEUED);
  Advance(absl::Seconds(1));
  EXPECT_EQ(Task("third").agent(), "agents/lee");
}

// ------------------------------------------------------------ presence

TEST_F(RoutingEngineTest, LostDesktopSetsAwayAfterGraceAndReturnsOffers) {
  v1::Queue queue = Queue("support");
  *queue.mutable_offer_timeout() = Dur(absl::Minutes(5));  // outlasts the grace period
  PutQueue(queue);
  Login("a1", {.queues = {"support"}});
  Submit(NewTask("t1", "support"));
  ASSERT_EQ(Task("t1").agent(), "agents/a1");
  engine_.CloseSession("agents/a1", now_);
  Advance(absl::Seconds(30));
  ASSERT_TRUE(engine_.OpenSession("agents/a1", now_).ok());  // reconnected in time
  engine_.CloseSession("agents/a1", now_);
  Advance(absl::Seconds(59));
  EXPECT_EQ(State("a1"), v1::AGENT_STATE_BUSY);
  EXPECT_EQ(Task("t1").state(), v1::Task::STATE_OFFERED);
  Advance(absl::Seconds(1));
  EXPECT_EQ(State("a1"), v1::AGENT_STATE_AWAY);
  EXPECT_EQ(engine_.GetAgent("agents/a1")->presence().reason(), "desktop disconnected");
  EXPECT_EQ(Task("t1").state(), v1::Task::STATE_QUEUED);
  // No session, no offers even when AVAILABLE again.
  ASSERT_TRUE(engine_.SetAgentState("agents/a1", v1::AGENT_STATE_AVAILABLE, "", now_).ok());
  EXPECT_EQ(ReasonFor(Submit(NewTask("t2", "support")), "agents/a1"), "no_desktop_session");
  ASSERT_TRUE(engine_.OpenSession("agents/a1", now_).ok());
  EXPECT_EQ(Task("t1").agent(), "agents/a1");
}

// --------------------------------------------------- cancel and transfer

TEST_F(RoutingEngineTest, CancelTransferAndEtags) {
  PutQueue(Queue("support"));
  PutQueue(Queue("billing"));
  Login("a1", {.queues = {"support"}});
  Login("b1", {.queues = {"billing"}});
  const v1::Task offered = Submit(NewTask("t1", "support"));
  ASSERT_EQ(offered.agent(), "agents/a1");
  ASSERT_TRUE(engine_.Accept("tasks/t1", "agents/a1", now_).ok());
  EXPECT_EQ(engine_.Cancel("tasks/t1", "", false, "", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine_.Transfer("tasks/t1", "queues/billing", "", "", "stale", now_).status().code(),
            absl::StatusCode::kAborted);
  auto moved = engine_.Transfer("tasks/t1", "queues/billing", "", "billing question",
                                Task("t1").etag(), now_);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->queue(), "queues/billing");
  EXPECT_EQ(moved->agent(), "agents/b1");
  EXPECT_EQ(State("a1"), v1::AGENT_STATE_AVAILABLE);  // released

  Submit(NewTask("t2", "support"));
  ASSERT_EQ(Task("t2").agent(), "agents/a1");
  auto abandoned = engine_.Cancel("tasks/t2", "caller hung up", true, "", now_);
  ASSERT_TRUE(abandoned.ok());
  EXPECT_EQ(abandoned->state(), v1::Task::STATE_ABANDONED);
  EXPECT_EQ(abandoned->end_reason(), "caller hung up");
  auto stats = engine_.Stats("queues/support", absl::Hours(1), now_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->tasks_abandoned(), 1);
}

// ------------------------------------------------------------- statistics

TEST_F(RoutingEngineTest, QueueStatsAndHonestWaitEstimates) {
  v1::Queue queue = Queue("support");
  queue.mutable_service_level_target()->set_percent(80);
  *queue.mutable_service_level_target()->mutable_threshold() = Dur(absl::Seconds(20));
  PutQueue(queue);
  Login("a1", {.queues = {"support"}, .capacity = {{type::CHANNEL_VOICE, 1}}});
  auto set = [&](v1::AgentState state) {
    ASSERT_TRUE(engine_.SetAgentState("agents/a1", state, "break", now_).ok());
  };
  set(v1::AGENT_STATE_AWAY);
  // Five calls, each answered after waiting 10, 10, 30, 10 and 10 s and
  // handled for 4 minutes; then one caller hangs up after 40 s.
  const int waits[] = {10, 10, 30, 10, 10};
  for (int i = 0; i < 5; ++i) {
    const std::string id = absl::StrCat("t", i);
    Submit(NewTask(id, "support"));
    Advance(absl::Seconds(waits[i]));
    set(v1::AGENT_STATE_AVAILABLE);
    ASSERT_EQ(Task(id).agent(), "agents/a1");
    ASSERT_TRUE(engine_.Accept("tasks/" + id, "agents/a1", now_).ok());
    Advance(absl::Minutes(4));
    ASSERT_TRUE(engine_.Complete("tasks/" + id, "agents/a1", "", now_).ok());
    set(v1::AGENT_STATE_AWAY);
  }
  Submit(NewTask("gone", "support"));
  Advance(absl::Seconds(40));
  ASSERT_TRUE(engine_.Cancel("tasks/gone", "hung up", true, "", now_).ok());

  auto stats = engine_.Stats("queues/support", absl::Hours(1), now_);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->tasks_offered(), 6);
  EXPECT_EQ(stats->tasks_answered(), 5);
  EXPECT_EQ(stats->tasks_abandoned(), 1);
  EXPECT_NEAR(stats->service_level_percent(), 100.0 * 4 / 6, 1e-9);
  EXPECT_EQ(TimeUtil::DurationToSeconds(stats->average_handle_time()), 240);
  EXPECT_EQ(stats->tasks_waiting(), 0);
  EXPECT_EQ(stats->agents_available(), 0);  // away
  // Nobody staffed: the estimate falls back on recent waits, and says it
  // rests on little data.
  EXPECT_EQ(TimeUtil::DurationToSeconds(stats->estimated_wait().p50()), 10);
  EXPECT_EQ(TimeUtil::DurationToSeconds(stats->estimated_wait().p90()), 30);
  EXPECT_EQ(stats->estimated_wait().sample_count(), 5);
  EXPECT_TRUE(stats->estimated_wait().low_data());

  // One agent on a call, two callers waiting: a new caller is fourth in
  // line for one agent at 4 minutes a call.
  set(v1::AGENT_STATE_AVAILABLE);
  Submit(NewTask("w1", "support"));
  ASSERT_TRUE(engine_.Accept("tasks/w1", "agents/a1", now_).ok());
  Submit(NewTask("w2", "support"));
  Advance(absl::Seconds(25));
  Submit(NewTask("w3", "support"));
  stats = engine_.Stats("queues/support", absl::Hours(1), now_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->tasks_waiting(), 2);
  EXPECT_EQ(TimeUtil::DurationToSeconds(stats->longest_wait()), 25);
  EXPECT_EQ(stats->agents_busy(), 1);
  EXPECT_EQ(TimeUtil::DurationToSeconds(stats->estimated_wait().p50()), 720);
  EXPECT_EQ(TimeUtil::DurationToSeconds(stats->estimated_wait().p90()), 1440);
  // A short window holds none of the answered calls.
  stats = engine_.Stats("queues/support", absl::Minutes(1), now_);
  EXPECT_EQ(stats->tasks_answered(), 1);   // w1, at once
  EXPECT_EQ(stats->tasks_abandoned(), 1);  // 25 s ago
  EXPECT_NEAR(stats->service_level_percent(), 50.0, 1e-9);
}

// ---------------------------------------------------------------- restart

TEST_F(RoutingEngineTest, RestoredOffersGoBackToTheQueueAndHeldTasksHoldCapacity) {
  PutQueue(Queue("support"));
  Login("a1", {.queues = {"support"}, .capacity = {{type::CHANNEL_VOICE, 1}}});
  Login("a2", {.queues = {"support"}, .capacity = {{type::CHANNEL_VOICE, 1}}});
  Submit(NewTask("held", "support"));
  const std::string holder = Task("held").agent();
  ASSERT_TRUE(engine_.Accept("tasks/held", holder, now_).ok());
  Submit(NewTask("offered", "support"));
  Submit(NewTask("queued", "support"));
  const std::vector<v1::Task> saved = {Task("held"), Task("offered"), Task("queued")};
  ASSERT_EQ(saved[1].state(), v1::Task::STATE_OFFERED);

  // A new engine, as after a restart: configuration first, then tasks.
  RoutingEngine restarted;
  ASSERT_TRUE(restarted.PutQueue(Queue("support"), now_).ok());
  for (const char* id : {"a1", "a2"}) {
    v1::Agent agent = *engine_.GetAgent(absl::StrCat("agents/", id));
    ASSERT_TRUE(restarted.PutAgent(agent, now_).ok());
  }
  for (const v1::Task& task : saved) ASSERT_TRUE(restarted.Restore(task, now_).ok());
  EXPECT_EQ(restarted.GetTask("tasks/offered")->state(), v1::Task::STATE_QUEUED);
  EXPECT_EQ(restarted.waiting_tasks(), 2u);
  // Agents come back: the one holding a call gets nothing new.
  for (const char* id : {"a1", "a2"}) {
    const std::string name = absl::StrCat("agents/", id);
    ASSERT_TRUE(restarted.OpenSession(name, now_).ok());
    ASSERT_TRUE(restarted.SetAgentState(name, v1::AGENT_STATE_AVAILABLE, "", now_).ok());
  }
  restarted.DispatchAll(now_);
  const std::string other = holder == "agents/a1" ? "agents/a2" : "agents/a1";
  EXPECT_EQ(restarted.GetTask("tasks/offered")->agent(), other);  // first in line
  EXPECT_EQ(restarted.GetTask("tasks/queued")->state(), v1::Task::STATE_QUEUED);
  EXPECT_EQ(restarted.GetAgent(holder)->presence().state(), v1::AGENT_STATE_BUSY);
}

}  // namespace
}  // namespace cxp::routing
