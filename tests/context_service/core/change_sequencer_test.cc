#include "context_service/core/change_sequencer.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cxp::context {
namespace {

TEST(ChangeSequencerTest, ContinuesAfterTheLastUsedNumber) {
  ChangeSequencer sequencer(41);
  EXPECT_EQ(sequencer.watermark(), 41);
  EXPECT_EQ(sequencer.Allocate(1), 42);
  EXPECT_EQ(sequencer.Allocate(3), 43);
  EXPECT_EQ(sequencer.Allocate(1), 46);
}

// A later commit that finishes first does not let the watermark pass an
// earlier one still in flight: a watcher reading up to the watermark could
// otherwise resume past it and never see it.
TEST(ChangeSequencerTest, WatermarkWaitsForTheSlowestEarlierCommit) {
  ChangeSequencer sequencer(0);
  const int64_t first = sequencer.Allocate(1);   // 1
  const int64_t second = sequencer.Allocate(2);  // 2, 3
  const int64_t third = sequencer.Allocate(1);   // 4
  EXPECT_EQ(sequencer.watermark(), 0);
  sequencer.Complete(second, 2);
  EXPECT_EQ(sequencer.watermark(), 0);
  sequencer.Complete(first, 1);
  EXPECT_EQ(sequencer.watermark(), 3);
  sequencer.Complete(third, 1);
  EXPECT_EQ(sequencer.watermark(), 4);
}

TEST(ChangeSequencerTest, WaitersHearWhenTheWatermarkPassesThem) {
  ChangeSequencer sequencer(10);
  EXPECT_EQ(sequencer.AwaitAbove(9, [](bool) { FAIL() << "not registered"; }).outcome,
            ChangeSequencer::Await::kReady);
  int calls = 0;
  bool last_ready = false;
  const ChangeSequencer::Await waiting = sequencer.AwaitAbove(10, [&](bool ready) {
    ++calls;
    last_ready = ready;
  });
  ASSERT_EQ(waiting.outcome, ChangeSequencer::Await::kWaiting);
  const int64_t a = sequencer.Allocate(1);
  const int64_t b = sequencer.Allocate(1);
  sequencer.Complete(b, 1);
  EXPECT_EQ(calls, 0);  // 11 still in flight
  sequencer.Complete(a, 1);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(last_ready);
  EXPECT_FALSE(sequencer.Cancel(waiting.handle));  // already answered
}

TEST(ChangeSequencerTest, CancelledWaitersAreNotCalledAndStopAnswersTheRest) {
  ChangeSequencer sequencer(0);
  bool cancelled_called = false;
  const auto cancelled = sequencer.AwaitAbove(0, [&](bool) { cancelled_called = true; });
  EXPECT_TRUE(sequencer.Cancel(cancelled.handle));
  int stopped_answers = 0;
  sequencer.AwaitAbove(0, [&](bool ready) {
    EXPECT_FALSE(ready);
    ++stopped_answers;
  });
  sequencer.Stop();
  EXPECT_EQ(stopped_answers, 1);
  sequencer.Complete(sequencer.Allocate(1), 1);
  EXPECT_FALSE(cancelled_called);
  EXPECT_EQ(sequencer.AwaitAbove(5, [](bool) {}).outcome, ChangeSequencer::Await::kStopped);
}

TEST(ChangeSequencerTest, ConcurrentWritersEndWithEverythingComplete) {
  ChangeSequencer sequencer(0);
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) sequencer.Complete(sequencer.Allocate(1 + i % 3), 1 + i % 3);
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(sequencer.watermark(), 4 * (1000 / 3 * 6 + 1));  // 1+2+3 per three, +1 left over
}

}  // namespace
}  // namespace cxp::context
