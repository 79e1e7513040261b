#include "notify_service/validation/trigger_rule_validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notify_service/validation/resource_names.h"
#include "notify_service/validation/template_requests.h"
#include "notify_service/validation/template_validation.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::notify::validation {
namespace {

namespace context = ::cxp::context::v1;
using cxp::notify::v1::TriggerRule;
using cxp::validation::testing_util::IsInvalid;
using ::testing::ElementsAre;

// The issue's example: journey missed_delivery moved to step rescheduled.
TriggerRule MissedDeliveryRule() {
  TriggerRule rule;
  rule.set_name("triggerRules/ignored");
  rule.set_display_name("Rescheduled delivery");
  rule.add_change_kinds(context::CHANGE_KIND_JOURNEY_ADVANCED);
  rule.set_filter(
      "journey.type = \"missed_delivery\" AND journey.step = \"rescheduled\" AND "
      "journey.previous_step != \"rescheduled\"");
  rule.set_template_("templates/delivery-rescheduled");
  rule.set_purpose(cxp::type::v1::PURPOSE_SERVICE);
  rule.add_channel_order(cxp::type::v1::CHANNEL_SMS);
  rule.add_channel_order(cxp::type::v1::CHANNEL_EMAIL);
  (*rule.mutable_variables())["step"] = "journey.step";
  (*rule.mutable_variables())["order"] = "journey.attributes.order_id";
  (*rule.mutable_variables())["name"] = "customer.display_name";
  rule.mutable_cooldown()->set_seconds(3600);
  rule.set_enabled(true);
  rule.mutable_create_time()->set_seconds(10);
  rule.mutable_update_time()->set_seconds(20);
  rule.set_etag("4");
  return rule;
}

absl::Status Check(const TriggerRule& rule) {
  return NormalizeTriggerRule(rule, "trigger_rule").status();
}

TEST(TriggerFieldsTest, SchemaCoversPayloadsProfileAndDerivedFields) {
  const filter::FilterSchema& schema = TriggerFilterSchema();
  absl::string_view key;
  for (absl::string_view path :
       {"customer.tier", "customer.name", "customer.display_name", "journey.type", "journey.step",
        "journey.state", "journey.previous_step", "journey.previous_state", "interaction.channel",
        "interaction.identity.kind", "consent_change.state", "merge_record.merged_customers",
        "identity.kind", "contact_preferences.language_code", "journey.update_time"}) {
    EXPECT_NE(schema.Resolve(path, &key), nullptr) << path;
  }
  const filter::FilterSchema::Field* attributes =
      schema.Resolve("journey.attributes.order_id", &key);
  ASSERT_NE(attributes, nullptr);
  EXPECT_EQ(attributes->name, "journey.attributes");
  EXPECT_EQ(key, "order_id");
  // Repeated messages are no paths; the snapshot is the customer root.
  EXPECT_EQ(schema.Resolve("contact_preferences.channel_order", &key)->type,
            filter::FieldType::kRepeatedEnum);
  for (absl::string_view path : {"journey.transitions", "customer.identities",
                                 "customer_snapshot.tier", "sequence", "kind"}) {
    EXPECT_EQ(schema.Resolve(path, &key), nullptr) << path;
  }
  // Enum values without their prefix.
  absl::StatusOr<filter::Filter> filter = ParseTriggerFilter(
      "journey.state = RESOLVED AND interaction.channel = VOICE AND consent_change.state = DENIED",
      "f");
  EXPECT_TRUE(filter.ok()) << filter.status();
}

TEST(TriggerFieldsTest, PayloadRootsFollowTheChangeKinds) {
  EXPECT_EQ(PayloadRootOf(context::CHANGE_KIND_JOURNEY_ADVANCED), "journey");
  EXPECT_EQ(PayloadRootOf(context::CHANGE_KIND_CUSTOMER_UPDATED), "customer");
  EXPECT_EQ(PayloadRootOf(context::CHANGE_KIND_CONSENT_UPDATED), "consent_change");
  EXPECT_EQ(PayloadRootOf(context::CHANGE_KIND_CUSTOMER_ERASED), "");
  EXPECT_TRUE(KindCarriesRoot(context::CHANGE_KIND_INTERACTION_APPENDED, "customer"));
  EXPECT_TRUE(KindCarriesRoot(context::CHANGE_KIND_INTERACTION_APPENDED, "interaction"));
  EXPECT_FALSE(KindCarriesRoot(context::CHANGE_KIND_INTERACTION_APPENDED, "journey"));
  EXPECT_EQ(TriggerPathRoot("journey.attributes.order_id"), "journey");
}

TEST(NormalizeTriggerRuleTest, AcceptsTheIssueExampleAndClearsOutputOnly) {
  absl::StatusOr<TriggerRule> out = NormalizeTriggerRule(MissedDeliveryRule(), "trigger_rule");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->has_create_time());
  EXPECT_FALSE(out->has_update_time());
  EXPECT_EQ(out->name(), "triggerRules/ignored");
  EXPECT_EQ(out->etag(), "4");
  EXPECT_EQ(out->filter(), MissedDeliveryRule().filter());
  EXPECT_EQ(out->variables().at("order"), "journey.attributes.order_id");
  // Optional fields may be empty.
  TriggerRule minimal;
  minimal.set_display_name("x");
  minimal.add_change_kinds(context::CHANGE_KIND_INTERACTION_APPENDED);
  minimal.set_template_("templates/t");
  minimal.set_purpose(cxp::type::v1::PURPOSE_MARKETING);
  EXPECT_TRUE(Check(minimal).ok());
}

