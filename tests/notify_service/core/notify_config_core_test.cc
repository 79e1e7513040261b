// NotifyConfigCore on a real RocksDB in a temp dir with a fake clock:
// templates with versions and trigger rules as API resources. Every refused
// call is checked to have changed nothing.
#include "notify_service/core/notify_config_core.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "notify_service/core/notify_core.h"
#include "tests/notify_service/core/notify_store_fixture.h"

namespace cxp::notify {
namespace {

namespace context = ::cxp::context::v1;
using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kTenant[] = "acme";
constexpr char kOtherTenant[] = "globex";
constexpr char kRequestId[] = "123e4567-e89b-12d3-a456-426614174000";
const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

::testing::AssertionResult HasError(const absl::Status& status, absl::StatusCode code,
                                    absl::string_view message) {
  if (status.code() == code && status.message() == message) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << status << "\nwant " << absl::StatusCodeToString(code) << ": " << message;
}

v1::Template SmsTemplate(const std::string& display_name, const std::string& text) {
  v1::Template tmpl;
  tmpl.set_display_name(display_name);
  v1::TemplateLocale& locale = *tmpl.add_locales();
  locale.mutable_sms()->set_text(text);
  return tmpl;
}

v1::TriggerRule RescheduledRule(const std::string& template_name) {
  v1::TriggerRule rule;
  rule.set_display_name("Rescheduled delivery");
  rule.add_change_kinds(context::CHANGE_KIND_JOURNEY_ADVANCED);
  rule.set_filter("journey.type = \"missed_delivery\" AND journey.step = \"rescheduled\"");
  rule.set_template_(template_name);
  rule.set_purpose(cxp::type::v1::PURPOSE_SERVICE);
  (*rule.mutable_variables())["step"] = "journey.step";
  rule.set_enabled(true);
  return rule;
}

class NotifyConfigCoreTest : public testing::NotifyStoreFixture {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    OpenStore();
    core_ = std::make_unique<NotifyConfigCore>(
        *store_, NotifyConfigCoreOptions{.clock = [this] { return now_; },
                                         .page_token_key = std::string(32, 'k'),
                                         .check_template_unused = check_template_unused_});
  }

  // As after a crash: the same data directory, new process state.
  void Restart() {
    core_.reset();
    CloseStore();
    Open();
  }

