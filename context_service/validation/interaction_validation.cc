#include "context_service/validation/interaction_validation.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "context_service/validation/profile_validation.h"
#include "context_service/validation/text_rules.h"
#include "cxp/type/v1/channel.pb.h"

namespace cxp::context::validation {

using cxp::context::v1::Interaction;

absl::Status ValidateInteraction(const Interaction& interaction, absl::Time now,
                                 absl::string_view field) {
  if (interaction.channel() == cxp::type::v1::CHANNEL_UNSPECIFIED) {
    return InvalidField(FieldPath(field, "channel"), "must be set");
  }
  if (!cxp::type::v1::Channel_IsValid(interaction.channel())) {
    return InvalidField(
        FieldPath(field, "channel"),
        absl::StrCat("unknown Channel value ", static_cast<int>(interaction.channel())));
  }
  if (interaction.direction() == Interaction::DIRECTION_UNSPECIFIED) {
    return InvalidField(FieldPath(field, "direction"), "must be set");
  }
  if (!Interaction::Direction_IsValid(interaction.direction())) {
    return InvalidField(
        FieldPath(field, "direction"),
        absl::StrCat("unknown Direction value ", static_cast<int>(interaction.direction())));
  }
  const std::string& type = interaction.type();
  if (type.empty() || type.size() > kMaxInteractionTypeChars || !IsLowerAlnumOr(type, "_.-")) {
    return InvalidField(
        FieldPath(field, "type"),
        absl::StrCat("must be 1 to ", kMaxInteractionTypeChars, " characters of [a-z0-9_.-]"));
  }
  if (interaction.has_occur_time()) {
    const std::string occur_field = FieldPath(field, "occur_time");
    RETURN_IF_ERROR(ValidateTimestamp(interaction.occur_time(), occur_field));
    if (ToAbslTime(interaction.occur_time()) > now + kMaxOccurTimeAhead) {
      return InvalidField(occur_field, "must not be more than 5 minutes in the future");
    }
  }
  RETURN_IF_ERROR(
      ValidateText(interaction.agent(), FieldPath(field, "agent"), 0, kMaxInteractionRefChars));
  RETURN_IF_ERROR(
      ValidateText(interaction.queue(), FieldPath(field, "queue"), 0, kMaxInteractionRefChars));
  RETURN_IF_ERROR(
      ValidateText(interaction.case_id(), FieldPath(field, "case_id"), 0, kMaxInteractionRefChars));
  RETURN_IF_ERROR(ValidateText(interaction.summary(), FieldPath(field, "summary"), 0,
                               kMaxInteractionSummaryChars, ControlChars::kAllowNewlines));
  RETURN_IF_ERROR(ValidateAttributes(interaction.attributes(), kMaxInteractionAttributes,
                                     FieldPath(field, "attributes")));
  return absl::OkStatus();
}

absl::StatusOr<Interaction> NormalizeInteraction(const Interaction& interaction,
                                                 const IdentityNormalizer& normalizer,
                                                 absl::Time now, absl::string_view field) {
  RETURN_IF_ERROR(ValidateInteraction(interaction, now, field));
  Interaction out = interaction;
  if (interaction.has_identity()) {
    ASSIGN_OR_RETURN(*out.mutable_identity(),
                     normalizer.Normalize(interaction.identity(), FieldPath(field, "identity")));
  }
  if (!out.has_occur_time()) {
    const int64_t seconds = absl::ToUnixSeconds(now);  // rounds toward -infinity
    out.mutable_occur_time()->set_seconds(seconds);
    out.mutable_occur_time()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(now - absl::FromUnixSeconds(seconds))));
  }
  out.clear_name();
  out.clear_create_time();
  return out;
}

}  // namespace cxp::context::validation
