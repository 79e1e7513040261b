// Building blocks shared by every service's input validators
// (context_service/validation, routing_service/validation): field-path
// joining, UTF-8 checks with lengths counted in Unicode code points, and
// protobuf Timestamp range checks.
//
// Every check returns OK or INVALID_ARGUMENT whose message is
// "<field>: <problem>" (cxp::InvalidArgument). Messages never echo the
// checked value except through QuoteForMessage, which escapes and truncates it;
// callers must not use it on personal data (phone numbers, emails, names).
//
// Pure functions, thread-safe, no allocation beyond the returned values.

#ifndef CXP_COMMON_VALIDATION_TEXT_RULES_H_
#define CXP_COMMON_VALIDATION_TEXT_RULES_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace cxp::validation {

// "prefix.name", or just "name" when prefix is empty.
std::string FieldPath(absl::string_view prefix, absl::string_view name);

// "prefix[index]".
std::string IndexedPath(absl::string_view prefix, int index);

// INVALID_ARGUMENT "<field>: <problem>" (absl::string_view front end of
// cxp::InvalidArgument).
absl::Status InvalidField(absl::string_view field, absl::string_view problem);

// `value` C-escaped, cut to at most `max_bytes` input bytes (with "..." when
// cut) and wrapped in double quotes, for echoing identifiers (keys, tags, time
// zone names) in error messages.
std::string QuoteForMessage(absl::string_view value, size_t max_bytes = 64);

// Number of Unicode code points in `value`, or nullopt if it is not valid
// UTF-8 (overlong forms, surrogates and code points above U+10FFFF are
// invalid).
std::optional<size_t> Utf8CodePoints(absl::string_view value);

// Which control characters (C0 U+0000-U+001F, DEL U+007F, C1 U+0080-U+009F)
// a text may contain.
enum class ControlChars {
  kNone,           // single-line values: names, identifiers, tags
  kAllowNewlines,  // free text (summaries, consent wording): TAB, LF, CR only
};

// Checks that `value` is valid UTF-8, contains only the allowed control
// characters and has min_chars..max_chars code points. Problems:
// "must be valid UTF-8", "must not contain control characters",
// "must not be empty", "must be at most N characters (got M)".
absl::Status ValidateText(absl::string_view value, absl::string_view field, size_t min_chars,
                          size_t max_chars, ControlChars controls = ControlChars::kNone);

// True if every byte of `value` is in [a-z0-9] or in `extra`.
bool IsLowerAlnumOr(absl::string_view value, absl::string_view extra);

// Checks that `ts` lies in 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z
// with nanos in 0..999999999 (the google.protobuf.Timestamp contract).
absl::Status ValidateTimestamp(const google::protobuf::Timestamp& ts, absl::string_view field);

// `ts` as absl::Time; only meaningful after ValidateTimestamp succeeded.
absl::Time ToAbslTime(const google::protobuf::Timestamp& ts);

}  // namespace cxp::validation

#endif  // CXP_COMMON_VALIDATION_TEXT_RULES_H_
