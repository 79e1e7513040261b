// libcurl plumbing shared by the senders (internal to cxp_notify_delivery).
//
// Every sender runs blocking libcurl "easy" transfers with CURLOPT_NOSIGNAL
// (safe on any thread) and both a connect and a total timeout, so a call
// never blocks its worker thread longer than the total timeout.
//
// Thread-safe.

#ifndef CXP_NOTIFY_SERVICE_DELIVERY_CURL_UTIL_H_
#define CXP_NOTIFY_SERVICE_DELIVERY_CURL_UTIL_H_

#include <curl/curl.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "notify_service/delivery/delivery_result.h"

namespace cxp::notify::delivery::internal {

// curl_global_init, once per process, before the first handle.
void EnsureCurlGlobalInit();

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// Common options of every transfer: timeouts (at least 1 ms each), no
// signals, no redirects, only the given protocols ("http,https").
void SetCommonOptions(CURL* handle, absl::Duration connect_timeout, absl::Duration total_timeout,
                      const char* protocols);

// The status for a failed transfer (`code` != CURLE_OK) on `handle`:
//   DEADLINE_EXCEEDED "timeout after 10s (...)" for CURLE_OPERATION_TIMEDOUT;
//   UNAVAILABLE "connection refused (...)", "could not resolve host (...)",
//     "connection closed without a response", TLS and other I/O trouble;
//   INVALID_ARGUMENT for a malformed URL or an unsupported protocol.
// `error_buffer` is the handle's CURLOPT_ERRORBUFFER (may be empty).
absl::Status TransferStatus(CURLcode code, CURL* handle, const char* error_buffer,
                            absl::Duration total_timeout);

// The DeliveryResult for a TransferStatus: INVALID_ARGUMENT is permanent,
// everything else transient; the detail is the status message.
DeliveryResult TransferFailure(const absl::Status& status);

}  // namespace cxp::notify::delivery::internal

#endif  // CXP_NOTIFY_SERVICE_DELIVERY_CURL_UTIL_H_
