#include "notify_service/core/trigger_processor.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "google/protobuf/util/time_util.h"
#include "notify_service/core/trigger_matcher.h"

namespace cxp::notify {
namespace {

namespace ctx = ::cxp::context::v1;

bool IsRefusal(const absl::Status& status) {
  return absl::IsInvalidArgument(status) || absl::IsFailedPrecondition(status) ||
         absl::IsNotFound(status);
}

absl::Time ChangeTime(const ctx::ChangeEvent& event) {
  return absl::FromUnixMicros(
      google::protobuf::util::TimeUtil::TimestampToMicroseconds(event.change_time()));
}

}  // namespace

TriggerProcessor::TriggerProcessor(NotifyCore& core, NotifyConfigCore& config,
                                   const NotifyStore& store, Log log)
    : core_(core), config_(config), store_(store), log_(std::move(log)) {}

absl::StatusOr<int64_t> TriggerProcessor::ResumeAfter(const std::string& tenant) const {
  ASSIGN_OR_RETURN(const uint64_t sequence, store_.GetTriggerSequence(tenant));
  return static_cast<int64_t>(sequence);
}

absl::StatusOr<TriggerOutcome> TriggerProcessor::Process(const std::string& tenant,
                                                         absl::Span<const ctx::ChangeEvent> events,
                                                         CustomerLookup lookup) {
  TriggerOutcome outcome;
  if (events.empty()) return outcome;
  ASSIGN_OR_RETURN(const std::shared_ptr<const TriggerMatcher> matcher, config_.Matcher(tenant));
  NotifyStore::Batch batch = store_.NewBatch();
  // Sends of this call, which the store does not have yet, for cooldowns
  // between events of one response.
  absl::flat_hash_map<std::pair<std::string, std::string>, absl::Time> sent_now;
  absl::Status lookup_error;
  for (const ctx::ChangeEvent& event : events) {
    if (matcher->size() == 0) break;
    std::optional<TriggerCustomer> customer;
    const ctx::Customer* profile = nullptr;
    if (matcher->NeedsCustomerProfile(event)) {
      customer = lookup(event.customer());
      if (customer->profile) profile = &*customer->profile;
    }
    auto last_sent = [&](const std::string& rule,
                         const std::string& customer_name) -> std::optional<absl::Time> {
      if (auto it = sent_now.find(std::make_pair(rule, customer_name)); it != sent_now.end()) {
        return it->second;
      }
      absl::StatusOr<std::optional<absl::Time>> stored =
          store_.GetTriggerLastSent(tenant, rule, customer_name);
      if (!stored.ok()) {
        lookup_error.Update(stored.status());
        return std::nullopt;
      }
      return *stored;
    };
    const std::vector<TriggeredSend> sends = matcher->Match(event, profile, last_sent);
    RETURN_IF_ERROR(lookup_error);
    for (const TriggeredSend& send : sends) {
      if (!customer) customer = lookup(event.customer());
      absl::StatusOr<v1::Notification> sent =
          core_.SendTriggered(tenant, send.request, customer->view, send.trigger_rule);
      if (sent.ok()) {
        ++outcome.sent;
        sent_now[std::make_pair(send.trigger_rule, event.customer())] = ChangeTime(event);
        batch.PutTriggerLastSent(tenant, send.trigger_rule, event.customer(), ChangeTime(event));
        continue;
      }
      if (!IsRefusal(sent.status())) return sent.status();
      ++outcome.refused;
      if (log_) {
        log_("warning",
             absl::StrCat(send.trigger_rule, " did not send for change ", event.sequence(), " of ",
                          event.customer(), ": ", sent.status().ToString()));
      }
    }
  }
  batch.PutTriggerSequence(tenant, static_cast<uint64_t>(events.back().sequence()));
  RETURN_IF_ERROR(store_.Commit(batch));
  return outcome;
}

}  // namespace cxp::notify