TEST(NormalizeTriggerRuleTest, DisplayNameAndChangeKinds) {
  TriggerRule rule = MissedDeliveryRule();
  rule.clear_display_name();
  EXPECT_TRUE(IsInvalid(Check(rule), "trigger_rule.display_name: must not be empty"));
  rule.set_display_name(std::string(257, 'a'));
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.display_name: must be at most 256 characters (got 257)"));

  rule = MissedDeliveryRule();
  rule.clear_change_kinds();
  EXPECT_TRUE(
      IsInvalid(Check(rule), "trigger_rule.change_kinds: must name at least one change kind"));
  rule.add_change_kinds(context::CHANGE_KIND_JOURNEY_ADVANCED);
  rule.add_change_kinds(context::CHANGE_KIND_JOURNEY_STARTED);
  rule.add_change_kinds(context::CHANGE_KIND_JOURNEY_ADVANCED);
  EXPECT_TRUE(
      IsInvalid(Check(rule), "trigger_rule.change_kinds[2]: repeats trigger_rule.change_kinds[0]"));
  rule.set_change_kinds(2, context::CHANGE_KIND_UNSPECIFIED);
  EXPECT_TRUE(IsInvalid(Check(rule), "trigger_rule.change_kinds[2]: must be set"));
  rule.set_change_kinds(2, static_cast<context::ChangeKind>(99));
  EXPECT_TRUE(IsInvalid(Check(rule), "trigger_rule.change_kinds[2]: unknown ChangeKind value 99"));
  rule.set_change_kinds(2, context::CHANGE_KIND_CUSTOMER_ERASED);
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.change_kinds[2]: CHANGE_KIND_CUSTOMER_ERASED cannot trigger "
                        "a notification: the customer is gone (nobody to send to)"));
  rule.set_change_kinds(2, context::CHANGE_KIND_CUSTOMER_DELETED);
  EXPECT_FALSE(Check(rule).ok());

  rule = MissedDeliveryRule();
  rule.clear_change_kinds();
  for (int i = 1; i <= 13; ++i) rule.add_change_kinds(static_cast<context::ChangeKind>(i));
  for (int i = 0; i < 8; ++i) rule.add_change_kinds(context::CHANGE_KIND_JOURNEY_STARTED);
  EXPECT_TRUE(
      IsInvalid(Check(rule), "trigger_rule.change_kinds: must have at most 20 entries (got 21)"));
}

