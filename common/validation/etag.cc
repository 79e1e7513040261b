#include "common/validation/etag.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cxp::validation {

absl::Status CheckEtag(absl::string_view given, absl::string_view current, absl::string_view name,
                       absl::string_view field) {
  if (given.empty() || given == current) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat(field, ": \"", given, "\" is stale; ", name,
                                         " is at etag \"", current, "\"; read it and retry"));
}

std::string NextEtag(absl::string_view etag) {
  uint64_t version = 0;
  if (!absl::SimpleAtoi(etag, &version)) version = 0;
  return absl::StrCat(version + 1);
}

}  // namespace cxp::validation
