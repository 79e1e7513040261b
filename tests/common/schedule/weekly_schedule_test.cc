#include "common/schedule/weekly_schedule.h"

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "cxp/routing/v1/queue.pb.h"
#include "cxp/type/v1/schedule.pb.h"
#include "gtest/gtest.h"

namespace cxp::schedule {
namespace {

using cxp::routing::v1::BusinessHours;
using cxp::type::v1::Date;
using cxp::type::v1::WeeklyTimeWindow;
using Windows = google::protobuf::RepeatedPtrField<WeeklyTimeWindow>;
using Dates = google::protobuf::RepeatedPtrField<Date>;

constexpr int kMon = 1, kTue = 2, kWed = 3, kThu = 4, kFri = 5, kSat = 6, kSun = 7;

WeeklyTimeWindow Window(std::initializer_list<int> days, int start_h, int start_m, int end_h,
                        int end_m) {
  WeeklyTimeWindow window;
  for (int d : days) window.add_days(static_cast<cxp::type::v1::DayOfWeek>(d));
  window.mutable_start_time()->set_hours(start_h);
  window.mutable_start_time()->set_minutes(start_m);
  window.mutable_end_time()->set_hours(end_h);
  window.mutable_end_time()->set_minutes(end_m);
  return window;
}

Date MakeDate(int y, int m, int d) {
  Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

struct Spec {
  std::string time_zone;
  std::vector<WeeklyTimeWindow> windows;
  std::vector<Date> closed;
};

Windows ToWindows(const std::vector<WeeklyTimeWindow>& v) { return Windows(v.begin(), v.end()); }
Dates ToDates(const std::vector<Date>& v) { return Dates(v.begin(), v.end()); }

WeeklySchedule Make(const Spec& spec) {
  absl::StatusOr<WeeklySchedule> s =
      WeeklySchedule::Create(spec.time_zone, ToWindows(spec.windows), ToDates(spec.closed), "s");
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(name, &tz)) << name << " (is tzdata installed?)";
  return tz;
}

// A local time in a zone without a transition at that moment.
absl::Time Local(const absl::TimeZone& tz, int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), tz);
}

absl::Time Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// --- Basic business hours ---------------------------------------------------

// Mon-Fri 09:00-18:00 in Seoul; the week of 2024-09-09 (a Monday).
Spec SeoulOffice() {
  return {"Asia/Seoul", {Window({kMon, kTue, kWed, kThu, kFri}, 9, 0, 18, 0)}, {}};
}

TEST(WeeklyScheduleTest, BusinessHoursStartInclusiveEndExclusive) {
  const WeeklySchedule s = Make(SeoulOffice());
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  EXPECT_EQ(s.time_zone().name(), "Asia/Seoul");
  struct Case {
    absl::Time t;
    bool open;
  };
  const Case cases[] = {
      {Local(seoul, 2024, 9, 9, 8, 59, 59), false},  // Mon
      {Local(seoul, 2024, 9, 9, 8, 59, 59) + absl::Milliseconds(999), false},
      {Local(seoul, 2024, 9, 9, 9, 0), true},
      {Local(seoul, 2024, 9, 9, 12, 30), true},
      {Local(seoul, 2024, 9, 9, 17, 59, 59) + absl::Nanoseconds(999999999), true},
      {Local(seoul, 2024, 9, 9, 18, 0), false},
      {Local(seoul, 2024, 9, 11, 3, 0), false},   // Wed night
      {Local(seoul, 2024, 9, 13, 17, 0), true},   // Fri
      {Local(seoul, 2024, 9, 14, 10, 0), false},  // Sat
      {Local(seoul, 2024, 9, 15, 10, 0), false},  // Sun
      // The same instant seen from UTC: 09:00 KST is 00:00 UTC.
      {Utc(2024, 9, 10, 0, 0), true},
      {Utc(2024, 9, 9, 23, 59), false},
  };
  for (const Case& c : cases) EXPECT_EQ(s.Contains(c.t), c.open) << c.t;
}

TEST(WeeklyScheduleTest, OvernightWindowRunsIntoTheNextDay) {
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  const WeeklySchedule s = Make({"Asia/Seoul", {Window({kMon}, 21, 0, 8, 0)}, {}});
  struct Case {
    absl::Time t;
    bool open;
  };
  const Case cases[] = {
      {Local(seoul, 2024, 9, 9, 20, 59), false},  // Mon
      {Local(seoul, 2024, 9, 9, 21, 0), true},   {Local(seoul, 2024, 9, 9, 23, 59, 59), true},
      {Local(seoul, 2024, 9, 10, 0, 0), true},  // Tue
      {Local(seoul, 2024, 9, 10, 7, 59), true},  {Local(seoul, 2024, 9, 10, 8, 0), false},
      {Local(seoul, 2024, 9, 10, 21, 0), false},  // Tuesday has no window
      {Local(seoul, 2024, 9, 9, 3, 0), false},    // Monday morning: Sunday has none
  };
  for (const Case& c : cases) EXPECT_EQ(s.Contains(c.t), c.open) << c.t;
}