TEST(NormalizeTriggerRuleTest, FilterIsParsedAndMustReadWhatTheKindsCarry) {
  TriggerRule rule = MissedDeliveryRule();
  rule.set_filter("journey.stepp = \"x\"");
  const absl::Status unknown = Check(rule);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.message()),
              ::testing::StartsWith(
                  "trigger_rule.filter: unknown field `journey.stepp` at offset 0 (allowed: "));
  rule.set_filter("journey.step = rescheduled");
  EXPECT_TRUE(IsInvalid(
      Check(rule),
      "trigger_rule.filter: field `journey.step` expects a quoted string, found `rescheduled` at "
      "offset 15"));
  // Interaction events never carry a journey: the rule could never fire.
  rule.set_filter("customer.tier = \"gold\" AND journey.step = \"rescheduled\"");
  rule.set_change_kinds(0, context::CHANGE_KIND_INTERACTION_APPENDED);
  EXPECT_TRUE(IsInvalid(
      Check(rule),
      "trigger_rule.filter: `journey.step` at offset 27 is never set for the rule's change_kinds; "
      "only CHANGE_KIND_JOURNEY_STARTED, CHANGE_KIND_JOURNEY_ADVANCED events carry journey"));
  // One kind that carries it is enough; customer fields go with every kind.
  rule.add_change_kinds(context::CHANGE_KIND_JOURNEY_STARTED);
  EXPECT_TRUE(Check(rule).ok());
  rule.set_filter("customer.attributes.plan = \"gold\" AND customer.tier != \"basic\"");
  rule.set_change_kinds(1, context::CHANGE_KIND_CONSENT_UPDATED);
  EXPECT_TRUE(Check(rule).ok());
}

TEST(NormalizeTriggerRuleTest, TemplatePurposeAndChannels) {
  TriggerRule rule = MissedDeliveryRule();
  rule.clear_template_();
  EXPECT_TRUE(IsInvalid(Check(rule), "trigger_rule.template: must be set"));
  rule.set_template_("template/x");
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.template: must be \"templates/{template}\" where {template} "
                        "is 1 to 63 characters of [a-z0-9-], starting with a letter or digit"));

  rule = MissedDeliveryRule();
  rule.clear_purpose();
  EXPECT_TRUE(IsInvalid(Check(rule), "trigger_rule.purpose: must be set"));
  rule.set_purpose(static_cast<cxp::type::v1::Purpose>(7));
  EXPECT_TRUE(IsInvalid(Check(rule), "trigger_rule.purpose: unknown Purpose value 7"));

  rule = MissedDeliveryRule();
  rule.add_channel_order(cxp::type::v1::CHANNEL_SMS);
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.channel_order[2]: repeats trigger_rule.channel_order[0]"));
  rule.set_channel_order(2, cxp::type::v1::CHANNEL_VOICE);
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.channel_order[2]: CHANNEL_VOICE is not a notification "
                        "channel (EMAIL, SMS, PUSH, CHAT, SOCIAL, WEB)"));
  rule.set_channel_order(2, cxp::type::v1::CHANNEL_UNSPECIFIED);
  EXPECT_TRUE(IsInvalid(Check(rule), "trigger_rule.channel_order[2]: must be set"));
}

TEST(NormalizeTriggerRuleTest, VariablesNameOneValueOfTheFieldSpace) {
  TriggerRule rule = MissedDeliveryRule();
  (*rule.mutable_variables())["Step"] = "journey.step";
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.variables[\"Step\"]: must be a variable name "
                        "([a-z][a-z0-9_]*, at most 64 characters, not \"customer\")"));
  rule = MissedDeliveryRule();
  (*rule.mutable_variables())["customer"] = "customer.name";
  EXPECT_FALSE(Check(rule).ok());

  rule = MissedDeliveryRule();
  (*rule.mutable_variables())["step"] = "journey.stepp";
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.variables[\"step\"]: unknown path \"journey.stepp\" (a field "
                        "of the event's payload or of the customer, e.g. \"journey.step\", "
                        "\"customer.display_name\", \"journey.attributes.order_id\")"));
  (*rule.mutable_variables())["step"] = "journey.attributes";  // a map without its key
  EXPECT_FALSE(Check(rule).ok());
  (*rule.mutable_variables())["step"] = "merge_record.merged_customers";
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.variables[\"step\"]: \"merge_record.merged_customers\" is a "
                        "repeated field; a variable takes one value"));
  (*rule.mutable_variables())["step"] = "contact_preferences.channel_order";
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.variables[\"step\"]: \"contact_preferences.channel_order\" "
                        "is a repeated field; a variable takes one value"));
  // A root the kinds do not carry is allowed: it yields "".
  (*rule.mutable_variables())["step"] = "interaction.summary";
  EXPECT_TRUE(Check(rule).ok());

  rule = MissedDeliveryRule();
  rule.clear_variables();
  for (int i = 0; i <= kMaxSendVariables; ++i) {
    (*rule.mutable_variables())[absl::StrCat("v", i)] = "journey.step";
  }
  EXPECT_TRUE(
      IsInvalid(Check(rule), "trigger_rule.variables: must have at most 100 entries (got 101)"));
}

