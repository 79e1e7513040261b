// What happens to a notification after a delivery attempt: wait for the
// provider's receipt, delivered, retry the channel later, move on to the
// next channel, or end (FAILED / DEAD_LETTERED). The rules of
// protos/cxp/notify/v1/notification.proto:
//
//   SENT               DELIVERED at once when the provider sends no
//                      receipts, else SENDING until ReportDeliveryStatus.
//   TEMPORARY_FAILURE  retried on the same channel at `retry_at` when the
//                      caller's backoff allows another try
//                      (delivery::Backoff::Decide holds the limits: attempt
//                      count, age, Retry-After); then the next channel.
//   PERMANENT_FAILURE  the next channel at once.
//   no channel left    DEAD_LETTERED "RETRIES_EXHAUSTED" if some channel ran
//                      out of retries (those can be redriven when the
//                      provider is back), else FAILED "ALL_CHANNELS_FAILED".
//
// Pure functions over the proto; the attempt being judged must already be
// in notification.attempts(). Thread-safe; no errors.

#ifndef CXP_NOTIFY_SERVICE_CORE_LIFECYCLE_H_
#define CXP_NOTIFY_SERVICE_CORE_LIFECYCLE_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "cxp/notify/v1/notification.pb.h"
#include "cxp/type/v1/channel.pb.h"

namespace cxp::notify {

// Attempts on `channel` that count against its retries (skips do not).
int AttemptsOn(const cxp::notify::v1::Notification& notification, cxp::type::v1::Channel channel);

struct NextStep {
  enum class Kind {
    kAwaitReceipt,  // SENDING
    kDelivered,     // DELIVERED
    kRetry,         // the same channel at retry_at
    kNextChannel,   // the next channel of the plan, now
    kEnd,           // terminal: state and reason below
  };
  Kind kind = Kind::kEnd;
  absl::Time retry_at;                               // kRetry
  cxp::notify::v1::Notification::State end_state{};  // kEnd
  std::string end_reason;                            // kEnd
};

// `retry_at`: for a TEMPORARY_FAILURE, when the channel may be tried again
// (from delivery::Backoff::Decide), or nullopt when the backoff gave up on
// it; ignored for other results. `has_next_channel`: whether the plan has a
// channel after this one.
NextStep AfterAttempt(const cxp::notify::v1::Notification& notification,
                      cxp::notify::v1::DeliveryAttempt::Result result, bool provider_sends_receipts,
                      bool has_next_channel, std::optional<absl::Time> retry_at);

// When there is no channel left to try (after a kNextChannel that found
// none): DEAD_LETTERED or FAILED, as the header says.
NextStep NoChannelLeft(const cxp::notify::v1::Notification& notification);

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_LIFECYCLE_H_
