#include "routing_service/validation/request_validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::routing::validation {
namespace {

using namespace cxp::routing::v1;  // NOLINT: request messages
using cxp::validation::testing_util::IsInvalid;
using ::testing::ElementsAre;

constexpr char kAgentRule[] =
    "must be \"agents/{agent}\" where {agent} is 1 to 63 characters of [a-z0-9-], starting with "
    "a letter or digit";
constexpr char kTaskRule[] =
    "must be \"tasks/{task}\" where {task} is 1 to 63 characters of [a-z0-9-], starting with a "
    "letter or digit";
constexpr char kQueueRule[] =
    "must be \"queues/{queue}\" where {queue} is 1 to 63 characters of [a-z0-9-], starting with "
    "a letter or digit";

TEST(ValidateSetAgentStateTest, ClientSettableStates) {
  SetAgentStateRequest request;
  request.set_name("agents/a1");
  request.set_state(AGENT_STATE_AVAILABLE);
  EXPECT_EQ(*ValidateSetAgentState(request), "a1");
  request.set_state(AGENT_STATE_OFFLINE);
  request.set_reason("end of shift");  // optional outside AWAY
  EXPECT_TRUE(ValidateSetAgentState(request).ok());
  request.set_state(AGENT_STATE_AWAY);
  request.set_reason(std::string(128, 'r'));
  EXPECT_TRUE(ValidateSetAgentState(request).ok());
  request.set_reason("점심");
  EXPECT_TRUE(ValidateSetAgentState(request).ok());
}

TEST(ValidateSetAgentStateTest, Errors) {
  SetAgentStateRequest request;
  request.set_state(AGENT_STATE_AVAILABLE);
  EXPECT_TRUE(IsInvalid(ValidateSetAgentState(request), std::string("name: ") + kAgentRule));
  request.set_name("agents/a1");
  request.clear_state();
  EXPECT_TRUE(IsInvalid(ValidateSetAgentState(request), "state: must be set"));
  for (const AgentState state :
       {AGENT_STATE_BUSY, AGENT_STATE_WRAP_UP, AGENT_STATE_NOT_RESPONDING}) {
    request.set_state(state);
    EXPECT_TRUE(IsInvalid(ValidateSetAgentState(request), "state: set by CXP, not by clients"))
        << AgentState_Name(state);
  }
  request.set_state(static_cast<AgentState>(12));
  EXPECT_TRUE(IsInvalid(ValidateSetAgentState(request), "state: unknown AgentState value 12"));
  request.set_state(AGENT_STATE_AWAY);
  EXPECT_TRUE(IsInvalid(ValidateSetAgentState(request), "reason: required for AGENT_STATE_AWAY"));
  request.set_reason(std::string(129, 'r'));
  EXPECT_TRUE(IsInvalid(ValidateSetAgentState(request),
                        "reason: must be at most 128 characters (got 129)"));
  request.set_state(AGENT_STATE_AVAILABLE);
  EXPECT_TRUE(IsInvalid(ValidateSetAgentState(request),
                        "reason: must be at most 128 characters (got 129)"));
  request.set_reason("lunch\n");
  EXPECT_TRUE(
      IsInvalid(ValidateSetAgentState(request), "reason: must not contain control characters"));
}

TEST(ValidateCancelTaskTest, NameAndReason) {
  CancelTaskRequest request;
  request.set_name("tasks/t1");
  request.set_reason(std::string(256, 'r'));
  request.set_abandoned(true);
  request.set_etag("any opaque etag");
  EXPECT_EQ(*ValidateCancelTask(request), "t1");
  request.set_reason(std::string(257, 'r'));
  EXPECT_TRUE(
      IsInvalid(ValidateCancelTask(request), "reason: must be at most 256 characters (got 257)"));
  request.set_name("t1");
  EXPECT_TRUE(IsInvalid(ValidateCancelTask(request), std::string("name: ") + kTaskRule));
}

TEST(ValidateTransferTaskTest, TargetQueueOrAgent) {
  TransferTaskRequest request;
  request.set_name("tasks/t1");
  request.set_queue("queues/tier2");
  request.set_reason("needs a specialist");
  absl::StatusOr<TaskTransfer> out = ValidateTransferTask(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->task_id, "t1");
  EXPECT_EQ(out->queue_id, "tier2");
  EXPECT_EQ(out->agent_id, "");
  request.set_agent("agents/a2");
  out = ValidateTransferTask(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->queue_id, "");
  EXPECT_EQ(out->agent_id, "a2");

  request.clear_target();
  EXPECT_TRUE(IsInvalid(ValidateTransferTask(request), "target: set queue or agent"));
  request.set_queue("");
  EXPECT_TRUE(IsInvalid(ValidateTransferTask(request), std::string("queue: ") + kQueueRule));
  request.set_agent("a2");
  EXPECT_TRUE(IsInvalid(ValidateTransferTask(request), std::string("agent: ") + kAgentRule));
  request.set_agent("agents/a2");
  request.set_reason(std::string(257, 'r'));
  EXPECT_TRUE(
      IsInvalid(ValidateTransferTask(request), "reason: must be at most 256 characters (got 257)"));
  request.set_reason("");
  request.set_name("");
  EXPECT_TRUE(IsInvalid(ValidateTransferTask(request), std::string("name: ") + kTaskRule));
}

TEST(TaskActionsTest, NameAndAgentRequired) {
  AcceptTaskRequest accept;
  accept.set_name("tasks/t1");
  accept.set_agent("agents/a1");
  absl::StatusOr<TaskAction> out = ValidateAcceptTask(accept);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->task_id, "t1");
  EXPECT_EQ(out->agent_id, "a1");
  accept.clear_agent();
  EXPECT_TRUE(IsInvalid(ValidateAcceptTask(accept), std::string("agent: ") + kAgentRule));
  accept.set_agent("agents/a1");
  accept.set_name("tasks/");
  EXPECT_TRUE(IsInvalid(ValidateAcceptTask(accept), std::string("name: ") + kTaskRule));

