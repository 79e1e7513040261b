#include "context_service/core/context_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"
#include "common/store/key_codec.h"
#include "context_service/core/interaction_head.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/time_util.h"
#include "google/protobuf/wire_format_lite.h"

namespace cxp::context {
namespace {

using store::KeyBuilder;
using store::PrefixSuccessor;

// One-byte tags of the customer_state rows.
constexpr char kStatsTag[] = "s";
constexpr char kConsentTag[] = "c";
constexpr char kPreferencesTag[] = "p";
constexpr char kHeadTag[] = "h";
constexpr char kTimelineTag[] = "t";
constexpr char kJourneyTag[] = "j";
constexpr char kChangeTag[] = "e";
constexpr char kHandoffTag[] = "f";
constexpr char kOpenJourneysTag[] = "o";
constexpr char kSurvivorMergesTag[] = "m";
// merges: the record, and the records each customer took part in.
constexpr char kMergeRecordTag[] = "r";
constexpr char kParticipantRecordsTag[] = "s";
// journeys_by_time: per customer, and tenant-wide.
constexpr char kCustomerJourneysTag[] = "c";
constexpr char kTenantJourneysTag[] = "a";

// Layout versions: 1 = without interaction heads; 2 = with them; 3 = the
// timeline in customer_state, after the customer's state rows.
constexpr char kLayoutVersionKey[] = "context_layout_version";
constexpr char kCurrentLayoutVersion[] = "3";
constexpr int kMigrationBatchRows = 10000;

std::string CustomerKey(const std::string& tenant, const std::string& id) {
  return KeyBuilder(tenant).AddString(id).key();
}

std::string StateKey(const std::string& tenant, const std::string& id, const char* tag) {
  return KeyBuilder(tenant).AddString(id).AddFixedBytes(tag).key();
}

std::string TimeIndexKey(const std::string& tenant, const std::string& id, int64_t create_micros) {
  return KeyBuilder(tenant).AddInt64Descending(create_micros).AddString(id).key();
}

std::string IdentityRowKey(const std::string& tenant, const std::string& identity_key) {
  return KeyBuilder(tenant).AddString(identity_key).key();
}

// The timeline's key prefix up to and including the occur time, if given.
KeyBuilder TimelineKeyBuilder(const std::string& tenant, const std::string& id) {
  KeyBuilder builder(tenant);
  builder.AddString(id).AddFixedBytes(kTimelineTag);
  return builder;
}

std::string TimelineKey(const std::string& tenant, const std::string& id, int64_t occur_micros,
                        uint64_t seq) {
  return TimelineKeyBuilder(tenant, id)
      .AddInt64Descending(occur_micros)
      .AddUint64Descending(seq)
      .key();
}

std::string JourneyKey(const std::string& tenant, const std::string& id,
                       const std::string& journey_id) {
  return KeyBuilder(tenant).AddString(id).AddFixedBytes(kJourneyTag).AddString(journey_id).key();
}

KeyBuilder CustomerJourneysPrefix(const std::string& tenant, const std::string& id) {
  KeyBuilder builder(tenant);
  builder.AddFixedBytes(kCustomerJourneysTag).AddString(id);
  return builder;
}

std::string CustomerJourneyIndexKey(const std::string& tenant, const std::string& id,
                                    const std::string& journey_id, int64_t update_micros) {
  return CustomerJourneysPrefix(tenant, id)
      .AddInt64Descending(update_micros)
      .AddString(journey_id)
      .key();
}

std::string TenantJourneyIndexKey(const std::string& tenant, const std::string& id,
                                  const std::string& journey_id, int64_t update_micros) {
  return KeyBuilder(tenant)
      .AddFixedBytes(kTenantJourneysTag)
      .AddInt64Descending(update_micros)
      .AddString(id)
      .AddString(journey_id)
      .key();
}

// (tenant, 'c', customer, update desc, journey) or
// (tenant, 'a', update desc, customer, journey).
absl::StatusOr<ContextStore::JourneyIndexEntry> ParseJourneyIndexKey(std::string_view key,
                                                                     bool per_customer) {
  store::KeyReader reader(key);
  ContextStore::JourneyIndexEntry entry;
  RETURN_IF_ERROR(reader.ReadString().status());  // tenant
  RETURN_IF_ERROR(reader.ReadFixedBytes(1).status());
  if (per_customer) {
    ASSIGN_OR_RETURN(entry.customer_id, reader.ReadString());
  }
  ASSIGN_OR_RETURN(entry.update_micros, reader.ReadInt64Descending());
  if (!per_customer) {
    ASSIGN_OR_RETURN(entry.customer_id, reader.ReadString());
  }
  ASSIGN_OR_RETURN(entry.journey_id, reader.ReadString());
  RETURN_IF_ERROR(reader.ExpectEnd());
  return entry;
}

std::string ChangeKey(const std::string& tenant, int64_t sequence) {
  return KeyBuilder(tenant).AddUint64(static_cast<uint64_t>(sequence)).key();
}

std::string CustomerChangeKey(const std::string& tenant, const std::string& id, int64_t sequence) {
  return KeyBuilder(tenant)
      .AddString(id)
      .AddFixedBytes(kChangeTag)
      .AddUint64(static_cast<uint64_t>(sequence))
      .key();
}

std::string RequestKey(const std::string& tenant, const std::string& method,
                       const std::string& request_id) {
  return KeyBuilder(tenant).AddString(method).AddString(request_id).key();
}

template <typename Message>
absl::StatusOr<std::optional<Message>> ParseOptional(const std::optional<std::string>& bytes,
                                                     const char* what) {
  if (!bytes) return std::nullopt;
  Message message;
  if (!message.ParseFromString(*bytes)) {
    return absl::DataLossError(std::string("corrupt ") + what + " record");
  }
  return message;
}

// What follows `prefix` in each key of `family` that starts with it, read
// with `read(KeyReader&) -> StatusOr<T>` (index rows whose key is the data).
template <typename T, typename Read>
absl::StatusOr<std::vector<T>> KeySuffixes(const store::RocksStore& rocks,
                                           rocksdb::ColumnFamilyHandle* family,
                                           const std::string& prefix, Read read, const char* what) {
  std::vector<T> values;
  bool corrupt = false;
  RETURN_IF_ERROR(rocks.ScanPrefix(family, prefix, store::RocksStore::kNoLimit,
                                   [&](std::string_view key, std::string_view) {
                                     store::KeyReader reader(key.substr(prefix.size()));
                                     absl::StatusOr<T> value = read(reader);
                                     if (!value.ok()) {
                                       corrupt = true;
                                       return false;
                                     }
                                     values.push_back(*std::move(value));
                                     return true;
                                   }));
  if (corrupt) return absl::DataLossError(absl::StrCat("corrupt ", what, " key"));
  return values;
}

// Scans [lower, upper) starting after `resume_key` when set.
absl::Status Scan(const store::RocksStore& rocks, rocksdb::ColumnFamilyHandle* family,
                  std::string lower, std::string upper, const std::string& resume_key,
                  size_t max_rows,
                  absl::FunctionRef<bool(const std::string&, std::string_view)> visit) {
  if (!resume_key.empty()) {
    if (resume_key < lower || (!upper.empty() && resume_key >= upper)) {
      return absl::InvalidArgumentError("page_token: does not belong to this request");
    }
    lower = resume_key;
    lower.push_back('\0');  // the smallest key after resume_key
  }
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it,
                   rocks.NewIterator(family, {.lower_bound = lower, .upper_bound = upper}));
  size_t rows = 0;
  for (it->Seek(lower); it->Valid() && rows < max_rows; it->Next(), ++rows) {
    const rocksdb::Slice key = it->key();
    const rocksdb::Slice value = it->value();
    if (!visit(key.ToString(), std::string_view(value.data(), value.size()))) break;
  }
  if (!it->status().ok()) return absl::InternalError("scan failed: " + it->status().ToString());
  return absl::OkStatus();
}

std::string MergeRecordKey(const std::string& tenant, const std::string& record_id) {
  return KeyBuilder(tenant).AddFixedBytes(kMergeRecordTag).AddString(record_id).key();
}

std::string ParticipantRecordsPrefix(const std::string& tenant, const std::string& id) {
  return KeyBuilder(tenant).AddFixedBytes(kParticipantRecordsTag).AddString(id).key();
}

std::string ParticipantRecordKey(const std::string& tenant, const std::string& id,
                                 const std::string& record_id) {
  return KeyBuilder(tenant)
      .AddFixedBytes(kParticipantRecordsTag)
      .AddString(id)
      .AddString(record_id)
      .key();
}

// One customer's rows in a merged scan: keys in [lower, upper), each
// `prefix` (the customer's) followed by a suffix that orders the rows of
// every customer alike (e.g. occur time descending).
struct MergeSource {
  std::string id;
  std::string prefix;
  std::string lower;
  std::string upper;
};

// Rows of several customers as one sequence ordered by (suffix, customer
// id). Positions given to `visit` (and taken as `resume`, exclusive) are
// (customer id, suffix) encoded with KeyBuilder, so they stay valid when
// the set of customers changes between pages.
absl::Status MergedScan(
    const store::RocksStore& rocks, rocksdb::ColumnFamilyHandle* family,
    std::vector<MergeSource> sources, const std::string& resume, size_t max_rows,
    absl::FunctionRef<bool(const std::string& position, size_t source, std::string_view value)>
        visit) {
  if (!resume.empty()) {
    store::KeyReader reader(resume);
    absl::StatusOr<std::string> resume_id = reader.ReadString();
    if (!resume_id.ok()) return absl::InvalidArgumentError("page_token: malformed position");
    const std::string_view resume_suffix = reader.remaining();
    for (MergeSource& source : sources) {
      // After (suffix, id): a larger suffix, or the same one of a larger id.
      std::string start = source.prefix + std::string(resume_suffix);
      if (source.id <= *resume_id) start.push_back('\0');
      if (start > source.lower) source.lower = std::move(start);
    }
  }
  std::vector<std::unique_ptr<rocksdb::Iterator>> its;
  for (const MergeSource& source : sources) {
    ASSIGN_OR_RETURN(
        std::unique_ptr<rocksdb::Iterator> it,
        rocks.NewIterator(family, {.lower_bound = source.lower, .upper_bound = source.upper}));
    it->Seek(source.lower);
    its.push_back(std::move(it));
  }
  auto suffix = [&](size_t i) {
    return its[i]->key().ToStringView().substr(sources[i].prefix.size());
  };
  for (size_t rows = 0; rows < max_rows; ++rows) {
    // Few sources (a survivor and the customers merged into it): a linear
    // pick is cheaper than a heap.
    std::optional<size_t> next;
    for (size_t i = 0; i < its.size(); ++i) {
      if (!its[i]->Valid()) continue;
      if (!next || std::make_pair(suffix(i), std::string_view(sources[i].id)) <
                       std::make_pair(suffix(*next), std::string_view(sources[*next].id))) {
        next = i;
      }
    }
    if (!next) break;
    const std::string position = KeyBuilder(sources[*next].id).AddFixedBytes(suffix(*next)).key();
    if (!visit(position, *next, its[*next]->value().ToStringView())) break;
    its[*next]->Next();
  }
  for (const auto& it : its) {
    if (!it->status().ok()) return absl::InternalError("scan failed: " + it->status().ToString());
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> ContextStore::ColumnFamilies() {
  return {"profiles",     "profiles_by_time", "customer_state", "identities",
          "interactions", "consent_history",  "requests",       "journeys_by_time",
          "changes",      "handoffs",         "erasures",       "merges"};
}

void ContextStore::ConfigureOptions(rocksdb::Options& options) {
  options.merge_operator = std::make_shared<InteractionHeadMergeOperator>();
}

absl::StatusOr<ContextStore> ContextStore::Attach(store::RocksStore& rocks,
                                                  size_t context_cache_bytes) {
  ContextStore store;
  store.store_ = &rocks;
  store.cache_ = std::make_shared<ContextCache>(context_cache_bytes);
  ASSIGN_OR_RETURN(store.profiles_, rocks.ColumnFamily("profiles"));
  ASSIGN_OR_RETURN(store.profiles_by_time_, rocks.ColumnFamily("profiles_by_time"));
  ASSIGN_OR_RETURN(store.customer_state_, rocks.ColumnFamily("customer_state"));
  ASSIGN_OR_RETURN(store.identities_, rocks.ColumnFamily("identities"));
  ASSIGN_OR_RETURN(store.interactions_, rocks.ColumnFamily("interactions"));
  ASSIGN_OR_RETURN(store.consent_history_, rocks.ColumnFamily("consent_history"));
  ASSIGN_OR_RETURN(store.requests_, rocks.ColumnFamily("requests"));
  ASSIGN_OR_RETURN(store.journeys_by_time_, rocks.ColumnFamily("journeys_by_time"));
  ASSIGN_OR_RETURN(store.changes_, rocks.ColumnFamily("changes"));
  ASSIGN_OR_RETURN(store.handoffs_, rocks.ColumnFamily("handoffs"));
  ASSIGN_OR_RETURN(store.erasures_, rocks.ColumnFamily("erasures"));
  ASSIGN_OR_RETURN(store.merges_, rocks.ColumnFamily("merges"));
  ASSIGN_OR_RETURN(const int64_t last_sequence, store.LastChangeSequence());
  store.sequencer_ = std::make_shared<ChangeSequencer>(last_sequence);
  return store;
}

void ContextStore::Batch::Touch(const std::string& tenant, const std::string& id) {
  touched_.push_back(ContextCache::Key(tenant, id));
}

void ContextStore::Batch::PutCustomer(const std::string& tenant, const std::string& id,
                                      const storage::CustomerRecord& record) {
  Touch(tenant, id);
  batch_.Put(store_->profiles_, CustomerKey(tenant, id), record.SerializeAsString());
}

void ContextStore::Batch::PutCustomerTimeIndex(const std::string& tenant, const std::string& id,
                                               int64_t create_micros) {
  batch_.Put(store_->profiles_by_time_, TimeIndexKey(tenant, id, create_micros), "");
}

void ContextStore::Batch::PutIdentity(const std::string& tenant, const std::string& identity_key,
                                      const std::string& id) {
  batch_.Put(store_->identities_, IdentityRowKey(tenant, identity_key), id);
}

void ContextStore::Batch::DeleteIdentity(const std::string& tenant,
                                         const std::string& identity_key) {
  batch_.Delete(store_->identities_, IdentityRowKey(tenant, identity_key));
}

void ContextStore::Batch::PutInteraction(const std::string& tenant, const std::string& id,
                                         int64_t occur_micros, uint64_t seq,
                                         const cxp::context::v1::Interaction& interaction,
                                         const cxp::context::v1::ChangeEvent* change) {
  Touch(tenant, id);
  std::string bytes = interaction.SerializeAsString();
  batch_.Put(store_->customer_state_, TimelineKey(tenant, id, occur_micros, seq), bytes);
  // The operand is the interaction itself; the merge operator places it.
  batch_.Merge(store_->customer_state_, StateKey(tenant, id, kHeadTag), bytes);
  if (change != nullptr) {
    AddChange(tenant, id, *change);
    changes_.back().payload_field = cxp::context::v1::ChangeEvent::kInteractionFieldNumber;
    changes_.back().payload = std::move(bytes);
  }
}

void ContextStore::Batch::PutHead(const std::string& tenant, const std::string& id,
                                  const std::string& head) {
  Touch(tenant, id);
  batch_.Put(store_->customer_state_, StateKey(tenant, id, kHeadTag), head);
}

void ContextStore::Batch::PutStats(const std::string& tenant, const std::string& id,
                                   const storage::ContactStats& stats) {
  Touch(tenant, id);
  batch_.Put(store_->customer_state_, StateKey(tenant, id, kStatsTag), stats.SerializeAsString());
}

void ContextStore::Batch::PutConsent(const std::string& tenant, const std::string& id,
                                     const storage::ConsentRecord& consent) {
  Touch(tenant, id);
  batch_.Put(store_->customer_state_, StateKey(tenant, id, kConsentTag),
             consent.SerializeAsString());
}

void ContextStore::Batch::PutConsentChange(const std::string& tenant, const std::string& id,
                                           uint64_t seq,
                                           const cxp::context::v1::ConsentChange& change) {
  batch_.Put(store_->consent_history_,
             KeyBuilder(tenant).AddString(id).AddUint64Descending(seq).key(),
             change.SerializeAsString());
}

void ContextStore::Batch::PutPreferences(const std::string& tenant, const std::string& id,
                                         const storage::PreferencesRecord& preferences) {
  Touch(tenant, id);
  batch_.Put(store_->customer_state_, StateKey(tenant, id, kPreferencesTag),
             preferences.SerializeAsString());
}

void ContextStore::Batch::PutStoredResponse(const std::string& tenant, const std::string& method,
                                            const std::string& request_id,
                                            const idempotency::StoredResponse& response) {
  batch_.Put(store_->requests_, RequestKey(tenant, method, request_id),
             response.SerializeAsString());
}

void ContextStore::Batch::PutJourney(const std::string& tenant, const std::string& id,
                                     const std::string& journey_id,
                                     const storage::JourneyRecord& record) {
  batch_.Put(store_->customer_state_, JourneyKey(tenant, id, journey_id),
             record.SerializeAsString());
}

void ContextStore::Batch::PutJourneyIndex(const std::string& tenant, const std::string& id,
                                          const std::string& journey_id, int64_t update_micros) {
  batch_.Put(store_->journeys_by_time_,
             CustomerJourneyIndexKey(tenant, id, journey_id, update_micros), "");
  batch_.Put(store_->journeys_by_time_,
             TenantJourneyIndexKey(tenant, id, journey_id, update_micros), "");
}

void ContextStore::Batch::DeleteJourneyIndex(const std::string& tenant, const std::string& id,
                                             const std::string& journey_id, int64_t update_micros) {
  batch_.Delete(store_->journeys_by_time_,
                CustomerJourneyIndexKey(tenant, id, journey_id, update_micros));
  batch_.Delete(store_->journeys_by_time_,
                TenantJourneyIndexKey(tenant, id, journey_id, update_micros));
}

void ContextStore::Batch::PutOpenJourneys(const std::string& tenant, const std::string& id,
                                          const storage::OpenJourneys& open) {
  Touch(tenant, id);
  batch_.Put(store_->customer_state_, StateKey(tenant, id, kOpenJourneysTag),
             open.SerializeAsString());
}

void ContextStore::Batch::PutHandoff(const std::string& tenant, const std::string& id,
                                     const std::string& handoff_id,
                                     const cxp::context::v1::Handoff& handoff) {
  batch_.Put(store_->handoffs_, KeyBuilder(tenant).AddString(handoff_id).key(),
             handoff.SerializeAsString());
  batch_.Put(
      store_->customer_state_,
      KeyBuilder(tenant).AddString(id).AddFixedBytes(kHandoffTag).AddString(handoff_id).key(), "");
}

void ContextStore::Batch::DeleteHandoff(const std::string& tenant, const std::string& handoff_id) {
  batch_.Delete(store_->handoffs_, KeyBuilder(tenant).AddString(handoff_id).key());
}

void ContextStore::Batch::PutErasureReceipt(const std::string& tenant, const std::string& id,
                                            const std::string& receipt_id,
                                            const cxp::context::v1::ErasureReceipt& receipt) {
  batch_.Put(store_->erasures_, KeyBuilder(tenant).AddFixedBytes("r").AddString(receipt_id).key(),
             receipt.SerializeAsString());
  MarkErased(tenant, id, receipt_id);
}

void ContextStore::Batch::MarkErased(const std::string& tenant, const std::string& id,
                                     const std::string& receipt_id) {
  batch_.Put(store_->erasures_, KeyBuilder(tenant).AddFixedBytes("c").AddString(id).key(),
             receipt_id);
}

void ContextStore::Batch::DeleteChange(const std::string& tenant, int64_t sequence) {
  batch_.Delete(store_->changes_, ChangeKey(tenant, sequence));
}

void ContextStore::Batch::AddChange(const std::string& tenant, const std::string& id,
                                    cxp::context::v1::ChangeEvent event) {
  event.set_customer(absl::StrCat("customers/", id));
  changes_.push_back({tenant, id, std::move(event)});
}

void ContextStore::Batch::DeleteInteractionsBefore(const std::string& tenant, const std::string& id,
                                                   int64_t cutoff_micros) {
  Touch(tenant, id);
  // Newest first: rows older than the cutoff are the tail of the range.
  batch_.DeleteRange(store_->customer_state_,
                     TimelineKeyBuilder(tenant, id).AddInt64Descending(cutoff_micros - 1).key(),
                     PrefixSuccessor(TimelineKeyBuilder(tenant, id).key()));
}

void ContextStore::Batch::PutMergeState(const std::string& tenant, const std::string& record_id,
                                        const storage::MergeState& state) {
  batch_.Put(store_->merges_, MergeRecordKey(tenant, record_id), state.SerializeAsString());
  batch_.Put(store_->merges_, ParticipantRecordKey(tenant, state.survivor_id(), record_id), "");
  for (const auto& moved : state.moved()) {
    batch_.Put(store_->merges_, ParticipantRecordKey(tenant, moved.customer_id(), record_id), "");
  }
}

void ContextStore::Batch::DeleteMergeState(const std::string& tenant, const std::string& record_id,
                                           const storage::MergeState& state) {
  batch_.Delete(store_->merges_, MergeRecordKey(tenant, record_id));
  batch_.Delete(store_->merges_, ParticipantRecordKey(tenant, state.survivor_id(), record_id));
  for (const auto& moved : state.moved()) {
    batch_.Delete(store_->merges_, ParticipantRecordKey(tenant, moved.customer_id(), record_id));
  }
}

void ContextStore::Batch::PutSurvivorMerges(const std::string& tenant, const std::string& id,
                                            const storage::SurvivorMerges& merges) {
  Touch(tenant, id);
  const std::string key = StateKey(tenant, id, kSurvivorMergesTag);
  if (merges.merges_size() == 0) {
    batch_.Delete(store_->customer_state_, key);
  } else {
    batch_.Put(store_->customer_state_, key, merges.SerializeAsString());
  }
}

void ContextStore::Batch::DeleteCustomerData(const std::string& tenant, const std::string& id,
                                             int64_t create_micros) {
  Touch(tenant, id);
  const std::string prefix = CustomerKey(tenant, id);
  const std::string end = PrefixSuccessor(prefix);
  batch_.Delete(store_->profiles_, prefix);
  batch_.Delete(store_->profiles_by_time_, TimeIndexKey(tenant, id, create_micros));
  // The customer key's string encoding is terminated, so each range holds
  // exactly this customer's rows (in customer_state: state rows and the
  // timeline), never those of an id it is a prefix of.
  batch_.DeleteRange(store_->customer_state_, prefix, end);
  batch_.DeleteRange(store_->consent_history_, prefix, end);
  const std::string journeys = CustomerJourneysPrefix(tenant, id).key();
  batch_.DeleteRange(store_->journeys_by_time_, journeys, PrefixSuccessor(journeys));
}

absl::Status ContextStore::Commit(Batch& batch) const {
  const int count = static_cast<int>(batch.changes_.size());
  int64_t first = 0;
  if (count > 0) {
    first = sequencer_->Allocate(count);
    for (int i = 0; i < count; ++i) {
      Batch::PendingChange& change = batch.changes_[i];
      change.event.set_sequence(first + i);
      std::string bytes = change.event.SerializeAsString();
      if (change.payload_field != 0) {
        google::protobuf::io::StringOutputStream stream(&bytes);
        google::protobuf::io::CodedOutputStream output(&stream);
        output.WriteTag(google::protobuf::internal::WireFormatLite::MakeTag(
            change.payload_field,
            google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
        output.WriteVarint32(static_cast<uint32_t>(change.payload.size()));
        output.WriteRaw(change.payload.data(), static_cast<int>(change.payload.size()));
      }
      batch.batch_.Put(changes_, ChangeKey(change.tenant, first + i), bytes);
      batch.batch_.Put(customer_state_, CustomerChangeKey(change.tenant, change.id, first + i), "");
    }
  }
  const absl::Status written = store_->WriteUnsynced(&batch.batch_);
  // After the write, so a reader can't cache what it read before it.
  for (const std::string& key : batch.touched_) cache_->Invalidate(key);
  if (count > 0) {
    // Watchers see the events once durable: a crash then cannot take back
    // an event somebody has seen, nor reuse its number.
    if (written.ok()) {
      store_->AfterDurable([sequencer = sequencer_, first, count](absl::Status) {
        sequencer->Complete(first, count);
      });
    } else {
      sequencer_->Complete(first, count);  // a gap
    }
  }
  return written;
}

absl::StatusOr<int64_t> ContextStore::LastChangeSequence() const {
  int64_t last = 0;
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it, store_->NewIterator(changes_, {}));
  // One seek to each tenant's first row (its purge floor, if any) and one
  // to its last.
  it->SeekToFirst();
  while (it->Valid()) {
    store::KeyReader first_key(it->key().ToStringView());
    ASSIGN_OR_RETURN(const std::string tenant, first_key.ReadString());
    ASSIGN_OR_RETURN(const uint64_t first_sequence, first_key.ReadUint64());
    if (first_sequence == 0) {
      int64_t floor = 0;
      if (!absl::SimpleAtoi(absl::string_view(it->value().data(), it->value().size()), &floor)) {
        return absl::DataLossError("corrupt change log floor of tenant " + tenant);
      }
      last = std::max(last, floor);
    }
    const std::string end = PrefixSuccessor(store::TenantPrefix(tenant));
    it->SeekForPrev(end);
    if (it->Valid()) {
      store::KeyReader last_key(it->key().ToStringView());
      RETURN_IF_ERROR(last_key.ReadString().status());
      ASSIGN_OR_RETURN(const uint64_t last_sequence, last_key.ReadUint64());
      last = std::max(last, static_cast<int64_t>(last_sequence));
    }
    it->Seek(end);
  }
  if (!it->status().ok()) {
    return absl::InternalError("change log scan failed: " + it->status().ToString());
  }
  return last;
}

absl::Status ContextStore::ReadChanges(const std::string& tenant, int64_t after, int64_t up_to,
                                       size_t max_rows, ChangeVisitor visit) const {
  if (up_to <= after) return absl::OkStatus();
  const std::string lower = ChangeKey(tenant, after + 1);
  const std::string upper = ChangeKey(tenant, up_to + 1);
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it,
                   store_->NewIterator(changes_, {.lower_bound = lower, .upper_bound = upper}));
  size_t rows = 0;
  for (it->Seek(lower); it->Valid() && rows < max_rows; it->Next(), ++rows) {
    cxp::context::v1::ChangeEvent event;
    if (!event.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("corrupt change event");
    }
    if (!visit(event)) break;
  }
  if (!it->status().ok()) {
    return absl::InternalError("change log read failed: " + it->status().ToString());
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> ContextStore::PurgeChangesBefore(absl::Time cutoff, size_t max_rows) const {
  const int64_t cutoff_micros = absl::ToUnixMicros(cutoff);
  rocksdb::WriteBatch batch;
  size_t purged = 0;
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it, store_->NewIterator(changes_, {}));
  it->SeekToFirst();
  while (it->Valid() && purged < max_rows) {
    store::KeyReader first_key(it->key().ToStringView());
    ASSIGN_OR_RETURN(const std::string tenant, first_key.ReadString());
    ASSIGN_OR_RETURN(const uint64_t first_sequence, first_key.ReadUint64());
    if (first_sequence == 0) it->Next();  // the floor row
    int64_t floor = 0;
    // Events are in commit order, so their times ascend (up to clock steps):
    // stop at the first one young enough to keep.
    for (; it->Valid() && purged < max_rows; it->Next()) {
      store::KeyReader key(it->key().ToStringView());
      ASSIGN_OR_RETURN(const std::string key_tenant, key.ReadString());
      if (key_tenant != tenant) break;
      ASSIGN_OR_RETURN(const uint64_t sequence, key.ReadUint64());
      cxp::context::v1::ChangeEvent event;
      if (!event.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError("corrupt change event");
      }
      if (google::protobuf::util::TimeUtil::TimestampToMicroseconds(event.change_time()) >=
          cutoff_micros) {
        break;
      }
      batch.Delete(changes_, it->key());
      absl::string_view id = event.customer();
      if (absl::ConsumePrefix(&id, "customers/")) {
        batch.Delete(customer_state_,
                     CustomerChangeKey(tenant, std::string(id), static_cast<int64_t>(sequence)));
      }
      floor = static_cast<int64_t>(sequence);
      ++purged;
    }
    if (floor > 0) batch.Put(changes_, ChangeKey(tenant, 0), absl::StrCat(floor));
    it->Seek(PrefixSuccessor(store::TenantPrefix(tenant)));
  }
  if (!it->status().ok()) {
    return absl::InternalError("change log scan failed: " + it->status().ToString());
  }
  if (purged > 0) RETURN_IF_ERROR(store_->Write(&batch));
  return purged;
}

absl::StatusOr<int64_t> ContextStore::PurgedChangesUpTo(const std::string& tenant) const {
  ASSIGN_OR_RETURN(std::optional<std::string> floor, store_->Get(changes_, ChangeKey(tenant, 0)));
  if (!floor) return 0;
  int64_t value = 0;
  if (!absl::SimpleAtoi(*floor, &value)) {
    return absl::DataLossError("corrupt change log floor of tenant " + tenant);
  }
  return value;
}

absl::StatusOr<std::optional<storage::CustomerRecord>> ContextStore::GetCustomer(
    const std::string& tenant, const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(profiles_, CustomerKey(tenant, id)));
  return ParseOptional<storage::CustomerRecord>(bytes, "customer");
}

absl::StatusOr<std::optional<std::string>> ContextStore::GetIdentityOwner(
    const std::string& tenant, const std::string& identity_key, store::ReadTier tier) const {
  return store_->Get(identities_, IdentityRowKey(tenant, identity_key), nullptr, tier);
}

absl::StatusOr<std::optional<idempotency::StoredResponse>> ContextStore::GetStoredResponse(
    const std::string& tenant, const std::string& method, const std::string& request_id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(requests_, RequestKey(tenant, method, request_id)));
  return ParseOptional<idempotency::StoredResponse>(bytes, "stored response");
}

absl::StatusOr<std::optional<storage::ContactStats>> ContextStore::FindStats(
    const std::string& tenant, const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(customer_state_, StateKey(tenant, id, kStatsTag)));
  return ParseOptional<storage::ContactStats>(bytes, "contact stats");
}

absl::Status ContextStore::ReadContextRows(const std::string& tenant, const std::string& id,
                                           ContextRows& rows, store::ReadTier tier) const {
  const std::string profile_key = CustomerKey(tenant, id);
  const std::string stats_key = StateKey(tenant, id, kStatsTag);
  const std::string consent_key = StateKey(tenant, id, kConsentTag);
  const std::string preferences_key = StateKey(tenant, id, kPreferencesTag);
  const std::string head_key = StateKey(tenant, id, kHeadTag);
  const std::string open_key = StateKey(tenant, id, kOpenJourneysTag);
  const std::string merges_key = StateKey(tenant, id, kSurvivorMergesTag);
  return store_->MultiGet(
      {profiles_, customer_state_, customer_state_, customer_state_, customer_state_,
       customer_state_, customer_state_},
      {profile_key, stats_key, consent_key, preferences_key, head_key, open_key, merges_key},
      rows.values, rows.found, tier);
}

absl::StatusOr<ContextStore::CustomerState> ContextStore::GetCustomerState(
    const std::string& tenant, const std::string& id) const {
  // Only the three state rows: callers have read the profile already.
  const std::string stats_key = StateKey(tenant, id, kStatsTag);
  const std::string consent_key = StateKey(tenant, id, kConsentTag);
  const std::string preferences_key = StateKey(tenant, id, kPreferencesTag);
  rocksdb::PinnableSlice values[3];
  bool found[3] = {};
  RETURN_IF_ERROR(store_->MultiGet({customer_state_, customer_state_, customer_state_},
                                   {stats_key, consent_key, preferences_key}, values, found));
  CustomerState state;
  auto parse = [](const rocksdb::PinnableSlice& bytes, google::protobuf::Message& message) {
    return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  };
  if (!parse(values[0], state.stats) || !parse(values[1], state.consent) ||
      !parse(values[2], state.preferences)) {
    return absl::DataLossError("corrupt customer state record");
  }
  return state;
}

absl::Status ContextStore::MigrateLayout(
    absl::FunctionRef<void(const std::string&)> progress) const {
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   store_->Get(store_->DefaultColumnFamily(), kLayoutVersionKey));
  // Stores written before versions were recorded are layout 1.
  const std::string version = stored.value_or("1");
  if (version == kCurrentLayoutVersion) return absl::OkStatus();
  if (version != "1" && version != "2") {
    return absl::FailedPreconditionError(
        absl::StrCat("data layout version ", version, " is not one this binary knows (",
                     kCurrentLayoutVersion, " or older); run a newer context_service"));
  }
  // Move first: the heads are built from the timeline where it now lives.
  ASSIGN_OR_RETURN(const int64_t moved, MoveTimelineRows(progress));
  int64_t heads = 0;
  if (version == "1") {
    ASSIGN_OR_RETURN(heads, BuildHeads(progress));
  }
  rocksdb::WriteBatch done;
  done.Put(store_->DefaultColumnFamily(), kLayoutVersionKey, kCurrentLayoutVersion);
  RETURN_IF_ERROR(store_->Write(&done));
  // A new, empty store just gets its version, silently.
  if (moved > 0 || heads > 0) {
    progress(absl::StrCat("data layout ", kCurrentLayoutVersion, " ready (was ", version,
                          "): ", moved, " timeline rows moved, ", heads, " heads built"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ContextStore::MoveTimelineRows(
    absl::FunctionRef<void(const std::string&)> progress) const {
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> rows, store_->NewIterator(interactions_, {}));
  rows->SeekToFirst();
  if (rows->Valid()) progress("moving the timeline into customer_state (data layout 3)");
  rocksdb::WriteBatch batch;
  int64_t moved = 0;
  for (; rows->Valid(); rows->Next()) {
    // (tenant, customer, occur desc, seq desc) -> (tenant, customer, 't', occur desc, seq desc)
    const std::string_view key = rows->key().ToStringView();
    store::KeyReader reader(key);
    ASSIGN_OR_RETURN(std::string tenant, reader.ReadString());
    ASSIGN_OR_RETURN(std::string id, reader.ReadString());
    const std::string moved_key =
        TimelineKeyBuilder(tenant, id).AddFixedBytes(reader.remaining()).key();
    // Put and Delete together: a batch repeated after a crash changes nothing.
    batch.Put(customer_state_, moved_key, rows->value());
    batch.Delete(interactions_, rows->key());
    if (++moved % kMigrationBatchRows == 0) {
      RETURN_IF_ERROR(store_->Write(&batch));
      batch.Clear();
      if (moved % (kMigrationBatchRows * 20) == 0) progress(absl::StrCat("  ", moved, " rows"));
    }
  }
  if (!rows->status().ok()) {
    return absl::InternalError("migration scan failed: " + rows->status().ToString());
  }
  rows.reset();
  if (moved == 0) return 0;
  if (batch.Count() > 0) RETURN_IF_ERROR(store_->Write(&batch));
  // Drop the tombstones now rather than over the next compactions.
  RETURN_IF_ERROR(store_->CompactFully(interactions_));
  return moved;
}

absl::StatusOr<int64_t> ContextStore::BuildHeads(
    absl::FunctionRef<void(const std::string&)> progress) const {
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> profiles, store_->NewIterator(profiles_, {}));
  profiles->SeekToFirst();
  if (profiles->Valid()) progress("building interaction heads (data layout 2)");
  Batch batch = NewBatch();
  int64_t customers = 0;
  int64_t heads = 0;
  for (; profiles->Valid(); profiles->Next()) {
    store::KeyReader reader(profiles->key().ToStringView());
    ASSIGN_OR_RETURN(std::string tenant, reader.ReadString());
    ASSIGN_OR_RETURN(std::string id, reader.ReadString());
    ASSIGN_OR_RETURN(std::vector<std::string> newest,
                     NewestInteractions(tenant, id, kInteractionHeadCapacity));
    if (!newest.empty()) {
      batch.PutHead(tenant, id, EncodeHead({newest.begin(), newest.end()}));
      ++heads;
    }
    if (++customers % kMigrationBatchRows == 0) {
      RETURN_IF_ERROR(store_->Write(&batch.batch_));
      for (const std::string& key : batch.touched_) cache_->Invalidate(key);
      batch = NewBatch();
      progress(absl::StrCat("  ", customers, " customers"));
    }
  }
  if (!profiles->status().ok()) {
    return absl::InternalError("migration scan failed: " + profiles->status().ToString());
  }
  if (batch.batch_.Count() > 0) {
    RETURN_IF_ERROR(store_->Write(&batch.batch_));
    for (const std::string& key : batch.touched_) cache_->Invalidate(key);
  }
  return heads;
}

absl::Status ContextStore::ScanInteractions(const std::string& tenant, const std::string& id,
                                            const std::string& resume_key,
                                            std::optional<int64_t> newest_micros,
                                            std::optional<int64_t> oldest_micros, size_t max_rows,
                                            InteractionVisitor visit) const {
  const std::string prefix = TimelineKeyBuilder(tenant, id).key();
  std::string lower = prefix;
  std::string upper = PrefixSuccessor(prefix);
  // Descending time encoding: newer rows sort first.
  if (newest_micros)
    lower = TimelineKeyBuilder(tenant, id).AddInt64Descending(*newest_micros).key();
  if (oldest_micros) {
    upper =
        PrefixSuccessor(TimelineKeyBuilder(tenant, id).AddInt64Descending(*oldest_micros).key());
  }
  bool corrupt = false;
  RETURN_IF_ERROR(
      Scan(*store_, customer_state_, lower, upper, resume_key, max_rows,
           [&](const std::string& key, std::string_view value) {
             cxp::context::v1::Interaction interaction;
             if (!interaction.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
               corrupt = true;
               return false;
             }
             return visit(key, interaction);
           }));
  if (corrupt) return absl::DataLossError("corrupt interaction record");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ContextStore::NewestInteractions(const std::string& tenant,
                                                                          const std::string& id,
                                                                          size_t limit) const {
  std::vector<std::string> newest;
  RETURN_IF_ERROR(store_->ScanPrefix(customer_state_, TimelineKeyBuilder(tenant, id).key(), limit,
                                     [&](std::string_view, std::string_view value) {
                                       newest.emplace_back(value);
                                       return true;
                                     }));
  return newest;
}

absl::StatusOr<std::vector<int64_t>> ContextStore::CustomerChangeSequences(
    const std::string& tenant, const std::string& id) const {
  return KeySuffixes<int64_t>(
      *store_, customer_state_, KeyBuilder(tenant).AddString(id).AddFixedBytes(kChangeTag).key(),
      [](store::KeyReader& reader) -> absl::StatusOr<int64_t> {
        ASSIGN_OR_RETURN(const uint64_t sequence, reader.ReadUint64());
        return static_cast<int64_t>(sequence);
      },
      "change index");
}

absl::StatusOr<std::optional<std::string>> ContextStore::ErasureOf(const std::string& tenant,
                                                                   const std::string& id) const {
  return store_->Get(erasures_, KeyBuilder(tenant).AddFixedBytes("c").AddString(id).key());
}

absl::StatusOr<std::optional<cxp::context::v1::ErasureReceipt>> ContextStore::GetErasureReceipt(
    const std::string& tenant, const std::string& receipt_id) const {
  ASSIGN_OR_RETURN(
      std::optional<std::string> bytes,
      store_->Get(erasures_, KeyBuilder(tenant).AddFixedBytes("r").AddString(receipt_id).key()));
  return ParseOptional<cxp::context::v1::ErasureReceipt>(bytes, "erasure receipt");
}

absl::StatusOr<int64_t> ContextStore::CountInteractionsBefore(const std::string& tenant,
                                                              const std::string& id,
                                                              int64_t cutoff_micros,
                                                              size_t max_rows) const {
  const std::string lower =
      TimelineKeyBuilder(tenant, id).AddInt64Descending(cutoff_micros - 1).key();
  const std::string upper = PrefixSuccessor(TimelineKeyBuilder(tenant, id).key());
  ASSIGN_OR_RETURN(
      std::unique_ptr<rocksdb::Iterator> it,
      store_->NewIterator(customer_state_, {.lower_bound = lower, .upper_bound = upper}));
  int64_t rows = 0;
  for (it->Seek(lower); it->Valid() && static_cast<size_t>(rows) < max_rows; it->Next()) ++rows;
  if (!it->status().ok())
    return absl::InternalError("timeline scan failed: " + it->status().ToString());
  return rows;
}

absl::StatusOr<std::vector<std::string>> ContextStore::Tenants() const {
  std::vector<std::string> tenants;
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Iterator> it, store_->NewIterator(profiles_, {}));
  for (it->SeekToFirst(); it->Valid();) {
    store::KeyReader reader(it->key().ToStringView());
    ASSIGN_OR_RETURN(std::string tenant, reader.ReadString());
    it->Seek(PrefixSuccessor(store::TenantPrefix(tenant)));
    tenants.push_back(std::move(tenant));
  }
  if (!it->status().ok())
    return absl::InternalError("tenant scan failed: " + it->status().ToString());
  return tenants;
}

absl::StatusOr<std::vector<std::string>> ContextStore::CustomerIds(const std::string& tenant,
                                                                   const std::string& after,
                                                                   size_t max_ids) const {
  std::vector<std::string> ids;
  const std::string prefix = store::TenantPrefix(tenant);
  const std::string resume = after.empty() ? "" : CustomerKey(tenant, after);
  bool corrupt = false;
  RETURN_IF_ERROR(Scan(*store_, profiles_, prefix, PrefixSuccessor(prefix), resume, max_ids,
                       [&](const std::string& key, std::string_view) {
                         store::KeyReader reader(key);
                         absl::Status read = reader.ReadString().status();
                         absl::StatusOr<std::string> id = reader.ReadString();
                         if (!read.ok() || !id.ok()) {
                           corrupt = true;
                           return false;
                         }
                         ids.push_back(*std::move(id));
                         return true;
                       }));
  if (corrupt) return absl::DataLossError("corrupt customer key");
  return ids;
}

absl::StatusOr<std::optional<cxp::context::v1::Handoff>> ContextStore::GetHandoff(
    const std::string& tenant, const std::string& handoff_id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(handoffs_, KeyBuilder(tenant).AddString(handoff_id).key()));
  return ParseOptional<cxp::context::v1::Handoff>(bytes, "handoff");
}

absl::StatusOr<std::vector<std::string>> ContextStore::CustomerHandoffIds(
    const std::string& tenant, const std::string& id) const {
  return KeySuffixes<std::string>(
      *store_, customer_state_, KeyBuilder(tenant).AddString(id).AddFixedBytes(kHandoffTag).key(),
      [](store::KeyReader& reader) { return reader.ReadString(); }, "handoff index");
}

absl::StatusOr<std::optional<storage::JourneyRecord>> ContextStore::GetJourney(
    const std::string& tenant, const std::string& id, const std::string& journey_id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(customer_state_, JourneyKey(tenant, id, journey_id)));
  return ParseOptional<storage::JourneyRecord>(bytes, "journey");
}

