#include "common/server/handler_pool.h"

#include <pthread.h>

#include <algorithm>

namespace cxp::server {

HandlerPool::HandlerPool(int threads, size_t max_queued) : max_queued_(max_queued) {
  if (threads <= 0) {
    // Handlers are mostly CPU work plus short waits (a read from the page
    // cache, a RocksDB write group); writes do not wait for their fsync here
    // (HandleUnaryWrite). A few threads per core cover the waits without
    // paying for many runnable threads' context switches.
    threads = 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "cxp-handler");  // for top -H, perf
      WorkLoop();
    });
  }
}

HandlerPool::~HandlerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

bool HandlerPool::TrySubmit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= max_queued_) return false;
  queue_.push_back(std::move(task));
  return true;
}

void HandlerPool::WorkLoop() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](HandlerPool* pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool->mu_) {
            return pool->stopping_ || !pool->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace cxp::server
