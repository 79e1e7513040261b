#include "routing_service/validation/resource_names.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/validation/text_rules.h"

namespace cxp::routing::validation {
namespace {

// `prefix` is "<collection>/"; `variable` is "{<singular>}".
absl::StatusOr<std::string> ParseName(absl::string_view name, absl::string_view field,
                                      absl::string_view prefix, absl::string_view variable) {
  absl::string_view id = name;
  if (!absl::ConsumePrefix(&id, prefix) || !ValidateResourceId(id, field).ok()) {
    return cxp::validation::InvalidField(
        field, absl::StrCat("must be \"", prefix, variable, "\" where ", variable, " is 1 to ",
                            kMaxResourceIdChars,
                            " characters of [a-z0-9-], starting with a letter or digit"));
  }
  return std::string(id);
}

}  // namespace

absl::StatusOr<std::string> ParseAgentName(absl::string_view name, absl::string_view field) {
  return ParseName(name, field, kAgentsPrefix, "{agent}");
}

absl::StatusOr<std::string> ParseQueueName(absl::string_view name, absl::string_view field) {
  return ParseName(name, field, kQueuesPrefix, "{queue}");
}

absl::StatusOr<std::string> ParseTaskName(absl::string_view name, absl::string_view field) {
  return ParseName(name, field, kTasksPrefix, "{task}");
}

absl::StatusOr<std::string> ParseCustomerName(absl::string_view name, absl::string_view field) {
  return ParseName(name, field, kCustomersPrefix, "{customer}");
}

std::string AgentName(absl::string_view id) { return absl::StrCat(kAgentsPrefix, id); }
std::string QueueName(absl::string_view id) { return absl::StrCat(kQueuesPrefix, id); }
std::string TaskName(absl::string_view id) { return absl::StrCat(kTasksPrefix, id); }

}  // namespace cxp::routing::validation