absl::StatusOr<storage::OpenJourneys> ContextStore::GetOpenJourneys(const std::string& tenant,
                                                                    const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(customer_state_, StateKey(tenant, id, kOpenJourneysTag)));
  ASSIGN_OR_RETURN(std::optional<storage::OpenJourneys> open,
                   ParseOptional<storage::OpenJourneys>(bytes, "open journeys"));
  return open.value_or(storage::OpenJourneys());
}

absl::Status ContextStore::ScanJourneysByTime(const std::string& tenant, const std::string& id,
                                              const std::string& resume_key, size_t max_rows,
                                              JourneyIndexVisitor visit) const {
  const bool one_customer = !id.empty();
  const std::string prefix = one_customer
                                 ? CustomerJourneysPrefix(tenant, id).key()
                                 : KeyBuilder(tenant).AddFixedBytes(kTenantJourneysTag).key();
  bool corrupt = false;
  RETURN_IF_ERROR(Scan(*store_, journeys_by_time_, prefix, PrefixSuccessor(prefix), resume_key,
                       max_rows, [&](const std::string& key, std::string_view) {
                         absl::StatusOr<JourneyIndexEntry> entry =
                             ParseJourneyIndexKey(key, one_customer);
                         if (!entry.ok()) {
                           corrupt = true;
                           return false;
                         }
                         return visit(key, *entry);
                       }));
  if (corrupt) return absl::DataLossError("corrupt journey index key");
  return absl::OkStatus();
}

