// NotifyStore — notify_service's RocksDB layout: templates with every
// version, trigger rules and the trigger consumer's position, notifications
// with their lookup rows, and the outbox of notifications that have
// something to do at a given time. The notify core decides; this keeps what
// it decided so a restart (or a kill -9) loses nothing acknowledged.
//
// Layout (every key starts with the tenant, common/store/key_codec.h):
//   notify_config    (tenant, "t", template id)                 -> v1::Template (latest)
//                    (tenant, "v", template id, version)        -> v1::Template (each version)
//                    (tenant, "r", rule id)                     -> v1::TriggerRule
//                    (tenant, "s")                              -> trigger consumer sequence
//                                                                  (8 bytes big-endian)
//                    (tenant, "l", rule id, customer id)        -> when the rule last sent to
//                                                  the customer (change_time of the event,
//                                                  unix micros, 8 bytes big-endian): cooldowns
//   notify_messages  (tenant, "n", notification id)             -> v1::Notification
//                    (tenant, "c", create micros desc, id)      -> ""  newest first
//                    (tenant, "u", customer, create desc, id)   -> ""  a customer's, newest first
//                    (tenant, "k", idempotency key)             -> notification id
//                    (tenant, "p", replace key)                 -> id of the one not yet sent
//                    (tenant, "d", dead-letter micros, id)      -> ""  oldest first
//                    (tenant, "m", provider, provider message id) -> notification name
//                                                                  (delivery receipts)
//                    (tenant, "a", due micros, id)              -> cxp.context.v1.
//                                                  AppendInteractionRequest: the timeline
//                                                  append of a DELIVERED notification, due work
//                                                  of its own (below)
//                    (tenant, "w", template id, id)             -> ""  a notification not yet
//                                                  terminal (SCHEDULED, HELD_QUIET_HOURS,
//                                                  QUEUED, SENDING) that uses the template
//                                                  (DeleteTemplate refuses while there is one)
//                    (tenant, "x")                              -> ""  the tenant's "w" rows
//                                                  are complete (written by
//                                                  NotifyCore::IndexTemplateUses for data
//                                                  from before they existed)
//   notify_outbox    (tenant, due micros, id)                   -> ""  due work, oldest first
//   notify_requests  (tenant, method, request_id)               -> idempotency::StoredResponse
//
// Timeline appends: a notification that becomes DELIVERED gets an "a" row in
// the same batch, holding the exact AppendInteractionRequest to send to
// context_service (its request_id makes retries idempotent, so the row's
// bytes never change). The dispatcher leases a row by moving it to a later
// due time before calling, deletes it once context_service answered, and
// moves it on to retry; DELIVERED itself has no outbox row, so these rows are
// the only record of the pending append. They live in notify_messages, not
// notify_outbox, so outbox scans (ScanDue, NextDue) never see them.
//
// Due-work index: the outbox rows and the timeline append rows are also
// kept in memory, per tenant in (due, id) order: loaded by Attach() from
// the families, and changed by every Commit() that writes them, right after
// RocksDB took the batch. ScanDue, NextDue, ScanTimelineDue,
// NextTimelineDue and TenantsWithDueWork read it instead of iterating
// RocksDB, where every row the dispatcher ever used up is a tombstone at the
// front of the range until compaction drops it: an iterator from the
// tenant's first key stepped over all of them on every scan (O(rows
// delivered) per dispatcher round; docs/performance.md, "Delivery
// throughput"). It costs about 100 bytes of memory per pending row. Rows
// must therefore be written only through Batch (never with RocksStore
// directly), and one NotifyStore (or copies of it) per RocksStore.
//
// Hot rows: the notifications being sent (SENDING) and template versions
// are also kept in memory, so a delivery does not read them back from
// RocksDB on each step: every Commit() that writes a notification puts the
// new version there while it is SENDING (at most kMaxHotNotifications; past
// that, RocksDB answers) and drops it otherwise; template versions never
// change, and a Commit() that deletes a template or writes a version drops
// what is held for it. GetNotification and GetTemplate(version > 0) answer
// from memory when they can.
//
// Writes: a Batch collects one decision's rows and Commit() applies them
// atomically; AfterDurable() (RocksStore) reports when they are in the
// fsynced WAL — acknowledge to a client only then. A notification's state
// change and its outbox row move in the same batch, so the outbox never
// names a notification in another state than the one it was queued for.
//
// Retention: DeleteNotification and the Delete* of the lookup rows let
// NotifyCore purge old terminal notifications whole, in bounded batches.
// Trigger last-sent rows are purged by PurgeTriggerLastSent, which decides
// and deletes under a lock that Commit also takes for batches writing such
// rows, so a row rewritten meanwhile is never deleted.
//
// Threading: all methods are thread-safe (RocksDB is); a Batch belongs to
// one thread. Ownership: borrows the RocksStore, which must outlive it.
// Errors: absent rows are std::nullopt; a row that does not parse is
// DATA_LOSS; RocksDB errors as RocksStore reports them.

