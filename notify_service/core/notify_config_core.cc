#include "notify_service/core/notify_config_core.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/filter/filter.h"
#include "common/idempotency/idempotency.h"
#include "common/paging/page_size.h"
#include "common/paging/request_fingerprint.h"
#include "common/status/status_macros.h"
#include "common/validation/etag.h"
#include "common/validation/resource_id.h"
#include "cxp/context/v1/change_event.pb.h"
#include "google/protobuf/util/time_util.h"
#include "notify_service/validation/resource_names.h"
#include "notify_service/validation/template_requests.h"
#include "notify_service/validation/trigger_rule_validation.h"

namespace cxp::notify {
namespace {

namespace names = ::cxp::notify::validation;
using cxp::validation::CheckEtag;
using cxp::validation::kFirstEtag;
using cxp::validation::NextEtag;
using filter::FieldPath;
using filter::FilterSchema;
using filter::FilterValue;
using google::protobuf::util::TimeUtil;

// A FAILED_PRECONDITION lists at most this many rules by name.
constexpr size_t kMaxRulesNamed = 10;
// DeleteTemplate's refusal names at most this many pending notifications,
// and counts at most kMaxUsersCounted of them.
constexpr size_t kMaxUsersNamed = 5;
constexpr size_t kMaxUsersCounted = 1000;

google::protobuf::Timestamp Ts(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

FilterValue TimestampValue(const google::protobuf::Timestamp& ts) {
  return FilterValue::Timestamp(absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(ts)));
}

const FilterSchema& TemplateFilterSchema() {
  static const FilterSchema* schema =
      new FilterSchema(FilterSchema().AddString("display_name").AddTimestamp("update_time"));
  return *schema;
}

class TemplateFieldResolver : public filter::FieldResolver {
 public:
  explicit TemplateFieldResolver(const v1::Template& tmpl) : tmpl_(tmpl) {}
  FilterValue Resolve(const FieldPath& path) const override {
    if (path.field == "display_name") return FilterValue::String(tmpl_.display_name());
    if (path.field == "update_time") return TimestampValue(tmpl_.update_time());
    return FilterValue::Absent();
  }

 private:
  const v1::Template& tmpl_;
};

const FilterSchema& TriggerRuleFilterSchema() {
  static const FilterSchema* schema =
      new FilterSchema(FilterSchema()
                           .AddString("display_name")
                           .AddBool("enabled")
                           .AddString("template")
                           .AddProtoRepeatedEnum("change_kinds", "CHANGE_KIND_",
                                                 cxp::context::v1::ChangeKind_descriptor()));
  return *schema;
}

class TriggerRuleFieldResolver : public filter::FieldResolver {
 public:
  explicit TriggerRuleFieldResolver(const v1::TriggerRule& rule) : rule_(rule) {
    for (const int kind : rule.change_kinds()) {
      kinds_.push_back(
          cxp::context::v1::ChangeKind_Name(static_cast<cxp::context::v1::ChangeKind>(kind)));
    }
  }
  FilterValue Resolve(const FieldPath& path) const override {
    if (path.field == "display_name") return FilterValue::String(rule_.display_name());
    if (path.field == "enabled") return FilterValue::Bool(rule_.enabled());
    if (path.field == "template") return FilterValue::String(rule_.template_());
    if (path.field == "change_kinds") return FilterValue::List(kinds_);
    return FilterValue::Absent();
  }

