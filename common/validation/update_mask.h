// update_mask handling for the Update RPCs of configuration resources
// (routing_service's UpdateAgent and UpdateQueue, notify_service's
// UpdateTemplate and UpdateTriggerRule), AIP-134 as the CXP APIs state it: a
// mask names top-level fields of the resource; messages, repeated fields and
// maps are replaced whole; an omitted (empty) mask means "every field that
// is set".
//
// Errors: INVALID_ARGUMENT "<field>.paths[i]: <problem>" for the first bad
// path, e.g.
//   update_mask.paths[1]: unknown field "skils" (updatable: display_name, ...)
//   update_mask.paths[0]: "presence" cannot be updated (updatable: ...)
//   update_mask.paths[2]: "overflow.after" names part of a field; messages
//       and repeated fields are replaced whole (name "overflow")
// Paths are echoed quoted, escaped and cut (QuoteForMessage).
//
// Pure functions, thread-safe.

#ifndef CXP_COMMON_VALIDATION_UPDATE_MASK_H_
#define CXP_COMMON_VALIDATION_UPDATE_MASK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"

namespace cxp::validation {

// The paths to apply. `updatable` lists top-level field names of `input`'s
// message type (every name must be one; callers pass constants). A
// non-empty mask must name only updatable fields; repeats are dropped, the
// first occurrence's order kept. An empty mask yields the updatable fields
// set in `input` (a repeated field with entries, a message field present, a
// scalar other than its default), in `updatable` order; that may be empty
// (nothing to change), which is not an error here. `field` is the mask's
// path, normally "update_mask".
absl::StatusOr<std::vector<std::string>> UpdatePaths(const google::protobuf::FieldMask& mask,
                                                     const google::protobuf::Message& input,
                                                     absl::Span<const absl::string_view> updatable,
                                                     absl::string_view field = "update_mask");

// UpdatePaths for APIs that refuse an update selecting nothing (an empty
// mask on a resource with no updatable field set is almost always a client
// bug, e.g. meaning to clear a flag without naming it): then
// INVALID_ARGUMENT "<resource_field>: sets no field to update (updatable:
// a, b); name the fields in update_mask to clear them".
absl::StatusOr<std::vector<std::string>> NonEmptyUpdatePaths(
    const google::protobuf::FieldMask& mask, const google::protobuf::Message& input,
    absl::Span<const absl::string_view> updatable, absl::string_view resource_field,
    absl::string_view field = "update_mask");

// Replaces the top-level fields named by `paths` (UpdatePaths' output) in
// `target` with those of `source`, which must be of the same type; a field
// unset in `source` ends up unset in `target`. Other fields of `target` are
// untouched.
void ApplyPaths(const google::protobuf::Message& source, absl::Span<const std::string> paths,
                google::protobuf::Message* target);

}  // namespace cxp::validation

#endif  // CXP_COMMON_VALIDATION_UPDATE_MASK_H_
