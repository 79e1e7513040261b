// The rule for the final segment of a resource name that callers may choose
// (AIP-122): CreateCustomerRequest.customer_id and journey IDs in
// context_service, CreateAgentRequest.agent_id and queue_id in
// routing_service ("1 to 63 characters of [a-z0-9-], starting with a letter
// or digit").
//
// Returns OK or INVALID_ARGUMENT "<field>: <problem>" (text_rules.h); the ID
// itself is never echoed. Pure function, thread-safe.
//
// Also the two rules every service's requests share: resource names of one
// collection ("queues/{queue}", "templates/{template}") and AIP-155 request
// IDs.

#ifndef CXP_COMMON_VALIDATION_RESOURCE_ID_H_
#define CXP_COMMON_VALIDATION_RESOURCE_ID_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cxp::validation {

inline constexpr size_t kMaxResourceIdChars = 63;

// 1 to 63 characters of [a-z0-9-], the first not '-'. Empty is an error
// here; callers that accept "generate one" test for empty first. Problem:
// "must be 1 to 63 characters of [a-z0-9-], starting with a letter or digit".
absl::Status ValidateResourceId(absl::string_view id, absl::string_view field);

// A new random ID that passes ValidateResourceId: 16 characters of
// [a-z0-9] (about 82 bits), for resources created without one.
std::string NewResourceId();

// A new ID that passes ValidateResourceId and sorts by `now`: 9 characters
// of the milliseconds since the Unix epoch in base 36 (digits before
// letters, fixed width: byte order is time order until the year 5000), then
// 8 random ones (about 41 bits, apart within a millisecond). Rows keyed by
// it land next to the newest ones instead of at random places in the
// store's sorted memtable and files. `now` before the epoch counts as the
// epoch.
std::string NewTimeOrderedResourceId(absl::Time now);

// The ID of a validated resource name, its last segment: "queues/x" -> "x"
// (a name without '/' is returned whole). Stores key rows by it.
std::string_view ResourceIdOf(std::string_view name);

// "<collection>/{id}" -> id. `prefix` is "<collection>/", `variable` the
// name's variable as the API documents it ("{template}"). One message
// covers an empty name, another collection and a bad ID, and never echoes
// the name (IDs may be personal data): "<field>: must be
// \"templates/{template}\" where {template} is 1 to 63 characters of
// [a-z0-9-], starting with a letter or digit".
absl::StatusOr<std::string> ParseResourceName(absl::string_view name, absl::string_view field,
                                              absl::string_view prefix, absl::string_view variable);

// An idempotency key (AIP-155) as the APIs define it: empty (none) or a
// UUID, 8-4-4-4-12 hexadecimal digits in either case. Problem: "must be a
// UUID such as \"123e4567-e89b-12d3-a456-426614174000\"".
absl::Status ValidateRequestId(absl::string_view request_id, absl::string_view field);

}  // namespace cxp::validation

#endif  // CXP_COMMON_VALIDATION_RESOURCE_ID_H_
