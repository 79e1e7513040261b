#include "routing_service/validation/resource_names.h"

#include "absl/strings/str_cat.h"

namespace cxp::routing::validation {
absl::StatusOr<std::string> ParseAgentName(absl::string_view name, absl::string_view field) {
  return cxp::validation::ParseResourceName(name, field, kAgentsPrefix, "{agent}");
}

absl::StatusOr<std::string> ParseQueueName(absl::string_view name, absl::string_view field) {
  return cxp::validation::ParseResourceName(name, field, kQueuesPrefix, "{queue}");
}

absl::StatusOr<std::string> ParseTaskName(absl::string_view name, absl::string_view field) {
  return cxp::validation::ParseResourceName(name, field, kTasksPrefix, "{task}");
}

absl::StatusOr<std::string> ParseCustomerName(absl::string_view name, absl::string_view field) {
  return cxp::validation::ParseResourceName(name, field, kCustomersPrefix, "{customer}");
}

std::string AgentName(absl::string_view id) { return absl::StrCat(kAgentsPrefix, id); }
std::string QueueName(absl::string_view id) { return absl::StrCat(kQueuesPrefix, id); }
std::string TaskName(absl::string_view id) { return absl::StrCat(kTasksPrefix, id); }

}  // namespace cxp::routing::validation
