#include "notify_service/core/send_window.h"

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace cxp::notify {
namespace {

namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;

absl::Time Seoul(int day, int hour, int minute = 0) {
  absl::TimeZone seoul;
  EXPECT_TRUE(absl::LoadTimeZone("Asia/Seoul", &seoul));
  return absl::FromCivil(absl::CivilMinute(2026, 12, day, hour, minute), seoul);
}

// Quiet 21:00-08:00 every day (past midnight), and 20:00-22:00 on top:
// overlapping windows chain.
ctx::ContactPreferences Nights() {
  ctx::ContactPreferences preferences;
  for (auto [start, end] : {std::pair{21, 8}, std::pair{20, 22}}) {
    type::WeeklyTimeWindow& window = *preferences.add_quiet_hours();
    for (int day = type::DAY_OF_WEEK_MONDAY; day <= type::DAY_OF_WEEK_SUNDAY; ++day) {
      window.add_days(static_cast<type::DayOfWeek>(day));
    }
    window.mutable_start_time()->set_hours(start);
    window.mutable_end_time()->set_hours(end);
  }
  return preferences;
}

TEST(QuietHoursTest, HoldsUntilTheNightEndsInTheCustomersZone) {
  auto quiet = QuietHours(Nights(), "Asia/Seoul");
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  ASSERT_TRUE(quiet->has_value());
  EXPECT_EQ(QuietUntil(**quiet, Seoul(2, 14)), std::nullopt);     // afternoon: send
  EXPECT_EQ(QuietUntil(**quiet, Seoul(2, 20, 30)), Seoul(3, 8));  // chained windows
  EXPECT_EQ(QuietUntil(**quiet, Seoul(2, 22, 30)), Seoul(3, 8));  // across midnight
  EXPECT_EQ(QuietUntil(**quiet, Seoul(3, 7, 59)), Seoul(3, 8));
  EXPECT_EQ(QuietUntil(**quiet, Seoul(3, 8)), std::nullopt);
}

TEST(QuietHoursTest, NoneOrBrokenPreferences) {
  auto none = QuietHours(ctx::ContactPreferences(), "Asia/Seoul");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(QuietHours(Nights(), "Mars/Olympus").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(QuietHoursTest, OnlyTransactionalWithATemplateBypassGoesThrough) {
  EXPECT_FALSE(QuietHoursApply(type::PURPOSE_TRANSACTIONAL, /*template_allows_bypass=*/true));
  EXPECT_TRUE(QuietHoursApply(type::PURPOSE_TRANSACTIONAL, false));
  EXPECT_TRUE(QuietHoursApply(type::PURPOSE_MARKETING, true));
  EXPECT_TRUE(QuietHoursApply(type::PURPOSE_SERVICE, true));
}

TEST(FrequencyCapTest, DefersToWhenASlotFreesOrDrops) {
  const absl::Time now = Seoul(2, 12);
  FrequencyPolicy policy;
  policy[type::PURPOSE_MARKETING] = {.max_sends = 2, .window = absl::Hours(24)};
  const std::vector<absl::Time> sent = {now - absl::Hours(30), now - absl::Hours(20),
                                        now - absl::Hours(2)};
  CapDecision decision = CheckFrequencyCap(policy, type::PURPOSE_MARKETING, sent, now);
  EXPECT_EQ(decision.kind, CapDecision::Kind::kDefer);
  EXPECT_EQ(decision.defer_until, now + absl::Hours(4));  // the -20h send leaves the window
  EXPECT_EQ(decision.reason, "at most 2 MARKETING per 24h");

  EXPECT_EQ(CheckFrequencyCap(policy, type::PURPOSE_MARKETING, {now - absl::Hours(2)}, now).kind,
            CapDecision::Kind::kSend);
  EXPECT_EQ(CheckFrequencyCap(policy, type::PURPOSE_SERVICE, sent, now).kind,
            CapDecision::Kind::kSend);  // not capped
  policy[type::PURPOSE_MARKETING].action = FrequencyCap::Action::kDrop;
  EXPECT_EQ(CheckFrequencyCap(policy, type::PURPOSE_MARKETING, sent, now).kind,
            CapDecision::Kind::kDrop);
}

}  // namespace
}  // namespace cxp::notify
