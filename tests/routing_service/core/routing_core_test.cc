// RoutingCore without a server: real RocksDB in a temp dir, a fake clock,
// requests as a client sends them.
#include "routing_service/core/routing_core.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/routing_service/core/routing_core_fixture.h"

namespace cxp::routing {
namespace {

using ::testing::HasSubstr;
using testing::kTenant;
using testing::RoutingCoreTest;
namespace type = ::cxp::type::v1;

TEST_F(RoutingCoreTest, TaskLifecycleIsKeptInTheStore) {
  CreateQueue("support");
  CreateAgent("a1", "support");
  Available("a1");
  absl::StatusOr<v1::Task> task = Submit("support");
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(task->state(), v1::Task::STATE_OFFERED);
  EXPECT_EQ(task->agent(), "agents/a1");
  EXPECT_EQ(task->language_code(), "ko-KR");  // normalised
  EXPECT_EQ(task->routing_decision().context_enrichment().reason(), "no customer on task");

  v1::AcceptTaskRequest accept;
  accept.set_name(task->name());
  accept.set_agent("agents/a1");
  v1::AcceptTaskResponse accepted;
  ASSERT_TRUE(core_->AcceptTask(kTenant, accept, accepted).ok());
  EXPECT_EQ(accepted.task().state(), v1::Task::STATE_ACCEPTED);
  now_ += absl::Minutes(3);
  v1::CompleteTaskRequest complete;
  complete.set_name(task->name());
  complete.set_agent("agents/a1");
  complete.set_wrap_up_notes("refund issued");
  v1::CompleteTaskResponse completed;
  ASSERT_TRUE(core_->CompleteTask(kTenant, complete, completed).ok());
  EXPECT_EQ(completed.task().state(), v1::Task::STATE_COMPLETED);
  // Gone from the engine, kept in the store, across a restart.
  Restart();
  const v1::Task stored = Get(task->name());
  EXPECT_EQ(stored.state(), v1::Task::STATE_COMPLETED);
  EXPECT_EQ(stored.wrap_up_notes(), "refund issued");
}

TEST_F(RoutingCoreTest, BadRequestsNameTheFieldAndChangeNothing) {
  CreateQueue("support");
  v1::CreateQueueRequest again;
  again.set_queue_id("support");
  again.mutable_queue()->set_display_name("Again");
  v1::CreateQueueResponse ignored;
  EXPECT_EQ(core_->CreateQueue(kTenant, again, ignored).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Submit("nowhere").status().code(), absl::StatusCode::kNotFound);
  v1::SubmitTaskRequest no_channel;
  no_channel.mutable_task()->set_queue("queues/support");
  v1::SubmitTaskResponse response;
  absl::Status status = core_->SubmitTask(kTenant, no_channel, {}, response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("task.channel"));
  v1::CreateAgentRequest unknown_queue;
  unknown_queue.mutable_agent()->set_display_name("x");
  unknown_queue.mutable_agent()->add_queues("queues/missing");
  v1::CreateAgentResponse agent;
  EXPECT_EQ(core_->CreateAgent(kTenant, unknown_queue, agent).code(), absl::StatusCode::kNotFound);
  // Another tenant sees none of it.
  v1::GetQueueRequest get;
  get.set_name("queues/support");
  v1::GetQueueResponse got;
  EXPECT_EQ(core_->GetQueue("globex", get, got).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(core_->GetQueue(kTenant, get, got).ok());
}

TEST_F(RoutingCoreTest, RestartBringsBackTasksAndVoidsOpenOffers) {
  CreateQueue("support");
  CreateAgent("a1", "support");
  Available("a1");
  absl::StatusOr<v1::Task> offered = Submit("support");
  now_ += absl::Seconds(1);
  absl::StatusOr<v1::Task> waiting = Submit("support");
  ASSERT_TRUE(offered.ok() && waiting.ok());
  ASSERT_EQ(offered->state(), v1::Task::STATE_OFFERED);
  ASSERT_EQ(waiting->state(), v1::Task::STATE_QUEUED);

  Restart();
  // The offer may never have reached the desktop: back in line, first.
  EXPECT_EQ(Get(offered->name()).state(), v1::Task::STATE_QUEUED);
  EXPECT_EQ(Get(waiting->name()).state(), v1::Task::STATE_QUEUED);
  v1::GetAgentRequest get_agent;
  get_agent.set_name("agents/a1");
  v1::GetAgentResponse agent;
  ASSERT_TRUE(core_->GetAgent(kTenant, get_agent, agent).ok());
  EXPECT_EQ(agent.agent().presence().state(), v1::AGENT_STATE_AVAILABLE);
  // The desktop reconnects: the first task is offered again.
  ASSERT_TRUE(core_->OpenSession(kTenant, "agents/a1").ok());
  EXPECT_EQ(Get(offered->name()).state(), v1::Task::STATE_OFFERED);

  // Nobody answers: the timer fires, the agent is marked, and that is kept.
  now_ += absl::Seconds(20);
  ASSERT_TRUE(core_->Tick().ok());
  Restart();
  ASSERT_TRUE(core_->GetAgent(kTenant, get_agent, agent).ok());
  EXPECT_EQ(agent.agent().presence().state(), v1::AGENT_STATE_NOT_RESPONDING);
  EXPECT_EQ(Get(offered->name()).state(), v1::Task::STATE_QUEUED);
}

TEST_F(RoutingCoreTest, TransferAndQueueStats) {
  CreateQueue("support");
  CreateQueue("billing");
  CreateAgent("a1", "support");
  CreateAgent("b1", "billing");
  Available("a1");
  Available("b1");
  absl::StatusOr<v1::Task> task = Submit("support");
  ASSERT_TRUE(task.ok());
  v1::AcceptTaskRequest accept;
  accept.set_name(task->name());
  accept.set_agent("agents/a1");
  v1::AcceptTaskResponse accepted;
  ASSERT_TRUE(core_->AcceptTask(kTenant, accept, accepted).ok());
  now_ += absl::Seconds(30);
  v1::TransferTaskRequest transfer;
  transfer.set_name(task->name());
  transfer.set_queue("queues/billing");
  transfer.set_reason("a billing question");
  v1::TransferTaskResponse transferred;
  absl::Status status = core_->TransferTask(kTenant, transfer, transferred);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(transferred.task().queue(), "queues/billing");
  EXPECT_EQ(transferred.task().agent(), "agents/b1");
  transfer.clear_queue();
  v1::TransferTaskResponse refused;
  EXPECT_EQ(core_->TransferTask(kTenant, transfer, refused).code(),
            absl::StatusCode::kInvalidArgument);

  v1::GetQueueStatsRequest stats;
  stats.set_queue("queues/support");
  v1::GetQueueStatsResponse support;
  ASSERT_TRUE(core_->GetQueueStats(kTenant, stats, support).ok());
  EXPECT_EQ(support.queue_stats().tasks_offered(), 1);
  EXPECT_EQ(support.queue_stats().tasks_answered(), 1);
  EXPECT_EQ(support.queue_stats().interval().seconds(), 3600);  // the default window
  stats.set_queue("queues/billing");
  v1::GetQueueStatsResponse billing;
  ASSERT_TRUE(core_->GetQueueStats(kTenant, stats, billing).ok());
  EXPECT_EQ(billing.queue_stats().tasks_waiting(), 1);  // offered to b1
  stats.set_queue("queues/none");
  EXPECT_EQ(core_->GetQueueStats(kTenant, stats, billing).code(), absl::StatusCode::kNotFound);
}

TEST_F(RoutingCoreTest, AgentsWhoseDesktopNeverReconnectsGoAway) {
  CreateQueue("support");
  CreateAgent("a1", "support");
  Available("a1");
  Restart();
  now_ += absl::Seconds(59);
  ASSERT_TRUE(core_->Tick().ok());
  v1::GetAgentRequest get_agent;
  get_agent.set_name("agents/a1");
  v1::GetAgentResponse agent;
  ASSERT_TRUE(core_->GetAgent(kTenant, get_agent, agent).ok());
  EXPECT_EQ(agent.agent().presence().state(), v1::AGENT_STATE_AVAILABLE);
  now_ += absl::Seconds(1);
  ASSERT_TRUE(core_->Tick().ok());
  ASSERT_TRUE(core_->GetAgent(kTenant, get_agent, agent).ok());
  EXPECT_EQ(agent.agent().presence().state(), v1::AGENT_STATE_AWAY);
  EXPECT_EQ(agent.agent().presence().reason(), "desktop disconnected");
}

// WatchQueueStats' updates: named queues in request order, or every queue
// of the tenant by name (new ones included), all computed at one time; a
// missing named queue is NOT_FOUND for the first update, left out later.
TEST_F(RoutingCoreTest, QueueStatsSnapshotOfNamedAndAllQueues) {
  CreateQueue("support");
  CreateQueue("billing");
  ASSERT_TRUE(Submit("support").ok());  // nobody to take it: waits
  v1::WatchQueueStatsRequest request;
  request.add_queues("queues/support");
  request.add_queues("queues/billing");
  absl::StatusOr<validation::QueueStatsWatch> named = validation::ValidateWatchQueueStats(request);
  ASSERT_TRUE(named.ok()) << named.status();
  now_ += absl::Seconds(10);
  v1::WatchQueueStatsResponse update;
  absl::Status status =
      core_->QueueStatsSnapshot(kTenant, *named, RoutingCore::MissingQueue::kNotFound, update);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(update.queue_stats_size(), 2);
  EXPECT_EQ(update.queue_stats(0).queue(), "queues/support");
  EXPECT_EQ(update.queue_stats(0).tasks_waiting(), 1);
  EXPECT_EQ(update.queue_stats(0).longest_wait().seconds(), 10);
  EXPECT_EQ(update.queue_stats(0).interval().seconds(), 3600);  // the default window
  EXPECT_EQ(update.queue_stats(1).queue(), "queues/billing");
  EXPECT_EQ(update.queue_stats(1).tasks_waiting(), 0);
  using ::google::protobuf::util::TimeUtil;
  EXPECT_EQ(TimeUtil::TimestampToSeconds(update.queue_stats(0).compute_time()),
            absl::ToUnixSeconds(now_));
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(update.queue_stats(1).compute_time()),
            TimeUtil::TimestampToNanoseconds(update.queue_stats(0).compute_time()));

  // Every queue, by name; one created since shows up in the next update.
  absl::StatusOr<validation::QueueStatsWatch> all =
      validation::ValidateWatchQueueStats(v1::WatchQueueStatsRequest());
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_TRUE(
      core_->QueueStatsSnapshot(kTenant, *all, RoutingCore::MissingQueue::kNotFound, update).ok());
  ASSERT_EQ(update.queue_stats_size(), 2);
  EXPECT_EQ(update.queue_stats(0).queue(), "queues/billing");
  EXPECT_EQ(update.queue_stats(1).queue(), "queues/support");
  CreateQueue("alerts");
  ASSERT_TRUE(
      core_->QueueStatsSnapshot(kTenant, *all, RoutingCore::MissingQueue::kNotFound, update).ok());
  ASSERT_EQ(update.queue_stats_size(), 3);
  EXPECT_EQ(update.queue_stats(0).queue(), "queues/alerts");
  // Another tenant sees none of them.
  ASSERT_TRUE(
      core_->QueueStatsSnapshot("globex", *all, RoutingCore::MissingQueue::kNotFound, update).ok());
  EXPECT_EQ(update.queue_stats_size(), 0);

  // A named queue that does not exist: NOT_FOUND naming it, or left out.
  request.add_queues("queues/gone");
  absl::StatusOr<validation::QueueStatsWatch> missing =
      validation::ValidateWatchQueueStats(request);
  ASSERT_TRUE(missing.ok()) << missing.status();
  status =
      core_->QueueStatsSnapshot(kTenant, *missing, RoutingCore::MissingQueue::kNotFound, update);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "queues[2]: queues/gone does not exist");
  status = core_->QueueStatsSnapshot(kTenant, *missing, RoutingCore::MissingQueue::kSkip, update);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(update.queue_stats_size(), 2);
  EXPECT_EQ(update.queue_stats(1).queue(), "queues/billing");
}

}  // namespace
}  // namespace cxp::routing
