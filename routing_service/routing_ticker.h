// RoutingTicker — the thread that fires routing timers: offer timeouts,
// wrap-up expiry, bullseye steps, overflow, max wait, desktop grace. It
// calls RoutingCore::Tick() at the core's next deadline (checking at least
// every `max_sleep`, since calls arm new timers meanwhile) until Stop().
//
// Errors from Tick() (storage) go to `on_error` and the thread goes on; the
// process decides whether to stop.
//
// Ownership: borrows the core, which must outlive Stop(). Threading: Stop()
// may be called from any thread, once; the destructor stops too.

#ifndef CXP_ROUTING_SERVICE_ROUTING_TICKER_H_
#define CXP_ROUTING_SERVICE_ROUTING_TICKER_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/server/periodic_worker.h"
#include "routing_service/core/routing_core.h"

namespace cxp::routing {

class RoutingTicker {
 public:
  RoutingTicker(RoutingCore& core, std::function<void(const absl::Status&)> on_error,
                absl::Duration max_sleep = absl::Milliseconds(100));
  ~RoutingTicker();
  RoutingTicker(const RoutingTicker&) = delete;
  RoutingTicker& operator=(const RoutingTicker&) = delete;

  void Stop() { worker_.Stop(); }

 private:
  server::PeriodicWorker worker_;
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_ROUTING_TICKER_H_
