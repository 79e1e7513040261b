// Building blocks of routing_service's input validators (agent, queue, task
// and request checks): integer and Duration ranges, channels, skill IDs,
// BCP-47 language tags, idempotency keys and "no repeats" checks, plus the
// shared text rules of common/validation/text_rules.h brought into this
// namespace.
//
// Each check takes the full field path of the value it checks (e.g.
// "agent.skills[2].proficiency") and returns OK or INVALID_ARGUMENT
// "<field>: <problem>", e.g. "agent.skills[2].proficiency: must be 1 to 5
// (got 7)" (the wording of context_service's validators and
// common/schedule). Messages echo numbers, durations and enum names, never
// the text of a checked string.
//
// Pure functions, thread-safe.

#ifndef CXP_ROUTING_SERVICE_VALIDATION_FIELD_RULES_H_
#define CXP_ROUTING_SERVICE_VALIDATION_FIELD_RULES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/validation/resource_id.h"
#include "common/validation/text_rules.h"
#include "google/protobuf/duration.pb.h"

namespace cxp::routing::validation {

using cxp::validation::ControlChars;
using cxp::validation::FieldPath;
using cxp::validation::IndexedPath;
using cxp::validation::InvalidField;
using cxp::validation::IsLowerAlnumOr;
using cxp::validation::ValidateText;

inline constexpr size_t kMaxDisplayNameChars = 256;  // Agent and Queue
inline constexpr size_t kMaxSkillIdChars = 64;
inline constexpr int kMinProficiency = 1;  // AgentSkill and SkillRequirement
inline constexpr int kMaxProficiency = 5;
inline constexpr size_t kMaxLanguageTagChars = 35;

// lo <= value <= hi. Problem: "must be <lo> to <hi> (got <value>)".
absl::Status ValidateRange(int64_t value, absl::string_view field, int64_t lo, int64_t hi);

// At most `max` entries. Problem: "must have at most <max> entries (got <size>)".
absl::Status ValidateMaxEntries(int size, int max, absl::string_view field);

// "<field>: repeats <first_field>" — the error for a repeated entry, naming
// both places (e.g. "agent.queues[3]: repeats agent.queues[1]").
absl::Status RepeatedEntry(absl::string_view field, absl::string_view first_field);

// A google.protobuf.Duration as its contract defines it: seconds within
// +-315,576,000,000 (10,000 years), nanos within +-999,999,999, and seconds
// and nanos not of opposite signs. Problem: "must be a valid duration
// (|seconds| <= 315576000000, |nanos| <= 999999999, same sign)".
absl::Status ValidateDuration(const google::protobuf::Duration& duration, absl::string_view field);

// `duration` as absl::Duration; only meaningful after ValidateDuration.
absl::Duration ToAbslDuration(const google::protobuf::Duration& duration);

// `duration` as google.protobuf.Duration; finite, in-range durations only.
google::protobuf::Duration ToProtoDuration(absl::Duration duration);

// Whether the lower bound of ValidateDurationRange is allowed itself.
enum class LowerBound { kInclusive, kExclusive };

// ValidateDuration, then min <= d <= max (min < d with kExclusive; an
// infinite `max` means no upper bound). Problems, with durations in
// absl::FormatDuration form ("1s", "2m", "1h"; zero is "0"):
//   "must be 1s to 1h (got 2h)"                      (inclusive, bounded)
//   "must be greater than 0 and at most 1h (got 0)"  (exclusive, bounded)
//   "must be at least 1s (got 500ms)"                (inclusive, unbounded)
//   "must be greater than 0 (got -1s)"               (exclusive, unbounded)
absl::Status ValidateDurationRange(const google::protobuf::Duration& duration,
                                   absl::string_view field, absl::Duration min, absl::Duration max,
                                   LowerBound lower = LowerBound::kInclusive);

// A required cxp.type.v1.Channel (the int the accessor returns, so unknown
// wire values are caught): "must be set" for CHANNEL_UNSPECIFIED,
// "unknown Channel value 42" for values the enum does not define.
absl::Status ValidateChannel(int channel, absl::string_view field);

// AgentSkill.skill / SkillRequirement.skill: 1 to 64 characters of
// [a-z0-9_.-]. Problem: "must be 1 to 64 characters of [a-z0-9_.-]".
absl::Status ValidateSkillId(absl::string_view skill, absl::string_view field);

// A BCP-47 language tag, checked for shape: a primary language subtag of 2
// or 3 letters, then subtags of 1 to 8 letters or digits separated by '-'
// (a single-character subtag, such as the "u" of "-u-ca-buddhist", must be
// followed by another), at most 35 characters in all. Case-insensitive on
// input; returns the tag in canonical case (RFC 5646 section 2.1.1):
// language and extlang subtags, variants and extensions lower-case, a
// script (4 letters right after the language) title-case, a region (2
// letters or 3 digits right after the language or script) upper-case:
// "KO-kr" -> "ko-KR", "zh-hant-tw" -> "zh-Hant-TW", "EN-us-x-Foo" ->
// "en-US-x-foo". Empty is an error here (callers test optional tags for
// empty first). Problem: "must be a BCP-47 language tag such as \"ko-KR\"
// or \"en\"".
absl::StatusOr<std::string> NormalizeLanguageTag(absl::string_view tag, absl::string_view field);

// An idempotency key (AIP-155): empty or a UUID (common/validation).
using cxp::validation::ValidateRequestId;

}  // namespace cxp::routing::validation

#endif  // CXP_ROUTING_SERVICE_VALIDATION_FIELD_RULES_H_
