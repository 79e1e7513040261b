// The `cxpctl apply` file format (cxpctl/apply.h) without servers: the demo
// file's items in dependency order with their names and request types, and
// the checks that reject a file before any call.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cxp/context/v1/context_service.pb.h"
#include "cxpctl/apply.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace cxp::cxpctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string DemoJson() {
  std::ifstream in(::cxp::testing::SourcePath("deploy/demo/demo.json"));
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

TEST(ApplyFileTest, TheDemoFileInDependencyOrder) {
  auto items = ParseApplyFile(DemoJson());
  ASSERT_TRUE(items.ok()) << items.status();
  std::vector<std::string> labels;
  for (const ApplyItem& item : *items) labels.push_back(item.Label());
  EXPECT_THAT(
      labels,
      ElementsAre("customers[0] customers/park-jiwoo", "customers[1] customers/lee-seoyeon",
                  "customers[2] customers/choi-hyunwoo", "customers[3] customers/emily-clark",
                  "journeys[0] customers/lee-seoyeon/journeys/parcel-551233810042",
                  "queues[0] queues/delivery", "queues[1] queues/billing", "agents[0] agents/minji",
                  "agents[1] agents/junho", "agents[2] agents/sora", "agents[3] agents/david",
                  "templates[0] templates/delivery-update", "templates[1] templates/spring-promo",
                  "trigger_rules[0] triggerRules/delivery-rescheduled"));
  EXPECT_EQ((*items)[0].service, Service::kContext);
  EXPECT_EQ((*items)[5].service, Service::kRouting);
  EXPECT_EQ((*items)[13].service, Service::kNotify);
  EXPECT_EQ((*items)[13].request->GetDescriptor()->full_name(),
            "cxp.notify.v1.CreateTriggerRuleRequest");
  // The request is the file's element, parsed with protobuf's JSON mapping.
  const auto& customer =
      dynamic_cast<const context::v1::CreateCustomerRequest&>(*(*items)[0].request);
  EXPECT_EQ(customer.customer().tier(), "VIP");
  EXPECT_EQ(customer.customer().identities(0).identity().kind(), type::v1::IDENTITY_KIND_PHONE);
}

TEST(ApplyFileTest, KeysAreAppliedInTheirOrderWhateverTheFileOrder) {
  auto items = ParseApplyFile(R"({
    "trigger_rules": [{"trigger_rule_id": "r"}],
    "agents": [{"agent_id": "b"}, {"agent_id": "a"}],
    "templates": [{"template_id": "t"}],
    "queues": [{"queue_id": "q"}],
    "customers": []
  })");
  ASSERT_TRUE(items.ok()) << items.status();
  std::vector<std::string> names;
  for (const ApplyItem& item : *items) names.push_back(item.name);
  EXPECT_THAT(names,
              ElementsAre("queues/q", "agents/b", "agents/a", "templates/t", "triggerRules/r"));
  auto empty = ParseApplyFile("{}");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
}

TEST(ApplyFileTest, RejectsWhatIsNotAValidRequestNamingKeyAndIndex) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "not a JSON object"},
      {R"({"customers": [{"customer_id": "a"}], "people": [], "extra": 1})",
       "unknown keys extra, people (expected customers, journeys"},
      {R"({"queues": {"queue_id": "q"}})", "queues: expected an array"},
      {R"({"queues": [{"queue_id": "q"}, "r"]})",
       "queues[1]: expected an object (cxp.routing.v1.CreateQueueRequest)"},
      {R"({"agents": [{"agent_id": "a", "agentt": {}}]})",
       "agents[0]: not a valid cxp.routing.v1.CreateAgentRequest: "},
      {R"({"trigger_rules": [{"trigger_rule_id": "r", "trigger_rule": {"purpose": "LOUD"}}]})",
       "trigger_rules[0]: not a valid cxp.notify.v1.CreateTriggerRuleRequest: "},
      {R"({"templates": [{"template": {"display_name": "t"}}]})",
       "templates[0]: template_id is required"},
      {R"({"journeys": [{"journey_id": "j", "parent": "customers/"}]})",
       "journeys[0]: parent: expected customers/ID, got \"customers/\""},
      {R"({"queues": [{"queue_id": "q"}, {"queue_id": "q"}]})",
       "queues[1]: queues/q is listed twice"},
  };
  for (const auto& [json, error] : cases) {
    auto items = ParseApplyFile(json);
    ASSERT_FALSE(items.ok()) << json;
    EXPECT_EQ(items.status().code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(items.status().message(), HasSubstr(error)) << json;
  }
}

}  // namespace
}  // namespace cxp::cxpctl
