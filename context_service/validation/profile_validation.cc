#include "context_service/validation/profile_validation.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"
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

absl::Status ValidateAttributeKey(absl::string_view key, absl::string_view field) {
  const bool ok = !key.empty() && key.size() <= kMaxAttributeKeyChars && key[0] >= 'a' &&
                  key[0] <= 'z' && IsLowerAlnumOr(key, "_");
  if (!ok) {
    return InvalidField(field,
                        absl::StrCat("invalid key ", QuoteForMessage(key), ": must be 1 to ",
                                     kMaxAttributeKeyChars, " characters of [a-z][a-z0-9_]*"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAttributeValue(const cxp::type::v1::AttributeValue& value,
                                    absl::string_view field) {
  using cxp::type::v1::AttributeValue;
  switch (value.value_case()) {
    case AttributeValue::VALUE_NOT_SET:
      return InvalidField(field,
                          "must have a value (string_value, number_value, bool_value or "
                          "timestamp_value)");
    case AttributeValue::kStringValue: {
      const std::string& s = value.string_value();
      if (s.size() > kMaxAttributeStringBytes) {
        return InvalidField(field,
                            absl::StrCat("string_value must be at most ", kMaxAttributeStringBytes,
                                         " bytes (got ", s.size(), ")"));
      }
      return ValidateText(s, field, 0, kMaxAttributeStringBytes, ControlChars::kAllowNewlines);
    }
    case AttributeValue::kNumberValue:
      if (!std::isfinite(value.number_value())) {
        return InvalidField(field, "number_value must be finite (not NaN or infinity)");
      }
      return absl::OkStatus();
    case AttributeValue::kBoolValue:
      return absl::OkStatus();
    case AttributeValue::kTimestampValue:
      return ValidateTimestamp(value.timestamp_value(), field);
  }
  return InvalidField(field, "unknown value kind");
}

absl::Status ValidateAttributes(
    const google::protobuf::Map<std::string, cxp::type::v1::AttributeValue>& attributes,
    int max_entries, absl::string_view field) {
  if (attributes.size() > static_cast<size_t>(std::max(max_entries, 0))) {
    return InvalidField(field, absl::StrCat("must have at most ", max_entries, " entries (got ",
                                            attributes.size(), ")"));
  }
  std::vector<const std::string*> keys;
  keys.reserve(attributes.size());
  for (const auto& [key, unused] : attributes) keys.push_back(&key);
  std::sort(keys.begin(), keys.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (const std::string* key : keys) {
    RETURN_IF_ERROR(ValidateAttributeKey(*key, field));
    RETURN_IF_ERROR(ValidateAttributeValue(attributes.at(*key), FieldPath(field, *key)));
  }
  return absl::OkStatus();
}

absl::Status ValidateCustomerId(absl::string_view id, absl::string_view field) {
  const bool ok =
      !id.empty() && id.size() <= kMaxCustomerIdChars && id[0] != '-' && IsLowerAlnumOr(id, "-");
  if (!ok) {
    return InvalidField(field, absl::StrCat("must be 1 to ", kMaxCustomerIdChars,
                                            " characters of [a-z0-9-], starting with a letter "
                                            "or digit"));
  }
  return absl::OkStatus();
}

}  // namespace cxp::context::validation
