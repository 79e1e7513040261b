// FilterValue — one field's value in one record, as a FieldResolver hands it
// to Filter::Matches (see field_resolver.h). The filter never sees the
// record's own type; it only compares FilterValues with the literals of the
// parsed filter.
//
// Ownership: a FilterValue does NOT own its data. String() and List() keep
// views into the caller's record, which must outlive the Matches() call that
// receives the value (i.e. do not return views of temporaries from a
// resolver). Building and copying a FilterValue never allocates.
//
// Kinds and what they compare with:
//   Absent     — the value is missing (e.g. an attribute key that is not set).
//                Never matches, whatever the operator (also `!=`).
//   String     — quoted string literals, bytewise lexicographic order.
//   Number     — number literals, as doubles (exact for |n| <= 2^53).
//   Bool       — true / false.
//   Timestamp  — RFC 3339 string literals on timestamp fields and attributes.
//   Enum       — enum value names, by number.
//   StringList — a repeated string field, for `field:"value"`.
// A value of another kind than the literal (e.g. an attribute holding a number
// compared with a string) does not match; it is not an error.
//
// Threading: values are immutable; share them freely.

#ifndef CXP_COMMON_FILTER_FILTER_VALUE_H_
#define CXP_COMMON_FILTER_FILTER_VALUE_H_

#include <type_traits>

#include "absl/base/attributes.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cxp::filter {

// A non-owning view of a repeated string field: any container whose elements
// convert to absl::string_view (std::vector<std::string>,
// google::protobuf::RepeatedPtrField<std::string>, ...). The container must
// outlive the view.
class StringList {
 public:
  StringList() = default;  // an empty list

  template <typename Container>
  requires(!std::is_same_v<std::remove_cvref_t<Container>, StringList>) explicit StringList(
      const Container& strings ABSL_ATTRIBUTE_LIFETIME_BOUND)
      : container_(&strings), contains_(&ContainsImpl<Container>) {}

  // True if some element equals `value` exactly.
  bool Contains(absl::string_view value) const {
    return contains_ != nullptr && contains_(container_, value);
  }

 private:
  template <typename Container>
  static bool ContainsImpl(const void* container, absl::string_view value) {
    for (const auto& element : *static_cast<const Container*>(container)) {
      if (absl::string_view(element) == value) return true;
    }
    return false;
  }

  const void* container_ = nullptr;
  bool (*contains_)(const void*, absl::string_view) = nullptr;
};

class FilterValue {
 public:
  enum class Kind { kAbsent, kString, kNumber, kBool, kTimestamp, kEnum, kStringList };

  FilterValue() = default;  // Absent

  static FilterValue Absent() { return FilterValue(); }
  static FilterValue String(absl::string_view value ABSL_ATTRIBUTE_LIFETIME_BOUND) {
    FilterValue v(Kind::kString);
    v.string_ = value;
    return v;
  }
  static FilterValue Number(double value) {
    FilterValue v(Kind::kNumber);
    v.number_ = value;
    return v;
  }
  static FilterValue Bool(bool value) {
    FilterValue v(Kind::kBool);
    v.bool_ = value;
    return v;
  }
  static FilterValue Timestamp(absl::Time value) {
    FilterValue v(Kind::kTimestamp);
    v.time_ = value;
    return v;
  }
  // `number` is the enum value's number (e.g. a proto enum cast to int).
  static FilterValue Enum(int number) {
    FilterValue v(Kind::kEnum);
    v.enum_ = number;
    return v;
  }
  static FilterValue List(StringList value) {
    FilterValue v(Kind::kStringList);
    v.list_ = value;
    return v;
  }
  template <typename Container>
  static FilterValue List(const Container& strings ABSL_ATTRIBUTE_LIFETIME_BOUND) {
    return List(StringList(strings));
  }

  Kind kind() const { return kind_; }
  // Each accessor is meaningful only for its own kind.
  absl::string_view string_value() const { return string_; }
  double number_value() const { return number_; }
  bool bool_value() const { return bool_; }
  absl::Time timestamp_value() const { return time_; }
  int enum_value() const { return enum_; }
  const StringList& list_value() const { return list_; }

 private:
  explicit FilterValue(Kind kind) : kind_(kind) {}

  Kind kind_ = Kind::kAbsent;
  bool bool_ = false;
  int enum_ = 0;
  double number_ = 0;
  absl::string_view string_;
  absl::Time time_;
  StringList list_;
};

}  // namespace cxp::filter

#endif  // CXP_COMMON_FILTER_FILTER_VALUE_H_
