#include "context_service/core/context_core.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/idempotency/idempotency.h"
#include "common/status/errors.h"
#include "common/status/status_macros.h"
#include "common/status/would_block.h"
#include "context_service/core/contact_stats.h"
#include "context_service/core/interaction_head.h"
#include "context_service/core/list_filters.h"
#include "context_service/validation/consent_validation.h"
#include "context_service/validation/interaction_validation.h"
#include "context_service/validation/journey_validation.h"
#include "context_service/validation/profile_validation.h"
#include "context_service/validation/text_rules.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/time_util.h"
#include "google/protobuf/wire_format_lite.h"

namespace cxp::context {
namespace {

using google::protobuf::util::TimeUtil;
using storage::CustomerRecord;

constexpr int kMaxIdentities = 100;
constexpr int kMaxCustomerAttributes = 200;
constexpr int kDefaultContextInteractions = 10;
constexpr int kMaxContextInteractions = 100;
constexpr int kMaxOpenJourneys = 100;
static_assert(static_cast<int>(storage::OpenJourneys::kJourneysFieldNumber) ==
                  static_cast<int>(v1::CustomerContext::kOpenJourneysFieldNumber),
              "the open journeys row is framed into the view as it is");
constexpr int kContextOpenJourneys = 20;
constexpr int kMaxJourneyTransitions = 100;
constexpr size_t kMaxRequestIdLength = 128;
// Rows a List call examines before answering with a partial page: bounds the
// cost of a selective filter over a large tenant.
constexpr size_t kListScanBudget = 20000;

// Bookkeeping of one page of a filtered scan: every examined row moves the
// resume point; the page ends when full or when the scan budget is spent.
struct ScanPage {
  int page_size;
  size_t examined = 0;
  std::string last_key;
  bool full = false;

  void Examined(const std::string& key) {
    ++examined;
    last_key = key;
  }
  // After adding a row that made the page `size` long: whether to go on.
  bool Added(int size) {
    full = size >= page_size;
    return !full;
  }
  bool more() const { return full || examined >= kListScanBudget; }
};
constexpr char kCustomersPrefix[] = "customers/";

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

int64_t ToMicros(const google::protobuf::Timestamp& ts) {
  return TimeUtil::TimestampToMicroseconds(ts);
}

std::string CustomerName(const std::string& id) { return absl::StrCat(kCustomersPrefix, id); }

std::string Etag(uint64_t version) { return absl::StrCat(version); }

// "customers/{id}" (optionally followed by `suffix`) → id.
absl::StatusOr<std::string> ParseCustomerName(absl::string_view name, absl::string_view field,
                                              absl::string_view suffix = "") {
  absl::string_view rest = name;
  if (!absl::ConsumePrefix(&rest, kCustomersPrefix) || !absl::ConsumeSuffix(&rest, suffix)) {
    return InvalidArgument(std::string(field), absl::StrCat("must be customers/{customer}", suffix,
                                                            ", got \"", name, "\""));
  }
  std::string id(rest);
  RETURN_IF_ERROR(validation::ValidateCustomerId(id, field));
  return id;
}

std::string NewId() { return cxp::validation::NewResourceId(); }

absl::Status ValidateRequestId(const std::string& request_id, absl::string_view field) {
  if (request_id.size() > kMaxRequestIdLength) {
    return InvalidArgument(std::string(field),
                           absl::StrCat("at most ", kMaxRequestIdLength, " characters"));
  }
  for (unsigned char c : request_id) {
    if (c < 0x21 || c > 0x7e) return InvalidArgument(std::string(field), "must be printable ASCII");
  }
  return absl::OkStatus();
}

// The fingerprint an idempotent request's stored answer is checked against;
// "" without a request id.
std::string IdempotencyFingerprint(const google::protobuf::Message& request,
                                   const std::string& request_id) {
  return request_id.empty() ? "" : idempotency::RequestDigest(request);
}

std::string CustomerLock(const std::string& tenant, const std::string& id) {
  return absl::StrCat("c\x1f", tenant, "\x1f", id);
}
std::string IdentityLock(const std::string& tenant, const std::string& key) {
  return absl::StrCat("i\x1f", tenant, "\x1f", key);
}
std::string RequestLock(const std::string& tenant, const std::string& method,
                        const std::string& id) {
  return absl::StrCat("r\x1f", tenant, "\x1f", method, "\x1f", id);
}
// `keys` plus the request id's lock when there is a request id, so a retry
// racing its original waits and then replays it.
std::vector<std::string> WithRequestLock(std::vector<std::string> keys, const std::string& tenant,
                                         const std::string& method, const std::string& request_id) {
  if (!request_id.empty()) keys.push_back(RequestLock(tenant, method, request_id));
  return keys;
}

v1::Customer ToApi(const std::string& id, const CustomerRecord& record) {
  v1::Customer customer = record.customer();
  customer.set_name(CustomerName(id));
  customer.set_etag(Etag(record.version()));
  return customer;
}

// Moves the stored profile into `out` (no copy of its fields).
void MoveToApi(const std::string& id, CustomerRecord& record, v1::Customer& out) {
  out.Swap(record.mutable_customer());
  out.set_name(CustomerName(id));
  out.set_etag(Etag(record.version()));
}

bool ParseRow(std::string_view bytes, google::protobuf::MessageLite& message) {
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

absl::Status CheckEtag(const std::string& supplied, uint64_t version, const std::string& resource) {
  if (!supplied.empty() && supplied != Etag(version))
    return StaleEtag(resource, supplied, Etag(version));
  return absl::OkStatus();
}

struct JourneyName {
  std::string customer_id;
  std::string journey_id;
};

std::string JourneyResourceName(const std::string& id, const std::string& journey_id) {
  return absl::StrCat(kCustomersPrefix, id, "/journeys/", journey_id);
}

// "customers/{customer}/journeys/{journey}" → both ids.
absl::StatusOr<JourneyName> ParseJourneyName(absl::string_view name, absl::string_view field) {
  const std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "customers" || parts[2] != "journeys") {
    return InvalidArgument(
        std::string(field),
        absl::StrCat("must be customers/{customer}/journeys/{journey}, got \"", name, "\""));
  }
  JourneyName parsed{std::string(parts[1]), std::string(parts[3])};
  RETURN_IF_ERROR(validation::ValidateCustomerId(parsed.customer_id, field));
  RETURN_IF_ERROR(validation::ValidateCustomerId(parsed.journey_id, field));
  return parsed;
}

v1::Journey ToApi(const std::string& id, const std::string& journey_id,
                  const storage::JourneyRecord& record) {
  v1::Journey journey = record.journey();
  journey.set_name(JourneyResourceName(id, journey_id));
  journey.set_etag(Etag(record.version()));
  return journey;
}

// The open-journeys row after `journey` (API view) changed: it leaves the
// row when terminal, else it goes first (most recently updated), with only
// its latest transition.
void UpdateOpenJourneys(const v1::Journey& journey, storage::OpenJourneys& open) {
  auto* journeys = open.mutable_journeys();
  for (int i = 0; i < journeys->size(); ++i) {
    if (journeys->Get(i).name() == journey.name()) {
      journeys->DeleteSubrange(i, 1);
      break;
    }
  }
  if (validation::IsTerminal(journey.state())) return;
  v1::Journey summary = journey;
  if (summary.transitions_size() > 1) {
    summary.mutable_transitions()->DeleteSubrange(0, summary.transitions_size() - 1);
  }
  journeys->Add(std::move(summary));
  // Newest first: the new entry moves from the end to the front.
  for (int i = journeys->size() - 1; i > 0; --i) journeys->SwapElements(i, i - 1);
}

v1::ChangeEvent NewChange(v1::ChangeKind kind, absl::Time now) {
  v1::ChangeEvent event;
  event.set_kind(kind);
  *event.mutable_change_time() = ToTimestamp(now);
  return event;
}

absl::Status CheckNotMerged(const std::string& id, const CustomerRecord& record) {
  if (!record.customer().merged_into().empty()) {
    return FailedPrecondition(CustomerName(id),
                              absl::StrCat("was merged into ", record.customer().merged_into(),
                                           "; change the survivor instead"));
  }
  return absl::OkStatus();
}

// The profile fields a create or update may set, validated.
absl::Status ValidateProfile(const v1::Customer& customer, absl::string_view field) {
  const std::string prefix(field);
  RETURN_IF_ERROR(
      validation::ValidateDisplayName(customer.display_name(), prefix + ".display_name"));
  if (!customer.language_code().empty()) {
    RETURN_IF_ERROR(
        validation::ValidateLanguageCode(customer.language_code(), prefix + ".language_code")
            .status());
  }
  RETURN_IF_ERROR(validation::ValidateTimeZone(customer.time_zone(), prefix + ".time_zone"));
  RETURN_IF_ERROR(validation::ValidateTier(customer.tier(), prefix + ".tier"));
  return validation::ValidateAttributes(customer.attributes(), kMaxCustomerAttributes,
                                        prefix + ".attributes");
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContextCore>> ContextCore::Create(const ContextStore& store,
                                                                 ContextCoreOptions options) {
  ASSIGN_OR_RETURN(validation::IdentityNormalizer normalizer,
                   validation::IdentityNormalizer::Create(options.default_phone_region));
  paging::PageTokenCodec tokens = options.page_token_key.empty()
                                      ? paging::PageTokenCodec()
                                      : paging::PageTokenCodec(options.page_token_key);
  if (options.handoff_key.empty()) {
    options.handoff_key = paging::PageTokenCodec::RandomKey();
  }
  if (options.handoff_key.size() < HandoffTokenCodec::kMinKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("handoff key: must be at least ", HandoffTokenCodec::kMinKeyBytes, " bytes"));
  }
  HandoffTokenCodec handoff_tokens(options.handoff_key);
  return std::unique_ptr<ContextCore>(new ContextCore(store, std::move(options),
                                                      std::move(normalizer), std::move(tokens),
                                                      std::move(handoff_tokens)));
}

ContextCore::ContextCore(const ContextStore& store, ContextCoreOptions options,
                         validation::IdentityNormalizer normalizer, paging::PageTokenCodec tokens,
                         HandoffTokenCodec handoff_tokens)
    : store_(store),
      options_(std::move(options)),
      normalizer_(std::move(normalizer)),
      tokens_(std::move(tokens)),
      handoff_tokens_(std::move(handoff_tokens)) {}

absl::StatusOr<std::string> ContextCore::ResumeKey(const std::string& page_token,
                                                   const std::string& fingerprint) const {
  if (page_token.empty()) return std::string();
  ASSIGN_OR_RETURN(paging::PageCursor cursor,
                   tokens_.Decode(page_token, fingerprint, options_.clock()));
  return cursor.resume_key;
}

std::string ContextCore::NextPageToken(bool more, const std::string& fingerprint,
                                       const std::string& last_key) const {
  if (!more) return "";
  return tokens_.Encode({.request_fingerprint = fingerprint,
                         .resume_key = last_key,
                         .create_time = options_.clock()});
}

absl::StatusOr<bool> ContextCore::ReplayStoredResponse(
    const Tenant& tenant, const std::string& method, const std::string& request_id,
    const std::string& fingerprint, absl::Time now, google::protobuf::Message& response) const {
  if (request_id.empty()) return false;
  ASSIGN_OR_RETURN(std::optional<idempotency::StoredResponse> stored,
                   store_.GetStoredResponse(tenant, method, request_id));
  return idempotency::ReplayStoredResponse(stored, fingerprint, now, response);
}

void ContextCore::StoreResponse(const Tenant& tenant, const std::string& method,
                                const std::string& request_id, const std::string& fingerprint,
                                absl::Time now, const google::protobuf::Message& response,
                                ContextStore::Batch& batch) const {
  batch.PutStoredResponse(
      tenant, method, request_id,
      idempotency::NewStoredResponse(fingerprint, response, now + options_.request_id_ttl));
}

absl::Status ContextCore::SaveCustomer(const Tenant& tenant, const std::string& id, absl::Time now,
                                       CustomerRecord& record, v1::ChangeEvent change,
                                       ContextStore::Batch& batch, v1::Customer& out) const {
  *record.mutable_customer()->mutable_update_time() = ToTimestamp(now);
  record.set_version(record.version() + 1);  // a new etag
  batch.PutCustomer(tenant, id, record);
  out = ToApi(id, record);
  if (change.kind() == v1::CHANGE_KIND_CUSTOMER_UPDATED) *change.mutable_customer_snapshot() = out;
  batch.AddChange(tenant, id, std::move(change));
  return store_.Commit(batch);
}

// ---------------------------------------------------------------- customers

absl::Status ContextCore::CreateCustomer(const Tenant& tenant,
                                         const v1::CreateCustomerRequest& request,
                                         v1::CreateCustomerResponse& response) {
  const absl::Time now = options_.clock();
  const v1::Customer& input = request.customer();
  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
  if (!request.customer_id().empty()) {
    RETURN_IF_ERROR(validation::ValidateCustomerId(request.customer_id(), "customer_id"));
  }
  RETURN_IF_ERROR(ValidateProfile(input, "customer"));
  if (input.identities_size() > kMaxIdentities) {
    return InvalidArgument("customer.identities", absl::StrCat("at most ", kMaxIdentities));
  }
  std::vector<v1::CustomerIdentity> identities;
  std::vector<std::string> identity_keys;
  for (int i = 0; i < input.identities_size(); ++i) {
    ASSIGN_OR_RETURN(cxp::type::v1::Identity normalized,
                     normalizer_.Normalize(input.identities(i).identity(),
                                           absl::StrCat("customer.identities[", i, "].identity")));
    std::string key = validation::IdentityKey(normalized);
    if (std::find(identity_keys.begin(), identity_keys.end(), key) != identity_keys.end()) continue;
    v1::CustomerIdentity linked;
    *linked.mutable_identity() = std::move(normalized);
    linked.set_verified(input.identities(i).verified());
    *linked.mutable_create_time() = ToTimestamp(now);
    identities.push_back(std::move(linked));
    identity_keys.push_back(std::move(key));
  }

  const std::string id = request.customer_id().empty() ? NewId() : request.customer_id();
  std::vector<std::string> lock_keys = {CustomerLock(tenant, id)};
  for (const std::string& key : identity_keys) lock_keys.push_back(IdentityLock(tenant, key));
  store::ScopedStripeLock lock(locks_, WithRequestLock(std::move(lock_keys), tenant,
                                                       "CreateCustomer", request.request_id()));
  const std::string fingerprint = IdempotencyFingerprint(request, request.request_id());
  ASSIGN_OR_RETURN(const bool replayed,
                   ReplayStoredResponse(tenant, "CreateCustomer", request.request_id(), fingerprint,
                                        now, response));
  if (replayed) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<CustomerRecord> existing, store_.GetCustomer(tenant, id));
  if (existing) return AlreadyExists(CustomerName(id));
  ASSIGN_OR_RETURN(std::optional<std::string> erased, store_.ErasureOf(tenant, id));
  if (erased) {
    return absl::AlreadyExistsError(
        absl::StrCat(CustomerName(id), " was erased (erasureReceipts/", *erased,
                     "); the name of an erased customer is never reused"));
  }
  for (size_t i = 0; i < identity_keys.size(); ++i) {
    ASSIGN_OR_RETURN(std::optional<std::string> owner,
                     store_.GetIdentityOwner(tenant, identity_keys[i]));
    if (owner) {
      return absl::AlreadyExistsError(absl::StrCat(
          "customer.identities: ", identity_keys[i].substr(identity_keys[i].rfind('\x1f') + 1),
          " already belongs to another customer"));
    }
  }

