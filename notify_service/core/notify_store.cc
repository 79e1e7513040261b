#include "notify_service/core/notify_store.h"

#include <limits>
#include <string_view>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status/status_macros.h"
#include "common/store/key_codec.h"
#include "common/store/proto_rows.h"
#include "common/validation/resource_id.h"
#include "google/protobuf/util/time_util.h"

namespace cxp::notify {
namespace {

using cxp::validation::ResourceIdOf;

namespace v1 = ::cxp::notify::v1;
using google::protobuf::util::TimeUtil;
using store::GetRow;
using store::KeyBuilder;
using store::KeyReader;

constexpr std::string_view kConfigFamily = "notify_config";
constexpr std::string_view kMessagesFamily = "notify_messages";
constexpr std::string_view kOutboxFamily = "notify_outbox";
// Key kinds (one byte after the tenant).
constexpr std::string_view kTemplateKind = "t";
constexpr std::string_view kVersionKind = "v";
constexpr std::string_view kRuleKind = "r";
constexpr std::string_view kSequenceKind = "s";
constexpr std::string_view kLastSentKind = "l";
constexpr std::string_view kNotificationKind = "n";
constexpr std::string_view kNewestKind = "c";
constexpr std::string_view kCustomerKind = "u";
constexpr std::string_view kIdempotencyKind = "k";
constexpr std::string_view kReplaceKind = "p";
constexpr std::string_view kDeadLetterKind = "d";
constexpr std::string_view kProviderMessageKind = "m";
constexpr std::string_view kTimelineKind = "a";
constexpr std::string_view kTemplateUseKind = "w";
constexpr std::string_view kTemplateUsesIndexedKind = "x";

std::string Key(const std::string& tenant, std::string_view kind, std::string_view id) {
  return KeyBuilder(tenant).AddFixedBytes(kind).AddString(id).key();
}

std::string KindPrefix(const std::string& tenant, std::string_view kind) {
  return KeyBuilder(tenant).AddFixedBytes(kind).key();
}

std::string VersionKey(const std::string& tenant, std::string_view id, int64_t version) {
  return KeyBuilder(tenant).AddFixedBytes(kVersionKind).AddString(id).AddInt64(version).key();
}

std::string LastSentKey(const std::string& tenant, std::string_view rule_name,
                        std::string_view customer_name) {
  return KeyBuilder(tenant)
      .AddFixedBytes(kLastSentKind)
      .AddString(ResourceIdOf(rule_name))
      .AddString(ResourceIdOf(customer_name))
      .key();
}

int64_t CreateMicros(const v1::Notification& notification) {
  return TimeUtil::TimestampToMicroseconds(notification.create_time());
}

std::string NewestKey(const std::string& tenant, const v1::Notification& notification) {
  return KeyBuilder(tenant)
      .AddFixedBytes(kNewestKind)
      .AddInt64Descending(CreateMicros(notification))
      .AddString(ResourceIdOf(notification.name()))
      .key();
}

std::string CustomerPrefix(const std::string& tenant, std::string_view customer) {
  return KeyBuilder(tenant).AddFixedBytes(kCustomerKind).AddString(ResourceIdOf(customer)).key();
}

std::string CustomerKey(const std::string& tenant, const v1::Notification& notification) {
  return KeyBuilder(tenant)
      .AddFixedBytes(kCustomerKind)
      .AddString(ResourceIdOf(notification.resolved_customer()))
      .AddInt64Descending(CreateMicros(notification))
      .AddString(ResourceIdOf(notification.name()))
      .key();
}

// Dead-lettered notifications are ordered by when they were dead-lettered:
// the update_time of the change that dead-lettered them.
std::string DeadLetterKey(const std::string& tenant, const v1::Notification& notification) {
  return KeyBuilder(tenant)
      .AddFixedBytes(kDeadLetterKind)
      .AddInt64(TimeUtil::TimestampToMicroseconds(notification.update_time()))
      .AddString(ResourceIdOf(notification.name()))
      .key();
}

std::string TemplateUsePrefix(const std::string& tenant, std::string_view template_name) {
  return KeyBuilder(tenant)
      .AddFixedBytes(kTemplateUseKind)
      .AddString(ResourceIdOf(template_name))
      .key();
}

std::string TemplateUseKey(const std::string& tenant, const v1::Notification& notification) {
  return KeyBuilder(tenant)
      .AddFixedBytes(kTemplateUseKind)
      .AddString(ResourceIdOf(notification.template_()))
      .AddString(ResourceIdOf(notification.name()))
      .key();
}

std::string OutboxKey(const std::string& tenant, absl::Time due, std::string_view id) {
  return KeyBuilder(tenant).AddInt64(absl::ToUnixMicros(due)).AddString(id).key();
}

std::string TimelineKey(const std::string& tenant, absl::Time due, std::string_view id) {
  return KeyBuilder(tenant)
      .AddFixedBytes(kTimelineKind)
      .AddInt64(absl::ToUnixMicros(due))
      .AddString(id)
      .key();
}

std::string RequestKey(const std::string& tenant, std::string_view method,
                       std::string_view request_id) {
  return KeyBuilder(tenant).AddString(method).AddString(request_id).key();
}

std::string ProviderMessageKey(const std::string& tenant, std::string_view provider,
                               std::string_view provider_message_id) {
  return KeyBuilder(tenant)
      .AddFixedBytes(kProviderMessageKind)
      .AddString(provider)
      .AddString(provider_message_id)
      .key();
}

std::string EncodeSequence(uint64_t sequence) {
  std::string bytes(8, '\0');
  for (int i = 7; i >= 0; --i, sequence >>= 8) bytes[i] = static_cast<char>(sequence & 0xff);
  return bytes;
}

// The notification id at the end of an index row: (tenant, "c", time, id),
// (tenant, "u", customer, time, id) or (tenant, "d", time, id).
absl::StatusOr<std::string> IndexedId(std::string_view key) {
  KeyReader reader(key);
  ASSIGN_OR_RETURN(std::string tenant, reader.ReadString());
  (void)tenant;
  ASSIGN_OR_RETURN(std::string_view kind, reader.ReadFixedBytes(1));
  if (kind == kCustomerKind) {
    ASSIGN_OR_RETURN(std::string customer, reader.ReadString());
    (void)customer;
  }
  ASSIGN_OR_RETURN(std::string_view time, reader.ReadFixedBytes(8));  // int64, either order
  (void)time;
  return reader.ReadString();
}

absl::Status IteratorStatus(const rocksdb::Iterator& it, absl::string_view what) {
  if (it.status().ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " failed: ", it.status().ToString()));
}

// Calls visit(message) for every row of `family` under (tenant, kind) in id
// order after `after_id`, until it returns false.
template <typename Message>
absl::Status ScanKind(const store::RocksStore& rocks, rocksdb::ColumnFamilyHandle* family,
                      const std::string& tenant, std::string_view kind, std::string_view after_id,
                      absl::string_view what, absl::FunctionRef<bool(const Message&)> visit) {
  const std::string prefix = KindPrefix(tenant, kind);
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it,
                   rocks.NewIterator(family, {.lower_bound = prefix,
                                              .upper_bound = store::PrefixSuccessor(prefix)}));
  if (after_id.empty()) {
    it->Seek(prefix);
  } else {
    const std::string after = Key(tenant, kind, after_id);
    it->Seek(after);
    if (it->Valid() && it->key().ToStringView() == after) it->Next();
  }
  for (; it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(Message message, store::ParseRow<Message>(it->value().ToStringView(), what));
    if (!visit(message)) break;
  }
  return IteratorStatus(*it, what);
}

}  // namespace

