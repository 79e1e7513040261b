#include "routing_service/routing_ticker.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace cxp::routing {

RoutingTicker::RoutingTicker(RoutingCore& core, std::function<void(const absl::Status&)> on_error,
                             absl::Duration max_sleep)
    : worker_("cxp-routing-tick", [&core, on_error = std::move(on_error), max_sleep] {
        if (absl::Status status = core.Tick(); !status.ok()) on_error(status);
        absl::Time wake = absl::Now() + max_sleep;
        if (std::optional<absl::Time> next = core.NextDeadline()) {
          wake = std::min(wake, *next);
        }
        return wake;
      }) {}

RoutingTicker::~RoutingTicker() { Stop(); }

}  // namespace cxp::routing
