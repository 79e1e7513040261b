// Filter — a parsed AIP-160 filter (the subset in protos/README.md,
// "Filters"): comparisons joined by AND.
//
//   filter     = comparison { "AND" comparison }
//   comparison = field op value | field ":" value
//   op         = "=" | "!=" | "<" | "<=" | ">" | ">="
//   value      = "string" | number | true | false | ENUM_VALUE
//
// Usage: parse once per request with ParseFilter(request.filter(), schema),
// then call Matches() per record with a FieldResolver for the record type.
// An empty (or all-whitespace) filter has no comparisons and matches every
// record.
//
// Errors: ParseFilter returns INVALID_ARGUMENT with a message of the form
// "filter: <what is wrong> at offset <n>" (0-based byte offset), e.g.
// "filter: unknown field `foo` at offset 0 (allowed: a, b, attributes.<key>)".
// Text over 1024 bytes, OR, NOT, `-`, parentheses, lower-case `and`, bad
// escapes (only \" and \\), operators or literals the field type does not
// allow (filter_schema.h) are all rejected. Matches() cannot fail.
//
// Threading: a Filter is immutable after parsing; Matches() and
// CanonicalText() are const and safe to call concurrently. Matches() does not
// allocate (beyond what the resolver does).

#ifndef CXP_COMMON_FILTER_FILTER_H_
#define CXP_COMMON_FILTER_FILTER_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/filter/comparison.h"
#include "common/filter/field_resolver.h"
#include "common/filter/filter_schema.h"
#include "common/filter/filter_value.h"

namespace cxp::filter {

inline constexpr size_t kMaxFilterLength = 1024;

class Filter {
 public:
  Filter() = default;  // the empty filter: matches everything
  explicit Filter(std::vector<Comparison> comparisons) : comparisons_(std::move(comparisons)) {}

  bool empty() const { return comparisons_.empty(); }
  const std::vector<Comparison>& comparisons() const { return comparisons_; }

  // True if every comparison matches the record `resolver` describes.
  bool Matches(const FieldResolver& resolver) const;
  bool Matches(absl::FunctionRef<FilterValue(const FieldPath&)> resolve) const;

  // Normalised text: canonical comparisons (see comparison.h), sorted and
  // joined by " AND "; "" for the empty filter. Filters that differ only in
  // whitespace, comparison order, enum prefixes, string escapes, number
  // spelling (10 / 10.0 / 1e1) or timestamp offsets have the same text. Bind
  // page tokens to it (see common/paging/request_fingerprint.h).
  std::string CanonicalText() const;

 private:
  std::vector<Comparison> comparisons_;
};

// Parses and validates `text` against `schema`. See the header comment for
// the grammar and errors.
absl::StatusOr<Filter> ParseFilter(absl::string_view text, const FilterSchema& schema);

}  // namespace cxp::filter

#endif  // CXP_COMMON_FILTER_FILTER_H_
