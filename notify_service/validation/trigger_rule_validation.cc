#include "notify_service/validation/trigger_rule_validation.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"
#include "common/validation/resource_id.h"
#include "common/validation/text_rules.h"
#include "common/validation/update_mask.h"
#include "cxp/context/v1/customer.pb.h"
#include "cxp/context/v1/journey.pb.h"
#include "cxp/type/v1/attribute_value.pb.h"
#include "cxp/type/v1/channel.pb.h"
#include "cxp/type/v1/purpose.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/timestamp.pb.h"
#include "notify_service/validation/resource_names.h"
#include "notify_service/validation/template_text.h"
#include "notify_service/validation/template_validation.h"

namespace cxp::notify::validation {
namespace {

namespace context = ::cxp::context::v1;
using cxp::notify::v1::TriggerRule;
using cxp::validation::IndexedPath;
using cxp::validation::InvalidField;
using cxp::validation::QuoteForMessage;
using filter::FieldType;
using filter::FilterSchema;
using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;

// Nested messages below a root are paths down to this depth (Interaction
// -> Identity is 1; nothing in the payloads goes deeper).
constexpr int kMaxNestedDepth = 3;

// "STATE_" for Journey.State: the longest common prefix of the value names,
// cut after its last '_', so filters may write values without it.
std::string EnumPrefix(const EnumDescriptor* type) {
  std::string prefix = type->value(0)->name();
  for (int i = 1; i < type->value_count(); ++i) {
    const std::string& name = type->value(i)->name();
    size_t n = 0;
    while (n < prefix.size() && n < name.size() && prefix[n] == name[n]) ++n;
    prefix.resize(n);
  }
  const size_t underscore = prefix.rfind('_');
  prefix.resize(underscore == std::string::npos ? 0 : underscore + 1);
  return prefix;
}

void AddMessageFields(FilterSchema& schema, const std::string& prefix, const Descriptor* type,
                      int depth) {
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* fd = type->field(i);
    const std::string path = absl::StrCat(prefix, ".", fd->name());
    if (fd->is_map()) {
      const FieldDescriptor* value = fd->message_type()->map_value();
      if (value->message_type() == cxp::type::v1::AttributeValue::descriptor()) {
        schema.AddMap(path);
      }
      continue;
    }
    if (fd->is_repeated()) {
      if (fd->cpp_type() == FieldDescriptor::CPPTYPE_STRING) schema.AddRepeatedString(path);
      if (fd->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        schema.AddProtoRepeatedEnum(path, EnumPrefix(fd->enum_type()), fd->enum_type());
      }
      continue;
    }
    switch (fd->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        schema.AddString(path);
        break;
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        schema.AddNumber(path);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        schema.AddBool(path);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        schema.AddProtoEnum(path, EnumPrefix(fd->enum_type()), fd->enum_type());
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (fd->message_type() == google::protobuf::Timestamp::descriptor()) {
          schema.AddTimestamp(path);
        } else if (depth < kMaxNestedDepth) {
          AddMessageFields(schema, path, fd->message_type(), depth + 1);
        }
        break;
    }
  }
}

FilterSchema BuildSchema() {
  FilterSchema schema;
  AddMessageFields(schema, std::string(kCustomerRoot), context::Customer::descriptor(), 0);
  // The payloads by their ChangeEvent field names, so a payload added to the
  // proto is a root without a change here (customer_snapshot is the
  // customer root above).
  const google::protobuf::OneofDescriptor* payload =
      context::ChangeEvent::descriptor()->FindOneofByName("payload");
  for (int i = 0; i < payload->field_count(); ++i) {
    const FieldDescriptor* fd = payload->field(i);
    if (fd->number() == context::ChangeEvent::kCustomerSnapshotFieldNumber) continue;
    AddMessageFields(schema, fd->name(), fd->message_type(), 0);
  }
  schema.AddString(std::string(kJourneyPreviousStep));
  schema.AddProtoEnum(std::string(kJourneyPreviousState), "STATE_",
                      context::Journey::State_descriptor());
  return schema;
}

std::string KindName(int kind) {
  return context::ChangeKind_IsValid(kind)
             ? context::ChangeKind_Name(static_cast<context::ChangeKind>(kind))
             : absl::StrCat(kind);
}

// Checks every entry of a repeated enum with `check` (value, entry path),
// then that no value repeats.
absl::Status CheckEnumEntries(const google::protobuf::RepeatedField<int>& values,
                              absl::string_view field,
                              absl::FunctionRef<absl::Status(int, const std::string&)> check) {
  absl::flat_hash_map<int, int> first;
  for (int i = 0; i < values.size(); ++i) {
    const std::string entry = IndexedPath(field, i);
    RETURN_IF_ERROR(check(values[i], entry));
    const auto [it, inserted] = first.emplace(values[i], i);
    if (!inserted) {
      return InvalidField(entry, absl::StrCat("repeats ", IndexedPath(field, it->second)));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckChangeKinds(const google::protobuf::RepeatedField<int>& kinds,
                              absl::string_view field) {
  if (kinds.empty()) return InvalidField(field, "must name at least one change kind");
  if (kinds.size() > kMaxTriggerChangeKinds) {
    return InvalidField(field, absl::StrCat("must have at most ", kMaxTriggerChangeKinds,
                                            " entries (got ", kinds.size(), ")"));
  }
  return CheckEnumEntries(kinds, field, [](int kind, const std::string& entry) {
    if (kind == context::CHANGE_KIND_UNSPECIFIED) return InvalidField(entry, "must be set");
    if (!context::ChangeKind_IsValid(kind)) {
      return InvalidField(entry, absl::StrCat("unknown ChangeKind value ", kind));
    }
    if (kind == context::CHANGE_KIND_CUSTOMER_DELETED ||
        kind == context::CHANGE_KIND_CUSTOMER_ERASED) {
      return InvalidField(entry, absl::StrCat(KindName(kind),
                                              " cannot trigger a notification: the customer "
                                              "is gone (nobody to send to)"));
    }
    return absl::OkStatus();
  });
}

// Every root `filter` reads must be carried by one of `kinds`.
absl::Status CheckFilterRoots(const filter::Filter& filter,
                              const google::protobuf::RepeatedField<int>& kinds,
                              absl::string_view field) {
  for (const filter::Comparison& comparison : filter.comparisons()) {
    const absl::string_view root = TriggerPathRoot(comparison.field);
    const bool carried = std::any_of(kinds.begin(), kinds.end(), [&](int kind) {
      return KindCarriesRoot(static_cast<context::ChangeKind>(kind), root);
    });
    if (carried) continue;
    std::vector<std::string> carriers;
    for (int kind = 1; context::ChangeKind_IsValid(kind); ++kind) {
      if (PayloadRootOf(static_cast<context::ChangeKind>(kind)) == root) {
        carriers.push_back(KindName(kind));
      }
    }
    return InvalidField(field,
                        absl::StrCat("`", comparison.field, "` at offset ", comparison.offset,
                                     " is never set for the rule's change_kinds; only ",
                                     absl::StrJoin(carriers, ", "), " events carry ", root));
  }
  return absl::OkStatus();
}

absl::Status CheckTemplateName(absl::string_view name, absl::string_view field) {
  return ParseTemplateName(name, field).status();
}

absl::Status CheckPurpose(int purpose, absl::string_view field) {
  if (purpose == cxp::type::v1::PURPOSE_UNSPECIFIED) return InvalidField(field, "must be set");
  if (!cxp::type::v1::Purpose_IsValid(purpose)) {
    return InvalidField(field, absl::StrCat("unknown Purpose value ", purpose));
  }
  return absl::OkStatus();
}

absl::Status CheckChannelOrder(const google::protobuf::RepeatedField<int>& channels,
                               absl::string_view field) {
  return CheckEnumEntries(channels, field, [](int channel, const std::string& entry) {
    if (channel == cxp::type::v1::CHANNEL_UNSPECIFIED) return InvalidField(entry, "must be set");
    if (!cxp::type::v1::Channel_IsValid(channel)) {
      return InvalidField(entry, absl::StrCat("unknown Channel value ", channel));
    }
    if (channel == cxp::type::v1::CHANNEL_VOICE || channel == cxp::type::v1::CHANNEL_IN_PERSON) {
      return InvalidField(
          entry, absl::StrCat(cxp::type::v1::Channel_Name(channel),
                              " is not a notification channel (EMAIL, SMS, PUSH, CHAT, SOCIAL, "
                              "WEB)"));
    }
    return absl::OkStatus();
  });
}

absl::Status CheckVariables(const google::protobuf::Map<std::string, std::string>& variables,
                            absl::string_view field) {
  if (static_cast<int>(variables.size()) > kMaxSendVariables) {
    return InvalidField(field, absl::StrCat("must have at most ", kMaxSendVariables,
                                            " entries (got ", variables.size(), ")"));
  }
  std::vector<std::string> names;
  for (const auto& [name, path] : variables) names.push_back(name);
  std::sort(names.begin(), names.end());  // errors must not depend on hash order
  for (const std::string& name : names) {
    const std::string entry = absl::StrCat(field, "[", QuoteForMessage(name), "]");
    RETURN_IF_ERROR(ValidateVariableName(name, entry));
    const std::string& path = variables.at(name);
    absl::string_view key;
    const FilterSchema::Field* resolved = TriggerFilterSchema().Resolve(path, &key);
    if (resolved == nullptr) {
      return InvalidField(entry,
                          absl::StrCat("unknown path ", QuoteForMessage(path),
                                       " (a field of the event's payload or of the customer, "
                                       "e.g. \"journey.step\", \"customer.display_name\", "
                                       "\"journey.attributes.order_id\")"));
    }
    if (resolved->type == FieldType::kRepeatedString ||
        resolved->type == FieldType::kRepeatedEnum) {
      return InvalidField(entry, absl::StrCat(QuoteForMessage(path),
                                              " is a repeated field; a variable takes one value"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCooldown(const google::protobuf::Duration& cooldown, absl::string_view field) {
  const int64_t seconds = cooldown.seconds();
  const int32_t nanos = cooldown.nanos();
  const bool well_formed = nanos > -1'000'000'000 && nanos < 1'000'000'000 &&
                           !(seconds > 0 && nanos < 0) && !(seconds < 0 && nanos > 0);
  const absl::Duration value = absl::Seconds(seconds) + absl::Nanoseconds(nanos);
  if (!well_formed || value <= absl::ZeroDuration() || value > kMaxTriggerCooldown) {
    return InvalidField(
        field,
        absl::StrCat("must be greater than 0 and at most ",
                     absl::FormatDuration(kMaxTriggerCooldown), " (got ",
                     well_formed ? absl::FormatDuration(value) : "a malformed duration", ")"));
  }
  return absl::OkStatus();
}

// Checks the field `path` (one of kTriggerRuleUpdatePaths) of `rule` under
// `field`; the filter is parsed but its roots are not compared with the
// change kinds (CheckFilterRoots, on the whole rule).
absl::Status CheckField(absl::string_view path, const TriggerRule& rule, absl::string_view field) {
  const std::string at = cxp::validation::FieldPath(field, path);
  if (path == "display_name") {
    return cxp::validation::ValidateText(rule.display_name(), at, 1,
                                         kMaxTriggerRuleDisplayNameChars);
  }
  if (path == "change_kinds") return CheckChangeKinds(rule.change_kinds(), at);
  if (path == "filter") return ParseTriggerFilter(rule.filter(), at).status();
  if (path == "template") {
    if (rule.template_().empty()) return InvalidField(at, "must be set");
    return CheckTemplateName(rule.template_(), at);
  }
  if (path == "purpose") return CheckPurpose(rule.purpose(), at);
  if (path == "channel_order") return CheckChannelOrder(rule.channel_order(), at);
  if (path == "variables") return CheckVariables(rule.variables(), at);
  if (path == "cooldown") {
    return rule.has_cooldown() ? CheckCooldown(rule.cooldown(), at) : absl::OkStatus();
  }
  return absl::OkStatus();  // enabled
}

absl::StatusOr<TriggerRule> CheckWholeRule(const TriggerRule& rule, absl::string_view field) {
  for (const absl::string_view path : kTriggerRuleUpdatePaths) {
    RETURN_IF_ERROR(CheckField(path, rule, field));
  }
  const std::string filter_field = cxp::validation::FieldPath(field, "filter");
  ASSIGN_OR_RETURN(const filter::Filter filter, ParseTriggerFilter(rule.filter(), filter_field));
  RETURN_IF_ERROR(CheckFilterRoots(filter, rule.change_kinds(), filter_field));
  TriggerRule out = rule;
  out.clear_create_time();
  out.clear_update_time();
  return out;
}

}  // namespace

const FilterSchema& TriggerFilterSchema() {
  static const FilterSchema* schema = new FilterSchema(BuildSchema());
  return *schema;
}

absl::string_view TriggerPathRoot(absl::string_view path) { return path.substr(0, path.find('.')); }

absl::string_view PayloadRootOf(context::ChangeKind kind) {
  // As change_event.proto documents each kind's payload.
  switch (kind) {
    case context::CHANGE_KIND_CUSTOMER_CREATED:
    case context::CHANGE_KIND_CUSTOMER_UPDATED:
      return kCustomerRoot;
    case context::CHANGE_KIND_IDENTITY_ADDED:
    case context::CHANGE_KIND_IDENTITY_REMOVED:
      return "identity";
    case context::CHANGE_KIND_INTERACTION_APPENDED:
      return "interaction";
    case context::CHANGE_KIND_CONSENT_UPDATED:
      return "consent_change";
    case context::CHANGE_KIND_CONTACT_PREFERENCES_UPDATED:
      return "contact_preferences";
    case context::CHANGE_KIND_JOURNEY_STARTED:
    case context::CHANGE_KIND_JOURNEY_ADVANCED:
      return "journey";
    case context::CHANGE_KIND_CUSTOMERS_MERGED:
    case context::CHANGE_KIND_CUSTOMERS_UNMERGED:
      return "merge_record";
    default:
      return "";
  }
}

bool KindCarriesRoot(context::ChangeKind kind, absl::string_view root) {
  return root == kCustomerRoot || PayloadRootOf(kind) == root;
}

absl::StatusOr<filter::Filter> ParseTriggerFilter(absl::string_view text, absl::string_view field) {
  absl::StatusOr<filter::Filter> parsed = filter::ParseFilter(text, TriggerFilterSchema());
  if (parsed.ok()) return parsed;
  // The filter library names the request field "filter"; here it is a
  // field of the rule.
  absl::string_view problem = parsed.status().message();
  absl::ConsumePrefix(&problem, "filter: ");
  return InvalidField(field, problem);
}

absl::StatusOr<TriggerRule> NormalizeTriggerRule(const TriggerRule& rule, absl::string_view field) {
  return CheckWholeRule(rule, field);
}

absl::StatusOr<ValidatedCreateTriggerRule> ValidateCreateTriggerRule(
    const cxp::notify::v1::CreateTriggerRuleRequest& request) {
  if (!request.has_trigger_rule()) return InvalidField("trigger_rule", "must be set");
  if (!request.trigger_rule_id().empty()) {
    RETURN_IF_ERROR(
        cxp::validation::ValidateResourceId(request.trigger_rule_id(), "trigger_rule_id"));
  }
  ValidatedCreateTriggerRule out;
  ASSIGN_OR_RETURN(out.rule, NormalizeTriggerRule(request.trigger_rule(), "trigger_rule"));
  out.rule.clear_name();
  out.rule.clear_etag();
  out.trigger_rule_id = request.trigger_rule_id();
  RETURN_IF_ERROR(cxp::validation::ValidateRequestId(request.request_id(), "request_id"));
  return out;
}

absl::StatusOr<ValidatedTriggerRuleUpdate> ValidateUpdateTriggerRule(
    const cxp::notify::v1::UpdateTriggerRuleRequest& request) {
  if (!request.has_trigger_rule()) return InvalidField("trigger_rule", "must be set");
  const TriggerRule& rule = request.trigger_rule();
  ValidatedTriggerRuleUpdate out;
  ASSIGN_OR_RETURN(out.trigger_rule_id, ParseTriggerRuleName(rule.name(), "trigger_rule.name"));
  ASSIGN_OR_RETURN(out.paths,
                   cxp::validation::NonEmptyUpdatePaths(request.update_mask(), rule,
                                                        kTriggerRuleUpdatePaths, "trigger_rule"));
  for (const std::string& path : out.paths) {
    RETURN_IF_ERROR(CheckField(path, rule, "trigger_rule"));
  }
  out.rule = rule;
  return out;
}

absl::StatusOr<TriggerRule> ApplyTriggerRuleUpdate(const TriggerRule& stored,
                                                   const ValidatedTriggerRuleUpdate& update) {
  TriggerRule merged = stored;
  cxp::validation::ApplyPaths(update.rule, update.paths, &merged);
  ASSIGN_OR_RETURN(TriggerRule out, CheckWholeRule(merged, "trigger_rule"));
  // Output-only fields are the store's, not the request's.
  *out.mutable_create_time() = stored.create_time();
  *out.mutable_update_time() = stored.update_time();
  return out;
}

}  // namespace cxp::notify::validation
