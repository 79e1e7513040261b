#include "common/status/errors.h"

#include "gtest/gtest.h"

namespace cxp {
namespace {

TEST(ErrorsTest, InvalidArgumentNamesField) {
  EXPECT_EQ(InvalidArgument("customer.display_name", "must not be empty"),
            absl::InvalidArgumentError("customer.display_name: must not be empty"));
}

TEST(ErrorsTest, EmptySubjectYieldsBareProblem) {
  EXPECT_EQ(InvalidArgument("", "request is empty"), absl::InvalidArgumentError("request is empty"));
}

TEST(ErrorsTest, FailedPrecondition) {
  EXPECT_EQ(FailedPrecondition("tenants/t1/conversations/c2", "conversation is closed"),
            absl::FailedPreconditionError("tenants/t1/conversations/c2: conversation is closed"));
}

TEST(ErrorsTest, ResourceErrors) {
  EXPECT_EQ(NotFound("tenants/t1/customers/c9"),
            absl::NotFoundError("tenants/t1/customers/c9: not found"));
  EXPECT_EQ(AlreadyExists("tenants/t1/customers/c9"),
            absl::AlreadyExistsError("tenants/t1/customers/c9: already exists"));
}

TEST(ErrorsTest, StaleEtagIsAbortedAndNamesBothEtags) {
  EXPECT_EQ(StaleEtag("tenants/t1/customers/c9", "3", "5"),
            absl::AbortedError(
                "tenants/t1/customers/c9: etag \"3\" is stale (current \"5\"); re-read and retry"));
}

}  // namespace
}  // namespace cxp
