#include "notify_service/dispatch/context_adapters.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace cxp::notify::dispatch {
namespace {

namespace ctx = ::cxp::context::v1;
using Async = client::ContextClient::Service::StubInterface::async_interface;

// Blocks for `client`'s answer to `request` within `timeout` and a margin
// (the call's own deadline ends it; the margin covers a late callback).
template <typename Request, typename Response>
absl::StatusOr<Response> CallWithin(const client::ContextClient& client, const std::string& tenant,
                                    client::ContextClient::AsyncMethod<Request, Response> method,
                                    const Request& request, absl::Duration timeout) {
  // Shared with the callback, which may outlive this call when the wait
  // below gives up first.
  struct Result {
    absl::Notification done;
    absl::StatusOr<Response> response;
  };
  auto result = std::make_shared<Result>();
  client.Call<Request, Response>(
      tenant, method, request,
      [result](absl::StatusOr<Response> response) {
        result->response = std::move(response);
        result->done.Notify();
      },
      timeout);
  if (!result->done.WaitForNotificationWithTimeout(timeout + absl::Seconds(1))) {
    return absl::DeadlineExceededError(
        absl::StrCat("context_service: no answer to ", Request::descriptor()->name()));
  }
  return std::move(result->response);
}

// The view for an answer about `customer` (see ContextCustomerSource).
CustomerView ViewOf(const absl::StatusOr<ctx::GetCustomerContextResponse>& answer,
                    const cxp::type::v1::CustomerRef& customer) {
  if (std::optional<CustomerView> view = CustomerView::FromAnswer(answer, customer)) {
    return *std::move(view);
  }
  if (absl::IsNotFound(answer.status())) {
    return CustomerView();  // answered: a customer with no contact points
  }
  return CustomerView::Unanswered();
}

}  // namespace

absl::StatusOr<ctx::GetCustomerContextResponse> GetCustomerContextWithin(
    const client::ContextClient& client, const std::string& tenant,
    const cxp::type::v1::CustomerRef& customer, absl::Duration timeout) {
  ctx::GetCustomerContextRequest request;
  *request.mutable_customer() = customer;
  request.set_interaction_limit(1);
  return CallWithin<ctx::GetCustomerContextRequest, ctx::GetCustomerContextResponse>(
      client, tenant, &Async::GetCustomerContext, request, timeout);
}

CustomerView ContextCustomerSource::Lookup(const std::string& tenant,
                                           const cxp::notify::v1::Notification& notification) {
  PendingLookup mine;
  if (!notification.resolved_customer().empty()) {
    mine.customer.set_customer(notification.resolved_customer());
  } else {
    mine.customer = notification.customer();
  }
  if (batch_unsupported_.load(std::memory_order_relaxed)) {
    return FetchOne(tenant, mine.customer);
  }
  mu_.Lock();
  TenantLookups& lookups = lookups_[tenant];
  lookups.waiting.push_back(&mine);
  while (true) {
    auto ready = [&mine, &lookups]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return mine.done || (!mine.taken && lookups.in_flight < kMaxLookupCallsInFlight);
    };
    mu_.Await(absl::Condition(&ready));
    if (mine.done) break;
    // A call is free: this thread asks for everyone waiting (oldest first,
    // up to a call's worth).
    const size_t take = std::min<size_t>(lookups.waiting.size(), kMaxLookupBatch);
    std::vector<PendingLookup*> batch(lookups.waiting.begin(), lookups.waiting.begin() + take);
    for (PendingLookup* lookup : batch) lookup->taken = true;
    lookups.waiting.erase(lookups.waiting.begin(), lookups.waiting.begin() + take);
    ++lookups.in_flight;
    mu_.Unlock();
    std::vector<CustomerView> views = Fetch(tenant, batch);
    mu_.Lock();
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->view = std::move(views[i]);
      batch[i]->done = true;
    }
    --lookups.in_flight;
  }
  mu_.Unlock();
  return std::move(mine.view);
}

std::vector<CustomerView> ContextCustomerSource::Fetch(const std::string& tenant,
                                                       const std::vector<PendingLookup*>& batch) {
  std::vector<CustomerView> views;
  views.reserve(batch.size());
  if (!batch_unsupported_.load(std::memory_order_relaxed)) {
    ctx::BatchGetCustomerContextsRequest request;
    for (const PendingLookup* lookup : batch) *request.add_customers() = lookup->customer;
    request.set_interaction_limit(1);
    absl::StatusOr<ctx::BatchGetCustomerContextsResponse> answer =
        CallWithin<ctx::BatchGetCustomerContextsRequest, ctx::BatchGetCustomerContextsResponse>(
            client_, tenant, &Async::BatchGetCustomerContexts, request, timeout_);
    if (answer.ok() && answer->outcomes_size() == static_cast<int>(batch.size())) {
      for (size_t i = 0; i < batch.size(); ++i) {
        ctx::CustomerContextOutcome& outcome = *answer->mutable_outcomes(static_cast<int>(i));
        absl::StatusOr<ctx::GetCustomerContextResponse> one;
        if (outcome.code() == 0) {
          one.emplace();
          *one->mutable_customer_context() = std::move(*outcome.mutable_customer_context());
        } else {
          one = absl::Status(static_cast<absl::StatusCode>(outcome.code()), outcome.message());
        }
        views.push_back(ViewOf(one, batch[i]->customer));
      }
      return views;
    }
    if (!absl::IsUnimplemented(answer.status())) {
      views.assign(batch.size(), CustomerView::Unanswered());
      return views;
    }
    batch_unsupported_.store(true, std::memory_order_relaxed);
  }
  for (const PendingLookup* lookup : batch) views.push_back(FetchOne(tenant, lookup->customer));
  return views;
}

