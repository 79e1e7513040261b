// Checks of the sending requests of notify_service
// (protos/cxp/notify/v1/notify_service.proto is the contract): resource
// names, the recipient, SendNotificationRequest and RedriveNotification's
// channel order.
//
//   customer         set: `customers/{customer}` or an identity (kind set,
//                    value 1 to 512 characters, namespace at most 64); the
//                    edge resolves it, the core only checks its shape.
//   template         `templates/{template}`; template_version >= 0.
//   variables        template_validation.h's ValidateTemplateVariables.
//   purpose          TRANSACTIONAL, SERVICE or MARKETING.
//   channel_order    known channels, none UNSPECIFIED, no repeats.
//   send_time        unset or past: now; at most max_schedule_ahead ahead.
//   expire_time      after the send time; unset: send time + lifetime.
//   idempotency_key, replace_key  at most 128 characters, no control
//                    characters.
//
// Errors: INVALID_ARGUMENT "<field>: <problem>"; names and identities are
// never echoed. Pure functions, thread-safe.

#ifndef CXP_NOTIFY_SERVICE_CORE_SEND_VALIDATION_H_
#define CXP_NOTIFY_SERVICE_CORE_SEND_VALIDATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cxp/notify/v1/notify_service.pb.h"
#include "cxp/type/v1/channel.pb.h"
#include "cxp/type/v1/customer_ref.pb.h"
#include "google/protobuf/repeated_field.h"

namespace cxp::notify {

inline constexpr absl::string_view kNotificationsPrefix = "notifications/";
inline constexpr absl::string_view kTemplatesPrefix = "templates/";
inline constexpr absl::string_view kCustomersPrefix = "customers/";
inline constexpr size_t kMaxSendKeyChars = 128;
inline constexpr size_t kMaxIdentityValueChars = 512;
inline constexpr size_t kMaxIdentityNamespaceChars = 64;

// `<prefix>{id}` with a valid resource id (common/validation/resource_id.h),
// e.g. ParseResourceName(name, "name", kNotificationsPrefix): "x" for
// "notifications/x". The message says the expected form.
absl::StatusOr<std::string> ParseResourceName(absl::string_view name, absl::string_view field,
                                              absl::string_view prefix);

absl::Status ValidateCustomerRef(const cxp::type::v1::CustomerRef& ref, absl::string_view field);

absl::StatusOr<std::vector<cxp::type::v1::Channel>> ValidateChannelOrder(
    const google::protobuf::RepeatedField<int>& channels, absl::string_view field);

struct ValidatedSend {
  std::string template_name;  // "templates/{template}"
  std::vector<cxp::type::v1::Channel> channel_order;
  absl::Time send_time;    // never before `now`
  absl::Time expire_time;  // after send_time
};
absl::StatusOr<ValidatedSend> ValidateSendRequest(
    const cxp::notify::v1::SendNotificationRequest& request, absl::Time now,
    absl::Duration max_schedule_ahead, absl::Duration default_lifetime);

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_SEND_VALIDATION_H_
