#include "common/validation/resource_id.h"

#include <algorithm>
#include <cstdint>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
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

absl::StatusOr<std::string> ParseResourceName(absl::string_view name, absl::string_view field,
                                              absl::string_view prefix,
                                              absl::string_view variable) {
  absl::string_view id = name;
  if (!absl::ConsumePrefix(&id, prefix) || !ValidateResourceId(id, field).ok()) {
    return InvalidField(field, absl::StrCat("must be \"", prefix, variable, "\" where ", variable,
                                            " is 1 to ", kMaxResourceIdChars,
                                            " characters of [a-z0-9-], starting with a letter "
                                            "or digit"));
  }
  return std::string(id);
}

absl::Status ValidateRequestId(absl::string_view request_id, absl::string_view field) {
  if (request_id.empty()) return absl::OkStatus();
  bool ok = request_id.size() == 36;
  for (size_t i = 0; ok && i < request_id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash ? request_id[i] == '-'
              : absl::ascii_isxdigit(static_cast<unsigned char>(request_id[i]));
  }
  if (!ok) {
    return InvalidField(field, "must be a UUID such as \"123e4567-e89b-12d3-a456-426614174000\"");
  }
  return absl::OkStatus();
}

}  // namespace cxp::validation
