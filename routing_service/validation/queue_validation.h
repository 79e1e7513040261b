// Checks and normalisation of queue configuration: CreateQueueRequest and
// UpdateQueueRequest. The comments in protos/cxp/routing/v1/queue.proto,
// routing_service.proto and protos/cxp/type/v1/schedule.proto are the
// contract for every rule here.
//
// Rules (paths relative to the caller's `field`, normally "queue"):
//   display_name     required, at most 256 characters, no control characters.
//   required_skills  at most 20; skill 1 to 64 characters of [a-z0-9_.-];
//                    min_proficiency 1 to 5; no skill twice.
//   priority         0 (the default, stored as 5) or 1 to 10.
//   distribution_strategy  a known value; UNSPECIFIED is stored as
//                    LONGEST_IDLE.
//   bullseye_steps   at most 10; after required, at least 1 second, strictly
//                    increasing from step to step; lower_min_proficiency_by 0
//                    to 4; extra_queues `queues/{queue}` names, no repeats
//                    within a step.
//   overflow         if present: target_queue a `queues/{queue}` name other
//                    than the queue itself (when its ID is known); after
//                    required, at least 1 second.
//   max_wait         unset (no limit) or greater than 0; with overflow,
//                    longer than overflow.after.
//   business_hours   if present: cxp::schedule::WeeklySchedule::
//                    FromBusinessHours (time zone, windows, holiday dates);
//                    holidays[i].display_name at most 128 characters, no
//                    control characters.
//   service_level_target  if present: percent greater than 0 and at most
//                    100; threshold required, greater than 0 and at most 1
//                    hour.
//   intents          at most 50; each 1 to 128 characters, no control
//                    characters; no repeats (whether another queue has it is
//                    the core's check).
//   offer_timeout    unset (stored as 20 seconds) or 5 seconds to 5 minutes.
//   wrap_up_timeout  unset (stored as 2 minutes) or greater than 0 and at
//                    most 1 hour.
//   last_agent_window  unset or 0 to 10 minutes.
//   tier_priorities  at most 20; tier 1 to 64 characters, no control
//                    characters, no tier twice (case-sensitive, as the
//                    profile's tier); priority_boost 1 to 9.
//   keep_agent_available_on_missed_offer  nothing to check.
// Every Duration must also be a valid google.protobuf.Duration. Output-only
// fields (create_time, update_time) are ignored and cleared in the returned
// copies. Repeated entries are reported at the later index.
//
// Errors: INVALID_ARGUMENT "<field path>: <problem>", e.g.
// "queue.bullseye_steps[1].after: must be later than
// queue.bullseye_steps[0].after, which is 30s (got 30s)". The first error in
// field-number order is reported; the max_wait / overflow.after rule comes
// last. Pure functions, thread-safe.

#ifndef CXP_ROUTING_SERVICE_VALIDATION_QUEUE_VALIDATION_H_
#define CXP_ROUTING_SERVICE_VALIDATION_QUEUE_VALIDATION_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cxp/routing/v1/queue.pb.h"
#include "cxp/routing/v1/routing_service.pb.h"
#include "google/protobuf/repeated_field.h"

