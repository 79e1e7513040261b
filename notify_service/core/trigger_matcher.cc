#include "notify_service/core/trigger_matcher.h"

#include <algorithm>
#include <charconv>
#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/filter/field_resolver.h"
#include "common/validation/resource_id.h"
#include "common/validation/text_rules.h"
#include "cxp/context/v1/journey.pb.h"
#include "cxp/type/v1/attribute_value.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"
#include "notify_service/validation/trigger_rule_validation.h"

namespace cxp::notify {
namespace {

namespace context = ::cxp::context::v1;
using cxp::type::v1::AttributeValue;
using filter::FieldPath;
using filter::FieldType;
using filter::FilterSchema;
using filter::FilterValue;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
namespace names = ::cxp::notify::validation;

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixMicros(google::protobuf::util::TimeUtil::TimestampToMicroseconds(ts));
}

FilterValue AttributeFilterValue(const AttributeValue& value) {
  switch (value.value_case()) {
    case AttributeValue::kStringValue:
      return FilterValue::String(value.string_value());
    case AttributeValue::kNumberValue:
      return FilterValue::Number(value.number_value());
    case AttributeValue::kBoolValue:
      return FilterValue::Bool(value.bool_value());
    case AttributeValue::kTimestampValue:
      return FilterValue::Timestamp(ToTime(value.timestamp_value()));
    case AttributeValue::VALUE_NOT_SET:
      break;
  }
  return FilterValue::Absent();
}

// Reads the field space of trigger_rule_validation.h from one event (and
// the customer's profile) by reflection, so every field the schema lists
// resolves without a hand-written case per field.
class EventResolver : public filter::FieldResolver {
 public:
  EventResolver(const context::ChangeEvent& event, const context::Customer* profile)
      : event_(event),
        profile_(event.has_customer_snapshot() ? &event.customer_snapshot() : profile) {}

  FilterValue Resolve(const FieldPath& path) const override {
    if (path.field == "customer.name") return FilterValue::String(event_.customer());
    if (path.field == names::kJourneyPreviousStep || path.field == names::kJourneyPreviousState) {
      return PreviousTransition(path.field == names::kJourneyPreviousStep);
    }
    const absl::string_view root = names::TriggerPathRoot(path.field);
    const Message* message = RootMessage(root);
    if (message == nullptr) return FilterValue::Absent();
    // Down the nested messages to the field's own message.
    std::vector<absl::string_view> segments =
        absl::StrSplit(path.field.substr(root.size() + 1), '.');
    for (size_t i = 0; i + 1 < segments.size(); ++i) {
      const FieldDescriptor* fd = Field(*message, segments[i]);
      if (fd == nullptr || fd->is_repeated() ||
          fd->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        return FilterValue::Absent();
      }
      message = &message->GetReflection()->GetMessage(*message, fd);
    }
    const FieldDescriptor* fd = Field(*message, segments.back());
    if (fd == nullptr) return FilterValue::Absent();
    return Value(*message, fd, path.key);
  }

 private:
  static const FieldDescriptor* Field(const Message& message, absl::string_view name) {
    return message.GetDescriptor()->FindFieldByName(std::string(name));
  }

  // The root's message: the profile for "customer", else the event's
  // payload when it is the one of that name.
  const Message* RootMessage(absl::string_view root) const {
    if (root == names::kCustomerRoot) return profile_;
    const Reflection* reflection = event_.GetReflection();
    const FieldDescriptor* fd = Field(event_, root);
    if (fd == nullptr || fd->containing_oneof() == nullptr || !reflection->HasField(event_, fd)) {
      return nullptr;
    }
    return &reflection->GetMessage(event_, fd);
  }

  FilterValue PreviousTransition(bool step) const {
    if (!event_.has_journey()) return FilterValue::Absent();
    const auto& transitions = event_.journey().transitions();
    if (transitions.size() < 2) {
      return step ? FilterValue::String("")
                  : FilterValue::Enum(context::Journey::STATE_UNSPECIFIED);
    }
    const context::JourneyTransition& previous = transitions[transitions.size() - 2];
    return step ? FilterValue::String(previous.step()) : FilterValue::Enum(previous.state());
  }

