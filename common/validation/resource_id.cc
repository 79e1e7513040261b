#include "common/validation/resource_id.h"

#include <random>

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

std::string NewResourceId() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id(16, 'a');
  for (char& c : id) c = kAlphabet[rng() % 36];
  return id;
}

std::string_view ResourceIdOf(std::string_view name) {
  const size_t slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

}  // namespace cxp::validation
