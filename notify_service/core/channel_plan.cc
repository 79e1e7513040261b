#include "notify_service/core/channel_plan.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"

namespace cxp::notify {
namespace {

namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using google::protobuf::util::TimeUtil;

constexpr Channel kTemplateOrder[] = {type::CHANNEL_EMAIL, type::CHANNEL_SMS,    type::CHANNEL_PUSH,
                                      type::CHANNEL_CHAT,  type::CHANNEL_SOCIAL, type::CHANNEL_WEB};

bool Notifiable(Channel channel) {
  return std::find(std::begin(kTemplateOrder), std::end(kTemplateOrder), channel) !=
         std::end(kTemplateOrder);
}

type::IdentityKind KindFor(Channel channel) {
  switch (channel) {
    case type::CHANNEL_EMAIL:
      return type::IDENTITY_KIND_EMAIL;
    case type::CHANNEL_SMS:
      return type::IDENTITY_KIND_PHONE;
    case type::CHANNEL_PUSH:
      return type::IDENTITY_KIND_DEVICE_ID;
    case type::CHANNEL_CHAT:
      return type::IDENTITY_KIND_CHAT_HANDLE;
    case type::CHANNEL_SOCIAL:
      return type::IDENTITY_KIND_SOCIAL;
    default:
      return type::IDENTITY_KIND_UNSPECIFIED;
  }
}

std::string PurposeLabel(Purpose purpose) {
  return std::string(absl::StripPrefix(type::Purpose_Name(purpose), "PURPOSE_"));
}

std::string MissingAddress(Channel channel) {
  switch (channel) {
    case type::CHANNEL_EMAIL:
      return "the customer has no email address";
    case type::CHANNEL_SMS:
      return "the customer has no phone number";
    case type::CHANNEL_PUSH:
      return "the customer has no registered device";
    case type::CHANNEL_CHAT:
      return "the customer has no chat handle";
    case type::CHANNEL_SOCIAL:
      return "the customer has no social account";
    default:
      return "the customer has no address for it";
  }
}

}  // namespace

std::string ChannelLabel(Channel channel) {
  return std::string(absl::StripPrefix(type::Channel_Name(channel), "CHANNEL_"));
}

ctx::ConsentState EffectiveConsent(const ctx::Consent& consent, Channel channel, Purpose purpose) {
  const ctx::ConsentEntry* chosen = nullptr;
  // Latest first; on equal times the more specific entry wins.
  auto rank = [](const ctx::ConsentEntry& entry) {
    const int specificity = (entry.channel() != type::CHANNEL_UNSPECIFIED ? 2 : 0) +
                            (entry.purpose() != type::PURPOSE_UNSPECIFIED ? 1 : 0);
    return std::make_tuple(TimeUtil::TimestampToMicroseconds(entry.update_time()), specificity);
  };
  for (const ctx::ConsentEntry& entry : consent.entries()) {
    const bool channel_applies =
        entry.channel() == channel || entry.channel() == type::CHANNEL_UNSPECIFIED;
    const bool purpose_applies =
        entry.purpose() == purpose || entry.purpose() == type::PURPOSE_UNSPECIFIED;
    if (!channel_applies || !purpose_applies) continue;
    if (chosen == nullptr || rank(entry) > rank(*chosen)) chosen = &entry;
  }
  return chosen == nullptr ? ctx::CONSENT_STATE_UNSPECIFIED : chosen->state();
}

bool ConsentAllows(ctx::ConsentState state, Purpose purpose) {
  if (purpose == type::PURPOSE_MARKETING) return state == ctx::CONSENT_STATE_GRANTED;
  return state != ctx::CONSENT_STATE_DENIED;
}

std::string AddressFor(const Recipient& recipient, Channel channel) {
  if (channel == type::CHANNEL_WEB) {
    if (!recipient.customer.name().empty()) return recipient.customer.name();
    return recipient.customer.identities().empty()
               ? ""
               : recipient.customer.identities(0).identity().value();
  }
  const type::IdentityKind kind = KindFor(channel);
  if (kind == type::IDENTITY_KIND_UNSPECIFIED) return "";
  const ctx::CustomerIdentity* best = nullptr;
  auto rank = [](const ctx::CustomerIdentity& identity) {
    return std::make_tuple(identity.verified(),
                           TimeUtil::TimestampToMicroseconds(identity.create_time()));
  };
  for (const ctx::CustomerIdentity& identity : recipient.customer.identities()) {
    if (identity.identity().kind() != kind) continue;
    if (best == nullptr || rank(identity) > rank(*best)) best = &identity;
  }
  return best == nullptr ? "" : best->identity().value();
}

std::vector<Channel> EffectiveChannelOrder(const std::vector<Channel>& requested,
                                           const Recipient& recipient,
                                           absl::FunctionRef<bool(Channel)> has_content) {
  std::vector<Channel> source = requested;
  if (source.empty()) source = recipient.preferred_order;
  if (source.empty()) {
    for (Channel channel : kTemplateOrder) {
      if (has_content(channel)) source.push_back(channel);
    }
  }
  std::vector<Channel> order;
  for (Channel channel : source) {
    if (std::find(order.begin(), order.end(), channel) == order.end()) order.push_back(channel);
  }
  return order;
}

ChannelPlan PlanChannels(const std::vector<Channel>& order, Purpose purpose,
                         const Recipient& recipient, absl::FunctionRef<bool(Channel)> has_content) {
  ChannelPlan plan;
  for (Channel channel : order) {
    const std::string label = ChannelLabel(channel);
    if (!Notifiable(channel)) {
      plan.skipped.push_back(
          {channel, "UNSUPPORTED_CHANNEL", absl::StrCat(label, " cannot carry notifications")});
      continue;
    }
    if (!ConsentAllows(EffectiveConsent(recipient.consent, channel, purpose), purpose)) {
      plan.skipped.push_back(
          {channel, "NO_CONSENT",
           absl::StrCat(
               label, " has no consent for ", PurposeLabel(purpose),
               purpose == type::PURPOSE_MARKETING ? " (needs an explicit grant)" : " (denied)")});
      continue;
    }
    std::string address = AddressFor(recipient, channel);
    if (address.empty()) {
      plan.skipped.push_back(
          {channel, "NO_ADDRESS", absl::StrCat(label, ": ", MissingAddress(channel))});
      continue;
    }
    if (!has_content(channel)) {
      plan.skipped.push_back(
          {channel, "NO_CONTENT", absl::StrCat(label, ": the template has no content for it")});
      continue;
    }
    plan.usable.push_back({channel, std::move(address)});
  }
  return plan;
}

std::string NoChannelMessage(const ChannelPlan& plan) {
  if (plan.skipped.empty()) return "no channel may be used: no channel to try";
  return absl::StrCat(
      "no channel may be used: ",
      absl::StrJoin(plan.skipped, "; ",
                    [](std::string* out, const SkippedChannel& s) { out->append(s.detail); }));
}

}  // namespace cxp::notify
