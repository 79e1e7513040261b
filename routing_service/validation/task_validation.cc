#include "routing_service/validation/task_validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/validation/attribute_rules.h"
#include "cxp/type/v1/identity.pb.h"
#include "routing_service/validation/field_rules.h"
#include "routing_service/validation/queue_validation.h"
#include "routing_service/validation/resource_names.h"

namespace cxp::routing::validation {
namespace {

using cxp::routing::v1::Task;
using cxp::type::v1::Identity;
using cxp::type::v1::IdentityKind;

absl::Status ValidateIdentityShape(const Identity& identity, absl::string_view field) {
  const int kind = identity.kind();
  const std::string kind_field = FieldPath(field, "kind");
  if (kind == cxp::type::v1::IDENTITY_KIND_UNSPECIFIED)
    return InvalidField(kind_field, "must be set");
  if (!cxp::type::v1::IdentityKind_IsValid(kind)) {
    return InvalidField(kind_field, absl::StrCat("unknown IdentityKind value ", kind));
  }
  const std::string value_field = FieldPath(field, "value");
  const std::string namespace_field = FieldPath(field, "namespace");
  const std::string& ns = identity.namespace_();
  const auto kind_name = cxp::type::v1::IdentityKind_Name(static_cast<IdentityKind>(kind));
  if (kind == cxp::type::v1::IDENTITY_KIND_PHONE || kind == cxp::type::v1::IDENTITY_KIND_EMAIL) {
    RETURN_IF_ERROR(ValidateText(absl::StripAsciiWhitespace(identity.value()), value_field, 1,
                                 kMaxIdentityValueChars));
    if (!ns.empty()) {
      return InvalidField(namespace_field,
                          absl::StrCat("must be empty for ", kind_name, " identities"));
    }
    const std::string& region = identity.region_code();
    if (kind == cxp::type::v1::IDENTITY_KIND_PHONE && !region.empty() &&
        !(region.size() == 2 && absl::ascii_isalpha(static_cast<unsigned char>(region[0])) &&
          absl::ascii_isalpha(static_cast<unsigned char>(region[1])))) {
      return InvalidField(FieldPath(field, "region_code"),
                          "must be an ISO 3166-1 alpha-2 region such as \"KR\"");
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(ValidateText(identity.value(), value_field, 1, kMaxIdentityValueChars));
  if (ns.empty()) {
    return InvalidField(namespace_field,
                        absl::StrCat("must be set for ", kind_name, " identities"));
  }
  if (ns.size() > kMaxIdentityNamespaceChars || !IsLowerAlnumOr(ns, "_.-")) {
    return InvalidField(namespace_field, absl::StrCat("must be 1 to ", kMaxIdentityNamespaceChars,
                                                      " lower-case characters of [a-z0-9_.-]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCustomerRef(const cxp::type::v1::CustomerRef& ref, absl::string_view field) {
  switch (ref.ref_case()) {
    case cxp::type::v1::CustomerRef::kCustomer:
      return ParseCustomerName(ref.customer(), FieldPath(field, "customer")).status();
    case cxp::type::v1::CustomerRef::kIdentity:
      return ValidateIdentityShape(ref.identity(), FieldPath(field, "identity"));
    case cxp::type::v1::CustomerRef::REF_NOT_SET:
      break;
  }
  return InvalidField(field, "set customer or identity");
}

absl::StatusOr<ValidatedSubmitTask> ValidateSubmitTask(
    const cxp::routing::v1::SubmitTaskRequest& request) {
  if (!request.has_task()) return InvalidField("task", "must be set");
  const Task& in = request.task();
  ValidatedSubmitTask out;
  Task& task = out.task;

  RETURN_IF_ERROR(ValidateChannel(in.channel(), "task.channel"));
  task.set_channel(in.channel());
  if (in.has_customer()) {
    RETURN_IF_ERROR(ValidateCustomerRef(in.customer(), "task.customer"));
    *task.mutable_customer() = in.customer();
  }
  if (in.queue().empty() && in.intent().empty()) {
    return InvalidField("task.queue", "set queue or intent");
  }
  if (!in.queue().empty()) {
    ASSIGN_OR_RETURN(out.queue_id, ParseQueueName(in.queue(), "task.queue"));
    task.set_queue(in.queue());
  }
  if (!in.intent().empty()) {
    RETURN_IF_ERROR(ValidateText(in.intent(), "task.intent", 1, kMaxIntentChars));
    task.set_intent(in.intent());
  }
  if (!in.language_code().empty()) {
    ASSIGN_OR_RETURN(std::string tag,
                     NormalizeLanguageTag(in.language_code(), "task.language_code"));
    task.set_language_code(std::move(tag));
  }
  if (in.priority() == 0) {
    task.set_priority(kDefaultPriority);
  } else if (in.priority() < kMinPriority || in.priority() > kMaxPriority) {
    return InvalidField(
        "task.priority",
        absl::StrCat("must be ", kMinPriority, " to ", kMaxPriority, ", or 0 for the default ",
                     kDefaultPriority, " (got ", in.priority(), ")"));
  } else {
    task.set_priority(in.priority());
  }
  RETURN_IF_ERROR(ValidateSkillRequirements(in.required_skills(), "task.required_skills"));
  *task.mutable_required_skills() = in.required_skills();
  RETURN_IF_ERROR(
      cxp::validation::ValidateAttributes(in.attributes(), kMaxTaskAttributes, "task.attributes"));
  *task.mutable_attributes() = in.attributes();

  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
  return out;
}

}  // namespace cxp::routing::validation
