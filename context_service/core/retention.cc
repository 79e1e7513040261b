#include "context_service/core/retention.h"

#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"

namespace cxp::context {

std::optional<absl::Duration> InteractionRetentionPolicy::For(const std::string& tenant) const {
  auto it = per_tenant.find(tenant);
  if (it != per_tenant.end()) return it->second;
  return others;
}

absl::StatusOr<InteractionRetentionPolicy> ParseInteractionRetention(const std::string& text) {
  InteractionRetentionPolicy policy;
  if (text.empty()) return policy;
  for (absl::string_view entry : absl::StrSplit(text, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    const std::vector<absl::string_view> parts = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    const auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("interaction_retention: entry \"", entry, "\": ", why));
    };
    if (parts.size() != 2 || parts[0].empty()) return bad("must be tenant=duration or *=duration");
    absl::Duration duration;
    absl::string_view value = parts[1];
    int64_t days = 0;
    if (absl::ConsumeSuffix(&value, "d") && absl::SimpleAtoi(value, &days)) {
      duration = absl::Hours(24) * days;
    } else if (!absl::ParseDuration(parts[1], &duration)) {
      return bad("the duration must look like 365d, 720h or 90m");
    }
    if (duration <= absl::ZeroDuration()) return bad("the duration must be positive");
    if (parts[0] == "*") {
      policy.others = duration;
    } else {
      policy.per_tenant[std::string(parts[0])] = duration;
    }
  }
  return policy;
}

Retention::Retention(const ContextStore& store, ContextCore& core, RetentionOptions options)
    : store_(store),
      core_(core),
      options_(std::move(options)),
      worker_(
          "cxp-retention",
          [this] {
            RunOnce();
            return absl::Now() + options_.interval;
          },
          absl::Now() + options_.interval) {}

Retention::~Retention() { Stop(); }

absl::StatusOr<size_t> Retention::PurgeChangesOnce() const {
  const absl::Time cutoff = options_.clock() - options_.change_retention;
  size_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(const size_t purged, store_.PurgeChangesBefore(cutoff, options_.batch_rows));
    total += purged;
    if (purged < options_.batch_rows) return total;
  }
}

absl::StatusOr<int64_t> Retention::PurgeInteractionsOnce() const {
  int64_t total = 0;
  ASSIGN_OR_RETURN(const std::vector<std::string> tenants, store_.Tenants());
  for (const std::string& tenant : tenants) {
    const std::optional<absl::Duration> keep = options_.interactions.For(tenant);
    if (!keep) continue;
    const absl::Time cutoff = options_.clock() - *keep;
    std::string resume;
    do {
      ASSIGN_OR_RETURN(const int64_t purged, core_.PurgeInteractionsBefore(
                                                 tenant, cutoff, resume, options_.batch_customers));
      total += purged;
    } while (!resume.empty());
  }
  return total;
}

void Retention::RunOnce() {
  if (absl::StatusOr<size_t> events = PurgeChangesOnce(); !events.ok()) {
    options_.log(absl::StrCat("change retention: ", events.status().ToString()));
  } else if (*events > 0) {
    options_.log(absl::StrCat("change retention: purged ", *events, " events older than ",
                              absl::FormatDuration(options_.change_retention)));
  }
  if (absl::StatusOr<int64_t> interactions = PurgeInteractionsOnce(); !interactions.ok()) {
    options_.log(absl::StrCat("interaction retention: ", interactions.status().ToString()));
  } else if (*interactions > 0) {
    options_.log(absl::StrCat("interaction retention: purged ", *interactions,
                              " interactions past their tenant's retention"));
  }
}

}  // namespace cxp::context
