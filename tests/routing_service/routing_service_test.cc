// routing_service as a partner meets it: the real binary in a child process,
// called only through the generated cxp.routing.v1.RoutingService client.
// Covers configuration (create, update with masks and etags, list with
// filters and pages, delete), presence, task submission and lifecycle,
// idempotent retries, errors, tenant isolation, desktop streams, and that
// acknowledged tasks survive a SIGKILL and restart.
#include <signal.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/routing_service/routing_client.h"
#include "tests/testing/server_process.h"

namespace cxp::routing {
namespace {

using ::cxp::routing::testing::Client;
using ::cxp::testing::BinaryPath;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
using ::testing::HasSubstr;
using v1::RoutingService;
namespace type = ::cxp::type::v1;

constexpr char kAcme[] = "acme-routing-key-0123456789abcdef";
constexpr char kGlobex[] = "globex-routing-key-0123456789abcdef";

class RoutingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("routing_service_test_");
    std::ofstream(dir_ + "/api_keys") << "acme " << kAcme << "\nglobex " << kGlobex << "\n";
    Start();
  }

  void Start() {
    auto server = ServerProcess::Start(
        BinaryPath("routing_service/routing_service"),
        {"--data_dir=" + dir_ + "/data", "--api_keys_file=" + dir_ + "/api_keys",
         "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_.emplace(*std::move(server));
    client_ = std::make_unique<Client>(server_->address());
  }

  void KillAndRestart() {
    server_->Signal(SIGKILL);
    ASSERT_TRUE(server_->Wait(absl::Seconds(10)).has_value());
    server_.reset();
    Start();
  }

  std::string dir_;
  std::optional<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(RoutingServiceTest, ConfigurePresenceAndTasksThroughTheGeneratedClient) {
  v1::CreateQueueRequest queue;
  queue.set_queue_id("billing");
  queue.mutable_queue()->set_display_name("Billing");
  queue.mutable_queue()->add_intents("billing_question");
  auto created_queue = CALL(*client_, CreateQueue, kAcme, queue);
  ASSERT_TRUE(created_queue.ok()) << created_queue.status();
  EXPECT_EQ(created_queue->queue().name(), "queues/billing");
  EXPECT_EQ(created_queue->queue().priority(), 5);
  EXPECT_EQ(CALL(*client_, CreateQueue, kAcme, queue).status().code(),
            absl::StatusCode::kAlreadyExists);

  v1::CreateAgentRequest agent;
  agent.set_agent_id("kim");
  agent.mutable_agent()->set_display_name("Kim");
  agent.mutable_agent()->add_queues("queues/billing");
  v1::ChannelCapacity& voice = *agent.mutable_agent()->add_channel_capacities();
  voice.set_channel(type::CHANNEL_VOICE);
  voice.set_max_tasks(1);
  auto created_agent = CALL(*client_, CreateAgent, kAcme, agent);
  ASSERT_TRUE(created_agent.ok()) << created_agent.status();
  EXPECT_EQ(created_agent->agent().presence().state(), v1::AGENT_STATE_OFFLINE);

  v1::SetAgentStateRequest busy_is_not_settable;
  busy_is_not_settable.set_name("agents/kim");
  busy_is_not_settable.set_state(v1::AGENT_STATE_BUSY);
  auto refused = CALL(*client_, SetAgentState, kAcme, busy_is_not_settable);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("state"));
  v1::SetAgentStateRequest available;
  available.set_name("agents/kim");
  available.set_state(v1::AGENT_STATE_AVAILABLE);
  ASSERT_TRUE(CALL(*client_, SetAgentState, kAcme, available).ok());

  // By intent; nobody has a desktop open, so the task waits and says why.
  v1::SubmitTaskRequest submit;
  submit.mutable_task()->set_channel(type::CHANNEL_VOICE);
  submit.mutable_task()->set_intent("billing_question");
  auto submitted = CALL(*client_, SubmitTask, kAcme, submit);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  const v1::Task& task = submitted->task();
  EXPECT_EQ(task.queue(), "queues/billing");
  EXPECT_EQ(task.state(), v1::Task::STATE_QUEUED);
  ASSERT_GE(task.routing_decision().candidates_size(), 1);
  EXPECT_EQ(task.routing_decision().candidates(0).ineligible_reason(), "no_desktop_session");
  EXPECT_EQ(task.routing_decision().context_enrichment().reason(), "no customer on task");

  v1::GetTaskRequest get;
  get.set_name(task.name());
  EXPECT_EQ(CALL(*client_, GetTask, kAcme, get)->task().etag(), task.etag());
  EXPECT_EQ(CALL(*client_, GetTask, kGlobex, get).status().code(), absl::StatusCode::kNotFound);

  // Acknowledged is kept, even through kill -9.
  KillAndRestart();
  auto after = CALL(*client_, GetTask, kAcme, get);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->task().state(), v1::Task::STATE_QUEUED);
  v1::GetAgentRequest get_agent;
  get_agent.set_name("agents/kim");
  EXPECT_EQ(CALL(*client_, GetAgent, kAcme, get_agent)->agent().presence().state(),
            v1::AGENT_STATE_AVAILABLE);

  v1::CancelTaskRequest cancel;
  cancel.set_name(task.name());
  cancel.set_abandoned(true);
  cancel.set_reason("caller hung up");
  cancel.set_etag("stale");
  EXPECT_EQ(CALL(*client_, CancelTask, kAcme, cancel).status().code(), absl::StatusCode::kAborted);
  cancel.set_etag(after->task().etag());
  auto cancelled = CALL(*client_, CancelTask, kAcme, cancel);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->task().state(), v1::Task::STATE_ABANDONED);
  EXPECT_EQ(CALL(*client_, GetTask, kAcme, get)->task().state(), v1::Task::STATE_ABANDONED);

