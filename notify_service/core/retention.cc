#include "notify_service/core/retention.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/validation/resource_id.h"

namespace cxp::notify {

NotifyRetention::NotifyRetention(const NotifyStore& store, NotifyCore& core,
                                 NotifyRetentionOptions options)
    : store_(store),
      core_(core),
      options_(std::move(options)),
      worker_(
          "cxp-ntf-purge",
          [this] {
            RunOnce();
            return absl::Now() + options_.interval;
          },
          absl::Now() + options_.interval) {}

NotifyRetention::~NotifyRetention() { Stop(); }

absl::StatusOr<NotifyRetention::Purged> NotifyRetention::PurgeOnce() const {
  Purged purged;
  ASSIGN_OR_RETURN(const std::vector<std::string> tenants, store_.Tenants());
  for (const std::string& tenant : tenants) {
    if (stopping_) break;
    const absl::Time now = options_.clock();
    const absl::Time cutoff = now - options_.retention;
    std::string resume;
    do {
      ASSIGN_OR_RETURN(const size_t batch,
                       core_.PurgeTerminalBefore(tenant, cutoff, options_.batch_rows, resume));
      purged.notifications += static_cast<int64_t>(batch);
    } while (!resume.empty() && !stopping_);
    ASSIGN_OR_RETURN(const int64_t rows, PurgeLastSent(tenant, now));
    purged.last_sent_rows += rows;
  }
  return purged;
}

absl::StatusOr<int64_t> NotifyRetention::PurgeLastSent(const std::string& tenant,
                                                       absl::Time now) const {
  // A row is kept while its rule's cooldown could still hold a send back.
  absl::flat_hash_map<std::string, absl::Duration> cooldowns;
  RETURN_IF_ERROR(store_.ScanTriggerRules(tenant, "", [&](const v1::TriggerRule& rule) {
    cooldowns[std::string(cxp::validation::ResourceIdOf(rule.name()))] =
        absl::Seconds(rule.cooldown().seconds()) + absl::Nanoseconds(rule.cooldown().nanos());
    return true;
  }));
  auto expired = [&](const std::string& rule_id, const std::string&, absl::Time sent) {
    absl::Duration keep = options_.retention;
    if (auto it = cooldowns.find(rule_id); it != cooldowns.end()) {
      keep = std::max(keep, it->second);
    }
    return sent < now - keep;
  };
  int64_t total = 0;
  std::optional<NotifyStore::LastSentRow> resume;
  do {
    ASSIGN_OR_RETURN(const size_t deleted,
                     store_.PurgeTriggerLastSent(tenant, options_.batch_rows, resume, expired));
    total += static_cast<int64_t>(deleted);
  } while (resume.has_value() && !stopping_);
  return total;
}

void NotifyRetention::RunOnce() {
  absl::StatusOr<Purged> purged = PurgeOnce();
  if (!purged.ok()) {
    options_.log(absl::StrCat("notification retention: ", purged.status().ToString()));
  } else if (purged->notifications > 0 || purged->last_sent_rows > 0) {
    options_.log(absl::StrCat("notification retention: purged ", purged->notifications,
                              " terminal notifications and ", purged->last_sent_rows,
                              " trigger last-sent rows older than ",
                              absl::FormatDuration(options_.retention)));
  }
}

}  // namespace cxp::notify