  FilterValue Value(const Message& message, const FieldDescriptor* fd,
                    absl::string_view key) const {
    const Reflection* reflection = message.GetReflection();
    if (fd->is_map()) {
      const FieldDescriptor* key_fd = fd->message_type()->map_key();
      const FieldDescriptor* value_fd = fd->message_type()->map_value();
      for (int i = 0; i < reflection->FieldSize(message, fd); ++i) {
        const Message& entry = reflection->GetRepeatedMessage(message, fd, i);
        const Reflection* entry_reflection = entry.GetReflection();
        std::string scratch;
        if (entry_reflection->GetStringReference(entry, key_fd, &scratch) != key) continue;
        const Message& value = entry_reflection->GetMessage(entry, value_fd);
        if (value.GetDescriptor() != AttributeValue::descriptor()) return FilterValue::Absent();
        return AttributeFilterValue(static_cast<const AttributeValue&>(value));
      }
      return FilterValue::Absent();
    }
    if (fd->is_repeated()) {
      std::vector<std::string>& list = lists_.emplace_back();
      if (fd->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        for (const std::string& value : reflection->GetRepeatedFieldRef<std::string>(message, fd)) {
          list.push_back(value);
        }
      } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        // Full value names: what a repeated enum filter compares.
        for (int i = 0; i < reflection->FieldSize(message, fd); ++i) {
          list.push_back(reflection->GetRepeatedEnum(message, fd, i)->name());
        }
      } else {
        return FilterValue::Absent();
      }
      return FilterValue::List(list);
    }
    switch (fd->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        // The reference is into the message unless protobuf needs scratch
        // space; keep that alive as long as this resolver.
        std::string& scratch = scratch_.emplace_back();
        return FilterValue::String(reflection->GetStringReference(message, fd, &scratch));
      }
      case FieldDescriptor::CPPTYPE_INT32:
        return FilterValue::Number(reflection->GetInt32(message, fd));
      case FieldDescriptor::CPPTYPE_INT64:
        return FilterValue::Number(static_cast<double>(reflection->GetInt64(message, fd)));
      case FieldDescriptor::CPPTYPE_UINT32:
        return FilterValue::Number(reflection->GetUInt32(message, fd));
      case FieldDescriptor::CPPTYPE_UINT64:
        return FilterValue::Number(static_cast<double>(reflection->GetUInt64(message, fd)));
      case FieldDescriptor::CPPTYPE_DOUBLE:
        return FilterValue::Number(reflection->GetDouble(message, fd));
      case FieldDescriptor::CPPTYPE_FLOAT:
        return FilterValue::Number(reflection->GetFloat(message, fd));
      case FieldDescriptor::CPPTYPE_BOOL:
        return FilterValue::Bool(reflection->GetBool(message, fd));
      case FieldDescriptor::CPPTYPE_ENUM:
        return FilterValue::Enum(reflection->GetEnumValue(message, fd));
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (fd->message_type() == google::protobuf::Timestamp::descriptor()) {
          return FilterValue::Timestamp(ToTime(static_cast<const google::protobuf::Timestamp&>(
              reflection->GetMessage(message, fd))));
        }
        break;
    }
    return FilterValue::Absent();
  }

  const context::ChangeEvent& event_;
  const context::Customer* profile_;
  // Values that FilterValues view and that do not live in the messages.
  mutable std::deque<std::string> scratch_;
  mutable std::deque<std::vector<std::string>> lists_;
};

// A variable's value as template text (see the header comment).
std::string VariableText(const FilterValue& value, const FilterSchema::Field& field) {
  switch (value.kind()) {
    case FilterValue::Kind::kString:
      return std::string(value.string_value());
    case FilterValue::Kind::kNumber: {
      // Shortest text that reads back as the same double: "3", "2.5",
      // "1234567" (absl::StrCat would round to six digits).
      char buffer[32];
      const auto [end, error] =
          std::to_chars(buffer, buffer + sizeof(buffer), value.number_value());
      return error == std::errc() ? std::string(buffer, end) : "";
    }
    case FilterValue::Kind::kBool:
      return value.bool_value() ? "true" : "false";
    case FilterValue::Kind::kTimestamp:
      // RFC 3339 in UTC with "Z", as protobuf's JSON writes timestamps.
      return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", value.timestamp_value(),
                              absl::UTCTimeZone());
    case FilterValue::Kind::kEnum:
      return std::string(field.EnumName(value.enum_value()));
    case FilterValue::Kind::kAbsent:
    case FilterValue::Kind::kStringList:  // refused by validation
      break;
  }
  return "";
}

bool ReadsProfile(absl::string_view field) {
  return names::TriggerPathRoot(field) == names::kCustomerRoot && field != "customer.name";
}

}  // namespace

