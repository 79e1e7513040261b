// Channel choice for one notification: which channels may carry it, in
// which order, to which address, and — for those that may not — why. The
// rules of protos/cxp/notify/v1/notify_service.proto and issue 6:
//
//   order    the request's channel_order, else the customer's preferred
//            order (ContactPreferences.channel_order), else the channels the
//            template has content for, in the order EMAIL, SMS, PUSH, CHAT,
//            SOCIAL, WEB. Repeats keep their first place.
//   consent  the effective state for (channel, purpose) is the most recently
//            updated applicable consent entry (exact, channel with every
//            purpose, purpose on every channel, everything). MARKETING needs
//            GRANTED; TRANSACTIONAL and SERVICE go unless DENIED.
//   address  EMAIL: an email identity; SMS: a phone identity (E.164); PUSH:
//            a device identity (namespace = platform); CHAT: a chat handle;
//            SOCIAL: a social identity; WEB: the customer itself (posted to
//            the tenant's endpoint). Verified identities first, then the
//            newest. VOICE and IN_PERSON are never used.
//   content  the template must have content for the channel in the locale
//            chain (the caller answers that).
//
// Pure functions over proto messages; thread-safe; no errors (an empty plan
// is an answer, NoChannelMessage() words it).

#ifndef CXP_NOTIFY_SERVICE_CORE_CHANNEL_PLAN_H_
#define CXP_NOTIFY_SERVICE_CORE_CHANNEL_PLAN_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "cxp/context/v1/consent.pb.h"
#include "cxp/context/v1/customer.pb.h"
#include "cxp/type/v1/channel.pb.h"
#include "cxp/type/v1/purpose.pb.h"

namespace cxp::notify {

using cxp::type::v1::Channel;
using cxp::type::v1::Purpose;

// The effective consent state for a channel and purpose (header rules).
cxp::context::v1::ConsentState EffectiveConsent(const cxp::context::v1::Consent& consent,
                                                Channel channel, Purpose purpose);
// Whether `state` lets `purpose` through.
bool ConsentAllows(cxp::context::v1::ConsentState state, Purpose purpose);

// What the plan knows of the recipient. For an identity that matched no
// customer: `customer` holds just that identity, consent is empty (unset)
// and preferences are empty.
struct Recipient {
  cxp::context::v1::Customer customer;
  cxp::context::v1::Consent consent;
  std::vector<Channel> preferred_order;
};

// The address a channel would use, "" if the recipient has none. For WEB it
// is the customer's name (or the identity's value without a customer).
std::string AddressFor(const Recipient& recipient, Channel channel);

struct PlannedChannel {
  Channel channel;
  std::string address;
};
// A channel passed over, with the DeliveryAttempt error code for it
// ("NO_CONSENT", "NO_ADDRESS", "NO_CONTENT", "UNSUPPORTED_CHANNEL") and a
// sentence for people.
struct SkippedChannel {
  Channel channel;
  std::string code;
  std::string detail;
};
struct ChannelPlan {
  std::vector<PlannedChannel> usable;  // in order
  std::vector<SkippedChannel> skipped;
};

// `has_content(channel)`: whether the template has content for it in the
// recipient's locale chain.
std::vector<Channel> EffectiveChannelOrder(const std::vector<Channel>& requested,
                                           const Recipient& recipient,
                                           absl::FunctionRef<bool(Channel)> has_content);
ChannelPlan PlanChannels(const std::vector<Channel>& order, Purpose purpose,
                         const Recipient& recipient, absl::FunctionRef<bool(Channel)> has_content);

// "no channel may be used: EMAIL has no consent for MARKETING; SMS: the
// customer has no phone number" — for FAILED_PRECONDITION and state_reason
// details.
std::string NoChannelMessage(const ChannelPlan& plan);

// "EMAIL", "SMS", ... (the enum name without its prefix).
std::string ChannelLabel(Channel channel);

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_CHANNEL_PLAN_H_
