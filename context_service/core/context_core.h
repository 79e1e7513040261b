// ContextCore — context_service's domain logic: customers, identities, the
// cross-channel timeline, consent, contact preferences, journeys and the
// single customer view. Plain C++: requests and responses are the API's protobuf
// messages, errors are absl::Status with the offending field named; no gRPC
// types, so it is tested without a server.
//
// Every method takes the caller's tenant (from its API key) and touches only
// that tenant's keys. Writes validate everything first and then commit one
// RocksDB WriteBatch, so bad input changes nothing and a crash leaves either
// the whole change or none of it. Read-modify-write sequences (counters,
// identity ownership, idempotency records) are serialised per customer,
// identity and request id with striped locks.
//
// Durability: a write is applied (visible to every reader) when its method
// returns and durable once AfterDurable() reports OK afterwards; whoever
// acknowledges it to a client waits for that (the gRPC edge does, with
// HandleUnaryWrite). Concurrent writes share one WAL fsync that way.
//
// Threading: all methods are thread-safe. Ownership: borrows the
// ContextStore, which must outlive the core. The clock is injectable so
// tests control time.

#ifndef CXP_CONTEXT_SERVICE_CORE_CONTEXT_CORE_H_
#define CXP_CONTEXT_SERVICE_CORE_CONTEXT_CORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/paging/page_size.h"
#include "common/paging/page_token.h"
#include "common/paging/request_fingerprint.h"
#include "common/store/striped_locks.h"
#include "context_service/core/context_store.h"
#include "context_service/core/handoff_token.h"
#include "context_service/validation/identity_normalizer.h"
#include "cxp/context/v1/context_service.pb.h"

namespace cxp::context {

struct ContextCoreOptions {
  std::string default_phone_region = "KR";  // for national-format numbers
  absl::Duration request_id_ttl = absl::Hours(24);
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Key for page tokens; empty = random per process (tokens die on restart).
  std::string page_token_key;
  // HMAC key for handoff tokens, at least 32 bytes; empty = random per
  // process (outstanding handoffs die on restart).
  std::string handoff_key;
  // Tenants whose verified AddIdentity merges automatically ("*" = all):
  // linking a verified identity that another customer holds merges the two
  // (the longer-known profile survives) instead of failing.
  std::vector<std::string> auto_merge_tenants;
};

class ContextCore {
 public:
  static absl::StatusOr<std::unique_ptr<ContextCore>> Create(const ContextStore& store,
                                                             ContextCoreOptions options);

  using Tenant = std::string;