  CustomerRecord record;
  v1::Customer& customer = *record.mutable_customer();
  customer = input;
  customer.clear_name();
  customer.clear_etag();
  customer.clear_merged_into();
  customer.clear_identities();
  if (!customer.language_code().empty()) {
    ASSIGN_OR_RETURN(
        *customer.mutable_language_code(),
        validation::ValidateLanguageCode(customer.language_code(), "customer.language_code"));
  }
  for (v1::CustomerIdentity& linked : identities) *customer.add_identities() = std::move(linked);
  *customer.mutable_create_time() = ToTimestamp(now);
  *customer.mutable_update_time() = ToTimestamp(now);
  record.set_version(1);

  ContextStore::Batch batch = store_.NewBatch();
  batch.PutCustomer(tenant, id, record);
  batch.PutCustomerTimeIndex(tenant, id, absl::ToUnixMicros(now));
  for (const std::string& key : identity_keys) batch.PutIdentity(tenant, key, id);
  *response.mutable_customer() = ToApi(id, record);
  v1::ChangeEvent created = NewChange(v1::CHANGE_KIND_CUSTOMER_CREATED, now);
  *created.mutable_customer_snapshot() = response.customer();
  batch.AddChange(tenant, id, std::move(created));
  if (!request.request_id().empty()) {
    StoreResponse(tenant, "CreateCustomer", request.request_id(), fingerprint, now, response,
                  batch);
  }
  return store_.Commit(batch);
}

absl::StatusOr<storage::CustomerRecord> ContextCore::LoadCustomer(const Tenant& tenant,
                                                                  const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<CustomerRecord> record, store_.GetCustomer(tenant, id));
  if (!record) return NotFound(CustomerName(id));
  return *std::move(record);
}

absl::StatusOr<std::string> ContextCore::FollowMerged(const Tenant& tenant,
                                                      const std::string& id) const {
  ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, id));
  if (record.customer().merged_into().empty()) return id;
  return ParseCustomerName(record.customer().merged_into(), "customer.merged_into");
}

absl::Status ContextCore::GetCustomer(const Tenant& tenant, const v1::GetCustomerRequest& request,
                                      v1::GetCustomerResponse& response) {
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(request.name(), "name"));
  ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, id));
  *response.mutable_customer() = ToApi(id, record);
  return absl::OkStatus();
}

absl::Status ContextCore::UpdateCustomer(const Tenant& tenant,
                                         const v1::UpdateCustomerRequest& request,
                                         v1::UpdateCustomerResponse& response) {
  const absl::Time now = options_.clock();
  const v1::Customer& input = request.customer();
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(input.name(), "customer.name"));
  RETURN_IF_ERROR(ValidateProfile(input, "customer"));

  std::vector<std::string> paths(request.update_mask().paths().begin(),
                                 request.update_mask().paths().end());
  if (paths.empty()) {  // AIP-134: no mask = every field that is set
    if (!input.display_name().empty()) paths.push_back("display_name");
    if (!input.language_code().empty()) paths.push_back("language_code");
    if (!input.time_zone().empty()) paths.push_back("time_zone");
    if (!input.tier().empty()) paths.push_back("tier");
    if (!input.attributes().empty()) paths.push_back("attributes");
  }
  for (const std::string& path : paths) {
    static const std::set<std::string> kPaths = {"display_name", "language_code", "time_zone",
                                                 "tier", "attributes"};
    if (absl::StartsWith(path, "attributes.")) {
      RETURN_IF_ERROR(
          validation::ValidateAttributeKey(path.substr(strlen("attributes.")), "update_mask"));
      continue;
    }
    if (kPaths.count(path) == 0) {
      return InvalidArgument("update_mask",
                             absl::StrCat("cannot update \"", path,
                                          "\" (allowed: display_name, language_code, "
                                          "time_zone, tier, attributes, attributes.<key>)"));
    }
  }

  store::ScopedStripeLock lock(locks_, {CustomerLock(tenant, id)});
  ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, id));
  RETURN_IF_ERROR(CheckNotMerged(id, record));
  RETURN_IF_ERROR(CheckEtag(input.etag(), record.version(), CustomerName(id)));
  v1::Customer& customer = *record.mutable_customer();
  for (const std::string& path : paths) {
    if (path == "display_name") customer.set_display_name(input.display_name());
    if (path == "time_zone") customer.set_time_zone(input.time_zone());
    if (path == "tier") customer.set_tier(input.tier());
    if (path == "language_code") {
      std::string canonical;
      if (!input.language_code().empty()) {
        ASSIGN_OR_RETURN(canonical, validation::ValidateLanguageCode(input.language_code(),
                                                                     "customer.language_code"));
      }
      customer.set_language_code(canonical);
    }
    if (path == "attributes") *customer.mutable_attributes() = input.attributes();
    if (absl::StartsWith(path, "attributes.")) {
      const std::string key = path.substr(strlen("attributes."));
      auto it = input.attributes().find(key);
      if (it == input.attributes().end()) {
        customer.mutable_attributes()->erase(key);
      } else {
        (*customer.mutable_attributes())[key] = it->second;
      }
    }
  }
  RETURN_IF_ERROR(validation::ValidateAttributes(customer.attributes(), kMaxCustomerAttributes,
                                                 "customer.attributes"));
  ContextStore::Batch batch = store_.NewBatch();
  return SaveCustomer(tenant, id, now, record, NewChange(v1::CHANGE_KIND_CUSTOMER_UPDATED, now),
                      batch, *response.mutable_customer());
}

absl::Status ContextCore::ListCustomers(const Tenant& tenant,
                                        const v1::ListCustomersRequest& request,
                                        v1::ListCustomersResponse& response) {
  ASSIGN_OR_RETURN(const int page_size, paging::EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(filter::Filter filter,
                   filter::ParseFilter(request.filter(), CustomerFilterSchema()));
  const std::string fingerprint =
      paging::RequestFingerprint({"ListCustomers", tenant, filter.CanonicalText()});
  ASSIGN_OR_RETURN(const std::string resume_key, ResumeKey(request.page_token(), fingerprint));
  ScanPage page{page_size};
  absl::Status failure;
  RETURN_IF_ERROR(store_.ScanCustomersByTime(
      tenant, resume_key, kListScanBudget, [&](const std::string& key, const std::string& id) {
        page.Examined(key);
        absl::StatusOr<std::optional<CustomerRecord>> record = store_.GetCustomer(tenant, id);
        if (!record.ok()) {
          failure = record.status();
          return false;
        }
        if (!*record || !(*record)->customer().merged_into().empty()) return true;
        if (!filter.Matches(CustomerFieldResolver((*record)->customer()))) return true;
        *response.add_customers() = ToApi(id, **record);
        return page.Added(response.customers_size());
      }));
  RETURN_IF_ERROR(failure);
  response.set_next_page_token(NextPageToken(page.more(), fingerprint, page.last_key));
  return absl::OkStatus();
}

absl::Status ContextCore::DeleteCustomer(const Tenant& tenant,
                                         const v1::DeleteCustomerRequest& request,
                                         v1::DeleteCustomerResponse&) {
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(request.name(), "name"));
  return RemoveCustomer(tenant, id, request.etag(), /*erasure=*/nullptr);
}

absl::Status ContextCore::EraseCustomer(const Tenant& tenant,
                                        const v1::EraseCustomerRequest& request,
                                        v1::EraseCustomerResponse& response) {
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(request.name(), "name"));
  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
  RETURN_IF_ERROR(validation::ValidateText(request.reason(), "reason", 0, 1024,
                                           validation::ControlChars::kAllowNewlines));
  const std::string fingerprint = IdempotencyFingerprint(request, request.request_id());
  if (!request.request_id().empty()) {
    // A retry finds the customer gone: answer it before looking for it.
    // (RemoveCustomer checks again under all its locks.)
    ASSIGN_OR_RETURN(const bool replayed,
                     ReplayStoredResponse(tenant, "EraseCustomer", request.request_id(),
                                          fingerprint, now, response));
    if (replayed) return absl::OkStatus();
  }
  Erasure erasure{.reason = request.reason(),
                  .request_id = request.request_id(),
                  .fingerprint = fingerprint,
                  .response = &response};
  return RemoveCustomer(tenant, id, "", &erasure);
}

absl::Status ContextCore::RemoveCustomer(const Tenant& tenant, const std::string& id,
                                         const std::string& etag, Erasure* erasure) {
  // The identities to unlink and the customers merged into this one are
  // known only after reading; lock them with the customer and re-check, so
  // nothing is added meanwhile.
  for (int attempt = 0; attempt < 8; ++attempt) {
    ASSIGN_OR_RETURN(CustomerRecord peek, LoadCustomer(tenant, id));
    RETURN_IF_ERROR(CheckNotMerged(id, peek));
    ASSIGN_OR_RETURN(const std::vector<std::string> peek_ids, ReadThroughIds(tenant, id));
    if (erasure == nullptr && peek_ids.size() > 1) {
      return FailedPrecondition(CustomerName(id),
                                "has customers merged into it; undo the merges first, or erase "
                                "them all with EraseCustomer");
    }
    std::vector<std::string> keys;
    for (const std::string& cid : peek_ids) keys.push_back(CustomerLock(tenant, cid));
    std::vector<std::string> identity_keys;
    for (const auto& linked : peek.customer().identities()) {
      identity_keys.push_back(validation::IdentityKey(linked.identity()));
      keys.push_back(IdentityLock(tenant, identity_keys.back()));
    }
    const bool idempotent = erasure != nullptr && !erasure->request_id.empty();
    if (idempotent) keys.push_back(RequestLock(tenant, "EraseCustomer", erasure->request_id));
    store::ScopedStripeLock lock(locks_, keys);
    const absl::Time now = options_.clock();
    if (idempotent) {
      ASSIGN_OR_RETURN(const bool replayed,
                       ReplayStoredResponse(tenant, "EraseCustomer", erasure->request_id,
                                            erasure->fingerprint, now, *erasure->response));
      if (replayed) return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, id));
    if (record.version() != peek.version()) continue;
    ASSIGN_OR_RETURN(const std::vector<std::string> ids, ReadThroughIds(tenant, id));
    if (ids != peek_ids) continue;
    RETURN_IF_ERROR(CheckEtag(etag, record.version(), CustomerName(id)));
    ContextStore::Batch batch = store_.NewBatch();
    // Customers merged into this one have no identities of their own: theirs
    // moved here.
    for (const std::string& key : identity_keys) batch.DeleteIdentity(tenant, key);
    struct Counts {
      int64_t journeys = 0, handoffs = 0, events = 0, interactions = 0, consent = 0,
              consent_history = 0, preferences = 0;
    } counts;
    std::set<std::string> merge_records;
    for (const std::string& cid : ids) {
      int64_t create_micros = ToMicros(record.customer().create_time());
      if (cid != id) {
        ASSIGN_OR_RETURN(CustomerRecord merged, LoadCustomer(tenant, cid));
        create_micros = ToMicros(merged.customer().create_time());
      }
      // Journeys and handoffs change only under the customer's lock, so
      // these lists are whole.
      RETURN_IF_ERROR(store_.ScanJourneysByTime(
          tenant, cid, "", std::numeric_limits<size_t>::max(),
          [&](const std::string&, const ContextStore::JourneyIndexEntry& entry) {
            batch.DeleteJourneyIndex(tenant, cid, entry.journey_id, entry.update_micros);
            ++counts.journeys;
            return true;
          }));
      ASSIGN_OR_RETURN(const std::vector<std::string> handoffs,
                       store_.CustomerHandoffIds(tenant, cid));
      for (const std::string& handoff_id : handoffs) batch.DeleteHandoff(tenant, handoff_id);
      counts.handoffs += static_cast<int64_t>(handoffs.size());
      if (erasure != nullptr) {
        // Also the customer's past change events and its merge records.
        ASSIGN_OR_RETURN(const std::vector<int64_t> events,
                         store_.CustomerChangeSequences(tenant, cid));
        for (const int64_t sequence : events) batch.DeleteChange(tenant, sequence);
        counts.events += static_cast<int64_t>(events.size());
        ASSIGN_OR_RETURN(ContextStore::CustomerState state, store_.GetCustomerState(tenant, cid));
        counts.interactions += state.stats.interaction_count();
        counts.consent += state.consent.entries_size();
        counts.preferences += state.preferences.version() > 0 ? 1 : 0;
        RETURN_IF_ERROR(
            store_.ScanConsentHistory(tenant, cid, "", store::RocksStore::kNoLimit,
                                      [&](const std::string&, const v1::ConsentChange&) {
                                        ++counts.consent_history;
                                        return true;
                                      }));
        ASSIGN_OR_RETURN(const std::vector<std::string> records,
                         store_.MergeRecordIds(tenant, cid));
        merge_records.insert(records.begin(), records.end());
      }
      batch.DeleteCustomerData(tenant, cid, create_micros);
    }
    if (erasure == nullptr) {
      batch.AddChange(tenant, id, NewChange(v1::CHANGE_KIND_CUSTOMER_DELETED, now));
      return store_.Commit(batch);
    }

    // Erasure: a receipt that holds no personal data, and the names kept
    // from reuse.
    for (const std::string& record_id : merge_records) {
      ASSIGN_OR_RETURN(std::optional<storage::MergeState> state,
                       store_.GetMergeState(tenant, record_id));
      if (state) batch.DeleteMergeState(tenant, record_id, *state);
    }
    const std::string receipt_id = NewId();
    v1::ErasureReceipt& receipt = *erasure->response->mutable_erasure_receipt();
    receipt.set_name(absl::StrCat("erasureReceipts/", receipt_id));
    receipt.set_customer(CustomerName(id));
    for (size_t i = 1; i < ids.size(); ++i) {
      receipt.add_merged_customers(CustomerName(ids[i]));
      batch.MarkErased(tenant, ids[i], receipt_id);
    }
    receipt.set_reason(erasure->reason);
    auto count = [&](const char* item_type, int64_t n) {
      v1::ErasedItemCount& item = *receipt.add_erased_items();
      item.set_item_type(item_type);
      item.set_count(n);
    };
    count("profile", static_cast<int64_t>(ids.size()));
    count("identities", record.customer().identities_size());
    count("interactions", counts.interactions);
    count("consent", counts.consent);
    count("consent_history", counts.consent_history);
    count("contact_preferences", counts.preferences);
    count("journeys", counts.journeys);
    count("handoffs", counts.handoffs);
    count("merge_records", static_cast<int64_t>(merge_records.size()));
    count("change_events", counts.events);
    *receipt.mutable_erase_time() = ToTimestamp(now);
    batch.PutErasureReceipt(tenant, id, receipt_id, receipt);
    batch.AddChange(tenant, id, NewChange(v1::CHANGE_KIND_CUSTOMER_ERASED, now));
    if (!erasure->request_id.empty()) {
      StoreResponse(tenant, "EraseCustomer", erasure->request_id, erasure->fingerprint, now,
                    *erasure->response, batch);
    }
    return store_.Commit(batch);
  }
  return absl::AbortedError(absl::StrCat(CustomerName(id), ": changed concurrently, retry"));
}

