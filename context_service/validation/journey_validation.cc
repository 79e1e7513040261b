#include "context_service/validation/journey_validation.h"

#include "absl/strings/str_cat.h"
#include "context_service/validation/profile_validation.h"
#include "context_service/validation/text_rules.h"
#include "cxp/type/v1/channel.pb.h"

namespace cxp::context::validation {

using cxp::context::v1::Journey;

absl::Status ValidateJourneyType(absl::string_view type, absl::string_view field) {
  if (type.empty()) return InvalidField(field, "must be set");
  if (type.size() > 64) {
    return InvalidField(field,
                        absl::StrCat("must be at most 64 characters (got ", type.size(), ")"));
  }
  if (!IsLowerAlnumOr(type, "_.-")) {
    return InvalidField(field, "must contain only a-z, 0-9, '_', '.' and '-'");
  }
  return absl::OkStatus();
}

absl::Status ValidateJourneyStep(absl::string_view step, absl::string_view field) {
  return ValidateText(step, field, 0, kMaxJourneyStepChars);
}

absl::Status ValidateJourneyState(int state, absl::string_view field, bool allow_unspecified,
                                  bool allow_terminal) {
  if (!Journey::State_IsValid(state)) {
    return InvalidField(field, absl::StrCat("unknown Journey.State value ", state));
  }
  const auto value = static_cast<Journey::State>(state);
  if (value == Journey::STATE_UNSPECIFIED && !allow_unspecified) {
    return InvalidField(field, "must be set");
  }
  if (IsTerminal(value) && !allow_terminal) {
    return InvalidField(field, "a journey cannot start RESOLVED or ABANDONED");
  }
  return absl::OkStatus();
}

absl::Status ValidateOptionalChannel(int channel, absl::string_view field) {
  if (!cxp::type::v1::Channel_IsValid(channel)) {
    return InvalidField(field, absl::StrCat("unknown Channel value ", channel));
  }
  return absl::OkStatus();
}

bool IsTerminal(Journey::State state) {
  return state == Journey::STATE_RESOLVED || state == Journey::STATE_ABANDONED;
}

absl::Status ValidateStartJourney(const cxp::context::v1::StartJourneyRequest& request) {
  if (!request.has_journey()) return InvalidField("journey", "must be set");
  const Journey& journey = request.journey();
  if (auto status = ValidateJourneyType(journey.type(), "journey.type"); !status.ok()) {
    return status;
  }
  if (auto status = ValidateText(journey.display_name(), "journey.display_name", 0,
                                 kMaxJourneyDisplayNameChars);
      !status.ok()) {
    return status;
  }
  if (auto status =
          ValidateAttributes(journey.attributes(), kMaxJourneyAttributes, "journey.attributes");
      !status.ok()) {
    return status;
  }
  if (!request.journey_id().empty()) {
    if (auto status = ValidateCustomerId(request.journey_id(), "journey_id"); !status.ok()) {
      return status;
    }
  }
  if (auto status = ValidateJourneyStep(request.step(), "step"); !status.ok()) return status;
  if (auto status = ValidateJourneyState(request.state(), "state", /*allow_unspecified=*/true,
                                         /*allow_terminal=*/false);
      !status.ok()) {
    return status;
  }
  return ValidateOptionalChannel(request.channel(), "channel");
}

absl::Status ValidateAdvanceJourney(const cxp::context::v1::AdvanceJourneyRequest& request) {
  if (request.step().empty() && request.state() == Journey::STATE_UNSPECIFIED) {
    return InvalidField("step", "set step or state (or both)");
  }
  if (auto status = ValidateJourneyStep(request.step(), "step"); !status.ok()) return status;
  if (auto status = ValidateJourneyState(request.state(), "state", /*allow_unspecified=*/true,
                                         /*allow_terminal=*/true);
      !status.ok()) {
    return status;
  }
  if (auto status = ValidateAttributes(request.attributes(), kMaxJourneyAttributes, "attributes");
      !status.ok()) {
    return status;
  }
  if (auto status = ValidateOptionalChannel(request.channel(), "channel"); !status.ok()) {
    return status;
  }
  return ValidateText(request.note(), "note", 0, kMaxJourneyNoteChars,
                      ControlChars::kAllowNewlines);
}

}  // namespace cxp::context::validation