#ifndef CXP_NOTIFY_SERVICE_CORE_NOTIFY_STORE_H_
#define CXP_NOTIFY_SERVICE_CORE_NOTIFY_STORE_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/idempotency/stored_response.pb.h"
#include "common/store/rocks_store.h"
#include "cxp/context/v1/context_service.pb.h"
#include "cxp/notify/v1/notification.pb.h"
#include "cxp/notify/v1/template.pb.h"
#include "cxp/notify/v1/trigger_rule.pb.h"
#include "rocksdb/write_batch.h"

namespace cxp::notify {

class NotifyStore {
 public:
  static constexpr char kRequestsFamily[] = "notify_requests";
  // The families to open the RocksStore with.
  static std::vector<std::string> ColumnFamilies();
  // NOT_FOUND if a family is missing.
  static absl::StatusOr<NotifyStore> Attach(store::RocksStore& rocks);

  class Batch {
   public:
    // Resources by their full message; ids come from the names
    // ("templates/{id}", "triggerRules/{id}", "notifications/{id}").
    // The latest template and its version row.
    void PutTemplate(const std::string& tenant, const cxp::notify::v1::Template& latest);
    // The template and every version up to `latest_version`.
    void DeleteTemplate(const std::string& tenant, const std::string& template_name,
                        int64_t latest_version);
    void PutTriggerRule(const std::string& tenant, const cxp::notify::v1::TriggerRule& rule);
    void DeleteTriggerRule(const std::string& tenant, const std::string& rule_name);
    void PutTriggerSequence(const std::string& tenant, uint64_t sequence);
    // Rule `rule_name` sent to `customer_name` for a change made at `sent`.
    void PutTriggerLastSent(const std::string& tenant, const std::string& rule_name,
                            const std::string& customer_name, absl::Time sent);

