#include "routing_service/validation/queue_validation.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::routing::validation {
namespace {

using cxp::routing::v1::BullseyeStep;
using cxp::routing::v1::CreateQueueRequest;
using cxp::routing::v1::Queue;
using cxp::routing::v1::UpdateQueueRequest;
using cxp::validation::testing_util::IsInvalid;
using ::testing::ElementsAre;

constexpr char kQueueNameRule[] =
    "must be \"queues/{queue}\" where {queue} is 1 to 63 characters of [a-z0-9-], starting with "
    "a letter or digit";

void SetSeconds(google::protobuf::Duration* d, int64_t seconds, int32_t nanos = 0) {
  d->set_seconds(seconds);
  d->set_nanos(nanos);
}

void AddSkill(Queue& queue, const std::string& skill, int min_proficiency) {
  auto* s = queue.add_required_skills();
  s->set_skill(skill);
  s->set_min_proficiency(min_proficiency);
}

void AddTier(Queue& queue, const std::string& tier, int boost) {
  auto* t = queue.add_tier_priorities();
  t->set_tier(tier);
  t->set_priority_boost(boost);
}

// A valid queue using every configuration field, plus output-only ones.
Queue FullQueue() {
  Queue queue;
  queue.set_name("queues/billing");
  queue.set_display_name("결제 문의 (Billing)");
  AddSkill(queue, "billing", 2);
  queue.set_priority(7);
  queue.set_distribution_strategy(cxp::routing::v1::DISTRIBUTION_STRATEGY_MOST_SKILLED);
  BullseyeStep* step = queue.add_bullseye_steps();
  SetSeconds(step->mutable_after(), 30);
  step->set_relax_language(true);
  step->set_lower_min_proficiency_by(1);
  step->add_extra_queues("queues/general");
  step = queue.add_bullseye_steps();
  SetSeconds(step->mutable_after(), 60);
  step->set_lower_min_proficiency_by(4);
  queue.mutable_overflow()->set_target_queue("queues/overflow");
  SetSeconds(queue.mutable_overflow()->mutable_after(), 120);
  SetSeconds(queue.mutable_max_wait(), 600);
  auto* hours = queue.mutable_business_hours();
  hours->set_time_zone("Asia/Seoul");
  auto* window = hours->add_open_windows();
  for (int day = 1; day <= 5; ++day) window->add_days(static_cast<cxp::type::v1::DayOfWeek>(day));
  window->mutable_start_time()->set_hours(9);
  window->mutable_end_time()->set_hours(18);
  auto* holiday = hours->add_holidays();
  holiday->mutable_date()->set_year(2024);
  holiday->mutable_date()->set_month(9);
  holiday->mutable_date()->set_day(17);
  holiday->set_display_name("추석 (Chuseok)");
  queue.mutable_service_level_target()->set_percent(80);
  SetSeconds(queue.mutable_service_level_target()->mutable_threshold(), 20);
  queue.add_intents("billing_question");
  queue.add_intents("환불 요청");
  SetSeconds(queue.mutable_offer_timeout(), 30);
  SetSeconds(queue.mutable_wrap_up_timeout(), 60);
  SetSeconds(queue.mutable_last_agent_window(), 300);
  AddTier(queue, "VIP", 3);
  AddTier(queue, "Gold", 1);
  queue.set_keep_agent_available_on_missed_offer(true);
  queue.mutable_create_time()->set_seconds(1714521600);
  queue.mutable_update_time()->set_seconds(1714521600);
  queue.set_etag("2");
  return queue;
}

TEST(NormalizeQueueTest, FullQueuePassesUnchangedExceptOutputOnly) {
  const Queue in = FullQueue();
  absl::StatusOr<Queue> out = NormalizeQueue(in, "queue", "billing");
  ASSERT_TRUE(out.ok()) << out.status();
  Queue expected = in;
  expected.clear_create_time();
  expected.clear_update_time();
  EXPECT_EQ(out->SerializeAsString(), expected.SerializeAsString());
}

TEST(NormalizeQueueTest, AppliesDefaults) {
  Queue queue;
  queue.set_display_name("Q");
  absl::StatusOr<Queue> out = NormalizeQueue(queue, "queue");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->priority(), 5);
  EXPECT_EQ(out->distribution_strategy(), cxp::routing::v1::DISTRIBUTION_STRATEGY_LONGEST_IDLE);
  EXPECT_EQ(out->offer_timeout().seconds(), 20);
  EXPECT_EQ(out->wrap_up_timeout().seconds(), 120);
  EXPECT_FALSE(out->has_max_wait());
  EXPECT_FALSE(out->has_last_agent_window());
  EXPECT_FALSE(out->has_overflow());
  EXPECT_FALSE(out->has_business_hours());
}

