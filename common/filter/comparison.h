// Comparison — one `field op value` term of a parsed filter, with the literal
// already converted to the field's type. Filter::comparisons() exposes them
// so a store can narrow its scan before calling Matches(), e.g. use
// `state = QUEUED` on an indexed field, or `create_time >= "..."` as a range
// bound. All comparisons of a filter are ANDed.
//
// A plain value type: no hidden state, copyable; Matches() is const,
// thread-safe and does not allocate.

#ifndef CXP_COMMON_FILTER_COMPARISON_H_
#define CXP_COMMON_FILTER_COMPARISON_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/filter/field_resolver.h"
#include "common/filter/filter_schema.h"
#include "common/filter/filter_value.h"

namespace cxp::filter {

// kHas is `field:value` (any element of a repeated field equals value).
enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kHas };

// "=", "!=", "<", "<=", ">", ">=", ":".
absl::string_view OpText(Op op);

// What kind of literal the comparison holds (after conversion).
enum class LiteralKind { kString, kNumber, kBool, kTimestamp, kEnum };

struct Comparison {
  std::string field;  // the schema field name, e.g. "create_time", "attributes"
  std::string key;    // map fields: the key ("plan"); empty otherwise
  FieldType field_type = FieldType::kString;
  Op op = Op::kEq;

  LiteralKind kind = LiteralKind::kString;
  // kString: the unescaped text. kTimestamp: the text as written.
  // kEnum: the full value name ("CHANNEL_CHAT").
  std::string string_value;
  double number_value = 0;  // kNumber
  bool bool_value = false;  // kBool
  // kTimestamp; also set (with has_time_value) for a kString literal on a map
  // field whose text is an RFC 3339 timestamp, so it can match a timestamp
  // attribute as a time and a string attribute as a string.
  absl::Time time_value = absl::InfinitePast();
  bool has_time_value = false;
  int enum_number = 0;  // kEnum

  int offset = 0;  // 0-based byte offset of the field name in the filter text

  FieldPath path() const { return FieldPath{field, key}; }

  // Whether `value` (the record's value of path()) satisfies the comparison.
  // Absent values and values of a kind the literal cannot compare with
  // (see filter_value.h) give false.
  bool Matches(const FilterValue& value) const;

  // Normalised text, e.g. `channel = CHANNEL_CHAT`,
  // `create_time >= "2024-05-01T00:00:00Z"` (times in UTC),
  // `attributes.score > 10`; it parses back to an equal comparison.
  std::string CanonicalText() const;
};

}  // namespace cxp::filter

#endif  // CXP_COMMON_FILTER_COMPARISON_H_
