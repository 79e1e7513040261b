#include "notify_service/core/send_validation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"
#include "common/validation/resource_id.h"
#include "common/validation/text_rules.h"
#include "notify_service/validation/template_validation.h"

namespace cxp::notify {
namespace {

namespace type = ::cxp::type::v1;
using cxp::validation::FieldPath;
using cxp::validation::InvalidField;
using cxp::validation::ToAbslTime;
using cxp::validation::ValidateText;
using cxp::validation::ValidateTimestamp;

}  // namespace

absl::StatusOr<std::string> ParseResourceName(absl::string_view name, absl::string_view field,
                                              absl::string_view prefix) {
  absl::string_view id = name;
  if (!absl::ConsumePrefix(&id, prefix) || !cxp::validation::ValidateResourceId(id, field).ok()) {
    return InvalidField(field, absl::StrCat("must be \"", prefix, "{id}\" where {id} is 1 to ",
                                            cxp::validation::kMaxResourceIdChars,
                                            " characters of [a-z0-9-], starting with a letter or "
                                            "digit"));
  }
  return std::string(id);
}

absl::Status ValidateCustomerRef(const type::CustomerRef& ref, absl::string_view field) {
  switch (ref.ref_case()) {
    case type::CustomerRef::kCustomer:
      return ParseResourceName(ref.customer(), FieldPath(field, "customer"), kCustomersPrefix)
          .status();
    case type::CustomerRef::kIdentity: {
      const type::Identity& identity = ref.identity();
      const std::string path = FieldPath(field, "identity");
      if (identity.kind() == type::IDENTITY_KIND_UNSPECIFIED ||
          !type::IdentityKind_IsValid(identity.kind())) {
        return InvalidField(FieldPath(path, "kind"), "must be an identity kind");
      }
      RETURN_IF_ERROR(
          ValidateText(identity.value(), FieldPath(path, "value"), 1, kMaxIdentityValueChars));
      return ValidateText(identity.namespace_(), FieldPath(path, "namespace"), 0,
                          kMaxIdentityNamespaceChars);
    }
    case type::CustomerRef::REF_NOT_SET:
      break;
  }
  return InvalidField(field, "set customer or identity");
}

absl::StatusOr<std::vector<type::Channel>> ValidateChannelOrder(
    const google::protobuf::RepeatedField<int>& channels, absl::string_view field) {
  std::vector<type::Channel> order;
  for (int i = 0; i < channels.size(); ++i) {
    const int channel = channels[i];
    const std::string path = cxp::validation::IndexedPath(field, i);
    if (channel == type::CHANNEL_UNSPECIFIED || !type::Channel_IsValid(channel)) {
      return InvalidField(path, "must be a channel");
    }
    if (std::find(order.begin(), order.end(), channel) != order.end()) {
      return InvalidField(path, "repeats an earlier channel");
    }
    order.push_back(static_cast<type::Channel>(channel));
  }
  return order;
}

absl::StatusOr<ValidatedSend> ValidateSendRequest(
    const cxp::notify::v1::SendNotificationRequest& request, absl::Time now,
    absl::Duration max_schedule_ahead, absl::Duration default_lifetime) {
  if (!request.has_customer()) return InvalidField("customer", "must be set");
  RETURN_IF_ERROR(ValidateCustomerRef(request.customer(), "customer"));
  ValidatedSend valid;
  RETURN_IF_ERROR(ParseResourceName(request.template_(), "template", kTemplatesPrefix).status());
  valid.template_name = request.template_();
  if (request.template_version() < 0) {
    return InvalidField("template_version", "must not be negative (0 means the current one)");
  }
  RETURN_IF_ERROR(validation::ValidateTemplateVariables(request.variables(), "variables"));
  if (request.purpose() == type::PURPOSE_UNSPECIFIED || !type::Purpose_IsValid(request.purpose())) {
    return InvalidField("purpose", "must be TRANSACTIONAL, SERVICE or MARKETING");
  }
  ASSIGN_OR_RETURN(valid.channel_order,
                   ValidateChannelOrder(request.channel_order(), "channel_order"));
  valid.send_time = now;
  if (request.has_send_time()) {
    RETURN_IF_ERROR(ValidateTimestamp(request.send_time(), "send_time"));
    valid.send_time = std::max(now, ToAbslTime(request.send_time()));
    if (valid.send_time > now + max_schedule_ahead) {
      return InvalidField(
          "send_time",
          absl::StrCat("must be at most ", absl::FormatDuration(max_schedule_ahead), " ahead"));
    }
  }
  valid.expire_time = valid.send_time + default_lifetime;
  if (request.has_expire_time()) {
    RETURN_IF_ERROR(ValidateTimestamp(request.expire_time(), "expire_time"));
    valid.expire_time = ToAbslTime(request.expire_time());
    if (valid.expire_time <= valid.send_time) {
      return InvalidField("expire_time", "must be after send_time (or now, when unset)");
    }
  }
  RETURN_IF_ERROR(ValidateText(request.idempotency_key(), "idempotency_key", 0, kMaxSendKeyChars));
  RETURN_IF_ERROR(ValidateText(request.replace_key(), "replace_key", 0, kMaxSendKeyChars));
  return valid;
}

}  // namespace cxp::notify