absl::Status ContextStore::ScanCustomersByTime(const std::string& tenant,
                                               const std::string& resume_key, size_t max_rows,
                                               CustomerVisitor visit) const {
  const std::string prefix = store::TenantPrefix(tenant);
  return Scan(*store_, profiles_by_time_, prefix, PrefixSuccessor(prefix), resume_key, max_rows,
              [&](const std::string& key, std::string_view) {
                store::KeyReader reader(key);
                // (tenant, create_time desc, id)
                if (!reader.ReadString().ok() || !reader.ReadInt64Descending().ok()) return false;
                absl::StatusOr<std::string> id = reader.ReadString();
                if (!id.ok()) return false;
                return visit(key, *id);
              });
}

absl::Status ContextStore::ScanConsentHistory(const std::string& tenant, const std::string& id,
                                              const std::string& resume_key, size_t max_rows,
                                              ConsentChangeVisitor visit) const {
  const std::string prefix = CustomerKey(tenant, id);
  bool corrupt = false;
  RETURN_IF_ERROR(Scan(*store_, consent_history_, prefix, PrefixSuccessor(prefix), resume_key,
                       max_rows, [&](const std::string& key, std::string_view value) {
                         cxp::context::v1::ConsentChange change;
                         if (!change.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                           corrupt = true;
                           return false;
                         }
                         return visit(key, change);
                       }));
  if (corrupt) return absl::DataLossError("corrupt consent change record");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<storage::MergeState>> ContextStore::GetMergeState(
    const std::string& tenant, const std::string& record_id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(merges_, MergeRecordKey(tenant, record_id)));
  return ParseOptional<storage::MergeState>(bytes, "merge");
}

