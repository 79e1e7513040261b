// RoutingStore on a real RocksDB in a temp dir.
#include "routing_service/core/routing_store.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/routing_service/core/routing_store_fixture.h"

namespace cxp::routing {
namespace {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;

v1::Queue Queue(const std::string& id) {
  v1::Queue queue;
  queue.set_name("queues/" + id);
  queue.set_display_name("Queue " + id);
  queue.set_priority(5);
  return queue;
}

v1::Agent Agent(const std::string& id, v1::AgentState state) {
  v1::Agent agent;
  agent.set_name("agents/" + id);
  agent.set_display_name("Agent " + id);
  agent.add_queues("queues/q1");
  agent.mutable_presence()->set_state(state);
  agent.mutable_presence()->set_reason(state == v1::AGENT_STATE_AWAY ? "lunch" : "");
  return agent;
}

v1::Task Task(const std::string& id, v1::Task::State state, int64_t created_seconds) {
  v1::Task task;
  task.set_name("tasks/" + id);
  task.set_queue("queues/q1");
  task.set_channel(cxp::type::v1::CHANNEL_VOICE);
  task.set_state(state);
  *task.mutable_create_time() = TimeUtil::SecondsToTimestamp(created_seconds);
  return task;
}

class RoutingStoreTest : public testing::RoutingStoreFixture {
 protected:
  void SetUp() override { OpenStore(); }

  void Reopen() {
    CloseStore();
    OpenStore();
  }

  void Commit(RoutingStore::Batch& batch) {
    absl::Status status = store_->Commit(batch);
    ASSERT_TRUE(status.ok()) << status;
  }

  // Everything LoadAll visits, as "tenant kind name" lines, in order.
  std::vector<std::string> Loaded() {
    std::vector<std::string> seen;
    absl::Status status =
        store_->LoadAll({.queue =
                             [&](const std::string& tenant, const v1::Queue& queue) {
                               seen.push_back(absl::StrCat(tenant, " queue ", queue.name()));
                               return absl::OkStatus();
                             },
                         .agent =
                             [&](const std::string& tenant, const v1::Agent& agent) {
                               seen.push_back(absl::StrCat(tenant, " agent ", agent.name()));
                               return absl::OkStatus();
                             },
                         .active_task =
                             [&](const std::string& tenant, const v1::Task& task) {
                               seen.push_back(absl::StrCat(tenant, " task ", task.name()));
                               return absl::OkStatus();
                             }});
    EXPECT_TRUE(status.ok()) << status;
    return seen;
  }
};

TEST_F(RoutingStoreTest, KeepsConfigurationPresenceAndTasksAcrossReopen) {
  RoutingStore::Batch batch = store_->NewBatch();
  batch.PutQueue("acme", Queue("q2"));
  batch.PutQueue("acme", Queue("q1"));
  batch.PutAgent("acme", Agent("a1", v1::AGENT_STATE_AWAY));
  batch.PutTask("acme", Task("t1", v1::Task::STATE_QUEUED, 100));
  batch.PutTask("acme", Task("t2", v1::Task::STATE_COMPLETED, 101));
  batch.PutTask("acme", Task("t3", v1::Task::STATE_OFFERED, 102));
  // Another tenant with the same ids.
  batch.PutQueue("globex", Queue("q1"));
  batch.PutTask("globex", Task("t1", v1::Task::STATE_ACCEPTED, 103));
  Commit(batch);
  Reopen();

  auto agent = store_->GetAgent("acme", "agents/a1");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_TRUE(MessageDifferencer::Equals(**agent, Agent("a1", v1::AGENT_STATE_AWAY)));
  auto task = store_->GetTask("acme", "tasks/t3");
  ASSERT_TRUE(task.ok() && task->has_value());
  EXPECT_EQ((*task)->state(), v1::Task::STATE_OFFERED);
  EXPECT_FALSE(store_->GetAgent("globex", "agents/a1")->has_value());
  EXPECT_FALSE(store_->GetQueue("acme", "queues/q9")->has_value());

  // Queues before agents (agents name queues), then the tasks still active.
  EXPECT_THAT(Loaded(),
              ElementsAre("acme queue queues/q1", "acme queue queues/q2", "globex queue queues/q1",
                          "acme agent agents/a1", "acme task tasks/t1", "acme task tasks/t3",
                          "globex task tasks/t1"));

  // t1 ends, the queue and agent go: the active set and config follow.
  RoutingStore::Batch later = store_->NewBatch();
  later.PutTask("acme", Task("t1", v1::Task::STATE_CANCELLED, 100));
  later.DeleteQueue("acme", "queues/q2");
  later.DeleteAgent("acme", "agents/a1");
  Commit(later);
  EXPECT_THAT(Loaded(), ElementsAre("acme queue queues/q1", "globex queue queues/q1",
                                    "acme task tasks/t3", "globex task tasks/t1"));
  EXPECT_EQ((*store_->GetTask("acme", "tasks/t1"))->state(), v1::Task::STATE_CANCELLED);
}

TEST_F(RoutingStoreTest, TasksPageNewestFirstPerTenant) {
  RoutingStore::Batch batch = store_->NewBatch();
  for (int i = 0; i < 5; ++i) {
    batch.PutTask("acme", Task(absl::StrCat("t", i), v1::Task::STATE_QUEUED, 1000 + i));
  }
  batch.PutTask("globex", Task("other", v1::Task::STATE_QUEUED, 5000));
  Commit(batch);
  // Rewriting a task (a state change) adds no second row.
  RoutingStore::Batch again = store_->NewBatch();
  again.PutTask("acme", Task("t2", v1::Task::STATE_ACCEPTED, 1002));
  Commit(again);

  std::vector<std::string> names;
  std::string resume;
  int pages = 0;
  do {
    std::string last;
    int rows = 0;
    absl::Status status = store_->ScanTasksNewestFirst(
        "acme", resume, 2, [&](const std::string& key, const v1::Task& task) {
          names.push_back(task.name());
          last = key;
          ++rows;
          return true;
        });
    ASSERT_TRUE(status.ok()) << status;
    resume = rows == 2 ? last : "";
    ++pages;
  } while (!resume.empty() && pages < 10);
  EXPECT_THAT(names, ElementsAre("tasks/t4", "tasks/t3", "tasks/t2", "tasks/t1", "tasks/t0"));
}

}  // namespace
}  // namespace cxp::routing
