// ContextStore — how context_service lays its data out in RocksDB.
//
// Column families (every key starts with the tenant, store/key_codec.h):
//   profiles          (tenant, customer)                      → CustomerRecord
//   profiles_by_time  (tenant, create_time desc, customer)    → ""   (ListCustomers, newest first)
//   customer_state    (tenant, customer, kind)                → ContactStats | ConsentRecord |
//                                                                PreferencesRecord | interaction
//                                                                head (interaction_head.h)
//                     (tenant, customer, 't', occur desc, seq desc)
//                                                             → Interaction (timeline, newest
//                                                                first, stable)
//                     (tenant, customer, 'j', journey)        → JourneyRecord
//                     (tenant, customer, 'o')                 → OpenJourneys (the view's
//                                                                open journeys)
//                     (tenant, customer, 'e', sequence)       → ""  (the customer's change
//                                                                events, for erasure)
//                     (tenant, customer, 'f', handoff)        → ""  (the customer's handoffs)
//                     (tenant, customer, 'm')                 → SurvivorMerges (the merges in
//                                                                effect it survived)
//   journeys_by_time  (tenant, 'c', customer, update desc, journey) → ""  (a customer's journeys,
//                                                                most recently updated first)
//                     (tenant, 'a', update desc, customer, journey) → ""  (the tenant's)
//   handoffs          (tenant, handoff)                       → Handoff (RedeemHandoff finds it
//                                                                by the token's id alone)
//   erasures          (tenant, 'r', receipt)                  → ErasureReceipt
//                     (tenant, 'c', customer)                 → receipt id (the name is never
//                                                                reused)
//   merges            (tenant, 'r', record)                   → MergeState (record + what moved)
//                     (tenant, 's', customer, record)         → ""  (the merges a customer
//                                                                took part in)
//   changes           (tenant, sequence)                      → ChangeEvent (the change log;
//                                                                sequence 0 holds the highest
//                                                                sequence purged, as text)
//   identities        (tenant, kind, namespace, value)        → customer id (ResolveCustomer:
//                                                                one point read)
//   interactions      empty since data layout 3 (held the timeline before)
//   consent_history   (tenant, customer, seq desc)            → ConsentChange
//   requests          (tenant, method, request_id)            → StoredResponse (idempotent
//                                                                retries)
// The single customer view reads the profile and the customer's state rows,
// head included, with one MultiGet; it scans the timeline only for more
// interactions than a head holds. The timeline sits in customer_state right
// after the customer's state rows, so an append's reads and writes (stats
// row, timeline row, head operand) all land in one neighbourhood of one
// memtable: one cold skip-list walk per append instead of two (measured:
// ~15 % less handler CPU than with the timeline in its own family).
//
// Writes go through ContextStore::Batch, committed as one RocksDB
// WriteBatch: a change touching the profile, the identity index and the
// counters is atomic, and so is its change event: Commit numbers the
// batch's events (ChangeSequencer) and writes them with the change. Commit returns once the batch
// is applied and in the WAL file; it is durable when RocksStore::AfterDurable says so (the gRPC
// edge answers only then), so no thread waits for an fsync.
//
// Threading: thread-safe (RocksDB is); read-modify-write sequences need the
// caller's locking (ContextCore uses StripedLocks). Ownership: borrows the
// RocksStore, which must outlive it.

#ifndef CXP_CONTEXT_SERVICE_CORE_CONTEXT_STORE_H_
#define CXP_CONTEXT_SERVICE_CORE_CONTEXT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/idempotency/stored_response.pb.h"
#include "common/store/rocks_store.h"
#include "context_service/core/change_sequencer.h"
#include "context_service/core/context_cache.h"
#include "context_service/core/records.pb.h"
#include "cxp/context/v1/change_event.pb.h"
#include "cxp/context/v1/consent.pb.h"
#include "cxp/context/v1/erasure_receipt.pb.h"
#include "cxp/context/v1/handoff.pb.h"
#include "cxp/context/v1/interaction.pb.h"
#include "rocksdb/write_batch.h"

