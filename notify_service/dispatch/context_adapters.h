// What the dispatcher needs of context_service, behind two interfaces so it
// stays plain C++ (and tests can stand in for a slow or failing
// context_service), and their production implementations on
// client::ContextClient:
//
//   CustomerSource  the customer's current view for a delivery
//                   (BatchGetCustomerContexts, with a deadline: concurrent
//                   lookups of a tenant share one call). No answer in time
//                   (or any error but NOT_FOUND) gives
//                   CustomerView::Unanswered(): NotifyCore then waits
//                   context_retry_delay without counting an attempt.
//   TimelineSink    appends delivered notifications to their customers'
//                   timelines (BulkAppendInteractions; each request carries
//                   its own request_id, so a retry never adds a second entry
//                   within context_service's 24 h idempotency window).
//
// Against a context_service without the batch methods (UNIMPLEMENTED, an
// older version during a rolling upgrade) both fall back to one call per
// customer (GetCustomerContext, AppendInteraction) for good.
//
// Threading: both are called concurrently from several threads. Ownership:
// the Context* implementations borrow the client, which must outlive them.

#ifndef CXP_NOTIFY_SERVICE_DISPATCH_CONTEXT_ADAPTERS_H_
#define CXP_NOTIFY_SERVICE_DISPATCH_CONTEXT_ADAPTERS_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/client/context_client.h"
#include "cxp/context/v1/context_service.pb.h"
#include "cxp/notify/v1/notification.pb.h"
#include "notify_service/core/notify_core.h"

namespace cxp::notify::dispatch {

// GetCustomerContext for `customer` (its most recent interaction only)
// through `client`, blocking the calling thread for at most `timeout` and a
// margin; DEADLINE_EXCEEDED when no answer came.
absl::StatusOr<cxp::context::v1::GetCustomerContextResponse> GetCustomerContextWithin(
    const client::ContextClient& client, const std::string& tenant,
    const cxp::type::v1::CustomerRef& customer, absl::Duration timeout);

class CustomerSource {
 public:
  virtual ~CustomerSource() = default;
  // What context_service says now of `notification`'s recipient
  // (resolved_customer, else the recipient as sent). Blocks the calling
  // (worker) thread for at most the implementation's deadline. Never fails:
  // CustomerView::Unanswered() stands for "no answer".
  virtual CustomerView Lookup(const std::string& tenant,
                              const cxp::notify::v1::Notification& notification) = 0;
};

class TimelineSink {
 public:
  virtual ~TimelineSink() = default;
  // Starts the append; `done` runs exactly once with context_service's
  // answer, on any thread, and must not block.
  virtual void Append(const std::string& tenant,
                      const cxp::context::v1::AppendInteractionRequest& request,
                      absl::AnyInvocable<void(absl::Status) &&> done) = 0;
  // Starts several appends of one tenant together; `done` runs exactly once
  // with one answer per request, in order, under the same rules as
  // Append's. By default each goes through Append.
  virtual void AppendAll(const std::string& tenant,
                         std::vector<cxp::context::v1::AppendInteractionRequest> requests,
                         absl::AnyInvocable<void(std::vector<absl::Status>) &&> done);
};

// BatchGetCustomerContexts through `client` within `timeout`. Lookups of
// one tenant coalesce: while two calls are in flight, the lookups that
// arrive wait, and the first of them then asks for all of them (up to 100)
// in the next call, so batches grow with the load and an idle source adds
// no delay. NOT_FOUND: for an identity, CustomerView::ForUnmatchedIdentity
// (the notification goes to that identity alone); for a customer name
// (erased since), an answered view without contact points (nothing may be
// sent).
class ContextCustomerSource : public CustomerSource {
 public:
  ContextCustomerSource(const client::ContextClient& client, absl::Duration timeout)
      : client_(client), timeout_(timeout) {}
  CustomerView Lookup(const std::string& tenant,
                      const cxp::notify::v1::Notification& notification) override;

 private:
  static constexpr size_t kMaxLookupBatch = 100;  // BatchGetCustomerContexts' limit
  // Two calls overlap: one is answered while the next batch gathers.
  static constexpr int kMaxLookupCallsInFlight = 2;
  struct PendingLookup {
    cxp::type::v1::CustomerRef customer;
    CustomerView view;
    bool taken = false;  // in a call
    bool done = false;
  };
  struct TenantLookups {
    std::vector<PendingLookup*> waiting;
    int in_flight = 0;  // calls, at most kMaxLookupCallsInFlight
  };
  // One call for `batch` (GetCustomerContext each when the batch method is
  // missing); one view per entry.
  std::vector<CustomerView> Fetch(const std::string& tenant,
                                  const std::vector<PendingLookup*>& batch);
  CustomerView FetchOne(const std::string& tenant, const cxp::type::v1::CustomerRef& customer);

  const client::ContextClient& client_;
  const absl::Duration timeout_;
  std::atomic<bool> batch_unsupported_ = false;
  absl::Mutex mu_;
  // Entries are never erased (tenants are few), so references stay valid.
  absl::node_hash_map<std::string, TenantLookups> lookups_ ABSL_GUARDED_BY(mu_);
};

// AppendInteraction / BulkAppendInteractions through `client` within
// `timeout`.
class ContextTimelineSink : public TimelineSink {
 public:
  ContextTimelineSink(const client::ContextClient& client, absl::Duration timeout)
      : client_(client), timeout_(timeout) {}
  void Append(const std::string& tenant, const cxp::context::v1::AppendInteractionRequest& request,
              absl::AnyInvocable<void(absl::Status) &&> done) override;
  // BulkAppendInteractions, 100 requests per call.
  void AppendAll(const std::string& tenant,
                 std::vector<cxp::context::v1::AppendInteractionRequest> requests,
                 absl::AnyInvocable<void(std::vector<absl::Status>) &&> done) override;

 private:
  const client::ContextClient& client_;
  const absl::Duration timeout_;
  static constexpr size_t kMaxAppendBatch = 100;  // BulkAppendInteractions' limit
  std::atomic<bool> bulk_unsupported_ = false;
};

}  // namespace cxp::notify::dispatch

#endif  // CXP_NOTIFY_SERVICE_DISPATCH_CONTEXT_ADAPTERS_H_