  v1::Template CreateTemplate(const std::string& id, const v1::Template& tmpl,
                              const std::string& tenant = kTenant) {
    v1::CreateTemplateRequest request;
    request.set_template_id(id);
    *request.mutable_template_() = tmpl;
    v1::CreateTemplateResponse response;
    const absl::Status status = core_->CreateTemplate(tenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    return response.template_();
  }

  absl::StatusOr<v1::Template> GetTemplate(const std::string& name, int64_t version = 0,
                                           const std::string& tenant = kTenant) {
    v1::GetTemplateRequest request;
    request.set_name(name);
    request.set_version(version);
    v1::GetTemplateResponse response;
    RETURN_IF_ERROR(core_->GetTemplate(tenant, request, response));
    return response.template_();
  }

  absl::StatusOr<v1::Template> UpdateTemplate(const v1::Template& tmpl,
                                              const std::vector<std::string>& paths = {}) {
    v1::UpdateTemplateRequest request;
    *request.mutable_template_() = tmpl;
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    v1::UpdateTemplateResponse response;
    RETURN_IF_ERROR(core_->UpdateTemplate(kTenant, request, response));
    return response.template_();
  }

  absl::Status DeleteTemplate(const std::string& name, const std::string& etag = "") {
    v1::DeleteTemplateRequest request;
    request.set_name(name);
    request.set_etag(etag);
    v1::DeleteTemplateResponse response;
    return core_->DeleteTemplate(kTenant, request, response);
  }

  absl::StatusOr<v1::TriggerRule> CreateRule(const std::string& id, const v1::TriggerRule& rule,
                                             const std::string& request_id = "") {
    v1::CreateTriggerRuleRequest request;
    request.set_trigger_rule_id(id);
    request.set_request_id(request_id);
    *request.mutable_trigger_rule() = rule;
    v1::CreateTriggerRuleResponse response;
    RETURN_IF_ERROR(core_->CreateTriggerRule(kTenant, request, response));
    return response.trigger_rule();
  }

  absl::StatusOr<v1::TriggerRule> GetRule(const std::string& name) {
    v1::GetTriggerRuleRequest request;
    request.set_name(name);
    v1::GetTriggerRuleResponse response;
    RETURN_IF_ERROR(core_->GetTriggerRule(kTenant, request, response));
    return response.trigger_rule();
  }

  absl::StatusOr<v1::TriggerRule> UpdateRule(const v1::TriggerRule& rule,
                                             const std::vector<std::string>& paths) {
    v1::UpdateTriggerRuleRequest request;
    *request.mutable_trigger_rule() = rule;
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    v1::UpdateTriggerRuleResponse response;
    RETURN_IF_ERROR(core_->UpdateTriggerRule(kTenant, request, response));
    return response.trigger_rule();
  }

  absl::Status DeleteRule(const std::string& name, const std::string& etag = "") {
    v1::DeleteTriggerRuleRequest request;
    request.set_name(name);
    request.set_etag(etag);
    v1::DeleteTriggerRuleResponse response;
    return core_->DeleteTriggerRule(kTenant, request, response);
  }

  std::vector<std::string> TemplateNames(const std::string& tenant = kTenant) {
    std::vector<std::string> names;
    EXPECT_TRUE(store_
                    ->ScanTemplates(tenant, "",
                                    [&](const v1::Template& tmpl) {
                                      names.push_back(tmpl.name());
                                      return true;
                                    })
                    .ok());
    return names;
  }

  std::vector<std::string> RuleNames() {
    std::vector<std::string> names;
    EXPECT_TRUE(store_
                    ->ScanTriggerRules(kTenant, "",
                                       [&](const v1::TriggerRule& rule) {
                                         names.push_back(rule.name());
                                         return true;
                                       })
                    .ok());
    return names;
  }

  absl::Time now_ = kStart;
  std::function<absl::Status(const std::string&, const std::string&)> check_template_unused_;
  std::unique_ptr<NotifyConfigCore> core_;
};

TEST_F(NotifyConfigCoreTest, CreateTemplateStartsAtVersionOneAndSurvivesARestart) {
  v1::Template input = SmsTemplate("Reminder", "See you at {{time}}");
  input.mutable_locales(0)->set_language_code("");
  v1::TemplateLocale& ko = *input.add_locales();
  ko.set_language_code("KO-kr");
  ko.mutable_sms()->set_text("{{time}}에 뵙겠습니다");
  input.set_name("templates/ignored");
  input.set_version(9);
  input.set_etag("ignored");
  const v1::Template created = CreateTemplate("reminder", input);
  EXPECT_EQ(created.name(), "templates/reminder");
  EXPECT_EQ(created.version(), 1);
  EXPECT_EQ(created.etag(), "1");
  EXPECT_EQ(created.locales(1).language_code(), "ko-KR");  // normalised
  EXPECT_EQ(TimeUtil::TimestampToSeconds(created.create_time()), absl::ToUnixSeconds(kStart));
  EXPECT_EQ(created.update_time(), created.create_time());

  Restart();
  absl::StatusOr<v1::Template> got = GetTemplate("templates/reminder");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*got, created));
  got = GetTemplate("templates/reminder", 1);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*got, created));
  // Tenants are apart.
  EXPECT_TRUE(HasError(GetTemplate("templates/reminder", 0, kOtherTenant).status(),
                       absl::StatusCode::kNotFound, "name: templates/reminder does not exist"));
}

TEST_F(NotifyConfigCoreTest, CreateTemplateRefusalsChangeNothing) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "v1"));
  v1::CreateTemplateRequest request;
  request.set_template_id("reminder");
  *request.mutable_template_() = SmsTemplate("Other", "other");
  v1::CreateTemplateResponse response;
  EXPECT_TRUE(HasError(core_->CreateTemplate(kTenant, request, response),
                       absl::StatusCode::kAlreadyExists,
                       "template_id: templates/reminder already exists"));
  request.set_template_id("second");
  request.mutable_template_()->mutable_locales(0)->mutable_sms()->set_text("{{#open}} unclosed");
  EXPECT_TRUE(HasError(core_->CreateTemplate(kTenant, request, response),
                       absl::StatusCode::kInvalidArgument,
                       "template.locales[0].sms.text: unclosed section \"open\" at offset 0"));
  EXPECT_FALSE(response.has_template_());
  EXPECT_THAT(TemplateNames(), ElementsAre("templates/reminder"));
  absl::StatusOr<v1::Template> stored = GetTemplate("templates/reminder");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->display_name(), "Reminder");
  EXPECT_EQ(stored->etag(), "1");

  // A generated id when none is given.
  request.clear_template_id();
  *request.mutable_template_() = SmsTemplate("Generated", "hi");
  ASSERT_TRUE(core_->CreateTemplate(kTenant, request, response).ok());
  EXPECT_THAT(response.template_().name(), StartsWith("templates/"));
  EXPECT_EQ(response.template_().name().size(), std::string("templates/").size() + 16);
}

