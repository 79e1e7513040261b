// HttpGet — a blocking HTTP GET with libcurl, for tests reading /metrics.
#ifndef CXP_TESTS_TESTING_HTTP_GET_H_
#define CXP_TESTS_TESTING_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"

namespace cxp::testing {

// The body of a 200 response; UNAVAILABLE on transport errors, INTERNAL on
// any other HTTP status.
absl::StatusOr<std::string> HttpGet(const std::string& url);

}  // namespace cxp::testing

#endif  // CXP_TESTS_TESTING_HTTP_GET_H_
