#include "common/validation/attribute_rules.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/validation/text_rules.h"

namespace cxp::validation {

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

}  // namespace cxp::validation
