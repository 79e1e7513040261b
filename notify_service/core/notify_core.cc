#include "notify_service/core/notify_core.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/filter/filter.h"
#include "common/paging/page_size.h"
#include "common/paging/request_fingerprint.h"
#include "common/status/errors.h"
#include "common/status/status_macros.h"
#include "common/validation/resource_id.h"
#include "common/validation/text_rules.h"
#include "google/protobuf/util/time_util.h"
#include "notify_service/core/lifecycle.h"
#include "notify_service/core/notification_filters.h"
#include "notify_service/core/send_validation.h"

namespace cxp::notify {
namespace {

namespace v1 = ::cxp::notify::v1;
namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using cxp::validation::InvalidField;
using cxp::validation::ResourceIdOf;
using google::protobuf::util::TimeUtil;
using Attempt = v1::DeliveryAttempt;

// error_code of the history entry that marks a redrive: retries count from
// there.
constexpr char kRedrivenCode[] = "REDRIVEN";
// Receipts name a provider and its message id within these lengths.
constexpr size_t kMaxProviderChars = 64;
constexpr size_t kMaxProviderMessageIdChars = 256;
// A frequency cap looks back at most this many of a customer's
// notifications (newest first).
constexpr size_t kMaxCapScanRows = 1000;

google::protobuf::Timestamp Ts(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(timestamp));
}

paging::PageTokenCodec MakeTokens(const std::string& key) {
  return key.empty() ? paging::PageTokenCodec() : paging::PageTokenCodec(key);
}

std::string StateLabel(v1::Notification::State state) {
  return std::string(absl::StripPrefix(v1::Notification::State_Name(state), "STATE_"));
}

bool IsPending(v1::Notification::State state) {
  return state == v1::Notification::STATE_SCHEDULED ||
         state == v1::Notification::STATE_HELD_QUIET_HOURS ||
         state == v1::Notification::STATE_QUEUED;
}

// Not yet terminal: pending or SENDING. Such a notification has an outbox
// row and a template-use row.
bool IsActive(v1::Notification::State state) {
  return IsPending(state) || state == v1::Notification::STATE_SENDING;
}

bool IsTerminal(v1::Notification::State state) {
  return state != v1::Notification::STATE_UNSPECIFIED && !IsActive(state);
}

// A notification in SENDING whose last attempt was accepted by a provider
// that reports receipts (as opposed to one leased for an attempt).
bool AwaitsReceipt(const v1::Notification& notification) {
  return notification.state() == v1::Notification::STATE_SENDING &&
         !notification.attempts().empty() &&
         notification.attempts().rbegin()->result() == Attempt::RESULT_SENT;
}

// The attempts since the latest redrive (all of them if never redriven):
// the ones retries and channel choice count.
v1::Notification CurrentRun(const v1::Notification& notification) {
  int start = 0;
  for (int i = 0; i < notification.attempts_size(); ++i) {
    if (notification.attempts(i).error_code() == kRedrivenCode) start = i + 1;
  }
  v1::Notification run;
  for (int i = start; i < notification.attempts_size(); ++i) {
    *run.add_attempts() = notification.attempts(i);
  }
  return run;
}

std::optional<absl::Time> FirstCountedAttempt(const v1::Notification& run) {
  for (const Attempt& attempt : run.attempts()) {
    if (attempt.result() != Attempt::RESULT_SKIPPED &&
        attempt.result() != Attempt::RESULT_UNSPECIFIED) {
      return ToTime(attempt.attempt_time());
    }
  }
  return std::nullopt;
}

std::string LanguageOf(const CustomerView& customer) {
  if (!customer.preferences.language_code().empty()) return customer.preferences.language_code();
  return customer.recipient.customer.language_code();
}

BuiltinValues BuiltinsOf(const CustomerView& customer) {
  BuiltinValues builtins;
  if (!customer.recipient.customer.name().empty()) {
    builtins.customer_display_name = customer.recipient.customer.display_name();
  }
  return builtins;
}

TemplateVariables VariablesOf(const google::protobuf::Map<std::string, std::string>& variables) {
  return TemplateVariables(variables.begin(), variables.end());
}

std::vector<type::Channel> ChannelsOf(const google::protobuf::RepeatedField<int>& channels) {
  std::vector<type::Channel> order;
  for (int channel : channels) order.push_back(static_cast<type::Channel>(channel));
  return order;
}

// What a send's replace key, caps and locks are scoped to: the customer, or
// the identity when it is not known as one.
std::string RecipientKey(const type::CustomerRef& ref, const std::string& resolved_customer) {
  if (!resolved_customer.empty()) return resolved_customer;
  if (ref.has_identity()) {
    return absl::StrCat("identity:", ref.identity().kind(), ":", ref.identity().namespace_(), ":",
                        ref.identity().value());
  }
  return ref.customer();
}

// state_reason when no channel of the plan could be used at all.
std::string NoChannelReason(const std::vector<Attempt>& skipped) {
  bool no_address = false;
  for (const Attempt& attempt : skipped) {
    if (attempt.error_code() == "NO_CONSENT") return "NO_PERMITTED_CHANNEL";
    if (attempt.error_code() == "NO_ADDRESS") no_address = true;
  }
  return no_address ? "NO_CONTACT_ADDRESS" : "NO_TEMPLATE_CONTENT";
}

Attempt SkippedAttempt(type::Channel channel, absl::string_view code, absl::string_view detail,
                       absl::Time now) {
  Attempt attempt;
  *attempt.mutable_attempt_time() = Ts(now);
  *attempt.mutable_result_time() = Ts(now);
  attempt.set_channel(channel);
  attempt.set_result(Attempt::RESULT_SKIPPED);
  attempt.set_error_code(std::string(code));
  attempt.set_error_message(std::string(detail));
  return attempt;
}

void End(v1::Notification& notification, v1::Notification::State state, std::string reason) {
  notification.set_state(state);
  notification.set_state_reason(std::move(reason));
}

absl::Status LostClaim(const std::string& name) {
  return FailedPrecondition(name,
                            "is no longer under this claim (its lease expired, or it was settled)");
}

// Puts what lifecycle decided after an attempt into `after`: SENDING stays
// while awaiting a receipt, DELIVERED, QUEUED until the retry, or the end.
// The next channel is the caller's to choose: true for kNextChannel.
bool ApplyStep(const NextStep& step, v1::Notification& after) {
  switch (step.kind) {
    case NextStep::Kind::kAwaitReceipt:
      return false;  // SENDING; its outbox row becomes the receipt deadline
    case NextStep::Kind::kDelivered:
      after.set_state(v1::Notification::STATE_DELIVERED);
      return false;
    case NextStep::Kind::kRetry:
      after.set_state(v1::Notification::STATE_QUEUED);
      *after.mutable_send_time() = Ts(step.retry_at);
      return false;
    case NextStep::Kind::kNextChannel:
      return true;
    case NextStep::Kind::kEnd:
      End(after, step.end_state, step.end_reason);
      return false;
  }
  return false;
}

Attempt::Result AttemptResultOf(const delivery::DeliveryResult& result) {
  if (result.delivered()) return Attempt::RESULT_SENT;
  return result.transient() ? Attempt::RESULT_TEMPORARY_FAILURE : Attempt::RESULT_PERMANENT_FAILURE;
}

// The attempt that delivered a DELIVERED notification: the latest one a
// provider accepted (SENT or DELIVERED); nullptr when there is none.
const Attempt* DeliveringAttempt(const v1::Notification& notification) {
  for (int i = notification.attempts_size() - 1; i >= 0; --i) {
    const Attempt& attempt = notification.attempts(i);
    if (attempt.result() == Attempt::RESULT_SENT || attempt.result() == Attempt::RESULT_DELIVERED) {
      return &attempt;
    }
  }
  return nullptr;
}

void SetStringAttribute(ctx::Interaction& interaction, const std::string& key,
                        const std::string& value) {
  if (!value.empty()) (*interaction.mutable_attributes())[key].set_string_value(value);
}

}  // namespace

