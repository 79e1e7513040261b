#include "context_service/validation/profile_validation.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "context_service/validation/text_rules.h"

namespace cxp::context::validation {
namespace {

bool AllOf(absl::string_view s, bool (*pred)(unsigned char)) {
  return std::all_of(s.begin(), s.end(),
                     [pred](char c) { return pred(static_cast<unsigned char>(c)); });
}

bool IsAlpha(unsigned char c) { return absl::ascii_isalpha(c); }
bool IsDigit(unsigned char c) { return absl::ascii_isdigit(c); }
bool IsAlnum(unsigned char c) { return absl::ascii_isalnum(c); }

bool IsVariant(absl::string_view s) {
  if (!AllOf(s, IsAlnum)) return false;
  if (s.size() >= 5 && s.size() <= 8) return true;
  return s.size() == 4 && absl::ascii_isdigit(static_cast<unsigned char>(s[0]));
}

std::string TitleCase(absl::string_view s) {
  std::string out = absl::AsciiStrToLower(s);
  if (!out.empty()) out[0] = absl::ascii_toupper(static_cast<unsigned char>(out[0]));
  return out;
}

absl::Status BadLanguageCode(absl::string_view value, absl::string_view field) {
  return InvalidField(
      field, absl::StrCat("not a well-formed BCP-47 language tag: ", QuoteForMessage(value),
                          " (expected e.g. \"ko-KR\", \"en\", \"zh-Hant-TW\")"));
}

bool IsTimeZoneComponent(absl::string_view s) {
  if (s.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-';
  });
}

}  // namespace

absl::Status ValidateDisplayName(absl::string_view value, absl::string_view field) {
  return ValidateText(value, field, 0, kMaxDisplayNameChars);
}

absl::StatusOr<std::string> ValidateLanguageCode(absl::string_view value, absl::string_view field) {
  if (value.empty()) return std::string();
  if (value.size() > kMaxLanguageCodeChars) return BadLanguageCode(value, field);
  const std::vector<absl::string_view> parts = absl::StrSplit(value, '-');
  std::vector<std::string> out;
  out.reserve(parts.size());
  size_t i = 0;
  // language
  if (parts[i].size() < 2 || parts[i].size() > 3 || !AllOf(parts[i], IsAlpha)) {
    return BadLanguageCode(value, field);
  }
  out.push_back(absl::AsciiStrToLower(parts[i++]));
  // script
  if (i < parts.size() && parts[i].size() == 4 && AllOf(parts[i], IsAlpha)) {
    out.push_back(TitleCase(parts[i++]));
  }
  // region
  if (i < parts.size() && ((parts[i].size() == 2 && AllOf(parts[i], IsAlpha)) ||
                           (parts[i].size() == 3 && AllOf(parts[i], IsDigit)))) {
    out.push_back(absl::AsciiStrToUpper(parts[i++]));
  }
  // variants
  for (; i < parts.size(); ++i) {
    if (!IsVariant(parts[i])) return BadLanguageCode(value, field);
    out.push_back(absl::AsciiStrToLower(parts[i]));
  }
  return absl::StrJoin(out, "-");
}

absl::Status ValidateTimeZone(absl::string_view value, absl::string_view field) {
  if (value.empty()) return absl::OkStatus();
  const auto unknown = [&] {
    return InvalidField(field, absl::StrCat("unknown IANA time zone ", QuoteForMessage(value),
                                            " (expected e.g. \"Asia/Seoul\")"));
  };
  if (value.size() > kMaxTimeZoneChars || value == "localtime") return unknown();
  for (const absl::string_view component : absl::StrSplit(value, '/')) {
    if (!IsTimeZoneComponent(component)) return unknown();
  }
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(std::string(value), &tz)) return unknown();
  return absl::OkStatus();
}

absl::Status ValidateTier(absl::string_view value, absl::string_view field) {
  return ValidateText(value, field, 0, kMaxTierChars);
}

absl::Status ValidateCustomerId(absl::string_view id, absl::string_view field) {
  return cxp::validation::ValidateResourceId(id, field);
}

}  // namespace cxp::context::validation
