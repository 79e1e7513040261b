#include "notify_service/validation/resource_names.h"

#include "absl/strings/str_cat.h"
#include "common/validation/resource_id.h"

namespace cxp::notify::validation {

absl::StatusOr<std::string> ParseTemplateName(absl::string_view name, absl::string_view field) {
  return cxp::validation::ParseResourceName(name, field, kTemplatesPrefix, "{template}");
}

absl::StatusOr<std::string> ParseTriggerRuleName(absl::string_view name, absl::string_view field) {
  return cxp::validation::ParseResourceName(name, field, kTriggerRulesPrefix, "{trigger_rule}");
}

std::string TemplateName(absl::string_view id) { return absl::StrCat(kTemplatesPrefix, id); }
std::string TriggerRuleName(absl::string_view id) { return absl::StrCat(kTriggerRulesPrefix, id); }

}  // namespace cxp::notify::validation
