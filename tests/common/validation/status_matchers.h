// Test helper for the validation tests (common, routing_service): asserts an
// INVALID_ARGUMENT status with an exact message.

#ifndef CXP_TESTS_COMMON_VALIDATION_STATUS_MATCHERS_H_
#define CXP_TESTS_COMMON_VALIDATION_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace cxp::validation::testing_util {

inline ::testing::AssertionResult IsInvalid(const absl::Status& status, absl::string_view message) {
  if (status.code() == absl::StatusCode::kInvalidArgument && status.message() == message) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << status.ToString() << "\nwant INVALID_ARGUMENT: " << std::string(message);
}

template <typename T>
::testing::AssertionResult IsInvalid(const absl::StatusOr<T>& status_or,
                                     absl::string_view message) {
  return IsInvalid(status_or.status(), message);
}

}  // namespace cxp::validation::testing_util

#endif  // CXP_TESTS_COMMON_VALIDATION_STATUS_MATCHERS_H_
