// routing_service with a real context_service beside it, both as child
// processes, through the generated clients: a VIP customer jumps the queue,
// a returning customer waits for their last agent, and with context_service
// killed tasks are still routed, saying why they went without context.
#include <signal.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/routing_service/routing_client.h"
#include "tests/testing/keyed_call.h"
#include "tests/testing/server_process.h"

namespace cxp::routing {
namespace {

using ::cxp::testing::BinaryPath;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
using ::testing::Contains;
using ::testing::HasSubstr;
namespace type = ::cxp::type::v1;
namespace context_v1 = ::cxp::context::v1;

constexpr char kRoutingKey[] = "acme-routing-key-0123456789abcdef";
constexpr char kContextKey[] = "acme-context-key-0123456789abcdef";

using ::cxp::testing::KeyedCall;

class RoutingContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = MakeTempDir("routing_context_test_");
    std::ofstream(dir + "/context_keys") << "acme " << kContextKey << "\n";
    std::ofstream(dir + "/routing_keys") << "acme " << kRoutingKey << "\n";
    auto context_server = ServerProcess::Start(
        BinaryPath("context_service/context_service"),
        {"--data_dir=" + dir + "/context", "--api_keys_file=" + dir + "/context_keys",
         "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(context_server.ok()) << context_server.status();
    context_server_.emplace(*std::move(context_server));
    auto routing_server = ServerProcess::Start(
        BinaryPath("routing_service/routing_service"),
        {"--data_dir=" + dir + "/routing", "--api_keys_file=" + dir + "/routing_keys",
         "--context_service=" + context_server_->address(),
         // Generous for a loaded 2-core test machine; the default is 50 ms.
         "--context_timeout=2s", "--context_api_keys_file=" + dir + "/context_keys",
         "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(routing_server.ok()) << routing_server.status();
    routing_server_.emplace(*std::move(routing_server));
    context_ = context_v1::ContextService::NewStub(
        grpc::CreateChannel(context_server_->address(), grpc::InsecureChannelCredentials()));
    routing_ = v1::RoutingService::NewStub(
        grpc::CreateChannel(routing_server_->address(), grpc::InsecureChannelCredentials()));
    routing_client_ = std::make_unique<::cxp::routing::testing::Client>(routing_server_->address());
  }

  void CreateCustomer(const std::string& id, const std::string& tier) {
    context_v1::CreateCustomerRequest request;
    request.set_customer_id(id);
    request.mutable_customer()->set_display_name(id);
    request.mutable_customer()->set_tier(tier);
    ASSERT_TRUE(KeyedCall(*context_, &context_v1::ContextService::Stub::CreateCustomer, request,
                          kContextKey)
                    .ok());
  }

  void ServedBy(const std::string& customer, const std::string& agent) {
    context_v1::AppendInteractionRequest request;
    request.mutable_customer()->set_customer("customers/" + customer);
    request.mutable_interaction()->set_channel(type::CHANNEL_VOICE);
    request.mutable_interaction()->set_direction(context_v1::Interaction::DIRECTION_INBOUND);
    request.mutable_interaction()->set_type("call");
    request.mutable_interaction()->set_agent(agent);
    ASSERT_TRUE(KeyedCall(*context_, &context_v1::ContextService::Stub::AppendInteraction, request,
                          kContextKey)
                    .ok());
  }

  void RoutingSetUp() {
    v1::CreateQueueRequest queue;
    queue.set_queue_id("support");
    queue.mutable_queue()->set_display_name("Support");
    v1::TierPriority& vip = *queue.mutable_queue()->add_tier_priorities();
    vip.set_tier("VIP");
    vip.set_priority_boost(3);
    queue.mutable_queue()->mutable_last_agent_window()->set_seconds(60);
    ASSERT_TRUE(
        KeyedCall(*routing_, &v1::RoutingService::Stub::CreateQueue, queue, kRoutingKey).ok());
    for (const char* id : {"kim", "lee"}) {
      v1::CreateAgentRequest agent;
      agent.set_agent_id(id);
      agent.mutable_agent()->set_display_name(id);
      agent.mutable_agent()->add_queues("queues/support");
      v1::ChannelCapacity& voice = *agent.mutable_agent()->add_channel_capacities();
      voice.set_channel(type::CHANNEL_VOICE);
      voice.set_max_tasks(1);
      ASSERT_TRUE(
          KeyedCall(*routing_, &v1::RoutingService::Stub::CreateAgent, agent, kRoutingKey).ok());
      v1::SetAgentStateRequest available;
      available.set_name(std::string("agents/") + id);
      available.set_state(v1::AGENT_STATE_AVAILABLE);
      ASSERT_TRUE(
          KeyedCall(*routing_, &v1::RoutingService::Stub::SetAgentState, available, kRoutingKey)
              .ok());
    }
  }

  absl::StatusOr<v1::Task> Submit(const std::string& customer) {
    v1::SubmitTaskRequest request;
    request.mutable_task()->set_channel(type::CHANNEL_VOICE);
    request.mutable_task()->set_queue("queues/support");
    if (!customer.empty()) request.mutable_task()->mutable_customer()->set_customer(customer);
    auto response =
        KeyedCall(*routing_, &v1::RoutingService::Stub::SubmitTask, request, kRoutingKey);
    if (!response.ok()) return response.status();
    return response->task();
  }

  using Desktop = ::cxp::routing::testing::Client::Desktop;
  std::unique_ptr<Desktop> Open(const std::string& agent) {
    return routing_client_->OpenDesktop(kRoutingKey, agent);
  }

  std::optional<ServerProcess> context_server_;
  std::optional<ServerProcess> routing_server_;
  std::unique_ptr<context_v1::ContextService::Stub> context_;
  std::unique_ptr<v1::RoutingService::Stub> routing_;
  std::unique_ptr<::cxp::routing::testing::Client> routing_client_;  // for agent desktops
};

TEST_F(RoutingContextTest, VipJumpsTheQueueAndReturningCustomersGetTheirLastAgent) {
  CreateCustomer("regular-1", "");
  CreateCustomer("vip-1", "VIP");
  CreateCustomer("returning-1", "");
  ServedBy("returning-1", "agents/lee");
  RoutingSetUp();

  // Nobody at a desk yet: the regular caller first, the VIP after.
  auto regular = Submit("customers/regular-1");
  ASSERT_TRUE(regular.ok()) << regular.status();
  auto vip = Submit("customers/vip-1");
  ASSERT_TRUE(vip.ok()) << vip.status();
  EXPECT_EQ(vip->routing_decision().context_enrichment().status(),
            v1::ContextEnrichment::STATUS_APPLIED);
  EXPECT_EQ(vip->routing_decision().effective_priority(), 8);
  EXPECT_THAT(vip->routing_decision().context_enrichment().effects(),
              Contains("priority 5 -> 8 (tier VIP)"));
  // kim logs in: the VIP is offered first.
  std::unique_ptr<Desktop> kim = Open("agents/kim");
  std::optional<v1::TaskOffer> first = kim->NextOffer();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->task().name(), vip->name());

  // kim handles the VIP; the regular caller gives up.
  v1::AcceptTaskRequest accept;
  accept.set_name(vip->name());
  accept.set_agent("agents/kim");
  ASSERT_TRUE(
      KeyedCall(*routing_, &v1::RoutingService::Stub::AcceptTask, accept, kRoutingKey).ok());
  v1::CancelTaskRequest cancel;
  cancel.set_name(regular->name());
  cancel.set_abandoned(true);
  ASSERT_TRUE(
      KeyedCall(*routing_, &v1::RoutingService::Stub::CancelTask, cancel, kRoutingKey).ok());
  v1::CompleteTaskRequest complete;
  complete.set_name(vip->name());
  complete.set_agent("agents/kim");
  ASSERT_TRUE(
      KeyedCall(*routing_, &v1::RoutingService::Stub::CompleteTask, complete, kRoutingKey).ok());

  // A returning customer whose last agent was lee: kim is free, but the
  // task waits for lee (logged in, desk not yet open) within the window.
  auto returning = Submit("customers/returning-1");
  ASSERT_TRUE(returning.ok()) << returning.status();
  EXPECT_EQ(returning->state(), v1::Task::STATE_QUEUED);
  EXPECT_THAT(returning->routing_decision().context_enrichment().effects(),
              Contains("last agent agents/lee preferred for 1m"));
  std::string kims_reason;
  for (const v1::AgentCandidate& candidate : returning->routing_decision().candidates()) {
    if (candidate.agent() == "agents/kim") kims_reason = candidate.ineligible_reason();
  }
  EXPECT_EQ(kims_reason, "reserved_for_last_agent");
  std::unique_ptr<Desktop> lee = Open("agents/lee");
  std::optional<v1::TaskOffer> lees = lee->NextOffer();
  ASSERT_TRUE(lees.has_value());
  EXPECT_EQ(lees->task().name(), returning->name());
}

TEST_F(RoutingContextTest, TasksStillRouteWhenContextServiceIsDown) {
  CreateCustomer("vip-2", "VIP");
  RoutingSetUp();
  context_server_->Signal(SIGKILL);
  ASSERT_TRUE(context_server_->Wait(absl::Seconds(10)).has_value());
  auto task = Submit("customers/vip-2");
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(task->state(), v1::Task::STATE_QUEUED);
  EXPECT_EQ(task->routing_decision().context_enrichment().status(),
            v1::ContextEnrichment::STATUS_SKIPPED);
  EXPECT_THAT(task->routing_decision().context_enrichment().reason(),
              ::testing::AnyOf(HasSubstr("unavailable"), HasSubstr("budget")));
  EXPECT_EQ(task->routing_decision().effective_priority(), 5);
}

}  // namespace
}  // namespace cxp::routing
