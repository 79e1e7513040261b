#include "context_service/validation/consent_validation.h"

#include <bitset>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/schedule/weekly_schedule.h"
#include "common/status/status_macros.h"
#include "context_service/validation/profile_validation.h"
#include "context_service/validation/text_rules.h"

namespace cxp::context::validation {

using cxp::context::v1::ConsentEvidence;
using cxp::context::v1::ContactPreferences;
using cxp::type::v1::WeeklyTimeWindow;

absl::Status ValidateConsentChannel(cxp::type::v1::Channel channel, absl::string_view field) {
  if (!cxp::type::v1::Channel_IsValid(channel)) {
    return InvalidField(field, absl::StrCat("unknown Channel value ", static_cast<int>(channel)));
  }
  return absl::OkStatus();
}

absl::Status ValidateConsentPurpose(cxp::type::v1::Purpose purpose, absl::string_view field) {
  if (!cxp::type::v1::Purpose_IsValid(purpose)) {
    return InvalidField(field, absl::StrCat("unknown Purpose value ", static_cast<int>(purpose)));
  }
  return absl::OkStatus();
}

absl::Status ValidateConsentState(cxp::context::v1::ConsentState state, absl::string_view field) {
  if (!cxp::context::v1::ConsentState_IsValid(state)) {
    return InvalidField(field,
                        absl::StrCat("unknown ConsentState value ", static_cast<int>(state)));
  }
  return absl::OkStatus();
}

absl::Status ValidateConsentEvidence(const ConsentEvidence& evidence, absl::Time now,
                                     absl::string_view field) {
  RETURN_IF_ERROR(
      ValidateText(evidence.source(), FieldPath(field, "source"), 1, kMaxEvidenceSourceChars));
  if (evidence.has_capture_time()) {
    const std::string capture_field = FieldPath(field, "capture_time");
    RETURN_IF_ERROR(ValidateTimestamp(evidence.capture_time(), capture_field));
    if (ToAbslTime(evidence.capture_time()) > now) {
      return InvalidField(capture_field, "must not be in the future");
    }
  }
  switch (evidence.wording_case()) {
    case ConsentEvidence::kText:
      return ValidateText(evidence.text(), FieldPath(field, "text"), 0, kMaxEvidenceTextChars,
                          ControlChars::kAllowNewlines);
    case ConsentEvidence::kTextVersion:
      return ValidateText(evidence.text_version(), FieldPath(field, "text_version"), 0,
                          kMaxEvidenceTextVersionChars);
    case ConsentEvidence::WORDING_NOT_SET:
      break;
  }
  return absl::OkStatus();
}

absl::Status ValidateUpdateConsent(const cxp::context::v1::UpdateConsentRequest& request,
                                   absl::Time now, absl::string_view field) {
  RETURN_IF_ERROR(ValidateConsentChannel(request.channel(), FieldPath(field, "channel")));
  RETURN_IF_ERROR(ValidateConsentPurpose(request.purpose(), FieldPath(field, "purpose")));
  RETURN_IF_ERROR(ValidateConsentState(request.state(), FieldPath(field, "state")));
  return ValidateConsentEvidence(request.evidence(), now, FieldPath(field, "evidence"));
}

absl::Status ValidateChannelOrder(const google::protobuf::RepeatedField<int>& channels,
                                  absl::string_view field) {
  if (channels.size() > kMaxChannelOrder) {
    return InvalidField(field, absl::StrCat("must have at most ", kMaxChannelOrder,
                                            " entries (got ", channels.size(), ")"));
  }
  std::bitset<64> seen;
  for (int i = 0; i < channels.size(); ++i) {
    const int channel = channels.Get(i);
    const std::string entry = IndexedPath(field, i);
    if (channel == cxp::type::v1::CHANNEL_UNSPECIFIED) {
      return InvalidField(entry, "must be a channel, not CHANNEL_UNSPECIFIED");
    }
    if (!cxp::type::v1::Channel_IsValid(channel)) {
      return InvalidField(entry, absl::StrCat("unknown Channel value ", channel));
    }
    if (seen.test(static_cast<size_t>(channel))) {
      return InvalidField(entry,
                          absl::StrCat(cxp::type::v1::Channel_Name(channel), " is listed twice"));
    }
    seen.set(static_cast<size_t>(channel));
  }
  return absl::OkStatus();
}

absl::Status ValidateTimeOfDay(const cxp::type::v1::TimeOfDay& time, absl::string_view field) {
  return schedule::ValidateTimeOfDay(time, field);
}

absl::Status ValidateWeeklyTimeWindow(const WeeklyTimeWindow& window, absl::string_view field) {
  return schedule::ValidateWeeklyTimeWindow(window, field);
}

absl::Status ValidateQuietHours(const google::protobuf::RepeatedPtrField<WeeklyTimeWindow>& windows,
                                absl::string_view field) {
  if (windows.size() > kMaxQuietHours) {
    return InvalidField(field, absl::StrCat("must have at most ", kMaxQuietHours, " entries (got ",
                                            windows.size(), ")"));
  }
  for (int i = 0; i < windows.size(); ++i) {
    RETURN_IF_ERROR(ValidateWeeklyTimeWindow(windows.Get(i), IndexedPath(field, i)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ContactPreferences> NormalizeContactPreferences(
    const ContactPreferences& preferences, absl::string_view field) {
  RETURN_IF_ERROR(
      ValidateChannelOrder(preferences.channel_order(), FieldPath(field, "channel_order")));
  RETURN_IF_ERROR(ValidateQuietHours(preferences.quiet_hours(), FieldPath(field, "quiet_hours")));
  ASSIGN_OR_RETURN(std::string language, ValidateLanguageCode(preferences.language_code(),
                                                              FieldPath(field, "language_code")));
  ContactPreferences out = preferences;
  out.set_language_code(std::move(language));
  return out;
}

}  // namespace cxp::context::validation