TEST(NormalizeQueueTest, BoundaryValuesPass) {
  Queue queue = FullQueue();
  queue.set_priority(10);
  queue.set_display_name(std::string(256, 'q'));
  for (int i = 1; i < 20; ++i) AddSkill(queue, absl::StrCat("s", i), 5);
  for (int i = 2; i < 10; ++i) SetSeconds(queue.add_bullseye_steps()->mutable_after(), 60 + i);
  SetSeconds(queue.mutable_overflow()->mutable_after(), 1);
  SetSeconds(queue.mutable_max_wait(), 1, 1);
  queue.mutable_service_level_target()->set_percent(100);
  SetSeconds(queue.mutable_service_level_target()->mutable_threshold(), 3600);
  for (int i = 2; i < 49; ++i) queue.add_intents(absl::StrCat("intent_", i));
  queue.add_intents(std::string(128, 'i'));
  SetSeconds(queue.mutable_offer_timeout(), 5);
  SetSeconds(queue.mutable_wrap_up_timeout(), 0, 1);
  SetSeconds(queue.mutable_last_agent_window(), 0);  // explicit 0: off
  for (int i = 2; i < 20; ++i) AddTier(queue, absl::StrCat("tier", i), 9);
  EXPECT_EQ(queue.intents_size(), 50);
  EXPECT_TRUE(NormalizeQueue(queue, "queue").ok()) << NormalizeQueue(queue, "queue").status();
  SetSeconds(queue.mutable_offer_timeout(), 300);
  SetSeconds(queue.mutable_wrap_up_timeout(), 3600);
  SetSeconds(queue.mutable_last_agent_window(), 600);
  queue.clear_overflow();
  SetSeconds(queue.mutable_max_wait(), 0, 1);  // without overflow any positive wait
  EXPECT_TRUE(NormalizeQueue(queue, "queue").ok()) << NormalizeQueue(queue, "queue").status();
}

struct Case {
  std::string name;
  std::function<void(Queue&)> mutate;
  std::string message;
};

