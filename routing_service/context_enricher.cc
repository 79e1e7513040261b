#include "routing_service/context_enricher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"

namespace cxp::routing {
namespace {

// One GetCustomerContext call in flight: its context, request and response
// live until the callback has run.
struct PendingLookup {
  grpc::ClientContext context;
  cxp::context::v1::GetCustomerContextRequest request;
  cxp::context::v1::GetCustomerContextResponse response;
  absl::AnyInvocable<void(CustomerInfo) &&> done;
};

CustomerInfo Skipped(std::string reason) {
  return CustomerInfo{.looked_up = false, .skip_reason = std::move(reason)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContextEnricher>> ContextEnricher::Create(
    ContextEnricherOptions options) {
  if (options.target.empty()) {
    return std::unique_ptr<ContextEnricher>(new ContextEnricher(std::move(options), nullptr));
  }
  client::ChannelOptions channel;
  channel.target = options.target;
  channel.tls_ca_file = options.tls_ca_file;
  channel.default_deadline = options.timeout;
  // A read: safe to retry, but within the same short deadline.
  channel.idempotent_methods = {"/cxp.context.v1.ContextService/GetCustomerContext"};
  ASSIGN_OR_RETURN(client::ServiceClient service, client::ServiceClient::Create(channel));
  return std::unique_ptr<ContextEnricher>(
      new ContextEnricher(std::move(options), service.channel()));
}

ContextEnricher::ContextEnricher(ContextEnricherOptions options,
                                 std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)), channel_(std::move(channel)) {
  if (channel_) stub_ = cxp::context::v1::ContextService::NewStub(channel_);
}

void ContextEnricher::Lookup(const std::string& tenant, const cxp::type::v1::CustomerRef& customer,
                             absl::AnyInvocable<void(CustomerInfo) &&> done) const {
  if (customer.ref_case() == cxp::type::v1::CustomerRef::REF_NOT_SET) {
    std::move(done)(Skipped("no customer on task"));
    return;
  }
  if (!stub_) {
    std::move(done)(Skipped("context enrichment is not configured (--context_service)"));
    return;
  }
  std::string key;
  if (!options_.keys.empty()) {
    auto it = options_.keys.find(tenant);
    if (it == options_.keys.end()) {
      std::move(done)(Skipped("no context_service key for this tenant"));
      return;
    }
    key = it->second;
  }
  auto* pending = new PendingLookup;
  pending->done = std::move(done);
  pending->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  if (!key.empty()) pending->context.AddMetadata("authorization", "Bearer " + key);
  *pending->request.mutable_customer() = customer;
  pending->request.set_interaction_limit(1);
  const absl::Duration timeout = options_.timeout;
  stub_->async()->GetCustomerContext(
      &pending->context, &pending->request, &pending->response,
      [pending, timeout](grpc::Status status) {
        std::unique_ptr<PendingLookup> owned(pending);
        CustomerInfo info;
        if (status.ok()) {
          const auto& context = owned->response.customer_context();
          info.looked_up = true;
          info.customer = context.customer().name();
          info.tier = context.customer().tier();
          info.language_code = context.customer().language_code();
          info.last_agent = context.computed_attributes().last_agent();
        } else if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
          info = Skipped(absl::StrCat("context lookup exceeded its ", absl::FormatDuration(timeout),
                                      " budget"));
        } else if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
          info = Skipped("customer not found");
        } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
          info = Skipped("context service unavailable");
        } else {
          info = Skipped(absl::StrCat("context lookup failed: ", status.error_message()));
        }
        std::move(owned->done)(std::move(info));
      });
}

}  // namespace cxp::routing