TEST(NormalizeTriggerRuleTest, Cooldown) {
  TriggerRule rule = MissedDeliveryRule();
  rule.mutable_cooldown()->set_seconds(0);
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.cooldown: must be greater than 0 and at most 8784h (got 0)"));
  rule.mutable_cooldown()->set_seconds(367 * 24 * 3600);
  EXPECT_TRUE(IsInvalid(
      Check(rule), "trigger_rule.cooldown: must be greater than 0 and at most 8784h (got 8808h)"));
  rule.mutable_cooldown()->set_seconds(5);
  rule.mutable_cooldown()->set_nanos(-1);
  EXPECT_TRUE(IsInvalid(Check(rule),
                        "trigger_rule.cooldown: must be greater than 0 and at most 8784h (got a "
                        "malformed duration)"));
  rule.mutable_cooldown()->set_seconds(0);
  rule.mutable_cooldown()->set_nanos(500'000'000);
  EXPECT_TRUE(Check(rule).ok());
}

TEST(ValidateCreateTriggerRuleTest, IdRuleAndRequestId) {
  v1::CreateTriggerRuleRequest request;
  EXPECT_TRUE(IsInvalid(ValidateCreateTriggerRule(request), "trigger_rule: must be set"));
  *request.mutable_trigger_rule() = MissedDeliveryRule();
  request.set_trigger_rule_id("Bad_Id");
  EXPECT_TRUE(IsInvalid(ValidateCreateTriggerRule(request),
                        "trigger_rule_id: must be 1 to 63 characters of [a-z0-9-], starting with "
                        "a letter or digit"));
  request.set_trigger_rule_id("rescheduled");
  request.set_request_id("nope");
  EXPECT_TRUE(IsInvalid(ValidateCreateTriggerRule(request),
                        "request_id: must be a UUID such as \"123e4567-e89b-12d3-a456-"
                        "426614174000\""));
  request.set_request_id("123e4567-e89b-12d3-a456-426614174000");
  absl::StatusOr<ValidatedCreateTriggerRule> valid = ValidateCreateTriggerRule(request);
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(valid->trigger_rule_id, "rescheduled");
  EXPECT_EQ(valid->rule.name(), "");
  EXPECT_EQ(valid->rule.etag(), "");
  EXPECT_EQ(valid->rule.display_name(), "Rescheduled delivery");
}

TEST(ValidateUpdateTriggerRuleTest, MaskSelectsAndChecksFields) {
  v1::UpdateTriggerRuleRequest request;
  request.mutable_trigger_rule()->set_name("triggerRules/r1");
  EXPECT_TRUE(IsInvalid(ValidateUpdateTriggerRule(request),
                        "trigger_rule: sets no field to update (updatable: display_name, "
                        "change_kinds, filter, template, purpose, channel_order, variables, "
                        "cooldown, enabled); name the fields in update_mask to clear them"));
  request.mutable_trigger_rule()->set_name("rules/r1");
  request.mutable_trigger_rule()->set_display_name("New");
  EXPECT_TRUE(IsInvalid(ValidateUpdateTriggerRule(request),
                        "trigger_rule.name: must be \"triggerRules/{trigger_rule}\" where "
                        "{trigger_rule} is 1 to 63 characters of [a-z0-9-], starting with a "
                        "letter or digit"));
  request.mutable_trigger_rule()->set_name("triggerRules/r1");
  request.mutable_update_mask()->add_paths("etag");
  EXPECT_TRUE(IsInvalid(ValidateUpdateTriggerRule(request),
                        "update_mask.paths[0]: \"etag\" cannot be updated (updatable: "
                        "display_name, change_kinds, filter, template, purpose, channel_order, "
                        "variables, cooldown, enabled)"));
  // A named field is checked even when unset (clearing a required field).
  request.mutable_update_mask()->set_paths(0, "purpose");
  EXPECT_TRUE(IsInvalid(ValidateUpdateTriggerRule(request), "trigger_rule.purpose: must be set"));
  request.mutable_update_mask()->set_paths(0, "enabled");
  request.mutable_update_mask()->add_paths("display_name");
  absl::StatusOr<ValidatedTriggerRuleUpdate> update = ValidateUpdateTriggerRule(request);
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_EQ(update->trigger_rule_id, "r1");
  EXPECT_THAT(update->paths, ElementsAre("enabled", "display_name"));
}

