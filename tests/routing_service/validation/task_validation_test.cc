#include "routing_service/validation/task_validation.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::routing::validation {
namespace {

using cxp::routing::v1::SubmitTaskRequest;
using cxp::routing::v1::Task;
using cxp::type::v1::Identity;
using cxp::validation::testing_util::IsInvalid;

// A valid request using every input field of Task, plus output-only ones.
SubmitTaskRequest FullRequest() {
  SubmitTaskRequest request;
  Task& task = *request.mutable_task();
  task.set_channel(cxp::type::v1::CHANNEL_CHAT);
  Identity& identity = *task.mutable_customer()->mutable_identity();
  identity.set_kind(cxp::type::v1::IDENTITY_KIND_PHONE);
  identity.set_value(" 010-1234-5678 ");
  identity.set_region_code("kr");
  task.set_queue("queues/billing");
  task.set_intent("billing_question");
  task.set_language_code("ko-kr");
  auto* skill = task.add_required_skills();
  skill->set_skill("billing");
  skill->set_min_proficiency(2);
  (*task.mutable_attributes())["order_id"].set_string_value("A-1001");
  (*task.mutable_attributes())["amount"].set_number_value(42.5);
  // Output only.
  task.set_name("tasks/t1");
  task.set_state(Task::STATE_QUEUED);
  task.set_agent("agents/a1");
  task.mutable_routing_decision()->set_effective_priority(9);
  task.set_wrap_up_notes("notes");
  task.set_end_reason("reason");
  task.mutable_enqueue_time()->set_seconds(1);
  task.mutable_create_time()->set_seconds(1);
  task.mutable_update_time()->set_seconds(1);
  task.mutable_end_time()->set_seconds(1);
  task.set_etag("3");
  request.set_request_id("123e4567-e89b-12d3-a456-426614174000");
  return request;
}

TEST(ValidateSubmitTaskTest, FullRequestPassesNormalised) {
  absl::StatusOr<ValidatedSubmitTask> out = ValidateSubmitTask(FullRequest());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->queue_id, "billing");
  Task expected = FullRequest().task();
  expected.set_language_code("ko-KR");
  expected.set_priority(5);
  expected.clear_name();
  expected.clear_state();
  expected.clear_agent();
  expected.clear_routing_decision();
  expected.clear_wrap_up_notes();
  expected.clear_end_reason();
  expected.clear_enqueue_time();
  expected.clear_create_time();
  expected.clear_update_time();
  expected.clear_end_time();
  expected.clear_etag();
  EXPECT_EQ(out->task.DebugString(), expected.DebugString());
}

TEST(ValidateSubmitTaskTest, MinimalAndAlternativeForms) {
  SubmitTaskRequest request;
  request.mutable_task()->set_channel(cxp::type::v1::CHANNEL_VOICE);
  request.mutable_task()->set_intent("refund");
  absl::StatusOr<ValidatedSubmitTask> out = ValidateSubmitTask(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->queue_id, "");  // routed by intent
  EXPECT_EQ(out->task.priority(), 5);
  EXPECT_FALSE(out->task.has_customer());

  request.mutable_task()->mutable_customer()->set_customer("customers/c9");
  request.mutable_task()->set_priority(10);
  out = ValidateSubmitTask(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->task.customer().customer(), "customers/c9");
  EXPECT_EQ(out->task.priority(), 10);

  Identity& identity = *request.mutable_task()->mutable_customer()->mutable_identity();
  identity.set_kind(cxp::type::v1::IDENTITY_KIND_CHAT_HANDLE);
  identity.set_namespace_("kakaotalk");
  identity.set_value(std::string(512, 'k'));
  EXPECT_TRUE(ValidateSubmitTask(request).ok()) << ValidateSubmitTask(request).status();
}

struct Case {
  std::string name;
  std::function<void(SubmitTaskRequest&)> mutate;
  std::string message;
};

