#include "notify_service/delivery/backoff.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cxp::notify::delivery {
namespace {

using ::testing::HasSubstr;

BackoffPolicy Policy() {
  BackoffPolicy policy;
  policy.base = absl::Seconds(1);
  policy.cap = absl::Seconds(60);
  policy.max_attempts = 10;
  policy.max_age = absl::Hours(1);
  return policy;
}

Backoff MakeBackoff(Backoff::RandomFraction random, BackoffPolicy policy = Policy()) {
  absl::StatusOr<Backoff> backoff = Backoff::Create(policy, std::move(random));
  EXPECT_TRUE(backoff.ok()) << backoff.status();
  return *std::move(backoff);
}

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

TEST(BackoffTest, UpperBoundDoublesFromBaseUntilCap) {
  Backoff backoff = MakeBackoff([] { return 0.5; });
  const std::vector<int64_t> expected_seconds = {1, 2, 4, 8, 16, 32, 60, 60};
  for (int failed = 1; failed <= 8; ++failed) {
    EXPECT_EQ(backoff.MaxDelay(failed), absl::Seconds(expected_seconds[failed - 1]))
        << "after " << failed << " failures";
  }
  EXPECT_EQ(backoff.MaxDelay(0), absl::Seconds(1));
  EXPECT_EQ(backoff.MaxDelay(1'000'000), absl::Seconds(60));  // no overflow
}

TEST(BackoffTest, FullJitterScalesTheBoundByTheRandomFraction) {
  double fraction = 0.0;
  Backoff backoff = MakeBackoff([&fraction] { return fraction; });
  EXPECT_EQ(backoff.JitteredDelay(4), absl::ZeroDuration());
  fraction = 0.25;
  EXPECT_EQ(backoff.JitteredDelay(4), absl::Seconds(2));  // 0.25 * 8s
  fraction = 0.5;
  EXPECT_EQ(backoff.JitteredDelay(10), absl::Seconds(30));  // 0.5 * cap
  fraction = 1.0;  // a source at its (excluded) top still stays below the bound
  EXPECT_LT(backoff.JitteredDelay(3), absl::Seconds(4));
  EXPECT_GT(backoff.JitteredDelay(3), absl::Seconds(4) - absl::Milliseconds(1));
}

TEST(BackoffTest, DefaultRandomStaysWithinRangeAndVaries) {
  Backoff backoff = MakeBackoff(nullptr);
  absl::Duration smallest = absl::InfiniteDuration();
  absl::Duration largest = absl::ZeroDuration();
  for (int i = 0; i < 2000; ++i) {
    const absl::Duration delay = backoff.JitteredDelay(5);  // bound 16s
    ASSERT_GE(delay, absl::ZeroDuration());
    ASSERT_LT(delay, absl::Seconds(16));
    smallest = std::min(smallest, delay);
    largest = std::max(largest, delay);
  }
  // Full jitter uses the whole range, not just its top.
  EXPECT_LT(smallest, absl::Seconds(2));
  EXPECT_GT(largest, absl::Seconds(14));
}

TEST(BackoffTest, DecideSchedulesTheNextAttemptFromNow) {
  Backoff backoff = MakeBackoff([] { return 0.5; });
  const absl::Time now = kStart + absl::Seconds(10);
  RetryDecision decision = backoff.Decide(3, kStart, now);  // bound 4s
  EXPECT_FALSE(decision.dead_letter);
  EXPECT_EQ(decision.next_attempt_at, now + absl::Seconds(2));
  EXPECT_TRUE(decision.reason.empty());
}

TEST(BackoffTest, RetryAfterIsALowerBound) {
  Backoff backoff = MakeBackoff([] { return 0.5; });
  // Longer than the jittered 2s: the provider's wish wins.
  EXPECT_EQ(backoff.Decide(3, kStart, kStart, absl::Seconds(30)).next_attempt_at,
            kStart + absl::Seconds(30));
  // Shorter: the jittered delay stands.
  EXPECT_EQ(backoff.Decide(3, kStart, kStart, absl::Seconds(1)).next_attempt_at,
            kStart + absl::Seconds(2));
}

TEST(BackoffTest, DeadLettersAfterMaxAttempts) {
  BackoffPolicy policy = Policy();
  policy.max_attempts = 3;
  Backoff backoff = MakeBackoff([] { return 0.0; }, policy);
  EXPECT_FALSE(backoff.Decide(1, kStart, kStart).dead_letter);
  EXPECT_FALSE(backoff.Decide(2, kStart, kStart).dead_letter);
  RetryDecision decision = backoff.Decide(3, kStart, kStart);
  EXPECT_TRUE(decision.dead_letter);
  EXPECT_EQ(decision.reason, "gave up after 3 attempts (max 3)");
}

TEST(BackoffTest, DeadLettersWhenTheNextAttemptWouldPassMaxAge) {
  Backoff backoff = MakeBackoff([] { return 0.5; });  // after 8 failures: 30s
  const absl::Time almost_an_hour = kStart + absl::Minutes(59) + absl::Seconds(20);
  EXPECT_FALSE(backoff.Decide(8, kStart, almost_an_hour).dead_letter);  // 59:50 <= 1h
  RetryDecision decision = backoff.Decide(8, kStart, almost_an_hour + absl::Seconds(11));
  EXPECT_TRUE(decision.dead_letter);
  EXPECT_THAT(decision.reason, HasSubstr("the next would be 1h1s after the first"));
  EXPECT_THAT(decision.reason, HasSubstr("max age 1h"));
  // A Retry-After past the max age dead-letters too.
  EXPECT_TRUE(backoff.Decide(1, kStart, kStart, absl::Hours(2)).dead_letter);
}

TEST(BackoffTest, ScheduleOfAWholeLifeIsBoundedAndEndsInADeadLetter) {
  // Each delay stays below its bound; the sum of the bounds over a life of
  // max_attempts limits how long a notification can be retried.
  std::vector<double> fractions = {0.9, 0.1, 0.5, 0.7, 0.3, 0.99, 0.0, 0.6, 0.2};
  size_t next = 0;
  Backoff backoff = MakeBackoff([&] { return fractions[next++ % fractions.size()]; });
  absl::Time now = kStart;
  int failed = 0;
  while (true) {
    ++failed;
    RetryDecision decision = backoff.Decide(failed, kStart, now);
    if (decision.dead_letter) break;
    const absl::Duration delay = decision.next_attempt_at - now;
    EXPECT_GE(delay, absl::ZeroDuration());
    EXPECT_LT(delay, backoff.MaxDelay(failed));
    now = decision.next_attempt_at;
  }
  EXPECT_EQ(failed, 10);
  EXPECT_LT(now - kStart, absl::Seconds(1 + 2 + 4 + 8 + 16 + 32 + 60 + 60 + 60));
}

TEST(BackoffTest, CreateRejectsNonsense) {
  BackoffPolicy policy = Policy();
  policy.base = absl::ZeroDuration();
  EXPECT_EQ(Backoff::Create(policy).status().code(), absl::StatusCode::kInvalidArgument);
  policy = Policy();
  policy.cap = absl::Milliseconds(500);
  EXPECT_EQ(Backoff::Create(policy).status().code(), absl::StatusCode::kInvalidArgument);
  policy = Policy();
  policy.max_attempts = 0;
  EXPECT_EQ(Backoff::Create(policy).status().code(), absl::StatusCode::kInvalidArgument);
  policy = Policy();
  policy.max_age = absl::ZeroDuration();
  EXPECT_EQ(Backoff::Create(policy).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cxp::notify::delivery
