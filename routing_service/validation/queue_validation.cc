#include "routing_service/validation/queue_validation.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/schedule/weekly_schedule.h"
#include "common/status/status_macros.h"
#include "common/validation/update_mask.h"
#include "routing_service/validation/field_rules.h"
#include "routing_service/validation/resource_names.h"

namespace cxp::routing::validation {
namespace {

using cxp::routing::v1::BullseyeStep;
using cxp::routing::v1::BusinessHours;
using cxp::routing::v1::DistributionStrategy;
using cxp::routing::v1::Overflow;
using cxp::routing::v1::Queue;
using cxp::routing::v1::ServiceLevelTarget;
using cxp::routing::v1::SkillRequirement;
using cxp::routing::v1::TierPriority;
using cxp::validation::ApplyPaths;
using cxp::validation::UpdatePaths;

absl::Status ValidateBullseyeSteps(const google::protobuf::RepeatedPtrField<BullseyeStep>& steps,
                                   absl::string_view field) {
  RETURN_IF_ERROR(ValidateMaxEntries(steps.size(), kMaxBullseyeSteps, field));
  absl::Duration previous;
  for (int i = 0; i < steps.size(); ++i) {
    const std::string entry = IndexedPath(field, i);
    const BullseyeStep& step = steps.Get(i);
    const std::string after_field = FieldPath(entry, "after");
    if (!step.has_after()) return InvalidField(after_field, "must be set");
    RETURN_IF_ERROR(
        ValidateDurationRange(step.after(), after_field, kMinStepAfter, absl::InfiniteDuration()));
    const absl::Duration after = ToAbslDuration(step.after());
    if (i > 0 && after <= previous) {
      return InvalidField(after_field, absl::StrCat("must be later than ",
                                                    FieldPath(IndexedPath(field, i - 1), "after"),
                                                    ", which is ", absl::FormatDuration(previous),
                                                    " (got ", absl::FormatDuration(after), ")"));
    }
    previous = after;
    RETURN_IF_ERROR(ValidateRange(step.lower_min_proficiency_by(),
                                  FieldPath(entry, "lower_min_proficiency_by"), 0,
                                  kMaxLowerProficiencyBy));
    const std::string queues_field = FieldPath(entry, "extra_queues");
    absl::flat_hash_map<absl::string_view, int> first;
    for (int j = 0; j < step.extra_queues_size(); ++j) {
      const std::string queue_entry = IndexedPath(queues_field, j);
      RETURN_IF_ERROR(ParseQueueName(step.extra_queues(j), queue_entry).status());
      if (const auto [it, inserted] = first.emplace(step.extra_queues(j), j); !inserted) {
        return RepeatedEntry(queue_entry, IndexedPath(queues_field, it->second));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateOverflow(const Overflow& overflow, absl::string_view field,
                              absl::string_view self_id) {
  const std::string target_field = FieldPath(field, "target_queue");
  ASSIGN_OR_RETURN(const std::string target, ParseQueueName(overflow.target_queue(), target_field));
  if (!self_id.empty() && target == self_id) {
    return InvalidField(target_field, "must not be the queue itself (an overflow cycle)");
  }
  const std::string after_field = FieldPath(field, "after");
  if (!overflow.has_after()) return InvalidField(after_field, "must be set");
  return ValidateDurationRange(overflow.after(), after_field, kMinStepAfter,
                               absl::InfiniteDuration());
}

absl::Status ValidateBusinessHours(const BusinessHours& hours, absl::string_view field) {
  RETURN_IF_ERROR(cxp::schedule::WeeklySchedule::FromBusinessHours(hours, field).status());
  const std::string holidays_field = FieldPath(field, "holidays");
  for (int i = 0; i < hours.holidays_size(); ++i) {
    RETURN_IF_ERROR(ValidateText(hours.holidays(i).display_name(),
                                 FieldPath(IndexedPath(holidays_field, i), "display_name"), 0,
                                 kMaxHolidayNameChars));
  }
  return absl::OkStatus();
}

absl::Status ValidateServiceLevelTarget(const ServiceLevelTarget& target, absl::string_view field) {
  const double percent = target.percent();
  if (!(percent > 0 && percent <= 100)) {  // also rejects NaN
    return InvalidField(FieldPath(field, "percent"),
                        absl::StrCat("must be greater than 0 and at most 100 (got ", percent, ")"));
  }
  const std::string threshold_field = FieldPath(field, "threshold");
  if (!target.has_threshold()) return InvalidField(threshold_field, "must be set");
  return ValidateDurationRange(target.threshold(), threshold_field, absl::ZeroDuration(),
                               kMaxServiceLevelThreshold, LowerBound::kExclusive);
}

absl::Status ValidateIntents(const google::protobuf::RepeatedPtrField<std::string>& intents,
                             absl::string_view field) {
  RETURN_IF_ERROR(ValidateMaxEntries(intents.size(), kMaxQueueIntents, field));
  absl::flat_hash_map<absl::string_view, int> first;
  for (int i = 0; i < intents.size(); ++i) {
    const std::string entry = IndexedPath(field, i);
    RETURN_IF_ERROR(ValidateText(intents.Get(i), entry, 1, kMaxIntentChars));
    if (const auto [it, inserted] = first.emplace(intents.Get(i), i); !inserted) {
      return RepeatedEntry(entry, IndexedPath(field, it->second));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTierPriorities(const google::protobuf::RepeatedPtrField<TierPriority>& tiers,
                                    absl::string_view field) {
  RETURN_IF_ERROR(ValidateMaxEntries(tiers.size(), kMaxTierPriorities, field));
  absl::flat_hash_map<absl::string_view, int> first;
  for (int i = 0; i < tiers.size(); ++i) {
    const std::string entry = IndexedPath(field, i);
    const TierPriority& tier = tiers.Get(i);
    RETURN_IF_ERROR(ValidateText(tier.tier(), FieldPath(entry, "tier"), 1, kMaxTierChars));
    if (const auto [it, inserted] = first.emplace(tier.tier(), i); !inserted) {
      return RepeatedEntry(FieldPath(entry, "tier"),
                           FieldPath(IndexedPath(field, it->second), "tier"));
    }
    RETURN_IF_ERROR(ValidateRange(tier.priority_boost(), FieldPath(entry, "priority_boost"), 1,
                                  kMaxPriorityBoost));
  }
  return absl::OkStatus();
}

// Checks `path` (one of kQueueUpdatePaths) of `in` and writes its
// normalised, defaulted value into `out`.
absl::Status NormalizeQueueField(absl::string_view path, const Queue& in, absl::string_view field,
                                 absl::string_view self_id, Queue* out) {
  const std::string path_field = FieldPath(field, path);
  if (path == "display_name") {
    return ValidateText(in.display_name(), path_field, 1, kMaxDisplayNameChars);
  }
  if (path == "required_skills") return ValidateSkillRequirements(in.required_skills(), path_field);
  if (path == "priority") {
    if (in.priority() == 0) {
      out->set_priority(kDefaultPriority);
      return absl::OkStatus();
    }
    if (in.priority() < kMinPriority || in.priority() > kMaxPriority) {
      return InvalidField(path_field, absl::StrCat("must be ", kMinPriority, " to ", kMaxPriority,
                                                   ", or 0 for the default ", kDefaultPriority,
                                                   " (got ", in.priority(), ")"));
    }
    return absl::OkStatus();
  }
  if (path == "distribution_strategy") {
    const int strategy = in.distribution_strategy();
    if (!cxp::routing::v1::DistributionStrategy_IsValid(strategy)) {
      return InvalidField(path_field,
                          absl::StrCat("unknown DistributionStrategy value ", strategy));
    }
    if (strategy == cxp::routing::v1::DISTRIBUTION_STRATEGY_UNSPECIFIED) {
      out->set_distribution_strategy(cxp::routing::v1::DISTRIBUTION_STRATEGY_LONGEST_IDLE);
    }
    return absl::OkStatus();
  }
  if (path == "bullseye_steps") return ValidateBullseyeSteps(in.bullseye_steps(), path_field);
  if (path == "overflow") {
    return in.has_overflow() ? ValidateOverflow(in.overflow(), path_field, self_id)
                             : absl::OkStatus();
  }
  if (path == "max_wait") {
    return in.has_max_wait()
               ? ValidateDurationRange(in.max_wait(), path_field, absl::ZeroDuration(),
                                       absl::InfiniteDuration(), LowerBound::kExclusive)
               : absl::OkStatus();
  }
  if (path == "business_hours") {
    return in.has_business_hours() ? ValidateBusinessHours(in.business_hours(), path_field)
                                   : absl::OkStatus();
  }
  if (path == "service_level_target") {
    return in.has_service_level_target()
               ? ValidateServiceLevelTarget(in.service_level_target(), path_field)
               : absl::OkStatus();
  }
  if (path == "intents") return ValidateIntents(in.intents(), path_field);
  if (path == "offer_timeout") {
    if (!in.has_offer_timeout()) {
      *out->mutable_offer_timeout() = ToProtoDuration(kDefaultOfferTimeout);
      return absl::OkStatus();
    }
    return ValidateDurationRange(in.offer_timeout(), path_field, kMinOfferTimeout,
                                 kMaxOfferTimeout);
  }
  if (path == "wrap_up_timeout") {
    if (!in.has_wrap_up_timeout()) {
      *out->mutable_wrap_up_timeout() = ToProtoDuration(kDefaultQueueWrapUpTimeout);
      return absl::OkStatus();
    }
    return ValidateDurationRange(in.wrap_up_timeout(), path_field, absl::ZeroDuration(),
                                 kMaxQueueWrapUpTimeout, LowerBound::kExclusive);
  }
  if (path == "last_agent_window") {
    return in.has_last_agent_window()
               ? ValidateDurationRange(in.last_agent_window(), path_field, absl::ZeroDuration(),
                                       kMaxLastAgentWindow)
               : absl::OkStatus();
  }
  if (path == "tier_priorities") return ValidateTierPriorities(in.tier_priorities(), path_field);
  if (path == "keep_agent_available_on_missed_offer") return absl::OkStatus();
  return InvalidField(path_field, "cannot be set");  // not reached for valid paths
}

// max_wait longer than overflow.after, when both are set (each already
// checked). Blames overflow.after when `blame_overflow`, else max_wait.
absl::Status CheckMaxWaitAfterOverflow(const Queue& queue, absl::string_view field,
                                       bool blame_overflow) {
  if (!queue.has_max_wait() || !queue.has_overflow()) return absl::OkStatus();
  const absl::Duration max_wait = ToAbslDuration(queue.max_wait());
  const absl::Duration after = ToAbslDuration(queue.overflow().after());
  if (max_wait > after) return absl::OkStatus();
  const std::string max_wait_field = FieldPath(field, "max_wait");
  const std::string after_field = FieldPath(FieldPath(field, "overflow"), "after");
  if (blame_overflow) {
    return InvalidField(after_field, absl::StrCat("must be shorter than ", max_wait_field,
                                                  ", which is ", absl::FormatDuration(max_wait),
                                                  " (got ", absl::FormatDuration(after), ")"));
  }
  return InvalidField(max_wait_field, absl::StrCat("must be longer than ", after_field,
                                                   ", which is ", absl::FormatDuration(after),
                                                   " (got ", absl::FormatDuration(max_wait), ")"));
}

void ClearOutputOnly(Queue* queue) {
  queue->clear_create_time();
  queue->clear_update_time();
}

bool Contains(const std::vector<std::string>& paths, absl::string_view path) {
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

}  // namespace

absl::Status ValidateSkillRequirements(
    const google::protobuf::RepeatedPtrField<SkillRequirement>& skills, absl::string_view field) {
  RETURN_IF_ERROR(ValidateMaxEntries(skills.size(), kMaxRequiredSkills, field));
  absl::flat_hash_map<absl::string_view, int> first;
  for (int i = 0; i < skills.size(); ++i) {
    const std::string entry = IndexedPath(field, i);
    const SkillRequirement& skill = skills.Get(i);
    RETURN_IF_ERROR(ValidateSkillId(skill.skill(), FieldPath(entry, "skill")));
    RETURN_IF_ERROR(ValidateRange(skill.min_proficiency(), FieldPath(entry, "min_proficiency"),
                                  kMinProficiency, kMaxProficiency));
    if (const auto [it, inserted] = first.emplace(skill.skill(), i); !inserted) {
      return RepeatedEntry(FieldPath(entry, "skill"),
                           FieldPath(IndexedPath(field, it->second), "skill"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Queue> NormalizeQueue(const Queue& queue, absl::string_view field,
                                     absl::string_view self_id) {
  Queue out = queue;
  ClearOutputOnly(&out);
  for (const absl::string_view path : kQueueUpdatePaths) {
    RETURN_IF_ERROR(NormalizeQueueField(path, queue, field, self_id, &out));
  }
  RETURN_IF_ERROR(CheckMaxWaitAfterOverflow(out, field, /*blame_overflow=*/false));
  return out;
}

absl::StatusOr<ValidatedCreateQueue> ValidateCreateQueue(
    const cxp::routing::v1::CreateQueueRequest& request) {
  if (!request.has_queue()) return InvalidField("queue", "must be set");
  // queue_id first: the overflow rule needs it.
  if (!request.queue_id().empty()) {
    RETURN_IF_ERROR(ValidateResourceId(request.queue_id(), "queue_id"));
  }
  ValidatedCreateQueue out;
  ASSIGN_OR_RETURN(out.queue, NormalizeQueue(request.queue(), "queue", request.queue_id()));
  out.queue.clear_name();
  out.queue.clear_etag();
  out.queue_id = request.queue_id();
  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
  return out;
}

absl::StatusOr<ValidatedQueueUpdate> ValidateUpdateQueue(
    const cxp::routing::v1::UpdateQueueRequest& request) {
  if (!request.has_queue()) return InvalidField("queue", "must be set");
  const Queue& queue = request.queue();
  ValidatedQueueUpdate out;
  ASSIGN_OR_RETURN(out.queue_id, ParseQueueName(queue.name(), "queue.name"));
  ASSIGN_OR_RETURN(out.paths, UpdatePaths(request.update_mask(), queue, kQueueUpdatePaths));
  out.queue = queue;
  ClearOutputOnly(&out.queue);
  for (const std::string& path : out.paths) {
    RETURN_IF_ERROR(NormalizeQueueField(path, queue, "queue", out.queue_id, &out.queue));
  }
  if (Contains(out.paths, "max_wait") && Contains(out.paths, "overflow")) {
    RETURN_IF_ERROR(CheckMaxWaitAfterOverflow(out.queue, "queue", /*blame_overflow=*/false));
  }
  return out;
}

absl::StatusOr<Queue> ApplyQueueUpdate(const Queue& stored, const ValidatedQueueUpdate& update) {
  Queue out = stored;
  ApplyPaths(update.queue, update.paths, &out);
  const bool blame_overflow =
      Contains(update.paths, "overflow") && !Contains(update.paths, "max_wait");
  RETURN_IF_ERROR(CheckMaxWaitAfterOverflow(out, "queue", blame_overflow));
  return out;
}

}  // namespace cxp::routing::validation