// --------------------------------------------------------------- identities

absl::Status ContextCore::AddIdentity(const Tenant& tenant, const v1::AddIdentityRequest& request,
                                      v1::AddIdentityResponse& response) {
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(request.customer(), "customer"));
  ASSIGN_OR_RETURN(cxp::type::v1::Identity identity,
                   normalizer_.Normalize(request.identity(), "identity"));
  const std::string key = validation::IdentityKey(identity);
  if (request.verified() && AutoMergeEnabled(tenant)) {
    // A verified identity another customer holds proves they are one
    // person: merge them, then link it on the survivor as usual.
    ASSIGN_OR_RETURN(std::optional<std::string> holder, store_.GetIdentityOwner(tenant, key));
    if (holder && *holder != id) {
      ASSIGN_OR_RETURN(id, AutoMerge(tenant, id, *holder));
    }
  }
  store::ScopedStripeLock lock(locks_, {CustomerLock(tenant, id), IdentityLock(tenant, key)});
  ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, id));
  RETURN_IF_ERROR(CheckNotMerged(id, record));
  ASSIGN_OR_RETURN(std::optional<std::string> owner, store_.GetIdentityOwner(tenant, key));
  if (owner && *owner != id) {
    return absl::AlreadyExistsError(
        absl::StrCat("identity: ", identity.value(), " already belongs to another customer"));
  }
  v1::Customer& customer = *record.mutable_customer();
  if (owner) {  // already linked: idempotent, but a verification is recorded
    for (v1::CustomerIdentity& linked : *customer.mutable_identities()) {
      if (validation::IdentityKey(linked.identity()) == key && request.verified() &&
          !linked.verified()) {
        linked.set_verified(true);
        owner.reset();  // write below
      }
    }
    if (owner) {
      *response.mutable_customer() = ToApi(id, record);
      return absl::OkStatus();
    }
  } else {
    if (customer.identities_size() >= kMaxIdentities) {
      return absl::ResourceExhaustedError(absl::StrCat("identity: ", CustomerName(id),
                                                       " already has the maximum of ",
                                                       kMaxIdentities, " identities"));
    }
    v1::CustomerIdentity* linked = customer.add_identities();
    *linked->mutable_identity() = identity;
    linked->set_verified(request.verified());
    *linked->mutable_create_time() = ToTimestamp(now);
  }
  ContextStore::Batch batch = store_.NewBatch();
  batch.PutIdentity(tenant, key, id);
  v1::ChangeEvent added = NewChange(v1::CHANGE_KIND_IDENTITY_ADDED, now);
  *added.mutable_identity() = identity;
  return SaveCustomer(tenant, id, now, record, std::move(added), batch,
                      *response.mutable_customer());
}

absl::Status ContextCore::RemoveIdentity(const Tenant& tenant,
                                         const v1::RemoveIdentityRequest& request,
                                         v1::RemoveIdentityResponse& response) {
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(request.customer(), "customer"));
  ASSIGN_OR_RETURN(cxp::type::v1::Identity identity,
                   normalizer_.Normalize(request.identity(), "identity"));
  const std::string key = validation::IdentityKey(identity);
  store::ScopedStripeLock lock(locks_, {CustomerLock(tenant, id), IdentityLock(tenant, key)});
  ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, id));
  RETURN_IF_ERROR(CheckNotMerged(id, record));
  auto* identities = record.mutable_customer()->mutable_identities();
  auto it =
      std::find_if(identities->begin(), identities->end(), [&](const v1::CustomerIdentity& linked) {
        return validation::IdentityKey(linked.identity()) == key;
      });
  if (it == identities->end()) {
    return absl::NotFoundError(
        absl::StrCat("identity: ", identity.value(), " is not linked to ", CustomerName(id)));
  }
  identities->erase(it);
  ContextStore::Batch batch = store_.NewBatch();
  batch.DeleteIdentity(tenant, key);
  v1::ChangeEvent removed = NewChange(v1::CHANGE_KIND_IDENTITY_REMOVED, now);
  *removed.mutable_identity() = identity;
  return SaveCustomer(tenant, id, now, record, std::move(removed), batch,
                      *response.mutable_customer());
}

absl::StatusOr<std::string> ContextCore::ResolveRef(const Tenant& tenant,
                                                    const cxp::type::v1::CustomerRef& ref,
                                                    absl::string_view field,
                                                    store::ReadTier tier) const {
  switch (ref.ref_case()) {
    case cxp::type::v1::CustomerRef::kCustomer:
      return ParseCustomerName(ref.customer(), absl::StrCat(field, ".customer"));
    case cxp::type::v1::CustomerRef::kIdentity: {
      ASSIGN_OR_RETURN(cxp::type::v1::Identity identity,
                       normalizer_.Normalize(ref.identity(), absl::StrCat(field, ".identity")));
      ASSIGN_OR_RETURN(std::optional<std::string> owner,
                       store_.GetIdentityOwner(tenant, validation::IdentityKey(identity), tier));
      if (!owner) {
        return absl::NotFoundError(
            absl::StrCat(field, ".identity: no customer has ", identity.value()));
      }
      return *owner;
    }
    default:
      return InvalidArgument(std::string(field), "set customer or identity");
  }
}

absl::Status ContextCore::ResolveCustomer(const Tenant& tenant,
                                          const v1::ResolveCustomerRequest& request,
                                          v1::ResolveCustomerResponse& response) {
  cxp::type::v1::CustomerRef ref;
  *ref.mutable_identity() = request.identity();
  absl::StatusOr<std::string> id = ResolveRef(tenant, ref, "request");
  if (!id.ok()) {
    // Name the request's own field rather than the internal reference.
    std::string message(id.status().message());
    absl::StrReplaceAll({{"request.identity", "identity"}}, &message);
    return absl::Status(id.status().code(), message);
  }
  ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, *id));
  *response.mutable_customer() = ToApi(*id, record);
  return absl::OkStatus();
}

// ------------------------------------------------------------- interactions

absl::Status ContextCore::AppendInteraction(const Tenant& tenant,
                                            const v1::AppendInteractionRequest& request,
                                            v1::AppendInteractionResponse& response) {
  const absl::Time now = options_.clock();
  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
  std::vector<v1::Interaction> interactions;
  ASSIGN_OR_RETURN(
      interactions.emplace_back(),
      validation::NormalizeInteraction(request.interaction(), normalizer_, now, "interaction"));
  const AppendRequest append{.customer = request.customer(),
                             .create_customer_if_missing = request.create_customer_if_missing(),
                             .field_prefix = "interaction",
                             .method = "AppendInteraction",
                             .request_id = request.request_id(),
                             .fingerprint = IdempotencyFingerprint(request, request.request_id())};
  return Append(tenant, append, now, interactions, response,
                [&response](std::vector<v1::Interaction>& stored, bool created) {
                  *response.mutable_interaction() = std::move(stored.front());
                  response.set_customer_created(created);
                });
}

absl::Status ContextCore::BatchAppendInteractions(const Tenant& tenant,
                                                  const v1::BatchAppendInteractionsRequest& request,
                                                  v1::BatchAppendInteractionsResponse& response) {
  const absl::Time now = options_.clock();
  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
  if (request.interactions().empty()) {
    return InvalidArgument("interactions", "give at least one interaction");
  }
  if (request.interactions_size() > kMaxBatchAppend) {
    return InvalidArgument(
        "interactions",
        absl::StrCat("at most ", kMaxBatchAppend, " per call, got ", request.interactions_size()));
  }
  std::vector<v1::Interaction> interactions;
  interactions.reserve(request.interactions_size());
  for (int i = 0; i < request.interactions_size(); ++i) {
    ASSIGN_OR_RETURN(interactions.emplace_back(),
                     validation::NormalizeInteraction(request.interactions(i), normalizer_, now,
                                                      absl::StrCat("interactions[", i, "]")));
  }
  const AppendRequest append{.customer = request.customer(),
                             .create_customer_if_missing = request.create_customer_if_missing(),
                             .field_prefix = "interactions",
                             .method = "BatchAppendInteractions",
                             .request_id = request.request_id(),
                             .fingerprint = IdempotencyFingerprint(request, request.request_id())};
  return Append(tenant, append, now, interactions, response,
                [&response](std::vector<v1::Interaction>& stored, bool created) {
                  for (v1::Interaction& interaction : stored) {
                    *response.add_interactions() = std::move(interaction);
                  }
                  response.set_customer_created(created);
                });
}

absl::Status ContextCore::BulkAppendInteractions(const Tenant& tenant,
                                                 const v1::BulkAppendInteractionsRequest& request,
                                                 v1::BulkAppendInteractionsResponse& response) {
  if (request.requests().empty()) return InvalidArgument("requests", "give at least one request");
  if (request.requests_size() > kMaxBulk) {
    return InvalidArgument(
        "requests", absl::StrCat("at most ", kMaxBulk, " per call, got ", request.requests_size()));
  }
  for (int i = 0; i < request.requests_size(); ++i) {
    v1::AppendInteractionOutcome& outcome = *response.add_outcomes();
    v1::AppendInteractionResponse appended;
    const absl::Status status = AppendInteraction(tenant, request.requests(i), appended);
    if (status.ok()) {
      *outcome.mutable_response() = std::move(appended);
      continue;
    }
    outcome.set_code(static_cast<int32_t>(status.code()));
    outcome.set_message(absl::StrCat("requests[", i, "].", status.message()));
  }
  return absl::OkStatus();
}

// The field naming interaction `index` of an append: "interaction" for a
// single one, "interactions[i]" in a batch.
static std::string InteractionField(absl::string_view prefix, size_t index, size_t count,
                                    absl::string_view field) {
  if (count == 1 && prefix == "interaction") return absl::StrCat(prefix, ".", field);
  return absl::StrCat(prefix, "[", index, "].", field);
}

absl::Status ContextCore::Append(
    const Tenant& tenant, const AppendRequest& request, absl::Time now,
    std::vector<v1::Interaction>& interactions, google::protobuf::Message& response,
    absl::FunctionRef<void(std::vector<v1::Interaction>&, bool)> fill_response) {
  std::optional<cxp::type::v1::Identity> by_identity;
  std::string named_id;
  switch (request.customer.ref_case()) {
    case cxp::type::v1::CustomerRef::kCustomer: {
      ASSIGN_OR_RETURN(named_id,
                       ParseCustomerName(request.customer.customer(), "customer.customer"));
      break;
    }
    case cxp::type::v1::CustomerRef::kIdentity: {
      ASSIGN_OR_RETURN(by_identity,
                       normalizer_.Normalize(request.customer.identity(), "customer.identity"));
      break;
    }
    default:
      return InvalidArgument("customer", "set customer or identity");
  }
  for (size_t i = 0; i < interactions.size(); ++i) {
    const std::string& journey = interactions[i].journey();
    if (journey.empty()) continue;
    const std::string prefix = named_id.empty() ? "" : CustomerName(named_id) + "/journeys/";
    if (!absl::StartsWith(journey, "customers/") || !absl::StrContains(journey, "/journeys/") ||
        (!prefix.empty() && !absl::StartsWith(journey, prefix))) {
      return InvalidArgument(
          InteractionField(request.field_prefix, i, interactions.size(), "journey"),
          "must be customers/{customer}/journeys/{journey} of the same customer");
    }
  }
  const std::string identity_key = by_identity ? validation::IdentityKey(*by_identity) : "";

  // Resolve outside the locks, lock everything at once, then re-check: an
  // identity may have been linked or unlinked in between.
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::optional<std::string> owner;
    if (by_identity) {
      ASSIGN_OR_RETURN(owner, store_.GetIdentityOwner(tenant, identity_key));
      if (!owner && !request.create_customer_if_missing) {
        return absl::NotFoundError(absl::StrCat("customer.identity: no customer has ",
                                                by_identity->value(),
                                                " (set create_customer_if_missing to create one)"));
      }
    }
    const std::string id = by_identity ? owner.value_or(NewId()) : named_id;
    std::vector<std::string> lock_keys = {CustomerLock(tenant, id)};
    if (by_identity) lock_keys.push_back(IdentityLock(tenant, identity_key));
    if (!request.request_id.empty()) {
      lock_keys.push_back(RequestLock(tenant, request.method, request.request_id));
    }
    store::ScopedStripeLock lock(locks_, lock_keys);
    if (by_identity) {
      ASSIGN_OR_RETURN(std::optional<std::string> owner_now,
                       store_.GetIdentityOwner(tenant, identity_key));
      if (owner_now != owner) continue;
    }
    if (!request.request_id.empty()) {
      ASSIGN_OR_RETURN(const bool replayed,
                       ReplayStoredResponse(tenant, request.method, request.request_id,
                                            request.fingerprint, now, response));
      if (replayed) return absl::OkStatus();
    }

    ContextStore::Batch batch = store_.NewBatch();
    const bool create = by_identity && !owner;
    if (create) {
      CustomerRecord record;
      v1::CustomerIdentity* linked = record.mutable_customer()->add_identities();
      *linked->mutable_identity() = *by_identity;
      *linked->mutable_create_time() = ToTimestamp(now);
      *record.mutable_customer()->mutable_create_time() = ToTimestamp(now);
      *record.mutable_customer()->mutable_update_time() = ToTimestamp(now);
      record.set_version(1);
      batch.PutCustomer(tenant, id, record);
      batch.PutCustomerTimeIndex(tenant, id, absl::ToUnixMicros(now));
      batch.PutIdentity(tenant, identity_key, id);
      v1::ChangeEvent created = NewChange(v1::CHANGE_KIND_CUSTOMER_CREATED, now);
      *created.mutable_customer_snapshot() = ToApi(id, record);
      batch.AddChange(tenant, id, std::move(created));
    }
    storage::ContactStats stats;
    if (!create) {
      // A stats row exists only for a live customer (it goes with the
      // profile) and mirrors its merged state, so usually the profile need
      // not be read; without one (no interaction yet) the profile decides.
      ASSIGN_OR_RETURN(std::optional<storage::ContactStats> stored, store_.FindStats(tenant, id));
      if (!stored || stored->customer_merged()) {
        ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, id));
        if (!record.customer().merged_into().empty()) {
          // A merged customer's appends land on its survivor (an identity
          // never resolves to a merged customer: its identities moved).
          ASSIGN_OR_RETURN(
              named_id, ParseCustomerName(record.customer().merged_into(), "customer.merged_into"));
          continue;
        }
      }
      if (stored) stats = *std::move(stored);
    }
    std::optional<std::vector<std::string>> read_through;  // read only when needed
    for (size_t i = 0; i < interactions.size(); ++i) {
      const std::string& name = interactions[i].journey();
      if (name.empty()) continue;
      const std::string field =
          InteractionField(request.field_prefix, i, interactions.size(), "journey");
      ASSIGN_OR_RETURN(const JourneyName journey, ParseJourneyName(name, field));
      if (journey.customer_id != id) {
        // A survivor's interactions may continue the journeys of the
        // customers merged into it.
        if (!read_through) {
          ASSIGN_OR_RETURN(read_through, ReadThroughIds(tenant, id));
        }
        if (std::find(read_through->begin(), read_through->end(), journey.customer_id) ==
            read_through->end()) {
          return InvalidArgument(field, "belongs to another customer");
        }
      }
      ASSIGN_OR_RETURN(std::optional<storage::JourneyRecord> stored,
                       store_.GetJourney(tenant, journey.customer_id, journey.journey_id));
      if (!stored) return absl::NotFoundError(absl::StrCat(field, ": ", name, " does not exist"));
    }
    // Past the last `continue`: the interactions can be numbered in place.
    const v1::ChangeEvent appended = NewChange(v1::CHANGE_KIND_INTERACTION_APPENDED, now);
    for (v1::Interaction& interaction : interactions) {
      const uint64_t seq = stats.next_interaction_seq() + 1;
      stats.set_next_interaction_seq(seq);
      interaction.set_name(absl::StrFormat("%s/interactions/%016x", CustomerName(id), seq));
      if (!interaction.has_occur_time()) *interaction.mutable_occur_time() = ToTimestamp(now);
      *interaction.mutable_create_time() = ToTimestamp(now);
      RecordContact(interaction, now, stats);
      batch.PutInteraction(tenant, id, ToMicros(interaction.occur_time()), seq, interaction,
                           &appended);
    }
    batch.PutStats(tenant, id, stats);
    fill_response(interactions, create);
    if (!request.request_id.empty()) {
      StoreResponse(tenant, request.method, request.request_id, request.fingerprint, now, response,
                    batch);
    }
    return store_.Commit(batch);
  }
  return absl::AbortedError("customer: identity changed concurrently, retry");
}

