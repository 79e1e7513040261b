#include "context_service/core/context_cache.h"

#include "gtest/gtest.h"

namespace cxp::context {
namespace {

CachedContext Entry(const std::string& customer) {
  CachedContext entry;
  entry.customer = customer;
  return entry;
}

TEST(ContextCacheTest, LookupAfterInsertAndInvalidate) {
  ContextCache cache(1 << 20);
  const std::string key = ContextCache::Key("tenant", "c1");
  EXPECT_FALSE(cache.Lookup(key));
  cache.Insert(key, cache.Epoch(key), Entry("v1"));
  ContextCache::Pinned pinned = cache.Lookup(key);
  ASSERT_TRUE(pinned);
  EXPECT_EQ(pinned->customer, "v1");
  cache.Invalidate(key);
  EXPECT_FALSE(cache.Lookup(key));
  EXPECT_EQ(pinned->customer, "v1");  // still valid while pinned
  EXPECT_FALSE(cache.Lookup(ContextCache::Key("other", "c1")));  // tenants apart
}

// A view read before a write must not be cached after the write's
// invalidation: the epoch taken before the read no longer matches.
TEST(ContextCacheTest, InsertReadBeforeAnInvalidationIsDropped) {
  ContextCache cache(1 << 20);
  const std::string key = ContextCache::Key("tenant", "c1");
  const uint64_t epoch = cache.Epoch(key);
  cache.Invalidate(key);  // a write lands while the reader reads
  cache.Insert(key, epoch, Entry("stale"));
  EXPECT_FALSE(cache.Lookup(key));
  cache.Insert(key, cache.Epoch(key), Entry("fresh"));
  EXPECT_EQ(cache.Lookup(key)->customer, "fresh");
}

TEST(ContextCacheTest, BoundedByBytesAndCanBeOff) {
  ContextCache small(64 << 10);
  for (int i = 0; i < 1000; ++i) {
    const std::string key = ContextCache::Key("t", std::to_string(i));
    small.Insert(key, small.Epoch(key), Entry(std::string(1000, 'x')));
  }
  int cached = 0;
  for (int i = 0; i < 1000; ++i) cached += small.Lookup(ContextCache::Key("t", std::to_string(i))) ? 1 : 0;
  EXPECT_GT(cached, 0);
  EXPECT_LT(cached, 100);

  ContextCache off(0);
  EXPECT_FALSE(off.enabled());
  const std::string key = ContextCache::Key("t", "c");
  off.Insert(key, off.Epoch(key), Entry("x"));
  EXPECT_FALSE(off.Lookup(key));
}

}  // namespace
}  // namespace cxp::context
