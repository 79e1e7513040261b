// NotifyCore — notify_service's domain frontend for sending: takes the
// API's send, read, cancel, redrive and receipt requests and the
// dispatcher's steps, validates them, decides with the rules of
// channel_plan.h, send_window.h, lifecycle.h and delivery/backoff.h, and
// keeps every change of one call in one NotifyStore batch. Plain C++, no
// gRPC types: the gRPC edge asks context_service for the customer
// (CustomerView), translates, and waits for durability (AfterDurable)
// before it answers. The semantics are those of
// protos/cxp/notify/v1/notify_service.proto and notification.proto, with
// the decisions of docs/design/notify.md.
//
// The outbox. Every notification that has something to do at a time has
// exactly one outbox row, at OutboxDue(notification):
//   SCHEDULED, HELD_QUIET_HOURS, QUEUED   min(send_time, expire_time)
//   SENDING, an attempt in flight        update_time + lease (the lease)
//   SENDING, awaiting a receipt          update_time + receipt_timeout
//   terminal, DEAD_LETTERED              none
// send_time is the earliest time the next attempt may start: the request's
// send_time, moved by a deferring frequency cap, to the end of quiet hours
// while HELD, to the retry time after a temporary failure. Every state
// change writes the notification, deletes its old row and puts its new one
// in one batch. ClaimDue tolerates rows that no longer match (a changed
// lease option): it works from the notification's state.
//
// Dispatch: ClaimDue takes due rows and leases the notifications (SENDING,
// the outbox row moved to the lease deadline, so a crash mid-send retries
// once the lease expires; receivers dedupe by the stable notification id).
// For each claim the dispatcher asks context_service for the customer and
// calls BeginAttempt, which re-checks consent, address, content and quiet
// hours and names the channel, address and rendered content to send (or
// settles the notification when nothing may be sent). After sending it
// calls RecordAttempt with the provider's result: delivered, retry later
// (delivery::Backoff decides the delay and the limits), the next channel
// at once (a new DeliveryOrder under the same claim), or the end.
//
// Timeline: a notification that becomes DELIVERED (an attempt without
// receipts, a receipt, or the end of the receipt wait) gets a timeline
// append row in the same batch (notify_store.h), holding the outbound
// interaction TimelineAppendFor() makes of it. The dispatcher leases due rows
// with ClaimTimelineAppends (in memory), sends them to context_service, and
// finishes or retries them; delivery never waits for it.
//
// Redrive: a redriven notification gets fresh retries; a RESULT_SKIPPED
// attempt with error_code "REDRIVEN" marks where they start in its history.
//
// Template use: a notification not yet terminal (SCHEDULED,
// HELD_QUIET_HOURS, QUEUED, SENDING) has a template-use row, put and
// deleted by the change that starts or ends that, so DeleteTemplate
// (NotifyConfigCore) can refuse while one uses the template.
//
// Retention: PurgeTerminalBefore deletes old terminal notifications with
// every row that finds them (retention.h runs it in the background).
//
// Idempotency: a send's idempotency_key returns the first notification for
// idempotency_key_ttl and writes nothing. Concurrency: read-modify-write
// sequences hold striped locks on what they touch (the notification; a
// send's idempotency key, replace key and customer), so concurrent calls
// on different notifications and customers do not wait for each other.
//
// Errors: INVALID_ARGUMENT naming the field ("variables: missing date,
// name (...)"), NOT_FOUND, FAILED_PRECONDITION ("customer: no channel may
// be used: EMAIL has no consent for MARKETING (...)"), as the proto
// documents per method; a refused call writes nothing. Storage errors as
// RocksStore reports them.
//
// Threading: all methods are thread-safe. The change sink is called after
// each committed change, under the changed notification's lock; it must
// not block or call back into the core. Ownership: borrows the store,
// which must outlive the core.

#ifndef CXP_NOTIFY_SERVICE_CORE_NOTIFY_CORE_H_
#define CXP_NOTIFY_SERVICE_CORE_NOTIFY_CORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/paging/page_token.h"
#include "common/store/striped_locks.h"
#include "cxp/context/v1/context_service.pb.h"
#include "cxp/context/v1/customer_context.pb.h"
#include "cxp/notify/v1/notify_service.pb.h"
#include "notify_service/core/channel_plan.h"
#include "notify_service/core/notify_store.h"
#include "notify_service/core/send_window.h"
#include "notify_service/core/template_renderer.h"
#include "notify_service/delivery/backoff.h"
#include "notify_service/delivery/delivery_result.h"

