// Checks of trigger rules (CreateTriggerRule, UpdateTriggerRule) per
// protos/cxp/notify/v1/trigger_rule.proto and notify_service.proto, and the
// field space their `filter` and `variables` read.
//
// Field space. A path starts with a root:
//   customer             the customer's current profile (cxp.context.v1.Customer):
//                        the event's customer_snapshot when it carries one,
//                        else the profile the trigger consumer looked up;
//                        `customer.name` is always the event's customer.
//   identity, interaction, consent_change, contact_preferences, journey,
//   merge_record         the event's payload of that name (set only for the
//                        change kinds that carry it, change_event.proto).
// Below a root, the message's fields by name, nested messages joined by '.'
// (`interaction.identity.kind`): strings, numbers, bools, enums (by value
// name), timestamps, repeated strings and enums (`field:value` in filters),
// and attribute maps as `<root>.attributes.<key>`. Repeated messages are not
// paths. Two derived fields say where a journey came from, so that "moved
// to step X" can be told from "advanced while at step X":
//   journey.previous_step, journey.previous_state   the step and state
//                        before this change (the journey's second-to-last
//                        transition; "" and STATE_UNSPECIFIED when the
//                        journey just started).
//
// Rules (paths relative to `field`, normally "trigger_rule"):
//   display_name   required, at most 256 characters, no control characters.
//   change_kinds   1 to 20, no repeats, none UNSPECIFIED; not
//                  CUSTOMER_DELETED or CUSTOMER_ERASED (their customer is
//                  gone: nobody to send to, and an erased customer's data
//                  must not be used).
//   filter         empty, or a filter (common/filter, protos/README.md
//                  "Filters") over the field space; every root it reads
//                  must be carried by at least one of change_kinds (else
//                  the rule could never fire). Stored as given.
//   template       required, `templates/{template}` (its existence is the
//                  core's check).
//   purpose        required, a known value other than UNSPECIFIED.
//   channel_order  no repeats, known values only, not VOICE or IN_PERSON
//                  (notifications do not use them).
//   variables      at most 100; names as for SendNotification variables
//                  ([a-z][a-z0-9_]*, not "customer"); each value a path of
//                  the field space naming one value (not a repeated field;
//                  a map with its key). Roots the kinds do not carry are
//                  allowed (they yield "", as the proto says).
//   cooldown       unset, or positive and at most 366 days.
//   enabled        nothing to check.
// Output-only fields (create_time, update_time) are cleared in the returned
// copy; name and etag are copied unchecked.
//
// Errors: INVALID_ARGUMENT "<field path>: <problem>", the first found in
// field-number order, e.g. "trigger_rule.change_kinds[1]: repeats
// trigger_rule.change_kinds[0]", "trigger_rule.filter: unknown field
// `journey.stepp` at offset 0 (...)", `trigger_rule.variables["step"]:
// unknown path "journey.stepp"`.
//
// Pure functions, thread-safe.

#ifndef CXP_NOTIFY_SERVICE_VALIDATION_TRIGGER_RULE_VALIDATION_H_
#define CXP_NOTIFY_SERVICE_VALIDATION_TRIGGER_RULE_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/filter/filter.h"
#include "common/filter/filter_schema.h"
#include "cxp/context/v1/change_event.pb.h"
#include "cxp/notify/v1/notify_service.pb.h"
#include "cxp/notify/v1/trigger_rule.pb.h"

namespace cxp::notify::validation {

inline constexpr size_t kMaxTriggerRuleDisplayNameChars = 256;
inline constexpr int kMaxTriggerChangeKinds = 20;
inline constexpr absl::Duration kMaxTriggerCooldown = absl::Hours(24 * 366);

// Roots of the field space.
inline constexpr absl::string_view kCustomerRoot = "customer";
// Derived fields (see the header comment).
inline constexpr absl::string_view kJourneyPreviousStep = "journey.previous_step";
inline constexpr absl::string_view kJourneyPreviousState = "journey.previous_state";

// The field space as a filter schema, built once.
const filter::FilterSchema& TriggerFilterSchema();

// The root of a path: "journey" for "journey.attributes.order_id".
absl::string_view TriggerPathRoot(absl::string_view path);

// The payload root an event of `kind` carries ("customer" for the customer
// snapshot), or "" when it carries none.
absl::string_view PayloadRootOf(cxp::context::v1::ChangeKind kind);

// True if an event of `kind` has something under `root`: the customer root
// for every kind (the profile), a payload root for the kinds that carry it.
bool KindCarriesRoot(cxp::context::v1::ChangeKind kind, absl::string_view root);

// TriggerRule.filter parsed against TriggerFilterSchema; errors name
// `field` ("trigger_rule.filter: unknown field ...").
absl::StatusOr<filter::Filter> ParseTriggerFilter(absl::string_view text, absl::string_view field);

// The trigger rule fields UpdateTriggerRule may name in update_mask: every
// non-output-only field, in field-number order.
inline constexpr absl::string_view kTriggerRuleUpdatePaths[] = {
    "display_name",  "change_kinds", "filter",   "template", "purpose",
    "channel_order", "variables",    "cooldown", "enabled"};

// Every configuration field of `rule` per the rules above; returns a copy
// with the output-only fields cleared.
absl::StatusOr<cxp::notify::v1::TriggerRule> NormalizeTriggerRule(
    const cxp::notify::v1::TriggerRule& rule, absl::string_view field);

struct ValidatedCreateTriggerRule {
  std::string trigger_rule_id;  // empty: the core generates one
  // NormalizeTriggerRule's copy, name and etag cleared.
  cxp::notify::v1::TriggerRule rule;
};

// CreateTriggerRuleRequest: trigger_rule required; trigger_rule_id empty or
// a valid ID; the rule per NormalizeTriggerRule under "trigger_rule";
// request_id empty or a UUID.
absl::StatusOr<ValidatedCreateTriggerRule> ValidateCreateTriggerRule(
    const cxp::notify::v1::CreateTriggerRuleRequest& request);

struct ValidatedTriggerRuleUpdate {
  std::string trigger_rule_id;     // from trigger_rule.name
  std::vector<std::string> paths;  // fields to replace (common/validation/update_mask.h)
  // The request's rule with the fields in `paths` checked one by one; etag
  // as given. Fields outside `paths` must not be used.
  cxp::notify::v1::TriggerRule rule;
};

// UpdateTriggerRuleRequest: trigger_rule required; trigger_rule.name
// `triggerRules/{trigger_rule}`; update_mask with kTriggerRuleUpdatePaths
// (an empty mask selects the fields that are set; selecting nothing is an
// error); then each selected field is checked alone, under "trigger_rule".
// The rule spanning fields (filter roots vs change_kinds) is
// ApplyTriggerRuleUpdate's, against the stored rule.
absl::StatusOr<ValidatedTriggerRuleUpdate> ValidateUpdateTriggerRule(
    const cxp::notify::v1::UpdateTriggerRuleRequest& request);

// `stored` with the fields in `update.paths` replaced, then the whole rule
// checked as NormalizeTriggerRule does (so a new change_kinds that no
// longer carries what the stored filter reads is refused, naming the
// filter). Call it before storing anything.
absl::StatusOr<cxp::notify::v1::TriggerRule> ApplyTriggerRuleUpdate(
    const cxp::notify::v1::TriggerRule& stored, const ValidatedTriggerRuleUpdate& update);

}  // namespace cxp::notify::validation

#endif  // CXP_NOTIFY_SERVICE_VALIDATION_TRIGGER_RULE_VALIDATION_H_
