// Checks and normalisation of SubmitTaskRequest. The comments in
// protos/cxp/routing/v1/task.proto, routing_service.proto and
// protos/cxp/type/v1/customer_ref.proto, identity.proto are the contract.
//
// Rules (paths relative to "task"):
//   channel          required, a known Channel value.
//   customer         optional; if present exactly one of
//                      customer  `customers/{customer}` (context_service's
//                                customer-ID rule)
//                      identity  kind set and known; value 1 to 512
//                                characters, valid UTF-8 (no control
//                                characters, except that PHONE and EMAIL
//                                values are checked after trimming ASCII
//                                whitespace, as context_service does);
//                                namespace empty for PHONE and EMAIL, else
//                                required, 1 to 64 characters of
//                                [a-z0-9_.-]; region_code (PHONE only) empty
//                                or 2 letters.
//                    The identity is not normalised here: context_service
//                    does that when routing resolves it.
//   queue / intent   at least one required ("task.queue: set queue or
//                    intent"); queue a `queues/{queue}` name; intent 1 to 128
//                    characters, no control characters.
//   language_code    optional BCP-47 tag, returned in canonical case
//                    (NormalizeLanguageTag).
//   priority         0 (the default, stored as 5) or 1 to 10.
//   required_skills  ValidateSkillRequirements (at most 20).
//   attributes       at most 50, customer-attribute key and value rules
//                    (cxp::validation::ValidateAttributes).
// request_id (of the request) is empty or a UUID. Output-only fields are
// ignored and cleared in the result.
//
// Errors: INVALID_ARGUMENT "<field path>: <problem>"; the first error in
// field-number order is reported. Identity values are never echoed.
// Pure functions, thread-safe.

#ifndef CXP_ROUTING_SERVICE_VALIDATION_TASK_VALIDATION_H_
#define CXP_ROUTING_SERVICE_VALIDATION_TASK_VALIDATION_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cxp/routing/v1/routing_service.pb.h"
#include "cxp/routing/v1/task.pb.h"
#include "cxp/type/v1/customer_ref.pb.h"

namespace cxp::routing::validation {

inline constexpr int kMaxTaskAttributes = 50;
inline constexpr size_t kMaxIdentityValueChars = 512;
inline constexpr size_t kMaxIdentityNamespaceChars = 64;

// A CustomerRef (rules above); `field` is its path, e.g. "task.customer".
absl::Status ValidateCustomerRef(const cxp::type::v1::CustomerRef& ref, absl::string_view field);

// A checked SubmitTaskRequest.
struct ValidatedSubmitTask {
  // The input fields of the task, checked and normalised (language_code in
  // canonical case, priority defaulted to 5); every output-only field
  // cleared.
  cxp::routing::v1::Task task;
  // ID of task.queue; empty when the task names only an intent.
  std::string queue_id;
};

// SubmitTaskRequest: task required ("task: must be set"), checked as above;
// request_id empty or a UUID.
absl::StatusOr<ValidatedSubmitTask> ValidateSubmitTask(
    const cxp::routing::v1::SubmitTaskRequest& request);

}  // namespace cxp::routing::validation

#endif  // CXP_ROUTING_SERVICE_VALIDATION_TASK_VALIDATION_H_
