#include "notify_service/delivery/curl_util.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/base/call_once.h"
#include "absl/strings/str_cat.h"

namespace cxp::notify::delivery::internal {
namespace {

long ToMillisAtLeastOne(absl::Duration duration) {
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(duration)));
}

}  // namespace

void EnsureCurlGlobalInit() {
  static absl::once_flag once;
  absl::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void SetCommonOptions(CURL* handle, absl::Duration connect_timeout, absl::Duration total_timeout,
                      const char* protocols) {
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, ToMillisAtLeastOne(connect_timeout));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, ToMillisAtLeastOne(total_timeout));
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, protocols);
}

absl::Status TransferStatus(CURLcode code, CURL* handle, const char* error_buffer,
                            absl::Duration total_timeout) {
  const std::string curl_text = (error_buffer != nullptr && error_buffer[0] != '\0')
                                    ? error_buffer
                                    : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(
          absl::StrCat("timeout after ", FormatTimeout(total_timeout), " (", curl_text, ")"));
    case CURLE_COULDNT_CONNECT: {
      long os_errno = 0;
      curl_easy_getinfo(handle, CURLINFO_OS_ERRNO, &os_errno);
      if (os_errno == ECONNREFUSED) {
        return absl::UnavailableError(absl::StrCat("connection refused (", curl_text, ")"));
      }
      return absl::UnavailableError(absl::StrCat("could not connect (", curl_text, ")"));
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      return absl::UnavailableError(absl::StrCat("could not resolve host (", curl_text, ")"));
    case CURLE_GOT_NOTHING:
      return absl::UnavailableError("connection closed without a response");
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(absl::StrCat("bad URL (", curl_text, ")"));
    default:
      return absl::UnavailableError(curl_text);
  }
}

DeliveryResult TransferFailure(const absl::Status& status) {
  if (absl::IsInvalidArgument(status)) {
    return DeliveryResult::Permanent(std::string(status.message()));
  }
  return DeliveryResult::Transient(std::string(status.message()));
}

}  // namespace cxp::notify::delivery::internal
