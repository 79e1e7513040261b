#include "common/validation/resource_id.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
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

TEST(NewResourceIdTest, ValidAndDistinct) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewResourceId();
    EXPECT_EQ(id.size(), 16u);
    EXPECT_TRUE(ValidateResourceId(id, "id").ok()) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(NewTimeOrderedResourceIdTest, SortsByTimeAndStaysValid) {
  const absl::Time start = absl::FromUnixMillis(1764633600123);  // 2025-12-02
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    // Milliseconds, seconds and years apart all sort in time order.
    const absl::Time now = start + absl::Milliseconds(i) + absl::Hours(24 * 365) * (i / 100);
    const std::string id = NewTimeOrderedResourceId(now);
    EXPECT_EQ(id.size(), 17u);
    EXPECT_TRUE(ValidateResourceId(id, "id").ok()) << id;
    EXPECT_LT(previous, id) << "at " << i;
    previous = id;
  }
  // The time part is the milliseconds in fixed-width base 36.
  EXPECT_EQ(NewTimeOrderedResourceId(absl::FromUnixMillis(0)).substr(0, 9), "000000000");
  EXPECT_EQ(NewTimeOrderedResourceId(absl::FromUnixMillis(36 * 36 + 35)).substr(0, 9), "00000010z");
  EXPECT_EQ(NewTimeOrderedResourceId(absl::UnixEpoch() - absl::Hours(1)).substr(0, 9), "000000000");
  // Same millisecond: the random part tells them apart.
  const absl::Time same = start;
  EXPECT_NE(NewTimeOrderedResourceId(same), NewTimeOrderedResourceId(same));
}

TEST(ValidateRequestIdTest, EmptyOrUuid) {
  EXPECT_TRUE(ValidateRequestId("", "request_id").ok());
  EXPECT_TRUE(ValidateRequestId("123e4567-e89b-12d3-a456-426614174000", "request_id").ok());
  EXPECT_TRUE(ValidateRequestId("123E4567-E89B-12D3-A456-426614174000", "request_id").ok());
  const std::string message =
      "request_id: must be a UUID such as \"123e4567-e89b-12d3-a456-426614174000\"";
  for (absl::string_view bad :
       {"retry-1", "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400",
        "123e4567-e89b-12d3-a456-4266141740000", "123e4567-e89b-12d3-a456_426614174000",
        "g23e4567-e89b-12d3-a456-426614174000", "{23e4567-e89b-12d3-a456-426614174000}"}) {
    EXPECT_TRUE(IsInvalid(ValidateRequestId(bad, "request_id"), message)) << bad;
  }
}

TEST(ParseResourceNameTest, ReturnsTheIdOrOneMessageForEveryBadName) {
  absl::StatusOr<std::string> id =
      ParseResourceName("templates/reminder-1", "name", "templates/", "{template}");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "reminder-1");
  const std::string message =
      "trigger_rule.template: must be \"templates/{template}\" where {template} is 1 to 63 "
      "characters of [a-z0-9-], starting with a letter or digit";
  for (absl::string_view bad : {"", "templates/", "reminder", "triggerRules/x", "templates/A",
                                "templates/a/b", "templates/-a", "Templates/a"}) {
    EXPECT_TRUE(IsInvalid(
        ParseResourceName(bad, "trigger_rule.template", "templates/", "{template}"), message))
        << bad;
  }
}

}  // namespace
}  // namespace cxp::validation
