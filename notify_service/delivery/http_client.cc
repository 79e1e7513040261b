#include "notify_service/delivery/http_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "notify_service/delivery/curl_util.h"

namespace cxp::notify::delivery {
namespace {

size_t AppendBody(char* data, size_t size, size_t count, void* user_data) {
  auto* body = static_cast<std::string*>(user_data);
  const size_t bytes = size * count;
  if (body->size() < HttpClient::kMaxResponseBody) {
    body->append(data, std::min(bytes, HttpClient::kMaxResponseBody - body->size()));
  }
  return bytes;  // the rest is read and dropped, not an error
}

}  // namespace

HttpClient::HttpClient(size_t max_idle_handles) : max_idle_handles_(max_idle_handles) {
  internal::EnsureCurlGlobalInit();
}

HttpClient::~HttpClient() {
  absl::MutexLock lock(&mutex_);
  for (CURL* handle : idle_handles_) curl_easy_cleanup(handle);
}

CURL* HttpClient::AcquireHandle() {
  {
    absl::MutexLock lock(&mutex_);
    if (!idle_handles_.empty()) {
      CURL* handle = idle_handles_.back();
      idle_handles_.pop_back();
      curl_easy_reset(handle);  // options only: connections stay cached
      return handle;
    }
  }
  return curl_easy_init();
}

void HttpClient::ReleaseHandle(CURL* handle) {
  {
    absl::MutexLock lock(&mutex_);
    if (idle_handles_.size() < max_idle_handles_) {
      idle_handles_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(handle);
}

absl::StatusOr<HttpResponse> HttpClient::Post(const HttpRequest& request) {
  CURL* handle = AcquireHandle();
  if (handle == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");

  internal::CurlSlistPtr headers;
  auto add_header = [&headers](const std::string& line) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  };
  add_header(absl::StrCat("Content-Type: ", request.content_type));
  add_header("Expect:");  // no 100-continue round trip for larger bodies
  for (const auto& [name, value] : request.headers) add_header(absl::StrCat(name, ": ", value));

  HttpResponse response;
  char error_buffer[CURL_ERROR_SIZE] = {};
  internal::SetCommonOptions(handle, request.connect_timeout, request.total_timeout, "http,https");
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "cxp-notify/0.1");
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response.body);

  const CURLcode code = curl_easy_perform(handle);
  absl::Status status;
  if (code != CURLE_OK) {
    status = internal::TransferStatus(code, handle, error_buffer, request.total_timeout);
  } else {
    long http_status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &http_status);
    response.status = static_cast<int>(http_status);
    curl_header* retry_after = nullptr;
    if (curl_easy_header(handle, "Retry-After", 0, CURLH_HEADER, -1, &retry_after) == CURLHE_OK) {
      response.retry_after = retry_after->value;
    }
  }
  // The slist must outlive the transfer but not be referenced by the idle
  // handle: curl_easy_reset on reuse forgets it.
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
  ReleaseHandle(handle);
  if (!status.ok()) return status;
  return response;
}

}  // namespace cxp::notify::delivery