TEST_F(NotifyConfigCoreTest, CreateWithRequestIdIsAnsweredOnce) {
  v1::CreateTemplateRequest request;
  request.set_request_id(kRequestId);
  *request.mutable_template_() = SmsTemplate("Reminder", "hi");  // generated id
  v1::CreateTemplateResponse first;
  ASSERT_TRUE(core_->CreateTemplate(kTenant, request, first).ok());
  now_ += absl::Hours(23);
  Restart();
  v1::CreateTemplateResponse again;
  ASSERT_TRUE(core_->CreateTemplate(kTenant, request, again).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(first, again));
  EXPECT_EQ(TemplateNames().size(), 1u);  // nothing new created
  // The same id for another request.
  request.mutable_template_()->set_display_name("Other");
  EXPECT_TRUE(HasError(core_->CreateTemplate(kTenant, request, again),
                       absl::StatusCode::kInvalidArgument,
                       "request_id: was already used for a different request"));
  EXPECT_EQ(TemplateNames().size(), 1u);
  // After the retention a request_id is free again.
  now_ += absl::Hours(2);
  v1::CreateTemplateResponse later;
  ASSERT_TRUE(core_->CreateTemplate(kTenant, request, later).ok());
  EXPECT_EQ(later.template_().display_name(), "Other");
  EXPECT_EQ(TemplateNames().size(), 2u);
}

TEST_F(NotifyConfigCoreTest, UpdateTemplateMakesVersionsOnContentChangesOnly) {
  const v1::Template v1_template = CreateTemplate("reminder", SmsTemplate("Reminder", "old"));
  now_ += absl::Minutes(1);

  // display_name only: same version, new etag.
  v1::Template change;
  change.set_name("templates/reminder");
  change.set_display_name("Reminder (renamed)");
  change.set_etag("1");
  absl::StatusOr<v1::Template> renamed = UpdateTemplate(change);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(renamed->version(), 1);
  EXPECT_EQ(renamed->etag(), "2");
  EXPECT_EQ(renamed->locales(0).sms().text(), "old");
  EXPECT_EQ(TimeUtil::TimestampToSeconds(renamed->update_time()),
            absl::ToUnixSeconds(kStart + absl::Minutes(1)));
  EXPECT_EQ(renamed->create_time(), v1_template.create_time());

  // New content: version 2; version 1 stays readable as it was.
  now_ += absl::Minutes(1);
  change = SmsTemplate("", "new {{x}}");
  change.set_name("templates/reminder");
  absl::StatusOr<v1::Template> v2 = UpdateTemplate(change, {"locales"});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version(), 2);
  EXPECT_EQ(v2->etag(), "3");
  EXPECT_EQ(v2->display_name(), "Reminder (renamed)");  // not in the mask
  EXPECT_EQ(v2->locales(0).sms().text(), "new {{x}}");

  // The same content again: no new version.
  change.set_display_name("ignored: not in the mask");
  absl::StatusOr<v1::Template> same = UpdateTemplate(change, {"locales"});
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->version(), 2);
  EXPECT_EQ(same->etag(), "4");
  EXPECT_EQ(same->display_name(), "Reminder (renamed)");

  // allow_quiet_hours_bypass is content too.
  change.set_allow_quiet_hours_bypass(true);
  absl::StatusOr<v1::Template> v3 = UpdateTemplate(change, {"allow_quiet_hours_bypass"});
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_EQ(v3->version(), 3);

  Restart();
  absl::StatusOr<v1::Template> old = GetTemplate("templates/reminder", 1);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->locales(0).sms().text(), "old");
  EXPECT_EQ(old->version(), 1);
  EXPECT_FALSE(old->allow_quiet_hours_bypass());
  absl::StatusOr<v1::Template> second = GetTemplate("templates/reminder", 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->locales(0).sms().text(), "new {{x}}");
  EXPECT_FALSE(second->allow_quiet_hours_bypass());
  absl::StatusOr<v1::Template> current = GetTemplate("templates/reminder");
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->version(), 3);
  EXPECT_TRUE(current->allow_quiet_hours_bypass());
  EXPECT_TRUE(HasError(GetTemplate("templates/reminder", 4).status(), absl::StatusCode::kNotFound,
                       "version: templates/reminder has no version 4 (current: 3)"));
}

TEST_F(NotifyConfigCoreTest, UpdateTemplateRefusalsChangeNothing) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "old"));
  const absl::StatusOr<v1::Template> before = GetTemplate("templates/reminder");
  ASSERT_TRUE(before.ok());

  v1::Template change = SmsTemplate("New", "new");
  change.set_name("templates/reminder");
  change.set_etag("7");
  EXPECT_TRUE(HasError(UpdateTemplate(change).status(), absl::StatusCode::kAborted,
                       "template.etag: \"7\" is stale; templates/reminder is at etag \"1\"; read "
                       "it and retry"));
  change.set_etag("");
  change.mutable_locales(0)->mutable_sms()->set_text("");
  EXPECT_TRUE(HasError(UpdateTemplate(change).status(), absl::StatusCode::kInvalidArgument,
                       "template.locales[0].sms.text: must not be empty"));
  change.set_name("templates/missing");
  EXPECT_TRUE(HasError(UpdateTemplate(change, {"display_name"}).status(),
                       absl::StatusCode::kNotFound,
                       "template.name: templates/missing does not exist"));
  change.set_name("templates/reminder");
  EXPECT_TRUE(HasError(UpdateTemplate(change, {"version"}).status(),
                       absl::StatusCode::kInvalidArgument,
                       "update_mask.paths[0]: \"version\" cannot be updated (updatable: "
                       "display_name, locales, allow_quiet_hours_bypass)"));

  const absl::StatusOr<v1::Template> after = GetTemplate("templates/reminder");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*before, *after));
  EXPECT_TRUE(HasError(GetTemplate("templates/reminder", 2).status(), absl::StatusCode::kNotFound,
                       "version: templates/reminder has no version 2 (current: 1)"));
}

