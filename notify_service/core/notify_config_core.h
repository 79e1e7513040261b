// NotifyConfigCore — notify_service's configuration: templates (every
// content change a new version, old versions kept and readable) and trigger
// rules, per protos/cxp/notify/v1/notify_service.proto. Takes the API's
// requests, validates them (notify_service/validation), decides against
// the store, and keeps every change of a call in one NotifyStore batch.
// Plain C++, no gRPC types: the gRPC edge translates and waits for
// durability (AfterDurable) before it answers.
//
// Versions and etags: a template starts at version 1 and etag "1"; an
// update that changes locales or allow_quiet_hours_bypass adds version N+1
// (version N stays readable with GetTemplate), one that changes only
// display_name keeps the version; every update moves the etag on ("2",
// "3", ...). Trigger rules have etags only. A stale etag is ABORTED
// (AIP-154); an empty one is unconditional.
//
// Idempotency (AIP-155): CreateTemplate and CreateTriggerRule with a
// request_id keep their answer (in the call's batch) for request_id_ttl; a
// retry gets it back and changes nothing, another request under the same id
// is INVALID_ARGUMENT. A refused request keeps nothing (a retry runs again).
//
// References: a trigger rule names a template that exists (NOT_FOUND on
// create and on an update that names another template); a template that a
// rule names cannot be deleted (FAILED_PRECONDITION naming the rules), nor
// one that a notification not yet terminal (SCHEDULED, HELD_QUIET_HOURS,
// QUEUED, SENDING) uses (FAILED_PRECONDITION with how many and a few
// names; NotifyStore's template-use rows). Both checks run under the
// tenant's configuration lock, so a rule cannot be created for a template
// being deleted; a send does not take that lock, so one accepted while the
// template is being deleted ends FAILED "NO_TEMPLATE_CONTENT" at delivery.
//
// Trigger matching: Matcher() hands the trigger consumer the tenant's
// enabled rules compiled (trigger_matcher.h), rebuilt from the store after
// any rule change, so a change applies to events processed after it.
//
// Errors: INVALID_ARGUMENT naming the field (validation, page tokens,
// filters), NOT_FOUND, ALREADY_EXISTS, ABORTED, FAILED_PRECONDITION; a
// refused call changes nothing. Storage errors as RocksStore reports them.
//
// Threading: all methods are thread-safe; the changes of one tenant are
// serialised by its lock, tenants never wait for each other. Ownership:
// borrows the store, which must outlive the core.

#ifndef CXP_NOTIFY_SERVICE_CORE_NOTIFY_CONFIG_CORE_H_
#define CXP_NOTIFY_SERVICE_CORE_NOTIFY_CONFIG_CORE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/paging/page_token.h"
#include "cxp/notify/v1/notify_service.pb.h"
#include "google/protobuf/message.h"
#include "notify_service/core/notify_store.h"
#include "notify_service/core/trigger_matcher.h"

namespace cxp::notify {

struct NotifyConfigCoreOptions {
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Key for page tokens (paging::PageTokenCodec); empty = random per
  // process (tokens die on restart).
  std::string page_token_key;
  // How long a request_id's answer is replayed.
  absl::Duration request_id_ttl = absl::Hours(24);
  // Optional: a further check of whether `template_name` is still needed,
  // after the store's own (trigger rules, pending notifications): OK, or
  // FAILED_PRECONDITION naming the users, which DeleteTemplate returns as
  // is. Called under the tenant's configuration lock: it must not call
  // back into this core.
  std::function<absl::Status(const std::string& tenant, const std::string& template_name)>
      check_template_unused;
};

class NotifyConfigCore {
 public:
  using Tenant = std::string;

  NotifyConfigCore(const NotifyStore& store, NotifyConfigCoreOptions options);