CustomerView ContextCustomerSource::FetchOne(const std::string& tenant,
                                             const cxp::type::v1::CustomerRef& customer) {
  return ViewOf(GetCustomerContextWithin(client_, tenant, customer, timeout_), customer);
}

namespace {

// Answers that arrive in parts, on any thread: `done` runs once, with all of
// them in request order, when the last part is in.
class AnswerGather {
 public:
  AnswerGather(size_t count, absl::AnyInvocable<void(std::vector<absl::Status>) &&> done)
      : answers_(count), left_(count), done_(std::move(done)) {}

  // The answers of requests first .. first + answers.size() - 1.
  void Settle(size_t first, std::vector<absl::Status> answers) {
    std::vector<absl::Status> all;
    {
      absl::MutexLock lock(&mu_);
      for (size_t i = 0; i < answers.size(); ++i) answers_[first + i] = std::move(answers[i]);
      left_ -= answers.size();
      if (left_ > 0) return;
      all = std::move(answers_);
    }
    std::move(done_)(std::move(all));
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::Status> answers_ ABSL_GUARDED_BY(mu_);
  size_t left_ ABSL_GUARDED_BY(mu_);
  absl::AnyInvocable<void(std::vector<absl::Status>) &&> done_;
};

}  // namespace

void TimelineSink::AppendAll(const std::string& tenant,
                             std::vector<ctx::AppendInteractionRequest> requests,
                             absl::AnyInvocable<void(std::vector<absl::Status>) &&> done) {
  if (requests.empty()) {
    std::move(done)({});
    return;
  }
  auto gather = std::make_shared<AnswerGather>(requests.size(), std::move(done));
  for (size_t i = 0; i < requests.size(); ++i) {
    Append(tenant, requests[i], [gather, i](absl::Status status) {
      std::vector<absl::Status> answer;
      answer.push_back(std::move(status));
      gather->Settle(i, std::move(answer));
    });
  }
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

void ContextTimelineSink::AppendAll(const std::string& tenant,
                                    std::vector<ctx::AppendInteractionRequest> requests,
                                    absl::AnyInvocable<void(std::vector<absl::Status>) &&> done) {
  if (bulk_unsupported_.load(std::memory_order_relaxed) || requests.size() <= 1) {
    TimelineSink::AppendAll(tenant, std::move(requests), std::move(done));
    return;
  }
  // One call per chunk; `done` once every chunk has answered.
  auto gather = std::make_shared<AnswerGather>(requests.size(), std::move(done));
  for (size_t begin = 0; begin < requests.size(); begin += kMaxAppendBatch) {
    const size_t end = std::min(requests.size(), begin + kMaxAppendBatch);
    auto bulk = std::make_shared<ctx::BulkAppendInteractionsRequest>();
    for (size_t i = begin; i < end; ++i) *bulk->add_requests() = std::move(requests[i]);
    client_.Call<ctx::BulkAppendInteractionsRequest, ctx::BulkAppendInteractionsResponse>(
        tenant, &Async::BulkAppendInteractions, *bulk,
        [this, tenant, gather, begin,
         bulk](absl::StatusOr<ctx::BulkAppendInteractionsResponse> response) mutable {
          const size_t size = static_cast<size_t>(bulk->requests_size());
          if (absl::IsUnimplemented(response.status())) {
            // An older context_service: one call each from now on.
            bulk_unsupported_.store(true, std::memory_order_relaxed);
            std::vector<ctx::AppendInteractionRequest> singles(
                std::make_move_iterator(bulk->mutable_requests()->begin()),
                std::make_move_iterator(bulk->mutable_requests()->end()));
            TimelineSink::AppendAll(tenant, std::move(singles),
                                    [gather, begin](std::vector<absl::Status> answers) {
                                      gather->Settle(begin, std::move(answers));
                                    });
            return;
          }
          std::vector<absl::Status> answers(size, response.status());
          if (response.ok() && response->outcomes_size() != static_cast<int>(size)) {
            answers.assign(size, absl::InternalError(absl::StrCat(
                                     "context_service: BulkAppendInteractions answered ",
                                     response->outcomes_size(), " outcomes for ", size)));
          } else if (response.ok()) {
            for (size_t i = 0; i < size; ++i) {
              const ctx::AppendInteractionOutcome& outcome =
                  response->outcomes(static_cast<int>(i));
              answers[i] =
                  absl::Status(static_cast<absl::StatusCode>(outcome.code()), outcome.message());
            }
          }
          gather->Settle(begin, std::move(answers));
        },
        timeout_);
  }
}

}  // namespace cxp::notify::dispatch