  WrapUpTaskRequest wrap_up;
  wrap_up.set_name("tasks/t1");
  EXPECT_TRUE(IsInvalid(ValidateWrapUpTask(wrap_up), std::string("agent: ") + kAgentRule));
  wrap_up.set_agent("agents/a1");
  EXPECT_TRUE(ValidateWrapUpTask(wrap_up).ok());

  RejectTaskRequest reject;
  reject.set_name("tasks/t1");
  reject.set_agent("agents/a1");
  reject.set_reason(std::string(256, 'r'));
  EXPECT_TRUE(ValidateRejectTask(reject).ok());
  reject.set_reason(std::string(257, 'r'));
  EXPECT_TRUE(
      IsInvalid(ValidateRejectTask(reject), "reason: must be at most 256 characters (got 257)"));
  reject.clear_agent();
  EXPECT_TRUE(IsInvalid(ValidateRejectTask(reject), std::string("agent: ") + kAgentRule));

  CompleteTaskRequest complete;
  complete.set_name("tasks/t1");
  complete.set_agent("agents/a1");
  complete.set_wrap_up_notes("Refund issued.\r\nCustomer satisfied.\tDone.");
  EXPECT_TRUE(ValidateCompleteTask(complete).ok());
  complete.set_wrap_up_notes(std::string(4096, 'n'));
  EXPECT_TRUE(ValidateCompleteTask(complete).ok());
  complete.set_wrap_up_notes(std::string(4097, 'n'));
  EXPECT_TRUE(IsInvalid(ValidateCompleteTask(complete),
                        "wrap_up_notes: must be at most 4096 characters (got 4097)"));
  complete.set_wrap_up_notes("bell\x07");
  EXPECT_TRUE(IsInvalid(ValidateCompleteTask(complete),
                        "wrap_up_notes: must not contain control characters"));
  complete.clear_agent();
  EXPECT_TRUE(IsInvalid(ValidateCompleteTask(complete), std::string("agent: ") + kAgentRule));
}