// The due-work index (see the header): per tenant, the (due micros, id) of
// every outbox row and of every timeline append row.
class NotifyStore::DueIndex {
 public:
  using Rows = absl::btree_set<std::pair<int64_t, std::string>>;
  struct TenantRows {
    Rows outbox;
    Rows timeline;
  };
  absl::Mutex mu;
  absl::btree_map<std::string, TenantRows> tenants ABSL_GUARDED_BY(mu);
};

class NotifyStore::HotRows {
 public:
  // tenant, '\0', id
  static std::string NotificationKey(std::string_view tenant, std::string_view id) {
    std::string key;
    key.reserve(tenant.size() + 1 + id.size());
    key.append(tenant);
    key.push_back('\0');
    key.append(id);
    return key;
  }
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::shared_ptr<const v1::Notification>> sending
      ABSL_GUARDED_BY(mu);
  // (tenant '\0' template id) -> version -> template
  absl::flat_hash_map<std::string,
                      absl::flat_hash_map<int64_t, std::shared_ptr<const v1::Template>>>
      templates ABSL_GUARDED_BY(mu);
  size_t template_versions ABSL_GUARDED_BY(mu) = 0;
  // Moves on with every template change: a version read from RocksDB is
  // held only if no change committed while it was read.
  uint64_t template_epoch ABSL_GUARDED_BY(mu) = 0;
};

std::vector<std::string> NotifyStore::ColumnFamilies() {
  return {std::string(kConfigFamily), std::string(kMessagesFamily), std::string(kOutboxFamily),
          kRequestsFamily};
}

absl::StatusOr<NotifyStore> NotifyStore::Attach(store::RocksStore& rocks) {
  NotifyStore store;
  store.store_ = &rocks;
  ASSIGN_OR_RETURN(store.config_, rocks.ColumnFamily(kConfigFamily));
  ASSIGN_OR_RETURN(store.messages_, rocks.ColumnFamily(kMessagesFamily));
  ASSIGN_OR_RETURN(store.outbox_, rocks.ColumnFamily(kOutboxFamily));
  ASSIGN_OR_RETURN(store.requests_, rocks.ColumnFamily(kRequestsFamily));
  store.due_index_ = std::make_shared<DueIndex>();
  store.hot_rows_ = std::make_shared<HotRows>();
  store.last_sent_mu_ = std::make_shared<absl::Mutex>();
  RETURN_IF_ERROR(store.LoadDueIndex());
  return store;
}