TEST_F(NotifyConfigCoreTest, ListTemplatesPagesAndFilters) {
  for (const char* id : {"d", "a", "c", "b", "e"}) {
    CreateTemplate(id, SmsTemplate(std::string("Template ") + id, "hi"));
    now_ += absl::Minutes(1);
  }
  CreateTemplate("z", SmsTemplate("Elsewhere", "hi"), kOtherTenant);

  v1::ListTemplatesRequest request;
  request.set_page_size(2);
  std::vector<std::string> seen;
  std::vector<std::string> tokens;
  for (int page = 0; page < 5; ++page) {
    v1::ListTemplatesResponse response;
    ASSERT_TRUE(core_->ListTemplates(kTenant, request, response).ok());
    for (const v1::Template& tmpl : response.templates()) seen.push_back(tmpl.name());
    tokens.push_back(response.next_page_token());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(
      seen, ElementsAre("templates/a", "templates/b", "templates/c", "templates/d", "templates/e"));
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[2], "");

  // Filter on update_time: created at kStart + 0..4 minutes in order d a c b e.
  v1::ListTemplatesRequest filtered;
  filtered.set_filter(absl::StrCat(
      "update_time >= \"",
      absl::FormatTime(absl::RFC3339_full, kStart + absl::Minutes(2), absl::UTCTimeZone()),
      "\" AND display_name != \"Template e\""));
  v1::ListTemplatesResponse response;
  ASSERT_TRUE(core_->ListTemplates(kTenant, filtered, response).ok());
  std::vector<std::string> names;
  for (const v1::Template& tmpl : response.templates()) names.push_back(tmpl.name());
  EXPECT_THAT(names, ElementsAre("templates/b", "templates/c"));

  // A token belongs to its filter.
  filtered.set_page_token(tokens[0]);
  EXPECT_TRUE(HasError(core_->ListTemplates(kTenant, filtered, response),
                       absl::StatusCode::kInvalidArgument,
                       "page_token: was issued for a different request (parent/filter must not "
                       "change between pages)"));
  filtered.clear_page_token();
  filtered.set_filter("locales = 1");
  const absl::Status bad = core_->ListTemplates(kTenant, filtered, response);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), StartsWith("filter: unknown field `locales`"));
}

TEST_F(NotifyConfigCoreTest, DeleteTemplateChecksEtagRulesAndNotifications) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "v1"));
  v1::Template change = SmsTemplate("", "v2");
  change.set_name("templates/reminder");
  ASSERT_TRUE(UpdateTemplate(change, {"locales"}).ok());  // version 2, etag 2
  ASSERT_TRUE(CreateRule("rescheduled", RescheduledRule("templates/reminder")).ok());
  ASSERT_TRUE(CreateRule("second", RescheduledRule("templates/reminder")).ok());

  EXPECT_TRUE(HasError(DeleteTemplate("templates/reminder", "1"), absl::StatusCode::kAborted,
                       "etag: \"1\" is stale; templates/reminder is at etag \"2\"; read it and "
                       "retry"));
  EXPECT_TRUE(HasError(DeleteTemplate("templates/reminder", "2"),
                       absl::StatusCode::kFailedPrecondition,
                       "name: templates/reminder is used by trigger rules "
                       "triggerRules/rescheduled, triggerRules/second; delete them or point them "
                       "at another template first"));
  EXPECT_TRUE(HasError(DeleteTemplate("templates/nope"), absl::StatusCode::kNotFound,
                       "name: templates/nope does not exist"));
  EXPECT_TRUE(HasError(DeleteTemplate("reminder"), absl::StatusCode::kInvalidArgument,
                       "name: must be \"templates/{template}\" where {template} is 1 to 63 "
                       "characters of [a-z0-9-], starting with a letter or digit"));
  ASSERT_TRUE(GetTemplate("templates/reminder", 1).ok());  // nothing deleted

  ASSERT_TRUE(DeleteRule("triggerRules/rescheduled").ok());
  EXPECT_TRUE(HasError(DeleteTemplate("templates/reminder"), absl::StatusCode::kFailedPrecondition,
                       "name: templates/reminder is used by trigger rule triggerRules/second; "
                       "delete them or point them at another template first"));
  ASSERT_TRUE(DeleteRule("triggerRules/second").ok());

  // NotifyCore's say about pending notifications comes through as is.
  std::vector<std::string> asked;
  check_template_unused_ = [&](const std::string& tenant, const std::string& name) {
    asked.push_back(tenant + " " + name);
    return absl::FailedPreconditionError("name: notifications/n1 still uses templates/reminder");
  };
  Restart();
  EXPECT_TRUE(HasError(DeleteTemplate("templates/reminder"), absl::StatusCode::kFailedPrecondition,
                       "name: notifications/n1 still uses templates/reminder"));
  EXPECT_THAT(asked, ElementsAre("acme templates/reminder"));
  check_template_unused_ = nullptr;
  Restart();

  ASSERT_TRUE(DeleteTemplate("templates/reminder", "2").ok());
  for (int64_t version : {0, 1, 2}) {
    EXPECT_TRUE(HasError(GetTemplate("templates/reminder", version).status(),
                         absl::StatusCode::kNotFound, "name: templates/reminder does not exist"));
  }
  // The id can be taken again and starts over, with no old versions.
  const v1::Template again = CreateTemplate("reminder", SmsTemplate("Again", "new"));
  EXPECT_EQ(again.version(), 1);
  EXPECT_EQ(again.etag(), "1");
  EXPECT_TRUE(HasError(GetTemplate("templates/reminder", 2).status(), absl::StatusCode::kNotFound,
                       "version: templates/reminder has no version 2 (current: 1)"));
}