namespace cxp::context {

class ContextStore {
 public:
  static std::vector<std::string> ColumnFamilies();
  // RocksDB options the layout needs (the head's merge operator); apply them
  // to every store opened for ContextStore.
  static void ConfigureOptions(rocksdb::Options& options);
  // `context_cache_bytes` bounds the cache of assembled customer views
  // (context_cache.h); 0 turns it off.
  static absl::StatusOr<ContextStore> Attach(store::RocksStore& store,
                                             size_t context_cache_bytes = size_t{64} << 20);

  // Brings a store written by an older version to the current layout
  // (version 2 added interaction heads, 3 moved the timeline into
  // customer_state) before it serves; a no-op when current. Each step is
  // written in batches that are safe to repeat, so a migration cut short
  // (kill -9) resumes on the next start. `progress` is told what is done.
  absl::Status MigrateLayout(absl::FunctionRef<void(const std::string&)> progress) const;

  class Batch {
   public:
    void PutCustomer(const std::string& tenant, const std::string& id,
                     const storage::CustomerRecord& record);
    void PutCustomerTimeIndex(const std::string& tenant, const std::string& id,
                              int64_t create_micros);
    void PutIdentity(const std::string& tenant, const std::string& identity_key,
                     const std::string& id);
    void DeleteIdentity(const std::string& tenant, const std::string& identity_key);
    // Adds the interaction to the timeline and to the customer's head, and,
    // with `change` (its kind and time), the change event carrying it —
    // framed from the same serialized bytes rather than copied.
    void PutInteraction(const std::string& tenant, const std::string& id, int64_t occur_micros,
                        uint64_t seq, const cxp::context::v1::Interaction& interaction,
                        const cxp::context::v1::ChangeEvent* change = nullptr);
    // Replaces the customer's head (e.g. rebuilt from the timeline).
    void PutHead(const std::string& tenant, const std::string& id, const std::string& head);
    void PutStats(const std::string& tenant, const std::string& id,
                  const storage::ContactStats& stats);
    void PutConsent(const std::string& tenant, const std::string& id,
                    const storage::ConsentRecord& consent);
    void PutConsentChange(const std::string& tenant, const std::string& id, uint64_t seq,
                          const cxp::context::v1::ConsentChange& change);
    void PutPreferences(const std::string& tenant, const std::string& id,
                        const storage::PreferencesRecord& preferences);
    void PutStoredResponse(const std::string& tenant, const std::string& method,
                           const std::string& request_id,
                           const idempotency::StoredResponse& response);
    void PutJourney(const std::string& tenant, const std::string& id, const std::string& journey_id,
                    const storage::JourneyRecord& record);
    // The journey's rows in journeys_by_time for `update_micros` (its
    // update_time); an update deletes the old ones and puts the new.
    void PutJourneyIndex(const std::string& tenant, const std::string& id,
                         const std::string& journey_id, int64_t update_micros);
    void DeleteJourneyIndex(const std::string& tenant, const std::string& id,
                            const std::string& journey_id, int64_t update_micros);
    void PutOpenJourneys(const std::string& tenant, const std::string& id,
                         const storage::OpenJourneys& open);
    void PutHandoff(const std::string& tenant, const std::string& id, const std::string& handoff_id,
                    const cxp::context::v1::Handoff& handoff);
    // The handoff row (its per-customer index row goes with the customer).
    void DeleteHandoff(const std::string& tenant, const std::string& handoff_id);
    // The receipt, and the customer's name marked as never to be reused.
    void PutErasureReceipt(const std::string& tenant, const std::string& id,
                           const std::string& receipt_id,
                           const cxp::context::v1::ErasureReceipt& receipt);
    // A customer erased with another (merged into it): its name is never
    // reused either.
    void MarkErased(const std::string& tenant, const std::string& id,
                    const std::string& receipt_id);
    // One event of the change log (erasure takes a customer's events out).
    void DeleteChange(const std::string& tenant, int64_t sequence);
    // Removes the customer's timeline rows that occurred before
    // `cutoff_micros` (retention); the caller fixes the stats and the head.
    void DeleteInteractionsBefore(const std::string& tenant, const std::string& id,
                                  int64_t cutoff_micros);
    // Records a change event of customer `id` (its `customer` field is set
    // here); Commit gives it its sequence number.
    void AddChange(const std::string& tenant, const std::string& id,
                   cxp::context::v1::ChangeEvent event);
    // Removes the profile, its index row, its state, timeline, journeys,
    // the customer's own journey index and consent history (identities and
    // the tenant-wide journey index rows are removed by the caller, who
    // knows them: DeleteJourneyIndex).
    // A merge's state, and its index rows under each customer in it.
    void PutMergeState(const std::string& tenant, const std::string& record_id,
                       const storage::MergeState& state);
    void DeleteMergeState(const std::string& tenant, const std::string& record_id,
                          const storage::MergeState& state);
    // The merges in effect that `id` survived (none: the row goes).
    void PutSurvivorMerges(const std::string& tenant, const std::string& id,
                           const storage::SurvivorMerges& merges);
    void DeleteCustomerData(const std::string& tenant, const std::string& id,
                            int64_t create_micros);