  // Bad input names the field.
  v1::SubmitTaskRequest nowhere;
  nowhere.mutable_task()->set_channel(type::CHANNEL_CHAT);
  auto no_queue = CALL(*client_, SubmitTask, kAcme, nowhere);
  EXPECT_EQ(no_queue.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_queue.status().message()), HasSubstr("task.queue"));
}

// An agent desktop: the snapshot, then offers and the changes of the tasks
// it was offered, pushed as they happen; closing it stops the offers.
TEST_F(RoutingServiceTest, AgentSessionPushesOffersAndTaskChanges) {
  v1::CreateQueueRequest queue;
  queue.set_queue_id("support");
  queue.mutable_queue()->set_display_name("Support");
  ASSERT_TRUE(CALL(*client_, CreateQueue, kAcme, queue).ok());
  v1::CreateAgentRequest agent;
  agent.set_agent_id("lee");
  agent.mutable_agent()->set_display_name("Lee");
  agent.mutable_agent()->add_queues("queues/support");
  v1::ChannelCapacity& chat = *agent.mutable_agent()->add_channel_capacities();
  chat.set_channel(type::CHANNEL_CHAT);
  chat.set_max_tasks(2);
  ASSERT_TRUE(CALL(*client_, CreateAgent, kAcme, agent).ok());
  v1::SetAgentStateRequest available;
  available.set_name("agents/lee");
  available.set_state(v1::AGENT_STATE_AVAILABLE);
  ASSERT_TRUE(CALL(*client_, SetAgentState, kAcme, available).ok());

  auto stub = RoutingService::NewStub(
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext desktop;
  desktop.AddMetadata("authorization", std::string("Bearer ") + kAcme);
  desktop.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::AgentSessionRequest open;
  open.set_agent("agents/lee");
  auto session = stub->AgentSession(&desktop, open);
  v1::AgentSessionResponse event;
  ASSERT_TRUE(session->Read(&event));
  ASSERT_TRUE(event.has_agent());
  EXPECT_EQ(event.agent().name(), "agents/lee");
  EXPECT_EQ(event.agent().presence().state(), v1::AGENT_STATE_AVAILABLE);

  v1::SubmitTaskRequest submit;
  submit.mutable_task()->set_channel(type::CHANNEL_CHAT);
  submit.mutable_task()->set_queue("queues/support");
  auto submitted = CALL(*client_, SubmitTask, kAcme, submit);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  EXPECT_EQ(submitted->task().state(), v1::Task::STATE_OFFERED);
  // Presence may change on the way (no more room, busy): skip agent events.
  auto next = [&](v1::AgentSessionResponse& out) {
    while (session->Read(&out)) {
      if (!out.has_agent()) return true;
    }
    return false;
  };
  ASSERT_TRUE(next(event));
  ASSERT_TRUE(event.has_offer());
  EXPECT_EQ(event.offer().task().name(), submitted->task().name());
  EXPECT_GT(event.offer().expire_time().seconds(), absl::ToUnixSeconds(absl::Now()));

  v1::AcceptTaskRequest accept;
  accept.set_name(submitted->task().name());
  accept.set_agent("agents/lee");
  ASSERT_TRUE(CALL(*client_, AcceptTask, kAcme, accept).ok());
  ASSERT_TRUE(next(event));
  ASSERT_TRUE(event.has_task());
  EXPECT_EQ(event.task().state(), v1::Task::STATE_ACCEPTED);
  v1::CompleteTaskRequest complete;
  complete.set_name(submitted->task().name());
  complete.set_agent("agents/lee");
  ASSERT_TRUE(CALL(*client_, CompleteTask, kAcme, complete).ok());
  ASSERT_TRUE(next(event));
  EXPECT_EQ(event.task().state(), v1::Task::STATE_COMPLETED);

  // The desktop closes: new work waits instead of being offered.
  desktop.TryCancel();
  while (session->Read(&event)) {
  }
  (void)session->Finish();
  absl::StatusOr<v1::SubmitTaskResponse> waiting;
  for (int attempt = 0; attempt < 50; ++attempt) {  // the close is processed asynchronously
    waiting = CALL(*client_, SubmitTask, kAcme, submit);
    ASSERT_TRUE(waiting.ok()) << waiting.status();
    if (waiting->task().state() == v1::Task::STATE_QUEUED) break;
    v1::CancelTaskRequest cancel;
    cancel.set_name(waiting->task().name());
    ASSERT_TRUE(CALL(*client_, CancelTask, kAcme, cancel).ok());
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(waiting->task().state(), v1::Task::STATE_QUEUED);

  // An unknown agent's desktop is refused.
  grpc::ClientContext stranger;
  stranger.AddMetadata("authorization", std::string("Bearer ") + kAcme);
  v1::AgentSessionRequest unknown;
  unknown.set_agent("agents/nobody");
  auto refused = stub->AgentSession(&stranger, unknown);
  EXPECT_FALSE(refused->Read(&event));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

// Configuration as an admin console manages it: update with a mask and
// etag, list with a filter across pages, delete; a retried SubmitTask with
// its request_id creates nothing new, even across a SIGKILL.
TEST_F(RoutingServiceTest, ManageConfigurationAndRetrySubmitsSafely) {
  for (const char* id : {"support", "billing"}) {
    v1::CreateQueueRequest queue;
    queue.set_queue_id(id);
    queue.mutable_queue()->set_display_name(id);
    ASSERT_TRUE(CALL(*client_, CreateQueue, kAcme, queue).ok());
  }
  for (const char* id : {"ahn", "baek", "cho"}) {
    v1::CreateAgentRequest agent;
    agent.set_agent_id(id);
    agent.mutable_agent()->set_display_name(id);
    agent.mutable_agent()->add_queues("queues/support");
    agent.mutable_agent()->add_queues("queues/billing");
    ASSERT_TRUE(CALL(*client_, CreateAgent, kAcme, agent).ok());
  }

  v1::UpdateQueueRequest update;
  update.mutable_queue()->set_name("queues/support");
  update.mutable_queue()->set_etag("1");
  update.mutable_queue()->set_priority(9);
  update.mutable_update_mask()->add_paths("priority");
  auto updated = CALL(*client_, UpdateQueue, kAcme, update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->queue().priority(), 9);
  EXPECT_EQ(updated->queue().etag(), "2");
  auto stale = CALL(*client_, UpdateQueue, kAcme, update);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);

  v1::UpdateAgentRequest skills;
  skills.mutable_agent()->set_name("agents/baek");
  v1::AgentSkill& skill = *skills.mutable_agent()->add_skills();
  skill.set_skill("delivery");
  skill.set_proficiency(5);
  skills.mutable_update_mask()->add_paths("skills");
  ASSERT_TRUE(CALL(*client_, UpdateAgent, kAcme, skills).ok());

  v1::ListAgentsRequest list;
  list.set_page_size(2);
  std::vector<std::string> names;
  for (;;) {
    auto page = CALL(*client_, ListAgents, kAcme, list);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const v1::Agent& agent : page->agents()) names.push_back(agent.name());
    if (page->next_page_token().empty()) break;
    list.set_page_token(page->next_page_token());
  }
  EXPECT_THAT(names, ::testing::ElementsAre("agents/ahn", "agents/baek", "agents/cho"));
  v1::ListAgentsRequest skilled;
  skilled.set_filter("skills.skill:\"delivery\"");
  auto found = CALL(*client_, ListAgents, kAcme, skilled);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->agents_size(), 1);
  EXPECT_EQ(found->agents(0).name(), "agents/baek");
  EXPECT_EQ(CALL(*client_, ListAgents, kGlobex, skilled)->agents_size(), 0);  // other tenant
  skilled.set_filter("skills.skill = \"delivery\"");
  EXPECT_EQ(CALL(*client_, ListAgents, kAcme, skilled).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::SubmitTaskRequest submit;
  submit.mutable_task()->set_channel(type::CHANNEL_EMAIL);
  submit.mutable_task()->set_queue("queues/billing");
  submit.set_request_id("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
  auto first = CALL(*client_, SubmitTask, kAcme, submit);
  ASSERT_TRUE(first.ok()) << first.status();
  KillAndRestart();
  auto retried = CALL(*client_, SubmitTask, kAcme, submit);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->task().name(), first->task().name());
  v1::ListTasksRequest tasks;
  tasks.set_filter("queue = \"queues/billing\"");
  auto listed = CALL(*client_, ListTasks, kAcme, tasks);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->tasks_size(), 1);  // exactly once
  EXPECT_EQ(listed->tasks(0).name(), first->task().name());

  // A queue with a waiting task cannot go; once it is empty it can, and the
  // agents stop serving it.
  v1::DeleteQueueRequest remove;
  remove.set_name("queues/billing");
  EXPECT_EQ(CALL(*client_, DeleteQueue, kAcme, remove).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::CancelTaskRequest cancel;
  cancel.set_name(first->task().name());
  ASSERT_TRUE(CALL(*client_, CancelTask, kAcme, cancel).ok());
  ASSERT_TRUE(CALL(*client_, DeleteQueue, kAcme, remove).ok());
  v1::GetAgentRequest get_agent;
  get_agent.set_name("agents/ahn");
  EXPECT_THAT(CALL(*client_, GetAgent, kAcme, get_agent)->agent().queues(),
              ::testing::ElementsAre("queues/support"));
  v1::DeleteAgentRequest remove_agent;
  remove_agent.set_name("agents/cho");
  ASSERT_TRUE(CALL(*client_, DeleteAgent, kAcme, remove_agent).ok());
  KillAndRestart();
  v1::ListQueuesRequest queues;
  auto left = CALL(*client_, ListQueues, kAcme, queues);
  ASSERT_TRUE(left.ok()) << left.status();
  ASSERT_EQ(left->queues_size(), 1);
  EXPECT_EQ(left->queues(0).name(), "queues/support");
  get_agent.set_name("agents/cho");
  EXPECT_EQ(CALL(*client_, GetAgent, kAcme, get_agent).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cxp::routing
