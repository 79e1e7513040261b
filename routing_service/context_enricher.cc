#include "routing_service/context_enricher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"

namespace cxp::routing {
namespace {

CustomerInfo Skipped(std::string reason) {
  return CustomerInfo{.looked_up = false, .skip_reason = std::move(reason)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContextEnricher>> ContextEnricher::Create(
    ContextEnricherOptions options) {
  if (options.target.empty()) {
    return std::unique_ptr<ContextEnricher>(new ContextEnricher(options.timeout, nullptr));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<client::ContextClient> client,
                   client::ContextClient::Create({.target = options.target,
                                                  .timeout = options.timeout,
                                                  .keys = std::move(options.keys),
                                                  .tls_ca_file = options.tls_ca_file}));
  return std::unique_ptr<ContextEnricher>(new ContextEnricher(options.timeout, std::move(client)));
}

void ContextEnricher::Lookup(const std::string& tenant, const cxp::type::v1::CustomerRef& customer,
                             absl::AnyInvocable<void(CustomerInfo) &&> done) const {
  if (customer.ref_case() == cxp::type::v1::CustomerRef::REF_NOT_SET) {
    std::move(done)(Skipped("no customer on task"));
    return;
  }
  if (!client_) {
    std::move(done)(Skipped("context enrichment is not configured (--context_service)"));
    return;
  }
  cxp::context::v1::GetCustomerContextRequest request;
  *request.mutable_customer() = customer;
  request.set_interaction_limit(1);
  using Async = client::ContextClient::Service::StubInterface::async_interface;
  client_->Call<cxp::context::v1::GetCustomerContextRequest,
                cxp::context::v1::GetCustomerContextResponse>(
      tenant, &Async::GetCustomerContext, std::move(request),
      [done = std::move(done), timeout = timeout_](
          absl::StatusOr<cxp::context::v1::GetCustomerContextResponse> response) mutable {
        CustomerInfo info;
        if (response.ok()) {
          const auto& context = response->customer_context();
          info.looked_up = true;
          info.customer = context.customer().name();
          info.tier = context.customer().tier();
          info.language_code = context.customer().language_code();
          info.last_agent = context.computed_attributes().last_agent();
        } else if (absl::IsDeadlineExceeded(response.status())) {
          info = Skipped(absl::StrCat("context lookup exceeded its ", absl::FormatDuration(timeout),
                                      " budget"));
        } else if (absl::IsNotFound(response.status())) {
          info = Skipped("customer not found");
        } else if (absl::IsUnavailable(response.status())) {
          info = Skipped("context service unavailable");
        } else if (absl::IsFailedPrecondition(response.status())) {
          info = Skipped("no context_service key for this tenant");
        } else {
          info = Skipped(absl::StrCat("context lookup failed: ", response.status().message()));
        }
        std::move(done)(std::move(info));
      },
      timeout_);
}

}  // namespace cxp::routing