    // The notification's record; its newest-first and per-customer rows
    // (keyed by create_time and resolved_customer, which never change; the
    // per-customer row only when resolved_customer is set); its dead-letter
    // row while DEAD_LETTERED (`previous` tells the store which rows to
    // drop: pass the stored version when there is one).
    void PutNotification(const std::string& tenant, const cxp::notify::v1::Notification& current,
                         const cxp::notify::v1::Notification* previous);
    void PutIdempotencyKey(const std::string& tenant, const std::string& key,
                           const std::string& notification_name);
    void PutReplaceKey(const std::string& tenant, const std::string& key,
                       const std::string& notification_name);
    void DeleteReplaceKey(const std::string& tenant, const std::string& key);
    void DeleteIdempotencyKey(const std::string& tenant, const std::string& key);
    // The notification's record with its newest-first, per-customer and
    // dead-letter rows (the lookup rows by key are the caller's: they may
    // name a later notification).
    void DeleteNotification(const std::string& tenant,
                            const cxp::notify::v1::Notification& notification);
    // The row saying that a non-terminal notification uses its template.
    void PutTemplateUse(const std::string& tenant,
                        const cxp::notify::v1::Notification& notification);
    void DeleteTemplateUse(const std::string& tenant,
                           const cxp::notify::v1::Notification& notification);
    void MarkTemplateUsesIndexed(const std::string& tenant);
    // The provider's id for an attempt, so its delivery receipts find it.
    void PutProviderMessageId(const std::string& tenant, const std::string& provider,
                              const std::string& provider_message_id,
                              const std::string& notification_name);
    void DeleteProviderMessageId(const std::string& tenant, const std::string& provider,
                                 const std::string& provider_message_id);
    // Due work: the notification needs the dispatcher at `due`.
    void PutOutbox(const std::string& tenant, absl::Time due, const std::string& notification_name);
    void DeleteOutbox(const std::string& tenant, absl::Time due,
                      const std::string& notification_name);
    // A timeline append due at `due` (see the header).
    void PutTimelineAppend(const std::string& tenant, absl::Time due,
                           const std::string& notification_name,
                           const cxp::context::v1::AppendInteractionRequest& request);
    void DeleteTimelineAppend(const std::string& tenant, absl::Time due,
                              const std::string& notification_name);
    void PutStoredResponse(const std::string& tenant, const std::string& method,
                           const std::string& request_id,
                           const idempotency::StoredResponse& response);
    bool empty() const { return batch_.Count() == 0; }

   private:
    friend class NotifyStore;
    // An outbox or timeline row put or deleted, for the due-work index.
    struct DueRowChange {
      bool timeline = false;  // else an outbox row
      bool put = false;       // else a delete
      std::string tenant;
      int64_t due_micros = 0;
      std::string id;
    };
    // A notification written (its new version while SENDING, else
    // nullptr) or a template written or deleted, for the hot rows.
    struct HotRowChange {
      std::string tenant;
      std::string id;
      std::shared_ptr<const cxp::notify::v1::Notification> sending;
      bool template_row = false;  // else a notification
    };
    explicit Batch(const NotifyStore* store) : store_(store) {}
    const NotifyStore* store_;
    rocksdb::WriteBatch batch_;
    std::vector<DueRowChange> due_changes_;  // in the batch's order
    std::vector<HotRowChange> hot_changes_;  // in the batch's order
    bool writes_last_sent_ = false;          // Commit takes the last-sent lock
  };

  Batch NewBatch() const { return Batch(this); }
  // Most SENDING notifications held in memory (see the header).
  static constexpr size_t kMaxHotNotifications = 4096;
  static constexpr size_t kMaxHotTemplateVersions = 1024;
  // Applies the batch atomically (visible at once; durable once
  // store::RocksStore::AfterDurable says so), then its outbox and timeline
  // rows to the due-work index. Two batches that change the same row must
  // not commit concurrently (NotifyCore holds the notification's lock).
  absl::Status Commit(Batch& batch) const;

