// Validation of journeys (cxp.context.v1.Journey, StartJourneyRequest,
// AdvanceJourneyRequest) for context_service's domain core.
//
// Every check returns OK or INVALID_ARGUMENT "<field>: <problem>"
// (text_rules.h). Pure functions, thread-safe.

#ifndef CXP_CONTEXT_SERVICE_VALIDATION_JOURNEY_VALIDATION_H_
#define CXP_CONTEXT_SERVICE_VALIDATION_JOURNEY_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cxp/context/v1/context_service.pb.h"
#include "cxp/context/v1/journey.pb.h"

namespace cxp::context::validation {

inline constexpr int kMaxJourneyAttributes = 50;
inline constexpr size_t kMaxJourneyStepChars = 64;
inline constexpr size_t kMaxJourneyNoteChars = 1024;
inline constexpr size_t kMaxJourneyDisplayNameChars = 256;

// Journey.type: 1 to 64 characters of [a-z0-9_.-].
absl::Status ValidateJourneyType(absl::string_view type, absl::string_view field);

// A journey step: at most 64 characters, one line. Empty is allowed.
absl::Status ValidateJourneyStep(absl::string_view step, absl::string_view field);

// A Journey.State value: a known enum value; `allow_unspecified` for
// "keep"; terminal states (RESOLVED, ABANDONED) only with `allow_terminal`.
absl::Status ValidateJourneyState(int state, absl::string_view field, bool allow_unspecified,
                                  bool allow_terminal);

// An optional channel: unset or a known value.
absl::Status ValidateOptionalChannel(int channel, absl::string_view field);

// True for RESOLVED and ABANDONED.
bool IsTerminal(cxp::context::v1::Journey::State state);

// StartJourneyRequest without its parent (the core parses that):
// journey.type, journey.display_name, journey.attributes, journey_id
// (customer-id rules, empty = generate), step, state (not terminal),
// channel, request_id is checked by the caller.
absl::Status ValidateStartJourney(const cxp::context::v1::StartJourneyRequest& request);

// AdvanceJourneyRequest without its name and etag: at least one of step and
// state, each valid; attributes (the merged total is checked by the core);
// channel; note.
absl::Status ValidateAdvanceJourney(const cxp::context::v1::AdvanceJourneyRequest& request);

}  // namespace cxp::context::validation

#endif  // CXP_CONTEXT_SERVICE_VALIDATION_JOURNEY_VALIDATION_H_
