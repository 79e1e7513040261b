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

CustomerView ContextCustomerSource::Lookup(const std::string& tenant,
                                           const cxp::notify::v1::Notification& notification) {
  ctx::GetCustomerContextRequest request;
  if (!notification.resolved_customer().empty()) {
    request.mutable_customer()->set_customer(notification.resolved_customer());
  } else {
    *request.mutable_customer() = notification.customer();
  }
  request.set_interaction_limit(1);
  // Shared with the callback, which may outlive this call when the wait
  // below gives up first.
  struct Result {
    absl::Notification done;
    absl::StatusOr<ctx::GetCustomerContextResponse> response;
  };
  auto result = std::make_shared<Result>();
  client_.Call<ctx::GetCustomerContextRequest, ctx::GetCustomerContextResponse>(
      tenant, &Async::GetCustomerContext, request,
      [result](absl::StatusOr<ctx::GetCustomerContextResponse> response) {
        result->response = std::move(response);
        result->done.Notify();
      },
      timeout_);
  // The call's own deadline ends it; the margin covers a late callback.
  if (!result->done.WaitForNotificationWithTimeout(timeout_ + absl::Seconds(1))) {
    return CustomerView::Unanswered();
  }
  if (std::optional<CustomerView> view =
          CustomerView::FromAnswer(result->response, request.customer())) {
    return *std::move(view);
  }
  if (absl::IsNotFound(result->response.status())) {
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