TEST(NormalizeQueueTest, EachRuleNamesTheField) {
  const std::string bad_duration =
      ": must be a valid duration (|seconds| <= 315576000000, |nanos| <= 999999999, same sign)";
  const std::vector<Case> cases = {
      {"display_name empty", [](Queue& q) { q.clear_display_name(); },
       "queue.display_name: must not be empty"},
      {"display_name long", [](Queue& q) { q.set_display_name(std::string(257, 'q')); },
       "queue.display_name: must be at most 256 characters (got 257)"},
      {"too many skills",
       [](Queue& q) {
         for (int i = 0; i < 20; ++i) AddSkill(q, absl::StrCat("s", i), 1);
       },
       "queue.required_skills: must have at most 20 entries (got 21)"},
      {"skill id", [](Queue& q) { q.mutable_required_skills(0)->set_skill("bill ing"); },
       "queue.required_skills[0].skill: must be 1 to 64 characters of [a-z0-9_.-]"},
      {"min_proficiency", [](Queue& q) { AddSkill(q, "sales", 6); },
       "queue.required_skills[1].min_proficiency: must be 1 to 5 (got 6)"},
      {"min_proficiency unset", [](Queue& q) { AddSkill(q, "sales", 0); },
       "queue.required_skills[1].min_proficiency: must be 1 to 5 (got 0)"},
      {"skill repeated", [](Queue& q) { AddSkill(q, "billing", 1); },
       "queue.required_skills[1].skill: repeats queue.required_skills[0].skill"},
      {"priority high", [](Queue& q) { q.set_priority(11); },
       "queue.priority: must be 1 to 10, or 0 for the default 5 (got 11)"},
      {"priority negative", [](Queue& q) { q.set_priority(-1); },
       "queue.priority: must be 1 to 10, or 0 for the default 5 (got -1)"},
      {"strategy unknown",
       [](Queue& q) {
         q.set_distribution_strategy(static_cast<cxp::routing::v1::DistributionStrategy>(9));
       },
       "queue.distribution_strategy: unknown DistributionStrategy value 9"},
      {"too many steps",
       [](Queue& q) {
         for (int i = 0; i < 9; ++i) SetSeconds(q.add_bullseye_steps()->mutable_after(), 100 + i);
       },
       "queue.bullseye_steps: must have at most 10 entries (got 11)"},
      {"step after unset", [](Queue& q) { q.mutable_bullseye_steps(0)->clear_after(); },
       "queue.bullseye_steps[0].after: must be set"},
      {"step after short",
       [](Queue& q) { SetSeconds(q.mutable_bullseye_steps(0)->mutable_after(), 0, 500000000); },
       "queue.bullseye_steps[0].after: must be at least 1s (got 500ms)"},
      {"step after invalid",
       [](Queue& q) { SetSeconds(q.mutable_bullseye_steps(0)->mutable_after(), 30, -1); },
       "queue.bullseye_steps[0].after" + bad_duration},
      {"steps not increasing",
       [](Queue& q) { SetSeconds(q.mutable_bullseye_steps(1)->mutable_after(), 30); },
       "queue.bullseye_steps[1].after: must be later than queue.bullseye_steps[0].after, which "
       "is 30s (got 30s)"},
      {"lower_min_proficiency_by",
       [](Queue& q) { q.mutable_bullseye_steps(1)->set_lower_min_proficiency_by(5); },
       "queue.bullseye_steps[1].lower_min_proficiency_by: must be 0 to 4 (got 5)"},
      {"lower_min_proficiency_by negative",
       [](Queue& q) { q.mutable_bullseye_steps(0)->set_lower_min_proficiency_by(-1); },
       "queue.bullseye_steps[0].lower_min_proficiency_by: must be 0 to 4 (got -1)"},
      {"extra queue name",
       [](Queue& q) { q.mutable_bullseye_steps(0)->add_extra_queues("general"); },
       std::string("queue.bullseye_steps[0].extra_queues[1]: ") + kQueueNameRule},
      {"extra queue repeated",
       [](Queue& q) { q.mutable_bullseye_steps(0)->add_extra_queues("queues/general"); },
       "queue.bullseye_steps[0].extra_queues[1]: repeats "
       "queue.bullseye_steps[0].extra_queues[0]"},
      {"overflow target empty", [](Queue& q) { q.mutable_overflow()->clear_target_queue(); },
       std::string("queue.overflow.target_queue: ") + kQueueNameRule},
      {"overflow target self",
       [](Queue& q) { q.mutable_overflow()->set_target_queue("queues/billing"); },
       "queue.overflow.target_queue: must not be the queue itself (an overflow cycle)"},
      {"overflow after unset", [](Queue& q) { q.mutable_overflow()->clear_after(); },
       "queue.overflow.after: must be set"},
      {"overflow after zero",
       [](Queue& q) { SetSeconds(q.mutable_overflow()->mutable_after(), 0); },
       "queue.overflow.after: must be at least 1s (got 0)"},
      {"max_wait zero", [](Queue& q) { SetSeconds(q.mutable_max_wait(), 0); },
       "queue.max_wait: must be greater than 0 (got 0)"},
      {"max_wait invalid", [](Queue& q) { SetSeconds(q.mutable_max_wait(), 0, 1000000000); },
       "queue.max_wait" + bad_duration},
      {"max_wait not after overflow", [](Queue& q) { SetSeconds(q.mutable_max_wait(), 120); },
       "queue.max_wait: must be longer than queue.overflow.after, which is 2m (got 2m)"},
      {"business hours time zone",
       [](Queue& q) { q.mutable_business_hours()->set_time_zone("Asia/Seol"); },
       "queue.business_hours.time_zone: unknown IANA time zone \"Asia/Seol\" (expected e.g. "
       "\"Asia/Seoul\")"},
      {"business hours without windows",
       [](Queue& q) { q.mutable_business_hours()->clear_open_windows(); },
       "queue.business_hours.open_windows: must not be empty"},
      {"business hours window hour",
       [](Queue& q) {
         q.mutable_business_hours()->mutable_open_windows(0)->mutable_start_time()->set_hours(24);
       },
       "queue.business_hours.open_windows[0].start_time.hours: must be 0 to 23 (got 24)"},
      {"holiday name long",
       [](Queue& q) {
         q.mutable_business_hours()->mutable_holidays(0)->set_display_name(std::string(129, 'h'));
       },
       "queue.business_hours.holidays[0].display_name: must be at most 128 characters (got 129)"},
      {"sla percent zero", [](Queue& q) { q.mutable_service_level_target()->set_percent(0); },
       "queue.service_level_target.percent: must be greater than 0 and at most 100 (got 0)"},
      {"sla percent high", [](Queue& q) { q.mutable_service_level_target()->set_percent(100.5); },
       "queue.service_level_target.percent: must be greater than 0 and at most 100 (got 100.5)"},
      {"sla percent nan",
       [](Queue& q) { q.mutable_service_level_target()->set_percent(std::nan("")); },
       "queue.service_level_target.percent: must be greater than 0 and at most 100 (got nan)"},
      {"sla threshold unset", [](Queue& q) { q.mutable_service_level_target()->clear_threshold(); },
       "queue.service_level_target.threshold: must be set"},
      {"sla threshold zero",
       [](Queue& q) { SetSeconds(q.mutable_service_level_target()->mutable_threshold(), 0); },
       "queue.service_level_target.threshold: must be greater than 0 and at most 1h (got 0)"},
      {"sla threshold long",
       [](Queue& q) { SetSeconds(q.mutable_service_level_target()->mutable_threshold(), 3601); },
       "queue.service_level_target.threshold: must be greater than 0 and at most 1h (got "
       "1h1s)"},
      {"too many intents",
       [](Queue& q) {
         for (int i = 0; i < 49; ++i) q.add_intents(absl::StrCat("i", i));
       },
       "queue.intents: must have at most 50 entries (got 51)"},
      {"intent empty", [](Queue& q) { q.set_intents(1, ""); },
       "queue.intents[1]: must not be empty"},
      {"intent long", [](Queue& q) { q.add_intents(std::string(129, 'i')); },
       "queue.intents[2]: must be at most 128 characters (got 129)"},
      {"intent control", [](Queue& q) { q.add_intents("refund\t"); },
       "queue.intents[2]: must not contain control characters"},
      {"intent repeated", [](Queue& q) { q.add_intents("billing_question"); },
       "queue.intents[2]: repeats queue.intents[0]"},
      {"offer_timeout short", [](Queue& q) { SetSeconds(q.mutable_offer_timeout(), 4); },
       "queue.offer_timeout: must be 5s to 5m (got 4s)"},
      {"offer_timeout long", [](Queue& q) { SetSeconds(q.mutable_offer_timeout(), 301); },
       "queue.offer_timeout: must be 5s to 5m (got 5m1s)"},
      {"offer_timeout invalid", [](Queue& q) { SetSeconds(q.mutable_offer_timeout(), -1, 5); },
       "queue.offer_timeout" + bad_duration},
      {"wrap_up_timeout zero", [](Queue& q) { SetSeconds(q.mutable_wrap_up_timeout(), 0); },
       "queue.wrap_up_timeout: must be greater than 0 and at most 1h (got 0)"},
      {"wrap_up_timeout long", [](Queue& q) { SetSeconds(q.mutable_wrap_up_timeout(), 3601); },
       "queue.wrap_up_timeout: must be greater than 0 and at most 1h (got 1h1s)"},
      {"last_agent_window long", [](Queue& q) { SetSeconds(q.mutable_last_agent_window(), 601); },
       "queue.last_agent_window: must be 0 to 10m (got 10m1s)"},
      {"last_agent_window negative",
       [](Queue& q) { SetSeconds(q.mutable_last_agent_window(), -1); },
       "queue.last_agent_window: must be 0 to 10m (got -1s)"},
      {"too many tiers",
       [](Queue& q) {
         for (int i = 0; i < 19; ++i) AddTier(q, absl::StrCat("t", i), 1);
       },
       "queue.tier_priorities: must have at most 20 entries (got 21)"},
      {"tier empty", [](Queue& q) { q.mutable_tier_priorities(1)->clear_tier(); },
       "queue.tier_priorities[1].tier: must not be empty"},
      {"tier long", [](Queue& q) { AddTier(q, std::string(65, 't'), 1); },
       "queue.tier_priorities[2].tier: must be at most 64 characters (got 65)"},
      {"tier repeated", [](Queue& q) { AddTier(q, "VIP", 2); },
       "queue.tier_priorities[2].tier: repeats queue.tier_priorities[0].tier"},
      {"priority_boost zero", [](Queue& q) { q.mutable_tier_priorities(0)->set_priority_boost(0); },
       "queue.tier_priorities[0].priority_boost: must be 1 to 9 (got 0)"},
      {"priority_boost high",
       [](Queue& q) { q.mutable_tier_priorities(1)->set_priority_boost(10); },
       "queue.tier_priorities[1].priority_boost: must be 1 to 9 (got 10)"},
  };
  for (const Case& c : cases) {
    Queue queue = FullQueue();
    c.mutate(queue);
    EXPECT_TRUE(IsInvalid(NormalizeQueue(queue, "queue", "billing"), c.message)) << c.name;
  }
}