absl::Status NotifyStore::LoadDueIndex() {
  absl::btree_map<std::string, DueIndex::TenantRows> tenants;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it, store_->NewIterator(outbox_, {}));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      KeyReader reader(it->key().ToStringView());
      ASSIGN_OR_RETURN(std::string tenant, reader.ReadString());
      ASSIGN_OR_RETURN(int64_t due_micros, reader.ReadInt64());
      ASSIGN_OR_RETURN(std::string id, reader.ReadString());
      tenants[tenant].outbox.emplace(due_micros, std::move(id));
    }
    RETURN_IF_ERROR(IteratorStatus(*it, "outbox load"));
  }
  ASSIGN_OR_RETURN(const std::vector<std::string> all_tenants, Tenants());
  for (const std::string& tenant : all_tenants) {
    const std::string prefix = KindPrefix(tenant, kTimelineKind);
    ASSIGN_OR_RETURN(
        std::unique_ptr<rocksdb::Iterator> it,
        store_->NewIterator(
            messages_, {.lower_bound = prefix, .upper_bound = store::PrefixSuccessor(prefix)}));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      KeyReader reader(it->key().ToStringView());
      ASSIGN_OR_RETURN(std::string key_tenant, reader.ReadString());
      (void)key_tenant;
      ASSIGN_OR_RETURN(std::string_view kind, reader.ReadFixedBytes(1));
      (void)kind;
      ASSIGN_OR_RETURN(int64_t due_micros, reader.ReadInt64());
      ASSIGN_OR_RETURN(std::string id, reader.ReadString());
      tenants[tenant].timeline.emplace(due_micros, std::move(id));
    }
    RETURN_IF_ERROR(IteratorStatus(*it, "timeline load"));
  }
  absl::MutexLock lock(&due_index_->mu);
  due_index_->tenants = std::move(tenants);
  return absl::OkStatus();
}

void NotifyStore::Batch::PutTemplate(const std::string& tenant, const v1::Template& latest) {
  const std::string_view id = ResourceIdOf(latest.name());
  const std::string bytes = latest.SerializeAsString();
  batch_.Put(store_->config_, Key(tenant, kTemplateKind, id), bytes);
  batch_.Put(store_->config_, VersionKey(tenant, id, latest.version()), bytes);
  hot_changes_.push_back({.tenant = tenant, .id = std::string(id), .template_row = true});
}

void NotifyStore::Batch::DeleteTemplate(const std::string& tenant, const std::string& template_name,
                                        int64_t latest_version) {
  const std::string_view id = ResourceIdOf(template_name);
  batch_.Delete(store_->config_, Key(tenant, kTemplateKind, id));
  // Versions are 1..latest: one range delete instead of a row each.
  batch_.DeleteRange(store_->config_, VersionKey(tenant, id, 1),
                     VersionKey(tenant, id, latest_version + 1));
  hot_changes_.push_back({.tenant = tenant, .id = std::string(id), .template_row = true});
}

void NotifyStore::Batch::PutTriggerRule(const std::string& tenant, const v1::TriggerRule& rule) {
  batch_.Put(store_->config_, Key(tenant, kRuleKind, ResourceIdOf(rule.name())),
             rule.SerializeAsString());
}

void NotifyStore::Batch::DeleteTriggerRule(const std::string& tenant,
                                           const std::string& rule_name) {
  batch_.Delete(store_->config_, Key(tenant, kRuleKind, ResourceIdOf(rule_name)));
}

void NotifyStore::Batch::PutTriggerSequence(const std::string& tenant, uint64_t sequence) {
  batch_.Put(store_->config_, KindPrefix(tenant, kSequenceKind), EncodeSequence(sequence));
}

void NotifyStore::Batch::PutTriggerLastSent(const std::string& tenant, const std::string& rule_name,
                                            const std::string& customer_name, absl::Time sent) {
  batch_.Put(store_->config_, LastSentKey(tenant, rule_name, customer_name),
             EncodeSequence(static_cast<uint64_t>(absl::ToUnixMicros(sent))));
  writes_last_sent_ = true;
}

void NotifyStore::Batch::PutNotification(const std::string& tenant, const v1::Notification& current,
                                         const v1::Notification* previous) {
  batch_.Put(store_->messages_, Key(tenant, kNotificationKind, ResourceIdOf(current.name())),
             current.SerializeAsString());
  hot_changes_.push_back({.tenant = tenant,
                          .id = std::string(ResourceIdOf(current.name())),
                          .sending = current.state() == v1::Notification::STATE_SENDING
                                         ? std::make_shared<const v1::Notification>(current)
                                         : nullptr});
  if (previous == nullptr) {
    batch_.Put(store_->messages_, NewestKey(tenant, current), "");
    if (!current.resolved_customer().empty()) {
      batch_.Put(store_->messages_, CustomerKey(tenant, current), "");
    }
  }
  const bool was_dead =
      previous != nullptr && previous->state() == v1::Notification::STATE_DEAD_LETTERED;
  const bool is_dead = current.state() == v1::Notification::STATE_DEAD_LETTERED;
  // Applied in order: when both name the same key, the Put wins.
  if (was_dead) batch_.Delete(store_->messages_, DeadLetterKey(tenant, *previous));
  if (is_dead) batch_.Put(store_->messages_, DeadLetterKey(tenant, current), "");
}

