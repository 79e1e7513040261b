#include "common/validation/resource_id.h"

#include "absl/strings/str_cat.h"
#include "common/validation/text_rules.h"

namespace cxp::validation {

absl::Status ValidateResourceId(absl::string_view id, absl::string_view field) {
  const bool ok =
      !id.empty() && id.size() <= kMaxResourceIdChars && id[0] != '-' && IsLowerAlnumOr(id, "-");
  if (!ok) {
    return InvalidField(field, absl::StrCat("must be 1 to ", kMaxResourceIdChars,
                                            " characters of [a-z0-9-], starting with a letter "
                                            "or digit"));
  }
  return absl::OkStatus();
}

}  // namespace cxp::validation