absl::StatusOr<std::vector<std::string>> ContextStore::MergeRecordIds(const std::string& tenant,
                                                                      const std::string& id) const {
  return KeySuffixes<std::string>(
      *store_, merges_, ParticipantRecordsPrefix(tenant, id),
      [](store::KeyReader& reader) { return reader.ReadString(); }, "merge index");
}

absl::StatusOr<storage::SurvivorMerges> ContextStore::GetSurvivorMerges(
    const std::string& tenant, const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(customer_state_, StateKey(tenant, id, kSurvivorMergesTag)));
  ASSIGN_OR_RETURN(std::optional<storage::SurvivorMerges> merges,
                   ParseOptional<storage::SurvivorMerges>(bytes, "survivor merges"));
  return merges.value_or(storage::SurvivorMerges());
}

absl::Status ContextStore::ScanMergedInteractions(const std::string& tenant,
                                                  const std::vector<std::string>& ids,
                                                  const std::string& resume,
                                                  std::optional<int64_t> newest_micros,
                                                  std::optional<int64_t> oldest_micros,
                                                  size_t max_rows, InteractionVisitor visit) const {
  std::vector<MergeSource> sources;
  for (const std::string& id : ids) {
    MergeSource& source = sources.emplace_back();
    source.id = id;
    source.prefix = TimelineKeyBuilder(tenant, id).key();
    source.lower = source.prefix;
    source.upper = PrefixSuccessor(source.prefix);
    // Descending time encoding: newer rows sort first.
    if (newest_micros) {
      source.lower = TimelineKeyBuilder(tenant, id).AddInt64Descending(*newest_micros).key();
    }
    if (oldest_micros) {
      source.upper =
          PrefixSuccessor(TimelineKeyBuilder(tenant, id).AddInt64Descending(*oldest_micros).key());
    }
  }
  bool corrupt = false;
  RETURN_IF_ERROR(
      MergedScan(*store_, customer_state_, std::move(sources), resume, max_rows,
                 [&](const std::string& position, size_t, std::string_view value) {
                   cxp::context::v1::Interaction interaction;
                   if (!interaction.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                     corrupt = true;
                     return false;
                   }
                   return visit(position, interaction);
                 }));
  if (corrupt) return absl::DataLossError("corrupt interaction record");
  return absl::OkStatus();
}