TEST(ApplyTriggerRuleUpdateTest, MergesThenChecksTheWholeRule) {
  TriggerRule stored = MissedDeliveryRule();
  v1::UpdateTriggerRuleRequest request;
  request.mutable_trigger_rule()->set_name("triggerRules/r1");
  request.mutable_update_mask()->add_paths("enabled");
  request.mutable_update_mask()->add_paths("variables");
  (*request.mutable_trigger_rule()->mutable_variables())["when"] = "journey.update_time";
  absl::StatusOr<ValidatedTriggerRuleUpdate> update = ValidateUpdateTriggerRule(request);
  ASSERT_TRUE(update.ok()) << update.status();
  absl::StatusOr<TriggerRule> merged = ApplyTriggerRuleUpdate(stored, *update);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_FALSE(merged->enabled());
  EXPECT_EQ(merged->variables().size(), 1);  // a map is replaced whole
  EXPECT_EQ(merged->variables().at("when"), "journey.update_time");
  EXPECT_EQ(merged->filter(), stored.filter());
  EXPECT_EQ(merged->create_time().seconds(), 10);  // output-only kept from the store

  // New kinds that no longer carry what the stored filter reads.
  request.Clear();
  request.mutable_trigger_rule()->set_name("triggerRules/r1");
  request.mutable_trigger_rule()->add_change_kinds(context::CHANGE_KIND_INTERACTION_APPENDED);
  update = ValidateUpdateTriggerRule(request);
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_TRUE(IsInvalid(ApplyTriggerRuleUpdate(stored, *update),
                        "trigger_rule.filter: `journey.type` at offset 0 is never set for the "
                        "rule's change_kinds; only CHANGE_KIND_JOURNEY_STARTED, "
                        "CHANGE_KIND_JOURNEY_ADVANCED events carry journey"));
}

// Template requests and names (template_requests.h, resource_names.h).
TEST(TemplateRequestsTest, GetAndUpdateChecks) {
  v1::GetTemplateRequest get;
  get.set_name("templates/t1");
  get.set_version(-1);
  EXPECT_TRUE(IsInvalid(ValidateGetTemplate(get),
                        "version: must not be negative (got -1); 0 means the current version"));
  get.set_version(3);
  absl::StatusOr<TemplateVersionRef> ref = ValidateGetTemplate(get);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->template_id, "t1");
  EXPECT_EQ(ref->version, 3);

  v1::UpdateTemplateRequest update;
  update.mutable_template_()->set_name("templates/t1");
  update.mutable_update_mask()->add_paths("locales");
  EXPECT_TRUE(
      IsInvalid(ValidateUpdateTemplate(update), "template.locales: must have at least one locale"));
  update.mutable_update_mask()->set_paths(0, "version");
  EXPECT_TRUE(IsInvalid(ValidateUpdateTemplate(update),
                        "update_mask.paths[0]: \"version\" cannot be updated (updatable: "
                        "display_name, locales, allow_quiet_hours_bypass)"));
  EXPECT_EQ(TemplateName("t1"), "templates/t1");
  EXPECT_EQ(TriggerRuleName("r1"), "triggerRules/r1");
}

}  // namespace
}  // namespace cxp::notify::validation