absl::Status ContextCore::ListInteractions(const Tenant& tenant,
                                           const v1::ListInteractionsRequest& request,
                                           v1::ListInteractionsResponse& response) {
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(request.parent(), "parent"));
  ASSIGN_OR_RETURN(const int page_size, paging::EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(filter::Filter filter,
                   filter::ParseFilter(request.filter(), InteractionFilterSchema()));
  const std::string fingerprint = paging::RequestFingerprint(
      {"ListInteractions", tenant, request.parent(), filter.CanonicalText()});
  ASSIGN_OR_RETURN(const std::string resume_key, ResumeKey(request.page_token(), fingerprint));
  RETURN_IF_ERROR(LoadCustomer(tenant, id).status());
  // A survivor's list includes the timelines of the customers merged into it.
  ASSIGN_OR_RETURN(const std::vector<std::string> ids, ReadThroughIds(tenant, id));
  const TimeBounds bounds = OccurTimeBounds(filter);
  ScanPage page{page_size};
  RETURN_IF_ERROR(store_.ScanMergedInteractions(
      tenant, ids, resume_key, bounds.newest_micros, bounds.oldest_micros, kListScanBudget,
      [&](const std::string& key, const v1::Interaction& interaction) {
        page.Examined(key);
        if (!filter.Matches(InteractionFieldResolver(interaction))) return true;
        *response.add_interactions() = interaction;
        return page.Added(response.interactions_size());
      }));
  response.set_next_page_token(NextPageToken(page.more(), fingerprint, page.last_key));
  return absl::OkStatus();
}

// ------------------------------------------------------ consent, preferences

namespace {

v1::Consent ToApiConsent(const std::string& id, const storage::ConsentRecord& record) {
  v1::Consent consent;
  consent.set_name(CustomerName(id) + "/consent");
  *consent.mutable_entries() = record.entries();
  if (record.update_micros() != 0) {
    *consent.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(record.update_micros());
  }
  return consent;
}

v1::ContactPreferences ToApiPreferences(const std::string& id,
                                        const storage::PreferencesRecord& record) {
  v1::ContactPreferences preferences = record.preferences();
  preferences.set_name(CustomerName(id) + "/contactPreferences");
  preferences.set_etag(Etag(record.version()));
  return preferences;
}

}  // namespace

absl::Status ContextCore::GetConsent(const Tenant& tenant, const v1::GetConsentRequest& request,
                                     v1::GetConsentResponse& response) {
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(request.name(), "name", "/consent"));
  RETURN_IF_ERROR(LoadCustomer(tenant, id).status());
  ASSIGN_OR_RETURN(ContextStore::CustomerState state, store_.GetCustomerState(tenant, id));
  *response.mutable_consent() = ToApiConsent(id, state.consent);
  return absl::OkStatus();
}

absl::Status ContextCore::UpdateConsent(const Tenant& tenant,
                                        const v1::UpdateConsentRequest& request,
                                        v1::UpdateConsentResponse& response) {
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(request.customer(), "customer"));
  RETURN_IF_ERROR(validation::ValidateUpdateConsent(request, now, ""));
  store::ScopedStripeLock lock(locks_, {CustomerLock(tenant, id)});
  ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, id));
  RETURN_IF_ERROR(CheckNotMerged(id, record));
  ASSIGN_OR_RETURN(ContextStore::CustomerState state, store_.GetCustomerState(tenant, id));
  storage::ConsentRecord& consent = state.consent;

  v1::ConsentEvidence evidence = request.evidence();
  if (!evidence.has_capture_time()) *evidence.mutable_capture_time() = ToTimestamp(now);
  v1::ConsentState previous = v1::CONSENT_STATE_UNSPECIFIED;
  auto* entries = consent.mutable_entries();
  auto it = std::find_if(entries->begin(), entries->end(), [&](const v1::ConsentEntry& entry) {
    return entry.channel() == request.channel() && entry.purpose() == request.purpose();
  });
  if (it != entries->end()) {
    previous = it->state();
    if (request.state() == v1::CONSENT_STATE_UNSPECIFIED) {
      entries->erase(it);
    } else {
      it->set_state(request.state());
      *it->mutable_evidence() = evidence;
      *it->mutable_update_time() = ToTimestamp(now);
    }
  } else if (request.state() != v1::CONSENT_STATE_UNSPECIFIED) {
    v1::ConsentEntry* entry = consent.add_entries();
    entry->set_channel(request.channel());
    entry->set_purpose(request.purpose());
    entry->set_state(request.state());
    *entry->mutable_evidence() = evidence;
    *entry->mutable_update_time() = ToTimestamp(now);
  }
  consent.set_update_micros(absl::ToUnixMicros(now));
  const uint64_t seq = consent.next_change_seq() + 1;
  consent.set_next_change_seq(seq);

  // History is kept, never overwritten: every decision is a new row.
  v1::ConsentChange change;
  change.set_channel(request.channel());
  change.set_purpose(request.purpose());
  change.set_previous_state(previous);
  change.set_state(request.state());
  *change.mutable_evidence() = evidence;
  *change.mutable_change_time() = ToTimestamp(now);

  ContextStore::Batch batch = store_.NewBatch();
  batch.PutConsent(tenant, id, consent);
  batch.PutConsentChange(tenant, id, seq, change);
  v1::ChangeEvent consent_updated = NewChange(v1::CHANGE_KIND_CONSENT_UPDATED, now);
  *consent_updated.mutable_consent_change() = change;
  batch.AddChange(tenant, id, std::move(consent_updated));
  RETURN_IF_ERROR(store_.Commit(batch));
  *response.mutable_consent() = ToApiConsent(id, consent);
  return absl::OkStatus();
}

absl::Status ContextCore::ListConsentHistory(const Tenant& tenant,
                                             const v1::ListConsentHistoryRequest& request,
                                             v1::ListConsentHistoryResponse& response) {
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(request.parent(), "parent"));
  ASSIGN_OR_RETURN(const int page_size, paging::EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(filter::Filter filter,
                   filter::ParseFilter(request.filter(), ConsentChangeFilterSchema()));
  const std::string fingerprint = paging::RequestFingerprint(
      {"ListConsentHistory", tenant, request.parent(), filter.CanonicalText()});
  ASSIGN_OR_RETURN(const std::string resume_key, ResumeKey(request.page_token(), fingerprint));
  RETURN_IF_ERROR(LoadCustomer(tenant, id).status());
  ScanPage page{page_size};
  RETURN_IF_ERROR(
      store_.ScanConsentHistory(tenant, id, resume_key, kListScanBudget,
                                [&](const std::string& key, const v1::ConsentChange& change) {
                                  page.Examined(key);
                                  if (!filter.Matches(ConsentChangeFieldResolver(change)))
                                    return true;
                                  *response.add_consent_changes() = change;
                                  return page.Added(response.consent_changes_size());
                                }));
  response.set_next_page_token(NextPageToken(page.more(), fingerprint, page.last_key));
  return absl::OkStatus();
}

absl::Status ContextCore::GetContactPreferences(const Tenant& tenant,
                                                const v1::GetContactPreferencesRequest& request,
                                                v1::GetContactPreferencesResponse& response) {
  ASSIGN_OR_RETURN(std::string id,
                   ParseCustomerName(request.name(), "name", "/contactPreferences"));
  RETURN_IF_ERROR(LoadCustomer(tenant, id).status());
  ASSIGN_OR_RETURN(ContextStore::CustomerState state, store_.GetCustomerState(tenant, id));
  *response.mutable_contact_preferences() = ToApiPreferences(id, state.preferences);
  return absl::OkStatus();
}

absl::Status ContextCore::UpdateContactPreferences(
    const Tenant& tenant, const v1::UpdateContactPreferencesRequest& request,
    v1::UpdateContactPreferencesResponse& response) {
  const absl::Time now = options_.clock();
  const v1::ContactPreferences& input = request.contact_preferences();
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(input.name(), "contact_preferences.name",
                                                     "/contactPreferences"));
  ASSIGN_OR_RETURN(const v1::ContactPreferences normalized,
                   validation::NormalizeContactPreferences(input, "contact_preferences"));
  std::vector<std::string> paths(request.update_mask().paths().begin(),
                                 request.update_mask().paths().end());
  if (paths.empty()) paths = {"channel_order", "quiet_hours", "language_code"};
  for (const std::string& path : paths) {
    if (path != "channel_order" && path != "quiet_hours" && path != "language_code") {
      return InvalidArgument("update_mask", absl::StrCat("cannot update \"", path,
                                                         "\" (allowed: channel_order, quiet_hours, "
                                                         "language_code)"));
    }
  }
  store::ScopedStripeLock lock(locks_, {CustomerLock(tenant, id)});
  ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, id));
  RETURN_IF_ERROR(CheckNotMerged(id, record));
  ASSIGN_OR_RETURN(ContextStore::CustomerState state, store_.GetCustomerState(tenant, id));
  storage::PreferencesRecord& preferences = state.preferences;
  RETURN_IF_ERROR(
      CheckEtag(input.etag(), preferences.version(), CustomerName(id) + "/contactPreferences"));
  v1::ContactPreferences& stored = *preferences.mutable_preferences();
  for (const std::string& path : paths) {
    if (path == "channel_order") *stored.mutable_channel_order() = normalized.channel_order();
    if (path == "quiet_hours") *stored.mutable_quiet_hours() = normalized.quiet_hours();
    if (path == "language_code") stored.set_language_code(normalized.language_code());
  }
  stored.clear_name();
  stored.clear_etag();
  *stored.mutable_update_time() = ToTimestamp(now);
  preferences.set_version(preferences.version() + 1);
  ContextStore::Batch batch = store_.NewBatch();
  batch.PutPreferences(tenant, id, preferences);
  *response.mutable_contact_preferences() = ToApiPreferences(id, preferences);
  v1::ChangeEvent preferences_updated = NewChange(v1::CHANGE_KIND_CONTACT_PREFERENCES_UPDATED, now);
  *preferences_updated.mutable_contact_preferences() = response.contact_preferences();
  batch.AddChange(tenant, id, std::move(preferences_updated));
  return store_.Commit(batch);
}

// ------------------------------------------------------------------- merges