namespace cxp::notify {

// What context_service said of a recipient, filled by the gRPC edge from
// GetCustomerContext (or from the identity alone when it matched no
// customer).
struct CustomerView {
  // False when context_service did not answer in time: a send is accepted
  // unjudged (consent, addresses, quiet hours and caps are left to
  // delivery), and a delivery waits for an answer.
  bool answered = true;
  // The customer (name, display name, identities = contact points, time
  // zone, language), its consent and its preferred channel order. For an
  // identity that matched no customer: just that identity, consent unset.
  Recipient recipient;
  // Quiet hours and the preferred language.
  cxp::context::v1::ContactPreferences preferences;

  static CustomerView Unanswered();
  static CustomerView FromContext(const cxp::context::v1::CustomerContext& context);
  // An identity that matched no customer.
  static CustomerView ForUnmatchedIdentity(const cxp::type::v1::Identity& identity);
  // The view a GetCustomerContext answer about `asked` gives: FromContext
  // when it answered, ForUnmatchedIdentity when `asked` is an identity no
  // customer has; nullopt otherwise (a customer name that does not exist,
  // an error, no answer), which each caller judges in its own way.
  static std::optional<CustomerView> FromAnswer(
      const absl::StatusOr<cxp::context::v1::GetCustomerContextResponse>& answer,
      const cxp::type::v1::CustomerRef& asked);
};

struct NotifyCoreOptions {
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Key for page tokens (paging::PageTokenCodec); empty = random per
  // process (tokens die on restart).
  std::string page_token_key;
  // Quiet hours of customers without a time zone of their own.
  std::string default_time_zone = "UTC";
  // Frequency caps by tenant; tenants without an entry get
  // `default_frequency_policy`.
  absl::flat_hash_map<std::string, FrequencyPolicy> frequency_policies;
  FrequencyPolicy default_frequency_policy;
  // Retries per channel: delay and limits (notification.proto: at most 5
  // attempts per channel). `backoff_random` draws the jitter (nullptr: a
  // random source).
  delivery::BackoffPolicy backoff = {.max_attempts = 5};
  delivery::Backoff::RandomFraction backoff_random;
  // How long a claimed notification stays SENDING before it is claimed
  // again (longer than a delivery attempt with all its providers' timeouts).
  absl::Duration lease = absl::Minutes(2);
  // How long a SENT attempt waits for the provider's receipt before the
  // notification counts as DELIVERED.
  absl::Duration receipt_timeout = absl::Hours(72);
  // How long a claimed notification waits when context_service did not
  // answer for its delivery.
  absl::Duration context_retry_delay = absl::Minutes(1);
  // Whether DELIVERED notifications get a timeline append row (see the
  // header). Off only where no dispatcher appends them.
  bool record_timeline = true;
  absl::Duration idempotency_key_ttl = absl::Hours(24);
  absl::Duration default_lifetime = absl::Hours(24 * 7);  // expire_time unset
  absl::Duration max_schedule_ahead = absl::Hours(24 * 30);
};

// A claimed notification (SENDING under a lease).
struct Claim {
  cxp::notify::v1::Notification notification;  // as claimed
  absl::Time lease_until;
};

// What the dispatcher sends next, or that it sends nothing.
struct DeliveryOrder {
  // False: nothing to send; `notification` says what became of it.
  bool send = false;
  cxp::notify::v1::Notification notification;
  PlannedChannel target{};  // channel and address
  RenderedContent content;  // the template rendered for target.channel
  // Identifies the claim; RecordAttempt refuses an order whose claim was
  // lost (the lease expired and the notification was claimed again).
  absl::Time claimed_at;
  // Channels passed over on the way to `target`; recorded with the attempt.
  std::vector<cxp::notify::v1::DeliveryAttempt> skipped;
};

// One delivery attempt's outcome, as the dispatcher saw it.
struct AttemptReport {
  // The provider that delivered or refused, or the last one tried.
  std::string provider;
  delivery::DeliveryResult result;
  // Whether the provider sends delivery receipts (ReportDeliveryStatus);
  // if not, an accepted message counts as DELIVERED at once.
  bool provider_sends_receipts = false;
};

// The outbound interaction a DELIVERED notification adds to its customer's
// timeline in context_service: channel, direction OUTBOUND, type
// "notification", occur_time the time of the attempt that delivered,
// a summary, attributes notification / template / template_version /
// purpose / provider; request_id the notification's name (idempotent), the
// customer resolved_customer, else the recipient as sent (an identity).
// Deterministic: the same notification gives the same bytes.
cxp::context::v1::AppendInteractionRequest TimelineAppendFor(
    const cxp::notify::v1::Notification& delivered);

// A timeline append leased to the dispatcher.
struct TimelineClaim {
  std::string notification_name;
  cxp::context::v1::AppendInteractionRequest request;
  absl::Time due;          // where the row is: identifies it
  absl::Time lease_until;  // when the row may be claimed again
};

class NotifyCore {
 public:
  using Tenant = std::string;
  // Called with every notification after a committed change.
  using ChangeSink =
      std::function<void(const Tenant& tenant, const cxp::notify::v1::Notification& notification)>;