TEST(WeeklyScheduleTest, SundayNightWindowWrapsIntoMonday) {
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  const WeeklySchedule s = Make({"Asia/Seoul", {Window({kSun}, 21, 0, 8, 0)}, {}});
  struct Case {
    absl::Time t;
    bool open;
  };
  const Case cases[] = {
      {Local(seoul, 2024, 9, 15, 20, 59), false},                                           // Sun
      {Local(seoul, 2024, 9, 15, 21, 0), true},   {Local(seoul, 2024, 9, 16, 0, 0), true},  // Mon
      {Local(seoul, 2024, 9, 16, 7, 59), true},   {Local(seoul, 2024, 9, 16, 8, 0), false},
      {Local(seoul, 2024, 9, 14, 23, 0), false},  // Sat
      {Local(seoul, 2024, 9, 16, 21, 0), false},
  };
  for (const Case& c : cases) EXPECT_EQ(s.Contains(c.t), c.open) << c.t;
  EXPECT_EQ(s.NextChange(Local(seoul, 2024, 9, 15, 22, 0)), Local(seoul, 2024, 9, 16, 8, 0));
  EXPECT_EQ(s.NextStart(Local(seoul, 2024, 9, 16, 8, 0)), Local(seoul, 2024, 9, 22, 21, 0));
}

TEST(WeeklyScheduleTest, EqualStartAndEndIsTwentyFourHours) {
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  const WeeklySchedule s = Make({"Asia/Seoul", {Window({kWed}, 10, 0, 10, 0)}, {}});
  EXPECT_FALSE(s.Contains(Local(seoul, 2024, 9, 11, 9, 59)));
  EXPECT_TRUE(s.Contains(Local(seoul, 2024, 9, 11, 10, 0)));
  EXPECT_TRUE(s.Contains(Local(seoul, 2024, 9, 12, 9, 59)));
  EXPECT_FALSE(s.Contains(Local(seoul, 2024, 9, 12, 10, 0)));
  EXPECT_EQ(s.NextChange(Local(seoul, 2024, 9, 11, 10, 0)), Local(seoul, 2024, 9, 12, 10, 0));

  // 00:00-00:00 on every day: open all the time.
  const WeeklySchedule always =
      Make({"Asia/Seoul", {Window({kMon, kTue, kWed, kThu, kFri, kSat, kSun}, 0, 0, 0, 0)}, {}});
  for (int h = 0; h < 24 * 7; h += 5) {
    EXPECT_TRUE(always.Contains(Local(seoul, 2024, 9, 9, 0, 0) + absl::Hours(h)));
  }
  EXPECT_EQ(always.NextChange(Local(seoul, 2024, 9, 9, 0, 0)), std::nullopt);
}

TEST(WeeklyScheduleTest, OverlappingAndTouchingWindowsMerge) {
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  const WeeklySchedule s = Make(
      {"Asia/Seoul",
       {Window({kMon}, 9, 0, 12, 0), Window({kMon}, 11, 0, 14, 0), Window({kMon}, 14, 0, 15, 0)},
       {}});
  EXPECT_EQ(s.NextChange(Local(seoul, 2024, 9, 9, 9, 0)), Local(seoul, 2024, 9, 9, 15, 0));
  EXPECT_TRUE(s.Contains(Local(seoul, 2024, 9, 9, 14, 0)));
}

TEST(WeeklyScheduleTest, NoWindowsIsNeverOpen) {
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  const WeeklySchedule s = Make({"Asia/Seoul", {}, {}});
  EXPECT_FALSE(s.Contains(Local(seoul, 2024, 9, 9, 12, 0)));
  EXPECT_EQ(s.NextStart(Local(seoul, 2024, 9, 9, 12, 0)), std::nullopt);
  EXPECT_EQ(s.NextChange(Local(seoul, 2024, 9, 9, 12, 0)), std::nullopt);
}

TEST(WeeklyScheduleTest, InfiniteTimesAreOutsideWithNoNext) {
  const WeeklySchedule s = Make(SeoulOffice());
  EXPECT_FALSE(s.Contains(absl::InfiniteFuture()));
  EXPECT_FALSE(s.Contains(absl::InfinitePast()));
  EXPECT_EQ(s.NextStart(absl::InfinitePast()), std::nullopt);
  EXPECT_EQ(s.NextChange(absl::InfiniteFuture()), std::nullopt);
}

// --- Closed dates -------------------------------------------------------------

TEST(WeeklyScheduleTest, HolidayClosesTheWholeLocalDayIncludingAnOvernightTail) {
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  // Chuseok 2024: Mon 16 to Wed 18 September.
  const WeeklySchedule s =
      Make({"Asia/Seoul",
            {Window({kMon, kTue, kWed, kThu, kFri}, 9, 0, 18, 0), Window({kSun}, 21, 0, 8, 0)},
            {MakeDate(2024, 9, 16), MakeDate(2024, 9, 17), MakeDate(2024, 9, 18)}});
  EXPECT_TRUE(s.Contains(Local(seoul, 2024, 9, 15, 23, 59)));  // Sunday itself is open
  EXPECT_FALSE(s.Contains(Local(seoul, 2024, 9, 16, 0, 0)));   // the tail is on the holiday
  EXPECT_FALSE(s.Contains(Local(seoul, 2024, 9, 16, 7, 0)));
  EXPECT_FALSE(s.Contains(Local(seoul, 2024, 9, 16, 10, 0)));
  EXPECT_FALSE(s.Contains(Local(seoul, 2024, 9, 18, 10, 0)));
  EXPECT_TRUE(s.Contains(Local(seoul, 2024, 9, 19, 9, 0)));
  // The week before is unaffected.
  EXPECT_TRUE(s.Contains(Local(seoul, 2024, 9, 9, 7, 0)));
  EXPECT_TRUE(s.Contains(Local(seoul, 2024, 9, 9, 10, 0)));
  // The timer fires at the start of the holiday, not at 08:00.
  EXPECT_EQ(s.NextChange(Local(seoul, 2024, 9, 15, 22, 0)), Local(seoul, 2024, 9, 16, 0, 0));
  EXPECT_EQ(s.NextStart(Local(seoul, 2024, 9, 13, 18, 0)), Local(seoul, 2024, 9, 15, 21, 0));
  EXPECT_EQ(s.NextStart(Local(seoul, 2024, 9, 16, 0, 0)), Local(seoul, 2024, 9, 19, 9, 0));
}