  absl::Status CreateTemplate(const Tenant& tenant, const v1::CreateTemplateRequest& request,
                              v1::CreateTemplateResponse& response);
  absl::Status GetTemplate(const Tenant& tenant, const v1::GetTemplateRequest& request,
                           v1::GetTemplateResponse& response);
  absl::Status UpdateTemplate(const Tenant& tenant, const v1::UpdateTemplateRequest& request,
                              v1::UpdateTemplateResponse& response);
  // Current versions, by name; filter over display_name and update_time.
  absl::Status ListTemplates(const Tenant& tenant, const v1::ListTemplatesRequest& request,
                             v1::ListTemplatesResponse& response);
  // The template and all its versions.
  absl::Status DeleteTemplate(const Tenant& tenant, const v1::DeleteTemplateRequest& request,
                              v1::DeleteTemplateResponse& response);

  absl::Status CreateTriggerRule(const Tenant& tenant, const v1::CreateTriggerRuleRequest& request,
                                 v1::CreateTriggerRuleResponse& response);
  absl::Status GetTriggerRule(const Tenant& tenant, const v1::GetTriggerRuleRequest& request,
                              v1::GetTriggerRuleResponse& response);
  absl::Status UpdateTriggerRule(const Tenant& tenant, const v1::UpdateTriggerRuleRequest& request,
                                 v1::UpdateTriggerRuleResponse& response);
  // By name; filter over display_name, enabled, template and change_kinds.
  absl::Status ListTriggerRules(const Tenant& tenant, const v1::ListTriggerRulesRequest& request,
                                v1::ListTriggerRulesResponse& response);
  absl::Status DeleteTriggerRule(const Tenant& tenant, const v1::DeleteTriggerRuleRequest& request,
                                 v1::DeleteTriggerRuleResponse& response);

  // The tenant's enabled trigger rules, compiled; the same object until a
  // rule changes. Storage errors as RocksStore reports them.
  absl::StatusOr<std::shared_ptr<const TriggerMatcher>> Matcher(const Tenant& tenant);

  // Calls `done` once everything written before this call is durable.
  void AfterDurable(absl::AnyInvocable<void(absl::Status) &&> done) const {
    store_.rocks().AfterDurable(std::move(done));
  }

 private:
  struct TenantState {
    // Serialises the tenant's configuration changes (read, check, write).
    absl::Mutex mu;
    // Built on demand; reset by every rule change.
    std::shared_ptr<const TriggerMatcher> matcher ABSL_GUARDED_BY(mu);
  };

  TenantState& ForTenant(const Tenant& tenant);
  // Runs `create` (which adds its rows to the batch and fills `response`)
  // under the tenant's lock, for a request with an optional request_id: a
  // retry gets the stored answer; a new request's answer is kept in the
  // same batch.
  absl::Status CreateOnce(
      const Tenant& tenant, const char* method, const std::string& request_id,
      const google::protobuf::Message& request, google::protobuf::Message& response,
      absl::FunctionRef<absl::Status(TenantState&, NotifyStore::Batch&)> create);
  // NOT_FOUND "<field>: templates/x does not exist" unless it does.
  absl::Status CheckTemplateExists(const Tenant& tenant, const std::string& template_name,
                                   absl::string_view field) const;
  // FAILED_PRECONDITION naming the rules that send `template_name`.
  absl::Status CheckTemplateUnused(const Tenant& tenant, const std::string& template_name) const;
  // FAILED_PRECONDITION counting (and naming a few of) the notifications not
  // yet terminal that use `template_name`.
  absl::Status CheckNoPendingNotifications(const Tenant& tenant,
                                           const std::string& template_name) const;

  const NotifyStore& store_;
  const NotifyConfigCoreOptions options_;
  const paging::PageTokenCodec tokens_;
  absl::Mutex tenants_mu_;
  absl::flat_hash_map<Tenant, std::unique_ptr<TenantState>> tenants_ ABSL_GUARDED_BY(tenants_mu_);
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_NOTIFY_CONFIG_CORE_H_
