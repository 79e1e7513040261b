// When a notification may go out: the customer's quiet hours and the
// tenant's frequency caps. Both hold a message rather than drop it, unless a
// cap's policy says drop.
//
//   quiet hours  ContactPreferences.quiet_hours in the customer's time zone
//                (Customer.time_zone, else the tenant's default). MARKETING
//                and SERVICE are held until the window ends; TRANSACTIONAL
//                too unless the template allows a bypass.
//   caps         per purpose, at most `max_sends` in any `window` (rolling)
//                per customer; over the cap the send is DEFERred to when the
//                oldest counted send leaves the window, or DROPped.
//
// Pure functions; thread-safe. Errors: QuietHours() reports a bad stored
// time zone or window as INVALID_ARGUMENT (callers treat it as no quiet
// hours and log: a customer's broken preference must not block delivery).

#ifndef CXP_NOTIFY_SERVICE_CORE_SEND_WINDOW_H_
#define CXP_NOTIFY_SERVICE_CORE_SEND_WINDOW_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/schedule/weekly_schedule.h"
#include "cxp/context/v1/consent.pb.h"
#include "cxp/type/v1/purpose.pb.h"

namespace cxp::notify {

// The customer's quiet hours as a schedule that "contains" the quiet
// times; nullopt when there are none. `time_zone`: the customer's, else the
// tenant's default.
absl::StatusOr<std::optional<schedule::WeeklySchedule>> QuietHours(
    const cxp::context::v1::ContactPreferences& preferences, absl::string_view time_zone);

// Whether quiet hours apply to this send at all.
bool QuietHoursApply(cxp::type::v1::Purpose purpose, bool template_allows_bypass);

// nullopt when the send may go at `now`; else when the quiet window ends.
std::optional<absl::Time> QuietUntil(const schedule::WeeklySchedule& quiet, absl::Time now);

struct FrequencyCap {
  enum class Action { kDefer, kDrop };
  int max_sends = 0;
  absl::Duration window;
  Action action = Action::kDefer;
};
// Caps by purpose (a purpose without an entry is not capped).
using FrequencyPolicy = absl::flat_hash_map<cxp::type::v1::Purpose, FrequencyCap>;

struct CapDecision {
  enum class Kind { kSend, kDefer, kDrop };
  Kind kind = Kind::kSend;
  absl::Time defer_until;  // kDefer
  std::string reason;      // kDefer, kDrop: "at most 2 MARKETING per 24h"
};
// `recent_sends`: when earlier notifications of this purpose went to the
// customer (any order; only those within the window count).
CapDecision CheckFrequencyCap(const FrequencyPolicy& policy, cxp::type::v1::Purpose purpose,
                              const std::vector<absl::Time>& recent_sends, absl::Time now);

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_SEND_WINDOW_H_
