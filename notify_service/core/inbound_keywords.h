// Opt-out and opt-in keywords in messages customers send to the business
// (ReceiveInboundMessage, protos/cxp/notify/v1/notify_service.proto):
//
//   opt-out  STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, 수신거부, 거부
//            -> consent DENIED for MARKETING and SERVICE on the message's
//            channel
//   opt-in   START, UNSTOP -> consent GRANTED for the same purposes
//
// A keyword must be the whole message, compared case-insensitively, after
// dropping surrounding whitespace (Unicode spaces included) and
// punctuation ("Stop!", " 수신거부. "). Anything else changes nothing.
// TRANSACTIONAL is never touched: an opt-out keyword cannot stop password
// resets or delivery updates the customer still needs.
//
// Every message is also recorded on the sender's timeline (so an agent on
// any channel sees what the customer wrote): an inbound interaction of type
// "message" on the message's channel, the text as summary, the keyword and
// the provider's details as attributes. A message that names its
// provider_message_id is recorded once however often the provider delivers
// it (request_id "inbound:<provider>:<provider_message_id>").
//
// The decision only: the gRPC edge applies the consent changes in
// context_service (creating a customer for an unknown sender) and appends
// the timeline entry, since the notify core never calls another service.
//
// Pure functions, thread-safe. Errors: INVALID_ARGUMENT naming the field
// ("inbound_message.sender.value: must not be empty").

#ifndef CXP_NOTIFY_SERVICE_CORE_INBOUND_KEYWORDS_H_
#define CXP_NOTIFY_SERVICE_CORE_INBOUND_KEYWORDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cxp/context/v1/consent.pb.h"
#include "cxp/context/v1/context_service.pb.h"
#include "cxp/notify/v1/notify_service.pb.h"

namespace cxp::notify {

inline constexpr size_t kMaxInboundTextChars = 4096;
inline constexpr size_t kMaxInboundRecipientChars = 256;
inline constexpr size_t kMaxInboundProviderChars = 64;
inline constexpr size_t kMaxInboundProviderMessageIdChars = 64;
// ConsentEvidence.source of a keyword's consent change.
inline constexpr absl::string_view kInboundKeywordSource = "inbound_keyword";

struct InboundConsentDecision {
  cxp::notify::v1::ReceiveInboundMessageResponse::Action action =
      cxp::notify::v1::ReceiveInboundMessageResponse::ACTION_NONE;
  // The consent entries to set on the sender's customer, one per purpose,
  // with evidence (source, capture time, the message text); empty for
  // ACTION_NONE.
  std::vector<cxp::context::v1::ConsentEntry> changes;
  // The timeline entry for the sender's customer; the edge sets `customer`.
  cxp::context::v1::AppendInteractionRequest timeline_append;
};

// The keyword, upper-cased, that `text` is, or "" when it is none.
std::string InboundKeyword(absl::string_view text);

// Validates the request and decides. `now` stands in for an unset
// receive_time.
absl::StatusOr<InboundConsentDecision> DecideInboundMessage(
    const cxp::notify::v1::ReceiveInboundMessageRequest& request, absl::Time now);

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_INBOUND_KEYWORDS_H_
