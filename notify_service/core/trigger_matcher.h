// TriggerMatcher — decides which of a tenant's trigger rules one
// context_service change event (WatchChanges) fires, and builds for each
// the SendNotificationRequest to make. No I/O: the trigger consumer reads
// the stream, looks up what the matcher asks for (the customer's profile,
// when a rule reads it and the event carries none; when a rule last sent to
// the customer, for cooldowns), sends, and stores the event's sequence in
// the same batch as the notifications.
//
// A rule fires for an event when all hold:
//   - the rule is enabled and the event's kind is one of its change_kinds;
//   - the event names a customer, and was made (change_time) no earlier
//     than the rule was created;
//   - its filter matches (trigger_rule_validation.h describes the field
//     space: `customer.*` the profile, `journey.*` etc. the event's payload,
//     journey.previous_step / previous_state derived from the transitions);
//   - no cooldown is running: the rule has no cooldown, or the consumer
//     knows of no earlier send of this rule to the customer within cooldown
//     before the event's change_time (change_time rather than the clock, so
//     a replay after a restart decides as the first run did).
// The send: the event's customer (CustomerRef.customer), the rule's
// template (its current version at send time), purpose and channel_order,
// the rule's variables resolved from the event as text (strings as they
// are; numbers in shortest form, "2.5", "3"; true / false; enums by value
// name, "STATE_RESOLVED"; timestamps RFC 3339 in UTC; anything absent ""),
// and idempotency_key `trigger:{rule id}:{sequence}`, so an event sent
// twice (a crash between send and the stored sequence) sends once.
//
// Rules are compiled once (filters parsed) when the matcher is built; a
// stored rule that no longer compiles (e.g. a filter field removed from the
// protos) is left out and listed in broken_rules(), so one bad rule does
// not stop the others.
//
// Threading: immutable after construction; const methods may be called
// from any thread. Ownership: copies the rules; Match() borrows the event
// and profile only for the call.

#ifndef CXP_NOTIFY_SERVICE_CORE_TRIGGER_MATCHER_H_
#define CXP_NOTIFY_SERVICE_CORE_TRIGGER_MATCHER_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/filter/filter.h"
#include "common/filter/filter_schema.h"
#include "cxp/context/v1/change_event.pb.h"
#include "cxp/context/v1/customer.pb.h"
#include "cxp/notify/v1/notify_service.pb.h"
#include "cxp/notify/v1/trigger_rule.pb.h"

namespace cxp::notify {

// One send a rule makes for an event.
struct TriggeredSend {
  // The rule, `triggerRules/{id}`: the notification's trigger_rule.
  std::string trigger_rule;
  cxp::notify::v1::SendNotificationRequest request;
};

class TriggerMatcher {
 public:
  // When `rule` (a name) last sent to `customer` (a name), if known.
  using LastSentLookup = absl::FunctionRef<std::optional<absl::Time>(const std::string& rule,
                                                                     const std::string& customer)>;

  TriggerMatcher() = default;  // no rules
  explicit TriggerMatcher(const std::vector<cxp::notify::v1::TriggerRule>& rules);

  // Enabled rules that compiled.
  size_t size() const { return rules_.size(); }
  // Rules left out, by name, with why.
  const std::vector<std::pair<std::string, absl::Status>>& broken_rules() const { return broken_; }

  // The idempotency key of `rule`'s send for the event at `sequence`:
  // "trigger:{rule id}:{sequence}".
  static std::string IdempotencyKey(absl::string_view rule_name, int64_t sequence);

  // True if a rule that events of this kind may fire reads the customer's
  // profile (in its filter or variables, beyond customer.name) and the
  // event carries no customer_snapshot: look the profile up for Match.
  bool NeedsCustomerProfile(const cxp::context::v1::ChangeEvent& event) const;

  // The sends `event` triggers, in rule-name order. `profile` is the
  // customer's current profile, or nullptr when not needed or not found
  // (profile fields are then absent: comparisons on them do not match and
  // variables read ""); ignored when the event carries a snapshot.
  // `last_sent` answers cooldowns; without it no rule is held back by its
  // cooldown.
  std::vector<TriggeredSend> Match(const cxp::context::v1::ChangeEvent& event,
                                   const cxp::context::v1::Customer* profile) const;
  std::vector<TriggeredSend> Match(const cxp::context::v1::ChangeEvent& event,
                                   const cxp::context::v1::Customer* profile,
                                   LastSentLookup last_sent) const;

 private:
  struct Variable {
    std::string name;
    const filter::FilterSchema::Field* field;  // in the static trigger schema
    std::string key;                           // map key, else empty
  };
  struct CompiledRule {
    cxp::notify::v1::TriggerRule rule;
    filter::Filter filter;
    std::vector<Variable> variables;
    absl::Duration cooldown = absl::ZeroDuration();
    bool reads_profile = false;
  };

  std::vector<TriggeredSend> MatchImpl(const cxp::context::v1::ChangeEvent& event,
                                       const cxp::context::v1::Customer* profile,
                                       const LastSentLookup* last_sent) const;

  std::vector<CompiledRule> rules_;  // by name
  std::vector<std::pair<std::string, absl::Status>> broken_;
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_TRIGGER_MATCHER_H_
