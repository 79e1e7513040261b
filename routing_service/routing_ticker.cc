#include "routing_service/routing_ticker.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace cxp::routing {

RoutingTicker::RoutingTicker(RoutingCore& core, std::function<void(const absl::Status&)> on_error,
                             absl::Duration max_sleep)
    : core_(core), on_error_(std::move(on_error)), max_sleep_(max_sleep) {
  thread_ = std::thread([this] { Loop(); });
  pthread_setname_np(thread_.native_handle(), "cxp-routing-tick");
}

RoutingTicker::~RoutingTicker() { Stop(); }

void RoutingTicker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void RoutingTicker::Loop() {
  while (true) {
    absl::Time wake = absl::Now() + max_sleep_;
    if (std::optional<absl::Time> next = core_.NextDeadline()) wake = std::min(wake, *next);
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithDeadline(absl::Condition(&stopping), wake)) return;
    }
    if (absl::Status status = core_.Tick(); !status.ok()) on_error_(status);
  }
}

}  // namespace cxp::routing