namespace {

constexpr int kMaxMergedPerRequest = 10;
// Customers a survivor reads through, over all its merges in effect: bounds
// the fan-out of its reads.
constexpr int kMaxMergedPerSurvivor = 50;
constexpr char kMergeRecordsSegment[] = "/mergeRecords/";

struct MergeRecordName {
  std::string customer_id;  // empty for the `mergeRecords/{id}` alias
  std::string record_id;
};

// "customers/{customer}/mergeRecords/{record}" or "mergeRecords/{record}".
absl::StatusOr<MergeRecordName> ParseMergeRecordName(absl::string_view name,
                                                     absl::string_view field) {
  const std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  MergeRecordName parsed;
  if (parts.size() == 4 && parts[0] == "customers" && parts[2] == "mergeRecords") {
    parsed.customer_id = std::string(parts[1]);
    parsed.record_id = std::string(parts[3]);
    RETURN_IF_ERROR(validation::ValidateCustomerId(parsed.customer_id, field));
  } else if (parts.size() == 2 && parts[0] == "mergeRecords") {
    parsed.record_id = std::string(parts[1]);
  } else {
    return InvalidArgument(std::string(field),
                           absl::StrCat("must be customers/{customer}/mergeRecords/{merge_record} "
                                        "or mergeRecords/{merge_record}, got \"",
                                        name, "\""));
  }
  RETURN_IF_ERROR(validation::ValidateCustomerId(parsed.record_id, field));
  return parsed;
}

// Whether `candidate` says no to more than `current` does: a denial beats a
// grant (the issue's rule: the more restrictive answer wins).
bool MoreRestrictive(const v1::ConsentEntry& candidate, const v1::ConsentEntry& current) {
  return candidate.state() == v1::CONSENT_STATE_DENIED &&
         current.state() != v1::CONSENT_STATE_DENIED;
}

bool SameMessage(const google::protobuf::MessageLite& a, const google::protobuf::MessageLite& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

// The profile fields a merge fills on the survivor when it has none.
struct FillableField {
  const char* name;
  std::string* (v1::Customer::*mutable_field)();
};
constexpr FillableField kFillableFields[] = {
    {"display_name", &v1::Customer::mutable_display_name},
    {"language_code", &v1::Customer::mutable_language_code},
    {"time_zone", &v1::Customer::mutable_time_zone},
    {"tier", &v1::Customer::mutable_tier},
};

// Every customer a survivor reads through.
std::vector<std::string> MergedIds(const storage::SurvivorMerges& merges) {
  std::vector<std::string> ids;
  for (const auto& merge : merges.merges()) {
    ids.insert(ids.end(), merge.customer_ids().begin(), merge.customer_ids().end());
  }
  return ids;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ContextCore::ReadThroughIds(const Tenant& tenant,
                                                                     const std::string& id) const {
  ASSIGN_OR_RETURN(const storage::SurvivorMerges merges, store_.GetSurvivorMerges(tenant, id));
  std::vector<std::string> ids = {id};
  for (std::string& merged : MergedIds(merges)) ids.push_back(std::move(merged));
  return ids;
}

bool ContextCore::AutoMergeEnabled(const Tenant& tenant) const {
  for (const std::string& enabled : options_.auto_merge_tenants) {
    if (enabled == "*" || enabled == tenant) return true;
  }
  return false;
}

absl::Status ContextCore::MergeCustomers(const Tenant& tenant,
                                         const v1::MergeCustomersRequest& request,
                                         v1::MergeCustomersResponse& response) {
  ASSIGN_OR_RETURN(const std::string id, ParseCustomerName(request.customer(), "customer"));
  if (request.merged_customers().empty()) {
    return InvalidArgument("merged_customers", "name at least one customer to merge");
  }
  if (request.merged_customers_size() > kMaxMergedPerRequest) {
    return InvalidArgument("merged_customers",
                           absl::StrCat("at most ", kMaxMergedPerRequest, " per merge, got ",
                                        request.merged_customers_size()));
  }
  std::vector<std::string> merged_ids;
  for (int i = 0; i < request.merged_customers_size(); ++i) {
    const std::string field = absl::StrCat("merged_customers[", i, "]");
    ASSIGN_OR_RETURN(std::string merged, ParseCustomerName(request.merged_customers(i), field));
    if (merged == id) return InvalidArgument(field, "is the survivor (customer)");
    if (std::find(merged_ids.begin(), merged_ids.end(), merged) != merged_ids.end()) {
      return InvalidArgument(field, "is listed twice");
    }
    merged_ids.push_back(std::move(merged));
  }
  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
  RETURN_IF_ERROR(validation::ValidateText(request.reason(), "reason", 0, 1024,
                                           validation::ControlChars::kAllowNewlines));
  const MergeRequest merge{.survivor_id = id,
                           .merged_ids = std::move(merged_ids),
                           .etag = request.etag(),
                           .reason = request.reason(),
                           .request_id = request.request_id(),
                           .fingerprint = IdempotencyFingerprint(request, request.request_id())};
  return Merge(tenant, merge, response);
}

absl::Status ContextCore::Merge(const Tenant& tenant, const MergeRequest& merge,
                                v1::MergeCustomersResponse& response) {
  const std::string& id = merge.survivor_id;
  // The identities that move are known only after reading the profiles:
  // read, lock everything, then check nothing changed meanwhile.
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::vector<std::string> keys = {CustomerLock(tenant, id)};
    std::vector<uint64_t> versions;
    for (const std::string& merged : merge.merged_ids) {
      keys.push_back(CustomerLock(tenant, merged));
      absl::StatusOr<CustomerRecord> peek = LoadCustomer(tenant, merged);
      if (!peek.ok()) break;  // reported below, under the locks
      versions.push_back(peek->version());
      for (const auto& linked : peek->customer().identities()) {
        keys.push_back(IdentityLock(tenant, validation::IdentityKey(linked.identity())));
      }
    }
    store::ScopedStripeLock lock(
        locks_, WithRequestLock(std::move(keys), tenant, "MergeCustomers", merge.request_id));
    const absl::Time now = options_.clock();
    ASSIGN_OR_RETURN(const bool replayed,
                     ReplayStoredResponse(tenant, "MergeCustomers", merge.request_id,
                                          merge.fingerprint, now, response));
    if (replayed) return absl::OkStatus();

    ASSIGN_OR_RETURN(CustomerRecord survivor, LoadCustomer(tenant, id));
    if (!survivor.customer().merged_into().empty()) {
      return FailedPrecondition(CustomerName(id),
                                absl::StrCat("was merged into ", survivor.customer().merged_into(),
                                             "; merge into that customer instead"));
    }
    RETURN_IF_ERROR(CheckEtag(merge.etag, survivor.version(), CustomerName(id)));
    std::vector<CustomerRecord> merged_records;
    bool changed = versions.size() != merge.merged_ids.size();
    for (size_t i = 0; i < merge.merged_ids.size(); ++i) {
      const std::string& merged = merge.merged_ids[i];
      ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, merged));
      if (i < versions.size() && record.version() != versions[i]) changed = true;
      if (!record.customer().merged_into().empty()) {
        return FailedPrecondition(
            CustomerName(merged),
            absl::StrCat("is already merged into ", record.customer().merged_into()));
      }
      ASSIGN_OR_RETURN(const storage::SurvivorMerges its_merges,
                       store_.GetSurvivorMerges(tenant, merged));
      if (its_merges.merges_size() > 0) {
        return FailedPrecondition(
            CustomerName(merged),
            absl::StrCat("has customers merged into it; merge the others into ",
                         CustomerName(merged), " instead, or undo its merges first"));
      }
      merged_records.push_back(std::move(record));
    }
    if (changed) continue;  // identities may have changed between peek and lock

    ASSIGN_OR_RETURN(storage::SurvivorMerges survivor_merges, store_.GetSurvivorMerges(tenant, id));
    const size_t read_through = MergedIds(survivor_merges).size() + merge.merged_ids.size();
    if (read_through > kMaxMergedPerSurvivor) {
      return absl::ResourceExhaustedError(
          absl::StrCat("merged_customers: ", CustomerName(id), " would read through ", read_through,
                       " merged customers; at most ", kMaxMergedPerSurvivor));
    }
    int identities = survivor.customer().identities_size();
    for (const CustomerRecord& record : merged_records) {
      identities += record.customer().identities_size();
    }
    if (identities > kMaxIdentities) {
      return absl::ResourceExhaustedError(absl::StrCat("merged_customers: the survivor would have ",
                                                       identities, " identities; at most ",
                                                       kMaxIdentities));
    }

    const std::string record_id = NewId();
    storage::MergeState state;
    state.set_survivor_id(id);
    v1::MergeRecord& merge_record = *state.mutable_record();
    merge_record.set_name(absl::StrCat(CustomerName(id), kMergeRecordsSegment, record_id));
    merge_record.set_surviving_customer(CustomerName(id));
    for (const std::string& merged : merge.merged_ids) {
      merge_record.add_merged_customers(CustomerName(merged));
    }
    merge_record.set_state(v1::MergeRecord::STATE_MERGED);
    merge_record.set_reason(merge.reason);
    *merge_record.mutable_create_time() = ToTimestamp(now);

    ContextStore::Batch batch = store_.NewBatch();
    v1::Customer& kept = *survivor.mutable_customer();
    ASSIGN_OR_RETURN(ContextStore::CustomerState survivor_state,
                     store_.GetCustomerState(tenant, id));
    storage::ConsentRecord& consent = survivor_state.consent;
    bool consent_changed = false;
    for (size_t i = 0; i < merge.merged_ids.size(); ++i) {
      const std::string& merged = merge.merged_ids[i];
      CustomerRecord& record = merged_records[i];
      v1::Customer& gone = *record.mutable_customer();
      storage::MergeState::MovedCustomer& moved = *state.add_moved();
      moved.set_customer_id(merged);
      // Identities move with their own link time and verification.
      for (const v1::CustomerIdentity& linked : gone.identities()) {
        *moved.add_identities() = linked;
        *kept.add_identities() = linked;
        batch.PutIdentity(tenant, validation::IdentityKey(linked.identity()), id);
      }
      gone.clear_identities();
      // Values the survivor lacks come from the merged customers, first
      // listed first; the survivor's own values always stay.
      for (const auto& [key, value] : gone.attributes()) {
        if (kept.attributes().contains(key) || kept.attributes_size() >= kMaxCustomerAttributes) {
          continue;
        }
        (*kept.mutable_attributes())[key] = value;
        (*state.mutable_copied_attributes())[key] = value;
      }
      for (const FillableField& field : kFillableFields) {
        std::string& value = *(kept.*field.mutable_field)();
        const std::string& theirs = *(gone.*field.mutable_field)();
        if (value.empty() && !theirs.empty()) {
          value = theirs;
          (*state.mutable_filled_fields())[field.name] = theirs;
        }
      }
      // Consent: per (channel, purpose), the more restrictive answer wins.
      ASSIGN_OR_RETURN(ContextStore::CustomerState theirs, store_.GetCustomerState(tenant, merged));
      for (const v1::ConsentEntry& entry : theirs.consent.entries()) {
        auto* entries = consent.mutable_entries();
        auto it = std::find_if(entries->begin(), entries->end(), [&](const v1::ConsentEntry& e) {
          return e.channel() == entry.channel() && e.purpose() == entry.purpose();
        });
        if (it != entries->end() && !MoreRestrictive(entry, *it)) continue;
        storage::MergeState::ConsentMove& consent_move = *state.add_consent();
        v1::ConsentChange change;
        change.set_channel(entry.channel());
        change.set_purpose(entry.purpose());
        change.set_state(entry.state());
        *change.mutable_evidence() = entry.evidence();
        *change.mutable_change_time() = ToTimestamp(now);
        if (it != entries->end()) {
          consent_move.set_had_before(true);
          *consent_move.mutable_before() = *it;
          change.set_previous_state(it->state());
          *it = entry;
        } else {
          *consent.add_entries() = entry;
        }
        *consent_move.mutable_set() = entry;
        const uint64_t seq = consent.next_change_seq() + 1;
        consent.set_next_change_seq(seq);
        batch.PutConsentChange(tenant, id, seq, change);
        v1::ChangeEvent consent_updated = NewChange(v1::CHANGE_KIND_CONSENT_UPDATED, now);
        *consent_updated.mutable_consent_change() = change;
        batch.AddChange(tenant, id, std::move(consent_updated));
        consent_changed = true;
      }
      // The merged customer stays readable, pointing at the survivor;
      // appends to it land on the survivor from now on.
      gone.set_merged_into(CustomerName(id));
      *gone.mutable_update_time() = ToTimestamp(now);
      record.set_version(record.version() + 1);
      batch.PutCustomer(tenant, merged, record);
      if (theirs.stats.next_interaction_seq() > 0 || theirs.stats.interaction_count() > 0) {
        theirs.stats.set_customer_merged(true);
        batch.PutStats(tenant, merged, theirs.stats);
      }
    }
    if (consent_changed) {
      consent.set_update_micros(absl::ToUnixMicros(now));
      batch.PutConsent(tenant, id, consent);
    }
    storage::SurvivorMerges::Merge& in_effect = *survivor_merges.add_merges();
    in_effect.set_record_id(record_id);
    for (const std::string& merged : merge.merged_ids) in_effect.add_customer_ids(merged);
    batch.PutSurvivorMerges(tenant, id, survivor_merges);
    batch.PutMergeState(tenant, record_id, state);
    *response.mutable_merge_record() = merge_record;
    v1::ChangeEvent merged_event = NewChange(v1::CHANGE_KIND_CUSTOMERS_MERGED, now);
    *merged_event.mutable_merge_record() = merge_record;
    // The response is complete once the survivor is saved: store it with
    // the same batch.
    *kept.mutable_update_time() = ToTimestamp(now);
    survivor.set_version(survivor.version() + 1);
    batch.PutCustomer(tenant, id, survivor);
    *response.mutable_customer() = ToApi(id, survivor);
    batch.AddChange(tenant, id, std::move(merged_event));
    if (!merge.request_id.empty()) {
      StoreResponse(tenant, "MergeCustomers", merge.request_id, merge.fingerprint, now, response,
                    batch);
    }
    return store_.Commit(batch);
  }
  return absl::AbortedError(
      absl::StrCat(CustomerName(id), ": customers changed concurrently, retry"));
}

absl::StatusOr<std::string> ContextCore::AutoMerge(const Tenant& tenant, const std::string& id,
                                                   const std::string& holder) {
  ASSIGN_OR_RETURN(const CustomerRecord mine, LoadCustomer(tenant, id));
  ASSIGN_OR_RETURN(const CustomerRecord theirs, LoadCustomer(tenant, holder));
  // The longer-known profile survives: the newer one is typically the
  // anonymous contact that was just verified.
  const bool mine_older = std::make_pair(ToMicros(mine.customer().create_time()), id) <
                          std::make_pair(ToMicros(theirs.customer().create_time()), holder);
  MergeRequest merge{.survivor_id = mine_older ? id : holder,
                     .merged_ids = {mine_older ? holder : id}};
  merge.reason = absl::StrCat("automatic: a verified identity of ", CustomerName(holder),
                              " was added to ", CustomerName(id));
  v1::MergeCustomersResponse merged;
  const absl::Status status = Merge(tenant, merge, merged);
  if (!status.ok()) {
    if (status.code() != absl::StatusCode::kFailedPrecondition &&
        status.code() != absl::StatusCode::kResourceExhausted) {
      return status;
    }
    return absl::AlreadyExistsError(
        absl::StrCat("identity: belongs to ", CustomerName(holder),
                     "; automatic merge was not possible: ", status.message()));
  }
  return merge.survivor_id;
}