TEST(WeeklyScheduleTest, AlwaysOpenChangesOnlyAtHolidays) {
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  const WeeklySchedule s =
      Make({"Asia/Seoul",
            {Window({kMon, kTue, kWed, kThu, kFri, kSat, kSun}, 0, 0, 0, 0)},
            {MakeDate(2025, 1, 1), MakeDate(2025, 1, 2), MakeDate(2026, 12, 1)}});
  const absl::Time from = Local(seoul, 2024, 6, 1, 12, 0);
  EXPECT_EQ(s.NextChange(from), Local(seoul, 2025, 1, 1, 0, 0));
  EXPECT_EQ(s.NextChange(from, absl::Hours(24 * 30)), std::nullopt);
  EXPECT_EQ(s.NextChange(Local(seoul, 2025, 1, 1, 0, 0)), Local(seoul, 2025, 1, 3, 0, 0));
  EXPECT_EQ(s.NextStart(Local(seoul, 2025, 1, 2, 13, 0)), Local(seoul, 2025, 1, 3, 0, 0));
  // 2026-12-01 is beyond the default 400-day horizon from 2025-01-03.
  EXPECT_EQ(s.NextChange(Local(seoul, 2025, 1, 3, 0, 0)), std::nullopt);
  EXPECT_EQ(s.NextChange(Local(seoul, 2025, 1, 3, 0, 0), absl::Hours(24 * 1000)),
            Local(seoul, 2026, 12, 1, 0, 0));
}

// --- NextStart / NextChange -------------------------------------------------

TEST(WeeklyScheduleTest, NextStart) {
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  const WeeklySchedule s = Make(SeoulOffice());
  struct Case {
    const char* what;
    absl::Time t;
    std::optional<absl::Time> next;
  };
  const Case cases[] = {
      {"inside", Local(seoul, 2024, 9, 9, 10, 17, 3), Local(seoul, 2024, 9, 9, 10, 17, 3)},
      {"at the start", Local(seoul, 2024, 9, 9, 9, 0), Local(seoul, 2024, 9, 9, 9, 0)},
      {"before", Local(seoul, 2024, 9, 9, 7, 0), Local(seoul, 2024, 9, 9, 9, 0)},
      {"at the end", Local(seoul, 2024, 9, 10, 18, 0), Local(seoul, 2024, 9, 11, 9, 0)},
      {"after the week's last window", Local(seoul, 2024, 9, 13, 19, 0),
       Local(seoul, 2024, 9, 16, 9, 0)},
      {"weekend", Local(seoul, 2024, 9, 15, 23, 59, 59) + absl::Milliseconds(500),
       Local(seoul, 2024, 9, 16, 9, 0)},
  };
  for (const Case& c : cases) EXPECT_EQ(s.NextStart(c.t), c.next) << c.what;

  const absl::Time friday_evening = Local(seoul, 2024, 9, 13, 19, 0);
  const absl::Time monday_nine = Local(seoul, 2024, 9, 16, 9, 0);
  EXPECT_EQ(s.NextStart(friday_evening, absl::Hours(24)), std::nullopt);
  EXPECT_EQ(s.NextStart(friday_evening, monday_nine - friday_evening), monday_nine);
  EXPECT_EQ(s.NextStart(friday_evening, monday_nine - friday_evening - absl::Seconds(1)),
            std::nullopt);
  EXPECT_EQ(s.NextStart(friday_evening, -absl::Seconds(1)), std::nullopt);
}

TEST(WeeklyScheduleTest, NextStartSkipsHolidays) {
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  Spec spec = SeoulOffice();
  spec.closed = {MakeDate(2024, 9, 16), MakeDate(2024, 9, 17), MakeDate(2024, 9, 18)};
  const WeeklySchedule s = Make(spec);
  EXPECT_EQ(s.NextStart(Local(seoul, 2024, 9, 13, 18, 0)), Local(seoul, 2024, 9, 19, 9, 0));
  EXPECT_EQ(s.NextChange(Local(seoul, 2024, 9, 13, 18, 0)), Local(seoul, 2024, 9, 19, 9, 0));
}

TEST(WeeklyScheduleTest, NextChangeAlternatesOverAWeek) {
  const absl::TimeZone seoul = Zone("Asia/Seoul");
  const WeeklySchedule s = Make(SeoulOffice());
  std::vector<absl::Time> changes;
  absl::Time t = Local(seoul, 2024, 9, 9, 0, 0);
  for (int i = 0; i < 11; ++i) {
    const std::optional<absl::Time> next = s.NextChange(t);
    ASSERT_TRUE(next.has_value());
    changes.push_back(*next);
    t = *next;
  }
  std::vector<absl::Time> want;
  for (int d = 9; d <= 13; ++d) {
    want.push_back(Local(seoul, 2024, 9, d, 9, 0));
    want.push_back(Local(seoul, 2024, 9, d, 18, 0));
  }
  want.push_back(Local(seoul, 2024, 9, 16, 9, 0));
  EXPECT_EQ(changes, want);
}