TEST(ValidateGetQueueStatsTest, IntervalDefaultAndRange) {
  GetQueueStatsRequest request;
  request.set_queue("queues/billing");
  absl::StatusOr<QueueStatsQuery> out = ValidateGetQueueStats(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->queue_id, "billing");
  EXPECT_EQ(out->interval, absl::Hours(1));
  request.mutable_interval()->set_seconds(60);
  EXPECT_EQ(ValidateGetQueueStats(request)->interval, absl::Minutes(1));
  request.mutable_interval()->set_seconds(86400);
  EXPECT_EQ(ValidateGetQueueStats(request)->interval, absl::Hours(24));
  request.mutable_interval()->set_seconds(59);
  EXPECT_TRUE(IsInvalid(ValidateGetQueueStats(request), "interval: must be 1m to 24h (got 59s)"));
  request.mutable_interval()->set_seconds(86401);
  EXPECT_TRUE(IsInvalid(ValidateGetQueueStats(request), "interval: must be 1m to 24h (got 24h1s)"));
  request.clear_interval();
  request.set_queue("queues/Billing");
  EXPECT_TRUE(IsInvalid(ValidateGetQueueStats(request), std::string("queue: ") + kQueueRule));
}

TEST(ValidateWatchQueueStatsTest, QueuesAndPeriods) {
  WatchQueueStatsRequest request;
  absl::StatusOr<QueueStatsWatch> out = ValidateWatchQueueStats(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->queue_ids.empty());  // every queue
  EXPECT_EQ(out->interval, absl::Hours(1));
  EXPECT_EQ(out->update_period, absl::Seconds(5));

  request.add_queues("queues/billing");
  request.add_queues("queues/vip");
  request.mutable_interval()->set_seconds(900);
  request.mutable_update_period()->set_seconds(1);
  out = ValidateWatchQueueStats(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->queue_ids, ElementsAre("billing", "vip"));
  EXPECT_EQ(out->interval, absl::Minutes(15));
  EXPECT_EQ(out->update_period, absl::Seconds(1));
  request.mutable_update_period()->set_seconds(300);
  EXPECT_TRUE(ValidateWatchQueueStats(request).ok());

  request.mutable_update_period()->set_seconds(0);
  request.mutable_update_period()->set_nanos(999999999);
  EXPECT_TRUE(IsInvalid(ValidateWatchQueueStats(request),
                        "update_period: must be 1s to 5m (got 999.999999ms)"));
  request.mutable_update_period()->set_seconds(301);
  request.mutable_update_period()->set_nanos(0);
  EXPECT_TRUE(
      IsInvalid(ValidateWatchQueueStats(request), "update_period: must be 1s to 5m (got 5m1s)"));
  request.clear_update_period();
  request.mutable_interval()->set_seconds(30);
  EXPECT_TRUE(IsInvalid(ValidateWatchQueueStats(request), "interval: must be 1m to 24h (got 30s)"));
  request.clear_interval();
  request.add_queues("queues/billing");
  EXPECT_TRUE(IsInvalid(ValidateWatchQueueStats(request), "queues[2]: repeats queues[0]"));
  request.set_queues(2, "billing");
  EXPECT_TRUE(IsInvalid(ValidateWatchQueueStats(request), std::string("queues[2]: ") + kQueueRule));
  request.clear_queues();
  for (int i = 0; i < 100; ++i) request.add_queues(absl::StrCat("queues/q", i));
  EXPECT_TRUE(ValidateWatchQueueStats(request).ok());
  request.add_queues("queues/q100");
  EXPECT_TRUE(IsInvalid(ValidateWatchQueueStats(request),
                        "queues: must have at most 100 entries (got 101)"));
}

TEST(ListPageSizeTest, SharedPagingRule) {
  EXPECT_EQ(*ListPageSize(0), 50);
  EXPECT_EQ(*ListPageSize(1), 1);
  EXPECT_EQ(*ListPageSize(1000), 1000);
  EXPECT_EQ(*ListPageSize(5000), 1000);  // clamped (AIP-158)
  EXPECT_TRUE(IsInvalid(ListPageSize(-5), "page_size: must not be negative (got -5)"));
}

}  // namespace
}  // namespace cxp::routing::validation