TEST(NormalizeQueueTest, TiersDifferingInCaseAreDistinct) {
  Queue queue = FullQueue();
  AddTier(queue, "vip", 1);
  EXPECT_TRUE(NormalizeQueue(queue, "queue").ok());
}

TEST(NormalizeQueueTest, SelfOverflowNeedsTheId) {
  Queue queue = FullQueue();
  queue.mutable_overflow()->set_target_queue("queues/billing");
  EXPECT_TRUE(NormalizeQueue(queue, "queue").ok());  // ID not known yet
  EXPECT_FALSE(NormalizeQueue(queue, "queue", "billing").ok());
}

TEST(ValidateCreateQueueTest, ValidRequest) {
  CreateQueueRequest request;
  *request.mutable_queue() = FullQueue();
  request.mutable_queue()->clear_priority();
  request.set_queue_id("billing");
  request.set_request_id("123e4567-e89b-12d3-a456-426614174000");
  absl::StatusOr<ValidatedCreateQueue> out = ValidateCreateQueue(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->queue_id, "billing");
  EXPECT_EQ(out->queue.name(), "");
  EXPECT_EQ(out->queue.etag(), "");
  EXPECT_FALSE(out->queue.has_create_time());
  EXPECT_EQ(out->queue.priority(), 5);
}

