// DeliveryResult — the outcome of one delivery attempt of one message to one
// provider (an SMTP server, a webhook endpoint, an SMS or push API):
//
//   delivered          the provider accepted the message; `provider_message_id`
//                      is its id for it (may be empty when the provider gives
//                      none), to match later delivery receipts.
//   transient failure  try again later (backoff.h), and within the same
//                      attempt fail over to the channel's next provider
//                      (provider_chain.h). SMTP 4xx, HTTP 408/429/5xx,
//                      timeouts, connection refused or reset, DNS and TLS
//                      trouble: the provider or the path to it, not the
//                      message. `retry_after` carries an HTTP Retry-After.
//   permanent failure  this message will not go through this channel: fall
//                      back to the next allowed channel at once. SMTP 5xx,
//                      HTTP 3xx (redirects are not followed) and other 4xx,
//                      and messages the sender refuses to put on the wire
//                      (a header with CR/LF, a malformed address or URL).
//
// Every result has a short human-readable `detail` for the attempt history
// ("SMTP 451 4.7.1 try later", "HTTP 503", "connection refused",
// "timeout after 10s"). Details never contain credentials, but may quote a
// provider's reply: they are for operators, not for customers.
//
// The classification helpers below are pure functions, thread-safe.

#ifndef CXP_NOTIFY_SERVICE_DELIVERY_DELIVERY_RESULT_H_
#define CXP_NOTIFY_SERVICE_DELIVERY_DELIVERY_RESULT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cxp::notify::delivery {

enum class DeliveryOutcome {
  kDelivered,
  kTransientFailure,
  kPermanentFailure,
};

// "delivered", "transient failure", "permanent failure".
absl::string_view DeliveryOutcomeName(DeliveryOutcome outcome);

struct DeliveryResult {
  static DeliveryResult Delivered(std::string provider_message_id, std::string detail);
  static DeliveryResult Transient(std::string detail,
                                  std::optional<absl::Duration> retry_after = std::nullopt);
  static DeliveryResult Permanent(std::string detail);

  bool delivered() const { return outcome == DeliveryOutcome::kDelivered; }
  bool transient() const { return outcome == DeliveryOutcome::kTransientFailure; }
  bool permanent() const { return outcome == DeliveryOutcome::kPermanentFailure; }

  // "delivered (id 42): HTTP 202", "transient failure: HTTP 503 (retry after 7s)".
  std::string DebugString() const;

  DeliveryOutcome outcome = DeliveryOutcome::kPermanentFailure;
  std::string provider_message_id;  // delivered only
  std::string detail;
  // Transient only: the provider's Retry-After, a lower bound for the next
  // attempt to this provider (Backoff::Decide honours it). Never negative.
  std::optional<absl::Duration> retry_after;
};

// SMTP reply codes (RFC 5321 §4.2.1): 2xx/3xx are progress (nullopt: no
// failure), 4xx transient, 5xx permanent; anything else (no reply, 0 or
// garbage) is transient.
std::optional<DeliveryOutcome> SmtpReplyFailure(int reply_code);

// HTTP status of a provider's answer to a send: 2xx delivered; 408, 429 and
// 5xx transient; every other code (1xx, 3xx, other 4xx) permanent.
DeliveryOutcome HttpStatusOutcome(int status);

// The failure for a non-2xx HTTP answer: "HTTP 503", with the Retry-After
// when transient, and the start of the response body (at most 200 bytes,
// control characters replaced) when there is one: "HTTP 400: {"error":...}".
DeliveryResult HttpFailure(int status, std::optional<absl::Duration> retry_after,
                           absl::string_view response_body);

// The value of an HTTP Retry-After header (RFC 9110 §10.2.3) as a delay from
// `now`: delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00
// GMT"). A date in the past gives zero; a value that parses as neither gives
// nullopt.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

// "10s", "1.5s", "250ms": how a timeout is named in details.
std::string FormatTimeout(absl::Duration timeout);

}  // namespace cxp::notify::delivery

#endif  // CXP_NOTIFY_SERVICE_DELIVERY_DELIVERY_RESULT_H_