// NotifyCore on the same store, sending SMS to one customer.
class PendingSends {
 public:
  PendingSends(const NotifyStore& store, const absl::Time& now) {
    // One attempt per channel: a temporary failure dead-letters at once.
    auto core = NotifyCore::Create(store, {.clock = [&now] { return now; },
                                           .backoff = {.max_attempts = 1},
                                           .record_timeline = false});
    EXPECT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
    context::CustomerContext customer;
    customer.mutable_customer()->set_name("customers/kim");
    context::CustomerIdentity& phone = *customer.mutable_customer()->add_identities();
    phone.mutable_identity()->set_kind(cxp::type::v1::IDENTITY_KIND_PHONE);
    phone.mutable_identity()->set_value("+821012345678");
    kim_ = CustomerView::FromContext(customer);
  }

  // A send of templates/reminder, at `send_time` (unset: now).
  v1::Notification Send(std::optional<absl::Time> send_time = std::nullopt) {
    v1::SendNotificationRequest request;
    request.mutable_customer()->set_customer("customers/kim");
    request.set_template_("templates/reminder");
    request.set_purpose(cxp::type::v1::PURPOSE_SERVICE);
    (*request.mutable_variables())["time"] = "10:00";
    if (send_time) {
      *request.mutable_send_time() =
          TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(*send_time));
    }
    v1::SendNotificationResponse response;
    const absl::Status status = core_->SendNotification(kTenant, request, kim_, response);
    EXPECT_TRUE(status.ok()) << status;
    return response.notification();
  }

  void Cancel(const std::string& name) {
    v1::CancelNotificationRequest request;
    request.set_name(name);
    v1::CancelNotificationResponse response;
    EXPECT_TRUE(core_->CancelNotification(kTenant, request, response).ok());
  }

  std::vector<Claim> ClaimDue() {
    absl::StatusOr<std::vector<Claim>> claims = core_->ClaimDue(kTenant, 100);
    EXPECT_TRUE(claims.ok()) << claims.status();
    return claims.ok() ? *claims : std::vector<Claim>();
  }

  // Sends the claimed notification with `result`: as it ends.
  v1::Notification Deliver(
      const Claim& claim,
      delivery::DeliveryResult result = delivery::DeliveryResult::Delivered("", "HTTP 201")) {
    absl::StatusOr<DeliveryOrder> order = core_->BeginAttempt(kTenant, claim, kim_);
    EXPECT_TRUE(order.ok() && order->send) << order.status();
    absl::StatusOr<DeliveryOrder> next = core_->RecordAttempt(
        kTenant, *order, {.provider = "sms-a", .result = std::move(result)}, kim_);
    EXPECT_TRUE(next.ok()) << next.status();
    return next.ok() ? next->notification : v1::Notification();
  }

  void Redrive(const std::string& name) {
    v1::RedriveNotificationRequest request;
    request.set_name(name);
    v1::RedriveNotificationResponse response;
    const absl::Status status = core_->RedriveNotification(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
  }

 private:
  std::unique_ptr<NotifyCore> core_;
  CustomerView kim_;
};

