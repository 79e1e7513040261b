#include "common/server/periodic_worker.h"

#include <pthread.h>

#include <utility>

namespace cxp::server {

PeriodicWorker::PeriodicWorker(std::string thread_name, absl::AnyInvocable<absl::Time()> work,
                               absl::Time first_run)
    : work_(std::move(work)) {
  thread_ = std::thread([this, first_run] { Loop(first_run); });
  pthread_setname_np(thread_.native_handle(), thread_name.substr(0, 15).c_str());
}

PeriodicWorker::~PeriodicWorker() { Stop(); }

void PeriodicWorker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void PeriodicWorker::Loop(absl::Time wake) {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithDeadline(absl::Condition(&stopping), wake)) return;
    }
    wake = work_();
  }
}

}  // namespace cxp::server
