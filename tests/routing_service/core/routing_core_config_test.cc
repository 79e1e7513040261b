// RoutingCore's configuration CRUD (etags, masks, deletes), List RPCs
// (filters, page tokens), request_id idempotency and the purge of ended
// tasks, on a real RocksDB with a fake clock.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing_service/core/routing_core.h"
#include "tests/routing_service/core/routing_core_fixture.h"

namespace cxp::routing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kTenant;
using testing::RoutingCoreTest;
namespace type = ::cxp::type::v1;

class RoutingCoreConfigTest : public RoutingCoreTest {
 protected:
  v1::Queue GetQueue(const std::string& id) {
    v1::GetQueueRequest request;
    request.set_name("queues/" + id);
    v1::GetQueueResponse response;
    absl::Status status = core_->GetQueue(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    return response.queue();
  }
  v1::Agent GetAgent(const std::string& id) {
    v1::GetAgentRequest request;
    request.set_name("agents/" + id);
    v1::GetAgentResponse response;
    absl::Status status = core_->GetAgent(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    return response.agent();
  }
  std::vector<std::string> AgentNames(const v1::ListAgentsResponse& response) {
    std::vector<std::string> names;
    for (const v1::Agent& agent : response.agents()) names.push_back(agent.name());
    return names;
  }
  absl::Status Complete(const v1::Task& task) {
    v1::AcceptTaskRequest accept;
    accept.set_name(task.name());
    accept.set_agent(task.agent());
    v1::AcceptTaskResponse accepted;
    RETURN_IF_ERROR(core_->AcceptTask(kTenant, accept, accepted));
    v1::CompleteTaskRequest complete;
    complete.set_name(task.name());
    complete.set_agent(task.agent());
    v1::CompleteTaskResponse completed;
    return core_->CompleteTask(kTenant, complete, completed);
  }
};

TEST_F(RoutingCoreConfigTest, UpdateQueueAppliesTheMaskAndChecksTheEtag) {
  CreateQueue("support");
  const v1::Queue created = GetQueue("support");
  EXPECT_EQ(created.etag(), "1");

  now_ += absl::Minutes(1);
  v1::UpdateQueueRequest update;
  update.mutable_queue()->set_name("queues/support");
  update.mutable_queue()->set_etag("1");
  update.mutable_queue()->set_priority(9);
  update.mutable_queue()->set_display_name("ignored: not in the mask");
  update.mutable_update_mask()->add_paths("priority");
  v1::UpdateQueueResponse updated;
  absl::Status status = core_->UpdateQueue(kTenant, update, updated);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(updated.queue().priority(), 9);
  EXPECT_EQ(updated.queue().display_name(), "Support");
  EXPECT_EQ(updated.queue().etag(), "2");
  EXPECT_EQ(updated.queue().create_time().seconds(), created.create_time().seconds());
  EXPECT_EQ(updated.queue().update_time().seconds(), created.update_time().seconds() + 60);

  // The same request again carries a stale etag: refused, nothing changes.
  update.mutable_queue()->set_priority(1);
  status = core_->UpdateQueue(kTenant, update, updated);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_THAT(status.message(), HasSubstr("queue.etag"));
  EXPECT_EQ(GetQueue("support").priority(), 9);

  update.mutable_queue()->set_name("queues/nope");
  update.mutable_queue()->clear_etag();
  EXPECT_EQ(core_->UpdateQueue(kTenant, update, updated).code(), absl::StatusCode::kNotFound);

  Restart();
  EXPECT_EQ(GetQueue("support").priority(), 9);
  EXPECT_EQ(GetQueue("support").etag(), "2");
}

TEST_F(RoutingCoreConfigTest, DeleteQueueWaitsForItsTasksAndUnlistsItFromAgents) {
  CreateQueue("support");
  CreateQueue("billing");
  CreateAgent("a1", "support");
  v1::UpdateAgentRequest both;
  both.mutable_agent()->set_name("agents/a1");
  both.mutable_agent()->add_queues("queues/support");
  both.mutable_agent()->add_queues("queues/billing");
  both.mutable_update_mask()->add_paths("queues");
  v1::UpdateAgentResponse updated;
  ASSERT_TRUE(core_->UpdateAgent(kTenant, both, updated).ok());
  absl::StatusOr<v1::Task> waiting = Submit("billing");  // nobody available
  ASSERT_TRUE(waiting.ok()) << waiting.status();

  v1::DeleteQueueRequest remove;
  remove.set_name("queues/billing");
  v1::DeleteQueueResponse removed;
  absl::Status status = core_->DeleteQueue(kTenant, remove, removed);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;

  v1::CancelTaskRequest cancel;
  cancel.set_name(waiting->name());
  v1::CancelTaskResponse cancelled;
  ASSERT_TRUE(core_->CancelTask(kTenant, cancel, cancelled).ok());
  remove.set_etag("7");
  EXPECT_EQ(core_->DeleteQueue(kTenant, remove, removed).code(), absl::StatusCode::kAborted);
  remove.set_etag("1");
  status = core_->DeleteQueue(kTenant, remove, removed);
  ASSERT_TRUE(status.ok()) << status;

  const v1::Agent agent = GetAgent("a1");
  EXPECT_THAT(agent.queues(), ElementsAre("queues/support"));
  // A wallboard watching both goes on with the queue that is left.
  v1::WatchQueueStatsResponse board;
  ASSERT_TRUE(core_
                  ->QueueStatsSnapshot(kTenant,
                                       {.queue_ids = {"support", "billing"},
                                        .interval = absl::Hours(1),
                                        .update_period = absl::Seconds(5)},
                                       RoutingCore::MissingQueue::kSkip, board)
                  .ok());
  ASSERT_EQ(board.queue_stats_size(), 1);
  EXPECT_EQ(board.queue_stats(0).queue(), "queues/support");
  EXPECT_EQ(agent.etag(), "3");  // created, updated, and changed by the delete
  v1::GetQueueRequest get;
  get.set_name("queues/billing");
  v1::GetQueueResponse got;
  EXPECT_EQ(core_->GetQueue(kTenant, get, got).code(), absl::StatusCode::kNotFound);

  // The store agrees: a restart neither resurrects the queue nor fails on
  // an agent that still names it.
  Restart();
  EXPECT_EQ(core_->GetQueue(kTenant, get, got).code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(GetAgent("a1").queues(), ElementsAre("queues/support"));
}

TEST_F(RoutingCoreConfigTest, UpdateAndDeleteAgent) {
  CreateQueue("support");
  CreateAgent("a1", "support");
  Available("a1");
  v1::UpdateAgentRequest update;
  update.mutable_agent()->set_name("agents/a1");
  update.mutable_agent()->set_etag("1");
  v1::AgentSkill& skill = *update.mutable_agent()->add_skills();
  skill.set_skill("delivery");
  skill.set_proficiency(4);
  v1::UpdateAgentResponse updated;
  absl::Status status = core_->UpdateAgent(kTenant, update, updated);  // mask: fields set
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(updated.agent().skills(0).skill(), "delivery");
  EXPECT_EQ(updated.agent().display_name(), "Agent a1");                     // not set, not touched
  EXPECT_EQ(updated.agent().presence().state(), v1::AGENT_STATE_AVAILABLE);  // kept
  EXPECT_EQ(updated.agent().etag(), "2");
  EXPECT_EQ(core_->UpdateAgent(kTenant, update, updated).code(), absl::StatusCode::kAborted);

  // A desktop is open; the agent holds a task.
  std::vector<v1::AgentSessionResponse> events;
  ASSERT_TRUE(core_
                  ->OpenSession(
                      kTenant, "agents/a1",
                      [&events](const v1::AgentSessionResponse& event) { events.push_back(event); })
                  .ok());
  absl::StatusOr<v1::Task> task = Submit("support");
  ASSERT_TRUE(task.ok());
  ASSERT_EQ(task->state(), v1::Task::STATE_OFFERED);
  v1::DeleteAgentRequest remove;
  remove.set_name("agents/a1");
  v1::DeleteAgentResponse removed;
  status = core_->DeleteAgent(kTenant, remove, removed);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  ASSERT_TRUE(Complete(*task).ok());
  events.clear();
  status = core_->DeleteAgent(kTenant, remove, removed);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event_case(), v1::AgentSessionResponse::EVENT_NOT_SET);  // session ends

  Restart();
  v1::GetAgentRequest get;
  get.set_name("agents/a1");
  v1::GetAgentResponse got;
  EXPECT_EQ(core_->GetAgent(kTenant, get, got).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(core_->DeleteAgent(kTenant, remove, removed).code(), absl::StatusCode::kNotFound);
}

TEST_F(RoutingCoreConfigTest, ListAgentsPagesAndFilters) {
  CreateQueue("support");
  for (const char* id : {"e5", "a1", "c3", "b2", "d4"}) CreateAgent(id, "support");
  Available("b2");
  Available("d4");

  v1::ListAgentsRequest request;
  request.set_page_size(2);
  std::vector<std::string> all;
  for (int page = 0; page < 5; ++page) {
    v1::ListAgentsResponse response;
    absl::Status status = core_->ListAgents(kTenant, request, response);
    ASSERT_TRUE(status.ok()) << status;
    for (const std::string& name : AgentNames(response)) all.push_back(name);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
    if (page == 0) CreateAgent("b3", "support");  // appears in order on a later page
  }
  EXPECT_THAT(all, ElementsAre("agents/a1", "agents/b2", "agents/b3", "agents/c3", "agents/d4",
                               "agents/e5"));

  v1::ListAgentsRequest available;
  available.set_filter("presence.state = AVAILABLE AND queues:\"queues/support\"");
  v1::ListAgentsResponse response;
  ASSERT_TRUE(core_->ListAgents(kTenant, available, response).ok());
  EXPECT_THAT(AgentNames(response), ElementsAre("agents/b2", "agents/d4"));
  EXPECT_TRUE(response.next_page_token().empty());

  available.set_page_size(1);
  response.Clear();
  ASSERT_TRUE(core_->ListAgents(kTenant, available, response).ok());
  ASSERT_FALSE(response.next_page_token().empty());
  v1::ListAgentsRequest other_filter;
  other_filter.set_page_token(response.next_page_token());
  absl::Status status = core_->ListAgents(kTenant, other_filter, response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("page_token"));

  v1::ListAgentsRequest bad;
  bad.set_filter("mood = \"happy\"");
  status = core_->ListAgents(kTenant, bad, response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("filter"));
}

TEST_F(RoutingCoreConfigTest, ListQueuesFiltersOnIntentsAndPriority) {
  v1::CreateQueueRequest create;
  create.set_queue_id("billing");
  create.mutable_queue()->set_display_name("Billing");
  create.mutable_queue()->set_priority(8);
  create.mutable_queue()->add_intents("billing_question");
  v1::CreateQueueResponse created;
  ASSERT_TRUE(core_->CreateQueue(kTenant, create, created).ok());
  CreateQueue("support");
  v1::ListQueuesRequest request;
  request.set_filter("intents:\"billing_question\"");
  v1::ListQueuesResponse response;
  ASSERT_TRUE(core_->ListQueues(kTenant, request, response).ok());
  ASSERT_EQ(response.queues_size(), 1);
  EXPECT_EQ(response.queues(0).name(), "queues/billing");
  request.set_filter("priority < 8");
  response.Clear();
  ASSERT_TRUE(core_->ListQueues(kTenant, request, response).ok());
  ASSERT_EQ(response.queues_size(), 1);
  EXPECT_EQ(response.queues(0).name(), "queues/support");
}

TEST_F(RoutingCoreConfigTest, ListTasksNewestFirstWithFiltersAndPages) {
  CreateQueue("support");
  CreateAgent("a1", "support");
  Available("a1");
  std::vector<std::string> submitted;
  for (int i = 0; i < 5; ++i) {
    now_ += absl::Seconds(1);
    absl::StatusOr<v1::Task> task = Submit("support");
    ASSERT_TRUE(task.ok());
    submitted.push_back(task->name());
  }
  // The first went to a1; four wait.
  v1::ListTasksRequest request;
  request.set_filter("state = QUEUED AND queue = \"queues/support\"");
  request.set_page_size(3);
  std::vector<std::string> listed;
  for (;;) {
    v1::ListTasksResponse response;
    absl::Status status = core_->ListTasks(kTenant, request, response);
    ASSERT_TRUE(status.ok()) << status;
    for (const v1::Task& task : response.tasks()) listed.push_back(task.name());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(listed, ElementsAre(submitted[4], submitted[3], submitted[2], submitted[1]));

  v1::ListTasksRequest offered;
  offered.set_filter("state = OFFERED AND agent = \"agents/a1\" AND channel = VOICE");
  v1::ListTasksResponse response;
  ASSERT_TRUE(core_->ListTasks(kTenant, offered, response).ok());
  ASSERT_EQ(response.tasks_size(), 1);
  EXPECT_EQ(response.tasks(0).name(), submitted[0]);
}

TEST_F(RoutingCoreConfigTest, ConcurrentRetriesGetTheFirstAnswerBeforeItIsWritten) {
  // Retries race their original and other submits: the answer may still
  // wait in the commit queue when a retry comes, and must be found there.
  CreateQueue("support");
  const CustomerInfo no_customer{.looked_up = false, .skip_reason = "no customer on task"};
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 40;
  std::vector<std::vector<std::string>> names(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequestsPerThread; ++i) {
        v1::SubmitTaskRequest submit;
        submit.mutable_task()->set_channel(type::CHANNEL_CHAT);
        submit.mutable_task()->set_queue("queues/support");
        // Request i is sent by every thread: one task each, the rest retries.
        submit.set_request_id(absl::StrCat("7d0c5e2a-1b3f-4a6d-8c9e-", 100000000000 + i));
        v1::SubmitTaskResponse response;
        const absl::Status status = core_->SubmitTask(kTenant, submit, no_customer, response);
        EXPECT_TRUE(status.ok()) << status;
        names[t].push_back(response.task().name());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(names[t], names[0]) << "thread " << t;
  v1::GetQueueStatsRequest stats;
  stats.set_queue("queues/support");
  v1::GetQueueStatsResponse stats_response;
  ASSERT_TRUE(core_->GetQueueStats(kTenant, stats, stats_response).ok());
  EXPECT_EQ(stats_response.queue_stats().tasks_waiting(), kRequestsPerThread);

  Restart();  // every answer and task was written, once
  ASSERT_TRUE(core_->GetQueueStats(kTenant, stats, stats_response).ok());
  EXPECT_EQ(stats_response.queue_stats().tasks_waiting(), kRequestsPerThread);
}

TEST_F(RoutingCoreConfigTest, RetriedRequestsWithARequestIdChangeNothing) {
  CreateQueue("support");
  v1::SubmitTaskRequest submit;
  submit.mutable_task()->set_channel(type::CHANNEL_CHAT);
  submit.mutable_task()->set_queue("queues/support");
  submit.set_request_id("6f1c9d0e-3b7a-4c2e-9a51-0d8e7f6a5b4c");
  const CustomerInfo no_customer{.looked_up = false, .skip_reason = "no customer on task"};
  v1::SubmitTaskResponse first;
  ASSERT_TRUE(core_->SubmitTask(kTenant, submit, no_customer, first).ok());
  now_ += absl::Seconds(5);
  v1::SubmitTaskResponse retry;
  ASSERT_TRUE(core_->SubmitTask(kTenant, submit, no_customer, retry).ok());
  EXPECT_EQ(retry.task().name(), first.task().name());

  Restart();  // the answer is durable with the task
  ASSERT_TRUE(core_->SubmitTask(kTenant, submit, no_customer, retry).ok());
  EXPECT_EQ(retry.task().name(), first.task().name());
  v1::GetQueueStatsRequest stats;
  stats.set_queue("queues/support");
  v1::GetQueueStatsResponse stats_response;
  ASSERT_TRUE(core_->GetQueueStats(kTenant, stats, stats_response).ok());
  EXPECT_EQ(stats_response.queue_stats().tasks_waiting(), 1);

  // The same id for another request is refused.
  submit.mutable_task()->set_priority(9);
  absl::Status status = core_->SubmitTask(kTenant, submit, no_customer, retry);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("request_id"));

  // A create retried after its answer was lost gets the queue, not
  // ALREADY_EXISTS; after 24 hours the id is forgotten.
  v1::CreateQueueRequest create;
  create.set_queue_id("billing");
  create.mutable_queue()->set_display_name("Billing");
  create.set_request_id("0b9e8d7c-6a5b-4c3d-8e2f-1a0b9c8d7e6f");
  v1::CreateQueueResponse created;
  ASSERT_TRUE(core_->CreateQueue(kTenant, create, created).ok());
  v1::CreateQueueResponse again;
  ASSERT_TRUE(core_->CreateQueue(kTenant, create, again).ok());
  EXPECT_EQ(again.queue().create_time().seconds(), created.queue().create_time().seconds());
  EXPECT_EQ(again.queue().etag(), created.queue().etag());
  now_ += absl::Hours(25);
  EXPECT_EQ(core_->CreateQueue(kTenant, create, again).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RoutingCoreConfigTest, EndedTasksArePurgedAfterTheRetention) {
  CreateQueue("support");
  CreateAgent("a1", "support");
  Available("a1");
  absl::StatusOr<v1::Task> ended = Submit("support");
  ASSERT_TRUE(ended.ok());
  ASSERT_TRUE(Complete(*ended).ok());
  now_ += absl::Seconds(1);
  absl::StatusOr<v1::Task> waiting = Submit("support");  // a1 is in wrap-up or busy: it waits
  ASSERT_TRUE(waiting.ok());

  now_ += absl::Hours(24 * 29);
  absl::StatusOr<size_t> purged = core_->PurgeEndedTasks();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 0u);  // not yet 30 days

  now_ += absl::Hours(24 * 2);
  purged = core_->PurgeEndedTasks(/*batch_size=*/1);
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 1u);
  v1::GetTaskRequest get;
  get.set_name(ended->name());
  v1::GetTaskResponse got;
  EXPECT_EQ(core_->GetTask(kTenant, get, got).code(), absl::StatusCode::kNotFound);
  get.set_name(waiting->name());
  EXPECT_TRUE(core_->GetTask(kTenant, get, got).ok());  // still open: kept
  v1::ListTasksRequest list;
  v1::ListTasksResponse listed;
  ASSERT_TRUE(core_->ListTasks(kTenant, list, listed).ok());
  ASSERT_EQ(listed.tasks_size(), 1);
  EXPECT_EQ(listed.tasks(0).name(), waiting->name());
}

}  // namespace
}  // namespace cxp::routing
