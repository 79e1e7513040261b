// WeeklySchedule — a recurring weekly local-time schedule (cxp.type.v1
// WeeklyTimeWindow) in an IANA time zone, minus whole closed dates. Used for
// queue business hours (routing_service) and quiet hours (notify_service).
//
// Semantics (all in the schedule's time zone):
//   - A window "Mon 21:00-08:00" covers Monday 21:00 up to (excluding)
//     Tuesday 08:00 local; end not after start runs into the next day, equal
//     start and end cover 24 hours. Start is inclusive, end exclusive.
//     Overlapping or touching windows simply merge.
//   - A closed date closes its whole local day (from the instant its
//     midnight begins to the next one, by the DST rule below), including the
//     part of a window that started the day before.
//   - DST: each local boundary (window start or end, midnight of a closed
//     date) maps to one instant: the earlier instant when the local time
//     repeats (fall back), and the transition instant — the first valid
//     instant — when it is skipped (spring forward). A window is the span
//     [start instant, end instant). So on New York's spring-forward day a
//     01:30-03:00 window lasts 30 minutes, a 02:10-02:40 window is empty,
//     and on the fall-back day a 01:30-03:00 window lasts 2.5 hours while a
//     00:00-01:30 window ends on the first pass (01:00-01:30 EST is outside).
//     Put differently, an instant in the second pass of a repeated hour is
//     judged as the last second of that hour.
//
// Construction validates: INVALID_ARGUMENT "<field>: <problem>" naming the
// exact field (cxp::InvalidArgument). Wording matches context_service's
// validators of the same messages, e.g.
//   "queue.business_hours.open_windows[1].start_time.hours: must be 0 to 23 (got 24)"
//   "queue.business_hours.open_windows[0].days[1]: DAY_OF_WEEK_MONDAY is listed twice"
//   "queue.business_hours.holidays[2].date.day: must be 1 to 28 for 2023-02 (got 29)"
//
// Cost: Contains() is O(1) plus a binary search over the closed dates (two or
// three time-zone lookups). NextStart()/NextChange() step day by day and
// usually finish within a week; their `horizon` bounds the search (at most
// kMaxHorizon). Memory: about 1.5 KB plus the closed dates.
//
// Threading: immutable after Create; const methods are thread-safe. Copyable
// and movable. Time-zone data is loaded once through absl::LoadTimeZone from
// the system tzdata (/usr/share/zoneinfo, or $TZDIR).

#ifndef CXP_COMMON_SCHEDULE_WEEKLY_SCHEDULE_H_
#define CXP_COMMON_SCHEDULE_WEEKLY_SCHEDULE_H_

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "cxp/routing/v1/queue.pb.h"
#include "cxp/type/v1/schedule.pb.h"
#include "google/protobuf/repeated_field.h"

namespace cxp::schedule {

// BusinessHours.holidays limit (queue.proto); also applied to Create's dates.
inline constexpr int kMaxClosedDates = 100;
// Longest time-zone name accepted (the longest IANA name has 32 characters).
inline constexpr int kMaxTimeZoneChars = 64;
// Upper bound on NextStart/NextChange horizons (larger values are clamped).
inline constexpr absl::Duration kMaxHorizon = absl::Hours(24 * 366 * 10);
inline constexpr absl::Duration kDefaultHorizon = absl::Hours(24 * 400);

// The rules every WeeklyTimeWindow and TimeOfDay must meet (context
// service's quiet hours check theirs with these too): INVALID_ARGUMENT
// naming the member, e.g. "<field>.days[1]: DAY_OF_WEEK_MONDAY is listed
// twice", "<field>.hours: must be 0 to 23 (got 24)".
absl::Status ValidateTimeOfDay(const cxp::type::v1::TimeOfDay& time, absl::string_view field);
absl::Status ValidateWeeklyTimeWindow(const cxp::type::v1::WeeklyTimeWindow& window,
                                      absl::string_view field);

class WeeklySchedule {
 public:
  // Loads an IANA time-zone name ("Asia/Seoul"). `field` names it in errors:
  // "<field>: must not be empty" or "<field>: unknown IANA time zone "X"
  // (expected e.g. "Asia/Seoul")". Only '/'-separated components of
  // [A-Za-z0-9_+-] starting with a letter, at most kMaxTimeZoneChars, and not
  // "localtime" are tried: absl::LoadTimeZone would otherwise open absolute
  // or "../" paths and "file:" names, and it caches every name it is given.
  static absl::StatusOr<absl::TimeZone> LoadTimeZone(absl::string_view name,
                                                     absl::string_view field);