  // INVALID_ARGUMENT if the backoff policy is invalid.
  static absl::StatusOr<std::unique_ptr<NotifyCore>> Create(const NotifyStore& store,
                                                            NotifyCoreOptions options);

  // `customer`: what context_service said of request.customer.
  absl::Status SendNotification(const Tenant& tenant,
                                const cxp::notify::v1::SendNotificationRequest& request,
                                const CustomerView& customer,
                                cxp::notify::v1::SendNotificationResponse& response);
  // A send a trigger rule (`trigger_rule`, its name) makes: as
  // SendNotification, and the notification records the rule.
  absl::StatusOr<cxp::notify::v1::Notification> SendTriggered(
      const Tenant& tenant, const cxp::notify::v1::SendNotificationRequest& request,
      const CustomerView& customer, const std::string& trigger_rule);
  // `customers[i]` is request.requests(i)'s recipient. INVALID_ARGUMENT for
  // an empty batch, more than kMaxBatchSends, or a customers count that
  // does not match; otherwise every send has its own outcome.
  static constexpr int kMaxBatchSends = 100;
  absl::Status BatchSendNotifications(const Tenant& tenant,
                                      const cxp::notify::v1::BatchSendNotificationsRequest& request,
                                      const std::vector<CustomerView>& customers,
                                      cxp::notify::v1::BatchSendNotificationsResponse& response);
  absl::Status GetNotification(const Tenant& tenant,
                               const cxp::notify::v1::GetNotificationRequest& request,
                               cxp::notify::v1::GetNotificationResponse& response);
  // Newest first. A page may hold fewer than page_size notifications (a
  // selective filter stops after kMaxScannedRows rows) and still have a
  // next_page_token.
  absl::Status ListNotifications(const Tenant& tenant,
                                 const cxp::notify::v1::ListNotificationsRequest& request,
                                 cxp::notify::v1::ListNotificationsResponse& response);
  static constexpr size_t kMaxScannedRows = 10000;
  // SCHEDULED, HELD_QUIET_HOURS or QUEUED -> CANCELLED "CANCELLED_BY_CALLER".
  absl::Status CancelNotification(const Tenant& tenant,
                                  const cxp::notify::v1::CancelNotificationRequest& request,
                                  cxp::notify::v1::CancelNotificationResponse& response);
  // Oldest first.
  absl::Status ListDeadLetters(const Tenant& tenant,
                               const cxp::notify::v1::ListDeadLettersRequest& request,
                               cxp::notify::v1::ListDeadLettersResponse& response);
  // DEAD_LETTERED or FAILED -> QUEUED now, with fresh retries.
  absl::Status RedriveNotification(const Tenant& tenant,
                                   const cxp::notify::v1::RedriveNotificationRequest& request,
                                   cxp::notify::v1::RedriveNotificationResponse& response);
  // A provider's receipt for the attempt with that provider message id,
  // of request.notification when named.
  absl::Status ReportDeliveryStatus(const Tenant& tenant,
                                    const cxp::notify::v1::ReportDeliveryStatusRequest& request,
                                    cxp::notify::v1::ReportDeliveryStatusResponse& response);

