#include "common/validation/resource_id.h"

#include <algorithm>
#include <cstdint>
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

namespace {

// Ascending in ASCII, so fixed-width numbers in it sort as numbers do.
constexpr char kBase36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

void FillRandom(char* begin, char* end) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (char* c = begin; c != end; ++c) *c = kBase36[rng() % 36];
}

}  // namespace

std::string NewResourceId() {
  std::string id(16, '0');
  FillRandom(id.data(), id.data() + id.size());
  return id;
}

std::string NewTimeOrderedResourceId(absl::Time now) {
  constexpr int kTimeChars = 9;
  constexpr int kRandomChars = 8;
  std::string id(kTimeChars + kRandomChars, '0');
  uint64_t millis = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(now)));
  for (int i = kTimeChars - 1; i >= 0; --i) {
    id[i] = kBase36[millis % 36];
    millis /= 36;
  }
  FillRandom(id.data() + kTimeChars, id.data() + id.size());
  return id;
}

std::string_view ResourceIdOf(std::string_view name) {
  const size_t slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

}  // namespace cxp::validation
