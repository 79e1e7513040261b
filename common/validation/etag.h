// Etags (AIP-154) of configuration resources that count their changes:
// "1" when created, "2" after the first update, and so on (routing_service's
// queues and agents, notify_service's templates and trigger rules). Clients
// treat them as opaque; counting keeps them short and makes a stale one
// easy to tell apart in logs.
//
// Pure functions, thread-safe. Errors: ABORTED, naming the resource and both
// etags, for a stale etag.

#ifndef CXP_COMMON_VALIDATION_ETAG_H_
#define CXP_COMMON_VALIDATION_ETAG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cxp::validation {

// The etag of a resource just created.
inline constexpr char kFirstEtag[] = "1";

// OK when `given` is empty (an unconditional change) or equals `current`;
// otherwise ABORTED "<field>: \"3\" is stale; <name> is at etag \"5\"; read
// it and retry".
absl::Status CheckEtag(absl::string_view given, absl::string_view current, absl::string_view name,
                       absl::string_view field);

// The etag after one more change: "1" -> "2". An etag that is not a count
// (never issued by these helpers) starts over at "1".
std::string NextEtag(absl::string_view etag);

}  // namespace cxp::validation

#endif  // CXP_COMMON_VALIDATION_ETAG_H_