   private:
    friend class ContextStore;
    explicit Batch(const ContextStore* store) : store_(store) {}
    void Touch(const std::string& tenant, const std::string& id);
    const ContextStore* store_;
    rocksdb::WriteBatch batch_;
    std::vector<std::string> touched_;  // ContextCache keys to invalidate on commit
    struct PendingChange {
      std::string tenant;
      std::string id;
      cxp::context::v1::ChangeEvent event;
      // A payload given in wire form: field number and bytes, appended to
      // the serialized event (0: the payload, if any, is in `event`).
      int payload_field = 0;
      std::string payload;
    };
    std::vector<PendingChange> changes_;
  };

  Batch NewBatch() const { return Batch(this); }
  // Applies the batch (visible at once; cached views of the customers it
  // touches are invalidated); see AfterDurable for durability. Its change
  // events get sequence numbers (set in the batch's events) and reach
  // watchers once durable.
  absl::Status Commit(Batch& batch) const;

  // The change log. Events of `tenant` with after < sequence <= up_to, in
  // order; the visitor returns false to stop; at most `max_rows` read.
  using ChangeVisitor = absl::FunctionRef<bool(const cxp::context::v1::ChangeEvent&)>;
  absl::Status ReadChanges(const std::string& tenant, int64_t after, int64_t up_to, size_t max_rows,
                           ChangeVisitor visit) const;
  // The highest sequence of `tenant` purged so far (0 if none).
  absl::StatusOr<int64_t> PurgedChangesUpTo(const std::string& tenant) const;
  // Retention: deletes events committed before `cutoff`, oldest first per
  // tenant, at most `max_rows` of them in one batch together with the
  // tenants' new purge floors (so OUT_OF_RANGE is exact). Returns how many
  // it deleted; fewer than `max_rows` means nothing older is left.
  absl::StatusOr<size_t> PurgeChangesBefore(absl::Time cutoff, size_t max_rows) const;
  ChangeSequencer& sequencer() const { return *sequencer_; }

  absl::StatusOr<std::optional<storage::CustomerRecord>> GetCustomer(const std::string& tenant,
                                                                     const std::string& id) const;
  absl::StatusOr<std::optional<std::string>> GetIdentityOwner(
      const std::string& tenant, const std::string& identity_key,
      store::ReadTier tier = store::ReadTier::kAny) const;
  absl::StatusOr<std::optional<idempotency::StoredResponse>> GetStoredResponse(
      const std::string& tenant, const std::string& method, const std::string& request_id) const;

  // Just the contact stats row (one point read; the append path needs no
  // more); nullopt when the customer has none.
  absl::StatusOr<std::optional<storage::ContactStats>> FindStats(const std::string& tenant,
                                                                 const std::string& id) const;

