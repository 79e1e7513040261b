// HttpClient — blocking HTTP POST with libcurl for WebhookSender and
// HttpProviderSender.
//
// Each Post is one libcurl "easy" transfer on the calling thread, bounded by
// the request's connect and total timeouts; it is meant to run on the
// dispatcher's bounded worker pool, one call per worker at a time. The client
// keeps finished easy handles (up to `max_idle_handles`) and hands them to
// later calls: a reused handle keeps its connection cache, so deliveries to
// the same host reuse keep-alive connections (and TLS sessions) instead of
// connecting each time. Redirects are not followed; only http and https are
// allowed.
//
// Threading: thread-safe; concurrent Posts use distinct handles.
// Errors (transport only; any HTTP status is an OK response): see
// internal::TransferStatus in curl_util.h (DEADLINE_EXCEEDED, UNAVAILABLE,
// INVALID_ARGUMENT).

#ifndef CXP_NOTIFY_SERVICE_DELIVERY_HTTP_CLIENT_H_
#define CXP_NOTIFY_SERVICE_DELIVERY_HTTP_CLIENT_H_

#include <curl/curl.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cxp::notify::delivery {

struct HttpRequest {
  std::string url;
  // Name and value; the caller guarantees neither contains CR or LF.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(15);
};

struct HttpResponse {
  int status = 0;
  std::string body;         // at most HttpClient::kMaxResponseBody bytes
  std::string retry_after;  // the Retry-After header, empty when absent
};

class HttpClient {
 public:
  static constexpr size_t kMaxResponseBody = 64 * 1024;

  explicit HttpClient(size_t max_idle_handles = 64);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  absl::StatusOr<HttpResponse> Post(const HttpRequest& request);

 private:
  CURL* AcquireHandle();
  void ReleaseHandle(CURL* handle);

  const size_t max_idle_handles_;
  absl::Mutex mutex_;
  std::vector<CURL*> idle_handles_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace cxp::notify::delivery

#endif  // CXP_NOTIFY_SERVICE_DELIVERY_HTTP_CLIENT_H_
