// FieldResolver — how Filter::Matches reads a record it knows nothing about.
// The caller implements Resolve() for its record type (a proto message, a
// stored struct, ...) and returns the value of the requested field as a
// FilterValue (see filter_value.h).
//
// Contract for implementations:
//   - Plain fields: return the record's value, or the field's default (proto
//     semantics: "", 0, false, enum number 0; an unset timestamp as the
//     record stores it, usually the Unix epoch) when unset, so
//     `state != CLOSED` matches records without a state. Returning Absent
//     makes every comparison on the field false.
//   - Map fields (`attributes.<key>`): path.key is the key; return the
//     entry's value with its own kind, or Absent when the key is not set
//     (a missing key matches nothing, not even `!=`).
//   - Repeated string fields: return FilterValue::List(container).
//   - Views (strings, lists) must point into the record and stay valid for
//     the duration of the Matches() call. Resolve should not allocate.
//
// Threading: Matches() calls Resolve() synchronously on the calling thread,
// once per comparison in filter order, stopping at the first that fails.

#ifndef CXP_COMMON_FILTER_FIELD_RESOLVER_H_
#define CXP_COMMON_FILTER_FIELD_RESOLVER_H_

#include "absl/strings/string_view.h"
#include "common/filter/filter_value.h"

namespace cxp::filter {

// Which value a comparison needs.
struct FieldPath {
  // The field's name as declared in the FilterSchema, e.g. "create_time",
  // "presence.state", "attributes" or "customer.attributes".
  absl::string_view field;
  // For map fields, the key after the field name ("plan" in
  // `attributes.plan`); empty for every other field.
  absl::string_view key;
};

class FieldResolver {
 public:
  virtual ~FieldResolver() = default;
  virtual FilterValue Resolve(const FieldPath& path) const = 0;
};

}  // namespace cxp::filter

#endif  // CXP_COMMON_FILTER_FIELD_RESOLVER_H_