absl::Status ContextCore::UnmergeCustomers(const Tenant& tenant,
                                           const v1::UnmergeCustomersRequest& request,
                                           v1::UnmergeCustomersResponse& response) {
  ASSIGN_OR_RETURN(const MergeRecordName name, ParseMergeRecordName(request.name(), "name"));
  ASSIGN_OR_RETURN(std::optional<storage::MergeState> peek,
                   store_.GetMergeState(tenant, name.record_id));
  if (!peek || (!name.customer_id.empty() && peek->survivor_id() != name.customer_id)) {
    return NotFound(request.name());
  }
  const std::string id = peek->survivor_id();
  std::vector<std::string> keys = {CustomerLock(tenant, id)};
  for (const auto& moved : peek->moved()) {
    keys.push_back(CustomerLock(tenant, moved.customer_id()));
    for (const auto& linked : moved.identities()) {
      keys.push_back(IdentityLock(tenant, validation::IdentityKey(linked.identity())));
    }
  }
  // What moved is fixed in the record, so the locks are known up front.
  store::ScopedStripeLock lock(locks_, keys);
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(std::optional<storage::MergeState> stored,
                   store_.GetMergeState(tenant, name.record_id));
  if (!stored) return NotFound(request.name());
  storage::MergeState& state = *stored;
  v1::MergeRecord& merge_record = *state.mutable_record();
  if (merge_record.state() != v1::MergeRecord::STATE_MERGED) {
    return FailedPrecondition(
        merge_record.name(),
        absl::StrCat("was already undone at ", TimeUtil::ToString(merge_record.unmerge_time())));
  }
  ASSIGN_OR_RETURN(storage::SurvivorMerges survivor_merges, store_.GetSurvivorMerges(tenant, id));
  if (survivor_merges.merges().empty() ||
      survivor_merges.merges(survivor_merges.merges_size() - 1).record_id() != name.record_id) {
    const std::string newest =
        survivor_merges.merges().empty()
            ? ""
            : survivor_merges.merges(survivor_merges.merges_size() - 1).record_id();
    return FailedPrecondition(
        merge_record.name(),
        absl::StrCat("a newer merge into ", CustomerName(id), " is in effect; undo ",
                     CustomerName(id), kMergeRecordsSegment, newest, " first"));
  }
  ASSIGN_OR_RETURN(CustomerRecord survivor, LoadCustomer(tenant, id));
  v1::Customer& kept = *survivor.mutable_customer();
  ContextStore::Batch batch = store_.NewBatch();

  // Identities go back unless the survivor no longer has them (removed
  // since the merge: they stay removed).
  std::vector<CustomerRecord> restored;
  for (const auto& moved : state.moved()) {
    ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, moved.customer_id()));
    v1::Customer& back = *record.mutable_customer();
    for (const v1::CustomerIdentity& linked : moved.identities()) {
      const std::string key = validation::IdentityKey(linked.identity());
      auto* identities = kept.mutable_identities();
      auto it = std::find_if(identities->begin(), identities->end(),
                             [&](const v1::CustomerIdentity& mine) {
                               return validation::IdentityKey(mine.identity()) == key;
                             });
      if (it == identities->end()) continue;
      identities->erase(it);
      *back.add_identities() = linked;
      batch.PutIdentity(tenant, key, moved.customer_id());
    }
    back.clear_merged_into();
    *back.mutable_update_time() = ToTimestamp(now);
    record.set_version(record.version() + 1);
    batch.PutCustomer(tenant, moved.customer_id(), record);
    ASSIGN_OR_RETURN(std::optional<storage::ContactStats> stats,
                     store_.FindStats(tenant, moved.customer_id()));
    if (stats) {
      stats->set_customer_merged(false);
      batch.PutStats(tenant, moved.customer_id(), *stats);
    }
    restored.push_back(std::move(record));
  }
  // Consent the merge set goes back to what the survivor had, unless the
  // survivor decided again since (the newer decision stays). Newest first,
  // so an entry set twice by one merge unwinds in order.
  ASSIGN_OR_RETURN(ContextStore::CustomerState survivor_state, store_.GetCustomerState(tenant, id));
  storage::ConsentRecord& consent = survivor_state.consent;
  bool consent_changed = false;
  for (int i = state.consent_size() - 1; i >= 0; --i) {
    const storage::MergeState::ConsentMove& consent_move = state.consent(i);
    auto* entries = consent.mutable_entries();
    auto it = std::find_if(entries->begin(), entries->end(), [&](const v1::ConsentEntry& e) {
      return e.channel() == consent_move.set().channel() &&
             e.purpose() == consent_move.set().purpose();
    });
    if (it == entries->end() || !SameMessage(*it, consent_move.set())) continue;
    v1::ConsentChange change;
    change.set_channel(it->channel());
    change.set_purpose(it->purpose());
    change.set_previous_state(it->state());
    *change.mutable_change_time() = ToTimestamp(now);
    if (consent_move.had_before()) {
      *it = consent_move.before();
      change.set_state(it->state());
      *change.mutable_evidence() = it->evidence();
    } else {
      entries->erase(it);
      change.mutable_evidence()->set_source("unmerge");
      *change.mutable_evidence()->mutable_capture_time() = ToTimestamp(now);
    }
    const uint64_t seq = consent.next_change_seq() + 1;
    consent.set_next_change_seq(seq);
    batch.PutConsentChange(tenant, id, seq, change);
    v1::ChangeEvent consent_updated = NewChange(v1::CHANGE_KIND_CONSENT_UPDATED, now);
    *consent_updated.mutable_consent_change() = change;
    batch.AddChange(tenant, id, std::move(consent_updated));
    consent_changed = true;
  }
  if (consent_changed) {
    consent.set_update_micros(absl::ToUnixMicros(now));
    batch.PutConsent(tenant, id, consent);
  }
  // Copied values leave the survivor unless it changed them since.
  for (const auto& [key, value] : state.copied_attributes()) {
    auto it = kept.attributes().find(key);
    if (it != kept.attributes().end() && SameMessage(it->second, value)) {
      kept.mutable_attributes()->erase(key);
    }
  }
  for (const FillableField& field : kFillableFields) {
    auto filled = state.filled_fields().find(field.name);
    std::string& value = *(kept.*field.mutable_field)();
    if (filled != state.filled_fields().end() && value == filled->second) value.clear();
  }
  survivor_merges.mutable_merges()->RemoveLast();
  batch.PutSurvivorMerges(tenant, id, survivor_merges);
  merge_record.set_state(v1::MergeRecord::STATE_UNMERGED);
  *merge_record.mutable_unmerge_time() = ToTimestamp(now);
  batch.PutMergeState(tenant, name.record_id, state);
  *kept.mutable_update_time() = ToTimestamp(now);
  survivor.set_version(survivor.version() + 1);
  batch.PutCustomer(tenant, id, survivor);
  v1::ChangeEvent unmerged = NewChange(v1::CHANGE_KIND_CUSTOMERS_UNMERGED, now);
  *unmerged.mutable_merge_record() = merge_record;
  batch.AddChange(tenant, id, std::move(unmerged));
  RETURN_IF_ERROR(store_.Commit(batch));
  *response.mutable_merge_record() = merge_record;
  *response.add_customers() = ToApi(id, survivor);
  for (size_t i = 0; i < restored.size(); ++i) {
    *response.add_customers() = ToApi(state.moved(static_cast<int>(i)).customer_id(), restored[i]);
  }
  return absl::OkStatus();
}

absl::Status ContextCore::GetMergeRecord(const Tenant& tenant,
                                         const v1::GetMergeRecordRequest& request,
                                         v1::GetMergeRecordResponse& response) {
  ASSIGN_OR_RETURN(const MergeRecordName name, ParseMergeRecordName(request.name(), "name"));
  ASSIGN_OR_RETURN(std::optional<storage::MergeState> state,
                   store_.GetMergeState(tenant, name.record_id));
  if (!state || (!name.customer_id.empty() && state->survivor_id() != name.customer_id)) {
    return NotFound(request.name());
  }
  *response.mutable_merge_record() = state->record();
  return absl::OkStatus();
}

// ----------------------------------------------------------------- journeys

absl::Status ContextCore::StartJourney(const Tenant& tenant, const v1::StartJourneyRequest& request,
                                       v1::StartJourneyResponse& response) {
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(std::string id, ParseCustomerName(request.parent(), "parent"));
  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
  RETURN_IF_ERROR(validation::ValidateStartJourney(request));
  const std::string journey_id = request.journey_id().empty() ? NewId() : request.journey_id();

  std::vector<std::string> lock_keys = {CustomerLock(tenant, id)};
  store::ScopedStripeLock lock(
      locks_, WithRequestLock(std::move(lock_keys), tenant, "StartJourney", request.request_id()));
  const std::string fingerprint = IdempotencyFingerprint(request, request.request_id());
  ASSIGN_OR_RETURN(const bool replayed,
                   ReplayStoredResponse(tenant, "StartJourney", request.request_id(), fingerprint,
                                        now, response));
  if (replayed) return absl::OkStatus();
  ASSIGN_OR_RETURN(CustomerRecord customer, LoadCustomer(tenant, id));
  RETURN_IF_ERROR(CheckNotMerged(id, customer));
  ASSIGN_OR_RETURN(std::optional<storage::JourneyRecord> existing,
                   store_.GetJourney(tenant, id, journey_id));
  if (existing) return AlreadyExists(JourneyResourceName(id, journey_id));
  ASSIGN_OR_RETURN(storage::OpenJourneys open, store_.GetOpenJourneys(tenant, id));
  if (open.journeys_size() >= kMaxOpenJourneys) {
    return absl::ResourceExhaustedError(
        absl::StrCat(CustomerName(id), ": already has ", kMaxOpenJourneys,
                     " open journeys; resolve or abandon one first"));
  }

  storage::JourneyRecord record;
  v1::Journey& journey = *record.mutable_journey();
  journey.set_type(request.journey().type());
  journey.set_display_name(request.journey().display_name());
  *journey.mutable_attributes() = request.journey().attributes();
  journey.set_state(request.state() == v1::Journey::STATE_UNSPECIFIED ? v1::Journey::STATE_OPEN
                                                                      : request.state());
  journey.set_step(request.step());
  v1::JourneyTransition& first = *journey.add_transitions();
  first.set_step(journey.step());
  first.set_state(journey.state());
  first.set_channel(request.channel());
  *first.mutable_transition_time() = ToTimestamp(now);
  *journey.mutable_create_time() = ToTimestamp(now);
  *journey.mutable_update_time() = ToTimestamp(now);
  record.set_version(1);

  *response.mutable_journey() = ToApi(id, journey_id, record);
  UpdateOpenJourneys(response.journey(), open);
  ContextStore::Batch batch = store_.NewBatch();
  batch.PutJourney(tenant, id, journey_id, record);
  batch.PutJourneyIndex(tenant, id, journey_id, absl::ToUnixMicros(now));
  batch.PutOpenJourneys(tenant, id, open);
  v1::ChangeEvent journey_started = NewChange(v1::CHANGE_KIND_JOURNEY_STARTED, now);
  *journey_started.mutable_journey() = response.journey();
  batch.AddChange(tenant, id, std::move(journey_started));
  if (!request.request_id().empty()) {
    StoreResponse(tenant, "StartJourney", request.request_id(), fingerprint, now, response, batch);
  }
  return store_.Commit(batch);
}

absl::Status ContextCore::AdvanceJourney(const Tenant& tenant,
                                         const v1::AdvanceJourneyRequest& request,
                                         v1::AdvanceJourneyResponse& response) {
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(const JourneyName name, ParseJourneyName(request.name(), "name"));
  RETURN_IF_ERROR(validation::ValidateAdvanceJourney(request));
  const std::string& id = name.customer_id;
  store::ScopedStripeLock lock(locks_, {CustomerLock(tenant, id)});
  ASSIGN_OR_RETURN(std::optional<storage::JourneyRecord> stored,
                   store_.GetJourney(tenant, id, name.journey_id));
  if (!stored) return NotFound(request.name());
  storage::JourneyRecord& record = *stored;
  RETURN_IF_ERROR(CheckEtag(request.etag(), record.version(), request.name()));
  v1::Journey& journey = *record.mutable_journey();
  if (validation::IsTerminal(journey.state())) {
    return FailedPrecondition(
        request.name(), absl::StrCat("is ", v1::Journey::State_Name(journey.state()),
                                     "; a finished journey does not change (start a new one)"));
  }
  for (const auto& [key, value] : request.attributes())
    (*journey.mutable_attributes())[key] = value;
  if (journey.attributes_size() > validation::kMaxJourneyAttributes) {
    return InvalidArgument(
        "attributes", absl::StrCat("the journey would have ", journey.attributes_size(),
                                   " attributes; at most ", validation::kMaxJourneyAttributes));
  }
  const int64_t old_update_micros = ToMicros(journey.update_time());
  if (!request.step().empty()) journey.set_step(request.step());
  if (request.state() != v1::Journey::STATE_UNSPECIFIED) journey.set_state(request.state());
  v1::JourneyTransition& transition = *journey.add_transitions();
  transition.set_step(journey.step());
  transition.set_state(journey.state());
  transition.set_channel(request.channel());
  transition.set_note(request.note());
  *transition.mutable_transition_time() = ToTimestamp(now);
  if (journey.transitions_size() > kMaxJourneyTransitions) {
    journey.mutable_transitions()->DeleteSubrange(
        0, journey.transitions_size() - kMaxJourneyTransitions);
  }
  *journey.mutable_update_time() = ToTimestamp(now);
  if (validation::IsTerminal(journey.state())) *journey.mutable_end_time() = ToTimestamp(now);
  record.set_version(record.version() + 1);

  *response.mutable_journey() = ToApi(id, name.journey_id, record);
  ASSIGN_OR_RETURN(storage::OpenJourneys open, store_.GetOpenJourneys(tenant, id));
  UpdateOpenJourneys(response.journey(), open);
  ContextStore::Batch batch = store_.NewBatch();
  batch.PutJourney(tenant, id, name.journey_id, record);
  batch.DeleteJourneyIndex(tenant, id, name.journey_id, old_update_micros);
  batch.PutJourneyIndex(tenant, id, name.journey_id, absl::ToUnixMicros(now));
  batch.PutOpenJourneys(tenant, id, open);
  v1::ChangeEvent journey_advanced = NewChange(v1::CHANGE_KIND_JOURNEY_ADVANCED, now);
  *journey_advanced.mutable_journey() = response.journey();
  batch.AddChange(tenant, id, std::move(journey_advanced));
  return store_.Commit(batch);
}

absl::Status ContextCore::GetJourney(const Tenant& tenant, const v1::GetJourneyRequest& request,
                                     v1::GetJourneyResponse& response) {
  ASSIGN_OR_RETURN(const JourneyName name, ParseJourneyName(request.name(), "name"));
  ASSIGN_OR_RETURN(std::optional<storage::JourneyRecord> stored,
                   store_.GetJourney(tenant, name.customer_id, name.journey_id));
  if (!stored) return NotFound(request.name());
  *response.mutable_journey() = ToApi(name.customer_id, name.journey_id, *stored);
  return absl::OkStatus();
}

