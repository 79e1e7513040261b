// PeriodicWorker — a named thread that runs `work` again and again: each run
// returns when the next one should start, and the thread sleeps until then
// or until Stop(). For background chores (timers, purges, retention) that
// must not run on gRPC or handler threads.
//
// Ownership: owns the thread; whatever `work` uses must outlive Stop().
// Threading: `work` runs only on the worker's thread, never concurrently
// with itself. Stop() may be called from any thread (not from `work`); it
// waits for a run in progress, and the destructor calls it. Errors are
// `work`'s to handle (log and carry on, or end the process).

#ifndef CXP_COMMON_SERVER_PERIODIC_WORKER_H_
#define CXP_COMMON_SERVER_PERIODIC_WORKER_H_

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cxp::server {

class PeriodicWorker {
 public:
  // Starts the thread; the first run begins at `first_run` (default: at
  // once). `thread_name` is at most 15 characters (Linux).
  PeriodicWorker(std::string thread_name, absl::AnyInvocable<absl::Time()> work,
                 absl::Time first_run = absl::InfinitePast());
  ~PeriodicWorker();
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  void Stop();

 private:
  void Loop(absl::Time first_run);

  absl::AnyInvocable<absl::Time()> work_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_PERIODIC_WORKER_H_
