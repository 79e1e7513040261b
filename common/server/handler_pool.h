// HandlerPool — a fixed set of threads that run request handlers, so gRPC's
// reactor threads never block on RocksDB fsyncs or other slow work.
//
// The queue is bounded: when it is full TrySubmit() refuses instead of
// letting latency grow without bound, and the caller answers
// RESOURCE_EXHAUSTED (load shedding a client can back off from).
//
// Threading: TrySubmit() is thread-safe. The destructor stops accepting work,
// runs what is already queued, and joins the threads; do not destroy the pool
// from one of its own tasks.

#ifndef CXP_COMMON_SERVER_HANDLER_POOL_H_
#define CXP_COMMON_SERVER_HANDLER_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace cxp::server {

class HandlerPool {
 public:
  // threads == 0 picks 4 per hardware thread.
  explicit HandlerPool(int threads, size_t max_queued = 65536);
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;
  ~HandlerPool();

  // Queues `task`; false when the queue is full or the pool is stopping.
  bool TrySubmit(std::function<void()> task);

  int thread_count() const { return static_cast<int>(threads_.size()); }

 private:
  void WorkLoop();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_HANDLER_POOL_H_
