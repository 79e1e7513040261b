#include "notify_service/context_gateway.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"

namespace cxp::notify {
namespace {

namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using Async = client::ContextClient::Service::StubInterface::async_interface;

// What context_service said, without ContextClient's "context_service: ".
absl::string_view Said(const absl::Status& status) {
  return absl::StripPrefix(status.message(), "context_service: ");
}

// INVALID_ARGUMENT naming the request's `field`, with context_service's
// reason.
absl::Status Refused(absl::string_view field, const absl::Status& status) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": refused by context_service (", Said(status), ")"));
}

// The status an inbound message's caller gets for a failed call:
// transient trouble is UNAVAILABLE (retry), since the caller's own deadline
// has not passed.
absl::Status ForCaller(const absl::Status& status) {
  if (absl::IsDeadlineExceeded(status) || absl::IsUnavailable(status)) {
    return absl::UnavailableError(
        absl::StrCat("context_service did not answer (", Said(status), "); retry with backoff"));
  }
  if (absl::IsFailedPrecondition(status) &&
      !absl::StartsWith(status.message(), "context_service")) {
    // ContextClient's own refusal: no key for the tenant.
    return absl::UnavailableError(absl::StrCat("context_service cannot be asked: ", Said(status)));
  }
  return status;
}

// Configuration trouble between the services, not a slow context_service.
bool IsKeyProblem(const absl::Status& status) {
  return absl::IsFailedPrecondition(status) || absl::IsUnauthenticated(status) ||
         absl::IsPermissionDenied(status);
}

absl::Status Off() {
  return absl::UnavailableError(
      "context_service is not configured (--context_service); inbound messages cannot be "
      "recorded");
}

