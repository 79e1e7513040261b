// Checks for customer-profile fields (protos/cxp/context/v1/customer.proto,
// protos/cxp/type/v1/attribute_value.proto and CreateCustomerRequest in
// context_service.proto are the contract for every limit here).
//
// Each function takes the full field path of the value it checks (e.g.
// "customer.display_name") and returns OK or INVALID_ARGUMENT
// "<field>: <problem>". Character counts are Unicode code points, so a
// 256-character Korean display name (768 bytes of UTF-8) is accepted.
// Empty values of optional fields are accepted unless stated otherwise.
//
// Pure functions, thread-safe.

#ifndef CXP_CONTEXT_SERVICE_VALIDATION_PROFILE_VALIDATION_H_
#define CXP_CONTEXT_SERVICE_VALIDATION_PROFILE_VALIDATION_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/validation/attribute_rules.h"
#include "common/validation/resource_id.h"

namespace cxp::context::validation {

inline constexpr size_t kMaxDisplayNameChars = 256;
inline constexpr size_t kMaxTierChars = 64;
inline constexpr size_t kMaxLanguageCodeChars = 64;
inline constexpr size_t kMaxTimeZoneChars = 64;
inline constexpr int kMaxCustomerAttributes = 200;
inline constexpr size_t kMaxCustomerIdChars = cxp::validation::kMaxResourceIdChars;

// Custom-attribute rules live in common/validation/attribute_rules.h (shared
// with routing_service); their contract is stated there.
using cxp::validation::kMaxAttributeKeyChars;
using cxp::validation::kMaxAttributeStringBytes;
using cxp::validation::ValidateAttributeKey;
using cxp::validation::ValidateAttributes;
using cxp::validation::ValidateAttributeValue;

// Customer.display_name: at most 256 characters, valid UTF-8, no control
// characters. Empty is allowed.
absl::Status ValidateDisplayName(absl::string_view value, absl::string_view field);

// BCP-47 language tag (Customer.language_code,
// ContactPreferences.language_code), checked for well-formedness with a
// pragmatic grammar, case-insensitively, '-' as the only separator:
//
//   language(2-3 letters) ["-" script(4 letters)]
//   ["-" region(2 letters | 3 digits)] *("-" variant)
//
// where a variant is 5-8 letters/digits or a digit followed by 3
// letters/digits. Extensions ("-u-..."), private use ("-x-...") and
// grandfathered tags are not accepted. At most 64 characters.
// Returns the tag in canonical case (language lower, Script title, REGION
// upper, variants lower): "KO-kr" -> "ko-KR", "zh-hant-tw" -> "zh-Hant-TW".
// An empty value returns "" (unset).
absl::StatusOr<std::string> ValidateLanguageCode(absl::string_view value, absl::string_view field);

// IANA time zone name ("Asia/Seoul"), loaded with absl::LoadTimeZone from the
// system tzdata. Empty is allowed (tenant default). Names must be
// '/'-separated components of [A-Za-z0-9_+-] each starting with a letter,
// at most 64 characters, and not "localtime" (so no file paths or the host's
// zone get through).
absl::Status ValidateTimeZone(absl::string_view value, absl::string_view field);

// Customer.tier: at most 64 characters, valid UTF-8, no control characters.
// Case is preserved (matched exactly). Empty is allowed.
absl::Status ValidateTier(absl::string_view value, absl::string_view field);

// Caller-chosen customer ID (CreateCustomerRequest.customer_id): 1 to 63
// characters of [a-z0-9-], starting with a letter or digit. Empty is an
// error here; callers that accept "generate one" test for empty first.
// (cxp::validation::ValidateResourceId under its context_service name.)
absl::Status ValidateCustomerId(absl::string_view id, absl::string_view field);

}  // namespace cxp::context::validation

#endif  // CXP_CONTEXT_SERVICE_VALIDATION_PROFILE_VALIDATION_H_
