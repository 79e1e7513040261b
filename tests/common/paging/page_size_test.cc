#include "common/paging/page_size.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace cxp::paging {
namespace {

TEST(EffectivePageSizeTest, ZeroMeansDefault) {
  EXPECT_EQ(*EffectivePageSize(0), 50);
  EXPECT_EQ(*EffectivePageSize(0, 20, 100), 20);
}

TEST(EffectivePageSizeTest, WithinRangeIsKept) {
  EXPECT_EQ(*EffectivePageSize(1), 1);
  EXPECT_EQ(*EffectivePageSize(77), 77);
  EXPECT_EQ(*EffectivePageSize(1000), 1000);
}

TEST(EffectivePageSizeTest, AboveMaxIsClamped) {
  EXPECT_EQ(*EffectivePageSize(1001), 1000);
  EXPECT_EQ(*EffectivePageSize(std::numeric_limits<int32_t>::max()), 1000);
  EXPECT_EQ(*EffectivePageSize(500, 20, 100), 100);
}

TEST(EffectivePageSizeTest, NegativeIsInvalidArgument) {
  EXPECT_EQ(EffectivePageSize(-1).status(),
            absl::InvalidArgumentError("page_size: must not be negative (got -1)"));
  EXPECT_EQ(EffectivePageSize(std::numeric_limits<int32_t>::min()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cxp::paging
