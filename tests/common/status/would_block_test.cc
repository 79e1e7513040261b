#include "common/status/would_block.h"

#include "gtest/gtest.h"

namespace cxp {
namespace {

TEST(WouldBlockTest, IsRecognisedOnlyWhenMarked) {
  const absl::Status status = WouldBlock("ContextStore::ReadContextRows");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("ReadContextRows"), absl::string_view::npos);
  EXPECT_TRUE(IsWouldBlock(status));
  EXPECT_FALSE(IsWouldBlock(absl::UnavailableError("store closing")));
  EXPECT_FALSE(IsWouldBlock(absl::OkStatus()));
}

}  // namespace
}  // namespace cxp
