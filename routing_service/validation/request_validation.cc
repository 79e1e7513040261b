#include "routing_service/validation/request_validation.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/paging/page_size.h"
#include "common/status/status_macros.h"
#include "cxp/routing/v1/agent.pb.h"
#include "routing_service/validation/field_rules.h"
#include "routing_service/validation/resource_names.h"

namespace cxp::routing::validation {
namespace {

// An optional Duration within [min, max], `fallback` when unset.
absl::StatusOr<absl::Duration> OptionalDuration(bool has, const google::protobuf::Duration& value,
                                                absl::string_view field, absl::Duration min,
                                                absl::Duration max, absl::Duration fallback) {
  if (!has) return fallback;
  RETURN_IF_ERROR(ValidateDurationRange(value, field, min, max));
  return ToAbslDuration(value);
}

absl::Status ValidateTaskReason(absl::string_view reason) {
  return ValidateText(reason, "reason", 0, kMaxTaskReasonChars);
}

}  // namespace

absl::StatusOr<std::string> ValidateSetAgentState(
    const cxp::routing::v1::SetAgentStateRequest& request) {
  ASSIGN_OR_RETURN(std::string agent_id, ParseAgentName(request.name(), "name"));
  const int state = request.state();
  switch (state) {
    case cxp::routing::v1::AGENT_STATE_UNSPECIFIED:
      return InvalidField("state", "must be set");
    case cxp::routing::v1::AGENT_STATE_OFFLINE:
    case cxp::routing::v1::AGENT_STATE_AVAILABLE:
    case cxp::routing::v1::AGENT_STATE_AWAY:
      break;
    case cxp::routing::v1::AGENT_STATE_BUSY:
    case cxp::routing::v1::AGENT_STATE_WRAP_UP:
    case cxp::routing::v1::AGENT_STATE_NOT_RESPONDING:
      return InvalidField("state", "set by CXP, not by clients");
    default:
      return InvalidField("state", absl::StrCat("unknown AgentState value ", state));
  }
  if (state == cxp::routing::v1::AGENT_STATE_AWAY && request.reason().empty()) {
    return InvalidField("reason", "required for AGENT_STATE_AWAY");
  }
  RETURN_IF_ERROR(ValidateText(request.reason(), "reason", 0, kMaxStateReasonChars));
  return agent_id;
}

absl::StatusOr<std::string> ValidateCancelTask(const cxp::routing::v1::CancelTaskRequest& request) {
  ASSIGN_OR_RETURN(std::string task_id, ParseTaskName(request.name(), "name"));
  RETURN_IF_ERROR(ValidateTaskReason(request.reason()));
  return task_id;
}

absl::StatusOr<TaskTransfer> ValidateTransferTask(
    const cxp::routing::v1::TransferTaskRequest& request) {
  using cxp::routing::v1::TransferTaskRequest;
  TaskTransfer out;
  ASSIGN_OR_RETURN(out.task_id, ParseTaskName(request.name(), "name"));
  switch (request.target_case()) {
    case TransferTaskRequest::kQueue: {
      ASSIGN_OR_RETURN(out.queue_id, ParseQueueName(request.queue(), "queue"));
      break;
    }
    case TransferTaskRequest::kAgent: {
      ASSIGN_OR_RETURN(out.agent_id, ParseAgentName(request.agent(), "agent"));
      break;
    }
    case TransferTaskRequest::TARGET_NOT_SET:
      return InvalidField("target", "set queue or agent");
  }
  RETURN_IF_ERROR(ValidateTaskReason(request.reason()));
  return out;
}

namespace {

template <typename Request>
absl::StatusOr<TaskAction> ParseTaskAction(const Request& request) {
  TaskAction out;
  ASSIGN_OR_RETURN(out.task_id, ParseTaskName(request.name(), "name"));
  ASSIGN_OR_RETURN(out.agent_id, ParseAgentName(request.agent(), "agent"));
  return out;
}

}  // namespace

absl::StatusOr<TaskAction> ValidateAcceptTask(const cxp::routing::v1::AcceptTaskRequest& request) {
  return ParseTaskAction(request);
}

absl::StatusOr<TaskAction> ValidateRejectTask(const cxp::routing::v1::RejectTaskRequest& request) {
  ASSIGN_OR_RETURN(TaskAction out, ParseTaskAction(request));
  RETURN_IF_ERROR(ValidateTaskReason(request.reason()));
  return out;
}

absl::StatusOr<TaskAction> ValidateWrapUpTask(const cxp::routing::v1::WrapUpTaskRequest& request) {
  return ParseTaskAction(request);
}

absl::StatusOr<TaskAction> ValidateCompleteTask(
    const cxp::routing::v1::CompleteTaskRequest& request) {
  ASSIGN_OR_RETURN(TaskAction out, ParseTaskAction(request));
  RETURN_IF_ERROR(ValidateText(request.wrap_up_notes(), "wrap_up_notes", 0, kMaxWrapUpNotesChars,
                               ControlChars::kAllowNewlines));
  return out;
}

absl::StatusOr<QueueStatsQuery> ValidateGetQueueStats(
    const cxp::routing::v1::GetQueueStatsRequest& request) {
  QueueStatsQuery out;
  ASSIGN_OR_RETURN(out.queue_id, ParseQueueName(request.queue(), "queue"));
  ASSIGN_OR_RETURN(out.interval,
                   OptionalDuration(request.has_interval(), request.interval(), "interval",
                                    kMinStatsInterval, kMaxStatsInterval, kDefaultStatsInterval));
  return out;
}

absl::StatusOr<QueueStatsWatch> ValidateWatchQueueStats(
    const cxp::routing::v1::WatchQueueStatsRequest& request) {
  QueueStatsWatch out;
  RETURN_IF_ERROR(ValidateMaxEntries(request.queues_size(), kMaxWatchedQueues, "queues"));
  absl::flat_hash_map<absl::string_view, int> first;
  for (int i = 0; i < request.queues_size(); ++i) {
    const std::string entry = IndexedPath("queues", i);
    ASSIGN_OR_RETURN(std::string id, ParseQueueName(request.queues(i), entry));
    if (const auto [it, inserted] = first.emplace(request.queues(i), i); !inserted) {
      return RepeatedEntry(entry, IndexedPath("queues", it->second));
    }
    out.queue_ids.push_back(std::move(id));
  }
  ASSIGN_OR_RETURN(out.interval,
                   OptionalDuration(request.has_interval(), request.interval(), "interval",
                                    kMinStatsInterval, kMaxStatsInterval, kDefaultStatsInterval));
  ASSIGN_OR_RETURN(
      out.update_period,
      OptionalDuration(request.has_update_period(), request.update_period(), "update_period",
                       kMinUpdatePeriod, kMaxUpdatePeriod, kDefaultUpdatePeriod));
  return out;
}

absl::StatusOr<int> ListPageSize(int32_t page_size) {
  return cxp::paging::EffectivePageSize(page_size);
}

}  // namespace cxp::routing::validation