  // The latest template, or `version` of it (0: the latest).
  absl::StatusOr<std::optional<cxp::notify::v1::Template>> GetTemplate(const std::string& tenant,
                                                                       const std::string& name,
                                                                       int64_t version = 0) const;
  // A tenant's latest templates in id order, starting after `after_name`
  // ("" for the first); until visit returns false.
  absl::Status ScanTemplates(const std::string& tenant, const std::string& after_name,
                             absl::FunctionRef<bool(const cxp::notify::v1::Template&)> visit) const;
  absl::StatusOr<std::optional<cxp::notify::v1::TriggerRule>> GetTriggerRule(
      const std::string& tenant, const std::string& name) const;
  absl::Status ScanTriggerRules(
      const std::string& tenant, const std::string& after_name,
      absl::FunctionRef<bool(const cxp::notify::v1::TriggerRule&)> visit) const;
  // Deletes, in one batch, the trigger last-sent rows of `tenant` for which
  // expired(rule id, customer id, last sent) is true, examining at most
  // `max_rows` rows from `resume` (a rule id and customer id pair; empty
  // pair: from the first). `resume` becomes the last row examined, or
  // empty once the scan reached the end. Holds the last-sent lock (see the
  // header) throughout: keep `expired` cheap. Returns how many it deleted.
  struct LastSentRow {
    std::string rule_id;
    std::string customer_id;
  };
  absl::StatusOr<size_t> PurgeTriggerLastSent(
      const std::string& tenant, size_t max_rows, std::optional<LastSentRow>& resume,
      absl::FunctionRef<bool(const std::string& rule_id, const std::string& customer_id,
                             absl::Time sent)>
          expired) const;
  // 0 before the first event was processed.
  absl::StatusOr<uint64_t> GetTriggerSequence(const std::string& tenant) const;
  // When rule `rule_name` last sent to `customer_name`, if it ever did.
  absl::StatusOr<std::optional<absl::Time>> GetTriggerLastSent(
      const std::string& tenant, const std::string& rule_name,
      const std::string& customer_name) const;

  absl::StatusOr<std::optional<cxp::notify::v1::Notification>> GetNotification(
      const std::string& tenant, const std::string& name) const;
  // The notification an idempotency key / replace key names, or nullopt.
  absl::StatusOr<std::optional<std::string>> FindByIdempotencyKey(const std::string& tenant,
                                                                  const std::string& key) const;
  absl::StatusOr<std::optional<std::string>> FindByReplaceKey(const std::string& tenant,
                                                              const std::string& key) const;
  // The notification an attempt with this provider message id belongs to,
  // or nullopt.
  absl::StatusOr<std::optional<std::string>> FindByProviderMessageId(
      const std::string& tenant, const std::string& provider,
      const std::string& provider_message_id) const;

  // A tenant's notifications newest first (or one customer's, when
  // `customer` — `customers/{id}` — is not empty), starting after
  // `resume_key` ("" from the newest); calls visit(key, notification) until
  // it returns false or `max_rows` rows were read. The key resumes a later
  // scan.
  absl::Status ScanNotificationsNewestFirst(
      const std::string& tenant, const std::string& customer, const std::string& resume_key,
      size_t max_rows,
      absl::FunctionRef<bool(const std::string& key, const cxp::notify::v1::Notification&)> visit)
      const;
  // Notifications created before `created_before`, newest first (from the
  // newest-first rows); as above, `resume_key` "" starts at created_before.
  absl::Status ScanNotificationsCreatedBefore(
      const std::string& tenant, absl::Time created_before, const std::string& resume_key,
      size_t max_rows,
      absl::FunctionRef<bool(const std::string& key, const cxp::notify::v1::Notification&)> visit)
      const;
  // Up to `max` non-terminal notifications (names) that use the template
  // `template_name` ("templates/{id}"), by id.
  absl::StatusOr<std::vector<std::string>> TemplateUsers(const std::string& tenant,
                                                         const std::string& template_name,
                                                         size_t max) const;
  // Whether MarkTemplateUsesIndexed was committed for `tenant`.
  absl::StatusOr<bool> TemplateUsesIndexed(const std::string& tenant) const;
  // DEAD_LETTERED notifications, oldest first; as above.
  absl::Status ScanDeadLetters(
      const std::string& tenant, const std::string& resume_key, size_t max_rows,
      absl::FunctionRef<bool(const std::string& key, const cxp::notify::v1::Notification&)> visit)
      const;

  // Outbox rows of `tenant` due at or before `now`, oldest first, at most
  // `max_rows` (from the due-work index).
  struct DueWork {
    absl::Time due;
    std::string notification_name;
  };
  absl::StatusOr<std::vector<DueWork>> ScanDue(const std::string& tenant, absl::Time now,
                                               size_t max_rows) const;
  // The earliest outbox row of `tenant`, if any.
  absl::StatusOr<std::optional<absl::Time>> NextDue(const std::string& tenant) const;

