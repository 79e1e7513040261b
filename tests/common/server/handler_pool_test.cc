#include "common/server/handler_pool.h"

#include <algorithm>
#include <thread>

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace cxp::server {
namespace {

TEST(HandlerPoolTest, RunsEveryTaskBeforeDestruction) {
  std::atomic<int> ran{0};
  {
    HandlerPool pool(3);
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pool.TrySubmit([&] { ran++; }));
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(HandlerPoolTest, RefusesWhenTheQueueIsFull) {
  absl::Notification release;
  absl::Notification started;
  HandlerPool pool(1, /*max_queued=*/2);
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // the only thread is busy
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_FALSE(pool.TrySubmit([] {}));
  release.Notify();
}

TEST(HandlerPoolTest, ZeroThreadsPicksFromHardware) {
  HandlerPool pool(0);
  EXPECT_EQ(pool.thread_count(),
            4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace cxp::server
