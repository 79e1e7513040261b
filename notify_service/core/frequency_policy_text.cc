#include "notify_service/core/frequency_policy_text.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace cxp::notify {
namespace {

namespace type = ::cxp::type::v1;

absl::Status Bad(absl::string_view field, absl::string_view where, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": \"", where, "\": ", problem));
}

}  // namespace

absl::StatusOr<FrequencyPolicy> ParseFrequencyPolicy(absl::string_view text,
                                                     absl::string_view field) {
  FrequencyPolicy policy;
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    const std::vector<absl::string_view> purpose_and_cap = absl::StrSplit(entry, '=');
    if (purpose_and_cap.size() != 2) {
      return Bad(field, entry, "want PURPOSE=MAX/WINDOW[:defer|drop], e.g. marketing=2/24h");
    }
    type::Purpose purpose;
    const std::string purpose_name = absl::StrCat(
        "PURPOSE_", absl::AsciiStrToUpper(absl::StripAsciiWhitespace(purpose_and_cap[0])));
    if (!type::Purpose_Parse(purpose_name, &purpose) || purpose == type::PURPOSE_UNSPECIFIED) {
      return Bad(field, entry, "purpose must be transactional, service or marketing");
    }
    if (policy.contains(purpose)) return Bad(field, entry, "purpose given twice");
    const std::vector<absl::string_view> cap_and_action = absl::StrSplit(purpose_and_cap[1], ':');
    if (cap_and_action.size() > 2) return Bad(field, entry, "at most one :ACTION");
    const std::vector<absl::string_view> max_and_window = absl::StrSplit(cap_and_action[0], '/');
    FrequencyCap cap;
    if (max_and_window.size() != 2 || !absl::SimpleAtoi(max_and_window[0], &cap.max_sends) ||
        cap.max_sends < 1) {
      return Bad(field, entry, "want MAX/WINDOW with MAX a positive count, e.g. 2/24h");
    }
    if (!absl::ParseDuration(max_and_window[1], &cap.window) ||
        cap.window <= absl::ZeroDuration() || cap.window == absl::InfiniteDuration()) {
      return Bad(field, entry, "WINDOW must be a positive duration, e.g. 24h or 90m");
    }
    if (cap_and_action.size() == 2) {
      const std::string action = absl::AsciiStrToLower(cap_and_action[1]);
      if (action == "defer") {
        cap.action = FrequencyCap::Action::kDefer;
      } else if (action == "drop") {
        cap.action = FrequencyCap::Action::kDrop;
      } else {
        return Bad(field, entry, "ACTION must be defer or drop");
      }
    }
    policy.emplace(purpose, cap);
  }
  return policy;
}

absl::StatusOr<absl::flat_hash_map<std::string, FrequencyPolicy>> ParseTenantFrequencyPolicies(
    absl::string_view content, absl::string_view field) {
  absl::flat_hash_map<std::string, FrequencyPolicy> policies;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const size_t space = line.find_first_of(" \t");
    const absl::string_view tenant_name = line.substr(0, space);
    const absl::string_view policy_text =
        space == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(line.substr(space));
    const std::string where = absl::StrCat(field, " line ", line_number);
    if (policy_text.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": want \"<tenant> <policy>\", e.g. acme marketing=2/24h"));
    }
    const std::string tenant(tenant_name);
    if (policies.contains(tenant)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": tenant ", tenant, " given twice"));
    }
    absl::StatusOr<FrequencyPolicy> policy = ParseFrequencyPolicy(policy_text, where);
    if (!policy.ok()) return policy.status();
    policies.emplace(tenant, *std::move(policy));
  }
  return policies;
}

}  // namespace cxp::notify
