// WebhookSender — delivers a notification to a customer's webhook endpoint as
// an HTTP POST of a JSON body signed per the Standard Webhooks specification
// (standardwebhooks.com, v1 symmetric scheme):
//
//   webhook-id:        the caller's id for the message, the SAME on every
//                      retry so receivers can dedupe (e.g. the notification
//                      id); printable ASCII without '.', at most 256 chars
//   webhook-timestamp: Unix seconds of this attempt (from the clock)
//   webhook-signature: v1,<base64(HMAC-SHA256(key, id "." timestamp "." body))>
//
// where key is the base64-decoded part of the endpoint's "whsec_<base64>"
// secret. The body is sent byte for byte as signed.
//
// Results: 2xx delivered (provider_message_id is the webhook-id: a receiver
// has no id of its own to give); 408, 429, 5xx, timeouts and connection
// trouble transient (with the Retry-After); 3xx and other 4xx permanent. A
// malformed id, URL or secret is a permanent failure naming the field (the
// endpoint is the customer's configuration, checked when it is stored with
// ValidateWebhookEndpoint; Send checks again rather than put it on the wire).
//
// Threading: thread-safe. Send blocks the calling thread for at most the
// endpoint's total timeout (one libcurl easy transfer; see HttpClient): run it
// on the dispatcher's bounded worker pool. Keep-alive connections are reused
// across calls through the shared HttpClient.
// Ownership: borrows `http_client`, which must outlive the sender.

#ifndef CXP_NOTIFY_SERVICE_DELIVERY_WEBHOOK_SENDER_H_
#define CXP_NOTIFY_SERVICE_DELIVERY_WEBHOOK_SENDER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "notify_service/delivery/delivery_result.h"
#include "notify_service/delivery/http_client.h"

namespace cxp::notify::delivery {

struct WebhookEndpoint {
  std::string url;     // http or https
  std::string secret;  // "whsec_<base64 of 24-64 random bytes>"
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(15);
};

struct WebhookMessage {
  std::string webhook_id;  // stable across retries
  std::string json_body;   // sent and signed byte for byte
};

// OK for an http(s) URL without whitespace and a secret "whsec_" + base64
// of 24 to 64 bytes (the spec's bounds); INVALID_ARGUMENT naming the field
// ("webhook.secret: ...") otherwise. Never quotes the secret.
absl::Status ValidateWebhookEndpoint(const WebhookEndpoint& endpoint);

// The webhook-signature header value "v1,<base64>" for one message
// (Standard Webhooks v1). INVALID_ARGUMENT for a secret that is not
// "whsec_<base64>".
absl::StatusOr<std::string> SignStandardWebhook(absl::string_view secret,
                                                absl::string_view webhook_id, int64_t timestamp,
                                                absl::string_view body);

class WebhookSender {
 public:
  using Clock = std::function<absl::Time()>;

  // `clock` (default absl::Now) gives each attempt's webhook-timestamp.
  explicit WebhookSender(HttpClient& http_client, Clock clock = nullptr);

  DeliveryResult Send(const WebhookEndpoint& endpoint, const WebhookMessage& message) const;

 private:
  HttpClient& http_client_;
  Clock clock_;
};

}  // namespace cxp::notify::delivery

#endif  // CXP_NOTIFY_SERVICE_DELIVERY_WEBHOOK_SENDER_H_