  absl::Status CreateCustomer(const Tenant& tenant, const v1::CreateCustomerRequest& request,
                              v1::CreateCustomerResponse& response);
  absl::Status GetCustomer(const Tenant& tenant, const v1::GetCustomerRequest& request,
                           v1::GetCustomerResponse& response);
  absl::Status UpdateCustomer(const Tenant& tenant, const v1::UpdateCustomerRequest& request,
                              v1::UpdateCustomerResponse& response);
  absl::Status ListCustomers(const Tenant& tenant, const v1::ListCustomersRequest& request,
                             v1::ListCustomersResponse& response);
  absl::Status DeleteCustomer(const Tenant& tenant, const v1::DeleteCustomerRequest& request,
                              v1::DeleteCustomerResponse& response);
  // Right to erasure: everything DeleteCustomer removes, plus the
  // customer's past change events; returns a receipt without personal data
  // and keeps the name from reuse.
  absl::Status EraseCustomer(const Tenant& tenant, const v1::EraseCustomerRequest& request,
                             v1::EraseCustomerResponse& response);
  absl::Status AddIdentity(const Tenant& tenant, const v1::AddIdentityRequest& request,
                           v1::AddIdentityResponse& response);
  absl::Status RemoveIdentity(const Tenant& tenant, const v1::RemoveIdentityRequest& request,
                              v1::RemoveIdentityResponse& response);
  absl::Status ResolveCustomer(const Tenant& tenant, const v1::ResolveCustomerRequest& request,
                               v1::ResolveCustomerResponse& response);
  absl::Status AppendInteraction(const Tenant& tenant, const v1::AppendInteractionRequest& request,
                                 v1::AppendInteractionResponse& response);
  // Up to kMaxBatchAppend interactions of one customer in one batch: all
  // or none, numbered in request order, one change event each.
  absl::Status BatchAppendInteractions(const Tenant& tenant,
                                       const v1::BatchAppendInteractionsRequest& request,
                                       v1::BatchAppendInteractionsResponse& response);
  static constexpr int kMaxBatchAppend = 100;
  // Up to kMaxBulk independent AppendInteraction requests, each with its
  // own outcome ("requests[i]." prefixes its error's field); fails only
  // when the batch itself is malformed.
  absl::Status BulkAppendInteractions(const Tenant& tenant,
                                      const v1::BulkAppendInteractionsRequest& request,
                                      v1::BulkAppendInteractionsResponse& response);
  static constexpr int kMaxBulk = 100;
  absl::Status ListInteractions(const Tenant& tenant, const v1::ListInteractionsRequest& request,
                                v1::ListInteractionsResponse& response);
  absl::Status GetConsent(const Tenant& tenant, const v1::GetConsentRequest& request,
                          v1::GetConsentResponse& response);
  absl::Status UpdateConsent(const Tenant& tenant, const v1::UpdateConsentRequest& request,
                             v1::UpdateConsentResponse& response);
  absl::Status ListConsentHistory(const Tenant& tenant,
                                  const v1::ListConsentHistoryRequest& request,
                                  v1::ListConsentHistoryResponse& response);
  absl::Status GetContactPreferences(const Tenant& tenant,
                                     const v1::GetContactPreferencesRequest& request,
                                     v1::GetContactPreferencesResponse& response);
  absl::Status UpdateContactPreferences(const Tenant& tenant,
                                        const v1::UpdateContactPreferencesRequest& request,
                                        v1::UpdateContactPreferencesResponse& response);
  // Merges customers into a survivor: identities and consent move (the more
  // restrictive decision wins), missing profile values are copied, and the
  // merged customers' interactions and journeys are read through the
  // survivor; a merge record keeps what moved so UnmergeCustomers can undo
  // it exactly. One batch.
  absl::Status MergeCustomers(const Tenant& tenant, const v1::MergeCustomersRequest& request,
                              v1::MergeCustomersResponse& response);
  // Undoes the newest merge in effect of a survivor.
  absl::Status UnmergeCustomers(const Tenant& tenant, const v1::UnmergeCustomersRequest& request,
                                v1::UnmergeCustomersResponse& response);
  absl::Status GetMergeRecord(const Tenant& tenant, const v1::GetMergeRecordRequest& request,
                              v1::GetMergeRecordResponse& response);
  absl::Status StartJourney(const Tenant& tenant, const v1::StartJourneyRequest& request,
                            v1::StartJourneyResponse& response);
  absl::Status AdvanceJourney(const Tenant& tenant, const v1::AdvanceJourneyRequest& request,
                              v1::AdvanceJourneyResponse& response);
  absl::Status GetJourney(const Tenant& tenant, const v1::GetJourneyRequest& request,
                          v1::GetJourneyResponse& response);
  absl::Status ListJourneys(const Tenant& tenant, const v1::ListJourneysRequest& request,
                            v1::ListJourneysResponse& response);
  absl::Status CreateHandoff(const Tenant& tenant, const v1::CreateHandoffRequest& request,
                             v1::CreateHandoffResponse& response);
  absl::Status RedeemHandoff(const Tenant& tenant, const v1::RedeemHandoffRequest& request,
                             v1::RedeemHandoffResponse& response);
  absl::Status GetCustomerContext(const Tenant& tenant,
                                  const v1::GetCustomerContextRequest& request,
                                  v1::GetCustomerContextResponse& response);

