// Backoff — when to try a transiently failed notification again, and when to
// give up and dead-letter it.
//
// Exponential backoff with full jitter ("Exponential Backoff And Jitter",
// AWS Architecture Blog): after the n-th failed attempt (n >= 1) the next
// one waits
//
//     random(0, min(cap, base * 2^(n-1)))
//
// so the first retry waits up to `base`, the second up to 2*base, and so on
// until `cap`. Full jitter spreads the retries of many notifications that
// failed together (a provider outage) instead of sending them back in waves.
//
// A notification is dead-lettered once it has failed `max_attempts` times in
// all, or when the next attempt would start more than `max_age` after its
// first one. A provider's Retry-After is a lower bound for the wait: the
// delay is max(jittered delay, retry_after), still subject to `max_age`.
//
// Pure: time comes in as arguments and randomness from the injected source,
// so tests are deterministic. Threading: const methods are thread-safe when
// the random source is (the default one is).

#ifndef CXP_NOTIFY_SERVICE_DELIVERY_BACKOFF_H_
#define CXP_NOTIFY_SERVICE_DELIVERY_BACKOFF_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cxp::notify::delivery {

struct BackoffPolicy {
  absl::Duration base = absl::Seconds(2);
  absl::Duration cap = absl::Minutes(30);
  int max_attempts = 10;  // attempts in all, the first one included
  absl::Duration max_age = absl::Hours(24);
};

// What to do after a failed attempt.
struct RetryDecision {
  bool dead_letter = false;
  // When to try again (unset when dead-lettering).
  absl::Time next_attempt_at = absl::InfinitePast();
  // Why dead-lettered: "gave up after 10 attempts (max 10)", "gave up after
  // 7 attempts: the next would be 24h3s after the first (max age 24h)".
  std::string reason;
};

class Backoff {
 public:
  // Uniform in [0, 1). Called once per Decide/JitteredDelay.
  using RandomFraction = std::function<double()>;

  // INVALID_ARGUMENT unless 0 < base <= cap, max_attempts >= 1 and
  // max_age > 0. `random` defaults to a thread-safe absl::BitGen source.
  static absl::StatusOr<Backoff> Create(BackoffPolicy policy, RandomFraction random = nullptr);

  const BackoffPolicy& policy() const { return policy_; }

  // min(cap, base * 2^(failed_attempts-1)): the upper bound of the wait after
  // `failed_attempts` (>= 1; smaller values count as 1) failures.
  absl::Duration MaxDelay(int failed_attempts) const;

  // A draw from [0, MaxDelay(failed_attempts)).
  absl::Duration JitteredDelay(int failed_attempts) const;

  // The decision after the `failed_attempts`-th failure (>= 1) of a
  // notification first attempted at `first_attempt_at`, now `now`;
  // `retry_after` is the provider's Retry-After, if any.
  RetryDecision Decide(int failed_attempts, absl::Time first_attempt_at, absl::Time now,
                       std::optional<absl::Duration> retry_after = std::nullopt) const;

 private:
  Backoff(BackoffPolicy policy, RandomFraction random)
      : policy_(policy), random_(std::move(random)) {}

  BackoffPolicy policy_;
  RandomFraction random_;
};

}  // namespace cxp::notify::delivery

#endif  // CXP_NOTIFY_SERVICE_DELIVERY_BACKOFF_H_