namespace cxp::routing::validation {

inline constexpr int kMaxRequiredSkills = 20;  // Queue and Task
inline constexpr int kMinPriority = 1;         // Queue and Task
inline constexpr int kMaxPriority = 10;
inline constexpr int kDefaultPriority = 5;
inline constexpr int kMaxBullseyeSteps = 10;
inline constexpr absl::Duration kMinStepAfter = absl::Seconds(1);  // bullseye and overflow
inline constexpr int kMaxLowerProficiencyBy = 4;
inline constexpr size_t kMaxHolidayNameChars = 128;
inline constexpr absl::Duration kMaxServiceLevelThreshold = absl::Hours(1);
inline constexpr int kMaxQueueIntents = 50;
inline constexpr size_t kMaxIntentChars = 128;  // Queue.intents and Task.intent
inline constexpr absl::Duration kMinOfferTimeout = absl::Seconds(5);
inline constexpr absl::Duration kMaxOfferTimeout = absl::Minutes(5);
inline constexpr absl::Duration kDefaultOfferTimeout = absl::Seconds(20);
inline constexpr absl::Duration kMaxQueueWrapUpTimeout = absl::Hours(1);
inline constexpr absl::Duration kDefaultQueueWrapUpTimeout = absl::Minutes(2);
inline constexpr absl::Duration kMaxLastAgentWindow = absl::Minutes(10);
inline constexpr int kMaxTierPriorities = 20;
inline constexpr size_t kMaxTierChars = 64;
inline constexpr int kMaxPriorityBoost = 9;

// The fields UpdateQueue may name in update_mask: every non-output-only
// top-level field of Queue (routing_service.proto), in field-number order;
// also the fields NormalizeQueue checks.
inline constexpr absl::string_view kQueueUpdatePaths[] = {"display_name",
                                                          "required_skills",
                                                          "priority",
                                                          "distribution_strategy",
                                                          "bullseye_steps",
                                                          "overflow",
                                                          "max_wait",
                                                          "business_hours",
                                                          "service_level_target",
                                                          "intents",
                                                          "offer_timeout",
                                                          "wrap_up_timeout",
                                                          "last_agent_window",
                                                          "tier_priorities",
                                                          "keep_agent_available_on_missed_offer"};

// Queue.required_skills or Task.required_skills: at most 20; skill IDs per
// ValidateSkillId; min_proficiency 1 to 5; no skill twice.
absl::Status ValidateSkillRequirements(
    const google::protobuf::RepeatedPtrField<cxp::routing::v1::SkillRequirement>& skills,
    absl::string_view field);

// Checks every configuration field of `queue` and returns a copy with the
// defaults the contract states filled in (priority 5, distribution_strategy
// LONGEST_IDLE, offer_timeout 20 s, wrap_up_timeout 2 min) and the
// output-only fields cleared; name and etag are copied as given (not
// checked). `self_id` is the queue's own ID, for the overflow-cycle rule;
// empty when not known yet (CreateQueue without queue_id).
absl::StatusOr<cxp::routing::v1::Queue> NormalizeQueue(const cxp::routing::v1::Queue& queue,
                                                       absl::string_view field,
                                                       absl::string_view self_id = "");

// A checked CreateQueueRequest.
struct ValidatedCreateQueue {
  std::string queue_id;           // empty: the core generates one
  cxp::routing::v1::Queue queue;  // NormalizeQueue's copy, name and etag cleared
};

// CreateQueueRequest: queue required ("queue: must be set"); queue_id empty
// or a valid ID (checked before the queue: the overflow rule uses it as
// self_id); the queue checked with NormalizeQueue under "queue"; request_id
// empty or a UUID.
absl::StatusOr<ValidatedCreateQueue> ValidateCreateQueue(
    const cxp::routing::v1::CreateQueueRequest& request);

// A checked UpdateQueueRequest.
struct ValidatedQueueUpdate {
  std::string queue_id;            // from queue.name
  std::vector<std::string> paths;  // fields to replace, from UpdatePaths
  // The request's queue with the fields in `paths` checked, normalised and
  // defaulted (naming offer_timeout while leaving it unset stores 20 s) and
  // the output-only fields cleared; etag as given. Fields outside `paths`
  // are not checked and must not be used.
  cxp::routing::v1::Queue queue;
};

// UpdateQueueRequest: queue required; queue.name `queues/{queue}`;
// update_mask per UpdatePaths with kQueueUpdatePaths (an empty mask selects
// the fields that are set); then only the selected fields are checked,
// under "queue", with self_id from the name. The max_wait / overflow.after
// rule is checked here only when both are selected; ApplyQueueUpdate checks
// it against the stored queue.
absl::StatusOr<ValidatedQueueUpdate> ValidateUpdateQueue(
    const cxp::routing::v1::UpdateQueueRequest& request);

// `stored` with the fields in `update.paths` replaced by update.queue's,
// then the rule that spans fields checked on the result: max_wait longer
// than overflow.after, reported as "queue.max_wait: ..." when the update
// names max_wait, else as "queue.overflow.after: must be shorter than
// queue.max_wait, which is ...". Call it before storing anything.
absl::StatusOr<cxp::routing::v1::Queue> ApplyQueueUpdate(const cxp::routing::v1::Queue& stored,
                                                         const ValidatedQueueUpdate& update);

}  // namespace cxp::routing::validation

#endif  // CXP_ROUTING_SERVICE_VALIDATION_QUEUE_VALIDATION_H_