 private:
  const v1::TriggerRule& rule_;
  std::vector<std::string> kinds_;  // full value names, as the filter compares them
};

// One page of a configuration collection listed by name: the resources
// `scan` visits after the page token's resume key that the request's filter
// matches. The resume key is the last name returned.
template <typename Resolver, typename Resource, typename Request>
absl::Status ListByName(
    const paging::PageTokenCodec& tokens, absl::Time now, const std::string& tenant,
    absl::string_view method, const Request& request, const FilterSchema& schema,
    absl::FunctionRef<absl::Status(const std::string& after,
                                   absl::FunctionRef<bool(const Resource&)> visit)>
        scan,
    google::protobuf::RepeatedPtrField<Resource>& page, std::string& next_page_token) {
  ASSIGN_OR_RETURN(const int page_size, paging::EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(const filter::Filter filter, filter::ParseFilter(request.filter(), schema));
  const std::string fingerprint =
      paging::RequestFingerprint({method, tenant, filter.CanonicalText()});
  ASSIGN_OR_RETURN(const std::string after,
                   tokens.ResumeKey(request.page_token(), fingerprint, now));
  bool more = false;
  RETURN_IF_ERROR(scan(after, [&](const Resource& resource) {
    if (!filter.Matches(Resolver(resource))) return true;
    if (page.size() == page_size) {
      more = true;
      return false;
    }
    *page.Add() = resource;
    return true;
  }));
  if (more) next_page_token = tokens.NextPageToken(fingerprint, page[page_size - 1].name(), now);
  return absl::OkStatus();
}

absl::Status DoesNotExist(absl::string_view field, absl::string_view name) {
  return absl::NotFoundError(absl::StrCat(field, ": ", name, " does not exist"));
}

}  // namespace

NotifyConfigCore::NotifyConfigCore(const NotifyStore& store, NotifyConfigCoreOptions options)
    : store_(store),
      options_(std::move(options)),
      tokens_(paging::PageTokenCodec::WithKeyOrRandom(options_.page_token_key)) {}

NotifyConfigCore::TenantState& NotifyConfigCore::ForTenant(const Tenant& tenant) {
  absl::MutexLock lock(&tenants_mu_);
  std::unique_ptr<TenantState>& state = tenants_[tenant];
  if (!state) state = std::make_unique<TenantState>();
  return *state;
}

absl::Status NotifyConfigCore::CreateOnce(
    const Tenant& tenant, const char* method, const std::string& request_id,
    const google::protobuf::Message& request, google::protobuf::Message& response,
    absl::FunctionRef<absl::Status(TenantState&, NotifyStore::Batch&)> create) {
  TenantState& state = ForTenant(tenant);
  // The tenant's lock also orders a retry after its original.
  absl::MutexLock lock(&state.mu);
  std::string fingerprint;
  if (!request_id.empty()) {
    fingerprint = idempotency::RequestDigest(request);
    ASSIGN_OR_RETURN(std::optional<idempotency::StoredResponse> stored,
                     store_.GetStoredResponse(tenant, method, request_id));
    ASSIGN_OR_RETURN(const bool replayed, idempotency::ReplayStoredResponse(
                                              stored, fingerprint, options_.clock(), response));
    if (replayed) return absl::OkStatus();
  }
  NotifyStore::Batch batch = store_.NewBatch();
  // Refused: nothing is written and nothing kept (a retry runs again).
  RETURN_IF_ERROR(create(state, batch));
  if (!request_id.empty()) {
    batch.PutStoredResponse(tenant, method, request_id,
                            idempotency::NewStoredResponse(
                                fingerprint, response, options_.clock() + options_.request_id_ttl));
  }
  return store_.Commit(batch);
}

absl::Status NotifyConfigCore::CheckTemplateExists(const Tenant& tenant,
                                                   const std::string& template_name,
                                                   absl::string_view field) const {
  ASSIGN_OR_RETURN(const std::optional<v1::Template> stored,
                   store_.GetTemplate(tenant, template_name));
  if (!stored) return DoesNotExist(field, template_name);
  return absl::OkStatus();
}

absl::Status NotifyConfigCore::CheckTemplateUnused(const Tenant& tenant,
                                                   const std::string& template_name) const {
  std::vector<std::string> users;
  size_t count = 0;
  RETURN_IF_ERROR(store_.ScanTriggerRules(tenant, "", [&](const v1::TriggerRule& rule) {
    if (rule.template_() != template_name) return true;
    if (++count <= kMaxRulesNamed) users.push_back(rule.name());
    return true;
  }));
  if (count == 0) return absl::OkStatus();
  std::string listed = absl::StrJoin(users, ", ");
  if (count > users.size()) absl::StrAppend(&listed, " and ", count - users.size(), " more");
  return absl::FailedPreconditionError(
      absl::StrCat("name: ", template_name, " is used by trigger rule", count == 1 ? " " : "s ",
                   listed, "; delete them or point them at another template first"));
}

absl::Status NotifyConfigCore::CheckNoPendingNotifications(const Tenant& tenant,
                                                           const std::string& template_name) const {
  ASSIGN_OR_RETURN(const std::vector<std::string> users,
                   store_.TemplateUsers(tenant, template_name, kMaxUsersCounted));
  if (users.empty()) return absl::OkStatus();
  const std::vector<std::string> named(users.begin(),
                                       users.begin() + std::min(users.size(), kMaxUsersNamed));
  std::string listed = absl::StrJoin(named, ", ");
  if (users.size() > named.size()) absl::StrAppend(&listed, ", ...");
  const std::string count = users.size() == kMaxUsersCounted
                                ? absl::StrCat("at least ", users.size())
                                : absl::StrCat(users.size());
  return absl::FailedPreconditionError(
      absl::StrCat("name: ", template_name, " is used by ", count, " pending notification",
                   users.size() == 1 ? "" : "s", " (", listed,
                   "); cancel them or wait until they are delivered, failed or expired"));
}

// Templates.

absl::Status NotifyConfigCore::CreateTemplate(const Tenant& tenant,
                                              const v1::CreateTemplateRequest& request,
                                              v1::CreateTemplateResponse& response) {
  ASSIGN_OR_RETURN(names::ValidatedCreateTemplate valid, names::ValidateCreateTemplate(request));
  const std::string id =
      valid.template_id.empty() ? cxp::validation::NewResourceId() : valid.template_id;
  v1::Template tmpl = std::move(valid.tmpl);
  tmpl.set_name(names::TemplateName(id));
  tmpl.set_version(1);
  const absl::Time now = options_.clock();
  *tmpl.mutable_create_time() = Ts(now);
  *tmpl.mutable_update_time() = tmpl.create_time();
  tmpl.set_etag(kFirstEtag);
  return CreateOnce(tenant, "CreateTemplate", request.request_id(), request, response,
                    [&](TenantState&, NotifyStore::Batch& batch) -> absl::Status {
                      ASSIGN_OR_RETURN(const std::optional<v1::Template> existing,
                                       store_.GetTemplate(tenant, tmpl.name()));
                      if (existing) {
                        return absl::AlreadyExistsError(
                            absl::StrCat("template_id: ", tmpl.name(), " already exists"));
                      }
                      batch.PutTemplate(tenant, tmpl);
                      *response.mutable_template_() = tmpl;
                      return absl::OkStatus();
                    });
}

absl::Status NotifyConfigCore::GetTemplate(const Tenant& tenant,
                                           const v1::GetTemplateRequest& request,
                                           v1::GetTemplateResponse& response) {
  ASSIGN_OR_RETURN(const names::TemplateVersionRef ref, names::ValidateGetTemplate(request));
  const std::string name = names::TemplateName(ref.template_id);
  ASSIGN_OR_RETURN(std::optional<v1::Template> latest, store_.GetTemplate(tenant, name));
  if (!latest) return DoesNotExist("name", name);
  if (ref.version == 0 || ref.version == latest->version()) {
    *response.mutable_template_() = *std::move(latest);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::optional<v1::Template> version,
                   store_.GetTemplate(tenant, name, ref.version));
  if (!version) {
    return absl::NotFoundError(absl::StrCat("version: ", name, " has no version ", ref.version,
                                            " (current: ", latest->version(), ")"));
  }
  *response.mutable_template_() = *std::move(version);
  return absl::OkStatus();
}

absl::Status NotifyConfigCore::UpdateTemplate(const Tenant& tenant,
                                              const v1::UpdateTemplateRequest& request,
                                              v1::UpdateTemplateResponse& response) {
  ASSIGN_OR_RETURN(const names::ValidatedTemplateUpdate update,
                   names::ValidateUpdateTemplate(request));
  const std::string name = names::TemplateName(update.template_id);
  const absl::Time now = options_.clock();
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  ASSIGN_OR_RETURN(const std::optional<v1::Template> stored, store_.GetTemplate(tenant, name));
  if (!stored) return DoesNotExist("template.name", name);
  RETURN_IF_ERROR(CheckEtag(update.tmpl.etag(), stored->etag(), name, "template.etag"));
  v1::Template updated = names::ApplyTemplateUpdate(*stored, update);
  // Sends pin versions: content they may have used is never rewritten.
  updated.set_version(stored->version() +
                      (names::TemplateContentChanged(*stored, updated) ? 1 : 0));
  updated.set_name(name);
  updated.set_etag(NextEtag(stored->etag()));
  *updated.mutable_create_time() = stored->create_time();
  *updated.mutable_update_time() = Ts(now);
  NotifyStore::Batch batch = store_.NewBatch();
  batch.PutTemplate(tenant, updated);
  RETURN_IF_ERROR(store_.Commit(batch));
  *response.mutable_template_() = std::move(updated);
  return absl::OkStatus();
}

absl::Status NotifyConfigCore::ListTemplates(const Tenant& tenant,
                                             const v1::ListTemplatesRequest& request,
                                             v1::ListTemplatesResponse& response) {
  return ListByName<TemplateFieldResolver, v1::Template>(
      tokens_, options_.clock(), tenant, "ListTemplates", request, TemplateFilterSchema(),
      [&](const std::string& after, absl::FunctionRef<bool(const v1::Template&)> visit) {
        return store_.ScanTemplates(tenant, after, visit);
      },
      *response.mutable_templates(), *response.mutable_next_page_token());
}

absl::Status NotifyConfigCore::DeleteTemplate(const Tenant& tenant,
                                              const v1::DeleteTemplateRequest& request,
                                              v1::DeleteTemplateResponse& /*response: empty*/) {
  ASSIGN_OR_RETURN(const std::string id, names::ParseTemplateName(request.name(), "name"));
  const std::string name = names::TemplateName(id);
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  ASSIGN_OR_RETURN(const std::optional<v1::Template> stored, store_.GetTemplate(tenant, name));
  if (!stored) return DoesNotExist("name", name);
  RETURN_IF_ERROR(CheckEtag(request.etag(), stored->etag(), name, "etag"));
  RETURN_IF_ERROR(CheckTemplateUnused(tenant, name));
  RETURN_IF_ERROR(CheckNoPendingNotifications(tenant, name));
  if (options_.check_template_unused) {
    RETURN_IF_ERROR(options_.check_template_unused(tenant, name));
  }
  NotifyStore::Batch batch = store_.NewBatch();
  batch.DeleteTemplate(tenant, name, stored->version());
  return store_.Commit(batch);
}

// Trigger rules.

absl::Status NotifyConfigCore::CreateTriggerRule(const Tenant& tenant,
                                                 const v1::CreateTriggerRuleRequest& request,
                                                 v1::CreateTriggerRuleResponse& response) {
  ASSIGN_OR_RETURN(names::ValidatedCreateTriggerRule valid,
                   names::ValidateCreateTriggerRule(request));
  const std::string id =
      valid.trigger_rule_id.empty() ? cxp::validation::NewResourceId() : valid.trigger_rule_id;
  v1::TriggerRule rule = std::move(valid.rule);
  rule.set_name(names::TriggerRuleName(id));
  const absl::Time now = options_.clock();
  *rule.mutable_create_time() = Ts(now);
  *rule.mutable_update_time() = rule.create_time();
  rule.set_etag(kFirstEtag);
  return CreateOnce(
      tenant, "CreateTriggerRule", request.request_id(), request, response,
      [&](TenantState& state, NotifyStore::Batch& batch) -> absl::Status {
        ASSIGN_OR_RETURN(const std::optional<v1::TriggerRule> existing,
                         store_.GetTriggerRule(tenant, rule.name()));
        if (existing) {
          return absl::AlreadyExistsError(
              absl::StrCat("trigger_rule_id: ", rule.name(), " already exists"));
        }
        RETURN_IF_ERROR(CheckTemplateExists(tenant, rule.template_(), "trigger_rule.template"));
        batch.PutTriggerRule(tenant, rule);
        *response.mutable_trigger_rule() = rule;
        // CreateOnce commits after this returns, under the same lock:
        // nobody reads the matcher in between.
        state.mu.AssertHeld();
        state.matcher.reset();
        return absl::OkStatus();
      });
}

absl::Status NotifyConfigCore::GetTriggerRule(const Tenant& tenant,
                                              const v1::GetTriggerRuleRequest& request,
                                              v1::GetTriggerRuleResponse& response) {
  ASSIGN_OR_RETURN(const std::string id, names::ParseTriggerRuleName(request.name(), "name"));
  const std::string name = names::TriggerRuleName(id);
  ASSIGN_OR_RETURN(std::optional<v1::TriggerRule> stored, store_.GetTriggerRule(tenant, name));
  if (!stored) return DoesNotExist("name", name);
  *response.mutable_trigger_rule() = *std::move(stored);
  return absl::OkStatus();
}

absl::Status NotifyConfigCore::UpdateTriggerRule(const Tenant& tenant,
                                                 const v1::UpdateTriggerRuleRequest& request,
                                                 v1::UpdateTriggerRuleResponse& response) {
  ASSIGN_OR_RETURN(const names::ValidatedTriggerRuleUpdate update,
                   names::ValidateUpdateTriggerRule(request));
  const std::string name = names::TriggerRuleName(update.trigger_rule_id);
  const absl::Time now = options_.clock();
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  ASSIGN_OR_RETURN(const std::optional<v1::TriggerRule> stored,
                   store_.GetTriggerRule(tenant, name));
  if (!stored) return DoesNotExist("trigger_rule.name", name);
  RETURN_IF_ERROR(CheckEtag(update.rule.etag(), stored->etag(), name, "trigger_rule.etag"));
  ASSIGN_OR_RETURN(v1::TriggerRule updated, names::ApplyTriggerRuleUpdate(*stored, update));
  if (updated.template_() != stored->template_()) {
    RETURN_IF_ERROR(CheckTemplateExists(tenant, updated.template_(), "trigger_rule.template"));
  }
  updated.set_name(name);
  updated.set_etag(NextEtag(stored->etag()));
  *updated.mutable_update_time() = Ts(now);
  NotifyStore::Batch batch = store_.NewBatch();
  batch.PutTriggerRule(tenant, updated);
  RETURN_IF_ERROR(store_.Commit(batch));
  state.matcher.reset();
  *response.mutable_trigger_rule() = std::move(updated);
  return absl::OkStatus();
}

absl::Status NotifyConfigCore::ListTriggerRules(const Tenant& tenant,
                                                const v1::ListTriggerRulesRequest& request,
                                                v1::ListTriggerRulesResponse& response) {
  return ListByName<TriggerRuleFieldResolver, v1::TriggerRule>(
      tokens_, options_.clock(), tenant, "ListTriggerRules", request, TriggerRuleFilterSchema(),
      [&](const std::string& after, absl::FunctionRef<bool(const v1::TriggerRule&)> visit) {
        return store_.ScanTriggerRules(tenant, after, visit);
      },
      *response.mutable_trigger_rules(), *response.mutable_next_page_token());
}

absl::Status NotifyConfigCore::DeleteTriggerRule(
    const Tenant& tenant, const v1::DeleteTriggerRuleRequest& request,
    v1::DeleteTriggerRuleResponse& /*response: empty*/) {
  ASSIGN_OR_RETURN(const std::string id, names::ParseTriggerRuleName(request.name(), "name"));
  const std::string name = names::TriggerRuleName(id);
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  ASSIGN_OR_RETURN(const std::optional<v1::TriggerRule> stored,
                   store_.GetTriggerRule(tenant, name));
  if (!stored) return DoesNotExist("name", name);
  RETURN_IF_ERROR(CheckEtag(request.etag(), stored->etag(), name, "etag"));
  NotifyStore::Batch batch = store_.NewBatch();
  batch.DeleteTriggerRule(tenant, name);
  RETURN_IF_ERROR(store_.Commit(batch));
  state.matcher.reset();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const TriggerMatcher>> NotifyConfigCore::Matcher(
    const Tenant& tenant) {
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  if (state.matcher == nullptr) {
    std::vector<v1::TriggerRule> rules;
    RETURN_IF_ERROR(store_.ScanTriggerRules(tenant, "", [&](const v1::TriggerRule& rule) {
      rules.push_back(rule);
      return true;
    }));
    state.matcher = std::make_shared<const TriggerMatcher>(rules);
  }
  return state.matcher;
}

}  // namespace cxp::notify