  // Dispatch steps (see the header comment). ClaimDue: up to `max` due
  // notifications of `tenant`, leased to the caller; notifications that
  // expired, or whose receipt wait ended, are settled on the way and not
  // returned.
  absl::StatusOr<std::vector<Claim>> ClaimDue(const Tenant& tenant, size_t max);
  // What to send for `claim`, given what context_service says of the
  // customer now. FAILED_PRECONDITION when the claim was lost.
  absl::StatusOr<DeliveryOrder> BeginAttempt(const Tenant& tenant, const Claim& claim,
                                             const CustomerView& customer);
  // Records the attempt of `order` and decides what follows; returns the
  // next channel's order when the plan moves on at once (`customer` is
  // used for it), else an order with send = false. FAILED_PRECONDITION
  // when the claim was lost.
  absl::StatusOr<DeliveryOrder> RecordAttempt(const Tenant& tenant, const DeliveryOrder& order,
                                              const AttemptReport& report,
                                              const CustomerView& customer);
  // Timeline appends (see the header). ClaimTimelineAppends: up to `max`
  // due rows of `tenant` that no claim holds, each leased until now +
  // `lease` (claimable again then if the dispatcher never reports). The
  // lease is kept in memory only, so a claim writes nothing: after a
  // restart every row is due at its own time again, and the request_id
  // keeps a repeated append single in context_service.
  // FinishTimelineAppend removes a claimed row; RetryTimelineAppend moves it
  // to `at`. Both are no-ops for a row that is no longer where the claim
  // found it, and end the claim's lease. NextTimelineDue is the earliest
  // time a row can be claimed: a due row that no claim holds, or the end of
  // a lease. Meant for one dispatcher.
  absl::StatusOr<std::vector<TimelineClaim>> ClaimTimelineAppends(const Tenant& tenant, size_t max,
                                                                  absl::Duration lease);
  absl::Status FinishTimelineAppend(const Tenant& tenant, const TimelineClaim& claim);
  // FinishTimelineAppend of several claims in one write.
  absl::Status FinishTimelineAppends(const Tenant& tenant,
                                     const std::vector<const TimelineClaim*>& claims);
  absl::Status RetryTimelineAppend(const Tenant& tenant, const TimelineClaim& claim, absl::Time at);
  absl::StatusOr<std::optional<absl::Time>> NextTimelineDue(const Tenant& tenant) const;

  // The earliest outbox row of `tenant`, and the tenants with outbox or
  // timeline rows (for the dispatcher's rounds and wake-ups). In-memory
  // reads (NotifyStore's due-work index), cheap enough for every round.
  absl::StatusOr<std::optional<absl::Time>> NextDue(const Tenant& tenant) const;
  absl::StatusOr<std::vector<std::string>> Tenants() const;

  // Retention (retention.h): deletes the terminal notifications of `tenant`
  // (DELIVERED, FAILED, DEAD_LETTERED, CANCELLED, EXPIRED, REPLACED) last
  // changed (update_time) before `cutoff`, each with its index rows and the
  // idempotency-key, replace-key and provider-message-id rows that still
  // name it, in one batch under the locks a send or a receipt takes. A
  // DELIVERED one whose timeline append is still pending stays. Examines at
  // most `max_rows` notifications created before `cutoff`, from
  // `resume_key` ("" for the first call); `resume_key` becomes where the
  // next call goes on, "" once the scan reached the end. Returns how many
  // it deleted. Does not tell the change sink (nothing changed state).
  absl::StatusOr<size_t> PurgeTerminalBefore(const Tenant& tenant, absl::Time cutoff,
                                             size_t max_rows, std::string& resume_key);

  // Writes the template-use rows (notify_store.h) of the notifications not
  // yet terminal that were stored before those rows existed, once per
  // tenant (each tenant with due work and no "indexed" mark): call it at
  // start-up, before DeleteTemplate is served. Returns how many it wrote.
  absl::StatusOr<size_t> IndexTemplateUses();

  // Replaces the change sink (nullptr: none), e.g. for WatchNotifications.
  void SetChangeSink(ChangeSink sink);

  // Calls `done` once everything written before this call is durable.
  void AfterDurable(absl::AnyInvocable<void(absl::Status) &&> done) const {
    store_.rocks().AfterDurable(std::move(done));
  }

  // Where the notification's outbox row is (see the header), or nullopt.
  std::optional<absl::Time> OutboxDue(const cxp::notify::v1::Notification& notification) const;

