#include "common/schedule/weekly_schedule.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status/errors.h"
#include "common/validation/text_rules.h"

namespace cxp::schedule {
namespace {

using cxp::type::v1::Date;
using cxp::type::v1::DayOfWeek;
using cxp::type::v1::TimeOfDay;
using cxp::type::v1::WeeklyTimeWindow;
using WindowList = google::protobuf::RepeatedPtrField<WeeklyTimeWindow>;

using cxp::validation::FieldPath;
using cxp::validation::IndexedPath;
using cxp::validation::InvalidField;

std::string Quote(absl::string_view value) {
  const bool cut = value.size() > static_cast<size_t>(kMaxTimeZoneChars);
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, kMaxTimeZoneChars)), cut ? "..." : "",
                      "\"");
}

bool IsTimeZoneComponent(absl::string_view s) {
  if (s.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-';
  });
}

}  // namespace

absl::Status ValidateTimeOfDay(const TimeOfDay& time, absl::string_view field) {
  if (time.hours() < 0 || time.hours() > 23) {
    return InvalidField(FieldPath(field, "hours"),
                        absl::StrCat("must be 0 to 23 (got ", time.hours(), ")"));
  }
  if (time.minutes() < 0 || time.minutes() > 59) {
    return InvalidField(FieldPath(field, "minutes"),
                        absl::StrCat("must be 0 to 59 (got ", time.minutes(), ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateWeeklyTimeWindow(const WeeklyTimeWindow& window, absl::string_view field) {
  const std::string days_field = FieldPath(field, "days");
  if (window.days().empty()) return InvalidField(days_field, "must not be empty");
  unsigned seen = 0;  // bit d: day d already listed
  for (int i = 0; i < window.days_size(); ++i) {
    const int day = window.days(i);
    if (day == cxp::type::v1::DAY_OF_WEEK_UNSPECIFIED) {
      return InvalidField(IndexedPath(days_field, i), "must be a day, not DAY_OF_WEEK_UNSPECIFIED");
    }
    if (!cxp::type::v1::DayOfWeek_IsValid(day)) {
      return InvalidField(IndexedPath(days_field, i),
                          absl::StrCat("unknown DayOfWeek value ", day));
    }
    if (seen & (1u << day)) {
      return InvalidField(IndexedPath(days_field, i),
                          absl::StrCat(cxp::type::v1::DayOfWeek_Name(day), " is listed twice"));
    }
    seen |= 1u << day;
  }
  const std::string start_field = FieldPath(field, "start_time");
  if (!window.has_start_time()) return InvalidField(start_field, "must be set");
  if (absl::Status s = ValidateTimeOfDay(window.start_time(), start_field); !s.ok()) return s;
  const std::string end_field = FieldPath(field, "end_time");
  if (!window.has_end_time()) return InvalidField(end_field, "must be set");
  return ValidateTimeOfDay(window.end_time(), end_field);
}

namespace {

absl::Status ValidateWindows(const WindowList& windows, absl::string_view field) {
  for (int i = 0; i < windows.size(); ++i) {
    if (absl::Status s = ValidateWeeklyTimeWindow(windows.Get(i), IndexedPath(field, i)); !s.ok())
      return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::CivilDay> ValidateDate(const Date& date, absl::string_view field) {
  if (date.year() < 1 || date.year() > 9999) {
    return InvalidField(FieldPath(field, "year"),
                        absl::StrCat("must be 1 to 9999 (got ", date.year(), ")"));
  }
  if (date.month() < 1 || date.month() > 12) {
    return InvalidField(FieldPath(field, "month"),
                        absl::StrCat("must be 1 to 12 (got ", date.month(), ")"));
  }
  // The day before the 1st of the next month is the last day of this one.
  const int last_day = (absl::CivilDay(absl::CivilMonth(date.year(), date.month()) + 1) - 1).day();
  if (date.day() < 1 || date.day() > last_day) {
    return InvalidField(FieldPath(field, "day"),
                        absl::StrFormat("must be 1 to %d for %04d-%02d (got %d)", last_day,
                                        date.year(), date.month(), date.day()));
  }
  return absl::CivilDay(date.year(), date.month(), date.day());
}

// Validates `count` dates; date_at(i) is the i-th date (nullptr if unset),
// path_at(i) its field path. Returns them sorted.
template <typename DateAt, typename PathAt>
absl::StatusOr<std::vector<absl::CivilDay>> ValidateDates(int count, DateAt date_at, PathAt path_at,
                                                          absl::string_view list_field) {
  if (count > kMaxClosedDates) {
    return InvalidField(list_field, absl::StrCat("must have at most ", kMaxClosedDates,
                                                 " entries (got ", count, ")"));
  }
  std::vector<absl::CivilDay> days;
  days.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const Date* date = date_at(i);
    if (date == nullptr) return InvalidField(path_at(i), "must be set");
    absl::StatusOr<absl::CivilDay> day = ValidateDate(*date, path_at(i));
    if (!day.ok()) return day.status();
    // At most 100 dates: a linear scan is cheaper than a set.
    if (std::find(days.begin(), days.end(), *day) != days.end()) {
      return InvalidField(path_at(i), absl::StrFormat("%04d-%02d-%02d is listed twice",
                                                      date->year(), date->month(), date->day()));
    }
    days.push_back(*day);
  }
  std::sort(days.begin(), days.end());
  return days;
}

int WeekdayIndex(absl::CivilDay day) { return static_cast<int>(absl::GetWeekday(day)); }

bool IsInfinite(absl::Time t) { return t == absl::InfiniteFuture() || t == absl::InfinitePast(); }

}  // namespace

absl::StatusOr<absl::TimeZone> WeeklySchedule::LoadTimeZone(absl::string_view name,
                                                            absl::string_view field) {
  if (name.empty()) return InvalidField(field, "must not be empty");
  const auto unknown = [&] {
    return InvalidField(field, absl::StrCat("unknown IANA time zone ", Quote(name),
                                            " (expected e.g. \"Asia/Seoul\")"));
  };
  if (name.size() > static_cast<size_t>(kMaxTimeZoneChars) || name == "localtime") {
    return unknown();
  }
  for (const absl::string_view component : absl::StrSplit(name, '/')) {
    if (!IsTimeZoneComponent(component)) return unknown();
  }
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(std::string(name), &tz)) return unknown();
  return tz;
}

absl::StatusOr<WeeklySchedule> WeeklySchedule::Create(
    absl::string_view time_zone, const WindowList& windows,
    const google::protobuf::RepeatedPtrField<Date>& closed_dates, absl::string_view field,
    absl::string_view windows_field, absl::string_view dates_field) {
  absl::StatusOr<absl::TimeZone> tz = LoadTimeZone(time_zone, FieldPath(field, "time_zone"));
  if (!tz.ok()) return tz.status();
  return Create(*tz, windows, closed_dates, field, windows_field, dates_field);
}

absl::StatusOr<WeeklySchedule> WeeklySchedule::Create(
    const absl::TimeZone& time_zone, const WindowList& windows,
    const google::protobuf::RepeatedPtrField<Date>& closed_dates, absl::string_view field,
    absl::string_view windows_field, absl::string_view dates_field) {
  if (absl::Status s = ValidateWindows(windows, FieldPath(field, windows_field)); !s.ok()) {
    return s;
  }
  const std::string list_field = FieldPath(field, dates_field);
  absl::StatusOr<std::vector<absl::CivilDay>> closed = ValidateDates(
      closed_dates.size(), [&](int i) { return &closed_dates.Get(i); },
      [&](int i) { return IndexedPath(list_field, i); }, list_field);
  if (!closed.ok()) return closed.status();
  return Build(time_zone, windows, *std::move(closed));
}

absl::StatusOr<WeeklySchedule> WeeklySchedule::FromBusinessHours(
    const cxp::routing::v1::BusinessHours& hours, absl::string_view field) {
  absl::StatusOr<absl::TimeZone> tz =
      LoadTimeZone(hours.time_zone(), FieldPath(field, "time_zone"));
  if (!tz.ok()) return tz.status();
  const std::string windows_field = FieldPath(field, "open_windows");
  if (hours.open_windows().empty()) return InvalidField(windows_field, "must not be empty");
  if (absl::Status s = ValidateWindows(hours.open_windows(), windows_field); !s.ok()) return s;
  const std::string list_field = FieldPath(field, "holidays");
  absl::StatusOr<std::vector<absl::CivilDay>> closed = ValidateDates(
      hours.holidays_size(),
      [&](int i) -> const Date* {
        const auto& holiday = hours.holidays(i);
        return holiday.has_date() ? &holiday.date() : nullptr;
      },
      [&](int i) { return FieldPath(IndexedPath(list_field, i), "date"); }, list_field);
  if (!closed.ok()) return closed.status();
  return Build(*tz, hours.open_windows(), *std::move(closed));
}

WeeklySchedule WeeklySchedule::Build(const absl::TimeZone& time_zone, const WindowList& windows,
                                     std::vector<absl::CivilDay> closed) {
  WeeklySchedule schedule;
  schedule.time_zone_ = time_zone;
  schedule.closed_ = std::move(closed);

  // Difference array over the minutes of the week: O(windows + week) however
  // long or overlapping the windows are.
  std::vector<int> delta(kMinutesPerWeek + 1, 0);
  for (const WeeklyTimeWindow& window : windows) {
    const int start = window.start_time().hours() * 60 + window.start_time().minutes();
    const int end = window.end_time().hours() * 60 + window.end_time().minutes();
    const int length = end > start ? end - start : end - start + kMinutesPerDay;
    for (const int day : window.days()) {
      const int from = (day - 1) * kMinutesPerDay + start;  // DayOfWeek: MONDAY = 1
      const int to = from + length;
      ++delta[from];
      if (to <= kMinutesPerWeek) {
        --delta[to];
      } else {  // Sunday's window runs into Monday
        --delta[kMinutesPerWeek];
        ++delta[0];
        --delta[to - kMinutesPerWeek];
      }
    }
  }
  int depth = 0;
  for (int m = 0; m < kMinutesPerWeek; ++m) {
    depth += delta[m];
    schedule.open_[m] = depth > 0;
  }
  for (int wd = 0; wd < 7; ++wd) {
    for (int m = 1; m < kMinutesPerDay; ++m) {
      const int at = wd * kMinutesPerDay + m;
      if (schedule.open_[at] != schedule.open_[at - 1]) {
        schedule.changes_[wd].push_back(static_cast<int16_t>(m));
      }
    }
  }
  schedule.always_open_ = schedule.open_.all();
  schedule.never_open_ = schedule.open_.none();
  return schedule;
}

absl::Time WeeklySchedule::BoundaryInstant(absl::CivilSecond cs) const {
  const absl::TimeZone::TimeInfo info = time_zone_.At(cs);
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

absl::CivilSecond WeeklySchedule::EffectiveCivil(absl::Time t) const {
  const absl::CivilSecond cs = time_zone_.At(t).cs;
  const absl::TimeZone::TimeInfo info = time_zone_.At(cs);
  if (info.kind == absl::TimeZone::TimeInfo::REPEATED && t >= info.trans) {
    // Second pass through a repeated hour. Boundaries in that hour took its
    // first pass, so all of them are behind `t`: it acts as the last second
    // before the clocks went back.
    return time_zone_.At(info.trans - absl::Seconds(1)).cs;
  }
  return cs;
}

bool WeeklySchedule::IsClosed(absl::CivilDay day) const {
  return std::binary_search(closed_.begin(), closed_.end(), day);
}

bool WeeklySchedule::OpenAt(absl::CivilSecond cs) const {
  const absl::CivilDay day(cs);
  const int minute = WeekdayIndex(day) * kMinutesPerDay + cs.hour() * 60 + cs.minute();
  return open_[static_cast<size_t>(minute)] && !IsClosed(day);
}

bool WeeklySchedule::Contains(absl::Time t) const {
  if (never_open_ || IsInfinite(t)) return false;
  // BoundaryInstant is monotonic and EffectiveCivil inverts it: t is at or
  // after a boundary's instant exactly when EffectiveCivil(t) is at or after
  // the boundary. So one local-time lookup decides.
  return OpenAt(EffectiveCivil(t));
}

std::optional<absl::Time> WeeklySchedule::NextStart(absl::Time t, absl::Duration horizon) const {
  if (IsInfinite(t) || horizon < absl::ZeroDuration()) return std::nullopt;
  if (Contains(t)) return t;
  return NextChangeImpl(t, false, horizon);
}

std::optional<absl::Time> WeeklySchedule::NextChange(absl::Time t, absl::Duration horizon) const {
  if (IsInfinite(t) || horizon < absl::ZeroDuration()) return std::nullopt;
  return NextChangeImpl(t, Contains(t), horizon);
}

std::optional<absl::Time> WeeklySchedule::NextChangeImpl(absl::Time t, bool current,
                                                         absl::Duration horizon) const {
  if (never_open_) return std::nullopt;
  horizon = std::min(horizon, kMaxHorizon);
  const absl::Time limit = t + horizon;
  const absl::CivilSecond now = EffectiveCivil(t);
  const absl::CivilDay today(now);

  // Contains() can only change where the local time crosses a boundary X
  // (a window edge or a midnight), i.e. at BoundaryInstant(X), which is > t
  // for every X > now. Walk the candidates in order; several may share one
  // instant (a skipped hour), so test Contains() at the instant itself.
  enum class Verdict { kChange, kSame, kPastLimit };
  const auto check = [&](absl::CivilSecond x, absl::Time* at) {
    *at = BoundaryInstant(x);
    if (*at > limit) return Verdict::kPastLimit;
    return Contains(*at) != current ? Verdict::kChange : Verdict::kSame;
  };
  absl::Time at;

  if (always_open_) {
    // Only closed dates matter: the midnights starting and ending them.
    for (auto it = std::lower_bound(closed_.begin(), closed_.end(), today); it != closed_.end();
         ++it) {
      for (const absl::CivilDay day : {*it, *it + 1}) {
        if (day <= today) continue;
        switch (check(absl::CivilSecond(day), &at)) {
          case Verdict::kChange:
            return at;
          case Verdict::kPastLimit:
            return std::nullopt;
          case Verdict::kSame:
            break;
        }
      }
    }
    return std::nullopt;
  }

  // Every week has a change, so this usually ends within 7 days; closed
  // dates can stretch it to ~100 weeks at most. The extra days cover clocks
  // moving back across midnight.
  const int64_t max_days = horizon / absl::Hours(24) + 3;
  for (int64_t i = 0; i <= max_days; ++i) {
    const absl::CivilDay day = today + i;
    const absl::CivilSecond midnight(day);
    if (i > 0) {
      switch (check(midnight, &at)) {
        case Verdict::kChange:
          return at;
        case Verdict::kPastLimit:
          return std::nullopt;
        case Verdict::kSame:
          break;
      }
    }
    for (const int16_t minute : changes_[static_cast<size_t>(WeekdayIndex(day))]) {
      const absl::CivilSecond x = midnight + int64_t{minute} * 60;
      if (x <= now) continue;
      switch (check(x, &at)) {
        case Verdict::kChange:
          return at;
        case Verdict::kPastLimit:
          return std::nullopt;
        case Verdict::kSame:
          break;
      }
    }
  }
  return std::nullopt;
}

}  // namespace cxp::schedule
