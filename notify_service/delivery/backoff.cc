#include "notify_service/delivery/backoff.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace cxp::notify::delivery {
namespace {

double DefaultRandomFraction() {
  static absl::Mutex mutex(absl::kConstInit);
  static absl::BitGen* generator = new absl::BitGen();
  absl::MutexLock lock(&mutex);
  return absl::Uniform(*generator, 0.0, 1.0);
}

}  // namespace

absl::StatusOr<Backoff> Backoff::Create(BackoffPolicy policy, RandomFraction random) {
  if (policy.base <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("backoff.base: must be positive");
  }
  if (policy.cap < policy.base) {
    return absl::InvalidArgumentError("backoff.cap: must not be less than backoff.base");
  }
  if (policy.max_attempts < 1) {
    return absl::InvalidArgumentError("backoff.max_attempts: must be at least 1");
  }
  if (policy.max_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("backoff.max_age: must be positive");
  }
  if (random == nullptr) random = DefaultRandomFraction;
  return Backoff(policy, std::move(random));
}

absl::Duration Backoff::MaxDelay(int failed_attempts) const {
  absl::Duration delay = policy_.base;
  // Doubling until the cap (not base * 2^n) cannot overflow.
  for (int i = 1; i < failed_attempts && delay < policy_.cap; ++i) delay *= 2;
  return std::min(delay, policy_.cap);
}

absl::Duration Backoff::JitteredDelay(int failed_attempts) const {
  const double fraction = std::clamp(random_(), 0.0, 1.0);
  const absl::Duration max_delay = MaxDelay(failed_attempts);
  // A source returning exactly 1.0 still stays below the bound.
  return std::min(max_delay * fraction, max_delay - absl::Nanoseconds(1));
}

RetryDecision Backoff::Decide(int failed_attempts, absl::Time first_attempt_at, absl::Time now,
                              std::optional<absl::Duration> retry_after) const {
  RetryDecision decision;
  if (failed_attempts >= policy_.max_attempts) {
    decision.dead_letter = true;
    decision.reason = absl::StrCat("gave up after ", failed_attempts, " attempts (max ",
                                   policy_.max_attempts, ")");
    return decision;
  }
  absl::Duration delay = JitteredDelay(failed_attempts);
  if (retry_after.has_value()) delay = std::max(delay, *retry_after);
  const absl::Time next = now + delay;
  if (next - first_attempt_at > policy_.max_age) {
    decision.dead_letter = true;
    decision.reason =
        absl::StrCat("gave up after ", failed_attempts, " attempts: the next would be ",
                     absl::FormatDuration(next - first_attempt_at), " after the first (max age ",
                     absl::FormatDuration(policy_.max_age), ")");
    return decision;
  }
  decision.next_attempt_at = next;
  return decision;
}

}  // namespace cxp::notify::delivery
