#include "notify_service/delivery/webhook_sender.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "notify_service/delivery/curl_util.h"

namespace cxp::notify::delivery {
namespace {

constexpr absl::string_view kSecretPrefix = "whsec_";
constexpr size_t kMinSecretBytes = 24;
constexpr size_t kMaxSecretBytes = 64;
constexpr size_t kMaxWebhookIdLength = 256;

absl::StatusOr<std::string> DecodeSecret(absl::string_view secret) {
  if (!absl::StartsWith(secret, kSecretPrefix)) {
    return absl::InvalidArgumentError("webhook.secret: must start with \"whsec_\"");
  }
  std::string key;
  if (!absl::Base64Unescape(secret.substr(kSecretPrefix.size()), &key) || key.empty()) {
    return absl::InvalidArgumentError("webhook.secret: must be \"whsec_\" followed by base64");
  }
  return key;
}

absl::Status ValidateUrl(absl::string_view url) {
  const bool scheme_ok =
      absl::StartsWithIgnoreCase(url, "http://") || absl::StartsWithIgnoreCase(url, "https://");
  bool chars_ok = true;
  for (char c : url) chars_ok = chars_ok && c > 0x20 && c < 0x7f;
  if (!scheme_ok || !chars_ok) {
    return absl::InvalidArgumentError(
        "webhook.url: must be an http or https URL without spaces or control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateWebhookId(absl::string_view id) {
  bool ok = !id.empty() && id.size() <= kMaxWebhookIdLength;
  for (char c : id) ok = ok && c > 0x20 && c < 0x7f && c != '.';
  if (!ok) {
    return absl::InvalidArgumentError(
        "webhook_id: must be 1-256 printable ASCII characters without spaces or '.'");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateWebhookEndpoint(const WebhookEndpoint& endpoint) {
  if (absl::Status status = ValidateUrl(endpoint.url); !status.ok()) return status;
  absl::StatusOr<std::string> key = DecodeSecret(endpoint.secret);
  if (!key.ok()) return key.status();
  if (key->size() < kMinSecretBytes || key->size() > kMaxSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat("webhook.secret: must encode ", kMinSecretBytes,
                                                   " to ", kMaxSecretBytes, " bytes"));
  }
  if (endpoint.connect_timeout <= absl::ZeroDuration() ||
      endpoint.total_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("webhook timeouts: must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SignStandardWebhook(absl::string_view secret,
                                                absl::string_view webhook_id, int64_t timestamp,
                                                absl::string_view body) {
  absl::StatusOr<std::string> key = DecodeSecret(secret);
  if (!key.ok()) return key.status();
  const std::string signed_content = absl::StrCat(webhook_id, ".", timestamp, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  if (HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(),
           mac, &mac_length) == nullptr) {
    return absl::InternalError("HMAC-SHA256 failed");
  }
  return absl::StrCat(
      "v1,", absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(mac), mac_length)));
}

WebhookSender::WebhookSender(HttpClient& http_client, Clock clock)
    : http_client_(http_client), clock_(clock ? std::move(clock) : Clock(absl::Now)) {}

DeliveryResult WebhookSender::Send(const WebhookEndpoint& endpoint,
                                   const WebhookMessage& message) const {
  if (absl::Status status = ValidateUrl(endpoint.url); !status.ok()) {
    return DeliveryResult::Permanent(std::string(status.message()));
  }
  if (absl::Status status = ValidateWebhookId(message.webhook_id); !status.ok()) {
    return DeliveryResult::Permanent(std::string(status.message()));
  }
  const absl::Time now = clock_();
  const int64_t timestamp = absl::ToUnixSeconds(now);
  absl::StatusOr<std::string> signature =
      SignStandardWebhook(endpoint.secret, message.webhook_id, timestamp, message.json_body);
  if (!signature.ok()) return DeliveryResult::Permanent(std::string(signature.status().message()));

  HttpRequest request;
  request.url = endpoint.url;
  request.headers = {{"webhook-id", message.webhook_id},
                     {"webhook-timestamp", absl::StrCat(timestamp)},
                     {"webhook-signature", *std::move(signature)}};
  request.body = message.json_body;
  request.connect_timeout = endpoint.connect_timeout;
  request.total_timeout = endpoint.total_timeout;
  absl::StatusOr<HttpResponse> response = http_client_.Post(request);
  if (!response.ok()) return internal::TransferFailure(response.status());
  if (HttpStatusOutcome(response->status) == DeliveryOutcome::kDelivered) {
    return DeliveryResult::Delivered(message.webhook_id, absl::StrCat("HTTP ", response->status));
  }
  return HttpFailure(response->status, ParseRetryAfter(response->retry_after, clock_()),
                     response->body);
}

}  // namespace cxp::notify::delivery
