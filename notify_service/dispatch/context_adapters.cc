#include "notify_service/dispatch/context_adapters.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace cxp::notify::dispatch {
namespace {

namespace ctx = ::cxp::context::v1;
using Async = client::ContextClient::Service::StubInterface::async_interface;

}  // namespace

absl::StatusOr<ctx::GetCustomerContextResponse> GetCustomerContextWithin(
    const client::ContextClient& client, const std::string& tenant,
    const cxp::type::v1::CustomerRef& customer, absl::Duration timeout) {
  ctx::GetCustomerContextRequest request;
  *request.mutable_customer() = customer;
  request.set_interaction_limit(1);
  // Shared with the callback, which may outlive this call when the wait
  // below gives up first.
  struct Result {
    absl::Notification done;
    absl::StatusOr<ctx::GetCustomerContextResponse> response;
  };
  auto result = std::make_shared<Result>();
  client.Call<ctx::GetCustomerContextRequest, ctx::GetCustomerContextResponse>(
      tenant, &Async::GetCustomerContext, request,
      [result](absl::StatusOr<ctx::GetCustomerContextResponse> response) {
        result->response = std::move(response);
        result->done.Notify();
      },
      timeout);
  // The call's own deadline ends it; the margin covers a late callback.
  if (!result->done.WaitForNotificationWithTimeout(timeout + absl::Seconds(1))) {
    return absl::DeadlineExceededError("context_service: no answer to GetCustomerContext");
  }
  return std::move(result->response);
}

CustomerView ContextCustomerSource::Lookup(const std::string& tenant,
                                           const cxp::notify::v1::Notification& notification) {
  cxp::type::v1::CustomerRef customer;
  if (!notification.resolved_customer().empty()) {
    customer.set_customer(notification.resolved_customer());
  } else {
    customer = notification.customer();
  }
  const absl::StatusOr<ctx::GetCustomerContextResponse> answer =
      GetCustomerContextWithin(client_, tenant, customer, timeout_);
  if (std::optional<CustomerView> view = CustomerView::FromAnswer(answer, customer)) {
    return *std::move(view);
  }
  if (absl::IsNotFound(answer.status())) {
    return CustomerView();  // answered: a customer with no contact points
  }
  return CustomerView::Unanswered();
}

void ContextTimelineSink::Append(const std::string& tenant,
                                 const ctx::AppendInteractionRequest& request,
                                 absl::AnyInvocable<void(absl::Status) &&> done) {
  client_.Call<ctx::AppendInteractionRequest, ctx::AppendInteractionResponse>(
      tenant, &Async::AppendInteraction, request,
      [done = std::move(done)](absl::StatusOr<ctx::AppendInteractionResponse> response) mutable {
        std::move(done)(response.status());
      },
      timeout_);
}

}  // namespace cxp::notify::dispatch