TEST(ValidateCreateQueueTest, RequestErrors) {
  CreateQueueRequest request;
  EXPECT_TRUE(IsInvalid(ValidateCreateQueue(request), "queue: must be set"));
  *request.mutable_queue() = FullQueue();
  request.set_queue_id("Billing");
  EXPECT_TRUE(IsInvalid(ValidateCreateQueue(request),
                        "queue_id: must be 1 to 63 characters of [a-z0-9-], starting with a "
                        "letter or digit"));
  request.set_queue_id("overflow");  // FullQueue overflows to queues/overflow
  EXPECT_TRUE(IsInvalid(ValidateCreateQueue(request),
                        "queue.overflow.target_queue: must not be the queue itself (an overflow "
                        "cycle)"));
  request.clear_queue_id();
  request.set_request_id("1");
  EXPECT_TRUE(IsInvalid(ValidateCreateQueue(request),
                        "request_id: must be a UUID such as "
                        "\"123e4567-e89b-12d3-a456-426614174000\""));
}

UpdateQueueRequest Update(Queue queue, std::vector<std::string> paths) {
  UpdateQueueRequest request;
  *request.mutable_queue() = std::move(queue);
  for (std::string& path : paths) request.mutable_update_mask()->add_paths(std::move(path));
  return request;
}