// --- Daylight saving time ----------------------------------------------------

TEST(WeeklyScheduleTest, NewYorkSpringForward) {
  // 2024-03-10 (a Sunday): 02:00 EST jumps to 03:00 EDT at 07:00 UTC.
  const WeeklySchedule straddles = Make({"America/New_York", {Window({kSun}, 1, 30, 3, 0)}, {}});
  EXPECT_FALSE(straddles.Contains(Utc(2024, 3, 10, 6, 29, 59)));
  EXPECT_TRUE(straddles.Contains(Utc(2024, 3, 10, 6, 30)));  // 01:30 EST
  EXPECT_TRUE(straddles.Contains(Utc(2024, 3, 10, 6, 59, 59)));
  EXPECT_FALSE(straddles.Contains(Utc(2024, 3, 10, 7, 0)));  // 03:00 EDT: 30 minutes in all
  EXPECT_EQ(straddles.NextChange(Utc(2024, 3, 10, 6, 0)), Utc(2024, 3, 10, 6, 30));
  EXPECT_EQ(straddles.NextChange(Utc(2024, 3, 10, 6, 30)), Utc(2024, 3, 10, 7, 0));
  // A week later, a normal 90 minutes (EDT).
  EXPECT_EQ(straddles.NextChange(Utc(2024, 3, 10, 7, 0)), Utc(2024, 3, 17, 5, 30));
  EXPECT_EQ(straddles.NextChange(Utc(2024, 3, 17, 5, 30)), Utc(2024, 3, 17, 7, 0));

  // Starting inside the gap: opens at the first valid instant, 03:00 EDT.
  const WeeklySchedule starts_in_gap =
      Make({"America/New_York", {Window({kSun}, 2, 30, 4, 0)}, {}});
  EXPECT_FALSE(starts_in_gap.Contains(Utc(2024, 3, 10, 6, 59, 59)));
  EXPECT_TRUE(starts_in_gap.Contains(Utc(2024, 3, 10, 7, 0)));
  EXPECT_FALSE(starts_in_gap.Contains(Utc(2024, 3, 10, 8, 0)));  // 04:00 EDT
  EXPECT_EQ(starts_in_gap.NextStart(Utc(2024, 3, 10, 5, 0)), Utc(2024, 3, 10, 7, 0));

  // Wholly inside the gap: does not happen that day; no spurious change.
  const WeeklySchedule in_gap = Make({"America/New_York", {Window({kSun}, 2, 10, 2, 40)}, {}});
  EXPECT_FALSE(in_gap.Contains(Utc(2024, 3, 10, 7, 0)));
  EXPECT_EQ(in_gap.NextChange(Utc(2024, 3, 10, 5, 0)), Utc(2024, 3, 17, 6, 10));
  EXPECT_EQ(in_gap.NextStart(Utc(2024, 3, 10, 5, 0)), Utc(2024, 3, 17, 6, 10));
}

TEST(WeeklyScheduleTest, NewYorkFallBack) {
  // 2024-11-03 (a Sunday): 02:00 EDT falls back to 01:00 EST at 06:00 UTC,
  // so 01:00-01:59 local happens twice. Boundaries take the first pass.
  const WeeklySchedule straddles = Make({"America/New_York", {Window({kSun}, 1, 30, 3, 0)}, {}});
  EXPECT_FALSE(straddles.Contains(Utc(2024, 11, 3, 5, 29, 59)));
  EXPECT_TRUE(straddles.Contains(Utc(2024, 11, 3, 5, 30)));  // 01:30 EDT
  EXPECT_TRUE(straddles.Contains(Utc(2024, 11, 3, 6, 0)));   // 01:00 EST
  EXPECT_TRUE(straddles.Contains(Utc(2024, 11, 3, 6, 45)));  // 01:45 EST
  EXPECT_TRUE(straddles.Contains(Utc(2024, 11, 3, 7, 59, 59)));
  EXPECT_FALSE(straddles.Contains(Utc(2024, 11, 3, 8, 0)));  // 03:00 EST: 2.5 hours in all
  EXPECT_EQ(straddles.NextChange(Utc(2024, 11, 3, 5, 0)), Utc(2024, 11, 3, 5, 30));
  EXPECT_EQ(straddles.NextChange(Utc(2024, 11, 3, 5, 30)), Utc(2024, 11, 3, 8, 0));

  // Ending inside the repeated hour: ends on the first pass; the second pass
  // (01:00-01:30 EST) stays closed.
  const WeeklySchedule ends_in_repeat =
      Make({"America/New_York", {Window({kSun}, 0, 0, 1, 30)}, {}});
  EXPECT_TRUE(ends_in_repeat.Contains(Utc(2024, 11, 3, 5, 29)));   // 01:29 EDT
  EXPECT_FALSE(ends_in_repeat.Contains(Utc(2024, 11, 3, 5, 30)));  // 01:30 EDT
  EXPECT_FALSE(ends_in_repeat.Contains(Utc(2024, 11, 3, 6, 10)));  // 01:10 EST
  EXPECT_EQ(ends_in_repeat.NextChange(Utc(2024, 11, 3, 5, 0)), Utc(2024, 11, 3, 5, 30));
  EXPECT_EQ(ends_in_repeat.NextChange(Utc(2024, 11, 3, 5, 30)), Utc(2024, 11, 10, 5, 0));

  // Wholly inside the repeated hour: only the first pass.
  const WeeklySchedule in_repeat = Make({"America/New_York", {Window({kSun}, 1, 15, 1, 45)}, {}});
  EXPECT_TRUE(in_repeat.Contains(Utc(2024, 11, 3, 5, 15)));
  EXPECT_FALSE(in_repeat.Contains(Utc(2024, 11, 3, 6, 15)));
  EXPECT_EQ(in_repeat.NextChange(Utc(2024, 11, 3, 5, 15)), Utc(2024, 11, 3, 5, 45));
  EXPECT_EQ(in_repeat.NextStart(Utc(2024, 11, 3, 5, 45)), Utc(2024, 11, 10, 6, 15));

  // Business hours on the fall-back day are 09:00-17:00 EST as usual.
  const WeeklySchedule day = Make({"America/New_York", {Window({kSun}, 9, 0, 17, 0)}, {}});
  EXPECT_EQ(day.NextStart(Utc(2024, 11, 3, 0, 0)), Utc(2024, 11, 3, 14, 0));
  EXPECT_EQ(day.NextChange(Utc(2024, 11, 3, 14, 0)), Utc(2024, 11, 3, 22, 0));
}

