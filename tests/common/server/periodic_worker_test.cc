#include "common/server/periodic_worker.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace cxp::server {
namespace {

TEST(PeriodicWorkerTest, RunsAgainAtTheTimeEachRunAsksFor) {
  std::atomic<int> runs{0};
  absl::Notification third;
  PeriodicWorker worker("test-worker", [&] {
    if (++runs == 3) third.Notify();
    return absl::Now() + absl::Milliseconds(10);
  });
  EXPECT_TRUE(third.WaitForNotificationWithTimeout(absl::Seconds(10)));
  worker.Stop();
  const int after_stop = runs.load();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(runs.load(), after_stop);  // nothing runs after Stop()
}

TEST(PeriodicWorkerTest, StopDoesNotWaitForTheNextRun) {
  std::atomic<int> runs{0};
  PeriodicWorker worker(
      "test-worker",
      [&] {
        ++runs;
        return absl::Now() + absl::Hours(1);
      },
      /*first_run=*/absl::Now() + absl::Hours(1));
  const absl::Time start = absl::Now();
  worker.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace
}  // namespace cxp::server
