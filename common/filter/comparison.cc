#include "common/filter/comparison.h"

#include <charconv>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace cxp::filter {
namespace {

// `value op literal`.
template <typename T>
bool Compare(Op op, const T& value, const T& literal) {
  switch (op) {
    case Op::kEq:
      return value == literal;
    case Op::kNe:
      return value != literal;
    case Op::kLt:
      return value < literal;
    case Op::kLe:
      return value <= literal;
    case Op::kGt:
      return value > literal;
    case Op::kGe:
      return value >= literal;
    case Op::kHas:
      return false;
  }
  return false;
}

std::string Quote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string FormatNumber(double value) {
  if (value == 0) value = 0;  // -0 -> 0
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (ec != std::errc()) return absl::StrCat(value);
  return std::string(buffer, end);
}

}  // namespace

absl::string_view OpText(Op op) {
  switch (op) {
    case Op::kEq:
      return "=";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kHas:
      return ":";
  }
  return "?";
}

bool Comparison::Matches(const FilterValue& value) const {
  switch (value.kind()) {
    case FilterValue::Kind::kAbsent:
      return false;
    case FilterValue::Kind::kString:
      if (kind != LiteralKind::kString || op == Op::kHas) return false;
      return Compare(op, value.string_value(), absl::string_view(string_value));
    case FilterValue::Kind::kNumber:
      if (kind != LiteralKind::kNumber) return false;
      return Compare(op, value.number_value(), number_value);
    case FilterValue::Kind::kBool:
      if (kind != LiteralKind::kBool) return false;
      return Compare(op, value.bool_value(), bool_value);
    case FilterValue::Kind::kTimestamp:
      if (kind != LiteralKind::kTimestamp && !has_time_value) return false;
      return Compare(op, value.timestamp_value(), time_value);
    case FilterValue::Kind::kEnum:
      if (kind != LiteralKind::kEnum) return false;
      return Compare(op, value.enum_value(), enum_number);
    case FilterValue::Kind::kStringList:
      // A repeated enum's list holds full value names, as string_value
      // does for an enum literal.
      if (op != Op::kHas || (kind != LiteralKind::kString && kind != LiteralKind::kEnum)) {
        return false;
      }
      return value.list_value().Contains(string_value);
  }
  return false;
}

std::string Comparison::CanonicalText() const {
  std::string out = field;
  if (!key.empty()) absl::StrAppend(&out, ".", key);
  absl::StrAppend(&out, op == Op::kHas ? ":" : absl::StrCat(" ", OpText(op), " "));
  switch (kind) {
    case LiteralKind::kString:
      out.append(Quote(string_value));
      break;
    case LiteralKind::kNumber:
      out.append(FormatNumber(number_value));
      break;
    case LiteralKind::kBool:
      out.append(bool_value ? "true" : "false");
      break;
    case LiteralKind::kTimestamp:
      out.append(
          Quote(absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", time_value, absl::UTCTimeZone())));
      break;
    case LiteralKind::kEnum:
      out.append(string_value);
      break;
  }
  return out;
}

}  // namespace cxp::filter
