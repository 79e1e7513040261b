#include "common/server/handler_pool.h"

#include <algorithm>

namespace cxp::server {

HandlerPool::HandlerPool(int threads, size_t max_queued) : max_queued_(max_queued) {
  if (threads <= 0) {
    // Handlers mostly wait (fsync, disk): a synced write holds its thread
    // until the WAL group commit returns, so the pool bounds how many writes
    // share one fsync. Idle threads cost only memory.
    threads = 32 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { WorkLoop(); });
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
