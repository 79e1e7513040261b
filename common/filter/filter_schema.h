// FilterSchema — the fields a List RPC lets clients filter on, with their
// types. ParseFilter() checks field names, operators and literal types
// against it, so a parsed Filter never fails at evaluation time.
//
// Field types, their operators and literals:
//   String          = != < <= > >=   "quoted string" (bytewise order)
//   Number          = != < <= > >=   number (int or float; compared as double)
//   Bool            = !=             true | false
//   Timestamp       = != < <= > >=   "RFC 3339 string", compared as times
//   Enum            = !=             NAME, with or without the enum prefix
//   RepeatedString  :                "quoted string" (true if any element equals)
//   RepeatedEnum    :                NAME, with or without the enum prefix (true
//                                    if any element is that value); the
//                                    resolver returns FilterValue::List of the
//                                    elements' full value names
//   Map             = != < <= > >=   `name.<key>`; "string" | number | true |
//                                    false, compared with the entry's own type
//                                    (string/number/bool/timestamp);
//                                    true/false only with = and !=.
//
// Names are paths of identifiers ([A-Za-z_][A-Za-z0-9_]*) joined by '.', e.g.
// "presence.state"; a map field "attributes" (or "customer.attributes")
// accepts `attributes.<key>` with a single identifier key.
//
// Build a schema once (e.g. a function-local static) and share it: after
// construction it is immutable and safe to read from any thread. Declaring the
// same name twice, an invalid name, or an enum without values is a
// programming error and aborts.

#ifndef CXP_COMMON_FILTER_FILTER_SCHEMA_H_
#define CXP_COMMON_FILTER_FILTER_SCHEMA_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace cxp::filter {

enum class FieldType {
  kString,
  kNumber,
  kBool,
  kTimestamp,
  kEnum,
  kRepeatedString,
  kRepeatedEnum,
  kMap
};

// "string", "number", "bool", "timestamp", "enum", "repeated string",
// "repeated enum", "map".
absl::string_view FieldTypeName(FieldType type);

class FilterSchema {
 public:
  struct Field {
    std::string name;
    FieldType type = FieldType::kString;
    // Enum and RepeatedEnum only: the common prefix of the value names ("CHANNEL_"), and the
    // values by full name ("CHANNEL_VOICE") with their numbers.
    std::string enum_prefix;
    std::vector<std::pair<std::string, int>> enum_values;

    // Enum only: the number of `name`, given in full ("CHANNEL_CHAT") or
    // without the prefix ("CHAT"); nullopt when it is not a value.
    std::optional<int> FindEnumNumber(absl::string_view name) const;
    // Enum only: the full name of `number` (first declared), or "".
    absl::string_view EnumName(int number) const;
  };

  // Each returns *this for chaining:
  //   FilterSchema().AddString("display_name").AddTimestamp("create_time")
  FilterSchema& AddString(std::string name);
  FilterSchema& AddNumber(std::string name);
  FilterSchema& AddBool(std::string name);
  FilterSchema& AddTimestamp(std::string name);
  // `values` are full names with numbers, e.g. prefix "CHANNEL_" and
  // {{"CHANNEL_VOICE", 1}, {"CHANNEL_CHAT", 2}}. Leave out *_UNSPECIFIED
  // unless clients may filter on it. An empty prefix is allowed.
  FilterSchema& AddEnum(std::string name, std::string prefix,
                        std::vector<std::pair<std::string, int>> values);
  // A proto enum's values, all but the one numbered 0 (*_UNSPECIFIED).
  FilterSchema& AddProtoEnum(std::string name, std::string prefix,
                             const google::protobuf::EnumDescriptor* descriptor);
  FilterSchema& AddRepeatedString(std::string name);
  // A repeated proto enum (e.g. TriggerRule.change_kinds), all values but
  // the one numbered 0, written `name:VALUE`.
  FilterSchema& AddProtoRepeatedEnum(std::string name, std::string prefix,
                                     const google::protobuf::EnumDescriptor* descriptor);
  // A map with typed values addressed as `name.<key>`.
  FilterSchema& AddMap(std::string name);

  // The field a filter path names: an exact non-map field, or a map field
  // followed by ".<key>" (then *key is set to the key). nullptr if none.
  const Field* Resolve(absl::string_view path, absl::string_view* key) const;

  // The declared fields in declaration order.
  const std::vector<Field>& fields() const { return fields_; }

  // For error messages: "a, b, attributes.<key>".
  std::string AllowedFieldsText() const;

 private:
  FilterSchema& Add(Field field);

  std::vector<Field> fields_;
};

}  // namespace cxp::filter

#endif  // CXP_COMMON_FILTER_FILTER_SCHEMA_H_