  // Retention: removes the tenant's interactions that occurred before
  // `cutoff`, customer by customer in id order after `resume_after`
  // (exclusive), examining at most `max_customers`; each customer's rows,
  // stats and head change in one batch under its lock, so readers never
  // wait long and never see a half-purged customer. Sets `resume_after` to
  // the last customer examined, or "" once the tenant is done. Returns how
  // many interactions it removed.
  absl::StatusOr<int64_t> PurgeInteractionsBefore(const Tenant& tenant, absl::Time cutoff,
                                                  std::string& resume_after, size_t max_customers);

  // Right of access: everything stored about a customer, a page at a time —
  // profile, consent, preferences, consent history, journeys, handoffs,
  // merge records, then interactions (newest first); then the same for each
  // customer merged into it. Start with a default cursor and call
  // again with the same one until `done`; each call appends at most
  // `max_items`. Pages are read one after the other, not from one snapshot.
  struct ExportCursor {
    enum Stage {
      kProfile,
      kState,
      kConsentHistory,
      kJourneys,
      kHandoffs,
      kMergeRecords,
      kInteractions,
      kDone
    };
    Stage stage = kProfile;
    std::string resume_key;
    size_t member = 0;  // 0: the customer; i > 0: the i-th customer merged into it
  };
  absl::Status ExportCustomer(const Tenant& tenant, const v1::ExportCustomerRequest& request,
                              ExportCursor& cursor, size_t max_items,
                              std::vector<v1::ExportCustomerResponse>& out, bool& done);
  // The same view as a serialized GetCustomerContextResponse, assembled
  // from the cached or stored pieces without parsing the interactions: the
  // hot read's path at the gRPC edge. With ReadTier::kMemoryOnly it answers
  // WouldBlock rather than read storage (the edge then retries on the
  // handler pool); with a warm ContextCache it reads no storage at all.
  absl::StatusOr<std::string> GetCustomerContextEncoded(
      const Tenant& tenant, const v1::GetCustomerContextRequest& request,
      store::ReadTier tier = store::ReadTier::kAny);
  // A serialized BatchGetCustomerContextsResponse: GetCustomerContextEncoded
  // for each customer (up to kMaxBulk), a failed lookup being an outcome
  // with its code and a message naming "customers[i]". WouldBlock as above
  // when any lookup would read storage with kMemoryOnly.
  absl::StatusOr<std::string> BatchGetCustomerContextsEncoded(
      const Tenant& tenant, const v1::BatchGetCustomerContextsRequest& request,
      store::ReadTier tier = store::ReadTier::kAny);

  // Calls `done` once everything written before this call is durable.
  void AfterDurable(absl::AnyInvocable<void(absl::Status) &&> done) const {
    store_.rocks().AfterDurable(std::move(done));
  }

 private:
  ContextCore(const ContextStore& store, ContextCoreOptions options,
              validation::IdentityNormalizer normalizer, paging::PageTokenCodec tokens,
              HandoffTokenCodec handoff_tokens);

  absl::StatusOr<storage::CustomerRecord> LoadCustomer(const Tenant& tenant,
                                                       const std::string& id) const;
  // The survivor if `id` was merged, else `id` (NOT_FOUND if neither exists).
  absl::StatusOr<std::string> FollowMerged(const Tenant& tenant, const std::string& id) const;
  // The customer id a CustomerRef names (by name, or the owner of an identity).
  absl::StatusOr<std::string> ResolveRef(const Tenant& tenant,
                                         const cxp::type::v1::CustomerRef& ref,
                                         absl::string_view field,
                                         store::ReadTier tier = store::ReadTier::kAny) const;

  // Paging: the resume key in a page token (empty for the first page), and
  // the token for the next page ("" when there is none).
  absl::StatusOr<std::string> ResumeKey(const std::string& page_token,
                                        const std::string& fingerprint) const;
  std::string NextPageToken(bool more, const std::string& fingerprint,
                            const std::string& last_key) const;
  // Idempotent requests (AIP-155): true after filling `response` with the
  // first answer to `request_id`; INVALID_ARGUMENT if it was used for a
  // different request.
  absl::StatusOr<bool> ReplayStoredResponse(const Tenant& tenant, const std::string& method,
                                            const std::string& request_id,
                                            const std::string& fingerprint, absl::Time now,
                                            google::protobuf::Message& response) const;
  void StoreResponse(const Tenant& tenant, const std::string& method, const std::string& request_id,
                     const std::string& fingerprint, absl::Time now,
                     const google::protobuf::Message& response, ContextStore::Batch& batch) const;