  // Everything the single customer view reads, from one consistent view
  // with one MultiGet. The slices stay valid while the ContextRows lives.
  struct ContextRows {
    enum Row {
      kProfile,
      kStats,
      kConsent,
      kPreferences,
      kHead,
      kOpenJourneys,
      kSurvivorMerges,
      kRowCount
    };
    rocksdb::PinnableSlice values[kRowCount];
    bool found[kRowCount] = {};
    // The row's bytes; empty when absent.
    std::string_view bytes(Row row) const { return values[row].ToStringView(); }
  };
  absl::Status ReadContextRows(const std::string& tenant, const std::string& id, ContextRows& rows,
                               store::ReadTier tier = store::ReadTier::kAny) const;

  // The per-customer state rows, read together with one MultiGet.
  struct CustomerState {
    storage::ContactStats stats;
    storage::ConsentRecord consent;
    storage::PreferencesRecord preferences;
  };
  absl::StatusOr<CustomerState> GetCustomerState(const std::string& tenant,
                                                 const std::string& id) const;

  // Timeline newest first. Starts at `resume_key` (a key returned as `key`
  // by an earlier visit, exclusive) or at the newest row; `newest_micros`
  // and `oldest_micros` bound occur_time when set (inclusive). The visitor
  // returns false to stop; `max_rows` bounds the rows examined.
  using InteractionVisitor =
      absl::FunctionRef<bool(const std::string& key, const cxp::context::v1::Interaction&)>;
  absl::Status ScanInteractions(const std::string& tenant, const std::string& id,
                                const std::string& resume_key, std::optional<int64_t> newest_micros,
                                std::optional<int64_t> oldest_micros, size_t max_rows,
                                InteractionVisitor visit) const;

  // The serialized newest `limit` interactions of the timeline, newest first.
  absl::StatusOr<std::vector<std::string>> NewestInteractions(const std::string& tenant,
                                                              const std::string& id,
                                                              size_t limit) const;

  absl::StatusOr<std::optional<storage::JourneyRecord>> GetJourney(
      const std::string& tenant, const std::string& id, const std::string& journey_id) const;
  // The customer's open journeys row (empty when it has none).
  absl::StatusOr<storage::OpenJourneys> GetOpenJourneys(const std::string& tenant,
                                                        const std::string& id) const;

  // Journeys most recently updated first: of one customer (`id`), or of the
  // whole tenant (`id` empty); from `resume_key` (exclusive) or the start.
  struct JourneyIndexEntry {
    std::string customer_id;
    std::string journey_id;
    int64_t update_micros = 0;
  };
  using JourneyIndexVisitor =
      absl::FunctionRef<bool(const std::string& key, const JourneyIndexEntry& entry)>;
  absl::Status ScanJourneysByTime(const std::string& tenant, const std::string& id,
                                  const std::string& resume_key, size_t max_rows,
                                  JourneyIndexVisitor visit) const;

  absl::StatusOr<std::optional<cxp::context::v1::Handoff>> GetHandoff(
      const std::string& tenant, const std::string& handoff_id) const;
  // The ids of a customer's handoffs.
  absl::StatusOr<std::vector<std::string>> CustomerHandoffIds(const std::string& tenant,
                                                              const std::string& id) const;

  // The sequences of the customer's events still in the change log.
  absl::StatusOr<std::vector<int64_t>> CustomerChangeSequences(const std::string& tenant,
                                                               const std::string& id) const;
  // The receipt id if the customer was erased.
  absl::StatusOr<std::optional<std::string>> ErasureOf(const std::string& tenant,
                                                       const std::string& id) const;
  absl::StatusOr<std::optional<cxp::context::v1::ErasureReceipt>> GetErasureReceipt(
      const std::string& tenant, const std::string& receipt_id) const;

  // How many of the customer's timeline rows occurred before `cutoff_micros`
  // (counting stops at `max_rows`).
  absl::StatusOr<int64_t> CountInteractionsBefore(const std::string& tenant, const std::string& id,
                                                  int64_t cutoff_micros, size_t max_rows) const;
  // The tenants that have customers, in key order.
  absl::StatusOr<std::vector<std::string>> Tenants() const;
  // Customer ids of a tenant in id order, after `after` (exclusive; empty
  // for the start), at most `max_ids`.
  absl::StatusOr<std::vector<std::string>> CustomerIds(const std::string& tenant,
                                                       const std::string& after,
                                                       size_t max_ids) const;