  // Validates and compiles. Paths in errors: "<field>.time_zone",
  // "<field>.<windows_field>[i]...", "<field>.<dates_field>[i].year" (an empty
  // `field` drops the prefix). `windows` may be empty (the schedule is then
  // never open: callers that require a window check it, as
  // FromBusinessHours does). At most kMaxClosedDates dates, no repeats.
  static absl::StatusOr<WeeklySchedule> Create(
      absl::string_view time_zone,
      const google::protobuf::RepeatedPtrField<cxp::type::v1::WeeklyTimeWindow>& windows,
      const google::protobuf::RepeatedPtrField<cxp::type::v1::Date>& closed_dates,
      absl::string_view field, absl::string_view windows_field = "open_windows",
      absl::string_view dates_field = "holidays");

  // As above with a time zone the caller already has (e.g. notify_service's
  // quiet hours use Customer.time_zone or the tenant's, checked with
  // LoadTimeZone under their own field names).
  static absl::StatusOr<WeeklySchedule> Create(
      const absl::TimeZone& time_zone,
      const google::protobuf::RepeatedPtrField<cxp::type::v1::WeeklyTimeWindow>& windows,
      const google::protobuf::RepeatedPtrField<cxp::type::v1::Date>& closed_dates,
      absl::string_view field, absl::string_view windows_field = "open_windows",
      absl::string_view dates_field = "holidays");

  // From routing's BusinessHours; `field` is its path, e.g.
  // "queue.business_hours". Requires time_zone and at least one open window
  // ("<field>.open_windows: must not be empty"); holidays[i].date must be set
  // ("<field>.holidays[i].date: must be set"). Does not check
  // holidays[i].display_name (free text, routing's validator does).
  static absl::StatusOr<WeeklySchedule> FromBusinessHours(
      const cxp::routing::v1::BusinessHours& hours, absl::string_view field);

  // Whether `t` is inside a window and not on a closed date. False for
  // infinite `t`.
  bool Contains(absl::Time t) const;

  // The first instant >= t inside the schedule: `t` itself if Contains(t),
  // else the next opening, or nullopt if there is none by t + horizon (or
  // `t` is infinite, or `horizon` negative).
  std::optional<absl::Time> NextStart(absl::Time t, absl::Duration horizon = kDefaultHorizon) const;

  // The first instant T > t with Contains(T) != Contains(t) (an opening or a
  // closing, for arming a timer), or nullopt if there is none by t + horizon
  // (or `t` is infinite, or `horizon` negative). T is a whole second.
  std::optional<absl::Time> NextChange(absl::Time t,
                                       absl::Duration horizon = kDefaultHorizon) const;

  const absl::TimeZone& time_zone() const { return time_zone_; }

 private:
  static constexpr int kMinutesPerDay = 24 * 60;
  static constexpr int kMinutesPerWeek = 7 * kMinutesPerDay;

  WeeklySchedule() = default;

  // Compiles checked input: windows valid, `closed` sorted and unique.
  static WeeklySchedule Build(
      const absl::TimeZone& time_zone,
      const google::protobuf::RepeatedPtrField<cxp::type::v1::WeeklyTimeWindow>& windows,
      std::vector<absl::CivilDay> closed);

  // Local time that decides Contains(t); see the DST note above.
  absl::CivilSecond EffectiveCivil(absl::Time t) const;
  // The instant at which local time `cs` begins (see the DST note above).
  absl::Time BoundaryInstant(absl::CivilSecond cs) const;
  // Whether local time `cs` is inside the schedule, ignoring DST.
  bool OpenAt(absl::CivilSecond cs) const;
  bool IsClosed(absl::CivilDay day) const;
  std::optional<absl::Time> NextChangeImpl(absl::Time t, bool current,
                                           absl::Duration horizon) const;

  absl::TimeZone time_zone_;
  // Minute m of the week (0 = Monday 00:00 local) is in some window.
  std::bitset<kMinutesPerWeek> open_;
  // Per weekday (Monday = 0), the minutes of the day 1..1439 at which open_
  // changes value; midnights are handled separately.
  std::array<std::vector<int16_t>, 7> changes_;
  bool always_open_ = false;            // open_ is all ones
  bool never_open_ = true;              // open_ is all zeros
  std::vector<absl::CivilDay> closed_;  // sorted, unique
};

}  // namespace cxp::schedule

#endif  // CXP_COMMON_SCHEDULE_WEEKLY_SCHEDULE_H_