struct ConsentChain {
  std::string tenant;
  std::string customer;
  std::vector<ctx::ConsentEntry> entries;
  size_t next = 0;
  ContextGateway::ConsentDone done;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ContextGateway>> ContextGateway::Create(
    ContextGatewayOptions options) {
  if (options.lookup_timeout <= absl::ZeroDuration() ||
      options.write_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("context_timeout: must be a positive duration");
  }
  if (options.target.empty()) {
    return std::unique_ptr<ContextGateway>(new ContextGateway(std::move(options), nullptr));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<client::ContextClient> client,
                   client::ContextClient::Create({.target = options.target,
                                                  .timeout = options.write_timeout,
                                                  .keys = options.keys,
                                                  .tls_ca_file = options.tls_ca_file}));
  return std::unique_ptr<ContextGateway>(new ContextGateway(std::move(options), std::move(client)));
}

void ContextGateway::LookUp(const std::string& tenant, const type::CustomerRef& customer,
                            std::string field, LookUpDone done) const {
  if (!client_ || customer.ref_case() == type::CustomerRef::REF_NOT_SET) {
    // Nothing to ask (the core refuses a missing customer itself).
    std::move(done)(CustomerView::Unanswered());
    return;
  }
  ctx::GetCustomerContextRequest request;
  *request.mutable_customer() = customer;
  request.set_interaction_limit(1);  // only the profile, consent and preferences are used
  client_->Call<ctx::GetCustomerContextRequest, ctx::GetCustomerContextResponse>(
      tenant, &Async::GetCustomerContext, std::move(request),
      [done = std::move(done), field = std::move(field),
       customer](absl::StatusOr<ctx::GetCustomerContextResponse> response) mutable {
        if (std::optional<CustomerView> view = CustomerView::FromAnswer(response, customer)) {
          std::move(done)(*std::move(view));
        } else if (absl::IsNotFound(response.status())) {
          std::move(done)(absl::NotFoundError(
              absl::StrCat(field, ".customer: ", customer.customer(), " does not exist")));
        } else if (absl::IsInvalidArgument(response.status())) {
          std::move(done)(Refused(field, response.status()));
        } else if (IsKeyProblem(response.status())) {
          // Accepting unjudged would leave the send waiting for a lookup
          // that can never succeed: say so now.
          std::move(done)(absl::FailedPreconditionError(absl::StrCat(
              field, ": notify_service may not read this tenant's customers in context_service (",
              Said(response.status()),
              "); its API key in --context_api_keys_file is missing or refused")));
        } else {
          // Slow, down, or refusing us: judged at delivery.
          std::move(done)(CustomerView::Unanswered());
        }
      },
      options_.lookup_timeout);
}

void ContextGateway::ResolveSender(const std::string& tenant, const type::Identity& identity,
                                   bool create_if_missing, std::string field,
                                   ResolveDone done) const {
  if (!client_) {
    std::move(done)(Off());
    return;
  }
  ctx::ResolveCustomerRequest request;
  *request.mutable_identity() = identity;
  client_->Call<ctx::ResolveCustomerRequest, ctx::ResolveCustomerResponse>(
      tenant, &Async::ResolveCustomer, std::move(request),
      [this, tenant, identity, create_if_missing, field = std::move(field),
       done = std::move(done)](absl::StatusOr<ctx::ResolveCustomerResponse> response) mutable {
        if (response.ok()) {
          std::move(done)(response->customer().name());
        } else if (absl::IsNotFound(response.status())) {
          if (!create_if_missing) {
            std::move(done)(std::string());
          } else {
            CreateSender(tenant, identity, std::move(field), std::move(done));
          }
        } else if (absl::IsInvalidArgument(response.status())) {
          std::move(done)(Refused(field, response.status()));
        } else if (IsKeyProblem(response.status())) {
          // Accepting unjudged would leave the send waiting for a lookup
          // that can never succeed: say so now.
          std::move(done)(absl::FailedPreconditionError(absl::StrCat(
              field, ": notify_service may not read this tenant's customers in context_service (",
              Said(response.status()),
              "); its API key in --context_api_keys_file is missing or refused")));
        } else {
          std::move(done)(ForCaller(response.status()));
        }
      });
}

void ContextGateway::CreateSender(const std::string& tenant, const type::Identity& identity,
                                  std::string field, ResolveDone done) const {
  ctx::CreateCustomerRequest request;
  *request.mutable_customer()->add_identities()->mutable_identity() = identity;
  client_->Call<ctx::CreateCustomerRequest, ctx::CreateCustomerResponse>(
      tenant, &Async::CreateCustomer, std::move(request),
      [this, tenant, identity, field = std::move(field),
       done = std::move(done)](absl::StatusOr<ctx::CreateCustomerResponse> response) mutable {
        if (response.ok()) {
          std::move(done)(response->customer().name());
        } else if (absl::IsAlreadyExists(response.status())) {
          // Another call created the sender meanwhile: it is theirs now.
          ResolveSender(tenant, identity, /*create_if_missing=*/false, std::move(field),
                        std::move(done));
        } else if (absl::IsInvalidArgument(response.status())) {
          std::move(done)(Refused(field, response.status()));
        } else if (IsKeyProblem(response.status())) {
          // Accepting unjudged would leave the send waiting for a lookup
          // that can never succeed: say so now.
          std::move(done)(absl::FailedPreconditionError(absl::StrCat(
              field, ": notify_service may not read this tenant's customers in context_service (",
              Said(response.status()),
              "); its API key in --context_api_keys_file is missing or refused")));
        } else {
          std::move(done)(ForCaller(response.status()));
        }
      });
}

void ContextGateway::ApplyConsent(const std::string& tenant, const std::string& customer,
                                  std::vector<ctx::ConsentEntry> entries, ConsentDone done) const {
  if (!client_) {
    std::move(done)(Off());
    return;
  }
  auto chain = std::make_shared<ConsentChain>();
  chain->tenant = tenant;
  chain->customer = customer;
  chain->entries = std::move(entries);
  chain->done = std::move(done);
  // Each step starts the next from the previous one's callback.
  struct Step {
    const ContextGateway* gateway;
    void operator()(std::shared_ptr<ConsentChain> chain) const {
      if (chain->next == chain->entries.size()) {
        std::move(chain->done)(absl::OkStatus());
        return;
      }
      const ctx::ConsentEntry& entry = chain->entries[chain->next];
      ctx::UpdateConsentRequest request;
      request.set_customer(chain->customer);
      request.set_channel(entry.channel());
      request.set_purpose(entry.purpose());
      request.set_state(entry.state());
      *request.mutable_evidence() = entry.evidence();
      const std::string tenant = chain->tenant;
      gateway->client_->Call<ctx::UpdateConsentRequest, ctx::UpdateConsentResponse>(
          tenant, &Async::UpdateConsent, std::move(request),
          [step = *this,
           chain = std::move(chain)](absl::StatusOr<ctx::UpdateConsentResponse> response) mutable {
            if (!response.ok()) {
              std::move(chain->done)(ForCaller(response.status()));
              return;
            }
            ++chain->next;
            step(std::move(chain));
          });
    }
  };
  Step{this}(std::move(chain));
}

void ContextGateway::RecordInbound(const std::string& tenant, ctx::AppendInteractionRequest append,
                                   RecordDone done) const {
  if (!client_) {
    std::move(done)(Off());
    return;
  }
  client_->Call<ctx::AppendInteractionRequest, ctx::AppendInteractionResponse>(
      tenant, &Async::AppendInteraction, std::move(append),
      [done = std::move(done)](absl::StatusOr<ctx::AppendInteractionResponse> response) mutable {
        if (!response.ok()) {
          std::move(done)(ForCaller(response.status()));
          return;
        }
        std::move(done)(response->interaction().name());
      });
}

}  // namespace cxp::notify