  // Customers newest first, from `resume_key` (exclusive) or the start.
  using CustomerVisitor = absl::FunctionRef<bool(const std::string& key, const std::string& id)>;
  absl::Status ScanCustomersByTime(const std::string& tenant, const std::string& resume_key,
                                   size_t max_rows, CustomerVisitor visit) const;

  // Consent changes newest first, from `resume_key` (exclusive) or the start.
  using ConsentChangeVisitor =
      absl::FunctionRef<bool(const std::string& key, const cxp::context::v1::ConsentChange&)>;
  absl::Status ScanConsentHistory(const std::string& tenant, const std::string& id,
                                  const std::string& resume_key, size_t max_rows,
                                  ConsentChangeVisitor visit) const;

  absl::StatusOr<std::optional<storage::MergeState>> GetMergeState(
      const std::string& tenant, const std::string& record_id) const;
  // Ids of every merge record (in effect or undone) a customer took part
  // in, as survivor or as merged customer.
  absl::StatusOr<std::vector<std::string>> MergeRecordIds(const std::string& tenant,
                                                          const std::string& id) const;
  // The merges in effect that `id` survived (empty when none).
  absl::StatusOr<storage::SurvivorMerges> GetSurvivorMerges(const std::string& tenant,
                                                            const std::string& id) const;

  // Merged reads: the rows of several customers (a survivor and those merged
  // into it) as one sequence, ordered as one customer's would be with ties
  // broken by customer id. Positions passed to the visitor (and taken back
  // as `resume`, exclusive) name a customer and a place in its rows, so a
  // page token stays valid when a merge or unmerge happens between pages.
  // Timelines newest first; bounds as in ScanInteractions.
  absl::Status ScanMergedInteractions(const std::string& tenant,
                                      const std::vector<std::string>& ids,
                                      const std::string& resume,
                                      std::optional<int64_t> newest_micros,
                                      std::optional<int64_t> oldest_micros, size_t max_rows,
                                      InteractionVisitor visit) const;
  // Journeys most recently updated first.
  absl::Status ScanMergedJourneys(const std::string& tenant, const std::vector<std::string>& ids,
                                  const std::string& resume, size_t max_rows,
                                  JourneyIndexVisitor visit) const;

  store::RocksStore& rocks() const { return *store_; }
  ContextCache& cache() const { return *cache_; }

 private:
  ContextStore() = default;
  store::RocksStore* store_ = nullptr;
  std::shared_ptr<ContextCache> cache_;
  std::shared_ptr<ChangeSequencer> sequencer_;
  rocksdb::ColumnFamilyHandle* changes_ = nullptr;
  // The highest sequence in the log or purged, over all tenants.
  absl::StatusOr<int64_t> LastChangeSequence() const;
  rocksdb::ColumnFamilyHandle* profiles_ = nullptr;
  rocksdb::ColumnFamilyHandle* profiles_by_time_ = nullptr;
  rocksdb::ColumnFamilyHandle* customer_state_ = nullptr;
  rocksdb::ColumnFamilyHandle* identities_ = nullptr;
  rocksdb::ColumnFamilyHandle* journeys_by_time_ = nullptr;
  rocksdb::ColumnFamilyHandle* handoffs_ = nullptr;
  rocksdb::ColumnFamilyHandle* erasures_ = nullptr;
  rocksdb::ColumnFamilyHandle* merges_ = nullptr;
  // 1|2 -> 3: timeline rows from `interactions` to customer_state.
  // Returns how many moved.
  absl::StatusOr<int64_t> MoveTimelineRows(
      absl::FunctionRef<void(const std::string&)> progress) const;
  // 1 -> 2: every customer's interaction head, built from its timeline.
  // Returns how many heads it built.
  absl::StatusOr<int64_t> BuildHeads(absl::FunctionRef<void(const std::string&)> progress) const;

  rocksdb::ColumnFamilyHandle* interactions_ = nullptr;  // layout <= 2 only
  rocksdb::ColumnFamilyHandle* consent_history_ = nullptr;
  rocksdb::ColumnFamilyHandle* requests_ = nullptr;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_CONTEXT_STORE_H_
