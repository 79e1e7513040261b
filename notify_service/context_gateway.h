// ContextGateway — notify_service's calls to context_service: what a send
// (or a delivery) needs to know of its recipient, and the consent changes
// of inbound keywords. Built on common/client/context_client.h, so no
// thread waits for an answer.
//
// LookUp (GetCustomerContext under `lookup_timeout`) answers with a
// CustomerView (notify_service/core/notify_core.h):
//   the customer's context                -> CustomerView::FromContext
//   an identity that no customer has      -> CustomerView::ForUnmatchedIdentity
//   no answer in time, context_service
//   down, or no address given             -> CustomerView::Unanswered()
// and with an error the send must fail with:
//   a customer name that does not exist   -> NOT_FOUND "<field>.customer: ..."
//   a reference context_service refuses   -> INVALID_ARGUMENT "<field>: ..."
//   no key for the tenant, or a key
//   context_service refuses               -> FAILED_PRECONDITION "<field>: ..."
//                                            (naming --context_api_keys_file:
//                                            such a send could never be
//                                            delivered)
//
// ResolveSender, ApplyConsent and RecordInbound are for
// ReceiveInboundMessage: the sender's customer (created with just that
// identity when none has it, so an opt-out is kept), then one UpdateConsent
// per entry, in order, then the message's timeline entry, under
// `write_timeout` each. Their errors: INVALID_ARGUMENT naming `field` when
// context_service refuses the identity, UNAVAILABLE when it is down, slow
// or not configured (retry), else its status as is.
//
// Tenants: each notify tenant calls with its own context_service key
// (`keys`, "<tenant> <key>" lines); with no keys at all calls carry none
// (single-tenant local setups).
//
// Threading: every method may be called from any thread; `done` runs once,
// on a gRPC callback thread or inline (errors found before calling, or the
// gateway off), and must not block: hand work to a pool. Ownership: the
// gateway must outlive every `done`.

#ifndef CXP_NOTIFY_SERVICE_CONTEXT_GATEWAY_H_
#define CXP_NOTIFY_SERVICE_CONTEXT_GATEWAY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/client/context_client.h"
#include "cxp/context/v1/consent.pb.h"
#include "cxp/context/v1/context_service.pb.h"
#include "cxp/type/v1/customer_ref.pb.h"
#include "cxp/type/v1/identity.pb.h"
#include "notify_service/core/notify_core.h"

namespace cxp::notify {

struct ContextGatewayOptions {
  // context_service address; empty: off (lookups unanswered, inbound
  // messages UNAVAILABLE).
  std::string target;
  // Deadline of the lookup of one send: short, since the send is accepted
  // unjudged without an answer.
  absl::Duration lookup_timeout = absl::Milliseconds(100);
  // Deadline of each resolve, create and consent call of an inbound message.
  absl::Duration write_timeout = absl::Seconds(2);
  absl::flat_hash_map<std::string, std::string> keys;  // notify tenant -> API key
  std::string tls_ca_file;                             // TLS when set
};

class ContextGateway {
 public:
  // INVALID_ARGUMENT for an unusable TLS CA file or address.
  static absl::StatusOr<std::unique_ptr<ContextGateway>> Create(ContextGatewayOptions options);

  using LookUpDone = absl::AnyInvocable<void(absl::StatusOr<CustomerView>) &&>;
  // `field` names `customer` in errors (e.g. "customer", "requests[3].customer").
  void LookUp(const std::string& tenant, const cxp::type::v1::CustomerRef& customer,
              std::string field, LookUpDone done) const;

  using ResolveDone = absl::AnyInvocable<void(absl::StatusOr<std::string>) &&>;
  // The name of the customer who has `identity`; "" when none has it and
  // `create_if_missing` is false. `field` names the identity in errors.
  void ResolveSender(const std::string& tenant, const cxp::type::v1::Identity& identity,
                     bool create_if_missing, std::string field, ResolveDone done) const;

  using ConsentDone = absl::AnyInvocable<void(absl::Status) &&>;
  // Sets each entry (channel, purpose, state, evidence) on `customer`,
  // one after another; stops at the first error.
  void ApplyConsent(const std::string& tenant, const std::string& customer,
                    std::vector<cxp::context::v1::ConsentEntry> entries, ConsentDone done) const;

  using RecordDone = absl::AnyInvocable<void(absl::StatusOr<std::string>) &&>;
  // Appends an inbound message's timeline entry (`append`, its customer
  // set); the stored interaction's name.
  void RecordInbound(const std::string& tenant, cxp::context::v1::AppendInteractionRequest append,
                     RecordDone done) const;

  bool enabled() const { return client_ != nullptr; }
  // The client the gateway calls through (for the dispatcher's lookups and
  // timeline appends); nullptr when off. Owned by the gateway.
  const client::ContextClient* client() const { return client_.get(); }

 private:
  ContextGateway(ContextGatewayOptions options, std::unique_ptr<client::ContextClient> client)
      : options_(std::move(options)), client_(std::move(client)) {}

  // CreateCustomer with just `identity`; ALREADY_EXISTS (a concurrent
  // create won) resolves again.
  void CreateSender(const std::string& tenant, const cxp::type::v1::Identity& identity,
                    std::string field, ResolveDone done) const;

  const ContextGatewayOptions options_;
  std::unique_ptr<client::ContextClient> client_;  // null: off
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CONTEXT_GATEWAY_H_
