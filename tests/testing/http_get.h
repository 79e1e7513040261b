// HttpGet / HttpFetch — blocking HTTP calls with libcurl, for tests reading
// /metrics and calling HTTP endpoints of the services (no proxy, 10 s
// timeout).
#ifndef CXP_TESTS_TESTING_HTTP_GET_H_
#define CXP_TESTS_TESTING_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"

namespace cxp::testing {

// The body of a 200 response; UNAVAILABLE on transport errors, INTERNAL on
// any other HTTP status.
absl::StatusOr<std::string> HttpGet(const std::string& url);

struct HttpResponse {
  long status = 0;
  std::string body;
};

// `method` ("GET", "POST", ...) of `url`, with `body` and a Content-Type of
// `content_type` when not empty. Any HTTP status is an answer; UNAVAILABLE
// on transport errors.
absl::StatusOr<HttpResponse> HttpFetch(const std::string& method, const std::string& url,
                                       const std::string& body = "",
                                       const std::string& content_type = "");

}  // namespace cxp::testing

#endif  // CXP_TESTS_TESTING_HTTP_GET_H_
