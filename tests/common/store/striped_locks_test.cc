#include "common/store/striped_locks.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cxp::store {
namespace {

TEST(StripedLocksTest, SerialisesTheSameKeyAcrossThreads) {
  StripedLocks locks(8);
  int counter = 0;  // guarded by the stripe of "customer-1"
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        // Overlapping key sets in different orders must not deadlock.
        std::vector<std::string> keys = t % 2 ? std::vector<std::string>{"customer-1", "phone-9"}
                                              : std::vector<std::string>{"phone-9", "customer-1"};
        ScopedStripeLock lock(locks, keys);
        ++counter;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter, 40000);
}

TEST(StripedLocksTest, DuplicateAndCollidingKeysLockOnce) {
  StripedLocks locks(1);  // every key collides
  ScopedStripeLock lock(locks, {"a", "b", "a"});  // would self-deadlock if locked twice
  SUCCEED();
}

}  // namespace
}  // namespace cxp::store
