// Checks for cxp.context.v1.Interaction input (AppendInteraction); the
// comments in protos/cxp/context/v1/interaction.proto are the contract.
//
// Rules (paths relative to the caller's `field`, e.g. "interaction"):
//   channel      set and a known cxp.type.v1.Channel value.
//   direction    set and a known Interaction.Direction value.
//   type         1 to 64 characters of [a-z0-9_.-].
//   occur_time   optional; if present a valid Timestamp not more than
//                kMaxOccurTimeAhead (5 minutes) after `now`.
//   agent, queue, case_id
//                at most 256 characters each, valid UTF-8, no control
//                characters.
//   summary      at most 4096 characters, valid UTF-8; TAB/LF/CR allowed
//                (call notes are multi-line), other control characters not.
//   attributes   ValidateAttributes with at most kMaxInteractionAttributes.
// Not checked here: identity (normalise it with IdentityNormalizer, or use
// NormalizeInteraction), journey (its format and existence need the customer;
// the domain core checks it), and the output-only name / create_time (ignored
// on input).
//
// Errors: INVALID_ARGUMENT "<field>.<member>: <problem>".
// Pure functions, thread-safe.

#ifndef CXP_CONTEXT_SERVICE_VALIDATION_INTERACTION_VALIDATION_H_
#define CXP_CONTEXT_SERVICE_VALIDATION_INTERACTION_VALIDATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "context_service/validation/identity_normalizer.h"
#include "cxp/context/v1/interaction.pb.h"

namespace cxp::context::validation {

inline constexpr size_t kMaxInteractionTypeChars = 64;
inline constexpr size_t kMaxInteractionRefChars = 256;  // agent, queue, case_id
inline constexpr size_t kMaxInteractionSummaryChars = 4096;
inline constexpr int kMaxInteractionAttributes = 50;
inline constexpr absl::Duration kMaxOccurTimeAhead = absl::Minutes(5);

// Validates `interaction` as described above. `now` is the server's clock.
absl::Status ValidateInteraction(const cxp::context::v1::Interaction& interaction, absl::Time now,
                                 absl::string_view field);

// ValidateInteraction, then returns the copy to store: identity (if present)
// normalised by `normalizer` (errors name "<field>.identity.<member>"),
// occur_time set to `now` when absent, and the output-only name and
// create_time cleared (the caller assigns them).
absl::StatusOr<cxp::context::v1::Interaction> NormalizeInteraction(
    const cxp::context::v1::Interaction& interaction, const IdentityNormalizer& normalizer,
    absl::Time now, absl::string_view field);

}  // namespace cxp::context::validation

#endif  // CXP_CONTEXT_SERVICE_VALIDATION_INTERACTION_VALIDATION_H_