TriggerMatcher::TriggerMatcher(const std::vector<cxp::notify::v1::TriggerRule>& rules) {
  const FilterSchema& schema = names::TriggerFilterSchema();
  for (const cxp::notify::v1::TriggerRule& rule : rules) {
    if (!rule.enabled()) continue;
    // Stored rules passed validation when written; check again, as the
    // field space follows the protos and may have changed since.
    absl::StatusOr<cxp::notify::v1::TriggerRule> valid =
        names::NormalizeTriggerRule(rule, "trigger_rule");
    if (!valid.ok()) {
      broken_.emplace_back(rule.name(), valid.status());
      continue;
    }
    CompiledRule compiled;
    compiled.filter = *names::ParseTriggerFilter(rule.filter(), "trigger_rule.filter");
    for (const filter::Comparison& comparison : compiled.filter.comparisons()) {
      compiled.reads_profile = compiled.reads_profile || ReadsProfile(comparison.field);
    }
    for (const auto& [name, path] : rule.variables()) {
      absl::string_view key;
      const FilterSchema::Field* field = schema.Resolve(path, &key);
      compiled.variables.push_back({name, field, std::string(key)});
      compiled.reads_profile = compiled.reads_profile || ReadsProfile(field->name);
    }
    // Map order is unspecified; requests are compared in tests and logged.
    std::sort(compiled.variables.begin(), compiled.variables.end(),
              [](const Variable& a, const Variable& b) { return a.name < b.name; });
    if (rule.has_cooldown()) {
      compiled.cooldown =
          absl::Seconds(rule.cooldown().seconds()) + absl::Nanoseconds(rule.cooldown().nanos());
    }
    compiled.rule = rule;
    rules_.push_back(std::move(compiled));
  }
  std::sort(rules_.begin(), rules_.end(), [](const CompiledRule& a, const CompiledRule& b) {
    return a.rule.name() < b.rule.name();
  });
}

std::string TriggerMatcher::IdempotencyKey(absl::string_view rule_name, int64_t sequence) {
  const std::string_view id =
      cxp::validation::ResourceIdOf(std::string_view(rule_name.data(), rule_name.size()));
  return absl::StrCat("trigger:", absl::string_view(id.data(), id.size()), ":", sequence);
}

bool TriggerMatcher::NeedsCustomerProfile(const context::ChangeEvent& event) const {
  if (event.has_customer_snapshot()) return false;
  for (const CompiledRule& compiled : rules_) {
    const auto& kinds = compiled.rule.change_kinds();
    if (compiled.reads_profile &&
        std::find(kinds.begin(), kinds.end(), event.kind()) != kinds.end()) {
      return true;
    }
  }
  return false;
}

std::vector<TriggeredSend> TriggerMatcher::Match(const context::ChangeEvent& event,
                                                 const context::Customer* profile) const {
  return MatchImpl(event, profile, nullptr);
}

std::vector<TriggeredSend> TriggerMatcher::Match(const context::ChangeEvent& event,
                                                 const context::Customer* profile,
                                                 LastSentLookup last_sent) const {
  return MatchImpl(event, profile, &last_sent);
}

std::vector<TriggeredSend> TriggerMatcher::MatchImpl(const context::ChangeEvent& event,
                                                     const context::Customer* profile,
                                                     const LastSentLookup* last_sent) const {
  std::vector<TriggeredSend> sends;
  if (event.customer().empty()) return sends;
  const EventResolver resolver(event, profile);
  const absl::Time change_time = ToTime(event.change_time());
  for (const CompiledRule& compiled : rules_) {
    const cxp::notify::v1::TriggerRule& rule = compiled.rule;
    if (std::find(rule.change_kinds().begin(), rule.change_kinds().end(), event.kind()) ==
        rule.change_kinds().end()) {
      continue;
    }
    // A rule answers changes made after it exists: a consumer that starts
    // from the oldest retained change must not fire on history.
    if (rule.has_create_time() && change_time < ToTime(rule.create_time())) continue;
    if (!compiled.filter.Matches(resolver)) continue;
    if (compiled.cooldown > absl::ZeroDuration() && last_sent != nullptr) {
      const std::optional<absl::Time> last = (*last_sent)(rule.name(), event.customer());
      if (last.has_value() && change_time - *last < compiled.cooldown) continue;
    }
    TriggeredSend& send = sends.emplace_back();
    send.trigger_rule = rule.name();
    cxp::notify::v1::SendNotificationRequest& request = send.request;
    request.mutable_customer()->set_customer(event.customer());
    request.set_template_(rule.template_());
    request.set_purpose(rule.purpose());
    *request.mutable_channel_order() = rule.channel_order();
    request.set_idempotency_key(IdempotencyKey(rule.name(), event.sequence()));
    for (const Variable& variable : compiled.variables) {
      (*request.mutable_variables())[variable.name] = VariableText(
          resolver.Resolve(FieldPath{variable.field->name, variable.key}), *variable.field);
    }
  }
  return sends;
}

}  // namespace cxp::notify