TEST(ValidateUpdateQueueTest, ExplicitMaskChecksAndDefaultsOnlyNamedFields) {
  Queue input;
  input.set_name("queues/billing");
  input.set_priority(99);  // invalid, not named
  absl::StatusOr<ValidatedQueueUpdate> out =
      ValidateUpdateQueue(Update(input, {"offer_timeout", "distribution_strategy"}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->queue_id, "billing");
  EXPECT_THAT(out->paths, ElementsAre("offer_timeout", "distribution_strategy"));
  EXPECT_EQ(out->queue.offer_timeout().seconds(), 20);  // named but unset: the default
  EXPECT_EQ(out->queue.distribution_strategy(),
            cxp::routing::v1::DISTRIBUTION_STRATEGY_LONGEST_IDLE);
  EXPECT_FALSE(out->queue.has_wrap_up_timeout());  // not named: untouched

  EXPECT_TRUE(IsInvalid(ValidateUpdateQueue(Update(input, {"priority"})),
                        "queue.priority: must be 1 to 10, or 0 for the default 5 (got 99)"));
  input.set_priority(0);
  out = ValidateUpdateQueue(Update(input, {"priority"}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->queue.priority(), 5);
}

TEST(ValidateUpdateQueueTest, EmptyMaskSelectsSetFields) {
  Queue input;
  input.set_name("queues/billing");
  input.set_display_name("Billing");
  input.set_keep_agent_available_on_missed_offer(true);
  SetSeconds(input.mutable_last_agent_window(), 0);  // present, even though zero
  input.set_etag("2");
  input.mutable_create_time()->set_seconds(1);
  absl::StatusOr<ValidatedQueueUpdate> out = ValidateUpdateQueue(Update(input, {}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->paths, ElementsAre("display_name", "last_agent_window",
                                      "keep_agent_available_on_missed_offer"));
  EXPECT_EQ(out->queue.etag(), "2");
  EXPECT_FALSE(out->queue.has_create_time());
}

TEST(ValidateUpdateQueueTest, RequestErrors) {
  EXPECT_TRUE(IsInvalid(ValidateUpdateQueue(UpdateQueueRequest()), "queue: must be set"));
  Queue queue = FullQueue();
  queue.set_name("billing");
  EXPECT_TRUE(IsInvalid(ValidateUpdateQueue(Update(queue, {"priority"})),
                        std::string("queue.name: ") + kQueueNameRule));
  queue = FullQueue();
  const std::string allowed =
      "(updatable: display_name, required_skills, priority, distribution_strategy, "
      "bullseye_steps, overflow, max_wait, business_hours, service_level_target, intents, "
      "offer_timeout, wrap_up_timeout, last_agent_window, tier_priorities, "
      "keep_agent_available_on_missed_offer)";
  EXPECT_TRUE(IsInvalid(ValidateUpdateQueue(Update(queue, {"priority", "update_time"})),
                        "update_mask.paths[1]: \"update_time\" cannot be updated " + allowed));
  EXPECT_TRUE(IsInvalid(ValidateUpdateQueue(Update(queue, {"priorty"})),
                        "update_mask.paths[0]: unknown field \"priorty\" " + allowed));
  EXPECT_TRUE(IsInvalid(ValidateUpdateQueue(Update(queue, {"business_hours.time_zone"})),
                        "update_mask.paths[0]: \"business_hours.time_zone\" names part of a "
                        "field; messages and repeated fields are replaced whole (name "
                        "\"business_hours\")"));
  // The queue's own name is known on update: overflowing to itself is a cycle.
  queue.mutable_overflow()->set_target_queue("queues/billing");
  EXPECT_TRUE(IsInvalid(ValidateUpdateQueue(Update(queue, {"overflow"})),
                        "queue.overflow.target_queue: must not be the queue itself (an overflow "
                        "cycle)"));
  // Both named: the cross-field rule is checked on the request.
  queue = FullQueue();
  SetSeconds(queue.mutable_max_wait(), 60);
  EXPECT_TRUE(IsInvalid(ValidateUpdateQueue(Update(queue, {"max_wait", "overflow"})),
                        "queue.max_wait: must be longer than queue.overflow.after, which is 2m "
                        "(got 1m)"));
  EXPECT_TRUE(ValidateUpdateQueue(Update(queue, {"max_wait"})).ok());  // ApplyQueueUpdate's job
}

TEST(ApplyQueueUpdateTest, MergesAndChecksTheRuleAcrossFields) {
  const Queue stored = *NormalizeQueue(FullQueue(), "queue", "billing");  // max_wait 10m

  Queue input;
  input.set_name("queues/billing");
  SetSeconds(input.mutable_max_wait(), 60);
  absl::StatusOr<ValidatedQueueUpdate> update = ValidateUpdateQueue(Update(input, {"max_wait"}));
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_TRUE(IsInvalid(ApplyQueueUpdate(stored, *update),
                        "queue.max_wait: must be longer than queue.overflow.after, which is 2m "
                        "(got 1m)"));

  input.clear_max_wait();
  input.mutable_overflow()->set_target_queue("queues/overflow");
  SetSeconds(input.mutable_overflow()->mutable_after(), 900);
  update = ValidateUpdateQueue(Update(input, {"overflow"}));
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_TRUE(IsInvalid(ApplyQueueUpdate(stored, *update),
                        "queue.overflow.after: must be shorter than queue.max_wait, which is 10m "
                        "(got 15m)"));

  // Clearing max_wait (named, unset) lifts the limit; other fields stay.
  update = ValidateUpdateQueue(Update(input, {"overflow", "max_wait", "display_name"}));
  EXPECT_TRUE(IsInvalid(update, "queue.display_name: must not be empty"));
  input.set_display_name("Billing 2");
  update = ValidateUpdateQueue(Update(input, {"overflow", "max_wait", "display_name"}));
  ASSERT_TRUE(update.ok()) << update.status();
  absl::StatusOr<Queue> merged = ApplyQueueUpdate(stored, *update);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_FALSE(merged->has_max_wait());
  EXPECT_EQ(merged->overflow().after().seconds(), 900);
  EXPECT_EQ(merged->display_name(), "Billing 2");
  EXPECT_EQ(merged->priority(), 7);
  EXPECT_THAT(merged->intents(), ElementsAre("billing_question", "환불 요청"));
}

}  // namespace
}  // namespace cxp::routing::validation
