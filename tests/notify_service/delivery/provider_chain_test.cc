#include "notify_service/delivery/provider_chain.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cxp::notify::delivery {
namespace {

struct Sms {
  std::string to;
  std::string text;
};

// A provider that returns a scripted result and records what it was given.
struct FakeProvider {
  DeliveryResult result;
  std::vector<std::string> received;

  ProviderChain<Sms>::SendFunction AsSendFunction() {
    return [this](const Sms& sms) {
      received.push_back(sms.to);
      return result;
    };
  }
};

TEST(ProviderChainTest, FirstProviderDeliversAndTheRestAreNotTried) {
  FakeProvider first{DeliveryResult::Delivered("id-1", "HTTP 202")};
  FakeProvider second{DeliveryResult::Delivered("id-2", "HTTP 202")};
  ProviderChain<Sms> chain;
  chain.Add("sms-a", first.AsSendFunction()).Add("sms-b", second.AsSendFunction());
  const ChainResult result = chain.Send({"+821012345678", "hi"});
  EXPECT_TRUE(result.result.delivered());
  EXPECT_EQ(result.result.provider_message_id, "id-1");
  EXPECT_EQ(result.delivered_by, "sms-a");
  ASSERT_EQ(result.attempts.size(), 1u);
  EXPECT_EQ(result.attempts[0].provider, "sms-a");
  EXPECT_THAT(first.received, testing::ElementsAre("+821012345678"));
  EXPECT_TRUE(second.received.empty());
}

TEST(ProviderChainTest, TransientFailureFailsOverToTheNextProvider) {
  FakeProvider first{DeliveryResult::Transient("HTTP 503")};
  FakeProvider second{DeliveryResult::Transient("connection refused")};
  FakeProvider third{DeliveryResult::Delivered("id-3", "HTTP 200")};
  ProviderChain<Sms> chain;
  chain.Add("a", first.AsSendFunction())
      .Add("b", second.AsSendFunction())
      .Add("c", third.AsSendFunction());
  const ChainResult result = chain.Send({"+1555", "hi"});
  EXPECT_TRUE(result.result.delivered());
  EXPECT_EQ(result.delivered_by, "c");
  ASSERT_EQ(result.attempts.size(), 3u);
  EXPECT_EQ(result.attempts[0].result.detail, "HTTP 503");
  EXPECT_EQ(result.attempts[1].result.detail, "connection refused");
  EXPECT_EQ(result.attempts[2].result.provider_message_id, "id-3");
}

TEST(ProviderChainTest, PermanentFailureStopsTheChain) {
  FakeProvider first{DeliveryResult::Permanent("HTTP 400: invalid number")};
  FakeProvider second{DeliveryResult::Delivered("id-2", "HTTP 202")};
  ProviderChain<Sms> chain;
  chain.Add("a", first.AsSendFunction()).Add("b", second.AsSendFunction());
  const ChainResult result = chain.Send({"+1555", "hi"});
  EXPECT_TRUE(result.result.permanent());
  EXPECT_EQ(result.result.detail, "HTTP 400: invalid number");
  EXPECT_TRUE(result.delivered_by.empty());
  EXPECT_EQ(result.attempts.size(), 1u);
  EXPECT_TRUE(second.received.empty());
}

TEST(ProviderChainTest, AllTransientSummarizesAndKeepsTheSmallestRetryAfterOnlyIfAllGaveOne) {
  FakeProvider first{DeliveryResult::Transient("HTTP 429", absl::Seconds(30))};
  FakeProvider second{DeliveryResult::Transient("HTTP 503", absl::Seconds(10))};
  ProviderChain<Sms> chain;
  chain.Add("a", first.AsSendFunction()).Add("b", second.AsSendFunction());
  ChainResult result = chain.Send({"+1555", "hi"});
  EXPECT_TRUE(result.result.transient());
  EXPECT_EQ(result.result.detail, "all 2 providers failed: a: HTTP 429; b: HTTP 503");
  EXPECT_EQ(result.result.retry_after, absl::Seconds(10));

  second.result = DeliveryResult::Transient("timeout after 5s");
  result = chain.Send({"+1555", "hi"});
  EXPECT_TRUE(result.result.transient());
  EXPECT_EQ(result.result.retry_after, std::nullopt);
}

TEST(ProviderChainTest, SingleProviderResultIsPassedThrough) {
  FakeProvider only{DeliveryResult::Transient("HTTP 429", absl::Seconds(3))};
  ProviderChain<Sms> chain;
  chain.Add("only", only.AsSendFunction());
  const ChainResult result = chain.Send({"+1555", "hi"});
  EXPECT_EQ(result.result.detail, "HTTP 429");
  EXPECT_EQ(result.result.retry_after, absl::Seconds(3));
}

TEST(ProviderChainTest, NoProvidersIsPermanent) {
  ProviderChain<Sms> chain;
  const ChainResult result = chain.Send({"+1555", "hi"});
  EXPECT_TRUE(result.result.permanent());
  EXPECT_EQ(result.result.detail, "no providers configured");
}

}  // namespace
}  // namespace cxp::notify::delivery