ctx::AppendInteractionRequest TimelineAppendFor(const v1::Notification& delivered) {
  ctx::AppendInteractionRequest request;
  if (!delivered.resolved_customer().empty()) {
    request.mutable_customer()->set_customer(delivered.resolved_customer());
  } else {
    *request.mutable_customer() = delivered.customer();
  }
  request.set_request_id(delivered.name());
  ctx::Interaction& interaction = *request.mutable_interaction();
  const Attempt* attempt = DeliveringAttempt(delivered);
  const type::Channel channel = attempt != nullptr ? attempt->channel() : delivered.channel();
  interaction.set_channel(channel);
  interaction.set_direction(ctx::Interaction::DIRECTION_OUTBOUND);
  interaction.set_type("notification");
  *interaction.mutable_occur_time() =
      attempt != nullptr ? attempt->attempt_time() : delivered.update_time();
  std::string summary =
      absl::StrCat("Notification ", delivered.template_(), " (version ",
                   delivered.template_version(), delivered.language_code().empty() ? "" : ", ",
                   delivered.language_code().empty() ? "" : "locale ", delivered.language_code(),
                   ") delivered by ", ChannelLabel(channel));
  if (attempt != nullptr && !attempt->provider().empty()) {
    absl::StrAppend(&summary, " through ", attempt->provider());
  }
  interaction.set_summary(summary.substr(0, 4096));
  SetStringAttribute(interaction, "notification", delivered.name());
  SetStringAttribute(interaction, "template", delivered.template_());
  (*interaction.mutable_attributes())["template_version"].set_number_value(
      static_cast<double>(delivered.template_version()));
  SetStringAttribute(
      interaction, "purpose",
      std::string(absl::StripPrefix(type::Purpose_Name(delivered.purpose()), "PURPOSE_")));
  if (attempt != nullptr) SetStringAttribute(interaction, "provider", attempt->provider());
  return request;
}

CustomerView CustomerView::Unanswered() {
  CustomerView view;
  view.answered = false;
  return view;
}

CustomerView CustomerView::FromContext(const ctx::CustomerContext& context) {
  CustomerView view;
  view.recipient.customer = context.customer();
  view.recipient.consent = context.consent();
  view.recipient.preferred_order = ChannelsOf(context.contact_preferences().channel_order());
  view.preferences = context.contact_preferences();
  return view;
}

CustomerView CustomerView::ForUnmatchedIdentity(const type::Identity& identity) {
  CustomerView view;
  *view.recipient.customer.add_identities()->mutable_identity() = identity;
  return view;
}