void NotifyStore::Batch::DeleteNotification(const std::string& tenant,
                                            const v1::Notification& notification) {
  batch_.Delete(store_->messages_,
                Key(tenant, kNotificationKind, ResourceIdOf(notification.name())));
  batch_.Delete(store_->messages_, NewestKey(tenant, notification));
  if (!notification.resolved_customer().empty()) {
    batch_.Delete(store_->messages_, CustomerKey(tenant, notification));
  }
  if (notification.state() == v1::Notification::STATE_DEAD_LETTERED) {
    batch_.Delete(store_->messages_, DeadLetterKey(tenant, notification));
  }
  hot_changes_.push_back(
      {.tenant = tenant, .id = std::string(ResourceIdOf(notification.name())), .sending = nullptr});
}

void NotifyStore::Batch::PutTemplateUse(const std::string& tenant,
                                        const v1::Notification& notification) {
  batch_.Put(store_->messages_, TemplateUseKey(tenant, notification), "");
}

void NotifyStore::Batch::DeleteTemplateUse(const std::string& tenant,
                                           const v1::Notification& notification) {
  batch_.Delete(store_->messages_, TemplateUseKey(tenant, notification));
}

void NotifyStore::Batch::MarkTemplateUsesIndexed(const std::string& tenant) {
  batch_.Put(store_->messages_, KindPrefix(tenant, kTemplateUsesIndexedKind), "");
}

void NotifyStore::Batch::PutIdempotencyKey(const std::string& tenant, const std::string& key,
                                           const std::string& notification_name) {
  batch_.Put(store_->messages_, Key(tenant, kIdempotencyKind, key), notification_name);
}

void NotifyStore::Batch::PutReplaceKey(const std::string& tenant, const std::string& key,
                                       const std::string& notification_name) {
  batch_.Put(store_->messages_, Key(tenant, kReplaceKind, key), notification_name);
}

void NotifyStore::Batch::DeleteReplaceKey(const std::string& tenant, const std::string& key) {
  batch_.Delete(store_->messages_, Key(tenant, kReplaceKind, key));
}

void NotifyStore::Batch::DeleteIdempotencyKey(const std::string& tenant, const std::string& key) {
  batch_.Delete(store_->messages_, Key(tenant, kIdempotencyKind, key));
}

void NotifyStore::Batch::PutProviderMessageId(const std::string& tenant,
                                              const std::string& provider,
                                              const std::string& provider_message_id,
                                              const std::string& notification_name) {
  batch_.Put(store_->messages_, ProviderMessageKey(tenant, provider, provider_message_id),
             notification_name);
}

void NotifyStore::Batch::DeleteProviderMessageId(const std::string& tenant,
                                                 const std::string& provider,
                                                 const std::string& provider_message_id) {
  batch_.Delete(store_->messages_, ProviderMessageKey(tenant, provider, provider_message_id));
}

void NotifyStore::Batch::PutOutbox(const std::string& tenant, absl::Time due,
                                   const std::string& notification_name) {
  const std::string_view id = ResourceIdOf(notification_name);
  batch_.Put(store_->outbox_, OutboxKey(tenant, due, id), "");
  due_changes_.push_back({.timeline = false,
                          .put = true,
                          .tenant = tenant,
                          .due_micros = absl::ToUnixMicros(due),
                          .id = std::string(id)});
}

void NotifyStore::Batch::DeleteOutbox(const std::string& tenant, absl::Time due,
                                      const std::string& notification_name) {
  const std::string_view id = ResourceIdOf(notification_name);
  batch_.Delete(store_->outbox_, OutboxKey(tenant, due, id));
  due_changes_.push_back({.timeline = false,
                          .put = false,
                          .tenant = tenant,
                          .due_micros = absl::ToUnixMicros(due),
                          .id = std::string(id)});
}

void NotifyStore::Batch::PutTimelineAppend(
    const std::string& tenant, absl::Time due, const std::string& notification_name,
    const cxp::context::v1::AppendInteractionRequest& request) {
  const std::string_view id = ResourceIdOf(notification_name);
  batch_.Put(store_->messages_, TimelineKey(tenant, due, id), request.SerializeAsString());
  due_changes_.push_back({.timeline = true,
                          .put = true,
                          .tenant = tenant,
                          .due_micros = absl::ToUnixMicros(due),
                          .id = std::string(id)});
}