Identity& IdentityOf(SubmitTaskRequest& r) {
  return *r.mutable_task()->mutable_customer()->mutable_identity();
}

void MakeChatHandle(SubmitTaskRequest& r) {
  Identity& identity = IdentityOf(r);
  identity.Clear();
  identity.set_kind(cxp::type::v1::IDENTITY_KIND_CHAT_HANDLE);
  identity.set_namespace_("kakaotalk");
  identity.set_value("user_42");
}

TEST(ValidateSubmitTaskTest, EachRuleNamesTheField) {
  const std::vector<Case> cases = {
      {"task unset", [](SubmitTaskRequest& r) { r.clear_task(); }, "task: must be set"},
      {"channel unset", [](SubmitTaskRequest& r) { r.mutable_task()->clear_channel(); },
       "task.channel: must be set"},
      {"channel unknown",
       [](SubmitTaskRequest& r) {
         r.mutable_task()->set_channel(static_cast<cxp::type::v1::Channel>(77));
       },
       "task.channel: unknown Channel value 77"},
      {"customer empty ref",
       [](SubmitTaskRequest& r) { r.mutable_task()->mutable_customer()->Clear(); },
       "task.customer: set customer or identity"},
      {"customer name",
       [](SubmitTaskRequest& r) { r.mutable_task()->mutable_customer()->set_customer("c9"); },
       "task.customer.customer: must be \"customers/{customer}\" where {customer} is 1 to 63 "
       "characters of [a-z0-9-], starting with a letter or digit"},
      {"customer name empty",
       [](SubmitTaskRequest& r) { r.mutable_task()->mutable_customer()->set_customer(""); },
       "task.customer.customer: must be \"customers/{customer}\" where {customer} is 1 to 63 "
       "characters of [a-z0-9-], starting with a letter or digit"},
      {"identity kind unset", [](SubmitTaskRequest& r) { IdentityOf(r).clear_kind(); },
       "task.customer.identity.kind: must be set"},
      {"identity kind unknown",
       [](SubmitTaskRequest& r) {
         IdentityOf(r).set_kind(static_cast<cxp::type::v1::IdentityKind>(40));
       },
       "task.customer.identity.kind: unknown IdentityKind value 40"},
      {"identity value empty", [](SubmitTaskRequest& r) { IdentityOf(r).set_value("  "); },
       "task.customer.identity.value: must not be empty"},
      {"identity value long",
       [](SubmitTaskRequest& r) { IdentityOf(r).set_value(std::string(513, '1')); },
       "task.customer.identity.value: must be at most 512 characters (got 513)"},
      {"identity value control",
       [](SubmitTaskRequest& r) {
         MakeChatHandle(r);
         IdentityOf(r).set_value("user\n42");
       },
       "task.customer.identity.value: must not contain control characters"},
      {"identity namespace on phone",
       [](SubmitTaskRequest& r) { IdentityOf(r).set_namespace_("kakaotalk"); },
       "task.customer.identity.namespace: must be empty for IDENTITY_KIND_PHONE identities"},
      {"identity namespace missing",
       [](SubmitTaskRequest& r) {
         MakeChatHandle(r);
         IdentityOf(r).clear_namespace_();
       },
       "task.customer.identity.namespace: must be set for IDENTITY_KIND_CHAT_HANDLE identities"},
      {"identity namespace charset",
       [](SubmitTaskRequest& r) {
         MakeChatHandle(r);
         IdentityOf(r).set_namespace_("KakaoTalk");
       },
       "task.customer.identity.namespace: must be 1 to 64 lower-case characters of [a-z0-9_.-]"},
      {"identity region", [](SubmitTaskRequest& r) { IdentityOf(r).set_region_code("KOR"); },
       "task.customer.identity.region_code: must be an ISO 3166-1 alpha-2 region such as "
       "\"KR\""},
      {"neither queue nor intent",
       [](SubmitTaskRequest& r) {
         r.mutable_task()->clear_queue();
         r.mutable_task()->clear_intent();
       },
       "task.queue: set queue or intent"},
      {"queue name", [](SubmitTaskRequest& r) { r.mutable_task()->set_queue("billing"); },
       "task.queue: must be \"queues/{queue}\" where {queue} is 1 to 63 characters of "
       "[a-z0-9-], starting with a letter or digit"},
      {"intent long",
       [](SubmitTaskRequest& r) { r.mutable_task()->set_intent(std::string(129, 'i')); },
       "task.intent: must be at most 128 characters (got 129)"},
      {"intent control", [](SubmitTaskRequest& r) { r.mutable_task()->set_intent("a\x7f"); },
       "task.intent: must not contain control characters"},
      {"language", [](SubmitTaskRequest& r) { r.mutable_task()->set_language_code("korean"); },
       "task.language_code: must be a BCP-47 language tag such as \"ko-KR\" or \"en\""},
      {"priority high", [](SubmitTaskRequest& r) { r.mutable_task()->set_priority(11); },
       "task.priority: must be 1 to 10, or 0 for the default 5 (got 11)"},
      {"priority negative", [](SubmitTaskRequest& r) { r.mutable_task()->set_priority(-3); },
       "task.priority: must be 1 to 10, or 0 for the default 5 (got -3)"},
      {"too many skills",
       [](SubmitTaskRequest& r) {
         for (int i = 0; i < 20; ++i) {
           auto* s = r.mutable_task()->add_required_skills();
           s->set_skill(absl::StrCat("s", i));
           s->set_min_proficiency(1);
         }
       },
       "task.required_skills: must have at most 20 entries (got 21)"},
      {"skill proficiency",
       [](SubmitTaskRequest& r) {
         r.mutable_task()->mutable_required_skills(0)->set_min_proficiency(6);
       },
       "task.required_skills[0].min_proficiency: must be 1 to 5 (got 6)"},
      {"skill repeated",
       [](SubmitTaskRequest& r) {
         *r.mutable_task()->add_required_skills() = r.task().required_skills(0);
       },
       "task.required_skills[1].skill: repeats task.required_skills[0].skill"},
      {"attribute key",
       [](SubmitTaskRequest& r) {
         (*r.mutable_task()->mutable_attributes())["Plan"].set_bool_value(true);
       },
       "task.attributes: invalid key \"Plan\": must be 1 to 64 characters of [a-z][a-z0-9_]*"},
      {"attribute value",
       [](SubmitTaskRequest& r) { (*r.mutable_task()->mutable_attributes())["plan"]; },
       "task.attributes.plan: must have a value (string_value, number_value, bool_value or "
       "timestamp_value)"},
      {"too many attributes",
       [](SubmitTaskRequest& r) {
         for (int i = 0; i < 49; ++i) {
           (*r.mutable_task()->mutable_attributes())[absl::StrCat("k", i)].set_number_value(i);
         }
       },
       "task.attributes: must have at most 50 entries (got 51)"},
      {"request_id", [](SubmitTaskRequest& r) { r.set_request_id("not-a-uuid"); },
       "request_id: must be a UUID such as \"123e4567-e89b-12d3-a456-426614174000\""},
  };
  for (const Case& c : cases) {
    SubmitTaskRequest request = FullRequest();
    c.mutate(request);
    EXPECT_TRUE(IsInvalid(ValidateSubmitTask(request), c.message)) << c.name;
  }
}

TEST(ValidateSubmitTaskTest, ErrorsNeverEchoTheIdentityValue) {
  SubmitTaskRequest request = FullRequest();
  IdentityOf(request).set_value("010-1234-5678\x01");
  absl::StatusOr<ValidatedSubmitTask> out = ValidateSubmitTask(request);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(std::string(out.status().message()).find("1234"), std::string::npos);
}

}  // namespace
}  // namespace cxp::routing::validation