  // Timeline appends of `tenant` due at or before `now`, oldest first, at
  // most `max_rows` (the rows from the due-work index, their requests read
  // from RocksDB).
  struct TimelineWork {
    absl::Time due;
    std::string notification_name;
    cxp::context::v1::AppendInteractionRequest request;
  };
  // Rows for which `skip(notification name)` is true are passed over
  // without reading them (and do not count towards max_rows).
  absl::StatusOr<std::vector<TimelineWork>> ScanTimelineDue(
      const std::string& tenant, absl::Time now, size_t max_rows,
      absl::FunctionRef<bool(const std::string& notification_name)> skip = [](const std::string&) {
        return false;
      }) const;
  // Whether the timeline append row (due, notification) exists.
  absl::StatusOr<bool> HasTimelineAppend(const std::string& tenant, absl::Time due,
                                         const std::string& notification_name) const;
  // The first `max_rows` timeline append rows of `tenant` (due or not), in
  // (due, id) order, from the due-work index (no RocksDB read).
  struct DueRow {
    absl::Time due;
    std::string notification_name;
  };
  absl::StatusOr<std::vector<DueRow>> FirstTimelineRows(const std::string& tenant,
                                                        size_t max_rows) const;
  // The earliest timeline append of `tenant`, if any.
  absl::StatusOr<std::optional<absl::Time>> NextTimelineDue(const std::string& tenant) const;
  // Ids of the notifications of `tenant` with a timeline append row (from
  // the due-work index).
  std::vector<std::string> TimelineAppendIds(const std::string& tenant) const;

  // Every tenant that has an outbox row, a template, a trigger rule or a
  // notification (timeline appends included), for the dispatcher and the
  // trigger consumers at start-up.
  absl::StatusOr<std::vector<std::string>> Tenants() const;
  // Every tenant with a template, a trigger rule or a trigger position (the
  // trigger consumer's tenants are among them).
  absl::StatusOr<std::vector<std::string>> ConfiguredTenants() const;
  // Every tenant with an outbox row or a timeline append row, in order
  // (from the due-work index: no RocksDB scan).
  std::vector<std::string> TenantsWithDueWork() const;

  absl::StatusOr<std::optional<idempotency::StoredResponse>> GetStoredResponse(
      const std::string& tenant, const std::string& method, const std::string& request_id) const;

  store::RocksStore& rocks() const { return *store_; }

 private:
  NotifyStore() = default;
  absl::StatusOr<std::vector<std::string>> TenantsIn(
      std::initializer_list<rocksdb::ColumnFamilyHandle*> families) const;
  // Notifications named by the index rows under `prefix` (each key ends
  // with the notification id), in key order.
  absl::Status ScanIndex(
      const std::string& tenant, const std::string& prefix, const std::string& resume_key,
      size_t max_rows,
      absl::FunctionRef<bool(const std::string& key, const cxp::notify::v1::Notification&)> visit)
      const;
  class DueIndex;  // notify_store.cc
  class HotRows;   // notify_store.cc
  // Brings hot_rows_ in step with a committed batch.
  void ApplyHotRowChanges(Batch& batch) const;
  // Fills due_index_ from the outbox family and the timeline rows.
  absl::Status LoadDueIndex();
  store::RocksStore* store_ = nullptr;
  // Shared by copies of this store (they write the same RocksDB).
  std::shared_ptr<DueIndex> due_index_;
  std::shared_ptr<HotRows> hot_rows_;
  // Orders commits that write trigger last-sent rows with their purge.
  std::shared_ptr<absl::Mutex> last_sent_mu_;
  rocksdb::ColumnFamilyHandle* config_ = nullptr;
  rocksdb::ColumnFamilyHandle* messages_ = nullptr;
  rocksdb::ColumnFamilyHandle* outbox_ = nullptr;
  rocksdb::ColumnFamilyHandle* requests_ = nullptr;
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_NOTIFY_STORE_H_
