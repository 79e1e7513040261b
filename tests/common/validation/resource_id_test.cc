#include "common/validation/resource_id.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::validation {
namespace {

using testing_util::IsInvalid;

TEST(ValidateResourceIdTest, AcceptsAndRejects) {
  for (absl::string_view ok : {"c9", "9abc", "abc-def", "a", "a-", "billing-kr"}) {
    EXPECT_TRUE(ValidateResourceId(ok, "agent_id").ok()) << ok;
  }
  EXPECT_TRUE(ValidateResourceId(std::string(63, 'a'), "agent_id").ok());
  const std::string message =
      "queue_id: must be 1 to 63 characters of [a-z0-9-], starting with a letter or digit";
  for (absl::string_view bad : {"", "-abc", "ABC", "a_b", "a.b", "a/b", "김"}) {
    EXPECT_TRUE(IsInvalid(ValidateResourceId(bad, "queue_id"), message)) << bad;
  }
  EXPECT_TRUE(IsInvalid(ValidateResourceId(std::string(64, 'a'), "queue_id"), message));
}

}  // namespace
}  // namespace cxp::validation
