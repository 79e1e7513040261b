// Resource names of notify_service's configuration: `templates/{template}`
// and `triggerRules/{trigger_rule}`. IDs follow the rule of every CXP ID
// (cxp::validation::ValidateResourceId): 1 to 63 characters of [a-z0-9-],
// starting with a letter or digit.
//
// Parse* return the ID or INVALID_ARGUMENT "<field>: must be
// \"templates/{template}\" where {template} is ..." (one message for an
// empty name, another collection and a bad ID). Whether the resource exists
// is not checked here.
//
// Pure functions, thread-safe.

#ifndef CXP_NOTIFY_SERVICE_VALIDATION_RESOURCE_NAMES_H_
#define CXP_NOTIFY_SERVICE_VALIDATION_RESOURCE_NAMES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cxp::notify::validation {

inline constexpr absl::string_view kTemplatesPrefix = "templates/";
inline constexpr absl::string_view kTriggerRulesPrefix = "triggerRules/";

// "templates/{template}" -> template ID.
absl::StatusOr<std::string> ParseTemplateName(absl::string_view name, absl::string_view field);
// "triggerRules/{trigger_rule}" -> trigger rule ID.
absl::StatusOr<std::string> ParseTriggerRuleName(absl::string_view name, absl::string_view field);

// ID -> resource name; the ID is not checked.
std::string TemplateName(absl::string_view id);
std::string TriggerRuleName(absl::string_view id);

}  // namespace cxp::notify::validation

#endif  // CXP_NOTIFY_SERVICE_VALIDATION_RESOURCE_NAMES_H_