absl::Status ContextCore::ListJourneys(const Tenant& tenant, const v1::ListJourneysRequest& request,
                                       v1::ListJourneysResponse& response) {
  std::string id;  // empty: every customer of the tenant
  if (request.parent() != "customers/-") {
    ASSIGN_OR_RETURN(id, ParseCustomerName(request.parent(), "parent"));
  }
  ASSIGN_OR_RETURN(const int page_size, paging::EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(filter::Filter filter,
                   filter::ParseFilter(request.filter(), JourneyFilterSchema()));
  const std::string fingerprint = paging::RequestFingerprint(
      {"ListJourneys", tenant, request.parent(), filter.CanonicalText()});
  ASSIGN_OR_RETURN(const std::string resume_key, ResumeKey(request.page_token(), fingerprint));
  ScanPage page{page_size};
  absl::Status read = absl::OkStatus();
  auto visit = [&](const std::string& key, const ContextStore::JourneyIndexEntry& entry) {
    page.Examined(key);
    absl::StatusOr<std::optional<storage::JourneyRecord>> stored =
        store_.GetJourney(tenant, entry.customer_id, entry.journey_id);
    if (!stored.ok()) {
      read = stored.status();
      return false;
    }
    // The index and the journey are written in one batch; a miss is a
    // row deleted after this scan's snapshot.
    if (!*stored) return true;
    v1::Journey journey = ToApi(entry.customer_id, entry.journey_id, **stored);
    if (!filter.Matches(JourneyFieldResolver(journey))) return true;
    *response.add_journeys() = std::move(journey);
    return page.Added(response.journeys_size());
  };
  if (id.empty()) {
    RETURN_IF_ERROR(store_.ScanJourneysByTime(tenant, "", resume_key, kListScanBudget, visit));
  } else {
    RETURN_IF_ERROR(LoadCustomer(tenant, id).status());
    // A survivor's list includes the journeys of the customers merged into it.
    ASSIGN_OR_RETURN(const std::vector<std::string> ids, ReadThroughIds(tenant, id));
    RETURN_IF_ERROR(store_.ScanMergedJourneys(tenant, ids, resume_key, kListScanBudget, visit));
  }
  RETURN_IF_ERROR(read);
  response.set_next_page_token(NextPageToken(page.more(), fingerprint, page.last_key));
  return absl::OkStatus();
}

// ----------------------------------------------------------------- handoffs

namespace {

constexpr absl::Duration kDefaultHandoffTtl = absl::Minutes(10);
constexpr absl::Duration kMinHandoffTtl = absl::Seconds(30);
constexpr absl::Duration kMaxHandoffTtl = absl::Hours(24);
constexpr int kHandoffContextInteractions = 10;

std::string HandoffLock(const std::string& tenant, const std::string& handoff_id) {
  return absl::StrCat("h\x1f", tenant, "\x1f", handoff_id);
}

}  // namespace

absl::Status ContextCore::CreateHandoff(const Tenant& tenant,
                                        const v1::CreateHandoffRequest& request,
                                        v1::CreateHandoffResponse& response) {
  const absl::Time now = options_.clock();
  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
  if (request.assurance_level() == v1::ASSURANCE_LEVEL_UNSPECIFIED ||
      !v1::AssuranceLevel_IsValid(request.assurance_level())) {
    return InvalidArgument("assurance_level", "must be NONE, POSSESSION, OTP or FULL_KYC");
  }
  if (request.source_channel() == cxp::type::v1::CHANNEL_UNSPECIFIED) {
    return InvalidArgument("source_channel", "must be set");
  }
  RETURN_IF_ERROR(validation::ValidateOptionalChannel(request.source_channel(), "source_channel"));
  RETURN_IF_ERROR(validation::ValidateText(request.intent(), "intent", 0, 128));
  RETURN_IF_ERROR(validation::ValidateText(request.summary(), "summary", 0, 4096,
                                           validation::ControlChars::kAllowNewlines));
  absl::Duration ttl = kDefaultHandoffTtl;
  if (request.has_ttl()) {
    if (request.ttl().nanos() < 0 || request.ttl().nanos() > 999999999) {
      return InvalidArgument("ttl", "is not a valid duration");
    }
    ttl = absl::Seconds(request.ttl().seconds()) + absl::Nanoseconds(request.ttl().nanos());
    if (ttl < kMinHandoffTtl || ttl > kMaxHandoffTtl) {
      return InvalidArgument("ttl",
                             absl::StrCat("must be 30s to 24h, got ", absl::FormatDuration(ttl)));
    }
  }
  ASSIGN_OR_RETURN(const std::string named, ResolveRef(tenant, request.customer(), "customer"));
  ASSIGN_OR_RETURN(const std::string id, FollowMerged(tenant, named));
  if (!request.journey().empty()) {
    ASSIGN_OR_RETURN(const JourneyName journey, ParseJourneyName(request.journey(), "journey"));
    ASSIGN_OR_RETURN(const std::vector<std::string> ids, ReadThroughIds(tenant, id));
    if (std::find(ids.begin(), ids.end(), journey.customer_id) == ids.end()) {
      return InvalidArgument("journey", "belongs to another customer");
    }
    ASSIGN_OR_RETURN(std::optional<storage::JourneyRecord> stored,
                     store_.GetJourney(tenant, journey.customer_id, journey.journey_id));
    if (!stored)
      return absl::NotFoundError(absl::StrCat("journey: ", request.journey(), " does not exist"));
  }

  std::vector<std::string> lock_keys = {CustomerLock(tenant, id)};
  store::ScopedStripeLock lock(
      locks_, WithRequestLock(std::move(lock_keys), tenant, "CreateHandoff", request.request_id()));
  const std::string fingerprint = IdempotencyFingerprint(request, request.request_id());
  ASSIGN_OR_RETURN(const bool replayed,
                   ReplayStoredResponse(tenant, "CreateHandoff", request.request_id(), fingerprint,
                                        now, response));
  if (replayed) return absl::OkStatus();
  ASSIGN_OR_RETURN(CustomerRecord customer, LoadCustomer(tenant, id));
  RETURN_IF_ERROR(CheckNotMerged(id, customer));

  const std::string handoff_id = NewId();
  v1::Handoff& handoff = *response.mutable_handoff();
  handoff.set_name(absl::StrCat(CustomerName(id), "/handoffs/", handoff_id));
  handoff.set_customer(CustomerName(id));
  handoff.set_assurance_level(request.assurance_level());
  handoff.set_intent(request.intent());
  handoff.set_journey(request.journey());
  handoff.set_summary(request.summary());
  handoff.set_source_channel(request.source_channel());
  *handoff.mutable_create_time() = ToTimestamp(now);
  *handoff.mutable_expire_time() = ToTimestamp(now + ttl);
  response.set_token(handoff_tokens_.Mint(tenant, handoff_id));

  ContextStore::Batch batch = store_.NewBatch();
  batch.PutHandoff(tenant, id, handoff_id, handoff);
  if (!request.request_id().empty()) {
    StoreResponse(tenant, "CreateHandoff", request.request_id(), fingerprint, now, response, batch);
  }
  return store_.Commit(batch);
}

absl::Status ContextCore::RedeemHandoff(const Tenant& tenant,
                                        const v1::RedeemHandoffRequest& request,
                                        v1::RedeemHandoffResponse& response) {
  const absl::Time now = options_.clock();
  if (request.token().empty()) return InvalidArgument("token", "must be set");
  if (request.channel() == cxp::type::v1::CHANNEL_UNSPECIFIED) {
    return InvalidArgument("channel", "must be set");
  }
  RETURN_IF_ERROR(validation::ValidateOptionalChannel(request.channel(), "channel"));
  ASSIGN_OR_RETURN(const std::string handoff_id, handoff_tokens_.Verify(tenant, request.token()));
  v1::Handoff handoff;
  {
    store::ScopedStripeLock lock(locks_, {HandoffLock(tenant, handoff_id)});
    ASSIGN_OR_RETURN(std::optional<v1::Handoff> stored, store_.GetHandoff(tenant, handoff_id));
    // Gone with its customer (deleted or erased): as unknown as a forgery.
    if (!stored) return absl::NotFoundError("token: no such handoff");
    handoff = *std::move(stored);
    if (handoff.has_redeem_time()) {
      return FailedPrecondition(
          "token", absl::StrCat("was already redeemed at ",
                                TimeUtil::ToString(handoff.redeem_time()), "; create a new one"));
    }
    if (ToMicros(handoff.expire_time()) <= absl::ToUnixMicros(now)) {
      return FailedPrecondition(
          "token", absl::StrCat("expired at ", TimeUtil::ToString(handoff.expire_time()),
                                "; create a new one"));
    }
    *handoff.mutable_redeem_time() = ToTimestamp(now);
    handoff.set_redeem_channel(request.channel());
    absl::string_view id = handoff.customer();
    absl::ConsumePrefix(&id, kCustomersPrefix);
    ContextStore::Batch batch = store_.NewBatch();
    batch.PutHandoff(tenant, std::string(id), handoff_id, handoff);
    RETURN_IF_ERROR(store_.Commit(batch));
  }
  v1::GetCustomerContextRequest context_request;
  context_request.mutable_customer()->set_customer(handoff.customer());
  context_request.set_interaction_limit(kHandoffContextInteractions);
  v1::GetCustomerContextResponse context;
  RETURN_IF_ERROR(GetCustomerContext(tenant, context_request, context));
  *response.mutable_handoff() = std::move(handoff);
  *response.mutable_customer_context() = std::move(*context.mutable_customer_context());
  return absl::OkStatus();
}

// ---------------------------------------------------- single customer view

namespace {

// A customer view from the cache, or built from the store when it was not
// cached (or could not be).
struct ContextView {
  ContextCache::Pinned pinned;
  CachedContext owned;
  const CachedContext& get() const { return pinned ? *pinned : owned; }
};

void WriteField(google::protobuf::io::CodedOutputStream& output, int field,
                std::string_view bytes) {
  using google::protobuf::internal::WireFormatLite;
  output.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  output.WriteVarint32(static_cast<uint32_t>(bytes.size()));
  output.WriteRaw(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

absl::Status ContextCore::AddMergedCustomers(const Tenant& tenant,
                                             const std::vector<std::string>& ids, int limit,
                                             CachedContext& view) const {
  storage::OpenJourneys open;
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSIGN_OR_RETURN(storage::OpenJourneys theirs, store_.GetOpenJourneys(tenant, ids[i]));
    for (v1::Journey& journey : *theirs.mutable_journeys()) {
      *open.add_journeys() = std::move(journey);
    }
    if (i == 0) continue;  // the survivor's stats are in the view already
    ASSIGN_OR_RETURN(std::optional<storage::ContactStats> stats, store_.FindStats(tenant, ids[i]));
    if (stats) AddContactStats(*stats, view.stats);
  }
  std::stable_sort(open.mutable_journeys()->begin(), open.mutable_journeys()->end(),
                   [](const v1::Journey& a, const v1::Journey& b) {
                     return ToMicros(a.update_time()) > ToMicros(b.update_time());
                   });
  if (open.journeys_size() > kContextOpenJourneys) {
    open.mutable_journeys()->DeleteSubrange(kContextOpenJourneys,
                                            open.journeys_size() - kContextOpenJourneys);
  }
  view.open_journeys = open.SerializeAsString();

  std::vector<std::string> newest;
  RETURN_IF_ERROR(store_.ScanMergedInteractions(
      tenant, ids, "", std::nullopt, std::nullopt, static_cast<size_t>(limit),
      [&](const std::string&, const v1::Interaction& interaction) {
        newest.push_back(interaction.SerializeAsString());
        return true;
      }));
  view.head = EncodeHead({newest.begin(), newest.end()}, limit);
  ASSIGN_OR_RETURN(view.head_ends, HeadEntryEnds(view.head));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ContextCore::GetCustomerContextEncoded(
    const Tenant& tenant, const v1::GetCustomerContextRequest& request, store::ReadTier tier) {
  if (request.interaction_limit() < 0) {
    return InvalidArgument("interaction_limit", "must not be negative");
  }
  const int limit = request.interaction_limit() == 0
                        ? kDefaultContextInteractions
                        : std::min(request.interaction_limit(), kMaxContextInteractions);
  ASSIGN_OR_RETURN(std::string id, ResolveRef(tenant, request.customer(), "customer", tier));

  ContextCache& cache = store_.cache();
  ContextView view;
  // A survivor's view reads through the customers merged into it; it is
  // assembled on each read rather than cached, since their rows change
  // without touching the survivor's.
  bool composed = false;
  for (int hop = 0; !view.pinned; ++hop) {
    const std::string key = ContextCache::Key(tenant, id);
    view.pinned = cache.Lookup(key);
    if (view.pinned) break;
    // Not cached: with a cache, that means storage, which may block.
    if (tier == store::ReadTier::kMemoryOnly && cache.enabled()) {
      return WouldBlock("GetCustomerContext: customer view not cached");
    }
    const uint64_t epoch = cache.Epoch(key);
    // One MultiGet for the profile, the state rows and the interaction head.
    using Rows = ContextStore::ContextRows;
    Rows rows;
    RETURN_IF_ERROR(store_.ReadContextRows(tenant, id, rows, tier));
    if (!rows.found[Rows::kProfile]) return NotFound(CustomerName(id));
    CustomerRecord record;
    storage::ConsentRecord consent;
    storage::PreferencesRecord preferences;
    CachedContext& built = view.owned;
    if (!ParseRow(rows.bytes(Rows::kProfile), record) ||
        !ParseRow(rows.bytes(Rows::kStats), built.stats) ||
        !ParseRow(rows.bytes(Rows::kConsent), consent) ||
        !ParseRow(rows.bytes(Rows::kPreferences), preferences)) {
      return absl::DataLossError("corrupt customer record");
    }
    if (!record.customer().merged_into().empty() && hop == 0) {
      // Named a merged customer: the view is the survivor's.
      ASSIGN_OR_RETURN(id, ParseCustomerName(record.customer().merged_into(), "customer"));
      continue;
    }
    v1::Customer customer;
    MoveToApi(id, record, customer);
    customer.SerializeToString(&built.customer);
    ToApiConsent(id, consent).SerializeToString(&built.consent);
    ToApiPreferences(id, preferences).SerializeToString(&built.preferences);
    built.head.assign(rows.bytes(Rows::kHead));
    ASSIGN_OR_RETURN(built.head_ends, HeadEntryEnds(built.head));
    if (rows.found[Rows::kOpenJourneys]) {
      storage::OpenJourneys open;
      if (!ParseRow(rows.bytes(Rows::kOpenJourneys), open)) {
        return absl::DataLossError("corrupt open journeys record");
      }
      // The row's field number is CustomerContext's open_journeys, so the
      // first entries serialize as that field.
      if (open.journeys_size() > kContextOpenJourneys) {
        open.mutable_journeys()->DeleteSubrange(kContextOpenJourneys,
                                                open.journeys_size() - kContextOpenJourneys);
      }
      open.SerializeToString(&built.open_journeys);
    }
    storage::SurvivorMerges merges;
    if (!ParseRow(rows.bytes(Rows::kSurvivorMerges), merges)) {
      return absl::DataLossError("corrupt survivor merges record");
    }
    if (merges.merges_size() == 0) {
      cache.Insert(key, epoch, built);
      break;
    }
    if (tier == store::ReadTier::kMemoryOnly) {
      return WouldBlock("GetCustomerContext: view of a survivor");
    }
    std::vector<std::string> ids = {id};
    for (std::string& merged : MergedIds(merges)) ids.push_back(std::move(merged));
    RETURN_IF_ERROR(AddMergedCustomers(tenant, ids, limit, built));
    composed = true;
    break;
  }
  const CachedContext& context = view.get();

  // The head holds the newest interactions, in wire form; it answers unless
  // the request wants more than it holds and the customer has more.
  const int from_head = std::min(limit, static_cast<int>(context.head_ends.size()));
  const size_t head_bytes = from_head == 0 ? 0 : context.head_ends[from_head - 1];
  std::string scanned;
  std::string_view interactions(context.head.data(), head_bytes);
  if (!composed && from_head < limit && context.stats.interaction_count() > from_head) {
    if (tier == store::ReadTier::kMemoryOnly)
      return WouldBlock("GetCustomerContext: timeline scan");
    ASSIGN_OR_RETURN(std::vector<std::string> newest,
                     store_.NewestInteractions(tenant, id, static_cast<size_t>(limit)));
    scanned = EncodeHead({newest.begin(), newest.end()}, limit);
    interactions = scanned;
  }
  const absl::Time now = options_.clock();
  std::string computed;
  {
    // Counts change only hourly: reuse the entry's last answer while valid,
    // adding this call's compute_time.
    ComputedMemo& memo = *context.computed;
    absl::MutexLock lock(&memo.mu);
    if (now < memo.from || now >= memo.until) {
      v1::ComputedAttributes attributes = ComputeAttributes(context.stats, now);
      attributes.clear_compute_time();
      memo.attributes = attributes.SerializeAsString();
      const AttributesValidity validity = ComputedAttributesValidity(context.stats, now);
      memo.from = validity.from;
      memo.until = validity.until;
    }
    computed = memo.attributes;
  }
  {
    google::protobuf::Timestamp compute_time = ToTimestamp(now);
    google::protobuf::io::StringOutputStream stream(&computed);
    google::protobuf::io::CodedOutputStream output(&stream);
    WriteField(output, v1::ComputedAttributes::kComputeTimeFieldNumber,
               compute_time.SerializeAsString());
  }

  // CustomerContext fields may come in any order on the wire and repeated
  // entries accumulate, so the stored pieces are framed, not re-encoded.
  const size_t context_size = [&] {
    using google::protobuf::io::CodedOutputStream;
    auto field = [](size_t bytes) {
      return 1 + CodedOutputStream::VarintSize32(static_cast<uint32_t>(bytes)) + bytes;
    };
    return field(context.customer.size()) + interactions.size() + context.open_journeys.size() +
           field(context.consent.size()) + field(context.preferences.size()) +
           field(computed.size());
  }();
  std::string encoded;
  encoded.reserve(context_size + 8);
  {
    google::protobuf::io::StringOutputStream stream(&encoded);
    google::protobuf::io::CodedOutputStream output(&stream);
    using google::protobuf::internal::WireFormatLite;
    output.WriteTag(
        WireFormatLite::MakeTag(v1::GetCustomerContextResponse::kCustomerContextFieldNumber,
                                WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
    output.WriteVarint32(static_cast<uint32_t>(context_size));
    WriteField(output, v1::CustomerContext::kCustomerFieldNumber, context.customer);
    output.WriteRaw(interactions.data(), static_cast<int>(interactions.size()));
    output.WriteRaw(context.open_journeys.data(), static_cast<int>(context.open_journeys.size()));
    WriteField(output, v1::CustomerContext::kConsentFieldNumber, context.consent);
    WriteField(output, v1::CustomerContext::kContactPreferencesFieldNumber, context.preferences);
    WriteField(output, v1::CustomerContext::kComputedAttributesFieldNumber, computed);
  }
  return encoded;
}

absl::Status ContextCore::GetCustomerContext(const Tenant& tenant,
                                             const v1::GetCustomerContextRequest& request,
                                             v1::GetCustomerContextResponse& response) {
  ASSIGN_OR_RETURN(std::string encoded, GetCustomerContextEncoded(tenant, request));
  if (!response.ParseFromString(encoded)) {
    return absl::DataLossError("corrupt customer context");
  }
  return absl::OkStatus();
}

// Rewrites the field a single request's error names ("customer...",
// "interaction...") as the batch's item ("customers[3]...").
static std::string ItemMessage(absl::string_view message, absl::string_view single_field,
                               absl::string_view item_field) {
  if (absl::StartsWith(message, single_field)) {
    return absl::StrCat(item_field, message.substr(single_field.size()));
  }
  return absl::StrCat(item_field, ": ", message);
}

absl::StatusOr<std::string> ContextCore::BatchGetCustomerContextsEncoded(
    const Tenant& tenant, const v1::BatchGetCustomerContextsRequest& request,
    store::ReadTier tier) {
  if (request.customers().empty()) {
    return InvalidArgument("customers", "give at least one customer");
  }
  if (request.customers_size() > kMaxBulk) {
    return InvalidArgument("customers", absl::StrCat("at most ", kMaxBulk, " per call, got ",
                                                     request.customers_size()));
  }
  if (request.interaction_limit() < 0) {
    return InvalidArgument("interaction_limit", "must not be negative");
  }
  std::string encoded;
  google::protobuf::io::StringOutputStream stream(&encoded);
  google::protobuf::io::CodedOutputStream output(&stream);
  v1::GetCustomerContextRequest single;
  single.set_interaction_limit(request.interaction_limit());
  for (int i = 0; i < request.customers_size(); ++i) {
    *single.mutable_customer() = request.customers(i);
    absl::StatusOr<std::string> answer = GetCustomerContextEncoded(tenant, single, tier);
    if (answer.ok()) {
      // A GetCustomerContextResponse is an OK CustomerContextOutcome: both
      // carry the context as field 1.
      WriteField(output, 1, *answer);
      continue;
    }
    if (IsWouldBlock(answer.status()) || absl::IsDataLoss(answer.status()) ||
        absl::IsInternal(answer.status())) {
      return answer.status();  // the store's trouble, not this item's
    }
    v1::CustomerContextOutcome failed;
    failed.set_code(static_cast<int32_t>(answer.status().code()));
    failed.set_message(
        ItemMessage(answer.status().message(), "customer", absl::StrCat("customers[", i, "]")));
    WriteField(output, 1, failed.SerializeAsString());
  }
  output.Trim();
  if (output.HadError()) return absl::InternalError("encoding BatchGetCustomerContextsResponse");
  return encoded;
}

// -------------------------------------------------------------------- export

absl::Status ContextCore::ExportCustomer(const Tenant& tenant,
                                         const v1::ExportCustomerRequest& request,
                                         ExportCursor& cursor, size_t max_items,
                                         std::vector<v1::ExportCustomerResponse>& out, bool& done) {
  done = false;
  ASSIGN_OR_RETURN(const std::string named, ParseCustomerName(request.name(), "name"));
  // A survivor's export is its own data, then that of each customer merged
  // into it, in the same stages.
  ASSIGN_OR_RETURN(const std::vector<std::string> ids, ReadThroughIds(tenant, named));
  if (cursor.member >= ids.size()) {
    done = true;
    return absl::OkStatus();
  }
  const std::string& id = ids[cursor.member];
  const size_t limit = out.size() + max_items;
  auto room = [&] { return out.size() < limit ? limit - out.size() : 0; };
  // Scans resume after the last key they returned; a stage ends when a
  // page comes back short.
  auto next_stage = [&](ExportCursor::Stage stage) {
    cursor.stage = stage;
    cursor.resume_key.clear();
  };
  while (room() > 0) {
    switch (cursor.stage) {
      case ExportCursor::kProfile: {
        ASSIGN_OR_RETURN(CustomerRecord record, LoadCustomer(tenant, id));
        *out.emplace_back().mutable_customer() = ToApi(id, record);
        next_stage(ExportCursor::kState);
        break;
      }
      case ExportCursor::kState: {
        if (room() < 2) return absl::OkStatus();  // consent and preferences go together
        ASSIGN_OR_RETURN(ContextStore::CustomerState state, store_.GetCustomerState(tenant, id));
        *out.emplace_back().mutable_consent() = ToApiConsent(id, state.consent);
        *out.emplace_back().mutable_contact_preferences() = ToApiPreferences(id, state.preferences);
        next_stage(ExportCursor::kConsentHistory);
        break;
      }
      case ExportCursor::kConsentHistory: {
        const size_t want = room();
        size_t got = 0;
        RETURN_IF_ERROR(
            store_.ScanConsentHistory(tenant, id, cursor.resume_key, want,
                                      [&](const std::string& key, const v1::ConsentChange& change) {
                                        *out.emplace_back().mutable_consent_change() = change;
                                        cursor.resume_key = key;
                                        ++got;
                                        return true;
                                      }));
        if (got < want) next_stage(ExportCursor::kJourneys);
        break;
      }
      case ExportCursor::kJourneys: {
        const size_t want = room();
        size_t got = 0;
        absl::Status read = absl::OkStatus();
        RETURN_IF_ERROR(store_.ScanJourneysByTime(
            tenant, id, cursor.resume_key, want,
            [&](const std::string& key, const ContextStore::JourneyIndexEntry& entry) {
              cursor.resume_key = key;
              ++got;
              absl::StatusOr<std::optional<storage::JourneyRecord>> journey =
                  store_.GetJourney(tenant, id, entry.journey_id);
              if (!journey.ok()) {
                read = journey.status();
                return false;
              }
              if (*journey) {
                *out.emplace_back().mutable_journey() = ToApi(id, entry.journey_id, **journey);
              }
              return true;
            }));
        RETURN_IF_ERROR(read);
        if (got < want) next_stage(ExportCursor::kHandoffs);
        break;
      }
      case ExportCursor::kHandoffs: {
        // A customer has few handoffs; they go in one step.
        ASSIGN_OR_RETURN(const std::vector<std::string> handoff_ids,
                         store_.CustomerHandoffIds(tenant, id));
        for (const std::string& handoff_id : handoff_ids) {
          ASSIGN_OR_RETURN(std::optional<v1::Handoff> handoff,
                           store_.GetHandoff(tenant, handoff_id));
          if (handoff) *out.emplace_back().mutable_handoff() = *std::move(handoff);
        }
        next_stage(ExportCursor::kMergeRecords);
        break;
      }
      case ExportCursor::kMergeRecords: {
        // Few records per customer; one step. A merged customer's record
        // with the survivor was exported with the survivor.
        ASSIGN_OR_RETURN(const std::vector<std::string> records, store_.MergeRecordIds(tenant, id));
        for (const std::string& record_id : records) {
          ASSIGN_OR_RETURN(std::optional<storage::MergeState> state,
                           store_.GetMergeState(tenant, record_id));
          if (!state || (cursor.member > 0 && state->survivor_id() == ids[0])) continue;
          *out.emplace_back().mutable_merge_record() = state->record();
        }
        next_stage(ExportCursor::kInteractions);
        break;
      }
      case ExportCursor::kInteractions: {
        const size_t want = room();
        size_t got = 0;
        RETURN_IF_ERROR(store_.ScanInteractions(
            tenant, id, cursor.resume_key, std::nullopt, std::nullopt, want,
            [&](const std::string& key, const v1::Interaction& interaction) {
              *out.emplace_back().mutable_interaction() = interaction;
              cursor.resume_key = key;
              ++got;
              return true;
            }));
        if (got < want) {
          if (++cursor.member < ids.size()) {
            next_stage(ExportCursor::kProfile);
            return absl::OkStatus();  // the next customer on the next call
          }
          cursor.stage = ExportCursor::kDone;
          done = true;
          return absl::OkStatus();
        }
        break;
      }
      case ExportCursor::kDone:
        done = true;
        return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

// ----------------------------------------------------------------- retention

absl::StatusOr<int64_t> ContextCore::PurgeInteractionsBefore(const Tenant& tenant,
                                                             absl::Time cutoff,
                                                             std::string& resume_after,
                                                             size_t max_customers) {
  const int64_t cutoff_micros = absl::ToUnixMicros(cutoff);
  ASSIGN_OR_RETURN(const std::vector<std::string> ids,
                   store_.CustomerIds(tenant, resume_after, max_customers));
  int64_t purged = 0;
  for (const std::string& id : ids) {
    store::ScopedStripeLock lock(locks_, {CustomerLock(tenant, id)});
    ASSIGN_OR_RETURN(const int64_t old_rows,
                     store_.CountInteractionsBefore(tenant, id, cutoff_micros,
                                                    std::numeric_limits<size_t>::max()));
    if (old_rows == 0) continue;
    // The head keeps the newest of what remains.
    ASSIGN_OR_RETURN(const std::vector<std::string> newest,
                     store_.NewestInteractions(tenant, id, kInteractionHeadCapacity));
    std::vector<std::string_view> kept;
    for (const std::string& bytes : newest) {
      ASSIGN_OR_RETURN(const int64_t occur, InteractionOccurMicros(bytes));
      if (occur >= cutoff_micros) kept.push_back(bytes);
    }
    ContextStore::Batch batch = store_.NewBatch();
    batch.DeleteInteractionsBefore(tenant, id, cutoff_micros);
    batch.PutHead(tenant, id, EncodeHead(kept));
    ASSIGN_OR_RETURN(std::optional<storage::ContactStats> stats, store_.FindStats(tenant, id));
    if (stats) {
      stats->set_interaction_count(std::max<int64_t>(0, stats->interaction_count() - old_rows));
      batch.PutStats(tenant, id, *stats);
    }
    RETURN_IF_ERROR(store_.Commit(batch));
    purged += old_rows;
  }
  resume_after = ids.size() < max_customers || ids.empty() ? "" : ids.back();
  return purged;
}

}  // namespace cxp::context