// --- Property check against a naive reference -------------------------------

// The contract spelled out directly: every occurrence of every window is
// [Boundary(start), Boundary(end)) and the local date of t is not closed.
absl::Time Boundary(const absl::TimeZone& tz, absl::CivilSecond cs) {
  const absl::TimeZone::TimeInfo info = tz.At(cs);
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

bool ReferenceContains(const Spec& spec, const absl::TimeZone& tz, absl::Time t) {
  const absl::CivilDay today(tz.At(t).cs);
  for (const Date& d : spec.closed) {
    if (absl::CivilDay(d.year(), d.month(), d.day()) == today) return false;
  }
  for (int offset = -2; offset <= 1; ++offset) {
    const absl::CivilDay day = today + offset;
    const int dow = static_cast<int>(absl::GetWeekday(day)) + 1;
    for (const WeeklyTimeWindow& w : spec.windows) {
      bool on_day = false;
      for (int d : w.days()) on_day |= d == dow;
      if (!on_day) continue;
      const absl::CivilSecond start =
          absl::CivilSecond(day) + (w.start_time().hours() * 60 + w.start_time().minutes()) * 60;
      absl::CivilSecond end =
          absl::CivilSecond(day) + (w.end_time().hours() * 60 + w.end_time().minutes()) * 60;
      if (end <= start) end += 24 * 60 * 60;
      if (Boundary(tz, start) <= t && t < Boundary(tz, end)) return true;
    }
  }
  return false;
}

// Walks [from, to) minute by minute (and at :30 seconds), following the
// NextChange() chain alongside: between two changes Contains() must be
// constant, each change must flip it exactly there, and Contains() must agree
// with the reference. NextStart() must agree with the chain.
void CheckAgainstReference(const Spec& spec, absl::Time from, absl::Time to) {
  SCOPED_TRACE(absl::StrCat(spec.time_zone, " from ", absl::FormatTime(from)));
  const WeeklySchedule s = Make(spec);
  const absl::TimeZone tz = Zone(spec.time_zone);
  bool value = s.Contains(from);
  std::optional<absl::Time> next = s.NextChange(from);
  int changes = 0;
  for (absl::Time t = from; t < to; t += absl::Seconds(30)) {
    while (next.has_value() && *next <= t) {
      const absl::Time at = *next;
      if (s.Contains(at) == value || s.Contains(at - absl::Nanoseconds(1)) != value) {
        ADD_FAILURE() << "NextChange returned " << at << " but Contains does not flip there";
        return;
      }
      value = !value;
      ++changes;
      next = s.NextChange(at);
      if (next.has_value() && *next <= at) {
        ADD_FAILURE() << "NextChange(" << at << ") = " << *next << " is not after it";
        return;
      }
    }
    if (s.Contains(t) != value) {
      ADD_FAILURE() << "Contains(" << t << ") changed without NextChange reporting it";
      return;
    }
    if (ReferenceContains(spec, tz, t) != value) {
      ADD_FAILURE() << "Contains(" << t << ") = " << value << " disagrees with the reference ("
                    << absl::FormatTime(t, tz) << " local)";
      return;
    }
    const std::optional<absl::Time> start = s.NextStart(t);
    const std::optional<absl::Time> want = value ? std::optional<absl::Time>(t) : next;
    if (start != want) {
      ADD_FAILURE() << "NextStart(" << t << ") = " << (start ? absl::FormatTime(*start) : "none")
                    << ", want " << (want ? absl::FormatTime(*want) : "none");
      return;
    }
  }
  EXPECT_GT(changes, 0);
}

TEST(WeeklySchedulePropertyTest, SeoulOfficeWithChuseok) {
  Spec spec = SeoulOffice();
  spec.windows.push_back(Window({kSun}, 21, 0, 8, 0));
  spec.closed = {MakeDate(2024, 9, 16), MakeDate(2024, 9, 17), MakeDate(2024, 9, 18)};
  CheckAgainstReference(spec, Utc(2024, 9, 8, 3, 0), Utc(2024, 9, 24, 0, 0));
}

TEST(WeeklySchedulePropertyTest, NewYorkAcrossBothTransitions) {
  // Sunday early morning (both transitions fall on a Sunday at 02:00) is
  // covered only by the Sunday windows, so each DST rule is visible.
  const Spec ends_in_transition = {
      "America/New_York",
      {Window({kMon, kTue, kWed, kThu, kFri}, 21, 0, 8, 0), Window({kSun}, 0, 0, 1, 30),
       Window({kSun}, 2, 10, 2, 40), Window({kSun}, 2, 50, 4, 0), Window({kSun}, 12, 0, 12, 0),
       Window({kSat}, 1, 15, 1, 45), Window({kWed}, 9, 0, 17, 30)},
      {MakeDate(2024, 3, 12)}};
  CheckAgainstReference(ends_in_transition, Utc(2024, 3, 6, 0, 0), Utc(2024, 3, 19, 0, 0));
  CheckAgainstReference(ends_in_transition, Utc(2024, 10, 30, 0, 0), Utc(2024, 11, 12, 0, 0));
  const Spec straddles = {"America/New_York",
                          {Window({kSat}, 23, 0, 1, 15), Window({kSun}, 1, 30, 3, 0),
                           Window({kSun}, 1, 40, 1, 50), Window({kSun}, 2, 30, 4, 0)},
                          {}};
  CheckAgainstReference(straddles, Utc(2024, 3, 6, 0, 0), Utc(2024, 3, 19, 0, 0));
  CheckAgainstReference(straddles, Utc(2024, 10, 30, 0, 0), Utc(2024, 11, 12, 0, 0));
}

TEST(WeeklySchedulePropertyTest, NewYorkHolidaysOnTransitionDays) {
  const Spec spec = {"America/New_York",
                     {Window({kSat}, 22, 0, 4, 0), Window({kSun}, 1, 0, 2, 30),
                      Window({kMon, kTue, kWed, kThu, kFri}, 8, 0, 20, 0)},
                     {MakeDate(2024, 3, 10), MakeDate(2024, 11, 3), MakeDate(2024, 11, 5)}};
  CheckAgainstReference(spec, Utc(2024, 3, 7, 0, 0), Utc(2024, 3, 14, 0, 0));
  CheckAgainstReference(spec, Utc(2024, 10, 31, 0, 0), Utc(2024, 11, 7, 0, 0));
}

TEST(WeeklySchedulePropertyTest, LordHoweHalfHourShifts) {
  // Australia/Lord_Howe moves its clocks by 30 minutes: 02:00 -> 01:30 on
  // 2024-04-07 and 02:00 -> 02:30 on 2024-10-06.
  const Spec spec = {"Australia/Lord_Howe",
                     {Window({kMon, kTue, kWed, kThu, kFri, kSat, kSun}, 1, 45, 2, 15),
                      Window({kSun}, 1, 40, 1, 50), Window({kSat}, 23, 0, 1, 35)},
                     {}};
  CheckAgainstReference(spec, Utc(2024, 4, 3, 0, 0), Utc(2024, 4, 10, 0, 0));
  CheckAgainstReference(spec, Utc(2024, 10, 2, 0, 0), Utc(2024, 10, 9, 0, 0));
}

TEST(WeeklySchedulePropertyTest, SantiagoMidnightTransitions) {
  // America/Santiago changes clocks at midnight: Sat 2024-04-06 24:00 goes
  // back to 23:00, and Sun 2024-09-08 00:00 jumps to 01:00, so the holiday's
  // day starts at 01:00.
  const Spec spec = {
      "America/Santiago",
      {Window({kSat}, 23, 30, 0, 30), Window({kSun}, 0, 0, 0, 0), Window({kFri}, 22, 0, 22, 0)},
      {MakeDate(2024, 9, 8)}};
  CheckAgainstReference(spec, Utc(2024, 4, 3, 0, 0), Utc(2024, 4, 10, 0, 0));
  CheckAgainstReference(spec, Utc(2024, 9, 4, 0, 0), Utc(2024, 9, 11, 0, 0));
}

TEST(WeeklySchedulePropertyTest, AlwaysOpenWithHolidays) {
  const Spec spec = {"America/New_York",
                     {Window({kMon, kTue, kWed, kThu, kFri, kSat, kSun}, 7, 0, 7, 0)},
                     {MakeDate(2024, 11, 2), MakeDate(2024, 11, 3), MakeDate(2024, 11, 6)}};
  CheckAgainstReference(spec, Utc(2024, 10, 30, 0, 0), Utc(2024, 11, 9, 0, 0));
}

// --- Validation -------------------------------------------------------------

BusinessHours ValidHours() {
  BusinessHours hours;
  hours.set_time_zone("Asia/Seoul");
  *hours.add_open_windows() = Window({kMon, kTue, kWed, kThu, kFri}, 9, 0, 18, 0);
  *hours.add_open_windows() = Window({kSat}, 10, 0, 14, 0);
  *hours.add_holidays()->mutable_date() = MakeDate(2024, 9, 16);
  hours.mutable_holidays(0)->set_display_name("Chuseok");
  return hours;
}

TEST(WeeklyScheduleValidationTest, AcceptsValidBusinessHours) {
  BusinessHours hours = ValidHours();
  EXPECT_TRUE(WeeklySchedule::FromBusinessHours(hours, "queue.business_hours").ok());
  *hours.add_holidays()->mutable_date() = MakeDate(2024, 2, 29);  // leap day
  hours.set_time_zone("UTC");
  EXPECT_TRUE(WeeklySchedule::FromBusinessHours(hours, "queue.business_hours").ok());
  hours.set_time_zone("Etc/GMT+9");
  EXPECT_TRUE(WeeklySchedule::FromBusinessHours(hours, "queue.business_hours").ok());
  hours.clear_holidays();
  for (int i = 0; i < kMaxClosedDates; ++i) {
    const absl::CivilDay day = absl::CivilDay(2030, 1, 1) + i;
    *hours.add_holidays()->mutable_date() =
        MakeDate(static_cast<int>(day.year()), day.month(), day.day());
  }
  EXPECT_TRUE(WeeklySchedule::FromBusinessHours(hours, "queue.business_hours").ok());
}

TEST(WeeklyScheduleValidationTest, EveryErrorNamesTheField) {
  struct Case {
    const char* what;
    void (*mutate)(BusinessHours&);
    std::string message;
  };
  const std::string f = "queue.business_hours";
  const Case cases[] = {
      {"no time zone", [](BusinessHours& h) { h.clear_time_zone(); },
       f + ".time_zone: must not be empty"},
      {"unknown time zone", [](BusinessHours& h) { h.set_time_zone("Mars/Olympus_Mons"); },
       f + ".time_zone: unknown IANA time zone \"Mars/Olympus_Mons\" (expected e.g. "
           "\"Asia/Seoul\")"},
      {"absolute path", [](BusinessHours& h) { h.set_time_zone("/usr/share/zoneinfo/UTC"); },
       f + ".time_zone: unknown IANA time zone \"/usr/share/zoneinfo/UTC\" (expected e.g. "
           "\"Asia/Seoul\")"},
      {"relative path", [](BusinessHours& h) { h.set_time_zone("Asia/../Asia/Seoul"); },
       f + ".time_zone: unknown IANA time zone \"Asia/../Asia/Seoul\" (expected e.g. "
           "\"Asia/Seoul\")"},
      {"file: name", [](BusinessHours& h) { h.set_time_zone("file:UTC"); },
       f + ".time_zone: unknown IANA time zone \"file:UTC\" (expected e.g. \"Asia/Seoul\")"},
      {"host zone", [](BusinessHours& h) { h.set_time_zone("localtime"); },
       f + ".time_zone: unknown IANA time zone \"localtime\" (expected e.g. \"Asia/Seoul\")"},
      {"control character", [](BusinessHours& h) { h.set_time_zone("Asia/Seoul\n"); },
       f + ".time_zone: unknown IANA time zone \"Asia/Seoul\\n\" (expected e.g. "
           "\"Asia/Seoul\")"},
      {"too long", [](BusinessHours& h) { h.set_time_zone(std::string(65, 'A')); },
       f + ".time_zone: unknown IANA time zone \"" + std::string(64, 'A') +
           "...\" (expected e.g. \"Asia/Seoul\")"},
      {"no windows", [](BusinessHours& h) { h.clear_open_windows(); },
       f + ".open_windows: must not be empty"},
      {"no days", [](BusinessHours& h) { h.mutable_open_windows(1)->clear_days(); },
       f + ".open_windows[1].days: must not be empty"},
      {"repeated day",
       [](BusinessHours& h) {
         *h.mutable_open_windows(0) = Window({kMon, kMon}, 9, 0, 18, 0);
       },
       f + ".open_windows[0].days[1]: DAY_OF_WEEK_MONDAY is listed twice"},
      {"unspecified day",
       [](BusinessHours& h) {
         *h.mutable_open_windows(1) = Window({kSat, 0}, 9, 0, 18, 0);
       },
       f + ".open_windows[1].days[1]: must be a day, not DAY_OF_WEEK_UNSPECIFIED"},
      {"unknown day",
       [](BusinessHours& h) { *h.mutable_open_windows(0) = Window({8}, 9, 0, 18, 0); },
       f + ".open_windows[0].days[0]: unknown DayOfWeek value 8"},
      {"start hour 24",
       [](BusinessHours& h) { h.mutable_open_windows(1)->mutable_start_time()->set_hours(24); },
       f + ".open_windows[1].start_time.hours: must be 0 to 23 (got 24)"},
      {"negative start minute",
       [](BusinessHours& h) { h.mutable_open_windows(0)->mutable_start_time()->set_minutes(-1); },
       f + ".open_windows[0].start_time.minutes: must be 0 to 59 (got -1)"},
      {"end hour -1",
       [](BusinessHours& h) { h.mutable_open_windows(0)->mutable_end_time()->set_hours(-1); },
       f + ".open_windows[0].end_time.hours: must be 0 to 23 (got -1)"},
      {"end minute 60",
       [](BusinessHours& h) { h.mutable_open_windows(1)->mutable_end_time()->set_minutes(60); },
       f + ".open_windows[1].end_time.minutes: must be 0 to 59 (got 60)"},
      {"no start", [](BusinessHours& h) { h.mutable_open_windows(1)->clear_start_time(); },
       f + ".open_windows[1].start_time: must be set"},
      {"no end", [](BusinessHours& h) { h.mutable_open_windows(0)->clear_end_time(); },
       f + ".open_windows[0].end_time: must be set"},
      {"holiday without date", [](BusinessHours& h) { h.mutable_holidays(0)->clear_date(); },
       f + ".holidays[0].date: must be set"},
      {"year 0",
       [](BusinessHours& h) { *h.mutable_holidays(0)->mutable_date() = MakeDate(0, 1, 1); },
       f + ".holidays[0].date.year: must be 1 to 9999 (got 0)"},
      {"year 10000",
       [](BusinessHours& h) { *h.mutable_holidays(0)->mutable_date() = MakeDate(10000, 1, 1); },
       f + ".holidays[0].date.year: must be 1 to 9999 (got 10000)"},
      {"month 13",
       [](BusinessHours& h) { *h.mutable_holidays(0)->mutable_date() = MakeDate(2024, 13, 1); },
       f + ".holidays[0].date.month: must be 1 to 12 (got 13)"},
      {"day 0",
       [](BusinessHours& h) { *h.mutable_holidays(0)->mutable_date() = MakeDate(2024, 1, 0); },
       f + ".holidays[0].date.day: must be 1 to 31 for 2024-01 (got 0)"},
      {"February 29 of a common year",
       [](BusinessHours& h) { *h.mutable_holidays(0)->mutable_date() = MakeDate(2023, 2, 29); },
       f + ".holidays[0].date.day: must be 1 to 28 for 2023-02 (got 29)"},
      {"April 31",
       [](BusinessHours& h) { *h.mutable_holidays(0)->mutable_date() = MakeDate(2024, 4, 31); },
       f + ".holidays[0].date.day: must be 1 to 30 for 2024-04 (got 31)"},
      {"repeated holiday",
       [](BusinessHours& h) {
         *h.add_holidays()->mutable_date() = MakeDate(2024, 9, 17);
         *h.add_holidays()->mutable_date() = MakeDate(2024, 9, 16);
       },
       f + ".holidays[2].date: 2024-09-16 is listed twice"},
      {"101 holidays",
       [](BusinessHours& h) {
         for (int i = 0; i < 100; ++i) *h.add_holidays()->mutable_date() = MakeDate(2030, 1, 1);
       },
       f + ".holidays: must have at most 100 entries (got 101)"},
  };
  for (const Case& c : cases) {
    BusinessHours hours = ValidHours();
    c.mutate(hours);
    EXPECT_EQ(WeeklySchedule::FromBusinessHours(hours, f).status(),
              absl::InvalidArgumentError(c.message))
        << c.what;
  }
}

TEST(WeeklyScheduleValidationTest, CreateUsesTheCallersFieldNames) {
  Windows windows;
  *windows.Add() = Window({kMon}, 21, 0, 8, 0);
  *windows.Add() = Window({kTue}, 21, 61, 8, 0);
  Dates dates;
  EXPECT_EQ(
      WeeklySchedule::Create("Asia/Seoul", windows, dates, "contact_preferences", "quiet_hours")
          .status(),
      absl::InvalidArgumentError(
          "contact_preferences.quiet_hours[1].start_time.minutes: must be 0 to 59 (got 61)"));
  windows.RemoveLast();
  *dates.Add() = MakeDate(2024, 0, 1);
  EXPECT_EQ(WeeklySchedule::Create("Asia/Seoul", windows, dates, "p", "w", "closed").status(),
            absl::InvalidArgumentError("p.closed[0].month: must be 1 to 12 (got 0)"));
  // An empty prefix gives bare paths.
  EXPECT_EQ(WeeklySchedule::Create("Nowhere", windows, dates, "").status(),
            absl::InvalidArgumentError(
                "time_zone: unknown IANA time zone \"Nowhere\" (expected e.g. \"Asia/Seoul\")"));
  EXPECT_EQ(WeeklySchedule::Create("Asia/Seoul", windows, dates, "").status(),
            absl::InvalidArgumentError("holidays[0].month: must be 1 to 12 (got 0)"));
  // Create does not require a window; the schedule is then never open.
  EXPECT_TRUE(WeeklySchedule::Create("Asia/Seoul", Windows(), Dates(), "p").ok());
}

TEST(WeeklyScheduleValidationTest, LoadTimeZoneAndCreateWithAZone) {
  absl::StatusOr<absl::TimeZone> tz =
      WeeklySchedule::LoadTimeZone("Asia/Seoul", "customer.time_zone");
  ASSERT_TRUE(tz.ok()) << tz.status();
  EXPECT_EQ(WeeklySchedule::LoadTimeZone("", "customer.time_zone").status(),
            absl::InvalidArgumentError("customer.time_zone: must not be empty"));
  Windows windows;
  *windows.Add() = Window({kMon, kTue, kWed, kThu, kFri, kSat, kSun}, 21, 0, 8, 0);
  absl::StatusOr<WeeklySchedule> quiet =
      WeeklySchedule::Create(*tz, windows, Dates(), "contact_preferences", "quiet_hours");
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  EXPECT_TRUE(quiet->Contains(Local(*tz, 2024, 9, 10, 23, 0)));
  EXPECT_FALSE(quiet->Contains(Local(*tz, 2024, 9, 10, 12, 0)));
}

}  // namespace
}  // namespace cxp::schedule
