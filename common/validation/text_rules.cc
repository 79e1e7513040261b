#include "common/validation/text_rules.h"

#include <cstdint>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status/errors.h"

namespace cxp::validation {
namespace {

// Decodes the code point starting at value[*pos] and advances *pos; false if
// the bytes there are not a valid, shortest-form UTF-8 sequence.
bool DecodeUtf8(absl::string_view value, size_t* pos, char32_t* out) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(value[i]); };
  const size_t i = *pos;
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    *out = b0;
    *pos = i + 1;
    return true;
  }
  size_t len;
  char32_t cp;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return false;  // continuation byte or 0xF8..0xFF as a lead byte
  }
  if (value.size() - i < len) return false;
  for (size_t k = 1; k < len; ++k) {
    const uint8_t b = byte(i + k);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  *out = cp;
  *pos = i + len;
  return true;
}

bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// google.protobuf.Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

}  // namespace

std::string FieldPath(absl::string_view prefix, absl::string_view name) {
  if (prefix.empty()) return std::string(name);
  if (name.empty()) return std::string(prefix);
  return absl::StrCat(prefix, ".", name);
}

std::string IndexedPath(absl::string_view prefix, int index) {
  return absl::StrCat(prefix, "[", index, "]");
}

absl::Status InvalidField(absl::string_view field, absl::string_view problem) {
  return cxp::InvalidArgument(std::string_view(field.data(), field.size()),
                              std::string_view(problem.data(), problem.size()));
}

std::string QuoteForMessage(absl::string_view value, size_t max_bytes) {
  const bool cut = value.size() > max_bytes;
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, max_bytes)), cut ? "..." : "", "\"");
}

std::optional<size_t> Utf8CodePoints(absl::string_view value) {
  size_t count = 0;
  size_t pos = 0;
  char32_t cp;
  while (pos < value.size()) {
    if (!DecodeUtf8(value, &pos, &cp)) return std::nullopt;
    ++count;
  }
  return count;
}

absl::Status ValidateText(absl::string_view value, absl::string_view field, size_t min_chars,
                          size_t max_chars, ControlChars controls) {
  size_t count = 0;
  size_t pos = 0;
  char32_t cp;
  bool has_control = false;
  while (pos < value.size()) {
    if (!DecodeUtf8(value, &pos, &cp)) return InvalidField(field, "must be valid UTF-8");
    ++count;
    if (IsControl(cp)) {
      const bool allowed =
          controls == ControlChars::kAllowNewlines && (cp == '\t' || cp == '\n' || cp == '\r');
      if (!allowed) has_control = true;
    }
  }
  if (has_control) return InvalidField(field, "must not contain control characters");
  if (count < min_chars) {
    if (count == 0) return InvalidField(field, "must not be empty");
    return InvalidField(field, absl::StrCat("must be at least ", min_chars, " characters"));
  }
  if (count > max_chars) {
    return InvalidField(
        field, absl::StrCat("must be at most ", max_chars, " characters (got ", count, ")"));
  }
  return absl::OkStatus();
}

bool IsLowerAlnumOr(absl::string_view value, absl::string_view extra) {
  for (const char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    extra.find(c) != absl::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

absl::Status ValidateTimestamp(const google::protobuf::Timestamp& ts, absl::string_view field) {
  if (ts.seconds() < kMinTimestampSeconds || ts.seconds() > kMaxTimestampSeconds ||
      ts.nanos() < 0 || ts.nanos() > 999999999) {
    return InvalidField(field,
                        "must be a valid timestamp between 0001-01-01T00:00:00Z and "
                        "9999-12-31T23:59:59Z");
  }
  return absl::OkStatus();
}

absl::Time ToAbslTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace cxp::validation
