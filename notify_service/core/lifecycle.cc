#include "notify_service/core/lifecycle.h"

#include "absl/container/flat_hash_set.h"

namespace cxp::notify {
namespace {

namespace v1 = ::cxp::notify::v1;

bool Counts(v1::DeliveryAttempt::Result result) {
  return result != v1::DeliveryAttempt::RESULT_SKIPPED &&
         result != v1::DeliveryAttempt::RESULT_UNSPECIFIED;
}

NextStep End(v1::Notification::State state, std::string reason) {
  NextStep step;
  step.kind = NextStep::Kind::kEnd;
  step.end_state = state;
  step.end_reason = std::move(reason);
  return step;
}

}  // namespace

int AttemptsOn(const v1::Notification& notification, cxp::type::v1::Channel channel) {
  int attempts = 0;
  for (const v1::DeliveryAttempt& attempt : notification.attempts()) {
    if (attempt.channel() == channel && Counts(attempt.result())) ++attempts;
  }
  return attempts;
}

NextStep AfterAttempt(const v1::Notification& notification, v1::DeliveryAttempt::Result result,
                      bool provider_sends_receipts, bool has_next_channel,
                      std::optional<absl::Time> retry_at) {
  NextStep step;
  switch (result) {
    case v1::DeliveryAttempt::RESULT_SENT:
      step.kind =
          provider_sends_receipts ? NextStep::Kind::kAwaitReceipt : NextStep::Kind::kDelivered;
      return step;
    case v1::DeliveryAttempt::RESULT_DELIVERED:
      step.kind = NextStep::Kind::kDelivered;
      return step;
    case v1::DeliveryAttempt::RESULT_TEMPORARY_FAILURE:
      if (retry_at.has_value()) {
        step.kind = NextStep::Kind::kRetry;
        step.retry_at = *retry_at;
        return step;
      }
      break;  // the backoff gave up on this channel
    default:
      break;  // permanent (or a skip): no retry here
  }
  if (has_next_channel) {
    step.kind = NextStep::Kind::kNextChannel;
    return step;
  }
  return NoChannelLeft(notification);
}

NextStep NoChannelLeft(const v1::Notification& notification) {
  // A channel whose last counted attempt failed temporarily ran out of
  // retries (or out of time): the message may go once the provider is back.
  absl::flat_hash_set<int> exhausted;
  for (const v1::DeliveryAttempt& attempt : notification.attempts()) {
    if (!Counts(attempt.result())) continue;
    if (attempt.result() == v1::DeliveryAttempt::RESULT_TEMPORARY_FAILURE) {
      exhausted.insert(attempt.channel());
    } else {
      exhausted.erase(attempt.channel());
    }
  }
  if (!exhausted.empty()) return End(v1::Notification::STATE_DEAD_LETTERED, "RETRIES_EXHAUSTED");
  return End(v1::Notification::STATE_FAILED, "ALL_CHANNELS_FAILED");
}

}  // namespace cxp::notify