void NotifyStore::Batch::DeleteTimelineAppend(const std::string& tenant, absl::Time due,
                                              const std::string& notification_name) {
  const std::string_view id = ResourceIdOf(notification_name);
  batch_.Delete(store_->messages_, TimelineKey(tenant, due, id));
  due_changes_.push_back({.timeline = true,
                          .put = false,
                          .tenant = tenant,
                          .due_micros = absl::ToUnixMicros(due),
                          .id = std::string(id)});
}

void NotifyStore::Batch::PutStoredResponse(const std::string& tenant, const std::string& method,
                                           const std::string& request_id,
                                           const idempotency::StoredResponse& response) {
  batch_.Put(store_->requests_, RequestKey(tenant, method, request_id),
             response.SerializeAsString());
}

absl::Status NotifyStore::Commit(Batch& batch) const {
  if (batch.empty()) return absl::OkStatus();
  if (batch.writes_last_sent_) {
    absl::MutexLock lock(last_sent_mu_.get());
    RETURN_IF_ERROR(store_->WriteUnsynced(&batch.batch_));
  } else {
    RETURN_IF_ERROR(store_->WriteUnsynced(&batch.batch_));
  }
  ApplyHotRowChanges(batch);
  if (batch.due_changes_.empty()) return absl::OkStatus();
  absl::MutexLock lock(&due_index_->mu);
  // In the batch's order: a delete and a put of the same row leave it, as
  // in RocksDB.
  for (Batch::DueRowChange& change : batch.due_changes_) {
    auto at = due_index_->tenants.find(change.tenant);
    if (at == due_index_->tenants.end()) {
      if (!change.put) continue;
      at = due_index_->tenants.try_emplace(change.tenant).first;
    }
    DueIndex::Rows& rows = change.timeline ? at->second.timeline : at->second.outbox;
    if (change.put) {
      rows.emplace(change.due_micros, std::move(change.id));
    } else {
      rows.erase({change.due_micros, change.id});
      if (at->second.outbox.empty() && at->second.timeline.empty()) {
        due_index_->tenants.erase(at);
      }
    }
  }
  batch.due_changes_.clear();
  return absl::OkStatus();
}

void NotifyStore::ApplyHotRowChanges(Batch& batch) const {
  if (batch.hot_changes_.empty()) return;
  HotRows& hot = *hot_rows_;
  absl::MutexLock lock(&hot.mu);
  for (Batch::HotRowChange& change : batch.hot_changes_) {
    const std::string key = HotRows::NotificationKey(change.tenant, change.id);
    if (change.template_row) {
      // Versions are immutable while the template lives; a delete (and a
      // later template of the same id) starts over.
      ++hot.template_epoch;
      if (auto at = hot.templates.find(key); at != hot.templates.end()) {
        hot.template_versions -= at->second.size();
        hot.templates.erase(at);
      }
    } else if (change.sending == nullptr) {
      hot.sending.erase(key);
    } else if (hot.sending.size() < kMaxHotNotifications || hot.sending.contains(key)) {
      hot.sending[key] = std::move(change.sending);
    }
  }
  batch.hot_changes_.clear();
}

absl::StatusOr<std::optional<v1::Template>> NotifyStore::GetTemplate(const std::string& tenant,
                                                                     const std::string& name,
                                                                     int64_t version) const {
  const std::string_view id = ResourceIdOf(name);
  if (version == 0)
    return GetRow<v1::Template>(*store_, config_, Key(tenant, kTemplateKind, id), "template");
  HotRows& hot = *hot_rows_;
  const std::string key = HotRows::NotificationKey(tenant, id);
  uint64_t epoch = 0;
  {
    absl::MutexLock lock(&hot.mu);
    if (auto at = hot.templates.find(key); at != hot.templates.end()) {
      if (auto held = at->second.find(version); held != at->second.end()) return *held->second;
    }
    epoch = hot.template_epoch;
  }
  ASSIGN_OR_RETURN(
      std::optional<v1::Template> stored,
      GetRow<v1::Template>(*store_, config_, VersionKey(tenant, id, version), "template version"));
  if (stored) {
    absl::MutexLock lock(&hot.mu);
    if (hot.template_epoch != epoch) return stored;  // a template changed meanwhile
    if (hot.template_versions >= kMaxHotTemplateVersions) {
      hot.templates.clear();
      hot.template_versions = 0;
    }
    auto [at, inserted] =
        hot.templates[key].try_emplace(version, std::make_shared<const v1::Template>(*stored));
    if (inserted) ++hot.template_versions;
  }
  return stored;
}

absl::Status NotifyStore::ScanTemplates(const std::string& tenant, const std::string& after_name,
                                        absl::FunctionRef<bool(const v1::Template&)> visit) const {
  return ScanKind<v1::Template>(*store_, config_, tenant, kTemplateKind, ResourceIdOf(after_name),
                                "template", visit);
}

absl::StatusOr<std::optional<v1::TriggerRule>> NotifyStore::GetTriggerRule(
    const std::string& tenant, const std::string& name) const {
  return GetRow<v1::TriggerRule>(*store_, config_, Key(tenant, kRuleKind, ResourceIdOf(name)),
                                 "trigger rule");
}