TEST_F(NotifyConfigCoreTest, DeleteTemplateRefusesWhileNotificationsUseIt) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "See you at {{time}}"));
  CreateTemplate("other", SmsTemplate("Other", "See you at {{time}}"));
  PendingSends sends(*store_, now_);
  const v1::Notification scheduled = sends.Send(now_ + absl::Hours(1));
  ASSERT_EQ(scheduled.state(), v1::Notification::STATE_SCHEDULED);
  const v1::Notification queued = sends.Send();
  ASSERT_EQ(queued.state(), v1::Notification::STATE_QUEUED);
  std::vector<std::string> names = {scheduled.name(), queued.name()};
  std::sort(names.begin(), names.end());
  EXPECT_TRUE(HasError(DeleteTemplate("templates/reminder"), absl::StatusCode::kFailedPrecondition,
                       absl::StrCat("name: templates/reminder is used by 2 pending notifications (",
                                    names[0], ", ", names[1],
                                    "); cancel them or wait until they are delivered, failed or "
                                    "expired")));
  ASSERT_TRUE(GetTemplate("templates/reminder").ok());  // nothing deleted
  ASSERT_TRUE(DeleteTemplate("templates/other").ok());  // another template's sends do not count

  // The scheduled one cancelled; the queued one SENDING still counts, and
  // delivered no longer does.
  sends.Cancel(scheduled.name());
  const std::vector<Claim> claims = sends.ClaimDue();
  ASSERT_EQ(claims.size(), 1u);
  ASSERT_EQ(claims[0].notification.state(), v1::Notification::STATE_SENDING);
  EXPECT_TRUE(HasError(
      DeleteTemplate("templates/reminder"), absl::StatusCode::kFailedPrecondition,
      absl::StrCat("name: templates/reminder is used by 1 pending notification (", queued.name(),
                   "); cancel them or wait until they are delivered, failed or "
                   "expired")));
  EXPECT_EQ(sends.Deliver(claims[0]).state(), v1::Notification::STATE_DELIVERED);
  EXPECT_TRUE(DeleteTemplate("templates/reminder").ok());
}

TEST_F(NotifyConfigCoreTest, ARedrivenNotificationUsesItsTemplateAgain) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "See you at {{time}}"));
  PendingSends sends(*store_, now_);
  const v1::Notification sent = sends.Send();
  const std::vector<Claim> claims = sends.ClaimDue();
  ASSERT_EQ(claims.size(), 1u);
  ASSERT_EQ(sends.Deliver(claims[0], delivery::DeliveryResult::Transient("HTTP 503")).state(),
            v1::Notification::STATE_DEAD_LETTERED);
  sends.Redrive(sent.name());
  EXPECT_TRUE(HasError(
      DeleteTemplate("templates/reminder"), absl::StatusCode::kFailedPrecondition,
      absl::StrCat("name: templates/reminder is used by 1 pending notification (", sent.name(),
                   "); cancel them or wait until they are delivered, failed or "
                   "expired")));
  sends.Cancel(sent.name());
  EXPECT_TRUE(DeleteTemplate("templates/reminder").ok());
}

TEST_F(NotifyConfigCoreTest, DeleteTemplateNamesAFewOfManyPendingNotifications) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "See you at {{time}}"));
  PendingSends sends(*store_, now_);
  for (int i = 0; i < 7; ++i) sends.Send(now_ + absl::Hours(1));
  const absl::Status refused = DeleteTemplate("templates/reminder");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()),
              ::testing::HasSubstr("is used by 7 pending notifications (notifications/"));
  EXPECT_THAT(std::string(refused.message()), ::testing::HasSubstr(", ...); cancel them"));
  EXPECT_EQ(std::count(refused.message().begin(), refused.message().end(), '/'), 6);
}

TEST_F(NotifyConfigCoreTest, TriggerRuleCrud) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "{{step}}"));
  CreateTemplate("other", SmsTemplate("Other", "x"));
  v1::TriggerRule input = RescheduledRule("templates/reminder");
  input.mutable_create_time()->set_seconds(5);  // output only: ignored
  absl::StatusOr<v1::TriggerRule> created = CreateRule("rescheduled", input);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->name(), "triggerRules/rescheduled");
  EXPECT_EQ(created->etag(), "1");
  EXPECT_EQ(TimeUtil::TimestampToSeconds(created->create_time()), absl::ToUnixSeconds(kStart));
  EXPECT_EQ(created->filter(), input.filter());

  Restart();
  absl::StatusOr<v1::TriggerRule> got = GetRule("triggerRules/rescheduled");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*got, *created));

  now_ += absl::Minutes(5);
  v1::TriggerRule change;
  change.set_name("triggerRules/rescheduled");
  change.set_etag("1");
  change.set_template_("templates/other");
  change.set_enabled(false);
  absl::StatusOr<v1::TriggerRule> updated = UpdateRule(change, {"template", "enabled"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->template_(), "templates/other");
  EXPECT_FALSE(updated->enabled());
  EXPECT_EQ(updated->etag(), "2");
  EXPECT_EQ(updated->display_name(), "Rescheduled delivery");
  EXPECT_EQ(updated->create_time(), created->create_time());
  EXPECT_EQ(TimeUtil::TimestampToSeconds(updated->update_time()),
            absl::ToUnixSeconds(kStart + absl::Minutes(5)));
  got = GetRule("triggerRules/rescheduled");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*got, *updated));

  EXPECT_TRUE(HasError(DeleteRule("triggerRules/rescheduled", "1"), absl::StatusCode::kAborted,
                       "etag: \"1\" is stale; triggerRules/rescheduled is at etag \"2\"; read it "
                       "and retry"));
  ASSERT_TRUE(GetRule("triggerRules/rescheduled").ok());
  ASSERT_TRUE(DeleteRule("triggerRules/rescheduled", "2").ok());
  EXPECT_TRUE(HasError(GetRule("triggerRules/rescheduled").status(), absl::StatusCode::kNotFound,
                       "name: triggerRules/rescheduled does not exist"));
  EXPECT_TRUE(HasError(DeleteRule("triggerRules/rescheduled"), absl::StatusCode::kNotFound,
                       "name: triggerRules/rescheduled does not exist"));
  // With the rule gone the template can go.
  EXPECT_TRUE(DeleteTemplate("templates/other").ok());
}