std::optional<CustomerView> CustomerView::FromAnswer(
    const absl::StatusOr<ctx::GetCustomerContextResponse>& answer, const type::CustomerRef& asked) {
  if (answer.ok()) return FromContext(answer->customer_context());
  if (absl::IsNotFound(answer.status()) && asked.has_identity()) {
    return ForUnmatchedIdentity(asked.identity());
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<NotifyCore>> NotifyCore::Create(const NotifyStore& store,
                                                               NotifyCoreOptions options) {
  ASSIGN_OR_RETURN(delivery::Backoff backoff,
                   delivery::Backoff::Create(options.backoff, options.backoff_random));
  return std::unique_ptr<NotifyCore>(new NotifyCore(store, std::move(options), std::move(backoff)));
}

NotifyCore::NotifyCore(const NotifyStore& store, NotifyCoreOptions options,
                       delivery::Backoff backoff)
    : store_(store),
      options_(std::move(options)),
      backoff_(std::move(backoff)),
      tokens_(MakeTokens(options_.page_token_key)) {}

void NotifyCore::SetChangeSink(ChangeSink sink) {
  absl::MutexLock lock(&sink_mu_);
  sink_ = std::move(sink);
}

std::optional<absl::Time> NotifyCore::OutboxDue(const v1::Notification& notification) const {
  if (IsPending(notification.state())) {
    return std::min(ToTime(notification.send_time()), ToTime(notification.expire_time()));
  }
  if (notification.state() == v1::Notification::STATE_SENDING) {
    return ToTime(notification.update_time()) +
           (AwaitsReceipt(notification) ? options_.receipt_timeout : options_.lease);
  }
  return std::nullopt;
}

void NotifyCore::Stage(const Tenant& tenant, const Change& change,
                       NotifyStore::Batch& batch) const {
  batch.PutNotification(tenant, change.after, change.before);
  // Delete before put: when both name the same row, it stays.
  if (change.before != nullptr) {
    if (std::optional<absl::Time> due = OutboxDue(*change.before)) {
      batch.DeleteOutbox(tenant, *due, change.before->name());
    }
  }
  if (std::optional<absl::Time> due = OutboxDue(change.after)) {
    batch.PutOutbox(tenant, *due, change.after.name());
  }
  // The template-use row lives while the notification is not terminal
  // (DeleteTemplate refuses meanwhile); a redrive brings it back.
  const bool was_active = change.before != nullptr && IsActive(change.before->state());
  const bool is_active = IsActive(change.after.state());
  if (was_active && !is_active) batch.DeleteTemplateUse(tenant, *change.before);
  if (is_active && !was_active) batch.PutTemplateUse(tenant, change.after);
  // DELIVERED is terminal: this is the one change that delivers it.
  if (options_.record_timeline && change.after.state() == v1::Notification::STATE_DELIVERED &&
      (change.before == nullptr || change.before->state() != v1::Notification::STATE_DELIVERED)) {
    batch.PutTimelineAppend(tenant, options_.clock(), change.after.name(),
                            TimelineAppendFor(change.after));
  }
}

absl::Status NotifyCore::CommitAndPublish(const Tenant& tenant, NotifyStore::Batch& batch,
                                          const std::vector<v1::Notification>& changed) {
  RETURN_IF_ERROR(store_.Commit(batch));
  absl::MutexLock lock(&sink_mu_);
  if (sink_) {
    for (const v1::Notification& notification : changed) sink_(tenant, notification);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Notification> NotifyCore::Load(const Tenant& tenant, const std::string& name,
                                                  absl::string_view field) const {
  RETURN_IF_ERROR(ParseResourceName(name, field, kNotificationsPrefix).status());
  ASSIGN_OR_RETURN(std::optional<v1::Notification> stored, store_.GetNotification(tenant, name));
  if (!stored) return absl::NotFoundError(absl::StrCat(field, ": ", name, " does not exist"));
  return *std::move(stored);
}

FrequencyPolicy NotifyCore::PolicyFor(const Tenant& tenant) const {
  auto it = options_.frequency_policies.find(tenant);
  return it == options_.frequency_policies.end() ? options_.default_frequency_policy : it->second;
}

absl::StatusOr<std::vector<absl::Time>> NotifyCore::RecentSends(const Tenant& tenant,
                                                                const std::string& customer,
                                                                type::Purpose purpose,
                                                                absl::Time until,
                                                                absl::Duration window) const {
  // A notification created long before may have been scheduled into the
  // window; older than that, none can count.
  const absl::Time oldest_creation = until - window - options_.max_schedule_ahead;
  std::vector<absl::Time> sends;
  RETURN_IF_ERROR(store_.ScanNotificationsNewestFirst(
      tenant, customer, "", kMaxCapScanRows,
      [&](const std::string&, const v1::Notification& notification) {
        if (ToTime(notification.create_time()) < oldest_creation) return false;
        // What reached or will reach the customer counts; what was
        // stopped (failed, cancelled, expired, replaced) does not.
        const v1::Notification::State state = notification.state();
        if (notification.purpose() == purpose &&
            (IsPending(state) || state == v1::Notification::STATE_SENDING ||
             state == v1::Notification::STATE_DELIVERED)) {
          sends.push_back(ToTime(notification.send_time()));
        }
        return true;
      }));
  return sends;
}

std::optional<absl::Time> NotifyCore::QuietHoursEnd(const CustomerView& customer,
                                                    const v1::Template& tmpl, type::Purpose purpose,
                                                    absl::Time at) const {
  if (!QuietHoursApply(purpose, tmpl.allow_quiet_hours_bypass())) return std::nullopt;
  const std::string& zone = customer.recipient.customer.time_zone().empty()
                                ? options_.default_time_zone
                                : customer.recipient.customer.time_zone();
  // A broken stored preference must not block the message: no quiet hours.
  absl::StatusOr<std::optional<schedule::WeeklySchedule>> quiet =
      QuietHours(customer.preferences, zone);
  if (!quiet.ok() || !quiet->has_value()) return std::nullopt;
  return QuietUntil(**quiet, at);
}

absl::Status NotifyCore::ApplySendWindow(const Tenant& tenant, const CustomerView& customer,
                                         const v1::Template& tmpl,
                                         v1::Notification& notification) const {
  absl::Time send_time = ToTime(notification.send_time());
  const type::Purpose purpose = notification.purpose();
  const FrequencyPolicy policy = PolicyFor(tenant);
  auto cap = policy.find(purpose);
  if (cap != policy.end() && !notification.resolved_customer().empty()) {
    ASSIGN_OR_RETURN(const std::vector<absl::Time> recent,
                     RecentSends(tenant, notification.resolved_customer(), purpose, send_time,
                                 cap->second.window));
    const CapDecision decision = CheckFrequencyCap(policy, purpose, recent, send_time);
    if (decision.kind == CapDecision::Kind::kDrop) {
      End(notification, v1::Notification::STATE_FAILED, "FREQUENCY_CAPPED");
      return absl::OkStatus();
    }
    if (decision.kind == CapDecision::Kind::kDefer) send_time = decision.defer_until;
  }
  // Caps first: a deferred send must still wait for the end of quiet hours.
  if (std::optional<absl::Time> until = QuietHoursEnd(customer, tmpl, purpose, send_time)) {
    send_time = *until;
    notification.set_state(v1::Notification::STATE_HELD_QUIET_HOURS);
  }
  *notification.mutable_send_time() = Ts(send_time);
  return absl::OkStatus();
}

absl::Status NotifyCore::SendNotification(const Tenant& tenant,
                                          const v1::SendNotificationRequest& request,
                                          const CustomerView& customer,
                                          v1::SendNotificationResponse& response) {
  ASSIGN_OR_RETURN(*response.mutable_notification(), AcceptSend(tenant, request, customer, ""));
  return absl::OkStatus();
}

absl::StatusOr<v1::Notification> NotifyCore::SendTriggered(
    const Tenant& tenant, const v1::SendNotificationRequest& request, const CustomerView& customer,
    const std::string& trigger_rule) {
  return AcceptSend(tenant, request, customer, trigger_rule);
}

absl::Status NotifyCore::BatchSendNotifications(const Tenant& tenant,
                                                const v1::BatchSendNotificationsRequest& request,
                                                const std::vector<CustomerView>& customers,
                                                v1::BatchSendNotificationsResponse& response) {
  if (request.requests().empty()) return InvalidField("requests", "must not be empty");
  if (request.requests_size() > kMaxBatchSends) {
    return InvalidField("requests", absl::StrCat("must be at most ", kMaxBatchSends, " (got ",
                                                 request.requests_size(), ")"));
  }
  if (customers.size() != static_cast<size_t>(request.requests_size())) {
    return absl::InvalidArgumentError(absl::StrCat("customers: ", customers.size(), " views for ",
                                                   request.requests_size(), " requests"));
  }
  for (int i = 0; i < request.requests_size(); ++i) {
    v1::SendNotificationOutcome& outcome = *response.add_outcomes();
    absl::StatusOr<v1::Notification> sent =
        AcceptSend(tenant, request.requests(i), customers[i], "");
    if (sent.ok()) {
      *outcome.mutable_notification() = *std::move(sent);
    } else {
      outcome.set_code(static_cast<int>(sent.status().code()));
      outcome.set_message(std::string(sent.status().message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Notification> NotifyCore::AcceptSend(const Tenant& tenant,
                                                        const v1::SendNotificationRequest& request,
                                                        const CustomerView& customer,
                                                        const std::string& trigger_rule) {
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(
      const ValidatedSend valid,
      ValidateSendRequest(request, now, options_.max_schedule_ahead, options_.default_lifetime));
  // Without an answer from context_service a customer named directly is
  // still known by name.
  const std::string resolved_customer =
      customer.answered ? customer.recipient.customer.name()
                        : (request.customer().has_identity() ? "" : request.customer().customer());
  const std::string recipient_key = RecipientKey(request.customer(), resolved_customer);
  const std::string replace_key =
      request.replace_key().empty() ? "" : absl::StrCat(recipient_key, "\n", request.replace_key());

  for (;;) {
    // The notification a replace key names is changed too, so it is locked
    // with the rest: read it first, lock, and start over if it moved.
    std::optional<std::string> replaced_name;
    if (!replace_key.empty()) {
      ASSIGN_OR_RETURN(replaced_name, store_.FindByReplaceKey(tenant, replace_key));
    }
    std::vector<std::string> lock_keys = {absl::StrCat("recipient:", recipient_key)};
    if (!request.idempotency_key().empty()) {
      lock_keys.push_back(absl::StrCat("idempotency:", request.idempotency_key()));
    }
    if (replaced_name) lock_keys.push_back(*replaced_name);
    store::ScopedStripeLock lock(locks_, lock_keys);
    if (!replace_key.empty()) {
      ASSIGN_OR_RETURN(std::optional<std::string> current,
                       store_.FindByReplaceKey(tenant, replace_key));
      if (current != replaced_name) continue;
    }

    if (!request.idempotency_key().empty()) {
      ASSIGN_OR_RETURN(std::optional<std::string> first,
                       store_.FindByIdempotencyKey(tenant, request.idempotency_key()));
      if (first) {
        ASSIGN_OR_RETURN(std::optional<v1::Notification> earlier,
                         store_.GetNotification(tenant, *first));
        if (earlier && ToTime(earlier->create_time()) + options_.idempotency_key_ttl > now) {
          return *std::move(earlier);
        }
      }
    }

    ASSIGN_OR_RETURN(std::optional<v1::Template> tmpl,
                     store_.GetTemplate(tenant, valid.template_name, request.template_version()));
    if (!tmpl) {
      if (request.template_version() == 0) {
        return absl::NotFoundError(
            absl::StrCat("template: ", valid.template_name, " does not exist"));
      }
      return absl::NotFoundError(absl::StrCat("template_version: ", valid.template_name,
                                              " has no version ", request.template_version()));
    }
    const std::string language = customer.answered ? LanguageOf(customer) : "";
    auto has_content = [&](type::Channel channel) {
      return ChooseTemplateLocale(*tmpl, channel, language) != nullptr;
    };
    // Unanswered, the customer's preferences are unknown: the order is
    // settled at delivery unless the request gives one.
    const std::vector<type::Channel> order = EffectiveChannelOrder(
        valid.channel_order, customer.answered ? customer.recipient : Recipient(), has_content);
    // Every channel that may carry it now must render, so a fallback does
    // not fail later for a variable the caller could give now. Channels
    // without consent or address are left out: their variables (say the
    // customer's name on email, for a phone number that matched nobody)
    // cannot be asked for; if one becomes usable and does not render, the
    // delivery skips it.
    std::vector<type::Channel> must_render = order;
    if (customer.answered) {
      const ChannelPlan plan =
          PlanChannels(order, request.purpose(), customer.recipient, has_content);
      if (plan.usable.empty()) return FailedPrecondition("customer", NoChannelMessage(plan));
      must_render.clear();
      for (const PlannedChannel& usable : plan.usable) must_render.push_back(usable.channel);
    }
    BuiltinValues builtins = BuiltinsOf(customer);
    // Unanswered, the display name is not known yet: judged at delivery.
    if (!customer.answered) builtins.customer_display_name = "";
    RETURN_IF_ERROR(CheckTemplateVariables(*tmpl, must_render, language,
                                           VariablesOf(request.variables()), builtins));

    v1::Notification notification;
    notification.set_name(absl::StrCat(kNotificationsPrefix, cxp::validation::NewResourceId()));
    *notification.mutable_customer() = request.customer();
    notification.set_resolved_customer(resolved_customer);
    notification.set_template_(valid.template_name);
    notification.set_template_version(tmpl->version());
    *notification.mutable_variables() = request.variables();
    notification.set_purpose(request.purpose());
    if (customer.answered || !valid.channel_order.empty()) {
      for (type::Channel channel : order) notification.add_channel_order(channel);
    }
    *notification.mutable_send_time() = Ts(valid.send_time);
    *notification.mutable_expire_time() = Ts(valid.expire_time);
    notification.set_idempotency_key(request.idempotency_key());
    notification.set_replace_key(request.replace_key());
    notification.set_trigger_rule(trigger_rule);
    *notification.mutable_create_time() = Ts(now);
    *notification.mutable_update_time() = Ts(now);
    if (customer.answered) {
      RETURN_IF_ERROR(ApplySendWindow(tenant, customer, *tmpl, notification));
    }
    if (notification.state() == v1::Notification::STATE_UNSPECIFIED) {
      notification.set_state(ToTime(notification.send_time()) > now
                                 ? v1::Notification::STATE_SCHEDULED
                                 : v1::Notification::STATE_QUEUED);
    }

    NotifyStore::Batch batch = store_.NewBatch();
    std::vector<v1::Notification> changed;
    Stage(tenant, {nullptr, notification}, batch);
    if (!request.idempotency_key().empty()) {
      batch.PutIdempotencyKey(tenant, request.idempotency_key(), notification.name());
    }
    std::optional<v1::Notification> replaced;
    if (replaced_name && IsPending(notification.state())) {
      ASSIGN_OR_RETURN(replaced, store_.GetNotification(tenant, *replaced_name));
    }
    if (replaced && IsPending(replaced->state())) {
      v1::Notification after = *replaced;
      End(after, v1::Notification::STATE_REPLACED,
          absl::StrCat("REPLACED_BY:", notification.name()));
      *after.mutable_update_time() = Ts(now);
      Stage(tenant, {&*replaced, after}, batch);
      changed.push_back(std::move(after));
    }
    if (!replace_key.empty() && IsPending(notification.state())) {
      batch.PutReplaceKey(tenant, replace_key, notification.name());
    }
    changed.push_back(notification);
    RETURN_IF_ERROR(CommitAndPublish(tenant, batch, changed));
    return notification;
  }
}

absl::Status NotifyCore::GetNotification(const Tenant& tenant,
                                         const v1::GetNotificationRequest& request,
                                         v1::GetNotificationResponse& response) {
  ASSIGN_OR_RETURN(*response.mutable_notification(), Load(tenant, request.name(), "name"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> NotifyCore::ResumeKey(const std::string& page_token,
                                                  const std::string& fingerprint) const {
  if (page_token.empty()) return std::string();
  ASSIGN_OR_RETURN(paging::PageCursor cursor,
                   tokens_.Decode(page_token, fingerprint, options_.clock()));
  return cursor.resume_key;
}

std::string NotifyCore::NextPageToken(const std::string& fingerprint,
                                      const std::string& last_key) const {
  return tokens_.Encode({.request_fingerprint = fingerprint,
                         .resume_key = last_key,
                         .create_time = options_.clock()});
}

absl::Status NotifyCore::ListPage(const Tenant& tenant, ListIndex index, int32_t page_size,
                                  const std::string& filter_text, const std::string& page_token,
                                  google::protobuf::RepeatedPtrField<v1::Notification>& out,
                                  std::string& next_page_token) const {
  ASSIGN_OR_RETURN(const int max_results, paging::EffectivePageSize(page_size));
  ASSIGN_OR_RETURN(const filter::Filter filter,
                   filter::ParseFilter(filter_text, NotificationFilterSchema()));
  const std::string fingerprint = paging::RequestFingerprint(
      {index == ListIndex::kNewestFirst ? "ListNotifications" : "ListDeadLetters", tenant,
       filter.CanonicalText()});
  ASSIGN_OR_RETURN(const std::string resume_key, ResumeKey(page_token, fingerprint));
  const NotificationScanBounds bounds =
      index == ListIndex::kNewestFirst ? ScanBoundsOf(filter) : NotificationScanBounds();
  // Newest first: below the lower bound of create_time nothing matches.
  const absl::Time oldest = bounds.created_at_or_after.value_or(absl::InfinitePast());
  std::string last_key;
  size_t scanned = 0;
  bool more = false;
  auto visit = [&](const std::string& key, const v1::Notification& notification) {
    if (ToTime(notification.create_time()) < oldest) return false;
    if (out.size() == max_results || scanned == kMaxScannedRows) {
      more = true;
      return false;
    }
    ++scanned;
    last_key = key;
    if (filter.Matches(NotificationFieldResolver(notification))) *out.Add() = notification;
    return true;
  };
  if (index == ListIndex::kNewestFirst) {
    RETURN_IF_ERROR(store_.ScanNotificationsNewestFirst(tenant, bounds.customer, resume_key,
                                                        kMaxScannedRows + 1, visit));
  } else {
    RETURN_IF_ERROR(store_.ScanDeadLetters(tenant, resume_key, kMaxScannedRows + 1, visit));
  }
  if (more) next_page_token = NextPageToken(fingerprint, last_key);
  return absl::OkStatus();
}

absl::Status NotifyCore::ListNotifications(const Tenant& tenant,
                                           const v1::ListNotificationsRequest& request,
                                           v1::ListNotificationsResponse& response) {
  return ListPage(tenant, ListIndex::kNewestFirst, request.page_size(), request.filter(),
                  request.page_token(), *response.mutable_notifications(),
                  *response.mutable_next_page_token());
}

absl::Status NotifyCore::ListDeadLetters(const Tenant& tenant,
                                         const v1::ListDeadLettersRequest& request,
                                         v1::ListDeadLettersResponse& response) {
  return ListPage(tenant, ListIndex::kDeadLetters, request.page_size(), request.filter(),
                  request.page_token(), *response.mutable_notifications(),
                  *response.mutable_next_page_token());
}

absl::Status NotifyCore::CancelNotification(const Tenant& tenant,
                                            const v1::CancelNotificationRequest& request,
                                            v1::CancelNotificationResponse& response) {
  RETURN_IF_ERROR(ParseResourceName(request.name(), "name", kNotificationsPrefix).status());
  store::ScopedStripeLock lock(locks_, {request.name()});
  ASSIGN_OR_RETURN(const v1::Notification stored, Load(tenant, request.name(), "name"));
  if (!IsPending(stored.state())) {
    return FailedPrecondition(request.name(),
                              absl::StrCat("is ", StateLabel(stored.state()),
                                           "; only SCHEDULED, HELD_QUIET_HOURS or QUEUED "
                                           "notifications can be cancelled"));
  }
  v1::Notification after = stored;
  End(after, v1::Notification::STATE_CANCELLED, "CANCELLED_BY_CALLER");
  *after.mutable_update_time() = Ts(options_.clock());
  NotifyStore::Batch batch = store_.NewBatch();
  Stage(tenant, {&stored, after}, batch);
  RETURN_IF_ERROR(CommitAndPublish(tenant, batch, {after}));
  *response.mutable_notification() = std::move(after);
  return absl::OkStatus();
}

absl::Status NotifyCore::RedriveNotification(const Tenant& tenant,
                                             const v1::RedriveNotificationRequest& request,
                                             v1::RedriveNotificationResponse& response) {
  RETURN_IF_ERROR(ParseResourceName(request.name(), "name", kNotificationsPrefix).status());
  ASSIGN_OR_RETURN(const std::vector<type::Channel> order,
                   ValidateChannelOrder(request.channel_order(), "channel_order"));
  const absl::Time now = options_.clock();
  if (request.has_expire_time()) {
    RETURN_IF_ERROR(cxp::validation::ValidateTimestamp(request.expire_time(), "expire_time"));
    if (ToTime(request.expire_time()) <= now) {
      return InvalidField("expire_time", "must be in the future");
    }
  }
  store::ScopedStripeLock lock(locks_, {request.name()});
  ASSIGN_OR_RETURN(const v1::Notification stored, Load(tenant, request.name(), "name"));
  if (stored.state() != v1::Notification::STATE_DEAD_LETTERED &&
      stored.state() != v1::Notification::STATE_FAILED) {
    return FailedPrecondition(request.name(),
                              absl::StrCat("is ", StateLabel(stored.state()),
                                           "; only DEAD_LETTERED or FAILED notifications can be "
                                           "redriven"));
  }
  if (!request.has_expire_time() && ToTime(stored.expire_time()) <= now) {
    return FailedPrecondition(request.name(),
                              "its expire_time has passed; give a new expire_time to redrive it");
  }
  v1::Notification after = stored;
  after.set_state(v1::Notification::STATE_QUEUED);
  after.clear_state_reason();
  if (!order.empty()) {
    after.clear_channel_order();
    for (type::Channel channel : order) after.add_channel_order(channel);
  }
  if (request.has_expire_time()) *after.mutable_expire_time() = request.expire_time();
  *after.mutable_send_time() = Ts(now);
  *after.mutable_update_time() = Ts(now);
  *after.add_attempts() = SkippedAttempt(type::CHANNEL_UNSPECIFIED, kRedrivenCode,
                                         "redriven: retries start afresh", now);
  NotifyStore::Batch batch = store_.NewBatch();
  Stage(tenant, {&stored, after}, batch);
  RETURN_IF_ERROR(CommitAndPublish(tenant, batch, {after}));
  *response.mutable_notification() = std::move(after);
  return absl::OkStatus();
}

absl::Status NotifyCore::ReportDeliveryStatus(const Tenant& tenant,
                                              const v1::ReportDeliveryStatusRequest& request,
                                              v1::ReportDeliveryStatusResponse& response) {
  RETURN_IF_ERROR(
      cxp::validation::ValidateText(request.provider(), "provider", 1, kMaxProviderChars));
  RETURN_IF_ERROR(cxp::validation::ValidateText(
      request.provider_message_id(), "provider_message_id", 1, kMaxProviderMessageIdChars));
  if (request.result() != Attempt::RESULT_DELIVERED &&
      request.result() != Attempt::RESULT_TEMPORARY_FAILURE &&
      request.result() != Attempt::RESULT_PERMANENT_FAILURE) {
    return InvalidField("result", "must be DELIVERED, TEMPORARY_FAILURE or PERMANENT_FAILURE");
  }
  const absl::Time now = options_.clock();
  absl::Time event_time = now;
  if (request.has_event_time()) {
    RETURN_IF_ERROR(cxp::validation::ValidateTimestamp(request.event_time(), "event_time"));
    event_time = ToTime(request.event_time());
  }
  std::string name = request.notification();
  if (!name.empty()) {
    RETURN_IF_ERROR(ParseResourceName(name, "notification", kNotificationsPrefix).status());
  } else {
    ASSIGN_OR_RETURN(
        std::optional<std::string> found,
        store_.FindByProviderMessageId(tenant, request.provider(), request.provider_message_id()));
    name = found.value_or("");
  }
  auto no_attempt = [&] {
    return absl::NotFoundError(absl::StrCat("provider_message_id: no attempt of provider ",
                                            cxp::validation::QuoteForMessage(request.provider()),
                                            " has that id"));
  };
  if (name.empty()) return no_attempt();
  store::ScopedStripeLock lock(locks_, {name});
  ASSIGN_OR_RETURN(std::optional<v1::Notification> stored, store_.GetNotification(tenant, name));
  if (!stored) return no_attempt();
  int index = -1;
  for (int i = stored->attempts_size() - 1; i >= 0 && index < 0; --i) {
    const Attempt& attempt = stored->attempts(i);
    if (attempt.provider() == request.provider() &&
        attempt.provider_message_id() == request.provider_message_id()) {
      index = i;
    }
  }
  if (index < 0) return no_attempt();
  const Attempt& attempt = stored->attempts(index);
  // Receipts arrive out of order and more than once: an older one, or one
  // that changes nothing, is acknowledged and ignored.
  if (event_time < ToTime(attempt.result_time()) || attempt.result() == request.result()) {
    *response.mutable_notification() = *std::move(stored);
    return absl::OkStatus();
  }
  v1::Notification after = *stored;
  Attempt& updated = *after.mutable_attempts(index);
  updated.set_result(request.result());
  updated.set_error_code(request.error_code());
  updated.set_error_message(request.error_message());
  *updated.mutable_result_time() = Ts(event_time);
  // A late receipt for an earlier attempt of a notification leased for the
  // next one leaves update_time alone: it is the lease's claim token, and
  // the attempt in flight must still be recorded.
  const bool leased = stored->state() == v1::Notification::STATE_SENDING && !AwaitsReceipt(*stored);
  if (!leased) *after.mutable_update_time() = Ts(now);
  // Only the attempt a SENDING notification waits for decides what follows;
  // a late receipt of an earlier attempt is history.
  if (AwaitsReceipt(*stored) && index == stored->attempts_size() - 1) {
    const v1::Notification run = CurrentRun(after);
    std::optional<absl::Time> retry_at;
    if (request.result() == Attempt::RESULT_TEMPORARY_FAILURE) {
      const delivery::RetryDecision decision = backoff_.Decide(
          AttemptsOn(run, updated.channel()), FirstCountedAttempt(run).value_or(now), now);
      if (!decision.dead_letter) retry_at = decision.next_attempt_at;
    }
    const std::vector<type::Channel> order = ChannelsOf(after.channel_order());
    auto at = std::find(order.begin(), order.end(), updated.channel());
    const bool has_next = at != order.end() && at + 1 != order.end();
    const NextStep step = AfterAttempt(run, request.result(),
                                       /*provider_sends_receipts=*/true, has_next, retry_at);
    if (ApplyStep(step, after)) {
      // The dispatcher picks the next channel with the customer's current
      // consent.
      after.set_state(v1::Notification::STATE_QUEUED);
      *after.mutable_send_time() = Ts(now);
    }
  }
  NotifyStore::Batch batch = store_.NewBatch();
  Stage(tenant, {&*stored, after}, batch);
  RETURN_IF_ERROR(CommitAndPublish(tenant, batch, {after}));
  *response.mutable_notification() = std::move(after);
  return absl::OkStatus();
}

absl::StatusOr<size_t> NotifyCore::PurgeTerminalBefore(const Tenant& tenant, absl::Time cutoff,
                                                       size_t max_rows, std::string& resume_key) {
  // A DELIVERED notification waits for its timeline append.
  const std::vector<std::string> appending_ids = store_.TimelineAppendIds(tenant);
  const absl::flat_hash_set<std::string> appending(appending_ids.begin(), appending_ids.end());
  auto purgeable = [&](const v1::Notification& notification) {
    return IsTerminal(notification.state()) && ToTime(notification.update_time()) < cutoff &&
           !appending.contains(std::string(ResourceIdOf(notification.name())));
  };
  // update_time >= create_time: what may go was created before the cutoff.
  std::vector<v1::Notification> candidates;
  size_t examined = 0;
  std::string last_key;
  RETURN_IF_ERROR(store_.ScanNotificationsCreatedBefore(
      tenant, cutoff, resume_key, max_rows,
      [&](const std::string& key, const v1::Notification& notification) {
        ++examined;
        last_key = key;
        if (purgeable(notification)) candidates.push_back(notification);
        return true;
      }));
  resume_key = examined < max_rows ? "" : last_key;
  if (candidates.empty()) return 0;

  // The locks of whatever may change these rows: the notification (redrive,
  // receipts), its idempotency key and its recipient's replace keys (sends).
  std::vector<std::string> lock_keys;
  for (const v1::Notification& candidate : candidates) {
    lock_keys.push_back(candidate.name());
    if (!candidate.idempotency_key().empty()) {
      lock_keys.push_back(absl::StrCat("idempotency:", candidate.idempotency_key()));
    }
    if (!candidate.replace_key().empty()) {
      lock_keys.push_back(absl::StrCat(
          "recipient:", RecipientKey(candidate.customer(), candidate.resolved_customer())));
    }
  }
  store::ScopedStripeLock lock(locks_, lock_keys);
  NotifyStore::Batch batch = store_.NewBatch();
  size_t purged = 0;
  for (const v1::Notification& candidate : candidates) {
    ASSIGN_OR_RETURN(std::optional<v1::Notification> stored,
                     store_.GetNotification(tenant, candidate.name()));
    if (!stored || !purgeable(*stored)) continue;  // changed since the scan (a redrive)
    const std::string& name = stored->name();
    batch.DeleteNotification(tenant, *stored);
    // The lookup rows go only while they still name this notification: a
    // later send may have taken the key over.
    if (const std::string& key = stored->idempotency_key(); !key.empty()) {
      ASSIGN_OR_RETURN(std::optional<std::string> named, store_.FindByIdempotencyKey(tenant, key));
      if (named == name) batch.DeleteIdempotencyKey(tenant, key);
    }
    if (!stored->replace_key().empty()) {
      const std::string key =
          absl::StrCat(RecipientKey(stored->customer(), stored->resolved_customer()), "\n",
                       stored->replace_key());
      ASSIGN_OR_RETURN(std::optional<std::string> named, store_.FindByReplaceKey(tenant, key));
      if (named == name) batch.DeleteReplaceKey(tenant, key);
    }
    absl::flat_hash_set<std::pair<std::string, std::string>> seen;
    for (const Attempt& attempt : stored->attempts()) {
      if (attempt.provider().empty() || attempt.provider_message_id().empty()) continue;
      if (!seen.emplace(attempt.provider(), attempt.provider_message_id()).second) continue;
      ASSIGN_OR_RETURN(std::optional<std::string> named,
                       store_.FindByProviderMessageId(tenant, attempt.provider(),
                                                      attempt.provider_message_id()));
      if (named == name) {
        batch.DeleteProviderMessageId(tenant, attempt.provider(), attempt.provider_message_id());
      }
    }
    ++purged;
  }
  RETURN_IF_ERROR(store_.Commit(batch));
  return purged;
}

absl::StatusOr<size_t> NotifyCore::IndexTemplateUses() {
  constexpr size_t kBatchRows = 1000;
  size_t written = 0;
  for (const std::string& tenant : store_.TenantsWithDueWork()) {
    ASSIGN_OR_RETURN(const bool indexed, store_.TemplateUsesIndexed(tenant));
    if (indexed) continue;
    // Every notification not yet terminal has an outbox row.
    ASSIGN_OR_RETURN(
        const std::vector<NotifyStore::DueWork> rows,
        store_.ScanDue(tenant, absl::InfiniteFuture(), std::numeric_limits<size_t>::max()));
    for (size_t start = 0; start == 0 || start < rows.size(); start += kBatchRows) {
      std::vector<std::string> names;
      for (size_t i = start; i < std::min(rows.size(), start + kBatchRows); ++i) {
        names.push_back(rows[i].notification_name);
      }
      store::ScopedStripeLock lock(locks_, names);
      NotifyStore::Batch batch = store_.NewBatch();
      for (const std::string& name : names) {
        ASSIGN_OR_RETURN(std::optional<v1::Notification> stored,
                         store_.GetNotification(tenant, name));
        if (!stored || !IsActive(stored->state())) continue;  // a stale row
        batch.PutTemplateUse(tenant, *stored);
        ++written;
      }
      if (start + kBatchRows >= rows.size()) batch.MarkTemplateUsesIndexed(tenant);
      RETURN_IF_ERROR(store_.Commit(batch));
    }
  }
  return written;
}

absl::StatusOr<std::vector<Claim>> NotifyCore::ClaimDue(const Tenant& tenant, size_t max) {
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(const std::vector<NotifyStore::DueWork> due, store_.ScanDue(tenant, now, max));
  if (due.empty()) return std::vector<Claim>();
  std::vector<std::string> names;
  for (const NotifyStore::DueWork& work : due) names.push_back(work.notification_name);
  store::ScopedStripeLock lock(locks_, names);
  NotifyStore::Batch batch = store_.NewBatch();
  std::vector<v1::Notification> changed;
  std::vector<Claim> claims;
  absl::flat_hash_set<std::string> seen;
  for (const NotifyStore::DueWork& work : due) {
    // The row is used up; Stage puts the notification's next one.
    batch.DeleteOutbox(tenant, work.due, work.notification_name);
    if (!seen.insert(work.notification_name).second) continue;
    ASSIGN_OR_RETURN(std::optional<v1::Notification> stored,
                     store_.GetNotification(tenant, work.notification_name));
    if (!stored) continue;
    const std::optional<absl::Time> stored_due = OutboxDue(*stored);
    if (!stored_due) continue;  // settled since: the row was stale
    if (*stored_due > now) {
      // A stale row ahead of the notification's own: keep the right one.
      batch.PutOutbox(tenant, *stored_due, stored->name());
      continue;
    }
    v1::Notification after = *stored;
    *after.mutable_update_time() = Ts(now);
    const bool expired = now >= ToTime(stored->expire_time());
    if (AwaitsReceipt(*stored)) {
      // The provider accepted it and never reported back: count it as
      // delivered, as for providers without receipts.
      after.set_state(v1::Notification::STATE_DELIVERED);
    } else if (expired) {
      // Pending, or leased by a dispatcher that never reported (crashed).
      End(after, v1::Notification::STATE_EXPIRED, "");
    } else {
      after.set_state(v1::Notification::STATE_SENDING);
      claims.push_back({after, now + options_.lease});
    }
    Stage(tenant, {&*stored, after}, batch);
    changed.push_back(std::move(after));
  }
  RETURN_IF_ERROR(CommitAndPublish(tenant, batch, changed));
  return claims;
}

absl::StatusOr<DeliveryOrder> NotifyCore::BeginAttempt(const Tenant& tenant, const Claim& claim,
                                                       const CustomerView& customer) {
  const std::string& name = claim.notification.name();
  store::ScopedStripeLock lock(locks_, {name});
  ASSIGN_OR_RETURN(const v1::Notification stored, Load(tenant, name, "name"));
  if (stored.state() != v1::Notification::STATE_SENDING || AwaitsReceipt(stored) ||
      ToTime(stored.update_time()) != ToTime(claim.notification.update_time())) {
    return LostClaim(name);
  }
  NotifyStore::Batch batch = store_.NewBatch();
  std::vector<v1::Notification> changed;
  ASSIGN_OR_RETURN(DeliveryOrder order,
                   PlanDelivery(tenant, stored, customer, std::nullopt, batch, changed));
  RETURN_IF_ERROR(CommitAndPublish(tenant, batch, changed));
  return order;
}

absl::StatusOr<DeliveryOrder> NotifyCore::PlanDelivery(const Tenant& tenant,
                                                       const v1::Notification& stored,
                                                       const CustomerView& customer,
                                                       std::optional<size_t> start,
                                                       NotifyStore::Batch& batch,
                                                       std::vector<v1::Notification>& changed) {
  const absl::Time now = options_.clock();
  DeliveryOrder order;
  order.claimed_at = ToTime(stored.update_time());
  auto settle = [&](v1::Notification after) {
    *after.mutable_update_time() = Ts(now);
    Stage(tenant, {&stored, after}, batch);
    changed.push_back(after);
    order.send = false;
    order.notification = std::move(after);
    return order;
  };
  if (!customer.answered) {
    // Consent cannot be judged: wait for context_service, without counting
    // an attempt.
    v1::Notification after = stored;
    after.set_state(v1::Notification::STATE_QUEUED);
    *after.mutable_send_time() = Ts(now + options_.context_retry_delay);
    return settle(std::move(after));
  }
  ASSIGN_OR_RETURN(std::optional<v1::Template> tmpl,
                   store_.GetTemplate(tenant, stored.template_(), stored.template_version()));
  if (!tmpl) {
    v1::Notification after = stored;
    End(after, v1::Notification::STATE_FAILED, "NO_TEMPLATE_CONTENT");
    return settle(std::move(after));
  }
  if (std::optional<absl::Time> until = QuietHoursEnd(customer, *tmpl, stored.purpose(), now)) {
    v1::Notification after = stored;
    after.set_state(v1::Notification::STATE_HELD_QUIET_HOURS);
    *after.mutable_send_time() = Ts(*until);
    return settle(std::move(after));
  }
  const std::string language = LanguageOf(customer);
  auto has_content = [&](type::Channel channel) {
    return ChooseTemplateLocale(*tmpl, channel, language) != nullptr;
  };
  std::vector<type::Channel> channels = ChannelsOf(stored.channel_order());
  if (channels.empty()) channels = EffectiveChannelOrder({}, customer.recipient, has_content);

  const v1::Notification run = CurrentRun(stored);
  if (!start) {
    // Where the history says to go on: the channel of the latest entry
    // again after a temporary failure with retries left, else the one
    // after it; from the top when there is none or the order changed.
    start = 0;
    if (!run.attempts().empty()) {
      const Attempt& latest = *run.attempts().rbegin();
      auto at = std::find(channels.begin(), channels.end(), latest.channel());
      if (at != channels.end()) {
        const bool retries_left =
            AttemptsOn(run, latest.channel()) < backoff_.policy().max_attempts &&
            now <= FirstCountedAttempt(run).value_or(now) + backoff_.policy().max_age;
        const bool again = latest.result() == Attempt::RESULT_TEMPORARY_FAILURE && retries_left;
        start = (at - channels.begin()) + (again ? 0 : 1);
      }
    }
  }

  v1::Notification with_order = stored;
  if (stored.channel_order().empty()) {
    for (type::Channel channel : channels) with_order.add_channel_order(channel);
  }
  const TemplateVariables variables = VariablesOf(stored.variables());
  const BuiltinValues builtins = BuiltinsOf(customer);
  for (size_t i = *start; i < channels.size(); ++i) {
    const ChannelPlan plan =
        PlanChannels({channels[i]}, stored.purpose(), customer.recipient, has_content);
    if (plan.usable.empty()) {
      const SkippedChannel& skip = plan.skipped.front();
      order.skipped.push_back(SkippedAttempt(skip.channel, skip.code, skip.detail, now));
      continue;
    }
    absl::StatusOr<RenderedContent> content =
        RenderTemplate(*tmpl, channels[i], language, variables, builtins);
    if (!content.ok()) {
      order.skipped.push_back(
          SkippedAttempt(channels[i], "NO_CONTENT", content.status().message(), now));
      continue;
    }
    order.send = true;
    order.notification = std::move(with_order);
    order.target = plan.usable.front();
    order.content = *std::move(content);
    return order;
  }
  // Nothing left to try: the end, with the channels passed over in the
  // history.
  v1::Notification after = std::move(with_order);
  for (const Attempt& skipped : order.skipped) *after.add_attempts() = skipped;
  if (FirstCountedAttempt(run)) {
    const NextStep step = NoChannelLeft(CurrentRun(after));
    End(after, step.end_state, step.end_reason);
  } else {
    End(after, v1::Notification::STATE_FAILED, NoChannelReason(order.skipped));
  }
  order.skipped.clear();
  return settle(std::move(after));
}

absl::StatusOr<DeliveryOrder> NotifyCore::RecordAttempt(const Tenant& tenant,
                                                        const DeliveryOrder& order,
                                                        const AttemptReport& report,
                                                        const CustomerView& customer) {
  const std::string& name = order.notification.name();
  if (!order.send) return absl::InvalidArgumentError("order: has nothing to send");
  store::ScopedStripeLock lock(locks_, {name});
  ASSIGN_OR_RETURN(const v1::Notification stored, Load(tenant, name, "name"));
  if (stored.state() != v1::Notification::STATE_SENDING || AwaitsReceipt(stored) ||
      ToTime(stored.update_time()) != order.claimed_at) {
    return LostClaim(name);
  }
  const absl::Time now = options_.clock();
  v1::Notification after = stored;
  if (after.channel_order().empty())
    *after.mutable_channel_order() = order.notification.channel_order();
  for (const Attempt& skipped : order.skipped) *after.add_attempts() = skipped;
  const type::Channel channel = order.target.channel;
  const Attempt::Result result = AttemptResultOf(report.result);
  Attempt& attempt = *after.add_attempts();
  *attempt.mutable_attempt_time() = Ts(now);
  *attempt.mutable_result_time() = Ts(now);
  attempt.set_channel(channel);
  attempt.set_provider(report.provider);
  attempt.set_provider_message_id(report.result.provider_message_id);
  attempt.set_result(result);
  if (!report.result.delivered()) attempt.set_error_message(report.result.detail);
  after.set_channel(channel);
  after.set_language_code(order.content.language_code);
  *after.mutable_update_time() = Ts(now);

  NotifyStore::Batch batch = store_.NewBatch();
  if (!report.result.provider_message_id.empty() && !report.provider.empty()) {
    batch.PutProviderMessageId(tenant, report.provider, report.result.provider_message_id, name);
  }
  const v1::Notification run = CurrentRun(after);
  std::optional<absl::Time> retry_at;
  if (report.result.transient()) {
    const delivery::RetryDecision decision =
        backoff_.Decide(AttemptsOn(run, channel), FirstCountedAttempt(run).value_or(now), now,
                        report.result.retry_after);
    if (decision.dead_letter) {
      attempt.set_error_message(absl::StrCat(attempt.error_message(), "; ", decision.reason));
    } else {
      retry_at = decision.next_attempt_at;
    }
  }
  const std::vector<type::Channel> channels = ChannelsOf(after.channel_order());
  const size_t index = std::find(channels.begin(), channels.end(), channel) - channels.begin();
  const bool has_next = index + 1 < channels.size();
  const NextStep step =
      AfterAttempt(run, result, report.provider_sends_receipts, has_next, retry_at);
  const bool next_channel = ApplyStep(step, after);  // then below, under the same claim
  Stage(tenant, {&stored, after}, batch);
  std::vector<v1::Notification> changed = {after};
  DeliveryOrder next;
  next.notification = after;
  if (next_channel) {
    ASSIGN_OR_RETURN(next, PlanDelivery(tenant, after, customer, index + 1, batch, changed));
  }
  RETURN_IF_ERROR(CommitAndPublish(tenant, batch, changed));
  return next;
}

absl::StatusOr<std::vector<TimelineClaim>> NotifyCore::ClaimTimelineAppends(const Tenant& tenant,
                                                                            size_t max,
                                                                            absl::Duration lease) {
  absl::MutexLock lock(&timeline_mu_);
  const absl::Time now = options_.clock();
  absl::flat_hash_map<std::string, absl::Time>& leases = timeline_leases_[tenant];
  absl::erase_if(leases, [now](const auto& entry) { return entry.second <= now; });
  ASSIGN_OR_RETURN(std::vector<NotifyStore::TimelineWork> due,
                   store_.ScanTimelineDue(tenant, now, max, [&leases](const std::string& name) {
                     return leases.contains(name);
                   }));
  std::vector<TimelineClaim> claims;
  for (NotifyStore::TimelineWork& work : due) {
    leases[work.notification_name] = now + lease;
    claims.push_back(
        {std::move(work.notification_name), std::move(work.request), work.due, now + lease});
  }
  return claims;
}

absl::Status NotifyCore::FinishTimelineAppend(const Tenant& tenant, const TimelineClaim& claim) {
  return FinishTimelineAppends(tenant, {&claim});
}

void NotifyCore::EndTimelineLease(const Tenant& tenant, const TimelineClaim& claim) {
  auto at = timeline_leases_.find(tenant);
  if (at == timeline_leases_.end()) return;
  // Only the claim's own lease: a later claim of the row holds another.
  auto held = at->second.find(claim.notification_name);
  if (held != at->second.end() && held->second == claim.lease_until) at->second.erase(held);
}

absl::Status NotifyCore::FinishTimelineAppends(const Tenant& tenant,
                                               const std::vector<const TimelineClaim*>& claims) {
  absl::MutexLock lock(&timeline_mu_);
  NotifyStore::Batch batch = store_.NewBatch();
  for (const TimelineClaim* claim : claims) {
    batch.DeleteTimelineAppend(tenant, claim->due, claim->notification_name);
  }
  RETURN_IF_ERROR(store_.Commit(batch));
  for (const TimelineClaim* claim : claims) EndTimelineLease(tenant, *claim);
  return absl::OkStatus();
}

absl::Status NotifyCore::RetryTimelineAppend(const Tenant& tenant, const TimelineClaim& claim,
                                             absl::Time at) {
  absl::MutexLock lock(&timeline_mu_);
  // Only a row still where the claim found it moves.
  ASSIGN_OR_RETURN(const bool held,
                   store_.HasTimelineAppend(tenant, claim.due, claim.notification_name));
  if (held) {
    NotifyStore::Batch batch = store_.NewBatch();
    batch.DeleteTimelineAppend(tenant, claim.due, claim.notification_name);
    batch.PutTimelineAppend(tenant, at, claim.notification_name, claim.request);
    RETURN_IF_ERROR(store_.Commit(batch));
  }
  EndTimelineLease(tenant, claim);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<absl::Time>> NotifyCore::NextTimelineDue(const Tenant& tenant) const {
  absl::MutexLock lock(&timeline_mu_);
  auto at = timeline_leases_.find(tenant);
  if (at == timeline_leases_.end() || at->second.empty()) return store_.NextTimelineDue(tenant);
  const absl::flat_hash_map<std::string, absl::Time>& leases = at->second;
  std::optional<absl::Time> next;
  for (const auto& [name, lease_end] : leases) {
    if (!next || lease_end < *next) next = lease_end;
  }
  // The first row no lease holds is among the first leases.size() + 1.
  ASSIGN_OR_RETURN(const std::vector<NotifyStore::DueRow> rows,
                   store_.FirstTimelineRows(tenant, leases.size() + 1));
  for (const NotifyStore::DueRow& row : rows) {
    if (leases.contains(row.notification_name)) continue;
    if (!next || row.due < *next) next = row.due;
    break;
  }
  return next;
}

absl::StatusOr<std::optional<absl::Time>> NotifyCore::NextDue(const Tenant& tenant) const {
  return store_.NextDue(tenant);
}

absl::StatusOr<std::vector<std::string>> NotifyCore::Tenants() const {
  return store_.TenantsWithDueWork();
}

}  // namespace cxp::notify