absl::Status NotifyStore::ScanTriggerRules(
    const std::string& tenant, const std::string& after_name,
    absl::FunctionRef<bool(const v1::TriggerRule&)> visit) const {
  return ScanKind<v1::TriggerRule>(*store_, config_, tenant, kRuleKind, ResourceIdOf(after_name),
                                   "trigger rule", visit);
}

absl::StatusOr<uint64_t> NotifyStore::GetTriggerSequence(const std::string& tenant) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(config_, KindPrefix(tenant, kSequenceKind)));
  if (!bytes) return 0;
  if (bytes->size() != 8) return absl::DataLossError("corrupt trigger sequence row");
  uint64_t sequence = 0;
  for (unsigned char byte : *bytes) sequence = (sequence << 8) | byte;
  return sequence;
}

absl::StatusOr<std::optional<absl::Time>> NotifyStore::GetTriggerLastSent(
    const std::string& tenant, const std::string& rule_name,
    const std::string& customer_name) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(config_, LastSentKey(tenant, rule_name, customer_name)));
  if (!bytes) return std::nullopt;
  if (bytes->size() != 8) return absl::DataLossError("corrupt trigger last-sent row");
  uint64_t micros = 0;
  for (unsigned char byte : *bytes) micros = (micros << 8) | byte;
  return absl::FromUnixMicros(static_cast<int64_t>(micros));
}

absl::StatusOr<size_t> NotifyStore::PurgeTriggerLastSent(
    const std::string& tenant, size_t max_rows, std::optional<LastSentRow>& resume,
    absl::FunctionRef<bool(const std::string& rule_id, const std::string& customer_id,
                           absl::Time sent)>
        expired) const {
  const std::string prefix = KindPrefix(tenant, kLastSentKind);
  absl::MutexLock lock(last_sent_mu_.get());
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it,
                   store_->NewIterator(config_, {.lower_bound = prefix,
                                                 .upper_bound = store::PrefixSuccessor(prefix)}));
  if (resume) {
    const std::string after = LastSentKey(tenant, resume->rule_id, resume->customer_id);
    it->Seek(after);
    if (it->Valid() && it->key().ToStringView() == after) it->Next();
  } else {
    it->Seek(prefix);
  }
  rocksdb::WriteBatch batch;
  size_t rows = 0;
  std::optional<LastSentRow> last;
  for (; it->Valid() && rows < max_rows; it->Next(), ++rows) {
    KeyReader reader(it->key().ToStringView());
    ASSIGN_OR_RETURN(std::string key_tenant, reader.ReadString());
    (void)key_tenant;
    ASSIGN_OR_RETURN(std::string_view kind, reader.ReadFixedBytes(1));
    (void)kind;
    ASSIGN_OR_RETURN(std::string rule_id, reader.ReadString());
    ASSIGN_OR_RETURN(std::string customer_id, reader.ReadString());
    const std::string_view bytes = it->value().ToStringView();
    if (bytes.size() != 8) return absl::DataLossError("corrupt trigger last-sent row");
    uint64_t micros = 0;
    for (unsigned char byte : bytes) micros = (micros << 8) | byte;
    if (expired(rule_id, customer_id, absl::FromUnixMicros(static_cast<int64_t>(micros)))) {
      batch.Delete(config_, it->key());
    }
    last = LastSentRow{std::move(rule_id), std::move(customer_id)};
  }
  RETURN_IF_ERROR(IteratorStatus(*it, "trigger last-sent scan"));
  const bool more = it->Valid();
  it.reset();
  const size_t deleted = static_cast<size_t>(batch.Count());
  if (deleted > 0) RETURN_IF_ERROR(store_->WriteUnsynced(&batch));
  resume = more ? last : std::nullopt;
  return deleted;
}

absl::StatusOr<std::optional<v1::Notification>> NotifyStore::GetNotification(
    const std::string& tenant, const std::string& name) const {
  {
    HotRows& hot = *hot_rows_;
    absl::MutexLock lock(&hot.mu);
    if (auto at = hot.sending.find(HotRows::NotificationKey(tenant, ResourceIdOf(name)));
        at != hot.sending.end()) {
      return *at->second;
    }
  }
  return GetRow<v1::Notification>(
      *store_, messages_, Key(tenant, kNotificationKind, ResourceIdOf(name)), "notification");
}

absl::StatusOr<std::optional<std::string>> NotifyStore::FindByIdempotencyKey(
    const std::string& tenant, const std::string& key) const {
  return store_->Get(messages_, Key(tenant, kIdempotencyKind, key));
}

absl::StatusOr<std::optional<std::string>> NotifyStore::FindByReplaceKey(
    const std::string& tenant, const std::string& key) const {
  return store_->Get(messages_, Key(tenant, kReplaceKind, key));
}

