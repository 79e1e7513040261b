// Builders for the error statuses CXP services return to callers, so every
// message has the same shape:
//
//     "<subject>: <problem>"
//
// where <subject> names what is wrong — a request field path
// ("customer.display_name") or a resource name ("tenants/t1/customers/c9") —
// and <problem> is a lower-case phrase without a trailing period
// ("must not be empty"). An empty <subject> yields just "<problem>".
//
// Pure functions, thread-safe. Messages reach API clients: never put secrets
// or other tenants' data in them.
#ifndef CXP_COMMON_STATUS_ERRORS_H_
#define CXP_COMMON_STATUS_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"

namespace cxp {

// INVALID_ARGUMENT "customer.display_name: must not be empty".
absl::Status InvalidArgument(std::string_view field, std::string_view problem);

// FAILED_PRECONDITION "tenants/t1/conversations/c2: conversation is closed".
absl::Status FailedPrecondition(std::string_view subject, std::string_view problem);

// NOT_FOUND "tenants/t1/customers/c9: not found".
absl::Status NotFound(std::string_view resource_name);

// ALREADY_EXISTS "tenants/t1/customers/c9: already exists".
absl::Status AlreadyExists(std::string_view resource_name);

// ABORTED for optimistic-concurrency conflicts:
// "tenants/t1/customers/c9: etag \"3\" is stale (current \"5\"); re-read and retry".
absl::Status StaleEtag(std::string_view resource_name, std::string_view supplied_etag,
                       std::string_view current_etag);

}  // namespace cxp

#endif  // CXP_COMMON_STATUS_ERRORS_H_
