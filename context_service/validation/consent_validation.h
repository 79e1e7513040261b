// Checks for consent and contact-preference input (UpdateConsent,
// UpdateContactPreferences). The comments in
// protos/cxp/context/v1/consent.proto, context_service.proto
// (UpdateConsentRequest), protos/cxp/type/v1/channel.proto, purpose.proto and
// schedule.proto are the contract.
//
// UpdateConsent rules (paths relative to the caller's `field`):
//   channel      a known Channel value; CHANNEL_UNSPECIFIED means every
//                channel and is allowed.
//   purpose      a known Purpose value; PURPOSE_UNSPECIFIED (every purpose)
//                allowed.
//   state        a known ConsentState value; CONSENT_STATE_UNSPECIFIED
//                (clear the entry) allowed.
//   evidence.source        required, 1 to 64 characters (consent.proto
//                          says 64), no control characters. A missing
//                          evidence message fails here too.
//   evidence.capture_time  optional; a valid Timestamp not after `now`
//                          (the contract says "must not be in the future";
//                          no clock-skew allowance).
//   evidence.text          at most 4096 characters; TAB/LF/CR allowed.
//   evidence.text_version  at most 128 characters, no control characters.
// UpdateConsentRequest.customer (a resource name) is not checked here.
//
// ContactPreferences rules:
//   channel_order  at most 8 entries, each a known Channel other than
//                  UNSPECIFIED, no repeats.
//   quiet_hours    at most 14 WeeklyTimeWindows, each with: days non-empty,
//                  each a known DayOfWeek other than UNSPECIFIED, no
//                  repeats; start_time and end_time present, hours 0-23,
//                  minutes 0-59. end <= start is allowed: the window runs
//                  past midnight, and equal start and end mean the whole 24
//                  hours (schedule.proto).
//   language_code  ValidateLanguageCode (BCP-47, canonical case on output).
// name, etag and update_time are not checked here.
//
// Errors: INVALID_ARGUMENT "<field path>: <problem>", e.g.
// "contact_preferences.quiet_hours[1].start_time.hours: must be 0 to 23 (got 24)".
// Pure functions, thread-safe.

#ifndef CXP_CONTEXT_SERVICE_VALIDATION_CONSENT_VALIDATION_H_
#define CXP_CONTEXT_SERVICE_VALIDATION_CONSENT_VALIDATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cxp/context/v1/consent.pb.h"
#include "cxp/context/v1/context_service.pb.h"
#include "cxp/type/v1/channel.pb.h"
#include "cxp/type/v1/purpose.pb.h"
#include "cxp/type/v1/schedule.pb.h"
#include "google/protobuf/repeated_field.h"

namespace cxp::context::validation {

inline constexpr size_t kMaxEvidenceSourceChars = 64;
inline constexpr size_t kMaxEvidenceTextChars = 4096;
inline constexpr size_t kMaxEvidenceTextVersionChars = 128;
inline constexpr int kMaxChannelOrder = 8;
inline constexpr int kMaxQuietHours = 14;

// A known Channel value; CHANNEL_UNSPECIFIED ("every channel") allowed.
absl::Status ValidateConsentChannel(cxp::type::v1::Channel channel, absl::string_view field);

// A known Purpose value; PURPOSE_UNSPECIFIED ("every purpose") allowed.
absl::Status ValidateConsentPurpose(cxp::type::v1::Purpose purpose, absl::string_view field);

// A known ConsentState value; CONSENT_STATE_UNSPECIFIED ("clear") allowed.
absl::Status ValidateConsentState(cxp::context::v1::ConsentState state, absl::string_view field);

// `field` is the evidence message's path ("evidence").
absl::Status ValidateConsentEvidence(const cxp::context::v1::ConsentEvidence& evidence,
                                     absl::Time now, absl::string_view field);

// channel, purpose, state and evidence of an UpdateConsentRequest. `field`
// is the request's path; pass "" to get bare request paths
// ("evidence.source: must not be empty").
absl::Status ValidateUpdateConsent(const cxp::context::v1::UpdateConsentRequest& request,
                                   absl::Time now, absl::string_view field);

// ContactPreferences.channel_order (the repeated enum's accessor type).
absl::Status ValidateChannelOrder(const google::protobuf::RepeatedField<int>& channels,
                                  absl::string_view field);

// hours 0-23, minutes 0-59.
absl::Status ValidateTimeOfDay(const cxp::type::v1::TimeOfDay& time, absl::string_view field);

// One quiet-hours window (rules above).
absl::Status ValidateWeeklyTimeWindow(const cxp::type::v1::WeeklyTimeWindow& window,
                                      absl::string_view field);

// ContactPreferences.quiet_hours: at most 14 valid windows.
absl::Status ValidateQuietHours(
    const google::protobuf::RepeatedPtrField<cxp::type::v1::WeeklyTimeWindow>& windows,
    absl::string_view field);

// Validates channel_order, quiet_hours and language_code of `preferences`
// (`field` is its path, e.g. "contact_preferences") and returns a copy with
// language_code in canonical case; every other field is copied unchanged.
// Callers applying an update_mask validate only the masked fields, with the
// functions above.
absl::StatusOr<cxp::context::v1::ContactPreferences> NormalizeContactPreferences(
    const cxp::context::v1::ContactPreferences& preferences, absl::string_view field);

}  // namespace cxp::context::validation

#endif  // CXP_CONTEXT_SERVICE_VALIDATION_CONSENT_VALIDATION_H_