TEST_F(NotifyConfigCoreTest, TriggerRuleRefusalsChangeNothing) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "x"));
  EXPECT_TRUE(HasError(CreateRule("r1", RescheduledRule("templates/missing")).status(),
                       absl::StatusCode::kNotFound,
                       "trigger_rule.template: templates/missing does not exist"));
  v1::TriggerRule bad = RescheduledRule("templates/reminder");
  bad.set_filter("journey.stepp = \"x\"");
  const absl::Status invalid = CreateRule("r1", bad).status();
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(invalid.message()),
              StartsWith("trigger_rule.filter: unknown field `journey.stepp` at offset 0"));
  EXPECT_THAT(RuleNames(), IsEmpty());

  const absl::StatusOr<v1::TriggerRule> created =
      CreateRule("r1", RescheduledRule("templates/reminder"));
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(HasError(CreateRule("r1", RescheduledRule("templates/reminder")).status(),
                       absl::StatusCode::kAlreadyExists,
                       "trigger_rule_id: triggerRules/r1 already exists"));

  v1::TriggerRule change;
  change.set_name("triggerRules/r1");
  change.set_template_("templates/missing");
  EXPECT_TRUE(HasError(UpdateRule(change, {"template"}).status(), absl::StatusCode::kNotFound,
                       "trigger_rule.template: templates/missing does not exist"));
  change.set_etag("5");
  change.set_display_name("New");
  EXPECT_TRUE(HasError(UpdateRule(change, {"display_name"}).status(), absl::StatusCode::kAborted,
                       "trigger_rule.etag: \"5\" is stale; triggerRules/r1 is at etag \"1\"; read "
                       "it and retry"));
  change.clear_etag();
  change.add_change_kinds(context::CHANGE_KIND_INTERACTION_APPENDED);
  EXPECT_TRUE(HasError(UpdateRule(change, {"change_kinds"}).status(),
                       absl::StatusCode::kInvalidArgument,
                       "trigger_rule.filter: `journey.type` at offset 0 is never set for the "
                       "rule's change_kinds; only CHANGE_KIND_JOURNEY_STARTED, "
                       "CHANGE_KIND_JOURNEY_ADVANCED events carry journey"));
  change.set_name("triggerRules/missing");
  EXPECT_TRUE(HasError(UpdateRule(change, {"display_name"}).status(), absl::StatusCode::kNotFound,
                       "trigger_rule.name: triggerRules/missing does not exist"));

  const absl::StatusOr<v1::TriggerRule> after = GetRule("triggerRules/r1");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*after, *created));
  EXPECT_THAT(RuleNames(), ElementsAre("triggerRules/r1"));
}

TEST_F(NotifyConfigCoreTest, CreateTriggerRuleWithRequestIdIsAnsweredOnce) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "x"));
  const absl::StatusOr<v1::TriggerRule> first =
      CreateRule("", RescheduledRule("templates/reminder"), kRequestId);
  ASSERT_TRUE(first.ok()) << first.status();
  Restart();
  const absl::StatusOr<v1::TriggerRule> again =
      CreateRule("", RescheduledRule("templates/reminder"), kRequestId);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*first, *again));
  EXPECT_THAT(RuleNames(), ElementsAre(first->name()));
  // A refused request keeps nothing: once the template exists it runs.
  constexpr char kOtherRequest[] = "223e4567-e89b-12d3-a456-426614174000";
  EXPECT_EQ(CreateRule("r2", RescheduledRule("templates/later"), kOtherRequest).status().code(),
            absl::StatusCode::kNotFound);
  CreateTemplate("later", SmsTemplate("Later", "x"));
  ASSERT_TRUE(CreateRule("r2", RescheduledRule("templates/later"), kOtherRequest).ok());
  EXPECT_EQ(RuleNames().size(), 2u);
}