 private:
  NotifyCore(const NotifyStore& store, NotifyCoreOptions options, delivery::Backoff backoff);

  struct Change {
    const cxp::notify::v1::Notification* before;  // nullptr for a new one
    cxp::notify::v1::Notification after;
  };
  // Puts `change` (record, index rows, outbox, template-use and timeline
  // rows) into `batch`.
  void Stage(const Tenant& tenant, const Change& change, NotifyStore::Batch& batch) const;
  // Commits the batch, then tells the change sink.
  absl::Status CommitAndPublish(const Tenant& tenant, NotifyStore::Batch& batch,
                                const std::vector<cxp::notify::v1::Notification>& changed);
  // The stored notification `name` (after validating it as `field`).
  absl::StatusOr<cxp::notify::v1::Notification> Load(const Tenant& tenant, const std::string& name,
                                                     absl::string_view field) const;
  absl::StatusOr<cxp::notify::v1::Notification> AcceptSend(
      const Tenant& tenant, const cxp::notify::v1::SendNotificationRequest& request,
      const CustomerView& customer, const std::string& trigger_rule);
  // The next order for a claimed notification (state SENDING, stored as
  // `stored`), trying its channel order from index `start` (nullopt: where
  // its history says); settles the notification in `batch` (and `changed`)
  // when nothing may be sent.
  absl::StatusOr<DeliveryOrder> PlanDelivery(const Tenant& tenant,
                                             const cxp::notify::v1::Notification& stored,
                                             const CustomerView& customer,
                                             std::optional<size_t> start, NotifyStore::Batch& batch,
                                             std::vector<cxp::notify::v1::Notification>& changed);
  // When the customer's quiet hours end, if they apply to this send and
  // `at` falls in them; nullopt when it may go at `at`.
  std::optional<absl::Time> QuietHoursEnd(const CustomerView& customer,
                                          const cxp::notify::v1::Template& tmpl,
                                          cxp::type::v1::Purpose purpose, absl::Time at) const;
  // The tenant's frequency cap (defer: send_time moves; drop: FAILED
  // "FREQUENCY_CAPPED"), then quiet hours (HELD_QUIET_HOURS until they
  // end) for a new notification.
  absl::Status ApplySendWindow(const Tenant& tenant, const CustomerView& customer,
                               const cxp::notify::v1::Template& tmpl,
                               cxp::notify::v1::Notification& notification) const;
  FrequencyPolicy PolicyFor(const Tenant& tenant) const;
  absl::StatusOr<std::vector<absl::Time>> RecentSends(const Tenant& tenant,
                                                      const std::string& customer,
                                                      cxp::type::v1::Purpose purpose,
                                                      absl::Time until,
                                                      absl::Duration window) const;
  // One page of ListNotifications (newest first; a `resolved_customer =`
  // filter scans that customer's rows, a create_time lower bound ends the
  // scan) or ListDeadLetters (oldest first).
  enum class ListIndex { kNewestFirst, kDeadLetters };
  absl::Status ListPage(const Tenant& tenant, ListIndex index, int32_t page_size,
                        const std::string& filter_text, const std::string& page_token,
                        google::protobuf::RepeatedPtrField<cxp::notify::v1::Notification>& out,
                        std::string& next_page_token) const;
  absl::StatusOr<std::string> ResumeKey(const std::string& page_token,
                                        const std::string& fingerprint) const;
  std::string NextPageToken(const std::string& fingerprint, const std::string& last_key) const;

  const NotifyStore& store_;
  const NotifyCoreOptions options_;
  const delivery::Backoff backoff_;
  const paging::PageTokenCodec tokens_;
  mutable store::StripedLocks locks_;
  // Drops `claim`'s lease if it still holds the row.
  void EndTimelineLease(const Tenant& tenant, const TimelineClaim& claim)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(timeline_mu_);
  // Serializes the timeline row moves (claim, finish, retry).
  mutable absl::Mutex timeline_mu_;
  // Leased timeline rows: tenant -> notification name -> lease end.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, absl::Time>> timeline_leases_
      ABSL_GUARDED_BY(timeline_mu_);
  mutable absl::Mutex sink_mu_;
  ChangeSink sink_ ABSL_GUARDED_BY(sink_mu_);
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_NOTIFY_CORE_H_
