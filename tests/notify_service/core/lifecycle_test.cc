#include "notify_service/core/lifecycle.h"

#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace cxp::notify {
namespace {

namespace v1 = ::cxp::notify::v1;
namespace type = ::cxp::type::v1;
using google::protobuf::util::TimeUtil;
using Result = v1::DeliveryAttempt::Result;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

void Attempt(v1::Notification& n, type::Channel channel, Result result, absl::Time at) {
  v1::DeliveryAttempt& attempt = *n.add_attempts();
  attempt.set_channel(channel);
  attempt.set_result(result);
  *attempt.mutable_attempt_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(at));
}

TEST(LifecycleTest, SentIsDeliveredUnlessReceiptsFollow) {
  v1::Notification n;
  Attempt(n, type::CHANNEL_SMS, v1::DeliveryAttempt::RESULT_SENT, kStart);
  EXPECT_EQ(AfterAttempt(n, v1::DeliveryAttempt::RESULT_SENT, false, true, std::nullopt).kind,
            NextStep::Kind::kDelivered);
  EXPECT_EQ(AfterAttempt(n, v1::DeliveryAttempt::RESULT_SENT, true, true, std::nullopt).kind,
            NextStep::Kind::kAwaitReceipt);
}

TEST(LifecycleTest, TemporaryFailuresRetryWhileTheBackoffAllowsThenMoveOn) {
  v1::Notification n;
  Attempt(n, type::CHANNEL_EMAIL, v1::DeliveryAttempt::RESULT_TEMPORARY_FAILURE, kStart);
  const NextStep retry = AfterAttempt(n, v1::DeliveryAttempt::RESULT_TEMPORARY_FAILURE, false,
                                      /*has_next_channel=*/true, kStart + absl::Minutes(1));
  ASSERT_EQ(retry.kind, NextStep::Kind::kRetry);
  EXPECT_EQ(retry.retry_at, kStart + absl::Minutes(1));
  // The backoff gave up on the channel: the next one.
  EXPECT_EQ(AfterAttempt(n, v1::DeliveryAttempt::RESULT_TEMPORARY_FAILURE, false,
                         /*has_next_channel=*/true, std::nullopt)
                .kind,
            NextStep::Kind::kNextChannel);
  // Without another channel: dead letter, to redrive once the provider is back.
  const NextStep last = AfterAttempt(n, v1::DeliveryAttempt::RESULT_TEMPORARY_FAILURE, false,
                                     /*has_next_channel=*/false, std::nullopt);
  EXPECT_EQ(last.kind, NextStep::Kind::kEnd);
  EXPECT_EQ(last.end_state, v1::Notification::STATE_DEAD_LETTERED);
  EXPECT_EQ(last.end_reason, "RETRIES_EXHAUSTED");
}

TEST(LifecycleTest, PermanentFailuresFallBackAtOnceAndFailAtTheEnd) {
  v1::Notification n;
  Attempt(n, type::CHANNEL_SMS, v1::DeliveryAttempt::RESULT_PERMANENT_FAILURE, kStart);
  EXPECT_EQ(AfterAttempt(n, v1::DeliveryAttempt::RESULT_PERMANENT_FAILURE, false, true,
                         kStart + absl::Minutes(1))
                .kind,
            NextStep::Kind::kNextChannel);
  Attempt(n, type::CHANNEL_EMAIL, v1::DeliveryAttempt::RESULT_SKIPPED, kStart);
  const NextStep end = NoChannelLeft(n);
  EXPECT_EQ(end.end_state, v1::Notification::STATE_FAILED);
  EXPECT_EQ(end.end_reason, "ALL_CHANNELS_FAILED");
}

}  // namespace
}  // namespace cxp::notify