absl::StatusOr<std::optional<std::string>> NotifyStore::FindByProviderMessageId(
    const std::string& tenant, const std::string& provider,
    const std::string& provider_message_id) const {
  return store_->Get(messages_, ProviderMessageKey(tenant, provider, provider_message_id));
}

absl::Status NotifyStore::ScanNotificationsNewestFirst(
    const std::string& tenant, const std::string& customer, const std::string& resume_key,
    size_t max_rows,
    absl::FunctionRef<bool(const std::string& key, const v1::Notification&)> visit) const {
  return ScanIndex(
      tenant, customer.empty() ? KindPrefix(tenant, kNewestKind) : CustomerPrefix(tenant, customer),
      resume_key, max_rows, visit);
}

absl::Status NotifyStore::ScanNotificationsCreatedBefore(
    const std::string& tenant, absl::Time created_before, const std::string& resume_key,
    size_t max_rows,
    absl::FunctionRef<bool(const std::string& key, const v1::Notification&)> visit) const {
  // Newest first: rows created before `created_before` follow this key.
  const std::string start = KeyBuilder(tenant)
                                .AddFixedBytes(kNewestKind)
                                .AddInt64Descending(absl::ToUnixMicros(created_before))
                                .key();
  return ScanIndex(tenant, KindPrefix(tenant, kNewestKind), resume_key.empty() ? start : resume_key,
                   max_rows, visit);
}

absl::StatusOr<std::vector<std::string>> NotifyStore::TemplateUsers(
    const std::string& tenant, const std::string& template_name, size_t max) const {
  const std::string prefix = TemplateUsePrefix(tenant, template_name);
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it,
                   store_->NewIterator(messages_, {.lower_bound = prefix,
                                                   .upper_bound = store::PrefixSuccessor(prefix)}));
  std::vector<std::string> users;
  for (it->Seek(prefix); it->Valid() && users.size() < max; it->Next()) {
    KeyReader reader(it->key().ToStringView().substr(prefix.size()));
    ASSIGN_OR_RETURN(std::string id, reader.ReadString());
    users.push_back(absl::StrCat("notifications/", id));
  }
  RETURN_IF_ERROR(IteratorStatus(*it, "template use scan"));
  return users;
}

absl::StatusOr<bool> NotifyStore::TemplateUsesIndexed(const std::string& tenant) const {
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store_->Get(messages_, KindPrefix(tenant, kTemplateUsesIndexedKind)));
  return row.has_value();
}

absl::Status NotifyStore::ScanDeadLetters(
    const std::string& tenant, const std::string& resume_key, size_t max_rows,
    absl::FunctionRef<bool(const std::string& key, const v1::Notification&)> visit) const {
  return ScanIndex(tenant, KindPrefix(tenant, kDeadLetterKind), resume_key, max_rows, visit);
}

absl::Status NotifyStore::ScanIndex(
    const std::string& tenant, const std::string& prefix, const std::string& resume_key,
    size_t max_rows,
    absl::FunctionRef<bool(const std::string& key, const v1::Notification&)> visit) const {
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it,
                   store_->NewIterator(messages_, {.lower_bound = prefix,
                                                   .upper_bound = store::PrefixSuccessor(prefix)}));
  if (resume_key.empty()) {
    it->Seek(prefix);
  } else {
    it->Seek(resume_key);
    if (it->Valid() && it->key().ToStringView() == resume_key) it->Next();
  }
  for (size_t rows = 0; it->Valid() && rows < max_rows; it->Next(), ++rows) {
    // Every index row ends with the notification id (its last component).
    const std::string key(it->key().ToStringView());
    ASSIGN_OR_RETURN(std::string id, IndexedId(key));
    ASSIGN_OR_RETURN(std::optional<v1::Notification> notification, GetNotification(tenant, id));
    if (!notification) continue;  // written in the same batch; absent only mid-deletion
    if (!visit(key, *notification)) break;
  }
  return IteratorStatus(*it, "notification index scan");
}

absl::StatusOr<std::vector<NotifyStore::DueWork>> NotifyStore::ScanDue(const std::string& tenant,
                                                                       absl::Time now,
                                                                       size_t max_rows) const {
  const int64_t now_micros = absl::ToUnixMicros(now);  // saturates for infinite times
  std::vector<DueWork> due;
  absl::MutexLock lock(&due_index_->mu);
  auto at = due_index_->tenants.find(tenant);
  if (at == due_index_->tenants.end()) return due;
  for (const auto& [due_micros, id] : at->second.outbox) {
    if (due_micros > now_micros || due.size() >= max_rows) break;
    due.push_back({absl::FromUnixMicros(due_micros), absl::StrCat("notifications/", id)});
  }
  return due;
}

absl::StatusOr<std::optional<absl::Time>> NotifyStore::NextDue(const std::string& tenant) const {
  ASSIGN_OR_RETURN(std::vector<DueWork> first, ScanDue(tenant, absl::InfiniteFuture(), 1));
  if (first.empty()) return std::nullopt;
  return first.front().due;
}

