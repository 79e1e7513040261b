// Checks of the routing requests that carry no resource configuration:
// presence, task actions, queue statistics and List paging. The comments in
// protos/cxp/routing/v1/routing_service.proto and agent.proto are the
// contract. Requests whose only input is a resource name (GetAgent,
// DeleteAgent, GetQueue, DeleteQueue, GetTask, AgentSession) need no
// function here: use ParseAgentName(request.name(), "name") and friends
// (resource_names.h); etags are opaque and not checked.
//
// Rules (paths are the request's own field names):
//   SetAgentState    name `agents/{agent}`; state OFFLINE, AVAILABLE or AWAY
//                    (UNSPECIFIED: "must be set"; BUSY, WRAP_UP and
//                    NOT_RESPONDING: "set by CXP, not by clients"); reason
//                    required for AWAY, 1 to 128 characters, else at most
//                    128; no control characters.
//   CancelTask       name `tasks/{task}`; reason at most 256 characters, no
//                    control characters.
//   TransferTask     name; target set ("target: set queue or agent"):
//                    queue `queues/{queue}` or agent `agents/{agent}`;
//                    reason as CancelTask's.
//   AcceptTask, WrapUpTask  name; agent `agents/{agent}` required.
//   RejectTask       name; agent; reason as CancelTask's.
//   CompleteTask     name; agent; wrap_up_notes at most 4096 characters,
//                    TAB/LF/CR allowed.
//   GetQueueStats    queue `queues/{queue}`; interval unset (1 hour) or 1
//                    minute to 24 hours.
//   WatchQueueStats  queues at most 100 `queues/{queue}` names, no repeats
//                    (empty: all queues); interval as above; update_period
//                    unset (5 seconds) or 1 second to 5 minutes.
//   List*            page_size per cxp::paging::EffectivePageSize (negative
//                    rejected, 0 means 50, above 1000 clamped to 1000: the
//                    AIP-158 rule every CXP List RPC applies).
//
// Errors: INVALID_ARGUMENT "<field path>: <problem>"; the first error in
// field-number order is reported. Pure functions, thread-safe.

#ifndef CXP_ROUTING_SERVICE_VALIDATION_REQUEST_VALIDATION_H_
#define CXP_ROUTING_SERVICE_VALIDATION_REQUEST_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cxp/routing/v1/routing_service.pb.h"

namespace cxp::routing::validation {

inline constexpr size_t kMaxStateReasonChars = 128;
inline constexpr size_t kMaxTaskReasonChars = 256;  // cancel, transfer, reject
inline constexpr size_t kMaxWrapUpNotesChars = 4096;
inline constexpr absl::Duration kMinStatsInterval = absl::Minutes(1);
inline constexpr absl::Duration kMaxStatsInterval = absl::Hours(24);
inline constexpr absl::Duration kDefaultStatsInterval = absl::Hours(1);
inline constexpr absl::Duration kMinUpdatePeriod = absl::Seconds(1);
inline constexpr absl::Duration kMaxUpdatePeriod = absl::Minutes(5);
inline constexpr absl::Duration kDefaultUpdatePeriod = absl::Seconds(5);
inline constexpr int kMaxWatchedQueues = 100;

// SetAgentState: returns the agent ID.
absl::StatusOr<std::string> ValidateSetAgentState(
    const cxp::routing::v1::SetAgentStateRequest& request);

// CancelTask: returns the task ID.
absl::StatusOr<std::string> ValidateCancelTask(const cxp::routing::v1::CancelTaskRequest& request);

// A checked TransferTaskRequest: exactly one of queue_id and agent_id is set.
struct TaskTransfer {
  std::string task_id;
  std::string queue_id;
  std::string agent_id;
};
absl::StatusOr<TaskTransfer> ValidateTransferTask(
    const cxp::routing::v1::TransferTaskRequest& request);

// The IDs of a task action taken by an agent.
struct TaskAction {
  std::string task_id;
  std::string agent_id;
};
absl::StatusOr<TaskAction> ValidateAcceptTask(const cxp::routing::v1::AcceptTaskRequest& request);
absl::StatusOr<TaskAction> ValidateRejectTask(const cxp::routing::v1::RejectTaskRequest& request);
absl::StatusOr<TaskAction> ValidateWrapUpTask(const cxp::routing::v1::WrapUpTaskRequest& request);
absl::StatusOr<TaskAction> ValidateCompleteTask(
    const cxp::routing::v1::CompleteTaskRequest& request);

// A checked GetQueueStatsRequest, defaults applied.
struct QueueStatsQuery {
  std::string queue_id;
  absl::Duration interval;
};
absl::StatusOr<QueueStatsQuery> ValidateGetQueueStats(
    const cxp::routing::v1::GetQueueStatsRequest& request);

// A checked WatchQueueStatsRequest, defaults applied.
struct QueueStatsWatch {
  std::vector<std::string> queue_ids;  // empty: every queue
  absl::Duration interval;
  absl::Duration update_period;
};
absl::StatusOr<QueueStatsWatch> ValidateWatchQueueStats(
    const cxp::routing::v1::WatchQueueStatsRequest& request);

// ListAgents / ListQueues / ListTasks page_size -> the page size to use.
absl::StatusOr<int> ListPageSize(int32_t page_size);

}  // namespace cxp::routing::validation

#endif  // CXP_ROUTING_SERVICE_VALIDATION_REQUEST_VALIDATION_H_
