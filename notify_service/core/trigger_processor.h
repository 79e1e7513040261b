// TriggerProcessor — turns one tenant's context_service change events into
// the notifications its trigger rules make, and records how far it got, so
// a consumer that restarts resumes where it stopped: no event missed, none
// sent twice. Plain C++: the trigger consumer (dispatch/trigger_consumer.h)
// reads WatchChanges and hands each response's events here, with a way to
// look customers up in context_service.
//
// For each event, in sequence order: the tenant's matcher
// (NotifyConfigCore::Matcher, trigger_matcher.h) names the sends; each goes
// through NotifyCore::SendTriggered with the customer as context_service
// describes it now (consent, contact points, quiet hours: a send into quiet
// hours is held, not dropped). Then one batch stores the last event's
// sequence and, for every rule that sent, when it sent to that customer
// (the cooldown rows the matcher reads).
//
// Exactly once: each send carries the idempotency key
// `trigger:{rule id}:{sequence}`. The sends are written before the batch
// with the sequence, and RocksDB's WAL keeps write order, so after a crash
// either the sequence was stored (and the sends with it) or the events are
// delivered again and their sends find their first notifications by key.
// That holds while the key is remembered (NotifyCoreOptions::
// idempotency_key_ttl, 24 h): a consumer never stays behind that long
// unless context_service is down that long.
//
// A send the core refuses (INVALID_ARGUMENT: a variable the template needs
// is empty; FAILED_PRECONDITION: no channel may be used; NOT_FOUND: the
// template is gone) will be refused on every replay too: it is logged,
// counted and passed. Any other error (storage) returns before the
// sequence moves, so the caller reconnects and the events come again.
//
// Threading: Process may run concurrently for different tenants, never for
// the same tenant. Ownership: borrows the cores and the store, which must
// outlive it.

#ifndef CXP_NOTIFY_SERVICE_CORE_TRIGGER_PROCESSOR_H_
#define CXP_NOTIFY_SERVICE_CORE_TRIGGER_PROCESSOR_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cxp/context/v1/change_event.pb.h"
#include "cxp/context/v1/customer.pb.h"
#include "notify_service/core/notify_config_core.h"
#include "notify_service/core/notify_core.h"
#include "notify_service/core/notify_store.h"

namespace cxp::notify {

// What context_service says of an event's customer.
struct TriggerCustomer {
  // For the sends; CustomerView::Unanswered() when context_service did not
  // answer (the sends are then accepted and judged at delivery).
  CustomerView view = CustomerView::Unanswered();
  // For rules that read customer.*; nullopt when not known.
  std::optional<cxp::context::v1::Customer> profile;
};

struct TriggerOutcome {
  int sent = 0;     // notifications accepted (or found by idempotency key)
  int refused = 0;  // sends the core refused (see the header)
};

class TriggerProcessor {
 public:
  // Looks up a customer, `customers/{id}`. Called on the Process thread.
  using CustomerLookup = absl::FunctionRef<TriggerCustomer(const std::string& customer_name)>;
  using Log = std::function<void(absl::string_view level, absl::string_view message)>;

  TriggerProcessor(NotifyCore& core, NotifyConfigCore& config, const NotifyStore& store,
                   Log log = nullptr);

  // The sequence the tenant's events were processed up to (0: none yet).
  absl::StatusOr<int64_t> ResumeAfter(const std::string& tenant) const;

  // Processes `events` (ascending sequences, after ResumeAfter) and stores
  // the last one's sequence.
  absl::StatusOr<TriggerOutcome> Process(const std::string& tenant,
                                         absl::Span<const cxp::context::v1::ChangeEvent> events,
                                         CustomerLookup lookup);

 private:
  NotifyCore& core_;
  NotifyConfigCore& config_;
  const NotifyStore& store_;
  const Log log_;
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_TRIGGER_PROCESSOR_H_
