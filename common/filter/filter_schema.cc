#include "common/filter/filter_schema.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cxp::filter {
namespace {

[[noreturn]] void SchemaError(absl::string_view name, absl::string_view problem) {
  std::fprintf(stderr, "FilterSchema: field `%.*s`: %.*s\n", static_cast<int>(name.size()),
               name.data(), static_cast<int>(problem.size()), problem.data());
  std::abort();
}

bool IsIdentifier(absl::string_view s) {
  if (s.empty() || !(absl::ascii_isalpha(s[0]) || s[0] == '_')) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

bool IsPath(absl::string_view s) {
  for (absl::string_view segment : absl::StrSplit(s, '.')) {
    if (!IsIdentifier(segment)) return false;
  }
  return true;
}

}  // namespace

absl::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kNumber:
      return "number";
    case FieldType::kBool:
      return "bool";
    case FieldType::kTimestamp:
      return "timestamp";
    case FieldType::kEnum:
      return "enum";
    case FieldType::kRepeatedString:
      return "repeated string";
    case FieldType::kRepeatedEnum:
      return "repeated enum";
    case FieldType::kMap:
      return "map";
  }
  return "unknown";
}

std::optional<int> FilterSchema::Field::FindEnumNumber(absl::string_view name) const {
  for (const auto& [value_name, number] : enum_values) {
    if (value_name == name) return number;
  }
  if (!enum_prefix.empty()) {
    for (const auto& [value_name, number] : enum_values) {
      if (value_name.size() == enum_prefix.size() + name.size() &&
          absl::StartsWith(value_name, enum_prefix) && absl::EndsWith(value_name, name)) {
        return number;
      }
    }
  }
  return std::nullopt;
}

absl::string_view FilterSchema::Field::EnumName(int number) const {
  for (const auto& [value_name, value_number] : enum_values) {
    if (value_number == number) return value_name;
  }
  return "";
}

FilterSchema& FilterSchema::Add(Field field) {
  if (!IsPath(field.name)) SchemaError(field.name, "invalid name");
  for (const Field& existing : fields_) {
    if (existing.name == field.name) SchemaError(field.name, "declared twice");
  }
  fields_.push_back(std::move(field));
  return *this;
}

FilterSchema& FilterSchema::AddString(std::string name) {
  return Add(Field{std::move(name), FieldType::kString, {}, {}});
}
FilterSchema& FilterSchema::AddNumber(std::string name) {
  return Add(Field{std::move(name), FieldType::kNumber, {}, {}});
}
FilterSchema& FilterSchema::AddBool(std::string name) {
  return Add(Field{std::move(name), FieldType::kBool, {}, {}});
}
FilterSchema& FilterSchema::AddTimestamp(std::string name) {
  return Add(Field{std::move(name), FieldType::kTimestamp, {}, {}});
}
FilterSchema& FilterSchema::AddEnum(std::string name, std::string prefix,
                                    std::vector<std::pair<std::string, int>> values) {
  if (values.empty()) SchemaError(name, "enum without values");
  for (const auto& value : values) {
    if (!IsIdentifier(value.first)) SchemaError(name, "invalid enum value name");
  }
  return Add(Field{std::move(name), FieldType::kEnum, std::move(prefix), std::move(values)});
}
namespace {

// A proto enum's values, all but the one numbered 0 (*_UNSPECIFIED).
std::vector<std::pair<std::string, int>> ProtoEnumValues(
    const google::protobuf::EnumDescriptor* descriptor) {
  std::vector<std::pair<std::string, int>> values;
  for (int i = 0; i < descriptor->value_count(); ++i) {
    if (descriptor->value(i)->number() == 0) continue;
    values.emplace_back(descriptor->value(i)->name(), descriptor->value(i)->number());
  }
  return values;
}

}  // namespace

FilterSchema& FilterSchema::AddProtoEnum(std::string name, std::string prefix,
                                         const google::protobuf::EnumDescriptor* descriptor) {
  return AddEnum(std::move(name), std::move(prefix), ProtoEnumValues(descriptor));
}
FilterSchema& FilterSchema::AddProtoRepeatedEnum(
    std::string name, std::string prefix, const google::protobuf::EnumDescriptor* descriptor) {
  // Checked and stored as an enum, then marked repeated.
  AddEnum(std::move(name), std::move(prefix), ProtoEnumValues(descriptor));
  fields_.back().type = FieldType::kRepeatedEnum;
  return *this;
}
FilterSchema& FilterSchema::AddRepeatedString(std::string name) {
  return Add(Field{std::move(name), FieldType::kRepeatedString, {}, {}});
}
FilterSchema& FilterSchema::AddMap(std::string name) {
  return Add(Field{std::move(name), FieldType::kMap, {}, {}});
}

const FilterSchema::Field* FilterSchema::Resolve(absl::string_view path,
                                                 absl::string_view* key) const {
  for (const Field& field : fields_) {
    if (field.type != FieldType::kMap && field.name == path) {
      *key = absl::string_view();
      return &field;
    }
  }
  for (const Field& field : fields_) {
    if (field.type != FieldType::kMap) continue;
    if (path.size() > field.name.size() + 1 && absl::StartsWith(path, field.name) &&
        path[field.name.size()] == '.') {
      absl::string_view rest = path.substr(field.name.size() + 1);
      if (!IsIdentifier(rest)) continue;
      *key = rest;
      return &field;
    }
  }
  return nullptr;
}

std::string FilterSchema::AllowedFieldsText() const {
  std::string out;
  for (const Field& field : fields_) {
    if (!out.empty()) out.append(", ");
    out.append(field.name);
    if (field.type == FieldType::kMap) out.append(".<key>");
  }
  return out;
}

}  // namespace cxp::filter