absl::StatusOr<std::vector<NotifyStore::TimelineWork>> NotifyStore::ScanTimelineDue(
    const std::string& tenant, absl::Time now, size_t max_rows,
    absl::FunctionRef<bool(const std::string& notification_name)> skip) const {
  const int64_t now_micros = absl::ToUnixMicros(now);  // saturates for infinite times
  std::vector<std::pair<int64_t, std::string>> rows;
  {
    absl::MutexLock lock(&due_index_->mu);
    auto at = due_index_->tenants.find(tenant);
    if (at != due_index_->tenants.end()) {
      for (const auto& row : at->second.timeline) {
        if (row.first > now_micros || rows.size() >= max_rows) break;
        if (skip(absl::StrCat("notifications/", row.second))) continue;
        rows.push_back(row);
      }
    }
  }
  std::vector<TimelineWork> due;
  for (auto& [due_micros, id] : rows) {
    const absl::Time due_time = absl::FromUnixMicros(due_micros);
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     store_->Get(messages_, TimelineKey(tenant, due_time, id)));
    if (!bytes) continue;  // deleted since the index was read
    ASSIGN_OR_RETURN(
        cxp::context::v1::AppendInteractionRequest request,
        store::ParseRow<cxp::context::v1::AppendInteractionRequest>(*bytes, "timeline append"));
    due.push_back({due_time, absl::StrCat("notifications/", id), std::move(request)});
  }
  return due;
}

absl::StatusOr<std::vector<NotifyStore::DueRow>> NotifyStore::FirstTimelineRows(
    const std::string& tenant, size_t max_rows) const {
  std::vector<DueRow> rows;
  absl::MutexLock lock(&due_index_->mu);
  auto at = due_index_->tenants.find(tenant);
  if (at == due_index_->tenants.end()) return rows;
  for (const auto& [due_micros, id] : at->second.timeline) {
    if (rows.size() >= max_rows) break;
    rows.push_back({absl::FromUnixMicros(due_micros), absl::StrCat("notifications/", id)});
  }
  return rows;
}

absl::StatusOr<bool> NotifyStore::HasTimelineAppend(const std::string& tenant, absl::Time due,
                                                    const std::string& notification_name) const {
  ASSIGN_OR_RETURN(
      std::optional<std::string> row,
      store_->Get(messages_, TimelineKey(tenant, due, ResourceIdOf(notification_name))));
  return row.has_value();
}

absl::StatusOr<std::optional<absl::Time>> NotifyStore::NextTimelineDue(
    const std::string& tenant) const {
  absl::MutexLock lock(&due_index_->mu);
  auto at = due_index_->tenants.find(tenant);
  if (at == due_index_->tenants.end() || at->second.timeline.empty()) return std::nullopt;
  return absl::FromUnixMicros(at->second.timeline.begin()->first);
}

std::vector<std::string> NotifyStore::TimelineAppendIds(const std::string& tenant) const {
  std::vector<std::string> ids;
  absl::MutexLock lock(&due_index_->mu);
  auto at = due_index_->tenants.find(tenant);
  if (at == due_index_->tenants.end()) return ids;
  for (const auto& [due_micros, id] : at->second.timeline) ids.push_back(id);
  return ids;
}

absl::StatusOr<std::vector<std::string>> NotifyStore::Tenants() const {
  return TenantsIn({config_, outbox_, messages_});
}

absl::StatusOr<std::vector<std::string>> NotifyStore::ConfiguredTenants() const {
  return TenantsIn({config_});
}

absl::StatusOr<std::vector<std::string>> NotifyStore::TenantsIn(
    std::initializer_list<rocksdb::ColumnFamilyHandle*> families) const {
  absl::btree_set<std::string> tenants;
  for (rocksdb::ColumnFamilyHandle* family : families) {
    ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it, store_->NewIterator(family, {}));
    it->SeekToFirst();
    while (it->Valid()) {
      KeyReader reader(it->key().ToStringView());
      ASSIGN_OR_RETURN(std::string tenant, reader.ReadString());
      // Skip the rest of this tenant's keys in one seek.
      it->Seek(store::PrefixSuccessor(store::TenantPrefix(tenant)));
      tenants.insert(std::move(tenant));
    }
    RETURN_IF_ERROR(IteratorStatus(*it, "tenant scan"));
  }
  return std::vector<std::string>(tenants.begin(), tenants.end());
}

std::vector<std::string> NotifyStore::TenantsWithDueWork() const {
  std::vector<std::string> tenants;
  absl::MutexLock lock(&due_index_->mu);
  for (const auto& [tenant, rows] : due_index_->tenants) tenants.push_back(tenant);
  return tenants;
}

absl::StatusOr<std::optional<idempotency::StoredResponse>> NotifyStore::GetStoredResponse(
    const std::string& tenant, const std::string& method, const std::string& request_id) const {
  return GetRow<idempotency::StoredResponse>(
      *store_, requests_, RequestKey(tenant, method, request_id), "stored response");
}

}  // namespace cxp::notify
