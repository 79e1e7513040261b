// ContextEnricher — asks context_service what it knows of a task's customer
// (tier, language, the last agent who served them) for SubmitTask, under a
// short deadline and without parking a thread: GetCustomerContext through
// gRPC's callback client API. Whatever goes wrong (slow, down, customer
// unknown), the answer is a CustomerInfo that says routing went on without
// context, and why.
//
// Tenants: context_service derives the tenant from the API key, so each
// routing tenant uses its own key for context_service (`keys`, the same
// "<tenant> <key>" lines as --api_keys_file); a tenant without one is routed
// without context. With no keys at all, calls carry no key (single-tenant
// local setups, where both services run as tenant "default").
//
// Threading: Lookup() may be called from any thread; `done` runs on a gRPC
// callback thread and must not block (hand off to the handler pool).
// Ownership: the enricher must outlive every Lookup's `done`.

#ifndef CXP_ROUTING_SERVICE_CONTEXT_ENRICHER_H_
#define CXP_ROUTING_SERVICE_CONTEXT_ENRICHER_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/client/context_client.h"
#include "cxp/type/v1/customer_ref.pb.h"
#include "routing_service/core/routing_engine.h"

namespace cxp::routing {

struct ContextEnricherOptions {
  std::string target;  // context_service address; empty: no enrichment
  absl::Duration timeout = absl::Milliseconds(50);
  // Routing tenant -> API key for context_service.
  absl::flat_hash_map<std::string, std::string> keys;
  std::string tls_ca_file;  // TLS to context_service when set
};

class ContextEnricher {
 public:
  static absl::StatusOr<std::unique_ptr<ContextEnricher>> Create(ContextEnricherOptions options);

  void Lookup(const std::string& tenant, const cxp::type::v1::CustomerRef& customer,
              absl::AnyInvocable<void(CustomerInfo) &&> done) const;

 private:
  ContextEnricher(absl::Duration timeout, std::unique_ptr<client::ContextClient> client)
      : timeout_(timeout), client_(std::move(client)) {}

  const absl::Duration timeout_;
  std::unique_ptr<client::ContextClient> client_;  // null: enrichment off
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_CONTEXT_ENRICHER_H_