TEST_F(NotifyConfigCoreTest, ListTriggerRulesFilters) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "x"));
  CreateTemplate("other", SmsTemplate("Other", "x"));
  ASSERT_TRUE(CreateRule("a", RescheduledRule("templates/reminder")).ok());
  v1::TriggerRule off = RescheduledRule("templates/other");
  off.set_enabled(false);
  ASSERT_TRUE(CreateRule("b", off).ok());
  v1::TriggerRule interaction = RescheduledRule("templates/reminder");
  interaction.clear_filter();
  interaction.set_change_kinds(0, context::CHANGE_KIND_INTERACTION_APPENDED);
  ASSERT_TRUE(CreateRule("c", interaction).ok());

  const auto list = [&](const std::string& filter) {
    v1::ListTriggerRulesRequest request;
    request.set_filter(filter);
    v1::ListTriggerRulesResponse response;
    const absl::Status status = core_->ListTriggerRules(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    std::vector<std::string> names;
    for (const v1::TriggerRule& rule : response.trigger_rules()) names.push_back(rule.name());
    return names;
  };
  EXPECT_THAT(list(""), ElementsAre("triggerRules/a", "triggerRules/b", "triggerRules/c"));
  EXPECT_THAT(list("enabled = true"), ElementsAre("triggerRules/a", "triggerRules/c"));
  EXPECT_THAT(list("template = \"templates/other\""), ElementsAre("triggerRules/b"));
  // As the proto's example writes it.
  EXPECT_THAT(list("enabled = true AND change_kinds:JOURNEY_ADVANCED"),
              ElementsAre("triggerRules/a"));
  EXPECT_THAT(list("change_kinds:CHANGE_KIND_INTERACTION_APPENDED"), ElementsAre("triggerRules/c"));
  EXPECT_THAT(list("change_kinds:CUSTOMER_CREATED"), IsEmpty());

  v1::ListTriggerRulesRequest paged;
  paged.set_page_size(2);
  v1::ListTriggerRulesResponse page;
  ASSERT_TRUE(core_->ListTriggerRules(kTenant, paged, page).ok());
  ASSERT_EQ(page.trigger_rules_size(), 2);
  ASSERT_FALSE(page.next_page_token().empty());
  paged.set_page_token(page.next_page_token());
  v1::ListTriggerRulesResponse last;
  ASSERT_TRUE(core_->ListTriggerRules(kTenant, paged, last).ok());
  ASSERT_EQ(last.trigger_rules_size(), 1);
  EXPECT_EQ(last.trigger_rules(0).name(), "triggerRules/c");
  EXPECT_EQ(last.next_page_token(), "");
}

TEST_F(NotifyConfigCoreTest, MatcherFollowsRuleChanges) {
  CreateTemplate("reminder", SmsTemplate("Reminder", "{{step}}"));
  absl::StatusOr<std::shared_ptr<const TriggerMatcher>> empty = core_->Matcher(kTenant);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->size(), 0u);

  absl::StatusOr<v1::TriggerRule> r1 = CreateRule("r1", RescheduledRule("templates/reminder"));
  ASSERT_TRUE(r1.ok()) << r1.status();
  absl::StatusOr<std::shared_ptr<const TriggerMatcher>> one = core_->Matcher(kTenant);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)->size(), 1u);
  absl::StatusOr<std::shared_ptr<const TriggerMatcher>> cached = core_->Matcher(kTenant);
  EXPECT_EQ(cached->get(), one->get());  // the same until a rule changes

  context::ChangeEvent event;
  event.set_sequence(41);
  event.set_kind(context::CHANGE_KIND_JOURNEY_ADVANCED);
  event.set_customer("customers/c1");
  *event.mutable_change_time() = r1->create_time();  // not before the rule
  event.mutable_journey()->set_type("missed_delivery");
  event.mutable_journey()->set_step("rescheduled");
  std::vector<TriggeredSend> sends = (*one)->Match(event, nullptr);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].request.idempotency_key(), "trigger:r1:41");
  EXPECT_EQ(sends[0].request.variables().at("step"), "rescheduled");

  v1::TriggerRule disable;
  disable.set_name("triggerRules/r1");
  ASSERT_TRUE(UpdateRule(disable, {"enabled"}).ok());
  absl::StatusOr<std::shared_ptr<const TriggerMatcher>> after = core_->Matcher(kTenant);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)->size(), 0u);
  EXPECT_THAT((*after)->Match(event, nullptr), IsEmpty());
  // The old matcher is unchanged for whoever still holds it.
  EXPECT_EQ((*one)->size(), 1u);
  EXPECT_EQ(core_->Matcher(kOtherTenant).value()->size(), 0u);
}

}  // namespace
}  // namespace cxp::notify
