// HttpProviderSender — sends an SMS or a push notification through a
// provider's HTTP API, configured rather than coded per provider:
//
//   POST <url>
//   <auth_header_name>: <auth_header_value>      (e.g. Authorization: Bearer ...)
//   Content-Type: application/json
//
//   <the caller's JSON body: {"to":...,"text":...} for SMS,
//    {"token":...,"title":...,"body":...,"data":{...}} for push; the field
//    names are the provider's, the caller builds the body>
//
// On 2xx the provider's message id is read from the response JSON at
// `message_id_path`, a dotted path whose parts are object keys or list
// indexes ("message.id", "messages.0.sid"); a string is taken as is, a
// number in integer form. A 2xx whose body has no such field is still
// delivered (the provider took the message; sending again would duplicate
// it), with an empty id and a detail saying so. Other statuses: 408, 429,
// 5xx, timeouts and connection trouble transient (with the Retry-After); 3xx
// and other 4xx permanent, the detail quoting the start of the body.
//
// JSON is parsed with protobuf's JSON parser into google.protobuf.Struct
// (libprotobuf is already linked by every CXP service), so numbers are
// doubles: an integer id above 2^53 loses precision (providers send ids as
// strings in practice).
//
// Threading: thread-safe. Send blocks for at most total_timeout (one libcurl
// easy transfer through HttpClient): run it on the dispatcher's bounded
// worker pool. Ownership: borrows `http_client`, which must outlive it.
// The auth header value is a secret: it never appears in details or errors.

#ifndef CXP_NOTIFY_SERVICE_DELIVERY_HTTP_PROVIDER_SENDER_H_
#define CXP_NOTIFY_SERVICE_DELIVERY_HTTP_PROVIDER_SENDER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "notify_service/delivery/delivery_result.h"
#include "notify_service/delivery/http_client.h"

namespace cxp::notify::delivery {

struct HttpProviderConfig {
  std::string name;               // for the attempt history: "sms-primary"
  std::string url;                // http or https
  std::string auth_header_name;   // empty: no auth header
  std::string auth_header_value;  // secret
  std::string message_id_path;    // empty: the provider's id is not read
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(15);
};

// The value at `dotted_path` in the JSON document `json`, as text: a string
// as is, an integral number without a fraction ("12345"), true/false.
// NOT_FOUND when a step is missing or the value is null, an object or a
// list; INVALID_ARGUMENT when `json` is not a JSON object.
absl::StatusOr<std::string> FindJsonField(absl::string_view json, absl::string_view dotted_path);

class HttpProviderSender {
 public:
  using Clock = std::function<absl::Time()>;

  // INVALID_ARGUMENT ("http_provider.url: ...") for an empty name, a URL that
  // is not http(s), a header name or value with CR/LF (or a value without
  // a name), an empty step in message_id_path, or non-positive timeouts.
  // `clock` (default absl::Now) resolves a Retry-After given as a date.
  static absl::StatusOr<HttpProviderSender> Create(HttpProviderConfig config,
                                                   HttpClient& http_client, Clock clock = nullptr);

  const std::string& name() const { return config_.name; }

  DeliveryResult Send(absl::string_view json_body) const;

 private:
  HttpProviderSender(HttpProviderConfig config, HttpClient& http_client, Clock clock)
      : config_(std::move(config)), http_client_(&http_client), clock_(std::move(clock)) {}

  HttpProviderConfig config_;
  HttpClient* http_client_;
  Clock clock_;
};

}  // namespace cxp::notify::delivery

#endif  // CXP_NOTIFY_SERVICE_DELIVERY_HTTP_PROVIDER_SENDER_H_
