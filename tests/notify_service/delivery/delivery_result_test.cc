#include "notify_service/delivery/delivery_result.h"

#include "gtest/gtest.h"

namespace cxp::notify::delivery {
namespace {

TEST(SmtpReplyFailureTest, FourXxIsTransientFiveXxPermanentProgressIsNone) {
  EXPECT_EQ(SmtpReplyFailure(250), std::nullopt);
  EXPECT_EQ(SmtpReplyFailure(354), std::nullopt);
  EXPECT_EQ(SmtpReplyFailure(421), DeliveryOutcome::kTransientFailure);
  EXPECT_EQ(SmtpReplyFailure(451), DeliveryOutcome::kTransientFailure);
  EXPECT_EQ(SmtpReplyFailure(535), DeliveryOutcome::kPermanentFailure);
  EXPECT_EQ(SmtpReplyFailure(550), DeliveryOutcome::kPermanentFailure);
  EXPECT_EQ(SmtpReplyFailure(0), DeliveryOutcome::kTransientFailure);
}

TEST(HttpStatusOutcomeTest, FollowsTheIssueRules) {
  EXPECT_EQ(HttpStatusOutcome(200), DeliveryOutcome::kDelivered);
  EXPECT_EQ(HttpStatusOutcome(202), DeliveryOutcome::kDelivered);
  EXPECT_EQ(HttpStatusOutcome(204), DeliveryOutcome::kDelivered);
  EXPECT_EQ(HttpStatusOutcome(429), DeliveryOutcome::kTransientFailure);
  EXPECT_EQ(HttpStatusOutcome(408), DeliveryOutcome::kTransientFailure);
  EXPECT_EQ(HttpStatusOutcome(500), DeliveryOutcome::kTransientFailure);
  EXPECT_EQ(HttpStatusOutcome(503), DeliveryOutcome::kTransientFailure);
  EXPECT_EQ(HttpStatusOutcome(400), DeliveryOutcome::kPermanentFailure);
  EXPECT_EQ(HttpStatusOutcome(401), DeliveryOutcome::kPermanentFailure);
  EXPECT_EQ(HttpStatusOutcome(404), DeliveryOutcome::kPermanentFailure);
  EXPECT_EQ(HttpStatusOutcome(410), DeliveryOutcome::kPermanentFailure);
  EXPECT_EQ(HttpStatusOutcome(301), DeliveryOutcome::kPermanentFailure);
}

TEST(HttpFailureTest, DetailQuotesStatusAndBodyStartOnOneLine) {
  DeliveryResult result = HttpFailure(400, std::nullopt, "{\"error\":\n\"bad number\"}\n");
  EXPECT_TRUE(result.permanent());
  EXPECT_EQ(result.detail, "HTTP 400: {\"error\": \"bad number\"}");

  result = HttpFailure(503, absl::Seconds(7), "");
  EXPECT_TRUE(result.transient());
  EXPECT_EQ(result.detail, "HTTP 503");
  EXPECT_EQ(result.retry_after, absl::Seconds(7));

  result = HttpFailure(400, std::nullopt, std::string(500, 'x'));
  EXPECT_EQ(result.detail, "HTTP 400: " + std::string(200, 'x') + "...");

  result = HttpFailure(302, std::nullopt, "");
  EXPECT_TRUE(result.permanent());
  EXPECT_EQ(result.detail, "HTTP 302 (redirects are not followed)");
}

TEST(HttpFailureTest, PermanentFailureDropsRetryAfter) {
  EXPECT_EQ(HttpFailure(400, absl::Seconds(5), "").retry_after, std::nullopt);
}

TEST(ParseRetryAfterTest, DeltaSecondsAndHttpDates) {
  const absl::Time now = absl::FromUnixSeconds(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wednesday, 21-Oct-15 07:29:00 GMT", now), absl::Seconds(60));
  EXPECT_EQ(ParseRetryAfter("Wed Oct 21 07:28:05 2015", now), absl::Seconds(5));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("12abc", now), std::nullopt);
}

TEST(DeliveryResultTest, FactoriesAndDebugString) {
  DeliveryResult delivered = DeliveryResult::Delivered("42", "HTTP 202");
  EXPECT_TRUE(delivered.delivered());
  EXPECT_EQ(delivered.DebugString(), "delivered (id 42): HTTP 202");

  DeliveryResult transient = DeliveryResult::Transient("HTTP 429", absl::Seconds(-3));
  EXPECT_TRUE(transient.transient());
  EXPECT_EQ(transient.retry_after, absl::ZeroDuration());
  EXPECT_EQ(DeliveryResult::Transient("HTTP 503", absl::Seconds(7)).DebugString(),
            "transient failure: HTTP 503 (retry after 7s)");
  EXPECT_EQ(DeliveryResult::Permanent("SMTP 550 no").DebugString(),
            "permanent failure: SMTP 550 no");
}

TEST(FormatTimeoutTest, SecondsAndMilliseconds) {
  EXPECT_EQ(FormatTimeout(absl::Seconds(10)), "10s");
  EXPECT_EQ(FormatTimeout(absl::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatTimeout(absl::Milliseconds(250)), "250ms");
}

}  // namespace
}  // namespace cxp::notify::delivery
