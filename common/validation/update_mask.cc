#include "common/validation/update_mask.h"

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/validation/text_rules.h"
#include "google/protobuf/descriptor.h"

namespace cxp::validation {
namespace {

using google::protobuf::FieldDescriptor;

bool IsSet(const google::protobuf::Message& message, const FieldDescriptor* fd) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  return fd->is_repeated() ? reflection->FieldSize(message, fd) > 0
                           : reflection->HasField(message, fd);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> UpdatePaths(const google::protobuf::FieldMask& mask,
                                                     const google::protobuf::Message& input,
                                                     absl::Span<const absl::string_view> updatable,
                                                     absl::string_view field) {
  const google::protobuf::Descriptor* descriptor = input.GetDescriptor();
  std::vector<std::string> paths;
  if (mask.paths().empty()) {
    for (const absl::string_view name : updatable) {
      const FieldDescriptor* fd = descriptor->FindFieldByName(std::string(name));
      if (fd != nullptr && IsSet(input, fd)) paths.emplace_back(name);
    }
    return paths;
  }
  const std::string allowed = absl::StrCat("(updatable: ", absl::StrJoin(updatable, ", "), ")");
  const auto is_updatable = [&](absl::string_view name) {
    return std::find(updatable.begin(), updatable.end(), name) != updatable.end();
  };
  const std::string paths_field = absl::StrCat(field, ".paths");
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < mask.paths_size(); ++i) {
    const std::string& path = mask.paths(i);
    const absl::string_view head = absl::string_view(path).substr(0, path.find('.'));
    if (descriptor->FindFieldByName(std::string(head)) == nullptr) {
      return InvalidField(IndexedPath(paths_field, i),
                          absl::StrCat("unknown field ", QuoteForMessage(path), " ", allowed));
    }
    if (!is_updatable(head)) {
      return InvalidField(IndexedPath(paths_field, i),
                          absl::StrCat(QuoteForMessage(head), " cannot be updated ", allowed));
    }
    if (head.size() != path.size()) {
      return InvalidField(
          IndexedPath(paths_field, i),
          absl::StrCat(QuoteForMessage(path),
                       " names part of a field; messages and repeated fields are replaced "
                       "whole (name ",
                       QuoteForMessage(head), ")"));
    }
    if (seen.insert(path).second) paths.push_back(path);
  }
  return paths;
}

absl::StatusOr<std::vector<std::string>> NonEmptyUpdatePaths(
    const google::protobuf::FieldMask& mask, const google::protobuf::Message& input,
    absl::Span<const absl::string_view> updatable, absl::string_view resource_field,
    absl::string_view field) {
  absl::StatusOr<std::vector<std::string>> paths = UpdatePaths(mask, input, updatable, field);
  if (paths.ok() && paths->empty()) {
    return InvalidField(
        resource_field,
        absl::StrCat("sets no field to update (updatable: ", absl::StrJoin(updatable, ", "),
                     "); name the fields in update_mask to clear them"));
  }
  return paths;
}

void ApplyPaths(const google::protobuf::Message& source, absl::Span<const std::string> paths,
                google::protobuf::Message* target) {
  const google::protobuf::Descriptor* descriptor = target->GetDescriptor();
  std::vector<const FieldDescriptor*> fields;
  for (const std::string& path : paths) {
    const FieldDescriptor* fd = descriptor->FindFieldByName(path);
    // Swapping a field twice would undo it.
    if (fd != nullptr && std::find(fields.begin(), fields.end(), fd) == fields.end()) {
      fields.push_back(fd);
    }
  }
  std::unique_ptr<google::protobuf::Message> copy(source.New());
  copy->CopyFrom(source);
  target->GetReflection()->SwapFields(copy.get(), target, fields);
}

}  // namespace cxp::validation
