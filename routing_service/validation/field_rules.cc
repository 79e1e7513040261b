#include "routing_service/validation/field_rules.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cxp/type/v1/channel.pb.h"

namespace cxp::routing::validation {
namespace {

// google.protobuf.Duration range: +-10,000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;
constexpr int32_t kMaxDurationNanos = 999999999;

bool AllOf(absl::string_view s, bool (*pred)(unsigned char)) {
  for (const char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsAlpha(unsigned char c) { return absl::ascii_isalpha(c); }
bool IsDigit(unsigned char c) { return absl::ascii_isdigit(c); }
bool IsAlnum(unsigned char c) { return absl::ascii_isalnum(c); }

std::string TitleCase(absl::string_view s) {
  std::string out = absl::AsciiStrToLower(s);
  if (!out.empty()) out[0] = absl::ascii_toupper(static_cast<unsigned char>(out[0]));
  return out;
}

}  // namespace

absl::Status ValidateRange(int64_t value, absl::string_view field, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    return InvalidField(field, absl::StrCat("must be ", lo, " to ", hi, " (got ", value, ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateMaxEntries(int size, int max, absl::string_view field) {
  if (size > max) {
    return InvalidField(field,
                        absl::StrCat("must have at most ", max, " entries (got ", size, ")"));
  }
  return absl::OkStatus();
}

absl::Status RepeatedEntry(absl::string_view field, absl::string_view first_field) {
  return InvalidField(field, absl::StrCat("repeats ", first_field));
}

absl::Status ValidateDuration(const google::protobuf::Duration& duration, absl::string_view field) {
  const int64_t s = duration.seconds();
  const int32_t n = duration.nanos();
  const bool ok = s >= -kMaxDurationSeconds && s <= kMaxDurationSeconds &&
                  n >= -kMaxDurationNanos && n <= kMaxDurationNanos && !(s > 0 && n < 0) &&
                  !(s < 0 && n > 0);
  if (!ok) {
    return InvalidField(field,
                        absl::StrCat("must be a valid duration (|seconds| <= ", kMaxDurationSeconds,
                                     ", |nanos| <= ", kMaxDurationNanos, ", same sign)"));
  }
  return absl::OkStatus();
}

absl::Duration ToAbslDuration(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

google::protobuf::Duration ToProtoDuration(absl::Duration duration) {
  const int64_t seconds = absl::ToInt64Seconds(duration);  // truncates toward zero
  google::protobuf::Duration out;
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration - absl::Seconds(seconds))));
  return out;
}

absl::Status ValidateDurationRange(const google::protobuf::Duration& duration,
                                   absl::string_view field, absl::Duration min, absl::Duration max,
                                   LowerBound lower) {
  if (absl::Status status = ValidateDuration(duration, field); !status.ok()) return status;
  const absl::Duration d = ToAbslDuration(duration);
  const bool exclusive = lower == LowerBound::kExclusive;
  const bool bounded = max != absl::InfiniteDuration();
  if ((exclusive ? d > min : d >= min) && d <= max) return absl::OkStatus();
  std::string expected;
  if (exclusive) {
    expected = absl::StrCat("greater than ", absl::FormatDuration(min));
    if (bounded) absl::StrAppend(&expected, " and at most ", absl::FormatDuration(max));
  } else if (bounded) {
    expected = absl::StrCat(absl::FormatDuration(min), " to ", absl::FormatDuration(max));
  } else {
    expected = absl::StrCat("at least ", absl::FormatDuration(min));
  }
  return InvalidField(field,
                      absl::StrCat("must be ", expected, " (got ", absl::FormatDuration(d), ")"));
}

absl::Status ValidateChannel(int channel, absl::string_view field) {
  if (channel == cxp::type::v1::CHANNEL_UNSPECIFIED) return InvalidField(field, "must be set");
  if (!cxp::type::v1::Channel_IsValid(channel)) {
    return InvalidField(field, absl::StrCat("unknown Channel value ", channel));
  }
  return absl::OkStatus();
}

absl::Status ValidateSkillId(absl::string_view skill, absl::string_view field) {
  if (skill.empty() || skill.size() > kMaxSkillIdChars || !IsLowerAlnumOr(skill, "_.-")) {
    return InvalidField(
        field, absl::StrCat("must be 1 to ", kMaxSkillIdChars, " characters of [a-z0-9_.-]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeLanguageTag(absl::string_view tag, absl::string_view field) {
  const auto bad = [&] {
    return InvalidField(field, "must be a BCP-47 language tag such as \"ko-KR\" or \"en\"");
  };
  if (tag.empty() || tag.size() > kMaxLanguageTagChars) return bad();
  const std::vector<absl::string_view> parts = absl::StrSplit(tag, '-');
  for (const absl::string_view part : parts) {
    if (part.empty() || part.size() > 8 || !AllOf(part, IsAlnum)) return bad();
  }
  if (parts[0].size() < 2 || parts[0].size() > 3 || !AllOf(parts[0], IsAlpha)) return bad();
  if (parts.back().size() == 1) return bad();  // a singleton needs a subtag after it

  std::vector<std::string> out;
  out.reserve(parts.size());
  out.push_back(absl::AsciiStrToLower(parts[0]));
  size_t i = 1;
  // Up to three extended language subtags (3 letters), e.g. "zh-yue".
  for (int extlang = 0;
       extlang < 3 && i < parts.size() && parts[i].size() == 3 && AllOf(parts[i], IsAlpha);
       ++extlang) {
    out.push_back(absl::AsciiStrToLower(parts[i++]));
  }
  if (i < parts.size() && parts[i].size() == 4 && AllOf(parts[i], IsAlpha)) {
    out.push_back(TitleCase(parts[i++]));
  }
  if (i < parts.size() && ((parts[i].size() == 2 && AllOf(parts[i], IsAlpha)) ||
                           (parts[i].size() == 3 && AllOf(parts[i], IsDigit)))) {
    out.push_back(absl::AsciiStrToUpper(parts[i++]));
  }
  for (; i < parts.size(); ++i) out.push_back(absl::AsciiStrToLower(parts[i]));
  return absl::StrJoin(out, "-");
}

}  // namespace cxp::routing::validation
