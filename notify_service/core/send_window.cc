#include "notify_service/core/send_window.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"

namespace cxp::notify {

namespace type = ::cxp::type::v1;

absl::StatusOr<std::optional<schedule::WeeklySchedule>> QuietHours(
    const cxp::context::v1::ContactPreferences& preferences, absl::string_view time_zone) {
  if (preferences.quiet_hours().empty()) return std::nullopt;
  ASSIGN_OR_RETURN(const absl::TimeZone zone,
                   schedule::WeeklySchedule::LoadTimeZone(time_zone, "time_zone"));
  ASSIGN_OR_RETURN(schedule::WeeklySchedule quiet,
                   schedule::WeeklySchedule::Create(zone, preferences.quiet_hours(), {},
                                                    "contact_preferences", "quiet_hours"));
  return quiet;
}

bool QuietHoursApply(type::Purpose purpose, bool template_allows_bypass) {
  return !(purpose == type::PURPOSE_TRANSACTIONAL && template_allows_bypass);
}

std::optional<absl::Time> QuietUntil(const schedule::WeeklySchedule& quiet, absl::Time now) {
  if (!quiet.Contains(now)) return std::nullopt;
  // Windows may chain (22:00-24:00 then 00:00-07:00): follow them to the
  // first instant outside every one.
  absl::Time at = now;
  while (quiet.Contains(at)) {
    std::optional<absl::Time> change = quiet.NextChange(at);
    if (!change) return absl::InfiniteFuture();  // always quiet: never released
    at = *change;
  }
  return at;
}

CapDecision CheckFrequencyCap(const FrequencyPolicy& policy, type::Purpose purpose,
                              const std::vector<absl::Time>& recent_sends, absl::Time now) {
  auto it = policy.find(purpose);
  if (it == policy.end() || it->second.max_sends <= 0) return {};
  const FrequencyCap& cap = it->second;
  std::vector<absl::Time> counted;
  for (absl::Time sent : recent_sends) {
    if (sent > now - cap.window && sent <= now) counted.push_back(sent);
  }
  if (static_cast<int>(counted.size()) < cap.max_sends) return {};
  std::sort(counted.begin(), counted.end());
  CapDecision decision;
  decision.reason = absl::StrCat("at most ", cap.max_sends, " ",
                                 absl::StripPrefix(type::Purpose_Name(purpose), "PURPOSE_"),
                                 " per ", absl::FormatDuration(cap.window));
  if (cap.action == FrequencyCap::Action::kDrop) {
    decision.kind = CapDecision::Kind::kDrop;
    return decision;
  }
  // A slot frees when enough of the counted sends leave the window.
  decision.kind = CapDecision::Kind::kDefer;
  decision.defer_until = counted[counted.size() - cap.max_sends] + cap.window;
  return decision;
}

}  // namespace cxp::notify