  // An append of validated interactions (AppendInteraction,
  // BatchAppendInteractions).
  struct AppendRequest {
    const cxp::type::v1::CustomerRef& customer;
    bool create_customer_if_missing = false;
    std::string field_prefix;  // "interaction" or "interactions", for errors
    std::string method;        // for idempotency records
    std::string request_id;
    std::string fingerprint;
  };
  // Resolves the customer, checks journeys, numbers and commits the
  // interactions in one batch, then calls `fill_response` with the stored
  // interactions and whether the customer was created (before the response
  // is kept for request_id). A replayed request_id fills `response` from
  // the first answer instead.
  absl::Status Append(const Tenant& tenant, const AppendRequest& request, absl::Time now,
                      std::vector<v1::Interaction>& interactions,
                      google::protobuf::Message& response,
                      absl::FunctionRef<void(std::vector<v1::Interaction>&, bool)> fill_response);

  // A merge, validated; from MergeCustomers or an automatic merge.
  struct MergeRequest {
    std::string survivor_id;
    std::vector<std::string> merged_ids;
    std::string etag;
    std::string reason;
    std::string request_id;
    std::string fingerprint;
  };
  // Takes every lock the merge needs itself: call it holding none.
  absl::Status Merge(const Tenant& tenant, const MergeRequest& merge,
                     v1::MergeCustomersResponse& response);
  // `id` followed by the customers merged into it (in merges in effect).
  absl::StatusOr<std::vector<std::string>> ReadThroughIds(const Tenant& tenant,
                                                          const std::string& id) const;
  bool AutoMergeEnabled(const Tenant& tenant) const;
  // Merges customers `id` and `holder` (which holds an identity just
  // verified for `id`) and returns the survivor; ALREADY_EXISTS when they
  // cannot be merged (e.g. one was merged already).
  absl::StatusOr<std::string> AutoMerge(const Tenant& tenant, const std::string& id,
                                        const std::string& holder);
  // Completes the view of survivor ids[0] (profile, consent, preferences and
  // its own stats already in `view`) with the customers merged into it
  // (ids[1..]): stats folded in, open journeys and the newest `limit`
  // interactions of all of them.
  absl::Status AddMergedCustomers(const Tenant& tenant, const std::vector<std::string>& ids,
                                  int limit, CachedContext& view) const;

  // What an erasure adds to a removal.
  struct Erasure {
    std::string reason;
    std::string request_id;
    std::string fingerprint;
    v1::EraseCustomerResponse* response = nullptr;
  };
  // Removes the customer and everything stored about it in one batch
  // (DeleteCustomer); with `erasure`, as EraseCustomer does.
  absl::Status RemoveCustomer(const Tenant& tenant, const std::string& id, const std::string& etag,
                              Erasure* erasure);

  // Bumps the version (etag) and update_time of a changed profile, adds it
  // and its change event to `batch` (which may hold related index changes),
  // commits, and fills `out` with the API view. A CUSTOMER_UPDATED event
  // gets the new profile as its snapshot.
  absl::Status SaveCustomer(const Tenant& tenant, const std::string& id, absl::Time now,
                            storage::CustomerRecord& record, v1::ChangeEvent change,
                            ContextStore::Batch& batch, v1::Customer& out) const;

  const ContextStore& store_;
  const ContextCoreOptions options_;
  const validation::IdentityNormalizer normalizer_;
  const paging::PageTokenCodec tokens_;
  const HandoffTokenCodec handoff_tokens_;
  mutable store::StripedLocks locks_;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_CONTEXT_CORE_H_
