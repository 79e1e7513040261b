#include "common/validation/etag.h"

#include "gtest/gtest.h"

namespace cxp::validation {
namespace {

TEST(CheckEtagTest, EmptyOrCurrentPassesStaleIsAbortedNamingBoth) {
  EXPECT_TRUE(CheckEtag("", "3", "queues/q", "queue.etag").ok());
  EXPECT_TRUE(CheckEtag("3", "3", "queues/q", "queue.etag").ok());
  const absl::Status stale = CheckEtag("2", "3", "templates/t", "template.etag");
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.message(),
            "template.etag: \"2\" is stale; templates/t is at etag \"3\"; read it and retry");
}

TEST(NextEtagTest, CountsChanges) {
  EXPECT_EQ(std::string(kFirstEtag), "1");
  EXPECT_EQ(NextEtag(kFirstEtag), "2");
  EXPECT_EQ(NextEtag("41"), "42");
  // Not issued by NextEtag: starts over rather than failing a write.
  EXPECT_EQ(NextEtag("W/abc"), "1");
  EXPECT_EQ(NextEtag(""), "1");
}

}  // namespace
}  // namespace cxp::validation
