#include "routing_service/validation/resource_names.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::routing::validation {
namespace {

using cxp::validation::testing_util::IsInvalid;

TEST(ResourceNamesTest, ParsesEachCollection) {
  EXPECT_EQ(*ParseAgentName("agents/a1", "name"), "a1");
  EXPECT_EQ(*ParseQueueName("queues/billing-kr", "name"), "billing-kr");
  EXPECT_EQ(*ParseTaskName("tasks/0abc", "name"), "0abc");
  EXPECT_EQ(*ParseCustomerName("customers/c9", "customer"), "c9");
  EXPECT_EQ(*ParseQueueName("queues/" + std::string(63, 'q'), "name"), std::string(63, 'q'));
}

TEST(ResourceNamesTest, BuildsNames) {
  EXPECT_EQ(AgentName("a1"), "agents/a1");
  EXPECT_EQ(QueueName("billing"), "queues/billing");
  EXPECT_EQ(TaskName("t1"), "tasks/t1");
  EXPECT_EQ(*ParseTaskName(TaskName("t1"), "name"), "t1");
}

TEST(ResourceNamesTest, OneMessageForEveryMalformedName) {
  const std::string queue_message =
      "agent.queues[2]: must be \"queues/{queue}\" where {queue} is 1 to 63 characters of "
      "[a-z0-9-], starting with a letter or digit";
  for (const std::string& bad :
       {std::string(""), std::string("billing"), std::string("queues/"),
        std::string("queues/Billing"), std::string("queues/-b"), std::string("queues/a/b"),
        std::string("agents/billing"), std::string("/queues/billing"),
        std::string("queues/") + std::string(64, 'q')}) {
    EXPECT_TRUE(IsInvalid(ParseQueueName(bad, "agent.queues[2]"), queue_message)) << bad;
  }
  EXPECT_TRUE(IsInvalid(ParseAgentName("queues/a1", "agent"),
                        "agent: must be \"agents/{agent}\" where {agent} is 1 to 63 characters "
                        "of [a-z0-9-], starting with a letter or digit"));
  EXPECT_TRUE(IsInvalid(ParseTaskName("tasks/T1", "name"),
                        "name: must be \"tasks/{task}\" where {task} is 1 to 63 characters of "
                        "[a-z0-9-], starting with a letter or digit"));
  // The name itself is not echoed (customer IDs may be personal data).
  EXPECT_TRUE(IsInvalid(ParseCustomerName("customers/Kim Minjun", "task.customer.customer"),
                        "task.customer.customer: must be \"customers/{customer}\" where "
                        "{customer} is 1 to 63 characters of [a-z0-9-], starting with a letter "
                        "or digit"));
}

TEST(ResourceNamesTest, IdRuleIsTheCommonOne) {
  EXPECT_TRUE(ValidateResourceId("agent-7", "agent_id").ok());
  EXPECT_TRUE(IsInvalid(ValidateResourceId("Agent_7", "agent_id"),
                        "agent_id: must be 1 to 63 characters of [a-z0-9-], starting with a "
                        "letter or digit"));
}

}  // namespace
}  // namespace cxp::routing::validation
