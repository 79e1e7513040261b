// StreamRegistry with a fake reactor: ShutdownAll ends every registered
// stream once, holding a reference across Shutdown(); streams opened later
// are refused; Remove from inside Shutdown() (OnDone run at once) is fine.
#include "routing_service/stream_registry.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cxp::routing {
namespace {

class FakeReactor {
 public:
  explicit FakeReactor(StreamRegistry<FakeReactor>* registry = nullptr) : registry_(registry) {}

  void Ref() { ++refs; }
  void Unref() { --refs; }
  void Shutdown() {
    ++shutdowns;
    refs_during_shutdown = refs.load();
    // As when Finish() lets gRPC run OnDone before Shutdown() returns.
    if (registry_ != nullptr) registry_->Remove(this);
  }

  std::atomic<int> refs{1};  // "gRPC's"
  std::atomic<int> shutdowns{0};
  int refs_during_shutdown = 0;

 private:
  StreamRegistry<FakeReactor>* registry_;
};

TEST(StreamRegistryTest, ShutdownAllEndsEachLiveStreamOnceUnderAReference) {
  StreamRegistry<FakeReactor> registry;
  FakeReactor open;
  FakeReactor done;
  ASSERT_TRUE(registry.Add(&open));
  ASSERT_TRUE(registry.Add(&done));
  registry.Remove(&done);  // OnDone

  registry.ShutdownAll();
  EXPECT_EQ(open.shutdowns, 1);
  EXPECT_EQ(open.refs_during_shutdown, 2);
  EXPECT_EQ(open.refs, 1);  // the registry's reference is dropped again
  EXPECT_EQ(done.shutdowns, 0);
  EXPECT_EQ(done.refs, 1);
}

TEST(StreamRegistryTest, RefusesStreamsOpenedOnceShutdownStarted) {
  StreamRegistry<FakeReactor> registry;
  registry.ShutdownAll();
  FakeReactor late;
  EXPECT_FALSE(registry.Add(&late));
  registry.Remove(&late);  // its OnDone: a no-op
  registry.ShutdownAll();
  EXPECT_EQ(late.shutdowns, 0);
  EXPECT_EQ(late.refs, 1);
}

TEST(StreamRegistryTest, ShutdownMayRemoveItselfAtOnce) {
  StreamRegistry<FakeReactor> registry;
  std::vector<std::unique_ptr<FakeReactor>> reactors;
  for (int i = 0; i < 8; ++i) {
    reactors.push_back(std::make_unique<FakeReactor>(&registry));
    ASSERT_TRUE(registry.Add(reactors.back().get()));
  }
  registry.ShutdownAll();  // would self-deadlock if Shutdown ran under the lock
  for (const auto& reactor : reactors) {
    EXPECT_EQ(reactor->shutdowns, 1);
    EXPECT_EQ(reactor->refs, 1);
  }
  registry.ShutdownAll();  // all removed themselves
  for (const auto& reactor : reactors) EXPECT_EQ(reactor->shutdowns, 1);
}

// Streams opening on other threads while shutdown starts: each is either
// refused or registered and then ended; none is missed.
TEST(StreamRegistryTest, EveryStreamOpenedConcurrentlyIsEndedOrRefused) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  StreamRegistry<FakeReactor> registry;
  std::vector<std::unique_ptr<FakeReactor>> reactors;
  for (int i = 0; i < kThreads * kPerThread; ++i) {
    reactors.push_back(std::make_unique<FakeReactor>(&registry));
  }
  std::vector<int> added(reactors.size(), 0);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go) {
      }
      for (int i = t * kPerThread; i < (t + 1) * kPerThread; ++i) {
        added[i] = registry.Add(reactors[i].get()) ? 1 : 0;
      }
    });
  }
  go = true;
  registry.ShutdownAll();
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < reactors.size(); ++i) {
    EXPECT_EQ(reactors[i]->shutdowns, added[i]) << i;
    EXPECT_EQ(reactors[i]->refs, 1) << i;
  }
}

}  // namespace
}  // namespace cxp::routing
