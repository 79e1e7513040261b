// Frequency-cap policies as operators write them in flags and files, e.g.
//   --frequency_caps=marketing=2/24h:defer,service=10/1h:drop
// Each entry is PURPOSE=MAX/WINDOW[:ACTION]: at most MAX notifications of
// that purpose per customer within any WINDOW (an absl duration: 24h,
// 90m), then DEFER the next to when the window frees a slot (the default)
// or DROP it (FAILED "FREQUENCY_CAPPED"). PURPOSE is transactional,
// service or marketing (any case). A purpose without an entry is not
// capped; empty text caps nothing.
//
// A tenant file has one "<tenant> <policy>" line per tenant ('#' starts a
// comment); those tenants get their line instead of the flag's policy.
//
// Errors: INVALID_ARGUMENT naming `field` (the flag) and the entry or line.
// Thread-safe (pure functions).

#ifndef CXP_NOTIFY_SERVICE_CORE_FREQUENCY_POLICY_TEXT_H_
#define CXP_NOTIFY_SERVICE_CORE_FREQUENCY_POLICY_TEXT_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "notify_service/core/send_window.h"

namespace cxp::notify {

absl::StatusOr<FrequencyPolicy> ParseFrequencyPolicy(absl::string_view text,
                                                     absl::string_view field);

// The tenant file's content.
absl::StatusOr<absl::flat_hash_map<std::string, FrequencyPolicy>> ParseTenantFrequencyPolicies(
    absl::string_view content, absl::string_view field);

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_FREQUENCY_POLICY_TEXT_H_
