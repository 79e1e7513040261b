// Resource names of routing_service (`agents/{agent}`, `queues/{queue}`,
// `tasks/{task}`) and the customer names tasks refer to
// (`customers/{customer}`, context_service's): parsing into IDs, building
// from IDs, and the ID rule itself.
//
// Every ID — caller-chosen (CreateAgentRequest.agent_id, queue_id),
// generated (tasks) or context_service's customer IDs — follows one rule:
// 1 to 63 characters of [a-z0-9-], starting with a letter or digit
// (cxp::validation::ValidateResourceId, common/validation/resource_id.h).
//
// Parse* return the ID or INVALID_ARGUMENT "<field>: <problem>", e.g.
// "agent.queues[2]: must be \"queues/{queue}\" where {queue} is 1 to 63
// characters of [a-z0-9-], starting with a letter or digit". The same
// message covers an empty name, a wrong collection and a bad ID; the name is
// never echoed (agent and customer IDs may be personal data). Whether the
// resource exists is not checked here.
//
// Pure functions, thread-safe.

#ifndef CXP_ROUTING_SERVICE_VALIDATION_RESOURCE_NAMES_H_
#define CXP_ROUTING_SERVICE_VALIDATION_RESOURCE_NAMES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/validation/resource_id.h"

namespace cxp::routing::validation {

using cxp::validation::kMaxResourceIdChars;
using cxp::validation::ValidateResourceId;

inline constexpr absl::string_view kAgentsPrefix = "agents/";
inline constexpr absl::string_view kQueuesPrefix = "queues/";
inline constexpr absl::string_view kTasksPrefix = "tasks/";
inline constexpr absl::string_view kCustomersPrefix = "customers/";

// "agents/{agent}" -> agent ID.
absl::StatusOr<std::string> ParseAgentName(absl::string_view name, absl::string_view field);

// "queues/{queue}" -> queue ID.
absl::StatusOr<std::string> ParseQueueName(absl::string_view name, absl::string_view field);

// "tasks/{task}" -> task ID.
absl::StatusOr<std::string> ParseTaskName(absl::string_view name, absl::string_view field);

// "customers/{customer}" -> customer ID (CustomerRef.customer).
absl::StatusOr<std::string> ParseCustomerName(absl::string_view name, absl::string_view field);

// ID -> resource name; the ID is not checked.
std::string AgentName(absl::string_view id);
std::string QueueName(absl::string_view id);
std::string TaskName(absl::string_view id);

}  // namespace cxp::routing::validation

#endif  // CXP_ROUTING_SERVICE_VALIDATION_RESOURCE_NAMES_H_