absl::Status ContextStore::ScanMergedJourneys(const std::string& tenant,
                                              const std::vector<std::string>& ids,
                                              const std::string& resume, size_t max_rows,
                                              JourneyIndexVisitor visit) const {
  std::vector<MergeSource> sources;
  for (const std::string& id : ids) {
    MergeSource& source = sources.emplace_back();
    source.id = id;
    source.prefix = CustomerJourneysPrefix(tenant, id).key();
    source.lower = source.prefix;
    source.upper = PrefixSuccessor(source.prefix);
  }
  bool corrupt = false;
  RETURN_IF_ERROR(MergedScan(*store_, journeys_by_time_, std::move(sources), resume, max_rows,
                             [&](const std::string& position, size_t source, std::string_view) {
                               // (update desc, journey) after the customer's prefix.
                               store::KeyReader reader(position);
                               JourneyIndexEntry entry;
                               absl::StatusOr<std::string> id = reader.ReadString();
                               absl::StatusOr<int64_t> update = reader.ReadInt64Descending();
                               absl::StatusOr<std::string> journey = reader.ReadString();
                               if (!id.ok() || !update.ok() || !journey.ok() || !reader.done()) {
                                 corrupt = true;
                                 return false;
                               }
                               entry.customer_id = ids[source];
                               entry.update_micros = *update;
                               entry.journey_id = *std::move(journey);
                               return visit(position, entry);
                             }));
  if (corrupt) return absl::DataLossError("corrupt journey index key");
  return absl::OkStatus();
}

}  // namespace cxp::context
